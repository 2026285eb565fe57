import Testing

@testable import WinnowCore

@Suite struct ParametersTests {
  static let specs: [ParameterSpec] = [
    ParameterSpec("min_words", .int(min: 0, max: 100_000), default: .int(50), help: "fewest words kept"),
    ParameterSpec("max_ratio", .double(min: 0, max: 1), default: .double(0.3), help: "largest ratio kept"),
    ParameterSpec("lowercase", .bool, default: .bool(false), help: "compare in lower case"),
    ParameterSpec("mode", .choice(["keep", "drop", "annotate"]), default: .string("drop"), help: "what to do"),
    ParameterSpec("field", .string, required: true, help: "the field to read"),
    ParameterSpec("values", .scalarList, help: "values to match"),
    ParameterSpec("value", .scalar, help: "one value"),
  ]

  static let at = "recipe.yaml:3:5"

  func validate(_ raw: [String: RawParameter.Value]) throws(WinnowError) -> StageParameters {
    var withField = raw
    if withField["field"] == nil { withField["field"] = .scalar("lang", quoted: false) }
    return try StageParameters.validate(
      withField.mapValues { RawParameter($0, at: Self.at) }, against: Self.specs, stage: "demo")
  }

  func failure(_ raw: [String: RawParameter.Value]) -> WinnowError? {
    winnowError { _ = try validate(raw) }
  }

  @Test func defaultsAreFilledIn() throws {
    let p = try validate([:])
    #expect(p.int("min_words") == 50)
    #expect(p.double("max_ratio") == 0.3)
    #expect(p.bool("lowercase") == false)
    #expect(p.string("mode") == "drop")
    #expect(p.string("field") == "lang")
    // No default and not required: absent, not made up.
    #expect(!p.has("values"))
    #expect(!p.has("value"))
    #expect(p.list("values") == nil)
  }

  @Test func givenValuesOverrideDefaults() throws {
    let p = try validate([
      "min_words": .scalar("7", quoted: false), "max_ratio": .scalar("1e-1", quoted: false),
      "lowercase": .scalar("yes", quoted: false), "mode": .scalar("annotate", quoted: false),
      "values": .list(["en", "de"]), "value": .scalar("12", quoted: false),
    ])
    #expect(p.int("min_words") == 7)
    #expect(p.double("max_ratio") == 0.1)
    #expect(p.bool("lowercase") == true)
    #expect(p.string("mode") == "annotate")
    #expect(p.list("values") == ["en", "de"])
    // A scalar parameter keeps the text as written.
    #expect(p.string("value") == "12")
    // An integer also reads as a double.
    #expect(p.double("min_words") == 7)
  }

  @Test func unknownKeyNamesKeyLocationAllowedAndSuggestion() throws {
    let e = try #require(failure(["min_word": .scalar("3", quoted: false)]))
    #expect(e.isUsage)
    #expect(e.exitCode == 2)
    #expect(e.message.contains("'min_word'"))
    #expect(e.message.contains(Self.at))
    #expect(e.message.contains("'demo'"))
    #expect(e.message.contains("did you mean 'min_words'"))
    #expect(e.message.contains("min_words, max_ratio, lowercase, mode, field, values, value"))

    // Nothing close: no suggestion, still the allowed list.
    let far = try #require(failure(["completely_unrelated": .scalar("3", quoted: false)]))
    #expect(!far.message.contains("did you mean"))
    #expect(far.message.contains("allowed: min_words"))
  }

  @Test func unknownKeyForAStageWithoutParameters() throws {
    let e = winnowError {
      _ = try StageParameters.validate(["x": .scalar("1", at: "--x")], against: [], stage: "bare")
    }
    #expect(e?.message.contains("allowed: none") == true)
    #expect(e?.message.contains("--x") == true)
  }

  @Test func requiredParameterMissing() throws {
    let e = winnowError { _ = try StageParameters.validate([:], against: Self.specs, stage: "demo") }
    #expect(e?.isUsage == true)
    #expect(e?.message.contains("'field'") == true)
    #expect(e?.message.contains("the field to read") == true)
    #expect(e?.message.contains("'demo'") == true)
  }

  /// Values a parameter of each type must refuse, and the phrase the error must contain to
  /// say what was expected.
  @Test(arguments: [
    ("min_words", "abc", "integer"), ("min_words", "1.5", "integer"), ("min_words", "-1", "integer in [0, 100000]"),
    ("min_words", "100001", "in [0, 100000]"), ("min_words", "", "integer"),
    ("max_ratio", "abc", "number"), ("max_ratio", "nan", "number"), ("max_ratio", "inf", "number"),
    ("max_ratio", "1.5", "number in [0.0, 1.0]"), ("max_ratio", "-0.1", "in [0.0, 1.0]"),
    ("lowercase", "maybe", "boolean"), ("lowercase", "2", "boolean"),
    ("mode", "Keep", "one of keep|drop|annotate"), ("mode", "", "one of keep|drop|annotate"),
  ])
  func badScalarsAreRefused(_ key: String, _ text: String, _ phrase: String) throws {
    let e = try #require(failure([key: .scalar(text, quoted: false)]), "\(key)=\(text) accepted")
    #expect(e.isUsage)
    #expect(e.message.contains("'\(key)'"))
    #expect(e.message.contains(Self.at))
    #expect(e.message.contains(phrase), "\(e.message)")
  }

