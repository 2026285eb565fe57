import WinnowCore

/// `bandit_select`: Quad's cluster bandit (`QuadBandit`) run offline on scores the documents
/// carry (influence scores joined onto them, quality scores): each cluster's documents, in
/// input order, are its blocks of `block_size` documents and its probe windows of `probe_size`
/// documents (window s, the s-th time the cluster is an arm, as the reference reads them);
/// an arm's reward is the mean score of its probe window minus `reward_offset` (documents
/// without the score field are left out of the mean; a window without any scores gives
/// −reward_offset). Rounds run until `max_rounds`, until the winning blocks reach `budget`
/// documents, or until the clusters run out. A cluster that won w blocks keeps its first
/// w·block_size documents (as the reference's final selection does); every other document is
/// dropped (`bandit_not_selected`).
///
/// Passes (docs/architecture.md, "Phases"):
/// 1. documents: each task's (cluster, position, score) entries, sorted;
/// 2. middle ×1: the entries merged in cluster and input order; the rounds; the selected
///    positions written (and each round to `save_rounds` when asked);
/// 3. documents (apply): keep the selected documents.
public final class BanditSelectStage: GlobalStage, DocumentStage {
  /// The recipe name, parameters and factories.
  public static let descriptor = StageDescriptor(
    name: "bandit_select",
    summary: "Select clusters with Quad's upper-confidence-bound bandit, rewarded by a per-document score",
    role: .select,
    parameters: [
      ParameterSpec("score_field", .string, required: true, help: "field holding each document's reward score (influence, quality)"),
      ParameterSpec("cluster_field", .string, default: .string("cluster"), help: "field holding each document's cluster"),
      ParameterSpec("centroids", .string, file: .reads, help: "cluster centroids (.npy, as cluster's save_centroids writes); neighbours are clusters closer than radius"),
      ParameterSpec("embedding_field", .string, help: "without centroids: each cluster's centroid is the mean of its documents' vectors in this field (default: no neighbours but the cluster itself)"),
      ParameterSpec("distance", .choice(["cosine", "euclidean"]), default: .string("cosine"), help: "centroid distance for the neighbours: 1 − cosine, or Euclidean"),
      ParameterSpec("arms", .int(min: 1, max: nil), default: .int(50), help: "clusters per round"),
      ParameterSpec("probe_size", .int(min: 1, max: nil), default: .int(10), help: "probe documents measured per arm"),
      ParameterSpec("block_size", .int(min: 1, max: nil), default: .int(20_000), help: "documents a winning arm adds"),
      ParameterSpec("alpha", .double(min: 0, max: nil), default: .double(1e-4), help: "exploration weight α"),
      ParameterSpec("radius", .double(min: 0, max: nil), default: .double(0.2), help: "neighbour radius (centroid distance)"),
      ParameterSpec("reward_offset", .double(min: nil, max: nil), default: .double(0.002), help: "subtracted from each arm's mean score"),
      ParameterSpec("max_rounds", .int(min: 1, max: nil), default: .int(200), help: "rounds at most"),
      ParameterSpec("budget", .int(min: 1, max: nil), default: .int(10_000_000), help: "stop once the winning blocks hold this many documents"),
      ParameterSpec("save_rounds", .string, file: .writes, help: "write each round (arms, rewards, blocks won) here as JSON Lines"),
    ],
    makeGlobal: { (p, _) throws(WinnowError) in try BanditSelectStage(p) },
    make: { (_, _) throws(WinnowError) in
      throw .usage("stage 'bandit_select' runs its rounds over every cluster before it keeps one document: run it in a recipe ('winnow run')")
    })

  /// Drop reasons.
  public static let notSelected = "bandit_not_selected"
  /// Drop reason: the document has no cluster.
  public static let noCluster = "bandit_no_cluster"

