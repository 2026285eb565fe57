import Testing
@testable import WinnowTokenizer

@Suite struct PatternTests {
  func pieces(_ pattern: String, _ text: String, _ dialect: RegexDialect = .oniguruma) throws -> [String] {
    let p = try PretokenizerPattern(pattern, dialect: dialect)
    var m = PatternMatcher()
    var out: [String] = []
    var t = text
    t.withUTF8 { b in
      m.forEachMatch(of: p, in: b) { r in out.append(String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)) }
    }
    return out
  }

  @Test func gpt2Pattern() throws {
    let p = HuggingFaceTokenizerFile.gpt2Pattern
    #expect(try pieces(p, "Hello world, it's 2024!  ok\n") == ["Hello", " world", ",", " it", "'s", " 2024", "!", " ", " ok", "\n"])
  }
}
