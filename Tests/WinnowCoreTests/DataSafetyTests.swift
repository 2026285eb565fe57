import Foundation
import Glibc
import Testing

@testable import WinnowCore

/// Outputs never touch inputs, temporary files are exclusive and cleaned up, symlinks and
/// devices are written through, run files are checked against their size and their record,
/// over-long lines are set aside without being held.
@Suite("data safety: paths, temporary files, run files, long lines")
struct DataSafetyTests {
  // MARK: OutputGuard

  func guardFor(inputs: [String], named: [String]? = nil, outputs: [(String, Bool)]) throws -> WinnowError? {
    var g = OutputGuard()
    g.addInputs(try InputSet.expand(inputs), named: named ?? inputs, role: "input")
    for (path, dir) in outputs { g.addOutput(path, role: "out", isDirectory: dir) }
    return winnowError { try g.check() }
  }

  @Test("an output that is an input, however spelt, is refused")
  func outputIsInput() throws {
    let dir = try TempDir()
    let input = try dir.write("in.jsonl", "{\"text\":\"a\"}\n")
    try FileManager.default.createDirectory(atPath: dir.file("sub"), withIntermediateDirectories: false)
    try FileManager.default.createSymbolicLink(atPath: dir.file("link.jsonl"), withDestinationPath: "in.jsonl")
    try FileManager.default.linkItem(atPath: input, toPath: dir.file("hard.jsonl"))
    for spelling in [input, dir.file("sub/../in.jsonl"), dir.file("link.jsonl"), dir.file("hard.jsonl"), dir.file("./in.jsonl")] {
      let e = try guardFor(inputs: [input], outputs: [(spelling, false)])
      #expect(e?.kind == .usage, "\(spelling)")
      #expect(e?.message.contains("destroy the input") == true, "\(spelling): \(e?.message ?? "accepted")")
    }
    #expect(try guardFor(inputs: [input], outputs: [(dir.file("out.jsonl"), false)]) == nil)
  }

