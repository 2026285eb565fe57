import Glibc

/// A model's vocabulary (`dictionary.cc`): words then labels, in file order (ids), with counts,
/// the subword ids of every word, and the map of kept n-gram buckets of a pruned model.
public struct FastTextDictionary: Sendable {
  /// A word or label of the model's vocabulary, with its training count.
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
  public var pruneIndex: [Int32: Int32] { didSet { prunedRows = PrunedRows(pruneIndex) } }
  /// `pruneIndex` as a flat table, for the lookup of every n-gram of a pruned model.
  var prunedRows: PrunedRows
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
  /// `hash % bucket` for the char n-grams, without a division (`BucketModulus`).
  let bucketModulus: BucketModulus
  public let minn: Int32
  public let maxn: Int32
  /// Word `id`'s input rows: itself, then its char n-grams.
  func subwords(_ id: Int) -> ArraySlice<Int32> { subwordRows[Int(subwordStart[id])..<Int(subwordStart[id + 1])] }
  static let eos = Array("</s>".utf8)

  /// Whether `p[start..<end]` is the text `</s>`.
  @inline(__always)
  static func isEOSText(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
    end - start == 4 && p[start] == 0x3C && p[start + 1] == 0x2F && p[start + 2] == 0x73 && p[start + 3] == 0x3E
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
    self.prunedRows = PrunedRows(pruneIndex)
    self.bucket = bucket
    self.bucketModulus = BucketModulus(UInt32(bitPattern: max(bucket, 1)))
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
      guard let kept = prunedRows[id] else { return }
      row = kept
    }
    out.append(Int32(nwords) + row)
  }

  /// The char n-gram rows of `word` ("<word>", minn…maxn characters, by start then length).
  func charNgrams(_ word: [UInt8], into out: inout [Int32]) {
    var scratch: [UInt8] = []
    word.withUnsafeBufferPointer { w in appendCharNgramRows(w, scratch: &scratch, into: &out) }
  }

  /// Appends the char n-gram rows of `word` to `out`, in `charNgrams`' order; `scratch` holds
  /// "<word>" (reused from call to call).
  @inline(__always)
  func appendCharNgramRows(_ word: UnsafeBufferPointer<UInt8>, scratch w: inout [UInt8], into out: inout [Int32]) {
    guard maxn > 0, bucket > 0 else { return }
    w.removeAll(keepingCapacity: true)
    w.append(UInt8(ascii: "<"))
    w.append(contentsOf: word)
    w.append(UInt8(ascii: ">"))
    // Every index below is kept under n by the loop conditions.
    w.withUnsafeBufferPointer { wb in
      let w = wb.baseAddress!
      let n = wb.count
      var i = 0
      while i < n {
        if w[i] & 0xC0 == 0x80 {
          i += 1
          continue
        }
        var j = i
        var chars: Int32 = 1
        // FNV-1a goes byte by byte, so the hash of w[i..<j] continues that of the shorter
        // n-gram from the same start: each byte is hashed once per start, not once per n-gram.
        var h: UInt32 = 2_166_136_261
        while j < n && chars <= maxn {
          let from = j
          j += 1
          while j < n && w[j] & 0xC0 == 0x80 { j += 1 }
          for k in from..<j {
            h ^= UInt32(bitPattern: Int32(Int8(bitPattern: w[k])))
            h = h &* 16_777_619
          }
          if chars >= minn && !(chars == 1 && (i == 0 || j == n)) {
            push(Int32(bitPattern: bucketModulus.remainder(h)), into: &out)
          }
          chars += 1
        }
        i += 1
      }
    }
  }

  /// One token of a line (`p[start..<end]`, or `(-1, -1)` for a newline's `</s>`) as
  /// `Dictionary::getLine` (supervised) reads it: a word's rows (itself and its subwords, or
  /// the char n-grams of an unknown word) are appended to `rows`, and its hash is returned for
  /// the word n-grams; a label adds no rows, its index goes to `labels` when it is known, and
  /// nil is returned.
  @inline(__always)
  func appendTokenRows(
    _ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, labelPrefix: [UInt8], rows: inout [Int32],
    labels: inout [Int32], scratch: inout [UInt8]
  ) -> Int32? {
    let isEOS = start < 0
    let h = isEOS ? Self.eosHash : Self.hash(p.baseAddress! + start, end - start)
    let wid = isEOS ? eosID : id(p, start, end, hash: h)
    let isLabel: Bool
    if let wid {
      isLabel = isLabelID[Int(wid)]
    } else {
      isLabel = !isEOS && end - start >= labelPrefix.count && Self.equal(labelPrefix, p, start)
    }
    if isLabel {
      if let wid { labels.append(wid - Int32(nwords)) }
      return nil
    }
    if let wid {
      if maxn <= 0 { rows.append(wid) } else { rows += subwords(Int(wid)) }
    } else if !isEOS && !Self.isEOSText(p, start, end) {
      appendCharNgramRows(UnsafeBufferPointer(rebasing: p[start..<end]), scratch: &scratch, into: &rows)
    }
    return Int32(bitPattern: h)
  }

  /// Appends the word n-gram rows that start at word `i` of a line's word hashes, in
  /// `getLine`'s order (all of a line's, for `i` from 0 up).
  @inline(__always)
  func appendWordNgramRows(_ hashes: UnsafeBufferPointer<Int32>, startingAt i: Int, wordNgrams: Int, into out: inout [Int32]) {
    var h = UInt64(bitPattern: Int64(hashes[i]))
    var j = i + 1
    while j < hashes.count && j < i + wordNgrams {
      h = h &* 116_049_371 &+ UInt64(bitPattern: Int64(hashes[j]))
      push(Int32(truncatingIfNeeded: h % UInt64(bucket)), into: &out)
      j += 1
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
    var scratch: [UInt8] = []
    for (start, end) in tokens {
      if let h = appendTokenRows(p, start, end, labelPrefix: labelPrefix, rows: &words, labels: &labels, scratch: &scratch) {
        hashes.append(h)
      }
    }
    guard wordNgrams > 1, bucket > 0 else { return }
    hashes.withUnsafeBufferPointer { h in
      for i in 0..<h.count { appendWordNgramRows(h, startingAt: i, wordNgrams: wordNgrams, into: &words) }
    }
  }
}

