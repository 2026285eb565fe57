import WinnowCore

/// `semdedup`: SemDeDup (Abbas et al. 2023, "SemDeDup: Data-efficient learning at web-scale
/// through semantic deduplication"; `semdedup.py` and `clustering/sort_clusters.py`): within
/// each cluster of the `cluster` stage, the documents are ordered by their distance to the
/// centroid, farthest first (SemDeDup's "keep hard"; ties in input order); each document's score
/// M is its largest cosine similarity to any document before it in that order (0 for the first,
/// and never below 0: the reference takes the column maxima of the upper triangle of the
/// similarity matrix, whose other entries are 0), and a document is a duplicate when
/// M > 1 − ε. So of a group of near-duplicates the one least similar to its centroid is kept.
///
/// Passes (docs/architecture.md, "Phases"):
/// 1. documents: each task writes every usable document's unit vector, cluster and distance to
///    one vector file per bucket (bucket = cluster mod `buckets`);
/// 2. middle × buckets: each bucket's clusters are ordered and scored; every document's M is
///    written (key: task and ordinal);
/// 3. documents (apply): documents with M > 1 − ε are dropped (`semdedup_duplicate`), or every
///    document is annotated (`mode: annotate`).
///
/// Memory: one bucket of vectors in a middle task (the corpus's vectors / buckets). Documents
/// without a usable vector, cluster or distance are dropped with the reason.
public final class SemDedupStage: GlobalStage, DocumentStage {
  /// The recipe name, parameters and factories.
  public static let descriptor = StageDescriptor(
    name: "semdedup",
    summary: "Drop semantic near-duplicates within clusters (SemDeDup): keep the one farthest from its centroid",
    role: .select,
    parameters: [
      ParameterSpec("epsilon", .double(min: 0, max: 2), default: .double(0.05), help: "a document whose cosine similarity to one before it exceeds 1 − epsilon is a duplicate"),
      ParameterSpec("embedding_field", .string, default: .string("embedding"), help: "field holding each document's vector"),
      ParameterSpec("cluster_field", .string, default: .string("cluster"), help: "field holding each document's cluster (as the cluster stage writes it)"),
      ParameterSpec("distance_field", .string, default: .string("cluster_distance"), help: "field holding the distance to the cluster's centroid (farthest is kept)"),
      ParameterSpec("dims", .int(min: 1, max: 1 << 20), help: "the length every vector must have (default: the length of the vectors found)"),
      ParameterSpec("buckets", .int(min: 1, max: 4096), default: .int(16), help: "middle tasks; each holds the vectors of 1/buckets of the clusters"),
      ParameterSpec("mode", .choice(["select", "annotate"]), default: .string("select"), help: "select: drop duplicates; annotate: keep all, add semdedup_max_similarity and semdedup_duplicate"),
    ],
    makeGlobal: { (p, _) throws(WinnowError) in try SemDedupStage(p) },
    make: { (_, _) throws(WinnowError) in
      throw .usage("stage 'semdedup' compares each document with the rest of its cluster: run it in a recipe ('winnow run')")
    })

  /// Drop reason of a duplicate.
  public static let duplicateReason = "semdedup_duplicate"
  /// Drop reasons of documents without a cluster or distance.
  public static let noClusterReason = "semdedup_no_cluster"

  /// A document more similar than 1 − epsilon to one before it is a duplicate.
  public let epsilon: Double
  /// Field holding each document's vector.
  public let field: String
  /// Field holding each document's cluster.
  public let clusterField: String
  /// Field holding the distance to the cluster's centroid.
  public let distanceField: String
  /// The length every vector must have (nil: the length found).
  public let dims: Int?
  /// Middle tasks, each holding 1/buckets of the clusters.
  public let buckets: Int
  /// Keep every document and annotate instead of dropping.
  public let annotate: Bool

  /// A stage with these settings (the recipe parameters of the same names).
  public init(
    epsilon: Double = 0.05, field: String = "embedding", clusterField: String = "cluster", distanceField: String = "cluster_distance",
    dims: Int? = nil, buckets: Int = 16, annotate: Bool = false
  ) {
    precondition(buckets >= 1)
    self.epsilon = epsilon
    self.field = field
    self.clusterField = clusterField
    self.distanceField = distanceField
    self.dims = dims
    self.buckets = buckets
    self.annotate = annotate
  }

  convenience init(_ p: StageParameters) throws(WinnowError) {
    self.init(
      epsilon: p.double("epsilon")!, field: p.string("embedding_field")!, clusterField: p.string("cluster_field")!,
      distanceField: p.string("distance_field")!, dims: p.int("dims"), buckets: p.int("buckets")!, annotate: p.string("mode") == "annotate")
  }

  public func process(_ doc: Document) -> Verdict { .keep }

  public var passes: [PhasePass] { [.documents, .middle(.fixed(buckets)), .documents] }

  /// A document's unit vector, cluster and distance, or the reason it has none.
  func read(_ doc: Document, dims expected: Int?, into v: inout [Float], scratch: inout [UInt8]) -> Result<(UInt32, Float), DropReason> {
    if let problem = EmbeddingField.read(doc.field(field), dims: expected, into: &v, scratch: &scratch) { return .failure(DropReason(problem.rawValue)) }
    guard v.contains(where: { $0 != 0 }) else { return .failure(DropReason(EmbeddingProblem.zero.rawValue)) }
    guard case .number(let c, _)? = doc.field(clusterField), c >= 0, c < 4_294_967_296, c == c.rounded() else {
      return .failure(DropReason(Self.noClusterReason))
    }
    guard case .number(let d, _)? = doc.field(distanceField), d.isFinite else { return .failure(DropReason(Self.noClusterReason)) }
    v.withUnsafeMutableBufferPointer { KMeans.normalize($0) }
    return .success((UInt32(c), Float(d)))
  }

