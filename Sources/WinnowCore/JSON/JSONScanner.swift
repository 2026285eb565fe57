// A validating scanner for one JSON Lines record.
//
// It checks the whole line against RFC 8259 (strings must be valid UTF-8, no lone
// surrogates) and records where each top-level member sits, so that the document can
// hand out fields lazily and splice rewrites without re-serialising anything.

/// Why a line could not be read as a document. The raw values are the quarantine reasons.
public enum BadLineReason: String, Sendable, CaseIterable {
  case invalidJSON = "invalid_json"
  case notAnObject = "not_an_object"
  case invalidUTF8 = "invalid_utf8"
  case invalidEscape = "invalid_escape"
  case loneSurrogate = "lone_surrogate"
  case controlCharacter = "control_character"
  case trailingData = "trailing_data"
  case tooDeep = "nesting_too_deep"
  case missingTextField = "missing_text_field"
  case textNotAString = "text_not_a_string"
  /// Longer than `max_document_bytes`: never parsed (see `PipelineOptions.maxDocumentBytes`).
  case documentTooLarge = "document_too_large"
}

/// A scan failure: the reason and the byte offset inside the line where it was found.
public struct JSONScanError: Error, Sendable, Equatable {
  public var reason: BadLineReason
  public var offset: Int
  public init(_ reason: BadLineReason, at offset: Int) {
    self.reason = reason
    self.offset = offset
  }
}

package enum JSONValueKind: UInt8, Sendable {
  case string, number, object, array, bool, null
}

/// Where one top-level member of an object lies in the line (byte offsets, end exclusive).
package struct JSONMember: Sendable {
  /// Key contents, without the quotes.
  package var keyStart: Int
  package var keyEnd: Int
  package var keyHasEscapes: Bool
  /// The raw value, including the quotes of a string.
  package var valueStart: Int
  package var valueEnd: Int
  package var kind: JSONValueKind
  /// For strings: whether the contents contain a backslash escape.
  package var valueHasEscapes: Bool
}

