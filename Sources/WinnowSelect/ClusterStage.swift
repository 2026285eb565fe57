import WinnowCore

/// `cluster`: k-means over the documents' vectors (a field `embed` wrote, or one the documents
/// carry), annotating each document with its cluster and its distance to the cluster's
/// centroid, and writing the centroids.
///
/// Passes (docs/architecture.md, "Phases"):
/// 1. documents: each task writes its documents' vectors to a vector run file (float32);
/// 2. middle ×1: k-means (`KMeans`): k-means++ on a seeded sample (or `init_centroids`), then
///    Lloyd iterations, each a pass over the vector files; the centroids are written (and saved
///    to `save_centroids` as `.npy` when asked);
/// 3. documents (apply): each document's nearest centroid (exact, lowest index on ties) and
///    distance are annotated.
///
/// Memory is bounded by one block of vectors, the centroids and a label per document. The
/// result depends on the documents' vectors and order only, never on the number of workers.
/// Documents whose vector cannot be read are dropped with the reason (`embedding_missing`,
/// `embedding_malformed`, `embedding_wrong_length`, `embedding_not_finite`, and
/// `embedding_zero` for a zero vector under cosine).
public final class ClusterStage: GlobalStage, DocumentStage {
  /// The recipe name, parameters and factories.
  public static let descriptor = StageDescriptor(
    name: "cluster",
    summary: "k-means over the documents' vectors; annotate each document's cluster and distance",
    role: .transform,
    parameters: [
      ParameterSpec("k", .int(min: 1, max: 10_000_000), required: true, help: "number of clusters"),
      ParameterSpec("embedding_field", .string, default: .string("embedding"), help: "field holding each document's vector (as embed writes it, or a JSON array)"),
      ParameterSpec("dims", .int(min: 1, max: 1 << 20), help: "the length every vector must have (default: the length of the vectors found)"),
      ParameterSpec("metric", .choice(["euclidean", "cosine"]), default: .string("euclidean"), help: "euclidean: k-means; cosine: spherical k-means on unit vectors"),
      ParameterSpec("iterations", .int(min: 0, max: 100_000), default: .int(20), help: "Lloyd iterations at most (with minibatch: passes)"),
      ParameterSpec("minibatch", .int(min: 1, max: nil), help: "mini-batch k-means: move the centroids after every batch of this many vectors, in input order (default: Lloyd)"),
      ParameterSpec("tolerance", .double(min: 0, max: nil), default: .double(1e-4), help: "stop when the centroids move less than this × the vectors' mean variance (scikit-learn's tol)"),
      ParameterSpec("init_sample", .int(min: 1, max: nil), help: "vectors k-means++ draws the initial centroids from (default max(10000, 40·k))"),
      ParameterSpec("init_runs", .int(min: 1, max: 1000), help: "k-means++ starts tried on the sample, each refined there; the best starts the full run (default 25, 10 when sample × k exceeds 5·10⁶, 3 beyond 5·10⁷)"),
      ParameterSpec("init_centroids", .string, file: .reads, help: "start from these centroids instead (.npy, k × dims, float32 or float64)"),
      ParameterSpec("save_centroids", .string, file: .writes, help: "write the final centroids here (.npy, k × dims, float32)"),
      ParameterSpec("seed", .int(min: 0, max: nil), help: "seed of the initialisation (default: the run's seed)"),
      ParameterSpec("key", .string, default: .string("cluster"), help: "field the cluster number is written to"),
      ParameterSpec("distance_key", .string, default: .string("cluster_distance"), help: "field the distance to the centroid is written to (euclidean; 1 − cosine for cosine)"),
    ],
    makeGlobal: { (p, ctx) throws(WinnowError) in try ClusterStage(p, ctx) },
    make: { (_, _) throws(WinnowError) in
      throw .usage("stage 'cluster' runs k-means over every document's vector before it annotates one: run it in a recipe ('winnow run')")
    })

  /// The k-means settings.
  public let options: KMeans.Options
  /// Field holding each document's vector.
  public let field: String
  /// The length every vector must have (nil: the length found).
  public let dims: Int?
  /// Spherical k-means (unit vectors, cosine).
  public let cosine: Bool
  /// Starting centroids (.npy), instead of k-means++.
  public let initCentroids: String?
  /// Where the final centroids are written (.npy), if anywhere.
  public let saveCentroids: String?
  /// Field the cluster number is written to.
  public let key: String
  /// Field the distance to the centroid is written to.
  public let distanceKey: String

