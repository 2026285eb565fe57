import Foundation
import WinnowCore

/// The plan as written to the run directory: what every worker reads, whichever machine it
/// runs on, so that all of them work from the same recipe text and the same input list.
package struct PlanFile: Codable, Sendable {
  package var version = 1
  package var recipeName: String
  package var recipeSource: String
  package var recipeText: String
  package var fingerprint: String
  package var inputs: [String]
  /// For inputs read in parts (`row_groups_per_task`): each input's row groups as
  /// `[first, end]`, or nil for a whole file. nil when no input is split.
  package var inputRowGroups: [[Int]?]?
  /// For inputs read in parts (`mb_per_task`): each input's part as `[start, end, first line,
  /// file bytes]`, or nil for a whole file. nil when no input is split so.
  package var inputLines: [[Int]?]?
  /// Per pass, the input file indices of each task.
  package var passes: [[[Int]]]
  package var passKinds: [Plan.PassKind]
  package var maxRetries: Int
  /// Bad input lines are fatal (the recipe's `input.strict`, or `winnow run --strict`).
  package var strict: Bool

  enum CodingKeys: String, CodingKey {
    case version, recipeName = "recipe_name", recipeSource = "recipe_source", recipeText = "recipe_text"
    case fingerprint, inputs, inputRowGroups = "input_row_groups", inputLines = "input_lines", passes, passKinds = "pass_kinds"
    case maxRetries = "max_retries", strict
  }

  /// The inputs as the plan made them (with their row-group and line parts).
  package var inputFiles: [InputFile] {
    inputs.enumerated().map { k, path in
      var file = InputFile(path: path)
      if let groups = inputRowGroups, k < groups.count, let g = groups[k], g.count == 2, g[0] <= g[1] {
        file.rowGroups = g[0]..<g[1]
      }
      if let lines = inputLines, k < lines.count, let l = lines[k], l.count == 4 {
        file.lines = LinePart(start: l[0], end: l[1], firstLine: l[2], fileBytes: l[3])
      }
      return file
    }
  }

  /// Each input as task lists name it: its path, and its part when it is one (`InputFile.partName`).
  package var inputNames: [String] { inputFiles.map(\.partName) }

  /// How many files the inputs are, and how many inputs (more when files are read in parts).
  package var inputCounts: (files: Int, parts: Int) { (Set(inputs).count, inputs.count) }

  /// "3 input files", or "1 input file in 7 parts".
  package var inputSummary: String {
    let (files, parts) = inputCounts
    let head = "\(files) input file\(files == 1 ? "" : "s")"
    return parts == files ? head : head + " in \(parts) parts"
  }

  /// What a damaged plan file may hold that a plan never does: parts lists of another length
  /// than the inputs, or parts that cannot be parts of a file.
  var partsProblem: String? {
    for (name, list, width) in [("input_row_groups", inputRowGroups, 2), ("input_lines", inputLines, 4)] {
      guard let list else { continue }
      guard list.count == inputs.count else { return "\(name) has \(list.count) entries for \(inputs.count) inputs" }
      for (k, entry) in list.enumerated() {
        guard let entry else { continue }
        guard entry.count == width else { return "\(name)[\(k)] has \(entry.count) numbers, not \(width)" }
        if width == 2, !(entry[0] >= 0 && entry[0] < entry[1]) { return "\(name)[\(k)] is not a range of row groups" }
        if width == 4, !LinePart(start: entry[0], end: entry[1], firstLine: entry[2], fileBytes: entry[3]).isWellFormed {
          return "\(name)[\(k)] is not a part of a file"
        }
      }
    }
    return nil
  }
}

/// What a finished task leaves behind: its counts and files. Written by the task itself,
/// atomically, as its very last step; its presence means the task is done.
public struct TaskRecord: Codable, Sendable {
  public var pass: Int
  public var task: Int
  public var fingerprint: String
  public var stats: RunStats
  public var host: String
  public var pid: Int32
  public var finishedAt: Double

  enum CodingKeys: String, CodingKey {
    case pass, task, fingerprint, stats, host, pid, finishedAt = "finished_at"
  }
}

/// The layout of a run's output directory:
///
///     OUT/part-00000-00000.jsonl.zst …   output shards, named after the task that wrote them
///     OUT/stats.json                     counts of the whole run
///     OUT/.winnow/plan.json              the plan (recipe text, inputs, tasks)
///     OUT/.winnow/run.sqlite             run database, owned by the coordinator
///     OUT/.winnow/tasks/p0-t00000.json   one record per finished task: counts, the files it
///                                        wrote (sizes, checksums), the inputs it read (stamps)
///     OUT/.winnow/manifests/p0.json      the files of every task of a finished pass, gathered
///                                        once for the tasks that read it (`PassManifest`)
///     OUT/.winnow/logs/p0-t00000.log     each task's log (all attempts)
///     OUT/.winnow/lock                   held (flock) by the coordinator while it runs
public struct RunDirectory: Sendable {
  public let path: String

  public init(_ path: String) {
    self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
  }

