#!/usr/bin/env bash
# Rebuilds Recipes/models/quality-demo.ftz, the small demonstration model that
# Recipes/dclm-like.yaml uses in place of DCLM's real quality classifier.
#
# What it is: a fastText classifier trained by `winnow fasttext` on the 3,653 documents of
# Samples/quality, labelled __label__hq when FineWeb's heuristic filters (Gopher repetition,
# Gopher quality, C4 without the punctuation rule, FineWeb's rules; Recipes/fineweb.yaml) keep
# the document and __label__cc when they drop it. So it learns to imitate those heuristics from
# words and word pairs; it knows nothing of what makes text good for training. DCLM's model
# (openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin, labels __label__hq / __label__cc) is
# the real one: point the recipe's `model:` at it.
#
#   scripts/build-quality-demo-model.sh [WORK_DIR]     (default out/quality-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-out/quality-demo}
winnow=.build/release/winnow
mkdir -p "$work"
swift build -c release --product winnow >/dev/null

zstd -dcq Samples/quality/corpus.jsonl.zst > "$work/corpus.jsonl"
"$winnow" gopher-repetition "$work/corpus.jsonl" \
  | "$winnow" gopher-quality \
  | "$winnow" c4-quality --filter-no-terminal-punct false \
  | "$winnow" fineweb-quality --line-punct-thr 0.12 --short-line-thr 0.67 --char-duplicates-ratio 0.01 --new-line-ratio 0.3 \
  > "$work/kept.jsonl"
python3 - "$work" <<'PY'
import json, random, sys
work = sys.argv[1]
kept = {json.loads(l)["id"] for l in open(f"{work}/kept.jsonl", encoding="utf-8")}
lines = []
for l in open(f"{work}/corpus.jsonl", encoding="utf-8"):
    d = json.loads(l)
    label = "__label__hq" if d["id"] in kept else "__label__cc"
    lines.append(label + " " + " ".join(d["text"].split()))
random.Random(7).shuffle(lines)
cut = len(lines) * 9 // 10
open(f"{work}/train.txt", "w", encoding="utf-8").write("\n".join(lines[:cut]) + "\n")
open(f"{work}/test.txt", "w", encoding="utf-8").write("\n".join(lines[cut:]) + "\n")
print(f"{len(kept)} of {len(lines)} documents kept by the heuristics (hq); {cut} train, {len(lines) - cut} test lines")
PY
"$winnow" fasttext supervised -input "$work/train.txt" -output "$work/quality-demo" -dim 16 -wordNgrams 2 \
  -minCount 2 -bucket 100000 -epoch 25 -lr 0.5 -thread 1 -verbose 1
"$winnow" fasttext quantize -output "$work/quality-demo" -input "$work/train.txt" -cutoff 10000 -retrain -qnorm -thread 1
cp "$work/quality-demo.ftz" Recipes/models/quality-demo.ftz
echo "held-out test (P@1 = accuracy):"
"$winnow" fasttext test Recipes/models/quality-demo.ftz "$work/test.txt"
