"""Tests of the winnow_feed package (numpy only; the torch path when torch is importable).

    python python/tests/test_mixture.py [--installed DIR]

The datasets are written here byte by byte in Megatron's format (and as flat token files), so
that every expected sample follows from the format and the rules: Megatron-LM's blending rule
(build_blending_indices, ported below), packing of seq_len + 1 tokens with one shared token
between consecutive samples, epochs that repeat the documents in a seeded order.
"""

import json
import os
import pickle
import struct
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

failures = 0
passed = 0


def check(name, ok, detail=""):
    global failures, passed
    if ok:
        passed += 1
        print(f"PASS {name}")
    else:
        failures += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}")


def write_megatron(prefix, documents, dtype=np.uint16):
    """A Megatron dataset as megatron-core's builder writes it (one sequence per non-empty
    document; empty documents repeat the document index)."""
    code = {np.uint16: 8, np.int32: 4}[dtype]
    lengths = [len(d) for d in documents if len(d) > 0]
    itemsize = np.dtype(dtype).itemsize
    pointers = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) * itemsize if lengths else np.zeros(0, np.int64)
    doc_idx = [0]
    for d in documents:
        doc_idx.append(doc_idx[-1] + (1 if len(d) > 0 else 0))
    with open(prefix + ".idx", "wb") as f:
        f.write(b"MMIDIDX\x00\x00" + struct.pack("<Q", 1) + struct.pack("<B", code))
        f.write(struct.pack("<Q", len(lengths)) + struct.pack("<Q", len(doc_idx)))
        f.write(np.array(lengths, dtype=np.int32).tobytes())
        f.write(pointers.tobytes())
        f.write(np.array(doc_idx, dtype=np.int64).tobytes())
    with open(prefix + ".bin", "wb") as f:
        for d in documents:
            f.write(np.array(d, dtype=dtype).tobytes())


def write_tokens(prefix, tokens, vocabulary=1000):
    np.array(tokens, dtype=np.uint16).tofile(prefix + ".bin")
    with open(prefix + ".json", "w") as f:
        json.dump({"format": "winnow-tokens", "version": 1, "dtype": "uint16", "vocabulary_size": vocabulary,
                   "eot_id": 0, "documents": 1, "tokens": len(tokens), "tokenizer": "test"}, f)


def megatron_blend(weights, size):
    """Megatron-LM's build_blending_indices (helpers.cpp), in Python."""
    w = np.array(weights, dtype=np.float64)
    w = w / w.sum()
    counts = [0] * len(w)
    ds, idx = [], []
    for i in range(size):
        x = max(float(i), 1.0)
        errors = [w[d] * x - counts[d] for d in range(len(w))]
        best = 0
        for d in range(1, len(w)):
            if errors[d] > errors[best]:
                best = d
        ds.append(best)
        idx.append(counts[best])
        counts[best] += 1
    return ds, idx


