#!/usr/bin/env python3
"""End-to-end checks of the real `winnow` binary against Python's json module.

    python3 Tests/parity/run_all.py --winnow .build/debug/winnow

Python 3 standard library only (plus the `zstd` command-line tool, which the samples
need anyway). Every check prints PASS or FAIL with details; the last line is
`N passed, M failed` and the exit code is 1 when anything failed.
"""

import argparse
import base64
import glob
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "Samples")
WEB_SHARDS = sorted(glob.glob(os.path.join(SAMPLES, "web", "*.jsonl.zst")))
BAD_LINES = os.path.join(SAMPLES, "bad", "bad-lines.jsonl")
BAD_README = os.path.join(SAMPLES, "bad", "README.md")
TRUNCATED = os.path.join(SAMPLES, "bad", "truncated.jsonl.zst")

# Restated from Samples/bad/README.md; the README's own table is parsed too and must agree.
BAD_TABLE = {
    1: None, 2: "invalid_json", 3: None, 4: "trailing_data", 5: "not_an_object", 6: "invalid_utf8",
    7: "invalid_escape", 8: "lone_surrogate", 9: None, 10: "missing_text_field", 11: "text_not_a_string",
    12: "empty", 13: "control_character", 14: None, 15: None, 16: None,
}

WINNOW = None
TMP = None
PASSED = 0
FAILED = 0


# --------------------------------------------------------------------------------------
# helpers


def report(ok, name, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"PASS {name}" + (f": {detail}" if detail else ""), flush=True)
    else:
        FAILED += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


ONLY = None


def check(name, fn):
    """Runs one check; fn returns (ok, detail) or raises."""
    if ONLY and not any(o.lower() in name.lower() for o in ONLY):
        return True
    t0 = time.monotonic()
    try:
        ok, detail = fn()
    except Exception as e:  # a crash of the check is a failure, not a crash of the script
        ok, detail = False, f"exception: {e!r}\n{traceback.format_exc()}"
    dt = time.monotonic() - t0
    return report(ok, name, f"{detail} [{dt:.1f}s]" if detail else f"[{dt:.1f}s]")


def winnow(*args, stdin=None, cwd=None, timeout=300):
    """Runs the binary; returns CompletedProcess with bytes stdout/stderr."""
    return subprocess.run(
        [WINNOW, *args], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=cwd or ROOT, timeout=timeout)


