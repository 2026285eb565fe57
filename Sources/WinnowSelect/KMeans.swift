import Glibc
import CVectorKernel
import WinnowCore

/// Vectors read in full passes, in the same order every time: the vector files of a cluster
/// stage, or an array.
public protocol VectorSource {
  /// Values per vector.
  var dims: Int { get }
  /// Calls `body` with consecutive blocks of vectors (row-major, `count` rows of `dims`).
  func forEachBlock(_ body: (UnsafeBufferPointer<Float>, Int) throws(WinnowError) -> Void) throws(WinnowError)
}

/// Vectors held in memory (tests, tools, the library).
public struct InMemoryVectors: VectorSource {
  public let dims: Int
  /// The vectors, row-major.
  public let values: [Float]
  /// Number of vectors.
  public var count: Int { values.count / dims }

  /// Vectors of `dims` values, row-major in `values`.
  public init(dims: Int, values: [Float]) {
    precondition(dims >= 1 && values.count % dims == 0)
    self.dims = dims
    self.values = values
  }

  public func forEachBlock(_ body: (UnsafeBufferPointer<Float>, Int) throws(WinnowError) -> Void) throws(WinnowError) {
    let block = 4096
    let total = count
    let d = dims
    try values.withUnsafeBufferPointer { (p) throws(WinnowError) in
      var start = 0
      while start < total {
        let n = min(block, total - start)
        try body(UnsafeBufferPointer(rebasing: p[(start * d)..<((start + n) * d)]), n)
        start += n
      }
    }
  }
}

/// The vectors of recorded vector run files, in file order, each optionally scaled to unit
/// length (spherical k-means).
public struct VectorFilesSource: VectorSource {
  public let dims: Int
  /// The vector run files, read in this order.
  public let files: [WrittenFile]
  /// Scale each vector to unit length.
  public let normalize: Bool

  /// The vectors of `files` (each of `dims` values), scaled to unit length when `normalize`.
  public init(files: [WrittenFile], dims: Int, normalize: Bool) {
    self.files = files
    self.dims = dims
    self.normalize = normalize
  }

  public func forEachBlock(_ body: (UnsafeBufferPointer<Float>, Int) throws(WinnowError) -> Void) throws(WinnowError) {
    // Blocks of up to 4,096 vectors and about 64 MB, whatever the vectors' length.
    let block = max(1, min(4096, (16 << 20) / max(dims, 1)))
    var buffer = [Float](repeating: 0, count: block * dims)
    var n = 0
    for f in files {
      let r = try VectorRunReader(file: f, dims: dims)
      while try r.next() != nil {
        let v = r.vector
        buffer.withUnsafeMutableBufferPointer { b in
          for j in 0..<dims { b[n * dims + j] = v[j] }
          if normalize { KMeans.normalize(UnsafeMutableBufferPointer(rebasing: b[(n * dims)..<((n + 1) * dims)])) }
        }
        n += 1
        if n == block {
          try buffer.withUnsafeBufferPointer { (b) throws(WinnowError) in try body(b, n) }
          n = 0
        }
      }
    }
    if n > 0 {
      try buffer.withUnsafeBufferPointer { (b) throws(WinnowError) in try body(UnsafeBufferPointer(rebasing: b[0..<(n * dims)]), n) }
    }
  }
}

/// The centroids in the form the assignment kernel reads (float32, in contiguous panels of 16
/// centroids stored value by value, padded to a multiple of 16, with their squared norms), and
/// in double for exact answers.
public struct CentroidIndex: Sendable {
  /// Number of centroids.
  public let k: Int
  /// Values per centroid.
  public let dims: Int
  /// Row-major k × dims, in double.
  public let centroids: [Double]
  let transposed: [Float]
  let norms: [Float]
  let padded: Int
  /// The largest squared norm, for the margin of close calls.
  let maxNorm: Double

