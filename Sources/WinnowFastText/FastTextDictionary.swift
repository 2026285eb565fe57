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
  /// The id of `</s>` (nil if the dictionary lacks it) and its hash.
  var eosID: Int32? = nil
  static let eosHash = hash(eos)
  /// Open addressing by fastText's hash, for lookups straight from the input bytes: the
  /// words' bytes side by side (`wordStart[k] ..< wordStart[k + 1]`), their hashes and types,
  /// in flat arrays so that a lookup touches no reference-counted storage.
  var slots: [Int32] = []
  var hashOf: [UInt32] = []
  var wordBytes: [UInt8] = []
  var wordStart: [Int32] = []
  var isLabelID: [Bool] = []
  /// Word k's rows are `subwordRows[subwordStart[k] ..< subwordStart[k + 1]]`.
  var subwordRows: [Int32] = []
  var subwordStart: [Int32] = []
  public let bucket: Int32
  public let minn: Int32
  public let maxn: Int32
  /// Word `id`'s input rows: itself, then its char n-grams.
  func subwords(_ id: Int) -> ArraySlice<Int32> { subwordRows[Int(subwordStart[id])..<Int(subwordStart[id + 1])] }
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
    wordStart.reserveCapacity(size + 1)
    isLabelID.reserveCapacity(size)
    hashOf.reserveCapacity(size)
    for e in entries {
      wordStart.append(Int32(wordBytes.count))
      wordBytes += e.word
      isLabelID.append(e.isLabel)
      hashOf.append(Self.hash(e.word))
    }
    wordStart.append(Int32(wordBytes.count))
    var capacity = 16
    while capacity < 2 * size + 1 { capacity <<= 1 }
    slots = [Int32](repeating: -1, count: capacity)
    for k in 0..<size {
      let ws = Int(wordStart[k])
      let n = Int(wordStart[k + 1]) - ws
      let found = wordBytes.withUnsafeBufferPointer { b in slot(b, ws, ws + n, hash: hashOf[k]) }
      // A word written twice resolves to its last id, as `Dictionary::load`'s table does.
      slots[found] = Int32(k)
    }
    eosID = id(Self.eos)
    // Built in locals: appending to a stored array while calling a method of self would copy
    // the array on every call.
    var rows: [Int32] = []
    var starts: [Int32] = []
    starts.reserveCapacity(nwords + 1)
    for k in 0..<nwords {
      starts.append(Int32(rows.count))
      rows.append(Int32(k))
      if entries[k].word != Self.eos { charNgrams(entries[k].word, into: &rows) }
    }
    starts.append(Int32(rows.count))
    subwordRows = rows
    subwordStart = starts
  }

  public func id(_ word: [UInt8]) -> Int32? {
    word.withUnsafeBufferPointer { p in p.count == 0 ? nil : id(p, 0, p.count, hash: Self.hash(word)) }
  }

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
    let k = slots[slot(p, start, end, hash: h)]
    return k < 0 ? nil : k
  }

  /// The slot that holds the word `p[start..<end]` (hash `h`), or the empty slot where it
  /// would go.
  @inline(__always)
  func slot(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, hash h: UInt32) -> Int {
    slots.withUnsafeBufferPointer { slots in
      hashOf.withUnsafeBufferPointer { hashOf in
        wordStart.withUnsafeBufferPointer { wordStart in
          wordBytes.withUnsafeBufferPointer { bytes in
            let mask = slots.count - 1
            var slot = Int(h) & mask
            let n = end - start
            while true {
              let k = Int(slots[slot])
              if k < 0 { return slot }
              if hashOf[k] == h {
                let ws = Int(wordStart[k])
                if Int(wordStart[k + 1]) - ws == n && (n == 0 || Self.same(bytes.baseAddress! + ws, p.baseAddress! + start, n)) {
                  return slot
                }
              }
              slot = (slot + 1) & mask
            }
          }
        }
      }
    }
  }

  /// Whether n bytes at a and b are equal (short words, the usual case, without a call).
  @inline(__always)
  static func same(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    if n > 16 { return memcmp(a, b, n) == 0 }
    var i = 0
    while i + 8 <= n {
      if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
      i += 8
    }
    while i < n {
      if a[i] != b[i] { return false }
      i += 1
    }
    return true
  }

  /// fastText's hash of raw bytes.
  @inline(__always)
  static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
    var h: UInt32 = 2_166_136_261
    for i in 0..<n {
      h ^= UInt32(bitPattern: Int32(Int8(bitPattern: p[i])))
      h = h &* 16_777_619
    }
    return h
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
    let eosHash = Self.eosHash
    for (start, end) in tokens {
      let isEOS = start < 0
      let h = isEOS ? eosHash : Self.hash(p.baseAddress! + start, end - start)
      let wid = isEOS ? eosID : id(p, start, end, hash: h)
      let isLabel: Bool
      if let wid {
        isLabel = isLabelID[Int(wid)]
      } else {
        isLabel = !isEOS && end - start >= labelPrefix.count
          && Self.equal(labelPrefix, p, start)
      }
      if !isLabel {
        if let wid {
          if maxn <= 0 { words.append(wid) } else { words += subwords(Int(wid)) }
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
