import Foundation
import Testing
import WinnowCore
import WinnowTestSupport

@testable import WinnowRecipe

/// A stage of the test's own, as a library user would write one: keeps each document `times`
/// times (epochs), or drops documents whose `lang` is `fr`.
final class EpochStage: DocumentStage {
  let times: Int
  var started = 0
  init(times: Int) { self.times = times }
  func start(_ context: StageRunContext) throws(WinnowError) { started += 1 }
  func process(_ doc: Document) -> Verdict {
    if case .string("fr")? = doc.field("lang") { return .drop("french") }
    return .copies(times)
  }

  static let descriptor = StageDescriptor(
    name: "epochs", summary: "Keeps each document several times.",
    parameters: [ParameterSpec("times", .int(min: 1, max: 100), default: .int(1), help: "copies of each document")],
    make: { (p, _) throws(WinnowError) in EpochStage(times: p.int("times") ?? 1) })
}

/// Lines of every shard under `dir` (recursively), sorted by path.
func shardLines(_ dir: String) -> [[String: Any]] {
  let files = (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? [])
    .filter { fileName(of: $0).hasPrefix("part-") }.sorted()
  return files.flatMap { (try? decodedLines(dir + "/" + $0))?.map(parseObject) ?? [] }
}

@Suite("composition: a program's own stages in recipes; sinks in recipes")
struct CompositionTests {
  func registry() -> StageRegistry {
    var r = StageCatalog.standard
    r.register(EpochStage.descriptor)
    return r
  }

