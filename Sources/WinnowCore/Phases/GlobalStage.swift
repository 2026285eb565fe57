import Glibc

/// A stage that must see every document of a run (near-duplicate removal, keyed dedup). A
/// recipe run plans it as passes (DESIGN.md, "Stages"):
///
/// - map, one task per input task: the stages before it run, and the stage's map stage sees
///   every document reaching it, writing what it needs into files of the map pass;
/// - middle passes, each with a fixed number of tasks (buckets, or one): they read the files of
///   earlier passes and write their own;
/// - apply, per input task: the inputs are read again, the stages before it run again (they are
///   deterministic, so the same documents reach it in the same order), the stage's apply stage
///   drops or annotates documents by their position, and the stages after it run.
///
/// Every task's result depends only on the input order, never on the number of tasks or
/// workers, so every executor and worker count writes the same bytes.
public protocol GlobalStage: AnyObject {
  /// The number of tasks of each middle pass.
  var middlePasses: [Int] { get }
  /// The last per-document stage of a map task.
  func mapStage(_ phase: PhaseTask) throws(WinnowError) -> PhaseMapStage
  /// Runs one task of middle pass `phase.pass` (1…middlePasses.count).
  func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats
  /// The per-document stage that takes the global stage's place in an apply task.
  func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage
}

/// The per-document stage of a map task; `finish` writes what is left once the input ends.
public protocol PhaseMapStage: DocumentStage {
  func finish() throws(WinnowError)
}

/// Where a task of a global stage stands and where the files of each pass live. Passes are
/// numbered from 0 (map); the apply pass is the last.
///
/// A task never trusts a directory listing: `manifest` holds the files every task of the
/// earlier passes recorded as written (names, sizes, checksums, from their task records), and
/// `files(ofPass:…)` hands out exactly those — a missing file, or one in the directory that no
/// task recorded, is an error naming it, never a silently smaller input. What this task writes
/// goes through `write` (or `record`) into `written`, for its own task record.
public struct PhaseTask: Sendable {
  public var pass: Int
  public var task: Int
  /// Tasks per pass, map to apply.
  public var tasksPerPass: [Int]
  /// The directory under which each pass has its own directory.
  public var root: String
  /// The files the tasks of earlier passes wrote, by pass.
  public var manifest: [Int: [WrittenFile]]
  /// The files this task has written so far.
  public let written = WrittenFileLog()

  public init(pass: Int, task: Int, tasksPerPass: [Int], root: String, manifest: [Int: [WrittenFile]] = [:]) {
    self.pass = pass
    self.task = task
    self.tasksPerPass = tasksPerPass
    self.root = root
    self.manifest = manifest
  }

  public func directory(_ pass: Int) -> String { root + "/p\(pass)" }
  public var directory: String { directory(pass) }
  public var name: String { Self.name(pass: pass, task: task) }
  /// Tasks of the map pass (and of the apply pass).
  public var inputTasks: Int { tasksPerPass[0] }
  public var applyPass: Int { tasksPerPass.count - 1 }

  /// "p1-t00003": the name of a task, in file names and logs.
  public static func name(pass: Int, task: Int) -> String { "p\(pass)-t\(pad(task, 5))" }

