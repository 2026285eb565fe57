import Foundation
import Testing
import WinnowText

/// Checks the Python semantics the counts and dedup key promise against a
/// real CPython (`len`, `str.split`, `unicodedata.normalize`, `str.lower`).
@Suite(.enabled(if: Python.available, "python3 not found"))
struct PythonParityTests {
  static let samples: [String] = [
    "",
    "plain ASCII words, with punctuation.\n",
    "  leading\tand trailing \n\n",
    "Größe STRASSE ẞ straße",
    "İstanbul ISTANBUL ıi",
    "ΟΔΟΣ ΣΟΦΟΣ Σ. ΑΣ' ΟΣ-ΟΣ",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＳＣＩＩ ａｎｄ ﾊﾝｶｸ",
    "ﬁne ﬂour ½ x² ㎏ ㍻ №",
    "한국어 텍스트 \u{1100}\u{1161}\u{11A8}",
    "e\u{301}cole a\u{302}\u{323} Å",
    "日本語のテキスト、句読点。中文文本，标点。",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "emoji 😀👍🏽 👨‍👩‍👧 🇩🇪 𝄞 𠀋",
    "a\u{A0}b\u{3000}c\u{2028}d\u{2029}e\u{85}f\u{1680}g\u{2009}h\u{202F}i\u{205F}j",
    "sep\u{1C}a\u{1D}b\u{1E}c\u{1F}d\u{0B}e\u{0C}f\r\ng",
    "zero\u{200B}width\u{FEFF}bom\u{180E}mvs\u{2060}wj",
    "Привет, мир! Ελληνικά. عربي עברית हिन्दी",
    "\u{FDFA} \u{FB01}\u{FB02}\u{FB03}",
    "tabs\t\t\tand   spaces   \t \n mixed\u{3000}\u{3000}runs",
  ]

  static let script = """
    import json, sys, unicodedata
    out = []
    for s in json.load(sys.stdin):
        out.append({
            "len": len(s),
            "split": len(s.split()),
            "lines": s.count("\\n") + (1 if s and not s.endswith("\\n") else 0),
            "nfc": unicodedata.normalize("NFC", s),
            "nfkc": unicodedata.normalize("NFKC", s),
            "lower": s.lower(),
            "key": " ".join(unicodedata.normalize("NFKC", s).lower().split()),
        })
    json.dump(out, sys.stdout)
    """

  @Test func countsAndNormalisationMatchPython() throws {
    let results = try #require(Python.run(Self.script, input: Self.samples) as? [[String: Any]])
    try #require(results.count == Self.samples.count)
    for (s, py) in zip(Self.samples, results) {
      let c = counts(s)
      #expect(c.scalars == py["len"] as? Int, "len(\(s.debugDescription))")
      #expect(c.words == py["split"] as? Int, "split(\(s.debugDescription))")
      #expect(c.lines == py["lines"] as? Int, "lines(\(s.debugDescription))")
      // Compare bytes: String == would accept any canonically equivalent form.
      func same(_ ours: String, _ key: String) {
        let theirs = py[key] as? String ?? "<missing>"
        #expect(
          Array(ours.utf8) == Array(theirs.utf8),
          "\(key)(\(s.debugDescription)): \(ours.debugDescription) vs \(theirs.debugDescription)")
      }
      same(nfc(s), "nfc")
      same(nfc(s, .nfkc), "nfkc")
      same(lower(s), "lower")
      same(dedupKey(s), "key")
    }
  }

  @Test func whitespaceSetMatchesPython() throws {
    let script = "import json,sys; json.dump([c for c in range(0x110000) if chr(c).isspace()], sys.stdout)"
    let python = try #require(Python.run(script, input: [Int]()) as? [Int])
    var ours: [Int] = []
    for v in UInt32(0)...0x10FFFF {
      if let s = Unicode.Scalar(v), UnicodeWhitespace.contains(s) { ours.append(Int(v)) }
    }
    #expect(ours == python)
  }
}

/// Every code point CPython's Unicode database knows (its version may be
/// older than ICU's; characters it lacks are skipped), one at a time.
@Suite(.enabled(if: Python.available, "python3 not found"))
struct PythonCodePointTests {
  static let script = """
    import json, sys, unicodedata
    cps, low, nfc, nfkc = [], [], [], []
    for c in range(0x110000):
        if 0xD800 <= c < 0xE000 or unicodedata.category(chr(c)) == "Cn":
            continue
        s = chr(c)
        cps.append(c)
        low.append(s.lower())
        nfc.append(unicodedata.normalize("NFC", s))
        nfkc.append(unicodedata.normalize("NFKC", s))
    json.dump({"cps": cps, "lower": low, "nfc": nfc, "nfkc": nfkc}, sys.stdout)
    """

