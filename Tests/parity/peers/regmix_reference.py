#!/usr/bin/env python3
"""RegMix reference (Liu et al. 2024, "RegMix: Data Mixture as Regression"), a numpy port of sail-sg/regmix
at commit b004d3a. Every subcommand prints one JSON object on stdout; "elapsed_s" is its wall time.

    propose  --prior prior.json --count N --seed S [--temperature 0.5 --min-strength 0.1 --max-strength 5
             --multiplier 100 --max-usage 15 --minimum 2e-4]
        Ports mixture_config/synthesize_mixture.py: generate_config_from_prior (l.189-209, prior normalisation),
        generate_weights_dirichlet (l.116-186) and sort_and_deduplicate (l.253-267). `random` and `np.random`
        are both seeded with S and consumed in upstream's order: seed 42 / N 512 gives the script's 512 rows
        bit for bit under the same numpy. Those rows are not the ones in data/train_mixture_1m.csv, which were
        drawn with other settings, so compare a port with this command's output, not with that file.
        Out: {"domains", "rows": N proposals, "accepted": draws that passed the bound (before dedup),
              "deduplicated": rows left after dedup, "bound": per-domain maximum weight}.

    moments  --rows-csv FILE [--minimum 2e-4]
        FILE is laid out like data/train_mixture_1m.csv: header `index,<domain>,...`, then `i,w1,...`.
        Out: per-domain "mean", "std" (population, ddof 0) and "zero_fraction"; overall "zero_fraction";
        "row_sum_min"/"row_sum_max"; "on_grid" (every weight a multiple of --minimum within 1e-9) and
        "off_grid" (how many are not). Used to compare another implementation's proposals statistically.

    fit      --train-mixture X --train-loss Y --test-mixture X2 --test-loss Y2 [--score-loss Y3]
             [--target metric/the_pile_pile_cc_val_loss]
        Ports regression_fitting/regression.ipynb cells 3-13: mixture and loss CSVs are paired by `index`;
        the features are all 17 domain weights. LightGBM with the notebook's LGBMRegressor settings (gbdt,
        regression, metric [l1, l2], 1000 iterations, learning rate 0.01, seed 42) and early_stopping(3) on
        the test pair, plus an ordinary least-squares model with intercept (numpy lstsq). Spearman (average
        ranks for ties) of the test predictions against Y3, or Y2 without it. The 60M correlation is a 1M fit
        ranked against the 60M losses of the same held-out mixtures: X2 = test_mixture_1m.csv,
        Y2 = test_pile_loss_1m.csv, Y3 = test_pile_loss_60m.csv. (Early stopping on the 60M losses
        themselves stops at iteration 1: their scale differs from the 1M losses the model is fit to.)
        Out: {"n_train", "n_test", "target", "linear": {"spearman", "predictions"},
              "lightgbm": {"spearman", "best_iteration", "predictions"} or {"available": false, "error"}}.

    optimize --prior prior.json --train-mixture ... --train-loss ... --test-mixture ... --test-loss ...
             [--target ... --draws 100000 --top 128 --seed 42]
        Ports regression.ipynb cells 16-18: fit as above, np.random.seed(S), draw `draws` mixtures from
        Dirichlet(prior) (the untempered prior, normalised and rounded to 8 decimals exactly as the notebook
        pastes it), predict, and average the `top` draws with the lowest predicted loss.
        Out: {"domains", "weights", "best_iteration"}. Needs lightgbm.

The shipped fixtures are in Tests/Fixtures/regmix/ (see its README.md).
"""
import argparse
import csv
import json
import random
import sys
import time

import numpy as np

DEFAULT_TARGET = "metric/the_pile_pile_cc_val_loss"


# --- proposals ---------------------------------------------------------------------------------------------

def load_prior(path):
    doc = json.load(open(path))
    return doc["domains"], np.asarray(doc["weights"], dtype=np.float64)


