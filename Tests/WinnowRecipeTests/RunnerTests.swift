import Foundation
import Testing
import WinnowCore

@testable import WinnowRecipe

/// A corpus of several JSONL files whose fate under the `field {key: lang, in: [en, de]}`
/// stage is known: each document records its language, and what the other stages (length,
/// sample) do is checked against the inline executor instead of by hand.
struct Corpus {
  struct Doc {
    var file: Int
    var line: Int
    var id: String?
    var lang: String
    var bytes: [UInt8]
    var keptByField: Bool { lang == "en" || lang == "de" }
  }

  var paths: [String] = []
  var docs: [[Doc]] = []
  /// Per file: 1-based line numbers of lines that are not valid documents.
  var badLines: [[Int]] = []

  static let words = ["alpha", "beta", "Grüße", "naïve", "日本語", "lorem", "ipsum", "😀", "x", "dolor", "sit"]
  static let langs = ["en", "de", "fr", "en", "es", "de", "it"]

  /// `files` files of `docs` documents under `dir/in`. With `bad`, every 13th line is a line
  /// that must be quarantined (invalid JSON, invalid UTF-8 or no text field, in turn), and
  /// every 11th is followed by a blank line.
  static func write(_ dir: TempDir, files: Int, docs: Int, bad: Bool = true, sub: String = "in") throws -> Corpus {
    var c = Corpus()
    for f in 0..<files {
      var lines: [[UInt8]] = []
      var fileDocs: [Doc] = []
      var badHere: [Int] = []
      for i in 0..<docs {
        if bad && i % 13 == 5 {
          switch (i / 13 + f) % 3 {
          case 0: lines.append(Array(#"{"id":"broken-\#(f)-\#(i)","text":"unterminated"#.utf8))
          case 1: lines.append(Array(#"{"id":"latin1-\#(f)-\#(i)","text":"caf"#.utf8) + [0xE9] + Array(#""}"#.utf8))
          default: lines.append(Array(#"{"id":"notext-\#(f)-\#(i)","body":"no text here"}"#.utf8))
          }
          badHere.append(lines.count)
        }
        let n = (i * 7 + f * 3) % 12 + 1
        let text = (0..<n).map { words[($0 * 5 + i + f) % words.count] }.joined(separator: " ")
        let lang = langs[(i + 2 * f) % langs.count]
        let id: String? = i % 9 == 4 ? nil : "f\(f)-d\(i)"
        var fields: [(String, String)] = []
        if let id { fields.append(("id", jsonQuote(id))) }
        fields += [("text", jsonQuote(text)), ("lang", jsonQuote(lang)), ("n", String(i))]
        let bytes = docLine(fields)
        lines.append(bytes)
        fileDocs.append(Doc(file: f, line: lines.count, id: id, lang: lang, bytes: bytes))
        if bad && i % 11 == 3 { lines.append([]) }
      }
      c.paths.append(try dir.writeLines("\(sub)/file-\(f).jsonl", lines))
      c.docs.append(fileDocs)
      c.badLines.append(badHere)
    }
    return c
  }
}

/// A recipe over `dir/in` with its outputs under `dir/<out>…`.
func runnerRecipe(
  _ dir: TempDir, out: String = "out", stages: String = "  - field: {key: lang, in: [en, de]}", output: String = "",
  top: String = "", input: String = ""
) -> String {
  """
  name: runner
  seed: 11
  \(top)
  input:
    paths: ["\(dir.path)/in"]\(input)
  output:
    path: \(dir.path)/\(out)\(output)
  stages:
  \(stages)
  """
}

func concatenated(_ paths: [String]) -> [UInt8] { paths.flatMap { readBytes($0) } }

@Suite("runner: plans and tasks")
struct PlanTaskTests {
  @Test("several input files: one task per file, each writing part-TTTTT-NNNNN shards of its own documents")
  func oneTaskPerFile() throws {
    let dir = try TempDir()
    let corpus = try Corpus.write(dir, files: 3, docs: 20)
    let recipe = try RecipeParser.parse(runnerRecipe(dir, output: "\n  compression: none"), source: "r.yaml")
    let plan = try Plan.make(recipe)
    #expect(plan.inputs.map(\.path) == corpus.paths)
    #expect(plan.passes.map(\.tasks) == [[[0], [1], [2]]])

    let result = try RecipeRunner.run(recipe)
    #expect(result.tasksRun == 3 && result.tasksSkipped == 0)
    #expect(
      dir.list("out") == [".winnow", "part-00000-00000.jsonl", "part-00001-00000.jsonl", "part-00002-00000.jsonl", "stats.json"])
    for f in 0..<3 {
      // Task f read file f alone; kept documents are written byte for byte, in order.
      let want = corpus.docs[f].filter(\.keptByField).map(\.bytes)
      #expect(splitLines(readBytes(dir.path + "/out/part-0000\(f)-00000.jsonl")) == want, "task \(f)")
      let record = try #require(RunDirectory(dir.path + "/out").readRecord(pass: 0, task: f))
      #expect(record.stats.inputFiles == [corpus.paths[f]])
      #expect(record.stats.outputFiles == [dir.path + "/out/part-0000\(f)-00000.jsonl"])
      #expect(record.fingerprint == plan.fingerprint)
    }
    #expect(dir.list("out/.winnow/tasks") == ["p0-t00000.json", "p0-t00001.json", "p0-t00002.json"])
    let planFile = try #require(try RunDirectory(dir.path + "/out").readPlan())
    #expect(planFile.passes == [[[0], [1], [2]]])
    #expect(planFile.inputs == corpus.paths)
    #expect(planFile.fingerprint == plan.fingerprint)
    let stats = try statsObject(result.statsPath)
    #expect(stats["tasks"] as? Int == 3)
    #expect(stats["input_files"] as? [String] == corpus.paths)
    #expect(
      stats["output_files"] as? [String] == (0..<3).map { dir.path + "/out/part-0000\($0)-00000.jsonl" })
  }

  @Test("max_shard_docs rotates each task's shards: part-TTTTT-00000, part-TTTTT-00001, …")
  func rotation() throws {
    let dir = try TempDir()
    let corpus = try Corpus.write(dir, files: 2, docs: 20, bad: false)
    let recipe = try RecipeParser.parse(
      runnerRecipe(dir, output: "\n  compression: none\n  max_shard_docs: 4"), source: "r.yaml")
    _ = try RecipeRunner.run(recipe)
    var all: [String] = []
    for f in 0..<2 {
      let want = corpus.docs[f].filter(\.keptByField).map(\.bytes)
      let names = dir.list("out").filter { $0.hasPrefix("part-0000\(f)-") }
      let expectedCount = (want.count + 3) / 4
      #expect(names == (0..<expectedCount).map { "part-0000\(f)-0000\($0).jsonl" }, "task \(f): \(names)")
      let shards = names.map { splitLines(readBytes(dir.path + "/out/" + $0)) }
      #expect(shards.dropLast().allSatisfy { $0.count == 4 })
      #expect(shards.flatMap { $0 } == want)
      all += names
    }
    // Sorted names are task order, then rotation order.
    #expect(all == all.sorted())
  }

  @Test("exact_dedup runs as map, reduce and apply passes and drops duplicates across tasks")
  func exactDedupAcrossTasks() throws {
    let dir = try TempDir()
    let corpus = try Corpus.write(dir, files: 4, docs: 30)
    let yaml = runnerRecipe(
      dir, stages: "  - field: {key: lang, in: [en, de, fr]}\n  - exact_dedup: {buckets: 3}",
      output: "\n  compression: none\n  rejects: \(dir.path)/rej.jsonl")
    let recipe = try RecipeParser.parse(yaml, source: "r.yaml")
    let plan = try Plan.make(recipe)
    // `field` runs once, in the first pass, which writes what reaches exact_dedup.
    #expect(plan.passes.map(\.kind) == [.documents, .reduce, .apply])
    #expect(plan.passes.map(\.tasks) == [[[0], [1], [2], [3]], [[], [], []], [[0], [1], [2], [3]]])
    let result = try RecipeRunner.run(recipe)
    #expect(result.tasksRun == 4 + 3 + 4)
    // The first document of each text, in input order, wins — whichever file it is in.
    var seen: Set<String> = []
    var want: [[[UInt8]]] = []
    var dups = 0
    for f in 0..<4 {
      var kept: [[UInt8]] = []
      for d in corpus.docs[f] where ["en", "de", "fr"].contains(d.lang) {
        let text = parseObject(d.bytes)["text"] as? String ?? ""
        if seen.insert(text).inserted { kept.append(d.bytes) } else { dups += 1 }
      }
      want.append(kept)
    }
    #expect(dups > 10, "the corpus repeats texts across files")
    #expect(
      dir.list("out") == [".winnow", "part-00000-00000.jsonl", "part-00001-00000.jsonl", "part-00002-00000.jsonl",
        "part-00003-00000.jsonl", "stats.json"])
    for f in 0..<4 {
      #expect(splitLines(readBytes(dir.path + "/out/part-0000\(f)-00000.jsonl")) == want[f], "apply task \(f)")
    }
    // stats.json counts what the first pass read and the apply pass wrote (the first pass
    // writes the documents reaching exact_dedup, which the apply pass reads).
    let runDir = RunDirectory(dir.path + "/out")
    let first = try (0..<4).map { try #require(runDir.readRecord(pass: 0, task: $0)) }
    let apply = try (0..<4).map { try #require(runDir.readRecord(pass: 2, task: $0)) }
    #expect(result.stats.documentsRead == first.reduce(0) { $0 + $1.stats.documentsRead })
    #expect(result.stats.documentsWritten == apply.reduce(0) { $0 + $1.stats.documentsWritten })
    #expect(result.stats.documentsRead == corpus.docs.joined().count + corpus.badLines.joined().count)
    #expect(result.stats.documentsWritten == want.joined().count)
    #expect(result.stats.isBalanced)
    #expect(result.stats.stages.map(\.name) == ["field", "exact_dedup"])
    #expect(result.stats.stages[1].droppedByReason == ["duplicate": dups])
    // Rejected duplicates carry the stage's name.
    let rejects = jsonLines(dir.path + "/rej.jsonl")
    #expect(rejects.filter { $0["rejected_by"] as? String == "exact_dedup" }.count == dups)
    #expect(try statsObject(result.statsPath)["tasks"] as? Int == 11)
  }

  @Test("a note suggests mb_per_task when workers outnumber tasks and an uncompressed input is over 64 MiB")
  func splitHint() throws {
    let dir = try TempDir()
    let big = try dir.write("in/big.jsonl", [])
    // Sparse: the planner looks at the size, not the bytes.
    #expect(truncate(big, 65 << 20) == 0)
    _ = try dir.write("in/small.jsonl", Array("{\"text\":\"a\"}\n".utf8))
    let plan = try Plan.make(try RecipeParser.parse(runnerRecipe(dir), source: "r.yaml"))
    #expect(RecipeRunner.splitHint(plan, workers: 2) == nil, "as many tasks as workers")
    let hint = try #require(RecipeRunner.splitHint(plan, workers: 8))
    #expect(hint.hasPrefix("2 tasks for 8 workers: 'mb_per_task: 64'") && hint.contains(big))
    let split = try Plan.make(try RecipeParser.parse(runnerRecipe(dir, top: "mb_per_task: 64"), source: "r.yaml"))
    #expect(RecipeRunner.splitHint(split, workers: 8) == nil, "already asked for")
    #expect(truncate(big, 64 << 20) == 0)
    #expect(RecipeRunner.splitHint(try Plan.make(try RecipeParser.parse(runnerRecipe(dir), source: "r.yaml")), workers: 8) == nil)
  }

  @Test("a plan file whose parts cannot be parts of its inputs is refused, naming what is wrong")
  func damagedParts() throws {
    var plan = PlanFile(
      recipeName: "r", recipeSource: "r.yaml", recipeText: "", fingerprint: "f", inputs: ["a.parquet", "b.jsonl"],
      inputRowGroups: nil, passes: [[[0], [1]]], passKinds: [.documents], maxRetries: 0, strict: false)
    #expect(plan.partsProblem == nil)
    plan.inputRowGroups = [[0, 2], nil]
    plan.inputLines = [nil, [10, 20, 3, 40]]
    #expect(plan.partsProblem == nil)
    #expect(plan.inputFiles.map(\.rowGroups) == [0..<2, nil])
    #expect(plan.inputFiles.map(\.lines) == [nil, LinePart(start: 10, end: 20, firstLine: 3, fileBytes: 40)])
    let damaged: [(rowGroups: [[Int]?]?, lines: [[Int]?]?, problem: String)] = [
      ([[0, 2]], nil, "input_row_groups has 1 entries for 2 inputs"),
      ([[2, 2], nil], nil, "input_row_groups[0] is not a range of row groups"),
      ([[-1, 2], nil], nil, "input_row_groups[0] is not a range of row groups"),
      ([[0, 1, 2], nil], nil, "input_row_groups[0] has 3 numbers, not 2"),
      (nil, [nil, [10, 20, 3]], "input_lines[1] has 3 numbers, not 4"),
      (nil, [nil, [20, 10, 3, 40]], "input_lines[1] is not a part of a file"),
      (nil, [nil, [10, 50, 3, 40]], "input_lines[1] is not a part of a file"),
      (nil, [nil, [10, 20, 12, 40]], "input_lines[1] is not a part of a file"),
      (nil, [[0, 20, 1, 40], [10, 20, 0, 40]], "input_lines[1] is not a part of a file"),
    ]
    for d in damaged {
      plan.inputRowGroups = d.rowGroups
      plan.inputLines = d.lines
      #expect(plan.partsProblem == d.problem)
    }
    // Through the run directory: the message names the plan file.
    let dir = try TempDir()
    let runDir = RunDirectory(dir.path + "/out")
    try runDir.ensureLayout()
    try runDir.writePlan(plan)
    let e = try #require(winnowError { _ = try runDir.readPlan() })
    #expect(e.message.hasPrefix(runDir.planPath + ": the run's plan is damaged (input_lines[1] is not a part of a file)"))
  }

  @Test("exact_dedup's reduce tasks write marks only where an apply task has some, and a summary each that the apply task checks them against")
  func exactDedupMarksFiles() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 4, docs: 30)
    let recipe = try RecipeParser.parse(
      runnerRecipe(dir, stages: "  - exact_dedup: {buckets: 8}", output: "\n  compression: none"), source: "r.yaml")
    let result = try RecipeRunner.run(recipe)
    let dropped = result.stats.stages[0].dropped
    #expect(dropped > 10)
    let phase = try #require(dir.list("out/.winnow/phase").first)
    let p1 = dir.path + "/out/.winnow/phase/" + phase + "/p1"
    let names = dir.list("out/.winnow/phase/" + phase + "/p1")
    let summaries = names.filter { $0.hasSuffix(".marked") }
    let marks = names.filter { $0.hasSuffix(".marks") }
    #expect(summaries.count == 8, "one per reduce task")
    #expect(!marks.isEmpty && marks.count < 8 * 4, "not one per bucket and apply task: \(marks.count)")
    // The summaries list exactly the marks files and their counts.
    var listed = 0
    var count = 0
    for f in summaries {
      let entries = try SortedRunFile.readAll(p1 + "/" + f, as: PhaseEntry.self)
      listed += entries.count
      count += entries.reduce(0) { $0 + Int($1.ordinal) }
    }
    #expect(listed == marks.count && count == dropped)

    let runDir = RunDirectory(dir.path + "/out")
    let victim = try #require(marks.first)
    let reducer = Int(victim.dropFirst(4).prefix(5))!
    let applyTask = Int(victim.dropLast(6).suffix(5))!
    /// The apply task run again (its record removed, as a resume does for a task to redo).
    func applyError() -> String? {
      try? FileManager.default.removeItem(atPath: runDir.recordPath(pass: 2, task: applyTask))
      return winnowError { _ = try TaskRunner.run(runDir, pass: 2, task: applyTask) }?.message
    }
    #expect(applyError() == nil, "the apply task runs again as it is")
    // A lost marks file: named.
    let saved = readBytes(p1 + "/" + victim)
    try FileManager.default.removeItem(atPath: p1 + "/" + victim)
    #expect(applyError()?.contains(victim + ": missing") == true)
    // Lost, and gone from its task's record too: the summary still counts its marks.
    let recordPath = runDir.recordPath(pass: 1, task: reducer)
    let recordBytes = readBytes(recordPath)
    func dropFromRecord(_ name: String) throws {
      var record = try #require(try JSONSerialization.jsonObject(with: Data(readBytes(recordPath))) as? [String: Any])
      var stats = try #require(record["stats"] as? [String: Any])
      let files = try #require(stats["written_files"] as? [[String: Any]])
      stats["written_files"] = files.filter { ($0["path"] as? String)?.hasSuffix("/" + name) != true }
      record["stats"] = stats
      try FileManager.default.removeItem(atPath: recordPath)
      try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: recordPath))
    }
    try dropFromRecord(victim)
    #expect(applyError()?.contains("where the reduce pass's summaries list") == true)
    // A reduce task's summary lost the same way: that task is missing.
    try FileManager.default.removeItem(atPath: recordPath)
    _ = try dir.write("out/.winnow/tasks/" + (recordPath as NSString).lastPathComponent, recordBytes)
    _ = try dir.write("out/.winnow/phase/" + phase + "/p1/" + victim, saved)
    #expect(applyError() == nil, "restored")
    let summary = "\(PhaseTask.name(pass: 1, task: reducer)).marked"
    try FileManager.default.removeItem(atPath: p1 + "/" + summary)
    try dropFromRecord(summary)
    #expect(applyError()?.contains("reduce summaries: files from 7 of the 8 tasks of pass 1") == true)
  }

  @Test("files_per_task groups consecutive files; the last task takes the rest")
  func filesPerTask() throws {
    let dir = try TempDir()
    let corpus = try Corpus.write(dir, files: 5, docs: 10)
    let yaml = runnerRecipe(dir, output: "\n  compression: none", top: "files_per_task: 2")
    let recipe = try RecipeParser.parse(yaml, source: "r.yaml")
    #expect(recipe.filesPerTask == 2)
    #expect(try Plan.make(recipe).passes.map(\.tasks) == [[[0, 1], [2, 3], [4]]])
    let result = try RecipeRunner.run(recipe)
    #expect(result.tasksRun == 3)
    #expect(
      dir.list("out") == [".winnow", "part-00000-00000.jsonl", "part-00001-00000.jsonl", "part-00002-00000.jsonl", "stats.json"])
    for (t, files) in [[0, 1], [2, 3], [4]].enumerated() {
      let want = files.flatMap { corpus.docs[$0].filter(\.keptByField).map(\.bytes) }
      #expect(splitLines(readBytes(dir.path + "/out/part-0000\(t)-00000.jsonl")) == want, "task \(t)")
      let record = try #require(RunDirectory(dir.path + "/out").readRecord(pass: 0, task: t))
      #expect(record.stats.inputFiles == files.map { corpus.paths[$0] })
    }
    #expect(try RunDirectory(dir.path + "/out").readPlan()?.passes == [[[0, 1], [2, 3], [4]]])
    // More files per task than files: one task.
    let one = try RecipeParser.parse(runnerRecipe(dir, top: "files_per_task: 99"), source: "r.yaml")
    #expect(try Plan.make(one).passes.map(\.tasks) == [[[0, 1, 2, 3, 4]]])
  }

