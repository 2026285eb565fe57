#!/usr/bin/env python3
"""balance against a port of MetaCLIP's balancing, with the same uniform draws injected.

    python3 Tests/parity/balance_parity.py --winnow .build/debug/winnow

The port (Tests/parity/peers/metaclip_balance.py) follows metaclip/metaclip1/balancing.py and
substr_matching.py: spacing, `" entry " in text`, counts per entry over all documents,
entry_count[entry_count < t] = t, p = t / entry_count (numpy), and balance_sampling's loop,
whose random.random() is replaced by Winnow's documented draw for each entry it tests. It
runs in a throw-away venv with numpy, xxhash and pyahocorasick (MetaCLIP's fast matcher,
checked against the pure-Python one on the way).

Documents: the 524 documents of Samples/web (five shards, 24 languages) plus a shard made to
trip a matcher: entries next to punctuation, across tabs, newlines and CRs, at the text's
edges, overlapping and nested entries, case variants, non-ASCII entries, documents without
an id (keyed by their text) or with a null one. Entries: generated from the documents' own
word and bigram frequencies so that counts are skewed (a head far above t, a long tail
below it), plus the hand-made ones.

Checks, for three settings (t, seed, unmatched, field):
1. every entry's count equal (save_counts);
2. every document's matched entries equal (annotate mode), and the Aho–Corasick and
   pure-Python reference matchers agree with each other;
3. the keep probability 1 − Π(1 − p_e) within 1e-12 relative;
4. the keep mask equal (annotate mode's balance_keep);
5. select mode keeps exactly those documents, in order, inline and local ×3, with the drop
   reasons counted right.

Prints PASS/FAIL per check and ends with "N passed, M failed".
"""
import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from peers import peer_python  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BALANCE_PACKAGES = ["numpy==2.4.6", "xxhash==3.6.0", "pyahocorasick==2.1.0"]
BALANCE_VENV = os.environ.get("WINNOW_BALANCE_VENV", str(ROOT / ".venv-balance"))


STRESS = [
    {"id": "s-punct", "text": "Debian, Debian. Debian; Debian: Debian? Debian! `Debian` (Debian) [Debian]"},
    {"id": "s-ws", "text": "GNU\tGeneral\nPublic\r\nLicense and the\tGNU General  Public License"},
    {"id": "s-edges", "text": "Linux"},
    {"id": "s-nested", "text": "read the GNU General Public License, version 2 or the General Public one"},
    {"id": "s-case", "text": "debian DEBIAN Debian dEbian"},
    {"id": "s-de", "text": "Die Straße führt über die Brücke; Größe und Übung. Straße"},
    {"id": "s-ja", "text": "ファイル を 開く。ファイル名 と ディレクトリ"},
    {"id": "s-ru", "text": "файл, каталог и файл."},
    {"id": "s-dots", "text": "see e.g. St. Louis and C++ or --help for more: -h --help=all"},
    {"text": "an anonymous document about Debian and Linux without an id"},
    {"id": None, "text": "a document whose id is null, about the GNU General Public License"},
    {"id": "s-empty", "text": ""},
    {"id": "s-none", "text": "zzzz qqqq nothing here matches xyzzy"},
    {"id": "s-emoji", "text": "🎉 Debian 🎉 release party 🎉"},
    {"id": "s-nbsp", "text": "Debian\u00a0Linux and Debian\u2028Linux"},
]
HAND_ENTRIES = ["Debian", "debian", "DEBIAN", "Linux", "GNU", "GNU General Public License", "General Public",
                "Public License", "General", "Straße", "Brücke", "ファイル", "файл", "e.g.", "St. Louis", "C++",
                "--help", "release party", "Debian\u00a0Linux", "🎉", "version 2", "the GNU"]


