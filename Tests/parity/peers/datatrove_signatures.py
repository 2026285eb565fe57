"""Prints datatrove 0.10.1's MinHash view of each document of a JSONL file: the simplified
text, the number of distinct shingles and the signature (MinhashDedupSignature at its
defaults). Runs in the peer venv.

    python datatrove_signatures.py IN.jsonl OUT.jsonl
"""

import json
import sys
import tempfile

from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
from datatrove.utils.text import simplify_text

step = MinhashDedupSignature(output_folder=tempfile.mkdtemp())
with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in src:
        doc = json.loads(line)
        text = doc["text"]
        shingles = step.get_shingles(text)
        signature = [v for band in step.get_signature(shingles) for v in band] if shingles.size else []
        out.write(json.dumps({
            "id": doc["id"], "shingles": len(set(shingles.reshape(-1).tolist())),
            "signature": signature, "simplified": simplify_text(text),
        }) + "\n")
