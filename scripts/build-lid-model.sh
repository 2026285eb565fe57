#!/usr/bin/env bash
# Rebuilds Winnow's built-in language-identification model from real text in Debian packages:
#   1. scripts/make-lid-corpus.py: man pages, handbooks and GNOME Help in 27 languages
#      (installs the packages it needs), split by source page into train and held-out test;
#   2. winnow fasttext supervised (one thread: the same model on every run), then quantize;
#   3. scripts/eval-lid.py: per-language precision and recall on the held-out test lines.
# The .ftz replaces Sources/CWinnowLanguageModel/model/winnow-lid.ftz (linked into the binary)
# and the table goes to docs/language-id-accuracy.md. Takes about 6 minutes on two cores.
#
#   scripts/build-lid-model.sh [WORK_DIR]      (default out/lid)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-out/lid}
winnow=.build/release/winnow
flags=(-dim 16 -minn 1 -maxn 4 -bucket 200000 -epoch 10 -lr 0.5 -minCount 3 -thread 1)
qflags=(-cutoff 50000 -retrain -qnorm -thread 1)

python3 scripts/make-lid-corpus.py "$work"
swift build -c release --product winnow >/dev/null
"$winnow" fasttext supervised -input "$work/train.txt" -output "$work/lid" -verbose 1 "${flags[@]}"
"$winnow" fasttext quantize -output "$work/lid" -input "$work/train.txt" "${qflags[@]}"
"$winnow" fasttext predict "$work/lid.ftz" "$work/test.txt" > "$work/predictions.txt"
cp "$work/lid.ftz" Sources/CWinnowLanguageModel/model/winnow-lid.ftz
# The build does not see the model change by itself.
touch Sources/CWinnowLanguageModel/language_model.c
{
  echo "# Built-in language-ID model: held-out accuracy"
  echo
  echo "Written by \`scripts/build-lid-model.sh\`. Model: \`Sources/CWinnowLanguageModel/model/winnow-lid.ftz\`"
  echo "($(stat -c %s "$work/lid.ftz") bytes), trained with \`winnow fasttext supervised ${flags[*]}\`,"
  echo "then \`winnow fasttext quantize ${qflags[*]}\`."
  echo
  echo "Training text: $(wc -l < "$work/train.txt") lines; held-out test: $(wc -l < "$work/test.txt") lines"
  echo "from source pages that contribute no training line (\`$work/stats.tsv\` lists the packages)."
  echo "Lines are prose paragraphs of 40–400 characters from Debian documentation, so these figures"
  echo "are for clean text of that kind; short or mixed-language web text scores lower."
  echo
  python3 scripts/eval-lid.py "$work/predictions.txt" "$work/test.txt"
} > docs/language-id-accuracy.md
echo "model: Sources/CWinnowLanguageModel/model/winnow-lid.ftz; accuracy: docs/language-id-accuracy.md"
