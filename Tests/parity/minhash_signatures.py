#!/usr/bin/env python3
"""MinHash signatures: `winnow minhash` against datatrove 0.10.1's MinhashDedupSignature.

    python3 Tests/parity/minhash_signatures.py --winnow .build/debug/winnow [--docs N]

On every Nth document of Samples/dedup/corpus.jsonl.zst and Samples/quality/corpus.jsonl.zst
(24 languages), both tools print each document's simplified text, number of distinct word
5-gram shingles and 112-value signature at datatrove's defaults (5-grams, 14 bands x 8 rows,
xxhash-64 shingles, seed 1). Every document must agree on all three. Exit 1 otherwise.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from peers import peer_python  # noqa: E402

CORPORA = [os.path.join(ROOT, "Samples", "dedup", "corpus.jsonl.zst"), os.path.join(ROOT, "Samples", "quality", "corpus.jsonl.zst")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--winnow", required=True)
    ap.add_argument("--every", type=int, default=4, help="take every Nth document of each corpus (default 4)")
    args = ap.parse_args()
    py = peer_python()
    work = tempfile.mkdtemp(prefix="winnow-mhsig-")
    sample = os.path.join(work, "sample.jsonl")
    docs = 0
    with open(sample, "w", encoding="utf-8") as out:
        for c in CORPORA:
            lines = subprocess.run(["zstd", "-dcq", c], check=True, capture_output=True).stdout.decode("utf-8").splitlines()
            for k, line in enumerate(lines):
                if k % args.every == 0:
                    out.write(line + "\n")
                    docs += 1
    theirs_path = os.path.join(work, "datatrove.jsonl")
    subprocess.run([py, os.path.join(HERE, "peers", "datatrove_signatures.py"), sample, theirs_path], check=True)
    ours = subprocess.run([args.winnow, "minhash", sample], check=True, capture_output=True).stdout.decode("utf-8").splitlines()
    theirs = open(theirs_path, encoding="utf-8").read().splitlines()
    if len(ours) != len(theirs) or len(ours) != docs:
        print(f"FAIL: {len(ours)} winnow lines, {len(theirs)} datatrove lines, {docs} documents")
        return 1
    bad = {"simplified": 0, "shingles": 0, "signature": 0}
    shown = 0
    signed = 0
    for a, b in zip(map(json.loads, ours), map(json.loads, theirs)):
        signed += bool(b["signature"])
        for key in bad:
            if a[key] != b[key]:
                bad[key] += 1
                if shown < 5:
                    shown += 1
                    print(f"differs in {key}: {a['id']}")
    print(f"{docs} documents ({signed} with a signature): simplified text, shingle count and signature compared")
    for key, n in bad.items():
        print(f"  {key:10s} {docs - n}/{docs} identical")
    if any(bad.values()):
        print("FAIL")
        return 1
    print("all minhash signature checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
