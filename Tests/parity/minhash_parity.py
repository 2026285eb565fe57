#!/usr/bin/env python3
"""Near-duplicate removal: Winnow's minhash_dedup, datatrove's MinHash and datasketch's LSH,
scored against an exact ground truth.

    python3 Tests/parity/minhash_parity.py --winnow .build/debug/winnow [--keep-work] [--json PATH]

The corpus is Samples/dedup/corpus.jsonl.zst (real Debian text, exact copies, normalised copies
and near duplicates aimed at word-5-gram Jaccard levels from 0.5 to 1.0; built by
scripts/make-dedup-corpus.py), the truth Samples/dedup/truth.jsonl.zst: every pair of
documents whose sets of word 5-grams of simplify_text(text).split() have a Jaccard >= 0.5.

In the same run:

  * winnow run, one task, inline executor: `minhash_dedup: {exact_check: true}` and
    `minhash_dedup: {exact_check: false}`; then exact_check true again on the corpus cut into
    4 files, `files_per_task: 1`, local executor with 4 workers. The kept documents must be
    the input's lines, in input order, and the two exact_check runs' outputs (shards
    concatenated in name order) byte-identical;
  * datatrove 0.10.1's MinhashDedupSignature -> Buckets -> Cluster -> Filter at their defaults
    (peers/datatrove_minhash.py);
  * datasketch 2.0.0's MinHashLSH(threshold=0.8, num_perm=112), first seen wins
    (peers/datasketch_minhash.py);
  * `keep: datatrove` against datatrove's four stages: on the corpus (the run above), and (one
    signature task per input file) on two more inputs: datatrove's own clustering test rebuilt on a text of the corpus (windows of
    300 characters at its offsets, one file), and 45 families of 2 to 8 near-duplicates (edits
    of edits of corpus texts) with 45 texts without copies, shuffled over 4 files. The kept
    documents must be the same ones, the output the same bytes in one task with 3 buckets and
    on the local executor, and keep: first must keep other documents in some cluster (or the
    case would not tell the policies apart). peers/datatrove_union_order.py checks that
    datatrove unions one band's groups in the order of their values, as Winnow's Swift test
    of that case expects.

Scoring, the same for every method, from the set R of documents it removed. Truth clusters at
a threshold t are the connected components of the graph with an edge between every pair with
J >= t. A cluster of k documents should lose k - 1 of them; a method gets credit
min(|R ∩ C|, k - 1) for it. precision = Σ credit over the clusters at 0.8 / |R|;
recall@t = Σ credit over the clusters at t / Σ (k - 1) over them; F1 at 0.8. A row "truth"
(remove all but the first of every cluster at 0.8) checks the scoring: 1.0 everywhere.

Fails when Winnow with exact_check (one task) has recall@0.85 < 0.95, precision < 0.98 or
F1@0.8 <= datatrove's, when keep: datatrove keeps other documents than datatrove, or when a
run's output is not what is described above. Exit 1 then.
--peers-only runs and scores the peers without Winnow (for work on the corpus or the scoring).

datatrove (and Winnow, which computes its signatures) shingle spaCy's English words of the
simplified text, not its whitespace split: "cannot" is two words there, "dont" too. On this
corpus that gives 354 of the 2,716 truth pairs another Jaccard (by 0.02 at most), and moves 3
pairs across 0.8 and 1 across 0.85, so an exact method on spaCy words may lose a few tenths
of a percent of precision or recall against this truth.

datatrove runs alongside the Winnow runs (it takes the longest); CPU seconds are of the
process and the children it waited for.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from peers import peer_python  # noqa: E402

DEDUP = os.path.join(ROOT, "Samples", "dedup")
SHARDS = 4
WINNOW_EXACT = "winnow, exact_check: true"
DATATROVE = "datatrove 0.10.1, 14 x 8 defaults"
BANDS = [(0.5, 0.6), (0.6, 0.7), (0.7, 0.75), (0.75, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 0.95), (0.95, 1.0),
         (1.0, 1.01)]
RECIPE = """name: minhash-parity-{name}
executor: {executor}
workers: {workers}
files_per_task: {files_per_task}
input:
  paths: [{inputs}]
