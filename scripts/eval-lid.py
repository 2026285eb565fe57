#!/usr/bin/env python3
"""Score language-identification predictions against a fastText-format test file.

    fasttext predict MODEL.bin TEST.txt > PRED.txt
    python3 scripts/eval-lid.py PRED.txt TEST.txt [--json]

PRED.txt has one predicted label per line (`__label__xx`, as `fasttext predict` prints with
k=1; with k>1 the first label on the line is taken; a line may also carry a probability, as
`predict-prob` prints; an empty line counts as no prediction), in the order of TEST.txt,
whose lines start with their gold label (`__label__xx text`; the first label counts).
Prints per-language precision, recall, F1 and support (gold lines) as a Markdown table
sorted by language code, then accuracy, the macro and support-weighted averages and the most
frequent confusions; with --json, the same figures as one JSON object. A language that is
only ever predicted, never gold, is listed with support 0 and left out of the averages.
Standard library only.
"""

import argparse
import collections
import json
import sys

PREFIX = "__label__"
NONE = "(none)"


def first_label(line, where, lineno):
    for tok in line.split():
        if tok.startswith(PREFIX):
            return tok[len(PREFIX):]
        break
    sys.exit("eval-lid: %s line %d does not start with a %sxx label: %r"
             % (where, lineno, PREFIX, line[:80]))


def read_labels(path, what):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if what == "pred" and not line.strip():
                out.append(NONE)  # no prediction (fastText prints nothing for an empty text)
                continue
            out.append(first_label(line, path, i))
    return out


def score(gold, pred):
    tp, fp, fn = collections.Counter(), collections.Counter(), collections.Counter()
    support = collections.Counter(gold)
    confusions = collections.Counter()
    for g, p in zip(gold, pred):
        if g == p:
            tp[g] += 1
        else:
            if p != NONE:
                fp[p] += 1
            fn[g] += 1
            confusions[(g, p)] += 1
    langs = sorted((set(gold) | set(pred)) - {NONE})
    per = {}
    for l in langs:
        prec = tp[l] / (tp[l] + fp[l]) if tp[l] + fp[l] else 0.0
        rec = tp[l] / support[l] if support[l] else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[l] = {"precision": prec, "recall": rec, "f1": f1, "support": support[l],
                  "predicted": tp[l] + fp[l]}
    gold_langs = [l for l in langs if support[l]]
    n = len(gold_langs) or 1
    macro = {k: sum(per[l][k] for l in gold_langs) / n for k in ("precision", "recall", "f1")}
    weighted = {k: sum(per[l][k] * support[l] for l in gold_langs) / (len(gold) or 1)
                for k in ("precision", "recall", "f1")}
    return {
        "lines": len(gold),
        "correct": sum(tp.values()),
        "accuracy": sum(tp.values()) / len(gold) if gold else 0.0,
        "macro": macro,
        "weighted": weighted,
        "languages": per,
        "confusions": [{"gold": g, "predicted": p, "count": c}
                       for (g, p), c in sorted(confusions.items(), key=lambda x: (-x[1], x[0]))],
    }


def markdown(r, top_confusions=10):
    out = ["| language | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for l, m in sorted(r["languages"].items()):
        out.append("| %s | %.4f | %.4f | %.4f | %d |" % (l, m["precision"], m["recall"], m["f1"],
                                                        m["support"]))
    ma, wa = r["macro"], r["weighted"]
    out.append("| **macro avg** | %.4f | %.4f | %.4f | %d |" % (ma["precision"], ma["recall"],
                                                              ma["f1"], r["lines"]))
    out.append("| **weighted avg** | %.4f | %.4f | %.4f | %d |" % (wa["precision"], wa["recall"],
                                                                 wa["f1"], r["lines"]))
    out.append("")
    out.append("Accuracy: %.4f (%d / %d)" % (r["accuracy"], r["correct"], r["lines"]))
    if r["confusions"]:
        out.append("")
        out.append("Most frequent confusions (gold -> predicted): " + ", ".join(
            "%s->%s %d" % (c["gold"], c["predicted"], c["count"])
            for c in r["confusions"][:top_confusions]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("predictions", help="output of `fasttext predict MODEL TEST`")
    ap.add_argument("test", help="fastText-format test file (__label__xx text)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = ap.parse_args()
    gold = read_labels(args.test, "test")
    pred = read_labels(args.predictions, "pred")
    if len(gold) != len(pred):
        sys.exit("eval-lid: %d predictions for %d test lines; they must be in the same order"
                 % (len(pred), len(gold)))
    r = score(gold, pred)
    if args.json:
        json.dump(r, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(markdown(r))


if __name__ == "__main__":
    main()