  /// A stage with these settings (the recipe parameters of the same names).
  public init(
    options: KMeans.Options, field: String = "embedding", dims: Int? = nil, initCentroids: String? = nil,
    saveCentroids: String? = nil, key: String = "cluster", distanceKey: String = "cluster_distance"
  ) {
    self.options = options
    self.field = field
    self.dims = dims
    cosine = options.spherical
    self.initCentroids = initCentroids
    self.saveCentroids = saveCentroids
    self.key = key
    self.distanceKey = distanceKey
  }

  init(_ p: StageParameters, _ ctx: StageContext) throws(WinnowError) {
    var o = KMeans.Options(k: p.int("k")!)
    o.iterations = p.int("iterations")!
    o.tolerance = p.double("tolerance")!
    o.spherical = p.string("metric") == "cosine"
    o.seed = p.int("seed").map(UInt64.init) ?? ctx.seed
    o.initSample = p.int("init_sample")
    o.initRuns = p.int("init_runs")
    o.miniBatch = p.int("minibatch")
    options = o
    field = p.string("embedding_field")!
    dims = p.int("dims")
    cosine = o.spherical
    initCentroids = p.string("init_centroids")
    saveCentroids = p.string("save_centroids")
    key = p.string("key")!
    distanceKey = p.string("distance_key")!
    if let initCentroids {
      // Read now, so that a wrong file fails the plan rather than the middle pass.
      let a = try NumpyArrayFile.read(initCentroids)
      guard a.rows == o.k else { throw .usage("stage 'cluster': \(initCentroids) holds \(a.rows) centroids, k is \(o.k)") }
      if let dims, a.columns != dims {
        throw .usage("stage 'cluster': \(initCentroids) holds centroids of \(a.columns) values, dims is \(dims)")
      }
    }
  }

  public func process(_ doc: Document) -> Verdict { .keep }

  public var passes: [PhasePass] { [.documents, .middle(.fixed(1)), .documents] }

  /// A document's vector, checked (length, finite values, not zero under cosine), unit length
  /// under cosine; nil and the problem when it cannot be used.
  func vector(_ doc: Document, dims expected: Int?, into v: inout [Float], scratch: inout [UInt8]) -> EmbeddingProblem? {
    if let problem = EmbeddingField.read(doc.field(field), dims: expected, into: &v, scratch: &scratch) { return problem }
    if cosine {
      guard v.contains(where: { $0 != 0 }) else { return .zero }
      v.withUnsafeMutableBufferPointer { KMeans.normalize($0) }
    }
    return nil
  }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    return ClusterVectorStage(self, phase: phase)
  }

  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    try phase.prepareDirectory()
    let files = try phase.files(ofPass: 0, suffix: "-vectors.vec", fromEveryTask: "cluster: vectors")
    // Every task's vectors must have the same length.
    var found: (dims: Int, path: String)? = nil
    var nonEmpty: [WrittenFile] = []
    for f in files {
      let r = try VectorRunReader(file: f, dims: nil)
      guard r.count > 0 else { continue }
      if let found, found.dims != r.dims {
        throw .usage(
          "stage 'cluster': vectors of \(found.dims) values (\(found.path)) and of \(r.dims) values (\(f.path)); give dims to drop the documents of the other length"
        )
      }
      found = (r.dims, f.path)
      nonEmpty.append(f)
    }
    guard let d = found?.dims else { throw .usage("stage 'cluster': no document has a usable vector in field '\(field)'") }
    let source = VectorFilesSource(files: nonEmpty, dims: d, normalize: false)
    var initial: [Double]
    var tolerance: Double
    if let initCentroids {
      let a = try NumpyArrayFile.read(initCentroids)
      guard a.rows == options.k, a.columns == d else {
        throw .usage("stage 'cluster': \(initCentroids) holds \(a.rows) × \(a.columns) centroids; k is \(options.k) and the vectors have \(d) values")
      }
      initial = a.values
      if cosine { KMeans.normalizeRows(&initial, dims: d) }
      tolerance = try KMeans.tolerance(source, relative: options.tolerance)
    } else {
      (initial, _, tolerance) = try KMeans.initialise(source, options)
    }
    let result = try KMeans.lloyd(source, initial: initial, options, tolerance: tolerance)
    let writer = try VectorRunWriter(path: phase.directory + "/\(phase.name)-centroids.vec", dims: d)
    var row = [Float](repeating: 0, count: d)
    for c in 0..<options.k {
      for j in 0..<d { row[j] = Float(result.centroids[c * d + j]) }
      try row.withUnsafeBufferPointer { (r) throws(WinnowError) in try writer.append(ordinal: UInt64(c), tag: UInt64(result.sizes[c]), vector: r) }
    }
    phase.record(try writer.finish())
    if let saveCentroids {
      _ = try writeFileAtomically(saveCentroids, NumpyArrayFile.float32(rows: options.k, columns: d, values: result.centroids))
    }
    var stats = RunStats()
    stats.inputFiles = files.map(\.path)
    return stats
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let files = try phase.files(ofPass: 1, suffix: "-centroids.vec")
    guard files.count == 1 else { throw .io("cluster: the k-means task recorded no centroids in \(phase.directory(1))") }
    let r = try VectorRunReader(file: files[0], dims: dims)
    var centroids: [Double] = []
    centroids.reserveCapacity(options.k * r.dims)
    var n = 0
    while let e = try r.next() {
      guard e.ordinal == UInt64(n) else { throw .io("\(files[0].path): centroid \(e.ordinal) where centroid \(n) belongs; run with --fresh") }
      centroids += r.vector.prefix(r.dims).map(Double.init)
      n += 1
    }
    guard n == options.k else { throw .io("\(files[0].path): \(n) centroids for k = \(options.k); run with --fresh") }
    return ClusterApplyStage(self, index: CentroidIndex(centroids: centroids, k: options.k, dims: r.dims))
  }
}

