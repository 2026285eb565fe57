#!/usr/bin/env python3
"""`winnow pii-redact` against datatrove's PIIFormatter, document by document.

    python3 Tests/parity/pii_parity.py --winnow .build/debug/winnow
    python3 Tests/parity/pii_parity.py --winnow … --python /path/to/venv/bin/python

Builds a corpus of a few thousand documents — synthetic lines dense with e-mail addresses, IP
addresses and near misses (dots and hyphens in the wrong places, bracketed domains, leading
zeros, private and reserved networks, letters of other scripts right before an address) plus
real text from Debian's documentation (changelogs are full of e-mail addresses) and licences
— runs datatrove's PIIFormatter (in the peer Python, `--python`, by default the pinned venv
of Tests/parity/peers.py) and `winnow pii-redact` with the same settings over the same JSONL,
and compares every document's output text. Each check prints PASS or FAIL with figures; the
last line is `N passed, M failed`, and the exit code is 1 when anything failed.
"""

import argparse
import glob
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PASSED = 0
FAILED = 0

EMAIL_REPLACEMENTS = ("email@example.com", "firstname.lastname@example.org")
IP_REPLACEMENTS = ("22.214.171.124", "126.96.36.199", "188.8.131.52", "184.108.40.206", "220.127.116.11", "18.104.22.168")

# Runs in the peer Python: datatrove's PIIFormatter over a JSONL file, through its run() method
# (one formatter for the whole stream, as a datatrove task has; or a fresh one per document).
DATATROVE_SCRIPT = r"""
import json, sys
from datatrove.data import Document
from datatrove.pipeline.formatters import PIIFormatter
inp, out, kwargs, per_document = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
for k in ("email_replacement", "ip_replacement"):
    if isinstance(kwargs.get(k), list):
        kwargs[k] = tuple(kwargs[k])
docs = [json.loads(line) for line in open(inp, encoding="utf-8")]
def documents():
    for d in docs:
        yield Document(text=d["text"], id=d["id"])
if per_document:
    result = [next(PIIFormatter(**kwargs).run(iter([doc]))) for doc in documents()]
else:
    result = list(PIIFormatter(**kwargs).run(documents()))
with open(out, "w", encoding="utf-8") as f:
    for d in result:
        f.write(json.dumps({"id": d.id, "text": d.text}, ensure_ascii=False) + "\n")
"""


