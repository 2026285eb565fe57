#!/usr/bin/env python3
"""Parity of Winnow's quality filters with datatrove's, on real multilingual text.

    python3 Tests/parity/quality_parity.py --winnow .build/debug/winnow

Runs the FineWeb filter chain

    gopher_repetition -> gopher_quality -> c4_quality (filter_no_terminal_punct: false)
    -> fineweb_quality

with default parameters in datatrove 0.10.1 (installed with spaCy in the pinned peer venv,
see peers.py) and in `winnow run`, on Samples/quality/corpus.jsonl.zst (built from Debian
packages' text by scripts/make-quality-corpus.py), and compares every document's fate:
which stage dropped it and why, and the final text of the documents both keep.

Per filter, agreement is measured over the documents datatrove hands to that filter: the
two tools agree on such a document when Winnow also hands it to the filter and both make
the same decision (keep, or drop with the same reason). Every difference is listed.
Fails when a filter agrees on fewer than --min-agreement of its documents (default 99.5 %)
or the kept texts are identical for fewer than --min-text (default 99 %).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from peers import peer_python  # noqa: E402

CHAIN = ["gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"]
RECIPE = """name: quality-parity
input:
  paths: [{corpus}]
output:
  path: {out}
  compression: none
  rejects: {rejects}
stages:
  - gopher_repetition: {{}}
  - gopher_quality: {{}}
  - c4_quality: {{filter_no_terminal_punct: false}}
  - fineweb_quality: {{}}
"""


def read_jsonl(paths):
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)


def run_winnow(winnow, corpus, tmp):
    out = os.path.join(tmp, "winnow-out")
    recipe = os.path.join(tmp, "quality.yaml")
    with open(recipe, "w") as f:
        f.write(RECIPE.format(corpus=json.dumps(corpus), out=json.dumps(out),
                              rejects=json.dumps(os.path.join(tmp, "winnow-rejects.jsonl"))))
    t0 = time.perf_counter()
    r = subprocess.run([winnow, "run", recipe, "--fresh", "--executor", "inline", "--no-progress"],
                       capture_output=True, text=True)
    spent = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"winnow run failed ({r.returncode}):\n{r.stderr}")
    fates = {}
    shards = sorted(os.path.join(out, n) for n in os.listdir(out) if n.startswith("part-"))
    for d in read_jsonl(shards):
        fates[d["id"]] = {"dropped_by": None, "reason": None, "text": d["text"]}
    for d in read_jsonl([os.path.join(tmp, "winnow-rejects.jsonl")]):
        fates[d["id"]] = {"dropped_by": d["rejected_by"], "reason": d["reject_reason"]}
    return fates, spent


def run_datatrove(python, corpus, tmp):
    out = os.path.join(tmp, "datatrove.jsonl")
    t0 = time.perf_counter()
    subprocess.run([python, os.path.join(HERE, "peers", "datatrove_quality.py"), corpus, out], check=True)
    spent = time.perf_counter() - t0
    return {d["id"]: d for d in read_jsonl([out])}, spent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--winnow", required=True)
    ap.add_argument("--python", help="a Python with datatrove and spaCy (default: the pinned peer venv)")
    ap.add_argument("--corpus", default=os.path.join(ROOT, "Samples", "quality", "corpus.jsonl.zst"))
    ap.add_argument("--min-agreement", type=float, default=0.995)
    ap.add_argument("--min-text", type=float, default=0.99)
    args = ap.parse_args()
    python = args.python or peer_python()
    winnow = os.path.abspath(args.winnow)

    with tempfile.TemporaryDirectory(prefix="winnow-quality-") as tmp:
        corpus = os.path.join(tmp, "corpus.jsonl")
        with open(corpus, "wb") as f:
            subprocess.run(["zstd", "-dc", args.corpus], stdout=f, check=True)
        docs = {d["id"]: d for d in read_jsonl([corpus])}
        lang = {k: d.get("lang", "?") for k, d in docs.items()}
        mb = os.path.getsize(corpus) / 1e6
        dt, dt_time = run_datatrove(python, corpus, tmp)
        wn, wn_time = run_winnow(winnow, corpus, tmp)

    print(f"corpus: {len(docs)} documents, {mb:.1f} MB, {len(set(lang.values()))} languages")
    print(f"time: datatrove {dt_time:.1f} s, winnow {wn_time:.2f} s (debug builds are slow; see make bench)")
    failed = False
    missing = [k for k in docs if k not in wn or k not in dt]
    if missing:
        print(f"FAIL {len(missing)} documents missing from an output, e.g. {missing[:3]}")
        failed = True

    def stage_index(fate):
        return CHAIN.index(fate["dropped_by"]) if fate["dropped_by"] else len(CHAIN)

    for i, stage in enumerate(CHAIN):
        entering = [k for k in docs if k in dt and stage_index(dt[k]) >= i]
        diffs = []
        for k in entering:
            a, b = dt[k], wn.get(k)
            if b is None:
                continue
            a_drop = a["reason"] if stage_index(a) == i else None
            if stage_index(b) < i:
                diffs.append((k, f"datatrove: reaches {stage}", f"winnow: dropped earlier by {b['dropped_by']} ({b['reason']})"))
                continue
            b_drop = b["reason"] if stage_index(b) == i else None
            if a_drop != b_drop:
                diffs.append((k, f"datatrove: {a_drop or 'keep'}", f"winnow: {b_drop or 'keep'}"))
        n = len(entering)
        agree = (n - len(diffs)) / n if n else 1.0
        dropped = sum(1 for k in entering if stage_index(dt[k]) == i)
        ok = agree >= args.min_agreement
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'} {stage}: {agree * 100:.2f} % of {n} documents agree "
              f"(datatrove drops {dropped}); {len(diffs)} differ")
        for k, x, y in diffs[:50]:
            print(f"    {k} [{lang.get(k)}]: {x}; {y}")

    both_kept = [k for k in docs if k in dt and k in wn and dt[k]["dropped_by"] is None and wn[k]["dropped_by"] is None]
    text_diff = [k for k in both_kept if dt[k]["text"] != wn[k]["text"]]
    share = (len(both_kept) - len(text_diff)) / len(both_kept) if both_kept else 1.0
    ok = share >= args.min_text and len(both_kept) > 0
    failed |= not ok
    print(f"{'PASS' if ok else 'FAIL'} kept texts after c4_quality: {share * 100:.2f} % of {len(both_kept)} identical")
    for k in text_diff[:20]:
        a, b = dt[k]["text"], wn[k]["text"]
        at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        print(f"    {k}: first difference at character {at}: datatrove {a[at:at + 40]!r}, winnow {b[at:at + 40]!r}")
    final_agree = sum(1 for k in docs if k in dt and k in wn and dt[k]["dropped_by"] == wn[k]["dropped_by"]
                      and dt[k]["reason"] == wn[k]["reason"]) / len(docs)
    print(f"overall: {final_agree * 100:.2f} % of documents have the same fate in both tools")
    print("FAILED" if failed else "all quality parity checks passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
