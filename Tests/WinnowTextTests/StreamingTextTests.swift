import Foundation
import Testing

@testable import WinnowText

/// Text made to meet the piece and batch boundaries of the streaming passes in every way:
/// English with contractions, abbreviations, emoticons and units (spaCy's special cases, some
/// of which span several tokens), Greek with final sigma, combining marks (also right after a
/// space), CJK, Thai, Arabic, emoji, Unicode spaces and line breaks, CRLF, controls (NUL
/// included), U+FFFD, noncharacters and private use, and runs of whitespace of every kind.
func mixedText(bytes: Int, seed: UInt64) -> String {
  let words = [
    "the", "The", "river", "runs", "can't", "don't", "I'm", "e.g.", "U.S.A.", "etc.", "10km", "5pm", ":)", ":-)",
    "a:-)", ":-))", "<3", "(:", "^_^", "o.O", "http://x.com/a?b=c", "foo@bar.com", "...", "!!", "?", ",", "(", ")",
    "\"quoted\"", "'s", "ΟΔΟΣ", "ΣΑΣ.", "οδός", "ΑΣ.Β", "café", "cafe\u{0301}", "\u{0301}", "e\u{0301}\u{0327}",
    "日本語", "中文字符", "ภาษาไทย", "مرحبا", "Привет", "straße", "İstanbul", "ﬁne", "①", "Ⅻ", "½", "👍🏽",
    "👨‍👩‍👧", "\u{FFFD}", "\u{FFFF}", "\u{E000}", "x\u{0}y", "\u{7}", "\u{1F}", "[1]", "[edit]", "{", "}", "#tag",
    "•", "-", "…", "3.14", "1,000", "٣٤", "x" + String(repeating: "y", count: 300),
  ]
  let separators = [
    " ", " ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", "\r", "\u{3000}", "\u{00A0}", "\u{2028}", " \n ", "\u{85}",
    "\u{B}", "\u{C}", "\n\n\n\n",
  ]
  var rng = SplitMix(seed: seed)
  var out = ""
  out.reserveCapacity(bytes + 64)
  var n = 0
  while n < bytes {
    let w = words[rng.below(words.count)]
    let s = separators[rng.below(separators.count)]
    out += w
    out += s
    n += w.utf8.count + s.utf8.count
  }
  return out
}

