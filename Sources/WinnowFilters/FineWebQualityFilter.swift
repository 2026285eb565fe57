import Glibc
import WinnowCore
import WinnowText

/// `fineweb_quality`: FineWeb's own rules (Penedo et al. 2024, "The FineWeb Datasets", §3.5),
/// as datatrove 0.10.1's `FineWebQualityFilter` implements them. Lines are `text.split("\n")`
/// without the blank ones (`line.strip() == ""`); they are not stripped. In rule order:
///
/// 1. no lines → `empty`
/// 2. lines ending with a stop character (datatrove's `TERMINAL_PUNCTUATION` by default) over
///    all lines < `line_punct_thr` → `line_punct_ratio` (a ratio of exactly 0 passes when
///    `line_punct_exclude_zero`)
/// 3. lines of at most `short_line_length` characters over all lines > `short_line_thr` →
///    `short_line_ratio`
/// 4. characters in lines equal to an earlier line over the characters of the text without
///    "\n" > `char_duplicates_ratio` → `char_dup_ratio`
/// 5. "\n" per word (datatrove's `split_into_words`) > `new_line_ratio` → `list_ratio`
///
/// Characters are code points. As in datatrove, no threshold has a special "disabled" value:
/// `line_punct_thr: 0`, `short_line_thr: 1` and `char_duplicates_ratio: 1` never drop.
///
/// The words are counted only when the whitespace-separated words (a lower bound: the
/// tokenizer splits at whitespace and may split further) are too few to decide.
public final class FineWebQualityFilter: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "fineweb_quality",
    summary: "FineWeb rules (Penedo et al. 2024): line punctuation, short lines, duplicated line characters, newlines per word",
    parameters: [
      ParameterSpec(
        "line_punct_thr", .double(min: 0, max: nil), default: .double(0.12),
        help: "smallest fraction of non-blank lines ending with a stop character → line_punct_ratio"),
      ParameterSpec(
        "line_punct_exclude_zero", .bool, default: .bool(false),
        help: "let documents where no line ends with a stop character pass the line_punct_thr rule"),
      ParameterSpec(
        "stop_chars", .scalarList,
        help: "line endings that count as punctuation (default: datatrove's TERMINAL_PUNCTUATION, 159 characters)"),
      ParameterSpec(
        "short_line_thr", .double(min: 0, max: nil), default: .double(0.67),
        help: "largest fraction of non-blank lines that are short → short_line_ratio"),
      ParameterSpec(
        "short_line_length", .int(min: 0, max: nil), default: .int(30),
        help: "a line of at most this many characters is short"),
      ParameterSpec(
        "char_duplicates_ratio", .double(min: 0, max: nil), default: .double(0.01),
        help: "largest fraction of characters (newlines aside) in lines repeating an earlier line → char_dup_ratio"),
      ParameterSpec(
        "new_line_ratio", .double(min: 0, max: nil), default: .double(0.3),
        help: "most newlines per word → list_ratio"),
      ParameterSpec(
        "language", .string, default: .string("en"), help: "language of the word tokenizer (datatrove's split_into_words)"),
    ],
    make: { (p, _) throws(WinnowError) in try FineWebQualityFilter(p) })

  let linePunctThr: Double
  let linePunctExcludeZero: Bool
  /// nil: datatrove's TERMINAL_PUNCTUATION.
  let stopChars: [[UInt8]]?
  let terminal = ScalarSet.terminalPunctuation
  let shortLineThr: Double
  let shortLineLength: Int
  let charDuplicatesRatio: Double
  let newLineRatio: Double
  var tokenizer: WordTokenizer
  var duplicates = DuplicateCounter()

  init(_ p: StageParameters) throws(WinnowError) {
    linePunctThr = p.double("line_punct_thr") ?? 0.12
    linePunctExcludeZero = p.bool("line_punct_exclude_zero") ?? false
    if let list = p.list("stop_chars") {
      guard !list.isEmpty else {
        throw .usage("stage 'fineweb_quality': stop_chars is empty; leave it out for datatrove's terminal punctuation")
      }
      if list.contains(where: \.isEmpty) {
        throw .usage("stage 'fineweb_quality': stop_chars has an empty item (every line would end with it)")
      }
      stopChars = list.map { Array($0.utf8) }
    } else {
      stopChars = nil
    }
    shortLineThr = p.double("short_line_thr") ?? 0.67
    shortLineLength = p.int("short_line_length") ?? 30
    charDuplicatesRatio = p.double("char_duplicates_ratio") ?? 0.01
    newLineRatio = p.double("new_line_ratio") ?? 0.3
    tokenizer = WordTokenizer(language: try p.tokenizerLanguage(stage: "fineweb_quality"))
  }

  public func process(_ doc: Document) -> Verdict {
    let text = doc.text
    guard let base = text.baseAddress else { return .drop("empty") }
    // The non-blank lines are walked twice rather than listed (a list would take 16 bytes a
    // line): to count them, with their stop characters and short lines, then for repeats.
    var nonBlank = 0
    var punctuated = 0
    var short = 0
    let shortLength = shortLineLength
    Self.forEachNonBlankLine(base, text.count) { l in
      nonBlank += 1
      if endsWithStopChar(base, l) { punctuated += 1 }
      if !PyText.longer(base, l, than: shortLength) { short += 1 }
    }
    if nonBlank == 0 { return .drop("empty") }
    let nLines = Double(nonBlank)

    let punctRatio = Double(punctuated) / nLines
    if punctRatio < linePunctThr && !(punctRatio == 0 && linePunctExcludeZero) { return .drop("line_punct_ratio") }

    if Double(short) / nLines > shortLineThr { return .drop("short_line_ratio") }

    duplicates.reset(elements: nonBlank, textLength: text.count)
    Self.forEachNonBlankLine(base, text.count) { duplicates.add(base, $0) }
    let newlines = TextCounts.newlines(text)
    let charsWithoutNewlines = doc.scalarCount - newlines
    if Double(duplicates.duplicateChars) / Double(charsWithoutNewlines) > charDuplicatesRatio {
      return .drop("char_dup_ratio")
    }

    // Words are at least the whitespace-separated words: when those already make the ratio
    // small enough, the tokenizer need not run.
    if newlines == 0 { return .keep }
    let lowerBound = doc.whitespaceWordCount
    if lowerBound > 0 && Double(newlines) / Double(lowerBound) <= newLineRatio { return .keep }
    let words = doc.wordCount(&tokenizer)
    // No words is impossible here (a line is not blank); 0 words would give +∞ (datatrove raises).
    if Double(newlines) / Double(words) > newLineRatio { return .drop("list_ratio") }
    return .keep
  }

  /// Calls `body` with each line of `text.split("\n")` that is not blank after `lstrip()`.
  @inline(__always)
  static func forEachNonBlankLine(_ base: UnsafePointer<UInt8>, _ end: Int, _ body: (Range<Int>) -> Void) {
    var start = 0
    while start <= end {
      let stop: Int
      if start < end, let hit = memchr(base + start, 0x0A, end - start) {
        stop = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
      } else {
        stop = end
      }
      if !PyText.lstrip(base, start..<stop).isEmpty { body(start..<stop) }
      start = stop + 1
    }
  }

  @inline(__always)
  private func endsWithStopChar(_ p: UnsafePointer<UInt8>, _ l: Range<Int>) -> Bool {
    if let stopChars {
      for s in stopChars where PyText.hasSuffix(p, l, s) { return true }
      return false
    }
    let last = p[l.upperBound - 1]
    if last < 0x80 { return last == UInt8(ascii: ".") || last == UInt8(ascii: "!") || last == UInt8(ascii: "?") }
    return terminal.contains(PyText.lastScalar(p, l))
  }
}
