import Glibc
import WinnowCore
import WinnowText

/// A growable list of plain values in memory managed by hand, so that hot loops read and
/// write it through a pointer, without the checks of an array; its owner frees it. Memory
/// reserved but not written is not resident.
struct RawList<T> {
  private(set) var base: UnsafeMutablePointer<T>
  private(set) var capacity: Int
  var count = 0

  init(capacity: Int = 16) {
    self.capacity = max(capacity, 1)
    base = .allocate(capacity: self.capacity)
  }

  func free() { base.deallocate() }

  /// Room for `n` values, keeping the first `count`.
  mutating func reserve(_ n: Int) {
    guard let grown = HandManagedMemory.grown(base, capacity: capacity, keeping: count, toHold: n) else { return }
    (base, capacity) = grown
  }

  /// Empty, with room for `n` values: the memory is kept unless it is far more than that.
  mutating func reset(capacity n: Int) {
    count = 0
    if capacity > max(4 * n, 1 << 16) {
      base.deallocate()
      capacity = max(n, 16)
      base = .allocate(capacity: capacity)
    }
    reserve(n)
  }

  @inline(__always) mutating func append(_ v: T) {
    if count == capacity { reserve(count + 1) }
    (base + count).initialize(to: v)
    count &+= 1
  }

  @inline(__always) subscript(i: Int) -> T {
    get { base[i] }
    nonmutating set { base[i] = newValue }
  }
}

/// One document's words as ids, for counting n-grams in memory proportional to the number of
/// words, never to the n-grams' text: each word is the index (`I`, 32 bits for texts under
/// 4 GiB) of its distinct word, whose first occurrence, byte length, length in code points,
/// count and byte hash are kept once.
struct WordIDs<I: FixedWidthInteger & UnsignedInteger> {
  /// Per word: its distinct word's index.
  private var ids = RawList<I>()
  /// Per distinct word: where it first occurs, its bytes, code points, occurrences and hash.
  private var start = RawList<I>()
  private var length = RawList<I>()
  private var chars = RawList<I>()
  private var occurrences = RawList<I>()
  private var hash = RawList<UInt64>()
  /// Per distinct word: a quick hash of its bytes (`quickHash`), what the table is keyed by.
  /// The byte hash above must be computed byte after byte; it is, once per distinct word.
  private var quick = RawList<UInt64>()
  /// Room in all six per-distinct-word lists above. While words are interned only `hash`
  /// counts the distinct words; the others' counts are brought level before any of them grows
  /// (`makeRoom`) and when the load ends, so that a new word is six stores and one check.
  private var distinctRoom = 0
  /// How many bytes of text the words lie in: 8 bytes can be read at once below it.
  private(set) var textEnd = 0
  /// Open addressing over the distinct words: index + 1, 0 for an empty slot.
  private var slots = RawList<I>()
  private var shift: UInt64 = 64
  private var wordsHaveSpaces = false
  private var totalChars = 0
  /// Frees the memory (the owner calls it once, when it goes away).
  func free() {
    for list in [ids, start, length, chars, occurrences, slots] { list.free() }
    hash.free()
    quick.free()
  }

  /// Streams the document's words into ids.
  mutating func load(_ doc: Document, _ tokenizer: inout WordTokenizer, _ p: UnsafePointer<UInt8>) {
    // A word takes a byte at least: reserved (not touched) up front, the ids never move while
    // growing, which would hold them twice.
    reset(words: doc.text.count)
    textEnd = doc.text.count
    doc.forEachWordBatch(&tokenizer) { batch in
      for r in batch { intern(p, r) }
    }
    levelCounts()
  }

  /// Words given as byte ranges of `p` (tests give words that a tokenizer would not).
  mutating func load(_ p: UnsafePointer<UInt8>, words: [Range<Int>]) {
    reset(words: words.count)
    textEnd = words.map(\.upperBound).max() ?? 0
    for r in words { intern(p, r) }
    levelCounts()
  }

  /// Sets the per-distinct-word lists' counts to `hash`'s (see `distinctRoom`).
  private mutating func levelCounts() {
    let n = hash.count
    start.count = n
    length.count = n
    chars.count = n
    occurrences.count = n
    quick.count = n
  }

  /// The smallest capacity of the six per-distinct-word lists.
  private var roomInAllLists: Int {
    min(start.capacity, length.capacity, chars.capacity, occurrences.capacity, hash.capacity, quick.capacity)
  }

  /// Room for at least one more distinct word in each list.
  @inline(never)
  private mutating func makeRoom() {
    levelCounts()
    let n = hash.count &+ 1
    start.reserve(n)
    length.reserve(n)
    chars.reserve(n)
    occurrences.reserve(n)
    hash.reserve(n)
    quick.reserve(n)
    distinctRoom = roomInAllLists
  }

  private mutating func reset(words: Int) {
    ids.reset(capacity: words)
    // Room for a text's distinct words, about (the lists and the table grow when they are more).
    let distinct = min(max(words / 4, 16), 1 << 16)
    start.reset(capacity: distinct)
    length.reset(capacity: distinct)
    chars.reset(capacity: distinct)
    occurrences.reset(capacity: distinct)
    hash.reset(capacity: distinct)
    quick.reset(capacity: distinct)
    distinctRoom = roomInAllLists
    wordsHaveSpaces = false
    totalChars = 0
    // The table starts small and doubles as distinct words come: sized for the text's bytes
    // it was twice their size, zeroed for each text and probed at random, out of the nearest
    // cache for long texts, whose distinct words are far fewer than a quarter of their bytes.
    resetSlots(capacity: min(2 * distinct, 1024))
  }

  private mutating func resetSlots(capacity: Int) {
    var cap = 16
    var bits: UInt64 = 4
    while cap < capacity {
      cap <<= 1
      bits += 1
    }
    slots.reset(capacity: cap)
    slots.base.initialize(repeating: 0, count: cap)
    slots.count = cap
    shift = 64 - bits
  }

