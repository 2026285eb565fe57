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
        let base = r * m.columns
        for j in 0..<m.columns { x[j] += d[base + j] }
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
        let base = r * m.columns
        for j in 0..<m.columns { acc += d[base + j] * x[j] }
        return acc
      }
    case .quantized(let m): return m.dotRow(r, x)
    }
  }
}

public struct DenseMatrix: Sendable {
  public var rows: Int
  public var columns: Int
  public var data: [Float]

  static func load(_ r: inout ModelReader) throws(FastTextError) -> DenseMatrix {
    let m = try r.int64()
    let n = try r.int64()
    guard m >= 0, n >= 0, m * n <= Int64(r.bytes.count) else { throw FastTextError("\(r.path): bad matrix size \(m) × \(n)") }
    return DenseMatrix(rows: Int(m), columns: Int(n), data: try r.floats(Int(m * n)))
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

  static func load(_ r: inout ModelReader) throws(FastTextError) -> ProductQuantizer {
    let dim = Int(try r.int32())
    let nsubq = Int(try r.int32())
    let dsub = Int(try r.int32())
    let lastdsub = Int(try r.int32())
    guard dim > 0, nsubq > 0, dsub > 0, lastdsub > 0, dim <= 1 << 20 else { throw FastTextError("\(r.path): bad product quantizer") }
    return ProductQuantizer(dim: dim, nsubq: nsubq, dsub: dsub, lastdsub: lastdsub, centroids: try r.floats(dim * 256))
  }

  /// Offset of centroid i of sub-quantizer m.
  @inline(__always)
  func centroid(_ m: Int, _ i: Int) -> Int {
    m == nsubq - 1 ? m * 256 * dsub + i * lastdsub : (m * 256 + i) * dsub
  }
}

public struct QuantMatrix: Sendable {
  public var rows: Int
  public var columns: Int
  var qnorm: Bool
  var codes: [UInt8]
  var pq: ProductQuantizer
  var normCodes: [UInt8]
  var npq: ProductQuantizer?

  static func load(_ r: inout ModelReader) throws(FastTextError) -> QuantMatrix {
    let qnorm = try r.bool()
    let m = try r.int64()
    let n = try r.int64()
    let codesize = Int(try r.int32())
    guard m >= 0, n > 0, codesize >= 0, codesize <= r.bytes.count else { throw FastTextError("\(r.path): bad quantized matrix") }
    let codes = Array(try r.raw(codesize))
    let pq = try ProductQuantizer.load(&r)
    guard codesize == Int(m) * pq.nsubq else { throw FastTextError("\(r.path): quantized codes do not match rows") }
    var normCodes: [UInt8] = []
    var npq: ProductQuantizer?
    if qnorm {
      normCodes = Array(try r.raw(Int(m)))
      npq = try ProductQuantizer.load(&r)
    }
    return QuantMatrix(rows: Int(m), columns: Int(n), qnorm: qnorm, codes: codes, pq: pq, normCodes: normCodes, npq: npq)
  }

  @inline(__always)
  func norm(_ r: Int) -> Float {
    guard qnorm, let npq else { return 1 }
    return npq.centroids[npq.centroid(0, Int(normCodes[r]))]
  }

  func addRow(_ r: Int, to x: UnsafeMutablePointer<Float>) {
    let alpha = norm(r)
    for m in 0..<pq.nsubq {
      let c = pq.centroid(m, Int(codes[r * pq.nsubq + m]))
      let d = m == pq.nsubq - 1 ? pq.lastdsub : pq.dsub
      for j in 0..<d { x[m * pq.dsub + j] += alpha * pq.centroids[c + j] }
    }
  }

  func dotRow(_ r: Int, _ x: UnsafePointer<Float>) -> Float {
    var acc: Float = 0
    for m in 0..<pq.nsubq {
      let c = pq.centroid(m, Int(codes[r * pq.nsubq + m]))
      let d = m == pq.nsubq - 1 ? pq.lastdsub : pq.dsub
      for j in 0..<d { acc += x[m * pq.dsub + j] * pq.centroids[c + j] }
    }
    return acc * norm(r)
  }
}
