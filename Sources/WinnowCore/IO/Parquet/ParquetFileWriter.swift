import CParquetCodecs
import CZlib
import CZstd
import Glibc

/// The type of a column Winnow writes to Parquet.
public enum ParquetColumnType: String, Sendable, Equatable, CaseIterable {
  /// BYTE_ARRAY annotated STRING: JSON strings.
  case string
  /// INT64: JSON integers that fit 64 bits.
  case int64
  /// DOUBLE: JSON numbers.
  case double
  /// BOOLEAN.
  case bool
  /// BYTE_ARRAY annotated JSON: any JSON value, as its JSON text (objects, arrays, and fields
  /// whose values are of several kinds).
  case json
}

/// How Parquet output is written.
public struct ParquetWriteOptions: Sendable, Equatable {
  /// The page codec.
  public enum Codec: String, Sendable, Equatable, CaseIterable {
    case zstd, snappy, gzip, none
  }

  public var codec = Codec.zstd
  /// zstd: 1-22 (default 3); gzip: 1-9 (default 6).
  public var level: Int?
  /// A row group is written once this many bytes of documents (as JSON) are buffered.
  public var rowGroupBytes = 64 << 20
  /// A page is cut once this many bytes of a column's values are in it.
  public var pageBytes = 1 << 20
  /// Write each page's CRC-32 in its header (readers check it).
  public var pageChecksums = true
  /// The columns, in order (nil: inferred from the documents of the first row group).
  public var schema: [(name: String, type: ParquetColumnType)]?

  public init() {}

  public static func == (a: ParquetWriteOptions, b: ParquetWriteOptions) -> Bool {
    a.codec == b.codec && a.level == b.level && a.pageChecksums == b.pageChecksums && a.rowGroupBytes == b.rowGroupBytes && a.pageBytes == b.pageBytes
      && a.schema?.map(\.name) == b.schema?.map(\.name) && a.schema?.map(\.type) == b.schema?.map(\.type)
  }

