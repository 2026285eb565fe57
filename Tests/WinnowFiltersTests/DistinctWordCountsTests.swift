import Testing

@testable import WinnowCore
@testable import WinnowFilters

/// gopher_quality after gopher_repetition reads the words gopher_repetition counted (each
/// distinct word once, times its occurrences) instead of splitting the text again: its counts
/// must equal those of gopher_quality alone, and stale counts must never be read.
@Suite("gopher_quality reads gopher_repetition's distinct words")
struct DistinctWordCountsTests {
  /// gopher_repetition that keeps every document it counts words for (n-gram fractions of 1).
  func repetition(_ extra: [String: any Sendable] = [:]) throws -> GopherRepetitionFilter {
    var params: [String: any Sendable] = [
      "dup_line_frac": 0, "dup_para_frac": 0, "dup_line_char_frac": 0, "dup_para_char_frac": 0,
      "top_n_grams": ["2:1", "3:1"], "dup_n_grams": ["5:1"],
    ]
    for (k, v) in extra { params[k] = v }
    return try #require(try quality(GopherRepetitionFilter.descriptor, params).stage as? GopherRepetitionFilter)
  }

  func gopherQuality(_ extra: [String: any Sendable] = [:]) throws -> GopherQualityFilter {
    try #require(try quality(GopherQualityFilter.descriptor, extra).stage as? GopherQualityFilter)
  }

  func document(_ text: String) throws -> Document {
    try Document(json: String(decoding: docLine(id: "t", text: text), as: UTF8.self))
  }

  /// Texts of words that split in different ways: punctuation, symbols only, non-ASCII letters
  /// and punctuation, stop words, '#', ellipses, contractions, numbers, bullets.
  static func texts(count: Int, seed: UInt64) -> [String] {
    let vocabulary = [
      "the", "The", "and", "of", "to", "be", "with", "that", "have", "fox", "jumps", "river",
      "foo-bar", "#tag", "#", "...", "…", "Straße", "über", "Маленькая", "我们", "。", "—", "(x)",
      "e.g.", "U.S.", "1,000", "can't", "12km", "hello,", "!!!", "a", "-", "•", "don't", "“quoted”",
      "x86_64", "/usr/bin/env", "--flag=value", "http://example.com/a?b=c", "3.14", "$5", "C++", "é",
    ]
    var state = seed
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    return (0..<count).map { _ in
      let words = Int(next() % 300)
      var s = ""
      for k in 0..<words {
        s += vocabulary[Int(next() % UInt64(vocabulary.count))]
        s += k % 13 == 12 ? "\n" : next() % 7 == 0 ? "  " : " "
      }
      return s
    }
  }

  @Test("counts after gopher_repetition equal gopher_quality's own, for 300 varied texts")
  func sameCounts() throws {
    let rep = try repetition()
    let shared = try gopherQuality(["min_stop_words": 8])
    let alone = try gopherQuality(["min_stop_words": 8])
    var usedShared = 0
    for text in Self.texts(count: 300, seed: 19) {
      let doc = try document(text)
      let verdict = rep.process(doc)
      if verdict == .keep, doc.cached(DistinctWordCounts.key) != nil { usedShared += 1 }
      let a = shared.wordStats(doc)
      let b = alone.wordStats(try document(text))
      #expect(a == b, "\(text.prefix(80))")
      #expect(a.words > 0 || text.allSatisfy(\.isWhitespace))
    }
    // The shared path was taken (gopher_repetition keeps every document with words).
    #expect(usedShared > 250)
  }

  @Test("stale counts are not read: a later document, a rewritten text, another language")
  func staleCounts() throws {
    let rep = try repetition()
    let q = try gopherQuality()
    let texts = Self.texts(count: 3, seed: 7)
    // Words of a, then words of b loaded into the same counter: a's counts are gone.
    let a = try document(texts[0])
    let b = try document(texts[1])
    #expect(rep.process(a) == .keep)
    #expect(rep.process(b) == .keep)
    let stale = try #require(a.cached(DistinctWordCounts.key))
    #expect(stale.forEach { _, _, _ in } == nil)
    #expect(q.wordStats(a) == q.wordStats(try document(texts[0])))
    #expect(q.wordStats(b) == q.wordStats(try document(texts[1])))
    // The text rewritten after gopher_repetition: the counts are dropped with it.
    let c = try document(texts[1])
    #expect(rep.process(c) == .keep)
    c.setText(texts[2])
    #expect(c.cached(DistinctWordCounts.key) == nil)
    #expect(q.wordStats(c) == q.wordStats(try document(texts[2])))
    // Counts made with another tokenizer language are not used by an English gopher_quality.
    let icu = try repetition(["language": "de"])
    let d = try document(texts[2])
    #expect(icu.process(d) == .keep)
    #expect(d.cached(DistinctWordCounts.key)?.language == "de")
    #expect(q.wordStats(d) == q.wordStats(try document(texts[2])))
  }

  @Test("a document gopher_repetition drops publishes no counts")
  func droppedDocument() throws {
    let rep = try repetition(["top_n_grams": ["2:0.01"]])
    let doc = try document(repeated("the river", 40))
    #expect(rep.process(doc) == .drop("top_2_gram"))
    #expect(doc.cached(DistinctWordCounts.key) == nil)
  }
}