  @Test("the fingerprint ignores executor, workers, retries and formatting, and changes with what the output depends on")
  func fingerprint() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 2, docs: 3, bad: false)
    let base = """
      name: fp
      seed: 3
      input: {paths: ["\(dir.path)/in"]}
      output: {path: \(dir.path)/out}
      stages:
        - length: {min_words: 3}
        - sample: {rate: 0.5}
      """
    let fp = { (yaml: String) throws -> String in try Plan.make(try RecipeParser.parse(yaml, source: "x.yaml")).fingerprint }
    let reference = try fp(base)
    let same = """
      # the same recipe, run differently and written differently
      name: fp
      seed: 3
      executor: local
      workers: 7
      max_retries: 5
      input:
        paths:
          - "\(dir.path)/in"
      output:
        path: \(dir.path)/out
      stages:
        - length:
            min_words: 3
        - sample: {rate: 0.5}   # comment
      """
    #expect(try fp(same) == reference)
    // The default format, written out, is the same run.
    #expect(try fp(base.replacingOccurrences(of: "out}", with: "out, format: jsonl}")) == reference)
    #expect(try fp(base.replacingOccurrences(of: "seed: 3", with: "seed: 3\nexecutor: inline\nworkers: 1")) == reference)
    // Neither the recipe's name nor its strictness changes what a finished task wrote.
    #expect(try fp(base.replacingOccurrences(of: "name: fp", with: "name: renamed")) == reference)
    #expect(try fp(base.replacingOccurrences(of: "/in\"]}", with: "/in\"], strict: true}")) == reference)
    // Anything that changes the output changes it.
    let changed = [
      base.replacingOccurrences(of: "min_words: 3", with: "min_words: 4"),
      base.replacingOccurrences(of: "rate: 0.5", with: "rate: 0.25"),
      base.replacingOccurrences(of: "seed: 3", with: "seed: 4"),
      base.replacingOccurrences(of: "{rate: 0.5}", with: "{rate: 0.5, seed: 9}"),
      base.replacingOccurrences(of: "\n  - sample: {rate: 0.5}", with: ""),
      base.replacingOccurrences(of: "  - length: {min_words: 3}\n", with: "") + "\n  - length: {min_words: 3}",
      base.replacingOccurrences(of: "out}", with: "out, compression: gzip}"),
      base.replacingOccurrences(of: "out}", with: "out, max_shard_docs: 10}"),
      base.replacingOccurrences(of: "out}", with: "out, rejects: \(dir.path)/rej}"),
      base.replacingOccurrences(of: "out}", with: "out, route_by: lang}"),
      base.replacingOccurrences(of: "seed: 3", with: "seed: 3\nfiles_per_task: 2"),
      base.replacingOccurrences(of: "/in\"]}", with: "/in\"], text_field: body}"),
    ]
    var seen: Set<String> = [reference]
    for (k, yaml) in changed.enumerated() {
      #expect(yaml != base, "variant \(k) is the base recipe")
      let f = try fp(yaml)
      #expect(f != reference, "variant \(k) should change the fingerprint:\n\(yaml)")
      seen.insert(f)
    }
    #expect(seen.count == changed.count + 1, "every variant has its own fingerprint")
    // The inputs are part of it.
    try dir.writeLines("in/file-9.jsonl", [docLine([("text", #""one more""#)])])
    #expect(try fp(base) != reference)
  }

  @Test("stats.json balances and is the sum of the task records")
  func statsAreTheSumOfRecords() throws {
    let dir = try TempDir()
    let corpus = try Corpus.write(dir, files: 4, docs: 30)
    let yaml = runnerRecipe(
      dir,
      stages: """
          - length: {min_words: 3}
          - sample: {rate: 0.8}
          - field: {key: lang, in: [en, de]}
        """, output: "\n  max_shard_docs: 5\n  quarantine: \(dir.path)/q")
    let result = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"))
    let stats = try statsObject(result.statsPath)
    let read = try #require(stats["documents_read"] as? Int)
    let written = try #require(stats["documents_written"] as? Int)
    let dropped = try #require(stats["documents_dropped"] as? Int)
    let quarantined = try #require(stats["documents_quarantined"] as? Int)
    #expect(read == written + dropped + quarantined)
    #expect(stats["balanced"] as? Bool == true)
    let bad = corpus.badLines.joined().count
    #expect(bad == 8)
    #expect(read == 4 * 30 + bad, "every document and every bad line is read")
    #expect(quarantined == bad)
    #expect(written > 0 && dropped > 0)

    let runDir = RunDirectory(dir.path + "/out")
    let records = try (0..<4).map { try #require(runDir.readRecord(pass: 0, task: $0)) }
    let sum = { (f: (RunStats) -> Int) in records.reduce(0) { $0 + f($1.stats) } }
    #expect(read == sum(\.documentsRead))
    #expect(written == sum(\.documentsWritten))
    #expect(dropped == sum(\.dropped))
    #expect(quarantined == sum(\.quarantined))
    #expect(stats["blank_lines_skipped"] as? Int == sum(\.blankLines))
    #expect(stats["bytes_read"] as? Int == sum(\.bytesRead))
    #expect(stats["bytes_written"] as? Int == sum(\.bytesWritten))
    #expect(records.allSatisfy { $0.stats.isBalanced })
    #expect(stats["input_files"] as? [String] == records.flatMap(\.stats.inputFiles))
    #expect(stats["output_files"] as? [String] == records.flatMap(\.stats.outputFiles))
    var byReason: [String: Int] = [:]
    for r in records { for (k, v) in r.stats.quarantinedByReason { byReason[k, default: 0] += v } }
    #expect(stats["quarantined_by_reason"] as? [String: Int] == byReason)
    #expect(byReason == ["invalid_json": 3, "invalid_utf8": 3, "missing_text_field": 2])
    let stages = try #require(stats["stages"] as? [[String: Any]])
    #expect(stages.map { $0["stage"] as? String } == ["length", "sample", "field"])
    for (k, st) in stages.enumerated() {
      for key in ["documents_in", "kept", "dropped"] {
        let total = records.reduce(0) { acc, r in
          let s = r.stats.stages[k]
          return acc + (key == "documents_in" ? s.documentsIn : key == "kept" ? s.kept : s.dropped)
        }
        #expect(st[key] as? Int == total, "stage \(k) \(key)")
      }
      var reasons: [String: Int] = [:]
      for r in records { for (x, n) in r.stats.stages[k].droppedByReason { reasons[x, default: 0] += n } }
      #expect(st["dropped_by_reason"] as? [String: Int] == reasons)
    }
    // Each stage hands its kept documents to the next.
    #expect(stages[0]["documents_in"] as? Int == read - quarantined)
    #expect(stages[1]["documents_in"] as? Int == stages[0]["kept"] as? Int)
    #expect(stages[2]["documents_in"] as? Int == stages[1]["kept"] as? Int)
    #expect(stages[2]["kept"] as? Int == written)
    // The shards hold exactly the written documents.
    let shardLines = try (stats["output_files"] as? [String] ?? []).flatMap { try decodedLines($0) }
    #expect(shardLines.count == written)
    #expect(result.stats.documentsRead == read && result.stats.isBalanced)
  }

  @Test("side outputs given as files are joined in task order; zstd ones are concatenated frames")
  func sideOutputFilesJoined() throws {
    let dir = try TempDir()
    let corpus = try Corpus.write(dir, files: 4, docs: 15)
    let yaml = runnerRecipe(
      dir, output: "\n  rejects: \(dir.path)/side/rej.jsonl.zst\n  quarantine: \(dir.path)/side/q.jsonl")
    let result = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"))
    #expect(result.tasksRun == 4)
    #expect(dir.list("side") == ["q.jsonl", "rej.jsonl.zst"])

    // Rejects: every task's rejected documents, task by task, each in input order.
    let rejBytes = readBytes(dir.path + "/side/rej.jsonl.zst")
    #expect(rejBytes.prefix(4) == [0x28, 0xB5, 0x2F, 0xFD])
    let rejects = try decodedLines(dir.path + "/side/rej.jsonl.zst").map(parseObject)
    let wantRejected = corpus.docs.flatMap { $0.filter { !$0.keptByField } }
    #expect(rejects.count == wantRejected.count)
    #expect(rejects.map { $0["n"] as? Int } == wantRejected.map(nOf))
    #expect(rejects.map { $0["lang"] as? String } == wantRejected.map(\.lang))
    #expect(rejects.allSatisfy { $0["rejected_by"] as? String == "field" && $0["reject_reason"] as? String == "not_in_set" })
    // The file is the tasks' own zstd shards one after another (one frame or more each), and
    // the zstd tool reads all the frames.
    let parts = dir.list("out/.winnow/side/rejects").filter { $0.hasPrefix("part-") }
    #expect(parts.count == 4, "\(parts)")
    #expect(rejBytes == concatenated(parts.map { dir.path + "/out/.winnow/side/rejects/" + $0 }))
    if let zstd = ["/usr/bin/zstd", "/usr/local/bin/zstd", "/bin/zstd"].first(where: FileManager.default.isExecutableFile) {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: zstd)
      p.arguments = ["-dc", "-q", dir.path + "/side/rej.jsonl.zst", "-o", dir.path + "/rej-by-zstd.jsonl"]
      try p.run()
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
      #expect(splitLines(readBytes(dir.path + "/rej-by-zstd.jsonl")).map(parseObject).count == wantRejected.count)
    }

    // Quarantine: file and line of every bad line, file by file.
    let q = jsonLines(dir.path + "/side/q.jsonl")
    let wantQ = corpus.badLines.enumerated().flatMap { f, lines in lines.map { (corpus.paths[f], $0) } }
    #expect(q.map { $0["file"] as? String ?? "?" } == wantQ.map(\.0))
    #expect(q.map { $0["line"] as? Int ?? -1 } == wantQ.map(\.1))

    // A resumed run joins them again to the same bytes.
    let again = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"))
    #expect(again.tasksRun == 0 && again.tasksSkipped == 4)
    #expect(readBytes(dir.path + "/side/rej.jsonl.zst") == rejBytes)
    #expect(jsonLines(dir.path + "/side/q.jsonl").count == q.count)
  }

  @Test(
    "a merge step runs once for its parts: skipped on resume, redone when its target or stamp is lost or a part changes; a damaged parts list is an error naming it",
    arguments: ["inline", "local"])
  func mergeStepResumes(executor: String) throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 3, docs: 12)
    let yaml = runnerRecipe(dir, output: "\n  rejects: \(dir.path)/rej.jsonl")
    var options = RecipeRunner.Options()
    options.executor = executor
    options.workers = 2
    options.workerBinary = WinnowBinary.path
    let run = { () throws -> RecipeRunner.Result in try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"), options: options) }
    _ = try run()
    let target = dir.path + "/rej.jsonl"
    let done = dir.path + "/out/.winnow/merge/rejects.done"
    let joined = readBytes(target)
    #expect(!joined.isEmpty)
    #expect(FileManager.default.fileExists(atPath: done))
    // Through the local executor the step is a job of its own, with its log.
    #expect(FileManager.default.fileExists(atPath: dir.path + "/out/.winnow/merge/rejects.log") == (executor == "local"))

    // Finished on these parts: not run again (the target keeps its past date).
    let old = Date(timeIntervalSince1970: 1_000_000_000)
    try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: target)
    _ = try run()
    #expect((try FileManager.default.attributesOfItem(atPath: target)[.modificationDate] as? Date) == old)

    // A lost target, or a stamp that names other parts: joined again, to the same bytes.
    unlink(target)
    _ = try run()
    #expect(readBytes(target) == joined)
    try "0123456789abcdef\n".write(toFile: done, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: target)
    _ = try run()
    #expect((try FileManager.default.attributesOfItem(atPath: target)[.modificationDate] as? Date) != old)
    #expect(readBytes(target) == joined)

    // A task redone to the same part (same bytes, same checksum): nothing to join again.
    let record = dir.path + "/out/.winnow/tasks/p0-t00001.json"
    #expect(FileManager.default.fileExists(atPath: record))
    unlink(record)
    try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: target)
    #expect(try run().tasksRun == 1)
    #expect((try FileManager.default.attributesOfItem(atPath: target)[.modificationDate] as? Date) == old)
    // An input changed: its task writes another part, and the step joins the new one.
    let input = dir.path + "/in/file-1.jsonl"
    let h = try FileHandle(forWritingTo: URL(fileURLWithPath: input))
    try h.seekToEnd()
    try h.write(contentsOf: Data("{\"text\": \"added later\", \"lang\": \"xx\", \"n\": 99}\n".utf8))
    try h.close()
    #expect(try run().tasksRun == 1)
    let rejoined = readBytes(target)
    #expect(rejoined != joined)
    #expect(rejoined.count > joined.count)
    #expect(String(decoding: rejoined, as: UTF8.self).contains("added later"))

    // The step on a damaged list of parts fails naming the list, and leaves the target alone.
    let parts = dir.path + "/out/.winnow/merge/rejects.parts.json"
    try "{\"key\": \"rejects\", \"parts\": [".write(toFile: parts, atomically: true, encoding: .utf8)
    #expect {
      try MergeSteps.run(RunDirectory(dir.path + "/out"), key: "rejects")
    } throws: { ($0 as? WinnowError)?.message.contains("rejects.parts.json") == true }
    #expect(readBytes(target) == rejoined)
    #expect(throws: WinnowError.self) { try MergeSteps.run(RunDirectory(dir.path + "/out"), key: "../x") }
  }

  func nOf(_ d: Corpus.Doc) -> Int? { parseObject(d.bytes)["n"] as? Int }

  @Test("inline: resume after deleting one task record re-runs that task alone, to the same bytes")
  func resumeInline() throws {
    try resumeAfterDeletingRecord(executor: "inline")
  }

  @Test("a failing task does not stop the others; fixed, the run resumes and completes (inline)")
  func strictFailureInline() throws {
    try strictFailureResumes(executor: "inline")
  }
}

