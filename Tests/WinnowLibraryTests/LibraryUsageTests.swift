import Foundation
import Testing
import Winnow

// The README's library example, kept compiling and correct here.

/// Writes `lines` to a fresh temporary JSONL file and returns its path.
private func temporaryJSONL(_ lines: [String]) throws -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-lib-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  let path = dir.appendingPathComponent("docs.jsonl").path
  try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
  return path
}

@Test func trainerPullsKeptDocumentsInProcess() throws {
  let long = Array(repeating: "word", count: 60).joined(separator: " ")
  let path = try temporaryJSONL([
    #"{"id":"a","text":"\#(long)"}"#,
    #"{"id":"b","text":"too short"}"#,
    #"{"id":"c","text":"\#(long)"}"#,  // same text as "a": removed by exact_dedup
    #"{"id":"d","text":"\#(long) more"}"#,
    "{broken",
  ])
  let pipeline = Pipeline(stages: [
    try StageCatalog.standard.stage("length", ["min_words": 50]),
    try StageCatalog.standard.stage("exact_dedup"),
  ])
  let kept = pipeline.documents(from: try InputSet.expand([path]))
  var ids: [String] = []
  while let doc = try kept.next() { ids.append(doc.id) }
  #expect(ids == ["a", "d"])
  #expect(kept.stats.quarantined == 1)
  #expect(kept.stats.stages.map(\.dropped) == [1, 1])
}

@Test func libraryValidatesParametersLikeRecipes() {
  #expect(throws: WinnowError.self) { try StageCatalog.standard.stage("length", ["min_wrods": 5]) }
  #expect(throws: WinnowError.self) { try StageCatalog.standard.stage("lenght") }
  #expect(throws: WinnowError.self) { try StageCatalog.standard.stage("sample", ["rate": 1.5]) }
}

@Test func documentEditsKeepOtherFieldsByteForByte() throws {
  let doc = try Document(json: #"{"id": 7, "text": "Hello\nworld", "meta": {"k": [1, 2.50, "x"]}}"#)
  doc.setText("Bonjour")
  doc.annotate("score", .double(0.25))
  let out = String(decoding: doc.serialized, as: UTF8.self)
  #expect(out == #"{"id": 7, "text": "Bonjour", "meta": {"k": [1, 2.50, "x"]},"score":0.25}"#)
}
