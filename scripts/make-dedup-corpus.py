#!/usr/bin/env python3
"""Build the near-duplicate corpus and its ground truth for the MinHash parity test.

    python3 scripts/make-dedup-corpus.py [--docs 2800] [--seed 20261205] [--out Samples/dedup]

Writes, replacing what was there:

    OUT/corpus.jsonl.zst   {"id", "text"} per line, shuffled (a copy is never next to its source)
    OUT/truth.jsonl.zst    the ground truth: every pair of documents with Jaccard >= 0.5
    OUT/README.md          what is in them, with the figures of this build

Base documents are real text from the Debian packages installed on this machine: man pages
(English and every translated locale under /usr/share/man/<locale>/), licence texts
(/usr/share/common-licenses) and package documentation (/usr/share/doc/*/copyright, README*,
NEWS*, changelog.Debian.gz), read and de-trofed by scripts/make-samples.py's helpers and cut at
blank lines into documents of 60 to ~3,000 words (most of them under 250). Natural duplicates
among them (the same licence in many copyright files, a man page partly left untranslated)
are kept: the ground truth finds them like any other.

Then, for 30 % of the base documents, one to three variants each:

  * exact copies;
  * "normalisation" copies: whitespace, case, punctuation at word edges, digits and
    diacritics changed, nothing that the comparison below can see (Jaccard 1.0);
  * near duplicates aimed at a word-5-gram Jaccard level (0.95, 0.9, 0.85, 0.8, 0.75, 0.7,
    0.6 or 0.5, jittered by +-0.015): random word substitutions, insertions and deletions,
    sentence swaps, text cut from or added at either end, in batches, measuring the Jaccard
    after each batch until it is just above the target (then a few words are appended to
    land within about one word's worth of shingles). Some are made from an earlier variant
    (chains); some also get the normalisation edits.

and some documents that can never be near duplicates by shingles: empty, whitespace or
punctuation only, one to four words (a few of them identical to each other).

Ground truth. tokens(text) = simplify_text(text).split() with datatrove 0.10.1's
`datatrove.utils.text.simplify_text` at its defaults (lower case, digits -> 0, punctuation ->
space, whitespace collapsed, diacritics removed): the function itself, imported from the pinned
peer venv (Tests/parity/peers.py), not a transcription of it; the script re-runs itself with
that venv's Python when datatrove is not importable. The shingles of a document are the set of
its 5-grams of tokens (none when it has fewer than 5 tokens: such a document is a singleton).
Every pair with Jaccard >= --min-jaccard (0.5) is found exactly: documents with identical
shingle sets are grouped first, then an all-pairs prefix filter (shingles ordered by document
frequency; a pair with J >= t must share one of the first |A| - ceil(t|A|) + 1 shingles of
each set) proposes candidates and each one is verified by intersecting the two sets. Pairs
that are not listed have a Jaccard below --min-jaccard.

truth.jsonl.zst lines, in this order:
    {"meta": {...}}                              parameters, counts, the tokenisation
    {"doc": id, "kind", "of", "target", "tokens", "shingles", "origin", "lang"}  one per document
    {"a": id, "b": id, "jaccard", "inter", "union"}  one per pair (a < b), J = inter / union

Deterministic for a given --seed and set of installed files (sorted listings, seeded random
choices, zstd -19 single-threaded).
"""

import argparse
import importlib.util
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

try:
    from datatrove.utils.text import simplify_text
except ImportError:
    if os.environ.get("WINNOW_DEDUP_CORPUS_REEXEC"):
        sys.exit("make-dedup-corpus.py: datatrove is not importable even in the peer venv")
    sys.path.insert(0, os.path.join(ROOT, "Tests", "parity"))
    from peers import peer_python
    py = peer_python()
    os.environ["WINNOW_DEDUP_CORPUS_REEXEC"] = "1"
    os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])

spec = importlib.util.spec_from_file_location("make_samples", os.path.join(ROOT, "scripts", "make-samples.py"))
ms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ms)

