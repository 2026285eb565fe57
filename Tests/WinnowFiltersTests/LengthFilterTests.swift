import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters

@Suite("length stage")
struct LengthFilterTests {
  let d = LengthFilter.descriptor

  func length(_ params: [String: String]) throws -> NamedStage {
    try build(d, params.mapValues { v($0) })
  }

  @Test("keeps documents inside the bounds and drops each side with its own reason")
  func everyDropReason() throws {
    // Counts from first principles: "one two three" is 13 chars, 3 words, 1 line.
    let docs: [[UInt8]] = [
      docLine(id: "ok", text: "one two three\nfour five\nsix"),  // 27 chars, 6 words, 3 lines
      docLine(id: "few_chars", text: "a b"),  // 3 chars
      docLine(id: "many_chars", text: String(repeating: "x", count: 41) + " y\nz"),  // 45 chars, 3 words
      docLine(id: "few_words", text: "abcdefghijklmnopqrstuvwxyz"),  // 26 chars, 1 word
      docLine(id: "many_words", text: "a b c d e f g h i j k l m"),  // 25 chars, 13 words, 1 line
      docLine(id: "few_lines", text: "alpha beta gamma delta"),  // 22 chars, 4 words, 1 line
      docLine(id: "many_lines", text: "a\nb\nc\nd\ne\nf\ng"),  // 13 chars, 7 words, 7 lines
    ]
    let stage = try length([
      "min_chars": "10", "max_chars": "40", "min_words": "2", "max_words": "10", "min_lines": "2", "max_lines": "6",
    ])
    let r = try runPipeline([stage], lines: docs)
    #expect(r.keptIDs == ["ok"])
    #expect(
      r.reasons == [
        "few_chars": "too_few_chars", "many_chars": "too_many_chars", "few_words": "too_few_words",
        "many_words": "too_many_words", "few_lines": "too_few_lines", "many_lines": "too_many_lines",
      ])
    #expect(r.rejects.allSatisfy { $0["rejected_by"] as? String == "length" })
    let s = r.stats.stages[0]
    #expect(s.name == "length")
    #expect(s.documentsIn == 7 && s.kept == 1 && s.dropped == 6)
    #expect(s.droppedByReason.count == 6 && s.droppedByReason.values.allSatisfy { $0 == 1 })
    #expect(r.stats.isBalanced && r.stats.documentsWritten == 1)
    // The kept document is written byte for byte.
    #expect(r.outputLines == [docs[0]])
  }

  @Test("bounds are inclusive")
  func inclusiveBounds() throws {
    let line = docLine(id: "x", text: "one two\nthree")  // 13 chars, 3 words, 2 lines
    let exact = try length([
      "min_chars": "13", "max_chars": "13", "min_words": "3", "max_words": "3", "min_lines": "2", "max_lines": "2",
    ])
    #expect(try verdict([exact], line) == nil)
    #expect(try verdict([try length(["min_chars": "14"])], line) == "too_few_chars")
    #expect(try verdict([try length(["max_chars": "12"])], line) == "too_many_chars")
    #expect(try verdict([try length(["min_words": "4"])], line) == "too_few_words")
    #expect(try verdict([try length(["max_words": "2"])], line) == "too_many_words")
    #expect(try verdict([try length(["min_lines": "3"])], line) == "too_few_lines")
    #expect(try verdict([try length(["max_lines": "1"])], line) == "too_many_lines")
  }

  @Test("no bounds keeps everything, including empty text")
  func noBounds() throws {
    let stage = try length([:])
    let r = try runPipeline([stage], lines: [docLine(id: "e", text: ""), docLine(id: "w", text: "   ")])
    #expect(r.keptIDs == ["e", "w"])
    #expect(r.stats.stages[0].dropped == 0)
  }

  @Test("lines: split on \\n, a trailing newline does not start another line, \\r is not a separator")
  func lineCounting() throws {
    let cases: [(String, Int)] = [
      ("", 0), ("a", 1), ("a\n", 1), ("a\nb", 2), ("a\nb\n", 2), ("\n", 1), ("\n\n", 2), ("a\n\n", 2),
      ("a\r\nb", 2), ("a\rb", 1), ("a\u{2028}b\u{85}c", 1),
    ]
    for (text, lines) in cases {
      let line = docLine(id: "l", text: text)
      let exact = try length(["min_lines": String(lines), "max_lines": String(lines)])
      #expect(try verdict([exact], line) == nil, "\(text.debugDescription) should have \(lines) lines")
      #expect(try verdict([try length(["min_lines": String(lines + 1)])], line) == "too_few_lines")
      if lines > 0 {
        #expect(try verdict([try length(["max_lines": String(lines - 1)])], line) == "too_many_lines")
      }
    }
  }

  @Test(
    "multilingual counts match Python's len(s), len(s.split()) and \\n lines, raw and \\u-escaped",
    .enabled(if: Python.available))
  func multilingualMatchesPython() throws {
    let counts = try Python.counts(multilingualTexts)
    for (text, c) in zip(multilingualTexts, counts) {
      for asciiOnly in [false, true] {
        let line = docLine(id: "m", text: text, asciiOnly: asciiOnly)
        let window = try length([
          "min_chars": String(c.chars), "max_chars": String(c.chars), "min_words": String(c.words),
          "max_words": String(c.words), "min_lines": String(c.lines), "max_lines": String(c.lines),
        ])
        let what = "\(text.debugDescription) (escaped: \(asciiOnly)) python \(c)"
        #expect(try verdict([window], line) == nil, "\(what)")
        #expect(try verdict([try length(["min_chars": String(c.chars + 1)])], line) == "too_few_chars", "\(what)")
        #expect(try verdict([try length(["min_words": String(c.words + 1)])], line) == "too_few_words", "\(what)")
        #expect(try verdict([try length(["min_lines": String(c.lines + 1)])], line) == "too_few_lines", "\(what)")
        if c.chars > 0 {
          #expect(try verdict([try length(["max_chars": String(c.chars - 1)])], line) == "too_many_chars", "\(what)")
        }
        if c.words > 0 {
          #expect(try verdict([try length(["max_words": String(c.words - 1)])], line) == "too_many_words", "\(what)")
        }
        if c.lines > 0 {
          #expect(try verdict([try length(["max_lines": String(c.lines - 1)])], line) == "too_many_lines", "\(what)")
        }
      }
    }
  }

  @Test("a file of multilingual documents: the kept set is what Python's counts say", .enabled(if: Python.available))
  func multilingualFileRun() throws {
    let counts = try Python.counts(multilingualTexts)
    let lines = multilingualTexts.enumerated().map { docLine(id: "d\($0.offset)", text: $0.element) }
    for (param, threshold, key) in [
      ("min_words", 5, \Python.Counts.words), ("min_chars", 20, \Python.Counts.chars),
      ("max_lines", 1, \Python.Counts.lines),
    ] {
      let r = try runPipeline([try length([param: String(threshold)])], lines: lines)
      let expected = counts.enumerated().filter { _, c in
        param.hasPrefix("min") ? c[keyPath: key] >= threshold : c[keyPath: key] <= threshold
      }.map { "d\($0.offset)" }
      #expect(r.keptIDs == expected, "\(param) \(threshold)")
      #expect(r.stats.isBalanced)
      #expect(r.stats.documentsRead == multilingualTexts.count)
    }
  }

  @Test("Unicode whitespace separates words; zero-width space and BOM do not")
  func unicodeWhitespaceWords() throws {
    // Each of these is whitespace for Python's str.split() (U+1C…U+1F, U+85, U+A0, U+1680,
    // U+2000…U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
    let spaces: [Unicode.Scalar] = [
      "\u{1C}", "\u{1D}", "\u{1E}", "\u{1F}", "\u{85}", "\u{A0}", "\u{1680}", "\u{2000}", "\u{2005}", "\u{200A}",
      "\u{2028}", "\u{2029}", "\u{202F}", "\u{205F}", "\u{3000}",
    ]
    for s in spaces {
      let text = "一\(s)二\(s)\(s)三"
      let stage = try length(["min_words": "3", "max_words": "3"])
      #expect(try verdict([stage], docLine(id: "w", text: text)) == nil, "U+\(String(s.value, radix: 16))")
    }
    for s: Unicode.Scalar in ["\u{200B}", "\u{FEFF}", "\u{180E}", "\u{2060}"] {
      let text = "一\(s)二\(s)三"
      let stage = try length(["min_words": "1", "max_words": "1"])
      #expect(try verdict([stage], docLine(id: "w", text: text)) == nil, "U+\(String(s.value, radix: 16))")
    }
  }

  @Test("characters are code points: emoji sequences and combining marks count every scalar")
  func codePoints() throws {
    // 👨‍👩‍👧‍👦 = 4 people + 3 ZWJ = 7 scalars (1 Character, 11 UTF-16 units, 25 UTF-8 bytes).
    let family = "👨‍👩‍👧‍👦"
    #expect(try verdict([try length(["min_chars": "7", "max_chars": "7"])], docLine(id: "f", text: family)) == nil)
    // "é" decomposed is 2 scalars, precomposed 1.
    #expect(try verdict([try length(["min_chars": "2", "max_chars": "2"])], docLine(id: "e", text: "e\u{301}")) == nil)
    #expect(try verdict([try length(["min_chars": "1", "max_chars": "1"])], docLine(id: "e", text: "\u{E9}")) == nil)
    // Escaped in JSON as a surrogate pair, an astral scalar is still 1 character.
    #expect(
      try verdict([try length(["min_chars": "1", "max_chars": "1"])], Array(#"{"text":"\ud83d\ude00"}"#.utf8)) == nil)
    // Escapes count as the character they stand for: "\n" is one character and one line break.
    #expect(
      try verdict(
        [try length(["min_chars": "3", "max_chars": "3", "min_lines": "2", "max_lines": "2"])],
        Array(#"{"text":"a\nb"}"#.utf8)) == nil)
  }

  @Test("empty input: no documents, empty output, balanced counts")
  func emptyInput() throws {
    let stage = try length(["min_words": "1"])
    let r = try runPipeline([stage], files: [[]])
    #expect(r.stats.documentsRead == 0 && r.stats.documentsWritten == 0 && r.stats.quarantined == 0)
    #expect(r.stats.stages[0].documentsIn == 0)
    #expect(r.outputLines.isEmpty && r.rejectLines.isEmpty && r.quarantineLines.isEmpty)
    #expect(r.stats.isBalanced)
    // Blank lines only: skipped and counted, not documents.
    let blank = try runPipeline([try length(["min_words": "1"])], lines: [[], Array("   ".utf8), Array("\t\r".utf8)])
    #expect(blank.stats.documentsRead == 0 && blank.stats.blankLines == 3 && blank.outputLines.isEmpty)
  }

  @Test("malformed JSON and invalid UTF-8 are quarantined and never reach the stage")
  func badLinesQuarantined() throws {
    let good = [
      docLine(id: "g1", text: "one two three"), docLine(id: "g2", text: "one"),
      docLine(id: "g3", text: "один два три четыре"),
    ]
    let (lines, numbers) = interleaveBad(good)
    let r = try runPipeline([try length(["min_words": "2"])], lines: lines)
    expectQuarantined(r, lineNumbers: numbers, goodDocuments: 3)
    #expect(r.keptIDs == ["g1", "g3"])
    #expect(r.reasons == ["g2": "too_few_words"])
    // The raw bytes of an invalid UTF-8 line survive in the quarantine record.
    let invalid = r.quarantine.first { $0["reason"] as? String == "invalid_utf8" }
    let b64 = try #require(invalid?["raw_base64"] as? String)
    #expect(Data(base64Encoded: b64).map([UInt8].init) == badLines[3].bytes)
  }

  @Test("a 30 MB document is counted exactly and passes through byte for byte")
  func hugeDocument() throws {
    // One run (30 MB through a debug build is slow): a window of exactly the constructed
    // counts keeps the huge document, so each count is exact; the short ones are dropped.
    let big = HugeText.jsonLine(id: "big")
    let small = docLine(id: "small", text: "short text")
    let window = try length([
      "min_chars": String(HugeText.chars), "max_chars": String(HugeText.chars),
      "min_words": String(HugeText.words), "max_words": String(HugeText.words),
      "min_lines": String(HugeText.lines), "max_lines": String(HugeText.lines),
    ])
    let r = try runPipeline([window], lines: [small, big, small])
    #expect(r.outputLines.count == 1)
    #expect(r.outputLines.first == big)
    #expect(r.stats.stages[0].droppedByReason == ["too_few_chars": 2])
    #expect(r.stats.stages[0].textBytesIn == 2 * 10 + HugeText.utf8Count)
    #expect(r.stats.isBalanced && r.stats.documentsRead == 3)
  }

  @Test("parameter validation names the parameter and what is allowed")
  func validation() throws {
    expectUsageError(["min_words", "length", "integer", "'many'"]) { _ = try build(d, ["min_words": v("many")]) }
    expectUsageError(["min_words", "integer", "'1.5'"]) { _ = try build(d, ["min_words": v("1.5")]) }
    // Quoted in YAML means a string, never a number.
    expectUsageError(["max_chars", "integer", "'5'"]) { _ = try build(d, ["max_chars": quoted("5")]) }
    expectUsageError(["min_chars", "≥ 0", "-1"]) { _ = try build(d, ["min_chars": v("-1")]) }
    expectUsageError(["max_lines", "a list"]) { _ = try build(d, ["max_lines": list(["1", "2"])]) }
    expectUsageError(["max_words", "a mapping"]) {
      _ = try build(d, ["max_words": RawParameter(.unsupported("a mapping"), at: "r.yaml:3:4")])
    }
    expectUsageError(["min_words (10)", "max_words (5)"]) {
      _ = try build(d, ["min_words": v("10"), "max_words": v("5")])
    }
    expectUsageError(["min_chars (2)", "max_chars (1)"]) {
      _ = try build(d, ["min_chars": v("2"), "max_chars": v("1")])
    }
    expectUsageError(["min_lines (3)", "max_lines (0)"]) {
      _ = try build(d, ["min_lines": v("3"), "max_lines": v("0")])
    }
    expectUsageError(["no parameter 'min_word'", "did you mean 'min_words'", "allowed:", "max_lines"]) {
      _ = try build(d, ["min_word": v("3")])
    }
    // The location of the bad value leads the message.
    expectUsageError(["r.yaml:7:18:"]) {
      _ = try build(d, ["min_words": RawParameter(.scalar("x", quoted: false), at: "r.yaml:7:18")])
    }
    // Accepted spellings: separators and k/M suffixes; min == max is allowed.
    let ok = try build(d, ["min_chars": v("1_000"), "max_chars": v("1k")])
    #expect(try verdict([ok], docLine(id: "k", text: String(repeating: "z", count: 1000))) == nil)
    #expect(try verdict([ok], docLine(id: "k", text: String(repeating: "z", count: 1001))) == "too_many_chars")
  }
}
