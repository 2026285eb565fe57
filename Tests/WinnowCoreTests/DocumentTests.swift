import Foundation
import Testing

@testable import WinnowCore
import WinnowText

func doc(_ json: String, fields: DocumentFields = DocumentFields(), source: String = "shard.jsonl", line: Int = 7) throws
  -> Document
{
  try Document(json: json, fields: fields, source: source, line: line)
}

func loadFailure(_ json: String, fields: DocumentFields = DocumentFields()) -> JSONScanError? {
  do {
    _ = try Document(json: json, fields: fields)
    return nil
  } catch {
    return error
  }
}

/// Python's view of an edit: `json.loads(serialized)` must equal `json.loads(original)` updated
/// with `changes` applied in order, key order included. Python's dict update keeps an existing
/// key in place and appends a new one, which is exactly the splice/append contract.
enum PythonEditCheck {
  struct Case {
    var original: String
    var serialized: [UInt8]
    /// The expected changes as [key, value] pairs, in the order they were made. They reach
    /// Python through Foundation's encoder, not ours.
    var changes: [[Any]]
    var label: String
  }

  static let script = """
    import json, sys
    out = []
    for orig, ser_hex, changes in json.load(open(sys.argv[1])):
        try:
            got = json.loads(bytes.fromhex(ser_hex).decode("utf-8"))
        except Exception as e:
            out.append("invalid: %s" % e)
            continue
        want = json.loads(orig)
        for k, v in changes:
            want[k] = v
        if list(got.items()) != list(want.items()):
            out.append("differs: got %r want %r" % (list(got.items()), list(want.items())))
        else:
            out.append("ok")
    print(json.dumps(out))
    """

  static func run(_ cases: [Case]) throws {
    let input = cases.map { [$0.original, hexString($0.serialized), $0.changes] as [Any] }
    let results = try #require(Python.run(script, input: input) as? [String])
    try #require(results.count == cases.count)
    for (c, r) in zip(cases, results) {
      #expect(r == "ok", "\(c.label): \(r)")
    }
  }
}

@Suite struct DocumentTests {
  // MARK: text

