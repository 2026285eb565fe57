import CMemoryHints
import CSHA256
import Synchronization
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
public struct HashedNGramFeaturizer: Sendable {
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
  /// Each token's id in `tokens` (valid until the next text).
  var tokenIDs: [UInt32] = []
  var tokenHashes: [UInt64] = []
  /// The bucket of every bigram of the last text, in order.
  var pairBuckets: [Int32] = []
  var gram: [UInt8] = []
  var cache = BucketCache()
  var tokens: TokenTable
  var pairs: PairBucketCache
  /// ASCII byte → 1 word character, 0 space, 2 other (Python's `\w` and `\s`).
  let asciiKind: [UInt8]

  /// A featurizer for unigrams … `ngrams`-grams into `buckets` buckets.
  public init(ngrams: Int = 2, buckets: Int = 10_000) {
    self.init(ngrams: ngrams, buckets: buckets, tableBits: 20)
  }

  /// With a token table of at most 2^`tableBits` slots (and a pair table twice that): small
  /// tables let tests reach the paths taken when they fill.
  init(ngrams: Int, buckets: Int, tableBits: Int) {
    precondition(ngrams >= 1 && buckets >= 1 && tableBits >= 2 && tableBits <= 20)
    self.ngrams = ngrams
    self.buckets = buckets
    tokens = TokenTable(maxSlotBits: tableBits)
    pairs = PairBucketCache(maxSlotBits: tableBits + 1)
    var python = PythonText()
    asciiKind = (0..<128).map { v in
      let t = python.traits(UInt32(v))
      return t.contains(.word) ? 1 : (t.contains(.space) ? 0 : 2)
    }
  }

