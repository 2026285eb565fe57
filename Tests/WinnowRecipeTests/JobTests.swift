import Foundation
import Testing
import WinnowCore
import WinnowTestSupport

@testable import WinnowRecipe

/// A shell job in `dir`.
func shellJob(_ name: String, _ script: String, in dir: TempDir, gpus: Int = 0, expect: String? = nil) -> JobSpec {
  JobSpec(name: name, argv: ["/bin/sh", "-c", script], workingDirectory: dir.path, gpus: gpus, expectedOutput: expect)
}

@Suite("generic jobs through the executors")
struct JobTests {
  @Test("jobs run in their working directory, with their environment; success needs the expected output", arguments: ["inline", "local"])
  func runJobs(_ executor: String) throws {
    let dir = try TempDir()
    let exec: TaskExecutor = executor == "inline" ? InlineExecutor() : LocalExecutor(workers: 2, binary: "/bin/false")
    var withEnv = shellJob("env", "echo \"$GREETING\" > env.txt", in: dir, expect: "env.txt")
    withEnv.environment = ["GREETING": "hello 'quoted' world"]
    let jobs = [
      shellJob("train-a", "pwd > a.txt", in: dir, expect: "a.txt"),
      withEnv,
      shellJob("fails", "echo oops >&2; exit 3", in: dir, expect: "never.txt"),
      shellJob("silent", "true", in: dir, expect: "missing.txt"),
      shellJob("no-output-needed", "true", in: dir),
    ]
    let results = try JobRunner.run(jobs, on: exec, maxRetries: 1)
    let byName = Dictionary(uniqueKeysWithValues: results.map { ($0.job.name, $0) })
    #expect(byName["train-a"]?.outcome == .succeeded)
    let pwd = String(decoding: readBytes(dir.path + "/a.txt"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(URL(fileURLWithPath: pwd).resolvingSymlinksInPath() == URL(fileURLWithPath: dir.path).resolvingSymlinksInPath())
    #expect(String(decoding: readBytes(dir.path + "/env.txt"), as: UTF8.self) == "hello 'quoted' world\n")
    guard case .failed(let code, _)? = byName["fails"]?.outcome else {
      Issue.record("a job exiting 3 was not failed: \(String(describing: byName["fails"]))")
      return
    }
    #expect(code == 3)
    #expect(byName["fails"]?.attempts == 2)  // tried again once
    // Its log holds both attempts' output.
    let log = String(decoding: readBytes(dir.path + "/fails.log"), as: UTF8.self)
    #expect(log.components(separatedBy: "oops").count == 3, "\(log)")
    guard case .failed(_, let why)? = byName["silent"]?.outcome else {
      Issue.record("a job without its expected output counted as done")
      return
    }
    #expect(why.contains("expected output"))
    #expect(byName["no-output-needed"]?.outcome == .succeeded)
  }

  @Test("a job whose expected output exists is not run again")
  func resume() throws {
    let dir = try TempDir()
    let job = shellJob("count", "echo run >> runs.txt; touch done.txt", in: dir, expect: "done.txt")
    _ = try JobRunner.run([job], on: InlineExecutor())
    let again = try JobRunner.run([job], on: InlineExecutor())
    #expect(again[0].outcome == .alreadyDone)
    #expect(String(decoding: readBytes(dir.path + "/runs.txt"), as: UTF8.self) == "run\n")
  }

  @Test("GPUs: each job gets its own devices from the pool; a job needing more than there are is refused")
  func gpus() throws {
    let dir = try TempDir()
    // Each job records its devices and holds them a moment, so that jobs overlap.
    let jobs = (0..<4).map { k in
      shellJob("g\(k)", "echo \"$CUDA_VISIBLE_DEVICES $(date +%s%N)\" > g\(k).start; sleep 0.3; date +%s%N > g\(k).end", in: dir, gpus: 1, expect: "g\(k).end")
    }
    let results = try JobRunner.run(jobs, on: LocalExecutor(workers: 4, binary: "/bin/false", gpus: 2))
    #expect(results.allSatisfy { $0.outcome == .succeeded })
    var spans: [(device: String, start: Int, end: Int)] = []
    for k in 0..<4 {
      let start = String(decoding: readBytes(dir.path + "/g\(k).start"), as: UTF8.self).split(separator: " ")
      let end = Int(String(decoding: readBytes(dir.path + "/g\(k).end"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))!
      spans.append((String(start[0]), Int(start[1].trimmingCharacters(in: .whitespacesAndNewlines))!, end))
    }
    #expect(Set(spans.map(\.device)).isSubset(of: ["0", "1"]))
    // No two jobs held the same device at the same time.
    for a in spans.indices {
      for b in spans.indices where a < b && spans[a].device == spans[b].device {
        #expect(spans[a].end <= spans[b].start || spans[b].end <= spans[a].start)
      }
    }
    #expect(throws: WinnowError.self) {
      try JobRunner.run([shellJob("big", "true", in: dir, gpus: 3)], on: LocalExecutor(workers: 1, binary: "/bin/false", gpus: 2))
    }
  }

  @Test("bad job specs are usage errors before anything runs")
  func badSpecs() throws {
    let dir = try TempDir()
    for (job, text) in [
      (JobSpec(name: "x", argv: [], workingDirectory: dir.path), "no program"),
      (JobSpec(name: "a b", argv: ["true"], workingDirectory: dir.path), "letters"),
      (JobSpec(name: "x", argv: ["true"], workingDirectory: dir.path + "/nope"), "does not exist"),
    ] {
      do {
        _ = try JobRunner.run([job], on: InlineExecutor())
        Issue.record("accepted: \(job)")
      } catch {
        #expect(error.kind == .usage && error.message.contains(text), "\(error.message)")
      }
    }
    let twice = [shellJob("same", "true", in: dir), shellJob("same", "true", in: dir)]
    #expect(throws: WinnowError.self) { try JobRunner.run(twice, on: InlineExecutor()) }
  }
}

@Suite("waiting for one's own workers")
struct ChildExitWaiterTests {
  /// Starts `/bin/sh -c script`; returns its pid.
  func start(_ script: String) throws -> pid_t {
    var pid: pid_t = 0
    let args: [String] = ["/bin/sh", "-c", script]
    let argv = args.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let rc = posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ)
    try #require(rc == 0)
    return pid
  }

  @Test("the wait ends when a watched child exits, not after a nap; killed children too; the timeout bounds it otherwise")
  func waitEndsAtExit() throws {
    var exits = ChildExitWaiter()
    defer { exits.closeAll() }
    // A child that lives 0.3 s, watched with a wait of up to 60 s: the wait ends with it (a
    // nap of the fallback timer would end before it, with the child still running).
    let short = try start("sleep 0.3")
    exits.watch(short)
    let began = Date()
    exits.wait(for: [short], timeoutMilliseconds: 60_000)
    var status: Int32 = 0
    #expect(waitpid(short, &status, WNOHANG) == short, "the child has exited when the wait ends")
    #expect(Date().timeIntervalSince(began) < 30, "the wait ended at the exit, not at its timeout")
    exits.forget(short)

    // Nobody exits: the wait ends at its timeout and the children are still there.
    let long = try start("sleep 30")
    let other = try start("sleep 30")
    exits.watch(long)
    exits.watch(other)
    exits.wait(for: [long, other], timeoutMilliseconds: 100)
    #expect(waitpid(long, &status, WNOHANG) == 0 && waitpid(other, &status, WNOHANG) == 0)
    // One of two is killed: the wait ends, and that one is reaped with its signal.
    kill(other, SIGKILL)
    exits.wait(for: [long, other], timeoutMilliseconds: 60_000)
    #expect(waitpid(other, &status, WNOHANG) == other && status & 0x7f == SIGKILL)
    exits.forget(other)
    kill(long, SIGKILL)
    _ = waitpid(long, &status, 0)
    exits.forget(long)
  }
}
