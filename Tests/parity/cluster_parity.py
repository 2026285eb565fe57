#!/usr/bin/env python3
"""The cluster stage's k-means against scikit-learn's KMeans (Lloyd), in a recipe run.

    python3 Tests/parity/cluster_parity.py --winnow .build/debug/winnow [--keep-work]

Runs in the venv of peers.select_python() (.venv-select: numpy, scikit-learn 1.9.1), made on
first use.

Vectors: (a) 3,300 float32 vectors of 16 values, twelve Gaussian blobs of different spreads plus
uniform noise; (b) fastText sentence vectors (32 values) of 2,000 documents of
Samples/quality (a skipgram model trained by `winnow fasttext skipgram` on those documents,
written by the embed stage). The documents are split over three input files (three tasks).

- Same start: from the same initial centroids (twelve of the vectors, init_centroids .npy),
  after 1, 2, 3 and 6 Lloyd iterations (tolerance 0), every document's cluster equals
  scikit-learn's `KMeans(init=array, n_init=1, max_iter=i, tol=0, algorithm="lloyd")` label,
  the saved centroids equal its cluster_centers_ to 1e-5, and cluster_distance equals its
  transform() distance to 1e-5.
- Own start: with Winnow's k-means++ (its seeded sample) and 100 iterations, the inertia (sum
  of squared cluster_distance) is within 1 % of scikit-learn's best of 3 (n_init=3) on both
  sets.
- Workers: one and two local workers write the same documents.
- Cosine: metric cosine gives unit centroids, and every document's cluster is the centroid of
  largest cosine similarity.

SemDeDup: the blob vectors plus 300 near-copies (a vector plus 1 % noise) and 20 exact copies,
clustered (cosine, k 20), then `semdedup` (epsilon 0.01, mode annotate): every
document's semdedup_max_similarity equals M of a numpy port of the reference (SemDeDup's
`semdedup.py` with `sort_clusters.py`'s "keep hard" order: within a cluster, farthest from the
centroid first, ties in input order; M = column maxima of the upper triangle of the similarity
matrix) to 1e-6, the duplicate flags agree (except for M within 1e-6 of 1 − epsilon), mode
select drops exactly the flagged documents, and 1 and 16 buckets give the same result.

Deita: the blob vectors with two score fields (uniform, their product the score), selected by
`diversity_select` and by a numpy port of Deita's IterativeFilter (batch size 1, cosine,
normalize_emb; threshold = 1 − tau; order by score, best first): the same documents (a) over
the whole set (tau 0.02, budget 500), (b) within the 12 clusters of the cluster stage
(per_cluster 30) and then the best-scored 200 of those, and (c) with method balanced (the 25
best-scored of each cluster).
"""

import argparse
import glob
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from peers import select_python, rerun_in_venv  # noqa: E402

rerun_in_venv(select_python, "WINNOW_SELECT_VENV_ACTIVE", __file__)

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

from checks import check, summary  # noqa: E402


def read_docs(out_dir):
    docs = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "part-*.jsonl*"))):
        data = subprocess.run(["zstd", "-dcqf", path], check=True, capture_output=True).stdout
        for line in data.decode("utf-8").splitlines():
            d = json.loads(line)
            docs[d["id"]] = d
    return docs


