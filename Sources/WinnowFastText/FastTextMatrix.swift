import CMemoryHints

/// An input or output matrix: dense float32 rows, or product-quantized rows (`.ftz`).
public enum FastTextMatrix: Sendable {
  case dense(DenseMatrix)
  case quantized(QuantMatrix)

  public var rows: Int {
    switch self {
    case .dense(let m): m.rows
    case .quantized(let m): m.rows
    }
  }

  public var columns: Int {
    switch self {
    case .dense(let m): m.columns
    case .quantized(let m): m.columns
    }
  }

  /// x += row r, in float32, in fastText's order.
  @inline(__always)
  func addRow(_ r: Int, to x: UnsafeMutablePointer<Float>) {
    switch self {
    case .dense(let m):
      m.data.withUnsafeBufferPointer { d in
        let row = m.row(r, in: d)
        for j in 0..<m.columns { x[j] += row[j] }
      }
    case .quantized(let m): m.addRow(r, to: x)
    }
  }

  /// x += each row listed in `rows`, in order, in float32: the same additions as `addRow` on
  /// each in turn. Rows picked from a large matrix are mostly cache misses, so each row's
  /// memory is requested a few rows ahead of its sum. Every row must be < `rows` (the
  /// dictionary only hands out rows the loaded matrix has: `FastTextModel.load` checks it).
  func addRows(_ list: UnsafeBufferPointer<Int32>, to x: UnsafeMutablePointer<Float>) {
    switch self {
    case .dense(let m):
      m.data.withUnsafeBufferPointer { d in m.addRows(list, of: d, to: x) }
    case .quantized(let m):
      m.addRows(list, to: x)
    }
  }

  /// The dot product of row r with x, accumulated in float32 from 0.
  @inline(__always)
  func dotRow(_ r: Int, _ x: UnsafePointer<Float>) -> Float {
    switch self {
    case .dense(let m):
      return m.data.withUnsafeBufferPointer { d in
        var acc: Float = 0
        let row = m.row(r, in: d)
        for j in 0..<m.columns { acc += row[j] * x[j] }
        return acc
      }
    case .quantized(let m): return m.dotRow(r, x)
    }
  }
}

/// A fastText matrix of `rows × columns` floats, row-major, as the model file stores it.
public struct DenseMatrix: Sendable {
  public var rows: Int
  public var columns: Int
  public var data: [Float]

  /// `DenseMatrix::load`: m × n float32s, m and n int64s, checked against the bytes left
  /// before anything is allocated. `name` says which matrix, in errors.
  static func load(_ r: inout ModelReader, name: String) throws(FastTextError) -> DenseMatrix {
    let m = try r.int64()
    let n = try r.int64()
    guard m >= 0 else { throw r.error("\(name) has \(m) rows (matrix field 'rows')") }
    guard n >= 0 else { throw r.error("\(name) has \(n) columns (matrix field 'columns')") }
    guard let cells = checkedProduct(Int(m), Int(n)), cells <= r.remaining / 4 else {
      throw r.error(
        "\(name) of \(m) × \(n) floats is larger than the \(r.remaining) bytes left in the file"
          + " (matrix fields 'rows', 'columns')")
    }
    return DenseMatrix(rows: Int(m), columns: Int(n), data: try r.floats(cells))
  }

  /// How many rows ahead of the sum `addRows` requests a row's memory.
  static let prefetchDistance = 8

