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

/// XXH3-64 over a stream of byte chunks (the checksum of a file as it is written or read).
public final class StreamingXXH3 {
  private let state: OpaquePointer

  public init() {
    state = XXH3_createState()
    XXH3_64bits_reset(state)
  }

  deinit { XXH3_freeState(state) }

  public func update(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count > 0 else { return }
    _ = XXH3_64bits_update(state, bytes.baseAddress, bytes.count)
  }

  /// The hash of everything so far; more bytes may follow.
  public var digest: UInt64 { XXH3_64bits_digest(state) }
}

/// Lower-case hexadecimal, 16 digits.
public func hex64(_ v: UInt64) -> String {
  let s = String(v, radix: 16)
  return String(repeating: "0", count: 16 - s.count) + s
}
