#!/usr/bin/env python3
"""Runs check scripts in lanes side by side: the commands of one lane one after the other,
the lanes at the same time (most checks are one Python process and one debug winnow at a
time, so two lanes keep two cores busy).

    python3 Tests/parity/run_lanes.py --lane CMD CMD ... --lane CMD ...

Each command's output goes to a file and is printed whole when the command ends, with its
lane, exit status and time, so lanes never interleave in the log. Every command runs even
after another fails; the exit status is 1 when any failed. Lanes must not share what they
create: commands that build the same venv (Tests/parity/peers.py) belong in one lane.
"""
import subprocess
import sys
import tempfile
import threading
import time


def main():
    lanes = []
    for arg in sys.argv[1:]:
        if arg == "--lane":
            lanes.append([])
        elif not lanes:
            sys.exit("run_lanes.py: give --lane before the first command")
        else:
            lanes[-1].append(arg)
    if not any(lanes):
        sys.exit("usage: run_lanes.py --lane CMD [CMD ...] [--lane CMD ...]")
    lock = threading.Lock()
    failed = []

    def run(name, commands):
        for cmd in commands:
            with tempfile.TemporaryFile() as out:
                t0 = time.monotonic()
                rc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], stdout=out, stderr=subprocess.STDOUT).returncode
                seconds = time.monotonic() - t0
                out.seek(0)
                text = out.read().decode("utf-8", "replace")
            with lock:
                print(f"==== lane {name}: {cmd}", flush=True)
                sys.stdout.write(text)
                if text and not text.endswith("\n"):
                    sys.stdout.write("\n")
                print(f"==== lane {name}: exit {rc} after {seconds:.0f} s: {cmd}\n", flush=True)
                if rc != 0:
                    failed.append(cmd)

    threads = [threading.Thread(target=run, args=(chr(ord("A") + k), cmds)) for k, cmds in enumerate(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for cmd in failed:
        print(f"FAILED: {cmd}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
