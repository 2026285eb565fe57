"""The reference side of tokenizer_parity.py: trains the test tokenizers with Hugging Face's
tokenizers, writes them as tokenizer.json (pair and legacy merges) and tiktoken rank files, and
encodes the edge cases and documents with tokenizers and tiktoken.

    python tokenizer_reference.py build DIR      # DIR holds edge_cases.txt and docs.jsonl
    python tokenizer_reference.py explain < request.json > answer.json

`build` trains on the `text` of every document in DIR/docs.jsonl (no pretrained vocabulary is
needed) and writes DIR/models/ and DIR/reference.json:

    {"versions": {...}, "models": [{"name", "style", "vocab_size", "max_id", "merges", ...}],
     "specs": [{"name", "kind": "json"|"tiktoken", "file", "pattern", "docs": bool}],
     "edge": {spec: [[ids of line 1], ...]},
     "docs": {spec: {"count": [...], "sha1": [...]}},     # per document: len(ids), sha1 of the ids
     "checks": [{"name", "ok", "detail"}],                 # the reference agreeing with itself
     "notes": [...]}

A document's sha1 is that of its ids written as compact JSON ("[12,7,301]"), see ids_digest.

`explain` reads {"file", "pattern", "text", "ids": [[...], ...]} and answers {"ref": the
reference's ids for text, "ref_pieces": their strings, "ref_offsets": where each starts in the
text (characters), "pieces": [the strings of each list's ids]}, for the mismatch reports.
"""
import base64
import hashlib
import json
import os
import sys
import time

BOS, EOS, ENDOFTEXT = "<|begin_of_text|>", "<|end_of_text|>", "<|endoftext|>"
# Llama 3's pre-tokenizer regex (its tokenizer.json, Split with behavior Isolated).
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
# Non-special added tokens whose flags the edge cases exercise (llama3-8k, and gpt2-nfkc-4k where,
# normalized, they also match text that NFKC turns into them).
FLAGGED = [("<lmask>", {"lstrip": True}), ("<rpad>", {"rstrip": True}), ("Winnow", {"single_word": True})]

# name, style, trainer vocab_size, normalizer, flagged added tokens
MODELS = [
    ("gpt2-2k", "gpt2", 2000, None, False),
    ("gpt2-12k", "gpt2", 12000, None, False),
    ("gpt2-nfkc-4k", "gpt2", 4000, "NFKC", True),
    ("llama3-8k", "llama3", 8000, None, True),
    ("llama3-70k", "llama3", 70000, None, False),
    # SentencePiece-converted BPE (character-level, byte fallback, <unk>/<s>/</s>, <0xXX> tokens
    # as plain vocabulary entries, "<s> $A" template), trained once and written three ways:
    ("llama2-4k", "llama2", 4000, None, False),           # Prepend + Replace normalizers, no pre-tokenizer
    ("mistral-4k", "mistral", 4000, None, False),         # Metaspace, prepend_scheme "first", no split
    ("metaspace-always-4k", "metaspace", 4000, None, False),  # Metaspace, prepend_scheme "always", split
]
SENTENCEPIECE_STYLES = ("llama2", "mistral", "metaspace")
SP_SPECIALS = ["<unk>", "<s>", "</s>"]
SP_BYTES = [f"<0x{b:02X}>" for b in range(256)]
_sentencepiece_cache = {}
# tiktoken rank files: name, the model whose merges give the ranks, the patterns to run it with
# (edge cases with every pattern; documents with the first), how the pre-tokenizers compare.
TIKTOKEN = [
    ("r50k-style", "gpt2-12k", ["r50k", "gpt2", "p50k"], "same regex"),
    ("cl100k-style", "llama3-8k", ["cl100k"], "Llama 3's regex vs cl100k's, nearly the same"),
    ("o200k-style", "llama3-70k", ["o200k"], "Llama 3's regex vs o200k's, which differ"),
]