  /// x += each listed row, in order (`FastTextMatrix.addRows`). `d` is this matrix's data.
  @inline(__always)
  func addRows(_ list: UnsafeBufferPointer<Int32>, of d: UnsafeBufferPointer<Float>, to x: UnsafeMutablePointer<Float>) {
    let n = list.count
    guard n > 0 else { return }
    let dim = columns
    let base = d.baseAddress!
    // Each row is checked before its memory is touched, prefetch included: a hint for an
    // address outside the matrix is harmless, but the check costs nothing next to the miss.
    @inline(__always) func start(_ k: Int) -> UnsafePointer<Float> {
      let r = Int(list[k])
      precondition(r >= 0 && r < rows, "row \(r) of a \(rows)-row matrix")
      return base + r &* dim
    }
    let lastByte = dim &* MemoryLayout<Float>.stride &- 1
    for k in 0..<min(Self.prefetchDistance, n) {
      let p = UnsafeRawPointer(start(k))
      winnow_prefetch(p)
      winnow_prefetch(p + lastByte)
    }
    for k in 0..<n {
      if k &+ Self.prefetchDistance < n {
        let p = UnsafeRawPointer(start(k &+ Self.prefetchDistance))
        winnow_prefetch(p)
        winnow_prefetch(p + lastByte)
      }
      let row = start(k)
      for j in 0..<dim { x[j] += row[j] }
    }
  }

  /// The start of row r in `d` (this matrix's data), checked once so that the loops over its
  /// columns need no checks.
  @inline(__always)
  func row(_ r: Int, in d: UnsafeBufferPointer<Float>) -> UnsafePointer<Float> {
    precondition(r >= 0 && r < rows, "row \(r) of a \(rows)-row matrix")
    return d.baseAddress! + r * columns
  }
}

/// Product quantizer (`productquantizer.cc`): 256 centroids per sub-vector of `dsub` floats
/// (the last one `lastdsub`).
public struct ProductQuantizer: Sendable {
  var dim: Int
  var nsubq: Int
  var dsub: Int
  var lastdsub: Int
  var centroids: [Float]

  /// `ProductQuantizer::load`. Sub-quantizer m < nsubq - 1 covers columns m·dsub ..< (m + 1)·dsub
  /// and the last one the `lastdsub` after them, so they must add up to dim; the centroids
  /// are 256 per sub-quantizer, dim · 256 floats in all.
  static func load(_ r: inout ModelReader, name: String) throws(FastTextError) -> ProductQuantizer {
    let dim = Int(try r.int32())
    let nsubq = Int(try r.int32())
    let dsub = Int(try r.int32())
    let lastdsub = Int(try r.int32())
    for (field, value) in [("dim", dim), ("nsubq", nsubq), ("dsub", dsub), ("lastdsub", lastdsub)] where value < 1 {
      throw r.error("\(name) has \(field) \(value) (product quantizer field '\(field)')")
    }
    // Int32s: neither the product nor the sum can overflow an Int.
    guard dsub * (nsubq - 1) + lastdsub == dim else {
      throw r.error(
        "\(name) has dsub \(dsub) × (nsubq \(nsubq) - 1) + lastdsub \(lastdsub) ≠ dim \(dim)"
          + " (product quantizer fields 'nsubq', 'dsub', 'lastdsub')")
    }
    guard dim <= r.remaining / (4 * ksub) else {
      throw r.error(
        "\(name) needs \(dim) × 256 centroid floats, more than the \(r.remaining) bytes left in the file"
          + " (product quantizer field 'dim')")
    }
    return ProductQuantizer(dim: dim, nsubq: nsubq, dsub: dsub, lastdsub: lastdsub, centroids: try r.floats(dim * ksub))
  }

  /// Offset of centroid i of sub-quantizer m.
  @inline(__always)
  func centroid(_ m: Int, _ i: Int) -> Int {
    m == nsubq - 1 ? m * 256 * dsub + i * lastdsub : (m * 256 + i) * dsub
  }
}

/// A product-quantized fastText matrix (`.ftz`): each row is a code per sub-vector, decoded
/// through the centroids (and an optionally quantized norm) when a row is read.
public struct QuantMatrix: Sendable {
  public var rows: Int
  public var columns: Int
  var qnorm: Bool
  var codes: [UInt8]
  var pq: ProductQuantizer
  var normCodes: [UInt8]
  var npq: ProductQuantizer?

