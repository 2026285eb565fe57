#!/usr/bin/env python3
"""Checks the doc comments of Winnow's public API, from the symbol graphs SwiftPM writes
(`swift package dump-symbol-graph`; scripts/api-docs.sh runs both).

Rules:
  - every public type, protocol, type alias, global function and protocol requirement of a
    library module has a doc comment;
  - a public member (property, method, initializer, case) without one is allowed only if it is
    listed in docs/api-undocumented.txt, the list of members still to document. A new public
    member without a doc comment fails the check; a listed member that gained one (or went) is
    reported so that the list can shrink (`--update` rewrites it).

    python3 scripts/check-api-docs.py .build/x86_64-unknown-linux-gnu/symbolgraph
    python3 scripts/check-api-docs.py DIR --update
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "docs" / "api-undocumented.txt"
MODULES = ["Winnow", "WinnowText", "WinnowCore", "WinnowFilters", "WinnowDedup", "WinnowFastText",
           "WinnowRecipe", "WinnowReport", "WinnowSelect", "WinnowTokenizer", "WinnowFeed", "WinnowMixing"]
DECLARATIONS = {"swift.class", "swift.struct", "swift.enum", "swift.protocol", "swift.typealias", "swift.func",
                "swift.var"}


def symbols(directory: Path):
    """(module, kind, name, file:line, documented, is_requirement) of every public symbol."""
    for module in MODULES:
        files = sorted(directory.glob(f"{module}.symbols.json")) + sorted(directory.glob(f"{module}@*.symbols.json"))
        if not files:
            sys.exit(f"check-api-docs: no symbol graph for {module} in {directory}")
        for f in files:
            graph = json.loads(f.read_text())
            requirements = {r["source"] for r in graph.get("relationships", [])
                            if r["kind"] in ("requirementOf", "optionalRequirementOf")}
            for s in graph["symbols"]:
                if s.get("accessLevel") not in ("public", "open"):
                    continue
                location = s.get("location", {})
                uri = location.get("uri", "")
                where = (uri.split("/Sources/", 1)[-1] if "/Sources/" in uri else uri) + ":" + str(
                    location.get("position", {}).get("line", 0) + 1)
                name = ".".join(s["pathComponents"])
                kind = s["kind"]["identifier"]
                title = s.get("names", {}).get("title", name)
                key = f"{module} {kind} {name}" + (f" {title}" if title != s["pathComponents"][-1] else "")
                yield module, kind, key, where, bool(s.get("docComment")), s["identifier"]["precise"] in requirements


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("symbolgraph_dir", type=Path)
    ap.add_argument("--update", action="store_true", help="rewrite docs/api-undocumented.txt to today's members")
    args = ap.parse_args()

    allowed = set()
    if LIST.exists():
        allowed = {line.strip() for line in LIST.read_text().splitlines() if line.strip() and not line.startswith("#")}
    errors, undocumented, total, documented = [], {}, 0, 0
    for module, kind, key, where, has_doc, requirement in symbols(args.symbolgraph_dir):
        total += 1
        if has_doc:
            documented += 1
            continue
        if kind in DECLARATIONS or requirement:
            errors.append(f"{where}: {key}: public {'protocol requirement' if requirement else 'declaration'} without a doc comment")
        else:
            undocumented[key] = where

    if args.update:
        LIST.write_text(
            "# Public members still without a doc comment (scripts/check-api-docs.py). The check fails on\n"
            "# any public member missing from this list without a doc comment: document new members, and\n"
            "# remove lines here as members are documented (`--update`).\n"
            + "".join(f"{k}\n" for k in sorted(undocumented)))
        print(f"check-api-docs: {LIST.relative_to(ROOT)} now lists {len(undocumented)} members")
    else:
        for key in sorted(set(undocumented) - allowed):
            errors.append(f"{undocumented[key]}: {key}: new public member without a doc comment")
    stale = sorted(allowed - set(undocumented)) if not args.update else []
    for e in errors:
        print(e)
    print(f"check-api-docs: {total} public symbols in {len(MODULES)} modules; {documented} documented, "
          f"{len(undocumented)} members on the to-document list"
          + (f"; {len(stale)} listed members are documented now or gone (run with --update)" if stale else ""))
    if errors:
        print(f"check-api-docs: FAILED ({len(errors)})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
