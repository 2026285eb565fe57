import Glibc

/// Reads a Parquet file row by row, each row as the JSON object line it would have been: its
/// top-level fields as keys in schema order. Streams by row group and page (memory holds one
/// page per column, plus the dictionary), reads only the columns asked for, and turns every
/// damaged byte into an error naming the file, row group and column.
///
/// Nested fields (lists, maps, structs) become JSON arrays and objects (`ParquetNestedField`).
/// Fields it cannot read (INTERVAL, logical types newer than it) are left out of every row and
/// listed in `skippedFields`, unless they were asked for by name: then opening fails.
public final class ParquetRowReader {
  /// The file.
  public let path: String
  /// Its footer.
  public let metadata: ParquetFileMetadata
  /// Its schema.
  public let schema: ParquetSchema
  /// The row groups read, in order.
  public let rowGroups: Range<Int>
  /// Fields left out of the rows, with why.
  public private(set) var skippedFields: [(name: String, reason: String)] = []
  /// The number (1-based, counted from the file's first row) of the row `nextRow` last returned.
  public private(set) var rowNumber = 0
  /// Bytes of JSON handed out so far.
  public private(set) var bytesProduced = 0

  private let file: ParquetFileHandle
  /// Fields read, in schema order, each with its key already written as `"name":`.
  private let fieldsRead: [(field: Int, key: [UInt8])]
  /// Whether each key needed an escape.
  private let keyEscapes: [Bool]
  /// The members of the row `nextRow` last built (for `Document.load(builtLine:…)`), and where
  /// its closing brace is.
  package private(set) var members: [JSONMember] = []
  package private(set) var closingBrace = 0
  /// Whether every string of the last row was valid UTF-8 (else the row must be scanned, which
  /// reports where it is not).
  public private(set) var rowIsValidUTF8 = true
  private var group: Int
  private var rowsLeftInGroup = 0
  private enum FieldReader {
    case flat(ParquetColumnReader)
    case nested(ParquetNestedField)
  }
  private var columns: [FieldReader] = []
  private var leafReaders: [ParquetColumnReader] = []
  private var finished = false

  /// Opens `path`. `columns`: the top-level fields to read (nil: all that can be read); a name
  /// the file does not have is an error listing those it has. `rowGroups`: a range of row
  /// groups (nil: all). `stampContent`: checksum every byte read, for `stamp`.
  public init(
    path: String, columns: [String]? = nil, rowGroups: Range<Int>? = nil, stampContent: Bool = false
  ) throws(WinnowError) {
    self.path = path
    file = try ParquetFileHandle(path: path, stampContent: stampContent)
    metadata = try ParquetFileMetadata.read(path: path)
    schema = try ParquetSchema(metadata.schema, name: path)
    let groups = rowGroups ?? 0..<metadata.rowGroups.count
    guard groups.lowerBound >= 0, groups.upperBound <= metadata.rowGroups.count else {
      throw .io("\(path): has \(metadata.rowGroups.count) row groups; row groups \(groups.lowerBound)..<\(groups.upperBound) were asked for (was the file replaced since the run was planned?)")
    }
    self.rowGroups = groups
    var total: Int64 = 0
    for g in metadata.rowGroups {
      let (t, o) = total.addingReportingOverflow(g.numRows)
      guard !o else { throw .io("\(path): damaged Parquet footer: row counts overflow") }
      total = t
      guard g.columns.count == schema.leaves.count else {
        throw .io("\(path): damaged Parquet footer: a row group has \(g.columns.count) column chunks for \(schema.leaves.count) columns")
      }
    }
    guard total == metadata.numRows else {
      throw .io("\(path): damaged Parquet footer: its row groups hold \(total) rows, the file says \(metadata.numRows)")
    }
    var wanted: Set<String>?
    if let columns {
      let names = Set(schema.fields.map(\.name))
      for c in columns where !names.contains(c) {
        throw .usage("\(path): has no column '\(c)' (it has: \(schema.fields.map(\.name).joined(separator: ", ")))")
      }
      wanted = Set(columns)
    }
    var read: [(Int, [UInt8])] = []
    var skipped: [(String, String)] = []
    for (k, f) in schema.fields.enumerated() {
      if let wanted, !wanted.contains(f.name) { continue }
      if let why = f.unsupported {
        if wanted != nil { throw .usage("\(path): column '\(f.name)' cannot be read: it is \(why)") }
        skipped.append((f.name, why))
        continue
      }
      var key: [UInt8] = []
      JSONString.appendQuoted(f.name, to: &key)
      key.append(UInt8(ascii: ":"))
      read.append((k, key))
    }
    fieldsRead = read
    keyEscapes = read.map { $0.1.contains(UInt8(ascii: "\\")) }
    skippedFields = skipped
    group = groups.lowerBound - 1
    for g in 0..<groups.lowerBound { rowNumber += Int(metadata.rowGroups[g].numRows) }
  }