  /// `QuantMatrix::load`: one code per row and sub-quantizer, the product quantizer, then
  /// with qnorm one norm code per row and the norms' one-dimensional quantizer.
  static func load(_ r: inout ModelReader, name: String) throws(FastTextError) -> QuantMatrix {
    let qnorm = try r.bool(field: "qnorm")
    let m = try r.int64()
    let n = try r.int64()
    let codesize = Int(try r.int32())
    guard m >= 0 else { throw r.error("\(name) has \(m) rows (matrix field 'rows')") }
    guard n >= 1 else { throw r.error("\(name) has \(n) columns (matrix field 'columns')") }
    guard codesize >= 0, codesize <= r.remaining else {
      throw r.error(
        "\(name) has \(codesize) bytes of codes, but \(r.remaining) are left in the file (matrix field 'codesize')")
    }
    let codes = Array(try r.raw(codesize))
    let pq = try ProductQuantizer.load(&r, name: "\(name)'s product quantizer")
    guard pq.dim == n else {
      throw r.error("\(name) has \(n) columns, but its product quantizer has dim \(pq.dim) (matrix field 'columns')")
    }
    guard checkedProduct(Int(m), pq.nsubq) == codesize else {
      throw r.error(
        "\(name) has \(codesize) bytes of codes, but \(m) rows × nsubq \(pq.nsubq) are needed (matrix field 'codesize')"
      )
    }
    var normCodes: [UInt8] = []
    var npq: ProductQuantizer?
    if qnorm {
      normCodes = Array(try r.raw(Int(m)))
      let q = try ProductQuantizer.load(&r, name: "\(name)'s norm quantizer")
      // One dimension, so one sub-quantizer of one column: a norm code picks a centroid.
      guard q.dim == 1 else {
        throw r.error("\(name)'s norm quantizer has dim \(q.dim), not 1 (product quantizer field 'dim')")
      }
      npq = q
    }
    return QuantMatrix(
      rows: Int(m), columns: Int(n), qnorm: qnorm, codes: codes, pq: pq, normCodes: normCodes, npq: npq)
  }

  @inline(__always)
  func norm(_ r: Int) -> Float {
    guard qnorm, let npq else { return 1 }
    return npq.centroids[npq.centroid(0, Int(normCodes[r]))]
  }

  /// Calls `body` with each sub-quantizer's centroid for row r: its first column in the row,
  /// its width and its floats. The offsets were checked against each other when the model was
  /// loaded (`ProductQuantizer.load`, `QuantMatrix.load`); r is checked here, once per row.
  @inline(__always)
  func forEachCentroid(_ r: Int, _ body: (Int, Int, UnsafePointer<Float>) -> Void) {
    precondition(r >= 0 && r < rows, "row \(r) of a \(rows)-row matrix")
    let nsubq = pq.nsubq
    codes.withUnsafeBufferPointer { codes in
      pq.centroids.withUnsafeBufferPointer { centroids in
        let rowCodes = codes.baseAddress! + r * nsubq
        for m in 0..<nsubq {
          let c = pq.centroid(m, Int(rowCodes[m]))
          body(m * pq.dsub, m == nsubq - 1 ? pq.lastdsub : pq.dsub, centroids.baseAddress! + c)
        }
      }
    }
  }

  @inline(__always)
  func addRow(_ r: Int, to x: UnsafeMutablePointer<Float>) {
    let alpha = norm(r)
    forEachCentroid(r) { start, d, centroid in
      let xs = x + start
      for j in 0..<d { xs[j] += alpha * centroid[j] }
    }
  }

