import WinnowCore

/// `minhash_dedup`: near-duplicate removal with MinHash LSH, as datatrove's four MinHash
/// stages (and FineWeb) do it, in bounded memory and with the same answer for any number of
/// tasks and workers. In a recipe run it is four passes:
///
/// 1. map (per input task): each document's signature (`MinHasher`); each of its bands goes
///    as a `BandEntry` into sorted, checksummed runs, one set per reduce bucket. With
///    `exact_check` the document's shingle set goes into the task's `ShingleStore`.
/// 2. band reduce (per bucket): the bucket's runs are merged; documents with equal band keys
///    are candidate pairs. Without the exact check every member of a group is paired with the
///    group's first document; with it, each member is compared with the group's
///    representatives in input order and paired with the first whose true shingle Jaccard
///    reaches `threshold` (or becomes a representative itself). Pairs go to edge runs.
/// 3. cluster (one task): union-find over the pairs; each connected component is a cluster;
///    the document kept is the first in input order, or the longest, or the one with the
///    highest value of a field; the others are marked for their apply task.
/// 4. apply (per input task): marked documents are dropped (`near_duplicate`), or, with
///    `mode: annotate`, every document gets `minhash_cluster_id` (the input position of its
///    cluster's first document) and `minhash_cluster_size`.
///
/// `keep: datatrove` keeps the document datatrove keeps: the root its union-find ends on,
/// which depends on the order of the unions. Map then writes each band with its raw values
/// (`BandTupleRunFile`), whole bands to one bucket each; band reduce pairs consecutive
/// documents of each group of equal bands, in datatrove's order (`DatatroveBandReduce`); the
/// clustering replays the unions in that order with datatrove's union by size.
///
/// Memory: map holds at most `spill_entries` band entries (32 bytes each; `(rows + 2) × 8`
/// with `keep: datatrove`) before it writes a run; band reduce holds one group's
/// representatives and up to 2^21 pairs; cluster holds the documents that have a
/// near-duplicate (under 100 bytes each); apply holds its task's marks.
public final class MinHashDedup: GlobalStage {
  public static let descriptor = StageDescriptor(
    name: "minhash_dedup",
    summary: "Drop near-duplicate documents (MinHash LSH over word n-grams, clustered; recipe runs only)",
    role: .deduplicate,
    parameters: [
      ParameterSpec("ngram", .int(min: 1, max: 1000), default: .int(5), help: "shingle size in words (or characters with unit: char)"),
      ParameterSpec("bands", .int(min: 1, max: 1000), default: .int(14), help: "LSH bands"),
      ParameterSpec("rows", .int(min: 1, max: 1000), default: .int(8), help: "hashes per band"),
      ParameterSpec("seed", .int(min: 0, max: Int(UInt32.max)), default: .int(1), help: "seed of the hash functions (datatrove's default is 1)"),
      ParameterSpec(
        "unit", .choice(["word", "char"]), default: .string("word"),
        help: "shingles of words, or of characters for languages written without spaces"),
      ParameterSpec("language", .string, default: .string("en"), help: "word splitting: en (spaCy's rules, as datatrove) or another code (ICU)"),
      ParameterSpec(
        "exact_check", .bool, default: .bool(false),
        help: "keep only candidate pairs whose true shingle Jaccard reaches threshold (fewer false positives)"),
      ParameterSpec("threshold", .double(min: 0, max: 1), default: .double(0.8), help: "exact_check: the Jaccard similarity that makes a near-duplicate"),
      ParameterSpec(
        "keep", .choice(["first", "longest", "highest", "datatrove"]), default: .string("first"),
        help:
          "which document of a cluster stays: first in input order, longest text, highest keep_field, or datatrove (the one datatrove keeps: the root of its union-find)"
      ),
      ParameterSpec("keep_field", .string, help: "keep: highest — the numeric field compared (missing counts as lowest)"),
      ParameterSpec(
        "mode", .choice(["drop", "annotate"]), default: .string("drop"),
        help: "drop duplicates, or keep everything and add minhash_cluster_id and minhash_cluster_size"),
      ParameterSpec(
        "buckets", .int(min: 1, max: 65_536), default: .int(14),
        help:
          "reduce tasks the band keys are spread over (the result does not depend on it; with keep: datatrove whole bands, so at most bands of them have work)"
      ),
      ParameterSpec(
        "spill_entries", .int(min: 1024, max: 1 << 30), default: .int(1 << 21),
        help: "band entries a map task holds (32 bytes each; (rows + 2) x 8 with keep: datatrove) before writing a run"),
    ],
    makeGlobal: { (p, _) throws(WinnowError) in try MinHashDedup(p) },
    make: { (_, _) throws(WinnowError) in
      throw .usage(
        "minhash_dedup must see every document before it can drop one: use it in a recipe ('winnow run'); exact-dedup works in pipes")
    })

