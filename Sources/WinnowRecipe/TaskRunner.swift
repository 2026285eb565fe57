import Foundation
import WinnowCore
import WinnowFeed

/// Runs one task of a run directory's plan: the work of `winnow worker`, and of the inline
/// executor in-process. Every executor goes through here, which is why they all write the same
/// bytes.
package enum TaskRunner {
  /// Runs the task unless its record shows it already finished; returns the record. `registry`
  /// must know every stage the recipe names: a program with stages of its own passes its
  /// registry here (and to `RecipeRunner.Options.registry`), so its workers plan the same run.
  package static func run(
    _ runDir: RunDirectory, pass: Int, task: Int, registry: StageRegistry = StageCatalog.standard
  ) throws(WinnowError) -> TaskRecord {
    guard let planFile = try runDir.readPlan() else {
      throw .usage("\(runDir.path): no plan found (\(runDir.planPath)); start the run with 'winnow run RECIPE'")
    }
    if let done = runDir.readRecord(pass: pass, task: task), done.fingerprint == planFile.fingerprint { return done }
    guard pass < planFile.passes.count, task < planFile.passes[pass].count else {
      throw .usage("\(runDir.path): the plan has no task \(task) in pass \(pass)")
    }
    let recipe = try RecipeParser.parse(planFile.recipeText, source: planFile.recipeSource)
    let inputs = planFile.inputFiles
    let plan = try Plan.make(recipe, inputs: inputs, registry: registry)
    let mine = planFile.passes[pass][task].map { inputs[$0] }

    // Shards are named after their task. Only the last pass writes output shards and only the
    // first pass that counts the inputs writes quarantine shards; rejects shards of a pass
    // before the last are also named after their pass (several passes may drop documents of
    // the same task).
    let isLast = pass == planFile.passes.count - 1
    let prefix = "part-" + pad5(task) + "-"
    let rejectsPrefix = "part-" + (isLast ? "" : "p\(pass)-") + pad5(task) + "-"
    let out = recipe.output
    let sides = [("rejects", out.rejects), ("quarantine", out.quarantine)].compactMap { k, p in
      p.map { SideOutput(key: k, path: $0, runDir: runDir) }
    }
    removeDeadAttempts(prefix: prefix, in: [out.path] + sides.map(\.taskDirectory))
    removeDeadAttempts(prefix: rejectsPrefix, in: sides.map(\.taskDirectory))
    func spec(_ path: String, compression: Compression, prefix: String = prefix) -> OutputSpec {
      var s = OutputSpec(
        path: path, compression: compression, compressionLevel: out.compressionLevel,
        maxShardBytes: out.maxShardBytes, maxShardDocs: out.maxShardDocs)
      // The coordinator owns the directory; files with this task's prefix are earlier attempts.
      s.ownsPrefix = true
      s.shardPrefix = prefix
      return s
    }
    var options = PipelineOptions()
    options.fields = recipe.input.fields
    options.strict = planFile.strict
    options.maxDocumentBytes = recipe.input.maxDocumentBytes
    options.parquetColumns = recipe.input.columns
    // Every pass that reads inputs checksums them: the record says exactly what was read.
    options.stampInputs = true
    for side in sides {
      let c = side.compression(default: out.compression)
      if side.key == "rejects" {
        options.rejects = spec(side.taskDirectory, compression: c, prefix: rejectsPrefix)
      } else {
        options.quarantine = spec(side.taskDirectory, compression: c)
      }
    }
    let progressPath = runDir.progressPath(pass: pass, task: task)
    options.progress = { p in
      // The coordinator sums these to show live rates; losing one is harmless.
      try? writeTextFile(progressPath, "\(p.documents) \(p.uncompressedBytes)\n")
    }
    guard plan.passes.count == planFile.passes.count else {
      throw .usage("\(runDir.planPath): the plan has \(planFile.passes.count) passes, but its recipe makes \(plan.passes.count); pass --fresh to start over")
    }
    var stats: RunStats
    switch plan.passes[pass].work {
    case .middle(let sp):
      let g = plan.globals[sp.global]
      let phase = try phaseTask(runDir, planFile, plan: plan, sp, task: task)
      stats = try g.stage.runMiddle(phase)
      stats.writtenFiles += phase.written.files
    case .documents(let work):
      var phases: [PhaseTask] = []
      var stages: [NamedStage] = []
      if let sp = work.apply {
        let phase = try phaseTask(runDir, planFile, plan: plan, sp, task: task)
        phases.append(phase)
        stages.append(NamedStage(name: plan.globals[sp.global].name, stage: try plan.globals[sp.global].stage.applyStage(phase)))
      }
      stages += plan.stages[work.stages]
      if let sp = work.observe {
        let phase = try phaseTask(runDir, planFile, plan: plan, sp, task: task)
        try phase.prepareDirectory()
        phases.append(phase)
        options.observer = try plan.globals[sp.global].stage.observer(phase)
      }
      // Rejects are written by the passes whose counts are the run's; bad lines by the first
      // of them, the one that counts the inputs (a stream holds no bad lines).
      if !work.counted { options.rejects = nil }
      if !work.counted || work.source != .inputs { options.quarantine = nil }
      let origins = mine.map(\.displayName)
      var reading = mine
      switch work.source {
      case .inputs:
        // A later pass over the inputs must read byte for byte what the first one read (the
        // marks of a global stage drop documents by position). Checked before any output is
        // committed.
        if let first = plan.firstInputPass, first < pass {
          let firstRecord = runDir.readRecord(pass: first, task: task)
          options.verifyInputs = { (stamps: [FileStamp]) throws(WinnowError) in
            try requireSameInputs(stamps, as: firstRecord, pass: first, runDir: runDir, task: task)
          }
        }
      case .stream(let g, let p):
        let files = try streamFiles(runDir, planFile, plan: plan, global: g, pass: p, task: task)
        reading = files.map { InputFile(path: $0.path) }
        options.inputOrigins = origins
        // Written by this run, never too large to read back.
        options.maxDocumentBytes = Int.max
        options.verifyInputs = { (stamps: [FileStamp]) throws(WinnowError) in
          try requireRecorded(stamps, files)
        }
      }
      let writer: DocumentSink?
      switch work.sink {
      case .output:
        writer = try outputSink(out, runDir: runDir, task: task) { dir in spec(dir, compression: out.compression) }
      case .stream(let g):
        let dir = streamDirectory(runDir, plan: plan, global: g)
        try makeDirectories(dir)
        var s = OutputSpec(path: dir, compression: .zstd, compressionLevel: 1)
        s.ownsPrefix = true
        s.shardPrefix = prefix
        writer = OriginStreamSink(try DocumentWriter(s), origins: origins)
      case .none:
        writer = nil
      }
      options.stageContext = StageRunContext(task: task, pass: pass, scratchDirectory: runDir.stateDirectory)
      stats = try Pipeline(stages: stages).run(inputs: reading, output: writer, options: options)
      for phase in phases { stats.writtenFiles += phase.written.files }
      if work.counted { try requireBalanced(stats, task: task, pass: pass) }
    }
    let record = TaskRecord(
      pass: pass, task: task, fingerprint: planFile.fingerprint, stats: stats,
      host: ProcessInfo.processInfo.hostName, pid: getpid(), finishedAt: Date().timeIntervalSince1970)
    try runDir.writeRecord(record)
    try? FileManager.default.removeItem(atPath: progressPath)
    return record
  }

  /// The sink of the run's output: JSONL shards in `output.path`, or with `output.route_by`,
  /// one directory of shards per value of that field (`OUT/FIELD=VALUE/`).
  static func outputSink(
    _ out: Recipe.Output, runDir: RunDirectory, task: Int, spec: @escaping (String) -> OutputSpec
  ) throws(WinnowError) -> DocumentSink {
    if let export = out.export {
      // Token datasets: one part per task, under the run's state when a merge joins them.
      let base = exportPartsDirectory(out, runDir: runDir)
      let name = "part-" + pad5(task) + "-" + export.name
      func sink(_ dir: String) throws(WinnowError) -> DocumentSink {
        try makeDirectories(dir)
        return try TokenExportSink(export, prefix: dir + "/" + name)
      }
      guard let field = out.routeBy else { return try sink(base) }
      return RoutingSink(field: field) { (route: String) throws(WinnowError) -> DocumentSink in
        try sink(base + "/" + Recipe.Output.routeDirectory(field: field, route: route))
      }
    }
    // Only the output itself may be Parquet: rejects and quarantine stay JSON lines.
    func documents(_ dir: String) throws(WinnowError) -> DocumentSink {
      var s = spec(dir)
      s.parquet = out.parquet
      return try DocumentWriter(s)
    }
    guard let field = out.routeBy else { return try documents(out.path) }
    return RoutingSink(field: field) { (route: String) throws(WinnowError) -> DocumentSink in
      try documents(out.path + "/" + Recipe.Output.routeDirectory(field: field, route: route))
    }
  }

  /// Where the tasks of a token export write their parts: the output directory itself when
  /// the parts are the output (`merge: false`), else `.winnow/export/` for the merge step.
  static func exportPartsDirectory(_ out: Recipe.Output, runDir: RunDirectory) -> String {
    out.export?.mergeTasks == false ? out.path : runDir.stateDirectory + "/export"
  }

  /// The task's view of pass `sp` of a global stage: the stage's store, with the files every
  /// task of the stage's earlier passes recorded as written (every one must have finished).
  static func phaseTask(_ runDir: RunDirectory, _ planFile: PlanFile, plan: Plan, _ sp: Plan.StagePass, task: Int)
    throws(WinnowError) -> PhaseTask
  {
    let global = plan.globals[sp.global]
    var manifest: [Int: [WrittenFile]] = [:]
    for j in 0..<sp.pass {
      guard let p = plan.passIndex(of: Plan.StagePass(global: sp.global, pass: j)) else { continue }
      let files = try PassManifest.files(runDir, pass: p, tasks: planFile.passes[p].count, fingerprint: planFile.fingerprint) {
        t in
        .io(
          "\(global.name) needs every task of pass \(p), but \(RunDirectory.taskName(pass: p, task: t)) has no record (\(runDir.recordPath(pass: p, task: t))); run the same command again to redo it"
        )
      }
      manifest[j, default: []] += files.joined()
    }
    // The last pass writes the output: one task per input task.
    let inputTasks = plan.passes[plan.passes.count - 1].tasks.count
    let store = PhaseStore(
      root: phaseRoot(runDir, plan: plan, global: sp.global),
      tasksPerPass: PhaseStore.tasksPerPass(global.passes, inputTasks: inputTasks), inputTasks: inputTasks,
      manifest: manifest)
    return store.task(pass: sp.pass, task: task)
  }

  /// Where global stage `global` keeps its files: `.winnow/phase/g1-exact_dedup/…`.
  static func phaseRoot(_ runDir: RunDirectory, plan: Plan, global: Int) -> String {
    runDir.stateDirectory + "/phase/g\(global + 1)-" + plan.globals[global].name
  }

  /// The stream reaching global stage `global`: one set of shards per task.
  static func streamDirectory(_ runDir: RunDirectory, plan: Plan, global: Int) -> String {
    phaseRoot(runDir, plan: plan, global: global) + "/stream"
  }

  /// The stream shards task `task` of pass `pass` recorded writing for global stage `global`,
  /// in order; each must be there with its recorded size.
  static func streamFiles(_ runDir: RunDirectory, _ planFile: PlanFile, plan: Plan, global: Int, pass: Int, task: Int)
    throws(WinnowError) -> [WrittenFile]
  {
    guard let r = runDir.readRecord(pass: pass, task: task), r.fingerprint == planFile.fingerprint else {
      throw .io(
        "the documents reaching \(plan.globals[global].name) come from task \(RunDirectory.taskName(pass: pass, task: task)), which has no record (\(runDir.recordPath(pass: pass, task: task))); run the same command again to redo it"
      )
    }
    let dir = streamDirectory(runDir, plan: plan, global: global)
    let files = r.stats.writtenFiles.filter { fileName(of: ($0.path as NSString).deletingLastPathComponent) == "stream" }
      .map { WrittenFile(path: dir + "/" + fileName(of: $0.path), bytes: $0.bytes, checksum: $0.checksum) }
    for f in files {
      guard let now = FileStamp.current(f.path), now.bytes == f.bytes else {
        throw .io("\(f.path): missing or of another size than task \(RunDirectory.taskName(pass: pass, task: task)) wrote; run the same command again to redo it")
      }
    }
    return files
  }

  /// Every stream shard read must be the one recorded (its checksum as read).
  static func requireRecorded(_ stamps: [FileStamp], _ files: [WrittenFile]) throws(WinnowError) {
    let recorded = Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
    guard stamps.count == files.count else {
      throw .io("read \(stamps.count) of \(files.count) stream shards; run the same command again")
    }
    for s in stamps {
      guard let f = recorded[s.path], s.bytes == f.bytes, s.checksum == f.checksum else {
        throw .io("\(s.path): does not hold the documents that were written (checksum differs); run the same command again to redo the pass that wrote it")
      }
    }
  }

  /// Every record read is kept, dropped or quarantined; a task whose counts do not add up has
  /// lost a document somewhere and must not be trusted.
  static func requireBalanced(_ stats: RunStats, task: Int, pass: Int) throws(WinnowError) {
    guard stats.isBalanced else {
      throw .io(
        "task \(RunDirectory.taskName(pass: pass, task: task)): counts do not balance (\(stats.balanceEquation())); its output is not kept"
      )
    }
  }

  /// A later pass must read byte for byte what the first pass over the inputs read. If an
  /// input changed, that task's record goes (so the next run redoes that pass and everything
  /// after it) and this task fails before writing anything.
  static func requireSameInputs(_ stamps: [FileStamp], as map: TaskRecord?, pass: Int, runDir: RunDirectory, task: Int) throws(WinnowError) {
    guard let map else {
      throw .io("task \(RunDirectory.taskName(pass: pass, task: task)) has no record; run the same command again to redo it")
    }
    let before = Dictionary(map.stats.inputStamps.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
    for now in stamps {
      guard let then = before[now.path] else { continue }
      let changed = then.change(to: now) ?? (then.checksum != nil && then.checksum != now.checksum ? "changed its content" : nil)
      if let changed {
        runDir.removeRecord(pass: pass, task: task)
        throw .io(
          "input \(now.path) \(changed) since the map pass read it; the passes that depend on it are redone when you run the same command again (or pass --fresh to start over)"
        )
      }
    }
  }

  /// Temporary files of this task's earlier attempts that were killed before renaming them.
  static func removeDeadAttempts(prefix: String, in dirs: [String]) {
    for dir in dirs {
      for name in listDirectory(dir) where TemporaryFiles.isTemporary(name, of: prefix) {
        unlink(dir + "/" + name)
      }
    }
  }
}

/// A side output (rejects, quarantine). Given as a directory, tasks write their shards into
/// it directly. Given as a file, each task writes its own shard in the run's state directory
/// and a merge step (`MergeSteps`) joins them, in task order, into the file when the run is complete
/// (compressed shards are joined as they are: zstd frames and gzip members concatenate).
struct SideOutput {
  var key: String
  var path: String
  var runDir: RunDirectory

  var isFile: Bool { !OutputSpec(path: path).isDirectory }
  var taskDirectory: String { isFile ? runDir.stateDirectory + "/side/" + key : path }

  func compression(default d: Compression) -> Compression { isFile ? Compression.forPath(path) : d }

  /// The task shards to join into the file: exactly those the task records list (`files`, in
  /// task order) under this side output's task directory. The merge step (`MergeSteps`)
  /// verifies each against its recorded size and checksum as it copies it, so a missing or
  /// damaged shard fails the join instead of leaving a shorter file.
  func parts(of files: [WrittenFile]) -> [WrittenFile] {
    files.filter { $0.path.hasPrefix(taskDirectory + "/") }
  }
}

/// "00042": task numbers in shard names.
func pad5(_ v: Int) -> String {
  let s = String(v)
  return String(repeating: "0", count: max(0, 5 - s.count)) + s
}
