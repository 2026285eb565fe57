import Foundation
import Testing
import WinnowTestSupport

@testable import WinnowCore
@testable import WinnowSelect

@Suite("join stage")
struct JoinStageTests {
  static let corpus: [[UInt8]] = (0..<40).map { i in
    Array("{\"id\":\"d\(i)\",\"text\":\"\(["plain text", "日本語", "текст"][i % 3]) \(i)\",\"n\":\(i),\"score\":-1}".utf8)
  }

  func side(_ dir: TempDir, _ lines: [String]) throws -> String {
    try dir.write("scores.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
  }

  @Test("fields of the first record of each id are copied; any task count gives the same documents")
  func copies() throws {
    let dir = try TempDir()
    var lines: [String] = []
    for i in stride(from: 0, to: 40, by: 2) { lines.append("{\"id\":\"d\(i)\",\"score\":\(Double(i) / 10),\"note\":{\"k\":[1,2]}}") }
    lines.append("{\"id\":\"d0\",\"score\":99}")  // a later record of d0: left out
    lines.append("{\"id\":\"unknown\",\"score\":5}")
    let path = try side(dir, lines)
    var results: [[String: String]] = []
    for tasks in [1, 3] {
      for buckets in [1, 4] {
        let run = try GlobalRun.run(JoinStage(files: [path], buckets: buckets), split(Self.corpus, into: tasks))
        #expect(run.keptIDs.count == 40)
        var got: [String: String] = [:]
        for d in run.kept {
          let id = d["id"] as! String
          got[id] = "\(d["score"]!)|\(d["note"].map { "\($0)" } ?? "-")"
        }
        results.append(got)
      }
    }
    #expect(results.allSatisfy { $0 == results[0] })
    #expect(results[0]["d0"]?.hasPrefix("0.0|") == true && results[0]["d4"]?.hasPrefix("0.4|") == true, "\(results[0])")
    #expect(results[0]["d1"] == "-1|-")
  }

  @Test("numeric keys, a chosen field, a prefix, another join field; missing: drop")
  func options() throws {
    let dir = try TempDir()
    let path = try side(dir, ["{\"num\":3,\"influence\":0.5,\"other\":1}", "{\"num\":7,\"influence\":-0.25}"])
    let run = try GlobalRun.run(
      JoinStage(files: [path], key: "num", on: "n", fields: ["influence"], prefix: "mates_", dropMissing: true), split(Self.corpus, into: 2))
    #expect(Set(run.keptIDs) == ["d3", "d7"])
    #expect(run.kept.first { $0["id"] as? String == "d7" }?["mates_influence"] as? Double == -0.25)
    #expect(run.kept.allSatisfy { $0["other"] == nil && $0["mates_other"] == nil })
    #expect(run.reasons.values.allSatisfy { $0 == JoinStage.noMatch } && run.reasons.count == 38)
  }

  @Test("a malformed side line or one without the key is an error naming file and line; empty input")
  func errors() throws {
    let dir = try TempDir()
    let bad = try side(dir, ["{\"id\":\"d1\",\"s\":1}", "{\"id\":\"d2\",\"s\":"])
    let e = winnowError { _ = try GlobalRun.run(JoinStage(files: [bad]), [Self.corpus]) }
    #expect(e?.message.contains("scores.jsonl:2") == true)
    let dir2 = try TempDir()
    let nokey = try side(dir2, ["{\"name\":\"d1\",\"s\":1}"])
    #expect(winnowError { _ = try GlobalRun.run(JoinStage(files: [nokey]), [Self.corpus]) }?.message.contains("no string or number field 'id'") == true)
    let missing = winnowError { _ = try GlobalRun.run(JoinStage(files: ["/nonexistent/s.jsonl"]), [Self.corpus]) }
    #expect(missing?.message.contains("/nonexistent/s.jsonl") == true)
    let dir3 = try TempDir()
    let ok = try side(dir3, ["{\"id\":\"d1\",\"s\":1}"])
    let empty = try GlobalRun.run(JoinStage(files: [ok]), [[]])
    #expect(empty.keptIDs.isEmpty)
  }

  @Test("a damaged match file is an error naming it")
  func damaged() throws {
    let dir = try TempDir()
    let path = try side(dir, ["{\"id\":\"d1\",\"s\":1}"])
    let s = JoinStage(files: [path], buckets: 1)
    var run = try GlobalRun()
    run.tasksPerPass = PhaseStore.tasksPerPass(s.passes, inputTasks: 1)
    try run.run(pass: 0, s, [Self.corpus])
    try run.run(pass: 1, s, [Self.corpus])
    let file = run.files(1, ".tsv")[0]
    var b = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
    b[0] = UInt8(ascii: "9")
    try Data(b).write(to: URL(fileURLWithPath: file))
    let e = winnowError { try run.run(pass: 2, s, [Self.corpus]) }
    #expect(e?.message.contains(file) == true && e?.message.contains("checksum") == true)
  }
}
