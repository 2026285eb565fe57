#!/usr/bin/env python3
"""Build a labelled multilingual corpus for fastText language identification.

    python3 scripts/make-lid-corpus.py [OUT] [--max-lines 6000] [--min-lines 1500]
                                       [--test-fraction 0.1] [--seed 20261128]
                                       [--langs de,fr,...] [--jobs N] [--no-install]

OUT defaults to out/lid. Writes, replacing what was there:

    OUT/train.txt   "__label__xx text" per line, shuffled
    OUT/test.txt    same format, from source pages that train.txt has no line of
    OUT/stats.tsv   language, train lines, test lines, source packages, pages per side

Text is real prose shipped in Debian packages (see SOURCES below): translated man pages
(manpages-xx, rendered with groff -Tutf8 -mandoc into one line per paragraph, in batches), the
Debian Administrator's Handbook and the Debian installation guide (HTML) and GNOME Help
(Mallard), and for English manpages and manpages-dev. 27 languages, 10 of them in other
scripts than Latin (ru uk sr el ja zh ko ar fa; zh is Simplified and Traditional). Not here:
Hebrew (no translated prose found: GNOME Help's he pages are English and GTK's catalogs often
copy the English), Macedonian (24 short man pages). Missing packages are installed with
apt-get install -y --no-install-recommends (as root); without them the script stops.

Per paragraph: verbatim blocks are dropped (.nf/.EX/.TS blocks, a man page's NAME line,
<pre>, <screen>, Mallard code blocks, navigation and tables of contents; inline code stays,
as in running text), whitespace is normalised (and the spaces between CJK characters that
come from wrapped source lines removed), long paragraphs are cut at sentence ends into pieces
of about 80-400 characters, and a piece is kept when it looks like prose: at least 40
characters and 4 words (20 characters for Chinese and Japanese), mostly letters, few digits,
code characters or option-like tokens (-x, paths, identifiers), not shouting. Then per
language, to keep label noise low:

  * the piece is in the language's script (>= 70 % of its letters; Latin-script languages
    >= 98 % Latin), with the letters that tell Russian, Ukrainian and Serbian apart, Arabic
    and Persian apart, Japanese (kana) and Chinese apart;
  * for Latin-script languages other than English, a piece is taken for an untranslated
    passage and dropped when its English function words (a list without the words other
    languages share: no "to", "in", "for"...) are two or more and outnumber the language's
    own, or are there while its own are not (6+ words); among 8+ words one of its own must
    be there (not asked of Finnish, Hungarian, Turkish);
  * a piece found verbatim in the English sources, or under two labels, is dropped
    (English keeps it); near duplicates (same first 48 letters, with a man page's own name
    taken out: translator credits, "ls is part of coreutils") are kept once per language.

Each language is capped at --max-lines (a seeded sample), and split by source page into
train and test: a page (a man page name such as ls.1, a handbook or guide file name) goes
wholly to one side, and the same page name is picked for test in every language where
possible (pages ordered by a hash of their name). Languages with fewer than --min-lines
lines are dropped (reported). Deterministic for a given set of package versions: sorted file
lists, hashes and a fixed seed, output in a fixed order before the seeded shuffle.
Standard library only, plus groff (from the groff-base package) and apt/dpkg.
"""

import argparse
import collections
import gzip
import hashlib
import html.parser
import os
import random
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20261128

# --- sources -----------------------------------------------------------------------------
# (kind, package, path prefix). Files are the package's own (dpkg -L), under the prefix.
MAN = "/usr/share/man/"
HB = "/usr/share/doc/debian-handbook/html/"
IG = "/usr/share/doc/installation-guide-amd64/"
GH = "/usr/share/help/"


def man(pkg, loc):
    return ("man", pkg, MAN + loc + "/")


def hb(loc):
    return ("html", "debian-handbook", HB + loc + "/")


def ig(loc):
    return ("html", "installation-guide-amd64", IG + loc + "/")


def gh(loc):
    return ("mallard", "gnome-user-docs", GH + loc + "/gnome-help/")