/// x % d for a fixed 32-bit divisor d ≥ 1, exactly, by two multiplications instead of a
/// division (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019: with
/// M = ⌊(2⁶⁴ − 1) / d⌋ + 1, x % d is the high 64 bits of (M·x mod 2⁶⁴)·d, for every 32-bit x
/// and d). A char n-gram's bucket is one such remainder, and the division's latency was the
/// largest single cost of reading a subword model's input.
struct BucketModulus: Sendable {
  let divisor: UInt64
  let multiplier: UInt64

  init(_ d: UInt32) {
    precondition(d >= 1, "a modulus of 0")
    divisor = UInt64(d)
    // For d = 1 the sum wraps to 0, and every remainder is 0, as it should be.
    multiplier = UInt64.max / UInt64(d) &+ 1
  }

  @inline(__always)
  func remainder(_ x: UInt32) -> UInt32 {
    let low = multiplier &* UInt64(x)
    return UInt32(truncatingIfNeeded: low.multipliedFullWidth(by: divisor).high)
  }
}

/// The kept buckets of a pruned dictionary (bucket → row), by open addressing on a
/// multiplicative hash: a lookup per n-gram, cheaper than a `Dictionary`'s hashing.
struct PrunedRows: Sendable {
  private var keys: [Int32] = []
  private var values: [Int32] = []
  private var shift: UInt32 = 32
  /// Row per bucket (-1: pruned), indexed directly, when the largest kept bucket is small
  /// enough for a table of every bucket up to it (4 bytes each, at most 16 MiB): one read
  /// per n-gram instead of a probe of two arrays. Empty otherwise.
  private var direct: [Int32] = []
  static let directLimit = 1 << 22

  init(_ index: [Int32: Int32]) {
    guard !index.isEmpty else { return }
    if let top = index.keys.max(), top >= 0, Int(top) < Self.directLimit {
      direct = [Int32](repeating: -1, count: Int(top) + 1)
      for (k, v) in index where k >= 0 { direct[Int(k)] = v }
      return
    }
    var bits: UInt32 = 4
    while (1 << bits) < 2 * index.count { bits += 1 }
    shift = 32 - bits
    keys = [Int32](repeating: -1, count: 1 << bits)
    values = [Int32](repeating: 0, count: 1 << bits)
    for (k, v) in index where k >= 0 {
      var i = slot(k)
      while keys[i] >= 0 { i = (i + 1) & (keys.count - 1) }
      keys[i] = k
      values[i] = v
    }
  }