output:
  path: {out}
  compression: none
stages:
  - minhash_dedup: {{{params}}}
"""


def zstd_lines(path):
    out = subprocess.run(["zstd", "-dcq", path], capture_output=True, check=True).stdout
    return out.decode("utf-8").splitlines()


def read_truth(path):
    meta, docs, pairs = None, {}, []
    for line in zstd_lines(path):
        r = json.loads(line)
        if "a" in r:
            pairs.append((r["a"], r["b"], r["inter"], r["union"]))
        elif "doc" in r:
            docs[r["doc"]] = r
        else:
            meta = r["meta"]
    return meta, docs, pairs


def clusters(ids, pairs, t):
    """Connected components (of two or more documents) of the pairs with J >= t."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b, inter, union in pairs:
        if inter / union >= t:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    comp = defaultdict(list)
    for x in parent:
        comp[find(x)].append(x)
    order = {d: i for i, d in enumerate(ids)}
    return sorted((sorted(c, key=order.get) for c in comp.values() if len(c) > 1), key=lambda c: order[c[0]])


class Scorer:
    def __init__(self, ids, pairs):
        self.ids = ids
        self.pairs = pairs
        self.at = {t: clusters(ids, pairs, t) for t in (0.8, 0.85)}
        self.best = {}       # document -> the highest J it has with any other document (>= 0.5)
        for a, b, inter, union in pairs:
            j = inter / union
            self.best[a] = max(self.best.get(a, 0.0), j)
            self.best[b] = max(self.best.get(b, 0.0), j)

    def oracle(self):
        """All but the first (in input order) of every cluster at 0.8."""
        return {d for c in self.at[0.8] for d in c[1:]}

    def score(self, removed):
        removed = set(removed)
        out = {"removed": len(removed)}
        for t, cs in self.at.items():
            credit = sum(min(len(removed.intersection(c)), len(c) - 1) for c in cs)
            want = sum(len(c) - 1 for c in cs)
            out[f"recall@{t}"] = credit / want if want else 1.0
            if t == 0.8:
                out["correct"] = credit
                out["precision"] = credit / len(removed) if removed else 1.0
                out["wiped_clusters"] = sum(1 for c in cs if removed.issuperset(c))
                inside = set().union(*cs) if cs else set()
                outside = removed - inside
                out["removed_outside_clusters"] = len(outside)
                fp = defaultdict(int)
                for d in outside:
                    j = self.best.get(d, 0.0)
                    fp["0.00-0.50" if j < 0.5 else f"{int(j * 20) / 20:.2f}-{int(j * 20) / 20 + 0.05:.2f}"] += 1
                out["outside_by_best_jaccard"] = dict(sorted(fp.items()))
        p, r = out["precision"], out["recall@0.8"]
        out["f1@0.8"] = 2 * p * r / (p + r) if p + r else 0.0
        bands = {}
        for lo, hi in BANDS:
            sel = [(a, b) for a, b, i, u in self.pairs if lo <= i / u < hi]
            hit = sum(1 for a, b in sel if a in removed or b in removed)
            name = "1.0" if lo == 1.0 else f"{lo:.2f}-{hi:.2f}"
            bands[name] = {"pairs": len(sel), "one_removed": hit}
        out["pairs_with_one_side_removed"] = bands
        return out


class Job:
    """A subprocess whose wall time and CPU time (user + sys of it and the children it waited
    for, from os.wait4) are measured; stderr is kept."""

    def __init__(self, argv, env=None):
        self.err = tempfile.TemporaryFile()
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.err,
                                     env=env)

    def wait(self):
        _, status, ru = os.wait4(self.proc.pid, 0)
        self.proc.returncode = self.code = os.waitstatus_to_exitcode(status)
        self.wall = time.perf_counter() - self.t0
        self.cpu = ru.ru_utime + ru.ru_stime
        self.err.seek(0)
        self.stderr = self.err.read().decode("utf-8", "replace")
        self.err.close()
        return self


# ----------------------------------------------------------------------------------------
# Winnow


def has_stage(winnow, name):
    r = subprocess.run([winnow, "stages"], capture_output=True, text=True)
    return r.returncode == 0 and any(line.split()[:1] == [name] for line in r.stdout.splitlines())


