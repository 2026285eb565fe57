import Glibc

/// Counts the tokens of a training file into a dictionary as `Dictionary::readFromFile` does:
/// entries in order of first appearance, then `threshold`: libstdc++'s `std::sort` by type
/// (words first) and count (descending), and the rare words and labels removed.
struct FastTextVocabulary {
  /// fastText prunes the rarest entries while reading once the vocabulary passes 75% of 30 M.
  static let pruneAbove = 22_500_000

  var words: [[UInt8]] = []
  var counts: [Int64] = []
  var isLabel: [Bool] = []
  var hashes: [UInt32] = []
  var slots: [Int32] = [Int32](repeating: -1, count: 1 << 16)
  var ntokens: Int64 = 0
  let labelPrefix: [UInt8]

  init(labelPrefix: [UInt8]) { self.labelPrefix = labelPrefix }

  /// Counts one token (`Dictionary::add`).
  mutating func add(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) {
    ntokens += 1
    let h = FastTextDictionary.hash(UnsafeBufferPointer(rebasing: p[start..<end]))
    let mask = slots.count - 1
    var slot = Int(h) & mask
    let n = end - start
    while true {
      let k = slots[slot]
      if k < 0 { break }
      if hashes[Int(k)] == h && words[Int(k)].count == n && FastTextDictionary.equal(words[Int(k)], p, start) {
        counts[Int(k)] += 1
        return
      }
      slot = (slot + 1) & mask
    }
    let word = Array(p[start..<end])
    slots[slot] = Int32(words.count)
    words.append(word)
    counts.append(1)
    hashes.append(h)
    isLabel.append(word.count >= labelPrefix.count && word.starts(with: labelPrefix))
    if words.count * 2 > slots.count { rehash(capacity: slots.count * 2) }
  }

  mutating func rehash(capacity: Int) {
    slots = [Int32](repeating: -1, count: capacity)
    for k in 0..<words.count {
      var slot = Int(hashes[k]) & (capacity - 1)
      while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
      slots[slot] = Int32(k)
    }
  }

  /// Reads every token of `bytes` (newlines count as `</s>`; no line structure).
  mutating func read(_ bytes: [UInt8], minCount: Int64, minCountLabel: Int64) {
    var reader = FastTextLineReader(bytes)
    var minThreshold: Int64 = 1
    bytes.withUnsafeBufferPointer { p in
      let eos = FastTextDictionary.eos
      eos.withUnsafeBufferPointer { e in
        while let t = reader.readToken() {
          if t == FastTextLineReader.eosToken { add(e, 0, 4) } else { add(p, t.0, t.1) }
          if words.count > Self.pruneAbove {
            minThreshold += 1
            threshold(minThreshold, minThreshold)
          }
        }
      }
    }
    threshold(minCount, minCountLabel)
  }

  /// `Dictionary::threshold`: sort, then drop words under `t` and labels under `tl`.
  mutating func threshold(_ t: Int64, _ tl: Int64) {
    var order = [Int32](0..<Int32(words.count))
    let counts = self.counts
    let isLabel = self.isLabel
    order.withUnsafeMutableBufferPointer { o in
      LibstdcxxSort.sort(o) { a, b in
        let la = isLabel[Int(a)]
        let lb = isLabel[Int(b)]
        if la != lb { return !la }
        return counts[Int(a)] > counts[Int(b)]
      }
    }
    let kept = order.filter { k in isLabel[Int(k)] ? counts[Int(k)] >= tl : counts[Int(k)] >= t }
    words = kept.map { words[Int($0)] }
    self.counts = kept.map { counts[Int($0)] }
    self.isLabel = kept.map { isLabel[Int($0)] }
    hashes = kept.map { hashes[Int($0)] }
    var capacity = 1 << 16
    while capacity < 2 * words.count + 1 { capacity <<= 1 }
    rehash(capacity: capacity)
  }

  func dictionary(bucket: Int32, minn: Int32, maxn: Int32) -> FastTextDictionary {
    let entries = (0..<words.count).map { FastTextDictionary.Entry(word: words[$0], count: counts[$0], isLabel: isLabel[$0]) }
    let nlabels = isLabel.count(where: { $0 })
    return FastTextDictionary(
      entries: entries, nwords: entries.count - nlabels, nlabels: nlabels, ntokens: ntokens, pruneIndexSize: -1, pruneIndex: [:],
      bucket: bucket, minn: minn, maxn: maxn)
  }
}