SEED = 20261205
NGRAM = 5
MIN_WORDS = 60
LEVELS = [0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5]
JITTER = 0.015
# Share of the base documents per source group (the rest of a group's quota moves on when
# the machine has too little of it).
GROUPS = [("license", 0.08), ("man-l10n", 0.22), ("doc", 0.30), ("man-en", 0.40)]
PIECES_PER_SOURCE = {"man-en": 3, "man-l10n": 3, "doc": 3, "license": 8}


# ----------------------------------------------------------------------------------------
# Tokens and shingles (the ground truth's definitions)
# ----------------------------------------------------------------------------------------

def tokens(text):
    return simplify_text(text).split()


def shingles(toks):
    return {" ".join(toks[i:i + NGRAM]) for i in range(len(toks) - NGRAM + 1)}


_word_tokens = {}


def word_tokens(w):
    """tokens() of one whitespace-free word, cached. The tokens of a text are the
    concatenation of its words' tokens (simplify_text never looks across whitespace);
    used while aiming, the truth is computed on whole texts."""
    t = _word_tokens.get(w)
    if t is None:
        t = _word_tokens[w] = tuple(simplify_text(w).split())
    return t


# ----------------------------------------------------------------------------------------
# Texts as words with the whitespace after each
# ----------------------------------------------------------------------------------------

WS = re.compile(r"(\s+)")


