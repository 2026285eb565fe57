import Glibc
import WinnowCore
import WinnowText

/// `gopher_quality`: the quality rules of Gopher (Rae et al. 2021, "Scaling Language Models",
/// appendix A.1.1), as datatrove 0.10.1's `GopherQualityFilter` implements them.
///
/// Words are datatrove's `split_into_words` tokens (`WordTokenizer`); a "non-symbol" word has a
/// character outside datatrove's `PUNCTUATION_SET`. In rule order:
///
/// 1. non-symbol words < `min_doc_words` → `gopher_short_doc`; > `max_doc_words` → `gopher_long_doc`
/// 2. mean length (code points) of the non-symbol words < `min_avg_word_length` →
///    `gopher_below_avg_threshold`; > `max_avg_word_length` → `gopher_above_avg_threshold`
/// 3. `#` per word > `max_symbol_word_ratio` → `gopher_too_many_hashes`; `...` and `…` per word
///    → `gopher_too_many_ellipsis`
/// 4. lines (`str.splitlines()`) starting with `•` or `-` (after leading whitespace) over all
///    lines > `max_bullet_lines_ratio` → `gopher_too_many_bullets`; ending with `...` or `…`
///    > `max_ellipsis_lines_ratio` → `gopher_too_many_end_ellipsis`
/// 5. words with an alphabetic character over all words < `max_non_alpha_words_ratio` →
///    `gopher_below_alpha_threshold`
/// 6. distinct stop words present (case-sensitive) < `min_stop_words` → `gopher_enough_stop_words`
///
/// Every threshold is disabled by 0, as datatrove's `if self.x and …` is by None or 0. Where
/// datatrove divides by zero (no words or no lines, possible only with `min_doc_words` 0) it
/// raises; here the ratio is IEEE division: x/0 is +∞ for x > 0 and NaN for 0/0, and a NaN
/// ratio passes every test (the mean word length of no words is NaN, as `np.mean([])` is).
///
/// A document whose whitespace-separated chunks already hold more than `max_doc_words`
/// non-symbol words is dropped without tokenizing: the tokenizer splits at whitespace (and
/// maybe further), so each such chunk yields at least one non-symbol word.
public final class GopherQualityFilter: DocumentStage {
  static let defaultStopWords = ["the", "be", "to", "of", "and", "that", "have", "with"]

  public static let descriptor = StageDescriptor(
    name: "gopher_quality",
    summary: "Gopher quality rules (Rae et al. 2021): word count and length, symbols, bullets, alphabetic words, stop words",
    parameters: [
      ParameterSpec(
        "min_doc_words", .int(min: 0, max: nil), default: .int(50),
        help: "fewest non-symbol words (0 disables) → gopher_short_doc"),
      ParameterSpec(
        "max_doc_words", .int(min: 0, max: nil), default: .int(100_000),
        help: "most non-symbol words (0 disables) → gopher_long_doc"),
      ParameterSpec(
        "min_avg_word_length", .double(min: 0, max: nil), default: .double(3),
        help: "smallest mean non-symbol word length in characters (0 disables) → gopher_below_avg_threshold"),
      ParameterSpec(
        "max_avg_word_length", .double(min: 0, max: nil), default: .double(10),
        help: "largest mean non-symbol word length in characters (0 disables) → gopher_above_avg_threshold"),
      ParameterSpec(
        "max_symbol_word_ratio", .double(min: 0, max: nil), default: .double(0.1),
        help: "most '#', and most '...' plus '…', per word (0 disables) → gopher_too_many_hashes, gopher_too_many_ellipsis"),
      ParameterSpec(
        "max_bullet_lines_ratio", .double(min: 0, max: nil), default: .double(0.9),
        help: "largest fraction of lines starting with '•' or '-' (0 disables) → gopher_too_many_bullets"),
      ParameterSpec(
        "max_ellipsis_lines_ratio", .double(min: 0, max: nil), default: .double(0.3),
        help: "largest fraction of lines ending with '...' or '…' (0 disables) → gopher_too_many_end_ellipsis"),
      ParameterSpec(
        "max_non_alpha_words_ratio", .double(min: 0, max: nil), default: .double(0.8),
        help:
          "smallest fraction of words with an alphabetic character (datatrove's name; 0 disables) → gopher_below_alpha_threshold"
      ),
      ParameterSpec(
        "min_stop_words", .int(min: 0, max: nil), default: .int(2),
        help: "fewest distinct stop words present (0 disables) → gopher_enough_stop_words"),
      ParameterSpec(
        "stop_words", .scalarList, default: .list(defaultStopWords),
        help: "the stop words, matched case-sensitively against whole words"),
      ParameterSpec(
        "language", .string, default: .string("en"), help: "language of the word tokenizer (datatrove's split_into_words)"),
    ],
    make: { (p, _) throws(WinnowError) in try GopherQualityFilter(p) })

