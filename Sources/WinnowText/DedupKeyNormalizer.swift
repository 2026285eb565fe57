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
    let m: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    var o = 0
    var lastSpace = true
    var i = 0
    while i + 8 <= n {
      let x = UTF8Bytes.load8(src + i)
      if x & h == 0 {
        // Fast lane: eight ASCII bytes copy through unchanged (but for case)
        // when every whitespace among them is a single 0x20 that does not
        // follow another whitespace. That is ordinary prose.
        let sp = UnicodeWhitespace.asciiMask(x)
        let y = x ^ 0x2020_2020_2020_2020
        let isSpace20 = ~(((y & m) &+ m) | y) & h
        let before = (sp << 8) | (lastSpace ? 0x80 : 0)
        if sp == isSpace20 && sp & before == 0 {
          UTF8Bytes.store8(lowercase ? ASCIICase.lower8(x) : x, dst + o)
          o += 8
          lastSpace = sp >> 63 != 0
          i += 8
          continue
        }
        for k in 0..<8 {
          let b = src[i + k]
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
        }
        i += 8
        continue
      }
      step(src, n, dst, &i, &o, &lastSpace, lowercase: lowercase)
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