  /// The field holding each document's reward score.
  public let scoreField: String
  /// The field holding each document's cluster.
  public let clusterField: String
  /// The clusters' centroids from a file, when given (neighbours by their distance).
  public let centroids: (rows: Int, columns: Int, values: [Double])?
  /// Where the documents' vectors are, for centroids computed as cluster means.
  public let embeddingField: String?
  /// Centroid distance 1 − cosine (else Euclidean).
  public let cosine: Bool
  /// The bandit's settings (arms, probe and block sizes, α, radius).
  public let options: QuadBandit.Options
  /// Subtracted from each arm's mean score.
  public let rewardOffset: Double
  /// Rounds at most.
  public let maxRounds: Int
  /// Stop once the won blocks hold this many documents.
  public let budget: Int
  /// Where each round is logged (JSON Lines), if anywhere.
  public let saveRounds: String?

  /// A stage with these settings (the recipe parameters of the same names).
  public init(
    scoreField: String, clusterField: String = "cluster", centroids: (rows: Int, columns: Int, values: [Double])? = nil,
    embeddingField: String? = nil, cosine: Bool = true, options: QuadBandit.Options = QuadBandit.Options(), rewardOffset: Double = 0.002,
    maxRounds: Int = 200, budget: Int = 10_000_000, saveRounds: String? = nil
  ) {
    self.embeddingField = centroids == nil ? embeddingField : nil
    self.scoreField = scoreField
    self.clusterField = clusterField
    self.centroids = centroids
    self.cosine = cosine
    self.options = options
    self.rewardOffset = rewardOffset
    self.maxRounds = maxRounds
    self.budget = budget
    self.saveRounds = saveRounds
  }

  convenience init(_ p: StageParameters) throws(WinnowError) {
    var o = QuadBandit.Options()
    o.arms = p.int("arms")!
    o.probeSize = p.int("probe_size")!
    o.blockSize = p.int("block_size")!
    o.alpha = p.double("alpha")!
    o.radius = p.double("radius")!
    self.init(
      scoreField: p.string("score_field")!, clusterField: p.string("cluster_field")!,
      centroids: try p.string("centroids").map { (path) throws(WinnowError) in try NumpyArrayFile.read(path) },
      embeddingField: p.string("embedding_field"), cosine: p.string("distance") == "cosine", options: o, rewardOffset: p.double("reward_offset")!, maxRounds: p.int("max_rounds")!,
      budget: p.int("budget")!, saveRounds: p.string("save_rounds"))
  }

  public func process(_ doc: Document) -> Verdict { .keep }

  public var passes: [PhasePass] { [.documents, .middle(.fixed(1)), .documents] }