  @inline(__always)
  static func home(_ h: UInt64, _ shift: UInt64) -> Int {
    Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  /// A hash of the `len` bytes at `p + from` for the table, eight bytes at a time (reading
  /// whole words of memory only below `end`).
  @inline(__always)
  static func quickHash(_ p: UnsafePointer<UInt8>, _ from: Int, _ len: Int, _ end: Int) -> UInt64 {
    var h = UInt64(truncatingIfNeeded: len) &* 0x9E37_79B9_7F4A_7C15
    var i = from
    var n = len
    let raw = UnsafeRawPointer(p)
    while n >= 8 {
      h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
      h ^= h >> 29
      i &+= 8
      n &-= 8
    }
    if n > 0 {
      var t: UInt64 = 0
      if i &+ 8 <= end {
        t = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & ((1 << UInt64(n &* 8)) &- 1)
      } else {
        for j in 0..<n { t |= UInt64(p[i &+ j]) << UInt64(j &* 8) }
      }
      h = (h ^ t) &* 0xC4CE_B9FE_1A85_EC53
    }
    return h ^ (h >> 32)
  }

  /// Appends the id of the word `p[r]`, adding it to the distinct words when new. An
  /// occurrence of a known word costs a quick hash, a probe and a comparison; its byte hash,
  /// code points and spaces are worked out once, when the word is new.
  @inline(__always)
  private mutating func intern(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) {
    let len = r.count
    let q = Self.quickHash(p, r.lowerBound, len, textEnd)
    let table = slots.base
    let mask = slots.count &- 1
    var s = Self.home(q, shift)
    while true {
      let e = Int(truncatingIfNeeded: table[s])
      if e == 0 {
        // The byte hash two bytes per step (h·B² + (x+1)·B + (y+1), the same value as byte
        // by byte): its chain of multiplications is what a new word waits on.
        let B = RollingHash.base
        let B2 = B &* B
        var h: UInt64 = 0
        var i = r.lowerBound
        if len & 1 == 1 {
          h = UInt64(p[i]) &+ 1
          i &+= 1
        }
        while i < r.upperBound {
          h = h &* B2 &+ (UInt64(p[i]) &+ 1) &* B &+ (UInt64(p[i &+ 1]) &+ 1)
          i &+= 2
        }
        // UTF-8 continuation bytes (10xxxxxx) and spaces, eight bytes at a time where whole
        // words of memory can be read (below textEnd), the bytes past the word masked off.
        var continuation = 0
        var spaces = false
        var k = r.lowerBound
        let raw = UnsafeRawPointer(p)
        while k < r.upperBound {
          let left = r.upperBound &- k
          let keep: UInt64 = left >= 8 ? ~0 : (1 << UInt64(left &* 8)) &- 1
          var v: UInt64 = 0
          if k &+ 8 <= textEnd {
            v = raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)
          } else {
            for j in 0..<Swift.min(left, 8) { v |= UInt64(p[k &+ j]) << UInt64(j &* 8) }
          }
          // One bit per continuation byte, summed by a multiplication (the baseline x86-64
          // target has no population count instruction).
          let marks = (v & ~(v << 1) & 0x8080_8080_8080_8080 & keep) >> 7
          continuation &+= Int(truncatingIfNeeded: (marks &* 0x0101_0101_0101_0101) >> 56)
          // A byte of x is zero where v has a space; bytes past the word are made 0xFF.
          let x = (v ^ 0x2020_2020_2020_2020) | ~keep
          if (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080 != 0 { spaces = true }
          k &+= 8
        }
        let c = len &- continuation
        totalChars &+= c
        let id = hash.count
        table[s] = I(truncatingIfNeeded: id &+ 1)
        if id == distinctRoom { makeRoom() }
        start.base[id] = I(truncatingIfNeeded: r.lowerBound)
        length.base[id] = I(truncatingIfNeeded: len)
        chars.base[id] = I(truncatingIfNeeded: c)
        occurrences.base[id] = 1
        hash.base[id] = h
        quick.base[id] = q
        hash.count = id &+ 1
        ids.append(I(truncatingIfNeeded: id))
        if spaces { wordsHaveSpaces = true }
        if (id &+ 1) &* 2 > slots.count { growSlots() }
        return
      }
      let k = e &- 1
      if quick[k] == q && Int(truncatingIfNeeded: length[k]) == len
        && WordView<I>.sameBytes(p, Int(truncatingIfNeeded: start[k]), r.lowerBound, len, within: textEnd)
      {
        occurrences[k] &+= 1
        totalChars &+= Int(truncatingIfNeeded: chars[k])
        ids.append(I(truncatingIfNeeded: k))
        return
      }
      s = (s &+ 1) & mask
    }
  }

  private mutating func growSlots() {
    resetSlots(capacity: slots.count * 2)
    let table = slots.base
    let mask = slots.count &- 1
    for k in 0..<hash.count {
      var s = Self.home(quick[k], shift)
      while table[s] != 0 { s = (s &+ 1) & mask }
      table[s] = I(truncatingIfNeeded: k &+ 1)
    }
  }

  /// Gives back what an outsized document grew, so that small documents after it do not
  /// hold that memory.
  mutating func releaseIfOutsized() {
    ids.reset(capacity: 0)
    start.reset(capacity: 0)
    length.reset(capacity: 0)
    chars.reset(capacity: 0)
    occurrences.reset(capacity: 0)
    slots.reset(capacity: 0)
    slots.count = 0
    hash.reset(capacity: 0)
    quick.reset(capacity: 0)
  }

  /// Calls `body(start, length, occurrences)` for each distinct word, in order of first
  /// occurrence (valid until the next load); returns how many words there are in all.
  func forEachDistinctWord(_ body: (_ start: Int, _ length: Int, _ occurrences: Int) -> Void) -> Int {
    for k in 0..<hash.count {
      body(Int(truncatingIfNeeded: start[k]), Int(truncatingIfNeeded: length[k]), Int(truncatingIfNeeded: occurrences[k]))
    }
    return ids.count
  }

  /// The words, for reading (valid until the next load).
  var view: WordView<I> {
    WordView(
      ids: ids.base, count: ids.count, start: start.base, length: length.base, chars: chars.base,
      occurrences: occurrences.base, hash: hash.base, distinct: hash.count, wordsHaveSpaces: wordsHaveSpaces,
      totalChars: totalChars)
  }
}

/// base^k for k < 4097, where a hot loop reads it without checks. Written once when first
/// used, then only read: safe to share between threads.
nonisolated(unsafe) private let powerTable: UnsafeMutablePointer<UInt64> = {
  let p = UnsafeMutablePointer<UInt64>.allocate(capacity: RollingHash.powers.count)
  p.initialize(from: RollingHash.powers, count: RollingHash.powers.count)
  return p
}()

/// A document's words as `WordIDs` holds them, read through pointers.
struct WordView<I: FixedWidthInteger & UnsignedInteger> {
  let ids: UnsafeMutablePointer<I>
  let count: Int
  let start: UnsafeMutablePointer<I>
  let length: UnsafeMutablePointer<I>
  let chars: UnsafeMutablePointer<I>
  let occurrences: UnsafeMutablePointer<I>
  let hash: UnsafeMutablePointer<UInt64>
  /// How many distinct words there are (the length of the per-distinct-word lists).
  let distinct: Int
  /// Whether a word contains a space (then `" ".join` equality is not word-by-word equality).
  let wordsHaveSpaces: Bool
  /// Code points of all words, without separators.
  let totalChars: Int
  private let powers = UnsafePointer(powerTable)

  init(
    ids: UnsafeMutablePointer<I>, count: Int, start: UnsafeMutablePointer<I>, length: UnsafeMutablePointer<I>,
    chars: UnsafeMutablePointer<I>, occurrences: UnsafeMutablePointer<I>, hash: UnsafeMutablePointer<UInt64>,
    distinct: Int, wordsHaveSpaces: Bool, totalChars: Int
  ) {
    self.ids = ids
    self.count = count
    self.start = start
    self.length = length
    self.chars = chars
    self.occurrences = occurrences
    self.hash = hash
    self.distinct = distinct
    self.wordsHaveSpaces = wordsHaveSpaces
    self.totalChars = totalChars
  }

