"""megatron-core 0.19.2's IndexedDatasetBuilder and IndexedDataset, with numpy alone.

    from megatron_reference import build, read, merge, optimal_dtype, preprocess_like
    build("out/x", [[1, 2, 3], [], [7, 8]], optimal_dtype(50257), eod_id=50256, append_eod=True)
    read("out/x")["documents"]   # [[1, 2, 3, 50256], [], [7, 8, 50256]]

    python megatron_reference.py read PREFIX [--multimodal] [--no-mmap]   # JSON of read()
    python megatron_reference.py build PREFIX SPEC.json   # SPEC: {"documents": [...], "dtype" or
        "vocab_size", and optionally eod_id, append_eod, split_sentences, multimodal, modes}
    python megatron_reference.py merge OUT PREFIX...

megatron-core needs Python >= 3.12 and torch to import, but the file that writes and reads the
indexed datasets, megatron/core/datasets/indexed_dataset.py, needs numpy only. This module takes
that file from the megatron-core 0.19.2 wheel (pip download, once, into $WINNOW_MEGATRON_VENV/wheel,
by default .venv-megatron/wheel at the repository root; the wheel's sha256 is checked) and runs it
with its other imports (torch, megatron.core.msc_utils, .object_storage_utils, .utils) stubbed:
local files only, no object storage. Run it with peers.megatron_python() (numpy==2.4.6).

`preprocess_like` mirrors Encoder.encode in Megatron-LM's tools/preprocess_data.py (read at
NVIDIA/Megatron-LM 00736f4c796c, not part of the wheel), and `build` then calls
builder.add_document(doc_ids, sentence_lens) per document and builder.finalize(idx) as
Partition.process_json_file does; `merge` is its partition merge (add_index per part, finalize).

Observed format (megatron-core 0.19.2, numpy 2.4.6; megatron_fixtures.py prints the fixtures):

.idx, little-endian, no padding or alignment anywhere:
  offset  0  9 bytes  magic  4D 4D 49 44 49 44 58 00 00  (b"MMIDIDX\\x00\\x00")
  offset  9  <Q       version 1
  offset 17  <B       dtype code: 1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6 float64,
                      7 float32, 8 uint16 (DType enum; the code is looked up by the numpy type's
                      __name__, so the builder's dtype must be a numpy scalar type)
  offset 18  <Q       S = len(sequence_lengths)
  offset 26  <Q       D = len(document_indices) = documents + 1 (the count written is D, not
                      the number of documents)
  offset 34  int32[S]  sequence_lengths, in tokens
             int64[S]  sequence_pointers: byte offsets into .bin, 0 first, then the running sum
                       of length * itemsize (lengths in tokens, pointers in bytes)
             int64[D]  document_indices: 0, then after each document len(sequence_lengths)
             int8[S]   sequence_modes, only when the builder is multimodal (a reader must be told
                       multimodal=True; nothing in the header says so)
  size = 34 + 4S + 8S + 8D (+ S if multimodal). Nothing follows.
.bin: the tokens of every sequence, in order, in the dtype (little-endian), nothing else: size
  = total tokens * itemsize. finalize() closes .bin and then writes .idx.

optimal_dtype(n): numpy.uint16 if n is not None and n < 65500, else numpy.int32 (65499 ->
  uint16, 65500 -> int32, None -> int32). The builder's own default is int32.
  preprocess_data.py passes tokenizer.vocab_size.

Documents (preprocess_data.py without --split-sentences): each document is one sentence; an
  empty token list is dropped, so an empty document reaches add_document as ([], []): it writes
  no bytes and no sequence, and only appends to document_indices, so that value repeats (docs
  [1,2,3], [], [7,8] -> lengths [3,2], pointers [0,6] (uint16), document_indices [0,1,1,2]).
  --append-eod appends the EOD id to non-empty documents only and counts it in the last
  sentence's length. With --split-sentences, each non-empty sentence is one sequence.
  Token ids that do not fit the dtype raise OverflowError in numpy.array (numpy 2), e.g.
  65500 fits uint16 but 65536 and -1 do not.

Zero documents: .bin is empty (0 bytes), .idx is the 34-byte header with S=0, D=1 and
  document_indices [0] (42 bytes). A dataset whose documents are all empty looks the same
  except D and document_indices ([0, 0, ..., 0]). IndexedDataset(prefix) with mmap=True (the
  default, and GPTDataset's mmap_bin_files default) fails on any empty .bin: numpy.memmap raises
  "ValueError: cannot mmap an empty file". With mmap=False it opens and has length 0.
  The _IndexReader itself opens such an .idx fine.

Multimodal: IndexedDatasetBuilder(bin, dtype, multimodal=True) appends int8 sequence_modes
  after document_indices. add_document(tokens, lengths) without modes raises TypeError in
  0.19.2 ([0] * lengths with a list), so modes must be given, one per sequence; add_item's mode
  defaults to 0. Reading a multimodal .idx without multimodal=True just ignores the trailing S
  bytes; reading a plain one with multimodal=True reads past the arrays ("ValueError: buffer is
  smaller than requested size" when S > 0).

add_index(prefix) (the merge): reads prefix.idx with the builder's multimodal flag, asserts
  its dtype equals the builder's dtype (AssertionError otherwise; so the merged builder must be
  built with the parts' dtype, e.g. all uint16), appends its sequence_lengths, appends its
  document_indices[1:] shifted by the number of sequences already added (each part's leading 0
  is dropped), appends its modes (asserting they are there) and copies prefix.bin byte for byte
  after what was written. Pointers are not copied: finalize() recomputes them from the merged
  lengths. So merge(parts) == build(concatenation of the parts' documents), byte for byte, and
  a part with zero documents adds nothing. add_index does not check .bin's size.
"""

