import CMinHashKernel
import CXXHash
import WinnowCore
import WinnowText

/// MinHash settings. The defaults are datatrove's and FineWeb's: word 5-grams, 14 bands of
/// 8 rows (112 hashes), 64-bit xxHash shingles, seed 1.
public struct MinHashConfig: Sendable, Equatable {
  public enum Unit: String, Sendable { case word, char }
  public var ngram = 5
  public var bands = 14
  public var rows = 8
  public var seed: UInt32 = 1
  public var unit = Unit.word
  /// Word splitting: "en" is spaCy's English tokenizer (as datatrove), other codes ICU.
  public var language = "en"

  public init() {}
  public var hashes: Int { bands * rows }
}

/// Computes shingles and MinHash signatures of documents, the way datatrove's
/// `MinhashDedupSignature` does:
///
/// - the text is simplified (`ShingleTextSimplifier`), split into words (spaCy's English
///   rules, as datatrove; ICU word boundaries for other languages) and every n consecutive
///   words, joined by one space, is a shingle, hashed with XXH64 (seed 0). With `unit: char`
///   a shingle is n consecutive characters of the simplified text instead (for languages
///   written without spaces). A text with fewer than n units has no shingles and no
///   signature: it is never a near-duplicate.
/// - hash function i maps a shingle hash h to `(h * a[i] + b[i]) mod 2^64 mod (2^61 - 1)` —
///   NumPy's unsigned arithmetic wraps, and datatrove computes it that way — with a and b
///   drawn like datatrove's (`LegacyNumpyRandom`); the signature is the minimum over the
///   shingles of each of the `bands × rows` functions.
///
/// Same settings and same text give datatrove's signature exactly.
public struct MinHasher {
  public let config: MinHashConfig
  let a: [UInt64]
  let b: [UInt64]
  static let prime: UInt64 = (1 << 61) - 1
  var simplifier = ShingleTextSimplifier()
  var tokenizer: WordTokenizer
  var words: [Range<Int>] = []
  var joined: [UInt8] = []
  var scalarStarts: [Int] = []
  /// The shingle hashes of the last document: sorted and distinct when `distinct` is set
  /// (the exact check compares sets), else in text order with repeats (a minimum does not
  /// mind them, and sorting costs more than hashing the few repeats).
  public private(set) var shingles: [UInt64] = []
  public var distinct = true
  /// The simplified text of the last document.
  public var simplifiedText: [UInt8] { simplifier.output }
  /// The signature of the last document (`bands × rows` values).
  public private(set) var signature: [UInt64]

  public init(_ config: MinHashConfig) {
    self.config = config
    var rng = LegacyNumpyRandom(seed: config.seed)
    a = rng.randint(low: 1, high: Self.prime, count: config.hashes)
    b = rng.randint(low: 0, high: Self.prime, count: config.hashes)
    tokenizer = WordTokenizer(language: config.language)
    signature = Array(repeating: 0, count: config.hashes)
  }

  /// Computes the shingles and, when there are any, the signature of `text`. Returns false
  /// when the text has no shingle.
  public mutating func sign(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    computeShingles(text)
    guard !shingles.isEmpty else { return false }
    computeSignature()
    return true
  }

  mutating func computeShingles(_ text: UnsafeBufferPointer<UInt8>) {
    shingles.removeAll(keepingCapacity: true)
    simplifier.simplify(text)
    let n = config.ngram
    simplifier.output.withUnsafeBufferPointer { s in
      guard let base = s.baseAddress else { return }
      switch config.unit {
      case .word:
        tokenizer.words(s, into: &words)
        guard words.count >= n else { return }
        shingles.reserveCapacity(words.count - n + 1)
        for i in 0...(words.count - n) {
          // Words one space apart are the joined n-gram already; others are copied.
          var contiguous = true
          for k in i..<(i + n - 1) where words[k + 1].lowerBound != words[k].upperBound + 1 || base[words[k].upperBound] != 0x20 {
            contiguous = false
            break
          }
          if contiguous {
            shingles.append(XXH64(base + words[i].lowerBound, words[i + n - 1].upperBound - words[i].lowerBound, 0))
          } else {
            joined.removeAll(keepingCapacity: true)
            for k in i..<(i + n) {
              if k > i { joined.append(0x20) }
              joined.append(contentsOf: UnsafeBufferPointer(rebasing: s[words[k]]))
            }
            shingles.append(joined.withUnsafeBufferPointer { XXH64($0.baseAddress, $0.count, 0) })
          }
        }
      case .char:
        scalarStarts.removeAll(keepingCapacity: true)
        var i = 0
        while i < s.count {
          scalarStarts.append(i)
          i += s[i] < 0x80 ? 1 : UTF8Bytes.decode(s, at: i).length
        }
        scalarStarts.append(s.count)
        let count = scalarStarts.count - 1
        guard count >= n else { return }
        for k in 0...(count - n) {
          shingles.append(XXH64(base + scalarStarts[k], scalarStarts[k + n] - scalarStarts[k], 0))
        }
      }
    }
    guard distinct else { return }
    shingles.sort()
    var w = 0
    for h in shingles where w == 0 || shingles[w - 1] != h {
      shingles[w] = h
      w += 1
    }
    shingles.removeLast(shingles.count - w)
  }

  /// The minimum of each hash function over the shingles (`CMinHashKernel`: four functions
  /// per AVX2 instruction where the CPU has it, the same numbers either way).
  mutating func computeSignature() {
    let count = config.hashes
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        shingles.withUnsafeBufferPointer { shingles in
          signature.withUnsafeMutableBufferPointer { sig in
            wn_minhash_signature(shingles.baseAddress, shingles.count, a.baseAddress, b.baseAddress, count, sig.baseAddress)
          }
        }
      }
    }
  }

  /// The 128-bit key of band `band` of the last signature: documents whose band keys are
  /// equal agree on all of that band's rows. The band number is hashed in, so equal rows
  /// in different bands do not meet.
  public func bandKey(_ band: Int) -> Hash128 {
    let rows = config.rows
    return signature.withUnsafeBufferPointer { sig in
      withUnsafeTemporaryAllocation(of: UInt64.self, capacity: rows + 1) { buf in
        buf[0] = UInt64(band).littleEndian
        for r in 0..<rows { buf[r + 1] = sig[band * rows + r].littleEndian }
        return XXH3.hash128(UnsafeBufferPointer(start: UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self), count: (rows + 1) * 8))
      }
    }
  }

  /// The Jaccard similarity of two sorted sets of shingle hashes.
  public static func jaccard(_ x: UnsafeBufferPointer<UInt64>, _ y: UnsafeBufferPointer<UInt64>) -> Double {
    if x.isEmpty && y.isEmpty { return 1 }
    var i = 0
    var j = 0
    var common = 0
    while i < x.count && j < y.count {
      let u = x[i]
      let v = y[j]
      if u == v {
        common += 1
        i += 1
        j += 1
      } else if u < v {
        i += 1
      } else {
        j += 1
      }
    }
    return Double(common) / Double(x.count + y.count - common)
  }
}