  @inline(__always) func id(_ i: Int) -> Int { Int(truncatingIfNeeded: ids[i]) }
  @inline(__always) func charsOf(id: Int) -> Int { Int(truncatingIfNeeded: chars[id]) }
  @inline(__always) func lengthOf(id: Int) -> Int { Int(truncatingIfNeeded: length[id]) }

  // MARK: - Lengths

  /// The largest `len(" ".join(words[i:i+n]))` times the count of the rarest of
  /// `words[i..<i+n]`: an n-gram occurs at most as often as each of its words, so with no
  /// spaces in words this is at least the top n-gram's length times its count. (Of a long
  /// n-gram only the first 8 words are looked at: still a bound, and linear in the words.)
  func rarestWordBound(_ n: Int) -> Int {
    let looked = min(n, 8)
    var best = 0
    var window = 0
    for k in 0..<n { window &+= charsOf(id: id(k)) }
    var i = 0
    while true {
      var fewest = occurrences[id(i)]
      for k in 1..<looked {
        let o = occurrences[id(i &+ k)]
        if o < fewest { fewest = o }
      }
      let v = (window &+ n &- 1) &* Int(truncatingIfNeeded: fewest)
      if v > best { best = v }
      guard i &+ n < count else { break }
      window &+= charsOf(id: id(i &+ n)) &- charsOf(id: id(i))
      i &+= 1
    }
    return best
  }

  /// The largest (code points + 1) × occurrences of a distinct word.
  func heaviestWord() -> Int {
    var best = 0
    for k in 0..<distinct {
      let v = (Int(truncatingIfNeeded: chars[k]) &+ 1) &* Int(truncatingIfNeeded: occurrences[k])
      if v > best { best = v }
    }
    return best
  }

  /// The largest `len(" ".join(words[i:i+n]))`.
  func longestNGram(_ n: Int) -> Int {
    var best = 0
    var window = 0
    for k in 0..<n { window &+= charsOf(id: id(k)) }
    var i = 0
    while true {
      if window > best { best = window }
      guard i &+ n < count else { break }
      window &+= charsOf(id: id(i &+ n)) &- charsOf(id: id(i))
      i &+= 1
    }
    return best &+ n &- 1
  }

  /// Code points of words i..<i+n, without separators.
  func chars(_ i: Int, _ n: Int) -> Int {
    var c = 0
    for k in i..<(i &+ n) { c &+= charsOf(id: id(k)) }
    return c
  }

  // MARK: - Window hashes

  @inline(__always)
  private static func mixID(_ x: Int) -> UInt64 {
    let v = (UInt64(truncatingIfNeeded: x) &+ 1) &* 0x9E37_79B9_7F4A_7C15
    return v ^ (v >> 31)
  }

  @inline(__always)
  private func power(_ e: Int) -> UInt64 { e < 4097 ? powers[e] : RollingHash.pow(e) }

  /// The byte hash of a window of words as it slides: concatenated, or joined by spaces.
  struct BytesWindow {
    var hash: UInt64 = 0
    /// Bytes of the window, separators included.
    var length = 0
    var words = 0
  }

  @inline(__always)
  func append(_ id: Int, to w: inout BytesWindow, separated: Bool) {
    if separated && w.words > 0 {
      w.hash = w.hash &* RollingHash.base &+ 0x21
      w.length &+= 1
    }
    let len = lengthOf(id: id)
    w.hash = w.hash &* power(len) &+ hash[id]
    w.length &+= len
    w.words &+= 1
  }

  @inline(__always)
  func removeFirst(_ id: Int, from w: inout BytesWindow, separated: Bool) {
    // Bytes after the first word, its separator included.
    var rest = w.length &- lengthOf(id: id)
    w.hash = w.hash &- hash[id] &* power(rest)
    if separated && w.words > 1 {
      rest &-= 1
      w.hash = w.hash &- 0x21 &* power(rest)
    }
    w.length = rest
    w.words &-= 1
  }

  /// The window of words i..<i+n.
  func bytesWindow(at i: Int, _ n: Int, separated: Bool) -> BytesWindow {
    var w = BytesWindow()
    for k in i..<(i &+ n) { append(id(k), to: &w, separated: separated) }
    return w
  }

  /// Calls `body(i, hash)` for every window of n words, in order.
  @inline(__always)
  func forEachWindow(_ n: Int, _ join: NGramJoin, _ body: (Int, UInt64) -> Void) {
    let last = count &- n
    guard last >= 0 else { return }
    switch join {
    case .ids:
      let top = RollingHash.pow(n &- 1)
      var h: UInt64 = 0
      for k in 0..<n { h = h &* RollingHash.base &+ Self.mixID(id(k)) }
      var i = 0
      while true {
        body(i, h)
        guard i < last else { break }
        h = (h &- Self.mixID(id(i)) &* top) &* RollingHash.base &+ Self.mixID(id(i &+ n))
        i &+= 1
      }
    case .spaced, .concatenated:
      let separated = join == .spaced
      var w = bytesWindow(at: 0, n, separated: separated)
      var i = 0
      while true {
        body(i, w.hash)
        guard i < last else { break }
        removeFirst(id(i), from: &w, separated: separated)
        append(id(i &+ n), to: &w, separated: separated)
        i &+= 1
      }
    }
  }

  /// The hash of the window at i, as `forEachWindow` gives it.
  func windowHash(at i: Int, _ n: Int, _ join: NGramJoin) -> UInt64 {
    switch join {
    case .ids:
      var h: UInt64 = 0
      for k in i..<(i &+ n) { h = h &* RollingHash.base &+ Self.mixID(id(k)) }
      return h
    case .spaced: return bytesWindow(at: i, n, separated: true).hash
    case .concatenated: return bytesWindow(at: i, n, separated: false).hash
    }
  }

  // MARK: - Equality

  /// Whether the n-grams at words i and j are equal as `" ".join` (`.ids`, `.spaced`) or
  /// `"".join` (`.concatenated`).
  @inline(__always)
  func same(_ p: UnsafePointer<UInt8>, _ i: Int, _ j: Int, _ n: Int, _ join: NGramJoin) -> Bool {
    // The same words (ids are exact): equal.
    var k = 0
    while k < n && ids[i &+ k] == ids[j &+ k] { k &+= 1 }
    if k == n { return true }
    if join == .ids { return false }
    return sameJoined(p, i, j, n, separated: join == .spaced)
  }

