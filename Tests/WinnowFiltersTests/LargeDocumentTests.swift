import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters
import WinnowText

// The stages that work on long texts a piece, a batch or a sketch at a time give what the
// plain computation over the whole text gives: checked against straightforward references
// (datatrove's algorithms written with strings and dictionaries), and between the pieced and
// the whole-text runs of the same code, on generated documents of several megabytes.

/// Deterministic text with repeats at every scale (words, phrases, lines, paragraphs), several
/// scripts, URLs, e-mail and IP addresses, phone numbers, controls, Unicode spaces and line
/// breaks; `bytes` long, about.
func generatedText(bytes: Int, seed: UInt64) -> String {
  var rng = SplitMix(seed: seed)
  func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
  let vocabulary = [
    "the", "of", "and", "to", "a", "in", "is", "it", "that", "river", "valley", "mill", "farm", "sea", "bridge", "stone",
    "town", "school", "can't", "don't", "e.g.", "U.S.", "10km", ":)", ":-)", "(", ")", ",", ".", "!", "?", "...", "…",
    "\"", "'s", "#", "•", "-", "Straße", "über", "café", "cafe\u{301}", "ΟΔΟΣ", "οδός", "Привет", "мир", "日本語", "中文",
    "ภาษา", "مرحبا", "👍🏽", "①", "Ｆｕｌｌ", "ﬁne", "[1]", "[edit]", "javascript", "lorem", "ipsum", "cookie", "policy",
    "alice@example.com", "bob.smith@mail.example.org", "8.8.8.8", "192.168.0.1", "203.0.113.9", "+49 30 1234567",
    "(555) 123-4567", "http://example.com/a?b=c", "x\u{0}y", "\u{7}", "\u{FFFD}", "\u{E000}", "\u{A0}", "\u{2009}",
  ]
  let phrases = (0..<40).map { _ in (0..<(3 + below(9))).map { _ in vocabulary[below(vocabulary.count)] }.joined(separator: " ") }
  let lines = (0..<25).map { _ in phrases[below(phrases.count)] + " " + phrases[below(phrases.count)] + "." }
  var out = ""
  out.reserveCapacity(bytes + 256)
  var n = 0
  while n < bytes {
    let piece: String
    switch below(10) {
    case 0, 1: piece = lines[below(lines.count)]
    case 2, 3, 4: piece = phrases[below(phrases.count)]
    default: piece = (0..<(2 + below(20))).map { _ in vocabulary[below(vocabulary.count)] }.joined(separator: " ")
    }
    let separator = ["\n", "\n\n", " ", " ", "  ", "\t", "\r\n", "\n\n\n", "\u{2028}", " \n"][below(10)]
    out += piece
    out += separator
    n += piece.utf8.count + separator.utf8.count
  }
  return out
}

// MARK: - gopher_repetition against datatrove's algorithm

/// datatrove 0.10.1's `GopherRepetitionFilter` statistics, computed the plain way: the
/// fractions each rule compares with its threshold. Strings are compared as Python does, code
/// point by code point (as UTF-8 bytes; Swift's `==` would equate "é" and "e\u{301}").
struct RepetitionReference {
  var paragraphFraction = 0.0
  var paragraphCharFraction = 0.0
  var lineFraction = 0.0
  var lineCharFraction = 0.0
  var top: [Int: Double] = [:]
  var duplicated: [Int: Double] = [:]

