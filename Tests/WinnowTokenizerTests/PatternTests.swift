import Testing

@testable import WinnowTokenizer

/// The pre-tokenization matcher on the patterns tokenizers ship, with the engines' semantics.
@Suite("pre-tokenization patterns")
struct PatternTests {
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

  @Test("GPT-2: contractions, letters, digits, punctuation; the last space of a run joins the next word")
  func gpt2() throws {
    let p = HuggingFaceTokenizerFile.gpt2Pattern
    #expect(try pieces(p, "Hello world, it's 2024!  ok\n") == ["Hello", " world", ",", " it", "'s", " 2024", "!", " ", " ok", "\n"])
    // Contractions are case-sensitive in GPT-2's pattern: 'S is punctuation + letter.
    #expect(try pieces(p, "IT'S") == ["IT", "'", "S"])
    #expect(try pieces(p, "a   b") == ["a", "  ", " b"])
    #expect(try pieces(p, "x  ") == ["x", "  "])
  }

  @Test("cl100k: case-insensitive contractions (ſ folds to s), digit runs of three, possessive runs")
  func cl100k() throws {
    let p = TiktokenFile.cl100k
    #expect(try pieces(p, "IT'S 1234567", .fancyRegex) == ["IT", "'S", " ", "123", "456", "7"])
    #expect(try pieces(p, "x'ſ", .fancyRegex) == ["x", "'ſ"])
    // `\s++$` takes trailing whitespace whole; `\s*[\r\n]` a line break with what precedes it.
    #expect(try pieces(p, "a  \n\nb  ", .fancyRegex) == ["a", "  \n\n", "b", "  "])
    #expect(try pieces(p, "a\r\nb", .fancyRegex) == ["a", "\r\n", "b"])
  }

  @Test("o200k: case runs split camelCase; the contraction stays with its word")
  func o200k() throws {
    let p = TiktokenFile.o200k
    #expect(try pieces(p, "camelCaseHTTPServer don't", .fancyRegex) == ["camel", "Case", "HTTPServer", " don't"])
    #expect(try pieces(p, "a/b//\n", .fancyRegex) == ["a", "/b", "//\n"])
  }

  @Test("\\s is White_Space: NBSP, U+0085, U+2028 and U+3000 count, U+200B does not")
  func whiteSpace() throws {
    #expect(try pieces(#"\s+|\S+"#, "a\u{A0}\u{85}\u{2028}\u{3000}b\u{200B}c") == ["a", "\u{A0}\u{85}\u{2028}\u{3000}", "b\u{200B}c"])
  }

  @Test("a class nested in a class is a union (BLOOM's pattern)")
  func nestedClass() throws {
    #expect(try pieces(#" ?[^(\s|[.,!?…。])]+"#, "Hi there, you… ok。") == ["Hi", " there", " you", " ok"])
  }

  @Test("$ is a line end in Oniguruma and the text end in fancy-regex")
  func dollar() throws {
    #expect(try pieces(#"\w+$"#, "ab\ncd", .oniguruma) == ["ab", "cd"])
    #expect(try pieces(#"\w+$"#, "ab\ncd", .fancyRegex) == ["cd"])
  }

  @Test("greedy, lazy, possessive and atomic repetition backtrack as the engines do")
  func repetition() throws {
    #expect(try pieces(#"a+ab"#, "aaab") == ["aaab"])
    #expect(try pieces(#"a++ab"#, "aaab") == [])
    #expect(try pieces(#"(?>a+)ab"#, "aaab") == [])
    #expect(try pieces(#"a+?"#, "aaa") == ["a", "a", "a"])
    #expect(try pieces(#"\p{N}{1,3}"#, "12345") == ["123", "45"])
    #expect(try pieces(#"(?:ab){2}"#, "ababab") == ["abab"])
    #expect(try pieces(#"x(?=y)"#, "xyxz") == ["x"])
  }

  @Test("what is not supported is an error naming it, never an approximation")
  func unsupported() {
    for (pattern, what) in [
      (#"(?<=a)b"#, "lookbehind"), (#"\bword"#, "\\b"), (#"(a)\1"#, "\\1"), (#"\p{Han}"#, "Han"),
      (#"[a-z&&[^x]]"#, "intersection"), (#"[a[^b]]"#, "negated class nested"), (#"(?x)a"#, "flag"), (#"(a*)*"#, "nothing"), (#"a{3,1}"#, "maximum"),
    ] {
      do {
        _ = try PretokenizerPattern(pattern, dialect: .oniguruma)
        Issue.record("\(pattern) was accepted")
      } catch {
        #expect(error.message.contains(what), "\(pattern): \(error.message)")
      }
    }
  }
}

/// Ill-formed UTF-8 becomes U+FFFD exactly as Python's decode("utf-8", "replace") makes it.
@Suite("UTF-8 replacement")
struct UTF8ReplacementTests {
  func replaced(_ bytes: [UInt8]) -> [UInt8] {
    bytes.withUnsafeBufferPointer { pythonReplacingInvalidUTF8($0) } ?? bytes
  }
  let r: [UInt8] = [0xEF, 0xBF, 0xBD]

  @Test func maximalSubparts() {
    #expect(replaced(Array("ok é 😀".utf8)) == Array("ok é 😀".utf8))
    #expect(replaced([0x61, 0x80, 0x62]) == [0x61] + r + [0x62])
    // A truncated three-byte sequence is one U+FFFD, and the byte after it is kept.
    #expect(replaced([0xE2, 0x82, 0x41]) == r + [0x41])
    #expect(replaced([0xF0, 0x9F, 0x98]) == r)
    // Overlong, surrogate and out-of-range leads: one U+FFFD per byte.
    #expect(replaced([0xC0, 0xAF]) == r + r)
    #expect(replaced([0xED, 0xA0, 0x80]) == r + r + r)
    #expect(replaced([0xF4, 0x90, 0x80, 0x80]) == r + r + r + r)
    #expect(replaced([0xFF]) == r)
  }
}
