import Foundation
import Testing

@testable import WinnowCore

@Suite(.enabled(if: toolsAvailable, "zstd or gzip CLI not found"))
struct WriterTests {
  static let lines = sampleLines(1000, seed: 7)

  func writeAll(_ spec: OutputSpec, _ lines: [String] = WriterTests.lines) throws(WinnowError) -> DocumentWriter {
    let writer = try DocumentWriter(spec)
    for l in lines { try writer.write(line: Array(l.utf8)) }
    try writer.finish()
    return writer
  }

  var joined: [UInt8] { Array((Self.lines.joined(separator: "\n") + "\n").utf8) }

  /// Non-hidden names: what a user (or the next run's InputSet) would see.
  func visible(_ dir: TempDir, _ sub: String = "") throws -> [String] {
    try dir.entries(sub).filter { !$0.hasPrefix(".") }
  }

  @Test(arguments: ["out.jsonl", "out.jsonl.zst", "out.jsonl.zstd", "out.jsonl.gz", "deeper/dirs/out.jsonl.zst"])
  func singleFileCompressionFollowsTheExtension(_ name: String) throws {
    let dir = try TempDir()
    let path = dir.file(name)
    let writer = try writeAll(OutputSpec(path: path))
    #expect(writer.files == [path])
    #expect(writer.documentsWritten == Self.lines.count)
    #expect(writer.bytesWritten == joined.count)
    let raw = try readBytes(path)
    // Check the container by its magic bytes, then its contents with the reference tool.
    if name.hasSuffix(".zst") || name.hasSuffix(".zstd") {
      #expect(Array(raw.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
      #expect(try Shell.check("zstd", ["-dc", "-q", path]) == joined)
    } else if name.hasSuffix(".gz") {
      #expect(Array(raw.prefix(2)) == [0x1F, 0x8B])
      #expect(try Shell.check("gzip", ["-dc", path]) == joined)
    } else {
      #expect(raw == joined)
    }
    // Nothing else is left next to the output.
    let parent = (path as NSString).deletingLastPathComponent
    #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == [(path as NSString).lastPathComponent])
  }

  @Test func explicitCompressionOverridesTheExtension() throws {
    let dir = try TempDir()
    let path = dir.file("named-plain.jsonl")
    _ = try writeAll(OutputSpec(path: path, compression: .zstd, compressionLevel: 1))
    #expect(try Shell.check("zstd", ["-dc", "-q", path]) == joined)
  }

  @Test func directoryRotatesByDocumentCount() throws {
    let dir = try TempDir()
    let out = dir.file("shards")
    let writer = try writeAll(OutputSpec(path: out, maxShardDocs: 300))
    // 1000 documents, 300 per shard: 300 + 300 + 300 + 100.
    let names = (0..<4).map { "part-0000\($0).jsonl.zst" }
    #expect(try visible(dir, "shards") == names)
    #expect(writer.files == names.map { out + "/" + $0 })
    var counts: [Int] = []
    var all: [UInt8] = []
    for name in names {
      let bytes = try decompressWithCLI(out + "/" + name)
      counts.append(bytes.filter { $0 == 0x0A }.count)
      all += bytes
    }
    #expect(counts == [300, 300, 300, 100])
    #expect(all == joined)
    // Our reader reads the directory back in order.
    let inputs = try InputSet.expand([out])
    var reread: [[UInt8]] = []
    for f in inputs { reread += try readAllLines(f.path) }
    #expect(reread == Self.lines.map { Array($0.utf8) })
  }

  @Test func exactMultipleOfShardSizeLeavesNoEmptyShard() throws {
    let dir = try TempDir()
    let out = dir.file("exact")
    _ = try writeAll(OutputSpec(path: out, compression: Compression.none, maxShardDocs: 250))
    #expect(try visible(dir, "exact") == (0..<4).map { "part-0000\($0).jsonl" })
  }