  let minDocWords: Int?, maxDocWords: Int?
  let minAvgWordLength: Double?, maxAvgWordLength: Double?
  let maxSymbolWordRatio: Double?
  let maxBulletLinesRatio: Double?, maxEllipsisLinesRatio: Double?
  let maxNonAlphaWordsRatio: Double?
  let minStopWords: Int?
  let punctuation = ScalarSet.punctuation
  var tokenizer: WordTokenizer
  var stopWords = StopWordSet([])

  init(_ p: StageParameters) throws(WinnowError) {
    func positive(_ name: String) -> Int? { p.int(name).flatMap { $0 == 0 ? nil : $0 } }
    minDocWords = positive("min_doc_words")
    maxDocWords = positive("max_doc_words")
    minAvgWordLength = p.qualityThreshold("min_avg_word_length")
    maxAvgWordLength = p.qualityThreshold("max_avg_word_length")
    maxSymbolWordRatio = p.qualityThreshold("max_symbol_word_ratio")
    maxBulletLinesRatio = p.qualityThreshold("max_bullet_lines_ratio")
    maxEllipsisLinesRatio = p.qualityThreshold("max_ellipsis_lines_ratio")
    maxNonAlphaWordsRatio = p.qualityThreshold("max_non_alpha_words_ratio")
    minStopWords = positive("min_stop_words")
    tokenizer = WordTokenizer(language: try p.tokenizerLanguage(stage: "gopher_quality"))
    let list = p.list("stop_words") ?? Self.defaultStopWords
    if let bad = list.first(where: { $0.isEmpty || $0.unicodeScalars.contains(where: UnicodeWhitespace.contains) }) {
      throw .usage(
        "stage 'gopher_quality': stop_words must be words without whitespace, got '\(bad)'")
    }
    if let minStopWords, Set(list).count < minStopWords {
      throw .usage(
        "stage 'gopher_quality': min_stop_words (\(minStopWords)) is more than the \(Set(list).count) distinct stop_words, so every document would be dropped"
      )
    }
    stopWords = StopWordSet(list)
  }

  public func process(_ doc: Document) -> Verdict {
    let text = doc.text
    // A document whose whitespace-separated chunks already hold more than max_doc_words words
    // is dropped without tokenizing (a chunk with a non-punctuation character yields at least
    // one non-symbol token, since the tokenizer splits at whitespace and may split further).
    if let maxDocWords, text.count > maxDocWords, let base = text.baseAddress {
      let lowerBound = nonSymbolChunks(base, text.count, stopAfter: max(maxDocWords, minDocWords ?? 0))
      if lowerBound > maxDocWords && lowerBound >= (minDocWords ?? 0) { return .drop("gopher_long_doc") }
    }
    let words = wordStats(doc)
    let nWords = words.words, nonSymbol = words.nonSymbol, nonSymbolChars = words.nonSymbolChars
    let alphaWords = words.alphabetic

    if let minDocWords, nonSymbol < minDocWords { return .drop("gopher_short_doc") }
    if let maxDocWords, nonSymbol > maxDocWords { return .drop("gopher_long_doc") }

    let avg = Double(nonSymbolChars) / Double(nonSymbol)  // NaN without words, like np.mean([])
    if let minAvgWordLength, avg < minAvgWordLength { return .drop("gopher_below_avg_threshold") }
    if let maxAvgWordLength, avg > maxAvgWordLength { return .drop("gopher_above_avg_threshold") }

    if let maxSymbolWordRatio {
      let hashes = PyText.count(UInt8(ascii: "#"), in: text)
      if Double(hashes) / Double(nWords) > maxSymbolWordRatio { return .drop("gopher_too_many_hashes") }
      let ellipses = PyText.count(Self.threeDots, in: text) + PyText.count(Self.ellipsis, in: text)
      if Double(ellipses) / Double(nWords) > maxSymbolWordRatio { return .drop("gopher_too_many_ellipsis") }
    }

    if maxBulletLinesRatio != nil || maxEllipsisLinesRatio != nil, let base = text.baseAddress {
      // One walk over the lines, counting both.
      var nLines = 0
      var bullets = 0
      var endEllipsis = 0
      PyText.forEachLine(text) { l in
        nLines &+= 1
        let s = PyText.lstrip(base, l)
        if PyText.hasPrefix(base, s, Self.bullet) || PyText.hasPrefix(base, s, Self.dash) { bullets &+= 1 }
        let e = PyText.rstrip(base, l)
        if PyText.hasSuffix(base, e, Self.threeDots) || PyText.hasSuffix(base, e, Self.ellipsis) { endEllipsis &+= 1 }
      }
      if let maxBulletLinesRatio, Double(bullets) / Double(nLines) > maxBulletLinesRatio {
        return .drop("gopher_too_many_bullets")
      }
      if let maxEllipsisLinesRatio, Double(endEllipsis) / Double(nLines) > maxEllipsisLinesRatio {
        return .drop("gopher_too_many_end_ellipsis")
      }
    }

    if let maxNonAlphaWordsRatio, Double(alphaWords) / Double(nWords) < maxNonAlphaWordsRatio {
      return .drop("gopher_below_alpha_threshold")
    }

    if let minStopWords, words.stopWordsFound < minStopWords { return .drop("gopher_enough_stop_words") }
    return .keep
  }

