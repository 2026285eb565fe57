#!/usr/bin/env python3
"""fastText prediction: `winnow fasttext predict-prob` against the C++ fastText 0.9.2 CLI
(Debian package `fasttext`), line for line.

    python3 Tests/parity/fasttext_parity.py --winnow .build/debug/winnow [--keep-work]

Labelled text: every document of Samples/quality/corpus.jsonl.zst (Debian man pages,
documentation and licences in 24 languages), labelled with its language (`__label__de`),
one in ten also `__label__extra` (two labels on a line); newlines become spaces, 600
characters at most. 80 % train, 20 % test, plus edge cases: an empty line, a blank line, tabs
and CR, a literal `</s>` inside a line, a line of only a label, a NUL byte, Latin-1 and stray
UTF-8 continuation bytes, and no final newline.

The C++ CLI trains the reference models (one thread): softmax with word bigrams, hs, softmax
with char n-grams (minn 2, maxn 4), ova, ns, and a quantized .ftz (pruned to 2,000 rows,
retrained, qnorm). Both tools then print predict-prob for k = 1, 3 and -1 (all), and with a
threshold; `test`, `test-label` and `dump` too. Every output must be byte-identical.

Training: `winnow fasttext supervised` with the same flags and one thread must write the same
.bin and .vec files, byte for byte, for each of those models and for a few more variants
(explicit -lr, minCount and seed, minCountLabel, another label prefix, a file without a final
newline). `winnow fasttext quantize` must write the same .ftz as `fasttext quantize` (pruning,
retraining, k-means and all), except for the order of the pruned-bucket map, which fastText
writes in its hash table's order: the files are compared with that map sorted. The C++ CLI
must load Winnow's models and predict what Winnow predicts. A
two-thread Winnow model (not deterministic, as in fastText) must load in the C++ CLI and be
about as accurate. Exit 1 on any difference.
"""

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "Samples", "quality", "corpus.jsonl.zst")

MODELS = [
    ("softmax-bigrams", "sm", ["-wordNgrams", "2", "-bucket", "20000"]),
    ("hs", "hs", ["-loss", "hs"]),
    ("subwords-2-4", "sub", ["-minn", "2", "-maxn", "4", "-bucket", "20000"]),
    ("ova", "ova", ["-loss", "ova"]),
    ("ns", "ns", ["-loss", "ns"]),
]
RUNS = [["1"], ["3"], ["-1"], ["-1", "0.05"], ["2", "0.5"]]
# Training variants checked for byte identity only (file: "train" or "train-nonl").
VARIANTS = [
    ("explicit -lr, minn 2 maxn 3, bigrams", "train", ["-lr", "0.1", "-minn", "2", "-maxn", "3", "-wordNgrams", "2",
                                                       "-bucket", "5000", "-epoch", "2"]),
    ("hs, minCount 2, seed 7", "train", ["-loss", "hs", "-minCount", "2", "-seed", "7", "-lr", "0.5"]),
    ("ova, no final newline, minCountLabel 300", "train-nonl", ["-loss", "ova", "-minCountLabel", "300"]),
    ("ns neg 3, label prefix lang=, lrUpdateRate 7", "train-prefix", ["-loss", "ns", "-neg", "3", "-label", "lang=",
                                                                      "-lrUpdateRate", "7"]),
]


def fasttext_cli():
    path = shutil.which("fasttext")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing the Debian package fasttext", file=sys.stderr, flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "fasttext"], check=True, env=env, stdout=subprocess.DEVNULL)
        return shutil.which("fasttext")
    sys.exit("the C++ fastText CLI is missing: apt-get install fasttext")


def canonical_model(b):
    """A model file with its pruned-bucket map (written in hash-table order) sorted by bucket."""
    pos = 8 + 56
    size, _, _, _, pairs = struct.unpack_from("<iiiqq", b, pos)
    pos += 28
    for _ in range(size):
        pos = b.index(b"\0", pos) + 1 + 9
    if pairs > 0:
        items = sorted((b[pos + 8 * i: pos + 8 * i + 8] for i in range(pairs)), key=lambda p: struct.unpack("<i", p[:4])[0])
        b = b[:pos] + b"".join(items) + b[pos + 8 * pairs:]
    return b


