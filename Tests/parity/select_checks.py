#!/usr/bin/env python3
"""Recipes/select-dsir.yaml end to end: the same bytes through every executor and after a
kill -9 of the coordinator at every pass.

    python3 Tests/parity/select_checks.py --winnow .build/debug/winnow [--slurm] [--quick]

1. inline, local ×1 and local ×3 write byte-identical output (and --slurm: the Slurm executor,
   run through scripts/slurm/with-local-slurm.sh);
2. the coordinator killed (-9) when a task of each pass starts resumes to the same bytes, with
   balanced counts and no temporary files left.

--quick (make test): the recipe on two of the five Samples/web shards without its Gopher and
MinHash stages (exact_dedup → length → dsir_select), selecting 40 documents, with a `balance`
stage after dsir_select (entries: common words of man pages in several languages, t = 8);
inline and local ×3 only, and kills at the passes of dsir_select and balance only (the seven
last passes: the first of each global stage runs in the task of the stage before it).

Prints PASS/FAIL per check and ends with "N passed, M failed".
"""
import argparse
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(out.rglob("part-*")):
        if ".winnow" in p.parts:
            continue
        h.update(p.relative_to(out).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--winnow", required=True)
    ap.add_argument("--slurm", action="store_true", help="also the Slurm executor (needs a running cluster)")
    ap.add_argument("--quick", action="store_true", help="smaller input, balance added, kills at the selection passes only")
    args = ap.parse_args()
    winnow = str(Path(args.winnow).resolve())
    work = Path(tempfile.mkdtemp(prefix="winnow-select-"))
    try:
        out = work / "out"
        text = (ROOT / "Recipes/select-dsir.yaml").read_text()
        text = text.replace("out/select-dsir-fit.json", str(work / "fit.json")).replace("out/select-dsir", str(out))
        text = text.replace("Samples/", str(ROOT / "Samples") + "/")
        if args.quick:
            entries = work / "entries.txt"
            entries.write_text("\n".join(["the", "file", "de", "la", "und", "die", "NAME", "SYNOPSIS", "DESCRIPTION",
                                          "OPTIONS", "Debian", "GNU", "command", "system", "-h", "--help", "le", "и"]) + "\n")
            shards = str(ROOT / "Samples/web") + "/part-0000[01].jsonl.zst"
            text = text.replace(str(ROOT / "Samples/web/*.jsonl.zst"), shards).replace("num_to_sample: 120", "num_to_sample: 40")
            text += f"  - balance:\n      entries: {json.dumps(str(entries))}\n      t: 8\n      seed: 3\n"
            # The filters and MinHash between exact_dedup and dsir_select go: their passes are
            # checked by phase_checks.py, and they are most of the time of a debug build.
            cut = "  - gopher_repetition: {}\n  - minhash_dedup:\n      exact_check: true\n      threshold: 0.8\n"
            assert shards in text and "num_to_sample: 40" in text and cut in text
            text = text.replace(cut, "")
        recipe = work / "select-dsir.yaml"
        recipe.write_text(text)

        def run(*extra, env=None):
            return subprocess.run([winnow, "run", str(recipe), "--no-progress", *extra], capture_output=True, text=True,
                                  env=env or dict(os.environ, WINNOW_BIN=winnow), timeout=900)

        p = run("--fresh", "--executor", "inline")
        check("select-dsir: inline run succeeds", p.returncode == 0, p.stderr[-600:])
        reference = digest(out)
        stats = json.loads((out / "stats.json").read_text())
        kept = stats["documents_written"]
        digests = {"inline": reference}
        runs = ([] if args.quick else [("local", "1")]) + [("local", "3")] + ([("slurm", "1")] if args.slurm else [])
        for ex, workers in runs:
            p = run("--fresh", "--executor", ex, "--workers", workers)
            digests[f"{ex}×{workers}"] = digest(out) if p.returncode == 0 else "error: " + p.stderr[-300:]
        check(f"select-dsir: {', '.join(digests)} byte-identical ({kept} documents kept)",
              len(set(digests.values())) == 1 and kept > 0, json.dumps(digests)[:400])

        plan = json.loads((out / ".winnow/plan.json").read_text())
        tasks = [len(t) for t in plan["passes"]]
        wrapper = work / "kill-at-pass.sh"
        wrapper.write_text(
            "#!/bin/sh\n"
            'if [ "$4" = "$KILL_PASS" ] && [ "$6" = "$KILL_TASK" ]; then kill -9 $PPID; sleep 2; exit 1; fi\n'
            f'exec {winnow} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        first_kill = 0
        if args.quick:
            # exact_dedup 3 + dsir_select 5 + balance 3 passes, two shared.
            check("select-dsir (quick): the plan has 9 passes", len(tasks) == 9, f"{len(tasks)}")
            first_kill = len(tasks) - 7
        for pass_ in range(first_kill, len(tasks)):
            task = min(1, tasks[pass_] - 1)
            env = dict(os.environ, WINNOW_BIN=str(wrapper), KILL_PASS=str(pass_), KILL_TASK=str(task))
            p = run("--fresh", "--executor", "local", "--workers", "1", env=env)
            killed = p.returncode < 0 or p.returncode == 137
            p2 = run("--executor", "local", "--workers", "1")
            leftovers = [str(x) for x in out.rglob(".*.tmp-*")]
            s = json.loads((out / "stats.json").read_text()) if p2.returncode == 0 else {}
            ok = killed and p2.returncode == 0 and digest(out) == reference and s.get("balanced") and not leftovers
            check(f"select-dsir: kill -9 at pass {pass_} ({plan['pass_kinds'][pass_]}, task {task} starting) resumes to the same bytes",
                  ok, f"first exit {p.returncode}, resume exit {p2.returncode}; {p2.stderr[-300:]} {leftovers[:2]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
