import Testing

@testable import WinnowCore
@testable import WinnowFilters

/// Five lines that pass every rule, one sentence each, ending in each terminal mark.
private let A = "The first line is a proper sentence."
private let B = "Another line ends with a question mark?"
private let C = "She said it loudly and clearly!"
private let D = "He wrote \"this is quoted.\""
private let E = "It's the end, isn't it'"
private let five = [A, B, C, D, E].joined(separator: "\n")

@Suite("c4_quality stage")
struct C4QualityTests {
  let d = C4QualityFilter.descriptor

  @Test("five good lines are kept as they are, and the document is not rewritten")
  func keepsGoodLines() throws {
    let o = try outcome(quality(d), five)
    #expect(o.reason == nil)
    #expect(o.text == five)
    #expect(!o.rewritten)
  }

  @Test("every line rule, and the rewritten text (datatrove's output, byte for byte)")
  func rewrittenText() throws {
    let longWord = "A word " + String(repeating: "x", count: 1001) + " that is too long."
    let justShort = "A word " + String(repeating: "y", count: 1000) + " that is just short enough."
    let text = [
      "  " + A + "  ",  // stripped
      "No terminal punctuation here",  // no . ? ! " ' at the end
      "Ends with an ellipsis...",  // ends with "..."
      "Two words.",  // 2 < 3 words
      "Please enable JavaScript to view this page.",  // "javascript" in lower()
      "Read our Privacy Policy before you continue.",  // policy
      "This site USES COOKIES to work.",  // policy
      "Citations are removed here [1] and there[23].",  // citations deleted, line kept
      "Trailing citation makes this line end badly. [2]",  // → "… badly. " ends with a space
      "Edits like [edit] and [citation needed] vanish too.",
      "Arabic digits count as digits [١٢] in Python.",  // \d is any Unicode digit
      longWord,  // a word of 1001 characters
      justShort,  // 1000 is not > 1000
      B, C, D, E,
    ].joined(separator: "\n")
    let expected = [
      A,
      "Citations are removed here  and there.",
      "Edits like  and  vanish too.",
      "Arabic digits count as digits  in Python.",
      justShort, B, C, D, E,
    ].joined(separator: "\n")
    let o = try outcome(quality(d), text)
    #expect(o.reason == nil)
    #expect(o.text == expected)
    #expect(o.rewritten)
    // Through a pipeline: the text field is re-encoded, the other fields are untouched.
    let line = docLine(id: "r", text: text, [("url", "\"https://example.org/x\""), ("n", "1.50")])
    let r = try runPipeline([try quality(d)], lines: [line])
    #expect(r.kept.first?["text"] as? String == expected)
    #expect(String(decoding: r.outputLines[0], as: UTF8.self).hasSuffix(",\"url\":\"https://example.org/x\",\"n\":1.50}"))
    #expect(r.stats.stages[0].modified == 1)
  }

  @Test("options switch line rules off")
  func options() throws {
    let text = "Line one has no punctuation\nLine two has none either\nLine three ends with ...\n\(A)\n\(B)"
    let o = try outcome(quality(d, ["filter_no_terminal_punct": false]), text)
    #expect(o.reason == nil && o.text == text)
    #expect(try reason(quality(d), text) == "too_few_sentences")
    // Citations stay when remove_citations is false (and the line still ends in ".").
    let cited = "Cited claim is here [1].\n" + five
    #expect(try outcome(quality(d, ["remove_citations": false]), cited).text == cited)
    #expect(try outcome(quality(d), cited).text == "Cited claim is here .\n" + five)
    // -1 disables the numeric rules; with every rule off, a bracketed short text is kept whole.
    let off: [String: any Sendable] = [
      "min_num_sentences": -1, "min_words_per_line": -1, "max_word_length": -1,
      "filter_no_terminal_punct": false, "filter_curly_bracket": false,
    ]
    #expect(try outcome(quality(d, off), "a\nb c\n{ x").text == "a\nb c\n{ x")
    let js = "Enable javascript now please.\n" + five
    #expect(try outcome(quality(d, ["filter_javascript": false]), js).text == js)
    let policy = "Read the privacy policy now.\n" + five
    #expect(try outcome(quality(d, ["filter_policy": false]), policy).text == policy)
    #expect(try reason(quality(d, ["filter_lorem_ipsum": false]), "Lorem ipsum dolor sit amet.\n" + five) == nil)
    // min_words_per_line counts whitespace-separated words before citations are removed.
    #expect(try outcome(quality(d, ["min_words_per_line": 4]), "One two [1] three.\n" + five).text.hasPrefix("One two  three.\n"))
  }

