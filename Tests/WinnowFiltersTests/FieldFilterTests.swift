import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters

@Suite("field stage")
struct FieldFilterTests {
  let d = FieldFilter.descriptor

  /// Documents with a variety of field shapes; ids say what they hold.
  let docs: [[UInt8]] = [
    docLine(
      id: "en5", text: "a", [("lang", #""en""#), ("score", "5"), ("flag", "true"), ("meta", #"{"lang":"de","n":2.5}"#)]),
    docLine(
      id: "fr5.0", text: "b", [("lang", #""fr""#), ("score", "5.0"), ("flag", "false"), ("meta", #"{"lang":"en"}"#)]),
    docLine(id: "null", text: "c", [("lang", "null"), ("score", #""5""#), ("flag", "null"), ("meta", "null")]),
    docLine(id: "none", text: "d"),
    docLine(id: "ja-100", text: "e", [("lang", #""日本語""#), ("score", "-1e2"), ("meta", #"{"lang":null,"n":"x"}"#)]),
    docLine(
      id: "EN7", text: "f", [("lang", #""EN""#), ("score", "7"), ("flag", #""true""#), ("meta.lang", #""top""#)]),
  ]

  func run(_ params: [String: RawParameter]) throws -> RunResult {
    try runPipeline([try build(d, params)], lines: docs)
  }

  /// Runs the documents and checks the kept ids and the reason of every drop.
  func check(
    _ params: [String: RawParameter], kept: [String], dropped: [String: String],
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let r = try run(params)
    #expect(r.keptIDs == kept, sourceLocation: sourceLocation)
    #expect(r.reasons == dropped, sourceLocation: sourceLocation)
    #expect(r.stats.isBalanced, sourceLocation: sourceLocation)
    #expect(r.rejects.allSatisfy { $0["rejected_by"] as? String == "field" }, sourceLocation: sourceLocation)
  }

  @Test("equals on a string is exact and case-sensitive; null and missing are field_missing")
  func equalsString() throws {
    try check(
      ["key": v("lang"), "equals": v("en")], kept: ["en5"],
      dropped: [
        "fr5.0": "not_equal", "null": "field_missing", "none": "field_missing", "ja-100": "not_equal",
        "EN7": "not_equal",
      ])
    try check(
      ["key": v("lang"), "equals": quoted("日本語")], kept: ["ja-100"],
      dropped: [
        "en5": "not_equal", "fr5.0": "not_equal", "null": "field_missing", "none": "field_missing",
        "EN7": "not_equal",
      ])
  }

  @Test("equals on numbers compares numerically: 5 equals 5.0 and -1e2 equals -100")
  func equalsNumber() throws {
    // The string "5" is compared as text (the documented rule for scalars).
    try check(
      ["key": v("score"), "equals": v("5")], kept: ["en5", "fr5.0", "null"],
      dropped: ["none": "field_missing", "ja-100": "not_equal", "EN7": "not_equal"])
    try check(
      ["key": v("score"), "equals": v("5.0")], kept: ["en5", "fr5.0"],
      dropped: ["null": "not_equal", "none": "field_missing", "ja-100": "not_equal", "EN7": "not_equal"])
    try check(
      ["key": v("score"), "equals": v("-100")], kept: ["ja-100"],
      dropped: [
        "en5": "not_equal", "fr5.0": "not_equal", "null": "not_equal", "none": "field_missing", "EN7": "not_equal",
      ])
  }

  @Test("equals on booleans: true matches the literal true (and the string \"true\")")
  func equalsBool() throws {
    try check(
      ["key": v("flag"), "equals": v("true")], kept: ["en5", "EN7"],
      dropped: ["fr5.0": "not_equal", "null": "field_missing", "none": "field_missing", "ja-100": "field_missing"])
    try check(
      ["key": v("flag"), "equals": v("false")], kept: ["fr5.0"],
      dropped: [
        "en5": "not_equal", "null": "field_missing", "none": "field_missing", "ja-100": "field_missing",
        "EN7": "not_equal",
      ])
  }

  @Test("not_equals keeps missing, null and different values; drops equal ones")
  func notEquals() throws {
    try check(
      ["key": v("lang"), "not_equals": v("en")], kept: ["fr5.0", "null", "none", "ja-100", "EN7"],
      dropped: ["en5": "equal"])
    try check(
      ["key": v("score"), "not_equals": v("5")], kept: ["none", "ja-100", "EN7"],
      dropped: ["en5": "equal", "fr5.0": "equal", "null": "equal"])
  }

  @Test("in and not_in take lists; numbers in the list match numerically")
  func inAndNotIn() throws {
    try check(
      ["key": v("lang"), "in": list(["en", "fr"])], kept: ["en5", "fr5.0"],
      dropped: ["null": "field_missing", "none": "field_missing", "ja-100": "not_in_set", "EN7": "not_in_set"])
    try check(
      ["key": v("score"), "in": list(["7", "5"])], kept: ["en5", "fr5.0", "null", "EN7"],
      dropped: ["none": "field_missing", "ja-100": "not_in_set"])
    try check(
      ["key": v("lang"), "not_in": list(["en", "日本語"])], kept: ["fr5.0", "null", "none", "EN7"],
      dropped: ["en5": "in_set", "ja-100": "in_set"])
    // On the command line a list comes as one comma-separated value.
    try check(
      ["key": v("lang"), "in": v("EN,fr")], kept: ["fr5.0", "EN7"],
      dropped: ["en5": "not_in_set", "null": "field_missing", "none": "field_missing", "ja-100": "not_in_set"])
  }

  @Test("min and max: inclusive numeric bounds; non-numbers are not_a_number")
  func minMax() throws {
    try check(
      ["key": v("score"), "min": v("0"), "max": v("6")], kept: ["en5", "fr5.0"],
      dropped: ["null": "not_a_number", "none": "field_missing", "ja-100": "below_min", "EN7": "above_max"])
    try check(
      ["key": v("score"), "min": v("5"), "max": v("5")], kept: ["en5", "fr5.0"],
      dropped: ["null": "not_a_number", "none": "field_missing", "ja-100": "below_min", "EN7": "above_max"])
    try check(
      ["key": v("score"), "max": v("-100")], kept: ["ja-100"],
      dropped: [
        "en5": "above_max", "fr5.0": "above_max", "null": "not_a_number", "none": "field_missing", "EN7": "above_max",
      ])
    // Strings, booleans and objects are not numbers.
    try check(
      ["key": v("lang"), "min": v("0")], kept: [],
      dropped: [
        "en5": "not_a_number", "fr5.0": "not_a_number", "null": "field_missing", "none": "field_missing",
        "ja-100": "not_a_number", "EN7": "not_a_number",
      ])
    try check(
      ["key": v("flag"), "max": v("1")], kept: [],
      dropped: [
        "en5": "not_a_number", "fr5.0": "not_a_number", "null": "field_missing", "none": "field_missing",
        "ja-100": "field_missing", "EN7": "not_a_number",
      ])
  }

  @Test("exists: true keeps present non-null fields, false keeps absent or null ones")
  func exists() throws {
    try check(
      ["key": v("lang"), "exists": v("true")], kept: ["en5", "fr5.0", "ja-100", "EN7"],
      dropped: ["null": "field_missing", "none": "field_missing"])
    try check(
      ["key": v("lang"), "exists": v("false")], kept: ["null", "none"],
      dropped: ["en5": "field_present", "fr5.0": "field_present", "ja-100": "field_present", "EN7": "field_present"])
    // An object counts as present.
    try check(
      ["key": v("meta"), "exists": v("yes")], kept: ["en5", "fr5.0", "ja-100"],
      dropped: ["null": "field_missing", "none": "field_missing", "EN7": "field_missing"])
  }

  @Test("dotted keys look inside nested objects; a top-level key with the dotted name wins")
  func nested() throws {
    try check(
      ["key": v("meta.lang"), "equals": v("en")], kept: ["fr5.0"],
      dropped: [
        "en5": "not_equal", "null": "field_missing", "none": "field_missing", "ja-100": "field_missing",
        "EN7": "not_equal",
      ])
    try check(
      ["key": v("meta.lang"), "equals": v("top")], kept: ["EN7"],
      dropped: [
        "en5": "not_equal", "fr5.0": "not_equal", "null": "field_missing", "none": "field_missing",
        "ja-100": "field_missing",
      ])
    try check(
      ["key": v("meta.n"), "min": v("2")], kept: ["en5"],
      dropped: [
        "fr5.0": "field_missing", "null": "field_missing", "none": "field_missing", "ja-100": "not_a_number",
        "EN7": "field_missing",
      ])
    try check(
      ["key": v("meta.lang.deeper"), "exists": v("false")], kept: ["en5", "fr5.0", "null", "none", "ja-100", "EN7"],
      dropped: [:])
    // Deeper nesting and escaped keys.
    let line = Array(#"{"text":"t","a":{"b":{"c\u0064":"deep"}}}"#.utf8)
    #expect(try verdict([try build(d, ["key": v("a.b.cd"), "equals": v("deep")])], line) == nil)
    #expect(try verdict([try build(d, ["key": v("a.b.c"), "exists": v("true")])], line) == "field_missing")
  }

  @Test("conditions combine: all must hold, the first failing one names the drop")
  func combined() throws {
    try check(
      ["key": v("score"), "in": list(["5", "7", "-100"]), "min": v("6")], kept: ["EN7"],
      dropped: [
        "en5": "below_min", "fr5.0": "below_min", "null": "not_a_number", "none": "field_missing",
        "ja-100": "below_min",
      ])
    try check(
      ["key": v("lang"), "exists": v("true"), "not_in": list(["EN"])], kept: ["en5", "fr5.0", "ja-100"],
      dropped: ["null": "field_missing", "none": "field_missing", "EN7": "in_set"])
  }

  @Test("non-English values, escaped or not, and Unicode whitespace inside values")
  func nonEnglish() throws {
    let values = ["中文", "العربية", "русский", "हिन्दी", "😀👍🏽", "a\u{3000}b", "a\u{A0}b"]
    for value in values {
      for asciiOnly in [false, true] {
        let line = docLine(id: "x", text: "t", [("lang", jsonQuote(value, asciiOnly: asciiOnly))])
        #expect(try verdict([try build(d, ["key": v("lang"), "equals": quoted(value)])], line) == nil, "\(value)")
        #expect(try verdict([try build(d, ["key": v("lang"), "in": list(["x", value])])], line) == nil, "\(value)")
        #expect(
          try verdict([try build(d, ["key": v("lang"), "not_equals": quoted(value)])], line) == "equal", "\(value)")
      }
    }
    // U+3000 and U+00A0 are not the same as an ASCII space.
    let line = docLine(id: "x", text: "t", [("lang", jsonQuote("a\u{3000}b"))])
    #expect(try verdict([try build(d, ["key": v("lang"), "equals": quoted("a b")])], line) == "not_equal")
    #expect(try verdict([try build(d, ["key": v("lang"), "equals": quoted("a\u{A0}b")])], line) == "not_equal")
    // Non-ASCII keys, nested too.
    let keyed = Array(#"{"text":"t","язык":"ru","メタ":{"言語":"ja"}}"#.utf8)
    #expect(try verdict([try build(d, ["key": v("язык"), "equals": v("ru")])], keyed) == nil)
    #expect(try verdict([try build(d, ["key": v("メタ.言語"), "equals": v("ja")])], keyed) == nil)
  }

  @Test("empty input: no documents, balanced")
  func emptyInput() throws {
    let r = try runPipeline([try build(d, ["key": v("lang"), "equals": v("en")])], files: [[]])
    #expect(r.stats.documentsRead == 0 && r.outputLines.isEmpty && r.rejectLines.isEmpty && r.stats.isBalanced)
    #expect(r.stats.stages[0].documentsIn == 0)
  }

  @Test("malformed JSON and invalid UTF-8 are quarantined and never reach the stage")
  func badLinesQuarantined() throws {
    let good = [docs[0], docs[1], docs[4]]
    let (lines, numbers) = interleaveBad(good)
    let r = try runPipeline([try build(d, ["key": v("lang"), "in": list(["en", "日本語"])])], lines: lines)
    expectQuarantined(r, lineNumbers: numbers, goodDocuments: 3)
    #expect(r.keptIDs == ["en5", "ja-100"])
    #expect(r.reasons == ["fr5.0": "not_in_set"])
  }

  @Test("a 30 MB document is filtered by its fields and passes through byte for byte")
  func hugeDocument() throws {
    let big = HugeText.jsonLine(id: "big", extra: #","lang":"zh","meta":{"n":3}"#)
    let small = docLine(id: "small", text: "x", [("lang", #""zh""#), ("meta", #"{"n":2}"#)])
    let stages = [
      try build(d, ["key": v("lang"), "equals": v("zh")]),
      try build(d, ["key": v("text"), "exists": v("true")]),
      try build(d, ["key": v("meta.n"), "min": v("3")]),
    ]
    let r = try runPipeline(stages, lines: [big, small])
    #expect(r.outputLines == [big])
    #expect(r.reasons == ["small": "below_min"])
    #expect(r.stats.stages.map(\.documentsIn) == [2, 2, 2])
    #expect(r.stats.isBalanced && r.stats.documentsWritten == 1)
  }

  @Test("parameter validation")
  func validation() throws {
    expectUsageError(["stage 'field' needs parameter 'key'"]) { _ = try build(d, ["equals": v("en")]) }
    expectUsageError(["key must not be empty"]) { _ = try build(d, ["key": quoted(""), "equals": v("en")]) }
    expectUsageError(["at least one condition", "equals", "exists"]) { _ = try build(d, ["key": v("lang")]) }
    expectUsageError(["min (10.0) is greater than max (2.0)"]) {
      _ = try build(d, ["key": v("n"), "min": v("10"), "max": v("2")])
    }
    expectUsageError(["'min'", "number", "'abc'"]) { _ = try build(d, ["key": v("n"), "min": v("abc")]) }
    expectUsageError(["'max'", "number", "'inf'"]) { _ = try build(d, ["key": v("n"), "max": v("inf")]) }
    expectUsageError(["'exists'", "boolean", "'maybe'"]) { _ = try build(d, ["key": v("n"), "exists": v("maybe")]) }
    expectUsageError(["'equals'", "a list"]) { _ = try build(d, ["key": v("n"), "equals": list(["a", "b"])]) }
    expectUsageError(["'in'", "a mapping"]) {
      _ = try build(d, ["key": v("n"), "in": RawParameter(.unsupported("a mapping"), at: "r.yaml:1:1")])
    }
    expectUsageError(["'key'", "a list"]) { _ = try build(d, ["key": list(["a"]), "exists": v("true")]) }
    expectUsageError(["no parameter 'equal'", "did you mean 'equals'"]) {
      _ = try build(d, ["key": v("n"), "equal": v("x")])
    }
    expectUsageError(["no parameter 'notin'", "did you mean 'not_in'"]) {
      _ = try build(d, ["key": v("n"), "notin": list(["x"])])
    }
  }

  @Test("only JSON numbers compare numerically: 0x10 and 1e2 written as text stay text")
  func hexIsNotANumber() throws {
    let lines = [docLine(id: "sixteen", text: "a", [("n", "16")]), docLine(id: "hex", text: "b", [("n", #""0x10""#)])]
    let r = try runPipeline([try build(d, ["key": v("n"), "equals": v("0x10")])], lines: lines)
    #expect(r.keptIDs == ["hex"])
  }

  @Test("strings compare byte for byte: precomposed é and e + U+0301 differ")
  func noCanonicalEquivalence() throws {
    let lines = [
      docLine(id: "nfc", text: "a", [("w", "\"caf\u{E9}\"")]),
      docLine(id: "nfd", text: "b", [("w", "\"cafe\u{301}\"")]),
    ]
    let r = try runPipeline([try build(d, ["key": v("w"), "in": quoted("caf\u{E9}")])], lines: lines)
    #expect(r.keptIDs == ["nfc"])
  }

  @Test("a quoted recipe value for `in` is one item, commas included; unquoted is split")
  func quotedListItem() throws {
    let lines = [
      docLine(id: "sj", text: "a", [("who", #""Smith, John""#)]),
      docLine(id: "s", text: "b", [("who", #""Smith""#)]),
    ]
    #expect(try runPipeline([try build(d, ["key": v("who"), "in": quoted("Smith, John")])], lines: lines).keptIDs == ["sj"])
    #expect(try runPipeline([try build(d, ["key": v("who"), "in": v("Smith, John")])], lines: lines).keptIDs == ["s"])
  }
}
