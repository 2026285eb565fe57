import WinnowCore

/// `length`: keeps documents whose character, word and line counts lie within bounds.
/// Characters are Unicode code points; words are whitespace-separated tokens (Python's
/// `str.split()`); lines are separated by `\n`.
public final class LengthFilter: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "length",
    summary: "Keep documents whose characters, words and lines lie within bounds",
    parameters: [
      ParameterSpec("min_chars", .int(min: 0, max: nil), help: "fewest Unicode characters (code points)"),
      ParameterSpec("max_chars", .int(min: 0, max: nil), help: "most Unicode characters (code points)"),
      ParameterSpec("min_words", .int(min: 0, max: nil), help: "fewest whitespace-separated words"),
      ParameterSpec("max_words", .int(min: 0, max: nil), help: "most whitespace-separated words"),
      ParameterSpec("min_lines", .int(min: 0, max: nil), help: "fewest lines"),
      ParameterSpec("max_lines", .int(min: 0, max: nil), help: "most lines"),
    ],
    make: { (p, _) throws(WinnowError) in try LengthFilter(p) })

  let minChars: Int?, maxChars: Int?
  let minWords: Int?, maxWords: Int?
  let minLines: Int?, maxLines: Int?

  init(_ p: StageParameters) throws(WinnowError) {
    minChars = p.int("min_chars")
    maxChars = p.int("max_chars")
    minWords = p.int("min_words")
    maxWords = p.int("max_words")
    minLines = p.int("min_lines")
    maxLines = p.int("max_lines")
    for (lo, hi, what) in [(minChars, maxChars, "chars"), (minWords, maxWords, "words"), (minLines, maxLines, "lines")] {
      if let lo, let hi, lo > hi {
        throw .usage("stage 'length': min_\(what) (\(lo)) is greater than max_\(what) (\(hi))")
      }
    }
  }

  public func process(_ doc: Document) -> Verdict {
    if minChars != nil || maxChars != nil {
      let n = doc.scalarCount
      if let minChars, n < minChars { return .drop("too_few_chars") }
      if let maxChars, n > maxChars { return .drop("too_many_chars") }
    }
    if minWords != nil || maxWords != nil {
      let n = doc.whitespaceWordCount
      if let minWords, n < minWords { return .drop("too_few_words") }
      if let maxWords, n > maxWords { return .drop("too_many_words") }
    }
    if minLines != nil || maxLines != nil {
      let n = doc.lineCount
      if let minLines, n < minLines { return .drop("too_few_lines") }
      if let maxLines, n > maxLines { return .drop("too_many_lines") }
    }
    return .keep
  }
}
