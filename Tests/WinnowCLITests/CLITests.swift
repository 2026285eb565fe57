import Foundation
import Testing

// End-to-end tests of the `winnow` executable: they spawn the built binary and check exit
// codes, streams and messages. The binary is `$WINNOW_BIN`, or else
// `<package root>/.build/debug/winnow` (what `swift build` and `make test` produce). When
// it is missing every test here is skipped with a message saying so; none passes silently.

enum CLI {
  /// The package root, three levels above this file (Tests/WinnowCLITests/CLITests.swift).
  static let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static let binary: String = {
    if let env = ProcessInfo.processInfo.environment["WINNOW_BIN"], !env.isEmpty {
      return env.hasPrefix("/") ? env : packageRoot.appendingPathComponent(env).path
    }
    return packageRoot.appendingPathComponent(".build/debug/winnow").path
  }()

  static let available = FileManager.default.isExecutableFile(atPath: binary)
  static let missingMessage: Comment =
    "winnow binary not found at \(binary): run `swift build` first or set WINNOW_BIN"

  struct Result {
    var status: Int32
    var stdout: Data
    var stderr: Data
    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
    var outLines: [String] { out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
  }

  /// Runs winnow with `arguments` in the package root. Standard input, output and error go
  /// through temporary files, so no pipe can fill up and block either side.
  static func run(_ arguments: [String], stdin: Data = Data(), in directory: URL? = nil) throws -> Result {
    let tmp = try TempDir()
    let inURL = tmp.url.appendingPathComponent("stdin")
    let outURL = tmp.url.appendingPathComponent("stdout")
    let errURL = tmp.url.appendingPathComponent("stderr")
    try stdin.write(to: inURL)
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let inH = try FileHandle(forReadingFrom: inURL)
    let outH = try FileHandle(forWritingTo: outURL)
    let errH = try FileHandle(forWritingTo: errURL)
    defer {
      try? inH.close()
      try? outH.close()
      try? errH.close()
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = arguments
    p.currentDirectoryURL = directory ?? packageRoot
    p.standardInput = inH
    p.standardOutput = outH
    p.standardError = errH
    try p.run()
    p.waitUntilExit()
    return Result(
      status: p.terminationStatus, stdout: try Data(contentsOf: outURL), stderr: try Data(contentsOf: errURL))
  }

  static func run(_ arguments: [String], stdin: String) throws -> Result {
    try run(arguments, stdin: Data(stdin.utf8))
  }
}

/// A temporary directory removed when the value goes away.
final class TempDir {
  let url: URL
  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }
  func path(_ name: String) -> String { url.appendingPathComponent(name).path }
  func write(_ name: String, _ text: String) throws -> String {
    let p = path(name)
    try Data(text.utf8).write(to: URL(fileURLWithPath: p))
    return p
  }
  deinit { try? FileManager.default.removeItem(at: url) }
}

func jsonObject(_ line: String) throws -> [String: Any] {
  let o = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
  return try #require(o as? [String: Any], "not a JSON object: \(line)")
}

/// Three small documents: 2, 4 and 6 words.
let threeDocs = """
  {"id":"a","text":"two words"}
  {"id":"b","text":"now four words here","lang":"en"}
  {"id":"c","text":"six words: Grüße, 日本語 and 😀!"}

  """

@Suite("winnow CLI", .enabled(if: CLI.available, CLI.missingMessage), .serialized)
struct CLITests {

  // MARK: exit codes

  @Test("exit 0: a valid file passes through cat byte for byte")
  func exitZero() throws {
    let tmp = try TempDir()
    let input = try tmp.write("in.jsonl", threeDocs)
    let r = try CLI.run(["cat", input])
    #expect(r.status == 0, "stderr: \(r.err)")
    #expect(r.out == threeDocs)
    #expect(r.err.isEmpty)
  }

  @Test("exit 1: a truncated zstd file names the file")
  func exitOneTruncated() throws {
    let r = try CLI.run(["cat", "Samples/bad/truncated.jsonl.zst"])
    #expect(r.status == 1, "stderr: \(r.err)")
    #expect(r.err.contains("truncated.jsonl.zst"), "stderr: \(r.err)")
    #expect(r.err.contains("truncated zstd"), "stderr: \(r.err)")
  }

  @Test("exit 1: corrupt compressed input names the file")
  func exitOneCorrupt() throws {
    let tmp = try TempDir()
    let gz = tmp.path("corrupt.jsonl.gz")
    try Data([0x1F, 0x8B, 0x08, 0x00] + Array("garbage, not deflate data".utf8)).write(to: URL(fileURLWithPath: gz))
    let r = try CLI.run(["cat", gz])
    #expect(r.status == 1, "stderr: \(r.err)")
    #expect(r.err.contains("corrupt.jsonl.gz"), "stderr: \(r.err)")
  }

