#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of Fuzz/ with the address sanitizer and runs each
# for FUZZ_SECONDS (default 180), starting from its seed corpus in Fuzz/corpus/<target>/.
# New inputs go to .build-fuzz/corpus/<target>/, crashes to .build-fuzz/artifacts/<target>/;
# the seed corpus in the repository is never written. Exits 1 if any target found a crash,
# a hang (over 10 s on one input) or an allocation over 2 GB.
#
#   make fuzz                                   # every target, 3 minutes each
#   FUZZ_SECONDS=30 FUZZ_TARGETS="json" make fuzz
#   FUZZ_CONFIG=release make fuzz               # faster
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
seconds=${FUZZ_SECONDS:-180}
targets=${FUZZ_TARGETS:-"json recipe fasttext run-files token-files mixture-files vector-files parquet"}
config=${FUZZ_CONFIG:-debug}
scratch="$PWD/.build-fuzz"

mkdir -p "$scratch"
echo "== building Fuzz/ ($config, address sanitizer; log $scratch/build.log)"
# SwiftPM's --sanitize=fuzzer only links libFuzzer; -Xswiftc adds the coverage instrumentation
# to every Swift module, without which the fuzzer is blind to the code it feeds.
if ! swift build --package-path Fuzz --scratch-path "$scratch" -c "$config" --sanitize=fuzzer --sanitize=address \
  -Xswiftc -sanitize=fuzzer,address > "$scratch/build.log" 2>&1; then
  grep -E "error" "$scratch/build.log" | head -20
  exit 1
fi

failed=0
for t in $targets; do
  case "$t" in
    json) max_len=65536 ;;
    recipe) max_len=16384 ;;
    *) max_len=32768 ;;
  esac
  work="$scratch/corpus/$t"
  artifacts="$scratch/artifacts/$t"
  # Findings of earlier runs are kept, with the date, beside this run's.
  if [ -n "$(ls -A "$artifacts" 2>/dev/null)" ]; then mv "$artifacts" "$artifacts.$(date +%Y%m%d-%H%M%S)"; fi
  mkdir -p "$work" "$artifacts"
  log="$scratch/fuzz-$t.log"
  echo "== fuzz-$t: ${seconds}s, seeds Fuzz/corpus/$t, log $log"
  "$scratch/$config/fuzz-$t" "$work" "Fuzz/corpus/$t" -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=10 -malloc_limit_mb=2048 -rss_limit_mb=4096 -artifact_prefix="$artifacts/" -print_final_stats=1 \
    > "$log" 2>&1
  rc=$?
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ +DONE" "$log" | sed 's/^/   /'
  echo "   corpus: $(ls "$work" | wc -l) inputs; findings: $(ls "$artifacts" | wc -l) in $artifacts"
  if [ $rc -ne 0 ]; then
    failed=1
    echo "   FAILED (exit $rc): $(grep -m1 -E "ERROR|SUMMARY|Fatal error|fatal error" "$log")"
  fi
done
exit $failed
