import Glibc
import WinnowCore
import WinnowText

/// `gopher_repetition`: the repetition rules of Gopher (Rae et al. 2021, Table A1), as
/// datatrove 0.10.1's `GopherRepetitionFilter` implements them. In rule order:
///
/// 1. empty text → `empty`
/// 2. paragraphs (`re.split(r"\n{2,}", text.strip())`) equal to an earlier one, over all
///    paragraphs > `dup_para_frac` → `dup_para_frac`; their characters over the text's
///    characters > `dup_para_char_frac` → `dup_para_char_frac`
/// 3. the same for lines (`re.split("\n+", text)`, empty first/last pieces included):
///    `dup_line_frac`, `dup_line_char_frac`
/// 4. for each `n:fraction` of `top_n_grams`: the most frequent word n-gram (ties: the first
///    to appear), its length as `" ".join(words)` times its count, over the text's
///    characters > fraction → `top_<n>_gram`
/// 5. for each `n:fraction` of `dup_n_grams`: datatrove's `find_all_duplicate` — scanning
///    left to right, an n-gram whose concatenation (`"".join`, no separator) was seen before
///    adds its length and the scan jumps n words, otherwise it is remembered and the scan
///    moves one word — over the text's characters > fraction → `duplicated_<n>_n_grams`
///
/// Lengths are code points. The four paragraph/line fractions are disabled by 0 (datatrove:
/// None or 0); an empty n-gram list disables those rules.
///
/// n-grams are never built: words get a polynomial hash (mod 2⁶¹−1) whose prefix sums give the
/// hash of any run of words, with or without the joining space, in O(1); a hash match is
/// confirmed byte for byte, so the result is exact. Tables are reused across documents.
public final class GopherRepetitionFilter: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "gopher_repetition",
    summary: "Gopher repetition rules (Rae et al. 2021, Table A1): duplicate lines, paragraphs and n-grams",
    parameters: [
      ParameterSpec(
        "dup_line_frac", .double(min: 0, max: nil), default: .double(0.3),
        help: "largest fraction of lines that repeat an earlier line (0 disables) → dup_line_frac"),
      ParameterSpec(
        "dup_para_frac", .double(min: 0, max: nil), default: .double(0.3),
        help: "largest fraction of paragraphs that repeat an earlier paragraph (0 disables) → dup_para_frac"),
      ParameterSpec(
        "dup_line_char_frac", .double(min: 0, max: nil), default: .double(0.2),
        help: "largest fraction of the characters in repeated lines (0 disables) → dup_line_char_frac"),
      ParameterSpec(
        "dup_para_char_frac", .double(min: 0, max: nil), default: .double(0.2),
        help: "largest fraction of the characters in repeated paragraphs (0 disables) → dup_para_char_frac"),
      ParameterSpec(
        "top_n_grams", .scalarList, default: .list(["2:0.2", "3:0.18", "4:0.16"]),
        help:
          "'n:fraction' items: largest fraction of characters in the most frequent word n-gram (empty list disables) → top_<n>_gram"
      ),
      ParameterSpec(
        "dup_n_grams", .scalarList,
        default: .list(["5:0.15", "6:0.14", "7:0.13", "8:0.12", "9:0.11", "10:0.1"]),
        help:
          "'n:fraction' items: largest fraction of characters in repeated word n-grams (empty list disables) → duplicated_<n>_n_grams"
      ),
      ParameterSpec(
        "language", .string, default: .string("en"), help: "language of the word tokenizer (datatrove's split_into_words)"),
    ],
    make: { (p, _) throws(WinnowError) in try GopherRepetitionFilter(p) })

  struct NGramRule {
    var n: Int
    var fraction: Double
    var reason: String
  }

  let dupLineFrac: Double?, dupParaFrac: Double?
  let dupLineCharFrac: Double?, dupParaCharFrac: Double?
  let topNGrams: [NGramRule]
  let dupNGrams: [NGramRule]
  var tokenizer: WordTokenizer
  var pieces: [Range<Int>] = []
  var duplicates = DuplicateCounter()
  var ngrams = NGramIndex()
  /// (n, count of the most frequent n-gram) for the top n-gram rules counted in this document.
  var counted: [(n: Int, count: Int)] = []

  init(_ p: StageParameters) throws(WinnowError) {
    dupLineFrac = p.qualityThreshold("dup_line_frac")
    dupParaFrac = p.qualityThreshold("dup_para_frac")
    dupLineCharFrac = p.qualityThreshold("dup_line_char_frac")
    dupParaCharFrac = p.qualityThreshold("dup_para_char_frac")
    topNGrams = try Self.rules(p, "top_n_grams") { "top_\($0)_gram" }
    dupNGrams = try Self.rules(p, "dup_n_grams") { "duplicated_\($0)_n_grams" }
    tokenizer = WordTokenizer(language: try p.tokenizerLanguage(stage: "gopher_repetition"))
  }

  /// Parses `n:fraction` items; empty items are ignored, so `--top-n-grams ''` gives no rules.
  static func rules(_ p: StageParameters, _ name: String, reason: (Int) -> String) throws(WinnowError) -> [NGramRule] {
    var out: [NGramRule] = []
    for raw in p.list(name) ?? [] {
      let item = raw.filter { $0 != " " }
      if item.isEmpty { continue }
      let parts = item.split(separator: ":", omittingEmptySubsequences: false)
      guard parts.count == 2, let n = Int(parts[0]), n >= 1, n <= 1_000_000,
        let f = Double(parts[1]), f.isFinite, f >= 0
      else {
        throw .usage(
          "stage 'gopher_repetition': \(name) item '\(raw)' must be 'n:fraction' with n a whole number ≥ 1 and fraction a number ≥ 0 (for example '2:0.2')"
        )
      }
      out.append(NGramRule(n: n, fraction: f, reason: reason(n)))
    }
    return out
  }

  public func process(_ doc: Document) -> Verdict {
    let text = doc.text
    guard let base = text.baseAddress, text.count > 0 else { return .drop("empty") }
    let all = 0..<text.count
    let chars = Double(TextCounts.scalars(text))

    if dupParaFrac != nil || dupParaCharFrac != nil {
      splitParagraphs(base, PyText.strip(base, all))
      duplicates.reset(elements: pieces.count)
      for r in pieces { duplicates.add(base, r) }
      if let dupParaFrac, Double(duplicates.duplicates) / Double(pieces.count) > dupParaFrac {
        return .drop("dup_para_frac")
      }
      if let dupParaCharFrac, Double(duplicates.duplicateChars) / chars > dupParaCharFrac {
        return .drop("dup_para_char_frac")
      }
    }

    if dupLineFrac != nil || dupLineCharFrac != nil {
      splitNewlineRuns(base, all)
      duplicates.reset(elements: pieces.count)
      for r in pieces { duplicates.add(base, r) }
      if let dupLineFrac, Double(duplicates.duplicates) / Double(pieces.count) > dupLineFrac {
        return .drop("dup_line_frac")
      }
      if let dupLineCharFrac, Double(duplicates.duplicateChars) / chars > dupLineCharFrac {
        return .drop("dup_line_char_frac")
      }
    }

    if topNGrams.isEmpty && dupNGrams.isEmpty { return .keep }
    // The tokens are kept on the document until its text changes, for the next stage.
    let words = doc.words(&tokenizer)
    return words.withUnsafeBufferPointer { ws in
      ngrams.load(base, ws)
      // The most frequent n-gram occurs at most as often as the most frequent shorter one (its
      // prefix occurs wherever it does), so once a smaller n was counted, an n whose longest
      // n-gram times that count stays under the limit cannot fail and is not counted. (Exact as
      // long as no word contains a space, which ngrams.load checks.)
      counted.removeAll(keepingCapacity: true)
      for rule in topNGrams where ws.count >= rule.n {
        if !ngrams.wordsHaveSpaces,
          let bound = counted.lazy.filter({ $0.n < rule.n }).map(\.count).min(),
          Double(ngrams.longestNGram(rule.n) * bound) / chars <= rule.fraction
        {
          continue
        }
        let (length, count) = ngrams.topDuplicate(base, ws, rule.n)
        if Double(length * count) / chars > rule.fraction { return .drop(rule.reason) }
        counted.append((rule.n, count))
      }
      for rule in dupNGrams {
        // The repeated length only grows, so the scan stops as soon as it is over the limit.
        if ngrams.allDuplicatesExceed(base, ws, rule.n, limit: rule.fraction, chars: chars) {
          return .drop(rule.reason)
        }
      }
      return .keep
    }
  }

  /// `re.split(r"\n{2,}", s)` for `s = text[r]`.
  func splitParagraphs(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) {
    pieces.removeAll(keepingCapacity: true)
    var start = r.lowerBound
    var i = r.lowerBound
    let end = r.upperBound
    while i < end {
      guard let hit = memchr(p + i, 0x0A, end - i) else { break }
      let at = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - p
      var j = at + 1
      while j < end && p[j] == 0x0A { j += 1 }
      if j - at >= 2 {
        pieces.append(start..<at)
        start = j
      }
      i = j
    }
    pieces.append(start..<end)
  }

  /// `re.split("\n+", s)` for `s = text[r]`.
  func splitNewlineRuns(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) {
    pieces.removeAll(keepingCapacity: true)
    var start = r.lowerBound
    var i = r.lowerBound
    let end = r.upperBound
    while i < end {
      guard let hit = memchr(p + i, 0x0A, end - i) else { break }
      let at = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - p
      var j = at + 1
      while j < end && p[j] == 0x0A { j += 1 }
      pieces.append(start..<at)
      start = j
      i = j
    }
    pieces.append(start..<end)
  }
}

