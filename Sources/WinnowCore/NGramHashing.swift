import WinnowText

// n-gram hashing: text split into unit hashes (`NGramSplitter`), the polynomial rolling hash
// over units or bytes (`RollingHash`), and the keys of n-grams of units (`NGramKeys`).

/// A polynomial hash with wrapping 64-bit arithmetic (that is, modulo 2⁶⁴): `h·base + x` per
/// element, so that a window's hash slides in O(1) (`h − first·base^(n−1)`, then one more
/// step) and the hash of a concatenation is `h₁·base^len₂ + h₂`.
public enum RollingHash {
  /// Odd, so that the base is a unit modulo 2⁶⁴, and ≡ 3 mod 8, so that no power difference
  /// Bᵃ − Bᵇ has more than a few factors of two (which would let reordered n-grams collide
  /// more often).
  @inlinable @inline(__always)
  public static var base: UInt64 { 0xD6E8_FEB8_6659_FD93 }

  /// base^e.
  @inlinable
  public static func pow(_ e: Int) -> UInt64 {
    var result: UInt64 = 1
    var b = base
    var e = e
    while e > 0 {
      if e & 1 == 1 { result = result &* b }
      b = b &* b
      e >>= 1
    }
    return result
  }

  /// base^k for k < powers.count.
  public static let powers: [UInt64] = {
    var out = [UInt64](repeating: 1, count: 4097)
    for k in 1..<out.count { out[k] = out[k - 1] &* base }
    return out
  }()
}

/// What the n-grams are made of.
public enum NGramUnit: Sendable {
  /// Words: runs of letters, marks and digits; each character of a space-less script alone.
  case word
  /// Letters, marks and digits one by one; everything else left out.
  case char
}

/// Turns text into the hashes of its units, after NFKC_Casefold (ASCII text is only
/// lower-cased: that is its NFKC_Casefold). Buffers are reused from text to text.
public final class NGramSplitter {
  public let unit: NGramUnit
  private var normalizer = TextNormalizer()
  private var folded: [UInt8] = []
  /// The current word, folded, apostrophes left out.
  private let word = ByteBuffer(capacity: 1 << 12)
  private var ids: UnsafeMutablePointer<UInt64>
  private var capacity: Int
  /// Per ASCII byte: 0 separates words, 1 is an apostrophe (left out), else the byte lower-cased.
  private let ascii: UnsafeMutablePointer<UInt8>
  /// One bit per BMP code point: letter, mark or number (Unicode L*, M*, N*); of a script
  /// written without spaces; left alone by NFKC_Casefold (`isStableSlow`).
  private let letters: UnsafeMutablePointer<UInt64>
  private let spaceless: UnsafeMutablePointer<UInt64>
  private let stable: UnsafeMutablePointer<UInt64>
  /// Recent words of up to 8 bytes (zero-padded into a word: no word holds a zero byte) and
  /// their XXH3 hashes, direct-mapped: common words are hashed once, not at every occurrence.
  private let cachedWords: UnsafeMutablePointer<UInt64>
  private let cachedIDs: UnsafeMutablePointer<UInt64>
  private static let cacheBits = 12

  /// Sends all non-ASCII text through ICU (for tests of the shortcut).
  let alwaysFold: Bool
  /// Bytes per piece of a document (`forEachUnitBatch`); tests make it small or whole.
  public var pieceSize = 1 << 16

