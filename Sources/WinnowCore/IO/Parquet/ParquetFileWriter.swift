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
    /// Zstandard (the default).
    case zstd
    /// Snappy (pyarrow's and Spark's default).
    case snappy
    /// gzip.
    case gzip
    /// No compression.
    case none
  }

  /// The page codec.
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

  /// The defaults: zstd, 64 MB row groups, 1 MB pages, CRCs, the schema inferred.
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
/// `rowGroupBytes` of documents, PLAIN values with repetition and definition levels in data
/// pages (v1), each page compressed and checksummed (CRC-32 in its header).
///
/// Column types come from `options.schema`, or from the documents of the first row group: a
/// value that is always a string is `string`, always an integer `int64`, a number with a
/// fraction or exponent (or beyond 64 bits) among integers `double`, always a boolean `bool`,
/// only ever null `string`; an object is a struct of its keys (all the keys seen, in the order
/// first seen), an array a LIST of its elements' type; a value of several kinds (a string here,
/// a number there), an empty object, or nesting deeper than 16 levels is `json` (its JSON
/// text). After the first row group the schema is fixed: a new key, or a value that does not
/// fit its column's type (other than an integer in a `double` column), is an error naming the
/// document — declare the schema to write such data. Nothing is converted silently.
public final class ParquetFileWriter {
  /// A node of the schema being written.
  final class Node {
    enum Kind {
      case leaf(Int)
      case group([Node])
      /// A standard three-level LIST: `optional group (LIST) { repeated group list { element } }`.
      case list(Node)
    }
    let name: String
    let key: [UInt8]
    var kind: Kind
    /// Definition level when this (optional) node is present; repetition level of its leaves.
    var definition = 0
    var repetition = 0

    init(name: String, kind: Kind) {
      self.name = name
      key = Array(name.utf8)
      self.kind = kind
    }
  }

  /// A leaf column's levels and values for the open row group.
  struct Leaf {
    var path: [String]
    var type: ParquetColumnType
    var maxDefinition = 0
    var maxRepetition = 0
    var definitions: [UInt8] = []
    var repetitions: [UInt8] = []
    /// PLAIN values (bools: one byte each, packed per page).
    var values = ByteBuffer(capacity: 1 << 12)
    /// Page ends: (levels, value bytes) of each page but the open one.
    var cuts: [(levels: Int, bytes: Int)] = []
    var pageStartBytes = 0
  }

  let sink: ByteSink
  let file: FileSink?
  let options: ParquetWriteOptions
  /// The top-level fields (nil until decided).
  var fields: [Node]?
  var fieldIndex: [[UInt8]: Int] = [:]
  var leaves: [Leaf] = []
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
  /// The document being striped (for messages).
  var document = 0
  /// Documents written.
  public private(set) var linesWritten = 0
  /// Bytes of documents (as JSON lines) written.
  public private(set) var bytesWritten = 0

  static let maxNesting = 16

