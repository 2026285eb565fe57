import Foundation
import Testing
import WinnowCore

@testable import WinnowRecipe
@testable import WinnowReport

#if canImport(FoundationXML)
  import FoundationXML
#endif

@Suite("winnow report")
struct ReportTests {
  @Test("the report of a finished run: charts per section, stage names, counts and the balance check")
  func finishedRun() throws {
    let dir = try TempDir()
    try Fixture.writeInputs(dir)
    let result = try Fixture.run(dir)
    let runnerStats = try #require(FileManager.default.contents(atPath: result.statsPath))
    let s = result.stats
    #expect(s.documentsRead > 200 && s.documentsWritten > 50 && s.quarantined == 3)

    let written = try RunReport.write(RunDirectory(result.outputDirectory), to: dir.path + "/report.html")
    #expect(written.htmlPath == dir.path + "/report.html")
    let html = try String(contentsOfFile: written.htmlPath, encoding: .utf8)

    // Well-formed: an XML parser reads the whole page.
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    let parser = XMLParser(data: Data(html.utf8))
    #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError)) at line \(parser.lineNumber)")
    // Self-contained: no scripts, nothing fetched.
    #expect(!html.contains("<script"))
    #expect(
      !html.contains("http://")
        || !html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
    #expect(!html.contains("https://"))

    // A chart in every chart section, and bars in every chart.
    for id in ["funnel", "reasons", "output", "tasks"] {
      let body = try #require(section(html, id), "no section \(id)")
      #expect(body.contains("<svg"), "section \(id) has no chart")
    }
    for svg in svgElements(html) {
      #expect(count("<rect class=\"bar\"", in: svg) > 0, "a chart without bars: \(svg.prefix(200))")
    }
    // One bar per task in the timing and attempt charts (3 input files, one task each).
    let tasks = try #require(section(html, "tasks"))
    let charts = svgElements(tasks)
    #expect(charts.count == 2)
    #expect(charts.map { count("<rect class=\"bar\"", in: $0) } == [3, 3])

    // Stage names, the counts, and the balance spelled out.
    for name in ["length", "field", "sample"] { #expect(html.contains("<code>\(name)</code>")) }
    #expect(html.contains("<h1>Run report: report-test "))
    #expect(html.contains(">\(s.documentsRead)<"), "documents read")
    #expect(html.contains(">\(s.documentsWritten)<"), "documents written")
    let balance =
      "read \(s.documentsRead) = written \(s.documentsWritten) + dropped \(s.dropped) + quarantined \(s.quarantined)"
    #expect(html.contains("✓ Balanced — every document is accounted for: \(balance)"))
    #expect(html.contains("id=\"balance\""))
    for st in s.stages {
      #expect(html.contains("in \(st.documentsIn), kept \(st.kept), dropped \(st.dropped)"), "funnel row of \(st.name)")
    }
    // Drop and quarantine reasons.
    let reasons = try #require(section(html, "reasons"))
    for r in ["too_few_words", "not_in_set", "not_sampled", "invalid_json"] {
      #expect(reasons.contains(r), "reason \(r)")
    }

    // Histograms: length in characters and words, and every numeric field, nested ones too.
    let output = try #require(section(html, "output"))
    for id in ["hist-characters", "hist-words", "hist-field-score", "hist-field-meta.quality"] {
      #expect(output.contains("id=\"\(id)\""), "no histogram \(id)")
    }
    #expect(!output.contains("hist-field-id"))
    #expect(output.contains("all \(s.documentsWritten) documents"), "says which documents it read")
    #expect(output.contains("The shards hold exactly the \(s.documentsWritten) documents"))
    // No dedup stage, no dedup section.
    #expect(section(html, "dedup") == nil)

    // stats.json is rewritten byte for byte as `winnow run` wrote it.
    #expect(written.statsPath == result.statsPath)
    #expect(FileManager.default.contents(atPath: result.statsPath) == runnerStats)
  }

  @Test("a partial run is reported as far as its finished tasks go, and so is its stats.json")
  func partialRun() throws {
    let dir = try TempDir()
    try Fixture.writeInputs(dir)
    let result = try Fixture.run(dir)
    let runDir = RunDirectory(result.outputDirectory)
    // As if the last task had never finished: no record, no shard, no stats.json.
    let last = try #require(runDir.readRecord(pass: 0, task: 2))
    try FileManager.default.removeItem(atPath: runDir.recordPath(pass: 0, task: 2))
    for f in last.stats.outputFiles { try FileManager.default.removeItem(atPath: f) }
    try FileManager.default.removeItem(atPath: result.statsPath)

    let written = try RunReport.write(runDir)
    #expect(written.htmlPath == runDir.path + "/report.html")
    let report = written.report
    #expect(!report.isComplete)
    #expect(report.tasksDone == 2)
    #expect(report.stats.documentsRead == result.stats.documentsRead - last.stats.documentsRead)
    #expect(report.stats.isBalanced)
    let html = try String(contentsOfFile: written.htmlPath, encoding: .utf8)
    #expect(html.contains("partial: 2 of 3 tasks done"))
    #expect(html.contains("This run is not complete"))

    let stats = try readJSON(runDir.statsPath)
    #expect(stats["tasks"] as? Int == 3)
    #expect(stats["tasks_done"] as? Int == 2)
    #expect(stats["documents_read"] as? Int == report.stats.documentsRead)
    #expect(stats["balanced"] as? Bool == true)
    #expect(stats["recipe"] as? String == "report-test")
    #expect(stats["executor"] as? String == "inline")
    #expect(stats["seed"] as? Int == 7)
  }

  @Test("a file read in parts: the page counts files and parts, and names each task's part")
  func inputParts() throws {
    let dir = try TempDir()
    try Fixture.writeInputs(dir, files: 2, perFile: 40)
    // One file of about 2.5 MiB, cut into parts of 1 MiB by `mb_per_task`.
    let line = #"{"id":"big","text":"\#(String(repeating: "grain and chaff ", count: 60))"}"#
    try dir.write("in/part-9.jsonl", String(repeating: line + "\n", count: 2_500_000 / line.utf8.count))
    let recipe = try RecipeParser.parse("mb_per_task: 1\n" + Fixture.recipe(dir, stages: "  - length: {min_words: 5}"), source: "parts.yaml")
    var options = RecipeRunner.Options()
    options.executor = "inline"
    let result = try RecipeRunner.run(recipe, options: options)
    let report = try RunReport.load(RunDirectory(result.outputDirectory))
    let counts = report.plan.inputCounts
    #expect(counts.files == 3 && counts.parts >= 5, "\(counts)")
    let names = report.tasks.filter { $0.pass == 0 }.flatMap(\.inputs)
    #expect(names.filter { $0.contains("part-9.jsonl (bytes ") && $0.contains(", from line ") }.count == counts.parts - 2, "\(names)")
    let html = try report.html()
    #expect(html.contains("3 files in \(counts.parts) parts"))
    #expect(html.contains("part-9.jsonl (bytes 0–"))
  }

  @Test("a dedup run: duplicates per task, and cluster sizes from the reduce pass that add up")
  func dedupRun() throws {
    let dir = try TempDir()
    try Fixture.writeInputs(dir, files: 2, perFile: 40)
    // The same documents again under other ids: every one of them is a duplicate.
    let copy = try String(contentsOfFile: dir.path + "/in/part-0.jsonl", encoding: .utf8)
    try dir.write("in/part-2.jsonl", copy.replacingOccurrences(of: #""id":"f0-"#, with: #""id":"copy-"#))
    let result = try Fixture.run(dir, stages: "  - length: {min_words: 5}\n  - exact_dedup: {}")
    let dup = try #require(result.stats.stages.last?.droppedByReason["duplicate"])
    #expect(dup > 0)

    let html = try RunReport.load(RunDirectory(result.outputDirectory)).html()
    let dedup = try #require(section(html, "dedup"))
    #expect(dedup.contains("dropped \(dup) as duplicates"))
    // Every document reaching the dedup stage is in exactly one cluster; every cluster keeps one.
    var clusters = 0
    var documents = 0
    for t in try RunReport.load(RunDirectory(result.outputDirectory)).tasks where t.kind == "reduce" {
      for (size, n) in t.record?.stats.stages.first?.clusterSizes ?? [:] {
        clusters += n
        documents += (Int(size) ?? 0) * n
      }
    }
    let reached = try #require(result.stats.stages.last?.documentsIn)
    #expect(documents == reached)
    #expect(documents - clusters == dup)
    #expect(dedup.contains("Cluster sizes"))
    #expect(dedup.contains("clusters by size"))
    #expect(dedup.contains("<svg"))
    // The counts are those of `winnow run`, not of every pass added up.
    #expect(html.contains("✓ Balanced"))
    #expect(html.contains(">\(result.stats.documentsRead)<"))
  }

  @Test("a directory that is not a run directory is a usage error")
  func notARunDirectory() throws {
    let dir = try TempDir()
    for path in [dir.path, dir.path + "/missing"] {
      do {
        _ = try RunReport.load(RunDirectory(path))
        Issue.record("no error for \(path)")
      } catch {
        #expect(error.kind == .usage)
        #expect(error.message.contains(path))
        #expect(error.message.contains("run directory") || error.message.contains("no such directory"))
      }
    }
  }

  @Test("histogram bins")
  func histograms() throws {
    let ints = try #require(Histogram([1, 2, 2, 3, 3, 3]))
    #expect(ints.scale == .integer && ints.counts == [1, 2, 3] && ints.overflow == 0)
    let long = try #require(Histogram((1...5000).map { Double($0 * $0) }))
    #expect(long.scale == .log && long.counts.reduce(0, +) == 5000)
    let scores = try #require(Histogram((0..<1000).map { Double($0) / 1000 } + [1000]))
    #expect(scores.scale == .linear && scores.overflow == 1 && scores.counts.reduce(0, +) == 1000)
    #expect(Histogram([]) == nil)
    #expect(Histogram([5, 5, 5])?.counts == [3])
  }
}