  @Test("a stage registered by the program runs in a recipe; its copies balance the run")
  func customStageInRecipe() throws {
    let dir = try TempDir()
    let corpus = try Corpus.write(dir, files: 3, docs: 20)
    let yaml = runnerRecipe(dir, stages: "  - epochs: {times: 3}\n  - length: {min_words: 2}")
    // The standard catalog does not know it.
    #expect(throws: WinnowError.self) { try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml")) }
    var options = RecipeRunner.Options()
    options.registry = registry()
    let result = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"), options: options)
    let s = result.stats
    let docs = corpus.docs.flatMap { $0 }
    let keptOnce = docs.filter { $0.lang != "fr" && String(decoding: $0.bytes, as: UTF8.self).count > 0 }
    #expect(s.copiesAdded == 2 * (s.documentsWritten / 3))
    #expect(s.documentsWritten % 3 == 0 && s.documentsWritten > 0 && s.documentsWritten <= 3 * keptOnce.count)
    #expect(s.isBalanced)
    let stats = try statsObject(result.statsPath)
    #expect(stats["copies_added"] as? Int == s.copiesAdded)
    #expect(stats["balanced"] as? Bool == true)
    // Each document is followed by its copies; copy k carries #k after its id (FILE#LINE when
    // the document has none).
    let lines = shardLines(result.outputDirectory)
    #expect(lines.count == s.documentsWritten)
    for k in stride(from: 0, to: lines.count, by: 3) {
      let n = lines[k]["n"] as? Int
      #expect(lines[k + 1]["n"] as? Int == n && lines[k + 2]["n"] as? Int == n)
      let second = lines[k + 1]["id"] as? String ?? ""
      #expect(second.hasSuffix("#1") && lines[k + 2]["id"] as? String == String(second.dropLast()) + "2")
      if let first = lines[k]["id"] as? String { #expect(second == first + "#1") }
    }
    // Resume: nothing to do, same counts.
    let again = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"), options: options)
    #expect(again.tasksRun == 0 && again.stats.documentsWritten == s.documentsWritten)
  }

  @Test("copies before a global stage: the stream carries every copy, and exact_dedup sees them as duplicates")
  func copiesReachGlobalStage() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 2, docs: 15, bad: false)
    let yaml = runnerRecipe(dir, stages: "  - epochs: {times: 2}\n  - exact_dedup: {}")
    var options = RecipeRunner.Options()
    options.registry = registry()
    let result = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"), options: options)
    #expect(result.stats.isBalanced)
    #expect(result.stats.copiesAdded > 0)
    // Every copy is an exact duplicate of its first copy: none survives.
    #expect(!shardLines(result.outputDirectory).contains { ($0["id"] as? String)?.contains("#") == true })
  }

  @Test("output.route_by: one directory of shards per value; together the same documents as unrouted")
  func routedOutput() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 3, docs: 25)
    let plain = try RecipeRunner.run(try RecipeParser.parse(runnerRecipe(dir, out: "plain", stages: "  - length: {min_words: 3}"), source: "a.yaml"))
    let routed = try RecipeRunner.run(
      try RecipeParser.parse(
        runnerRecipe(dir, out: "routed", stages: "  - length: {min_words: 3}", output: "\n  route_by: lang"), source: "b.yaml"))
    let langs = Set(try FileManager.default.contentsOfDirectory(atPath: routed.outputDirectory).filter { $0.hasPrefix("lang=") })
    #expect(langs == Set(Corpus.langs.map { "lang=" + $0 }))
    for d in langs {
      let lang = String(d.dropFirst("lang=".count))
      #expect(shardLines(routed.outputDirectory + "/" + d).allSatisfy { $0["lang"] as? String == lang })
    }
    func key(_ o: [String: Any]) -> String { "\(o["id"] ?? "")|\(o["n"] ?? "")|\(o["lang"] ?? "")" }
    #expect(shardLines(routed.outputDirectory).map(key).sorted() == shardLines(plain.outputDirectory).map(key).sorted())
    #expect(routed.stats.documentsWritten == plain.stats.documentsWritten)
    // Resume trusts the routed shards only while they are there.
    let again = try RecipeRunner.run(
      try RecipeParser.parse(
        runnerRecipe(dir, out: "routed", stages: "  - length: {min_words: 3}", output: "\n  route_by: lang"), source: "b.yaml"))
    #expect(again.tasksRun == 0)
  }

  @Test("a shard in a route directory that no run wrote is refused and kept, with and without --fresh")
  func routedForeignShard() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 2, docs: 10)
    let text = runnerRecipe(dir, out: "routed", stages: "  - length: {min_words: 1}", output: "\n  route_by: lang")
    // Someone else's file, named like the shard of task 0, in a directory named like a route.
    let route = dir.path + "/routed/lang=" + Corpus.langs[0]
    try FileManager.default.createDirectory(atPath: route, withIntermediateDirectories: true)
    let theirs = route + "/part-00000-mine.jsonl"
    try "{\"text\": \"keep me\"}\n".write(toFile: theirs, atomically: true, encoding: .utf8)
    for fresh in [false, true] {
      var options = RecipeRunner.Options()
      options.fresh = fresh
      do {
        _ = try RecipeRunner.run(try RecipeParser.parse(text, source: "r.yaml"), options: options)
        Issue.record("a foreign shard in a route directory was accepted (fresh: \(fresh))")
      } catch {
        #expect(error.message.contains(theirs), "\(error.message)")
      }
      #expect(try String(contentsOfFile: theirs, encoding: .utf8) == "{\"text\": \"keep me\"}\n")
    }
    // Once it is moved away the run goes ahead; later, --fresh still refuses a shard no task of
    // the run writes.
    try FileManager.default.removeItem(atPath: theirs)
    _ = try RecipeRunner.run(try RecipeParser.parse(text, source: "r.yaml"))
    try "{\"text\": \"keep me\"}\n".write(toFile: route + "/part-99999-other.jsonl", atomically: true, encoding: .utf8)
    var fresh = RecipeRunner.Options()
    fresh.fresh = true
    #expect(throws: WinnowError.self) { try RecipeRunner.run(try RecipeParser.parse(text, source: "r.yaml"), options: fresh) }
    #expect(FileManager.default.fileExists(atPath: route + "/part-99999-other.jsonl"))
  }

  @Test("output.format names a sink; an unknown one is refused with the known ones")
  func outputFormat() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 1, docs: 5)
    _ = try RecipeParser.parse(runnerRecipe(dir, output: "\n  format: jsonl"), source: "ok.yaml")
    let parquet = try RecipeParser.parse(runnerRecipe(dir, output: "\n  format: parquet\n  compression: snappy"), source: "pq.yaml")
    #expect(parquet.output.parquet?.codec == .snappy)
    do {
      _ = try RecipeParser.parse(runnerRecipe(dir, output: "\n  format: orc"), source: "bad.yaml")
      Issue.record("format: orc was accepted")
    } catch {
      #expect(error.message.contains("'output.format' must be one of jsonl|parquet"), "\(error.message)")
      #expect(error.message.contains("bad.yaml:"), "\(error.message)")
    }
    // Parquet's keys are refused for other formats, and a codec JSON lines do not have for Parquet.
    #expect(throws: WinnowError.self) { try RecipeParser.parse(runnerRecipe(dir, output: "\n  row_group_bytes: 1000"), source: "x.yaml") }
    #expect(throws: WinnowError.self) {
      try RecipeParser.parse(runnerRecipe(dir, output: "\n  format: parquet\n  compression: lzo"), source: "x.yaml")
    }
  }

  @Test("token formats: the tokenizer comes from output or the tokenize stage; their keys are refused for jsonl")
  func tokenFormats() throws {
    let dir = try TempDir()
    _ = try Corpus.write(dir, files: 1, docs: 5)
    func message(_ output: String, stages: String = "") -> String {
      do {
        let text = stages.isEmpty ? runnerRecipe(dir, output: output) : runnerRecipe(dir, stages: stages, output: output)
        let r = try RecipeParser.parse(text, source: "r.yaml")
        return "ok \(r.output.export.map { "\($0.format.rawValue) \($0.tokenizer) \($0.pattern ?? "-") \($0.addSpecialTokens)" } ?? "none")"
      } catch {
        return error.message
      }
    }
    #expect(message("\n  format: megatron\n  tokenizer: t.json") == "ok megatron t.json - true")
    #expect(message("\n  format: tokens", stages: "  - tokenize: {tokenizer: r.tiktoken, pattern: cl100k, add_special_tokens: false}")
      == "ok tokens r.tiktoken cl100k false")
    #expect(message("\n  format: megatron").contains("needs a tokenizer"))
    #expect(message("\n  tokenizer: t.json").contains("'output.tokenizer' is for the token formats"))
    #expect(message("\n  format: megatron\n  tokenizer: t.json\n  name: ../x").contains("'output.name'"))
  }
}