  private func sameJoined(_ p: UnsafePointer<UInt8>, _ i: Int, _ j: Int, _ n: Int, separated: Bool) -> Bool {
    // Same word lengths: the joined strings are equal exactly when every word is, and one is not.
    var sameLengths = true
    var difference = 0
    for k in 0..<n {
      let a = lengthOf(id: id(i &+ k))
      let b = lengthOf(id: id(j &+ k))
      difference &+= a &- b
      if a != b { sameLengths = false }
    }
    if sameLengths || difference != 0 { return false }
    // Different words or boundaries, same total length: compare the joined strings byte by byte.
    var a = JoinedCursor(self, word: i, end: i &+ n, separated: separated)
    var b = JoinedCursor(self, word: j, end: j &+ n, separated: separated)
    while true {
      let x = a.next(p, self)
      if x != b.next(p, self) { return false }
      if x < 0 { return true }
    }
  }

  /// Reads the words [word, end) as one string, joined by spaces or not; -1 at the end.
  private struct JoinedCursor {
    var word: Int
    let end: Int
    let separated: Bool
    var pos: Int
    var stop: Int
    var separatorPending = false

    init(_ w: WordView, word: Int, end: Int, separated: Bool) {
      self.word = word
      self.end = end
      self.separated = separated
      let id = w.id(word)
      pos = Int(truncatingIfNeeded: w.start[id])
      stop = pos &+ w.lengthOf(id: id)
    }

    mutating func next(_ p: UnsafePointer<UInt8>, _ w: WordView) -> Int {
      while true {
        if separatorPending {
          separatorPending = false
          return 0x20
        }
        if pos < stop {
          pos &+= 1
          return Int(p[pos &- 1])
        }
        word &+= 1
        if word >= end { return -1 }
        let id = w.id(word)
        pos = Int(truncatingIfNeeded: w.start[id])
        stop = pos &+ w.lengthOf(id: id)
        separatorPending = separated
      }
    }
  }

  /// `sameBytes` for ranges within p[0..<end]: the last bytes compared as one masked word
  /// when eight bytes can be read from both.
  @inline(__always)
  static func sameBytes(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int, _ len: Int, within end: Int) -> Bool {
    let tail = len & 7
    guard tail != 0, len <= 32, max(a, b) &+ len &- tail &+ 8 <= end else { return sameBytes(p, a, b, len) }
    guard sameWholeWords(p, a, b, len) else { return false }
    let raw = UnsafeRawPointer(p)
    let k = len &- tail
    let x = raw.loadUnaligned(fromByteOffset: a &+ k, as: UInt64.self) ^ raw.loadUnaligned(fromByteOffset: b &+ k, as: UInt64.self)
    return x & ((1 << UInt64(tail &* 8)) &- 1) == 0
  }

  /// Whether bytes p[a..<a+len] and p[b..<b+len] are equal.
  @inline(__always)
  static func sameBytes(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int, _ len: Int) -> Bool {
    if len > 32 { return memcmp(p + a, p + b, len) == 0 }
    guard sameWholeWords(p, a, b, len) else { return false }
    var k = len & ~7
    while k < len {
      if p[a &+ k] != p[b &+ k] { return false }
      k &+= 1
    }
    return true
  }

  /// Whether the whole 8-byte words of the two ranges (the first `len & ~7` bytes) are equal.
  @inline(__always)
  private static func sameWholeWords(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int, _ len: Int) -> Bool {
    let raw = UnsafeRawPointer(p)
    var k = 0
    while k &+ 8 <= len {
      if raw.loadUnaligned(fromByteOffset: a &+ k, as: UInt64.self)
        != raw.loadUnaligned(fromByteOffset: b &+ k, as: UInt64.self)
      {
        return false
      }
      k &+= 8
    }
    return true
  }
}

/// How the n-grams of a pass are compared.
enum NGramJoin {
  /// `" ".join`, no word holds a space: equal exactly when the ids are.
  case ids
  /// `" ".join` with words that hold spaces: the joined bytes.
  case spaced
  /// `"".join`: the concatenated bytes.
  case concatenated
}

/// An open-addressing table of n-gram windows: the window's start + 1 (0: empty), 32 more bits
/// of its hash, and (for counting) how often it occurs; in memory managed by hand.
struct WindowTable<I: FixedWidthInteger & UnsignedInteger> {
  private(set) var position = RawList<I>()
  private(set) var fingerprint = RawList<UInt32>()
  private(set) var occurrences = RawList<UInt32>()
  /// Slots in use (a power of two), and how many hold a window.
  private(set) var slots = 0
  var used = 0
  private(set) var shift: UInt64 = 64
  /// Whether the table counts occurrences.
  private(set) var counting = false

  /// Frees the memory (the owner calls it once, when it goes away).
  func free() {
    position.free()
    fingerprint.free()
    occurrences.free()
  }

  /// Empties the table, sized for about `entries` windows (it grows when they are more): at
  /// most half full for a small table (short probes), 70 % for a large one (its memory counts).
  mutating func reset(entries: Int, counts: Bool) {
    var cap = 16
    var bits: UInt64 = 4
    let half = entries < 1 << 20
    while half ? cap < 2 * entries : cap * 7 < entries * 10 {
      cap <<= 1
      bits += 1
    }
    position.reset(capacity: cap)
    position.base.initialize(repeating: 0, count: cap)
    fingerprint.reset(capacity: cap)
    if counts { occurrences.reset(capacity: cap) } else { occurrences.reset(capacity: 0) }
    counting = counts
    slots = cap
    used = 0
    shift = 64 - bits
  }