def report(ok, name, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
    else:
        FAILED += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


# --------------------------------------------------------------------------------------
# the corpus

LOCAL_PARTS = [
    "john", "john.doe", "j.d", "a", "x1", "first_last", "o'brien", "tag+news", "a..b", ".lead", "trail.",
    "-dash", "_under", "very.long.name.with.dots", "user%pct", "müller", "ü", "日本", "a!#$%&'*+/=?^`{|}~-",
    "1.2.3.4", "ZZ.Top", "q", "support", "no-reply", "x..", "", "name.", "..", "b.o.b",
]
DOMAINS = [
    "example.com", "mail.example.co.uk", "a.b", "localhost", "x.y.", "sub-domain.org", "-bad.com", "bad-.com",
    "a--b.com", "exa_mple.com", "[192.168.1.1]", "[1.2.3.IPv6:]", "[1.2.3.999]", "[1.2.3]", "[01.2.3.4]",
    "[1.2.3.4x:]", "123.45.67.89", "xn--bcher-kva.ch", "bücher.de", "例え.jp", "com", "c.o.m.", "", "a.b.c.d.e.f",
    "x.y-", "x.-y.com", "host.name.", "debian.org", "lists.debian.org", "[255.255.255.255]", "[256.1.1.1]",
]
BEFORE = ["", "", " ", "mail: ", "<", "(", "é", "ü", "中", "は", "ж", "²", "\u0301", "-", ".", "@", "x", "_", "：", "mailto:", "\n", "\t", "'", "\""]
AFTER = ["", "", " ", ">", ")", ".", ",", "-", "まで", "。", "x", "@other.org", ":25", "/path", "\n", "..", "_", "é"]
OCTETS = ["0", "1", "8", "9", "10", "25", "99", "100", "127", "169", "172", "192", "198", "203", "224", "240",
          "250", "255", "256", "300", "01", "001", "08", "099", "1999", "1234", "64", "168", "254", "2", "18", "51"]
WORDS = ["the", "server", "at", "version", "released", "on", "call", "IP", "address", "contact", "us", "é", "中文",
         "Привет", "日本語", "und", "v", "build", "2021.10.05", "1.2.3", "3.14", "ip:", "host", "from", "to"]


def synthetic(rng, n):
    """Lines built from pieces that hit every branch of both patterns."""

    def email():
        return rng.choice(BEFORE) + rng.choice(LOCAL_PARTS) + "@" + rng.choice(DOMAINS) + rng.choice(AFTER)

    def ip():
        parts = [rng.choice(OCTETS) for _ in range(rng.choice([3, 4, 4, 4, 4, 5]))]
        if rng.random() < 0.3:  # real-looking public and private addresses
            parts = rng.choice([["8", "8", "8", "8"], ["192", "168", "0", str(rng.randrange(256))],
                                ["10", str(rng.randrange(256)), "0", "1"], ["100", str(rng.randrange(60, 130)), "1", "1"],
                                [str(rng.randrange(1, 256)) for _ in range(4)]])
        return rng.choice(BEFORE) + ".".join(parts) + rng.choice(AFTER)

    lines = []
    for _ in range(n):
        pieces = []
        for _ in range(rng.randrange(1, 8)):
            r = rng.random()
            pieces.append(email() if r < 0.4 else ip() if r < 0.75 else rng.choice(WORDS))
        sep = rng.choice([" ", " ", "", ", ", "\n"])
        lines.append(sep.join(pieces))
    return lines


def real_text(limit):
    """Chunks of Debian documentation and licences (sorted, so the corpus is the same each run)."""
    chunks = []
    files = sorted(glob.glob("/usr/share/doc/**/*.gz", recursive=True))
    files += sorted(glob.glob("/usr/share/common-licenses/*"))
    for path in files:
        try:
            if path.endswith(".gz"):
                with gzip.open(path, "rt", encoding="utf-8", errors="strict") as f:
                    text = f.read(200_000)
            else:
                with open(path, encoding="utf-8") as f:
                    text = f.read(200_000)
        except (OSError, UnicodeDecodeError, EOFError):
            continue
        lines = text.split("\n")
        for k in range(0, min(len(lines), 400), 25):
            chunk = "\n".join(lines[k:k + 25]).strip()
            if chunk:
                chunks.append(chunk)
        if len(chunks) >= limit:
            break
    return chunks[:limit]


def write_corpus(path, texts):
    with open(path, "w", encoding="utf-8") as f:
        for k, t in enumerate(texts):
            f.write(json.dumps({"id": f"d{k}", "text": t}, ensure_ascii=False) + "\n")


def read_texts(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            out[d["id"]] = d["text"]
    return out


# --------------------------------------------------------------------------------------
# running both sides


def run_datatrove(python, inp, out, kwargs, per_document):
    t0 = time.monotonic()
    subprocess.run([python, "-c", DATATROVE_SCRIPT, inp, out, json.dumps(kwargs), "1" if per_document else "0"],
                   check=True)
    return time.monotonic() - t0


def run_winnow(winnow, inp, out, args):
    t0 = time.monotonic()
    p = subprocess.run([winnow, "pii-redact", *args, inp, "-o", out, "--no-progress"], capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"winnow exited {p.returncode}: {p.stderr.decode(errors='replace')}")
    return time.monotonic() - t0


def replacements(kwargs, key, default):
    r = kwargs.get(key, default)
    return {r} if isinstance(r, str) else set(r)


def compare(name, tmp, corpus, texts, python, winnow, kwargs, flags, per_document=False, n_synthetic=0):
    py_out = os.path.join(tmp, name + ".datatrove.jsonl")
    wn_out = os.path.join(tmp, name + ".winnow.jsonl")
    try:
        t_py = run_datatrove(python, corpus, py_out, kwargs, per_document)
        t_wn = run_winnow(winnow, corpus, wn_out, flags)
    except Exception as e:  # a crash of either side is a failure of the check
        return report(False, name, repr(e))
    want = read_texts(py_out)
    got = read_texts(wn_out)
    ids = [f"d{k}" for k in range(len(texts))]
    agree = sum(1 for i in ids if got.get(i) == want.get(i))
    changed = sum(1 for i, t in zip(ids, texts) if want.get(i) != t)
    changed_real = sum(1 for i, t in list(zip(ids, texts))[n_synthetic:] if want.get(i) != t)
    emails = sum(want[i].count(r) - t.count(r) for i, t in zip(ids, texts)
                 for r in replacements(kwargs, "email_replacement", EMAIL_REPLACEMENTS))
    ips = sum(want[i].count(r) - t.count(r) for i, t in zip(ids, texts)
              for r in replacements(kwargs, "ip_replacement", IP_REPLACEMENTS))
    detail = (f"{agree}/{len(ids)} documents agree; datatrove changed {changed} ({changed_real} of them real text; "
              f"{emails} e-mail and {ips} IP replacements); datatrove {t_py:.2f}s, winnow {t_wn:.2f}s")
    if agree != len(ids):
        shown = 0
        for i, t in zip(ids, texts):
            if got.get(i) != want.get(i):
                detail += f"\n  {i}: input {t[:200]!r}\n    datatrove {want.get(i, '')[:200]!r}\n    winnow    {got.get(i, '')[:200]!r}"
                shown += 1
                if shown == 5:
                    break
    return report(agree == len(ids), name, detail)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--winnow", default=os.path.join(ROOT, ".build", "debug", "winnow"), help="the winnow binary")
    ap.add_argument("--python", help="a Python with datatrove installed (default: the pinned peer venv of peers.py)")
    ap.add_argument("--synthetic", type=int, default=3000, help="synthetic documents (default 3000)")
    ap.add_argument("--real", type=int, default=2000, help="documents of real text (default 2000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the synthetic corpus")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if not os.access(args.winnow, os.X_OK):
        print(f"FAIL setup: {args.winnow} is not an executable (build first, or pass --winnow)")
        print("0 passed, 1 failed")
        return 1
    python = args.python
    if python is None:
        sys.path.insert(0, HERE)
        from peers import peer_python
        python = peer_python()

    rng = random.Random(args.seed)
    texts = synthetic(rng, args.synthetic) + real_text(args.real)
    tmp = tempfile.mkdtemp(prefix="winnow-pii-parity-")
    corpus = os.path.join(tmp, "corpus.jsonl")
    write_corpus(corpus, texts)
    n_real = len(texts) - args.synthetic
    print(f"corpus: {len(texts)} documents ({args.synthetic} synthetic, {n_real} of Debian documentation), "
          f"{os.path.getsize(corpus) / 1e6:.1f} MB, in {tmp}", flush=True)
    report(n_real >= min(args.real, 500), "corpus has real text", f"{n_real} chunks of /usr/share/doc and licences")

    compare("defaults (replacements in turn across the stream)", tmp, corpus, texts, python, args.winnow, {}, [], n_synthetic=args.synthetic)
    compare("every valid IP (only_remove_public_ips=False)", tmp, corpus, texts, python, args.winnow,
            {"only_remove_public_ips": False}, ["--public-ips-only", "false"], n_synthetic=args.synthetic)
    compare("e-mails only", tmp, corpus, texts, python, args.winnow, {"remove_ips": False}, ["--ips", "false"], n_synthetic=args.synthetic)
    compare("IPs only", tmp, corpus, texts, python, args.winnow, {"remove_emails": False}, ["--emails", "false"], n_synthetic=args.synthetic)
    compare("one fixed replacement each", tmp, corpus, texts, python, args.winnow,
            {"email_replacement": "<EMAIL>", "ip_replacement": "<IP>"},
            ["--email-replacement", "<EMAIL>", "--ip-replacement", "<IP>"], n_synthetic=args.synthetic)
    compare("three e-mail replacements in turn", tmp, corpus, texts, python, args.winnow,
            {"email_replacement": ["a@x.org", "b@x.org", "c@x.org"]}, ["--email-replacement", "a@x.org,b@x.org,c@x.org"], n_synthetic=args.synthetic)
    compare("a fresh formatter per document (--cycle document)", tmp, corpus, texts, python, args.winnow, {},
            ["--cycle", "document"], per_document=True, n_synthetic=args.synthetic)

    # Documents winnow leaves alone pass through byte for byte (the line is not re-encoded).
    out = os.path.join(tmp, "defaults (replacements in turn across the stream).winnow.jsonl")
    if os.path.exists(out):
        with open(corpus, "rb") as f:
            inp = f.read().split(b"\n")
        with open(out, "rb") as f:
            outp = f.read().split(b"\n")
        same = [a == b for a, b in zip(inp, outp) if a]
        unchanged = [k for k, t in enumerate(texts) if json.loads(outp[k])["text"] == t]
        report(all(inp[k] == outp[k] for k in unchanged), "unchanged documents are written byte for byte",
               f"{len(unchanged)} unchanged, {sum(same)} identical lines")

    if not args.keep and FAILED == 0:
        for f in glob.glob(os.path.join(tmp, "*")):
            os.remove(f)
        os.rmdir(tmp)
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