  /// The index of `k` centroids of `dims` values (row-major).
  public init(centroids: [Double], k: Int, dims: Int) {
    precondition(centroids.count == k * dims && k >= 1)
    self.k = k
    self.dims = dims
    self.centroids = centroids
    padded = (k + 15) / 16 * 16
    var t = [Float](repeating: 0, count: dims * padded)
    var n = [Float](repeating: .infinity, count: padded)
    var mx = 0.0
    for c in 0..<k {
      var s: Float = 0
      var sd = 0.0
      for j in 0..<dims {
        let v = Float(centroids[c * dims + j])
        t[(c / 16) * 16 * dims + j * 16 + c % 16] = v
        s += v * v
        sd += centroids[c * dims + j] * centroids[c * dims + j]
      }
      n[c] = s
      mx = max(mx, sd)
    }
    transposed = t
    norms = n
    maxNorm = mx
  }

  /// The exact squared distance between `x` and centroid `c`, in double.
  @inline(__always)
  public func squaredDistance(_ x: UnsafePointer<Float>, _ c: Int) -> Double {
    var s = 0.0
    let base = c * dims
    for j in 0..<dims {
      let t = Double(x[j]) - centroids[base + j]
      s += t * t
    }
    return s
  }

  /// Assigns each of the `n` points of `block` to its nearest centroid (lowest index among
  /// equally near ones), with its exact squared distance. The float32 kernel picks; a close
  /// call (second-nearest within the kernel's rounding error) is decided again in double over
  /// every centroid, so the answer is the exact one whatever the CPU.
  ///
  /// With `exact` false the distances are the kernel's float32 estimates (the labels are exact
  /// all the same): Lloyd's iterations need them only to rank the farthest vectors.
  public func assign(
    _ block: UnsafePointer<Float>, _ n: Int, labels: UnsafeMutablePointer<Int32>, squaredDistances: UnsafeMutablePointer<Double>,
    scratch: inout AssignmentScratch, exact: Bool = true
  ) {
    guard n > 0 else { return }
    scratch.reserve(n)
    transposed.withUnsafeBufferPointer { t in
      norms.withUnsafeBufferPointer { nb in
        wn_nearest_centroids(block, n, dims, t.baseAddress!, nb.baseAddress!, padded, labels, scratch.best, scratch.second)
      }
    }
    let margin = (1e-5 + 1e-6 * Double(dims))
    for i in 0..<n {
      let x = block + i * dims
      let xn = Double(Self.squaredNorm(x, dims))
      let gap = Double(scratch.second[i]) - Double(scratch.best[i])
      if !(gap > margin * (xn + maxNorm)) {
        var best = 0
        var bestD = Double.infinity
        for c in 0..<k {
          let d = squaredDistance(x, c)
          if d < bestD {
            bestD = d
            best = c
          }
        }
        labels[i] = Int32(best)
        squaredDistances[i] = bestD
      } else {
        squaredDistances[i] = exact ? squaredDistance(x, Int(labels[i])) : max(0, xn + Double(scratch.best[i]))
      }
    }
  }

  /// ‖x‖² in float32, eight lanes at a time (for the close-call margin, which needs no more).
  @inline(__always)
  static func squaredNorm(_ x: UnsafePointer<Float>, _ d: Int) -> Float {
    var acc = SIMD8<Float>()
    var j = 0
    while j + 8 <= d {
      let v = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
      acc += v * v
      j += 8
    }
    var s = acc.sum()
    while j < d {
      s += x[j] * x[j]
      j += 1
    }
    return s
  }
}

/// Buffers the assignment kernel writes into, reused from block to block.
public struct AssignmentScratch {
  var best: UnsafeMutablePointer<Float>
  var second: UnsafeMutablePointer<Float>
  var capacity: Int

  /// Buffers for blocks of up to 4,096 vectors (grown when needed).
  public init() {
    capacity = 4096
    best = .allocate(capacity: capacity)
    second = .allocate(capacity: capacity)
  }

  mutating func reserve(_ n: Int) {
    guard n > capacity else { return }
    best.deallocate()
    second.deallocate()
    capacity = n
    best = .allocate(capacity: n)
    second = .allocate(capacity: n)
  }

