import Foundation
import WinnowCore

/// Runs tasks on a Slurm cluster: one `sbatch --array` per pass (split where task numbers
/// pass the cluster's MaxArraySize), throttled with `%`, watched with `squeue`/`scontrol`
/// (no `sacct`: it needs slurmdbd). Failed, cancelled, timed-out and never-satisfiable tasks
/// are submitted again up to `max_retries` times, then reported with their logs. The run
/// directory must be on a file system the compute nodes share.
public struct SlurmExecutor: TaskExecutor {
  public var options: Recipe.Slurm
  public var binary: String
  public var jobName: String
  /// Submit and return without waiting (`winnow run --detach`).
  public var detach = false
  /// Jobs an earlier (detached or killed) coordinator submitted: `(job id, pass, task offset)`.
  public var adopt: [(job: String, pass: Int, offset: Int)] = []
  /// Jobs that must all succeed before the submitted ones start (`--dependency=afterok:…`):
  /// a detached run chains its passes this way.
  public var dependsOn: [String] = []
  /// Called with each submitted array job, its pass and task offset (kept in the run database).
  public var onSubmit: ((String, Int, Int) -> Void)?

  public init(options: Recipe.Slurm, binary: String, jobName: String) {
    self.options = options
    self.binary = binary
    self.jobName = jobName
  }

  public var name: String { "slurm" }
  public var workers: Int { options.maxParallel ?? 0 }
  public var canDetach: Bool { true }

  public mutating func begin(_ session: ExecutorSession) {
    detach = session.detach
    adopt = session.earlierJobs
    onSubmit = session.onSubmit
  }

  public mutating func passSubmitted(_ jobs: [String]) {
    // A pass with nothing to do leaves the chain as it was.
    if !jobs.isEmpty { dependsOn = jobs }
  }

  /// One `sbatch` per job (`--chdir`, `--cpus-per-task`, `--gres=gpu:N`, `--mem`, `--time`,
  /// the recipe's partition and account), watched with `squeue`/`scontrol` until it leaves
  /// the queue; its exit code comes from `scontrol` while Slurm still knows the job, else the
  /// expected output decides.
  public func runJobs(_ jobs: [JobSpec], maxRetries: Int, events: (JobEvent) -> Bool) throws(WinnowError) {
    var attempt: [String: Int] = [:]
    var watching: [String: JobSpec] = [:]
    var lastCode: [String: Int] = [:]
    var toSubmit = jobs
    while !toSubmit.isEmpty || !watching.isEmpty {
      for j in toSubmit {
        attempt[j.name, default: 0] += 1
        var args = [
          "--parsable", "--job-name=\(jobName)-\(j.name)", "--output=\(absolute(j.logPath))", "--open-mode=append",
          "--chdir=\(absolute(j.workingDirectory))", "--cpus-per-task=\(j.cpus)",
        ]
        if j.gpus > 0 { args.append("--gres=gpu:\(j.gpus)") }
        if let v = j.memory ?? options.mem { args.append("--mem=\(v)") }
        if let v = j.time ?? options.time { args.append("--time=\(v)") }
        if let v = options.partition { args.append("--partition=\(v)") }
        if let v = options.account { args.append("--account=\(v)") }
        args += options.extraArgs
        let exports = j.environment.keys.sorted().map { "export \($0)=\(Self.shellQuote(j.environment[$0]!)); " }.joined()
        args.append("--wrap=" + exports + "exec " + j.argv.map(Self.shellQuote).joined(separator: " "))
        let (code, stdout, stderr) = Self.command("sbatch", args)
        guard code == 0, let job = stdout.split(separator: ";").first.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }),
          !job.isEmpty
        else {
          throw .io("sbatch failed for job \(j.name) (exit \(code)): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        onSubmit?(job, -1, 0)
        watching[job] = j
      }
      toSubmit = []
      Thread.sleep(forTimeInterval: options.pollSeconds)
      let states = try queueStates(Array(watching.keys))
      for (job, j) in watching.sorted(by: { $0.key < $1.key }) {
        if let st = states[job], Self.activeStates.contains(st.state) {
          if let c = exitCode(job) { lastCode[job] = c }
          continue
        }
        // Gone from the queue, or finished: scontrol knows the exit code for a while.
        let code = exitCode(job) ?? lastCode[job] ?? (j.isDone ? 0 : 1)
        watching[job] = nil
        let state = states[job]?.state ?? "gone"
        let settled = events(
          .finished(j, attempt: attempt[j.name]!, exitCode: code, message: "Slurm job \(job) ended \(state) with exit code \(code)"))
        if !settled { toSubmit.append(j) }
      }
    }
  }

