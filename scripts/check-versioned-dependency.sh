#!/usr/bin/env bash
# Checks that Winnow works as a versioned dependency (`.package(url: …, from: "0.1.0")`), the
# way a trainer's package uses it: SwiftPM refuses unsafe build flags in such a dependency.
# Makes a bare clone of this repository's HEAD, tags it 0.1.0 there (the repository itself is
# not touched), then builds and runs Tests/VersionedDependency against it: a program with a
# stage of its own that runs a recipe inline and on worker processes and compares the outputs
# (see its main.swift). Uncommitted changes are not part of the check: it tests HEAD.
#
#   scripts/check-versioned-dependency.sh            # scratch space in a temporary directory
#   KEEP=1 scripts/check-versioned-dependency.sh     # keep it (the path is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/winnow-versioned.XXXXXX")
# Kept when a check fails (the consumer's files are in run/) or when KEEP is set.
trap 'rc=$?; if [ $rc -ne 0 ] || [ -n "${KEEP:-}" ]; then echo "   scratch kept: $work"; else rm -rf "$work"; fi' EXIT

head=$(git rev-parse HEAD)
echo "== versioned dependency: Winnow $(git rev-parse --short HEAD) as 0.1.0 (scratch $work)"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "   note: uncommitted changes are not checked, only HEAD"
fi
git clone --quiet --bare --no-local "$root" "$work/Winnow.git"
git -C "$work/Winnow.git" tag 0.1.0 "$head"

# The consumer package is copied out so that its .build and Package.resolved stay out of the
# repository; its dependencies (Winnow and Winnow's own) are resolved afresh.
cp -R Tests/VersionedDependency "$work/consumer"
rm -rf "$work/consumer/.build" "$work/consumer/Package.resolved"
export WINNOW_PACKAGE_URL="file://$work/Winnow.git"
log="$work/build.log"
echo "   resolving and building Tests/VersionedDependency against $WINNOW_PACKAGE_URL (debug; log $log)"
if ! swift build --package-path "$work/consumer" > "$log" 2>&1; then
  grep -E "error|unsafe" "$log" | head -20 || tail -20 "$log"
  echo "versioned dependency: FAILED to resolve or build (log above)"
  exit 1
fi
resolved=$(grep -A6 '"identity" : "winnow"' "$work/consumer/Package.resolved" | grep -E '"version"|"revision"' | tr -d ' ",' | tr '\n' ' ')
echo "   resolved winnow: $resolved"
case "$resolved" in
  *"version:0.1.0"*"revision:$head"* | *"revision:$head"*"version:0.1.0"*) ;;
  *) echo "versioned dependency: FAILED: winnow did not resolve to 0.1.0 at $head"; exit 1 ;;
esac
"$work/consumer/.build/debug/winnow-consumer" "$work/run"
