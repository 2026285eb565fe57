/// Counts over UTF-8 text with Python semantics, since the thresholds in the
/// filters we reproduce were tuned on Python's `len()` and `str.split()`.
///
/// Input is assumed to be well-formed UTF-8 (the JSONL reader validates it).
/// On ill-formed input the counts stay defined but may differ from what a
/// decoder with U+FFFD substitution would give.
public enum TextCounts {
  /// Number of Unicode scalars (code points): Python's `len(str)`.
  /// An emoji outside the BMP counts 1 (not 2 as in UTF-16/NSString);
  /// a base letter plus a combining accent counts 2.
  public static func scalars(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
    guard let p = utf8.baseAddress else { return 0 }
    let n = utf8.count
    let h = UTF8Bytes.highBits
    // Every scalar has exactly one byte that is not a continuation byte
    // (10xxxxxx); count those. A lane's bit 7 survives `x & ~(x << 1)` only
    // for 10xxxxxx (the shifted-in bit 6 comes from the same lane).
    var continuation = 0
    var i = 0
    while i + 32 <= n {
      let a = UTF8Bytes.load8(p + i)
      let b = UTF8Bytes.load8(p + i + 8)
      let c = UTF8Bytes.load8(p + i + 16)
      let d = UTF8Bytes.load8(p + i + 24)
      continuation &+= (a & ~(a << 1) & h).nonzeroBitCount
      continuation &+= (b & ~(b << 1) & h).nonzeroBitCount
      continuation &+= (c & ~(c << 1) & h).nonzeroBitCount
      continuation &+= (d & ~(d << 1) & h).nonzeroBitCount
      i += 32
    }
    while i + 8 <= n {
      let a = UTF8Bytes.load8(p + i)
      continuation &+= (a & ~(a << 1) & h).nonzeroBitCount
      i += 8
    }
    while i < n {
      if p[i] & 0xC0 == 0x80 { continuation &+= 1 }
      i += 1
    }
    return n - continuation
  }

  /// Number of tokens `str.split()` (no argument) returns: maximal runs of
  /// non-whitespace, whitespace as in `UnicodeWhitespace`.
  public static func whitespaceWords(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
    guard let p = utf8.baseAddress else { return 0 }
    let n = utf8.count
    let h = UTF8Bytes.highBits
    var words = 0
    // Bit 7 set when the byte before `i` was whitespace (or `i` is the
    // start): a word starts at every non-space byte whose predecessor is.
    var prevSpace: UInt64 = 0x80
    var i = 0
    while i + 8 <= n {
      let x = UTF8Bytes.load8(p + i)
      let high = x & h
      if high == 0 {
        let sp = UnicodeWhitespace.asciiMask(x)
        let before = (sp << 8) | prevSpace
        words &+= (before & ~sp & h).nonzeroBitCount
        prevSpace = sp >> 56
        i += 8
        continue
      }
      // Take the ASCII lanes below the first non-ASCII byte with the same
      // mask arithmetic, then decode one non-ASCII scalar by hand.
      let k = high.trailingZeroBitCount >> 3
      if k > 0 {
        let keep: UInt64 = (1 << (8 * UInt64(k))) &- 1
        let sp = UnicodeWhitespace.asciiMask(x) & keep
        let before = (sp << 8) | prevSpace
        words &+= (before & ~sp & h & keep).nonzeroBitCount
        prevSpace = (sp >> (8 * UInt64(k - 1))) & 0x80
        i += k
      }
      let ws = UnicodeWhitespace.length(p, i, n)
      if ws > 0 {
        prevSpace = 0x80
        i += ws
      } else {
        words &+= Int(truncatingIfNeeded: prevSpace >> 7)
        prevSpace = 0
        i += 1
        // Continuation bytes never change the state; skip them here rather
        // than take this slow path once per byte.
        while i < n, p[i] & 0xC0 == 0x80 { i += 1 }
      }
    }
    while i < n {
      let ws = UnicodeWhitespace.length(p, i, n)
      if ws > 0 {
        prevSpace = 0x80
        i += ws
      } else {
        words &+= Int(truncatingIfNeeded: prevSpace >> 7)
        prevSpace = 0
        i += 1
        while i < n, p[i] & 0xC0 == 0x80 { i += 1 }
      }
    }
    return words
  }

  /// Number of lines when splitting on "\n" only: every "\n" ends a line, and
  /// text after the last "\n" is one more line. So "" → 0, "a" → 1,
  /// "a\n" → 1, "a\nb" → 2, "\n\n" → 2. ("\r" is an ordinary byte.)
  /// Python: `s.count("\n") + (1 if s and not s.endswith("\n") else 0)`.
  public static func lines(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
    guard let p = utf8.baseAddress, utf8.count > 0 else { return 0 }
    let n = utf8.count
    return newlines(p, n) + (p[n - 1] == 0x0A ? 0 : 1)
  }

  /// Number of "\n" bytes.
  public static func newlines(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
    guard let p = utf8.baseAddress else { return 0 }
    return newlines(p, utf8.count)
  }

  static func newlines(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    // Counting zero lanes of x ^ 0x0A…: `((y & 0x7F…) + 0x7F…) | y` sets bit
    // 7 exactly in the non-zero lanes, with no carry between lanes (unlike the
    // cheaper "has a zero byte" trick, which can over-count).
    let m: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    let nl: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
    @inline(__always) func zeroLanes(_ x: UInt64) -> Int {
      let y = x ^ nl
      return (~(((y & m) &+ m) | y) & UTF8Bytes.highBits).nonzeroBitCount
    }
    var count = 0
    var i = 0
    while i + 32 <= n {
      count &+= zeroLanes(UTF8Bytes.load8(p + i)) &+ zeroLanes(UTF8Bytes.load8(p + i + 8))
        &+ zeroLanes(UTF8Bytes.load8(p + i + 16)) &+ zeroLanes(UTF8Bytes.load8(p + i + 24))
      i += 32
    }
    while i + 8 <= n {
      count &+= zeroLanes(UTF8Bytes.load8(p + i))
      i += 8
    }
    while i < n {
      if p[i] == 0x0A { count &+= 1 }
      i += 1
    }
    return count
  }
}
