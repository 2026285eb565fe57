import CVectorKernel
import Foundation
import Testing
import WinnowTestSupport

@testable import WinnowCore
@testable import WinnowSelect

@Suite("cluster stage, k-means, vector files")
struct ClusterStageTests {
  /// Three well-separated groups of documents in 4 dimensions (ids a*, b*, c*), with texts in
  /// several scripts.
  static let corpus: [[UInt8]] = {
    var lines: [[UInt8]] = []
    let centers: [(String, [Double])] = [("a", [10, 0, 0, 0]), ("b", [0, 10, 0, 0]), ("c", [0, 0, 10, 10])]
    for i in 0..<20 {
      for (name, c) in centers {
        let v = c.enumerated().map { j, x in x + Double((i * 7 + j * 3) % 5) * 0.1 }
        let text = ["plain English text", "日本語のテキスト", "текст на русском"][i % 3]
        lines.append(Array("{\"id\":\"\(name)\(i)\",\"text\":\"\(text)\",\"embedding\":\(v)}".utf8))
      }
    }
    return lines
  }()

  func stage(k: Int = 3, dims: Int? = nil, cosine: Bool = false, initCentroids: String? = nil) -> ClusterStage {
    var o = KMeans.Options(k: k)
    o.spherical = cosine
    o.seed = 7
    return ClusterStage(options: o, dims: dims, initCentroids: initCentroids)
  }

  @Test("the groups become the clusters, the same for 1, 2 and 5 tasks")
  func groups() throws {
    var byTasks: [[String: Int]] = []
    for tasks in [1, 2, 5] {
      let run = try GlobalRun.run(stage(), split(Self.corpus, into: tasks))
      #expect(run.keptIDs.count == Self.corpus.count)
      var labels: [String: Int] = [:]
      for d in run.kept { labels[d["id"] as! String] = d["cluster"] as? Int }
      for g in ["a", "b", "c"] {
        let ids = Set(labels.filter { $0.key.hasPrefix(g) }.map(\.value))
        #expect(ids.count == 1, "group \(g) split over \(ids)")
      }
      #expect(Set(labels.values).count == 3)
      #expect(run.kept.allSatisfy { ($0["cluster_distance"] as? Double ?? 99) < 1 })
      byTasks.append(labels)
    }
    #expect(byTasks[0] == byTasks[1] && byTasks[1] == byTasks[2])
  }

  @Test("mini-batch k-means: close to Lloyd's inertia, the same for any task count")
  func miniBatch() throws {
    var state: UInt64 = 3
    var values: [Float] = []
    for i in 0..<6000 {
      let c = i % 5
      for j in 0..<8 {
        state = KMeans.splitmix(state)
        values.append(Float((j == c ? 10.0 : 0.0) + Double(state >> 11) * 0x1p-53 - 0.5))
      }
    }
    let source = InMemoryVectors(dims: 8, values: values)
    var o = KMeans.Options(k: 5)
    o.seed = 1
    let (initial, _, tol) = try KMeans.initialise(source, o)
    let lloyd = try KMeans.lloyd(source, initial: initial, o, tolerance: tol)
    o.miniBatch = 256
    o.iterations = 3
    let mini = try KMeans.lloyd(source, initial: initial, o, tolerance: tol)
    #expect(mini.inertia <= lloyd.inertia * 1.05, "\(mini.inertia) vs \(lloyd.inertia)")
    #expect(mini.count == 6000 && mini.sizes.reduce(0, +) == 6000)
    // Through the stage: the same clusters for 1 and 3 tasks.
    var so = KMeans.Options(k: 3)
    so.miniBatch = 7
    so.seed = 2
    let a = try GlobalRun.run(ClusterStage(options: so), split(Self.corpus, into: 1))
    let b = try GlobalRun.run(ClusterStage(options: so), split(Self.corpus, into: 3))
    #expect(a.kept.map { $0["cluster"] as? Int } == b.kept.map { $0["cluster"] as? Int })
  }

