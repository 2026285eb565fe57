#!/usr/bin/env python3
"""fastText word vectors: `winnow fasttext skipgram|cbow` and the vector commands against the
C++ fastText 0.9.2 CLI (Debian package `fasttext`), byte for byte.

    python3 Tests/parity/fasttext_vectors_parity.py --winnow .build/debug/winnow [--keep-work]

Text: the lines of Samples/quality/corpus.jsonl.zst (Debian man pages, documentation and
licences in 24 languages), about 400 kB; plus a file of three 3,000-word lines (longer than
fastText's 1,024-token line limit, with fewer newlines than -minCount, so that `</s>` is not in
the vocabulary, and labels mixed into the text) and a file without a final newline.

Training (one thread): skipgram and cbow with ns, hs, softmax and ova, with and without char
n-grams, other -ws, -neg, -t, -seed, -lr, -lrUpdateRate, -minCount and -saveOutput. The .bin,
.vec (and .output) files must be identical; the C++ CLI must read Winnow's models and print
the same sentence vectors.

Vectors: for word-vector models and for classifiers (word bigrams with char n-grams, and its
quantized .ftz), `print-word-vectors`, `print-sentence-vectors`, `nn` (k 10 and 3) and
`analogies` (k 4) on text with edge cases (empty and blank lines, tabs and CR, a literal
`</s>`, a NUL byte, Latin-1 and stray UTF-8 continuation bytes, non-Latin scripts, a
5,000-word line, no final newline) must print the same bytes. fastText's `analogies` repeats
its last triplet forever at the end of its input; Winnow's output must be a prefix of its
output up to there.

The `embed` stage: on documents of several lines (the last 300 text lines, each followed by a
second line, plus empty, blank, Unicode and tab-and-CR texts; invalid UTF-8 never reaches a
stage, the reader quarantines it), the vectors it writes (base64 float32) must print, with fastText's 5 significant digits, what `print-sentence-vectors`
prints for each text on one line; its JSON arrays must hold the same float32 values and its
float16 ones the same values to float16 precision. Exit 1 on any difference.
"""

import argparse
import base64
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fasttext_parity import fasttext_cli  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "Samples", "quality", "corpus.jsonl.zst")

TRAININGS = [
    ("skipgram ns, char n-grams 3-6", "skipgram", "text", ["-dim", "16", "-bucket", "20000", "-epoch", "2"]),
    ("cbow ns, char n-grams 3-6", "cbow", "text", ["-dim", "16", "-bucket", "20000", "-epoch", "2"]),
    ("skipgram hs, minCount 2", "skipgram", "text", ["-dim", "12", "-bucket", "5000", "-epoch", "1", "-loss", "hs",
                                                    "-minCount", "2"]),
    ("cbow softmax, minCount 20", "cbow", "text", ["-dim", "8", "-bucket", "2000", "-epoch", "1", "-loss", "softmax",
                                                  "-minCount", "20"]),
    ("skipgram no char n-grams, ws 3, neg 3, t 0.001, seed 5, lr 0.1", "skipgram", "text",
     ["-dim", "10", "-maxn", "0", "-epoch", "2", "-ws", "3", "-neg", "3", "-t", "0.001", "-seed", "5", "-lr", "0.1"]),
    ("cbow ova, minn 2 maxn 3, minCount 50", "cbow", "text", ["-dim", "8", "-bucket", "1000", "-epoch", "1", "-loss", "ova",
                                                             "-minCount", "50", "-minn", "2", "-maxn", "3"]),
    ("skipgram -saveOutput, lrUpdateRate 7, wordNgrams 2", "skipgram", "text",
     ["-dim", "8", "-bucket", "1000", "-epoch", "1", "-lrUpdateRate", "7", "-wordNgrams", "2", "-saveOutput"]),
    ("skipgram, 3,000-word lines, </s> below minCount, labels in text", "skipgram", "long",
     ["-dim", "8", "-bucket", "3000", "-epoch", "3"]),
    ("cbow, no final newline, labels in text", "cbow", "nonl", ["-dim", "8", "-bucket", "3000", "-epoch", "2",
                                                               "-minCount", "3"]),
]
QUERIES = "linux the kernel qzxqzxq ünïcödé файл 日本語 </s> __label__x a"
TRIPLETS = "linux kernel the\nman page file\nqzxqzx a b\nfile files directory\n"