  /// The first slot to probe for `key` (Fibonacci hashing: the multiply is meant to wrap).
  @inline(__always)
  private func slot(_ key: Int32) -> Int { Int((UInt32(bitPattern: key) &* 0x9E37_79B9) >> shift) }

  /// The row of bucket `key` (≥ 0), or nil when pruning dropped it.
  @inline(__always)
  subscript(_ key: Int32) -> Int32? {
    if !direct.isEmpty {
      guard key >= 0, Int(key) < direct.count else { return nil }
      let row = direct[Int(key)]
      return row < 0 ? nil : row
    }
    guard !keys.isEmpty else { return nil }
    return keys.withUnsafeBufferPointer { k in
      // Masked indices: every probe lies inside the table, which always has an empty slot.
      let mask = k.count - 1
      var i = slot(key)
      while true {
        let found = k[i]
        if found == key { return values[i] }
        if found < 0 { return nil }
        i = (i + 1) & mask
      }
    }
  }
}

/// A dictionary as a model file stores it, each field checked as it is read. The lookup
/// tables and subword rows (`FastTextDictionary`) are built from it only once the matrices
/// have been checked against it too.
struct StoredDictionary {
  var entries: [FastTextDictionary.Entry]
  var nwords: Int
  var nlabels: Int
  var ntokens: Int64
  var pruneIndexSize: Int64
  var pruneIndex: [Int32: Int32]

  /// The rows the input matrix must have: the words', then one per hash bucket, or per kept
  /// bucket of a pruned dictionary. Int32s added in an Int: no overflow.
  func inputRows(bucket: Int32) -> Int { nwords + (pruneIndexSize < 0 ? Int(bucket) : Int(pruneIndexSize)) }

  func dictionary(_ args: FastTextArgs) -> FastTextDictionary {
    FastTextDictionary(
      entries: entries, nwords: nwords, nlabels: nlabels, ntokens: ntokens, pruneIndexSize: pruneIndexSize,
      pruneIndex: pruneIndex,
      bucket: args.bucket, minn: args.minn, maxn: args.maxn)
  }

  /// The smallest entry: an empty word's NUL, its 8-byte count and its type byte.
  static let minimumEntryBytes = 10
  /// With char n-grams, the subword table may hold this many rows per byte of the model file:
  /// enough for any maxn up to 64 whatever the words (a word of L bytes has at most
  /// (L + 2) · min(maxn, L + 2) n-grams), while a long word with a huge maxn, whose table
  /// would grow with the square of its length, is refused.
  static let subwordRowsPerFileByte = 64

