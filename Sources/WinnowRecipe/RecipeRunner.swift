import Foundation
import WinnowCore

/// Live counts of a run, for progress displays.
public struct RunProgress: Sendable {
  public var tasksTotal: Int
  public var tasksDone: Int
  public var tasksFailed: Int
  public var tasksRunning: Int
  public var documents: Int
  public var bytes: Int
  public var seconds: Double
}

/// `winnow run`: the coordinator. It plans the recipe, writes the plan to the run directory,
/// has an executor run the tasks that are not finished yet, keeps the run database, and
/// finally adds the task records up into `stats.json`. Running the same command again
/// resumes: finished tasks are skipped.
public enum RecipeRunner {
  public struct Options {
    /// Overrides the recipe's executor.
    public var executor: String?
    /// Overrides the recipe's worker count (local executor).
    public var workers: Int?
    /// Overrides the recipe's `input.strict`.
    public var strict: Bool?
    /// Start over: remove what an earlier run left in the output directory.
    public var fresh = false
    /// Slurm: submit and return without waiting.
    public var detach = false
    public var progress: ((RunProgress) -> Void)?
    /// Lines about tasks failing or being retried.
    public var log: ((String) -> Void)?
    /// The `winnow` binary workers run (default: `$WINNOW_BIN`, else this process's own
    /// executable). Library users and tests that are not the CLI set it.
    public var workerBinary: String?

    public init() {}
  }

  public struct Result {
    public var stats: RunStats
    public var outputDirectory: String
    public var statsPath: String
    public var tasksRun: Int
    public var tasksSkipped: Int
    public var executor: String
    /// Set when the run was detached: the Slurm jobs it submitted. Nothing else is final yet.
    public var submittedJobs: [String]?
  }

