import Foundation
import Testing

@testable import WinnowCore

/// `openByteSource` + `LineReader`: every format, line ending and failure mode.
@Suite(.enabled(if: toolsAvailable, "zstd or gzip CLI not found"))
struct ReadingTests {
  static let lines = sampleLines(2000)
  static var content: [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }
  static var expectedLines: [[UInt8]] { lines.map { Array($0.utf8) } }

  @Test func plainFile() throws {
    let dir = try TempDir()
    let path = try dir.write("a.jsonl", Self.content)
    #expect(try readAllLines(path) == Self.expectedLines)
  }

  @Test func zstdFromTheCLI() throws {
    let dir = try TempDir()
    let plain = try dir.write("a.jsonl", Self.content)
    try Shell.check("zstd", ["-q", "-19", plain, "-o", dir.file("a.jsonl.zst")])
    #expect(try readAllLines(dir.file("a.jsonl.zst")) == Self.expectedLines)
  }

  @Test func zstdWithSeveralFramesAndTinyBuffer() throws {
    // Concatenated frames are one stream (what `cat a.zst b.zst` gives); a small line buffer
    // forces refills and growth in the middle of frames.
    let dir = try TempDir()
    let half = Self.lines.count / 2
    let p1 = try dir.write("1.jsonl", Array((Self.lines[..<half].joined(separator: "\n") + "\n").utf8))
    let p2 = try dir.write("2.jsonl", Array((Self.lines[half...].joined(separator: "\n") + "\n").utf8))
    let z1 = try Shell.check("zstd", ["-q", "-c", p1])
    let z2 = try Shell.check("zstd", ["-q", "-c", "--no-check", p2])
    let path = try dir.write("both.jsonl.zst", z1 + z2)
    #expect(try readAllLines(path, initialCapacity: 64) == Self.expectedLines)
  }

  @Test func zstdWrittenByOurSink() throws {
    let dir = try TempDir()
    let path = dir.file("ours.jsonl.zst")
    let sink = try openByteSink(path: path, compression: .zstd, level: 5)
    try sink.write(Self.content)
    try sink.finish()
    // The reference decoder reads it (so the frame is standard) and so do we.
    #expect(try decompressWithCLI(path) == Self.content)
    #expect(try readAllLines(path) == Self.expectedLines)
  }

  @Test func gzipFromTheCLIWithSeveralMembers() throws {
    let dir = try TempDir()
    let half = Self.lines.count / 2
    let p1 = try dir.write("1.jsonl", Array((Self.lines[..<half].joined(separator: "\n") + "\n").utf8))
    let p2 = try dir.write("2.jsonl", Array((Self.lines[half...].joined(separator: "\n") + "\n").utf8))
    let single = try dir.write("one.jsonl.gz", try Shell.check("gzip", ["-c", "-9", p1]))
    #expect(try readAllLines(single) == Array(Self.expectedLines[..<half]))
    // Multi-member gzip (`cat a.gz b.gz`) must yield both members, not stop after the first.
    let both = try dir.write("both.jsonl.gz", try Shell.check("gzip", ["-c", p1]) + Shell.check("gzip", ["-c", p2]))
    #expect(try readAllLines(both, initialCapacity: 100) == Self.expectedLines)
  }

  @Test func gzipWrittenByOurSink() throws {
    let dir = try TempDir()
    let path = dir.file("ours.jsonl.gz")
    let sink = try openByteSink(path: path, compression: .gzip, level: nil)
    try sink.write(Self.content)
    try sink.finish()
    #expect(try decompressWithCLI(path) == Self.content)
    #expect(try readAllLines(path) == Self.expectedLines)
  }