  /// Releases the buffers (the scratch must not be used after).
  public func free() {
    best.deallocate()
    second.deallocate()
  }
}

/// k-means over a `VectorSource` in full passes (bounded memory: one block of vectors, the
/// centroids and a label per vector): k-means++ initialisation on a seeded sample, then Lloyd
/// iterations as scikit-learn's `KMeans(algorithm="lloyd")` runs them — assign every vector to
/// its nearest centroid, move each centroid to the mean of its vectors, relocate the centroids
/// of empty clusters to the vectors farthest from their centroids, stop when no label changes
/// or the centroids moved less than the tolerance. Spherical k-means (cosine) reads unit
/// vectors and rescales the centroids to unit length after each step.
public enum KMeans {
  /// What to run: k, iterations, tolerance, metric and initialisation.
  public struct Options: Sendable {
    /// Number of clusters.
    public var k: Int
    /// Lloyd iterations at most.
    public var iterations: Int = 20
    /// scikit-learn's `tol`: stop when the squared centroid shifts sum to at most tol × the
    /// vectors' mean variance.
    public var tolerance: Double = 1e-4
    /// Cosine k-means: centroids rescaled to unit length (the vectors must be unit length).
    public var spherical = false
    /// Seed of the initialisation's sample and draws.
    public var seed: UInt64 = 0
    /// Vectors k-means++ chooses the initial centroids from (a seeded sample of the corpus);
    /// nil: max(10,000, 40·k).
    public var initSample: Int? = nil
    /// k-means++ starts tried on the sample, each refined by Lloyd iterations on the sample;
    /// the one of least inertia on the sample starts the full run (scikit-learn's n_init,
    /// at the cost of the sample only). nil: 25 when sample size × k is at most 5·10⁶, 10 up to
    /// 5·10⁷, else 3.
    public var initRuns: Int? = nil
    /// Mini-batch k-means: centroids move after every batch of this many vectors (in input
    /// order), each by the batch's mean weighted against all the vectors it has taken so far
    /// (Sculley 2010, per-centre rates); `iterations` is then the number of passes. nil: Lloyd.
    public var miniBatch: Int? = nil

    /// Options for `k` clusters, the other settings at their defaults.
    public init(k: Int) { self.k = k }
  }

  /// The centroids, cluster sizes and inertia of a run.
  public struct Result: Sendable {
    /// k × dims, row-major.
    public var centroids: [Double]
    /// Vectors per cluster after the last assignment.
    public var sizes: [Int]
    /// Sum of squared distances to the nearest centroid, after the last step.
    public var inertia: Double
    /// Lloyd iterations run.
    public var iterations: Int
    /// Vectors read in each pass.
    public var count: Int
  }

  /// Scales `v` to unit length in place (a zero vector stays zero).
  public static func normalize(_ v: UnsafeMutableBufferPointer<Float>) {
    var s = 0.0
    for x in v { s += Double(x) * Double(x) }
    guard s > 0 else { return }
    let inv = 1 / s.squareRoot()
    for j in v.indices { v[j] = Float(Double(v[j]) * inv) }
  }

  static func splitmix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// The seeded sample: the vectors whose XXH3 (of their bytes, with the seed) is among the
  /// `m` smallest, so that the sample depends on the vectors only, never on how they were
  /// split into files; in source order. Also the count and the mean variance.
  static func sample(_ source: VectorSource, m: Int, seed: UInt64) throws(WinnowError) -> (vectors: [Float], count: Int, meanVariance: Double) {
    let d = source.dims
    // A max-heap of (priority, position) of the m smallest priorities.
    var heap: [(UInt64, Int)] = []
    var kept: [Int: [Float]] = [:]
    var count = 0
    var sum = [Double](repeating: 0, count: d)
    var sumSq = [Double](repeating: 0, count: d)
    try source.forEachBlock { (b, n) throws(WinnowError) in
      for i in 0..<n {
        let row = UnsafeBufferPointer(rebasing: b[(i * d)..<((i + 1) * d)])
        for j in 0..<d {
          let x = Double(row[j])
          sum[j] += x
          sumSq[j] += x * x
        }
        let p = XXH3.hash64(UnsafeBufferPointer(start: UnsafeRawPointer(row.baseAddress!).assumingMemoryBound(to: UInt8.self), count: d * 4), seed: seed)
        let pos = count
        count += 1
        if heap.count < m {
          heap.append((p, pos))
          siftUp(&heap, heap.count - 1)
          kept[pos] = Array(row)
        } else if p < heap[0].0 {
          kept[heap[0].1] = nil
          heap[0] = (p, pos)
          siftDown(&heap, 0)
          kept[pos] = Array(row)
        }
      }
    }
    var out: [Float] = []
    out.reserveCapacity(kept.count * d)
    for pos in kept.keys.sorted() { out += kept[pos]! }
    var variance = 0.0
    if count > 0 {
      for j in 0..<d {
        let mean = sum[j] / Double(count)
        variance += max(0, sumSq[j] / Double(count) - mean * mean)
      }
      variance /= Double(d)
    }
    return (out, count, variance)
  }

