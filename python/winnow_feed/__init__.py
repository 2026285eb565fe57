"""Winnow's mixture stream over ctypes: packed training sequences from token datasets.

    from winnow_feed import WinnowMixture
    mix = WinnowMixture([("out/web/data", 0.7), ("out/code/data", 0.3)], seq_len=1024, seed=1)
    x = mix.sample(0)                 # numpy uint32, seq_len + 1 tokens (global sample 0)
    b = mix.batch(step=100, count=8)  # this rank's local steps 100..107, shape (8, seq_len + 1)

Sample n is the same in every process: a run resumes by asking for the step it stopped at.
Rank r of R reads global samples s * R + r for its local steps s = 0, 1, 2, ...
"""

import ctypes
import json
import math
import os

import numpy as np

__all__ = ["WinnowMixture", "WinnowFeedError", "QuadBandit", "library_path", "torch_dataset"]

_HERE = os.path.dirname(os.path.abspath(__file__))


class WinnowFeedError(RuntimeError):
    """A mixture could not be opened or read (the message names the file or setting)."""


def library_path():
    """Where libWinnowFeedC.so is: $WINNOW_FEED_LIBRARY, the copy installed with the package,
    or the repository's release build (for a checkout used in place)."""
    candidates = [
        os.environ.get("WINNOW_FEED_LIBRARY"),
        os.path.join(_HERE, "lib", "libWinnowFeedC.so"),
        os.path.join(_HERE, "..", "..", ".build", "release", "libWinnowFeedC.so"),
        os.path.join(_HERE, "..", "..", ".build", "debug", "libWinnowFeedC.so"),
    ]
    for c in candidates:
        if c and os.path.exists(c):
            return os.path.abspath(c)
    raise WinnowFeedError(
        "libWinnowFeedC.so not found: run `make release` and `pip install ./python`, "
        "or set WINNOW_FEED_LIBRARY to the library's path")


_lib = None


def _library():
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(library_path())
        lib.winnow_mixture_open.restype = ctypes.c_void_p
        lib.winnow_mixture_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.winnow_mixture_close.restype = None
        lib.winnow_mixture_close.argtypes = [ctypes.c_void_p]
        lib.winnow_mixture_sample_length.restype = ctypes.c_uint64
        lib.winnow_mixture_sample_length.argtypes = [ctypes.c_void_p]
        lib.winnow_mixture_dataset_count.restype = ctypes.c_uint64
        lib.winnow_mixture_dataset_count.argtypes = [ctypes.c_void_p]
        lib.winnow_mixture_locate.restype = ctypes.c_int64
        lib.winnow_mixture_locate.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64)]
        lib.winnow_mixture_batch.restype = ctypes.c_int
        lib.winnow_mixture_batch.argtypes = [
            ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p]
        lib.winnow_mixture_update.restype = ctypes.c_int
        lib.winnow_mixture_update.argtypes = [
            ctypes.c_void_p, ctypes.c_uint64, ctypes.POINTER(ctypes.c_double), ctypes.c_uint64, ctypes.c_char_p,
            ctypes.c_size_t]
        lib.winnow_mixture_config.restype = ctypes.c_int64
        lib.winnow_mixture_config.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.winnow_bandit_open.restype = ctypes.c_void_p
        lib.winnow_bandit_open.argtypes = [
            ctypes.POINTER(ctypes.c_uint64), ctypes.c_uint64, ctypes.POINTER(ctypes.c_double), ctypes.c_uint64,
            ctypes.c_uint64, ctypes.c_uint64, ctypes.c_double, ctypes.c_double, ctypes.c_char_p, ctypes.c_size_t]
        lib.winnow_bandit_close.restype = None
        lib.winnow_bandit_close.argtypes = [ctypes.c_void_p]
        lib.winnow_bandit_choose.restype = ctypes.c_int64
        lib.winnow_bandit_choose.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64), ctypes.c_uint64]
        lib.winnow_bandit_update.restype = ctypes.c_int
        lib.winnow_bandit_update.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64),
            ctypes.POINTER(ctypes.c_double), ctypes.c_uint64]
        lib.winnow_bandit_won.restype = ctypes.c_int64
        lib.winnow_bandit_won.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64), ctypes.c_uint64]
        lib.winnow_feed_version.restype = ctypes.c_char_p
        if lib.winnow_feed_version() != b"1":
            raise WinnowFeedError(f"{library_path()}: ABI version {lib.winnow_feed_version()!r}, this package needs 1")
        _lib = lib
    return _lib


