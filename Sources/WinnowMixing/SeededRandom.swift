/// A seeded random stream for the mixture tools: xoshiro256** seeded through SplitMix64, the
/// same numbers on every platform and Swift version (Swift's own generators promise neither).
/// Draws are reproducible from the seed; they are not numpy's draws (no port replays those).
public struct SeededRandom: RandomNumberGenerator, Sendable {
  private var s: (UInt64, UInt64, UInt64, UInt64)

  /// The stream for `seed` (any value, 0 included).
  public init(seed: UInt64) {
    var x = seed
    func splitMix() -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    s = (splitMix(), splitMix(), splitMix(), splitMix())
  }

  public mutating func next() -> UInt64 {
    let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
    let t = s.1 << 17
    s.2 ^= s.0
    s.3 ^= s.1
    s.1 ^= s.2
    s.0 ^= s.3
    s.2 ^= t
    s.3 = s.3 << 45 | s.3 >> 19
    return result
  }

  /// Uniform in [0, 1) with 53 random bits.
  public mutating func uniform() -> Double {
    Double(next() >> 11) * 0x1p-53
  }

  /// Uniform in (0, 1]: safe under a logarithm.
  mutating func uniformPositive() -> Double {
    Double((next() >> 11) + 1) * 0x1p-53
  }

  /// A standard normal draw (Marsaglia's polar method; the second value is not kept, so each
  /// call consumes a whole number of draws whatever came before).
  public mutating func normal() -> Double {
    while true {
      let u = 2 * uniform() - 1
      let v = 2 * uniform() - 1
      let s = u * u + v * v
      if s > 0 && s < 1 { return u * (-2 * log(s) / s).squareRoot() }
    }
  }

  /// The logarithm of a Gamma(shape, 1) draw (Marsaglia and Tsang; for shape < 1 the draw for
  /// shape + 1 times U^(1/shape), kept in logarithms so that tiny shapes do not underflow to 0).
  public mutating func logGamma(shape: Double) -> Double {
    precondition(shape > 0)
    if shape < 1 {
      return logGamma(shape: shape + 1) + log(uniformPositive()) / shape
    }
    let d = shape - 1.0 / 3
    let c = 1 / (9 * d).squareRoot()
    while true {
      var x: Double
      var v: Double
      repeat {
        x = normal()
        v = 1 + c * x
      } while v <= 0
      v = v * v * v
      let u = uniformPositive()
      if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) {
        return log(d * v)
      }
    }
  }

  /// A Dirichlet draw with concentrations `alpha` (each > 0): Gamma draws normalised, computed
  /// from their logarithms so that a draw always sums to 1 even when every Gamma draw is tiny.
  public mutating func dirichlet(_ alpha: [Double]) -> [Double] {
    var logs = alpha.map { logGamma(shape: $0) }
    let top = logs.max() ?? 0
    var sum = 0.0
    for k in logs.indices {
      logs[k] = exp(logs[k] - top)
      sum += logs[k]
    }
    return logs.map { $0 / sum }
  }

  /// An integer uniform in 0..<n.
  public mutating func below(_ n: Int) -> Int {
    precondition(n > 0)
    return Int(next(upperBound: UInt64(n)))
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