extension SplitMix {
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Tokens handed out in batches, joined.
private func batched(_ text: UnsafeBufferPointer<UInt8>, batchSize: Int) -> (tokens: [SpacyTokenizer.Token], batches: Int) {
  var t = SpacyTokenizer.english()
  t.batchSize = batchSize
  var all: [SpacyTokenizer.Token] = []
  var batches = 0
  t.forEachTokenBatch(text) { batch in
    #expect(!batch.isEmpty)
    all.append(contentsOf: batch)
    batches += 1
  }
  return (all, batches)
}

private func whole(_ text: UnsafeBufferPointer<UInt8>) -> [SpacyTokenizer.Token] {
  var t = SpacyTokenizer.english()
  var out: [SpacyTokenizer.Token] = []
  t.tokenizeWhole(text, into: &out)
  return out
}

@Suite("Streaming text passes: batches and pieces give what one pass over the whole text gives")
struct StreamingTextTests {
  @Test("spaCy tokens in batches equal one special-case pass over all tokens, at any batch size")
  func spacyBatches() {
    // Tokens are settled after each whitespace chunk: a text of many chunks comes in many
    // batches (one of one chunk in one or two).
    let texts = [
      (mixedText(bytes: 60_000, seed: 1), true), (mixedText(bytes: 60_000, seed: 2), true),
      // Emoticons and special cases packed together: matches chained across batch cuts.
      (String(repeating: "a:-) :-) :-)):-( (: :) e.g. can't", count: 400), true),
      (String(repeating: ":-) ", count: 3000), true),
      (String(repeating: ":-)", count: 3000), false),
      (String(repeating: ":", count: 500) + String(repeating: "-)", count: 500), false),
    ]
    for (text, chunks) in texts {
      withUTF8(text) { b in
        let reference = whole(b)
        for size in [1, 2, 3, 7, 64, 4096] {
          let (tokens, batches) = batched(b, batchSize: size)
          #expect(tokens == reference, "batch size \(size)")
          if size <= 64 && chunks { #expect(batches > 1, "batch size \(size)") }
        }
      }
    }
  }

  @Test("a 3 MB text: batched tokens, words and sentences equal the whole-text pass")
  func largeText() {
    let text = mixedText(bytes: 3 << 20, seed: 42)
    withUTF8(text) { b in
      let reference = whole(b)
      #expect(batched(b, batchSize: 4096).tokens == reference)
      var words: [Range<Int>] = []
      var en = WordTokenizer(language: "en")
      en.words(b, into: &words)
      #expect(words == reference.filter { !$0.isSpace }.map(\.range))
      #expect(en.wordCount(b) == words.count)
      #expect(en.sentenceCount(b) == SpacyRules.english.sentenceCount(b, reference))
    }
  }

  @Test("ICU words in batches equal the word segments; sentence count over them")
  func icuBatches() {
    let text = mixedText(bytes: 200_000, seed: 9)
    withUTF8(text) { b in
      var breaker = WordBreaker()
      var segments: [WordSegment] = []
      breaker.segments(in: b, into: &segments)
      func blank(_ r: Range<Int>) -> Bool {
        String(decoding: b[r], as: UTF8.self).unicodeScalars.allSatisfy { UnicodeWhitespace.contains($0) }
      }
      let reference = segments.map(\.range).filter { !blank($0) }
      var ja = WordTokenizer(language: "ja")
      var batches = 0
      var words: [Range<Int>] = []
      ja.forEachWordBatch(b) { batch in
        #expect(!batch.isEmpty && batch.count <= WordTokenizer.batchSize)
        words.append(contentsOf: batch)
        batches += 1
      }
      #expect(words == reference)
      #expect(batches > 1)
      let tokens = segments.map { SpacyTokenizer.Token(start: $0.start, end: $0.end, isSpace: blank($0.range)) }
      #expect(ja.sentenceCount(b) == SpacyRules.english.sentenceCount(b, tokens))
    }
  }

  @Test("empty text: no batch, no words, no sentences")
  func empty() {
    withUTF8("") { b in
      #expect(batched(b, batchSize: 4).batches == 0)
      for language in ["en", "ja"] {
        var t = WordTokenizer(language: language)
        var calls = 0
        t.forEachWordBatch(b) { _ in calls += 1 }
        #expect(calls == 0)
        #expect(t.sentenceCount(b) == 0)
      }
    }
    // Whitespace alone: spaCy keeps whitespace tokens, but there are no words.
    withUTF8(" \n\n\t ") { b in
      var t = WordTokenizer(language: "en")
      #expect(t.wordCount(b) == 0)
    }
  }

  @Test("ill-formed UTF-8 (library callers may pass any bytes): batches still equal the whole pass")
  func illFormed() {
    var bytes = Array(mixedText(bytes: 20_000, seed: 5).utf8)
    var rng = SplitMix(seed: 77)
    for _ in 0..<200 { bytes[rng.below(bytes.count)] = [0xFF, 0xC0, 0x80, 0xE2, 0xED, 0xF4][rng.below(6)] }
    bytes.withUnsafeBufferPointer { b in
      let reference = whole(b)
      for size in [3, 4096] { #expect(batched(b, batchSize: size).tokens == reference) }
    }
  }

  @Test("text pieces tile the text and end after a space, tab or line feed")
  func pieces() {
    let text = mixedText(bytes: 100_000, seed: 3)
    withUTF8(text) { b in
      for size in [1, 10, 1000, 1 << 16, 1 << 30] {
        var joined: [UInt8] = []
        var count = 0
        var sawLast = false
        TextPieces.forEach(b, size: size) { piece, last in
          #expect(!sawLast)
          sawLast = last
          if !last { #expect([0x20, 0x0A, 0x09].contains(piece.last!)) }
          joined.append(contentsOf: piece)
          count += 1
        }
        #expect(sawLast)
        #expect(joined == Array(b))
        if size >= 1 << 30 { #expect(count == 1) }
      }
    }
    // No space, tab or line feed: one piece; the empty text is one empty piece.
    withUTF8(String(repeating: "日本語", count: 30_000)) { b in
      var count = 0
      TextPieces.forEach(b, size: 100) { _, _ in count += 1 }
      #expect(count == 1)
    }
    withUTF8("") { b in
      var calls: [(Int, Bool)] = []
      TextPieces.forEach(b) { calls.append(($0.count, $1)) }
      #expect(calls.count == 1 && calls[0] == (0, true))
    }
  }

  /// `body` applied piece by piece, joined.
  private func piecewise(_ b: UnsafeBufferPointer<UInt8>, size: Int, _ body: (UnsafeBufferPointer<UInt8>) -> [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    TextPieces.forEach(b, size: size) { piece, _ in out += body(piece) }
    return out
  }

  @Test("NFC, NFKC, NFKC_Casefold, NFD and lower case piece by piece equal the whole text's")
  func normalisationInPieces() {
    // Marks right after spaces and line feeds, final sigma before whitespace, and the rest.
    let texts = [
      mixedText(bytes: 150_000, seed: 11),
      String(repeating: "ΟΔΟΣ \u{0301}x ΑΣ\n\u{0327}b ΣΑΣ\tΣ ", count: 2000),
    ]
    var n = TextNormalizer()
    for text in texts {
      withUTF8(text) { b in
        for form in NormalizationForm.allCases {
          var all: [UInt8] = []
          n.normalize(b, form: form, into: &all)
          for size in [1, 7, 4096] {
            let pieces = piecewise(b, size: size) { piece in
              var out: [UInt8] = []
              n.normalize(piece, form: form, into: &out)
              return out
            }
            #expect(pieces == all, "\(form), pieces of \(size)")
          }
        }
        var lowered: [UInt8] = []
        n.lowercase(b, into: &lowered)
        for size in [1, 7, 4096] {
          let pieces = piecewise(b, size: size) { piece in
            var out: [UInt8] = []
            n.lowercase(piece, into: &out)
            return out
          }
          #expect(pieces == lowered, "lowercase, pieces of \(size)")
        }
      }
    }
  }

  @Test("the dedup key given in pieces is the whole text's key")
  func dedupKeyPieces() {
    let texts = [
      mixedText(bytes: 150_000, seed: 12), "", "   ", " \n lead and trail \t ", "ΟΔΟΣ ΟΔΟΣ",
      String(repeating: "Ａ ｂ\u{00A0}c  \n\n d\u{0301} ", count: 3000),
    ]
    for text in texts {
      withUTF8(text) { b in
        var n = DedupKeyNormalizer()
        var reference: [UInt8] = []
        n.normalize(b, into: &reference)
        for size in [1, 5, 4096, 1 << 16] {
          n.pieceSize = size
          var joined: [UInt8] = []
          n.forEachKeyPiece(b) { joined.append(contentsOf: $0) }
          #expect(joined == reference, "pieces of \(size)")
        }
      }
    }
  }
}