  public init(_ unit: NGramUnit, alwaysFold: Bool = false) {
    self.unit = unit
    self.alwaysFold = alwaysFold
    capacity = 1 << 12
    ids = .allocate(capacity: capacity)
    ascii = .allocate(capacity: 128)
    for b in 0..<128 {
      let c = UInt8(b)
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"): ascii[b] = c
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): ascii[b] = c | 0x20
      case UInt8(ascii: "'"): ascii[b] = 1
      default: ascii[b] = 0
      }
    }
    func copy(_ bits: [UInt64]) -> UnsafeMutablePointer<UInt64> {
      let p = UnsafeMutablePointer<UInt64>.allocate(capacity: 1024)
      bits.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: 1024) }
      return p
    }
    letters = copy(Self.bmpLetters)
    spaceless = copy(Self.bmpSpaceless)
    stable = copy(Self.bmpStable)
    cachedWords = .allocate(capacity: 1 << Self.cacheBits)
    cachedWords.initialize(repeating: 0, count: 1 << Self.cacheBits)
    cachedIDs = .allocate(capacity: 1 << Self.cacheBits)
    cachedIDs.initialize(repeating: 0, count: 1 << Self.cacheBits)
  }

  deinit {
    ids.deallocate()
    ascii.deallocate()
    letters.deallocate()
    spaceless.deallocate()
    stable.deallocate()
    cachedWords.deallocate()
    cachedIDs.deallocate()
  }

  /// XXH3-64 of the `n` bytes at `w` (which has at least 8 readable bytes).
  @inline(__always) private func wordID(_ w: UnsafeMutablePointer<UInt8>, _ n: Int) -> UInt64 {
    guard n <= 8 else { return XXH3.hash64(UnsafeBufferPointer(start: w, count: n)) }
    let packed = UInt64(littleEndian: UnsafeRawPointer(w).loadUnaligned(as: UInt64.self)) & (~0 &>> UInt64(64 - 8 * n))
    let slot = Int(truncatingIfNeeded: (packed &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - Self.cacheBits))
    if cachedWords[slot] == packed { return cachedIDs[slot] }
    let id = XXH3.hash64(UnsafeBufferPointer(start: w, count: n))
    cachedWords[slot] = packed
    cachedIDs[slot] = id
    return id
  }

  static let bmpLetters = bmpBits(isLetterSlow)
  static let bmpSpaceless = bmpBits(SpacelessScripts.contains)
  static let bmpStable = bmpBits(isStableSlow)

  /// One bit per non-ASCII BMP code point.
  static func bmpBits(_ test: (UInt32) -> Bool) -> [UInt64] {
    var bits = [UInt64](repeating: 0, count: 1024)
    for v in 0x80..<0x10000 where test(UInt32(v)) { bits[v >> 6] |= 1 << UInt64(v & 63) }
    return bits
  }

  /// Whether NFKC_Casefold leaves the character alone wherever it stands: it does not change
  /// when NFKC_Casefolded, and nothing before it can combine with it (it is not a combining
  /// mark, nor a Hangul vowel or final consonant jamo — the characters NFC's quick check
  /// answers "maybe" for). Text made of ASCII and such characters folds to its ASCII lower
  /// case, so it needs no trip through ICU.
  static func isStableSlow(_ v: UInt32) -> Bool {
    guard let s = Unicode.Scalar(v), v != 0xFFFD else { return false }
    let p = s.properties
    switch p.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .unassigned, .surrogate, .privateUse: return false
    default: break
    }
    if (0x1100...0x11FF).contains(v) || (0xA960...0xA97F).contains(v) || (0xD7B0...0xD7FF).contains(v) { return false }
    return !p.changesWhenNFKCCaseFolded && p.canonicalCombiningClass == .notReordered
  }

  static func isLetterSlow(_ v: UInt32) -> Bool {
    guard let s = Unicode.Scalar(v) else { return false }
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
      .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber:
      return true
    default:
      return false
    }
  }

  @inline(__always) func isLetter(_ v: UInt32) -> Bool {
    if v < 0x10000 { return (letters[Int(v >> 6)] >> UInt64(v & 63)) & 1 != 0 }
    return Self.isLetterSlow(v)
  }

  @inline(__always) func isSpaceless(_ v: UInt32) -> Bool {
    if v < 0x10000 { return (spaceless[Int(v >> 6)] >> UInt64(v & 63)) & 1 != 0 }
    return SpacelessScripts.contains(v)
  }

  /// A character unit's hash: its code point, mixed.
  @inline(__always) static func charID(_ v: UInt32) -> UInt64 {
    NGramKeys.mix(UInt64(v) &* 0x9E37_79B9_7F4A_7C15 &+ 0x2545_F491_4F6C_DD1D)
  }

  /// Calls `body` with the unit hashes of `text` in order, a piece of the text at a time
  /// (`TextPieces`: pieces that fold as the whole text does and that no word spans), so that a
  /// long text is never folded or split whole. A batch is valid only during the call.
  public func forEachUnitBatch(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt64>) -> Void) {
    TextPieces.forEach(text, size: pieceSize) { piece, _ in
      let units = split(piece)
      if !units.isEmpty { body(units) }
    }
    if folded.capacity > 1 << 20 { folded = [] }
    if capacity > 1 << 20 {
      ids.deallocate()
      capacity = 1 << 12
      ids = .allocate(capacity: capacity)
    }
  }

  /// The unit hashes of `text`, valid until the next call.
  public func split(_ text: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt64> {
    guard let base = text.baseAddress, text.count > 0 else { return UnsafeBufferPointer(start: ids, count: 0) }
    if UTF8Bytes.isASCII(text) || (!alwaysFold && isStable(text)) { return scan(base, text.count) }
    normalizer.normalize(text, form: .nfkcCasefold, into: &folded)
    return folded.withUnsafeBufferPointer { f in
      guard let p = f.baseAddress, f.count > 0 else { return UnsafeBufferPointer(start: ids, count: 0) }
      return scan(p, f.count)
    }
  }

  /// Whether every non-ASCII character of `text` is one NFKC_Casefold leaves alone.
  private func isStable(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    let p = text.baseAddress!
    let n = text.count
    var i = 0
    while i < n {
      if i &+ 8 <= n, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & ASCIILanes.high == 0 {
        i &+= 8
        continue
      }
      if p[i] < 0x80 {
        i &+= 1
        continue
      }
      let (s, len) = UTF8Bytes.decode(text, at: i)
      let v = s.value
      guard v < 0x10000, (stable[Int(v >> 6)] >> UInt64(v & 63)) & 1 != 0 else { return false }
      i &+= len
    }
    return true
  }

  private func scan(_ p: UnsafePointer<UInt8>, _ n: Int) -> UnsafeBufferPointer<UInt64> {
    // A word takes at least two bytes (itself and what ends it), or three for a character of a
    // space-less script; a character unit at least one.
    let most = unit == .word ? n / 2 + 2 : n + 1
    if most > capacity {
      ids.deallocate()
      capacity = max(most, capacity * 2)
      ids = .allocate(capacity: capacity)
    }
    let out = ids
    var count = 0
    let table = ascii
    let text = UnsafeBufferPointer(start: p, count: n)
    if unit == .char {
      var i = 0
      while i < n {
        let b = p[i]
        if b < 0x80 {
          let c = table[Int(b)]
          if c > 1 {
            out[count] = Self.charID(UInt32(c))
            count &+= 1
          }
          i &+= 1
          continue
        }
        let (s, len) = UTF8Bytes.decode(text, at: i)
        if isLetter(s.value) {
          out[count] = Self.charID(s.value)
          count &+= 1
        }
        i &+= len
      }
      return UnsafeBufferPointer(start: out, count: count)
    }
    word.reserve(n + 16)
    let w = word.base
    var wn = 0
    var i = 0
    while i < n {
      if i &+ 8 <= n {
        // Eight bytes at a time while they continue the word: lower-cased, copied, and the
        // first byte that is not an ASCII letter or digit found.
        let x = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
        let lowered = ASCIILanes.lower(x)
        let stops = (~ASCIILanes.alnum(lowered) | x) & ASCIILanes.high
        UnsafeMutableRawPointer(w + wn).storeBytes(of: lowered.littleEndian, as: UInt64.self)
        if stops == 0 {
          wn &+= 8
          i &+= 8
          continue
        }
        let f = stops.trailingZeroBitCount >> 3
        wn &+= f
        i &+= f
      }
      let b = p[i]
      if b < 0x80 {
        let c = table[Int(b)]
        if c > 1 {
          w[wn] = c
          wn &+= 1
        } else if c == 0 && wn > 0 {
          out[count] = wordID(w, wn)
          count &+= 1
          wn = 0
        }
        i &+= 1
        continue
      }
      let (s, len) = UTF8Bytes.decode(text, at: i)
      let v = s.value
      if v == 0x2019 || v == 0x02BC {
        // ’ and ʼ: apostrophes, left out like '.
      } else if isLetter(v) && !isSpaceless(v) {
        (w + wn).update(from: p + i, count: len)
        wn &+= len
      } else {
        if wn > 0 {
          out[count] = wordID(w, wn)
          count &+= 1
          wn = 0
        }
        if isLetter(v) {
          out[count] = XXH3.hash64(UnsafeBufferPointer(start: p + i, count: len))
          count &+= 1
        }
      }
      i &+= len
    }
    if wn > 0 {
      out[count] = wordID(w, wn)
      count &+= 1
    }
    return UnsafeBufferPointer(start: out, count: count)
  }
}