  @Test(arguments: ["true", "TRUE", "yes", "on", "1"])
  func truthyBooleans(_ text: String) throws {
    #expect(try validate(["lowercase": .scalar(text, quoted: false)]).bool("lowercase") == true)
  }

  @Test(arguments: ["false", "False", "no", "off", "0"])
  func falsyBooleans(_ text: String) throws {
    #expect(try validate(["lowercase": .scalar(text, quoted: false)]).bool("lowercase") == false)
  }

  @Test func quotedNumbersAreStringsNotNumbers() throws {
    // YAML `min_words: "10"` is a string; silently reading it as a number would hide a typo.
    #expect(failure(["min_words": .scalar("10", quoted: true)]) != nil)
    #expect(failure(["max_ratio": .scalar("0.5", quoted: true)]) != nil)
    // For strings and choices, quoting makes no difference.
    #expect(try validate(["mode": .scalar("keep", quoted: true)]).string("mode") == "keep")
  }

  @Test func rangeBoundsAreInclusive() throws {
    #expect(try validate(["min_words": .scalar("0", quoted: false)]).int("min_words") == 0)
    #expect(try validate(["min_words": .scalar("100000", quoted: false)]).int("min_words") == 100_000)
    #expect(try validate(["min_words": .scalar("100k", quoted: false)]).int("min_words") == 100_000)
    #expect(try validate(["max_ratio": .scalar("0", quoted: false)]).double("max_ratio") == 0)
    #expect(try validate(["max_ratio": .scalar("1", quoted: false)]).double("max_ratio") == 1)
  }

  @Test func listsAndScalars() throws {
    // A list where a scalar is expected is refused, naming what was given.
    let e = try #require(failure(["min_words": .list(["1", "2"])]))
    #expect(e.message.contains("got a list"))
    #expect(failure(["mode": .list(["keep"])]) != nil)
    // A mapping (or anything else) is refused with its description.
    let u = try #require(failure(["values": .unsupported("a mapping")]))
    #expect(u.message.contains("a mapping"))
    // On the command line a list is one comma-separated scalar; empty items are kept.
    #expect(try validate(["values": .scalar("en,de,,fr", quoted: false)]).list("values") == ["en", "de", "", "fr"])
    #expect(try validate(["values": .scalar("single", quoted: false)]).list("values") == ["single"])
  }

  @Test(arguments: [
    ("0", 0), ("42", 42), ("-5", -5), ("1k", 1_000), ("1K", 1_000), ("2M", 2_000_000), ("3G", 3_000_000_000),
    ("1_000", 1_000), ("1_000_000", 1_000_000), ("10_k", 10_000), ("9223372036854775807", Int.max),
  ])
  func parseIntAccepts(_ text: String, _ expected: Int) {
    #expect(StageParameters.parseInt(text) == expected)
  }

  @Test(arguments: ["", "k", "_", "1.5k", "1m", "1kk", "0x10", "1e3", " 1", "9223372036854775807k", "10000000000G", "abc"])
  func parseIntRejects(_ text: String) {
    #expect(StageParameters.parseInt(text) == nil, "\(text) → \(String(describing: StageParameters.parseInt(text)))")
  }

  @Test func closestNameSuggestsOnlyNearNames() {
    let names = ["min_words", "max_words", "mode"]
    #expect(closestName("min_word", among: names) == "min_words")
    #expect(closestName("max_wrods", among: names) == "max_words")
    #expect(closestName("mdoe", among: names) == "mode")
    #expect(closestName("zzzzzzzzzz", among: names) == nil)
    #expect(closestName("x", among: names) == nil)  // every name is further than the name is long
    #expect(closestName("anything", among: []) == nil)
  }

  @Test func descriptorBuildsWithValidatedParameters() throws {
    final class Holder: DocumentStage {
      let minWords: Int
      init(_ n: Int) { minWords = n }
      func process(_ doc: Document) -> Verdict { .keep }
    }
    let descriptor = StageDescriptor(name: "word_count", summary: "test", parameters: Self.specs) { params, _ in
      Holder(params.int("min_words") ?? -1)
    }
    #expect(descriptor.cliName == "word-count")
    let stage = try descriptor.build(
      ["min_words": .scalar("2k", at: "--min-words"), "field": .scalar("text", at: "--field")], context: StageContext())
    #expect((stage as? Holder)?.minWords == 2_000)
    let e = winnowError { _ = try descriptor.build(["min-words": .scalar("1", at: "--min-words")], context: StageContext()) }
    #expect(e?.isUsage == true)

    let registry = StageRegistry([descriptor])
    #expect(registry.descriptor(named: "word-count")?.name == "word_count")
    #expect(registry.descriptor(named: "word_count")?.name == "word_count")
    #expect(registry.descriptor(named: "word") == nil)
    #expect(ParameterSpec("min_words", .int(min: nil, max: nil), help: "").flag == "--min-words")
  }
}
