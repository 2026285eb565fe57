// Byte-pair encoding of one pre-token: the model behind GPT-2, Llama 3, cl100k and o200k.
//
// The pre-token starts as one symbol per unit — per byte for byte-level models (every model
// here whose pre-tokenizer ends in ByteLevel, and every tiktoken file), per character for
// character-level ones — and the adjacent pair with the lowest merge rank is merged until no
// pair has a rank; among equal ranks the leftmost goes first. That is `tokenizers`' `merge_all`
// (a queue ordered by rank, then position) and `tiktoken`'s `_byte_pair_merge` (lowest rank,
// first found) alike. A tiktoken file has no merge list: the rank of a pair is the rank of the
// token its bytes make, so the pair table is built from every split of every token.

import CXXHash

/// Token byte strings and their ids, in one open-addressing table over a byte arena.
struct ByteStringTable: Sendable {
  private var slots: [UInt64]  // (offset << 24 | length) + 1; 0 is empty
  private var ids: [UInt32]
  private var arena: [UInt8] = []
  private var mask: Int
  private(set) var count = 0
  /// The largest id stored.
  private(set) var maxID: UInt32? = nil

  init(capacity: Int) {
    var n = 16
    while n < capacity * 2 { n <<= 1 }
    slots = [UInt64](repeating: 0, count: n)
    ids = [UInt32](repeating: 0, count: n)
    mask = n - 1
  }

  @inline(__always)
  static func hash(_ p: UnsafeRawPointer?, _ n: Int) -> UInt64 { XXH3_64bits(p, n) }

  /// Inserts or replaces.
  mutating func set(_ key: [UInt8], _ id: UInt32) {
    precondition(key.count < 1 << 24)
    maxID = max(maxID ?? id, id)
    if (count + 1) * 2 > slots.count { grow() }
    let h = key.withUnsafeBytes { Self.hash($0.baseAddress, $0.count) }
    var s = Int(truncatingIfNeeded: h) & mask
    while slots[s] != 0 {
      if equal(slots[s], key) {
        ids[s] = id
        return
      }
      s = (s + 1) & mask
    }
    slots[s] = UInt64(arena.count) << 24 | UInt64(key.count) + 1
    arena += key
    ids[s] = id
    count += 1
  }

  private func equal(_ slot: UInt64, _ key: [UInt8]) -> Bool {
    let v = slot - 1
    let len = Int(v & 0xFFFFFF)
    guard len == key.count else { return false }
    let off = Int(v >> 24)
    for k in 0..<len where arena[off + k] != key[k] { return false }
    return true
  }

  private mutating func grow() {
    let old = (slots, ids)
    let n = slots.count * 2
    slots = [UInt64](repeating: 0, count: n)
    ids = [UInt32](repeating: 0, count: n)
    mask = n - 1
    arena.withUnsafeBufferPointer { a in
      for (k, slot) in old.0.enumerated() where slot != 0 {
        let v = slot - 1
        let len = Int(v & 0xFFFFFF)
        let off = Int(v >> 24)
        let h = Self.hash(a.baseAddress! + off, len)
        var s = Int(truncatingIfNeeded: h) & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        slots[s] = slot
        ids[s] = old.1[k]
      }
    }
  }

  /// The id of `key`, or nil.
  @inline(__always)
  func find(_ key: UnsafeBufferPointer<UInt8>) -> UInt32? {
    let h = Self.hash(key.baseAddress, key.count)
    var s = Int(truncatingIfNeeded: h) & mask
    return arena.withUnsafeBufferPointer { a -> UInt32? in
      while true {
        let slot = slots[s]
        if slot == 0 { return nil }
        let v = slot - 1
        let len = Int(v & 0xFFFFFF)
        if len == key.count {
          let off = Int(v >> 24)
          if len == 0 || memcmpBytes(a.baseAddress! + off, key.baseAddress!, len) { return ids[s] }
        }
        s = (s + 1) & mask
      }
    }
  }
}

@inline(__always)
func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
  var k = 0
  while k + 8 <= n {
    if UnsafeRawPointer(a + k).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + k).loadUnaligned(as: UInt64.self) {
      return false
    }
    k += 8
  }
  while k < n {
    if a[k] != b[k] { return false }
    k += 1
  }
  return true
}

/// Merge rules: the pair (left id, right id) → (rank, merged id), open addressing.
struct PairTable: Sendable {
  private var keys: [UInt64]
  private var values: [UInt64]
  private var mask: Int
  private(set) var count = 0
  private static let empty = UInt64.max

