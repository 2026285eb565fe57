/// Splits text into the words that quality filters count, as datatrove's
/// `split_into_words` does: the tokens of spaCy's tokenizer, whitespace
/// tokens left out. Tokens are half-open UTF-8 byte ranges of the text.
///
/// `language: "en"` (the default everywhere, as in datatrove) is spaCy's
/// English tokenizer (`SpacyTokenizer`), which datatrove also applies to text
/// in other languages unless told otherwise. Other language codes use ICU
/// word segmentation, where each word and each punctuation mark is a token:
/// right for languages written without spaces, but not datatrove's
/// per-language tokenizers (those need models or packages it downloads).
///
/// A value type holding its own scratch buffers: keep one per stage.
public struct WordTokenizer {
  public enum Kind: Sendable, Equatable { case spacyEnglish, icu }
  public let language: String
  public let kind: Kind
  var spacy: SpacyTokenizer?
  var breaker = WordBreaker()
  var segments: [WordSegment] = []
  var tokens: [SpacyTokenizer.Token] = []

  public init(language: String = "en") {
    self.language = language
    kind = language == "en" ? .spacyEnglish : .icu
    if kind == .spacyEnglish { spacy = .english() }
  }

  /// The word tokens of `text` (whitespace tokens dropped), replacing `out`'s contents.
  public mutating func words(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Range<Int>]) {
    out.removeAll(keepingCapacity: true)
    switch kind {
    case .spacyEnglish:
      spacy!.tokenize(text, into: &tokens)
      for t in tokens where !t.isSpace { out.append(t.range) }
    case .icu:
      breaker.segments(in: text, into: &segments)
      for s in segments where !isAllWhitespace(text, s.range) { out.append(s.range) }
    }
  }

  /// How many sentences spaCy's sentencizer finds in `text` (datatrove's
  /// `len(split_into_sentences(text))`). With ICU word segmentation the same
  /// rule runs over ICU's tokens.
  public mutating func sentenceCount(_ text: UnsafeBufferPointer<UInt8>) -> Int {
    switch kind {
    case .spacyEnglish:
      spacy!.tokenize(text, into: &tokens)
      return spacy!.sentenceCount(text, tokens)
    case .icu:
      breaker.segments(in: text, into: &segments)
      tokens.removeAll(keepingCapacity: true)
      for s in segments { tokens.append(.init(start: s.start, end: s.end, isSpace: isAllWhitespace(text, s.range))) }
      return SpacyRules.english.sentenceCount(text, tokens)
    }
  }

  private func isAllWhitespace(_ text: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
    var all = true
    UTF8Bytes.forEachScalar(in: UnsafeBufferPointer(rebasing: text[r])) { s, _ in
      if !UnicodeWhitespace.contains(s) { all = false }
    }
    return all
  }
}
