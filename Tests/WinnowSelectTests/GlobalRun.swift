import Foundation
import WinnowTestSupport

@testable import WinnowCore

/// Runs a global stage's passes of any shape the way a recipe run does — each document pass
/// per input task (the last one applies), each middle pass task by task — in a temporary
/// directory, with each task's lines as one input file.
struct GlobalRun {
  let dir: TempDir
  let root: String
  var tasksPerPass: [Int] = []
  var manifest: [Int: [WrittenFile]] = [:]
  var applied: [RunResult] = []

  init() throws {
    dir = try TempDir()
    root = dir.path + "/phase"
  }

  func task(_ pass: Int, _ task: Int) -> PhaseTask {
    PhaseTask(pass: pass, task: task, tasksPerPass: tasksPerPass, root: root, manifest: manifest)
  }

  /// Runs pass `pass` only (the passes before it must have run).
  mutating func run(pass: Int, _ global: GlobalStage, _ tasks: [[[UInt8]]]) throws {
    manifest[pass] = nil
    var done: [PhaseTask] = []
    switch global.passes[pass] {
    case .documents where pass == global.passes.count - 1:
      applied = []
      for (t, lines) in tasks.enumerated() {
        let stage = try global.applyStage(task(pass, t))
        applied.append(try runPipeline([NamedStage(name: "apply", stage: stage)], files: [lines]))
      }
    case .documents:
      for (t, lines) in tasks.enumerated() {
        let phase = task(pass, t)
        _ = try runPipeline([NamedStage(name: "observe", stage: try global.observer(phase))], files: [lines])
        done.append(phase)
      }
    case .middle:
      for t in 0..<tasksPerPass[pass] {
        let phase = task(pass, t)
        _ = try global.runMiddle(phase)
        done.append(phase)
      }
    }
    for phase in done { manifest[pass, default: []] += phase.written.files }
  }

  static func run(_ global: GlobalStage, _ tasks: [[[UInt8]]]) throws -> GlobalRun {
    var r = try GlobalRun()
    r.tasksPerPass = PhaseStore.tasksPerPass(global.passes, inputTasks: tasks.count)
    for p in global.passes.indices { try r.run(pass: p, global, tasks) }
    return r
  }

  var keptIDs: [String] { applied.flatMap(\.keptIDs) }
  var kept: [[String: Any]] { applied.flatMap(\.kept) }
  var reasons: [String: String] { applied.reduce(into: [:]) { $0.merge($1.reasons) { a, _ in a } } }

  /// Files of pass `pass` whose names end with `suffix`.
  func files(_ pass: Int, _ suffix: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: root + "/p\(pass)")) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
      .map { root + "/p\(pass)/" + $0 }
  }
}

/// Splits `lines` into `n` consecutive groups (some may be empty).
func split(_ lines: [[UInt8]], into n: Int) -> [[[UInt8]]] {
  let per = (lines.count + n - 1) / n
  return (0..<n).map { k in Array(lines[min(lines.count, k * per)..<min(lines.count, (k + 1) * per)]) }
}

/// A JSON Lines document line.
func docLine(_ id: String, _ text: String) -> [UInt8] {
  let data = try! JSONSerialization.data(withJSONObject: ["id": id, "text": text], options: [.sortedKeys])
  return Array(data)
}
