#!/usr/bin/env python3
"""Rebuild Samples/ from real text shipped in the Debian packages on this machine.

    python3 scripts/make-samples.py

Writes (replacing what was there):

    Samples/web/part-00000.jsonl.zst ... part-0000N.jsonl.zst   the sample corpus
    Samples/bad/bad-lines.jsonl       good documents mixed with deliberately bad lines
    Samples/bad/README.md             line number -> what is wrong -> quarantine reason
    Samples/bad/truncated.jsonl.zst   a valid zstd stream with its tail cut off
    Samples/README.md                 what all this is and where the text comes from

Sources of text:
  * man pages, /usr/share/man/man*/ (English) and /usr/share/man/<locale>/man*/,
    converted to plain text by the small troff stripper below (no man/groff needed);
  * licence texts, /usr/share/common-licenses/*;
  * package documentation, /usr/share/doc/<pkg>/{copyright,README*,NEWS*,changelog.Debian.gz}.

Only the Python 3 standard library and the `zstd` command-line tool are used.  The
output is a pure function of the installed files and the zstd version: every
directory listing is sorted, every random choice comes from random.Random(1234), and
zstd is run single-threaded at a fixed level.  Running the script twice gives
byte-identical files; a machine with other packages installed gives other samples.
"""

import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter
from urllib.parse import quote

SEED = 1234
MAN_ROOT = "/usr/share/man"
LICENSE_ROOT = "/usr/share/common-licenses"
DOC_ROOT = "/usr/share/doc"
DPKG_INFO = "/var/lib/dpkg/info"

MAX_DOC_BYTES = 200_000        # larger sources are skipped, not truncated
MIN_DOC_BYTES = 200            # real sources shorter than this are skipped (short docs are made on purpose)
BUDGET_MAN_EN = 1_100_000      # bytes of text per bucket (approximate: the last pick may overshoot)
BUDGET_MAN_L10N = 1_600_000
BUDGET_DOC = 900_000
DUP_FRACTION = 0.03            # exact copies of earlier documents
NEAR_FRACTION = 0.02           # copies with a few words changed
SHORT_DOCS = 36                # "a few words" documents (man page NAME lines)
SHARDS = 5
ZSTD_LEVEL = 19
HUGE_TEXT_BYTES = 2 * 1024 * 1024 + 123   # the "huge line" in bad-lines.jsonl

# Man page locale directory -> ISO 639-1 language code.
LOCALE_LANG = {"pt_BR": "pt", "zh_CN": "zh", "zh_TW": "zh"}

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "Samples")


# ----------------------------------------------------------------------------------------
# troff (man(7)) to plain text
# ----------------------------------------------------------------------------------------

# Special characters: \(xx and \[name].
SPECIAL = {
    "em": "\u2014", "en": "\u2013", "hy": "-", "mi": "-", "-": "-", "-D": "\u0110",
    "aq": "'", "dq": '"', "lq": "\u201c", "rq": "\u201d", "oq": "\u2018", "cq": "\u2019",
    "Bq": "\u201e", "bq": "\u201a", "Fo": "\u00ab", "Fc": "\u00bb", "fo": "\u2039", "fc": "\u203a",
    "bu": "\u2022", "ci": "\u25cb", "sq": "\u25a1", "co": "\u00a9", "rg": "\u00ae", "tm": "\u2122",
    "de": "\u00b0", "ct": "\u00a2", "Po": "\u00a3", "Ye": "\u00a5", "Eu": "\u20ac", "eu": "\u20ac",
    "ti": "~", "ha": "^", "a^": "^", "a~": "~", "ga": "`", "aa": "\u00b4", "ad": "\u00a8",
    "bv": "|", "ba": "|", "br": "|", "rs": "\\", "sl": "/", "sh": "#", "Do": "$", "at": "@",
    "lB": "[", "rB": "]", "lC": "{", "rC": "}", "la": "\u27e8", "ra": "\u27e9",
    "pl": "+", "mu": "\u00d7", "di": "\u00f7", "eq": "=", "+-": "\u00b1", "no": "\u00ac",
    "<=": "\u2264", ">=": "\u2265", "!=": "\u2260", "==": "\u2261", "~~": "\u2248", "~=": "\u2245",
    "->": "\u2192", "<-": "\u2190", "<>": "\u2194", "ua": "\u2191", "da": "\u2193",
    "rA": "\u21d2", "lA": "\u21d0", "hA": "\u21d4", "if": "\u221e", "*m": "\u03bc",
    "*a": "\u03b1", "*b": "\u03b2", "*g": "\u03b3", "*d": "\u03b4", "*p": "\u03c0", "*l": "\u03bb",
    "ss": "\u00df", "ae": "\u00e6", "AE": "\u00c6", "oe": "\u0153", "OE": "\u0152",
    "/o": "\u00f8", "/O": "\u00d8", "oa": "\u00e5", "oA": "\u00c5", "Sd": "\u00f0", "TP": "\u00de",
    "Tp": "\u00fe", ".i": "\u0131", "r!": "\u00a1", "r?": "\u00bf", "ps": "\u00b6", "sc": "\u00a7",
    "dg": "\u2020", "dd": "\u2021", "OK": "\u2713", "12": "\u00bd", "14": "\u00bc", "34": "\u00be",
    "S1": "\u00b9", "S2": "\u00b2", "S3": "\u00b3", "fm": "\u2032", "sd": "\u2033", "ul": "_",
    "ru": "_", "rn": "\u203e", "or": "|", "ts": "s", "sr": "\u221a", "pc": "\u00b7",
    "char46": ".", "char39": "'", "char34": '"', "char92": "\\", "char45": "-",
}
_ACCENTS = {":": "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303",
            ",": "\u0327", "v": "\u030c", "o": "\u030a"}
for _mark, _comb in _ACCENTS.items():
    for _letter in "aeiouyncszrgAEIOUYNCSZRG":
        _c = unicodedata.normalize("NFC", _letter + _comb)
        if len(_c) == 1:
            SPECIAL.setdefault(_mark + _letter, _c)

# Predefined strings (\*(xx); pages may add their own with .ds.
BASE_STRINGS = {"lq": "\u201c", "rq": "\u201d", "Tm": "\u2122", "R": "\u00ae", "Aq": "'",
                "S": "", "HF": "", "Lq": "\u201c", "Rq": "\u201d"}

# Escapes whose argument is delimited, e.g. \h'1m' or \w'text': dropped with the argument.
DELIMITED = set("hvwolLDXZbxRSHNAB")
# Escapes taking a name argument (x, (xx or [name]) that produce nothing here.
NAMED_DROP = set("fFmMYVgkn$")
# Escapes that produce nothing at all.
ZERO = set("|^&)%:/,{}aprudtz!\n")


