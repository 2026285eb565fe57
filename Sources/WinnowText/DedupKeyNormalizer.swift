import CICUShim

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
  // NFKC output of the non-ASCII path, kept to reuse its storage.
  var nfkc: [UInt8] = []
  // One piece's key (`forEachKeyPiece`), and bytes per piece (tests make it small or whole).
  var pieceKey: [UInt8] = []
  var pieceSize = 1 << 16

  public init() {}

  /// Calls `body` with the dedup key of `input` in consecutive pieces (their concatenation is
  /// the key), normalising the text a piece at a time (`TextPieces`): a long text's key is
  /// never built whole. Pieces end at whitespace, so no word spans two of them, and the key is
  /// the non-empty pieces' keys joined by single spaces.
  public mutating func forEachKeyPiece(_ input: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    var key = pieceKey
    pieceKey = []
    var any = false
    TextPieces.forEach(input, size: pieceSize) { piece, _ in
      normalize(piece, into: &key)
      guard !key.isEmpty else { return }
      if any { withUnsafeBytes(of: UInt8(0x20)) { body($0.bindMemory(to: UInt8.self)) } }
      key.withUnsafeBufferPointer(body)
      any = true
    }
    pieceKey = key
    if pieceKey.capacity > 1 << 20 { pieceKey = [] }
    if nfkc.capacity > 1 << 20 { nfkc = [] }
  }

  /// Replaces `out` with the dedup key of `input`.
  public mutating func normalize(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    if UTF8Bytes.isASCII(input) {
      // NFKC is the identity on ASCII, so lowercase and collapse in one pass.
      ASCIIDedupKey.run(input, into: &out)
      return
    }
    normalizer.normalize(input, form: .nfkc, into: &nfkc)
    // Steps 2-4 in one pass of the shim (lowercasing decodes every
    // character anyway, so whitespace comes at no extra cost there).
    nfkc.withUnsafeBufferPointer { nfkc in
      normalizer.callICU(nfkc, into: &out) { wn_to_lower_collapse($0, $1, $2, $3) }
    }
  }
}

/// Steps 2-4 of the dedup key for ASCII text, in one pass in Swift: the shim
/// call, its table lookups and the NFKC step are all unnecessary there.
enum ASCIIDedupKey {
  /// `input` must be ASCII.
  static func run(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    // The output never outgrows the input: runs shrink to one byte.
    writeOutput(&out, capacity: input.count) { dst in
      guard let src = input.baseAddress else { return 0 }
      return collapse(src, input.count, dst)
    }
  }

  /// Emits a space eagerly for the first whitespace of a run and drops the
  /// rest, then trims the one possible trailing space at the end. Starting in
  /// the "just emitted a space" state drops leading whitespace.
  static func collapse(_ src: UnsafePointer<UInt8>, _ n: Int, _ dst: UnsafeMutablePointer<UInt8>) -> Int {
    var o = 0
    var lastSpace = true
    @inline(__always) func byte(_ b: UInt8) {
      if UnicodeWhitespace.isASCIIWhitespace(b) {
        if !lastSpace {
          dst[o] = 0x20
          o += 1
          lastSpace = true
        }
      } else {
        dst[o] = ASCIICase.lower(b)
        o += 1
        lastSpace = false
      }
    }
    var i = 0
    while i + 8 <= n {
      let x = UTF8Bytes.load8(src + i)
      // Ordinary prose: every whitespace among the eight bytes is a single
      // 0x20 after a non-space, so they go out as one word, lowercased.
      let sp = UnicodeWhitespace.asciiMask(x)
      let isSpace20 = UnicodeWhitespace.zeroLanes(x ^ 0x2020_2020_2020_2020)
      let before = (sp << 8) | (lastSpace ? 0x80 : 0)
      if sp == isSpace20 && sp & before == 0 {
        // o <= i, so the 8-byte store stays inside the n-byte buffer.
        UTF8Bytes.store8(ASCIICase.lower8(x), dst + o)
        o += 8
        lastSpace = sp >> 63 != 0
      } else {
        for k in 0..<8 { byte(src[i + k]) }
      }
      i += 8
    }
    while i < n {
      byte(src[i])
      i += 1
    }
    if lastSpace && o > 0 { o -= 1 }
    return o
  }
}