class Words:
    """A text as [lead whitespace] + [(word, whitespace after)]: edits keep real text."""

    def __init__(self, text=None, lead="", items=None):
        if items is not None:
            self.lead, self.items = lead, items
            return
        parts = WS.split(text)
        self.lead = ""
        if parts and parts[0] == "":
            parts = parts[1:]
            if parts:
                self.lead, parts = parts[0], parts[1:]
        self.items = [(parts[i], parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]

    def copy(self):
        return Words(lead=self.lead, items=list(self.items))

    def text(self):
        """The text; a word that edits left without whitespace after it (the old last word)
        gets a space unless it is last."""
        last = len(self.items) - 1
        return self.lead + "".join(w + (s or (" " if k < last else "")) for k, (w, s) in enumerate(self.items))

    def toks(self):
        return [t for w, _ in self.items for t in word_tokens(w)]


def jaccard(a, b):
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


SENTENCE_END = re.compile(r"[.!?。！？]$")


def op_substitute(w, rng, pool):
    if w.items:
        i = rng.randrange(len(w.items))
        w.items[i] = (rng.choice(pool), w.items[i][1])


def op_insert(w, rng, pool):
    i = rng.randrange(len(w.items) + 1)
    w.items.insert(i, (rng.choice(pool), " "))


def op_delete(w, rng, pool):
    if len(w.items) > NGRAM + 1:
        del w.items[rng.randrange(len(w.items))]


def op_swap(w, rng, pool):
    """Swap two neighbouring sentences (a word substitution when there are fewer than two)."""
    ends = [i for i, (x, _) in enumerate(w.items) if SENTENCE_END.search(x)]
    ends = [e for e in ends if e < len(w.items) - 1] + [len(w.items) - 1]
    if len(ends) < 2:
        return op_substitute(w, rng, pool)
    k = rng.randrange(len(ends) - 1)
    a0 = ends[k - 1] + 1 if k > 0 else 0
    b0, b1 = ends[k] + 1, ends[k + 1] + 1
    first, second = w.items[a0:b0], w.items[b0:b1]
    if second and second[-1][1] == "":
        second[-1] = (second[-1][0], " ")
    w.items[a0:b1] = second + first


def op_cut(w, rng, pool):
    """Cut 1-5 % of the words at the start or the end."""
    n = len(w.items)
    k = min(n - NGRAM - 1, max(1, int(n * rng.uniform(0.01, 0.05))))
    if k <= 0:
        return
    if rng.random() < 0.5:
        del w.items[n - k:]
    else:
        del w.items[:k]


def op_add(w, rng, pool, extra=None):
    """Add a run of words taken in order from `extra` (another text) at the start or the end."""
    n = len(w.items)
    k = max(1, int(n * rng.uniform(0.01, 0.05)))
    src = extra or pool
    j = rng.randrange(max(1, len(src) - k))
    run = [(x, " ") for x in src[j:j + k]]
    if rng.random() < 0.5:
        if w.items and w.items[-1][1] == "":
            w.items[-1] = (w.items[-1][0], "\n")
        w.items.extend(run)
    else:
        w.items[0:0] = run


STYLES = {
    "words": [(op_substitute, 5), (op_insert, 2), (op_delete, 2)],
    "sentences": [(op_swap, 6), (op_substitute, 2), (op_delete, 1)],
    "ends": [(op_cut, 1), (op_add, 1)],
    "mixed": [(op_substitute, 3), (op_insert, 2), (op_delete, 2), (op_swap, 2), (op_cut, 1), (op_add, 1)],
}


def edits_for(sh_size, j_now, target):
    """Edits still needed, if each one replaces ~5 shingles: J = (S - 5m) / (S + 5m)."""
    def m(j):
        return sh_size * (1 - j) / (NGRAM * (1 + j))
    return max(1.0, m(target) - m(j_now))


def aim(src, target, rng, pool, extra, style):
    """Edit a copy of `src` (Words) until the Jaccard of its shingles with the source's is
    as low as it gets while staying >= target. Returns (Words, measured J)."""
    base = shingles(src.toks())
    ops, weights = zip(*STYLES[style])
    cur, j = src.copy(), 1.0
    batch = edits_for(len(base), 1.0, target) * rng.uniform(0.5, 0.8)
    misses = 0
    while j > target + 0.01 and misses < 12:
        trial = cur.copy()
        for _ in range(max(1, int(batch))):
            # one op at a time that overshot: a plain substitution (~5 shingles) next
            op = op_substitute if batch <= 1 and misses >= 4 else rng.choices(ops, weights)[0]
            if op is op_add:
                op(trial, rng, pool, extra)
            else:
                op(trial, rng, pool)
        jt = jaccard(base, shingles(trial.toks()))
        if jt >= target:
            cur, j, misses = trial, jt, 0
            batch = edits_for(len(base), j, target) * rng.uniform(0.5, 0.8)
        elif batch <= 1:
            misses += 1
        else:
            batch = max(1, int(batch) // 2)
    # Land close: append words one by one (from `extra`, in order, then the pool); each adds
    # about one shingle.
    start = rng.randrange(max(1, len(extra) - 50)) if extra else 0
    tail = extra[start:] + pool
    k = 0
    while j > target + 0.002 and k < len(tail):
        trial = cur.copy()
        if trial.items and trial.items[-1][1] == "":
            trial.items[-1] = (trial.items[-1][0], " ")
        trial.items.append((tail[k], ""))
        k += 1
        jt = jaccard(base, shingles(trial.toks()))
        if jt < target:
            break
        cur, j = trial, jt
    return cur, j


# Token-preserving changes, each checked word by word.
PUNCT_END = [",", ".", ";", ":", "!", "?", "…", ")", "”", "»", "'"]
PUNCT_START = ["(", "“", "«", "'", "\"", "¿"]
SEPARATORS = ["  ", "\n", "\t", " \n", "\n\n", "   ", "\u00a0", " \u3000 "]


def strip_marks(s):
    import unicodedata
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", s)
                                                 if unicodedata.category(c) != "Mn"))