import builtins
import hashlib
import logging
import os
import subprocess
import sys
import types
import zipfile

import numpy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CACHE = os.environ.get("WINNOW_MEGATRON_VENV", os.path.join(ROOT, ".venv-megatron"))
WHEEL_DIR = os.path.join(CACHE, "wheel")
VERSION = "0.19.2"
WHEEL = "megatron_core-0.19.2-cp312-cp312-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "8e3e486f13f559450415b9b9dc0ff3331a0bb83dd154553f7f350a75ff9c42b5"
SOURCE = "megatron/core/datasets/indexed_dataset.py"
SOURCE_SHA256 = "add90e4c4ac95df509d89b7e246002daf291eab775038755a01d5e13d5dd9613"

_module = None


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wheel_path():
    """The megatron-core wheel, downloaded on first use (needs PyPI once)."""
    path = os.path.join(WHEEL_DIR, WHEEL)
    if not os.path.exists(path):
        os.makedirs(WHEEL_DIR, exist_ok=True)
        print(f"pip download megatron-core=={VERSION} into {WHEEL_DIR}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--python-version", "3.12", "--only-binary=:all:",
                        "--platform", "manylinux_2_28_x86_64",
                        f"megatron-core=={VERSION}", "-d", WHEEL_DIR], check=True)
    digest = _sha256(path)
    if digest != WHEEL_SHA256:
        raise RuntimeError(f"{path}: sha256 {digest}, expected {WHEEL_SHA256}")
    return path


