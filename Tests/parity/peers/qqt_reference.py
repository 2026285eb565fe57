#!/usr/bin/env python3
"""Quality-quantity trade-off scaling laws (Goyal, Maini, Lipton, Raghunathan, Kolter, CVPR 2024, "Scaling Laws
for Data Filtering -- Data Curation cannot be Compute Agnostic"), a numpy port of
locuslab/scaling_laws_data_filtering at commit ba37663, for the QQT parity test.

    python3 qqt_reference.py < request.json > answer.json
    python3 qqt_reference.py --example > request.json

Request (JSON object; both keys optional):
    "curves": [{"a", "b", "tau", "d", "pool_size": N, "samples": [n, ...],
                "objective": "effective_utility" (default) | "effective_data"}]
        One pool's error y(n) after n samples seen, from objective.py func_effective_utility (or
        func_effective_data); params = (a, b, c=tau, d) exactly as upstream.
    "pools": {"params": [{"a", "b", "tau"}, ...], "pool_size": N, "budgets": [n, ...],
              "aggregation": "effective_utility" | "effective_data", "d": 0.1}
        or a list of such objects. estimate_best_pool.py estimate_best_buckets: the error of training on the
        union of the top-m pools, for m = 1..len(params), at each budget, and the best m per budget.
        Upstream asserts that every pool has the same a; so does this port. estimate_best_pool.py's __main__
        drops the last entry of the parameter file (a mixed 0-40% pool) before calling it; callers pass only
        the pools to rank.
    "normalizer": default 100000.
    pool_size, samples and budgets must be integers (a JSON float with an integral value is accepted); the
    epoch arithmetic below is integer arithmetic, as upstream's ints make it.

Answer:
    {"curves": [{"errors": [y per n]}],
     "pools": {"aggregation", "order": request indices sorted by b, "errors": [[y per budget] per m = 1..M],
               "best_m": [m per budget]}}   ("pools" is a list when the request's is)

Ported upstream code (commit ba37663):
    objective.py l.6-9         power(x, p) = 0 if x == 0 else x ** p
    objective.py l.60-90       func_effective_utility           (single pool)
    objective.py l.96-114      get_effective_samples, l.169-174 func_effective_data (single pool)
    objective.py l.15-57       func_effective_utility_aggregation
    objective.py l.117-167     func_effective_data_aggregation
    estimate_best_pool.py l.14-48   estimate_best_buckets;  l.56-60 defaults (pool 12_800_000, d 0.1,
                                    effective_utility);  l.80 budgets 32M, 64M, 128M, 640M

Formulas. "//" is integer floor division, "/" float division, a*X means float(a) * float(X) for an
integer X, and R = normalizer. 0.5 ** 0 = 1 exactly, so b_0 = b.

Single pool (a, b, tau, d), pool size N, samples n:
    K     = n // N                                   epochs k = 0..K (k = K may be an empty last epoch)
    x_k   = (a * min(N*(k+1), n)) / R                min taken on integers
    x'_k  = ((a * N) * k) / R                        note the association: (a*N) first, then *k
    b_k   = b * 0.5 ** (k / tau)
  effective_utility:
    y     = (power(x_0, b_0) + d) * P,   P = (((r_1 * r_2) * r_3) ... * r_K),  r_k = (x_k / x'_k) ** b_k
          (P = 1 and no multiplication when K = 0; d is inside the product: upstream's quirk)
  effective_data:
    S     = ((0 + (x_0 - x'_0) * 0.5**(0/tau)) + (x_1 - x'_1) * 0.5**(1/tau)) + ... + (x_K - x'_K) * 0.5**(K/tau)
    y     = power(S, b) + d

Top-m pools (estimate_best_buckets): sort the pools by b ascending (most negative first; a stable sort, so
ties keep request order), then for m = 1..M with pools i = 1..m of that order, budget n, shared a and d:
    N_m   = N * m          (integer)              tau_i' = tau_i * m      (float)
    K     = n // N_m                              delta_ik = 0.5 ** (k / tau_i')
    x_k   = (a * min(N_m*(k+1), n)) / R           x'_k = ((a * N_m) * k) / R
  effective_utility (func_effective_utility_aggregation):
    b_k   = (b_1*delta_1k + b_2*delta_2k + ... + b_m*delta_mk) / m          (sum left to right)
    y     = (d + power(x_0, b_0)) * P,  P and r_k as for one pool with these b_k
  effective_data (func_effective_data_aggregation):
    b_k   = (sum_i b_i*delta_ik) / (sum_i delta_ik)                          (each sum left to right)
    y0    = power(x_0, b_0)
    S_{-1} = 0;  for k = 0..K:  S_k = S_{k-1};  s = (x_k - x'_k) / m;  for i = 1..m: S_k = S_k + s*delta_ik
    y     = (((y0 * power(S_1/S_0, b_1)) * power(S_2/S_1, b_2)) ... * power(S_K/S_{K-1}, b_K)) + d
          (the first factor uses x_0, not S_0; d is added last, outside the product)
    best m = 1 + the first index of the smallest y over m (numpy argmin).
With m = 1, effective_utility aggregation equals the single-pool curve with the shared d.
numpy may evaluate ** with a vectorised pow; results agree with libm pow to an ulp or two.
"""
import json
import sys

