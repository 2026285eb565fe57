"""Near-duplicate removal with datasketch's MinHashLSH, the way most scripts use it.

    python datasketch_minhash.py CORPUS.jsonl REMOVED.txt [NUM_PERM] [THRESHOLD]

Run with the peer venv's Python (datasketch, datatrove). Shingles: the set of word 5-grams of
datatrove's simplify_text(text).split() (the ground truth's definition, see
scripts/make-dedup-corpus.py), each hashed by datasketch's default (SHA-1, 32 bits) into a
MinHash(num_perm=NUM_PERM, seed=1); NUM_PERM defaults to 112, the number of hash functions
of datatrove's and Winnow's signatures (14 bands x 8). MinHashLSH(threshold=THRESHOLD, 0.8 by
default) picks its own bands and rows for that threshold. Documents are taken in input order:
one whose query returns an already kept document is removed, otherwise it is inserted (the
first seen wins). Documents without a 5-gram are kept and not inserted.

Writes the removed ids, one per line, and prints the time and the LSH's bands x rows on stderr.
"""

import json
import sys
import time

from datasketch import MinHash, MinHashLSH
from datatrove.utils.text import simplify_text


def main():
    src, dst = sys.argv[1], sys.argv[2]
    num_perm = int(sys.argv[3]) if len(sys.argv) > 3 else 112
    threshold = float(sys.argv[4]) if len(sys.argv) > 4 else 0.8
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    removed = []
    n = 0
    with open(src, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            n += 1
            toks = simplify_text(d["text"]).split()
            sh = {" ".join(toks[i:i + 5]) for i in range(len(toks) - 4)}
            if not sh:
                continue
            m = MinHash(num_perm=num_perm, seed=1)
            m.update_batch([s.encode("utf-8") for s in sorted(sh)])
            if lsh.query(m):
                removed.append(d["id"])
            else:
                lsh.insert(d["id"], m)
    with open(dst, "w", encoding="utf-8") as out:
        out.writelines(x + "\n" for x in removed)
    print(f"datasketch MinHashLSH(threshold={threshold}, num_perm={num_perm}): {lsh.b} bands x {lsh.r} rows; "
          f"{n} documents, {len(removed)} removed in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
