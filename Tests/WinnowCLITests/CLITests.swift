import Foundation
import Testing

// End-to-end tests of the `winnow` executable: they spawn the built binary and check exit
// codes, streams and messages. The binary is `$WINNOW_BIN`, or else the `winnow` built beside
// the test bundle, or else `<package root>/.build/debug/winnow` (what `swift build` and
// `make test` produce). When it is missing every test here is skipped with a message saying
// so; none passes silently.

enum CLI {
  /// The package root, three levels above this file (Tests/WinnowCLITests/CLITests.swift).
  static let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static let binary: String = {
    if let env = ProcessInfo.processInfo.environment["WINNOW_BIN"], !env.isEmpty {
      return env.hasPrefix("/") ? env : packageRoot.appendingPathComponent(env).path
    }
    // The binary built beside this test bundle (same build directory, e.g. with --scratch-path)
    // is the one these tests were built with.
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
      while dir.path.contains(".xctest") { dir = dir.deletingLastPathComponent() }
      let sibling = dir.appendingPathComponent("winnow").path
      if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
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
      (["run", "no-such-recipe.yaml", "--workers", "0"], "--workers"),
      (["status", "no-such-run-dir"], "no-such-run-dir"),
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
    // "Stages: length, field, sample, …, exact-dedup." (wrapped over several lines)
    let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    let first = try #require(lines.firstIndex { $0.hasPrefix("Stages:") }, "no 'Stages:' line in --help")
    let end = lines[first...].firstIndex { $0.hasSuffix(".") } ?? first
    let line = lines[first...end].joined(separator: " ")
    let cliNames = line.dropFirst("Stages:".count).split(separator: ",").map {
      $0.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: ".")))
    }
    #expect(
      Set(cliNames).isSuperset(of: [
        "length", "field", "sample", "exact-dedup", "gopher-repetition", "gopher-quality", "c4-quality", "c4-paragraph",
        "fineweb-quality", "wordlist", "url-blocklist", "normalize", "pii-redact",
      ]))
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
    // One input file: map and apply tasks 0; the shard is named after its task.
    #expect(shards == ["part-00000-00000.jsonl"])
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

  // MARK: runs: shard names, resume, fresh, refusal, status, executors

  /// Two input files (a task each) and a recipe over them; `minWords` changes the recipe.
  static func runFixture(_ tmp: TempDir, minWords: Int = 3, extra: String = "") throws -> String {
    try FileManager.default.createDirectory(atPath: tmp.path("in"), withIntermediateDirectories: true)
    _ = try tmp.write("in/a.jsonl", threeDocs)
    _ = try tmp.write("in/b.jsonl", "{\"id\":\"d\",\"text\":\"one two three four five\"}\n{\"id\":\"e\",\"text\":\"tiny\"}\n")
    return try tmp.write(
      "r\(minWords).yaml",
      """
      name: runs
      input:
        paths: [\(tmp.path("in"))]
      output:
        path: \(tmp.path("out"))
        compression: none
        rejects: \(tmp.path("rejects.jsonl"))
      stages:
        - length: {min_words: \(minWords)}\(extra)

      """)
  }

  static func shards(_ dir: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for n in try FileManager.default.contentsOfDirectory(atPath: dir) where n.hasPrefix("part-") {
      out[n] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + n))
    }
    return out
  }

  @Test("winnow run: task-named shards; the same command again resumes; status shows the passes")
  func runResumeAndStatus() throws {
    let tmp = try TempDir()
    let recipe = try Self.runFixture(tmp)
    let r = try CLI.run(["run", recipe, "--no-progress"])
    #expect(r.status == 0, "stderr: \(r.err)")
    let first = try Self.shards(tmp.path("out"))
    #expect(first.keys.sorted() == ["part-00000-00000.jsonl", "part-00001-00000.jsonl"])
    #expect(r.out.contains("tasks: 2 run, 0 already done (executor inline)"), "\(r.out)")
    #expect(r.out.contains("read 5, kept 3, dropped 2, quarantined 0"), "\(r.out)")
    for f in ["plan.json", "run.sqlite", "tasks/p0-t00000.json", "tasks/p0-t00001.json"] {
      #expect(FileManager.default.fileExists(atPath: tmp.path("out/.winnow/" + f)), "no .winnow/\(f)")
    }

    let s = try CLI.run(["status", tmp.path("out")])
    #expect(s.status == 0, "stderr: \(s.err)")
    #expect(s.out.contains("run of 'runs'"), "\(s.out)")
    #expect(s.out.contains("pass 0: 2/2 tasks done"), "\(s.out)")
    #expect(s.out.contains("0 failed"), "\(s.out)")
    #expect(s.out.contains("executor inline, done"), "\(s.out)")

    let again = try CLI.run(["run", recipe, "--no-progress"])
    #expect(again.status == 0, "stderr: \(again.err)")
    #expect(again.out.contains("tasks: 0 run, 2 already done"), "\(again.out)")
    #expect(again.out.contains("read 5, kept 3, dropped 2, quarantined 0"), "\(again.out)")
    #expect(try Self.shards(tmp.path("out")) == first)
    let stats = try jsonObject(String(contentsOfFile: tmp.path("out/stats.json"), encoding: .utf8))
    #expect(stats["tasks"] as? Int == 2)
    #expect(stats["tasks_skipped_as_done"] as? Int == 2)
    #expect(stats["documents_read"] as? Int == 5 && stats["documents_written"] as? Int == 3)

    // Another executor and worker count is the same plan: it resumes too.
    let local = try CLI.run(["run", recipe, "--no-progress", "--executor", "local", "--workers", "2"])
    #expect(local.status == 0, "stderr: \(local.err)")
    #expect(local.out.contains("tasks: 0 run, 2 already done (executor local)"), "\(local.out)")

    // status of a directory that holds no run.
    let none = try CLI.run(["status", tmp.path("in")])
    #expect(none.status == 2)
    #expect(none.err.contains("not a winnow run directory"), "\(none.err)")
  }

  @Test("winnow run: a changed recipe in the same output directory exits 2 unless --fresh")
  func runChangedRecipe() throws {
    let tmp = try TempDir()
    let recipe = try Self.runFixture(tmp)
    #expect(try CLI.run(["run", recipe, "--no-progress"]).status == 0)
    let before = try Self.shards(tmp.path("out"))
    let rejectsBefore = try Data(contentsOf: URL(fileURLWithPath: tmp.path("rejects.jsonl")))

    let changed = try Self.runFixture(tmp, minWords: 5)
    let r = try CLI.run(["run", changed, "--no-progress"])
    #expect(r.status == 2, "stderr: \(r.err)")
    #expect(r.err.contains(tmp.path("out")), "\(r.err)")
    #expect(r.err.contains("different recipe"), "\(r.err)")
    #expect(r.err.contains("--fresh"), "\(r.err)")
    #expect(r.stdout.isEmpty)
    // Nothing was touched.
    #expect(try Self.shards(tmp.path("out")) == before)
    #expect(try Data(contentsOf: URL(fileURLWithPath: tmp.path("rejects.jsonl"))) == rejectsBefore)

    let fresh = try CLI.run(["run", changed, "--fresh", "--no-progress"])
    #expect(fresh.status == 0, "stderr: \(fresh.err)")
    #expect(fresh.out.contains("tasks: 2 run, 0 already done"), "\(fresh.out)")
    #expect(fresh.out.contains("read 5, kept 2, dropped 3"), "\(fresh.out)")
    let after = try Self.shards(tmp.path("out"))
    #expect(after.keys.sorted() == ["part-00000-00000.jsonl", "part-00001-00000.jsonl"])
    let kept = after.keys.sorted().flatMap { String(decoding: after[$0]!, as: UTF8.self).split(separator: "\n") }
    #expect(kept.compactMap { try? jsonObject(String($0))["id"] as? String } == ["c", "d"])
    let rejects = try String(contentsOfFile: tmp.path("rejects.jsonl"), encoding: .utf8).split(separator: "\n")
    #expect(rejects.compactMap { try? jsonObject(String($0))["id"] as? String } == ["a", "b", "e"])

    // Shards that no run wrote are refused too, with --fresh as well: Winnow does not delete them.
    let other = try TempDir()
    let foreign = try Self.runFixture(other)
    try FileManager.default.createDirectory(atPath: other.path("out"), withIntermediateDirectories: true)
    _ = try other.write("out/part-00000.jsonl", "{\"text\":\"left over\"}\n")
    let refused = try CLI.run(["run", foreign, "--no-progress"])
    #expect(refused.status == 2, "stderr: \(refused.err)")
    #expect(refused.err.contains("part-00000.jsonl"), "\(refused.err)")
    #expect(try CLI.run(["run", foreign, "--no-progress", "--fresh"]).status == 2)
    #expect(try String(contentsOfFile: other.path("out/part-00000.jsonl"), encoding: .utf8) == "{\"text\":\"left over\"}\n")
    try FileManager.default.removeItem(atPath: other.path("out/part-00000.jsonl"))
    #expect(try CLI.run(["run", foreign, "--no-progress", "--fresh"]).status == 0)
    #expect(try Self.shards(other.path("out")).keys.sorted() == ["part-00000-00000.jsonl", "part-00001-00000.jsonl"])
  }

  @Test("winnow run --strict with local workers: exit 3 naming file:line; the other task is kept; the fixed run resumes")
  func runStrictLocal() throws {
    let tmp = try TempDir()
    let recipe = try Self.runFixture(tmp)
    let bad = try tmp.write("in/b.jsonl", "{\"id\":\"d\",\"text\":\"one two three four five\"}\n{\"text\": oops}\n")
    let r = try CLI.run(["run", recipe, "--strict", "--executor", "local", "--workers", "2", "--no-progress"])
    #expect(r.status == 3, "stderr: \(r.err)")
    #expect(r.err.contains("\(bad):2"), "\(r.err)")
    #expect(r.err.contains("p0-t00001"), "\(r.err)")
    #expect(r.err.contains("run the same command again to resume"), "\(r.err)")
    #expect(FileManager.default.fileExists(atPath: tmp.path("out/.winnow/tasks/p0-t00000.json")))
    #expect(!FileManager.default.fileExists(atPath: tmp.path("out/.winnow/tasks/p0-t00001.json")))
    let s = try CLI.run(["status", tmp.path("out")])
    #expect(s.status == 0)
    #expect(s.out.contains("pass 0: 1/2 tasks done"), "\(s.out)")
    #expect(s.out.contains("1 failed"), "\(s.out)")
    #expect(s.out.contains("p0-t00001"), "\(s.out)")

    _ = try tmp.write("in/b.jsonl", "{\"id\":\"d\",\"text\":\"one two three four five\"}\n{\"text\":\"fixed now\"}\n")
    let fixed = try CLI.run(["run", recipe, "--strict", "--executor", "local", "--workers", "2", "--no-progress"])
    #expect(fixed.status == 0, "stderr: \(fixed.err)")
    #expect(fixed.out.contains("tasks: 1 run, 1 already done (executor local)"), "\(fixed.out)")
    let s2 = try CLI.run(["status", tmp.path("out")])
    #expect(s2.out.contains("pass 0: 2/2 tasks done"), "\(s2.out)")
  }

  @Test("winnow run --executor local writes the bytes --executor inline writes")
  func runLocalEqualsInline() throws {
    let tmp = try TempDir()
    let recipe = try Self.runFixture(tmp, extra: "\n  - sample: {rate: 0.5}")
    let local = try CLI.run(["run", recipe, "--executor", "local", "--workers", "2", "--no-progress"])
    #expect(local.status == 0, "stderr: \(local.err)")
    #expect(local.out.contains("(executor local)"), "\(local.out)")
    let localShards = try Self.shards(tmp.path("out"))
    let localRejects = try Data(contentsOf: URL(fileURLWithPath: tmp.path("rejects.jsonl")))
    let inline = try CLI.run(["run", recipe, "--executor", "inline", "--fresh", "--no-progress"])
    #expect(inline.status == 0, "stderr: \(inline.err)")
    #expect(inline.out.contains("tasks: 2 run"), "\(inline.out)")
    #expect(try Self.shards(tmp.path("out")) == localShards)
    #expect(try Data(contentsOf: URL(fileURLWithPath: tmp.path("rejects.jsonl"))) == localRejects)
    // slurm is not something a test machine should submit to; an unknown executor is refused.
    let unknown = try CLI.run(["run", recipe, "--executor", "kubernetes", "--no-progress"])
    #expect(unknown.status == 2, "stderr: \(unknown.err)")
    #expect(unknown.err.contains("kubernetes"), "\(unknown.err)")
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