SOURCES = {
    "en": [("man", "manpages", MAN + "man"), ("man", "manpages-dev", MAN + "man"),
           hb("en-US"), ig("en"), gh("C")],
    "de": [man("manpages-de", "de"), hb("de-DE"), ig("de"), gh("de")],
    "fr": [man("manpages-fr", "fr"), hb("fr-FR"), ig("fr"), gh("fr")],
    "es": [man("manpages-es", "es"), hb("es-ES"), ig("es"), gh("es")],
    "it": [man("manpages-it", "it"), hb("it-IT"), ig("it"), gh("it")],
    "pt": [man("manpages-pt-br", "pt_BR"), hb("pt-BR"), ig("pt"), gh("pt_BR"), gh("pt")],
    "nl": [man("manpages-nl", "nl"), hb("nl-NL"), ig("nl"), gh("nl")],
    "pl": [man("manpages-pl", "pl"), hb("pl-PL"), gh("pl")],
    "cs": [man("manpages-cs", "cs"), hb("cs-CZ"), ig("cs"), gh("cs")],
    "da": [man("manpages-da", "da"), hb("da-DK"), ig("da"), gh("da")],
    "nb": [man("manpages-nb", "nb"), hb("nb-NO")],
    "sv": [man("manpages-sv", "sv"), hb("sv-SE"), ig("sv"), gh("sv")],
    "fi": [man("manpages-fi", "fi"), gh("fi")],
    "hu": [man("manpages-hu", "hu"), gh("hu")],
    "ro": [man("manpages-ro", "ro"), hb("ro-RO"), ig("ro"), gh("ro")],
    "tr": [man("manpages-tr", "tr"), hb("tr-TR"), gh("tr")],
    "id": [man("manpages-id", "id"), hb("id-ID"), ig("id"), gh("id")],
    "vi": [man("manpages-vi", "vi"), hb("vi-VN"), ig("vi"), gh("vi")],
    "ru": [man("manpages-ru", "ru"), hb("ru-RU"), ig("ru"), gh("ru")],
    "uk": [man("manpages-uk", "uk"), gh("uk")],
    "sr": [man("manpages-sr", "sr"), gh("sr")],
    "el": [man("manpages-el", "el"), hb("el-GR"), ig("el"), gh("el")],
    "ja": [man("manpages-ja", "ja"), hb("ja-JP"), ig("ja"), gh("ja")],
    "zh": [man("manpages-zh", "zh_CN"), man("manpages-zh", "zh_TW"), hb("zh-CN"), hb("zh-TW"),
           ig("zh_CN"), gh("zh_CN")],
    "ko": [hb("ko-KR"), ig("ko"), gh("ko")],
    "ar": [hb("ar-MA")],
    "fa": [hb("fa-IR"), gh("fa")],
}

# --- scripts and stopwords -----------------------------------------------------------------
LATIN_LANGS = {"en", "de", "fr", "es", "it", "pt", "nl", "pl", "cs", "da", "nb", "sv", "fi",
               "hu", "ro", "tr", "id", "vi"}
EXPECTED = {"ru": {"Cyrl"}, "uk": {"Cyrl"}, "sr": {"Cyrl"}, "el": {"Grek"}, "ar": {"Arab"},
            "fa": {"Arab"}, "ko": {"Hang", "Hani"}, "ja": {"Hani", "Kana"},
            "zh": {"Hani"}}
CJK_LANGS = {"ja", "zh"}
AGGLUTINATIVE = {"fi", "hu", "tr"}
# letters a language does not use while a close neighbour does
FORBIDDEN = {"ru": set("іїєґђјљњћџ"), "uk": set("ыэъёђјљњћџ"), "sr": set("ыэъёіїєщй")}


SCRIPT = {k: re.compile("[%s]" % v) for k, v in {
    "Latn": "A-Za-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff",
    "Grek": "\u0370-\u03ff\u1f00-\u1fff",
    "Cyrl": "\u0400-\u052f",
    "Arab": "\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff",
    "Hang": "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f",
    "Kana": "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "Hani": "\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff",
}.items()}


def count(script, s):
    return len(SCRIPT[script].findall(s))


