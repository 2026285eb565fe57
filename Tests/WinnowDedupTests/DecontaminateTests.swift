import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowDedup

@Suite("decontaminate stage")
struct DecontaminateTests {
  let d = Decontaminate.descriptor

  /// A 24-word eval item; its 13-grams are what documents are checked against.
  static let item =
    "The committee decided after a long and careful debate that the new bridge across the river would be built of stone and steel soon"
  static let itemWords = item.split(separator: " ").map(String.init)

  /// Words `from..<to` of the item, joined by spaces.
  static func slice(_ from: Int, _ to: Int) -> String { itemWords[from..<to].joined(separator: " ") }

  /// Writes eval sets (name → JSON Lines items, or plain lines for names not ending in .jsonl)
  /// and builds the stage over them.
  func stage(
    _ dir: TempDir, _ sets: [(String, [String])], _ params: [String: RawParameter] = [:]
  ) throws -> NamedStage {
    var paths: [String] = []
    for (name, items) in sets {
      let isJSON = ReferenceTexts.isJSONLines(name)
      let lines = items.map { isJSON ? Array("{\"text\":\(jsonQuote($0))}".utf8) : Array($0.utf8) }
      paths.append(try dir.writeLines(name, lines))
    }
    var p = params
    p["eval_sets"] = list(paths)
    return try build(d, p)
  }

  func decon(_ stage: NamedStage) -> Decontaminate { stage.stage as! Decontaminate }

  // MARK: matching

  @Test("a document sharing exactly one 13-gram with an eval item is dropped as contaminated")
  func oneThirteenGram() throws {
    let dir = try TempDir()
    let s = try stage(dir, [("qa.jsonl", [Self.item])])
    let thirteen = "Unrelated words come first here, then " + Self.slice(5, 18) + " and something else follows."
    let r = try runPipeline(
      [s], lines: [docLine(id: "hit", text: thirteen), docLine(id: "clean", text: "nothing at all")])
    #expect(r.keptIDs == ["clean"])
    #expect(r.reasons == ["hit": "contaminated"])
    // The rejects say which set matched and how many distinct n-grams did.
    #expect(r.rejects[0]["decontaminate_matches"] as? Int == 1)
    #expect(r.rejects[0]["decontaminate_sets"] as? [String] == ["qa"])
    #expect(r.rejects[0]["rejected_by"] as? String == "decontaminate")
    // Kept documents are written byte for byte.
    #expect(r.outputLines == [docLine(id: "clean", text: "nothing at all")])
    #expect(r.stats.stages[0].droppedByReason == ["contaminated": 1])
    #expect(r.stats.isBalanced)
  }

  @Test("12 consecutive words of an eval item are not enough; 13 at the start or the end are")
  func twelveWordsAreNot() throws {
    let dir = try TempDir()
    let s = try stage(dir, [("qa.jsonl", [Self.item])])
    let lines = [
      docLine(id: "twelve", text: "before " + Self.slice(3, 15) + " after"),
      docLine(id: "twelve-alone", text: Self.slice(0, 12)),
      // Two 12-word runs separated by a foreign word: no 13 consecutive words in common.
      docLine(id: "gap", text: Self.slice(0, 12) + " INSERTED " + Self.slice(12, 24)),
      docLine(id: "head", text: Self.slice(0, 13) + " tail words"),
      docLine(id: "tail", text: "head words " + Self.slice(11, 24)),
      docLine(id: "whole", text: Self.item),
    ]
    let r = try runPipeline([s], lines: lines)
    #expect(r.keptIDs == ["twelve", "twelve-alone", "gap"])
    #expect(r.reasons == ["head": "contaminated", "tail": "contaminated", "whole": "contaminated"])
    // The whole item has 24 - 13 + 1 = 12 thirteen-grams.
    #expect(r.rejects.map { $0["decontaminate_matches"] as? Int } == [1, 1, 12])
  }