// MARK: - n-gram hashing

/// Arithmetic modulo the Mersenne prime 2⁶¹−1.
enum M61 {
  static let p: UInt64 = (1 << 61) - 1
  /// The polynomial base (any value in [2, p−2] works; a match is always confirmed by bytes).
  static let base: UInt64 = 0x1A2B_3C4D_5E6F_7081 % p

  @inline(__always)
  static func mul(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (hi, lo) = a.multipliedFullWidth(by: b)
    // hi·2⁶⁴ + lo ≡ 8·hi + (lo >> 61) + (lo & p); a, b < 2⁶¹ so hi < 2⁵⁸.
    var r = (lo & p) &+ (lo >> 61) &+ (hi << 3)
    r = (r & p) &+ (r >> 61)
    return r >= p ? r &- p : r
  }

  @inline(__always)
  static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let r = a &+ b
    return r >= p ? r &- p : r
  }

  @inline(__always)
  static func sub(_ a: UInt64, _ b: UInt64) -> UInt64 {
    a >= b ? a &- b : a &+ p &- b
  }

  static func pow(_ x: UInt64, _ e: Int) -> UInt64 {
    var result: UInt64 = 1
    var b = x
    var e = e
    while e > 0 {
      if e & 1 == 1 { result = mul(result, b) }
      b = mul(b, b)
      e >>= 1
    }
    return result
  }

  /// base^k for k < powers.count.
  static let powers: [UInt64] = {
    var out = [UInt64](repeating: 1, count: 4097)
    for k in 1..<out.count { out[k] = mul(out[k - 1], base) }
    return out
  }()
}

