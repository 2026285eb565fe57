#!/usr/bin/env python3
"""Build the corpus that the quality-filter parity test runs on.

    python3 scripts/make-quality-corpus.py [--docs 3000] [--out Samples/quality/corpus.jsonl.zst]

Real multilingual text from the Debian packages installed on this machine (man
pages in every installed locale, package documentation, licence texts), turned
into plain text by scripts/make-samples.py's troff stripper and cut into
documents of ~0.3-8 KB at blank lines. About one document in eight is then
edited the way web text often looks, so that every Gopher, C4 and FineWeb rule
has documents on both sides of its threshold: repeated lines and paragraphs,
bullet lists, lines ending in ellipses, "lorem ipsum", lines mentioning
javascript or cookies, curly brackets, Wikipedia-style citations, short lines.

Deterministic for a given set of installed files (seeded random choices,
sorted listings). Standard library and the `zstd` tool only.
"""

import argparse
import importlib.util
import json
import os
import random
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("make_samples", os.path.join(ROOT, "scripts", "make-samples.py"))
ms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ms)

SEED = 20261127


def pieces(text, rng):
    """Cut a text at blank lines into pieces of a random target size."""
    paras = re.split(r"\n{2,}", text)
    out, cur, target = [], [], rng.choice([300, 800, 1500, 3000, 6000])
    for p in paras:
        cur.append(p)
        if sum(len(x) for x in cur) >= target:
            out.append("\n\n".join(cur))
            cur, target = [], rng.choice([300, 800, 1500, 3000, 6000])
    if cur:
        out.append("\n\n".join(cur))
    return out


def edit(text, rng):
    """One web-like edit, named for the document's meta."""
    lines = text.split("\n")
    kind = rng.choice(["dup_lines", "dup_paras", "bullets", "ellipsis", "lorem", "javascript",
                       "curly", "citations", "policy", "short_lines", "hashes", "repeat_phrase"])
    if kind == "dup_lines":
        k = max(1, len(lines) // rng.choice([2, 3, 5, 10]))
        picks = [rng.choice(lines) for _ in range(k)]
        for p in picks:
            lines.insert(rng.randrange(len(lines) + 1), p)
    elif kind == "dup_paras":
        paras = text.split("\n\n")
        for _ in range(rng.choice([1, 2, len(paras)])):
            paras.insert(rng.randrange(len(paras) + 1), rng.choice(paras))
        return "\n\n".join(paras), kind
    elif kind == "bullets":
        frac = rng.choice([0.5, 0.95, 1.0])
        lines = [(rng.choice(["• ", "- ", "  - "]) + l) if l.strip() and rng.random() < frac else l for l in lines]
    elif kind == "ellipsis":
        frac = rng.choice([0.2, 0.5])
        lines = [(l.rstrip(".") + rng.choice(["...", "…"])) if l.strip() and rng.random() < frac else l for l in lines]
    elif kind == "lorem":
        lines.insert(rng.randrange(len(lines) + 1), "Lorem ipsum dolor sit amet, consectetur adipiscing elit.")
    elif kind == "javascript":
        lines.insert(rng.randrange(len(lines) + 1), "Please enable JavaScript to view this page properly.")
    elif kind == "curly":
        lines.insert(rng.randrange(len(lines) + 1), "function f() { return 1; }")
    elif kind == "citations":
        lines = [l + rng.choice(["[1]", "[23]", "[edit]", "[citation needed]"]) if l.endswith(".") else l for l in lines]
    elif kind == "policy":
        lines.insert(rng.randrange(len(lines) + 1), "By using this site you agree to our Terms of Use and Privacy Policy.")
    elif kind == "short_lines":
        words = text.split()
        lines = [" ".join(words[i:i + rng.choice([1, 2, 3])]) for i in range(0, len(words), 3)]
    elif kind == "hashes":
        lines = [("#" * rng.choice([1, 3]) + " " + l) if rng.random() < 0.5 else l for l in lines]
    elif kind == "repeat_phrase":
        words = text.split()
        if len(words) > 4:
            i = rng.randrange(len(words) - 3)
            phrase = " ".join(words[i:i + rng.choice([2, 3, 4])])
            lines.append(" ".join([phrase] * rng.choice([5, 20, 60])))
    return "\n".join(lines), kind


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--out", default=os.path.join(ROOT, "Samples", "quality", "corpus.jsonl.zst"))
    ap.add_argument("--per-locale", type=int, default=40,
                    help="man pages per locale (three times as many for English)")
    ap.add_argument("--min-mb", type=float, default=0,
                    help="repeat the documents (with new ids) until the JSON is at least this big")
    args = ap.parse_args()
    rng = random.Random(SEED)

    owners = ms.dpkg_owners()
    sources = []   # (group, doc)
    for locale, paths in sorted(ms.man_candidates().items()):
        paths = list(paths)
        rng.shuffle(paths)
        for p in paths[:3 * args.per_locale if locale == "en" else args.per_locale]:
            r = ms.make_man_doc(p, locale, owners)
            if r:
                sources.append((locale, r[0]))
    for d in ms.license_docs()[:20]:
        sources.append(("license", d))
    cands = ms.doc_candidates()
    rng.shuffle(cands)
    for pkg, f, p in cands[:6 * args.per_locale]:
        d = ms.make_doc_doc(pkg, f, p)
        if d and d["meta"]["bytes"] <= ms.MAX_DOC_BYTES:
            sources.append(("doc", d))

    docs = []
    for group, src in sources:
        for k, text in enumerate(pieces(src["text"], rng)):
            if not text.strip():
                continue
            docs.append({"id": f"{src['id']}#{k}", "text": text, "lang": src["lang"], "source": src["source"]})
    rng.shuffle(docs)
    docs = docs[:args.docs]
    for d in docs:
        if rng.random() < 0.125:
            d["text"], d["edit"] = edit(d["text"], rng)
    docs.sort(key=lambda d: d["id"])

    data = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode("utf-8")
    copies = [data]
    size = len(data)
    k = 1
    while size < args.min_mb * 1e6:
        more = "".join(json.dumps(dict(d, id=f"{d['id']}~{k}"), ensure_ascii=False) + "\n" for d in docs).encode("utf-8")
        copies.append(more)
        size += len(more)
        k += 1
    data = b"".join(copies)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    subprocess.run(["zstd", "-q", "-f", "-19", "-T1", "-o", args.out], input=data, check=True)
    langs = {}
    for d in docs:
        langs[d["lang"]] = langs.get(d["lang"], 0) + 1
    print(f"wrote {os.path.relpath(args.out, ROOT)}: {len(docs) * len(copies)} documents ({len(copies)} cop{'y' if len(copies) == 1 else 'ies'}), {len(data) / 1e6:.1f} MB of JSON, "
          f"{os.path.getsize(args.out) / 1e6:.2f} MB compressed")
    print("languages:", ", ".join(f"{k} {v}" for k, v in sorted(langs.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