def main():
    installed = None
    if "--installed" in sys.argv:
        installed = sys.argv[sys.argv.index("--installed") + 1]
        sys.path.insert(0, installed)
    else:
        sys.path.insert(0, os.path.dirname(HERE))
    import winnow_feed
    from winnow_feed import WinnowFeedError, WinnowMixture
    print(f"winnow_feed from {os.path.dirname(winnow_feed.__file__)}, library {winnow_feed.library_path()}")

    tmp = tempfile.mkdtemp(prefix="winnow-feed-test-")
    rng = np.random.default_rng(7)
    # Dataset A: 40 documents of 1..60 tokens (ids 1..999), with empty ones among them.
    docs_a = [list(rng.integers(1, 1000, size=int(rng.integers(0, 60)))) for _ in range(40)]
    docs_a[3] = []
    docs_a[17] = []
    docs_b = [list(rng.integers(1000, 2000, size=int(rng.integers(1, 30)))) for _ in range(25)]
    docs_c = [list(rng.integers(70_000, 70_100, size=int(rng.integers(1, 20)))) for _ in range(10)]
    a, b, c = (os.path.join(tmp, n) for n in "abc")
    write_megatron(a, docs_a)
    write_megatron(b, docs_b)
    write_megatron(c, docs_c, dtype=np.int32)
    flat = os.path.join(tmp, "flat")
    flat_tokens = list(rng.integers(2000, 3000, size=777))
    write_tokens(flat, flat_tokens)
    streams = {a: np.array(sum(docs_a, []), dtype=np.uint32), b: np.array(sum(docs_b, []), dtype=np.uint32),
               c: np.array(sum(docs_c, []), dtype=np.uint32), flat: np.array(flat_tokens, dtype=np.uint32)}

    def expected(paths, weights, seq_len, n, total):
        """Sample n without shuffling: Megatron's blend over `total`, then packing."""
        ds, idx = megatron_blend(weights, total)
        s = streams[paths[ds[n]]]
        start = idx[n] * seq_len
        pos = np.arange(start, start + seq_len + 1) % len(s)
        return ds[n], s[pos]

    # 1. Exact samples, blend and packing, for 4 datasets of both formats and both dtypes.
    paths = [a, b, c, flat]
    weights = [0.5, 0.2, 0.1, 0.2]
    total = 3000
    mix = WinnowMixture(list(zip(paths, weights)), seq_len=16, seed=3, total_samples=total, shuffle=False)
    out, dss = mix.samples(0, 1, total, with_datasets=True)
    bad = 0
    for n in range(total):
        d, toks = expected(paths, weights, 16, n, total)
        if d != dss[n] or not np.array_equal(toks, out[n]):
            bad += 1
    check("blend = Megatron's build_blending_indices and packing of seq_len + 1 tokens, 3000 samples", bad == 0, f"{bad} differ")
    counts = np.bincount(dss, minlength=4)
    dev = np.abs(counts - np.array(weights) * total).max()
    check("weights are met within 1 sample over 3000", dev <= 1.0, f"counts {counts.tolist()}")
    window = dss[1000:1500]
    wdev = np.abs(np.bincount(window, minlength=4) - np.array(weights) * 500).max()
    check("weights are met within 2 samples over any window of 500", wdev <= 2.0, f"{np.bincount(window, minlength=4)}")

    # 2. Determinism and resume: two handles agree; a batch at step k equals step k of a straight run.
    mix2 = WinnowMixture(list(zip(paths, weights)), seq_len=16, seed=3, total_samples=total, shuffle=False)
    check("two handles give the same samples", np.array_equal(mix2.samples(0, 1, total), out))
    ok = all(np.array_equal(mix2.batch(step=k, count=5), out[k:k + 5]) for k in (0, 1, 999, 2995))
    check("resume: a batch at any step equals that step of a straight run", ok)

    # 3. Ranks partition the stream, with no overlap and nothing skipped.
    world = 3
    per_rank = [WinnowMixture(list(zip(paths, weights)), seq_len=16, seed=3, total_samples=total, shuffle=False,
                              rank=r, world_size=world).batch(0, total // world) for r in range(world)]
    interleaved = np.empty_like(out)
    for r in range(world):
        interleaved[r::world] = per_rank[r]
    check("3 ranks' samples interleave into the global stream exactly", np.array_equal(interleaved, out))

    # 4. Shuffle: each epoch is a permutation of the documents; seeds differ; stable per seed.
    shuf = WinnowMixture([(a, 1.0)], seq_len=len(streams[a]), seed=11, shuffle=True)
    e0 = shuf.sample(0)[:-1]
    e1 = shuf.sample(1)[:-1]
    same_multiset = sorted(e0.tolist()) == sorted(streams[a].tolist()) == sorted(e1.tolist())
    check("shuffled epochs are permutations of the dataset's tokens", same_multiset)
    check("epochs are shuffled differently", not np.array_equal(e0, e1) and not np.array_equal(e0, streams[a]))
    other = WinnowMixture([(a, 1.0)], seq_len=len(streams[a]), seed=12, shuffle=True).sample(0)[:-1]
    check("another seed gives another order", not np.array_equal(other, e0))
    # Documents stay whole inside a shuffled epoch: the epoch is a concatenation of the documents.
    remaining = [tuple(d) for d in docs_a if d]
    pos, whole = 0, True
    seq = e0.tolist()
    while pos < len(seq):
        hit = next((d for d in remaining if tuple(seq[pos:pos + len(d)]) == d), None)
        if hit is None:
            whole = False
            break
        remaining.remove(hit)
        pos += len(hit)
    check("a shuffled epoch is the documents, each whole, in some order", whole and not remaining)

    # 5. Schedule: the weights change at floor(start * total_samples), and each dataset continues.
    sched = WinnowMixture([(a, 0.9), (b, 0.1)], seq_len=8, total_samples=1000, schedule=[(0.8, [0.1, 0.9])], shuffle=False)
    s_out, s_ds = sched.samples(0, 1, 1000, with_datasets=True)
    first, second = s_ds[:800], s_ds[800:]
    ds1, idx1 = megatron_blend([0.9, 0.1], 800)
    ds2, idx2 = megatron_blend([0.1, 0.9], 200)
    check("schedule: phase 1 is the blend of its weights over its 800 samples", first.tolist() == ds1)
    check("schedule: from sample 800 the second weights hold", second.tolist() == ds2)
    used_a = ds1.count(0)
    j = sched.locate(800 + ds2.index(0))
    check("schedule: a dataset resumes where the previous phase left it", j == (0, used_a), f"{j} vs (0, {used_a})")

    # 6. Errors name the problem.
    def error_of(fn):
        try:
            fn()
            return ""
        except (WinnowFeedError, ValueError) as e:
            return str(e)

    check("a missing dataset is an error naming it", "nowhere/x" in error_of(lambda: WinnowMixture(["nowhere/x"], seq_len=4)))
    trunc = os.path.join(tmp, "trunc")
    write_megatron(trunc, docs_b)
    with open(trunc + ".idx", "r+b") as f:
        f.truncate(os.path.getsize(trunc + ".idx") - 5)
    check("a truncated index is an error naming the file", "trunc.idx" in error_of(lambda: WinnowMixture([trunc], seq_len=4)))
    bad_bin = os.path.join(tmp, "badbin")
    write_megatron(bad_bin, docs_b)
    with open(bad_bin + ".bin", "ab") as f:
        f.write(b"\x00\x00")
    check("a .bin longer than its index says is an error", "badbin.bin" in error_of(lambda: WinnowMixture([bad_bin], seq_len=4)))
    check("a schedule without total_samples is refused", "total_samples" in error_of(
        lambda: WinnowMixture([a, b], seq_len=4, schedule=[(0.5, [1, 1])])))
    check("weights must match the datasets", "weights" in error_of(
        lambda: WinnowMixture([a, b], seq_len=4, total_samples=10, schedule=[(0.5, [1, 1, 1])])))
    lying = os.path.join(tmp, "lying")
    write_tokens(lying, flat_tokens)
    with open(lying + ".json") as f:
        side = json.load(f)
    side["tokens"] += 1
    with open(lying + ".json", "w") as f:
        json.dump(side, f)
    check("a token file whose sidecar disagrees with its size is an error", "lying.bin" in error_of(lambda: WinnowMixture([lying], seq_len=4)))
    garbage = os.path.join(tmp, "garbage")
    write_tokens(garbage, flat_tokens)
    with open(garbage + ".json", "w") as f:
        f.write("{not json")
    check("a damaged sidecar is an error naming it", "garbage.json" in error_of(lambda: WinnowMixture([garbage], seq_len=4)))
    empty = os.path.join(tmp, "empty")
    write_megatron(empty, [[], []])
    check("a dataset without tokens is refused", "no tokens" in error_of(lambda: WinnowMixture([empty], seq_len=4)))

    # 7. Pickling carries the configuration (DataLoader workers reopen it).
    clone = pickle.loads(pickle.dumps(mix))
    check("a pickled mixture reopens and gives the same samples", np.array_equal(clone.samples(0, 1, 50), out[:50]))

    # 7b. Online weight updates (DoReMi): logged, replayed by a copy, earlier samples unchanged.
    live = WinnowMixture(list(zip(paths, weights)), seq_len=16, seed=3, total_samples=total, shuffle=False)
    head, head_ds = live.samples(0, 1, 1000, with_datasets=True)
    flat_before = int(np.sum(head_ds == 3))
    live.update_weights(1000, [0, 0, 0, 1])
    live.update_weights(2000, [1, 1, 0, 0])
    again, again_ds = live.samples(0, 1, 3000, with_datasets=True)
    check("an update leaves earlier samples as they were", np.array_equal(again[:1000], head))
    # Megatron's rule compares weight × max(i, 1) − drawn: at a phase's sample 1 every dataset
    # ties at 0 and the first wins, so a zero-weight dataset can give that one sample.
    check("after an update the new weights hold (all flat, then a and b one to one)",
          int(np.sum(again_ds[1000:2000] != 3)) <= 1 and abs(int(np.sum(again_ds[2000:] == 0)) - int(np.sum(again_ds[2000:] == 1))) <= 1
          and set(again_ds[2000:].tolist()) == {0, 1})
    check("a dataset continues where it was after an update", live.locate(1000) == (3, flat_before))
    check("the update log is in the configuration, as the library holds it",
          live.stream_config()["updates"] == live.config["updates"] == [
              {"sample": 1000, "weights": [0.0, 0.0, 0.0, 1.0]}, {"sample": 2000, "weights": [1.0, 1.0, 0.0, 0.0]}])
    replay = pickle.loads(pickle.dumps(live))
    check("a copy (pickled, or reopened from the configuration) replays the updates",
          np.array_equal(replay.samples(0, 1, 3000), again))
    check("an update before the latest one is refused", "must come after" in error_of(lambda: live.update_weights(1500, [1, 1, 1, 1])))
    check("an update with the wrong number of weights is refused", "4 non-negative weights" in error_of(lambda: live.update_weights(2500, [1, 1])))

    # 7c. DoReMi online: the package's update, its values, and the stream taking them.
    from winnow_feed import DoReMiWeights
    dw = DoReMiWeights([1, 3])
    w = dw.update([0.7, 0.0], [3, 0])
    check("DoReMiWeights: clipped excess per domain, an absent domain keeps ln|V|, smoothing, the average",
          np.allclose(w, [0.00050836385742355, 0.99949163614257], rtol=0, atol=1e-13)
          and np.allclose(dw.average, [0.12525418192871177, 0.8747458180712884], rtol=0, atol=1e-13))
    online = WinnowMixture(list(zip(paths, weights)), seq_len=16, seed=3, total_samples=total, shuffle=False)
    dw = DoReMiWeights(weights, eta=0.5, initial_lambda=0.0)
    step = 0
    for _ in range(5):
        _, got_ds = online.batch(step, 8, with_datasets=True)
        step += 8
        # A stand-in for the proxy's excess loss: dataset 2 always hardest.
        excess = np.array([float(np.sum(got_ds == d)) * (3.0 if d == 2 else 0.5) for d in range(4)])
        online.update_weights(step, dw.update(excess, np.bincount(got_ds, minlength=4)))
    _, late = online.samples(40, 1, 200, with_datasets=True)
    check("a loop feeding DoReMi's weights to the stream shifts the draws to the hard dataset",
          np.mean(late == 2) > 0.3 and len(online.config["updates"]) == 5, f"{np.bincount(late, minlength=4)}")
    try:
        dw.update([1.0, 0, 0, 0], [0, 1, 1, 1])
        check("DoReMiWeights: an excess without tokens is refused", False)
    except ValueError:
        check("DoReMiWeights: an excess without tokens is refused", True)

    # 7b. Quad's bandit online: the same rounds as the reference port on a fixed reward stream.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "parity", "peers"))
    import quad_reference
    brng = np.random.default_rng(4)
    sizes = [int(x) for x in brng.integers(3, 60, 12)]
    clusters = [[(f"c{c}-{j}", float(brng.normal(0.004 * (c % 4) - 0.005, 0.01))) for j in range(sizes[c])] for c in range(12)]
    cents = [list(map(float, brng.normal(size=4))) for _ in range(12)]
    dist = [[quad_reference.centroid_distance(cents, i, j) for j in range(12)] for i in range(12)]
    ref_rounds, _ = quad_reference.run(clusters, cents, 3, 2, 5, 0.01, 0.5, 0.002, 15, 10**9)
    bandit = winnow_feed.QuadBandit(sizes, distances=dist, arms=3, probe_size=2, block_size=5, alpha=0.01, radius=0.5)
    got_rounds = []
    for _ in range(15):
        arms = bandit.choose()
        if not arms:
            break
        rewards = [float(np.mean([x for _, x in clusters[c][s * 2:(s + 1) * 2]])) - 0.002 for c, s in arms]
        bandit.update(arms, rewards)
        got_rounds.append((arms, rewards))
    check(f"QuadBandit online: the reference's arms and rewards in all {len(ref_rounds)} rounds",
          [r[0] for r in ref_rounds] == [r[0] for r in got_rounds] and
          all(np.allclose(a[1], b[1], rtol=0, atol=0) for a, b in zip(ref_rounds, got_rounds)))
    won = bandit.won()
    check("QuadBandit online: won blocks per cluster, as many as positive rewards",
          sum(won) == sum(1 for _, rw in got_rounds for x in rw if x > 0))
    try:
        bandit.update([(99, 0)], [0.1])
        check("QuadBandit: an arm that was not chosen is refused", False)
    except WinnowFeedError:
        check("QuadBandit: an arm that was not chosen is refused", True)
    try:
        winnow_feed.QuadBandit([])
        check("QuadBandit: no clusters is refused", False)
    except ValueError:
        check("QuadBandit: no clusters is refused", True)

    # 8. torch: DataLoader workers split a rank's stream and the loader's order is the rank's.
    try:
        import torch
    except ImportError:
        torch = None
        print("note: torch is not importable; the IterableDataset path is not exercised here")
    if torch is not None:
        from torch.utils.data import DataLoader
        ds = winnow_feed.torch_dataset(list(zip(paths, weights)), seq_len=16, seed=3, total_samples=total, shuffle=False,
                                       rank=1, world_size=2, start_step=5)
        it = iter(DataLoader(ds, batch_size=None, num_workers=2))
        got = np.stack([next(it).numpy() for _ in range(40)])
        want = mix.samples(5 * 2 + 1, 2, 40).astype(np.int64)
        check("torch: 2 DataLoader workers yield rank 1's steps 5.. in order", np.array_equal(got, want))

    print(f"{passed} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
