import Foundation
import Testing

@testable import WinnowCore

// The stage contract: start/finish hooks, stages that throw, stages that keep several copies of
// a document, and the typed per-document cache; and the sinks documents are written to.

/// Records the calls it gets, and can be told to fail at any of them.
private final class Lifecycle: DocumentStage {
  var calls: [String] = []
  var failAt: String?
  func start(_ context: StageRunContext) throws(WinnowError) {
    calls.append("start task \(context.task)")
    if failAt == "start" { throw .io("cannot open the model") }
  }
  func process(_ doc: Document) throws(WinnowError) -> Verdict {
    calls.append("process \(doc.id)")
    if failAt == doc.id { throw .io("the scorer crashed") }
    return .keep
  }
  func finish() throws(WinnowError) {
    calls.append("finish")
    if failAt == "finish" { throw .io("cannot flush") }
  }
}

/// Keeps each document as many times as its `n` field says (0 → drops it).
private final class Repeat: DocumentStage {
  func process(_ doc: Document) -> Verdict {
    guard case .number(let n, _)? = doc.field("n") else { return .keep }
    return n == 0 ? .drop("zero") : .copies(Int(n))
  }
}

private let wordCountKey = DocumentCacheKey<Int>("word_count")

/// Computes a value once per document and counts how often it really computed it.
private final class CountWords: DocumentStage {
  var computed = 0
  var seen: [Int] = []
  func process(_ doc: Document) -> Verdict {
    let n = doc.cached(wordCountKey) {
      computed += 1
      return doc.textString.split(separator: " ").count
    }
    seen.append(n)
    return .keep
  }
}

private final class Rewrite: DocumentStage {
  func process(_ doc: Document) -> Verdict {
    doc.setText(doc.textString + " and more words")
    return .keep
  }
}

private func corpus(_ dir: TempDir, _ lines: [String], name: String = "in.jsonl") throws -> [InputFile] {
  [InputFile(path: try dir.write(name, Array((lines.joined(separator: "\n") + "\n").utf8)))]
}

private func lines(_ path: String) throws -> [[String: Any]] {
  try String(decoding: readBytes(path), as: UTF8.self).split(separator: "\n").map {
    try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
  }
}

