#!/usr/bin/env python3
"""Dump spaCy's English tokenizer rule tables to a JSON data file.

    python3 scripts/dump-spacy-tokenizer.py

Writes (replacing what was there):

    Sources/WinnowText/Resources/spacy-en-tokenizer.json

This is groundwork for a Swift port of spaCy's tokenizer *algorithm*, driven by
spaCy's own English rule tables (what datatrove's filters use via
`spacy.blank("en")`; see /work/shared/TOOLCHAIN.md, "Peers").

How it works:
  1. Creates (or reuses) a throw-away virtualenv at `.venv-spacy/` in the
     repository root (git-ignored by `.venv*/`) and runs `pip install spacy`
     there.  Set SPACY_VERSION=3.x.y to pin a version, SPACY_VENV=/path to use
     another venv directory.
  2. Re-runs itself with the venv's Python (`--dump`), loads `spacy.blank("en")`
     and writes the JSON file.

The JSON holds:
  * spacy_version;
  * prefixes / suffixes / infixes: the raw pattern lists (`nlp.Defaults.*`, in
    spaCy's order, which matters) and the compiled regex sources from
    `spacy.util.compile_{prefix,suffix,infix}_regex(...).pattern`;
  * token_match / url_match: the tokenizer's pattern sources, or null;
  * special_cases: `nlp.tokenizer.rules`, key -> list of ORTH strings only;
  * licence / attribution: spaCy is MIT-licensed; the copyright line comes from
    the installed package's LICENSE file.

Output is deterministic for a given spaCy version: keys are sorted, pattern lists
keep spaCy's order, no timestamps or paths are written.  Re-running with the same
spaCy version gives a byte-identical file.
"""

import json
import os
import subprocess
import sys
import time
import venv

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "Sources", "WinnowText", "Resources", "spacy-en-tokenizer.json")
VENV = os.environ.get("SPACY_VENV", os.path.join(REPO, ".venv-spacy"))


def venv_python():
    return os.path.join(VENV, "bin", "python")


def bootstrap():
    """Create the venv, install spaCy, re-exec this script inside it."""
    py = venv_python()
    if not os.path.exists(py):
        print(f"creating venv {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    spec = "spacy"
    if os.environ.get("SPACY_VERSION"):
        spec = f"spacy=={os.environ['SPACY_VERSION']}"
    print(f"pip install {spec} into {VENV}", flush=True)
    t0 = time.monotonic()
    subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
                   check=True)
    print(f"pip install took {time.monotonic() - t0:.1f} s", flush=True)
    rc = subprocess.run([py, os.path.abspath(__file__), "--dump"]).returncode
    sys.exit(rc)


