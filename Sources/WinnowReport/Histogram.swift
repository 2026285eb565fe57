import Foundation

/// Summary numbers of a list of values.
public struct ValueSummary: Sendable {
  public var count: Int
  public var min: Double
  public var max: Double
  public var mean: Double
  public var median: Double
  public var p10: Double
  public var p90: Double

  /// Nil for an empty list. `sorted` must be in ascending order.
  init?(sorted: [Double]) {
    guard let first = sorted.first, let last = sorted.last else { return nil }
    count = sorted.count
    min = first
    max = last
    mean = sorted.reduce(0, +) / Double(sorted.count)
    median = Self.quantile(sorted, 0.5)
    p10 = Self.quantile(sorted, 0.1)
    p90 = Self.quantile(sorted, 0.9)
  }

  /// Linear interpolation between closest ranks (NumPy's default).
  static func quantile(_ sorted: [Double], _ q: Double) -> Double {
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos.rounded(.down))
    let hi = Swift.min(lo + 1, sorted.count - 1)
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
  }
}

/// Bins of a list of numbers, chosen for reading rather than for statistics: one bin per value
/// for small integer ranges, logarithmic bins for long-tailed positive values (document
/// lengths), otherwise linear bins on round numbers with the far tail gathered into one
/// overflow bin.
public struct Histogram: Sendable {
  /// How bin edges are spaced.
  public enum Scale: String, Sendable {
    /// One bin per integer value; `edges` are the half-way points.
    case integer
    case linear
    /// Bins of equal width in log10.
    case log
  }

  public var scale: Scale
  /// `counts.count + 1` ascending bin edges; bin k holds `edges[k] ≤ v < edges[k + 1]` (the
  /// last bin includes its upper edge).
  public var edges: [Double]
  public var counts: [Int]
  /// Values above the last edge (linear scale only: the tail beyond the 99th percentile).
  public var overflow: Int
  public var summary: ValueSummary

  public init?(_ values: [Double], maxBins: Int = 40) {
    let finite = values.filter { $0.isFinite }.sorted()
    guard let summary = ValueSummary(sorted: finite) else { return nil }
    self.summary = summary
    let lo = summary.min
    let hi = summary.max
    let allIntegers = finite.allSatisfy { $0 == $0.rounded() && abs($0) < 1e15 }
    overflow = 0
    if allIntegers && hi - lo <= Double(maxBins) {
      scale = .integer
      edges = stride(from: lo - 0.5, through: hi + 0.5, by: 1).map { $0 }
    } else if lo >= 1 && hi / lo >= 200 {
      scale = .log
      // Five bins per decade, on the round values 1, 1.58, 2.51, 3.98, 6.31, 10, …
      let perDecade = 5.0
      let a = (log10(lo) * perDecade).rounded(.down)
      var b = (log10(hi) * perDecade).rounded(.up)
      if b <= a { b = a + 1 }
      edges = stride(from: a, through: b, by: 1).map { pow(10, $0 / perDecade) }
      if Double(edges.count - 1) > Double(maxBins) {
        let step = ((b - a) / Double(maxBins)).rounded(.up)
        edges = stride(from: a, through: b + step - 1, by: step).map { pow(10, $0 / perDecade) }
      }
    } else {
      scale = .linear
      // A far tail would squeeze every other value into a bin or two: stop at the 99th
      // percentile and count the rest as overflow.
      let p99 = ValueSummary.quantile(finite, 0.99)
      let top = (p99 - lo) < 0.25 * (hi - lo) ? p99 : hi
      if top <= lo {
        let w = Swift.max(abs(lo) * 0.05, 1e-9)
        edges = [lo - w, lo + w]
      } else {
        let step = Self.niceStep((top - lo) / Double(Swift.min(maxBins, 30)))
        let start = (lo / step).rounded(.down) * step
        var e = [start]
        while e[e.count - 1] < top { e.append(start + Double(e.count) * step) }
        edges = e
      }
    }
    counts = Array(repeating: 0, count: edges.count - 1)
    let last = edges[edges.count - 1]
    for v in finite {
      if v > last {
        overflow += 1
        continue
      }
      counts[bin(of: v)] += 1
    }
  }

  func bin(of v: Double) -> Int {
    // Binary search for the last edge ≤ v.
    var lo = 0
    var hi = edges.count - 1
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      if edges[mid] <= v { lo = mid } else { hi = mid }
    }
    return Swift.min(lo, counts.count - 1)
  }

  /// 1, 2, 2.5 or 5 times a power of ten, at least `raw`.
  static func niceStep(_ raw: Double) -> Double {
    guard raw > 0, raw.isFinite else { return 1 }
    let p = pow(10, log10(raw).rounded(.down))
    for m in [1.0, 2, 2.5, 5, 10] where m * p >= raw * (1 - 1e-9) { return m * p }
    return 10 * p
  }
}
