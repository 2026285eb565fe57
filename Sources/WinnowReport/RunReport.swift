import Foundation
import WinnowCore
import WinnowRecipe

/// What `winnow report` knows about a run directory, finished or not: the plan, the task
/// records (the truth about finished work), the run database (invocations, task states,
/// attempts) and a sample of the output documents. `html()` renders it; `statsJSON()` is the
/// run's `stats.json` recomputed from the task records.
public struct RunReport {
  /// One invocation of `winnow run` on this directory (a resume is another one).
  public struct Invocation: Sendable {
    public var id: Int
    public var started: Double
    public var finished: Double?
    public var executor: String
    public var workers: Int
    public var outcome: String?
  }

  /// One attempt of a task, from the run database: when it started and ended, how it exited.
  public struct Attempt: Sendable {
    public var attempt: Int
    public var run: Int
    public var started: Double?
    public var finished: Double?
    public var exitCode: Int?

    public var duration: Double? {
      guard let s = started, let f = finished else { return nil }
      return f - s
    }
  }

  /// Where a task stands.
  public enum TaskState: String, Sendable {
    case done
    case failed
    case running = "running or interrupted"
    case pending
  }

  /// One task of the plan: its pass, its record (when finished) and its attempts.
  public struct TaskInfo: Sendable {
    public var pass: Int
    public var task: Int
    /// What the task's pass does (`documents`, or a global stage's `map`, `reduce`, `apply`).
    public var kind: String
    /// Whether its record counts towards the run's totals (documents and apply passes).
    public var counted: Bool
    public var name: String
    public var inputs: [String]
    public var state: TaskState
    /// The task's own record, when it finished.
    public var record: TaskRecord?
    public var attempts: [Attempt]
    public var error: String?

    /// Wall time of the attempt that finished the task (run database), else the task's own
    /// time (its record); for an unfinished task, its last attempt that ended.
    public var seconds: Double? {
      if let record {
        return attempts.last(where: { $0.exitCode == 0 })?.duration ?? record.stats.seconds
      }
      return attempts.last(where: { $0.duration != nil })?.duration
    }
  }

  public var runDirectory: RunDirectory
  package var plan: PlanFile
  /// The recipe, parsed again from the plan's copy of its text (nil if that fails).
  public var recipe: Recipe?
  public var invocations: [Invocation]
  public var tasks: [TaskInfo]
  /// Counts over the finished tasks of the passes that write documents, added up in task order
  /// as `winnow run` does (map and reduce passes read the same inputs for their own purposes).
  public var stats: RunStats
  public var sample: OutputSample
  /// What the report knows of stages (their roles): the run's registry, when the run used a
  /// program's own stages.
  public var registry: StageRegistry = StageCatalog.standard
  /// Whether the run directory has a run database (it may not, if copied without it).
  public var hasDatabase: Bool
  /// `stats.json` as it was before the report rewrote it.
  var previousStats: [String: Any]?
  public var generated: Date

  public var tasksDone: Int { tasks.filter { $0.state == .done }.count }
  /// Finished tasks whose counts are in `stats`.
  public var countedTasksDone: Int { tasks.filter { $0.counted && $0.state == .done }.count }
  public var countedTasks: Int { tasks.filter(\.counted).count }
  public var tasksFailed: Int { tasks.filter { $0.state == .failed }.count }
  public var isComplete: Bool { !tasks.isEmpty && tasks.allSatisfy { $0.state == .done } }

  /// Reads a run directory. Not a run directory (no plan) is a usage error.
  public static func load(_ runDir: RunDirectory, sampleLimit: Int = OutputSample.defaultLimit) throws(WinnowError)
    -> RunReport
  {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: runDir.path, isDirectory: &isDir), isDir.boolValue else {
      throw .usage("\(runDir.path): no such directory; give the output directory of a run (the recipe's output.path)")
    }
    guard let plan = try runDir.readPlan() else {
      throw .usage(
        "\(runDir.path): not a winnow run directory (no \(runDir.planPath)); give the output directory of a recipe run with 'winnow run' (the recipe's output.path)"
      )
    }
    guard sampleLimit >= 0 else { throw .usage("the sample limit must not be negative") }
    let recipe = try? RecipeParser.parse(plan.recipeText, source: plan.recipeSource)

