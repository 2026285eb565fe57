"""Reference Megatron indexed datasets (megatron-core 0.19.2) for the .bin/.idx writer's parity.

    python megatron_fixtures.py [--out DIR] [--json] [--bench DOCS]

Run it with peers.megatron_python(). For each case it builds PREFIX.bin/.idx through
megatron_reference.build (IndexedDatasetBuilder.add_document + finalize, fed as
tools/preprocess_data.py feeds it) or .merge (add_index + finalize), reads them back through
the reference IndexedDataset, checks the round trip and the layout that megatron_reference.py
documents (an independent writer below must give the same bytes), and prints the sha256 of
.bin and .idx. --json prints the cases instead (documents, options, expected read-back and
sha256s), for a harness that feeds Winnow the same documents. --out keeps the files (default:
a temporary folder, removed). --bench DOCS times a build and a read of DOCS documents.
"""

import argparse
import gc
import json
import os
import shutil
import struct
import sys
import tempfile
import time

import numpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import megatron_reference as ref  # noqa: E402

GPT2_VOCAB, GPT2_EOD = 50257, 50256        # optimal_dtype -> uint16
LLAMA3_VOCAB, LLAMA3_EOD = 128256, 128001  # optimal_dtype -> int32


def generated(count, seed, vocab, min_len=1, max_len=40):
    """Deterministic documents from a 64-bit LCG (Knuth's MMIX constants), easy to regenerate."""
    state, docs = seed, []

    def nxt():
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return state >> 33

    for _ in range(count):
        n = min_len + nxt() % (max_len - min_len + 1)
        docs.append([nxt() % vocab for _ in range(n)])
    return docs


def cases():
    """name -> build options; "documents" are tokenizer outputs (before preprocess_data.py)."""
    basic = [[15496, 11, 995, 0], [40, 716, 257, 1332, 13], [464], [50255, 0, 1, 65499 % GPT2_VOCAB]]
    basic += generated(6, 1, GPT2_VOCAB)
    large = [[128000, 9906, 11, 1917, 0], [65500, 65535, 65536, 70000, 128255], [0, 1, 65499],
             [2 ** 31 - 1, 128000]]
    large += generated(4, 2, LLAMA3_VOCAB)
    with_empty = [[], [5, 6, 7], [], [], [8], [9, 10], []]
    yield "uint16_basic", dict(documents=basic, vocab_size=GPT2_VOCAB)
    yield "int32_large_ids", dict(documents=large, vocab_size=LLAMA3_VOCAB)
    yield "empty_interleaved", dict(documents=with_empty, vocab_size=GPT2_VOCAB)
    yield "empty_interleaved_eod", dict(documents=with_empty, vocab_size=GPT2_VOCAB, eod_id=GPT2_EOD,
                                        append_eod=True)
    yield "uint16_basic_eod", dict(documents=basic, vocab_size=GPT2_VOCAB, eod_id=GPT2_EOD, append_eod=True)
    yield "int32_large_ids_eod", dict(documents=large, vocab_size=LLAMA3_VOCAB, eod_id=LLAMA3_EOD,
                                      append_eod=True)
    yield "all_empty", dict(documents=[[], [], []], vocab_size=GPT2_VOCAB)
    yield "zero_documents", dict(documents=[], vocab_size=GPT2_VOCAB)
    yield "zero_documents_int32", dict(documents=[], vocab_size=LLAMA3_VOCAB)
    yield "single_token", dict(documents=[[0]], vocab_size=GPT2_VOCAB)
    # --split-sentences: one sequence per non-empty sentence, the EOD in the last one.
    yield "split_sentences_eod", dict(documents=[[[1, 2, 3], [], [4]], [], [[]], [[5, 6]]],
                                      vocab_size=GPT2_VOCAB, eod_id=GPT2_EOD, append_eod=True,
                                      split_sentences=True)
    # multimodal: int8 sequence_modes after document_indices, one per sequence.
    yield "multimodal", dict(documents=[[[1, 2], [3]], [], [[4]]], vocab_size=LLAMA3_VOCAB,
                             split_sentences=True, multimodal=True, modes=[[1, 2], [], [0]])
    # A merge of 3 partial datasets (as preprocess_data.py --partitions 3), then one with a part
    # of zero documents and one whose parts are all empty documents.
    parts = [generated(3, 10, GPT2_VOCAB), [[], [11, 12], []], generated(2, 11, GPT2_VOCAB)]
    yield "merge_3_parts", dict(parts=parts, vocab_size=GPT2_VOCAB, eod_id=GPT2_EOD, append_eod=True)
    yield "merge_with_zero_part", dict(parts=[generated(2, 12, LLAMA3_VOCAB, 1, 5), [], [[7]]],
                                       vocab_size=LLAMA3_VOCAB)
    yield "merge_all_empty", dict(parts=[[[]], [], [[], []]], vocab_size=GPT2_VOCAB)


