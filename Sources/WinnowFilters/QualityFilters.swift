import Glibc
import WinnowCore
import WinnowText

/// The paper-standard quality heuristics (Gopher, C4, FineWeb), for the registry.
///
/// Each stage reproduces the filter of the same name in datatrove 0.10.1 (decisions, drop
/// reasons and, for `c4_quality`, the rewritten text), with Python's string semantics
/// (`len` counts code points, `str.split`/`strip` use Python's whitespace, `str.splitlines`
/// its line boundaries) computed on UTF-8 bytes. The helpers they share are below.
public enum QualityFilters {
  public static let descriptors: [StageDescriptor] = [
    GopherRepetitionFilter.descriptor, GopherQualityFilter.descriptor, C4QualityFilter.descriptor,
    C4ParagraphFilter.descriptor, FineWebQualityFilter.descriptor,
  ]
}

// MARK: - Python string semantics on UTF-8 bytes

/// Python `str` operations on byte ranges of well-formed UTF-8 text. `p` is the base of the
/// text, ranges are byte offsets into it.
enum PyText {
  /// `s.lstrip()`.
  @inline(__always)
  static func lstrip(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
    var i = r.lowerBound
    let end = r.upperBound
    while i < end {
      let w = UnicodeWhitespace.length(p, i, end)
      if w == 0 { break }
      i &+= w
    }
    return i..<end
  }

  /// `s.rstrip()`.
  @inline(__always)
  static func rstrip(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
    var end = r.upperBound
    let start = r.lowerBound
    while end > start {
      let w = UnicodeWhitespace.length(endingAt: end, p, from: start)
      if w == 0 { break }
      end &-= w
    }
    return start..<end
  }

  /// `s.strip()`.
  @inline(__always)
  static func strip(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
    rstrip(p, lstrip(p, r))
  }

  /// `len(s)`: code points.
  @inline(__always)
  static func length(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) -> Int {
    TextCounts.scalars(UnsafeBufferPointer(start: p + r.lowerBound, count: r.count))
  }

  /// Whether `len(s) > limit`, counting code points only when the byte length allows it.
  @inline(__always)
  static func longer(_ p: UnsafePointer<UInt8>, _ r: Range<Int>, than limit: Int) -> Bool {
    if r.count <= limit { return false }
    if r.count > 4 &* limit { return true }
    return length(p, r) > limit
  }

  /// `s.startswith(prefix)` for a prefix of ASCII or UTF-8 bytes.
  @inline(__always)
  static func hasPrefix(_ p: UnsafePointer<UInt8>, _ r: Range<Int>, _ prefix: [UInt8]) -> Bool {
    guard r.count >= prefix.count else { return false }
    for k in 0..<prefix.count where p[r.lowerBound &+ k] != prefix[k] { return false }
    return true
  }

  @inline(__always)
  static func hasSuffix(_ p: UnsafePointer<UInt8>, _ r: Range<Int>, _ suffix: [UInt8]) -> Bool {
    guard r.count >= suffix.count else { return false }
    let base = r.upperBound &- suffix.count
    for k in 0..<suffix.count where p[base &+ k] != suffix[k] { return false }
    return true
  }

  /// The last code point of a non-empty range.
  @inline(__always)
  static func lastScalar(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) -> UInt32 {
    var i = r.upperBound &- 1
    while i > r.lowerBound && p[i] & 0xC0 == 0x80 { i &-= 1 }
    return UTF8Bytes.decode(UnsafeBufferPointer(start: p, count: r.upperBound), at: i).scalar.value
  }

