import CMinHashKernel
import CXXHash
import WinnowCore
import WinnowText

/// MinHash settings. The defaults are datatrove's and FineWeb's: word 5-grams, 14 bands of
/// 8 rows (112 hashes), 64-bit xxHash shingles, seed 1.
public struct MinHashConfig: Sendable, Equatable {
  /// What a shingle is made of: words, or characters (for scripts without spaces).
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
///   drawn like datatrove's (`NumpyLegacyRandom`); the signature is the minimum over the
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
  /// The last n words, as a ring, for the shingle that ends at the current word.
  var recent: [Range<Int>] = []
  var joined: [UInt8] = []
  /// With `distinct` off: shingle hashes waiting to be folded into the signature.
  var pending: [UInt64] = []
  var partial: [UInt64] = []
  /// The shingle hashes of the last document: sorted and distinct when `distinct` is set
  /// (the exact check compares sets, and the count is of distinct shingles). Without
  /// `distinct` they are not kept: the signature is the minimum over them, taken as they come
  /// (a minimum does not mind repeats), and `shingleCount` counts them with repeats.
  public private(set) var shingles: [UInt64] = []
  public private(set) var shingleCount = 0
  public var distinct = true
  /// The simplified text of the last document.
  public var simplifiedText: [UInt8] { simplifier.output }
  /// The signature of the last document (`bands × rows` values).
  public private(set) var signature: [UInt64]

  public init(_ config: MinHashConfig) {
    self.config = config
    var rng = NumpyLegacyRandom(seed: config.seed)
    a = rng.randint(low: 1, high: Self.prime, count: config.hashes)
    b = rng.randint(low: 0, high: Self.prime, count: config.hashes)
    tokenizer = WordTokenizer(language: config.language)
    signature = Array(repeating: 0, count: config.hashes)
  }

  /// Computes the shingles and, when there are any, the signature of `text`. Returns false
  /// when the text has no shingle.
  public mutating func sign(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    computeShingles(text)
    guard shingleCount > 0 else { return false }
    if distinct { computeSignature() }
    return true
  }

  mutating func computeShingles(_ text: UnsafeBufferPointer<UInt8>) {
    simplifier.simplify(text)
    let n = config.ngram
    // Moved out while shingles are made, so that the closures below do not capture `self`.
    var sink = ShingleSink(
      distinct: distinct, a: a, b: b, shingles: shingles, pending: pending, partial: partial, signature: signature)
    shingles = []
    pending = []
    partial = []
    signature = []
    var ring = recent
    recent = []
    var joined = self.joined
    self.joined = []
    sink.start()
    if distinct {
      // At most one shingle per word (a word and its separator take two bytes) or character:
      // reserved up front (memory not written is not resident), so that the list is never
      // copied while it grows, which would hold it twice.
      let words = simplifier.output.count / 2 + 16
      sink.shingles.reserveCapacity(config.unit == .word ? words : simplifier.output.count + 16)
    }
    // Shingles are streamed: words (or characters) come a batch at a time and only the last
    // n are held, so a long text needs no list of its words.
    let simplified = simplifier.output
    let unit = config.unit
    simplified.withUnsafeBufferPointer { s in
      guard let base = s.baseAddress else { return }
      switch unit {
      case .word:
        ring.removeAll(keepingCapacity: true)
        var seen = 0
        // Where the next word goes in the ring (seen % n, kept without dividing): once n words
        // were seen, also where the window's oldest word is.
        var next = 0
        tokenizer.forEachWordBatch(s) { batch in
          for r in batch {
            if ring.count < n { ring.append(r) } else { ring[next] = r }
            next = next + 1 == n ? 0 : next + 1
            seen += 1
            guard seen >= n else { continue }
            // The window's words, oldest first, are ring[next], ring[next + 1], … (wrapping).
            let first = ring[next]
            // Words one space apart are the joined n-gram already; others are copied.
            var contiguous = true
            var i = next
            for _ in 0..<max(n - 1, 0) {
              let j = i + 1 == n ? 0 : i + 1
              let a = ring[i]
              let b = ring[j]
              if b.lowerBound != a.upperBound + 1 || base[a.upperBound] != 0x20 {
                contiguous = false
                break
              }
              i = j
            }
            if contiguous {
              sink.add(XXH64(base + first.lowerBound, r.upperBound - first.lowerBound, 0))
            } else {
              joined.removeAll(keepingCapacity: true)
              var i = next
              for k in 0..<n {
                if k > 0 { joined.append(0x20) }
                joined.append(contentsOf: UnsafeBufferPointer(rebasing: s[ring[i]]))
                i = i + 1 == n ? 0 : i + 1
              }
              sink.add(joined.withUnsafeBufferPointer { XXH64($0.baseAddress, $0.count, 0) })
            }
          }
        }
      case .char:
        // The starts of the last n + 1 scalars (a ring): a shingle spans n scalars.
        var starts = [Int](repeating: 0, count: n + 1)
        var scalars = 0
        var i = 0
        while true {
          starts[scalars % (n + 1)] = i
          if scalars >= n {
            let from = starts[(scalars - n) % (n + 1)]
            sink.add(XXH64(base + from, i - from, 0))
          }
          guard i < s.count else { break }
          i += s[i] < 0x80 ? 1 : UTF8Bytes.decode(s, at: i).length
          scalars += 1
        }
      }
    }
    sink.finish()
    shingles = sink.shingles
    pending = sink.pending
    partial = sink.partial
    signature = sink.signature
    shingleCount = sink.count
    recent = ring
    self.joined = joined
  }

