import Testing

@testable import WinnowCore
@testable import WinnowFilters

/// Without the n-gram rules, for the paragraph and line tests (short texts have a frequent
/// n-gram by nature).
private let noNGrams: [String: any Sendable] = ["top_n_grams": [String](), "dup_n_grams": [String]()]

private func merged(_ a: [String: any Sendable], _ b: [String: any Sendable]) -> [String: any Sendable] { a.merging(b) { $1 } }

/// Seven long paragraphs, each 74 characters, all different.
private let longParas = (0..<7).map { "Paragraph number \($0) talks about a different topic entirely, at some length." }
/// Three short ones, 8 characters each.
private let shortParas = (0..<3).map { "Short \($0)." }

@Suite("gopher_repetition stage")
struct GopherRepetitionTests {
  let d = GopherRepetitionFilter.descriptor

  @Test("empty text is dropped as 'empty'; whitespace alone is kept")
  func empty() throws {
    #expect(try reason(quality(d), "") == "empty")
    // "   \n  ".strip() is "": one empty paragraph; lines "   ", "  "; no words.
    #expect(try reason(quality(d), "   \n  ") == nil)
  }

  @Test("duplicate paragraphs: more than 30 % of paragraphs, or 20 % of the characters")
  func paragraphs() throws {
    let stage = try quality(d, merged(noNGrams, ["dup_para_char_frac": 0]))
    // 4 long + 3 short + the 3 short again: 3 of 10 paragraphs repeat, 0.3 is not > 0.3.
    #expect(try reason(stage, (longParas[..<4] + shortParas + shortParas).joined(separator: "\n\n")) == nil)
    // 3 long + 3 short + 4 repeats: 0.4 > 0.3.
    let four = (longParas[..<3] + shortParas + shortParas + [shortParas[0]]).joined(separator: "\n\n")
    #expect(try reason(stage, four) == "dup_para_frac")
    // One 117-character paragraph twice among three short ones: 1 of 5 repeats (0.2), but its
    // 117 characters are 117/288 = 0.41 of the text. With that rule relaxed, the same text as
    // lines fails the line rule (117/288 > 0.2).
    let long = "This long paragraph is repeated twice and holds most of the characters of the whole document, far more than the rest."
    let text = [long, "Short one.", "Another short one.", "A third short one.", long].joined(separator: "\n\n")
    #expect(try reason(quality(d, noNGrams), text) == "dup_para_char_frac")
    #expect(try reason(quality(d, merged(noNGrams, ["dup_para_char_frac": 0.41])), text) == "dup_line_char_frac")
    #expect(try reason(quality(d, merged(noNGrams, ["dup_para_char_frac": 0, "dup_line_char_frac": 0])), text) == nil)
  }

  @Test("paragraphs are split after text.strip(), at two or more newlines")
  func paragraphSplitting() throws {
    let stage = try quality(d, merged(noNGrams, ["dup_para_frac": 0.2]))
    // After strip(): "x y z  \n\nfoo bar", 2 different paragraphs. Without the strip the empty
    // first and last pieces would be a repeat (1 of 4 = 0.25 > 0.2).
    #expect(try reason(stage, "\n\n  x y z  \n\nfoo bar\n\n") == nil)
    // "a\nb" twice among 5 paragraphs ("\n\n\n\n" is one separator, "\n" none): 1/5 = 0.2 is
    // not > 0.2. (Splitting at every newline would make it 2 repeats of 7 lines… for lines.)
    let text = "a\nb\n\n\n\na\nb\n\nc\n\nd\n\ne"
    #expect(try reason(stage, text) == nil)
    #expect(try reason(quality(d, merged(noNGrams, ["dup_para_frac": 0.19])), text) == "dup_para_frac")
  }