  /// Gives back an outsized table.
  mutating func release() {
    position.reset(capacity: 0)
    fingerprint.reset(capacity: 0)
    occurrences.reset(capacity: 0)
    slots = 0
  }
}

/// The n-gram rules of `gopher_repetition` (datatrove's `find_top_duplicate` and
/// `find_all_duplicate`) over a document's `WordIDs`. An n-gram is its window of ids, hashed
/// as it slides (over the ids for `" ".join`, whose equality is word-by-word equality when no
/// word holds a space; over the words' byte hashes for `"".join` or words with spaces). A
/// first pass counts the hashes in a sketch (saturating counters, or two-bit counters for
/// "seen twice"), and only the n-grams the sketch says may be frequent enough (or may repeat at
/// all) go into an exact table, where a match is confirmed by comparing ids or bytes. Short
/// texts skip the sketch: every n-gram goes into the table.
///
/// Every decision equals datatrove's: the sketch only ever says "maybe" to an n-gram that
/// needs counting, never "no" (equal n-grams have equal hashes, so a bucket counts at least
/// each of its n-grams' occurrences).
struct NGramCounter<I: FixedWidthInteger & UnsignedInteger> {
  private var words = WordIDs<I>()
  private var table = WindowTable<I>()
  /// Saturating counters per hash bucket (`topExceeds`), two-bit counters (`duplicatesExceed`).
  private var counters: [UInt8] = []
  private var pairBits: [UInt64] = []
  /// For texts of fewer words than `sketchFrom`: per word boundary k, the hash of the
  /// concatenation of words 0..<k and its length in bytes, so that any window's hash is two
  /// lookups (`q[j] − q[i]·base^(bytes between)`); made once per document, when first needed.
  private var prefixHash: [UInt64] = []
  private var prefixBytes: [Int] = []
  private var prefixChars: [Int] = []
  private var prefixesReady = false
  /// For the same texts: per word boundary, whether the 16 bytes of the concatenated words
  /// from there also start at another boundary (`markSharedStarts`; true also for about one
  /// boundary in 32 whose 16 bytes share a hash bucket with another's: only a wasted lookup).
  /// An n-gram of 16 bytes or more that starts at a boundary whose 16 bytes start nowhere
  /// else equals no other n-gram: `duplicatesExceed` neither looks it up nor remembers it.
  private var sharedStart: [Bool] = []
  private var joined: [UInt8] = []
  /// `markSharedStarts`' bits (seen, seen twice) and each boundary's bucket.
  private var startBits: [UInt64] = []
  private var startSlots: [Int32] = []
  /// The word boundaries where an n-gram may repeat, for the n in `candidatesFor` (0: not made
  /// yet): those whose 16 bytes are shared, or whose n-gram is under 16 bytes. An n-gram is
  /// never shorter than the (n−1)-gram it starts with, so the list for a larger n is the list
  /// for a smaller one filtered (the rules come in increasing n); the windows in between are
  /// passed over without a look.
  private var candidates: [Int32] = []
  private var candidatesFor = 0
  /// Below this many n-grams, all are counted exactly without a sketch first: the sketch
  /// saves memory only on long texts, and costs a pass (tests set it to 0).
  var sketchFrom = 1 << 15
  /// How many windows the buckets counted exactly may hold (nil: a sixteenth of the windows,
  /// at least 65 536; tests set small budgets to reach the fallbacks).
  var candidateBudget: Int?

  init() {}

  /// Frees the memory held between documents (the owner calls it once, when it goes away).
  func free() {
    words.free()
    table.free()
  }

  /// The n-gram rules for `doc`, in order: `.drop` with the first rule's reason that fails.
  mutating func verdict(
    _ doc: Document, _ tokenizer: inout WordTokenizer, top: [GopherRepetitionFilter.NGramRule],
    duplicated: [GopherRepetitionFilter.NGramRule], chars: Double
  ) -> Verdict {
    guard let p = doc.text.baseAddress else { return .keep }
    words.load(doc, &tokenizer, p)
    wordsHeld = true
    prefixesReady = false
    return rules(p, top: top, duplicated: duplicated, chars: chars)
  }

  /// Whether the words of the last document are still held (not given back as outsized).
  private(set) var wordsHeld = false

  /// `WordIDs.forEachDistinctWord` over the last document's words, or nil when they are no
  /// longer held.
  func forEachDistinctWord(_ body: (_ start: Int, _ length: Int, _ occurrences: Int) -> Void) -> Int? {
    wordsHeld ? words.forEachDistinctWord(body) : nil
  }

  /// The last document's words (pointers into memory this counter owns, valid until its next
  /// load), or nil when they are no longer held. Read through a class's property, this is a
  /// copy of a few pointers, where a call with a closure on the counter in place copied the
  /// whole counter (each of its arrays retained and released) for as long as the call ran.
  var heldWords: WordIDs<I>? { wordsHeld ? words : nil }

  /// The same over words given as byte ranges of `p` (for tests).
  mutating func verdict(
    _ p: UnsafePointer<UInt8>, words ranges: [Range<Int>], top: [GopherRepetitionFilter.NGramRule],
    duplicated: [GopherRepetitionFilter.NGramRule], chars: Double
  ) -> Verdict {
    words.load(p, words: ranges)
    wordsHeld = true
    prefixesReady = false
    return rules(p, top: top, duplicated: duplicated, chars: chars)
  }

  private mutating func rules(
    _ p: UnsafePointer<UInt8>, top: [GopherRepetitionFilter.NGramRule], duplicated: [GopherRepetitionFilter.NGramRule],
    chars: Double
  ) -> Verdict {
    defer { releaseIfOutsized() }
    let w = words.view
    // The most frequent n-gram occurs at most as often as the most frequent shorter one (its
    // prefix occurs wherever it does), so once a smaller n was counted, an n whose longest
    // n-gram times that count stays under the limit cannot fail and is not counted. (Exact as
    // long as no word contains a space.)
    var counted: [(n: Int, count: Int)] = []
    // The largest (code points + 1) × count of a distinct word, for the bound below.
    var heaviest: Int? = nil
    for rule in top where w.count >= rule.n {
      // `x <= most` is `fits(x)`, one division; the exact threshold (a few) only for counting.
      let fits = { (x: Int) in Self.fits(x, limit: rule.fraction, chars: chars) }
      if !w.wordsHaveSpaces, let bound = counted.lazy.filter({ $0.n < rule.n }).map(\.count).min(),
        fits(w.longestNGram(rule.n) * bound)
      {
        continue
      }
      // Likewise an n-gram occurs at most as often as its rarest word. That bound is a pass
      // over the words; a looser one over the distinct words comes first: an n-gram's length
      // times its count is at most the sum over its words of (code points + 1) × the word's
      // count, so at most n times the heaviest word's.
      if !w.wordsHaveSpaces {
        if heaviest == nil { heaviest = w.heaviestWord() }
        // (No overflow: the weights sum to under twice the text's bytes, and n ≤ 10⁶.)
        if fits(rule.n * heaviest!) || fits(w.rarestWordBound(rule.n)) {
          continue
        }
      }
      let most = Self.threshold(limit: rule.fraction, chars: chars)
      let (exceeds, count) = topExceeds(w, p, rule.n, most: most)
      if exceeds { return .drop(rule.reason) }
      counted.append((rule.n, count))
    }
    for rule in duplicated where duplicatesExceed(w, p, rule.n, limit: rule.fraction, chars: chars) {
      return .drop(rule.reason)
    }
    return .keep
  }

  /// The largest x with `Double(x) / chars <= limit` (capped at 2⁵²), so that for the counts
  /// here `Double(x) / chars > limit` is exactly `x > threshold` (division is monotonic).
  static func threshold(limit: Double, chars: Double) -> Int {
    // (Each step is a division: `fits` answers for one value without finding the threshold.)
    let cap = 1 << 52
    let guess = limit * chars
    var x = guess.isNaN || guess < 0 ? 0 : guess >= Double(cap) ? cap : Int(guess)
    while x >= 0 && !(Double(x) / chars <= limit) { x -= 1 }
    while x < cap && Double(x + 1) / chars <= limit { x += 1 }
    return x
  }

  /// Whether x ≤ `threshold(limit:chars:)`, with one division: `Double(x) / chars` never
  /// decreases as x grows, so it is at most the limit exactly up to the threshold.
  @inline(__always)
  static func fits(_ x: Int, limit: Double, chars: Double) -> Bool {
    x >= 0 && x <= 1 << 52 && Double(x) / chars <= limit
  }