import numpy as np

NORMALIZER = 100_000
AGGREGATIONS = ("effective_utility", "effective_data")


def fail(message):
    sys.stderr.write(f"qqt_reference: {message}\n")
    sys.exit(2)


def as_count(value, what):
    if isinstance(value, bool) or float(value) != int(value) or int(value) < 0:
        fail(f"{what} must be a non-negative integer, got {value!r}")
    return int(value)


def power(x, p):
    return 0.0 if x == 0 else x ** p


def epoch_samples(a, samples_per_epoch, n, normalizer):
    """epochs, x_k and x'_k (already divided by the normalizer), as objective.py builds them."""
    epochs = np.arange(n // samples_per_epoch + 1, dtype=np.int64)
    seen = a * np.minimum(samples_per_epoch * (epochs + 1), n)
    before = (a * samples_per_epoch) * epochs
    return epochs, seen / normalizer, before / normalizer


def product_of_ratios(x, before, b_k):
    """(r_1 * r_2) * ... * r_K with r_k = (x_k / x'_k) ** b_k, left to right."""
    ratios = (x[1:] / before[1:]) ** b_k[1:]
    total = 1.0
    for r in ratios:
        total = total * r
    return total


def curve_effective_utility(n, a, b, tau, d, pool_size, normalizer):
    epochs, x, before = epoch_samples(a, pool_size, n, normalizer)
    b_k = b * 0.5 ** (epochs / tau)
    y = power(x[0], b_k[0]) + d
    if len(x) > 1:
        y = y * product_of_ratios(x, before, b_k)
    return float(y)


def curve_effective_data(n, a, b, tau, d, pool_size, normalizer):
    epochs, x, before = epoch_samples(a, pool_size, n, normalizer)
    decay = 0.5 ** (epochs / tau)
    effective = 0.0
    for k in range(len(x)):
        effective = effective + (x[k] - before[k]) * decay[k]
    return float(power(effective, b) + d)


def aggregate_effective_utility(n, a, b_list, tau_list, d, samples_per_epoch, normalizer):
    epochs, x, before = epoch_samples(a, samples_per_epoch, n, normalizer)
    summed = np.zeros(len(epochs))
    for b, tau in zip(b_list, tau_list):
        summed = summed + b * 0.5 ** (epochs / tau)
    b_k = summed / len(b_list)
    y = d + power(x[0], b_k[0])
    if len(x) > 1:
        y = y * product_of_ratios(x, before, b_k)
    return float(y)


def aggregate_effective_data(n, a, b_list, tau_list, d, samples_per_epoch, normalizer):
    m = len(b_list)
    epochs, x, before = epoch_samples(a, samples_per_epoch, n, normalizer)
    deltas = [0.5 ** (epochs / tau) for tau in tau_list]
    weighted = np.zeros(len(epochs))
    total = np.zeros(len(epochs))
    for b, delta in zip(b_list, deltas):
        weighted = weighted + b * delta
        total = total + delta
    b_k = weighted / total

    y = power(x[0], b_k[0])
    previous = 0.0
    for k in range(len(epochs)):
        current = previous
        per_pool = (x[k] - before[k]) / m
        for delta in deltas:
            current = current + per_pool * delta[k]
        if k > 0:
            y = y * power(current / previous, b_k[k])
        previous = current
    return float(y + d)


def run_curve(spec, normalizer):
    objective = spec.get("objective", "effective_utility")
    if objective not in AGGREGATIONS:
        fail(f"unknown curve objective {objective!r}")
    f = curve_effective_utility if objective == "effective_utility" else curve_effective_data
    a, b, tau, d = (float(spec[key]) for key in ("a", "b", "tau", "d"))
    pool_size = as_count(spec["pool_size"], "pool_size")
    if pool_size == 0:
        fail("pool_size must be positive")
    errors = [f(as_count(n, "samples"), a, b, tau, d, pool_size, normalizer) for n in spec["samples"]]
    return {"errors": errors}


def run_pools(spec, normalizer):
    aggregation = spec.get("aggregation", "effective_utility")
    if aggregation not in AGGREGATIONS:
        fail(f"unknown aggregation {aggregation!r}")
    f = aggregate_effective_utility if aggregation == "effective_utility" else aggregate_effective_data
    params = spec["params"]
    if not params:
        fail("pools.params is empty")
    a_values = np.array([float(p["a"]) for p in params])
    b_values = np.array([float(p["b"]) for p in params])
    tau_values = np.array([float(p["tau"]) for p in params])
    if not np.all(a_values == a_values[0]):
        fail("every pool must share the same a (upstream asserts it)")
    a = a_values[0]
    d = float(spec.get("d", 0.1))
    pool_size = as_count(spec["pool_size"], "pool_size")
    if pool_size == 0:
        fail("pool_size must be positive")
    budgets = [as_count(n, "budgets") for n in spec["budgets"]]

    order = np.argsort(b_values, kind="stable")
    b_sorted, tau_sorted = b_values[order], tau_values[order]
    errors = []
    for m in range(1, len(params) + 1):
        taus = tau_sorted[:m] * m
        errors.append([f(n, a, b_sorted[:m], taus, d, pool_size * m, normalizer) for n in budgets])
    table = np.array(errors)  # [m][budget]
    best = [int(np.argmin(table[:, j])) + 1 for j in range(len(budgets))]
    return {"aggregation": aggregation, "order": order.tolist(), "errors": errors, "best_m": best}


def run(request):
    normalizer = request.get("normalizer", NORMALIZER)
    answer = {}
    if "curves" in request:
        answer["curves"] = [run_curve(c, normalizer) for c in request["curves"]]
    if "pools" in request:
        pools = request["pools"]
        answer["pools"] = [run_pools(p, normalizer) for p in pools] if isinstance(pools, list) \
            else run_pools(pools, normalizer)
    return answer


def example():
    """estimate_best_pool.py's setting: pool 12.8M (DataComp medium), d = 0.1, budgets 32M/64M/128M/640M,
    four T-MARS pools (top 0-10%, 10-20%, 20-30%, 30-40%). The repository does not ship its fitted values
    (results/parameter_values.jsonl); a = 0.022 (ablations/finding_tau.py, T-MARS / ImageNet) and the first
    pool's b = -0.13106060606060607, tau = 3 (ablations/finding_k.py) are the repository's; the other pools'
    b and tau are made up, inside the repository's grid-search ranges (b in [-0.5, -0.005], tau in [1, 10]).
    Pools are listed out of b order so the sort matters."""
    a, d, pool = 0.022, 0.1, 12_800_000
    pools = [
        {"name": "top10to20p", "a": a, "b": -0.11, "tau": 4.0},
        {"name": "top0to10p", "a": a, "b": -0.13106060606060607, "tau": 3.0},
        {"name": "top30to40p", "a": a, "b": -0.075, "tau": 6.5},
        {"name": "top20to30p", "a": a, "b": -0.093, "tau": 5.0},
    ]
    budgets = [32_000_000, 64_000_000, 128_000_000, 640_000_000]
    samples = [0, 1, 1_000_000, 12_800_000, 25_600_000, 32_000_000, 51_200_000, 64_000_000,
               76_800_000, 102_400_000, 128_000_000, 640_000_000]
    curves = [dict(p, d=d, pool_size=pool, samples=samples) for p in pools]
    curves.append(dict(pools[1], d=d, pool_size=pool, samples=samples, objective="effective_data"))
    return {"curves": curves,
            "pools": [{"params": pools, "pool_size": pool, "budgets": budgets, "aggregation": agg, "d": d}
                      for agg in AGGREGATIONS]}


def main(argv):
    if argv[1:] == ["--example"]:
        json.dump(example(), sys.stdout)
        sys.stdout.write("\n")
        return
    if argv[1:]:
        fail("usage: qqt_reference.py < request.json  |  qqt_reference.py --example")
    json.dump(run(json.load(sys.stdin)), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
