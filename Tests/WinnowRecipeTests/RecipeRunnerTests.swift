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

  /// The documents of every `part-*` shard of `sub`, shards in sorted (task, then rotation) order.
  func shardLines(_ dir: TempDir, _ sub: String) throws -> [[UInt8]] {
    try dir.list(sub).filter { $0.hasPrefix("part-") }.flatMap { try decodedLines(dir.path + "/" + sub + "/" + $0) }
  }

  /// Tasks of all passes of the recipe's plan (exact_dedup adds map, reduce and apply passes).
  func taskCount(_ recipe: Recipe) throws -> Int { try Plan.make(recipe).passes.reduce(0) { $0 + $1.tasks.count } }

  @Test("outputs, rejects, quarantine and stats.json of a run")
  func endToEnd() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let recipe = try RecipeParser.parse(Self.recipe(dir), source: "e2e.yaml")
    let result = try RecipeRunner.run(recipe)

    #expect(result.outputDirectory == dir.path + "/out")
    #expect(result.statsPath == dir.path + "/out/stats.json")
    // One task per input file; each writes shards named after it (task, then shard number).
    // exact_dedup still sees every document (map, reduce and apply passes): b1 repeats a1's
    // text in the other file and is dropped. The run's state lives in .winnow.
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl", "part-00001-00000.jsonl", "stats.json"])
    #expect(ids(jsonLines(dir.path + "/out/part-00000-00000.jsonl")) == ["a1"])
    #expect(ids(jsonLines(dir.path + "/out/part-00001-00000.jsonl")) == ["b2"])
    // Kept documents are written byte for byte.
    let inputA = splitLines(readBytes(dir.path + "/in/a.jsonl"))
    let inputB = splitLines(readBytes(dir.path + "/in/b.jsonl"))
    #expect(splitLines(readBytes(dir.path + "/out/part-00000-00000.jsonl")) == [inputA[0]])
    #expect(splitLines(readBytes(dir.path + "/out/part-00001-00000.jsonl")) == [inputB[2]])
    let tasks = try taskCount(recipe)
    #expect(tasks > 2)
    #expect(result.tasksRun == tasks && result.tasksSkipped == 0)
    #expect(result.executor == "inline")

    let rejects = jsonLines(dir.path + "/rejects.jsonl")
    #expect(ids(rejects) == ["a2", "a3", "b1"])
    #expect(rejects.map { $0["rejected_by"] as? String } == ["length", "field", "exact_dedup"])
    #expect(rejects.map { $0["reject_reason"] as? String } == ["too_few_words", "not_in_set", "duplicate"])

    // A side output given as a directory gets the tasks' shards directly.
    #expect(dir.list("quarantine") == ["part-00000-00000.jsonl", "part-00001-00000.jsonl"])
    let quarantine = try shardLines(dir, "quarantine").map(parseObject)
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
    #expect(
      stats["output_files"] as? [String] == [dir.path + "/out/part-00000-00000.jsonl", dir.path + "/out/part-00001-00000.jsonl"])
    #expect(stats["tasks"] as? Int == tasks)
    #expect(stats["tasks_skipped_as_done"] as? Int == 0)
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

  @Test("running the same recipe twice resumes; a changed recipe is refused unless fresh, which replaces the outputs")
  func runTwiceResumesOrReplaces() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    // First run: both files in one task, one document per shard, so the task writes two shards.
    let shardedYAML = Self.recipe(dir, extraOutput: "\n  max_shard_docs: 1")
      .replacingOccurrences(of: "seed: 5", with: "seed: 5\nfiles_per_task: 2")
    let sharded = try RecipeParser.parse(shardedYAML, source: "r.yaml")
    let first = try RecipeRunner.run(sharded)
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl", "part-00000-00001.jsonl", "stats.json"])
    #expect(try shardLines(dir, "out").map(parseObject).map { $0["id"] as? String } == ["a1", "b2"])
    #expect(jsonLines(dir.path + "/rejects.jsonl").count == 3)
    let tasks = try taskCount(sharded)
    #expect(first.tasksRun == tasks && first.tasksSkipped == 0)
    let before = snapshot(dir)

    // Second run of the same recipe: nothing to do, same bytes everywhere, same counts.
    let second = try RecipeRunner.run(sharded)
    #expect(second.tasksRun == 0)
    #expect(second.tasksSkipped == tasks)
    #expect(snapshot(dir) == before)
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl", "part-00000-00001.jsonl", "stats.json"])
    let stats2 = try statsObject(second.statsPath)
    #expect(stats2["tasks_skipped_as_done"] as? Int == tasks)
    #expect(comparableStats(stats2) == comparableStats(try statsObject(first.statsPath)))
    #expect(second.stats.documentsRead == first.stats.documentsRead)
    #expect(second.stats.documentsWritten == first.stats.documentsWritten)
    #expect(second.stats.outputFiles == first.stats.outputFiles)

    // A changed recipe (unsharded) in the same output directory is refused; nothing changes.
    let plain = try RecipeParser.parse(Self.recipe(dir), source: "r.yaml")
    expectUsageError(["\(dir.path)/out", "--fresh"]) { _ = try RecipeRunner.run(plain) }
    #expect(snapshot(dir) == before)
    // So are the same recipe over different inputs.
    try FileManager.default.removeItem(atPath: dir.path + "/in/b.jsonl")
    expectUsageError(["\(dir.path)/out", "--fresh"]) { _ = try RecipeRunner.run(sharded) }
    expectUsageError(["\(dir.path)/out", "--fresh"]) { _ = try RecipeRunner.run(plain) }

    // --fresh: the old shards go, the side outputs are rewritten.
    var fresh = RecipeRunner.Options()
    fresh.fresh = true
    let result = try RecipeRunner.run(plain, options: fresh)
    let plainTasks = try taskCount(plain)
    #expect(result.tasksRun == plainTasks && result.tasksSkipped == 0)
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl", "stats.json"])
    // Only this run's task records are left.
    #expect(dir.list("out/.winnow/tasks").count == plainTasks)
    #expect(ids(jsonLines(dir.path + "/out/part-00000-00000.jsonl")) == ["a1"])
    #expect(ids(jsonLines(dir.path + "/rejects.jsonl")) == ["a2", "a3"])
    #expect(jsonLines(dir.path + "/quarantine/part-00000-00000.jsonl").count == 1)
    #expect(dir.list("quarantine") == ["part-00000-00000.jsonl"])
    let stats = try statsObject(result.statsPath)
    #expect(stats["documents_read"] as? Int == 4)
    #expect(stats["documents_written"] as? Int == 1)
    #expect(stats["tasks_skipped_as_done"] as? Int == 0)

    // Third run of the same recipe: resumes, same bytes again.
    let after = snapshot(dir)
    let third = try RecipeRunner.run(plain)
    #expect(third.tasksRun == 0 && third.tasksSkipped == plainTasks)
    #expect(snapshot(dir) == after)
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl", "stats.json"])
    // No temporary files are left behind.
    #expect(!dir.list("out").contains { $0.hasPrefix(".") && $0 != ".winnow" })
    #expect(!dir.list("quarantine").contains { $0.hasPrefix(".") })
    #expect(!dir.list().contains { $0.hasPrefix(".") })
  }

  @Test("a directory with shards no run wrote is refused, with --fresh too, and left as it was")
  func foreignShardsRefused() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    try dir.write("out/part-00000.jsonl", Array("{\"text\":\"left over\"}\n".utf8))
    let recipe = try RecipeParser.parse(Self.recipe(dir), source: "r.yaml")
    expectUsageError(["\(dir.path)/out/part-00000.jsonl", "never deletes"]) { _ = try RecipeRunner.run(recipe) }
    #expect(dir.list("out") == ["part-00000.jsonl"])
    var fresh = RecipeRunner.Options()
    fresh.fresh = true
    expectUsageError(["\(dir.path)/out/part-00000.jsonl", "even with --fresh"]) { _ = try RecipeRunner.run(recipe, options: fresh) }
    #expect(dir.list("out") == ["part-00000.jsonl"])
    #expect(String(decoding: readBytes(dir.path + "/out/part-00000.jsonl"), as: UTF8.self) == "{\"text\":\"left over\"}\n")
    // Moved away by its owner, the run goes ahead.
    try FileManager.default.removeItem(atPath: dir.path + "/out/part-00000.jsonl")
    _ = try RecipeRunner.run(recipe, options: fresh)
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl", "part-00001-00000.jsonl", "stats.json"])
  }

  @Test("the default output is zstd-compressed and reads back to the same documents")
  func zstdOutput() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let yaml = Self.recipe(dir).replacingOccurrences(of: "  compression: none\n", with: "")
    _ = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"))
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl.zst", "part-00001-00000.jsonl.zst", "stats.json"])
    let lines = try shardLines(dir, "out")
    #expect(ids(lines.map(parseObject)) == ["a1", "b2"])
    for shard in ["part-00000-00000.jsonl.zst", "part-00001-00000.jsonl.zst"] {
      #expect(readBytes(dir.path + "/out/" + shard).prefix(4) == [0x28, 0xB5, 0x2F, 0xFD], "\(shard)")
    }
    // A quarantine directory follows the output's compression.
    #expect(dir.list("quarantine") == ["part-00000-00000.jsonl.zst", "part-00001-00000.jsonl.zst"])
    #expect(try shardLines(dir, "quarantine").count == 2)
    // A rejects file keeps the compression its name says (none here).
    #expect(ids(jsonLines(dir.path + "/rejects.jsonl")) == ["a2", "a3", "b1"])
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
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl", "stats.json"])
    let kept = jsonLines(dir.path + "/out/part-00000-00000.jsonl")
    #expect(kept.map { $0["doc_id"] as? String } == ["x1"])
    #expect(jsonLines(dir.path + "/rej.jsonl").map { $0["doc_id"] as? String } == ["x2"])
    #expect(result.stats.quarantinedByReason == ["missing_text_field": 1])
    #expect(result.stats.isBalanced)
  }

  @Test("empty input gives one empty shard and zero counts")
  func emptyInput() throws {
    let dir = try TempDir()
    try dir.write("in/empty.jsonl", [])
    let recipe = try RecipeParser.parse(Self.recipe(dir), source: "r.yaml")
    let result = try RecipeRunner.run(recipe)
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl", "stats.json"])
    #expect(readBytes(dir.path + "/out/part-00000-00000.jsonl").isEmpty)
    #expect(result.tasksRun == (try taskCount(recipe)))
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
    // The error names each failed task (both files have a bad line) and its input file.
    #expect(e.message.contains("p0-t00000 (\(dir.path)/in/a.jsonl)"), "\(e.message)")
    #expect(e.message.contains("p0-t00001 (\(dir.path)/in/b.jsonl)"), "\(e.message)")
    #expect(e.message.contains("\(dir.path)/in/b.jsonl:2"), "\(e.message)")
    // No partial shard (or temporary file) is left in place, no task record, no joined side output.
    #expect(!dir.list("out").contains { $0.hasPrefix("part-") || $0.hasPrefix(".part-") })
    #expect(!dir.list("quarantine").contains { $0.hasPrefix("part-") || $0.hasPrefix(".part-") })
    #expect(dir.list("out/.winnow/tasks").isEmpty)
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/rejects.jsonl"))
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/stats.json"))
    // The caller can turn strictness off; the same output directory resumes (strictness is
    // not part of what the plan computes), and the failed task runs again.
    var relaxedOptions = RecipeRunner.Options()
    relaxedOptions.strict = false
    let relaxed = try RecipeRunner.run(recipe, options: relaxedOptions)
    #expect(relaxed.stats.quarantined == 2)
    #expect(relaxed.tasksRun == (try taskCount(recipe)) && relaxed.tasksSkipped == 0)
    #expect(ids(try shardLines(dir, "out").map(parseObject)) == ["a1", "b2"])
  }

  @Test("executor slurm without a winnow binary is refused before anything is written; local runs")
  func executors() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let yaml = Self.recipe(dir).replacingOccurrences(of: "seed: 5", with: "seed: 5\nexecutor: slurm")
    let recipe = try RecipeParser.parse(yaml, source: "r.yaml")
    #expect(recipe.executor == "slurm")
    for name in ["slurm", "local"] {
      // No binary to start as a worker (this test process is not `winnow`).
      var options = RecipeRunner.Options()
      options.executor = name
      options.workerBinary = dir.path + "/no-such-winnow"
      let e = try #require(winnowError { _ = try RecipeRunner.run(recipe, options: options) })
      #expect(e.kind == .usage)
      #expect(e.message.contains(name), "\(e.message)")
      #expect(e.message.contains("WINNOW_BIN"), "\(e.message)")
      // Nothing was written.
      #expect(dir.list("out").isEmpty)
    }
    // An unknown executor named in code (the parser rejects it in YAML) says what to use.
    var unknown = RecipeRunner.Options()
    unknown.executor = "kubernetes"
    expectUsageError(["kubernetes", "inline", "local"]) { _ = try RecipeRunner.run(recipe, options: unknown) }
    #expect(dir.list("out").isEmpty)

    // Overriding the executor runs it inline.
    var inlineOptions = RecipeRunner.Options()
    inlineOptions.executor = "inline"
    let result = try RecipeRunner.run(recipe, options: inlineOptions)
    #expect(result.stats.documentsWritten == 2)
    #expect(result.executor == "inline")
  }

  @Test(
    "executor local runs worker processes and writes what inline writes",
    .enabled(if: WinnowBinary.available, WinnowBinary.missingMessage))
  func localRuns() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let yaml = Self.recipe(dir).replacingOccurrences(of: "seed: 5", with: "seed: 5\nexecutor: local\nworkers: 2")
    let recipe = try RecipeParser.parse(yaml, source: "r.yaml")
    var options = RecipeRunner.Options()
    options.workerBinary = WinnowBinary.path
    let result = try RecipeRunner.run(recipe, options: options)
    #expect(result.executor == "local")
    let tasks = try taskCount(recipe)
    #expect(result.tasksRun == tasks)
    #expect(result.stats.documentsWritten == 2 && result.stats.isBalanced)
    #expect(dir.list("out") == [".winnow", "part-00000-00000.jsonl", "part-00001-00000.jsonl", "stats.json"])
    #expect(ids(try shardLines(dir, "out").map(parseObject)) == ["a1", "b2"])
    #expect(ids(jsonLines(dir.path + "/rejects.jsonl")) == ["a2", "a3", "b1"])
    let stats = try statsObject(result.statsPath)
    #expect(stats["executor"] as? String == "local")
    #expect(stats["workers"] as? Int == 2)
    // Every worker's log is kept, one per task.
    #expect(dir.list("out/.winnow/logs").count == tasks)
    #expect(dir.list("out/.winnow/logs").contains("p0-t00000.log"))
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
    #expect(dir.list("out2") == [".winnow", "part-00000-00000.jsonl", "part-00001-00000.jsonl", "stats.json"])
    #expect(ids(try shardLines(dir, "out2").map(parseObject)) == ["a1", "b2"])
    // A directory walk skips the stats.json a run writes beside its shards, and its run state.
    #expect(
      second.stats.inputFiles == [dir.path + "/out/part-00000-00000.jsonl", dir.path + "/out/part-00001-00000.jsonl"])
    #expect(second.stats.documentsRead == first.stats.documentsWritten)
    #expect(second.stats.quarantined == 0)
  }
}