  @Test func compressionIsSniffedFromMagicBytesNotTheName() throws {
    let dir = try TempDir()
    let plain = try dir.write("src.jsonl", Self.content)
    let zstdNamedPlain = try dir.write("zstd-inside.jsonl", try Shell.check("zstd", ["-q", "-c", plain]))
    let gzipNamedZst = try dir.write("gzip-inside.jsonl.zst", try Shell.check("gzip", ["-c", plain]))
    let plainNamedGz = try dir.write("plain-inside.jsonl.gz", Self.content)
    for path in [zstdNamedPlain, gzipNamedZst, plainNamedGz] {
      #expect(try readAllLines(path) == Self.expectedLines, "\(path)")
    }
  }

  @Test func lineEndings() throws {
    let dir = try TempDir()
    // CRLF: the "\r" stays on the line (JSON treats it as whitespace, and the line must stay
    // byte-exact); the scanner accepts such a line.
    let crlf = try dir.write("crlf.jsonl", "{\"text\":\"a\"}\r\n{\"text\":\"b\"}\r\n")
    let crlfLines = try readAllLines(crlf)
    #expect(crlfLines == [Array("{\"text\":\"a\"}\r".utf8), Array("{\"text\":\"b\"}\r".utf8)])
    #expect(scanFailure(crlfLines[0]) == nil)

    // No newline after the last line: the line is still read, once.
    let noFinal = try dir.write("nofinal.jsonl", "{\"text\":\"a\"}\n{\"text\":\"b\"}")
    #expect(try readAllLines(noFinal).map { utf8String($0) } == ["{\"text\":\"a\"}", "{\"text\":\"b\"}"])

    // Empty lines are lines (the document reader skips them, the line numbers still count).
    let blanks = try dir.write("blanks.jsonl", "\n\na\n\n")
    #expect(try readAllLines(blanks).map { utf8String($0) } == ["", "", "a", ""])

    let empty = try dir.write("empty.jsonl", [])
    #expect(try readAllLines(empty).isEmpty)
  }

  @Test func lineNumbersAndByteCounts() throws {
    let dir = try TempDir()
    let text = "one\ntwo\n\nfour"
    let path = try dir.write("n.jsonl", text)
    let reader = LineReader(source: try openByteSource(InputFile(path: path)), initialCapacity: 16)
    defer { reader.close() }
    var numbers: [Int] = []
    while try reader.nextLine() != nil { numbers.append(reader.lineNumber) }
    #expect(numbers == [1, 2, 3, 4])
    #expect(reader.bytesRead == text.utf8.count)
  }

  @Test func fiftyMegabyteLineGrowsTheBuffer() throws {
    // One line far larger than the reader's initial 4 MiB buffer, followed by a short one.
    let dir = try TempDir()
    let size = 50 << 20
    // Byte i is "a" + i % 26, built by doubling (a per-byte loop is slow in debug builds).
    var big = Array("abcdefghijklmnopqrstuvwxyz".utf8)
    while big.count < size { big += big }
    big.removeLast(big.count - size)
    let path = try dir.write("big.jsonl", big + [0x0A] + Array("tail".utf8) + [0x0A])
    let reader = LineReader(source: try openByteSource(InputFile(path: path)))
    defer { reader.close() }
    let first = try #require(try reader.nextLine())
    #expect(first.count == size)
    // memcmp rather than element-wise comparison: this runs in a debug build.
    let same = big.withUnsafeBufferPointer { memcmp($0.baseAddress!, first.baseAddress!, size) == 0 }
    #expect(same)
    let second = try #require(try reader.nextLine())
    #expect(utf8String(second) == "tail")
    #expect(try reader.nextLine() == nil)
  }

  @Test func truncatedZstdIsAnErrorNamingTheFile() throws {
    let dir = try TempDir()
    let plain = try dir.write("src.jsonl", Self.content)
    let compressed = try Shell.check("zstd", ["-q", "-c", plain])
    try #require(compressed.count > 100)
    let path = try dir.write("cut.jsonl.zst", Array(compressed[..<(compressed.count / 2)]))
    let error = winnowError { _ = try readAllLines(path) }
    #expect(error?.isIO == true)
    #expect(error?.message.contains(path) == true, "\(String(describing: error))")
    #expect(error?.message.contains("truncated") == true, "\(String(describing: error))")

    // Cut just before the end: only the checksum is missing, and that must still be noticed.
    let nearEnd = try dir.write("cut-end.jsonl.zst", Array(compressed.dropLast(2)))
    #expect(winnowError { _ = try readAllLines(nearEnd) }?.isIO == true)
  }

