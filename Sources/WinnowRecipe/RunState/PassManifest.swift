import Foundation
import Glibc
import WinnowCore

/// The files every task of one finished pass recorded writing, gathered once for all the tasks
/// that read that pass.
///
/// Every task of a global stage's later pass needs the files of every task of its earlier
/// passes (`TaskRunner.phaseTask`). Read from the task records, that is one JSON decode per
/// earlier task in every later task: quadratic in the number of tasks, and the part of a
/// task's start-up that grows with the run. The first task to need a pass writes its
/// manifest (`.winnow/manifests/pP.json`); the others read that one file.
///
/// A manifest is only trusted while the records it was made from are unchanged: it holds each
/// record file's identity (inode, size, modification time in nanoseconds), and the reader
/// compares them with a `stat` of every record (no decoding). A record written again (a task
/// redone on resume) is a new file with a new inode, so its pass's manifest no longer
/// matches and is made again from the records. A manifest that cannot be read, or does not
/// match, is ignored: the records are the truth, and they decide as before.
struct PassManifest: Codable {
  /// A record file as `stat` sees it.
  struct RecordStamp: Codable, Equatable {
    var inode: UInt64
    var bytes: Int64
    var modified: Int64
  }

  var fingerprint: String
  var pass: Int
  var records: [RecordStamp]
  /// Per task, in order: the files it recorded writing.
  var files: [[WrittenFile]]

  static func path(_ runDir: RunDirectory, pass: Int) -> String { runDir.stateDirectory + "/manifests/p\(pass).json" }

  /// The stamp of the file at `path`, or nil when it cannot be examined.
  static func stamp(_ path: String) -> RecordStamp? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return RecordStamp(
      inode: UInt64(st.st_ino), bytes: Int64(st.st_size),
      modified: Int64(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_mtim.tv_nsec))
  }

  /// The files every task of pass `pass` (of `tasks` tasks) recorded writing, in task order.
  /// `missing(task)` is the error for a task without a record of this plan.
  static func files(
    _ runDir: RunDirectory, pass: Int, tasks: Int, fingerprint: String, missing: (Int) -> WinnowError
  ) throws(WinnowError) -> [[WrittenFile]] {
    var stamps: [RecordStamp] = []
    stamps.reserveCapacity(tasks)
    for t in 0..<tasks {
      guard let s = stamp(runDir.recordPath(pass: pass, task: t)) else { throw missing(t) }
      stamps.append(s)
    }
    let manifestPath = path(runDir, pass: pass)
    if let data = FileManager.default.contents(atPath: manifestPath),
      let m = try? JSONDecoder().decode(PassManifest.self, from: data),
      m.fingerprint == fingerprint, m.pass == pass, m.records == stamps, m.files.count == tasks
    {
      return m.files
    }
    var files: [[WrittenFile]] = []
    files.reserveCapacity(tasks)
    for t in 0..<tasks {
      guard let r = runDir.readRecord(pass: pass, task: t), r.fingerprint == fingerprint else { throw missing(t) }
      files.append(r.stats.writtenFiles)
    }
    // Stamped again after reading: a record replaced meanwhile leaves no manifest behind.
    let after = (0..<tasks).map { stamp(runDir.recordPath(pass: pass, task: $0)) }
    if after == stamps.map(Optional.some) {
      let manifest = PassManifest(fingerprint: fingerprint, pass: pass, records: stamps, files: files)
      // Best effort: a manifest that cannot be written only means the next task reads the
      // records too. Written under a temporary name and renamed, so readers never see half.
      try? FileManager.default.createDirectory(atPath: runDir.stateDirectory + "/manifests", withIntermediateDirectories: true)
      try? runDir.writeJSON(manifest, to: manifestPath)
    }
    return files
  }
}