# quantize runs: (name, model stem to start from, flags)
QUANTIZE = [
    ("cutoff 2000, retrain, qnorm", "sub", ["-cutoff", "2000", "-retrain", "-qnorm"]),
    ("no pruning, dsub 4", "sm", ["-dsub", "4"]),
    ("cutoff 3000, no retraining, ova", "ova", ["-cutoff", "3000", "-qnorm", "-dsub", "3"]),
    ("cutoff 1500, retrain -epoch 2 -lr 0.2, hs", "hs", ["-cutoff", "1500", "-retrain", "-epoch", "2", "-lr", "0.2"]),
]


def make_data(work):
    docs = subprocess.run(["zstd", "-dcq", CORPUS], check=True, capture_output=True).stdout.decode("utf-8").splitlines()
    rng = random.Random(3)
    lines = []
    for line in docs:
        d = json.loads(line)
        lang = d.get("lang")
        if not lang:
            continue
        labels = "__label__" + lang + (" __label__extra" if rng.random() < 0.1 else "")
        lines.append(labels + " " + " ".join(d["text"].split())[:600])
    rng.shuffle(lines)
    n = len(lines) * 8 // 10
    train = os.path.join(work, "train.txt")
    with open(train, "w", encoding="utf-8") as f:
        f.write("\n".join(lines[:n]) + "\n")
    with open(os.path.join(work, "train-nonl.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines[:n // 2]))
    with open(os.path.join(work, "train-prefix.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(l.replace("__label__", "lang=") for l in lines[:n // 2]) + "\n")
    edge = [b"", b"   ", b"\t\tword\r", b"a literal </s> in the middle", b"__label__en only label",
            b"nul\x00byte here", b"caf\xe9 latin1 \x80\xbf stray"]
    test = os.path.join(work, "test.txt")
    with open(test, "wb") as f:
        f.write(b"\n".join([l.encode("utf-8") for l in lines[n:]] + edge))  # no final newline
    return train, test, n, len(lines) - n + len(edge)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--winnow", required=True)
    ap.add_argument("--keep-work", action="store_true")
    args = ap.parse_args()
    ft = fasttext_cli()
    work = tempfile.mkdtemp(prefix="winnow-fasttext-")
    train, test, ntrain, ntest = make_data(work)
    print(f"data: {ntrain} training lines, {ntest} test lines (edge cases included), 25 languages + __label__extra")
    models = []
    for name, stem, flags in MODELS:
        out = os.path.join(work, stem)
        subprocess.run([ft, "supervised", "-input", train, "-output", out, "-dim", "16", "-epoch", "5", "-thread", "1",
                        "-verbose", "0", *flags], check=True)
        models.append((name, out + ".bin"))
    q = os.path.join(work, "q")
    shutil.copy(os.path.join(work, "sub.bin"), q + ".bin")
    subprocess.run([ft, "quantize", "-input", train, "-output", q, "-cutoff", "2000", "-retrain", "-thread", "1", "-qnorm"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    models.append(("quantized .ftz (cutoff 2000, retrain, qnorm)", q + ".ftz"))
    failures = 0

    def same(what, ref, got):
        nonlocal failures
        ok = ref == got
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} {what}{' identical' if ok else ' DIFFERS'}")

    def run(cmd):
        return subprocess.run(cmd, check=True, capture_output=True).stdout

    # Training: the same flags give the same files.
    trainings = [(name, "train", flags + ["-dim", "16", "-epoch", "5"]) for name, _, flags in MODELS]
    trainings += [(name, data, flags + ["-dim", "16"]) for name, data, flags in VARIANTS]
    for i, (name, data, flags) in enumerate(trainings):
        ref_out, got_out = os.path.join(work, f"ref-{i}"), os.path.join(work, f"winnow-{i}")
        inp = os.path.join(work, data + ".txt")
        subprocess.run([ft, "supervised", "-input", inp, "-output", ref_out, "-thread", "1", "-verbose", "0", *flags],
                       check=True)
        subprocess.run([args.winnow, "fasttext", "supervised", "-input", inp, "-output", got_out, "-thread", "1",
                        "-verbose", "0", *flags], check=True)
        for ext in (".bin", ".vec"):
            with open(ref_out + ext, "rb") as a, open(got_out + ext, "rb") as b:
                same(f"training {name}: {ext} ({os.path.getsize(ref_out + ext)} bytes)", a.read(), b.read())
        # The C++ CLI reads Winnow's model and predicts as Winnow does.
        same(f"training {name}: fasttext predict-prob on Winnow's model",
             run([args.winnow, "fasttext", "predict-prob", got_out + ".bin", test, "-1"]),
             run([ft, "predict-prob", got_out + ".bin", test, "-1"]))

    # Quantization: the same .ftz (up to the order of the pruned-bucket map), and the C++ CLI
    # predicts Winnow's .ftz as Winnow does.
    for name, stem, flags in QUANTIZE:
        ref_q, got_q = os.path.join(work, f"refq-{stem}"), os.path.join(work, f"winq-{stem}")
        shutil.copy(os.path.join(work, stem + ".bin"), ref_q + ".bin")
        shutil.copy(os.path.join(work, stem + ".bin"), got_q + ".bin")
        qflags = ["-input", train, "-thread", "1", *flags]
        subprocess.run([ft, "quantize", "-output", ref_q, *qflags], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run([args.winnow, "fasttext", "quantize", "-output", got_q, *qflags], check=True)
        with open(ref_q + ".ftz", "rb") as a, open(got_q + ".ftz", "rb") as b:
            same(f"quantize {name}: .ftz ({os.path.getsize(ref_q + '.ftz')} bytes, pruned-bucket map sorted)",
                 canonical_model(a.read()), canonical_model(b.read()))
        same(f"quantize {name}: fasttext predict-prob on Winnow's .ftz",
             run([args.winnow, "fasttext", "predict-prob", got_q + ".ftz", test, "-1"]),
             run([ft, "predict-prob", got_q + ".ftz", test, "-1"]))

    # Two threads: lock-free like fastText, so not reproducible; it must still load and learn.
    two = os.path.join(work, "two-threads")
    subprocess.run([args.winnow, "fasttext", "supervised", "-input", train, "-output", two, "-thread", "2", "-dim", "16",
                    "-verbose", "0"], check=True)
    p_two = float(run([ft, "test", two + ".bin", test]).split()[3])
    p_one = float(run([ft, "test", os.path.join(work, "winnow-0.bin"), test]).split()[3])
    ok = p_two >= p_one - 0.05
    failures += not ok
    print(f"{'PASS' if ok else 'FAIL'} two-thread training: P@1 {p_two} (one thread, bigrams: {p_one})")

    for name, path in models:
        for verb in ("test", "test-label"):
            for r in (["1"], ["3", "0.1"]):
                same(f"{name}: {verb} {' '.join(r)}", run([ft, verb, path, test, *r]),
                     run([args.winnow, "fasttext", verb, path, test, *r]))
        for what in ("args", "dict", "input", "output"):
            ref = subprocess.run([ft, "dump", path, what], check=True, capture_output=True)
            got = subprocess.run([args.winnow, "fasttext", "dump", path, what], check=True, capture_output=True)
            same(f"{name}: dump {what}", ref.stdout + ref.stderr, got.stdout + got.stderr)

    for name, path in models:
        for run in RUNS:
            for verb in (["predict-prob"] if run != ["3"] else ["predict-prob", "predict"]):
                ref = subprocess.run([ft, verb, path, test, *run], check=True, capture_output=True).stdout
                got = subprocess.run([args.winnow, "fasttext", verb, path, test, *run], check=True, capture_output=True).stdout
                ok = ref == got
                failures += not ok
                lines = ref.count(b"\n")
                detail = "" if ok else f" — {sum(a != b for a, b in zip(ref.splitlines(), got.splitlines()))} lines differ"
                print(f"{'PASS' if ok else 'FAIL'} {name}: {verb} k/th {' '.join(run)}: {lines} lines{' identical' if ok else ''}{detail}")
    if not args.keep_work:
        shutil.rmtree(work)
    else:
        print(f"work: {work}")
    if failures:
        print(f"{failures} comparisons FAILED")
        return 1
    print("all fastText prediction checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
