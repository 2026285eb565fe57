#!/usr/bin/env python3
"""Peak memory of every stage command on one huge document.

Builds one JSON Lines document whose text is SIZE bytes of varied, realistic text (the
paragraphs of Samples/, English and other languages, with words swapped at random so that
most long n-grams are new, plus e-mail addresses, IP addresses, numbers and a few very long
lines), then runs `winnow <stage> … DOC -o /dev/null` for every stage under
`/usr/bin/time -v` and prints the peak resident set size, and its ratio to the size of the
JSON line. `cat` is the baseline: reading and writing the line, no stage. Each stage's fixed
cost (the binary, its tables, a model) is measured on a one-line document, and what the huge
document adds is shown as a multiple of it too ("work ×"). minhash_dedup runs only in recipes:
it is measured as a one-stage recipe (inline executor). Builds with a line-length limit
(--max-document-bytes) get a limit above the document's size.

  scripts/measure-stage-memory.py                     # 300 MB, every stage
  scripts/measure-stage-memory.py --size 50M gopher_repetition normalize
  scripts/measure-stage-memory.py --digest            # also hash each stage's output

The document is cached under --work (default /tmp/winnow-memory) by size and seed.
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_size(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgG]?)[bB]?", s)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r} (e.g. 300M, 50M, 2G)")
    unit = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]
    return int(float(m.group(1)) * unit)


def sample_paragraphs():
    """Paragraphs of every sample corpus (several languages), and their words."""
    paragraphs = []
    for sub in ("web", "quality", "dedup"):
        d = os.path.join(ROOT, "Samples", sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".jsonl.zst") or name.startswith("truth"):
                continue
            raw = subprocess.run(["zstd", "-dc", os.path.join(d, name)], check=True, capture_output=True).stdout
            for line in raw.decode("utf-8").splitlines():
                try:
                    text = json.loads(line).get("text")
                except json.JSONDecodeError:
                    continue
                if isinstance(text, str):
                    paragraphs.extend(p for p in re.split(r"\n{2,}", text) if p.strip())
    if not paragraphs:
        sys.exit("no sample text found under Samples/ (run `make samples`)")
    return paragraphs


def make_text(size, seed):
    """About `size` bytes (UTF-8) of varied text."""
    rng = random.Random(seed)
    paragraphs = sample_paragraphs()
    split = [p.split(" ") for p in paragraphs]
    vocabulary = [w for words in split for w in words if w and len(w) < 30]
    parts = []
    total = 0
    serial = 0
    next_long_line = 4 << 20
    while total < size:
        words = list(rng.choice(split))
        # Swap about a quarter of the words, so that long n-grams are mostly new.
        for k in rng.sample(range(len(words)), len(words) // 4):
            words[k] = rng.choice(vocabulary)
        serial += 1
        if serial % 7 == 0:
            words.insert(rng.randrange(len(words) + 1), f"user{serial}@example.com")
        if serial % 11 == 0:
            words.insert(rng.randrange(len(words) + 1), f"8.{serial % 251}.{serial % 241}.{serial % 239 + 1}")
        if serial % 13 == 0:
            words.insert(rng.randrange(len(words) + 1), str(rng.randrange(10**9)))
        paragraph = " ".join(words)
        if total >= next_long_line:
            # A line of about 1 MB: sentences without a line break, and one very long token.
            sentences = []
            length = 0
            while length < 1 << 20:
                s = " ".join(rng.choice(vocabulary) for _ in range(12)) + "."
                sentences.append(s)
                length += len(s) + 1
            sentences.append("x" * 65536)
            paragraph = " ".join(sentences)
            next_long_line += 32 << 20
        piece = paragraph + ("\n\n" if serial % 3 else "\n")
        parts.append(piece)
        total += len(piece.encode("utf-8"))
    return "".join(parts)


def make_document(size, seed, work):
    path = os.path.join(work, f"doc-{size}-{seed}.jsonl")
    if os.path.exists(path):
        return path
    t0 = time.time()
    text = make_text(size, seed)
    doc = {"id": "huge-1", "url": "https://www.example.org/huge", "lang": "en", "text": text}
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, ensure_ascii=False))
        f.write("\n")
    os.replace(tmp, path)
    print(f"# made {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {time.time() - t0:.0f} s", file=sys.stderr)
    return path


def side_files(work):
    """Minimal valid inputs for the stages that need files."""
    evals = os.path.join(work, "eval.jsonl")
    if not os.path.exists(evals):
        with open(evals, "w") as f:
            f.write(json.dumps({"text": "the quick brown fox jumps over the lazy dog again and again until night falls"}) + "\n")
    return {"eval": evals}


def stage_commands(winnow, files):
    """CLI name → arguments, for every stage; minimal valid parameters where some are needed."""
    model = os.path.join(ROOT, "Recipes", "models", "quality-demo.ftz")
    return {
        "cat": ["cat"],
        "length": ["length", "--min-words", "1"],
        "field": ["field", "--key", "lang", "--equals", "en"],
        "sample": ["sample", "--rate", "1.0"],
        "gopher_repetition": ["gopher-repetition"],
        "gopher_quality": ["gopher-quality"],
        # Without the word limit (which drops a long document before tokenizing it).
        "gopher_quality_all_words": ["gopher-quality", "--max-doc-words", "0"],
        "c4_quality": ["c4-quality"],
        # Without the rules that drop a document at its first bad line: every line is checked.
        "c4_quality_all_lines": ["c4-quality", "--filter-curly-bracket", "false", "--filter-lorem-ipsum", "false"],
        "c4_paragraph": ["c4-paragraph"],
        "fineweb_quality": ["fineweb-quality"],
        "wordlist": ["wordlist"],
        "url_blocklist": ["url-blocklist", "--domains", "blocked.example.com"],
        "normalize": ["normalize"],
        "normalize_nfkc_lowercase": ["normalize", "--form", "nfkc", "--lowercase-field", "text_lower"],
        "pii_redact": ["pii-redact"],
        "pii_redact_phones": ["pii-redact", "--phones", "true"],
        "fasttext_score": ["fasttext-score", "--model", model],
        "fasttext_filter": ["fasttext-filter", "--model", model, "--label", "hq", "--threshold", "0.0"],
        "language": ["language"],
        "exact_dedup": ["exact-dedup"],
        "exact_dedup_normalize": ["exact-dedup", "--normalize", "true"],
        # minhash_dedup runs only in recipes (see below); `winnow minhash` prints signatures
        # (and counts distinct shingles, as the exact check keeps them).
        "minhash_dedup": ["recipe", "{}"],
        "minhash_dedup_exact": ["recipe", "{exact_check: true}"],
        "minhash_dedup_char": ["recipe", "{unit: char}"],
        "minhash": ["minhash", "--no-text"],
        "bloom_dedup": ["bloom-dedup"],
        "decontaminate": ["decontaminate", "--eval-sets", files["eval"]],
        "decontaminate_char": ["decontaminate", "--eval-sets", files["eval"], "--unit", "char"],
    }


def peak_rss(cmd, output):
    """(peak RSS in bytes, seconds, exit status) of `cmd` writing its documents to `output`.
    `winnow minhash` has no -o: its lines go to standard output."""
    takes_output = cmd[1] not in ("minhash", "run")
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t, open(output, "wb") as sink:
        t0 = time.time()
        run = subprocess.run(
            ["/usr/bin/time", "-v", "-o", t.name] + cmd + (["-o", output] if takes_output else []),
            stdout=subprocess.DEVNULL if takes_output else sink, stderr=subprocess.PIPE)
        seconds = time.time() - t0
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t.read())
    if run.returncode != 0:
        sys.stderr.write(run.stderr.decode("utf-8", "replace")[-2000:])
    return (int(m.group(1)) * 1024 if m else 0), seconds, run.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stages", nargs="*", help="stage names (default: all, cat first)")
    ap.add_argument("--size", type=parse_size, default=parse_size("300M"), help="text size (default 300M)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--winnow", default=os.path.join(ROOT, ".build", "release", "winnow"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "winnow-memory"))
    ap.add_argument("--digest", action="store_true", help="write each output to a file and print its SHA-256")
    args = ap.parse_args()

    os.makedirs(args.work, exist_ok=True)
    if not os.access(args.winnow, os.X_OK):
        sys.exit(f"{args.winnow}: not built (swift build -c release)")
    doc = make_document(args.size, args.seed, args.work)
    doc_bytes = os.path.getsize(doc)
    commands = stage_commands(args.winnow, side_files(args.work))

    listed = subprocess.run([args.winnow, "stages"], check=True, capture_output=True, text=True).stdout
    known = set(re.findall(r"^(\w+)  \(command:", listed, re.M))
    missing = known - set(commands)
    if missing:
        print(f"# not measured (no command line here): {', '.join(sorted(missing))}", file=sys.stderr)

    # The same commands on a one-line document give each stage's fixed cost (the binary, its
    # tables, a model): what the huge document adds to it is its working memory.
    tiny = os.path.join(args.work, "tiny.jsonl")
    with open(tiny, "w") as f:
        f.write(json.dumps({"id": "tiny", "url": "https://www.example.org/", "lang": "en",
                            "text": "A short text.\nIt has two lines."}) + "\n")

    # Builds with a line-length limit would quarantine the document unread: raise it.
    # minhash_dedup runs as what it is, a recipe stage (one inline process: its map phase
    # computes the signatures, and with the exact check keeps the shingles).
    limit = doc_bytes + (1 << 20)
    has_limit = "--max-document-bytes" in subprocess.run(
        [args.winnow, "cat", "--help"], capture_output=True, text=True).stdout
    for name, cmd in list(commands.items()):
        if cmd[0] == "recipe":
            recipe = os.path.join(args.work, f"recipe-{name}-{os.getpid()}.yaml")
            with open(recipe, "w") as f:
                f.write(f"name: memory-{name.replace('_', '-')}\n"
                        f"input:\n  paths: [{json.dumps(doc)}]\n"
                        + (f"  max_document_bytes: {limit}\n" if has_limit else "")
                        + f"output:\n  path: {json.dumps(os.path.join(args.work, f'out-{name}-{os.getpid()}'))}\n"
                        f"stages:\n  - minhash_dedup: {cmd[1]}\n")
            commands[name] = ["run", recipe, "--executor", "inline", "--fresh", "--no-progress"]
            continue
        helptext = subprocess.run([args.winnow, cmd[0], "--help"], capture_output=True, text=True).stdout
        if "--max-document-bytes" in helptext:
            cmd += ["--max-document-bytes", str(limit)]

    names = args.stages or list(commands)
    print(f"# document: {doc_bytes / 1e6:.1f} MB JSON line; winnow: {args.winnow}")
    print(f"# × doc: peak / document; work ×: (peak − peak on a one-line document) / document")
    print(f"{'stage':<24} {'peak MB':>9} {'× doc':>7} {'work ×':>7} {'seconds':>8}  {'exit':>4}  output")
    for name in names:
        if name not in commands:
            sys.exit(f"unknown stage {name!r}; one of: {', '.join(commands)}")
        if commands[name][0] == "run":
            # The recipe names the document; its fixed cost is measured on the tiny one.
            tiny_cmd = [args.winnow] + commands[name]
            with open(commands[name][1]) as f:
                recipe_text = f.read()
            with open(commands[name][1] + ".tiny.yaml", "w") as f:
                f.write(recipe_text.replace(json.dumps(doc), json.dumps(tiny)).replace(f"out-{name}-", f"out-tiny-{name}-"))
            tiny_cmd[2] = commands[name][1] + ".tiny.yaml"
            fixed, _, _ = peak_rss(tiny_cmd, os.devnull)
            cmd = [args.winnow] + commands[name]
        else:
            fixed, _, _ = peak_rss([args.winnow] + commands[name] + [tiny], os.devnull)
            cmd = [args.winnow] + commands[name] + [doc]
        output = os.path.join(args.work, f"out-{name}-{os.getpid()}.jsonl") if args.digest else os.devnull
        rss, seconds, rc = peak_rss(cmd, output)
        note = ""
        if cmd[1] == "run":
            for d in (f"out-{name}-{os.getpid()}", f"out-tiny-{name}-{os.getpid()}"):
                shutil.rmtree(os.path.join(args.work, d), ignore_errors=True)
        if args.digest and cmd[1] == "run":
            note = "(recipe: its summary, not hashed)"
            os.remove(output)
        elif args.digest:
            with open(output, "rb") as f:
                h = hashlib.sha256()
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            note = f"{os.path.getsize(output)} bytes sha256:{h.hexdigest()[:16]}"
            os.remove(output)
        print(f"{name:<24} {rss / 1e6:9.0f} {rss / doc_bytes:7.2f} {(rss - fixed) / doc_bytes:7.2f} {seconds:8.1f}  {rc:>4}  {note}",
              flush=True)


if __name__ == "__main__":
    main()
