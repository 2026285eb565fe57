#!/usr/bin/env python3
"""Trains the sample tokenizer Recipes/feed-megatron.yaml uses (Recipes/models/sample-bpe-4k.json):
a GPT-2-style byte-level BPE of 4,096 ids (4,095 learned + <|endoftext|>) on the text of
Samples/web and Samples/quality, with Hugging Face `tokenizers`. It is a demonstration vocabulary,
not a model's: real runs name the model's own tokenizer.json or tiktoken file.

    python3 scripts/make-sample-tokenizer.py   (needs `pip install tokenizers`)
"""
import glob
import json
import os
import subprocess

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def texts():
    for f in sorted(glob.glob(f"{ROOT}/Samples/web/*.jsonl.zst")) + sorted(glob.glob(f"{ROOT}/Samples/quality/*.jsonl.zst")):
        for line in subprocess.run(["zstd", "-dc", f], capture_output=True, check=True).stdout.splitlines():
            try:
                yield json.loads(line)["text"]
            except (ValueError, KeyError):
                pass


tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.post_processor = processors.ByteLevel(trim_offsets=True)
trainer = trainers.BpeTrainer(
    vocab_size=4096, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False)
tok.train_from_iterator(list(texts()), trainer)
tok.save(f"{ROOT}/Recipes/models/sample-bpe-4k.json")
print("wrote Recipes/models/sample-bpe-4k.json")