  /// Writes to `sink` (the file's magic first).
  public init(sink: ByteSink, options: ParquetWriteOptions) throws(WinnowError) {
    self.sink = sink
    file = sink.file
    self.options = options
    if let schema = options.schema {
      setFields(schema.map { Node(name: $0.name, kind: .leaf(-1)) }, types: schema.map(\.type))
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

  /// Writes one document (a JSON object line); a row group is written once enough are buffered.
  public func write(line: UnsafeBufferPointer<UInt8>) throws(WinnowError) {
    rows.append(line)
    rowEnds.append(rows.count)
    linesWritten += 1
    bytesWritten += line.count + 1
    if rows.count >= options.rowGroupBytes { try flushRowGroup() }
  }

  /// Writes the last row group and the footer, and moves the file into place.
  public func finish() throws(WinnowError) {
    if !rowEnds.isEmpty { try flushRowGroup() }
    // No document at all and no schema given: a file of no columns and no rows.
    if fields == nil { setFields([], types: []) }
    var w = ThriftCompactWriter()
    w.i32(1, 1)
    var elements: [[UInt8]] = []
    func schemaElements(_ n: Node, repetition: Int32) {
      var e = ThriftCompactWriter()
      e.beginElement()
      switch n.kind {
      case .leaf(let l):
        let type = leaves[l].type
        e.i32(1, Self.physicalType(type))
        e.i32(3, repetition)
        e.string(4, n.name)
        if type == .string || type == .json {
          e.i32(6, type == .string ? 0 : 19)  // UTF8, JSON
          e.beginStruct(10)
          e.beginStruct(type == .string ? 1 : 12)
          e.end()
          e.end()
        }
        e.end()
        elements.append(e.bytes)
      case .group(let children):
        e.i32(3, repetition)
        e.string(4, n.name)
        e.i32(5, Int32(children.count))
        e.end()
        elements.append(e.bytes)
        for c in children { schemaElements(c, repetition: 1) }
      case .list(let element):
        e.i32(3, repetition)
        e.string(4, n.name)
        e.i32(5, 1)
        e.i32(6, 3)  // LIST
        e.beginStruct(10)
        e.beginStruct(3)
        e.end()
        e.end()
        e.end()
        elements.append(e.bytes)
        var r = ThriftCompactWriter()
        r.beginElement()
        r.i32(3, 2)  // REPEATED
        r.string(4, "list")
        r.i32(5, 1)
        r.end()
        elements.append(r.bytes)
        schemaElements(element, repetition: 1)
      }
    }
    var root = ThriftCompactWriter()
    root.beginElement()
    root.string(4, "schema")
    root.i32(5, Int32(fields!.count))
    root.end()
    elements.append(root.bytes)
    for f in fields! { schemaElements(f, repetition: 1) }
    w.list(2, elementType: 12, count: elements.count)
    w.bytes.append(contentsOf: elements.joined())
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

  /// Abandons the file: nothing is left under its name.
  public func abort() { sink.abort() }

  static func physicalType(_ t: ParquetColumnType) -> Int32 {
    switch t {
    case .string, .json: return 6
    case .int64: return 2
    case .double: return 5
    case .bool: return 0
    }
  }

  /// Takes the decided fields: numbers their leaves and sets every node's levels.
  private func setFields(_ top: [Node], types: [ParquetColumnType]) {
    leaves = []
    var leafTypes = types
    func walk(_ n: Node, definition: Int, repetition: Int, path: [String]) {
      n.definition = definition + 1
      n.repetition = repetition
      switch n.kind {
      case .leaf:
        let type = leafTypes.isEmpty ? ParquetColumnType.string : leafTypes.removeFirst()
        n.kind = .leaf(leaves.count)
        leaves.append(Leaf(path: path + [n.name], type: type, maxDefinition: n.definition, maxRepetition: repetition))
      case .group(let children):
        for c in children { walk(c, definition: n.definition, repetition: repetition, path: path + [n.name]) }
      case .list(let element):
        // The repeated `list` group: one more definition level (an element is there) and one
        // more repetition level.
        walk(element, definition: n.definition + 1, repetition: repetition + 1, path: path + [n.name, "list"])
      }
    }
    for f in top { walk(f, definition: 0, repetition: 0, path: []) }
    fields = top
    fieldIndex = [:]
    for (k, f) in top.enumerated() { fieldIndex[f.key] = k }
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

  /// A validated JSON value inside a line.
  struct Span {
    var kind: JSONValueKind
    var start: Int
    var end: Int
    var hasEscapes: Bool
  }

  /// The elements of a validated array.
  static func elements(_ line: UnsafeBufferPointer<UInt8>, _ array: Span) -> [Span] {
    var c = Cursor(p: line.baseAddress!, end: array.end)
    c.i = array.start + 1
    var out: [Span] = []
    while true {
      c.skipWhitespace()
      if c.i >= c.end || c.p[c.i] == UInt8(ascii: "]") { return out }
      let start = c.i
      var escapes = false
      let kind: JSONValueKind
      do throws(JSONScanError) {
        if c.p[c.i] == UInt8(ascii: "\"") {
          escapes = try c.scanString()
          kind = .string
        } else {
          kind = try c.scanNonString(depth: 1)
        }
      } catch { return out }
      out.append(Span(kind: kind, start: start, end: c.i, hasEscapes: escapes))
      c.skipWhitespace()
      if c.i < c.end, c.p[c.i] == UInt8(ascii: ",") { c.i += 1 }
    }
  }

  /// The members of a validated object (a key given twice: the last one counts, as Python's
  /// json reads it).
  static func members(_ line: UnsafeBufferPointer<UInt8>, _ object: Span) -> [JSONMember] {
    var out: [JSONMember] = []
    JSONScanner.members(ofObject: line, range: object.start..<object.end, into: &out)
    return out
  }

  static func span(_ m: JSONMember) -> Span {
    Span(kind: m.kind, start: m.valueStart, end: m.valueEnd, hasEscapes: m.valueHasEscapes)
  }

  /// A member's key, unescaped.
  private func keyBytes(_ line: UnsafeBufferPointer<UInt8>, _ m: JSONMember) -> [UInt8] {
    let raw = UnsafeBufferPointer(rebasing: line[m.keyStart..<m.keyEnd])
    guard m.keyHasEscapes else { return Array(raw) }
    var out: [UInt8] = []
    JSONString.unescape(raw, into: &out)
    return out
  }

  /// What the first row group shows of one value position.
  final class Seen {
    var strings = 0, integers = 0, fractions = 0, bools = 0, arrays = 0, objects = 0
    var element: Seen?
    var keys: [[UInt8]] = []
    var children: [[UInt8]: Seen] = [:]
    var depth: Int
    init(depth: Int) { self.depth = depth }
  }

  private func observe(_ s: Seen, _ line: UnsafeBufferPointer<UInt8>, _ v: Span) {
    switch v.kind {
    case .string: s.strings += 1
    case .number:
      if Self.integerValue(line.baseAddress! + v.start, v.end - v.start) != nil { s.integers += 1 } else { s.fractions += 1 }
    case .bool: s.bools += 1
    case .null: break
    case .array:
      s.arrays += 1
      guard s.depth < Self.maxNesting else { return }
      if s.element == nil { s.element = Seen(depth: s.depth + 1) }
      for e in Self.elements(line, v) { observe(s.element!, line, e) }
    case .object:
      s.objects += 1
      guard s.depth < Self.maxNesting else { return }
      for m in Self.members(line, v) {
        let key = keyBytes(line, m)
        if s.children[key] == nil {
          s.keys.append(key)
          s.children[key] = Seen(depth: s.depth + 1)
        }
        observe(s.children[key]!, line, Self.span(m))
      }
    }
  }

  /// The node a value position becomes.
  private func decide(_ s: Seen, name: String, types: inout [ParquetColumnType]) -> Node {
    let kinds = [s.strings > 0, s.integers + s.fractions > 0, s.bools > 0, s.arrays > 0, s.objects > 0].filter { $0 }.count
    func leaf(_ t: ParquetColumnType) -> Node {
      types.append(t)
      return Node(name: name, kind: .leaf(-1))
    }
    if kinds > 1 || s.depth >= Self.maxNesting && (s.arrays > 0 || s.objects > 0) { return leaf(.json) }
    if s.arrays > 0 {
      // Arrays that were always empty: elements of no kind seen, strings.
      return Node(name: name, kind: .list(decide(s.element ?? Seen(depth: s.depth + 1), name: "element", types: &types)))
    }
    if s.objects > 0 {
      if s.keys.isEmpty { return leaf(.json) }
      return Node(name: name, kind: .group(s.keys.map { decide(s.children[$0]!, name: String(decoding: $0, as: UTF8.self), types: &types) }))
    }
    if s.integers + s.fractions > 0 { return leaf(s.fractions > 0 ? .double : .int64) }
    if s.bools > 0 { return leaf(.bool) }
    return leaf(.string)
  }

  /// Decides the fields from the buffered documents.
  private func inferSchema() throws(WinnowError) {
    let root = Seen(depth: 0)
    var start = 0
    for (r, end) in rowEnds.enumerated() {
      let line = UnsafeBufferPointer(start: rows.base + start, count: end - start)
      start = end
      do { try scanner.scanObject(line) } catch {
        throw .io("\(name): document \(r + 1) to write is not a JSON object (\(error.reason.rawValue))")
      }
      observe(root, line, Span(kind: .object, start: 0, end: line.count, hasEscapes: false))
    }
    var types: [ParquetColumnType] = []
    let top = root.keys.map { decide(root.children[$0]!, name: String(decoding: $0, as: UTF8.self), types: &types) }
    setFields(top, types: types)
  }

  private func flushRowGroup() throws(WinnowError) {
    if fields == nil { try inferSchema() }
    let rowCount = rowEnds.count
    for k in leaves.indices {
      leaves[k].definitions.removeAll(keepingCapacity: true)
      leaves[k].repetitions.removeAll(keepingCapacity: true)
      leaves[k].values.removeAll()
      leaves[k].cuts.removeAll(keepingCapacity: true)
      leaves[k].pageStartBytes = 0
    }
    var start = 0
    var slots = [Int](repeating: -1, count: fields!.count)
    for (r, end) in rowEnds.enumerated() {
      let line = UnsafeBufferPointer(start: rows.base + start, count: end - start)
      start = end
      document = rowsBeforeGroup + r + 1
      do { try scanner.scanObject(line) } catch {
        throw .io("\(name): document \(document) to write is not a JSON object (\(error.reason.rawValue))")
      }
      for k in slots.indices { slots[k] = -1 }
      for (k, m) in scanner.members.enumerated() {
        let key = keyBytes(line, m)
        guard let c = fieldIndex[key] else {
          throw .io(
            "\(name): document \(document) has field '\(String(decoding: key, as: UTF8.self))', which is not a column of the Parquet schema (\(options.schema != nil ? "the schema given" : "inferred from the first \(rowsBeforeGroup == 0 ? rowCount : rowsBeforeGroup) documents")); declare the schema (--parquet-schema, output.parquet_schema) to write it")
        }
        // A key given twice: the last value counts (as Python's json reads it).
        slots[c] = k
      }
      let members = scanner.members
      for (c, f) in fields!.enumerated() {
        try stripe(f, slots[c] >= 0 ? Self.span(members[slots[c]]) : nil, line, repetition: 0, definition: 0, path: f.name)
      }
      for k in leaves.indices where leaves[k].values.count - leaves[k].pageStartBytes >= options.pageBytes {
        leaves[k].cuts.append((leaves[k].definitions.count, leaves[k].values.count))
        leaves[k].pageStartBytes = leaves[k].values.count
      }
    }
    try writeRowGroup(rowCount: rowCount)
    rowsBeforeGroup += rowCount
    totalRows += Int64(rowCount)
    rows.removeAll()
    rowEnds.removeAll(keepingCapacity: true)
    // Give back the buffers of the columns (the next group fills them again).
    for k in leaves.indices { leaves[k].values = ByteBuffer(capacity: 1 << 12) }
  }

  /// Levels `(repetition, definition)` for every leaf under `node`, no value.
  private func emitEmpty(_ node: Node, repetition: Int, definition: Int) {
    switch node.kind {
    case .leaf(let l):
      leaves[l].definitions.append(UInt8(definition))
      if leaves[l].maxRepetition > 0 { leaves[l].repetitions.append(UInt8(repetition)) }
    case .group(let children): for c in children { emitEmpty(c, repetition: repetition, definition: definition) }
    case .list(let element): emitEmpty(element, repetition: repetition, definition: definition)
    }
  }

  /// Writes one value (nil: the key is missing) of `node` at the given levels: the Dremel
  /// striping of a record into its columns.
  private func stripe(
    _ node: Node, _ value: Span?, _ line: UnsafeBufferPointer<UInt8>, repetition: Int, definition: Int, path: String
  ) throws(WinnowError) {
    guard let value, value.kind != .null else {
      emitEmpty(node, repetition: repetition, definition: definition)
      return
    }
    func mismatch(_ what: String) -> WinnowError {
      .io(
        "\(name): document \(document) has '\(path)' as a JSON \(value.kind), which does not fit its Parquet column (\(what), \(options.schema != nil ? "given" : "inferred from the first row group")); declare the field as json (--parquet-schema, output.parquet_schema) to write values of several kinds")
    }
    switch node.kind {
    case .leaf(let l):
      try appendValue(value, line, to: l, repetition: repetition, mismatch: mismatch)
    case .group(let children):
      guard value.kind == .object else { throw mismatch("an object") }
      let members = Self.members(line, value)
      var keys: [[UInt8]] = []
      for m in members { keys.append(keyBytes(line, m)) }
      for k in keys where !children.contains(where: { $0.key == k }) {
        throw .io(
          "\(name): document \(document) has '\(path).\(String(decoding: k, as: UTF8.self))', which is not in the Parquet schema (inferred from the first row group); declare '\(path)' as json (--parquet-schema, output.parquet_schema) to write it")
      }
      for c in children {
        let m = keys.lastIndex(of: c.key).map { members[$0] }
        try stripe(c, m.map(Self.span), line, repetition: repetition, definition: node.definition, path: path + "." + c.name)
      }
    case .list(let element):
      guard value.kind == .array else { throw mismatch("an array") }
      let items = Self.elements(line, value)
      if items.isEmpty {
        emitEmpty(node, repetition: repetition, definition: node.definition)
        return
      }
      for (i, item) in items.enumerated() {
        try stripe(
          element, item, line, repetition: i == 0 ? repetition : node.repetition + 1, definition: node.definition + 1,
          path: path + "[]")
      }
    }
  }

  private func appendValue(
    _ v: Span, _ line: UnsafeBufferPointer<UInt8>, to l: Int, repetition: Int, mismatch: (String) -> WinnowError
  ) throws(WinnowError) {
    let p = line.baseAddress! + v.start
    let n = v.end - v.start
    let values = leaves[l].values
    switch leaves[l].type {
    case .string:
      guard v.kind == .string else { throw mismatch("string") }
      let raw = UnsafeBufferPointer(start: p + 1, count: n - 2)
      if v.hasEscapes {
        unescaped.removeAll(keepingCapacity: true)
        JSONString.unescape(raw, into: &unescaped)
        appendLE(UInt64(unescaped.count), bytes: 4, to: values)
        values.append(unescaped)
      } else {
        appendLE(UInt64(raw.count), bytes: 4, to: values)
        values.append(raw)
      }
    case .json:
      appendLE(UInt64(n), bytes: 4, to: values)
      values.append(p, count: n)
    case .int64:
      guard v.kind == .number, let x = Self.integerValue(p, n) else { throw mismatch("int64") }
      appendLE(UInt64(bitPattern: x), bytes: 8, to: values)
    case .double:
      guard v.kind == .number else { throw mismatch("double") }
      appendLE(Self.doubleValue(p, n).bitPattern, bytes: 8, to: values)
    case .bool:
      guard v.kind == .bool else { throw mismatch("bool") }
      values.append(p[0] == UInt8(ascii: "t") ? 1 : 0)
    }
    leaves[l].definitions.append(UInt8(leaves[l].maxDefinition))
    if leaves[l].maxRepetition > 0 { leaves[l].repetitions.append(UInt8(repetition)) }
  }

  private func appendLE(_ v: UInt64, bytes: Int, to out: ByteBuffer) {
    for k in 0..<bytes { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
  }

  /// Levels as one bit-packed run of the hybrid encoding, 4-byte length first (data pages v1).
  private func appendLevels(_ levels: ArraySlice<UInt8>, maxLevel: Int, to body: inout [UInt8]) {
    let width = Int.bitWidth - UInt(maxLevel).leadingZeroBitCount
    var runs: [UInt8] = []
    var header = UInt64((levels.count + 7) / 8) << 1 | 1
    while header >= 0x80 {
      runs.append(UInt8(header & 0x7F) | 0x80)
      header >>= 7
    }
    runs.append(UInt8(header))
    var acc: UInt64 = 0
    var bits = 0
    for l in levels {
      acc |= UInt64(l) << UInt64(bits)
      bits += width
      while bits >= 8 {
        runs.append(UInt8(truncatingIfNeeded: acc))
        acc >>= 8
        bits -= 8
      }
    }
    // Pad the last group of 8 values.
    let padded = ((levels.count + 7) / 8) * 8
    bits += (padded - levels.count) * width
    while bits > 0 {
      runs.append(UInt8(truncatingIfNeeded: acc))
      acc >>= 8
      bits -= 8
    }
    let n = UInt32(runs.count)
    body += [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
    body += runs
  }

  private func writeRowGroup(rowCount: Int) throws(WinnowError) {
    let groupStart = offset
    var chunkMetadata: [[UInt8]] = []
    var totalUncompressed: Int64 = 0
    var body: [UInt8] = []
    for k in leaves.indices {
      let leaf = leaves[k]
      let chunkStart = offset
      var uncompressedTotal = 0
      var cuts = leaf.cuts
      let levelCount = leaf.definitions.count
      if cuts.last?.levels != levelCount || cuts.isEmpty { cuts.append((levelCount, leaf.values.count)) }
      var levelStart = 0
      var byteStart = 0
      for cut in cuts where cut.levels > levelStart || levelCount == 0 {
        body.removeAll(keepingCapacity: true)
        if leaf.maxRepetition > 0 {
          appendLevels(leaf.repetitions[levelStart..<cut.levels], maxLevel: leaf.maxRepetition, to: &body)
        }
        appendLevels(leaf.definitions[levelStart..<cut.levels], maxLevel: leaf.maxDefinition, to: &body)
        let values = UnsafeBufferPointer(start: leaf.values.base + byteStart, count: cut.bytes - byteStart)
        if leaf.type == .bool {
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
        guard body.count <= Int(Int32.max) else {
          throw .io("\(name): a page of column \(leaf.path.joined(separator: ".")) would hold \(body.count) bytes, more than Parquet's 2 GiB")
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
        h.i32(1, Int32(cut.levels - levelStart))
        h.i32(2, 0)  // PLAIN
        h.i32(3, 3)  // RLE
        h.i32(4, 3)
        h.end()
        h.end()
        try emit(h.bytes)
        try emit(stored.base, count: compressedCount)
        uncompressedTotal += h.bytes.count + body.count
        levelStart = cut.levels
        byteStart = cut.bytes
        if levelCount == 0 { break }
      }
      totalUncompressed += Int64(uncompressedTotal)
      var m = ThriftCompactWriter()
      m.beginElement()
      m.i64(2, Int64(chunkStart))
      m.beginStruct(3)
      m.i32(1, Self.physicalType(leaf.type))
      m.list(2, elementType: 5, count: 2)
      m.listI32(0)
      m.listI32(3)
      m.list(3, elementType: 8, count: leaf.path.count)
      for p in leaf.path { m.listBinary(Array(p.utf8)) }
      m.i32(4, codecID)
      m.i64(5, Int64(levelCount))
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
