import CXXHash

/// A 128-bit hash value.
public struct Hash128: Hashable, Sendable {
  public var low: UInt64
  public var high: UInt64

  public init(low: UInt64, high: UInt64) {
    self.low = low
    self.high = high
  }
}

/// XXH3 hashes (libxxhash), the hashes Winnow uses for dedup keys and sampling.
public enum XXH3 {
  public static func hash64(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64 = 0) -> UInt64 {
    XXH3_64bits_withSeed(bytes.baseAddress, bytes.count, seed)
  }

  public static func hash128(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64 = 0) -> Hash128 {
    let h = XXH3_128bits_withSeed(bytes.baseAddress, bytes.count, seed)
    return Hash128(low: h.low64, high: h.high64)
  }

  public static func hash64(_ string: String, seed: UInt64 = 0) -> UInt64 {
    var s = string
    return s.withUTF8 { hash64($0, seed: seed) }
  }
}
