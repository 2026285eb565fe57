import Glibc

/// Options of `fasttext quantize` (`FastText::quantize`). Retraining uses the generic
/// defaults (lr 0.05, epoch 5), since the command is not `supervised`.
public struct FastTextQuantizeOptions: Sendable {
  /// Training text for retraining.
  public var input = ""
  /// Keep this many input rows (by norm, `</s>` first); 0: keep all.
  public var cutoff = 0
  public var retrain = false
  public var qnorm = false
  public var qout = false
  public var dsub = 2
  public var epoch: Int32 = 5
  public var lr: Double = 0.05
  public var thread: Int32 = 12
  public init() {}
}

extension FastTextModel {
  /// The quantized model (`.ftz`): rows pruned to the `cutoff` largest (optionally retrained),
  /// then product-quantized. The result predicts as `fasttext quantize`'s does; the file is the
  /// same except for the order of the pruned-bucket map, which fastText writes in its hash
  /// table's order (Winnow writes it sorted).
  public func quantized(_ q: FastTextQuantizeOptions) throws(FastTextError) -> FastTextModel {
    guard case .dense(var input) = self.input, case .dense(var output) = self.output else {
      throw FastTextError("the model is already quantized")
    }
    guard q.dsub > 0 else { throw FastTextError("-dsub must be positive") }
    var args = self.args
    var dict = dictionary
    if q.cutoff > 0 && q.cutoff < input.rows {
      let keep = Self.selectEmbeddings(input, dictionary: dict, cutoff: q.cutoff)
      let (pruned, order) = dict.pruned(keeping: keep)
      dict = pruned
      var data = [Float](repeating: 0, count: order.count * input.columns)
      for (i, row) in order.enumerated() {
        for j in 0..<input.columns { data[i * input.columns + j] = input.data[Int(row) * input.columns + j] }
      }
      input = DenseMatrix(rows: order.count, columns: input.columns, data: data)
      if q.retrain {
        guard !q.input.isEmpty else { throw FastTextError("-retrain needs the training file (-input)") }
        guard q.epoch > 0, q.thread > 0 else { throw FastTextError("-epoch and -thread must be positive") }
        args.epoch = q.epoch
        // The model's own arguments, with quantize's epoch, lr and thread (seed and label
        // prefix are not stored: their defaults apply, as in fastText).
        var o = FastTextTrainingOptions(continuing: args)
        o.input = q.input
        o.lr = q.lr
        o.thread = q.thread
        let text = try ModelReader(path: q.input).bytes
        let weights = SharedWeights(input: input, output: output)
        _ = try FastTextTrainer.optimise(TrainingSetup(options: o, dictionary: dict, text: text, weights: weights))
        input = weights.inputMatrix()
        output = weights.outputMatrix()
      }
    }
    return try Self.finish(args: args, dict: dict, input: input, output: output, q)
  }

  static func finish(args: FastTextArgs, dict: FastTextDictionary, input: DenseMatrix, output: DenseMatrix, _ q: FastTextQuantizeOptions)
    throws(FastTextError) -> FastTextModel
  {
    let qin = try QuantMatrix(quantizing: input, dsub: q.dsub, qnorm: q.qnorm)
    let out: FastTextMatrix = q.qout ? .quantized(try QuantMatrix(quantizing: output, dsub: 2, qnorm: q.qnorm)) : .dense(output)
    return FastTextModel(args: args, dictionary: dict, input: .quantized(qin), output: out, quantizedInput: true, quantizedOutput: q.qout)
  }

  /// `FastText::selectEmbeddings`: row ids by L2 norm, largest first, `</s>` before all;
  /// the first `cutoff`.
  static func selectEmbeddings(_ m: DenseMatrix, dictionary: FastTextDictionary, cutoff: Int) -> [Int32] {
    // A NaN norm (from a model's NaN weights) counts as the smallest: the comparison must stay
    // a strict weak ordering, or the sort's unguarded insertion could run off the array.
    let norms = (0..<m.rows).map { i in
      let norm = m.l2Norm(row: i)
      return norm.isNaN ? -Float.infinity : norm
    }
    let eos = Int(dictionary.id(FastTextDictionary.eos) ?? -1)
    var idx = [Int32](0..<Int32(m.rows))
    idx.withUnsafeMutableBufferPointer { p in
      LibstdcxxSort.sort(p) { a, b in
        let i1 = Int(a)
        let i2 = Int(b)
        if i1 == eos && i2 == eos { return false }
        return eos == i1 || (eos != i2 && norms[i1] > norms[i2])
      }
    }
    return Array(idx[0..<cutoff])
  }
}