def write_inputs(work, name, vectors, extra=None):
    """Three input files of documents with an `embedding` field (JSON arrays of float32)."""
    paths = []
    n = len(vectors) if vectors is not None else len(extra)
    cuts = [0, n // 3, 2 * n // 3, n]
    for f in range(3):
        p = os.path.join(work, f"{name}-{f}.jsonl")
        with open(p, "w") as out:
            for i in range(cuts[f], cuts[f + 1]):
                doc = {"id": f"{name}-{i}", "text": f"document {i}"}
                if vectors is not None:
                    doc["embedding"] = [float(x) for x in vectors[i]]
                if extra:
                    doc.update(extra[i])
                out.write(json.dumps(doc) + "\n")
        paths.append(p)
    return paths


def run_recipe(winnow, work, name, inputs, stages, workers=1):
    out = os.path.join(work, "out-" + name)
    recipe = os.path.join(work, name + ".yaml")
    with open(recipe, "w") as f:
        f.write(f"name: {name}\nseed: 3\ninput:\n  paths: {json.dumps(inputs)}\n"
                f"output:\n  path: {out}\n  compression: zstd\nstages:\n")
        for s in stages:
            f.write(f"  - {json.dumps(s)}\n")
    subprocess.run([winnow, "run", recipe, "--fresh", "--executor", "local" if workers > 1 else "inline",
                    "--workers", str(workers), "--no-progress"], check=True, capture_output=True)
    return out


def blobs():
    rng = np.random.default_rng(5)
    centers = rng.uniform(-10, 10, size=(12, 16))
    parts = [centers[i] + rng.normal(scale=0.5 + 0.25 * i, size=(250, 16)) for i in range(12)]
    parts.append(rng.uniform(-12, 12, size=(300, 16)))
    x = np.concatenate(parts).astype(np.float32)
    return x[rng.permutation(len(x))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--winnow", required=True)
    ap.add_argument("--keep-work", action="store_true")
    args = ap.parse_args()
    winnow = os.path.abspath(args.winnow)
    work = tempfile.mkdtemp(prefix="winnow-cluster-")

    sets = []
    x = blobs()
    sets.append(("blobs", x, write_inputs(work, "blobs", x), 12))

    # fastText sentence vectors of real documents, from the embed stage.
    texts = subprocess.run(["zstd", "-dcq", os.path.join(ROOT, "Samples", "quality", "corpus.jsonl.zst")], check=True,
                           capture_output=True).stdout.decode("utf-8").splitlines()[:2000]
    train = os.path.join(work, "train.txt")
    with open(train, "w") as f:
        for line in texts:
            f.write(" ".join(json.loads(line)["text"].split()) + "\n")
    model = os.path.join(work, "vectors")
    subprocess.run([winnow, "fasttext", "skipgram", "-input", train, "-output", model, "-dim", "32", "-epoch", "1",
                    "-bucket", "20000", "-minCount", "3", "-thread", "1", "-verbose", "0"], check=True)
    raw = [json.loads(line) for line in texts]
    text_inputs = write_inputs(work, "text", None, [{"text": d["text"]} for d in raw])
    embedded = run_recipe(winnow, work, "embed", text_inputs,
                          [{"embed": {"model": model + ".bin", "encoding": "json"}}])
    docs = read_docs(embedded)
    tx = np.array([docs[f"text-{i}"]["embedding"] for i in range(len(raw))], dtype=np.float32)
    sets.append(("fastText vectors", tx, write_inputs(work, "emb", tx), 20))

    for name, x, inputs, k in sets:
        x64 = x.astype(np.float64)
        rng = np.random.default_rng(11)
        init = x64[rng.choice(len(x), size=k, replace=False)]
        init_path = os.path.join(work, f"init-{k}.npy")
        np.save(init_path, init)
        prefix = inputs[0].rsplit("-", 1)[0].rsplit("/", 1)[1]
        for iterations in (1, 2, 3, 6):
            saved = os.path.join(work, f"centroids-{k}-{iterations}.npy")
            out = run_recipe(winnow, work, f"c{k}-{iterations}", inputs, [{"cluster": {
                "k": k, "init_centroids": init_path, "iterations": iterations, "tolerance": 0, "save_centroids": saved}}])
            docs = read_docs(out)
            labels = np.array([docs[f"{prefix}-{i}"]["cluster"] for i in range(len(x))])
            dist = np.array([docs[f"{prefix}-{i}"]["cluster_distance"] for i in range(len(x))])
            ref = KMeans(n_clusters=k, init=init, n_init=1, max_iter=iterations, tol=0, algorithm="lloyd").fit(x64)
            centroids = np.load(saved)
            check(f"{name}: {iterations} iteration(s) from the same centroids: every cluster equals scikit-learn's label",
                  np.array_equal(labels, ref.labels_), f"{int((labels != ref.labels_).sum())} of {len(x)} differ")
            diff = float(np.abs(centroids - ref.cluster_centers_).max())
            check(f"{name}: {iterations} iteration(s): centroids equal scikit-learn's to 1e-5", diff <= 1e-5,
                  f"largest difference {diff:.3g}")
            ref_dist = ref.transform(x64)[np.arange(len(x)), ref.labels_]
            ddiff = float(np.abs(dist - ref_dist).max())
            check(f"{name}: {iterations} iteration(s): cluster_distance equals scikit-learn's transform() to 1e-5",
                  ddiff <= 1e-5, f"largest difference {ddiff:.3g}")

        out = run_recipe(winnow, work, f"own-{k}", inputs, [{"cluster": {"k": k, "iterations": 100}}])
        docs = read_docs(out)
        inertia = sum(d["cluster_distance"] ** 2 for d in docs.values())
        best = KMeans(n_clusters=k, n_init=3, random_state=0, algorithm="lloyd").fit(x64).inertia_
        check(f"{name}: own k-means++ start: inertia within 1 % of scikit-learn's best of 3",
              inertia <= best * 1.01, f"winnow {inertia:.6g}, scikit-learn {best:.6g} (ratio {inertia / best:.4f})")

    # One and two workers write the same documents.
    name, x, inputs, k = sets[0]
    one = read_docs(run_recipe(winnow, work, "w1", inputs, [{"cluster": {"k": k}}], workers=1))
    two = read_docs(run_recipe(winnow, work, "w2", inputs, [{"cluster": {"k": k}}], workers=2))
    check("one and two workers: the same clusters and distances", one == two)

    # Cosine: unit centroids; each document in the cluster of largest cosine similarity.
    saved = os.path.join(work, "cosine.npy")
    name, x, inputs, k = sets[1]
    docs = read_docs(run_recipe(winnow, work, "cos", inputs, [{"cluster": {
        "k": k, "metric": "cosine", "save_centroids": saved}}]))
    c = np.load(saved).astype(np.float64)
    norms = np.linalg.norm(c, axis=1)
    check("cosine: the centroids have unit length", bool(np.all(np.abs(norms - 1) < 1e-5)), f"norms {norms.min():.6f}…{norms.max():.6f}")
    xn = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    sims = xn @ (c / norms[:, None]).T
    labels = np.array([docs[f"emb-{i}"]["cluster"] for i in range(len(x))])
    best = sims.argmax(axis=1)
    close = np.sort(sims, axis=1)[:, -1] - np.sort(sims, axis=1)[:, -2] < 1e-6
    ok = np.all((labels == best) | close)
    check("cosine: every document is in the cluster of largest cosine similarity", bool(ok),
          f"{int(((labels != best) & ~close).sum())} are not")
    cd = np.array([docs[f"emb-{i}"]["cluster_distance"] for i in range(len(x))])
    check("cosine: cluster_distance is 1 − cosine similarity", bool(np.all(np.abs(cd - (1 - sims[np.arange(len(x)), labels])) < 1e-5)))

    # SemDeDup against a numpy port of the reference.
    name, x, inputs, k = sets[0]
    rng = np.random.default_rng(21)
    base = x.astype(np.float64)
    picks = rng.choice(len(x), size=300, replace=False)
    near = base[picks] + rng.normal(scale=0.01, size=(300, x.shape[1])) * np.abs(base[picks]).mean()
    exact = base[rng.choice(len(x), size=20, replace=False)]
    y = np.concatenate([base, near, exact]).astype(np.float32)
    dup_inputs = write_inputs(work, "dup", y)
    eps = 0.01

    def semdedup_run(tag, buckets, mode):
        return read_docs(run_recipe(winnow, work, tag, dup_inputs, [
            {"cluster": {"k": 20, "metric": "cosine"}},
            {"semdedup": {"epsilon": eps, "buckets": buckets, "mode": mode}}]))

    annotated = semdedup_run("sd-annotate", 16, "annotate")
    ids = [f"dup-{i}" for i in range(len(y))]
    labels = np.array([annotated[i]["cluster"] for i in ids])
    dist = np.array([annotated[i]["cluster_distance"] for i in ids], dtype=np.float32)
    unit = (y.astype(np.float64) / np.linalg.norm(y.astype(np.float64), axis=1, keepdims=True)).astype(np.float32)
    ref_m = np.zeros(len(y))
    for c in range(20):
        members = [i for i in range(len(y)) if labels[i] == c]
        order = sorted(members, key=lambda i: dist[i], reverse=True)  # stable: ties in input order
        reps = unit[order].astype(np.float64)
        sim = reps @ reps.T
        np.fill_diagonal(sim, 0.0)
        m = np.triu(sim, k=1).max(axis=0) if len(order) > 1 else np.zeros(1)
        ref_m[order] = m
    got_m = np.array([annotated[i]["semdedup_max_similarity"] for i in ids])
    mdiff = float(np.abs(got_m - ref_m).max())
    check("semdedup: every document's M equals the reference port's to 1e-6", mdiff <= 1e-6, f"largest difference {mdiff:.3g}")
    ref_dup = ref_m > 1 - eps
    got_dup = np.array([annotated[i]["semdedup_duplicate"] for i in ids])
    borderline = np.abs(ref_m - (1 - eps)) < 1e-6
    check(f"semdedup: the same duplicates as the reference port ({int(ref_dup.sum())} of {len(y)})",
          bool(np.all((got_dup == ref_dup) | borderline)), f"{int(((got_dup != ref_dup) & ~borderline).sum())} differ")
    selected = semdedup_run("sd-select", 16, "select")
    check("semdedup: mode select keeps exactly the documents not flagged",
          set(selected) == {i for i, d in zip(ids, got_dup) if not d})
    one_bucket = semdedup_run("sd-one", 1, "annotate")
    check("semdedup: 1 and 16 buckets give the same result", one_bucket == annotated)

    # Deita's score-first selection against a numpy port of IterativeFilter.
    name, x, _, k = sets[0]
    srng = np.random.default_rng(31)
    quality, complexity = srng.uniform(0.1, 1, len(x)), srng.uniform(0.1, 1, len(x))
    extra = [{"quality": float(quality[i]), "complexity": float(complexity[i])} for i in range(len(x))]
    deita_inputs = write_inputs(work, "deita", x, extra)
    score = quality * complexity
    unit = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)

    def deita_port(members, tau, cap):
        order = sorted(members, key=lambda i: -score[i])  # stable: ties in input order
        taken, near = [], 0.0
        for i in order:
            if len(taken) >= cap:
                break
            if taken:
                sims = unit[taken] @ unit[i]
                near = max(near, float(np.min(np.abs(sims - (1 - tau)))))
                if np.any(sims > 1 - tau):
                    continue
            taken.append(i)
        return taken

    def selected_ids(out):
        return set(read_docs(out))

    got = selected_ids(run_recipe(winnow, work, "deita-all", deita_inputs, [{"diversity_select": {
        "score_fields": ["quality", "complexity"], "tau": 0.02, "budget": 500}}]))
    taken = deita_port(list(range(len(x))), 0.02, 500)
    ref = {f"deita-{i}" for i in taken}
    passed_over = sorted(range(len(x)), key=lambda i: -score[i]).index(taken[-1]) + 1 - len(taken)
    check(f"deita: the same {len(ref)} documents as the reference port over the whole set "
          f"({passed_over} better-scored ones skipped as too similar)", got == ref and passed_over > 0,
          f"{len(got ^ ref)} differ")
    clustered = read_docs(run_recipe(winnow, work, "deita-clusters", deita_inputs, [
        {"cluster": {"k": k}},
        {"diversity_select": {"method": "deita", "score_fields": ["quality", "complexity"], "tau": 0.02,
                              "cluster_field": "cluster", "per_cluster": 30, "budget": 200, "buckets": 5}}]))
    labelled = read_docs(run_recipe(winnow, work, "deita-labels", deita_inputs, [{"cluster": {"k": k}}]))
    labels = np.array([labelled[f"deita-{i}"]["cluster"] for i in range(len(x))])
    picks = []
    for c in range(k):
        picks += deita_port([i for i in range(len(x)) if labels[i] == c], 0.02, 30)
    picks = sorted(picks, key=lambda i: (-score[i], i))[:200]
    ref = {f"deita-{i}" for i in picks}
    check("deita within clusters (per_cluster 30, then the best 200): the same documents as the reference port",
          set(clustered) == ref, f"{len(set(clustered) ^ ref)} differ")
    balanced = read_docs(run_recipe(winnow, work, "balanced", deita_inputs, [
        {"cluster": {"k": k}},
        {"diversity_select": {"method": "balanced", "score_fields": ["quality", "complexity"], "cluster_field": "cluster",
                              "per_cluster": 25}}]))
    ref = set()
    for c in range(k):
        members = sorted([i for i in range(len(x)) if labels[i] == c], key=lambda i: -score[i])[:25]
        ref |= {f"deita-{i}" for i in members}
    check(f"balanced: the 25 best-scored of each cluster ({len(ref)} documents)", set(balanced) == ref,
          f"{len(set(balanced) ^ ref)} differ")

    if args.keep_work:
        print(f"work: {work}")
    else:
        shutil.rmtree(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