  /// `s.splitlines()`: lines end at \n, \r, \r\n, \v, \f, \x1c, \x1d, \x1e, \x85, \u2028 and
  /// \u2029; the terminators are not part of the lines and a final terminator does not start
  /// another (empty) line, so "" gives no lines and "\n" one empty line.
  static func splitLines(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Range<Int>]) {
    out.removeAll(keepingCapacity: true)
    forEachLine(text) { out.append($0) }
  }

  /// Calls `body` with each line of `str.splitlines()`, in order, without listing them.
  @inline(__always)
  static func forEachLine(_ text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
    var lines = Lines(text)
    while let l = lines.next() { body(l) }
  }

  /// The lines of `str.splitlines()`, one at a time.
  struct Lines {
    let text: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var start = 0

    init(_ text: UnsafeBufferPointer<UInt8>) { self.text = text }

    @inline(__always)
    mutating func next() -> Range<Int>? {
      guard let p = text.baseAddress else { return nil }
      let n = text.count
      while i < n {
        // Eight bytes at a time while they hold no control byte and nothing non-ASCII.
        if i &+ 8 <= n {
          let x = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
          let high: UInt64 = 0x8080_8080_8080_8080
          let below20 = (x &- 0x2020_2020_2020_2020) & ~x & high
          if (x & high) | below20 == 0 {
            i &+= 8
            continue
          }
        }
        let b = p[i]
        var brk = 0
        if b < 0x20 {
          switch b {
          case 0x0A, 0x0B, 0x0C, 0x1C, 0x1D, 0x1E: brk = 1
          case 0x0D: brk = i &+ 1 < n && p[i &+ 1] == 0x0A ? 2 : 1
          default: break
          }
        } else if b == 0xC2 {
          if i &+ 1 < n && p[i &+ 1] == 0x85 { brk = 2 }
        } else if b == 0xE2 {
          if i &+ 2 < n && p[i &+ 1] == 0x80 && (p[i &+ 2] == 0xA8 || p[i &+ 2] == 0xA9) { brk = 3 }
        }
        if brk > 0 {
          let line = start..<i
          i &+= brk
          start = i
          return line
        }
        i &+= 1
      }
      if start < n {
        let line = start..<n
        start = n
        return line
      }
      return nil
    }
  }

  /// Occurrences of one byte, eight bytes at a time: a byte of `x ^ pattern` is zero exactly
  /// where the byte occurs, and `~((y & 0x7F…) + 0x7F… | y | 0x7F…)` sets the high bit of
  /// exactly the zero bytes of y (no carry crosses a byte), which are then counted.
  static func count(_ byte: UInt8, in text: UnsafeBufferPointer<UInt8>) -> Int {
    guard let base = text.baseAddress else { return 0 }
    let raw = UnsafeRawPointer(base)
    let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
    let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    var n = 0
    var i = 0
    let end = text.count
    while i &+ 8 <= end {
      let y = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern
      n &+= (~(((y & low7) &+ low7) | y | low7)).nonzeroBitCount
      i &+= 8
    }
    while i < end {
      if base[i] == byte { n &+= 1 }
      i &+= 1
    }
    return n
  }

  /// `text.count(pattern)`: non-overlapping occurrences, left to right.
  static func count(_ pattern: [UInt8], in text: UnsafeBufferPointer<UInt8>) -> Int {
    guard let base = text.baseAddress, !pattern.isEmpty else { return 0 }
    return pattern.withUnsafeBufferPointer { pat in
      var n = 0
      var p = UnsafeRawPointer(base)
      var left = text.count
      while left >= pat.count, let at = find(p.assumingMemoryBound(to: UInt8.self), left, pat.baseAddress!, pat.count) {
        n &+= 1
        let next = p + at + pat.count
        left -= next - p
        p = next
      }
      return n
    }
  }

  /// The offset of the first occurrence of `needle[0..<m]` in `hay[0..<n]` (m ≥ 1).
  static func find(_ hay: UnsafePointer<UInt8>, _ n: Int, _ needle: UnsafePointer<UInt8>, _ m: Int) -> Int? {
    let first = Int32(needle[0])
    var i = 0
    while n &- i >= m {
      guard let hit = memchr(hay + i, first, n &- i &- m &+ 1) else { return nil }
      let at = UnsafeRawPointer(hit) - UnsafeRawPointer(hay)
      if m == 1 || memcmp(hay + at + 1, needle + 1, m &- 1) == 0 { return at }
      i = at &+ 1
    }
    return nil
  }

  /// Python's `c.isalpha()` for one code point: general category L (Lu, Ll, Lt, Lm, Lo).
  @inline(__always)
  static func isAlpha(_ s: Unicode.Scalar) -> Bool {
    if s.value < 0x80 { return (UInt8(s.value) | 0x20) &- 0x61 < 26 }
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
  }

  /// `len(s.split())`.
  @inline(__always)
  static func whitespaceWords(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) -> Int {
    TextCounts.whitespaceWords(UnsafeBufferPointer(start: p + r.lowerBound, count: r.count))
  }

  /// Whether some token of `s.split()` is longer than `limit` code points.
  static func hasWordLonger(_ p: UnsafePointer<UInt8>, _ r: Range<Int>, than limit: Int) -> Bool {
    if r.count <= limit { return false }
    var i = r.lowerBound
    let end = r.upperBound
    while i < end {
      let w = UnicodeWhitespace.length(p, i, end)
      if w > 0 {
        i &+= w
        continue
      }
      let start = i
      while i < end && UnicodeWhitespace.length(p, i, end) == 0 { i &+= 1 }
      if longer(p, start..<i, than: limit) { return true }
    }
    return false
  }
}

