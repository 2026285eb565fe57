import CXXHash
import Glibc
import WinnowCore

/// A Bloom filter over 128-bit hashes, sized from the number of items expected and the false
/// positive rate wanted: m = −n·ln p / (ln 2)² bits and k = round(m/n · ln 2) probes, the
/// probes by double hashing (Kirsch & Mitzenmacher: the two 64-bit halves as h1 + i·h2).
/// Memory is m/8 bytes, fixed when the filter is made (1 million items at p = 0.001: 1.8 MB).
public struct BloomFilter: Sendable {
  public private(set) var bits: [UInt64]
  public let bitCount: UInt64
  public let probes: Int
  public let expectedItems: Int
  public let falsePositiveRate: Double
  /// Items inserted (that were not already present).
  public private(set) var inserted: UInt64 = 0

  /// Bytes of bits a filter of these parameters takes.
  public static func bytesNeeded(expectedItems: Int, falsePositiveRate: Double) -> Int {
    let n = Double(max(1, expectedItems))
    let m = max(64, (-n * log(falsePositiveRate) / (log(2) * log(2))).rounded(.up))
    // Computed in floating point: the product can exceed what an Int holds.
    return m / 8 >= Double(Int.max / 2) ? Int.max : Int(((m + 63) / 64).rounded(.down)) * 8
  }

  public init(expectedItems: Int, falsePositiveRate: Double) {
    let n = Double(max(1, expectedItems))
    let m = max(64, (-n * log(falsePositiveRate) / (log(2) * log(2))).rounded(.up))
    let words = (Int(m) + 63) / 64
    bits = [UInt64](repeating: 0, count: words)
    bitCount = UInt64(words * 64)
    probes = max(1, Int((Double(bitCount) / n * log(2)).rounded()))
    self.expectedItems = expectedItems
    self.falsePositiveRate = falsePositiveRate
  }

  init(bits: [UInt64], probes: Int, expectedItems: Int, falsePositiveRate: Double, inserted: UInt64) {
    self.bits = bits
    bitCount = UInt64(bits.count * 64)
    self.probes = probes
    self.expectedItems = expectedItems
    self.falsePositiveRate = falsePositiveRate
    self.inserted = inserted
  }

  @inline(__always)
  func position(_ h: Hash128, _ i: Int) -> UInt64 {
    let x = h.low &+ UInt64(i) &* (h.high | 1)
    // Multiply-shift maps x onto [0, m) without a division.
    return x.multipliedFullWidth(by: bitCount).high
  }

  public func contains(_ h: Hash128) -> Bool {
    for i in 0..<probes {
      let p = position(h, i)
      if bits[Int(p >> 6)] & (1 << (p & 63)) == 0 { return false }
    }
    return true
  }

  /// Inserts `h`; returns whether it was (probably) present already.
  @discardableResult
  public mutating func insert(_ h: Hash128) -> Bool {
    var present = true
    for i in 0..<probes {
      let p = position(h, i)
      let w = Int(p >> 6)
      let bit: UInt64 = 1 << (p & 63)
      if bits[w] & bit == 0 {
        present = false
        bits[w] |= bit
      }
    }
    if !present { inserted += 1 }
    return present
  }

  static let magic = Array("WNBLOOM1".utf8)

  /// Saves the filter: magic, bit count, probes, expected items, rate, inserted, the bits,
  /// and the XXH3-64 of everything before it.
  public func save(to path: String) throws(WinnowError) {
    var header: [UInt64] = [
      UInt64(bits.count), UInt64(probes), UInt64(expectedItems), falsePositiveRate.bitPattern, inserted,
    ]
    var bytes = Self.magic
    header = header.map(\.littleEndian)
    header.withUnsafeBytes { bytes += $0 }
    bits.map(\.littleEndian).withUnsafeBytes { bytes += $0 }
    let sum = bytes.withUnsafeBytes { XXH3_64bits($0.baseAddress, $0.count) }.littleEndian
    withUnsafeBytes(of: sum) { bytes += $0 }
    try writeFileAtomically(path, bytes)
  }

  /// Loads a saved filter, verifying its checksum.
  public static func load(from path: String) throws(WinnowError) -> BloomFilter {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open Bloom filter: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    fstat(fd, &st)
    let size = Int(st.st_size)
    guard size >= 56 + 8 else { throw .io("\(path): not a Winnow Bloom filter (too short)") }
    var bytes = [UInt8](repeating: 0, count: size)
    let got = bytes.withUnsafeMutableBytes { raw -> Int in
      var done = 0
      while done < size {
        let r = read(fd, raw.baseAddress! + done, size - done)
        if r < 0 && errno == EINTR { continue }
        if r <= 0 { break }
        done += r
      }
      return done
    }
    guard got == size, Array(bytes[0..<8]) == magic else { throw .io("\(path): not a Winnow Bloom filter") }
    func u64(_ at: Int) -> UInt64 { bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian } }
    // The word count must account for the file's size exactly; compared in unsigned
    // arithmetic that cannot overflow (words ≤ size / 8).
    let storedWords = u64(8)
    guard storedWords > 0, storedWords <= UInt64(size / 8), UInt64(size) == 56 + storedWords * 8 else {
      throw .io("\(path): Bloom filter is truncated or corrupt (header field 'words' = \(storedWords) does not match the file's \(size) bytes)")
    }
    let words = Int(storedWords)
    guard bytes.withUnsafeBytes({ XXH3_64bits($0.baseAddress, size - 8) }) == u64(size - 8) else {
      throw .io("\(path): Bloom filter is corrupt (checksum mismatch)")
    }
    let probes = u64(16)
    guard probes >= 1, probes <= 64 else {
      throw .io("\(path): Bloom filter is corrupt (header field 'probes' = \(probes), expected 1 to 64)")
    }
    let rate = Double(bitPattern: u64(32))
    guard u64(24) <= UInt64(Int.max), rate > 0, rate < 1 else {
      throw .io("\(path): Bloom filter is corrupt (header fields 'expected_items' or 'false_positive_rate')")
    }
    let bits = bytes.withUnsafeBytes { raw in (0..<words).map { raw.loadUnaligned(fromByteOffset: 48 + $0 * 8, as: UInt64.self).littleEndian } }
    return BloomFilter(
      bits: bits, probes: Int(u64(16)), expectedItems: Int(u64(24)), falsePositiveRate: Double(bitPattern: u64(32)),
      inserted: u64(40))
  }
}
