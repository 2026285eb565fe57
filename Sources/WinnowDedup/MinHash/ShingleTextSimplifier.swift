import WinnowText

/// The text normalisation MinHash shingles are taken from: datatrove 0.10.1's
/// `simplify_text` at its defaults, so near-duplicates that differ only in case, digits,
/// punctuation, spacing or accents share their shingles. In datatrove's order:
///
/// 1. lower case (full Unicode, Python's `str.lower()`);
/// 2. every number — a run of decimal digits of any script, with at most one decimal
///    separator (`. , ، ٫ ⎖ ⎗ ⎘`) followed by more digits — becomes `0`;
/// 3. punctuation (datatrove's list: ASCII punctuation, common CJK and typographic marks,
///    C0/C1 control characters) becomes a space;
/// 4. the text is stripped and whitespace runs (Python's `\s`) become one space;
/// 5. accents go: canonical decomposition (NFD), then every nonspacing mark (Mn) is removed;
///    the result is stripped again.
///
/// Steps 2–4 are one pass over the bytes; ASCII text never reaches ICU. A long text goes
/// through in pieces (`TextPieces`, cut after whitespace, where every step gives the same
/// result piece by piece), so that only the simplified text itself is held whole.
public struct ShingleTextSimplifier {
  var normalizer = TextNormalizer()
  var lowered: [UInt8] = []
  var decomposed: [UInt8] = []
  /// The simplified text of the last call.
  public private(set) var output: [UInt8] = []
  /// Steps 2-4 of one piece, written by `simplifyPiece`, only ever grown (no zero-filling per
  /// piece).
  var scratch: [UInt8] = []
  /// Bytes per piece (`TextPieces`); tests make it small or whole.
  var pieceSize = 1 << 16

  // Tables held by the instance: a `static let` read in the inner loop costs a `swift_once`
  // check per character.
  let classes = ShingleTextSimplifier.asciiClass
  let tables = ScalarCategoryTables.shared

  public init() {}

  /// Byte classes for ASCII: 0 keep, 1 separator (punctuation, control, whitespace), 2 digit.
  static let asciiClass: [UInt8] = (0..<128).map { b -> UInt8 in
    if b >= 0x30 && b <= 0x39 { return 2 }
    if b < 0x20 || b == 0x7F || b == 0x20 { return 1 }
    let punct = Array("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".utf8)
    return punct.contains(UInt8(b)) ? 1 : 0
  }

  /// Non-ASCII scalars of datatrove's punctuation list (besides C1 controls).
  static let punctuation: Set<UInt32> = [
    0xAB, 0xB4, 0xBB, 0x2013, 0x2014, 0x2019, 0x201C, 0x201D, 0x201E, 0x2026, 0x2236, 0x2501, 0x25BA,
    0x3001, 0x3002, 0x3008, 0x3009, 0x300A, 0x300B, 0x300C, 0x300D, 0x3010, 0x3011, 0xFF01, 0xFF05,
    0xFF08, 0xFF09, 0xFF0C, 0xFF0E, 0xFF11, 0xFF1A, 0xFF1B, 0xFF1F, 0xFF5E,
  ]

  /// Scalars that may join two digit runs into one number.
  @inline(__always)
  static func isDecimalSeparator(_ v: UInt32) -> Bool {
    v == 0x2E || v == 0x2C || v == 0x60C || v == 0x66B || (v >= 0x2396 && v <= 0x2398)
  }

  @inline(__always)
  func isDigit(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if v < 0x80 { return v &- 0x30 < 10 }
    return tables.isDecimalDigit(s)
  }

