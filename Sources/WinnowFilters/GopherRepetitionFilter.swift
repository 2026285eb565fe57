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
/// n-grams are never built: words get a polynomial hash (mod 2⁶⁴) whose prefix sums give the
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
      // Likewise an n-gram occurs at most as often as its first word, so when no n-gram's length
      // times the count of its first word is over the limit, the rule cannot fail.
      for rule in topNGrams where ws.count >= rule.n {
        if !ngrams.wordsHaveSpaces,
          let bound = counted.lazy.filter({ $0.n < rule.n }).map(\.count).min(),
          Double(ngrams.longestNGram(rule.n) * bound) / chars <= rule.fraction
        {
          continue
        }
        if !ngrams.wordsHaveSpaces, Double(ngrams.firstWordBound(rule.n)) / chars <= rule.fraction { continue }
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

/// A polynomial hash over bytes with wrapping 64-bit arithmetic (that is, modulo 2⁶⁴). It is
/// only a filter: every hash match is confirmed byte for byte, so collisions cost time, never
/// exactness.
enum PolyHash {
  /// Odd, so that the base is a unit modulo 2⁶⁴.
  static let base: UInt64 = 0x1A2B_3C4D_5E6F_7081

  static func pow(_ e: Int) -> UInt64 {
    var result: UInt64 = 1
    var b = base
    var e = e
    while e > 0 {
      if e & 1 == 1 { result = result &* b }
      b = b &* b
      e >>= 1
    }
    return result
  }

  /// base^k for k < powers.count.
  static let powers: [UInt64] = {
    var out = [UInt64](repeating: 1, count: 4097)
    for k in 1..<out.count { out[k] = out[k - 1] &* base }
    return out
  }()
}

/// The words of one document, indexed for n-gram counting: per word boundary k, the hash of
/// the concatenation of words 0..<k without separators (`qT`) and with a space after each word
/// (`qS`), the byte length of the concatenation without separators (`off`) and its length in
/// code points (`cp`); per word, the hash of its bytes (`wh`). The hash of words i..<j is then
/// `q[j] − q[i]·base^(bytes between)`. Every method takes the text and the words it was loaded with.
struct NGramIndex {
  private var qT: [UInt64] = []
  private var qS: [UInt64] = []
  private var wh: [UInt64] = []
  private var off: [Int] = []
  private var cp: [Int] = []
  /// Per word: the index of its first occurrence (an exact word id), and per first
  /// occurrence the number of occurrences; `qW`: prefix hashes over the word ids.
  private var wid: [Int] = []
  private var wcount: [UInt32] = []
  private var qW: [UInt64] = []
  private var slots: [UInt64] = []
  private var counts: [UInt32] = []
  private let powers = PolyHash.powers
  private var wordCount = 0

  /// Whether a word contains a space (then `" ".join` equality is not word-by-word equality).
  private(set) var wordsHaveSpaces = false

  mutating func load(_ p: UnsafePointer<UInt8>, _ ws: UnsafeBufferPointer<Range<Int>>) {
    let w = ws.count
    wordCount = w
    var spaces = false
    // Grown to the largest document so far; given back after an outsized one.
    if qT.count < w + 1 || (qT.count > 1 << 20 && qT.count > 8 * (w + 1)) {
      let cap = qT.count < w + 1 ? max(w + 1, qT.count * 2) : 2 * (w + 1)
      qT = [UInt64](repeating: 0, count: cap)
      qS = [UInt64](repeating: 0, count: cap)
      wh = [UInt64](repeating: 0, count: cap)
      off = [Int](repeating: 0, count: cap)
      cp = [Int](repeating: 0, count: cap)
      wid = [Int](repeating: 0, count: cap)
      wcount = [UInt32](repeating: 0, count: cap)
      qW = [UInt64](repeating: 0, count: cap)
    }
    let B = PolyHash.base
    let pw = powers
    qT.withUnsafeMutableBufferPointer { qT in
      qS.withUnsafeMutableBufferPointer { qS in
        wh.withUnsafeMutableBufferPointer { wh in
          off.withUnsafeMutableBufferPointer { off in
            cp.withUnsafeMutableBufferPointer { cp in
              pw.withUnsafeBufferPointer { pw in
                var t: UInt64 = 0
                var s: UInt64 = 0
                var o = 0
                var c = 0
                qT[0] = 0
                qS[0] = 0
                off[0] = 0
                cp[0] = 0
                var k = 0
                for r in ws {
                  var h: UInt64 = 0
                  var continuation = 0
                  var i = r.lowerBound
                  let end = r.upperBound
                  while i < end {
                    let b = p[i]
                    h = h &* B &+ UInt64(b) &+ 1
                    continuation &+= b & 0xC0 == 0x80 ? 1 : 0
                    spaces = spaces || b == 0x20
                    i &+= 1
                  }
                  let len = r.count
                  let bp = len < pw.count ? pw[len] : PolyHash.pow(len)
                  t = t &* bp &+ h
                  s = (s &* bp &+ h) &* B &+ 0x21
                  o &+= len
                  c &+= len &- continuation
                  wh[k] = h
                  k &+= 1
                  qT[k] = t
                  qS[k] = s
                  off[k] = o
                  cp[k] = c
                }
              }
            }
          }
        }
      }
    }
    wordsHaveSpaces = spaces
    internWords(p, ws)
  }

  /// Gives every word the index of its first occurrence (bytes compared) and counts them.
  private mutating func internWords(_ p: UnsafePointer<UInt8>, _ ws: UnsafeBufferPointer<Range<Int>>) {
    let w = ws.count
    let (m, shift) = resetSlots(entries: w)
    let B = PolyHash.base
    let wh = self.wh
    slots.withUnsafeMutableBufferPointer { t in
      wid.withUnsafeMutableBufferPointer { wid in
        wcount.withUnsafeMutableBufferPointer { wc in
          qW.withUnsafeMutableBufferPointer { qW in
            wh.withUnsafeBufferPointer { wh in
              var acc: UInt64 = 0
              qW[0] = 0
              for i in 0..<w {
                let h = wh[i]
                var s = Self.home(h, shift)
                let fp = Self.fingerprint(h)
                var first = i
                while true {
                  let slot = t[s]
                  if slot == 0 {
                    t[s] = fp | UInt64(truncatingIfNeeded: i &+ 1)
                    break
                  }
                  if slot & 0xFFFF_FFFF_0000_0000 == fp {
                    let j = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) &- 1
                    let a = ws[j]
                    let b = ws[i]
                    if a.count == b.count && Self.sameBytes(p, a.lowerBound, b.lowerBound, a.count) {
                      first = j
                      break
                    }
                  }
                  s = (s &+ 1) & m
                }
                wid[i] = first
                if first == i { wc[i] = 1 } else { wc[first] &+= 1 }
                acc = acc &* B &+ Self.mixID(first)
                qW[i &+ 1] = acc
              }
            }
          }
        }
      }
    }
  }

  @inline(__always)
  private static func mixID(_ x: Int) -> UInt64 {
    let v = (UInt64(truncatingIfNeeded: x) &+ 1) &* 0x9E37_79B9_7F4A_7C15
    return v ^ (v >> 31)
  }

  /// The largest `len(" ".join(words[i:i+n]))` times the count of `words[i]`: with no spaces in
  /// words, at least the top n-gram's length times its count.
  func firstWordBound(_ n: Int) -> Int {
    cp.withUnsafeBufferPointer { cp in
      wid.withUnsafeBufferPointer { wid in
        wcount.withUnsafeBufferPointer { wc in
          var best = 0
          for i in 0...(wordCount - n) {
            let v = (cp[i &+ n] &- cp[i] &+ n &- 1) &* Int(wc[wid[i]])
            if v > best { best = v }
          }
          return best
        }
      }
    }
  }

  /// The largest `len(" ".join(words[i:i+n]))`.
  func longestNGram(_ n: Int) -> Int {
    cp.withUnsafeBufferPointer { cp in
      var best = 0
      for i in 0...(wordCount - n) where cp[i &+ n] &- cp[i] > best { best = cp[i &+ n] &- cp[i] }
      return best + n - 1
    }
  }

  /// Clears the first `cap` slots (grown or given back as needed) and returns the probe mask
  /// and the shift of the home slot: a power-of-two table with a load factor of at most 1/2.
  private mutating func resetSlots(entries: Int) -> (mask: Int, shift: UInt64) {
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
    return (cap &- 1, 64 &- bits)
  }

  @inline(__always)
  private static func home(_ h: UInt64, _ shift: UInt64) -> Int {
    Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  /// A slot: a 32-bit fingerprint of the hash above the word index + 1 (so 0 is empty).
  @inline(__always)
  private static func fingerprint(_ h: UInt64) -> UInt64 { (h ^ (h >> 29)) << 32 }

  /// The largest x with `Double(x) / chars <= limit` (capped at 2⁵²), so that for the counts
  /// here `Double(x) / chars > limit` is exactly `x > threshold` (division is monotonic).
  static func threshold(limit: Double, chars: Double) -> Int {
    let cap = 1 << 52
    let guess = limit * chars
    var x = guess.isNaN || guess < 0 ? 0 : guess >= Double(cap) ? cap : Int(guess)
    while x >= 0 && !(Double(x) / chars <= limit) { x -= 1 }
    while x < cap && Double(x + 1) / chars <= limit { x += 1 }
    return x
  }

  /// datatrove's `find_top_duplicate(get_n_grams(words, n))`: the most frequent n-gram (as
  /// `" ".join`; ties go to the first to appear), its length in code points and its count (the
  /// function returns their product). Needs at least n words.
  mutating func topDuplicate(_ p: UnsafePointer<UInt8>, _ ws: UnsafeBufferPointer<Range<Int>>, _ n: Int) -> (
    length: Int, count: Int
  ) {
    let count = ws.count - n + 1
    let (m, shift) = resetSlots(entries: count)
    if counts.count < count || (counts.count > 1 << 20 && counts.count > 8 * count) {
      counts = [UInt32](repeating: 0, count: counts.count < count ? max(count, counts.count * 2) : 2 * count)
    }
    var bestCount = 0
    var bestIndex = 0
    let spaces = wordsHaveSpaces
    // Without spaces in words, `" ".join` equality is word-id equality: hash the ids.
    let q = spaces ? self.qS : self.qW, off = self.off, wid = self.wid, pw = self.powers
    let bn = PolyHash.pow(n)
    slots.withUnsafeMutableBufferPointer { t in
      counts.withUnsafeMutableBufferPointer { cnt in
        q.withUnsafeBufferPointer { q in
          off.withUnsafeBufferPointer { off in
            wid.withUnsafeBufferPointer { wid in
              pw.withUnsafeBufferPointer { pw in
                for i in 0..<count {
                  let h: UInt64
                  if spaces {
                    let span = off[i &+ n] &- off[i] &+ n
                    h = q[i &+ n] &- q[i] &* (span < pw.count ? pw[span] : PolyHash.pow(span))
                  } else {
                    h = q[i &+ n] &- q[i] &* bn
                  }
                  var s = Self.home(h, shift)
                  let fp = Self.fingerprint(h)
                  var first = i
                  while true {
                    let slot = t[s]
                    if slot == 0 {
                      t[s] = fp | UInt64(truncatingIfNeeded: i &+ 1)
                      break
                    }
                    if slot & 0xFFFF_FFFF_0000_0000 == fp {
                      let j = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) &- 1
                      if Self.equal(p, ws, wid, j, i, n, separated: true, spaces: spaces) {
                        first = j
                        break
                      }
                    }
                    s = (s &+ 1) & m
                  }
                  let c: Int
                  if first == i {
                    cnt[i] = 1
                    c = 1
                  } else {
                    cnt[first] &+= 1
                    c = Int(cnt[first])
                  }
                  if c > bestCount || (c == bestCount && first < bestIndex) {
                    bestCount = c
                    bestIndex = first
                  }
                }
              }
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
    // find_all_duplicate(...) / chars > limit exactly when the repeated length is over this.
    let most = Self.threshold(limit: limit, chars: chars)
    let total = cp[ws.count]
    // The repeated n-grams are disjoint runs of words, so they never add up to more than all
    // the words' characters.
    if total <= most { return false }
    let (m, shift) = resetSlots(entries: ws.count - n + 1)
    let last = ws.count - n
    let q = self.qT, off = self.off, cp = self.cp, wid = self.wid, pw = self.powers
    return slots.withUnsafeMutableBufferPointer { t in
      q.withUnsafeBufferPointer { q in
        off.withUnsafeBufferPointer { off in
          cp.withUnsafeBufferPointer { cp in
            wid.withUnsafeBufferPointer { wid in
              pw.withUnsafeBufferPointer { pw in
                var repeated = 0
                var idx = 0
                while idx <= last {
                  // Even if every word from here on were repeated, the rule would not fail.
                  if repeated &+ (total &- cp[idx]) <= most { return false }
                  let span = off[idx &+ n] &- off[idx]
                  let h = q[idx &+ n] &- q[idx] &* (span < pw.count ? pw[span] : PolyHash.pow(span))
                  var s = Self.home(h, shift)
                  let fp = Self.fingerprint(h)
                  var seen = false
                  while true {
                    let slot = t[s]
                    if slot == 0 {
                      t[s] = fp | UInt64(truncatingIfNeeded: idx &+ 1)
                      break
                    }
                    if slot & 0xFFFF_FFFF_0000_0000 == fp
                      && Self.equal(
                        p, ws, wid, Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) &- 1, idx, n, separated: false,
                        spaces: true)
                    {
                      seen = true
                      break
                    }
                    s = (s &+ 1) & m
                  }
                  if seen {
                    repeated &+= cp[idx &+ n] &- cp[idx]
                    if repeated > most { return true }
                    idx &+= n
                  } else {
                    idx &+= 1
                  }
                }
                return repeated > most
              }
            }
          }
        }
      }
    }
  }

  /// Whether bytes p[a..<a+len] and p[b..<b+len] are equal.
  @inline(__always)
  static func sameBytes(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int, _ len: Int) -> Bool {
    if len > 32 { return memcmp(p + a, p + b, len) == 0 }
    let raw = UnsafeRawPointer(p)
    var k = 0
    while k &+ 8 <= len {
      if raw.loadUnaligned(fromByteOffset: a &+ k, as: UInt64.self)
        != raw.loadUnaligned(fromByteOffset: b &+ k, as: UInt64.self)
      {
        return false
      }
      k &+= 8
    }
    while k < len {
      if p[a &+ k] != p[b &+ k] { return false }
      k &+= 1
    }
    return true
  }

  /// Whether the n-grams at words i and j are equal as `" ".join` (`separated`) or `"".join`.
  /// `spaces`: whether a word may contain a space (only matters when `separated`).
  @inline(__always)
  static func equal(
    _ p: UnsafePointer<UInt8>, _ ws: UnsafeBufferPointer<Range<Int>>, _ wid: UnsafeBufferPointer<Int>,
    _ i: Int, _ j: Int, _ n: Int, separated: Bool, spaces: Bool
  ) -> Bool {
    // The same words (ids are exact): equal.
    var k = 0
    while k < n && wid[i &+ k] == wid[j &+ k] { k &+= 1 }
    if k == n { return true }
    // Same word lengths: the joined strings are equal exactly when every word is, and one is not.
    var sameLengths = true
    var difference = 0
    for k in 0..<n {
      let a = ws[i &+ k].count
      let b = ws[j &+ k].count
      difference &+= a &- b
      if a != b { sameLengths = false }
    }
    if sameLengths || difference != 0 { return false }
    // Without spaces in words, `" ".join` strings are equal only word by word.
    if separated && !spaces { return false }
    // Different words or boundaries, same total length: compare the joined strings byte by byte.
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
