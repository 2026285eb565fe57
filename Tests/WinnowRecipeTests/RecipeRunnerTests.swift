import Foundation
import Testing
import WinnowCore

@testable import WinnowRecipe

@Suite("running recipes end to end")
struct RecipeRunnerTests {
  /// Two input files with kept, dropped, bad and blank lines. What happens to each line is
  /// worked out by hand from the recipe in `recipe(...)`:
  ///   length {min_words: 3} → field {key: lang, in: [en, de]} → exact_dedup {}.
  static func writeInputs(_ dir: TempDir) throws {
    try dir.writeLines(
      "in/a.jsonl",
      [
        docLine([("id", #""a1""#), ("text", #""the quick brown fox""#), ("lang", #""en""#)]),  // kept
        docLine([("id", #""a2""#), ("text", #""too short""#), ("lang", #""en""#)]),  // length: too_few_words
        Array(#"{"id":"a-bad","text":"unterminated"#.utf8),  // quarantined (line 3)
        docLine([("id", #""a3""#), ("text", #""un deux trois quatre""#), ("lang", #""fr""#)]),  // field: not_in_set
        [],  // blank: skipped
      ])
    try dir.writeLines(
      "in/b.jsonl",
      [
        docLine([("id", #""b1""#), ("text", #""the quick brown fox""#), ("lang", #""de""#)]),  // dedup: duplicate
        Array(#"{"id":"b-bad","text":"caf"#.utf8) + [0xE9] + Array(#""}"#.utf8),  // invalid UTF-8 (line 2)
        docLine([("id", #""b2""#), ("text", #""ein zwei drei vier""#), ("lang", #""de""#)]),  // kept
      ])
  }

  static func recipe(_ dir: TempDir, output: String = "out", extraOutput: String = "", extraInput: String = "")
    -> String
  {
    """
    name: e2e
    seed: 5
    input:
      paths: ["\(dir.path)/in"]\(extraInput)
    output:
      path: \(dir.path)/\(output)
      compression: none
      rejects: \(dir.path)/rejects.jsonl
      quarantine: \(dir.path)/quarantine\(extraOutput)
    stages:
      - length: {min_words: 3}
      - field: {key: lang, in: [en, de]}
      - exact_dedup: {}
    """
  }

  func ids(_ objects: [[String: Any]]) -> [String] { objects.map { $0["id"] as? String ?? "?" } }

  @Test("outputs, rejects, quarantine and stats.json of a run")
  func endToEnd() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let recipe = try RecipeParser.parse(Self.recipe(dir), source: "e2e.yaml")
    let result = try RecipeRunner.run(recipe)

    #expect(result.outputDirectory == dir.path + "/out")
    #expect(result.statsPath == dir.path + "/out/stats.json")
    #expect(dir.list("out") == ["part-00000.jsonl", "stats.json"])
    let kept = jsonLines(dir.path + "/out/part-00000.jsonl")
    #expect(ids(kept) == ["a1", "b2"])
    // Kept documents are written byte for byte.
    let inputA = splitLines(readBytes(dir.path + "/in/a.jsonl"))
    #expect(splitLines(readBytes(dir.path + "/out/part-00000.jsonl")).first == inputA[0])

    let rejects = jsonLines(dir.path + "/rejects.jsonl")
    #expect(ids(rejects) == ["a2", "a3", "b1"])
    #expect(rejects.map { $0["rejected_by"] as? String } == ["length", "field", "exact_dedup"])
    #expect(rejects.map { $0["reject_reason"] as? String } == ["too_few_words", "not_in_set", "duplicate"])

    #expect(dir.list("quarantine") == ["part-00000.jsonl"])
    let quarantine = jsonLines(dir.path + "/quarantine/part-00000.jsonl")
    #expect(quarantine.map { $0["file"] as? String } == [dir.path + "/in/a.jsonl", dir.path + "/in/b.jsonl"])
    #expect(quarantine.map { $0["line"] as? Int } == [3, 2])
    #expect(quarantine.map { $0["reason"] as? String } == ["invalid_json", "invalid_utf8"])

    // stats.json, read with Foundation.
    let data = try #require(FileManager.default.contents(atPath: result.statsPath))
    let stats = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let read = try #require(stats["documents_read"] as? Int)
    let written = try #require(stats["documents_written"] as? Int)
    let dropped = try #require(stats["documents_dropped"] as? Int)
    let quarantined = try #require(stats["documents_quarantined"] as? Int)
    #expect(read == written + dropped + quarantined)
    #expect((read, written, dropped, quarantined) == (7, 2, 3, 2))
    #expect(stats["balanced"] as? Bool == true)
    #expect(stats["blank_lines_skipped"] as? Int == 1)
    #expect(stats["recipe"] as? String == "e2e")
    #expect(stats["executor"] as? String == "inline")
    #expect(stats["seed"] as? Int == 5)
    #expect(stats["quarantined_by_reason"] as? [String: Int] == ["invalid_json": 1, "invalid_utf8": 1])
    #expect(stats["input_files"] as? [String] == [dir.path + "/in/a.jsonl", dir.path + "/in/b.jsonl"])
    #expect(stats["output_files"] as? [String] == [dir.path + "/out/part-00000.jsonl"])
    let stages = try #require(stats["stages"] as? [[String: Any]])
    #expect(stages.map { $0["stage"] as? String } == ["length", "field", "exact_dedup"])
    #expect(stages.map { $0["documents_in"] as? Int } == [5, 4, 3])
    #expect(stages.map { $0["kept"] as? Int } == [4, 3, 2])
    #expect(
      stages.map { $0["dropped_by_reason"] as? [String: Int] } == [
        ["too_few_words": 1], ["not_in_set": 1], ["duplicate": 1],
      ])
    // The stats the call returns are the ones in the file.
    #expect(result.stats.documentsRead == read && result.stats.documentsWritten == written)
    #expect(result.stats.isBalanced)
  }

  @Test("running twice replaces the outputs instead of adding to them")
  func runTwiceReplaces() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    // First run: one document per shard, so there are two shards.
    let sharded = try RecipeParser.parse(Self.recipe(dir, extraOutput: "\n  max_shard_docs: 1"), source: "r.yaml")
    _ = try RecipeRunner.run(sharded)
    #expect(dir.list("out") == ["part-00000.jsonl", "part-00001.jsonl", "stats.json"])
    #expect(jsonLines(dir.path + "/rejects.jsonl").count == 3)

    // Second run, unsharded, over fewer inputs: the old shards go, the side outputs are rewritten.
    try FileManager.default.removeItem(atPath: dir.path + "/in/b.jsonl")
    let plain = try RecipeParser.parse(Self.recipe(dir), source: "r.yaml")
    let result = try RecipeRunner.run(plain)
    #expect(dir.list("out") == ["part-00000.jsonl", "stats.json"])
    #expect(ids(jsonLines(dir.path + "/out/part-00000.jsonl")) == ["a1"])
    #expect(ids(jsonLines(dir.path + "/rejects.jsonl")) == ["a2", "a3"])
    #expect(jsonLines(dir.path + "/quarantine/part-00000.jsonl").count == 1)
    #expect(dir.list("quarantine") == ["part-00000.jsonl"])
    let statsData = try #require(FileManager.default.contents(atPath: result.statsPath))
    let stats = try #require(try JSONSerialization.jsonObject(with: statsData) as? [String: Any])
    #expect(stats["documents_read"] as? Int == 4)
    #expect(stats["documents_written"] as? Int == 1)

    // Third run of the same recipe: same bytes again.
    let before = readBytes(dir.path + "/out/part-00000.jsonl")
    _ = try RecipeRunner.run(plain)
    #expect(readBytes(dir.path + "/out/part-00000.jsonl") == before)
    #expect(dir.list("out") == ["part-00000.jsonl", "stats.json"])
    // No temporary files are left behind.
    #expect(!dir.list("out").contains { $0.hasPrefix(".") })
    #expect(!dir.list().contains { $0.hasPrefix(".") })
  }

  @Test("the default output is zstd-compressed and reads back to the same documents")
  func zstdOutput() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let yaml = Self.recipe(dir).replacingOccurrences(of: "  compression: none\n", with: "")
    _ = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"))
    #expect(dir.list("out") == ["part-00000.jsonl.zst", "stats.json"])
    let lines = try decodedLines(dir.path + "/out/part-00000.jsonl.zst")
    #expect(ids(lines.map(parseObject)) == ["a1", "b2"])
    #expect(readBytes(dir.path + "/out/part-00000.jsonl.zst").prefix(4) == [0x28, 0xB5, 0x2F, 0xFD])
    // A quarantine directory follows the output's compression.
    #expect(dir.list("quarantine") == ["part-00000.jsonl.zst"])
    #expect(try decodedLines(dir.path + "/quarantine/part-00000.jsonl.zst").count == 2)
  }

  @Test("text_field and id_field from the recipe are used by the stages")
  func customFields() throws {
    let dir = try TempDir()
    try dir.writeLines(
      "in/a.jsonl",
      [
        docLine([("doc_id", #""x1""#), ("body", #""one two three""#), ("text", #""a""#)]),
        docLine([("doc_id", #""x2""#), ("body", #""one""#), ("text", #""a b c d e""#)]),
        docLine([("doc_id", #""x3""#), ("text", #""no body field here""#)]),  // quarantined: no text field
      ])
    let yaml = """
      name: fields
      input:
        paths: [\(dir.path)/in/a.jsonl]
        text_field: body
        id_field: doc_id
      output: {path: \(dir.path)/out, compression: none, rejects: \(dir.path)/rej.jsonl}
      stages:
        - length: {min_words: 3}
      """
    let result = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"))
    let kept = jsonLines(dir.path + "/out/part-00000.jsonl")
    #expect(kept.map { $0["doc_id"] as? String } == ["x1"])
    #expect(jsonLines(dir.path + "/rej.jsonl").map { $0["doc_id"] as? String } == ["x2"])
    #expect(result.stats.quarantinedByReason == ["missing_text_field": 1])
    #expect(result.stats.isBalanced)
  }

  @Test("empty input gives one empty shard and zero counts")
  func emptyInput() throws {
    let dir = try TempDir()
    try dir.write("in/empty.jsonl", [])
    let result = try RecipeRunner.run(try RecipeParser.parse(Self.recipe(dir), source: "r.yaml"))
    #expect(dir.list("out") == ["part-00000.jsonl", "stats.json"])
    #expect(readBytes(dir.path + "/out/part-00000.jsonl").isEmpty)
    #expect(result.stats.documentsRead == 0 && result.stats.isBalanced)
    #expect(jsonLines(dir.path + "/rejects.jsonl").isEmpty)
  }

  @Test("strict: a bad line stops the run with its file and line")
  func strict() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let recipe = try RecipeParser.parse(Self.recipe(dir, extraInput: "\n  strict: true"), source: "r.yaml")
    let e = try #require(winnowError { _ = try RecipeRunner.run(recipe) })
    #expect(e.kind == .badInput)
    #expect(e.message.contains("\(dir.path)/in/a.jsonl:3"), "\(e.message)")
    #expect(e.message.contains("invalid_json"))
    // No partial shard is left in place.
    #expect(!dir.list("out").contains { $0.hasPrefix("part-") })
    // The caller can turn strictness off.
    let relaxed = try RecipeRunner.run(recipe, strict: false)
    #expect(relaxed.stats.quarantined == 2)
  }

  @Test("executor local and slurm parse but do not run; the error says what to use")
  func executorsRefused() throws {
    for name in ["local", "slurm"] {
      let dir = try TempDir()
      try Self.writeInputs(dir)
      let yaml = Self.recipe(dir).replacingOccurrences(of: "seed: 5", with: "seed: 5\nexecutor: \(name)")
      let recipe = try RecipeParser.parse(yaml, source: "r.yaml")
      #expect(recipe.executor == name)
      let e = try #require(winnowError { _ = try RecipeRunner.run(recipe) })
      #expect(e.kind == .usage)
      #expect(e.message.contains("executor '\(name)' is not available"), "\(e.message)")
      #expect(e.message.contains("'inline'"))
      // Nothing was written.
      #expect(dir.list("out").isEmpty)
      // Overriding the executor runs it inline.
      let result = try RecipeRunner.run(recipe, executor: "inline")
      #expect(result.stats.documentsWritten == 2)
    }
  }

  @Test("output.path must be a directory")
  func outputMustBeDirectory() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let recipe = try RecipeParser.parse(Self.recipe(dir, output: "out.jsonl"), source: "r.yaml")
    expectUsageError(["'output.path' must be a directory", "out.jsonl"]) { _ = try RecipeRunner.run(recipe) }
  }

  @Test("a missing input is a usage error naming the path")
  func missingInput() throws {
    let dir = try TempDir()
    let recipe = try RecipeParser.parse(Self.recipe(dir), source: "r.yaml")
    expectUsageError(["\(dir.path)/in", "no such file or directory"]) { _ = try RecipeRunner.run(recipe) }
  }

  @Test("a run's output directory can be the next recipe's input (stats.json is not a document)")
  func chainedRecipes() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let first = try RecipeRunner.run(try RecipeParser.parse(Self.recipe(dir), source: "r.yaml"))
    let yaml = """
      name: second
      input: {paths: ["\(dir.path)/out"]}
      output: {path: "\(dir.path)/out2", compression: none}
      stages: []
      """
    let second = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "second.yaml"))
    #expect(ids(jsonLines(dir.path + "/out2/part-00000.jsonl")) == ["a1", "b2"])
    // A directory walk skips the stats.json a run writes beside its shards.
    #expect(second.stats.inputFiles == [dir.path + "/out/part-00000.jsonl"])
    #expect(second.stats.documentsRead == first.stats.documentsWritten)
    #expect(second.stats.quarantined == 0)
  }
}
