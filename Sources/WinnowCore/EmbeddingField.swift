/// A document's embedding as a field value, in one of three encodings:
///
/// - `f32`: the string `"f32:"` followed by the base64 of the little-endian float32 values
///   (4 bytes a value, 5⅓ characters): exact, compact, and parsed without decimal conversion;
/// - `f16`: the same with `"f16:"` and IEEE half floats (2 bytes a value): half the size, about
///   three significant digits, plenty for clustering and similarity;
/// - `json`: a JSON array of numbers, for tools that cannot read the other two (the slowest).
///
/// Readers accept all three, so a vector written by `embed` in any encoding, or brought by the
/// user as a JSON array, is read the same way.
public enum EmbeddingEncoding: String, Sendable, CaseIterable {
  /// Base64 of little-endian float32, after `f32:` (exact).
  case f32
  /// Base64 of little-endian IEEE half floats, after `f16:`.
  case f16
  /// A JSON array of numbers.
  case json
}

/// Why a field could not be read as an embedding: a drop reason.
public enum EmbeddingProblem: String, Error, Sendable {
  /// The field is absent or null.
  case missing = "embedding_missing"
  /// Not a JSON array of numbers, nor `f32:`/`f16:` base64.
  case malformed = "embedding_malformed"
  /// Not the expected number of values (or none).
  case wrongLength = "embedding_wrong_length"
  /// A value is NaN, infinite or null, or beyond float32's range.
  case notFinite = "embedding_not_finite"
  /// A zero vector where a direction is needed (cosine).
  case zero = "embedding_zero"
}

/// Writing and reading embedding field values (`EmbeddingEncoding`).
public enum EmbeddingField {
  static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  static let decodeTable: [UInt8] = {
    var t = [UInt8](repeating: 0xFF, count: 256)
    for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
    return t
  }()