# English function words that are not also common words of the other Latin-script languages
# here ("to" is Polish and Czech, "for" Danish, "on" Finnish, "in" everywhere...).
EN_STOP = set("""the and of is are that this with it not or which from you your can if when were
has have these those should would may must only any each other such than then there their
they been into as but how what its we more most used using following specified does where
whether about after before between both either here like same some them through until very
while who without being because could had his our shall since my me us need many much every
just now out up down off over own too why yet again already always never often whose however
therefore thus unless though although within above below among against during upon onto
towards instead rather even still else otherwise make sure see use uses""".split())
STOP = {k: set(v.split()) for k, v in {
    "de": "der die das und ist nicht ein eine einen einem einer den dem des mit für auf von zu "
          "im wird werden sich sie es bei oder wenn auch als dass kann nur aus nach über wie "
          "sind noch diese dieser dieses wurde durch zum zur",
    "fr": "le la les des et est une un du dans pour que qui pas sur par ne avec sont ce cette "
          "il elle être peut plus au aux ou se si lorsque entre",
    "es": "el la los las de del y es un una en que por para con se no al lo como más su sus "
          "está son puede si cuando o este esta entre",
    "it": "il lo la gli le di del della dei delle che è un una per non con si da in sono al "
          "alla come può se questo questa anche più nel nella",
    "pt": "o a os as de do da dos das e é um uma em no na que para com se não por ao pode "
          "mais como ou são este esta seu sua",
    "nl": "de het een en van is niet op te dat die voor met zijn wordt worden als bij aan om "
          "door ook kan er of naar dan deze dit",
    "pl": "i w z na się nie to jest do że o jak oraz dla lub przez może być są co po od ten "
          "ta jeśli który która które tylko",
    "cs": "a je v se na že to s z do pro jako nebo není jsou by být které který která také jen "
          "při od po ale tak když",
    "da": "og i er at det en et den til på af med for som ikke de kan har vil eller fra der "
          "skal hvis blive bliver kun også",
    "nb": "og i er at det en et den til på av med for som ikke de kan har vil eller fra der "
          "skal hvis blir bli kun også",
    "sv": "och i är att det en ett den till på av med för som inte de kan har eller från ska "
          "om när också bara vara blir",
    "fi": "ja on ei että tai jos se kun ovat joka tämä voi myös mutta sen niin kuin jotka olla "
          "vain kaikki jossa ole eli kanssa jälkeen sitten kuten mukaan jota mitä nämä tätä voit",
    "hu": "a az és hogy nem is egy meg van ha vagy mint csak ez azt kell lehet által után "
          "minden illetve szerint amely ami nincs vannak",
    "tr": "ve bir bu için ile da de olarak veya daha gibi çok en olan ise değil kadar ya ancak "
          "sonra tüm her şu olduğu",
    "ro": "și în de la cu este nu a pe care un o se din pentru sau sunt mai ca dacă fi să ce "
          "acest această",
    "id": "dan yang di ke dari untuk dengan ini itu tidak adalah akan atau dalam pada oleh "
          "bisa dapat juga jika sebagai ada",
    "vi": "và của là các có được cho trong không một này với để những khi từ sẽ thì đó nếu "
          "bạn hoặc như cũng",
}.items()}
STOP["ro"] |= {"şi", "în"}  # cedilla spellings

# --- text helpers --------------------------------------------------------------------------
ZW = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"), None)  # not ZWNJ: Persian uses it
ZW.update({ord("\u00a0"): " ", ord("\u202f"): " ", ord("\u2009"): " ", ord("\t"): " ",
           ord("\u2010"): "-", ord("\u2011"): "-"})
CJK_CHAR = (r"\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
            r"\uff00-\uffef")
CJK_GAP = re.compile(r"(?<=[%s]) +(?=[%s])" % (CJK_CHAR, CJK_CHAR))
SENT_END = re.compile(r"(?<=[.!?;:])\s+(?=\S)|(?<=[。！？；])")
WORD = re.compile(r"\w+", re.UNICODE)


def normalise(s):
    s = unicodedata.normalize("NFC", s).translate(ZW)
    s = re.sub(r"\s+", " ", s).strip()
    return CJK_GAP.sub("", s)


def cut(para, lo=80, hi=400):
    """Cut a paragraph into pieces of about lo..hi characters at sentence ends."""
    if len(para) <= hi:
        return [para]
    sents = [x for x in SENT_END.split(para) if x.strip()]
    out, cur = [], ""
    for s in sents:
        s = s.strip()
        while len(s) > hi:  # an overlong sentence: cut at a space (or anywhere, for CJK)
            k = s.rfind(" ", lo, hi)
            if k < 0:
                k = max((s.rfind(p, lo, hi) for p in "、，,"), default=-1)
                k = hi if k < 0 else k + 1
            head, s = s[:k].strip(), s[k:].strip()
            if cur:
                out.append(cur)
                cur = ""
            out.append(head)
        if cur and len(cur) + 1 + len(s) > hi:
            out.append(cur)
            cur = s
        else:
            cur = (cur + " " + s) if cur else s
    if cur:
        if out and len(cur) < lo and len(out[-1]) + 1 + len(cur) <= hi:
            out[-1] += " " + cur
        else:
            out.append(cur)
    return out


