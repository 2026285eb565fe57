#!/usr/bin/env python3
"""dsir_select and `winnow dsir` against data-selection 1.0.3's HashedNgramDSIR.

    python3 Tests/parity/dsir_parity.py --winnow .build/debug/winnow

The reference runs in a throw-away venv (Tests/parity/peers.py: .venv-dsir) with num_proc=1,
fitted on all tokens. Both read the same files: the 524 documents of Samples/web (man pages in
24 languages, licences, Debian docs) in five shards, plus a shard of documents made to trip a
port of Python's `\\w` and `str.lower()` (final sigma, dotted I, title-case digraphs, combining
marks, Unicode digits, CJK, emoji, zero-width characters, invalid surrogates avoided). Targets:
Samples/select/docs-target.jsonl.zst (NEWS and README documents), whole or split in two.

Checks, for a pooled target and for separate targets:
1. features: the buckets of single words and phrases (the reference's golden word too), and
   each stress document's hashed n-gram counts, equal;
2. the fit: raw and target counts equal; raw_probs, target_probs and log_diff equal to within
   1e-12 relative; the targets' proportions equal;
3. per-document lengths equal and log weights within 1e-9 relative;
4. the selected documents identical, in order, for top_k and for seeded Gumbel draws, through
   `winnow run` (inline; the last selection also local with 3 workers);
5. the KL reduction of a seeded selection (`winnow dsir kl-reduction`) equal to a numpy
   computation of the paper's formula on the reference's distributions, to within 1e-9.

Prints PASS/FAIL per check and ends with "N passed, M failed".
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from peers import dsir_python  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def worst_relative(a, b):
    """The largest |x − y| / max(|x|, |y|) over paired values (0 where both are 0)."""
    worst = 0.0
    where = None
    for k, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        r = abs(x - y) / max(abs(x), abs(y))
        if r > worst:
            worst, where = r, k
    return worst, where


STRESS = [
    "Alice went to the store", "alice", "ΣΟΦΟΣ ΟΔΟΣ. Σ ΑΣ", "İstanbul IIİ ıi", "Straße STRASSE ẞ", "ǅemal ǆ ǈ",
    "x² ³√ ½ ١٢٣ ४२ ⅻ Ⅻ", "naïve café e\u0301 n\u0303o", "日本語のテキスト、句読点。カタカナ", "foo_bar __init__ a--b ...",
    "🙂🙂 ok 👍🏽 done", "ﬁnance ﬂow Ꭰ ꭰ", "\u200bzero\u200cwidth\u200djoin", "tab\tnew\nline\u2028sep\u00a0nbsp",
    "ΌΣΟΣ ΤΕΛΟΣ. ΑΣ, Σ.", "Ǳ ǲ ǳ Ǆ", "Ὀδυσσεύς ᾼ ῼ", "Ǆ123 'quoted' \"double\" (paren) [br] {cu}",
    "한국어 텍스트 입니다", "Привет, МИР! Ёж", "ﾊﾝｶｸ ＡＢＣ １２３", "\u0130\u0307 K\u212a Å", "a\u0345b \u1e9e",
    "word" * 50, "", "   ", "!!!", "ok\ufeffbom", "𝐀𝐁𝐂 𝟙𝟚", "Ⓐⓑ ⅰⅱ",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--winnow", required=True)
    args = ap.parse_args()
    winnow = str(Path(args.winnow).resolve())
    py = dsir_python()
    work = Path(tempfile.mkdtemp(prefix="winnow-dsir-parity-"))
    try:
        raw_dir = work / "raw"
        raw_dir.mkdir()
        for k, shard in enumerate(sorted((ROOT / "Samples/web").glob("part-*.jsonl.zst"))):
            data = subprocess.run(["zstd", "-dc", str(shard)], capture_output=True, check=True).stdout
            (raw_dir / f"part-{k:05d}.jsonl").write_bytes(data)
        # Stress documents, long enough to be selectable (over 100 words) when repeated.
        stress = [{"id": f"stress-{k}", "text": (t + " ") * (1 + 120 // max(1, len(t.split())))} for k, t in enumerate(STRESS)]
        (raw_dir / "part-00005.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in stress))
        raw = sorted(str(p) for p in raw_dir.glob("part-*.jsonl"))
        docs = [json.loads(l) for p in raw for l in open(p, encoding="utf-8") if l.strip()]

        target_docs = [json.loads(l) for l in subprocess.run(
            ["zstd", "-dc", str(ROOT / "Samples/select/docs-target.jsonl.zst")], capture_output=True, check=True
        ).stdout.decode().splitlines() if l]
        pooled = work / "target.jsonl"
        pooled.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in target_docs))
        news = work / "target-news.jsonl"
        readme = work / "target-readme.jsonl"
        news.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in target_docs if "-NEWS" in d["id"]))
        readme.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in target_docs if "-NEWS" not in d["id"]))

        selections = [{"num_to_sample": 60, "top_k": True, "seed": 0}, {"num_to_sample": 60, "top_k": False, "seed": 1},
                      {"num_to_sample": 137, "top_k": False, "seed": 20231}]

        # 1. Features of words and phrases.
        words_file = work / "words.jsonl"
        words_file.write_text("".join(json.dumps({"id": f"w{k}", "text": t}, ensure_ascii=False) + "\n" for k, t in enumerate(STRESS)))

        for label, targets, separate in [("pooled target", [pooled], False), ("separate targets", [news, readme], True)]:
            cache = work / ("cache-" + label.replace(" ", "-"))
            spec = {"raw": raw, "targets": [str(t) for t in targets], "separate_targets": separate, "min_example_length": 100,
                    "cache": str(cache), "selections": selections, "words": STRESS}
            spec_path = work / "spec.json"
            spec_path.write_text(json.dumps(spec))
            p = subprocess.run([py, str(ROOT / "Tests/parity/peers/dsir_reference.py"), str(spec_path)], capture_output=True,
                               text=True, timeout=1800)
            if p.returncode != 0:
                check(f"{label}: the reference runs", False, p.stderr[-1500:])
                continue
            ref = json.loads(p.stdout)

            if not separate:
                f = subprocess.run([winnow, "dsir", "features", "--no-words", str(words_file)], capture_output=True, text=True)
                ours = [json.loads(l)["buckets"] for l in f.stdout.splitlines()]
                bad = [STRESS[k] for k, (a, b) in enumerate(zip(ours, ref["word_features"])) if a != b]
                check("features: the hashed n-gram counts of words and phrases in many scripts are the reference's",
                      f.returncode == 0 and len(ours) == len(STRESS) and not bad, f"differ on {bad[:3]!r} {f.stderr[-300:]}")
                check("features: the reference's golden bucket ('alice' → 6720)", ref["word_buckets"][1] == 6720 and
                      ours[1] == [[6720, 1]], str(ref["word_buckets"][1]))

            # 2. The fit.
            fit_path = work / f"fit-{separate}.json"
            cmd = [winnow, "dsir", "fit", "--save", str(fit_path), "--probabilities"]
            for t in targets:
                cmd += ["--targets", str(t)]
            if separate:
                cmd.append("--separate-targets")
            f = subprocess.run(cmd + raw, capture_output=True, text=True)
            if f.returncode != 0:
                check(f"{label}: winnow dsir fit runs", False, f.stderr[-800:])
                continue
            probs = json.loads(f.stdout)
            saved = json.load(open(fit_path))
            check(f"{label}: raw n-gram counts equal the reference's (all {len(docs)} documents)",
                  saved["raw_counts"] == ref["raw_counts"], f"{sum(saved['raw_counts'])} vs {sum(ref['raw_counts'])} n-grams")
            check(f"{label}: target n-gram counts equal the reference's",
                  [t["counts"] for t in saved["targets"]] == ref["target_counts"])
            for key in ("raw_probs", "target_probs", "log_diff"):
                a = probs[key] if key == "raw_probs" else [x for row in probs[key] for x in row]
                b = ref[key] if key == "raw_probs" else [x for row in ref[key] for x in row]
                w, at = worst_relative(a, b)
                check(f"{label}: {key} within 1e-12 relative", len(a) == len(b) and w <= 1e-12, f"worst {w:.2e} at {at}")
            if separate:
                w, _ = worst_relative(probs["proportions"], ref["target_proportions"])
                check(f"{label}: target proportions equal", w <= 1e-12, f"{probs['proportions']} vs {ref['target_proportions']}")

            # 3. Per-document lengths and weights.
            f = subprocess.run([winnow, "dsir", "weights", "--fit", str(fit_path)] + raw, capture_output=True, text=True)
            rows = [json.loads(l) for l in f.stdout.splitlines()]
            lengths_ok = [r["length"] for r in rows] == [int(x) for x in ref["lengths"]]
            check(f"{label}: per-document lengths equal", f.returncode == 0 and len(rows) == len(docs) and lengths_ok,
                  f"{len(rows)} rows for {len(docs)} documents {f.stderr[-300:]}")
            ours_w = [x for r in rows for x in (r["log_weight"] if separate else [r["log_weight"]])]
            ref_w = [x for r in ref["weights"] for x in (r if separate else [r])]
            w, at = worst_relative(ours_w, ref_w)
            check(f"{label}: per-document log weights within 1e-9 relative", len(ours_w) == len(ref_w) and w <= 1e-9,
                  f"worst {w:.2e} at {at}")

            # 4. The selections, through a recipe: inline, and the last also local ×3.
            for k, sel in enumerate(selections):
                method = "top_k" if sel["top_k"] else "gumbel"
                tlist = ", ".join(json.dumps(str(t)) for t in targets)
                got = {}
                # Every selection inline; the last (a seeded Gumbel draw) also with 3 local
                # workers (the executors' equality is checked on every recipe elsewhere).
                executors = [("inline", "1")] + ([("local", "3")] if k == len(selections) - 1 else [])
                for executor, workers in executors:
                    out = work / f"out-{k}"
                    recipe = work / f"r-{k}.yaml"
                    recipe.write_text(
                        f"name: dsir-parity\nseed: 1\ninput: {{paths: [{json.dumps(str(raw_dir))}]}}\n"
                        f"output: {{path: {json.dumps(str(out))}, compression: none}}\n"
                        f"stages:\n  - dsir_select: {{targets: [{tlist}], num_to_sample: {sel['num_to_sample']}, method: {method}, "
                        f"seed: {sel['seed']}, separate_targets: {str(separate).lower()}}}\n")
                    r = subprocess.run([winnow, "run", str(recipe), "--fresh", "--no-progress", "--executor", executor,
                                        "--workers", workers], capture_output=True, text=True, timeout=900)
                    if r.returncode != 0:
                        got[executor] = ["error: " + r.stderr[-400:]]
                        continue
                    got[executor] = [json.loads(l)["id"] for p in sorted(out.glob("part-*.jsonl")) for l in open(p) if l.strip()]
                want = ref["selections"][k]
                same = got.get("inline") == want and got.get("local", want) == want
                diff = sorted(set(got.get("inline", [])) ^ set(want))[:4]
                check(f"{label}: {method} selection of {sel['num_to_sample']} (seed {sel['seed']}) identical, in order, "
                      f"{' and '.join(e if e == 'inline' else 'local ×3' for e, _ in executors)}",
                      same and len(want) == sel["num_to_sample"],
                      f"{len(got.get('inline', []))} vs {len(want)}; differ {diff}")

            # 5. KL reduction of the last (seeded Gumbel) selection against numpy.
            if not separate:
                sel_file = work / "selected.jsonl"
                chosen = set(ref["selections"][-1])
                sel_file.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs if d["id"] in chosen))
                kl = subprocess.run([winnow, "dsir", "kl-reduction", "--fit", str(fit_path), str(sel_file)],
                                    capture_output=True, text=True)
                ours_kl = json.loads(kl.stdout)["kl_reduction"] if kl.returncode == 0 else None
                code = (
                    "import json,sys,numpy as np\n"
                    "from data_selection.hashed_ngram_dsir import get_ngram_counts\n"
                    "ref=json.load(open(sys.argv[1])); docs=[json.loads(l) for l in open(sys.argv[2])]\n"
                    "c=np.zeros(10000,dtype=int)\n"
                    "for d in docs: c=get_ngram_counts(d['text'],counts=c)\n"
                    "sel=c/c.sum(); q=np.array(ref['raw_probs']); P=np.array(ref['target_probs'])\n"
                    "def kl(p,r):\n m=p>0\n return float(np.sum(p[m]*(np.log(p[m]+1e-8)-np.log(r[m]+1e-8))))\n"
                    "print(json.dumps(float(np.mean([kl(p,q)-kl(p,sel) for p in P]))))\n")
                ref_file = work / "ref.json"
                ref_file.write_text(json.dumps(ref))
                n = subprocess.run([py, "-c", code, str(ref_file), str(sel_file)], capture_output=True, text=True)
                ref_kl = json.loads(n.stdout) if n.returncode == 0 else None
                ok = ours_kl is not None and ref_kl is not None and abs(ours_kl - ref_kl) <= 1e-9 * max(abs(ref_kl), 1e-12)
                check("KL reduction of a seeded selection equals numpy's computation of the formula (1e-9)", ok,
                      f"winnow {ours_kl} numpy {ref_kl} {kl.stderr[-200:]} {n.stderr[-300:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