  @Test func corruptZstdIsAnErrorNamingTheFile() throws {
    let dir = try TempDir()
    let plain = try dir.write("src.jsonl", Self.content)
    var compressed = try Shell.check("zstd", ["-q", "-c", plain])
    // Damage the middle of the frame; the CLI writes a checksum, so damage cannot go unseen.
    for k in stride(from: compressed.count / 3, to: compressed.count / 3 + 64, by: 1) { compressed[k] ^= 0x5A }
    let path = try dir.write("bad.jsonl.zst", compressed)
    let error = winnowError { _ = try readAllLines(path) }
    #expect(error?.isIO == true)
    #expect(error?.message.contains(path) == true, "\(String(describing: error))")
    #expect(error?.message.contains("offset") == true, "\(String(describing: error))")
  }

  @Test func truncatedGzipIsAnErrorNamingTheFile() throws {
    let dir = try TempDir()
    let plain = try dir.write("src.jsonl", Self.content)
    let compressed = try Shell.check("gzip", ["-c", plain])
    for cut in [compressed.count / 2, compressed.count - 4] {
      let path = try dir.write("cut-\(cut).jsonl.gz", Array(compressed[..<cut]))
      let error = winnowError { _ = try readAllLines(path) }
      #expect(error?.isIO == true, "cut at \(cut)")
      #expect(error?.message.contains(path) == true, "\(String(describing: error))")
    }
  }

  @Test func corruptGzipIsAnError() throws {
    let dir = try TempDir()
    let plain = try dir.write("src.jsonl", Self.content)
    var compressed = try Shell.check("gzip", ["-c", plain])
    for k in (compressed.count / 3)..<(compressed.count / 3 + 64) { compressed[k] ^= 0xA5 }
    let path = try dir.write("bad.jsonl.gz", compressed)
    let error = winnowError { _ = try readAllLines(path) }
    #expect(error?.isIO == true)
    #expect(error?.message.contains(path) == true, "\(String(describing: error))")
  }

  @Test func unreadableInputsAreIOErrors() throws {
    let dir = try TempDir()
    let missing = winnowError { _ = try openByteSource(InputFile(path: dir.file("missing.jsonl"))) }
    #expect(missing?.isIO == true)
    #expect(missing?.message.contains("missing.jsonl") == true)
    let directory = winnowError { _ = try openByteSource(InputFile(path: dir.path)) }
    #expect(directory?.isIO == true)
  }

  @Test func documentReaderSkipsBlankLinesAndReportsBadOnes() throws {
    let dir = try TempDir()
    let path = try dir.write(
      "mixed.jsonl", "{\"text\":\"a\"}\n\n   \t\r\n{\"text\":1}\nnot json\r\n{\"id\":\"x\",\"text\":\"b\"}")
    let reader = DocumentReader(inputs: [InputFile(path: path)], fields: DocumentFields())
    defer { reader.close() }
    var seen: [String] = []
    while let item = try reader.next() {
      switch item {
      case .document(let d): seen.append("doc \(d.lineNumber) \(d.id) \(d.textString)")
      case .bad(let b): seen.append("bad \(b.line) \(b.reason.rawValue) \(b.file == path)")
      case .tooLarge(let t): seen.append("too large \(t.line)")
      }
    }
    #expect(
      seen == [
        "doc 1 \(path)#1 a", "bad 4 text_not_a_string true", "bad 5 invalid_json true", "doc 6 x b",
      ])
    #expect(reader.blankLines == 2)
    #expect(reader.bytesRead == (try readBytes(path)).count)
  }
}
