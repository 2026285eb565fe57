import Testing
import WinnowText

func segments(_ s: String) -> [(text: String, isWord: Bool)] {
  var breaker = WordBreaker()
  let bytes = Array(s.utf8)
  var out: [(String, Bool)] = []
  bytes.withUnsafeBufferPointer { buf in
    breaker.forEachSegment(in: buf) { seg in
      out.append((String(decoding: bytes[seg.range], as: UTF8.self), seg.isWord))
    }
  }
  return out
}

func words(_ s: String) -> [String] { segments(s).filter(\.isWord).map(\.text) }

@Suite struct WordBreakTests {
  @Test func english() {
    let segs = segments("Hello, world! It's 3.14")
    #expect(segs.map(\.text) == ["Hello", ",", " ", "world", "!", " ", "It's", " ", "3.14"])
    #expect(segs.map(\.isWord) == [true, false, false, true, false, false, true, false, true])
  }

  @Test func japanese() {
    let w = words("私は東京に住んでいます。")
    #expect(w.contains("東京"))
    #expect(w.count >= 5)
    #expect(!w.contains("。"))
    #expect(w.joined() == "私は東京に住んでいます")
  }

  @Test func chinese() {
    #expect(words("我爱北京天安门") == ["我", "爱", "北京", "天安门"])
  }

  @Test func thai() {
    let w = words("ภาษาไทยง่ายนิดเดียว")
    #expect(w.contains("ภาษา"))
    #expect(w.contains("ไทย"))
    #expect(w.joined() == "ภาษาไทยง่ายนิดเดียว")
    #expect(w.count >= 4)
  }

  @Test func segmentsTileTheText() {
    let s = "Mixed 日本語 text, ภาษาไทย and émoji 👍🏽!\n"
    var breaker = WordBreaker()
    let bytes = Array(s.utf8)
    var collected: [WordSegment] = []
    bytes.withUnsafeBufferPointer { breaker.segments(in: $0, into: &collected) }
    #expect(collected.first?.start == 0)
    #expect(collected.last?.end == bytes.count)
    for (a, b) in zip(collected, collected.dropFirst()) { #expect(a.end == b.start) }
    // Byte offsets land on scalar boundaries.
    for seg in collected { #expect(bytes[seg.start] & 0xC0 != 0x80) }
  }

  @Test func reuseAndCopies() {
    var a = WordBreaker()
    let one = Array("one two three".utf8)
    let cjk = Array("我爱北京".utf8)
    #expect(one.withUnsafeBufferPointer { a.words(in: $0) } == 3)
    var b = a  // shares the iterator until used
    #expect(cjk.withUnsafeBufferPointer { b.words(in: $0) } == 3)
    #expect(one.withUnsafeBufferPointer { a.words(in: $0) } == 3)
    #expect(
      UnsafeBufferPointer<UInt8>(start: nil, count: 0).withMemoryRebound(to: UInt8.self) {
        a.words(in: $0)
      } == 0)
  }

  @Test func scripts() {
    func script(_ s: Unicode.Scalar) -> UnicodeScript { UnicodeScript(of: s) }
    #expect(script("A") == .latin)
    #expect(script("é") == .latin)
    #expect(script("あ") == .hiragana)
    #expect(script("ア") == .katakana)
    #expect(script("漢") == .han)
    #expect(script("한") == .hangul)
    #expect(script("ก") == .thai)
    #expect(script("Ж") == .cyrillic)
    #expect(script("Ω") == .greek)
    #expect(script("ب") == .arabic)
    #expect(script("1") == .common)
    #expect(script("\u{301}") == .inherited)
    #expect(script("\u{E0001}") == .common)
    #expect(UnicodeScript.latin.shortName == "Latn")
    #expect(UnicodeScript.han.shortName == "Hani")
    #expect(UnicodeScript.hiragana.description == "Hira")
    #expect(UnicodeScript(rawValue: 100_000).shortName == nil)
    #expect(UnicodeScript(rawValue: -1).shortName == nil)
  }
}
