#!/usr/bin/env python3
"""Winnow's Parquet reader and writer against pyarrow (and DuckDB): every row `winnow cat` prints
equals the row pyarrow reads, and Parquet Winnow writes reads back as the JSON lines it came from.

    python3 Tests/parity/parquet_parity.py --winnow .build/debug/winnow [--keep-work]

Runs in the venv of peers.parquet_python() (.venv-parquet: pyarrow 26.0.1, duckdb 2.0.1), made
on first use. Takes about 35 s on two cores (debug build) and under 2 GB of memory (the 200 MB
cell). The last line is checks.py's "N passed, M failed"; the exit status is 1 on any failure.

Reference. For every file, `pq.read_table(f)` (column by column: the values of `to_pylist()`)
converted to JSON by `expected_json_value(value, arrow_type)`: strings as they are, binary as
its bytes decoded as UTF-8 (the test data keeps it valid), integers of every width and sign as
ints, float32 and float64 as the Python float of the value with NaN and ±inf as null, bool as
bool, date32 as `date.isoformat()`, timestamp[s/ms/us] as `datetime.isoformat()` (no fraction
when the microseconds are 0; with tz="UTC" ending in "+00:00"), timestamp[ns] from its raw
int64 (`.cast(pa.int64())`): the seconds as above, then nine fraction digits when
nanoseconds % 1000 != 0, else six when the microseconds are not 0, else none; time32[ms] and
time64[us] as "HH:MM:SS[.ffffff]" (the same rule); decimal128 as `decimal.Decimal`; a
dictionary column as its value type; a list as a JSON array, a struct as an object of its
fields in order, a map as an array of [key, value] pairs (what to_pylist gives).

Comparison. Each output line is read by `json.loads(line, parse_float=Decimal)`, so a number
keeps the digits Winnow wrote: a float must read back as exactly the expected double (-0.0 is
not 0.0; Winnow writes the shortest repr), a decimal must equal the expected Decimal by value
(with or without a point), an integer must be a JSON integer (1 is not 1.0 or true), a row's
keys must be the schema's in order (`list(d.items())`), nested values alike. The first mismatch
is reported with file, row, column and both values. Fields Winnow cannot read (INTERVAL, from
DuckDB) must be absent from every row and listed in `--stats`'s "parquet_columns_skipped"
("FILE: FIELD (why)"); no other field may be listed there.

Files (all written by pyarrow 26 unless named otherwise), a table of 3,000 rows: id (string,
~10 % null), text (web-like lines, multi-KB paragraphs, CJK, Arabic, Cyrillic, Devanagari,
emoji and ZWJ sequences, quotes, backslashes, control characters, U+2028, newlines, tabs, empty
strings), and for each of int8, int16, int32, int64, uint8, uint16, uint32, uint64 (their min
and max included), float32, float64 (0.1, 1e-5, 1e16, 1e22, -0.0, 5e-324, nan, ±inf, the
type's extremes), bool, date32 (0001-01-01 to 9999-12-31), timestamp s/ms/us/ns, without and
with tz="UTC" (before 1970 too; ns to int64's extremes), time32[ms], time64[us],
decimal128(10,2), decimal128(38,10) (±(10^38-1)e-10), large_string, binary and
dictionary<int32,string> a non-null column and a nullable one (~10 % nulls):
- compression none, snappy, gzip, zstd, brotli, lz4 × use_dictionary on/off × data page
  version 1.0/2.0 (24 files); half of them with row_group_size 700 and data_page_size 4096 (many
  row groups and pages); the four uncompressed ones also with nested columns in the middle and
  at the end of the schema: list<int32>, large_list<string>, list<list<int64>>, a struct with
  date, decimal, timestamp and a struct of a list<double> inside, list<struct>,
  fixed_size_list<float32, 2>, map<string, int32>, map<int64, list<bool>> (nulls, empty lists
  and null elements at every level);
- encodings (use_dictionary off, pages v1 and v2): DELTA_BINARY_PACKED (integers, dates, times,
  timestamps), DELTA_LENGTH_BYTE_ARRAY (strings, binary), BYTE_STREAM_SPLIT (floats);
  DELTA_BYTE_ARRAY (strings, binary, decimals), BYTE_STREAM_SPLIT (floats, and integers, dates,
  times and timestamps, as Parquet 2.11 allows), RLE booleans;
- write_page_checksum=True (snappy, small pages, the nested columns too);
- INT96 timestamps and decimals stored as INT32/INT64 (store_decimal_as_integer), no Arrow
  schema in the file; every timestamp column holds the ns column's values here (int64's
  extremes included), since pyarrow reads INT96 as timestamp[ns];
- a file with two empty (0-row) row groups between non-empty ones (checked in the metadata),
  and two files of 0 rows: one row group of 0 rows (write_table of an empty table), and no row
  group at all (a ParquetWriter closed before any write);
- one row whose text is 200 MB (plus small rows; zstd): compared by length and sha256, read with
  --max-document-bytes 300000000; Winnow's peak RSS is printed and must stay below 1.5 GB;
- two files written by DuckDB (COPY ... (FORMAT PARQUET, COMPRESSION zstd | snappy)): varchar,
  integers, double, float, bool, timestamp, timestamptz, date, decimals stored as INT32/INT64
  and as FIXED_LEN_BYTE_ARRAY, a list, a struct, a map, an INTERVAL (left out) and nulls, one
  zstd with row groups of 1,000 rows, one snappy with PARQUET_VERSION V2; compared with
  pyarrow's reading of the same file (skipped if duckdb is missing);
- rows with a null text are quarantined (--quarantine): file, line = the 1-based row number,
  reason text_not_a_string, raw = the row as JSON (equal to the expected row); a file without a
  text column: every row quarantined as missing_text_field, and read with --text-field body.

Hostile files (exit status 1 and a message on stderr naming the file): the last 100 bytes cut
off, a bad magic number at the start, a footer length pointing outside the file, and a flipped
byte inside a page's data of a write_page_checksum=True file (the message must also name the
row group and the column and say CRC or corrupt).
"""

import argparse
import datetime
import decimal
import hashlib
import json
import math
import os
import random
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from peers import parquet_python, rerun_in_venv  # noqa: E402

rerun_in_venv(parquet_python, "WINNOW_PARQUET_VENV_ACTIVE", __file__)

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

try:
    import duckdb  # noqa: E402
except ImportError:
    duckdb = None

from checks import check, summary  # noqa: E402

Decimal = decimal.Decimal
EPOCH = datetime.datetime(1970, 1, 1)
ROWS = 3000
BIG_BYTES = 200_000_000
BIG_MARK = 1 << 20  # a text cell longer than this is compared by length and sha256


# --------------------------------------------------------------------------------------
# pyarrow values as JSON


def _iso_seconds(seconds):
    return (EPOCH + datetime.timedelta(seconds=seconds)).isoformat()


def _fraction(nanos):
    """The fraction of a second as Winnow (and Python's isoformat) write it: 9 digits when the
    nanoseconds are not whole microseconds, 6 when there are microseconds, else none."""
    if nanos % 1000:
        return f".{nanos:09d}"
    if nanos:
        return f".{nanos // 1000:06d}"
    return ""


