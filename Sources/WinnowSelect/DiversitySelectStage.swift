import WinnowCore

/// `diversity_select`: selection that is both good and diverse.
///
/// - `method: deita` — Deita's score-first, distance-thresholded selection (Liu et al. 2024,
///   "What Makes Good Data for Alignment"; `deita/selection/filter/base.py` `IterativeFilter`
///   with `combined_filter.py`'s score): documents are ordered by their score (the product of
///   `score_fields`), best first (ties in input order); the first is taken, and each next one is
///   taken only when its cosine similarity to every document already taken is at most 1 − τ
///   (Deita's `threshold` is 1 − τ), until `budget` are taken. With `cluster_field`, the same
///   runs within each cluster, up to `per_cluster` documents each — the form that scales, since
///   a document is compared with its cluster's choices only — and `budget` then keeps the
///   best-scored of all clusters' choices.
/// - `method: balanced` — plain cluster-balanced sampling (SemDeDup's and D4's pipelines): at
///   most `per_cluster` documents of each cluster, the best-scored (`order: score`) or a seeded
///   uniform draw keyed by the document id (`order: random`).
///
/// Passes (docs/architecture.md, "Phases"):
/// 1. documents: each usable document's unit vector, score and cluster, to the vector file of
///    its cluster's bucket;
/// 2. middle × buckets: each cluster's selection;
/// 3. middle × 1: the overall budget over every cluster's choices;
/// 4. documents (apply): keep the selected documents (others: `diversity_not_selected`).
public final class DiversitySelectStage: GlobalStage, DocumentStage {
  /// The recipe name, parameters and factories.
  public static let descriptor = StageDescriptor(
    name: "diversity_select",
    summary: "Select by score while skipping near neighbours of what is taken (Deita), or a capped number per cluster",
    role: .select,
    parameters: [
      ParameterSpec("method", .choice(["deita", "balanced"]), default: .string("deita"), help: "deita: score-first with a distance threshold; balanced: a cap per cluster"),
      ParameterSpec("score_fields", .scalarList, help: "fields whose product is the score (best first); balanced with order random needs none"),
      ParameterSpec("embedding_field", .string, default: .string("embedding"), help: "field holding each document's vector (deita)"),
      ParameterSpec("dims", .int(min: 1, max: 1 << 20), help: "the length every vector must have (default: the length of the vectors found)"),
      ParameterSpec("tau", .double(min: 0, max: 2), default: .double(0.1), help: "deita: a document is taken only if its cosine distance to every taken one is at least tau"),
      ParameterSpec("cluster_field", .string, help: "select within the clusters of this field (as the cluster stage writes it)"),
      ParameterSpec("per_cluster", .int(min: 1, max: nil), help: "documents each cluster may contribute at most"),
      ParameterSpec("budget", .int(min: 1, max: nil), help: "documents to select at most"),
      ParameterSpec("order", .choice(["score", "random"]), default: .string("score"), help: "balanced: best-scored first, or a seeded draw"),
      ParameterSpec("seed", .int(min: 0, max: nil), help: "seed of order random (default: the run's seed)"),
      ParameterSpec("buckets", .int(min: 1, max: 4096), default: .int(16), help: "middle tasks; each holds the vectors of 1/buckets of the clusters"),
    ],
    makeGlobal: { (p, ctx) throws(WinnowError) in try DiversitySelectStage(p, ctx) },
    make: { (_, _) throws(WinnowError) in
      throw .usage("stage 'diversity_select' compares each document with what is taken before it: run it in a recipe ('winnow run')")
    })

  /// Drop reasons.
  public static let notSelected = "diversity_not_selected"
  /// Drop reason: a score field is missing or not a finite number.
  public static let noScore = "diversity_no_score"
  /// Drop reason: the document has no cluster (with `cluster_field`).
  public static let noCluster = "diversity_no_cluster"

  /// Plain cluster-balanced sampling instead of Deita's selection.
  public let balanced: Bool
  /// Fields whose product is the score.
  public let scoreFields: [String]
  /// Field holding each document's vector.
  public let field: String
  /// The length every vector must have (nil: the length found).
  public let dims: Int?
  /// The smallest cosine distance to every taken document.
  public let tau: Double
  /// Select within the clusters of this field, when given.
  public let clusterField: String?
  /// Documents each cluster may contribute at most.
  public let perCluster: Int?
  /// Documents selected at most, over all clusters.
  public let budget: Int?
  /// Balanced sampling by a seeded draw instead of by score.
  public let randomOrder: Bool
  /// Seed of the draw of `randomOrder`.
  public let seed: UInt64
  /// Middle tasks (1 without clusters).
  public let buckets: Int