  /// The recorded files of earlier pass `pass` whose names start with `prefix`, end with
  /// `suffix` and contain `containing`, sorted by name. Every one must exist with its recorded
  /// size (its checksum is verified as it is read), and the directory must hold no other file
  /// of that description.
  public func files(ofPass pass: Int, prefix: String = "", suffix: String, containing: String = "") throws(WinnowError)
    -> [WrittenFile]
  {
    precondition(pass < self.pass, "a task reads the files of earlier passes only")
    let dir = directory(pass)
    func matches(_ name: String) -> Bool {
      name.hasPrefix(prefix) && name.hasSuffix(suffix) && (containing.isEmpty || name.contains(containing))
    }
    // Recorded names, found in this pass's directory (the run directory may be named by
    // another path on another host).
    let recorded = (manifest[pass] ?? []).compactMap { (f: WrittenFile) -> WrittenFile? in
      let name = fileName(of: f.path)
      return matches(name) ? WrittenFile(path: dir + "/" + name, bytes: f.bytes, checksum: f.checksum) : nil
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
public final class WrittenFileLog: @unchecked Sendable {
  public private(set) var files: [WrittenFile] = []
  public init() {}
  public func add(_ file: WrittenFile) { files.append(file) }
}

/// A keyed, first-occurrence-wins global stage (`exact_dedup`): every document has at most
/// one key, and every document after the first of its key is a duplicate. `KeyedPhases` runs
/// it as map (keys into sorted runs per bucket), reduce (per bucket: merge, mark) and apply.
///
/// Memory does not grow with the corpus: map spills sorted runs at a fixed size, reduce merges
/// runs streaming, apply holds only its own task's drop list.
public protocol KeyedGlobalStage: AnyObject {
  /// The key of a document, or nil when it has none (for example a missing field); such
  /// documents are decided by `verdictWithoutKey`.
  func key(_ doc: Document) -> Hash128?
  func verdictWithoutKey(_ doc: Document) -> Verdict
  /// Whether some documents can lack a key (a keyed field may be missing). When false, the
  /// apply phase does not compute keys at all.
  var mayLackKey: Bool { get }
  /// The drop reason of a duplicate.
  var duplicateReason: String { get }
}

/// The apply phase of a keyed global stage, as a per-document stage: drops the documents the
/// reduce phase marked, by their position among the documents reaching the stage.
public final class MarkedDropStage: DocumentStage {
  let global: KeyedGlobalStage
  /// Sorted positions to drop.
  let marked: [UInt64]
  var next = 0
  var ordinal: UInt64 = 0

  public init(global: KeyedGlobalStage, marked: [UInt64]) {
    self.global = global
    self.marked = marked.sorted()
  }

  public func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    while next < marked.count && marked[next] < ordinal { next += 1 }
    if next < marked.count && marked[next] == ordinal { return .drop(global.duplicateReason) }
    // Documents without a key emitted nothing in the map phase and are never marked; only a
    // stage whose documents can lack a key needs the key again to find them.
    guard global.mayLackKey, global.key(doc) == nil else { return .keep }
    return global.verdictWithoutKey(doc)
  }
}

/// The map phase of a keyed global stage, as the last per-document stage of a map task: it
/// emits every document's key into per-bucket buffers, spilling each as a sorted run when it
/// is full, and keeps every document (nothing is written but the runs).
public final class KeyEmitStage: PhaseMapStage {
  let global: KeyedGlobalStage
  let phase: PhaseTask
  let task: UInt64
  let buckets: Int
  let spillAt: Int
  var buffers: [[PhaseEntry]]
  var spills: [Int]
  var ordinal: UInt64 = 0
  public private(set) var files: [String] = []
  var failure: WinnowError?

  /// `spillAt`: entries per bucket buffer before it is written out (32 bytes each).
  public init(global: KeyedGlobalStage, phase: PhaseTask, buckets: Int, spillAt: Int = 1 << 20) {
    self.global = global
    self.phase = phase
    self.task = UInt64(phase.task)
    self.buckets = buckets
    self.spillAt = spillAt
    buffers = Array(repeating: [], count: buckets)
    spills = Array(repeating: 0, count: buckets)
  }

  public static func bucket(of key: Hash128, buckets: Int) -> Int { Int(key.high % UInt64(buckets)) }

  public func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    guard let k = global.key(doc) else { return .keep }
    let b = Self.bucket(of: k, buckets: buckets)
    buffers[b].append(PhaseEntry(key: k, task: task, ordinal: ordinal))
    if buffers[b].count >= spillAt { spill(b) }
    return .keep
  }

  private func spill(_ b: Int) {
    guard failure == nil else { return }
    let name = "\(phase.name)-b\(pad(b, 4))-c\(pad(spills[b], 4)).run"
    do {
      try phase.write(&buffers[b], name: name)
      files.append(phase.directory + "/" + name)
    } catch {
      failure = error
    }
    buffers[b].removeAll(keepingCapacity: false)
    spills[b] += 1
  }

  /// Writes what is left; every bucket gets at least one (possibly empty) run so that reduce
  /// tasks can tell a finished map task from a missing one.
  public func finish() throws(WinnowError) {
    for b in 0..<buckets where !buffers[b].isEmpty || spills[b] == 0 { spill(b) }
    if let failure { throw failure }
  }
}

func pad(_ v: Int, _ width: Int) -> String {
  let s = String(v)
  return String(repeating: "0", count: max(0, width - s.count)) + s
}

/// The phases of a keyed global stage: map, one reduce pass over `buckets` tasks, apply.
public final class KeyedPhases: GlobalStage {
  public let stage: KeyedGlobalStage
  public let name: String
  public let buckets: Int