// MARK: - Lowercase search

/// Searches for ASCII phrases in `s.lower()` without building the full lowercase: every
/// non-ASCII code point lowercases to non-ASCII (so it can never be part of an ASCII match)
/// except U+0130 (→ "i̇", i + U+0307) and U+212A KELVIN SIGN (→ "k") — checked with CPython
/// over all code points — which are mapped here; ASCII is lowercased; all other bytes are
/// copied as they are (bytes ≥ 0x80 match no ASCII byte).
struct LowercaseFinder {
  /// Every phrase `contains` may be asked for (lower-case ASCII).
  let phrases: [[UInt8]]
  private let longest: Int
  private var folded: [UInt8] = []
  /// For a long line, folded and searched a piece at a time: which phrases it holds.
  private var found: [Bool]
  private var isLong = false
  /// Lines longer than this are searched piece by piece rather than folded whole (tests make
  /// it small).
  var pieceSize = 1 << 16

  init(phrases: [[UInt8]]) {
    self.phrases = phrases
    longest = phrases.map(\.count).max() ?? 0
    found = [Bool](repeating: false, count: phrases.count)
  }

  mutating func load(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) {
    folded.removeAll(keepingCapacity: folded.capacity <= 1 << 18)
    guard r.count > pieceSize else {
      isLong = false
      Self.fold(p, r, into: &folded)
      return
    }
    // Pieces end at character boundaries; each is searched after the last `longest - 1`
    // folded bytes of the one before, so that a phrase across two pieces is found.
    isLong = true
    for k in found.indices { found[k] = false }
    var start = r.lowerBound
    while start < r.upperBound {
      var end = min(start + pieceSize, r.upperBound)
      while end < r.upperBound && p[end] & 0xC0 == 0x80 { end += 1 }
      let keep = min(folded.count, max(0, longest - 1))
      if keep < folded.count { folded.removeFirst(folded.count - keep) }
      Self.fold(p, start..<end, into: &folded)
      folded.withUnsafeBufferPointer { f in
        for (k, q) in phrases.enumerated() where !found[k] && f.count >= q.count {
          found[k] = q.withUnsafeBufferPointer { PyText.find(f.baseAddress!, f.count, $0.baseAddress!, $0.count) != nil }
        }
      }
      start = end
    }
  }

  /// Appends `p[r]` with ASCII letters lower-cased, and İ and K (Kelvin), whose Unicode
  /// lower case is ASCII, folded too.
  private static func fold(_ p: UnsafePointer<UInt8>, _ r: Range<Int>, into folded: inout [UInt8]) {
    folded.reserveCapacity(folded.count + r.count + 8)
    var i = r.lowerBound
    let end = r.upperBound
    while i < end {
      let b = p[i]
      if b < 0x80 {
        folded.append(b &- 0x41 < 26 ? b | 0x20 : b)
        i &+= 1
      } else if b == 0xC4 && i &+ 1 < end && p[i &+ 1] == 0xB0 {
        folded.append(UInt8(ascii: "i"))
        folded.append(0xCC)
        folded.append(0x87)
        i &+= 2
      } else if b == 0xE2 && i &+ 2 < end && p[i &+ 1] == 0x84 && p[i &+ 2] == 0xAA {
        folded.append(UInt8(ascii: "k"))
        i &+= 3
      } else {
        folded.append(b)
        i &+= 1
      }
    }
  }

  /// Whether the loaded line holds `phrases[k]`, case-insensitively.
  func contains(phraseAt k: Int) -> Bool {
    if isLong { return found[k] }
    return folded.withUnsafeBufferPointer { f in
      phrases[k].withUnsafeBufferPointer { q in
        guard f.count >= q.count else { return false }
        return PyText.find(f.baseAddress!, f.count, q.baseAddress!, q.count) != nil
      }
    }
  }
}

// MARK: - Punctuation sets

/// A set of code points: bitmaps for the BMP, a sorted list above it.
struct ScalarSet {
  private var bmp = [UInt64](repeating: 0, count: 1024)
  private var astral: [UInt32] = []