def spec_bytes(encoded, dtype, multimodal=False, modes=None):
    """The .bin and .idx that megatron_reference.py's layout says the builder writes."""
    item = numpy.dtype(dtype)
    lengths, doc_idx, flat_modes = [], [0], []
    data = bytearray()
    for i, (ids, lens) in enumerate(encoded):
        data += numpy.array(ids, dtype=item.newbyteorder("<")).tobytes()
        lengths += lens
        doc_idx.append(len(lengths))
        if multimodal:
            flat_modes += modes[i] if modes is not None else [0] * len(lens)
    pointers, p = [], 0
    for n in lengths:
        pointers.append(p)
        p += n * item.itemsize
    idx = b"MMIDIDX\x00\x00" + struct.pack("<QBQQ", 1, ref.dtype_code(dtype), len(lengths), len(doc_idx))
    idx += struct.pack(f"<{len(lengths)}i", *lengths) + struct.pack(f"<{len(pointers)}q", *pointers)
    idx += struct.pack(f"<{len(doc_idx)}q", *doc_idx)
    if multimodal:
        idx += struct.pack(f"<{len(flat_modes)}b", *flat_modes)
    return bytes(data), idx


def run_case(name, opts, out):
    dtype = ref.optimal_dtype(opts["vocab_size"])
    build_opts = {k: opts[k] for k in ("eod_id", "append_eod", "split_sentences", "multimodal", "modes") if k in opts}
    prefix = os.path.join(out, name)
    if "parts" in opts:
        part_prefixes = []
        for i, part in enumerate(opts["parts"]):
            part_prefixes.append(f"{prefix}_part{i}")
            ref.build(part_prefixes[-1], part, dtype, **build_opts)
        ref.merge(prefix, part_prefixes)
        documents = [d for part in opts["parts"] for d in part]
        # The merge must equal one build over all the parts' documents.
        ref.build(prefix + "_whole", documents, dtype, **build_opts)
        for ext in (".bin", ".idx"):
            assert open(prefix + ext, "rb").read() == open(prefix + "_whole" + ext, "rb").read(), (name, ext)
    else:
        documents = opts["documents"]
        ref.build(prefix, documents, dtype, **build_opts)
    encoded = ref.preprocess_like(documents, opts.get("eod_id"), opts.get("append_eod", False),
                                  opts.get("split_sentences", False))
    want_bin, want_idx = spec_bytes(encoded, dtype, opts.get("multimodal", False), opts.get("modes"))
    got_bin, got_idx = open(prefix + ".bin", "rb").read(), open(prefix + ".idx", "rb").read()
    assert got_bin == want_bin, (name, ".bin differs from the documented layout")
    assert got_idx == want_idx, (name, ".idx differs from the documented layout")

    # Read back through the reference IndexedDataset. mmap (its default) refuses an empty .bin.
    multimodal = opts.get("multimodal", False)
    mmap = len(got_bin) > 0
    if not mmap:
        # The half-built IndexedDataset's __del__ then complains on stderr; keep that quiet.
        hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
        try:
            ref.read(prefix, multimodal=multimodal, mmap=True)
            raise AssertionError(f"{name}: expected mmap to refuse an empty .bin")
        except ValueError as e:
            assert "cannot mmap an empty file" in str(e), e
        finally:
            gc.collect()
            sys.unraisablehook = hook
    back = ref.read(prefix, multimodal=multimodal, mmap=mmap)
    assert back["documents"] == [ids for ids, _ in encoded], name
    assert back["sequence_lengths"] == [n for _, lens in encoded for n in lens], name
    assert back["document_indices"][0] == 0 and len(back["document_indices"]) == len(encoded) + 1, name
    assert back["dtype"] == numpy.dtype(dtype).name, name
    return {
        "name": name,
        "dtype": numpy.dtype(dtype).name,
        "dtype_code": ref.dtype_code(dtype),
        "options": {k: v for k, v in opts.items() if k not in ("documents", "parts")},
        "documents": None if "parts" in opts else documents,
        "parts": opts.get("parts"),
        "read_back": {k: back[k] for k in ("documents", "sequence_lengths", "sequence_pointers",
                                           "document_indices", "sequence_modes")},
        "bin_bytes": len(got_bin), "idx_bytes": len(got_idx),
        "bin_sha256": ref.sha256(prefix + ".bin"), "idx_sha256": ref.sha256(prefix + ".idx"),
        "mmap_readable": mmap,
    }


