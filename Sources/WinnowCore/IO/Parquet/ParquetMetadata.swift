import Glibc

/// A Parquet file's footer (`FileMetaData` in `parquet.thrift`), the part of it a reader needs:
/// the schema as a flat list of elements (depth-first, as stored), the rows, and each row
/// group's column chunks with where their pages are. Decoded by hand from Thrift's compact
/// protocol; every required field is checked, and a file whose footer is damaged is an error
/// naming it.
public struct ParquetFileMetadata: Sendable, Equatable {
  /// One element of the schema tree (a group when it has children).
  public struct SchemaElement: Sendable, Equatable {
    /// Physical type (`Type`: 0 BOOLEAN, 1 INT32, 2 INT64, 3 INT96, 4 FLOAT, 5 DOUBLE,
    /// 6 BYTE_ARRAY, 7 FIXED_LEN_BYTE_ARRAY); nil for a group.
    public var type: Int32?
    /// `FieldRepetitionType`: 0 REQUIRED, 1 OPTIONAL, 2 REPEATED.
    public var repetition: Int32?
    /// The field's name.
    public var name: String
    /// Children of a group (nil for a leaf).
    public var numChildren: Int32?
    /// `ConvertedType` (0 UTF8, …), when given.
    public var convertedType: Int32?
    /// Bytes per value of a FIXED_LEN_BYTE_ARRAY.
    public var typeLength: Int32?
    /// The logical type (`LogicalType`), when given.
    public var logicalType: ParquetLogicalType? = nil
    /// Digits after the point of a DECIMAL.
    public var scale: Int32? = nil
  }

  /// One column chunk of a row group.
  public struct ColumnChunk: Sendable, Equatable {
    /// The column's path in the schema (`path_in_schema`).
    public var path: [String]
    /// Physical type.
    public var type: Int32
    /// `CompressionCodec`: 0 UNCOMPRESSED, 1 SNAPPY, 2 GZIP, 3 LZO, 4 BROTLI, 5 LZ4, 6 ZSTD, 7 LZ4_RAW.
    public var codec: Int32
    /// The encodings its pages use.
    public var encodings: [Int32]
    /// Values (nulls included).
    public var numValues: Int64
    /// Where the first data page starts.
    public var dataPageOffset: Int64
    /// Where the dictionary page starts, when there is one.
    public var dictionaryPageOffset: Int64?
    /// Bytes of the chunk's pages as stored.
    public var totalCompressedSize: Int64
    /// Bytes of its pages once decompressed.
    public var totalUncompressedSize: Int64
    /// Another file holding the chunk (`file_path`): not supported, and an error when read.
    public var filePath: String? = nil
  }

  /// One row group.
  public struct RowGroup: Sendable, Equatable {
    /// Rows in the group.
    public var numRows: Int64
    /// Its column chunks, in schema order.
    public var columns: [ColumnChunk]
  }

  /// The format version.
  public var version: Int32
  /// The schema, depth-first (element 0 is the root).
  public var schema: [SchemaElement]
  /// Rows in the file.
  public var numRows: Int64
  /// The row groups.
  public var rowGroups: [RowGroup]
  /// The writer (`created_by`), when given.
  public var createdBy: String?