  @Test func directoryRotatesByBytes() throws {
    let dir = try TempDir()
    let out = dir.file("bytes") + "/"
    let limit = 10_000
    let writer = try writeAll(OutputSpec(path: out, compression: .gzip, maxShardBytes: limit))
    let names = try visible(dir, "bytes")
    #expect(names.count > 2)
    #expect(names.allSatisfy { $0.hasPrefix("part-") && $0.hasSuffix(".jsonl.gz") })
    // Shard numbers are consecutive and zero-padded to five digits.
    #expect(names == (0..<names.count).map { String(format: "part-%05d.jsonl.gz", $0) })
    #expect(writer.files.count == names.count)
    var all: [UInt8] = []
    for (k, name) in names.enumerated() {
      let bytes = try decompressWithCLI(dir.file("bytes/" + name))
      // A shard closes with the line that reaches the limit: every shard but the last holds
      // at least `limit` bytes, and without its last line it would be under the limit.
      if k < names.count - 1 {
        #expect(bytes.count >= limit)
        let lastLine = bytes.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false).last!
        #expect(bytes.count - lastLine.count - 1 < limit)
      }
      all += bytes
    }
    #expect(all == joined)
  }

  @Test func emptyDirectoryOutputStillGetsOneShard() throws {
    let dir = try TempDir()
    let out = dir.file("none")
    let writer = try writeAll(OutputSpec(path: out), [])
    #expect(try visible(dir, "none") == ["part-00000.jsonl.zst"])
    #expect(writer.files == [out + "/part-00000.jsonl.zst"])
    #expect(try decompressWithCLI(out + "/part-00000.jsonl.zst").isEmpty)
  }

  @Test func existingShardsAreNotOverwrittenWithoutPermission() throws {
    let dir = try TempDir()
    let out = dir.file("shards")
    _ = try writeAll(OutputSpec(path: out, maxShardDocs: 400))
    let before = try visible(dir, "shards")
    #expect(before.count == 3)
    let error = winnowError { _ = try DocumentWriter(OutputSpec(path: out)) }
    #expect(error?.isUsage == true)
    #expect(error?.message.contains(out) == true)
    #expect(try visible(dir, "shards") == before)

    // With overwrite, old shards go, including ones the new run would not rewrite.
    _ = try writeAll(OutputSpec(path: out, maxShardDocs: 2000, overwrite: true))
    #expect(try visible(dir, "shards") == ["part-00000.jsonl.zst"])
    #expect(try decompressWithCLI(out + "/part-00000.jsonl.zst") == joined)
  }

  @Test func otherFilesInTheOutputDirectoryAreLeftAlone() throws {
    let dir = try TempDir()
    try FileManager.default.createDirectory(atPath: dir.file("out"), withIntermediateDirectories: false)
    try dir.write("out/stats.json", "{}")
    _ = try writeAll(OutputSpec(path: dir.file("out"), maxShardDocs: 600))
    #expect(try visible(dir, "out") == ["part-00000.jsonl.zst", "part-00001.jsonl.zst", "stats.json"])
  }

  @Test func noTemporaryFilesRemainAfterFinish() throws {
    let dir = try TempDir()
    _ = try writeAll(OutputSpec(path: dir.file("d"), maxShardDocs: 100))
    _ = try writeAll(OutputSpec(path: dir.file("f.jsonl.gz")))
    #expect(try dir.entries().allSatisfy { !$0.hasPrefix(".") })
    // Ten shards and the list of them that a later --force consults; no temporary file.
    #expect(try dir.entries("d").filter { $0.hasPrefix(".") } == [DocumentWriter.shardListName])
    #expect(try dir.entries("d").count == 11)
  }

  @Test func partialOutputIsInvisibleUntilFinished() throws {
    let dir = try TempDir()
    let path = dir.file("f.jsonl")
    let writer = try DocumentWriter(OutputSpec(path: path))
    for l in Self.lines { try writer.write(line: Array(l.utf8)) }
    // While writing, the final name does not exist: readers never see half a file.
    #expect(!fileExists(atPath: path))
    try writer.finish()
    #expect(try readBytes(path) == joined)
  }

  @Test(arguments: ["f.jsonl", "f.jsonl.zst", "f.jsonl.gz"])
  func abortLeavesNoFile(_ name: String) throws {
    let dir = try TempDir()
    let writer = try DocumentWriter(OutputSpec(path: dir.file(name)))
    for l in Self.lines { try writer.write(line: Array(l.utf8)) }
    writer.abort()
    let left = try dir.entries()
    #expect(left.isEmpty, "left behind: \(left)")
  }

  @Test func abortInADirectoryRemovesTheUnfinishedShard() throws {
    let dir = try TempDir()
    let writer = try DocumentWriter(OutputSpec(path: dir.file("d"), maxShardDocs: 400))
    for l in Self.lines { try writer.write(line: Array(l.utf8)) }
    writer.abort()
    // Finished shards stay (they are complete files); the open one leaves nothing behind.
    #expect(try dir.entries("d") == ["part-00000.jsonl.zst", "part-00001.jsonl.zst"])
  }

  @Test func hugeLineGoesStraightThrough() throws {
    // A line longer than the staging buffer takes the direct path; the bytes must not change.
    let dir = try TempDir()
    let big = "{\"text\":\"" + String(repeating: "xyz", count: 800_000) + "\"}"
    let lines = ["{\"text\":\"small\"}", big, "{\"text\":\"after\"}"]
    _ = try writeAll(OutputSpec(path: dir.file("h.jsonl.zst")), lines)
    #expect(try decompressWithCLI(dir.file("h.jsonl.zst")) == Array((lines.joined(separator: "\n") + "\n").utf8))
  }

  @Test func outputSpecRecognisesDirectories() throws {
    let dir = try TempDir()
    #expect(OutputSpec(path: dir.file("shards")).isDirectory)
    #expect(OutputSpec(path: dir.file("x.jsonl")).isDirectory == false)
    #expect(OutputSpec(path: dir.file("x.jsonl.zst")).isDirectory == false)
    #expect(OutputSpec(path: dir.file("x.ndjson.gz")).isDirectory == false)
    #expect(OutputSpec(path: dir.file("x.txt")).isDirectory == false)
    #expect(OutputSpec(path: dir.file("x.jsonl") + "/").isDirectory)
    #expect(OutputSpec(path: "-").isDirectory == false)
    #expect(OutputSpec(path: dir.path).isDirectory)
  }
}
