# Winnow — the README's commands. Every target installs what it is missing first.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift
DEBUG_BIN := .build/debug/winnow
RELEASE_BIN := .build-static/release/winnow

.PHONY: deps build release run test test-swift test-parity bench docs fuzz samples lid-model clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# Release builds: the libraries (libWinnowFeedC.so for the Python package) and `winnow` in
# .build/release/, and a `winnow` with the Swift runtime linked in statically in
# .build-static/release/ (its own scratch path: switching the flag in one would rebuild
# everything). The static one starts each worker process in less CPU (no relocation of the
# shared Swift libraries: a task with no work takes 15 ms instead of 18-20), which a run of
# many short tasks pays per task (benchmark scaling, one worker: 7.8-8.6 s instead of
# 8.6-9.0 s), and runs on machines without the Swift toolchain (Slurm nodes); Debian's libc, libstdc++, ICU, zstd, xxhash and
# SQLite stay shared. `make bench` measures it.
# The static one is also compiled to reach generic types through their metadata accessors, not
# by mangled name: the runtime resolves a mangled name by scanning every protocol conformance
# in the binary once per new generic type (some 36 of them when `winnow run` starts), so a
# one-document run took 67 M instructions instead of 58 M (1.2 ms more CPU per task).
STATIC_FLAGS := -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors
release: deps
	$(SWIFT) build -c release
	$(SWIFT) build -c release --product winnow --static-swift-stdlib --scratch-path .build-static $(STATIC_FLAGS)

# The main job on the bundled samples.
run: build
	$(DEBUG_BIN) run Recipes/quickstart.yaml
	$(DEBUG_BIN) report out/quickstart
	$(DEBUG_BIN) run Recipes/feed-megatron.yaml

# Unit tests (Swift Testing); end-to-end checks of the CLI and the runner against Python's
# json; data safety (overlapping paths, lost and stale files, resume, signals, hostile files); recipes
# with several global stages (== the chain of one-global recipes; every executor; kill -9 at every pass); parity with datatrove (quality filters, spaCy's word splitting token for token, PII formatter, MinHash signatures, and near-
# duplicate removal scored against ground truth beside datatrove and datasketch; DSIR against data-selection;
# MetaCLIP balancing against a port of its balancing.py with the same draws; tokenizers against
# Hugging Face tokenizers and tiktoken (models trained locally); token exports against megatron-core's
# own builder and reader; the mixture stream's Python package, installed as a user installs it; the selection recipe through
# every executor and kill -9 at each selection pass (select_checks.py --quick); Parquet read and written
# against pyarrow and DuckDB (parquet_parity.py); fastText
# predictions, training and quantization against the C++ fastText CLI (Debian package); peers pinned in a throw-away venv,
# Tests/parity/peers.py); then the Slurm executor on a throw-away single-node cluster (started and always stopped;
# MaxArraySize 4 so that arrays of 5 and more tasks are split); last, a package that depends on
# this commit by version (tagged 0.1.0 in a bare clone) builds and runs a stage of its own; and the
# public API's doc comments (scripts/check-api-docs.py). The parity checks run in two lanes side by
# side (Tests/parity/run_lanes.py; the scripts that share the peers' venv in one lane), each
# script's output printed whole when it ends.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	python3 Tests/parity/run_all.py --winnow $(DEBUG_BIN)
	python3 Tests/parity/safety_checks.py --winnow $(DEBUG_BIN)
	python3 Tests/parity/run_lanes.py \
	  --lane "python3 Tests/parity/quality_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/spacy_words_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/pii_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/minhash_signatures.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/minhash_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/dsir_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/balance_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/feed_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/mixing_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/cluster_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/parquet_parity.py --winnow $(DEBUG_BIN)" \
	  --lane "python3 Tests/parity/phase_checks.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/fasttext_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/fasttext_vectors_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/bandit_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/select_checks.py --winnow $(DEBUG_BIN) --quick" \
	         "python3 Tests/parity/tokenizer_parity.py --winnow $(DEBUG_BIN)" \
	         "python3 Tests/parity/python_package_checks.py --winnow $(DEBUG_BIN)"
	SLURM_LOCAL_MAX_ARRAY_SIZE=4 scripts/slurm/with-local-slurm.sh python3 Tests/parity/slurm_checks.py --winnow $(DEBUG_BIN)
	scripts/check-versioned-dependency.sh
	scripts/api-docs.sh

# Release builds side by side with the peers; prints ratios.
bench: release
	python3 Benchmarks/run_all.py --winnow $(RELEASE_BIN)

# The public API's documentation: doc comments checked, one DocC archive per library module
# under .build/docs/ (docc ships with the toolchain).
docs: deps
	scripts/api-docs.sh --html

# libFuzzer on the parsers of untrusted bytes (JSON lines, recipes, fastText models, run files):
# FUZZ_SECONDS each (default 180), seeds in Fuzz/corpus/; not part of `make test`.
fuzz: deps
	scripts/fuzz.sh

samples:
	python3 scripts/make-samples.py

# Rebuilds the built-in language-ID model from Debian documentation (about 6 minutes).
lid-model: release
	scripts/build-lid-model.sh

clean:
	rm -rf .build .build-fuzz .build-static out bench-data
