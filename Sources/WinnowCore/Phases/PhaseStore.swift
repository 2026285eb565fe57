#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The intermediate files of one global stage in a run: where each pass keeps them, what
/// every finished task recorded as written, and how tasks are named. Passes are the stage's
/// own, numbered from 0.
///
/// A task never trusts a directory listing: `manifest` holds the files every task of the
/// earlier passes recorded as written (names, sizes, checksums, from their task records), and
/// `PhaseTask.files(ofPass:…)` hands out exactly those — a missing file, or one in the
/// directory that no task recorded, is an error naming it, never a silently smaller input.
public struct PhaseStore: Sendable {
  /// The directory under which each pass has its own directory.
  public var root: String
  /// Tasks per pass.
  public var tasksPerPass: [Int]
  /// Tasks of each document pass (one per input task).
  public var inputTasks: Int
  /// The files the tasks of earlier passes wrote, by pass.
  public var manifest: [Int: [WrittenFile]]

  public init(root: String, tasksPerPass: [Int], inputTasks: Int, manifest: [Int: [WrittenFile]] = [:]) {
    self.root = root
    self.tasksPerPass = tasksPerPass
    self.inputTasks = inputTasks
    self.manifest = manifest
  }

  /// Tasks per pass for `passes` over `inputTasks` input tasks.
  public static func tasksPerPass(_ passes: [PhasePass], inputTasks: Int) -> [Int] {
    passes.map {
      switch $0 {
      case .documents, .middle(.perInputTask): return inputTasks
      case .middle(.fixed(let n)): return n
      }
    }
  }

  public func directory(_ pass: Int) -> String { root + "/p\(pass)" }

  /// Task `task` of pass `pass`.
  public func task(pass: Int, task: Int) -> PhaseTask { PhaseTask(store: self, pass: pass, task: task) }
}

/// Where a task of a global stage stands: its pass and number, and the stage's store. What the
/// task writes goes through `write` (or `record`) into `written`, for its own task record.
public struct PhaseTask: Sendable {
  public var store: PhaseStore
  public var pass: Int
  public var task: Int
  /// The files this task has written so far.
  package let written = WrittenFileLog()

  public init(store: PhaseStore, pass: Int, task: Int) {
    self.store = store
    self.pass = pass
    self.task = task
  }

  /// A task of a stage whose document passes have `tasksPerPass[0]` tasks (tests, tools).
  public init(pass: Int, task: Int, tasksPerPass: [Int], root: String, manifest: [Int: [WrittenFile]] = [:]) {
    self.init(
      store: PhaseStore(root: root, tasksPerPass: tasksPerPass, inputTasks: tasksPerPass[0], manifest: manifest),
      pass: pass, task: task)
  }

  public var tasksPerPass: [Int] { store.tasksPerPass }
  public var root: String { store.root }
  public var manifest: [Int: [WrittenFile]] { store.manifest }
  public func directory(_ pass: Int) -> String { store.directory(pass) }
  public var directory: String { directory(pass) }
  public var name: String { Self.name(pass: pass, task: task) }
  /// Tasks of each document pass.
  public var inputTasks: Int { store.inputTasks }
  /// The last pass, the one that passes documents on.
  public var applyPass: Int { tasksPerPass.count - 1 }

  /// "p1-t00003": the name of a task, in file names and logs.
  public static func name(pass: Int, task: Int) -> String { "p\(pass)-t\(pad(task, 5))" }

