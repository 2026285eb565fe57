import Glibc
import WinnowCore
import WinnowText

/// `c4_quality`: the C4 line and page rules (Raffel et al. 2020, "Exploring the Limits of
/// Transfer Learning…", §2.2, and the TFDS `c4_utils` code they cite), as datatrove 0.10.1's
/// `C4QualityFilter` implements them. It rewrites the text: lines are removed.
///
/// Every line of `text.splitlines()` is stripped, then, in order:
///
/// - a word (`line.split()`) longer than `max_word_length` characters → line removed
/// - `remove_citations`: `[<digits>]`, `[edit]` and `[citation needed]` are deleted (the line
///   is not stripped again)
/// - `filter_no_terminal_punct`: a line not ending in `.` `?` `!` `"` `'`, or ending in `...`
///   → removed
/// - fewer than `min_words_per_line` words (counted before citations were deleted) → removed
/// - `filter_lorem_ipsum`: "lorem ipsum" in `line.lower()` → document dropped, `lorem_ipsum`
/// - `filter_javascript`: "javascript" in `line.lower()` → removed
/// - `filter_curly_bracket`: `{` in the line → document dropped, `curly_bracket`
/// - `filter_policy`: "terms of use", "privacy policy", "cookie policy", "uses cookies",
///   "use of cookies" or "use cookies" in `line.lower()` → removed
///
/// The document is dropped as `too_few_sentences` when the kept lines hold fewer than
/// `min_num_sentences` sentences (datatrove's `split_into_sentences` per line, at least one
/// per line). The kept lines, joined by "\n" and stripped, become the text.
///
/// `-1` disables `min_num_sentences`, `min_words_per_line` and `max_word_length`, as in
/// datatrove. `split_paragraph: false` (sentences instead of lines) is not supported yet.
public final class C4QualityFilter: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "c4_quality",
    summary: "C4 rules (Raffel et al. 2020): remove short, unpunctuated, javascript and policy lines; drop pages with lorem ipsum, '{' or few sentences",
    parameters: [
      ParameterSpec(
        "split_paragraph", .bool, default: .bool(true),
        help: "apply the rules to lines (true, as C4); false (sentences) is not supported yet"),
      ParameterSpec(
        "remove_citations", .bool, default: .bool(true),
        help: "delete Wikipedia-style citations: [1], [edit], [citation needed]"),
      ParameterSpec(
        "filter_no_terminal_punct", .bool, default: .bool(true),
        help: "remove lines that do not end in . ? ! \" ' (or that end in ...)"),
      ParameterSpec(
        "min_num_sentences", .int(min: -1, max: nil), default: .int(5),
        help: "fewest sentences in the kept lines (-1 disables) → too_few_sentences"),
      ParameterSpec(
        "min_words_per_line", .int(min: -1, max: nil), default: .int(3),
        help: "remove lines with fewer whitespace-separated words (-1 disables)"),
      ParameterSpec(
        "max_word_length", .int(min: -1, max: nil), default: .int(1000),
        help: "remove lines with a word longer than this many characters (-1 disables)"),
      ParameterSpec(
        "filter_lorem_ipsum", .bool, default: .bool(true),
        help: "drop documents with a kept line containing 'lorem ipsum' (any case) → lorem_ipsum"),
      ParameterSpec(
        "filter_javascript", .bool, default: .bool(true), help: "remove lines containing 'javascript' (any case)"),
      ParameterSpec(
        "filter_curly_bracket", .bool, default: .bool(true),
        help: "drop documents with a kept line containing '{' → curly_bracket"),
      ParameterSpec(
        "filter_policy", .bool, default: .bool(true),
        help: "remove lines mentioning terms of use, privacy or cookie policies (any case)"),
      ParameterSpec(
        "language", .string, default: .string("en"),
        help: "language of the sentence splitter (datatrove's split_into_sentences)"),
    ],
    make: { (p, _) throws(WinnowError) in try C4QualityFilter(p) })

  let removeCitations: Bool
  let filterNoTerminalPunct: Bool
  let minNumSentences: Int
  let minWordsPerLine: Int
  let maxWordLength: Int
  let filterLoremIpsum: Bool, filterJavascript: Bool, filterCurlyBracket: Bool, filterPolicy: Bool
  var tokenizer: WordTokenizer
  /// The kept lines joined by "\n" (handed to the document when it is the new text), and where
  /// the first `min_num_sentences` of them are in it (the sentence rule needs no more).
  var output = ByteBuffer(capacity: 1 << 16)
  var firstKept: [Range<Int>] = []
  /// Searches a line for these phrases, in this order (`check` names them by place).
  var finder = LowercaseFinder(phrases: [lorem, javascript, cookie] + policyWithoutCookie + policyWithCookie)

  init(_ p: StageParameters) throws(WinnowError) {
    guard p.bool("split_paragraph") ?? true else {
      throw .usage(
        "stage 'c4_quality': split_paragraph false (the rules applied to spaCy sentences instead of lines) is not supported yet; use true (C4's line rules)"
      )
    }
    removeCitations = p.bool("remove_citations") ?? true
    filterNoTerminalPunct = p.bool("filter_no_terminal_punct") ?? true
    minNumSentences = p.int("min_num_sentences") ?? 5
    minWordsPerLine = p.int("min_words_per_line") ?? 3
    maxWordLength = p.int("max_word_length") ?? 1000
    filterLoremIpsum = p.bool("filter_lorem_ipsum") ?? true
    filterJavascript = p.bool("filter_javascript") ?? true
    filterCurlyBracket = p.bool("filter_curly_bracket") ?? true
    filterPolicy = p.bool("filter_policy") ?? true
    tokenizer = WordTokenizer(language: try p.tokenizerLanguage(stage: "c4_quality"))
  }

  static let lorem = Array("lorem ipsum".utf8)
  static let javascript = Array("javascript".utf8)
  static let cookie = Array("cookie".utf8)
  static let policyWithoutCookie = [Array("terms of use".utf8), Array("privacy policy".utf8)]
  static let policyWithCookie = ["cookie policy", "uses cookies", "use of cookies", "use cookies"].map { Array($0.utf8) }

  public func process(_ doc: Document) -> Verdict {
    let text = doc.text
    // The kept text is never longer than the text: reserved once, so lines are written in
    // place and never moved (reserved memory that is not written costs nothing).
    if output.capacity > max(1 << 24, 4 * text.count) { output = ByteBuffer(capacity: 1 << 16) }
    output.removeAll()
    output.reserve(text.count + 1)
    firstKept.removeAll(keepingCapacity: true)
    var keptCount = 0
    if let base = text.baseAddress {
      var lines = PyText.Lines(text)
      while let l = lines.next() {
        let line = PyText.strip(base, l)
        if maxWordLength != -1 && PyText.hasWordLonger(base, line, than: maxWordLength) { continue }
        // Words are counted before citations are removed, as in datatrove.
        let nWords = minWordsPerLine > 0 ? PyText.whitespaceWords(base, line) : 0
        // A line with citations goes at the end of the output with them removed, and is taken
        // back when it is not kept; any other line is checked where it is, and copied if kept.
        let mark = output.count
        let verdict: Verdict?
        if removeCitations && memchr(base + line.lowerBound, 0x5B, line.count) != nil {
          if keptCount > 0 { output.append(0x0A) }
          let start = output.count
          Self.removeCitations(base, line, into: output)
          verdict = check(output.base, start..<output.count, words: nWords)
          if verdict == nil { output.count = mark }
        } else {
          verdict = check(base, line, words: nWords)
          if verdict == .keep {
            if keptCount > 0 { output.append(0x0A) }
            output.append(base + line.lowerBound, count: line.count)
          }
        }
        switch verdict {
        case .drop(let reason)?: return .drop(reason)
        case .keep?, .copies?:  // (a line check never asks for copies)
          keptCount += 1
          let kept = (mark + (keptCount > 1 ? 1 : 0))..<output.count
          if firstKept.count < minNumSentences { firstKept.append(kept) }
        case nil: break
        }
      }
    }

    if minNumSentences > 0 && keptCount < minNumSentences {
      // Every line holds at least one sentence (datatrove's split_into_sentences never returns
      // an empty list), so the splitter runs only when there are fewer lines than needed.
      var sentences = 0
      let out = output.bytes
      for r in firstKept where sentences < minNumSentences {
        let n = r.isEmpty ? 1 : tokenizer.sentenceCount(UnsafeBufferPointer(rebasing: out[r]))
        sentences += max(1, n)
      }
      if sentences < minNumSentences { return .drop("too_few_sentences") }
    }

    // "\n".join(kept_lines).strip(); the document is rewritten only when that changes it.
    let o = output.base
    let r = PyText.strip(o, 0..<output.count)
    if r.count != text.count || (r.count > 0 && memcmp(o + r.lowerBound, text.baseAddress!, r.count) != 0) {
      if r.lowerBound > 0 { memmove(o, o + r.lowerBound, r.count) }
      output.count = r.count
      doc.setText(taking: &output)
    }
    doc.removeShadowedTextFields()
    return .keep
  }

  /// The rules after citation removal for one stripped line: nil to remove the line, `.keep`
  /// to keep it, `.drop` to drop the document.
  @inline(__always)
  private func check(_ p: UnsafePointer<UInt8>, _ line: Range<Int>, words: Int) -> Verdict? {
    if filterNoTerminalPunct {
      guard let last = line.isEmpty ? nil : p[line.upperBound - 1] else { return nil }
      switch last {
      case UInt8(ascii: "."):
        if line.count >= 3 && p[line.upperBound - 2] == UInt8(ascii: ".") && p[line.upperBound - 3] == UInt8(ascii: ".") {
          return nil
        }
      case UInt8(ascii: "?"), UInt8(ascii: "!"), UInt8(ascii: "\""), UInt8(ascii: "'"): break
      default: return nil
      }
    }
    if words < minWordsPerLine { return nil }
    let needLower = filterLoremIpsum || filterJavascript || filterPolicy
    if needLower { finder.load(p, line) }
    // Phrases by their place in the finder's list (`phraseIndex`): handing the arrays over
    // retained and released each one per line.
    if filterLoremIpsum && finder.contains(phraseAt: 0) { return .drop("lorem_ipsum") }
    if filterJavascript && finder.contains(phraseAt: 1) { return nil }
    if filterCurlyBracket && memchr(p + line.lowerBound, 0x7B, line.count) != nil { return .drop("curly_bracket") }
    if filterPolicy {
      for k in 3..<(3 + Self.policyWithoutCookie.count) where finder.contains(phraseAt: k) { return nil }
      if finder.contains(phraseAt: 2) {
        let first = 3 + Self.policyWithoutCookie.count
        for k in first..<(first + Self.policyWithCookie.count) where finder.contains(phraseAt: k) { return nil }
      }
    }
    return .keep
  }

  /// Appends `re.sub(r"\[\d*]|\[edit]|\[citation needed]", "", line)` to `out` (`\d` is any
  /// Unicode decimal digit, category Nd, as in Python's `re` on `str`).
  static func removeCitations(_ p: UnsafePointer<UInt8>, _ line: Range<Int>, into out: ByteBuffer) {
    var i = line.lowerBound
    var copied = line.lowerBound
    let end = line.upperBound
    let text = UnsafeBufferPointer(start: p, count: end)
    while i < end {
      guard p[i] == 0x5B else {
        i += 1
        continue
      }
      var matchEnd = -1
      // \[\d*]
      var j = i + 1
      while j < end {
        if p[j] >= 0x30 && p[j] <= 0x39 {
          j += 1
        } else if p[j] >= 0x80 {
          let (s, len) = UTF8Bytes.decode(text, at: j)
          guard s.properties.generalCategory == .decimalNumber else { break }
          j += len
        } else {
          break
        }
      }
      if j < end && p[j] == 0x5D {
        matchEnd = j + 1
      } else if PyText.hasPrefix(p, i..<end, edit) {
        matchEnd = i + edit.count
      } else if PyText.hasPrefix(p, i..<end, citationNeeded) {
        matchEnd = i + citationNeeded.count
      }
      if matchEnd < 0 {
        i += 1
        continue
      }
      out.append(p + copied, count: i - copied)
      i = matchEnd
      copied = matchEnd
    }
    out.append(p + copied, count: end - copied)
  }

  static let edit = Array("[edit]".utf8)
  static let citationNeeded = Array("[citation needed]".utf8)
}
