#!/usr/bin/env python3
"""Recipes with several global stages, end to end.

    python3 Tests/parity/phase_checks.py --winnow .build/debug/winnow

1. A recipe with three global stages (exact_dedup, minhash_dedup, bloom_dedup) with
   per-document stages before, between and after them writes the same documents as the chain
   of three one-global recipes (each reading the one before's output), and the same bytes
   through the inline executor and the local executor with 1 and 3 workers.
2. The coordinator killed (-9) at every pass — when a task of that pass starts, after the pass's
   first task finished — resumes to the same bytes, with balanced counts and no temporary files.
3. No stage runs twice: every per-document stage's documents_in in stats.json is the number of
   documents that reached it once, and the stages appear once each, in recipe order.

Prints PASS/FAIL per check and ends with "N passed, M failed".
"""
import argparse
import glob
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
    """sha256 over the output shards and side outputs, in name order (state and stats excluded)."""
    h = hashlib.sha256()
    for p in sorted(out.rglob("part-*")):
        if ".winnow" in p.parts:
            continue
        h.update(p.relative_to(out).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def documents(out: Path) -> list:
    """The output documents in shard order (uncompressed shards)."""
    lines = []
    for p in sorted(out.glob("part-*.jsonl")):
        lines += [l for l in p.read_bytes().split(b"\n") if l]
    return lines


# Per-document stages before, between and after the three global stages.
S0 = "  - length: {min_words: 20}\n"
G1 = "  - exact_dedup: {buckets: 4}\n"
S1 = "  - field: {key: text, exists: true}\n  - sample: {rate: 0.95}\n"
G2 = "  - minhash_dedup: {buckets: 3}\n"
S2 = "  - normalize: {}\n"
G3 = "  - bloom_dedup: {unit: paragraph, expected_items: 200000}\n"
S3 = "  - length: {min_words: 10}\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--winnow", required=True)
    args = ap.parse_args()
    winnow = str(Path(args.winnow).resolve())
    work = Path(tempfile.mkdtemp(prefix="winnow-phases-"))
    try:
        # Four input shards of the near-duplicate sample (it has exact, near and paragraph copies).
        inputs = work / "in"
        inputs.mkdir()
        raw = subprocess.run(["zstd", "-dc", str(ROOT / "Samples/dedup/corpus.jsonl.zst")],
                             capture_output=True, check=True).stdout.split(b"\n")
        raw = [l for l in raw if l][:2400]
        for k in range(4):
            (inputs / f"shard-{k}.jsonl").write_bytes(b"\n".join(raw[k * 600:(k + 1) * 600]) + b"\n")

        def recipe(name, stages, source=inputs, out=None):
            out = out or work / f"out-{name}"
            r = work / f"{name}.yaml"
            r.write_text(
                f"name: {name}\nseed: 7\n"
                f"input: {{paths: [{json.dumps(str(source))}]}}\n"
                f"output: {{path: {json.dumps(str(out))}, compression: none, rejects: {json.dumps(str(out / 'rejects'))}}}\n"
                f"stages:\n{stages}")
            return r, out

        def run(r, *extra, env=None):
            return subprocess.run([winnow, "run", str(r), "--no-progress", *extra], capture_output=True, text=True,
                                  env=env, timeout=900)

        # 1. Three global stages in one recipe == the chain of three recipes; every executor.
        three, out3 = recipe("three", S0 + G1 + S1 + G2 + S2 + G3 + S3)
        p = run(three, "--fresh", "--executor", "inline")
        check("three global stages: inline run succeeds", p.returncode == 0, p.stderr[-800:])
        reference = digest(out3)
        got = documents(out3)
        stats = json.loads((out3 / "stats.json").read_text())

        a, out_a = recipe("chain-a", S0 + G1)
        b, out_b = recipe("chain-b", S1 + G2, source=out_a)
        c, out_c = recipe("chain-c", S2 + G3 + S3, source=out_b)
        ok = all(run(r, "--fresh", "--executor", "inline").returncode == 0 for r in (a, b, c))
        chained = documents(out_c)
        check("three global stages == the chain of three one-global recipes (same documents, same order)",
              ok and chained == got and len(got) > 0, f"{len(got)} documents in one run, {len(chained)} through the chain")
        chain_stats = [json.loads((o / "stats.json").read_text()) for o in (out_a, out_b, out_c)]
        dropped = {s["stage"]: s["dropped"] for cs in chain_stats for s in cs["stages"]}
        check("three global stages: each stage drops what it drops in the chain",
              [(s["stage"], s["dropped"]) for s in stats["stages"]] == [(s["stage"], s["dropped"]) for cs in chain_stats for s in cs["stages"]],
              json.dumps({s["stage"]: s["dropped"] for s in stats["stages"]}) + " vs " + json.dumps(dropped))

        digests = {"inline": reference}
        for ex, workers in [("local", "1"), ("local", "3")]:
            p = run(three, "--fresh", "--executor", ex, "--workers", workers)
            if p.returncode != 0:
                check(f"three global stages: {ex} ×{workers} run succeeds", False, p.stderr[-800:])
                continue
            digests[f"{ex}×{workers}"] = digest(out3)
        check("three global stages: inline and local (1 and 3 workers) byte-identical",
              len(digests) == 3 and len(set(digests.values())) == 1, json.dumps(digests)[:300])

        # 3. No stage runs twice: the stages are counted once each, in recipe order, and each
        #    one saw exactly what the one before it kept.
        names = [s["stage"] for s in stats["stages"]]
        want = ["length", "exact_dedup", "field", "sample", "minhash_dedup", "normalize", "bloom_dedup", "length"]
        chained_in = all(stats["stages"][k]["documents_in"] == stats["stages"][k - 1]["kept"] for k in range(1, len(names)))
        check("each stage is counted once, in recipe order, and sees what the one before kept",
              names == want and chained_in and stats["stages"][0]["documents_in"] == stats["documents_read"] - stats["documents_quarantined"]
              and stats["balanced"],
              f"{names}; read {stats['documents_read']} written {stats['documents_written']}")
        plan = json.loads((out3 / ".winnow/plan.json").read_text())
        kinds = plan["pass_kinds"]
        check("the plan: eight passes, the stages before each global stage run once",
              kinds == ["documents", "reduce", "apply", "reduce", "reduce", "apply", "reduce", "apply"], str(kinds))

        # 2. kill -9 of the coordinator at every pass, then the same command again.
        wrapper = work / "kill-at-pass.sh"
        wrapper.write_text(
            "#!/bin/sh\n"
            "# A worker binary that kills its coordinator when the chosen task starts.\n"
            'if [ "$4" = "$KILL_PASS" ] && [ "$6" = "$KILL_TASK" ]; then kill -9 $PPID; sleep 2; exit 1; fi\n'
            f'exec {winnow} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        tasks = [len(t) for t in plan["passes"]]
        results = []
        for pass_ in range(len(tasks)):
            task = min(1, tasks[pass_] - 1)
            env = dict(os.environ, WINNOW_BIN=str(wrapper), KILL_PASS=str(pass_), KILL_TASK=str(task))
            p = run(three, "--fresh", "--executor", "local", "--workers", "1", env=env)
            killed = p.returncode < 0 or p.returncode == 137
            records = sorted(os.listdir(out3 / ".winnow/tasks"))
            p2 = run(three, "--executor", "local", "--workers", "1", env=dict(os.environ, WINNOW_BIN=winnow))
            leftovers = [str(x) for x in out3.rglob(".*.tmp-*")]
            s = json.loads((out3 / "stats.json").read_text()) if p2.returncode == 0 else {}
            ok = killed and p2.returncode == 0 and digest(out3) == reference and s.get("balanced") and not leftovers
            results.append(ok)
            check(f"kill -9 at pass {pass_} (task {task} starting, {len(records)} tasks done) resumes to the same bytes", ok,
                  f"first exit {p.returncode}, resume exit {p2.returncode}; {p2.stderr[-300:]} {leftovers[:2]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
