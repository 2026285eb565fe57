import Foundation
import Testing

// `winnow decontaminate` as a Unix filter: eval sets given comma-separated, documents on
// standard input, kept ones on standard output.

@Suite("winnow decontaminate", .enabled(if: CLI.available, CLI.missingMessage), .serialized)
struct DecontaminateCLITests {
  static let item = "the quick brown fox jumps over the lazy dog while the old cat sleeps on the warm mat"

  static func docs(_ texts: [(String, String)]) -> String {
    texts.map { #"{"id":"\#($0.0)","text":"\#($0.1)"}"# }.joined(separator: "\n") + "\n"
  }

  @Test("drops documents that share a 13-gram with any listed eval set; rejects say which set")
  func pipe() throws {
    let tmp = try TempDir()
    let qa = try tmp.write("qa.jsonl", #"{"question":"\#(Self.item)"}"# + "\n")
    let lines = try tmp.write("lines.txt", "one two three four five six seven eight nine ten eleven twelve thirteen\n")
    let rejects = tmp.path("rejects.jsonl")
    let input = Self.docs([
      (
        "a",
        "Yesterday THE QUICK BROWN FOX jumped? No: the quick brown fox jumps over the lazy dog while the old cat sleeps."
      ),
      ("b", "nothing to see here"),
      ("c", "One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen!"),
      ("d", "the quick brown fox jumps over the lazy dog while the old"),
    ])
    let r = try CLI.run(
      ["decontaminate", "--eval-sets", "\(qa),\(lines)", "--eval-field", "question", "--rejects", rejects],
      stdin: input)
    #expect(r.status == 0, "\(r.err)")
    #expect(r.outLines.map { try! jsonObject($0)["id"] as! String } == ["b", "d"])
    let rej = try String(contentsOfFile: rejects, encoding: .utf8).split(separator: "\n").map {
      try jsonObject(String($0))
    }
    #expect(rej.map { $0["id"] as? String } == ["a", "c"])
    #expect(rej.map { $0["decontaminate_sets"] as? [String] } == [["qa"], ["lines"]])
    #expect(rej.map { $0["decontaminate_matches"] as? Int } == [2, 1])
    #expect(rej.allSatisfy { $0["reject_reason"] as? String == "contaminated" })

    // Annotate mode in a pipe, then a field filter on the annotation.
    let a = try CLI.run(
      ["decontaminate", "--eval-sets=\(qa)", "--eval-field", "question", "--mode", "annotate"], stdin: input)
    #expect(a.status == 0, "\(a.err)")
    #expect(a.outLines.map { try! jsonObject($0)["decontaminate_matches"] as! Int } == [2, 0, 0, 0])
    let f = try CLI.run(["field", "--key", "decontaminate_matches", "--max", "0"], stdin: a.out)
    #expect(f.outLines.count == 3)
  }

  @Test("bad eval sets are usage errors (exit 2) naming the file and line")
  func errors() throws {
    let tmp = try TempDir()
    let missing = try CLI.run(["decontaminate", "--eval-sets", tmp.path("nope.jsonl")], stdin: Self.docs([("a", "x")]))
    #expect(missing.status == 2)
    #expect(missing.err.contains("nope.jsonl"), "\(missing.err)")
    let bad = try tmp.write("bad.jsonl", #"{"text":"\#(Self.item)"}"# + "\n" + #"{"text": oops}"# + "\n")
    let malformed = try CLI.run(["decontaminate", "--eval-sets", bad], stdin: Self.docs([("a", "x")]))
    #expect(malformed.status == 2)
    #expect(malformed.err.contains("\(bad):2:"), "\(malformed.err)")
    let none = try CLI.run(["decontaminate"], stdin: "")
    #expect(none.status == 2)
    #expect(none.err.contains("eval_sets"), "\(none.err)")
    let help = try CLI.run(["decontaminate", "--help"])
    #expect(help.status == 0)
    for flag in ["--eval-sets", "--eval-field", "--unit", "--ngram", "--min-matches", "--short-items", "--mode"] {
      #expect(help.out.contains(flag), "decontaminate --help lacks \(flag)")
    }
  }
}
