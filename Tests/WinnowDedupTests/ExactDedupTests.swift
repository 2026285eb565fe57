import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowDedup

@Suite("exact_dedup stage")
struct ExactDedupTests {
  let d = ExactDedup.descriptor

  func dedup(_ params: [String: RawParameter] = [:]) throws -> NamedStage { try build(d, params) }

  @Test("by text: the first occurrence wins, later copies are dropped as duplicate")
  func firstOccurrenceWins() throws {
    let lines = [
      docLine(id: "a1", text: "hello world"),
      docLine(id: "b1", text: "something else"),
      docLine(id: "a2", text: "hello world"),
      docLine(id: "c1", text: "Hello world"),  // case differs: not a duplicate without normalize
      docLine(id: "d1", text: "hello  world"),  // spacing differs
      docLine(id: "b2", text: "something else", [("url", #""http://other""#)]),  // other fields do not matter
      docLine(id: "a3", text: "hello world"),
    ]
    let r = try runPipeline([try dedup()], lines: lines)
    #expect(r.keptIDs == ["a1", "b1", "c1", "d1"])
    #expect(r.reasons == ["a2": "duplicate", "b2": "duplicate", "a3": "duplicate"])
    #expect(r.rejects.allSatisfy { $0["rejected_by"] as? String == "exact_dedup" })
    // Rejects keep every original field and add the two annotations.
    #expect(r.rejects.map { $0["id"] as? String } == ["a2", "b2", "a3"])
    #expect(r.rejects[1]["url"] as? String == "http://other")
    #expect(r.stats.stages[0].droppedByReason == ["duplicate": 3])
    #expect(r.outputLines == [lines[0], lines[1], lines[3], lines[4]])
    #expect(r.stats.isBalanced)
  }

  @Test("first occurrence in input order across several files")
  func acrossFiles() throws {
    let r = try runPipeline(
      [try dedup()],
      files: [
        [docLine(id: "f0-x", text: "x"), docLine(id: "f0-y", text: "y")],
        [docLine(id: "f1-y", text: "y"), docLine(id: "f1-z", text: "z"), docLine(id: "f1-x", text: "x")],
      ])
    #expect(r.keptIDs == ["f0-x", "f0-y", "f1-z"])
    #expect(r.reasons == ["f1-y": "duplicate", "f1-x": "duplicate"])
  }

  @Test("escaped and unescaped JSON for the same text is a duplicate")
  func escapedEqualsUnescaped() throws {
    let texts = ["café ☕ / naïve", "日本語\u{3000}テキスト", "مرحبا", "emoji 😀👍🏽", "tab\there \"quoted\" back\\slash"]
    var lines: [[UInt8]] = []
    for (k, t) in texts.enumerated() {
      lines.append(docLine(id: "raw\(k)", text: t))
      lines.append(docLine(id: "esc\(k)", text: t, asciiOnly: true))
    }
    // Escaped solidus and lower/upper-case hex escapes are the same text too.
    lines.append(Array(#"{"id":"sol","text":"caf\u00E9 \u2615 \/ na\u00efve"}"#.utf8))
    let r = try runPipeline([try dedup()], lines: lines)
    #expect(r.keptIDs == texts.indices.map { "raw\($0)" })
    #expect(r.stats.dropped == texts.count + 1)
    #expect(r.reasons["sol"] == "duplicate")
  }

  @Test(
    "normalize: true merges case, whitespace and NFKC variants, as Python's key says", .enabled(if: Python.available))
  func normalizeMatchesPython() throws {
    let texts = [
      "Hello World",
      "hello world",
      "  HELLO\u{3000}\u{3000}world\n",
      "ＨＥＬＬＯ　ＷＯＲＬＤ",  // full-width letters and ideographic space
      "hello\u{A0}world",
      "hello\u{2003}\u{202F}world\u{85}",
      "hello\tworld\r\n",
      "helloworld",
      "hello\u{200B}world",  // zero-width space is not whitespace: a different key
      "ﬁle ①",  // ligature and circled digit: NFKC makes "file 1"
      "FILE 1",
      "Привет Мир",
      "привет   мир",
      "ПРИВЕТ\u{3000}МИР",
      "café",
      "cafe\u{301}",  // NFKC composes it
      "CAFÉ",
      "日本語",
      "日本語 ",
      "ｶﾀｶﾅ",  // half-width katakana: NFKC gives full-width
      "カタカナ",
      "",
      "   \n\t",
      "Straße",
      "strasse",  // lower() keeps ß, so this is a different key
      "नमस्ते दुनिया",
      "नमस्ते\u{A0}दुनिया",
      "مرحبا  بالعالم",
      "مرحبا بالعالم",
    ]
    let keys = try Python.dedupKeys(texts)
    var seen = Set<String>()
    var expectedKept: [String] = []
    var expectedDropped: [String: String] = [:]
    for (k, key) in keys.enumerated() {
      if seen.insert(key).inserted { expectedKept.append("t\(k)") } else { expectedDropped["t\(k)"] = "duplicate" }
    }
    // Sanity check of the oracle: the variants above do collapse.
    #expect(expectedKept.count < texts.count - 10)
    let lines = texts.enumerated().map { docLine(id: "t\($0.offset)", text: $0.element) }
    let r = try runPipeline([try dedup(["normalize": v("true")])], lines: lines)
    #expect(r.keptIDs == expectedKept)
    #expect(r.reasons == expectedDropped)
    // Without normalize only byte-identical texts merge: all of these differ.
    let plain = try runPipeline([try dedup(["normalize": v("false")])], lines: lines)
    #expect(plain.keptIDs == texts.indices.map { "t\($0)" })
    #expect(plain.stats.dropped == 0)
  }

  @Test("normalize works on escaped input the same way")
  func normalizeEscaped() throws {
    let lines = [
      docLine(id: "a", text: "ＡＢＣ　ｄｅｆ", asciiOnly: true),
      docLine(id: "b", text: "abc def"),
      docLine(id: "c", text: "Abc\nDef", asciiOnly: true),
    ]
    let r = try runPipeline([try dedup(["normalize": v("yes")])], lines: lines)
    #expect(r.keptIDs == ["a"])
    #expect(r.reasons == ["b": "duplicate", "c": "duplicate"])
  }

  @Test("field: url dedups on the field; missing fields are kept or dropped as asked")
  func byField() throws {
    let lines = [
      docLine(id: "u1", text: "first", [("url", #""https://example.org/a""#)]),
      docLine(id: "u2", text: "second", [("url", #""https://example.org/b""#)]),
      docLine(id: "u3", text: "third", [("url", #""https:\/\/example.org\/a""#)]),  // escaped: same url
      docLine(id: "n1", text: "first"),  // no url; same text as u1
      docLine(id: "n2", text: "first"),
      docLine(id: "u4", text: "second", [("url", #""HTTPS://EXAMPLE.ORG/B""#)]),
    ]
    let keep = try runPipeline([try dedup(["field": v("url")])], lines: lines)
    #expect(keep.keptIDs == ["u1", "u2", "n1", "n2", "u4"])
    #expect(keep.reasons == ["u3": "duplicate"])
    let drop = try runPipeline([try dedup(["field": v("url"), "missing": v("drop")])], lines: lines)
    #expect(drop.keptIDs == ["u1", "u2", "u4"])
    #expect(drop.reasons == ["u3": "duplicate", "n1": "field_missing", "n2": "field_missing"])
    #expect(drop.stats.stages[0].droppedByReason == ["duplicate": 1, "field_missing": 2])
    // normalize applies to the field's value too.
    let norm = try runPipeline([try dedup(["field": v("url"), "normalize": v("true")])], lines: lines)
    #expect(norm.keptIDs == ["u1", "u2", "n1", "n2"])
    #expect(norm.reasons == ["u3": "duplicate", "u4": "duplicate"])
  }

  @Test("field: a null value counts as missing, not as a value shared by every null document")
  func nullFieldIsMissing() throws {
    let lines = [
      docLine(id: "a", text: "one", [("url", "null")]),
      docLine(id: "b", text: "two", [("url", "null")]),
      docLine(id: "c", text: "three", [("url", #""null""#)]),  // the string "null" is a value
      docLine(id: "d", text: "four", [("url", #""null""#)]),
    ]
    let keep = try runPipeline([try dedup(["field": v("url")])], lines: lines)
    #expect(keep.keptIDs == ["a", "b", "c"])
    #expect(keep.reasons == ["d": "duplicate"])
    let drop = try runPipeline([try dedup(["field": v("url"), "missing": v("drop")])], lines: lines)
    #expect(drop.keptIDs == ["c"])
    #expect(drop.reasons == ["a": "field_missing", "b": "field_missing", "d": "duplicate"])
  }

  @Test("field: nested and non-string values")
  func nestedAndNumbers() throws {
    let lines = [
      docLine(id: "a", text: "1", [("meta", #"{"hash":"abc","n":5}"#)]),
      docLine(id: "b", text: "2", [("meta", #"{"hash":"abd","n":5}"#)]),
      docLine(id: "c", text: "3", [("meta", #"{"hash":"abc","n":6}"#)]),
    ]
    let byHash = try runPipeline([try dedup(["field": v("meta.hash")])], lines: lines)
    #expect(byHash.keptIDs == ["a", "b"])
    let byN = try runPipeline([try dedup(["field": v("meta.n")])], lines: lines)
    #expect(byN.keptIDs == ["a", "c"])
  }

  @Test("the dedup key is the whole text: a one-character difference anywhere is not a duplicate")
  func oneCharacterDifference() throws {
    let base = String(repeating: "lorem ipsum dolor ", count: 500)
    let lines = [
      docLine(id: "orig", text: base),
      docLine(id: "copy", text: base),
      docLine(id: "head", text: "L" + base.dropFirst()),
      docLine(id: "tail", text: base.dropLast() + "!"),
      docLine(id: "mid", text: String(base.prefix(4000)) + "x" + String(base.dropFirst(4001))),
      docLine(id: "empty1", text: ""),
      docLine(id: "empty2", text: ""),
    ]
    let r = try runPipeline([try dedup()], lines: lines)
    #expect(r.keptIDs == ["orig", "head", "tail", "mid", "empty1"])
    #expect(r.reasons == ["copy": "duplicate", "empty2": "duplicate"])
  }

  @Test("empty input: no documents, balanced")
  func emptyInput() throws {
    let r = try runPipeline([try dedup()], files: [[], []])
    #expect(r.stats.documentsRead == 0 && r.outputLines.isEmpty && r.rejectLines.isEmpty && r.stats.isBalanced)
    #expect(r.stats.stages[0].documentsIn == 0)
  }

  @Test("malformed JSON and invalid UTF-8 are quarantined and never reach the stage")
  func badLinesQuarantined() throws {
    // Bad lines whose text would duplicate a good document must not register as seen.
    let good = [
      docLine(id: "g1", text: "truncated"), docLine(id: "g2", text: "bad  bytes"),
      docLine(id: "g3", text: "truncated"),
    ]
    let (lines, numbers) = interleaveBad(good)
    let r = try runPipeline([try dedup()], lines: lines)
    expectQuarantined(r, lineNumbers: numbers, goodDocuments: 3)
    #expect(r.keptIDs == ["g1", "g2"])
    #expect(r.reasons == ["g3": "duplicate"])
  }

  @Test("30 MB documents: an identical copy is dropped, the first is kept byte for byte")
  func hugeDocuments() throws {
    // Two 30 MB documents are as much as a debug build gets through quickly; that a
    // one-character difference is not a duplicate is checked on smaller texts above.
    let a = HugeText.jsonLine(id: "big1")
    let b = HugeText.jsonLine(id: "big2")
    let small = docLine(id: "small", text: "ab 日本 語\n")
    let r = try runPipeline([try dedup()], lines: [a, small, b])
    #expect(r.outputLines == [a, small])
    #expect(r.stats.stages[0].droppedByReason == ["duplicate": 1])
    #expect(r.stats.isBalanced && r.stats.documentsRead == 3)
  }

  @Test("the bundled sample shards hold exactly the 15 planted exact duplicates, each after its original")
  func sampleShards() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path
    let web = root + "/Samples/web"
    try #require(FileManager.default.fileExists(atPath: web))
    let inputs = try InputSet.expand([web])
    let dir = try TempDir()
    let r = try runPipeline([try dedup()], inputs: inputs, dir: dir)
    #expect(r.stats.documentsRead == 524)
    #expect(r.stats.dropped == 15)
    let dropped = r.rejects
    #expect(dropped.allSatisfy { ($0["id"] as? String)?.hasSuffix("-mirror") == true })
    let kept = Set(r.keptIDs)
    for doc in dropped {
      let original = (doc["meta"] as? [String: Any])?["duplicate_of"] as? String
      #expect(original.map(kept.contains) == true, "\(doc["id"] ?? "?")")
    }
  }

  @Test("parameter validation")
  func validation() throws {
    expectUsageError(["'normalize'", "boolean", "'maybe'"]) { _ = try build(d, ["normalize": v("maybe")]) }
    expectUsageError(["'missing'", "one of keep|drop", "'sometimes'"]) { _ = try build(d, ["missing": v("sometimes")]) }
    expectUsageError(["'field'", "a list"]) { _ = try build(d, ["field": list(["url", "id"])]) }
    expectUsageError(["'normalize'", "a mapping"]) {
      _ = try build(d, ["normalize": RawParameter(.unsupported("a mapping"), at: "r.yaml:4:5")])
    }
    expectUsageError(["no parameter 'feild'", "did you mean 'field'"]) { _ = try build(d, ["feild": v("url")]) }
    expectUsageError(["no parameter 'normalise'", "did you mean 'normalize'"]) {
      _ = try build(d, ["normalise": v("true")])
    }
    // Defaults: normalize false, missing keep.
    let s = try #require(try build(d, [:]).stage as? ExactDedup)
    #expect(s.normalize == false && s.dropMissing == false && s.field == nil)
  }
}
