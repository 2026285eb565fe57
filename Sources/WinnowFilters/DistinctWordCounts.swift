import WinnowCore

/// A document's words as `gopher_repetition` counted them (each distinct word once, with its
/// number of occurrences), shared on the document so that `gopher_quality` after it classifies
/// each distinct word once instead of every occurrence: both split with datatrove's
/// `split_into_words` and read the same tokens.
///
/// The words live in the filter's `NGramCounter`, reused from document to document; this
/// value names the load it was made from, and reading it after a later load (or after the
/// counter gave outsized memory back) finds nothing, and the reader splits the text itself.
/// The document's cache drops it as soon as the text changes or the next document is read.
struct DistinctWordCounts {
  static let key = DocumentCacheKey<DistinctWordCounts>("distinct_word_counts")

  let source: GopherRepetitionFilter
  let load: UInt64
  /// The tokenizer's language: only a stage splitting the same way may use the counts.
  let language: String

  /// Calls `body(start, length, occurrences)` for each distinct word (by byte range of the
  /// text) and returns how many words the text has, or nil when the words are gone.
  func forEach(_ body: (_ start: Int, _ length: Int, _ occurrences: Int) -> Void) -> Int? {
    source.forEachDistinctWord(ofLoad: load, body)
  }
}