def make_entries(docs):
    """Skewed entries from the documents' own frequencies: the head, a stride through the
    middle, a rare tail, frequent bigrams; then the hand-made ones."""
    df = collections.Counter()
    bigrams = collections.Counter()
    for d in docs:
        words = re.findall(r"\w+", d["text"])
        df.update(set(words))
        bigrams.update({f"{a} {b}" for a, b in zip(words, words[1:])})
    ranked = [w for w, _ in sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))]
    chosen = ranked[:25] + ranked[25:600:9] + [w for w in ranked if df[w] in (1, 2, 3)][:60:3]
    chosen += [b for b, _ in sorted(bigrams.items(), key=lambda kv: (-kv[1], kv[0]))[:120:4]]
    chosen += HAND_ENTRIES + ["en", "es", "de", "ja", "fr", "ru"]
    seen, entries = set(), []
    for e in chosen:
        if e not in seen:
            seen.add(e)
            entries.append(e)
    return entries, df


def read_output(out):
    docs = []
    for p in sorted(out.glob("part-*.jsonl")):
        docs += [json.loads(l) for l in open(p, encoding="utf-8") if l.strip()]
    return docs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--winnow", default=str(ROOT / ".build/debug/winnow"))
    args = ap.parse_args()
    winnow = os.path.abspath(args.winnow)
    py = peer_python(BALANCE_PACKAGES, BALANCE_VENV)

    work = Path(tempfile.mkdtemp(prefix="winnow-balance-"))
    try:
        raw_dir = work / "raw"
        raw_dir.mkdir()
        docs = []
        for shard in sorted((ROOT / "Samples/web").glob("*.jsonl.zst")):
            data = subprocess.run(["zstd", "-dc", str(shard)], capture_output=True, check=True).stdout
            (raw_dir / shard.name[:-4]).write_bytes(data)
            docs += [json.loads(l) for l in data.decode("utf-8").splitlines() if l.strip()]
        stress = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in STRESS)
        (raw_dir / "part-00005.jsonl").write_text(stress, encoding="utf-8")
        docs += STRESS
        all_docs = work / "all.jsonl"
        all_docs.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
        entries, df = make_entries(docs)
        entries_file = work / "entries.txt"
        entries_file.write_text("\n".join(entries) + "\n", encoding="utf-8")
        print(f"{len(docs)} documents, {len(entries)} entries", flush=True)

        settings = [
            {"t": 25, "seed": 11, "unmatched": "drop", "field": None},
            {"t": 8, "seed": 12345, "unmatched": "keep", "field": None},
            {"t": 30, "seed": 7, "unmatched": "drop", "field": "lang"},
        ]
        for s in settings:
            label = f"t={s['t']} seed={s['seed']} unmatched={s['unmatched']}" + (f" field={s['field']}" if s["field"] else "")
            spec = work / "spec.json"
            spec.write_text(json.dumps({"docs": str(all_docs), "entries": entries, "t": s["t"], "seed": s["seed"],
                                        "field": s["field"]}))
            p = subprocess.run([py, str(ROOT / "Tests/parity/peers/metaclip_balance.py"), str(spec)], capture_output=True,
                               text=True)
            if p.returncode != 0:
                check(f"{label}: the reference port ran", False, p.stderr[-600:])
                continue
            ref = json.loads(p.stdout)
            above = sum(1 for c in ref["counts"] if c > s["t"])
            below = sum(1 for c in ref["counts"] if 0 < c <= s["t"])
            print(f"{label}: {above} entries above t, {below} matched ones at or below it, "
                  f"{sum(1 for c in ref['counts'] if c == 0)} never matched", flush=True)

            def run(mode, executor, workers, counts=None):
                out = work / f"out-{mode}-{executor}"
                recipe = work / "r.yaml"
                params = {"entries": str(entries_file), "t": s["t"], "seed": s["seed"], "unmatched": s["unmatched"],
                          "mode": mode}
                if s["field"]:
                    params["field"] = s["field"]
                if counts:
                    params["save_counts"] = str(counts)
                recipe.write_text(
                    f"name: balance-parity\nseed: 1\ninput: {{paths: [{json.dumps(str(raw_dir))}]}}\n"
                    f"output: {{path: {json.dumps(str(out))}, compression: none}}\n"
                    f"stages:\n  - balance: {json.dumps(params, ensure_ascii=False)}\n", encoding="utf-8")
                r = subprocess.run([winnow, "run", str(recipe), "--fresh", "--no-progress", "--executor", executor,
                                    "--workers", workers], capture_output=True, text=True, timeout=900)
                if r.returncode != 0:
                    return None, r.stderr[-600:]
                return out, None

            counts_file = work / "counts.tsv"
            out, err = run("annotate", "inline", "1", counts_file)
            if out is None:
                check(f"{label}: winnow ran (annotate)", False, err)
                continue
            # 1. counts.
            rows = [l.split("\t") for l in counts_file.read_text(encoding="utf-8").splitlines()[1:]]
            ours_counts = {r[0]: int(r[1]) for r in rows}
            want_counts = dict(zip(entries, ref["counts"]))
            bad = [e for e in entries if ours_counts.get(e) != want_counts[e]]
            check(f"{label}: counts of all {len(entries)} entries equal", not bad and len(rows) == len(entries),
                  f"differ: {[(e, ours_counts.get(e), want_counts[e]) for e in bad[:4]]}")

            # 2–4. per document.
            annotated = read_output(out)
            if len(annotated) != len(ref["docs"]):
                check(f"{label}: annotate mode kept every document", False, f"{len(annotated)} vs {len(ref['docs'])}")
                continue
            aho_bad = [r["id"] for r in ref["docs"] if sorted(r["matched"]) != r["matched_aho"]]
            check(f"{label}: the reference's two matchers agree", not aho_bad, f"differ on {aho_bad[:4]}")
            match_bad, p_worst, keep_bad = [], 0.0, []
            for a, r in zip(annotated, ref["docs"]):
                want = [entries[e] for e in r["matched"]]
                if a.get("balance_entries") != want:
                    match_bad.append((r["id"], a.get("balance_entries"), want))
                if r["p"] is not None:
                    got_p = a.get("balance_keep_probability")
                    rel = abs(got_p - r["p"]) / max(abs(r["p"]), 1e-300) if got_p is not None else float("inf")
                    p_worst = max(p_worst, rel)
                want_keep = r["keep"] if r["keep"] is not None else (s["unmatched"] == "keep")
                if a.get("balance_keep") != want_keep:
                    keep_bad.append(r["id"])
            matched_docs = sum(1 for r in ref["docs"] if r["matched"])
            check(f"{label}: matched entries of all {len(annotated)} documents equal ({matched_docs} match any)",
                  not match_bad, f"{len(match_bad)} differ, e.g. {match_bad[:2]}")
            check(f"{label}: keep probabilities within 1e-12 relative", p_worst <= 1e-12, f"worst {p_worst:.3g}")
            check(f"{label}: keep mask equal", not keep_bad, f"{len(keep_bad)} differ, e.g. {keep_bad[:4]}")

            # 5. select mode, inline and local ×3.
            want_ids = [r["id"] for r, a in zip(ref["docs"], annotated)
                        if (r["keep"] if r["keep"] is not None else s["unmatched"] == "keep")]
            want_unmatched = sum(1 for r in ref["docs"] if not r["matched"]) if s["unmatched"] == "drop" else 0
            want_not = sum(1 for r in ref["docs"] if r["matched"] and not r["keep"])
            results = {}
            for executor, workers in [("inline", "1"), ("local", "3")]:
                out, err = run("select", executor, workers)
                if out is None:
                    results[executor] = ("error", err)
                    continue
                stats = json.loads((out / "stats.json").read_text())
                stage = next(st for st in stats["stages"] if st["stage"] == "balance")
                results[executor] = ([d.get("id") for d in read_output(out)], stage.get("dropped_by_reason", {}))
            ok = all(results.get(e, (None,))[0] == want_ids for e in ("inline", "local"))
            reasons = results.get("inline", (None, {}))[1]
            ok_reasons = (reasons.get("balance_unmatched", 0) == want_unmatched
                          and reasons.get("balance_not_sampled", 0) == want_not)
            check(f"{label}: select mode keeps the same {len(want_ids)} documents in order, inline and local ×3",
                  ok, f"{[len(v[0]) if isinstance(v[0], list) else v for v in results.values()]} vs {len(want_ids)}")
            check(f"{label}: drop reasons: {want_unmatched} balance_unmatched, {want_not} balance_not_sampled",
                  ok_reasons, f"got {reasons}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(summary())


if __name__ == "__main__":
    main()
