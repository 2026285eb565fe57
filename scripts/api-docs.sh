#!/usr/bin/env bash
# The public API's documentation: symbol graphs of the library modules (SwiftPM's
# dump-symbol-graph), their doc comments checked (scripts/check-api-docs.py), and with `--html`,
# one DocC archive per module under .build/docs/ (with the module's catalog, Sources/M/M.docc,
# where there is one; `docc` ships with the Swift toolchain).
#
#   scripts/api-docs.sh          # check only (part of make test)
#   scripts/api-docs.sh --html   # check, then build .build/docs/*.doccarchive (make docs)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
graphs=$(swift build --show-bin-path)/../symbolgraph
swift package dump-symbol-graph --skip-synthesized-members > .build/dump-symbol-graph.log 2>&1 \
  || { tail -20 .build/dump-symbol-graph.log; echo "api-docs: dump-symbol-graph failed"; exit 1; }
python3 scripts/check-api-docs.py "$graphs"
[ "${1:-}" = "--html" ] || exit 0
mkdir -p .build/docs
for m in Winnow WinnowText WinnowCore WinnowFilters WinnowDedup WinnowFastText WinnowRecipe WinnowReport WinnowSelect WinnowTokenizer WinnowFeed WinnowMixing; do
  one=$(mktemp -d)
  cp "$graphs/$m.symbols.json" "$one/"
  cp "$graphs/$m"@*.symbols.json "$one/" 2>/dev/null || true
  catalog=()
  [ -d "Sources/$m/$m.docc" ] && catalog=("Sources/$m/$m.docc")
  rm -rf ".build/docs/$m.doccarchive"
  docc convert "${catalog[@]}" --additional-symbol-graph-dir "$one" --fallback-display-name "$m" \
    --fallback-bundle-identifier "org.winnow.$m" --output-path ".build/docs/$m.doccarchive" \
    --experimental-documentation-coverage --coverage-summary-level brief > ".build/docs/$m.log" 2>&1 \
    || { tail -20 ".build/docs/$m.log"; echo "api-docs: docc failed for $m"; exit 1; }
  rm -rf "$one"
  echo "   $m: .build/docs/$m.doccarchive"
done