  @Test("duplicate lines: more than 30 % of lines, or 20 % of the characters")
  func lines() throws {
    let stage = try quality(d, merged(noNGrams, ["dup_line_char_frac": 0]))
    #expect(try reason(stage, (longParas[..<4] + shortParas + shortParas).joined(separator: "\n")) == nil)
    let four = (longParas[..<3] + shortParas + shortParas + [shortParas[0]]).joined(separator: "\n")
    #expect(try reason(stage, four) == "dup_line_frac")
    let long = "This long paragraph is repeated twice and holds most of the characters of the whole document, far more than the rest."
    let text = [long, "Short one.", "Another short one.", "A third short one.", long].joined(separator: "\n")
    #expect(try reason(quality(d, noNGrams), text) == "dup_line_char_frac")
    // Runs of newlines are one separator ("\n+"): 10 lines, 3 repeats, 0.3 passes. Splitting
    // at every "\n" would add two empty lines, one a repeat (4 of 12).
    let runs = (longParas[..<4] + shortParas).joined(separator: "\n") + "\n\n\n" + shortParas.joined(separator: "\n")
    #expect(try reason(quality(d, merged(noNGrams, ["dup_line_char_frac": 0, "dup_para_frac": 0, "dup_para_char_frac": 0])), runs) == nil)
  }

  @Test("a leading and a trailing newline give empty first and last lines, which repeat")
  func emptyLines() throws {
    let stage = try quality(d, merged(noNGrams, ["dup_line_frac": 0.2]))
    // re.split("\n+", "\nalpha beta\ngamma delta\n") = ["", "alpha beta", "gamma delta", ""]:
    // 1 repeat of 4 = 0.25 > 0.2.
    #expect(try reason(stage, "\nalpha beta\ngamma delta\n") == "dup_line_frac")
    #expect(try reason(stage, "alpha beta\ngamma delta") == nil)
  }

  @Test("top n-grams: the most frequent n-gram's ' '.join length times its count")
  func topNGrams() throws {
    // Words: the cat the cat the cat the cat dog. "the cat" ×4: 7 × 4 = 28 of 35 characters.
    #expect(try reason(quality(d), "the cat the cat the cat the cat dog") == "top_2_gram")
    // The length is that of " ".join(words), not of the text between the words:
    // "red   fox\n\tred fox   red fox blue sky green sea" (47 characters), "red fox" ×3 is
    // 7 × 3 = 21, 21/47 = 0.447. (The first occurrence spans 9 characters: 27/47 = 0.574.)
    let spaced = "red   fox\n\tred fox   red fox blue sky green sea"
    let lineRulesOff: [String: any Sendable] = ["dup_n_grams": [String](), "dup_line_frac": 0, "dup_line_char_frac": 0]
    #expect(try reason(quality(d, merged(lineRulesOff, ["top_n_grams": ["2:0.45"]])), spaced) == nil)
    #expect(try reason(quality(d, merged(lineRulesOff, ["top_n_grams": ["2:0.44"]])), spaced) == "top_2_gram")
  }

  @Test("top n-grams: among equally frequent n-grams the first to appear counts")
  func topNGramTies() throws {
    // "aa bb" and "cccccc dddddd" both appear twice (45 characters). Counter.most_common(1)
    // takes the first to appear: 5 × 2 = 10 (0.22) when "aa bb" comes first, 13 × 2 = 26
    // (0.58) when "cccccc dddddd" does.
    let stage = try quality(d, ["top_n_grams": ["2:0.3"], "dup_n_grams": [String]()])
    #expect(try reason(stage, "aa bb x cccccc dddddd y aa bb z cccccc dddddd") == nil)
    #expect(try reason(stage, "cccccc dddddd x aa bb y cccccc dddddd z aa bb") == "top_2_gram")
  }

  @Test("duplicated n-grams compare the words concatenated without separator")
  func concatenatedNGrams() throws {
    // Words ab c x a bc; 2-grams joined with "": abc, cx, xa, abc. The fourth repeats the
    // first (as strings), so 3 of 11 characters (0.27 > 0.2) are repeated.
    let stage = try quality(d, ["top_n_grams": [String](), "dup_n_grams": ["2:0.2"]])
    #expect(try reason(stage, "ab c x a bc") == "duplicated_2_n_grams")
    #expect(try reason(stage, "ab c x a bd") == nil)
  }