// MARK: shared by the inline and local variants

/// Runs a 5-file recipe, deletes task 2's record, runs again: only task 2 runs, every output
/// byte is the same and the other tasks' files were not touched.
func resumeAfterDeletingRecord(executor: String) throws {
  let dir = try TempDir()
  _ = try Corpus.write(dir, files: 5, docs: 25)
  let yaml = runnerRecipe(
    dir,
    stages: """
        - length: {min_words: 2}
        - sample: {rate: 0.7}
        - field: {key: lang, in: [en, de]}
      """,
    output: "\n  max_shard_docs: 6\n  rejects: \(dir.path)/rej\n  quarantine: \(dir.path)/q.jsonl.zst")
  let recipe = try RecipeParser.parse(yaml, source: "r.yaml")
  var options = RecipeRunner.Options()
  options.executor = executor
  options.workers = 2
  options.workerBinary = WinnowBinary.path
  let first = try RecipeRunner.run(recipe, options: options)
  #expect(first.tasksRun == 5)
  let before = snapshot(dir, records: false)
  let statsBefore = try statsObject(first.statsPath)
  // Date every shard in the past: a shard written again gets a new date.
  let old = Date(timeIntervalSince1970: 1_000_000_000)
  let shards = before.keys.filter { $0.hasPrefix("out/part-") || $0.hasPrefix("rej/part-") }
  #expect(shards.filter { $0.contains("part-00002-") }.count >= 2)
  for s in shards { try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: dir.path + "/" + s) }
  func written(_ rel: String) -> Bool {
    let d = (try? FileManager.default.attributesOfItem(atPath: dir.path + "/" + rel))?[.modificationDate] as? Date
    return (d ?? old) > old
  }
  let otherRecords = [0, 1, 3, 4].map { readBytes(dir.path + "/out/.winnow/tasks/p0-t0000\($0).json") }

  try FileManager.default.removeItem(atPath: dir.path + "/out/.winnow/tasks/p0-t00002.json")
  // What a worker killed with its coordinator while writing its record leaves behind.
  try "{\"pass\":".write(toFile: dir.path + "/out/.winnow/tasks/.p0-t00002.json.tmp-0123456789abcdef", atomically: false, encoding: .utf8)
  let second = try RecipeRunner.run(recipe, options: options)
  #expect(second.tasksRun == 1)
  #expect(second.tasksSkipped == 4)
  #expect(snapshot(dir, records: false) == before)
  let statsAfter = try statsObject(second.statsPath)
  #expect(statsAfter["tasks_skipped_as_done"] as? Int == 4)
  #expect(comparableStats(statsAfter) == comparableStats(statsBefore))
  #expect(statsAfter["balanced"] as? Bool == true)
  // Task 2's shards were written again; the others' were not touched.
  for s in shards {
    let rewritten = s.contains("part-00002-")
    #expect(written(s) == rewritten, "\(s) \(rewritten ? "should" : "should not") be written again")
  }
  #expect([0, 1, 3, 4].map { readBytes(dir.path + "/out/.winnow/tasks/p0-t0000\($0).json") } == otherRecords)
  #expect(FileManager.default.fileExists(atPath: dir.path + "/out/.winnow/tasks/p0-t00002.json"))
  // No temporary files anywhere.
  #expect(!snapshot(dir, records: true).keys.contains { $0.contains(".tmp-") })
}

