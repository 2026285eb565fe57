#!/usr/bin/env python3
"""Writes Samples/parquet/web-00000.parquet: the documents of Samples/web/part-00000.jsonl.zst
as pyarrow writes Parquet by default (snappy, dictionary pages where they pay, data pages v1),
in row groups of 40 rows, with `meta` as a struct column (a nested column, as the Hub's
conversions have them).

    python3 scripts/make-parquet-sample.py

Runs under the venv of Tests/parity/peers.py's parquet_python() (pyarrow pinned there), made
on first use; needs the `zstd` command-line tool.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "parity"))


def main():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        import peers

        os.execv(peers.parquet_python(), [peers.parquet_python(), os.path.abspath(__file__)] + sys.argv[1:])
    source = os.path.join(ROOT, "Samples", "web", "part-00000.jsonl.zst")
    text = subprocess.run(["zstd", "-dc", source], check=True, capture_output=True).stdout.decode("utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    table = pa.Table.from_pylist(rows)
    out = os.path.join(ROOT, "Samples", "parquet", "web-00000.parquet")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    pq.write_table(table, out, row_group_size=40)
    print(f"{out}: {table.num_rows} rows, {pq.ParquetFile(out).metadata.num_row_groups} row groups, "
          f"{os.path.getsize(out)} bytes; schema: {table.schema}")


if __name__ == "__main__":
    main()