  /// Decodes a `FileMetaData` struct; `name` stands for the file in errors.
  public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, name: String) throws(WinnowError) -> ParquetFileMetadata {
    var reader = ThriftCompactReader(bytes)
    let root: ThriftValue
    do { root = try reader.readStruct() } catch {
      throw .io("\(name): damaged Parquet footer: \(error.message) at byte \(error.offset) of the footer")
    }
    func bad(_ what: String) -> WinnowError { .io("\(name): damaged Parquet footer: \(what)") }
    guard let m = root.members else { throw bad("not a struct") }
    func int32(_ v: ThriftValue?, _ what: String) throws(WinnowError) -> Int32 {
      guard let i = v?.int, let x = Int32(exactly: i) else { throw bad("\(what) missing or not a 32-bit integer") }
      return x
    }
    func int64(_ v: ThriftValue?, _ what: String) throws(WinnowError) -> Int64 {
      guard let i = v?.int else { throw bad("\(what) missing or not an integer") }
      return i
    }
    func string(_ v: ThriftValue?, _ what: String) throws(WinnowError) -> String {
      guard let b = v?.bytes else { throw bad("\(what) missing or not a string") }
      return String(decoding: b, as: UTF8.self)
    }
    let version = try int32(m[1], "version")
    guard let schemaList = m[2]?.elements, !schemaList.isEmpty else { throw bad("no schema") }
    var schema: [SchemaElement] = []
    for (k, e) in schemaList.enumerated() {
      guard let s = e.members else { throw bad("schema element \(k) is not a struct") }
      schema.append(
        SchemaElement(
          type: try s[1].map { (v) throws(WinnowError) in try int32(v, "schema element \(k) type") },
          repetition: try s[3].map { (v) throws(WinnowError) in try int32(v, "schema element \(k) repetition_type") },
          name: try string(s[4], "schema element \(k) name"),
          numChildren: try s[5].map { (v) throws(WinnowError) in try int32(v, "schema element \(k) num_children") },
          convertedType: try s[6].map { (v) throws(WinnowError) in try int32(v, "schema element \(k) converted_type") },
          typeLength: try s[2].map { (v) throws(WinnowError) in try int32(v, "schema element \(k) type_length") },
          logicalType: s[10].flatMap(ParquetLogicalType.init(thrift:)),
          scale: try s[7].map { (v) throws(WinnowError) in try int32(v, "schema element \(k) scale") }))
    }
    let numRows = try int64(m[3], "num_rows")
    guard numRows >= 0 else { throw bad("num_rows \(numRows) is negative") }
    guard let groups = m[4]?.elements else { throw bad("row_groups missing") }
    var rowGroups: [RowGroup] = []
    for (g, groupValue) in groups.enumerated() {
      guard let gm = groupValue.members, let cols = gm[1]?.elements else { throw bad("row group \(g) has no columns") }
      let rows = try int64(gm[3], "row group \(g) num_rows")
      guard rows >= 0 else { throw bad("row group \(g) num_rows \(rows) is negative") }
      var chunks: [ColumnChunk] = []
      for (c, colValue) in cols.enumerated() {
        let what = "row group \(g) column \(c)"
        guard let cm = colValue.members, let md = cm[3]?.members else { throw bad("\(what) has no column metadata") }
        guard let pathList = md[3]?.elements else { throw bad("\(what) path_in_schema missing") }
        var path: [String] = []
        for p in pathList { path.append(try string(p, "\(what) path_in_schema")) }
        var encodings: [Int32] = []
        for e in md[2]?.elements ?? [] { encodings.append(try int32(e, "\(what) encodings")) }
        let chunk = ColumnChunk(
          path: path, type: try int32(md[1], "\(what) type"), codec: try int32(md[4], "\(what) codec"), encodings: encodings,
          numValues: try int64(md[5], "\(what) num_values"), dataPageOffset: try int64(md[9], "\(what) data_page_offset"),
          dictionaryPageOffset: try md[11].map { (v) throws(WinnowError) in try int64(v, "\(what) dictionary_page_offset") },
          totalCompressedSize: try int64(md[7], "\(what) total_compressed_size"),
          totalUncompressedSize: try int64(md[6], "\(what) total_uncompressed_size"),
          filePath: cm[1]?.bytes.map { String(decoding: $0, as: UTF8.self) })
        guard chunk.numValues >= 0, chunk.dataPageOffset >= 0, chunk.totalCompressedSize >= 0, chunk.totalUncompressedSize >= 0,
          (chunk.dictionaryPageOffset ?? 0) >= 0
        else { throw bad("\(what) has a negative count, size or offset") }
        chunks.append(chunk)
      }
      rowGroups.append(RowGroup(numRows: rows, columns: chunks))
    }
    let createdBy = m[6]?.bytes.map { String(decoding: $0, as: UTF8.self) }
    return ParquetFileMetadata(version: version, schema: schema, numRows: numRows, rowGroups: rowGroups, createdBy: createdBy)
  }

  /// Whether `path` is a regular file that starts with Parquet's magic `PAR1` (no JSON line
  /// starts that way, so a Parquet file is told apart whatever its name).
  public static func isParquet(path: String) -> Bool {
    // Checked with stat before anything is opened: opening a FIFO, even to look, would wake
    // its writer and (closed again at once) leave it writing into a pipe with no reader.
    var pathStat = stat()
    guard stat(path, &pathStat) == 0, pathStat.st_mode & S_IFMT == S_IFREG else { return false }
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return false }
    var head = [UInt8](repeating: 0, count: 4)
    return head.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 4, 0) }) == 4 && head == Array("PAR1".utf8)
  }

  /// Reads the footer of the Parquet file at `path`: `PAR1` at both ends, the footer's length
  /// in the 4 bytes before the last magic, within the file (checked before it is read).
  public static func read(path: String) throws(WinnowError) -> ParquetFileMetadata {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw .io("\(path): not a regular file") }
    let size = Int(st.st_size)
    guard size >= 12 else { throw .io("\(path): not a Parquet file (\(size) bytes; too short for its magic and footer)") }
    var head = [UInt8](repeating: 0, count: 4)
    var tail = [UInt8](repeating: 0, count: 8)
    guard head.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 4, 0) }) == 4,
      tail.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 8, off_t(size - 8)) }) == 8
    else { throw .io("\(path): cannot read: \(String(cString: strerror(errno)))") }
    let magic = Array("PAR1".utf8)
    guard head == magic else { throw .io("\(path): not a Parquet file (no PAR1 at its start)") }
    guard Array(tail[4..<8]) == magic else {
      throw .io("\(path): truncated or not a Parquet file (no PAR1 at its end)")
    }
    let footerLength = Int(UInt32(tail[0]) | UInt32(tail[1]) << 8 | UInt32(tail[2]) << 16 | UInt32(tail[3]) << 24)
    guard footerLength <= size - 12 else {
      throw .io("\(path): damaged Parquet footer: its length \(footerLength) does not fit the file's \(size) bytes")
    }
    var footer = [UInt8](repeating: 0, count: footerLength)
    let got = footer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, footerLength, off_t(size - 8 - footerLength)) }
    guard got == footerLength else { throw .io("\(path): cannot read the Parquet footer") }
    return try footer.withUnsafeBufferPointer { (b) throws(WinnowError) in try decode(b, name: path) }
  }
}