  /// Gives back what an outsized document grew.
  private mutating func releaseIfOutsized() {
    let big = 1 << 22
    if words.view.count > big {
      words.releaseIfOutsized()
      wordsHeld = false
    }
    if counters.capacity > big { counters = [] }
    if pairBits.capacity > big / 8 { pairBits = [] }
    if table.slots > big / 2 { table.release() }
  }

  // MARK: - Exact table

  @inline(__always)
  private static func fingerprint(_ h: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: (h ^ (h >> 29)) >> 32) }

  /// Finds the window at i (hash h) in the table, or adds it. Returns its slot and whether it
  /// was there.
  @inline(__always)
  private mutating func findOrAdd(
    _ w: WordView<I>, _ p: UnsafePointer<UInt8>, _ i: Int, _ h: UInt64, _ n: Int, _ join: NGramJoin
  ) -> (slot: Int, found: Bool) {
    let r = Self.probe(
      table.position.base, table.fingerprint.base, mask: table.slots &- 1, shift: table.shift, w, p, i, h, n, join)
    if r.found { return r }
    table.used &+= 1
    if table.used &* 10 > table.slots &* 7 {
      growTable(w, n, join)
      return (slotOf(i, h), false)
    }
    return r
  }

  /// The probe of `findOrAdd` over the table's memory, without the bookkeeping: a loop over a
  /// table sized for all its windows calls it with locals.
  @inline(__always)
  private static func probe(
    _ positions: UnsafeMutablePointer<I>, _ fingerprints: UnsafeMutablePointer<UInt32>, mask: Int, shift: UInt64,
    _ w: WordView<I>, _ p: UnsafePointer<UInt8>, _ i: Int, _ h: UInt64, _ n: Int, _ join: NGramJoin
  ) -> (slot: Int, found: Bool) {
    let fp = fingerprint(h)
    var s = WordIDs<I>.home(h, shift)
    while true {
      let e = Int(truncatingIfNeeded: positions[s])
      if e == 0 {
        positions[s] = I(truncatingIfNeeded: i &+ 1)
        fingerprints[s] = fp
        return (s, false)
      }
      if fingerprints[s] == fp && w.same(p, e &- 1, i, n, join) { return (s, true) }
      s = (s &+ 1) & mask
    }
  }

  /// The slot that holds window i (hash h).
  private func slotOf(_ i: Int, _ h: UInt64) -> Int {
    let positions = table.position.base
    let mask = table.slots &- 1
    var s = WordIDs<I>.home(h, table.shift)
    while Int(truncatingIfNeeded: positions[s]) != i &+ 1 { s = (s &+ 1) & mask }
    return s
  }

  private mutating func growTable(_ w: WordView<I>, _ n: Int, _ join: NGramJoin) {
    let old = table.slots
    let counts = table.counting
    let positions = Array(UnsafeBufferPointer(start: table.position.base, count: old))
    let fingerprints = Array(UnsafeBufferPointer(start: table.fingerprint.base, count: old))
    let occurrences = counts ? Array(UnsafeBufferPointer(start: table.occurrences.base, count: old)) : []
    table.reset(entries: old, counts: counts)
    let newPositions = table.position.base
    let mask = table.slots &- 1
    for k in 0..<old where positions[k] != 0 {
      let i = Int(truncatingIfNeeded: positions[k]) &- 1
      var s = WordIDs<I>.home(w.windowHash(at: i, n, join), table.shift)
      while newPositions[s] != 0 { s = (s &+ 1) & mask }
      newPositions[s] = positions[k]
      table.fingerprint[s] = fingerprints[k]
      if counts { table.occurrences[s] = occurrences[k] }
      table.used &+= 1
    }
  }

  // MARK: - find_top_duplicate

  /// Whether the most frequent n-gram (`" ".join`; ties go to the first to appear) times its
  /// length is over `most`, as datatrove's `find_top_duplicate(get_n_grams(words, n))`, and
  /// an upper bound on that n-gram's count (its count when it was counted). Needs n words.
  ///
  /// The counting sketch picks a threshold T that few n-grams' buckets reach; those n-grams are
  /// counted exactly. When one of them occurs T times or more it is the top n-gram (every
  /// n-gram that frequent is among them). Otherwise every n-gram occurs fewer than T times:
  /// either none that often can exceed the limit, or the count goes again from T = 2, and if
  /// then no n-gram occurs twice, the first one is the top n-gram.
  private mutating func topExceeds(_ w: WordView<I>, _ p: UnsafePointer<UInt8>, _ n: Int, most: Int) -> (
    exceeds: Bool, count: Int
  ) {
    let windows = w.count &- n &+ 1
    let join: NGramJoin = w.wordsHaveSpaces ? .spaced : .ids
    if windows < sketchFrom {
      // Few n-grams: all are counted, no sketch first.
      let (first, count) = countCandidates(w, p, n, join, threshold: 0, shift: 0, histogram: [])
      return ((w.chars(first, n) &+ n &- 1) &* count > most, count)
    }
    var buckets = 1 << 10
    var bits: UInt64 = 10
    while buckets < windows {
      buckets <<= 1
      bits += 1
    }
    let shift = 64 &- bits
    if counters.count == buckets {
      counters.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    } else {
      counters = []
      counters = [UInt8](repeating: 0, count: buckets)
    }
    counters.withUnsafeMutableBufferPointer { c in
      w.forEachWindow(n, join) { _, h in
        let b = WordIDs<I>.home(h, shift)
        if c[b] != 255 { c[b] &+= 1 }
      }
    }
    // The smallest threshold whose buckets hold few windows (saturated buckets always count).
    var histogram = [Int](repeating: 0, count: 256)
    for v in counters { histogram[Int(v)] &+= 1 }
    let budget = candidateBudget ?? max(1 << 16, windows / 16)
    var threshold = 255
    var windowsOver = 0
    for v in stride(from: 255, through: 2, by: -1) {
      windowsOver &+= v &* histogram[v]
      if windowsOver > budget && v < 255 { break }
      threshold = v
    }
    let longest = w.longestNGram(n)
    while true {
      let (first, count) = countCandidates(w, p, n, join, threshold: threshold, shift: shift, histogram: histogram)
      if count >= threshold {
        let length = w.chars(first, n) &+ n &- 1
        return (length &* count > most, count)
      }
      // No n-gram occurs `threshold` times: none that occurs fewer can exceed the limit.
      if longest &* (threshold &- 1) <= most { return (false, threshold &- 1) }
      // No n-gram occurs twice: every count is 1, and the first n-gram is the top one.
      if threshold == 2 { return (w.chars(0, n) &+ n &- 1 > most, 1) }
      threshold = 2
    }
  }