  public let config: MinHashConfig
  public let exactCheck: Bool
  public let threshold: Double
  /// Which document of a cluster is kept.
  public enum Keep: String, Sendable {
    /// The first in input order.
    case first
    /// The one with the longest text (the first of those on a tie).
    case longest
    /// The one with the highest value of `keep_field` (the first of those on a tie).
    case highest
    /// The one datatrove's `MinhashDedupCluster` keeps: the root its union by size ends on,
    /// with the pairs replayed in datatrove's order.
    case datatrove
  }
  public let keep: Keep
  public let keepField: String?
  public let annotate: Bool
  public let buckets: Int
  public let spillEntries: Int
  /// Representatives compared per band group with the exact check; a group of more distinct
  /// texts than this (a pathological bucket) pairs no further members.
  static let maxRepresentatives = 64
  public static let reason = "near_duplicate"

  convenience init(_ p: StageParameters) throws(WinnowError) {
    var c = MinHashConfig()
    c.ngram = p.int("ngram")!
    c.bands = p.int("bands")!
    c.rows = p.int("rows")!
    c.seed = UInt32(p.int("seed")!)
    c.unit = p.string("unit") == "char" ? .char : .word
    c.language = p.string("language")!
    let keep = Keep(rawValue: p.string("keep")!)!
    if keep == .highest && p.string("keep_field") == nil {
      throw .usage("stage 'minhash_dedup': keep: highest needs keep_field (the numeric field to compare)")
    }
    if keep != .highest && p.string("keep_field") != nil {
      throw .usage("stage 'minhash_dedup': keep_field only applies with keep: highest")
    }
    if keep == .datatrove && p.bool("exact_check")! {
      throw .usage(
        "stage 'minhash_dedup': keep: datatrove reproduces datatrove's clusters, which have no exact check; use exact_check with keep: first, longest or highest")
    }
    self.init(
      config: c, exactCheck: p.bool("exact_check")!, threshold: p.double("threshold")!, keep: keep,
      keepField: p.string("keep_field"), annotate: p.string("mode") == "annotate", buckets: p.int("buckets")!,
      spillEntries: p.int("spill_entries")!)
  }

  /// A stage with these settings. `keep: .highest` needs `keepField`; `keep: .datatrove` does
  /// not combine with `exactCheck` (datatrove has no exact check).
  public init(
    config: MinHashConfig = MinHashConfig(), exactCheck: Bool = false, threshold: Double = 0.8, keep: Keep = .first,
    keepField: String? = nil, annotate: Bool = false, buckets: Int = 14, spillEntries: Int = 1 << 21
  ) {
    precondition(keep != .datatrove || !exactCheck, "keep: datatrove does not combine with the exact check")
    self.config = config
    self.exactCheck = exactCheck
    self.threshold = threshold
    self.keep = keep
    self.keepField = keepField
    self.annotate = annotate
    self.buckets = buckets
    self.spillEntries = spillEntries
  }