  /// Simplifies `text` into `output`.
  public mutating func simplify(_ text: UnsafeBufferPointer<UInt8>) {
    output.removeAll(keepingCapacity: output.capacity <= 4 * max(text.count, 1 << 20))
    // Lower-casing may lengthen a little: room reserved up front (not touched until used), so
    // that the output is not copied as it grows.
    output.reserveCapacity(text.count + text.count / 8 + 64)
    var pendingSpace = false
    TextPieces.forEach(text, size: pieceSize) { piece, _ in simplifyPiece(piece, pendingSpace: &pendingSpace) }
    // Removing marks can leave a space at either end (a mark standing alone after a space).
    var end = output.count
    while end > 0 && output[end - 1] == 0x20 { end -= 1 }
    var start = 0
    while start < end && output[start] == 0x20 { start += 1 }
    if end < output.count { output.removeLast(output.count - end) }
    if start > 0 { output.removeFirst(start) }
    if lowered.capacity > 1 << 20 { lowered = [] }
    if decomposed.capacity > 1 << 20 { decomposed = [] }
    if scratch.capacity > 1 << 20 { scratch = [] }
  }

  /// Steps 1-5 for one piece, appended to `output`. `pendingSpace`: a separator was seen after
  /// the last character written (written before the next one, never at the end).
  mutating func simplifyPiece(_ text: UnsafeBufferPointer<UInt8>, pendingSpace: inout Bool) {
    normalizer.lowercase(text, into: &lowered)
    // Output is never longer than three bytes per input byte (an ill-formed byte becomes
    // U+FFFD), plus the pending space; everything else shrinks or stays.
    let capacity = lowered.count * 3 + 16
    if scratch.count < capacity { scratch = [UInt8](repeating: 0, count: capacity + capacity / 2) }
    // Whether accents may need stripping: some scalar kept is not inert under NFD.
    var decomposable = false
    var w = 0
    // Whether anything was written before this piece (a separator then counts).
    let started = !output.isEmpty
    let classes = self.classes
    let tables = self.tables
    // Moved out while written, so that the helper methods may read `self`.
    var out = scratch
    scratch = []
    lowered.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dstBuffer in
        let dst = dstBuffer.baseAddress!
        let n = src.count
        var i = 0
        @inline(__always) func emitSeparator() { if started || w > 0 { pendingSpace = true } }
        @inline(__always) func beforeEmit() {
          if pendingSpace {
            dst[w] = 0x20
            w += 1
            pendingSpace = false
          }
        }
        while i < n {
          let b = src[i]
          if b < 0x80 {
            switch classes[Int(b)] {
            case 0:
              beforeEmit()
              // A run of kept ASCII bytes is copied at once.
              var j = i + 1
              while j < n && src[j] < 0x80 && classes[Int(src[j])] == 0 { j += 1 }
              (dst + w).update(from: src.baseAddress! + i, count: j - i)
              w += j - i
              i = j
            case 1:
              emitSeparator()
              i += 1
            default:
              i = number(src, from: i)
              beforeEmit()
              dst[w] = 0x30
              w += 1
            }
            continue
          }
          let (s, len) = UTF8Bytes.decode(src, at: i)
          let v = s.value
          if isDigit(s) {
            i = number(src, from: i)
            beforeEmit()
            dst[w] = 0x30
            w += 1
          } else if (v >= 0x80 && v < 0xA0) || tables.isPunctuation(v) || UnicodeWhitespace.contains(s) {
            emitSeparator()
            i += len
          } else {
            beforeEmit()
            if !decomposable && !tables.isInert(s) { decomposable = true }
            if v == 0xFFFD && !(len == 3 && src[i] == 0xEF) {
              dst[w] = 0xEF
              dst[w + 1] = 0xBF
              dst[w + 2] = 0xBD
              w += 3
            } else {
              (dst + w).update(from: src.baseAddress! + i, count: len)
              w += len
            }
            i += len
          }
        }
      }
    }
    if decomposable {
      out.withUnsafeBufferPointer { stripMarks(UnsafeBufferPointer(rebasing: $0[0..<w])) }
    } else {
      output.append(contentsOf: out[0..<w])
    }
    scratch = out
  }

  /// The end of the number starting at `i`: digits, then at most one separator followed by
  /// digits.
  func number(_ src: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
    let n = src.count
    var i = skipDigits(src, from: start)
    if i < n {
      let (s, len) = UTF8Bytes.decode(src, at: i)
      if Self.isDecimalSeparator(s.value), i + len < n {
        let (d, _) = UTF8Bytes.decode(src, at: i + len)
        if isDigit(d) { i = skipDigits(src, from: i + len) }
      }
    }
    return i
  }

  func skipDigits(_ src: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
    var i = start
    while i < src.count {
      if src[i] < 0x80 {
        guard src[i] &- 0x30 < 10 else { break }
        i += 1
        continue
      }
      let (s, len) = UTF8Bytes.decode(src, at: i)
      guard isDigit(s) else { break }
      i += len
    }
    return i
  }

  /// NFD, then every nonspacing mark removed, appended to `output` (the ends are stripped
  /// once the whole text is done).
  mutating func stripMarks(_ piece: UnsafeBufferPointer<UInt8>) {
    normalizer.normalize(piece, form: .nfd, into: &decomposed)
    decomposed.withUnsafeBufferPointer { src in
      var i = 0
      while i < src.count {
        if src[i] < 0x80 {
          output.append(src[i])
          i += 1
          continue
        }
        let (s, len) = UTF8Bytes.decode(src, at: i)
        if !tables.isNonspacingMark(s) {
          output.append(contentsOf: UnsafeBufferPointer(rebasing: src[i..<(i + len)]))
        }
        i += len
      }
    }
  }
}

