#!/usr/bin/env bash
# RegMix's loop on the bundled samples, end to end (README, "Mixing"):
#   domains → prepared tokens → 32 proposed mixtures → 32 proxy runs (built-in Kneser–Ney proxy,
#   local executor) → regression → optimum → evaluation against the uniform and token-prior
#   mixtures → the mixture to a token budget → a Megatron dataset.
# Every step resumes: run it again after an interruption (even kill -9) and finished proxy runs
# are kept.
#
#   scripts/mixture-loop.sh [OUT]        # OUT defaults to out/mixture-loop
#   WINNOW=.build/debug/winnow RUNS=8 TOKENS=200000 scripts/mixture-loop.sh   # smaller, for tests
set -euo pipefail
cd "$(dirname "$0")/.."
W=${WINNOW:-.build/release/winnow}
OUT=${1:-out/mixture-loop}
RUNS=${RUNS:-32}
TOKENS=${TOKENS:-1000000}
TARGET=${TARGET:-valid/doc}
WORKERS=${WORKERS:-$(nproc)}
TOKENIZER=Recipes/models/sample-bpe-4k.json
mkdir -p "$OUT"

# 1. Domains: license texts, package documentation, English man pages, man pages in other languages.
if [ ! -e "$OUT/domains/.done" ]; then
  rm -rf "$OUT/domains"
  "$W" domain --rules "source=license -> license,source=doc -> doc,lang=en -> man-en" --default man-intl \
    Samples/web Samples/quality -o "$OUT/domains/" --compression none
  touch "$OUT/domains/.done"
fi
"$W" stats --by domain --tokenizer "$TOKENIZER" "$OUT/domains" | sed -n '/^  by domain/,/^$/p'

# 2. Tokens per domain, 10 % of each domain's documents held out for the losses.
if [ ! -e "$OUT/prepared/prepared.json" ]; then
  rm -rf "$OUT/prepared"
  "$W" mixture prepare "$OUT/domains" --tokenizer "$TOKENIZER" -o "$OUT/prepared"
fi

# 3. Proposals around the token prior, and one proxy run each.
"$W" mixture propose --prior "$OUT/prepared" -n "$RUNS" --seed 42 -o "$OUT/proposals.csv"
"$W" mixture run --mixtures "$OUT/proposals.csv" --prepared "$OUT/prepared" --tokens "$TOKENS" \
  --executor local --workers "$WORKERS" -o "$OUT/runs"

# 4. Regression of the target loss on the weights, and its optimum.
"$W" mixture fit --model linear --mixtures "$OUT/runs/mixtures.csv" --losses "$OUT/runs/losses.csv" \
  --target "$TARGET" -o "$OUT/model.json"
"$W" mixture optimize --model "$OUT/model.json" --prior "$OUT/prepared" -o "$OUT/weights.yaml" > /dev/null

# 5. The optimum against the uniform mixture and the token prior, each a fresh proxy run.
python3 - "$OUT/prepared/prepared.json" > "$OUT/uniform.yaml" <<'PY'
import json, sys
for d in json.load(open(sys.argv[1]))["domains"]:
    print(f"{d['name']}: 1")
PY
echo "target $TARGET (nats per token, lower is better; $TOKENS proxy tokens):"
for m in weights uniform prior; do
  src="$OUT/$m.yaml"; [ "$m" = prior ] && src="$OUT/prepared"
  "$W" mixture proxy --prepared "$OUT/prepared" --mixture "$src" --tokens "$TOKENS" -o "$OUT/eval-$m.json"
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f'  {sys.argv[2]:8} {d[\"losses\"][sys.argv[3].split(\"/\",1)[1]]:.4f}')" \
    "$OUT/eval-$m.json" "$m" "$TARGET"
done

# 6. The mixture itself (as many tokens as the domains hold, by the optimum's weights; at most
#    4 epochs of any domain), then token ids in a Megatron dataset.
BUDGET=$(python3 -c "import json,sys; print(sum(d['train_tokens'] + d['valid_tokens'] for d in json.load(open(sys.argv[1]))['domains']))" "$OUT/prepared/prepared.json")
rm -rf "$OUT/mixture"
"$W" mix "$OUT/domains" --weights "$OUT/weights.yaml" --budget "$BUDGET" --tokenizer "$TOKENIZER" \
  --manifest "$OUT/mixture-manifest.json" -o "$OUT/mixture/"
cat > "$OUT/export.yaml" <<YAML
name: mixture-export
input: {paths: ["$OUT/mixture"]}
output: {path: $OUT/export, format: megatron, name: data, tokenizer: $TOKENIZER}
stages:
  - tokenize: {tokenizer: $TOKENIZER, field: ""}
YAML
"$W" run "$OUT/export.yaml" --fresh > /dev/null
ls -l "$OUT/export/data.bin" "$OUT/export/data.idx"