LETTER = re.compile(r"[^\W\d_]")
DIGIT = re.compile(r"\d")
CODE = re.compile(r"[{}\[\]<>=;$|\\/_*#@~^`&%]")
TECH = re.compile(r"(?:^|\s)(?:-|\S*(?:[/_=]|\(\)|::))")


def looks_like_prose(s, lang):
    """s is normalised: single spaces, no other white space."""
    if len(s) < (20 if lang in CJK_LANGS else 40):
        return False
    n = len(s) - s.count(" ")
    if len(LETTER.findall(s)) < 0.75 * n:
        return False
    if len(DIGIT.findall(s)) > 0.1 * n or len(CODE.findall(s)) > 0.04 * n:
        return False
    words = s.count(" ") + 1
    if words < 4 and lang not in CJK_LANGS:  # a title, a list of names or identifiers
        return False
    if len(TECH.findall(s)) > 0.2 * words:  # options, paths, identifiers
        return False
    upper = sum(map(str.isupper, s))
    if upper > 20 and upper > 0.4 * (upper + sum(map(str.islower, s))):
        return False
    return True


def in_language(s, lang):
    n = len(LETTER.findall(s))
    if not n:
        return False
    if lang in LATIN_LANGS:
        if count("Latn", s) < 0.98 * n:
            return False
        words = WORD.findall(s.lower())
        en = sum(w in EN_STOP for w in words)
        if lang == "en":
            return len(re.findall(r"[A-Za-z]", s)) >= 0.98 * n and (en >= 1 or len(words) < 8)
        own = sum(w in STOP[lang] for w in words)
        if (en >= 2 and en > own) or (en and not own and len(words) >= 6):
            return False
        # Finnish, Hungarian and Turkish put in suffixes what others say with small words
        return own >= 1 or len(words) < 8 or lang in AGGLUTINATIVE
    if sum(count(x, s) for x in EXPECTED[lang]) < 0.7 * n:
        return False
    if lang in FORBIDDEN and set(s.lower()) & FORBIDDEN[lang]:
        return False
    if lang == "ja":
        return count("Kana", s) >= 0.1 * n
    if lang == "zh":
        return count("Kana", s) == 0 and count("Hang", s) == 0
    if lang == "ko":
        return count("Hang", s) >= 0.5 * n
    if lang in ("ar", "fa"):
        persian = sum(s.count(c) for c in "پچژگیک")
        arabic = sum(s.count(c) for c in "يكة")
        return arabic >= persian if lang == "ar" else persian > arabic
    return True


# --- extraction ----------------------------------------------------------------------------
DROP_BLOCKS = [(".nf", ".fi"), (".EX", ".EE"), (".TS", ".TE"), (".EQ", ".EN"), (".PS", ".PE"),
               (".(l", ".)l")]


GROFF = ["groff", "-Kutf-8", "-Tutf8", "-mandoc", "-rLL=6000n", "-rHY=0", "-dAD=l", "-P-cbou"]
MARK = "LIDPAGEBREAK%d"


def man_source(path):
    """The groff source of a man page without its verbatim blocks; None for an alias."""
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    try:
        src = raw.decode("utf-8")
    except UnicodeDecodeError:
        src = raw.decode("latin-1")
    lines, skip = [], None
    for ln in src.split("\n"):
        head = ln[:3]
        if skip:
            if head == skip:
                skip = None
            continue
        for a, b in DROP_BLOCKS:
            if head == a and (len(ln) == 3 or ln[3] in " \t"):
                skip = b
                break
        else:
            if ln.startswith(".so "):
                return None
            lines.append(ln)
    return "\n".join(lines)


def groff(src):
    try:
        r = subprocess.run(GROFF, input=src.encode("utf-8"), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=120)
    except subprocess.TimeoutExpired:
        return ""
    return r.stdout.decode("utf-8", "replace")