/// Eight bytes as lanes of a 64-bit word; exact in every lane below the first byte ≥ 0x80
/// (carries only travel towards later bytes).
private enum ASCIILanes {
  static let high: UInt64 = 0x8080_8080_8080_8080
  static let ones: UInt64 = 0x0101_0101_0101_0101

  /// Bit 7 of each lane whose byte is at least `lo` (1 ≤ lo ≤ 0x80).
  @inline(__always) static func atLeast(_ x: UInt64, _ lo: UInt64) -> UInt64 { (x &+ (0x80 &- lo) &* ones) & high }

  /// A–Z lower-cased.
  @inline(__always) static func lower(_ x: UInt64) -> UInt64 {
    let upper = atLeast(x, 0x41) & ~atLeast(x, 0x5B)
    return x | (upper >> 2)
  }

  /// Bit 7 of each lane holding 0–9 or a–z.
  @inline(__always) static func alnum(_ x: UInt64) -> UInt64 {
    (atLeast(x, 0x30) & ~atLeast(x, 0x3A)) | (atLeast(x, 0x61) & ~atLeast(x, 0x7B))
  }
}

/// n-gram keys over a sequence of unit hashes: the units' `RollingHash` polynomial, finished
/// with the n-gram's length and a 64-bit mix.
public enum NGramKeys {
  /// A bijective 64-bit finaliser (MurmurHash3's fmix64).
  @inlinable @inline(__always)
  public static func mix(_ x: UInt64) -> UInt64 {
    var x = x
    x ^= x >> 33
    x &*= 0xFF51_AFD7_ED55_8CCD
    x ^= x >> 33
    x &*= 0xC4CE_B9FE_1A85_EC53
    x ^= x >> 33
    return x
  }

  /// The key of an n-gram of `length` units whose polynomial is `h`; never 0 (0 marks an
  /// empty table slot).
  @inlinable @inline(__always)
  public static func finish(_ h: UInt64, length: Int) -> UInt64 {
    let k = mix(h &+ UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15)
    return k == 0 ? 1 : k
  }

  /// Calls `body` with the key of every run of `length` consecutive units, in order.
  @inlinable @inline(__always)
  public static func forEach(_ units: UnsafeBufferPointer<UInt64>, length k: Int, _ body: (UInt64) -> Void) {
    let m = units.count
    guard k > 0, m >= k, let u = units.baseAddress else { return }
    let base = RollingHash.base
    let top = RollingHash.pow(k &- 1)
    var h: UInt64 = 0
    for i in 0..<k { h = h &* base &+ u[i] }
    body(finish(h, length: k))
    var i = k
    while i < m {
      h = (h &- u[i &- k] &* top) &* base &+ u[i]
      body(finish(h, length: k))
      i &+= 1
    }
  }
}