    let hasDatabase = FileManager.default.fileExists(atPath: runDir.databasePath)
    var invocations: [Invocation] = []
    var dbTasks: [TaskRef: (inputs: [String], state: String, error: String?)] = [:]
    var attempts: [TaskRef: [Attempt]] = [:]
    if hasDatabase {
      let db: SQLiteDatabase
      do { db = try SQLiteDatabase(path: runDir.databasePath) } catch { throw .io(error.message) }
      // Each query on its own: a database from an older version may lack a table.
      if let rows = try? db.rows("SELECT id, started, finished, executor, workers, outcome FROM runs ORDER BY id") {
        invocations = rows.map {
          Invocation(
            id: $0[0].int ?? 0, started: $0[1].double ?? 0, finished: $0[2].double, executor: $0[3].text ?? "?",
            workers: $0[4].int ?? 1, outcome: $0[5].text)
        }
      }
      if let rows = try? db.rows("SELECT pass, task, inputs, state, error FROM tasks") {
        for r in rows {
          let inputs = (r[2].text ?? "").split(separator: "\n").map(String.init)
          dbTasks[TaskRef(pass: r[0].int ?? 0, task: r[1].int ?? 0)] = (inputs, r[3].text ?? "pending", r[4].text)
        }
      }
      if let rows = try? db.rows(
        "SELECT pass, task, attempt, run, started, finished, exit_code FROM attempts ORDER BY pass, task, run, attempt")
      {
        for r in rows {
          attempts[TaskRef(pass: r[0].int ?? 0, task: r[1].int ?? 0), default: []].append(
            Attempt(
              attempt: r[2].int ?? 0, run: r[3].int ?? 0, started: r[4].double, finished: r[5].double,
              exitCode: r[6].int))
        }
      }
    }

    var tasks: [TaskInfo] = []
    var countedPasses: [RunStats] = []
    let inputNames = plan.inputNames
    for (p, pass) in plan.passes.enumerated() {
      let kind = p < plan.passKinds.count ? plan.passKinds[p] : .documents
      let counted = kind == .documents || kind == .apply
      if counted { countedPasses.append(RunStats()) }
      for (t, files) in pass.enumerated() {
        let ref = TaskRef(pass: p, task: t)
        let record = runDir.readRecord(pass: p, task: t).flatMap { $0.fingerprint == plan.fingerprint ? $0 : nil }
        let db = dbTasks[ref]
        let state: TaskState
        if record != nil {
          state = .done
        } else {
          switch db?.state {
          case "failed": state = .failed
          case "running": state = .running
          default: state = .pending
          }
        }
        if let record, counted { countedPasses[countedPasses.count - 1].merge(record.stats) }
        tasks.append(
          TaskInfo(
            pass: p, task: t, kind: kind.rawValue, counted: counted, name: ref.name,
            inputs: files.map { $0 < inputNames.count ? inputNames[$0] : "?" },
            state: state, record: record, attempts: attempts[ref] ?? [], error: state == .failed ? db?.error : nil))
      }
    }

    let stats = RunStats.chain(countedPasses)
    let shards = outputShards(runDir)
    let fields = recipe?.input.fields ?? DocumentFields()
    let sample = try OutputSample.collect(shards: shards, fields: fields, limit: sampleLimit)

    var previous: [String: Any]?
    if let data = FileManager.default.contents(atPath: runDir.statsPath) {
      previous = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
    var report = RunReport(
      runDirectory: runDir, plan: plan, recipe: recipe, invocations: invocations, tasks: tasks, stats: stats,
      sample: sample, hasDatabase: hasDatabase, previousStats: previous, generated: Date())
    report.stats.seconds = report.wallSeconds
    return report
  }

