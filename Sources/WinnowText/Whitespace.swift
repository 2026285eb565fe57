/// Whitespace exactly as Python's `str.isspace()` / `str.split()` define it,
/// because the filters this project reproduces (Gopher, C4, FineWeb in
/// datatrove) split words with `str.split()`.
///
/// That set is the Unicode White_Space property plus U+001C…U+001F (Python
/// counts the ASCII information separators, whose bidi class is B/S, as
/// whitespace). Checked against CPython 3.11 over all code points:
///
///     U+0009…U+000D, U+001C…U+0020, U+0085, U+00A0, U+1680, U+2000…U+200A,
///     U+2028, U+2029, U+202F, U+205F, U+3000
///
/// Not included: U+200B ZERO WIDTH SPACE, U+180E MONGOLIAN VOWEL SEPARATOR,
/// U+FEFF BOM (Python agrees).
public enum UnicodeWhitespace {
  @inlinable
  public static func contains(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if v < 0x80 { return isASCIIWhitespace(UInt8(v)) }
    switch v {
    case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
      return true
    default:
      return false
    }
  }

  @inlinable @inline(__always)
  public static func isASCIIWhitespace(_ b: UInt8) -> Bool {
    // 0x09…0x0D and 0x1C…0x20 as two unsigned range checks.
    b &- 0x09 < 5 || b &- 0x1C < 5
  }

  /// Byte length of the whitespace scalar starting at byte `i` of the UTF-8
  /// text `p[0..<n]`, or 0 when the bytes at `i` are not whitespace. Byte
  /// patterns are compared directly: only lead bytes C2, E1, E2 and E3 can
  /// start a non-ASCII whitespace, so most non-ASCII text is rejected by the
  /// first switch.
  @inlinable @inline(__always)
  public static func length(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
    let b0 = p[i]
    if b0 < 0x80 { return isASCIIWhitespace(b0) ? 1 : 0 }
    switch b0 {
    case 0xC2:
      guard i + 1 < n else { return 0 }
      let b1 = p[i + 1]
      return b1 == 0x85 || b1 == 0xA0 ? 2 : 0
    case 0xE1:
      guard i + 2 < n else { return 0 }
      return p[i + 1] == 0x9A && p[i + 2] == 0x80 ? 3 : 0
    case 0xE2:
      guard i + 2 < n else { return 0 }
      let b1 = p[i + 1]
      let b2 = p[i + 2]
      if b1 == 0x80 {
        // U+2000…U+200A, U+2028, U+2029, U+202F
        return (b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF ? 3 : 0
      }
      return b1 == 0x81 && b2 == 0x9F ? 3 : 0  // U+205F
    case 0xE3:
      guard i + 2 < n else { return 0 }
      return p[i + 1] == 0x80 && p[i + 2] == 0x80 ? 3 : 0  // U+3000
    default:
      return 0
    }
  }

  /// Byte length of the whitespace scalar that ends just before byte `end`
  /// and starts at or after byte `start` (`start < end`), or 0: `length`
  /// read backwards, for stripping whitespace from the end of a range.
  @inlinable @inline(__always)
  public static func length(endingAt end: Int, _ p: UnsafePointer<UInt8>, from start: Int) -> Int {
    let b = p[end &- 1]
    if b < 0x80 { return isASCIIWhitespace(b) ? 1 : 0 }
    if end &- start >= 2, p[end &- 2] == 0xC2 { return b == 0x85 || b == 0xA0 ? 2 : 0 }
    guard end &- start >= 3 else { return 0 }
    let b0 = p[end &- 3]
    let b1 = p[end &- 2]
    switch b0 {
    case 0xE1: return b1 == 0x9A && b == 0x80 ? 3 : 0
    case 0xE2:
      if b1 == 0x80 { return (b >= 0x80 && b <= 0x8A) || b == 0xA8 || b == 0xA9 || b == 0xAF ? 3 : 0 }
      return b1 == 0x81 && b == 0x9F ? 3 : 0  // U+205F
    case 0xE3: return b1 == 0x80 && b == 0x80 ? 3 : 0  // U+3000
    default: return 0
    }
  }

  /// One 0x80 bit per byte lane that holds an ASCII whitespace byte. Exact
  /// for lanes whose byte is below 0x80 and for every lane below the first
  /// byte >= 0x80 (borrows in the subtractions only travel upwards).
  @inlinable @inline(__always)
  static func asciiMask(_ x: UInt64) -> UInt64 {
    let h = UTF8Bytes.highBits
    // Each constant lane is >= 0x88, so ASCII lanes never borrow; a lane's
    // high bit is then set exactly when the byte is <= (constant - 0x80).
    let le08 = (0x8888_8888_8888_8888 &- x) & h
    let le0D = (0x8D8D_8D8D_8D8D_8D8D &- x) & h
    let le1B = (0x9B9B_9B9B_9B9B_9B9B &- x) & h
    let le20 = (0xA0A0_A0A0_A0A0_A0A0 &- x) & h
    return (le0D & ~le08) | (le20 & ~le1B)
  }

  /// `asciiMask` for words that may hold bytes >= 0x80: exact in every lane,
  /// and 0 in the non-ASCII lanes.
  @inlinable @inline(__always)
  static func asciiMaskAnyLanes(_ x: UInt64) -> UInt64 {
    // Clearing bit 7 makes every lane ASCII (no borrows); the lanes that had
    // it are then masked out, since 0xA0 & 0x7F would pass for a space.
    let h = UTF8Bytes.highBits
    return asciiMask(x & ~h) & ~(x & h)
  }

  /// Bit 7 in each lane whose byte equals the same lane of `y`'s pattern,
  /// i.e. in each zero lane of `y`. Exact (no false positives from carries,
  /// unlike the shorter "has a zero byte" test).
  @inlinable @inline(__always)
  static func zeroLanes(_ y: UInt64) -> UInt64 {
    let m: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    return ~(((y & m) &+ m) | y) & UTF8Bytes.highBits
  }

  /// Lanes where a multi-byte whitespace may start: C2 85, C2 A0, E1 9A,
  /// E2 80, E2 81, E3 80 (the second byte checked when it is in the same
  /// word; the top lane is kept when its lead alone qualifies). Curly quotes
  /// and dashes (E2 80 ..) still show up here and take the exact check;
  /// letters of other scripts, kana (E3 81-83) and ideographs do not.
  @inlinable @inline(__always)
  static func multibyteCandidates(_ x: UInt64) -> UInt64 {
    let l: UInt64 = 0x0101_0101_0101_0101
    @inline(__always) func eq(_ b: UInt64) -> UInt64 { zeroLanes(x ^ (l &* b)) }
    let top: UInt64 = 0x80 << 56
    let e80 = eq(0x80)
    let c2 = eq(0xC2) & (((eq(0x85) | eq(0xA0)) >> 8) | top)
    let e1 = eq(0xE1) & ((eq(0x9A) >> 8) | top)
    let e2 = eq(0xE2) & (((e80 | eq(0x81)) >> 8) | top)
    let e3 = eq(0xE3) & ((e80 >> 8) | top)
    return c2 | e1 | e2 | e3
  }
}