  @Test("lorem ipsum and curly brackets drop the document, but only in lines not removed before")
  func documentRules() throws {
    #expect(try reason(quality(d), [A, "Lorem Ipsum dolor sit amet.", B, C, D, E].joined(separator: "\n")) == "lorem_ipsum")
    // Without terminal punctuation the line is removed before the lorem ipsum rule.
    let removed = [A, "Lorem ipsum dolor sit amet", B, C, D, E].joined(separator: "\n")
    #expect(try outcome(quality(d), removed).text == five)
    #expect(try reason(quality(d), [A, "A function body { return 1 } here.", B, C, D, E].joined(separator: "\n")) == "curly_bracket")
    #expect(try outcome(quality(d), [A, "A function body { return 1 } here", B, C, D, E].joined(separator: "\n")).text == five)
    // The javascript rule removes the line before the bracket rule sees it.
    #expect(try outcome(quality(d), [A, "The javascript { code } is here.", B, C, D, E].joined(separator: "\n")).text == five)
    #expect(try reason(quality(d, ["filter_curly_bracket": false]), [A, "Braces { } here.", B, C, D, E].joined(separator: "\n")) == nil)
  }

  @Test("lower() for the phrase rules: the Kelvin sign is a k, a dotted capital I is not an i")
  func unicodeLowercase() throws {
    // "coo\u{212A}ie".lower() == "cookie": the line is a cookie-policy line.
    #expect(try outcome(quality(d), [A, "Read the coo\u{212A}ie policy now.", B, C, D, E].joined(separator: "\n")).text == five)
    // "JAVASCR\u{130}PT".lower() == "javascri̇pt" (i + U+0307): not "javascript", the line stays.
    let dotted = [A, "Enable JAVASCR\u{130}PT now please.", B, C, D, E].joined(separator: "\n")
    #expect(try outcome(quality(d), dotted).text == dotted)
    #expect(try reason(quality(d), [A, "LOREM IPSUM in capitals.", B, C, D, E].joined(separator: "\n")) == "lorem_ipsum")
    #expect(try reason(quality(d), [A, "Lörem ipsum is not it.", B, C, D, E].joined(separator: "\n")) == nil)
  }

  @Test("fewer than 5 sentences in the kept lines")
  func sentences() throws {
    #expect(try reason(quality(d), [A, B, C, D].joined(separator: "\n")) == "too_few_sentences")  // 4
    // Lines may hold several sentences: 3 + 2 = 5.
    let multi = "One two three. Four five six. Seven eight nine.\nTen eleven twelve. Thirteen fourteen fifteen."
    #expect(try outcome(quality(d), multi).text == multi)
    #expect(try reason(quality(d), "One two three. Four five six.\nTen eleven twelve. Thirteen fourteen fifteen.") == "too_few_sentences")
    #expect(try reason(quality(d, ["min_num_sentences": 4]), [A, B, C, D].joined(separator: "\n")) == nil)
    #expect(try reason(quality(d), "") == "too_few_sentences")
    let empty = try outcome(quality(d, ["min_num_sentences": -1]), "")
    #expect(empty.reason == nil && empty.text == "" && !empty.rewritten)
    // All lines removed and no sentence minimum: kept with empty text.
    let gone = try outcome(quality(d, ["min_num_sentences": -1]), "no punctuation\nnone here")
    #expect(gone.reason == nil && gone.text == "" && gone.rewritten)
  }

  @Test("lines are str.splitlines(): \\r\\n, \\r, \\v, \\x1c, \\x85, U+2028 all end lines; output joins with \\n")
  func lineBoundaries() throws {
    let text = A + "\u{2028}" + B + "\u{85}" + C + "\r\n" + D + "\u{0B}" + E + "\u{1C}" + A + "\r" + B
    let o = try outcome(quality(d), text)
    #expect(o.text == [A, B, C, D, E, A, B].joined(separator: "\n"))
  }

  @Test("splitlines agrees with Python's str.splitlines", .enabled(if: Python.available))
  func splitLinesMatchesPython() throws {
    let texts = [
      "", "\n", "a", "a\n", "a\n\nb", "\r\n", "a\r\nb\rc\n", "x\u{0B}y\u{0C}z\u{1C}w\u{1D}v\u{1E}u\u{1F}t",
      "p\u{85}q\u{2028}r\u{2029}s", "\n\r\n\r", "é\u{2027}\u{2030}ü", "日本\r\n語", "\u{0D}\u{0A}\u{0A}",
      String(repeating: "abcdefgh", count: 5) + "\n" + String(repeating: "12345678", count: 3),
    ]
    let python = try Python.run("import json,sys; print(json.dumps([s.splitlines() for s in json.load(sys.stdin)]))", input: texts) as! [[String]]
    for (text, expected) in zip(texts, python) {
      var t = text
      let got: [String] = t.withUTF8 { buf in
        var ranges: [Range<Int>] = []
        PyText.splitLines(buf, into: &ranges)
        return ranges.map { String(decoding: UnsafeBufferPointer(rebasing: buf[$0]), as: UTF8.self) }
      }
      #expect(got == expected, "\(text.debugDescription)")
    }
  }