  public static func run(_ recipe: Recipe, options: Options = Options()) throws(WinnowError) -> Result {
    let started = Date()
    let plan = try Plan.make(recipe)
    let out = recipe.output
    guard OutputSpec(path: out.path).isDirectory else {
      throw .usage("\(recipe.source): 'output.path' must be a directory for the shards, got '\(out.path)'")
    }
    // Inside another program (a trainer, a test runner) this process is not `winnow`, and
    // starting it as a worker would run that program again.
    let own = LocalExecutor.currentExecutable()
    let binary =
      options.workerBinary ?? ProcessInfo.processInfo.environment["WINNOW_BIN"]
      ?? ((own as NSString).lastPathComponent == "winnow" ? own : "")
    var executor = try makeExecutor(
      options.executor ?? recipe.executor, workers: options.workers ?? recipe.workers, binary: binary, recipe: recipe)
    if options.detach && !(executor is SlurmExecutor) {
      throw .usage("--detach only applies to the slurm executor")
    }
    let runDir = RunDirectory(out.path)

    // A run directory belongs to one plan: resume it, or refuse, or (--fresh) start over.
    let existing = try? runDir.readPlan()
    if options.fresh {
      runDir.clear(sideOutputs: [out.rejects, out.quarantine].compactMap { $0 })
    } else if let existing, existing.fingerprint != plan.fingerprint {
      throw .usage(
        "\(runDir.path) holds a run of a different recipe or different inputs (\(existing.recipeSource)); pass --fresh to discard it and start over, or choose another output.path"
      )
    } else if existing == nil, hasShards(runDir.path) {
      throw .usage("\(runDir.path) already holds output shards that no winnow run plan describes; pass --fresh to replace them")
    }
    try runDir.ensureLayout()
    let planFile = PlanFile(
      recipeName: recipe.name, recipeSource: recipe.source, recipeText: recipe.text, fingerprint: plan.fingerprint,
      inputs: plan.inputs.map(\.path), passes: plan.passes.map(\.tasks), passKinds: plan.passes.map(\.kind),
      maxRetries: recipe.maxRetries,
      strict: options.strict ?? recipe.input.strict)
    try runDir.writePlan(planFile)

    let db = try RunDatabase(path: runDir.databasePath)
    let runID = try db.startRun(executor: executor.name, workers: executor.workers, fingerprint: plan.fingerprint)
    var submitted: [String] = []
    if var slurm = executor as? SlurmExecutor {
      slurm.detach = options.detach
      slurm.adopt = try db.slurmJobs()
      slurm.onSubmit = { job, pass, offset in
        submitted.append(job)
        try? db.addSlurmJob(job, pass: pass, offset: offset, run: runID)
      }
      executor = slurm
    }
    var total = RunStats()
    var ran = 0
    var skipped = 0
    var failures: [(TaskRef, String, Int)] = []
    for (p, pass) in plan.passes.enumerated() {
      let submittedBefore = submitted.count
      try db.addTasks(pass: p, tasks: pass.tasks, inputs: planFile.inputs)
      let all = pass.tasks.indices.map { TaskRef(pass: p, task: $0) }
      var records: [TaskRef: TaskRecord] = [:]
      for t in all {
        if let r = runDir.readRecord(pass: t.pass, task: t.task), r.fingerprint == plan.fingerprint {
          records[t] = r
          try db.taskDone(r)
        }
      }
      skipped += records.count
      let pending = all.filter { records[$0] == nil }
      var running: Set<TaskRef> = []
      var failed = 0
      var dbError: WinnowError?
      func note(_ body: () throws(WinnowError) -> Void) {
        do { try body() } catch { dbError = dbError ?? error }
      }
      let report = {
        guard let progress = options.progress else { return }
        var docs = records.values.reduce(0) { $0 + $1.stats.documentsRead }
        var bytes = records.values.reduce(0) { $0 + $1.stats.bytesRead }
        for t in running {
          // Workers leave "documents bytes" in their progress file about twice a second.
          if let s = try? String(contentsOfFile: runDir.progressPath(pass: t.pass, task: t.task), encoding: .utf8) {
            let f = s.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
            if f.count == 2 {
              docs += f[0]
              bytes += f[1]
            }
          }
        }
        progress(
          RunProgress(
            tasksTotal: all.count, tasksDone: records.count, tasksFailed: failed, tasksRunning: running.count,
            documents: docs, bytes: bytes, seconds: Date().timeIntervalSince(started)))
      }
      try executor.execute(
        pending, in: runDir, maxRetries: recipe.maxRetries,
        events: { event in
          switch event {
          case .started(let t, let attempt, let log):
            running.insert(t)
            note { () throws(WinnowError) in try db.taskStarted(pass: t.pass, task: t.task, attempt: attempt, run: runID, log: log) }
          case .finished(let t, let attempt, let record):
            running.remove(t)
            records[t] = record
            ran += 1
            note { () throws(WinnowError) in
              try db.attemptEnded(pass: t.pass, task: t.task, attempt: attempt, run: runID, exitCode: 0)
              try db.taskDone(record)
            }
          case .failed(let t, let attempt, let code, let message, let final):
            running.remove(t)
            note { () throws(WinnowError) in
              try db.attemptEnded(pass: t.pass, task: t.task, attempt: attempt, run: runID, exitCode: code)
            }
            if final {
              failed += 1
              failures.append((t, message, code))
              note { () throws(WinnowError) in try db.taskFailed(pass: t.pass, task: t.task, error: message) }
              options.log?("task \(t.name) failed: \(message)")
            } else {
              options.log?("task \(t.name) attempt \(attempt) failed (\(message)); trying again")
            }
          }
          report()
        }, tick: report)
      if let dbError { throw dbError }
      if options.detach, var slurm = executor as? SlurmExecutor {
        // The next pass starts when every array of this one has succeeded; a pass with
        // nothing to do leaves the chain as it was.
        let jobs = Array(submitted[submittedBefore...])
        if !jobs.isEmpty { slurm.dependsOn = jobs }
        executor = slurm
        continue
      }
      if !failures.isEmpty {
        try db.finishRun(runID, outcome: "failed")
        throw failureError(failures, plan: planFile, runDir: runDir, executor: executor)
      }
      // Only passes that write documents count them; map and reduce passes read the same
      // inputs for their own purposes.
      if pass.kind == .documents || pass.kind == .apply {
        for t in all { total.merge(records[t]!.stats) }
      }
    }
    if options.detach {
      try db.finishRun(runID, outcome: "detached")
      return Result(
        stats: RunStats(), outputDirectory: runDir.path, statsPath: runDir.statsPath, tasksRun: 0,
        tasksSkipped: skipped, executor: executor.name, submittedJobs: submitted)
    }
    for (key, path) in [("rejects", out.rejects), ("quarantine", out.quarantine)] {
      if let path { try SideOutput(key: key, path: path, runDir: runDir).join() }
    }
    total.seconds = Date().timeIntervalSince(started)
    try writeTextFile(
      runDir.statsPath,
      total.json(extra: [
        ("recipe", JSONString.quoted(recipe.name)), ("executor", JSONString.quoted(executor.name)),
        ("workers", String(executor.workers)), ("seed", String(recipe.seed)),
        ("tasks", String(plan.passes.reduce(0) { $0 + $1.tasks.count })),
        ("tasks_skipped_as_done", String(skipped)),
      ]))
    try db.finishRun(runID, outcome: "done")
    return Result(
      stats: total, outputDirectory: runDir.path, statsPath: runDir.statsPath, tasksRun: ran, tasksSkipped: skipped,
      executor: executor.name, submittedJobs: nil)
  }