  package var stateDirectory: String { path + "/.winnow" }
  package var planPath: String { stateDirectory + "/plan.json" }
  package var databasePath: String { stateDirectory + "/run.sqlite" }
  package var lockPath: String { stateDirectory + "/lock" }
  package var statsPath: String { path + "/stats.json" }

  package static func taskName(pass: Int, task: Int) -> String {
    PhaseTask.name(pass: pass, task: task)
  }

  package func recordPath(pass: Int, task: Int) -> String {
    stateDirectory + "/tasks/" + Self.taskName(pass: pass, task: task) + ".json"
  }

  /// Intermediate files of a global stage's phases.
  package func phaseDirectory(pass: Int) -> String { stateDirectory + "/phase/p\(pass)" }

  package func progressPath(pass: Int, task: Int) -> String {
    stateDirectory + "/progress/" + Self.taskName(pass: pass, task: task)
  }

  package func logPath(pass: Int, task: Int) -> String {
    stateDirectory + "/logs/" + Self.taskName(pass: pass, task: task) + ".log"
  }

  func ensureLayout() throws(WinnowError) {
    for d in [stateDirectory, stateDirectory + "/tasks", stateDirectory + "/logs", stateDirectory + "/progress"] {
      do {
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
      } catch {
        throw .io("\(d): cannot create directory: \(error.localizedDescription)")
      }
    }
  }

  /// The plan, or nil when the directory has none. A plan that cannot be read is an error:
  /// the run's state is damaged, and nothing in the directory can be trusted or removed on its
  /// word.
  package func readPlan() throws(WinnowError) -> PlanFile? {
    guard FileManager.default.fileExists(atPath: planPath) else { return nil }
    var problem: String
    do {
      let data = try Data(contentsOf: URL(fileURLWithPath: planPath))
      let plan = try JSONDecoder().decode(PlanFile.self, from: data)
      guard let p = plan.partsProblem else { return plan }
      problem = p
    } catch {
      problem = "\(error)"
    }
    throw .io(
      "\(planPath): the run's plan is damaged (\(problem)); Winnow cannot tell which files here are its own. Move the output directory aside (or remove it after checking what it holds) and run again"
    )
  }

  func writePlan(_ plan: PlanFile) throws(WinnowError) {
    try writeJSON(plan, to: planPath)
  }

  /// The task's record, or nil when there is none or it cannot be read (the task is then not
  /// finished: it runs again).
  package func readRecord(pass: Int, task: Int) -> TaskRecord? {
    let p = recordPath(pass: pass, task: task)
    guard FileManager.default.fileExists(atPath: p) else { return nil }
    return try? decode(TaskRecord.self, from: p)
  }

  /// Forgets that a task finished: it will run again.
  func removeRecord(pass: Int, task: Int) {
    unlink(recordPath(pass: pass, task: task))
  }

  /// Every readable task record in the directory (of any plan).
  package func allRecords() -> [TaskRecord] {
    let dir = stateDirectory + "/tasks"
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().compactMap { name in
      name.hasSuffix(".json") ? try? decode(TaskRecord.self, from: dir + "/" + name) : nil
    }
  }

  func writeRecord(_ record: TaskRecord) throws(WinnowError) {
    try writeJSON(record, to: recordPath(pass: record.pass, task: record.task))
  }

  func decode<T: Decodable>(_ type: T.Type, from path: String) throws(WinnowError) -> T {
    do {
      let data = try Data(contentsOf: URL(fileURLWithPath: path))
      return try JSONDecoder().decode(T.self, from: data)
    } catch {
      throw .io("\(path): unreadable run state (\(error)); remove the directory or pass --fresh")
    }
  }