  /// The recorded files of earlier pass `pass` whose names start with `prefix`, end with
  /// `suffix` and contain `containing`, sorted by name. Every one must exist with its recorded
  /// size (its checksum is verified as it is read), and the directory must hold no other file
  /// of that description. With `fromEveryTask`, every task of that pass must have written at
  /// least one of them (tasks write a file even when they have nothing to say, so that a
  /// missing task is told from an empty one); `what` names them in that error.
  public func files(
    ofPass pass: Int, prefix: String = "", suffix: String, containing: String = "", fromEveryTask: String? = nil
  ) throws(WinnowError) -> [WrittenFile] {
    precondition(pass < self.pass, "a task reads the files of earlier passes only")
    let dir = directory(pass)
    let dirName = "p\(pass)"
    func matches(_ name: String) -> Bool {
      name.hasPrefix(prefix) && name.hasSuffix(suffix) && (containing.isEmpty || name.contains(containing))
    }
    // Recorded names, found in this pass's directory (the run directory may be named by
    // another path on another host). A task record also lists files a task wrote elsewhere
    // (documents, side outputs): only those of this pass's directory count.
    let recorded = (manifest[pass] ?? []).compactMap { (f: WrittenFile) -> WrittenFile? in
      let name = fileName(of: f.path)
      guard fileName(of: parentDirectory(of: f.path)) == dirName, matches(name) else { return nil }
      return WrittenFile(path: dir + "/" + name, bytes: f.bytes, checksum: f.checksum)
    }.sorted { $0.path < $1.path }
    let names = Set(recorded.map { fileName(of: $0.path) })
    for f in recorded {
      guard let now = FileStamp.current(f.path) else {
        throw .io("\(f.path): missing: a task of pass \(pass) recorded writing it; run the same command again to redo that pass (or pass --fresh)")
      }
      if now.bytes != f.bytes {
        throw .io("\(f.path): has \(now.bytes) bytes, but \(f.bytes) were written; run the same command again to redo that pass (or pass --fresh)")
      }
    }
    for name in listDirectory(dir) where matches(name) && !name.hasPrefix(".") && !names.contains(name) {
      throw .io(
        "\(dir)/\(name): no task of pass \(pass) recorded writing this file (a leftover of another run, or put there by hand); remove it, or pass --fresh"
      )
    }
    if let what = fromEveryTask {
      let tasks = tasksPerPass[pass]
      var from = Set<Int>()
      for f in recorded {
        // "p0-t00012-…": the writing task is in the name.
        let name = fileName(of: f.path)
        guard name.hasPrefix("p\(pass)-t") else { continue }
        let digits = name.dropFirst(dirName.count + 2).prefix(5)
        if digits.count == 5, let t = Int(digits) { from.insert(t) }
      }
      guard (0..<tasks).allSatisfy(from.contains) else {
        let missing = (0..<tasks).first { !from.contains($0) }!
        throw .io(
          "\(what): files from \(from.count) of the \(tasks) tasks of pass \(pass) in \(dir) (none from \(Self.name(pass: pass, task: missing))); run the same command again to redo that pass (or pass --fresh)"
        )
      }
    }
    return recorded
  }

  /// Sorts `records` (unless `sort` is false) and writes them as run file `name` of this task's
  /// directory, recording it.
  public func write<R: RunRecord>(_ records: inout [R], name: String, sort: Bool = true) throws(WinnowError) {
    written.add(try SortedRunFile.write(&records, to: directory + "/" + name, sort: sort))
  }

  /// Records a file this task wrote by other means.
  public func record(_ file: WrittenFile) { written.add(file) }

  /// Creates this task's directory and removes what an earlier attempt of this task left.
  public func prepareDirectory() throws(WinnowError) {
    try makeDirectories(directory)
    for f in listDirectory(directory) where f.hasPrefix(name + "-") { unlink(directory + "/" + f) }
    for f in listDirectory(directory) where TemporaryFiles.isTemporary(f, of: name) { unlink(directory + "/" + f) }
  }
}

/// The files a task wrote, in order (a class: the stages of a task share one).
package final class WrittenFileLog: @unchecked Sendable {
  package private(set) var files: [WrittenFile] = []
  package init() {}
  package func add(_ file: WrittenFile) { files.append(file) }
}

/// The directory part of `path` ("" when it has none).
func parentDirectory(of path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return "" }
  return String(path[..<slash])
}
