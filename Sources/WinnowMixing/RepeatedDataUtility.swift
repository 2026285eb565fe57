import WinnowCore

/// QQT's scaling law for repeated data (Goyal et al. 2024, "Scaling Laws for Data Filtering":
/// `objective.py`, `estimate_best_pool.py`): a pool of N samples seen n times over loses
/// utility with each repetition — the exponent of the k-th epoch is b·0.5^(k/τ), halving every τ
/// epochs — so whether a small, clean pool beats a larger, noisier union depends on the compute
/// budget n. The formulas follow the reference exactly (integer epoch arithmetic, the
/// reference's association order and sums left to right) so that values agree to rounding.
public enum RepeatedDataUtility {
  /// A pool's fitted parameters: scale `a`, exponent `b` (< 0), half-life `tau` in epochs and
  /// the irreducible error `d`.
  public struct Pool: Sendable, Codable, Equatable {
    /// The scale of samples seen.
    public var a: Double
    /// The utility exponent of fresh data (negative: more data, less error).
    public var b: Double
    /// The half-life of utility, in epochs.
    public var tau: Double
    /// The irreducible error.
    public var d: Double

    /// A pool's parameters (`d` is ignored where the union's shared floor is used).
    public init(a: Double, b: Double, tau: Double, d: Double = 0) {
      self.a = a
      self.b = b
      self.tau = tau
      self.d = d
    }
  }

  /// How the union of several pools is scored (the reference's two aggregations).
  public enum Aggregation: String, Sendable, Codable, CaseIterable {
    /// The union's exponent per epoch is the mean of the pools' decayed exponents.
    case effectiveUtility = "effective_utility"
    /// The union's samples are weighted per pool and epoch; its exponent is their weighted mean.
    case effectiveData = "effective_data"
  }

  /// The reference's normaliser of sample counts.
  public static let normalizer = 100_000.0

  static func power(_ x: Double, _ p: Double) -> Double { x == 0 ? 0 : pow(x, p) }

  /// The error after `samples` samples from one pool of `poolSize` (`func_effective_utility`;
  /// as in the reference, d sits inside the product).
  public static func error(pool: Pool, poolSize: Int, samples: Int) -> Double {
    precondition(poolSize > 0 && samples >= 0)
    let epochs = samples / poolSize
    let x0 = pool.a * Double(min(poolSize, samples)) / normalizer
    var y = power(x0, pool.b) + pool.d
    var product = 1.0
    for k in stride(from: 1, through: epochs, by: 1) {
      let x = pool.a * Double(min(poolSize * (k + 1), samples)) / normalizer
      let xPrev = pool.a * Double(poolSize) * Double(k) / normalizer
      let bk = pool.b * pow(0.5, Double(k) / pool.tau)
      product = k == 1 ? pow(x / xPrev, bk) : product * pow(x / xPrev, bk)
    }
    if epochs >= 1 { y *= product }
    return y
  }

  /// The error after `samples` samples under the effective-data objective (`func_effective_data`):
  /// S = Σ_k (x_k − x′_k)·0.5^(k/τ), y = S^b + d.
  public static func effectiveDataError(pool: Pool, poolSize: Int, samples: Int) -> Double {
    precondition(poolSize > 0 && samples >= 0)
    let epochs = samples / poolSize
    var s = 0.0
    for k in 0...epochs {
      let x = pool.a * Double(min(poolSize * (k + 1), samples)) / normalizer
      let xPrev = pool.a * Double(poolSize) * Double(k) / normalizer
      s = s + (x - xPrev) * pow(0.5, Double(k) / pool.tau)
    }
    return power(s, pool.b) + pool.d
  }

  /// The order the reference ranks pools in: by b, most negative (best) first; ties keep order.
  public static func order(_ pools: [Pool]) -> [Int] {
    pools.indices.sorted { pools[$0].b < pools[$1].b || (pools[$0].b == pools[$1].b && $0 < $1) }
  }

  /// The error of training on the union of the `m` best pools (`estimate_best_buckets`): pools
  /// of `poolSize` each, sharing `a` (the reference requires it) and the error floor `d`.
  public static func unionError(pools: [Pool], m: Int, poolSize: Int, samples: Int, d: Double,
                                aggregation: Aggregation) -> Double
  {
    precondition(m >= 1 && m <= pools.count && poolSize > 0 && samples >= 0)
    let ranked = order(pools).prefix(m).map { pools[$0] }
    let a = ranked[0].a
    let size = poolSize * m
    let epochs = samples / size
    let md = Double(m)
    func x(_ k: Int) -> Double { a * Double(min(size * (k + 1), samples)) / normalizer }
    func xPrev(_ k: Int) -> Double { a * Double(size) * Double(k) / normalizer }
    func delta(_ i: Int, _ k: Int) -> Double { pow(0.5, Double(k) / (ranked[i].tau * md)) }
    switch aggregation {
    case .effectiveUtility:
      func bk(_ k: Int) -> Double {
        var s = 0.0
        for i in 0..<m { s = s + ranked[i].b * delta(i, k) }
        return s / md
      }
      var y = d + power(x(0), bk(0))
      if epochs >= 1 {
        var product = 1.0
        for k in 1...epochs {
          let r = pow(x(k) / xPrev(k), bk(k))
          product = k == 1 ? r : product * r
        }
        y *= product
      }
      return y
    case .effectiveData:
      func bk(_ k: Int) -> Double {
        var num = 0.0
        var den = 0.0
        for i in 0..<m {
          num = num + ranked[i].b * delta(i, k)
          den = den + delta(i, k)
        }
        return num / den
      }
      var y = power(x(0), bk(0))
      var previous = 0.0
      var current = 0.0
      for k in 0...epochs {
        let step = (x(k) - xPrev(k)) / md
        for i in 0..<m { current = current + step * delta(i, k) }
        if k > 0 { y = y * power(current / previous, bk(k)) }
        previous = current
      }
      return y + d
    }
  }

  /// For each budget, the number of best pools (1-based) whose union gives the lowest error
  /// (the first on a tie), and every union's errors: `errors[m − 1][budget]`.
  public static func bestPoolCount(pools: [Pool], poolSize: Int, budgets: [Int], d: Double, aggregation: Aggregation)
    throws(WinnowError) -> (best: [Int], errors: [[Double]])
  {
    guard !pools.isEmpty else { throw .usage("qqt: no pools") }
    guard poolSize > 0, budgets.allSatisfy({ $0 >= 0 }) else { throw .usage("qqt: the pool size must be positive and budgets not negative") }
    guard pools.allSatisfy({ $0.a == pools[0].a }) else { throw .usage("qqt: the pools must share the scale a") }
    guard pools.allSatisfy({ $0.tau > 0 && $0.a > 0 && $0.b.isFinite }) else { throw .usage("qqt: need a > 0, τ > 0 and a finite b for every pool") }
    let (_, overflow) = poolSize.multipliedReportingOverflow(by: pools.count + 1)
    guard !overflow else { throw .usage("qqt: the pool size is too large") }
    let errors = (1...pools.count).map { m in
      budgets.map { unionError(pools: pools, m: m, poolSize: poolSize, samples: $0, d: d, aggregation: aggregation) }
    }
    let best = budgets.indices.map { j in
      var pick = 0
      for m in errors.indices where errors[m][j] < errors[pick][j] { pick = m }
      return pick + 1
    }
    return (best, errors)
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