  static let activeStates: Set<String> = [
    "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "RESIZING", "REQUEUED", "SUSPENDED", "STAGE_OUT", "SIGNALING",
  ]

  public func execute(
    _ tasks: [TaskRef], in runDir: RunDirectory, maxRetries: Int, events: (TaskEvent) -> Void, tick: () -> Void
  ) throws(WinnowError) {
    guard !tasks.isEmpty else { return }
    let maxArray = try Self.maxArraySize()
    var attempt: [TaskRef: Int] = [:]
    // (job id, array index) → task, for every submitted task still being watched.
    var watching: [String: TaskRef] = [:]
    var missing: [String: Int] = [:]
    var toSubmit = tasks

    // Tasks a detached run submitted and that are still queued or running are watched, not
    // submitted again.
    let mine = adopt.filter { $0.pass == tasks[0].pass }
    if !mine.isEmpty {
      let states = try queueStates(mine.map(\.job))
      for (job, _, offset) in mine {
        for (key, st) in states where key.hasPrefix(job + "_") && Self.activeStates.contains(st.state) {
          guard let idx = Int(key.dropFirst(job.count + 1)) else { continue }
          let t = TaskRef(pass: tasks[0].pass, task: idx + offset)
          guard toSubmit.contains(t) else { continue }
          toSubmit.removeAll { $0 == t }
          watching[key] = t
          attempt[t] = 1
          events(.started(t, attempt: 1, log: runDir.logPath(pass: t.pass, task: t.task)))
        }
      }
    }

    while !toSubmit.isEmpty || !watching.isEmpty {
      if !toSubmit.isEmpty {
        for (job, offset, group) in try submit(toSubmit, runDir: runDir, maxArray: maxArray) {
          onSubmit?(job, group[0].pass, offset)
          for t in group {
            attempt[t, default: 0] += 1
            watching["\(job)_\(t.task - offset)"] = t
            events(.started(t, attempt: attempt[t]!, log: runDir.logPath(pass: t.pass, task: t.task)))
          }
        }
        toSubmit = []
        if detach { return }
      }
      Thread.sleep(forTimeInterval: options.pollSeconds)
      tick()
      let jobs = Set(watching.keys.map { String($0.split(separator: "_")[0]) })
      let states = try queueStates(Array(jobs))
      for (key, t) in watching.sorted(by: { $0.value < $1.value }) {
        let n = attempt[t] ?? 1
        if let record = runDir.readRecord(pass: t.pass, task: t.task) {
          // The record is the truth: the task finished, whatever the queue says.
          if states[key].map({ Self.activeStates.contains($0.state) }) ?? false { continue }
          watching[key] = nil
          events(.finished(t, attempt: n, record))
          continue
        }
        var failure: (code: Int, why: String)?
        if let st = states[key] {
          missing[key] = nil
          if st.state == "PENDING" && st.reason.contains("DependencyNeverSatisfied") {
            failure = (1, "Slurm job \(key) can never start (DependencyNeverSatisfied)")
          } else if Self.activeStates.contains(st.state) {
            continue
          } else if st.state == "COMPLETED" {
            failure = (1, "Slurm job \(key) completed without writing its task record")
          } else {
            let code = exitCode(key)
            failure = (code ?? 1, "Slurm job \(key) ended \(st.state)\(code.map { " with exit code \($0)" } ?? "") (\(st.reason))")
          }
        } else {
          // Finished jobs leave squeue after MinJobAge; a missing record then means failure.
          missing[key, default: 0] += 1
          if missing[key]! < 3 { continue }
          failure = (1, "Slurm job \(key) left the queue without writing its task record")
        }
        guard let failure else { continue }
        watching[key] = nil
        missing[key] = nil
        let retry = n <= maxRetries && failure.code != 2 && failure.code != 3
        events(.failed(t, attempt: n, exitCode: failure.code, message: failure.why, final: !retry))
        if retry { toSubmit.append(t) }
      }
    }
  }

