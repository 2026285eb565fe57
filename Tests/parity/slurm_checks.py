#!/usr/bin/env python3
"""End-to-end checks of the Slurm executor against a running (local) Slurm cluster.

Run through scripts/slurm/with-local-slurm.sh, which starts a single-node cluster and sets
SLURM_CONF. Prints PASS/FAIL per check and ends with "N passed, M failed".
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS {name}" + (f": {detail}" if detail else ""))
    else:
        failed += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def digest(out: Path) -> str:
    """sha256 over the output shards and side outputs, in name order (state and stats excluded)."""
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
    args = ap.parse_args()
    winnow = str(Path(args.winnow).resolve())
    if not os.environ.get("SLURM_CONF"):
        print("SLURM_CONF is not set: run through scripts/slurm/with-local-slurm.sh")
        print("0 passed, 1 failed")
        return 1
    env = dict(os.environ, WINNOW_BIN=winnow)
    work = Path(tempfile.mkdtemp(prefix="winnow-slurm-"))
    try:
        inputs = work / "in"
        inputs.mkdir()
        for p in sorted((ROOT / "Samples/web").glob("*.jsonl.zst")):
            shutil.copy(p, inputs / p.name)

        def recipe(name, stages, strict=False, slurm_extra=""):
            r = work / f"{name}.yaml"
            r.write_text(
                f"name: {name}\n"
                f"slurm: {{max_parallel: 2, poll_seconds: 0.3{slurm_extra}}}\n"
                f"input: {{paths: [{json.dumps(str(inputs))}], strict: {str(strict).lower()}}}\n"
                f"output: {{path: {json.dumps(str(work / ('out-' + name)))}, rejects: {json.dumps(str(work / ('out-' + name) / 'rejects'))}}}\n"
                f"stages:\n{stages}")
            return r

        # 1. Same bytes from inline, local and slurm, with a filter recipe and a global stage.
        for name, stages in [
            ("filters", "  - length: {min_words: 50}\n  - sample: {rate: 0.7}\n"),
            ("dedup", "  - length: {min_words: 20}\n  - exact_dedup: {buckets: 4}\n  - sample: {rate: 0.9}\n"),
            # Three global stages with per-document stages between them: eight passes.
            ("three-globals", "  - length: {min_words: 20}\n  - exact_dedup: {buckets: 4}\n  - sample: {rate: 0.9}\n"
                              "  - minhash_dedup: {buckets: 3}\n  - normalize: {}\n"
                              "  - bloom_dedup: {unit: paragraph, expected_items: 100000}\n  - length: {min_words: 10}\n"),
        ]:
            r = recipe(name, stages)
            out = work / f"out-{name}"
            digests = {}
            for ex in ["inline", "local", "slurm"]:
                p = run([winnow, "run", str(r), "--fresh", "--no-progress", "--executor", ex], env=env, timeout=600)
                if p.returncode != 0:
                    check(f"{name}: {ex} run succeeds", False, p.stderr[-800:])
                    continue
                digests[ex] = digest(out)
            check(f"{name}: inline, local and slurm outputs byte-identical",
                  len(digests) == 3 and len(set(digests.values())) == 1, json.dumps(digests)[:300])
            stats = json.loads((out / "stats.json").read_text())
            check(f"{name}: slurm stats.json balanced",
                  stats["documents_read"] == stats["documents_written"] + stats["documents_dropped"] + stats["documents_quarantined"]
                  and stats["executor"] == "slurm", f"read {stats['documents_read']}, written {stats['documents_written']}")
            logs = sorted((out / ".winnow/logs").glob("p*-t*.log"))
            check(f"{name}: per-task logs under the output directory", len(logs) > 0, f"{len(logs)} logs")

        # 1b. Rejects given as a file: the join of the tasks' shards is a merge step, a Slurm job of
        #     its own (log in .winnow/merge/), and gives the file the inline run gives.
        r = work / "merge.yaml"
        joined = work / "merge-rejects.jsonl.zst"
        r.write_text(
            "name: merge\n"
            "slurm: {max_parallel: 2, poll_seconds: 0.3}\n"
            f"input: {{paths: [{json.dumps(str(inputs))}]}}\n"
            f"output: {{path: {json.dumps(str(work / 'out-merge'))}, rejects: {json.dumps(str(joined))}}}\n"
            "stages:\n  - length: {min_words: 50}\n")
        files = {}
        for ex in ["inline", "slurm"]:
            p = run([winnow, "run", str(r), "--fresh", "--no-progress", "--executor", ex], env=env, timeout=600)
            if p.returncode != 0 or not joined.exists():
                check(f"merge step: {ex} run succeeds and joins the rejects", False, (p.stdout + p.stderr)[-800:])
                continue
            files[ex] = hashlib.sha256(joined.read_bytes()).hexdigest()
        check("merge step: the slurm run's joined rejects file equals the inline one",
              len(files) == 2 and len(set(files.values())) == 1, json.dumps(files))
        log = work / "out-merge/.winnow/merge/rejects.log"
        check("merge step: ran as a Slurm job with its own log",
              log.exists() and "merge step rejects done" in log.read_text(errors="replace"),
              log.read_text(errors="replace")[-400:] if log.exists() else "no log")

        # 2. A strict failure in one task: the run fails naming the shard and showing its log; other
        #    tasks are kept; fixing the shard and running again completes.
        bad = inputs / "part-00009.jsonl"
        shutil.copy(ROOT / "Samples/bad/bad-lines.jsonl", bad)
        r = recipe("strict", "  - length: {min_words: 5}\n", strict=True)
        p = run([winnow, "run", str(r), "--fresh", "--no-progress", "--executor", "slurm"], env=env, timeout=600)
        check("strict failure: exit code 3", p.returncode == 3, f"exit {p.returncode}")
        check("strict failure: names the shard and line", "part-00009.jsonl:2" in p.stderr, p.stderr[-600:])
        check("strict failure: shows the task log's last lines", "last lines of" in p.stderr)
        records = list((work / "out-strict/.winnow/tasks").glob("p0-t*.json"))
        check("strict failure: other tasks' records are kept", len(records) == 5, f"{len(records)} records")
        bad.unlink()
        shutil.copy(ROOT / "Samples/web/part-00000.jsonl.zst", bad)
        p = run([winnow, "run", str(r), "--no-progress", "--executor", "slurm"], env=env, timeout=600)
        check("strict failure: fixed shard, same command resumes and completes",
              p.returncode == 0 and "1 run, 5 already done" in p.stdout, (p.stdout + p.stderr)[-400:])
        bad.unlink()

        # 3. Kill -9 of the coordinator during a Slurm run, then the same command again.
        r = recipe("killed", "  - length: {min_words: 50}\n  - exact_dedup: {buckets: 3}\n")
        out = work / "out-killed"
        run([winnow, "run", str(r), "--fresh", "--no-progress", "--executor", "inline"], env=env, timeout=600)
        reference = digest(out)
        c = subprocess.Popen([winnow, "run", str(r), "--fresh", "--no-progress", "--executor", "slurm"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        c.send_signal(signal.SIGKILL)
        c.wait()
        # Jobs already queued go on; the next coordinator adopts or resubmits what is missing.
        p = run([winnow, "run", str(r), "--no-progress", "--executor", "slurm"], env=env, timeout=600)
        check("killed coordinator: the same command completes", p.returncode == 0, (p.stdout + p.stderr)[-400:])
        check("killed coordinator: output byte-identical to an uninterrupted run", digest(out) == reference)
        stats = json.loads((out / "stats.json").read_text())
        check("killed coordinator: counts add up",
              stats["documents_read"] == stats["documents_written"] + stats["documents_dropped"] + stats["documents_quarantined"])
        leftovers = [p.name for p in out.rglob(".*.tmp-*")]
        check("killed coordinator: no temporary files left", not leftovers, str(leftovers[:3]))

        # 4. --detach submits and returns; the same command later waits and finishes.
        r = recipe("detached", "  - length: {min_words: 50}\n")
        p = run([winnow, "run", str(r), "--fresh", "--no-progress", "--executor", "slurm", "--detach"], env=env, timeout=120)
        check("detach: returns after submitting", p.returncode == 0 and "submitted Slurm job" in p.stdout, (p.stdout + p.stderr)[-300:])
        p = run([winnow, "run", str(r), "--no-progress", "--executor", "slurm"], env=env, timeout=600)
        check("detach: the same command finishes the run", p.returncode == 0 and (work / "out-detached/stats.json").exists(),
              (p.stdout + p.stderr)[-300:])

        # 5. A detached run of a recipe with a global stage: its three passes are chained with
        #    afterok dependencies and run without a coordinator; the same command later only
        #    collects them.
        # --begin holds every job a few seconds, so the dependencies are still to be seen unfulfilled.
        r = recipe("chained", "  - length: {min_words: 20}\n  - exact_dedup: {buckets: 3}\n",
                   slurm_extra=", extra_args: ['--begin=now+4']")
        out = work / "out-chained"
        run([winnow, "run", str(r), "--fresh", "--no-progress", "--executor", "inline"], env=env, timeout=600)
        reference = digest(out)
        p = run([winnow, "run", str(r), "--fresh", "--no-progress", "--executor", "slurm", "--detach"], env=env, timeout=120)
        jobs = p.stdout.split("submitted Slurm job(s) ")[-1].split(" for ")[0].split(", ") if p.returncode == 0 else []
        # One array per pass, or more where a pass has more tasks than MaxArraySize allows.
        max_array = int(next((l.split("=")[1] for l in run(["scontrol", "show", "config"]).stdout.splitlines()
                              if l.startswith("MaxArraySize")), "100001").strip())
        expected = sum(-(-n // max_array) for n in (5, 3, 5))
        check("chained detach: one array per pass (split past MaxArraySize)", p.returncode == 0 and len(jobs) == expected,
              f"{len(jobs)} jobs, expected {expected} with MaxArraySize {max_array}: {(p.stdout + p.stderr)[-200:]}")
        info = {j: run(["scontrol", "-o", "show", "job", j]).stdout for j in jobs}
        names = {j: info[j].split("JobName=")[-1].split()[0] for j in jobs}
        firsts = [j for j in jobs if names[j].endswith("-p0")]
        later = [j for j in jobs if not names[j].endswith("-p0")]
        check("chained detach: later passes wait on afterok of earlier ones, the first does not",
              all("afterok:" in info[j] for j in later) and all("afterok:" not in info[j] for j in firsts) and later,
              " | ".join(f"{names[j]}: {info[j].split('Dependency=')[-1].split()[0]}" for j in jobs))
        deadline = time.time() + 300
        while time.time() < deadline and len(list((out / ".winnow/tasks").glob("p2-t*.json"))) < 5:
            time.sleep(0.5)
        check("chained detach: all three passes ran without a coordinator",
              len(list((out / ".winnow/tasks").glob("p2-t*.json"))) == 5)
        p = run([winnow, "run", str(r), "--no-progress", "--executor", "slurm"], env=env, timeout=600)
        check("chained detach: the same command collects the run", p.returncode == 0 and "0 run," in p.stdout,
              (p.stdout + p.stderr)[-300:])
        check("chained detach: output byte-identical to inline", digest(out) == reference)

        # 6. Generic jobs (the hook proxy training runs use) through the same executor: each
        #    runs in its directory with its environment; success needs the expected output; a
        #    failing job is reported with its exit code; done jobs are not run again.
        jobs_dir = work / "jobs"
        jobs_dir.mkdir()
        (jobs_dir / "jobs.jsonl").write_text(
            json.dumps({"name": "proxy-1", "argv": ["sh", "-c", "echo $MIX > result.txt"], "env": {"MIX": "web=0.7 code=0.3"},
                        "expected_output": "result.txt"}) + "\n"
            + json.dumps({"name": "proxy-2", "argv": ["sh", "-c", "echo $SLURM_JOB_ID > id.txt"], "expected_output": "id.txt"}) + "\n"
            + json.dumps({"name": "broken", "argv": ["sh", "-c", "exit 5"], "expected_output": "never.txt"}) + "\n")
        p = run([winnow, "jobs", str(jobs_dir / "jobs.jsonl"), "--executor", "slurm"], env=env, timeout=300)
        check("jobs: slurm runs them, a failing one fails the command naming it",
              p.returncode == 1 and "job proxy-1: done" in p.stdout and "job broken: FAILED (exit 5)" in p.stdout,
              (p.stdout + p.stderr)[-400:])
        check("jobs: environment and working directory reach the job",
              (jobs_dir / "result.txt").exists() and (jobs_dir / "result.txt").read_text() == "web=0.7 code=0.3\n")
        check("jobs: they ran as Slurm jobs",
              (jobs_dir / "id.txt").exists() and (jobs_dir / "id.txt").read_text().strip().isdigit())
        p = run([winnow, "jobs", str(jobs_dir / "jobs.jsonl"), "--executor", "slurm"], env=env, timeout=300)
        check("jobs: the same command again runs only what is not done",
              "job proxy-1: already done" in p.stdout and "job proxy-2: already done" in p.stdout, (p.stdout + p.stderr)[-400:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