def _read_name(s, i):
    """Read a troff name at s[i]: 'x', '(xx' or '[name]'. Returns (name, next index)."""
    if i >= len(s):
        return "", i
    if s[i] == "(":
        return s[i + 1:i + 3], i + 3
    if s[i] == "[":
        j = s.find("]", i + 1)
        if j < 0:
            return s[i + 1:], len(s)
        return s[i + 1:j], j + 1
    return s[i], i + 1


def special_char(name):
    if name in SPECIAL:
        return SPECIAL[name]
    m = re.fullmatch(r"u([0-9A-Fa-f]{4,6})((?:_[0-9A-Fa-f]{4,6})*)", name)
    if m:
        cps = [m.group(1)] + [x for x in m.group(2).split("_") if x]
        try:
            return unicodedata.normalize("NFC", "".join(chr(int(c, 16)) for c in cps))
        except ValueError:
            return ""
    m = re.fullmatch(r"char(\d+)", name)
    if m and int(m.group(1)) < 0x110000:
        return chr(int(m.group(1)))
    return ""


def expand(s, strings, depth=0):
    """Expand troff escapes in one line of text. Returns (text, joins_next_line)."""
    out = []
    i, n = 0, len(s)
    join = False
    while i < n:
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:          # a lone trailing backslash: line continuation
            join = True
            break
        e = s[i + 1]
        i += 2
        if e == '"' or e == "#":    # comment to end of line
            break
        if e in "\\eE":
            out.append("\\")
        elif e == "-":
            out.append("-")
        elif e in " ~0":
            out.append(" ")
        elif e in "'":
            out.append("'")
        elif e == "`":
            out.append("`")
        elif e == ".":
            out.append(".")
        elif e == "t":
            out.append("\t")
        elif e == "c":
            if s[i:].strip() == "":
                join = True
                break
        elif e in ZERO:
            pass
        elif e == "(" or e == "[":
            name, i = _read_name(s, i - 1)
            out.append(special_char(name))
        elif e == "C":
            if i < n:
                d = s[i]
                j = s.find(d, i + 1)
                j = n if j < 0 else j
                out.append(special_char(s[i + 1:j]))
                i = j + 1
        elif e == "*":
            name, i = _read_name(s, i)
            val = strings.get(name, "")
            if depth < 8 and "\\" in val:
                val = expand(val, strings, depth + 1)[0]
            out.append(val)
        elif e == "s":
            if i < n and s[i] in "+-":
                i += 1
            if i < n and s[i] in "([":
                _, i = _read_name(s, i)
            elif i < n and s[i] in "'\"":
                j = s.find(s[i], i + 1)
                i = n if j < 0 else j + 1
            else:
                if i < n and s[i] in "123" and i + 1 < n and s[i + 1].isdigit():
                    i += 2
                elif i < n and s[i].isdigit():
                    i += 1
        elif e in NAMED_DROP:
            if e == "n" and i < n and s[i] in "+-":
                i += 1
            _, i = _read_name(s, i)
        elif e in DELIMITED:
            if i < n:
                d = s[i]
                j = s.find(d, i + 1)
                i = n if j < 0 else j + 1
        else:
            out.append(e)           # unknown escape: keep the character
    return "".join(out), join


def split_args(s):
    """Split macro arguments: blanks separate, "double quotes" group, "" is a quote."""
    args, cur, i, n = [], [], 0, len(s)
    while i < n:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n:
            break
        cur = []
        if s[i] == '"':
            i += 1
            while i < n:
                if s[i] == '"':
                    if i + 1 < n and s[i + 1] == '"':
                        cur.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                if s[i] == "\\" and i + 1 < n:
                    cur.append(s[i:i + 2])
                    i += 2
                    continue
                cur.append(s[i])
                i += 1
        else:
            while i < n and s[i] not in " \t":
                if s[i] == "\\" and i + 1 < n:
                    cur.append(s[i:i + 2])
                    i += 2
                    continue
                cur.append(s[i])
                i += 1
        args.append("".join(cur))
    return args


def _eval_numeric(expr):
    """A very small troff numeric expression evaluator (left to right, no precedence)."""
    expr = re.sub(r"\\n(\(\.g|\[\.g\])", "1", expr)          # we are "groff"
    expr = re.sub(r"\\n(\([^ ]{2}|\[[^\]]*\]|[+-]?.)", "0", expr)  # any other register
    expr = re.sub(r"(?<=\d)[uicpPmnvMsfz]", "", expr)
    if not re.fullmatch(r"[0-9.()+\-*/%<>=&:!]+", expr):
        return False
    tokens = re.findall(r"\d+(?:\.\d+)?|<=|>=|==|<\?|>\?|[()+\-*/%<>=&:]", expr)

    def value(pos):
        if pos < len(tokens) and tokens[pos] == "(":
            v, pos = chain(pos + 1)
            return v, pos + 1
        if pos < len(tokens) and tokens[pos] == "-":
            v, pos = value(pos + 1)
            return -v, pos
        if pos < len(tokens):
            try:
                return float(tokens[pos]), pos + 1
            except ValueError:
                return 0.0, pos + 1
        return 0.0, pos

    def chain(pos):
        v, pos = value(pos)
        while pos < len(tokens) and tokens[pos] != ")":
            op = tokens[pos]
            w, pos = value(pos + 1)
            v = {"+": v + w, "-": v - w, "*": v * w, "/": v / w if w else 0.0,
                 "%": v % w if w else 0.0, "<": float(v < w), ">": float(v > w),
                 "<=": float(v <= w), ">=": float(v >= w), "=": float(v == w),
                 "==": float(v == w), "&": float(v > 0 and w > 0), ":": float(v > 0 or w > 0),
                 }.get(op, 0.0)
        return v, pos

    try:
        return chain(0)[0] > 0
    except (IndexError, RecursionError):
        return False


def parse_condition(s, strings, macros):
    """Parse the condition at the start of s. Returns (truth, rest of line)."""
    s = s.lstrip()
    neg = False
    while s.startswith("!"):
        neg = not neg
        s = s[1:]
    if not s:
        return False, ""
    c = s[0]
    if c in "nt" and (len(s) == 1 or s[1] in " \t"):
        truth, rest = (c == "n"), s[1:]
    elif c in "oev" and (len(s) == 1 or s[1] in " \t"):
        truth, rest = (c == "o"), s[1:]
    elif c in "dr" and len(s) > 1 and s[1] in " \t":
        parts = s[1:].split(None, 1)
        name = parts[0] if parts else ""
        truth = (name in strings or name in macros) if c == "d" else False
        rest = parts[1] if len(parts) > 1 else ""
        return truth != neg, rest
    elif c in "cFSm" and len(s) > 1 and s[1] in " \t":
        parts = s[1:].split(None, 1)
        return (c == "c") != neg, parts[1] if len(parts) > 1 else ""
    elif not (c.isalnum() or c in "\\(+-.") and c not in " \t":
        # 'string1'string2'
        d = c
        j = s.find(d, 1)
        k = s.find(d, j + 1) if j >= 0 else -1
        if j < 0 or k < 0:
            return False, ""
        a = expand(s[1:j], strings)[0]
        b = expand(s[j + 1:k], strings)[0]
        truth, rest = (a == b), s[k + 1:]
    else:
        # numeric expression up to the first blank (or a \{ that starts the body)
        m = re.match(r"((?:\\n(?:\([^ ]{2}|\[[^\]]*\]|[+-]?.)|[^ \t\\]|\\[^{])*)", s)
        expr = m.group(1) if m else ""
        truth, rest = _eval_numeric(expr), s[len(expr):]
    return truth != neg, rest


