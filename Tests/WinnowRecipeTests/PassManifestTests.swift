import Foundation
import Testing
import WinnowCore

@testable import WinnowRecipe

/// `PassManifest`: the files of a finished pass gathered once, trusted only while the records
/// it was made from are unchanged.
@Suite("run state: pass manifests")
struct PassManifestTests {
  /// A run directory whose pass 0 has `files.count` finished tasks, task t having written
  /// `files[t]`.
  func runDirectory(_ dir: TempDir, _ files: [[String]], fingerprint: String = "fp") throws -> RunDirectory {
    let runDir = RunDirectory(dir.path + "/out")
    try runDir.ensureLayout()
    for (t, names) in files.enumerated() { try record(runDir, task: t, names, fingerprint: fingerprint) }
    return runDir
  }

  func record(_ runDir: RunDirectory, task: Int, _ names: [String], fingerprint: String = "fp") throws {
    var stats = RunStats()
    stats.writtenFiles = names.map { WrittenFile(path: $0, bytes: $0.utf8.count, checksum: UInt64($0.utf8.count) * 7) }
    try runDir.writeRecord(
      TaskRecord(pass: 0, task: task, fingerprint: fingerprint, stats: stats, host: "h", pid: 1, finishedAt: 0))
  }

  func files(_ runDir: RunDirectory, tasks: Int, fingerprint: String = "fp") throws -> [[String]] {
    try PassManifest.files(runDir, pass: 0, tasks: tasks, fingerprint: fingerprint) { t in .io("task \(t) has no record") }
      .map { $0.map(\.path) }
  }

  func message(_ body: () throws -> Void) -> String? {
    do { try body() } catch { return "\(error)" }
    return nil
  }

  @Test("the first reader writes the manifest, later readers get the same files from it")
  func written() throws {
    let dir = try TempDir()
    let want = [["a.run", "b.run"], [], ["c.run"]]
    let runDir = try runDirectory(dir, want)
    let path = PassManifest.path(runDir, pass: 0)
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(try files(runDir, tasks: 3) == want)
    #expect(FileManager.default.fileExists(atPath: path))
    // Later readers take the files from the manifest, not the records: an entry changed in
    // the manifest (stamps left as they are) is what they get.
    var m = try JSONDecoder().decode(PassManifest.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    m.files[1] = [WrittenFile(path: "from-manifest.run", bytes: 1, checksum: 1)]
    try runDir.writeJSON(m, to: path)
    #expect(try files(runDir, tasks: 3) == [["a.run", "b.run"], ["from-manifest.run"], ["c.run"]])
  }

  @Test("a record written again (a task redone) makes the manifest stale: the records decide")
  func staleAfterRedo() throws {
    let dir = try TempDir()
    let runDir = try runDirectory(dir, [["a.run"], ["b.run"]])
    #expect(try files(runDir, tasks: 2) == [["a.run"], ["b.run"]])
    try record(runDir, task: 1, ["b2.run", "b3.run"])
    #expect(try files(runDir, tasks: 2) == [["a.run"], ["b2.run", "b3.run"]])
  }

  @Test("a damaged manifest, or one of another plan, is ignored; the records decide")
  func damagedOrForeign() throws {
    let dir = try TempDir()
    let runDir = try runDirectory(dir, [["a.run"], ["b.run"]])
    _ = try files(runDir, tasks: 2)
    let path = PassManifest.path(runDir, pass: 0)
    for garbage in ["", "{", "{\"fingerprint\": 3}", String(repeating: "x", count: 10_000)] {
      try Data(garbage.utf8).write(to: URL(fileURLWithPath: path))
      #expect(try files(runDir, tasks: 2) == [["a.run"], ["b.run"]])
    }
    // A manifest written for another plan (fingerprint) is not this one's.
    let otherDir = try TempDir()
    let other = try runDirectory(otherDir, [["x.run"], ["y.run"]], fingerprint: "other")
    _ = try files(other, tasks: 2, fingerprint: "other")
    try FileManager.default.removeItem(atPath: path)
    try FileManager.default.copyItem(atPath: PassManifest.path(other, pass: 0), toPath: path)
    #expect(try files(runDir, tasks: 2) == [["a.run"], ["b.run"]])
  }

  @Test("a missing record, or one of another plan, is the caller's error, manifest or not")
  func missing() throws {
    let dir = try TempDir()
    let runDir = try runDirectory(dir, [["a.run"], ["b.run"], ["c.run"]])
    _ = try files(runDir, tasks: 3)
    runDir.removeRecord(pass: 0, task: 2)
    #expect(message { _ = try files(runDir, tasks: 3) } == "task 2 has no record")
    try record(runDir, task: 2, ["c.run"], fingerprint: "old plan")
    #expect(message { _ = try files(runDir, tasks: 3) }?.contains("task 2 has no record") == true)
  }
}