  /// A stage with these settings (the recipe parameters of the same names).
  public init(
    balanced: Bool = false, scoreFields: [String], field: String = "embedding", dims: Int? = nil, tau: Double = 0.1,
    clusterField: String? = nil, perCluster: Int? = nil, budget: Int? = nil, randomOrder: Bool = false, seed: UInt64 = 0,
    buckets: Int = 16
  ) throws(WinnowError) {
    if !balanced && scoreFields.isEmpty { throw .usage("stage 'diversity_select': method deita needs score_fields") }
    if balanced && (clusterField == nil || perCluster == nil) {
      throw .usage("stage 'diversity_select': method balanced needs cluster_field and per_cluster")
    }
    if balanced && !randomOrder && scoreFields.isEmpty {
      throw .usage("stage 'diversity_select': order score needs score_fields (or order random)")
    }
    if perCluster != nil && clusterField == nil { throw .usage("stage 'diversity_select': per_cluster needs cluster_field") }
    self.balanced = balanced
    self.scoreFields = scoreFields
    self.field = field
    self.dims = dims
    self.tau = tau
    self.clusterField = clusterField
    self.perCluster = perCluster
    self.budget = budget
    self.randomOrder = randomOrder
    self.seed = seed
    // Without clusters everything is one group: one middle task is enough.
    self.buckets = clusterField == nil ? 1 : buckets
  }

  convenience init(_ p: StageParameters, _ ctx: StageContext) throws(WinnowError) {
    try self.init(
      balanced: p.string("method") == "balanced", scoreFields: p.list("score_fields") ?? [], field: p.string("embedding_field")!,
      dims: p.int("dims"), tau: p.double("tau")!, clusterField: p.string("cluster_field"), perCluster: p.int("per_cluster"),
      budget: p.int("budget"), randomOrder: p.string("order") == "random", seed: p.int("seed").map(UInt64.init) ?? ctx.seed,
      buckets: p.int("buckets")!)
  }

  public func process(_ doc: Document) -> Verdict { .keep }

  public var passes: [PhasePass] { [.documents, .middle(.fixed(buckets)), .middle(.fixed(1)), .documents] }

  struct Entry {
    var cluster: UInt64
    var score: Double
  }