  /// The output shards (`part-*`) in the run directory, in name order (the task order).
  static func outputShards(_ runDir: RunDirectory) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: runDir.path)) ?? []
    return names.filter { $0.hasPrefix("part-") && isDocumentFile($0) }.sorted().map { runDir.path + "/" + $0 }
  }

  static func isDocumentFile(_ name: String) -> Bool {
    InputSet.documentSuffixes.contains { name.hasSuffix($0) }
  }

  /// The stage names of the recipe, for a run that has no finished task yet.
  var stageNames: [String] {
    if !stats.stages.isEmpty { return stats.stages.map(\.name) }
    return recipe?.stages.map(\.stage) ?? []
  }

  /// Seconds the run took: what the last complete `winnow run` wrote, else the first start to
  /// the last end in the run database, else the tasks' own times added up.
  var wallSeconds: Double {
    if isComplete, let s = previousStats?["seconds"] as? Double { return s }
    if let first = invocations.first, let last = invocations.last {
      return max(0, lastActivity(last) - first.started)
    }
    return tasks.compactMap { $0.record?.stats.seconds }.reduce(0, +)
  }

  /// When an invocation ended; for one that did not record its end (still running, or
  /// killed), the last start or end of an attempt it made.
  func lastActivity(_ run: Invocation) -> Double {
    if let f = run.finished { return f }
    let times = tasks.flatMap {
      $0.attempts.filter { $0.run == run.id }.flatMap { [$0.started, $0.finished].compactMap { $0 } }
    }
    return times.max() ?? run.started
  }

  /// The executor and workers of the latest invocation (what `winnow run` writes).
  var lastExecutor: (name: String, workers: Int) {
    if let last = invocations.last { return (last.executor, last.workers) }
    if let e = previousStats?["executor"] as? String { return (e, previousStats?["workers"] as? Int ?? 1) }
    return (recipe?.executor ?? "?", recipe?.workers ?? 1)
  }

  /// `stats.json` as `winnow run` writes it, from the task records. A run that is not
  /// complete also gets `tasks_done`, so that nobody mistakes it for the final count.
  public func statsJSON() -> String {
    let exec = lastExecutor
    var extra: [(String, String)] = [
      ("recipe", JSONString.quoted(plan.recipeName)), ("executor", JSONString.quoted(exec.name)),
      ("workers", String(exec.workers)),
      ("seed", String(recipe?.seed ?? (previousStats?["seed"] as? Int).map(UInt64.init) ?? 0)),
      ("tasks", String(tasks.count)),
    ]
    if !isComplete { extra.append(("tasks_done", String(tasksDone))) }
    extra.append(("tasks_skipped_as_done", String(previousStats?["tasks_skipped_as_done"] as? Int ?? 0)))
    return stats.json(extra: extra)
  }

  /// The report may not replace the run's inputs or any file the run wrote (a shard, a joined
  /// side file), nor land among the shards, where whoever reads the directory would take it
  /// for one.
  static func guardReportPath(_ path: String, _ runDir: RunDirectory) throws(WinnowError) {
    var g = OutputGuard()
    if let plan = try runDir.readPlan() {
      for input in plan.inputs { g.inputs.append(OutputGuard.Input(role: "the run's input", path: input, isDirectory: false)) }
      if let recipe = try? RecipeParser.parse(plan.recipeText, source: plan.recipeSource) {
        for side in [recipe.output.rejects, recipe.output.quarantine].compactMap({ $0 }) where !OutputSpec(path: side).isDirectory {
          g.inputs.append(OutputGuard.Input(role: "the run's side file", path: side, isDirectory: false))
        }
      }
    }
    g.addOutput(runDir.path, role: "the run directory", isDirectory: true)
    g.addOutput(path, role: "--output", isDirectory: false)
    try g.check()
    let target = CanonicalPath.of(path)
    for record in runDir.allRecords() where record.stats.writtenFiles.contains(where: { CanonicalPath.of($0.path) == target }) {
      throw .usage(
        "--output \(path) is a file of the run (written by task \(RunDirectory.taskName(pass: record.pass, task: record.task))); choose another path for the report")
    }
  }

  /// Where `write` put things.
  public struct Written {
    public var report: RunReport
    public var htmlPath: String
    public var statsPath: String?
  }

  /// Reads the run directory, writes the HTML report (default `DIR/report.html`) and, unless
  /// told not to, rewrites `DIR/stats.json` from the task records.
  public static func write(
    _ runDir: RunDirectory, to output: String? = nil, sampleLimit: Int = OutputSample.defaultLimit,
    refreshStats: Bool = true
  ) throws(WinnowError) -> Written {
    let report = try load(runDir, sampleLimit: sampleLimit)
    let htmlPath = output ?? runDir.path + "/report.html"
    try guardReportPath(htmlPath, runDir)
    try writeTextFile(htmlPath, report.html())
    var statsPath: String?
    if refreshStats {
      try writeTextFile(runDir.statsPath, report.statsJSON())
      statsPath = runDir.statsPath
    }
    return Written(report: report, htmlPath: htmlPath, statsPath: statsPath)
  }
}
