"""The Python peers that parity tests and benchmarks compare Winnow with.

    from peers import peer_python
    py = peer_python()          # path to a venv's python with the peers installed

The venv lives at `.venv-peers/` in the repository (git-ignored) or at
$WINNOW_PEER_VENV. It is created on first use and reused after; the versions
are pinned so that results do not move under us. Installing takes about a
minute and needs PyPI.
"""

import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.environ.get("WINNOW_PEER_VENV", os.path.join(ROOT, ".venv-peers"))

# datatrove's quality filters tokenise with spaCy, and its text utilities import regex;
# neither is a declared dependency of datatrove. Its JSONL reader (for make bench) needs orjson,
# its MinHash stages xxhash (3.x: xxhash 4 no longer hashes str, which datatrove passes), and
# their package (datatrove.pipeline.dedup) imports Hugging Face's tokenizers. datasketch is the
# second MinHash peer (minhash_parity.py).
PACKAGES = ["datatrove==0.10.1", "spacy==3.8.18", "regex", "orjson", "xxhash==3.6.0", "tokenizers",
            "datasketch==2.0.0"]


# DSIR's reference (dsir_parity.py, make bench) in a venv of its own: data-selection pins
# nothing, and parity depends on numpy's legacy random stream and on nltk's tokenizer. nltk
# 3.9.1 splits words with Python's `re` (\w = alnum or _), as DSIR's paper-era nltk did;
# nltk 3.10 moved to the `regex` module, whose \w also takes combining marks and join
# controls but not ² or ½ (README, "DSIR").
DSIR_PACKAGES = ["data-selection==1.0.3", "numpy==2.4.6", "nltk==3.9.1", "tqdm"]
DSIR_VENV = os.environ.get("WINNOW_DSIR_VENV", os.path.join(ROOT, ".venv-dsir"))


def dsir_python():
    return peer_python(DSIR_PACKAGES, DSIR_VENV)


# The tokenizer parity harness (tokenizer_parity.py) and its speed peer in a venv of their own:
# Hugging Face's tokenizers trains and encodes the tokenizer.json models, tiktoken the rank files.
TOKENIZER_PACKAGES = ["tokenizers==0.23.3", "tiktoken==0.14.0"]
TOKENIZER_VENV = os.environ.get("WINNOW_TOKENIZER_VENV", os.path.join(ROOT, ".venv-tokenizers"))


def tokenizer_python():
    return peer_python(TOKENIZER_PACKAGES, TOKENIZER_VENV)


def rerun_in_venv(python, marker, script):
    """Runs `script` again, with its arguments, under `python()` (a peer venv's interpreter,
    made on first use), unless the environment variable `marker` says it already is: for the
    scripts that import the peers themselves. Returns only in the venv's interpreter."""
    if os.environ.get(marker) == "1":
        return
    py = python()
    os.execve(py, [py, os.path.abspath(script), *sys.argv[1:]], dict(os.environ, **{marker: "1"}))


def peer_python(packages=PACKAGES, venv_dir=None):
    VENV = venv_dir or globals()["VENV"]
    py = os.path.join(VENV, "bin", "python")
    stamp = os.path.join(VENV, "winnow-peers.txt")
    wanted = "\n".join(sorted(packages)) + "\n"
    if os.path.exists(py) and os.path.exists(stamp) and open(stamp).read() == wanted:
        return py
    if not os.path.exists(py):
        print(f"creating peer venv {VENV}", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"pip install {' '.join(packages)}", file=sys.stderr, flush=True)
    subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages], check=True)
    with open(stamp, "w") as f:
        f.write(wanted)
    return py


# The mixing references (mixing_parity.py): RegMix's regression is LightGBM's; the DoReMi and
# QQT ports and RegMix's proposal procedure need numpy alone.
MIXING_PACKAGES = ["numpy==2.4.6", "lightgbm==4.7.0"]
MIXING_VENV = os.environ.get("WINNOW_MIXING_VENV", os.path.join(ROOT, ".venv-mixing"))


def mixing_python():
    return peer_python(MIXING_PACKAGES, MIXING_VENV)


# megatron-core's IndexedDatasetBuilder / IndexedDataset (peers/megatron_reference.py) in a venv
# of its own. megatron-core needs Python >= 3.12 and torch to import, but the one file that
# writes and reads .bin/.idx needs numpy only: megatron_reference.py keeps the megatron-core
# wheel under this venv (wheel/) and loads that file with its other imports stubbed.
MEGATRON_PACKAGES = ["numpy==2.4.6"]
MEGATRON_VENV = os.environ.get("WINNOW_MEGATRON_VENV", os.path.join(ROOT, ".venv-megatron"))


def megatron_python():
    return peer_python(MEGATRON_PACKAGES, MEGATRON_VENV)


# The clustering and selection references (cluster_parity.py, make bench): scikit-learn's KMeans
# (Lloyd) and numpy ports of SemDeDup and Quad; faiss-cpu is the second k-means peer of make
# bench only.
SELECT_PACKAGES = ["numpy==2.4.6", "scikit-learn==1.9.1"]
SELECT_VENV = os.environ.get("WINNOW_SELECT_VENV", os.path.join(ROOT, ".venv-select"))


def select_python():
    return peer_python(SELECT_PACKAGES, SELECT_VENV)


# The Parquet reader's references (parquet_parity.py): pyarrow writes the test files and reads
# every one back (the rows Winnow must print); DuckDB writes a second writer's files.
PARQUET_PACKAGES = ["pyarrow==26.0.1", "duckdb==2.0.1"]
PARQUET_VENV = os.environ.get("WINNOW_PARQUET_VENV", os.path.join(ROOT, ".venv-parquet"))


def parquet_python():
    return peer_python(PARQUET_PACKAGES, PARQUET_VENV)