  init(text: String, words: [String], top topN: [Int], duplicated dupN: [Int]) {
    let scalars = Array(text.unicodeScalars)
    let chars = Double(scalars.count)
    func isSpace(_ s: Unicode.Scalar) -> Bool { UnicodeWhitespace.contains(s) }
    var lo = 0
    var hi = scalars.count
    while lo < hi && isSpace(scalars[lo]) { lo += 1 }
    while hi > lo && isSpace(scalars[hi - 1]) { hi -= 1 }
    /// `re.split` at runs of at least `least` newlines.
    func split(_ s: ArraySlice<Unicode.Scalar>, least: Int) -> [String] {
      var out: [String] = []
      var current = String.UnicodeScalarView()
      var i = s.startIndex
      while i < s.endIndex {
        if s[i] == "\n" {
          var j = i
          while j < s.endIndex && s[j] == "\n" { j += 1 }
          if j - i >= least {
            out.append(String(current))
            current = String.UnicodeScalarView()
          } else {
            current.append(contentsOf: s[i..<j])
          }
          i = j
        } else {
          current.append(s[i])
          i += 1
        }
      }
      out.append(String(current))
      return out
    }
    func duplicates(_ items: [String]) -> (elements: Int, chars: Int) {
      var seen = Set<[UInt8]>()
      var elements = 0
      var chars = 0
      for x in items where !seen.insert(Array(x.utf8)).inserted {
        elements += 1
        chars += x.unicodeScalars.count
      }
      return (elements, chars)
    }
    let paragraphs = split(scalars[lo..<hi], least: 2)
    let p = duplicates(paragraphs)
    paragraphFraction = Double(p.elements) / Double(paragraphs.count)
    paragraphCharFraction = Double(p.chars) / chars
    let lines = split(scalars[...], least: 1)
    let l = duplicates(lines)
    lineFraction = Double(l.elements) / Double(lines.count)
    lineCharFraction = Double(l.chars) / chars
    for n in topN where words.count >= n {
      // Counter.most_common(1): the highest count, the first to appear among equals.
      var counts: [[UInt8]: (count: Int, first: Int)] = [:]
      for i in 0...(words.count - n) {
        let gram = Array(words[i..<(i + n)].joined(separator: " ").utf8)
        counts[gram, default: (0, i)].count += 1
      }
      let best = counts.max { a, b in a.value.count != b.value.count ? a.value.count < b.value.count : a.value.first > b.value.first }!
      top[n] = Double(String(decoding: best.key, as: UTF8.self).unicodeScalars.count * best.value.count) / chars
    }
    for n in dupN {
      var unique = Set<[UInt8]>()
      var repeated = 0
      var idx = 0
      while idx < words.count - n + 1 {
        let gram = Array(words[idx..<(idx + n)].joined().utf8)
        if unique.contains(gram) {
          repeated += String(decoding: gram, as: UTF8.self).unicodeScalars.count
          idx += n
        } else {
          unique.insert(gram)
          idx += 1
        }
      }
      duplicated[n] = Double(repeated) / chars
    }
  }
}

private let noRules: [String: any Sendable] = [
  "dup_line_frac": 0, "dup_para_frac": 0, "dup_line_char_frac": 0, "dup_para_char_frac": 0,
  "top_n_grams": [String](), "dup_n_grams": [String](),
]

/// Whether `stage` (one rule enabled at `threshold` and its next smaller number) keeps and drops
/// as datatrove would for a rule whose statistic is `fraction`: `fraction > threshold` drops.
private func expectSharp(
  _ text: String, _ fraction: Double, _ make: (Double) throws -> NamedStage, _ name: String, wide: Bool = false,
  sketch: Bool = false, budget: Int? = nil
) throws {
  guard fraction > 0 else { return }  // a threshold of 0 disables the rule
  for (threshold, drops) in [(fraction, false), (fraction.nextDown, true)] {
    let stage = try make(threshold)
    if let g = stage.stage as? GopherRepetitionFilter {
      if wide { g.wideFrom = 0 }
      // The sketches, which only long texts get, for this text too.
      if sketch {
        g.ngrams.sketchFrom = 0
        g.ngrams.candidateBudget = budget
        g.wideNGrams?.free()
        g.wideNGrams = NGramCounter<UInt64>()
        g.wideNGrams!.sketchFrom = 0
        g.wideNGrams!.candidateBudget = budget
      }
    }
    let got = try reason(stage, text)
    #expect(got == (drops ? name : nil), "\(name) at \(threshold) (statistic \(fraction))")
  }
}

/// Runs `body` over the UTF-8 bytes of `s`.
private func withUTF8<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
  try Array(s.utf8).withUnsafeBufferPointer(body)
}

@Suite("Long documents: pieced and streamed passes decide as the whole-text computation")
struct LargeDocumentTests {
  let repetition = GopherRepetitionFilter.descriptor