def licence_info():
    """Find the copyright line(s) in the installed spaCy distribution's LICENSE."""
    from importlib import metadata

    dist = metadata.distribution("spacy")
    texts = []
    for f in dist.files or []:
        name = os.path.basename(str(f)).upper()
        if name.startswith("LICENSE") or name.startswith("LICENCE"):
            try:
                texts.append((str(f), f.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError):
                pass
    texts.sort()
    copyright_lines = []
    for _, text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line.lower().startswith("copyright") and line not in copyright_lines:
                copyright_lines.append(line)
    if not copyright_lines:
        sys.exit("error: no copyright line found in spaCy's LICENSE file")
    is_mit = any("MIT" in t or "Permission is hereby granted, free of charge" in t for _, t in texts)
    if not is_mit:
        sys.exit("error: spaCy's LICENSE file does not look like the MIT licence")
    return copyright_lines


def pattern_of(fn):
    """Regex source behind a bound `re.Pattern` method (e.g. .match), or None."""
    if fn is None:
        return None
    owner = getattr(fn, "__self__", None)
    pat = getattr(owner, "pattern", None)
    if not isinstance(pat, str):
        raise SystemExit(f"error: cannot get a regex pattern from {fn!r}")
    return pat


def dump():
    import spacy
    from spacy import util
    from spacy.symbols import ORTH

    nlp = spacy.blank("en")
    tok = nlp.tokenizer
    d = nlp.Defaults

    prefixes = list(d.prefixes or [])
    suffixes = list(d.suffixes or [])
    infixes = list(d.infixes or [])
    for name, lst in (("prefixes", prefixes), ("suffixes", suffixes), ("infixes", infixes)):
        for p in lst:
            if not isinstance(p, str):
                sys.exit(f"error: non-string entry in {name}: {p!r}")

    prefix_re = util.compile_prefix_regex(prefixes).pattern
    suffix_re = util.compile_suffix_regex(suffixes).pattern
    infix_re = util.compile_infix_regex(infixes).pattern

    # Cross-check against what the live tokenizer actually uses.
    for name, ours, live in (("prefix", prefix_re, pattern_of(tok.prefix_search)),
                             ("suffix", suffix_re, pattern_of(tok.suffix_search)),
                             ("infix", infix_re, pattern_of(tok.infix_finditer))):
        if ours != live:
            sys.exit(f"error: compiled {name} regex differs from nlp.tokenizer's")

    token_match = pattern_of(getattr(tok, "token_match", None))
    url_match = pattern_of(getattr(tok, "url_match", None))

    special_cases = {}
    for key, toks in tok.rules.items():
        orths = []
        for t in toks:
            orth = t.get(ORTH, t.get("ORTH"))
            if not isinstance(orth, str):
                sys.exit(f"error: special case {key!r} has a token without ORTH: {t!r}")
            orths.append(orth)
        if "".join(orths) != key:
            sys.exit(f"error: special case {key!r}: ORTHs {orths!r} do not spell the key")
        special_cases[key] = orths

    from spacy.pipeline.sentencizer import Sentencizer

    copyright_lines = licence_info()
    version = spacy.__version__
    data = {
        "spacy_version": version,
        "language": "en",
        "source": 'spacy.blank("en") tokenizer, dumped by scripts/dump-spacy-tokenizer.py',
        "licence": {
            "spdx": "MIT",
            "copyright": copyright_lines,
            "attribution": (
                f"The rule tables in this file (prefix, suffix and infix patterns, token/URL "
                f"match patterns and the special-case table) are taken from spaCy {version} "
                f"(https://spacy.io, https://github.com/explosion/spaCy), "
                f"{'; '.join(copyright_lines)}, used under the MIT licence."
            ),
        },
        "prefixes": {"patterns": prefixes, "regex": prefix_re},
        "suffixes": {"patterns": suffixes, "regex": suffix_re},
        "infixes": {"patterns": infixes, "regex": infix_re},
        "token_match": token_match,
        "url_match": url_match,
        "special_cases": special_cases,
        # What spaCy's sentencizer ends a sentence after (datatrove counts sentences with it).
        "sentencizer_punct_chars": list(Sentencizer.default_punct_chars),
    }

    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, OUT)

    size = os.path.getsize(OUT)
    print(f"wrote {os.path.relpath(OUT, REPO)}")
    print(f"  spaCy version   {version}")
    print(f"  prefixes        {len(prefixes)} patterns, regex {len(prefix_re)} chars")
    print(f"  suffixes        {len(suffixes)} patterns, regex {len(suffix_re)} chars")
    print(f"  infixes         {len(infixes)} patterns, regex {len(infix_re)} chars")
    print(f"  token_match     {'none' if token_match is None else f'{len(token_match)} chars'}")
    print(f"  url_match       {'none' if url_match is None else f'{len(url_match)} chars'}")
    print(f"  special cases   {len(special_cases)}")
    print(f"  copyright       {' | '.join(copyright_lines)}")
    print(f"  file size       {size} bytes ({size / 1024:.1f} KiB)")
    if size >= 1 << 20:
        print("  WARNING: file is larger than 1 MB")
    # The Swift tables are generated from the JSON with the system Python.
    subprocess.run([sys.executable, os.path.join(REPO, "scripts", "gen-spacy-tables.py")], check=True)


if __name__ == "__main__":
    if "--dump" in sys.argv[1:]:
        dump()
    else:
        bootstrap()
