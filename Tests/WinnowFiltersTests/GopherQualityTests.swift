import Testing

@testable import WinnowCore
@testable import WinnowFilters

/// S: 16 words and a period = 17 tokens; 16 non-symbol words of 3+5+5+3+5+4+3+4+3+3+4+2+3+5+4+7
/// = 63 characters (mean 3.94); stop words "the", "and", "to", "with".
private let S = "The quick brown fox jumps over the lazy dog and runs to the river with friends."
/// G: S four times on one line: 68 tokens, 64 non-symbol words, mean length 3.94, 4 stop words.
private let G = repeated(S, 4)
/// N: 9 words without a stop word (5+5+5+4+4+4+4+4+6 = 41 characters) and a period.
private let N = "Quick brown foxes jump over lazy dogs near rivers."

@Suite("gopher_quality stage")
struct GopherQualityTests {
  let d = GopherQualityFilter.descriptor

  @Test("a plain English document passes every rule")
  func keepsGoodText() throws {
    #expect(try reason(quality(d), G) == nil)
  }

  @Test("word count: fewer than 50 or more than max_doc_words non-symbol words")
  func wordCount() throws {
    #expect(try reason(quality(d), S) == "gopher_short_doc")  // 16 < 50
    #expect(try reason(quality(d), "") == "gopher_short_doc")  // 0 < 50
    // Symbols are not words: 40 words plus 20 standalone "—" and "»" are still 40 < 50.
    #expect(try reason(quality(d), repeated("word and text to — » ", 10)) == "gopher_short_doc")
    #expect(try reason(quality(d, ["max_doc_words": 63]), G) == "gopher_long_doc")  // 64 > 63
    #expect(try reason(quality(d, ["max_doc_words": 64]), G) == nil)  // 64 is not > 64
    #expect(try reason(quality(d, ["min_doc_words": 65]), G) == "gopher_short_doc")
    #expect(try reason(quality(d, ["min_doc_words": 64]), G) == nil)
  }

  @Test("mean word length outside [3, 10] characters")
  func meanWordLength() throws {
    // "to be or not to be it is so." × 10: 90 words of 2+2+2+3+2+2+2+2+2 = 19 characters per 9,
    // mean 2.11 < 3.
    #expect(try reason(quality(d), repeated("to be or not to be it is so.", 10)) == "gopher_below_avg_threshold")
    // 60 words of 20, 16 and 15 characters: mean 17 > 10.
    let long = repeated("internationalization responsibilities extraordinarily.", 20)
    #expect(try reason(quality(d), long) == "gopher_above_avg_threshold")
    // A mean of exactly 17 is not > 17; the next rule that fails is the alphabetic one (60 of
    // 80 tokens are words, 0.75 < 0.8).
    #expect(try reason(quality(d, ["max_avg_word_length": 17]), long) == "gopher_below_alpha_threshold")
    #expect(try reason(quality(d, ["max_avg_word_length": 16.9]), long) == "gopher_above_avg_threshold")
    // G's mean is 63/16 = 3.9375.
    #expect(try reason(quality(d, ["min_avg_word_length": 3.94]), G) == "gopher_below_avg_threshold")
    #expect(try reason(quality(d, ["min_avg_word_length": 3.9375]), G) == nil)
  }

  @Test("'#' and ellipses per word above 0.1")
  func symbolRatio() throws {
    // G + k standalone symbols + S: 68 + k + 17 tokens. 9/94 = 0.096 passes, 10/95 = 0.105 does not.
    for (symbol, why) in [("#", "gopher_too_many_hashes"), ("…", "gopher_too_many_ellipsis")] {
      #expect(try reason(quality(d), G + " " + repeated(symbol, 9) + " " + S) == nil, "\(symbol)")
      #expect(try reason(quality(d), G + " " + repeated(symbol, 10) + " " + S) == why, "\(symbol)")
    }
    // Disabled by 0.
    #expect(try reason(quality(d, ["max_symbol_word_ratio": 0]), G + " " + repeated("#", 10) + " " + S) == nil)
    // '#' inside words counts too (text.count("#")): 3 × "a#b#c#d#e" hold 12, and whether a
    // tokenizer splits them into 3 or 27 tokens, 12 / (68 + 3…27 + 17) > 0.1.
    #expect(try reason(quality(d), G + " " + repeated("a#b#c#d#e", 3) + " " + S) == "gopher_too_many_hashes")
  }