  /// Where shingle hashes go: kept for a sorted, distinct list, or folded into the signature
  /// a batch at a time.
  struct ShingleSink {
    let distinct: Bool
    let a: [UInt64]
    let b: [UInt64]
    var shingles: [UInt64]
    var pending: [UInt64]
    var partial: [UInt64]
    var signature: [UInt64]
    var count = 0

    init(
      distinct: Bool, a: [UInt64], b: [UInt64], shingles: [UInt64], pending: [UInt64], partial: [UInt64],
      signature: [UInt64]
    ) {
      self.distinct = distinct
      self.a = a
      self.b = b
      self.shingles = shingles
      self.pending = pending
      self.partial = partial
      self.signature = signature
    }

    mutating func start() {
      shingles.removeAll(keepingCapacity: shingles.capacity <= 1 << 20)
      pending.removeAll(keepingCapacity: true)
      for k in signature.indices { signature[k] = UInt64.max }
      count = 0
    }

    @inline(__always)
    mutating func add(_ h: UInt64) {
      if distinct {
        shingles.append(h)
        return
      }
      count += 1
      pending.append(h)
      if pending.count >= 1 << 12 { flush() }
    }

    /// Folds the pending hashes into the signature (each function's minimum so far).
    mutating func flush() {
      guard !pending.isEmpty else { return }
      let hashes = signature.count
      if partial.count != hashes { partial = [UInt64](repeating: 0, count: hashes) }
      a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          pending.withUnsafeBufferPointer { shingles in
            partial.withUnsafeMutableBufferPointer { sig in
              wn_minhash_signature(shingles.baseAddress, shingles.count, a.baseAddress, b.baseAddress, hashes, sig.baseAddress)
            }
          }
        }
      }
      for k in 0..<hashes where partial[k] < signature[k] { signature[k] = partial[k] }
      pending.removeAll(keepingCapacity: true)
    }

    mutating func finish() {
      guard distinct else {
        flush()
        return
      }
      MinHasher.sortInPlace(&shingles)
      shingles.removeAdjacentDuplicates()
      count = shingles.count
    }
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

  /// Sorts in place (introsort: no second buffer, unlike the standard library's merge sort,
  /// which for a long text's shingles would hold them half again).
  static func sortInPlace(_ v: inout [UInt64]) {
    v.withUnsafeMutableBufferPointer { b in
      guard b.count > 1 else { return }
      var depth = 2 * (Int.bitWidth - b.count.leadingZeroBitCount)
      introsort(b.baseAddress!, 0, b.count, &depth)
    }
  }

  private static func introsort(_ p: UnsafeMutablePointer<UInt64>, _ lo: Int, _ hi: Int, _ depth: inout Int) {
    var lo = lo
    var hi = hi
    while hi - lo > 24 {
      if depth == 0 {
        heapsort(p + lo, hi - lo)
        return
      }
      depth -= 1
      // Median of three as the pivot, then Hoare partition.
      let mid = lo + (hi - lo) / 2
      let a = p[lo], b = p[mid], c = p[hi - 1]
      let pivot = max(min(a, b), min(max(a, b), c))
      var i = lo - 1
      var j = hi
      while true {
        repeat { i += 1 } while p[i] < pivot
        repeat { j -= 1 } while p[j] > pivot
        if i >= j { break }
        swapAt(p, i, j)
      }
      // Recurse into the smaller side, loop on the larger.
      if j + 1 - lo < hi - (j + 1) {
        var d = depth
        introsort(p, lo, j + 1, &d)
        lo = j + 1
      } else {
        var d = depth
        introsort(p, j + 1, hi, &d)
        hi = j + 1
      }
    }
    // Insertion sort for the short rest.
    if hi - lo < 2 { return }
    for i in (lo + 1)..<hi {
      let x = p[i]
      var j = i - 1
      while j >= lo && p[j] > x {
        p[j + 1] = p[j]
        j -= 1
      }
      p[j + 1] = x
    }
  }

  @inline(__always)
  private static func swapAt(_ p: UnsafeMutablePointer<UInt64>, _ i: Int, _ j: Int) {
    let t = p[i]
    p[i] = p[j]
    p[j] = t
  }

  private static func heapsort(_ p: UnsafeMutablePointer<UInt64>, _ n: Int) {
    func siftDown(_ start: Int, _ end: Int) {
      var root = start
      while 2 * root + 1 < end {
        var child = 2 * root + 1
        if child + 1 < end && p[child] < p[child + 1] { child += 1 }
        if p[root] >= p[child] { return }
        swapAt(p, root, child)
        root = child
      }
    }
    var start = n / 2 - 1
    while start >= 0 {
      siftDown(start, n)
      start -= 1
    }
    var end = n - 1
    while end > 0 {
      swapAt(p, 0, end)
      siftDown(0, end)
      end -= 1
    }
  }

  /// The 128-bit key of band `band` of the last signature: documents whose band keys are
  /// equal agree on all of that band's rows. The band number is hashed in, so equal rows
  /// in different bands do not meet.
  public func bandKey(_ band: Int) -> Hash128 {
    signature.withUnsafeBufferPointer { Self.bandKey(band, rows: config.rows, of: $0) }
  }

  /// `bandKey` of a signature held elsewhere (`rows` values per band). Callers that keep a
  /// hasher in a class read its signature once with this, rather than copying the whole
  /// hasher for each band.
  static func bandKey(_ band: Int, rows: Int, of sig: UnsafeBufferPointer<UInt64>) -> Hash128 {
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: rows + 1) { buf in
      buf[0] = UInt64(band).littleEndian
      for r in 0..<rows { buf[r + 1] = sig[band * rows + r].littleEndian }
      return XXH3.hash128(UnsafeBufferPointer(start: UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self), count: (rows + 1) * 8))
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
