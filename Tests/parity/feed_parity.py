#!/usr/bin/env python3
"""Token exports (`output.format: megatron` and `tokens`) against megatron-core 0.19.2.

    python3 Tests/parity/feed_parity.py --winnow .build/debug/winnow

The reference is megatron-core's own IndexedDatasetBuilder / IndexedDataset
(Tests/parity/peers/megatron_reference.py, numpy only), run as a subprocess with the venv of
peers.megatron_python() (.venv-megatron): it builds datasets from token ids the way
tools/preprocess_data.py --append-eod does, reads datasets back, and merges parts with
add_index. Requests and answers pass through JSON files.

Token ids come from Winnow itself: the same recipe is run once with `output.format: jsonl` and
its `tokenize` stage writing `token_ids`, which gives the kept documents' ids in output order
(the shards part-TTTTT-SSSSS sorted by name are in task order); the export must then be the
dataset megatron-core builds from those ids, byte for byte. Whether the ids themselves are
right is tokenizer_parity.py's business.

Tokenizers: Recipes/models/sample-bpe-4k.json (4,096 ids, <|endoftext|> = 0: uint16), and a
byte-level BPE written here with 70,000 ids (the bytes at 0-255, padding, 702 merges of letter
pairs at ids 69,297-69,998 so that most tokens pass 65,535, <|endoftext|> = 69,999), for int32
Megatron datasets and uint32 token files.

Checks:
1. Samples/web (5 shards) through length (min_words 30) + tokenize: the megatron export's .bin
   and .idx equal the reference's (sha256), and the reference reader reads every document back;
2. the same with append_eod: false, and with the 70,000-id tokenizer (int32);
3. documents with empty text interleaved (kept, as preprocess_data.py keeps them: the document
   index repeats), with and without the end-of-document id;
4. executor local with 1 and 3 workers (files_per_task 1): the same bytes as inline;
5. merge: false: one dataset per task in OUT, each read back equal to its task's documents, and
   the reference merge of the parts in task order equal to the merged dataset;
6. route_by: source (man, doc, license): one dataset per value, each equal to the reference
   built from that route's documents, in order;
7. format: tokens: the .bin read with numpy in the sidecar's dtype is the concatenation of
   ids + [eot] per document, the sidecar's counts are right; uint16 and uint32;
8. resume and safety: a rerun skips the merge and leaves the files alone; a deleted data.idx is
   made again, identical; a byte overwritten in a task's part is never merged silently (the
   task is redone, or the run fails naming the part); a missing tokenizer file and a megatron
   export with no tokenizer fail with messages that say so.

Prints PASS/FAIL per check and ends with "N passed, M failed" (exit 1 when any failed).
--keep leaves the temporary folder (recipes, outputs, reference datasets) in place.
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
from checks import check as _check, summary  # noqa: E402
from peers import megatron_python  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "Tests/parity/peers"
SAMPLE_TOKENIZER = ROOT / "Recipes/models/sample-bpe-4k.json"
BIG_VOCAB = 70_000

# Runs in the megatron venv: argv = peers dir, requests JSON, answers JSON. Each request is
# {"op": "build" | "read" | "merge" | "flat", ...}; each answer a dict, or {"error": "..."}.
REFERENCE_DRIVER = r"""
import json, sys, traceback
sys.path.insert(0, sys.argv[1])
import megatron_reference as ref
answers = []
for q in json.load(open(sys.argv[2])):
    try:
        if q["op"] == "build":
            dtype = ref.optimal_dtype(q["vocab_size"])
            b, i = ref.build(q["prefix"], q["documents"], dtype, eod_id=q.get("eod_id"),
                             append_eod=q.get("append_eod", False))
            answers.append({"bin": ref.sha256(b), "idx": ref.sha256(i), "dtype": dtype.__name__})
        elif q["op"] == "read":
            r = ref.read(q["prefix"], mmap=q.get("mmap", True))
            r.pop("sequences")
            answers.append(r)
        elif q["op"] == "flat":  # a flat token file, as a user reads it: numpy, the sidecar's dtype
            import numpy
            side = json.load(open(q["prefix"] + ".json"))
            a = numpy.fromfile(q["prefix"] + ".bin", dtype=numpy.dtype(side["dtype"]).newbyteorder("<"))
            answers.append({"dtype": side["dtype"], "tokens": [int(t) for t in a]})
        elif q["op"] == "merge":
            b, i = ref.merge(q["out"], q["prefixes"])
            answers.append({"bin": ref.sha256(b), "idx": ref.sha256(i)})
        else:
            answers.append({"error": "unknown op " + q["op"]})
    except Exception as e:
        answers.append({"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-800:]})
json.dump(answers, open(sys.argv[3], "w"))
"""


class Harness:
    def __init__(self, winnow, py, work):
        self.winnow, self.py, self.work = winnow, py, work
        self.runs = 0

    # --- Winnow ---------------------------------------------------------------------------

    def recipe(self, name, out, inputs, stages, output=None, top=None):
        """Writes work/NAME.yaml; `output` adds keys to output (path and compression given)."""
        o = {"path": str(out), "compression": "none", **(output or {})}
        t = {"files_per_task": 1, **(top or {})}
        lines = [f"name: feed-parity-{name}", "seed: 1"]
        lines += [f"{k}: {json.dumps(v)}" for k, v in t.items()]
        lines += [f"input: {{paths: {json.dumps([str(p) for p in inputs])}}}", f"output: {json.dumps(o)}", "stages:"]
        lines += [f"  - {json.dumps(s)}" for s in stages]
        path = self.work / f"{name}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def run(self, recipe, *extra):
        self.runs += 1
        cmd = [self.winnow, "run", str(recipe), "--no-progress", *extra]
        for attempt in range(3):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            # A signal (the binary being relinked under us) is retried; an error exit is a result.
            if r.returncode >= 0 or attempt == 2:
                return r
            time.sleep(20)

    def vocab_size(self, tokenizer):
        r = subprocess.run([self.winnow, "tokenizer", "info", "--tokenizer", str(tokenizer)], capture_output=True,
                           text=True, timeout=120)
        for line in r.stdout.splitlines():
            if line.startswith("vocabulary size:"):
                return int(line.split(":")[1].split()[0])
        raise RuntimeError(f"winnow tokenizer info {tokenizer}: {r.stderr.strip()[-300:]}")

    # --- the reference --------------------------------------------------------------------

    def reference(self, requests):
        """Runs the requests in one reference process; the answers, in order."""
        req, ans = self.work / "ref-requests.json", self.work / "ref-answers.json"
        req.write_text(json.dumps(requests))
        p = subprocess.run([self.py, "-c", REFERENCE_DRIVER, str(PEERS), str(req), str(ans)], capture_output=True,
                           text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"the reference exited {p.returncode}: {p.stderr.strip()[-800:]}")
        return json.loads(ans.read_text())


def check(name, ok, detail=""):
    """checks.check, with the detail shown only when the check fails."""
    _check(name, ok, "" if ok else detail)


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def same_bytes(prefix, answer):
    """Whether PREFIX.bin and .idx exist and have the sha256s of a reference build or merge."""
    b, i = Path(f"{prefix}.bin"), Path(f"{prefix}.idx")
    return (b.exists() and i.exists() and "error" not in answer
            and sha(b) == answer["bin"] and sha(i) == answer["idx"])


def sizes(ours, ref):
    """The two datasets' file sizes, for a message."""
    def size(p):
        return os.path.getsize(p) if os.path.exists(p) else "missing"
    return (f"bin {size(f'{ours}.bin')} vs {size(f'{ref}.bin')} bytes, "
            f"idx {size(f'{ours}.idx')} vs {size(f'{ref}.idx')} bytes")


def err(r):
    return f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-600:]}"