  @Test("gopher_repetition: every rule flips exactly at datatrove's statistic (32- and 64-bit word ids)")
  func repetitionAgainstReference() throws {
    for seed in [1, 2] as [UInt64] {
      let text = generatedText(bytes: 60_000, seed: seed)
      var tokenizer = WordTokenizer(language: "en")
      let words = withUTF8(text) { b in
        var out: [Range<Int>] = []
        tokenizer.words(b, into: &out)
        return out.map { String(decoding: b[$0], as: UTF8.self) }
      }
      let topN = [1, 2, 3, 4, 7]
      let dupN = [1, 2, 5, 10]
      let ref = RepetitionReference(text: text, words: words, top: topN, duplicated: dupN)
      let d = repetition
      func with(_ extra: [String: any Sendable]) throws -> NamedStage { try quality(d, noRules.merging(extra) { $1 }) }
      for wide in [false, true] {
        try expectSharp(text, ref.paragraphFraction, { try with(["dup_para_frac": $0]) }, "dup_para_frac", wide: wide)
        try expectSharp(text, ref.paragraphCharFraction, { try with(["dup_para_char_frac": $0]) }, "dup_para_char_frac", wide: wide)
        try expectSharp(text, ref.lineFraction, { try with(["dup_line_frac": $0]) }, "dup_line_frac", wide: wide)
        try expectSharp(text, ref.lineCharFraction, { try with(["dup_line_char_frac": $0]) }, "dup_line_char_frac", wide: wide)
      }
      // Without the sketch; with it, counting from the budget's threshold (few windows: a high
      // one, then the fallbacks) or from 2; with 64-bit ids.
      for (wide, sketch, budget) in [(false, false, nil), (false, true, 1), (false, true, 200), (false, true, nil), (true, true, 50)] {
        for n in topN {
          try expectSharp(
            text, ref.top[n]!, { try with(["top_n_grams": ["\(n):\($0)"]]) }, "top_\(n)_gram", wide: wide, sketch: sketch,
            budget: budget)
        }
        for n in dupN {
          try expectSharp(
            text, ref.duplicated[n]!, { try with(["dup_n_grams": ["\(n):\($0)"]]) }, "duplicated_\(n)_n_grams", wide: wide,
            sketch: sketch)
        }
      }
    }
  }

  /// A text of `count` words drawn from `pieces` (`word` may rename a drawn piece, given its
  /// position), each followed by `separator`, with the words' byte ranges.
  private func piecedText(
    _ pieces: [String], count: Int, separator: String, _ rng: inout SplitMix, word: (Int, String) -> String = { $1 }
  ) -> (text: String, ranges: [Range<Int>], words: [String]) {
    var text = ""
    var ranges: [Range<Int>] = []
    var words: [String] = []
    for k in 0..<count {
      let w = word(k, pieces[Int(rng.next() % UInt64(pieces.count))])
      let start = text.utf8.count
      text += w
      ranges.append(start..<text.utf8.count)
      words.append(w)
      text += separator
    }
    return (text, ranges, words)
  }

  /// Each rule of `ns` (top or duplicated n-grams) at the reference's exact fraction keeps
  /// the text, and just under it drops it.
  private func expectSharpRules(
    _ counter: inout NGramCounter<UInt32>, _ text: String, _ ranges: [Range<Int>], _ fractions: [Int: Double],
    _ ns: [Int], duplicated: Bool, _ label: String
  ) {
    let chars = Double(text.unicodeScalars.count)
    withUTF8(text) { b in
      for n in ns where fractions[n]! > 0 {
        for (t, drops) in [(fractions[n]!, false), (fractions[n]!.nextDown, true)] {
          let rule = GopherRepetitionFilter.NGramRule(n: n, fraction: t, reason: "rule")
          let v = counter.verdict(
            b.baseAddress!, words: ranges, top: duplicated ? [] : [rule], duplicated: duplicated ? [rule] : [],
            chars: chars)
          #expect(v == (drops ? .drop("rule") : .keep), "\(label): \(duplicated ? "dup" : "top") \(n) at \(t)")
        }
      }
    }
  }

  @Test("gopher_repetition n-gram rules over words holding spaces (\" \".join differs from the words)")
  func spacedWords() throws {
    // "a b" + "c" and "a" + "b c" join to the same "a b c"; "ab" + "c" and "a" + "bc" concatenate
    // to the same "abc". Words are given directly: tokenizers never make words with spaces.
    var rng = SplitMix(seed: 9)
    let pieces = ["a b", "c", "a", "b c", "ab", "bc", "a b c", "d", "e f"]
    for round in 0..<30 {
      let (text, ranges, words) = piecedText(pieces, count: 20 + Int(rng.next() % 200), separator: "|", &rng)
      let topN = [1, 2, 3]
      let dupN = [1, 2, 3]
      let ref = RepetitionReference(text: text, words: words, top: topN, duplicated: dupN)
      var counter = NGramCounter<UInt32>()
      defer { counter.free() }
      counter.sketchFrom = Int(rng.next() % 2) * 1_000_000
      expectSharpRules(&counter, text, ranges, ref.top, topN, duplicated: false, "round \(round)")
      expectSharpRules(&counter, text, ranges, ref.duplicated, dupN, duplicated: true, "round \(round)")
    }
  }

