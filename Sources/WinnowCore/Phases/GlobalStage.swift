/// A stage that must see every document of a run: keyed, first-occurrence-wins dedup. In a
/// recipe run it is planned as phases (DESIGN.md, "Stages"):
///
/// - map, per input task: the stages before it run, and every document reaching it emits its
///   key and position into sorted, checksummed runs, one set per bucket;
/// - reduce, per bucket: the runs of every map task are merged; every entry after the first of
///   its key marks a document to drop;
/// - apply, per input task: the inputs are read again, the stages before it run again (they are
///   deterministic, so the same documents reach it in the same order), the marked documents
///   are dropped, and the stages after it run.
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
public final class KeyEmitStage: DocumentStage {
  let global: KeyedGlobalStage
  let task: UInt64
  let buckets: Int
  let directory: String
  let filePrefix: String
  let spillAt: Int
  var buffers: [[PhaseEntry]]
  var spills: [Int]
  var ordinal: UInt64 = 0
  public private(set) var files: [String] = []
  var failure: WinnowError?

  /// `spillAt`: entries per bucket buffer before it is written out (32 bytes each).
  public init(global: KeyedGlobalStage, task: Int, buckets: Int, directory: String, filePrefix: String, spillAt: Int = 1 << 20) {
    self.global = global
    self.task = UInt64(task)
    self.buckets = buckets
    self.directory = directory
    self.filePrefix = filePrefix
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
    let path = "\(directory)/\(filePrefix)-b\(pad(b, 4))-c\(pad(spills[b], 4)).run"
    do {
      try SortedRunFile.write(&buffers[b], to: path)
      files.append(path)
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
