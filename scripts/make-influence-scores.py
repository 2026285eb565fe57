#!/usr/bin/env python3
"""Writes Samples/select/influence-scores.jsonl: one stand-in influence score per document of
Samples/web, for the recipes that join a MATES- or Quad-style score file onto documents
(Recipes/bandit-quad.yaml).

    python3 scripts/make-influence-scores.py

The scores are synthetic, not computed with a model: a mean by source (doc +0.010, man +0.002,
licence -0.005), +0.004 for English, and a deterministic noise in [-0.01, 0.01) from the
SHA-256 of the id. Each line: {"id": ..., "influence": ...}. Python 3 standard library and the
zstd command-line tool.
"""

import glob
import hashlib
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_MEAN = {"doc": 0.010, "man": 0.002, "license": -0.005}


def main():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "Samples", "web", "*.jsonl.zst"))):
        data = subprocess.run(["zstd", "-dcq", path], check=True, capture_output=True).stdout.decode("utf-8")
        for line in data.splitlines():
            d = json.loads(line)
            noise = int(hashlib.sha256(d["id"].encode()).hexdigest()[:8], 16) / 2**32 * 0.02 - 0.01
            score = SOURCE_MEAN.get(d["source"], 0.0) + (0.004 if d["lang"] == "en" else 0.0) + noise
            out.append(json.dumps({"id": d["id"], "influence": round(score, 6)}))
    with open(os.path.join(ROOT, "Samples", "select", "influence-scores.jsonl"), "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"{len(out)} scores")


if __name__ == "__main__":
    main()
