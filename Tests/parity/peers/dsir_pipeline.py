"""data-selection 1.0.3's HashedNgramDSIR end to end, as a user runs it (make bench, dsir):
fit on all tokens, importance weights, a seeded Gumbel-top-k resample; one process, num_proc=1.

    python dsir_pipeline.py OUT_DIR NUM_TO_SAMPLE SEED TARGET RAW...

Writes the selected documents to OUT_DIR/<i>.jsonl (the reference's layout) and their ids,
in order, to OUT_DIR/ids.txt.
"""
import json
import sys
from pathlib import Path

import numpy as np
from data_selection import HashedNgramDSIR

out = Path(sys.argv[1])
num, seed, target, raw = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
dsir = HashedNgramDSIR(raw, [target], cache_dir=str(out / "cache"), num_proc=1, min_example_length=100)
dsir.fit_importance_estimator(num_tokens_to_fit="all")
dsir.compute_importance_weights()
np.random.seed(seed)
dsir.resample(out_dir=str(out / "selected"), num_to_sample=num, cache_dir=str(out / "sel-cache"), top_k=False)
with open(out / "ids.txt", "w") as f:
    for i in range(len(raw)):
        for line in open(out / "selected" / f"{i}.jsonl"):
            if line.strip():
                f.write(json.loads(line)["id"] + "\n")