extension DenseMatrix {
  /// The L2 norm of a row, summed in double from float32 squares (`DenseMatrix::l2NormRow`).
  func l2Norm(row i: Int) -> Float {
    var norm = 0.0
    for j in 0..<columns {
      let x = data[i * columns + j]
      norm += Double(x * x)
    }
    return Float(norm.squareRoot())
  }
}

extension FastTextDictionary {
  /// `Dictionary::prune`: keeps the given rows. Kept words keep their relative order, every
  /// label stays, and kept n-gram buckets are renumbered in the given order. Returns the
  /// dictionary and the old rows of the new input matrix, in order.
  func pruned(keeping idx: [Int32]) -> (FastTextDictionary, [Int32]) {
    var words = idx.filter { Int($0) < nwords }
    let ngrams = idx.filter { Int($0) >= nwords }
    words.sort()
    var prune: [Int32: Int32] = [:]
    for (j, n) in ngrams.enumerated() { prune[n - Int32(nwords)] = Int32(j) }
    let kept = Set(words)
    var newEntries: [Entry] = []
    for (i, e) in entries.enumerated() where e.isLabel || kept.contains(Int32(i)) { newEntries.append(e) }
    let d = FastTextDictionary(
      entries: newEntries, nwords: words.count, nlabels: nlabels, ntokens: ntokens, pruneIndexSize: Int64(prune.count),
      pruneIndex: prune, bucket: bucket, minn: minn, maxn: maxn)
    return (d, words + ngrams)
  }
}

extension QuantMatrix {
  /// `QuantMatrix(DenseMatrix&&, dsub, qnorm)`: with qnorm, rows are divided by their norms
  /// and the norms quantized on their own; then a product quantizer is trained on the rows and
  /// every row gets its codes.
  init(quantizing source: DenseMatrix, dsub: Int, qnorm: Bool) throws(FastTextError) {
    var m = source
    let n = m.rows
    let dim = m.columns
    var normCodes: [UInt8] = []
    var npq: ProductQuantizer?
    if qnorm {
      let norms = (0..<n).map { m.l2Norm(row: $0) }
      for i in 0..<n where norms[i] != 0 {
        for j in 0..<dim { m.data[i * dim + j] /= norms[i] }
      }
      var q = ProductQuantizer(dim: 1, dsub: 1)
      try q.train(norms, rows: n)
      normCodes = q.codes(norms, rows: n)
      npq = q
    }
    var pq = ProductQuantizer(dim: dim, dsub: dsub)
    try pq.train(m.data, rows: n)
    let codes = pq.codes(m.data, rows: n)
    self.init(rows: n, columns: dim, qnorm: qnorm, codes: codes, pq: pq, normCodes: normCodes, npq: npq)
  }
}

extension ProductQuantizer {
  static let ksub = 256
  static let maxPoints = 256 * 256
  static let iterations = 25
  static let eps: Float = 1e-7

  /// `ProductQuantizer(dim, dsub)`: the last sub-vector takes the remainder.
  init(dim: Int, dsub: Int) {
    var nsubq = dim / dsub
    var last = dim % dsub
    if last == 0 { last = dsub } else { nsubq += 1 }
    self.init(dim: dim, nsubq: nsubq, dsub: dsub, lastdsub: last, centroids: [Float](repeating: 0, count: dim * Self.ksub))
  }

  /// `ProductQuantizer::train`: k-means per sub-vector on at most 65,536 rows, from the
  /// quantizer's own `minstd_rand(1234)`.
  mutating func train(_ x: [Float], rows n: Int) throws(FastTextError) {
    guard n >= Self.ksub else {
      throw FastTextError("matrix too small for quantization: \(n) rows, at least \(Self.ksub) needed (raise -cutoff; -qout needs 256 labels)")
    }
    var rng = MinstdRand(seed: 1234)
    var perm = [Int32](0..<Int32(n))
    let np = min(n, Self.maxPoints)
    var slice = [Float](repeating: 0, count: np * dsub)
    var d = dsub
    for m in 0..<nsubq {
      if m == nsubq - 1 { d = lastdsub }
      if np != n { perm.withUnsafeMutableBufferPointer { LibstdcxxShuffle.shuffle($0, &rng) } }
      for j in 0..<np {
        for t in 0..<d { slice[j * d + t] = x[Int(perm[j]) * dim + m * dsub + t] }
      }
      let base = centroid(m, 0)
      centroids.withUnsafeMutableBufferPointer { c in
        slice.withUnsafeBufferPointer { s in Self.kmeans(s.baseAddress!, c.baseAddress! + base, np, d, &rng) }
      }
    }
  }