  @Test("gopher_repetition duplicated n-grams of 16 bytes and more, equal only as concatenations, in random texts")
  func longConcatenatedNGramsInRandomTexts() throws {
    // "abcdefgh" + "ijklmnop" and "abcd" + "efghijkl" + "mnop" concatenate to the same 16
    // bytes from different word boundaries: n-grams that long are looked up only where their
    // first 16 bytes start at another boundary too, and these must be found.
    var rng = SplitMix(seed: 21)
    let pieces = ["abcdefgh", "ijklmnop", "abcd", "efghijkl", "mnop", "qrstuvwxyz0123", "q", "rstuvwxyz0123", "unique"]
    for round in 0..<40 {
      // Some words occur once (the boundaries whose 16 bytes are not shared).
      let (text, ranges, words) = piecedText(pieces, count: 30 + Int(rng.next() % 300), separator: " ", &rng) { k, w in
        w == "unique" ? w + "\(round)x\(k)" : w
      }
      let dupN = [2, 3, 4, 5]
      let ref = RepetitionReference(text: text, words: words, top: [], duplicated: dupN)
      var counter = NGramCounter<UInt32>()
      defer { counter.free() }
      expectSharpRules(&counter, text, ranges, ref.duplicated, dupN, duplicated: true, "round \(round)")
    }
  }

  @Test("gopher_repetition: several top n-gram rules at once each flip exactly at the reference's fraction")
  func severalTopRulesAtOnce() {
    // Words of every weight (code points + 1) × count: the bound over the heaviest word, the
    // one over each window's rarest word and the count itself each decide some of the rules.
    var rng = SplitMix(seed: 33)
    let pieces = ["the", "of", "a", "kernel", "module", "données", "x", "Überprüfungsverfahren", "数据"]
    for round in 0..<40 {
      let (text, ranges, words) = piecedText(pieces, count: 2 + Int(rng.next() % 400), separator: " ", &rng) { k, w in
        k % 5 == 0 ? w + "\(k)" : w
      }
      let topN = [1, 2, 3, 4, 9].filter { $0 <= words.count }
      let ref = RepetitionReference(text: text, words: words, top: topN, duplicated: [])
      let chars = Double(text.unicodeScalars.count)
      var counter = NGramCounter<UInt32>()
      defer { counter.free() }
      withUTF8(text) { b in
        let exact = topN.map { GopherRepetitionFilter.NGramRule(n: $0, fraction: ref.top[$0]!, reason: "top \($0)") }
        #expect(counter.verdict(b.baseAddress!, words: ranges, top: exact, duplicated: [], chars: chars) == .keep)
        for (k, n) in topN.enumerated() where ref.top[n]! > 0 {
          var rules = exact
          rules[k] = GopherRepetitionFilter.NGramRule(n: n, fraction: ref.top[n]!.nextDown, reason: "top \(n)")
          let v = counter.verdict(b.baseAddress!, words: ranges, top: rules, duplicated: [], chars: chars)
          #expect(v == .drop("top \(n)"), "round \(round): n = \(n) just under its fraction")
        }
      }
    }
  }

  @Test("gopher_repetition on a 2 MB document: 32- and 64-bit ids agree on every rule set")
  func repetitionLarge() throws {
    let text = generatedText(bytes: 2 << 20, seed: 11)
    let params: [[String: any Sendable]] = [
      ["top_n_grams": ["2:0.01", "3:0.005"], "dup_n_grams": ["5:0.9"]],
      ["dup_line_frac": 0, "dup_para_frac": 0, "dup_line_char_frac": 0, "dup_para_char_frac": 0, "dup_n_grams": ["6:0.5"]],
    ]
    for p in params {
      let narrow = try quality(repetition, p)
      let wide = try quality(repetition, p)
      (wide.stage as! GopherRepetitionFilter).wideFrom = 0
      #expect(try reason(narrow, text) == reason(wide, text), "\(p)")
    }
  }

