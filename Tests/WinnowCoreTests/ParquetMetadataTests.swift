import Foundation
import Testing

@testable import WinnowCore

/// The message of the error `body` throws (a `WinnowError`'s own), or nil when it throws none.
func errorMessage(_ body: () throws -> Void) -> String? {
  do {
    try body()
    return nil
  } catch let e as WinnowError { return e.message } catch { return "\(error)" }
}

@Suite("Parquet footers and Thrift's compact protocol")
struct ParquetMetadataTests {
  static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/parquet/tiny-zstd.parquet").path

  func message(_ body: () throws -> Void) -> String? { errorMessage(body) }

  @Test("a pyarrow file's footer: schema, rows, row groups, column chunks")
  func pyarrowFile() throws {
    let m = try ParquetFileMetadata.read(path: Self.tiny)
    #expect(m.schema.map(\.name) == ["schema", "id", "text", "n", "score", "ok"])
    #expect(m.schema[0].numChildren == 5 && m.schema[1].type == 6 && m.schema[3].type == 2 && m.schema[4].type == 5)
    #expect(m.schema[5].type == 0 && m.schema[1].repetition == 1)
    #expect(m.numRows == 3 && m.rowGroups.map(\.numRows) == [2, 1])
    #expect(m.rowGroups.allSatisfy { $0.columns.count == 5 && $0.columns.allSatisfy { $0.codec == 6 } })
    #expect(m.rowGroups[0].columns.map(\.path) == [["id"], ["text"], ["n"], ["score"], ["ok"]])
    #expect(m.rowGroups[0].columns[0].numValues == 2 && m.rowGroups[1].columns[2].numValues == 1)
    #expect(m.createdBy?.hasPrefix("parquet-cpp-arrow") == true)
  }

  @Test("damaged files are errors naming them: short, no magic, a footer length past the start, flipped footer bytes")
  func damaged() throws {
    let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.tiny)))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-parquet-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    func write(_ name: String, _ b: [UInt8]) throws -> String {
      let p = dir.appendingPathComponent(name).path
      try Data(b).write(to: URL(fileURLWithPath: p))
      return p
    }
    let cases: [(String, [UInt8], String)] = [
      ("short.parquet", Array(good.prefix(10)), "too short"),
      ("nomagic.parquet", [0, 0, 0, 0] + good.dropFirst(4), "no PAR1 at its start"),
      ("truncated.parquet", Array(good.dropLast(3)), "no PAR1 at its end"),
      ("length.parquet", Array(good.dropLast(8)) + [0xFF, 0xFF, 0xFF, 0x7F] + Array("PAR1".utf8), "does not fit"),
    ]
    for (name, bytes, why) in cases {
      let p = try write(name, bytes)
      let e = message { _ = try ParquetFileMetadata.read(path: p) }
      #expect(e?.contains(name) == true && e?.contains(why) == true, "\(name): \(e ?? "no error")")
    }
    // Every single-byte change of the footer decodes or fails with an error; none crashes.
    let footerLength = Int(good[good.count - 8]) | Int(good[good.count - 7]) << 8
    let start = good.count - 8 - footerLength
    var failures = 0
    for k in stride(from: start, to: good.count - 8, by: 3) {
      var b = good
      b[k] ^= 0xA5
      let p = try write("flip.parquet", b)
      if message({ _ = try ParquetFileMetadata.read(path: p) }) != nil { failures += 1 }
    }
    #expect(failures > 0)
  }

  @Test("compact protocol: values, and hostile sizes, varints and nesting refused with their offset")
  func compact() throws {
    // struct { 1: i32 -3, 2: string "ab", 3: list<i64> [1, 300], 4: true, 5: double 1.5, 7: struct { 1: i8 -1 } }
    var b: [UInt8] = [0x15, 0x05, 0x18, 0x02, 0x61, 0x62, 0x19, 0x26, 0x02, 0xD8, 0x04, 0x11, 0x17]
    withUnsafeBytes(of: Double(1.5).bitPattern.littleEndian) { b += $0 }
    b += [0x2C, 0x13, 0xFF, 0x00, 0x00]
    let v = try b.withUnsafeBufferPointer { p in var r = ThriftCompactReader(p); return try r.readStruct() }
    let m = v.members!
    #expect(m[1] == .int(-3) && m[2] == .binary([0x61, 0x62]) && m[3] == .list([.int(1), .int(300)]))
    #expect(m[4] == .bool(true) && m[5] == .double(1.5) && m[7] == .structure([1: .int(-1)]))
    let hostile: [([UInt8], String)] = [
      ([0x18, 0xFF, 0xFF, 0xFF, 0x0F], "size"),  // a string longer than the data
      ([0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], "size"),  // a list of 4 billion i32
      ([0x15] + [UInt8](repeating: 0xFF, count: 11), "varint"),
      ([UInt8](repeating: 0x1C, count: 200), "nested"),
      ([0x1D], "unknown compact type"),
      ([0x15], "end of data"),
    ]
    for (bytes, why) in hostile {
      do {
        _ = try bytes.withUnsafeBufferPointer { p in var r = ThriftCompactReader(p); return try r.readStruct() }
        Issue.record("decoded \(bytes)")
      } catch let e as ThriftDecodeError {
        #expect(e.message.contains(why), "\(e.message)")
      }
    }
  }
}
