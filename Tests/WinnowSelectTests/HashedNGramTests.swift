import CSHA256
import Testing
import WinnowCore
@testable import WinnowSelect

@Suite struct HashedNGramTests {
  func buckets(_ text: String, n: Int = 2, b: Int = 10_000) -> [Int] {
    var f = HashedNGramFeaturizer(ngrams: n, buckets: b)
    var out: [Int] = []
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBufferPointer { p in f.features(UnsafeBufferPointer(p)) { out.append($0) } }
    return out
  }

  func tokens(_ text: String) -> [String] {
    var f = HashedNGramFeaturizer()
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBufferPointer { f.tokenize(UnsafeBufferPointer($0)) }
    return (0..<f.tokenCount).map { String(decoding: f.tokenBytes[f.tokenStart[$0]..<f.tokenStart[$0 + 1]], as: UTF8.self) }
  }

  // The reference's own golden values (data-selection tests/test_hashed_ngram.py).
  @Test func goldenBuckets() {
    #expect(buckets("alice", n: 1) == [6720])
    #expect(buckets("alice went")[2] == 114)
    #expect(buckets("Alice went to the store").count == 9)
  }

  @Test func sha256BothPathsAgree() {
    var x: UInt64 = 0x9E37_79B9_7F4A_7C15
    for len in 0..<300 {
      var data = [UInt8](repeating: 0, count: len)
      for i in 0..<len {
        x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        data[i] = UInt8(truncatingIfNeeded: x >> 33)
      }
      var a = [UInt8](repeating: 0, count: 32)
      var b = [UInt8](repeating: 1, count: 32)
      winnow_sha256(data, len, &a)
      winnow_sha256_portable(data, len, &b)
      #expect(a == b, "length \(len)")
    }
    var d = [UInt8](repeating: 0, count: 32)
    winnow_sha256(Array("abc".utf8), 3, &d)
    let hex: [String] = d.map { (v: UInt8) -> String in
      let h = String(v, radix: 16)
      return h.count == 1 ? "0" + h : h
    }
    #expect(hex.joined() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  }

  // Python's `re.findall(r"\w+|[^\w\s]+", s.lower())`, checked in CPython 3.11.
  @Test func pythonWordPunct() {
    #expect(tokens("Hello, World!! It's 3.5") == ["hello", ",", "world", "!!", "it", "'", "s", "3", ".", "5"])
    #expect(tokens("ΟΔΟΣ ΟΔΟΣ.") == ["οδος", "οδος", "."])  // final sigma before punctuation/space
    #expect(tokens("İstanbul") == ["i", "\u{307}", "stanbul"])  // İ → i + U+0307 (Mn, not \w)
    #expect(tokens("½ x² e\u{301}t snake_case") == ["½", "x²", "e", "\u{301}", "t", "snake_case"])
    #expect(tokens("日本語のテキスト、です。") == ["日本語のテキスト", "、", "です", "。"])
    #expect(tokens("a\u{3000}b\u{200B}c") == ["a", "b", "\u{200B}", "c"])
    #expect(tokens("").isEmpty && tokens("   \n\t").isEmpty)
    #expect(tokens("x\u{FF}y".unicodeScalars.map { String($0) }.joined()) == ["xÿy"])
  }

  @Test func invalidUTF8IsReplacementCharacters() {
    var f = HashedNGramFeaturizer()
    var bytes: [UInt8] = [0x61, 0xFF, 0x62, 0xE2, 0x82]
    bytes.withUnsafeMutableBufferPointer { f.tokenize(UnsafeBufferPointer($0)) }
    #expect(f.tokenCount == 4)  // a, \u{FFFD}, b, \u{FFFD}\u{FFFD}
  }

  @Test func numpyGumbelReplay() {
    var r = NumpyLegacyRandom(seed: 12345)
    let want = [-0.9759890454967225, 0.966672419395296, 1.5933606791737167, 1.4746439050655087, 0.1759100904799031]
    #expect((0..<5).map { _ in r.gumbel() } == want)
    var z = NumpyLegacyRandom(seed: 4_294_967_295)
    #expect([z.gumbel(), z.gumbel()] == [2.2756229407724464, -0.8898557751199816])
  }

  @Test func cacheGivesTheSameBuckets() {
    // The same text twice: the second pass is served by the cache.
    let text = (0..<3000).map { "w\($0 % 700) x\($0 % 13)" }.joined(separator: " ")
    let a = buckets(text)
    var f = HashedNGramFeaturizer()
    var second: [Int] = []
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBufferPointer { p in
      f.features(UnsafeBufferPointer(p)) { _ in }
      f.features(UnsafeBufferPointer(p)) { second.append($0) }
    }
    #expect(a == second)
    var uncached: [Int] = []
    var g = HashedNGramFeaturizer()
    bytes.withUnsafeMutableBufferPointer { p in g.tokenize(UnsafeBufferPointer(p)) }
    for k in 0..<g.tokenCount {
      g.tokenBytes[g.tokenStart[k]..<g.tokenStart[k + 1]].withUnsafeBufferPointer {
        uncached.append(HashedNGramFeaturizer.bucket(of: $0, buckets: 10_000))
      }
    }
    #expect(Array(a.prefix(g.tokenCount)) == uncached)
  }

  static let mixedTexts: [[UInt8]] = {
    var texts = [
      "Plain ASCII text, with punctuation... and numbers 3.14 (x_y)!", "Größe ÜBUNG straße — “quoted” ½ x²",
      "İSTANBUL Ⱥ ȾEST ǅungla ﬁne", "東京 データ、選択。emoji 🎉🎉 ok", "e\u{301}te\u{0308} ﬀ Ω K Å", "ΟΔΟΣ ΟΔΟΣ. σίσυφος ΣΑΣ",
      "tab\tsep\u{1F}unit\u{1C}x\u{85}y\u{2028}z\u{A0}w", "",
    ].map { Array($0.utf8) }
    texts.append([0x61, 0xFF, 0x62, 0xE2, 0x82, 0x20, 0xC3, 0x28, 0xF0, 0x9F, 0x8E, 0x20, 0xED, 0xA0, 0x80, 0x7A])
    var x: UInt64 = 7
    for _ in 0..<40 {
      var t: [UInt8] = []
      for _ in 0..<200 {
        x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let pick = Int(x >> 59)
        let pieces = ["a", "Z", " ", ".", "é", "σ", "İ", "日", "\t", "_", "9", "—", "🎉", "ǅ", "ß", "Ⱥ"]
        t += Array(pieces[pick % pieces.count].utf8)
        if pick == 31 { t.append(0xFF) }
      }
      texts.append(t)
    }
    return texts
  }()

  /// The one-pass scalar tokenizer (texts without a capital sigma) gives the general path's tokens.
  @Test func scalarPathEqualsGeneralPath() {
    var f = HashedNGramFeaturizer()
    var g = HashedNGramFeaturizer()
    var checked = 0
    for var text in Self.mixedTexts {
      let shown = String(decoding: text, as: UTF8.self)
      text.withUnsafeMutableBufferPointer { p in
        let t = UnsafeBufferPointer(p)
        f.tokenBytes.removeAll()
        f.tokenStart.removeAll()
        guard f.tokenizeScalars(t) else { return }
        g.tokenBytes.removeAll()
        g.tokenStart.removeAll()
        g.tokenizeGeneral(t)
        #expect(f.tokenBytes == g.tokenBytes && f.tokenStart == g.tokenStart, "\(shown)")
        checked += 1
      }
    }
    #expect(checked > 20)
  }

  /// Features through interned tokens and cached pairs equal the n-grams' buckets hashed from
  /// their bytes, also when the tables fill and are cleared between texts and within one.
  @Test(arguments: [2, 3, 20])
  func internedFeaturesEqualHashedBytes(tableBits: Int) {
    var f = HashedNGramFeaturizer(ngrams: 3, buckets: 977, tableBits: tableBits)
    var texts = Self.mixedTexts
    texts.append(Array((0..<400).map { "t\($0)" }.joined(separator: " ").utf8))  // more distinct tokens than a small table
    for var text in texts + texts {
      let shown = String(decoding: text.prefix(60), as: UTF8.self)
      var got: [Int] = []
      text.withUnsafeMutableBufferPointer { p in f.features(UnsafeBufferPointer(p)) { got.append($0) } }
      let words = f.words
      var want: [Int] = []
      for n in 1...3 where n <= words.count {
        for k in 0...(words.count - n) {
          var gram = words[k]
          for j in 1..<n { gram += [0x20] + words[k + j] }
          want.append(gram.withUnsafeBufferPointer { HashedNGramFeaturizer.bucket(of: $0, buckets: 977) })
        }
      }
      #expect(got == want, "\(shown)")
    }
  }
}