def bench(count, out):
    docs = generated(count, 99, GPT2_VOCAB, 1, 1000)
    tokens = sum(len(d) for d in docs)
    prefix = os.path.join(out, "bench")
    t0 = time.perf_counter()
    ref.build(prefix, docs, ref.optimal_dtype(GPT2_VOCAB), eod_id=GPT2_EOD, append_eod=True)
    t1 = time.perf_counter()
    ds = ref.load().IndexedDataset(prefix)
    total = sum(int(ds[i].size) for i in range(len(ds)))
    t2 = time.perf_counter()
    del ds
    ref.merge(prefix + "_merged", [prefix, prefix])
    t3 = time.perf_counter()
    assert total == tokens + count
    print(f"bench: {count} documents, {tokens + count} tokens: build {t1 - t0:.2f}s "
          f"({(tokens + count) / (t1 - t0) / 1e6:.2f} M tokens/s), open + index every sequence {t2 - t1:.2f}s, "
          f"merge of 2 copies {t3 - t2:.2f}s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="keep the datasets in this folder")
    ap.add_argument("--json", action="store_true", help="print the cases as JSON")
    ap.add_argument("--bench", type=int, metavar="DOCS", help="time a build and read of DOCS documents")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="winnow-megatron-")
    os.makedirs(out, exist_ok=True)
    try:
        t0 = time.perf_counter()
        ref.load()
        results = [run_case(name, opts, out) for name, opts in cases()]
        elapsed = time.perf_counter() - t0
        if args.json:
            json.dump({"megatron_core": ref.VERSION, "numpy": numpy.__version__, "cases": results}, sys.stdout)
            print()
        else:
            print(f"megatron-core {ref.VERSION} (indexed_dataset.py sha256 {ref.SOURCE_SHA256[:16]}…), "
                  f"numpy {numpy.__version__}")
            for r in results:
                print(f"{r['name']:24} {r['dtype']:6} bin {r['bin_sha256']} ({r['bin_bytes']} B)  "
                      f"idx {r['idx_sha256']} ({r['idx_bytes']} B)")
            print(f"{len(results)} cases built, read back and checked in {elapsed:.2f}s")
        if args.bench:
            bench(args.bench, out)
    finally:
        if not args.out:
            shutil.rmtree(out)


if __name__ == "__main__":
    main()
