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
/// Memory stays a small multiple of the text whatever its length: paragraphs and lines are
/// never listed (a table of byte ranges finds the repeats), words are streamed from the
/// tokenizer into one 32-bit id per word (`WordIDs`), and n-grams are never built: they
/// are hashed from the ids, counted in a sketch first, and only those the sketch says may
/// repeat are checked exactly, byte for byte, so the result is exact.
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
  var duplicates = DuplicateCounter()
  /// Word ids for texts under 4 GiB, and with 64-bit ids for longer ones (made when needed).
  var ngrams = NGramCounter<UInt32>()
  var wideNGrams: NGramCounter<UInt64>?
  /// Texts of this many bytes or more get 64-bit word ids (tests lower it).
  var wideFrom = Int(UInt32.max)

  init(_ p: StageParameters) throws(WinnowError) {
    dupLineFrac = p.qualityThreshold("dup_line_frac")
    dupParaFrac = p.qualityThreshold("dup_para_frac")
    dupLineCharFrac = p.qualityThreshold("dup_line_char_frac")
    dupParaCharFrac = p.qualityThreshold("dup_para_char_frac")
    topNGrams = try Self.rules(p, "top_n_grams") { "top_\($0)_gram" }
    dupNGrams = try Self.rules(p, "dup_n_grams") { "duplicated_\($0)_n_grams" }
    tokenizer = WordTokenizer(language: try p.tokenizerLanguage(stage: "gopher_repetition"))
  }

  deinit {
    ngrams.free()
    wideNGrams?.free()
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
    let chars = Double(doc.scalarCount)

    // Pieces split at runs of k newlines number at most newlines / k + 1: the tables are sized
    // by one count of the newlines, not by a walk over the pieces first.
    let newlines = dupParaFrac != nil || dupParaCharFrac != nil || dupLineFrac != nil || dupLineCharFrac != nil
      ? PyText.count(0x0A, in: text) : 0
    // The counter is moved out of the stage for the pass: a property of a class would be
    // checked for exclusive access at every line.
    var duplicates = self.duplicates
    self.duplicates = DuplicateCounter()
    defer { self.duplicates = duplicates }
    if dupParaFrac != nil || dupParaCharFrac != nil {
      let stripped = PyText.strip(base, all)
      // Paragraphs: re.split(r"\n{2,}", s).
      duplicates.reset(elements: newlines / 2 + 1, textLength: text.count)
      Self.forEachPiece(base, stripped, newlines: 2) { duplicates.add(base, $0) }
      if let dupParaFrac, Double(duplicates.duplicates) / Double(duplicates.added) > dupParaFrac {
        return .drop("dup_para_frac")
      }
      if let dupParaCharFrac, Double(duplicates.duplicateChars) / chars > dupParaCharFrac {
        return .drop("dup_para_char_frac")
      }
    }

    if dupLineFrac != nil || dupLineCharFrac != nil {
      // Lines: re.split("\n+", s).
      duplicates.reset(elements: newlines + 1, textLength: text.count)
      Self.forEachPiece(base, all, newlines: 1) { duplicates.add(base, $0) }
      if let dupLineFrac, Double(duplicates.duplicates) / Double(duplicates.added) > dupLineFrac {
        return .drop("dup_line_frac")
      }
      if let dupLineCharFrac, Double(duplicates.duplicateChars) / chars > dupLineCharFrac {
        return .drop("dup_line_char_frac")
      }
    }

    if topNGrams.isEmpty && dupNGrams.isEmpty { return .keep }
    loads &+= 1
    let verdict: Verdict
    lastLoadWide = text.count >= wideFrom
    if !lastLoadWide {
      verdict = ngrams.verdict(doc, &tokenizer, top: topNGrams, duplicated: dupNGrams, chars: chars)
    } else {
      var wide = wideNGrams ?? NGramCounter<UInt64>()
      verdict = wide.verdict(doc, &tokenizer, top: topNGrams, duplicated: dupNGrams, chars: chars)
      wideNGrams = wide
    }
    if verdict == .keep {
      doc.setCached(DistinctWordCounts(source: self, load: loads, language: tokenizer.language), for: DistinctWordCounts.key)
    }
    return verdict
  }

  /// How many times words were loaded, and whether the last load used 64-bit ids.
  private var loads: UInt64 = 0
  private var lastLoadWide = false

  /// The distinct words of load `load` (see `DistinctWordCounts`), nil when a later load
  /// replaced them or they were given back.
  func forEachDistinctWord(ofLoad load: UInt64, _ body: (_ start: Int, _ length: Int, _ occurrences: Int) -> Void) -> Int? {
    guard load == loads else { return nil }
    if lastLoadWide { return wideNGrams?.heldWords?.forEachDistinctWord(body) }
    return ngrams.heldWords?.forEachDistinctWord(body)
  }

  /// Calls `body` with each piece of `s = text[r]` split at runs of at least `k` newlines
  /// (`re.split(r"\n{k,}", s)`), in order.
  @inline(__always)
  static func forEachPiece(
    _ p: UnsafePointer<UInt8>, _ r: Range<Int>, newlines k: Int, _ body: (Range<Int>) -> Void
  ) {
    var start = r.lowerBound
    var i = r.lowerBound
    let end = r.upperBound
    while i < end {
      guard let hit = memchr(p + i, 0x0A, end - i) else { break }
      let at = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - p
      var j = at + 1
      while j < end && p[j] == 0x0A { j += 1 }
      if j - at >= k {
        body(start..<at)
        start = j
      }
      i = j
    }
    body(start..<end)
  }
}