  static func siftUp(_ h: inout [(UInt64, Int)], _ iIn: Int) {
    var i = iIn
    while i > 0 {
      let p = (i - 1) / 2
      guard h[p].0 < h[i].0 || (h[p].0 == h[i].0 && h[p].1 < h[i].1) else { break }
      h.swapAt(p, i)
      i = p
    }
  }

  static func siftDown(_ h: inout [(UInt64, Int)], _ iIn: Int) {
    var i = iIn
    while true {
      let l = 2 * i + 1
      let r = l + 1
      var m = i
      func greater(_ a: Int, _ b: Int) -> Bool { h[a].0 > h[b].0 || (h[a].0 == h[b].0 && h[a].1 > h[b].1) }
      if l < h.count && greater(l, m) { m = l }
      if r < h.count && greater(r, m) { m = r }
      if m == i { return }
      h.swapAt(i, m)
      i = m
    }
  }

  /// scikit-learn's absolute tolerance: `relative` × the mean over dimensions of the vectors'
  /// variance (one pass).
  public static func tolerance(_ source: VectorSource, relative: Double) throws(WinnowError) -> Double {
    let d = source.dims
    var sum = [Double](repeating: 0, count: d)
    var sumSq = [Double](repeating: 0, count: d)
    var count = 0
    try source.forEachBlock { (b, n) throws(WinnowError) in
      for i in 0..<n {
        for j in 0..<d {
          let x = Double(b[i * d + j])
          sum[j] += x
          sumSq[j] += x * x
        }
      }
      count += n
    }
    guard count > 0 else { return 0 }
    var variance = 0.0
    for j in 0..<d {
      let mean = sum[j] / Double(count)
      variance += max(0, sumSq[j] / Double(count) - mean * mean)
    }
    return relative * variance / Double(d)
  }