def _wide(ch):
    return unicodedata.east_asian_width(ch) in ("W", "F")


class Writer:
    """Accumulates rendered text: fill-mode paragraphs become one line each."""

    def __init__(self):
        self.lines = []
        self.cur = []
        self.glue = False         # next text joins the previous one without a space
        self.headings = []        # line index of each .SH heading

    def text(self, s, nofill=False):
        if nofill:
            self.br()
            self.lines.append(s.rstrip())
            return
        s = re.sub(r"[ \t]+", " ", s).strip()
        if not s:
            return
        if self.cur and (self.glue or (_wide(self.cur[-1][-1]) and _wide(s[0]))):
            self.cur[-1] += s      # \c, or CJK text continued on the next source line
        else:
            self.cur.append(s)
        self.glue = False

    def attach(self, s):
        """Append without a space (punctuation after a link, .UE , for example)."""
        if self.cur:
            self.cur[-1] += s
        elif s.strip():
            self.cur.append(s)

    def br(self):
        if self.cur:
            self.lines.append(" ".join(self.cur))
            self.cur = []
        self.glue = False

    def para(self):
        self.br()
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def heading(self, s):
        self.para()
        s = re.sub(r"\s+", " ", s).strip()
        if s:
            self.headings.append(len(self.lines))
            self.lines.append(s)
        self.para()

    def result(self):
        self.br()
        text = "\n".join(line.rstrip() for line in self.lines)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.strip("\n")


FONT_ALTERNATING = {"BR", "BI", "IB", "IR", "RB", "RI"}
FONT_SINGLE = {"B", "I", "SM", "SB", "CW", "CR", "CB", "CI"}
PARA = {"PP", "LP", "P", "sp", "HP", "bp", "YS", "Pp", "Lp"}
NOFILL_ON = {"nf", "EX", "Vb", "Bd"}
NOFILL_OFF = {"fi", "EE", "Ve", "Ed"}


