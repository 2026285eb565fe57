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
  /// What becomes of a document without a key (kept, dropped or quarantined as the stage says).
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
public final class KeyEmitStage: PhaseDocumentStage {
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

  /// Map (keys into runs), reduce (one task per bucket), apply.
  public var passes: [PhasePass] { [.documents, .middle(.fixed(buckets)), .documents] }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    return KeyEmitStage(global: stage, phase: phase, buckets: buckets)
  }

  /// Reduce task `bucket`: merges that bucket's runs from every map task and marks every
  /// entry after the first of its key. Marks go to one small sorted file per apply task.
  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    let bucket = phase.task
    let b = "-b" + pad(bucket, 4) + "-"
    // Every map task leaves at least one run per bucket: fewer means the map pass is incomplete.
    let runs = try phase.files(ofPass: 0, suffix: ".run", containing: b, fromEveryTask: "\(name) reduce bucket \(bucket): key runs")
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
    // A marks file for each apply task with something to drop from this bucket (most get none
    // from most buckets: a file for each would be buckets × tasks files to create and open),
    // then the bucket's summary, written by every reduce task: which apply tasks got marks and
    // how many. An apply task checks its marks against the summaries, so a missing reduce task
    // or marks file is an error rather than "nothing to drop".
    var summary: [PhaseEntry] = []
    for t in 0..<phase.inputTasks {
      guard var l = marks[UInt64(t)], !l.isEmpty else { continue }
      summary.append(PhaseEntry(key: Hash128(low: 0, high: 0), task: UInt64(t), ordinal: UInt64(l.count)))
      try phase.write(&l, name: "\(phase.name)-\(PhaseTask.name(pass: phase.applyPass, task: t)).marks")
    }
    try phase.write(&summary, name: "\(phase.name)\(Self.summarySuffix)")
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

  /// What every reduce task writes last (`p1-tBBBBB.marked`): per apply task it wrote a marks
  /// file for, the task and the number of marks.
  static let summarySuffix = ".marked"

  /// The positions the reduce pass marked for this apply task, from every bucket: as many as
  /// the buckets' summaries say, or an error naming what is missing.
  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let me = UInt64(phase.task)
    var expected = 0
    var fromBuckets = 0
    let summaries = try phase.files(ofPass: 1, suffix: Self.summarySuffix, fromEveryTask: "\(name): reduce summaries")
    for f in summaries {
      for e in try SortedRunFile.readAll(f, as: PhaseEntry.self) where e.task == me {
        let (sum, overflow) = expected.addingReportingOverflow(Int(truncatingIfNeeded: e.ordinal))
        guard !overflow, e.ordinal <= UInt64(Int.max) else { throw .io("\(f.path): a mark count out of range") }
        expected = sum
        fromBuckets += 1
      }
    }
    var marked: [UInt64] = []
    let files = try phase.files(ofPass: 1, suffix: "-" + phase.name + ".marks")
    for f in files {
      for e in try SortedRunFile.readAll(f, as: PhaseEntry.self) { marked.append(e.ordinal) }
    }
    guard files.count == fromBuckets, marked.count == expected else {
      throw .io(
        "\(name): marks for \(phase.name): \(marked.count) in \(files.count) files, where the reduce pass's summaries list \(expected) in \(fromBuckets); run the same command again to redo that pass (or pass --fresh)"
      )
    }
    return MarkedDropStage(global: stage, marked: marked)
  }
}