def man_paragraphs(paths):
    """Render man pages with groff: {path: paragraphs (one output line each)}.

    groff starts in ~30 ms, about what it takes to lay out a page, so pages are rendered
    in batches, each followed by a line that marks its end. A batch whose marks do not
    all come out (a page that stops groff) is rendered again page by page."""
    srcs = [(p, man_source(p)) for p in paths]
    srcs = [(p, x) for p, x in srcs if x is not None]
    out = {p: [] for p in paths}
    text = "".join("%s\n.br\n.fi\n.ti 0\n%s\n.br\n" % (x, MARK % i)
                   for i, (_, x) in enumerate(srcs))
    rendered = groff(text).split("\n")
    marks = [ln.strip() for ln in rendered if ln.strip().startswith("LIDPAGEBREAK")]
    if marks != [MARK % i for i in range(len(srcs))]:
        rendered = []
        for i, (_, x) in enumerate(srcs):
            rendered += groff(x).split("\n") + [MARK % i]
    # a page's output: the page header (column 0), the NAME heading (column 0), the NAME
    # line ("ls - list directory contents": skipped, often left in English), further
    # headings (column 0) each followed by paragraphs (indented); the footer (column 0)
    i, buf, headings = 0, [], 0
    for ln in rendered:
        if ln.strip().startswith("LIDPAGEBREAK"):
            out[srcs[i][0]] = buf
            i, buf, headings = i + 1, [], 0
        elif ln and not ln.startswith(" "):
            headings += 1
        elif ln.startswith(" ") and headings > 2:
            s = ln.strip()
            m = re.match(r"(\S{1,30}(?: \S{1,30})?)\s{3,}(\S.*)$", s)  # inline .TP tag
            buf.append(m.group(2) if m else s)
    return out


class Blocks(html.parser.HTMLParser):
    """Text of an HTML or Mallard file cut at block elements, without code blocks,
    navigation, tables of contents and metadata. Inline code stays: man pages keep it too."""
    BLOCK = {"p", "div", "li", "ul", "ol", "dl", "dd", "dt", "td", "th", "tr", "table", "br",
             "h1", "h2", "h3", "h4", "h5", "h6", "section", "item", "list", "terms", "tree",
             "note", "blockquote", "figure", "caption", "title", "subtitle", "desc", "steps",
             "media", "links", "hr", "tbody", "thead", "body", "page", "example"}
    SKIP = {"head", "script", "style", "pre", "screen", "info", "programlisting", "synopsis",
            "cmdsynopsis", "math", "figcaption"}
    SKIP_CLASS = ("toc", "docnav", "navheader", "navfooter", "titlepage", "legalnotice")

    def __init__(self, mallard):
        super().__init__(convert_charrefs=True)
        self.mallard = mallard
        self.paras, self.buf = [], []
        self.skip_tag, self.skip_nest = None, 0  # the subtree being skipped
        self.in_p = 0
        self.last_end = None

    def flush(self):
        if self.buf:
            self.paras.append("".join(self.buf))
            self.buf = []

    def handle_starttag(self, tag, attrs):
        if self.skip_tag:
            self.skip_nest += tag == self.skip_tag
            return
        cls = (dict(attrs).get("class") or "").split()
        if (tag in self.SKIP or any(c in self.SKIP_CLASS for c in cls)
                or (self.mallard and tag == "code" and not self.in_p)):  # a code block
            self.flush()
            self.skip_tag, self.skip_nest = tag, 1
            return
        if tag in self.BLOCK:
            self.flush()
        if tag == "p":
            self.in_p += 1
        if tag == "key" and self.last_end == "key":
            self.buf.append("+")  # <keyseq><key>Ctrl</key><key>C</key></keyseq>: Ctrl+C

    def handle_startendtag(self, tag, attrs):
        if not self.skip_tag and tag in self.BLOCK:
            self.flush()

    def handle_endtag(self, tag):
        self.last_end = tag
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_nest -= 1
                if not self.skip_nest:
                    self.skip_tag = None
            return
        if tag == "p":
            self.in_p = max(0, self.in_p - 1)
        if tag in self.BLOCK:
            self.flush()

    def handle_data(self, data):
        if not self.skip_tag:
            self.buf.append(data)
            if data.strip():
                self.last_end = None