  @Test func singleCodePointsMatchPython() throws {
    let py = try #require(Python.run(Self.script, input: [Int]()) as? [String: [Any]])
    let cps = try #require(py["cps"] as? [Int])
    let expected = try ["lower", "nfc", "nfkc"].map { try #require(py[$0] as? [String]) }
    var n = TextNormalizer()
    var out: [UInt8] = []
    var mismatches: [String] = []
    for (k, cp) in cps.enumerated() {
      let bytes = Array(String(Unicode.Scalar(UInt32(cp))!).utf8)
      bytes.withUnsafeBufferPointer { buf in
        n.lowercase(buf, into: &out)
        if out != Array(expected[0][k].utf8) { mismatches.append("lower U+\(String(cp, radix: 16))") }
        n.normalize(buf, form: .nfc, into: &out)
        if out != Array(expected[1][k].utf8) { mismatches.append("nfc U+\(String(cp, radix: 16))") }
        n.normalize(buf, form: .nfkc, into: &out)
        if out != Array(expected[2][k].utf8) { mismatches.append("nfkc U+\(String(cp, radix: 16))") }
      }
    }
    #expect(cps.count > 140_000)
    #expect(mismatches.isEmpty, "\(mismatches.count): \(mismatches.prefix(20))")
  }
}

/// Random strings built to stress the context-dependent parts: final sigma
/// (case-ignorable and cased neighbours), combining sequences and Hangul
/// jamo across the normaliser's segment edges, whitespace runs.
@Suite(.enabled(if: Python.available, "python3 not found"))
struct PythonRandomStringTests {
  static let pool: [String] = [
    "Σ", "Σ", "Σ", "A", "a", "É", "Ω", "'", ".", "\u{301}", "\u{AD}", "\u{2B0}", "\u{345}", " ", "1",
    "中", "İ", "\u{1F88}", "\u{10400}", "’", "σ", "ß", "ẞ", "e", "\u{323}", "\u{302}", "\u{1100}",
    "\u{1161}", "\u{11A8}", "가", "Ａ", "ﬁ", "\u{FDFA}", "Å", "\u{212B}", "，", "\u{3000}", "\u{A0}",
    "😀", "\u{BC6}", "\u{BBE}", "\u{3099}", "か", "ｶ", "ﾞ", "\t", "\n", "\u{2028}", "\u{85}", "x",
    "long ascii words here ", "ΟΔΟΣ", "Straße",
  ]

  @Test func randomStringsMatchPython() throws {
    var rng = SplitMix(seed: 7)
    var samples: [String] = []
    for _ in 0..<3000 {
      var s = ""
      for _ in 0..<Int(rng.next() % 60) { s += Self.pool[Int(rng.next() % UInt64(Self.pool.count))] }
      samples.append(s)
    }
    let script = """
      import json, sys, unicodedata
      out = []
      for s in json.load(sys.stdin):
          k = unicodedata.normalize("NFKC", s)
          out.append([s.lower(), unicodedata.normalize("NFC", s), k,
                      unicodedata.normalize("NFKC", s.lower()), " ".join(k.lower().split()),
                      len(s), len(s.split())])
      json.dump(out, sys.stdout)
      """
    let python = try #require(Python.run(script, input: samples) as? [[Any]])
    var failures = 0
    for (s, py) in zip(samples, python) {
      let ours: [Any] = [
        lower(s), nfc(s), nfc(s, .nfkc), nfc(lower(s), .nfkc), dedupKey(s),
        counts(s).scalars, counts(s).words,
      ]
      for (k, (a, b)) in zip(ours, py).enumerated() {
        let same: Bool
        if let a = a as? String, let b = b as? String {
          same = Array(a.utf8) == Array(b.utf8)
        } else {
          same = (a as? Int) == (b as? Int)
        }
        if !same {
          failures += 1
          if failures < 10 { Issue.record("field \(k) of \(s.debugDescription): \(a) vs \(b)") }
        }
      }
    }
    #expect(failures == 0)
  }
}