def jsonl_docs(out):
    """The kept documents of a JSONL run, in task order (shards sorted by name)."""
    docs = []
    for p in sorted(out.glob("part-*.jsonl")):
        docs += [json.loads(l) for l in p.read_text(encoding="utf-8").splitlines() if l.strip()]
    return docs


def jsonl_docs_by_task(out):
    tasks = {}
    for p in sorted(out.glob("part-*.jsonl")):
        t = int(p.name.split("-")[1])
        tasks.setdefault(t, []).extend(json.loads(l) for l in p.read_text(encoding="utf-8").splitlines() if l.strip())
    return tasks


def with_eod(ids, eod, append):
    return ids + [eod] if append and ids else list(ids)


def first_difference(got, want):
    if len(got) != len(want):
        return f"{len(got)} documents, expected {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        if g != w:
            pos = next((i for i, (a, b) in enumerate(zip(g, w)) if a != b), min(len(g), len(w)))
            return (f"document {k}: {len(g)} tokens vs {len(w)}, first difference at {pos}: "
                    f"{g[pos:pos + 4]} vs {w[pos:pos + 4]}")
    return "equal"


def byte_level_tokenizer(path, vocab_size=BIG_VOCAB):
    """A GPT-2-style byte-level BPE with `vocab_size` ids: each byte's character at the byte's
    value, padding tokens, the merges Ġ+letter and letter+letter at the top, <|endoftext|> last."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    b2u = dict(zip(bs, map(chr, cs)))
    vocab = {b2u[b]: b for b in range(256)}
    letters = "abcdefghijklmnopqrstuvwxyz"
    merges = [("Ġ", c) for c in letters] + [(a, b) for a in letters for b in letters]
    first = vocab_size - 1 - len(merges)
    for i in range(256, first):
        vocab[f"<unused_{i}>"] = i
    for k, (a, b) in enumerate(merges):
        vocab[a + b] = first + k
    eot = vocab_size - 1
    vocab["<|endoftext|>"] = eot
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [{"id": eot, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                             "rstrip": False, "normalized": False, "special": True}],
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": None, "decoder": None,
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": vocab, "merges": [[a, b] for a, b in merges]}}
    path.write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")
    return eot


def file_state(*paths):
    """(inode, mtime_ns, size) of each path, None where missing."""
    out = []
    for p in paths:
        try:
            s = os.stat(p)
            out.append((s.st_ino, s.st_mtime_ns, s.st_size))
        except FileNotFoundError:
            out.append(None)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--winnow", default=str(ROOT / ".build/debug/winnow"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = ap.parse_args()
    winnow = os.path.abspath(args.winnow)
    py = megatron_python()
    t0 = time.monotonic()

    work = Path(tempfile.mkdtemp(prefix="winnow-feed-"))
    h = Harness(winnow, py, work)
    try:
        body(h, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{h.runs} winnow runs in {time.monotonic() - t0:.0f} s")
    sys.exit(summary())


def body(h, work):
    web = sorted((ROOT / "Samples/web").glob("*.jsonl.zst"))
    big = work / "big-70k.json"
    big_eot = byte_level_tokenizer(big)
    small_vocab, big_vocab = h.vocab_size(SAMPLE_TOKENIZER), h.vocab_size(big)
    check("the tokenizers' sizes: 4,096 and 70,000 ids", (small_vocab, big_vocab) == (4096, BIG_VOCAB),
          f"{small_vocab}, {big_vocab}")

    def stages(tok, field):
        return [{"length": {"min_words": 30}}, {"tokenize": {"tokenizer": str(tok), "field": field}}]

    # --- 1, 2: byte parity on Samples/web ------------------------------------------------
    ids_of = {}
    for label, tok in [("4k", SAMPLE_TOKENIZER), ("70k", big)]:
        out = work / f"ids-{label}"
        r = h.run(h.recipe(f"ids-{label}", out, web, stages(tok, "token_ids")), "--fresh")
        if r.returncode != 0:
            check(f"ids ({label}): winnow ran with format jsonl", False, err(r))
            return
        ids_of[label] = jsonl_docs(out)
    docs4 = ids_of["4k"]
    print(f"Samples/web: {len(docs4)} documents kept, {sum(len(d['token_ids']) for d in docs4)} tokens (4k), "
          f"{sum(len(d['token_ids']) for d in ids_of['70k'])} tokens (70k), "
          f"largest id {max(max(d['token_ids'], default=0) for d in ids_of['70k'])}", flush=True)

    cases = [  # label, tokenizer, ids, vocab, eod, append_eod, output keys
        ("uint16, append_eod", SAMPLE_TOKENIZER, "4k", small_vocab, 0, True, {}),
        ("uint16, append_eod: false", SAMPLE_TOKENIZER, "4k", small_vocab, 0, False, {"append_eod": False}),
        ("int32 (70k ids), append_eod", big, "70k", big_vocab, big_eot, True, {}),
    ]
    merged = {}  # label -> out dir of the merged megatron run
    for label, tok, ids_key, vocab, eod, append, keys in cases:
        out = work / f"meg-{ids_key}-{'eod' if append else 'noeod'}"
        recipe = h.recipe(f"meg-{ids_key}-{append}", out, web, stages(tok, ""), {"format": "megatron", **keys})
        r = h.run(recipe, "--fresh")
        if r.returncode != 0:
            check(f"megatron {label}: winnow ran", False, err(r))
            continue
        merged[label] = out
        docs = [d["token_ids"] for d in ids_of[ids_key]]
        want = [with_eod(d, eod, append) for d in docs]
        ref_prefix = str(work / f"ref-{ids_key}-{append}")
        a_build, a_read = h.reference([
            {"op": "build", "prefix": ref_prefix, "documents": docs, "vocab_size": vocab, "eod_id": eod,
             "append_eod": append},
            {"op": "read", "prefix": str(out / "data")}])
        ok = same_bytes(out / "data", a_build)
        check(f"megatron {label}: data.bin and data.idx equal megatron-core's ({len(docs)} documents, "
              f"{a_build.get('dtype')})", ok,
              a_build.get("error") or sizes(out / "data", ref_prefix))
        if "error" in a_read:
            check(f"megatron {label}: the reference reader opens Winnow's dataset", False, a_read["error"])
        else:
            diff = first_difference(a_read["documents"], want)
            check(f"megatron {label}: the reference reader reads every document back ({a_read['dtype']})",
                  diff == "equal" and a_read["dtype"] == a_build.get("dtype"), f"{diff}; dtype {a_read['dtype']}")

    # --- 3: empty documents ----------------------------------------------------------------
    raw = subprocess.run(["zstd", "-dc", str(web[0])], capture_output=True, check=True).stdout.decode("utf-8")
    base = [json.loads(l) for l in raw.splitlines() if l.strip()][:40]
    mixed = []
    for k, d in enumerate(base):
        if k % 3 == 0:
            mixed.append({"id": f"empty-{k}", "text": "", "source": "empty"})
        if k in (10, 11):  # runs of empty documents
            mixed.append({"id": f"empty-{k}b", "text": "", "source": "empty"})
        mixed.append({"id": d["id"], "text": d["text"], "source": d["source"]})
    mixed.append({"id": "empty-last", "text": "", "source": "empty"})
    empty_dir = work / "empty-in"
    empty_dir.mkdir()
    for s in range(2):  # two files, two tasks
        part = mixed[s * len(mixed) // 2:(s + 1) * len(mixed) // 2]
        (empty_dir / f"part-{s}.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in part),
                                                   encoding="utf-8")
    n_empty = sum(1 for d in mixed if d["text"] == "")
    tok_only = [{"tokenize": {"tokenizer": str(SAMPLE_TOKENIZER), "field": "token_ids"}}]
    out = work / "empty-ids"
    r = h.run(h.recipe("empty-ids", out, [empty_dir], tok_only), "--fresh")
    empty_docs = jsonl_docs(out) if r.returncode == 0 else None
    if empty_docs is None or len(empty_docs) != len(mixed):
        check(f"empty documents: all {len(mixed)} ({n_empty} empty) kept by the JSONL run", False,
              err(r) if r.returncode else f"{len(empty_docs)} kept")
    else:
        zero = sum(1 for d in empty_docs if not d["token_ids"])
        check(f"empty documents: the {n_empty} empty texts give no ids", zero == n_empty,
              f"{zero} documents without ids")
        for append in (True, False):
            out = work / f"empty-meg-{append}"
            stage = [{"tokenize": {"tokenizer": str(SAMPLE_TOKENIZER), "field": ""}}]
            r = h.run(h.recipe(f"empty-meg-{append}", out, [empty_dir], stage,
                               {"format": "megatron", "append_eod": append}), "--fresh")
            label = f"empty documents ({len(mixed)}, {n_empty} empty), append_eod: {str(append).lower()}"
            if r.returncode != 0:
                check(f"{label}: winnow ran", False, err(r))
                continue
            docs = [d["token_ids"] for d in empty_docs]
            prefix = str(work / f"ref-empty-{append}")
            a_build, a_read = h.reference([
                {"op": "build", "prefix": prefix, "documents": docs, "vocab_size": small_vocab, "eod_id": 0,
                 "append_eod": append},
                {"op": "read", "prefix": str(out / "data")}])
            ok = same_bytes(out / "data", a_build)
            check(f"{label}: bytes equal megatron-core's (document index repeats)", ok,
                  a_build.get("error") or sizes(out / "data", prefix))
            want = [with_eod(d, 0, append) for d in docs]
            got = a_read.get("documents")
            check(f"{label}: read back equal", got is not None and first_difference(got, want) == "equal",
                  a_read.get("error") or first_difference(got, want))

    # --- 4: worker counts --------------------------------------------------------------------
    inline = merged.get("uint16, append_eod")
    if inline is not None:
        want_bin, want_idx = sha(inline / "data.bin"), sha(inline / "data.idx")
        for workers in (1, 3):
            out = work / f"meg-local-{workers}"
            r = h.run(h.recipe(f"meg-local-{workers}", out, web, stages(SAMPLE_TOKENIZER, ""), {"format": "megatron"},
                               {"executor": "local", "workers": workers}), "--fresh")
            if r.returncode != 0:
                check(f"local ×{workers}: winnow ran", False, err(r))
                continue
            got = (sha(out / "data.bin"), sha(out / "data.idx"))
            check(f"local ×{workers} ({len(web)} files, files_per_task 1): data.bin and data.idx equal the inline "
                  "run's",
                  got == (want_bin, want_idx), f"bin {'same' if got[0] == want_bin else 'differs'}, "
                  f"idx {'same' if got[1] == want_idx else 'differs'}")

    # --- 5: merge: false -------------------------------------------------------------------
    if inline is not None:
        out = work / "meg-nomerge"
        recipe = h.recipe("meg-nomerge", out, web, stages(SAMPLE_TOKENIZER, ""), {"format": "megatron", "merge": False})
        r = h.run(recipe, "--fresh")
        if r.returncode != 0:
            check("merge: false: winnow ran", False, err(r))
        else:
            parts = sorted(out.glob("part-*-data.bin"))
            prefixes = [str(p)[:-4] for p in parts]
            idx_ok = all(os.path.exists(p + ".idx") for p in prefixes)
            check(f"merge: false: one dataset per task in OUT ({len(parts)} for {len(web)} tasks), no merged data.bin",
                  len(parts) == len(web) and idx_ok and not any((out / f"data.{x}").exists() for x in ("bin", "idx")),
                  f"{[p.name for p in parts]}, data.bin {'exists' if (out / 'data.bin').exists() else 'absent'}")
            by_task = jsonl_docs_by_task(work / "ids-4k")
            answers = h.reference([{"op": "read", "prefix": p} for p in prefixes]
                                  + [{"op": "merge", "out": str(work / "ref-nomerge-merged"), "prefixes": prefixes}])
            bad = []
            for p, a in zip(prefixes, answers):
                t = int(os.path.basename(p).split("-")[1])
                want = [with_eod(d["token_ids"], 0, True) for d in by_task.get(t, [])]
                if "error" in a:
                    bad.append(f"{os.path.basename(p)}: {a['error']}")
                elif first_difference(a["documents"], want) != "equal":
                    bad.append(f"{os.path.basename(p)}: {first_difference(a['documents'], want)}")
            check("merge: false: each task's dataset reads back equal to its task's documents", not bad and parts,
                  "; ".join(bad[:3]) or "no parts")
            m = answers[-1]
            check("merge: false: megatron-core's merge (add_index) of the parts equals the merge: true dataset",
                  "error" not in m and (m["bin"], m["idx"]) == (want_bin, want_idx),
                  m.get("error") or f"bin {'same' if m['bin'] == want_bin else 'differs'}, "
                  f"idx {'same' if m['idx'] == want_idx else 'differs'}")

    # --- 6: route_by --------------------------------------------------------------------------
    out = work / "meg-routed"
    recipe = h.recipe("meg-routed", out, web, stages(SAMPLE_TOKENIZER, ""),
                      {"format": "megatron", "route_by": "source"})
    r = h.run(recipe, "--fresh")
    if r.returncode != 0:
        check("route_by: source: winnow ran", False, err(r))
    else:
        routes = sorted({d["source"] for d in docs4})
        dirs = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
        check(f"route_by: source: one directory per value ({', '.join(routes)}), nothing at the top",
              dirs == [f"source={v}" for v in routes] and not (out / "data.bin").exists(), f"{dirs}")
        requests = []
        for v in routes:
            docs = [d["token_ids"] for d in docs4 if d["source"] == v]
            requests += [{"op": "build", "prefix": str(work / f"ref-route-{v}"), "documents": docs,
                          "vocab_size": small_vocab, "eod_id": 0, "append_eod": True},
                         {"op": "read", "prefix": str(out / f"source={v}" / "data")}]
        answers = h.reference(requests)
        for k, v in enumerate(routes):
            a_build, a_read = answers[2 * k], answers[2 * k + 1]
            d = out / f"source={v}"
            n = sum(1 for x in docs4 if x["source"] == v)
            ok = same_bytes(d / "data", a_build)
            want = [with_eod(x["token_ids"], 0, True) for x in docs4 if x["source"] == v]
            ok_read = "error" not in a_read and first_difference(a_read["documents"], want) == "equal"
            check(f"route_by: source={v} ({n} documents): bytes equal megatron-core's, read back equal", ok and ok_read,
                  a_build.get("error") or a_read.get("error") or
                  (first_difference(a_read["documents"], want) if not ok_read else "bytes differ"))

    # --- 7: format: tokens --------------------------------------------------------------------
    token_cases = [("uint16 (4k ids)", SAMPLE_TOKENIZER, [d["token_ids"] for d in docs4], small_vocab, 0, "uint16", web,
                    stages(SAMPLE_TOKENIZER, "")),
                   ("uint32 (70k ids)", big, [d["token_ids"] for d in ids_of["70k"]], big_vocab, big_eot, "uint32", web,
                    stages(big, ""))]
    if empty_docs is not None:
        token_cases.append(("uint16, empty documents", SAMPLE_TOKENIZER, [d["token_ids"] for d in empty_docs],
                            small_vocab, 0, "uint16", [empty_dir],
                            [{"tokenize": {"tokenizer": str(SAMPLE_TOKENIZER), "field": ""}}]))
    for label, tok, docs, vocab, eot, dtype, inputs, st in token_cases:
        out = work / f"tokens-{len(inputs)}-{vocab}"
        r = h.run(h.recipe(f"tokens-{len(inputs)}-{vocab}", out, inputs, st, {"format": "tokens"}), "--fresh")
        if r.returncode != 0:
            check(f"tokens {label}: winnow ran", False, err(r))
            continue
        try:
            side = json.loads((out / "data.json").read_text())
        except Exception as e:  # noqa: BLE001
            check(f"tokens {label}: data.json is JSON", False, repr(e))
            continue
        want = [t for d in docs for t in d + [eot]]
        (flat,) = h.reference([{"op": "flat", "prefix": str(out / "data")}])
        got = flat.get("tokens", [])
        same = "error" not in flat and got == want
        where = flat.get("error", "")
        if not same and not where:
            diff = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
            where = f"{len(got)} tokens vs {len(want)}" + (f", first difference at {diff}" if diff is not None else "")
        check(f"tokens {label}: data.bin in the sidecar's dtype is ids + [eot] per document ({len(docs)} documents)",
              side.get("dtype") == dtype and same, f"dtype {side.get('dtype')}; {where}")
        want_side = {"format": "winnow-tokens", "version": 1, "dtype": dtype, "vocabulary_size": vocab, "eot_id": eot,
                     "documents": len(docs), "tokens": len(want)}
        wrong = {k: (side.get(k), v) for k, v in want_side.items() if side.get(k) != v}
        check(f"tokens {label}: the sidecar says {want_side['documents']} documents, {want_side['tokens']} tokens, "
              f"eot {eot}, {vocab} ids, and names the tokenizer",
              not wrong and isinstance(side.get("tokenizer"), str) and os.path.basename(str(tok)) in side["tokenizer"],
              f"(got, want): {wrong}; tokenizer {side.get('tokenizer')!r}")

    # --- 8: resume and safety ------------------------------------------------------------------
    resume(h, work, web, stages)


def resume(h, work, web, stages):
    out = work / "meg-resume"
    recipe = h.recipe("meg-resume", out, web, stages(SAMPLE_TOKENIZER, ""), {"format": "megatron"})
    r = h.run(recipe, "--fresh")
    if r.returncode != 0:
        check("resume: the first run", False, err(r))
        return
    targets = [out / "data.bin", out / "data.idx"]
    done = out / ".winnow/merge/export.done"
    original = [sha(p) for p in targets]
    state = file_state(*targets, done)

    # (a) nothing changed: every task skipped, the merge skipped, the files untouched.
    r = h.run(recipe)
    stats = json.loads((out / "stats.json").read_text()) if (out / "stats.json").exists() else {}
    check("8a: a rerun with nothing changed skips every task and the merge; data.bin/.idx untouched",
          r.returncode == 0 and stats.get("tasks_skipped_as_done") == len(web) and file_state(*targets, done) == state
          and [sha(p) for p in targets] == original,
          err(r) if r.returncode else f"skipped {stats.get('tasks_skipped_as_done')}, (inode, mtime, size) before "
          f"{state}, after {file_state(*targets, done)}")

    # (b) data.idx deleted: made again, identical.
    os.unlink(out / "data.idx")
    r = h.run(recipe)
    check("8b: a deleted data.idx is made again by a rerun, both files identical to the first run's",
          r.returncode == 0 and all(p.exists() for p in targets) and [sha(p) for p in targets] == original,
          err(r) if r.returncode else f"data.idx {'exists' if targets[1].exists() else 'missing'}; "
          f"{'same' if targets[1].exists() and sha(targets[1]) == original[1] else 'differs'}")

    # (c) a byte of a task's part overwritten under .winnow/export.
    for kind in ("bin", "idx"):
        part = out / f".winnow/export/part-00002-data.{kind}"
        if not part.exists():
            check(f"8c ({kind}): the part {part.name} exists", False, str(sorted((out / '.winnow/export').iterdir())))
            continue
        pristine = part.read_bytes()
        data = bytearray(pristine)
        at = len(data) // 2 if kind == "bin" else 34 + 4  # the middle of the tokens; a sequence length
        data[at] ^= 0x5A
        part.write_bytes(bytes(data))
        # c1: the merged dataset still there: the rerun must not give a different output.
        r = h.run(recipe)
        c1_same = all(p.exists() for p in targets) and [sha(p) for p in targets] == original
        c1 = ("error" if r.returncode else "ok") + f", output {'unchanged' if c1_same else 'CHANGED'}"
        print(f"  8c ({kind}, output present): rerun {c1}; {r.stderr.strip()[-300:]}", flush=True)
        check(f"8c ({kind}, output present): a rerun after a part is damaged never gives a different output", c1_same
              or (r.returncode != 0 and part.name in r.stderr), f"{c1}; {err(r)}")
        # c2: the part damaged again (c1 may have redone the task) and the merged dataset removed,
        # so that the merge must run: redo the task, or fail naming the part.
        part.write_bytes(bytes(data))
        for p in targets:
            if p.exists():
                os.unlink(p)
        r = h.run(recipe)
        same = all(p.exists() for p in targets) and [sha(p) for p in targets] == original
        redone = part.read_bytes() == pristine
        if r.returncode == 0:
            outcome = f"redid the task (part {'restored' if redone else 'NOT restored'}), output " + (
                "equal to the original" if same else "DIFFERENT from the original")
            ok = same
        else:
            outcome = "failed" + (" naming the part" if part.name in r.stderr else " WITHOUT naming the part")
            ok = part.name in r.stderr and all(not p.exists() or sha(p) == o for p, o in zip(targets, original))
        print(f"  8c ({kind}): Winnow {outcome}; exit {r.returncode}: {r.stderr.strip()[-300:]}", flush=True)
        check(f"8c ({kind}, output removed): Winnow redoes the task or fails naming the part ({outcome})", ok,
              "" if ok else err(r))
        if r.returncode != 0:
            r = h.run(recipe)
            same = all(p.exists() for p in targets) and [sha(p) for p in targets] == original
            check(f"8c ({kind}): running the same command again, as the message says, restores the original output",
                  r.returncode == 0 and same, err(r) if r.returncode else "output differs from the original")
        if part.exists() and part.read_bytes() != pristine:
            part.write_bytes(pristine)  # for the next variant

    # (d) a tokenizer file that does not exist: output.tokenizer, and the tokenize stage's.
    missing = work / "no-such-tokenizer.json"
    codes = {}
    for where, st, keys in [("output.tokenizer", [{"length": {"min_words": 30}}], {"tokenizer": str(missing)}),
                            ("the tokenize stage", stages(missing, ""), {})]:
        o = work / "meg-missing"
        r = h.run(h.recipe("meg-missing", o, web, st, {"format": "megatron", **keys}), "--fresh")
        codes[where] = r.returncode
        check(f"8d: a missing tokenizer file ({where}) fails with an error naming the file",
              r.returncode != 0 and str(missing.name) in r.stderr and not (o / "data.bin").exists(),
              f"exit {r.returncode}: {r.stderr.strip()[-300:]}")

    if len(set(codes.values())) > 1:
        print(f"  note: a missing tokenizer file exits {codes}: 2 is a usage error found before any task runs, "
              "1 a failure of the tasks", flush=True)

    # (e) format: megatron with no tokenizer anywhere.
    o = work / "meg-none"
    r = h.run(h.recipe("meg-none", o, web, [{"length": {"min_words": 30}}], {"format": "megatron"}), "--fresh")
    msg = r.stderr.lower()
    check("8e: format: megatron without a tokenizer fails saying a tokenizer is needed",
          r.returncode != 0 and "tokenizer" in msg and "need" in msg and not (o / "data.bin").exists(),
          f"exit {r.returncode}: {r.stderr.strip()[-300:]}")


if __name__ == "__main__":
    main()
