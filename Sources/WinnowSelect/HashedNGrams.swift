import CSHA256
import WinnowCore
import WinnowText

/// DSIR's hashed n-gram features, exactly as `data-selection`'s `HashedNgramDSIR` computes
/// them with `tokenizer='wordpunct'`: the text lower-cased as Python's `str.lower()` does,
/// split into the tokens of `\w+|[^\w\s]+` (NLTK's `WordPunctTokenizer`) under Python's Unicode
/// rules, and every unigram and every i-gram for i = 2…n (tokens joined by one space) counted
/// in bucket `int(sha256(utf8).hexdigest(), 16) % buckets` — the digest read as a 256-bit
/// big-endian number.
///
/// SHA-256 of every n-gram is the cost, so buckets of n-grams already seen are remembered
/// (a bounded table, keyed by the exact bytes: a cache hit is always the right bucket).
public struct HashedNGramFeaturizer {
  /// n: unigrams up to n-grams.
  public let ngrams: Int
  /// Number of buckets.
  public let buckets: Int

  var python = PythonText()
  var scalars: [UInt32] = []
  var lowered: [UInt32] = []
  /// UTF-8 of every token, back to back; token k is `tokenBytes[tokenStart[k]..<tokenStart[k+1]]`.
  var tokenBytes: [UInt8] = []
  var tokenStart: [Int] = []
  var gram: [UInt8] = []
  var cache = BucketCache()

  /// A featurizer for unigrams … `ngrams`-grams into `buckets` buckets.
  public init(ngrams: Int = 2, buckets: Int = 10_000) {
    precondition(ngrams >= 1 && buckets >= 1)
    self.ngrams = ngrams
    self.buckets = buckets
  }