  /// What was read of the file: its size and modification time, and with `stampContent` the
  /// checksum of every byte read (footer and the pages of the columns read) once every row was.
  public var stamp: FileStamp {
    FileStamp(path: path, bytes: file.size, modified: file.modified, checksum: finished ? file.hasher?.digest : nil)
  }

  /// Bytes read from the file so far.
  public var rawBytesRead: Int { file.bytesRead }

  /// Rows in the row groups read.
  public var rowCount: Int64 { rowGroups.reduce(0) { $0 + metadata.rowGroups[$1].numRows } }

  /// Writes the next row into `out` (cleared first) as a JSON object; false after the last.
  public func nextRow(into out: ByteBuffer) throws(WinnowError) -> Bool {
    while rowsLeftInGroup == 0 {
      for c in leafReaders { try c.finish() }
      columns.removeAll()
      leafReaders.removeAll()
      group += 1
      guard group < rowGroups.upperBound else {
        if !finished {
          finished = true
          // The footer is part of what was read (and of the checksum).
          try hashFooter()
        }
        return false
      }
      let g = metadata.rowGroups[group]
      rowsLeftInGroup = Int(g.numRows)
      for (field, _) in fieldsRead {
        let f = schema.fields[field]
        var readers: [ParquetColumnReader] = []
        for leafIndex in f.leaves {
          let leaf = schema.leaves[leafIndex]
          guard case .success(let rendering) = leaf.rendering else { throw .io("\(path): column '\(f.name)' cannot be read") }
          let chunk = g.columns[leafIndex]
          guard chunk.path == leaf.path else {
            throw .io("\(path): damaged Parquet footer: row group \(group) column \(leafIndex) is '\(chunk.path.joined(separator: "."))', the schema says '\(leaf.path.joined(separator: "."))'")
          }
          readers.append(try ParquetColumnReader(file: file, leaf: leaf, rendering: rendering, chunk: chunk, rowGroup: group))
        }
        leafReaders += readers
        columns.append(f.isFlat ? .flat(readers[0]) : .nested(ParquetNestedField(schema: schema, field: f, readers: readers)))
      }
    }
    rowsLeftInGroup -= 1
    rowNumber += 1
    out.removeAll()
    out.append(UInt8(ascii: "{"))
    members.removeAll(keepingCapacity: true)
    for (k, c) in columns.enumerated() {
      if k > 0 { out.append(UInt8(ascii: ",")) }
      let keyStart = out.count + 1
      fieldsRead[k].key.withUnsafeBufferPointer { out.append($0) }
      let keyEnd = out.count - 2
      let valueStart = out.count
      switch c {
      case .flat(let r): try r.appendNext(to: out)
      case .nested(let n): try n.appendNext(to: out)
      }
      let valueEnd = out.count
      let kind: JSONValueKind
      var escapes = false
      switch out.base[valueStart] {
      case UInt8(ascii: "\""):
        kind = .string
        escapes = memchr(out.base + valueStart + 1, 0x5C, valueEnd - valueStart - 2) != nil
      case UInt8(ascii: "{"): kind = .object
      case UInt8(ascii: "["): kind = .array
      case UInt8(ascii: "t"), UInt8(ascii: "f"): kind = .bool
      case UInt8(ascii: "n"): kind = .null
      default: kind = .number
      }
      members.append(
        JSONMember(
          keyStart: keyStart, keyEnd: keyEnd, keyHasEscapes: keyEscapes[k], valueStart: valueStart, valueEnd: valueEnd,
          kind: kind, valueHasEscapes: escapes))
    }
    closingBrace = out.count
    out.append(UInt8(ascii: "}"))
    rowIsValidUTF8 = true
    for r in leafReaders where r.invalidUTF8 {
      rowIsValidUTF8 = false
      r.invalidUTF8 = false
    }
    bytesProduced += out.count
    return true
  }

  private func hashFooter() throws(WinnowError) {
    guard file.hasher != nil else { return }
    // The last 8 bytes (footer length and magic) and the footer itself.
    let tail = PageBuffer(capacity: 8)
    try file.read(tail.base, count: 8, at: file.size - 8)
    let length = Int(UInt32(tail.base[0]) | UInt32(tail.base[1]) << 8 | UInt32(tail.base[2]) << 16 | UInt32(tail.base[3]) << 24)
    let footer = PageBuffer(capacity: max(length, 1))
    try file.read(footer.base, count: length, at: file.size - 8 - length)
  }
}
