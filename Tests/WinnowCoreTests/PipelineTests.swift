import Foundation
import Testing

@testable import WinnowCore

// Small stages for driving the pipeline; each does one visible thing.

/// Drops documents whose text contains `needle`.
final class DropIfContains: DocumentStage {
  let needle: String
  let reason: String
  init(_ needle: String, reason: String) {
    self.needle = needle
    self.reason = reason
  }
  func process(_ doc: Document) -> Verdict {
    doc.textString.contains(needle) ? .drop(reason) : .keep
  }
}

/// Keeps the first four bytes of the text (ASCII texts only), upper-cased, and tags the document.
final class ShortenAndTag: DocumentStage {
  func process(_ doc: Document) -> Verdict {
    doc.setText(String(doc.textString.prefix(4)).uppercased())
    doc.annotate("tagged", .bool(true))
    return .keep
  }
}

/// Remembers the id of every document it sees.
final class Recorder: DocumentStage {
  var ids: [String] = []
  func process(_ doc: Document) -> Verdict {
    ids.append(doc.id)
    return .keep
  }
}

@Suite(.enabled(if: toolsAvailable, "zstd or gzip CLI not found"))
struct PipelineTests {
  /// Input lines of file A (plain) and B (zstd). Comments give what must happen to each.
  static let fileA: [[UInt8]] = [
    Array(#"{"id":"a1","text":"keep me"}"#.utf8),  // 1 kept
    [],  // 2 blank
    Array(#"{"id":"a2","text":"spam here"}"#.utf8),  // 3 dropped: has_spam
    Array("{oops}".utf8),  // 4 invalid_json at byte 1
    Array(#"{"id":"a3","text":"eggs and ham"}"#.utf8),  // 5 dropped: has_eggs
    Array("   \t".utf8),  // 6 blank
    Array(#"{"id":"a4"}"#.utf8),  // 7 missing_text_field at byte 0
    Array(#"{"text":"bad "#.utf8) + [0xFF] + Array(#""}"#.utf8),  // 8 invalid_utf8 at byte 13
    Array(#"{"id":"a5","text":"fine"}"#.utf8),  // 9 kept
  ]
  static let fileB: [[UInt8]] = [
    Array(#"{"text":"no id here"}"#.utf8),  // 1 kept, id from file and line
    Array(#"{"id":"b2","text":"spam spam"}"#.utf8),  // 2 dropped: has_spam
    Array("[1,2]".utf8),  // 3 not_an_object at byte 0
    Array(#"{"text":"x"#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8),  // 4 invalid_utf8 at byte 10
    Array("\r".utf8),  // 5 blank
    Array(#"{"text":"a"#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8),  // 6 invalid_utf8 at byte 10
  ]

  struct Fixture {
    let dir: TempDir
    let a: String
    let b: String
    var inputs: [InputFile] { [InputFile(path: a), InputFile(path: b)] }
  }

  static func fixture() throws -> Fixture {
    let dir = try TempDir()
    let a = try dir.write("a.jsonl", Array(fileA.joined(separator: [0x0A])) + [0x0A])
    // B has no final newline and is zstd-compressed.
    let bPlain = try dir.write("b-plain", Array(fileB.joined(separator: [0x0A])))
    let b = dir.file("b.jsonl.zst")
    try Shell.check("zstd", ["-q", bPlain, "-o", b])
    return Fixture(dir: dir, a: a, b: b)
  }

  static func stages() -> [NamedStage] {
    [
      NamedStage(name: "no_spam", stage: DropIfContains("spam", reason: "has_spam")),
      NamedStage(name: "no_eggs", stage: DropIfContains("eggs", reason: "has_eggs")),
      NamedStage(name: "shorten", stage: ShortenAndTag()),
    ]
  }

  func parseLines(_ bytes: [UInt8]) throws -> [[String: Any]] {
    try bytes.split(separator: 0x0A).map { line in
      try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
    }
  }

  @Test func countsAddUpPerStageAndReason() throws {
    let f = try Self.fixture()
    let pipeline = Pipeline(stages: Self.stages())
    let out = f.dir.file("out.jsonl")
    let stats = try pipeline.run(inputs: f.inputs, output: try DocumentWriter(OutputSpec(path: out)), options: PipelineOptions())

    // Non-blank lines: 7 in A, 5 in B.
    #expect(stats.documentsRead == 12)
    #expect(stats.blankLines == 3)
    #expect(stats.documentsWritten == 3)
    #expect(stats.quarantined == 6)
    #expect(stats.dropped == 3)
    #expect(stats.isBalanced)
    #expect(
      stats.quarantinedByReason == ["invalid_json": 1, "missing_text_field": 1, "invalid_utf8": 3, "not_an_object": 1])
    #expect(stats.inputFiles == [f.a, f.b])
    #expect(stats.outputFiles == [out])
    // Uncompressed bytes of both inputs, newlines included.
    let total = (try readBytes(f.a)).count + (try readBytes(f.dir.file("b-plain"))).count
    #expect(stats.bytesRead == total)

    #expect(stats.stages.map(\.name) == ["no_spam", "no_eggs", "shorten"])
    #expect(stats.stages.map(\.documentsIn) == [6, 4, 3])
    #expect(stats.stages.map(\.kept) == [4, 3, 3])
    #expect(stats.stages.map(\.dropped) == [2, 1, 0])
    #expect(stats.stages[0].droppedByReason == ["has_spam": 2])
    #expect(stats.stages[1].droppedByReason == ["has_eggs": 1])
    #expect(stats.stages[2].droppedByReason.isEmpty)
    // Text bytes: what each stage saw and passed on (dropped documents pass on nothing).
    let texts = ["keep me", "spam here", "eggs and ham", "fine", "no id here", "spam spam"]
    #expect(stats.stages[0].textBytesIn == texts.map(\.utf8.count).reduce(0, +))
    #expect(stats.stages[0].textBytesOut == ["keep me", "eggs and ham", "fine", "no id here"].map(\.utf8.count).reduce(0, +))
    #expect(stats.stages[2].textBytesIn == ["keep me", "fine", "no id here"].map(\.utf8.count).reduce(0, +))
    #expect(stats.stages[2].textBytesOut == 12)  // three texts cut to four bytes

    // The report says the same thing.
    let report = try #require(try JSONSerialization.jsonObject(with: Data(stats.json().utf8)) as? [String: Any])
    #expect(report["documents_read"] as? Int == 12)
    #expect(report["documents_quarantined"] as? Int == 6)
    #expect(report["blank_lines_skipped"] as? Int == 3)
    #expect(report["balanced"] as? Bool == true)
  }

  @Test func keptDocumentsAreRewrittenAndOtherFieldsKept() throws {
    let f = try Self.fixture()
    let out = f.dir.file("out.jsonl.gz")
    _ = try Pipeline(stages: Self.stages()).run(
      inputs: f.inputs, output: try DocumentWriter(OutputSpec(path: out)), options: PipelineOptions())
    let written = utf8String(try decompressWithCLI(out)).split(separator: "\n").map(String.init)
    #expect(
      written == [
        #"{"id":"a1","text":"KEEP","tagged":true}"#, #"{"id":"a5","text":"FINE","tagged":true}"#,
        #"{"text":"NO I","tagged":true}"#,
      ])
  }

  @Test func rejectsAreAnnotatedWithStageAndReason() throws {
    let f = try Self.fixture()
    var options = PipelineOptions()
    let rejects = f.dir.file("rejects.jsonl")
    options.rejects = OutputSpec(path: rejects)
    _ = try Pipeline(stages: Self.stages()).run(
      inputs: f.inputs, output: try DocumentWriter(OutputSpec(path: f.dir.file("out.jsonl"))), options: options)
    let records = try parseLines(try readBytes(rejects))
    #expect(records.map { $0["id"] as? String } == ["a2", "a3", "b2"])
    #expect(records.map { $0["rejected_by"] as? String } == ["no_spam", "no_eggs", "no_spam"])
    #expect(records.map { $0["reject_reason"] as? String } == ["has_spam", "has_eggs", "has_spam"])
    // The rejected text is the original one: the dropping stage ran before any rewrite.
    #expect(records.map { $0["text"] as? String } == ["spam here", "eggs and ham", "spam spam"])
  }

  @Test func quarantineRecordsDescribeEachBadLine() throws {
    let f = try Self.fixture()
    var options = PipelineOptions()
    let quarantine = f.dir.file("quarantine.jsonl")
    options.quarantine = OutputSpec(path: quarantine)
    _ = try Pipeline(stages: Self.stages()).run(
      inputs: f.inputs, output: try DocumentWriter(OutputSpec(path: f.dir.file("out.jsonl"))), options: options)

    let records = try parseLines(try readBytes(quarantine))
    // (file, line, reason, offset, original bytes), derived from the fixture's comments.
    let expected: [(String, Int, String, Int, [UInt8])] = [
      (f.a, 4, "invalid_json", 1, Self.fileA[3]),
      (f.a, 7, "missing_text_field", 0, Self.fileA[6]),
      (f.a, 8, "invalid_utf8", 13, Self.fileA[7]),
      (f.b, 3, "not_an_object", 0, Self.fileB[2]),
      (f.b, 4, "invalid_utf8", 10, Self.fileB[3]),
      (f.b, 6, "invalid_utf8", 10, Self.fileB[5]),
    ]
    try #require(records.count == expected.count)
    // The invalid lines cover every base64 padding case (length mod 3 = 0, 1, 2).
    #expect(Set(expected.filter { $0.2 == "invalid_utf8" }.map { $0.4.count % 3 }) == [0, 1, 2])
    for (r, e) in zip(records, expected) {
      #expect(r["file"] as? String == e.0)
      #expect(r["line"] as? Int == e.1)
      #expect(r["reason"] as? String == e.2)
      #expect(r["offset"] as? Int == e.3, "\(e.2) on line \(e.1)")
      let isUTF8 = String(validating: e.4, as: UTF8.self) != nil
      // `raw` is the line, with U+FFFD for each invalid sequence.
      #expect(r["raw"] as? String == String(decoding: e.4, as: UTF8.self))
      if isUTF8 {
        #expect(r["raw_base64"] == nil)
      } else {
        // The exact bytes survive in base64 (decoded by Foundation, not by our encoder).
        let b64 = try #require(r["raw_base64"] as? String)
        #expect(Data(base64Encoded: b64).map(Array.init) == e.4)
      }
    }
  }

  @Test func strictModeStopsAtTheFirstBadLine() throws {
    let f = try Self.fixture()
    var options = PipelineOptions()
    options.strict = true
    let out = f.dir.file("strict-out.jsonl")
    let error = winnowError {
      _ = try Pipeline(stages: Self.stages()).run(
        inputs: f.inputs, output: try DocumentWriter(OutputSpec(path: out)), options: options)
    }
    #expect(error?.isBadInput == true)
    #expect(error?.exitCode == 3)
    // The message names the file and line of the first bad line, and the reason.
    #expect(error?.message.contains("\(f.a):4") == true, "\(String(describing: error))")
    #expect(error?.message.contains("invalid_json") == true)
    // The run is abandoned: no output file, no temporary file.
    #expect(try f.dir.entries().allSatisfy { !$0.hasPrefix(".") && !$0.hasPrefix("strict-out") })
  }

  @Test func documentDroppedEarlyIsNotSeenByLaterStages() throws {
    let recorder = Recorder()
    let pipeline = Pipeline(stages: [
      NamedStage(name: "no_spam", stage: DropIfContains("spam", reason: "has_spam")),
      NamedStage(name: "recorder", stage: recorder),
    ])
    for json in [#"{"id":"1","text":"ok"}"#, #"{"id":"2","text":"spam"}"#, #"{"id":"3","text":"ok too"}"#] {
      let d = try Document(json: json)
      let result = try pipeline.process(d)
      #expect((result == nil) == !json.contains("spam"))
      if let result {
        #expect(result.stage == 0)
        #expect(result.reason == "has_spam")
      }
    }
    #expect(recorder.ids == ["1", "3"])
    #expect(pipeline.stats[1].documentsIn == 2)
  }

  @Test func keptDocumentsIteratorBalances() throws {
    let f = try Self.fixture()
    let kept = Pipeline(stages: Self.stages()).documents(from: f.inputs)
    var texts: [String] = []
    while let d = try kept.next() { texts.append(d.textString) }
    #expect(texts == ["KEEP", "FINE", "NO I"])
    #expect(kept.stats.documentsRead == 12)
    #expect(kept.stats.quarantined == 6)
    #expect(kept.stats.blankLines == 3)
    #expect(kept.stats.isBalanced)
  }

  @Test func isBalancedDetectsAMissingDocument() {
    var stats = RunStats()
    stats.documentsRead = 10
    stats.documentsWritten = 6
    stats.quarantined = 1
    var s = StageStats(name: "x")
    s.dropped = 2
    stats.stages = [s]
    #expect(!stats.isBalanced)  // 6 + 2 + 1 = 9, one document unaccounted for
    stats.stages[0].dropped = 3
    #expect(stats.isBalanced)
  }
}
