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
    // Every pass that reads inputs checksums them: the record says exactly what was read.
    options.stampInputs = true
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
    var stats: RunStats
    switch kind {
    case .documents:
      let writer = try DocumentWriter(spec(out.path, compression: out.compression))
      stats = try Pipeline(stages: plan.stages).run(inputs: mine, output: writer, options: options)
      try requireBalanced(stats, task: task, pass: pass)
    case .map:
      let g = try globalOf(plan)
      let phase = try phaseTask(runDir, planFile, pass: pass, task: task)
      let emit = try g.stage.mapStage(phase)
      let stages = Array(plan.stages[..<g.position]) + [NamedStage(name: g.name, stage: emit)]
      // Bad lines and rejects are reported once, by the apply pass that reads the same input.
      options.rejects = nil
      options.quarantine = nil
      stats = try Pipeline(stages: stages).run(inputs: mine, output: nil, options: options)
      try emit.finish()
      stats.writtenFiles += phase.written.files
    case .reduce:
      let g = try globalOf(plan)
      let phase = try phaseTask(runDir, planFile, pass: pass, task: task)
      stats = try g.stage.runMiddle(phase)
      stats.writtenFiles += phase.written.files
    case .apply:
      let g = try globalOf(plan)
      let drop = try g.stage.applyStage(try phaseTask(runDir, planFile, pass: pass, task: task))
      let stages = Array(plan.stages[..<g.position]) + [NamedStage(name: g.name, stage: drop)] + Array(plan.stages[g.position...])
      let writer = try DocumentWriter(spec(out.path, compression: out.compression))
      // The marks drop documents by position in what the map pass read: the inputs must be
      // exactly those bytes. Checked before any output is committed.
      let mapRecord = runDir.readRecord(pass: 0, task: task)
      options.verifyInputs = { (stamps: [FileStamp]) throws(WinnowError) in
        try requireSameInputs(stamps, as: mapRecord, runDir: runDir, task: task)
      }
      stats = try Pipeline(stages: stages).run(inputs: mine, output: writer, options: options)
      try requireBalanced(stats, task: task, pass: pass)
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

  /// The task's view of a global stage's passes, with the files every task of the earlier
  /// passes recorded as written (every earlier task must have finished).
  static func phaseTask(_ runDir: RunDirectory, _ planFile: PlanFile, pass: Int, task: Int) throws(WinnowError) -> PhaseTask {
    var manifest: [Int: [WrittenFile]] = [:]
    for p in 0..<pass {
      for t in planFile.passes[p].indices {
        guard let r = runDir.readRecord(pass: p, task: t), r.fingerprint == planFile.fingerprint else {
          throw .io(
            "task \(RunDirectory.taskName(pass: pass, task: task)) needs every task of pass \(p), but \(RunDirectory.taskName(pass: p, task: t)) has no record (\(runDir.recordPath(pass: p, task: t))); run the same command again to redo it"
          )
        }
        manifest[p, default: []] += r.stats.writtenFiles
      }
    }
    return PhaseTask(
      pass: pass, task: task, tasksPerPass: planFile.passes.map(\.count), root: runDir.stateDirectory + "/phase",
      manifest: manifest)
  }

  /// Every record read is kept, dropped or quarantined; a task whose counts do not add up has
  /// lost a document somewhere and must not be trusted.
  static func requireBalanced(_ stats: RunStats, task: Int, pass: Int) throws(WinnowError) {
    guard stats.isBalanced else {
      throw .io(
        "task \(RunDirectory.taskName(pass: pass, task: task)): counts do not balance (read \(stats.documentsRead) ≠ written \(stats.documentsWritten) + dropped \(stats.dropped) + quarantined \(stats.quarantined)); its output is not kept"
      )
    }
  }

  /// The apply pass must read byte for byte what the map pass read. If an input changed, the
  /// map task's record goes (so the next run redoes the map pass and everything after it) and
  /// this task fails before writing anything.
  static func requireSameInputs(_ stamps: [FileStamp], as map: TaskRecord?, runDir: RunDirectory, task: Int) throws(WinnowError) {
    guard let map else {
      throw .io("task \(RunDirectory.taskName(pass: 0, task: task)) has no record; run the same command again to redo it")
    }
    let before = Dictionary(map.stats.inputStamps.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
    for now in stamps {
      guard let then = before[now.path] else { continue }
      let changed = then.change(to: now) ?? (then.checksum != nil && then.checksum != now.checksum ? "changed its content" : nil)
      if let changed {
        runDir.removeRecord(pass: 0, task: task)
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
/// and the coordinator joins them, in task order, into the file when the run is complete
/// (compressed shards are joined as they are: zstd frames and gzip members concatenate).
struct SideOutput {
  var key: String
  var path: String
  var runDir: RunDirectory

  var isFile: Bool { !OutputSpec(path: path).isDirectory }
  var taskDirectory: String { isFile ? runDir.stateDirectory + "/side/" + key : path }

  func compression(default d: Compression) -> Compression { isFile ? Compression.forPath(path) : d }

  /// Joins the task shards into the file: exactly the shards the task records list (`files`,
  /// in task order), each verified against its recorded checksum as it is copied, so a
  /// missing or damaged shard fails the join instead of leaving a shorter file.
  func join(_ files: [WrittenFile]) throws(WinnowError) {
    guard isFile else { return }
    let mine = files.filter { $0.path.hasPrefix(taskDirectory + "/") }
    let parent = (path as NSString).deletingLastPathComponent
    if !parent.isEmpty { try makeDirectories(parent) }
    let sink = try FileSink(path: path)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    do throws(WinnowError) {
      for f in mine {
        let fd = open(f.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("\(f.path): cannot read a \(key) shard to join: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let hasher = StreamingXXH3()
        var total = 0
        while true {
          let n = read(fd, buffer.baseAddress, buffer.count)
          if n < 0 {
            if errno == EINTR { continue }
            throw .io("\(f.path): read failed: \(String(cString: strerror(errno)))")
          }
          if n == 0 { break }
          let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
          hasher.update(piece)
          total += n
          try sink.write(piece)
        }
        guard total == f.bytes, hasher.digest == f.checksum else {
          throw .io("\(f.path): this \(key) shard is not the one its task wrote (size or checksum differs); run the same command again to redo that task")
        }
      }
      try sink.finish()
    } catch {
      sink.abort()
      throw error
    }
  }
}
