#!/usr/bin/env python3
"""DoReMi domain-weight update (Xie et al. 2023, "DoReMi: Optimizing Data Mixtures Speeds Up Language Model
Pretraining"), a float64 numpy port of sangmichaelxie/doremi at commit 7cde52d, for the mixing parity test.

    python3 doremi_reference.py < request.json > answer.json
    python3 doremi_reference.py --example > request.json      # a seeded synthetic request

Request (JSON object):
    "domains":          k
    "initial_weights":  [k]   starting alpha (normalised by its sum, as upstream does); also the starting average
    "eta":              float, default 1.0      (--reweight_eta)
    "smoothing":        float c, default 1e-3   (--reweight_eps; 1e-3 in scripts/runs/run_pile_doremi120M.sh
                                                 and the paper, 1e-4 in training_args.py)
    "initial_lambda":   float, optional: the per-domain score before any update
    "vocab_size":       int, default 50277; used when "initial_lambda" is absent: lambda_0 = ln(vocab_size)
    "steps": one entry per domain-weight update (one optimizer step, i.e. every token of every
             gradient-accumulation micro-batch on every rank), in one of three forms:
        {"domain_ids": [T], "proxy_losses": [T], "reference_losses": [T]}   per token
        {"domain_ids": [T], "excess_losses": [T]}                           per token, proxy - reference given
        {"excess_sum": [k], "tokens": [k]}   aggregated: sum over the step's tokens of max(proxy - reference, 0)
                                             per domain, and the token count per domain (integers >= 0)
    Only real tokens belong in a step: upstream drops padding (label -100) through its token mask first.

Answer (JSON object):
    {"initial": {"lambdas", "weights", "avg_weights"},
     "steps": [{"lambdas": [k], "weights": [k], "avg_weights": [k]} per step]}
    "lambdas" are the per-domain scores used by that step's update, "weights" the new alpha, "avg_weights"
    the running average after it. All arithmetic is float64 (upstream keeps these buffers in float32).

Ported upstream code (commit 7cde52d):
    doremi/train.py l.269-274      initial buffers: alpha_0 = w / sum(w); avg_0 = alpha_0;
                                   perdomain_scores = ones(k) * ln(len(tokenizer)); update_counter = 1
    doremi/trainer.py l.239-262    update_domain_weights (doremiv1)
    doremi/trainer.py l.157-160    write_weights (counter and running average)
    doremi/trainer.py l.297-338    training_step: excess = proxy per-token loss - reference per-token loss,
                                   gathered over ranks and accumulation micro-batches, one update per
                                   optimizer step
    Not ported: the reweighted proxy loss of l.344-363 and the sampler in doremi/dataloader.py l.31-37,
    which draws domain ids with rng.choice(k, 8192, p=alpha) from the live weights.

Update, for step s = 1, 2, ... (t is upstream's update_counter after its increment, t = s + 1):
    e_j          = proxy_j - reference_j                                   (per token j)
    lambda_i(s)  = sum_{j in domain i} max(e_j, 0) / n_i(s)                if n_i(s) > 0
                 = lambda_i(s-1)                                           if n_i(s) = 0 (absent domain)
    lambda_i(0)  = initial_lambda, else ln(vocab_size)
    v_i          = ln alpha_i(s-1) + eta * lambda_i(s)        (absent domains' stale lambda is applied again)
    lse          = max_i v_i + ln(sum_i exp(v_i - max_i v_i))
    alpha_i(s)   = (1 - c) * exp(v_i - lse) + c / k
    avg_i(s)     = (avg_i(s-1) * (t - 1) + alpha_i(s)) / t,   t = s + 1
So avg(s) = (alpha(0) + alpha(1) + ... + alpha(s)) / (s + 1): the initial weights count as one sample.
Sums over tokens and over domains use math.fsum (correctly rounded); any summation order agrees to
about 1e-15 relative.
"""
import json
import math
import sys

import numpy as np

DEFAULT_ETA = 1.0
DEFAULT_SMOOTHING = 1e-3
# len(tokenizer) of the GPT-NeoX tokenizer used by the 120M run script, which also sets vocab_size=50277.
DEFAULT_VOCAB_SIZE = 50277


def fail(message):
    sys.stderr.write(f"doremi_reference: {message}\n")
    sys.exit(2)