  /// Greedy k-means++ (Arthur and Vassilvitskii 2007, with scikit-learn's 2 + ln k candidate
  /// draws per centre, keeping the one that lowers the potential most) over `points`.
  public static func plusPlus(points: [Float], dims d: Int, k: Int, seed: UInt64) -> [Double] {
    let n = points.count / d
    precondition(n >= 1 && k >= 1)
    var rng = seed ^ 0x5EED_C1A5_7E55_0001
    func uniform() -> Double {
      rng = splitmix(rng)
      return Double(rng >> 11) * 0x1p-53
    }
    let trials = 2 + Int(Glibc.log(Double(k)))
    var centers: [Double] = []
    centers.reserveCapacity(k * d)
    var closest = [Float](repeating: .infinity, count: n)
    var candidate = [Float](repeating: 0, count: n)
    points.withUnsafeBufferPointer { p in
      let first = min(n - 1, Int(uniform() * Double(n)))
      for j in 0..<d { centers.append(Double(p[first * d + j])) }
      closest.withUnsafeMutableBufferPointer { wn_min_squared_distances(p.baseAddress!, n, d, p.baseAddress! + first * d, $0.baseAddress!) }
      var potential = closest.reduce(0.0) { $0 + Double($1) }
      for _ in 1..<k {
        var bestPotential = Double.infinity
        var bestID = 0
        var bestDistances: [Float] = []
        // Cumulative sums for the D² draws.
        var cumulative = [Double](repeating: 0, count: n)
        var acc = 0.0
        for i in 0..<n {
          acc += Double(closest[i])
          cumulative[i] = acc
        }
        for _ in 0..<trials {
          let target = uniform() * potential
          // The first index whose cumulative sum reaches target (searchsorted, left).
          var lo = 0
          var hi = n
          while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] < target { lo = mid + 1 } else { hi = mid }
          }
          let id = min(lo, n - 1)
          candidate = closest
          candidate.withUnsafeMutableBufferPointer {
            wn_min_squared_distances(p.baseAddress!, n, d, p.baseAddress! + id * d, $0.baseAddress!)
          }
          let pot = candidate.reduce(0.0) { $0 + Double($1) }
          if pot < bestPotential {
            bestPotential = pot
            bestID = id
            bestDistances = candidate
          }
        }
        potential = bestPotential
        closest = bestDistances
        for j in 0..<d { centers.append(Double(p[bestID * d + j])) }
      }
    }
    return centers
  }

  /// The initial centroids: k-means++ over the seeded sample (spherical: rescaled to unit
  /// length). Also the number of vectors and the tolerance in absolute terms.
  public static func initialise(_ source: VectorSource, _ o: Options) throws(WinnowError) -> (centroids: [Double], count: Int, tolerance: Double) {
    let m = o.initSample ?? max(10_000, 40 * o.k)
    let s = try sample(source, m: m, seed: o.seed)
    guard s.count >= o.k else {
      throw .usage("k-means: \(s.count) vectors for k = \(o.k) clusters; k must not exceed the number of vectors")
    }
    let tolerance = o.tolerance * s.meanVariance
    let sample = InMemoryVectors(dims: source.dims, values: s.vectors)
    var best: (inertia: Double, centroids: [Double])? = nil
    // Restarts are cheap on a small sample: more of them, fewer runs stuck in a poor optimum.
    let work = s.vectors.count / source.dims * o.k
    let runs = o.initRuns ?? (work <= 5_000_000 ? 25 : work <= 50_000_000 ? 10 : 3)
    for run in 0..<max(1, runs) {
      let seed = splitmix(o.seed &+ UInt64(run))
      var c = plusPlus(points: s.vectors, dims: source.dims, k: o.k, seed: seed)
      if o.spherical { normalizeRows(&c, dims: source.dims) }
      var refine = o
      refine.iterations = max(o.iterations, 1)
      let r = try lloyd(sample, initial: c, refine, tolerance: tolerance)
      if best == nil || r.inertia < best!.inertia { best = (r.inertia, r.centroids) }
    }
    return (best!.centroids, s.count, tolerance)
  }

  static func normalizeRows(_ c: inout [Double], dims d: Int) {
    for r in 0..<(c.count / d) {
      var s = 0.0
      for j in 0..<d { s += c[r * d + j] * c[r * d + j] }
      guard s > 0 else { continue }
      let inv = 1 / s.squareRoot()
      for j in 0..<d { c[r * d + j] *= inv }
    }
  }

  /// Lloyd iterations from `initial` (k × dims). `tolerance` is absolute (see `initialise`);
  /// `onIteration` sees each iteration's centroids.
  public static func lloyd(
    _ source: VectorSource, initial: [Double], _ o: Options, tolerance: Double,
    onIteration: ((Int, [Double]) -> Void)? = nil
  ) throws(WinnowError) -> Result {
    if let batch = o.miniBatch { return try miniBatch(source, initial: initial, o, batch: batch) }
    let d = source.dims
    let k = o.k
    precondition(initial.count == k * d)
    var centroids = initial
    var labelsOld: [Int32] = []
    var labels: [Int32] = []
    var scratch = AssignmentScratch()
    defer { scratch.free() }
    var iterations = 0
    var distances = [Double](repeating: 0, count: 4096)
    var blockLabels = [Int32](repeating: 0, count: 4096)
    var count = 0
    for it in 0..<max(o.iterations, 0) {
      let index = CentroidIndex(centroids: centroids, k: k, dims: d)
      var sums = [Double](repeating: 0, count: k * d)
      var counts = [Int](repeating: 0, count: k)
      labels.removeAll(keepingCapacity: true)
      // The farthest vectors (by distance to their centroid), for empty clusters: a min-heap.
      var far: [(Double, Int, [Float])] = []
      var position = 0
      try source.forEachBlock { (b, n) throws(WinnowError) in
        if distances.count < n {
          distances = [Double](repeating: 0, count: n)
          blockLabels = [Int32](repeating: 0, count: n)
        }
        distances.withUnsafeMutableBufferPointer { dist in
          blockLabels.withUnsafeMutableBufferPointer { lab in
            index.assign(b.baseAddress!, n, labels: lab.baseAddress!, squaredDistances: dist.baseAddress!, scratch: &scratch, exact: false)
          }
        }
        labels.append(contentsOf: blockLabels[0..<n])
        sums.withUnsafeMutableBufferPointer { sp in
          let xs = b.baseAddress!
          for i in 0..<n {
            let c = Int(blockLabels[i])
            counts[c] += 1
            let row = sp.baseAddress! + c * d
            let x = xs + i * d
            for j in 0..<d { row[j] += Double(x[j]) }
          }
        }
        for i in 0..<n {
          let dist = distances[i]
          if far.count < k || (dist, -(position + i)) > (far[0].0, -far[0].1) {
            let entry = (dist, position + i, Array(b[(i * d)..<((i + 1) * d)]))
            if far.count < k {
              far.append(entry)
              farUp(&far, far.count - 1)
            } else {
              far[0] = entry
              farDown(&far, 0)
            }
          }
        }
        position += n
      }
      count = position
      guard count >= k else {
        throw .usage("k-means: \(count) vectors for k = \(k) clusters; k must not exceed the number of vectors")
      }
      // Empty clusters take the farthest vectors, in order (scikit-learn's relocation).
      let empty = (0..<k).filter { counts[$0] == 0 }
      if !empty.isEmpty {
        let farthest = far.sorted { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        for (e, c) in empty.enumerated() where e < farthest.count {
          let (_, pos, v) = farthest[e]
          let old = Int(labels[pos])
          for j in 0..<d {
            sums[old * d + j] -= Double(v[j])
            sums[c * d + j] = Double(v[j])
          }
          counts[old] -= 1
          counts[c] = 1
        }
      }
      var next = centroids
      var shift = 0.0
      for c in 0..<k where counts[c] > 0 {
        for j in 0..<d { next[c * d + j] = sums[c * d + j] / Double(counts[c]) }
      }
      if o.spherical { normalizeRows(&next, dims: d) }
      for i in 0..<(k * d) {
        let t = next[i] - centroids[i]
        shift += t * t
      }
      centroids = next
      iterations = it + 1
      onIteration?(iterations, centroids)
      if labels == labelsOld { break }
      if shift <= tolerance { break }
      swap(&labels, &labelsOld)
    }
    return try finalAssignment(source, centroids: centroids, k: k, iterations: iterations)
  }

  /// Mini-batch k-means (`Options.miniBatch`): passes over the vectors in batches of `batch`;
  /// after each batch every centroid c that took n_c of its vectors (sum s_c) becomes
  /// (c·N_c + s_c) / (N_c + n_c), N_c its vectors so far; spherical: unit length again.
  static func miniBatch(_ source: VectorSource, initial: [Double], _ o: Options, batch: Int) throws(WinnowError) -> Result {
    let d = source.dims
    let k = o.k
    precondition(initial.count == k * d && batch >= 1)
    var centroids = initial
    var taken = [Double](repeating: 0, count: k)
    var scratch = AssignmentScratch()
    defer { scratch.free() }
    var pending: [Float] = []
    pending.reserveCapacity(batch * d)
    var labels = [Int32](repeating: 0, count: batch)
    var distances = [Double](repeating: 0, count: batch)
    func step() {
      let n = pending.count / d
      guard n > 0 else { return }
      let index = CentroidIndex(centroids: centroids, k: k, dims: d)
      pending.withUnsafeBufferPointer { p in
        labels.withUnsafeMutableBufferPointer { lab in
          distances.withUnsafeMutableBufferPointer { dist in
            index.assign(p.baseAddress!, n, labels: lab.baseAddress!, squaredDistances: dist.baseAddress!, scratch: &scratch, exact: false)
          }
        }
      }
      var sums = [Double](repeating: 0, count: k * d)
      var counts = [Int](repeating: 0, count: k)
      for i in 0..<n {
        let c = Int(labels[i])
        counts[c] += 1
        for j in 0..<d { sums[c * d + j] += Double(pending[i * d + j]) }
      }
      for c in 0..<k where counts[c] > 0 {
        let total = taken[c] + Double(counts[c])
        for j in 0..<d { centroids[c * d + j] = (centroids[c * d + j] * taken[c] + sums[c * d + j]) / total }
        taken[c] = total
      }
      if o.spherical { normalizeRows(&centroids, dims: d) }
      pending.removeAll(keepingCapacity: true)
    }
    for _ in 0..<max(o.iterations, 0) {
      try source.forEachBlock { (b, n) throws(WinnowError) in
        var i = 0
        while i < n {
          let room = batch - pending.count / d
          let m = min(room, n - i)
          pending.append(contentsOf: b[(i * d)..<((i + m) * d)])
          i += m
          if pending.count / d == batch { step() }
        }
      }
      step()
    }
    return try finalAssignment(source, centroids: centroids, k: k, iterations: o.iterations)
  }

  /// Assigns every vector to the final centroids: sizes and inertia (exact distances).
  static func finalAssignment(_ source: VectorSource, centroids: [Double], k: Int, iterations: Int) throws(WinnowError) -> Result {
    let d = source.dims
    var scratch = AssignmentScratch()
    defer { scratch.free() }
    var distances = [Double](repeating: 0, count: 4096)
    var blockLabels = [Int32](repeating: 0, count: 4096)
    var sizes = [Int](repeating: 0, count: k)
    var inertia = 0.0
    var count = 0
    let index = CentroidIndex(centroids: centroids, k: k, dims: d)
    try source.forEachBlock { (b, n) throws(WinnowError) in
      if distances.count < n {
        distances = [Double](repeating: 0, count: n)
        blockLabels = [Int32](repeating: 0, count: n)
      }
      distances.withUnsafeMutableBufferPointer { dist in
        blockLabels.withUnsafeMutableBufferPointer { lab in
          index.assign(b.baseAddress!, n, labels: lab.baseAddress!, squaredDistances: dist.baseAddress!, scratch: &scratch)
        }
      }
      for i in 0..<n {
        sizes[Int(blockLabels[i])] += 1
        inertia += distances[i]
      }
      count += n
    }
    return Result(centroids: centroids, sizes: sizes, inertia: inertia, iterations: iterations, count: count)
  }

  static func farLess(_ a: (Double, Int, [Float]), _ b: (Double, Int, [Float])) -> Bool {
    // "Less far": smaller distance, or equal distance and later position.
    a.0 < b.0 || (a.0 == b.0 && a.1 > b.1)
  }

  static func farUp(_ h: inout [(Double, Int, [Float])], _ iIn: Int) {
    var i = iIn
    while i > 0 {
      let p = (i - 1) / 2
      guard farLess(h[i], h[p]) else { break }
      h.swapAt(p, i)
      i = p
    }
  }

  static func farDown(_ h: inout [(Double, Int, [Float])], _ iIn: Int) {
    var i = iIn
    while true {
      let l = 2 * i + 1
      let r = l + 1
      var m = i
      if l < h.count && farLess(h[l], h[m]) { m = l }
      if r < h.count && farLess(h[r], h[m]) { m = r }
      if m == i { return }
      h.swapAt(i, m)
      i = m
    }
  }
}