def bytes_to_unicode():
    """GPT-2's table (encoder.py): printable Latin-1 bytes map to themselves, the others to
    U+0100 onwards."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tiktoken_patterns():
    """The regexes of tiktoken's OpenAI encodings, read from the installed tiktoken_ext (the
    constructors are called with the rank loaders stubbed out, so nothing is downloaded)."""
    import tiktoken_ext.openai_public as op
    saved = op.load_tiktoken_bpe, op.data_gym_to_mergeable_bpe_ranks
    op.load_tiktoken_bpe = lambda *a, **k: {}
    op.data_gym_to_mergeable_bpe_ranks = lambda *a, **k: {}
    try:
        return {"gpt2": op.gpt2()["pat_str"], "r50k": op.r50k_base()["pat_str"], "p50k": op.p50k_base()["pat_str"],
                "cl100k": op.cl100k_base()["pat_str"], "o200k": op.o200k_base()["pat_str"]}
    finally:
        op.load_tiktoken_bpe, op.data_gym_to_mergeable_bpe_ranks = saved


def ids_digest(ids):
    return hashlib.sha1(json.dumps(ids, separators=(",", ":")).encode()).hexdigest()


def read_lines(path):
    """The edge-case file: lines split on b"\\n" only (a final newline ends the last line),
    each decoded as UTF-8 with Python's replacement of invalid bytes."""
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    return [l.decode("utf-8", errors="replace") for l in lines]


def read_texts(path):
    return [json.loads(l)["text"] for l in open(path, encoding="utf-8") if l.strip()]


