import Testing

@testable import WinnowCore
@testable import WinnowFilters

private func lines(_ lengths: [Int], of c: Character = "a", separator: String = "\n") -> String {
  lengths.map { String(repeating: c, count: $0) }.joined(separator: separator)
}

@Suite("c4_paragraph stage")
struct C4ParagraphTests {
  let d = C4ParagraphFilter.descriptor

  @Test("at least 3 lines, the 3 longest of 200 characters or more")
  func rule() throws {
    #expect(try reason(quality(d), lines([200, 200, 200])) == nil)
    #expect(try reason(quality(d), lines([200, 200, 199])) == "< 3 paragraphs")
    #expect(try reason(quality(d), lines([250, 300])) == "< 3 paragraphs")  // 2 lines
    // Many short lines do not matter when 3 long ones are there.
    #expect(try reason(quality(d), lines(Array(repeating: 10, count: 20) + [200, 201, 5000])) == nil)
    #expect(try reason(quality(d), "") == "< 3 paragraphs")  // "".split("\n") == [""]
    // A trailing newline makes an empty last line, which is just another short line.
    #expect(try reason(quality(d), lines([200, 200, 200]) + "\n") == nil)
  }

  @Test("lines are split on \\n only: \\r and U+2028 are characters of the line")
  func lineSplitting() throws {
    // "\r\n" joined 199-character lines: two lines are 199 + "\r" = 200, the last 199.
    #expect(try reason(quality(d), lines([199, 199, 199], separator: "\r\n")) == "< 3 paragraphs")
    #expect(try reason(quality(d), lines([199, 199, 200], separator: "\r\n")) == nil)
    #expect(try reason(quality(d), lines([200, 200, 200], separator: "\u{2028}")) == "< 3 paragraphs")  // one line
  }

  @Test("lengths are characters: Russian, Chinese, German, Japanese")
  func multilingual() throws {
    #expect(try reason(quality(d), lines([200, 200, 200], of: "я")) == nil)  // 400 bytes a line
    // 67 Chinese characters are 201 bytes but 67 characters.
    #expect(try reason(quality(d), lines([67, 67, 67], of: "我")) == "< 3 paragraphs")
    #expect(try reason(quality(d), lines([199, 200, 200], of: "ß")) == "< 3 paragraphs")
    #expect(try reason(quality(d), lines([200, 200, 200], of: "あ")) == nil)
  }

  @Test("min_paragraphs and min_paragraph_len, and the reason that names the count")
  func parameters() throws {
    #expect(try reason(quality(d, ["min_paragraphs": 5]), lines([200, 200, 200, 200])) == "< 5 paragraphs")
    #expect(try reason(quality(d, ["min_paragraphs": 5]), lines([200, 200, 200, 200, 200])) == nil)
    #expect(try reason(quality(d, ["min_paragraph_len": 50]), lines([50, 60, 70])) == nil)
    #expect(try reason(quality(d, ["min_paragraph_len": 50]), lines([49, 60, 70])) == "< 3 paragraphs")
    #expect(try reason(quality(d, ["min_paragraphs": 1, "min_paragraph_len": 0]), "") == nil)
    #expect(try reason(quality(d, ["min_paragraphs": 1]), "") == "< 1 paragraphs")
  }

  @Test("an 8 MB single line is one paragraph")
  func hugeLine() throws {
    let (line, _) = hugeSingleLine(id: "big", unit: "a long line of text ", count: 400_000)
    #expect(try verdict([try quality(d)], line) == "< 3 paragraphs")
    let r = try runPipeline([try quality(d, ["min_paragraphs": 1])], lines: [line, docLine(id: "short", text: "short")])
    #expect(r.outputLines == [line])
    #expect(r.reasons == ["short": "< 1 paragraphs"])
  }

  @Test("parameter validation")
  func validation() throws {
    expectUsageError(["min_paragraphs", "≥ 1", "0"]) { _ = try quality(d, ["min_paragraphs": 0]) }
    expectUsageError(["min_paragraph_len", "≥ 0"]) { _ = try quality(d, ["min_paragraph_len": -1]) }
    expectUsageError(["no parameter 'min_paragraph_length'", "did you mean 'min_paragraph_len'"]) {
      _ = try quality(d, ["min_paragraph_length": 10])
    }
  }
}