def propose(prior, count, temperature, min_strength, max_strength, multiplier, max_usage, minimum):
    prior = prior / np.sum(prior)
    # The bound comes from the prior *before* tempering; upstream computes it first.
    bound = np.minimum(prior * max_usage, 1.0)
    if temperature < 1.0:
        prior = prior ** temperature
        prior = prior / np.sum(prior)
    strengths = np.logspace(np.log10(min_strength), np.log10(max_strength), 15)

    accepted = []
    for _ in range(count * multiplier):
        if min_strength == max_strength:
            sample = np.random.dirichlet(prior * min_strength, 1)
        else:
            # All 15 draws are taken even though only one is kept: that is what fixes the random stream.
            draws = [np.random.dirichlet(prior * s, 1) for s in strengths]
            sample = random.choice(draws)
        if np.any(sample[0] > bound):  # upstream's lower bound is 0, which a Dirichlet draw never breaks
            continue
        sample = np.where(sample < minimum, 0.0, sample)
        sample = sample / np.sum(sample, axis=1).reshape(-1, 1)
        # Rounded after renormalising, so rows need not sum to exactly 1.
        sample = np.round(sample / minimum) * minimum
        accepted.append(sample[0])

    kept = deduplicate(np.array(accepted))
    chosen = random.sample(kept, count)
    return np.stack(chosen, axis=0), len(accepted), len(kept), bound


def deduplicate(rows, threshold=1e-5):
    # lexsort keys on the last column first; a row is dropped when it is within L1 `threshold` of the last
    # row kept (not of its sorted neighbour).
    ordered = rows[np.lexsort(rows.T)]
    kept = [ordered[0]]
    for row in ordered[1:]:
        if np.sum(np.abs(row - kept[-1])) > threshold:
            kept.append(row)
    return kept


# --- CSV input ---------------------------------------------------------------------------------------------

def read_indexed_csv(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [r for r in reader if r]
    if header[0] != "index":
        sys.exit(f"{path}: first column must be 'index'")
    index = [int(r[0]) for r in rows]
    values = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)
    return header[1:], index, values


def paired(mixture_path, loss_path, target):
    domains, mix_index, features = read_indexed_csv(mixture_path)
    metrics, loss_index, losses = read_indexed_csv(loss_path)
    if target not in metrics:
        sys.exit(f"{loss_path}: no column {target!r}")
    # The notebook pairs rows by position; joining on `index` gives the same rows for the shipped files
    # and refuses files whose rows do not correspond.
    by_index = dict(zip(loss_index, losses[:, metrics.index(target)]))
    if sorted(by_index) != sorted(mix_index):
        sys.exit(f"{mixture_path} and {loss_path} list different indices")
    return domains, features, np.array([by_index[i] for i in mix_index])


# --- regression --------------------------------------------------------------------------------------------

def ranks(x):
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x), dtype=np.float64)
    r[order] = np.arange(1, len(x) + 1)
    # Tied values share the mean of the ranks they span.
    _, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, weights=r)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse]


def spearman(a, b):
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    ra -= ra.mean()
    rb -= rb.mean()
    return float(np.sum(ra * rb) / np.sqrt(np.sum(ra * ra) * np.sum(rb * rb)))


def fit_linear(x, y, x_test):
    design = np.hstack([np.ones((len(x), 1)), x])
    # Weights sum to ~1, so the intercept is nearly collinear with them; lstsq takes the minimum-norm solution.
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return np.hstack([np.ones((len(x_test), 1)), x_test]) @ coef


def fit_lightgbm(x, y, x_test, y_test):
    """The notebook's LGBMRegressor(...).fit(..., eval_metric='l2', early_stopping(3)), through the native API
    so that scikit-learn is not needed: the wrapper's remaining defaults are LightGBM's own, and 'l2' is
    already in the metric list, so the booster gets the same parameters."""
    import lightgbm as lgb

    # One thread: the trees and predictions are bit-identical to the default thread count on the fixtures,
    # and OpenMP spin-waiting makes the default ~100x slower on a loaded machine.
    params = {"boosting_type": "gbdt", "objective": "regression", "metric": ["l1", "l2"],
              "learning_rate": 1e-2, "seed": 42, "verbose": -1, "num_threads": 1}
    train = lgb.Dataset(x, y, params=params)
    # Stops when either metric has not improved for 3 rounds; prediction then uses the best iteration.
    return lgb.train(params, train, num_boost_round=1000, valid_sets=[train.create_valid(x_test, y_test)],
                     callbacks=[lgb.early_stopping(stopping_rounds=3, verbose=False)])


def lightgbm_error():
    try:
        import lightgbm  # noqa: F401
        return None
    except Exception as e:  # ImportError, or a wheel whose native library fails to load
        return f"{type(e).__name__}: {e}"


# --- subcommands -------------------------------------------------------------------------------------------

