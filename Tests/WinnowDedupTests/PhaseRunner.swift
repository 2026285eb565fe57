import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowDedup

/// Runs a global stage's passes the way a recipe run does — map per task, each middle pass
/// task by task, apply per task — in a temporary directory, with each task's lines as one
/// input file. Returns the apply tasks' results in task order.
struct PhaseRun {
  let dir: TempDir
  let root: String
  var tasksPerPass: [Int] = []
  var applied: [RunResult] = []
  var middleStats: [[RunStats]] = []
  /// What each pass's tasks recorded as written, as the task records of a run hold it.
  var manifest: [Int: [WrittenFile]] = [:]

  init() throws {
    dir = try TempDir()
    root = dir.path + "/phase"
  }

  func task(_ pass: Int, _ task: Int) -> PhaseTask {
    PhaseTask(pass: pass, task: task, tasksPerPass: tasksPerPass, root: root, manifest: manifest)
  }

  /// Adds what a finished task wrote to the manifest later passes read.
  mutating func recorded(_ t: PhaseTask) {
    manifest[t.pass, default: []] += t.written.files
  }

  /// Map only.
  mutating func map(_ global: GlobalStage, _ tasks: [[[UInt8]]]) throws {
    tasksPerPass = PhaseStore.tasksPerPass(global.passes, inputTasks: tasks.count)
    manifest = [:]
    for (t, lines) in tasks.enumerated() {
      let phase = task(0, t)
      let stage = try global.observer(phase)
      // The pipeline calls the stage's finish once the task's documents are through.
      _ = try runPipeline([NamedStage(name: "map", stage: stage)], lines: lines)
      recorded(phase)
    }
  }

  /// Middle passes only (after `map`).
  mutating func middle(_ global: GlobalStage) throws {
    middleStats = []
    let middle = tasksPerPass.dropFirst().dropLast()
    for pass in middle.indices { manifest[pass] = nil }
    for (k, count) in middle.enumerated() {
      var stats: [RunStats] = []
      var done: [PhaseTask] = []
      for t in 0..<count {
        let phase = task(k + 1, t)
        stats.append(try global.runMiddle(phase))
        done.append(phase)
      }
      for phase in done { recorded(phase) }
      middleStats.append(stats)
    }
  }

  /// Apply only (after `middle`).
  mutating func apply(_ global: GlobalStage, _ tasks: [[[UInt8]]], after: [NamedStage] = []) throws {
    applied = []
    for (t, lines) in tasks.enumerated() {
      let stage = try global.applyStage(task(tasksPerPass.count - 1, t))
      applied.append(try runPipeline([NamedStage(name: "apply", stage: stage)] + after, lines: lines))
    }
  }

  /// All passes.
  static func run(_ global: GlobalStage, _ tasks: [[[UInt8]]]) throws -> PhaseRun {
    var r = try PhaseRun()
    try r.map(global, tasks)
    try r.middle(global)
    try r.apply(global, tasks)
    return r
  }

  var keptIDs: [String] { applied.flatMap(\.keptIDs) }
  var outputLines: [[UInt8]] { applied.flatMap(\.outputLines) }
  var reasons: [String: String] { applied.reduce(into: [:]) { $0.merge($1.reasons) { a, _ in a } } }
  var outputs: [[String: Any]] { outputLines.map(parseObject) }

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

/// A few hundred words of varied prose built from a seed, so that different seeds share few
/// 5-grams.
func prose(_ seed: Int, words: Int = 300) -> String {
  let vocabulary = """
    the a river mountain quietly engine packet kernel module library stream compress archive \
    signal harbour winter lantern copper velvet orbit canyon meadow thunder pixel garden \
    silver market pilot ladder window bridge forest cotton marble violin rocket pepper \
    island candle planet falcon lemon anchor puzzle saddle tunnel wizard yellow zebra \
    debian package manual option network socket buffer thread memory process signal \
    parser token format header footer record column table index query server client
    """.split(separator: " ").map(String.init)
  var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
  var out: [String] = []
  for k in 0..<words {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    out.append(vocabulary[Int(state >> 33) % vocabulary.count])
    if k % 17 == 16 { out[out.count - 1] += "." }
  }
  return out.joined(separator: " ")
}

/// `text` with every `every`-th word replaced.
func edited(_ text: String, every: Int, offset: Int = 0) -> String {
  var w = text.split(separator: " ").map(String.init)
  var k = offset
  while k < w.count {
    w[k] = "changed\(k)"
    k += every
  }
  return w.joined(separator: " ")
}