/// A column's logical type (`LogicalType` in `parquet.thrift`), the kinds a reader renders
/// differently from its physical type.
public enum ParquetLogicalType: Sendable, Equatable {
  /// UTF-8 text.
  case string
  /// A MAP group.
  case map
  /// A LIST group.
  case list
  /// An enum's name as text.
  case enumeration
  /// JSON text.
  case json
  /// BSON bytes.
  case bson
  /// A 16-byte UUID.
  case uuid
  /// Days since 1970-01-01.
  case date
  /// A half-precision float in 2 bytes.
  case float16
  /// A fixed-point number: `scale` digits after the point, `precision` in all.
  case decimal(scale: Int32, precision: Int32)
  /// Time of day in the unit (1 000 for milliseconds, 1 000 000 micro-, 1 000 000 000 nanoseconds).
  case time(unitsPerSecond: Int64, utc: Bool)
  /// An instant in the unit since 1970-01-01; `utc`: adjusted to UTC.
  case timestamp(unitsPerSecond: Int64, utc: Bool)
  /// An integer of `bits` bits, signed or not.
  case integer(bits: Int, signed: Bool)
  /// Always null.
  case unknown
  /// A kind this reader does not know (newer than it): rendered as its physical type.
  case other(Int16)

  /// Decodes the `LogicalType` union; nil when it is not a union with one member.
  init?(thrift: ThriftValue) {
    guard let m = thrift.members, let (id, value) = m.first else { return nil }
    func unit(_ v: ThriftValue?) -> Int64? {
      guard let u = v?.members?.keys.first else { return nil }
      switch u {
      case 1: return 1_000
      case 2: return 1_000_000
      case 3: return 1_000_000_000
      default: return nil
      }
    }
    let fields = value.members ?? [:]
    switch id {
    case 1: self = .string
    case 2: self = .map
    case 3: self = .list
    case 4: self = .enumeration
    case 5:
      guard let s = fields[1]?.int, let p = fields[2]?.int, let s32 = Int32(exactly: s), let p32 = Int32(exactly: p) else { return nil }
      self = .decimal(scale: s32, precision: p32)
    case 6: self = .date
    case 7, 8:
      guard let u = unit(fields[2]) else { return nil }
      let utc: Bool
      if case .bool(let b)? = fields[1] { utc = b } else { utc = false }
      self = id == 7 ? .time(unitsPerSecond: u, utc: utc) : .timestamp(unitsPerSecond: u, utc: utc)
    case 10:
      guard let b = fields[1]?.int, [8, 16, 32, 64].contains(b) else { return nil }
      let signed: Bool
      if case .bool(let x)? = fields[2] { signed = x } else { signed = true }
      self = .integer(bits: Int(b), signed: signed)
    case 11: self = .unknown
    case 12: self = .json
    case 13: self = .bson
    case 14: self = .uuid
    case 15: self = .float16
    default: self = .other(id)
    }
  }
}
