import Foundation
import Testing
import WinnowCore

@testable import WinnowRecipe

/// minhash_dedup and bloom_dedup through the runner: their passes are planned, run, resumed,
/// and give the same bytes for any task split.
@Suite("near-duplicate stages in recipe runs")
struct NearDedupRunTests {
  static func text(_ seed: Int, words: Int = 120) -> String {
    var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 7
    return (0..<words).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      // Letters only: digits would all become "0" in MinHash's simplified text.
      let letters = Array("abcdefghijklmnopqrstuvwxyz")
      return String([letters[Int((state >> 58) % 26)], letters[Int((state >> 50) % 26)], letters[Int((state >> 40) % 26)]])
    }.joined(separator: " ")
  }

  /// Three files: originals, then copies and near copies of some of them, then more.
  static func writeInputs(_ dir: TempDir) throws {
    var w = Self.text(1).split(separator: " ").map(String.init)
    w[60] = "changed"
    let near = w.joined(separator: " ")
    try dir.writeLines("in/a.jsonl", [docLine(id: "a1", text: text(1)), docLine(id: "a2", text: text(2)), docLine(id: "s", text: "too short")])
    try dir.writeLines("in/b.jsonl", [docLine(id: "b1", text: near), docLine(id: "b2", text: text(3)), docLine(id: "b3", text: text(2).uppercased())])
    try dir.writeLines("in/c.jsonl", [docLine(id: "c1", text: text(4)), docLine(id: "c2", text: "too short"), docLine(id: "c3", text: text(3) + ".")])
  }

  func recipe(_ dir: TempDir, out: String, filesPerTask: Int, stage: String) throws -> Recipe {
    try RecipeParser.parse(
      """
      name: near
      input: {paths: ["\(dir.path)/in"]}
      output: {path: "\(dir.path)/\(out)", compression: none}
      files_per_task: \(filesPerTask)
      stages:
        - length: {min_words: 2}
        - \(stage)
      """, source: "near.yaml")
  }

  func output(_ dir: TempDir, _ out: String) throws -> [[UInt8]] {
    try dir.list(out).filter { $0.hasPrefix("part-") }.flatMap { try decodedLines(dir.path + "/" + out + "/" + $0) }
  }

  @Test("minhash_dedup: map, band reduce, cluster, apply; one task or three, same bytes; resumable")
  func minhash() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let one = try recipe(dir, out: "one", filesPerTask: 3, stage: "minhash_dedup: {exact_check: true, buckets: 5}")
    let plan = try Plan.make(one)
    #expect(plan.passes.map(\.kind) == [.documents, .reduce, .reduce, .apply])
    #expect(plan.passes.map(\.tasks.count) == [1, 5, 1, 1])
    let r1 = try RecipeRunner.run(one)
    let three = try recipe(dir, out: "three", filesPerTask: 1, stage: "minhash_dedup: {exact_check: true, buckets: 5}")
    let r3 = try RecipeRunner.run(three)
    let lines = try output(dir, "one")
    #expect(lines.map(parseObject).map { $0["id"] as? String } == ["a1", "a2", "s", "b2", "c1", "c2"])
    #expect(try output(dir, "three") == lines)
    #expect(r1.stats.stages.last?.droppedByReason == ["near_duplicate": 3])
    #expect(r3.stats.stages.last?.droppedByReason == ["near_duplicate": 3])
    // A second run finds every task done.
    let again = try RecipeRunner.run(three)
    #expect(again.tasksRun == 0 && again.tasksSkipped == 3 + 5 + 1 + 3)
    #expect(try output(dir, "three") == lines)
  }

  @Test("minhash_dedup keep: datatrove: one task or three, same bytes; resumable")
  func minhashKeepDatatrove() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let stage = "minhash_dedup: {keep: datatrove, buckets: 5}"
    let r1 = try RecipeRunner.run(try recipe(dir, out: "one", filesPerTask: 3, stage: stage))
    let three = try recipe(dir, out: "three", filesPerTask: 1, stage: stage)
    _ = try RecipeRunner.run(three)
    let lines = try output(dir, "one")
    // Each cluster is a pair, whose first document is the root on datatrove's tie.
    #expect(lines.map(parseObject).map { $0["id"] as? String } == ["a1", "a2", "s", "b2", "c1", "c2"])
    #expect(try output(dir, "three") == lines)
    #expect(r1.stats.stages.last?.droppedByReason == ["near_duplicate": 3])
    let again = try RecipeRunner.run(three)
    #expect(again.tasksRun == 0 && again.tasksSkipped == 3 + 5 + 1 + 3)
    #expect(try output(dir, "three") == lines)
    // The runner checks the stage's files like any other: a damaged tuple run is named.
    let phase = dir.path + "/three/.winnow/phase/g1-minhash_dedup/p0"
    let tuples = try FileManager.default.contentsOfDirectory(atPath: phase).filter { $0.hasSuffix(".tuples") }.sorted()
    #expect(tuples.count == 3 * 5)
    var bytes = readBytes(phase + "/" + tuples[0])
    bytes[bytes.count - 1] ^= 0xFF
    try Data(bytes).write(to: URL(fileURLWithPath: phase + "/" + tuples[0]))
    for t in 0..<5 { try FileManager.default.removeItem(atPath: dir.path + "/three/.winnow/tasks/p1-t0000\(t).json") }
    let e = winnowError { _ = try RecipeRunner.run(three) }
    #expect(e?.message.contains(tuples[0]) == true)
  }

  @Test("minhash_dedup: a damaged band run stops the run with the file's name")
  func corruptRun() throws {
    let dir = try TempDir()
    try Self.writeInputs(dir)
    let r = try recipe(dir, out: "o", filesPerTask: 1, stage: "minhash_dedup: {buckets: 2}")
    _ = try RecipeRunner.run(r)
    // Damage a map run, forget the reduce tasks that read it, run again.
    let phase = dir.path + "/o/.winnow/phase/g1-minhash_dedup/p0"
    let run = try #require(try FileManager.default.contentsOfDirectory(atPath: phase).filter { $0.hasSuffix(".bands") }.sorted().first)
    var bytes = readBytes(phase + "/" + run)
    bytes[bytes.count - 1] ^= 0xFF
    try Data(bytes).write(to: URL(fileURLWithPath: phase + "/" + run))
    for t in 0..<2 { try FileManager.default.removeItem(atPath: dir.path + "/o/.winnow/tasks/p1-t0000\(t).json") }
    let e = winnowError { _ = try RecipeRunner.run(r) }
    #expect(e?.message.contains(run) == true)
    #expect(e?.message.contains("corrupt") == true)
  }

  @Test("bloom_dedup: map, filter, apply; the same bytes as one task")
  func bloom() throws {
    let dir = try TempDir()
    try dir.writeLines("in/a.jsonl", [docLine(id: "a", text: "Head a, long and its own.\n\nShared block."), docLine(id: "b", text: "Shared block.")])
    try dir.writeLines("in/b.jsonl", [docLine(id: "c", text: "Head c, long and its own.\n\nShared block.\n\nTail.")])
    let one = try RecipeRunner.run(try recipe(dir, out: "one", filesPerTask: 2, stage: "bloom_dedup: {}"))
    _ = try RecipeRunner.run(try recipe(dir, out: "two", filesPerTask: 1, stage: "bloom_dedup: {}"))
    let lines = try output(dir, "one")
    #expect(try output(dir, "two") == lines)
    let docs = lines.map(parseObject)
    #expect(docs.map { $0["id"] as? String } == ["a", "c"])
    #expect(docs[1]["text"] as? String == "Head c, long and its own.\n\nTail.")
    #expect(one.stats.stages.last?.droppedByReason == ["duplicate_text": 1])
  }
}
