import WinnowCore

/// RegMix's way of choosing the mixtures to try with proxy runs (`synthesize_mixture.py`):
/// Dirichlet draws around the token prior at a range of strengths, rejected when a domain
/// would be repeated more than `maxUsage` times, small weights zeroed, weights rounded to a
/// grid, near-duplicates removed, and `count` rows sampled from what is left.
public struct MixtureProposal: Sendable {
  /// How mixtures are drawn (RegMix's constants by default).
  public struct Settings: Sendable, Equatable {
    /// The prior is raised to this power (and renormalised) before drawing when below 1.
    public var temperature = 0.5
    /// Dirichlet strengths: `strengths` values evenly spaced in log scale between these.
    public var minStrength = 0.1
    /// (See `minStrength`.)
    public var maxStrength = 5.0
    /// How many strengths between `minStrength` and `maxStrength`.
    public var strengths = 15
    /// Draws made per row wanted (RegMix draws 100× and samples from the survivors).
    public var multiplier = 100
    /// A domain's weight may be at most `maxUsage` times its (untempered) prior share: more
    /// would repeat its tokens more often than that in the full-size run.
    public var maxUsage = 15.0
    /// Weights below this are zeroed; weights are rounded to multiples of it.
    public var minimum = 2e-4
    /// Rows closer than this in L1 distance count as one.
    public var duplicateDistance = 1e-5
    /// The seed of the draws and of the final sample.
    public var seed: UInt64 = 42

    /// RegMix's settings (`synthesize_mixture.py`).
    public init() {}
  }

  /// The proposed mixtures, in sampled order.
  public var rows: [[Double]]
  /// Draws that passed the usage bound.
  public var accepted: Int
  /// Distinct rows among them.
  public var distinct: Int
  /// The largest weight each domain may take.
  public var bound: [Double]

  /// Proposes `count` mixtures over domains whose token shares are `prior` (any positive scale).
  public static func propose(prior: [Double], count: Int, settings s: Settings = Settings()) throws(WinnowError)
    -> MixtureProposal
  {
    guard !prior.isEmpty, prior.allSatisfy({ $0 > 0 && $0.isFinite }) else {
      throw .usage("propose: every domain's prior share must be a positive number")
    }
    guard count >= 1 else { throw .usage("propose: the number of mixtures must be at least 1") }
    guard s.temperature > 0, s.minStrength > 0, s.maxStrength >= s.minStrength, s.strengths >= 1,
      s.multiplier >= 1, s.maxUsage > 0, s.minimum > 0, s.minimum < 1, s.duplicateDistance >= 0
    else { throw .usage("propose: settings out of range") }
    let (draws, overflow) = count.multipliedReportingOverflow(by: s.multiplier)
    guard !overflow, draws <= 100_000_000 else { throw .usage("propose: \(count) × \(s.multiplier) draws is too many") }

    let total = prior.reduce(0, +)
    var p = prior.map { $0 / total }
    let bound = p.map { min($0 * s.maxUsage, 1) }
    if s.temperature < 1 {
      p = p.map { pow($0, s.temperature) }
      let t = p.reduce(0, +)
      p = p.map { $0 / t }
    }
    let strengths: [Double] =
      s.strengths == 1 || s.minStrength == s.maxStrength
      ? [s.minStrength]
      : (0..<s.strengths).map { k in
        pow(10, log10(s.minStrength) + (log10(s.maxStrength) - log10(s.minStrength)) * Double(k) / Double(s.strengths - 1))
      }
    var random = SeededRandom(seed: s.seed)
    var kept: [[Double]] = []
    for _ in 0..<draws {
      // RegMix draws once at every strength and keeps one at random: the same as drawing at
      // one strength chosen at random.
      let strength = strengths[strengths.count == 1 ? 0 : random.below(strengths.count)]
      var w = random.dirichlet(p.map { $0 * strength })
      if zip(w, bound).contains(where: { $0 > $1 }) { continue }
      for k in w.indices where w[k] < s.minimum { w[k] = 0 }
      let sum = w.reduce(0, +)
      guard sum > 0 else { continue }
      w = w.map { ($0 / sum / s.minimum).rounded(.toNearestOrEven) * s.minimum }
      kept.append(w)
    }
    // Sorted as numpy's lexsort of the columns sorts (the last domain is the primary key), then
    // each row within the L1 distance of the previous row kept is dropped.
    kept.sort { a, b in
      for k in stride(from: a.count - 1, through: 0, by: -1) where a[k] != b[k] { return a[k] < b[k] }
      return false
    }
    var distinct: [[Double]] = []
    for row in kept {
      if let last = distinct.last {
        var d = 0.0
        for k in row.indices { d += abs(row[k] - last[k]) }
        if d <= s.duplicateDistance { continue }
      }
      distinct.append(row)
    }
    guard distinct.count >= count else {
      throw .usage(
        "propose: only \(distinct.count) distinct mixtures passed the usage bound (of \(draws) draws); ask for fewer, or raise --multiplier or --max-usage"
      )
    }
    // Sampling without replacement (a partial Fisher–Yates shuffle).
    var pool = distinct
    for k in 0..<count {
      let j = k + random.below(pool.count - k)
      pool.swapAt(k, j)
    }
    return MixtureProposal(rows: Array(pool[0..<count]), accepted: kept.count, distinct: distinct.count, bound: bound)
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
