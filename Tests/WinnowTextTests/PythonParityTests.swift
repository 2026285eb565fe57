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
        #expect(Array(ours.utf8) == Array(theirs.utf8), "\(key)(\(s.debugDescription)): \(ours.debugDescription) vs \(theirs.debugDescription)")
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
