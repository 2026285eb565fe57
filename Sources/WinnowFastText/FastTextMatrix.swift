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