  /// Parses `name:type,name:type` (the CLI's `--parquet-schema`).
  public static func parseSchema(_ text: String) throws(WinnowError) -> [(name: String, type: ParquetColumnType)] {
    var out: [(String, ParquetColumnType)] = []
    for part in text.split(separator: ",") {
      let pieces = part.split(separator: ":", maxSplits: 1)
      func trimmed(_ s: Substring) -> String { String(s.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
      let name = pieces.first.map(trimmed) ?? ""
      let typeName = pieces.count == 2 ? trimmed(pieces[1]) : ""
      guard !name.isEmpty, let type = ParquetColumnType(rawValue: typeName) else {
        throw .usage(
          "Parquet schema entry '\(part)' is not NAME:TYPE with TYPE one of \(ParquetColumnType.allCases.map(\.rawValue).joined(separator: "|"))")
      }
      guard !out.contains(where: { $0.0 == name }) else { throw .usage("Parquet schema names '\(name)' twice") }
      out.append((name, type))
    }
    guard !out.isEmpty else { throw .usage("the Parquet schema names no column") }
    return out
  }
}

/// Writes documents (JSON object lines) as one Parquet file: each top-level field a column
/// (nullable; a document without the field has null there), row groups of about
/// `rowGroupBytes` of documents, PLAIN values with definition levels in data pages (v1), each
/// page compressed and checksummed (CRC-32 in its header).
///
/// Column types come from `options.schema`, or from the documents of the first row group: a
/// field whose values are all strings is `string`, all integers `int64`, numbers with a
/// fraction or exponent (or beyond 64 bits) among integers `double`, all booleans `bool`, only
/// nulls `string`, anything else (objects, arrays, mixed kinds) `json`. After the first row
/// group the schema is fixed: a new field, or a value that does not fit its column's type
/// (other than an integer in a `double` column), is an error naming the document — declare the
/// schema to write such data. Nothing is converted silently.
public final class ParquetFileWriter {
  struct Column {
    var name: String
    var type: ParquetColumnType
    /// 1 present, 0 null, per row of the row group.
    var levels: [UInt8] = []
    /// PLAIN values of the row group (bools: one byte each, packed per page).
    var values = ByteBuffer(capacity: 1 << 12)
    /// Pages: (end row, end value offset) of each page but the open one.
    var cuts: [(rows: Int, bytes: Int)] = []
    var pageStartBytes = 0
    var present = 0
  }

  let sink: ByteSink
  let file: FileSink?
  let options: ParquetWriteOptions
  var columns: [Column]?
  var columnIndex: [[UInt8]: Int] = [:]
  /// Documents of the open row group.
  let rows = ByteBuffer(capacity: 1 << 16)
  var rowEnds: [Int] = []
  var scanner = JSONScanner()
  var offset = 0
  var rowGroupMetadata: [[UInt8]] = []
  var totalRows: Int64 = 0
  var rowsBeforeGroup = 0
  let stored = PageBuffer()
  var unescaped: [UInt8] = []
  public private(set) var linesWritten = 0
  /// Bytes of documents (as JSON lines) written.
  public private(set) var bytesWritten = 0

  /// Writes to `sink` (the file's magic first).
  public init(sink: ByteSink, options: ParquetWriteOptions) throws(WinnowError) {
    self.sink = sink
    file = sink.file
    self.options = options
    if let schema = options.schema {
      columns = schema.map { Column(name: $0.name, type: $0.type) }
      for (k, c) in schema.enumerated() { columnIndex[Array(c.name.utf8)] = k }
    }
    try emit(Array("PAR1".utf8))
  }

  var name: String { file?.name ?? "<parquet output>" }

  private func emit(_ bytes: [UInt8]) throws(WinnowError) {
    try sink.write(bytes)
    offset += bytes.count
  }

  private func emit(_ p: UnsafePointer<UInt8>, count: Int) throws(WinnowError) {
    try sink.write(UnsafeRawBufferPointer(start: p, count: count))
    offset += count
  }

  public func write(line: UnsafeBufferPointer<UInt8>) throws(WinnowError) {
    rows.append(line)
    rowEnds.append(rows.count)
    linesWritten += 1
    bytesWritten += line.count + 1
    if rows.count >= options.rowGroupBytes { try flushRowGroup() }
  }

  public func finish() throws(WinnowError) {
    if !rowEnds.isEmpty { try flushRowGroup() }
    // No document at all and no schema given: a file of no columns and no rows.
    if columns == nil { columns = [] }
    var w = ThriftCompactWriter()
    w.i32(1, 1)
    let cols = columns ?? []
    w.list(2, elementType: 12, count: cols.count + 1)
    w.beginElement()
    w.string(4, "schema")
    w.i32(5, Int32(cols.count))
    w.end()
    for c in cols {
      w.beginElement()
      w.i32(1, Self.physicalType(c.type))
      w.i32(3, 1)  // OPTIONAL
      w.string(4, c.name)
      switch c.type {
      case .string:
        w.i32(6, 0)  // UTF8
        w.beginStruct(10)
        w.beginStruct(1)
        w.end()
        w.end()
      case .json:
        w.i32(6, 19)  // JSON
        w.beginStruct(10)
        w.beginStruct(12)
        w.end()
        w.end()
      default: break
      }
      w.end()
    }
    w.i64(3, totalRows)
    w.list(4, elementType: 12, count: rowGroupMetadata.count)
    w.bytes.append(contentsOf: rowGroupMetadata.joined())
    w.string(6, "winnow")
    w.end()
    let footer = w.bytes
    try emit(footer)
    let n = UInt32(footer.count)
    try emit([UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)] + Array("PAR1".utf8))
    try sink.finish()
  }

  public func abort() { sink.abort() }

  static func physicalType(_ t: ParquetColumnType) -> Int32 {
    switch t {
    case .string, .json: return 6
    case .int64: return 2
    case .double: return 5
    case .bool: return 0
    }
  }

  /// The kind of a JSON number: an integer that fits 64 bits, or not.
  static func integerValue(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
    var i = 0
    var negative = false
    if i < n, p[i] == UInt8(ascii: "-") {
      negative = true
      i += 1
    }
    guard i < n else { return nil }
    var v: Int64 = 0
    while i < n {
      let c = p[i]
      guard c >= 0x30, c <= 0x39 else { return nil }
      let (m, o1) = v.multipliedReportingOverflow(by: 10)
      let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(c - 0x30)) : m.addingReportingOverflow(Int64(c - 0x30))
      if o1 || o2 { return nil }
      v = a
      i += 1
    }
    return v
  }

