#!/usr/bin/env python3
"""`winnow tokenizer encode` and the `tokenize` stage against Hugging Face's tokenizers 0.23.3
and tiktoken 0.14.0.

    python3 Tests/parity/tokenizer_parity.py --winnow .build/debug/winnow

No pretrained vocabulary is downloaded: the models are trained at test time, in a venv of their
own (Tests/parity/peers.py: .venv-tokenizers), by Tests/parity/peers/tokenizer_reference.py on
the `text` of the 8,620 documents of Samples/web, quality, dedup and select (18 MB), and cached
with the reference ids under .build/tokenizer-fixtures/<key>/ (the key hashes the samples, the
edge cases, the reference script and the package versions), so reruns skip the training.

Models (tokenizer.json, each also in the legacy merge format, every merge a string "a b"):
  gpt2-2k, gpt2-12k    GPT-2 style: ByteLevel pre-tokenizer (regex on, no prefix space),
                       ByteLevel decoder and post-processor, special <|endoftext|> last;
  gpt2-nfkc-4k         the same with an NFKC normalizer, and llama3-8k's flagged added tokens;
  llama3-8k            Llama 3 style: Split(Llama 3's regex, Isolated) then ByteLevel without
                       regex, BPE with ignore_merges, <|begin_of_text|> and <|end_of_text|>,
                       ByteLevel + TemplateProcessing post-processor (the BOS), and non-special
                       added tokens with lstrip (<lmask>), rstrip (<rpad>), single_word (Winnow);
  llama3-70k           Llama 3 style with more than 65,535 ids;
  llama2-4k            SentencePiece-converted style (Llama 2): character-level BPE with
                       byte_fallback and fuse_unk, <unk> <s> </s>, the 256 <0xXX> byte tokens as
                       plain vocabulary entries, normalizers Prepend("▁") + Replace(" ", "▁"), no
                       pre-tokenizer, TemplateProcessing "<s> $A";
  mistral-4k           the same vocabulary with a Metaspace pre-tokenizer (prepend_scheme "first",
                       no split) and no normalizer;
  metaspace-always-4k  the same with Metaspace (prepend_scheme "always", split on "▁");
and tiktoken rank files made from their merges (256 bytes, then merge order):
  r50k-style           gpt2-12k's ranks, with the patterns r50k, gpt2 and p50k;
  cl100k-style         llama3-8k's ranks, with the cl100k pattern;
  o200k-style          llama3-70k's ranks (over 65,535), with the o200k pattern.
tokenizer.json ids are `Tokenizer.encode(text).ids` (special tokens added, special-token text
split out); tiktoken ids are `Encoding.encode_ordinary(text)` (special-token text is text).

Inputs, for every model:
1. edge cases (the `EDGE_CASES` below, written as bytes to the fixture's edge_cases.txt, split
   on b"\\n" only, invalid UTF-8 replaced as bytes.decode("utf-8", errors="replace") does):
   `winnow tokenizer encode --tokenizer MODEL [--pattern NAME] --lines FILE`, one compact JSON
   array of ids per line;
2. the documents (their JSON Lines concatenated, decompressed, into the fixture's docs.jsonl):
   `winnow tokenize --tokenizer MODEL [--pattern NAME] docs.jsonl -o OUT.jsonl`, every document
   in order with its fields kept and `token_ids` appended.

First the reference is checked against itself (the legacy merges give the pair format's ids,
the rank files' ranks equal the models' ids, the big model's ids pass 65,535, the flagged added
tokens occur); tiktoken against tokenizers on the same vocabulary is printed as a note. Then one
PASS/FAIL per model per input, with the first mismatch: where, the text, the first differing
position and the ids around it as the reference tokenizer's strings. Ends with
"N passed, M failed" and exits 1 when anything failed.

    --only SUBSTRING     only the models whose name contains it (repeatable)
    --no-docs            edge cases only
    --fixtures DIR       the cache (default .build/tokenizer-fixtures)
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from peers import TOKENIZER_PACKAGES, tokenizer_python  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "Tests/parity/peers/tokenizer_reference.py"
SAMPLE_DIRS = ["Samples/web", "Samples/quality", "Samples/dedup", "Samples/select"]
FIXTURE_FORMAT = 1  # bump when the fixture layout changes


def _u(s):
    return s.encode("utf-8")


# The edge cases, one bytes line each (no b"\n" inside; b"\r" stays, so b"...\r" is a CRLF line).
EDGE_CASES = [
    b"Hello, world! This is a plain English sentence.",
    b"I'm you'll they've IT'S don't we'd she's I'LL HE'S YOU'RE THEY'VE WE'D I'M it'S",
    b"'S 'LL 'Re 'vE 's't 'x '' ''s 'tis rock 'n' roll O'Neil's",
    _u("don\u2019t \u2018curly\u2019 \u201cquotes\u201d it\u2019s"),
    b"1234567 3.14159 1,000,000 0 00 000 0000 12345678901234567890 v1.2.3 10km 3rd 2x4 -42 +7 1e-9",
    _u("digits of other scripts: \u0663\u0664\u0665 \u096a\u0968 \u2460\u2461\u2462 \u00bd x\u00b2 \u217b "
       "\uff11\uff12\uff13"),
    b"a line with a CRLF end\r",
    b"\r",
    b"spaces before the CRLF   \r",
    b"bare\rcarriage\r\rreturns",
    b"\ttab\tseparated\t\tvalues\t",
    b"  \tx \t y\t \t",
    b"x y  z   w    v     u      t       s        r         q",
    b"word ",
    b"word  ",
    b"word   ",
    b"word    ",
    b"word     ",
    b"word      ",
    b"word       ",
    b"word        ",
    b"word         ",
    b" ",
    b"   ",
    b"         ",
    b"",
    b"",
    b"\t",
    b"",
    b"                                         forty-one spaces",
    b"after an empty line",
    _u("nbsp\u00a0between\u00a0\u00a0words \u00a0 x\u00a0"),
    _u("\u0085next line\u0085 NEL\u0085"),
    _u("line\u2028separator \u2028 x\u2028"),
    _u("paragraph\u2029separator\u2029"),
    _u("ideographic\u3000space\u3000\u3000\u5168\u89d2\u3000"),
    _u("\u2003em\u2009thin\u200bzero width\u200c\u200djoiners\u202fnarrow\ufeffbom"),
    _u("\ufeffbom at the start"),
    _u("emoji \U0001f600 \U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 "
       "\U0001f3f3\ufe0f\u200d\U0001f308 \U0001f9d1\U0001f3ff\u200d\U0001f4bb \u2764\ufe0f 1\ufe0f\u20e3"),
    _u("flags \U0001f1ef\U0001f1f5\U0001f1fa\U0001f1f8\U0001f1e9\U0001f1ea "
       "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"),
    _u("\U0001f600\U0001f600\U0001f600\U0001f44d\U0001f44d"),
    _u("combining e\u0301 cafe\u0301 caf\u00e9 n\u0303 a\u0308\u0304 Z\u0337\u0335a\u0336lgo \u0301lead"),
    _u("Hangul jamo \u1112\u1161\u11ab\u1100\u1173\u11af and syllables \ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8"),
    _u("Devanagari \u0939\u093f\u0928\u094d\u0926\u0940 \u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f"),
    _u("Arabic \u0627\u064e\u0644\u0652\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u064e\u0651\u0629\u064f "
       "\u0644\u064f\u063a\u064e\u0629\u064c"),
    _u("\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001\u53e5\u8aad\u70b9\u3002"
       "\u4e2d\u6587\u6587\u672c\uff0c\u6807\u70b9\u7b26\u53f7\uff01"),
    _u("\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u03ba\u03b5\u03af\u03bc\u03b5\u03bd\u03b1 "
       "\u03a3\u039f\u03a6\u039f\u03a3 \u1f48\u0394\u03a5\u03a3\u03a3\u0395\u038e\u03a3"),
    _u("\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0401\u0436\u0438\u043a \u0432 "
       "\u0442\u0443\u043c\u0430\u043d\u0435."),
    _u("mixed abc\u0430\u0431\u0432\u03b1\u03b2\u03b3\u65e5\u672c123\u0663\u0664 x\u4e2dy 9\u0437"),
    _u("\U0001d400\U0001d401\U0001d402 \U0001d4b3 \U00010348\U00010349 \U00020000\U0002a6d6"),
    _u("CamelCaseWords HTTPServer iPhone McDONALD'S \u01c5emal \u01c8 \u1f88 ABCdef abcDEF"),
    b"--foo=bar -x --no-color --level=3 -abc --path=/usr/local/bin/ -- --",
    b"https://example.org/path/to/page?q=1&r=two#frag http://x.y/z_(w) mailto:a@b.c ftp://h:21/",
    b"def f(x): return {'a': [1, 2, 3], \"b\": None}  # comment",
    b"if (a != b && c <= d) { x->y[i] += 0x1F; } else { return -1; }",
    b"    indented_code = True  ",
    b"\t\tdeeply.indented(code);",
    b"before<|endoftext|>after <|endoftext|> trailing",
    b"<|endoftext|>",
    b"<|begin_of_text|>x<|end_of_text|> <|begin_of_text|> <|begin_of_text|>",
    b"<|endoftext| <|endof <|begin_of_text <|  |> <||>",
    b"x <lmask>y",
    b"a   <lmask> b",
    b"<lmask>",
    b"\t<lmask>\t<lmask><lmask>",
    b"<rpad>   z",
    b"y <rpad>  ",
    b"y <rpad>\t\tz<rpad>",
    b"Winnow winnowing unWinnow Winnow, (Winnow) Winnow's Winnow_x WinnowX xWinnow 1Winnow Winnow1 -Winnow-",
    _u("Winnow\u00e9 \u00e9Winnow Winnow\u3000Winnow"),
    b"<lmask><rpad>Winnow <lmask> <rpad> Winnow <lmask>Winnow<rpad>",
    _u("full width \uff37\uff49\uff4e\uff4e\uff4f\uff57 x \uff1clmask\uff1e y \uff1crpad\uff1e  z \ufb01Winnow"),
    _u("\ufb01nance \ufb02ow \uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 "
       "\uff21\uff22\uff23\uff11\uff12\uff13 "
       "\u2460 \u2122 \u338f \u212b \u2126 \ufb00 \u1e9b\u0323 \uff8a\uff9d\uff76\uff78 \u00bc \u2474"),
    _u("NFC: A\u030a \u212b \u00c5 e\u0301\u0323 \u1e17 \uac00 \u1100\u1161"),
    b"lone \x80 continuation",
    b"truncated \xe2\x82 three-byte sequence",
    b"\xff byte ff \xfe\xfe",
    b"overlong \xc0\xaf slash",
    b"surrogate \xed\xa0\x80 encoded",
    b"\x80",
    b"ends truncated \xe2\x82",
    b"\xf0\x9f\x98 a truncated emoji",
    b"\xf4\x90\x80\x80 above U+10FFFF \xf8\x88\x80\x80\x80",
    b"\x00nul \x01\x1b[31mred\x1b[0m \x7f del \x0c form \x0b vt",
    b"a" * 300,
    b"ab" * 150 + b" " + b"9" * 50,
    _u("\u00e9" * 100 + " " + "\u65e5" * 60),
    b"!!!??? ... --- *** ((( ))) .,;: @@@ ### $$$ %%% ^^^",
    b"end",
]


def jsonl_lines(path):
    """The raw lines of a JSON Lines file, decompressing .zst with the zstd tool."""
    if path.name.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout
    else:
        data = path.read_bytes()
    return data.split(b"\n")


def sample_files():
    files = []
    for d in SAMPLE_DIRS:
        files += sorted(p for p in (ROOT / d).iterdir() if p.name.endswith((".jsonl", ".jsonl.zst")))
    return files


def fixtures(cache):
    """The fixture directory for these inputs, built (by the reference, in its venv) when missing."""
    py = tokenizer_python()
    h = hashlib.sha256()
    h.update(f"format {FIXTURE_FORMAT}\n{sorted(TOKENIZER_PACKAGES)}\n".encode())
    h.update(REFERENCE.read_bytes())
    h.update(b"\n".join(EDGE_CASES))
    for p in sample_files():
        h.update(str(p.relative_to(ROOT)).encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    out = Path(cache) / h.hexdigest()[:16]
    if (out / "reference.json").exists():
        print(f"fixtures: {out} (cached)", flush=True)
        return out
    Path(cache).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=cache))
    t0 = time.monotonic()
    # Documents: every line of the samples whose JSON object has a string `text`, verbatim.
    with open(tmp / "docs.jsonl", "wb") as f:
        for p in sample_files():
            for line in jsonl_lines(p):
                if line.strip():
                    d = json.loads(line)
                    if isinstance(d, dict) and isinstance(d.get("text"), str):
                        f.write(line + b"\n")
    (tmp / "edge_cases.txt").write_bytes(b"".join(l + b"\n" for l in EDGE_CASES))
    print(f"fixtures: training the models into {out} ...", flush=True)
    p = subprocess.run([py, str(REFERENCE), "build", str(tmp)])
    if p.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        check("reference: the fixtures build", False, f"{REFERENCE.name} build exited {p.returncode}")
        sys.exit(summary())
    os.replace(tmp, out) if not out.exists() else shutil.rmtree(tmp)
    for stale in Path(cache).iterdir():  # fixtures of earlier inputs
        if stale != out and len(stale.name) == 16 and (stale / "reference.json").exists():
            shutil.rmtree(stale, ignore_errors=True)
    print(f"fixtures: built in {time.monotonic() - t0:.0f} s", flush=True)
    return out


def explain(py, fx, spec, text, ours, where):
    """The first difference of `ours` from the reference on `text`, as a readable string."""
    if not isinstance(ours, list):
        return f"{where}: not a JSON array: {json.dumps(ours)[:100]}"
    req = {"file": str(fx / spec["file"]), "pattern": spec["pattern"], "text": text, "ids": [ours]}
    p = subprocess.run([py, str(REFERENCE), "explain"], input=json.dumps(req), capture_output=True, text=True)
    if p.returncode != 0:
        return f"{where}: (explain failed: {p.stderr[-300:]})"
    ans = json.loads(p.stdout)
    ref, ref_pieces = ans["ref"], ans["ref_pieces"]
    pos = next((k for k, (a, b) in enumerate(zip(ours, ref)) if a != b), min(len(ours), len(ref)))
    lo, hi = max(0, pos - 3), pos + 4

    def show(ids, pieces):
        return " ".join(f"{i}={p!r}" for i, p in zip(ids[lo:hi], pieces[lo:hi])) or "(end)"

    at = ans["ref_offsets"][min(pos, len(ref) - 1)] if ref else 0
    lo_c = max(0, at - 60)
    excerpt = ("…" if lo_c else "") + text[lo_c:at + 100] + ("…" if len(text) > at + 100 else "")
    return (f"{where}, text {excerpt!r}: first difference at token {pos} (character {at}), "
            f"{len(ours)} ids vs {len(ref)}; "
            f"winnow [{lo}:]: {show(ours, ans['pieces'][0])}; reference [{lo}:]: {show(ref, ref_pieces)}")


def run_winnow(cmd, timeout=900):
    """(CompletedProcess, None) or (None, why it did not run to the end)."""
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    if r.returncode != 0:
        return None, f"exit {r.returncode}: {r.stderr.decode('utf-8', 'replace').strip()[-400:]}"
    return r, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--winnow", default=str(ROOT / ".build/debug/winnow"))
    ap.add_argument("--fixtures", default=str(ROOT / ".build/tokenizer-fixtures"))
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()
    winnow = os.path.abspath(args.winnow)
    py = tokenizer_python()
    t_start = time.monotonic()
    fx = fixtures(args.fixtures)
    ref = json.loads((fx / "reference.json").read_text())

    print("reference: " + ", ".join(f"{k} {v}" for k, v in ref["versions"].items()), flush=True)
    for m in ref["models"]:
        extra = f" from {m['from']}" if "from" in m else f", {m['merges']} merges" + (
            f", {m['normalizer']}" if m.get("normalizer") else "")
        print(f"model {m['name']}: {m['vocab_size']} ids (max {m['max_id']}){extra}", flush=True)
    for c in ref["checks"]:
        check("reference: " + c["name"], c["ok"], c["detail"] if not c["ok"] else "")
    for n in ref["notes"]:
        line = (f"note: {n['name']}: edge cases identical {n['edge_same']}/{n['edge_compared']}, "
                f"documents identical {n['docs_same']}/{n['docs_compared']}")
        if "first" in n:
            f = n["first"]
            line += (f"; first difference at {f['where']} token {f['at']} {f['text'][:80]!r}: "
                     f"tokenizers {f['tokenizers']} tiktoken {f['tiktoken']}")
        print(line, flush=True)

    edge_file = fx / "edge_cases.txt"
    edge_texts = [l.decode("utf-8", errors="replace") for l in EDGE_CASES]
    docs_file = fx / "docs.jsonl"
    docs = None
    if not os.access(winnow, os.X_OK):
        check(f"the winnow binary exists at {winnow}", False)
        sys.exit(summary())
    work = Path(tempfile.mkdtemp(prefix="winnow-tokenizer-parity-"))
    try:
        for spec in ref["specs"]:
            name = spec["name"]
            if args.only and not any(o in name for o in args.only):
                continue
            model = str(fx / spec["file"])
            pattern = ["--pattern", spec["pattern"]] if spec["pattern"] else []

            # 1. Edge cases through `winnow tokenizer encode`.
            want = ref["edge"][name]
            t0 = time.monotonic()
            r, err = run_winnow([winnow, "tokenizer", "encode", "--tokenizer", model, *pattern,
                                 "--lines", str(edge_file)])
            dt = time.monotonic() - t0
            label = f"{name}: edge cases ({len(want)} lines) through `tokenizer encode`"
            if err:
                check(label, False, err)
            else:
                try:
                    lines = r.stdout.decode("utf-8").split("\n")
                    if lines[-1] == "":
                        lines.pop()
                    got, bad_output = [json.loads(l) for l in lines], None
                except (ValueError, UnicodeDecodeError) as e:
                    got, bad_output = [], f"output is not one JSON array per line: {e}"
                same = sum(1 for a, b in zip(got, want) if a == b)
                ok = bad_output is None and len(got) == len(want) and same == len(want)
                detail = bad_output or f"{len(got)} lines, {same} identical"
                if bad_output is None and not ok:
                    k = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
                    if k < len(got) and k < len(want):
                        detail += "; " + explain(py, fx, spec, edge_texts[k], got[k], f"line {k + 1}")
                check(label, ok, detail if not ok else f"{same}/{len(want)} identical [{dt:.2f} s]")

            # 2. Documents through the tokenize stage.
            if not spec["docs"] or args.no_docs:
                continue
            if docs is None:
                docs = [json.loads(l) for l in open(docs_file, encoding="utf-8") if l.strip()]
            want = ref["docs"][name]
            out = work / "out.jsonl"
            if out.exists():
                out.unlink()
            t0 = time.monotonic()
            r, err = run_winnow([winnow, "tokenize", "--tokenizer", model, *pattern, str(docs_file), "-o", str(out)])
            dt = time.monotonic() - t0
            label = f"{name}: {len(docs)} documents through `tokenize`"
            if err or not out.exists():
                check(label, False, err or f"no output file {out}")
                continue
            got = [json.loads(l) for l in open(out, encoding="utf-8") if l.strip()]
            same, first, fields_bad, tokens = 0, None, [], 0
            for k, (d, src) in enumerate(zip(got, docs)):
                ids = d.get("token_ids")
                if list(d)[-1:] != ["token_ids"] or {f: v for f, v in d.items() if f != "token_ids"} != src:
                    fields_bad.append(k)
                if isinstance(ids, list) and len(ids) == want["count"][k] and \
                        hashlib.sha1(json.dumps(ids, separators=(",", ":")).encode()).hexdigest() == want["sha1"][k]:
                    same += 1
                    tokens += len(ids)
                elif first is None:
                    first = k
            ok = len(got) == len(docs) and same == len(docs) and not fields_bad
            detail = f"{len(got)} documents out, {same} identical"
            if fields_bad:
                detail += (f"; {len(fields_bad)} documents not kept as they were with token_ids appended last, "
                           f"e.g. document {fields_bad[0] + 1}")
            if first is not None:
                ids = got[first].get("token_ids")
                detail += "; " + (explain(py, fx, spec, docs[first]["text"], ids, f"document {first + 1} "
                                          f"(id {docs[first].get('id')})") if isinstance(ids, list)
                                  else f"document {first + 1} has no token_ids array")
            check(label, ok, detail if not ok else f"{same}/{len(docs)} identical, {tokens} tokens [{dt:.2f} s]")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"[{time.monotonic() - t_start:.0f} s]", flush=True)
    sys.exit(summary())


if __name__ == "__main__":
    main()