def _config(datasets, seq_len, weights, seed, total_samples, schedule, shuffle):
    items = []
    for k, d in enumerate(datasets):
        if isinstance(d, (tuple, list)):
            path, w = d
        else:
            path, w = d, (weights[k] if weights is not None else 1.0)
        items.append({"path": os.fspath(path), "weight": float(w)})
    if weights is not None and len(weights) != len(items):
        raise ValueError(f"{len(weights)} weights for {len(items)} datasets")
    config = {"datasets": items, "seq_len": int(seq_len), "seed": int(seed), "shuffle": bool(shuffle)}
    if total_samples is not None:
        config["total_samples"] = int(total_samples)
    if schedule:
        config["schedule"] = [{"start": float(start), "weights": [float(x) for x in w]} for start, w in schedule]
    return config


class WinnowMixture:
    """A mixture of token datasets (Megatron prefixes or flat token-file prefixes).

    datasets: paths, or (path, weight) pairs; weights: one per path when not in pairs (default
    equal). seq_len: tokens per training sequence (each sample has seq_len + 1). seed: the
    epoch shuffles. total_samples: the whole run's samples (all ranks), needed by a schedule:
    [(start_fraction, weights), ...], e.g. [(0.8, [0.5, 0.5])] for the last 20 %.
    rank / world_size: this process's share (default: one process).
    """

    def __init__(self, datasets, seq_len, weights=None, seed=0, total_samples=None, schedule=None,
                 shuffle=True, rank=0, world_size=1):
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} of world_size {world_size} is out of range")
        self.config = _config(datasets, seq_len, weights, seed, total_samples, schedule, shuffle)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self._handle = None
        self._open()

    def _open(self):
        lib = _library()
        err = ctypes.create_string_buffer(4096)
        h = lib.winnow_mixture_open(json.dumps(self.config).encode(), err, len(err))
        if not h:
            raise WinnowFeedError(err.value.decode(errors="replace"))
        self._handle = h
        self.sample_length = int(lib.winnow_mixture_sample_length(h))
        self.seq_len = self.sample_length - 1
        self.dataset_count = int(lib.winnow_mixture_dataset_count(h))

    # A handle is per process: pickling (DataLoader workers) carries the configuration only.
    def __getstate__(self):
        return {"config": self.config, "rank": self.rank, "world_size": self.world_size}

    def __setstate__(self, state):
        self.config = state["config"]
        self.rank = state["rank"]
        self.world_size = state["world_size"]
        self._handle = None
        self._open()

    def close(self):
        if self._handle:
            _library().winnow_mixture_close(self._handle)
            self._handle = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def samples(self, first, stride, count, with_datasets=False):
        """Global samples first + k * stride for k < count: a (count, seq_len + 1) uint32 array
        (and each sample's dataset index, with with_datasets)."""
        if count < 0 or first < 0 or stride < 1:
            raise ValueError("count and first must not be negative, stride must be positive")
        out = np.empty((count, self.sample_length), dtype=np.uint32)
        ds = np.empty(count, dtype=np.int32)
        rc = _library().winnow_mixture_batch(
            self._handle, first, stride, count, out.ctypes.data_as(ctypes.c_void_p), ds.ctypes.data_as(ctypes.c_void_p))
        if rc != 0:
            raise WinnowFeedError(f"bad sample range (first {first}, stride {stride}, count {count})")
        return (out, ds) if with_datasets else out

    def update_weights(self, sample, weights):
        """New weights from global sample `sample` on (a step boundary: for rank-interleaved
        steps, the first global sample of the next step is step * world_size), e.g. DoReMi's
        domain weights after each update. Earlier samples are unchanged; each dataset continues
        where it was. The update is logged in self.config["updates"], so a copy of this object
        (a pickled one in a DataLoader worker, a resumed run) draws the same samples; a
        DataLoader's worker processes see updates made after they started only when their
        iterator is created again."""
        w = (ctypes.c_double * len(weights))(*[float(x) for x in weights])
        err = ctypes.create_string_buffer(4096)
        if _library().winnow_mixture_update(self._handle, int(sample), w, len(weights), err, len(err)) != 0:
            raise WinnowFeedError(err.value.decode(errors="replace"))
        self.config.setdefault("updates", []).append({"sample": int(sample), "weights": [float(x) for x in weights]})

    def stream_config(self):
        """The configuration as the stream holds it (the update log included), from the library."""
        lib = _library()
        n = lib.winnow_mixture_config(self._handle, None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        lib.winnow_mixture_config(self._handle, buf, n + 1)
        return json.loads(buf.value.decode())

    def sample(self, n):
        """Global sample n."""
        return self.samples(n, 1, 1)[0]

    def batch(self, step, count, with_datasets=False):
        """This rank's local steps step .. step + count - 1."""
        return self.samples(step * self.world_size + self.rank, self.world_size, count, with_datasets)

    def locate(self, n):
        """(dataset index, index among that dataset's samples) of global sample n."""
        j = ctypes.c_uint64()
        d = _library().winnow_mixture_locate(self._handle, n, ctypes.byref(j))
        if d < 0:
            raise WinnowFeedError(f"bad sample index {n}")
        return int(d), int(j.value)

    def iterate(self, start_step=0, chunk=64):
        """This rank's samples from local step start_step on, one array at a time."""
        step = start_step
        while True:
            block = self.batch(step, chunk)
            for row in block:
                yield row
            step += chunk


class QuadBandit:
    """Quad's cluster bandit (Zhang et al. 2025) for online selection, the one bandit_select
    runs offline: clusters are arms of an upper-confidence-bound bandit. Each round, `choose()`
    gives the arms as (cluster, sampled) pairs — measure each cluster on its probe documents
    (window `sampled` of `probe_size` documents), then `update(arms, rewards)` with the mean
    influence minus an offset (Quad: 0.002). `won()` is each cluster's number of won blocks of
    `block_size` documents: draw the next training samples from those clusters, for example by
    `WinnowMixture.update_weights(won)` on a mixture whose datasets are the clusters.

        bandit = QuadBandit(sizes, distances=centroid_distances, arms=50)
        arms = bandit.choose()
        bandit.update(arms, [influence(c, s) - 0.002 for c, s in arms])
    """

    def __init__(self, sizes, distances=None, arms=50, probe_size=10, block_size=20000, alpha=1e-4, radius=0.2):
        sizes = [int(x) for x in sizes]
        n = len(sizes)
        if n == 0 or any(x < 0 for x in sizes):
            raise ValueError("sizes must be one non-negative count per cluster")
        size_array = (ctypes.c_uint64 * n)(*sizes)
        dist = None
        if distances is not None:
            flat = [float(x) for row in distances for x in row]
            if len(flat) != n * n:
                raise ValueError(f"distances must be a {n} x {n} matrix")
            dist = (ctypes.c_double * (n * n))(*flat)
        err = ctypes.create_string_buffer(512)
        self._handle = _library().winnow_bandit_open(size_array, n, dist, int(arms), int(probe_size), int(block_size),
                                                     float(alpha), float(radius), err, len(err))
        if not self._handle:
            raise WinnowFeedError(err.value.decode(errors="replace"))
        self.clusters = n
        self.arms = min(int(arms), n)

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            _library().winnow_bandit_close(handle)
            self._handle = None

    def choose(self):
        """The next round's arms, [(cluster, sampled), ...]; empty when the clusters ran out."""
        c = (ctypes.c_uint64 * self.arms)()
        s = (ctypes.c_uint64 * self.arms)()
        k = _library().winnow_bandit_choose(self._handle, c, s, self.arms)
        if k < 0:
            raise WinnowFeedError("winnow_bandit_choose failed")
        return [(int(c[i]), int(s[i])) for i in range(k)]

    def update(self, arms, rewards):
        """Reports one reward per arm of the last `choose()`, in its order."""
        if len(arms) != len(rewards):
            raise ValueError(f"{len(rewards)} rewards for {len(arms)} arms")
        n = len(arms)
        c = (ctypes.c_uint64 * n)(*[a[0] for a in arms])
        s = (ctypes.c_uint64 * n)(*[a[1] for a in arms])
        r = (ctypes.c_double * n)(*[float(x) for x in rewards])
        if _library().winnow_bandit_update(self._handle, c, s, r, n) != 0:
            raise WinnowFeedError("winnow_bandit_update: arms that are not the last round's, or a reward that is not finite")

    def won(self):
        """Blocks won by each cluster so far."""
        out = (ctypes.c_uint64 * self.clusters)()
        _library().winnow_bandit_won(self._handle, out, self.clusters)
        return [int(x) for x in out]


class DoReMiWeights:
    """DoReMi's online domain weights (Xie et al. 2023), for a training loop that feeds a
    WinnowMixture: after each optimizer step, pass each domain's sum of clipped excess loss
    (max(proxy token loss - reference token loss, 0), summed over the step's tokens of that
    domain) and its token count; `update` returns the new weights, to hand to
    `WinnowMixture.update_weights` at the next step boundary. `average` is DoReMi's result.
    The arithmetic is `winnow mixture doremi`'s (and the reference's update_domain_weights):

        lambda_i = excess_sum_i / tokens_i   (kept from the last step when tokens_i == 0;
                                              initial_lambda, default ln(vocab_size), before)
        alpha    = (1 - c) * softmax(log alpha + eta * lambda) + c / k
        average  = (average * (t - 1) + alpha) / t,   t = 2, 3, ...
    """

    def __init__(self, initial_weights, eta=1.0, smoothing=1e-3, initial_lambda=None, vocab_size=50277):
        w = np.asarray(initial_weights, dtype=np.float64)
        if w.ndim != 1 or len(w) == 0 or np.any(~np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("initial_weights must be positive numbers")
        if not eta > 0 or not 0 <= smoothing <= 1:
            raise ValueError("need eta > 0 and 0 <= smoothing <= 1")
        self.weights = w / w.sum()
        self.average = self.weights.copy()
        lam = math.log(vocab_size) if initial_lambda is None else float(initial_lambda)
        self.lambdas = np.full(len(w), lam)
        self.eta = float(eta)
        self.smoothing = float(smoothing)
        self.counter = 1

    def update(self, excess_sum, tokens):
        k = len(self.weights)
        excess_sum = np.asarray(excess_sum, dtype=np.float64)
        tokens = np.asarray(tokens)
        if excess_sum.shape != (k,) or tokens.shape != (k,):
            raise ValueError(f"need {k} excess sums and {k} token counts")
        if np.any(tokens < 0) or np.any(excess_sum < 0) or np.any((tokens == 0) & (excess_sum != 0)):
            raise ValueError("token counts and excess sums must not be negative; a domain without tokens has no excess")
        present = tokens > 0
        self.lambdas[present] = excess_sum[present] / tokens[present]
        v = np.log(self.weights) + self.eta * self.lambdas
        top = v.max()
        lse = top + math.log(float(np.sum(np.exp(v - top))))
        self.weights = (1 - self.smoothing) * np.exp(v - lse) + self.smoothing / k
        self.counter += 1
        t = float(self.counter)
        self.average = (self.average * (t - 1) + self.weights) / t
        return self.weights.copy()


def torch_dataset(datasets, seq_len, weights=None, seed=0, total_samples=None, schedule=None, shuffle=True,
                  rank=None, world_size=None, start_step=0, dtype="int64"):
    """A torch IterableDataset over the mixture, yielding 1-D tensors of seq_len + 1 tokens.

    rank / world_size default to torch.distributed's when it is initialised (else 0 / 1). With
    DataLoader workers, worker w of W takes this rank's local steps start_step + w, + w + W, ...,
    so the loader's round-robin over workers yields the rank's steps in order, whatever W is.
    start_step resumes the rank's stream (count the samples the rank consumed)."""
    import torch
    from torch.utils.data import IterableDataset, get_worker_info

    class WinnowMixtureDataset(IterableDataset):
        def __init__(self):
            super().__init__()
            r, ws = rank, world_size
            if r is None or ws is None:
                if torch.distributed.is_available() and torch.distributed.is_initialized():
                    r = torch.distributed.get_rank() if r is None else r
                    ws = torch.distributed.get_world_size() if ws is None else ws
                else:
                    r, ws = r or 0, ws or 1
            self.rank, self.world_size = int(r), int(ws)
            self.config = _config(datasets, seq_len, weights, seed, total_samples, schedule, shuffle)

        def __iter__(self):
            info = get_worker_info()
            worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
            mix = WinnowMixture.__new__(WinnowMixture)
            mix.__setstate__({"config": self.config, "rank": self.rank, "world_size": self.world_size})
            torch_dtype = getattr(torch, dtype)
            step = start_step + worker
            chunk = 32
            while True:
                # Rank-local steps step, step + W, ...: global (s * R + r).
                block = mix.samples(step * self.world_size + self.rank, self.world_size * workers, chunk)
                for row in block:
                    yield torch.from_numpy(row.astype(np.int64 if dtype == "int64" else np.int32)).to(torch_dtype)
                step += chunk * workers

    return WinnowMixtureDataset()