/// Four files, the third with a bad line, under strict: the run fails naming file:line, the
/// other tasks finish and keep their records; with the line fixed the next run runs that task
/// alone and the output is that of a clean run.
func strictFailureResumes(executor: String) throws {
  let dir = try TempDir()
  let corpus = try Corpus.write(dir, files: 4, docs: 12, bad: false)
  let badPath = corpus.paths[2]
  var lines = splitLines(readBytes(badPath))
  let good3 = lines[2]
  lines[2] = Array(#"{"id":"oops","text": not json}"#.utf8)
  try Data(lines.flatMap { $0 + [0x0A] }).write(to: URL(fileURLWithPath: badPath))

  let yaml = runnerRecipe(dir, output: "\n  rejects: \(dir.path)/rej.jsonl", top: "max_retries: 2", input: "\n  strict: true")
  let recipe = try RecipeParser.parse(yaml, source: "r.yaml")
  var options = RecipeRunner.Options()
  options.executor = executor
  options.workers = 2
  options.workerBinary = WinnowBinary.path
  var failure: WinnowError?
  do { _ = try RecipeRunner.run(recipe, options: options) } catch { failure = error }
  let e = try #require(failure, "the run should fail")
  #expect(e.kind == .badInput, "exit code 3 for a bad line under strict: \(e.kind) \(e.message)")
  #expect(e.message.contains("\(badPath):3"), "\(e.message)")
  #expect(e.message.contains("p0-t00002"), "\(e.message)")
  #expect(!e.message.contains("p0-t00000") && !e.message.contains("p0-t00003"), "\(e.message)")
  let runDir = RunDirectory(dir.path + "/out")
  for t in [0, 1, 3] { #expect(runDir.readRecord(pass: 0, task: t) != nil, "task \(t) should have finished") }
  #expect(runDir.readRecord(pass: 0, task: 2) == nil)
  #expect(!dir.list("out").contains { $0.hasPrefix("part-00002-") || $0.hasPrefix(".part-00002-") })
  #expect(dir.list("out").contains("part-00003-00000.jsonl.zst"))
  #expect(!FileManager.default.fileExists(atPath: dir.path + "/rej.jsonl"), "side files are joined only when the run succeeds")
  if executor == "local" {
    // A bad line fails the same way every time: it is not tried again.
    let log = String(decoding: readBytes(runDir.logPath(pass: 0, task: 2)), as: UTF8.self)
    #expect(log.contains("attempt 1") && !log.contains("attempt 2"), "\(log)")
    #expect(e.message.contains(runDir.logPath(pass: 0, task: 2)), "the error points at the log: \(e.message)")
  }
  // `winnow status` shows the failure.
  let status = try RunStatus.describe(runDir)
  #expect(status.contains("3/4 tasks done"), "\(status)")
  #expect(status.contains("1 failed"), "\(status)")

  // Fixed: the next run resumes and completes.
  lines[2] = good3
  try Data(lines.flatMap { $0 + [0x0A] }).write(to: URL(fileURLWithPath: badPath))
  let resumed = try RecipeRunner.run(recipe, options: options)
  #expect(resumed.tasksRun == 1 && resumed.tasksSkipped == 3)
  #expect(resumed.stats.isBalanced)
  #expect(resumed.stats.documentsRead == 4 * 12)
  #expect(try RunStatus.describe(runDir).contains("4/4 tasks done"))

  // Same outputs as a clean run of the fixed inputs.
  let clean = try RecipeParser.parse(
    runnerRecipe(dir, out: "clean", output: "\n  rejects: \(dir.path)/clean-rej.jsonl", input: "\n  strict: true"),
    source: "r.yaml")
  let reference = try RecipeRunner.run(clean)
  #expect(snapshot(dir, records: false, under: "out") == snapshot(dir, records: false, under: "clean"))
  #expect(readBytes(dir.path + "/rej.jsonl") == readBytes(dir.path + "/clean-rej.jsonl"))
  #expect(!readBytes(dir.path + "/rej.jsonl").isEmpty)
  #expect(
    comparableStats(try statsObject(resumed.statsPath), dropping: ["output_files"])
      == comparableStats(try statsObject(reference.statsPath), dropping: ["output_files"]))
}

@Suite(
  "runner: local executor (worker processes)", .serialized,
  .enabled(if: WinnowBinary.available, WinnowBinary.missingMessage))
struct LocalExecutorTests {
  /// The same recipe run by each executor into its own directory.
  static func runAll(_ dir: TempDir, yaml: (String) -> String) throws -> [String: RecipeRunner.Result] {
    var results: [String: RecipeRunner.Result] = [:]
    for (name, executor, workers) in [("inline", "inline", 1), ("local1", "local", 1), ("local4", "local", 4)] {
      var options = RecipeRunner.Options()
      options.executor = executor
      options.workers = workers
      options.workerBinary = WinnowBinary.path
      results[name] = try RecipeRunner.run(try RecipeParser.parse(yaml(name), source: "\(name).yaml"), options: options)
      #expect(results[name]?.executor == executor)
    }
    return results
  }

  @Test("inline, local with 1 worker and local with 4 workers write byte-identical shards, rejects and quarantine")
  func byteIdentical() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 6, docs: 40)
    let results = try Self.runAll(dir) { name in
      runnerRecipe(
        dir, out: "\(name)/out",
        stages: """
            - length: {min_words: 3, max_words: 11}
            - sample: {rate: 0.75}
            - field: {key: lang, in: [en, de, it]}
          """,
        output: "\n  max_shard_docs: 7\n  rejects: \(dir.path)/\(name)/rejects.jsonl.zst\n  quarantine: \(dir.path)/\(name)/quarantine")
    }
    let inline = snapshot(dir, records: false, under: "inline")
    #expect(inline.keys.contains("rejects.jsonl.zst"))
    #expect(inline.keys.filter { $0.hasPrefix("out/part-") }.count > 6, "several tasks, several rotations")
    #expect(inline.keys.filter { $0.hasPrefix("quarantine/part-") }.count == 6)
    for name in ["local1", "local4"] {
      let other = snapshot(dir, records: false, under: name)
      #expect(other.keys.sorted() == inline.keys.sorted(), "\(name)")
      for (k, v) in inline where other[k] != v { Issue.record("\(name)/\(k) differs from inline/\(k)") }
    }
    // The same counts, whoever ran the tasks.
    let stats = try results.mapValues { try statsObject($0.statsPath) }
    let base = comparableStats(stats["inline"]!, dropping: ["output_files"])
    for name in ["local1", "local4"] {
      #expect(comparableStats(stats[name]!, dropping: ["output_files"]) == base, "\(name)")
      #expect(
        (stats[name]!["output_files"] as? [String])?.map { ($0 as NSString).lastPathComponent }
          == (stats["inline"]!["output_files"] as? [String])?.map { ($0 as NSString).lastPathComponent })
    }
    #expect(stats["local4"]!["workers"] as? Int == 4)
    #expect(stats["local4"]!["balanced"] as? Bool == true)
    #expect(results["local4"]!.tasksRun == 6)
    // Each worker logged its task.
    #expect(dir.list("local4/out/.winnow/logs").count == 6)
  }

  @Test("with exact_dedup (map, reduce and apply passes) too, every executor writes the same bytes")
  func byteIdenticalDedup() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 4, docs: 30)
    let results = try Self.runAll(dir) { name in
      runnerRecipe(
        dir, out: "\(name)/out",
        stages: """
            - length: {min_words: 2}
            - exact_dedup: {buckets: 3}
            - sample: {rate: 0.9}
          """,
        output: "\n  max_shard_docs: 9\n  rejects: \(dir.path)/\(name)/rej\n  quarantine: \(dir.path)/\(name)/q.jsonl")
    }
    let inline = snapshot(dir, records: false, under: "inline")
    #expect(inline.keys.contains("q.jsonl"))
    for name in ["local1", "local4"] {
      let other = snapshot(dir, records: false, under: name)
      #expect(other.keys.sorted() == inline.keys.sorted(), "\(name)")
      for (k, v) in inline where other[k] != v { Issue.record("\(name)/\(k) differs from inline/\(k)") }
    }
    let stats = try results.mapValues { try statsObject($0.statsPath) }
    for name in ["local1", "local4"] {
      #expect(
        comparableStats(stats[name]!, dropping: ["output_files"])
          == comparableStats(stats["inline"]!, dropping: ["output_files"]), "\(name)")
    }
    #expect(results["local4"]!.stats.stages.map(\.name) == ["length", "exact_dedup", "sample"])
    #expect(results["local4"]!.stats.stages[1].dropped > 0)
  }

  @Test("local: a pass's tasks start largest input first (compressed files weigh more); the bytes are inline's")
  func largestFirst() throws {
    let dir = try TempDir()
    // Documents per file, in plan order; texts repeat across files for exact_dedup.
    let sizes = [3, 40, 12, 25, 9]
    var seed: UInt32 = 7
    for (f, n) in sizes.enumerated() {
      let lines = (0..<n).map { i in
        // The last file's texts are varied, so that zstd does not shrink them to nothing.
        let text =
          f < 4
          ? "words \(i % 17) of a line"
          : (0..<6).map { _ in
            seed = seed &* 1_103_515_245 &+ 12345
            return "w\((seed & 0x7fff_ffff) >> 16 % 1000)"
          }.joined(separator: " ")
        return docLine([("id", jsonQuote("\(f)-\(i)")), ("text", jsonQuote(text))])
      }
      _ = try dir.writeLines("in/f\(f).jsonl", lines)
    }
    // The last file is compressed: stored in fewer bytes than the third, but weighed as four
    // times its stored size, which puts it before the third.
    let plainLast = readBytes(dir.path + "/in/f4.jsonl")
    try FileManager.default.removeItem(atPath: dir.path + "/in/f4.jsonl")
    let sink = try openByteSink(path: dir.path + "/in/f4.jsonl.zst", compression: .zstd, level: 19)
    try sink.write(plainLast)
    try sink.finish()
    let compressed = readBytes(dir.path + "/in/f4.jsonl.zst")
    #expect(compressed.count < readBytes(dir.path + "/in/f2.jsonl").count)
    #expect(compressed.count * 4 > readBytes(dir.path + "/in/f2.jsonl").count)
    #expect(compressed.count * 4 < readBytes(dir.path + "/in/f3.jsonl").count)
    let yaml = { (name: String) in
      runnerRecipe(dir, out: "\(name)/out", stages: "  - exact_dedup: {buckets: 2}", output: "\n  compression: none")
    }
    let recipe = try RecipeParser.parse(yaml("local"), source: "local.yaml")
    let plan = try Plan.make(recipe)
    #expect(plan.passes.map(\.kind) == [.map, .reduce, .apply])
    var weights: [Int] = []
    let all = { (p: Int) in plan.passes[p].tasks.indices.map { TaskRef(pass: p, task: $0) } }
    #expect(Plan.largestFirst(all(0), of: plan.passes[0], weights: &weights, inputs: plan.inputs).map(\.task) == [1, 3, 4, 2, 0])
    #expect(weights.count == 5)
    // Middle tasks read no inputs: plan order. A subset keeps its own order by size.
    #expect(Plan.largestFirst(all(1), of: plan.passes[1], weights: &weights, inputs: plan.inputs).map(\.task) == [0, 1])
    let some = [0, 2, 3].map { TaskRef(pass: 2, task: $0) }
    #expect(Plan.largestFirst(some, of: plan.passes[2], weights: &weights, inputs: plan.inputs).map(\.task) == [3, 2, 0])

    // One worker starts them in that order, pass by pass, and writes inline's bytes.
    var options = RecipeRunner.Options()
    options.executor = "local"
    options.workers = 1
    options.workerBinary = WinnowBinary.path
    _ = try RecipeRunner.run(recipe, options: options)
    var inlineOptions = RecipeRunner.Options()
    inlineOptions.executor = "inline"
    _ = try RecipeRunner.run(try RecipeParser.parse(yaml("inline"), source: "inline.yaml"), options: inlineOptions)
    let db = try SQLiteDatabase(path: dir.path + "/local/out/.winnow/run.sqlite")
    let started = try db.rows("SELECT pass, task FROM attempts ORDER BY rowid").map { [$0[0].int ?? -1, $0[1].int ?? -1] }
    #expect(started == [[0, 1], [0, 3], [0, 4], [0, 2], [0, 0], [1, 0], [1, 1], [2, 1], [2, 3], [2, 4], [2, 2], [2, 0]])
    let inline = snapshot(dir, records: false, under: "inline")
    let local = snapshot(dir, records: false, under: "local")
    #expect(inline.keys.filter { $0.hasPrefix("out/part-") }.count == 5)
    #expect(local.keys.sorted() == inline.keys.sorted())
    for (k, v) in inline where local[k] != v { Issue.record("local/\(k) differs from inline/\(k)") }
  }

  @Test("mb_per_task: a large plain file is read in parts at line ends, by tasks of their own; the documents, bad lines and counts are the whole file's")
  func linePartsPerTask() throws {
    let dir = try TempDir()
    // About 2.6 MiB of documents with a bad line in the middle (a later part), texts repeated
    // for exact_dedup; beside it a small file and a compressed one, which stay whole.
    var lines: [[UInt8]] = []
    var size = 0
    var i = 0
    while size < 2_700_000 {
      let line =
        i == 9000
        ? Array("{\"text\": broken".utf8)
        : docLine([("text", jsonQuote("line \(i % 5000) " + String(repeating: "Grüße wörter ", count: 1 + i % 5000 % 23)))])
      size += line.count + 1
      lines.append(line)
      i += 1
    }
    _ = try dir.writeLines("in/a-big.jsonl", lines)
    _ = try dir.writeLines("in/b-small.jsonl", [docLine([("text", jsonQuote("line 3 small"))])])
    let sink = try openByteSink(path: dir.path + "/in/c-packed.jsonl.zst", compression: .zstd, level: 3)
    // Hexadecimal noise: it stays larger than a part once compressed.
    var state: UInt64 = 1
    let noise = (0..<12000).map { k -> [UInt8] in
      let hex = (0..<14).map { _ -> String in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return String(state >> 1, radix: 16)
      }
      return docLine([("text", jsonQuote("noise \(k) " + hex.joined(separator: " ")))])
    }
    try sink.write(Array(noise.joined(separator: [0x0A])) + [0x0A])
    try sink.finish()
    #expect(readBytes(dir.path + "/in/c-packed.jsonl.zst").count > 1 << 20, "larger than a part, compressed")
    let recipe = { (name: String, split: Bool) in
      try RecipeParser.parse(
        runnerRecipe(
          dir, out: "\(name)/out", stages: "  - exact_dedup: {buckets: 2}",
          output: "\n  compression: none\n  quarantine: \(dir.path)/\(name)/q.jsonl", top: split ? "mb_per_task: 1" : ""),
        source: "\(name).yaml")
    }
    let plan = try Plan.make(try recipe("split", true))
    // 2.6 MiB in parts of about 1 MiB: three, then the two files that stay whole.
    #expect(plan.inputs.count == 5)
    #expect(plan.inputs.prefix(3).allSatisfy { $0.lines != nil && $0.path.hasSuffix("a-big.jsonl") })
    #expect(plan.inputs.suffix(2).allSatisfy { $0.lines == nil })
    #expect(plan.passes[0].tasks == [[0], [1], [2], [3], [4]])
    #expect(plan.fingerprint != (try Plan.make(try recipe("whole", false))).fingerprint)
    let parts = plan.inputs.prefix(3).map { $0.lines! }
    #expect(parts.map(\.start) == [0, parts[0].end, parts[1].end] && parts[2].end == parts[2].fileBytes)
    #expect(parts[1].firstLine > 1000 && parts[2].firstLine > parts[1].firstLine)

    var results: [String: RecipeRunner.Result] = [:]
    for (name, executor, workers, split) in [("whole", "inline", 1, false), ("split", "inline", 1, true), ("local", "local", 2, true)] {
      var options = RecipeRunner.Options()
      options.executor = executor
      options.workers = workers
      options.workerBinary = WinnowBinary.path
      results[name] = try RecipeRunner.run(try recipe(name, split), options: options)
    }
    #expect(results["whole"]!.tasksRun == 3 + 2 + 3)
    #expect(results["split"]!.tasksRun == 5 + 2 + 5)
    let whole = snapshot(dir, records: false, under: "whole")
    let joined = { (snap: [String: [UInt8]]) in
      snap.keys.filter { $0.hasPrefix("out/part-") }.sorted().flatMap { snap[$0]! }
    }
    #expect(joined(whole).count > 1 << 20)
    // The quarantined line keeps its line number in the file (and the file's name).
    let q = jsonLines(dir.path + "/whole/q.jsonl")
    #expect(q.count == 1 && (q.first?["line"] as? Int) == 9001)
    for name in ["split", "local"] {
      let snap = snapshot(dir, records: false, under: name)
      #expect(joined(snap) == joined(whole), "\(name): the same documents in the same order")
      #expect(snap["q.jsonl"] == whole["q.jsonl"], "\(name)")
      #expect(results[name]!.stats.documentsRead == results["whole"]!.stats.documentsRead)
      #expect(results[name]!.stats.documentsWritten == results["whole"]!.stats.documentsWritten)
      #expect(results[name]!.stats.stages.map(\.droppedByReason) == results["whole"]!.stats.stages.map(\.droppedByReason))
    }
    #expect(results["whole"]!.stats.stages[0].dropped > 1000)
    #expect(snapshot(dir, records: false, under: "split") == snapshot(dir, records: false, under: "local"))

    // Status counts files, not parts, and the run database names each task's part.
    let splitDir = RunDirectory(dir.path + "/split/out")
    let status = try RunStatus.describe(splitDir)
    #expect(status.contains("3 input files in 5 parts"), "\(status)")
    let wholeStatus = try RunStatus.describe(RunDirectory(dir.path + "/whole/out"))
    #expect(wholeStatus.contains("3 input files") && !wholeStatus.contains("parts"), "\(wholeStatus)")
    let db = try RunDatabase(path: splitDir.databasePath)
    let names = try db.db.rows("SELECT inputs FROM tasks WHERE pass = 0 ORDER BY task").map { $0[0].text ?? "" }
    #expect(names.count == 5)
    #expect(names[1].hasSuffix("a-big.jsonl (bytes \(parts[1].start)–\(parts[1].end - 1), from line \(parts[1].firstLine))"), "\(names)")
    #expect(names[3].hasSuffix("b-small.jsonl"), "\(names)")

    // The plan keeps the parts; a damaged one is refused, naming it.
    let planPath = dir.path + "/split/out/.winnow/plan.json"
    var planObject = try #require(try JSONSerialization.jsonObject(with: Data(readBytes(planPath))) as? [String: Any])
    var stored = try #require(planObject["input_lines"] as? [Any])
    #expect((stored[1] as? [Int]) == [parts[1].start, parts[1].end, parts[1].firstLine, parts[1].fileBytes])
    stored[1] = [parts[1].end + 5, parts[1].end, parts[1].firstLine, parts[1].fileBytes]
    planObject["input_lines"] = stored
    try JSONSerialization.data(withJSONObject: planObject).write(to: URL(fileURLWithPath: planPath))
    let e = try #require(winnowError { _ = try RecipeRunner.run(try recipe("split", true)) })
    #expect(e.message.contains(planPath) && e.message.contains("input_lines[1] is not a part of a file"))
  }

  @Test("local: resume after deleting one task record re-runs that task alone, to the same bytes")
  func resumeLocal() throws {
    try resumeAfterDeletingRecord(executor: "local")
  }

  @Test("local: a failing task does not stop the others; exit code 3; fixed, the run resumes and completes")
  func strictFailureLocal() throws {
    try strictFailureResumes(executor: "local")
  }

  @Test("a run started inline resumes under the local executor (the executor is not part of the plan)")
  func resumeAcrossExecutors() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 3, docs: 10)
    let recipe = try RecipeParser.parse(runnerRecipe(dir), source: "r.yaml")
    let first = try RecipeRunner.run(recipe)
    let before = snapshot(dir)
    try FileManager.default.removeItem(atPath: dir.path + "/out/.winnow/tasks/p0-t00001.json")
    var options = RecipeRunner.Options()
    options.executor = "local"
    options.workers = 3
    options.workerBinary = WinnowBinary.path
    let second = try RecipeRunner.run(recipe, options: options)
    #expect(second.tasksRun == 1 && second.tasksSkipped == 2)
    #expect(snapshot(dir, records: false) == before.filter { !$0.key.contains(".winnow/") })
    #expect(comparableStats(try statsObject(second.statsPath)) == comparableStats(try statsObject(first.statsPath)))
  }

  @Test("a worker that is killed is tried again, up to max_retries")
  func retryAfterKill() throws {
    // A fake winnow that dies by a signal on its first attempt of every task, then runs the
    // real binary: the run succeeds with the same output as inline.
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 3, docs: 10)
    let marker = dir.path + "/attempted"
    try FileManager.default.createDirectory(atPath: marker, withIntermediateDirectories: true)
    let script = try dir.write(
      "flaky-winnow",
      Array(
        """
        #!/bin/sh
        # args: worker RUN_DIR --pass P --task T
        m="\(marker)/$4-$6"
        if [ ! -e "$m" ]; then touch "$m"; kill -9 $$; fi
        exec "\(WinnowBinary.path)" "$@"

        """.utf8))
    chmod(script, 0o755)
    let recipe = try RecipeParser.parse(runnerRecipe(dir, top: "max_retries: 1"), source: "r.yaml")
    var options = RecipeRunner.Options()
    options.executor = "local"
    options.workers = 2
    options.workerBinary = script
    var logged: [String] = []
    options.log = { logged.append($0) }
    let result = try RecipeRunner.run(recipe, options: options)
    #expect(result.tasksRun == 3)
    #expect(logged.count == 3, "\(logged)")
    #expect(logged.allSatisfy { $0.contains("signal 9") && $0.contains("trying again") }, "\(logged)")
    let reference = try RecipeRunner.run(try RecipeParser.parse(runnerRecipe(dir, out: "ref"), source: "r.yaml"))
    #expect(snapshot(dir, records: false, under: "out") == snapshot(dir, records: false, under: "ref"))
    #expect(reference.stats.documentsWritten == result.stats.documentsWritten)

    // With no retries left the run fails, names the task and keeps the others.
    let dir2 = try TempDir()
    _ = try Corpus.write(dir2, files: 2, docs: 5)
    let always = try dir2.write(
      "dying-winnow",
      Array("#!/bin/sh\ncase \"$6\" in 1) kill -9 $$;; esac\nexec \"\(WinnowBinary.path)\" \"$@\"\n".utf8))
    chmod(always, 0o755)
    options.workerBinary = always
    logged = []
    let recipe2 = try RecipeParser.parse(runnerRecipe(dir2, top: "max_retries: 1"), source: "r.yaml")
    let e = try #require(winnowError { _ = try RecipeRunner.run(recipe2, options: options) })
    #expect(e.message.contains("p0-t00001") && e.message.contains("signal 9"), "\(e.message)")
    #expect(e.message.contains(dir2.path + "/in/file-1.jsonl"), "\(e.message)")
    #expect(!e.message.contains("p0-t00000"), "\(e.message)")
    #expect(RunDirectory(dir2.path + "/out").readRecord(pass: 0, task: 0) != nil)
    #expect(logged.filter { $0.contains("trying again") }.count == 1, "\(logged)")
  }

  @Test("two local runs at once in one process, beside another child process: each waits for its own children")
  func concurrentRunsInOneProcess() throws {
    // A trainer (or this test runner) may run recipes on several threads and start processes
    // of its own: an executor must not reap children that are not its workers.
    let dirs = try (0..<2).map { _ in try TempDir() }
    for d in dirs { _ = try Corpus.write(d, files: 6, docs: 20) }
    let recipes = try dirs.map { try RecipeParser.parse(runnerRecipe($0), source: "r.yaml") }
    let box = ResultBox()
    let group = DispatchGroup()
    for r in recipes {
      group.enter()
      Thread.detachNewThread {
        var o = RecipeRunner.Options()
        o.executor = "local"
        o.workers = 2
        o.workerBinary = WinnowBinary.path
        box.add(Result { try RecipeRunner.run(r, options: o).tasksRun }.mapError { "\($0)" })
        group.leave()
      }
    }
    // Meanwhile, children of this process that are not workers exit with a code of their own.
    var codes: [Int32] = []
    while group.wait(timeout: .now()) == .timedOut && codes.count < 200 {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/bin/sh")
      p.arguments = ["-c", "exit 7"]
      try p.run()
      p.waitUntilExit()
      codes.append(p.terminationStatus)
    }
    let finished = group.wait(timeout: .now() + 120) == .success
    #expect(finished, "a local run hung: its workers were reaped by someone else")
    #expect(box.values.map { try? $0.get() } == [6, 6], "\(box.values)")
    #expect(!codes.isEmpty)
    #expect(codes.allSatisfy { $0 == 7 }, "exit codes of the other children: \(codes)")
  }
}

/// Results handed over from other threads.
final class ResultBox: @unchecked Sendable {
  let lock = NSLock()
  var items: [Result<Int, String>] = []
  func add(_ r: Result<Int, String>) { lock.withLock { items.append(r) } }
  var values: [Result<Int, String>] { lock.withLock { items } }
}

extension String: @retroactive Error {}
