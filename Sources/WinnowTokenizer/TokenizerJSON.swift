// A small JSON reader for tokenizer files. Strings stay UTF-8 bytes: Swift `String` compares
// canonically equivalent text as equal, so a vocabulary keyed by `String` would merge tokens
// that differ only in normalisation (é as one scalar and as e + U+0301) — here every token
// keeps its exact bytes. Depth and sizes are checked; a bad file is an error naming the byte.

/// Why a tokenizer file cannot be used.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
  /// What is wrong, naming the file.
  public var message: String
  /// An error with this message.
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// A parsed JSON value with byte-exact strings.
indirect enum JSONNode {
  case object([(key: [UInt8], value: JSONNode)])
  case array([JSONNode])
  case string([UInt8])
  case number(Double, isInteger: Bool, integer: Int64)
  case bool(Bool)
  case null

  subscript(_ key: String) -> JSONNode? {
    guard case .object(let members) = self else { return nil }
    let k = Array(key.utf8)
    // The last occurrence wins, as serde's map deserialisation keeps it.
    for m in members.reversed() where m.key == k { return m.value }
    return nil
  }

  var string: String? {
    if case .string(let b) = self { return String(decoding: b, as: UTF8.self) }
    return nil
  }

  var bytes: [UInt8]? {
    if case .string(let b) = self { return b }
    return nil
  }

  var bool: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  var int: Int64? {
    if case .number(_, let isInteger, let v) = self, isInteger { return v }
    return nil
  }

  var double: Double? {
    if case .number(let d, _, _) = self { return d }
    return nil
  }

  var array: [JSONNode]? {
    if case .array(let a) = self { return a }
    return nil
  }

  var isNull: Bool {
    if case .null = self { return true }
    return false
  }

  /// A short description for messages.
  var kindName: String {
    switch self {
    case .object: return "an object"
    case .array: return "an array"
    case .string: return "a string"
    case .number: return "a number"
    case .bool: return "a boolean"
    case .null: return "null"
    }
  }
}

struct JSONNodeParser {
  private let b: UnsafeBufferPointer<UInt8>
  private var i = 0
  private var depth = 0
  private let name: String
  static let maxDepth = 256

  static func parse(_ bytes: UnsafeBufferPointer<UInt8>, name: String) throws(TokenizerError) -> JSONNode {
    var p = JSONNodeParser(b: bytes, name: name)
    // A UTF-8 byte order mark is skipped, as serde_json on a str would not see one anyway.
    if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { p.i = 3 }
    p.skipSpace()
    let v = try p.value()
    p.skipSpace()
    guard p.i == bytes.count else { throw p.error("unexpected bytes after the JSON value") }
    return v
  }

  private init(b: UnsafeBufferPointer<UInt8>, name: String) {
    self.b = b
    self.name = name
  }

  private func error(_ what: String) -> TokenizerError {
    TokenizerError("\(name): invalid JSON at byte \(i): \(what)")
  }

  private mutating func skipSpace() {
    while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
  }

