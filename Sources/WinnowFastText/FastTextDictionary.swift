import Glibc

/// A model's vocabulary (`dictionary.cc`): words then labels, in file order (ids), with counts,
/// the subword ids of every word, and the map of kept n-gram buckets of a pruned model.
public struct FastTextDictionary: Sendable {
  public struct Entry: Sendable {
    public var word: [UInt8]
    public var count: Int64
    public var isLabel: Bool
  }
  public var entries: [Entry]
  public var nwords: Int
  public var nlabels: Int
  public var ntokens: Int64
  /// -1: not pruned; 0: every n-gram row pruned; > 0: `pruneIndex` holds the kept buckets.
  public var pruneIndexSize: Int64
  public var pruneIndex: [Int32: Int32]
  var ids: [[UInt8]: Int32]
  /// Open addressing by fastText's hash, for lookups straight from the input bytes.
  var slots: [Int32] = []
  var hashOf: [UInt32] = []
  public let bucket: Int32
  public let minn: Int32
  public let maxn: Int32
  /// Per word id: its input rows (itself, then its char n-grams).
  var subwords: [[Int32]]
  static let eos = Array("</s>".utf8)

  static func load(_ r: inout ModelReader, args: FastTextArgs) throws(FastTextError) -> FastTextDictionary {
    let size = Int(try r.int32())
    let nwords = Int(try r.int32())
    let nlabels = Int(try r.int32())
    let ntokens = try r.int64()
    let pruneSize = try r.int64()
    guard size >= 0, nwords >= 0, nlabels >= 0, size == nwords + nlabels else {
      throw FastTextError("\(r.path): dictionary sizes do not add up (\(size) ≠ \(nwords) + \(nlabels))")
    }
    var entries: [Entry] = []
    entries.reserveCapacity(size)
    for _ in 0..<size {
      let w = try r.cString()
      let c = try r.int64()
      let t = try r.uint8()
      entries.append(Entry(word: w, count: c, isLabel: t == 1))
    }
    var prune: [Int32: Int32] = [:]
    if pruneSize > 0 {
      for _ in 0..<Int(pruneSize) {
        let from = try r.int32()
        prune[from] = try r.int32()
      }
    }
    return FastTextDictionary(
      entries: entries, nwords: nwords, nlabels: nlabels, ntokens: ntokens, pruneIndexSize: pruneSize, pruneIndex: prune,
      bucket: args.bucket, minn: args.minn, maxn: args.maxn)
  }

  /// A dictionary of these entries (words first, then labels), with its lookup tables and every
  /// word's subword rows (`Dictionary::load`, `initNgrams`).
  init(
    entries: [Entry], nwords: Int, nlabels: Int, ntokens: Int64, pruneIndexSize: Int64, pruneIndex: [Int32: Int32], bucket: Int32,
    minn: Int32, maxn: Int32
  ) {
    self.entries = entries
    self.nwords = nwords
    self.nlabels = nlabels
    self.ntokens = ntokens
    self.pruneIndexSize = pruneIndexSize
    self.pruneIndex = pruneIndex
    self.bucket = bucket
    self.minn = minn
    self.maxn = maxn
    let size = entries.count
    ids = [:]
    ids.reserveCapacity(size)
    for (k, e) in entries.enumerated() { ids[e.word] = Int32(k) }
    var capacity = 16
    while capacity < 2 * size + 1 { capacity <<= 1 }
    slots = [Int32](repeating: -1, count: capacity)
    hashOf = entries.map { Self.hash($0.word) }
    for k in 0..<size {
      var slot = Int(hashOf[k]) & (capacity - 1)
      while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
      // A word written twice resolves to its last id, as `Dictionary::load`'s table does.
      if ids[entries[k].word] == Int32(k) { slots[slot] = Int32(k) }
    }
    subwords = []
    subwords = (0..<nwords).map { k in
      var out: [Int32] = [Int32(k)]
      if entries[k].word != Self.eos { charNgrams(entries[k].word, into: &out) }
      return out
    }
  }

  public func id(_ word: [UInt8]) -> Int32? { ids[word] }

  /// Whether `p` holds `w` at `start` (the caller checked that it fits).
  @inline(__always)
  static func equal(_ w: [UInt8], _ p: UnsafeBufferPointer<UInt8>, _ start: Int) -> Bool {
    w.withUnsafeBufferPointer { a in
      guard let x = a.baseAddress, let y = p.baseAddress else { return a.isEmpty }
      return memcmp(x, y + start, a.count) == 0
    }
  }