  /// The bucket of one n-gram's UTF-8 bytes.
  public static func bucket(of bytes: UnsafeBufferPointer<UInt8>, buckets: Int) -> Int {
    var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    withUnsafeMutableBytes(of: &digest) { d in
      winnow_sha256(bytes.baseAddress, bytes.count, d.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }
    // (((w0·2^64 + w1)·2^64 + w2)·2^64 + w3) mod B. With B < 2^32 (always, in practice) each
    // step is two 64-bit remainders of 32-bit halves; else one 128-by-64 division per word.
    let b = UInt64(buckets)
    let words = [UInt64(bigEndian: digest.0), UInt64(bigEndian: digest.1), UInt64(bigEndian: digest.2), UInt64(bigEndian: digest.3)]
    var r: UInt64 = 0
    if b <= UInt64(UInt32.max) {
      for w in words {
        r = ((r << 32) | (w >> 32)) % b
        r = ((r << 32) | (w & 0xFFFF_FFFF)) % b
      }
    } else {
      for w in words { r = b.dividingFullWidth((high: r, low: w)).remainder }
    }
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
  ///
  /// Tokens are interned (`TokenTable`: bytes → id and unigram bucket) and bigrams looked up
  /// by their pair of ids (`PairBucketCache`), so SHA-256 runs once per distinct token and
  /// bigram while the tables hold them, not once per occurrence.
  public mutating func features(_ text: UnsafeBufferPointer<UInt8>, _ body: (Int) -> Void) {
    tokenize(text)
    let count = tokenCount
    guard count > 0 else { return }
    guard internTokens() else {
      // More distinct tokens in this one text than the table holds: by bytes, uncached pairs.
      for k in 0..<count { body(bucket(ofTokens: k, k + 1)) }
      for n in 2...max(2, ngrams) where n <= ngrams && n <= count {
        for k in 0...(count - n) { body(bucket(ofTokens: k, k + n)) }
      }
      return
    }
    tokenIDs.withUnsafeBufferPointer { ids in
      tokens.bucket.withUnsafeBufferPointer { unigram in
        for k in 0..<count { body(Int(unigram[Int(ids[k])])) }
      }
    }
    if ngrams >= 2 && count >= 2 {
      lookUpPairs()
      pairBuckets.withUnsafeBufferPointer { found in
        for b in found { body(Int(b)) }
      }
    }
    if ngrams >= 3 {
      for n in 3...ngrams where n <= count {
        for k in 0...(count - n) { body(bucket(ofTokens: k, k + n)) }
      }
    }
  }

  /// Adds one to `counts[b]` for the bucket `b` of every feature of `text` (the reference's
  /// `get_ngram_counts` with a `counts` array). `counts` has `buckets` entries.
  public mutating func count(_ text: UnsafeBufferPointer<UInt8>, into counts: inout [UInt64]) {
    counts.withUnsafeMutableBufferPointer { c in features(text) { c[$0] &+= 1 } }
  }

  /// The bucket of every bigram of the last text into `pairBuckets`: lookups by pointer with
  /// the slots prefetched a few pairs ahead (the table is larger than the caches, so the
  /// misses overlap), then the pairs not in the table hashed and added.
  mutating func lookUpPairs() {
    let pairCount = tokenCount - 1
    var out = pairBuckets
    pairBuckets = []
    out.removeAll(keepingCapacity: true)
    out.append(contentsOf: repeatElement(-1, count: pairCount))
    var missing = false
    tokenIDs.withUnsafeBufferPointer { ids in
      out.withUnsafeMutableBufferPointer { out in
        pairs.keys.withUnsafeBufferPointer { keys in
          pairs.values.withUnsafeBufferPointer { values in
            let bits = pairs.slotBits
            let mask = (1 << bits) - 1
            @inline(__always) func slot(_ k: Int) -> (UInt64, Int) {
              let key = (UInt64(ids[k]) << 32 | UInt64(ids[k + 1])) &+ 1
              return (key, PairBucketCache.slot(key, bits: bits))
            }
            let ahead = 8
            for k in 0..<min(ahead, pairCount) {
              let s = slot(k).1
              winnow_prefetch(keys.baseAddress! + s)
              winnow_prefetch(values.baseAddress! + s)
            }
            for k in 0..<pairCount {
              if k + ahead < pairCount {
                let s = slot(k + ahead).1
                winnow_prefetch(keys.baseAddress! + s)
                winnow_prefetch(values.baseAddress! + s)
              }
              var (key, s) = slot(k)
              while true {
                let here = keys[s]
                if here == key {
                  out[k] = Int32(bitPattern: values[s])
                  break
                }
                if here == 0 {
                  missing = true
                  break
                }
                s = (s + 1) & mask
              }
            }
          }
        }
      }
    }
    if missing {
      for k in 0..<pairCount where out[k] < 0 {
        let pair = UInt64(tokenIDs[k]) << 32 | UInt64(tokenIDs[k + 1])
        if let b = pairs.lookup(pair) {
          out[k] = Int32(b)
        } else {
          let b = bucket(ofTokens: k, k + 2)
          pairs.insert(pair, b)
          out[k] = Int32(b)
        }
      }
    }
    pairBuckets = out
  }

  /// The id of every token of the last text (interning new ones, with their unigram bucket).
  /// False when the text alone has more distinct tokens than the table holds.
  mutating func internTokens() -> Bool {
    let count = tokenCount
    var ids = tokenIDs
    tokenIDs = []
    defer { tokenIDs = ids }
    ids.removeAll(keepingCapacity: true)
    ids.append(contentsOf: repeatElement(0, count: count))
    var hashes = tokenHashes
    tokenHashes = []
    defer { tokenHashes = hashes }
    hashes.removeAll(keepingCapacity: true)
    hashes.reserveCapacity(count)
    let buckets = self.buckets
    var cleared = false
    return tokenBytes.withUnsafeBufferPointer { all in
      tokenStart.withUnsafeBufferPointer { start in
        @inline(__always) func token(_ k: Int) -> UnsafeBufferPointer<UInt8> {
          UnsafeBufferPointer(rebasing: all[start[k]..<start[k + 1]])
        }
        for k in 0..<count { hashes.append(XXH3.hash64(token(k))) }
        var k = 0
        while k < count {
          // Known tokens, by pointer, with slots prefetched ahead, up to the first new one.
          k = ids.withUnsafeMutableBufferPointer { ids in
            hashes.withUnsafeBufferPointer { hashes in
              tokens.withPointers { t in
                let ahead = 8
                for j in k..<min(k + ahead, count) { t.prefetch(hashes[j]) }
                var j = k
                while j < count {
                  if j + ahead < count { t.prefetch(hashes[j + ahead]) }
                  guard let id = t.find(token(j), hash: hashes[j]) else { break }
                  ids[j] = id
                  j += 1
                }
                return j
              }
            }
          }
          guard k < count else { break }
          // A new token.
          if tokens.isFull {
            // Ids are about to be reused: the pairs keyed by them go too, and this text's
            // ids so far are re-interned into the fresh table (once; a text with more
            // distinct tokens than the table holds goes without it).
            tokens.clear()
            pairs.clear()
            if cleared { return false }
            cleared = true
            for j in 0..<k {
              if let again = tokens.find(token(j), hash: hashes[j]) {
                ids[j] = again
              } else {
                if tokens.isFull {
                  tokens.clear()
                  return false
                }
                ids[j] = tokens.insert(token(j), hash: hashes[j], bucket: Self.bucket(of: token(j), buckets: buckets))
              }
            }
          }
          ids[k] = tokens.insert(token(k), hash: hashes[k], bucket: Self.bucket(of: token(k), buckets: buckets))
          k += 1
        }
        return true
      }
    }
  }

  /// Splits `text` into lower-cased word and punctuation tokens (`\w+|[^\w\s]+`).
  mutating func tokenize(_ text: UnsafeBufferPointer<UInt8>) {
    tokenBytes.removeAll(keepingCapacity: true)
    tokenStart.removeAll(keepingCapacity: true)
    if !tokenizeScalars(text) {
      tokenBytes.removeAll(keepingCapacity: true)
      tokenStart.removeAll(keepingCapacity: true)
      tokenizeGeneral(text)
    }
    tokenStart.append(tokenBytes.count)
    if tokenStart.count == 1 { tokenStart.removeAll(keepingCapacity: true) }
  }

  /// The general path: the whole text decoded, lower-cased as `str.lower()` does (with the
  /// Final_Sigma rule), then split; token starts into `tokenStart` (without the final end).
  mutating func tokenizeGeneral(_ text: UnsafeBufferPointer<UInt8>) {
    PythonText.decode(text, into: &scalars)
    python.lower(scalars, into: &lowered)
    // 0: between tokens (space), 1: in a word run, 2: in a punctuation run.
    var state = 0
    for v in lowered {
      // Raw bits (Traits.word = 1, .space = 2): the static members cost a lookup each.
      let t = python.traits(v).rawValue
      let kind = t & 1 != 0 ? 1 : (t & 2 != 0 ? 0 : 2)
      if kind != state {
        if kind != 0 { tokenStart.append(tokenBytes.count) }
        state = kind
      }
      if kind != 0 { appendUTF8(v) }
    }
  }

  /// The tokens of a text without a capital sigma (whose lower case depends on its
  /// neighbours): one pass over the bytes, ASCII by table (A–Z → a–z, classes of Python's
  /// `\w` and `\s`), other scalars decoded as `PythonText.decode` does (U+FFFD per bad
  /// byte), lower-cased one by one and classed by their traits. False (and nothing kept) for
  /// a text with U+03A3, which takes the general path.
  mutating func tokenizeScalars(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = text.count
    // Lower-casing grows a scalar's UTF-8 by at most half (U+0130 → i + U+0307; U+023A →
    // U+2C65), so 2n bytes always suffice.
    let capacity = 2 * n + 8
    tokenBytes.append(contentsOf: repeatElement(0, count: capacity))
    tokenStart.append(contentsOf: repeatElement(0, count: capacity + 1))
    var bytes = 0
    var starts = 0
    var ok = true
    tokenBytes.withUnsafeMutableBufferPointer { out in
      tokenStart.withUnsafeMutableBufferPointer { start in
        asciiKind.withUnsafeBufferPointer { kinds in
          var state: UInt8 = 0
          @inline(__always) func begin(_ kind: UInt8) {
            if kind != state {
              if kind != 0 {
                start[starts] = bytes
                starts += 1
              }
              state = kind
            }
          }
          var i = 0
          while i < n {
            let b0 = text[i]
            if b0 < 0x80 {
              let kind = kinds[Int(b0)]
              begin(kind)
              if kind != 0 {
                out[bytes] = b0 &- 0x41 < 26 ? b0 | 0x20 : b0
                bytes += 1
              }
              i += 1
              continue
            }
            let (v, advance) = PythonText.decodeScalar(text, at: i)
            i += advance
            if v == 0x3A3 {
              ok = false
              return
            }
            @inline(__always) func emit(_ u: UInt32) {
              let t = python.traits(u).rawValue
              let kind: UInt8 = t & 1 != 0 ? 1 : (t & 2 != 0 ? 0 : 2)
              begin(kind)
              guard kind != 0 else { return }
              switch u {
              case 0..<0x80:
                out[bytes] = UInt8(u)
                bytes += 1
              case 0x80..<0x800:
                out[bytes] = UInt8(0xC0 | u >> 6)
                out[bytes + 1] = UInt8(0x80 | u & 0x3F)
                bytes += 2
              case 0x800..<0x10000:
                out[bytes] = UInt8(0xE0 | u >> 12)
                out[bytes + 1] = UInt8(0x80 | (u >> 6) & 0x3F)
                out[bytes + 2] = UInt8(0x80 | u & 0x3F)
                bytes += 3
              default:
                out[bytes] = UInt8(0xF0 | u >> 18)
                out[bytes + 1] = UInt8(0x80 | (u >> 12) & 0x3F)
                out[bytes + 2] = UInt8(0x80 | (u >> 6) & 0x3F)
                out[bytes + 3] = UInt8(0x80 | u & 0x3F)
                bytes += 4
              }
            }
            if let u = python.lower(scalar: v) {
              emit(u)
            } else {
              for u in python.lowerMapping(v) { emit(u) }
            }
          }
        }
      }
    }
    guard ok else { return false }
    tokenBytes.removeLast(tokenBytes.count - bytes)
    tokenStart.removeLast(tokenStart.count - starts)
    return true
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
    if to == from + 2 { return gram.withUnsafeBufferPointer { Self.bucket(of: $0, buckets: buckets) } }
    return gram.withUnsafeBufferPointer { cache.bucket(of: $0, buckets: buckets) }
  }
}

/// Interned tokens: open addressing on XXH3 of the bytes, each id with its bytes (in one
/// arena, so a hit is an exact match) and its unigram bucket. Starts small and doubles while
/// more than half full, up to 2^20 slots; then it is cleared, so its memory is bounded (about
/// 40 MB).
struct TokenTable {
  let maxSlotBits: Int
  static let arenaLimit = 24 << 20
  var slotBits: Int
  var slotHash: [UInt64]
  /// id + 1, or 0 for an empty slot.
  var slotID: [UInt32]
  var offset: [Int] = []
  var length: [Int] = []
  var bucket: [UInt32] = []
  var arena: [UInt8] = []

  /// Holds as many tokens as it may: the next new one needs a clear.
  init(maxSlotBits: Int) {
    self.maxSlotBits = maxSlotBits
    slotBits = min(12, maxSlotBits)
    slotHash = [UInt64](repeating: 0, count: 1 << slotBits)
    slotID = [UInt32](repeating: 0, count: 1 << slotBits)
  }

  var isFull: Bool { bucket.count >= (1 << maxSlotBits) / 2 || arena.count > Self.arenaLimit }

  /// The table's storage by pointer, for lookups in a loop (no insertions meanwhile).
  struct Pointers {
    let slotHash: UnsafePointer<UInt64>
    let slotID: UnsafePointer<UInt32>
    let offset: UnsafePointer<Int>
    let length: UnsafePointer<Int>
    let arena: UnsafePointer<UInt8>?
    let mask: Int

    @inline(__always)
    func prefetch(_ h: UInt64) {
      let slot = Int(truncatingIfNeeded: h) & mask
      winnow_prefetch(slotID + slot)
      winnow_prefetch(slotHash + slot)
    }

    @inline(__always)
    func find(_ bytes: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> UInt32? {
      var slot = Int(truncatingIfNeeded: h) & mask
      while true {
        let id = slotID[slot]
        if id == 0 { return nil }
        if slotHash[slot] == h {
          let k = Int(id &- 1)
          if length[k] == bytes.count && memcmpEqual(arena! + offset[k], bytes.baseAddress, bytes.count) { return id &- 1 }
        }
        slot = (slot + 1) & mask
      }
    }
  }

  func withPointers<R>(_ body: (Pointers) -> R) -> R {
    slotHash.withUnsafeBufferPointer { h in
      slotID.withUnsafeBufferPointer { i in
        offset.withUnsafeBufferPointer { o in
          length.withUnsafeBufferPointer { l in
            arena.withUnsafeBufferPointer { a in
              body(
                Pointers(
                  slotHash: h.baseAddress!, slotID: i.baseAddress!, offset: o.baseAddress ?? UnsafePointer(bitPattern: 8)!,
                  length: l.baseAddress ?? UnsafePointer(bitPattern: 8)!, arena: a.baseAddress, mask: (1 << slotBits) - 1))
            }
          }
        }
      }
    }
  }

  /// The id of a token whose XXH3 is `h`, if it is in the table.
  func find(_ bytes: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> UInt32? {
    withPointers { $0.find(bytes, hash: h) }
  }

  /// Adds a token known to be absent (the table must not be full); returns its id.
  mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash h: UInt64, bucket b: Int) -> UInt32 {
    if bucket.count + 1 > (1 << slotBits) / 2 && slotBits < maxSlotBits { grow() }
    let id = UInt32(bucket.count)
    place(h, id + 1)
    offset.append(arena.count)
    length.append(bytes.count)
    bucket.append(UInt32(b))
    arena.append(contentsOf: bytes)
    return id
  }

  mutating func place(_ h: UInt64, _ idPlusOne: UInt32) {
    let mask = (1 << slotBits) - 1
    var slot = Int(truncatingIfNeeded: h) & mask
    while slotID[slot] != 0 { slot = (slot + 1) & mask }
    slotHash[slot] = h
    slotID[slot] = idPlusOne
  }

  mutating func grow() {
    let oldHash = slotHash
    let oldID = slotID
    slotBits += 1
    slotHash = [UInt64](repeating: 0, count: 1 << slotBits)
    slotID = [UInt32](repeating: 0, count: 1 << slotBits)
    for i in oldID.indices where oldID[i] != 0 { place(oldHash[i], oldID[i]) }
  }

  mutating func clear() {
    for i in slotID.indices { slotID[i] = 0 }
    offset.removeAll(keepingCapacity: true)
    length.removeAll(keepingCapacity: true)
    bucket.removeAll(keepingCapacity: true)
    arena.removeAll(keepingCapacity: true)
  }
}

/// Buckets of bigrams by their tokens' ids: open addressing on the pair, starting small and
/// doubling while more than half full up to 2^21 slots, then cleared (and whenever the token
/// ids are reused).
struct PairBucketCache {
  let maxSlotBits: Int
  var slotBits: Int
  /// pair + 1 (ids are below 2^20, so the pair never reaches 2^64 − 1), 0 for an empty slot.
  var keys: [UInt64]
  var values: [UInt32]
  var used = 0

  init(maxSlotBits: Int) {
    self.maxSlotBits = maxSlotBits
    slotBits = min(12, maxSlotBits)
    keys = [UInt64](repeating: 0, count: 1 << slotBits)
    values = [UInt32](repeating: 0, count: 1 << slotBits)
  }

  @inline(__always)
  func slot(_ key: UInt64) -> Int { Self.slot(key, bits: slotBits) }

  /// The home slot of a stored key (pair + 1) in a table of 2^`bits` slots.
  @inline(__always)
  static func slot(_ key: UInt64, bits: Int) -> Int {
    Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bits))
  }

  func lookup(_ pair: UInt64) -> Int? {
    let key = pair &+ 1
    let mask = (1 << slotBits) - 1
    var slot = slot(key)
    return keys.withUnsafeBufferPointer { k in
      while true {
        let here = k[slot]
        if here == key { return Int(values[slot]) }
        if here == 0 { return nil }
        slot = (slot + 1) & mask
      }
    }
  }

  mutating func insert(_ pair: UInt64, _ bucket: Int) {
    if used + 1 > (1 << slotBits) / 2 {
      if slotBits < maxSlotBits { grow() } else { clear() }
    }
    place(pair &+ 1, UInt32(bucket))
    used += 1
  }

  mutating func place(_ key: UInt64, _ value: UInt32) {
    let mask = (1 << slotBits) - 1
    var slot = slot(key)
    while keys[slot] != 0 { slot = (slot + 1) & mask }
    keys[slot] = key
    values[slot] = value
  }

  mutating func grow() {
    let oldKeys = keys
    let oldValues = values
    slotBits += 1
    keys = [UInt64](repeating: 0, count: 1 << slotBits)
    values = [UInt32](repeating: 0, count: 1 << slotBits)
    for i in oldKeys.indices where oldKeys[i] != 0 { place(oldKeys[i], oldValues[i]) }
  }

  mutating func clear() {
    for i in keys.indices { keys[i] = 0 }
    used = 0
  }
}

/// Featurizers with their warm tables, handed from one task of a process to the next (a
/// recipe's tasks of the counting and weighting passes featurize the same vocabulary: the
/// weighting pass then finds nearly every token and bigram already hashed). One task holds a
/// featurizer at a time.
enum FeaturizerPool {
  static let pool = Mutex<[HashedNGramFeaturizer]>([])

