// Byte-level UTF-8 helpers. Everything in WinnowText works on UTF-8 bytes in
// contiguous buffers; building `String`s costs ~45 % on top of JSON scanning
// (see TOOLCHAIN notes), so the hot paths never do.

/// Helpers for scanning UTF-8 text as bytes.
///
/// The 8-bytes-at-a-time paths read unaligned 64-bit little-endian words and
/// treat each byte as a lane ("SWAR"). English and code are mostly ASCII, so
/// asking "is any high bit set in these 8 bytes?" skips most of the decoding.
public enum UTF8Bytes {
  @usableFromInline static let highBits: UInt64 = 0x8080_8080_8080_8080
  @usableFromInline static let lowBits: UInt64 = 0x0101_0101_0101_0101

  /// Loads 8 bytes at `p` as a little-endian word, so byte `k` is bits
  /// `8k ..< 8k+8` on every platform.
  @inlinable @inline(__always)
  static func load8(_ p: UnsafePointer<UInt8>) -> UInt64 {
    UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
  }

  @inlinable @inline(__always)
  static func store8(_ w: UInt64, _ p: UnsafeMutablePointer<UInt8>) {
    UnsafeMutableRawPointer(p).storeBytes(of: w.littleEndian, as: UInt64.self)
  }

  /// True when every byte is below 0x80.
  @inlinable
  public static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    asciiPrefixLength(bytes) == bytes.count
  }

  /// Number of leading bytes below 0x80.
  @inlinable
  public static func asciiPrefixLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    guard let p = bytes.baseAddress else { return 0 }
    let n = bytes.count
    var i = 0
    // Four words per step: the OR lets the loop test 32 bytes with one branch.
    while i + 32 <= n {
      let w = load8(p + i) | load8(p + i + 8) | load8(p + i + 16) | load8(p + i + 24)
      if w & highBits != 0 { break }
      i += 32
    }
    while i + 8 <= n {
      let h = load8(p + i) & highBits
      if h != 0 { return i + h.trailingZeroBitCount >> 3 }
      i += 8
    }
    while i < n, p[i] < 0x80 { i += 1 }
    return i
  }

  /// Decodes the scalar starting at byte offset `i` (`i < bytes.count`).
  ///
  /// Ill-formed input yields U+FFFD for each maximal subpart (Unicode §3.9,
  /// the same substitution ICU and Swift's `String(decoding:)` use), so the
  /// result always advances and never reads past the buffer.
  @inlinable
  public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (
    scalar: Unicode.Scalar, length: Int
  ) {
    let n = bytes.count
    let b0 = UInt32(bytes[i])
    if b0 < 0x80 { return (Unicode.Scalar(UInt8(b0)), 1) }
    let bad = (replacement, 1)
    @inline(__always) func cont(_ k: Int) -> UInt32? {
      guard i + k < n else { return nil }
      let b = UInt32(bytes[i + k])
      return b & 0xC0 == 0x80 ? b & 0x3F : nil
    }
    switch b0 {
    case 0xC2...0xDF:
      guard let c1 = cont(1) else { return bad }
      return (Unicode.Scalar(unchecked: (b0 & 0x1F) << 6 | c1), 2)
    case 0xE0...0xEF:
      guard i + 1 < n else { return bad }
      let b1 = UInt32(bytes[i + 1])
      // Second-byte ranges exclude overlongs (E0) and surrogates (ED).
      let lo: UInt32 = b0 == 0xE0 ? 0xA0 : 0x80
      let hi: UInt32 = b0 == 0xED ? 0x9F : 0xBF
      guard b1 >= lo, b1 <= hi else { return bad }
      guard let c2 = cont(2) else { return (replacement, 2) }
      return (Unicode.Scalar(unchecked: (b0 & 0x0F) << 12 | (b1 & 0x3F) << 6 | c2), 3)
    case 0xF0...0xF4:
      guard i + 1 < n else { return bad }
      let b1 = UInt32(bytes[i + 1])
      let lo: UInt32 = b0 == 0xF0 ? 0x90 : 0x80
      let hi: UInt32 = b0 == 0xF4 ? 0x8F : 0xBF
      guard b1 >= lo, b1 <= hi else { return bad }
      guard let c2 = cont(2) else { return (replacement, 2) }
      guard let c3 = cont(3) else { return (replacement, 3) }
      return (
        Unicode.Scalar(unchecked: (b0 & 0x07) << 18 | (b1 & 0x3F) << 12 | c2 << 6 | c3), 4
      )
    default:
      return bad
    }
  }

  @usableFromInline static let replacement = Unicode.Scalar(0xFFFD as UInt32)!

  /// Calls `body(scalar, byteOffset)` for every scalar, in order.
  @inlinable
  public static func forEachScalar(
    in bytes: UnsafeBufferPointer<UInt8>, _ body: (Unicode.Scalar, Int) throws -> Void
  ) rethrows {
    guard let p = bytes.baseAddress else { return }
    let n = bytes.count
    var i = 0
    while i < n {
      if i + 8 <= n, load8(p + i) & highBits == 0 {
        for k in 0..<8 { try body(Unicode.Scalar(p[i + k]), i + k) }
        i += 8
        continue
      }
      let (s, len) = decode(bytes, at: i)
      try body(s, i)
      i += len
    }
  }
}

