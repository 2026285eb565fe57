#!/usr/bin/env python3
"""Winnow benchmarks: Winnow side by side with its peers, on the same input, in the same run.

    python3 Benchmarks/run_all.py --winnow .build-static/release/winnow     # everything
    python3 Benchmarks/run_all.py --winnow ... --only foundation            # one benchmark
    python3 Benchmarks/run_all.py --winnow ... --quick                      # ~20 MB smoke run

Needs only the Python 3 standard library and the `zstd` command-line tool.

The corpus is generated on first use under bench-data/ at the repository root (ignored by
git, removed by `make clean`) from the real texts in Samples/web/, and reused while its stamp
file matches the generator version, the parameters and the samples. See Benchmarks/README.md
for what each benchmark measures and how to read the ratios.

Adding a benchmark: write `def bench_NAME(ctx: Context) -> list[Result]` that runs commands
through `measure` / `compare`, prints with `print_table`, and returns its results, then
register it in BENCHMARKS. Results land in the --json file and in the final summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import random
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "Samples" / "web"
BENCH_DATA = ROOT / "bench-data"

# Bump whenever the corpus generator changes what it writes: cached corpora are rebuilt.
GENERATOR_VERSION = 1
SEED = 20240601
MB = 1_000_000  # tables report decimal megabytes (10^6 bytes)


# --------------------------------------------------------------------------------------------
# Corpus generation


@dataclasses.dataclass(frozen=True)
class CorpusSpec:
    name: str            # directory under bench-data/
    target_bytes: int    # uncompressed JSONL bytes, at least
    shards: int
    level: int = 3       # zstd level of the input shards


FULL_CORPUS = CorpusSpec("corpus", 220 * MB, 8)     # 220 MB = 210 MiB
QUICK_CORPUS = CorpusSpec("corpus-quick", 20 * MB, 4)


@dataclasses.dataclass(frozen=True)
class Corpus:
    dir: Path
    shards: list[Path]
    bytes: int           # uncompressed
    compressed_bytes: int
    lines: int
    sha256: str          # of the concatenated uncompressed shards, in shard order


# Real web text has the odd emoji; the Debian samples have none (4-byte UTF-8 -> surrogate
# pairs in JSON parsers that decode to UTF-16).
EMOJI = ["🙂", "👍", "🎉", "🚀", "❤️", "✅", "😂", "🔥", "📦", "🐧"]
DUMPS = ["CC-MAIN-2023-40", "CC-MAIN-2023-50", "CC-MAIN-2024-10", "CC-MAIN-2024-18", "CC-MAIN-2024-33"]
FLAGS = ["short_lines", "many_digits", "boilerplate", "list_heavy", "code", "caps"]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _zstd_version() -> str:
    out = subprocess.run(["zstd", "-V"], capture_output=True, text=True, check=True).stdout
    return out.strip()


def _sample_files() -> list[Path]:
    files = sorted(SAMPLES.glob("*.jsonl.zst"))
    if not files:
        sys.exit(f"run_all.py: no samples in {SAMPLES} (make samples)")
    return files


def _load_samples() -> list[dict]:
    """The sample documents, in file order, each with its paragraphs and their UTF-8 sizes."""
    docs = []
    for path in _sample_files():
        data = subprocess.run(["zstd", "-dcq", str(path)], capture_output=True, check=True).stdout
        for line in data.decode("utf-8").splitlines():
            d = json.loads(line)
            paras = [p for p in d["text"].split("\n\n") if p.strip()]
            if not paras:
                continue
            docs.append({
                "id": d["id"], "url": d["url"], "lang": d["lang"], "source": d["source"],
                "package": d.get("meta", {}).get("package", ""),
                "paras": [(p, len(p.encode("utf-8"))) for p in paras],
            })
    return docs


def _truncate(text: str, nbytes: int, max_bytes: int) -> str:
    """Cuts `text` (nbytes of UTF-8) to about max_bytes, at a space when there is one."""
    keep = max(1, int(len(text) * max_bytes / nbytes))
    cut = text[:keep]
    sp = cut.rfind(" ")
    return cut[:sp] if sp > keep // 2 else cut


def _make_text(rng: random.Random, base: dict, same_lang: list[dict]) -> tuple[str, int]:
    """A document text of a random (log-normal) size: runs of consecutive paragraphs, the
    first run from `base`, later runs from other documents of the same language."""
    target = min(120_000, max(120, int(rng.lognormvariate(math.log(2400), 1.05))))
    parts: list[str] = []
    size = 0
    src = base
    runs = 0
    done = False
    while size < target and not done and runs < 400:
        paras = src["paras"]
        j = rng.randrange(len(paras))
        run = rng.randint(1, 8)
        runs += 1
        for p, n in paras[j:j + run]:
            if size + n > target * 1.5 and size + n > 400:
                if parts:  # the next paragraph would overshoot: the document ends here
                    done = True
                    break
                p = _truncate(p, n, target)
                n = len(p.encode("utf-8"))
            if rng.random() < 0.03:  # a table-like paragraph: column gaps become tabs
                p = "\t".join(s for s in p.split("  ") if s)
            parts.append(p)
            size += n + 2
            if size >= target:
                break
        src = rng.choice(same_lang)
    if rng.random() < 0.02:
        k = rng.randrange(len(parts))
        parts[k] = parts[k] + " " + rng.choice(EMOJI)
    text = "\n\n".join(parts)
    if rng.random() < 0.01:  # Windows line endings
        text = text.replace("\n", "\r\n")
    return text, runs


def _make_doc(rng: random.Random, n: int, docs: list[dict], by_lang: dict[str, list[dict]]) -> str:
    base = rng.choice(docs)
    text, runs = _make_text(rng, base, by_lang[base["lang"]])
    host = base["url"].split("/")[2] if base["url"].count("/") >= 2 else "www.example.org"
    slug = base["id"].replace(".", "-")
    tb = len(text.encode("utf-8"))
    quality = {
        "lang_score": round(rng.uniform(0.55, 1.0), 4),
        "perplexity": round(rng.lognormvariate(math.log(250), 0.6), 1),
        "flags": rng.sample(FLAGS, k=rng.choice([0, 0, 0, 1, 1, 2])),
    }
    doc = {
        "id": f"bench-{n:08d}-{rng.getrandbits(32):08x}",
        "text": text,
        "url": f"https://{host}/{base['lang']}/{slug}/{n}?page={rng.randint(1, 9)}",
        "lang": base["lang"],
        "source": base["source"],
        "meta": {
            "package": base["package"],
            "dump": rng.choice(DUMPS),
            "date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                    f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
            "bytes": tb,
            "segments": runs,
            "origin": base["id"],
            "quality": quality,
        },
    }
    return json.dumps(doc, ensure_ascii=False)


def _stamp_for(spec: CorpusSpec) -> dict:
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": SEED,
        "spec": dataclasses.asdict(spec),
        "samples": {p.name: _file_sha256(p) for p in _sample_files()},
        "zstd": _zstd_version(),
    }


def _stamp_path(spec: CorpusSpec) -> Path:
    return BENCH_DATA / f"{spec.name}.stamp.json"


def _cached_corpus(spec: CorpusSpec, want: dict) -> Corpus | None:
    try:
        stamp = json.loads(_stamp_path(spec).read_text())
    except (OSError, ValueError):
        return None
    if stamp.get("inputs") != want:
        return None
    d = BENCH_DATA / spec.name
    shards = [d / name for name in stamp["shards"]]
    if sorted(p.name for p in d.glob("*.jsonl.zst")) != stamp["shards"]:
        return None
    if sum(p.stat().st_size for p in shards) != stamp["compressed_bytes"]:
        return None
    return Corpus(d, shards, stamp["bytes"], stamp["compressed_bytes"], stamp["lines"], stamp["sha256"])


def ensure_corpus(spec: CorpusSpec, log=print) -> Corpus:
    """The corpus for `spec`, generated unless a matching one is cached."""
    want = _stamp_for(spec)
    cached = _cached_corpus(spec, want)
    if cached:
        return cached
    log(f"generating {spec.name}: {spec.target_bytes / MB:.0f} MB of JSONL in {spec.shards} zstd -{spec.level} shards "
        f"from {SAMPLES.relative_to(ROOT)} (generator v{GENERATOR_VERSION}) ...")
    t0 = time.perf_counter()
    docs = _load_samples()
    by_lang: dict[str, list[dict]] = {}
    for d in docs:
        by_lang.setdefault(d["lang"], []).append(d)
    rng = random.Random(SEED)

    BENCH_DATA.mkdir(exist_ok=True)
    final = BENCH_DATA / spec.name
    tmp = BENCH_DATA / f".{spec.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    _stamp_path(spec).unlink(missing_ok=True)

    total = hashlib.sha256()
    per_shard = math.ceil(spec.target_bytes / spec.shards)
    written = lines = 0
    procs: list[subprocess.Popen] = []
    names = []
    n = 0
    for k in range(spec.shards):
        name = f"part-{k:05d}.jsonl.zst"
        names.append(name)
        # zstd compresses shard k on the other core while Python generates shard k+1.
        p = subprocess.Popen(["zstd", f"-{spec.level}", "-q", "-f", "-o", str(tmp / name)], stdin=subprocess.PIPE)
        procs.append(p)
        shard_bytes = 0
        buf: list[bytes] = []
        buf_bytes = 0
        while shard_bytes < per_shard:
            b = (_make_doc(rng, n, docs, by_lang) + "\n").encode("utf-8")
            n += 1
            buf.append(b)
            buf_bytes += len(b)
            shard_bytes += len(b)
            if buf_bytes >= 1 << 20:
                chunk = b"".join(buf)
                total.update(chunk)
                p.stdin.write(chunk)
                buf, buf_bytes = [], 0
        chunk = b"".join(buf)
        total.update(chunk)
        p.stdin.write(chunk)
        p.stdin.close()
        written += shard_bytes
        lines = n
    for p in procs:
        if p.wait() != 0:
            sys.exit(f"run_all.py: zstd failed while writing {tmp}")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    shards = [final / name for name in names]
    comp = sum(p.stat().st_size for p in shards)
    stamp = {"inputs": want, "shards": names, "bytes": written, "compressed_bytes": comp, "lines": lines,
             "sha256": total.hexdigest(), "seconds": round(time.perf_counter() - t0, 1)}
    _stamp_path(spec).write_text(json.dumps(stamp, indent=2) + "\n")
    log(f"  {lines:,} documents, {written / MB:.1f} MB -> {comp / MB:.1f} MB compressed in {stamp['seconds']} s")
    return Corpus(final, shards, written, comp, lines, stamp["sha256"])


def decompressed_digest(files: Sequence[Path]) -> tuple[int, str]:
    """(bytes, sha256) of the concatenation of the decompressed files, in the given order."""
    h = hashlib.sha256()
    n = 0
    p = subprocess.Popen(["zstd", "-dcq", *map(str, files)], stdout=subprocess.PIPE)
    for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
        h.update(chunk)
        n += len(chunk)
    if p.wait() != 0:
        raise RuntimeError(f"zstd -dc failed on {', '.join(map(str, files))}")
    return n, h.hexdigest()


# --------------------------------------------------------------------------------------------
# Measuring


@dataclasses.dataclass
class Measurement:
    user: float
    sys: float
    wall: float
    maxrss_kb: int       # the largest resident set of any process in the tree

    @property
    def cpu(self) -> float:
        return self.user + self.sys


def measure(cmd, *, stdout=None) -> Measurement:
    """Runs `cmd` and returns the CPU time (user + sys) of its whole process tree, its wall
    time and the peak RSS. CPU comes from os.wait4 on the child, which includes every
    descendant the child waited for (bash waits for all members of a pipeline); it is checked
    against the RUSAGE_CHILDREN delta. Raises on a non-zero exit."""
    if isinstance(cmd, str):
        argv = ["bash", "-o", "pipefail", "-c", cmd]
    else:
        argv = list(map(str, cmd))
    with tempfile.TemporaryFile() as err:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout if stdout is not None else subprocess.DEVNULL,
                             stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            err.seek(0)
            msg = err.read().decode("utf-8", "replace")[-2000:]
            raise RuntimeError(f"command failed (exit {p.returncode}): {_show(cmd)}\n{msg}")
    m = Measurement(ru.ru_utime, ru.ru_stime, wall, ru.ru_maxrss)
    delta = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if abs(delta - m.cpu) > 0.05 + 0.01 * m.cpu:
        print(f"  warning: wait4 CPU {m.cpu:.3f} s != RUSAGE_CHILDREN delta {delta:.3f} s for {_show(cmd)}")
    return m


def _show(cmd) -> str:
    if isinstance(cmd, str):
        return cmd
    return " ".join(shlex.quote(str(c)) for c in cmd)


@dataclasses.dataclass
class Variant:
    """One command of a comparison. `setup` runs before every run (unmeasured), `check` after
    it (unmeasured; raise or return a message to fail)."""
    name: str
    cmd: object
    setup: Callable[[], None] | None = None
    check: Callable[[], str | None] | None = None


@dataclasses.dataclass
class Result:
    name: str
    mb: float                      # uncompressed MB processed
    runs: list[Measurement]
    cmd: str = ""

    def _med(self, f) -> float:
        return statistics.median(f(m) for m in self.runs)

    @property
    def cpu(self) -> float:
        return self._med(lambda m: m.cpu)

    @property
    def wall(self) -> float:
        return self._med(lambda m: m.wall)

    @property
    def sys(self) -> float:
        return self._med(lambda m: m.sys)

    @property
    def maxrss_mb(self) -> float:
        return max(m.maxrss_kb for m in self.runs) / 1024

    @property
    def cpu_spread(self) -> float:
        cpus = [m.cpu for m in self.runs]
        return (max(cpus) - min(cpus)) / 2

    def as_json(self) -> dict:
        return {"name": self.name, "cmd": self.cmd, "mb": self.mb, "cpu_s": self.cpu, "wall_s": self.wall,
                "maxrss_mb": self.maxrss_mb, "runs": [dataclasses.asdict(m) for m in self.runs]}


def compare(variants: Sequence[Variant], mb: float, runs: int, log=print) -> dict[str, Result]:
    """Runs every variant `runs` times, alternating the order (forward, backward, …) so that
    warm-up and background load hit every variant alike; returns each variant's result."""
    out = {v.name: Result(v.name, mb, [], _show(v.cmd)) for v in variants}
    for r in range(runs):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for v in order:
            if v.setup:
                v.setup()
            m = measure(v.cmd)
            if v.check:
                msg = v.check()
                if msg:
                    raise RuntimeError(f"{v.name}: output check failed: {msg}")
            out[v.name].runs.append(m)
            log(f"  run {r + 1}/{runs} {v.name:<34} cpu {m.cpu:7.2f} s  wall {m.wall:7.2f} s  rss {m.maxrss_kb / 1024:7.1f} MB")
    return out