/// Pass 1: writes each usable vector (ordinal, vector) to the task's vector file.
final class ClusterVectorStage: PhaseDocumentStage {
  let owner: ClusterStage
  let phase: PhaseTask
  var writer: VectorRunWriter? = nil
  var dims: Int?
  var ordinal: UInt64 = 0
  var v: [Float] = []
  var scratch: [UInt8] = []

  init(_ owner: ClusterStage, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
    dims = owner.dims
  }

  var path: String { phase.directory + "/\(phase.name)-vectors.vec" }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    guard owner.vector(doc, dims: dims, into: &v, scratch: &scratch) == nil else { return .keep }
    do throws(WinnowError) {
      if writer == nil {
        dims = v.count
        writer = try VectorRunWriter(path: path, dims: v.count)
      }
      try v.withUnsafeBufferPointer { (b) throws(WinnowError) in try writer!.append(ordinal: ordinal, tag: 0, vector: b) }
    } catch {
      failure = error
    }
    return .keep
  }

  /// A write error, reported when the task finishes (`process` cannot throw).
  var failure: WinnowError? = nil

  func finish() throws(WinnowError) {
    if let failure { throw failure }
    if writer == nil { writer = try VectorRunWriter(path: path, dims: dims ?? 0) }
    phase.record(try writer!.finish())
  }
}

/// Pass 3: annotates each document's nearest centroid and distance; drops unusable vectors.
final class ClusterApplyStage: DocumentStage {
  let owner: ClusterStage
  let index: CentroidIndex
  var v: [Float] = []
  var scratch: [UInt8] = []
  var assignment = AssignmentScratch()
  var label: Int32 = 0
  var distance: Double = 0

  init(_ owner: ClusterStage, index: CentroidIndex) {
    self.owner = owner
    self.index = index
  }

  deinit { assignment.free() }

  func process(_ doc: Document) -> Verdict {
    if let problem = owner.vector(doc, dims: index.dims, into: &v, scratch: &scratch) { return .drop(problem.rawValue) }
    v.withUnsafeBufferPointer { b in index.assign(b.baseAddress!, 1, labels: &label, squaredDistances: &distance, scratch: &assignment) }
    doc.annotate(owner.key, .int(Int(label)))
    // For unit vectors, 1 − cos(x, c) = |x − c|² / 2 when c is unit length too.
    doc.annotate(owner.distanceKey, .double(owner.cosine ? distance / 2 : distance.squareRoot()))
    return .keep
  }
}