  /// One `sbatch --array` per block of MaxArraySize task numbers.
  func submit(_ tasks: [TaskRef], runDir: RunDirectory, maxArray: Int) throws(WinnowError) -> [(String, Int, [TaskRef])] {
    var out: [(String, Int, [TaskRef])] = []
    let byOffset = Dictionary(grouping: tasks) { ($0.task / maxArray) * maxArray }
    for offset in byOffset.keys.sorted() {
      let group = byOffset[offset]!.sorted()
      let pass = group[0].pass
      var spec = Self.ranges(group.map { $0.task - offset })
      if let m = options.maxParallel { spec += "%\(m)" }
      let dir = absolute(runDir.path)
      var args = [
        "--parsable", "--job-name=\(jobName)-p\(pass)", "--array=\(spec)",
        "--output=\(dir)/.winnow/logs/slurm-%A_%a.out", "--cpus-per-task=\(options.cpusPerTask)",
      ]
      if !dependsOn.isEmpty { args.append("--dependency=afterok:" + dependsOn.joined(separator: ":")) }
      if let v = options.partition { args.append("--partition=\(v)") }
      if let v = options.account { args.append("--account=\(v)") }
      if let v = options.time { args.append("--time=\(v)") }
      if let v = options.mem { args.append("--mem=\(v)") }
      args += options.extraArgs
      let command = [absolute(binary), "worker", dir, "--pass", String(pass), "--task-offset", String(offset), "--log-to-task-log"]
      // WINNOW_WORKER marks the job as a worker for a program that embeds Winnow (see `Worker`).
      args.append("--wrap=export \(Worker.environmentFlag)=1; exec " + command.map(Self.shellQuote).joined(separator: " "))
      let (code, stdout, stderr) = Self.command("sbatch", args)
      guard code == 0, let job = stdout.split(separator: ";").first.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }),
        !job.isEmpty
      else {
        throw .io("sbatch failed (exit \(code)): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
      }
      out.append((job, offset, group))
    }
    return out
  }

  /// `0-3,5,7-9`: compact array index lists.
  static func ranges(_ xs: [Int]) -> String {
    var parts: [String] = []
    var i = 0
    while i < xs.count {
      var j = i
      while j + 1 < xs.count && xs[j + 1] == xs[j] + 1 { j += 1 }
      parts.append(i == j ? "\(xs[i])" : "\(xs[i])-\(xs[j])")
      i = j + 1
    }
    return parts.joined(separator: ",")
  }

  /// State and reason of every array task of `jobs`, keyed `JOB_INDEX`.
  func queueStates(_ jobs: [String]) throws(WinnowError) -> [String: (state: String, reason: String)] {
    guard !jobs.isEmpty else { return [:] }
    let (code, stdout, stderr) = Self.command("squeue", ["-h", "-r", "-t", "all", "-j", jobs.joined(separator: ","), "-o", "%i|%T|%r"])
    if code != 0 {
      // squeue fails when every listed job has left the queue: treat that as empty.
      if stderr.contains("Invalid job id") { return [:] }
      throw .io("squeue failed (exit \(code)): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    var out: [String: (state: String, reason: String)] = [:]
    for line in stdout.split(separator: "\n") {
      let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
      if f.count >= 3 { out[f[0]] = (f[1], f[2]) }
    }
    return out
  }

  func exitCode(_ key: String) -> Int? {
    let (code, stdout, _) = Self.command("scontrol", ["-o", "show", "job", key])
    guard code == 0, let r = stdout.range(of: " ExitCode=") else { return nil }
    return Int(stdout[r.upperBound...].prefix { $0.isNumber })
  }

  static func maxArraySize() throws(WinnowError) -> Int {
    let (code, stdout, stderr) = command("scontrol", ["show", "config"])
    guard code == 0 else {
      throw .io("cannot reach Slurm (scontrol show config, exit \(code)): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    for line in stdout.split(separator: "\n") where line.hasPrefix("MaxArraySize") {
      if let v = line.split(separator: "=").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
        // Array indices must be below MaxArraySize.
        return max(1, v)
      }
    }
    return 1001
  }

  func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
  }

  static func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

  /// Runs a Slurm client command; returns its exit code, stdout and stderr.
  static func command(_ name: String, _ args: [String]) -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [name] + args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    do { try p.run() } catch { return (127, "", "\(name): \(error)") }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
  }
}
