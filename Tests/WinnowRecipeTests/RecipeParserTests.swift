import Foundation
import Testing
import WinnowCore
import WinnowFilters

@testable import WinnowRecipe

@Suite("recipe parsing and planning")
struct RecipeParserTests {
  static let src = "r.yaml"

  /// A small valid recipe; tests replace one line to break it.
  static let valid = """
    name: demo
    seed: 42
    input:
      paths: [in/a.jsonl]
    output:
      path: out
    stages:
      - length: {min_words: 2}
    """

  /// Parses `yaml` and returns the usage error it must cause.
  func parseError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    guard let e = winnowError({ _ = try RecipeParser.parse(yaml, source: Self.src) }) else {
      Issue.record("parsed without error:\n\(yaml)", sourceLocation: sourceLocation)
      return ""
    }
    #expect(e.kind == .usage, sourceLocation: sourceLocation)
    return e.message
  }

  /// Checks that the error for `yaml` starts with the position of `token` on the line holding
  /// `line`, and contains every fragment.
  func expectError(
    _ yaml: String, at line: String, token: String? = nil, _ fragments: [String],
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let message = parseError(yaml, sourceLocation: sourceLocation)
    let where_ = position(in: yaml, source: Self.src, line: line, token: token)
    #expect(message.hasPrefix(where_ + ":"), "'\(message)' should start with \(where_)", sourceLocation: sourceLocation)
    for f in fragments {
      #expect(message.contains(f), "'\(message)' lacks '\(f)'", sourceLocation: sourceLocation)
    }
  }

  func replacing(_ old: String, with new: String, in yaml: String = valid) -> String {
    precondition(yaml.contains(old))
    return yaml.replacingOccurrences(of: old, with: new)
  }

  @Test("a full recipe round-trips into every field")
  func roundTrip() throws {
    let yaml = """
      # A comment line first.
      name: full-recipe
      seed: 1_000
      executor: inline
      input:
        paths:
          - data/a.jsonl
          - "data/*.jsonl.zst"
        text_field: body
        id_field: doc_id
        strict: yes
      output:
        path: out/dir
        compression: gzip
        compression_level: 9
        max_shard_bytes: 1M
        max_shard_docs: 500
        rejects: out/rejects.jsonl
        quarantine: out/quarantine
      stages:
        - length: {min_words: 2, max_chars: "100"}
        - field:
            key: meta.lang
            in: [en, "fr"]
            exists: true
        - sample: {rate: 0.25}
        - exact-dedup:
        - exact_dedup: {}
      """
    let r = try RecipeParser.parse(yaml, source: Self.src)
    #expect(r.name == "full-recipe")
    #expect(r.seed == 1000)
    #expect(r.executor == "inline")
    #expect(r.source == Self.src)
    #expect(r.input.paths == ["data/a.jsonl", "data/*.jsonl.zst"])
    #expect(r.input.fields == DocumentFields(text: "body", id: "doc_id"))
    #expect(r.input.strict == true)
    #expect(r.output.path == "out/dir")
    #expect(r.output.compression == .gzip)
    #expect(r.output.compressionLevel == 9)
    #expect(r.output.maxShardBytes == 1_000_000)
    #expect(r.output.maxShardDocs == 500)
    #expect(r.output.rejects == "out/rejects.jsonl")
    #expect(r.output.quarantine == "out/quarantine")
    #expect(r.stages.map(\.stage) == ["length", "field", "sample", "exact-dedup", "exact_dedup"])
    #expect(r.stages[0].location == position(in: yaml, source: Self.src, line: "- length:", token: "length"))
    #expect(r.stages[1].location == position(in: yaml, source: Self.src, line: "- field:", token: "field"))
    #expect(r.stages[3].parameters.isEmpty && r.stages[4].parameters.isEmpty)

    // Parameter values keep their text, whether YAML quoted them, and where they are.
    let length = r.stages[0].parameters
    #expect(Set(length.keys) == ["min_words", "max_chars"])
    guard case .scalar("2", quoted: false)? = length["min_words"]?.value else {
      Issue.record("min_words: \(String(describing: length["min_words"]))")
      return
    }
    guard case .scalar("100", quoted: true)? = length["max_chars"]?.value else {
      Issue.record("max_chars: \(String(describing: length["max_chars"]))")
      return
    }
    #expect(length["min_words"]?.location == position(in: yaml, source: Self.src, line: "- length:", token: "2,"))
    let field = r.stages[1].parameters
    guard case .list(let items)? = field["in"]?.value else {
      Issue.record("in: \(String(describing: field["in"]))")
      return
    }
    #expect(items == ["en", "fr"])
    #expect(field["in"]?.location == position(in: yaml, source: Self.src, line: "in: [en", token: "["))
    guard case .scalar("true", quoted: false)? = field["exists"]?.value else {
      Issue.record("exists: \(String(describing: field["exists"]))")
      return
    }
  }

  @Test("defaults: seed 0, inline, zstd, default fields, not strict, an empty stage list is allowed")
  func defaults() throws {
    let r = try RecipeParser.parse(
      """
      name: minimal
      input: {paths: x.jsonl}
      output: {path: out}
      stages: []
      """, source: Self.src)
    #expect(r.seed == 0 && r.executor == "inline" && r.input.strict == false)
    #expect(r.input.paths == ["x.jsonl"])
    #expect(r.input.fields == DocumentFields())
    #expect(r.output.compression == .zstd && r.output.compressionLevel == nil)
    #expect(r.output.rejects == nil && r.output.quarantine == nil)
    #expect(r.output.maxShardBytes == nil && r.output.maxShardDocs == nil)
    #expect(r.stages.isEmpty)
  }

  @Test("reading a recipe file names the file in its errors")
  func parseFile() throws {
    let dir = try TempDir()
    let path = try dir.write("recipe.yaml", Array(replacing("seed: 42", with: "seed: abc").utf8))
    let e = try #require(winnowError { _ = try RecipeParser.parse(file: path) })
    #expect(e.message.hasPrefix("\(path):2:7:"), "\(e.message)")
    let good = try dir.write("good.yaml", Array(Self.valid.utf8))
    #expect(try RecipeParser.parse(file: good).source == good)
    expectUsageError(["\(dir.path)/missing.yaml", "cannot read"]) {
      _ = try RecipeParser.parse(file: dir.path + "/missing.yaml")
    }
  }

  @Test("unknown top-level key: location, key, suggestion and allowed keys")
  func unknownTopLevelKey() {
    let yaml = replacing("stages:", with: "stage:")
    expectError(
      yaml, at: "stage:", token: "stage", ["unknown key 'stage'", "did you mean 'stages'", "allowed: name, seed"])
    let seeds = replacing("seed: 42", with: "seeds: 42")
    expectError(seeds, at: "seeds:", token: "seeds", ["unknown key 'seeds'", "did you mean 'seed'"])
    let far = Self.valid + "\ncompletely_unrelated: 1"
    let message = parseError(far)
    #expect(message.contains("unknown key 'completely_unrelated'") && !message.contains("did you mean"))
  }

  @Test("unknown input and output keys")
  func unknownSectionKeys() {
    expectError(
      replacing("  paths: [in/a.jsonl]", with: "  paths: [in/a.jsonl]\n  text_feild: body"), at: "text_feild",
      [
        "unknown key 'text_feild' in 'input'", "did you mean 'text_field'",
        "allowed: paths, text_field, id_field, strict",
      ])
    expectError(
      replacing("  paths: [in/a.jsonl]", with: "  path: [in/a.jsonl]"), at: "  path:", token: "path",
      ["unknown key 'path' in 'input'", "did you mean 'paths'"])
    expectError(
      replacing("  path: out", with: "  path: out\n  compresion: zstd"), at: "compresion",
      ["unknown key 'compresion' in 'output'", "did you mean 'compression'"])
    expectError(
      replacing("  path: out", with: "  path: out\n  reject: r.jsonl"), at: "reject:", token: "reject",
      ["unknown key 'reject' in 'output'", "did you mean 'rejects'"])
  }

  @Test("missing name, input, output, stages, paths and output path")
  func missingKeys() {
    let noName = replacing("name: demo\n", with: "")
    expectError(noName, at: "seed:", token: "seed", ["recipe needs a 'name'"])
    expectError(
      replacing("input:\n  paths: [in/a.jsonl]\n", with: ""), at: "name:", token: "name", ["needs an 'input'", "paths"])
    expectError(
      replacing("output:\n  path: out\n", with: ""), at: "name:", token: "name", ["needs an 'output'", "path"])
    expectError(
      replacing("stages:\n  - length: {min_words: 2}", with: ""), at: "name:", token: "name", ["needs a 'stages' list"])
    expectError(
      replacing("  paths: [in/a.jsonl]", with: "  text_field: body"), at: "text_field", token: "text_field",
      ["'input' needs 'paths'"])
    expectError(
      replacing("  path: out", with: "  compression: none"), at: "compression: none", token: "compression",
      ["'output' needs 'path'"])
    expectError(replacing("[in/a.jsonl]", with: "[]"), at: "paths:", token: "[]", ["'input.paths' is empty"])
  }

  @Test("wrong types and out-of-range values name the key and point at the value")
  func wrongTypes() {
    expectError(
      replacing("seed: 42", with: "seed: abc"), at: "seed:", token: "abc", ["'seed' must be an integer ≥ 0", "'abc'"])
    expectError(replacing("seed: 42", with: "seed: -3"), at: "seed:", token: "-3", ["'seed'", "'-3'"])
    expectError(replacing("seed: 42", with: "seed: 1.5"), at: "seed:", token: "1.5", ["'seed'", "'1.5'"])
    expectError(
      replacing("  path: out", with: "  path: out\n  compression: lz4"), at: "compression:", token: "lz4",
      ["'output.compression' must be one of zstd|gzip|none", "'lz4'"])
    expectError(
      replacing("  path: out", with: "  path: out\n  compression_level: 23"), at: "compression_level", token: "23",
      ["'output.compression_level'", "[-7, 22]", "'23'"])
    expectError(
      replacing("  path: out", with: "  path: out\n  compression: gzip\n  compression_level: 10"),
      at: "compression_level",
      token: "10", ["'output.compression_level'", "[0, 9]", "'10'"])
    expectError(
      replacing("  path: out", with: "  path: out\n  compression_level: high"), at: "compression_level", token: "high",
      ["'output.compression_level'", "'high'"])
    expectError(
      replacing("  path: out", with: "  path: out\n  max_shard_docs: 0"), at: "max_shard_docs", token: "0",
      ["'output.max_shard_docs' must be an integer ≥ 1", "'0'"])
    expectError(
      replacing("  paths: [in/a.jsonl]", with: "  paths: [in/a.jsonl]\n  strict: maybe"), at: "strict:", token: "maybe",
      ["'input.strict' must be true or false", "'maybe'"])
    expectError(
      replacing("name: demo", with: "name: [a, b]"), at: "name:", token: "[", ["'name' must be a single value"])
    expectError(
      replacing("  path: out", with: "  path: {dir: out}"), at: "  path:", token: "{",
      ["'output.path' must be a single value"])
    expectError(
      replacing("  paths: [in/a.jsonl]", with: "  paths: [[a, b]]"), at: "paths:", token: "[a",
      ["'input.paths' must be a single value"])
    expectError(
      replacing("input:\n  paths: [in/a.jsonl]", with: "input: [in/a.jsonl]"), at: "input:", token: "[",
      ["'input' must be a mapping"])
    expectError(
      replacing("stages:\n  - length: {min_words: 2}", with: "stages: {length: {min_words: 2}}"), at: "stages:",
      token: "{", ["'stages' must be a list"])
    expectError("- just\n- a list\n", at: "- just", token: "-", ["the recipe must be a mapping"])
    expectError(
      replacing("seed: 42", with: "seed: 42\nmb_per_task: 0"), at: "mb_per_task:", token: "0",
      ["'mb_per_task' must be an integer in [1, 1073741824]", "'0'"])
    expectError(
      replacing("seed: 42", with: "seed: 42\nmb_per_task: 0.5"), at: "mb_per_task:", token: "0.5", ["'mb_per_task'", "'0.5'"])
  }

  @Test("executor must be inline, local or slurm")
  func executorValues() throws {
    for e in ["inline", "local", "slurm"] {
      let r = try RecipeParser.parse(replacing("seed: 42", with: "seed: 42\nexecutor: \(e)"), source: Self.src)
      #expect(r.executor == e)
    }
    expectError(
      replacing("seed: 42", with: "seed: 42\nexecutor: ray"), at: "executor:", token: "ray",
      ["'executor' must be one of inline|local|slurm", "'ray'"])
  }

  @Test("a stage entry must be a one-key mapping with mapping parameters")
  func stageEntryShape() {
    expectError(
      replacing("  - length: {min_words: 2}", with: "  - length"), at: "  - length", token: "length",
      ["each entry of 'stages' must be one `stage_name: {parameters}` mapping"])
    expectError(
      replacing("  - length: {min_words: 2}", with: "  - {length: {min_words: 2}, sample: {rate: 1}}"), at: "  - {",
      token: "{", ["each entry of 'stages' must be one"])
    expectError(
      replacing("  - length: {min_words: 2}", with: "  - [length]"), at: "  - [", token: "[",
      ["each entry of 'stages' must be one"])
    expectError(
      replacing("{min_words: 2}", with: "5"), at: "- length:", token: "5",
      ["parameters of stage 'length' must be a mapping"])
    expectError(
      replacing("{min_words: 2}", with: "[min_words, 2]"), at: "- length:", token: "[",
      ["parameters of stage 'length' must be a mapping"])
  }

  @Test("duplicate keys are errors at the second occurrence")
  func duplicateKeys() {
    let top = Self.valid + "\nname: again"
    expectError(top, at: "name: again", token: "name", ["key 'name' is given twice in the recipe"])
    expectError(
      replacing("  path: out", with: "  path: out\n  path: elsewhere"), at: "path: elsewhere", token: "path",
      ["key 'path' is given twice in 'output'"])
    expectError(
      replacing("{min_words: 2}", with: "{min_words: 2, max_words: 9, min_words: 3}"), at: "- length:",
      token: "min_words: 3",
      ["parameter 'min_words' of stage 'length' is given twice"])
  }

  @Test("invalid YAML syntax names the file, line and column like every other error")
  func invalidSyntax() {
    // A key indented by one space under a block mapping: libyaml stops at that key.
    let badIndent = replacing("  path: out", with: "  path: out\n bad: indent")
    let m1 = parseError(badIndent)
    let at1 = position(in: badIndent, source: Self.src, line: " bad: indent", token: "bad")
    #expect(m1.hasPrefix(at1 + ": not valid YAML: "), "\(m1)")
    #expect(!m1.hasSuffix("\n"), "\(m1)")
    // A tab cannot start a token.
    let tab = replacing("  path: out", with: "\tpath: out")
    let m2 = parseError(tab)
    #expect(
      m2.hasPrefix(position(in: tab, source: Self.src, line: "\tpath", token: "\t") + ": not valid YAML: "), "\(m2)")
    // An unclosed flow sequence is found later; the message still leads with file:line:column.
    let unclosed = replacing("paths: [in/a.jsonl]", with: "paths: [in/a.jsonl")
    let m3 = parseError(unclosed)
    #expect(m3.range(of: #"^r\.yaml:[0-9]+:[0-9]+: not valid YAML: "#, options: .regularExpression) != nil, "\(m3)")
    #expect(parseError("").contains("empty"))
    #expect(parseError("# only a comment\n").contains("empty"))
  }

  @Test("Plan.make builds the stages in order, accepts kebab-case and expands the inputs")
  func planValid() throws {
    let dir = try TempDir()
    try dir.writeLines("in/b.jsonl", [Array(#"{"text":"x"}"#.utf8)])
    try dir.writeLines("in/a.jsonl", [Array(#"{"text":"y"}"#.utf8)])
    try dir.writeLines("in/c.txt", [])
    let yaml = """
      name: plan
      input: {paths: ["\(dir.path)/in/*.jsonl"]}
      output: {path: "\(dir.path)/out"}
      stages:
        - length: {min_words: 1}
        - exact-dedup: {normalize: true}
        - sample: {rate: 1}
        - field: {key: lang, exists: false}
      """
    let plan = try Plan.make(try RecipeParser.parse(yaml, source: Self.src))
    // exact_dedup must see every document: it runs as map (per file), reduce (per bucket) and
    // apply (per file) passes. The stage before it runs once, in the first pass, which also
    // writes the documents reaching exact_dedup; the stages after it run in the apply pass.
    #expect(plan.passes.map(\.kind) == [.documents, .reduce, .apply])
    #expect(plan.stages.map(\.name) == ["length", "sample", "field"])
    #expect(plan.globals.count == 1)
    let global = try #require(plan.globals.first)
    #expect(global.name == "exact_dedup")
    #expect(global.position == 1)
    #expect(plan.passes[0].tasks == [[0], [1]])
    #expect(plan.passes[1].tasks == Array(repeating: [], count: 16))
    #expect(global.stage.passes == [.documents, .middle(.fixed(16)), .documents])
    #expect(plan.passes[2].tasks == [[0], [1]])
    #expect(plan.inputs.map(\.path) == ["\(dir.path)/in/a.jsonl", "\(dir.path)/in/b.jsonl"])
  }

  @Test("unknown stage names are reported at the entry, with a suggestion")
  func unknownStage() throws {
    let yaml = replacing("- length:", with: "- lenght:")
    let recipe = try RecipeParser.parse(yaml, source: Self.src)
    let e = try #require(winnowError { _ = try Plan.make(recipe) })
    let at = position(in: yaml, source: Self.src, line: "- lenght", token: "lenght")
    #expect(e.kind == .usage)
    #expect(e.message.hasPrefix(at + ":"), "\(e.message)")
    #expect(e.message.contains("unknown stage 'lenght'") && e.message.contains("did you mean 'length'"))
    let far = try RecipeParser.parse(replacing("- length:", with: "- spellcheck_xyz:"), source: Self.src)
    let e2 = try #require(winnowError { _ = try Plan.make(far) })
    #expect(e2.message.contains("unknown stage 'spellcheck_xyz'") && !e2.message.contains("did you mean"))
  }

  @Test("bad stage parameters are reported at the value; stage-level errors at the entry")
  func badStageParameters() throws {
    func planError(_ yaml: String) throws -> String {
      let recipe = try RecipeParser.parse(yaml, source: Self.src)
      let e = try #require(winnowError { _ = try Plan.make(recipe) })
      #expect(e.kind == .usage)
      return e.message
    }
    let wrongType = replacing("{min_words: 2}", with: "{min_words: many}")
    let m1 = try planError(wrongType)
    #expect(m1.hasPrefix(position(in: wrongType, source: Self.src, line: "- length", token: "many") + ":"), "\(m1)")
    #expect(m1.contains("'min_words'") && m1.contains("'length'") && m1.contains("integer") && m1.contains("'many'"))

    let range = replacing("- length: {min_words: 2}", with: "- sample:\n      rate: 1.5")
    let m2 = try planError(range)
    #expect(m2.hasPrefix(position(in: range, source: Self.src, line: "rate: 1.5", token: "1.5") + ":"), "\(m2)")
    #expect(m2.contains("'rate'") && m2.contains("[0.0, 1.0]"))

    let quotedNumber = replacing("{min_words: 2}", with: "{min_words: \"2\"}")
    let m3 = try planError(quotedNumber)
    #expect(m3.hasPrefix(position(in: quotedNumber, source: Self.src, line: "- length", token: "\"2\"") + ":"), "\(m3)")

    let unknown = replacing("{min_words: 2}", with: "{min_word: 2}")
    let m4 = try planError(unknown)
    #expect(m4.hasPrefix("\(Self.src):8:"), "\(m4)")
    #expect(m4.contains("no parameter 'min_word'") && m4.contains("did you mean 'min_words'"))

    let missing = replacing("- length: {min_words: 2}", with: "- sample: {}")
    let m5 = try planError(missing)
    #expect(m5.hasPrefix(position(in: missing, source: Self.src, line: "- sample", token: "sample") + ":"), "\(m5)")
    #expect(m5.contains("needs parameter 'rate'"))

    let minMax = replacing("{min_words: 2}", with: "{min_words: 9, max_words: 2}")
    let m6 = try planError(minMax)
    #expect(m6.hasPrefix(position(in: minMax, source: Self.src, line: "- length", token: "length") + ":"), "\(m6)")
    #expect(m6.contains("min_words (9) is greater than max_words (2)"))

    let mapping = replacing("{min_words: 2}", with: "{min_words: {at_least: 2}}")
    let m7 = try planError(mapping)
    #expect(m7.contains("'min_words'") && m7.contains("a mapping"), "\(m7)")

    let badChoice = replacing("- length: {min_words: 2}", with: "- exact_dedup: {missing: sometimes}")
    let m8 = try planError(badChoice)
    #expect(m8.hasPrefix(position(in: badChoice, source: Self.src, line: "- exact_dedup", token: "sometimes") + ":"))
    #expect(m8.contains("one of keep|drop"))
  }

  @Test("the recipe seed reaches stages that have no seed of their own")
  func recipeSeedReachesSample() throws {
    let dir = try TempDir()
    let input = try dir.writeLines("in.jsonl", [Array(#"{"text":"x"}"#.utf8)])
    func sampleStage(seed: Int, parameters: String) throws -> DocumentStage {
      let yaml = """
        name: s
        seed: \(seed)
        input: {paths: [\(input)]}
        output: {path: \(dir.path)/out}
        stages:
          - sample: \(parameters)
        """
      return try Plan.make(try RecipeParser.parse(yaml, source: Self.src)).stages[0].stage
    }
    func decisions(_ stage: DocumentStage) throws -> [Bool] {
      try (0..<300).map { k in
        try stage.process(try Document(json: "{\"id\":\"doc-\(k)\",\"text\":\"t\"}")) == .keep
      }
    }
    let fromRecipe = try decisions(try sampleStage(seed: 42, parameters: "{rate: 0.5}"))
    let reference = try decisions(
      try SampleFilter.descriptor.build(
        ["rate": .scalar("0.5", at: "x"), "seed": .scalar("42", at: "x")], context: StageContext()))
    #expect(fromRecipe == reference)
    let otherSeed = try decisions(try sampleStage(seed: 43, parameters: "{rate: 0.5}"))
    #expect(otherSeed != fromRecipe)
    // An explicit stage seed wins over the recipe's.
    let explicit = try decisions(try sampleStage(seed: 7, parameters: "{rate: 0.5, seed: 42}"))
    #expect(explicit == fromRecipe)
  }
}