  /// x += each listed row, in order (`FastTextMatrix.addRows`): `addRow` on each, with the
  /// tables' pointers taken once for the whole list.
  func addRows(_ list: UnsafeBufferPointer<Int32>, to x: UnsafeMutablePointer<Float>) {
    let nsubq = pq.nsubq, dsub = pq.dsub, lastdsub = pq.lastdsub
    if nsubq == 8 && dsub == 2 && lastdsub == 2 {
      addRowsDim16(list, to: x)
      return
    }
    // Centroid offsets of the last sub-quantizer: its 256 centroids start after the others'.
    let lastBase = (nsubq - 1) * 256 * dsub
    codes.withUnsafeBufferPointer { codes in
      pq.centroids.withUnsafeBufferPointer { centroids in
        normCodes.withUnsafeBufferPointer { normCodes in
          let c = centroids.baseAddress!
          for r32 in list {
            let r = Int(r32)
            precondition(r >= 0 && r < rows, "row \(r) of a \(rows)-row matrix")
            let alpha = qnorm ? npqNorm(normCodes[r]) : 1
            // Offsets below were checked against each other and the tables when the model
            // was loaded (`ProductQuantizer.load`, `QuantMatrix.load`): they cannot wrap.
            let rowCodes = codes.baseAddress! + r &* nsubq
            for m in 0..<(nsubq &- 1) {
              let centroid = c + (m &* 256 &+ Int(rowCodes[m])) &* dsub
              let xs = x + m &* dsub
              for j in 0..<dsub { xs[j] += alpha * centroid[j] }
            }
            let m = nsubq &- 1
            let centroid = c + (lastBase &+ Int(rowCodes[m]) &* lastdsub)
            let xs = x + m &* dsub
            for j in 0..<lastdsub { xs[j] += alpha * centroid[j] }
          }
        }
      }
    }
  }

  /// `addRows` for the shape of compressed language-identification models (lid.176.ftz and
  /// the built-in one): 16 columns in 8 sub-quantizers of 2. The sum stays in one 16-lane
  /// register for the whole list and each row's eight codes are one load; every lane still
  /// gets `x[j] += alpha * centroid[j]`, a float32 product then a float32 sum, row after row,
  /// so the result is bit for bit the general loop's.
  private func addRowsDim16(_ list: UnsafeBufferPointer<Int32>, to x: UnsafeMutablePointer<Float>) {
    codes.withUnsafeBufferPointer { codes in
      pq.centroids.withUnsafeBufferPointer { centroids in
        normCodes.withUnsafeBufferPointer { normCodes in
          // Checked when the model was loaded: 8 codes per row, 8 × 256 centroids of 2 floats.
          precondition(codes.count == rows &* 8 && centroids.count >= 8 * 256 * 2)
          let c = centroids.baseAddress!
          let codeBytes = UnsafeRawPointer(codes.baseAddress!)
          var sum = UnsafeRawPointer(x).loadUnaligned(as: SIMD16<Float>.self)
          for r32 in list {
            let r = Int(r32)
            precondition(r >= 0 && r < rows, "row \(r) of a \(rows)-row matrix")
            let alpha = qnorm ? npqNorm(normCodes[r]) : 1
            let rowCodes = UInt64(littleEndian: codeBytes.loadUnaligned(fromByteOffset: r &* 8, as: UInt64.self))
            var v = SIMD16<Float>()
            for m in 0..<8 {
              let code = Int(truncatingIfNeeded: (rowCodes >> UInt64(m &* 8)) & 0xFF)
              let centroid = c + (m &* 256 &+ code) &* 2
              v[2 &* m] = centroid[0]
              v[2 &* m &+ 1] = centroid[1]
            }
            sum = sum + alpha * v
          }
          UnsafeMutableRawPointer(x).storeBytes(of: sum, as: SIMD16<Float>.self)
        }
      }
    }
  }

  /// The norm that norm code `code` stands for (qnorm).
  @inline(__always)
  private func npqNorm(_ code: UInt8) -> Float {
    guard let npq else { return 1 }
    return npq.centroids[npq.centroid(0, Int(code))]
  }

  @inline(__always)
  func dotRow(_ r: Int, _ x: UnsafePointer<Float>) -> Float {
    var acc: Float = 0
    forEachCentroid(r) { start, d, centroid in
      let xs = x + start
      for j in 0..<d { acc += xs[j] * centroid[j] }
    }
    return acc * norm(r)
  }
}