  init(capacity: Int) {
    var n = 16
    while n < capacity * 2 { n <<= 1 }
    keys = [UInt64](repeating: Self.empty, count: n)
    values = [UInt64](repeating: 0, count: n)
    mask = n - 1
  }

  @inline(__always)
  private static func slot(_ key: UInt64, _ mask: Int) -> Int {
    Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
  }

  /// Sets the rule for a pair; `keepFirst` keeps an existing one (tiktoken: the lowest rank
  /// is inserted first).
  mutating func set(_ left: UInt32, _ right: UInt32, rank: UInt32, merged: UInt32, keepFirst: Bool = false) {
    if (count + 1) * 2 > keys.count { grow() }
    let key = UInt64(left) << 32 | UInt64(right)
    var s = Self.slot(key, mask)
    while keys[s] != Self.empty {
      if keys[s] == key {
        if !keepFirst { values[s] = UInt64(rank) << 32 | UInt64(merged) }
        return
      }
      s = (s + 1) & mask
    }
    keys[s] = key
    values[s] = UInt64(rank) << 32 | UInt64(merged)
    count += 1
  }

  private mutating func grow() {
    let old = (keys, values)
    let n = keys.count * 2
    keys = [UInt64](repeating: Self.empty, count: n)
    values = [UInt64](repeating: 0, count: n)
    mask = n - 1
    for (k, key) in old.0.enumerated() where key != Self.empty {
      var s = Self.slot(key, mask)
      while keys[s] != Self.empty { s = (s + 1) & mask }
      keys[s] = key
      values[s] = old.1[k]
    }
  }

  /// (rank << 32 | merged id) of the pair, or UInt64.max when the pair does not merge.
  @inline(__always)
  func find(_ left: UInt32, _ right: UInt32) -> UInt64 {
    let key = UInt64(left) << 32 | UInt64(right)
    var s = Self.slot(key, mask)
    return keys.withUnsafeBufferPointer { k in
      while true {
        let x = k[s]
        if x == key { return values[s] }
        if x == Self.empty { return UInt64.max }
        s = (s + 1) & mask
      }
    }
  }
}

/// A byte-pair model: the vocabulary of units and tokens, the merge rules, and what to do with
/// a unit the vocabulary lacks.
public final class BytePairModel: Sendable {
  /// How a pre-token is cut into initial symbols.
  public enum Units: Sendable {
    /// One symbol per byte (byte-level BPE, tiktoken).
    case bytes
    /// One symbol per UTF-8 character.
    case characters
  }

  let units: Units
  /// Token bytes (raw bytes for byte-level models, UTF-8 otherwise) → id.
  let tokens: ByteStringTable
  let pairs: PairTable
  /// Id of each single byte (byte-level), or -1.
  let byteIDs: [Int64]
  /// `<0xXX>` ids for byte fallback, or -1.
  let fallbackIDs: [Int64]
  let byteFallback: Bool
  let unknownID: UInt32?
  let fuseUnknown: Bool
  /// A pre-token that is itself a token is emitted whole (tokenizers' `ignore_merges`, always
  /// in tiktoken).
  let wholeTokenFirst: Bool

  init(
    units: Units, tokens: ByteStringTable, pairs: PairTable, byteFallback: Bool, unknownID: UInt32?,
    fuseUnknown: Bool, wholeTokenFirst: Bool
  ) {
    self.units = units
    self.tokens = tokens
    self.pairs = pairs
    self.byteFallback = byteFallback
    self.unknownID = unknownID
    self.fuseUnknown = fuseUnknown
    self.wholeTokenFirst = wholeTokenFirst
    var byteIDs = [Int64](repeating: -1, count: 256)
    var fallback = [Int64](repeating: -1, count: 256)
    for b in 0..<256 {
      if let id = [UInt8(b)].withUnsafeBufferPointer({ tokens.find($0) }) { byteIDs[b] = Int64(id) }
      let name = Array("<0x\(String(b, radix: 16, uppercase: true).leftPadded(2))>".utf8)
      if let id = name.withUnsafeBufferPointer({ tokens.find($0) }) { fallback[b] = Int64(id) }
    }
    self.byteIDs = byteIDs
    self.fallbackIDs = fallback
  }

