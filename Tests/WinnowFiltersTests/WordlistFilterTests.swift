import Foundation
import Testing
import WinnowText

@testable import WinnowCore
@testable import WinnowFilters

@Suite("wordlist stage")
struct WordlistFilterTests {
  let d = WordlistFilter.descriptor

  func wordlist(_ params: [String: RawParameter] = [:]) throws -> NamedStage { try build(d, params) }

  /// (count, ratio) the stage annotates for `text`.
  func measure(_ params: [String: RawParameter], _ text: String) throws -> (Int, Double) {
    var p = params
    p["mode"] = v("annotate")
    let (verdict, doc) = try processOne(try wordlist(p), text)
    #expect(verdict == .keep)
    guard case .number(let c, _)? = doc.field("wordlist_count"), case .number(let r, _)? = doc.field("wordlist_ratio")
    else {
      Issue.record("no annotations on \(text.debugDescription)")
      return (-1, -1)
    }
    return (Int(c), r)
  }

  @Test("the built-in English list drops profanity in any case or width and keeps words that only contain it")
  func defaultList() throws {
    let stage = try wordlist()
    let docs: [(String, String)] = [
      ("plain", "What the fuck is this."),
      ("upper", "FUCKING HELL"),
      ("fullwidth", "Ｆｕｃｋ ｔｈａｔ"),  // NFKC folds full-width letters
      ("softhyphen", "f\u{AD}uck"),  // NFKC_Casefold removes the soft hyphen
      ("hyphenated", "bull-shit"),  // "shit" after a hyphen is a word of its own
      ("scunthorpe", "Scunthorpe is a town in Lincolnshire."),
      ("assassin", "The assassin's classic cocktail passed the class."),
      ("mushroom", "Shiitake mushrooms and a Dickens novel."),
      ("glued", "fuckfuck and fuck_ and fuck123"),  // never at word boundaries
    ]
    let r = try runTexts(stage, docs)
    #expect(r.keptIDs == ["scunthorpe", "assassin", "mushroom", "glued"])
    #expect(
      r.reasons == [
        "plain": "wordlist_count", "upper": "wordlist_count", "fullwidth": "wordlist_count",
        "softhyphen": "wordlist_count", "hyphenated": "wordlist_count",
      ])
    #expect(r.stats.isBalanced)
  }

  @Test("phrases match across line breaks and repeated spaces; overlapping entries count once, leftmost-longest")
  func phrasesAndRatio() throws {
    // Folded and collapsed: "son of a bitch, you piece of shit" — 8 words; "son of a bitch"
    // (4 words, not also "bitch") and "shit" (1 word) match: count 2, ratio 5/8.
    let (c, r) = try measure([:], "Son of a\n  BITCH, you piece of shit")
    #expect(c == 2)
    #expect(r == 5.0 / 8.0)
    // Only the tail word: "bitch" alone; 3 words.
    let (c2, r2) = try measure([:], "of a bitch")
    #expect(c2 == 1 && r2 == 1.0 / 3.0)
    // Apostrophes and punctuation end words: "fuck's" and "(shit)" match.
    let (c3, _) = try measure([:], "the fuck's sake (shit)")
    #expect(c3 == 2)
  }

  @Test("max_count and max_ratio are exclusive bounds; max_ratio alone does not limit the count")
  func thresholds() throws {
    // 8 words, 3 of them listed: ratio 0.375.
    let text = "damn damn damn clean words here now ok"
    #expect(try measure([:], text) == (3, 0.375))
    #expect(try verdict([try wordlist(["max_count": v("3")])], docLine(id: "t", text: text)) == nil)
    #expect(try verdict([try wordlist(["max_count": v("2")])], docLine(id: "t", text: text)) == "wordlist_count")
    #expect(try verdict([try wordlist(["max_ratio": v("0.375")])], docLine(id: "t", text: text)) == nil)
    #expect(try verdict([try wordlist(["max_ratio": v("0.37")])], docLine(id: "t", text: text)) == "wordlist_ratio")
    // Both given: the count is checked first.
    let both = try wordlist(["max_count": v("1"), "max_ratio": v("0.1")])
    #expect(try verdict([both], docLine(id: "t", text: text)) == "wordlist_count")
    let ratioOnly = try wordlist(["max_count": v("5"), "max_ratio": v("0.1")])
    #expect(try verdict([ratioOnly], docLine(id: "t", text: text)) == "wordlist_ratio")
  }

  @Test("annotate mode keeps every document, leaves the text alone and adds count and ratio")
  func annotateMode() throws {
    let stage = try wordlist(["mode": v("annotate"), "count_field": v("bad_n"), "ratio_field": v("bad_r")])
    let r = try runTexts(stage, [("a", "shit happens"), ("b", "all clean here"), ("e", "")])
    #expect(r.keptIDs == ["a", "b", "e"])
    let a = r.keptByID["a"]!
    #expect(a["text"] as? String == "shit happens")
    #expect(a["bad_n"] as? Int == 1 && a["bad_r"] as? Double == 0.5)
    #expect(r.keptByID["b"]!["bad_n"] as? Int == 0 && r.keptByID["b"]!["bad_r"] as? Double == 0)
    #expect(r.keptByID["e"]!["bad_n"] as? Int == 0)
    #expect(r.stats.stages[0].modified == 3 && r.stats.stages[0].dropped == 0)
  }

  @Test("German list file: comments, BOM, CRLF; ß and SS fold together; compounds are other words")
  func german() throws {
    let dir = try TempDir()
    let path = try writeList(
      dir, "de.txt", "\u{FEFF}# deutsche Testliste\r\n\r\nscheiße\r\n  arschloch  \r\nverdammt noch mal\r\n# Ende\r\n")
    let stage = try wordlist(["language": v("de"), "words_file": v(path)])
    let r = try runTexts(
      stage,
      [
        ("caps", "Das ist SCHEISSE!"), ("eszett", "So eine Scheiße."), ("compound", "So ein Scheißewetter"),
        ("phrase", "Verdammt\nnoch   mal!"), ("arsch", "So ein Arschloch."), ("clean", "Die Scheiben sind sauber."),
        ("english", "fuck"),  // the built-in list is English only and not used for de
      ])
    #expect(r.keptIDs == ["compound", "clean", "english"])
    #expect(r.reasons.keys.sorted() == ["arsch", "caps", "eszett", "phrase"])
    // Substring mode finds the compound.
    let sub = try wordlist(["language": v("de"), "words_file": v(path), "match": v("substring")])
    #expect(try verdict([sub], docLine(id: "c", text: "So ein Scheißewetter")) == "wordlist_count")
  }

  @Test("Russian: case-insensitive Cyrillic, whole words only")
  func russian() throws {
    let params: [String: RawParameter] = ["language": v("ru"), "words": list(["блин", "хрен"])]
    // "Ну БЛИН, опять!" — 3 words, 1 listed.
    #expect(try measure(params, "Ну БЛИН, опять!") == (1, 1.0 / 3.0))
    #expect(try measure(params, "Блины со сметаной и хреном") == (0, 0))
    #expect(try measure(params, "Хрен  тебе") == (1, 0.5))
  }

  @Test("Chinese and Japanese: substring matching by default, the ratio over non-space characters")
  func chineseJapanese() throws {
    let zh: [String: RawParameter] = ["language": v("zh"), "words": list(["他妈的", "傻逼"])]
    // 8 characters, 3 matched.
    #expect(try measure(zh, "你他妈的在干什么") == (1, 3.0 / 8.0))
    #expect(try measure(zh, "他妈的傻逼") == (2, 1.0))
    #expect(try measure(zh, "我们今天去公园") == (0, 0))
    let ja: [String: RawParameter] = ["language": v("ja"), "words": list(["くそ", "ちくしょう"])]
    // く そ っ た れ 、 ち く し ょ う ！ — 12 characters, 2 + 5 matched.
    #expect(try measure(ja, "くそったれ、ちくしょう！") == (2, 7.0 / 12.0))
    // Half-width katakana fold to full width with NFKC.
    let kata: [String: RawParameter] = ["language": v("ja"), "words": list(["バカ"])]
    #expect(try measure(kata, "ﾊﾞｶやろう") == (1, 2.0 / 5.0))
    // Word mode forced: Japanese text has no spaces, every character is a word boundary.
    var forced = ja
    forced["match"] = v("word")
    #expect(try measure(forced, "くそったれ").0 == 1)
  }

  @Test("English words inside Chinese text: ideographs are word boundaries and each counts as a word")
  func mixedScripts() throws {
    // 他 妈 的 fuck 你: five words, one listed.
    #expect(try measure([:], "他妈的fuck你") == (1, 0.2))
    // A Latin letter glued on is still the same word.
    #expect(try measure([:], "他妈的fuckx你").0 == 0)
  }

  @Test("words_dir with language_field: each document is checked with its language's list")
  func perLanguage() throws {
    let dir = try TempDir()
    try writeList(dir, "lists/en.txt", "badword\n")
    try writeList(dir, "lists/de", "schlimm\n")
    try writeList(dir, "lists/zh.txt", "坏话\n")
    try writeList(dir, "lists/README.md", "not a list\n")
    let stage = try wordlist(["words_dir": v(dir.path + "/lists"), "language_field": v("lang")])
    let docs: [(String, String)] = [
      ("en", "a badword here"), ("de", "so schlimm"), ("zh", "他说坏话"), ("fr", "badword"), ("none", "badword"),
      ("de2", "badword"), ("en2", "fuck"),
    ]
    let extra: [String: [(String, String)]] = [
      "en": [("lang", "\"en\"")], "de": [("lang", "\"DE-AT\"")], "zh": [("lang", "\"zh\"")], "fr": [("lang", "\"fr\"")],
      "de2": [("lang", "\"de\"")], "en2": [("lang", "\"en\"")],
    ]
    let r = try runTexts(stage, docs, extra: extra)
    // fr has no list and "none" no field: unchecked. The built-in list is off because an
    // English list was given.
    #expect(r.keptIDs == ["fr", "none", "de2", "en2"])
    #expect(r.reasons == ["en": "wordlist_count", "de": "wordlist_count", "zh": "wordlist_count"])
    // Asked for explicitly, the built-in list joins the English one.
    let both = try wordlist([
      "words_dir": v(dir.path + "/lists"), "language_field": v("lang"), "default_list": v("true"),
    ])
    let r2 = try runTexts(both, [("en2", "fuck")], extra: ["en2": [("lang", "\"en\"")]])
    #expect(r2.reasons == ["en2": "wordlist_count"])
    // Without language_field, only `language`'s list is read from the directory.
    let deOnly = try wordlist(["words_dir": v(dir.path + "/lists"), "language": v("de")])
    #expect(try verdict([deOnly], docLine(id: "x", text: "schlimm")) == "wordlist_count")
    #expect(try verdict([deOnly], docLine(id: "x", text: "badword")) == nil)
  }

  @Test("empty text and whitespace are kept; a several-MB single line is counted exactly")
  func emptyAndHuge() throws {
    let stage = try wordlist()
    let r = try runTexts(stage, [("e", ""), ("w", " \n\t ")])
    #expect(r.keptIDs == ["e", "w"])
    // 1000 × (333 × "plain words here " + "damn "): 1,000,000 words, 1000 of them listed, 5.7 MB.
    let unit = String(repeating: "plain words here ", count: 333) + "damn "
    let text = String(repeating: unit, count: 1000)
    #expect(text.utf8.count == 5_666_000)
    #expect(try measure([:], text) == (1000, 0.001))
    #expect(try verdict([stage], docLine(id: "h", text: text)) == "wordlist_count")
    #expect(try verdict([stage], docLine(id: "h", text: String(repeating: "plain words here ", count: 300_000))) == nil)
  }

  @Test("invalid parameters and unreadable list files are usage errors naming the problem")
  func validation() throws {
    expectUsageError(["annotate", "max_count"]) { _ = try build(d, ["mode": v("annotate"), "max_count": v("1")]) }
    expectUsageError(["count_field", "annotate"]) { _ = try build(d, ["count_field": v("n")]) }
    expectUsageError(["count_field and ratio_field"]) {
      _ = try build(d, ["mode": v("annotate"), "count_field": v("n"), "ratio_field": v("n")])
    }
    expectUsageError(["language 'e n'"]) { _ = try build(d, ["language": v("e n")]) }
    expectUsageError(["no word list for language 'de'", "English only"]) { _ = try build(d, ["language": v("de")]) }
    expectUsageError(["max_ratio", "[0.0, 1.0]", "1.5"]) { _ = try build(d, ["max_ratio": v("1.5")]) }
    expectUsageError(["match", "word|substring", "'fuzzy'"]) { _ = try build(d, ["match": v("fuzzy")]) }
    expectUsageError(["words is empty"]) { _ = try build(d, ["words": list([" ", ""])]) }
    expectUsageError(["words_file", "/nonexistent/bad-words.txt", "No such file"]) {
      _ = try build(d, ["words_file": v("/nonexistent/bad-words.txt")])
    }
    let dir = try TempDir()
    expectUsageError(["words_file", dir.path, "directory"]) { _ = try build(d, ["words_file": v(dir.path)]) }
    expectUsageError(["words_dir", "/nonexistent/lists"]) { _ = try build(d, ["words_dir": v("/nonexistent/lists")]) }
    expectUsageError(["words_dir", "no list files"]) { _ = try build(d, ["words_dir": v(dir.path)]) }
    let comments = try writeList(dir, "only-comments.txt", "# nothing\n\n   \n# here\n")
    expectUsageError(["'en'", "no entries"]) { _ = try build(d, ["words_file": v(comments)]) }
    let bad = try dir.write("bad.txt", Array("ok\n".utf8) + [0x66, 0xFF, 0x0A])
    expectUsageError(["words_file", "bad.txt", "line 2", "UTF-8"]) { _ = try build(d, ["words_file": v(bad)]) }
    expectUsageError(["no parameter 'max_counts'", "did you mean 'max_count'"]) {
      _ = try build(d, ["max_counts": v("1")])
    }
  }

  @Test("collapsing whitespace (eight bytes at a time where it can) gives what splitting and joining gives")
  func collapseMatchesReference() {
    var rng = SplitMix(seed: 5)
    let palette: [String] = [
      "a", "B", "word", "LongerWord", "x1_", ".", ",", "'", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u{A0}",
      "\u{3000}", "\u{2009}", "\u{85}", "ж", "Ж", "中文", "カタ", "é", "\u{1}", "-",
    ]
    let table = WordCharTable()
    for round in 0..<400 {
      let text = (0..<Int(rng.next() % 40)).map { _ in palette[Int(rng.next() % UInt64(palette.count))] }.joined()
      let ascii = text.utf8.allSatisfy { $0 < 0x80 }
      // Reference: split at Python whitespace, join with one space; lower-case A-Z for ASCII.
      let tokens = text.unicodeScalars.split(whereSeparator: { UnicodeWhitespace.contains($0) })
      var joined = tokens.map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
      if ascii {
        joined = String(
          joined.unicodeScalars.map { $0.value < 0x80 ? Character($0).lowercased() : String($0) }.joined())
      }
      let chars = tokens.reduce(0) { $0 + $1.count }
      var words = 0
      var inWord = false
      for s in text.unicodeScalars {
        if SpacelessScripts.contains(s.value) {
          words += 1
          inWord = false
        } else {
          let w = table.contains(s.value)
          if w && !inWord { words += 1 }
          inWord = w
        }
      }
      for countWords in [false, true] {
        let out = ByteBuffer(capacity: 16)
        var t = text
        let r = t.withUTF8 {
          WordlistMatcher.collapse($0, into: out, countWords: countWords, table: table, lowercaseASCII: ascii)
        }
        let got = String(decoding: UnsafeBufferPointer(start: out.base, count: r.length), as: UTF8.self)
        #expect(got == joined, "round \(round) \(text.debugDescription) countWords \(countWords)")
        #expect(r.chars == chars, "round \(round) \(text.debugDescription)")
        if countWords { #expect(r.words == words, "round \(round) \(text.debugDescription)") }
      }
    }
  }

  @Test("Aho–Corasick: dense and sparse automata report exactly what a naive search finds")
  func automatonMatchesNaiveSearch() {
    var rng = SplitMix(seed: 7)
    let alphabet: [[UInt8]] = [[0x61], [0x62], [0x63], Array("é".utf8), Array("日".utf8)]
    func randomString(_ maxLength: Int) -> [UInt8] {
      (0..<(1 + Int(rng.next() % UInt64(maxLength)))).flatMap { _ in alphabet[Int(rng.next() % 5)] }
    }
    for round in 0..<40 {
      let patterns = (0..<(1 + round % 12)).map { _ in randomString(4) }
      let text = randomString(300)
      var expected: [[Int]] = []
      for (id, p) in patterns.enumerated() where patterns.firstIndex(of: p) == id {
        for end in stride(from: p.count, through: text.count, by: 1) where Array(text[(end - p.count)..<end]) == p {
          expected.append([end, id])
        }
      }
      expected.sort { $0.lexicographicallyPrecedes($1) }
      for (limit, compact) in [(1 << 24, true), (1 << 24, false), (0, true)] {
        let a = ByteAutomaton(patterns: patterns, denseLimit: limit, compact: compact)
        #expect(a.isDense == (limit > 0) && a.isDense16 == (limit > 0 && compact))
        var got: [[Int]] = []
        text.withUnsafeBufferPointer { t in
          a.scan(t) { end, node in
            a.forEachPattern(endingAt: node) { got.append([end, patterns.firstIndex(of: a.patterns[$0])!]) }
            return true
          }
        }
        got.sort { $0.lexicographicallyPrecedes($1) }
        #expect(got == expected, "round \(round), dense \(limit > 0), 16-bit \(a.isDense16)")
      }
    }
  }
}
