#!/usr/bin/env python3
"""The Python package (python/) in make test: installed the way a user installs it
(`pip install ./python`, here with the debug build's library through WINNOW_FEED_LIBRARY,
into a throw-away directory), then its tests (python/tests/test_mixture.py) run against the
installed copy with numpy only (the venv of peers.megatron_python()); the torch path runs when
torch is importable there.

    python3 Tests/parity/python_package_checks.py --winnow .build/debug/winnow
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

ROOT = peers.ROOT


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--winnow", required=True, help="the winnow binary; its build directory holds libWinnowFeedC.so")
    args = ap.parse_args()
    lib = os.path.join(os.path.dirname(os.path.abspath(args.winnow)), "libWinnowFeedC.so")
    if not os.path.exists(lib):
        print(f"FAIL {lib} is missing (swift build builds it with the winnow binary)")
        sys.exit(1)
    py = peers.megatron_python()
    with tempfile.TemporaryDirectory(prefix="winnow-feed-install-") as target:
        env = dict(os.environ, WINNOW_FEED_LIBRARY=lib)
        # A copy of python/ so that the build leaves nothing in the repository.
        src = os.path.join(target, "src")
        subprocess.run(["cp", "-r", os.path.join(ROOT, "python"), src], check=True)
        r = subprocess.run(
            [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--target", os.path.join(target, "site"), src], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL pip install ./python: {r.stderr[-2000:]}")
            sys.exit(1)
        installed = os.path.join(target, "site")
        ok = os.path.exists(os.path.join(installed, "winnow_feed", "lib", "libWinnowFeedC.so"))
        print(f"{'PASS' if ok else 'FAIL'} pip install ./python copies the library into the package")
        env = dict(os.environ)
        env.pop("WINNOW_FEED_LIBRARY", None)
        r = subprocess.run([py, os.path.join(ROOT, "python", "tests", "test_mixture.py"), "--installed", installed], env=env)
        sys.exit(0 if ok and r.returncode == 0 else 1)


if __name__ == "__main__":
    main()