extension Unicode.Scalar {
  /// Only for values the decoder has range-checked.
  @inlinable @inline(__always)
  init(unchecked v: UInt32) {
    self = Unicode.Scalar(v).unsafelyUnwrapped
  }
}

// MARK: - Output buffers

@usableFromInline let zeroPage = [UInt8](repeating: 0, count: 1 << 16)

/// Lets a routine write up to `capacity` bytes straight into `out`'s storage
/// and trims it to the returned count. No allocation happens when `out`
/// already has the capacity: callers keep one array per worker and reuse it.
@inlinable
func writeOutput(
  _ out: inout [UInt8], capacity: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int
) {
  if capacity == 0 {
    out.removeAll(keepingCapacity: true)
    return
  }
  // Array has no "set count" for trivially-typed storage, so the missing part
  // is zero-filled: a memcpy, small next to any pass over the text. (Appending
  // `repeatElement(0, ...)` is the same in release but crawls in debug builds.)
  while out.count < capacity {
    let k = min(capacity - out.count, zeroPage.count)
    out.append(contentsOf: zeroPage[0..<k])
  }
  let written = out.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
  if out.count > written { out.removeLast(out.count - written) }
}

/// Long texts in pieces for the passes that need a copy of what they work on (Unicode
/// normalisation, case mapping, folding): each piece's copy is small, whatever the text's
/// length.
public enum TextPieces {
  /// Calls `body` with consecutive pieces of `text` of about `size` bytes each, every piece but
  /// the last ending just after an ASCII space, tab or line feed; `body` learns whether the
  /// piece is the last. A text without such bytes is one piece.
  ///
  /// Cut there, pieces are independent for NFC, NFKC, NFD and NFKC_Casefold (those characters
  /// are starters that compose with nothing, so nothing reorders or combines across them), for
  /// full case mapping (the final-sigma context stops at whitespace) and for anything that
  /// takes whitespace as a separator (words, numbers, runs of spaces): such a pass gives, piece
  /// by piece, the same result as on the whole text. A `\r\n` is never cut.
  public static func forEach(
    _ text: UnsafeBufferPointer<UInt8>, size: Int = 1 << 16, _ body: (UnsafeBufferPointer<UInt8>, _ last: Bool) -> Void
  ) {
    guard let p = text.baseAddress, text.count > 0 else {
      body(text, true)
      return
    }
    let n = text.count
    var start = 0
    while start < n {
      var end = n
      var i = start + size
      while i < n {
        let b = p[i]
        if b == 0x20 || b == 0x0A || b == 0x09 {
          end = i + 1
          break
        }
        i += 1
      }
      body(UnsafeBufferPointer(start: p + start, count: end - start), end == n)
      start = end
    }
  }
}