def normalise_noise(w, rng, rate):
    """Whitespace, case, punctuation at word edges, digits, diacritics: changes that
    tokens() does not see. Returns the number of words changed."""
    changed = 0
    whole = rng.random()
    if whole < 0.1:
        mode = "upper"
    elif whole < 0.2:
        mode = "lower"
    else:
        mode = None
    for i, (x, sep) in enumerate(w.items):
        y = x
        if mode == "upper":
            y = x.upper()
        elif mode == "lower":
            y = x.lower()
        if rng.random() < rate:
            kind = rng.randrange(6)
            if kind == 0:
                y = rng.choice([y.upper(), y.capitalize(), y.lower(), y.swapcase()])
            elif kind == 1:
                y = y + rng.choice(PUNCT_END)
            elif kind == 2:
                y = rng.choice(PUNCT_START) + y
            elif kind == 3:
                y = y.rstrip(",.;:!?")
            elif kind == 4:
                y = re.sub(r"\d", lambda m: str(rng.randrange(10)), y)
            else:
                y = strip_marks(y)
        if y != x and word_tokens(y) == word_tokens(x) and y.strip() == y and y:
            w.items[i] = (y, sep)
            changed += 1
        if sep and rng.random() < rate:
            w.items[i] = (w.items[i][0], "\u00a0" if rng.random() < 0.05 else rng.choice(SEPARATORS[:-2]))
            changed += 1
    if rng.random() < 0.2:
        w.lead = rng.choice(["\n", "  ", "\t", " \n\n"]) + w.lead
    if rng.random() < 0.2 and w.items:
        w.items[-1] = (w.items[-1][0], w.items[-1][1] + rng.choice(["\n", " ", "\n\n"]))
    return changed


# ----------------------------------------------------------------------------------------
# Base documents
# ----------------------------------------------------------------------------------------

def piece_target(rng):
    """Tokens per base document: mostly 60-250 (log-uniform), one in twelve 250-3000."""
    if rng.random() < 11 / 12:
        return int(math.exp(rng.uniform(math.log(MIN_WORDS), math.log(250))))
    return int(math.exp(rng.uniform(math.log(250), math.log(3000))))


def cut_pieces(text, rng):
    """Cut a text at blank lines into pieces of random target lengths (in tokens); a last
    piece under MIN_WORDS joins the one before it."""
    paras = [p for p in re.split(r"\n{2,}", text) if p.strip()]
    out, cur, n, target = [], [], 0, piece_target(rng)
    for p in paras:
        cur.append(p)
        n += len(tokens(p))
        if n >= target:
            out.append("\n\n".join(cur))
            cur, n, target = [], 0, piece_target(rng)
    if cur:
        if n < MIN_WORDS and out:
            out[-1] += "\n\n" + "\n\n".join(cur)
        elif n >= MIN_WORDS:
            out.append("\n\n".join(cur))
    return out


def source_candidates(rng):
    """{group: [callable -> (source id, lang, text) or None]} in seeded order."""
    owners = ms.dpkg_owners()
    man = ms.man_candidates()
    groups = {"man-en": [], "man-l10n": [], "doc": [], "license": []}

    def round_robin(by_key):
        """One item per key in turn (keys sorted, each key's items in seeded order), so that
        one package with thousands of pages or files does not crowd out the rest."""
        queues = {}
        for k in sorted(by_key):
            q = list(by_key[k])
            rng.shuffle(q)
            queues[k] = q
        out = []
        while any(queues.values()):
            for k in sorted(queues):
                if queues[k]:
                    out.append(queues[k].pop(0))
        return out

    def man_src(p, loc):
        def make():
            r = ms.make_man_doc(p, loc, owners)
            return (r[0]["id"], r[0]["lang"], r[0]["text"]) if r else None
        return make

    by_pkg = defaultdict(list)
    for p in man.pop("en", []):
        by_pkg[owners.get(p, "unknown")].append(p)
    groups["man-en"] = [man_src(p, "en") for p in round_robin(by_pkg)]
    # Translations: round-robin over locales, so that every language that exists gets some.
    groups["man-l10n"] = [man_src(p, loc) for loc, p in round_robin({loc: [(loc, p) for p in ps]
                                                                       for loc, ps in man.items()})]
    # Documentation: round-robin over the kinds of file (copyright, changelog, NEWS, README).
    kinds = defaultdict(list)
    for it in ms.doc_candidates():
        f = it[1]
        kinds["copyright" if f == "copyright" else "changelog" if f.startswith("changelog")
              else "NEWS" if f.startswith("NEWS") else "README"].append(it)
    docs = round_robin(kinds)

    def doc_src(it):
        def make():
            d = ms.make_doc_doc(*it)
            return (d["id"], d["lang"], d["text"]) if d and d["meta"]["bytes"] <= ms.MAX_DOC_BYTES else None
        return make

    groups["doc"] = [doc_src(it) for it in docs]
    lic = ms.license_docs()
    rng.shuffle(lic)
    groups["license"] = [(lambda d=d: (d["id"], d["lang"], d["text"])) for d in lic]
    return groups


