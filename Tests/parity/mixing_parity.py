#!/usr/bin/env python3
"""`winnow mixture` against the references: RegMix (sail-sg/regmix b004d3a, LightGBM 4.7.0),
DoReMi (sangmichaelxie/doremi 7cde52d) and QQT (locuslab/scaling_laws_data_filtering ba37663).

    python3 Tests/parity/mixing_parity.py --winnow .build/debug/winnow

The references are numpy ports in Tests/parity/peers/ (regmix_reference.py, doremi_reference.py,
qqt_reference.py), run in the venv of peers.mixing_python() (.venv-mixing: numpy, lightgbm).
RegMix's published proxy results are in Tests/Fixtures/regmix/ (MIT, see its README).

Checks:
1. fit, boosted trees (early stopping on the 256 held-out mixtures, as RegMix): Spearman
   correlation of predicted and true Pile-CC loss >= 0.98 on the held-out 1M losses and on the
   60M losses of the same mixtures (LightGBM with RegMix's settings, run here: 0.989 / 0.985);
2. fit, linear: Spearman equal to the reference's least squares to 1e-9 (0.902 / 0.893), and
   its predictions to 1e-9;
3. optimize: RegMix's search (100,000 Dirichlet draws from the prior, the mean of the best 128)
   over winnow's model gives a Pile-CC weight within 0.03 of the reference procedure's over
   LightGBM's (about 0.89);
4. propose (prior of the Pile, seed 42, 512 mixtures): every row on the 2e-4 grid, within the
   usage bound, distinct; the share of draws that pass the bound within 2 points of the
   reference's, and each domain's mean weight and share of zeros within sampling error of the
   reference's proposals (numpy's draws cannot be replayed; the distributions must agree);
5. doremi: the reference's synthetic request (8 domains, 20 steps, absent domains, negative
   excess losses, all three step forms): every step's λ, weights and average equal to 1e-12;
6. qqt: the reference's example (single-pool curves under both objectives, top-m pools under
   both aggregations): every error equal to 1e-12 relative, and the same order and best m;
7. mix (Samples/web, its `source` field made the domain by the `domain` stage): the written
   mixture holds per domain exactly the tokens (words, bytes) and documents the manifest states,
   counted independently on the output; no domain past max_epochs; a binding cap leaves the
   capped domain at exactly max_epochs and the budget met; the same seed writes the same bytes;
   an unreachable budget, standard input and an output over an input are refused;
8. the proxy loop (domain → mixture prepare → propose → mixture run with the built-in proxy on
   the local executor → fit): killed with SIGKILL mid-way and run again, it keeps the finished
   runs and its losses equal a straight run's (inline executor); a changed mixture reruns that
   run alone; a damaged prepared token file is an error naming it; the optimum of a linear fit
   has a lower target loss (a fresh proxy run) than the uniform and the token-prior mixtures.
"""
import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check as _check, summary  # noqa: E402
from peers import mixing_python  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "Tests" / "parity" / "peers"
FIX = ROOT / "Tests" / "Fixtures" / "regmix"
TARGET = "metric/the_pile_pile_cc_val_loss"


def check(name, ok, detail=""):
    """checks.check, with the detail shown only when the check fails."""
    _check(name, ok, "" if ok else detail)


def run(cmd, stdin=None, timeout=600):
    p = subprocess.run([str(c) for c in cmd], input=stdin, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd[:3]))} ... exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return p.stdout


def read_rows(path):
    with open(path) as f:
        r = list(csv.reader(f))
    return r[0][1:], [[float(v) for v in row[1:]] for row in r[1:]]


def close(a, b, tol, relative=False):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(close(x, y, tol, relative) for x, y in zip(a, b))
    scale = max(abs(a), abs(b), 1.0) if relative else 1.0
    return abs(a - b) <= tol * scale