  @Test("case, punctuation, apostrophes, whitespace and Unicode presentation do not hide a match")
  func normalisation() throws {
    let dir = try TempDir()
    let evalText = "It's the committee's view that the bridge, built in 1910, won't last another winter in the valley."
    let s = try stage(dir, [("e.txt", [evalText])])
    let variants = [
      "IT'S THE COMMITTEE'S VIEW THAT THE BRIDGE BUILT IN 1910 WON'T LAST ANOTHER WINTER IN THE VALLEY",
      "it’s the committee’s view — that the bridge (built in 1910) won’t last another winter in the valley!!",
      "It's\n\nthe   committee's\tview that the\u{3000}bridge, built in 1910, won't last another winter",
      "its the committees view that the bridge built in 1910 wont last another winter",  // apostrophes left out
      "ＩＴ'Ｓ ｔｈｅ ｃｏｍｍｉｔｔｅｅ'ｓ view that the bridge, built in １９１０, won't last another winter",
      "It's the committee's view that the bridge, built in 1910, won't last another winter in the valley.",
    ]
    let r = try runPipeline([s], lines: variants.enumerated().map { docLine(id: "v\($0.offset)", text: $0.element) })
    #expect(r.keptIDs == [])
    #expect(r.stats.dropped == variants.count)
    // A changed word breaks the n-grams that contain it.
    let changed = "It's the committee's view that the bridge, built in 1911, won't last another winter."
    #expect(try verdict([s], docLine(id: "c", text: changed)) == nil)
    // Hyphens and other punctuation separate words: "stone-built" is "stone built".
    let s2 = try stage(dir, [("h.txt", ["one two three four five six seven eight nine ten eleven twelve stone built"])])
    #expect(
      try verdict(
        [s2], docLine(id: "h", text: "two three four five six seven eight nine ten eleven twelve stone-built"))
        == "contaminated")
  }

  @Test("which eval set matched is reported, in eval_sets order; one n-gram in two sets names both")
  func whichSet() throws {
    let dir = try TempDir()
    let mmlu = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
    let gsm = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    let shared = "red orange yellow green blue indigo violet black white grey brown pink purple"
    let s2 = try stage(dir, [("mmlu.jsonl", [mmlu, shared]), ("gsm8k.txt", [gsm, shared])], ["mode": v("annotate")])
    let lines = [
      docLine(id: "m", text: "x " + mmlu + " y"),
      docLine(id: "g", text: gsm),
      docLine(id: "both", text: gsm + " and then " + mmlu),
      docLine(id: "shared", text: shared),
      docLine(id: "none", text: "no overlap here"),
    ]
    let r = try runPipeline([s2], lines: lines)
    let sets = Dictionary(
      uniqueKeysWithValues: r.kept.map { ($0["id"] as! String, $0["decontaminate_sets"] as? [String]) })
    let counts = Dictionary(
      uniqueKeysWithValues: r.kept.map { ($0["id"] as! String, $0["decontaminate_matches"] as? Int) })
    #expect(
      sets == ["m": ["mmlu"], "g": ["gsm8k"], "both": ["mmlu", "gsm8k"], "shared": ["mmlu", "gsm8k"], "none": []])
    #expect(counts == ["m": 3, "g": 2, "both": 5, "shared": 1, "none": 0])
  }

  @Test("set names are the files' base names; the path as given when two would be the same")
  func setNames() {
    #expect(
      Decontaminate.setNames(["evals/mmlu.jsonl.zst", "gsm8k.jsonl", "a/b/arc.txt", "plain", "x/.hidden"])
        == ["mmlu", "gsm8k", "arc", "plain", ".hidden"])
    #expect(
      Decontaminate.setNames(["a/test.jsonl", "b/test.jsonl", "c/other.txt"]) == [
        "a/test.jsonl", "b/test.jsonl", "other",
      ])
    #expect(ReferenceTexts.isJSONLines("x.jsonl") && ReferenceTexts.isJSONLines("x.JSONL.ZST"))
    #expect(ReferenceTexts.isJSONLines("x.json.gz") && ReferenceTexts.isJSONLines("x.ndjson"))
    #expect(
      !ReferenceTexts.isJSONLines("x.txt") && !ReferenceTexts.isJSONLines("jsonl")
        && !ReferenceTexts.isJSONLines("x.txt.gz"))
  }

  @Test("min_matches counts distinct matching n-grams; a repeated n-gram counts once")
  func minMatches() throws {
    let dir = try TempDir()
    let two = Self.slice(0, 14)  // 2 thirteen-grams
    let repeated = [String](repeating: Self.slice(0, 13), count: 5).joined(separator: " | ")  // 1 distinct, 5 times
    let lines = [
      docLine(id: "two", text: two), docLine(id: "rep", text: repeated), docLine(id: "three", text: Self.slice(2, 17)),
    ]
    let at2 = try runPipeline([try stage(dir, [("e.jsonl", [Self.item])], ["min_matches": v("2")])], lines: lines)
    #expect(at2.keptIDs == ["rep"])
    #expect(at2.reasons == ["two": "contaminated", "three": "contaminated"])
    let at3 = try runPipeline([try stage(dir, [("e.jsonl", [Self.item])], ["min_matches": v("3")])], lines: lines)
    #expect(at3.keptIDs == ["two", "rep"])
    // Kept documents below the threshold are not annotated in drop mode.
    #expect(at3.kept.allSatisfy { $0["decontaminate_matches"] == nil })
    #expect(at3.rejects[0]["decontaminate_matches"] as? Int == 3)
    let at1 = try runPipeline([try stage(dir, [("e.jsonl", [Self.item])])], lines: lines)
    #expect(at1.keptIDs == [])
    #expect(at1.rejects.map { $0["decontaminate_matches"] as? Int } == [2, 1, 3])
    expectUsageError(["min_matches", "≥ 1"]) { _ = try stage(dir, [("e.jsonl", [Self.item])], ["min_matches": v("0")]) }
  }

  @Test("annotate keeps every document and adds the count and the sets, under configurable names")
  func annotateMode() throws {
    let dir = try TempDir()
    let s = try stage(dir, [("e.jsonl", [Self.item])], ["mode": v("annotate")])
    let lines = [
      docLine(id: "hit", text: Self.item), docLine(id: "clean", text: "clean text"), docLine(id: "empty", text: ""),
    ]
    let r = try runPipeline([s], lines: lines)
    #expect(r.keptIDs == ["hit", "clean", "empty"])
    #expect(r.kept.map { $0["decontaminate_matches"] as? Int } == [12, 0, 0])
    #expect(r.kept.map { $0["decontaminate_sets"] as? [String] } == [["e"], [], []])
    #expect(r.stats.stages[0].modified == 3)
    #expect(r.stats.dropped == 0)
    let named = try stage(
      dir, [("e.jsonl", [Self.item])],
      ["mode": v("annotate"), "matches_field": v("eval_overlap"), "sets_field": v("eval_sets_hit")])
    let n = try runPipeline([named], lines: lines)
    #expect(n.kept[0]["eval_overlap"] as? Int == 12)
    #expect(n.kept[0]["eval_sets_hit"] as? [String] == ["e"])
    #expect(n.kept[0]["decontaminate_matches"] == nil)
    expectUsageError(["annotate", "min_matches"]) {
      _ = try stage(dir, [("e.jsonl", [Self.item])], ["mode": v("annotate"), "min_matches": v("2")])
    }
    expectUsageError(["matches_field", "sets_field"]) {
      _ = try stage(dir, [("e.jsonl", [Self.item])], ["matches_field": v("x"), "sets_field": v("x")])
    }
  }

  @Test("an empty document, and documents shorter than n words, are kept")
  func emptyAndShortDocuments() throws {
    let dir = try TempDir()
    let s = try stage(dir, [("e.jsonl", [Self.item])])
    for text in ["", " ", "\n\n\t", "...,;!?", "The committee"] {
      #expect(try verdict([s], docLine(id: "x", text: text)) == nil, "\(text.debugDescription)")
    }
    let r = try runPipeline([s], lines: [docLine(id: "e", text: "")])
    #expect(r.keptIDs == ["e"])
  }

  // MARK: short items

  @Test("short_items: skip by default; whole matches a short item's whole word sequence")
  func shortItems() throws {
    let dir = try TempDir()
    let shortItem = "What is the boiling point of water at sea level in kelvin"  // 12 words
    let tiny = "capital of France"  // 3 words: below min_item_length
    let sets = [("e.jsonl", [Self.item, shortItem, tiny])]
    let doc = docLine(id: "s", text: "Quiz: what is the boiling point of water at sea level in kelvin? Answer below.")
    let capital = docLine(id: "c", text: "Paris is the capital of France.")
    let skip = try stage(dir, sets)
    #expect(try verdict([skip], doc) == nil)
    #expect(decon(skip).sets[0].shortSkipped == 2)
    let whole = try stage(dir, sets, ["short_items": v("whole")])
    #expect(try verdict([whole], doc) == "contaminated")
    #expect(try verdict([whole], capital) == nil)
    #expect(decon(whole).shortLengths == [12])
    #expect(decon(whole).sets[0].shortWhole == 1)
    #expect(decon(whole).sets[0].shortSkipped == 1)
    // 11 of its 12 words are not enough.
    #expect(try verdict([whole], docLine(id: "p", text: "what is the boiling point of water at sea level in")) == nil)
    let lower = try stage(dir, sets, ["short_items": v("whole"), "min_item_length": v("3")])
    #expect(try verdict([lower], capital) == "contaminated")
    #expect(decon(lower).shortLengths == [3, 12])
    // A long item's n-grams still need all 13 words.
    #expect(try verdict([lower], docLine(id: "l", text: Self.slice(0, 12))) == nil)
    expectUsageError(["min_item_length", "whole"]) { _ = try stage(dir, sets, ["min_item_length": v("3")]) }
  }

  // MARK: eval sets

  @Test("an eval set that gives no n-grams is an error naming it and why")
  func emptyEvalSet() throws {
    let dir = try TempDir()
    let empty = try dir.write("empty.jsonl", [])
    let blank = try dir.write("blank.txt", Array("\n  \n\t\n".utf8))
    let short = try dir.writeLines("short.jsonl", [Array(#"{"text":"too short"}"#.utf8)])
    let good = try dir.writeLines("good.txt", [Array(Self.item.utf8)])
    expectUsageError(["eval set", "empty.jsonl", "no items"]) { _ = try build(d, ["eval_sets": list([good, empty])]) }
    expectUsageError(["blank.txt", "no items"]) { _ = try build(d, ["eval_sets": list([blank])]) }
    expectUsageError(["short.jsonl", "1 item(s)", "13 words", "short_items"]) {
      _ = try build(d, ["eval_sets": list([short])])
    }
    expectUsageError(["eval_sets"]) { _ = try build(d, [:]) }
    expectUsageError(["empty path"]) { _ = try build(d, ["eval_sets": list([good, ""])]) }
  }

  @Test("malformed JSON in an eval set is an error naming the file and the line")
  func malformedEvalJSON() throws {
    let dir = try TempDir()
    let bad = try dir.writeLines(
      "bad.jsonl",
      [Array("{\"text\":\(jsonQuote(Self.item))}".utf8), [], Array(#"{"text": "unterminated"#.utf8)])
    expectUsageError(["\(bad):3:", "malformed JSON", "invalid_json"]) { _ = try build(d, ["eval_sets": list([bad])]) }
    let notObject = try dir.writeLines("array.json", [Array("[1, 2]".utf8)])
    expectUsageError(["\(notObject):1:", "not_an_object", "JSON Lines"]) {
      _ = try build(d, ["eval_sets": list([notObject])])
    }
    let noField = try dir.writeLines(
      "nofield.jsonl", [Array("{\"text\":\(jsonQuote(Self.item))}".utf8), Array(#"{"question":"q"}"#.utf8)])
    expectUsageError(["\(noField):2:", "no field 'text'", "eval_field"]) {
      _ = try build(d, ["eval_sets": list([noField])])
    }
    let number = try dir.writeLines("number.jsonl", [Array(#"{"text":42}"#.utf8)])
    expectUsageError(["\(number):1:", "not a string"]) { _ = try build(d, ["eval_sets": list([number])]) }
    let badUTF8 = try dir.writeLines("utf8.jsonl", [Array(#"{"text":"ab "#.utf8) + [0xFF] + Array(#""}"#.utf8)])
    expectUsageError(["\(badUTF8):1:", "UTF-8"]) { _ = try build(d, ["eval_sets": list([badUTF8])]) }
    let badText = try dir.writeLines("utf8.txt", [Array(Self.item.utf8), Array("ok".utf8) + [0xC3, 0x28]])
    expectUsageError(["\(badText):2:", "UTF-8"]) { _ = try build(d, ["eval_sets": list([badText])]) }
  }

  @Test("a missing or unreadable eval set is a usage error naming the file")
  func missingEvalSet() throws {
    let dir = try TempDir()
    expectUsageError(["\(dir.path)/nope.jsonl", "cannot"]) {
      _ = try build(d, ["eval_sets": list([dir.path + "/nope.jsonl"])])
    }
    expectUsageError(["\(dir.path)/nope.txt", "cannot"]) {
      _ = try build(d, ["eval_sets": list([dir.path + "/nope.txt"])])
    }
    expectUsageError([dir.path, "directory"]) { _ = try build(d, ["eval_sets": list([dir.path])]) }
  }

  @Test("eval sets: another field, compressed JSON Lines, text files with a BOM, CRLF and blank lines")
  func evalFormats() throws {
    let dir = try TempDir()
    let content = Array("{\"id\":1,\"question\":\(jsonQuote(Self.item)),\"text\":\"other\"}\n".utf8)
    let zst = dir.path + "/q.jsonl.zst"
    let zsink = try openByteSink(path: zst, compression: .zstd, level: 3)
    try zsink.write(content)
    try zsink.finish()
    let gz = dir.path + "/g.json.gz"
    let gsink = try openByteSink(path: gz, compression: .gzip, level: nil)
    try gsink.write(
      Array("{\"question\":\"one two three four five six seven eight nine ten eleven twelve thirteen\"}".utf8))
    try gsink.finish()
    let text = try dir.write(
      "t.txt",
      [0xEF, 0xBB, 0xBF]
        + Array("\r\n   \r\nred orange yellow green blue indigo violet black white grey brown pink purple\r\n".utf8))
    let s = try build(d, ["eval_sets": list([zst, gz, text]), "eval_field": v("question"), "mode": v("annotate")])
    #expect(decon(s).sets.map(\.name) == ["q", "g", "t"])
    #expect(decon(s).sets.map(\.items) == [1, 1, 1])
    let lines = [
      docLine(id: "q", text: Self.item),
      docLine(id: "g", text: "one two three four five six seven eight nine ten eleven twelve thirteen"),
      docLine(
        id: "t", text: "Red, orange, yellow, green, blue, indigo, violet, black, white, grey, brown, pink, purple."),
      docLine(id: "x", text: "other"),
    ]
    let r = try runPipeline([s], lines: lines)
    #expect(r.kept.map { $0["decontaminate_sets"] as? [String] } == [["q"], ["g"], ["t"], []])
  }

  // MARK: documents

  @Test("lines that are not valid UTF-8 (or JSON) are quarantined by the reader; the rest are checked")
  func invalidUTF8Documents() throws {
    let dir = try TempDir()
    let s = try stage(dir, [("e.jsonl", [Self.item])])
    let good = [
      docLine(id: "g1", text: "clean"), docLine(id: "g2", text: Self.item), docLine(id: "g3", text: "also clean"),
    ]
    let (lines, numbers) = interleaveBad(good)
    let r = try runPipeline([s], lines: lines)
    expectQuarantined(r, lineNumbers: numbers, goodDocuments: good.count)
    #expect(r.keptIDs == ["g1", "g3"])
    #expect(r.reasons == ["g2": "contaminated"])
    // Text that a library caller put in with U+FFFD (or a lone replacement) is just text.
    let doc = try Document(json: "{\"text\":\(jsonQuote("\u{FFFD}\u{FFFD} " + Self.item + " \u{FFFD}"))}")
    #expect(try s.stage.process(doc) == .drop("contaminated"))
  }

  @Test("a document of several megabytes is scanned to its end")
  func hugeDocument() throws {
    let dir = try TempDir()
    let s = try stage(dir, [("e.jsonl", [Self.item])])
    let filler = String(repeating: "lorem ipsum dolor sit amet, consectetur adipiscing elit. ", count: 100_000)  // 5.7 MB
    let lines = [
      docLine(id: "end", text: filler + Self.slice(10, 23)),
      docLine(id: "start", text: Self.slice(0, 13) + " " + filler),
      docLine(id: "clean", text: filler + Self.slice(10, 22)),
      docLine(id: "cjk", text: String(repeating: "日本語のテキストです。", count: 100_000) + Self.slice(1, 14)),
    ]
    #expect(lines[0].count > 5_000_000)
    let r = try runPipeline([s], lines: lines)
    #expect(r.keptIDs == ["clean"])
    #expect(r.reasons == ["end": "contaminated", "start": "contaminated", "cjk": "contaminated"])
  }

  @Test("German and Russian: full case folding (ß = ss, Ё = ё) and Cyrillic words")
  func germanAndRussian() throws {
    let dir = try TempDir()
    let de = "Die Straße führt über die große Brücke zum alten Schloss am Fluss, wo Müller seit Jahren Äpfel verkauft."
    let ru =
      "Ёжик в тумане медленно шёл по тропинке к реке, где его ждал старый друг медвежонок с самоваром и вареньем."
    let s = try stage(dir, [("de.jsonl", [de]), ("ru.txt", [ru])], ["mode": v("annotate")])
    let lines = [
      docLine(
        id: "de", text: "DIE STRASSE FÜHRT ÜBER DIE GROSSE BRÜCKE ZUM ALTEN SCHLOSS AM FLUSS, WO MÜLLER SEIT JAHREN"),
      docLine(
        id: "de-nfd",
        text: "Die Straße fu\u{308}hrt u\u{308}ber die große Brücke zum alten Schloss am Fluss wo Mu\u{308}ller seit"),
      docLine(id: "ru", text: "ЁЖИК В ТУМАНЕ МЕДЛЕННО ШЁЛ ПО ТРОПИНКЕ К РЕКЕ, ГДЕ ЕГО ЖДАЛ СТАРЫЙ ДРУГ"),
      docLine(id: "ru-12", text: "ёжик в тумане медленно шёл по тропинке к реке где его ждал"),
      docLine(
        id: "de-other", text: "Die Straße führt über die große Brücke zum neuen Schloss am Fluss, wo Müller seit Jahren"
      ),
    ]
    let r = try runPipeline([s], lines: lines)
    let sets = r.kept.map { $0["decontaminate_sets"] as? [String] ?? ["?"] }
    #expect(sets == [["de"], ["de"], ["ru"], [], []])
  }

  @Test("Chinese and Japanese: char units ignore spaces and punctuation; word units take each character")
  func spacelessScripts() throws {
    let dir = try TempDir()
    let zh = "今天天气很好，我们一起去公园散步，然后在湖边的小餐馆吃午饭，下午再回家休息。"
    let ja = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
    let sets = [("zh.txt", [zh]), ("ja.jsonl", [ja])]
    let chars = try stage(dir, sets, ["unit": v("char")])
    #expect(decon(chars).n == 25)
    // 25 characters in a row, with other punctuation and spaces in between.
    let zhDoc = "新闻：我们 一起 去公园散步 ， 然后在湖边的小餐馆吃午饭！下午再回"
    #expect(try verdict([chars], docLine(id: "zh", text: zhDoc)) == "contaminated")
    let zhShort = "我们一起去公园散步然后在湖边的小餐馆吃午饭"  // 21 characters
    #expect(try verdict([chars], docLine(id: "zh-short", text: zhShort)) == nil)
    let jaDoc = "冒頭：「吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当」"  // 25 of them
    #expect(try verdict([chars], docLine(id: "ja", text: jaDoc)) == "contaminated")
    // Half-width katakana folds to full-width (NFKC).
    let kana = try stage(dir, [("k.txt", ["カタカナのテキストをここに書いておきますよろしくおねがいします"])], ["unit": v("char")])
    #expect(
      try verdict([kana], docLine(id: "k", text: "ｶﾀｶﾅのﾃｷｽﾄをここに書いておきますよろしくおねがいします"))
        == "contaminated")
    // Word units: every Han or kana character is a word, so 13 characters are a 13-gram.
    let words = try stage(dir, sets)
    #expect(try verdict([words], docLine(id: "w", text: "去公园散步，然后在湖边的小餐")) == "contaminated")
    #expect(try verdict([words], docLine(id: "w12", text: "去公园散步，然后在湖边的小")) == nil)
    // Mixed text: English words between Chinese characters are words of their own.
    let mixed = try stage(dir, [("m.txt", ["我们 use the 新的 model 来 train 一个 classifier 今天"])])
    #expect(try verdict([mixed], docLine(id: "m", text: "我们use the新的model来train一个classifier今天")) == "contaminated")
  }

  @Test("text that NFKC_Casefold leaves alone skips ICU and gives the same units")
  func stableShortcut() {
    let texts = [
      "café — “quoted” it’s naïve; señor – déjà vu",
      "привет мир, как дела",
      "日本語のテキスト、中文也有。",
      "한국어 문장도 있습니다",
      "e\u{301}cole cafe\u{301}",  // decomposed: composed by NFKC
      "ÉCOLE Straße ΣΟΦΟΣ σοφός Привет",
      "ﬁne ① x² ™ …",
      "no\u{A0}break\u{AD}soft",
      "\u{1100}\u{1161}\u{11A8} 한\u{11A8}",  // Hangul jamo compose
      "ไทยภาษา عَرَبِيّ",
      "emoji 😀 and 𠀀 beyond the BMP",
      "\u{FFFD} replacement",
      "plain ASCII Text",
    ]
    for unit in [NGramUnit.word, .char] {
      let fast = NGramSplitter(unit)
      let slow = NGramSplitter(unit, alwaysFold: true)
      for t in texts {
        var a = t
        var b = t
        let got = a.withUTF8 { Array(fast.split($0)) }
        let want = b.withUTF8 { Array(slow.split($0)) }
        #expect(got == want, "\(unit): \(t.debugDescription)")
      }
    }
    // Which characters take the shortcut.
    for c: UInt32 in [0xE9, 0x2019, 0x201C, 0x2014, 0x43F, 0x65E5, 0xAC00] {
      #expect(NGramSplitter.isStableSlow(c), "U+\(String(c, radix: 16))")
    }
    for c: UInt32 in [0xC9, 0x301, 0xA0, 0xAD, 0x2026, 0x3C2, 0xFB01, 0x11A8, 0x1161, 0xFF21, 0xFFFD] {
      #expect(!NGramSplitter.isStableSlow(c), "U+\(String(c, radix: 16))")
    }
  }

  @Test("the ngram parameter sets n for either unit")
  func ngramParameter() throws {
    let dir = try TempDir()
    let s = try stage(dir, [("e.jsonl", [Self.item])], ["ngram": v("5")])
    #expect(decon(s).n == 5)
    #expect(try verdict([s], docLine(id: "5", text: "x " + Self.slice(7, 12) + " y")) == "contaminated")
    #expect(try verdict([s], docLine(id: "4", text: "x " + Self.slice(7, 11) + " y")) == nil)
    let one = try stage(dir, [("e.txt", ["Bridge"])], ["ngram": v("1")])
    #expect(try verdict([one], docLine(id: "1", text: "a BRIDGE!")) == "contaminated")
    expectUsageError(["ngram", "1000"]) { _ = try stage(dir, [("e.jsonl", [Self.item])], ["ngram": v("1001")]) }
    expectUsageError(["unit", "word|char"]) { _ = try stage(dir, [("e.jsonl", [Self.item])], ["unit": v("byte")]) }
  }

  @Test("the stage is registered after exact_dedup and built by name like every stage")
  func registry() throws {
    let names = Dedup.descriptors.map(\.name)
    #expect(names.first == "exact_dedup")
    #expect(names.contains("decontaminate"))
    #expect(d.cliName == "decontaminate")
    #expect(d.parameters.first { $0.name == "eval_sets" }?.required == true)
    #expect(d.parameters.first { $0.name == "eval_sets" }?.type == .scalarList)
    #expect(!d.isGlobal)
  }

  // MARK: the key table

  @Test("the key table finds every key it holds, none it does not, and merges sets per key")
  func table() {
    let t = NGramTable(setCount: 3, capacity: 16)
    var rng = SystemRandomNumberGenerator()
    let keys = (0..<50_000).map { _ in UInt64.random(in: 1...UInt64.max, using: &rng) }
    for (k, key) in keys.enumerated() { t.insert(key, set: k % 2) }
    for key in keys.prefix(100) { t.insert(key, set: 2) }
    #expect(t.count == keys.count)
    #expect((t.mask + 1) * 3 >= keys.count * 4)
    var wrongSets = 0
    var missing = 0
    var blocked = 0
    for (k, key) in keys.enumerated() {
      let slot = t.find(key)
      guard slot >= 0 else {
        missing += 1
        continue
      }
      let sets = t.sets(ofGroup: t.groups[slot])
      if sets != (k < 100 ? [UInt32(k % 2), 2] : [UInt32(k % 2)]) { wrongSets += 1 }
      // Every held key passes the prefilter.
      let bits = NGramTable.prefilterBits(key)
      if t.prefilter[NGramTable.prefilterWord(key) & t.prefilterWordMask] & bits != bits { blocked += 1 }
    }
    #expect(missing == 0)
    #expect(wrongSets == 0)
    #expect(blocked == 0)
    let held = Set(keys)
    var passed = 0
    var found = 0
    for _ in 0..<20_000 {
      let key = UInt64.random(in: 1...UInt64.max, using: &rng)
      if held.contains(key) { continue }
      if t.find(key) != -1 { found += 1 }
      let bits = NGramTable.prefilterBits(key)
      if t.prefilter[NGramTable.prefilterWord(key) & t.prefilterWordMask] & bits == bits { passed += 1 }
    }
    #expect(found == 0)
    // Two bits per key in a block of 64, 10.7 to 21 bits per key: a few per cent get through.
    #expect(passed < 20_000 / 16)
  }

  @Test("the per-document slot set counts distinct slots and empties for the next document")
  func slotSet() {
    let set = SlotSet()
    for round in 0..<3 {
      let n = [10, 5000, 40][round]
      var expected = Set<Int>()
      for k in 0..<(n * 3) {
        let slot = (k * 7919 + round) % n
        set.insert(slot)
        expected.insert(slot)
      }
      set.insert(0)
      expected.insert(0)
      #expect(set.count == expected.count)
      #expect(Set((0..<set.count).map { set.members[$0] }) == expected)
      set.removeAll()
      #expect(set.count == 0)
    }
  }

  @Test("n-gram keys depend on the units and their order, and on the length")
  func keys() {
    func keys(_ u: [UInt64], _ k: Int) -> [UInt64] {
      var out: [UInt64] = []
      u.withUnsafeBufferPointer { NGramKeys.forEach($0, length: k) { out.append($0) } }
      return out
    }
    let u: [UInt64] = [11, 22, 33, 44, 55, 66]
    let k3 = keys(u, 3)
    #expect(k3.count == 4)
    // Rolling gives the same key as hashing the window alone.
    for i in 0..<4 { #expect(k3[i] == keys(Array(u[i..<(i + 3)]), 3)[0]) }
    #expect(keys([22, 11, 33], 3)[0] != keys([11, 22, 33], 3)[0])
    #expect(keys([11, 22], 2)[0] != keys([11, 22, 0], 3)[0])
    #expect(Set(k3).count == 4)
    #expect(keys(u, 7).isEmpty)
    #expect(!k3.contains(0))
  }
}

// The stage's word definition against an independent Python implementation of the documented
// rules (NFKC, case folding, letters/marks/numbers, apostrophes left out, space-less scripts
// one character per word).
extension Python {
  static func decontaminationWords(_ texts: [String]) throws -> [[String]] {
    let script = """
      import json, sys, unicodedata
      R = [(0x0E00,0x0EFF),(0x1000,0x109F),(0x1780,0x17FF),(0x19E0,0x19FF),(0x2E80,0x2FDF),(0x3005,0x3007),
           (0x3021,0x3029),(0x3031,0x3035),(0x3038,0x303C),(0x3040,0x30FF),(0x3100,0x312F),(0x31A0,0x31BF),
           (0x31F0,0x31FF),(0x3400,0x4DBF),(0x4E00,0x9FFF),(0xA9E0,0xA9FF),(0xAA60,0xAA7F),(0xF900,0xFAFF),
           (0xFF66,0xFF9F),(0x16FE0,0x16FFF),(0x1B000,0x1B16F),(0x20000,0x3FFFF)]
      def words(s):
          s = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold())
          out, cur = [], ""
          for ch in s:
              if ch in "'\\u2019\\u02bc":
                  continue
              if unicodedata.category(ch)[0] in "LMN":
                  if any(a <= ord(ch) <= b for a, b in R):
                      if cur: out.append(cur); cur = ""
                      out.append(ch)
                  else:
                      cur += ch
              elif cur:
                  out.append(cur); cur = ""
          if cur: out.append(cur)
          return out
      print(json.dumps([words(t) for t in json.load(sys.stdin)]))
      """
    return try run(script, input: texts) as! [[String]]
  }
}

@Suite("decontaminate words against Python", .enabled(if: Python.available))
struct DecontaminateWordsTests {
  @Test("the unit hashes are XXH3-64 of the words the documented rules give")
  func wordsMatchPython() throws {
    let texts = [
      "Hello, World! It's 2024 — the year of the ‘dragon’.",
      "Don’t stop: e-mail me at foo@example.org (or call +1-555-0100).",
      "Straße STRASSE Œuvre ǅungla ﬁnal ①②③ x²",
      "Привет, мир! ЁЛКА ёлка. Ελληνικά ΣΟΦΟΣ σοφός.",
      "日本語のテキストと English words、中文也有。한국어 문장도 있습니다.",
      "नमस्ते दुनिया, مرحبا بالعالم, שלום עולם",
      "tabs\tand\nnewlines\r\nand\u{A0}no-break\u{2003}spaces",
      "under_score snake_case and-hyphen dots.in.words 3.14 1,000,000",
      "ไทยภาษา ລາວ ខ្មែរ မြန်မာ",
      "",
      "   ",
    ]
    let expected = try Python.decontaminationWords(texts)
    let splitter = NGramSplitter(.word)
    for (text, words) in zip(texts, expected) {
      var t = text
      let got = t.withUTF8 { Array(splitter.split($0)) }
      let want = words.map { XXH3.hash64($0) }
      #expect(got == want, "\(text): expected \(words)")
    }
  }
}