def train_sentencepiece_style(style, vocab_size, texts):
    """A Llama 2 / Mistral-like tokenizer: BPE over characters (the alphabet cut to the 150 most
    frequent, so rarer characters take the byte fallback), trained once per size with Metaspace
    and then given the normalizer and pre-tokenizer of the style."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    if vocab_size not in _sentencepiece_cache:
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=0, show_progress=False,
                                      special_tokens=SP_SPECIALS + SP_BYTES, limit_alphabet=150)
        tok.train_from_iterator(texts, trainer)
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                           special_tokens=[("<s>", tok.token_to_id("<s>"))])
        spec = json.loads(tok.to_str())
        # In Llama 2's tokenizer.json the byte tokens are vocabulary entries, not added tokens
        # (so "<0x41>" in a text is text).
        spec["added_tokens"] = [t for t in spec["added_tokens"] if t["content"] in SP_SPECIALS]
        _sentencepiece_cache[vocab_size] = spec
    spec = json.loads(json.dumps(_sentencepiece_cache[vocab_size]))
    if style == "llama2":
        spec["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
        spec["pre_tokenizer"] = None
    elif style == "mistral":
        spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                                 "split": False}
    return Tokenizer.from_str(json.dumps(spec))


def train(name, style, vocab_size, normalizer, flagged, texts):
    from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors,
                            trainers)

    if style in SENTENCEPIECE_STYLES:
        return train_sentencepiece_style(style, vocab_size, texts)

    tok = Tokenizer(models.BPE(ignore_merges=(style == "llama3")))
    if normalizer:
        tok.normalizer = getattr(normalizers, normalizer)()
    if style == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    # Deterministic: one pass over the texts in order, no frequency cut, the 256 byte-level
    # characters as the alphabet (ids 0-255, in code point order), added tokens after training
    # so that they take the last ids as in GPT-2 and Llama 3.
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=0, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    if style == "gpt2":
        tok.add_special_tokens([AddedToken(ENDOFTEXT, special=True, normalized=False)])
    else:
        tok.add_special_tokens([AddedToken(BOS, special=True, normalized=False),
                                AddedToken(EOS, special=True, normalized=False)])
        bos = tok.token_to_id(BOS)
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos)])])
    if flagged:
        tok.add_tokens([AddedToken(content, **flags) for content, flags in FLAGGED])
    spec = json.loads(tok.to_str())
    if style == "llama3" and not spec["model"].get("ignore_merges"):
        spec["model"]["ignore_merges"] = True
        tok = Tokenizer.from_str(json.dumps(spec))
    return tok


def legacy_json(spec):
    """The same tokenizer.json with every merge written "a b" (the format before tokenizers
    0.20); byte-level tokens never hold a real space (space is Ġ), so nothing is lost."""
    spec = json.loads(json.dumps(spec))
    merges = spec["model"]["merges"]
    assert all(" " not in a and " " not in b for a, b in merges), "a merge holds a space"
    spec["model"]["merges"] = [f"{a} {b}" for a, b in merges]
    return spec


def tiktoken_ranks(spec):
    """Ranks from a byte-level BPE: the 256 single bytes (in the vocabulary's order), then each
    merge's result in merge order (a result already ranked keeps its first rank). Returns
    (ranks, the tokens whose rank differs from their tokenizer.json id)."""
    byte_of = {c: b for b, c in bytes_to_unicode().items()}
    vocab = spec["model"]["vocab"]
    singles = sorted((c for c in byte_of), key=lambda c: vocab[c])
    ranks = {}
    for c in singles:
        ranks[bytes([byte_of[c]])] = len(ranks)
    for a, b in spec["model"]["merges"]:
        token = bytes(byte_of[c] for c in a + b)
        if token not in ranks:
            ranks[token] = len(ranks)
    char_of = bytes_to_unicode()
    differ = [t for t, r in ranks.items() if vocab.get("".join(char_of[x] for x in t)) != r]
    return ranks, differ


def write_tiktoken(path, ranks):
    with open(path, "w") as f:
        for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(f"{base64.b64encode(token).decode()} {rank}\n")


def load_tiktoken(path, pattern):
    import tiktoken
    ranks = {}
    for line in open(path, "rb"):
        if line.strip():
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(os.path.basename(path), pat_str=tiktoken_patterns()[pattern], mergeable_ranks=ranks,
                             special_tokens={})


def encoder(path, pattern):
    """A function from a list of texts to their ids, as winnow is asked to give them."""
    if path.endswith(".tiktoken"):
        enc = load_tiktoken(path, pattern)
        return lambda texts: enc.encode_ordinary_batch(texts)
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(path)
    return lambda texts: [e.ids for e in tok.encode_batch(texts)]


def chunked(encode, texts, n=500):
    """Yields the ids of each text, encoding n texts at a time (bounded memory)."""
    for k in range(0, len(texts), n):
        yield from encode(texts[k:k + n])


def compare(a, b):
    """(identical count, index of the first difference or None)."""
    same = sum(1 for x, y in zip(a, b) if x == y)
    first = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), None)
    return same, first


def build(out):
    import tiktoken
    import tokenizers
    from tokenizers import Tokenizer

    models_dir = os.path.join(out, "models")
    os.makedirs(models_dir, exist_ok=True)
    t_start = time.monotonic()

    def log(what):
        print(f"  [{time.monotonic() - t_start:5.1f} s] {what}", file=sys.stderr, flush=True)

    edge = read_lines(os.path.join(out, "edge_cases.txt"))
    texts = read_texts(os.path.join(out, "docs.jsonl"))
    result = {"versions": {"tokenizers": tokenizers.__version__, "tiktoken": tiktoken.__version__},
              "models": [], "specs": [], "edge": {}, "docs": {}, "checks": [], "notes": []}
    checks, notes = result["checks"], result["notes"]
    specs_json = {}
    edge_ids = {}
    plain = {}  # spec: digests of each document's ids without a leading BOS, for the notes

    def reference(spec_name, path, pattern, docs, bos=None):
        encode = encoder(path, pattern)
        edge_ids[spec_name] = result["edge"][spec_name] = encode(edge)
        if docs:
            count, sha1, stripped = [], [], []
            for ids in chunked(encode, texts):
                count.append(len(ids))
                sha1.append(ids_digest(ids))
                if bos is not None:
                    stripped.append(ids_digest(ids[1:]) if ids[:1] == [bos] else sha1[-1])
            result["docs"][spec_name] = {"count": count, "sha1": sha1}
            plain[spec_name] = stripped if bos is not None else sha1
        log(f"encoded with {spec_name}")

    for name, style, vocab_size, normalizer, flagged in MODELS:
        tok = train(name, style, vocab_size, normalizer, flagged, texts)
        log(f"trained {name}")
        spec = json.loads(tok.to_str())
        specs_json[name] = spec
        pair_path = os.path.join(models_dir, f"{name}.json")
        legacy_path = os.path.join(models_dir, f"{name}-legacy.json")
        tok.save(pair_path)
        with open(legacy_path, "w", encoding="utf-8") as f:
            json.dump(legacy_json(spec), f, ensure_ascii=False, indent=2)
        size = tok.get_vocab_size(with_added_tokens=True)
        max_id = max(max(spec["model"]["vocab"].values()), max(t["id"] for t in spec["added_tokens"]))
        result["models"].append({"name": name, "style": style, "normalizer": normalizer, "vocab_size": size,
                                 "max_id": max_id, "merges": len(spec["model"]["merges"]),
                                 "added_tokens": [t["content"] for t in spec["added_tokens"]],
                                 "ignore_merges": spec["model"].get("ignore_merges")})
        if vocab_size > 65535:
            checks.append({"name": f"{name}: the trained vocabulary has more than 65,535 ids",
                           "ok": max_id > 65535 and len(spec["model"]["vocab"]) > 65535,
                           "detail": f"{len(spec['model']['vocab'])} tokens, ids up to {max_id}"})
        bos = tok.token_to_id(BOS)
        for suffix, path in (("", pair_path), ("-legacy", legacy_path)):
            # The documents of the SentencePiece styles run through winnow in the pair format only:
            # their pieces are long (no splitting on spaces), and the legacy file's merges are
            # checked on the edge cases (the reference checks that both formats agree everywhere).
            result["specs"].append({"name": name + suffix, "kind": "json", "file": os.path.relpath(path, out),
                                    "pattern": None, "docs": not (suffix and style in SENTENCEPIECE_STYLES)})
            reference(name + suffix, path, None, True, bos)
        same_edge = edge_ids[name] == edge_ids[name + "-legacy"]
        same_docs, _ = compare(result["docs"][name]["sha1"], result["docs"][name + "-legacy"]["sha1"])
        checks.append({"name": f"{name}: the legacy merges (\"a b\") load and give the pair format's ids",
                       "ok": same_edge and same_docs == len(texts)
                       and Tokenizer.from_file(legacy_path).get_vocab_size() == size,
                       "detail": f"edge cases equal: {same_edge}, documents equal: {same_docs}/{len(texts)}"})
        if style in SENTENCEPIECE_STYLES:
            byte_ids = {tok.token_to_id(t) for t in SP_BYTES}
            used = sum(1 for ids in edge_ids[name] if byte_ids.intersection(ids))
            checks.append({"name": f"{name}: the edge cases take the byte fallback, and the byte tokens are "
                           "not added tokens", "ok": used > 0 and len(spec["added_tokens"]) == 3,
                           "detail": f"{used} lines use <0xXX> tokens, {len(spec['added_tokens'])} added tokens"})
        if flagged:
            missing = [c for c, _ in FLAGGED if not any(tok.token_to_id(c) in ids for ids in edge_ids[name])]
            checks.append({"name": f"{name}: the edge cases produce every flagged added token", "ok": not missing,
                           "detail": f"never produced: {missing}"})

    for tname, model, patterns, regexes in TIKTOKEN:
        ranks, differ = tiktoken_ranks(specs_json[model])
        path = os.path.join(models_dir, f"{tname}.tiktoken")
        write_tiktoken(path, ranks)
        checks.append({"name": f"{tname}.tiktoken: ranks (bytes, then merge order) equal {model}'s ids",
                       "ok": not differ, "detail": f"{len(differ)} differ, e.g. {differ[:3]}"})
        result["models"].append({"name": tname, "style": "tiktoken", "from": model, "vocab_size": len(ranks),
                                 "max_id": len(ranks) - 1, "patterns": patterns})
        for k, pattern in enumerate(patterns):
            sname = f"{tname}/{pattern}"
            result["specs"].append({"name": sname, "kind": "tiktoken", "file": os.path.relpath(path, out),
                                    "pattern": pattern, "docs": k == 0})
            reference(sname, path, pattern, k == 0)
        # tiktoken (merges by the rank of the merged bytes, whole pieces first) against tokenizers
        # (merges by pair rank) on the same vocabulary, informative only: lines without
        # added-token text, the BOS dropped.
        hf, tk = model, f"{tname}/{patterns[0]}"
        added = specs_json[model]["added_tokens"]
        bos = [a["id"] for a in added if a["content"] == BOS]
        strip = (lambda ids: ids[1:] if ids[:1] == bos else ids)
        lines = [k for k, t in enumerate(edge) if not any(a["content"] in t for a in added)]
        e_bad = [k for k in lines if strip(edge_ids[hf][k]) != edge_ids[tk][k]]
        d_bad = [k for k, (x, y) in enumerate(zip(plain[hf], plain[tk])) if x != y]
        note = {"name": f"tiktoken {tk} vs tokenizers {model} ({regexes})", "edge_same": len(lines) - len(e_bad),
                "edge_compared": len(lines), "docs_same": len(texts) - len(d_bad), "docs_compared": len(texts),
                "edge_differ": [k + 1 for k in e_bad[:20]], "docs_differ": [k + 1 for k in d_bad[:20]]}
        if e_bad or d_bad:
            k, text = (e_bad[0], edge[e_bad[0]]) if e_bad else (d_bad[0], texts[d_bad[0]])
            a = strip(encoder(os.path.join(models_dir, f"{hf}.json"), None)([text])[0])
            b = encoder(path, patterns[0])([text])[0]
            pos = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            note["first"] = {"where": ("edge line " if e_bad else "document ") + str(k + 1), "at": pos,
                             "text": text[:300], "tokenizers": a[max(0, pos - 3):pos + 5],
                             "tiktoken": b[max(0, pos - 3):pos + 5]}
        notes.append(note)

    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(result, f)


def explain(request):
    path, pattern, text = request["file"], request.get("pattern"), request["text"]
    if path.endswith(".tiktoken"):
        enc = load_tiktoken(path, pattern)
        ref = enc.encode_ordinary(text)
        _, offsets = enc.decode_with_offsets(ref)

        def piece(i):
            try:
                b = enc.decode_single_token_bytes(i)
            except Exception:
                return "<not in the vocabulary>"
            try:
                return b.decode("utf-8")
            except UnicodeDecodeError:
                return repr(b)
    else:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(path)
        encoding = tok.encode(text)
        ref, offsets = encoding.ids, [o[0] for o in encoding.offsets]

        def piece(i):
            t = tok.id_to_token(i) if isinstance(i, int) and i >= 0 else None
            if t is None:
                return "<not in the vocabulary>"
            d = tok.decode([i], skip_special_tokens=False)
            return d if "\ufffd" not in d else t
    return {"ref": ref, "ref_pieces": [piece(i) for i in ref], "ref_offsets": offsets,
            "pieces": [[piece(i) for i in ids] for ids in request["ids"]]}


def main():
    if sys.argv[1] == "build":
        build(sys.argv[2])
    elif sys.argv[1] == "explain":
        json.dump(explain(json.load(sys.stdin)), sys.stdout, ensure_ascii=False)
    else:
        sys.exit(f"unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
