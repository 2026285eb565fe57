import Foundation
import Glibc
import Testing

@testable import WinnowCore

/// Uncompressed JSON Lines files cut into parts at line ends (`mb_per_task`), and read back part
/// by part.
@Suite("line parts: cutting a file and reading its parts")
struct LinePartTests {
  /// Every document and bad line of `inputs`, as "line id text" or "bad line reason".
  static func read(_ inputs: [InputFile]) throws -> [String] {
    let reader = DocumentReader(inputs: inputs, fields: DocumentFields())
    defer { reader.close() }
    var seen: [String] = []
    while let item = try reader.next() {
      switch item {
      case .document(let d): seen.append("\(d.lineNumber) \(d.id) \(d.textString)")
      case .bad(let b): seen.append("bad \(b.line) \(b.reason.rawValue)")
      case .tooLarge(let t): seen.append("too large \(t.line)")
      }
    }
    return seen
  }

  /// The parts a plain reading of `bytes` gives for `per`: after the first line end at or past
  /// `per - 1` bytes into each part (the reference the cutter is checked against).
  static func expectedParts(_ bytes: [UInt8], per: Int) -> [LinePart] {
    var parts: [LinePart] = []
    var start = 0
    var line = 1
    while start < bytes.count {
      var end = bytes.count
      var i = start + per - 1
      while i < bytes.count {
        if bytes[i] == 0x0A {
          end = i + 1
          break
        }
        i += 1
      }
      parts.append(LinePart(start: start, end: end, firstLine: line, fileBytes: bytes.count))
      line += bytes[start..<end].filter { $0 == 0x0A }.count
      start = end
    }
    return parts
  }

  /// Lines of varied lengths (some far longer than a part, some empty, non-ASCII text), one
  /// bad line, no line end after the last.
  static func corpus(lines: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var out: [UInt8] = []
    for i in 0..<lines {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let words = Int(state >> 58) * (i % 29 == 0 ? 40 : 1)
      let text = (0..<words).map { k in k % 7 == 3 ? "Grüße" : "w\(k)" }.joined(separator: " ")
      if i == lines / 2 {
        out += Array("{\"text\": unterminated\n".utf8)
      } else if i % 11 == 5 {
        out += [0x0A]
      } else {
        out += Array("{\"text\":\"\(text)\"}\n".utf8)
      }
    }
    out.removeLast()
    return out
  }

  @Test("parts cover the file exactly, start after a line end, and number their first lines")
  func cutsAtLineEnds() throws {
    let dir = try TempDir()
    let bytes = Self.corpus(lines: 300, seed: 3)
    let path = try dir.write("c.jsonl", bytes)
    for per in [1, 7, 64, 500, 4096, bytes.count - 1] {
      let parts = try #require(try LinePart.cut(path: path, bytesPerPart: per))
      #expect(parts == Self.expectedParts(bytes, per: per), "per \(per)")
      #expect(parts.first?.start == 0 && parts.last?.end == bytes.count)
      for (a, b) in zip(parts, parts.dropFirst()) {
        #expect(a.end == b.start && bytes[b.start - 1] == 0x0A)
      }
      #expect(parts.allSatisfy { $0.isWellFormed })
    }
    // Not larger than a part: one part, the whole file.
    let one = try LinePart.cut(path: path, bytesPerPart: bytes.count)
    #expect(one == [LinePart(start: 0, end: bytes.count, firstLine: 1, fileBytes: bytes.count)])
  }

  @Test("cuts found across the reader's 1 MiB blocks agree with a plain reading")
  func acrossBlocks() throws {
    let dir = try TempDir()
    var bytes: [UInt8] = []
    var seed: UInt64 = 11
    while bytes.count < 3_300_000 {
      bytes += Self.corpus(lines: 500, seed: seed) + [0x0A]
      seed += 1
    }
    let path = try dir.write("big.jsonl", bytes)
    for per in [300_001, 1 << 20, (1 << 20) + 17, 2_000_000] {
      let parts = try #require(try LinePart.cut(path: path, bytesPerPart: per))
      #expect(parts == Self.expectedParts(bytes, per: per), "per \(per)")
    }
  }

  @Test("compressed, Parquet, empty and non-regular files (a FIFO among them) are not cut")
  func staysWhole() throws {
    let dir = try TempDir()
    let zstd = try dir.write("z.jsonl", [0x28, 0xB5, 0x2F, 0xFD] + Array(repeating: 0x0A, count: 100))
    let gzip = try dir.write("g.jsonl", [0x1F, 0x8B, 0x08, 0x00] + Array(repeating: 0x0A, count: 100))
    let parquet = try dir.write("p.jsonl", Array("PAR1".utf8) + Array(repeating: 0x0A, count: 100))
    let empty = try dir.write("e.jsonl", [])
    // A FIFO is looked at, not opened (which would wait for a writer).
    let fifo = dir.file("f.jsonl")
    #expect(mkfifo(fifo, 0o600) == 0)
    for path in [zstd, gzip, parquet, empty, dir.path, fifo] {
      let parts = try LinePart.cut(path: path, bytesPerPart: 8)
      #expect(parts == nil, "\(path)")
    }
    #expect(winnowError { _ = try LinePart.cut(path: dir.file("missing.jsonl"), bytesPerPart: 8) }?.message.contains("missing.jsonl") == true)
  }