def render_man(src):
    """Render man(7) source to plain text. Returns (text, name_line)."""
    # Join continuation lines (a line ending in an odd number of backslashes).
    raw = src.replace("\r\n", "\n").split("\n")
    lines = []
    buf = ""
    for line in raw:
        m = re.search(r"(\\+)$", line)
        if m and len(m.group(1)) % 2 == 1 and not line.lstrip().startswith(('.\\"', "'\\\"")):
            buf += line[:-1]
            continue
        lines.append(buf + line)
        buf = ""
    if buf:
        lines.append(buf)

    w = Writer()
    strings = dict(BASE_STRINGS)
    macros = set()
    state = {"nofill": False, "pending": None, "skip_depth": 0, "ie": [],
             "table": None, "ignore_until": None}

    def do_text(line):
        if state["table"] is not None:
            table_line(line)
            return
        stripped = line.strip()
        if stripped.startswith('\\"'):
            return
        if not state["nofill"] and line == "":
            w.para()
            return
        if not state["nofill"] and line[:1] in " \t":
            w.br()
        txt, join = expand(line, strings)
        if state["nofill"]:
            w.text(txt, nofill=True)
        else:
            w.text(txt)
            if join:
                w.glue = True
        after_text()

    def after_text():
        p = state["pending"]
        if p == "br":
            state["pending"] = None
            w.br()
        elif p == "heading":
            state["pending"] = None
            w.br()
            if w.lines:
                w.headings.append(len(w.lines) - 1)
            w.para()

    def table_line(line):
        t = state["table"]
        if t["phase"] == "format":
            s = line.strip()
            if ";" in s and not t["seen_opts"] and t["first"]:
                m = re.search(r"tab\s*\((.)\)", s)
                if m:
                    t["tab"] = m.group(1)
                t["seen_opts"] = True
                t["first"] = False
                return
            t["first"] = False
            if s.endswith("."):
                t["phase"] = "data"
            return
        if t["block"] is not None:
            if line.startswith("T}"):
                t["row"] += " " + t["block"].strip() + line[2:]
                t["block"] = None
                if t["row"].endswith("T{"):
                    t["row"] = t["row"][:-2]
                    t["block"] = ""
                else:
                    emit_row(t)
            elif not line.startswith((".", "'")):
                t["block"] += " " + line
            return
        if line.strip() in ("_", "=", "") or re.fullmatch(r"[_=|\s" + re.escape(t["tab"]) + "]*", line):
            return
        if line.endswith("T{"):
            t["row"] = line[:-2]
            t["block"] = ""
            return
        t["row"] = line
        emit_row(t)

    def emit_row(t):
        cells = [expand(c, strings)[0].strip() for c in t["row"].split(t["tab"])]
        cells = [re.sub(r"\s+", " ", c) for c in cells if c not in ("", "_", "=", "T{", "T}")]
        if cells:
            w.text("  ".join(cells), nofill=True)
        t["row"] = ""

    def do_request(line):
        body = line[1:].lstrip(" \t")
        if body.startswith(('\\"', "\\#")) or body == "":
            return
        if body.startswith("\\}"):
            return
        m = re.match(r"(\S+)(?:[ \t]+(.*))?$", body)
        name, rest = m.group(1), (m.group(2) or "")
        # A request name can be glued to a brace close: ".\}" handled above; strip \} here.
        rest = rest.replace("\\}", "")

        if state["table"] is not None and name not in ("TE", "T&"):
            if name in ("sp", "br"):
                return
            return
        if name in ("if", "ie", "el"):
            if name == "el":
                truth = not state["ie"].pop() if state["ie"] else False
                after = rest
            else:
                truth, after = parse_condition(rest, strings, macros)
                if name == "ie":
                    state["ie"].append(truth)
            after = after.lstrip(" \t")
            opens = after.count("\\{")
            closes = after.count("\\}")
            if truth:
                after = after.replace("\\{", "", 1).lstrip(" \t")
                if after:
                    process(after)
            elif opens > closes:
                state["skip_depth"] = opens - closes
            return
        if name in ("de", "de1", "am", "ig", "dei", "ami"):
            args = rest.split()
            if name != "ig" and args:
                macros.add(args[0])
            end = ".."
            if name == "ig" and args:
                end = "." + args[0]
            elif name != "ig" and len(args) > 1:
                end = "." + args[1]
            state["ignore_until"] = end
            return
        if name in ("ds", "ds1", "as", "as1"):
            parts = rest.split(None, 1)
            if parts:
                val = parts[1] if len(parts) > 1 else ""
                if val.startswith('"'):
                    val = val[1:]
                val = expand(val, strings)[0]
                if name.startswith("as"):
                    strings[parts[0]] = strings.get(parts[0], "") + val
                else:
                    strings[parts[0]] = val
            return
        if name in ("rm", "rn"):
            return
        if name in ("SH", "SS", "Sh", "Ss"):
            args = split_args(rest)
            if args:
                w.heading(" ".join(expand(a, strings)[0] for a in args))
            else:
                w.para()
                state["pending"] = "heading"
            state["nofill"] = False if name in ("SH", "Sh") else state["nofill"]
            return
        if name in PARA:
            w.para()
            return
        if name == "br":
            w.br()
            return
        if name == "TP" or name == "TQ":
            if name == "TP":
                w.para()
            else:
                w.br()
            state["pending"] = "br"
            return
        if name == "IP":
            w.para()
            args = split_args(rest)
            tag = expand(args[0], strings)[0].strip() if args else ""
            if tag:
                w.text(tag)
                if len(tag) > 3:
                    w.br()
            return
        if name in ("RS", "RE", "in", "ti", "ce"):
            w.br()
            return
        if name in NOFILL_ON:
            w.br()
            state["nofill"] = True
            return
        if name in NOFILL_OFF:
            w.br()
            state["nofill"] = False
            return
        if name in FONT_SINGLE:
            args = split_args(rest)
            if args:
                w.text(" ".join(expand(a, strings)[0] for a in args), nofill=state["nofill"])
                after_text()
            return
        if name in FONT_ALTERNATING:
            args = split_args(rest)
            if args:
                w.text("".join(expand(a, strings)[0] for a in args), nofill=state["nofill"])
                after_text()
            return
        if name in ("UR", "MT"):
            return
        if name in ("UE", "ME"):
            args = split_args(rest)
            if args:
                w.attach(expand(args[0], strings)[0])
            return
        if name == "SY":
            w.para()
            args = split_args(rest)
            if args:
                w.text(expand(args[0], strings)[0])
            return
        if name == "OP":
            args = [expand(a, strings)[0] for a in split_args(rest)]
            if args:
                w.text("[" + " ".join(args) + "]")
            return
        if name == "TS":
            w.para()
            state["table"] = {"phase": "format", "tab": "\t", "seen_opts": False,
                              "first": True, "block": None, "row": ""}
            return
        if name == "T&":
            if state["table"] is not None:
                state["table"]["phase"] = "format"
                state["table"]["first"] = False
            return
        if name == "TE":
            state["table"] = None
            w.para()
            return
        # Everything else (.TH, .IX, .so, .nh, .ad, .PD, .ft, .ta, .nr, custom macros...)
        # carries no running text.
        return

    def process(line):
        if state["ignore_until"] is not None:
            if line.rstrip() == state["ignore_until"] or line.startswith(state["ignore_until"] + " "):
                state["ignore_until"] = None
            return
        if state["skip_depth"] > 0:
            state["skip_depth"] += line.count("\\{") - line.count("\\}")
            if state["skip_depth"] < 0:
                state["skip_depth"] = 0
            return
        if line[:1] in (".", "'"):
            do_request(line)
        else:
            if "\\}" in line:
                line = line.replace("\\}", "")
                if not line.strip():
                    return
            do_text(line)

    for line in lines:
        process(line)

    text = w.result()
    # The NAME line: the first paragraph after the first heading.
    name_line = ""
    parts = text.split("\n\n")
    if len(parts) > 1:
        name_line = re.sub(r"\s+", " ", parts[1]).strip()
    return text, name_line


# ----------------------------------------------------------------------------------------
# Reading sources
# ----------------------------------------------------------------------------------------

