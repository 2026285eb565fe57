import Foundation
import WinnowCore

/// What `winnow status` prints: per pass, how many tasks are done, running, failed or pending.
public enum RunStatus {
  package static func describe(_ runDir: RunDirectory) throws(WinnowError) -> String {
    guard let plan = try runDir.readPlan() else {
      throw .usage("\(runDir.path): not a winnow run directory (no \(runDir.planPath))")
    }
    let db = try RunDatabase(path: runDir.databasePath)
    var lines = ["run of '\(plan.recipeName)' (\(plan.recipeSource)), \(plan.inputSummary)"]
    if let last = try db.lastRun() {
      let when = Date(timeIntervalSince1970: last.started)
      let state = last.outcome ?? (last.finished == nil ? "running or interrupted" : "?")
      lines.append("last run: started \(when), executor \(last.executor), \(state)")
    }
    let summary = try db.summary()
    for (p, tasks) in plan.passes.enumerated() {
      // Task records are the truth; the database may lag behind a killed coordinator.
      let done = tasks.indices.filter { runDir.readRecord(pass: p, task: $0)?.fingerprint == plan.fingerprint }.count
      let states = summary.first { $0.pass == p }?.states ?? [:]
      let failed = states["failed"] ?? 0
      let running = states["running"] ?? 0
      let docs = summary.first { $0.pass == p }?.documents ?? 0
      lines.append(
        "pass \(p): \(done)/\(tasks.count) tasks done, \(running) running or interrupted, \(failed) failed, \(tasks.count - done - failed - running) pending; \(docs) documents read by finished tasks"
      )
    }
    for f in try db.failedTasks() {
      lines.append("  failed: \(RunDirectory.taskName(pass: f.pass, task: f.task)): \(f.error)")
    }
    if FileManager.default.fileExists(atPath: runDir.statsPath) { lines.append("stats: \(runDir.statsPath)") }
    return lines.joined(separator: "\n")
  }
}