  @Test("duplicate lines: the compact and the wide table count as a set of strings does")
  func duplicateCounter() {
    var rng = SplitMix(seed: 4)
    let pool = ["", "a", "b", "ab", "ba", "é", "日本", "same length", "same lengtH", "x y z", String(repeating: "long ", count: 50)]
    for _ in 0..<50 {
      let items = (0..<(1 + Int(rng.next() % 400))).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
      let text = items.joined(separator: "\n")
      var seen = Set<[UInt8]>()
      var duplicates = 0
      var duplicateChars = 0
      for x in items where !seen.insert(Array(x.utf8)).inserted {
        duplicates += 1
        duplicateChars += x.unicodeScalars.count
      }
      withUTF8(text) { b in
        for wide in [false, true] {
          var counter = DuplicateCounter()
          counter.reset(elements: items.count, textLength: wide ? Int(UInt32.max) : b.count)
          var start = 0
          for x in items {
            let n = x.utf8.count
            counter.add(b.baseAddress ?? UnsafePointer(bitPattern: 1)!, start..<(start + n))
            start += n + 1
          }
          #expect(counter.added == items.count)
          #expect(counter.duplicates == duplicates)
          #expect(counter.duplicateChars == duplicateChars)
        }
      }
    }
  }

  // MARK: - Pieces

  /// The whole document after `stage`, as written.
  private func written(_ stage: NamedStage, _ line: [UInt8]) throws -> (reason: String?, line: [UInt8]) {
    let doc = try Document(json: String(decoding: line, as: UTF8.self))
    let r = try Pipeline(stages: [stage]).process(doc)?.reason
    return (r, Array(doc.serialized))
  }

  @Test("normalize: a 2 MB text in pieces of any size gives the whole-text result, lower-cased copy included")
  func normalizePieces() throws {
    let messy = generatedText(bytes: 2 << 20, seed: 21)
    let line = docLine(id: "n", text: messy)
    for params in [[:], ["form": "nfkc", "lowercase_field": "low"], ["max_blank_lines": "0", "strip": "false"]] as [[String: any Sendable]] {
      let reference = try quality(NormalizeStage.descriptor, params)
      (reference.stage as! NormalizeStage).pieceSize = Int.max / 2
      let want = try written(reference, line)
      for size in [1, 100, 1 << 16] {
        let stage = try quality(NormalizeStage.descriptor, params)
        (stage.stage as! NormalizeStage).pieceSize = size
        let got = try written(stage, line)
        #expect(got.line == want.line, "\(params), pieces of \(size)")
      }
    }
  }

  @Test("normalize: controls removed between a letter and its mark compose in pieces as in the whole text")
  func normalizeRecompose() throws {
    let text = String(repeating: "e\u{7}\u{301} a\u{0}\u{308}\nΣ\u{1F}\u{301} ", count: 20_000)
    let reference = try quality(NormalizeStage.descriptor)
    (reference.stage as! NormalizeStage).pieceSize = Int.max / 2
    let stage = try quality(NormalizeStage.descriptor)
    (stage.stage as! NormalizeStage).pieceSize = 7
    let line = docLine(id: "r", text: text)
    let want = try written(reference, line)
    #expect(try written(stage, line).line == want.line)
    #expect(try outcome(stage, text).text.hasPrefix("é ä\nΣ́ é"))
  }

  @Test("pii_redact: a 5 MB text is redacted as its paragraphs are one after the other")
  func piiLarge() throws {
    let text = generatedText(bytes: 5 << 20, seed: 31)
    for params in [[:], ["phones": "true", "public_ips_only": "false"]] as [[String: any Sendable]] {
      let whole = try quality(PiiRedactStage.descriptor, params)
      let parts = try quality(PiiRedactStage.descriptor, params)
      // No match spans a "\n\n", and the replacements go round across documents the same way.
      let paragraphs = text.components(separatedBy: "\n\n").map { try! outcome(parts, $0).text }
      let got = try outcome(whole, text)
      #expect(got.text == paragraphs.joined(separator: "\n\n"))
      #expect(!got.text.contains("alice@example.com") && !got.text.contains("8.8.8.8"))
    }
  }

  @Test("wordlist: counts and ratios of a 3 MB text are the same folded in pieces or whole")
  func wordlistPieces() throws {
    let text = generatedText(bytes: 3 << 20, seed: 41)
    let line = docLine(id: "w", text: text)
    for extra in [[:], ["match": "substring"], ["language": "zh", "words": ["中文", "日本"]]] as [[String: any Sendable]] {
      var params: [String: any Sendable] = ["mode": "annotate", "words": ["lorem ipsum", "javascript", "river", "stone", "policy"]]
      params.merge(extra) { $1 }
      let reference = try quality(WordlistFilter.descriptor, params)
      (reference.stage as! WordlistFilter).scratch.pieceSize = Int.max / 2
      let want = try written(reference, line)
      let stage = try quality(WordlistFilter.descriptor, params)
      (stage.stage as! WordlistFilter).scratch.pieceSize = 64
      #expect(try written(stage, line).line == want.line, "\(extra)")
    }
  }