  /// Map (signatures), band reduce (one task per bucket), cluster (one task), apply.
  public var passes: [PhasePass] { [.documents, .middle(.fixed(buckets)), .middle(.fixed(1)), .documents] }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    return try MinHashSignatureStage(self, phase: phase)
  }

  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    switch phase.pass {
    case 1 where keep == .datatrove:
      var reduce = DatatroveBandReduce(self, phase: phase)
      return try reduce.run()
    case 1:
      var reduce = MinHashBandReduce(self, phase: phase)
      return try reduce.run()
    default: return try MinHashClustering(self, phase: phase).run()
    }
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    var marks: [ClusterMark] = []
    // The clustering task writes one per apply task.
    let files = try phase.files(ofPass: 2, suffix: "-" + phase.name + ".marks", fromEveryTask: "minhash_dedup: marks for \(phase.name)")
    for f in files { marks += try SortedRunFile.readAll(f, as: ClusterMark.self) }
    let offset = try Self.inputOffsets(phase)[phase.task]
    return MinHashApplyStage(marks: marks.sorted(), annotate: annotate, inputOffset: offset)
  }

  /// The priority of a document for `keep`: higher wins, ties go to the first in input order.
  func priority(_ doc: Document) -> UInt64 {
    switch keep {
    case .first, .datatrove: return 0
    case .longest: return UInt64(doc.scalarCount)
    case .highest:
      guard case .number(let v, _)? = doc.field(keepField!), !v.isNaN else { return 0 }
      // Order-preserving map of doubles onto unsigned integers; 0 stays below every number.
      let bits = v.bitPattern
      return max(1, bits >> 63 == 1 ? ~bits : bits | (1 << 63))
    }
  }

  /// The bucket of band `band` under `keep: datatrove`: whole bands, in band order, so that
  /// the pairs of a band are found by one reduce task, in datatrove's order. (With more
  /// buckets than bands, some reduce tasks have nothing to do.)
  func datatroveBucket(_ band: Int) -> Int { band * buckets / config.bands }

  /// The input position of each map task's first document.
  static func inputOffsets(_ phase: PhaseTask) throws(WinnowError) -> [UInt64] {
    var offsets: [UInt64] = []
    var total: UInt64 = 0
    for t in 0..<phase.inputTasks {
      let name = PhaseTask.name(pass: 0, task: t) + "-count.run"
      let files = try phase.files(ofPass: 0, prefix: name, suffix: name)
      guard let file = files.first else {
        throw .io("minhash_dedup: map task \(PhaseTask.name(pass: 0, task: t)) recorded no \(name) in \(phase.directory(0))")
      }
      let counts = try SortedRunFile.readAll(file, as: TaskCount.self)
      guard let c = counts.first else { throw .io("\(file.path): empty count file") }
      offsets.append(total)
      total += c.documents
    }
    offsets.append(total)
    return offsets
  }
}

/// Map: signatures into band runs (and shingle sets into the task's store).
final class MinHashSignatureStage: PhaseDocumentStage {
  let owner: MinHashDedup
  let phase: PhaseTask
  var hasher: MinHasher
  var buffers: [[BandEntry]]
  /// Under `keep: datatrove`, per bucket: band entries with their raw values
  /// (`BandTupleRunFile`), one after the other.
  var tuples: [[UInt64]]
  var spills: [Int]
  var buffered = 0
  var ordinal: UInt64 = 0
  var signed: UInt64 = 0
  let shingleStore: ShingleStoreWriter?
  var failure: WinnowError?

  init(_ owner: MinHashDedup, phase: PhaseTask) throws(WinnowError) {
    self.owner = owner
    self.phase = phase
    hasher = MinHasher(owner.config)
    hasher.distinct = owner.exactCheck
    buffers = Array(repeating: [], count: owner.buckets)
    tuples = Array(repeating: [], count: owner.buckets)
    spills = Array(repeating: 0, count: owner.buckets)
    shingleStore = owner.exactCheck ? try ShingleStoreWriter(path: phase.directory + "/" + phase.name + "-shingles.bin") : nil
  }

  func process(_ doc: Document) -> Verdict {
    let ord = ordinal
    ordinal += 1
    guard hasher.sign(doc.text) else { return .keep }
    signed += 1
    let node = DocumentNode.make(task: phase.task, ordinal: ord)
    if owner.keep == .datatrove {
      addTuples(node)
    } else {
      let priority = owner.priority(doc)
      let rows = owner.config.rows
      let buckets = UInt64(owner.buckets)
      hasher.signature.withUnsafeBufferPointer { sig in
        for band in 0..<owner.config.bands {
          let key = MinHasher.bandKey(band, rows: rows, of: sig)
          buffers[Int(key.high % buckets)].append(BandEntry(key: key, node: node, priority: priority))
        }
      }
    }
    buffered += owner.config.bands
    if let shingleStore, failure == nil {
      do { try shingleStore.add(ordinal: ord, shingles: hasher.shingles) } catch { failure = error }
    }
    if buffered >= owner.spillEntries {
      for b in 0..<owner.buckets where !buffers[b].isEmpty || !tuples[b].isEmpty { spill(b) }
      buffered = 0
    }
    return .keep
  }

