import CProcessShim
import Foundation
import Glibc
import WinnowCore

/// A job that is not a task of a recipe: any program, with the resources it needs — how the
/// runner starts proxy training runs, evaluations or exports on the same executors that run
/// recipes (`JobRunner.run`). A job has succeeded when it exits 0 and, if it names one, its
/// expected output file exists; a job whose expected output already exists is not run again,
/// which is how a set of jobs resumes.
public struct JobSpec: Sendable, Equatable {
  /// Names the job in messages, logs and the batch system (letters, digits, `._-`).
  public var name: String
  /// The program and its arguments (the program is looked up in `PATH` when it has no `/`).
  public var argv: [String]
  /// Where the job runs; relative paths in `expectedOutput` and `log` are relative to it.
  public var workingDirectory: String
  /// Added to the coordinator's environment.
  public var environment: [String: String]
  public var cpus: Int
  /// GPUs the job needs. The local executor gives each job its own devices from its pool
  /// (`CUDA_VISIBLE_DEVICES`); Slurm asks for `--gres=gpu:N`.
  public var gpus: Int
  /// Memory and time limit in sbatch's syntax (`16G`, `02:00:00`); Slurm only.
  public var memory: String?
  public var time: String?
  /// The file the job must leave behind to count as done.
  public var expectedOutput: String?
  /// Standard output and error of every attempt, appended (default `NAME.log` in the working
  /// directory).
  public var log: String?

  public init(
    name: String, argv: [String], workingDirectory: String, environment: [String: String] = [:], cpus: Int = 1,
    gpus: Int = 0, memory: String? = nil, time: String? = nil, expectedOutput: String? = nil, log: String? = nil
  ) {
    self.name = name
    self.argv = argv
    self.workingDirectory = workingDirectory
    self.environment = environment
    self.cpus = cpus
    self.gpus = gpus
    self.memory = memory
    self.time = time
    self.expectedOutput = expectedOutput
    self.log = log
  }

  func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : workingDirectory + "/" + path }
  public var logPath: String { resolve(log ?? name + ".log") }
  var expectedPath: String? { expectedOutput.map(resolve) }

  /// Why the job cannot be run as given, or nil.
  var problem: String? {
    if argv.isEmpty { return "job '\(name)' has no program" }
    if name.isEmpty || name.unicodeScalars.contains(where: { !($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }) {
      return "job name '\(name)' must be letters, digits, '.', '_' or '-'"
    }
    if cpus < 1 || gpus < 0 { return "job '\(name)': cpus must be ≥ 1 and gpus ≥ 0" }
    var isDir: ObjCBool = false
    if !FileManager.default.fileExists(atPath: workingDirectory, isDirectory: &isDir) || !isDir.boolValue {
      return "job '\(name)': working directory \(workingDirectory) does not exist"
    }
    return nil
  }

  /// Whether the job's expected output is there (a job without one is never "already done").
  var isDone: Bool { expectedPath.map { FileManager.default.fileExists(atPath: $0) } ?? false }
}

/// What happened to a job.
public struct JobResult: Sendable, Equatable {
  /// How the job ended.
  public enum Outcome: Sendable, Equatable {
    /// Its expected output was there before it ran: not run.
    case alreadyDone
    case succeeded
    /// Failed for good, with the last attempt's exit code (128 + signal when killed).
    case failed(exitCode: Int, message: String)
  }
  public var job: JobSpec
  public var outcome: Outcome
  public var attempts: Int
}