  @Test("exit 1: an output that cannot be created")
  func exitOneOutput() throws {
    let tmp = try TempDir()
    let file = try tmp.write("a-file", "not a directory\n")
    let r = try CLI.run(["cat", "-o", "\(file)/out.jsonl"], stdin: threeDocs)
    #expect(r.status == 1, "stderr: \(r.err)")
    #expect(r.err.contains("a-file"), "stderr: \(r.err)")
  }

  @Test(
    "exit 2: usage errors",
    arguments: [
      (["length", "--min-words", "abc"], "min_words"),
      (["length", "--min-words", "-1"], "min_words"),
      (["length", "--no-such-flag"], "--no-such-flag"),
      (["sample", "--rate", "2"], "rate"),
      (["sample"], "rate"),
      (["exact-dedup", "--missing", "sometimes"], "sometimes"),
      (["cat", "--compression", "lz4"], "lz4"),
      (["cat", "no-such-file.jsonl"], "no-such-file.jsonl"),
      (["length", "--min-words", "3", "no-such-file.jsonl"], "no-such-file.jsonl"),
      (["run", "no-such-recipe.yaml"], "no-such-recipe.yaml"),
      (["stages", "no-such-stage"], "no-such-stage"),
    ])
  func exitTwo(arguments: [String], mentions: String) throws {
    let r = try CLI.run(arguments, stdin: threeDocs)
    #expect(r.status == 2, "winnow \(arguments.joined(separator: " ")): stderr: \(r.err)")
    #expect(r.err.contains(mentions), "stderr should mention \(mentions): \(r.err)")
    #expect(r.stdout.isEmpty)
  }

  @Test(
    "exit 2 (not ArgumentParser's 64): unknown options of the built-in commands",
    arguments: [["cat", "--no-such-flag"], ["stats", "--no-such-flag"], ["run", "--no-such-flag", "x.yaml"],
                ["no-such-command"]])
  func exitTwoArgumentParser(arguments: [String]) throws {
    let r = try CLI.run(arguments)
    #expect(r.status == 2, "winnow \(arguments.joined(separator: " ")): the help promises 2; stderr: \(r.err)")
  }

  @Test("exit 2: a misspelt stage parameter suggests the right one")
  func didYouMean() throws {
    let r = try CLI.run(["length", "--min-wrds", "5"], stdin: threeDocs)
    #expect(r.status == 2)
    #expect(r.err.lowercased().contains("did you mean"), "stderr: \(r.err)")
    #expect(r.err.contains("min-words") || r.err.contains("min_words"), "stderr: \(r.err)")
  }

  @Test("exit 3: --strict stops at the first bad line and names file:line")
  func exitThree() throws {
    let tmp = try TempDir()
    let input = try tmp.write("mixed.jsonl", "{\"text\":\"fine\"}\n{\"text\":\"fine too\"}\n{\"text\": oops}\n{\"text\":\"after\"}\n")
    let r = try CLI.run(["cat", "--strict", input])
    #expect(r.status == 3, "stderr: \(r.err)")
    #expect(r.err.contains("mixed.jsonl:3"), "stderr: \(r.err)")

    let s = try CLI.run(["cat", "--strict", "Samples/bad/bad-lines.jsonl", "-o", tmp.path("out.jsonl")])
    #expect(s.status == 3)
    #expect(s.err.contains("bad-lines.jsonl:2"), "stderr: \(s.err)")
  }

  @Test("without --strict bad lines are quarantined with file, line and reason, and the exit is 0")
  func quarantine() throws {
    let tmp = try TempDir()
    let input = try tmp.write("mixed.jsonl", "{\"text\":\"fine\"}\n[1,2]\n\n{\"body\":\"no text\"}\n{\"text\":\"after\"}\n")
    let q = tmp.path("q.jsonl")
    let r = try CLI.run(["cat", input, "--quarantine", q])
    #expect(r.status == 0, "stderr: \(r.err)")
    #expect(r.outLines == ["{\"text\":\"fine\"}", "{\"text\":\"after\"}"])
    let records = try String(contentsOfFile: q, encoding: .utf8).split(separator: "\n").map { try jsonObject(String($0)) }
    #expect(records.count == 2)
    #expect(records.map { $0["line"] as? Int } == [2, 4])
    #expect(records.map { $0["reason"] as? String } == ["not_an_object", "missing_text_field"])
    #expect(records.allSatisfy { ($0["file"] as? String)?.hasSuffix("mixed.jsonl") == true })
  }