  /// Each band of the signature with its values, for `keep: datatrove`.
  func addTuples(_ node: UInt64) {
    let rows = owner.config.rows
    hasher.signature.withUnsafeBufferPointer { sig in
      for band in 0..<owner.config.bands {
        let b = owner.datatroveBucket(band)
        tuples[b].append(UInt64(band))
        tuples[b].append(contentsOf: sig[(band * rows)..<((band + 1) * rows)])
        tuples[b].append(node)
      }
    }
  }

  func spill(_ b: Int) {
    guard failure == nil else { return }
    if owner.keep == .datatrove {
      spillTuples(b)
      return
    }
    let name = "\(phase.name)-b\(pad(b, 4))-c\(pad(spills[b], 4)).bands"
    // Sorted here, where the sort is specialised for BandEntry (the generic writer's sort
    // is not, across modules).
    buffers[b].sort()
    do { try phase.write(&buffers[b], name: name, sort: false) } catch { failure = error }
    buffers[b] = []
    spills[b] += 1
  }

  func spillTuples(_ b: Int) {
    let name = "\(phase.name)-b\(pad(b, 4))-c\(pad(spills[b], 4)).tuples"
    do {
      let width = BandTupleRunFile.width(rows: owner.config.rows)
      phase.record(try BandTupleRunFile.write(tuples[b], width: width, to: phase.directory + "/" + name))
    } catch {
      failure = error
    }
    tuples[b] = []
    spills[b] += 1
  }

  /// Every bucket gets at least one (maybe empty) run, so that reduce tasks can tell a
  /// finished map task from a missing one; the count file is written last.
  func finish() throws(WinnowError) {
    for b in 0..<owner.buckets where !buffers[b].isEmpty || !tuples[b].isEmpty || spills[b] == 0 { spill(b) }
    if let failure {
      shingleStore?.abort()
      throw failure
    }
    if let shingleStore { phase.record(try shingleStore.finish()) }
    var count = [TaskCount(documents: ordinal, signed: signed)]
    try phase.write(&count, name: phase.name + "-count.run")
  }
}

/// Band reduce: candidate pairs of one bucket (verified with the exact check).
struct MinHashBandReduce {
  let owner: MinHashDedup
  let phase: PhaseTask
  var edges: [DuplicateEdge] = []
  var chunks = 0
  var stores: [Int: ShingleStoreReader] = [:]
  var pairsChecked = 0
  var pairsRejected = 0

  init(_ owner: MinHashDedup, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
  }

  mutating func run() throws(WinnowError) -> RunStats {
    let runs = try phase.files(
      ofPass: 0, suffix: ".bands", containing: "-b\(pad(phase.task, 4))-", fromEveryTask: "minhash_dedup bucket \(phase.task): band runs")
    try phase.prepareDirectory()
    let merger = try SortedRunMerger<BandEntry>(files: runs)
    var entries = 0
    var groupKey: Hash128?
    var first = BandEntry(key: Hash128(low: 0, high: 0), node: 0, priority: 0)
    var reps: [(BandEntry, [UInt64])] = []
    var scratch: [UInt64] = []
    while let e = try merger.next() {
      entries += 1
      if e.key != groupKey {
        groupKey = e.key
        first = e
        reps.removeAll(keepingCapacity: true)
        if owner.exactCheck {
          try load(e.node, into: &scratch)
          reps.append((e, scratch))
        }
        continue
      }
      guard owner.exactCheck else {
        try add(DuplicateEdge(a: first.node, aPriority: first.priority, b: e.node, bPriority: e.priority))
        continue
      }
      try load(e.node, into: &scratch)
      var linked = false
      for (rep, shingles) in reps {
        pairsChecked += 1
        let j = scratch.withUnsafeBufferPointer { x in shingles.withUnsafeBufferPointer { MinHasher.jaccard(x, $0) } }
        if j >= owner.threshold {
          try add(DuplicateEdge(a: rep.node, aPriority: rep.priority, b: e.node, bPriority: e.priority))
          linked = true
          break
        }
        pairsRejected += 1
      }
      if !linked && reps.count < MinHashDedup.maxRepresentatives { reps.append((e, scratch)) }
    }
    try flush()
    return Self.stats(entries: entries, runs: runs.map(\.path))
  }