def step_totals(step, k, index):
    """(sum of clipped excess per domain, token count per domain) for one step, in float64 / int."""
    if "excess_sum" in step or "tokens" in step:
        excess = np.asarray(step.get("excess_sum"), dtype=np.float64)
        tokens = step.get("tokens")
        if excess.shape != (k,) or tokens is None or len(tokens) != k:
            fail(f"step {index}: excess_sum and tokens must both have {k} entries")
        counts = []
        for i, n in enumerate(tokens):
            if float(n) != int(n) or int(n) < 0:
                fail(f"step {index}: tokens[{i}] must be a non-negative integer")
            counts.append(int(n))
            if int(n) == 0 and excess[i] != 0:
                fail(f"step {index}: domain {i} has no tokens but a non-zero excess_sum")
            if excess[i] < 0:
                fail(f"step {index}: excess_sum[{i}] is negative; it must be a sum of clipped losses")
        return excess, np.asarray(counts, dtype=np.int64)

    ids = np.asarray(step.get("domain_ids", []), dtype=np.int64)
    if "excess_losses" in step:
        per_token = np.asarray(step["excess_losses"], dtype=np.float64)
    else:
        proxy = np.asarray(step.get("proxy_losses", []), dtype=np.float64)
        reference = np.asarray(step.get("reference_losses", []), dtype=np.float64)
        if proxy.shape != ids.shape or reference.shape != ids.shape:
            fail(f"step {index}: domain_ids, proxy_losses and reference_losses differ in length")
        per_token = proxy - reference
    if per_token.shape != ids.shape:
        fail(f"step {index}: domain_ids and excess_losses differ in length")
    if ids.size and (ids.min() < 0 or ids.max() >= k):
        fail(f"step {index}: a domain id is outside 0..{k - 1}")
    clipped = np.maximum(per_token, 0.0)  # torch.clip(x, min=0), per token, before the mean
    excess = np.array([math.fsum(clipped[ids == i]) for i in range(k)], dtype=np.float64)
    counts = np.bincount(ids, minlength=k).astype(np.int64)
    return excess, counts


def run(request):
    k = int(request["domains"])
    weights = np.asarray(request["initial_weights"], dtype=np.float64)
    if k < 1 or weights.shape != (k,):
        fail(f"initial_weights must have {k} entries")
    if np.any(weights <= 0):
        fail("initial_weights must be positive")
    eta = float(request.get("eta", DEFAULT_ETA))
    c = float(request.get("smoothing", DEFAULT_SMOOTHING))
    if request.get("initial_lambda") is not None:
        lambda0 = float(request["initial_lambda"])
    else:
        lambda0 = math.log(int(request.get("vocab_size", DEFAULT_VOCAB_SIZE)))

    alpha = weights / math.fsum(weights)  # train.py normalises the configured weights by their total
    avg = alpha.copy()
    lambdas = np.full(k, lambda0, dtype=np.float64)
    counter = 1

    answer = {"initial": {"lambdas": lambdas.tolist(), "weights": alpha.tolist(), "avg_weights": avg.tolist()},
              "steps": []}
    for index, step in enumerate(request.get("steps", [])):
        excess, counts = step_totals(step, k, index)
        present = counts > 0
        lambdas = np.where(present, excess / np.maximum(counts, 1), lambdas)

        v = np.log(alpha) + eta * lambdas
        top = np.max(v)
        lse = top + math.log(math.fsum(np.exp(v - top)))
        alpha = (1.0 - c) * np.exp(v - lse) + c / k

        counter += 1
        avg = (avg * (counter - 1) + alpha) / counter
        answer["steps"].append({"lambdas": lambdas.tolist(), "weights": alpha.tolist(),
                                "avg_weights": avg.tolist()})
    return answer


def example(seed=20230517, k=8, steps=20):
    """A synthetic request: per-domain excess-loss levels (two domains mostly negative), random absent
    domains (domain 7 is absent from the first step, so the initial lambda is used), and the three step
    forms in rotation (proxy/reference, excess, aggregated)."""
    rng = np.random.default_rng(seed)
    initial = rng.dirichlet(np.full(k, 4.0))
    level = np.array([0.45, 0.15, 0.8, -0.2, 0.3, 0.05, 0.6, -0.4])[:k]
    spread = np.array([0.3, 0.4, 0.25, 0.3, 0.5, 0.2, 0.35, 0.3])[:k]
    out = []
    for s in range(steps):
        absent = set()
        if s == 0:
            absent.add(k - 1)
        elif rng.random() < 0.6:
            absent.update(int(i) for i in rng.choice(k, size=int(rng.integers(1, 4)), replace=False))
        live = np.array([i for i in range(k) if i not in absent])
        n = int(rng.integers(48, 128))
        ids = rng.choice(live, size=n)
        # Guarantee every live domain at least one token so "absent" is exactly the chosen set.
        ids[: len(live)] = live
        rng.shuffle(ids)
        reference = rng.uniform(2.0, 5.0, size=n)
        excess = level[ids] + spread[ids] * rng.standard_normal(n)
        proxy = reference + excess
        form = s % 3
        if form == 0:
            out.append({"domain_ids": ids.tolist(), "proxy_losses": proxy.tolist(),
                        "reference_losses": reference.tolist()})
        elif form == 1:
            out.append({"domain_ids": ids.tolist(), "excess_losses": (proxy - reference).tolist()})
        else:
            clipped = np.maximum(proxy - reference, 0.0)
            out.append({"excess_sum": [math.fsum(clipped[ids == i]) for i in range(k)],
                        "tokens": np.bincount(ids, minlength=k).tolist()})
    return {"domains": k, "initial_weights": initial.tolist(), "steps": out}


def main(argv):
    if argv[1:] == ["--example"]:
        json.dump(example(), sys.stdout)
        sys.stdout.write("\n")
        return
    if argv[1:]:
        fail("usage: doremi_reference.py < request.json  |  doremi_reference.py --example")
    json.dump(run(json.load(sys.stdin)), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