  @Test("reading the parts one after another gives the whole file's documents, bad lines and line numbers")
  func partsReadAsTheWhole() throws {
    let dir = try TempDir()
    let bytes = Self.corpus(lines: 200, seed: 5)
    let path = try dir.write("c.jsonl", bytes)
    let whole = try Self.read([InputFile(path: path)])
    #expect(whole.contains { $0.hasPrefix("bad 101 ") })
    for per in [1, 50, 999] {
      let parts = try #require(try LinePart.cut(path: path, bytesPerPart: per))
      #expect(parts.count > 2)
      #expect(try Self.read(parts.map { InputFile(path: path, lines: $0) }) == whole, "per \(per)")
      // Each part alone: its own share, in order.
      var joined: [String] = []
      var read = 0
      for part in parts {
        let reader = DocumentReader(inputs: [InputFile(path: path, lines: part)], fields: DocumentFields(), stampContent: true)
        while let item = try reader.next() {
          if case .document(let d) = item { joined.append("\(d.lineNumber) \(d.id) \(d.textString)") }
          if case .bad(let b) = item { joined.append("bad \(b.line) \(b.reason.rawValue)") }
        }
        read += reader.bytesRead
        // A part's stamp checksums the part's bytes, and records the file's size.
        let stamp = try #require(reader.stamps.first)
        #expect(stamp.bytes == bytes.count)
        #expect(stamp.checksum == Array(bytes[part.start..<part.end]).withUnsafeBufferPointer { XXH3.hash64($0) })
        reader.close()
      }
      #expect(joined == whole)
      #expect(read == bytes.count)
    }
  }

  @Test("a file changed since it was cut is an error naming it, never other lines")
  func changedFile() throws {
    let dir = try TempDir()
    let bytes = Array("{\"text\":\"one\"}\n{\"text\":\"two\"}\n{\"text\":\"three\"}\n".utf8)
    let path = try dir.write("c.jsonl", bytes)
    let parts = try #require(try LinePart.cut(path: path, bytesPerPart: 10))
    #expect(parts.count == 3)
    #expect(try Self.read([InputFile(path: path, lines: parts[1])]) == ["2 \(path)#2 two"])
    func failure(_ part: LinePart) -> String? {
      winnowError { _ = try Self.read([InputFile(path: path, lines: part)]) }?.message
    }
    // Longer, shorter: another size.
    _ = try dir.write("c.jsonl", bytes + Array("{\"text\":\"four\"}\n".utf8))
    #expect(failure(parts[1])?.contains("\(path): the run's plan reads bytes 15..<30") == true)
    _ = try dir.write("c.jsonl", Array(bytes.dropLast(3)))
    #expect(failure(parts[2])?.contains("changed since the run was planned") == true)
    // The same size, but the lines moved: no line end before the part, or none at its end.
    var moved = bytes
    moved.swapAt(14, 13)
    _ = try dir.write("c.jsonl", moved)
    #expect(failure(parts[1])?.contains("no line ends before the part at bytes 15..<30") == true)
    #expect(failure(parts[0])?.contains("no line ends at the end of the part at bytes 0..<15") == true)
    moved = bytes
    moved.swapAt(29, 28)
    _ = try dir.write("c.jsonl", moved)
    #expect(failure(parts[1])?.contains("no line ends at the end of the part") == true)
    #expect(try Self.read([InputFile(path: path, lines: parts[0])]) == ["1 \(path)#1 one"])
    // Numbers no cut gives (a damaged plan).
    _ = try dir.write("c.jsonl", bytes)
    for bad in [
      LinePart(start: 20, end: 10, firstLine: 1, fileBytes: bytes.count),
      LinePart(start: 0, end: bytes.count + 1, firstLine: 1, fileBytes: bytes.count + 1),
      LinePart(start: 15, end: 30, firstLine: 0, fileBytes: bytes.count),
      LinePart(start: 15, end: 30, firstLine: 17, fileBytes: bytes.count),
      LinePart(start: -1, end: 30, firstLine: 1, fileBytes: bytes.count),
    ] {
      #expect(failure(bad)?.hasPrefix(path) == true, "\(bad)")
    }
  }
}