def _stub(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    mod.__path__ = []  # lets it stand as a package for the names below it
    return mod


def _stubs():
    """Exactly what indexed_dataset.py imports besides the standard library and numpy (boto3 is
    imported under try/except ModuleNotFoundError and left absent)."""
    torch = _stub("torch", Tensor=object)
    torch_utils = _stub("torch.utils")
    torch_data = _stub("torch.utils.data", Dataset=object)
    torch.utils, torch_utils.data = torch_utils, torch_data

    class ObjectStorageConfig:  # only used with object storage paths, which these stubs refuse
        pass

    def _no_object_storage(*args, **kwargs):
        raise NotImplementedError("object storage is stubbed out")

    storage = _stub(
        "megatron.core.datasets.object_storage_utils",
        S3Config=ObjectStorageConfig,
        ObjectStorageConfig=ObjectStorageConfig,
        cache_index_file=_no_object_storage,
        dataset_exists=_no_object_storage,
        get_index_cache_path=_no_object_storage,
        get_object_storage_access=_no_object_storage,
        is_object_storage_path=lambda path: False,
        parse_s3_path=_no_object_storage,
    )

    class MultiStorageClientFeature:
        @staticmethod
        def is_enabled():
            return False

        @staticmethod
        def import_package():
            raise NotImplementedError("multi-storage client is stubbed out")

    # msc_utils.maybe_msc is the multistorageclient package when enabled, else the builtins:
    # indexed_dataset.py only calls maybe_msc.open(path, mode, ...).
    msc = _stub("megatron.core.msc_utils", MultiStorageClientFeature=MultiStorageClientFeature,
                maybe_msc=types.SimpleNamespace(open=builtins.open))

    def log_single_rank(logger, *args, rank=0, **kwargs):
        logger.log(*args, **kwargs)

    utils = _stub("megatron.core.utils", log_single_rank=log_single_rank)
    return {
        "torch": torch, "torch.utils": torch_utils, "torch.utils.data": torch_data,
        "megatron": _stub("megatron"), "megatron.core": _stub("megatron.core"),
        "megatron.core.datasets": _stub("megatron.core.datasets"),
        "megatron.core.datasets.object_storage_utils": storage,
        "megatron.core.msc_utils": msc, "megatron.core.utils": utils,
    }


def source():
    """indexed_dataset.py's text, from the wheel."""
    with zipfile.ZipFile(wheel_path()) as z:
        text = z.read(SOURCE)
    if hashlib.sha256(text).hexdigest() != SOURCE_SHA256:
        raise RuntimeError(f"{SOURCE} in {WHEEL}: unexpected sha256")
    return text


def load():
    """The reference module (megatron.core.datasets.indexed_dataset), loaded once."""
    global _module
    if _module is not None:
        return _module
    text = source()
    name = "megatron.core.datasets.indexed_dataset"
    stubs = _stubs()
    saved = {k: sys.modules[k] for k in stubs if k in sys.modules}
    sys.modules.update(stubs)
    try:
        mod = types.ModuleType(name)
        mod.__file__ = f"{wheel_path()}/{SOURCE}"
        exec(compile(text, mod.__file__, "exec"), mod.__dict__)
    finally:
        for k in stubs:
            if k in saved:
                sys.modules[k] = saved[k]
            else:
                sys.modules.pop(k, None)
    logging.getLogger(name).setLevel(logging.WARNING)
    _module = mod
    return mod


def _dtype(dtype):
    """A numpy scalar type (what DType.code_from_dtype needs) from a type, dtype or name."""
    return numpy.dtype(dtype).type


def optimal_dtype(vocab_size):
    """DType.optimal_dtype: numpy.uint16 below 65,500, else numpy.int32."""
    return load().DType.optimal_dtype(vocab_size)


def dtype_code(dtype):
    return load().DType.code_from_dtype(_dtype(dtype))


def preprocess_like(documents, eod_id=None, append_eod=False, split_sentences=False):
    """What tools/preprocess_data.py's Encoder.encode hands add_document for each document:
    a list of (doc_ids, sentence_lens). `documents` holds each document's token ids (what
    tokenizer.tokenize(text) returned) or, with split_sentences, a list of sentences' ids."""
    if append_eod and eod_id is None:
        raise ValueError("append_eod needs eod_id")
    out = []
    for doc in documents:
        sentences = doc if split_sentences else [doc]
        doc_ids, sentence_lens = [], []
        for sentence_ids in sentences:
            sentence_ids = [int(t) for t in sentence_ids]
            if len(sentence_ids) > 0:
                doc_ids.extend(sentence_ids)
                sentence_lens.append(len(sentence_ids))
        if len(doc_ids) > 0 and append_eod:
            doc_ids.append(eod_id)
            sentence_lens[-1] += 1
        out.append((doc_ids, sentence_lens))
    return out


def build(prefix, documents, dtype, eod_id=None, append_eod=False, split_sentences=False,
          multimodal=False, modes=None):
    """Writes prefix.bin/.idx as preprocess_data.py does: IndexedDatasetBuilder(bin, dtype),
    add_document(doc_ids, sentence_lens) per document, finalize(idx). With multimodal, modes
    gives each document's per-sequence modes (default all 0). Returns (bin path, idx path)."""
    ref = load()
    builder = ref.IndexedDatasetBuilder(prefix + ".bin", dtype=_dtype(dtype), multimodal=multimodal)
    encoded = preprocess_like(documents, eod_id, append_eod, split_sentences)
    for i, (doc_ids, sentence_lens) in enumerate(encoded):
        if multimodal:
            doc_modes = modes[i] if modes is not None else [0] * len(sentence_lens)
            builder.add_document(doc_ids, sentence_lens, doc_modes)
        else:
            builder.add_document(doc_ids, sentence_lens)
    builder.finalize(prefix + ".idx")
    return prefix + ".bin", prefix + ".idx"


def merge(out_prefix, prefixes, dtype=None, multimodal=False):
    """preprocess_data.py's partition merge: a builder of the parts' dtype (the first part's
    unless given), add_index(part) for each, finalize. Returns (bin path, idx path)."""
    ref = load()
    if dtype is None:
        dtype = header(prefixes[0] + ".idx")["dtype"] if prefixes else numpy.int32
    builder = ref.IndexedDatasetBuilder(out_prefix + ".bin", dtype=_dtype(dtype), multimodal=multimodal)
    for p in prefixes:
        builder.add_index(p)
    builder.finalize(out_prefix + ".idx")
    return out_prefix + ".bin", out_prefix + ".idx"


def read(prefix, multimodal=False, mmap=True):
    """Reads prefix.bin/.idx through the reference IndexedDataset. Returns a dict: dtype (name),
    dtype_code, sequences and documents (lists of lists of ints; a document is the concatenation
    of its sequences), sequence_lengths, sequence_pointers, document_indices, sequence_modes
    (None unless multimodal). mmap=True (the default) fails on an empty .bin, as it does in
    megatron-core."""
    ref = load()
    ds = ref.IndexedDataset(prefix, multimodal=multimodal, mmap=mmap)
    try:
        sequences, modes = [], []
        for i in range(len(ds)):
            item = ds[i]
            if multimodal:
                item, mode = item
                modes.append(int(mode))
            sequences.append([int(t) for t in item])
        if len(ds) > 0:  # the slice path as well, which GPTDataset uses through get()
            sliced = ds[0:len(ds)]
            if multimodal:
                sliced = sliced[0]
            assert [[int(t) for t in s] for s in sliced] == sequences
        doc_idx = [int(x) for x in ds.document_indices]
        documents = [sum(sequences[doc_idx[d]:doc_idx[d + 1]], []) for d in range(len(doc_idx) - 1)]
        return {
            "dtype": ds.index.dtype.__name__,
            "dtype_code": ref.DType.code_from_dtype(ds.index.dtype),
            "sequences": sequences,
            "documents": documents,
            "sequence_lengths": [int(x) for x in ds.sequence_lengths],
            "sequence_pointers": [int(x) for x in ds.index.sequence_pointers],
            "document_indices": doc_idx,
            "sequence_modes": modes if multimodal else None,
        }
    finally:
        del ds


def header(idx_path):
    """The .idx header, parsed here (not by the reference) for checks and messages."""
    import struct
    with open(idx_path, "rb") as f:
        head = f.read(34)
    magic, version, code, s, d = struct.unpack("<9sQBQQ", head)
    names = {1: "uint8", 2: "int8", 3: "int16", 4: "int32", 5: "int64", 6: "float64", 7: "float32", 8: "uint16"}
    return {"magic": magic, "version": version, "dtype_code": code, "dtype": getattr(numpy, names[code]),
            "sequence_count": s, "document_count": d}


def sha256(path):
    return _sha256(path)


def main(argv=None):
    import argparse
    import json
    ap = argparse.ArgumentParser(description="megatron-core 0.19.2 indexed datasets, numpy only")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("read", help="print read(PREFIX) as JSON")
    r.add_argument("prefix")
    r.add_argument("--multimodal", action="store_true")
    r.add_argument("--no-mmap", action="store_true")
    b = sub.add_parser("build", help="build PREFIX.bin/.idx from a JSON spec")
    b.add_argument("prefix")
    b.add_argument("spec")
    m = sub.add_parser("merge", help="merge PREFIX... into OUT with add_index")
    m.add_argument("out")
    m.add_argument("prefixes", nargs="*")
    args = ap.parse_args(argv)
    if args.cmd == "read":
        json.dump(read(args.prefix, multimodal=args.multimodal, mmap=not args.no_mmap), sys.stdout)
        print()
    elif args.cmd == "build":
        spec = json.load(open(args.spec))
        dtype = spec["dtype"] if "dtype" in spec else optimal_dtype(spec["vocab_size"])
        opts = {k: spec[k] for k in ("eod_id", "append_eod", "split_sentences", "multimodal", "modes") if k in spec}
        for path in build(args.prefix, spec["documents"], dtype, **opts):
            print(sha256(path), path)
    else:
        for path in merge(args.out, args.prefixes):
            print(sha256(path), path)


if __name__ == "__main__":
    main()