  /// The bucket of one n-gram's UTF-8 bytes.
  public static func bucket(of bytes: UnsafeBufferPointer<UInt8>, buckets: Int) -> Int {
    var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    withUnsafeMutableBytes(of: &digest) { d in
      winnow_sha256(bytes.baseAddress, bytes.count, d.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }
    // (((w0·2^64 + w1)·2^64 + w2)·2^64 + w3) mod B, one 128-by-64 division per word.
    let b = UInt64(buckets)
    var r = b.dividingFullWidth((high: 0, low: UInt64(bigEndian: digest.0))).remainder
    r = b.dividingFullWidth((high: r, low: UInt64(bigEndian: digest.1))).remainder
    r = b.dividingFullWidth((high: r, low: UInt64(bigEndian: digest.2))).remainder
    r = b.dividingFullWidth((high: r, low: UInt64(bigEndian: digest.3))).remainder
    return Int(r)
  }

  /// The number of tokens of the last text featurized.
  public var tokenCount: Int { max(0, tokenStart.count - 1) }

  /// The words (UTF-8) of the last text featurized, lower-cased, in order.
  public var words: [[UInt8]] {
    (0..<tokenCount).map { Array(tokenBytes[tokenStart[$0]..<tokenStart[$0 + 1]]) }
  }

  /// Calls `body` with the bucket of every feature of `text` (UTF-8): unigrams in order, then
  /// bigrams, … as the reference counts them.
  public mutating func features(_ text: UnsafeBufferPointer<UInt8>, _ body: (Int) -> Void) {
    tokenize(text)
    let count = tokenCount
    guard count > 0 else { return }
    for k in 0..<count {
      body(bucket(ofTokens: k, k + 1))
    }
    if ngrams >= 2 {
      for n in 2...ngrams where n <= count {
        for k in 0...(count - n) { body(bucket(ofTokens: k, k + n)) }
      }
    }
  }

  /// Adds one to `counts[b]` for the bucket `b` of every feature of `text` (the reference's
  /// `get_ngram_counts` with a `counts` array). `counts` has `buckets` entries.
  public mutating func count(_ text: UnsafeBufferPointer<UInt8>, into counts: inout [UInt64]) {
    counts.withUnsafeMutableBufferPointer { c in features(text) { c[$0] &+= 1 } }
  }

  /// Splits `text` into lower-cased word and punctuation tokens (`\w+|[^\w\s]+`).
  mutating func tokenize(_ text: UnsafeBufferPointer<UInt8>) {
    tokenBytes.removeAll(keepingCapacity: true)
    tokenStart.removeAll(keepingCapacity: true)
    PythonText.decode(text, into: &scalars)
    python.lower(scalars, into: &lowered)
    // 0: between tokens (space), 1: in a word run, 2: in a punctuation run.
    var state = 0
    for v in lowered {
      let t = python.traits(v)
      let kind = t.contains(.word) ? 1 : (t.contains(.space) ? 0 : 2)
      if kind != state {
        if kind != 0 { tokenStart.append(tokenBytes.count) }
        state = kind
      }
      if kind != 0 { appendUTF8(v) }
    }
    tokenStart.append(tokenBytes.count)
    if tokenStart.count == 1 { tokenStart.removeAll(keepingCapacity: true) }
  }

  @inline(__always)
  mutating func appendUTF8(_ v: UInt32) {
    switch v {
    case 0..<0x80:
      tokenBytes.append(UInt8(v))
    case 0x80..<0x800:
      tokenBytes.append(UInt8(0xC0 | v >> 6))
      tokenBytes.append(UInt8(0x80 | v & 0x3F))
    case 0x800..<0x10000:
      tokenBytes.append(UInt8(0xE0 | v >> 12))
      tokenBytes.append(UInt8(0x80 | (v >> 6) & 0x3F))
      tokenBytes.append(UInt8(0x80 | v & 0x3F))
    default:
      tokenBytes.append(UInt8(0xF0 | v >> 18))
      tokenBytes.append(UInt8(0x80 | (v >> 12) & 0x3F))
      tokenBytes.append(UInt8(0x80 | (v >> 6) & 0x3F))
      tokenBytes.append(UInt8(0x80 | v & 0x3F))
    }
  }

  /// The bucket of tokens `from..<to` joined by single spaces.
  mutating func bucket(ofTokens from: Int, _ to: Int) -> Int {
    let buckets = self.buckets
    if to == from + 1 {
      let range = tokenStart[from]..<tokenStart[to]
      return tokenBytes.withUnsafeBufferPointer { all in
        cache.bucket(of: UnsafeBufferPointer(rebasing: all[range]), buckets: buckets)
      }
    }
    gram.removeAll(keepingCapacity: true)
    for k in from..<to {
      if k > from { gram.append(0x20) }
      gram.append(contentsOf: tokenBytes[tokenStart[k]..<tokenStart[k + 1]])
    }
    return gram.withUnsafeBufferPointer { cache.bucket(of: $0, buckets: buckets) }
  }
}

/// Buckets of n-grams seen before: open addressing on XXH3 of the bytes, each slot holding the
/// bytes themselves (in one arena) so that a hit is an exact match. Cleared when full, so its
/// memory is fixed.
struct BucketCache {
  static let slotBits = 18
  static let arenaLimit = 16 << 20
  static let longest = 96
  var hashes = [UInt64](repeating: 0, count: 1 << slotBits)
  /// Arena offset << 8 | length, and 0 for an empty slot (offsets start at 1).
  var places = [UInt64](repeating: 0, count: 1 << slotBits)
  var values = [UInt32](repeating: 0, count: 1 << slotBits)
  var arena: [UInt8] = [0]
  var used = 0

  mutating func bucket(of bytes: UnsafeBufferPointer<UInt8>, buckets: Int) -> Int {
    guard bytes.count <= Self.longest else { return HashedNGramFeaturizer.bucket(of: bytes, buckets: buckets) }
    let h = XXH3.hash64(bytes)
    let mask = (1 << Self.slotBits) - 1
    var slot = Int(truncatingIfNeeded: h) & mask
    while true {
      let place = places[slot]
      if place == 0 { break }
      if hashes[slot] == h && Int(place & 0xFF) == bytes.count {
        let offset = Int(place >> 8)
        let same = arena.withUnsafeBufferPointer { a in
          memcmpEqual(a.baseAddress! + offset, bytes.baseAddress, bytes.count)
        }
        if same { return Int(values[slot]) }
      }
      slot = (slot + 1) & mask
    }
    let b = HashedNGramFeaturizer.bucket(of: bytes, buckets: buckets)
    if used >= (1 << Self.slotBits) / 2 || arena.count + bytes.count > Self.arenaLimit {
      clear()
      slot = Int(truncatingIfNeeded: h) & mask
    }
    hashes[slot] = h
    places[slot] = UInt64(arena.count) << 8 | UInt64(bytes.count)
    values[slot] = UInt32(b)
    arena.append(contentsOf: bytes)
    used += 1
    return b
  }

  mutating func clear() {
    for i in places.indices { places[i] = 0 }
    arena.removeAll(keepingCapacity: true)
    arena.append(0)
    used = 0
  }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>?, _ n: Int) -> Bool {
  guard let b else { return n == 0 }
  for i in 0..<n where a[i] != b[i] { return false }
  return true
}
