import Foundation
import WinnowCore
import WinnowFeed

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
  /// What the command line (or a program) overrides in a recipe, and how the run reports.
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
    /// The program workers run. Default: this program itself when it called
    /// `Worker.runIfRequested` (`Winnow.runWorkerIfRequested`) at start-up, else `$WINNOW_BIN`,
    /// else this process's own executable when it is `winnow`.
    public var workerBinary: String?
    /// The stages recipes may name. A program with stages of its own passes a registry that
    /// holds them; its workers must be the same program (see `Worker`), so that they know them too.
    public var registry: StageRegistry = StageCatalog.standard
    /// An executor of the program's own (any `TaskExecutor`), used instead of the one the
    /// recipe or `executor` names.
    public var executorInstance: TaskExecutor?

    public init() {}
  }

  /// What a finished run returns: its counts, where its output and stats are, and what ran.
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

  /// A note when workers would idle for want of tasks while a large uncompressed input could
  /// be read in parts (`mb_per_task`); nil otherwise.
  static func splitHint(_ plan: Plan, workers: Int) -> String? {
    let tasks = plan.passes.first?.tasks.count ?? 0
    guard workers > tasks, plan.recipe.mbPerTask == nil, let big = plan.inputs.first(where: { Plan.mayBeCut($0, over: 64 << 20) })
    else { return nil }
    return "\(tasks) task\(tasks == 1 ? "" : "s") for \(workers) workers: 'mb_per_task: 64' in the recipe would read \(big.path) (and other uncompressed JSON Lines files over 64 MiB) in parts, a task each"
  }

  public static func run(_ recipe: Recipe, options: Options = Options()) throws(WinnowError) -> Result {
    let started = Date()
    let plan = try Plan.make(recipe, registry: options.registry)
    let out = recipe.output
    if let export = out.export {
      // The export's tokenizer is checked before any task runs, as a stage's parameters are.
      _ = try TokenizerCache.load(path: export.tokenizer, pattern: export.pattern, stage: "output.format: \(export.format.rawValue)")
    }
    guard OutputSpec(path: out.path).isDirectory else {
      throw .usage("\(recipe.source): 'output.path' must be a directory for the shards, got '\(out.path)'")
    }
    // Inside another program (a trainer, a test runner) this process is not `winnow`, and
    // starting it as a worker would run that program again.
    let own = LocalExecutor.currentExecutable()
    let binary =
      options.workerBinary ?? (Worker.embedded ? own : nil) ?? ProcessInfo.processInfo.environment["WINNOW_BIN"]
      ?? ((own as NSString).lastPathComponent == "winnow" ? own : "")
    var executor: TaskExecutor
    if let own = options.executorInstance {
      executor = own
    } else {
      executor = try makeExecutor(
        options.executor ?? recipe.executor, workers: options.workers ?? recipe.workers, binary: binary, recipe: recipe,
        registry: options.registry)
    }
    if options.detach && !executor.canDetach {
      throw .usage("--detach only applies to an executor that submits to a batch system (slurm), not to \(executor.name)")
    }
    let runDir = RunDirectory(out.path)
    // Before anything is created or removed: no output may touch an input, and no two outputs
    // may share a path.
    try guardPaths(plan, runDir: runDir, registry: options.registry)
    let sideDirectories = runDir.shardDirectories(besides: out)
    if !FileManager.default.fileExists(atPath: runDir.stateDirectory) {
      // A directory no run has used: shards in it are someone else's. Refused before anything
      // is created in it.
      try refuseForeignShards(runDir, sideDirectories, plan: nil)
    }
    try runDir.ensureLayout()
    // One coordinator per run directory, for as long as this function runs.
    let lock = try runDir.lock()
    defer { withExtendedLifetime(lock) {} }

    // A run directory belongs to one plan: resume it, or refuse, or (--fresh) start over. Only
    // files the directory's own state lists are ever removed.
    var existing = try runDir.readPlan()
    if options.fresh {
      runDir.clear(previousPlan: existing)
      existing = nil
    } else if let existing, existing.fingerprint != plan.fingerprint {
      throw .usage(
        "\(runDir.path) holds a run of a different recipe or different inputs (\(existing.recipeSource)); pass --fresh to discard it and start over, or choose another output.path"
      )
    }
    // Shards an attempt of this plan's tasks left are this run's own; anything else is not.
    try refuseForeignShards(runDir, sideDirectories, plan: existing)
    runDir.removeTemporaryFiles(in: [runDir.path] + sideDirectories)
    try runDir.ensureLayout()
    let planFile = PlanFile(
      recipeName: recipe.name, recipeSource: recipe.source, recipeText: recipe.text, fingerprint: plan.fingerprint,
      inputs: plan.inputs.map(\.path),
      inputRowGroups: plan.inputs.contains { $0.rowGroups != nil }
        ? plan.inputs.map { $0.rowGroups.map { [$0.lowerBound, $0.upperBound] } } : nil,
      inputLines: plan.inputs.contains { $0.lines != nil }
        ? plan.inputs.map { $0.lines.map { [$0.start, $0.end, $0.firstLine, $0.fileBytes] } } : nil,
      passes: plan.passes.map(\.tasks), passKinds: plan.passes.map(\.kind),
      maxRetries: recipe.maxRetries,
      strict: options.strict ?? recipe.input.strict)
    try runDir.writePlan(planFile)
    let trusted = trustedRecords(planFile, runDir: runDir, log: options.log)

    if let hint = Self.splitHint(plan, workers: executor.workers) { options.log?(hint) }
    let db = try RunDatabase(path: runDir.databasePath)
    let runID = try db.startRun(executor: executor.name, workers: executor.workers, fingerprint: plan.fingerprint)
    var submitted: [String] = []
    executor.begin(
      ExecutorSession(
        detach: options.detach, earlierJobs: try db.slurmJobs(),
        onSubmit: { job, pass, offset in
          submitted.append(job)
          try? db.addSlurmJob(job, pass: pass, offset: offset, run: runID)
        }))
    var counted: [RunStats] = []
    var ran = 0
    var skipped = 0
    var failures: [(TaskRef, String, Int)] = []
    var inputWeights: [Int] = []
    for (p, pass) in plan.passes.enumerated() {
      let submittedBefore = submitted.count
      try db.addTasks(pass: p, tasks: pass.tasks, inputs: planFile.inputNames)
      let all = pass.tasks.indices.map { TaskRef(pass: p, task: $0) }
      var records: [TaskRef: TaskRecord] = [:]
      for t in all {
        if let r = trusted[t] {
          records[t] = r
          try db.taskDone(r)
        }
      }
      skipped += records.count
      var pending = all.filter { records[$0] == nil }
      if executor.runsLargestFirst { pending = Plan.largestFirst(pending, of: pass, weights: &inputWeights, inputs: plan.inputs) }
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
      if options.detach {
        // The next pass starts when every job of this one has succeeded.
        executor.passSubmitted(Array(submitted[submittedBefore...]))
        continue
      }
      if !failures.isEmpty {
        try db.finishRun(runID, outcome: "failed")
        throw failureError(failures, plan: planFile, runDir: runDir, executor: executor)
      }
      // Only passes that write documents count them; observing and middle passes read the
      // same documents for a global stage's own purposes.
      if case .documents(let w) = pass.work, w.counted {
        var merged = RunStats()
        for t in all { merged.merge(records[t]!.stats) }
        counted.append(merged)
      }
    }
    if options.detach {
      try db.finishRun(runID, outcome: "detached")
      return Result(
        stats: RunStats(), outputDirectory: runDir.path, statsPath: runDir.statsPath, tasksRun: 0,
        tasksSkipped: skipped, executor: executor.name, submittedJobs: submitted)
    }
    var total = RunStats.chain(counted)
    for (key, path) in [("rejects", out.rejects), ("quarantine", out.quarantine)] {
      guard let path else { continue }
      let side = SideOutput(key: key, path: path, runDir: runDir)
      guard side.isFile else { continue }
      // The document-writing tasks' files, in task order: among them the side shards to join.
      let inputs = MergeSteps.Inputs(key: key, target: path, parts: side.parts(of: total.writtenFiles))
      try runMergeStep(inputs, runDir: runDir, executor: executor, binary: binary, maxRetries: recipe.maxRetries, log: options.log)
    }
    if let export = out.export, export.mergeTasks {
      // One dataset per directory of parts (one, or one per route), parts in task order.
      let base = TaskRunner.exportPartsDirectory(out, runDir: runDir) + "/"
      var groups: [String: [WrittenFile]] = [:]
      for f in total.writtenFiles where f.path.hasPrefix(base) {
        let rel = String(f.path.dropFirst(base.count))
        let dir = rel.split(separator: "/").dropLast().joined(separator: "/")
        groups[dir, default: []].append(f)
      }
      // A run that kept nothing still gets its (empty) dataset.
      if groups.isEmpty && out.routeBy == nil { groups[""] = [] }
      for (k, dir) in groups.keys.sorted().enumerated() {
        let target = out.path + (dir.isEmpty ? "" : "/" + dir) + "/" + export.name
        let inputs = MergeSteps.Inputs(
          key: k == 0 ? "export" : "export_\(k)", target: target, parts: groups[dir]!, kind: export.format.rawValue)
        try runMergeStep(inputs, runDir: runDir, executor: executor, binary: binary, maxRetries: recipe.maxRetries, log: options.log)
      }
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
    // Every record read must be accounted for; if not, a document went missing somewhere and
    // the run is not a success, whatever else it wrote.
    if let lost = RunStats.chainBreak(counted) {
      try db.finishRun(runID, outcome: "failed")
      throw .io("the run's counts do not balance: \(lost) (see \(runDir.statsPath)); the output cannot be trusted")
    }
    guard total.isBalanced else {
      try db.finishRun(runID, outcome: "failed")
      throw .io(
        "the run's counts do not balance: \(total.balanceEquation()) (see \(runDir.statsPath)); the output cannot be trusted"
      )
    }
    try db.finishRun(runID, outcome: "done")
    return Result(
      stats: total, outputDirectory: runDir.path, statsPath: runDir.statsPath, tasksRun: ran, tasksSkipped: skipped,
      executor: executor.name, submittedJobs: nil)
  }

  /// Runs one merge step (`MergeSteps`) unless it already ran on exactly these parts: as a job
  /// through the executor (`PROGRAM worker RUN_DIR --merge KEY`), or in this process for the
  /// inline executor and when no worker program is known.
  static func runMergeStep(
    _ inputs: MergeSteps.Inputs, runDir: RunDirectory, executor: TaskExecutor, binary: String, maxRetries: Int,
    log: ((String) -> Void)?
  ) throws(WinnowError) {
    if try MergeSteps.prepare(inputs, in: runDir) { return }
    if executor.name == "inline" || binary.isEmpty {
      try MergeSteps.run(runDir, key: inputs.key)
    } else {
      // Relative paths in the parts list and the run directory mean the same to the job: it
      // runs where this process does.
      let job = JobSpec(
        name: "merge-" + inputs.key, argv: [binary, "worker", runDir.path, "--merge", inputs.key],
        workingDirectory: FileManager.default.currentDirectoryPath, environment: [Worker.environmentFlag: "1"],
        expectedOutput: MergeSteps.donePath(runDir, key: inputs.key), log: MergeSteps.logPath(runDir, key: inputs.key))
      let results = try JobRunner.run([job], on: executor, maxRetries: maxRetries, log: log)
      if case .failed(_, let message) = results.first?.outcome {
        throw .io("the merge step of \(inputs.key) (\(inputs.target)) failed: \(message) (log: \(job.logPath)); run the same command again")
      }
    }
    guard MergeSteps.isDone(inputs, in: runDir) else {
      throw .io("the merge step of \(inputs.key) (\(inputs.target)) ended without finishing; run the same command again")
    }
  }

  static func makeExecutor(
    _ name: String, workers: Int?, binary: String, recipe: Recipe, registry: StageRegistry = StageCatalog.standard
  ) throws(WinnowError) -> TaskExecutor {
    switch name {
    case "inline": return InlineExecutor(registry: registry)
    case "local":
      guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw .usage(
          "the local executor starts 'winnow worker …' processes: set WINNOW_BIN (or RecipeRunner.Options.workerBinary) to the winnow binary, or call Winnow.runWorkerIfRequested(registry:) at the top of main so that this program is its own worker")
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

  /// Refuses to write beside shards that neither a task record nor `plan` accounts for.
  static func refuseForeignShards(_ runDir: RunDirectory, _ sideDirectories: [String], plan: PlanFile?) throws(WinnowError) {
    let foreign = runDir.foreignShards(in: [runDir.path] + sideDirectories, plan: plan)
    guard let first = foreign.first else { return }
    let more = foreign.count > 1 ? " and \(foreign.count - 1) more" : ""
    throw .usage(
      "\(first)\(more): output shards that no run in \(runDir.path) wrote (no task record or plan of its own lists them); Winnow never deletes files it did not write, even with --fresh: move them away or choose another output.path"
    )
  }

  /// Refuses a run whose outputs (shards, rejects, quarantine, the run directory itself, files
  /// a stage writes) are, contain or lie inside its inputs (input files and directories, files
  /// a stage reads), or share a path.
  static func guardPaths(
    _ plan: Plan, runDir: RunDirectory, registry: StageRegistry = StageCatalog.standard
  ) throws(WinnowError) {
    let out = plan.recipe.output
    var g = OutputGuard()
    g.addInputs(plan.inputs, named: plan.recipe.input.paths, role: "input")
    g.addOutput(runDir.path, role: "output.path", isDirectory: true)
    if let r = out.rejects { g.addOutput(r, role: "output.rejects", isDirectory: OutputSpec(path: r).isDirectory) }
    if let q = out.quarantine { g.addOutput(q, role: "output.quarantine", isDirectory: OutputSpec(path: q).isDirectory) }
    for step in plan.recipe.stages {
      if let d = registry.descriptor(named: step.stage) { g.addStageFiles(d, step.parameters) }
    }
    try g.check()
  }

  /// The finished tasks whose records can be trusted now. A record is trusted when every file
  /// it lists still holds what was written (size and checksum) and every input it read still
  /// has the size and modification time it had; otherwise it is removed and the task runs
  /// again — and, for a global stage, every task of the later passes too, since they were
  /// computed from it. When every task of the last pass is intact the run is complete and the
  /// earlier passes' intermediate files are not needed (they may have been cleaned up).
  static func trustedRecords(_ planFile: PlanFile, runDir: RunDirectory, log: ((String) -> Void)?) -> [TaskRef: TaskRecord] {
    var records: [[TaskRecord?]] = planFile.passes.indices.map { p in
      planFile.passes[p].indices.map { t in
        runDir.readRecord(pass: p, task: t).flatMap { $0.fingerprint == planFile.fingerprint ? $0 : nil }
      }
    }
    func problem(_ r: TaskRecord) -> String? {
      for f in r.stats.writtenFiles {
        if let why = f.mismatch() { return "its file \(f.path) \(why)" }
      }
      for stamp in r.stats.inputStamps {
        if let why = stamp.change(to: FileStamp.current(stamp.path)) { return "its input \(stamp.path) \(why)" }
      }
      return nil
    }
    var result: [TaskRef: TaskRecord] = [:]
    func distrust(_ p: Int, _ t: Int, _ why: String) {
      log?("task \(RunDirectory.taskName(pass: p, task: t)) is redone: \(why)")
      runDir.removeRecord(pass: p, task: t)
      records[p][t] = nil
    }
    if let last = records.last, last.allSatisfy({ $0 != nil }) {
      var intact = true
      for (t, r) in last.enumerated() {
        if let why = problem(r!) {
          distrust(records.count - 1, t, why)
          intact = false
        }
      }
      if intact {
        for (p, pass) in records.enumerated() {
          for (t, r) in pass.enumerated() { if let r { result[TaskRef(pass: p, task: t)] = r } }
        }
        return result
      }
    }
    var redoFrom: Int?
    for p in records.indices {
      for t in records[p].indices {
        guard let r = records[p][t] else {
          if redoFrom == nil { redoFrom = p }
          continue
        }
        if let from = redoFrom, p > from {
          distrust(p, t, "a task of pass \(from) it depends on is redone")
        } else if let why = problem(r) {
          distrust(p, t, why)
          if redoFrom == nil { redoFrom = p }
        } else {
          result[TaskRef(pass: p, task: t)] = r
        }
      }
    }
    return result
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