/// The words of one document, indexed for n-gram counting: per word boundary k, the hash of
/// the concatenation of words 0..<k without separators (`qT`) and with a space after each word
/// (`qS`), the byte length of the concatenation without separators (`off`) and its length in
/// code points (`cp`). The hash of words i..<j is then `q[j] − q[i]·base^(bytes between)`.
/// Every method takes the text and the words it was loaded with.
struct NGramIndex {
  private var qT: [UInt64] = []
  private var qS: [UInt64] = []
  private var off: [Int] = []
  private var cp: [Int] = []
  private var table = NGramTable()
  private let powers = M61.powers

  mutating func load(_ p: UnsafePointer<UInt8>, _ ws: UnsafeBufferPointer<Range<Int>>) {
    let w = ws.count
    wordCount = w
    var spaces = false
    // Grown to the largest document so far; given back after an outsized one.
    if qT.count < w + 1 || (qT.count > 1 << 20 && qT.count > 8 * (w + 1)) {
      let cap = qT.count < w + 1 ? max(w + 1, qT.count * 2) : 2 * (w + 1)
      qT = [UInt64](repeating: 0, count: cap)
      qS = [UInt64](repeating: 0, count: cap)
      off = [Int](repeating: 0, count: cap)
      cp = [Int](repeating: 0, count: cap)
    }
    let pw = powers
    qT.withUnsafeMutableBufferPointer { qT in
      qS.withUnsafeMutableBufferPointer { qS in
        off.withUnsafeMutableBufferPointer { off in
          cp.withUnsafeMutableBufferPointer { cp in
            pw.withUnsafeBufferPointer { pw in
              qT[0] = 0
              qS[0] = 0
              off[0] = 0
              cp[0] = 0
              var k = 0
              for r in ws {
                var h: UInt64 = 0
                var chars = 0
                var i = r.lowerBound
                while i < r.upperBound {
                  let b = p[i]
                  h = M61.add(M61.mul(h, M61.base), UInt64(b) &+ 1)
                  if b & 0xC0 != 0x80 { chars &+= 1 }
                  if b == 0x20 { spaces = true }
                  i &+= 1
                }
                let len = r.count
                let bp = len < pw.count ? pw[len] : M61.pow(M61.base, len)
                qT[k &+ 1] = M61.add(M61.mul(qT[k], bp), h)
                qS[k &+ 1] = M61.add(M61.mul(M61.add(M61.mul(qS[k], bp), h), M61.base), 0x21)
                off[k &+ 1] = off[k] &+ len
                cp[k &+ 1] = cp[k] &+ chars
                k &+= 1
              }
            }
          }
        }
      }
    }
    wordsHaveSpaces = spaces
  }