@Suite("stage contract")
struct StageContractTests {
  @Test("start before the first document, finish after the last, each once")
  func lifecycleOrder() throws {
    let dir = try TempDir()
    let stage = Lifecycle()
    var options = PipelineOptions()
    options.stageContext = StageRunContext(task: 3)
    let inputs = try corpus(dir, [#"{"id":"a","text":"x"}"#, #"{"id":"b","text":"y"}"#])
    _ = try Pipeline(stages: [NamedStage(name: "life", stage: stage)]).run(
      inputs: inputs, output: try DocumentWriter(OutputSpec(path: dir.file("out.jsonl"))), options: options)
    #expect(stage.calls == ["start task 3", "process a", "process b", "finish"])
  }

  @Test("a stage that throws fails the run with its name and the document's place; nothing is written", arguments: ["start", "b", "finish"])
  func throwingStage(_ at: String) throws {
    let dir = try TempDir()
    let stage = Lifecycle()
    stage.failAt = at
    let inputs = try corpus(dir, [#"{"id":"a","text":"x"}"#, #"{"id":"b","text":"y"}"#])
    let out = dir.file("out.jsonl")
    let error = winnowError {
      _ = try Pipeline(stages: [NamedStage(name: "scorer", stage: stage)]).run(
        inputs: inputs, output: try DocumentWriter(OutputSpec(path: out)), options: PipelineOptions())
    }
    #expect(error?.message.contains("stage 'scorer' failed") == true, "\(String(describing: error))")
    if at == "b" { #expect(error?.message.contains("in.jsonl:2") == true, "\(String(describing: error))") }
    #expect(!fileExists(atPath: out))
    let left = try dir.entries()
    #expect(left.allSatisfy { !$0.contains("tmp") }, "\(left)")
  }

  @Test("copies: written n times, copy k with #k after its id, counts balance")
  func copies() throws {
    let dir = try TempDir()
    let inputs = try corpus(
      dir,
      [
        #"{"id":"a","text":"x","n":1}"#, #"{"id":"b","text":"y","n":3}"#, #"{"id":"c","text":"z","n":0}"#,
        #"{"text":"no id","n":2}"#, "not json",
      ])
    let out = dir.file("out.jsonl")
    let stats = try Pipeline(stages: [NamedStage(name: "repeat", stage: Repeat())]).run(
      inputs: inputs, output: try DocumentWriter(OutputSpec(path: out)), options: PipelineOptions())
    let ids = try lines(out).map { $0["id"] as? String }
    #expect(ids == ["a", "b", "b#1", "b#2", nil, "\(inputs[0].displayName)#4#1"])
    #expect(stats.documentsRead == 5)
    #expect(stats.documentsWritten == 6)
    #expect(stats.copiesAdded == 3)
    #expect(stats.dropped == 1)
    #expect(stats.quarantined == 1)
    #expect(stats.isBalanced)
    #expect(stats.json().contains("\"copies_added\": 3"))
    // Without copies the stats keep their shape.
    #expect(!RunStats().json().contains("copies_added"))
  }

  @Test("copies of two stages multiply; a later stage sees the document once")
  func copiesMultiply() throws {
    let dir = try TempDir()
    let inputs = try corpus(dir, [#"{"id":"a","text":"x","n":2}"#])
    let life = Lifecycle()
    let p = Pipeline(stages: [
      NamedStage(name: "r1", stage: Repeat()), NamedStage(name: "life", stage: life), NamedStage(name: "r2", stage: Repeat()),
    ])
    let out = dir.file("out.jsonl")
    let stats = try p.run(inputs: inputs, output: try DocumentWriter(OutputSpec(path: out)), options: PipelineOptions())
    #expect(try lines(out).count == 4)
    #expect(life.calls.filter { $0.hasPrefix("process") }.count == 1)
    #expect(stats.isBalanced)
  }

  @Test("zero or negative copies is an error naming the stage, not a silent drop")
  func badCopies() throws {
    final class Bad: DocumentStage { func process(_ doc: Document) -> Verdict { .copies(0) } }
    let dir = try TempDir()
    let inputs = try corpus(dir, [#"{"id":"a","text":"x"}"#])
    let error = winnowError {
      _ = try Pipeline(stages: [NamedStage(name: "bad", stage: Bad())]).run(
        inputs: inputs, output: try DocumentWriter(OutputSpec(path: dir.file("o.jsonl"))), options: PipelineOptions())
    }
    #expect(error?.message.contains("'bad'") == true, "\(String(describing: error))")
  }

  @Test("in-process: KeptDocuments hands out each copy and runs start/finish")
  func keptDocumentsCopies() throws {
    let dir = try TempDir()
    let inputs = try corpus(dir, [#"{"id":"a","text":"x","n":2}"#, #"{"id":"b","text":"y","n":1}"#])
    let life = Lifecycle()
    let kept = Pipeline(stages: [NamedStage(name: "r", stage: Repeat()), NamedStage(name: "life", stage: life)])
      .documents(from: inputs)
    var ids: [String] = []
    while let d = try kept.next() { ids.append(d.id) }
    #expect(ids == ["a", "a#1", "b"])
    #expect(life.calls.first == "start task 0" && life.calls.last == "finish")
    #expect(kept.stats.copiesAdded == 1 && kept.stats.documentsWritten == 3)
  }

  @Test("the typed cache: computed once per document, shared by stages, stale after an edit")
  func cache() throws {
    let dir = try TempDir()
    let inputs = try corpus(dir, [#"{"id":"a","text":"one two"}"#, #"{"id":"b","text":"one two three"}"#])
    let first = CountWords()
    let second = CountWords()
    let third = CountWords()
    let p = Pipeline(stages: [
      NamedStage(name: "c1", stage: first), NamedStage(name: "c2", stage: second),
      NamedStage(name: "rewrite", stage: Rewrite()), NamedStage(name: "c3", stage: third),
    ])
    _ = try p.run(inputs: inputs, output: nil, options: PipelineOptions())
    #expect(first.computed == 2 && second.computed == 0)
    #expect(second.seen == [2, 3])
    // The text changed: the value is computed again from the new text.
    #expect(third.computed == 2 && third.seen == [5, 6])
  }

  @Test("the cache does not leak from one document to the next")
  func cacheClearedPerDocument() throws {
    let key = DocumentCacheKey<String>("k")
    let doc = try Document(json: #"{"text":"a"}"#)
    doc.setCached("value", for: key)
    #expect(doc.cached(key) == "value")
    let line = Array(#"{"text":"b"}"#.utf8)
    try line.withUnsafeBufferPointer { try doc.load(line: $0, source: "x", lineNumber: 2) }
    #expect(doc.cached(key) == nil)
  }
}

@Suite("sinks")
struct SinkTests {
  @Test("routing by a field: one directory per value, a missing field to _missing, unsafe values made safe")
  func routing() throws {
    let dir = try TempDir()
    let inputs = try corpus(
      dir,
      [
        #"{"id":"1","text":"a","domain":"web"}"#, #"{"id":"2","text":"b","domain":"code"}"#,
        #"{"id":"3","text":"c"}"#, #"{"id":"4","text":"d","domain":"web"}"#, #"{"id":"5","text":"e","domain":"../etc"}"#,
        #"{"id":"6","text":"f","domain":7}"#,
      ])
    let root = dir.file("out")
    let sink = RoutingSink(field: "domain") { (route: String) throws(WinnowError) -> DocumentSink in
      try DocumentWriter(OutputSpec(path: root + "/domain=" + route + "/", compression: Compression.none))
    }
    let stats = try Pipeline(stages: []).run(inputs: inputs, output: sink, options: PipelineOptions())
    #expect(sink.routes == ["web", "code", "_missing", "_._etc", "7"])
    #expect(stats.documentsWritten == 6)
    #expect(stats.outputFiles.count == 5)
    let web = try lines(root + "/domain=web/part-00000.jsonl").map { $0["id"] as! String }
    #expect(web == ["1", "4"])
    // Nothing was written outside the output directory.
    #expect(try dir.entries() == ["in.jsonl", "out"])
  }

  @Test("routing refuses a field with too many values, and two values sharing a route name")
  func routingLimits() throws {
    let dir = try TempDir()
    let many = (0..<5).map { #"{"id":"\#($0)","text":"t","domain":"d\#($0)"}"# }
    let make = { (root: String) in
      { (route: String) throws(WinnowError) -> DocumentSink in try DocumentWriter(OutputSpec(path: root + "/" + route + "/", compression: Compression.none)) }
    }
    let e1 = winnowError {
      _ = try Pipeline(stages: []).run(
        inputs: try corpus(dir, many), output: RoutingSink(field: "domain", maxRoutes: 3, make: make(dir.file("o1"))),
        options: PipelineOptions())
    }
    #expect(e1?.message.contains("more than 3 outputs") == true, "\(String(describing: e1))")
    let clash = [#"{"text":"t","domain":"a/b"}"#, #"{"text":"t","domain":"a_b"}"#]
    let e2 = winnowError {
      _ = try Pipeline(stages: []).run(
        inputs: try corpus(dir, clash, name: "clash.jsonl"), output: RoutingSink(field: "domain", make: make(dir.file("o2"))),
        options: PipelineOptions())
    }
    #expect(e2?.message.contains("both route to 'a_b'") == true, "\(String(describing: e2))")
    #expect(!fileExists(atPath: dir.file("o2/a_b/part-00000.jsonl")))
  }

  @Test("ConcatenateParts joins verified parts, and refuses a damaged one without leaving a file")
  func concatenate() throws {
    let dir = try TempDir()
    var parts: [WrittenFile] = []
    for (k, text) in ["one\n", "two\n"].enumerated() {
      let path = try dir.write("p\(k)", Array(text.utf8))
      let h = StreamingXXH3()
      Array(text.utf8).withUnsafeBytes { h.update($0) }
      parts.append(WrittenFile(path: path, bytes: text.utf8.count, checksum: h.digest))
    }
    try ConcatenateParts(into: dir.file("all.txt"), partKind: "test").merge(parts)
    #expect(String(decoding: try readBytes(dir.file("all.txt")), as: UTF8.self) == "one\ntwo\n")
    try dir.write("p1", Array("TWO\n".utf8))
    let error = winnowError { try ConcatenateParts(into: dir.file("again.txt"), partKind: "test").merge(parts) }
    #expect(error?.message.contains("p1") == true)
    #expect(!fileExists(atPath: dir.file("again.txt")))
  }
}