/// Runs generic jobs on an executor. Jobs are independent and may run at the same time (as
/// many as the executor runs at once); a failed job is tried again up to `maxRetries` times.
public enum JobRunner {
  public static func run(
    _ jobs: [JobSpec], on executor: TaskExecutor, maxRetries: Int = 0, log: ((String) -> Void)? = nil
  ) throws(WinnowError) -> [JobResult] {
    var names = Set<String>()
    for j in jobs {
      if let p = j.problem { throw .usage(p) }
      guard names.insert(j.name).inserted else { throw .usage("two jobs are named '\(j.name)'") }
    }
    var results: [String: JobResult] = [:]
    var pending: [JobSpec] = []
    for j in jobs {
      if j.isDone {
        results[j.name] = JobResult(job: j, outcome: .alreadyDone, attempts: 0)
      } else {
        pending.append(j)
      }
    }
    try executor.runJobs(pending, maxRetries: maxRetries) { event in
      switch event {
      case .finished(let j, let attempt, let code, let message):
        let ok = code == 0 && (j.expectedPath.map { FileManager.default.fileExists(atPath: $0) } ?? true)
        if ok {
          results[j.name] = JobResult(job: j, outcome: .succeeded, attempts: attempt)
          return true
        }
        let why =
          code == 0 ? "exited 0 without writing its expected output \(j.expectedPath ?? "")" : message
        let retry = attempt <= maxRetries
        log?("job \(j.name) attempt \(attempt) failed: \(why)\(retry ? "; trying again" : "")")
        if !retry { results[j.name] = JobResult(job: j, outcome: .failed(exitCode: code == 0 ? 1 : code, message: why), attempts: attempt) }
        return !retry
      }
    }
    return jobs.map { results[$0.name] ?? JobResult(job: $0, outcome: .failed(exitCode: 1, message: "never ran"), attempts: 0) }
  }
}

/// What an executor reports about a job attempt. The handler returns whether the job is
/// settled (true) or must be tried again (false).
public enum JobEvent {
  case finished(JobSpec, attempt: Int, exitCode: Int, message: String)
}

