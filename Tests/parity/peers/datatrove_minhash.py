"""Runs datatrove's four MinHash deduplication stages on JSONL files and lists what they remove.

    python datatrove_minhash.py INPUT_DIR GLOB WORK_DIR [TASKS]

Run with the peer venv's Python (datatrove, spaCy, xxhash). Reads INPUT_DIR/GLOB (JSON Lines,
`text` and `id`), and runs, each as a LocalPipelineExecutor on one core, with datatrove's
defaults everywhere (MinhashConfig(): word 5-grams of simplify_text + spaCy's English word
tokenizer, 14 buckets x 8 hashes, seed 1, 64-bit xxhash):

    1. JsonlReader -> MinhashDedupSignature      tasks=TASKS, workers=1
    2. MinhashDedupBuckets                       tasks=14, workers=1 (it needs one task per bucket)
    3. MinhashDedupCluster                       tasks=1
    4. JsonlReader -> MinhashDedupFilter(exclusion_writer=JsonlWriter) -> JsonlWriter
                                                 tasks=TASKS, workers=1

TASKS defaults to 1. With TASKS equal to the number of input files, task k reads the k-th file
in name order (datatrove's reader takes files rank, rank + TASKS, ...), so the file ids in
datatrove's pairs are the files' places in name order.

Writes WORK_DIR/kept/NNNNN.jsonl (the documents kept, one file per task) and
WORK_DIR/removed/NNNNN.jsonl (the documents removed), and prints the time of each stage and the
counts on stderr. Documents with empty text are skipped by datatrove's reader: they are in
neither file.
"""

import glob as globbing
import os
import sys
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                              MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.logging import logger


def main():
    src, glob, work = sys.argv[1:4]
    tasks = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    logger.remove()
    config = MinhashConfig()

    def reader():
        return JsonlReader(src, glob_pattern=glob, compression=None)

    stages = [
        ("signatures", [reader(), MinhashDedupSignature(output_folder=f"{work}/signatures", config=config)], tasks),
        ("buckets", [MinhashDedupBuckets(input_folder=f"{work}/signatures", output_folder=f"{work}/buckets",
                                         config=config)], config.num_buckets),
        ("clusters", [MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids",
                                          config=config)], 1),
        ("filter", [reader(),
                    MinhashDedupFilter(input_folder=f"{work}/remove_ids",
                                       exclusion_writer=JsonlWriter(f"{work}/removed", compression=None)),
                    JsonlWriter(f"{work}/kept", compression=None)], tasks),
    ]
    times = []
    for name, pipeline, tasks in stages:
        t0 = time.perf_counter()
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=f"{work}/logs/{name}").run()
        times.append(f"{name} {time.perf_counter() - t0:.1f} s")
    counts = []
    for part in ("kept", "removed"):
        n = 0
        for path in globbing.glob(os.path.join(work, part, "*.jsonl")):
            with open(path, "rb") as f:
                n += sum(1 for _ in f)
        counts.append(f"{part} {n}")
    print(f"datatrove minhash: {', '.join(counts)}; {', '.join(times)}", file=sys.stderr)


if __name__ == "__main__":
    main()
