import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters

// A JSON line may hold the text key more than once. The reader takes the last copy, as JSON
// parsers do; the earlier ones were never seen by a stage. A stage that rewrites or vouches for
// the text (pii_redact, normalize, c4_quality, any rewritten text) leaves them out of the line
// it writes, so that nothing it did not look at is passed on.

private let twoAddresses = #"{"text": "mail me at alice@example.com", "id": 1, "text": "mail me at bob@example.com"}"#

/// The line a single stage writes for `json` (nil when the document is dropped).
private func written(_ d: StageDescriptor, _ params: [String: any Sendable] = [:], _ json: String) throws -> String? {
  let stage = try quality(d, params)
  let r = try runPipeline([stage], lines: [Array(json.utf8)])
  return r.outputLines.first.map { String(decoding: $0, as: UTF8.self) }
}

/// How many times `key` is a top-level key of the JSON object `line`.
private func keyCount(_ line: String, _ key: String) throws -> Int {
  var scanner = JSONScanner()
  let bytes = Array(line.utf8)
  try bytes.withUnsafeBufferPointer { try scanner.scanObject($0) }
  return scanner.members.filter { m in
    var k: [UInt8] = []
    bytes.withUnsafeBufferPointer { JSONString.unescape(UnsafeBufferPointer(rebasing: $0[m.keyStart..<m.keyEnd]), into: &k) }
    return k == Array(key.utf8)
  }.count
}

@Suite("Duplicate text keys: no copy the stages did not see is written")
struct DuplicateTextFieldTests {
  @Test("pii_redact rewrites the text and leaves the earlier copy out: no address survives")
  func piiRedactsOrDropsEveryCopy() throws {
    let out = try #require(try written(PiiRedactStage.descriptor, [:], twoAddresses))
    #expect(!out.contains("alice@example.com"))
    #expect(!out.contains("bob@example.com"))
    #expect(try keyCount(out, "text") == 1)
    let object = parseObject(Array(out.utf8))
    #expect(object["text"] as? String == "mail me at email@example.com")
    #expect(object["id"] as? Int == 1)
  }

  @Test("an address only in the shadowed copy is not written either, though the text has none")
  func onlyShadowedCopyHasAnAddress() throws {
    let json = #"{"text": "write to alice@example.com or 8.8.8.8", "text": "nothing to redact here"}"#
    let out = try #require(try written(PiiRedactStage.descriptor, [:], json))
    #expect(!out.contains("alice") && !out.contains("8.8.8.8"))
    #expect(out == #"{"text": "nothing to redact here"}"#)
  }