def shard_files(out):
    return sorted(os.path.join(out, n) for n in os.listdir(out) if n.startswith("part-"))


def run_winnow(winnow, tmp, name, inputs, exact, executor, workers, params=None, files_per_task=1):
    """Runs minhash_dedup with `exact_check: exact`, or with `params` (the stage's parameters, as
    YAML flow mapping entries) when given."""
    out = os.path.join(tmp, f"winnow-{name}")
    recipe = os.path.join(tmp, f"{name}.yaml")
    if params is None:
        params = f"exact_check: {'true' if exact else 'false'}"
    with open(recipe, "w") as f:
        f.write(RECIPE.format(name=name, executor=executor, workers=workers, inputs=", ".join(map(json.dumps, inputs)),
                              out=json.dumps(out), params=params, files_per_task=files_per_task))
    # The local executor's workers are the binary under test, whatever its file name.
    job = Job([winnow, "run", recipe, "--fresh", "--no-progress"], env=dict(os.environ, WINNOW_BIN=winnow)).wait()
    if job.code != 0:
        raise RuntimeError(f"winnow run {recipe} failed ({job.code}):\n{job.stderr[-3000:]}")
    data = b"".join(open(p, "rb").read() for p in shard_files(out))
    return data, job


def kept_ids(data, lines_by_id, order):
    """Ids of the kept documents; raises unless they are input lines, unchanged, in input order."""
    ids = []
    last = -1
    for line in data.decode("utf-8").splitlines():
        d = json.loads(line)
        i = d.get("id")
        if i not in lines_by_id:
            raise RuntimeError(f"output has a document that is not in the input: {line[:120]}")
        if line != lines_by_id[i]:
            raise RuntimeError(f"document {i} was changed: {line[:120]}")
        if order[i] <= last:
            raise RuntimeError(f"document {i} is out of input order (or twice)")
        last = order[i]
        ids.append(i)
    return ids


# ----------------------------------------------------------------------------------------
# keep: datatrove


# datatrove's own clustering test (tests/pipeline/test_minhash.py, test_buckets_and_cluster):
# 300-character windows of one text, starting at these offsets; windows of a group overlap by
# 250 characters or more, windows of different groups not at all.
WINDOW_GROUPS = [[0, 20, 50], [400, 420], [800, 810, 820, 840, 860], [1205, 1215, 1225, 1245], [1600], [2000]]
KEEP_FILES = 4


def window_docs(docs):
    """datatrove's clustering scenario on a text of the corpus: its windows, in one file."""
    text = next(d["text"] for d in docs if len(d["text"]) >= WINDOW_GROUPS[-1][-1] + 300)
    return [{"id": f"w{g}-{k}", "text": text[x:x + 300]} for g, group in enumerate(WINDOW_GROUPS)
            for k, x in enumerate(group)]


def near_duplicate_docs(docs, seed=7, families=45, singles=45):
    """Families of 2 to 8 near-duplicates of texts of the corpus, shuffled: each member but the
    first is an edit of an earlier member (chains and stars), with 1% to 12% of its words
    replaced, a sentence dropped, a line added, or upper-cased; and texts without copies."""
    rng = random.Random(seed)
    pool = [d["text"] for d in docs if 120 <= len(d["text"].split()) <= 500]
    rng.shuffle(pool)
    out = []
    for f in range(families):
        members = [pool[f]]
        for _ in range(rng.randint(1, 7)):
            words = rng.choice(members).split(" ")
            kind = rng.random()
            if kind < 0.7:
                rate = rng.choice([0.01, 0.02, 0.04, 0.06, 0.08, 0.12])
                words = [f"x{rng.randrange(10 ** 6)}" if rng.random() < rate else w for w in words]
            elif kind < 0.8:
                cut = rng.randrange(len(words) - 20)
                words = words[:cut] + words[cut + 20:]
            elif kind < 0.9:
                words = words + ["added", "line", str(rng.randrange(1000))]
            else:
                words = [w.upper() for w in words]
            members.append(" ".join(words))
        out += [{"id": f"f{f}-{k}", "text": t} for k, t in enumerate(members)]
    out += [{"id": f"s{k}", "text": t} for k, t in enumerate(pool[families:families + singles])]
    rng.shuffle(out)
    return out


