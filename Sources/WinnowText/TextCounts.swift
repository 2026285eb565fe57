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
    var continuation = LaneCounter()
    var i = 0
    while i + 32 <= n {
      let a = UTF8Bytes.load8(p + i)
      let b = UTF8Bytes.load8(p + i + 8)
      let c = UTF8Bytes.load8(p + i + 16)
      let d = UTF8Bytes.load8(p + i + 24)
      continuation.add(a & ~(a << 1) & h)
      continuation.add(b & ~(b << 1) & h)
      continuation.add(c & ~(c << 1) & h)
      continuation.add(d & ~(d << 1) & h)
      i += 32
    }
    while i + 8 <= n {
      let a = UTF8Bytes.load8(p + i)
      continuation.add(a & ~(a << 1) & h)
      i += 8
    }
    var tail = 0
    while i < n {
      if p[i] & 0xC0 == 0x80 { tail &+= 1 }
      i += 1
    }
    return n - continuation.total - tail
  }

  /// Number of tokens `str.split()` (no argument) returns: maximal runs of
  /// non-whitespace, whitespace as in `UnicodeWhitespace`.
  public static func whitespaceWords(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
    guard let p = utf8.baseAddress else { return 0 }
    let n = utf8.count
    let h = UTF8Bytes.highBits
    var starts = LaneCounter()
    var words = 0  // starts found outside the 8-byte lanes
    // Bit 7 set when the byte before `i` was whitespace (or `i` is the
    // start): a word starts at every non-space byte whose predecessor is.
    var prevSpace: UInt64 = 0x80
    var i = 0
    while i + 8 <= n {
      let x = UTF8Bytes.load8(p + i)
      let high = x & h
      // Lanes before the first possible multi-byte whitespace need no
      // decoding: non-ASCII bytes there are never whitespace.
      let special = high == 0 ? 0 : UnicodeWhitespace.multibyteCandidates(x)
      let sp = high == 0 ? UnicodeWhitespace.asciiMask(x) : UnicodeWhitespace.asciiMaskAnyLanes(x)
      if special == 0 {
        let before = (sp << 8) | prevSpace
        starts.add(before & ~sp & h)
        prevSpace = sp >> 56
        i += 8
        continue
      }
      let k = special.trailingZeroBitCount >> 3
      if k > 0 {
        let keep: UInt64 = (1 << (8 * UInt64(k))) &- 1
        let spk = sp & keep
        let before = (spk << 8) | prevSpace
        starts.add(before & ~spk & h & keep)
        prevSpace = (spk >> (8 * UInt64(k - 1))) & 0x80
        i += k
      }
      // A possible multi-byte whitespace at i: check its bytes exactly.
      let ws = UnicodeWhitespace.length(p, i, n)
      if ws > 0 {
        prevSpace = 0x80
        i += ws
      } else {
        words &+= Int(truncatingIfNeeded: prevSpace >> 7)
        prevSpace = 0
        i += 1
        // The continuation bytes that follow never change the state.
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
    return words + starts.total
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
    let nl: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
    var count = LaneCounter()
    var i = 0
    while i + 32 <= n {
      count.add(UnicodeWhitespace.zeroLanes(UTF8Bytes.load8(p + i) ^ nl))
      count.add(UnicodeWhitespace.zeroLanes(UTF8Bytes.load8(p + i + 8) ^ nl))
      count.add(UnicodeWhitespace.zeroLanes(UTF8Bytes.load8(p + i + 16) ^ nl))
      count.add(UnicodeWhitespace.zeroLanes(UTF8Bytes.load8(p + i + 24) ^ nl))
      i += 32
    }
    while i + 8 <= n {
      count.add(UnicodeWhitespace.zeroLanes(UTF8Bytes.load8(p + i) ^ nl))
      i += 8
    }
    var tail = 0
    while i < n {
      if p[i] == 0x0A { tail &+= 1 }
      i += 1
    }
    return count.total + tail
  }
}

/// Counts bits set at bit 7 of byte lanes, summed over many words.
///
/// `nonzeroBitCount` compiles to a ~12-instruction software popcount here:
/// the package builds for baseline x86-64, which has no POPCNT. Adding the
/// lanes as bytes costs two instructions per word, and the bytes are summed
/// before any of them can overflow.
struct LaneCounter {
  private var lanes: UInt64 = 0
  private var pending = 0
  private var flushed = 0

  @inline(__always)
  mutating func add(_ mask: UInt64) {
    lanes &+= mask >> 7
    pending &+= 1
    if pending == 255 { flush() }
  }

  @inline(__always)
  private mutating func flush() {
    let pairs = (lanes & 0x00FF_00FF_00FF_00FF) &+ ((lanes >> 8) & 0x00FF_00FF_00FF_00FF)
    flushed &+= Int(truncatingIfNeeded: (pairs &* 0x0001_0001_0001_0001) >> 48)
    lanes = 0
    pending = 0
  }

  var total: Int {
    mutating get {
      flush()
      return flushed
    }
  }
}