  @inline(__always)
  private static func power(_ pw: UnsafeBufferPointer<UInt64>, _ k: Int) -> UInt64 {
    k < pw.count ? pw[k] : M61.pow(M61.base, k)
  }

  /// Whether a word contains a space (then `" ".join` equality is not word-by-word equality).
  private(set) var wordsHaveSpaces = false

  /// The largest `len(" ".join(words[i:i+n]))`.
  func longestNGram(_ n: Int) -> Int {
    cp.withUnsafeBufferPointer { cp in
      var best = 0
      for i in 0...(wordCount - n) where cp[i &+ n] &- cp[i] > best { best = cp[i &+ n] &- cp[i] }
      return best + n - 1
    }
  }

  private var wordCount = 0

  /// datatrove's `find_top_duplicate(get_n_grams(words, n))`: the most frequent n-gram (as
  /// `" ".join`; ties go to the first to appear), its length in code points and its count (the
  /// function returns their product). Needs at least n words.
  mutating func topDuplicate(_ p: UnsafePointer<UInt8>, _ ws: UnsafeBufferPointer<Range<Int>>, _ n: Int) -> (
    length: Int, count: Int
  ) {
    let count = ws.count - n + 1
    table.reset(entries: count, counting: true)
    var bestCount = 0
    var bestIndex = 0
    powers.withUnsafeBufferPointer { pw in
      qS.withUnsafeBufferPointer { q in
        off.withUnsafeBufferPointer { off in
          for i in 0..<count {
            let span = off[i &+ n] &- off[i] &+ n
            let h = M61.sub(q[i &+ n], M61.mul(q[i], Self.power(pw, span)))
            let (c, first) = table.count(h, index: i) { j in Self.equal(p, ws, j, i, n, separated: true) }
            if c > bestCount || (c == bestCount && first < bestIndex) {
              bestCount = c
              bestIndex = first
            }
          }
        }
      }
    }
    return (cp[bestIndex + n] - cp[bestIndex] + (n - 1), bestCount)
  }

  /// Whether datatrove's `find_all_duplicate(words, n) / chars > limit`.
  mutating func allDuplicatesExceed(
    _ p: UnsafePointer<UInt8>, _ ws: UnsafeBufferPointer<Range<Int>>, _ n: Int, limit: Double, chars: Double
  ) -> Bool {
    guard ws.count >= n else { return 0 / chars > limit }
    table.reset(entries: ws.count - n + 1)
    let last = ws.count - n
    var repeated = 0
    var idx = 0
    return powers.withUnsafeBufferPointer { pw in
      qT.withUnsafeBufferPointer { q in
        off.withUnsafeBufferPointer { off in
          cp.withUnsafeBufferPointer { cp in
            while idx <= last {
              let span = off[idx &+ n] &- off[idx]
              let h = M61.sub(q[idx &+ n], M61.mul(q[idx], Self.power(pw, span)))
              let i = idx
              if table.insertIfAbsent(h, index: idx, equal: { j in Self.equal(p, ws, j, i, n, separated: false) }) {
                repeated &+= cp[idx &+ n] &- cp[idx]
                if Double(repeated) / chars > limit { return true }
                idx &+= n
              } else {
                idx &+= 1
              }
            }
            return Double(repeated) / chars > limit
          }
        }
      }
    }
  }

  /// Whether the n-grams at words i and j are equal as `" ".join` (`separated`) or `"".join`.
  static func equal(
    _ p: UnsafePointer<UInt8>, _ ws: UnsafeBufferPointer<Range<Int>>, _ i: Int, _ j: Int, _ n: Int, separated: Bool
  ) -> Bool {
    // Same word lengths: the joined strings are equal exactly when every word is.
    var sameLengths = true
    var difference = 0
    for k in 0..<n {
      let a = ws[i &+ k].count
      let b = ws[j &+ k].count
      difference &+= a &- b
      if a != b { sameLengths = false }
    }
    if sameLengths {
      for k in 0..<n {
        let a = ws[i &+ k]
        if memcmp(p + a.lowerBound, p + ws[j &+ k].lowerBound, a.count) != 0 { return false }
      }
      return true
    }
    if difference != 0 { return false }
    // Other boundaries, same total length: compare the joined strings byte by byte.
    var a = JoinedCursor(ws: ws, word: i, end: i + n, separated: separated)
    var b = JoinedCursor(ws: ws, word: j, end: j + n, separated: separated)
    while true {
      let x = a.next(p)
      if x != b.next(p) { return false }
      if x < 0 { return true }
    }
  }
}