  /// Counts the n-grams whose bucket reached `threshold` (0: every n-gram, no counters);
  /// returns the first to appear among the most frequent of them and its count (0 when there
  /// are none).
  private mutating func countCandidates(
    _ w: WordView<I>, _ p: UnsafePointer<UInt8>, _ n: Int, _ join: NGramJoin, threshold: Int, shift: UInt64,
    histogram: [Int]
  ) -> (first: Int, count: Int) {
    var candidates = 0
    if threshold == 0 {
      candidates = w.count &- n &+ 1
    } else {
      for v in threshold..<256 { candidates &+= histogram[v] }
    }
    table.reset(entries: candidates, counts: true)
    var bestCount = 0
    var bestIndex = 0
    let t = UInt8(threshold)
    let counters = threshold == 0 ? [0] : self.counters
    counters.withUnsafeBufferPointer { c in
      w.forEachWindow(n, join) { i, h in
        guard t == 0 || c[WordIDs<I>.home(h, shift)] >= t else { return }
        let (slot, found) = findOrAdd(w, p, i, h, n, join)
        let occurrences = table.occurrences.base
        let first = Int(truncatingIfNeeded: table.position[slot]) &- 1
        let count: Int
        if found {
          occurrences[slot] &+= 1
          count = Int(occurrences[slot])
        } else {
          occurrences[slot] = 1
          count = 1
        }
        if count > bestCount || (count == bestCount && first < bestIndex) {
          bestCount = count
          bestIndex = first
        }
      }
    }
    return (bestIndex, bestCount)
  }

  // MARK: - find_all_duplicate

  /// Whether datatrove's `find_all_duplicate(words, n) / chars > limit`: scanning left to
  /// right, an n-gram (`"".join`) seen before adds its length and the scan jumps n words,
  /// otherwise it is remembered and the scan moves one word.
  ///
  /// An n-gram that occurs once in the whole text is never "seen before", and remembering it
  /// cannot make a later one seen: the two-bit sketch (how many windows hash to a bucket: 0, 1
  /// or more) lets only the n-grams of shared buckets into the exact table.
  private mutating func duplicatesExceed(
    _ w: WordView<I>, _ p: UnsafePointer<UInt8>, _ n: Int, limit: Double, chars: Double
  ) -> Bool {
    guard w.count >= n else { return 0 / chars > limit }
    // The repeated n-grams are disjoint runs of words, so they never add up to more than all
    // the words' characters.
    if Self.fits(w.totalChars, limit: limit, chars: chars) { return false }
    // find_all_duplicate(...) / chars > limit exactly when the repeated length is over this.
    let most = Self.threshold(limit: limit, chars: chars)
    let windows = w.count &- n &+ 1
    // Few n-grams: those that may repeat go to the table, no sketch first.
    guard windows >= sketchFrom else { return duplicatesExceedUnsketched(w, p, n, most: most) }
    var buckets = 1 << 12
    var bits: UInt64 = 12
    while buckets < 4 &* windows {
      buckets <<= 1
      bits += 1
    }
    let shift = 64 &- bits
    do {
      let words = buckets >> 5
      if pairBits.count == words {
        pairBits.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
      } else {
        pairBits = []
        pairBits = [UInt64](repeating: 0, count: words)
      }
      // Two bits per bucket: the low one once, the high one twice or more.
      pairBits.withUnsafeMutableBufferPointer { pb in
        w.forEachWindow(n, .concatenated) { _, h in
          let b = WordIDs<I>.home(h, shift)
          let bit = UInt64(b & 31) &* 2
          let word = pb[b >> 5]
          pb[b >> 5] = word | ((word >> bit) & 1 == 0 ? 1 << bit : 2 << bit)
        }
      }
      var shared = 0
      for word in pairBits { shared &+= (word & 0xAAAA_AAAA_AAAA_AAAA).nonzeroBitCount }
      table.reset(entries: shared, counts: false)
    }

    let sketch = pairBits
    return sketch.withUnsafeBufferPointer { pb in
      let last = w.count &- n
      var repeated = 0
      var before = 0  // code points of the words before idx
      var idx = 0
      var window = w.bytesWindow(at: 0, n, separated: false)
      var windowChars = w.chars(0, n)
      while idx <= last {
        // Even if every word from here on were repeated, the rule would not fail.
        if repeated &+ (w.totalChars &- before) <= most { return false }
        let b = WordIDs<I>.home(window.hash, shift)
        let mayRepeat = (pb[b >> 5] >> (UInt64(b & 31) &* 2 &+ 1)) & 1 != 0
        if mayRepeat && findOrAdd(w, p, idx, window.hash, n, .concatenated).found {
          repeated &+= windowChars
          if repeated > most { return true }
          before &+= windowChars
          idx &+= n
          guard idx <= last else { break }
          window = w.bytesWindow(at: idx, n, separated: false)
          windowChars = w.chars(idx, n)
        } else {
          let out = w.id(idx)
          before &+= w.charsOf(id: out)
          idx &+= 1
          guard idx <= last else { break }
          let incoming = w.id(idx &+ n &- 1)
          w.removeFirst(out, from: &window, separated: false)
          w.append(incoming, to: &window, separated: false)
          windowChars &+= w.charsOf(id: incoming) &- w.charsOf(id: out)
        }
      }
      return repeated > most
    }
  }

  /// Makes `candidates` the word boundaries where an n-gram of `count` words may repeat (see
  /// `candidates`), from the list for a smaller n when there is one.
  private mutating func selectCandidates(_ count: Int, _ n: Int) {
    let last = count &- n
    let refilter = candidatesFor != 0 && candidatesFor <= n
    if !refilter { candidates.removeAll(keepingCapacity: true) }
    var list = candidates
    candidates = []
    prefixBytes.withUnsafeBufferPointer { off in
      sharedStart.withUnsafeBufferPointer { shared in
        // 1 when boundary i is kept, without a branch: which boundaries are kept follows the
        // text, and a mispredicted branch per boundary cost more than the test.
        @inline(__always) func kept(_ i: Int) -> Int { (shared[i] ? 1 : 0) | (off[i &+ n] &- off[i] < 16 ? 1 : 0) }
        if refilter {
          var taken = 0
          list.withUnsafeMutableBufferPointer { c in
            for k in 0..<c.count {
              let i = Int(c[k])
              // Ascending: the rest start too late for an n-gram as well.
              if i > last { break }
              c[taken] = c[k]
              taken &+= kept(i)
            }
          }
          list.removeLast(list.count &- taken)
        } else if last >= 0 {
          // Written through a pointer: an append per boundary asked whether the storage was
          // shared each time. Every boundary is written; `taken` moves past the kept ones.
          list.append(contentsOf: repeatElement(0, count: last &+ 1))
          var taken = 0
          list.withUnsafeMutableBufferPointer { c in
            for i in 0...last {
              c[taken] = Int32(truncatingIfNeeded: i)
              taken &+= kept(i)
            }
          }
          list.removeLast(list.count &- taken)
        }
      }
    }
    candidates = list
    candidatesFor = n
  }