  func writeJSON<T: Encodable>(_ value: T, to path: String) throws(WinnowError) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data: Data
    do { data = try encoder.encode(value) } catch { throw .io("\(path): cannot encode: \(error)") }
    try writeTextFile(path, String(decoding: data, as: UTF8.self) + "\n")
  }

  /// Removes what an earlier run wrote here, as its own state lists it — every file its task
  /// records name, the shards of its plan's tasks (an attempt killed before its record was
  /// written leaves them unlisted), the side files its plan joined, `stats.json` — and then its
  /// state (all but the lock, which the caller holds). A file that state does not account for
  /// is never removed, even if it is named like a shard: `foreignShards` finds those, and the
  /// caller refuses to go on.
  func clear(previousPlan: PlanFile?) {
    let fm = FileManager.default
    for record in allRecords() {
      for f in record.stats.writtenFiles { unlink(f.path) }
    }
    if let plan = previousPlan, let recipe = try? RecipeParser.parse(plan.recipeText, source: plan.recipeSource) {
      let sides = [recipe.output.rejects, recipe.output.quarantine].compactMap { $0 }
      for side in sides where !OutputSpec(path: side).isDirectory { unlink(side) }
      let dirs = [path] + shardDirectories(besides: recipe.output)
      for dir in dirs {
        for name in listDirectory(dir) where Self.isTaskShard(name, of: plan) { unlink((dir.hasSuffix("/") ? dir : dir + "/") + name) }
      }
    }
    unlink(statsPath)
    for name in (try? fm.contentsOfDirectory(atPath: stateDirectory)) ?? [] where name != "lock" {
      try? fm.removeItem(atPath: stateDirectory + "/" + name)
    }
  }

  /// Whether `name` is a shard some task of `plan` writes (`part-TTTTT-…`).
  static func isTaskShard(_ name: String, of plan: PlanFile) -> Bool {
    guard name.hasPrefix("part-"), let tasks = plan.passes.last?.count else { return false }
    var rest = name.dropFirst(5)
    // "part-p0-00003-…": a side shard of a pass before the last.
    if rest.first == "p" {
      let pass = rest.dropFirst().prefix { $0 != "-" }
      guard let p = Int(pass), p < plan.passes.count else { return false }
      rest = rest.dropFirst(1 + pass.count + 1)
    }
    let digits = rest.prefix(5)
    guard digits.count == 5, rest.dropFirst(5).first == "-", let t = Int(digits) else { return false }
    return t < tasks
  }

  /// Shards in `dirs` (the output directory, side output directories) that neither a task
  /// record of this directory lists nor a task of `plan` (the plan being resumed) writes:
  /// files Winnow did not write there.
  func foreignShards(in dirs: [String], plan: PlanFile?) -> [String] {
    let listed = Set(allRecords().flatMap { $0.stats.writtenFiles.map { CanonicalPath.of($0.path) } })
    var out: [String] = []
    for dir in dirs {
      for name in listDirectory(dir) where name.hasPrefix("part-") {
        if let plan, Self.isTaskShard(name, of: plan) { continue }
        let p = (dir.hasSuffix("/") ? dir : dir + "/") + name
        if !listed.contains(CanonicalPath.of(p)) { out.append(p) }
      }
    }
    return out
  }

  /// The directories besides the output's top where tasks write shards named after
  /// themselves: side outputs that are directories and, with `route_by`, every `FIELD=VALUE/`
  /// directory already in the output. A task clears its own `part-TTTTT-` names in each, so the
  /// foreign-shard check, `--fresh` and temporary-file clean-up cover them all alike.
  func shardDirectories(besides out: Recipe.Output) -> [String] {
    [out.rejects, out.quarantine].compactMap { $0 }.filter { OutputSpec(path: $0).isDirectory }
      + (out.routeBy.map { routeDirectories(field: $0) } ?? [])
  }

  /// The route directories (`FIELD=VALUE`) that exist in the output for `output.route_by: field`.
  private func routeDirectories(field: String) -> [String] {
    let prefix = Recipe.Output.routeDirectory(field: field, route: "")
    let base = path.hasSuffix("/") ? path : path + "/"
    return listDirectory(path).filter { name in
      var isDirectory: ObjCBool = false
      return name.hasPrefix(prefix) && FileManager.default.fileExists(atPath: base + name, isDirectory: &isDirectory)
        && isDirectory.boolValue
    }.sorted().map { base + $0 }
  }

  /// Removes the hidden temporary files killed writers left in `dirs`, and the temporary task
  /// records of workers killed with their coordinator.
  func removeTemporaryFiles(in dirs: [String]) {
    for dir in dirs {
      for name in listDirectory(dir) where TemporaryFiles.isTemporary(name, of: "part-") {
        unlink((dir.hasSuffix("/") ? dir : dir + "/") + name)
      }
    }
    // A worker killed while writing its task record (with its coordinator, -9) leaves the
    // record's temporary file; nothing writes records while a coordinator starts.
    let tasks = stateDirectory + "/tasks"
    for name in listDirectory(tasks) where TemporaryFiles.isTemporary(name) { unlink(tasks + "/" + name) }
  }

  /// Takes the run directory's lock (flock on `.winnow/lock`) for as long as the returned
  /// object lives. Two coordinators on one directory would run every task twice and remove
  /// each other's files; the second is refused with who holds the lock. Workers never take it.
  func lock() throws(WinnowError) -> RunLock {
    try RunLock(path: lockPath)
  }
}

/// An exclusive lock on a run directory, released when this object goes (or the process ends).
final class RunLock {
  let fd: Int32

  init(path: String) throws(WinnowError) {
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .io("\(path): cannot open the run's lock: \(String(cString: strerror(errno)))") }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      let why = String(cString: strerror(errno))
      let busy = errno == EWOULDBLOCK
      var buffer = [UInt8](repeating: 0, count: 512)
      let n = pread(fd, &buffer, buffer.count, 0)
      let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
      close(fd)
      let dir = (path as NSString).deletingLastPathComponent
      guard busy else { throw .io("\(path): cannot lock the run directory: \(why)") }
      throw .io(
        "another winnow run is working in \((dir as NSString).deletingLastPathComponent) (\(holder)); wait for it to finish or stop it, then run again"
      )
    }
    // Who holds it, for the message a second coordinator prints.
    let me = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName), since \(Date())\n"
    _ = ftruncate(fd, 0)
    _ = me.withCString { pwrite(fd, $0, strlen($0), 0) }
  }

  deinit {
    // Unlocked explicitly before closing: a child process forked by another thread at that
    // moment (before its exec closes the descriptor) would otherwise keep the lock alive.
    flock(fd, LOCK_UN)
    close(fd)
  }
}