def regmix(winnow, py, work):
    train = ["--mixtures", FIX / "train_mixture_1m.csv", "--losses", FIX / "train_pile_loss_1m.csv", "--target", TARGET]
    evaluate = ["--evaluate", f"{FIX / 'test_mixture_1m.csv'}:{FIX / 'test_pile_loss_1m.csv'}",
                "--evaluate", f"{FIX / 'test_mixture_60m.csv'}:{FIX / 'test_pile_loss_60m.csv'}"]
    held = ["--held-out-mixtures", FIX / "test_mixture_1m.csv", "--held-out-losses", FIX / "test_pile_loss_1m.csv"]
    ref_args = ["--train-mixture", FIX / "train_mixture_1m.csv", "--train-loss", FIX / "train_pile_loss_1m.csv",
                "--test-mixture", FIX / "test_mixture_1m.csv", "--test-loss", FIX / "test_pile_loss_1m.csv"]
    ref1 = json.loads(run([py, PEERS / "regmix_reference.py", "fit", *ref_args]))
    ref60 = json.loads(run([py, PEERS / "regmix_reference.py", "fit", *ref_args, "--score-loss",
                            FIX / "test_pile_loss_60m.csv"]))
    model = work / "gbdt.json"
    t = time.monotonic()
    gb = json.loads(run([winnow, "mixture", "fit", *train, *held, *evaluate, "-o", model]))
    took = time.monotonic() - t
    s1, s60 = (e["spearman"] for e in gb["evaluate"])
    lgb1 = ref1["lightgbm"].get("spearman")
    lgb60 = ref60["lightgbm"].get("spearman")
    check("fit gbdt: Spearman on the held-out 1M losses >= 0.98", s1 >= 0.98,
          f"{s1:.4f} (LightGBM {lgb1})")
    check("fit gbdt: Spearman on the 60M losses of the held-out mixtures >= 0.98", s60 >= 0.98,
          f"{s60:.4f} (LightGBM {lgb60})")
    print(f"  winnow gbdt: {s1:.4f} / {s60:.4f}, best iteration {gb['best_iteration']}, {took:.1f} s; "
          f"LightGBM: {lgb1:.4f} / {lgb60:.4f}, best iteration {ref1['lightgbm'].get('best_iteration')}")

    lin = json.loads(run([winnow, "mixture", "fit", "--model", "linear", *train, *evaluate]))
    l1, l60 = (e["spearman"] for e in lin["evaluate"])
    check("fit linear: Spearman equal to the reference least squares (1M, 60M)",
          close(l1, ref1["linear"]["spearman"], 1e-9) and close(l60, ref60["linear"]["spearman"], 1e-9),
          f"winnow {l1}, {l60}; reference {ref1['linear']['spearman']}, {ref60['linear']['spearman']}")
    print(f"  linear: {l1:.4f} / {l60:.4f}")

    t = time.monotonic()
    opt = json.loads(run([winnow, "mixture", "optimize", "--model", model, "--prior", FIX / "prior.json",
                          "-o", work / "weights.yaml"]))
    took = time.monotonic() - t
    ref = json.loads(run([py, PEERS / "regmix_reference.py", "optimize", "--prior", FIX / "prior.json", *ref_args]))
    ours = opt["weights"]["train_the_pile_pile_cc"]
    theirs = dict(zip(ref["domains"], ref["weights"]))["train_the_pile_pile_cc"]
    check("optimize: the optimum's Pile-CC weight within 0.03 of the reference's", abs(ours - theirs) <= 0.03,
          f"winnow {ours:.4f}, reference {theirs:.4f}")
    check("optimize: the weights sum to 1 and the fragment names every domain",
          abs(sum(opt["weights"].values()) - 1) < 1e-9
          and all(f"  {d}: " in (work / "weights.yaml").read_text() for d in ref["domains"]))
    print(f"  optimum Pile-CC: winnow {ours:.4f} ({took:.1f} s), reference {theirs:.4f}")