  /// A document's cluster, or nil.
  func cluster(_ doc: Document) -> UInt64? {
    guard case .number(let c, _)? = doc.field(clusterField), c >= 0, c < 4_294_967_296, c == c.rounded() else { return nil }
    return UInt64(c)
  }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    try TaskOrdinalKey.check(phase, stage: "bandit_select")
    return BanditEntryStage(self, phase: phase)
  }

  /// The distance between centroids i and j.
  func centroidDistance(_ c: (rows: Int, columns: Int, values: [Double]), _ i: Int, _ j: Int) -> Double {
    let d = c.columns
    var dot = 0.0, ni = 0.0, nj = 0.0, sq = 0.0
    for t in 0..<d {
      let a = c.values[i * d + t], b = c.values[j * d + t]
      dot += a * b
      ni += a * a
      nj += b * b
      sq += (a - b) * (a - b)
    }
    if cosine { return ni > 0 && nj > 0 ? 1 - dot / (ni.squareRoot() * nj.squareRoot()) : (i == j ? 0 : 1) }
    return sq.squareRoot()
  }

  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    try phase.prepareDirectory()
    let files = try phase.files(ofPass: 0, suffix: "-entries.run", fromEveryTask: "bandit_select: entries")
    // Cluster sizes and the scores of every probe window a cluster can be asked for: window s
    // exists only while (s + 1)·block_size ≤ size, so the first ⌊size/block⌋·probe scores.
    var sizes: [Int] = []
    var probes: [[Double]] = []
    func finishCluster(_ c: Int, _ scores: inout [Double], _ size: Int) {
      while sizes.count <= c {
        sizes.append(0)
        probes.append([])
      }
      sizes[c] = size
      let keep = min(scores.count, size / options.blockSize * options.probeSize)
      probes[c] = Array(scores.prefix(keep))
    }
    let merged = try SortedRunMerger<BanditEntry>(files: files)
    var current = -1
    var size = 0
    var scores: [Double] = []
    while let e = try merged.next() {
      let c = Int(e.cluster)
      if c != current {
        if current >= 0 { finishCluster(current, &scores, size) }
        current = c
        size = 0
        scores.removeAll(keepingCapacity: true)
      }
      size += 1
      // One cluster's scores at a time; trimmed to the probe windows when the cluster ends.
      scores.append(Double(bitPattern: e.score))
    }
    if current >= 0 { finishCluster(current, &scores, size) }
    guard !sizes.isEmpty else { throw .usage("stage 'bandit_select': no document has a cluster in field '\(clusterField)'") }
    if let centroids, centroids.rows < sizes.count {
      throw .usage("stage 'bandit_select': the centroids file holds \(centroids.rows) centroids, but documents have clusters up to \(sizes.count - 1)")
    }
    var means = centroids
    if embeddingField != nil {
      let sumFiles = try phase.files(ofPass: 0, suffix: "-sums.vec", fromEveryTask: "bandit_select: cluster vector sums")
      var total: [Int: ([Double], Int)] = [:]
      var d: Int? = nil
      for f in sumFiles {
        let r = try VectorRunReader(file: f, dims: nil)
        guard r.count > 0 else { continue }
        if let dd = d, dd != r.dims { throw .usage("stage 'bandit_select': vectors of \(dd) and of \(r.dims) values (\(f.path))") }
        d = r.dims
        while let e = try r.next() {
          var t = total[Int(e.ordinal)] ?? ([Double](repeating: 0, count: r.dims), 0)
          for j in 0..<r.dims { t.0[j] += Double(r.vector[j]) }
          t.1 += Int(e.tag)
          total[Int(e.ordinal)] = t
        }
      }
      if let d {
        var values = [Double](repeating: 0, count: sizes.count * d)
        for (c, (s, n)) in total where c < sizes.count && n > 0 {
          for j in 0..<d { values[c * d + j] = s[j] / Double(n) }
        }
        means = (sizes.count, d, values)
      }
    }
    let distance: ((Int, Int) -> Double)? = means.map { c in { i, j in self.centroidDistance(c, i, j) } }
    var bandit = QuadBandit(sizes: sizes, distance: distance, options: options)
    var log: [UInt8] = []
    for _ in 0..<maxRounds {
      let arms = bandit.chooseArms()
      if arms.isEmpty { break }
      let rewards = arms.map { arm -> Double in
        let window = probes[arm.cluster].dropFirst(arm.sampled * options.probeSize).prefix(options.probeSize)
        var sum = 0.0
        var n = 0
        for s in window where !s.isNaN {
          sum += s
          n += 1
        }
        return (n > 0 ? sum / Double(n) : 0) - rewardOffset
      }
      bandit.update(arms: arms, rewards: rewards)
      if saveRounds != nil {
        var line = "{\"round\":\(bandit.round - 1),\"arms\":["
        line += arms.map { "[\($0.cluster),\($0.sampled)]" }.joined(separator: ",")
        line += "],\"rewards\":[" + rewards.map { jsonNumberOrNull($0) }.joined(separator: ",")
        line += "],\"blocks_won\":\(bandit.totalWon)}\n"
        log += Array(line.utf8)
      }
      if bandit.totalWon * options.blockSize >= budget { break }
    }
    if let saveRounds { _ = try writeFileAtomically(saveRounds, log) }
    // The selected positions: each cluster's first won·block documents, in input order.
    var selected: [BanditEntry] = []
    let again = try SortedRunMerger<BanditEntry>(files: files)
    current = -1
    var rank = 0
    while let e = try again.next() {
      let c = Int(e.cluster)
      if c != current {
        current = c
        rank = 0
      }
      if rank < bandit.won[c] * options.blockSize { selected.append(BanditEntry(cluster: 0, key: e.key, score: 0)) }
      rank += 1
    }
    try phase.write(&selected, name: "\(phase.name)-selected.run")
    var stats = RunStats()
    stats.inputFiles = files.map(\.path)
    return stats
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let files = try phase.files(ofPass: 1, suffix: "-selected.run")
    guard files.count == 1 else { throw .io("bandit_select: the rounds task recorded no selection in \(phase.directory(1))") }
    var keep = Set<UInt64>()
    let r = try SortedRunReader<BanditEntry>(file: files[0])
    let task = UInt64(phase.task)
    while let e = try r.next() {
      if TaskOrdinalKey.task(of: e.key) == task { keep.insert(TaskOrdinalKey.ordinal(of: e.key)) }
    }
    return BanditApplyStage(self, keep: keep)
  }
}