def cmd_propose(a):
    random.seed(a.seed)
    np.random.seed(a.seed)
    domains, prior = load_prior(a.prior)
    rows, accepted, kept, bound = propose(prior, a.count, a.temperature, a.min_strength, a.max_strength,
                                          a.multiplier, a.max_usage, a.minimum)
    return {"domains": domains, "rows": rows.tolist(), "accepted": accepted, "deduplicated": kept,
            "bound": bound.tolist()}


def cmd_moments(a):
    domains, _, w = read_indexed_csv(a.rows_csv)
    steps = w / a.minimum
    off = np.abs(steps - np.round(steps)) * a.minimum > 1e-9
    sums = w.sum(axis=1)
    return {"domains": domains, "rows": len(w), "mean": w.mean(axis=0).tolist(), "std": w.std(axis=0).tolist(),
            "zero_fraction": (w == 0).mean(axis=0).tolist(), "zero_fraction_all": float((w == 0).mean()),
            "row_sum_min": float(sums.min()), "row_sum_max": float(sums.max()),
            "on_grid": bool(not off.any()), "off_grid": int(off.sum())}


def cmd_fit(a):
    _, x, y = paired(a.train_mixture, a.train_loss, a.target)
    _, x_test, y_test = paired(a.test_mixture, a.test_loss, a.target)
    y_score = paired(a.test_mixture, a.score_loss, a.target)[2] if a.score_loss else y_test
    linear = fit_linear(x, y, x_test)
    out = {"n_train": len(x), "n_test": len(x_test), "target": a.target,
           "linear": {"spearman": spearman(linear, y_score), "predictions": linear.tolist()}}
    error = lightgbm_error()
    if error:
        out["lightgbm"] = {"available": False, "error": error}
    else:
        model = fit_lightgbm(x, y, x_test, y_test)
        pred = model.predict(x_test)
        out["lightgbm"] = {"available": True, "spearman": spearman(pred, y_score),
                           "best_iteration": int(model.best_iteration), "predictions": pred.tolist()}
    return out


def cmd_optimize(a):
    error = lightgbm_error()
    if error:
        sys.exit(f"optimize needs lightgbm ({error})")
    domains, prior = load_prior(a.prior)
    columns, x, y = paired(a.train_mixture, a.train_loss, a.target)
    _, x_test, y_test = paired(a.test_mixture, a.test_loss, a.target)
    if columns != domains:
        sys.exit("prior domains and mixture columns differ")
    model = fit_lightgbm(x, y, x_test, y_test)
    np.random.seed(a.seed)
    # The notebook pastes the printed normalised prior, i.e. 8 decimals; with the very same alphas the draws,
    # and so the optimum, are the notebook's own.
    alpha = np.round(prior / prior.sum(), 8)
    samples = np.random.dirichlet(alpha, a.draws)
    predicted = model.predict(samples)
    best = samples[np.argsort(predicted)[:a.top]]
    return {"domains": domains, "weights": best.mean(axis=0).tolist(),
            "best_iteration": int(model.best_iteration)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("propose")
    s.add_argument("--prior", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--temperature", type=float, default=0.5)
    s.add_argument("--min-strength", type=float, default=0.1)
    s.add_argument("--max-strength", type=float, default=5.0)
    s.add_argument("--multiplier", type=int, default=100)
    s.add_argument("--max-usage", type=float, default=15.0)
    s.add_argument("--minimum", type=float, default=2e-4)
    s.set_defaults(run=cmd_propose)

    s = sub.add_parser("moments")
    s.add_argument("--rows-csv", required=True)
    s.add_argument("--minimum", type=float, default=2e-4)
    s.set_defaults(run=cmd_moments)

    for name, run in (("fit", cmd_fit), ("optimize", cmd_optimize)):
        s = sub.add_parser(name)
        if name == "optimize":
            s.add_argument("--prior", required=True)
            s.add_argument("--draws", type=int, default=100000)
            s.add_argument("--top", type=int, default=128)
            s.add_argument("--seed", type=int, default=42)
        s.add_argument("--train-mixture", required=True)
        s.add_argument("--train-loss", required=True)
        s.add_argument("--test-mixture", required=True)
        s.add_argument("--test-loss", required=True)
        s.add_argument("--target", default=DEFAULT_TARGET)
        if name == "fit":
            s.add_argument("--score-loss")
        s.set_defaults(run=run)

    args = p.parse_args()
    start = time.perf_counter()
    out = args.run(args)
    out["elapsed_s"] = round(time.perf_counter() - start, 3)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