def sh(cmd, cwd=None, timeout=300):
    return subprocess.run(
        ["bash", "-c", "set -o pipefail; " + cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=cwd or ROOT, timeout=timeout, env={**os.environ, "WINNOW": WINNOW})


def zstd_decompress(path):
    r = subprocess.run(["zstd", "-dc", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError(f"zstd -dc {path}: {r.stderr.decode(errors='replace')}")
    return r.stdout


def read_any(path):
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return zstd_decompress(path)
    if head.startswith(b"\x1f\x8b"):
        with gzip.open(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def lines_of(data):
    """Splits JSONL bytes into lines (without the '\\n'); every line must end with '\\n'."""
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise ValueError("output does not end with a newline")
    return data[:-1].split(b"\n")


def err_text(r):
    return r.stderr.decode("utf-8", errors="replace").strip()


def short(b, n=200):
    s = b.decode("utf-8", errors="replace") if isinstance(b, (bytes, bytearray)) else str(b)
    return s if len(s) <= n else s[:n] + f"… ({len(s)} chars)"


def compare_lines(expected, got, what="output"):
    """(ok, detail): byte-identical line lists AND equal under json.loads, field by field."""
    if len(expected) != len(got):
        return False, f"{what}: {len(got)} lines, expected {len(expected)}"
    for k, (a, b) in enumerate(zip(expected, got)):
        if a != b:
            pos = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
            return False, (f"{what}: line {k + 1} differs at byte {pos}: expected …{short(a[max(0, pos - 30):pos + 40])} "
                           f"got …{short(b[max(0, pos - 30):pos + 40])}")
        ja, jb = json.loads(a), json.loads(b)
        if ja != jb or list(ja) != list(jb):
            return False, f"{what}: line {k + 1} differs under json.loads"
    return True, f"{len(got)} lines byte-identical and json-equal"


def stats_balance(path, expect=None):
    with open(path) as f:
        s = json.load(f)
    r, w, d, q = (s.get(k) for k in ("documents_read", "documents_written", "documents_dropped",
                                     "documents_quarantined"))
    if None in (r, w, d, q):
        return False, f"{path}: missing count keys in {sorted(s)}"
    if r != w + d + q:
        return False, f"{path}: read {r} != written {w} + dropped {d} + quarantined {q}"
    if expect:
        for k, v in expect.items():
            if s.get(k) != v:
                return False, f"{path}: {k} = {s.get(k)}, expected {v}"
    return True, f"read {r} = written {w} + dropped {d} + quarantined {q}"


def all_ok(*results):
    details = []
    for ok, detail in results:
        if not ok:
            return False, detail
        details.append(detail)
    return True, "; ".join(details)


# --------------------------------------------------------------------------------------
# the tricky file


RAW_TEXTS = [
    "Grüße aus Köln", "naïve café", "Ελληνικά γράμματα", "Русский текст", "עברית", "العربية",
    "हिन्दी", "中文字符", "日本語のテキスト", "한국어", "ไทย", "ǅemal", "ﬁ ligature", "Ω≈ç√∫",
    "e\u0301 combining", "\u2028line sep\u2029para sep", "\ufeffBOM inside", "\u00a0nbsp\u3000ideographic",
    "tab-free", "del\u007fchar", "\uffff nonchar", "\U0010ffff max", "zero\u200bwidth",
]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇩🇪", "🏳️‍🌈", "🧪", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "🀄", "❤️"]
SIMPLE_ESCAPES = ['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]
NUMBERS = [
    "0", "-0", "1", "-1", "42", "123456789012345678901234567890", "-9007199254740993", "3.14", "-2.5e-3",
    "1E10", "1e+2", "6.02214076e23", "1.7976931348623157e308", "5e-324", "-0.0", "0.1", "1.0", "100e-2",
]


def json_str_of_raw(s):
    """Raw UTF-8 for everything JSON lets through raw; escapes only for '"', '\\' and controls."""
    out = []
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def rand_string_body(r, max_pieces=30):
    pieces = []
    for _ in range(r.randint(0, max_pieces)):
        kind = r.randrange(9)
        if kind == 0:
            pieces.append(r.choice(SIMPLE_ESCAPES))
        elif kind == 1:  # \u escape of a BMP non-surrogate code point, either hex case
            cp = r.choice([r.randrange(0x20, 0x80), r.randrange(0x80, 0x800), r.randrange(0x800, 0xD800),
                           r.randrange(0xE000, 0x10000)])
            h = "%04x" % cp
            pieces.append("\\u" + (h.upper() if r.random() < 0.5 else h))
        elif kind == 2:  # surrogate pair
            cp = r.randrange(0x10000, 0x110000)
            v = cp - 0x10000
            hi, lo = 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)
            pieces.append("\\u%04x\\u%04X" % (hi, lo) if r.random() < 0.5 else "\\u%04X\\u%04x" % (hi, lo))
        elif kind == 3:
            pieces.append(json_str_of_raw(r.choice(RAW_TEXTS)))
        elif kind == 4:
            pieces.append(r.choice(EMOJI))
        elif kind == 5:  # escaped control characters, including NUL
            pieces.append("\\u%04x" % r.choice([0, 1, 8, 0x0B, 0x1B, 0x1C, 0x1F, 0x7F]))
        elif kind == 6:
            pieces.append(" ".join(r.choice(["lorem", "ipsum", "dolor", "sit", "amet", "x", "Q"])
                                   for _ in range(r.randint(1, 8))))
        elif kind == 7:  # whitespace of every kind, escaped or raw
            pieces.append(r.choice([" ", "  ", "\\n\\n", "\\t", "\u3000", "\u00a0", "\u2003", "\\u0085",
                                    "\\u001c", "\\u001f", "\\u000b\\u000c"]))
        else:
            pieces.append(r.choice(["'", "{", "}", "[", "]", ":", ",", "\\u0022", "\\u005c", "</script>", "\\\\u0041"]))
    return "".join(pieces)


def rand_ws(r):
    return r.choice(["", "", "", " ", "  ", "\t", " \t "])


def rand_value(r, depth):
    k = r.randrange(10 if depth < 4 else 6)
    if k in (0, 1):
        return '"' + rand_string_body(r, 8) + '"'
    if k == 2:
        return r.choice(NUMBERS)
    if k == 3:
        return r.choice(["true", "false", "null"])
    if k == 4:
        return '""'
    if k == 5:
        return r.choice(["{}", "[]", "[ ]", "{ }"])
    if k in (6, 7):
        items = [rand_value(r, depth + 1) for _ in range(r.randint(0, 5))]
        return "[" + ",".join(rand_ws(r) + v + rand_ws(r) for v in items) + "]"
    return rand_object(r, depth + 1, r.randint(0, 5))


def rand_key(r, used):
    while True:
        body = r.choice([
            lambda: r.choice(["a", "b", "meta", "url", "lang", "score", "ключ", "キー", "k\\u00e9y", "with space",
                              "with\\\"quote", "emoji😀", "", "TEXT", "Id", "text_", "_id"]),
            lambda: rand_string_body(r, 3),
        ])()
        name = json.loads('"' + body + '"')
        if name not in used and name not in ("text", "id"):
            used.add(name)
            return body


def rand_object(r, depth, n):
    used = set()
    parts = []
    for _ in range(n):
        key = rand_key(r, used)
        parts.append(rand_ws(r) + '"' + key + '"' + rand_ws(r) + ":" + rand_ws(r) + rand_value(r, depth) + rand_ws(r))
    return "{" + ",".join(parts) + "}"


def tricky_lines(seed=20240601, n=300):
    r = random.Random(seed)
    out = []
    for i in range(n):
        used = set()
        members = []
        text = rand_string_body(r, 60)
        text_key = "text" if i % 17 else r.choice(["\\u0074ext", "t\\u0065xt", "\\u0074\\u0065\\u0078\\u0074"])
        members.append(("text", '"' + text_key + '"', '"' + text + '"'))
        mode = i % 5
        if mode == 0:
            members.append(("id", '"id"', '"' + "tricky-%04d" % i + '"'))
        elif mode == 1:
            members.append(("id", '"id"', '"' + rand_string_body(r, 4) + "-%d" % i + '"'))
        elif mode == 2:
            pass  # no id at all: winnow names it <file>#<line>
        elif mode == 3:
            members.append(("id", '"\\u0069d"', '"' + "esc-key-%d" % i + '"'))
        else:
            members.append(("id", '"id"', str(i)))  # a numeric id
        for _ in range(r.randint(0, 6)):
            key = rand_key(r, used)
            members.append((None, '"' + key + '"', rand_value(r, 1)))
        r.shuffle(members)  # unusual key orders: text last, id in the middle, …
        body = ",".join(rand_ws(r) + k + rand_ws(r) + ":" + rand_ws(r) + v + rand_ws(r) for _, k, v in members)
        line = "{" + body + "}"
        out.append(line.encode("utf-8"))
    # A few hand-made lines.
    deep = '{"id": "deep", "text": "32 arrays deep", "x": ' + "[" * 32 + "{" + '"y": ' * 0 + "}" + "]" * 32 + "}"
    out.append(deep.encode())
    deep2 = '{"id":"deep2","text":"objects","x":' + '{"a":' * 48 + "null" + "}" * 48 + "}"
    out.append(deep2.encode())
    out.append(b'{"text":""}')
    out.append('{ "id" : "spaces" ,\t"text" :\t"a  b\\n\\nc" ,  "n" : [ 1 , -0 , 2.50 ] }'.encode())
    out.append(('{"id":"long-escapes","text":"' + "\\ud83d\\ude00\\u00e9\\n" * 5000 + '"}').encode())
    out.append(('{"id":"all-escapes","text":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u001F\\u007f\\u0080\\u07FF'
                '\\u0800\\uFFFF\\uD800\\uDC00\\uDBFF\\uDFFF\\uE000"}').encode())
    for line in out:  # every generated line must be valid, loadable, UTF-8 JSON
        d = json.loads(line)
        assert isinstance(d, dict) and isinstance(d.get("text"), str), line[:200]
        d["text"].encode("utf-8")
    return out


# --------------------------------------------------------------------------------------
# checks


def sample_lines():
    return [lines_of(zstd_decompress(p)) for p in WEB_SHARDS]


def bad_readme_table():
    rows = {}
    with open(BAD_README, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\|\s*(\d+)\s*\|(.*)\|(.*)\|\s*$", line)
            if not m:
                continue
            n, what, reason = int(m.group(1)), m.group(2), m.group(3)
            code = re.search(r"`([a-z_0-9]+)`", reason)
            if code:
                rows[n] = code.group(1)
            elif "empty line" in what:
                rows[n] = "empty"
            else:
                rows[n] = None
    return rows


def bad_file_lines():
    with open(BAD_LINES, "rb") as f:
        data = f.read()
    return lines_of(data)


def c_roundtrip_samples():
    results = []
    total = 0
    for path, expected in zip(WEB_SHARDS, sample_lines()):
        rel = os.path.relpath(path, ROOT)
        r = winnow("cat", rel)
        if r.returncode != 0:
            return False, f"winnow cat {rel}: exit {r.returncode}: {err_text(r)}"
        ok, detail = compare_lines(expected, lines_of(r.stdout), rel)
        if not ok:
            return False, detail
        total += len(expected)
        results.append(rel)
    return total == 524, f"{len(results)} shards, {total} documents byte-identical and json-equal (expected 524)"


def c_roundtrip_bad_good_lines():
    lines = bad_file_lines()
    good = [lines[n - 1] for n, reason in sorted(BAD_TABLE.items()) if reason is None]
    path = os.path.join(TMP, "good-lines.jsonl")
    with open(path, "wb") as f:
        f.write(b"".join(l + b"\n" for l in good))
    r = winnow("cat", path)
    if r.returncode != 0 or r.stderr:
        return False, f"exit {r.returncode}, stderr {err_text(r)!r}"
    ok, detail = compare_lines(good, lines_of(r.stdout), "good lines")
    return ok, detail + f" (largest {max(map(len, good)):,} bytes)"


TRICKY = None


def tricky_file():
    global TRICKY
    if TRICKY is None:
        lines = tricky_lines()
        path = os.path.join(TMP, "tricky.jsonl")
        with open(path, "wb") as f:
            f.write(b"".join(l + b"\n" for l in lines))
        TRICKY = (path, lines)
    return TRICKY


def c_roundtrip_tricky():
    path, lines = tricky_file()
    q = os.path.join(TMP, "tricky-q.jsonl")
    r = winnow("cat", path, "--quarantine", q)
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {err_text(r)}"
    if os.path.exists(q) and os.path.getsize(q) > 0:
        with open(q, "rb") as f:
            recs = [json.loads(l) for l in f.read().splitlines()]
        return False, (f"{len(recs)} valid lines quarantined, e.g. line {recs[0].get('line')}: {recs[0].get('reason')} "
                       f"(offset {recs[0].get('offset')}): {short(lines[recs[0]['line'] - 1], 160)}")
    return compare_lines(lines, lines_of(r.stdout), "tricky.jsonl")


def c_tricky_stages():
    """length and exact-dedup on the tricky file agree with Python on the decoded text; a copy of
    a document whose text is spelt with different escapes is still a duplicate."""
    path, lines = tricky_file()
    r = random.Random(99)
    extra = []
    for k in r.sample(range(len(lines)), 40):
        d = json.loads(lines[k])
        # Same text, other spelling: all-\u-escaped (ensure_ascii) or raw UTF-8, other keys.
        extra.append(json.dumps({"id": f"copy-{k}", "text": d["text"]}, ensure_ascii=(k % 2 == 0)).encode())
    mixed = lines + extra
    r.shuffle(mixed)
    mpath = os.path.join(TMP, "tricky-dups.jsonl")
    with open(mpath, "wb") as f:
        f.write(b"".join(l + b"\n" for l in mixed))
    res = []
    lo, hi = 5, 60
    want = [l for l in mixed if lo <= len(json.loads(l)["text"].split()) <= hi]
    w = winnow("length", "--min-words", str(lo), "--max-words", str(hi), mpath)
    res.append(compare_lines(want, lines_of(w.stdout), f"length {lo}..{hi} words") if w.returncode == 0
               else (False, f"length: exit {w.returncode}: {err_text(w)}"))
    want = [l for l in mixed if 20 <= len(json.loads(l)["text"]) <= 200]
    w = winnow("length", "--min-chars", "20", "--max-chars", "200", mpath)
    res.append(compare_lines(want, lines_of(w.stdout), "length 20..200 chars") if w.returncode == 0
               else (False, f"length chars: exit {w.returncode}: {err_text(w)}"))
    seen, want = set(), []
    for l in mixed:
        t = json.loads(l)["text"]
        if t not in seen:
            seen.add(t)
            want.append(l)
    w = winnow("exact-dedup", mpath)
    res.append(compare_lines(want, lines_of(w.stdout), f"exact-dedup ({len(mixed) - len(want)} duplicates)")
               if w.returncode == 0 else (False, f"exact-dedup: exit {w.returncode}: {err_text(w)}"))
    return all_ok(*res)


def all_sample_lines():
    return [l for ls in sample_lines() for l in ls]


def c_output_zst():
    out = os.path.join(TMP, "x.jsonl.zst")
    r = winnow("cat", *WEB_SHARDS, "-o", out)
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {err_text(r)}"
    with open(out, "rb") as f:
        if f.read(4) != b"\x28\xb5\x2f\xfd":
            return False, "x.jsonl.zst is not zstd"
    return compare_lines(all_sample_lines(), lines_of(zstd_decompress(out)), "x.jsonl.zst")


def c_output_gz():
    path, lines = tricky_file()
    out = os.path.join(TMP, "x.jsonl.gz")
    r = winnow("cat", path, "-o", out)
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {err_text(r)}"
    with open(out, "rb") as f:
        if f.read(2) != b"\x1f\x8b":
            return False, "x.jsonl.gz is not gzip"
    with gzip.open(out, "rb") as f:
        data = f.read()
    return compare_lines(lines, lines_of(data), "x.jsonl.gz (tricky)")


def c_output_dir_shards():
    out = os.path.join(TMP, "shards") + "/"
    r = winnow("cat", *WEB_SHARDS, "-o", out, "--max-shard-docs", "50")
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {err_text(r)}"
    names = sorted(n for n in os.listdir(out) if n.startswith("part-"))
    stray = sorted(n for n in os.listdir(out) if not n.startswith("part-") and n not in ("stats.json", ".winnow-shards"))
    if stray:
        return False, f"unexpected files in the output directory: {stray}"
    # The list a later --force consults: every shard, its size and checksum.
    with open(os.path.join(out, ".winnow-shards")) as f:
        listed = [l.split("\t") for l in f.read().splitlines()]
    if [(n, int(b)) for n, b, _ in listed] != [(n, os.path.getsize(os.path.join(out, n))) for n in names]:
        return False, f".winnow-shards does not list the shards and their sizes: {listed[:3]}"
    counts, got = [], []
    for n in names:
        ls = lines_of(read_any(os.path.join(out, n)))
        counts.append(len(ls))
        got.extend(ls)
    expected = all_sample_lines()
    want_shards = (len(expected) + 49) // 50
    if len(names) != want_shards or any(c != 50 for c in counts[:-1]) or not (0 < counts[-1] <= 50):
        return False, f"{len(names)} shards with {counts} documents; expected {want_shards} shards of 50 (last ≤ 50)"
    if names != ["part-%05d.jsonl.zst" % k for k in range(len(names))]:
        return False, f"shard names {names[:3]}…"
    ok, detail = compare_lines(expected, got, "reassembled shards")
    return ok, f"{len(names)} shards; {detail}"


def c_stats_file():
    s1 = os.path.join(TMP, "s-samples.json")
    r1 = winnow("cat", *WEB_SHARDS, "-o", os.path.join(TMP, "s-out.jsonl"), "--stats", s1)
    s2 = os.path.join(TMP, "s-filter.json")
    r2 = winnow("length", "--min-words", "50", *WEB_SHARDS, "-o", os.path.join(TMP, "s-out2.jsonl"), "--stats", s2)
    s3 = os.path.join(TMP, "s-bad.json")
    r3 = winnow("cat", BAD_LINES, "-o", os.path.join(TMP, "s-out3.jsonl"), "--stats", s3)
    for r in (r1, r2, r3):
        if r.returncode != 0:
            return False, f"exit {r.returncode}: {err_text(r)}"
    expected_kept = sum(1 for l in all_sample_lines() if len(json.loads(l)["text"].split()) >= 50)
    return all_ok(
        stats_balance(s1, {"documents_read": 524, "documents_written": 524, "documents_dropped": 0,
                           "documents_quarantined": 0}),
        stats_balance(s2, {"documents_read": 524, "documents_written": expected_kept,
                           "documents_dropped": 524 - expected_kept}),
        stats_balance(s3, {"documents_read": 15, "documents_written": 6, "documents_quarantined": 9}),
    )


def c_readme_pipeline():
    out = os.path.join(TMP, "readme-out.jsonl")
    r = sh(f'zstdcat Samples/web/*.jsonl.zst | "$WINNOW" length --min-words 50 | "$WINNOW" exact-dedup > "{out}"')
    if r.returncode != 0:
        return False, f"pipeline exit {r.returncode}: {err_text(r)}"
    with open(out, "rb") as f:
        piped = lines_of(f.read())

    outdir = os.path.join(TMP, "recipe-out")
    recipe = os.path.join(TMP, "readme-recipe.yaml")
    with open(recipe, "w") as f:
        f.write(f"""# equivalent of the README pipeline
name: readme-pipeline
seed: 42
input:
  paths: ["{ROOT}/Samples/web/*.jsonl.zst"]
output:
  path: {outdir}
  compression: zstd
stages:
  - length: {{min_words: 50}}
  - exact_dedup: {{}}
""")
    rr = winnow("run", recipe, "--no-progress")
    if rr.returncode != 0:
        return False, f"winnow run exit {rr.returncode}: {err_text(rr)}"
    names = sorted(n for n in os.listdir(outdir) if n.startswith("part-"))
    if not names:
        return False, f"winnow run wrote no shards to {outdir}: {os.listdir(outdir)}"
    # One task per input file, each writing part-TTTTT-NNNNN shards; read in sorted order they
    # are the documents in input order.
    want_names = ["part-%05d-00000.jsonl.zst" % k for k in range(len(WEB_SHARDS))]
    if names != want_names:
        return False, f"shard names {names}, expected {want_names}"
    ran = []
    for n in names:
        ran.extend(lines_of(read_any(os.path.join(outdir, n))))

    expected, seen = [], set()
    for line in all_sample_lines():
        text = json.loads(line)["text"]
        if len(text.split()) >= 50 and text not in seen:
            seen.add(text)
            expected.append(line)
    ok1, d1 = compare_lines(expected, piped, "pipeline vs Python")
    if not ok1:
        return False, d1
    ok2, d2 = compare_lines(piped, ran, "winnow run vs pipeline")
    if not ok2:
        return False, d2
    st = os.path.join(outdir, "stats.json")
    ok3, d3 = stats_balance(st, {"documents_read": 524, "documents_written": len(expected)}) if os.path.exists(st) \
        else (False, f"no stats.json beside the shards in {outdir}")
    if not ok3:
        return False, d3
    return True, f"{len(expected)} of 524 documents kept, same lines in the same order ({len(names)} shard(s)); {d3}"


def c_bad_lines():
    table = bad_readme_table()
    if table != BAD_TABLE:
        return False, f"Samples/bad/README.md table {table} differs from the restated one {BAD_TABLE}"
    lines = bad_file_lines()
    if len(lines) != 16:
        return False, f"bad-lines.jsonl has {len(lines)} lines, README says 16"
    rel = os.path.relpath(BAD_LINES, ROOT)
    q = os.path.join(TMP, "q.jsonl")
    out = os.path.join(TMP, "bad-out.jsonl")
    st = os.path.join(TMP, "bad-stats.json")
    r = winnow("cat", rel, "--quarantine", q, "-o", out, "--stats", st)
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {err_text(r)}"
    good = [lines[n - 1] for n, reason in sorted(table.items()) if reason is None]
    with open(out, "rb") as f:
        ok, detail = compare_lines(good, lines_of(f.read()), "valid documents")
    if not ok:
        return False, detail
    huge = max(good, key=len)
    if len(json.loads(huge)["text"].encode()) != 2097307:
        return False, "the huge document's text is not 2,097,307 bytes"
    with open(q, "rb") as f:
        recs = [json.loads(l) for l in lines_of(f.read())]
    want = {n: reason for n, reason in table.items() if reason not in (None, "empty")}
    got = {}
    for rec in recs:
        for k in ("file", "line", "reason"):
            if k not in rec:
                return False, f"quarantine record without '{k}': {short(json.dumps(rec))}"
        if not (rec["file"] == rel or rec["file"].endswith("Samples/bad/bad-lines.jsonl")):
            return False, f"quarantine record names file {rec['file']!r}, expected {rel!r}"
        if rec["line"] in got:
            return False, f"line {rec['line']} quarantined twice"
        got[rec["line"]] = rec["reason"]
        raw = base64.b64decode(rec["raw_base64"]) if "raw_base64" in rec else rec.get("raw", "").encode("utf-8", "surrogatepass")
        if raw != lines[rec["line"] - 1]:
            return False, f"quarantine record for line {rec['line']} does not keep the raw line: {short(raw)}"
    if got != want:
        diff = {n: (want.get(n), got.get(n)) for n in sorted(set(want) | set(got)) if want.get(n) != got.get(n)}
        return False, f"quarantine (line: expected, got) differs: {diff}"
    ok, d = stats_balance(st, {"documents_read": 15, "documents_written": 6, "documents_dropped": 0,
                               "documents_quarantined": 9})
    if not ok:
        return False, d
    return True, f"6 valid (huge line {len(huge):,} bytes) intact, 9 quarantined with line and reason, {d}"


def c_bad_lines_strict():
    rel = os.path.relpath(BAD_LINES, ROOT)
    first_bad = min(n for n, reason in BAD_TABLE.items() if reason not in (None, "empty"))
    r = winnow("cat", rel, "--strict", "-o", os.path.join(TMP, "strict-out.jsonl"))
    e = err_text(r)
    ok = r.returncode == 3 and f"bad-lines.jsonl:{first_bad}" in e
    return ok, f"exit {r.returncode} (expected 3), stderr {e!r}"


def c_truncated():
    rel = os.path.relpath(TRUNCATED, ROOT)
    r = winnow("cat", rel, "-o", os.path.join(TMP, "trunc-out.jsonl"))
    e = err_text(r)
    ok = r.returncode == 1 and "truncated.jsonl.zst" in e and "truncated" in e.replace("truncated.jsonl.zst", "")
    return ok, f"exit {r.returncode} (expected 1), stderr {e!r}"


def expect_exit(args, code, must_contain=(), stdin=b""):
    r = winnow(*args, stdin=stdin)
    e = err_text(r)
    out = r.stdout.decode("utf-8", errors="replace")
    missing = [s for s in must_contain if s.lower() not in (e + out).lower()]
    ok = r.returncode == code and not missing
    detail = f"`winnow {' '.join(args)}` exit {r.returncode} (expected {code})"
    if missing:
        detail += f", output lacks {missing}"
    if not ok:
        detail += f"; stderr: {short(e, 300)!r}"
    return ok, detail


def exit_code_checks():
    return [
        ("exit: unknown option of cat → 2", ["cat", "--no-such-option"], 2, ["--no-such-option"]),
        ("exit: unknown option of stats → 2", ["stats", "--no-such-option"], 2, []),
        ("exit: unknown option of run → 2", ["run", "--no-such-option", "r.yaml"], 2, []),
        ("exit: unknown subcommand → 2", ["no-such-command"], 2, ["no-such-command"]),
        ("exit: unknown stage parameter → 2 with did-you-mean", ["length", "--min-wrds", "5"], 2,
         ["did you mean", "min-words"]),
        ("exit: unknown stage parameter (exact-dedup) → 2 with did-you-mean", ["exact-dedup", "--normalise"], 2,
         ["did you mean", "normalize"]),
        ("exit: bad integer value → 2", ["length", "--min-words", "abc"], 2, ["min_words", "abc"]),
        ("exit: negative value → 2", ["length", "--min-words", "-3"], 2, ["min_words"]),
        ("exit: rate out of range → 2", ["sample", "--rate", "1.5"], 2, ["rate"]),
        ("exit: bad enum value → 2", ["exact-dedup", "--missing", "maybe"], 2, ["missing", "maybe"]),
        ("exit: missing required parameter → 2", ["sample"], 2, ["rate"]),
        ("exit: bad --compression → 2", ["cat", "--compression", "lz4"], 2, ["lz4"]),
        ("exit: missing input file (cat) → 2", ["cat", "no-such-file.jsonl"], 2, ["no-such-file.jsonl"]),
        ("exit: missing input file (stage) → 2", ["length", "--min-words", "1", "no-such-file.jsonl"], 2,
         ["no-such-file.jsonl"]),
        ("exit: missing recipe file → 2", ["run", "no-such-recipe.yaml"], 2, ["no-such-recipe.yaml"]),
        ("exit: winnow run --workers 0 → 2", ["run", "no-such-recipe.yaml", "--workers", "0"], 2, ["--workers"]),
        ("exit: winnow status of a directory without a run → 2", ["status", "Samples"], 2, ["not a winnow run directory"]),
        ("exit: winnow --help → 0", ["--help"], 0, ["exit codes"]),
        ("exit: winnow cat --help → 0", ["cat", "--help"], 0, ["--quarantine"]),
        ("exit: winnow length --help → 0", ["length", "--help"], 0, ["--min-words"]),
        ("exit: winnow run --help → 0", ["run", "--help"], 0, ["recipe"]),
        ("exit: winnow stages → 0", ["stages"], 0, ["length", "exact_dedup"]),
        ("exit: winnow --version → 0", ["--version"], 0, []),
    ]


def c_stdin_stdout():
    expected_all = all_sample_lines()[:60]
    data = b"".join(l + b"\n" for l in expected_all)
    results = []
    r = winnow("cat", "-", "-o", "-", stdin=data)
    results.append(compare_lines(expected_all, lines_of(r.stdout), "cat - -o -") if r.returncode == 0
                   else (False, f"cat - -o -: exit {r.returncode}: {err_text(r)}"))
    r = winnow("cat", stdin=data)
    results.append(compare_lines(expected_all, lines_of(r.stdout), "cat (no arguments)") if r.returncode == 0
                   else (False, f"cat: exit {r.returncode}: {err_text(r)}"))
    kept = [l for l in expected_all if len(json.loads(l)["text"].split()) >= 50]
    r = winnow("length", "--min-words", "50", "-", "-o", "-", stdin=data)
    results.append(compare_lines(kept, lines_of(r.stdout), "length - -o -") if r.returncode == 0
                   else (False, f"length - -o -: exit {r.returncode}: {err_text(r)}"))
    # compressed standard input is recognised by its content
    zdata = subprocess.run(["zstd", "-c", "-q"], input=data, stdout=subprocess.PIPE, check=True).stdout
    r = winnow("length", "--min-words=50", "-", stdin=zdata)
    results.append(compare_lines(kept, lines_of(r.stdout), "zstd on stdin") if r.returncode == 0
                   else (False, f"zstd on stdin: exit {r.returncode}: {err_text(r)}"))
    gdata = gzip.compress(data)
    r = winnow("cat", stdin=gdata)
    results.append(compare_lines(expected_all, lines_of(r.stdout), "gzip on stdin") if r.returncode == 0
                   else (False, f"gzip on stdin: exit {r.returncode}: {err_text(r)}"))
    return all_ok(*results)


def c_bundled_recipes():
    """Every recipe in Recipes/ runs on the bundled samples (its output moved to a temporary
    directory), keeps some documents and balances its counts."""
    out = []
    ok = True
    for name in sorted(os.listdir(os.path.join(ROOT, "Recipes"))):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(ROOT, "Recipes", name), encoding="utf-8") as f:
            text = f.read()
        root = os.path.join(TMP, "recipes")
        m = re.search(r"^output:\s*\n\s+path:\s*out/(\S+)", text, re.M)
        if not m:
            ok = False
            out.append(f"{name}: no 'output: path: out/…' to redirect")
            continue
        base = os.path.join(root, m.group(1))
        text = text.replace("out/", root + "/")
        path = os.path.join(TMP, "recipe-" + name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        r = winnow("run", path, "--no-progress", timeout=900)
        stats_path = os.path.join(base, "stats.json")
        if r.returncode != 0 or not os.path.exists(stats_path):
            ok = False
            out.append(f"{name}: exit {r.returncode}: {err_text(r)[-300:]}")
            continue
        with open(stats_path) as f:
            st = json.load(f)
        kept = st.get("documents_written", st.get("documentsWritten"))
        if not kept:
            ok = False
        out.append(f"{name}: kept {kept}")
    return ok, "; ".join(out)


def c_recipe_bad_key():
    recipe = os.path.join(TMP, "bad-key.yaml")
    with open(recipe, "w") as f:
        f.write("name: bad\ninput:\n  paths: [Samples/bad/bad-lines.jsonl]\noutput:\n  path: %s\n  compresion: zstd\n"
                "stages: []\n" % os.path.join(TMP, "bad-key-out"))
    r = winnow("run", recipe)
    e = err_text(r)
    ok = r.returncode == 2 and f"{recipe}:6" in e and "compresion" in e and "compression" in e
    return ok, f"exit {r.returncode} (expected 2), stderr {e!r}"


def c_huge_document():
    path = os.path.join(TMP, "huge.jsonl")
    target = 200 * 1000 * 1000
    r = random.Random(7)
    vocab = ["alpha", "beta", "gamma", "délta", "日本語", "naïve", "x", "lorem", "ipsum", "😀", "Grüße", "\\n", "\\t"]
    chunk = " ".join(r.choice(vocab) for _ in range(100_000)).encode("utf-8")
    h = hashlib.sha256()
    size = 0
    with open(path, "wb") as f:
        def put(b):
            nonlocal size
            f.write(b)
            h.update(b)
            size += len(b)
        put(b'{"id": "huge-200mb", "text": "')
        while size < target:
            put(chunk)
            put(b"\\n")
        put(b'", "lang": "en"}\n')
    want = h.hexdigest()

    # Over the default max_document_bytes (64M): raised, so that the document is processed.
    args = [WINNOW, "length", "--min-chars", "1", "--max-document-bytes", "300000000", path]
    tv = os.path.join(TMP, "time-v.txt")
    use_time = os.access("/usr/bin/time", os.X_OK)
    t0 = time.monotonic()
    if use_time:
        p = subprocess.Popen(["/usr/bin/time", "-v", "-o", tv, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=ROOT)
        got, n = hashlib.sha256(), 0
        while True:
            b = p.stdout.read(1 << 20)
            if not b:
                break
            got.update(b)
            n += len(b)
        err = p.stderr.read()
        rc = p.wait()
        with open(tv) as f:
            m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", f.read())
        rss_kb = int(m.group(1)) if m else None
        how = "/usr/bin/time -v"
    else:
        # A forked child runs winnow and reports RUSAGE_CHILDREN, which then covers winnow alone.
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rd)
            import resource
            with open(os.path.join(TMP, "huge-out.jsonl"), "wb") as o, open(os.path.join(TMP, "huge-err"), "wb") as e:
                c = subprocess.run(args, stdout=o, stderr=e, cwd=ROOT)
            os.write(wr, f"{c.returncode} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}".encode())
            os._exit(0)
        os.close(wr)
        msg = os.read(rd, 100).decode().split()
        os.waitpid(pid, 0)
        rc, rss_kb = int(msg[0]), int(msg[1])
        got, n = hashlib.sha256(), 0
        with open(os.path.join(TMP, "huge-out.jsonl"), "rb") as f:
            while b := f.read(1 << 20):
                got.update(b)
                n += len(b)
        with open(os.path.join(TMP, "huge-err"), "rb") as f:
            err = f.read()
        os.unlink(os.path.join(TMP, "huge-out.jsonl"))
        how = "RUSAGE_CHILDREN"
    dt = time.monotonic() - t0
    os.unlink(path)
    if rc != 0:
        return False, f"exit {rc}: {short(err)}"
    if got.hexdigest() != want:
        return False, f"output ({n:,} bytes) differs from input ({size:,} bytes): sha256 {got.hexdigest()[:16]} != {want[:16]}"
    if rss_kb is None:
        return False, "could not read the peak RSS"
    mb = rss_kb / 1024
    return mb < 1024, f"{size / 1e6:.0f} MB document byte-identical (sha256 {want[:16]}…); peak RSS {mb:.0f} MiB ({how}), limit 1024 MiB; winnow took {dt:.1f}s"


# --------------------------------------------------------------------------------------
# winnow run: resume, --fresh, refusal, status; killed workers and coordinators


def write_recipe(path, name, inputs, out, stages, extra_output=""):
    with open(path, "w") as f:
        f.write(f"""name: {name}
seed: 7
input:
  paths: {json.dumps(inputs)}
output:
  path: {out}{extra_output}
stages:
""" + "".join(f"  - {st}\n" for st in stages))
    return path


def run_outputs(base):
    """{relative path: bytes} of everything a run wrote under base, except its state directory
    (.winnow) and stats.json."""
    got = {}
    for root, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != ".winnow"]
        for n in files:
            if n == "stats.json":
                continue
            full = os.path.join(root, n)
            with open(full, "rb") as f:
                got[os.path.relpath(full, base)] = f.read()
    return got


def comparable_stats(path):
    """stats.json without timings, the executor and worker count, skipped-task counts and the
    output directory (output files by name)."""
    with open(path) as f:
        s = json.load(f)
    for k in ("seconds", "executor", "workers", "tasks_skipped_as_done"):
        s.pop(k, None)
    for st in s.get("stages", []):
        st.pop("seconds", None)
    s["output_files"] = [os.path.basename(p) for p in s.get("output_files", [])]
    return s


def same_outputs(ref_base, base):
    a, b = run_outputs(ref_base), run_outputs(base)
    if sorted(a) != sorted(b):
        return False, f"files differ: only in reference {sorted(set(a) - set(b))}, only in run {sorted(set(b) - set(a))}"
    for k in sorted(a):
        if a[k] != b[k]:
            return False, f"{k} differs from the reference ({len(b[k])} vs {len(a[k])} bytes)"
    return True, f"{len(a)} files byte-identical to the reference"


def c_run_resume_fresh_status():
    src = os.path.join(TMP, "resume-in")
    os.makedirs(src, exist_ok=True)
    for k, p in enumerate(WEB_SHARDS[:3]):
        shutil.copy(p, os.path.join(src, f"s{k}.jsonl.zst"))
    out = os.path.join(TMP, "resume-out")
    r1 = write_recipe(os.path.join(TMP, "resume-1.yaml"), "resume", [src], out, ["length: {min_words: 50}"])
    r2 = write_recipe(os.path.join(TMP, "resume-2.yaml"), "resume", [src], out, ["length: {min_words: 60}"])
    a = winnow("run", r1, "--no-progress")
    if a.returncode != 0:
        return False, f"first run exit {a.returncode}: {err_text(a)}"
    names = sorted(n for n in os.listdir(out) if n.startswith("part-"))
    if names != ["part-%05d-00000.jsonl.zst" % k for k in range(3)]:
        return False, f"shards {names}"
    first = run_outputs(out)
    st = winnow("status", out)
    so = st.stdout.decode()
    if st.returncode != 0 or "pass 0: 3/3 tasks done" not in so:
        return False, f"status exit {st.returncode}: {so!r} {err_text(st)!r}"
    b = winnow("run", r1, "--no-progress")
    if b.returncode != 0 or "tasks: 0 run, 3 already done" not in b.stdout.decode():
        return False, f"second run exit {b.returncode}: {b.stdout.decode()!r} {err_text(b)!r}"
    if run_outputs(out) != first:
        return False, "the resumed run changed the outputs"
    with open(os.path.join(out, "stats.json")) as f:
        s = json.load(f)
    if s.get("tasks_skipped_as_done") != 3:
        return False, f"tasks_skipped_as_done = {s.get('tasks_skipped_as_done')}, expected 3"
    c = winnow("run", r2, "--no-progress")
    e = err_text(c)
    if c.returncode != 2 or "different recipe" not in e or "--fresh" not in e or out not in e:
        return False, f"changed recipe: exit {c.returncode} (expected 2), stderr {e!r}"
    if run_outputs(out) != first:
        return False, "the refused run changed the outputs"
    d = winnow("run", r2, "--fresh", "--no-progress")
    if d.returncode != 0 or "tasks: 3 run, 0 already done" not in d.stdout.decode():
        return False, f"--fresh: exit {d.returncode}: {d.stdout.decode()!r} {err_text(d)!r}"
    want = [l for p in sorted(os.listdir(src)) for l in lines_of(zstd_decompress(os.path.join(src, p)))
            if len(json.loads(l)["text"].split()) >= 60]
    got = [l for n in sorted(os.listdir(out)) if n.startswith("part-") for l in lines_of(read_any(os.path.join(out, n)))]
    ok, detail = compare_lines(want, got, "--fresh output")
    if not ok:
        return False, detail
    return all_ok((True, "resumed (0 run, 3 done), changed recipe refused with exit 2, --fresh replaced the outputs"),
                  stats_balance(os.path.join(out, "stats.json"), {"documents_written": len(want)}))


KILL = {}
KILL_SHARDS = 8
KILL_DOCS = 12000


def kill_corpus():
    """Eight zstd shards (~14 MB of JSON) with short documents, other languages, repeated texts
    and a few bad lines: enough for a debug-build run to take a few seconds."""
    if "in" in KILL:
        return KILL["in"]
    src = os.path.join(TMP, "kill-in")
    os.makedirs(src, exist_ok=True)
    r = random.Random(5)
    vocab = ["alpha", "beta", "gamma", "délta", "naïve", "lorem", "ipsum", "dolor", "sit", "amet", "Grüße", "日本語",
             "x", "y", "zeta", "the", "of", "and", "to", "in", "😀"]
    for k in range(KILL_SHARDS):
        lines = []
        for i in range(KILL_DOCS):
            if i % 50 == 7:  # the same text in every shard: exact_dedup keeps the first
                text = "this is the repeated text number %d, long enough for the length filter to keep" % (i % 200)
            else:
                text = " ".join(r.choice(vocab) for _ in range(r.randint(3, 120)))
            lines.append(json.dumps({"id": f"s{k}-{i}", "text": text, "lang": r.choice(["en", "de", "fr", "en"])},
                                    ensure_ascii=False))
            if i % 997 == 13:
                lines.append('{"id": "bad-%d-%d", "text": broken' % (k, i))
        data = ("\n".join(lines) + "\n").encode()
        subprocess.run(["zstd", "-q", "-f", "-o", os.path.join(src, "shard-%d.jsonl.zst" % k)], input=data, check=True)
    KILL["in"] = src
    return src


def kill_recipe(name):
    base = os.path.join(TMP, "kill-" + name)
    os.makedirs(base, exist_ok=True)
    recipe = write_recipe(
        os.path.join(TMP, f"kill-{name}.yaml"), "kill", [kill_corpus()], os.path.join(base, "out"),
        ["length: {min_words: 10}", "sample: {rate: 0.8}", "field: {key: lang, in: [en, de]}",
         "exact_dedup: {buckets: 4}"],
        f"\n  max_shard_docs: 2500\n  rejects: {base}/rejects.jsonl.zst\n  quarantine: {base}/quarantine")
    return recipe, base


def kill_reference():
    if "ref" not in KILL:
        recipe, base = kill_recipe("ref")
        t0 = time.monotonic()
        r = winnow("run", recipe, "--executor", "inline", "--no-progress")
        if r.returncode != 0:
            raise RuntimeError(f"reference run exit {r.returncode}: {err_text(r)}")
        KILL["ref"] = (base, time.monotonic() - t0)
    return KILL["ref"]


def proc_state(pid):
    """The one-letter state of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def alive(pid):
    return proc_state(pid) not in (None, "Z", "X")


def children(pid):
    """{child pid: argv} of pid's living children, from /proc."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            if int(rest[1]) != pid or rest[0] in ("Z", "X"):
                continue
            with open(f"/proc/{d}/cmdline", "rb") as f:
                out[int(d)] = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return out


def processes_mentioning(text):
    """Living processes whose command line contains text."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if text.encode() in f.read() and alive(int(d)):
                    found.append(int(d))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def workers_of(pid, out):
    """Worker processes of coordinator pid: {pid: (pass, task)}."""
    found = {}
    for c, argv in children(pid).items():
        if len(argv) >= 7 and argv[1] == "worker" and argv[2].rstrip("/") == out.rstrip("/"):
            found[c] = (int(argv[argv.index("--pass") + 1]), int(argv[argv.index("--task") + 1]))
    return found


def record_path(out, p, t):
    return os.path.join(out, ".winnow", "tasks", "p%d-t%05d.json" % (p, t))


def start_run(recipe, *args):
    # A session of its own, so that whatever is left can be cleaned up by its id.
    return subprocess.Popen([WINNOW, "run", recipe, "--no-progress", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True)


def cleanup(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, 9)
        except ProcessLookupError:
            pass
        p.wait()


def wait_for(pred, timeout, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def tmp_files(base):
    return [os.path.join(r, n) for r, _, fs in os.walk(base) for n in fs if ".tmp-" in n]


def c_kill_worker():
    ref, ref_seconds = kill_reference()
    recipe, base = kill_recipe("worker")
    out = os.path.join(base, "out")
    p = start_run(recipe, "--executor", "local", "--workers", "2")
    try:
        # A worker of the apply pass (pass 2, it writes the output shards) that has been running a
        # moment and has not finished its task.
        def victim():
            for w, (ps, t) in workers_of(p.pid, out).items():
                if ps == 2 and not os.path.exists(record_path(out, ps, t)):
                    return w, t
            return None
        # The worker is stopped (SIGSTOP) before its record is checked, so it cannot finish between
        # the check and the kill: on a fast machine a task may take only milliseconds.
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline:
            found = wait_for(victim, max(0.0, deadline - time.monotonic()), step=0.002)
            if not found:
                break
            w, t = found
            try:
                os.kill(w, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            if os.path.exists(record_path(out, 2, t)) or not alive(w):
                try:
                    os.kill(w, signal.SIGCONT)
                except ProcessLookupError:
                    pass
                continue
            os.kill(w, 9)
            killed = (w, t)
        if killed is None:
            return False, f"no unfinished apply-pass worker seen (run exit {p.poll()}; reference took {ref_seconds:.1f}s)"
        w, t = killed
        so, se = p.communicate(timeout=300)
    finally:
        cleanup(p)
    if p.returncode != 0:
        return False, f"run exit {p.returncode} after a worker was killed: {short(se, 600)}"
    with open(os.path.join(out, ".winnow", "logs", "p2-t%05d.log" % t), errors="replace") as f:
        log = f.read()
    if "attempt 2" not in log:
        return False, f"the killed task p2-t{t:05d} was not tried again; its log: {short(log, 400)}"
    leftover = tmp_files(base)
    if leftover:
        return False, f"temporary files left: {leftover[:3]}"
    if comparable_stats(os.path.join(out, "stats.json")) != comparable_stats(os.path.join(ref, "out", "stats.json")):
        return False, "stats.json differs from the reference's"
    return all_ok(same_outputs(ref, base), stats_balance(os.path.join(out, "stats.json")),
                  (True, f"worker of p2-t{t:05d} killed (-9) mid-task, retried"))


def c_kill_coordinator():
    ref, _ = kill_reference()
    recipe, base = kill_recipe("coordinator")
    out = os.path.join(base, "out")
    p = start_run(recipe, "--executor", "local", "--workers", "2")
    try:
        # Mid-run: an apply task is done, and workers are busy with others.
        def moment():
            ws = workers_of(p.pid, out)
            done = [t for t in range(KILL_SHARDS) if os.path.exists(record_path(out, 2, t))]
            return ws if done and ws and len(done) < KILL_SHARDS - 1 else None
        ws = wait_for(moment, 120)
        if not ws:
            return False, f"never saw a finished apply task with workers running (run exit {p.poll()})"
        busy = [t for (_, t) in ws.values() if not os.path.exists(record_path(out, 2, t))]
        os.kill(p.pid, 9)
        p.wait(timeout=30)
        # Workers die with their parent (PR_SET_PDEATHSIG): none survives it, and no other
        # process works on this run directory.
        wait_for(lambda: not any(alive(w) for w in ws), 10, 0.05)
        still = [w for w in ws if alive(w)]
        stray = [pid for pid in processes_mentioning(out) if pid != os.getpid()]
    finally:
        cleanup(p)
        for w in [w for w in (ws or {}) if alive(w)]:
            os.kill(w, 9)  # our own stray workers, by id
    if still or stray:
        return False, f"workers outlived the killed coordinator: {still or stray}"
    done_before = sum(1 for ps, n in ((0, KILL_SHARDS), (1, 4), (2, KILL_SHARDS)) for t in range(n)
                      if os.path.exists(record_path(out, ps, t)))
    st = winnow("status", out)
    if st.returncode != 0 or "interrupted" not in st.stdout.decode():
        return False, f"status after the kill: exit {st.returncode}: {st.stdout.decode()!r} {err_text(st)!r}"
    again = subprocess.run([WINNOW, "run", recipe, "--no-progress", "--executor", "local", "--workers", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, timeout=300)
    if again.returncode != 0:
        return False, f"resumed run exit {again.returncode}: {short(err_text(again), 600)}"
    said = f"{done_before} already done" in again.stdout.decode()
    with open(os.path.join(out, "stats.json")) as f:
        s = json.load(f)
    if s.get("tasks_skipped_as_done") != done_before or not said:
        return False, (f"tasks_skipped_as_done = {s.get('tasks_skipped_as_done')}, {done_before} records were there; "
                       f"stdout {again.stdout.decode()!r}")
    leftover = tmp_files(base)
    if leftover:
        return False, f"temporary files left: {leftover[:3]}"
    if comparable_stats(os.path.join(out, "stats.json")) != comparable_stats(os.path.join(ref, "out", "stats.json")):
        return False, "stats.json differs from the reference's"
    return all_ok(same_outputs(ref, base), stats_balance(os.path.join(out, "stats.json")),
                  (True, f"coordinator killed (-9) with {len(ws)} worker(s) running (apply tasks {busy} unfinished); "
                         f"they died with it; resumed with {done_before} tasks done"))


def python_counts(lines):
    n = c = w = 0
    for l in lines:
        t = json.loads(l)["text"]
        n += 1
        c += len(t)
        w += len(t.split())
    return n, c, w


def stats_json(*inputs):
    r = winnow("stats", "--json", *inputs)
    if r.returncode != 0:
        raise RuntimeError(f"winnow stats exit {r.returncode}: {err_text(r)}")
    return json.loads(r.stdout)


def c_stats_samples():
    n, c, w = python_counts(all_sample_lines())
    s = stats_json(*[os.path.relpath(p, ROOT) for p in WEB_SHARDS])
    got = (s.get("documents"), s.get("characters"), s.get("words"))
    return got == (n, c, w), f"winnow (documents, characters, words) = {got}, Python = {(n, c, w)}"


def c_stats_tricky():
    path, lines = tricky_file()
    n, c, w = python_counts(lines)
    s = stats_json(path)
    got = (s.get("documents"), s.get("characters"), s.get("words"))
    if got == (n, c, w):
        return True, f"(documents, characters, words) = {got}"
    # Find the first document that differs, for the report.
    detail = f"winnow {got}, Python {(n, c, w)}"
    one = os.path.join(TMP, "one.jsonl")
    for l in lines:
        with open(one, "wb") as f:
            f.write(l + b"\n")
        s1 = stats_json(one)
        t = json.loads(l)["text"]
        if (s1.get("characters"), s1.get("words")) != (len(t), len(t.split())):
            detail += (f"; first differing text {t[:120]!r}: winnow chars/words {s1.get('characters')}/"
                       f"{s1.get('words')}, Python {len(t)}/{len(t.split())}")
            break
    return False, detail


# --------------------------------------------------------------------------------------


def main():
    global WINNOW, TMP, ONLY
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--winnow", default=os.path.join(ROOT, ".build", "debug", "winnow"), help="the winnow binary")
    ap.add_argument("--skip-huge", action="store_true", help="skip the 200 MB document check")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--only", action="append", metavar="TEXT",
                    help="run only the checks whose name contains TEXT (repeatable)")
    args = ap.parse_args()
    WINNOW = os.path.abspath(args.winnow)
    ONLY = args.only
    if not os.access(WINNOW, os.X_OK):
        print(f"FAIL setup: no executable winnow at {WINNOW} (build it first)")
        print("0 passed, 1 failed")
        return 1
    if not shutil.which("zstd"):
        print("FAIL setup: the zstd command-line tool is needed (apt-get install zstd)")
        print("0 passed, 1 failed")
        return 1
    if len(WEB_SHARDS) != 5:
        print(f"FAIL setup: expected 5 shards in Samples/web, found {len(WEB_SHARDS)}")
        print("0 passed, 1 failed")
        return 1

    t0 = time.monotonic()
    TMP = tempfile.mkdtemp(prefix="winnow-parity-")
    try:
        print(f"winnow: {WINNOW}\ntemp:   {TMP}", flush=True)
        check("round trip: winnow cat of every Samples/web shard", c_roundtrip_samples)
        check("round trip: valid lines of Samples/bad/bad-lines.jsonl", c_roundtrip_bad_good_lines)
        check("round trip: generated tricky file (escapes, surrogates, UTF-8, nesting, numbers, whitespace)",
              c_roundtrip_tricky)
        check("stages on the tricky file (length words/chars, exact-dedup across escapings) == Python",
              c_tricky_stages)
        check("output: -o x.jsonl.zst", c_output_zst)
        check("output: -o x.jsonl.gz", c_output_gz)
        check("output: -o dir/ --max-shard-docs 50 reassembles in order", c_output_dir_shards)
        check("output: --stats counts balance", c_stats_file)
        check("README pipeline == winnow run of the same recipe == Python", c_readme_pipeline)
        check("bad lines: quarantine file, line, reason; valid docs intact; counts balance", c_bad_lines)
        check("bad lines: --strict exits 3 naming file:line", c_bad_lines_strict)
        check("truncated.jsonl.zst: exit 1 naming the file and 'truncated'", c_truncated)
        for name, a, code, contains in exit_code_checks():
            check(name, lambda a=a, code=code, contains=contains: expect_exit(a, code, contains))
        check("every recipe in Recipes/ runs on the samples and keeps documents", c_bundled_recipes)
        check("exit: winnow run with a misspelt recipe key → 2 naming file:line and the fix", c_recipe_bad_key)
        check("winnow run: resumes, refuses a changed recipe (exit 2) unless --fresh, status shows the pass",
              c_run_resume_fresh_status)
        check("winnow run --executor local: a worker killed (-9) mid-task is retried; output == inline reference",
              c_kill_worker)
        check("winnow run: coordinator killed (-9) mid-run takes its workers along; the same command resumes to "
              "the reference output, no temporary files, same stats", c_kill_coordinator)
        check("streaming: '-' for standard input and output (plain, zstd, gzip)", c_stdin_stdout)
        check("winnow stats on Samples: documents, characters, words == Python", c_stats_samples)
        check("winnow stats on the tricky file: documents, characters, words == Python", c_stats_tricky)
        if args.skip_huge:
            print("SKIP 200 MB document (--skip-huge)")
        else:
            check("200 MB single document: byte-identical, peak RSS < 1 GiB", c_huge_document)
    finally:
        if args.keep:
            print(f"kept {TMP}")
        else:
            shutil.rmtree(TMP, ignore_errors=True)
    print(f"total time {time.monotonic() - t0:.1f}s")
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
