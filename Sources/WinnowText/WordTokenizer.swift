/// Splits text into the words that quality filters count, as datatrove's
/// `split_into_words` does: tokens of spaCy's tokenizer with whitespace-only
/// tokens left out. Tokens are half-open UTF-8 byte ranges of the text.
///
/// `language: "en"` (the default everywhere, as in datatrove) follows spaCy's
/// English tokenizer; other languages use ICU word segmentation, where each
/// word and each punctuation mark is a token (right for languages written
/// without spaces).
///
/// A value type holding its own scratch buffers: keep one per stage.
public struct WordTokenizer {
  public enum Kind: Sendable, Equatable { case spacyEnglish, icu }
  public let language: String
  public let kind: Kind
  var breaker = WordBreaker()
  var segments: [WordSegment] = []

  public init(language: String = "en") {
    self.language = language
    kind = language == "en" ? .spacyEnglish : .icu
  }

  /// The word tokens of `text` (whitespace tokens dropped), replacing `out`'s contents.
  public mutating func words(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Range<Int>]) {
    out.removeAll(keepingCapacity: true)
    switch kind {
    case .spacyEnglish, .icu:
      // Interim: ICU segments, whitespace dropped. The spaCy port replaces this.
      breaker.segments(in: text, into: &segments)
      for s in segments where !isAllWhitespace(text, s.range) { out.append(s.range) }
    }
  }

  /// How many sentences spaCy's sentencizer finds in `text` (datatrove's
  /// `len(split_into_sentences(text))`).
  public mutating func sentenceCount(_ text: UnsafeBufferPointer<UInt8>) -> Int {
    var words: [Range<Int>] = []
    self.words(text, into: &words)
    if words.isEmpty { return text.isEmpty ? 0 : 1 }
    var count = 1
    var seenPeriod = false
    for (i, w) in words.enumerated() {
      let isFinal = w.count == 1 && (text[w.lowerBound] == UInt8(ascii: ".") || text[w.lowerBound] == UInt8(ascii: "!") || text[w.lowerBound] == UInt8(ascii: "?"))
      if seenPeriod && !isFinal && i > 0 { count += 1; seenPeriod = false } else if isFinal { seenPeriod = true }
    }
    return count
  }

  private func isAllWhitespace(_ text: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
    var all = true
    UTF8Bytes.forEachScalar(in: UnsafeBufferPointer(rebasing: text[r])) { s, _ in
      if !UnicodeWhitespace.contains(s) { all = false }
    }
    return all
  }
}