/// Starting a job's process: shared by the inline and local executors.
enum JobProcess {
  /// Starts `job`'s program in its working directory, output appended to its log.
  static func spawn(_ job: JobSpec, attempt: Int, extraEnvironment: [String: String] = [:]) throws(WinnowError) -> pid_t {
    let log = job.logPath
    let parent = (log as NSString).deletingLastPathComponent
    if !parent.isEmpty { try makeDirectories(parent) }
    if let h = FileHandle(forWritingAtPath: log) ?? {
      _ = FileManager.default.createFile(atPath: log, contents: nil)
      return FileHandle(forWritingAtPath: log)
    }() {
      h.seekToEndOfFile()
      h.write(Data("=== job \(job.name) attempt \(attempt) \(Date())\n".utf8))
      try? h.close()
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let chdirFailed = wn_spawn_file_actions_addchdir(&actions, job.workingDirectory)
    if chdirFailed != 0 { throw .io("job \(job.name): cannot run in \(job.workingDirectory): \(String(cString: strerror(chdirFailed)))") }
    var env = ProcessInfo.processInfo.environment
    for (k, v) in job.environment { env[k] = v }
    for (k, v) in extraEnvironment { env[k] = v }
    let argv = job.argv.map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let rc = posix_spawnp(&pid, job.argv[0], &actions, nil, argv, envp)
    if rc != 0 { throw .io("job \(job.name): cannot start \(job.argv[0]): \(String(cString: strerror(rc)))") }
    return pid
  }

  /// Exit code of a wait status: the code, or 128 + signal.
  static func exitCode(_ status: Int32) -> (code: Int, message: String) {
    if status & 0x7f == 0 {
      let code = Int((status >> 8) & 0xff)
      return (code, "exited with code \(code)")
    }
    return (128 + Int(status & 0x7f), "killed by signal \(status & 0x7f)")
  }

  /// Runs jobs as child processes, at most `slots` at once, each with its own GPUs from a pool
  /// of `gpus` devices (`CUDA_VISIBLE_DEVICES`); retries are decided by `events`.
  static func runLocally(
    _ jobs: [JobSpec], slots: Int, gpus: Int, events: (JobEvent) -> Bool
  ) throws(WinnowError) {
    for j in jobs where j.gpus > gpus {
      throw .usage("job '\(j.name)' needs \(j.gpus) GPU(s); this executor has \(gpus) (set WINNOW_GPUS or the executor's gpus)")
    }
    var queue = jobs.map { ($0, 1) }
    var running: [pid_t: (job: JobSpec, attempt: Int, devices: [Int])] = [:]
    var free = Array(0..<gpus)
    var exits = ChildExitWaiter()
    defer { exits.closeAll() }
    while !queue.isEmpty || !running.isEmpty {
      // Start what fits, in order; a job waiting for GPUs does not hold back those after it.
      var k = 0
      while k < queue.count && running.count < slots {
        let (j, attempt) = queue[k]
        guard j.gpus <= free.count else {
          k += 1
          continue
        }
        let devices = Array(free.prefix(j.gpus))
        free.removeFirst(j.gpus)
        var extra: [String: String] = [:]
        if gpus > 0 { extra["CUDA_VISIBLE_DEVICES"] = devices.map(String.init).joined(separator: ",") }
        let pid = try spawn(j, attempt: attempt, extraEnvironment: extra)
        running[pid] = (j, attempt, devices)
        exits.watch(pid)
        queue.remove(at: k)
      }
      // Only this call's own children are waited for (a library must not reap others').
      var status: Int32 = 0
      let pid = running.keys.lazy.map { waitpid($0, &status, WNOHANG) }.first { $0 != 0 } ?? 0
      if pid < 0 && errno != EINTR {
        throw .io("waiting for jobs failed: \(String(cString: strerror(errno)))")
      }
      guard pid > 0, let r = running.removeValue(forKey: pid) else {
        // Until a job exits (see ChildExitWaiter).
        exits.wait(for: running.keys, timeoutMilliseconds: 1000)
        continue
      }
      exits.forget(pid)
      free = (free + r.devices).sorted()
      let (code, message) = exitCode(status)
      if !events(.finished(r.job, attempt: r.attempt, exitCode: code, message: message)) {
        queue.append((r.job, r.attempt + 1))
      }
    }
  }
}

extension JobSpec {
  /// Jobs from a JSON Lines file, one object per line: `name`, `argv` (strings), and optionally
  /// `dir` (default: the file's directory), `env` (object of strings), `cpus`, `gpus`, `mem`,
  /// `time`, `expected_output`, `log`. Errors name the file and line.
  public static func read(jsonLines path: String) throws(WinnowError) -> [JobSpec] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .usage("\(path): cannot read the jobs file")
    }
    guard data.count <= 16 << 20 else { throw .usage("\(path): a jobs file over 16 MB is not a list of jobs") }
    let base = (path as NSString).deletingLastPathComponent
    let here = base.isEmpty ? FileManager.default.currentDirectoryPath : base
    var jobs: [JobSpec] = []
    let allowed: Set<String> = ["name", "argv", "dir", "env", "cpus", "gpus", "mem", "time", "expected_output", "log"]
    for (k, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
      let at = "\(path):\(k + 1)"
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
      guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
        throw .usage("\(at): not a JSON object")
      }
      if let extra = o.keys.first(where: { !allowed.contains($0) }) {
        throw .usage("\(at): unknown key '\(extra)'; allowed: \(allowed.sorted().joined(separator: ", "))")
      }
      guard let name = o["name"] as? String else { throw .usage("\(at): 'name' must be a string") }
      guard let argv = o["argv"] as? [String], !argv.isEmpty else { throw .usage("\(at): 'argv' must be a non-empty list of strings") }
      func int(_ key: String, _ d: Int) throws(WinnowError) -> Int {
        guard let v = o[key] else { return d }
        guard let n = v as? Int, !(v is Bool) else { throw .usage("\(at): '\(key)' must be an integer") }
        return n
      }
      func string(_ key: String) throws(WinnowError) -> String? {
        guard let v = o[key] else { return nil }
        guard let s = v as? String else { throw .usage("\(at): '\(key)' must be a string") }
        return s
      }
      var env: [String: String] = [:]
      if let e = o["env"] {
        guard let m = e as? [String: String] else { throw .usage("\(at): 'env' must be an object of strings") }
        env = m
      }
      let dir = try string("dir").map { $0.hasPrefix("/") ? $0 : here + "/" + $0 } ?? here
      jobs.append(
        JobSpec(
          name: name, argv: argv, workingDirectory: dir, environment: env, cpus: try int("cpus", 1), gpus: try int("gpus", 0),
          memory: try string("mem"), time: try string("time"), expectedOutput: try string("expected_output"),
          log: try string("log")))
    }
    return jobs
  }
}