  @Test("German, Russian, Chinese and Japanese lines")
  func multilingual() throws {
    // German: "„Guten Morgen.“" ends with U+201C, not a terminal mark, and "Zu kurz." has 2
    // words: 4 lines, 4 sentences < 5.
    let de = ["Der Hund läuft schnell über die Straße.", "Die Katze schläft den ganzen Tag.", "Wir trinken morgens gerne Kaffee!", "Ist das nicht schön?", "Er sagt: „Guten Morgen.“", "Zu kurz."]
    #expect(try reason(quality(d), de.joined(separator: "\n")) == "too_few_sentences")
    #expect(try outcome(quality(d, ["min_num_sentences": 4]), de.joined(separator: "\n")).text == de[0..<4].joined(separator: "\n"))
    let ru = ["Собака быстро бежит через поле.", "Кошка спит весь день на диване.", "Мы пьём кофе по утрам!", "Разве это не прекрасно?", "Он сказал «доброе утро» всем нам."]
    let o = try outcome(quality(d), ru.joined(separator: "\n"))
    #expect(o.reason == nil && o.text == ru.joined(separator: "\n") && !o.rewritten)
    // Chinese and Japanese: "。" is not one of C4's terminal marks and a line without spaces is
    // one word, so every line goes.
    let zh = ["我们今天去公园散步。", "天气很好，阳光明媚。", "孩子们在草地上玩耍。", "大家都很开心。", "晚上我们回家吃饭。"].joined(separator: "\n")
    #expect(try reason(quality(d), zh) == "too_few_sentences")
    let relaxed: [String: any Sendable] = ["filter_no_terminal_punct": false, "min_words_per_line": -1, "min_num_sentences": -1]
    #expect(try outcome(quality(d, relaxed), zh).text == zh)
    let ja = ["私たちは今日公園に行きました。", "天気がとても良かったです。", "子供たちは芝生で遊びました。", "みんな楽しそうでした。", "夜は家で晩ご飯を食べました。"].joined(separator: "\n")
    #expect(try reason(quality(d), ja) == "too_few_sentences")
    #expect(try outcome(quality(d, relaxed), ja).text == ja)
    let jaSpaced = ["私 は 猫 が 好き です.", "犬 も とても 好き です.", "毎日 公園 に 行き ます!", "天気 は いい です か?", "はい とても いい です."].joined(separator: "\n")
    #expect(try outcome(quality(d), jaSpaced).text == jaSpaced)
  }

  @Test("a 6 MB single line: kept whole, removed for a long word, dropped for a bracket")
  func hugeLine() throws {
    let sentence = "Words in a very long line that goes on and on. "
    // 125 000 × 48 characters; stripped, the text is the line without its final space.
    let (line, text) = hugeSingleLine(id: "big", unit: sentence, count: 125_000)
    let one = try quality(d, ["min_num_sentences": 1])
    let kept = try runPipeline([one], lines: [line])
    #expect(kept.kept.first?["text"] as? String == String(text.dropLast()))
    #expect(kept.stats.stages[0].modified == 1)
    // Without the trailing space nothing changes and the line passes through byte for byte.
    let (exact, _) = hugeSingleLine(id: "exact", unit: sentence, count: 125_000, suffix: "The end.")
    let r = try runPipeline([one], lines: [exact])
    #expect(r.outputLines == [exact] && r.stats.stages[0].modified == 0)
    // A word of 1001 characters removes the line: no sentences left.
    let (long, _) = hugeSingleLine(id: "long", unit: sentence, count: 125_000, suffix: String(repeating: "z", count: 1001) + ".")
    #expect(try verdict([one], long) == "too_few_sentences")
    let (bracket, _) = hugeSingleLine(id: "bracket", unit: sentence, count: 125_000, suffix: "{ }.")
    #expect(try verdict([one], bracket) == "curly_bracket")
  }

  @Test("parameter validation")
  func validation() throws {
    expectUsageError(["split_paragraph false", "not supported yet"]) { _ = try quality(d, ["split_paragraph": false]) }
    expectUsageError(["min_num_sentences", "≥ -1", "-2"]) { _ = try quality(d, ["min_num_sentences": -2]) }
    expectUsageError(["max_word_length", "integer"]) { _ = try quality(d, ["max_word_length": "long"]) }
    expectUsageError(["filter_policy", "boolean"]) { _ = try quality(d, ["filter_policy": "maybe"]) }
    expectUsageError(["language"]) { _ = try quality(d, ["language": "en us"]) }
    #expect(throws: Never.self) { _ = try quality(d, ["split_paragraph": true]) }
  }
}