def print_table(title: str, results: Sequence[Result], baseline: Result | None = None) -> None:
    """A table of results: MB, median CPU (± half the range) and its system part, median wall, MB per CPU-second,
    MB per wall-second, peak RSS, and the CPU ratio to `baseline` when given."""
    print()
    print(title)
    head = (f"  {'command':<34} {'MB':>7} {'CPU s':>13} {'(sys)':>6} {'wall s':>7} {'MB/CPU-s':>9} {'MB/s wall':>9}"
            f" {'RSS MB':>7}")
    if baseline:
        head += f" {'CPU ratio':>9}"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in results:
        cpu = f"{r.cpu:.2f} ±{r.cpu_spread:.2f}"
        line = (f"  {r.name:<34} {r.mb:7.1f} {cpu:>13} {r.sys:6.2f} {r.wall:7.2f} {r.mb / r.cpu:9.1f} {r.mb / r.wall:9.1f}"
                f" {r.maxrss_mb:7.1f}")
        if baseline:
            line += f" {r.cpu / baseline.cpu:9.2f}"
        print(line)


def ratio_checks(a: Result, b: Result) -> str:
    """Cross-checks for the CPU ratio a/b on a noisy machine: the median of the ratios of runs
    taken back to back (compare() alternates, so run k of a and of b are neighbours), and the
    ratio of the fastest runs (background load only ever adds CPU time)."""
    pairs = [x.cpu / y.cpu for x, y in zip(a.runs, b.runs)]
    best = min(m.cpu for m in a.runs) / min(m.cpu for m in b.runs)
    return (f"ratio cross-checks: median of back-to-back pairs {statistics.median(pairs):.2f} "
            f"(range {min(pairs):.2f}-{max(pairs):.2f}), fastest/fastest {best:.2f}")


