#!/usr/bin/env python3
"""Data-safety checks of the real `winnow` binary: ordinary mistakes and accidents must never
destroy an input, never turn a lost, stale or changed file into a different answer, and never
crash on hostile files.

    python3 Tests/parity/safety_checks.py --winnow .build/debug/winnow

Python 3 standard library only (plus the `zstd` tool). Each check prints PASS or FAIL; the
last line is `N passed, M failed`, and the exit code is 1 when anything failed. The checks are
grouped by the fault they guard against; each states what must hold.
"""

import argparse
import base64
import fcntl
import glob
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEB_SHARDS = sorted(glob.glob(os.path.join(ROOT, "Samples", "web", "*.jsonl.zst")))
DEDUP_CORPUS = os.path.join(ROOT, "Samples", "dedup", "corpus.jsonl.zst")

WINNOW = None
TMP = None
PASSED = 0
FAILED = 0
ONLY = None


def report(ok, name, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
    else:
        FAILED += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)


def check(name, fn):
    if ONLY and not any(o.lower() in name.lower() for o in ONLY):
        return
    t0 = time.monotonic()
    try:
        ok, detail = fn()
    except Exception as e:  # a crash of the check is a failure, not a crash of the script
        ok, detail = False, f"exception: {e!r}\n{traceback.format_exc()}"
    report(ok, name, f"{detail} [{time.monotonic() - t0:.1f}s]")


def winnow(*args, cwd=None, stdin=None, timeout=300, stdout=subprocess.PIPE):
    return subprocess.run([WINNOW, *args], input=stdin, stdout=stdout, stderr=subprocess.PIPE,
                          cwd=cwd or TMP, timeout=timeout)


def err(r):
    return r.stderr.decode("utf-8", errors="replace").strip()


def short(s, n=300):
    s = s.decode("utf-8", errors="replace") if isinstance(s, (bytes, bytearray)) else str(s)
    return s if len(s) <= n else s[:n] + f"… ({len(s)} chars)"


def zcat(path):
    return subprocess.run(["zstd", "-dc", path], stdout=subprocess.PIPE, check=True).stdout


def read_any(path):
    with open(path, "rb") as f:
        data = f.read()
    return zcat(path) if data.startswith(b"\x28\xb5\x2f\xfd") else data


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tree_hashes(d):
    """{relative path: sha256} of every file under d."""
    out = {}
    for root, _, files in os.walk(d):
        for n in files:
            p = os.path.join(root, n)
            out[os.path.relpath(p, d)] = sha(p)
    return out


def fresh_dir(name):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def sample_jsonl(d, name="in.jsonl", shard=0, n=None):
    data = zcat(WEB_SHARDS[shard])
    if n is not None:
        data = b"".join(l + b"\n" for l in data.split(b"\n")[:n])
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def expect(r, code, *contains):
    """(ok, detail) for exit `code` and every text in stderr."""
    e = err(r)
    if r.returncode != code:
        return False, f"exit {r.returncode}, expected {code}: {short(e)}"
    missing = [c for c in contains if c not in e]
    if missing:
        return False, f"stderr lacks {missing}: {short(e)}"
    return True, f"exit {code}: {short(e, 160)}"


def all_ok(*results):
    for ok, detail in results:
        if not ok:
            return False, detail
    return True, "; ".join(d for _, d in results)


