#if canImport(Glibc)
  import Glibc
#endif

/// NumPy's legacy generator (`np.random.seed(s)` / `RandomState(s)`), replayed exactly:
/// MT19937 seeded by `init_genrand(s)`, doubles from two 32-bit outputs
/// (`(a >> 5 · 2^26 + b >> 6) / 2^53`), and Gumbel draws `−log(−log(1 − U))`, drawing again when
/// `1 − U` is 1, and wide `randint` draws. DSIR's reference adds Gumbel draws to the
/// log-importance weights of the eligible documents in input order, and datatrove draws its
/// MinHash permutations with `randint`: replaying both reproduces their results exactly.
public struct NumpyLegacyRandom: Sendable {
  var state = [UInt32](repeating: 0, count: 624)
  var position = 624

  /// The generator after `np.random.seed(seed)` (seed 0 … 2^32 − 1).
  public init(seed: UInt32) {
    var s = seed
    for i in 0..<624 {
      state[i] = s
      s = 1_812_433_253 &* (s ^ (s >> 30)) &+ UInt32(i + 1)
    }
  }

  mutating func reload() {
    let upper: UInt32 = 0x8000_0000
    let lower: UInt32 = 0x7FFF_FFFF
    for i in 0..<624 {
      let y = (state[i] & upper) | (state[(i + 1) % 624] & lower)
      var v = state[(i + 397) % 624] ^ (y >> 1)
      if y & 1 != 0 { v ^= 0x9908_B0DF }
      state[i] = v
    }
    position = 0
  }

  /// The next 32-bit output.
  @inline(__always)
  public mutating func next32() -> UInt32 {
    if position >= 624 { reload() }
    var y = state[position]
    position += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C_5680
    y ^= (y << 15) & 0xEFC6_0000
    y ^= y >> 18
    return y
  }

  /// `np.random.random()`: a double in [0, 1) with 53 random bits.
  public mutating func nextDouble() -> Double {
    let a = next32() >> 5
    let b = next32() >> 6
    return (Double(a) * 67_108_864.0 + Double(b)) / 9_007_199_254_740_992.0
  }

  /// `np.random.gumbel()` (location 0, scale 1).
  public mutating func gumbel() -> Double {
    while true {
      let u = 1.0 - nextDouble()
      if u < 1.0 { return -log(-log(u)) }
    }
  }

  /// `count` integers in [low, high), as `randint(low, high, size=count, dtype=uint64)`: 64-bit
  /// draws of two 32-bit outputs (high word first), rejection under the smallest all-ones mask
  /// covering the range. Only ranges wider than 32 bits (NumPy draws narrower ones differently).
  public mutating func randint(low: UInt64, high: UInt64, count: Int) -> [UInt64] {
    let range = high - 1 - low
    precondition(range > UInt64(UInt32.max), "narrow ranges are drawn differently")
    var mask = range
    for shift in [1, 2, 4, 8, 16, 32] as [UInt64] { mask |= mask >> shift }
    var out: [UInt64] = []
    out.reserveCapacity(count)
    for _ in 0..<count {
      var v: UInt64
      repeat {
        let hi = UInt64(next32())
        v = ((hi << 32) | UInt64(next32())) & mask
      } while v > range
      out.append(low + v)
    }
    return out
  }
}
