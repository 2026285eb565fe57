/// The permutation parameters of MinHash as datatrove draws them: NumPy's legacy
/// `RandomState(seed).randint(low, 2^61 - 1, dtype=uint64)`. Drawing them the same way gives
/// the same signatures as datatrove for the same seed, so signatures can be compared.
///
/// That is MT19937 seeded with Knuth's `init_genrand`, 64-bit draws made of two 32-bit
/// outputs (high word first), and rejection sampling under the smallest all-ones mask that
/// covers the range.
struct LegacyNumpyRandom {
  var state = [UInt32](repeating: 0, count: 624)
  var index = 624

  init(seed: UInt32) {
    state[0] = seed
    for i in 1..<624 {
      let prev = state[i - 1]
      state[i] = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(i)
    }
  }

  mutating func next32() -> UInt32 {
    if index >= 624 {
      for k in 0..<624 {
        let y = (state[k] & 0x8000_0000) | (state[(k + 1) % 624] & 0x7FFF_FFFF)
        state[k] = state[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 == 1 ? 0x9908_B0DF : 0)
      }
      index = 0
    }
    var y = state[index]
    index += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C_5680
    y ^= (y << 15) & 0xEFC6_0000
    y ^= y >> 18
    return y
  }

  /// `count` integers in [low, high), as `randint(low, high, size=count, dtype=uint64)`.
  /// Only ranges wider than 32 bits (NumPy draws narrower ones differently).
  mutating func randint(low: UInt64, high: UInt64, count: Int) -> [UInt64] {
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