  /// A band reduce task's counts: every band entry read counts as a document kept.
  static func stats(entries: Int, runs: [String]) -> RunStats {
    var stats = RunStats()
    stats.documentsRead = entries
    stats.inputFiles = runs
    var st = StageStats(name: MinHashDedup.descriptor.name)
    st.documentsIn = entries
    st.kept = entries
    stats.stages = [st]
    return stats
  }

  mutating func load(_ node: UInt64, into out: inout [UInt64]) throws(WinnowError) {
    let task = DocumentNode.task(node)
    if stores[task] == nil {
      let name = PhaseTask.name(pass: 0, task: task) + "-shingles.bin"
      guard let file = try phase.files(ofPass: 0, prefix: name, suffix: name).first else {
        throw .io("minhash_dedup: map task \(PhaseTask.name(pass: 0, task: task)) recorded no \(name) in \(phase.directory(0))")
      }
      stores[task] = try ShingleStoreReader(file: file)
    }
    try stores[task]!.shingles(DocumentNode.ordinal(node), into: &out)
  }

  mutating func add(_ e: DuplicateEdge) throws(WinnowError) {
    edges.append(e)
    if edges.count >= 1 << 21 { try flush() }
  }

  /// Writes the pairs found so far as a sorted run without repeats (the same pair is found in
  /// several bands). Every band task writes at least one run.
  mutating func flush() throws(WinnowError) {
    guard !edges.isEmpty || chunks == 0 else { return }
    edges.sort()
    edges.removeAdjacentDuplicates()
    try phase.write(&edges, name: "\(phase.name)-c\(pad(chunks, 4)).edges", sort: false)
    edges.removeAll(keepingCapacity: true)
    chunks += 1
  }
}

/// Cluster: connected components of the pairs, the document kept of each, marks per task.
struct MinHashClustering {
  let owner: MinHashDedup
  let phase: PhaseTask

  init(_ owner: MinHashDedup, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
  }