  static func kmeans(_ x: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ n: Int, _ d: Int, _ rng: inout MinstdRand) {
    var perm = [Int32](0..<Int32(n))
    perm.withUnsafeMutableBufferPointer { LibstdcxxShuffle.shuffle($0, &rng) }
    for i in 0..<ksub {
      for t in 0..<d { c[i * d + t] = x[Int(perm[i]) * d + t] }
    }
    var codes = [UInt8](repeating: 0, count: n)
    var nelts = [Int32](repeating: 0, count: ksub)
    for _ in 0..<iterations {
      for i in 0..<n { codes[i] = assign(x + i * d, c, d).code }
      // M step.
      for k in 0..<ksub { nelts[k] = 0 }
      for t in 0..<(d * ksub) { c[t] = 0 }
      for i in 0..<n {
        let k = Int(codes[i])
        for t in 0..<d { c[k * d + t] += x[i * d + t] }
        nelts[k] += 1
      }
      for k in 0..<ksub {
        let z = Float(nelts[k])
        if z != 0 { for t in 0..<d { c[k * d + t] /= z } }
      }
      for k in 0..<ksub where nelts[k] == 0 {
        // An empty cluster splits a populated one, chosen at random in proportion to its size.
        var m = 0
        while rng.uniformReal(0, 1) * Double(n - ksub) >= Double(nelts[m] - 1) { m = (m + 1) % ksub }
        for t in 0..<d { c[k * d + t] = c[m * d + t] }
        for t in 0..<d {
          let sign = Float((t % 2) * 2 - 1)
          c[k * d + t] += sign * eps
          c[m * d + t] -= sign * eps
        }
        nelts[k] = nelts[m] / 2
        nelts[m] -= nelts[k]
      }
    }
  }

  /// The nearest centroid (squared L2 in float32; the first of equals wins).
  @inline(__always)
  static func assign(_ x: UnsafePointer<Float>, _ c0: UnsafePointer<Float>, _ d: Int) -> (code: UInt8, distance: Float) {
    var best: Float = 0
    for t in 0..<d {
      let v = x[t] - c0[t]
      best += v * v
    }
    var code = 0
    for j in 1..<ksub {
      var dist: Float = 0
      let c = c0 + j * d
      for t in 0..<d {
        let v = x[t] - c[t]
        dist += v * v
      }
      if dist < best {
        code = j
        best = dist
      }
    }
    return (UInt8(code), best)
  }

  /// Every row's codes, one byte per sub-quantizer (`compute_codes`).
  func codes(_ x: [Float], rows n: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: n * nsubq)
    centroids.withUnsafeBufferPointer { c in
      x.withUnsafeBufferPointer { xs in
        for i in 0..<n {
          var d = dsub
          for m in 0..<nsubq {
            if m == nsubq - 1 { d = lastdsub }
            out[i * nsubq + m] = Self.assign(xs.baseAddress! + i * dim + m * dsub, c.baseAddress! + centroid(m, 0), d).code
          }
        }
      }
    }
    return out
  }
}

/// libstdc++'s `std::shuffle`: when the generator's range allows, two positions come from
/// one draw (`__gen_two_uniform_ints`), so the permutation depends on this exact algorithm.
enum LibstdcxxShuffle {
  static func shuffle(_ a: UnsafeMutableBufferPointer<Int32>, _ g: inout MinstdRand) {
    let n = a.count
    guard n > 0 else { return }
    let urngrange: UInt64 = 2_147_483_645
    let urange = UInt64(n)
    if urngrange / urange >= urange {
      var i = 1
      if urange % 2 == 0 {
        a.swapAt(i, g.uniformInt(2))
        i += 1
      }
      while i != n {
        let swapRange = i + 1
        let x = g.uniformInt(swapRange * (swapRange + 1))
        a.swapAt(i, x / (swapRange + 1))
        i += 1
        a.swapAt(i, x % (swapRange + 1))
        i += 1
      }
      return
    }
    for i in 1..<n { a.swapAt(i, g.uniformInt(i + 1)) }
  }
}