  @Test("bad vectors are dropped with their reason; bad lines are quarantined before the stage; a huge document")
  func badVectors() throws {
    var lines = Self.corpus
    lines += [
      Array(#"{"id":"none","text":"x"}"#.utf8), Array(#"{"id":"short","text":"x","embedding":[1,2]}"#.utf8),
      Array(#"{"id":"nan","text":"x","embedding":[1,null,2,3]}"#.utf8), Array(#"{"id":"str","text":"x","embedding":"no"}"#.utf8),
      HugeText.jsonLine(id: "huge", extra: #","embedding":[10,0,0,0]"#),
    ]
    let (mixed, _) = interleaveBad(lines)
    let run = try GlobalRun.run(stage(dims: 4), split(mixed, into: 3))
    #expect(run.reasons == [
      "none": "embedding_missing", "short": "embedding_wrong_length", "nan": "embedding_not_finite", "str": "embedding_malformed",
    ])
    #expect(run.keptIDs.contains("huge"))
    #expect(run.applied.reduce(0) { $0 + $1.stats.quarantined } == badLines.count)
    // Without dims, vectors of two lengths in different tasks are an error that says so.
    let two = [Array(#"{"id":"x","text":"x","embedding":[1,2,3,4]}"#.utf8), Array(#"{"id":"y","text":"y","embedding":[1,2]}"#.utf8)]
    let e = winnowError { _ = try GlobalRun.run(stage(k: 1), [[two[0]], [two[1]]]) }
    #expect(e?.message.contains("give dims") == true)
    // No usable vector at all; empty input.
    #expect(winnowError { _ = try GlobalRun.run(stage(), [[]]) }?.message.contains("no document has a usable vector") == true)
    // More clusters than vectors.
    #expect(winnowError { _ = try GlobalRun.run(stage(k: 100), [Self.corpus]) }?.message.contains("must not exceed") == true)
    // Cosine: a zero vector has no direction.
    let zero = [Array(#"{"id":"z","text":"x","embedding":[0,0,0,0]}"#.utf8)] + Self.corpus
    #expect(try GlobalRun.run(stage(cosine: true), [zero]).reasons == ["z": "embedding_zero"])
  }

  @Test("a corrupt, truncated or unrecorded vector file is an error naming it")
  func hostileIntermediates() throws {
    let s = stage()
    for damage in ["flip", "truncate", "extra"] {
      var run = try GlobalRun()
      let tasks = split(Self.corpus, into: 2)
      run.tasksPerPass = PhaseStore.tasksPerPass(s.passes, inputTasks: 2)
      try run.run(pass: 0, s, tasks)
      let file = run.files(0, ".vec")[0]
      switch damage {
      case "flip":
        var b = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        b[40] ^= 0x40
        try Data(b).write(to: URL(fileURLWithPath: file))
      case "truncate":
        let b = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        try Data(b.dropLast(3)).write(to: URL(fileURLWithPath: file))
      default:
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: run.root + "/p0/p0-t00009-vectors.vec"))
      }
      let e = winnowError { try run.run(pass: 1, s, tasks) }
      #expect(e != nil && e!.message.contains("/p0/"), "\(damage): \(e?.message ?? "no error")")
    }
  }

  @Test("vector files: round trip, and damaged headers and footers are refused before anything is allocated")
  func vectorFiles() throws {
    let dir = try TempDir()
    let path = dir.path + "/v.vec"
    let w = try VectorRunWriter(path: path, dims: 3)
    for i in 0..<5000 {
      let v: [Float] = [Float(i), -Float(i) / 3, 1e-30]
      try v.withUnsafeBufferPointer { try w.append(ordinal: UInt64(i), tag: UInt64(i * 2), vector: $0) }
    }
    let file = try w.finish()
    let r = try VectorRunReader(file: file, dims: 3)
    var n = 0
    while let e = try r.next() {
      #expect(e.ordinal == UInt64(n) && e.tag == UInt64(2 * n) && r.vector == [Float(n), -Float(n) / 3, 1e-30])
      n += 1
    }
    #expect(n == 5000)
    #expect(winnowError { _ = try VectorRunReader(file: file, dims: 4) }?.message.contains("expected 4") == true)
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    // A count in the footer that would overflow, or not fit the file.
    for count: UInt64 in [UInt64.max, 5001] {
      var b = bytes
      withUnsafeBytes(of: count.littleEndian) { for k in 0..<8 { b[b.count - 16 + k] = $0[k] } }
      try Data(b).write(to: URL(fileURLWithPath: path))
      #expect(winnowError { _ = try VectorRunReader(path: path, dims: 3) }?.message.contains("truncated or corrupt") == true)
    }
    bytes[0] = 0
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    #expect(winnowError { _ = try VectorRunReader(path: path, dims: 3) }?.message.contains("not a Winnow vector file") == true)
    // A header declaring vectors of a billion values, with no entries: refused before anything
    // is allocated for them.
    var huge = Array("WNVECRUN".utf8)
    for v: UInt32 in [1, 1_058_668_544] { withUnsafeBytes(of: v.littleEndian) { huge += $0 } }
    huge += [UInt8](repeating: 0, count: 16)
    try Data(huge).write(to: URL(fileURLWithPath: path))
    #expect(winnowError { _ = try VectorRunReader(path: path, dims: nil) }?.message.contains("more than") == true)
  }

  @Test(".npy centroids: float32 round trip; hostile headers are errors naming the file")
  func numpy() throws {
    let b = NumpyArrayFile.float32(rows: 2, columns: 3, values: [1, 2, 3, 4, 5, 6.5])
    #expect(b.count % 64 == 24 + 0 || (b.count - 24) % 64 == 0)
    let a = try NumpyArrayFile.parse(b, name: "c.npy")
    #expect(a.rows == 2 && a.columns == 3 && a.values == [1, 2, 3, 4, 5, 6.5])
    func replacing(_ what: String, _ with: String) -> [UInt8] {
      let w = Array(what.utf8)
      var out = b
      for i in 0...(b.count - w.count) where Array(b[i..<(i + w.count)]) == w {
        out.replaceSubrange(i..<(i + w.count), with: Array(with.utf8))
        break
      }
      return out
    }
    for (bytes, why) in [
      (replacing("(2, 3)", "(9, 3)"), "needs"), (Array(b.prefix(20)), "header longer"), ([UInt8](repeating: 0, count: 40), "magic"),
      (replacing("<f4", "<i4"), "descr"), (replacing("(2, 3)", "(0, 3)"), "positive"),
      (replacing("(2, 3)", "(9223372036854775807, 3)"), "needs"),
    ] {
      let e = winnowError { _ = try NumpyArrayFile.parse(bytes, name: "bad.npy") }
      #expect(e?.message.contains("bad.npy") == true && e?.message.contains(why) == true, "\(e?.message ?? "none")")
    }
  }

  @Test("the AVX2 kernel and the portable one agree; close calls are decided exactly")
  func kernel() {
    var g = SystemRandomNumberGenerator()
    let n = 37, d = 19, k = 21
    let x = (0..<(n * d)).map { _ in Float.random(in: -1...1, using: &g) }
    var c = (0..<(k * d)).map { _ in Double(Float.random(in: -1...1, using: &g)) }
    // Centroid 5 duplicated as 6: ties go to the lower index.
    for j in 0..<d { c[6 * d + j] = c[5 * d + j] }
    let index = CentroidIndex(centroids: c, k: k, dims: d)
    var labels = [Int32](repeating: 0, count: n)
    var dist = [Double](repeating: 0, count: n)
    var scratch = AssignmentScratch()
    defer { scratch.free() }
    x.withUnsafeBufferPointer { xb in index.assign(xb.baseAddress!, n, labels: &labels, squaredDistances: &dist, scratch: &scratch) }
    for i in 0..<n {
      var best = 0
      var bestD = Double.infinity
      for cc in 0..<k {
        var s = 0.0
        for j in 0..<d { s += (Double(x[i * d + j]) - c[cc * d + j]) * (Double(x[i * d + j]) - c[cc * d + j]) }
        if s < bestD {
          bestD = s
          best = cc
        }
      }
      #expect(Int(labels[i]) == best && abs(dist[i] - bestD) < 1e-12)
    }
    // The portable kernel gives the same picks as the dispatched one on this data.
    var l2 = [Int32](repeating: 0, count: n)
    var b2 = [Float](repeating: 0, count: n)
    var s2 = [Float](repeating: 0, count: n)
    var l3 = l2
    var b3 = b2
    var s3 = s2
    index.transposed.withUnsafeBufferPointer { t in
      index.norms.withUnsafeBufferPointer { nb in
        x.withUnsafeBufferPointer { xb in
          wn_nearest_centroids_scalar(xb.baseAddress!, n, d, t.baseAddress!, nb.baseAddress!, index.padded, &l2, &b2, &s2)
          wn_nearest_centroids(xb.baseAddress!, n, d, t.baseAddress!, nb.baseAddress!, index.padded, &l3, &b3, &s3)
        }
      }
    }
    for i in 0..<n where s2[i] - b2[i] > 1e-4 { #expect(l2[i] == l3[i]) }
  }
}