  /// A document's score, cluster and (deita) unit vector, or why it has none.
  func read(_ doc: Document, dims expected: Int?, into v: inout [Float], scratch: inout [UInt8]) -> Result<Entry, SemDedupStage.DropReason> {
    var cluster: UInt64 = 0
    if let clusterField {
      guard case .number(let c, _)? = doc.field(clusterField), c >= 0, c < 4_294_967_296, c == c.rounded() else {
        return .failure(.init(Self.noCluster))
      }
      cluster = UInt64(c)
    }
    var score = 1.0
    if balanced && randomOrder {
      // A seeded uniform draw keyed by the id (the text when there is none).
      let id = doc.field(doc.fields.id)
      let h = id != nil && id != .null ? XXH3.hash64(doc.idBytes, seed: seed) : XXH3.hash64(doc.text, seed: seed)
      score = Double(h >> 11) * 0x1p-53
    } else {
      for f in scoreFields {
        guard case .number(let s, _)? = doc.field(f), s.isFinite else { return .failure(.init(Self.noScore)) }
        score *= s
      }
    }
    if !balanced {
      if let problem = EmbeddingField.read(doc.field(field), dims: expected, into: &v, scratch: &scratch) {
        return .failure(.init(problem.rawValue))
      }
      guard v.contains(where: { $0 != 0 }) else { return .failure(.init(EmbeddingProblem.zero.rawValue)) }
      v.withUnsafeMutableBufferPointer { KMeans.normalize($0) }
    } else {
      v = [0]
    }
    return .success(Entry(cluster: cluster, score: score))
  }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    try TaskOrdinalKey.check(phase, stage: "diversity_select")
    return DiversityVectorStage(self, phase: phase)
  }

  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    try phase.prepareDirectory()
    var stats = RunStats()
    if phase.pass == 1 {
      let bucket = phase.task
      let files = try phase.files(ofPass: 0, suffix: BucketVectorFiles.suffix(bucket), fromEveryTask: "diversity_select: vectors of bucket \(bucket)")
      var d: Int? = balanced ? 1 : dims
      var vectors: [Double] = []
      var entries: [(cluster: UInt64, score: Double, key: UInt64, row: Int)] = []
      for f in files {
        let r = try VectorRunReader(file: f, dims: nil)
        guard r.count > 0 else { continue }
        if let dd = d, dd != r.dims {
          throw .usage("stage 'diversity_select': vectors of \(dd) and of \(r.dims) values (\(f.path)); give dims to drop the documents of the other length")
        }
        d = r.dims
        while let e = try r.next() {
          entries.append((r.extra, Double(bitPattern: e.tag), e.ordinal, entries.count))
          vectors += r.vector.prefix(r.dims).map(Double.init)
        }
      }
      entries.sort { a, b in
        a.cluster != b.cluster ? a.cluster < b.cluster : a.score != b.score ? a.score > b.score : a.key < b.key
      }
      let dd = d ?? 1
      let cap = clusterField != nil ? (perCluster ?? Int.max) : (budget ?? Int.max)
      let limit = 1 - tau
      var picks: [DiversityPick] = []
      vectors.withUnsafeBufferPointer { v in
        var start = 0
        var taken: [Int] = []
        while start < entries.count {
          var end = start
          while end < entries.count && entries[end].cluster == entries[start].cluster { end += 1 }
          taken.removeAll(keepingCapacity: true)
          for j in start..<end {
            if taken.count >= cap { break }
            var ok = true
            if !balanced {
              let vj = v.baseAddress! + entries[j].row * dd
              for t in taken {
                let vt = v.baseAddress! + entries[t].row * dd
                let s = dotProduct(vt, vj, dd)
                if s > limit {
                  ok = false
                  break
                }
              }
            }
            if ok {
              taken.append(j)
              picks.append(DiversityPick(key: entries[j].key, value: entries[j].score.bitPattern))
            }
          }
          start = end
        }
      }
      try phase.write(&picks, name: "\(phase.name)-picks.run")
      stats.inputFiles = files.map(\.path)
    } else {
      // The overall budget: the best-scored of every cluster's picks (ties in input order).
      let files = try phase.files(ofPass: 1, suffix: "-picks.run", fromEveryTask: "diversity_select: picks")
      var all: [DiversityPick] = []
      for f in files { all += try SortedRunFile.readAll(f, as: DiversityPick.self) }
      if let budget, all.count > budget {
        all.sort { a, b in
          let sa = Double(bitPattern: a.value), sb = Double(bitPattern: b.value)
          return sa != sb ? sa > sb : a.key < b.key
        }
        all.removeLast(all.count - budget)
      }
      try phase.write(&all, name: "\(phase.name)-selected.run")
      stats.inputFiles = files.map(\.path)
    }
    return stats
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let files = try phase.files(ofPass: 2, suffix: "-selected.run")
    guard files.count == 1 else { throw .io("diversity_select: the budget task recorded no selection in \(phase.directory(2))") }
    var keep = Set<UInt64>()
    let r = try SortedRunReader<DiversityPick>(file: files[0])
    let task = UInt64(phase.task)
    while let e = try r.next() {
      if TaskOrdinalKey.task(of: e.key) == task { keep.insert(TaskOrdinalKey.ordinal(of: e.key)) }
    }
    return DiversityApplyStage(self, keep: keep)
  }
}

/// A selected document: its key (task, ordinal) and score (a double's bits).
struct DiversityPick: KeyValueRunRecord {
  var key: UInt64
  var value: UInt64
  static var tag: String { "DIVERSEL" }
}

/// Pass 1: each usable document to its bucket's vector file.
final class DiversityVectorStage: PhaseDocumentStage {
  let owner: DiversitySelectStage
  let phase: PhaseTask
  let files: BucketVectorFiles
  var ordinal: UInt64 = 0
  var v: [Float] = []
  var scratch: [UInt8] = []

  init(_ owner: DiversitySelectStage, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
    files = BucketVectorFiles(phase: phase, buckets: owner.buckets, dims: owner.balanced ? 1 : owner.dims)
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    guard case .success(let e) = owner.read(doc, dims: files.dims, into: &v, scratch: &scratch) else { return .keep }
    files.append(
      bucket: Int(e.cluster % UInt64(owner.buckets)), key: TaskOrdinalKey.make(task: phase.task, ordinal: ordinal), tag: e.score.bitPattern,
      extra: e.cluster, vector: v)
    return .keep
  }

  func finish() throws(WinnowError) { try files.finish() }
}

/// Pass 4: keeps the selected documents.
final class DiversityApplyStage: DocumentStage {
  let owner: DiversitySelectStage
  let keep: Set<UInt64>
  var ordinal: UInt64 = 0
  var v: [Float] = []
  var scratch: [UInt8] = []
  var dims: Int?

  init(_ owner: DiversitySelectStage, keep: Set<UInt64>) {
    self.owner = owner
    self.keep = keep
    dims = owner.balanced ? 1 : owner.dims
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    if case .failure(let why) = owner.read(doc, dims: dims, into: &v, scratch: &scratch) { return .drop(why.reason) }
    return keep.contains(ordinal) ? .keep : .drop(DiversitySelectStage.notSelected)
  }
}