  private mutating func value() throws(TokenizerError) -> JSONNode {
    guard i < b.count else { throw error("unexpected end of file") }
    switch b[i] {
    case UInt8(ascii: "{"):
      depth += 1
      guard depth <= Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth)") }
      defer { depth -= 1 }
      i += 1
      var members: [(key: [UInt8], value: JSONNode)] = []
      skipSpace()
      if i < b.count, b[i] == UInt8(ascii: "}") {
        i += 1
        return .object(members)
      }
      while true {
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
        let k = try string()
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
        i += 1
        skipSpace()
        members.append((k, try value()))
        skipSpace()
        guard i < b.count else { throw error("unexpected end of file in an object") }
        if b[i] == UInt8(ascii: ",") {
          i += 1
          continue
        }
        guard b[i] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
        i += 1
        return .object(members)
      }
    case UInt8(ascii: "["):
      depth += 1
      guard depth <= Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth)") }
      defer { depth -= 1 }
      i += 1
      var items: [JSONNode] = []
      skipSpace()
      if i < b.count, b[i] == UInt8(ascii: "]") {
        i += 1
        return .array(items)
      }
      while true {
        skipSpace()
        items.append(try value())
        skipSpace()
        guard i < b.count else { throw error("unexpected end of file in an array") }
        if b[i] == UInt8(ascii: ",") {
          i += 1
          continue
        }
        guard b[i] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
        i += 1
        return .array(items)
      }
    case UInt8(ascii: "\""):
      return .string(try string())
    case UInt8(ascii: "t"):
      try literal("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try literal("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try literal("null")
      return .null
    default:
      return try number()
    }
  }

  private mutating func literal(_ word: StaticString) throws(TokenizerError) {
    let n = word.utf8CodeUnitCount
    guard i + n <= b.count else { throw error("unexpected end of file") }
    for k in 0..<n where b[i + k] != word.utf8Start[k] { throw error("invalid literal") }
    i += n
  }

  private mutating func number() throws(TokenizerError) -> JSONNode {
    let start = i
    var isInteger = true
    if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
    guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { throw error("invalid value") }
    while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
    if i < b.count, b[i] == UInt8(ascii: ".") {
      isInteger = false
      i += 1
      guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { throw error("invalid number") }
      while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
    }
    if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
      isInteger = false
      i += 1
      if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
      guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { throw error("invalid number") }
      while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
    }
    let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
    guard let d = Double(text) else { throw error("invalid number") }
    var integer: Int64 = 0
    if isInteger {
      guard let v = Int64(text) else {
        i = start
        throw error("integer \(text) out of range")
      }
      integer = v
    }
    return .number(d, isInteger: isInteger, integer: integer)
  }

  /// A string's contents as UTF-8 (escapes decoded; a lone surrogate escape is an error).
  private mutating func string() throws(TokenizerError) -> [UInt8] {
    i += 1
    var out: [UInt8] = []
    var runStart = i
    while true {
      guard i < b.count else { throw error("unterminated string") }
      let c = b[i]
      if c == UInt8(ascii: "\"") {
        out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i]))
        i += 1
        return out
      }
      if c < 0x20 { throw error("a control character in a string") }
      if c == UInt8(ascii: "\\") {
        out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i]))
        i += 1
        guard i < b.count else { throw error("unterminated escape") }
        let e = b[i]
        i += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var u = try hex4()
          if u >= 0xD800 && u <= 0xDBFF {
            guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
              throw error("a lone surrogate escape")
            }
            i += 2
            let lo = try hex4()
            guard lo >= 0xDC00 && lo <= 0xDFFF else { throw error("a lone surrogate escape") }
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
          } else if u >= 0xDC00 && u <= 0xDFFF {
            throw error("a lone surrogate escape")
          }
          appendUTF8(u, &out)
        default:
          throw error("an invalid escape")
        }
        runStart = i
        continue
      }
      if c >= 0x80 {
        // Validate the sequence: a tokenizer file is UTF-8 text.
        let len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0
        guard len > 0, i + len <= b.count else { throw error("invalid UTF-8") }
        for k in 1..<len where b[i + k] & 0xC0 != 0x80 { throw error("invalid UTF-8") }
        if len == 3 {
          let v = UInt32(c & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F)
          guard v >= 0x800, !(0xD800...0xDFFF).contains(v) else { throw error("invalid UTF-8") }
        } else if len == 4 {
          let v = UInt32(c & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6
            | UInt32(b[i + 3] & 0x3F)
          guard v >= 0x10000, v <= 0x10FFFF else { throw error("invalid UTF-8") }
        }
        i += len
        continue
      }
      i += 1
    }
  }

  private mutating func hex4() throws(TokenizerError) -> UInt32 {
    guard i + 4 <= b.count else { throw error("a short \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = b[i]
      let d: UInt32
      switch c {
      case 0x30...0x39: d = UInt32(c - 0x30)
      case 0x41...0x46: d = UInt32(c - 0x41 + 10)
      case 0x61...0x66: d = UInt32(c - 0x61 + 10)
      default: throw error("a bad \\u escape")
      }
      v = v << 4 | d
      i += 1
    }
    return v
  }
}

@inline(__always)
func appendUTF8(_ u: UInt32, _ out: inout [UInt8]) {
  if u < 0x80 {
    out.append(UInt8(u))
  } else if u < 0x800 {
    out.append(UInt8(0xC0 | u >> 6))
    out.append(UInt8(0x80 | u & 0x3F))
  } else if u < 0x10000 {
    out.append(UInt8(0xE0 | u >> 12))
    out.append(UInt8(0x80 | (u >> 6) & 0x3F))
    out.append(UInt8(0x80 | u & 0x3F))
  } else {
    out.append(UInt8(0xF0 | u >> 18))
    out.append(UInt8(0x80 | (u >> 12) & 0x3F))
    out.append(UInt8(0x80 | (u >> 6) & 0x3F))
    out.append(UInt8(0x80 | u & 0x3F))
  }
}
