"""data-selection 1.0.3's HashedNgramDSIR on given files; prints what dsir_parity.py compares.

    python dsir_reference.py SPEC.json > result.json

SPEC: {"raw": [paths], "targets": [paths], "separate_targets": bool, "min_example_length": N,
       "cache": dir, "selections": [{"num_to_sample": K, "top_k": bool, "seed": S}],
       "words": [strings to hash]}
Runs with num_proc=1 and fits on all tokens, so the reference is deterministic.
"""
import json
import sys
from pathlib import Path

import numpy as np
from data_selection import HashedNgramDSIR
from data_selection.hashed_ngram_dsir import get_ngram_counts, hash_buckets

spec = json.load(open(sys.argv[1]))
cache = Path(spec["cache"])
dsir = HashedNgramDSIR(spec["raw"], spec["targets"], cache_dir=str(cache / "cache"), num_proc=1,
                       min_example_length=spec["min_example_length"], separate_targets=spec["separate_targets"])
dsir.fit_importance_estimator(num_tokens_to_fit="all")
dsir.compute_importance_weights()

# The raw and target counts before normalisation (what the fit sums), for exact comparison.
raw_counts = dsir._fit_bow(dsir.raw_datasets)
target_counts = [dsir._fit_bow([t]) for t in dsir.target_datasets]

weights = np.concatenate([np.load(cache / "cache" / "log_importance_weights" / f"{i}.npy") for i in range(len(spec["raw"]))])
lengths = np.concatenate([np.load(cache / "cache" / "perexample_metadata" / f"{i}.npy") for i in range(len(spec["raw"]))])

selections = []
for k, sel in enumerate(spec["selections"]):
    out = cache / f"selected-{k}"
    np.random.seed(sel["seed"])
    dsir.resample(out_dir=str(out), num_to_sample=sel["num_to_sample"], cache_dir=str(cache / f"sel-cache-{k}"),
                  top_k=sel["top_k"])
    ids = []
    for i in range(len(spec["raw"])):
        for line in open(out / f"{i}.jsonl"):
            if line.strip():
                ids.append(json.loads(line)["id"])
    selections.append(ids)

json.dump({
    "raw_counts": [int(x) for x in raw_counts],
    "target_counts": [[int(x) for x in row] for row in target_counts],
    "raw_probs": dsir.raw_probs.tolist(),
    "target_probs": np.atleast_2d(dsir.target_probs).tolist(),
    "log_diff": np.atleast_2d(dsir.log_diff).tolist(),
    "target_proportions": None if dsir.target_proportions is None else np.asarray(dsir.target_proportions).tolist(),
    "weights": np.atleast_2d(weights.T).T.tolist() if weights.ndim == 2 else weights.tolist(),
    "lengths": lengths.tolist(),
    "selections": selections,
    "word_buckets": [hash_buckets(w) for w in spec["words"]],
    "word_features": [[[int(b), int(c[b])] for b in np.nonzero(c)[0]] for c in (get_ngram_counts(w) for w in spec["words"])],
}, sys.stdout)
