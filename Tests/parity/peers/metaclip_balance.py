"""A port of MetaCLIP's balancing (metaclip/metaclip1/balancing.py) and substring matching
(metaclip/metaclip1/substr_matching.py, and the pyahocorasick variant of
substr_matching_ahocorasick.py), with the uniform draws injected, for balance_parity.py.

    python metaclip_balance.py spec.json > result.json

spec: {"docs": path of JSON Lines (id optional, text), "entries": [...], "t": int, "seed": int,
       "field": null or a field name}

Writes {"counts": [...], "docs": [{"id", "matched", "matched_aho", "p", "keep"}]}: `matched`
by the reference's pure-Python matcher (entry order), `matched_aho` by the Aho–Corasick one
(sorted, the reference returns a set's order), `keep` by the reference's balance_sampling
with `random.random` replaced by Winnow's documented draws for the entries it tests, in the
order it tests them.
"""
import json
import random
import sys

import ahocorasick
import numpy as np
import xxhash

MASK = (1 << 64) - 1


def spacing(text):
    # substr_matching.py: pad, wrap , . ; : ? ! ` in spaces, then tab/LF/CR -> space.
    spaced = f" {text} "
    for p in [",", ".", ";", ":", "?", "!", "`"]:
        spaced = spaced.replace(p, f" {p} ")
    for c in ["\t", "\n", "\r"]:
        spaced = spaced.replace(c, " ")
    return spaced


def substr_matching(text, spaced_entries):
    text = spacing(text)
    return [i for i, e in enumerate(spaced_entries) if e in text]


def aho_matching(text, automaton):
    return sorted({entry_id for _, (entry_id, _) in automaton.iter(spacing(text))})


def balance_sampling(matched_entry_ids, entry_prob):
    # balancing.py: keep if any matched entry passes its own Bernoulli(p_e), in order.
    for entry_id in matched_entry_ids:
        if random.random() < entry_prob[entry_id]:
            return True
    return False


def splitmix_uniform(key, entry):
    z = (key + (entry + 1) * 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return (z >> 11) * 2.0 ** -53


def main():
    spec = json.load(open(sys.argv[1]))
    t, seed, field = spec["t"], spec["seed"], spec.get("field")
    entries = spec["entries"]
    spaced_entries = [f" {e} " for e in entries]
    automaton = ahocorasick.Automaton()
    for i, e in enumerate(spaced_entries):
        automaton.add_word(e, (i, e))
    automaton.make_automaton()

    docs = []
    for line in open(spec["docs"], encoding="utf-8"):
        if line.strip():
            docs.append(json.loads(line))

    def text_of(d):
        if field is None:
            return d["text"]
        v = d.get(field)
        if v is None:
            return None
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    matched_all = []
    entry_count = np.zeros(shape=(len(entries),), dtype=np.uint64)
    for d in docs:
        text = text_of(d)
        m = substr_matching(text, spaced_entries) if text is not None else []
        matched_all.append(m)
        for e in m:
            entry_count[e] += 1
    counts = [int(c) for c in entry_count]
    entry_count[entry_count < t] = t
    entry_prob = t / entry_count

    out = []
    original_random = random.random
    for d, m in zip(docs, matched_all):
        text = text_of(d)
        aho = aho_matching(text, automaton) if text is not None else []
        key_bytes = (d["id"] if d.get("id") is not None else d["text"]).encode("utf-8")
        key = xxhash.xxh3_64_intdigest(key_bytes, seed=seed)
        draws = iter([splitmix_uniform(key, e) for e in m])
        random.random = lambda: next(draws)
        try:
            keep = balance_sampling(m, entry_prob) if m else None
        finally:
            random.random = original_random
        miss = 1.0
        for e in m:
            miss *= 1 - float(entry_prob[e])
        out.append({"id": d.get("id"), "matched": m, "matched_aho": aho, "p": (1 - miss) if m else None, "keep": keep})
    json.dump({"counts": counts, "docs": out}, sys.stdout)


if __name__ == "__main__":
    main()
