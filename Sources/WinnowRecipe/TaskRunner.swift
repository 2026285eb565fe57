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
      let dir = runDir.phaseDirectory(pass: pass)
      try makeDirectory(dir)
      let name = RunDirectory.taskName(pass: pass, task: task)
      removeDeadAttempts(prefix: name, in: [dir])
      // Runs of an earlier attempt: replaced, never merged twice.
      for f in phaseFiles(in: dir, prefix: name + "-", suffix: ".run") { try? FileManager.default.removeItem(atPath: f) }
      let emit = KeyEmitStage(global: g.stage, task: task, buckets: g.buckets, directory: dir, filePrefix: name)
      let stages = Array(plan.stages[..<g.position]) + [NamedStage(name: g.name, stage: emit)]
      // Bad lines and rejects are reported once, by the apply pass that reads the same input.
      options.rejects = nil
      options.quarantine = nil
      stats = try Pipeline(stages: stages).run(inputs: mine, output: nil, options: options)
      try emit.finish()
    case .reduce:
      let g = try globalOf(plan)
      stats = try reduce(runDir, planFile: planFile, pass: pass, bucket: task, global: g)
    case .apply:
      let g = try globalOf(plan)
      let marked = try markedOrdinals(runDir, planFile: planFile, pass: pass, task: task)
      let drop = MarkedDropStage(global: g.stage, marked: marked)
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

  static func makeDirectory(_ dir: String) throws(WinnowError) {
    do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
      throw .io("\(dir): cannot create directory: \(error.localizedDescription)")
    }
  }

  static func phaseFiles(in dir: String, prefix: String = "", suffix: String, containing: String = "") -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
      .filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) && (containing.isEmpty || $0.contains(containing)) }
      .sorted().map { dir + "/" + $0 }
  }

  /// Reduce task `bucket`: merges that bucket's runs from every map task and marks every
  /// entry after the first of its key. Marks go to one small sorted file per map task.
  static func reduce(_ runDir: RunDirectory, planFile: PlanFile, pass: Int, bucket: Int, global: Plan.Global)
    throws(WinnowError) -> RunStats
  {
    let mapPass = pass - 1
    let mapTasks = planFile.passes[mapPass].count
    let b = "-b" + String(repeating: "0", count: max(0, 4 - String(bucket).count)) + String(bucket) + "-"
    let runs = phaseFiles(in: runDir.phaseDirectory(pass: mapPass), suffix: ".run", containing: b)
    // Every map task leaves at least one run per bucket: fewer means the map pass is incomplete.
    let tasksWithRuns = Set(runs.map { ($0 as NSString).lastPathComponent.prefix(9) })
    guard tasksWithRuns.count == mapTasks else {
      throw .io("reduce bucket \(bucket): runs from \(tasksWithRuns.count) of \(mapTasks) map tasks in \(runDir.phaseDirectory(pass: mapPass))")
    }
    let merger = try SortedRunMerger(paths: runs)
    var marks: [UInt64: [PhaseEntry]] = [:]
    var previous: Hash128?
    var entries = 0
    var duplicates = 0
    var clusterSizes: [Int: Int] = [:]
    var size = 0
    while let e = try merger.next() {
      entries += 1
      if e.key == previous {
        duplicates += 1
        size += 1
        marks[e.task, default: []].append(PhaseEntry(key: Hash128(low: 0, high: 0), task: e.task, ordinal: e.ordinal))
      } else {
        if size > 0 { clusterSizes[size, default: 0] += 1 }
        size = 1
      }
      previous = e.key
    }
    if size > 0 { clusterSizes[size, default: 0] += 1 }
    let dir = runDir.phaseDirectory(pass: pass)
    try makeDirectory(dir)
    for (t, list) in marks.sorted(by: { $0.key < $1.key }) {
      var l = list
      try SortedRunFile.write(&l, to: "\(dir)/b\(b.dropFirst(2).dropLast())-\(RunDirectory.taskName(pass: pass + 1, task: Int(t))).marks")
    }
    var stats = RunStats()
    stats.documentsRead = entries
    stats.inputFiles = runs
    var st = StageStats(name: global.name)
    st.documentsIn = entries
    st.kept = entries - duplicates
    st.dropped = duplicates
    if duplicates > 0 { st.droppedByReason[global.stage.duplicateReason] = duplicates }
    st.clusterSizes = Dictionary(uniqueKeysWithValues: clusterSizes.map { (String($0.key), $0.value) })
    stats.stages = [st]
    return stats
  }

  /// The positions the reduce pass marked for apply task `task`, from every bucket.
  static func markedOrdinals(_ runDir: RunDirectory, planFile: PlanFile, pass: Int, task: Int) throws(WinnowError) -> [UInt64] {
    let files = phaseFiles(
      in: runDir.phaseDirectory(pass: pass - 1), suffix: "-" + RunDirectory.taskName(pass: pass, task: task) + ".marks")
    var out: [UInt64] = []
    for f in files {
      let r = try SortedRunReader(path: f)
      while let e = try r.next() { out.append(e.ordinal) }
    }
    return out
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