  @Test("c4_quality: phrases are found in a line of megabytes, across the pieces it is searched in")
  func lowercaseFinderLongLines() {
    let phrases = ["lorem ipsum", "javascript", "cookie", "terms of use", "privacy policy", "uses cookies"].map { Array($0.utf8) }
    var rng = SplitMix(seed: 5)
    for _ in 0..<40 {
      let filler = String(repeating: "Éa b\u{130}c \u{212A}d ", count: Int(rng.next() % 30_000))
      let phrase = ["LOREM IPSUM", "JavaScript", "Cookie", "TERMS of USE", "", "uses \u{212A}ookies"][Int(rng.next() % 6)]
      let text = filler + phrase + filler
      withUTF8(text) { b in
        var short = LowercaseFinder(phrases: phrases)
        var long = LowercaseFinder(phrases: phrases)
        long.pieceSize = 1 + Int(rng.next() % 50)
        short.pieceSize = Int.max / 2
        short.load(b.baseAddress!, 0..<b.count)
        long.load(b.baseAddress!, 0..<b.count)
        for k in phrases.indices {
          #expect(short.contains(phraseAt: k) == long.contains(phraseAt: k), "\(String(decoding: phrases[k], as: UTF8.self))")
        }
      }
    }
  }

  @Test("words are kept for the next stage only for texts of moderate length; counts stay right")
  func wordCache() throws {
    let text = generatedText(bytes: 200_000, seed: 51)
    let doc = try Document(json: String(decoding: docLine(id: "c", text: text), as: UTF8.self))
    doc.maxKeptWords = 1000
    var t = WordTokenizer(language: "en")
    var first: [Range<Int>] = []
    doc.forEachWordBatch(&t) { first.append(contentsOf: $0) }
    #expect(first.count > doc.maxKeptWords)
    #expect(doc.analysis.tokenLanguage == nil && doc.analysis.tokens.isEmpty)
    #expect(doc.wordCount(&t) == first.count)
    var second: [Range<Int>] = []
    doc.forEachWordBatch(&t) { second.append(contentsOf: $0) }
    #expect(second == first)
    #expect(doc.words(&t) == first)
    // Kept when there are few enough, and handed out again without splitting.
    doc.maxKeptWords = Document.defaultMaxKeptWords
    doc.setText(doc.text)
    doc.forEachWordBatch(&t) { _ in }
    #expect(doc.analysis.tokenLanguage == "en" && doc.analysis.tokens == first)
    let small = try Document(json: String(decoding: docLine(id: "s", text: "A short text, kept."), as: UTF8.self))
    #expect(small.words(&t).count == 6)
    #expect(small.analysis.tokenLanguage == "en")
  }

  @Test("empty, whitespace-only and non-English texts go through every changed stage")
  func edgeTexts() throws {
    let texts = [
      "", " ", "\n\n\n", "\u{3000}\u{A0}", "日本語のテキストです。これはテストです。", "Привет, мир!\r\nВторая строка.",
      "\u{0}\u{1}\u{FFFD}\u{FFFF}\u{10FFFF}", String(repeating: "中文字符", count: 50_000),
    ]
    let stages: [StageDescriptor] = [
      GopherRepetitionFilter.descriptor, GopherQualityFilter.descriptor, C4QualityFilter.descriptor,
      FineWebQualityFilter.descriptor, NormalizeStage.descriptor, PiiRedactStage.descriptor, WordlistFilter.descriptor,
    ]
    for d in stages {
      for text in texts {
        let small = try quality(d)
        let whole = try written(small, docLine(id: "e", text: text))
        // The same with the stage's pieces made tiny where it has pieces.
        let pieced = try quality(d)
        if let s = pieced.stage as? NormalizeStage { s.pieceSize = 3 }
        if let s = pieced.stage as? WordlistFilter { s.scratch.pieceSize = 3 }
        #expect(try written(pieced, docLine(id: "e", text: text)).line == whole.line, "\(d.name)")
      }
    }
  }
}
