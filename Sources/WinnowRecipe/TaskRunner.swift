import Foundation
import WinnowCore

/// Runs one task of a run directory's plan: the work of `winnow worker`, and of the inline
/// executor in-process. Every executor goes through here, which is why they all write the same
/// bytes.
public enum TaskRunner {
  /// Runs the task unless its record shows it already finished; returns the record.
  public static func run(_ runDir: RunDirectory, pass: Int, task: Int) throws(WinnowError) -> TaskRecord {
    guard let planFile = try runDir.readPlan() else {
      throw .usage("\(runDir.path): no plan found (\(runDir.planPath)); start the run with 'winnow run RECIPE'")
    }
    if let done = runDir.readRecord(pass: pass, task: task), done.fingerprint == planFile.fingerprint { return done }
    guard pass < planFile.passes.count, task < planFile.passes[pass].count else {
      throw .usage("\(runDir.path): the plan has no task \(task) in pass \(pass)")
    }
    let recipe = try RecipeParser.parse(planFile.recipeText, source: planFile.recipeSource)
    let inputs = planFile.inputs.map(InputFile.init(path:))
    let plan = try Plan.make(recipe, inputs: inputs)
    let mine = planFile.passes[pass][task].map { inputs[$0] }

    let prefix = "part-" + String(RunDirectory.taskName(pass: pass, task: task).dropFirst(4)) + "-"
    let out = recipe.output
    let sides = [("rejects", out.rejects), ("quarantine", out.quarantine)].compactMap { k, p in
      p.map { SideOutput(key: k, path: $0, runDir: runDir) }
    }
    removeDeadAttempts(prefix: prefix, in: [out.path] + sides.map(\.taskDirectory))
    func spec(_ path: String, compression: Compression) -> OutputSpec {
      var s = OutputSpec(
        path: path, compression: compression, compressionLevel: out.compressionLevel,
        maxShardBytes: out.maxShardBytes, maxShardDocs: out.maxShardDocs, overwrite: true)
      s.shardPrefix = prefix
      return s
    }
    var options = PipelineOptions()
    options.fields = recipe.input.fields
    options.strict = planFile.strict
    for side in sides {
      let s = spec(side.taskDirectory, compression: side.compression(default: out.compression))
      if side.key == "rejects" { options.rejects = s } else { options.quarantine = s }
    }
    let progressPath = runDir.progressPath(pass: pass, task: task)
    options.progress = { p in
      // The coordinator sums these to show live rates; losing one is harmless.
      try? writeTextFile(progressPath, "\(p.documents) \(p.uncompressedBytes)\n")
    }
    let kind = pass < planFile.passKinds.count ? planFile.passKinds[pass] : .documents
    let stats: RunStats
    switch kind {
    case .documents:
      let writer = try DocumentWriter(spec(out.path, compression: out.compression))
      stats = try Pipeline(stages: plan.stages).run(inputs: mine, output: writer, options: options)
    case .map:
      let g = try globalOf(plan)
      let emit = try g.stage.mapStage(phaseTask(runDir, planFile, pass: pass, task: task))
      let stages = Array(plan.stages[..<g.position]) + [NamedStage(name: g.name, stage: emit)]
      // Bad lines and rejects are reported once, by the apply pass that reads the same input.
      options.rejects = nil
      options.quarantine = nil
      stats = try Pipeline(stages: stages).run(inputs: mine, output: nil, options: options)
      try emit.finish()
    case .reduce:
      let g = try globalOf(plan)
      stats = try g.stage.runMiddle(phaseTask(runDir, planFile, pass: pass, task: task))
    case .apply:
      let g = try globalOf(plan)
      let drop = try g.stage.applyStage(phaseTask(runDir, planFile, pass: pass, task: task))
      let stages = Array(plan.stages[..<g.position]) + [NamedStage(name: g.name, stage: drop)] + Array(plan.stages[g.position...])
      let writer = try DocumentWriter(spec(out.path, compression: out.compression))
      stats = try Pipeline(stages: stages).run(inputs: mine, output: writer, options: options)
    }
    let record = TaskRecord(
      pass: pass, task: task, fingerprint: planFile.fingerprint, stats: stats,
      host: ProcessInfo.processInfo.hostName, pid: getpid(), finishedAt: Date().timeIntervalSince1970)
    try runDir.writeRecord(record)
    try? FileManager.default.removeItem(atPath: progressPath)
    return record
  }

  static func globalOf(_ plan: Plan) throws(WinnowError) -> Plan.Global {
    guard let g = plan.global else { throw .usage("the plan has a phase pass but the recipe has no global stage") }
    return g
  }

  static func phaseTask(_ runDir: RunDirectory, _ planFile: PlanFile, pass: Int, task: Int) -> PhaseTask {
    PhaseTask(pass: pass, task: task, tasksPerPass: planFile.passes.map(\.count), root: runDir.stateDirectory + "/phase")
  }

  /// Temporary files of this task's earlier attempts that were killed before renaming them.
  static func removeDeadAttempts(prefix: String, in dirs: [String]) {
    let fm = FileManager.default
    for dir in dirs {
      for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix("." + prefix) && name.contains(".tmp-") {
        try? fm.removeItem(atPath: dir + "/" + name)
      }
    }
  }
}

/// A side output (rejects, quarantine). Given as a directory, tasks write their shards into
/// it directly. Given as a file, each task writes its own shard in the run's state directory
/// and the coordinator joins them, in task order, into the file when the run is complete
/// (compressed shards are joined as they are: zstd frames and gzip members concatenate).
struct SideOutput {
  var key: String
  var path: String
  var runDir: RunDirectory

  var isFile: Bool { !OutputSpec(path: path).isDirectory }
  var taskDirectory: String { isFile ? runDir.stateDirectory + "/side/" + key : path }

  func compression(default d: Compression) -> Compression { isFile ? Compression.forPath(path) : d }

  /// Joins the task shards into the file.
  func join() throws(WinnowError) {
    guard isFile else { return }
    let fm = FileManager.default
    let parts = ((try? fm.contentsOfDirectory(atPath: taskDirectory)) ?? []).filter { $0.hasPrefix("part-") }.sorted()
    let parent = (path as NSString).deletingLastPathComponent
    if !parent.isEmpty { try? fm.createDirectory(atPath: parent, withIntermediateDirectories: true) }
    let sink = try FileSink(path: path)
    do throws(WinnowError) {
      for p in parts {
        guard let data = fm.contents(atPath: taskDirectory + "/" + p) else { throw .io("\(taskDirectory)/\(p): cannot read") }
        try sink.write([UInt8](data))
      }
      try sink.finish()
    } catch {
      sink.abort()
      throw error
    }
  }
}