  func run() throws(WinnowError) -> RunStats {
    let offsets = try MinHashDedup.inputOffsets(phase)
    let datatrove = owner.keep == .datatrove
    let runs = try phase.files(
      ofPass: 1, suffix: datatrove ? ".oedges" : ".edges", fromEveryTask: "minhash_dedup clustering: pair runs")
    try phase.prepareDirectory()
    var index: [UInt64: Int32] = [:]
    var nodes: [UInt64] = []
    var priorities: [UInt64] = []
    var parent: [Int32] = []
    func id(_ node: UInt64, _ priority: UInt64) -> Int32 {
      if let k = index[node] { return k }
      let k = Int32(nodes.count)
      index[node] = k
      nodes.append(node)
      priorities.append(priority)
      parent.append(k)
      return k
    }
    func root(_ x: Int32) -> Int32 {
      var r = x
      while parent[Int(r)] != r { r = parent[Int(r)] }
      var y = x
      while parent[Int(y)] != r {
        let next = parent[Int(y)]
        parent[Int(y)] = r
        y = next
      }
      return r
    }
    var pairs = 0
    if datatrove {
      // datatrove's MinhashDedupCluster: the pairs in its order (band, then its order within
      // the band), union by size; on a tie the root of the pair's first document stays root.
      // Its root is the document it keeps.
      var setSize: [UInt64] = []
      let merger = try SortedRunMerger<OrderedDuplicateEdge>(files: runs)
      while let e = try merger.next() {
        pairs += 1
        var a = root(id(e.a, 0))
        var b = root(id(e.b, 0))
        if setSize.count < nodes.count { setSize += repeatElement(1, count: nodes.count - setSize.count) }
        guard a != b else { continue }
        if setSize[Int(a)] < setSize[Int(b)] { swap(&a, &b) }
        parent[Int(b)] = a
        setSize[Int(a)] += setSize[Int(b)]
      }
    } else {
      for run in runs {
        let reader = try SortedRunReader<DuplicateEdge>(file: run)
        while let e = try reader.next() {
          pairs += 1
          let a = root(id(e.a, e.aPriority))
          let b = root(id(e.b, e.bPriority))
          // The smaller index becomes the root: deterministic, and roots stay early nodes.
          if a != b { if a < b { parent[Int(b)] = a } else { parent[Int(a)] = b } }
        }
      }
    }
    // Per component: size, first node, and the node kept (highest priority, then first; the
    // root under keep: datatrove).
    var size: [Int32: UInt64] = [:]
    var firstNode: [Int32: UInt64] = [:]
    var keeper: [Int32: Int32] = [:]
    for k in 0..<Int32(nodes.count) {
      let r = root(k)
      size[r, default: 0] += 1
      let node = nodes[Int(k)]
      if firstNode[r].map({ node < $0 }) ?? true { firstNode[r] = node }
      if datatrove {
        keeper[r] = r
      } else if let best = keeper[r] {
        let (bp, bn) = (priorities[Int(best)], nodes[Int(best)])
        if priorities[Int(k)] > bp || (priorities[Int(k)] == bp && node < bn) { keeper[r] = k }
      } else {
        keeper[r] = k
      }
    }
    var marks: [Int: [ClusterMark]] = [:]
    var duplicates = 0
    for k in 0..<Int32(nodes.count) {
      let r = root(k)
      let node = nodes[Int(k)]
      let dup = keeper[r] != k
      if dup { duplicates += 1 }
      guard dup || owner.annotate else { continue }
      let first = firstNode[r]!
      let cluster = offsets[DocumentNode.task(first)] + DocumentNode.ordinal(first)
      marks[DocumentNode.task(node), default: []].append(
        ClusterMark(ordinal: DocumentNode.ordinal(node), cluster: cluster, size: size[r]!, duplicate: dup))
    }
    // Every apply task gets its marks file, empty or not: a missing one is then an error
    // rather than "nothing to drop".
    for task in 0..<phase.inputTasks {
      var l = marks[task] ?? []
      try phase.write(&l, name: "\(phase.name)-\(PhaseTask.name(pass: phase.applyPass, task: task)).marks")
    }
    let total = Int(offsets.last!)
    var sizes: [Int: Int] = [1: total - nodes.count]
    for (_, n) in size { sizes[Int(n), default: 0] += 1 }
    var stats = RunStats()
    stats.documentsRead = pairs
    stats.inputFiles = runs.map(\.path)
    var st = StageStats(name: MinHashDedup.descriptor.name)
    st.documentsIn = total
    st.kept = total - duplicates
    st.dropped = owner.annotate ? 0 : duplicates
    if duplicates > 0 && !owner.annotate { st.droppedByReason[MinHashDedup.reason] = duplicates }
    st.clusterSizes = Dictionary(uniqueKeysWithValues: sizes.filter { $0.value > 0 }.map { (String($0.key), $0.value) })
    stats.stages = [st]
    return stats
  }
}

/// Apply: drops (or annotates) the documents the clustering marked, by position.
final class MinHashApplyStage: DocumentStage {
  let marks: [ClusterMark]
  let annotate: Bool
  let inputOffset: UInt64
  var next = 0
  var ordinal: UInt64 = 0

  init(marks: [ClusterMark], annotate: Bool, inputOffset: UInt64) {
    self.marks = marks
    self.annotate = annotate
    self.inputOffset = inputOffset
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    while next < marks.count && marks[next].ordinal < ordinal { next += 1 }
    let mark = next < marks.count && marks[next].ordinal == ordinal ? marks[next] : nil
    if annotate {
      doc.annotate("minhash_cluster_id", .int(Int(mark?.cluster ?? (inputOffset + ordinal))))
      doc.annotate("minhash_cluster_size", .int(Int(mark?.size ?? 1)))
      return .keep
    }
    if let mark, mark.duplicate == 1 { return .drop(MinHashDedup.reason) }
    return .keep
  }
}
