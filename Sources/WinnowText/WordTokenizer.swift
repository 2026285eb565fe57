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
/// Words are handed out in batches (`forEachWordBatch`), so that a long text's
/// words need not all be held at once.
///
/// A value type holding its own scratch buffers: keep one per stage.
public struct WordTokenizer {
  /// Which word splitter a language gets: the spaCy English rules, or ICU word boundaries.
  public enum Kind: Sendable, Equatable { case spacyEnglish, icu }
  public let language: String
  public let kind: Kind
  /// Made on first use: compiling spaCy's rules takes a few milliseconds, which a task that
  /// builds a word-counting stage but never runs it (a later pass of a recipe) need not pay.
  var spacy: SpacyTokenizer?
  var breaker = WordBreaker()
  var batch: [Range<Int>] = []

  /// Words per batch of `forEachWordBatch` (about; spaCy's batches can be a little longer).
  public static let batchSize = 4096

  public init(language: String = "en") {
    self.language = language
    kind = language == "en" ? .spacyEnglish : .icu
  }

  /// The word tokens of `text` (whitespace tokens dropped), replacing `out`'s contents.
  public mutating func words(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Range<Int>]) {
    out.removeAll(keepingCapacity: true)
    forEachWordBatch(text) { out.append(contentsOf: $0) }
  }

  /// Calls `body` with the word tokens of `text` in order, a batch at a time (never an empty
  /// one). A batch is valid only during the call.
  public mutating func forEachWordBatch(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<Range<Int>>) -> Void) {
    // Moved out while in use, so that the closures below do not capture `self`.
    var batch = self.batch
    self.batch = []
    batch.removeAll(keepingCapacity: true)
    switch kind {
    case .spacyEnglish:
      // Mutated in place: moving the tokenizer out and back copied its every buffer and table
      // reference (retained, then released) for each text.
      if spacy == nil { spacy = .english() }
      spacy!.forEachTokenBatch(text) { tokens in
        // The word tokens written in place (no check per append): room for all, then the
        // whitespace tokens' share cut off.
        batch.append(contentsOf: repeatElement(0..<0, count: tokens.count))
        let kept = batch.withUnsafeMutableBufferPointer { out in
          var k = 0
          for t in tokens where !t.isSpace {
            out[k] = Range(uncheckedBounds: (t.start, t.end))
            k &+= 1
          }
          return k
        }
        batch.removeLast(tokens.count &- kept)
        if !batch.isEmpty {
          batch.withUnsafeBufferPointer(body)
          batch.removeAll(keepingCapacity: true)
        }
      }
    case .icu:
      breaker.forEachSegment(in: text) { s in
        guard !Self.isAllWhitespace(text, s.range) else { return }
        batch.append(s.range)
        if batch.count >= Self.batchSize {
          batch.withUnsafeBufferPointer(body)
          batch.removeAll(keepingCapacity: true)
        }
      }
      if !batch.isEmpty { batch.withUnsafeBufferPointer(body) }
    }
    batch.removeAll(keepingCapacity: true)
    self.batch = batch
  }

  /// How many word tokens `text` has.
  public mutating func wordCount(_ text: UnsafeBufferPointer<UInt8>) -> Int {
    var n = 0
    forEachWordBatch(text) { n += $0.count }
    return n
  }

  /// How many sentences spaCy's sentencizer finds in `text` (datatrove's
  /// `len(split_into_sentences(text))`). With ICU word segmentation the same
  /// rule runs over ICU's tokens. The tokens are not held.
  public mutating func sentenceCount(_ text: UnsafeBufferPointer<UInt8>) -> Int {
    switch kind {
    case .spacyEnglish:
      if spacy == nil { spacy = .english() }
      return spacy!.sentenceCount(text)
    case .icu:
      var counter = SentenceCounter()
      let rules = SpacyRules.english
      breaker.forEachSegment(in: text) { s in
        counter.add(text, .init(start: s.start, end: s.end, isSpace: Self.isAllWhitespace(text, s.range)), rules)
      }
      return counter.sentences
    }
  }

  private static func isAllWhitespace(_ text: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
    var all = true
    UTF8Bytes.forEachScalar(in: UnsafeBufferPointer(rebasing: text[r])) { s, _ in
      if !UnicodeWhitespace.contains(s) { all = false }
    }
    return all
  }
}