def base_documents(n_docs, rng):
    groups = source_candidates(rng)
    quotas = {g: round(n_docs * share) for g, share in GROUPS}
    quotas["man-en"] += n_docs - sum(quotas.values())   # the last group takes what the others lack
    out = []
    carry = 0
    for g, _ in GROUPS:
        want = quotas[g] + carry
        got = []
        for make in groups[g]:
            if len(got) >= want:
                break
            r = make()
            if r is None:
                continue
            sid, lang, text = r
            pieces = cut_pieces(text, rng)
            idx = list(range(len(pieces)))
            rng.shuffle(idx)
            for k in sorted(idx[:PIECES_PER_SOURCE[g]]):
                got.append({"origin": f"{sid}#{k}", "lang": lang, "group": g, "text": pieces[k]})
        got = got[:want]
        carry = want - len(got)
        out.extend(got)
    if carry:
        print(f"note: only {len(out)} base documents could be made (wanted {n_docs})", file=sys.stderr)
    return out


def short_documents(base, rng):
    """Documents with fewer than five tokens (no shingle), a few with exactly five to seven
    (one to three shingles), and a few identical to one another."""
    out = []
    for t in ["", " ", "\n\n", "...", "— — —", "* * *", "12", "\t\n", "N/A", "¿?"]:
        out.append(t)
    firsts = []
    for d in base:
        line = d["text"].strip().split("\n")[0].strip()
        if line:
            firsts.append(line)
    rng.shuffle(firsts)
    for line in firsts[:30]:
        words = line.split()
        out.append(" ".join(words[:rng.randint(1, 4)]))
    for line in firsts[30:45]:
        words = line.split()
        out.append(" ".join(words[:rng.randint(5, 7)]))
    for t in list(out[12:16]) + list(out[40:43]):    # identical copies
        out.append(t)
    return out


# ----------------------------------------------------------------------------------------
# Ground truth
# ----------------------------------------------------------------------------------------

def all_pairs(sets, min_j):
    """Every pair (i, j, inter, union), i < j, with Jaccard(sets[i], sets[j]) >= min_j, exactly.
    Empty sets pair with nothing."""
    t = Fraction(str(min_j))
    groups = {}
    for i, s in enumerate(sets):
        if s:
            groups.setdefault(frozenset(s), []).append(i)
    reps = list(groups)                      # distinct non-empty sets, first-seen order
    members = [groups[r] for r in reps]
    df = Counter()
    for r in reps:
        df.update(r)
    order = {sh: k for k, sh in enumerate(sorted(df, key=lambda x: (df[x], x)))}
    ranked = [sorted(order[x] for x in r) for r in reps]
    by_size = sorted(range(len(reps)), key=lambda k: (len(reps[k]), k))
    index = defaultdict(list)
    rep_pairs = []
    for k in by_size:
        r = ranked[k]
        n = len(r)
        prefix = n - math.ceil(t * n) + 1
        cands = set()
        for x in r[:prefix]:
            for o in index[x]:
                if len(reps[o]) >= t * n:
                    cands.add(o)
            index[x].append(k)
        for o in cands:
            inter = len(reps[k] & reps[o])
            union = len(reps[k]) + len(reps[o]) - inter
            if Fraction(inter, union) >= t:
                rep_pairs.append((k, o, inter, union))
    out = []
    for r, m in zip(reps, members):
        for x in range(len(m)):
            for y in range(x + 1, len(m)):
                out.append((m[x], m[y], len(r), len(r)))
    for k, o, inter, union in rep_pairs:
        for i in members[k]:
            for j in members[o]:
                out.append((min(i, j), max(i, j), inter, union))
    out.sort()
    return out


def components(n, pairs, t):
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for i, j, inter, union in pairs:
        if inter / union >= t:          # exact: a quotient of small integers rounds to t only if equal
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    comp = defaultdict(list)
    for i in range(n):
        comp[find(i)].append(i)
    return [c for c in comp.values() if len(c) > 1]


# ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=2800, help="base documents (variants and short documents come on top)")
    ap.add_argument("--variant-share", type=float, default=0.3, help="share of base documents that get variants")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--min-jaccard", type=float, default=0.5, help="pairs at or above this go into the truth")
    ap.add_argument("--out", default=os.path.join(ROOT, "Samples", "dedup"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()

    base = base_documents(args.docs, rng)
    docs = [{"text": d["text"], "kind": "base", "of": None, "target": None, "origin": d["origin"],
             "lang": d["lang"]} for d in base]
    by_lang = defaultdict(list)
    for k, d in enumerate(base):
        by_lang[d["lang"]].append(k)
    t_base = time.perf_counter()

    # Variants.
    n_src = round(len(base) * args.variant_share)
    sources = sorted(rng.sample(range(len(base)), n_src))
    aimed = []
    for s in sources:
        src_words = Words(base[s]["text"])
        if len(shingles(src_words.toks())) < 20:
            continue
        same = by_lang[base[s]["lang"]]
        mine = []            # indices (in docs) of this source's near variants
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            r = rng.random()
            parent, parent_words = s, src_words
            if r < 0.10:
                kind, text, target = "exact", base[s]["text"], 1.0
            elif r < 0.22:
                w = src_words.copy()
                normalise_noise(w, rng, rng.choice([0.05, 0.2, 0.5]))
                kind, text, target = "normalised", w.text(), 1.0
                if tokens(text) != tokens(base[s]["text"]):
                    w = src_words.copy()       # a word-level check missed a context: whitespace only
                    w.items = [(x, sep if not sep else rng.choice(SEPARATORS[:-2])) for x, sep in w.items]
                    text = w.text()
            else:
                if mine and rng.random() < 0.3:
                    parent = rng.choice(mine)
                    parent_words = Words(docs[parent]["text"])
                level = rng.choice(LEVELS)
                target = round(min(0.99, level + rng.uniform(-JITTER, JITTER)), 4)
                other = base[rng.choice(same)]["text"].split()
                pool = [x for x in base[rng.choice(same)]["text"].split() if len(x) < 30] or other
                style = rng.choice(list(STYLES))
                w, j = aim(parent_words, target, rng, pool, other, style)
                if rng.random() < 0.3:
                    normalise_noise(w, rng, 0.1)
                kind, text = f"near-{style}", w.text()
                j_text = jaccard(shingles(tokens(parent_words.text())), shingles(tokens(text)))
                if abs(j_text - j) > 1e-9:
                    print(f"note: word-level Jaccard {j:.4f} != whole-text {j_text:.4f} for a variant of "
                          f"{base[s]['origin']}", file=sys.stderr)
                aimed.append((target, j_text))
            docs.append({"text": text, "kind": kind, "of": parent, "target": target,
                         "origin": base[s]["origin"], "lang": base[s]["lang"]})
            if kind.startswith("near"):
                mine.append(len(docs) - 1)
    n_variants = len(docs) - len(base)
    for t in short_documents(base, rng):
        docs.append({"text": t, "kind": "short", "of": None, "target": None, "origin": None, "lang": None})
    t_var = time.perf_counter()

    # Shuffle; no document next to the one it was made from.
    order = list(range(len(docs)))
    rng.shuffle(order)
    for _ in range(10):
        bad = [p for p in range(len(order) - 1)
               if docs[order[p]]["of"] == order[p + 1] or docs[order[p + 1]]["of"] == order[p]]
        if not bad:
            break
        for p in bad:
            q = rng.randrange(len(order))
            order[p + 1], order[q] = order[q], order[p + 1]
    docs_in_order = [docs[d] for d in order]
    for p, d in enumerate(docs_in_order):
        d["id"] = f"dd-{p:05d}"

    # Ground truth.
    toks = [tokens(d["text"]) for d in docs_in_order]
    sets = [shingles(t) for t in toks]
    pairs = all_pairs(sets, args.min_jaccard)
    t_truth = time.perf_counter()

    os.makedirs(args.out, exist_ok=True)
    corpus = "".join(json.dumps({"id": d["id"], "text": d["text"]}, ensure_ascii=False) + "\n" for d in docs_in_order)
    corpus_path = os.path.join(args.out, "corpus.jsonl.zst")
    subprocess.run(["zstd", "-q", "-f", "-19", "--single-thread", "-o", corpus_path], input=corpus.encode("utf-8"), check=True)

    n = len(docs_in_order)
    # Histogram in steps of 0.05 (bin 20 = exactly 1.0), planted pairs (a variant and the
    # document it was made from) apart from the others (natural, chains, siblings).
    position = {d: p for p, d in enumerate(order)}
    made_from = [position[d["of"]] if d["of"] is not None else None for d in docs_in_order]
    hist = {"planted": Counter(), "other": Counter()}
    for i, j, inter, union in pairs:
        b = 20 if inter == union else min(19, inter * 20 // union)
        hist["planted" if made_from[i] == j or made_from[j] == i else "other"][b] += 1
    clusters = {t: components(n, pairs, t) for t in (0.5, 0.8, 0.85, 0.9)}
    kinds = Counter(d["kind"] for d in docs_in_order)
    langs = Counter(d["lang"] for d in docs_in_order if d["lang"])
    meta = {
        "generator": "scripts/make-dedup-corpus.py", "seed": args.seed, "base_docs": len(base),
        "variants": n_variants, "docs": n, "corpus_bytes": len(corpus.encode("utf-8")),
        "tokens": "datatrove 0.10.1 simplify_text(text) (default TextNormConfig), split on whitespace",
        "shingles": f"set of word {NGRAM}-grams of the tokens; none below {NGRAM} tokens",
        "min_jaccard": args.min_jaccard, "pairs": len(pairs),
        "no_shingle_docs": sum(1 for s in sets if not s),
        "kinds": dict(sorted(kinds.items())), "langs": dict(sorted(langs.items())),
        "clusters": {str(t): {"clusters": len(c), "docs": sum(map(len, c)), "redundant": sum(len(x) - 1 for x in c),
                              "largest": max(map(len, c), default=0)} for t, c in clusters.items()},
    }
    lines = [json.dumps({"meta": meta}, ensure_ascii=False)]
    for p, d in enumerate(docs_in_order):
        of = docs[d["of"]]["id"] if d["of"] is not None else None
        lines.append(json.dumps({"doc": d["id"], "kind": d["kind"], "of": of, "target": d["target"],
                                 "tokens": len(toks[p]), "shingles": len(sets[p]), "origin": d["origin"],
                                 "lang": d["lang"]}, ensure_ascii=False))
    for i, j, inter, union in pairs:
        lines.append(json.dumps({"a": docs_in_order[i]["id"], "b": docs_in_order[j]["id"],
                                 "jaccard": round(inter / union, 6), "inter": inter, "union": union}))
    truth_path = os.path.join(args.out, "truth.jsonl.zst")
    subprocess.run(["zstd", "-q", "-f", "-19", "--single-thread", "-o", truth_path],
                   input=("\n".join(lines) + "\n").encode("utf-8"), check=True)

    # Report.
    cz, tz = os.path.getsize(corpus_path), os.path.getsize(truth_path)
    print(f"wrote {os.path.relpath(corpus_path, ROOT)}: {n} documents ({len(base)} base, {n_variants} variants, "
          f"{kinds['short']} short), {meta['corpus_bytes'] / 1e6:.2f} MB of JSON, {cz / 1e6:.2f} MB compressed")
    print(f"wrote {os.path.relpath(truth_path, ROOT)}: {len(pairs)} pairs with J >= {args.min_jaccard}, {tz / 1e6:.2f} MB compressed")
    print("kinds:", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print("languages:", ", ".join(f"{k} {v}" for k, v in langs.most_common()))
    print("pairs by Jaccard (planted + other):")
    for b in range(int(args.min_jaccard * 20), 21):
        print(f"  {bin_name(b):<11} {hist['planted'][b]:5d} + {hist['other'][b]:5d}")
    for t, c in clusters.items():
        m = meta["clusters"][str(t)]
        print(f"clusters at J >= {t}: {m['clusters']} ({m['docs']} documents, {m['redundant']} redundant, largest {m['largest']})")
    errs = [j - t for t, j in aimed]
    if errs:
        errs.sort()
        print(f"aimed variants: {len(errs)}, measured - target: median {errs[len(errs) // 2]:+.4f}, "
              f"90th percentile {errs[int(len(errs) * 0.9)]:+.4f}, max {errs[-1]:+.4f}")
    print(f"time: base {t_base - t0:.1f} s, variants {t_var - t_base:.1f} s, truth {t_truth - t_var:.1f} s")
    write_readme(args, meta, hist, cz, tz)


def bin_name(b):
    return "1.0" if b == 20 else f"{b / 20:.2f}-{(b + 1) / 20:.2f}"


def write_readme(args, meta, hist, cz, tz):
    c = meta["clusters"]
    hist_table = "| J | planted | other |\n|---|---:|---:|\n" + "".join(
        f"| {bin_name(b)} | {hist['planted'][b]:,} | {hist['other'][b]:,} |\n" for b in range(int(meta["min_jaccard"] * 20), 21))
    text = f"""# Near-duplicate corpus

Rebuilt by `python3 scripts/make-dedup-corpus.py` (see its docstring for every detail; the
script runs itself with the peer venv's Python, `Tests/parity/peers.py`, because the ground
truth uses datatrove's own `simplify_text`). Do not edit by hand. Used by
`Tests/parity/minhash_parity.py`.

* `corpus.jsonl.zst`: {meta['docs']:,} documents `{{"id", "text"}}`, {meta['corpus_bytes']:,} bytes of JSON
  Lines ({cz:,} compressed). {meta['base_docs']:,} base documents of real Debian text (man pages in
  {len(meta['langs'])} languages, licences, package documentation; 60 to ~3,000 words),
  {meta['variants']:,} variants of some of them, {meta['kinds'].get('short', 0)} documents with fewer than
  five tokens or very few shingles. Shuffled; ids `dd-NNNNN` say nothing about the content.
* `truth.jsonl.zst` ({tz:,} bytes): a `meta` line, one line per document (`kind`: base, exact,
  normalised, near-<style>, short; `of`: the document it was made from; `target`: the Jaccard
  it was aimed at; token and shingle counts; `origin`: the Debian text), then every pair with
  Jaccard >= {meta['min_jaccard']} (`a`, `b`, `jaccard` = `inter` / `union`), exact.

Jaccard = |A ∩ B| / |A ∪ B| of the sets of word {NGRAM}-grams of
`simplify_text(text).split()` (datatrove 0.10.1, default normalisation). Documents with fewer
than {NGRAM} tokens have no shingles and are duplicates of nothing.

Documents by kind: {', '.join(f'{k} {v}' for k, v in meta['kinds'].items())}.

Pairs by Jaccard ({meta['pairs']:,} in all; *planted*: a variant and the document it was made
from; *other*: natural duplicates in the Debian text, and the relatives of planted pairs: two
variants of one document, the ends of a chain):

{hist_table}
| clusters: connected components of pairs with J >= t | t = 0.5 | 0.8 | 0.85 | 0.9 |
|---|---|---|---|---|
| clusters | {c['0.5']['clusters']} | {c['0.8']['clusters']} | {c['0.85']['clusters']} | {c['0.9']['clusters']} |
| documents in them | {c['0.5']['docs']} | {c['0.8']['docs']} | {c['0.85']['docs']} | {c['0.9']['docs']} |
| redundant (documents - clusters) | {c['0.5']['redundant']} | {c['0.8']['redundant']} | {c['0.85']['redundant']} | {c['0.9']['redundant']} |
| largest | {c['0.5']['largest']} | {c['0.8']['largest']} | {c['0.85']['largest']} | {c['0.9']['largest']} |

{meta['no_shingle_docs']} documents have no shingle (fewer than {NGRAM} tokens).

Seed {meta['seed']}; the texts come from the packages installed on the machine that ran the
script, so another machine builds another corpus.
"""
    with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