/// Bit tables over the Basic Multilingual Plane for the character classes the simplifier asks
/// about per character (decimal digit, nonspacing mark, datatrove punctuation); scalars above
/// it ask the standard library.
final class ScalarCategoryTables: Sendable {
  static let shared = ScalarCategoryTables()
  let digits: [UInt64]
  let marks: [UInt64]
  let punctuation: [UInt64]
  /// Scalars NFD leaves alone that are not nonspacing marks: text made only of these needs
  /// no accent stripping.
  let inert: [UInt64]

  init() {
    var d = [UInt64](repeating: 0, count: 1024)
    var m = [UInt64](repeating: 0, count: 1024)
    var p = [UInt64](repeating: 0, count: 1024)
    var inert = [UInt64](repeating: 0, count: 1024)
    for v in 0..<0x10000 {
      guard let s = Unicode.Scalar(UInt32(v)) else { continue }
      switch s.properties.generalCategory {
      case .decimalNumber: d[v >> 6] |= 1 << (v & 63)
      case .nonspacingMark: m[v >> 6] |= 1 << (v & 63)
      default: break
      }
      if ShingleTextSimplifier.punctuation.contains(UInt32(v)) { p[v >> 6] |= 1 << (v & 63) }
      if s.properties.generalCategory != .nonspacingMark && TextNormalizer.isNFDInert(s) { inert[v >> 6] |= 1 << (v & 63) }
    }
    self.inert = inert
    digits = d
    marks = m
    punctuation = p
  }

  @inline(__always)
  func isDecimalDigit(_ s: Unicode.Scalar) -> Bool {
    let v = Int(s.value)
    if v < 0x10000 { return digits[v >> 6] & (1 << (v & 63)) != 0 }
    return s.properties.generalCategory == .decimalNumber
  }

  @inline(__always)
  func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
    let v = Int(s.value)
    if v < 0x10000 { return marks[v >> 6] & (1 << (v & 63)) != 0 }
    return s.properties.generalCategory == .nonspacingMark
  }

  @inline(__always)
  func isInert(_ s: Unicode.Scalar) -> Bool {
    let v = Int(s.value)
    if v < 0x10000 { return inert[v >> 6] & (1 << (v & 63)) != 0 }
    return s.properties.generalCategory != .nonspacingMark && TextNormalizer.isNFDInert(s)
  }

  @inline(__always)
  func isPunctuation(_ v: UInt32) -> Bool {
    v < 0x10000 && punctuation[Int(v >> 6)] & (1 << (UInt64(v) & 63)) != 0
  }
}