/// Reads the words ws[word..<end] as one string, joined by spaces or not; -1 at the end.
private struct JoinedCursor {
  let ws: UnsafeBufferPointer<Range<Int>>
  var word: Int
  let end: Int
  let separated: Bool
  var pos: Int
  var sepPending = false

  init(ws: UnsafeBufferPointer<Range<Int>>, word: Int, end: Int, separated: Bool) {
    self.ws = ws
    self.word = word
    self.end = end
    self.separated = separated
    pos = ws[word].lowerBound
  }

  mutating func next(_ p: UnsafePointer<UInt8>) -> Int {
    while true {
      if sepPending {
        sepPending = false
        return 0x20
      }
      if pos < ws[word].upperBound {
        pos += 1
        return Int(p[pos - 1])
      }
      word += 1
      if word >= end { return -1 }
      pos = ws[word].lowerBound
      if separated {
        sepPending = true
      }
    }
  }
}

/// Open addressing over 8-byte slots: a 32-bit fingerprint of the n-gram hash and the word
/// index (+1, so 0 is empty) where the n-gram first appeared; candidates are confirmed by the
/// caller's byte comparison. Counts, for the top n-gram, are kept per first index. Sized per
/// use, reused across documents.
struct NGramTable {
  private var slots: [UInt64] = []
  private var counts: [UInt32] = []
  private var mask = 0
  private var shift: UInt64 = 60

  mutating func reset(entries: Int, counting: Bool = false) {
    precondition(entries < Int(UInt32.max))
    var cap = 16
    var bits: UInt64 = 4
    while cap < 2 &* entries {
      cap &<<= 1
      bits &+= 1
    }
    if slots.count < cap || (slots.count > 1 << 21 && slots.count > 8 * cap) {
      slots = [UInt64](repeating: 0, count: cap)
    } else {
      slots.withUnsafeMutableBufferPointer { s in
        s.baseAddress!.update(repeating: 0, count: cap)
      }
    }
    if counting && (counts.count < entries || (counts.count > 1 << 20 && counts.count > 8 * entries)) {
      counts = [UInt32](repeating: 0, count: counts.count < entries ? max(entries, counts.count * 2) : 2 * entries)
    }
    mask = cap &- 1
    shift = 64 &- bits
  }

  @inline(__always)
  private func home(_ h: UInt64) -> Int {
    Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  @inline(__always)
  private static func fingerprint(_ h: UInt64) -> UInt64 { (h ^ (h >> 29)) << 32 }

  /// Counts one occurrence of the n-gram with hash `h` at `index`; `equal(j)` confirms that
  /// the n-gram first seen at j is the same. Returns its count so far and where it was first seen.
  @inline(__always)
  mutating func count(_ h: UInt64, index: Int, equal: (Int) -> Bool) -> (count: Int, first: Int) {
    var s = home(h)
    let m = mask
    let fp = Self.fingerprint(h)
    let first: Int = slots.withUnsafeMutableBufferPointer { t in
      while true {
        let slot = t[s]
        if slot == 0 {
          t[s] = fp | UInt64(UInt32(truncatingIfNeeded: index &+ 1))
          return -1
        }
        if slot & 0xFFFF_FFFF_0000_0000 == fp {
          let j = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) &- 1
          if equal(j) { return j }
        }
        s = (s &+ 1) & m
      }
    }
    return counts.withUnsafeMutableBufferPointer { c in
      if first < 0 {
        c[index] = 1
        return (1, index)
      }
      c[first] &+= 1
      return (Int(c[first]), first)
    }
  }

  /// Adds the n-gram unless an equal one is present; returns whether it was.
  @inline(__always)
  mutating func insertIfAbsent(_ h: UInt64, index: Int, equal: (Int) -> Bool) -> Bool {
    var s = home(h)
    let m = mask
    let fp = Self.fingerprint(h)
    return slots.withUnsafeMutableBufferPointer { t in
      while true {
        let slot = t[s]
        if slot == 0 {
          t[s] = fp | UInt64(UInt32(truncatingIfNeeded: index &+ 1))
          return false
        }
        if slot & 0xFFFF_FFFF_0000_0000 == fp && equal(Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) &- 1) { return true }
        s = (s &+ 1) & m
      }
    }
  }
}