  @Test("duplicated n-grams of 16 bytes and more: equal concatenations found whatever the word boundaries")
  func longConcatenatedNGrams() throws {
    // 2-grams "abcdefghijklmnopqr"+"s" and "abcdefgh"+"ijklmnopqrs" are the same 19 bytes
    // joined with "", though no word of one is a word of the other; the filler words between
    // them repeat nothing. The repeat's 19 characters decide the rule.
    let filler = "uvwxyz zyxwvu wvuxyz xyzuvw yxzwvu vwxuyz"
    let text = "abcdefghijklmnopqr s \(filler) abcdefgh ijklmnopqrs"
    let chars = Double(text.count)  // datatrove divides by the length of the whole text
    let share = 19 / chars
    let at = { (f: Double) in try quality(self.d, ["top_n_grams": [String](), "dup_n_grams": ["2:\(f)"]]) }
    #expect(try reason(at(share.nextDown), text) == "duplicated_2_n_grams")
    #expect(try reason(at(share), text) == nil)
    // One byte different at the end: nothing repeats.
    #expect(try reason(at(share.nextDown), String(text.dropLast()) + "t") == nil)
  }

  @Test("word comparison by masked words agrees with byte by byte, up to the end of the text")
  func maskedWordComparison() {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<3_000 {
      // A small alphabet, so that equal ranges are common.
      let n = Int.random(in: 1...64, using: &rng)
      let bytes = (0..<n).map { _ in UInt8.random(in: 0x61...0x63, using: &rng) }
      bytes.withUnsafeBufferPointer { b in
        let p = b.baseAddress!
        let len = Int.random(in: 0...min(n, 40), using: &rng)
        let a = Int.random(in: 0...(n - len), using: &rng)
        let c = Int.random(in: 0...(n - len), using: &rng)
        let want = Array(b[a..<(a + len)]) == Array(b[c..<(c + len)])
        #expect(WordView<UInt32>.sameBytes(p, a, c, len, within: n) == want)
        #expect(WordView<UInt32>.sameBytes(p, a, c, len) == want)
      }
    }
  }

  @Test("duplicated n-grams: after a repeat the scan jumps n words")
  func jumpAfterRepeat() throws {
    // "a b a b a b", n = 2: "ab" new, "ba" new, "ab" repeated (+2, jump to word 4), "ab"
    // repeated (+2, jump to 6, done): 4 of 11 characters, 0.36. Counting every repeated
    // position instead would give 6/11 = 0.55.
    let text = "a b a b a b"
    #expect(try reason(quality(d, ["top_n_grams": [String](), "dup_n_grams": ["2:0.4"]]), text) == nil)
    #expect(try reason(quality(d, ["top_n_grams": [String](), "dup_n_grams": ["2:0.36"]]), text) == "duplicated_2_n_grams")
    #expect(try reason(quality(d, ["top_n_grams": [String](), "dup_n_grams": ["2:0.37"]]), text) == nil)
  }

  @Test("rules are checked in order and the first that fails names the reason")
  func ruleOrder() throws {
    // Ten copies of a 12-word sentence on one line (639 characters): no repeated line or
    // paragraph. Every 2-gram inside the sentence occurs 10 times; the first, "One two", gives
    // 7 × 10 = 70 (0.11 ≤ 0.2); the first 3-gram 13 × 10 = 130 (0.203 > 0.18).
    let text = repeated("One two three four five six seven eight nine ten eleven twelve.", 10)
    #expect(try reason(quality(d), text) == "top_3_gram")
    #expect(try reason(quality(d, ["top_n_grams": [String]()]), text) == "duplicated_5_n_grams")
    #expect(try reason(quality(d, ["top_n_grams": [String](), "dup_n_grams": ["7:0.5", "5:0.5", "6:0.1"]]), text) == "duplicated_7_n_grams")
    #expect(try reason(quality(d, noNGrams), text) == nil)
  }

  @Test("varied prose passes the defaults")
  func keepsProse() throws {
    let prose = """
      The river runs through the valley, past old mills and quiet farms, until it reaches the sea.
      In spring the meadows fill with flowers, and children walk along the banks after school.

      Local historians say the first bridge was built of wood more than three hundred years ago.
      It burned twice before the town raised enough money for a stone arch, which still stands.

      Every autumn a small festival celebrates the harvest with music, bread and cider.
      """
    #expect(try reason(quality(d), prose) == nil)
  }