def write_files(directory, docs, files):
    """`docs` cut into `files` consecutive files part-0.jsonl, ... (name order is input order)."""
    os.makedirs(directory)
    per = -(-len(docs) // files)
    for k in range(files):
        with open(os.path.join(directory, f"part-{k}.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(d) + "\n" for d in docs[k * per:(k + 1) * per])


def datatrove_kept(work):
    """Ids of the documents datatrove kept, in file and line order."""
    kept_dir = os.path.join(work, "kept")
    ids = []
    for name in sorted(os.listdir(kept_dir)) if os.path.isdir(kept_dir) else []:
        with open(os.path.join(kept_dir, name), encoding="utf-8") as f:
            ids += [json.loads(x)["id"] for x in f]
    return ids


def keep_datatrove_checks(winnow, python, tmp, docs):
    """`keep: datatrove` against datatrove's four stages: the kept documents must be the same
    ones. Returns the failed checks."""
    failed = []
    cases = [("windows", window_docs(docs), 1), ("families", near_duplicate_docs(docs), KEEP_FILES)]
    jobs = {}
    for name, case_docs, files in cases:
        directory = os.path.join(tmp, f"keep-{name}")
        write_files(directory, case_docs, files)
        # One signature task per file: datatrove's file ids are then the files' places.
        jobs[name] = Job([python, os.path.join(HERE, "peers", "datatrove_minhash.py"), directory, "*.jsonl",
                          os.path.join(tmp, f"datatrove-keep-{name}"), str(files)])
    order_job = Job([python, os.path.join(HERE, "peers", "datatrove_union_order.py")])
    for name, case_docs, files in cases:
        directory = os.path.join(tmp, f"keep-{name}")
        lines_by_id = {d["id"]: json.dumps(d) for d in case_docs}
        order = {d["id"]: i for i, d in enumerate(case_docs)}
        try:
            out, job = run_winnow(winnow, tmp, f"keep-{name}", [directory], False, "inline", 1,
                                  params="keep: datatrove")
            winnow_kept = kept_ids(out, lines_by_id, order)
            first, _ = run_winnow(winnow, tmp, f"keep-first-{name}", [directory], False, "inline", 1)
            first_kept = kept_ids(first, lines_by_id, order)
            # The same bytes in one task, with 3 reduce buckets, and on the local executor.
            one, _ = run_winnow(winnow, tmp, f"keep-one-{name}", [directory], False, "inline", 1,
                                params="keep: datatrove, buckets: 3", files_per_task=files)
            local, _ = run_winnow(winnow, tmp, f"keep-local-{name}", [directory], False, "local", files,
                                  params="keep: datatrove")
        except RuntimeError as e:
            print(f"FAIL winnow keep: datatrove on {name}: {e}")
            failed.append(f"keep: datatrove {name} run")
            continue
        same = out == one == local
        print(f"{'PASS' if same else 'FAIL'} keep: datatrove, {name}: one task per file, one task with 3 buckets and "
              f"the local executor write {'the same bytes' if same else 'DIFFERENT bytes'}", flush=True)
        if not same:
            failed.append(f"keep: datatrove {name} splits")
        dt = jobs[name].wait()
        if dt.code != 0:
            print(f"FAIL datatrove on {name} ({dt.code}):\n{dt.stderr[-3000:]}")
            failed.append(f"datatrove {name}")
            continue
        dt_kept = datatrove_kept(os.path.join(tmp, f"datatrove-keep-{name}"))
        if name == "windows":
            # datatrove's test: one window of each group stays.
            groups = {i.split("-")[0] for i in dt_kept}
            ok = len(dt_kept) == len(WINDOW_GROUPS) == len(groups)
            print(f"{'PASS' if ok else 'FAIL'} datatrove keeps one window per group on the windows case: {dt_kept}")
            if not ok:
                failed.append("datatrove windows case")
        differ = len(set(first_kept) - set(dt_kept))
        same_kept = winnow_kept == dt_kept
        print(f"{'PASS' if same_kept else 'FAIL'} keep: datatrove, {name} ({len(case_docs)} documents in {files} "
              f"file(s)): winnow keeps {len(winnow_kept)}, datatrove {len(dt_kept)}, "
              f"{'the same documents' if same_kept else 'DIFFERENT documents'}; keep: first would keep "
              f"{differ} other(s)", flush=True)
        if not same_kept:
            only_w = sorted(set(winnow_kept) - set(dt_kept))[:10]
            only_d = sorted(set(dt_kept) - set(winnow_kept))[:10]
            print(f"  only winnow: {only_w}\n  only datatrove: {only_d}")
            failed.append(f"keep: datatrove {name} kept documents")
        if name == "families" and differ == 0:
            print("FAIL the families case does not tell keep: datatrove from keep: first "
                  "(no cluster where they differ)")
            failed.append("families case too easy")
    order_job.wait()
    want = "kept 2 with u < w, 1 with w < u"
    ok = order_job.code == 0 and order_job.stderr.strip().endswith(want)
    print(f"{'PASS' if ok else 'FAIL'} datatrove unions one band's groups in the order of their values "
          f"(the case of MinHashKeepDatatroveTests.groupOrderWithinABand): "
          f"{order_job.stderr.strip().splitlines()[-1] if order_job.stderr.strip() else order_job.code}")
    if not ok:
        failed.append("datatrove union order")
    return failed


# ----------------------------------------------------------------------------------------


def fmt_table(rows):
    head = (f"  {'method':<38} {'removed':>7} {'precision':>9} {'recall@0.8':>10} {'recall@0.85':>11} {'F1@0.8':>7}"
            f" {'CPU s':>6} {'wall s':>6}")
    lines = [head, "  " + "-" * (len(head) - 2)]
    for name, s, job in rows:
        ts = f"{job.cpu:6.1f} {job.wall:6.1f}" if job else f"{'-':>6} {'-':>6}"
        lines.append(f"  {name:<38} {s['removed']:7d} {s['precision']:9.4f} {s['recall@0.8']:10.4f} "
                     f"{s['recall@0.85']:11.4f} {s['f1@0.8']:7.4f} {ts}")
    return "\n".join(lines)


def fmt_bands(rows):
    names = [n.split(":")[0].split(",")[0] + (" exact" if n == WINNOW_EXACT else " approx" if n.startswith("winnow") else "")
             for n, _, _ in rows]
    first = rows[0][1]["pairs_with_one_side_removed"]
    head = f"  {'true Jaccard':<12} {'pairs':>6} " + " ".join(f"{n[:16]:>16}" for n in names)
    lines = [head, "  " + "-" * (len(head) - 2)]
    for band in first:
        n = first[band]["pairs"]
        cells = []
        for _, s, _ in rows:
            h = s["pairs_with_one_side_removed"][band]["one_removed"]
            cells.append(f"{(h / n if n else 0):16.3f}")
        lines.append(f"  {band:<12} {n:6d} " + " ".join(cells))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--winnow", help="the winnow binary")
    ap.add_argument("--peers-only", action="store_true", help="run and score datatrove and datasketch only")
    ap.add_argument("--python", help="a Python with datatrove, spaCy, xxhash and datasketch (default: the pinned peer venv)")
    ap.add_argument("--corpus", default=DEDUP, help="directory with corpus.jsonl.zst and truth.jsonl.zst")
    ap.add_argument("--min-recall", type=float, default=0.95, help="Winnow's recall@0.85 at least (0.95)")
    ap.add_argument("--min-precision", type=float, default=0.98, help="Winnow's precision at least (0.98)")
    ap.add_argument("--json", metavar="PATH", help="also write the scores and times as JSON here")
    ap.add_argument("--keep-work", action="store_true", help="keep the work directory (printed) for inspection")
    args = ap.parse_args()
    if not args.winnow and not args.peers_only:
        ap.error("--winnow PATH is required (or --peers-only)")
    winnow = os.path.abspath(args.winnow) if args.winnow else None
    if winnow and not has_stage(winnow, "minhash_dedup"):
        print(f"FAIL {args.winnow} has no minhash_dedup stage (`winnow stages` does not list it)")
        sys.exit(1)
    python = args.python or peer_python()

    tmp = tempfile.mkdtemp(prefix="winnow-minhash-")
    failed = []
    results = {}
    try:
        # The corpus, whole and in 4 files.
        lines = zstd_lines(os.path.join(args.corpus, "corpus.jsonl.zst"))
        corpus = os.path.join(tmp, "corpus.jsonl")
        with open(corpus, "w", encoding="utf-8") as f:
            f.writelines(x + "\n" for x in lines)
        ids = [json.loads(x)["id"] for x in lines]
        lines_by_id = dict(zip(ids, lines))
        order = {d: i for i, d in enumerate(ids)}
        shard_dir = os.path.join(tmp, "shards")
        os.makedirs(shard_dir)
        per = -(-len(lines) // SHARDS)
        for k in range(SHARDS):
            with open(os.path.join(shard_dir, f"part-{k}.jsonl"), "w", encoding="utf-8") as f:
                f.writelines(x + "\n" for x in lines[k * per:(k + 1) * per])
        meta, docs, pairs = read_truth(os.path.join(args.corpus, "truth.jsonl.zst"))
        if set(docs) != set(ids):
            sys.exit("minhash_parity.py: truth.jsonl.zst does not describe corpus.jsonl.zst (rebuild both)")
        scorer = Scorer(ids, pairs)
        mb = os.path.getsize(corpus) / 1e6
        c8, c85 = scorer.at[0.8], scorer.at[0.85]
        print(f"corpus: {len(ids)} documents, {mb:.1f} MB; truth: {len(pairs)} pairs with J >= {meta['min_jaccard']}, "
              f"{len(c8)} clusters at 0.8 ({sum(len(c) - 1 for c in c8)} redundant documents), "
              f"{len(c85)} at 0.85 ({sum(len(c) - 1 for c in c85)})", flush=True)

        rows = [("truth: all but the first per cluster", scorer.score(scorer.oracle()), None)]
        keep_dt_kept = None

        # datatrove (the slowest, spaCy) runs alongside the rest.
        work = os.path.join(tmp, "datatrove")
        dt_job = Job([python, os.path.join(HERE, "peers", "datatrove_minhash.py"), tmp, "corpus.jsonl", work])

        if winnow:
            try:
                one, j1 = run_winnow(winnow, tmp, "exact", [corpus], True, "inline", 1)
                rows.append((WINNOW_EXACT, scorer.score(set(ids) - set(kept_ids(one, lines_by_id, order))), j1))
                approx, j2 = run_winnow(winnow, tmp, "approx", [corpus], False, "inline", 1)
                approx_kept = kept_ids(approx, lines_by_id, order)
                rows.append(("winnow, exact_check: false", scorer.score(set(ids) - set(approx_kept)), j2))
                keep_dt, _ = run_winnow(winnow, tmp, "keep-datatrove", [corpus], False, "inline", 1,
                                        params="keep: datatrove")
                keep_dt_kept = kept_ids(keep_dt, lines_by_id, order)
                four, j4 = run_winnow(winnow, tmp, "exact-4", [shard_dir], True, "local", SHARDS)
                kept_ids(four, lines_by_id, order)
                same = one == four
                print(f"{'PASS' if same else 'FAIL'} exact_check, 1 task inline vs {SHARDS} tasks on {SHARDS} workers: "
                      f"outputs {'byte-identical' if same else 'DIFFER'} ({len(one):,} and {len(four):,} bytes; "
                      f"the {SHARDS}-task run: {j4.wall:.1f} s wall, {j4.cpu:.1f} s CPU)", flush=True)
                if not same:
                    failed.append("1 task vs 4 tasks")
                results["winnow_4_tasks_identical"] = same
            except RuntimeError as e:
                print(f"FAIL winnow: {e}")
                failed.append("winnow run")
            failed += keep_datatrove_checks(winnow, python, tmp, [json.loads(x) for x in lines])

        out = os.path.join(tmp, "datasketch-removed.txt")
        ds_job = Job([python, os.path.join(HERE, "peers", "datasketch_minhash.py"), corpus, out]).wait()
        if ds_job.code != 0:
            sys.exit(f"datasketch failed ({ds_job.code}):\n{ds_job.stderr[-3000:]}")
        with open(out, encoding="utf-8") as f:
            ds_removed = {x.strip() for x in f if x.strip()}
        print(ds_job.stderr.strip().splitlines()[-1], flush=True)

        dt_job.wait()
        if dt_job.code != 0:
            sys.exit(f"datatrove failed ({dt_job.code}):\n{dt_job.stderr[-3000:]}")
        dt_removed = set()
        rm = os.path.join(work, "removed", "00000.jsonl")
        if os.path.exists(rm):
            with open(rm, encoding="utf-8") as f:
                dt_removed = {json.loads(x)["id"] for x in f}
        print(dt_job.stderr.strip().splitlines()[-1], flush=True)
        rows.append((DATATROVE, scorer.score(dt_removed), dt_job))
        if keep_dt_kept is not None:
            # datatrove's reader skips documents with empty text: they are in neither of its files.
            empty = {json.loads(x)["id"] for x in lines if not json.loads(x).get("text")}
            mine = [i for i in keep_dt_kept if i not in empty]
            theirs = datatrove_kept(work)
            same = mine == theirs
            other = len(set(approx_kept) - set(theirs) - empty)
            print(f"{'PASS' if same else 'FAIL'} keep: datatrove on the corpus: winnow keeps {len(mine)}, datatrove "
                  f"{len(theirs)}, {'the same documents' if same else 'DIFFERENT documents'} (keep: first keeps "
                  f"{other} other(s))", flush=True)
            if not same:
                failed.append("keep: datatrove on the corpus")
        rows.append(("datasketch 2.0.0, LSH 0.8, 112 perm.", scorer.score(ds_removed), ds_job))

        print("\nScores (clusters = connected components of truth pairs with J >= t; precision and F1 at 0.8):")
        print(fmt_table(rows))
        print("\nShare of truth pairs with at least one side removed, by true Jaccard:")
        print(fmt_bands(rows))
        print("\nFalse positives: documents removed outside every cluster at 0.8 (by their highest J with any other),\n"
              "and clusters at 0.8 removed whole (every copy gone):")
        for name, s, _ in rows:
            detail = ", ".join(f"{k}: {v}" for k, v in s["outside_by_best_jaccard"].items())
            print(f"  {name:<38} {s['removed_outside_clusters']:5d} outside ({detail or '-'}); "
                  f"{s['wiped_clusters']} clusters removed whole")
        print("  (datatrove's CPU and wall time overlap the winnow runs: it runs alongside them)")

        scores = {name: s for name, s, _ in rows}
        w = scores.get(WINNOW_EXACT)
        dt = scores[DATATROVE]
        if w:
            checks = [
                (f"winnow exact_check: recall@0.85 {w['recall@0.85']:.4f} >= {args.min_recall}", w["recall@0.85"] >= args.min_recall),
                (f"winnow exact_check: precision {w['precision']:.4f} >= {args.min_precision}", w["precision"] >= args.min_precision),
                (f"winnow exact_check: F1@0.8 {w['f1@0.8']:.4f} > datatrove's {dt['f1@0.8']:.4f}", w["f1@0.8"] > dt["f1@0.8"]),
            ]
            for text, ok in checks:
                print(f"{'PASS' if ok else 'FAIL'} {text}")
                if not ok:
                    failed.append(text)
        oracle = rows[0][1]
        if not (oracle["precision"] == oracle["recall@0.8"] == oracle["recall@0.85"] == 1.0):
            print("FAIL the scoring gives the truth itself less than 1.0")
            failed.append("scoring")
        results.update({
            "corpus": {"documents": len(ids), "mb": round(mb, 3), "truth_pairs": len(pairs),
                       "clusters@0.8": len(c8), "redundant@0.8": sum(len(c) - 1 for c in c8),
                       "clusters@0.85": len(c85), "redundant@0.85": sum(len(c) - 1 for c in c85)},
            "methods": {name: dict(s, cpu_s=job and round(job.cpu, 2), wall_s=job and round(job.wall, 2))
                        for name, s, job in rows},
            "failed": failed,
        })
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
                f.write("\n")
    finally:
        if args.keep_work:
            print(f"work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("FAILED" if failed else "all minhash parity checks passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