def proposals(winnow, py, work):
    out = work / "proposals.csv"
    p = subprocess.run([str(winnow), "mixture", "propose", "--prior", str(FIX / "prior.json"), "-n", "512", "--seed", "42",
                        "-o", str(out)], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    # "propose: A draws within the usage bound, D distinct, N written"
    m = re.search(r"propose: (\d+) draws within the usage bound, (\d+) distinct", p.stderr)
    if not m:
        raise RuntimeError(f"no summary line from propose: {p.stderr!r}")
    accepted, distinct = int(m.group(1)), int(m.group(2))
    ref = json.loads(run([py, PEERS / "regmix_reference.py", "propose", "--prior", FIX / "prior.json", "--count", "512",
                          "--seed", "42"]))
    domains, rows = read_rows(out)
    check("propose: 512 rows over the prior's domains", len(rows) == 512 and domains == ref["domains"])
    bound = ref["bound"]
    off_grid = sum(1 for r in rows for w in r if abs(w / 2e-4 - round(w / 2e-4)) > 1e-6)
    over = sum(1 for r in rows for w, b in zip(r, bound) if w > b + 1e-4)
    dup = len(rows) - len({tuple(round(w / 2e-4) for w in r) for r in rows})
    check("propose: every weight on the 2e-4 grid and within the usage bound; rows distinct",
          off_grid == 0 and over == 0 and dup == 0, f"{off_grid} off the grid, {over} over the bound, {dup} duplicates")
    draws = 512 * 100
    ours_rate, ref_rate = accepted / draws, ref["accepted"] / draws
    check("propose: the share of draws within the usage bound matches the reference's (±2 points)",
          abs(ours_rate - ref_rate) <= 0.02, f"winnow {ours_rate:.4f}, reference {ref_rate:.4f}")
    bad = []
    for j, d in enumerate(domains):
        a = [r[j] for r in rows]
        b = [r[j] for r in ref["rows"]]
        ma, mb = sum(a) / len(a), sum(b) / len(b)
        sa = math.sqrt(sum((x - ma) ** 2 for x in a) / len(a))
        sb = math.sqrt(sum((x - mb) ** 2 for x in b) / len(b))
        tol = 4.5 * math.sqrt((sa * sa + sb * sb) / 512) + 1e-3
        za, zb = sum(1 for x in a if x == 0) / 512, sum(1 for x in b if x == 0) / 512
        ztol = 4.5 * math.sqrt((za * (1 - za) + zb * (1 - zb)) / 512) + 0.01
        if abs(ma - mb) > tol or abs(za - zb) > ztol:
            bad.append(f"{d}: mean {ma:.4f} vs {mb:.4f} (±{tol:.4f}), zeros {za:.3f} vs {zb:.3f} (±{ztol:.3f})")
    check("propose: each domain's mean weight and share of zeros within sampling error of the reference's",
          not bad, "; ".join(bad[:4]))
    print(f"  propose: {accepted} of {draws} draws within the bound ({distinct} distinct); "
          f"reference {ref['accepted']} ({ref['deduplicated']} distinct)")


def doremi(winnow, py, work):
    request = json.loads(run([py, PEERS / "doremi_reference.py", "--example"]))
    answer = json.loads(run([py, PEERS / "doremi_reference.py"], stdin=json.dumps(request)))
    k = request["domains"]
    weights = work / "initial.json"
    weights.write_text(json.dumps({"domains": [f"d{i}" for i in range(k)], "weights": request["initial_weights"]}))
    log = work / "steps.jsonl"
    log.write_text("".join(json.dumps(s) + "\n" for s in request["steps"]))
    args = []
    for key, flag in (("eta", "--eta"), ("smoothing", "--smoothing"), ("vocab_size", "--vocab-size"),
                      ("initial_lambda", "--initial-lambda")):
        if request.get(key) is not None:
            args += [flag, str(request[key])]
    lines = run([winnow, "mixture", "doremi", "--initial-weights", weights, "--log", log, *args,
                 "-o", work / "doremi.yaml"]).splitlines()
    got = [json.loads(l) for l in lines]
    want = answer["steps"]
    worst = 0.0
    for g, w in zip(got, want):
        for key in ("lambdas", "weights", "avg_weights"):
            worst = max(worst, max(abs(a - b) for a, b in zip(g[key], w[key])))
    check("doremi: every step's λ, weights and running average equal the reference's to 1e-12",
          len(got) == len(want) and worst <= 1e-12, f"{len(got)} steps of {len(want)}, largest difference {worst:.3g}")
    print(f"  doremi: {len(got)} steps, largest difference {worst:.3g}")
    # The Python package's online update (winnow_feed.DoReMiWeights) on the same steps.
    driver = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from winnow_feed import DoReMiWeights
req = json.load(sys.stdin)
k = req["domains"]
dw = DoReMiWeights(req["initial_weights"], eta=req.get("eta", 1.0), smoothing=req.get("smoothing", 1e-3),
                   initial_lambda=req.get("initial_lambda"), vocab_size=req.get("vocab_size", 50277))
out = []
for st in req["steps"]:
    if "excess_sum" in st:
        ex, n = st["excess_sum"], st["tokens"]
    else:
        ids = np.asarray(st["domain_ids"], dtype=np.int64)
        e = np.asarray(st["excess_losses"]) if "excess_losses" in st else (
            np.asarray(st["proxy_losses"]) - np.asarray(st["reference_losses"]))
        ex = [float(np.sum(np.maximum(e[ids == i], 0))) for i in range(k)]
        n = np.bincount(ids, minlength=k)
    dw.update(ex, n)
    out.append({"lambdas": dw.lambdas.tolist(), "weights": dw.weights.tolist(), "avg_weights": dw.average.tolist()})
print(json.dumps(out))
"""
    pkg = json.loads(run([py, "-c", driver, ROOT / "python"], stdin=json.dumps(request)))
    worst = 0.0
    for g, w in zip(pkg, want):
        for key in ("lambdas", "weights", "avg_weights"):
            worst = max(worst, max(abs(a - b) for a, b in zip(g[key], w[key])))
    check("doremi: the Python package's online update equals the reference's to 1e-12",
          len(pkg) == len(want) and worst <= 1e-12, f"largest difference {worst:.3g}")
    # A bad line is an error naming the log and the line.
    bad = work / "bad.jsonl"
    bad.write_text(json.dumps(request["steps"][0]) + "\n{\"excess_sum\": [1]}\n")
    p = subprocess.run([str(winnow), "mixture", "doremi", "--initial-weights", str(weights), "--log", str(bad)],
                       capture_output=True, text=True)
    check("doremi: a malformed step is an error naming the log and its line",
          p.returncode != 0 and f"{bad}:2:" in p.stderr, p.stderr.strip()[-300:])


def qqt(winnow, py, work):
    request = run([py, PEERS / "qqt_reference.py", "--example"])
    want = json.loads(run([py, PEERS / "qqt_reference.py"], stdin=request))
    got = json.loads(run([winnow, "mixture", "qqt", "-"], stdin=request))
    curves_ok = close([c["errors"] for c in got.get("curves", [])], [c["errors"] for c in want["curves"]], 1e-12, True)
    check("qqt: single-pool curves (both objectives) equal the reference's to 1e-12", curves_ok,
          f"winnow {got.get('curves')}\nreference {want['curves']}")
    wp = want["pools"] if isinstance(want["pools"], list) else [want["pools"]]
    gp = got.get("pools")
    gp = gp if isinstance(gp, list) else [gp]
    ok = len(gp) == len(wp) and all(
        g["order"] == w["order"] and g["best_m"] == w["best_m"] and close(g["errors"], w["errors"], 1e-12, True)
        for g, w in zip(gp, wp))
    check("qqt: top-m pools (both aggregations): errors to 1e-12, the same order and best m", ok,
          f"winnow {gp}\nreference {wp}")


def read_jsonl_dir(d):
    docs = []
    for f in sorted(Path(d).iterdir()):
        if f.name.endswith(".jsonl"):
            docs += [json.loads(l) for l in f.read_text(encoding="utf-8").splitlines() if l.strip()]
    return docs


def mix_checks(winnow, py, work):
    web = ROOT / "Samples" / "web"
    dom = work / "dom"
    run([winnow, "domain", "--from-field", "source", web, "-o", dom, "--compression", "none"])
    source = read_jsonl_dir(dom)
    tokenizer = ROOT / "Recipes" / "models" / "sample-bpe-4k.json"
    stats = json.loads(run([winnow, "stats", "--by", "domain", "--tokenizer", tokenizer, "--json", dom]))
    available = {k: v["tokens"] for k, v in stats["by"]["groups"].items()}
    weights = work / "weights.yaml"
    weights.write_text("man: 0.5\ndoc: 0.3\nlicense: 0.2\n")
    budget = int(sum(available.values()) * 1.5)
    cases = [("tokens", ["--tokenizer", tokenizer]), ("words", ["--unit", "words"]), ("bytes", ["--unit", "bytes"])]
    for unit, args in cases:
        out, manifest = work / f"mix-{unit}", work / f"mix-{unit}.json"
        b = budget if unit == "tokens" else int(budget * (3.4 if unit == "bytes" else 0.37))
        run([winnow, "mix", dom, "--weights", weights, "--budget", b, *args, "--manifest", manifest, "-o", out,
             "--compression", "none", "--seed", "7"])
        m = json.loads(manifest.read_text())
        got = json.loads(run([winnow, "stats", "--by", "domain", "--json", out]
                             + (["--tokenizer", tokenizer] if unit == "tokens" else [])))["by"]["groups"]
        key = {"tokens": "tokens", "words": "words", "bytes": "text_bytes"}[unit]
        docs = read_jsonl_dir(out)
        per_domain_docs = {}
        for d in docs:
            per_domain_docs[d["domain"]] = per_domain_docs.get(d["domain"], 0) + 1
        rows = {r["domain"]: r for r in m["domains"]}
        wrong = [f"{n}: manifest {r['written']} / {r['documents_written']} docs, output {got.get(n, {}).get(key)} / "
                 f"{per_domain_docs.get(n)}" for n, r in rows.items()
                 if r["written"] and (got.get(n, {}).get(key) != r["written"]
                                      or per_domain_docs.get(n) != r["documents_written"])]
        check(f"mix ({unit}): each domain's {unit} and documents in the output are the manifest's", not wrong,
              "; ".join(wrong))
        over = [n for n, r in rows.items() if r["epochs"] > m["max_epochs"] + 1e-12]
        capped = [n for n, r in rows.items() if r["capped"]]
        total = sum(r["written"] for r in rows.values())
        largest = max(len(d["text"].encode()) for d in source) if unit == "bytes" else max(available.values())
        check(f"mix ({unit}): no domain past max_epochs; capped domains at exactly max_epochs; the budget met",
              not over and all(rows[n]["written"] == m["max_epochs"] * rows[n]["available"] for n in capped)
              and abs(total - b) <= largest and m["written"] == total,
              f"over {over}, capped {capped}, written {total} of {b}")
        if unit == "tokens":
            check("mix (tokens): license is capped at 4 epochs and its shortfall redistributed (manifest says so)",
                  capped == ["license"] and m["redistributed"] and any("license" in n for n in m["notes"]),
                  json.dumps(m)[:600])
            ids = [d["id"] for d in docs]
            check("mix: copies after the first carry #k ids; every id once", len(ids) == len(set(ids)),
                  f"{len(ids) - len(set(ids))} repeated ids")
            again = work / "mix-again"
            run([winnow, "mix", dom, "--weights", weights, "--budget", b, *args, "--manifest", work / "again.json",
                 "-o", again, "--compression", "none", "--seed", "7"])
            same = [f.read_bytes() for f in sorted(out.iterdir())] == [f.read_bytes() for f in sorted(again.iterdir())]
            other = work / "mix-seed"
            run([winnow, "mix", dom, "--weights", weights, "--budget", b, *args, "--manifest", work / "seed.json",
                 "-o", other, "--compression", "none", "--seed", "8"])
            differ = [f.read_bytes() for f in sorted(out.iterdir())] != [f.read_bytes() for f in sorted(other.iterdir())]
            check("mix: the same seed writes the same bytes; another seed samples other documents", same and differ)
    # The recipe stage: the same mixture as `winnow mix`, for 1 and 3 local workers.
    shards = work / "dom-shards"
    run([winnow, "cat", dom, "-o", shards, "--max-shard-docs", "60", "--compression", "none"])
    cli_manifest = json.loads((work / "mix-tokens.json").read_text())
    outs = {}
    for workers in (1, 3):
        recipe = work / f"mix-recipe-{workers}.yaml"
        recipe.write_text(
            f"name: mix-{workers}\nseed: 0\nworkers: {workers}\nexecutor: local\n"
            f"input: {{paths: [\"{shards}\"]}}\n"
            f"output: {{path: \"{work / f'rmix-{workers}'}\", compression: none}}\n"
            f"stages:\n  - mix: {{weights: \"{weights}\", budget: {budget}, tokenizer: \"{tokenizer}\", seed: 7,"
            f" manifest: \"{work / f'rmix-{workers}.json'}\"}}\n")
        run([winnow, "run", recipe])
        docs = []
        for f in sorted((work / f"rmix-{workers}").glob("part-*.jsonl")):
            docs += f.read_text().splitlines()
        outs[workers] = (docs, json.loads((work / f"rmix-{workers}.json").read_text()))
    same_docs = outs[1][0] == outs[3][0] and len(outs[1][0]) > 0
    def per_domain(m):
        return {r["domain"]: (r["written"], r["documents_written"], r["capped"]) for r in m["domains"] if r["documents"]}
    check("mix as a recipe stage: 1 and 3 workers write the same documents, and the manifest of `winnow mix`",
          same_docs and per_domain(outs[1][1]) == per_domain(outs[3][1]) == per_domain(cli_manifest),
          f"same documents {same_docs}; {per_domain(outs[1][1])} / {per_domain(outs[3][1])} / {per_domain(cli_manifest)}")
    # A schedule: 80 % by one mixture, then 20 % upsampling doc and license.
    anneal = work / "anneal.yaml"
    anneal.write_text("man: 0.2\ndoc: 0.5\nlicense: 0.3\n")
    sched, manifest = work / "mix-phases", work / "mix-phases.json"
    b = 1_000_000
    run([winnow, "mix", dom, "--phase", f"0.8:{weights}", "--phase", f"0.2:{anneal}", "--budget", b,
         "--tokenizer", tokenizer, "--manifest", manifest, "-o", sched, "--compression", "none"])
    m = json.loads(manifest.read_text())
    wrong = []
    seen = {}
    for ph in m["phases"]:
        out = Path(ph["output"])
        got = json.loads(run([winnow, "stats", "--by", "domain", "--json", "--tokenizer", tokenizer, out]))["by"]["groups"]
        docs = read_jsonl_dir(out)
        for r in ph["domains"]:
            if r["written"] != got.get(r["domain"], {}).get("tokens", 0):
                wrong.append(f"phase {ph['phase']} {r['domain']}: manifest {r['written']}, output {got.get(r['domain'])}")
        seen[ph["phase"]] = {d["id"] for d in docs if d["domain"] == "man"}
        if abs(ph["written"] - ph["budget"]) > max(available.values()):
            wrong.append(f"phase {ph['phase']}: {ph['written']} of {ph['budget']}")
    check("mix --phase: each phase's output holds the tokens its manifest states, to its share of the budget",
          not wrong and [p["budget"] for p in m["phases"]] == [800_000, 200_000], "; ".join(wrong))
    man = [r for ph in m["phases"] for r in ph["domains"] if r["domain"] == "man"]
    check("mix --phase: a later phase continues a domain where the earlier stopped (no document twice within an epoch)",
          man[-1]["epochs_so_far"] <= 1 and not (seen[1] & seen[2]) and seen[1] and seen[2],
          f"epochs so far {man[-1]['epochs_so_far']}, shared ids {len(seen[1] & seen[2])}")
    # Refusals.
    p = subprocess.run([str(winnow), "mix", str(dom), "--weights", str(weights), "--budget", str(budget * 100),
                        "--unit", "words", "--manifest", str(work / "x.json"), "-o", str(work / "x")],
                       capture_output=True, text=True)
    check("mix: a budget past max_epochs is a usage error that says so", p.returncode == 2 and "max_epochs" in p.stderr,
          p.stderr[-300:])
    p = subprocess.run([str(winnow), "mix", "-", "--weights", str(weights), "--budget", "10", "--unit", "words",
                        "--manifest", str(work / "y.json")], input="", capture_output=True, text=True)
    check("mix: standard input is refused (it is read twice)", p.returncode == 2 and "twice" in p.stderr, p.stderr[-300:])
    p = subprocess.run([str(winnow), "mix", str(dom), "--weights", str(weights), "--budget", "10", "--unit", "words",
                        "--manifest", str(weights), "-o", str(work / "z")], capture_output=True, text=True)
    check("mix: a manifest over the weights file is refused, the file intact",
          p.returncode == 2 and weights.read_text().startswith("man: 0.5"), p.stderr[-300:])


def loop_checks(winnow, py, work):
    import signal
    dom = work / "loop-dom"
    run([winnow, "domain", "--rules", "source=license -> license,source=doc -> doc,lang=en -> man-en",
         "--default", "man-intl", ROOT / "Samples" / "web", "-o", dom, "--compression", "none"])
    prep = work / "prep"
    run([winnow, "mixture", "prepare", dom, "--tokenizer", ROOT / "Recipes" / "models" / "sample-bpe-4k.json",
         "-o", prep])
    proposals = work / "proposals.csv"
    run([winnow, "mixture", "propose", "--prior", prep, "-n", "24", "--multiplier", "50", "-o", proposals])
    common = ["--mixtures", proposals, "--prepared", prep, "--tokens", "100000"]
    straight = work / "runs-straight"
    run([winnow, "mixture", "run", *common, "--executor", "inline", "-o", straight])
    killed = work / "runs-killed"
    p = subprocess.Popen([str(x) for x in [winnow, "mixture", "run", *common, "--executor", "local", "--workers", "2",
                                           "-o", killed]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and p.poll() is None:
        if len(list(killed.glob("run-*/losses.json"))) >= 3:
            break
        time.sleep(0.05)
    finished = len(list(killed.glob("run-*/losses.json")))
    was_running = p.poll() is None
    if was_running:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    out = run([winnow, "mixture", "run", *common, "--executor", "local", "--workers", "2", "-o", killed])
    m = re.search(r"(\d+) proxy runs \((\d+) already done\)", out)
    kept = int(m.group(2)) if m else -1
    same = (killed / "losses.csv").read_text() == (straight / "losses.csv").read_text()
    check("proxy runs: killed with SIGKILL after some finished, the rerun keeps them and ends with a straight run's losses",
          was_running and kept >= finished >= 3 and kept < 24 and same,
          f"running when killed: {was_running}, finished {finished}, kept {kept}, losses equal: {same}")
    # A changed mixture reruns its run alone.
    lines = proposals.read_text().splitlines()
    cells = lines[5].split(",")
    cells[1], cells[2] = cells[2], cells[1]
    lines[5] = ",".join(cells)
    proposals.write_text("\n".join(lines) + "\n")
    out = run([winnow, "mixture", "run", *common, "--executor", "inline", "-o", killed], )
    m = re.search(r"(\d+) proxy runs \((\d+) already done\)", out)
    check("proxy runs: a changed mixture reruns that run alone", m is not None and int(m.group(2)) == 23, out[-300:])
    # Fit on the runs, optimise, and check the optimum with fresh proxy runs.
    run([winnow, "mixture", "fit", "--model", "linear", "--mixtures", killed / "mixtures.csv", "--losses",
         killed / "losses.csv", "--target", "valid/doc", "-o", work / "loop-model.json"])
    run([winnow, "mixture", "optimize", "--model", work / "loop-model.json", "--prior", prep, "--draws", "20000",
         "-o", work / "loop-weights.yaml"])
    (work / "uniform.yaml").write_text("doc: 1\nlicense: 1\nman-en: 1\nman-intl: 1\n")
    scores = {}
    for name, mixture in (("optimum", work / "loop-weights.yaml"), ("uniform", work / "uniform.yaml"), ("prior", prep)):
        run([winnow, "mixture", "proxy", "--prepared", prep, "--mixture", mixture, "--tokens", "100000",
             "-o", work / f"eval-{name}.json"])
        scores[name] = json.loads((work / f"eval-{name}.json").read_text())["losses"]["doc"]
    check("proxy loop: the optimised mixture's target loss beats the uniform and the token-prior mixtures'",
          scores["optimum"] < min(scores["uniform"], scores["prior"]), f"{scores}")
    print("  proxy loop, valid/doc: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    # The PyTorch proxy (scripts/proxy_train.py) for a few CPU steps, through `mixture run
    # --command`, when torch is importable (WINNOW_TORCH_PYTHON names a Python that has it).
    torch_py = os.environ.get("WINNOW_TORCH_PYTHON", py)
    has_torch = subprocess.run([torch_py, "-c", "import torch, numpy"], capture_output=True).returncode == 0
    if has_torch:
        lib = Path(winnow).parent / "libWinnowFeedC.so"
        command = json.dumps([torch_py, str(ROOT / "scripts" / "proxy_train.py"), "--prepared", "{prepared}",
                              "--mixture", "{mixture}", "--out", "{out}", "--seed", "{seed}", "--steps", "3",
                              "--batch", "4", "--seq-len", "32", "--dim", "32", "--heads", "2", "--eval-windows", "4",
                              "--device", "cpu"])
        few = work / "few.csv"
        few.write_text("\n".join(proposals.read_text().splitlines()[:3]) + "\n")
        env = dict(os.environ, WINNOW_FEED_LIBRARY=str(lib))
        p = subprocess.run([str(winnow), "mixture", "run", "--mixtures", str(few), "--prepared", str(prep), "--command",
                            command, "--executor", "inline", "-o", str(work / "torch-runs")],
                           capture_output=True, text=True, env=env)
        ok = p.returncode == 0 and len(read_rows(work / "torch-runs" / "losses.csv")[1]) == 2
        check("proxy_train.py: a PyTorch GPT trained from the mixture stream for 3 steps on CPU, per mixture, "
              "through mixture run --command", ok, (p.stdout + p.stderr)[-800:])
    else:
        print("SKIP proxy_train.py: torch is not importable (set WINNOW_TORCH_PYTHON to a Python with torch)")
    # A damaged token file is named.
    victim = sorted(prep.glob("*.train.bin"))[0]
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF
    victim.write_bytes(bytes(data))
    p = subprocess.run([str(winnow), "mixture", "proxy", "--prepared", str(prep), "--mixture", str(killed / "run-0001" / "mixture.json"),
                        "--tokens", "1000", "-o", str(work / "x.json")], capture_output=True, text=True)
    check("proxy: a changed prepared token file is an error naming it", p.returncode == 1 and str(victim) in p.stderr
          and "checksum" in p.stderr and not (work / "x.json").exists(), p.stderr[-300:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--winnow", default=str(ROOT / ".build/debug/winnow"))
    args = ap.parse_args()
    winnow = os.path.abspath(args.winnow)
    py = mixing_python()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="winnow-mixing-") as d:
        work = Path(d)
        for part in (regmix, proposals, doremi, qqt, mix_checks, loop_checks):
            try:
                part(winnow, py, work)
            except Exception as e:  # one part's failure is reported, the others still run
                check(f"{part.__name__}: ran", False, str(e)[-1500:])
    print(f"mixing parity in {time.monotonic() - t0:.0f} s")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
