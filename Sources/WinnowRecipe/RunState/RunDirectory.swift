import Foundation
import WinnowCore

/// The plan as written to the run directory: what every worker reads, whichever machine it
/// runs on, so that all of them work from the same recipe text and the same input list.
public struct PlanFile: Codable, Sendable {
  public var version = 1
  public var recipeName: String
  public var recipeSource: String
  public var recipeText: String
  public var fingerprint: String
  public var inputs: [String]
  /// Per pass, the input file indices of each task.
  public var passes: [[[Int]]]
  public var passKinds: [Plan.PassKind]
  public var maxRetries: Int
  /// Bad input lines are fatal (the recipe's `input.strict`, or `winnow run --strict`).
  public var strict: Bool

  enum CodingKeys: String, CodingKey {
    case version, recipeName = "recipe_name", recipeSource = "recipe_source", recipeText = "recipe_text"
    case fingerprint, inputs, passes, passKinds = "pass_kinds", maxRetries = "max_retries", strict
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
///     OUT/.winnow/tasks/p0-t00000.json   one record per finished task
///     OUT/.winnow/logs/p0-t00000.log     each task's log (all attempts)
public struct RunDirectory: Sendable {
  public let path: String

  public init(_ path: String) {
    self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
  }

  public var stateDirectory: String { path + "/.winnow" }
  public var planPath: String { stateDirectory + "/plan.json" }
  public var databasePath: String { stateDirectory + "/run.sqlite" }
  public var statsPath: String { path + "/stats.json" }

  public static func taskName(pass: Int, task: Int) -> String {
    PhaseTask.name(pass: pass, task: task)
  }

  public func recordPath(pass: Int, task: Int) -> String {
    stateDirectory + "/tasks/" + Self.taskName(pass: pass, task: task) + ".json"
  }

  /// Intermediate files of a global stage's phases.
  public func phaseDirectory(pass: Int) -> String { stateDirectory + "/phase/p\(pass)" }

  public func progressPath(pass: Int, task: Int) -> String {
    stateDirectory + "/progress/" + Self.taskName(pass: pass, task: task)
  }

  public func logPath(pass: Int, task: Int) -> String {
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

  public func readPlan() throws(WinnowError) -> PlanFile? {
    guard FileManager.default.fileExists(atPath: planPath) else { return nil }
    return try decode(PlanFile.self, from: planPath)
  }

  func writePlan(_ plan: PlanFile) throws(WinnowError) {
    try writeJSON(plan, to: planPath)
  }

  public func readRecord(pass: Int, task: Int) -> TaskRecord? {
    let p = recordPath(pass: pass, task: task)
    guard FileManager.default.fileExists(atPath: p) else { return nil }
    return try? decode(TaskRecord.self, from: p)
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

  /// Removes everything a previous run wrote here: shards, side outputs, stats and state.
  func clear(sideOutputs: [String]) {
    let fm = FileManager.default
    try? fm.removeItem(atPath: stateDirectory)
    try? fm.removeItem(atPath: statsPath)
    for side in sideOutputs where !OutputSpec(path: side).isDirectory {
      try? fm.removeItem(atPath: side)
    }
    for dir in [path] + sideOutputs {
      for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where Self.isShardOrTemp(name) {
        try? fm.removeItem(atPath: dir + "/" + name)
      }
    }
  }

  /// Output shards and the hidden temporary files writers leave when killed.
  static func isShardOrTemp(_ name: String) -> Bool {
    name.hasPrefix("part-") || (name.hasPrefix(".part-") && name.contains(".tmp-"))
  }
}
