/// A value of Thrift's compact protocol, decoded into a tree: what Parquet's footer and page
/// headers are written in (`parquet.thrift`). Field ids key a struct's members.
public indirect enum ThriftValue: Sendable, Equatable {
  /// A boolean (a field's type nibble, or a byte in a list).
  case bool(Bool)
  /// i8, i16, i32 and i64.
  case int(Int64)
  /// An IEEE double (8 bytes, little-endian).
  case double(Double)
  /// binary and string.
  case binary([UInt8])
  /// A list or set, in order.
  case list([ThriftValue])
  /// A map's pairs, in order.
  case map([(ThriftValue, ThriftValue)])
  /// A struct's fields by id.
  case structure([Int16: ThriftValue])

  public static func == (a: ThriftValue, b: ThriftValue) -> Bool {
    switch (a, b) {
    case (.bool(let x), .bool(let y)): return x == y
    case (.int(let x), .int(let y)): return x == y
    case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
    case (.binary(let x), .binary(let y)): return x == y
    case (.list(let x), .list(let y)): return x == y
    case (.map(let x), .map(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    case (.structure(let x), .structure(let y)): return x == y
    default: return false
    }
  }

  /// The integer, when this is one.
  public var int: Int64? {
    if case .int(let v) = self { return v }
    return nil
  }

  /// The members, when this is a struct.
  public var members: [Int16: ThriftValue]? {
    if case .structure(let m) = self { return m }
    return nil
  }

  /// The elements, when this is a list.
  public var elements: [ThriftValue]? {
    if case .list(let l) = self { return l }
    return nil
  }

  /// The bytes, when this is a binary or string.
  public var bytes: [UInt8]? {
    if case .binary(let b) = self { return b }
    return nil
  }
}

/// Why compact-protocol bytes could not be decoded: the offset and what was wrong there.
public struct ThriftDecodeError: Error, Sendable, Equatable {
  /// Where in the bytes the damage was found.
  public var offset: Int
  /// What was wrong.
  public var message: String
}

/// Decodes Thrift's compact protocol (the Apache Thrift specification, `thrift-compact-protocol.md`)
/// from bytes that may be hostile: every length and count is checked against the bytes left
/// before anything is allocated for it, varints are at most 10 bytes, nesting is at most 64
/// deep, and any damage is an error with its offset, never a crash.
public struct ThriftCompactReader {
  let bytes: UnsafeBufferPointer<UInt8>
  /// The next byte to read.
  public private(set) var offset: Int
  static let maxDepth = 64

  /// A reader of `bytes` from `offset`.
  public init(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int = 0) {
    self.bytes = bytes
    self.offset = offset
  }

  func fail(_ message: String) -> ThriftDecodeError { ThriftDecodeError(offset: offset, message: message) }

  mutating func byte() throws(ThriftDecodeError) -> UInt8 {
    guard offset < bytes.count else { throw fail("unexpected end of data") }
    defer { offset += 1 }
    return bytes[offset]
  }

  mutating func varint() throws(ThriftDecodeError) -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    for _ in 0..<10 {
      let b = try byte()
      result |= UInt64(b & 0x7F) << shift
      if b & 0x80 == 0 { return result }
      shift += 7
    }
    throw fail("a varint longer than 10 bytes")
  }

  mutating func zigzag() throws(ThriftDecodeError) -> Int64 {
    let v = try varint()
    return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
  }

  /// A count or length that must fit in the bytes left (each element takes at least `minimum`
  /// bytes).
  mutating func size(_ raw: UInt64, minimum: Int) throws(ThriftDecodeError) -> Int {
    let left = UInt64(bytes.count - offset)
    guard raw <= left / UInt64(max(minimum, 1)) else {
      throw fail("a size of \(raw) with \(left) bytes left")
    }
    return Int(raw)
  }

  /// Reads a struct (its fields up to STOP).
  public mutating func readStruct() throws(ThriftDecodeError) -> ThriftValue {
    try readStruct(depth: 0)
  }

  mutating func readStruct(depth: Int) throws(ThriftDecodeError) -> ThriftValue {
    guard depth < Self.maxDepth else { throw fail("nested more than \(Self.maxDepth) deep") }
    var members: [Int16: ThriftValue] = [:]
    var last: Int16 = 0
    while true {
      let header = try byte()
      if header == 0 { return .structure(members) }
      let type = header & 0x0F
      let delta = header >> 4
      let id: Int16
      if delta == 0 {
        let raw = try zigzag()
        guard raw >= Int64(Int16.min) && raw <= Int64(Int16.max) else { throw fail("field id \(raw) out of range") }
        id = Int16(raw)
      } else {
        let (next, overflow) = last.addingReportingOverflow(Int16(delta))
        guard !overflow else { throw fail("field id out of range") }
        id = next
      }
      last = id
      let value: ThriftValue
      switch type {
      case 1: value = .bool(true)
      case 2: value = .bool(false)
      default: value = try readValue(type: type, depth: depth + 1)
      }
      members[id] = value
    }
  }

  mutating func readValue(type: UInt8, depth: Int) throws(ThriftDecodeError) -> ThriftValue {
    guard depth < Self.maxDepth else { throw fail("nested more than \(Self.maxDepth) deep") }
    switch type {
    case 1, 2:
      // A boolean inside a list or map: one byte, 1 true (2 or 0 false).
      return .bool(try byte() == 1)
    case 3: return .int(Int64(Int8(bitPattern: try byte())))
    case 4, 5, 6: return .int(try zigzag())
    case 7:
      guard bytes.count - offset >= 8 else { throw fail("unexpected end of data in a double") }
      var bits: UInt64 = 0
      for k in 0..<8 { bits |= UInt64(bytes[offset + k]) << (8 * UInt64(k)) }
      offset += 8
      return .double(Double(bitPattern: bits))
    case 8:
      let n = try size(try varint(), minimum: 0)
      defer { offset += n }
      return .binary(Array(bytes[offset..<(offset + n)]))
    case 9, 10:
      let header = try byte()
      let elementType = header & 0x0F
      var count = UInt64(header >> 4)
      if count == 15 { count = try varint() }
      // Every element takes a byte at least (a struct its STOP, a string its length).
      let n = try size(count, minimum: 1)
      var out: [ThriftValue] = []
      out.reserveCapacity(n)
      for _ in 0..<n {
        out.append(elementType == 12 ? try readStruct(depth: depth + 1) : try readValue(type: elementType, depth: depth + 1))
      }
      return .list(out)
    case 11:
      let n = try size(try varint(), minimum: 2)
      guard n > 0 else { return .map([]) }
      let kv = try byte()
      var out: [(ThriftValue, ThriftValue)] = []
      out.reserveCapacity(n)
      for _ in 0..<n {
        let k = kv >> 4 == 12 ? try readStruct(depth: depth + 1) : try readValue(type: kv >> 4, depth: depth + 1)
        let v = kv & 0x0F == 12 ? try readStruct(depth: depth + 1) : try readValue(type: kv & 0x0F, depth: depth + 1)
        out.append((k, v))
      }
      return .map(out)
    case 12: return try readStruct(depth: depth + 1)
    default: throw fail("unknown compact type \(type)")
    }
  }
}

/// Writes Thrift's compact protocol: structs as field headers (id deltas) and values, the
/// subset Parquet's metadata uses (i16/i32/i64 as zigzag varints, binary, lists, structs, bools).
struct ThriftCompactWriter {
  var bytes: [UInt8] = []
  private var lastField: [Int16] = [0]

  mutating func varint(_ v: UInt64) {
    var x = v
    while x >= 0x80 {
      bytes.append(UInt8(x & 0x7F) | 0x80)
      x >>= 7
    }
    bytes.append(UInt8(x))
  }

  mutating func zigzag(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

  private mutating func fieldHeader(_ id: Int16, type: UInt8) {
    let delta = Int(id) - Int(lastField[lastField.count - 1])
    if delta > 0 && delta <= 15 {
      bytes.append(UInt8(delta) << 4 | type)
    } else {
      bytes.append(type)
      zigzag(Int64(id))
    }
    lastField[lastField.count - 1] = id
  }

  mutating func i32(_ id: Int16, _ v: Int32) {
    fieldHeader(id, type: 5)
    zigzag(Int64(v))
  }

  mutating func i64(_ id: Int16, _ v: Int64) {
    fieldHeader(id, type: 6)
    zigzag(v)
  }

  mutating func bool(_ id: Int16, _ v: Bool) { fieldHeader(id, type: v ? 1 : 2) }

  mutating func binary(_ id: Int16, _ v: [UInt8]) {
    fieldHeader(id, type: 8)
    varint(UInt64(v.count))
    bytes.append(contentsOf: v)
  }

  mutating func string(_ id: Int16, _ v: String) { binary(id, Array(v.utf8)) }

  /// A list field: its header, then the caller writes `count` elements of `elementType`
  /// (5 i32, 8 binary, 12 struct: each struct element between `beginElement` and `end`).
  mutating func list(_ id: Int16, elementType: UInt8, count: Int) {
    fieldHeader(id, type: 9)
    if count < 15 {
      bytes.append(UInt8(count) << 4 | elementType)
    } else {
      bytes.append(0xF0 | elementType)
      varint(UInt64(count))
    }
  }

  mutating func listI32(_ v: Int32) { zigzag(Int64(v)) }

  mutating func listBinary(_ v: [UInt8]) {
    varint(UInt64(v.count))
    bytes.append(contentsOf: v)
  }

  /// A struct field (ends with `end`).
  mutating func beginStruct(_ id: Int16) {
    fieldHeader(id, type: 12)
    lastField.append(0)
  }

  /// A struct that is a list element (ends with `end`).
  mutating func beginElement() { lastField.append(0) }

  /// Ends the current struct (writes STOP).
  mutating func end() {
    bytes.append(0)
    lastField.removeLast()
  }
}
