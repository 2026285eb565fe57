import Foundation
import Synchronization
import Testing

@testable import WinnowCore

/// Parquet written by `ParquetFileWriter` and read back by `ParquetRowReader` and
/// `DocumentReader`; damaged files. (Parity with pyarrow and DuckDB, on files they write, is
/// Tests/parity/parquet_parity.py.)
@Suite("Parquet rows: reading, writing, damaged files")
struct ParquetReadWriteTests {
  static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/parquet/tiny-zstd.parquet").path

  final class Dir {
    let path: String
    init() throws {
      path = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-pq-\(UUID().uuidString)").path
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
  }

  /// Writes `lines` (JSON objects) as a Parquet file.
  func writeParquet(_ path: String, _ lines: [String], options: ParquetWriteOptions = ParquetWriteOptions()) throws {
    let w = try ParquetFileWriter(sink: try FileSink(path: path), options: options)
    for l in lines {
      var b = Array(l.utf8)
      try b.withUnsafeMutableBufferPointer { try w.write(line: UnsafeBufferPointer($0)) }
    }
    try w.finish()
  }

  /// Every row of `path` as a string.
  func rows(_ path: String, columns: [String]? = nil, rowGroups: Range<Int>? = nil) throws -> [String] {
    let r = try ParquetRowReader(path: path, columns: columns, rowGroups: rowGroups)
    let buf = ByteBuffer()
    var out: [String] = []
    while try r.nextRow(into: buf) { out.append(String(decoding: buf.bytes, as: UTF8.self)) }
    return out
  }

  func message(_ body: () throws -> Void) -> String? { errorMessage(body) }

  @Test("the pyarrow fixture reads as JSON objects in schema order, nulls included")
  func pyarrowFixture() throws {
    let got = try rows(Self.tiny)
    #expect(got.count == 3)
    #expect(got.allSatisfy { $0.hasPrefix("{\"id\":") && $0.contains("\"text\":") })
    for line in got {
      let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
      #expect(Set(obj.keys) == ["id", "text", "n", "score", "ok"])
    }
  }

  @Test("written and read back: strings (escapes, non-English), integers, doubles, booleans, nulls, missing fields, nested values as JSON text")
  func roundTrip() throws {
    let d = try Dir()
    let lines = [
      #"{"id":"a","text":"Grüße, 世界 🌍 \"quoted\" back\\slash\ttab\nline","n":1,"x":0.5,"ok":true,"meta":{"k":[1,2]}}"#,
      #"{"id":"b","text":"","n":-9223372036854775808,"x":1e300,"ok":false,"meta":[1,"two",null]}"#,
      #"{"text":"no id","n":null,"x":3,"meta":"a string among objects"}"#,
    ]
    try writeParquet(d.file("t.parquet"), lines)
    let got = try rows(d.file("t.parquet"))
    #expect(got.count == 3)
    let objects = try got.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    #expect(objects[0]["text"] as? String == "Grüße, 世界 🌍 \"quoted\" back\\slash\ttab\nline")
    #expect(objects[1]["n"] as? Int64 == Int64.min || (objects[1]["n"] as? NSNumber)?.int64Value == Int64.min)
    #expect(objects[2]["id"] is NSNull && objects[2]["ok"] is NSNull && objects[2]["n"] is NSNull)
    // x mixes integers and fractions: a double column.
    #expect((objects[2]["x"] as? NSNumber)?.doubleValue == 3 && got[2].contains("\"x\":3.0"))
    // meta mixes kinds: a JSON column, each value its JSON text.
    #expect(objects[0]["meta"] as? String == #"{"k":[1,2]}"# && objects[2]["meta"] as? String == #""a string among objects""#)
    let m = try ParquetFileMetadata.read(path: d.file("t.parquet"))
    #expect(m.schema.map(\.name) == ["schema", "id", "text", "n", "x", "ok", "meta"])
    #expect(m.schema.dropFirst().map { $0.type } == [6, 6, 2, 5, 0, 6])
    // Projection: only the columns asked for, in schema order.
    #expect(try rows(d.file("t.parquet"), columns: ["text", "id"]).first == #"{"id":"a","text":"Grüße, 世界 🌍 \"quoted\" back\\slash\ttab\nline"}"#)
    #expect(message { _ = try rows(d.file("t.parquet"), columns: ["nope"]) }?.contains("has no column 'nope'") == true)
  }