  init(_ scalars: [UInt32]) {
    for s in scalars {
      if s < 0x10000 {
        bmp[Int(s >> 6)] |= 1 << UInt64(s & 63)
      } else {
        astral.append(s)
      }
    }
    astral.sort()
  }

  @inline(__always)
  func contains(_ s: UInt32) -> Bool {
    if s < 0x10000 { return bmp[Int(s >> 6)] & (1 << UInt64(s & 63)) != 0 }
    return astral.contains(s)
  }

  /// datatrove's `TERMINAL_PUNCTUATION` (utils/text.py).
  static let terminalPunctuation = ScalarSet(terminalPunctuationScalars)

  /// datatrove's `PUNCTUATION_SET`: `PUNCTUATION` (ASCII punctuation and symbols, the control
  /// characters U+0000…U+0008, U+000B…U+001F, U+007F…U+009F, and some typographic marks)
  /// plus `TERMINAL_PUNCTUATION`.
  static let punctuation: ScalarSet = {
    var s: [UInt32] = []
    s += Array(0x00...0x08) + Array(0x0B...0x1F) + Array(0x21...0x2F) + Array(0x3A...0x40)
    s += Array(0x5B...0x60) + Array(0x7B...0x7F)
    s += punctuationExtraScalars
    s += terminalPunctuationScalars
    return ScalarSet(s)
  }()
}

/// `PUNCTUATION_SET - TERMINAL_PUNCTUATION`, non-ASCII part (generated from datatrove 0.10.1).
let punctuationExtraScalars: [UInt32] = [
  0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x91,
  0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xAB, 0xB4, 0xBB, 0x2013,
  0x2014, 0x2019, 0x201C, 0x201D, 0x201E, 0x2026, 0x2236, 0x2501, 0x25BA, 0x3001, 0x3008, 0x3009, 0x300A,
  0x300B, 0x300C, 0x300D, 0x3010, 0x3011, 0xFF05, 0xFF08, 0xFF09, 0xFF0C, 0xFF11, 0xFF1A, 0xFF1B, 0xFF5E,
]

/// datatrove 0.10.1 `TERMINAL_PUNCTUATION` (159 code points).
let terminalPunctuationScalars: [UInt32] = [
  0x21, 0x2E, 0x3F, 0x589, 0x61D, 0x61E, 0x61F, 0x6D4, 0x700, 0x701, 0x702, 0x7F9, 0x837, 0x839, 0x83D,
  0x83E, 0x964, 0x965, 0x104A, 0x104B, 0x1362, 0x1367, 0x1368, 0x166E, 0x1735, 0x1736, 0x17D4, 0x17D5,
  0x17D6, 0x17D9, 0x17DA, 0x1803, 0x1809, 0x1944, 0x1945, 0x1AA8, 0x1AA9, 0x1AAA, 0x1AAB, 0x1B5A, 0x1B5B,
  0x1B5E, 0x1B5F, 0x1B7D, 0x1B7E, 0x1C3B, 0x1C3C, 0x1C7E, 0x1C7F, 0x203C, 0x203D, 0x2047, 0x2048, 0x2049,
  0x2E2E, 0x2E3C, 0x2E53, 0x2E54, 0x3002, 0xA4FF, 0xA60E, 0xA60F, 0xA6F3, 0xA6F7, 0xA876, 0xA877, 0xA8CE,
  0xA8CF, 0xA92F, 0xA9C8, 0xA9C9, 0xAA5D, 0xAA5E, 0xAA5F, 0xAAF0, 0xAAF1, 0xABEB, 0xFE52, 0xFE56, 0xFE57,
  0xFF01, 0xFF0E, 0xFF1F, 0xFF61, 0x10A56, 0x10A57, 0x10F55, 0x10F56, 0x10F57, 0x10F58, 0x10F59, 0x10F86,
  0x10F87, 0x10F88, 0x10F89, 0x11047, 0x11048, 0x110BE, 0x110BF, 0x110C0, 0x110C1, 0x11141, 0x11142,
  0x11143, 0x111C5, 0x111C6, 0x111CD, 0x111DE, 0x111DF, 0x11238, 0x11239, 0x1123B, 0x1123C, 0x112A9,
  0x1144B, 0x1144C, 0x115C2, 0x115C3, 0x115C9, 0x115CA, 0x115CB, 0x115CC, 0x115CD, 0x115CE, 0x115CF,
  0x115D0, 0x115D1, 0x115D2, 0x115D3, 0x115D4, 0x115D5, 0x115D6, 0x115D7, 0x11641, 0x11642, 0x1173C,
  0x1173D, 0x1173E, 0x11944, 0x11946, 0x11A42, 0x11A43, 0x11A9B, 0x11A9C, 0x11C41, 0x11C42, 0x11EF7,
  0x11EF8, 0x11F43, 0x11F44, 0x16A6E, 0x16A6F, 0x16AF5, 0x16B37, 0x16B38, 0x16B44, 0x16E98, 0x1BC9F,
  0x1DA88,
]

