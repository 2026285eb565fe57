#!/usr/bin/env python3
"""bandit_select (Quad's cluster bandit) against a port of the reference, replayed on a fixed
reward stream.

    python3 Tests/parity/bandit_parity.py --winnow .build/debug/winnow [--keep-work]

Documents: 40 clusters of 4 to 220 documents, shuffled over three input files, each with an
influence-like score (a per-cluster mean from -0.01 to 0.02 plus noise; one in 25 without a
score); centroids: 40 random 8-dimensional vectors (.npy, float64), so that clusters have
neighbours within the radius. Settings scaled down from the reference's (6 arms, 3 probe
documents, blocks of 10, alpha 0.01, radius 0.3, offset 0.002, 40 rounds), plus runs with no
centroids, a budget that stops early, and Euclidean neighbours off (the default arms).

The reference port (Tests/parity/peers/quad_reference.py: step1/step2/step3 of
`Quad-data_selection.py`, exhausted clusters and all) and `winnow run` with bandit_select
(save_rounds) must give the same arms in every round (cluster and block), the same rewards to
1e-12, and the same selected documents. Pure Python; exit 1 on any difference.
"""

import argparse
import glob
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "peers"))
from checks import check, summary  # noqa: E402
import quad_reference  # noqa: E402


def npy_float64(rows):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (len(rows), len(rows[0]))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    out = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    for r in rows:
        out += struct.pack("<%dd" % len(r), *r)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--winnow", required=True)
    ap.add_argument("--keep-work", action="store_true")
    args = ap.parse_args()
    winnow = os.path.abspath(args.winnow)
    work = tempfile.mkdtemp(prefix="winnow-bandit-")
    rng = random.Random(9)
    nclusters = 40
    means = [rng.uniform(-0.01, 0.02) for _ in range(nclusters)]
    docs = []
    for c in range(nclusters):
        for j in range(rng.randint(4, 220)):
            score = None if rng.random() < 0.04 else means[c] + rng.gauss(0, 0.01)
            docs.append({"id": f"c{c}-{j}", "text": f"document {j} of cluster {c}", "cluster": c, "influence": score})
    rng.shuffle(docs)
    inputs = []
    for f in range(3):
        p = os.path.join(work, f"in-{f}.jsonl")
        with open(p, "w") as out:
            for d in docs[f * len(docs) // 3:(f + 1) * len(docs) // 3]:
                d = dict(d)
                if d["influence"] is None:
                    del d["influence"]
                out.write(json.dumps(d) + "\n")
        inputs.append(p)
    clusters = [[] for _ in range(nclusters)]
    for d in docs:  # input order
        clusters[d["cluster"]].append((d["id"], d["influence"]))
    centroids = [[rng.gauss(0, 1) + (3 if i % 4 == 0 else 0) for _ in range(8)] for i in range(nclusters)]
    cpath = os.path.join(work, "centroids.npy")
    with open(cpath, "wb") as f:
        f.write(npy_float64(centroids))
    print(f"{len(docs)} documents in {nclusters} clusters")

    base = dict(arms=6, probe_size=3, block_size=10, alpha=0.01, radius=0.3, reward_offset=0.002, max_rounds=40,
                budget=1_000_000)
    cases = [("centroid neighbours", dict(base, centroids=cpath)),
             ("no centroids (each cluster alone)", dict(base)),
             ("budget of 60 documents", dict(base, centroids=cpath, budget=60)),
             ("reference settings but blocks of 5", dict(arms=50, probe_size=10, block_size=5, centroids=cpath))]
    for name, params in cases:
        rounds_path = os.path.join(work, "rounds.jsonl")
        out = os.path.join(work, "out")
        recipe = os.path.join(work, "bandit.yaml")
        stage = dict(params, score_field="influence", save_rounds=rounds_path)
        with open(recipe, "w") as f:
            f.write(f"name: bandit\ninput:\n  paths: {json.dumps(inputs)}\noutput:\n  path: {out}\n"
                    f"stages:\n  - bandit_select: {json.dumps(stage)}\n")
        subprocess.run([winnow, "run", recipe, "--fresh", "--no-progress"], check=True, capture_output=True)
        got_rounds = [json.loads(l) for l in open(rounds_path)]
        kept = set()
        for p in glob.glob(os.path.join(out, "part-*")):
            data = subprocess.run(["zstd", "-dcqf", p], check=True, capture_output=True).stdout.decode()
            kept |= {json.loads(l)["id"] for l in data.splitlines()}
        full = dict(arms=50, probe_size=10, block_size=20000, alpha=1e-4, radius=0.2, reward_offset=0.002, max_rounds=200,
                    budget=10_000_000)
        full.update(params)
        centroid_rows = centroids if "centroids" in params else None
        ref_rounds, ref_selected = quad_reference.run(
            clusters, centroid_rows, full["arms"], full["probe_size"], full["block_size"], full["alpha"], full["radius"],
            full["reward_offset"], full["max_rounds"], full["budget"])
        same_arms = [[list(a) for a in r[0]] for r in ref_rounds] == [r["arms"] for r in got_rounds]
        check(f"{name}: the same arms in each of {len(ref_rounds)} rounds", same_arms,
              f"winnow ran {len(got_rounds)} rounds")
        worst = max((abs(a - b) for r, g in zip(ref_rounds, got_rounds) for a, b in zip(r[1], g["rewards"])), default=0)
        check(f"{name}: the same rewards to 1e-12", same_arms and worst <= 1e-12, f"largest difference {worst:.3g}")
        check(f"{name}: the same {len(ref_selected)} selected documents", kept == set(ref_selected),
              f"winnow kept {len(kept)}")
    if args.keep_work:
        print(f"work: {work}")
    else:
        shutil.rmtree(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