  @Test("nested values: objects as structs, arrays as LISTs (of objects, of arrays), at any depth, with nulls, empty lists and missing keys")
  func nested() throws {
    let d = try Dir()
    let lines = [
      #"{"text":"a","meta":{"lang":"en","scores":[0.5,1],"tags":[{"k":"x","v":[1,2]},{"k":"y","v":[]}]},"grid":[[1,2],[3]]}"#,
      #"{"text":"b","meta":{"lang":null,"scores":[],"tags":null},"grid":[[],null,[4]]}"#,
      #"{"text":"c","meta":null,"grid":null}"#,
      #"{"text":"d","meta":{"scores":[2,null],"tags":[null,{"k":"z"}]}}"#,
    ]
    var o = ParquetWriteOptions()
    o.pageBytes = 16
    try writeParquet(d.file("n.parquet"), lines, options: o)
    let m = try ParquetFileMetadata.read(path: d.file("n.parquet"))
    // Leaves: text, meta.lang, meta.scores, meta.tags.k, meta.tags.v, grid.
    #expect(m.rowGroups[0].columns.map { $0.path.joined(separator: ".") }
      == ["text", "meta.lang", "meta.scores.list.element", "meta.tags.list.element.k", "meta.tags.list.element.v.list.element", "grid.list.element.list.element"])
    let got = try rows(d.file("n.parquet"))
    // Missing keys read back as null; numbers of a double column with a point.
    #expect(got == [
      #"{"text":"a","meta":{"lang":"en","scores":[0.5,1.0],"tags":[{"k":"x","v":[1,2]},{"k":"y","v":[]}]},"grid":[[1,2],[3]]}"#,
      #"{"text":"b","meta":{"lang":null,"scores":[],"tags":null},"grid":[[],null,[4]]}"#,
      #"{"text":"c","meta":null,"grid":null}"#,
      #"{"text":"d","meta":{"lang":null,"scores":[2.0,null],"tags":[null,{"k":"z","v":null}]},"grid":null}"#,
    ])
    // A key the first row group did not have, inside an object: an error naming its path.
    var small = ParquetWriteOptions()
    small.rowGroupBytes = 1
    let late = message { try writeParquet(d.file("late.parquet"), [#"{"m":{"a":1}}"#, #"{"m":{"a":2,"b":3}}"#], options: small) }
    #expect(late?.contains("document 2 has 'm.b'") == true)
  }

  @Test("every codec and several row groups and pages; row-group ranges read their own rows")
  func codecsAndGroups() throws {
    let d = try Dir()
    let lines = (0..<500).map { #"{"id":"doc-\#($0)","text":"\#(String(repeating: "word\($0) ", count: $0 % 40 + 1))","k":\#($0)}"# }
    for codec in ParquetWriteOptions.Codec.allCases {
      var o = ParquetWriteOptions()
      o.codec = codec
      o.rowGroupBytes = 20_000
      o.pageBytes = 2_000
      let f = d.file("\(codec).parquet")
      try writeParquet(f, lines, options: o)
      let m = try ParquetFileMetadata.read(path: f)
      #expect(m.rowGroups.count > 3)
      let got = try rows(f)
      #expect(got.count == 500)
      for (k, line) in got.enumerated() { #expect(line == lines[k]) }
      // The rows of a range of row groups, numbered from the file's first row.
      let r = try ParquetRowReader(path: f, rowGroups: 2..<3)
      let buf = ByteBuffer()
      #expect(try r.nextRow(into: buf))
      let first = Int(m.rowGroups[0].numRows + m.rowGroups[1].numRows)
      #expect(r.rowNumber == first + 1 && String(decoding: buf.bytes, as: UTF8.self) == lines[first])
    }
  }

  @Test("writing: a new field after the first row group, or a value of another kind, is an error naming the document; a declared schema takes them")
  func writerRules() throws {
    let d = try Dir()
    var o = ParquetWriteOptions()
    o.rowGroupBytes = 1
    let late = message { try writeParquet(d.file("a.parquet"), [#"{"text":"a"}"#, #"{"text":"b","extra":1}"#], options: o) }
    #expect(late?.contains("document 2 has field 'extra'") == true)
    #expect(!FileManager.default.fileExists(atPath: d.file("a.parquet")))
    let kind = message { try writeParquet(d.file("b.parquet"), [#"{"n":1}"#, #"{"n":"one"}"#], options: o) }
    #expect(kind?.contains("document 2 has 'n' as a JSON string") == true)
    o.schema = try ParquetWriteOptions.parseSchema("text:string, extra:json, n:double")
    try writeParquet(d.file("c.parquet"), [#"{"text":"a","n":1}"#, #"{"text":"b","extra":{"z":1},"n":2.5}"#], options: o)
    #expect(try rows(d.file("c.parquet")) == [#"{"text":"a","extra":null,"n":1.0}"#, #"{"text":"b","extra":"{\"z\":1}","n":2.5}"#])
    // A key given twice: the last value counts.
    try writeParquet(d.file("dup.parquet"), [#"{"text":"a","text":"b"}"#])
    #expect(try rows(d.file("dup.parquet")) == [#"{"text":"b"}"#])
    #expect(message { _ = try ParquetWriteOptions.parseSchema("a:text") }?.contains("NAME:TYPE") == true)
    // No documents: a file of no rows.
    try writeParquet(d.file("empty.parquet"), [])
    #expect(try rows(d.file("empty.parquet")).isEmpty)
  }

  @Test("documents from Parquet: ids FILE#ROW, a null text quarantined like a JSON line, oversized rows reported")
  func asDocuments() throws {
    let d = try Dir()
    var o = ParquetWriteOptions()
    o.schema = [("text", .string), ("n", .int64)]
    let f = d.file("docs.parquet")
    try writeParquet(f, [#"{"text":"good one","n":1}"#, #"{"text":null,"n":2}"#, #"{"text":"\#(String(repeating: "x", count: 5000))"}"#], options: o)
    let reader = DocumentReader(inputs: [InputFile(path: f)], fields: DocumentFields(), maxDocumentBytes: 4000)
    var seen: [String] = []
    while let item = try reader.next() {
      switch item {
      case .document(let doc): seen.append("doc \(doc.id) \(doc.sourceName == f)")
      case .bad(let b): seen.append("bad \(b.line) \(b.reason.rawValue)")
      case .tooLarge(let t):
        var n = 0
        try reader.drainTooLarge { n += $0.count }
        seen.append("large \(t.line) \(n > 5000)")
      }
    }
    #expect(seen == ["doc \(f)#1 true", "bad 2 text_not_a_string", "large 3 true"])
    #expect(reader.stamps.count == 1 && reader.stamps[0].path == f)
  }

  @Test("damaged files: truncated, bad magic, a flipped page byte (its CRC), random damage never crashes")
  func damaged() throws {
    let d = try Dir()
    let f = d.file("good.parquet")
    try writeParquet(f, (0..<200).map { #"{"id":"\#($0)","text":"some text number \#($0) with words"}"# })
    let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: f)))
    func write(_ name: String, _ b: [UInt8]) throws -> String {
      let p = d.file(name)
      try Data(b).write(to: URL(fileURLWithPath: p))
      return p
    }
    let cut = try write("cut.parquet", Array(good.dropLast(100)))
    #expect(message { _ = try rows(cut) }?.contains("cut.parquet") == true)
    var magic = good
    magic[0] = UInt8(ascii: "X")
    let bad = try write("magic.parquet", magic)
    #expect(message { _ = try ParquetRowReader(path: bad) }?.contains("not a Parquet file") == true)
    // Flip a byte inside the first page of the second column.
    let m = try ParquetFileMetadata.read(path: f)
    var flipped = good
    flipped[Int(m.rowGroups[0].columns[1].dataPageOffset) + 40] ^= 0x5A
    let crc = try write("crc.parquet", flipped)
    let msg = message { _ = try rows(crc) }
    #expect(msg?.contains("crc.parquet: row group 0, column text") == true && msg?.contains("CRC") == true)
    // Random damage anywhere (in this file, whose pages have CRCs, and in one uncompressed and
    // without CRCs, so that the damage reaches the decoders): an error or rows, never a crash.
    var rng = SystemRandomNumberGenerator()
    var plain = ParquetWriteOptions()
    plain.codec = .none
    plain.pageChecksums = false
    plain.rowGroupBytes = 3000
    plain.pageBytes = 500
    try writeParquet(d.file("plain.parquet"), (0..<200).map { #"{"id":"\#($0)","n":\#($0),"x":\#($0).5,"b":\#($0 % 3 == 0),"text":"text \#($0)"}"# }, options: plain)
    let open = try [UInt8](Data(contentsOf: URL(fileURLWithPath: d.file("plain.parquet"))))
    for k in 0..<1000 {
      var b = k % 4 == 0 ? good : open
      for _ in 0..<(1 + k % 4) { b[Int.random(in: 4..<(b.count - 4), using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
      let p = try write("fuzz.parquet", b)
      _ = message { _ = try rows(p) }
    }
  }

  @Test("an input's stamp: size, time and the checksum of the bytes read, once every row was; a changed file changes it")
  func stamps() throws {
    let d = try Dir()
    let f = d.file("s.parquet")
    try writeParquet(f, (0..<50).map { #"{"id":"\#($0)","text":"t \#($0)"}"# })
    func stamp(columns: [String]? = nil) throws -> FileStamp {
      let r = try ParquetRowReader(path: f, columns: columns, stampContent: true)
      let b = ByteBuffer()
      #expect(r.stamp.checksum == nil)
      while try r.nextRow(into: b) {}
      return r.stamp
    }
    let a = try stamp()
    let size = try FileManager.default.attributesOfItem(atPath: f)[.size] as? Int
    #expect(a.checksum != nil && a.bytes == size)
    let again = try stamp()
    #expect(again == a)
    // Other columns read: other bytes, another checksum (a run reads the same columns in every pass).
    let textOnly = try stamp(columns: ["text"])
    #expect(textOnly.checksum != a.checksum)
    try writeParquet(f, (0..<50).map { #"{"id":"\#($0)","text":"T \#($0)"}"# })
    let changed = try stamp()
    #expect(changed.checksum != a.checksum)
  }

  @Test("a directory of Parquet and JSONL shards is read in name order")
  func directory() throws {
    let d = try Dir()
    try FileManager.default.createDirectory(atPath: d.file("in"), withIntermediateDirectories: true)
    try writeParquet(d.file("in/a.parquet"), [#"{"text":"from parquet"}"#])
    try Data(#"{"text":"from jsonl"}"#.utf8 + [0x0A]).write(to: URL(fileURLWithPath: d.file("in/b.jsonl")))
    let reader = DocumentReader(inputs: try InputSet.expand([d.file("in")]), fields: DocumentFields())
    var texts: [String] = []
    while let item = try reader.next() {
      if case .document(let doc) = item { texts.append(String(decoding: doc.text, as: UTF8.self)) }
    }
    #expect(texts == ["from parquet", "from jsonl"])
  }

  @Test("looking for Parquet's magic never opens a FIFO: a writer waiting on it stays waiting until the real reader opens it")
  func sniffingLeavesFIFOsAlone() throws {
    let d = try Dir()
    let fifo = d.file("feed")
    #expect(mkfifo(fifo, 0o600) == 0)
    // A writer blocks in open() until some reader opens the FIFO; had the sniff opened it, the
    // writer would wake, and write into a pipe closed again at once (EPIPE).
    let opened = Mutex(false)
    let writer = Thread {
      let fd = open(fifo, O_WRONLY | O_CLOEXEC)
      opened.withLock { $0 = true }
      if fd >= 0 { close(fd) }
    }
    writer.start()
    usleep(50_000)
    #expect(!ParquetFileMetadata.isParquet(path: fifo))
    usleep(100_000)
    #expect(!opened.withLock { $0 }, "the magic check opened the FIFO")
    // Unblock the writer (non-blocking, so a writer already gone cannot hang the test).
    let fd = open(fifo, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    for _ in 0..<200 where !opened.withLock({ $0 }) { usleep(5_000) }
    if fd >= 0 { close(fd) }
    #expect(opened.withLock { $0 })
  }
}