// MARK: - Duplicate elements

/// datatrove's `find_duplicates`: over a sequence of strings (byte ranges of one text), how
/// many elements equal an earlier one, and their total length in code points. Elements are
/// hashed (XXH3) into an open-addressing table of their byte ranges — 8 bytes a slot (start and
/// length in 32 bits each) for texts under 4 GiB, 16 beyond — and compared byte for byte when
/// the lengths match. The table is reused, and given back after an outsized text.
struct DuplicateCounter {
  /// (start + 1) << 32 | length; 0 for an empty slot.
  private var compact: [UInt64] = []
  /// start + 1 and length, two per slot, for texts of 4 GiB or more.
  private var wide: [Int] = []
  private var isWide = false
  private var mask = 0
  private var shift: UInt64 = 64
  private(set) var added = 0
  private(set) var duplicates = 0
  private(set) var duplicateChars = 0

  /// Prepares for up to `elements` insertions from a text of `textLength` bytes.
  mutating func reset(elements: Int, textLength: Int) {
    var cap = 16
    var bits: UInt64 = 4
    while cap < 2 &* elements {
      cap &<<= 1
      bits &+= 1
    }
    isWide = textLength >= Int(UInt32.max)
    if isWide {
      compact = []
      if wide.count != 2 * cap { wide = []; wide = [Int](repeating: 0, count: 2 * cap) } else {
        wide.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
      }
    } else {
      wide = []
      if compact.count < cap || compact.count > max(4 * cap, 1 << 20) {
        compact = []
        compact = [UInt64](repeating: 0, count: cap)
      } else {
        compact.withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: cap) }
      }
    }
    mask = cap &- 1
    shift = 64 &- bits
    added = 0
    duplicates = 0
    duplicateChars = 0
  }

  /// Adds one element; counts it when an equal element was added before.
  mutating func add(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) {
    let n = r.count
    let h = XXH3.hash64(UnsafeBufferPointer(start: p + r.lowerBound, count: n))
    var s = Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> shift)
    let m = mask
    added &+= 1
    let seen: Bool
    if isWide {
      seen = wide.withUnsafeMutableBufferPointer { t -> Bool in
        while true {
          let start = t[2 &* s]
          if start == 0 {
            t[2 &* s] = r.lowerBound &+ 1
            t[2 &* s &+ 1] = n
            return false
          }
          if t[2 &* s &+ 1] == n && memcmp(p + (start &- 1), p + r.lowerBound, n) == 0 { return true }
          s = (s &+ 1) & m
        }
      }
    } else {
      let entry = UInt64(r.lowerBound &+ 1) << 32 | UInt64(n)
      seen = compact.withUnsafeMutableBufferPointer { t -> Bool in
        while true {
          let slot = t[s]
          if slot == 0 {
            t[s] = entry
            return false
          }
          if slot & 0xFFFF_FFFF == UInt64(n) && memcmp(p + (Int(slot >> 32) &- 1), p + r.lowerBound, n) == 0 { return true }
          s = (s &+ 1) & m
        }
      }
    }
    if seen {
      duplicates &+= 1
      duplicateChars &+= PyText.length(p, r)
    }
  }
}

// MARK: - Parameters

extension StageParameters {
  /// A double parameter that datatrove disables with None or 0 (`if self.x and …`): nil when 0.
  func qualityThreshold(_ name: String) -> Double? {
    guard let v = double(name), v != 0 else { return nil }
    return v
  }

  /// The `language` parameter, checked.
  func tokenizerLanguage(stage: String) throws(WinnowError) -> String {
    let lang = string("language") ?? "en"
    guard !lang.isEmpty, lang.allSatisfy({ $0.isLetter || $0 == "_" || $0 == "-" }) else {
      throw .usage("stage '\(stage)': language must be a language code such as 'en', got '\(lang)'")
    }
    return lang
  }
}
