/// Python's own text rules, for stages that reproduce Python reference code byte for byte:
/// `str.lower()` (full Unicode lower-casing, with the Final_Sigma rule) and the character
/// classes of `re`'s `\w` and `\s` on `str` patterns.
///
/// Where ports go wrong:
/// - `\w` is `str.isalnum()` or `_`: letters (categories Lu Ll Lt Lm Lo) and every character
///   with a numeric value (`½`, `²`, `Ⅻ`). Combining marks (Mn, Mc) are *not* word
///   characters, so `é` written as `e` + U+0301 splits into two tokens.
/// - `str.lower()` maps `İ` (U+0130) to two code points, `i` + U+0307, and a capital sigma to
///   `ς` at the end of a word, `σ` elsewhere (decided on the text before lower-casing).
/// - `\s` is `str.isspace()` (`UnicodeWhitespace`).
///
/// Invalid UTF-8 is read as U+FFFD per bad byte (Python would refuse such text; Winnow's
/// readers never hand it over, but a stage must not trap on it either).
public struct PythonText: Sendable {
  /// Class bits of one code point, from the Unicode tables Swift ships.
  public struct Traits: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Matches `\w`.
    public static let word = Traits(rawValue: 1)
    /// Matches `\s`.
    public static let space = Traits(rawValue: 2)
    /// Unicode Cased (for the Final_Sigma rule).
    public static let cased = Traits(rawValue: 4)
    /// Unicode Case_Ignorable (for the Final_Sigma rule).
    public static let caseIgnorable = Traits(rawValue: 8)
    /// Its lower-case mapping is not itself.
    public static let changesWhenLowered = Traits(rawValue: 16)
  }

  /// 256-code-point blocks of traits and single-scalar lower-case mappings, filled on first use
  /// (a property lookup per code point is far slower than a table read).
  final class Block: @unchecked Sendable {
    var traits = [UInt8](repeating: 0, count: 256)
    /// The lower-case scalar, or `multiScalar` when the mapping has several.
    var lower = [UInt32](repeating: 0, count: 256)
  }
  static let multiScalar: UInt32 = 0xFFFF_FFFF

  private var blocks: [Block?] = Array(repeating: nil, count: 0x110000 >> 8)
  private var multi: [UInt32: [UInt32]] = [:]

  /// An empty table; blocks of 256 code points are filled on first use.
  public init() {}

  /// The traits of `v` (a Unicode scalar value).
  @inline(__always)
  public mutating func traits(_ v: UInt32) -> Traits {
    if v < 0x80 { return Self.asciiTraits[Int(v)] }
    return Traits(rawValue: block(v).traits[Int(v & 0xFF)])
  }

  static let asciiTraits: [Traits] = (0..<128).map { (v: Int) -> Traits in computeTraits(Unicode.Scalar(UInt8(v))) }

  static func computeTraits(_ s: Unicode.Scalar) -> Traits {
    let p = s.properties
    var t: Traits = []
    switch p.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: t.insert(.word)
    default: if p.numericType != nil || s == "_" { t.insert(.word) }
    }
    if UnicodeWhitespace.contains(s) { t.insert(.space) }
    if p.isCased { t.insert(.cased) }
    if p.isCaseIgnorable { t.insert(.caseIgnorable) }
    if p.changesWhenLowercased { t.insert(.changesWhenLowered) }
    return t
  }

  @inline(__always)
  private mutating func block(_ v: UInt32) -> Block {
    let b = Int(v >> 8)
    if let block = blocks[b] { return block }
    return fill(b)
  }

  private mutating func fill(_ b: Int) -> Block {
    let block = Block()
    for i in 0..<256 {
      let v = UInt32(b << 8 | i)
      guard let s = Unicode.Scalar(v) else {
        block.lower[i] = v  // a surrogate: no traits, maps to itself
        continue
      }
      let t = Self.computeTraits(s)
      block.traits[i] = t.rawValue
      if t.contains(.changesWhenLowered) {
        let mapped = s.properties.lowercaseMapping.unicodeScalars.map(\.value)
        if mapped.count == 1 {
          block.lower[i] = mapped[0]
        } else {
          block.lower[i] = Self.multiScalar
          multi[v] = mapped
        }
      } else {
        block.lower[i] = v
      }
    }
    blocks[b] = block
    return block
  }

  /// Decodes UTF-8 `bytes` into scalar values (U+FFFD for each byte of an invalid sequence).
  public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
    out.removeAll(keepingCapacity: true)
    var i = 0
    while i < bytes.count {
      let (v, length) = decodeScalar(bytes, at: i)
      out.append(v)
      i += length
    }
  }

  /// The scalar starting at byte `i` of `bytes` (`i` in range) and its length in bytes: U+FFFD
  /// and 1 for a byte that does not start a valid sequence (a stray continuation byte, a
  /// truncated, overlong or surrogate sequence, or one past U+10FFFF).
  @inlinable
  public static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
    let b0 = bytes[i]
    if b0 < 0x80 { return (UInt32(b0), 1) }
    var need = 0
    var v: UInt32 = 0
    var minimum: UInt32 = 0
    if b0 & 0xE0 == 0xC0 {
      need = 1; v = UInt32(b0 & 0x1F); minimum = 0x80
    } else if b0 & 0xF0 == 0xE0 {
      need = 2; v = UInt32(b0 & 0x0F); minimum = 0x800
    } else if b0 & 0xF8 == 0xF0 {
      need = 3; v = UInt32(b0 & 0x07); minimum = 0x10000
    } else {
      return (0xFFFD, 1)
    }
    guard i + need < bytes.count else { return (0xFFFD, 1) }
    for k in 1...need {
      let c = bytes[i + k]
      guard c & 0xC0 == 0x80 else { return (0xFFFD, 1) }
      v = v << 6 | UInt32(c & 0x3F)
    }
    if v < minimum || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) { return (0xFFFD, 1) }
    return (v, need + 1)
  }

  /// `s.lower()` of the scalars `text`, as Python computes it, appended to `out`.
  public mutating func lower(_ text: [UInt32], into out: inout [UInt32]) {
    out.removeAll(keepingCapacity: true)
    out.reserveCapacity(text.count)
    let n = text.count
    for i in 0..<n {
      let v = text[i]
      if v < 0x80 {
        out.append(v &- 0x41 < 26 ? v | 0x20 : v)
        continue
      }
      if v == 0x3A3 {
        out.append(finalSigma(text, i) ? 0x3C2 : 0x3C3)
        continue
      }
      let m = block(v).lower[Int(v & 0xFF)]
      if m == Self.multiScalar {
        out.append(contentsOf: multi[v]!)
      } else {
        out.append(m)
      }
    }
  }

  /// The lower-case mapping of `v` when it is one scalar, nil when it is several (then see
  /// `lowerMapping(_:)`); for any scalar but U+03A3 (capital sigma, whose mapping depends on
  /// its neighbours: use `lower(_:into:)`).
  @inline(__always)
  public mutating func lower(scalar v: UInt32) -> UInt32? {
    if v < 0x80 { return v &- 0x41 < 26 ? v | 0x20 : v }
    let m = block(v).lower[Int(v & 0xFF)]
    return m == Self.multiScalar ? nil : m
  }

  /// The whole lower-case mapping of `v` (any scalar but U+03A3).
  public mutating func lowerMapping(_ v: UInt32) -> [UInt32] {
    if let one = lower(scalar: v) { return [one] }
    return multi[v]!
  }

  /// Unicode's Final_Sigma context, as CPython tests it: a cased letter before (skipping
  /// case-ignorable ones) and none after.
  private mutating func finalSigma(_ text: [UInt32], _ i: Int) -> Bool {
    var j = i - 1
    var c: UInt32 = 0
    while j >= 0 {
      c = text[j]
      if !traits(c).contains(.caseIgnorable) { break }
      j -= 1
    }
    guard j >= 0, traits(c).contains(.cased) else { return false }
    j = i + 1
    while j < text.count {
      c = text[j]
      if !traits(c).contains(.caseIgnorable) { break }
      j += 1
    }
    return j == text.count || !traits(c).contains(.cased)
  }
}