  @Test("directories: an output inside an input directory, or holding an input, is refused")
  func directories() throws {
    let dir = try TempDir()
    try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: false)
    _ = try dir.write("data/part-00000.jsonl", "{\"text\":\"a\"}\n")
    let data = dir.file("data")
    #expect(try guardFor(inputs: [data], outputs: [(data, true)])?.kind == .usage)
    #expect(try guardFor(inputs: [data], outputs: [(data + "/kept", true)])?.message.contains("lies inside") == true)
    #expect(try guardFor(inputs: [data], outputs: [(data + "/all.jsonl", false)])?.message.contains("lies inside") == true)
    #expect(try guardFor(inputs: [data + "/part-00000.jsonl"], outputs: [(dir.path, true)])?.message.contains("contains") == true)
    // Globs: the matched directories count as named.
    #expect(try guardFor(inputs: [dir.path + "/da*"], outputs: [(data + "/x", true)])?.kind == .usage)
    #expect(try guardFor(inputs: [data], outputs: [(dir.file("elsewhere"), true)]) == nil)
  }

  @Test("two outputs on one path, or a side file among the shards, are refused")
  func outputsCollide() throws {
    let dir = try TempDir()
    let input = try dir.write("in.jsonl", "{\"text\":\"a\"}\n")
    let same = try guardFor(inputs: [input], outputs: [(dir.file("x.jsonl"), false), (dir.file("./x.jsonl"), false)])
    #expect(same?.message.contains("same path") == true)
    let streams = try guardFor(inputs: [input], outputs: [("-", false), ("/dev/stdout", false)])
    #expect(streams?.message.contains("same path") == true)
    let amongShards = try guardFor(inputs: [input], outputs: [(dir.file("out"), true), (dir.file("out/r.jsonl"), false)])
    #expect(amongShards?.message.contains("shard directory") == true)
    // A subdirectory, stats.json, /dev/null twice: fine.
    #expect(try guardFor(inputs: [input], outputs: [(dir.file("out"), true), (dir.file("out/rejects"), true)]) == nil)
    #expect(try guardFor(inputs: [input], outputs: [(dir.file("out"), true), (dir.file("out/stats.json"), false)]) == nil)
    #expect(try guardFor(inputs: [input], outputs: [("/dev/null", false), ("/dev/null", false)]) == nil)
  }

  @Test("canonical paths resolve links and .. in the part that exists, and apply .. to the rest")
  func canonicalPaths() throws {
    let dir = try TempDir()
    try FileManager.default.createDirectory(atPath: dir.file("a/b"), withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: dir.file("l"), withDestinationPath: dir.file("a/b"))
    let real = CanonicalPath.of(dir.file("a/b"))
    #expect(CanonicalPath.of(dir.file("l")) == real)
    #expect(CanonicalPath.of(dir.file("l/new/../x")) == real + "/x")
    #expect(CanonicalPath.isWithin(real + "/x", real))
    #expect(!CanonicalPath.isWithin(real + "x", real))
  }

  // MARK: OutputTarget and FileSink

  @Test("standard streams are descriptors, devices are direct, links lead to their file")
  func outputTargets() throws {
    #expect(try OutputTarget.resolve("-") == .descriptor(1))
    #expect(try OutputTarget.resolve("/dev/stdout") == .descriptor(1))
    #expect(try OutputTarget.resolve("/dev/stderr") == .descriptor(2))
    #expect(try OutputTarget.resolve("/dev/fd/2") == .descriptor(2))
    #expect(try OutputTarget.resolve("/dev/null") == .device("/dev/null"))
    #expect(winnowError { _ = try OutputTarget.resolve("/dev/stdin") }?.kind == .usage)
    #expect(winnowError { _ = try OutputTarget.resolve("/dev/fd/987") }?.kind == .usage)
    let dir = try TempDir()
    #expect(winnowError { _ = try OutputTarget.resolve(dir.path) }?.kind == .usage)
    try FileManager.default.createSymbolicLink(atPath: dir.file("dangling"), withDestinationPath: "target.jsonl")
    #expect(try OutputTarget.resolve(dir.file("dangling")) == .file(dir.path + "/target.jsonl", existingMode: nil))
    try FileManager.default.createSymbolicLink(atPath: dir.file("loop"), withDestinationPath: "loop")
    #expect(winnowError { _ = try OutputTarget.resolve(dir.file("loop")) }?.message.contains("symbolic links") == true)
  }

  @Test("a file is written under a random hidden name (0644, exclusive) and renamed; a link stays a link")
  func fileSinkTemporaryFiles() throws {
    let dir = try TempDir()
    let sink = try FileSink(path: dir.file("out.jsonl"))
    try sink.write(Array("hello\n".utf8))
    let temps = try dir.entries().filter { $0.contains(".tmp-") }
    #expect(temps.count == 1)
    let name = try #require(temps.first)
    #expect(name.hasPrefix(".out.jsonl.tmp-") && name.count == ".out.jsonl.tmp-".count + 16)
    #expect(!name.hasSuffix(String(getpid())))
    var st = stat()
    #expect(lstat(dir.file(name), &st) == 0 && st.st_mode & 0o7777 & ~0o644 == 0)
    #expect(TemporaryFiles.inFlight >= 1)
    try sink.finish()
    #expect(try dir.entries() == ["out.jsonl"])
    #expect(sink.bytesWritten == 6)
    #expect(sink.checksum == Array("hello\n".utf8).withUnsafeBufferPointer { XXH3.hash64($0) })

    // Through a symlink: the target is replaced (its mode kept), the link stays.
    let target = try dir.write("real.jsonl", "old\n")
    chmod(target, 0o600)
    try FileManager.default.createSymbolicLink(atPath: dir.file("link.jsonl"), withDestinationPath: "real.jsonl")
    let viaLink = try FileSink(path: dir.file("link.jsonl"))
    try viaLink.write(Array("new\n".utf8))
    try viaLink.finish()
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.file("link.jsonl")) == "real.jsonl")
    #expect(String(decoding: try readBytes(target), as: UTF8.self) == "new\n")
    #expect(stat(target, &st) == 0 && st.st_mode & 0o7777 == 0o600)
  }

  @Test("an unfinished sink removes its temporary file when aborted or dropped")
  func fileSinkDropped() throws {
    let dir = try TempDir()
    do {
      let sink = try FileSink(path: dir.file("a.jsonl"))
      try sink.write(Array("x".utf8))
    }
    let aborted = try FileSink(path: dir.file("b.jsonl"))
    try aborted.write(Array("x".utf8))
    aborted.abort()
    #expect(try dir.entries() == [])
  }

  @Test("writing to a device goes straight to it")
  func fileSinkDevice() throws {
    let sink = try FileSink(path: "/dev/null")
    try sink.write(Array("discarded\n".utf8))
    try sink.finish()
    #expect(sink.path == nil)
  }

  // MARK: Directory output and --force

  @Test("--force replaces the shards an earlier command listed, and refuses others")
  func forceReplacesOnlyListedShards() throws {
    let dir = try TempDir()
    func write(_ n: Int, overwrite: Bool) throws {
      let w = try DocumentWriter(OutputSpec(path: dir.file("out"), maxShardDocs: 1, overwrite: overwrite))
      for k in 0..<n { try w.write(line: Array("{\"text\":\"\(k)\"}".utf8)) }
      try w.finish()
    }
    try write(3, overwrite: false)
    #expect(winnowError { try write(1, overwrite: false) }?.message.contains("--force") == true)
    try write(1, overwrite: true)
    #expect(try dir.entries("out").filter { $0.hasPrefix("part-") } == ["part-00000.jsonl.zst"])
    _ = try dir.write("out/part-00007.jsonl.zst", "mine")
    let e = winnowError { try write(1, overwrite: true) }
    #expect(e?.message.contains("part-00007.jsonl.zst") == true)
    #expect(try readBytes(dir.file("out/part-00007.jsonl.zst")) == Array("mine".utf8))
    // A listed shard that changed since is not Winnow's any more either.
    try FileManager.default.removeItem(atPath: dir.file("out/part-00007.jsonl.zst"))
    _ = try dir.write("out/part-00000.jsonl.zst", "replaced by hand")
    #expect(winnowError { try write(1, overwrite: true) }?.message.contains("part-00000.jsonl.zst") == true)
  }

  // MARK: Input directories

  @Test("a FIFO in an input directory is an error naming it; named on its own it is read")
  func fifoInDirectory() throws {
    let dir = try TempDir()
    try FileManager.default.createDirectory(atPath: dir.file("d"), withIntermediateDirectories: false)
    _ = try dir.write("d/a.jsonl", "{\"text\":\"a\"}\n")
    #expect(mkfifo(dir.file("d/b.jsonl"), 0o644) == 0)
    let e = winnowError { _ = try InputSet.expand([dir.file("d")]) }
    #expect(e?.message.contains("b.jsonl") == true && e?.message.contains("not a regular file") == true)
    #expect(try InputSet.expand([dir.file("d/b.jsonl")]).map(\.path) == [dir.file("d/b.jsonl")])
  }

  // MARK: Long lines

  @Test("a line over the limit is reported, streamed in pieces, and reading goes on after it")
  func oversizedLines() throws {
    let dir = try TempDir()
    let big = Array("{\"text\":\"".utf8) + [UInt8](repeating: 0x61, count: 300_000) + Array("\"}".utf8)
    let path = try dir.write("in.jsonl", Array("{\"text\":\"a\"}\n".utf8) + big + [0x0A] + Array("{\"text\":\"b\"}".utf8))
    let reader = DocumentReader(inputs: [InputFile(path: path)], fields: DocumentFields(), maxDocumentBytes: 1000)
    var seen: [String] = []
    var drained: [UInt8] = []
    while let item = try reader.next() {
      switch item {
      case .document(let d): seen.append(d.textString)
      case .bad(let b): seen.append("bad \(b.reason)")
      case .tooLarge(let t):
        seen.append("too large \(t.line)")
        try reader.drainTooLarge { drained += Array($0) }
      }
    }
    #expect(seen == ["a", "too large 2", "b"])
    #expect(drained == big)
    #expect(reader.bytesRead == (try readBytes(path)).count)
  }

  @Test("the quarantine record of a too-large line holds its exact bytes in base64")
  func tooLargeRecord() throws {
    let dir = try TempDir()
    var big = Array("{\"text\":\"".utf8)
    var rng = SeededGenerator(seed: 5)
    for _ in 0..<50_000 { big.append(UInt8.random(in: 0x20...0xFF, using: &rng)) }
    let path = try dir.write("in.jsonl", big + [0x0A])
    var options = PipelineOptions()
    options.maxDocumentBytes = 4096
    options.quarantine = OutputSpec(path: dir.file("q.jsonl"))
    let stats = try Pipeline(stages: []).run(
      inputs: [InputFile(path: path)], output: try DocumentWriter(OutputSpec(path: dir.file("out.jsonl"))), options: options)
    #expect(stats.quarantined == 1 && stats.quarantinedByReason["document_too_large"] == 1 && stats.isBalanced)
    let record = try JSONSerialization.jsonObject(with: Data(try readBytes(dir.file("q.jsonl")))) as! [String: Any]
    #expect(record["reason"] as? String == "document_too_large")
    #expect(record["bytes"] as? Int == big.count)
    #expect(Data(base64Encoded: record["raw_base64"] as! String).map(Array.init) == big)
  }

  @Test("base64 in pieces equals base64 of the whole, for every split")
  func base64Pieces() {
    let bytes: [UInt8] = Array(0..<255) + Array("tail".utf8)
    let whole = Data(bytes).base64EncodedString()
    for split in [1, 2, 3, 4, 5, 7, 100] {
      var stream = Base64Stream()
      var out: [UInt8] = []
      var k = 0
      while k < bytes.count {
        let piece = Array(bytes[k..<min(bytes.count, k + split)])
        piece.withUnsafeBufferPointer { stream.encode($0, into: &out) }
        k += split
      }
      stream.finish(into: &out)
      #expect(String(decoding: out, as: UTF8.self) == whole, "split \(split)")
    }
  }

  @Test("a byte order mark on the first line is dropped, elsewhere it is the line's")
  func byteOrderMark() throws {
    let dir = try TempDir()
    let path = try dir.write("bom.jsonl", [0xEF, 0xBB, 0xBF] + Array("{\"text\":\"a\"}\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("{\"text\":\"b\"}\n".utf8))
    let reader = DocumentReader(inputs: [InputFile(path: path)], fields: DocumentFields())
    var seen: [String] = []
    while let item = try reader.next() {
      if case .document(let d) = item { seen.append(d.textString) } else { seen.append("bad") }
    }
    #expect(seen == ["a", "bad"])
  }

  // MARK: Input stamps

  @Test("inputs read to the end carry size, time and the checksum of their stored bytes")
  func inputStamps() throws {
    let dir = try TempDir()
    let bytes = Array("{\"text\":\"a\"}\n{\"text\":\"b\"}\n".utf8)
    let path = try dir.write("in.jsonl", bytes)
    let reader = DocumentReader(inputs: [InputFile(path: path)], fields: DocumentFields(), stampContent: true)
    while try reader.next() != nil {}
    let stamp = try #require(reader.stamps.first)
    #expect(stamp.bytes == bytes.count)
    #expect(stamp.checksum == bytes.withUnsafeBufferPointer { XXH3.hash64($0) })
    #expect(stamp.change(to: FileStamp.current(path)) == nil)
    _ = try dir.write("in.jsonl", bytes + [0x0A])
    #expect(stamp.change(to: FileStamp.current(path))?.contains("size") == true)
    #expect(stamp.change(to: FileStamp.current(dir.file("gone"))) == "is gone")
  }

  @Test("a written file's record tells a missing, truncated or replaced file from the right one")
  func writtenFileMismatch() throws {
    let dir = try TempDir()
    let written = try writeFileAtomically(dir.file("f.bin"), Array("0123456789".utf8))
    #expect(written.mismatch() == nil)
    _ = try dir.write("f.bin", "0123456780")
    #expect(written.mismatch()?.contains("checksum") == true)
    _ = try dir.write("f.bin", "0123")
    #expect(written.mismatch()?.contains("bytes") == true)
    try FileManager.default.removeItem(atPath: dir.file("f.bin"))
    #expect(written.mismatch() == "is missing")
    let data = try JSONEncoder().encode(written)
    #expect(try JSONDecoder().decode(WrittenFile.self, from: data) == written)
  }
}
