"""Runs datatrove's four-filter chain on a JSONL corpus and writes each document's fate.

    python datatrove_quality.py CORPUS.jsonl OUT.jsonl

Run with the peer venv's Python (datatrove + spaCy). For every input document one output
line: {"id", "dropped_by": stage name or null, "reason": datatrove's reason or null,
"text": the final text (after C4's rewrite) when kept}. The chain and its parameters are
FineWeb's: GopherRepetitionFilter(), GopherQualityFilter(),
C4QualityFilter(filter_no_terminal_punct=False), FineWebQualityFilter(), all defaults
otherwise. Also prints the time spent in the filters.
"""

import json
import sys
import time

from datatrove.data import Document
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter)

CHAIN = [
    ("gopher_repetition", GopherRepetitionFilter()),
    ("gopher_quality", GopherQualityFilter()),
    ("c4_quality", C4QualityFilter(filter_no_terminal_punct=False)),
    ("fineweb_quality", FineWebQualityFilter()),
]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    spent = 0.0
    n = 0
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            d = json.loads(line)
            doc = Document(text=d["text"], id=d["id"])
            fate = {"id": d["id"], "dropped_by": None, "reason": None}
            t0 = time.perf_counter()
            for name, flt in CHAIN:
                r = flt.filter(doc)
                ok, reason = (r, None) if isinstance(r, bool) else (r[0], r[1])
                if not ok:
                    fate["dropped_by"], fate["reason"] = name, reason
                    break
            spent += time.perf_counter() - t0
            if fate["dropped_by"] is None:
                fate["text"] = doc.text
            out.write(json.dumps(fate, ensure_ascii=False) + "\n")
            n += 1
    print(f"datatrove: {n} documents, {spent:.1f} s in the filters", file=sys.stderr)


if __name__ == "__main__":
    main()
