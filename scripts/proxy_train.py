#!/usr/bin/env python3
"""A PyTorch proxy run for `winnow mixture run --command`: a small GPT trained on one mixture of
prepared domains (`winnow mixture prepare`), read through the winnow_feed package's mixture
stream, and each domain's held-out loss written as `winnow mixture run` expects it.

    winnow mixture run --mixtures proposals.csv --prepared prep -o runs --gpus-per-run 1 \
      --command '["python3", "scripts/proxy_train.py", "--prepared", "{prepared}",
                  "--mixture", "{mixture}", "--out", "{out}", "--seed", "{seed}"]'

    python3 scripts/proxy_train.py --prepared prep --mixture m.json --out losses.json --steps 3 --device cpu

The model is RegMix's idea of a proxy (a tiny decoder, trained briefly at a constant learning
rate): `--layers` blocks of causal self-attention and an MLP, `--dim` wide, learned positions,
tied input and output embeddings. Each step reads `--batch` samples of `--seq-len` + 1 tokens
from the mixture (Megatron's blending rule over the domains' prepared training files); the
held-out loss of a domain is the mean next-token cross-entropy over up to `--eval-windows`
windows of its held-out file. Needs torch and numpy, and the winnow_feed package (`pip install
./python` after `make release`, or WINNOW_FEED_LIBRARY pointing at libWinnowFeedC.so).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))


def read_mixture(path):
    """{domain: weight} from `winnow mixture run`'s mixture.json or `domain: weight` lines."""
    text = open(path, encoding="utf-8").read()
    if text.lstrip().startswith("{"):
        doc = json.loads(text)
        if "domains" in doc:
            return dict(zip(doc["domains"], doc["weights"]))
        return {k: float(v) for k, v in doc.items()}
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        if ":" in line and line[:1].isspace() is False and not line.rstrip().endswith(":"):
            k, v = line.split(":", 1)
            out[k.strip()] = float(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prepared", required=True)
    ap.add_argument("--mixture", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--eval-windows", type=int, default=256)
    ap.add_argument("--device", default="auto", help="cuda, cpu or auto")
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from winnow_feed import WinnowMixture

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    torch.manual_seed(args.seed)
    prepared = json.load(open(os.path.join(args.prepared, "prepared.json")))
    weights = read_mixture(args.mixture)
    unknown = set(weights) - {d["name"] for d in prepared["domains"]}
    if unknown:
        sys.exit(f"proxy_train: {args.mixture}: domains not in {args.prepared}: {sorted(unknown)}")
    chosen = [(os.path.join(args.prepared, d["train_file"][:-4]), weights.get(d["name"], 0.0))
              for d in prepared["domains"] if weights.get(d["name"], 0.0) > 0 and d["train_tokens"] > 0]
    if not chosen:
        sys.exit(f"proxy_train: {args.mixture}: no domain with a positive weight and training tokens")
    mixture = WinnowMixture(chosen, seq_len=args.seq_len, seed=args.seed)
    vocab = prepared["vocabulary_size"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(args.dim), nn.LayerNorm(args.dim)
            self.qkv = nn.Linear(args.dim, 3 * args.dim)
            self.proj = nn.Linear(args.dim, args.dim)
            self.mlp = nn.Sequential(nn.Linear(args.dim, 4 * args.dim), nn.GELU(), nn.Linear(4 * args.dim, args.dim))

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
            shape = (b, t, args.heads, c // args.heads)
            q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
            x = x + self.proj(y)
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, args.dim)
            self.pos = nn.Embedding(args.seq_len, args.dim)
            self.blocks = nn.ModuleList(Block() for _ in range(args.layers))
            self.ln = nn.LayerNorm(args.dim)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
            for blk in self.blocks:
                x = blk(x)
            return self.ln(x) @ self.tok.weight.T

    model = GPT().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    start = time.monotonic()
    for step in range(args.steps):
        batch = torch.from_numpy(mixture.batch(step * args.batch, args.batch).astype(np.int64)).to(device)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    seconds = time.monotonic() - start

    losses = {}
    model.eval()
    with torch.no_grad():
        for d in prepared["domains"]:
            ids = np.fromfile(os.path.join(args.prepared, d["valid_file"]), dtype="<u4").astype(np.int64)
            n = min(args.eval_windows, (len(ids) - 1) // args.seq_len)
            if n < 1:
                continue
            w = torch.from_numpy(ids[: n * args.seq_len + 1])
            x = torch.stack([w[i * args.seq_len:(i + 1) * args.seq_len] for i in range(n)]).to(device)
            y = torch.stack([w[i * args.seq_len + 1:(i + 1) * args.seq_len + 1] for i in range(n)]).to(device)
            total = 0.0
            for k in range(0, n, 32):
                logits = model(x[k:k + 32])
                total += F.cross_entropy(logits.reshape(-1, vocab), y[k:k + 32].reshape(-1), reduction="sum").item()
            losses[d["name"]] = total / (n * args.seq_len)
    tokens = args.steps * args.batch * args.seq_len
    result = {"losses": losses, "mixture": weights, "steps": args.steps, "tokens": tokens,
              "tokens_per_second": tokens / seconds if seconds > 0 else None, "device": device,
              "parameters": sum(p.numel() for p in model.parameters())}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
        f.write("\n")
    os.replace(tmp, args.out)
    if not all(math.isfinite(v) for v in losses.values()):
        sys.exit("proxy_train: a loss is not finite")


if __name__ == "__main__":
    main()
