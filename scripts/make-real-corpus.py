#!/usr/bin/env python3
"""Build a benchmark corpus of text that looks like what people curate, by kind, from Debian
packages: long technical documents and short web-like ones, no document twice.

    python3 scripts/make-real-corpus.py --out bench-data/real [--mb-per-kind 12] [--install]

Kinds (one JSON Lines file each, `OUT/<kind>.jsonl`, documents in a seeded shuffled order):

- `man`: man pages of every installed locale, rendered to plain text by
  scripts/make-samples.py's troff stripper, one page per document (long, technical, options
  like `--foo=bar`, paths, multilingual);
- `kernel`: the Linux kernel's documentation (package linux-doc), reStructuredText sources as
  they are: one file per document (long, technical English, code, tables, paths, versions);
- `python-docs`: Python's HTML documentation (package python3-doc) converted to text (block
  elements become paragraphs, code blocks kept): one page per document;
- `handbook`: The Debian Administrator's Handbook (package debian-handbook) in every language
  it ships, HTML to text as above: one section per document (long prose, commands, 10+ languages);
- `short`: fortunes (package fortunes) and the short documents people also curate: one
  fortune, one licence paragraph per document (web-like, tens to hundreds of bytes).

A kind stops at --mb-per-kind megabytes of UTF-8 text. Exact duplicates (same text after
whitespace normalisation) are dropped, keeping the first in sorted path order. With --install
the packages are installed first (apt-get, as root). Deterministic for a given set of
installed files. Standard library only.
"""

import argparse
import gzip
import hashlib
import html
import html.parser
import importlib.util
import json
import os
import random
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("make_samples", os.path.join(ROOT, "scripts", "make-samples.py"))
ms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ms)

SEED = 20261207
PACKAGES = ["python3-doc", "debian-handbook", "linux-doc", "fortunes"]
KINDS = ["man", "kernel", "python-docs", "handbook", "short"]


class HTMLText(html.parser.HTMLParser):
    """HTML to plain text: the text of block elements as paragraphs, `pre` kept verbatim,
    scripts, styles and navigation left out."""

    BLOCK = {"p", "div", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "tr", "table",
             "ul", "ol", "dl", "blockquote", "br", "pre", "title", "caption", "figcaption"}
    SKIP = {"script", "style", "nav", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0
        self.pre = 0
        self.divs = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n\n" if tag != "br" and tag != "li" else "\n")
        if tag == "pre":
            self.pre += 1
        if tag == "div":
            cls = dict(attrs).get("class") or ""
            navigation = any(k in cls for k in ("sphinxsidebar", "related", "navheader", "navfooter", "footer"))
            self.divs.append(navigation)
            if navigation:
                self.skip += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        if tag == "div" and self.divs and self.divs.pop():
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n\n")
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.skip:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))

    def text(self):
        out = "".join(self.parts)
        out = re.sub(r"[ \t]+\n", "\n", out)
        out = re.sub(r"\n{3,}", "\n\n", out)
        return out.strip()


def html_to_text(data):
    p = HTMLText()
    p.feed(data)
    p.close()
    return p.text()


def read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return ms.clean_text(data)


def files_under(root, suffixes):
    out = []
    for d, dirs, names in os.walk(root, followlinks=True):
        dirs.sort()
        for n in sorted(names):
            if n.endswith(suffixes):
                out.append(os.path.join(d, n))
    return sorted(out)


def man_docs():
    owners = ms.dpkg_owners()
    for locale, paths in sorted(ms.man_candidates().items()):
        for p in paths:
            r = ms.make_man_doc(p, locale, owners)
            if r:
                d = r[0]
                yield d["id"], d["text"], d["lang"]


def kernel_docs():
    root = "/usr/share/doc/linux-doc/Documentation"
    for p in files_under(root, (".rst", ".rst.gz", ".txt", ".txt.gz")):
        t = read_text(p)
        if t:
            yield "kernel-" + os.path.relpath(p, root), t, "zh" if "/zh_CN/" in p or "/zh_TW/" in p else "en"


def python_docs():
    root = "/usr/share/doc/python3.11/html"
    for p in files_under(root, (".html",)):
        if "/_static/" in p or os.path.basename(p) in ("genindex.html", "search.html", "py-modindex.html"):
            continue
        t = read_text(p)
        if t:
            yield "python-" + os.path.relpath(p, root), html_to_text(t), "en"


def handbook_docs():
    root = "/usr/share/doc/debian-handbook/html"
    for p in files_under(root, (".html",)):
        t = read_text(p)
        if t:
            rel = os.path.relpath(p, root)
            yield "handbook-" + rel, html_to_text(t), rel.split("/")[0].split("-")[0]


def short_docs():
    root = "/usr/share/games/fortunes"
    for p in files_under(root, ("",)):
        if p.endswith((".dat", ".u8")) or os.path.isdir(p):
            continue
        t = read_text(p)
        if not t:
            continue
        for k, f in enumerate(t.split("\n%\n")):
            f = f.strip("%\n ")
            if f:
                yield f"fortune-{os.path.basename(p)}-{k}", f, "en"
    for d in ms.license_docs():
        for k, para in enumerate(re.split(r"\n{2,}", d["text"])):
            para = para.strip()
            if len(para) >= 40:
                yield f"{d['id']}-p{k}", para, "en"


SOURCES = {"man": man_docs, "kernel": kernel_docs, "python-docs": python_docs, "handbook": handbook_docs,
           "short": short_docs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--mb-per-kind", type=float, default=12)
    ap.add_argument("--install", action="store_true")
    ap.add_argument("--kinds", default=",".join(KINDS))
    args = ap.parse_args()
    if args.install:
        missing = [p for p in PACKAGES if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                                                         text=True).stdout.find("install ok installed") < 0]
        if missing:
            print(f"installing {' '.join(missing)}", file=sys.stderr)
            subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdout=subprocess.DEVNULL)
    os.makedirs(args.out, exist_ok=True)
    seen = set()
    budget = int(args.mb_per_kind * 1_000_000)
    summary = {}
    for kind in args.kinds.split(","):
        docs = []
        for id_, text, lang in SOURCES[kind]():
            text = text.strip()
            if len(text) < 20:
                continue
            key = hashlib.sha1(re.sub(r"\s+", " ", text).encode("utf-8")).digest()
            if key in seen:
                continue
            seen.add(key)
            docs.append({"id": id_, "text": text, "lang": lang, "kind": kind})
        if not docs:
            raise SystemExit(f"{kind}: no documents (are {', '.join(PACKAGES)} installed? pass --install)")
        random.Random(f"{SEED}-{kind}").shuffle(docs)
        total, kept = 0, []
        for d in docs:
            n = len(d["text"].encode("utf-8"))
            if total + n > budget and kept:
                break
            kept.append(d)
            total += n
        path = os.path.join(args.out, f"{kind}.jsonl")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            for d in kept:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        os.replace(path + ".tmp", path)
        summary[kind] = {"documents": len(kept), "text_bytes": total, "mean_bytes": total // max(len(kept), 1)}
        print(f"{path}: {len(kept)} documents, {total / 1e6:.1f} MB of text, mean {total // len(kept)} bytes",
              file=sys.stderr)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