  /// `Dictionary::load`, with every count checked against the bytes left in the file and
  /// against the header before it is used: what the file says about its words must hold for
  /// the lookups and row ids built from them.
  static func read(_ r: inout ModelReader, args: FastTextArgs) throws(FastTextError) -> StoredDictionary {
    let size = Int(try r.int32())
    let nwords = Int(try r.int32())
    let nlabels = Int(try r.int32())
    let ntokens = try r.int64()
    let pruneSize = try r.int64()
    guard size >= 0 else { throw r.error("dictionary size \(size) is negative (dictionary field 'size')") }
    guard nwords >= 0 else { throw r.error("dictionary has \(nwords) words (dictionary field 'nwords')") }
    if args.model == FastTextModelKind.supervised.rawValue {
      guard nlabels >= 1 else {
        throw r.error("dictionary has \(nlabels) labels; a classifier needs one at least (dictionary field 'nlabels')")
      }
    } else {
      guard nlabels >= 0 else { throw r.error("dictionary has \(nlabels) labels (dictionary field 'nlabels')") }
    }
    // Both are Int32s, so the sum cannot overflow an Int.
    guard size == nwords + nlabels else {
      throw r.error("dictionary size \(size) is not nwords \(nwords) + nlabels \(nlabels) (dictionary field 'size')")
    }
    guard ntokens >= 0 else { throw r.error("dictionary has \(ntokens) tokens (dictionary field 'ntokens')") }
    guard pruneSize >= -1 else {
      throw r.error("pruned bucket count \(pruneSize) is below -1 (dictionary field 'pruneidx_size')")
    }
    guard size <= r.remaining / minimumEntryBytes else {
      throw r.error(
        "dictionary of \(size) entries needs at least \(size * minimumEntryBytes) bytes, but \(r.remaining) are left"
          + " (dictionary field 'size')")
    }
    var entries: [FastTextDictionary.Entry] = []
    entries.reserveCapacity(size)
    var wordBytes = 0
    for k in 0..<size {
      let w = try r.cString()
      let c = try r.int64()
      let t = try r.uint8()
      guard t <= 1 else {
        throw r.error("entry \(k) has type \(t), neither word (0) nor label (1) (dictionary field 'type')")
      }
      // Words come first, then labels: a label's index is its id - nwords.
      guard (t == 1) == (k >= nwords) else {
        let text = String(decoding: w, as: UTF8.self)
        let misplaced = t == 1 ? "a label among the words" : "a word among the labels"
        throw r.error(
          "entry \(k) ('\(text)') is \(misplaced); the first nwords \(nwords) entries must be words and the rest labels"
            + " (dictionary field 'type')")
      }
      guard c >= 0 else { throw r.error("entry \(k) has count \(c) (dictionary field 'count')") }
      wordBytes += w.count
      entries.append(FastTextDictionary.Entry(word: w, count: c, isLabel: t == 1))
    }
    // Word offsets are Int32s (`wordStart`).
    guard wordBytes <= Int(Int32.max) else {
      throw r.error("dictionary words take \(wordBytes) bytes, more than 2^31 - 1 (dictionary field 'size')")
    }
    let bucket = Int(args.bucket)
    var prune: [Int32: Int32] = [:]
    if pruneSize > 0 {
      guard pruneSize <= Int64(r.remaining / 8) else {
        throw r.error(
          "\(pruneSize) pruned buckets need 8 bytes each, but \(r.remaining) are left (dictionary field 'pruneidx_size')"
        )
      }
      prune.reserveCapacity(Int(pruneSize))
      for _ in 0..<Int(pruneSize) {
        let from = try r.int32()
        let to = try r.int32()
        guard from >= 0, Int(from) < bucket else {
          throw r.error("pruned bucket \(from) is not in 0..<bucket \(bucket) (dictionary field 'pruneidx')")
        }
        guard to >= 0, Int64(to) < pruneSize else {
          throw r.error(
            "pruned bucket \(from) maps to row \(to), not in 0..<pruneidx_size \(pruneSize) (dictionary field 'pruneidx')"
          )
        }
        guard prune.updateValue(to, forKey: from) == nil else {
          throw r.error("pruned bucket \(from) is listed twice (dictionary field 'pruneidx')")
        }
      }
    }
    if args.maxn > 0 && bucket > 0 && pruneSize != 0 {
      let maxn = Int(args.maxn)
      let budget = min(Int(Int32.max), checkedProduct(r.bytes.count, subwordRowsPerFileByte) ?? Int(Int32.max))
      var total = nwords
      for k in 0..<nwords {
        let chars = entries[k].word.count + 2
        guard let ngrams = checkedProduct(chars, min(maxn, chars)), let sum = checkedSum(total, ngrams), sum <= budget
        else {
          throw r.error(
            "char n-grams of up to maxn \(maxn) characters over these words would need more than \(budget) subword rows"
              + " (header field 'maxn')")
        }
        total = sum
      }
    }
    return StoredDictionary(
      entries: entries, nwords: nwords, nlabels: nlabels, ntokens: ntokens, pruneIndexSize: pruneSize, pruneIndex: prune
    )
  }

  /// What the loss needs of the label counts, to predict and to retrain (quantize -retrain):
  /// hs builds a Huffman tree whose unbuilt nodes weigh 10^15 and walks it recursively; ns
  /// draws negatives from a table of labels with positive counts, other than the target.
  func validateForLoss(_ loss: FastTextLoss, _ r: ModelReader) throws(FastTextError) {
    let counts = (0..<nlabels).map { entries[nwords + $0].count }
    switch loss {
    case .hs:
      for (i, c) in counts.enumerated() where c >= HuffmanTree.unbuiltCount {
        throw r.error("label \(i) has count \(c), not below the hs tree's 10^15 (dictionary field 'count')")
      }
      let depth = HuffmanTree(counts: counts).depth
      guard depth <= HuffmanTree.maximumDepth else {
        throw r.error(
          "the labels' counts make an hs tree \(depth) levels deep, more than \(HuffmanTree.maximumDepth)"
            + " (dictionary field 'count')")
      }
    case .ns:
      guard counts.count(where: { $0 > 0 }) >= 2 else {
        throw r.error("loss ns needs two labels with positive counts (dictionary field 'count')")
      }
    case .softmax, .ova: break
    }
  }
}
