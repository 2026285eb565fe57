/// Builds the normalised key that exact dedup hashes when `normalize: true`,
/// so that documents differing only in Unicode presentation, letter case or
/// spacing count as duplicates.
///
/// Definition, applied in this order to UTF-8 text:
/// 1. NFKC (Unicode normalisation form KC, ICU 72 / Unicode 15);
/// 2. full Unicode lowercase in the root locale (SpecialCasing included,
///    final sigma by context; no Turkish/Lithuanian tailoring);
/// 3. every maximal run of whitespace, as Python's `str.split()` defines it
///    (`UnicodeWhitespace`: White_Space plus U+001C…U+001F), becomes a single
///    U+0020 SPACE;
/// 4. leading and trailing whitespace is removed.
///
/// Python equivalent (up to Unicode version differences):
///
///     " ".join(unicodedata.normalize("NFKC", s).lower().split())
///
/// Whitespace-only or empty text gives an empty key. Ill-formed UTF-8 becomes
/// U+FFFD.
public struct DedupKeyNormalizer: Sendable {
  var normalizer = TextNormalizer()
  // Intermediate results of the non-ASCII path, kept to reuse their storage.
  var nfkc: [UInt8] = []
  var lower: [UInt8] = []

  public init() {}

  /// Replaces `out` with the dedup key of `input`.
  public mutating func normalize(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    if UTF8Bytes.isASCII(input) {
      // NFKC is the identity on ASCII, so lowercase and collapse in one pass.
      Collapse.run(input, into: &out, lowercaseASCII: true)
      return
    }
    normalizer.normalize(input, form: .nfkc, into: &nfkc)
    nfkc.withUnsafeBufferPointer { normalizer.lowercase($0, into: &lower) }
    lower.withUnsafeBufferPointer { Collapse.run($0, into: &out, lowercaseASCII: false) }
  }
}

/// Whitespace collapsing and trimming, optionally fused with ASCII lowercase.
enum Collapse {
  static func run(
    _ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8], lowercaseASCII: Bool
  ) {
    // The output never outgrows the input: runs shrink to one byte.
    writeOutput(&out, capacity: input.count) { dst in
      guard let src = input.baseAddress else { return 0 }
      return lowercaseASCII
        ? collapse(src, input.count, dst, lowercase: true)
        : collapse(src, input.count, dst, lowercase: false)
    }
  }

  /// Emits a space eagerly for the first whitespace of a run and drops the
  /// rest, then trims the one possible trailing space at the end. Starting in
  /// the "just emitted a space" state drops leading whitespace.
  /// `lowercase` must only be true for ASCII input.
  @inline(__always)
  static func collapse(
    _ src: UnsafePointer<UInt8>, _ n: Int, _ dst: UnsafeMutablePointer<UInt8>, lowercase: Bool
  ) -> Int {
    let h = UTF8Bytes.highBits
    var o = 0
    var lastSpace = true
    var i = 0
    // Whole-word stores may write up to 7 bytes past `o`; that stays inside
    // the buffer because o <= i and i + 8 <= n.
    while i + 8 <= n {
      let x = UTF8Bytes.load8(src + i)
      let high = x & h
      let special = high == 0 ? 0 : UnicodeWhitespace.multibyteCandidates(x)
      let sp = high == 0 ? UnicodeWhitespace.asciiMask(x) : UnicodeWhitespace.asciiMaskAnyLanes(x)
      // Lanes up to the first possible multi-byte whitespace (all 8 when
      // there is none) contain only ASCII whitespace and other bytes.
      let k = special == 0 ? 8 : special.trailingZeroBitCount >> 3
      let keep: UInt64 = k == 8 ? ~0 : (1 << (8 * UInt64(k))) &- 1
      let spk = sp & keep
      let isSpace20 = UnicodeWhitespace.zeroLanes(x ^ 0x2020_2020_2020_2020) & keep
      let before = (spk << 8) | (lastSpace ? 0x80 : 0)
      if spk == isSpace20 && spk & before == 0 {
        // Ordinary prose: every whitespace is one 0x20 after a non-space,
        // so the k bytes copy through (lowercased when asked).
        UTF8Bytes.store8(lowercase ? ASCIICase.lower8(x) : x, dst + o)
        o += k
        i += k
        if k > 0 { lastSpace = (spk >> (8 * UInt64(k) - 1)) & 1 != 0 }
      } else {
        for _ in 0..<k {
          let b = src[i]
          if UnicodeWhitespace.isASCIIWhitespace(b) {
            if !lastSpace {
              dst[o] = 0x20
              o += 1
              lastSpace = true
            }
          } else {
            dst[o] = lowercase ? ASCIICase.lower(b) : b
            o += 1
            lastSpace = false
          }
          i += 1
        }
      }
      if k < 8 { step(src, n, dst, &i, &o, &lastSpace, lowercase: lowercase) }
    }
    while i < n { step(src, n, dst, &i, &o, &lastSpace, lowercase: lowercase) }
    if lastSpace && o > 0 { o -= 1 }
    return o
  }

  /// One scalar (or one stray byte) at `i`.
  @inline(__always)
  static func step(
    _ src: UnsafePointer<UInt8>, _ n: Int, _ dst: UnsafeMutablePointer<UInt8>,
    _ i: inout Int, _ o: inout Int, _ lastSpace: inout Bool, lowercase: Bool
  ) {
    let ws = UnicodeWhitespace.length(src, i, n)
    if ws > 0 {
      if !lastSpace {
        dst[o] = 0x20
        o += 1
        lastSpace = true
      }
      i += ws
      return
    }
    let b = src[i]
    dst[o] = lowercase ? ASCIICase.lower(b) : b
    o += 1
    i += 1
    // Continuation bytes of this scalar are copied as they are.
    while i < n, src[i] & 0xC0 == 0x80 {
      dst[o] = src[i]
      o += 1
      i += 1
    }
    lastSpace = false
  }
}