  /// The id of the bytes `p[start..<end]` whose fastText hash is `h`.
  @inline(__always)
  func id(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, hash h: UInt32) -> Int32? {
    let mask = slots.count - 1
    var slot = Int(h) & mask
    let n = end - start
    while true {
      let k = slots[slot]
      if k < 0 { return nil }
      if hashOf[Int(k)] == h {
        let w = entries[Int(k)].word
        if w.count == n && Self.equal(w, p, start) { return k }
      }
      slot = (slot + 1) & mask
    }
  }

  /// fastText's hash: FNV-1a over bytes sign-extended to 32 bits (`Dictionary::hash`).
  @inline(__always)
  public static func hash<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    var h: UInt32 = 2_166_136_261
    for b in bytes {
      h ^= UInt32(bitPattern: Int32(Int8(bitPattern: b)))
      h = h &* 16_777_619
    }
    return h
  }

  /// Appends the input row of hash bucket `id`, unless pruning dropped it.
  @inline(__always)
  func push(_ id: Int32, into out: inout [Int32]) {
    if pruneIndexSize == 0 || id < 0 { return }
    var row = id
    if pruneIndexSize > 0 {
      guard let kept = pruneIndex[id] else { return }
      row = kept
    }
    out.append(Int32(nwords) + row)
  }

  /// The char n-gram rows of `word` ("<word>", minn…maxn characters, by start then length).
  func charNgrams(_ word: [UInt8], into out: inout [Int32]) {
    guard maxn > 0, bucket > 0 else { return }
    var w: [UInt8] = [UInt8(ascii: "<")]
    w += word
    w.append(UInt8(ascii: ">"))
    let n = w.count
    var i = 0
    while i < n {
      if w[i] & 0xC0 == 0x80 {
        i += 1
        continue
      }
      var j = i
      var chars: Int32 = 1
      while j < n && chars <= maxn {
        j += 1
        while j < n && w[j] & 0xC0 == 0x80 { j += 1 }
        if chars >= minn && !(chars == 1 && (i == 0 || j == n)) {
          push(Int32(bitPattern: Self.hash(w[i..<j]) % UInt32(bitPattern: bucket)), into: &out)
        }
        chars += 1
      }
      i += 1
    }
  }

  /// The input rows and labels of one line given as byte ranges of `p` (`(-1, -1)`: a
  /// newline's `</s>`), as `Dictionary::getLine` (supervised) builds them: words' rows and
  /// subwords, then word n-grams of every word-type token's hash.
  func rows(
    bytes p: UnsafeBufferPointer<UInt8>, tokens: [(Int, Int)], wordNgrams: Int, labelPrefix: [UInt8], words: inout [Int32],
    labels: inout [Int32], hashes: inout [Int32]
  ) {
    words.removeAll(keepingCapacity: true)
    labels.removeAll(keepingCapacity: true)
    hashes.removeAll(keepingCapacity: true)
    let eosHash = Self.hash(Self.eos)
    let eosID = ids[Self.eos]
    for (start, end) in tokens {
      let isEOS = start < 0
      let h = isEOS ? eosHash : Self.hash(UnsafeBufferPointer(rebasing: p[start..<end]))
      let wid = isEOS ? eosID : id(p, start, end, hash: h)
      let isLabel: Bool
      if let wid {
        isLabel = entries[Int(wid)].isLabel
      } else {
        isLabel = !isEOS && end - start >= labelPrefix.count
          && Self.equal(labelPrefix, p, start)
      }
      if !isLabel {
        if let wid {
          words += subwords[Int(wid)]
        } else if !isEOS && !(end - start == 4 && Array(p[start..<end]) == Self.eos) {
          charNgrams(Array(p[start..<end]), into: &words)
        }
        hashes.append(Int32(bitPattern: h))
      } else if let wid {
        labels.append(wid - Int32(nwords))
      }
    }
    guard wordNgrams > 1, bucket > 0 else { return }
    for i in 0..<hashes.count {
      var h = UInt64(bitPattern: Int64(hashes[i]))
      var j = i + 1
      while j < hashes.count && j < i + wordNgrams {
        h = h &* 116_049_371 &+ UInt64(bitPattern: Int64(hashes[j]))
        push(Int32(truncatingIfNeeded: h % UInt64(bucket)), into: &words)
        j += 1
      }
    }
  }
}