def write_recipe(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def kept_ids(out):
    ids = []
    for n in sorted(os.listdir(out)):
        if n.startswith("part-"):
            for l in read_any(os.path.join(out, n)).split(b"\n"):
                if l:
                    ids.append(json.loads(l)["id"])
    return ids


def stats(out):
    with open(os.path.join(out, "stats.json")) as f:
        return json.load(f)


def run_dir_records(out, pass_):
    d = os.path.join(out, ".winnow", "tasks")
    return sorted(n for n in os.listdir(d) if n.startswith(f"p{pass_}-"))


# --------------------------------------------------------------------------------------------
# 1. Outputs that overlap inputs


def c_output_is_input():
    d = fresh_dir("overlap-file")
    inp = sample_jsonl(d, n=60)
    before = sha(inp)
    os.symlink("in.jsonl", os.path.join(d, "link.jsonl"))
    os.link(inp, os.path.join(d, "hard.jsonl"))
    os.makedirs(os.path.join(d, "sub"))
    results = []
    for args in (["-o", "in.jsonl"], ["-o", "./sub/../in.jsonl"], ["-o", "link.jsonl"], ["-o", "hard.jsonl"],
                 ["-o", os.path.join(d, "in.jsonl")], ["-o", "out.jsonl", "--rejects", "in.jsonl"],
                 ["-o", "out.jsonl", "--quarantine", "in.jsonl"], ["-o", "out.jsonl", "--stats", "in.jsonl"]):
        r = winnow("length", "--min-words", "50", "in.jsonl", *args, cwd=d)
        results.append(expect(r, 2, "in.jsonl"))
        if sha(inp) != before:
            return False, f"{args}: the input was changed"
    if os.path.exists(os.path.join(d, "out.jsonl")):
        return False, "an output was written although the command was refused"
    return all_ok(*results, (True, "input unchanged"))


def input_directory(name):
    """A fresh directory holding data/ with two input shards named like Winnow's own
    (part-00000.jsonl …). Returns (directory, data directory, hashes of data/)."""
    d = fresh_dir(name)
    data = os.path.join(d, "data")
    os.makedirs(data)
    for k in range(2):
        sample_jsonl(data, f"part-{k:05d}.jsonl", shard=k, n=40)
    return d, data, tree_hashes(data)


def c_output_dir_is_input_dir():
    d, data, before = input_directory("overlap-dir")
    res = []
    for args in (["data/", "-o", "data/", "--force"], ["data/", "-o", "data/kept/"],
                 ["data/part-00000.jsonl", "-o", "data/", "--force"], ["data/", "-o", "data/all.jsonl"],
                 ["data/", "-o", ".", "--force"]):
        r = winnow("length", "--min-words", "5", *args, cwd=d)
        res.append(expect(r, 2, "data"))
        if tree_hashes(data) != before:
            return False, f"{args}: the input directory changed: {sorted(tree_hashes(data))}"
    return all_ok(*res, (True, "inputs intact"))


def c_stdout_into_input():
    d = fresh_dir("overlap-stdout")
    inp = sample_jsonl(d, n=30)
    before = sha(inp)
    with open(inp, "ab") as f:
        r = subprocess.run([WINNOW, "cat", inp], stdout=f, stderr=subprocess.PIPE, cwd=d, timeout=60)
    ok = expect(r, 2, "in.jsonl")
    if sha(inp) != before:
        return False, "winnow cat in.jsonl >> in.jsonl changed the input"
    with open(inp, "ab") as f:
        r2 = subprocess.run([WINNOW, "words", inp], stdout=f, stderr=subprocess.PIPE, cwd=d, timeout=60)
    if sha(inp) != before:
        return False, "winnow words in.jsonl >> in.jsonl changed the input"
    return all_ok(ok, expect(r2, 2, "in.jsonl"))


def c_force_removes_only_own_shards():
    d = fresh_dir("force-own")
    inp = sample_jsonl(d, n=80)
    out = os.path.join(d, "out")
    r = winnow("cat", inp, "-o", "out/", "--max-shard-docs", "20", cwd=d)
    if r.returncode != 0:
        return False, f"first run: {err(r)}"
    first = sorted(os.listdir(out))
    # A foreign file named like a shard appears: --force must not remove it, and must refuse.
    foreign = os.path.join(out, "part-00009.jsonl.zst")
    with open(foreign, "wb") as f:
        f.write(b"not winnow's")
    r2 = winnow("cat", inp, "-o", "out/", "--force", cwd=d)
    res = expect(r2, 2, "part-00009.jsonl.zst")
    if not os.path.exists(foreign) or open(foreign, "rb").read() != b"not winnow's":
        return False, "--force removed or changed a file Winnow did not write"
    os.unlink(foreign)
    r3 = winnow("cat", inp, "-o", "out/", "--force", "--max-shard-docs", "50", cwd=d)
    if r3.returncode != 0:
        return False, f"--force over Winnow's own shards: exit {r3.returncode}: {err(r3)}"
    now = sorted(n for n in os.listdir(out) if n.startswith("part-"))
    if now != ["part-00000.jsonl.zst", "part-00001.jsonl.zst"]:
        return False, f"after --force: {now} (first run wrote {first})"
    return all_ok(res, (True, "own shards replaced, foreign one refused and kept"))


def c_recipe_output_is_input():
    d, data, before = input_directory("recipe-overlap")
    res = []
    for extra, what in ((("path: data",), "output.path = input directory"),
                        (("path: out", "rejects: data/rej.jsonl"), "rejects inside the input directory"),
                        (("path: out", "quarantine: data"), "quarantine = input directory"),
                        (("path: .",), "output.path contains the inputs")):
        rec = write_recipe(os.path.join(d, "r.yaml"), "name: x\ninput: {paths: [data/]}\noutput:\n"
                           + "".join(f"  {e}\n" for e in extra) + "stages:\n  - length: {min_words: 5}\n")
        r = winnow("run", rec, "--fresh", "--no-progress", cwd=d)
        res.append(expect(r, 2, "data"))
        if tree_hashes(data) != before:
            return False, f"{what}: the inputs changed"
    return all_ok(*res, (True, "inputs intact"))


def c_fresh_removes_only_listed():
    d = fresh_dir("fresh-listed")
    data = os.path.join(d, "data")
    os.makedirs(data)
    sample_jsonl(data, "a.jsonl", n=50)
    rec = write_recipe(os.path.join(d, "r.yaml"),
                       "name: x\ninput: {paths: [data/]}\noutput: {path: out}\nstages:\n  - length: {min_words: 5}\n")
    r = winnow("run", rec, "--no-progress", cwd=d)
    if r.returncode != 0:
        return False, f"first run: {err(r)}"
    mine = os.path.join(d, "out", "part-00042-00000.jsonl")
    with open(mine, "w") as f:
        f.write("a file the user put here\n")
    r2 = winnow("run", rec, "--fresh", "--no-progress", cwd=d)
    res = expect(r2, 2, "part-00042-00000.jsonl")
    if not os.path.exists(mine):
        return False, "--fresh removed a file no run state lists"
    # Shards without any plan in the directory are refused too (and kept).
    d2 = os.path.join(d, "other")
    os.makedirs(d2)
    with open(os.path.join(d2, "part-00000.jsonl"), "w") as f:
        f.write('{"text": "mine"}\n')
    rec2 = write_recipe(os.path.join(d, "r2.yaml"),
                        "name: x\ninput: {paths: [data/]}\noutput: {path: other}\nstages: []\n")
    r3 = winnow("run", rec2, "--fresh", "--no-progress", cwd=d)
    if not os.path.exists(os.path.join(d2, "part-00000.jsonl")):
        return False, "--fresh removed a shard in a directory without a plan"
    return all_ok(res, expect(r3, 2, "part-00000.jsonl"))


def c_stage_files_are_inputs():
    d = fresh_dir("stage-files")
    inp = sample_jsonl(d, n=20)
    words = os.path.join(d, "words.txt")
    with open(words, "w") as f:
        f.write("lorem\nipsum\n")
    before = sha(words)
    r = winnow("wordlist", "--words-file", "words.txt", "in.jsonl", "-o", "words.txt", cwd=d)
    res = [expect(r, 2, "words.txt")]
    rec = write_recipe(os.path.join(d, "r.yaml"),
                       "name: x\ninput: {paths: [in.jsonl]}\noutput: {path: out, rejects: words.txt}\n"
                       "stages:\n  - wordlist: {words_file: [words.txt]}\n")
    res.append(expect(winnow("run", rec, "--no-progress", cwd=d), 2, "words.txt"))
    if sha(words) != before:
        return False, "the word list was overwritten"
    rec2 = write_recipe(os.path.join(d, "r2.yaml"),
                        "name: x\ninput: {paths: [in.jsonl]}\noutput: {path: out2}\n"
                        "stages:\n  - bloom_dedup: {save: in.jsonl}\n")
    res.append(expect(winnow("run", rec2, "--no-progress", cwd=d), 2, "in.jsonl"))
    return all_ok(*res)


def c_fasttext_outputs_are_not_inputs():
    d = fresh_dir("fasttext-overlap")
    lines = [f"__label__{'ab'[k % 2]} word{k % 7} other{k % 5} text" for k in range(60)]
    with open(os.path.join(d, "train.bin"), "w") as f:  # a training file that happens to be named .bin
        f.write("\n".join(lines) + "\n")
    before = sha(os.path.join(d, "train.bin"))
    r = winnow("fasttext", "supervised", "-input", "train.bin", "-output", "train", "-dim", "4", "-epoch", "1", cwd=d)
    res = [expect(r, 2, "train.bin")]
    if sha(os.path.join(d, "train.bin")) != before:
        return False, "fasttext supervised overwrote its training file"
    ok = winnow("fasttext", "supervised", "-input", "train.bin", "-output", "m", "-dim", "4", "-epoch", "1", cwd=d)
    if ok.returncode != 0:
        return False, f"training: {err(ok)}"
    model = sha(os.path.join(d, "m.bin"))
    with open(os.path.join(d, "m.bin"), "ab") as f:
        r2 = subprocess.run([WINNOW, "fasttext", "predict", "m.bin", "train.bin"], stdout=f, stderr=subprocess.PIPE, cwd=d)
    res.append(expect(r2, 2, "m.bin"))
    if sha(os.path.join(d, "m.bin")) != model:
        return False, "predict >> model.bin changed the model"
    return all_ok(*res)


# --------------------------------------------------------------------------------------------
# 2. Missing, extra or stale intermediate files


def dedup_recipe(d, stage, name="r.yaml", out="out", files_per_task=2):
    src = os.path.join(d, "data")
    if not os.path.isdir(src):
        os.makedirs(src)
        # The dedup sample split into shards, so that tasks see each other's duplicates.
        lines = [l for l in zcat(DEDUP_CORPUS).split(b"\n") if l]
        per = (len(lines) + 5) // 6
        for k in range(6):
            with open(os.path.join(src, f"s{k}.jsonl"), "wb") as f:
                f.write(b"".join(l + b"\n" for l in lines[k * per:(k + 1) * per]))
    return write_recipe(os.path.join(d, name), f"name: dd\ninput: {{paths: [data/]}}\nfiles_per_task: {files_per_task}\n"
                        f"output: {{path: {out}}}\nstages:\n  - {stage}\n")


def reference_ids(d, stage):
    rec = dedup_recipe(d, stage, name="ref.yaml", out="ref")
    r = winnow("run", rec, "--fresh", "--no-progress", cwd=d)
    if r.returncode != 0:
        raise RuntimeError(f"reference run: {err(r)}")
    return kept_ids(os.path.join(d, "ref"))


def phase_files(out, pattern):
    """The intermediate files of the run's global stage matching `pattern` (`pN/NAME`): each
    global stage keeps its passes under .winnow/phase/gK-NAME/ (a single directory before)."""
    found = sorted(glob.glob(os.path.join(out, ".winnow", "phase", "g*", pattern)))
    return found or sorted(glob.glob(os.path.join(out, ".winnow", "phase", pattern)))


def lost_file_case(stage, pattern, label):
    """Runs `stage`, then — as if the run had been interrupted right after the pass that wrote
    the file — removes every record of the later passes and the shards, deletes one
    intermediate file matching `pattern` (in .winnow/phase/gK-NAME/pN/), and runs again. The result must
    equal the reference (the file's task is redone), never keep more documents. A worker asked
    to run a task that reads the file must fail naming it."""
    d = fresh_dir("lost-" + label)
    want = reference_ids(d, stage)
    rec = dedup_recipe(d, stage)
    out = os.path.join(d, "out")
    r = winnow("run", rec, "--no-progress", cwd=d)
    if r.returncode != 0:
        return False, f"first run: {err(r)}"
    plan = json.load(open(os.path.join(out, ".winnow", "plan.json")))
    apply_pass = len(plan["passes"]) - 1
    victims = phase_files(out, pattern)
    if not victims:
        return False, f"no intermediate file matches {pattern}"
    victim = victims[len(victims) // 2]
    os.unlink(victim)
    written_by = int(pattern.split("/")[0][1:])
    tasks = os.path.join(out, ".winnow", "tasks")
    for n in os.listdir(tasks):
        if int(n.split("-")[0][1:]) > written_by:
            os.unlink(os.path.join(tasks, n))
    # A worker of the next pass that needs the file names it (marks: the apply task they are for).
    direct = []
    if ".marks" in pattern:
        consumer_task = int(os.path.basename(victim).rsplit("-t", 1)[1].split(".")[0])
    else:
        consumer_task = int(os.path.basename(victim).split("-b")[1][:4])
    consumer = subprocess.run([WINNOW, "worker", out, "--pass", str(written_by + 1), "--task", str(consumer_task)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=d, timeout=120)
    direct.append(expect(consumer, 1, os.path.basename(victim)))
    for n in os.listdir(tasks):
        if int(n.split("-")[0][1:]) > written_by:
            os.unlink(os.path.join(tasks, n))
    for n in os.listdir(out):
        if n.startswith("part-"):
            os.unlink(os.path.join(out, n))
    r2 = winnow("run", rec, "--no-progress", cwd=d)
    if r2.returncode != 0:
        return False, f"rerun exit {r2.returncode}: {err(r2)}"
    got = kept_ids(out)
    if got != want:
        return False, f"rerun after losing {os.path.basename(victim)} kept {len(got)} documents, the reference {len(want)}"
    return all_ok(*direct, (True, f"lost {os.path.basename(victim)}: redone, same {len(got)} documents kept"))


def c_lost_exact_marks():
    return lost_file_case("exact_dedup: {buckets: 3}", "p1/*-p2-t00000.marks", "exact-marks")


def c_lost_exact_run():
    return lost_file_case("exact_dedup: {buckets: 3}", "p0/p0-t00001-b0001-*.run", "exact-run")


def c_lost_minhash_spill():
    return lost_file_case("minhash_dedup: {spill_entries: 1024, buckets: 3}", "p0/p0-t00001-b0002-c0001.bands",
                          "minhash-spill")


def c_lost_minhash_marks():
    return lost_file_case("minhash_dedup: {buckets: 3}", "p2/*.marks", "minhash-marks")


def c_extra_intermediate_file():
    """A file in a pass's directory that no task recorded (a leftover) makes its reader fail,
    naming it; it is never read as if it belonged."""
    d = fresh_dir("extra-file")
    rec = dedup_recipe(d, "exact_dedup: {buckets: 3}")
    out = os.path.join(d, "out")
    r = winnow("run", rec, "--no-progress", cwd=d)
    if r.returncode != 0:
        return False, f"first run: {err(r)}"
    src = phase_files(out, "p0/p0-t00000-b0000-c0000.run")[0]
    extra = src.replace("-c0000.run", "-c0007.run")
    shutil.copy(src, extra)
    os.unlink(os.path.join(out, ".winnow", "tasks", "p1-t00000.json"))
    w = subprocess.run([WINNOW, "worker", out, "--pass", "1", "--task", "0"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, cwd=d, timeout=120)
    return expect(w, 1, os.path.basename(extra))


# --------------------------------------------------------------------------------------------
# 3. Inputs that change between a partial run and its resume


INPUT_CHANGE_STAGE = "exact_dedup: {buckets: 2}"


def run_until_apply(name):
    """An exact_dedup run whose apply pass "did not finish": every pass ran, then the apply
    records were removed. Returns (directory, recipe, output directory)."""
    d = fresh_dir(name)
    rec = dedup_recipe(d, INPUT_CHANGE_STAGE, files_per_task=1)
    out = os.path.join(d, "out")
    r = winnow("run", rec, "--no-progress", cwd=d)
    if r.returncode != 0:
        raise RuntimeError(f"first run: {err(r)}")
    for n in os.listdir(os.path.join(out, ".winnow", "tasks")):
        if n.startswith("p2-"):
            os.unlink(os.path.join(out, ".winnow", "tasks", n))
    return d, rec, out


def c_input_changed_before_resume():
    d, rec, out = run_until_apply("input-changed")
    stage = INPUT_CHANGE_STAGE
    # Meanwhile s0 gained a new first line.
    s0 = os.path.join(d, "data", "s0.jsonl")
    with open(s0, "rb") as f:
        old = f.read()
    with open(s0, "wb") as f:
        f.write(b'{"id": "new-first", "text": "a brand new first document"}\n' + old)
    r2 = winnow("run", rec, "--no-progress", cwd=d)
    if r2.returncode != 0:
        return False, f"resume after the change: exit {r2.returncode}: {err(r2)}"
    want = reference_ids(d, stage)
    got = kept_ids(out)
    if got != want:
        return False, f"resume kept {len(got)} documents, a fresh run on the changed input {len(want)}"
    return True, f"the changed input's passes were redone: {len(got)} documents, as a fresh run"


def c_input_changed_same_size_and_time():
    """Content changes that keep size and modification time are caught by the checksum the map
    pass recorded: the apply task fails naming the input (nothing written), and the next run
    redoes the passes that depend on it."""
    d, rec, out = run_until_apply("input-sneaky")
    stage = INPUT_CHANGE_STAGE
    s0 = os.path.join(d, "data", "s0.jsonl")
    st = os.stat(s0)
    lines = open(s0, "rb").read().split(b"\n")
    lines[0], lines[1] = lines[1], lines[0]
    with open(s0, "wb") as f:
        f.write(b"\n".join(lines))
    os.utime(s0, ns=(st.st_atime_ns, st.st_mtime_ns))
    r2 = winnow("run", rec, "--no-progress", cwd=d)
    first = expect(r2, 1, "s0.jsonl", "changed")
    r3 = winnow("run", rec, "--no-progress", cwd=d)
    if r3.returncode != 0:
        return False, f"the run after the refusal: exit {r3.returncode}: {err(r3)}"
    want = reference_ids(d, stage)
    got = kept_ids(out)
    if got != want:
        return False, f"kept {len(got)}, a fresh run {len(want)}"
    return all_ok(first, (True, f"then redone: {len(got)} documents, as a fresh run"))


# --------------------------------------------------------------------------------------------
# 5. Symlinks and devices


def c_output_to_stdout_symlink_and_devices():
    d = fresh_dir("devices")
    inp = sample_jsonl(d, n=40)
    want = open(inp, "rb").read()
    res = []
    link_before = os.readlink("/dev/stdout") if os.path.islink("/dev/stdout") else None
    with open(os.path.join(d, "o1.jsonl"), "wb") as f:
        r = subprocess.run([WINNOW, "cat", "in.jsonl", "-o", "/dev/stdout"], stdout=f, stderr=subprocess.PIPE, cwd=d)
    res.append(expect(r, 0))
    if open(os.path.join(d, "o1.jsonl"), "rb").read() != want:
        return False, "-o /dev/stdout > file did not write the documents to the file"
    if link_before is not None and (not os.path.islink("/dev/stdout") or os.readlink("/dev/stdout") != link_before):
        return False, "/dev/stdout was replaced"
    with open(os.path.join(d, "rej.jsonl"), "wb") as f:
        r = subprocess.run([WINNOW, "length", "--min-words", "100000", "in.jsonl", "-o", "/dev/null",
                            "--rejects", "/dev/stderr"], stdout=subprocess.PIPE, stderr=f, cwd=d)
    if r.returncode != 0 or want.count(b"\n") != open(os.path.join(d, "rej.jsonl"), "rb").read().count(b'"rejected_by"'):
        return False, f"--rejects /dev/stderr: exit {r.returncode}"
    if not os.path.islink("/dev/stderr") and link_before is not None:
        return False, "/dev/stderr was replaced"
    # A symlink to a regular file is written through; the link stays a link.
    os.symlink("real.jsonl", os.path.join(d, "link.jsonl"))
    r = winnow("cat", "in.jsonl", "-o", "link.jsonl", cwd=d)
    res.append(expect(r, 0))
    if not os.path.islink(os.path.join(d, "link.jsonl")) or open(os.path.join(d, "real.jsonl"), "rb").read() != want:
        return False, "-o link.jsonl replaced the link or did not write its target"
    # A FIFO is written directly.
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    with open(os.path.join(d, "from-fifo.jsonl"), "wb") as sink:
        reader = subprocess.Popen(["cat", fifo], stdout=sink)
        r = winnow("cat", "in.jsonl", "-o", fifo, cwd=d, timeout=60)
        reader.wait(timeout=60)
    got = open(os.path.join(d, "from-fifo.jsonl"), "rb").read()
    res.append(expect(r, 0))
    if got != want or not stat.S_ISFIFO(os.stat(fifo).st_mode):
        return False, "writing to a FIFO did not go through it, or replaced it"
    return all_ok(*res, (True, "/dev/stdout, /dev/stderr, symlink, FIFO written through"))


# --------------------------------------------------------------------------------------------
# 6. Two outputs on one path


def c_two_outputs_one_path():
    d = fresh_dir("same-path")
    sample_jsonl(d, n=30)
    res = [expect(winnow("length", "--min-words", "50", "in.jsonl", "-o", "x.jsonl", "--rejects", "x.jsonl", cwd=d),
                  2, "x.jsonl"),
           expect(winnow("cat", "in.jsonl", "-o", "-", "--quarantine", "/dev/stdout", cwd=d), 2, "same"),
           expect(winnow("cat", "in.jsonl", "-o", "out/", "--rejects", "out/r.jsonl", cwd=d), 2, "out/r.jsonl")]
    if os.path.exists(os.path.join(d, "x.jsonl")):
        return False, "x.jsonl was written"
    rec = write_recipe(os.path.join(d, "r.yaml"),
                       "name: x\ninput: {paths: [in.jsonl]}\noutput: {path: out2, rejects: out2}\nstages: []\n")
    res.append(expect(winnow("run", rec, "--no-progress", cwd=d), 2, "out2"))
    rec = write_recipe(os.path.join(d, "r2.yaml"),
                       "name: x\ninput: {paths: [in.jsonl]}\noutput: {path: out3, rejects: q, quarantine: q}\nstages: []\n")
    res.append(expect(winnow("run", rec, "--no-progress", cwd=d), 2, "same path"))
    return all_ok(*res)


# --------------------------------------------------------------------------------------------
# 7. Two coordinators on one run directory


def c_run_directory_lock():
    d = fresh_dir("lock")
    sample_jsonl(d, n=30)
    rec = write_recipe(os.path.join(d, "r.yaml"),
                       "name: x\ninput: {paths: [in.jsonl]}\noutput: {path: out}\nstages:\n  - exact_dedup: {}\n")
    r = winnow("run", rec, "--no-progress", cwd=d)
    if r.returncode != 0:
        return False, f"first run: {err(r)}"
    lock = os.path.join(d, "out", ".winnow", "lock")
    # Another process holds the lock, as a running coordinator does.
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"pid 4242 on testhost, since now\n", 0)
        before = tree_hashes(os.path.join(d, "out"))
        r2 = winnow("run", rec, "--fresh", "--no-progress", cwd=d)
        res = expect(r2, 1, "another winnow run", "pid 4242 on testhost")
        after = tree_hashes(os.path.join(d, "out"))
        before.pop(".winnow/lock", None)
        after.pop(".winnow/lock", None)
        if before != after:
            return False, "the refused coordinator changed the run directory"
        # Workers (as Slurm runs them) do not need the lock.
        os.unlink(os.path.join(d, "out", ".winnow", "tasks", "p2-t00000.json"))
        w = subprocess.run([WINNOW, "worker", "out", "--pass", "2", "--task", "0"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd=d, timeout=120)
        if w.returncode != 0:
            return False, f"a worker was stopped by the lock: {err(w)}"
    finally:
        os.close(fd)
    return all_ok(res, (True, "worker ran while the lock was held"))


# --------------------------------------------------------------------------------------------
# 8. Resume trusts task records only with their outputs


def c_resume_checks_outputs():
    d = fresh_dir("resume-outputs")
    data = os.path.join(d, "data")
    os.makedirs(data)
    for k in range(3):
        sample_jsonl(data, f"s{k}.jsonl", shard=k)
    rec = write_recipe(os.path.join(d, "r.yaml"),
                       "name: x\ninput: {paths: [data/]}\noutput: {path: out, rejects: rejects.jsonl}\n"
                       "stages:\n  - length: {min_words: 100}\n")
    r = winnow("run", rec, "--no-progress", cwd=d)
    if r.returncode != 0:
        return False, f"first run: {err(r)}"
    out = os.path.join(d, "out")
    want = kept_ids(out)
    want_stats = stats(out)
    want_rejects = read_any(os.path.join(d, "rejects.jsonl"))
    os.unlink(os.path.join(out, "part-00001-00000.jsonl.zst"))
    with open(os.path.join(out, "part-00002-00000.jsonl.zst"), "r+b") as f:
        f.truncate(100)
    r2 = winnow("run", rec, "--no-progress", cwd=d)
    if r2.returncode != 0:
        return False, f"rerun: {err(r2)}"
    if "2 run, 1 already done" not in r2.stdout.decode():
        return False, f"expected the two damaged tasks to run again: {short(r2.stdout)}"
    got = kept_ids(out)
    s = stats(out)
    if got != want or s["documents_written"] != want_stats["documents_written"]:
        return False, f"after the rerun: {len(got)} documents (stats say {s['documents_written']}), expected {len(want)}"
    if read_any(os.path.join(d, "rejects.jsonl")) != want_rejects:
        return False, "the joined rejects differ"
    return True, "deleted and truncated shards redone; outputs and stats as before"


# --------------------------------------------------------------------------------------------
# 9. Temporary files


def c_temp_files_random_exclusive_and_removed_on_signal():
    d = fresh_dir("tempfiles")
    inp = sample_jsonl(d, n=200)
    res = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        fifo = os.path.join(d, f"feed-{sig}")
        os.mkfifo(fifo)
        # The signal at its default action in the command, whatever this process was started
        # with: a shell starts background jobs with SIGINT ignored (`make test &`), and Winnow
        # leaves a signal it was started ignoring ignored, as nohup expects.
        p = subprocess.Popen([WINNOW, "cat", fifo, "-o", "out.jsonl", "--rejects", "rej.jsonl"], cwd=d,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=lambda s=sig: signal.signal(s, signal.SIG_DFL))
        w = open(fifo, "wb")
        w.write(open(inp, "rb").read())
        w.flush()
        temps = []
        for _ in range(500):
            temps = [n for n in os.listdir(d) if ".tmp-" in n]
            if len(temps) >= 1:
                break
            time.sleep(0.01)
        if not temps:
            w.close()
            p.kill()
            return False, "no temporary file seen while the command ran"
        for t in temps:
            m = re.fullmatch(r"\.(out|rej)\.jsonl\.tmp-([0-9a-f]{16})", t)
            if not m:
                return False, f"temporary name {t!r} is not .NAME.tmp-<16 random hex digits>"
            if str(p.pid) == m.group(2):
                return False, f"temporary name {t!r} is the process id"
            mode = stat.S_IMODE(os.lstat(os.path.join(d, t)).st_mode)
            if mode & 0o133:
                return False, f"temporary file mode {oct(mode)} is more than 0644"
        p.send_signal(sig)
        try:
            p.wait(timeout=30)
        finally:
            w.close()
        left = [n for n in os.listdir(d) if ".tmp-" in n]
        if left:
            return False, f"after {signal.Signals(sig).name}: temporary files left: {left}"
        if os.path.exists(os.path.join(d, "out.jsonl")):
            return False, f"after {signal.Signals(sig).name}: an incomplete output appeared under its final name"
        res.append((True, f"{signal.Signals(sig).name}: {temps} removed"))
    return all_ok(*res)


# --------------------------------------------------------------------------------------------
# 10. Huge documents


def c_document_too_large():
    d = fresh_dir("too-large")
    big = b'{"id": "big", "text": "' + (b"word " * 40_000) + b'"}'
    small = b'{"id": "small", "text": "a b c"}'
    with open(os.path.join(d, "in.jsonl"), "wb") as f:
        f.write(small + b"\n" + big + b"\n" + small.replace(b"small", b"small2") + b"\n")
    r = winnow("length", "--min-words", "1", "in.jsonl", "--max-document-bytes", "100000", "-o", "out.jsonl",
               "--quarantine", "q.jsonl", "--stats", "stats.json", cwd=d)
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {err(r)}"
    q = [json.loads(l) for l in open(os.path.join(d, "q.jsonl"), "rb").read().split(b"\n") if l]
    if len(q) != 1 or q[0]["reason"] != "document_too_large" or q[0]["line"] != 2:
        return False, f"quarantine: {short(json.dumps(q))}"
    if base64.b64decode(q[0]["raw_base64"]) != big or q[0]["bytes"] != len(big):
        return False, "the quarantined record does not hold the exact line"
    st = json.load(open(os.path.join(d, "stats.json")))
    if st["documents_read"] != 3 or st["documents_written"] != 2 or st["documents_quarantined"] != 1:
        return False, f"counts {st}"
    strict = winnow("cat", "in.jsonl", "--max-document-bytes", "100000", "--strict", "-o", "/dev/null", cwd=d)
    rec = write_recipe(os.path.join(d, "r.yaml"),
                       "name: x\ninput: {paths: [in.jsonl], max_document_bytes: 100k}\noutput: {path: out, quarantine: rq.jsonl}\n"
                       "stages:\n  - length: {min_words: 1}\n")
    rr = winnow("run", rec, "--no-progress", cwd=d)
    if rr.returncode != 0:
        return False, f"recipe: {err(rr)}"
    rq = [json.loads(l) for l in open(os.path.join(d, "rq.jsonl"), "rb").read().split(b"\n") if l]
    if [x["reason"] for x in rq] != ["document_too_large"]:
        return False, f"recipe quarantine: {short(json.dumps(rq))}"
    return all_ok(expect(strict, 3, "document_too_large"), (True, "quarantined with its exact bytes; counts balance"))


def peak_rss_mib(args, cwd):
    """Runs args in a forked child and returns (exit code, stderr, peak RSS of that command)."""
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        with open(os.path.join(cwd, "rss-err"), "wb") as e:
            c = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=e, cwd=cwd)
        os.write(wr, f"{c.returncode} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}".encode())
        os._exit(0)
    os.close(wr)
    msg = os.read(rd, 100).decode().split()
    os.waitpid(pid, 0)
    return int(msg[0]), open(os.path.join(cwd, "rss-err"), "rb").read(), int(msg[1]) / 1024


def c_huge_document_default_limit():
    """A 150 MB line is over the default 64 MB limit: it is quarantined without ever being held
    whole, so memory stays near the limit, not near the line."""
    d = fresh_dir("huge-default")
    path = os.path.join(d, "huge.jsonl")
    chunk = ("lorem ipsum dolor sit amet, naïve Grüße 日本語 " * 2000).encode()
    with open(path, "wb") as f:
        f.write(b'{"id": "small", "text": "hello"}\n{"id": "huge", "text": "')
        n = 0
        while n < 150_000_000:
            f.write(chunk)
            n += len(chunk)
        f.write(b'"}\n{"id": "after", "text": "bye"}\n')
    rc, e, mib = peak_rss_mib([WINNOW, "cat", "huge.jsonl", "-o", "out.jsonl", "--quarantine", "q.jsonl"], d)
    if rc != 0:
        return False, f"exit {rc}: {short(e)}"
    ids = [json.loads(l)["id"] for l in open(os.path.join(d, "out.jsonl"), "rb").read().split(b"\n") if l]
    if ids != ["small", "after"]:
        return False, f"kept {ids}"
    qsize = os.path.getsize(os.path.join(d, "q.jsonl"))
    os.unlink(path)
    os.unlink(os.path.join(d, "q.jsonl"))
    if mib > 400:
        return False, f"peak RSS {mib:.0f} MiB for a 150 MB line over a 64 MB limit"
    return True, f"quarantined ({qsize / 1e6:.0f} MB record), peak RSS {mib:.0f} MiB"


# --------------------------------------------------------------------------------------------
# Smaller faults


def c_unbalanced_counts_fail():
    d = fresh_dir("unbalanced")
    sample_jsonl(d, n=30)
    rec = write_recipe(os.path.join(d, "r.yaml"),
                       "name: x\ninput: {paths: [in.jsonl]}\noutput: {path: out}\nstages:\n  - length: {min_words: 5}\n")
    r = winnow("run", rec, "--no-progress", cwd=d)
    if r.returncode != 0:
        return False, f"first run: {err(r)}"
    p = os.path.join(d, "out", ".winnow", "tasks", "p0-t00000.json")
    rec_json = json.load(open(p))
    rec_json["stats"]["documents_read"] += 1  # a document that went nowhere
    json.dump(rec_json, open(p, "w"))
    return expect(winnow("run", rec, "--no-progress", cwd=d), 1, "do not balance")


def c_bloom_too_big_is_usage_error():
    d = fresh_dir("bloom-big")
    sample_jsonl(d, n=10)
    r = winnow("bloom-dedup", "--expected-items", "1000000000000", "--false-positive-rate", "1e-12", "in.jsonl", cwd=d)
    rec = write_recipe(os.path.join(d, "r.yaml"),
                       "name: x\ninput: {paths: [in.jsonl]}\noutput: {path: out}\n"
                       "stages:\n  - bloom_dedup: {expected_items: 1000G, false_positive_rate: 1e-12}\n")
    r2 = winnow("run", rec, "--no-progress", cwd=d)
    return all_ok(expect(r, 2, "expected_items"), expect(r2, 2, "expected_items"))


def c_recipe_files_that_are_not_recipes():
    d = fresh_dir("recipe-files")
    t0 = time.monotonic()
    r1 = winnow("run", "/dev/zero", cwd=d, timeout=60)
    dt = time.monotonic() - t0
    os.makedirs(os.path.join(d, "adir"))
    r2 = winnow("run", "adir", cwd=d)
    big = os.path.join(d, "big.yaml")
    with open(big, "w") as f:
        f.write("# " + "x" * 5_000_000 + "\n")
    r3 = winnow("run", big, cwd=d)
    return all_ok(expect(r1, 2, "/dev/zero"), (dt < 30, f"/dev/zero refused in {dt:.1f}s"),
                  expect(r2, 2, "directory"), expect(r3, 2, "larger than"))


def c_corrupt_plan():
    d = fresh_dir("corrupt-plan")
    sample_jsonl(d, n=30)
    rec = write_recipe(os.path.join(d, "r.yaml"),
                       "name: x\ninput: {paths: [in.jsonl]}\noutput: {path: out}\nstages: []\n")
    if winnow("run", rec, "--no-progress", cwd=d).returncode != 0:
        return False, "first run failed"
    with open(os.path.join(d, "out", ".winnow", "plan.json"), "w") as f:
        f.write("{ not json")
    r = winnow("run", rec, "--no-progress", cwd=d)
    ok = expect(r, 1, "plan.json", "damaged")
    if "no winnow run plan describes" in err(r):
        return False, "a damaged plan is reported as shards without a plan"
    return ok


def c_fifo_in_input_directory():
    d = fresh_dir("fifo-dir")
    data = os.path.join(d, "data")
    os.makedirs(data)
    sample_jsonl(data, "a.jsonl", n=5)
    os.mkfifo(os.path.join(data, "b.jsonl"))
    try:
        r = winnow("cat", "data/", "-o", "/dev/null", cwd=d, timeout=30)
    except subprocess.TimeoutExpired:
        return False, "blocked on the FIFO"
    return expect(r, 2, "b.jsonl", "not a regular file")


def c_byte_order_mark():
    d = fresh_dir("bom")
    with open(os.path.join(d, "bom.jsonl"), "wb") as f:
        f.write(b'\xef\xbb\xbf{"id": "1", "text": "first"}\n{"id": "2", "text": "second"}\n')
    r = winnow("cat", "bom.jsonl", "--strict", cwd=d)
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {err(r)}"
    ids = [json.loads(l)["id"] for l in r.stdout.split(b"\n") if l]
    if ids != ["1", "2"] or r.stdout.startswith(b"\xef\xbb\xbf"):
        return False, f"read {ids}, output starts {r.stdout[:5]!r}"
    return True, "the mark is dropped; both documents read"


def c_pii_duplicate_text_keys():
    d = fresh_dir("pii-dup")
    with open(os.path.join(d, "in.jsonl"), "wb") as f:
        f.write(b'{"text": "mail me at alice@example.com", "id": 1, "text": "mail me at bob@example.com"}\n')
    r = winnow("pii-redact", "in.jsonl", "--rejects", "rej.jsonl", "--quarantine", "q.jsonl", cwd=d)
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {err(r)}"
    if b"alice@example.com" in r.stdout or b"bob@example.com" in r.stdout:
        return False, f"an address survived in the output: {short(r.stdout)}"
    return True, f"no address in the output ({short(r.stdout, 120) or 'document set aside'})"


def c_truncated_side_file():
    d = fresh_dir("truncated-side")
    sample_jsonl(d, n=5)
    data = subprocess.run(["zstd", "-c"], input=b"word\n" * 100_000, stdout=subprocess.PIPE, check=True).stdout
    with open(os.path.join(d, "words.txt.zst"), "wb") as f:
        f.write(data[: len(data) // 2])
    r = winnow("wordlist", "--words-file", "words.txt.zst", "in.jsonl", cwd=d)
    return expect(r, 1, "words.txt.zst", "truncated")


def main():
    global WINNOW, TMP, ONLY
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--winnow", default=os.path.join(ROOT, ".build", "debug", "winnow"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--only", action="append", metavar="TEXT", help="run only checks whose name contains TEXT")
    args = ap.parse_args()
    WINNOW = os.path.abspath(args.winnow)
    ONLY = args.only
    if not os.access(WINNOW, os.X_OK):
        print(f"FAIL setup: no executable winnow at {WINNOW}\n0 passed, 1 failed")
        return 1
    TMP = tempfile.mkdtemp(prefix="winnow-safety-")
    t0 = time.monotonic()
    try:
        print(f"winnow: {WINNOW}\ntemp:   {TMP}", flush=True)
        check("1 overlap: -o/--rejects/--quarantine/--stats naming the input (also via symlink, .., hard link) "
              "→ exit 2, input unchanged", c_output_is_input)
        check("1 overlap: output directory is, lies inside or contains an input directory (even with --force) "
              "→ exit 2, inputs unchanged", c_output_dir_is_input_dir)
        check("1 overlap: standard output redirected into an input → exit 2", c_stdout_into_input)
        check("1 overlap: --force replaces Winnow's own shards only, refuses others", c_force_removes_only_own_shards)
        check("1 overlap: recipe output.path/rejects/quarantine on the inputs, with --fresh → exit 2, inputs "
              "unchanged", c_recipe_output_is_input)
        check("1 overlap: --fresh removes only what the run state lists", c_fresh_removes_only_listed)
        check("1 overlap: files a stage reads or writes (word list, saved filter) are guarded too",
              c_stage_files_are_inputs)
        check("1 overlap: fastText training and prediction never write over what they read",
              c_fasttext_outputs_are_not_inputs)
        check("2 lost file: exact_dedup marks file → redone, same answer; a worker names it", c_lost_exact_marks)
        check("2 lost file: exact_dedup map run → redone, same answer", c_lost_exact_run)
        check("2 lost file: minhash_dedup spill run -c0001 → redone, same answer", c_lost_minhash_spill)
        check("2 lost file: minhash_dedup marks → redone, same answer", c_lost_minhash_marks)
        check("2 extra file: an unrecorded run file in a pass directory → the reader fails naming it",
              c_extra_intermediate_file)
        check("3 changed input: new first line before resume → its passes redone, answer of a fresh run",
              c_input_changed_before_resume)
        check("3 changed input: same size and time, other content → refused naming it, then redone",
              c_input_changed_same_size_and_time)
        check("5 symlinks and devices: /dev/stdout, /dev/stderr, a link, a FIFO written through",
              c_output_to_stdout_symlink_and_devices)
        check("6 same path: two outputs on one path (CLI, recipe) → exit 2", c_two_outputs_one_path)
        check("7 lock: a second coordinator is refused naming the holder; workers need no lock", c_run_directory_lock)
        check("8 resume: a deleted or truncated shard of a finished task is redone; stats and rejects right",
              c_resume_checks_outputs)
        check("9 temporary files: random name, mode ≤ 0644, removed on SIGINT and SIGTERM",
              c_temp_files_random_exclusive_and_removed_on_signal)
        check("10 huge documents: over max_document_bytes → quarantined with exact bytes (CLI, recipe, --strict)",
              c_document_too_large)
        check("10 huge documents: 150 MB line over the default limit, memory bounded", c_huge_document_default_limit)
        check("counts that do not balance fail the run (exit 1)", c_unbalanced_counts_fail)
        check("bloom_dedup too big to allocate → usage error (CLI, recipe)", c_bloom_too_big_is_usage_error)
        check("recipe: /dev/zero, a directory, a 5 MB file → exit 2 with the reason", c_recipe_files_that_are_not_recipes)
        check("recipe: a damaged plan.json is reported as damaged", c_corrupt_plan)
        check("input: a FIFO in an input directory is an error, not a hang", c_fifo_in_input_directory)
        check("input: a UTF-8 byte order mark on the first line is dropped", c_byte_order_mark)
        check("pii_redact: duplicate text keys leak no address", c_pii_duplicate_text_keys)
        check("side files: a truncated compressed word list → exit 1", c_truncated_side_file)
    finally:
        if args.keep:
            print(f"kept {TMP}")
        else:
            shutil.rmtree(TMP, ignore_errors=True)
    print(f"total time {time.monotonic() - t0:.1f}s")
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
