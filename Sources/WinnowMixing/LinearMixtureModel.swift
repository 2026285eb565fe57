import WinnowCore

/// Ordinary least squares with an intercept: `y ≈ intercept + Σ coefficient_j x_j`.
///
/// Mixture weights sum to about one, so the columns and the intercept are nearly collinear; the
/// fit takes the minimum-norm solution (as `numpy.linalg.lstsq` and scikit-learn's
/// `LinearRegression` do) through the eigenvectors of the centred normal matrix, dropping
/// directions whose eigenvalue is below `1e-12` of the largest. Predictions are what RegMix
/// compares, and those do not depend on how the collinear part is split.
public struct LinearMixtureModel: Sendable, Codable, Equatable {
  /// The constant term.
  public var intercept: Double
  /// One coefficient per domain.
  public var coefficients: [Double]

  /// The predicted target for the weights `x`.
  public func predict(_ x: [Double]) -> Double {
    var y = intercept
    for (c, v) in zip(coefficients, x) { y += c * v }
    return y
  }

  /// The least-squares fit of `y` on the rows `x` (all of one width).
  public static func fit(x: [[Double]], y: [Double]) throws(WinnowError) -> LinearMixtureModel {
    let n = x.count
    guard n > 0, n == y.count else { throw .usage("linear model: \(n) rows and \(y.count) targets") }
    let d = x[0].count
    guard x.allSatisfy({ $0.count == d }) else { throw .usage("linear model: rows of different widths") }
    var meanX = [Double](repeating: 0, count: d)
    for row in x { for j in 0..<d { meanX[j] += row[j] } }
    for j in 0..<d { meanX[j] /= Double(n) }
    let meanY = y.reduce(0, +) / Double(n)
    // A = XcᵀXc, b = Xcᵀyc.
    var a = [Double](repeating: 0, count: d * d)
    var b = [Double](repeating: 0, count: d)
    for (r, row) in x.enumerated() {
      let yc = y[r] - meanY
      for i in 0..<d {
        let xi = row[i] - meanX[i]
        b[i] += xi * yc
        for j in i..<d { a[i * d + j] += xi * (row[j] - meanX[j]) }
      }
    }
    for i in 0..<d { for j in 0..<i { a[i * d + j] = a[j * d + i] } }
    let (values, vectors) = SymmetricEigen.decompose(a, size: d)
    let cutoff = (values.max() ?? 0) * 1e-12
    var beta = [Double](repeating: 0, count: d)
    for k in 0..<d where values[k] > cutoff {
      // β += v_k (v_kᵀ b) / λ_k
      var proj = 0.0
      for i in 0..<d { proj += vectors[i * d + k] * b[i] }
      proj /= values[k]
      for i in 0..<d { beta[i] += vectors[i * d + k] * proj }
    }
    var intercept = meanY
    for j in 0..<d { intercept -= beta[j] * meanX[j] }
    return LinearMixtureModel(intercept: intercept, coefficients: beta)
  }
}

/// The eigenvalues and eigenvectors of a small symmetric matrix by cyclic Jacobi rotations.
enum SymmetricEigen {
  /// `matrix` is `size × size`, row-major. Returns the eigenvalues and the eigenvectors as the
  /// columns of a row-major matrix.
  static func decompose(_ matrix: [Double], size n: Int) -> (values: [Double], vectors: [Double]) {
    var a = matrix
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    for _ in 0..<100 {
      var off = 0.0
      for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { off += a[i * n + j] * a[i * n + j] } }
      if off < 1e-30 { break }
      for p in 0..<n {
        for q in (p + 1)..<max(n, p + 1) {
          let apq = a[p * n + q]
          if abs(apq) < 1e-300 { continue }
          let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
          let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
          let c = 1 / (t * t + 1).squareRoot()
          let s = t * c
          for k in 0..<n {
            let akp = a[k * n + p]
            let akq = a[k * n + q]
            a[k * n + p] = c * akp - s * akq
            a[k * n + q] = s * akp + c * akq
          }
          for k in 0..<n {
            let apk = a[p * n + k]
            let aqk = a[q * n + k]
            a[p * n + k] = c * apk - s * aqk
            a[q * n + k] = s * apk + c * aqk
          }
          for k in 0..<n {
            let vkp = v[k * n + p]
            let vkq = v[k * n + q]
            v[k * n + p] = c * vkp - s * vkq
            v[k * n + q] = s * vkp + c * vkq
          }
        }
      }
    }
    return ((0..<n).map { a[$0 * n + $0] }, v)
  }
}

/// Spearman's rank correlation: Pearson's correlation of the ranks, tied values sharing the
/// mean of their ranks (as `scipy.stats.spearmanr`).
public enum RankCorrelation {
  /// Spearman's ρ of two equally long lists (NaN when either is constant).
  public static func spearman(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    return pearson(ranks(a), ranks(b))
  }

  static func ranks(_ v: [Double]) -> [Double] {
    let order = v.indices.sorted { v[$0] < v[$1] || (v[$0] == v[$1] && $0 < $1) }
    var rank = [Double](repeating: 0, count: v.count)
    var i = 0
    while i < order.count {
      var j = i
      while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
      let mean = Double(i + j) / 2 + 1
      for k in i...j { rank[order[k]] = mean }
      i = j + 1
    }
    return rank
  }

  static func pearson(_ a: [Double], _ b: [Double]) -> Double {
    let n = Double(a.count)
    let ma = a.reduce(0, +) / n
    let mb = b.reduce(0, +) / n
    var sab = 0.0
    var saa = 0.0
    var sbb = 0.0
    for (x, y) in zip(a, b) {
      sab += (x - ma) * (y - mb)
      saa += (x - ma) * (x - ma)
      sbb += (y - mb) * (y - mb)
    }
    return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : .nan
  }
}