  /// Appends the ids of `piece` (one pre-token) to `out`.
  func encode(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [UInt32], scratch: inout MergeScratch) {
    let n = piece.count
    if n == 0 { return }
    if wholeTokenFirst, let id = tokens.find(piece) {
      out.append(id)
      return
    }
    scratch.symbols.removeAll(keepingCapacity: true)
    switch units {
    case .bytes:
      if n == 1, byteIDs[Int(piece[0])] >= 0 {
        out.append(UInt32(byteIDs[Int(piece[0])]))
        return
      }
      for k in 0..<n {
        let id = byteIDs[Int(piece[k])]
        if id >= 0 {
          scratch.symbols.append(UInt32(id))
        } else {
          unknown(UnsafeBufferPointer(rebasing: piece[k..<k + 1]), &scratch.symbols)
        }
      }
    case .characters:
      var k = 0
      while k < n {
        let b0 = piece[k]
        let len = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
        let ch = UnsafeBufferPointer(rebasing: piece[k..<min(n, k + len)])
        if let id = tokens.find(ch) {
          scratch.symbols.append(id)
        } else {
          unknown(ch, &scratch.symbols)
        }
        k += len
      }
    }
    scratch.merge(pairs)
    out.append(contentsOf: scratch.symbols)
  }

  /// A unit the vocabulary lacks: its bytes as `<0xXX>` tokens (byte fallback, when all exist),
  /// else the unknown token (consecutive ones fused when asked), else nothing — as
  /// `tokenizers` does.
  private func unknown(_ unit: UnsafeBufferPointer<UInt8>, _ symbols: inout [UInt32]) {
    if byteFallback, unit.allSatisfy({ fallbackIDs[Int($0)] >= 0 }) {
      for b in unit { symbols.append(UInt32(fallbackIDs[Int(b)]) | MergeScratch.noMergeBit) }
      return
    }
    guard let unk = unknownID else { return }
    if fuseUnknown, let last = symbols.last, last == unk | MergeScratch.noMergeBit { return }
    symbols.append(unk | MergeScratch.noMergeBit)
  }

  /// The largest id the model can emit, plus one.
  var idBound: Int {
    var m = 0
    for v in byteIDs where v >= 0 { m = max(m, Int(v) + 1) }
    return m
  }
}

extension String {
  fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// The merge loop's working memory, reused across pre-tokens.
struct MergeScratch {
  /// Symbols of the current pre-token. A symbol with `noMergeBit` set (an unknown or byte
  /// fallback token) never merges.
  var symbols: [UInt32] = []
  static let noMergeBit: UInt32 = 1 << 31
  private var ranks: [UInt64] = []
  private var next: [Int32] = []
  private var prev: [Int32] = []
  private var heap: [(UInt64, Int32)] = []

  mutating func merge(_ pairs: PairTable) {
    let n = symbols.count
    if n >= 2 {
      if n <= 48 { mergeSmall(pairs) } else { mergeLarge(pairs) }
    }
    for k in 0..<symbols.count { symbols[k] &= ~Self.noMergeBit }
  }

  @inline(__always)
  private static func rule(_ pairs: PairTable, _ a: UInt32, _ b: UInt32) -> UInt64 {
    if (a | b) & noMergeBit != 0 { return UInt64.max }
    return pairs.find(a, b)
  }

  /// Short pre-tokens: rescan for the lowest rank after each merge (tiktoken's way).
  private mutating func mergeSmall(_ pairs: PairTable) {
    ranks.removeAll(keepingCapacity: true)
    for k in 0..<(symbols.count - 1) { ranks.append(Self.rule(pairs, symbols[k], symbols[k + 1])) }
    while true {
      var best = UInt64.max
      var at = -1
      for k in 0..<ranks.count where ranks[k] < best {
        best = ranks[k]
        at = k
      }
      if at < 0 { return }
      symbols[at] = UInt32(truncatingIfNeeded: best)
      symbols.remove(at: at + 1)
      ranks.remove(at: at)
      if at > 0 { ranks[at - 1] = Self.rule(pairs, symbols[at - 1], symbols[at]) }
      if at < ranks.count { ranks[at] = Self.rule(pairs, symbols[at], symbols[at + 1]) }
    }
  }

