import Foundation
import Glibc
import WinnowCore

/// Runs tasks as `winnow worker` processes of the same binary, `workers` at a time. A task
/// whose process fails (exit code, signal, killed) is tried again up to `maxRetries` times;
/// each task's output goes to its log file in the run's state directory.
public struct LocalExecutor: TaskExecutor {
  public var workers: Int
  /// The `winnow` binary to start (this process's own by default).
  public var binary: String

  /// GPUs on this machine that jobs may use (devices 0..<gpus, one set per job).
  public var gpus: Int

  public init(workers: Int, binary: String = LocalExecutor.currentExecutable(), gpus: Int = LocalExecutor.defaultGPUs) {
    self.workers = max(1, workers)
    self.binary = binary
    self.gpus = max(0, gpus)
  }

  public var name: String { "local" }
  public var runsLargestFirst: Bool { true }

  /// `WINNOW_GPUS` (a count), else 0: Winnow does not probe for devices.
  public static var defaultGPUs: Int {
    ProcessInfo.processInfo.environment["WINNOW_GPUS"].flatMap { Int($0) }.map { max(0, $0) } ?? 0
  }

  /// Up to `workers` jobs at once, each with its own GPUs.
  public func runJobs(_ jobs: [JobSpec], maxRetries: Int, events: (JobEvent) -> Bool) throws(WinnowError) {
    try JobProcess.runLocally(jobs, slots: workers, gpus: gpus, events: events)
  }

  public static func currentExecutable() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
  }

  public func execute(
    _ tasks: [TaskRef], in runDir: RunDirectory, maxRetries: Int, events: (TaskEvent) -> Void, tick: () -> Void
  ) throws(WinnowError) {
    var queue = tasks.map { ($0, 1) }[...]
    var running: [pid_t: (TaskRef, Int)] = [:]
    // Sleeps until a worker exits (see ChildExitWaiter): tasks of a middle or apply pass take
    // tens of milliseconds, and their ends are seen at once.
    var exits = ChildExitWaiter()
    defer { exits.closeAll() }
    var lastTick = Date()
    while !queue.isEmpty || !running.isEmpty {
      while running.count < workers, let (t, attempt) = queue.popFirst() {
        let log = runDir.logPath(pass: t.pass, task: t.task)
        let pid = try spawn(t, runDir: runDir, log: log, attempt: attempt)
        running[pid] = (t, attempt)
        exits.watch(pid)
        events(.started(t, attempt: attempt, log: log))
      }
      var status: Int32 = 0
      let pid = running.keys.lazy.map { waitpid($0, &status, WNOHANG) }.first { $0 != 0 } ?? 0  // own workers only
      if pid > 0, let (t, attempt) = running.removeValue(forKey: pid) {
        exits.forget(pid)
        let exited = status & 0x7f == 0
        let code = exited ? Int((status >> 8) & 0xff) : 128 + Int(status & 0x7f)
        if code == 0, let record = runDir.readRecord(pass: t.pass, task: t.task) {
          events(.finished(t, attempt: attempt, record))
        } else {
          let why =
            code == 0
            ? "worker exited without writing its task record"
            : exited ? "worker exited with code \(code)" : "worker killed by signal \(status & 0x7f)"
          // A usage error (exit 2) or a bad line under --strict (exit 3) fails again the same way.
          let retry = attempt <= maxRetries && code != 2 && code != 3
          events(.failed(t, attempt: attempt, exitCode: code, message: why, final: !retry))
          if retry { queue.append((t, attempt + 1)) }
        }
        continue
      }
      if pid < 0 && errno != EINTR && errno != ECHILD {
        throw .io("waiting for workers failed: \(String(cString: strerror(errno)))")
      }
      // Until a worker exits or the next progress tick is due.
      exits.wait(for: running.keys, timeoutMilliseconds: 500)
      if Date().timeIntervalSince(lastTick) > 0.5 {
        tick()
        lastTick = Date()
      }
    }
  }

  /// Starts `winnow worker RUN_DIR --pass P --task T`, stdout and stderr appended to `log`.
  func spawn(_ t: TaskRef, runDir: RunDirectory, log: String, attempt: Int) throws(WinnowError) -> pid_t {
    let header = "=== \(t.name) attempt \(attempt) \(Date())\n"
    if let h = FileHandle(forWritingAtPath: log) ?? {
      _ = FileManager.default.createFile(atPath: log, contents: nil)
      return FileHandle(forWritingAtPath: log)
    }() {
      h.seekToEndOfFile()
      h.write(Data(header.utf8))
      try? h.close()
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let args = [binary, "worker", runDir.path, "--pass", String(t.pass), "--task", String(t.task)]
    var env = ProcessInfo.processInfo.environment
    // Workers die with the coordinator (see WorkerCommand), so no orphan keeps writing.
    env["WINNOW_PARENT_PID"] = String(getpid())
    // Marks the process as a worker for a program that embeds Winnow (see `Worker`).
    env[Worker.environmentFlag] = "1"
    let argv = args.map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, binary, &actions, nil, argv, envp)
    if rc != 0 { throw .io("cannot start worker \(binary): \(String(cString: strerror(rc)))") }
    return pid
  }
}