  /// What the rules need to know of the words, counted in one pass.
  struct WordStats: Equatable {
    var words = 0
    /// Words with a character outside `PUNCTUATION_SET`, and their code points.
    var nonSymbol = 0
    var nonSymbolChars = 0
    /// Words with an alphabetic character.
    var alphabetic = 0
    /// Distinct stop words present (counting stops at `min_stop_words`).
    var stopWordsFound = 0
  }

  func wordStats(_ doc: Document) -> WordStats {
    // One pass over the words: non-symbol words and their length, words with a letter, stop
    // words. When gopher_repetition counted this text's words the same way, each distinct word
    // is looked at once and counted as often as it occurs; otherwise the words are streamed
    // from the tokenizer (and kept on the document, when the text is not too long, for the
    // next stage).
    var nWords = 0
    var nonSymbol = 0
    var nonSymbolChars = 0
    var alphaWords = 0
    let text = doc.text
    let needStop = minStopWords ?? 0
    // The stop-word set is moved out of the stage for the pass: a property of a class would be
    // checked for exclusive access at every word.
    var stopWords = self.stopWords
    self.stopWords = .placeholder
    defer { self.stopWords = stopWords }
    stopWords.startDocument()
    if let base = text.baseAddress {
      let punct = punctuation
      let all = UnsafeBufferPointer(start: base, count: text.count)
      Self.asciiWordClass.withUnsafeBufferPointer { cls in
        @inline(__always) func add(_ r: Range<Int>, times: Int) {
          let (acc, chars) = Self.classify(all, r, cls, punct)
          if acc & Self.nonSymbolBit != 0 {
            nonSymbol &+= times
            nonSymbolChars &+= chars &* times
          }
          if acc & Self.alphaBit != 0 { alphaWords &+= times }
          if stopWords.found < needStop { stopWords.see(base, r) }
        }
        if let counts = doc.cached(DistinctWordCounts.key), counts.language == tokenizer.language,
          let total = counts.forEach({ start, length, occurrences in add(start..<(start &+ length), times: occurrences) })
        {
          nWords = total
        } else {
          doc.forEachWordBatch(&tokenizer) { ws in
            nWords &+= ws.count
            for r in ws { add(r, times: 1) }
          }
        }
      }
    }

    return WordStats(
      words: nWords, nonSymbol: nonSymbol, nonSymbolChars: nonSymbolChars, alphabetic: alphaWords,
      stopWordsFound: stopWords.found)
  }

  /// Whitespace-separated chunks that hold a character outside `PUNCTUATION_SET`, counted up
  /// to `stopAfter + 1`.
  private func nonSymbolChunks(_ p: UnsafePointer<UInt8>, _ n: Int, stopAfter limit: Int) -> Int {
    let all = UnsafeBufferPointer(start: p, count: n)
    var count = 0
    var i = 0
    while i < n {
      let w = UnicodeWhitespace.length(p, i, n)
      if w > 0 {
        i &+= w
        continue
      }
      var nonSymbol = false
      while i < n && UnicodeWhitespace.length(p, i, n) == 0 {
        let b = p[i]
        if b < 0x80 {
          if !nonSymbol && !ScalarSet.isASCIIPunctuation(b) { nonSymbol = true }
          i &+= 1
        } else {
          let (s, len) = UTF8Bytes.decode(all, at: i)
          if !nonSymbol && !punctuation.contains(s.value) { nonSymbol = true }
          i &+= len
        }
      }
      if nonSymbol {
        count &+= 1
        if count > limit { return count }
      }
    }
    return count
  }

