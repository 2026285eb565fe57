import Testing
import WinnowText

@Suite struct NormalizationTests {
  @Test func nfcComposesAndReorders() {
    #expect(nfc("e\u{301}cole") == "\u{E9}cole")
    // Canonical reordering: dot below (ccc 220) sorts before circumflex (230).
    #expect(nfc("a\u{302}\u{323}") == "\u{1EAD}")
    #expect(nfc("a\u{323}\u{302}") == "\u{1EAD}")
    // Conjoining jamo compose to a Hangul syllable.
    #expect(nfc("\u{1100}\u{1161}\u{11A8}") == "\u{AC01}")
    // Singleton decomposition: ANGSTROM SIGN → Å.
    #expect(nfc("\u{212B}") == "\u{C5}")
    // NFC keeps compatibility characters.
    #expect(nfc("\u{FB01} \u{FF21} \u{B2}") == "\u{FB01} \u{FF21} \u{B2}")
    #expect(nfc("Straße İstanbul ΟΔΟΣ 한국어") == "Straße İstanbul ΟΔΟΣ 한국어")
  }

  @Test func nfcIsCanonicalBytes() {
    // Swift String equality is canonical equivalence; compare bytes too.
    let bytes = Array(nfc("e\u{301}").utf8)
    #expect(bytes == [0xC3, 0xA9])
  }

  @Test func nfkcFoldsCompatibilityCharacters() {
    #expect(nfc("\u{FF21}\u{FF22}\u{FF23}\u{FF11}\u{FF12}", .nfkc) == "ABC12")  // full-width
    #expect(nfc("\u{FB01}ne", .nfkc) == "fine")  // ligature ﬁ
    #expect(nfc("x\u{B2}", .nfkc) == "x2")
    #expect(nfc("\u{BD}", .nfkc) == "1\u{2044}2")
    #expect(nfc("a\u{A0}b\u{3000}c", .nfkc) == "a b c")
    #expect(nfc("\u{337B}", .nfkc) == "平成")  // square era name
    #expect(nfc("\u{FF76}\u{FF9E}", .nfkc) == "\u{30AC}")  // half-width ｶﾞ → ガ
    #expect(nfc("\u{1100}\u{1161}", .nfkc) == "\u{AC00}")
    #expect(nfc("Straße", .nfkc) == "Straße")  // ß is not a compatibility char
    #expect(nfc("e\u{301}", .nfkc) == "\u{E9}")
  }

  @Test func nfkcHeavyExpansion() {
    // U+FDFA expands to 18 characters: exercises the output regrowth paths.
    let expected =
      "\u{635}\u{644}\u{649} \u{627}\u{644}\u{644}\u{647} \u{639}\u{644}\u{64A}\u{647} \u{648}\u{633}\u{644}\u{645}"
    #expect(nfc("\u{FDFA}", .nfkc) == expected)
    let many = String(repeating: "\u{FDFA}", count: 5000)
    let out = nfc(many, .nfkc)
    #expect(out == String(repeating: expected, count: 5000))
  }

  @Test func nfkcCasefold() {
    #expect(nfc("Straße", .nfkcCasefold) == "strasse")
    #expect(nfc("HeLLo WORLD", .nfkcCasefold) == "hello world")  // ASCII path
    #expect(nfc("\u{130}", .nfkcCasefold) == "i\u{307}")
    #expect(nfc("ΟΔΟΣ", .nfkcCasefold) == "οδοσ")  // case folding has no final sigma
    #expect(nfc("\u{FF21}\u{FB01}", .nfkcCasefold) == "afi")
    #expect(nfc("soft\u{AD}hyphen", .nfkcCasefold) == "softhyphen")  // default ignorable
  }

  @Test func asciiIsReturnedUnchanged() {
    let ascii = "Plain ASCII text, with punctuation!\n\tAnd CAPS."
    #expect(nfc(ascii) == ascii)
    #expect(nfc(ascii, .nfkc) == ascii)
    #expect(nfc("") == "")
    #expect(nfc("", .nfkcCasefold) == "")
  }

  @Test func illFormedBecomesReplacement() {
    var n = TextNormalizer()
    var out: [UInt8] = []
    let bad: [UInt8] = [0x61, 0xFF, 0x62, 0xE2, 0x82, 0x63, 0xC3, 0xA9]
    bad.withUnsafeBufferPointer { n.normalize($0, form: .nfc, into: &out) }
    #expect(string(out) == "a\u{FFFD}b\u{FFFD}c\u{E9}")
  }

  @Test func lowercase() {
    #expect(lower("ÉCOLE") == "école")
    #expect(lower("İstanbul") == "i\u{307}stanbul")  // root locale, not Turkish
    #expect(lower("ISTANBUL") == "istanbul")  // no dotless ı outside Turkish
    #expect(lower("ΟΔΟΣ ΣΟΦΟΣ.") == "οδος σοφος.")  // final sigma by context
    #expect(lower("Σ") == "σ")
    #expect(lower("STRASSE ß ẞ") == "strasse ß ß")
    #expect(lower("ПРИВЕТ мир") == "привет мир")
    #expect(lower("ＡＢＣ") == "ａｂｃ")
    #expect(lower("ȺȾ") == "ⱥⱦ")  // 2-byte upper → 3-byte lower: output grows
    #expect(lower("MiXeD ASCII 123") == "mixed ascii 123")
    #expect(lower("") == "")
  }

  @Test func lowercaseGrowthRetries() {
    // 2 → 3 bytes per character: 50 % growth, more than the first guess.
    let s = String(repeating: "Ⱥ", count: 10_000)
    #expect(lower(s) == String(repeating: "ⱥ", count: 10_000))
  }

  @Test func outputBufferIsReused() {
    var n = TextNormalizer()
    var out: [UInt8] = []
    out.reserveCapacity(1 << 16)
    let before = out.capacity
    withUTF8(String(repeating: "e\u{301}", count: 100)) { n.normalize($0, form: .nfc, into: &out) }
    #expect(string(out) == String(repeating: "\u{E9}", count: 100))
    withUTF8("short") { n.normalize($0, form: .nfc, into: &out) }
    #expect(string(out) == "short")
    #expect(out.capacity == before)
  }

  @Test func dedupKeyExamples() {
    #expect(dedupKey("  Hello\u{3000}\u{A0}ＷＯＲＬＤ\n\t\u{FB01}ne  ") == "hello world fine")
    #expect(dedupKey("A  B\t\nC ") == "a b c")
    #expect(dedupKey("The  Quick\r\n\r\nBrown\u{1C}Fox") == "the quick brown fox")
    #expect(dedupKey("ΟΔΟΣ\u{2028}ΣΟΦΟΣ") == "οδος σοφος")
    #expect(dedupKey("Straße\u{85}İ") == "straße i\u{307}")
    #expect(dedupKey("zero\u{200B}width") == "zero\u{200B}width")  // U+200B is not whitespace
    #expect(dedupKey(" \t\n\u{3000} ") == "")
    #expect(dedupKey("") == "")
    #expect(dedupKey("x") == "x")
    #expect(dedupKey("日本語　の\u{3000}テキスト") == "日本語 の テキスト")
    // Each 8-byte lane mixes fast and slow cases.
    #expect(dedupKey("abcdefg  hijklmn opqrstu\tvwxyz AB") == "abcdefg hijklmn opqrstu vwxyz ab")
    #expect(dedupKey("        ABCDEFGH        ") == "abcdefgh")
  }
}