/// Validates JSON and indexes the members of an object. Reusable: the member array keeps
/// its capacity from one line to the next.
package struct JSONScanner {
  package static let maxDepth = 512
  package private(set) var members: [JSONMember] = []
  /// Offset of the object's closing brace, where new members are inserted.
  package private(set) var closingBrace = 0

  package init() { members.reserveCapacity(16) }

  /// Scans `line` as one JSON object with optional surrounding whitespace and records its
  /// top-level members. Throws the first problem found.
  package mutating func scanObject(_ line: UnsafeBufferPointer<UInt8>) throws(JSONScanError) {
    members.removeAll(keepingCapacity: true)
    guard let base = line.baseAddress, line.count > 0 else {
      throw JSONScanError(.invalidJSON, at: 0)
    }
    var cursor = Cursor(p: base, end: line.count)
    cursor.skipWhitespace()
    guard cursor.i < cursor.end else { throw JSONScanError(.invalidJSON, at: cursor.i) }
    if cursor.p[cursor.i] != UInt8(ascii: "{") {
      // Tell "valid JSON but not an object" apart from garbage: users fix them differently.
      let start = cursor.i
      try cursor.scanValue(depth: 0)
      cursor.skipWhitespace()
      if cursor.i != cursor.end { throw JSONScanError(.trailingData, at: cursor.i) }
      throw JSONScanError(.notAnObject, at: start)
    }
    cursor.i += 1
    try cursor.scanMembers(depth: 1, record: &members)
    closingBrace = cursor.i - 1
    cursor.skipWhitespace()
    if cursor.i != cursor.end { throw JSONScanError(.trailingData, at: cursor.i) }
  }

  /// Takes the members of an object line someone else built and already knows to be valid
  /// JSON (a Parquet row: see `Document.load(builtLine:members:closingBrace:…)`).
  package mutating func adopt(members: [JSONMember], closingBrace: Int) {
    self.members.removeAll(keepingCapacity: true)
    self.members.append(contentsOf: members)
    self.closingBrace = closingBrace
  }

  /// Whether `bytes` are valid UTF-8 by the scanner's own rules (RFC 3629: no overlongs,
  /// surrogates or code points above U+10FFFF), eight ASCII bytes at a time.
  package static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let p = bytes.baseAddress else { return true }
    let n = bytes.count
    var i = 0
    @inline(__always) func cont(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
    while i < n {
      if n - i >= 8, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & highs == 0 {
        i += 8
        continue
      }
      let c = p[i]
      if c < 0x80 {
        i += 1
      } else if c < 0xC2 {
        return false
      } else if c < 0xE0 {
        guard i + 1 < n, cont(p[i + 1]) else { return false }
        i += 2
      } else if c < 0xF0 {
        guard i + 2 < n, cont(p[i + 2]) else { return false }
        let d = p[i + 1]
        switch c {
        case 0xE0: guard d >= 0xA0 && d <= 0xBF else { return false }
        case 0xED: guard d >= 0x80 && d <= 0x9F else { return false }
        default: guard cont(d) else { return false }
        }
        i += 3
      } else if c <= 0xF4 {
        guard i + 3 < n, cont(p[i + 2]), cont(p[i + 3]) else { return false }
        let d = p[i + 1]
        switch c {
        case 0xF0: guard d >= 0x90 && d <= 0xBF else { return false }
        case 0xF4: guard d >= 0x80 && d <= 0x8F else { return false }
        default: guard cont(d) else { return false }
        }
        i += 4
      } else {
        return false
      }
    }
    return true
  }

  /// Validates any JSON value filling `bytes` (surrounding whitespace allowed).
  package static func validateValue(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONScanError) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { throw JSONScanError(.invalidJSON, at: 0) }
    var cursor = Cursor(p: base, end: bytes.count)
    cursor.skipWhitespace()
    try cursor.scanValue(depth: 0)
    cursor.skipWhitespace()
    if cursor.i != cursor.end { throw JSONScanError(.trailingData, at: cursor.i) }
  }

  /// Indexes the members of the object whose raw bytes are `bytes[range]` (already
  /// validated), for nested field lookups such as `meta.lang`.
  package static func members(
    ofObject bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, into out: inout [JSONMember]
  ) {
    out.removeAll(keepingCapacity: true)
    var cursor = Cursor(p: bytes.baseAddress!, end: range.upperBound)
    cursor.i = range.lowerBound
    cursor.skipWhitespace()
    guard cursor.i < cursor.end, cursor.p[cursor.i] == UInt8(ascii: "{") else { return }
    cursor.i += 1
    try? cursor.scanMembers(depth: 1, record: &out)
  }
}

private let ones: UInt64 = 0x0101_0101_0101_0101
private let highs: UInt64 = 0x8080_8080_8080_8080

struct Cursor {
  let p: UnsafePointer<UInt8>
  let end: Int
  var i = 0

  init(p: UnsafePointer<UInt8>, end: Int) {
    self.p = p
    self.end = end
  }

  @inline(__always) mutating func skipWhitespace() {
    while i < end {
      let c = p[i]
      if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
    }
  }

  /// After the opening brace: members until the closing brace.
  mutating func scanMembers(depth: Int, record: inout [JSONMember]) throws(JSONScanError) {
    skipWhitespace()
    if i < end && p[i] == UInt8(ascii: "}") {
      i += 1
      return
    }
    while true {
      skipWhitespace()
      guard i < end, p[i] == UInt8(ascii: "\"") else { throw JSONScanError(.invalidJSON, at: i) }
      let keyStart = i + 1
      let keyEscapes = try scanString()
      let keyEnd = i - 1
      skipWhitespace()
      guard i < end, p[i] == UInt8(ascii: ":") else { throw JSONScanError(.invalidJSON, at: i) }
      i += 1
      skipWhitespace()
      let valueStart = i
      guard i < end else { throw JSONScanError(.invalidJSON, at: i) }
      let kind: JSONValueKind
      var valueEscapes = false
      if p[i] == UInt8(ascii: "\"") {
        kind = .string
        valueEscapes = try scanString()
      } else {
        kind = try scanNonString(depth: depth)
      }
      if depth == 1 {
        record.append(
          JSONMember(
            keyStart: keyStart, keyEnd: keyEnd, keyHasEscapes: keyEscapes, valueStart: valueStart,
            valueEnd: i, kind: kind, valueHasEscapes: valueEscapes))
      }
      skipWhitespace()
      guard i < end else { throw JSONScanError(.invalidJSON, at: i) }
      let c = p[i]
      i += 1
      if c == UInt8(ascii: ",") { continue }
      if c == UInt8(ascii: "}") { return }
      throw JSONScanError(.invalidJSON, at: i - 1)
    }
  }