@dataclasses.dataclass
class Target:
    name: str
    value: float
    limit: float
    higher_is_better: bool = False

    @property
    def ok(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def __str__(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        return f"{self.name} = {self.value:.2f} (target {sign} {self.limit:.2f}): {'OK' if self.ok else 'MISSED'}"


# --------------------------------------------------------------------------------------------
# Benchmarks


@dataclasses.dataclass
class Context:
    winnow: Path
    corpus: Corpus
    work: Path           # scratch directory for outputs, emptied afterwards
    runs: int
    breakdown: bool
    targets: list[Target] = dataclasses.field(default_factory=list)
    results: dict[str, list[Result]] = dataclasses.field(default_factory=dict)


def bench_foundation(ctx: Context) -> list[Result]:
    """Benchmark A: `winnow cat` (read zstd, validate JSON, pick out text and id, write zstd -3
    shards) against `zstd -dc | zstd -3`, the floor for any tool that recompresses."""
    c = ctx.corpus
    mb = c.bytes / MB
    shards = " ".join(shlex.quote(str(p)) for p in c.shards)
    wout = ctx.work / "winnow-cat"
    zout = ctx.work / "zstd-pipe.jsonl.zst"

    def clear_winnow():
        shutil.rmtree(wout, ignore_errors=True)

    def check_winnow():
        files = sorted(wout.glob("part-*.jsonl.zst"))
        if not files:
            return "no shards written"
        n, digest = decompressed_digest(files)
        if (n, digest) != (c.bytes, c.sha256):
            return f"{len(files)} shard(s) decompress to {n} bytes sha256 {digest[:16]}…, input is {c.bytes} bytes {c.sha256[:16]}…"
        return None

    def check_zstd():
        n, digest = decompressed_digest([zout])
        if (n, digest) != (c.bytes, c.sha256):
            return f"decompresses to {n} bytes, input is {c.bytes}"
        return None

    variants = [
        Variant("winnow cat -> zstd -3 shards",
                [ctx.winnow, "cat", "--no-progress", c.dir, "-o", f"{wout}/"], clear_winnow, check_winnow),
        Variant("zstd -dc | zstd -3",
                f"zstd -dcq {shards} | zstd -3 -q -c > {shlex.quote(str(zout))}", None, check_zstd),
    ]
    print(f"\n== foundation: {mb:.1f} MB, {c.lines:,} documents in {len(c.shards)} shards; {ctx.runs} runs each, alternating ==")
    res = compare(variants, mb, ctx.runs)
    w, z = res[variants[0].name], res[variants[1].name]
    wsize = sum(p.stat().st_size for p in wout.glob("part-*.jsonl.zst"))
    nshards = len(list(wout.glob("part-*.jsonl.zst")))
    zsize = zout.stat().st_size
    results = [w, z]
    print_table("Benchmark A (foundation): recompress the corpus; medians; CPU = user+sys of the process tree",
                results, baseline=z)
    print(f"  output: winnow {nshards} shard(s) {wsize / MB:.1f} MB, zstd {zsize / MB:.1f} MB "
          f"(both decompress to the input: {c.bytes:,} bytes, sha256 {c.sha256[:16]}…)")
    print(f"  winnow peak RSS: {w.maxrss_mb:.1f} MB (zstd pipeline: {z.maxrss_mb:.1f} MB, largest process)")
    print(f"  {ratio_checks(w, z)}")
    t = Target("foundation: winnow_cpu / zstd_cpu", w.cpu / z.cpu, 1.25)
    ctx.targets.append(t)
    print(f"  {t}")

    if ctx.breakdown:
        # Where winnow's CPU goes: the same reads without compression, and zstd's halves.
        variants = [
            # Standard output, which measure() points at /dev/null: no file system work at all.
            Variant("winnow cat -> stdout (no zstd)",
                    [ctx.winnow, "cat", "--no-progress", c.dir, "-o", "-", "--compression", "none"]),
            Variant("zstd -dc > /dev/null", f"zstd -dcq {shards} > /dev/null"),
            # The CLI's default -T1 compresses in ZSTDMT jobs (output ~3% larger); winnow, like
            # --single-thread, streams one context. Same bytes out as winnow: the like-for-like floor.
            Variant("zstd -dc | zstd -3 --single-thread",
                    f"zstd -dcq {shards} | zstd -3 -q --single-thread -c > {shlex.quote(str(zout))}"),
        ]
        print(f"\n-- foundation breakdown: decompression + JSON vs compression --")
        b = compare(variants, mb, ctx.runs)
        wn, zd, zs = (b[v.name] for v in variants)
        zssize = zout.stat().st_size
        results += [wn, zd, zs]
        print_table("Breakdown (same corpus; medians)", [w, wn, z, zs, zd])
        print(f"  output: zstd --single-thread {zssize / MB:.1f} MB; "
              f"winnow_cpu / single-thread-pipeline cpu = {w.cpu / zs.cpu:.2f} (informational)")
        rows = [
            ("decompress (= zstd -dc)", zd.cpu, zd.cpu),
            ("JSON, lines, writes (winnow -> stdout - zstd -dc)", wn.cpu - zd.cpu, 0.0),
            ("compress level 3 (CLI: + the pipe, mostly sys time)", w.cpu - wn.cpu, z.cpu - zd.cpu),
        ]
        print(f"\n  {'derived CPU seconds':<54} {'winnow':>8} {'zstd CLI':>9}")
        for name, wv, zv in rows:
            print(f"  {name:<54} {wv:8.2f} {zv:9.2f}")
        print(f"  {'total':<54} {w.cpu:8.2f} {z.cpu:9.2f}")
        json_cpu = max(wn.cpu - zd.cpu, 1e-9)
        print(f"  winnow's own work: {mb / json_cpu:.0f} MB per CPU-second; it is {json_cpu / w.cpu:.0%} of winnow's CPU "
              f"and {json_cpu / z.cpu:.0%} of the zstd pipeline's (the ratio's headroom is 25%)")
    shutil.rmtree(wout, ignore_errors=True)
    zout.unlink(missing_ok=True)
    return results


def bench_local_executor(ctx: Context) -> list[Result]:
    """Benchmark B: the same filter recipe with the local executor at 1 and 2 workers; the
    speed-up is the ratio of wall times (the corpus has 8 shards, so 8 tasks)."""
    c = ctx.corpus
    mb = c.bytes / MB
    recipe = ctx.work / "local-speedup.yaml"
    recipe.write_text(
        "name: local-speedup\n"
        f"input: {{paths: [{json.dumps(str(c.dir))}]}}\n"
        f"output: {{path: {json.dumps(str(ctx.work / 'local-out'))}}}\n"
        "stages:\n"
        "  - length: {min_words: 50, max_words: 100000}\n"
        "  - field: {key: lang, not_in: [xx]}\n"
        "  - sample: {rate: 0.9}\n")
    digests: dict[str, str] = {}

    def variant(workers: int) -> Variant:
        name = f"winnow run --executor local --workers {workers}"

        def check():
            files = sorted((ctx.work / "local-out").glob("part-*.jsonl.zst"))
            digests[name] = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
            return None if files else "no shards written"
        return Variant(name, [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress", "--executor", "local",
                              "--workers", str(workers)], None, check)

    variants = [variant(1), variant(2)]
    print(f"\n== local executor: {mb:.1f} MB in {len(c.shards)} shards, 1 vs 2 workers; {ctx.runs} runs each ==")
    res = compare(variants, mb, ctx.runs)
    one, two = res[variants[0].name], res[variants[1].name]
    print_table("Benchmark B (local executor): filter recipe; medians", [one, two], baseline=one)
    same = len(set(digests.values())) == 1
    print(f"  output shards identical for 1 and 2 workers: {'yes' if same else 'NO'}")
    if not same:
        raise RuntimeError("local executor: output differs between 1 and 2 workers")
    t = Target("local executor: wall(1 worker) / wall(2 workers)", one.wall / two.wall, 1.8, higher_is_better=True)
    ctx.targets.append(t)
    print(f"  {t}  (cores: {os.cpu_count()})")
    shutil.rmtree(ctx.work / "local-out", ignore_errors=True)
    return [one, two]


def bench_global_cost(ctx: Context) -> list[Result]:
    """Benchmark G: what a global stage adds to the stages before it. FineWeb's four-filter
    chain as a recipe, alone and followed by `exact_dedup` (inline executor, same corpus). The
    stream reaching the global stage is written once, so the chain runs once either way; the
    ratio is the global stage's own work plus writing and reading that stream."""
    c = ctx.corpus
    mb = c.bytes / MB
    chain = ("  - gopher_repetition: {}\n  - gopher_quality: {}\n  - c4_quality: {filter_no_terminal_punct: false}\n"
             "  - fineweb_quality: {}\n")
    variants = []
    for name, stages in [("chain", chain), ("chain + exact_dedup", chain + "  - exact_dedup: {}\n")]:
        slug = name.replace(" + ", "-")
        recipe = ctx.work / f"global-{slug}.yaml"
        out = ctx.work / f"global-{slug}"
        recipe.write_text(
            f"name: global-{slug}\n"
            f"input: {{paths: [{json.dumps(str(c.dir))}]}}\n"
            f"output: {{path: {json.dumps(str(out))}}}\n"
            f"stages:\n{stages}")
        variants.append(Variant(f"winnow run: {name}", [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress",
                                                        "--executor", "inline"], None, None))
    print(f"\n== global stage cost: {mb:.1f} MB in {len(c.shards)} shards, inline; {ctx.runs} runs each ==")
    res = compare(variants, mb, ctx.runs)
    alone, dedup = res[variants[0].name], res[variants[1].name]
    print_table("Benchmark G (global stage cost): filter chain alone and followed by exact_dedup; medians",
                [alone, dedup], baseline=alone)
    print("  " + ratio_checks(dedup, alone))
    t = Target("global stage cost: CPU(chain + exact_dedup) / CPU(chain)", dedup.cpu / alone.cpu, 1.2)
    ctx.targets.append(t)
    print(f"  {t}")
    for v in ("chain", "chain-exact_dedup"):
        shutil.rmtree(ctx.work / f"global-{v}", ignore_errors=True)
    return [alone, dedup]


DATATROVE_CHAIN = """
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

src, out, logs = sys.argv[1:4]
LocalPipelineExecutor(
    pipeline=[
        JsonlReader(src, glob_pattern="*.jsonl"),
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
        JsonlWriter(out, compression=None),
    ],
    tasks=1, workers=1, logging_dir=logs,
).run()
"""


def bench_quality(ctx: Context) -> list[Result]:
    """Benchmark C: FineWeb's four-filter chain (gopher_repetition, gopher_quality, c4_quality
    without the terminal-punctuation rule, fineweb_quality; defaults) over the same real
    multilingual corpus (Debian man pages and documentation, >= 50 MB of JSON) in winnow run
    (one process) and in datatrove 0.10.1 (LocalPipelineExecutor, one task, one worker, JSONL
    reader and writer), side by side. Documents per second of each and their ratio."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from peers import peer_python
    python = peer_python()
    qdir = BENCH_DATA / "quality"
    corpus = qdir / "corpus.jsonl"
    if not corpus.exists():
        qdir.mkdir(parents=True, exist_ok=True)
        z = qdir / "corpus.jsonl.zst"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make-quality-corpus.py"), "--per-locale", "600",
                        "--docs", "1000000", "--min-mb", "55", "--out", str(z)], check=True)
        with open(corpus, "wb") as f:
            subprocess.run(["zstd", "-dcq", str(z)], stdout=f, check=True)
    mb = corpus.stat().st_size / MB
    with open(corpus, "rb") as f:
        docs = sum(1 for _ in f)
    wout = ctx.work / "quality-winnow"
    recipe = ctx.work / "quality.yaml"
    recipe.write_text(
        "name: quality-bench\n"
        f"input: {{paths: [{json.dumps(str(corpus))}]}}\n"
        f"output: {{path: {json.dumps(str(wout))}, compression: none}}\n"
        "stages:\n"
        "  - gopher_repetition: {}\n"
        "  - gopher_quality: {}\n"
        "  - c4_quality: {filter_no_terminal_punct: false}\n"
        "  - fineweb_quality: {}\n")
    script = ctx.work / "datatrove_chain.py"
    script.write_text(DATATROVE_CHAIN)
    dout, dlogs = ctx.work / "quality-datatrove", ctx.work / "quality-datatrove-logs"

    def kept(d: Path) -> int:
        n = 0
        for f in d.glob("*.jsonl"):
            with open(f, "rb") as fh:
                n += sum(1 for _ in fh)
        return n

    print(f"\n== quality: FineWeb's filter chain on {mb:.1f} MB, {docs:,} documents of real text; "
          f"winnow {ctx.runs} runs, datatrove 1 run ==")
    res = compare([Variant("winnow run (inline, 1 process)",
                           [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress", "--executor", "inline"])],
                  mb, ctx.runs)
    w = res["winnow run (inline, 1 process)"]
    shutil.rmtree(dout, ignore_errors=True)
    shutil.rmtree(dlogs, ignore_errors=True)
    m = measure([python, str(script), str(corpus.parent), str(dout), str(dlogs)])
    d = Result("datatrove (1 task, 1 worker)", mb, [m], f"{python} {script}")
    print(f"  run 1/1 {d.name:<34} cpu {m.cpu:7.2f} s  wall {m.wall:7.2f} s  rss {m.maxrss_kb / 1024:7.1f} MB")
    print_table("Benchmark C (quality filters): medians; CPU = user+sys", [w, d], baseline=d)
    wk, dk = kept(wout), kept(dout)
    print(f"  documents kept: winnow {wk:,}, datatrove {dk:,} ({'same' if wk == dk else 'DIFFERENT'})")
    w_rate, d_rate = docs / w.cpu, docs / d.cpu
    print(f"  documents per CPU-second: winnow {w_rate:,.0f}, datatrove {d_rate:,.1f}; "
          f"MB per CPU-second: winnow {mb / w.cpu:.1f}, datatrove {mb / d.cpu:.2f}")
    t = Target("quality chain: winnow docs/s / datatrove docs/s (one core)", w_rate / d_rate, 100, higher_is_better=True)
    ctx.targets.append(t)
    print(f"  {t}")
    shutil.rmtree(wout, ignore_errors=True)
    shutil.rmtree(dout, ignore_errors=True)
    return [w, d]


# --------------------------------------------------------------------------------------------
# MinHash


MINHASH_VERSION = 1          # bump when the MinHash corpora's generators change what they write
MINHASH_RECIPE = """name: {name}
executor: inline
input: {{paths: [{input}]}}
output: {{path: {out}, compression: none}}
stages:
  - minhash_dedup: {{}}
"""


def _edit_words(text: str, share: float, rng: random.Random) -> str:
    """Replaces about `share` of the words of `text` by other words of the same text."""
    parts = re.split(r"(\s+)", text)
    words = [i for i in range(0, len(parts), 2) if parts[i]]
    if not words:
        return text
    for i in rng.sample(words, max(1, round(len(words) * share))):
        parts[i] = parts[rng.choice(words)] + rng.choice(["", "s", "ed", "-x"])
    return "".join(parts)


def _in_child(fn, *args) -> None:
    """Runs fn(*args) in a forked child and waits for it. Corpus generators that hold a lot in
    memory run this way: Linux carries a process's peak RSS over fork and exec into every
    child it starts later, so a big benchmark process would inflate the RSS measured of the
    commands it runs."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn(*args)
            code = 0
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"corpus generator {fn.__name__} failed")


def _rss_floor() -> str:
    mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"(RSS floor: this script's own peak, {mb:.0f} MB, is what any command it starts reports at least)"


def _minhash_stamp(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def minhash_corpus(ctx: Context, log=print) -> tuple[Path, dict]:
    """bench-data/minhash/corpus.jsonl (minhash-quick/ with --quick): documents of the
    benchmark corpus (in order, until a quarter of its bytes), with planted duplicates of a
    quarter of them: a third exact copies, a third with 1 % of their words replaced (Jaccard of
    5-grams ~0.9), a third with 2.5 % (~0.8); all shuffled. The corpus's documents share
    paragraphs, so a few natural near duplicates may come on top."""
    d = BENCH_DATA / ("minhash" + ctx.corpus.dir.name.removeprefix("corpus"))   # minhash/, minhash-quick/
    path = d / "corpus.jsonl"
    want = {"version": MINHASH_VERSION, "seed": SEED, "source": ctx.corpus.sha256, "share": 0.25}

    def cached():
        stamp = _minhash_stamp(d / "stamp.json")
        ok = stamp and stamp.get("inputs") == want and path.exists() and path.stat().st_size == stamp["bytes"]
        return stamp if ok else None
    if not cached():
        log(f"generating {path.relative_to(ROOT)} from {ctx.corpus.dir.relative_to(ROOT)} ...")
        _in_child(_write_minhash_corpus, ctx.corpus, d, path, want, log)
    stamp = cached()
    if not stamp:
        raise RuntimeError(f"{path} was not generated")
    return path, stamp


def _write_minhash_corpus(source: Corpus, d: Path, path: Path, want: dict, log) -> None:
    t0 = time.perf_counter()
    rng = random.Random(SEED + 1)
    budget = source.bytes // 4
    docs: list[dict] = []
    size = 0
    p = subprocess.Popen(["zstd", "-dcq", *map(str, source.shards)], stdout=subprocess.PIPE)
    for line in p.stdout:
        if size >= budget:
            break
        docs.append(json.loads(line))
        size += len(line)
    p.kill()
    p.wait()
    planted = {"exact": 0, "words-1%": 0, "words-2.5%": 0}
    variants = []
    for doc in docs:
        if rng.random() >= 0.25:
            continue
        kind = rng.choice(list(planted))
        v = dict(doc)
        v["id"] = f"{doc['id']}-{kind}"
        if kind != "exact":
            v["text"] = _edit_words(doc["text"], 0.01 if kind == "words-1%" else 0.025, rng)
        planted[kind] += 1
        variants.append(v)
    lines = [json.dumps(x, ensure_ascii=False) + "\n" for x in docs + variants]
    rng.shuffle(lines)
    d.mkdir(parents=True, exist_ok=True)
    data = "".join(lines).encode("utf-8")
    tmp = d / "corpus.jsonl.tmp"
    tmp.write_bytes(data)
    tmp.rename(path)
    stamp = {"inputs": want, "bytes": len(data), "documents": len(lines), "base": len(docs), "planted": planted,
             "seconds": round(time.perf_counter() - t0, 1)}
    (d / "stamp.json").write_text(json.dumps(stamp, indent=2) + "\n")
    log(f"  {len(lines):,} documents ({sum(planted.values()):,} planted duplicates), {len(data) / MB:.1f} MB "
        f"in {stamp['seconds']} s")


def _kept_lines(d: Path) -> int:
    n = 0
    for f in d.glob("*.jsonl"):
        with open(f, "rb") as fh:
            n += sum(1 for _ in fh)
    return n


def bench_minhash(ctx: Context) -> list[Result]:
    """Benchmark D: MinHash near-duplicate removal at defaults on one core: `winnow run` with
    `minhash_dedup: {}` (inline executor) and datatrove 0.10.1's four MinHash stages
    (Tests/parity/peers/datatrove_minhash.py: signatures, buckets, clusters, filter; one task
    and one worker each, except the 14 bucket tasks, run one after the other) on the same
    JSONL file. CPU time, peak RSS and documents removed of each, and the ratio."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from peers import peer_python
    python = peer_python()
    corpus, stamp = minhash_corpus(ctx)
    mb = corpus.stat().st_size / MB
    docs = stamp["documents"]
    wout = ctx.work / "minhash-winnow"
    recipe = ctx.work / "minhash.yaml"
    recipe.write_text(MINHASH_RECIPE.format(name="minhash-bench", input=json.dumps(str(corpus)), out=json.dumps(str(wout))))
    dwork = ctx.work / "minhash-datatrove"
    script = ROOT / "Tests" / "parity" / "peers" / "datatrove_minhash.py"

    print(f"\n== minhash: near-duplicate removal at defaults on {mb:.1f} MB, {docs:,} documents "
          f"({sum(stamp['planted'].values()):,} planted duplicates: "
          f"{', '.join(f'{k} {v:,}' for k, v in stamp['planted'].items())}); winnow {ctx.runs} runs, datatrove 1 run ==")
    name = "winnow run (inline, 1 process)"
    res = compare([Variant(name, [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress"])], mb, ctx.runs)
    w = res[name]
    shutil.rmtree(dwork, ignore_errors=True)
    m = measure([python, str(script), str(corpus.parent), corpus.name, str(dwork)])
    d = Result("datatrove (1 core, 4 stages)", mb, [m], f"{python} {script}")
    print(f"  run 1/1 {d.name:<34} cpu {m.cpu:7.2f} s  wall {m.wall:7.2f} s  rss {m.maxrss_kb / 1024:7.1f} MB")
    print_table("Benchmark D (minhash): medians; CPU = user+sys", [w, d], baseline=d)
    wk, dk = _kept_lines(wout), _kept_lines(dwork / "kept")
    print(f"  documents removed: winnow {docs - wk:,}, datatrove {docs - dk:,} (planted: {sum(stamp['planted'].values()):,}, "
          f"a third of them at Jaccard ~0.8)")
    print(f"  documents per CPU-second: winnow {docs / w.cpu:,.0f}, datatrove {docs / d.cpu:,.0f}; "
          f"datatrove CPU / winnow CPU = {d.cpu / w.cpu:.1f}; peak RSS winnow {w.maxrss_mb:.0f} MB, datatrove {d.maxrss_mb:.0f} MB")
    print(f"  {_rss_floor()}")
    shutil.rmtree(wout, ignore_errors=True)
    shutil.rmtree(dwork, ignore_errors=True)
    return [w, d]


MEMORY_DOCS = 1_000_000
MEMORY_SHARDS = 8


def minhash_memory_corpus(log=print) -> tuple[Path, dict]:
    """bench-data/minhash-memory/: 1,000,000 short documents (300-600 bytes of text) in 8 zstd
    shards. Texts are runs of 4-12 consecutive words cut from the real texts of Samples/web,
    strung together, so documents share phrases (and some 5-grams) as real text does without
    being near duplicates; then 3 % are exact copies of an earlier document and 3 % copies with
    1-3 words replaced."""
    d = BENCH_DATA / "minhash-memory"
    want = {"version": MINHASH_VERSION, "seed": SEED, "docs": MEMORY_DOCS, "shards": MEMORY_SHARDS,
            "samples": {p.name: _file_sha256(p) for p in _sample_files()}}
    names = [f"part-{k:05d}.jsonl.zst" for k in range(MEMORY_SHARDS)]

    def cached():
        stamp = _minhash_stamp(d / "stamp.json")
        ok = stamp and stamp.get("inputs") == want and all((d / n).exists() for n in names) \
            and sum((d / n).stat().st_size for n in names) == stamp["compressed_bytes"]
        return stamp if ok else None
    if not cached():
        log(f"generating {d.relative_to(ROOT)}/: {MEMORY_DOCS:,} short documents in {MEMORY_SHARDS} zstd shards ...")
        _in_child(_write_minhash_memory_corpus, d, names, want, log)
    stamp = cached()
    if not stamp:
        raise RuntimeError(f"{d} was not generated")
    return d, stamp


def _write_minhash_memory_corpus(d: Path, names: list[str], want: dict, log) -> None:
    t0 = time.perf_counter()
    rng = random.Random(SEED + 2)
    words = []
    for doc in _load_samples():
        for p, _ in doc["paras"]:
            words.extend(p.split())
    phrases = []
    for _ in range(300_000):
        i = rng.randrange(len(words) - 12)
        phrases.append(" ".join(words[i:i + rng.randint(4, 12)]))
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    per = MEMORY_DOCS // MEMORY_SHARDS
    recent: list[str] = []
    exact = near = 0
    written = 0
    for k, name in enumerate(names):
        lines = []
        for n in range(k * per, (k + 1) * per):
            r = rng.random()
            if r < 0.03 and recent:
                text = rng.choice(recent)
                exact += 1
            elif r < 0.06 and recent:
                parts = rng.choice(recent).split(" ")
                for _ in range(rng.randint(1, 3)):
                    parts[rng.randrange(len(parts))] = rng.choice(phrases).split(" ")[0]
                text = " ".join(parts)
                near += 1
            else:
                target = rng.randint(300, 600)
                out, size = [], 0
                while size < target:
                    ph = rng.choice(phrases)
                    out.append(ph)
                    size += len(ph.encode("utf-8")) + 1
                text = " ".join(out)
                if len(recent) < 50_000:
                    recent.append(text)
                else:
                    recent[rng.randrange(len(recent))] = text
            lines.append(json.dumps({"id": f"mem-{n:07d}", "text": text}, ensure_ascii=False) + "\n")
        data = "".join(lines).encode("utf-8")
        written += len(data)
        subprocess.run(["zstd", "-3", "-q", "-f", "-o", str(d / name)], input=data, check=True)
    comp = sum((d / n).stat().st_size for n in names)
    stamp = {"inputs": want, "bytes": written, "compressed_bytes": comp, "documents": MEMORY_DOCS,
             "planted": {"exact": exact, "words-1-3": near}, "seconds": round(time.perf_counter() - t0, 1)}
    (d / "stamp.json").write_text(json.dumps(stamp, indent=2) + "\n")
    log(f"  {MEMORY_DOCS:,} documents, {written / MB:.1f} MB -> {comp / MB:.1f} MB compressed in {stamp['seconds']} s")


def bench_minhash_memory(ctx: Context) -> list[Result]:
    """Benchmark E: winnow's memory on many small documents: `minhash_dedup: {}` at defaults
    (inline executor, one process) over 1,000,000 short documents in 8 shards (8 map tasks).
    Peak RSS, CPU and wall time, documents removed; no peer."""
    d, stamp = minhash_memory_corpus()
    mb = stamp["bytes"] / MB
    wout = ctx.work / "minhash-memory-winnow"
    recipe = ctx.work / "minhash-memory.yaml"
    recipe.write_text(MINHASH_RECIPE.format(name="minhash-memory", input=json.dumps(str(d)), out=json.dumps(str(wout))))
    planted = sum(stamp["planted"].values())
    print(f"\n== minhash-memory: minhash_dedup at defaults on {stamp['documents']:,} short documents, {mb:.1f} MB "
          f"in {MEMORY_SHARDS} shards ({planted:,} planted duplicates); {ctx.runs} runs ==")
    name = "winnow run (inline, 1 process)"
    w = compare([Variant(name, [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress"])], mb, ctx.runs)[name]
    print_table("Benchmark E (minhash memory): medians; CPU = user+sys", [w])
    kept = _kept_lines(wout)
    print(f"  documents removed: {stamp['documents'] - kept:,} (planted: {planted:,}); "
          f"peak RSS {w.maxrss_mb:.0f} MB; {stamp['documents'] / w.cpu:,.0f} documents per CPU-second")
    print(f"  {_rss_floor()}")
    shutil.rmtree(wout, ignore_errors=True)
    return [w]


# --------------------------------------------------------------------------------------------
# fastText


FASTTEXT_VERSION = 1         # bump when the fastText data's generator changes what it writes
# (training, test) lines: the first documents of the benchmark corpus, in order, train; the
# next ones test. Training (5 epochs) is what takes long: the C++ CLI needs 2-3 ms per line
# without subwords and ~10 ms with them, so 1,500 lines keep the whole benchmark at about two
# minutes of CPU (--quick: 300 lines, 40 s). Prediction costs 0.15-1.5 ms per line and
# loading a model up to 0.1 s, so the test file is the larger one: with a 20 % split the
# loading would dominate.
FASTTEXT_LINES = {"corpus": (1500, 3000), "corpus-quick": (300, 600)}
FASTTEXT_MAX_CHARS = 3000
# (name, flags) of the models; every training also gets the common flags below.
FASTTEXT_MODELS = [
    ("bigrams", ["-wordNgrams", "2"]),
    ("hs", ["-loss", "hs"]),
    ("ova", ["-loss", "ova"]),
    ("subwords", ["-minn", "2", "-maxn", "4"]),
]
FASTTEXT_COMMON = ["-thread", "1", "-dim", "32", "-verbose", "0", "-bucket", "200000"]
FASTTEXT_QUANTIZE = ["-cutoff", "20000", "-retrain", "-qnorm", "-thread", "1"]   # on the subwords model


def fasttext_data(ctx: Context, log=print) -> tuple[Path, Path, dict]:
    """bench-data/fasttext/{train,test}.txt (fasttext-quick/ with --quick): documents of the
    benchmark corpus, in order, one line each: `__label__<lang> ` and the text with every run
    of whitespace made one space, cut to 3,000 characters. The first FASTTEXT_LINES[0] lines
    train, the next FASTTEXT_LINES[1] test. Rebuilt when the corpus or the parameters change."""
    d = BENCH_DATA / ("fasttext" + ctx.corpus.dir.name.removeprefix("corpus"))   # fasttext/, fasttext-quick/
    ntrain, ntest = FASTTEXT_LINES[ctx.corpus.dir.name]
    want = {"version": FASTTEXT_VERSION, "source": ctx.corpus.sha256, "train": ntrain, "test": ntest,
            "max_chars": FASTTEXT_MAX_CHARS}
    train, test = d / "train.txt", d / "test.txt"

    def cached():
        stamp = _minhash_stamp(d / "stamp.json")
        ok = stamp and stamp.get("inputs") == want and all(
            p.exists() and p.stat().st_size == stamp[p.stem]["bytes"] for p in (train, test))
        return stamp if ok else None
    if not cached():
        log(f"generating {d.relative_to(ROOT)}/train.txt and test.txt from the first {ntrain + ntest:,} documents of "
            f"{ctx.corpus.dir.relative_to(ROOT)} ...")
        _in_child(_write_fasttext_data, ctx.corpus, d, want)
    stamp = cached()
    if not stamp:
        raise RuntimeError(f"{d} was not generated")
    return train, test, stamp


def _write_fasttext_data(source: Corpus, d: Path, want: dict) -> None:
    lines = []
    p = subprocess.Popen(["zstd", "-dcq", *map(str, source.shards)], stdout=subprocess.PIPE)
    for line in p.stdout:
        doc = json.loads(line)
        lines.append(f"__label__{doc['lang']} " + " ".join(doc["text"].split())[:FASTTEXT_MAX_CHARS] + "\n")
        if len(lines) == want["train"] + want["test"]:
            break
    p.kill()
    p.wait()
    if len(lines) < want["train"] + want["test"]:
        raise RuntimeError(f"{source.dir} has {len(lines)} documents, fewer than {want['train'] + want['test']}")
    d.mkdir(parents=True, exist_ok=True)
    stamp = {"inputs": want}
    for path, part in ((d / "train.txt", lines[:want["train"]]), (d / "test.txt", lines[want["train"]:])):
        data = "".join(part).encode("utf-8")
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.rename(path)
        stamp[path.stem] = {"bytes": len(data), "lines": len(part), "sha256": hashlib.sha256(data).hexdigest(),
                            "labels": len({l.split(" ", 1)[0] for l in part})}
    (d / "stamp.json").write_text(json.dumps(stamp, indent=2) + "\n")


def _first_words(path: Path) -> list[bytes]:
    """The first space-separated word of every line (the label, in the test file and in
    predict-prob's output), read line by line (this process's peak RSS is every child's floor)."""
    with open(path, "rb") as f:
        return [line.split(b" ", 1)[0].rstrip(b"\n") for line in f]


def _fasttext_quantized(ft: str, source_bin: Path, train: Path, work: Path) -> Path:
    """The quantized subwords model: the C++ CLI's `fasttext quantize … -retrain` of
    `source_bin`, unmeasured (~20 s, mostly the product quantizer's k-means). Cached next to
    the data, keyed by the SHA-256 of the .bin and of the training file (with one thread,
    fastText's training and quantization are deterministic)."""
    cache = train.parent / "subwords.ftz"
    key = {"bin_sha256": _file_sha256(source_bin), "input_sha256": _file_sha256(train), "flags": FASTTEXT_QUANTIZE}
    meta = train.parent / "subwords.ftz.json"
    if cache.exists() and _minhash_stamp(meta) == key | {"bytes": cache.stat().st_size}:
        return cache
    prefix = work / "ft-quantize"
    shutil.copyfile(source_bin, prefix.with_suffix(".bin"))
    t0 = time.perf_counter()
    subprocess.run([ft, "quantize", "-output", str(prefix), "-input", str(train), *FASTTEXT_QUANTIZE],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"  quantized the subwords model in {time.perf_counter() - t0:.0f} s (cached in {cache.relative_to(ROOT)})")
    shutil.copyfile(prefix.with_suffix(".ftz"), cache)
    for ext in (".bin", ".ftz"):
        prefix.with_suffix(ext).unlink(missing_ok=True)
    meta.write_text(json.dumps(key | {"bytes": cache.stat().st_size}, indent=2) + "\n")
    return cache


def _same_file(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and _file_sha256(a) == _file_sha256(b)


def bench_fasttext(ctx: Context) -> list[Result]:
    """fastText supervised training and predict-prob: `winnow fasttext` against the C++ fastText
    0.9.2 CLI (Debian package `fasttext`), one thread, same files, same run. Training: four
    models (softmax with bigrams, hs, ova, subwords), `(runs + 1) // 2` runs per side; the
    .bin and .vec files must be byte-identical. Prediction: predict-prob k=1 with each model and
    a quantized one, `runs` runs per side; the outputs must be byte-identical. CPU time of each
    and C++ / winnow (> 1: winnow is faster)."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from fasttext_parity import fasttext_cli
    try:
        ft = fasttext_cli()          # installs the Debian package when missing (as root)
    except (SystemExit, subprocess.CalledProcessError, OSError):
        ft = None
    if not ft:
        print("\n== fasttext: skipped: the C++ fastText CLI is missing (apt-get install fasttext) ==")
        return []
    ft_version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "fasttext"], capture_output=True,
                                text=True).stdout.strip() if shutil.which("dpkg-query") else ""
    train, test, stamp = fasttext_data(ctx)
    tr, te = stamp["train"], stamp["test"]
    train_mb, test_mb = tr["bytes"] / MB, te["bytes"] / MB
    train_runs = (ctx.runs + 1) // 2
    print(f"\n== fasttext: winnow fasttext vs C++ fastText {ft_version or '(version unknown)'} ({ft}); "
          f"{tr['lines']:,} training lines ({train_mb:.1f} MB), {te['lines']:,} test lines ({test_mb:.1f} MB), "
          f"{tr['labels']} labels; training {train_runs} runs each, prediction {ctx.runs} runs each, alternating ==")
    print(f"  common flags: {' '.join(FASTTEXT_COMMON)}; "
          + "; ".join(f"{name}: {' '.join(flags)}" for name, flags in FASTTEXT_MODELS)
          + f"; quantized: fasttext quantize {' '.join(FASTTEXT_QUANTIZE)} of the subwords model")

    # Training. Each side writes its own prefix; after every run the .bin and .vec must equal
    # the other side's (from this run or the previous one: both are deterministic).
    train_results: list[tuple[str, Result, Result]] = []
    for name, flags in FASTTEXT_MODELS:
        args = ["supervised", "-input", str(train), *FASTTEXT_COMMON, *flags]
        cpp_prefix, win_prefix = ctx.work / f"ft-cpp-{name}", ctx.work / f"ft-winnow-{name}"

        def files(prefix):
            return [prefix.with_suffix(".bin"), prefix.with_suffix(".vec")]

        def setup(prefix):
            return lambda: [p.unlink(missing_ok=True) for p in files(prefix)]

        def check(mine, other):
            def run():
                for a, b in zip(files(mine), files(other)):
                    if not a.exists():
                        return f"{a.name} not written"
                    if b.exists() and not _same_file(a, b):
                        return f"{a.name} ({a.stat().st_size:,} bytes) differs from {b.name} ({b.stat().st_size:,} bytes)"
                return None
            return run
        variants = [
            Variant(f"fasttext supervised {name}", [ft, *args, "-output", cpp_prefix],
                    setup(cpp_prefix), check(cpp_prefix, win_prefix)),
            Variant(f"winnow supervised {name}", [ctx.winnow, "fasttext", *args, "-output", win_prefix],
                    setup(win_prefix), check(win_prefix, cpp_prefix)),
        ]
        res = compare(variants, train_mb, train_runs)
        train_results.append((name, res[variants[0].name], res[variants[1].name]))
        for p in files(win_prefix):
            p.unlink(missing_ok=True)

    print_table("fastText training (supervised, 1 thread): medians; CPU = user+sys; MB = training file",
                [r for _, c, w in train_results for r in (c, w)])
    print(f"\n  {'model':<10} {'C++ CPU s':>10} {'winnow CPU s':>13} {'C++/winnow':>11}   .bin and .vec")
    for name, c, w in train_results:
        print(f"  {name:<10} {c.cpu:10.2f} {w.cpu:13.2f} {c.cpu / w.cpu:11.2f}   identical")
    for name, c, w in train_results:
        print(f"  {name}: {ratio_checks(c, w)}")
    for name, c, w in train_results:
        t = Target(f"fasttext train {name}: C++ CPU / winnow CPU", c.cpu / w.cpu, 1 / 1.5, higher_is_better=True)
        ctx.targets.append(t)
        print(f"  {t}")

    # Prediction with the C++-trained models (the same files as winnow's) and a quantized one.
    models = [(name, ctx.work / f"ft-cpp-{name}.bin") for name, _ in FASTTEXT_MODELS]
    models.append(("quantized", _fasttext_quantized(ft, ctx.work / "ft-cpp-subwords.bin", train, ctx.work)))
    labels = _first_words(test)
    predict_results: list[tuple[str, Result, Result, float]] = []
    for name, model in models:
        outs = {"cpp": ctx.work / "ft-predict-cpp.txt", "winnow": ctx.work / "ft-predict-winnow.txt"}

        def check(mine, other):
            def run():
                a, b = outs[mine], outs[other]
                n = a.read_bytes().count(b"\n")
                if n != te["lines"]:
                    return f"{n} lines of output for {te['lines']} test lines"
                if b.exists() and not _same_file(a, b):
                    return "output differs from the other side's"
                return None
            return run

        def setup(side):
            return lambda: outs[side].unlink(missing_ok=True)
        q = shlex.quote
        variants = [
            Variant(f"fasttext predict-prob {name}", f"{q(ft)} predict-prob {q(str(model))} {q(str(test))} 1 > {q(str(outs['cpp']))}",
                    setup("cpp"), check("cpp", "winnow")),
            Variant(f"winnow predict-prob {name}",
                    f"{q(str(ctx.winnow))} fasttext predict-prob {q(str(model))} {q(str(test))} 1 > {q(str(outs['winnow']))}",
                    setup("winnow"), check("winnow", "cpp")),
        ]
        res = compare(variants, test_mb, ctx.runs)
        got = _first_words(outs["cpp"])
        precision = sum(a == b for a, b in zip(got, labels)) / len(labels)
        predict_results.append((name, res[variants[0].name], res[variants[1].name], precision))
        for p in outs.values():
            p.unlink(missing_ok=True)
    for name, _ in FASTTEXT_MODELS:
        for ext in (".bin", ".vec"):
            (ctx.work / f"ft-cpp-{name}{ext}").unlink(missing_ok=True)

    print_table("fastText predict-prob k=1 (1 thread): medians; CPU = user+sys, model loading included; MB = test file",
                [r for _, c, w, _ in predict_results for r in (c, w)])
    lines = te["lines"]
    print(f"\n  {'model':<14} {'C++ CPU s':>10} {'winnow CPU s':>13} {'C++ lines/s':>12} {'winnow lines/s':>15} "
          f"{'C++/winnow':>11} {'P@1':>6}   output")
    for name, c, w, precision in predict_results:
        print(f"  {name:<14} {c.cpu:10.3f} {w.cpu:13.3f} {lines / c.cpu:12,.0f} {lines / w.cpu:15,.0f} "
              f"{c.cpu / w.cpu:11.2f} {precision:6.3f}   identical")
    print("  (P@1: share of test lines whose predicted label is the document's language; the models see little data)")
    print(f"  {_rss_floor()}")
    for name, c, w, _ in predict_results:
        print(f"  {name}: {ratio_checks(c, w)}")
    for name, c, w, _ in predict_results:
        t = Target(f"fasttext predict-prob {name}: winnow lines/s / C++ lines/s", c.cpu / w.cpu, 1.0,
                   higher_is_better=True)
        ctx.targets.append(t)
        print(f"  {t}")
    return [r for _, c, w in train_results for r in (c, w)] + [r for _, c, w, _ in predict_results for r in (c, w)]


DSIR_RECIPE = """name: {name}
executor: inline
seed: 1
input: {{paths: {inputs}}}
output: {{path: {out}, compression: none}}
stages:
  - dsir_select: {{targets: [{target}], num_to_sample: {num}, method: gumbel, seed: {seed}}}
"""
DSIR_SOURCES = ["Samples/web/part-0000{}.jsonl.zst".format(k) for k in range(5)] + ["Samples/quality/corpus.jsonl.zst"]
DSIR_TARGET = "Samples/select/docs-target.jsonl.zst"


def bench_dsir(ctx: Context) -> list[Result]:
    """Benchmark F: DSIR end to end (fit + weights + selection of 1,000 documents by seeded
    Gumbel top-k toward Samples/select/docs-target) on real text, one core each:
    `winnow run` with `dsir_select` (inline) against data-selection 1.0.3's HashedNgramDSIR
    (Tests/parity/peers/dsir_pipeline.py, num_proc=1, fit on all tokens). The pool is the
    bundled samples as they are, without repeats: Samples/web (524 long documents: man pages
    in 24 languages, licences, Debian docs) and Samples/quality (3,653 documents: web-like
    pages, READMEs, release notes, documentation), uncompressed JSONL read by both. Both must
    select the same documents."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from peers import dsir_python
    python = dsir_python()
    d = BENCH_DATA / "dsir"
    d.mkdir(parents=True, exist_ok=True)
    raw = []
    for k, src in enumerate(DSIR_SOURCES):
        dst = d / f"raw-{k}.jsonl"
        if not dst.exists() or dst.stat().st_mtime < (ROOT / src).stat().st_mtime:
            subprocess.run(["zstd", "-dcqf", str(ROOT / src), "-o", str(dst)], check=True)
        raw.append(dst)
    target = d / "target.jsonl"
    if not target.exists() or target.stat().st_mtime < (ROOT / DSIR_TARGET).stat().st_mtime:
        subprocess.run(["zstd", "-dcqf", str(ROOT / DSIR_TARGET), "-o", str(target)], check=True)
    mb = sum(p.stat().st_size for p in raw) / MB
    docs = sum(1 for p in raw for _ in open(p, "rb"))
    num, seed = 1000, 5
    wout = ctx.work / "dsir-winnow"
    recipe = ctx.work / "dsir.yaml"
    recipe.write_text(DSIR_RECIPE.format(name="dsir-bench", inputs=json.dumps([str(p) for p in raw]), out=json.dumps(str(wout)),
                                         target=json.dumps(str(target)), num=num, seed=seed))
    rout = ctx.work / "dsir-reference"
    script = ROOT / "Tests" / "parity" / "peers" / "dsir_pipeline.py"

    print(f"\n== dsir: DSIR end to end (fit + weights + Gumbel selection of {num:,}) on {mb:.1f} MB, {docs:,} documents "
          f"(Samples/web + Samples/quality); winnow {ctx.runs} runs, data-selection 1 run ==")
    name = "winnow run dsir_select (inline)"
    res = compare([Variant(name, [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress"],
                           setup=lambda: shutil.rmtree(wout, ignore_errors=True))], mb, ctx.runs)
    w = res[name]
    shutil.rmtree(rout, ignore_errors=True)
    m = measure([python, str(script), str(rout), str(num), str(seed), str(target), *map(str, raw)])
    r = Result("data-selection (num_proc=1)", mb, [m], f"{python} {script}")
    print(f"  run 1/1 {r.name:<34} cpu {m.cpu:7.2f} s  wall {m.wall:7.2f} s  rss {m.maxrss_kb / 1024:7.1f} MB")
    print_table("Benchmark F (dsir): medians; CPU = user+sys", [w, r], baseline=r)
    ours = [json.loads(l)["id"] for p in sorted(wout.glob("part-*.jsonl")) for l in open(p, encoding="utf-8") if l.strip()]
    theirs = (rout / "ids.txt").read_text(encoding="utf-8").split()
    same = ours == theirs
    print(f"  selected: winnow {len(ours):,}, data-selection {len(theirs):,}: {'identical, in order' if same else 'DIFFERENT'}")
    print(f"  MB per CPU-second: winnow {mb / w.cpu:.2f}, data-selection {mb / r.cpu:.2f}; "
          f"data-selection CPU / winnow CPU = {r.cpu / w.cpu:.1f}")
    t = Target("dsir end to end: data-selection CPU / winnow CPU", r.cpu / w.cpu, 30.0, higher_is_better=True)
    ctx.targets.append(t)
    print(f"  {t}")
    shutil.rmtree(wout, ignore_errors=True)
    shutil.rmtree(rout, ignore_errors=True)
    if not same:
        raise RuntimeError("dsir: winnow and data-selection selected different documents")
    return [w, r]


TOKENIZE_MODELS = [("gpt2-12k.json", None, "tokenizers"), ("llama3-70k.json", None, "tokenizers"),
                   ("mistral-4k.json", None, "tokenizers"),
                   ("cl100k-style.tiktoken", "cl100k", "tiktoken"), ("o200k-style.tiktoken", "o200k", "tiktoken")]


def _bench_text(d: Path) -> tuple[Path, float, int]:
    """Samples/web (long technical documents, 24 languages) + Samples/quality (web-like pages),
    uncompressed, no repeats: the text the tokenizer and feed benchmarks read."""
    d.mkdir(parents=True, exist_ok=True)
    out = d / "text.jsonl"
    if not out.exists():
        with open(out, "wb") as f:
            for src in DSIR_SOURCES:
                f.write(subprocess.run(["zstd", "-dcq", str(ROOT / src)], check=True, capture_output=True).stdout)
    docs = sum(1 for _ in open(out, "rb"))
    return out, out.stat().st_size / MB, docs


def bench_tokenize(ctx: Context) -> list[Result]:
    """Benchmark T: exact BPE encoding, one core each, on Samples/web + Samples/quality: `winnow
    tokenize` (reading JSONL and writing documents included) against Hugging Face tokenizers'
    single-thread `encode_batch` and tiktoken's `encode_ordinary_batch(num_threads=1)` (encoding
    alone, texts already in memory), with the parity tests' locally trained models (a GPT-2-style
    12k-id and a Llama-3-style 70k-id tokenizer.json; cl100k- and o200k-style tiktoken files)."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from peers import tokenizer_python
    from tokenizer_parity import fixtures
    python = tokenizer_python()
    models = fixtures(str(ROOT / ".build" / "tokenizer-fixtures")) / "models"
    text, mb, docs = _bench_text(BENCH_DATA / "tokenize")
    speed = ROOT / "Tests" / "parity" / "peers" / "tokenizer_speed.py"
    print(f"\n== tokenize: exact BPE encoding of {mb:.1f} MB, {docs:,} documents (Samples/web + Samples/quality), one core ==")
    results = []
    for model, pattern, library in TOKENIZE_MODELS:
        path = models / model
        cmd = [ctx.winnow, "tokenize", "--tokenizer", str(path), "--field", "", str(text), "-o", "/dev/null"]
        if pattern:
            cmd[4:4] = ["--pattern", pattern]
        name = f"winnow tokenize {model}"
        w = compare([Variant(name, cmd)], mb, ctx.runs)[name]
        ref = subprocess.run([python, str(speed), "--tokenizer", str(path), *(["--pattern", pattern] if pattern else []), str(text)],
                             check=True, capture_output=True, text=True)
        r = json.loads(ref.stdout)
        m = Measurement(user=r["cpu_seconds"], sys=0.0, wall=r["seconds"], maxrss_kb=0)
        ref_result = Result(f"{r['library']} single thread", mb, [m], f"{python} {speed}")
        tokens = r["tokens"]
        print(f"  {model}: winnow {mb / w.cpu:6.1f} MB/s, {tokens / w.cpu / 1e6:5.2f} M tokens/s (CPU, all included); "
              f"{r['library']} {mb / m.cpu:6.1f} MB/s, {tokens / m.cpu / 1e6:5.2f} M tokens/s (encoding alone); "
              f"ratio {m.cpu / w.cpu:.2f}x")
        if library == "tokenizers":
            t = Target(f"tokenize {model}: tokenizers encode_batch CPU / winnow CPU", m.cpu / w.cpu, 1.5, higher_is_better=True)
            ctx.targets.append(t)
            print(f"  {t}")
        results += [w, ref_result]
    return results


FEED_RECIPE = """name: feed-bench
seed: 1
input: {{paths: {inputs}}}
output: {{path: {out}, format: megatron, tokenizer: {tokenizer}}}
stages: []
"""

FEED_SCRIPT = r"""
import sys, time, json
sys.path.insert(0, sys.argv[1])
from winnow_feed import WinnowMixture
prefix, seq, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
mix = WinnowMixture([(prefix, 0.5), (prefix + "-b", 0.5)], seq_len=seq, seed=1)
mix.samples(0, 1, 64)
best = 1e9
for _ in range(3):
    t = time.process_time(); w = time.perf_counter()
    for k in range(0, n, 256):
        mix.samples(k, 1, 256)
    best = min(best, time.process_time() - t)
print(json.dumps({"cpu": best, "tokens": n * (seq + 1)}))
"""


def bench_feed(ctx: Context) -> list[Result]:
    """Benchmark M: the mixture stream, one process: packed sequences of 1,024 (+1) tokens from
    two memory-mapped Megatron datasets (Samples/web + Samples/quality tokenized with the sample
    tokenizer, exported by `winnow run`), through the Python package (ctypes, numpy arrays of 256
    samples). Target: 10 M tokens/s."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from peers import megatron_python
    python = megatron_python()
    lib = Path(ctx.winnow).parent / "libWinnowFeedC.so"
    if not lib.exists():
        raise RuntimeError(f"{lib} is missing (make release builds it)")
    text, mb, docs = _bench_text(BENCH_DATA / "tokenize")
    out = ctx.work / "feed"
    recipe = ctx.work / "feed.yaml"
    recipe.write_text(FEED_RECIPE.format(inputs=json.dumps([str(text)]), out=json.dumps(str(out)),
                                         tokenizer=json.dumps(str(ROOT / "Recipes" / "models" / "sample-bpe-4k.json"))))
    subprocess.run([ctx.winnow, "run", str(recipe), "--fresh", "--no-progress"], check=True, capture_output=True)
    for ext in (".bin", ".idx"):
        shutil.copy(out / f"data{ext}", out / f"data-b{ext}")
    n = 20_000
    env = dict(os.environ, WINNOW_FEED_LIBRARY=str(lib))
    r = subprocess.run([python, "-c", FEED_SCRIPT, str(ROOT / "python"), str(out / "data"), "1024", str(n)],
                       check=True, capture_output=True, text=True, env=env)
    m = json.loads(r.stdout)
    rate = m["tokens"] / m["cpu"]
    print(f"\n== feed: mixture stream, 2 Megatron datasets ({mb:.1f} MB of text), seq_len 1024, {n:,} samples ==")
    print(f"  {m['tokens'] / 1e6:.1f} M tokens in {m['cpu']:.3f} s CPU: {rate / 1e6:.1f} M tokens/s")
    t = Target("feed: mixture stream M tokens/s (one process)", rate / 1e6, 10.0, higher_is_better=True)
    ctx.targets.append(t)
    print(f"  {t}")
    return []


KMEANS_SCRIPT = r"""
import json, sys, time
import numpy as np
which, vectors, init, iterations = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
x = np.load(vectors)
c0 = np.load(init)
k, d = c0.shape
started = time.process_time(); wall = time.time()
if which == "sklearn":
    from sklearn.cluster import KMeans
    km = KMeans(n_clusters=k, init=c0, n_init=1, max_iter=iterations, tol=0, algorithm="lloyd").fit(x)
    inertia, passes = float(km.inertia_), km.n_iter_ + 1
else:
    import faiss
    faiss.omp_set_num_threads(1)
    km = faiss.Kmeans(d, k, niter=iterations, max_points_per_centroid=10**9, seed=1, verbose=False)
    km.train(x, init_centroids=c0)
    inertia, passes = float(km.obj[-1]), iterations
print(json.dumps({"cpu": time.process_time() - started, "wall": time.time() - wall, "inertia": inertia, "passes": passes}))
"""


def kmeans_data(rows: int, log=print) -> tuple[Path, Path, str]:
    """bench-data/kmeans-<rows>/: `rows` float32 vectors of 256 values (1,000 Gaussian clusters of
    different spreads, plus 5 % uniform noise; seeded), and 1,000 of them as the common start."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from peers import SELECT_PACKAGES, peer_python
    python = peer_python(SELECT_PACKAGES + ["faiss-cpu==1.15.1"], str(ROOT / ".venv-bench-kmeans"))
    d = BENCH_DATA / f"kmeans-{rows}"
    vectors, init = d / "vectors.npy", d / "init.npy"
    if not (vectors.exists() and init.exists()):
        d.mkdir(parents=True, exist_ok=True)
        log(f"generating {vectors} ({rows:,} x 256 float32)")
        subprocess.run([python, "-c", f"""
import numpy as np
rng = np.random.default_rng({SEED})
n, d, k = {rows}, 256, 1000
centers = rng.normal(size=(k, d)).astype(np.float32) * 2
labels = rng.integers(0, k, n)
x = np.empty((n, d), dtype=np.float32)
for s in range(0, n, 100000):
    e = min(n, s + 100000)
    x[s:e] = centers[labels[s:e]] + rng.normal(size=(e - s, d)).astype(np.float32) * rng.uniform(0.3, 1.5, size=(e - s, 1)).astype(np.float32)
noise = rng.choice(n, n // 20, replace=False)
x[noise] = rng.uniform(-6, 6, size=(len(noise), d)).astype(np.float32)
np.save("{vectors}", x)
np.save("{init}", x[rng.choice(n, k, replace=False)])
"""], check=True)
    return vectors, init, python


def bench_kmeans(ctx: Context) -> list[Result]:
    """Benchmark K: k-means, 1,000,000 vectors x 256 (100,000 with --quick), k = 1,000, 10 Lloyd
    iterations from the same start, one thread each: `winnow kmeans` (the cluster stage's k-means,
    vectors streamed from the .npy file) against scikit-learn 1.9.1 (KMeans lloyd, OpenBLAS on one
    thread) and faiss-cpu 1.15.1 (faiss.Kmeans, all points, omp 1 thread). Targets: at least as
    fast as scikit-learn, within 2x of faiss."""
    rows = 100_000 if ctx.corpus.dir.name.endswith("quick") else 1_000_000
    vectors, init, python = kmeans_data(rows)
    iterations = 10
    print(f"\n== kmeans: {rows:,} x 256 float32, k = 1,000, {iterations} iterations from the same start, one thread each ==")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([str(ctx.winnow), "kmeans", str(vectors), "--k", "1000", "--init-centroids", str(init),
                          "--iterations", str(iterations), "--tolerance", "0"], check=True, capture_output=True, text=True)
    summary = json.loads(out.stdout)
    peers = {}
    for which in ("sklearn", "faiss"):
        r = subprocess.run([python, "-c", KMEANS_SCRIPT, which, str(vectors), str(init), str(iterations)], check=True,
                           capture_output=True, text=True, env=env)
        peers[which] = json.loads(r.stdout.strip().splitlines()[-1])
    lloyd = summary["lloyd_seconds"]
    print(f"  winnow kmeans: {lloyd:.1f} s for {summary['iterations']} iterations + the final assignment "
          f"({summary['iterations'] + 1} passes), peak RSS {summary['peak_rss_mb']:.0f} MB, inertia {summary['inertia']:.6g}")
    for which, m in peers.items():
        print(f"  {which}: {m['cpu']:.1f} s CPU ({m['wall']:.1f} s wall) for {m['passes']} passes, inertia {m['inertia']:.6g}")
    per_pass = lloyd / (summary["iterations"] + 1)
    t1 = Target("kmeans: scikit-learn time per pass / winnow time per pass", peers["sklearn"]["cpu"] / peers["sklearn"]["passes"] / per_pass, 1.0,
                higher_is_better=True)
    t2 = Target("kmeans: faiss time per pass / winnow time per pass", peers["faiss"]["cpu"] / peers["faiss"]["passes"] / per_pass, 0.5,
                higher_is_better=True)
    for t in (t1, t2):
        ctx.targets.append(t)
        print(f"  {t}")
    return []


SELECT_SCALE_RECIPE = """name: select-scale
seed: 1
workers: 2
input:
  paths: {inputs}
output:
  path: {out}
  compression: zstd
stages:
  - cluster: {{k: 1000, iterations: 10, init_centroids: {init}, tolerance: 0}}
  - {stage}
"""


def bench_select_scale(ctx: Context) -> list[Result]:
    """Benchmark S: the selection stages at scale: the k-means vectors (1,000,000 x 256; 100,000
    with --quick) as documents (base64 float32 embeddings, 8 shards), `winnow run` with cluster
    (k = 1,000, 10 iterations) followed by semdedup (epsilon 0.05), or by diversity_select
    (Deita within clusters, tau 0.1, 20 per cluster), on 2 local workers. Reports wall time and
    the peak RSS of the run's processes."""
    rows = 100_000 if ctx.corpus.dir.name.endswith("quick") else 1_000_000
    vectors, init, python = kmeans_data(rows)
    d = BENCH_DATA / f"select-scale-{rows}"
    if not (d / "done").exists():
        d.mkdir(parents=True, exist_ok=True)
        print(f"writing {rows:,} documents with embeddings to {d}")
        subprocess.run([python, "-c", f"""
import base64, json, subprocess, numpy as np
x = np.load("{vectors}", mmap_mode="r")
n = len(x)
for s in range(8):
    lo, hi = s * n // 8, (s + 1) * n // 8
    with open("{d}/part-%d.jsonl" % s, "w") as f:
        for i in range(lo, hi):
            f.write(json.dumps({{"id": "v%d" % i, "text": "document %d" % i, "score": float((i * 2654435761) % 1000) / 1000,
                                 "embedding": "f32:" + base64.b64encode(x[i].astype("<f4").tobytes()).decode()}}) + "\\n")
    subprocess.run(["zstd", "-q", "-3", "--rm", "-f", "{d}/part-%d.jsonl" % s], check=True)
open("{d}/done", "w").write("ok")
"""], check=True)
    inputs = json.dumps(sorted(str(p) for p in d.glob("part-*.jsonl.zst")))
    print(f"\n== select at scale: {rows:,} documents x 256, cluster (k 1,000, 10 iterations) then one selection stage, 2 workers ==")
    for name, stage in (("semdedup", "semdedup: {epsilon: 0.05}"),
                        ("diversity_select", "diversity_select: {score_fields: [score], tau: 0.1, cluster_field: cluster, per_cluster: 20}")):
        out = ctx.work / f"select-{name}"
        recipe = ctx.work / f"select-{name}.yaml"
        recipe.write_text(SELECT_SCALE_RECIPE.format(inputs=inputs, out=json.dumps(str(out)), init=json.dumps(str(init)), stage=stage))
        m = measure([str(ctx.winnow), "run", str(recipe), "--fresh", "--no-progress"])
        stats = json.loads((out / "stats.json").read_text())
        stage_stats = [st for st in stats.get("stages", []) if st.get("stage") == name]
        dropped = stage_stats[0].get("dropped_by_reason") if stage_stats else {}
        print(f"  cluster + {name}: {m.wall:.1f} s wall, {m.cpu:.1f} s CPU, peak RSS {m.maxrss_kb / 1024:.0f} MB; "
              f"kept {stats.get('documents_written'):,} of {stats.get('documents_read'):,} ({dropped})")
        shutil.rmtree(out, ignore_errors=True)
    return []

PARQUET_READ_SCRIPT = """
import sys, time, pyarrow.parquet as pq
t0 = time.process_time()
t = pq.read_table(sys.argv[1], columns=["id", "text"], use_threads=False)
print(time.process_time() - t0, t.num_rows)
"""

PARQUET_FILTER_RECIPE = """name: parquet-filter
executor: inline
input: {{paths: [{input}]}}
output: {{path: {out}, compression: none}}
stages:
  - gopher_repetition: {{}}
  - gopher_quality: {{}}
  - fineweb_quality: {{}}
"""


def corpus_table_script(c: Corpus) -> str:
    """Python (for the pyarrow venv) that reads the corpus's shards into a pyarrow table `base`."""
    return f"""
import json, os, subprocess, pyarrow as pa, pyarrow.parquet as pq
rows = []
for f in {json.dumps([str(x) for x in c.shards])}:
    out = subprocess.run(["zstd", "-dcq", f], check=True, capture_output=True).stdout
    rows += [json.loads(l) for l in out.decode("utf-8").splitlines() if l.strip()]
base = pa.Table.from_pylist(rows)
"""


def bench_parquet(ctx: Context) -> list[Result]:
    """Benchmark P: Parquet input. The benchmark corpus (long technical documents and short
    web-like ones, 8 shards of .jsonl.zst) written as one Parquet file by pyarrow 26.0.1 with its
    defaults (snappy, dictionary pages, one row group per 1M rows; `meta` a nested struct).
    (1) Reading the text and id columns, one thread each: `winnow cat --columns id,text -o
    /dev/null` (read, turn rows into documents, validate, write) against pyarrow's
    `read_table(columns=[id, text], use_threads=False)` (its CPU inside the process, without
    interpreter start and import). Target: winnow's CPU <= 1.5x pyarrow's. (2) The same filter
    recipe (gopher_repetition, gopher_quality, fineweb_quality; inline) on the Parquet file and on
    the .jsonl.zst shards. Target: Parquet's CPU within 10 % of JSONL's."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from peers import parquet_python
    python = parquet_python()
    c = ctx.corpus
    d = BENCH_DATA / ("parquet" + c.dir.name.removeprefix("corpus"))
    pfile = d / "corpus.parquet"
    want = {"source": c.sha256, "pyarrow": "26.0.1"}
    stamp = d / "stamp.json"
    if not pfile.exists() or not stamp.exists() or json.loads(stamp.read_text()) != want:
        d.mkdir(parents=True, exist_ok=True)
        print(f"writing {pfile.relative_to(ROOT)} from {c.dir.relative_to(ROOT)} with pyarrow's defaults ...")
        subprocess.run([python, "-c", corpus_table_script(c) + f"""
pq.write_table(base, "{pfile}.tmp")
"""], check=True)
        os.replace(f"{pfile}.tmp", pfile)
        stamp.write_text(json.dumps(want))
    fmb = pfile.stat().st_size / MB
    mb = c.bytes / MB
    print(f"\n== parquet: the benchmark corpus ({mb:.1f} MB of JSON) as one {fmb:.1f} MB Parquet file (pyarrow defaults) ==")
    res = compare([Variant("winnow cat --columns id,text", [ctx.winnow, "cat", "--columns", "id,text", str(pfile), "-o", "/dev/null"])],
                  mb, ctx.runs)
    w = res["winnow cat --columns id,text"]
    # pyarrow's CPU varies from run to run with its allocator's page faults: more runs.
    inner = []
    for _ in range(max(ctx.runs, 5)):
        r = subprocess.run([python, "-c", PARQUET_READ_SCRIPT, str(pfile)], check=True, capture_output=True, text=True)
        inner.append(float(r.stdout.split()[0]))
    pa_cpu = statistics.median(inner)
    print(f"  pyarrow read_table(columns=[id, text], use_threads=False): {pa_cpu:.2f} s CPU inside the process "
          f"(median of {len(inner)}: {', '.join(f'{x:.2f}' for x in inner)}; fastest {min(inner):.2f})")
    t1 = Target("parquet read: winnow CPU / pyarrow read_table CPU (text+id, one thread)", w.cpu / pa_cpu, 1.5)
    outs = {}
    variants = []
    for name, inputs in (("recipe on parquet", [pfile]), ("recipe on jsonl.zst", list(c.shards))):
        tag = "parquet" if name.endswith("parquet") else "jsonl"
        out = ctx.work / ("pq-out-" + tag)
        recipe = ctx.work / ("pq-recipe-" + tag + ".yaml")
        recipe.write_text(PARQUET_FILTER_RECIPE.format(input=", ".join(json.dumps(str(x)) for x in inputs), out=json.dumps(str(out))))
        outs[name] = out
        variants.append(Variant(name, [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress"]))
    res2 = compare(variants, mb, ctx.runs)
    p, j = res2["recipe on parquet"], res2["recipe on jsonl.zst"]
    print_table("Benchmark P (parquet): medians; CPU = user+sys", [w, p, j], baseline=j)
    print(f"  {ratio_checks(p, j)}")
    kept = [json.loads((outs[n] / "stats.json").read_text())["documents_written"] for n in ("recipe on parquet", "recipe on jsonl.zst")]
    print(f"  documents kept: parquet {kept[0]:,}, jsonl.zst {kept[1]:,} ({'same' if kept[0] == kept[1] else 'DIFFERENT'})")
    t2 = Target("filter recipe: CPU on parquet / CPU on jsonl.zst", p.cpu / j.cpu, 1.10)
    for t in (t1, t2):
        ctx.targets.append(t)
        print(f"  {t}")
    for o in outs.values():
        shutil.rmtree(o, ignore_errors=True)
    return [w, p, j]


def bench_parquet_memory(ctx: Context) -> list[Result]:
    """Benchmark Q: Parquet in bounded memory: a 10 GB file (1 GB with --quick; the benchmark
    corpus's rows again and again with new ids, uncompressed, a row group per 46k rows as
    pyarrow's ParquetWriter writes them) read whole by `winnow cat -o /dev/null` and by `winnow cat
    --columns id,text`: peak RSS and time."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from peers import parquet_python
    python = parquet_python()
    c = ctx.corpus
    quick = c.dir.name.endswith("quick")
    size = 10**9 if quick else 10 * 10**9
    d = BENCH_DATA / ("parquet-memory" + ("-quick" if quick else ""))
    big = d / "big.parquet"
    want = {"source": c.sha256, "pyarrow": "26.0.1", "bytes": size}
    stamp = d / "stamp.json"
    if not big.exists() or not stamp.exists() or json.loads(stamp.read_text()) != want:
        d.mkdir(parents=True, exist_ok=True)
        print(f"writing {big.relative_to(ROOT)} ({size / 1e9:.0f} GB) ...")
        subprocess.run([python, "-c", corpus_table_script(c) + f"""
w = pq.ParquetWriter("{big}.tmp", base.schema, compression="none")
k = 0
while os.path.getsize("{big}.tmp") < {size}:
    ids = pa.array([f"{{i}}-copy{{k}}" for i in base.column("id").to_pylist()])
    w.write_table(base.set_column(0, "id", ids))
    k += 1
w.close()
"""], check=True)
        os.replace(f"{big}.tmp", big)
        stamp.write_text(json.dumps(want))
    gb = big.stat().st_size / 1e9
    print(f"\n== parquet memory: one {gb:.1f} GB Parquet file read whole ==")
    out = []
    for name, extra in (("winnow cat (every column)", []), ("winnow cat --columns id,text", ["--columns", "id,text"])):
        m = measure([ctx.winnow, "cat", *extra, str(big), "-o", "/dev/null"])
        print(f"  {name}: {m.wall:.1f} s wall, {m.cpu:.1f} s CPU, peak RSS {m.maxrss_kb / 1024:.0f} MB")
        out.append(Result(name, big.stat().st_size / MB, [m], ""))
    return out


REAL_KINDS = ["man", "kernel", "python-docs", "handbook", "short"]
REAL_VERSION = 1     # bump when scripts/make-real-corpus.py changes what it writes


def real_corpus(ctx: Context) -> tuple[Path, dict]:
    """bench-data/real/ (real-quick/ with --quick): scripts/make-real-corpus.py's kinds of text
    from Debian packages (installed first when missing: python3-doc, debian-handbook, linux-doc,
    fortunes), 12 MB of text per kind (2 MB with --quick)."""
    quick = ctx.corpus.dir.name.endswith("quick")
    d = BENCH_DATA / ("real-quick" if quick else "real")
    mb = 2 if quick else 12
    want = {"version": REAL_VERSION, "mb_per_kind": mb}
    stamp = d / "stamp.json"
    if not stamp.exists() or json.loads(stamp.read_text()) != want or not all((d / f"{k}.jsonl").exists() for k in REAL_KINDS):
        print(f"building {d.relative_to(ROOT)} from Debian packages ...")
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make-real-corpus.py"), "--out", str(d), "--mb-per-kind", str(mb),
                        "--install"], check=True)
        stamp.write_text(json.dumps(want))
    return d, json.loads((d / "summary.json").read_text())


def bench_real(ctx: Context) -> list[Result]:
    """Benchmark R: the quality chain and the word splitter on real text by kind (man pages,
    kernel documentation, Python's HTML documentation as text, the Debian handbook in 12
    languages, short fortunes and licence paragraphs; scripts/make-real-corpus.py). Per kind,
    one process each, same run: winnow run with FineWeb's four filters (as benchmark C) against
    datatrove 0.10.1's chain on the same file (documents and MB per CPU-second, their ratio, the
    documents each keeps), and the word splitter's MB/s: text bytes / (CPU of `winnow words
    --count` - CPU of `winnow cat -o /dev/null`), the splitting alone.

    datatrove's one run lasts half a minute and so averages the machine's speed over that time;
    Winnow's runs take a third of a second each. On a shared machine whose speed drifts from
    minute to minute, runs all taken just before datatrove's can land in a slow stretch (one run
    measured man pages at 0.37 s against 0.27 s a few minutes earlier and later). So Winnow's
    chain runs `runs` times before datatrove's run and `runs` times after it, and its figure is
    the median of all of them: samples from both ends of the window that datatrove's figure
    covers."""
    sys.path.insert(0, str(ROOT / "Tests" / "parity"))
    from peers import peer_python
    python = peer_python()
    d, summary = real_corpus(ctx)
    script = ctx.work / "datatrove_chain.py"
    script.write_text(DATATROVE_CHAIN)
    results = []
    rows = []
    print(f"\n== real text by kind: quality chain (winnow {ctx.runs} runs before datatrove's one and {ctx.runs} after) and the word splitter ==")
    for kind in REAL_KINDS:
        src = ctx.work / f"real-{kind}"
        src.mkdir(parents=True, exist_ok=True)
        shutil.copy(d / f"{kind}.jsonl", src / f"{kind}.jsonl")
        f = src / f"{kind}.jsonl"
        mb = f.stat().st_size / MB
        text_mb = summary[kind]["text_bytes"] / MB
        docs = summary[kind]["documents"]
        wout = ctx.work / f"real-{kind}-winnow"
        recipe = ctx.work / f"real-{kind}.yaml"
        recipe.write_text(
            "name: real\n"
            f"input: {{paths: [{json.dumps(str(f))}]}}\n"
            f"output: {{path: {json.dumps(str(wout))}, compression: none}}\n"
            "stages:\n  - gopher_repetition: {}\n  - gopher_quality: {}\n"
            "  - c4_quality: {filter_no_terminal_punct: false}\n  - fineweb_quality: {}\n")
        chain = Variant(f"winnow chain {kind}", [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress",
                                                 "--executor", "inline"])
        res = compare([chain,
                       Variant(f"winnow words --count {kind}", [ctx.winnow, "words", "--count", str(f)]),
                       Variant(f"winnow cat {kind}", [ctx.winnow, "cat", str(f), "-o", "/dev/null"])], mb, ctx.runs)
        w, wc, cat = res[f"winnow chain {kind}"], res[f"winnow words --count {kind}"], res[f"winnow cat {kind}"]
        dout, dlogs = ctx.work / f"real-{kind}-dt", ctx.work / f"real-{kind}-dt-logs"
        m = measure([python, str(script), str(src), str(dout), str(dlogs)])
        dt = Result(f"datatrove chain {kind}", mb, [m], "")
        # The chain again after datatrove's run (see above): its figure is the median of both sets.
        w.runs.extend(compare([chain], mb, ctx.runs)[chain.name].runs)
        kept_w = sum(1 for _ in open(next(wout.glob("*.jsonl")), "rb")) if list(wout.glob("*.jsonl")) else 0
        kept_d = sum(sum(1 for _ in open(p, "rb")) for p in dout.glob("*.jsonl"))
        split = text_mb / max(wc.cpu - cat.cpu, 1e-3)
        ratio = (docs / w.cpu) / (docs / m.cpu)
        rows.append((kind, docs, text_mb, w.cpu, m.cpu, ratio, kept_w, kept_d, split))
        results += [w, dt]
        ctx.targets.append(Target(f"real {kind}: chain, datatrove CPU / winnow CPU", ratio, 100, higher_is_better=True))
        shutil.rmtree(dout, ignore_errors=True)
        shutil.rmtree(dlogs, ignore_errors=True)
        shutil.rmtree(wout, ignore_errors=True)
    print(f"\n  {'kind':<12} {'docs':>6} {'text MB':>8} {'winnow s':>9} {'docs/s':>8} {'MB/s':>6} {'datatrove s':>11} "
          f"{'docs/s':>7} {'ratio':>6} {'kept w/d':>11} {'splitter MB/s':>13}")
    for kind, docs, tmb, wcpu, dcpu, ratio, kw, kd, split in rows:
        print(f"  {kind:<12} {docs:6d} {tmb:8.1f} {wcpu:9.2f} {docs / wcpu:8.0f} {tmb / wcpu:6.1f} {dcpu:11.1f} "
              f"{docs / dcpu:7.1f} {ratio:6.1f} {kw:5d}/{kd:<5d} {split:13.1f}"
              + ("" if kw == kd else "  KEPT DIFFERS"))
    results += _real_minhash(ctx, d, python)
    return results


def _real_minhash(ctx: Context, d: Path, python: str) -> list[Result]:
    """`minhash_dedup` at defaults over every kind of the real corpus together (one directory
    of five files: translations of the same handbook page, man pages of related commands and
    repeated licence texts are its natural near-duplicates): winnow run (inline executor)
    against datatrove 0.10.1's four stages (Tests/parity/peers/datatrove_minhash.py) on the
    same files; CPU of each, their ratio, and the documents each removes (which must be the
    same ids)."""
    src = ctx.work / "real-all"
    src.mkdir(parents=True, exist_ok=True)
    for kind in REAL_KINDS:
        shutil.copy(d / f"{kind}.jsonl", src / f"{kind}.jsonl")
    mb = sum((src / f"{k}.jsonl").stat().st_size for k in REAL_KINDS) / MB
    wout = ctx.work / "real-minhash-winnow"
    recipe = ctx.work / "real-minhash.yaml"
    recipe.write_text(MINHASH_RECIPE.format(name="real-minhash", input=json.dumps(str(src)), out=json.dumps(str(wout))))
    print(f"\n== real text, all kinds together ({mb:.1f} MB): minhash_dedup at defaults (winnow {ctx.runs} runs, "
          f"datatrove 1) ==")
    name = "winnow minhash_dedup real"
    # The same run with keep: datatrove, whose kept documents must be datatrove's own (at the
    # default keep: first the same clusters lose their first document instead).
    wout_dt = ctx.work / "real-minhash-winnow-keep-datatrove"
    recipe_dt = ctx.work / "real-minhash-keep-datatrove.yaml"
    recipe_dt.write_text(MINHASH_RECIPE.format(name="real-minhash-dt", input=json.dumps(str(src)), out=json.dumps(str(wout_dt)))
                         .replace("minhash_dedup: {}", "minhash_dedup: {keep: datatrove}"))
    name_dt = "winnow minhash_dedup real, keep: datatrove"
    res = compare([Variant(name, [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress"]),
                   Variant(name_dt, [ctx.winnow, "run", str(recipe_dt), "--fresh", "--no-progress"])], mb, ctx.runs)
    w, w_dt = res[name], res[name_dt]
    dwork = ctx.work / "real-minhash-dt"
    shutil.rmtree(dwork, ignore_errors=True)
    script = ROOT / "Tests" / "parity" / "peers" / "datatrove_minhash.py"
    m = measure([python, str(script), str(src), "*.jsonl", str(dwork)])
    dt = Result("datatrove minhash real (4 stages)", mb, [m], "")

    def ids(folder: Path) -> set:
        out = set()
        for f in folder.glob("*.jsonl"):
            with open(f, "rb") as fh:
                out.update(json.loads(line)["id"] for line in fh if line.strip())
        return out
    kept_w, kept_dt, kept_d = ids(wout), ids(wout_dt), ids(dwork / "kept")
    ratio = m.cpu / w.cpu
    print(f"  winnow CPU {w.cpu:.2f} s (keep: datatrove {w_dt.cpu:.2f} s), datatrove CPU {m.cpu:.1f} s: ratio {ratio:.1f} "
          f"({m.cpu / w_dt.cpu:.1f} with keep: datatrove)")
    print(f"  kept: winnow {len(kept_w):,} (keep: first; {len(kept_w - kept_d)} clusters keep another document), "
          f"winnow keep: datatrove {len(kept_dt):,}, datatrove {len(kept_d):,}"
          + ("  (the same documents)" if kept_dt == kept_d else
             f"  KEPT DIFFERS ({len(kept_dt - kept_d)} only winnow, {len(kept_d - kept_dt)} only datatrove)"))
    ctx.targets.append(Target("real all kinds: minhash_dedup, datatrove CPU / winnow CPU", ratio, 50, higher_is_better=True))
    ctx.targets.append(Target("real all kinds: minhash_dedup keep: datatrove, documents kept differently from datatrove",
                              len(kept_dt ^ kept_d), 0))
    shutil.rmtree(dwork, ignore_errors=True)
    shutil.rmtree(wout, ignore_errors=True)
    shutil.rmtree(wout_dt, ignore_errors=True)
    return [w, w_dt, dt]


SCALING_RECIPE = """name: scaling
input: {{paths: [{input}]}}
output: {{path: {out}, compression: zstd}}
stages:
  - gopher_repetition: {{}}
  - gopher_quality: {{}}
  - c4_quality: {{filter_no_terminal_punct: false}}
  - fineweb_quality: {{}}
  - exact_dedup: {{}}
"""


def scaling_report(out: Path, workers: int) -> list[str]:
    """Where a run's wall time went, from its run database: per pass, the span from its first
    task's start to its last task's end, the tasks' own processing time (`seconds`, inside the
    pipeline) and their wall time as the coordinator saw it (process start, plan, records), the
    longest task, and the utilisation busy / (span x workers); and the gaps between passes."""
    import sqlite3
    db = sqlite3.connect(str(out / ".winnow" / "run.sqlite"))
    rows = db.execute("SELECT pass, started, finished, seconds FROM tasks ORDER BY pass, task").fetchall()
    run = db.execute("SELECT started, finished FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    db.close()
    lines = []
    passes = sorted({r[0] for r in rows})
    previous_end = run[0] if run else None
    for p in passes:
        ts = [r for r in rows if r[0] == p]
        start = min(r[1] for r in ts)
        end = max(r[2] for r in ts)
        span = end - start
        wall = sum(r[2] - r[1] for r in ts)
        work = sum(r[3] or 0 for r in ts)
        longest = max(r[2] - r[1] for r in ts)
        util = wall / (span * workers) if span > 0 else 1.0
        gap = start - previous_end if previous_end is not None else 0.0
        lines.append(f"    pass {p}: {len(ts):3d} tasks, span {span:6.2f} s (gap before {gap:5.2f} s), task wall {wall:7.2f} s "
                     f"(work {work:7.2f} s, overhead {wall - work:5.2f} s), longest task {longest:5.2f} s, "
                     f"utilisation {util * 100:5.1f} %")
        previous_end = end
    if run and run[1]:
        lines.append(f"    after the last pass: {run[1] - previous_end:5.2f} s (merge steps, stats)")
    return lines


def scaling_projection(out: Path, counts: tuple[int, ...] = (2, 4, 8, 16)) -> list[str]:
    """What the 1-worker run's own task times predict for more workers: each pass's tasks
    handed to the first free worker, largest input first as the local executor starts them
    (the run database's `bytes_read` stands for the input size), each with its share of the
    coordinator's time between tasks, the passes one after another, the time outside passes
    as it was. An upper bound: it assumes a task takes as
    long beside 15 others as alone (no shared memory bandwidth, disk or turbo frequency)."""
    import heapq
    import sqlite3
    db = sqlite3.connect(str(out / ".winnow" / "run.sqlite"))
    rows = db.execute("SELECT pass, task, started, finished, bytes_read FROM tasks ORDER BY pass, task").fetchall()
    run = db.execute("SELECT started, finished FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    db.close()
    if not rows or not run or not run[1]:
        return []
    passes: dict[int, list[tuple[int, float]]] = {}
    for p, _, start, end, size in rows:
        passes.setdefault(p, []).append((size or 0, end - start))
    spans = 0.0
    for p, ts in passes.items():
        span = max(r[3] for r in rows if r[0] == p) - min(r[2] for r in rows if r[0] == p)
        spans += span
        # The coordinator's time between one task's end and the next one's start (records,
        # database, starting the process) goes with each task.
        gap = max(0.0, span - sum(d for _, d in ts)) / len(ts)
        passes[p] = [(size, d + gap) for size, d in ts]
    outside = (run[1] - run[0]) - spans
    whole = run[1] - run[0]

    def makespan(tasks: list[tuple[int, float]], workers: int) -> float:
        free = [0.0] * workers
        for _, d in sorted(tasks, key=lambda t: -t[0]):
            heapq.heappush(free, heapq.heappop(free) + d)
        return max(free)

    parts = []
    for w in counts:
        t = sum(makespan(ts, w) for ts in passes.values()) + max(0.0, outside)
        parts.append(f"{w} workers {whole / t:4.1f}x")
    return ["    projected from these task times (no contention): " + ", ".join(parts)]


def bench_scaling(ctx: Context) -> list[Result]:
    """Benchmark S2: worker scaling of the filter chain + exact_dedup recipe (FineWeb's four
    filters then exact_dedup: two document passes around its reduce pass) over the benchmark
    corpus cut into 32 shards, local executor at 1, 2, 4, 8 and 16 workers (as many as the
    machine has cores). Wall-time speed-ups against 1 worker, and for each run where the time
    went, pass by pass, from its run database (`scaling_report`)."""
    c = ctx.corpus
    d = BENCH_DATA / ("scaling" + c.dir.name.removeprefix("corpus"))
    want = {"source": c.sha256, "shards": 32}
    stamp = d / "stamp.json"
    if not stamp.exists() or json.loads(stamp.read_text()) != want:
        shutil.rmtree(d, ignore_errors=True)
        per = -(-c.lines // 32)
        subprocess.run([ctx.winnow, "cat", str(c.dir), "-o", str(d), "--max-shard-docs", str(per), "--no-progress"], check=True)
        stamp.write_text(json.dumps(want))
    shards = sorted(d.glob("part-*.jsonl.zst"))
    mb = c.bytes / MB
    cores = os.cpu_count() or 1
    counts = [w for w in (1, 2, 4, 8, 16) if w <= cores]
    out = ctx.work / "scaling-out"
    recipe = ctx.work / "scaling.yaml"
    recipe.write_text(SCALING_RECIPE.format(input=json.dumps(str(d)), out=json.dumps(str(out))))
    print(f"\n== scaling: filter chain + exact_dedup on {mb:.1f} MB in {len(shards)} shards, local executor, "
          f"workers {counts} ({cores} cores); {ctx.runs} runs each ==")
    results = []
    base = None
    for w in counts:
        res = compare([Variant(f"winnow run --workers {w}", [ctx.winnow, "run", str(recipe), "--fresh", "--no-progress",
                                                            "--executor", "local", "--workers", str(w)])], mb, ctx.runs)
        r = res[f"winnow run --workers {w}"]
        results.append(r)
        base = base or r
        print(f"  {w:2d} workers: wall {r.wall:6.2f} s, speed-up {base.wall / r.wall:5.2f}x, CPU {r.cpu:6.2f} s")
        for line in scaling_report(out, w):
            print(line)
        if w == 1:
            for line in scaling_projection(out):
                print(line)
        if w == 2:
            ctx.targets.append(Target("scaling: wall(1 worker) / wall(2 workers)", base.wall / r.wall, 1.9, higher_is_better=True))
        if w == 16:
            ctx.targets.append(Target("scaling: wall(1 worker) / wall(16 workers)", base.wall / r.wall, 13, higher_is_better=True))
    shutil.rmtree(out, ignore_errors=True)
    return results


# name -> (function, one-line description).
BENCHMARKS: dict[str, tuple[Callable[[Context], list[Result]], str]] = {
    "foundation": (bench_foundation, "winnow cat vs zstd -dc | zstd -3 (read, validate, recompress)"),
    "local": (bench_local_executor, "winnow run, local executor, 1 vs 2 workers (speed-up)"),
    "global": (bench_global_cost, "winnow run: the filter chain alone vs followed by exact_dedup (cost of a global stage)"),
    "quality": (bench_quality, "FineWeb's Gopher/C4/FineWeb filter chain: winnow vs datatrove (documents/s)"),
    "minhash": (bench_minhash, "MinHash near-duplicate removal at defaults: winnow vs datatrove (CPU, RSS)"),
    "minhash-memory": (bench_minhash_memory, "winnow minhash_dedup on 1,000,000 short documents (peak RSS, time)"),
    "dsir": (bench_dsir, "DSIR end to end (fit, weights, Gumbel selection): winnow vs data-selection 1.0.3 (CPU)"),
    "fasttext": (bench_fasttext, "fastText training and predict-prob: winnow vs the C++ fastText CLI (CPU, same files)"),
    "tokenize": (bench_tokenize, "exact BPE encoding: winnow tokenize vs tokenizers / tiktoken, single thread (MB/s, tokens/s)"),
    "feed": (bench_feed, "mixture stream from memory-mapped Megatron datasets (tokens/s, one process)"),
    "kmeans": (bench_kmeans, "k-means 1M x 256, k 1,000, 10 iterations: winnow kmeans vs scikit-learn and faiss, one thread each"),
    "scaling": (bench_scaling, "filter chain + exact_dedup, local executor at 1, 2, 4, 8, 16 workers (as cores allow): speed-ups and where the time goes"),
    "real": (bench_real, "real text by kind (man, kernel docs, Python docs, Debian handbook, short): quality chain vs datatrove, word splitter MB/s"),
    "parquet": (bench_parquet, "Parquet input: winnow vs pyarrow read_table (text+id, one thread); a filter recipe on Parquet vs .jsonl.zst"),
    "parquet-memory": (bench_parquet_memory, "a 10 GB Parquet file read whole by winnow cat (peak RSS, time)"),
    "select-scale": (bench_select_scale, "cluster + semdedup / diversity_select on 1M documents with 256-dim embeddings (wall, RSS)"),
}


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="benchmarks:\n" + "\n".join(f"  {k:<15} {d}" for k, (_, d) in BENCHMARKS.items()))
    ap.add_argument("--winnow", default=str(ROOT / ".build" / "release" / "winnow"), help="the winnow binary (release build)")
    ap.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
                    help="run only this benchmark (repeatable)")
    ap.add_argument("--quick", action="store_true", help=f"smoke run on a {QUICK_CORPUS.target_bytes // MB} MB corpus")
    ap.add_argument("--runs", type=int, default=3, help="runs per command; the median is reported (default 3)")
    ap.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                    help="skip the diagnostic runs that split decompression, JSON and compression")
    ap.add_argument("--json", metavar="PATH", help="also write all results as JSON here")
    ap.add_argument("--strict-targets", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--generate-only", action="store_true", help="build the corpus and stop")
    args = ap.parse_args()

    if shutil.which("zstd") is None:
        sys.exit("run_all.py: needs the zstd command-line tool (apt-get install zstd)")
    spec = QUICK_CORPUS if args.quick else FULL_CORPUS
    corpus = ensure_corpus(spec)
    print(f"corpus: {corpus.dir.relative_to(ROOT)}/ {len(corpus.shards)} shards, {corpus.lines:,} documents, "
          f"{corpus.bytes / MB:.1f} MB uncompressed, {corpus.compressed_bytes / MB:.1f} MB zstd")
    if args.generate_only:
        return 0

    winnow = Path(args.winnow)
    if not winnow.is_absolute():
        winnow = Path.cwd() / winnow
    if not os.access(winnow, os.X_OK):
        sys.exit(f"run_all.py: {args.winnow}: not an executable (make release)")
    version = subprocess.run([str(winnow), "--version"], capture_output=True, text=True).stdout.strip()
    print(f"winnow: {args.winnow} ({version}); {_zstd_version()}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}")

    # Warm the page cache and check the corpus against its stamp (unmeasured).
    n, digest = decompressed_digest(corpus.shards)
    if (n, digest) != (corpus.bytes, corpus.sha256):
        sys.exit(f"run_all.py: {corpus.dir} does not match its stamp; delete bench-data/ and rerun")

    BENCH_DATA.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work-", dir=BENCH_DATA))
    ctx = Context(winnow, corpus, work, args.runs, args.breakdown)
    failed = []
    try:
        for name, (fn, _) in BENCHMARKS.items():
            if args.only and name not in args.only:
                continue
            try:
                ctx.results[name] = fn(ctx)
            except RuntimeError as e:
                print(f"\n{name}: FAILED: {e}")
                failed.append(name)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("\n== summary ==")
    for t in ctx.targets:
        print(f"  {t}")
    for name in failed:
        print(f"  {name}: FAILED")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "winnow": version, "corpus": dataclasses.asdict(corpus) | {"dir": str(corpus.dir), "shards": [str(p) for p in corpus.shards]},
            "targets": [dataclasses.asdict(t) | {"ok": t.ok} for t in ctx.targets],
            "results": {k: [r.as_json() for r in v] for k, v in ctx.results.items()},
            "failed": failed,
        }, indent=2) + "\n")
    if failed:
        return 1
    if args.strict_targets and not all(t.ok for t in ctx.targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