  static func doubleValue(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
      for k in 0..<n { buf[k] = CChar(bitPattern: p[k]) }
      buf[n] = 0
      return strtod(buf.baseAddress!, nil)
    }
  }

  /// Decides the columns from the buffered documents.
  private func inferSchema() throws(WinnowError) {
    struct Seen {
      var strings = 0, integers = 0, fractions = 0, bools = 0, nested = 0
    }
    var order: [[UInt8]] = []
    var seen: [[UInt8]: Seen] = [:]
    var start = 0
    for end in rowEnds {
      let line = UnsafeBufferPointer(start: rows.base + start, count: end - start)
      start = end
      do { try scanner.scanObject(line) } catch {
        throw .io("\(name): a document to write is not a JSON object (\(error.reason.rawValue))")
      }
      for m in scanner.members {
        let key = try keyBytes(line, m)
        if seen[key] == nil {
          order.append(key)
          seen[key] = Seen()
        }
        switch m.kind {
        case .string: seen[key]!.strings += 1
        case .number:
          if Self.integerValue(line.baseAddress! + m.valueStart, m.valueEnd - m.valueStart) != nil {
            seen[key]!.integers += 1
          } else {
            seen[key]!.fractions += 1
          }
        case .bool: seen[key]!.bools += 1
        case .null: break
        case .object, .array: seen[key]!.nested += 1
        }
      }
    }
    var cols: [Column] = []
    for key in order {
      let s = seen[key]!
      let kinds = [s.strings > 0, s.integers + s.fractions > 0, s.bools > 0, s.nested > 0].filter { $0 }.count
      let type: ParquetColumnType
      if kinds > 1 || s.nested > 0 {
        type = .json
      } else if s.integers + s.fractions > 0 {
        type = s.fractions > 0 ? .double : .int64
      } else if s.bools > 0 {
        type = .bool
      } else {
        type = .string
      }
      columnIndex[key] = cols.count
      cols.append(Column(name: String(decoding: key, as: UTF8.self), type: type))
    }
    columns = cols
  }

  /// A member's key, unescaped.
  private func keyBytes(_ line: UnsafeBufferPointer<UInt8>, _ m: JSONMember) throws(WinnowError) -> [UInt8] {
    let raw = UnsafeBufferPointer(rebasing: line[m.keyStart..<m.keyEnd])
    guard m.keyHasEscapes else { return Array(raw) }
    var out: [UInt8] = []
    JSONString.unescape(raw, into: &out)
    return out
  }

  private func flushRowGroup() throws(WinnowError) {
    if columns == nil { try inferSchema() }
    var cols = columns!
    let rowCount = rowEnds.count
    for k in cols.indices {
      cols[k].levels.removeAll(keepingCapacity: true)
      cols[k].levels.reserveCapacity(rowCount)
      cols[k].values.removeAll()
      cols[k].cuts.removeAll(keepingCapacity: true)
      cols[k].pageStartBytes = 0
      cols[k].present = 0
    }
    var start = 0
    var filled = [Bool](repeating: false, count: cols.count)
    var valueStarts = [Int](repeating: 0, count: cols.count)
    for (r, end) in rowEnds.enumerated() {
      let line = UnsafeBufferPointer(start: rows.base + start, count: end - start)
      start = end
      do { try scanner.scanObject(line) } catch {
        throw .io("\(name): document \(rowsBeforeGroup + r + 1) to write is not a JSON object (\(error.reason.rawValue))")
      }
      for k in filled.indices { filled[k] = false }
      for m in scanner.members {
        let key = try keyBytes(line, m)
        guard let c = columnIndex[key] else {
          throw .io(
            "\(name): document \(rowsBeforeGroup + r + 1) has field '\(String(decoding: key, as: UTF8.self))', which is not a column of the Parquet schema (\(options.schema != nil ? "the schema given" : "inferred from the first \(rowsBeforeGroup == 0 ? rowCount : rowsBeforeGroup) documents")); declare the schema (--parquet-schema, output.parquet_schema) to write it")
        }
        // A key given twice: the last value counts (as Python's json reads it).
        if filled[c] {
          if cols[c].levels.removeLast() == 1 { cols[c].present -= 1 }
          cols[c].values.count = valueStarts[c]
        }
        filled[c] = true
        valueStarts[c] = cols[c].values.count
        try append(line, m, to: &cols[c], document: rowsBeforeGroup + r + 1)
      }
      for k in filled.indices where !filled[k] { cols[k].levels.append(0) }
      for k in cols.indices where cols[k].values.count - cols[k].pageStartBytes >= options.pageBytes {
        cols[k].cuts.append((r + 1, cols[k].values.count))
        cols[k].pageStartBytes = cols[k].values.count
      }
    }
    columns = cols
    try writeRowGroup(rowCount: rowCount)
    rowsBeforeGroup += rowCount
    totalRows += Int64(rowCount)
    rows.removeAll()
    rowEnds.removeAll(keepingCapacity: true)
    // Give back the buffers of the columns (the next group fills them again).
    for k in columns!.indices { columns![k].values = ByteBuffer(capacity: 1 << 12) }
  }

  private func append(_ line: UnsafeBufferPointer<UInt8>, _ m: JSONMember, to col: inout Column, document: Int) throws(WinnowError) {
    let p = line.baseAddress! + m.valueStart
    let n = m.valueEnd - m.valueStart
    if m.kind == .null {
      col.levels.append(0)
      return
    }
    func mismatch() -> WinnowError {
      .io(
        "\(name): document \(document) has field '\(col.name)' as a JSON \(m.kind), which does not fit its Parquet column type \(col.type.rawValue) (\(options.schema != nil ? "given" : "inferred from the first row group")); declare the field as json (--parquet-schema, output.parquet_schema) to write values of several kinds")
    }
    col.levels.append(1)
    col.present += 1
    switch col.type {
    case .string:
      guard m.kind == .string else { throw mismatch() }
      let raw = UnsafeBufferPointer(start: p + 1, count: n - 2)
      if m.valueHasEscapes {
        unescaped.removeAll(keepingCapacity: true)
        JSONString.unescape(raw, into: &unescaped)
        appendLength(unescaped.count, to: col.values)
        col.values.append(unescaped)
      } else {
        appendLength(raw.count, to: col.values)
        col.values.append(raw)
      }
    case .json:
      appendLength(n, to: col.values)
      col.values.append(p, count: n)
    case .int64:
      guard m.kind == .number, let v = Self.integerValue(p, n) else { throw mismatch() }
      appendLE(UInt64(bitPattern: v), bytes: 8, to: col.values)
    case .double:
      guard m.kind == .number else { throw mismatch() }
      appendLE(Self.doubleValue(p, n).bitPattern, bytes: 8, to: col.values)
    case .bool:
      guard m.kind == .bool else { throw mismatch() }
      col.values.append(p[0] == UInt8(ascii: "t") ? 1 : 0)
    }
  }

  private func appendLength(_ n: Int, to out: ByteBuffer) { appendLE(UInt64(n), bytes: 4, to: out) }

  private func appendLE(_ v: UInt64, bytes: Int, to out: ByteBuffer) {
    for k in 0..<bytes { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
  }

  private func writeRowGroup(rowCount: Int) throws(WinnowError) {
    let groupStart = offset
    var chunkMetadata: [[UInt8]] = []
    var totalUncompressed: Int64 = 0
    for k in columns!.indices {
      let col = columns![k]
      let chunkStart = offset
      var uncompressedTotal = 0
      var cuts = col.cuts
      if cuts.last?.rows != rowCount { cuts.append((rowCount, col.values.count)) }
      var rowStart = 0
      var byteStart = 0
      var body: [UInt8] = []
      for cut in cuts where cut.rows > rowStart || rowCount == 0 {
        let levels = col.levels[rowStart..<cut.rows]
        body.removeAll(keepingCapacity: true)
        // Definition levels: one bit-packed run (4-byte length first, as data pages v1 store them).
        var runs: [UInt8] = []
        var header = UInt64((levels.count + 7) / 8) << 1 | 1
        while header >= 0x80 {
          runs.append(UInt8(header & 0x7F) | 0x80)
          header >>= 7
        }
        runs.append(UInt8(header))
        var byte: UInt8 = 0
        for (i, l) in levels.enumerated() {
          byte |= l << UInt8(i & 7)
          if i & 7 == 7 {
            runs.append(byte)
            byte = 0
          }
        }
        if levels.count & 7 != 0 { runs.append(byte) }
        let n = UInt32(runs.count)
        body += [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
        body += runs
        let values = UnsafeBufferPointer(start: col.values.base + byteStart, count: cut.bytes - byteStart)
        if col.type == .bool {
          var packed: UInt8 = 0
          for (i, b) in values.enumerated() {
            packed |= b << UInt8(i & 7)
            if i & 7 == 7 {
              body.append(packed)
              packed = 0
            }
          }
          if values.count & 7 != 0 { body.append(packed) }
        } else {
          body.append(contentsOf: values)
        }
        let compressedCount = try compress(body)
        var h = ThriftCompactWriter()
        h.i32(1, 0)
        h.i32(2, Int32(body.count))
        h.i32(3, Int32(compressedCount))
        if options.pageChecksums {
          h.i32(4, Int32(bitPattern: UInt32(truncatingIfNeeded: crc32(0, stored.base, UInt32(compressedCount)))))
        }
        h.beginStruct(5)
        h.i32(1, Int32(levels.count))
        h.i32(2, 0)  // PLAIN
        h.i32(3, 3)  // RLE
        h.i32(4, 3)
        h.end()
        h.end()
        try emit(h.bytes)
        try emit(stored.base, count: compressedCount)
        uncompressedTotal += h.bytes.count + body.count
        rowStart = cut.rows
        byteStart = cut.bytes
        if rowCount == 0 { break }
      }
      totalUncompressed += Int64(uncompressedTotal)
      var m = ThriftCompactWriter()
      m.beginElement()
      m.i64(2, Int64(chunkStart))
      m.beginStruct(3)
      m.i32(1, Self.physicalType(col.type))
      m.list(2, elementType: 5, count: 2)
      m.listI32(0)
      m.listI32(3)
      m.list(3, elementType: 8, count: 1)
      m.listBinary(Array(col.name.utf8))
      m.i32(4, codecID)
      m.i64(5, Int64(rowCount))
      m.i64(6, Int64(uncompressedTotal))
      m.i64(7, Int64(offset - chunkStart))
      m.i64(9, Int64(chunkStart))
      m.end()
      m.end()
      chunkMetadata.append(m.bytes)
    }
    var g = ThriftCompactWriter()
    g.beginElement()
    g.list(1, elementType: 12, count: chunkMetadata.count)
    g.bytes.append(contentsOf: chunkMetadata.joined())
    g.i64(2, totalUncompressed)
    g.i64(3, Int64(rowCount))
    g.i64(5, Int64(groupStart))
    g.i64(6, Int64(offset - groupStart))
    g.end()
    rowGroupMetadata.append(g.bytes)
  }

  var codecID: Int32 {
    switch options.codec {
    case .none: return 0
    case .snappy: return 1
    case .gzip: return 2
    case .zstd: return 6
    }
  }

  /// Compresses `body` into `stored`; returns the compressed size.
  private func compress(_ body: [UInt8]) throws(WinnowError) -> Int {
    try body.withUnsafeBufferPointer { (src) throws(WinnowError) -> Int in
      let base = src.baseAddress ?? UnsafePointer(stored.base)
      switch options.codec {
      case .none:
        stored.reserve(max(src.count, 1))
        stored.base.update(from: base, count: src.count)
        return src.count
      case .snappy:
        var n = snappy_max_compressed_length(src.count)
        stored.reserve(n)
        guard snappy_compress(base, src.count, stored.base, &n) == SNAPPY_OK else { throw .io("\(name): snappy failed") }
        return n
      case .zstd:
        let bound = ZSTD_compressBound(src.count)
        stored.reserve(bound)
        let r = ZSTD_compress(stored.base, bound, base, src.count, Int32(options.level ?? 3))
        guard ZSTD_isError(r) == 0 else { throw .io("\(name): zstd failed: \(String(cString: ZSTD_getErrorName(r)))") }
        return r
      case .gzip:
        var stream = z_stream()
        guard
          deflateInit2_(
            &stream, Int32(options.level ?? 6), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { throw .io("\(name): cannot start zlib") }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(src.count))) + 32
        stored.reserve(bound)
        stream.next_in = UnsafeMutablePointer(mutating: base)
        stream.avail_in = UInt32(src.count)
        stream.next_out = stored.base
        stream.avail_out = UInt32(bound)
        guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { throw .io("\(name): gzip failed") }
        return bound - Int(stream.avail_out)
      }
    }
  }
}