  mutating func scanValue(depth: Int) throws(JSONScanError) {
    guard i < end else { throw JSONScanError(.invalidJSON, at: i) }
    if p[i] == UInt8(ascii: "\"") {
      _ = try scanString()
    } else {
      _ = try scanNonString(depth: depth)
    }
  }

  mutating func scanNonString(depth: Int) throws(JSONScanError) -> JSONValueKind {
    let c = p[i]
    switch c {
    case UInt8(ascii: "{"):
      if depth >= JSONScanner.maxDepth { throw JSONScanError(.tooDeep, at: i) }
      i += 1
      var ignored: [JSONMember] = []
      try scanMembers(depth: depth + 1, record: &ignored)
      return .object
    case UInt8(ascii: "["):
      if depth >= JSONScanner.maxDepth { throw JSONScanError(.tooDeep, at: i) }
      i += 1
      skipWhitespace()
      if i < end && p[i] == UInt8(ascii: "]") {
        i += 1
        return .array
      }
      while true {
        skipWhitespace()
        try scanValue(depth: depth + 1)
        skipWhitespace()
        guard i < end else { throw JSONScanError(.invalidJSON, at: i) }
        let d = p[i]
        i += 1
        if d == UInt8(ascii: ",") { continue }
        if d == UInt8(ascii: "]") { return .array }
        throw JSONScanError(.invalidJSON, at: i - 1)
      }
    case UInt8(ascii: "t"):
      try literal("true")
      return .bool
    case UInt8(ascii: "f"):
      try literal("false")
      return .bool
    case UInt8(ascii: "n"):
      try literal("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      try scanNumber()
      return .number
    default:
      throw JSONScanError(.invalidJSON, at: i)
    }
  }

  mutating func literal(_ word: StaticString) throws(JSONScanError) {
    let n = word.utf8CodeUnitCount
    guard end - i >= n else { throw JSONScanError(.invalidJSON, at: i) }
    let w = word.utf8Start
    for k in 0..<n where p[i + k] != w[k] { throw JSONScanError(.invalidJSON, at: i + k) }
    i += n
  }

  @inline(__always) func isDigit(_ k: Int) -> Bool {
    k < end && p[k] >= UInt8(ascii: "0") && p[k] <= UInt8(ascii: "9")
  }

  mutating func scanNumber() throws(JSONScanError) {
    if p[i] == UInt8(ascii: "-") { i += 1 }
    guard isDigit(i) else { throw JSONScanError(.invalidJSON, at: i) }
    if p[i] == UInt8(ascii: "0") {
      i += 1
    } else {
      while isDigit(i) { i += 1 }
    }
    if i < end && p[i] == UInt8(ascii: ".") {
      i += 1
      guard isDigit(i) else { throw JSONScanError(.invalidJSON, at: i) }
      while isDigit(i) { i += 1 }
    }
    if i < end && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
      i += 1
      if i < end && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
      guard isDigit(i) else { throw JSONScanError(.invalidJSON, at: i) }
      while isDigit(i) { i += 1 }
    }
  }

  /// At an opening quote: validates the string and leaves `i` after the closing quote.
  /// Returns whether the string contains escapes.
  mutating func scanString() throws(JSONScanError) -> Bool {
    i += 1
    var escapes = false
    while true {
      // Eight bytes at a time while there is nothing special: no quote, backslash,
      // control character or non-ASCII byte. The lowest flagged byte of the mask is exactly
      // the first special one (the bit tricks only misfire above a true hit), so the scan
      // jumps straight to it.
      while i + 8 <= end {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
        let q = v ^ 0x2222_2222_2222_2222
        let b = v ^ 0x5C5C_5C5C_5C5C_5C5C
        let special =
          ((q &- ones) & ~q) | ((b &- ones) & ~b) | ((v &- 0x2020_2020_2020_2020) & ~v) | v
        let m = special & highs
        if m == 0 {
          i += 8
          continue
        }
        i += m.trailingZeroBitCount >> 3
        break
      }
      guard i < end else { throw JSONScanError(.invalidJSON, at: i) }
      let c = p[i]
      if c == UInt8(ascii: "\"") {
        i += 1
        return escapes
      } else if c == UInt8(ascii: "\\") {
        escapes = true
        // The escapes of two bytes (a text's line breaks, quotes and tabs) in place: only
        // `\u` and invalid ones go to `scanEscape`.
        if i + 1 < end, Self.isShortEscape(p[i + 1]) {
          i += 2
        } else {
          try scanEscape()
        }
      } else if c < 0x20 {
        throw JSONScanError(.controlCharacter, at: i)
      } else if c < 0x80 {
        i += 1
      } else {
        try scanUTF8Sequence()
      }
    }
  }

