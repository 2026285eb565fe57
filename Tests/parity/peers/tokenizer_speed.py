"""Single-thread encoding speed of Hugging Face's tokenizers or tiktoken, for the benchmarks.

    python tokenizer_speed.py --tokenizer tokenizer.json DOCS.jsonl[.zst]
    python tokenizer_speed.py --tokenizer ranks.tiktoken --pattern cl100k DOCS.jsonl[.zst]

Reads the `text` of every document, then times, best of --repeat (3) runs, one call of
`Tokenizer.encode_batch(texts)` (special tokens added, as `winnow tokenize` does) with
RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false, or of tiktoken's
`Encoding.encode_ordinary_batch(texts, num_threads=1)` (the pattern is one of gpt2, r50k, p50k,
cl100k, o200k, tiktoken_ext's regexes). Reading and loading are not timed. Prints one JSON
object: {"seconds": best wall time, "bytes": UTF-8 bytes of the texts, "tokens": ids produced,
"documents", "library", "runs": every run's wall time, "cpu_seconds": the best run's CPU time
(about "seconds" when one thread did the work)}.
"""
import os

# Before tokenizers is imported: its rayon pool reads these once.
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def read_texts(path):
    if path.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
    else:
        data = open(path, "rb").read()
    texts = []
    for line in data.split(b"\n"):
        if line.strip():
            d = json.loads(line)
            if isinstance(d, dict) and isinstance(d.get("text"), str):
                texts.append(d["text"])
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True, help="a tokenizer.json or a .tiktoken rank file")
    ap.add_argument("--pattern", help="for a .tiktoken file: gpt2, r50k, p50k, cl100k or o200k")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("jsonl")
    args = ap.parse_args()
    texts = read_texts(args.jsonl)

    if args.tokenizer.endswith(".tiktoken"):
        import tiktoken
        from tokenizer_reference import load_tiktoken
        if not args.pattern:
            sys.exit("a .tiktoken file needs --pattern")
        enc = load_tiktoken(args.tokenizer, args.pattern)
        library = f"tiktoken {tiktoken.__version__}"

        def encode():
            return enc.encode_ordinary_batch(texts, num_threads=1)
    else:
        import tokenizers
        tok = tokenizers.Tokenizer.from_file(args.tokenizer)
        library = f"tokenizers {tokenizers.__version__}"

        def encode():
            return tok.encode_batch(texts)  # Encoding objects; their ids are counted after the clock stops

    runs, best, tokens = [], None, None
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        ids = encode()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        runs.append(round(wall, 6))
        if best is None or wall < best[0]:
            best = (wall, cpu)
        tokens = sum(len(x) for x in ids)
        del ids
    print(json.dumps({"seconds": round(best[0], 6), "bytes": sum(len(t.encode("utf-8")) for t in texts),
                      "tokens": tokens, "documents": len(texts), "library": library, "runs": runs,
                      "cpu_seconds": round(best[1], 6)}))


if __name__ == "__main__":
    main()
