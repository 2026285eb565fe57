import Testing

@testable import WinnowCore
@testable import WinnowFilters

/// Ten different lines of 52 characters and 11 words, without final punctuation.
private let L = (0..<10).map { "Line number \($0) of the document has enough words in it" }
/// The same lines ending in ".": 10 lines, 9 newlines, 120 tokens (110 words and 10 periods).
private let P = L.map { $0 + "." }

@Suite("fineweb_quality stage")
struct FineWebQualityTests {
  let d = FineWebQualityFilter.descriptor

  @Test("good lines pass; empty and blank documents are 'empty'")
  func basics() throws {
    #expect(try reason(quality(d), P.joined(separator: "\n")) == nil)
    #expect(try reason(quality(d), "") == "empty")
    #expect(try reason(quality(d), "  \n\t\n \u{3000} \n") == "empty")  // strip() == "" for every line
  }

  @Test("fewer than 12 % of lines end with terminal punctuation")
  func linePunctuation() throws {
    // 1 of 10 = 0.1 < 0.12; 2 of 10 = 0.2.
    #expect(try reason(quality(d), (L[..<9] + [L[9] + "."]).joined(separator: "\n")) == "line_punct_ratio")
    #expect(try reason(quality(d), (L[..<8] + [L[8] + ".", L[9] + "!"]).joined(separator: "\n")) == nil)
    // None: 0 < 0.12, unless line_punct_exclude_zero lets a ratio of exactly 0 pass.
    #expect(try reason(quality(d), L.joined(separator: "\n")) == "line_punct_ratio")
    #expect(try reason(quality(d, ["line_punct_exclude_zero": true]), L.joined(separator: "\n")) == nil)
    // Lines are not stripped: "…text.\r" (CRLF text) and "…text. " do not end with ".".
    #expect(try reason(quality(d), P.joined(separator: "\r\n")) == "line_punct_ratio")
    #expect(try reason(quality(d), P.map { $0 + " " }.joined(separator: "\n")) == "line_punct_ratio")
    // Blank lines are left out: 10 lines, not 28.
    #expect(try reason(quality(d), P.joined(separator: "\n\n\n")) == nil)
    #expect(try reason(quality(d, ["line_punct_thr": 0]), L.joined(separator: "\n")) == nil)
  }

  @Test("stop_chars replaces the terminal punctuation")
  func stopChars() throws {
    let bangs = (L[..<8] + [L[8] + "!", L[9] + "!"]).joined(separator: "\n")
    #expect(try reason(quality(d, ["stop_chars": ["."]]), bangs) == "line_punct_ratio")
    #expect(try reason(quality(d, ["stop_chars": [".", "!"]]), bangs) == nil)
    // Any suffix, several characters long.
    let ends = (L[..<8] + [L[8] + " end", L[9] + " end"]).joined(separator: "\n")
    #expect(try reason(quality(d, ["stop_chars": [" end"]]), ends) == nil)
  }

  @Test("more than 67 % of lines have at most 30 characters")
  func shortLines() throws {
    let short = (0..<7).map { "Short line number \($0)." }  // 21 characters
    // 6 of 10 short = 0.6; 7 of 10 = 0.7 > 0.67.
    #expect(try reason(quality(d), (P[..<4] + short[..<6]).joined(separator: "\n")) == nil)
    #expect(try reason(quality(d), (P[..<3] + short).joined(separator: "\n")) == "short_line_ratio")
    // Exactly 30 characters is short, 31 is not ("00" + 27 or 28 "y" + ".").
    let thirty = (0..<7).map { String(format0: $0) + String(repeating: "y", count: 27) + "." }
    let thirtyOne = (0..<7).map { String(format0: $0) + String(repeating: "y", count: 28) + "." }
    #expect(try reason(quality(d), (P[..<3] + thirty).joined(separator: "\n")) == "short_line_ratio")
    #expect(try reason(quality(d), (P[..<3] + thirtyOne).joined(separator: "\n")) == nil)
    // 30 Cyrillic characters are 58 bytes but 30 characters: short.
    let cyrillic = (0..<7).map { String(format0: $0) + String(repeating: "я", count: 27) + "." }
    #expect(try reason(quality(d), (P[..<3] + cyrillic).joined(separator: "\n")) == "short_line_ratio")
    #expect(try reason(quality(d, ["short_line_length": 29]), (P[..<3] + thirty).joined(separator: "\n")) == nil)
  }

  @Test("more than 1 % of the characters (newlines aside) in repeated lines")
  func duplicateLines() throws {
    // P + P[0] again: 53 of 583 characters = 0.09 > 0.01.
    let text = (P + [P[0]]).joined(separator: "\n")
    #expect(try reason(quality(d), text) == "char_dup_ratio")
    #expect(try reason(quality(d, ["char_duplicates_ratio": 0.1]), text) == nil)
  }

  @Test("more than 0.3 newlines per word")
  func newlinesPerWord() throws {
    // "Supercalifragilistic0 expialidocious." ×10 (different numbers): 9 newlines, 30 tokens
    // (2 words and a period a line): 0.3 is not > 0.3. The 20 whitespace words alone would
    // give 0.45, so the tokenizer has to run.
    let three = (0..<10).map { "Supercalifragilistic\($0) expialidocious." }.joined(separator: "\n")
    #expect(try reason(quality(d), three) == nil)
    // One word and a period a line: 9 / 20 = 0.45 > 0.3.
    let two = (0..<10).map { "Supercalifragilisticexpialidocious\($0)." }.joined(separator: "\n")
    #expect(try reason(quality(d), two) == "list_ratio")
    #expect(try reason(quality(d, ["new_line_ratio": 0.45]), two) == nil)
    #expect(try reason(quality(d, ["new_line_ratio": 0.44]), two) == "list_ratio")
  }