  /// Fills `sharedStart` for the words of `w` (their concatenation's offsets are in
  /// `prefixBytes`): the concatenation is written out once, each boundary's next 16 bytes
  /// (zeros past the end) are a key, and two bits per hash bucket count the keys up to two.
  private mutating func markSharedStarts(_ w: WordView<I>, _ p: UnsafePointer<UInt8>) {
    let words = w.count
    let total = prefixBytes[words]
    if joined.count < total &+ 16 { joined = [UInt8](repeating: 0, count: total &+ 16) }
    let end = self.words.textEnd
    joined.withUnsafeMutableBufferPointer { out in
      let o = out.baseAddress!
      var at = 0
      for k in 0..<words {
        let id = w.id(k)
        let len = w.lengthOf(id: id)
        let from = Int(truncatingIfNeeded: w.start[id])
        if len <= 16 && from &+ 16 <= end {
          // Words are short: 16 bytes copied at once (what lies past the word is overwritten
          // by the next one, or by the zeros after the last), not a call to memmove each.
          let raw = UnsafeMutableRawPointer(o + at)
          let src = UnsafeRawPointer(p + from)
          raw.storeBytes(of: src.loadUnaligned(as: UInt64.self), as: UInt64.self)
          raw.storeBytes(of: src.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
        } else {
          (o + at).update(from: p + from, count: len)
        }
        at &+= len
      }
      (o + at).update(repeating: 0, count: 16)
    }
    // Two bits per bucket of a 64-bit hash of the 16-byte keys, 32 buckets per boundary:
    // "seen" and "seen twice". Keys are told apart by their bucket alone: two different keys
    // in one bucket (about one boundary in 32) only mark a start shared that is not, which
    // costs a lookup later and changes no result. No probing, no key stored.
    var buckets = 1 << 10
    var bits: UInt64 = 10
    while buckets < 32 &* words {
      buckets <<= 1
      bits &+= 1
    }
    let shift = 64 &- bits
    startBits.removeAll(keepingCapacity: true)
    startBits.append(contentsOf: repeatElement(0, count: 2 &* (buckets >> 6)))
    sharedStart.removeAll(keepingCapacity: true)
    sharedStart.append(contentsOf: repeatElement(false, count: words))
    if startSlots.count < words { startSlots = [Int32](repeating: 0, count: words) }
    let off = prefixBytes
    let half = buckets >> 6
    joined.withUnsafeBytes { raw in
      startBits.withUnsafeMutableBufferPointer { seenBits in
        let seen = seenBits.baseAddress!
        let twice = seen + half
        off.withUnsafeBufferPointer { off in
          startSlots.withUnsafeMutableBufferPointer { slots in
            for i in 0..<words {
              let a = raw.loadUnaligned(fromByteOffset: off[i], as: UInt64.self)
              let b = raw.loadUnaligned(fromByteOffset: off[i] &+ 8, as: UInt64.self)
              var h = (a ^ (b &* 0x9E37_79B9_7F4A_7C15)) &* 0xFF51_AFD7_ED55_8CCD
              h ^= h >> 31
              let s = WordIDs<I>.home(h, shift)
              let w = s >> 6
              let m: UInt64 = 1 << UInt64(s & 63)
              twice[w] |= seen[w] & m
              seen[w] |= m
              slots[i] = Int32(truncatingIfNeeded: s)
            }
            sharedStart.withUnsafeMutableBufferPointer { shared in
              for i in 0..<words {
                let s = Int(slots[i])
                shared[i] = (twice[s >> 6] >> UInt64(s & 63)) & 1 != 0
              }
            }
          }
        }
      }
    }
  }

  /// `duplicatesExceed` for a text of few words: every n-gram goes to the table, and window
  /// hashes come from the prefix hashes (the same values the sliding windows give).
  private mutating func duplicatesExceedUnsketched(_ w: WordView<I>, _ p: UnsafePointer<UInt8>, _ n: Int, most: Int) -> Bool {
    // Read once: a global is checked for initialisation at every use.
    let powers = powerTable
    if !prefixesReady {
      // Written through pointers: an append per word checked the arrays' uniqueness each time.
      let words = w.count
      prefixHash.removeAll(keepingCapacity: true)
      prefixHash.append(contentsOf: repeatElement(0, count: words &+ 1))
      prefixBytes.removeAll(keepingCapacity: true)
      prefixBytes.append(contentsOf: repeatElement(0, count: words &+ 1))
      prefixChars.removeAll(keepingCapacity: true)
      prefixChars.append(contentsOf: repeatElement(0, count: words &+ 1))
      prefixHash.withUnsafeMutableBufferPointer { q in
        prefixBytes.withUnsafeMutableBufferPointer { off in
          prefixChars.withUnsafeMutableBufferPointer { cp in
            var h: UInt64 = 0
            var bytes = 0
            var chars = 0
            for k in 0..<words {
              let id = w.id(k)
              let len = w.lengthOf(id: id)
              h = h &* (len < 4097 ? powers[len] : RollingHash.pow(len)) &+ w.hash[id]
              bytes &+= len
              chars &+= w.charsOf(id: id)
              q[k &+ 1] = h
              off[k &+ 1] = bytes
              cp[k &+ 1] = chars
            }
          }
        }
      }
      prefixesReady = true
      markSharedStarts(w, p)
      candidatesFor = 0
    }
    selectCandidates(w.count, n)
    // The repeated n-grams counted are disjoint candidate windows: if all the candidate
    // windows together hold no more characters than the limit, the rule cannot fail (the
    // usual case for text that does not repeat itself), and no window is looked up.
    var covered = 0
    var reach = 0
    prefixChars.withUnsafeBufferPointer { cp in
      for c in candidates {
        let from = max(Int(c), reach)
        let to = Int(c) &+ n
        if to > from {
          covered &+= cp[to] &- cp[from]
          reach = to
        }
      }
    }
    if covered <= most { return false }
    table.reset(entries: candidates.count, counts: false)
    let q = prefixHash
    let off = prefixBytes
    let cp = prefixChars
    // The table was sized for every candidate window: it cannot fill up, and is probed with
    // locals.
    let positions = table.position.base
    let fingerprints = table.fingerprint.base
    let mask = table.slots &- 1
    let shift = table.shift
    return q.withUnsafeBufferPointer { q in
      off.withUnsafeBufferPointer { off in
        cp.withUnsafeBufferPointer { cp in
          let total = w.totalChars
          var repeated = 0
          var idx = 0
          for c in candidates {
            // Windows before idx lie inside a repeated one, already counted.
            guard Int(c) >= idx else { continue }
            idx = Int(c)
            // Even if every word from here on were repeated, the rule would not fail.
            if repeated &+ (total &- cp[idx]) <= most { return false }
            let span = off[idx &+ n] &- off[idx]
            let h = q[idx &+ n] &- q[idx] &* (span < 4097 ? powers[span] : RollingHash.pow(span))
            if Self.probe(positions, fingerprints, mask: mask, shift: shift, w, p, idx, h, n, .concatenated).found {
              repeated &+= cp[idx &+ n] &- cp[idx]
              if repeated > most { return true }
              idx &+= n
            }
          }
          return repeated > most
        }
      }
    }
  }
}
