"""datatrove's stages 2 and 3 on signatures written by hand: which document it keeps when the
unions of one band's groups come in one order or the other.

    python datatrove_union_order.py

Run with the peer venv's Python. Five documents of one file, 2 buckets of 2 hashes:

    document       0          1        2         3         4
    bucket 0    (100, 1)    (7, 7)   (5, 5)    (5, 5)    (7, 7)     2-3 and 1-4 pair: two sets of two
    bucket 1       w           w     (200, 1)     u         u       3-4 and 0-1 pair

u and w differ in their second value only. MinhashDedupBuckets pairs equal signatures in the
order of their values, MinhashDedupCluster unions the pairs in file order by size (on a tie the
first document's root stays) and keeps the roots. u before w: 3-4 joins the two sets of two
(root 2), then 0 joins: 2 is kept. w before u: 0 joins 1's set first, which then outweighs 2's:
1 is kept. Winnow's `MinHashKeepDatatroveTests.groupOrderWithinABand` expects the same.
Prints "kept A with u < w, B with w < u" on stderr.
"""

import os
import struct
import sys
import tempfile

from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster
from datatrove.utils.logging import logger


def kept(work, u, w):
    config = MinhashConfig(num_buckets=2, hashes_per_bucket=2)
    buckets = [
        {0: (100, 1), 1: (7, 7), 2: (5, 5), 3: (5, 5), 4: (7, 7)},
        {0: w, 1: w, 2: (200, 1), 3: u, 4: u},
    ]
    for b, sigs in enumerate(buckets):
        os.makedirs(f"{work}/sigs/bucket_{b:03d}")
        # Stage 1's layout: each record the bucket's hashes and the document, sorted.
        with open(f"{work}/sigs/bucket_{b:03d}/00000.minhash.sig", "wb") as f:
            for values in sorted(sig + (doc,) for doc, sig in sigs.items()):
                f.write(struct.pack("<2QI", *values))
    for b in range(config.num_buckets):
        MinhashDedupBuckets(input_folder=f"{work}/sigs", output_folder=f"{work}/dups", config=config).run(
            rank=b, world_size=config.num_buckets)
    MinhashDedupCluster(input_folder=f"{work}/dups", output_folder=f"{work}/remove", config=config).run()
    with open(f"{work}/remove/000000.remove", "rb") as f:
        removed = {x for (x,) in struct.iter_unpack("<I", f.read())}
    return sorted(set(range(5)) - removed)


def main():
    logger.remove()
    # tqdm's progress bars of stage 3 go to stderr: the result is the last line.
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        first = kept(a, u=(9, 3), w=(9, 8))
        second = kept(b, u=(9, 8), w=(9, 3))
    print(f"\nkept {','.join(map(str, first))} with u < w, {','.join(map(str, second))} with w < u", file=sys.stderr)


if __name__ == "__main__":
    main()
