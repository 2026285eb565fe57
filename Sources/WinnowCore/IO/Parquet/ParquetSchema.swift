/// A Parquet file's schema as a reader uses it: the top-level fields (a row's JSON keys, in
/// order) and the leaf columns under them, each with its maximum definition and repetition
/// levels and how its values are written as JSON.
public struct ParquetSchema: Sendable {
  /// How a leaf column's values become JSON.
  public enum Rendering: Sendable, Equatable {
    /// A JSON string of the value's bytes (strings, binary, enums, JSON and BSON columns).
    case string
    case boolean
    case signed
    case unsigned
    /// A float or double, written as the shortest decimal that reads back as the same value.
    case floating
    /// A half-precision float (FIXED_LEN_BYTE_ARRAY of 2 bytes).
    case float16
    /// `YYYY-MM-DD` from days since 1970-01-01.
    case date
    /// `YYYY-MM-DDTHH:MM:SS[.fraction][+00:00]` from units since the epoch.
    case timestamp(unitsPerSecond: Int64, utc: Bool)
    /// Spark's legacy INT96 timestamps (nanoseconds of the day, Julian day).
    case int96Timestamp
    /// `HH:MM:SS[.fraction]` from units since midnight.
    case time(unitsPerSecond: Int64)
    /// A JSON number with `scale` digits after the point, from a two's-complement integer.
    case decimal(scale: Int32)
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` from 16 bytes.
    case uuid
    /// Always null (the UNKNOWN logical type).
    case null
  }

  /// A leaf column: one column chunk per row group.
  public struct Leaf: Sendable {
    /// Its path from the root (`path_in_schema`).
    public var path: [String]
    /// Its schema element.
    public var element: ParquetFileMetadata.SchemaElement
    public var maxDefinition: Int
    public var maxRepetition: Int
    /// The top-level field it belongs to.
    public var field: Int
    /// How its values are written, or why it cannot be read.
    public var rendering: Result<Rendering, ParquetUnsupported>
  }

  /// Why a column cannot be read (it is skipped, with a note, unless it is needed).
  public struct ParquetUnsupported: Error, Sendable, Equatable {
    public var reason: String
  }

  /// A top-level field: a JSON key of every row.
  public struct Field: Sendable {
    public var name: String
    /// Its leaf columns (one for a flat field).
    public var leaves: Range<Int>
    /// Why it is not read as a plain value (nested: lists, maps, structs), or nil.
    public var unsupported: String?
  }

  public var fields: [Field]
  public var leaves: [Leaf]

  /// Builds the tree from the flat, depth-first list of a footer. A list whose child counts do
  /// not add up, or that nests deeper than 64 levels, is an error naming `name`.
  public init(_ elements: [ParquetFileMetadata.SchemaElement], name: String) throws(WinnowError) {
    func bad(_ what: String) -> WinnowError { .io("\(name): damaged Parquet schema: \(what)") }
    guard let root = elements.first, let rootChildren = root.numChildren, rootChildren >= 0 else {
      throw bad("the root element is not a group")
    }
    var fields: [Field] = []
    var leaves: [Leaf] = []
    var next = 1
    // Walks one element and its subtree; returns whether any element of it repeats.
    func walk(path: [String], definition: Int, repetition: Int, field: Int, depth: Int) throws(WinnowError) {
      guard depth <= 64 else { throw bad("nested more than 64 levels deep") }
      guard next < elements.count else { throw bad("a group has more children than the schema has elements") }
      let e = elements[next]
      next += 1
      var d = definition
      var r = repetition
      switch e.repetition ?? 0 {
      case 0: break
      case 1: d += 1
      case 2:
        d += 1
        r += 1
      default: throw bad("element '\(e.name)' has repetition type \(e.repetition!)")
      }
      let p = path + [e.name]
      if let n = e.numChildren, n > 0 || e.type == nil {
        guard n >= 0 else { throw bad("element '\(e.name)' has \(n) children") }
        for _ in 0..<n { try walk(path: p, definition: d, repetition: r, field: field, depth: depth + 1) }
      } else {
        guard let t = e.type, (0...7).contains(t) else { throw bad("leaf '\(e.name)' has no physical type (or an unknown one)") }
        if t == 7 {
          guard let w = e.typeLength, w > 0 else { throw bad("fixed-length column '\(e.name)' has no positive type_length") }
        }
        leaves.append(
          Leaf(
            path: p, element: e, maxDefinition: d, maxRepetition: r, field: field, rendering: Self.rendering(of: e)))
      }
    }
    for k in 0..<Int(rootChildren) {
      guard next < elements.count else { throw bad("the root has more children than the schema has elements") }
      let e = elements[next]
      let first = leaves.count
      try walk(path: [], definition: 0, repetition: 0, field: k, depth: 1)
      var unsupported: String?
      if e.numChildren != nil && (e.numChildren! > 0 || e.type == nil) {
        unsupported = "a nested column (group); nested columns are not read yet"
      } else if e.repetition == 2 {
        unsupported = "a repeated column; nested columns are not read yet"
      } else if case .failure(let why) = leaves[first].rendering {
        unsupported = why.reason
      }
      fields.append(Field(name: e.name, leaves: first..<leaves.count, unsupported: unsupported))
    }
    guard next == elements.count else { throw bad("\(elements.count - next) elements belong to no field") }
    self.fields = fields
    self.leaves = leaves
  }

  /// How a leaf's values are written, from its physical, converted and logical types.
  static func rendering(of e: ParquetFileMetadata.SchemaElement) -> Result<Rendering, ParquetUnsupported> {
    let type = e.type ?? -1
    func no(_ why: String) -> Result<Rendering, ParquetUnsupported> { .failure(ParquetUnsupported(reason: why)) }
    if let logical = e.logicalType {
      switch logical {
      case .string, .enumeration, .json, .bson:
        return type == 6 || type == 7 ? .success(.string) : no("a string annotation on a non-binary column")
      case .uuid: return type == 7 && e.typeLength == 16 ? .success(.uuid) : no("a UUID that is not 16 bytes")
      case .float16: return type == 7 && e.typeLength == 2 ? .success(.float16) : no("a FLOAT16 that is not 2 bytes")
      case .date: return type == 1 ? .success(.date) : no("a DATE that is not INT32")
      case .decimal(let scale, _):
        return [1, 2, 6, 7].contains(type) ? .success(.decimal(scale: scale)) : no("a DECIMAL of an unusable physical type")
      case .time(let u, _):
        return (u == 1_000 && type == 1) || (u != 1_000 && type == 2) ? .success(.time(unitsPerSecond: u)) : no("a TIME of the wrong width")
      case .timestamp(let u, let utc):
        return type == 2 ? .success(.timestamp(unitsPerSecond: u, utc: utc)) : no("a TIMESTAMP that is not INT64")
      case .integer(let bits, let signed):
        guard (type == 1 && bits <= 32) || (type == 2 && bits == 64) else { return no("an INTEGER annotation of the wrong width") }
        return .success(signed ? .signed : .unsigned)
      case .unknown: return .success(.null)
      case .map, .list: return no("a nested column; nested columns are not read yet")
      case .other(let id): return no("logical type \(id), unknown to this reader")
      }
    }
    if let c = e.convertedType {
      switch c {
      case 0, 4, 19, 20: return type == 6 || type == 7 ? .success(.string) : no("a UTF8 annotation on a non-binary column")
      case 5:
        return [1, 2, 6, 7].contains(type) ? .success(.decimal(scale: e.scale ?? 0)) : no("a DECIMAL of an unusable physical type")
      case 6: return type == 1 ? .success(.date) : no("a DATE that is not INT32")
      case 7: return type == 1 ? .success(.time(unitsPerSecond: 1_000)) : no("a TIME_MILLIS that is not INT32")
      case 8: return type == 2 ? .success(.time(unitsPerSecond: 1_000_000)) : no("a TIME_MICROS that is not INT64")
      // The converted types only ever meant UTC-adjusted instants.
      case 9: return type == 2 ? .success(.timestamp(unitsPerSecond: 1_000, utc: true)) : no("a TIMESTAMP_MILLIS that is not INT64")
      case 10:
        return type == 2 ? .success(.timestamp(unitsPerSecond: 1_000_000, utc: true)) : no("a TIMESTAMP_MICROS that is not INT64")
      case 11, 12, 13, 14: return type == 1 || type == 2 ? .success(.unsigned) : no("an unsigned annotation on a non-integer")
      case 15, 16, 17, 18: return type == 1 || type == 2 ? .success(.signed) : no("a signed annotation on a non-integer")
      case 1, 2, 3: return no("a nested column; nested columns are not read yet")
      case 21: return no("an INTERVAL column, which this reader does not read")
      default: return no("converted type \(c), unknown to this reader")
      }
    }
    switch type {
    case 0: return .success(.boolean)
    case 1, 2: return .success(.signed)
    case 3: return .success(.int96Timestamp)
    case 4, 5: return .success(.floating)
    default: return .success(.string)
    }
  }
}