  @Test("German, Russian, Chinese and Japanese: fractions are over characters, not bytes")
  func multilingual() throws {
    // German: three sentences twice as paragraphs, 3 of 6 repeat (0.5 > 0.3).
    let de = ["Der Hund läuft über die Straße.", "Die Katze schläft auf dem Sofa.", "Wir trinken Kaffee am Morgen."]
    #expect(try reason(quality(d, noNGrams), (de + de).joined(separator: "\n\n")) == "dup_para_frac")
    // Russian line (22 characters, 41 bytes) twice among four ASCII lines of 21: 22/133 = 0.165
    // of the characters (as bytes it would be 41/171 = 0.24 > 0.2).
    let ru = "Мы пошли домой вечером"
    let ascii = ["abcdefghij klmnopqrst", "abcdefghij klmnopqrsu", "abcdefghij klmnopqrsv", "abcdefghij klmnopqrsw"]
    #expect(try reason(quality(d, noNGrams), ([ru] + ascii + [ru]).joined(separator: "\n")) == nil)
    #expect(try reason(quality(d, merged(noNGrams, ["dup_line_char_frac": 0.16])), ([ru] + ascii + [ru]).joined(separator: "\n")) == "dup_line_char_frac")
    // Chinese paragraph (9 characters, 27 bytes) twice: 9/112 = 0.08 < 0.1 (bytes: 0.18).
    let zh = "我们今天去公园散步"
    let zhText = ([zh] + ascii + [zh]).joined(separator: "\n\n")
    #expect(try reason(quality(d, merged(noNGrams, ["dup_para_char_frac": 0.1])), zhText) == nil)
    #expect(try reason(quality(d, merged(noNGrams, ["dup_para_char_frac": 0.08])), zhText) == "dup_para_char_frac")
    // Japanese words separated by spaces, the sentence 5 times (104 characters): top 2-gram
    // "私 は" is 3 × 5 = 15 (0.14 ≤ 0.2), top 3-gram "私 は 猫" 5 × 5 = 25 (0.24 > 0.18).
    #expect(try reason(quality(d), repeated("私 は 猫 と 犬 が 大好き です 。", 5)) == "top_3_gram")
  }

  @Test("a 3 MB single-line document: distinct words pass, a repeated sentence does not")
  func hugeLine() throws {
    // 400 000 distinct words "w0 w1 …": no n-gram repeats, every top n-gram occurs once.
    let words = (0..<400_000).map { "w\($0)" }.joined(separator: " ") + "."
    let line = docLine(id: "distinct", text: words)
    let repeatedLine = hugeSingleLine(id: "same", unit: "One two three four five six seven eight nine ten. ", count: 60_000).line
    let r = try runPipeline([try quality(d)], lines: [line, repeatedLine])
    #expect(r.keptIDs == ["distinct"])
    #expect(r.outputLines == [line])
    // The repeated sentence (51 characters × 60 000): "One two" ×60 000 is 0.137 of the text,
    // "One two three" 13/51 = 0.255 > 0.18.
    #expect(r.reasons == ["same": "top_3_gram"])
  }

  @Test("n-gram parameters: 'n:fraction' items, validated")
  func validation() throws {
    for bad in ["2", "x:0.1", "0:0.1", "2:-1", "2:abc", "2:0.1:3", ":0.1", "2:", "-3:0.1", "2:inf"] {
      expectUsageError(["top_n_grams", "'\(bad)'", "n:fraction"]) { _ = try quality(d, ["top_n_grams": [bad]]) }
    }
    expectUsageError(["dup_n_grams", "'5-0.15'"]) { _ = try quality(d, ["dup_n_grams": ["5:0.15", "5-0.15"]]) }
    expectUsageError(["dup_line_frac", "≥ 0"]) { _ = try quality(d, ["dup_line_frac": -0.1]) }
    expectUsageError(["language"]) { _ = try quality(d, ["language": ""]) }
    // Comma-separated on the command line; spaces and empty items are ignored.
    let stage = try build(d, ["top_n_grams": v("2:0.2, 3:0.18,"), "dup_n_grams": v("")])
    #expect(try reason(stage, "ab c x a bc") == "top_2_gram")
    let r = try build(d, ["top_n_grams": v(""), "dup_n_grams": v("2:0.2")])
    #expect(try reason(r, "ab c x a bc") == "duplicated_2_n_grams")
  }
}