  @Test func textWithoutEscapesIsAViewIntoTheLine() throws {
    let d = try doc(#"{"id":"a","text":"plain words"}"#)
    #expect(d.textString == "plain words")
    // No escapes: the text is read in place, not copied.
    let line = d.line
    #expect(d.text.baseAddress == line.baseAddress! + 18)
  }

  @Test func textWithEscapesIsDecoded() throws {
    let d = try doc(#"{"text":"line one\nline \"two\"\t\u00e9\ud83d\ude00\\"}"#)
    #expect(Array(d.text) == Array("line one\nline \"two\"\té😀\\".utf8))
    // Asking twice gives the same bytes (the decoded copy is cached, not re-appended).
    #expect(Array(d.text) == Array(d.text))
  }

  @Test(.enabled(if: Python.available, "python3 not found"))
  func textMatchesPythonForGeneratedLines() throws {
    // Python writes the lines (ASCII-escaped or raw), we read the text back out.
    let strings = StringCorpus.all
    let script = """
      import json, sys
      out = []
      for i, h in enumerate(json.load(open(sys.argv[1]))):
          s = bytes.fromhex(h).decode("utf-8")
          line = json.dumps({"id": i, "meta": {"text": "decoy"}, "text": s, "after": [s]}, ensure_ascii=(i % 2 == 0))
          out.append(line.encode("utf-8").hex())
      print(json.dumps(out))
      """
    let lines = try #require(Python.run(script, input: strings.map { hexString($0.utf8) }) as? [String])
    for (s, hex) in zip(strings, lines) {
      let line = utf8String(bytesFromHex(hex))
      let d = try doc(line)
      #expect(Array(d.text) == Array(s.utf8), "\(line)")
    }
  }

  @Test func configuredTextAndIdFields() throws {
    let fields = DocumentFields(text: "content", id: "doc_id")
    let d = try doc(#"{"text":"not this","content":"this one","id":"no","doc_id":"yes"}"#, fields: fields)
    #expect(d.textString == "this one")
    #expect(d.id == "yes")
  }

  @Test func escapedKeyNamesTheTextField() throws {
    // "te\u0078t" is the key "text" once decoded, so it is the text field.
    let d = try doc(#"{"te\u0078t":"found","other":"x"}"#)
    #expect(d.textString == "found")
    let e = try doc(#"{"\u0069d":"escaped-id","text":"t"}"#)
    #expect(e.id == "escaped-id")
  }

  @Test func duplicateTextKeyUsesTheLastOne() throws {
    // Python's json.loads and Foundation both keep the last duplicate.
    let json = #"{"text":"first","text":"second"}"#
    let d = try doc(json)
    let foundation = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    #expect(d.textString == foundation?["text"] as? String)
    #expect(d.textString == "second")
  }

  @Test func missingOrNonStringTextIsAnError() {
    #expect(loadFailure(#"{"id":1}"#)?.reason == .missingTextField)
    #expect(loadFailure(#"{"Text":"case matters"}"#)?.reason == .missingTextField)
    #expect(loadFailure(#"{"text":"x"}"#, fields: DocumentFields(text: "body"))?.reason == .missingTextField)
    for value in ["1", "null", "true", "[\"a\"]", "{\"a\":\"b\"}"] {
      let failure = loadFailure(#"{"id":1,"text":"# + value + "}")
      #expect(failure?.reason == .textNotAString, "\(value)")
      // The offset points at the value, 15 bytes in.
      #expect(failure?.offset == 15, "\(value)")
    }
    // Invalid JSON is reported before any field is looked at.
    #expect(loadFailure(#"{"text":1"#)?.reason == .invalidJSON)
  }

  // MARK: id

  @Test func idFromStringOrNumberField() throws {
    #expect(try doc(#"{"id":"abc","text":""}"#).id == "abc")
    #expect(try doc(#"{"id":"a\"b\u00e9","text":""}"#).id == "a\"bé")
    // A number id is used as written, not reformatted.
    #expect(try doc(#"{"id":42,"text":""}"#).id == "42")
    #expect(try doc(#"{"id":1.50e3,"text":""}"#).id == "1.50e3")
    #expect(try doc(#"{"id":-0,"text":""}"#).id == "-0")
  }

  @Test(arguments: [#"{"text":"no id"}"#, #"{"id":null,"text":"null id"}"#, #"{"ID":"x","text":"wrong case"}"#])
  func idFallsBackToFileAndLine(_ json: String) throws {
    let d = try doc(json, source: "data/part-3.jsonl.zst", line: 1234)
    #expect(d.id == "data/part-3.jsonl.zst#1234")
  }

  @Test func idIsRecomputedForEachLoadedLine() throws {
    // A Document is reused by readers: cached views must not leak from one line to the next.
    let d = Document()
    let lines = [#"{"id":"first","text":"a\nb"}"#, #"{"text":"plain"}"#, #"{"id":3,"text":"x\ty"}"#]
    var seen: [(String, String)] = []
    for (k, l) in lines.enumerated() {
      let bytes = Array(l.utf8)
      try bytes.withUnsafeBufferPointer { (p) throws(JSONScanError) in
        try d.load(line: p, source: "f", lineNumber: k + 1)
        seen.append((d.id, d.textString))
      }
    }
    #expect(seen.map(\.0) == ["first", "f#2", "3"])
    #expect(seen.map(\.1) == ["a\nb", "plain", "x\ty"])
  }

  // MARK: fields

  @Test func fieldsOfEveryKind() throws {
    let d = try doc(
      #"{"text":"t","s":"caf\u00e9","i":-12,"f":2.5e-1,"t":true,"n":false,"z":null,"o":{"a":[1,2]},"a":[1, "x"]}"#)
    #expect(d.field("s") == .string("café"))
    #expect(d.field("i") == .number(-12, raw: "-12"))
    #expect(d.field("f") == .number(0.25, raw: "2.5e-1"))
    #expect(d.field("t") == .bool(true))
    #expect(d.field("n") == .bool(false))
    #expect(d.field("z") == .null)
    #expect(d.field("o") == .composite(#"{"a":[1,2]}"#))
    #expect(d.field("a") == .composite(#"[1, "x"]"#))
    #expect(d.field("missing") == nil)
    #expect(d.field("s")?.textForm == "café")
    #expect(d.field("f")?.textForm == "2.5e-1")
    #expect(d.field("z")?.textForm == "null")
  }

  @Test func dottedPathsLookInsideObjects() throws {
    let d = try doc(
      #"{"text":"t","meta":{"lang":"en","score":0.9,"src":{"host":"a.org"},"lang":"fr"},"list":{"0":"zero"}}"#)
    // Duplicate nested keys: the last wins, as for top-level keys.
    #expect(d.field("meta.lang") == .string("fr"))
    #expect(d.field("meta.score") == .number(0.9, raw: "0.9"))
    #expect(d.field("meta.src.host") == .string("a.org"))
    #expect(d.field("meta.src") == .composite(#"{"host":"a.org"}"#))
    #expect(d.field("list.0") == .string("zero"))
    #expect(d.field("meta.missing") == nil)
    #expect(d.field("meta.lang.deeper") == nil)  // "fr" is not an object
    #expect(d.field("text.x") == nil)
    #expect(d.field("meta.") == nil)
  }

  @Test func topLevelKeyWithADotWinsOverThePath() throws {
    let d = try doc(#"{"text":"t","meta":{"lang":"nested"},"meta.lang":"flat"}"#)
    #expect(d.field("meta.lang") == .string("flat"))
    // An escaped dotted key is found too.
    let e = try doc(#"{"text":"t","a\u002eb":1,"a":{"b":2}}"#)
    #expect(e.field("a.b") == .number(1, raw: "1"))
  }

  @Test func fieldBytesDecodesStringsAndKeepsOtherValuesRaw() throws {
    let d = try doc(#"{"text":"t","url":"http:\/\/x.org\/a","n":1.0}"#)
    let out = ByteBuffer()
    #expect(d.fieldBytes("url", into: out))
    #expect(utf8String(out.bytes) == "http://x.org/a")
    #expect(d.fieldBytes("n", into: out))
    #expect(utf8String(out.bytes) == "1.0")
    #expect(!d.fieldBytes("nope", into: out))
  }

  @Test func forEachFieldVisitsEveryTopLevelFieldInOrder() throws {
    let d = try doc(#"{"text":"t","b\u0021":1,"a":{"x":1},"c":null}"#)
    var seen: [(String, FieldValue)] = []
    d.forEachField { seen.append(($0, $1)) }
    #expect(seen.map(\.0) == ["text", "b!", "a", "c"])
    #expect(seen.map(\.1) == [.string("t"), .number(1, raw: "1"), .composite(#"{"x":1}"#), .null])
  }

  // MARK: output

  @Test func unmodifiedDocumentSerializesToTheLineItself() throws {
    let json = #"  {"id": 1 , "text":"a\u00e9",  "z":[1,2.50]}  "#
    let d = try doc(json)
    _ = d.text
    _ = d.id
    _ = d.field("z")
    #expect(!d.isModified)
    #expect(Array(d.serialized) == Array(json.utf8))
  }

  @Test func setTextSplicesOnlyTheTextValue() throws {
    let json = #"{"id": "x" ,"text" : "old \"text\"" , "meta":{"text":"decoy"},"n":1.50}"#
    let d = try doc(json)
    d.setText("new \"text\"\nwith é and \u{1}")
    #expect(d.isModified)
    #expect(d.textString == "new \"text\"\nwith é and \u{1}")
    let out = utf8String(d.serialized)
    // Everything but the text value is byte-identical, spacing included.
    #expect(out == #"{"id": "x" ,"text" : "new \"text\"\nwith é and \u0001" , "meta":{"text":"decoy"},"n":1.50}"#)
    // And the result reads back as a document with the new text.
    let again = try doc(out)
    #expect(again.textString == d.textString)
  }

  @Test func setTextRoundTripsGeneratedStrings() throws {
    let base = #"{"id":"k","text":"x","tail":"\u00e9"}"#
    for s in StringCorpus.all {
      let d = try doc(base)
      d.setText(s)
      let out = utf8String(d.serialized)
      #expect(out.hasPrefix(#"{"id":"k","text":"#) && out.hasSuffix(#","tail":"\u00e9"}"#))
      let again = try doc(out)
      #expect(Array(again.text) == Array(s.utf8), "\(s.debugDescription)")
    }
  }

  @Test func annotateAppendsNewKeysAndReplacesExistingOnes() throws {
    let d = try doc(#"{"id":"a","text":"t","score":0.1,"lang":"xx"}"#)
    d.annotate("score", .double(0.75))
    d.annotate("lang", .string("en"))
    d.annotate("new_int", .int(-3))
    d.annotate("flag", .bool(true))
    d.annotate("raw", .json(#"{"k":[1]}"#))
    d.annotate("name with \"quote\"", .string("v\n"))
    // Annotating the same new key twice keeps one key with the last value.
    d.annotate("new_int", .int(4))
    let out = utf8String(d.serialized)
    #expect(
      out == #"{"id":"a","text":"t","score":0.75,"lang":"en","new_int":4,"flag":true,"raw":{"k":[1]},"name with \"quote\"":"v\n"}"#
    )
    let parsed = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
    #expect(parsed?["score"] as? Double == 0.75)
    #expect(parsed?["new_int"] as? Int == 4)
  }

  @Test func annotateNumbersAreValidJSON() throws {
    // Whatever the double, the output must parse, and finite values must read back exactly.
    let values: [Double] = [0, -0.0, 1, -1, 0.1, 1e15, 1e16, 1e300, .leastNonzeroMagnitude, 123.456, -2.5e-7, .nan, .infinity, -.infinity]
    for v in values {
      let d = try doc(#"{"text":"t"}"#)
      d.annotate("x", .double(v))
      let out = Array(d.serialized)
      #expect(scanFailure(out) == nil, "\(v): \(utf8String(out))")
      let parsed = try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any]
      if v.isFinite {
        #expect((parsed?["x"] as? NSNumber)?.doubleValue == v, "\(v): \(utf8String(out))")
      } else {
        // JSON has no NaN or infinity; they are written as null.
        #expect(parsed?["x"] is NSNull, "\(v): \(utf8String(out))")
      }
    }
  }

  @Test func annotateOnAnEscapedKeyReplacesIt() throws {
    let d = try doc(#"{"text":"t","sc\u006fre":1}"#)
    d.annotate("score", .int(2))
    #expect(utf8String(d.serialized) == #"{"text":"t","sc\u006fre":2}"#)
  }

  @Test func setTextAndAnnotateTogether() throws {
    let json = #"{"meta":{"a":1},"text":"before","score":1,"z":"end"}"#
    let d = try doc(json)
    d.annotate("z", .string("changed"))
    d.setText("after\t!")
    d.annotate("added", .int(9))
    d.annotate("meta", .json("null"))
    #expect(utf8String(d.serialized) == #"{"meta":null,"text":"after\t!","score":1,"z":"changed","added":9}"#)
  }

  @Test func laterEditsOfTheTextWin() throws {
    // Either order of annotate("text") and setText must leave one text value, the last one.
    let a = try doc(#"{"text":"orig","k":1}"#)
    a.setText("set")
    a.annotate("text", .string("annotated"))
    #expect(utf8String(a.serialized) == #"{"text":"annotated","k":1}"#)

    let b = try doc(#"{"text":"orig","k":1}"#)
    b.annotate("text", .string("annotated"))
    b.setText("set")
    #expect(utf8String(b.serialized) == #"{"text":"set","k":1}"#)
  }

  @Test func annotationsAreClearedWhenTheNextLineIsLoaded() throws {
    let d = Document()
    let first = Array(#"{"text":"a"}"#.utf8)
    let second = Array(#"{"text":"b"}"#.utf8)
    try first.withUnsafeBufferPointer { (p) throws(JSONScanError) in
      try d.load(line: p, source: "f", lineNumber: 1)
      d.annotate("x", .int(1))
      d.setText("changed")
    }
    try second.withUnsafeBufferPointer { (p) throws(JSONScanError) in
      try d.load(line: p, source: "f", lineNumber: 2)
      #expect(!d.isModified)
      #expect(d.textString == "b")
      #expect(Array(d.serialized) == second)
    }
  }

  @Test func annotateKeepsTrailingWhitespaceAndCR() throws {
    // A CRLF file leaves "\r" after the closing brace; annotations go before the brace.
    let d = try doc("{\"text\":\"t\"}\r")
    d.annotate("k", .bool(false))
    #expect(utf8String(d.serialized) == "{\"text\":\"t\",\"k\":false}\r")
  }

  @Test(.enabled(if: Python.available, "python3 not found"))
  func editsMatchPythonDictSemantics() throws {
    var cases: [PythonEditCheck.Case] = []
    var rng = SeededGenerator(seed: 42)
    let originals = [
      #"{"id":"a","text":"hello","meta":{"x":1}}"#,
      #" { "text" : "spaced \u00e9" , "n" : 1e3 } "#,
      #"{"te\u0078t":"escaped key","score":0.5}"#,
      #"{"text":"dup","text":"dup2","k":[1,{"a":null}]}"#,
      #"{"a":1,"b":2,"text":"\ud83d\ude00 emoji","c":3}"#,
    ]
    for (k, original) in originals.enumerated() {
      for round in 0..<20 {
        let d = try doc(original)
        var changes: [[Any]] = []
        let newText = StringCorpus.generated(count: 1, seed: UInt64(k * 100 + round))[0]
        if Bool.random(using: &rng) {
          d.setText(newText)
          changes.append(["text", newText])
        }
        for key in ["score", "n", "k", "new", "a"] where Bool.random(using: &rng) {
          let v = Int.random(in: -1000...1000, using: &rng)
          d.annotate(key, .int(v))
          changes.append([key, v])
        }
        if Bool.random(using: &rng) {
          let s = StringCorpus.generated(count: 1, seed: UInt64(9000 + k * 100 + round))[0]
          d.annotate("label", .string(s))
          changes.append(["label", s])
        }
        cases.append(
          PythonEditCheck.Case(
            original: original, serialized: Array(d.serialized), changes: changes,
            label: "\(original) round \(round)"))
      }
    }
    try PythonEditCheck.run(cases)
  }
}

@Suite("Document word cache")
struct DocumentWordCacheTests {
  func texts(_ doc: Document, _ r: [Range<Int>]) -> [String] {
    r.map { String(decoding: doc.text[$0], as: UTF8.self) }
  }

  @Test("words are split once per text and again after the text changes")
  func cachedUntilTextChanges() throws {
    let doc = try Document(json: #"{"text": "Hello, world. It's fine."}"#)
    var en = WordTokenizer(language: "en")
    #expect(texts(doc, doc.words(&en)) == ["Hello", ",", "world", ".", "It", "'s", "fine", "."])
    // Same language, same text: the cached tokens, even from another tokenizer value.
    var again = WordTokenizer(language: "en")
    #expect(texts(doc, doc.words(&again)) == ["Hello", ",", "world", ".", "It", "'s", "fine", "."])
    doc.setText("New text here")
    #expect(texts(doc, doc.words(&en)) == ["New", "text", "here"])
    // Another language splits again.
    var ja = WordTokenizer(language: "ja")
    #expect(texts(doc, doc.words(&ja)) == ["New", "text", "here"])
  }
}