  @Test("every earlier copy goes, whatever its value and however its key is written")
  func manyCopies() throws {
    let json =
      #"{ "text" : {"nested": "alice@example.com"} , "id": "x", "te\u0078t": "carol@example.com", "meta": [1, "dave@example.com"], "text":"erin@example.com" }"#
    let out = try #require(try written(PiiRedactStage.descriptor, [:], json))
    for name in ["alice", "carol", "erin"] { #expect(!out.contains(name), "\(name)") }
    // Other fields are written as they were (the list is not the text).
    #expect(out.contains(#""meta": [1, "dave@example.com"]"#))
    #expect(try keyCount(out, "text") == 1)
    #expect(out == #"{ "id": "x", "meta": [1, "dave@example.com"], "text":"email@example.com" }"#)
  }

  @Test("the rejects of a later stage carry no shadowed copy either")
  func rejectsAfterRedaction() throws {
    let pii = try quality(PiiRedactStage.descriptor)
    let length = try quality(LengthFilter.descriptor, ["min_words": 100])
    let r = try runPipeline([pii, length], lines: [Array(twoAddresses.utf8)])
    #expect(r.outputLines.isEmpty)
    let reject = try #require(r.rejectLines.first.map { String(decoding: $0, as: UTF8.self) })
    #expect(!reject.contains("alice@") && !reject.contains("bob@"))
    #expect(try keyCount(reject, "text") == 1)
  }

  @Test("normalize and c4_quality write one text, the one they normalised or cleaned")
  func otherTextStages() throws {
    let json = #"{"text": "old  copy\u00a0with javascript", "text": "The new copy is fine. It has sentences."}"#
    for (d, params) in [(NormalizeStage.descriptor, [:]), (C4QualityFilter.descriptor, ["min_num_sentences": -1])] as [(StageDescriptor, [String: any Sendable])] {
      let out = try #require(try written(d, params, json), "\(d.name)")
      #expect(!out.contains("old"), "\(d.name)")
      #expect(try keyCount(out, "text") == 1, "\(d.name)")
      #expect(parseObject(Array(out.utf8))["text"] as? String == "The new copy is fine. It has sentences.")
    }
  }

  @Test("a rewritten text always leaves the shadowed copies out; untouched lines are written as read")
  func documentLevel() throws {
    let doc = try Document(json: twoAddresses)
    #expect(doc.hasShadowedTextFields)
    #expect(doc.textString == "mail me at bob@example.com")
    #expect(String(decoding: doc.serialized, as: UTF8.self) == twoAddresses)
    doc.setText("changed")
    #expect(String(decoding: doc.serialized, as: UTF8.self) == #"{"id": 1, "text": "changed"}"#)

    let kept = try Document(json: twoAddresses)
    kept.annotate("score", .int(3))
    // An annotation alone does not touch the text copies.
    #expect(String(decoding: kept.serialized, as: UTF8.self).contains("alice@example.com"))
    kept.removeShadowedTextFields()
    #expect(String(decoding: kept.serialized, as: UTF8.self) == #"{"id": 1, "text": "mail me at bob@example.com","score":3}"#)

    let single = try Document(json: #"{"text": "one"}"#)
    #expect(!single.hasShadowedTextFields)
    single.removeShadowedTextFields()
    #expect(!single.isModified)
  }

  @Test("setText(taking:) hands a buffer over; the text may be rebuilt from itself")
  func textBufferHandOver() throws {
    let doc = try Document(json: #"{"id": "a", "text": "line one\nline two"}"#)
    var buffer = ByteBuffer(capacity: 4)
    buffer.append(doc.text.baseAddress!, count: 4)
    buffer.append(bytes: UnsafeBufferPointer(rebasing: doc.text[8...]))
    let handed = buffer
    doc.setText(taking: &buffer)
    #expect(buffer !== handed && buffer.count == 0)
    #expect(doc.textString == "line\nline two")
    #expect(String(decoding: doc.serialized, as: UTF8.self) == #"{"id": "a", "text": "line\nline two"}"#)
    // The handed-back buffer works as a new one.
    buffer.append(Array("é\u{1}\"".utf8))
    doc.setText(taking: &buffer)
    #expect(String(decoding: doc.serialized, as: UTF8.self) == #"{"id": "a", "text": "é\u0001\""}"#)
    // A new text may point into the current one.
    doc.setText(UnsafeBufferPointer(rebasing: doc.text[0..<2]))
    #expect(doc.textString == "é")
  }

  @Test("a text compared with the line's, piece by piece through its escapes, and restored as read")
  func textAsRead() throws {
    let texts = [
      "", "plain", "a\nb\t\"q\" \\ é 😀 \u{1}", String(repeating: "line 😀 é\n\u{7}\"", count: 40_000),
    ]
    for text in texts {
      for ascii in [false, true] {
        let line = String(decoding: docLine(id: "a", text: text, asciiOnly: ascii), as: UTF8.self)
        let doc = try Document(json: line)
        #expect(doc.isTextAsRead(doc.text))
        var other = Array(text.utf8)
        if !other.isEmpty { other[other.count / 2] ^= 1 }
        #expect(other.withUnsafeBufferPointer { doc.isTextAsRead($0) } == text.isEmpty)
        #expect(Array((text + "x").utf8).withUnsafeBufferPointer { doc.isTextAsRead($0) } == false)
        // Rewritten, then rewritten back: restored, the line is written as it was read.
        let edits = doc.editCount
        doc.setText("changed")
        #expect(!doc.isTextAsRead(doc.text))
        doc.setText(text)
        #expect(doc.isTextAsRead(doc.text))
        doc.restoreTextAsRead()
        #expect(doc.editCount == edits && !doc.isModified)
        #expect(String(decoding: doc.serialized, as: UTF8.self) == line)
        #expect(doc.textString == text)
      }
    }
  }

  @Test("pii_redact: replacements that give the text back leave the line as read")
  func redactionBackToTheOriginal() throws {
    // Each e-mail replaced by itself: the text is unchanged, the escapes of the line stay.
    let line = #"{"id":"r","text":"write to a@example.com or b@example.com"}"#
    let stage = try quality(PiiRedactStage.descriptor, ["email_replacement": ["a@example.com", "b@example.com"], "ips": "false"])
    let r = try runPipeline([stage], lines: [Array(line.utf8)])
    #expect(r.outputLines.first.map { String(decoding: $0, as: UTF8.self) } == line)
    #expect(r.stats.stages[0].modified == 0)
    // The e-mail pass changes the text and the IP pass changes it back.
    let cycle = #"{"id":"c","text":"at x@9.9.9.9 now"}"#
    let both = try quality(
      PiiRedactStage.descriptor, ["email_replacement": ["x@8.8.8.8"], "ip_replacement": ["9.9.9.9"]])
    let c = try runPipeline([both], lines: [Array(cycle.utf8)])
    #expect(c.outputLines.first.map { String(decoding: $0, as: UTF8.self) } == cycle)
  }

  @Test("annotate(_:string:) writes the bytes as a JSON string, or rewrites the text for the text key")
  func annotateBytes() throws {
    let doc = try Document(json: #"{"text": "x"}"#)
    let value = Array("a \"quoted\"\nvalue é".utf8)
    value.withUnsafeBufferPointer { doc.annotate("copy", string: $0) }
    #expect(parseObject(Array(doc.serialized))["copy"] as? String == "a \"quoted\"\nvalue é")
    Array("new".utf8).withUnsafeBufferPointer { doc.annotate("text", string: $0) }
    #expect(doc.textString == "new")
  }
}