  /// Whether `\` followed by byte e is a whole escape: `\" \\ \/ \b \f \n \r \t`.
  @inline(__always) static func isShortEscape(_ e: UInt8) -> Bool {
    switch e {
    case UInt8(ascii: "n"), UInt8(ascii: "\""), UInt8(ascii: "t"), UInt8(ascii: "\\"), UInt8(ascii: "/"),
      UInt8(ascii: "r"), UInt8(ascii: "b"), UInt8(ascii: "f"):
      return true
    default: return false
    }
  }

  @inline(__always) func isContinuation(_ k: Int) -> Bool {
    k < end && p[k] & 0xC0 == 0x80
  }

  /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates,
  /// nothing above U+10FFFF).
  mutating func scanUTF8Sequence() throws(JSONScanError) {
    let c = p[i]
    let start = i
    switch c {
    case 0xC2...0xDF:
      guard isContinuation(i + 1) else { throw JSONScanError(.invalidUTF8, at: start) }
      i += 2
    case 0xE0...0xEF:
      guard i + 2 < end, isContinuation(i + 2) else { throw JSONScanError(.invalidUTF8, at: start) }
      let d = p[i + 1]
      let ok: Bool
      switch c {
      case 0xE0: ok = d >= 0xA0 && d <= 0xBF
      case 0xED: ok = d >= 0x80 && d <= 0x9F
      default: ok = d & 0xC0 == 0x80
      }
      guard ok else { throw JSONScanError(.invalidUTF8, at: start) }
      i += 3
    case 0xF0...0xF4:
      guard i + 3 < end, isContinuation(i + 2), isContinuation(i + 3) else {
        throw JSONScanError(.invalidUTF8, at: start)
      }
      let d = p[i + 1]
      let ok: Bool
      switch c {
      case 0xF0: ok = d >= 0x90 && d <= 0xBF
      case 0xF4: ok = d >= 0x80 && d <= 0x8F
      default: ok = d & 0xC0 == 0x80
      }
      guard ok else { throw JSONScanError(.invalidUTF8, at: start) }
      i += 4
    default:
      throw JSONScanError(.invalidUTF8, at: start)
    }
  }

  @inline(__always) func hex4(at k: Int) -> UInt32? {
    guard k + 4 <= end else { return nil }
    var v: UInt32 = 0
    for j in 0..<4 {
      guard let h = hexValue(p[k + j]) else { return nil }
      v = v << 4 | h
    }
    return v
  }

  /// At a backslash: one escape, including a full surrogate pair for `\uD8xx\uDCxx`.
  mutating func scanEscape() throws(JSONScanError) {
    let start = i
    guard i + 1 < end else { throw JSONScanError(.invalidEscape, at: start) }
    switch p[i + 1] {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
      UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
      i += 2
    case UInt8(ascii: "u"):
      guard let u = hex4(at: i + 2) else { throw JSONScanError(.invalidEscape, at: start) }
      i += 6
      if u >= 0xDC00 && u <= 0xDFFF { throw JSONScanError(.loneSurrogate, at: start) }
      if u >= 0xD800 && u <= 0xDBFF {
        guard i + 1 < end, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u"),
          let low = hex4(at: i + 2), low >= 0xDC00 && low <= 0xDFFF
        else { throw JSONScanError(.loneSurrogate, at: start) }
        i += 6
      }
    default:
      throw JSONScanError(.invalidEscape, at: start)
    }
  }
}

@inline(__always) func hexValue(_ c: UInt8) -> UInt32? {
  switch c {
  case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
  case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
  case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
  default: return nil
  }
}