def read_maybe_gz(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return data


def clean_text(data):
    """Bytes -> text, or None for binary / non-UTF-8 / empty input."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.lstrip("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = re.sub(r".\x08", "", text)                       # nroff overstrike
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)    # other control characters
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    if not text.strip():
        return None
    return text


def dpkg_owners():
    """Path -> owning package, from dpkg's file lists (empty if dpkg is absent)."""
    owners = {}
    try:
        names = sorted(os.listdir(DPKG_INFO))
    except OSError:
        return owners
    for name in names:
        if not name.endswith(".list"):
            continue
        pkg = name[:-5].split(":")[0]
        try:
            with open(os.path.join(DPKG_INFO, name), encoding="utf-8", errors="replace") as f:
                for line in f:
                    p = line.rstrip("\n")
                    if p.startswith(MAN_ROOT + "/"):
                        owners.setdefault(p, pkg)
        except OSError:
            pass
    return owners


def man_candidates():
    """{locale: [path, ...]} for regular (non-symlink) .gz man pages; 'en' for the top level."""
    out = {}
    for entry in sorted(os.listdir(MAN_ROOT)):
        top = os.path.join(MAN_ROOT, entry)
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        if re.fullmatch(r"man\w+", entry):
            locale, secdirs = "en", [top]
        else:
            locale = entry
            secdirs = [os.path.join(top, d) for d in sorted(os.listdir(top))
                       if re.fullmatch(r"man\w+", d) and os.path.isdir(os.path.join(top, d))]
        for d in secdirs:
            for f in sorted(os.listdir(d)):
                p = os.path.join(d, f)
                if f.endswith(".gz") and os.path.isfile(p) and not os.path.islink(p):
                    out.setdefault(locale, []).append(p)
    for k in out:
        out[k].sort()
    return out


def make_man_doc(path, locale, owners):
    try:
        data = read_maybe_gz(path)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    src = clean_text(data)
    if src is None:
        return None
    if src.lstrip().startswith(".so ") or re.search(r"^\.Dd\b", src, re.M):
        return None   # a redirect, or an mdoc(7) page, which the stripper does not handle
    text, name_line = render_man(src)
    if not text:
        return None
    base = os.path.basename(path)[:-3]          # ls.1
    m = re.match(r"(.+)\.([0-9n][\w]*)$", base)
    page, section = (m.group(1), m.group(2)) if m else (base, "")
    package = owners.get(path, "unknown")
    lang = LOCALE_LANG.get(locale, locale)
    doc = {
        "id": f"man-{locale}-{base}",
        "text": text,
        "url": f"https://manpages.example.org/{locale}/{quote(base)}",
        "lang": lang,
        "source": "man",
        "meta": {"package": package, "section": section, "locale": locale,
                 "bytes": len(text.encode("utf-8"))},
    }
    return doc, name_line


def license_docs():
    docs = []
    for name in sorted(os.listdir(LICENSE_ROOT)):
        p = os.path.join(LICENSE_ROOT, name)
        if os.path.islink(p) or not os.path.isfile(p):
            continue          # GPL -> GPL-3 and friends would be accidental duplicates
        with open(p, "rb") as f:
            text = clean_text(f.read())
        if text is None or len(text.encode()) > MAX_DOC_BYTES:
            continue
        docs.append({
            "id": f"license-{name}",
            "text": text,
            "url": f"https://licenses.example.org/{quote(name)}",
            "lang": "en",
            "source": "license",
            "meta": {"package": "base-files", "license": name,
                     "bytes": len(text.encode("utf-8"))},
        })
    return docs


def doc_candidates():
    out = []
    for pkg in sorted(os.listdir(DOC_ROOT)):
        d = os.path.join(DOC_ROOT, pkg)
        if os.path.islink(d) or not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            p = os.path.join(d, f)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            if f == "copyright" or f == "changelog.Debian.gz" or \
               (f.startswith(("README", "NEWS")) and not f.endswith((".html", ".htm", ".pdf"))):
                out.append((pkg, f, p))
    return out


def make_doc_doc(pkg, fname, path):
    try:
        data = read_maybe_gz(path)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    text = clean_text(data)
    if text is None:
        return None
    shown = fname[:-3] if fname.endswith(".gz") else fname
    return {
        "id": f"doc-{pkg}-{shown}",
        "text": text,
        "url": f"https://packages.example.org/doc/{quote(pkg)}/{quote(shown)}",
        "lang": "en",
        "source": "doc",
        "meta": {"package": pkg, "file": shown, "bytes": len(text.encode("utf-8"))},
    }


# ----------------------------------------------------------------------------------------
# Building the corpus
# ----------------------------------------------------------------------------------------

def size_ok(doc):
    b = doc["meta"]["bytes"]
    return MIN_DOC_BYTES <= b <= MAX_DOC_BYTES


def text_key(text):
    return hashlib.sha256(text.encode("utf-8")).digest()


def round_robin(groups, make, budget, seen, rng):
    """Take one document per group in turn (groups in sorted order, each group's items in
    seeded random order) until `budget` bytes of text; skip exact duplicates of kept ones.
    Returns the results of `make` that were kept."""
    keys = sorted(groups)
    queues = {}
    for k in keys:
        q = list(groups[k])
        rng.shuffle(q)
        queues[k] = q
    pos = {k: 0 for k in keys}
    out, used = [], 0
    while used < budget and any(pos[k] < len(queues[k]) for k in keys):
        for k in keys:
            while pos[k] < len(queues[k]):
                item = queues[k][pos[k]]
                pos[k] += 1
                r = make(item)
                if r is None:
                    continue
                doc = r[0] if isinstance(r, tuple) else r
                if not size_ok(doc):
                    continue
                h = text_key(doc["text"])
                if h in seen:
                    continue
                seen.add(h)
                out.append(r)
                used += doc["meta"]["bytes"]
                break
            if used >= budget:
                break
    return out


def near_duplicate(text, rng):
    """Change a few words: replace with another word of the text, drop, or swap neighbours."""
    spans = [m.span() for m in re.finditer(r"[^\W\d_]{3,}", text)]
    n_edits = rng.randint(3, 6)
    chosen = sorted(rng.sample(range(len(spans) - 1), n_edits), reverse=True)
    new = text
    for idx in chosen:
        a, b = spans[idx]
        word = new[a:b]
        op = rng.choice(("replace", "drop", "swap"))
        if op == "replace":
            repl = text[slice(*spans[rng.randrange(len(spans))])]
            if repl == word:
                repl = word.upper() if word != word.upper() else word.lower()
            new = new[:a] + repl + new[b:]
        elif op == "drop":
            # remove the word and one following blank, if any
            end = b + 1 if new[b:b + 1] == " " else b
            new = new[:a] + new[end:]
        else:
            c, d = spans[idx + 1]
            if new[b:c].strip() == "" and "\n" not in new[b:c]:
                new = new[:a] + new[c:d] + new[b:c] + word + new[d:]
            else:
                new = new[:a] + word[::-1] + new[b:]
    return new, n_edits


def with_meta(doc, **extra):
    d = dict(doc)
    m = dict(doc["meta"])
    m.update(extra)
    m["bytes"] = len(d["text"].encode("utf-8"))
    # keep "bytes" right after the original keys, extras last
    d["meta"] = {k: m[k] for k in list(doc["meta"].keys()) + [k for k in extra if k not in doc["meta"]]}
    return d


def build_corpus():
    rng = random.Random(SEED)
    owners = dpkg_owners()
    seen = set()

    # Licences: all of them.
    licenses = []
    for d in license_docs():
        if size_ok(d) and text_key(d["text"]) not in seen:
            seen.add(text_key(d["text"]))
            licenses.append(d)

    # Man pages. English: round-robin over the owning packages, so that one package with
    # thousands of pages (google-cloud-cli, for one) does not crowd out the rest.
    cands = man_candidates()
    by_pkg = {}
    for p in cands.pop("en", []):
        by_pkg.setdefault(owners.get(p, "unknown"), []).append(p)
    man_en = round_robin(by_pkg, lambda p: make_man_doc(p, "en", owners), BUDGET_MAN_EN, seen, rng)

    # Translations: round-robin over locales so that every language gets some pages.
    man_l10n = round_robin({loc: [(loc, p) for p in cands[loc]] for loc in cands},
                           lambda it: make_man_doc(it[1], it[0], owners), BUDGET_MAN_L10N, seen, rng)

    # Package documentation: round-robin over the kinds of file.
    kinds = {}
    for it in doc_candidates():
        f = it[1]
        kind = "copyright" if f == "copyright" else "changelog" if f.startswith("changelog") \
            else "NEWS" if f.startswith("NEWS") else "README"
        kinds.setdefault(kind, []).append(it)
    docs = round_robin(kinds, lambda it: make_doc_doc(*it), BUDGET_DOC, seen, rng)

    mans = man_en + man_l10n
    originals = licenses + [r[0] for r in mans] + docs
    rng.shuffle(originals)

    # Very short documents: the NAME line of some man pages ("ls - list directory contents").
    short = []
    named = [(d, nl) for d, nl in mans if 2 <= len(nl.split()) <= 16 and len(nl) <= 160]
    named.sort(key=lambda x: x[0]["id"])
    for d, nl in rng.sample(named, min(SHORT_DOCS, len(named))):
        if text_key(nl) in seen:
            continue
        seen.add(text_key(nl))
        s = {"id": d["id"] + "-name", "text": nl, "url": d["url"] + "#name", "lang": d["lang"],
             "source": "man", "meta": dict(d["meta"])}
        s = with_meta(s, excerpt_of=d["id"])
        short.append(s)

    base = originals + short
    rng.shuffle(base)

    # Exact and near duplicates of earlier documents, inserted somewhere after the original.
    n = len(base)
    n_dup = max(1, round(DUP_FRACTION * n))
    n_near = max(1, round(NEAR_FRACTION * n))
    dup_src = sorted(rng.sample(range(n), n_dup))
    near_pool = [i for i, d in enumerate(base)
                 if len(re.findall(r"[^\W\d_]{3,}", d["text"])) >= 300 and i not in set(dup_src)]
    near_src = sorted(rng.sample(near_pool, min(n_near, len(near_pool))))

    inserts = {}   # position in base -> list of docs to put right after it
    for i in dup_src:
        o = base[i]
        host_path = o["url"].split("://", 1)[1]
        d = dict(o)
        d["id"] = o["id"] + "-mirror"
        d["url"] = "https://mirror.example.org/" + host_path
        d = with_meta(d, duplicate_of=o["id"])
        inserts.setdefault(rng.randrange(i, n), []).append(d)
    for i in near_src:
        o = base[i]
        new_text, k = near_duplicate(o["text"], rng)
        if new_text == o["text"] or text_key(new_text) in seen:
            continue
        seen.add(text_key(new_text))
        host_path = o["url"].split("://", 1)[1]
        d = dict(o)
        d["id"] = o["id"] + "-edited"
        d["text"] = new_text
        d["url"] = "https://copies.example.org/" + host_path
        d = with_meta(d, near_duplicate_of=o["id"], edits=k)
        inserts.setdefault(rng.randrange(i, n), []).append(d)

    final = []
    for i, d in enumerate(base):
        final.append(d)
        final.extend(inserts.get(i, []))
    return final


# ----------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------

def encode_doc(doc):
    ordered = {k: doc[k] for k in ("id", "text", "url", "lang", "source", "meta")}
    return json.dumps(ordered, ensure_ascii=False).encode("utf-8") + b"\n"


def zstd_compress(data, out_path, tmpdir):
    src = os.path.join(tmpdir, "in.jsonl")
    with open(src, "wb") as f:
        f.write(data)
    subprocess.run(["zstd", f"-{ZSTD_LEVEL}", "-q", "-f", "--single-thread", src, "-o", out_path],
                   check=True)
    os.remove(src)


def split_shards(lines, k):
    total = sum(len(l) for l in lines)
    shards, cur, cur_bytes, done = [], [], 0, 0
    for line in lines:
        cur.append(line)
        cur_bytes += len(line)
        if len(shards) < k - 1 and done + cur_bytes >= total * (len(shards) + 1) / k:
            shards.append(cur)
            done += cur_bytes
            cur, cur_bytes = [], 0
    if cur:
        shards.append(cur)
    return shards


def bad_lines():
    """The lines of Samples/bad/bad-lines.jsonl and a description of each."""
    def good(i, text, lang="en"):
        return json.dumps({"id": f"good-{i:02d}", "text": text,
                           "url": f"https://bad.example.org/good-{i:02d}", "lang": lang,
                           "source": "doc", "meta": {"bytes": len(text.encode())}},
                          ensure_ascii=False).encode("utf-8")

    def row(name, body):
        return body.replace(b"@ID@", name.encode())

    paragraphs = [
        "Line {n:06d}. Curating training data starts with reading every shard, line by line, "
        "and setting aside the lines that cannot be parsed instead of stopping the whole run.",
        "A quarantine file keeps the original bytes of each rejected line together with the "
        "reason, so that nothing is silently lost and the problem can be fixed upstream.",
        "Long documents are rare but real: concatenated logs, whole books, database dumps. "
        "A reader must not assume that a line fits into a small fixed buffer.",
    ]
    chunks, size, n = [], 0, 0
    while size < HUGE_TEXT_BYTES:
        p = paragraphs[n % 3].format(n=n)
        chunks.append(p)
        size += len(p) + 2
        n += 1
    huge = "\n\n".join(chunks)

    L = []   # (bytes, expected reason or None, description)
    L.append((good(1, "Ein gültiges Dokument.\n\nZwei Absätze, Umlaute und ß bleiben roh als UTF-8.", "de"),
              None, "valid document (German, raw UTF-8)"))
    L.append((b'{"id": "bad-02", "text": "the closing brace is missing", "url": "https://bad.example.org/02", "lang": "en"',
              "invalid_json", "broken JSON: the object is never closed (missing `}`)"))
    L.append((good(3, "A plain English document with a \"quoted\" word and an escaped tab:\there."),
              None, "valid document (escaped quote and `\\t`)"))
    L.append((b'{"id": "bad-04", "text": "a complete object followed by junk", "lang": "en"} trailing garbage',
              "trailing_data", "a complete object followed by `trailing garbage` on the same line"))
    L.append((b'[{"id": "bad-05", "text": "an array holding an object", "lang": "en"}]',
              "not_an_object", "a JSON array (valid JSON, but not an object)"))
    L.append((b'{"id": "bad-06", "text": "invalid UTF-8 here: \xff\xfe and an overlong slash \xc0\xaf end", "lang": "en"}',
              "invalid_utf8", "bytes `FF FE` and the overlong sequence `C0 AF` inside the text string"))
    L.append((b'{"id": "bad-07", "text": "an invalid escape \\x41 in the text", "lang": "en"}',
              "invalid_escape", "the escape `\\x41` (JSON has no `\\x`)"))
    L.append((b'{"id": "bad-08", "text": "a lone high surrogate \\ud800 followed by plain text", "lang": "en"}',
              "lone_surrogate", "`\\ud800` not followed by a `\\udc00`-`\\udfff` escape"))
    line9 = good(9, "Japanese and emoji, raw: \u65e5\u672c\u8a9e \U0001F600; escaped: \u65e5\u672c \U0001F600.")
    line9 = line9.replace("escaped: \u65e5\u672c \U0001F600".encode(),
                          b"escaped: \\u65e5\\u672c \\ud83d\\ude00")
    L.append((line9,
              None, "valid document (raw UTF-8, `\\uXXXX` escapes and a valid surrogate pair)"))
    L.append((b'{"id": "bad-10", "body": "this document has no text field", "url": "https://bad.example.org/10", "lang": "en"}',
              "missing_text_field", "valid object without a `text` member (it has `body` instead)"))
    L.append((b'{"id": "bad-11", "text": 42, "url": "https://bad.example.org/11", "lang": "en"}',
              "text_not_a_string", "`text` is the number `42`"))
    L.append((b"", None, "empty line: skipped silently by readers, **not** quarantined"))
    L.append((b'{"id": "bad-13", "text": "a raw control character \x01 inside the string", "lang": "en"}',
              "control_character", "a raw byte `0x01` inside the text string (must be written `\\u0001`)"))
    L.append((good(14, "Un document valide en fran\u00e7ais, apr\u00e8s les lignes d\u00e9fectueuses.", "fr"),
              None, "valid document (French)"))
    L.append((json.dumps({"id": "huge-15", "text": huge, "url": "https://bad.example.org/huge-15",
                          "lang": "en", "source": "doc", "meta": {"bytes": len(huge.encode())}},
                         ensure_ascii=False).encode("utf-8"),
              None, f"valid document whose text is {len(huge.encode()):,} bytes "
                    f"(the line is about {len(huge.encode()) / 1048576:.1f} MiB): the \"huge line\""))
    L.append((good(16, "The last line: a short valid document after the huge one."),
              None, "valid document after the huge line"))
    return L


def write_bad(tmpdir, corpus_lines):
    bad_dir = os.path.join(SAMPLES, "bad")
    os.makedirs(bad_dir, exist_ok=True)
    L = bad_lines()
    with open(os.path.join(bad_dir, "bad-lines.jsonl"), "wb") as f:
        for body, _, _ in L:
            f.write(body + b"\n")

    # Sanity check with Python's json (strict): bad lines must fail, good lines must parse.
    for i, (body, reason, _) in enumerate(L, 1):
        if body == b"":
            continue
        try:
            obj = json.loads(body.decode("utf-8"))
            ok = isinstance(obj, dict) and isinstance(obj.get("text"), str)
        except (UnicodeDecodeError, ValueError):
            ok = False
        if reason == "lone_surrogate":
            assert ok, "Python's json is expected to accept a lone surrogate"
        elif (reason is None) != ok:
            raise SystemExit(f"bad-lines.jsonl line {i}: expected {reason or 'valid'}")

    rows = []
    for i, (body, reason, desc) in enumerate(L, 1):
        if body == b"":
            res = "— (skipped, not counted, not quarantined)"
        elif reason is None:
            res = "— (valid, accepted)"
        else:
            res = f"`{reason}`"
        rows.append(f"| {i} | {desc} | {res} |")
    n_bad = sum(1 for b, r, _ in L if r)
    n_good = sum(1 for b, r, _ in L if r is None and b)
    readme = f"""# Samples/bad

Generated by `python3 scripts/make-samples.py`; do not edit by hand.

## bad-lines.jsonl

{len(L)} lines (every line ends with `\\n`): {n_good} valid documents, {n_bad} bad lines
(each of a different kind) and one empty line. A reader should yield the {n_good} valid
documents, skip the empty line silently and quarantine the {n_bad} bad lines with the
reasons below. The file is written byte by byte, so the invalid UTF-8 on line 6 and the
raw control character on line 13 are exactly as described.

| line | what is wrong with it | expected quarantine reason |
|-----:|-----------------------|----------------------------|
""" + "\n".join(rows) + f"""

Notes:

* Line 8 (`lone_surrogate`): Python's `json` module *accepts* a lone surrogate escape and
  returns a string that cannot be encoded as UTF-8. Winnow treats it as invalid, because
  the document could not be written back out as UTF-8 (RFC 8259 §8.2 leaves such strings'
  behaviour unpredictable).
* Line 13 (`control_character`): RFC 8259 requires every character below U+0020 to be
  escaped inside strings, so a raw tab would be invalid too; an escaped `\\t` (line 3) is fine.
* Line 15 is valid: only its size is unusual. A reader with a configured line-size limit
  below it may reject it; without one it must be accepted.
* Lines 2 and 4 differ in where they fail: line 2 ends before the object does
  (`invalid_json`), line 4 has a complete object followed by other bytes (`trailing_data`).

## truncated.jsonl.zst

The first five documents under 4 kB of `Samples/web/part-00000.jsonl.zst`, compressed with
`zstd -{ZSTD_LEVEL}`, then cut: the last 100 bytes of the compressed stream are missing. Reading
it must fail with an error that names the file (not end quietly after the last complete
line, and not crash).
"""
    with open(os.path.join(bad_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(readme)

    # truncated.jsonl.zst
    small = [l for l in corpus_lines if len(l) < 4000][:5]
    data = b"".join(small)
    full = os.path.join(tmpdir, "full.zst")
    zstd_compress(data, full, tmpdir)
    with open(full, "rb") as f:
        z = f.read()
    assert len(z) > 600, "truncated sample: compressed stream unexpectedly small"
    with open(os.path.join(bad_dir, "truncated.jsonl.zst"), "wb") as f:
        f.write(z[:-100])
    return L


def write_readme(stats):
    text = f"""# Samples

Small, deterministic test data for Winnow, rebuilt by

    python3 scripts/make-samples.py

(Python 3 standard library plus the `zstd` command-line tool: `apt-get install zstd`).
Do not edit the files by hand; change the script and rerun it.

## web/

`part-00000.jsonl.zst` … `part-{stats['shards'] - 1:05d}.jsonl.zst`: {stats['docs']} documents,
{stats['bytes']:,} bytes of JSON Lines before compression, zstd level {ZSTD_LEVEL}.
One JSON object per line, keys in this order:

| key | meaning |
|-----|---------|
| `id` | stable identifier: `man-<locale>-<page>.<section>`, `license-<name>`, `doc-<package>-<file>` |
| `text` | UTF-8 plain text, newlines kept, paragraphs separated by blank lines |
| `url` | a made-up but stable URL on an `example.org` domain |
| `lang` | ISO 639-1 code (`en`, `de`, `fr`, `ja`, `zh`, …; `pt_BR` → `pt`, `zh_CN`/`zh_TW` → `zh`) |
| `source` | `man`, `license` or `doc` |
| `meta` | a small object: `package`, then `section`/`locale` (man), `license` (licence) or `file` (doc), and `bytes` (UTF-8 length of `text`) |

Documents by source: {', '.join(f'{k} {v}' for k, v in stats['by_source'])}.
Documents by language: {', '.join(f'{k} {v}' for k, v in stats['by_lang'])}.

Planted on purpose, and marked in `meta` so that tests know the ground truth:

* **exact duplicates** ({stats['dups']}): id `<original>-mirror`, url on `mirror.example.org`,
  identical `text`, `meta.duplicate_of` = original id; always after the original in the stream.
* **near duplicates** ({stats['near']}): id `<original>-edited`, url on `copies.example.org`,
  3–6 words replaced, dropped or swapped; `meta.near_duplicate_of` and `meta.edits`.
* **very short documents** ({stats['short']}): the NAME line of a man page (a few words),
  id `<page id>-name`, `meta.excerpt_of`.

Accidental exact duplicates among the real texts are removed (the first in sorted, seeded
order is kept), so the planted copies are the only exact duplicates. Natural *near*
duplicates are not removed and may exist: for example `copyright` files of packages built
from the same source, or one man page translated for both `pt` and `pt_BR`. Translated
man pages are sometimes only partly translated, so some paragraphs of a `de` or `ru`
page can be English.

### Where the text comes from

Everything in `web/` is real text from Debian packages installed on the machine that ran
the script:

* man pages from `/usr/share/man/man*/` and `/usr/share/man/<locale>/man*/`, converted to
  plain text by a small troff stripper in the script (it is approximate: tables and some
  macros come out rough; mdoc(7) pages and `.so` redirects are skipped);
* licence texts from `/usr/share/common-licenses/`;
* `copyright`, `README*`, `NEWS*` and `changelog.Debian.gz` from `/usr/share/doc/<package>/`.

These texts keep their own licences: each man page and document is distributed under the
licence of the package it comes from (see `/usr/share/doc/<package>/copyright`; the owning
package is in `meta.package`). Changelogs and copyright files contain names and e-mail
addresses of Debian maintainers and upstream authors, exactly as published by Debian.

Selection: all candidate paths are sorted, symlinks, empty, binary and non-UTF-8 files are
skipped, as are sources over {MAX_DOC_BYTES:,} bytes of text or under {MIN_DOC_BYTES} bytes; then
`random.Random({SEED})` picks pages and files until each bucket reaches its byte budget.
The output depends only on the installed packages and the zstd version (here
{stats['zstd']}): running the script twice gives byte-identical files, another machine
gives a different (but equally shaped) sample.

## bad/

Hand-made edge cases for the reader; see `bad/README.md`.

* `bad-lines.jsonl`: valid documents mixed with one bad line of each kind (broken JSON,
  trailing data, an array, invalid UTF-8, a `\\x` escape, a lone surrogate, a raw control
  character, no `text`, a numeric `text`), an empty line and a ~2 MiB line.
* `truncated.jsonl.zst`: a zstd stream with its last 100 bytes cut off.
"""
    with open(os.path.join(SAMPLES, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


def main():
    if shutil.which("zstd") is None:
        sys.exit("make-samples: the `zstd` command-line tool is required.\n"
                 "Install it with:  apt-get install zstd")
    for p in (MAN_ROOT, LICENSE_ROOT, DOC_ROOT):
        if not os.path.isdir(p):
            sys.exit(f"make-samples: {p} not found; this script expects a Debian-like system")
    zver = subprocess.run(["zstd", "--version"], capture_output=True, text=True).stdout.strip()
    zver_short = re.search(r"v\d+\.\d+\.\d+", zver)
    zver_short = zver_short.group(0) if zver_short else zver

    docs = build_corpus()
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    lines = [encode_doc(d) for d in docs]

    web = os.path.join(SAMPLES, "web")
    os.makedirs(web, exist_ok=True)
    for f in sorted(os.listdir(web)):
        if re.fullmatch(r"part-\d{5}\.jsonl\.zst", f):
            os.remove(os.path.join(web, f))

    shard_info = []
    with tempfile.TemporaryDirectory(prefix="make-samples-") as tmp:
        for i, shard in enumerate(split_shards(lines, SHARDS)):
            out = os.path.join(web, f"part-{i:05d}.jsonl.zst")
            data = b"".join(shard)
            zstd_compress(data, out, tmp)
            shard_info.append((out, len(shard), len(data), os.path.getsize(out)))
        write_bad(tmp, lines)

    # Verify: decompress every shard and parse every line.
    n_checked = 0
    for out, count, _, _ in shard_info:
        raw = subprocess.run(["zstd", "-dcq", out], check=True, capture_output=True).stdout
        got = raw.split(b"\n")
        assert got[-1] == b"" and len(got) - 1 == count, out
        for line in got[:-1]:
            obj = json.loads(line.decode("utf-8"))
            assert list(obj) == ["id", "text", "url", "lang", "source", "meta"]
            n_checked += 1
    assert n_checked == len(docs)

    by_source = Counter(d["source"] for d in docs)
    by_lang = Counter(d["lang"] for d in docs)
    bytes_lang = Counter()
    bytes_source = Counter()
    for d, line in zip(docs, lines):
        bytes_lang[d["lang"]] += len(line)
        bytes_source[d["source"]] += len(line)
    stats = {
        "shards": len(shard_info), "docs": len(docs), "bytes": sum(len(l) for l in lines),
        "by_source": sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0])),
        "by_lang": sorted(by_lang.items(), key=lambda kv: (-kv[1], kv[0])),
        "dups": sum(1 for d in docs if "duplicate_of" in d["meta"]),
        "near": sum(1 for d in docs if "near_duplicate_of" in d["meta"]),
        "short": sum(1 for d in docs if "excerpt_of" in d["meta"]),
        "zstd": zver_short,
    }
    write_readme(stats)

    # Summary.
    lengths = sorted(d["meta"]["bytes"] for d in docs)
    print(f"Samples/web: {len(docs)} documents, {stats['bytes']:,} bytes uncompressed "
          f"({zver_short}, level {ZSTD_LEVEL})")
    for out, count, raw_bytes, z_bytes in shard_info:
        print(f"  {os.path.relpath(out, ROOT)}: {count} docs, {raw_bytes:,} -> {z_bytes:,} bytes")
    print("by source: " + ", ".join(f"{k} {v} ({bytes_source[k]:,} B)" for k, v in stats["by_source"]))
    print("by lang:   " + ", ".join(f"{k} {v} ({bytes_lang[k]:,} B)" for k, v in stats["by_lang"]))
    print(f"planted: {stats['dups']} exact duplicates, {stats['near']} near duplicates, "
          f"{stats['short']} very short documents")
    print(f"text length (bytes): min {lengths[0]}, median {lengths[len(lengths) // 2]}, "
          f"max {lengths[-1]:,}")
    total = 0
    for dirpath, _, files in os.walk(SAMPLES):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    bad_size = os.path.getsize(os.path.join(SAMPLES, "bad", "bad-lines.jsonl"))
    print(f"Samples/bad: bad-lines.jsonl {bad_size:,} bytes, truncated.jsonl.zst "
          f"{os.path.getsize(os.path.join(SAMPLES, 'bad', 'truncated.jsonl.zst')):,} bytes")
    print(f"Samples/ total on disk: {total:,} bytes")


if __name__ == "__main__":
    main()
