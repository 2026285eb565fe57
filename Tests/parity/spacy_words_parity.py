#!/usr/bin/env python3
"""Parity of Winnow's word splitter with spaCy's English tokenizer, token for token.

    python3 Tests/parity/spacy_words_parity.py --winnow .build/debug/winnow

datatrove's Gopher, C4 and FineWeb filters count the tokens of `spacy.blank("en")` (whitespace
tokens left out) as words, so `winnow words` must give exactly those tokens. Compared here, in
the pinned peer venv (spaCy 3.8, see peers.py), on:

1. documents of Samples/quality/corpus.jsonl.zst (Debian documentation and man pages in two
   dozen languages: long technical text with options, paths, code and version numbers);
2. generated texts strung together from fragments chosen to reach every path of the splitter:
   Unicode whitespace of every kind (alone, in runs, between and around words), special cases
   and emoticons inside and around punctuation, prefixes, suffixes and infixes of ASCII and
   other scripts, URLs with and without scheme, user, port and path, IP addresses, e-mail
   addresses, numbers with units and currency signs;
3. the same generator with long runs (texts of a few thousand tokens), where tokens are handed
   out in batches and special cases must be found across batch boundaries.

Every text must give the same token list; the first differences are printed.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from peers import peer_python  # noqa: E402

CORPUS = os.path.join(ROOT, "Samples", "quality", "corpus.jsonl.zst")

# Fragments for generated text. Whitespace: ASCII, NBSP, ideographic space, line and paragraph
# separators, thin space, NEL, information separators (Python's str.isspace).
FRAGMENTS = [
    " ", "  ", "\t", "\n", "\n\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\u2029", "\u2009", "\u0085", "\x1c", "\x1f",
    "a", "word", "Words", "can't", "won't", "I'm", "e.g.", "i.e.", "Mr.", "Ph.D.", "U.S.", "a.m.", "o'clock",
    ":)", ":-)", "(:", ";)", "<3", "=)", ":P", "xD", "^_^", "-_-", "¯\\_(ツ)_/¯",
    "(", ")", "[", "]", "{", "}", "\"", "'", "`", "''", "``", "«", "»", "“", "”", "‘", "’", "—", "–", "-", "--", "...", "…",
    ",", ".", "!", "?", ";", ":", "/", "\\", "|", "*", "&", "%", "#", "+", "=", "<", ">", "~", "^", "_",
    "'s", "'S", "n't", "5km", "10kg", "3.5", "1,000", "$5", "€10", "£3", "¥", "10%", "°C.", "100°F", "2nd", "1990s",
    "http://x.org/a?b=c#d", "https://www.example.com:8080/path", "www.debian.org", "ftp://ftp.gnu.org/", "user@host.org",
    "mailto:a@b.co", "a:b@c.io", "10.0.0.1", "192.168.1.1", "8.8.8.8", "os.path.join()", "foo.bar.Baz", "v1.2.3",
    "git+ssh://git@host.org/r.git", "x://y@host.com", "a@b@c.org", "<user@example.com>", "j.doe+tag@mail.example.co.uk",
    "h://a.com", "https://localhost/", "example.com/x://y", "root@10.0.0.1", "@home", "ab://", "://",
    "--foo=bar", "-v", "/usr/bin/env", "~/.config", "C:\\Windows", "a-b", "a/b", "x=1", "f(x)", "[1]", "#include",
    "é", "naïve", "Straße", "über", "日本語", "中文。", "한국어", "Русский", "ελληνικά", "עברית", "العربية", "हिन्दी",
    "😀", "👍🏽", "ℹ", "™", "©", "\u200b", "\u00ad", "\ufeff",
]


def generated(rng: random.Random, count: int, lo: int, hi: int) -> list[str]:
    return ["".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(lo, hi))) for _ in range(count)]


def corpus_texts(limit: int, rng: random.Random) -> list[str]:
    raw = subprocess.run(["zstd", "-dc", CORPUS], check=True, capture_output=True).stdout
    texts = [json.loads(line)["text"] for line in raw.splitlines() if line.strip()]
    return rng.sample(texts, min(limit, len(texts)))


SPACY_SCRIPT = r"""
import json, sys
import spacy
nlp = spacy.blank("en")
out = []
for line in open(sys.argv[1], encoding="utf-8"):
    text = json.loads(line)["text"]
    out.append([t.text for t in nlp.make_doc(text) if not t.is_space])
json.dump(out, open(sys.argv[2], "w"))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--winnow", required=True)
    ap.add_argument("--python", help="a Python with spaCy (default: the pinned peer venv)")
    ap.add_argument("--corpus-docs", type=int, default=1500)
    ap.add_argument("--generated", type=int, default=6000)
    args = ap.parse_args()
    python = args.python or peer_python()
    rng = random.Random(20261207)
    sets = [
        ("Samples/quality documents", corpus_texts(args.corpus_docs, rng)),
        ("generated short texts", generated(rng, args.generated, 1, 30)),
        ("generated long texts (batched)", generated(rng, 40, 2000, 6000)),
    ]
    failed = False
    with tempfile.TemporaryDirectory(prefix="winnow-spacy-words-") as tmp:
        for name, texts in sets:
            inp = os.path.join(tmp, "in.jsonl")
            with open(inp, "w", encoding="utf-8") as f:
                for i, t in enumerate(texts):
                    f.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")
            ref = os.path.join(tmp, "ref.json")
            subprocess.run([python, "-c", SPACY_SCRIPT, inp, ref], check=True)
            want = json.load(open(ref))
            r = subprocess.run([args.winnow, "words", inp], capture_output=True)
            if r.returncode != 0:
                print(f"FAIL {name}: winnow words exit {r.returncode}: {r.stderr.decode()[:300]}")
                failed = True
                continue
            got = [json.loads(line)["words"] for line in r.stdout.decode().splitlines()]
            differ = [i for i in range(len(texts)) if i >= len(got) or got[i] != want[i]]
            tokens = sum(len(w) for w in want)
            if differ or len(got) != len(texts):
                failed = True
                print(f"FAIL {name}: {len(differ)} of {len(texts)} texts differ ({len(got)} lines from winnow)")
                for i in differ[:5]:
                    g = got[i] if i < len(got) else None
                    at = next((k for k in range(min(len(g or []), len(want[i]))) if g[k] != want[i][k]),
                              min(len(g or []), len(want[i])))
                    print(f"  text {i}: at token {at}: winnow {g[max(0, at - 2):at + 3] if g else g!r} "
                          f"spaCy {want[i][max(0, at - 2):at + 3]}")
            else:
                print(f"PASS {name}: {len(texts)} texts, {tokens:,} tokens identical")
    if failed:
        sys.exit(1)
    print("all spaCy word-splitting checks passed")


if __name__ == "__main__":
    main()
