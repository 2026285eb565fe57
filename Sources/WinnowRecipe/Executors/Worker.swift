import CProcessShim
import Foundation
import WinnowCore

/// The worker side of the local and Slurm executors: `PROGRAM worker RUN_DIR --pass P (--task T
/// | --task-offset N) [--log-to-task-log]` runs one task of a planned run and exits;
/// `PROGRAM worker RUN_DIR --merge KEY` runs one of its merge steps (`MergeSteps`).
///
/// The worker is whatever program the coordinator runs in: the `winnow` CLI, or a program that
/// embeds Winnow and calls `Winnow.runWorkerIfRequested(registry:)` first thing in `main` — so
/// that the stages that program registered exist in its workers too. Executors mark the
/// processes they start with `WINNOW_WORKER=1`, so an embedding program's own `worker` command,
/// if it has one, is never taken for this.
package enum Worker {
  /// The environment variable executors set on the workers they start.
  package static let environmentFlag = "WINNOW_WORKER"

  /// Whether this process was started as a worker by an executor.
  package static var isRequested: Bool {
    ProcessInfo.processInfo.environment[environmentFlag] == "1" && CommandLine.arguments.dropFirst().first == "worker"
  }

  /// Set once a program has said it can be its own worker: the coordinator then starts workers
  /// from this program's executable rather than from a `winnow` binary.
  nonisolated(unsafe) package private(set) static var embedded = false

  /// Marks this program as able to run its own workers (see `runIfRequested`).
  package static func declareEmbedded() { embedded = true }

  /// The task's arguments.
  package struct Arguments: Equatable, Sendable {
    package var runDirectory: String
    package var pass: Int
    package var task: Int
    package var logToTaskLog: Bool
    /// `--merge KEY`: run the run's merge step KEY (`MergeSteps`) instead of a task.
    package var merge: String? = nil
  }

  /// Parses `worker RUN_DIR --pass P (--task T | --task-offset N) [--log-to-task-log]` (the
  /// arguments after the program name); `environment` gives `SLURM_ARRAY_TASK_ID`.
  package static func parse(_ args: [String], environment: [String: String]) throws(WinnowError) -> Arguments {
    var rest = args
    if rest.first == "worker" { rest.removeFirst() }
    var dir: String?
    var pass = 0
    var task: Int?
    var offset = 0
    var log = false
    var merge: String?
    var i = 0
    func value(_ flag: String) throws(WinnowError) -> Int {
      guard i + 1 < rest.count, let v = Int(rest[i + 1]), v >= 0 else {
        throw .usage("worker: \(flag) needs a number ≥ 0")
      }
      i += 1
      return v
    }
    while i < rest.count {
      switch rest[i] {
      case "--pass": pass = try value("--pass")
      case "--task": task = try value("--task")
      case "--task-offset": offset = try value("--task-offset")
      case "--log-to-task-log": log = true
      case "--merge":
        guard i + 1 < rest.count else { throw .usage("worker: --merge needs a side output's name") }
        merge = rest[i + 1]
        i += 1
      case let a where a.hasPrefix("-"): throw .usage("worker: unknown option '\(a)'")
      case let a:
        guard dir == nil else { throw .usage("worker: one run directory, got '\(dir!)' and '\(a)'") }
        dir = a
      }
      i += 1
    }
    guard let dir else { throw .usage("worker: give the run directory") }
    if let merge { return Arguments(runDirectory: dir, pass: 0, task: 0, logToTaskLog: false, merge: merge) }
    guard let t = task ?? environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init).map({ $0 + offset }) else {
      throw .usage("worker: give --task or run inside a Slurm array job")
    }
    return Arguments(runDirectory: dir, pass: pass, task: t, logToTaskLog: log)
  }

  /// Runs the task `args` names with the stages of `registry`; returns the process's exit code
  /// (errors are printed to standard error).
  package static func run(_ args: Arguments, registry: StageRegistry) -> Int32 {
    dieWithParent()
    let runDir = RunDirectory(args.runDirectory)
    if let key = args.merge {
      do {
        try MergeSteps.run(runDir, key: key)
        print("merge step \(key) done")
        fflush(nil)
        return 0
      } catch {
        FileHandle.standardError.write(Data("\(CommandLine.arguments.first.map { fileName(of: $0) } ?? "winnow"): error: \(error.message)\n".utf8))
        return error.exitCode
      }
    }
    if args.logToTaskLog {
      let log = runDir.logPath(pass: args.pass, task: args.task)
      let fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
      if fd >= 0 {
        dup2(fd, 1)
        dup2(fd, 2)
        close(fd)
        let env = ProcessInfo.processInfo.environment
        print(
          "=== \(RunDirectory.taskName(pass: args.pass, task: args.task)) on \(ProcessInfo.processInfo.hostName) \(Date()) (Slurm job \(env["SLURM_JOB_ID"] ?? "?"))"
        )
        fflush(nil)
      }
    }
    do {
      let record = try TaskRunner.run(runDir, pass: args.pass, task: args.task, registry: registry)
      print(
        "task \(RunDirectory.taskName(pass: args.pass, task: args.task)) done: read \(record.stats.documentsRead), kept \(record.stats.documentsWritten)"
      )
      fflush(nil)
      return 0
    } catch {
      FileHandle.standardError.write(Data("\(CommandLine.arguments.first.map { fileName(of: $0) } ?? "winnow"): error: \(error.message)\n".utf8))
      return error.exitCode
    }
  }

  /// When this process was started as a worker (`isRequested`), runs its task with `registry`
  /// and exits; otherwise marks the program as able to be its own worker and returns.
  package static func runIfRequested(registry: StageRegistry) {
    declareEmbedded()
    runIfStarted(registry: registry)
  }

  /// When an executor started this process as a worker, runs its task and exits; otherwise
  /// returns. Without declaring the program its own worker: the `winnow` CLI calls it first
  /// thing, before its command tree is built (start-up is most of a small task's cost).
  package static func runIfStarted(registry: StageRegistry) {
    guard isRequested else { return }
    let code: Int32
    do {
      code = run(try parse(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment), registry: registry)
    } catch {
      FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
      code = error.exitCode
    }
    exit(code)
  }

  /// A worker whose coordinator is killed must not go on writing: ask the kernel to end it with
  /// its parent (the local executor says who that is in `WINNOW_PARENT_PID`).
  static func dieWithParent() {
    guard let want = ProcessInfo.processInfo.environment["WINNOW_PARENT_PID"].flatMap(Int32.init) else { return }
    // SIGTERM rather than SIGKILL: the worker's handler removes its temporary files first.
    _ = wn_set_parent_death_signal(SIGTERM)
    if getppid() != want { exit(1) }  // the parent died before prctl took effect
  }
}
