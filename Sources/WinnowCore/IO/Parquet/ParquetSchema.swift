/// A Parquet file's schema as a reader uses it: the top-level fields (a row's JSON keys, in
/// order) and the leaf columns under them, each with its maximum definition and repetition
/// levels and how its values are written as JSON.
public struct ParquetSchema: Sendable {
  /// How a leaf column's values become JSON.
  public enum Rendering: Sendable, Equatable {
    /// A JSON string of the value's bytes (strings, binary, enums, JSON and BSON columns).
    case string
    /// `true` or `false`.
    case boolean
    /// A signed integer.
    case signed
    /// An unsigned integer (written from the bits as stored).
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
    /// The definition level of a present value (the optional and repeated nodes above it).
    public var maxDefinition: Int
    /// The repetition level of its innermost list (the repeated nodes above it).
    public var maxRepetition: Int
    /// The top-level field it belongs to.
    public var field: Int
    /// How its values are written, or why it cannot be read.
    public var rendering: Result<Rendering, ParquetUnsupported>
  }

  /// Why a column cannot be read (it is skipped, with a note, unless it is needed).
  public struct ParquetUnsupported: Error, Sendable, Equatable {
    /// What the column is, for the note that names it.
    public var reason: String
  }

  /// A top-level field: a JSON key of every row.
  public struct Field: Sendable {
    /// Its name: the row's JSON key.
    public var name: String
    /// Its leaf columns (one for a flat field).
    public var leaves: Range<Int>
    /// Why it cannot be read, or nil.
    public var unsupported: String?
    /// Its node in `nodes`.
    public var node: Int
    /// Whether it is one optional or required leaf (no groups, no repetition).
    public var isFlat: Bool
  }

  /// A node of the schema tree: how a nested value is put together from its leaves.
  public struct Node: Sendable {
    /// What a node is.
    public enum Kind: Sendable, Equatable {
      /// A leaf column (index into `leaves`).
      case leaf(Int)
      /// A group: a JSON object of its children.
      case group
      /// A LIST-annotated group: a JSON array of the values of `element`, a node under its
      /// repeated child (the child's only child, or the repeated child itself).
      case list(element: Int)
      /// A MAP-annotated group: a JSON array of `[key, value]` pairs (as pyarrow's `to_pylist`
      /// gives them), from the children of its repeated child.
      case map(keyValue: Int)
    }
    /// Its name (a JSON key when it is a group's child).
    public var name: String
    /// How its value is put together.
    public var kind: Kind
    /// Its children's indices in `nodes`.
    public var children: [Int]
    /// REQUIRED 0, OPTIONAL 1, REPEATED 2.
    public var repetitionType: Int32
    /// Definition and repetition levels at which this node is present / repeats.
    public var definition: Int
    /// The repetition level at which it repeats (its repeated ancestors and itself).
    public var repetition: Int
    /// The leaves under it.
    public var leaves: Range<Int>
  }

  /// The top-level fields, in schema order.
  public var fields: [Field]
  /// The leaf columns, in schema order (a row group's column chunks, in the same order).
  public var leaves: [Leaf]
  /// The schema tree; fields' and leaves' nodes index into it.
  public var nodes: [Node]

  /// Builds the tree from the flat, depth-first list of a footer. A list whose child counts do
  /// not add up, or that nests deeper than 64 levels, is an error naming `name`.
  public init(_ elements: [ParquetFileMetadata.SchemaElement], name: String) throws(WinnowError) {
    func bad(_ what: String) -> WinnowError { .io("\(name): damaged Parquet schema: \(what)") }
    guard let root = elements.first, let rootChildren = root.numChildren, rootChildren >= 0 else {
      throw bad("the root element is not a group")
    }
    var fields: [Field] = []
    var leaves: [Leaf] = []
    var nodes: [Node] = []
    var next = 1
    // Walks one element and its subtree; returns its node.
    @discardableResult
    func walk(path: [String], definition: Int, repetition: Int, field: Int, depth: Int) throws(WinnowError) -> Int {
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
      let me = nodes.count
      let firstLeaf = leaves.count
      nodes.append(
        Node(name: e.name, kind: .group, children: [], repetitionType: e.repetition ?? 0, definition: d, repetition: r, leaves: 0..<0))
      if let n = e.numChildren, n > 0 || e.type == nil {
        guard n >= 0 else { throw bad("element '\(e.name)' has \(n) children") }
        var children: [Int] = []
        for _ in 0..<n { children.append(try walk(path: p, definition: d, repetition: r, field: field, depth: depth + 1)) }
        nodes[me].children = children
        nodes[me].leaves = firstLeaf..<leaves.count
        let isList = e.convertedType == 3 || e.logicalType == .list
        let isMap = e.convertedType == 1 || e.convertedType == 2 || e.logicalType == .map
        if (isList || isMap), children.count == 1, nodes[children[0]].repetitionType == 2 {
          let c = children[0]
          if isMap {
            if case .group = nodes[c].kind, (1...2).contains(nodes[c].children.count) { nodes[me].kind = .map(keyValue: c) }
          } else if case .leaf = nodes[c].kind {
            nodes[me].kind = .list(element: c)
          } else if nodes[c].children.count == 1 && nodes[c].name != "array" && nodes[c].name != e.name + "_tuple" {
            nodes[me].kind = .list(element: nodes[c].children[0])
          } else {
            nodes[me].kind = .list(element: c)
          }
        }
        return me
      } else {
        guard let t = e.type, (0...7).contains(t) else { throw bad("leaf '\(e.name)' has no physical type (or an unknown one)") }
        if t == 7 {
          guard let w = e.typeLength, w > 0 else { throw bad("fixed-length column '\(e.name)' has no positive type_length") }
        }
        leaves.append(
          Leaf(
            path: p, element: e, maxDefinition: d, maxRepetition: r, field: field, rendering: Self.rendering(of: e)))
        nodes[me].kind = .leaf(leaves.count - 1)
        nodes[me].leaves = (leaves.count - 1)..<leaves.count
        return me
      }
    }
    for k in 0..<Int(rootChildren) {
      guard next < elements.count else { throw bad("the root has more children than the schema has elements") }
      let e = elements[next]
      let first = leaves.count
      let node = try walk(path: [], definition: 0, repetition: 0, field: k, depth: 1)
      var unsupported: String?
      if leaves.count == first {
        unsupported = "a group without columns"
      } else {
        for l in leaves[first...] {
          if case .failure(let why) = l.rendering {
            unsupported = l.path.count > 1 ? "\(why.reason) (in \(l.path.joined(separator: ".")))" : why.reason
            break
          }
        }
      }
      let isFlat: Bool
      if case .leaf = nodes[node].kind, e.repetition != 2 { isFlat = true } else { isFlat = false }
      fields.append(Field(name: e.name, leaves: first..<leaves.count, unsupported: unsupported, node: node, isFlat: isFlat))
    }
    guard next == elements.count else { throw bad("\(elements.count - next) elements belong to no field") }
    self.fields = fields
    self.leaves = leaves
    self.nodes = nodes
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
      case .map, .list: return no("a LIST or MAP annotation on a leaf")
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
      case 1, 2, 3: return no("a LIST or MAP annotation on a leaf")
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