  /// The word p[r]'s `nonSymbolBit` and `alphaBit`, and its length in code points. ASCII
  /// bytes go by table, without a branch per test: a word is a non-symbol word when some byte
  /// is not punctuation, and has a letter when some byte is one.
  @inline(__always)
  static func classify(
    _ all: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ cls: UnsafeBufferPointer<UInt8>, _ punct: ScalarSet
  ) -> (UInt8, Int) {
    let base = all.baseAddress.unsafelyUnwrapped
    var acc: UInt8 = 0
    var chars = 0
    var i = r.lowerBound
    let end = r.upperBound
    while i < end {
      let b = base[i]
      chars &+= 1
      if b < 0x80 {
        acc |= cls[Int(b)]
        i &+= 1
      } else {
        let (s, len) = UTF8Bytes.decode(all, at: i)
        if acc & nonSymbolBit == 0 && !punct.contains(s.value) { acc |= nonSymbolBit }
        if acc & alphaBit == 0 && PyText.isAlpha(s) { acc |= alphaBit }
        i &+= len
      }
    }
    return (acc, chars)
  }

  static let nonSymbolBit: UInt8 = 1
  static let alphaBit: UInt8 = 2

  /// Per ASCII byte: `nonSymbolBit` when it is not punctuation, `alphaBit` when it is a letter.
  static let asciiWordClass: [UInt8] = (0..<128).map { b in
    let b = UInt8(b)
    return (ScalarSet.isASCIIPunctuation(b) ? 0 : nonSymbolBit) | ((b | 0x20) &- 0x61 < 26 ? alphaBit : 0)
  }

  static let threeDots: [UInt8] = Array("...".utf8)
  static let ellipsis: [UInt8] = Array("…".utf8)
  static let bullet: [UInt8] = Array("•".utf8)
  static let dash: [UInt8] = Array("-".utf8)
}

extension ScalarSet {
  /// ASCII members of datatrove's `PUNCTUATION_SET`: U+0000…U+0008, U+000B…U+001F, `!`…`/`,
  /// `:`…`@`, `[`…`` ` ``, `{`…U+007F (tab, newline, space, letters and digits are not).
  @inline(__always)
  static func isASCIIPunctuation(_ b: UInt8) -> Bool {
    let lo: UInt64 = 0xFC00_FFFE_FFFF_F9FF  // 0x00…0x3F
    let hi: UInt64 = 0xF800_0001_F800_0001  // 0x40…0x7F
    return b < 64 ? (lo >> UInt64(b)) & 1 != 0 : (hi >> UInt64(b & 63)) & 1 != 0
  }
}

/// Stop words found in one document, distinct, matched by bytes. Words are looked up by their
/// byte length first (most words have no stop word of their length), then by XXH3 hash, and
/// compared byte for byte.
struct StopWordSet {
  private let words: [[UInt8]]
  private let lengths: UInt64  // bit k: some stop word has k bytes (k < 63); bit 63: longer
  private let byHash: [UInt64: [Int]]
  private var seen: [Bool]
  private(set) var found = 0

  /// Held by the stage while its set is moved out for a pass (see `GopherQualityFilter.wordStats`).
  static let placeholder = StopWordSet([])

  init(_ list: [String]) {
    var unique: [[UInt8]] = []
    var known = Set<[UInt8]>()
    for w in list where known.insert(Array(w.utf8)).inserted { unique.append(Array(w.utf8)) }
    words = unique
    var bits: UInt64 = 0
    var table: [UInt64: [Int]] = [:]
    for (k, w) in unique.enumerated() {
      bits |= 1 << UInt64(min(w.count, 63))
      table[w.withUnsafeBufferPointer { XXH3.hash64($0) }, default: []].append(k)
    }
    lengths = bits
    byHash = table
    seen = [Bool](repeating: false, count: unique.count)
  }

  mutating func startDocument() {
    if found > 0 {
      for k in seen.indices { seen[k] = false }
      found = 0
    }
  }

  @inline(__always)
  mutating func see(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) {
    let n = r.count
    guard lengths & (1 << UInt64(min(n, 63))) != 0 else { return }
    let word = UnsafeBufferPointer(start: p + r.lowerBound, count: n)
    if words.count <= 16 {
      for k in 0..<words.count where words[k].count == n && !seen[k] {
        if words[k].withUnsafeBufferPointer({ memcmp($0.baseAddress!, word.baseAddress!, n) == 0 }) {
          seen[k] = true
          found &+= 1
          return
        }
      }
      return
    }
    guard let candidates = byHash[XXH3.hash64(word)] else { return }
    for k in candidates where words[k].count == n && !seen[k] {
      if words[k].withUnsafeBufferPointer({ memcmp($0.baseAddress!, word.baseAddress!, n) == 0 }) {
        seen[k] = true
        found &+= 1
        return
      }
    }
  }
}
