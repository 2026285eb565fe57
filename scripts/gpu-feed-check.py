#!/usr/bin/env python3
"""Trains a small GPT on a GPU from Winnow's mixture stream and reports tokens/s with the stream
and with data already on the GPU, so that the cost of data loading shows (it must stay under 5 %
of step time). Needs torch with CUDA and the winnow_feed package (make release; pip install
./python). Not part of make test: CI has no GPU.

    winnow run Recipes/feed-megatron.yaml            # the exported sample: out/feed-megatron/data
    python3 scripts/gpu-feed-check.py out/feed-megatron/data [--steps 300] [--layers 6 --width 384]
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

import winnow_feed


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab, seq_len, layers, width, heads):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(seq_len, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.register_buffer("mask", torch.triu(torch.full((seq_len, seq_len), float("-inf")), 1))

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for b in self.blocks:
            x = b(x, self.mask[:t, :t])
        return self.head(self.ln(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", help="a Megatron dataset prefix exported by winnow run")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--width", type=int, default=384)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = True
    model = torch.compile(GPT(args.vocab, args.seq_len, args.layers, args.width, max(1, args.width // 64)).to(dev))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)

    def step(batch):
        batch = batch.to(dev, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(batch[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def timed(batches, label):
        for _ in range(20):  # warm-up and compilation
            step(next(batches))
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            loss = step(next(batches))
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        rate = args.steps * args.batch * args.seq_len / dt
        print(f"{label}: {rate / 1e6:.3f} M tokens/s, {1000 * dt / args.steps:.1f} ms/step, loss {loss.item():.3f}")
        return rate

    ds = winnow_feed.torch_dataset([(args.dataset, 1.0)], seq_len=args.seq_len, seed=1)
    loader = iter(DataLoader(ds, batch_size=args.batch, num_workers=args.workers, pin_memory=True))
    with_stream = timed(loader, "mixture stream (DataLoader)")
    fixed = torch.randint(0, args.vocab, (args.batch, args.seq_len + 1), device=dev)

    def same():
        while True:
            yield fixed

    on_gpu = timed(same(), "data already on the GPU")
    cost = 1 - with_stream / on_gpu
    print(f"data loading costs {100 * cost:.1f} % of step time (target < 5 %): {'OK' if cost < 0.05 else 'TOO SLOW'}")
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {params / 1e6:.1f} M parameters, {args.layers} layers, width {args.width}; "
          f"{math.ceil(args.steps * args.batch * args.seq_len / 1e6)} M tokens per measurement")


if __name__ == "__main__":
    main()