  struct DropReason: Error {
    let reason: String
    init(_ r: String) { reason = r }
  }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    try TaskOrdinalKey.check(phase, stage: "semdedup")
    return SemDedupVectorStage(self, phase: phase)
  }

  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    try phase.prepareDirectory()
    let bucket = phase.task
    let files = try phase.files(ofPass: 0, suffix: BucketVectorFiles.suffix(bucket), fromEveryTask: "semdedup: vectors of bucket \(bucket)")
    // The bucket's documents, grouped by cluster.
    var dims: Int? = self.dims
    // In double, so that the pairwise products are exact to double rounding.
    var vectors: [Double] = []
    var entries: [(cluster: UInt32, distance: Float, key: UInt64, row: Int)] = []
    for f in files {
      let r = try VectorRunReader(file: f, dims: nil)
      guard r.count > 0 else { continue }
      if let d = dims, d != r.dims {
        throw .usage("stage 'semdedup': vectors of \(d) and of \(r.dims) values (\(f.path)); give dims to drop the documents of the other length")
      }
      dims = r.dims
      while let e = try r.next() {
        entries.append((UInt32(truncatingIfNeeded: e.tag >> 32), Float(bitPattern: UInt32(truncatingIfNeeded: e.tag)), e.ordinal, entries.count))
        vectors += r.vector.prefix(r.dims).map(Double.init)
      }
    }
    // By cluster; within a cluster farthest from the centroid first, ties in input order.
    entries.sort { a, b in
      a.cluster != b.cluster ? a.cluster < b.cluster : a.distance != b.distance ? a.distance > b.distance : a.key < b.key
    }
    var records: [SemDedupScore] = []
    records.reserveCapacity(entries.count)
    let d = dims ?? 1
    vectors.withUnsafeBufferPointer { v in
      var start = 0
      while start < entries.count {
        var end = start
        while end < entries.count && entries[end].cluster == entries[start].cluster { end += 1 }
        for j in start..<end {
          var m = 0.0
          let vj = v.baseAddress! + entries[j].row * d
          for i in start..<j {
            let vi = v.baseAddress! + entries[i].row * d
            let s = dotProduct(vi, vj, d)
            if s > m { m = s }
          }
          records.append(SemDedupScore(key: entries[j].key, value: m.bitPattern))
        }
        start = end
      }
    }
    try phase.write(&records, name: "\(phase.name)-scores.run")
    var stats = RunStats()
    stats.inputFiles = files.map(\.path)
    return stats
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let files = try phase.files(ofPass: 1, suffix: "-scores.run", fromEveryTask: "semdedup: scores")
    var scores: [UInt64: Double] = [:]
    let task = UInt64(phase.task)
    for f in files {
      let r = try SortedRunReader<SemDedupScore>(file: f)
      while let s = try r.next() {
        if TaskOrdinalKey.task(of: s.key) == task { scores[TaskOrdinalKey.ordinal(of: s.key)] = Double(bitPattern: s.value) }
      }
    }
    return SemDedupApplyStage(self, scores: scores)
  }
}

/// A document's SemDeDup score: its key (task, ordinal) and M (a double's bits).
struct SemDedupScore: KeyValueRunRecord {
  var key: UInt64
  var value: UInt64
  static var tag: String { "SEMDEDUP" }
}

/// Pass 1: each usable document's unit vector to the file of its cluster's bucket.
final class SemDedupVectorStage: PhaseDocumentStage {
  let owner: SemDedupStage
  let phase: PhaseTask
  let files: BucketVectorFiles
  var ordinal: UInt64 = 0
  var v: [Float] = []
  var scratch: [UInt8] = []

  init(_ owner: SemDedupStage, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
    files = BucketVectorFiles(phase: phase, buckets: owner.buckets, dims: owner.dims)
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    guard case .success(let (cluster, distance)) = owner.read(doc, dims: files.dims, into: &v, scratch: &scratch) else { return .keep }
    files.append(
      bucket: Int(cluster) % owner.buckets, key: TaskOrdinalKey.make(task: phase.task, ordinal: ordinal),
      tag: UInt64(cluster) << 32 | UInt64(distance.bitPattern), vector: v)
    return .keep
  }

  func finish() throws(WinnowError) { try files.finish() }
}

/// Pass 3: drops duplicates (or annotates every document).
final class SemDedupApplyStage: DocumentStage {
  let owner: SemDedupStage
  let scores: [UInt64: Double]
  var ordinal: UInt64 = 0
  var v: [Float] = []
  var scratch: [UInt8] = []
  var dims: Int?

  init(_ owner: SemDedupStage, scores: [UInt64: Double]) {
    self.owner = owner
    self.scores = scores
    dims = owner.dims
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    if case .failure(let why) = owner.read(doc, dims: dims, into: &v, scratch: &scratch) { return .drop(why.reason) }
    guard let m = scores[ordinal] else {
      // The middle pass scored every usable document: a missing score means the vector's
      // length differs from the rest (dims taken from the others).
      return .drop(EmbeddingProblem.wrongLength.rawValue)
    }
    let duplicate = m > 1 - owner.epsilon
    if owner.annotate {
      doc.annotate("semdedup_max_similarity", .double(m))
      doc.annotate("semdedup_duplicate", .bool(duplicate))
      return .keep
    }
    return duplicate ? .drop(SemDedupStage.duplicateReason) : .keep
  }
}