  /// Appends `v` as the JSON value of `encoding` (a quoted string or an array) to `out`.
  public static func append(_ v: UnsafeBufferPointer<Float>, as encoding: EmbeddingEncoding, to out: inout [UInt8]) {
    switch encoding {
    case .json:
      out.append(UInt8(ascii: "["))
      for (i, x) in v.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        // Shortest float32 round trip; JSON has no NaN or infinity (embed never makes them).
        out += Array((x.isFinite ? "\(x)" : "null").utf8)
      }
      out.append(UInt8(ascii: "]"))
    case .f32, .f16:
      var raw: [UInt8] = []
      raw.reserveCapacity(v.count * 4)
      for x in v {
        if encoding == .f32 {
          let b = x.bitPattern
          raw += [UInt8(truncatingIfNeeded: b), UInt8(truncatingIfNeeded: b >> 8), UInt8(truncatingIfNeeded: b >> 16), UInt8(truncatingIfNeeded: b >> 24)]
        } else {
          let b = Float16(x).bitPattern
          raw += [UInt8(truncatingIfNeeded: b), UInt8(truncatingIfNeeded: b >> 8)]
        }
      }
      out.append(UInt8(ascii: "\""))
      out += Array(encoding.rawValue.utf8)
      out.append(UInt8(ascii: ":"))
      appendBase64(raw, to: &out)
      out.append(UInt8(ascii: "\""))
    }
  }

  static func appendBase64(_ raw: [UInt8], to out: inout [UInt8]) {
    var i = 0
    while i + 3 <= raw.count {
      let n = UInt32(raw[i]) << 16 | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2])
      out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
      i += 3
    }
    let rest = raw.count - i
    if rest == 1 {
      let n = UInt32(raw[i]) << 16
      out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
    } else if rest == 2 {
      let n = UInt32(raw[i]) << 16 | UInt32(raw[i + 1]) << 8
      out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
    }
  }

  /// Decodes base64 (padding required) into `out`; nil when it is not valid base64.
  static func decodeBase64(_ s: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
    out.removeAll(keepingCapacity: true)
    guard s.count % 4 == 0 else { return false }
    var i = 0
    while i < s.count {
      let last = i + 4 == s.count
      var n: UInt32 = 0
      var pad = 0
      for k in 0..<4 {
        let c = s[i + k]
        if c == UInt8(ascii: "=") && last && k >= 2 {
          pad += 1
          n <<= 6
          continue
        }
        guard pad == 0 else { return false }
        let d = decodeTable[Int(c)]
        guard d != 0xFF else { return false }
        n = n << 6 | UInt32(d)
      }
      out.append(UInt8(truncatingIfNeeded: n >> 16))
      if pad < 2 { out.append(UInt8(truncatingIfNeeded: n >> 8)) }
      if pad < 1 { out.append(UInt8(truncatingIfNeeded: n)) }
      i += 4
    }
    return true
  }

  /// Reads a field value as an embedding of `dims` values (any length when nil) into `v`,
  /// replacing its contents. Every value must be a finite number.
  public static func read(_ value: FieldValue?, dims: Int?, into v: inout [Float], scratch: inout [UInt8]) -> EmbeddingProblem? {
    v.removeAll(keepingCapacity: true)
    switch value {
    case nil, .null?: return .missing
    case .composite(let raw)?:
      var raw = raw
      let problem = raw.withUTF8 { parseArray($0, into: &v) }
      if let problem { return problem }
    case .string(let s)?:
      var s = s
      let problem: EmbeddingProblem? = s.withUTF8 { b in
        guard b.count >= 4, b[3] == UInt8(ascii: ":") else { return .malformed }
        let half: Bool
        if b[0] == UInt8(ascii: "f") && b[1] == UInt8(ascii: "3") && b[2] == UInt8(ascii: "2") {
          half = false
        } else if b[0] == UInt8(ascii: "f") && b[1] == UInt8(ascii: "1") && b[2] == UInt8(ascii: "6") {
          half = true
        } else {
          return .malformed
        }
        guard decodeBase64(UnsafeBufferPointer(rebasing: b[4...]), into: &scratch) else { return .malformed }
        let width = half ? 2 : 4
        guard scratch.count % width == 0 else { return .malformed }
        v.reserveCapacity(scratch.count / width)
        var i = 0
        while i < scratch.count {
          if half {
            v.append(Float(Float16(bitPattern: UInt16(scratch[i]) | UInt16(scratch[i + 1]) << 8)))
          } else {
            v.append(
              Float(
                bitPattern: UInt32(scratch[i]) | UInt32(scratch[i + 1]) << 8 | UInt32(scratch[i + 2]) << 16
                  | UInt32(scratch[i + 3]) << 24))
          }
          i += width
        }
        return nil
      }
      if let problem { return problem }
    default: return .malformed
    }
    if let dims, v.count != dims { return .wrongLength }
    if v.isEmpty { return .wrongLength }
    for x in v where !x.isFinite { return .notFinite }
    return nil
  }

  /// A JSON array of numbers (whitespace allowed) into `v`.
  static func parseArray(_ b: UnsafeBufferPointer<UInt8>, into v: inout [Float]) -> EmbeddingProblem? {
    var i = 0
    @inline(__always) func skipSpace() {
      while i < b.count && (b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09) { i += 1 }
    }
    skipSpace()
    guard i < b.count, b[i] == UInt8(ascii: "[") else { return .malformed }
    i += 1
    skipSpace()
    if i < b.count && b[i] == UInt8(ascii: "]") { return nil }
    while true {
      skipSpace()
      let start = i
      while i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: ".")
        || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || (b[i] >= 0x30 && b[i] <= 0x39)
      {
        i += 1
      }
      guard i > start else {
        // null, true, a string or an object where a number should be.
        return i < b.count && b[i] == UInt8(ascii: "n") ? .notFinite : .malformed
      }
      guard let x = Double(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)) else { return .malformed }
      let f = Float(x)
      // A finite double beyond float32's range is not a usable component.
      guard f.isFinite else { return .notFinite }
      v.append(f)
      skipSpace()
      guard i < b.count else { return .malformed }
      if b[i] == UInt8(ascii: ",") {
        i += 1
        continue
      }
      guard b[i] == UInt8(ascii: "]") else { return .malformed }
      i += 1
      skipSpace()
      return i == b.count ? nil : .malformed
    }
  }
}