def markup_paragraphs(path):
    p = Blocks(path.endswith(".page"))
    with open(path, encoding="utf-8", errors="replace") as f:
        p.feed(f.read())
    p.close()
    p.flush()
    return p.paras


def page_key(kind, path):
    name = os.path.basename(path)
    if kind == "man":
        name = re.sub(r"\.gz$", "", name)
    return "%s:%s" % ({"man": "man", "mallard": "help"}.get(kind, path.split("/")[4]), name)


def process(task):
    """Pieces of a batch of source files: [(path, [(page key, piece, paragraph)])], each
    piece already filtered for the task's language."""
    lang, kind, pkg, paths = task
    if kind == "man":
        paras = man_paragraphs(paths)
    else:
        paras = {p: markup_paragraphs(p) for p in paths}
    res = []
    for path in paths:
        key, out = page_key(kind, path), []
        for para in paras[path]:
            para = normalise(para)
            if not para:
                continue
            for piece in cut(para):
                if looks_like_prose(piece, lang) and in_language(piece, lang):
                    out.append((key, piece, para))
        res.append((path, out))
    return res


# --- packages ------------------------------------------------------------------------------
def installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip().endswith(" installed")


def ensure_packages(pkgs, allow_install):
    missing = [p for p in pkgs if not installed(p)]
    if not shutil.which("groff"):
        missing.append("groff-base")
    if not missing:
        return
    cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + missing
    if not allow_install or os.geteuid() != 0:
        sys.exit("make-lid-corpus: missing packages: %s\nInstall them as root: %s"
                 % (" ".join(missing), " ".join(cmd)))
    print("installing: " + " ".join(missing), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for attempt in range(2):
        r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        if r.returncode == 0:
            return
        if attempt == 0:
            print("apt-get install failed; running apt-get update and trying again", flush=True)
            subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL)
    sys.exit("make-lid-corpus: could not install %s:\n%s" % (" ".join(missing), r.stderr[-2000:]))


def package_files(pkg):
    r = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=True)
    return r.stdout.split("\n")


BATCH = 24


def list_tasks(langs):
    tasks, cache = [], {}
    for lang in langs:
        for kind, pkg, prefix in SOURCES[lang]:
            if pkg not in cache:
                cache[pkg] = package_files(pkg)
            ext = {"man": None, "html": ".html", "mallard": ".page"}[kind]
            files = []
            for f in cache[pkg]:
                if not f.startswith(prefix) or not os.path.isfile(f) or os.path.islink(f):
                    continue
                if kind == "man":
                    if not re.search(r"/man\d\w*/[^/]+\.\d\w*(\.gz)?$", f):
                        continue
                elif not f.endswith(ext):
                    continue
                files.append(f)
            files = sorted(set(files))
            tasks += [(lang, kind, pkg, tuple(files[i:i + BATCH]))
                      for i in range(0, len(files), BATCH)]
    return tasks


# --- main ----------------------------------------------------------------------------------
def letters_key(s):
    return "".join(c for c in s.casefold() if c.isalnum())