  @Test("help exits 0", arguments: [["--help"], ["cat", "--help"], ["run", "--help"], ["stats", "--help"],
                                    ["length", "--help"], ["exact-dedup", "-h"], ["stages"], ["--version"]])
  func helpExitsZero(arguments: [String]) throws {
    let r = try CLI.run(arguments)
    #expect(r.status == 0, "winnow \(arguments.joined(separator: " ")): stderr: \(r.err)")
    #expect(!r.out.isEmpty)
  }

  // MARK: streams

  @Test("a stage reads standard input and writes the kept documents to standard output")
  func stdinToStdout() throws {
    let r = try CLI.run(["length", "--min-words", "4"], stdin: threeDocs)
    #expect(r.status == 0, "stderr: \(r.err)")
    #expect(r.outLines == [
      "{\"id\":\"b\",\"text\":\"now four words here\",\"lang\":\"en\"}",
      "{\"id\":\"c\",\"text\":\"six words: Grüße, 日本語 and 😀!\"}",
    ])

    let dash = try CLI.run(["length", "--max-words=4", "-", "-o", "-"], stdin: threeDocs)
    #expect(dash.status == 0, "stderr: \(dash.err)")
    #expect(dash.outLines.count == 2)
    #expect(dash.outLines.first == "{\"id\":\"a\",\"text\":\"two words\"}")
  }

  @Test("exact-dedup on standard input keeps the first occurrence of each text")
  func dedupOnStdin() throws {
    let input = "{\"id\":\"1\",\"text\":\"same text\"}\n{\"id\":\"2\",\"text\":\"other\"}\n{\"id\":\"3\",\"text\":\"same text\"}\n"
    let r = try CLI.run(["exact-dedup"], stdin: input)
    #expect(r.status == 0, "stderr: \(r.err)")
    #expect(r.outLines.compactMap { try? jsonObject($0)["id"] as? String } == ["1", "2"])
  }

  // MARK: help and listings

  @Test("stage --help lists every parameter with its default")
  func stageHelp() throws {
    let r = try CLI.run(["exact-dedup", "--help"])
    #expect(r.status == 0)
    for flag in ["--field", "--normalize", "--missing"] {
      #expect(r.out.contains(flag), "exact-dedup --help lacks \(flag)")
    }
    #expect(r.out.contains("(default: false)"), "normalize's default: \(r.out)")
    #expect(r.out.contains("(default: keep)"), "missing's default: \(r.out)")

    let l = try CLI.run(["length", "--help"])
    for flag in ["--min-chars", "--max-chars", "--min-words", "--max-words", "--min-lines", "--max-lines"] {
      #expect(l.out.contains(flag), "length --help lacks \(flag)")
    }
    // Parameters as `winnow stages` describes them, each with a default.
    let s = try CLI.run(["stages", "exact_dedup"])
    #expect(s.out.contains("normalize: boolean, default: false"), "\(s.out)")
    #expect(s.out.contains("missing: one of keep|drop, default: keep"), "\(s.out)")
  }

  @Test("winnow stages lists every stage the top-level help names, with its command")
  func stagesListsEveryStage() throws {
    let help = try CLI.run(["--help"]).out
    // "Stages: length, field, sample, exact-dedup."
    let line = try #require(help.split(separator: "\n").first { $0.hasPrefix("Stages:") }, "no 'Stages:' line in --help")
    let cliNames = line.dropFirst("Stages:".count).split(separator: ",").map {
      $0.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: ".")))
    }
    #expect(Set(cliNames).isSuperset(of: ["length", "field", "sample", "exact-dedup"]))
    let stages = try CLI.run(["stages"])
    #expect(stages.status == 0)
    for cli in cliNames {
      let snake = cli.replacingOccurrences(of: "-", with: "_")
      #expect(stages.out.contains("\(snake)  (command: winnow \(cli))"), "winnow stages lacks \(snake)")
      // …and every listed stage is a working command.
      #expect(try CLI.run([cli, "--help"]).status == 0, "winnow \(cli) --help")
    }
  }

  // MARK: recipes

  @Test("winnow run with a misspelt recipe key names file:line and suggests the key")
  func recipeBadKey() throws {
    let tmp = try TempDir()
    let recipe = try tmp.write(
      "bad.yaml",
      """
      name: bad
      input:
        paths: [Samples/bad/bad-lines.jsonl]
      output:
        path: \(tmp.path("out"))
        compresion: zstd
      stages: []

      """)
    let r = try CLI.run(["run", recipe])
    #expect(r.status == 2, "stderr: \(r.err)")
    #expect(r.err.contains("\(recipe):6"), "stderr should name bad.yaml:6: \(r.err)")
    #expect(r.err.contains("'compresion'") && r.err.contains("did you mean 'compression'"), "stderr: \(r.err)")
    #expect(!FileManager.default.fileExists(atPath: tmp.path("out")), "nothing should be written")
  }

  @Test("winnow run with a misspelt stage parameter names file:line")
  func recipeBadParameter() throws {
    let tmp = try TempDir()
    let recipe = try tmp.write(
      "bad.yaml",
      """
      name: bad
      input:
        paths: [Samples/bad/bad-lines.jsonl]
      output:
        path: \(tmp.path("out"))
      stages:
        - length: {min_wrds: 5}

      """)
    let r = try CLI.run(["run", recipe])
    #expect(r.status == 2, "stderr: \(r.err)")
    #expect(r.err.contains("\(recipe):7"), "stderr: \(r.err)")
    #expect(r.err.contains("did you mean 'min_words'"), "stderr: \(r.err)")
  }

  @Test("winnow run writes shards and stats.json whose counts balance")
  func recipeRuns() throws {
    let tmp = try TempDir()
    let input = try tmp.write("in.jsonl", threeDocs + "{\"id\":\"d\",\"text\":\"now four words here\"}\n")
    let recipe = try tmp.write(
      "ok.yaml",
      """
      name: ok
      input:
        paths: [\(input)]
      output:
        path: \(tmp.path("out"))
        compression: none
      stages:
        - length: {min_words: 3}
        - exact_dedup: {}

      """)
    let r = try CLI.run(["run", recipe, "--no-progress"])
    #expect(r.status == 0, "stderr: \(r.err)")
    let shards = try FileManager.default.contentsOfDirectory(atPath: tmp.path("out")).filter { $0.hasPrefix("part-") }.sorted()
    #expect(!shards.isEmpty)
    var lines: [String] = []
    for s in shards {
      lines += try String(contentsOfFile: tmp.path("out/\(s)"), encoding: .utf8).split(separator: "\n").map(String.init)
    }
    #expect(lines.compactMap { try? jsonObject($0)["id"] as? String } == ["b", "c"])
    let stats = try jsonObject(String(contentsOfFile: tmp.path("out/stats.json"), encoding: .utf8))
    let read = stats["documents_read"] as? Int, written = stats["documents_written"] as? Int
    let dropped = stats["documents_dropped"] as? Int, quarantined = stats["documents_quarantined"] as? Int
    #expect(read == 4 && written == 2 && dropped == 2 && quarantined == 0, "\(stats)")
  }

  // MARK: rejects

  @Test("--rejects writes every dropped document with rejected_by and reject_reason, its fields intact")
  func rejects() throws {
    let tmp = try TempDir()
    let rej = tmp.path("rejects.jsonl")
    let r = try CLI.run(["length", "--min-words", "4", "--max-words", "5", "--rejects", rej], stdin: threeDocs)
    #expect(r.status == 0, "stderr: \(r.err)")
    #expect(r.outLines == ["{\"id\":\"b\",\"text\":\"now four words here\",\"lang\":\"en\"}"])
    let lines = try String(contentsOfFile: rej, encoding: .utf8).split(separator: "\n").map(String.init)
    try #require(lines.count == 2, "rejects: \(lines)")
    let a = try jsonObject(lines[0]), c = try jsonObject(lines[1])
    #expect(a["id"] as? String == "a")
    #expect(a["text"] as? String == "two words")
    #expect(a["rejected_by"] as? String == "length")
    #expect(a["reject_reason"] as? String == "too_few_words")
    #expect(c["id"] as? String == "c")
    #expect(c["text"] as? String == "six words: Grüße, 日本語 and 😀!")
    #expect(c["rejected_by"] as? String == "length")
    #expect(c["reject_reason"] as? String == "too_many_words")
    // The original bytes are kept; the annotation is added, not re-serialised.
    #expect(lines[0].hasPrefix("{\"id\":\"a\",\"text\":\"two words\""))

    let d = try CLI.run(["exact-dedup", "--rejects", rej], stdin: threeDocs + threeDocs)
    #expect(d.status == 0, "stderr: \(d.err)")
    let dups = try String(contentsOfFile: rej, encoding: .utf8).split(separator: "\n").map { try jsonObject(String($0)) }
    #expect(dups.count == 3)
    #expect(dups.allSatisfy { $0["rejected_by"] as? String == "exact_dedup" && $0["reject_reason"] as? String == "duplicate" })
  }
}