def make_data(work):
    docs = subprocess.run(["zstd", "-dcq", CORPUS], check=True, capture_output=True).stdout.decode("utf-8").splitlines()
    lines, size = [], 0
    for doc in docs:
        for line in json.loads(doc)["text"].split("\n"):
            line = " ".join(line.split())
            if line:
                lines.append(line)
                size += len(line)
        if size > 400_000:
            break
    paths = {name: os.path.join(work, name + ".txt") for name in ("text", "long", "nonl", "edge")}
    with open(paths["text"], "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    rng = random.Random(11)
    vocab = sorted({w for line in lines[:400] for w in line.split()})[:500] + ["__label__x", "__label__y"]
    with open(paths["long"], "w", encoding="utf-8") as f:
        for _ in range(3):
            f.write(" ".join(rng.choice(vocab) for _ in range(3000)) + "\n")
    with open(paths["nonl"], "w", encoding="utf-8") as f:
        f.write("\n".join(("__label__x " if i % 5 == 0 else "") + l for i, l in enumerate(lines[:2000])))
    edge = [b"", b"   ", b"\t\tword\r", b"a literal </s> in the middle", b"__label__en only label",
            b"nul\x00byte here", b"caf\xe9 latin1 \x80\xbf stray", "ünïcödé 日本語 текст файл".encode("utf-8"),
            " ".join(rng.choice(vocab[:-2]) for _ in range(5000)).encode("utf-8")]  # no labels: fastText aborts on them
    with open(paths["edge"], "wb") as f:
        f.write(b"\n".join([l.encode("utf-8") for l in lines[-300:]] + edge))  # no final newline
    return paths, len(lines)


def analogies_prefix(ft, model, k, triplets, want):
    """fastText's analogies output up to `want` bytes and a little more (it never ends by itself)."""
    p = subprocess.Popen([ft, "analogies", model, str(k)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    p.stdin.write(triplets.encode())
    p.stdin.close()
    out = b""
    while len(out) < want + 200:
        chunk = p.stdout.read1(65536)
        if not chunk:
            break
        out += chunk
    p.kill()
    p.wait()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--winnow", required=True)
    ap.add_argument("--keep-work", action="store_true")
    args = ap.parse_args()
    ft = fasttext_cli()
    work = tempfile.mkdtemp(prefix="winnow-ftvec-")
    paths, nlines = make_data(work)
    print(f"data: {nlines} lines of text, a 3 × 3,000-word file, a file without a final newline, an edge-case file")
    failures = 0

    def same(what, ref, got):
        nonlocal failures
        ok = ref == got
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} {what}{' identical' if ok else ' DIFFERS'}")

    def output(cmd, stdin_path=None, text=None):
        if stdin_path:
            with open(stdin_path, "rb") as f:
                return subprocess.run(cmd, check=True, stdin=f, capture_output=True).stdout
        return subprocess.run(cmd, check=True, input=text.encode(), capture_output=True).stdout

    models = []
    for i, (name, verb, data, flags) in enumerate(TRAININGS):
        ref, got = os.path.join(work, f"ref-{i}"), os.path.join(work, f"winnow-{i}")
        common = ["-input", paths[data], "-thread", "1", "-verbose", "0", *flags]
        subprocess.run([ft, verb, "-output", ref, *common], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([args.winnow, "fasttext", verb, "-output", got, *common], check=True)
        for ext in (".bin", ".vec") + ((".output",) if "-saveOutput" in flags else ()):
            with open(ref + ext, "rb") as a, open(got + ext, "rb") as b:
                same(f"{verb} {name}: {ext} ({os.path.getsize(ref + ext)} bytes)", a.read(), b.read())
        same(f"{verb} {name}: fasttext print-sentence-vectors on Winnow's model",
             output([ft, "print-sentence-vectors", got + ".bin"], paths["edge"]),
             output([args.winnow, "fasttext", "print-sentence-vectors", got + ".bin"], paths["edge"]))
        if i in (0, 1, 4):
            models.append((f"{verb} {name}", ref + ".bin"))

    # Classifiers: their sentence vectors are the mean of the rows predict sums.
    sup = os.path.join(work, "sup.txt")
    with open(paths["text"], encoding="utf-8") as f, open(sup, "w", encoding="utf-8") as g:
        for j, line in enumerate(f):
            g.write(("__label__a " if j % 3 else "__label__b ") + line)
    sref = os.path.join(work, "sup")
    subprocess.run([ft, "supervised", "-input", sup, "-output", sref, "-dim", "10", "-wordNgrams", "2", "-minn", "2",
                    "-maxn", "4", "-bucket", "5000", "-epoch", "2", "-thread", "1", "-verbose", "0"], check=True)
    subprocess.run([ft, "quantize", "-input", sup, "-output", sref, "-cutoff", "800", "-retrain", "-qnorm", "-thread", "1",
                    "-verbose", "0"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    models += [("classifier (bigrams, char n-grams 2-4)", sref + ".bin"), ("quantized classifier .ftz", sref + ".ftz")]

    for name, model in models:
        for verb in ("print-word-vectors", "print-sentence-vectors"):
            ref = output([ft, verb, model], paths["edge"])
            nl = ref.count(b"\n")
            same(f"{name}: {verb} ({nl} lines)", ref,
                 output([args.winnow, "fasttext", verb, model], paths["edge"]))
        for k in ([], ["3"]):
            same(f"{name}: nn {' '.join(k) or '(k 10)'}", output([ft, "nn", model, *k], text=QUERIES),
                 output([args.winnow, "fasttext", "nn", model, *k], text=QUERIES))
        got = output([args.winnow, "fasttext", "analogies", model, "4"], text=TRIPLETS)
        ref = analogies_prefix(ft, model, 4, TRIPLETS, len(got))
        ok = len(ref) > len(got) and ref.startswith(got) and got.count(b"? ") == 5
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: analogies k 4 (4 triplets){' identical up to the end of input' if ok else ' DIFFERS'}")

    # The embed stage: fastText's sentence vector of each document's text on one line.
    docs = os.path.join(work, "docs.jsonl")
    one_line = os.path.join(work, "docs-one-line.txt")
    with open(paths["text"], encoding="utf-8") as f:
        texts = [line.rstrip("\n") + "\nand a second line" for line in f.readlines()[-300:]]
    texts += ["", "   ", "ünïcödé 日本語\nтекст файл", "tab\tseparated\r\nwords"]
    with open(docs, "w", encoding="utf-8") as f, open(one_line, "w", encoding="utf-8") as g:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": str(i), "text": t}) + "\n")
            g.write(t.replace("\n", " ") + "\n")

    def embedded(model, encoding):
        out = subprocess.run([args.winnow, "embed", "--model", model, "--encoding", encoding, docs], check=True,
                             capture_output=True).stdout.decode("utf-8").splitlines()
        vectors = []
        for line in out:
            v = json.loads(line)["embedding"]
            if encoding == "json":
                vectors.append([struct.unpack("<f", struct.pack("<f", x))[0] for x in v])
            else:
                raw = base64.b64decode(v[4:])
                fmt = "<%d%s" % (len(raw) // (4 if encoding == "f32" else 2), "f" if encoding == "f32" else "e")
                vectors.append(list(struct.unpack(fmt, raw)))
        return vectors

    for name, model in models:
        f32 = embedded(model, "f32")
        printed = b"".join(("".join("%.5g " % x for x in v) + "\n").encode() for v in f32)
        ref = output([ft, "print-sentence-vectors", model], one_line)
        nl = ref.count(b"\n")
        same(f"{name}: embed stage vectors = print-sentence-vectors of each text on one line ({nl} documents)",
             ref.replace(b"-0 ", b"0 "), printed.replace(b"-0 ", b"0 "))
        same(f"{name}: embed --encoding json holds the same float32 values", f32, embedded(model, "json"))
        half = [[struct.unpack("<e", struct.pack("<e", x))[0] for x in v] for v in f32]
        same(f"{name}: embed --encoding f16 holds them at float16 precision", half, embedded(model, "f16"))

    # Two threads: lock-free like fastText, so not reproducible; the C++ CLI must read the model.
    two = os.path.join(work, "two-threads")
    subprocess.run([args.winnow, "fasttext", "skipgram", "-input", paths["text"], "-output", two, "-thread", "2", "-dim", "8",
                    "-bucket", "2000", "-epoch", "1", "-verbose", "0"], check=True)
    same("two-thread skipgram: fasttext print-word-vectors on Winnow's model",
         output([ft, "print-word-vectors", two + ".bin"], text=QUERIES),
         output([args.winnow, "fasttext", "print-word-vectors", two + ".bin"], text=QUERIES))

    if not args.keep_work:
        shutil.rmtree(work)
    else:
        print(f"work: {work}")
    if failures:
        print(f"{failures} comparisons FAILED")
        return 1
    print("all fastText word-vector checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