  public init(_ stage: KeyedGlobalStage, name: String, buckets: Int) {
    self.stage = stage
    self.name = name
    self.buckets = buckets
  }

  public var middlePasses: [Int] { [buckets] }

  public func mapStage(_ phase: PhaseTask) throws(WinnowError) -> PhaseMapStage {
    try phase.prepareDirectory()
    return KeyEmitStage(global: stage, phase: phase, buckets: buckets)
  }

  /// Reduce task `bucket`: merges that bucket's runs from every map task and marks every
  /// entry after the first of its key. Marks go to one small sorted file per apply task.
  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    let bucket = phase.task
    let b = "-b" + pad(bucket, 4) + "-"
    let runs = try phase.files(ofPass: 0, suffix: ".run", containing: b)
    // Every map task leaves at least one run per bucket: fewer means the map pass is incomplete.
    let tasksWithRuns = Set(runs.map { fileName(of: $0.path).prefix(9) })
    guard tasksWithRuns.count == phase.inputTasks else {
      throw .io("reduce bucket \(bucket): runs from \(tasksWithRuns.count) of \(phase.inputTasks) map tasks in \(phase.directory(0))")
    }
    let merger = try SortedRunMerger<PhaseEntry>(files: runs)
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
    try phase.prepareDirectory()
    // Every apply task gets a marks file from every bucket, empty or not: a missing one is then
    // an error rather than "nothing to drop".
    for t in 0..<phase.inputTasks {
      var l = marks[UInt64(t)] ?? []
      try phase.write(&l, name: "\(phase.name)-\(PhaseTask.name(pass: phase.applyPass, task: t)).marks")
    }
    var stats = RunStats()
    stats.documentsRead = entries
    stats.inputFiles = runs.map(\.path)
    var st = StageStats(name: name)
    st.documentsIn = entries
    st.kept = entries - duplicates
    st.dropped = duplicates
    if duplicates > 0 { st.droppedByReason[stage.duplicateReason] = duplicates }
    st.clusterSizes = Dictionary(uniqueKeysWithValues: clusterSizes.map { (String($0.key), $0.value) })
    stats.stages = [st]
    return stats
  }

  /// The positions the reduce pass marked for this apply task, from every bucket.
  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    var marked: [UInt64] = []
    let files = try phase.files(ofPass: 1, suffix: "-" + phase.name + ".marks")
    guard files.count == buckets else {
      throw .io("\(name): marks for \(phase.name) from \(files.count) of \(buckets) reduce tasks in \(phase.directory(1))")
    }
    for f in files {
      for e in try SortedRunFile.readAll(f, as: PhaseEntry.self) { marked.append(e.ordinal) }
    }
    return MarkedDropStage(global: stage, marked: marked)
  }
}