  /// A featurizer for these settings: a pooled one when there is one.
  static func take(ngrams: Int, buckets: Int) -> HashedNGramFeaturizer {
    let pooled = pool.withLock { list -> HashedNGramFeaturizer? in
      guard let k = list.lastIndex(where: { $0.ngrams == ngrams && $0.buckets == buckets && $0.tokens.maxSlotBits == 20 }) else {
        return nil
      }
      return list.remove(at: k)
    }
    return pooled ?? HashedNGramFeaturizer(ngrams: ngrams, buckets: buckets)
  }

  /// Hands `f` on to the next task (at most two are kept), leaving an empty one in its place
  /// so that the tables have one owner and are never copied.
  static func give(_ f: inout HashedNGramFeaturizer) {
    var taken = HashedNGramFeaturizer(ngrams: f.ngrams, buckets: f.buckets)
    swap(&taken, &f)
    pool.withLock { list in
      list.append(taken)
      if list.count > 2 { list.removeFirst() }
    }
  }
}

/// Buckets of n-grams seen before: open addressing on XXH3 of the bytes, each slot holding the
/// bytes themselves (in one arena) so that a hit is an exact match. Cleared when full, so its
/// memory is fixed.
struct BucketCache {
  static let slotBits = 18
  static let arenaLimit = 16 << 20
  static let longest = 96
  // Allocated on first use (most texts need only the token and pair tables).
  var hashes: [UInt64] = []
  /// Arena offset << 8 | length, and 0 for an empty slot (offsets start at 1).
  var places: [UInt64] = []
  var values: [UInt32] = []
  var arena: [UInt8] = [0]
  var used = 0

  mutating func bucket(of bytes: UnsafeBufferPointer<UInt8>, buckets: Int) -> Int {
    guard bytes.count <= Self.longest else { return HashedNGramFeaturizer.bucket(of: bytes, buckets: buckets) }
    if hashes.isEmpty {
      hashes = [UInt64](repeating: 0, count: 1 << Self.slotBits)
      places = [UInt64](repeating: 0, count: 1 << Self.slotBits)
      values = [UInt32](repeating: 0, count: 1 << Self.slotBits)
    }
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