  @Test("German, Russian, Chinese and Japanese")
  func multilingual() throws {
    let de = ["Der Hund läuft sehr schnell über die breite Straße.", "Die Katze schläft den ganzen Tag auf dem Sofa", "Wir trinken morgens gerne einen heißen Kaffee"]
    #expect(try reason(quality(d), de.joined(separator: "\n")) == nil)  // 1 of 3 punctuated
    #expect(try reason(quality(d, ["line_punct_thr": 0.5]), de.joined(separator: "\n")) == "line_punct_ratio")
    let ru = ["Собака быстро бежит через широкое поле к реке.", "Кошка спит весь день на мягком диване у окна.", "Мы пьём горячий кофе по утрам на кухне!"]
    #expect(try reason(quality(d), ru.joined(separator: "\n")) == nil)
    // Chinese lines of 32 to 34 characters; "。" is terminal punctuation (2 of 3 lines). The
    // newline rule is relaxed: a line without spaces is one whitespace word, and how many
    // tokens a tokenizer makes of Chinese varies.
    let zh = ["我们今天去公园散步，天气很好，阳光明媚，大家都很开心，一起唱歌跳舞。", "孩子们在草地上玩耍，老人们在树下下棋聊天，非常热闹，直到太阳下山。", "晚上我们回家吃饭，妈妈做了很多好吃的菜，我们都吃饱了，然后看电视"]
    #expect(try reason(quality(d, ["new_line_ratio": 1]), zh.joined(separator: "\n")) == nil)
    #expect(try reason(quality(d, ["new_line_ratio": 1, "line_punct_thr": 0.7]), zh.joined(separator: "\n")) == "line_punct_ratio")
    // Japanese: halfwidth "｡" (U+FF61) and "！" are terminal; lines of 37, 36 and 34 characters.
    let ja = ["私たちは今日、公園に行きました。天気がとても良くて、みんな楽しかったです｡", "子供たちは芝生で遊びました、みんな楽しそうでした！本当に良い一日でした！", "夜は家で晩ご飯を食べました、とても美味しかったです、また行きたいです"]
    #expect(try reason(quality(d, ["new_line_ratio": 1]), ja.joined(separator: "\n")) == nil)
    #expect(try reason(quality(d, ["new_line_ratio": 1, "short_line_length": 36]), ja.joined(separator: "\n")) == nil)  // 2/3 ≤ 0.67
    #expect(try reason(quality(d, ["new_line_ratio": 1, "short_line_length": 37]), ja.joined(separator: "\n")) == "short_line_ratio")
    #expect(try reason(quality(d, ["new_line_ratio": 1, "line_punct_thr": 0.67]), ja.joined(separator: "\n")) == "line_punct_ratio")
  }

  @Test("terminal punctuation is datatrove's TERMINAL_PUNCTUATION")
  func terminalSet() {
    let t = ScalarSet.terminalPunctuation
    for s: Unicode.Scalar in [".", "!", "?", "。", "｡", "！", "？", "؟", "۔", "।", "॥", "።", "‼", "⁉", "\u{1DA88}", "\u{11A42}"] {
      #expect(t.contains(s.value), "U+\(String(s.value, radix: 16))")
    }
    for s: Unicode.Scalar in [",", ";", ":", "\"", "'", "…", "、", "»", "a", " "] {
      #expect(!t.contains(s.value), "U+\(String(s.value, radix: 16))")
    }
  }

  @Test("a 5 MB single line")
  func hugeLine() throws {
    // One line, ending with "."; no newline, so the tokenizer never runs.
    let (line, _) = hugeSingleLine(id: "big", unit: "words on a long single line. ", count: 170_000, suffix: "End.")
    let r = try runPipeline([try quality(d)], lines: [line])
    #expect(r.outputLines == [line])
    let (noPunct, _) = hugeSingleLine(id: "np", unit: "words on a long single line. ", count: 170_000, suffix: "End")
    #expect(try verdict([try quality(d)], noPunct) == "line_punct_ratio")
  }

  @Test("parameter validation")
  func validation() throws {
    expectUsageError(["stop_chars", "empty item"]) { _ = try quality(d, ["stop_chars": [".", ""]]) }
    expectUsageError(["stop_chars", "empty"]) { _ = try quality(d, ["stop_chars": [String]()]) }
    expectUsageError(["short_line_thr", "≥ 0"]) { _ = try quality(d, ["short_line_thr": -1]) }
    expectUsageError(["short_line_length", "integer"]) { _ = try quality(d, ["short_line_length": 2.5]) }
    expectUsageError(["line_punct_exclude_zero", "boolean"]) { _ = try quality(d, ["line_punct_exclude_zero": "perhaps"]) }
    expectUsageError(["language"]) { _ = try quality(d, ["language": "!"]) }
  }
}

extension String {
  /// Two digits, zero-padded.
  fileprivate init(format0 n: Int) { self = n < 10 ? "0\(n)" : "\(n)" }
}