  @Test("text.count of one byte, eight bytes at a time: every byte value, every length and alignment")
  func byteCounting() {
    var state: UInt64 = 12345
    func next() -> UInt8 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt8(truncatingIfNeeded: state >> 56)
    }
    for length in 0..<70 {
      // Bytes drawn from a few values (so that runs and neighbours of the byte counted occur),
      // and from all 256.
      let few: [UInt8] = [0x0A, 0x0B, 0x09, 0x8A, 0x00, 0xFF, 0x23]
      for narrow in [true, false] {
        let bytes = (0..<length).map { _ in narrow ? few[Int(next()) % few.count] : next() }
        bytes.withUnsafeBufferPointer { b in
          for byte: UInt8 in narrow ? few : [0, 0x0A, 0x23, 0x7F, 0x80, 0xFF, next()] {
            #expect(PyText.count(byte, in: b) == bytes.filter { $0 == byte }.count, "\(byte) in \(bytes)")
            // From every offset: unaligned starts and short tails.
            for from in 0..<min(length, 9) {
              let tail = UnsafeBufferPointer(rebasing: b[from...])
              #expect(PyText.count(byte, in: tail) == bytes[from...].filter { $0 == byte }.count)
            }
          }
        }
      }
    }
  }

  @Test("text.count counts '...' without overlaps")
  func ellipsisCounting() {
    func count(_ s: String, _ pattern: String) -> Int {
      var s = s
      return s.withUTF8 { PyText.count(Array(pattern.utf8), in: $0) }
    }
    // Python: "....".count("...") == 1, "......".count("...") == 2, "..x...".count("...") == 1.
    #expect(count("....", "...") == 1)
    #expect(count(".....", "...") == 1)
    #expect(count("......", "...") == 2)
    #expect(count("..x...", "...") == 1)
    #expect(count("…a……", "…") == 3)
    #expect(count("", "...") == 0)
  }

  @Test("more than 90 % of lines start with a bullet")
  func bulletLines() throws {
    // Ten lines "- S": 10/10 = 1 > 0.9; nine of ten: 0.9 is not > 0.9.
    #expect(try reason(quality(d), repeated("- " + S, 10, separator: "\n")) == "gopher_too_many_bullets")
    #expect(try reason(quality(d), repeated("- " + S, 9, separator: "\n") + "\n" + S) == nil)
    // "•" after leading whitespace (lstrip: here U+3000 IDEOGRAPHIC SPACE) counts.
    #expect(try reason(quality(d), repeated("\u{3000}• " + S, 10, separator: "\n")) == "gopher_too_many_bullets")
    #expect(try reason(quality(d, ["max_bullet_lines_ratio": 0]), repeated("- " + S, 10, separator: "\n")) == nil)
    // Lines are str.splitlines(): U+2028 separates lines, so these are 10 bullet lines too.
    #expect(try reason(quality(d), repeated("- " + S, 10, separator: "\u{2028}")) == "gopher_too_many_bullets")
    // A final newline does not add an empty (non-bullet) line: still 10/10.
    #expect(try reason(quality(d), repeated("- " + S, 10, separator: "\n") + "\n") == "gopher_too_many_bullets")
  }

  @Test("more than 30 % of lines end with an ellipsis")
  func ellipsisLines() throws {
    // S + ".." ends in "...": 4 of 10 lines = 0.4 > 0.3; 3 of 10 = 0.3 passes.
    let four = repeated(S + "..", 4, separator: "\n") + "\n" + repeated(S, 6, separator: "\n")
    let three = repeated(S + "..", 3, separator: "\n") + "\n" + repeated(S, 7, separator: "\n")
    #expect(try reason(quality(d), four) == "gopher_too_many_end_ellipsis")
    #expect(try reason(quality(d), three) == nil)
    // "…" followed by trailing whitespace (rstrip) counts.
    let dropPeriod = String(S.dropLast())
    let unicode = repeated(dropPeriod + " …  ", 4, separator: "\n") + "\n" + repeated(S, 6, separator: "\n")
    #expect(try reason(quality(d), unicode) == "gopher_too_many_end_ellipsis")
  }

  @Test("fewer than 80 % of words with a letter")
  func alphabeticWords() throws {
    // G + k numbers: 64 of 68 + k words have a letter. k = 12: 64/80 = 0.8 passes; k = 13:
    // 64/81 = 0.79 < 0.8. (Numbers are non-symbol words: the mean length stays ≥ 3.)
    let numbers = { (k: Int) in (0..<k).map { String(10 + $0) }.joined(separator: " ") }
    #expect(try reason(quality(d), G + "\n" + numbers(12)) == nil)
    #expect(try reason(quality(d), G + "\n" + numbers(13)) == "gopher_below_alpha_threshold")
    #expect(try reason(quality(d, ["max_non_alpha_words_ratio": 0]), G + "\n" + numbers(13)) == nil)
  }

  @Test("fewer than 2 distinct stop words, matched case-sensitively")
  func stopWords() throws {
    let text = repeated(N, 6)  // 54 words, mean 4.56, none a stop word
    #expect(try reason(quality(d), text) == "gopher_enough_stop_words")
    #expect(try reason(quality(d), text + " the the the") == "gopher_enough_stop_words")  // 1 distinct
    #expect(try reason(quality(d), text + " the with") == nil)  // 2
    #expect(try reason(quality(d), text + " The With") == "gopher_enough_stop_words")  // case matters
    #expect(try reason(quality(d, ["stop_words": ["foxes", "dogs"]]), text) == nil)
    #expect(try reason(quality(d, ["stop_words": ["foxes", "dogs", "near"], "min_stop_words": 3]), text) == nil)
    #expect(
      try reason(quality(d, ["stop_words": ["foxes", "dogs"], "min_stop_words": 2]), text + " the with") == nil)
    #expect(try reason(quality(d, ["min_stop_words": 0]), text) == nil)
    // A long custom list (looked up by hash) behaves the same.
    let many = (0..<100).map { "filler\($0)" } + ["rivers", "lazy"]
    #expect(try reason(quality(d, ["stop_words": many]), text) == nil)
    #expect(try reason(quality(d, ["stop_words": many]), repeated("Quick brown foxes jump over dogs near woods.", 7)) == "gopher_enough_stop_words")
  }

  @Test("no words: datatrove divides by zero; here x/0 is +∞ and 0/0 NaN, which passes")
  func noWords() throws {
    // datatrove raises ZeroDivisionError for these (min_doc_words disabled, no words).
    // Empty text: the mean, '#', ellipsis, bullet and alphabetic ratios are 0/0 (NaN, pass); the
    // stop-word rule still drops.
    #expect(try reason(quality(d, ["min_doc_words": 0]), "") == "gopher_enough_stop_words")
    #expect(try reason(quality(d, ["min_doc_words": 0, "min_stop_words": 0]), "") == nil)
    // Only symbols: no non-symbol words (mean NaN, passes), then 3 '#' over a handful of tokens.
    #expect(try reason(quality(d, ["min_doc_words": 0]), "!!! ### ...") == "gopher_too_many_hashes")
  }

  @Test("German, Russian, Chinese and Japanese: lengths are characters, letters are Unicode letters")
  func multilingual() throws {
    // datatrove: German and Russian have no English stop words; with their own they pass.
    let de = repeated("Die Straße führt über den Fluß und der Hund läuft schnell nach Hause zu seiner Familie.", 4)
    #expect(try reason(quality(d), de) == "gopher_enough_stop_words")
    #expect(try reason(quality(d, ["stop_words": ["der", "die", "und", "den"]]), de) == nil)
    // Russian words average 5.5 characters (11 bytes: a byte count would fail the mean rule).
    let ru = repeated("Маленькая собака быстро бежит через широкое поле к реке и возвращается домой вечером.", 5)
    #expect(try reason(quality(d), ru) == "gopher_enough_stop_words")
    #expect(try reason(quality(d, ["stop_words": ["и", "к", "через"]]), ru) == nil)
    // Chinese, words separated by spaces: 8 words of 2+2+1+2+2+2+1+1 = 13 characters per 10
    // tokens ("，" and "。" are punctuation), mean 1.625 < 3 (in bytes it would be 4.9).
    let zh = repeated("我们 今天 去 公园 散步 ， 天气 很 好 。", 8)
    let zhStops = ["我们", "很"]
    #expect(try reason(quality(d, ["stop_words": zhStops]), zh) == "gopher_below_avg_threshold")
    #expect(try reason(quality(d, ["stop_words": zhStops, "min_avg_word_length": 1.625]), zh) == nil)
    #expect(
      try reason(quality(d, ["stop_words": zhStops, "min_avg_word_length": 1.63]), zh) == "gopher_below_avg_threshold")
    // Japanese hiragana and kanji words: 3+1+2+2+1+2+1+5 = 17 characters per 8 words, 2.1 < 3.
    let ja = repeated("私たち は 今日 公園 へ 散歩 に 行きました 。", 8)
    #expect(try reason(quality(d, ["stop_words": ["は", "に", "へ"]]), ja) == "gopher_below_avg_threshold")
    // Katakana words of 7+7+7+6+6+7 = 40 characters (120 bytes) per 6: mean 6.67 ≤ 10.
    let kana = repeated("コンピューター プログラミング インターネット ダウンロード テクノロジー セキュリティー 。", 10)
    let kanaStops = ["コンピューター", "テクノロジー"]
    #expect(try reason(quality(d, ["stop_words": kanaStops]), kana) == nil)
    #expect(try reason(quality(d, ["stop_words": kanaStops, "max_avg_word_length": 6.67]), kana) == nil)
    #expect(
      try reason(quality(d, ["stop_words": kanaStops, "max_avg_word_length": 6.66]), kana) == "gopher_above_avg_threshold")
  }

  @Test("punctuation set: datatrove's PUNCTUATION_SET, quirks included")
  func punctuationSet() {
    let p = ScalarSet.punctuation
    for s: Unicode.Scalar in ["!", "#", "-", ".", "~", "\u{7F}", "\u{0}", "\u{0B}", "\u{1F}", "\u{9F}", "«", "»", "—", "–", "…", "’", "“", "”", "。", "、", "！", "？", "「", "」", "►", "\u{1DA88}"] {
      #expect(p.contains(s.value), "U+\(String(s.value, radix: 16)) is in PUNCTUATION_SET")
    }
    // Tab, newline, space, letters, digits, "‘" (only the right quote is listed), "¿" and "¡".
    for s: Unicode.Scalar in ["\t", "\n", " ", "a", "Z", "0", "‘", "¿", "¡", "é", "我", "\u{A0}"] {
      #expect(!p.contains(s.value), "U+\(String(s.value, radix: 16)) is not in PUNCTUATION_SET")
    }
    // The ASCII bitmap agrees with the set.
    for b in UInt8(0)..<128 { #expect(ScalarSet.isASCIIPunctuation(b) == p.contains(UInt32(b)), "\(b)") }
  }

  @Test("a 2 MB single-line document")
  func hugeLine() throws {
    // 25 000 × S on one line: 400 000 non-symbol words > 100 000.
    let (line, _) = hugeSingleLine(id: "big", unit: S + " ", count: 25_000)
    #expect(try verdict([try quality(d)], line) == "gopher_long_doc")
    let r = try runPipeline([try quality(d, ["max_doc_words": 0])], lines: [line, docLine(id: "s", text: S)])
    #expect(r.keptIDs == ["big"])
    #expect(r.outputLines == [line])
    #expect(r.reasons == ["s": "gopher_short_doc"])
  }

  @Test("parameter validation")
  func validation() throws {
    expectUsageError(["min_doc_words", "gopher_quality", "≥ 0"]) { _ = try quality(d, ["min_doc_words": -1]) }
    expectUsageError(["max_symbol_word_ratio", "number"]) { _ = try quality(d, ["max_symbol_word_ratio": "lots"]) }
    expectUsageError(["max_bullet_lines_ratio", "≥ 0"]) { _ = try quality(d, ["max_bullet_lines_ratio": -0.5]) }
    expectUsageError(["stop_words", "'of the'"]) { _ = try quality(d, ["stop_words": ["the", "of the"]]) }
    expectUsageError(["stop_words", "''"]) { _ = try quality(d, ["stop_words": ["the", ""]]) }
    expectUsageError(["min_stop_words (3)", "2 distinct stop_words"]) {
      _ = try quality(d, ["stop_words": ["a", "b", "a"], "min_stop_words": 3])
    }
    expectUsageError(["language", "'e n'"]) { _ = try quality(d, ["language": "e n"]) }
    expectUsageError(["no parameter 'min_words'"]) { _ = try quality(d, ["min_words": 3]) }
  }
}