def h(s):
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=os.path.join(ROOT, "out", "lid"))
    ap.add_argument("--max-lines", type=int, default=6000, help="cap per language")
    ap.add_argument("--min-lines", type=int, default=1500, help="drop languages with fewer")
    ap.add_argument("--test-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--langs", help="comma-separated subset of: " + ",".join(sorted(SOURCES)))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-install", action="store_true", help="fail instead of installing")
    args = ap.parse_args()

    t0 = time.time()
    langs = sorted(SOURCES) if not args.langs else sorted(set(args.langs.split(",")))
    bad = [l for l in langs if l not in SOURCES]
    if bad:
        sys.exit("make-lid-corpus: unknown language(s): " + ",".join(bad))
    # the English sources also serve to spot untranslated passages in the others
    work = sorted(set(langs) | {"en"})
    pkgs = sorted({pkg for l in work for _, pkg, _ in SOURCES[l]})
    ensure_packages(pkgs, not args.no_install)

    tasks = list_tasks(work)
    print("%d source files in %d languages" % (sum(len(t[3]) for t in tasks), len(work)),
          flush=True)
    # biggest batches first keeps both workers busy to the end; results stay in task order
    order = sorted(range(len(tasks)), key=lambda i: (tasks[i][1] != "man", i))
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        done = dict(zip(order, ex.map(process, [tasks[i] for i in order], chunksize=2)))
    # one (language, package, pieces) per source file, in sorted task order
    files = [(t[0], t[2], out) for i, t in enumerate(tasks) for _, out in done[i]]
    print("extracted in %.0f s" % (time.time() - t0), flush=True)

    # English reference: paragraphs and pieces of the English sources
    english = set()
    for lang, _, res in files:
        if lang == "en":
            for _, piece, para in res:
                english.add(letters_key(piece))
                english.add(letters_key(para))
    labels = collections.defaultdict(set)
    for lang, _, res in files:
        for _, piece, _ in res:
            labels[letters_key(piece)].add(lang)

    per_lang = {l: [] for l in work}
    seen, seen_prefix = set(), set()
    dropped = collections.Counter()
    for lang, pkg, res in files:
        for key, piece, para in res:
            k = letters_key(piece)
            if lang != "en" and (k in english or letters_key(para) in english):
                dropped["english"] += 1
                continue
            if len(labels[k]) > 1 and "en" not in labels[k]:
                dropped["two labels"] += 1
                continue
            near = k[:48]
            if key.startswith("man:"):  # boilerplate that names the page: "ls is part of..."
                stem = re.escape(key[4:].rsplit(".", 1)[0])
                near = letters_key(re.sub(r"(?<!\w)%s(?!\w)" % stem, " ", piece))[:48]
            if (lang, k) in seen or (lang, near) in seen_prefix:
                dropped["duplicate"] += 1
                continue
            seen.add((lang, k))
            seen_prefix.add((lang, near))
            per_lang[lang].append((key, piece, pkg))
    print("dropped: " + ", ".join("%s %d" % kv for kv in sorted(dropped.items())), flush=True)

    train, test, stats = [], [], []
    for lang in langs:
        rows = per_lang[lang]
        if len(rows) < args.min_lines:
            print("dropping %s: %d lines < --min-lines %d" % (lang, len(rows), args.min_lines))
            continue
        rng = random.Random("%d:%s" % (args.seed, lang))
        if len(rows) > args.max_lines:
            rows = rng.sample(rows, args.max_lines)
            rows.sort(key=lambda r: (h(r[0]), r[1]))
        pages = collections.defaultdict(list)
        for r in rows:
            pages[r[0]].append(r)
        # test pages: in the order of a hash of the page name (the same in every language),
        # skipping pages that would overshoot, until test reaches the fraction
        target, total = args.test_fraction * len(rows), len(rows)
        test_pages, n_test = set(), 0
        for key in sorted(pages, key=lambda k: (h(k), k)):
            if n_test >= target:
                break
            if n_test + len(pages[key]) <= 1.2 * target:
                test_pages.add(key)
                n_test += len(pages[key])
        tr = [r for r in rows if r[0] not in test_pages]
        te = [r for r in rows if r[0] in test_pages]
        train += [(lang, r[1]) for r in tr]
        test += [(lang, r[1]) for r in te]
        used = sorted({r[2] for r in rows})
        stats.append((lang, len(tr), len(te), ",".join(used),
                      len(pages) - len(test_pages), len(test_pages)))

    rng = random.Random(args.seed)
    train.sort()
    test.sort()
    rng.shuffle(train)
    rng.shuffle(test)
    os.makedirs(args.out, exist_ok=True)
    for name, rows in (("train.txt", train), ("test.txt", test)):
        with open(os.path.join(args.out, name), "w", encoding="utf-8", newline="\n") as f:
            for lang, text in rows:
                f.write("__label__%s %s\n" % (lang, text))
    with open(os.path.join(args.out, "stats.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("language\ttrain_lines\ttest_lines\tsource_packages\ttrain_pages\ttest_pages\n")
        for row in stats:
            f.write("\t".join(map(str, row)) + "\n")
        f.write("TOTAL\t%d\t%d\t\t\t\n" % (len(train), len(test)))
    for row in stats:
        print("%-3s train %5d  test %4d  pages %4d/%3d  %s" % (row[0], row[1], row[2], row[4],
                                                              row[5], row[3]))
    print("%d languages, train %d lines, test %d lines -> %s (%.0f s)"
          % (len(stats), len(train), len(test), args.out, time.time() - t0))


if __name__ == "__main__":
    main()