def _timestamp_ns(raw, utc):
    seconds, nanos = divmod(raw, 1_000_000_000)
    return _iso_seconds(seconds) + _fraction(nanos) + ("+00:00" if utc else "")


def _time_ns(raw):
    seconds, nanos = divmod(raw, 1_000_000_000)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" + _fraction(nanos)


def _float(v):
    f = float(v)
    return f if math.isfinite(f) else None


def _timestamp(v):
    if v.tzinfo is not None:
        return v.astimezone(datetime.timezone.utc).isoformat()
    return v.isoformat()


def _is_ns(t):
    return (pa.types.is_timestamp(t) or pa.types.is_time(t)) and t.unit == "ns"


def _nullable(conv):
    return lambda v: None if v is None else conv(v)


def converter(t):
    """A function from one non-null value of Arrow type `t` (as pyarrow's `to_pylist` gives it;
    for the top-level nanosecond types, the raw int64) to the JSON value Winnow must print."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return lambda v: v
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return lambda v: bytes(v).decode("utf-8")
    if pa.types.is_boolean(t):
        return bool
    if pa.types.is_integer(t):
        return int
    if pa.types.is_floating(t):
        return _float
    if pa.types.is_date(t):
        return lambda v: v.isoformat()
    if pa.types.is_timestamp(t):
        if t.tz is not None and t.tz not in ("UTC", "+00:00", "Etc/UTC"):
            raise ValueError(f"test data has only UTC timestamps, not {t}")
        if t.unit == "ns":
            utc = t.tz is not None
            return lambda v: _timestamp_ns(v, utc)
        return _timestamp
    if pa.types.is_time(t):
        if t.unit == "ns":
            return _time_ns
        return lambda v: v.isoformat()
    if pa.types.is_decimal(t):
        return lambda v: v
    if pa.types.is_null(t):
        return lambda v: None
    # Nested values: a list as a JSON array, a struct as an object of its fields in order, a map
    # as an array of [key, value] pairs (to_pylist's list of tuples). Nanosecond types inside
    # them would reach here as datetimes, which cannot hold them: the test data has none.
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_list_view(t):
        if _is_ns(t.value_type):
            raise ValueError(f"no nanoseconds inside nested values: {t}")
        elem = _nullable(converter(t.value_type))
        return lambda v: [elem(x) for x in v]
    if pa.types.is_map(t):
        key, item = converter(t.key_type), _nullable(converter(t.item_type))
        return lambda v: [[key(k), item(x)] for k, x in v]
    if pa.types.is_struct(t):
        fields = [(t.field(i).name, _nullable(converter(t.field(i).type))) for i in range(t.num_fields)]
        if any(_is_ns(t.field(i).type) for i in range(t.num_fields)):
            raise ValueError(f"no nanoseconds inside nested values: {t}")
        return lambda v: {name: conv(v[name]) for name, conv in fields}
    raise ValueError(f"no JSON rule for {t}")


def expected_json_value(value, arrow_type):
    """One pyarrow value (to_pylist's; the raw int64 for timestamp[ns] and time64[ns]) as the JSON
    value Winnow must write for it."""
    if value is None:
        return None
    return converter(arrow_type)(value)


def column_values(col):
    """The Python values of a column (a ChunkedArray): to_pylist, but the raw int64 for the
    nanosecond types (to_pylist cannot hold nanoseconds in a datetime)."""
    if _is_ns(col.type):
        return col.cast(pa.int64()).to_pylist()
    return col.to_pylist()


def unreadable_fields(path):
    """The top-level fields of a Parquet file that Winnow leaves out: those with an INTERVAL leaf
    (the one Parquet type pyarrow or DuckDB write that Winnow does not read)."""
    schema = pq.ParquetFile(path).schema
    out = []
    for i in range(len(schema)):
        c = schema.column(i)
        logical = str(c.logical_type)
        if c.converted_type == "INTERVAL" or logical.startswith("Interval"):
            top = c.path.split(".")[0]
            if top not in out:
                out.append(top)
    return out


class Expected:
    """The rows Winnow must print for one file: (1-based row number, dict) for the rows whose
    text is a string (`good`) and for those whose text is null (`bad`); the fields it must leave
    out (`skipped`), and those that are nested (`nested`)."""

    def __init__(self, table, text_field="text", skipped=()):
        names, cols = [], []
        self.skipped = list(skipped)
        self.nested = [f.name for f in table.schema if pa.types.is_nested(f.type) and f.name not in self.skipped]
        for field, col in zip(table.schema, table.columns):
            if field.name in self.skipped:
                continue
            t = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
            if field.name == text_field and (pa.types.is_string(t) or pa.types.is_large_string(t)):
                vals = big_aware_strings(col)
            else:
                conv = converter(field.type)
                vals = [None if v is None else conv(v) for v in column_values(col)]
            names.append(field.name)
            cols.append(vals)
        self.names = names
        self.good, self.bad = [], []
        for i, values in enumerate(zip(*cols) if cols else [() for _ in range(table.num_rows)]):
            d = dict(zip(names, values))
            if isinstance(d.get(text_field), (str, BigText)):
                self.good.append((i + 1, d))
            else:
                self.bad.append((i + 1, d))


class BigText:
    """A text cell too long to keep as a Python string: its UTF-8 length and sha256."""

    def __init__(self, length, digest):
        self.length, self.digest = length, digest

    def __eq__(self, other):
        return isinstance(other, BigText) and (self.length, self.digest) == (other.length, other.digest)

    def __repr__(self):
        return f"<text of {self.length} bytes, sha256 {self.digest[:16]}...>"


def big_aware_strings(col):
    """A string column's values, with cells over BIG_MARK bytes as BigText (hashed from the Arrow
    buffer, never turned into a Python string)."""
    out = []
    for chunk in col.chunks:
        lengths = pa.compute.binary_length(chunk).to_pylist()
        if not any(n is not None and n > BIG_MARK for n in lengths):
            out += chunk.to_pylist()
            continue
        for i, n in enumerate(lengths):
            if n is None:
                out.append(None)
            elif n > BIG_MARK:
                buf = chunk[i].as_buffer()
                out.append(BigText(n, hashlib.sha256(buf).hexdigest()))
                del buf
            else:
                out.append(chunk[i].as_py())
    return out


def same(got, exp):
    """Winnow's JSON value `got` (parsed with parse_float=Decimal) equals the expected `exp`:
    a float is the number Winnow wrote read as a double, bit for bit (-0.0 is not 0.0); a
    decimal is the number Winnow wrote (with or without a point), by value; anything else has
    the same type and value (1 is not 1.0 or true), lists and objects (keys in order) alike."""
    if isinstance(exp, float):
        if not isinstance(got, Decimal):
            return False
        f = float(got)
        return f == exp and math.copysign(1.0, f) == math.copysign(1.0, exp)
    if isinstance(exp, Decimal):
        number = isinstance(got, Decimal) or (isinstance(got, int) and not isinstance(got, bool))
        return number and Decimal(got) == exp
    if isinstance(exp, list):
        return isinstance(got, list) and len(got) == len(exp) and all(same(g, e) for g, e in zip(got, exp))
    if isinstance(exp, dict):
        return (isinstance(got, dict) and list(got.keys()) == list(exp.keys())
                and all(same(got[k], v) for k, v in exp.items()))
    return type(got) is type(exp) and got == exp


def parse_row(line, text_field="text"):
    """One output line as a dict, its non-integer numbers as Decimal (the digits Winnow wrote);
    a huge text as BigText."""
    d = json.loads(line, parse_float=Decimal)
    if len(line) > BIG_MARK:
        text = d.get(text_field)
        if isinstance(text, str) and len(text) > BIG_MARK // 4:
            b = text.encode("utf-8")
            del text
            d[text_field] = BigText(len(b), hashlib.sha256(b).hexdigest())
            del b
    return d


def short(v):
    r = repr(v)
    return r if len(r) <= 200 else r[:160] + f"... ({len(r)} chars)"


def compare_rows(name, expected, got_rows):
    """None if `got_rows` (dicts) equal the expected rows, else where they first differ."""
    for (row, exp), got in zip(expected, got_rows):
        if list(got.keys()) != list(exp.keys()):
            return f"{name} row {row}: keys {list(got.keys())}, expected {list(exp.keys())}"
        for k, v in exp.items():
            if not same(got[k], v):
                return f"{name} row {row} column {k}: winnow {short(got[k])}, pyarrow {short(v)}"
    if len(got_rows) != len(expected):
        return f"{name}: winnow printed {len(got_rows)} rows, pyarrow has {len(expected)} with a text"
    return None


# --------------------------------------------------------------------------------------
# running winnow


class Winnow:
    def __init__(self, path, work):
        self.path, self.work = path, work

    def cat(self, name, *extra, stdout_file=None, timed=False):
        """Runs `winnow cat name` in the work directory with a quarantine and a stats file.
        Returns (rc, stdout bytes or None, stderr text, quarantine records, stats, peak RSS KiB)."""
        base = os.path.splitext(name)[0]
        q = os.path.join(self.work, base + ".quarantine.jsonl")
        s = os.path.join(self.work, base + ".stats.json")
        for p in (q, s):
            if os.path.exists(p):
                os.remove(p)
        cmd = [self.path, "cat", name, "--quarantine", q, "--stats", s, "--no-progress", *extra]
        tfile = os.path.join(self.work, base + ".time")
        use_time = timed and os.access("/usr/bin/time", os.X_OK)
        if use_time:
            cmd = ["/usr/bin/time", "-v", "-o", tfile, *cmd]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        try:
            if stdout_file:
                with open(stdout_file, "wb") as out:
                    p = subprocess.run(cmd, cwd=self.work, stdout=out, stderr=subprocess.PIPE)
                stdout = None
            else:
                p = subprocess.run(cmd, cwd=self.work, capture_output=True)
                stdout = p.stdout
        except OSError as e:  # the binary could not be started: a failed check, not a crash
            p = subprocess.CompletedProcess(cmd, -1, b"", f"cannot run {self.path}: {e}".encode())
            stdout = b""
        rss = None
        if use_time and os.path.exists(tfile):
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(tfile).read())
            rss = int(m.group(1)) if m else None
        if rss is None and timed:
            after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            rss = after if after > before else None  # the largest child so far: only if this one is it
        quarantine = []
        if os.path.exists(q):
            with open(q, "rb") as f:
                quarantine = [json.loads(line) for line in f if line.strip()]
        stats = json.load(open(s)) if os.path.exists(s) else None
        return p.returncode, stdout, p.stderr.decode("utf-8", "replace"), quarantine, stats, rss


def check_file(winnow, name, table=None, label=None, extra=(), text_field="text"):
    """Reads `name` with Winnow and compares every row with pyarrow's reading of it, and the
    fields left out with those listed in the stats."""
    label = label or name
    path = os.path.join(winnow.work, name)
    t0 = time.monotonic()
    table = pq.read_table(path) if table is None else table
    exp = Expected(table, text_field, unreadable_fields(path))
    del table
    rc, out, err, quarantine, stats, _ = winnow.cat(name, *extra)
    if rc != 0:
        check(f"{label}: rows equal pyarrow's", False, f"exit {rc}: {err.strip()[:400]}")
        return None
    got = [parse_row(line, text_field) for line in out.splitlines()]
    problem = compare_rows(name, exp.good, got)
    if problem is None and len(quarantine) != len(exp.bad):
        problem = f"{len(quarantine)} rows quarantined, {len(exp.bad)} have a null text"
    listed = (stats or {}).get("parquet_columns_skipped", [])
    fields = [re.match(rf"{re.escape(name)}: (.+?) \(.*\)$", s) for s in listed]
    fields = [m.group(1) if m else s for m, s in zip(fields, listed)]
    if problem is None and not exp.skipped and listed:
        problem = f"the stats list columns as left out: {listed}"
    nested = f", nested {', '.join(exp.nested)}" if exp.nested else ""
    check(f"{label}: {len(got)} rows equal pyarrow's ({len(exp.names)} columns{nested}) [{time.monotonic() - t0:.1f}s]",
          problem is None, problem or "")
    if exp.skipped:
        leaked = sorted({k for d in got for k in exp.skipped if k in d})
        ok = fields == exp.skipped and not leaked
        check(f"{label}: unreadable columns {exp.skipped} left out of every row and listed in the stats",
              ok, "" if ok else f"stats list {listed}, rows hold {leaked}")
    return exp, got, quarantine, stats


# --------------------------------------------------------------------------------------
# test data

WEB = ["Home | About | Contact", "Click here to read more »", "Posted on March 3, 2021 by admin",
       "Free shipping on orders over $50!", "Copyright © 2024 All rights reserved.",
       "Sign up for our newsletter", "Terms of Service · Privacy Policy", "Next page →",
       "Share on Twitter", "Loading...", "404 Not Found", "Best pizza in town — 5 stars"]
SENTENCES = ["The committee met on Tuesday to discuss the proposed changes to the zoning regulations.",
             "Researchers found that the compound reduced inflammation in 73% of the samples tested.",
             "She walked along the river at dawn, counting the herons that stood in the shallows.",
             "In 1887, the railway reached the valley, and with it came merchants, miners and mail.",
             "Preheat the oven to 200 °C and grease a 23 cm tin with butter before you begin.",
             "The algorithm runs in O(n log n) time and uses a constant amount of extra memory.",
             "Critics praised the novel's structure, though some found its ending abrupt.",
             "Water boils at a lower temperature at altitude, which changes cooking times."]
FOREIGN = ["数据整理工具可以帮助我们清理大规模的文本语料。", "日本語のテキストも正しく処理されるべきです。",
           "한국어 문장도 포함되어 있습니다.", "Это предложение написано по-русски.",
           "هذه جملة باللغة العربية.", "यह एक हिंदी वाक्य है।", "Ελληνικά κείμενα επίσης.",
           "emoji 😀👍🏽👩‍👩‍👧‍👦🇯🇵 and symbols ∑∫√∞ ♠♥", "Ünïcödé çömbïnïng: e\u0301 a\u0308 \u0915\u094d\u0937",
           "עברית מימין לשמאל", "ภาษาไทยไม่มีช่องว่างระหว่างคำ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙 𐍈 (astral)"]
NASTY = ['He said "hello" and left.', "C:\\Users\\admin\\file.txt", "tab\tseparated\tvalues",
         "line one\nline two\r\nline three", "nul \x00 bell \x07 esc \x1b del \x7f us \x1f",
         "separators \u2028 and \u2029 and \u0085", '{"json": "inside", "n": [1, 2]}',
         "\\u0041 is not an escape here", "</script><script>alert('x')</script>", "\ufeffBOM at start",
         '"', "\\", "\n", ""]


def make_text(rng, i):
    k = i % 10
    if k in (0, 1, 2, 3):
        return rng.choice(WEB) + f" #{i}"
    if k == 4:
        n = rng.randint(2000, 9000)
        parts, size = [], 0
        while size < n:
            s = rng.choice(SENTENCES)
            parts.append(s)
            size += len(s) + 1
        return " ".join(parts) + ("\n\n" + rng.choice(FOREIGN) if rng.random() < 0.3 else "")
    if k in (5, 6):
        return " ".join(rng.choice(FOREIGN) for _ in range(rng.randint(1, 4)))
    if k == 7:
        return rng.choice(NASTY) + rng.choice(NASTY)
    if k == 8:
        return " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 3)))
    return rng.choice(NASTY)


def ints(rng, bits, signed):
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    edge = [lo, hi, 0, 1, lo + 1, hi - 1] + ([-1] if signed else [])
    return edge + [rng.randint(lo, hi) if rng.random() < 0.5 else rng.randint(max(lo, -1000), min(hi, 1000))
                   for _ in range(ROWS - len(edge))]


F64_EDGE = [0.1, 1e-5, 1e16, 1e22, -0.0, 0.0, 5e-324, float("nan"), float("inf"), float("-inf"), 1.5, 1 / 3,
            2.0 ** 53, 2.0 ** 53 + 2, 1e15, 9.999999999999999e15, 1e-4, 9.99e-5, 123456.789, -2.5e-8,
            1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308, 4.9406564584124654e-324,
            0.30000000000000004, 100.0, 1e21, 1e-7]
F32_EDGE = [0.1, 1e-5, 1e16, 1e22, -0.0, 0.0, 5e-324, float("nan"), float("inf"), float("-inf"), 1.5, 1 / 3,
            3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 1.1754943508222875e-38,
            16777216.0, 16777217.0, 0.2, 65504.0, 1e-4, 1e15]


def floats(rng, edge):
    return edge + [rng.uniform(-1, 1) * 10.0 ** rng.randint(-30, 30) if rng.random() < 0.7 else
                   float(rng.randint(-100000, 100000)) / 8 for _ in range(ROWS - len(edge))]


def dec(rng, precision, scale, edge):
    out = list(edge)
    while len(out) < ROWS:
        digits = rng.randint(1, precision)
        n = rng.randint(0, 10 ** digits - 1)
        out.append(Decimal((rng.random() < 0.4, tuple(int(c) for c in str(n)), -scale)))
    return out


def with_nulls(rng, values, p=0.1):
    return [None if rng.random() < p else v for v in values]


DAY_MIN, DAY_MAX = -719162, 2932896  # 0001-01-01, 9999-12-31
SEC_MIN, SEC_MAX = -62135596800, 253402300799


def base_table(seed=1):
    rng = random.Random(seed)
    cols = {}
    cols["id"] = pa.array([None if rng.random() < 0.1 else f"doc-{i:05d}" for i in range(ROWS)], pa.string())
    cols["text"] = pa.array([make_text(rng, i) for i in range(ROWS)], pa.string())
    scalar = {}
    for bits, signed, t in [(8, True, pa.int8()), (16, True, pa.int16()), (32, True, pa.int32()),
                            (64, True, pa.int64()), (8, False, pa.uint8()), (16, False, pa.uint16()),
                            (32, False, pa.uint32()), (64, False, pa.uint64())]:
        scalar[("i" if signed else "u") + str(bits)] = (lambda b=bits, s=signed: ints(rng, b, s), t)
    scalar["f32"] = (lambda: floats(rng, F32_EDGE), pa.float32())
    scalar["f64"] = (lambda: floats(rng, F64_EDGE), pa.float64())
    scalar["bool"] = (lambda: [rng.random() < 0.5 for _ in range(ROWS)], pa.bool_())
    scalar["date"] = (lambda: [DAY_MIN, DAY_MAX, 0, -1, 19000] + [
        rng.randint(DAY_MIN, DAY_MAX) if rng.random() < 0.3 else rng.randint(-30000, 30000)
        for _ in range(ROWS - 5)], pa.date32())
    for unit, per in [("s", 1), ("ms", 1000), ("us", 10 ** 6), ("ns", 10 ** 9)]:
        if unit == "ns":
            lo, hi = -(1 << 63), (1 << 63) - 1
        else:
            lo, hi = SEC_MIN * per, SEC_MAX * per + (per - 1)
        for tz in (None, "UTC"):
            def gen(lo=lo, hi=hi, per=per):
                edge = [lo, hi, 0, -1, 1, per, -per, 1_704_164_645 * per + per // 7, 1_704_164_645 * per]
                return edge + [rng.randint(lo, hi) if rng.random() < 0.2 else
                               rng.randint(-2_000_000_000, 4_000_000_000) * per + rng.randint(0, per - 1) *
                               (rng.random() < 0.6) for _ in range(ROWS - len(edge))]
            scalar[f"ts_{unit}" + ("_utc" if tz else "")] = (gen, pa.timestamp(unit, tz=tz))
    scalar["time_ms"] = (lambda: [0, 86_399_999, 1000, 3_723_004] + [rng.randint(0, 86_399_999) if rng.random() < 0.7
                                                                     else rng.randint(0, 86_399) * 1000
                                                                     for _ in range(ROWS - 4)], pa.time32("ms"))
    scalar["time_us"] = (lambda: [0, 86_399_999_999, 1, 3_723_000_004] + [
        rng.randint(0, 86_399_999_999) if rng.random() < 0.7 else rng.randint(0, 86_399) * 10 ** 6
        for _ in range(ROWS - 4)], pa.time64("us"))
    d10 = [Decimal("99999999.99"), Decimal("-99999999.99"), Decimal("0.00"), Decimal("-0.01"), Decimal("0.10"),
           Decimal("-1.50"), Decimal("12345.67")]
    scalar["dec10_2"] = (lambda: dec(rng, 10, 2, d10), pa.decimal128(10, 2))
    big = 10 ** 38 - 1
    d38 = [Decimal((0, tuple(int(c) for c in str(big)), -10)), Decimal((1, tuple(int(c) for c in str(big)), -10)),
           Decimal("0E-10"), Decimal("-1E-10"), Decimal("1E-10"), Decimal("-123456789.0123456789"),
           Decimal((1, (1,) + (0,) * 36, -10))]
    scalar["dec38_10"] = (lambda: dec(rng, 38, 10, d38), pa.decimal128(38, 10))
    scalar["large"] = (lambda: [make_text(rng, rng.randint(0, 9) // 2 * 2 + 1 if rng.random() < 0.5 else 0)
                                for _ in range(ROWS)], pa.large_string())
    scalar["bin"] = (lambda: [make_text(rng, i + 5).encode("utf-8") for i in range(ROWS)], pa.binary())
    cats = ["news", "blog", "forum", "wiki", "code", "legal", "中文", "emoji 🎉", 'quote "q"', ""]
    scalar["cat"] = (lambda: [rng.choice(cats) for _ in range(ROWS)], pa.dictionary(pa.int32(), pa.string()))
    for name, (gen, t) in scalar.items():
        values = gen()
        if pa.types.is_dictionary(t):
            cols[name] = pa.array(values, pa.string()).dictionary_encode()
            cols[name + "_n"] = pa.array(with_nulls(rng, gen()), pa.string()).dictionary_encode()
        else:
            cols[name] = pa.array(values, t)
            cols[name + "_n"] = pa.array(with_nulls(rng, gen()), t)
    return pa.table(cols)


def with_nested(table, seed=2):
    """The table with nested columns in the middle and at the end of the schema: lists (empty,
    null, with null elements, of lists, of structs), structs (with a struct of a list inside,
    dates, decimals, timestamps), maps (string and integer keys)."""
    rng = random.Random(seed)
    n = table.num_rows

    def maybe(p, f):
        return None if rng.random() < p else f()

    def small_list(f, k=4):
        return [maybe(0.15, f) for _ in range(rng.randint(0, k))]

    words = ["a", "", "中文", "emoji 😀", 'q"uote', "back\\slash", "new\nline"]
    inner = pa.struct([("d", pa.list_(pa.float64()))])
    meta_t = pa.struct([("a", pa.int32()), ("b", pa.string()), ("when", pa.date32()), ("price", pa.decimal128(12, 3)),
                        ("at", pa.timestamp("us", tz="UTC")), ("inner", inner)])
    cols = {
        "tags": (pa.list_(pa.int32()),
                 lambda: maybe(0.1, lambda: small_list(lambda: rng.randint(-2 ** 31, 2 ** 31 - 1)))),
        "words": (pa.large_list(pa.string()), lambda: maybe(0.1, lambda: small_list(lambda: rng.choice(words)))),
        "matrix": (pa.list_(pa.list_(pa.int64())), lambda: maybe(0.1, lambda: [
            maybe(0.1, lambda: small_list(lambda: rng.randint(-2 ** 63, 2 ** 63 - 1), 3))
            for _ in range(rng.randint(0, 3))])),
        "meta": (meta_t, lambda: maybe(0.1, lambda: {
            "a": maybe(0.2, lambda: rng.randint(-9, 9)), "b": maybe(0.2, lambda: rng.choice(words)),
            "when": maybe(0.2, lambda: datetime.date(1, 1, 1) + datetime.timedelta(days=rng.randint(0, 3652058))),
            "price": maybe(0.2, lambda: Decimal(rng.randint(-10 ** 12 + 1, 10 ** 12 - 1)).scaleb(-3)),
            "at": maybe(0.2, lambda: datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
                        + datetime.timedelta(microseconds=rng.randint(-10 ** 16, 10 ** 16))),
            "inner": maybe(0.2, lambda: {"d": maybe(0.2, lambda: small_list(lambda: rng.choice(F64_EDGE), 3))})})),
        "people": (pa.list_(pa.struct([("name", pa.string()), ("age", pa.uint8())])), lambda: maybe(0.1, lambda: (
            small_list(lambda: {"name": rng.choice(words), "age": maybe(0.2, lambda: rng.randint(0, 255))}, 3)))),
        "fixed": (pa.list_(pa.float32(), 2),
                  lambda: maybe(0.1, lambda: [rng.choice(F32_EDGE), maybe(0.2, lambda: 0.5)])),
        "attrs": (pa.map_(pa.string(), pa.int32()), lambda: maybe(0.1, lambda: [
            (f"k{j}", maybe(0.2, lambda: rng.randint(-5, 5))) for j in range(rng.randint(0, 3))])),
        "codes": (pa.map_(pa.int64(), pa.list_(pa.bool_())), lambda: maybe(0.1, lambda: [
            (j * 1000003, maybe(0.2, lambda: small_list(lambda: rng.random() < 0.5, 2)))
            for j in range(rng.randint(0, 2))])),
    }
    t = table
    at = {"tags": 2, "words": 3, "matrix": 5, "meta": 6, "people": 9}
    for name, (typ, gen) in cols.items():
        arr = pa.array([gen() for _ in range(n)], typ)
        t = t.add_column(at[name], name, arr) if name in at else t.append_column(name, arr)
    return t


# --------------------------------------------------------------------------------------
# the checks


def check_matrix(winnow, table, nested):
    for ci, codec in enumerate(["none", "snappy", "gzip", "zstd", "brotli", "lz4"]):
        for di, use_dict in enumerate([True, False]):
            for vi, version in enumerate(["1.0", "2.0"]):
                small = (ci + di + vi) % 2 == 0
                name = f"{codec}-{'dict' if use_dict else 'plain'}-v{version[0]}{'-small' if small else ''}.parquet"
                t = nested if codec == "none" else table
                opts = dict(row_group_size=700, data_page_size=4096) if small else {}
                pq.write_table(t, os.path.join(winnow.work, name), compression=codec, use_dictionary=use_dict,
                               data_page_version=version, **opts)
                check_file(winnow, name)
                os.remove(os.path.join(winnow.work, name))


def encoding_map(table, which):
    enc = {}
    for field in table.schema:
        t = field.type
        if field.name in ("id", "text"):
            continue
        if which == "a":
            if pa.types.is_integer(t) or pa.types.is_temporal(t):
                enc[field.name] = "DELTA_BINARY_PACKED"
            elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t):
                enc[field.name] = "DELTA_LENGTH_BYTE_ARRAY"
            elif pa.types.is_floating(t):
                enc[field.name] = "BYTE_STREAM_SPLIT"
        else:
            if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
                    or pa.types.is_decimal(t)):
                enc[field.name] = "DELTA_BYTE_ARRAY"
            elif pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_temporal(t):
                enc[field.name] = "BYTE_STREAM_SPLIT"
            elif pa.types.is_boolean(t):
                enc[field.name] = "RLE"
    if which == "a":
        enc["id"] = "DELTA_LENGTH_BYTE_ARRAY"
        enc["text"] = "DELTA_LENGTH_BYTE_ARRAY"
    else:
        enc["text"] = "DELTA_BYTE_ARRAY"
    return enc


def check_encodings(winnow, table):
    for which in ("a", "b"):
        enc = encoding_map(table, which)
        for version in ("1.0", "2.0"):
            name = f"encodings-{which}-v{version[0]}.parquet"
            path = os.path.join(winnow.work, name)
            pq.write_table(table, path, compression="snappy", use_dictionary=False, data_page_version=version,
                           column_encoding=enc, data_page_size=8192, row_group_size=1200)
            md = pq.ParquetFile(path).metadata
            used = sorted({e for c in range(md.num_columns) for e in md.row_group(0).column(c).encodings})
            check_file(winnow, name, label=f"{name} ({', '.join(used)})")
            os.remove(path)


def check_special_writers(winnow, table, nested):
    name = "checksums.parquet"
    path = os.path.join(winnow.work, name)
    pq.write_table(nested, path, compression="snappy", write_page_checksum=True, data_page_size=4096,
                   row_group_size=1000)
    check_file(winnow, name, label=f"{name} (write_page_checksum=True)")

    # INT96 holds any day, but pyarrow reads it as timestamp[ns] (wrapping around outside
    # 1677-2262) and Winnow writes null where int64 nanoseconds overflow: every timestamp column
    # takes the values of the ns column here (int64's extremes included).
    name = "int96-decimal-ints.parquet"
    path = os.path.join(winnow.work, name)
    t96 = table
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            ns = "ts_ns" + ("_utc" if field.type.tz else "") + ("_n" if field.name.endswith("_n") else "")
            t96 = t96.set_column(i, field.name, table.column(ns))
    pq.write_table(t96, path, use_deprecated_int96_timestamps=True, store_decimal_as_integer=True,
                   store_schema=False, compression="zstd")
    del t96
    md = pq.ParquetFile(path).metadata
    physical = sorted({md.schema.column(i).physical_type for i in range(md.num_columns)})
    check_file(winnow, name, label=f"{name} (INT96 timestamps, decimals as INT32/INT64; {', '.join(physical)})")
    os.remove(path)

    # Two empty row groups between non-empty ones.
    name = "empty-row-groups.parquet"
    path = os.path.join(winnow.work, name)
    part = table.slice(0, 900)
    with pq.ParquetWriter(path, part.schema, compression="zstd") as w:
        w.write_table(part.slice(0, 400))
        w.write_table(part.slice(0, 0))
        w.write_batch(pa.RecordBatch.from_pylist([], schema=part.schema))
        w.write_table(part.slice(400, 500))
    md = pq.ParquetFile(path).metadata
    counts = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
    check(f"{name}: the file has 0-row row groups (row groups of {counts} rows)", 0 in counts[1:-1])
    check_file(winnow, name)

    # 0 rows: write_table of an empty table (one row group of 0 rows), and a writer closed
    # before any write (no row group at all).
    for name in ("no-rows.parquet", "no-row-groups.parquet"):
        path = os.path.join(winnow.work, name)
        if name == "no-rows.parquet":
            pq.write_table(table.slice(0, 0), path)
        else:
            pq.ParquetWriter(path, table.schema).close()
        md = pq.ParquetFile(path).metadata
        res = check_file(winnow, name, label=f"{name} (0 rows, {md.num_row_groups} row groups)")
        if res:
            check(f"{name}: nothing printed, nothing quarantined", not res[1] and not res[2])


def check_quarantine(winnow):
    rng = random.Random(9)
    n = 60
    null_at = {2, 7, 30, 59}
    table = pa.table({
        "id": pa.array([f"q{i}" for i in range(n)]),
        "text": pa.array([None if i in null_at else make_text(rng, i) for i in range(n)]),
        "n": pa.array([rng.randint(-10 ** 12, 10 ** 12) for _ in range(n)], pa.int64()),
        "x": pa.array([float("nan") if i == 7 else rng.random() for i in range(n)], pa.float64()),
        "price": pa.array([Decimal(rng.randint(-99999, 99999)).scaleb(-2) for _ in range(n)], pa.decimal128(10, 2)),
        "when": pa.array([rng.randint(-10 ** 18, 10 ** 18) for _ in range(n)], pa.timestamp("ns", tz="UTC")),
        "ok": pa.array([i % 3 == 0 for i in range(n)]),
    })
    name = "null-text.parquet"
    pq.write_table(table, os.path.join(winnow.work, name), row_group_size=25)
    res = check_file(winnow, name, label=f"{name}: the rows with a text")
    if not res:
        return
    exp, _, quarantine, stats = res
    problems = []
    rows = [r.get("line") for r in quarantine]
    if rows != [row for row, _ in exp.bad]:
        problems.append(f"quarantined rows {rows}, expected {[row for row, _ in exp.bad]}")
    for (row, d), r in zip(exp.bad, quarantine):
        if r.get("file") != name or r.get("reason") != "text_not_a_string":
            problems.append(f"row {row}: file {r.get('file')!r}, reason {r.get('reason')!r}")
            break
        raw = parse_row(r["raw"])
        p = compare_rows(name, [(row, d)], [raw])
        if p:
            problems.append("raw " + p)
            break
    check(f"{name}: rows {sorted(null_at)} (0-based) quarantined with file, line = row number, reason "
          f"text_not_a_string and the row as raw JSON", not problems, "; ".join(problems))

    name = "body.parquet"
    body = table.rename_columns(["id", "body", "n", "x", "price", "when", "ok"]).filter(
        pa.compute.is_valid(table.column("text")))
    pq.write_table(body, os.path.join(winnow.work, name))
    rc, out, err, quarantine, _, _ = winnow.cat(name)
    reasons = {r.get("reason") for r in quarantine}
    check(f"{name}: without a text column every row is quarantined as missing_text_field",
          rc == 0 and not out and len(quarantine) == body.num_rows and reasons == {"missing_text_field"},
          f"exit {rc}, {len(out.splitlines())} printed, {len(quarantine)} quarantined, reasons {reasons}")
    check_file(winnow, name, label=f"{name} --text-field body", extra=("--text-field", "body"), text_field="body")

    # Invalid UTF-8 in a binary text column and in a string column that is not the text (pyarrow
    # writes a string column's bytes unchecked from a binary array cast): those rows are
    # quarantined as invalid_utf8, as the same rows as JSON lines would be; the others read.
    name = "bad-utf8.parquet"
    texts = [f"row {i} ok".encode() for i in range(20)]
    texts[3] = b"bad \xff byte"
    texts[11] = b"cut \xe6\x97"
    others = [f"v{i}".encode() for i in range(20)]
    others[15] = b"\xed\xa0\x80 surrogate"
    tbl = pa.table({"text": pa.array(texts, pa.binary()),
                    "tag": pa.array(others, pa.binary()).view(pa.string())})
    pq.write_table(tbl, os.path.join(winnow.work, name))
    rc, out, err, quarantine, _, _ = winnow.cat(name)
    bad = sorted((r.get("line"), r.get("reason")) for r in quarantine)
    printed = [json.loads(line) for line in out.splitlines() if line.strip()] if out else []
    check(f"{name}: rows with invalid UTF-8 (text and another column) quarantined as invalid_utf8, the other 17 read",
          rc == 0 and bad == [(4, "invalid_utf8"), (12, "invalid_utf8"), (16, "invalid_utf8")] and len(printed) == 17
          and all(p["text"].startswith("row ") for p in printed),
          f"exit {rc}, quarantined {bad}, {len(printed)} printed")


def check_big_cell(winnow):
    name = "big-cell.parquet"
    path = os.path.join(winnow.work, name)
    rng = random.Random(11)
    t0 = time.monotonic()
    words = ["data", "river", "señor", "café", "naïve", "über", "garçon", "año", "quote\"d", "back\\slash",
             "tab\there", "new\nline", "42", "zebra", "déjà vu"]  # Latin-1 only: a 1-byte-per-character str in Python
    sentences = []
    size = 0
    while size < 1 << 20:
        s = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) + f" ({len(sentences)}). "
        b = s.encode("utf-8")
        sentences.append(b)
        size += len(b)
    chunk = b"".join(sentences)
    reps = -(-BIG_BYTES // len(chunk))
    data = chunk * reps
    del chunk, sentences
    small = ["a small row", "ein kleiner Satz", "一个小的句子 🙂"]
    texts = pa.chunked_array([
        pa.array(small[:1], pa.string()),
        pa.StringArray.from_buffers(1, pa.py_buffer(struct.pack("<ii", 0, len(data))), pa.py_buffer(data)),
        pa.array(small[1:], pa.string()),
    ])
    table = pa.table({"id": pa.array(["s0", "big", "s1", "s2"]), "text": texts,
                      "n": pa.array([1, 2, 3, 4], pa.int32())})
    pq.write_table(table, path, compression="zstd", use_dictionary=False)
    del table, texts, data
    pa.default_memory_pool().release_unused()
    gen_s = time.monotonic() - t0
    exp = Expected(pq.read_table(path))
    pa.default_memory_pool().release_unused()
    out_file = os.path.join(winnow.work, "big-cell.out.jsonl")
    t0 = time.monotonic()
    rc, _, err, quarantine, stats, rss = winnow.cat(name, "--max-document-bytes", "300000000",
                                                     stdout_file=out_file, timed=True)
    run_s = time.monotonic() - t0
    if rc != 0:
        check(f"{name}: a {BIG_BYTES} byte text cell", False, f"exit {rc}: {err.strip()[:400]}")
        return
    got = []
    with open(out_file, "rb") as f:
        for line in f:
            got.append(parse_row(line))
            del line
    os.remove(out_file)
    problem = compare_rows(name, exp.good, got)
    big = [d["text"] for _, d in exp.good if isinstance(d["text"], BigText)]
    check(f"{name}: a {big[0].length:,} byte text cell and 3 small rows equal pyarrow's (length and sha256; "
          f"written in {gen_s:.1f}s, read by winnow in {run_s:.1f}s)", problem is None and len(big) == 1,
          problem or "")
    limit = 1536 * 1024
    check(f"{name}: winnow's peak RSS {rss / 1024:.0f} MiB (< {limit // 1024} MiB)" if rss else
          f"{name}: winnow's peak RSS", rss is not None and rss < limit, "" if rss else "not measured")


def check_duckdb(winnow):
    if duckdb is None:
        check("duckdb-written files (duckdb is not installed)", True)
        return
    for codec, extra in [("zstd", ", ROW_GROUP_SIZE 1000"), ("snappy", ", PARQUET_VERSION V2")]:
        name = f"duckdb-{codec}.parquet"
        path = os.path.join(winnow.work, name)
        sql = f"""
        COPY (SELECT
            CASE WHEN i % 10 = 3 THEN NULL ELSE 'doc-' || i END AS id,
            'row ' || i || ' ' || repeat('é中😀"\\' || chr(10) || chr(9), i % 4)
                || repeat('lorem ipsum ', i % 50) AS text,
            (i * 7919 - 11000000)::INTEGER AS n32,
            CASE WHEN i % 7 = 0 THEN NULL ELSE i::BIGINT * 3074457345618258 - 4611686018427387904 END AS n64,
            (i % 256 - 128)::TINYINT AS n8,
            (i * 1000003)::UBIGINT * 4294967311 AS u64,
            CASE WHEN i % 9 = 0 THEN NULL ELSE i / 7.0 - 200 END::DOUBLE AS x,
            (i * 0.1)::FLOAT AS f,
            CASE WHEN i % 5 = 0 THEN NULL ELSE i % 3 = 0 END AS flag,
            TIMESTAMP '1960-01-01 00:00:00' + INTERVAL (i * 3607) SECOND * 97 + INTERVAL (i * 1013) MICROSECOND AS ts,
            CASE WHEN i % 11 = 0 THEN NULL
                 ELSE TIMESTAMPTZ '2024-01-02 03:04:05+00' + INTERVAL (i * 61) SECOND END AS tstz,
            DATE '1899-12-31' + (i * 17)::INTEGER AS d,
            (i * 1.25 - 1000)::DECIMAL(9, 2) AS dec9,
            CASE WHEN i % 6 = 0 THEN NULL ELSE (i * -3.0001)::DECIMAL(18, 4) END AS dec18,
            (i::HUGEINT * 12345678901234567 - 10)::DECIMAL(38, 6) AS dec38,
            INTERVAL (i) DAY + INTERVAL (i * 7) SECOND AS wait,
            CASE WHEN i % 8 = 0 THEN NULL ELSE [i, NULL, -i][1:i % 4] END AS nums,
            {{'k': i % 13, 'name': CASE WHEN i % 5 = 1 THEN NULL ELSE 'n' || i END,
              'xs': ['a', 'b"c'][1:i % 3]}} AS obj,
            CASE WHEN i % 9 = 0 THEN NULL ELSE MAP {{'x': i, 'y': CASE WHEN i % 2 = 0 THEN NULL ELSE -i END}} END AS m,
            'end ' || i AS tail
          FROM range({ROWS}) t(i))
        TO '{path}' (FORMAT PARQUET, COMPRESSION {codec}{extra})"""
        try:
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            con.execute(sql)
            con.close()
        except Exception as e:
            check(f"{name}: written by duckdb {duckdb.__version__}", False, repr(e))
            continue
        md = pq.ParquetFile(path).metadata
        check_file(winnow, name, label=f"{name} (duckdb {duckdb.__version__}, {md.num_row_groups} row groups, "
                                       f"created_by {md.created_by.split(' ')[0]})")


def check_hostile(winnow, table):
    good = os.path.join(winnow.work, "hostile-base.parquet")
    pq.write_table(table.slice(0, 1000), good, compression="none", use_dictionary=False, write_page_checksum=True)
    data = open(good, "rb").read()
    cases = []

    cases.append(("truncated.parquet", data[:-100], "the last 100 bytes cut off", []))
    cases.append(("bad-magic.parquet", b"PAR9" + data[4:], "a bad magic number at the start", []))
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    cases.append(("footer-outside.parquet", data[:-8] + struct.pack("<I", len(data) + 1000) + b"PAR1",
                  f"a footer length of {len(data) + 1000} (the file is {len(data)} bytes, footer {footer_len})", []))
    md = pq.ParquetFile(good).metadata
    col = next(i for i in range(md.num_columns) if md.schema.column(i).name == "i64")
    cc = md.row_group(0).column(col)
    # One data page (no dictionary, 8 KB of values): the chunk's last bytes are page data.
    at = cc.data_page_offset + cc.total_compressed_size - 20
    flipped = bytearray(data)
    flipped[at] ^= 0x5A
    cases.append(("flipped-byte.parquet", bytes(flipped), f"a byte flipped at offset {at}, in the data page of "
                  f"row group 0, column i64", ["i64", "row group", "crc|corrupt"]))
    for name, content, what, needs in cases:
        with open(os.path.join(winnow.work, name), "wb") as f:
            f.write(content)
        rc, _, err, _, _, _ = winnow.cat(name)
        low = err.lower()
        ok = rc == 1 and name in err and all(re.search(n, low) for n in needs)
        more = f", naming {' and '.join(needs)}" if needs else ""
        check(f"{name} ({what}): exit 1, an error naming the file{more}", ok,
              "" if ok else f"exit {rc}, stderr {err.strip()[:300]!r}")
        if ok:
            print(f"     stderr: {err.strip()[:300]}", flush=True)


# --------------------------------------------------------------------------------------
# writing


WRITER_SKIP = {"u64", "u64_n", "dec38_10", "dec38_10_n", "attrs", "codes"}


def _same_value(a, b):
    """JSON values equal, an integer equal to the same number as a float (a double column)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (a == b and type(a) is type(b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same_value(a[k], b[k]) for k in a)
    return a == b


def _first_difference(got, expected):
    if len(got) != len(expected):
        return f"{len(got)} rows, expected {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected)):
        if list(g) != list(e):
            return f"row {i}: keys {list(g)[:8]} != {list(e)[:8]}"
        for k in e:
            if not _same_value(g[k], e[k]):
                return f"row {i}, column {k}: {short(g[k])} != {short(e[k])}"
    return None


def check_writer(winnow, nested):
    """Parquet written by Winnow (`winnow cat rows.jsonl -o out.parquet`) read back by pyarrow,
    by DuckDB and by Winnow equals the JSON lines it came from: the rows of the nested table as
    Winnow reads them (columns whose JSON numbers a double cannot hold exactly left out: uint64,
    decimal128(38, 10); and the maps, whose [key, value] pairs mix kinds and are written as JSON
    text). Every codec, row groups of 200 kB."""
    keep = [c for c in nested.column_names if c not in WRITER_SKIP]
    src = os.path.join(winnow.work, "writer-source.parquet")
    pq.write_table(nested.select(keep), src)
    rows_path = os.path.join(winnow.work, "writer-rows.jsonl")
    rc, _, err, _, _, _ = winnow.cat("writer-source.parquet", "-o", rows_path)
    check("writer: the source rows as JSON lines", rc == 0, err[:300])
    with open(rows_path, "rb") as f:
        expected = [json.loads(line) for line in f if line.strip()]
    for codec in ("zstd", "snappy", "gzip", "none"):
        name = f"written-{codec}.parquet"
        out = os.path.join(winnow.work, name)
        p = subprocess.run([winnow.path, "cat", rows_path, "-o", out, "--compression", codec, "--row-group-bytes", "200000",
                            "--no-progress"], capture_output=True, text=True)
        if p.returncode != 0:
            check(f"writer: {name} written", False, p.stderr[:300])
            continue
        md = pq.ParquetFile(out).metadata
        got = pq.read_table(out).to_pylist()
        diff = _first_difference(got, expected)
        check(f"writer: {name} ({md.num_row_groups} row groups, {md.num_columns} leaf columns) read by pyarrow equals "
              f"the {len(expected)} JSON lines it came from", diff is None, diff or "")
        back = subprocess.run([winnow.path, "cat", out, "--no-progress"], capture_output=True)
        mine = [json.loads(line) for line in back.stdout.splitlines() if line.strip()]
        diff = _first_difference(mine, expected)
        check(f"writer: {name} read back by winnow equals them", back.returncode == 0 and diff is None,
              diff or back.stderr.decode()[:300])
        if duckdb is not None and codec in ("zstd", "snappy"):
            rel = duckdb.sql(f"SELECT * FROM read_parquet('{out}')")
            cols = rel.columns
            drows = [dict(zip(cols, r)) for r in rel.fetchall()]
            diff = _first_difference(drows, got)
            check(f"writer: {name} read by duckdb {duckdb.__version__} equals pyarrow's reading", diff is None, diff or "")


def check_recipe(winnow):
    """Recipes/parquet.yaml (Samples/parquet in, output.format: parquet) writes, as read by
    pyarrow, exactly the documents the same recipe writes as JSON lines."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    text = open(os.path.join(root, "Recipes", "parquet.yaml")).read()
    outs = {}
    for fmt in ("parquet", "jsonl"):
        out = os.path.join(winnow.work, f"recipe-{fmt}")
        body = text.replace("paths: [Samples/parquet/]", f"paths: [{json.dumps(os.path.join(root, 'Samples', 'parquet'))}]")
        body = body.replace("path: out/parquet\n", f"path: {json.dumps(out)}\n")
        body = body.replace("rejects: out/parquet-rejects", f"rejects: {json.dumps(out + '-rejects')}")
        if fmt == "jsonl":
            body = body.replace("format: parquet", "format: jsonl")
        recipe = os.path.join(winnow.work, f"recipe-{fmt}.yaml")
        with open(recipe, "w") as f:
            f.write(body)
        p = subprocess.run([winnow.path, "run", recipe, "--no-progress"], capture_output=True, text=True)
        check(f"recipe: Recipes/parquet.yaml with output.format {fmt} runs", p.returncode == 0, p.stderr[-300:])
        outs[fmt] = out
    import glob
    got = []
    for f in sorted(glob.glob(os.path.join(outs["parquet"], "*.parquet"))):
        got += pq.read_table(f).to_pylist()
    expected = []
    for f in sorted(glob.glob(os.path.join(outs["jsonl"], "*.jsonl.zst"))):
        data = subprocess.run(["zstd", "-dcq", f], capture_output=True, check=True).stdout
        expected += [json.loads(line) for line in data.splitlines() if line.strip()]
    diff = _first_difference(got, expected)
    check(f"recipe: its {len(got)} Parquet rows equal its {len(expected)} JSON lines", diff is None and len(got) > 0, diff or "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--winnow", required=True)
    ap.add_argument("--keep-work", action="store_true")
    args = ap.parse_args()
    winnow_path = os.path.abspath(args.winnow)
    work = tempfile.mkdtemp(prefix="winnow-parquet-")
    winnow = Winnow(winnow_path, work)
    t0 = time.monotonic()
    print(f"pyarrow {pa.__version__}, duckdb {duckdb.__version__ if duckdb else 'not installed'}", flush=True)

    table = base_table()
    nested = with_nested(table)
    check_matrix(winnow, table, nested)
    check_encodings(winnow, table)
    check_special_writers(winnow, table, nested)
    check_quarantine(winnow)
    check_duckdb(winnow)
    check_hostile(winnow, table)
    check_writer(winnow, nested)
    check_recipe(winnow)
    del table, nested
    check_big_cell(winnow)

    print(f"{time.monotonic() - t0:.1f}s")
    if args.keep_work:
        print(f"work: {work}")
    else:
        shutil.rmtree(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