  /// Long pre-tokens: a linked list and a queue ordered by (rank, position), as `tokenizers`
  /// does, so that a long run of unbroken text costs n log n, not n².
  private mutating func mergeLarge(_ pairs: PairTable) {
    let n = symbols.count
    next.removeAll(keepingCapacity: true)
    prev.removeAll(keepingCapacity: true)
    heap.removeAll(keepingCapacity: true)
    for k in 0..<n {
      next.append(k + 1 < n ? Int32(k + 1) : -1)
      prev.append(Int32(k - 1))
    }
    for k in 0..<(n - 1) {
      let r = Self.rule(pairs, symbols[k], symbols[k + 1])
      if r != UInt64.max { push((r, Int32(k))) }
    }
    while let (r, pos) = pop() {
      let p = Int(pos)
      // Stale entries: the left symbol was merged away, or its pair changed.
      if symbols[p] == UInt32.max { continue }
      let q = Int(next[p])
      if q < 0 { continue }
      if Self.rule(pairs, symbols[p], symbols[q]) != r { continue }
      symbols[p] = UInt32(truncatingIfNeeded: r)
      symbols[q] = UInt32.max
      let nq = next[q]
      next[p] = nq
      if nq >= 0 { prev[Int(nq)] = Int32(p) }
      let pp = prev[p]
      if pp >= 0 {
        let r2 = Self.rule(pairs, symbols[Int(pp)], symbols[p])
        if r2 != UInt64.max { push((r2, pp)) }
      }
      if nq >= 0 {
        let r2 = Self.rule(pairs, symbols[p], symbols[Int(nq)])
        if r2 != UInt64.max { push((r2, Int32(p))) }
      }
    }
    var w = 0
    for k in 0..<n where symbols[k] != UInt32.max {
      symbols[w] = symbols[k]
      w += 1
    }
    symbols.removeSubrange(w...)
  }

  // A binary min-heap on (rank << 32 | id, position): rank first, then the leftmost position.
  @inline(__always)
  private static func less(_ a: (UInt64, Int32), _ b: (UInt64, Int32)) -> Bool {
    let ra = a.0 >> 32
    let rb = b.0 >> 32
    return ra != rb ? ra < rb : a.1 < b.1
  }

  private mutating func push(_ e: (UInt64, Int32)) {
    heap.append(e)
    var k = heap.count - 1
    while k > 0 {
      let parent = (k - 1) >> 1
      if !Self.less(heap[k], heap[parent]) { break }
      heap.swapAt(k, parent)
      k = parent
    }
  }

  private mutating func pop() -> (UInt64, Int32)? {
    guard let top = heap.first else { return nil }
    let last = heap.removeLast()
    if !heap.isEmpty {
      heap[0] = last
      var k = 0
      let n = heap.count
      while true {
        let l = 2 * k + 1
        if l >= n { break }
        var m = l
        if l + 1 < n, Self.less(heap[l + 1], heap[l]) { m = l + 1 }
        if !Self.less(heap[m], heap[k]) { break }
        heap.swapAt(k, m)
        k = m
      }
    }
    return top
  }
}

/// Replaces ill-formed UTF-8 with U+FFFD as Python's `bytes.decode("utf-8", "replace")` does:
/// one U+FFFD per maximal ill-formed subpart (a valid lead byte and the continuation bytes that
/// were valid so far count as one). Returns nil when `text` is already valid.
public func pythonReplacingInvalidUTF8(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
  var i = 0
  let n = text.count
  var out: [UInt8]? = nil
  var copied = 0
  while i < n {
    let b0 = text[i]
    if b0 < 0x80 {
      i += 1
      continue
    }
    var need = 0
    var lo: UInt8 = 0x80
    var hi: UInt8 = 0xBF
    switch b0 {
    case 0xC2...0xDF: need = 1
    case 0xE0: need = 2; lo = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: need = 2
    case 0xED: need = 2; hi = 0x9F
    case 0xF0: need = 3; lo = 0x90
    case 0xF1...0xF3: need = 3
    case 0xF4: need = 3; hi = 0x8F
    default: need = -1
    }
    var valid = need > 0
    var k = 1
    if valid {
      while k <= need {
        guard i + k < n else { valid = false; break }
        let c = text[i + k]
        let (l, h) = k == 1 ? (lo, hi) : (UInt8(0x80), UInt8(0xBF))
        guard c >= l && c <= h else { valid = false; break }
        k += 1
      }
    }
    if valid {
      i += need + 1
      continue
    }
    if out == nil { out = [] ; out!.reserveCapacity(n + 16) }
    out!.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<i]))
    out!.append(contentsOf: [0xEF, 0xBF, 0xBD])
    i += need < 0 ? 1 : k
    copied = i
  }
  guard var result = out else { return nil }
  result.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<n]))
  return result
}
