import Foundation
import Testing
import WinnowCore

@testable import WinnowRecipe

/// Recipes over Parquet: row groups split over tasks, columns projected, Parquet output; the
/// same bytes from every executor, and resumed runs that trust only what they should.
@Suite("runner: Parquet inputs and outputs")
struct ParquetRunTests {
  /// `dir/in/data.parquet`: 60 rows in row groups of about 10, with an extra nested column.
  func writeInput(_ dir: TempDir) throws -> [String] {
    try FileManager.default.createDirectory(atPath: dir.path + "/in", withIntermediateDirectories: true)
    var options = ParquetWriteOptions()
    options.rowGroupBytes = 900
    let writer = try ParquetFileWriter(sink: try FileSink(path: dir.path + "/in/data.parquet"), options: options)
    var lines: [String] = []
    for i in 0..<60 {
      let words = (0..<(i % 7 + 1)).map { "w\($0 * i % 13)" }.joined(separator: " ")
      let lang = ["en", "de", "fr"][i % 3]
      let line = #"{"id":"p\#(i)","text":"\#(words)","lang":"\#(lang)","meta":{"n":\#(i),"tags":["a","b"]}}"#
      lines.append(line)
      var b = Array(line.utf8)
      try b.withUnsafeMutableBufferPointer { try writer.write(line: UnsafeBufferPointer($0)) }
    }
    try writer.finish()
    return lines
  }

  func rows(_ paths: [String]) throws -> [String] {
    var out: [String] = []
    for p in paths.sorted() {
      let r = try ParquetRowReader(path: p)
      let b = ByteBuffer()
      while try r.nextRow(into: b) { out.append(String(decoding: b.bytes, as: UTF8.self)) }
    }
    return out
  }

  @Test("row_groups_per_task splits a file over tasks; input.columns; output.format parquet; inline == local; resume skips")
  func splitAndWrite() throws {
    let dir = try TempDir()
    let lines = try writeInput(dir)
    let groups = try ParquetFileMetadata.read(path: dir.path + "/in/data.parquet").rowGroups.count
    #expect(groups >= 5)
    let yaml = { (out: String) in
      runnerRecipe(
        dir, out: out, output: "\n  format: parquet\n  compression: snappy", top: "row_groups_per_task: 2",
        input: "\n  columns: [id, text, lang]")
    }
    var results: [[String]] = []
    var shardBytes: [[[UInt8]]] = []
    for (k, executor) in ["inline", "local"].enumerated() {
      var options = RecipeRunner.Options()
      options.executor = executor
      options.workers = 2
      options.workerBinary = WinnowBinary.path
      let result = try RecipeRunner.run(try RecipeParser.parse(yaml("out\(k)"), source: "r.yaml"), options: options)
      #expect(result.tasksRun >= (groups + 1) / 2)
      let shards = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out\(k)").filter { $0.hasSuffix(".parquet") }
        .sorted().map { dir.path + "/out\(k)/" + $0 }
      #expect(shards.count == (groups + 1) / 2)
      results.append(try rows(shards))
      shardBytes.append(shards.map { readBytes($0) })
      let plan = try String(contentsOfFile: dir.path + "/out\(k)/.winnow/plan.json", encoding: .utf8)
      #expect(plan.contains("input_row_groups"))
    }
    #expect(shardBytes[0] == shardBytes[1])
    // The field stage keeps en and de; the columns read are id, text and lang (no meta).
    let expected = lines.enumerated().filter { $0.offset % 3 != 2 }.map { line in
      String(line.element[..<line.element.range(of: #","meta":"#)!.lowerBound]) + "}"
    }
    #expect(results[0] == expected)
    // Run again: every task is done and trusted.
    var options = RecipeRunner.Options()
    options.executor = "inline"
    let again = try RecipeRunner.run(try RecipeParser.parse(yaml("out0"), source: "r.yaml"), options: options)
    #expect(again.tasksRun == 0)
    // The input changed (one more row group): a different plan, refused without --fresh.
    try FileManager.default.removeItem(atPath: dir.path + "/in/data.parquet")
    var options2 = ParquetWriteOptions()
    options2.rowGroupBytes = 300
    let w = try ParquetFileWriter(sink: try FileSink(path: dir.path + "/in/data.parquet"), options: options2)
    for line in lines {
      var b = Array(line.utf8)
      try b.withUnsafeMutableBufferPointer { try w.write(line: UnsafeBufferPointer($0)) }
    }
    try w.finish()
    #expect(throws: WinnowError.self) { try RecipeRunner.run(try RecipeParser.parse(yaml("out0"), source: "r.yaml"), options: options) }
  }

  @Test("a column the file lacks, asked for in input.columns, is refused before any task runs, naming the file and its columns")
  func missingColumn() throws {
    let dir = try TempDir()
    _ = try writeInput(dir)
    let yaml = runnerRecipe(dir, top: "max_retries: 0", input: "\n  columns: [id, text, nope]")
    var options = RecipeRunner.Options()
    options.executor = "inline"
    do {
      _ = try RecipeRunner.run(try RecipeParser.parse(yaml, source: "r.yaml"), options: options)
      Issue.record("a missing column was accepted")
    } catch {
      #expect(error.message.contains("data.parquet has no column 'nope' (it has: id, text, lang, meta)"), "\(error.message)")
      #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/.winnow/plan.json"))
    }
  }
}