/// A document's entry: its cluster, key (task, ordinal) and score (a double's bits; NaN: none).
/// Ordered by cluster, then key: each cluster's documents in input order.
struct BanditEntry: RunRecord {
  var cluster: UInt64
  var key: UInt64
  var score: UInt64
  static var byteSize: Int { 24 }
  static var tag: String { "BANDITEN" }
  func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: cluster.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: key.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: score.littleEndian, as: UInt64.self)
  }
  init(loadingFrom p: UnsafeRawPointer) {
    cluster = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
    key = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    score = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
  }
  init(cluster: UInt64, key: UInt64, score: UInt64) {
    self.cluster = cluster
    self.key = key
    self.score = score
  }
  static func < (a: BanditEntry, b: BanditEntry) -> Bool { a.cluster < b.cluster || (a.cluster == b.cluster && a.key < b.key) }
}

/// Pass 1: each clustered document's entry.
final class BanditEntryStage: PhaseDocumentStage {
  let owner: BanditSelectStage
  let phase: PhaseTask
  var entries: [BanditEntry] = []
  var ordinal: UInt64 = 0
  /// Per cluster, the sum of its documents' vectors and their number (centroids as means).
  var sums: [UInt64: ([Double], Int)] = [:]
  var dims: Int? = nil
  var v: [Float] = []
  var scratch: [UInt8] = []

  init(_ owner: BanditSelectStage, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    guard let c = owner.cluster(doc) else { return .keep }
    var score = Double.nan
    if case .number(let s, _)? = doc.field(owner.scoreField), s.isFinite { score = s }
    entries.append(BanditEntry(cluster: c, key: TaskOrdinalKey.make(task: phase.task, ordinal: ordinal), score: score.bitPattern))
    if let field = owner.embeddingField,
      EmbeddingField.read(doc.field(field), dims: dims, into: &v, scratch: &scratch) == nil
    {
      if dims == nil { dims = v.count }
      var entry = sums[c] ?? ([Double](repeating: 0, count: v.count), 0)
      for j in 0..<v.count { entry.0[j] += Double(v[j]) }
      entry.1 += 1
      sums[c] = entry
    }
    return .keep
  }

  func finish() throws(WinnowError) {
    try phase.write(&entries, name: "\(phase.name)-entries.run")
    guard owner.embeddingField != nil else { return }
    // The sums as doubles split over two floats each would be exact; the mean is enough for
    // neighbourhoods: written as float32 sums with their counts.
    let w = try VectorRunWriter(path: phase.directory + "/\(phase.name)-sums.vec", dims: dims ?? 0)
    for c in sums.keys.sorted() {
      let (s, n) = sums[c]!
      let row = s.map { Float($0) }
      try row.withUnsafeBufferPointer { (b) throws(WinnowError) in try w.append(ordinal: c, tag: UInt64(n), vector: b) }
    }
    phase.record(try w.finish())
  }
}

/// Pass 3: keeps the selected documents.
final class BanditApplyStage: DocumentStage {
  let owner: BanditSelectStage
  let keep: Set<UInt64>
  var ordinal: UInt64 = 0

  init(_ owner: BanditSelectStage, keep: Set<UInt64>) {
    self.owner = owner
    self.keep = keep
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    guard owner.cluster(doc) != nil else { return .drop(BanditSelectStage.noCluster) }
    return keep.contains(ordinal) ? .keep : .drop(BanditSelectStage.notSelected)
  }
}