  static func makeExecutor(_ name: String, workers: Int?, binary: String, recipe: Recipe) throws(WinnowError) -> TaskExecutor {
    switch name {
    case "inline": return InlineExecutor()
    case "local":
      guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw .usage(
          "the local executor starts 'winnow worker …' processes: set WINNOW_BIN (or RecipeRunner.Options.workerBinary) to the winnow binary")
      }
      return LocalExecutor(workers: workers ?? ProcessInfo.processInfo.activeProcessorCount, binary: binary)
    case "slurm":
      guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw .usage("the slurm executor submits 'winnow worker …' jobs: set WINNOW_BIN to the winnow binary")
      }
      return SlurmExecutor(options: recipe.slurm, binary: binary, jobName: "winnow-" + recipe.name)
    default:
      throw .usage("unknown executor '\(name)'; use one of \(Recipe.executors.joined(separator: ", "))")
    }
  }

  static func hasShards(_ dir: String) -> Bool {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).contains { $0.hasPrefix("part-") }
  }

  /// The error a failed run ends with: each failed task, its input files and the last lines
  /// of its log.
  static func failureError(_ failures: [(TaskRef, String, Int)], plan: PlanFile, runDir: RunDirectory, executor: TaskExecutor)
    -> WinnowError
  {
    var lines = ["\(failures.count) task(s) failed; finished tasks are kept: run the same command again to resume"]
    var exit = WinnowError.Kind.io
    for (t, message, code) in failures.sorted(by: { $0.0 < $1.0 }) {
      let files = plan.passes[t.pass][t.task].map { plan.inputs[$0] }
      let what = files.isEmpty ? "bucket \(t.task)" : files.joined(separator: ", ")
      lines.append("task \(t.name) (\(what)): \(message)")
      // Exit 3 is a bad line under --strict, in a worker as in the CLI.
      if code == 3 { exit = .badInput }
      let log = runDir.logPath(pass: t.pass, task: t.task)
      if let text = try? String(contentsOfFile: log, encoding: .utf8) {
        let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(8).joined(separator: "\n    ")
        lines.append("  last lines of \(log):\n    \(tail)")
      }
    }
    return WinnowError(exit, lines.joined(separator: "\n"))
  }
}
