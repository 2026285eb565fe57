import Testing
import WinnowText

func counts(_ s: String) -> (scalars: Int, words: Int, lines: Int) {
  withUTF8(s) { (TextCounts.scalars($0), TextCounts.whitespaceWords($0), TextCounts.lines($0)) }
}

@Suite struct CountsTests {
  @Test func empty() {
    let c = counts("")
    #expect(c.scalars == 0 && c.words == 0 && c.lines == 0)
    let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    #expect(TextCounts.scalars(empty) == 0)
    #expect(TextCounts.whitespaceWords(empty) == 0)
    #expect(TextCounts.lines(empty) == 0)
  }

  @Test func ascii() {
    let c = counts("The quick brown fox\njumps over\tthe lazy dog.\n")
    #expect(c.scalars == 45)
    #expect(c.words == 9)
    #expect(c.lines == 2)
    #expect(counts("   leading and trailing   ").words == 3)
    #expect(counts("one").words == 1)
    #expect(counts("     ").words == 0)
  }

  @Test func lines() {
    #expect(counts("a").lines == 1)
    #expect(counts("a\n").lines == 1)
    #expect(counts("a\nb").lines == 2)
    #expect(counts("\n").lines == 1)
    #expect(counts("\n\n").lines == 2)
    #expect(counts("a\r\nb\r\n").lines == 2)
    #expect(counts("a\rb").lines == 1)
    #expect(counts(String(repeating: "line\n", count: 1000)).lines == 1000)
  }

  @Test func cjkAndEmoji() {
    let cjk = counts("日本語のテキスト")
    #expect(cjk.scalars == 8)
    #expect(cjk.words == 1)
    // Outside the BMP: 1 scalar each (UTF-16 would need surrogate pairs).
    #expect(counts("😀").scalars == 1)
    #expect(counts("𝄞𠀋").scalars == 2)
    // Family emoji: 5 scalars (3 people + 2 ZWJ), 1 grapheme.
    #expect(counts("👨‍👩‍👧").scalars == 5)
    #expect(counts("👍🏽 ok 👨‍👩‍👧").words == 3)
    #expect(counts("e\u{301}").scalars == 2)
  }

  @Test(
    arguments: [
      0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
      0x2000, 0x2001, 0x2005, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    ] as [UInt32])
  func splitsOnPythonWhitespace(_ v: UInt32) {
    let ws = String(Unicode.Scalar(v)!)
    #expect(counts("a\(ws)b").words == 2)
    #expect(counts("\(ws)a\(ws)\(ws)b\(ws)").words == 2)
    // Also through the 8-byte path: whitespace in the middle of long runs.
    #expect(counts("abcdefghij\(ws)klmnopqrstu\(ws)vw").words == 3)
    #expect(UnicodeWhitespace.contains(Unicode.Scalar(v)!))
  }

  @Test(arguments: [0x200B, 0x180E, 0xFEFF, 0x00, 0x08, 0x0E, 0x1B, 0x7F, 0x2060, 0x3001] as [UInt32])
  func doesNotSplitOnOtherCharacters(_ v: UInt32) {
    let c = String(Unicode.Scalar(v)!)
    #expect(counts("a\(c)b").words == 1)
    #expect(counts("abcdefghij\(c)klmnopqrstu\(c)vw").words == 1)
    #expect(!UnicodeWhitespace.contains(Unicode.Scalar(v)!))
  }

  @Test func whitespaceSetMatchesAllScalars() {
    // Exactly these code points; every other scalar is not whitespace.
    let expected: Set<UInt32> = [
      0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
      0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
      0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    ]
    var found: Set<UInt32> = []
    var byteFound: Set<UInt32> = []
    for v in UInt32(0)...0x10FFFF {
      guard let s = Unicode.Scalar(v) else { continue }
      if UnicodeWhitespace.contains(s) { found.insert(v) }
      // The byte-level classifier must agree with the scalar one.
      if withUTF8("a\(String(s))b", { TextCounts.whitespaceWords($0) }) == 2 { byteFound.insert(v) }
    }
    #expect(found == expected)
    #expect(byteFound == expected)
  }

  @Test func swarLanesAgreeWithByteLoop() {
    // Every alignment of a non-ASCII scalar and whitespace within 8-byte words.
    let pieces = ["a", " ", "é", "\u{3000}", "\t", "日", "😀", "\u{A0}", "bc", "\n\n", "\u{2009}", "XY", "\u{1C}"]
    var rng = SplitMix(seed: 42)
    for _ in 0..<2000 {
      var s = ""
      for _ in 0..<Int(rng.next() % 24) { s += pieces[Int(rng.next() % UInt64(pieces.count))] }
      let expectedWords = s.unicodeScalars.split(whereSeparator: UnicodeWhitespace.contains).count
      let c = counts(s)
      #expect(c.words == expectedWords, "\(s.debugDescription)")
      #expect(c.scalars == s.unicodeScalars.count)
      #expect(c.lines == s.utf8.filter { $0 == 10 }.count + (s.isEmpty || s.hasSuffix("\n") ? 0 : 1))
      let key = s.unicodeScalars.split(whereSeparator: UnicodeWhitespace.contains)
        .map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
      // The pieces' NFKC only turns spaces into U+0020, and Swift's
      // lowercased() agrees with ICU on them.
      #expect(Array(dedupKey(s).utf8) == Array(key.lowercased().utf8), "\(s.debugDescription)")
    }
  }
}

/// Small deterministic generator so failures reproduce.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
