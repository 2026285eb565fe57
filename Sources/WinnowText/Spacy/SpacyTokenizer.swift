import Glibc

/// A port of spaCy's tokenizer algorithm (spaCy 3.8, `Tokenizer.__call__`),
/// driven by spaCy's own English rule tables (`SpacyEnglishTables`, generated
/// from a dump of `spacy.blank("en")`).
///
/// datatrove's Gopher, C4 and FineWeb filters count words with this
/// tokenizer, and punctuation tokens are words in their ratios, so matching
/// it token for token is what makes Winnow's decisions equal datatrove's.
///
/// The algorithm, as spaCy runs it:
/// 1. Split the text at whitespace changes. A single space between two
///    chunks is dropped; other whitespace runs become tokens.
/// 2. A chunk that is a special case (`can't`, `e.g.`, `:)`) is replaced by
///    its pieces. Otherwise prefixes and suffixes are peeled off in a loop,
///    checking the special-case table after each step; what remains is kept
///    whole when it is a special case or looks like a URL, else split at
///    infixes.
/// 3. Special cases that the affix rules cut apart (emoticons such as
///    `:-)` inside `word:-)`) are found again in the token sequence and merged,
///    longest first, never across whitespace.
///
/// Tokens are UTF-8 byte ranges of the text. A value type with its own scratch
/// buffers; the rule tables are shared.
public struct SpacyTokenizer {
  /// A token as a byte range of the text.
  public struct Token: Sendable, Equatable {
    public var start: Int
    public var end: Int
    /// The token is whitespace (spaCy keeps runs of whitespace other than a single space as tokens).
    public var isSpace: Bool
    public var range: Range<Int> { start..<end }

    public init(start: Int, end: Int, isSpace: Bool) {
      self.start = start
      self.end = end
      self.isSpace = isSpace
    }
  }

  let rules: SpacyRules
  var matcher = RegexMatcher()
  /// The chunk being split, decoded (`splitChunk`).
  var decoded = ChunkScalars()
  /// Its scalars, valid until the next chunk is decoded.
  var scalars: UnsafeBufferPointer<UInt32> { decoded.scalars }
  /// Byte offset of each scalar of the current chunk, relative to the chunk, plus its end.
  var offsets: UnsafeBufferPointer<Int32> { decoded.offsets }
  var prefixes: [Range<Int>] = []
  var suffixes: [Range<Int>] = []
  var infixes: [Range<Int>] = []
  /// Tokens of the current text not yet handed out (`forEachTokenBatch`).
  var pending = TokenList()
  var matches: [(start: Int, end: Int)] = []
  /// Scratch of the special-case merge: the spans kept, and the merged tokens.
  var kept: [(start: Int, end: Int)] = []
  var merged = TokenList()
  /// Rule candidates for scalars outside ASCII, found once per scalar.
  var prefixCache: [UInt32: [Int32]] = [:]
  var suffixCache: [UInt32: [Int32]] = [:]
  var infixCache: [UInt32: [Int32]] = [:]
  var gateCache: [UInt32: GateBox] = [:]
  var cache = ChunkCache()

  /// For each scalar of the Basic Multilingual Plane met so far, which rule kinds may start or
  /// end with it (`RuleEdge` bits; 0: not worked out yet). Empty until a chunk is decoded: a
  /// union's test of a scalar above ASCII searches its ranges and classes, and text outside
  /// English asks it for every letter of a chunk.
  var edgesOfScalar: [UInt8] = []

  /// Bits of `edgesOfScalar`.
  enum RuleEdge {
    static let prefixStart: UInt8 = 1
    static let infixStart: UInt8 = 2
    static let suffixEnd: UInt8 = 4
    static let suffixStart: UInt8 = 8
    static let known: UInt8 = 0x80
  }

  /// The `RuleEdge` bits of scalar c: `rules.prefixStart`, `infixStart`, `suffixEnd` and
  /// `suffixStart` asked once per scalar of the plane, and every time for one above it.
  @inline(__always)
  mutating func ruleEdges(_ c: UInt32) -> UInt8 {
    if Int(c) < edgesOfScalar.count, case let e = edgesOfScalar[Int(c)], e != 0 { return e }
    return learnRuleEdges(c)
  }

  @inline(never)
  private mutating func learnRuleEdges(_ c: UInt32) -> UInt8 {
    var e = RuleEdge.known
    if rules.prefixStart.mayContain(c) { e |= RuleEdge.prefixStart }
    if rules.infixStart.mayContain(c) { e |= RuleEdge.infixStart }
    if rules.suffixEnd.mayContain(c) { e |= RuleEdge.suffixEnd }
    if rules.suffixStart.mayContain(c) { e |= RuleEdge.suffixStart }
    if c < 0x1_0000 {
      if edgesOfScalar.isEmpty { edgesOfScalar = [UInt8](repeating: 0, count: 0x1_0000) }
      edgesOfScalar[Int(c)] = e
    }
    return e
  }

  /// A cached gate, boxed so that a lookup does not copy the sets.
  final class GateBox {
    let gate: ScalarUnion?
    init(_ gate: ScalarUnion?) { self.gate = gate }
  }

  /// spaCy's English tokenizer (`spacy.blank("en")`).
  public static func english() -> SpacyTokenizer { SpacyTokenizer(rules: SpacyRules.english) }

  init(rules: SpacyRules) {
    self.rules = rules
    tables = rules.scan
  }

  /// The rules' raw tables, read without reference counting: `rules` holds them as long as
  /// the tokenizer lives.
  unowned(unsafe) let tables: SpacyRules.ScanTables

  /// All tokens of `text`, whitespace tokens included, replacing `out`'s contents.
  public mutating func tokenize(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Token]) {
    out.removeAll(keepingCapacity: true)
    forEachTokenBatch(text) { out.append(contentsOf: $0) }
  }

  /// Tokens are handed out in batches of about this many (small in tests, to put many batch
  /// boundaries in a short text).
  var batchSize = 1024

  /// Calls `body` with the tokens of `text` in order (whitespace tokens included), a batch at
  /// a time, so that a long text's tokens are never all held: working memory stays a few
  /// batches whatever the text's length. The special-case pass (step 3) runs on stretches of
  /// tokens that end where no special-case match can cross, which gives exactly the tokens of
  /// one pass over the whole text. A batch is valid only during the call.
  public mutating func forEachTokenBatch(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<Token>) -> Void) {
    // A copy of this tokenizer shares the list: it is made anew then, never written by two.
    if !isKnownUniquelyReferenced(&pending) { pending = TokenList() }
    ownDecodingScratch()
    let pending = self.pending
    pending.removeAll()
    if rules.spaceChunksAreWhole {
      scanChunks(text, pending, body)
    } else {
      var flushAt = batchSize
      var chunks = WhitespaceChunks(text)
      while let c = chunks.next() {
        chunk(text, c.start, c.end, isSpace: c.isSpace, true, pending)
        if pending.count >= flushAt { flushAt = emitSettled(text, pending, body) }
      }
    }
    applySpecialCases(text, pending)
    if !pending.isEmpty { body(pending.buffer) }
    pending.removeAll(shrinkingAbove: 4 * batchSize)
  }

  /// Hands out the leading tokens of `pending` that no special-case match can join to a later
  /// token, after their special-case pass, and removes them. A match starts at most
  /// `maxTokens - 1` tokens before its last one, so the matches that start before
  /// `count - maxTokens` are all known; the cut goes there, moved back before any match that
  /// would cross it. Returns the count at which to try again.
  private mutating func emitSettled(
    _ text: UnsafeBufferPointer<UInt8>, _ pending: TokenList, _ body: (UnsafeBufferPointer<Token>) -> Void
  ) -> Int {
    let phrases = rules.phrases
    if phrases.isEmpty {
      body(pending.buffer)
      pending.removeAll()
      return batchSize
    }
    let known = pending.count - phrases.maxTokens
    guard known > 0 else { return pending.count + batchSize }
    findSpecialCases(text, pending.buffer, startingBefore: known)
    var cut = known
    var moved = true
    while moved {
      moved = false
      for m in matches where m.start < cut && m.end > cut {
        cut = m.start
        moved = true
      }
    }
    // Matches chained across the whole stretch (a pathological run of emoticons): wait for
    // more tokens, growing the stretch geometrically.
    guard cut > 0 else { return pending.count * 2 }
    matches.removeAll { $0.start >= cut }
    if matches.isEmpty {
      // Nothing to merge (the usual case): the tokens go out as they are, without a copy.
      body(UnsafeBufferPointer(start: pending.base, count: cut))
    } else {
      if !isKnownUniquelyReferenced(&merged) { merged = TokenList() }
      let settled = merged
      mergeSpecialCases(text, pending.buffer, upTo: cut, into: settled)
      body(settled.buffer)
      settled.removeAll(shrinkingAbove: 4 * batchSize)
    }
    pending.removeFirst(cut)
    return batchSize
  }

  /// The tokens of `text` from one special-case pass over all of them: what
  /// `forEachTokenBatch` must give, batch by batch (tests compare the two).
  mutating func tokenizeWhole(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Token]) {
    let list = TokenList()
    tokenizeAffixes(text, withSpecialCases: true, into: list)
    applySpecialCases(text, list)
    out = Array(list.buffer)
  }

  /// How many sentences spaCy's sentencizer finds in a text tokenized into `tokens`.
  public func sentenceCount(_ text: UnsafeBufferPointer<UInt8>, _ tokens: [Token]) -> Int {
    rules.sentenceCount(text, tokens)
  }

  /// How many sentences spaCy's sentencizer finds in `text`, without holding its tokens.
  public mutating func sentenceCount(_ text: UnsafeBufferPointer<UInt8>) -> Int {
    var counter = SentenceCounter()
    let rules = self.rules
    forEachTokenBatch(text) { batch in
      for t in batch { counter.add(text, t, rules) }
    }
    return counter.sentences
  }

  /// A copy of this tokenizer shares the decoding scratch: it gets its own before it splits
  /// chunks, so that two copies never write one (each may run on its own thread).
  mutating func ownDecodingScratch() {
    if !isKnownUniquelyReferenced(&decoded) { decoded = ChunkScalars() }
  }

  // MARK: - Steps 1 and 2 fused, for rules whose whitespace chunks are whole tokens

  /// Steps 1 and 2 in one pass over the bytes: the chunks of `WhitespaceChunks`, with most
  /// ASCII words settled as they are scanned. One table lookup per byte (`ByteClass`) finds
  /// the chunk's end and gathers what the one-token test needs (infix starts inside it); a
  /// chunk that may be cut, or holds a scalar above ASCII, goes to `chunk` as before.
  /// Whitespace runs are single tokens here (`spaceChunksAreWhole`).
  private mutating func scanChunks(
    _ text: UnsafeBufferPointer<UInt8>, _ pending: TokenList, _ body: (UnsafeBufferPointer<Token>) -> Void
  ) {
    let n = text.count
    guard n > 0, let p = text.baseAddress else { return }
    let scan = rules.scan
    let specials = rules.specials
    var flushAt = batchSize
    withExtendedLifetime(scan) {
      let cls = scan.byteClass
      let prefixCheck = scan.prefixCheck
      let suffixCheck = scan.suffixCheck
      let literalBytes = scan.literalBytes
      let literalOffsets = scan.literalOffsets
      let suffixAloneAfter = scan.suffixAloneAfter
      /// Whether fixed string k is p[from..<from + its length] (within start..<end).
      @inline(__always) func holds(_ k: Int32, at from: Int, _ start: Int, _ end: Int) -> Bool {
        let a = Int(literalOffsets[Int(k)])
        let len = Int(literalOffsets[Int(k) &+ 1]) &- a
        guard from >= start && from &+ len <= end else { return false }
        for j in 0..<len where literalBytes[a &+ j] != p[from &+ j] { return false }
        return true
      }
      /// Whether no prefix rule can start the ASCII word p[start..<end]: its first byte's
      /// alternatives are fixed strings, none of which it starts with.
      @inline(__always) func noPrefix(_ start: Int, _ end: Int) -> Bool {
        let check = prefixCheck[Int(p[start])]
        guard check.known != 0 else { return false }
        for k in check.literalStart..<(check.literalStart &+ check.literalCount) where holds(k, at: start, start, end) {
          return false
        }
        return true
      }
      /// Whether no suffix rule can end the ASCII word p[start..<end]: its last byte's
      /// alternatives are fixed strings it does not end with, or need a byte of their
      /// lookbehind gate before them, and the word has none.
      @inline(__always) func noSuffix(_ start: Int, _ end: Int) -> Bool {
        let check = suffixCheck[Int(p[end &- 1])]
        guard check.known != 0 else { return false }
        for k in check.literalStart..<(check.literalStart &+ check.literalCount) {
          let len = Int(literalOffsets[Int(k) &+ 1] &- literalOffsets[Int(k)])
          if holds(k, at: end &- len, start, end) { return false }
        }
        let gate = check.gatedGate
        return gate == (0, 0) || Self.noneInGate(UnsafeBufferPointer(start: p + start, count: end &- 1 &- start), gate)
      }
      let stop = SpacyRules.ByteClass.space | SpacyRules.ByteClass.high
      let skipLowercase = scan.lowercaseRunsArePlain
      var i = 0
      // Whether the scan is at the start of the text or just after a non-space chunk (where a
      // single 0x20 separates chunks and is no token).
      var afterChunk = false
      while i < n {
        // A whitespace run, if one starts here.
        if afterChunk && p[i] == 0x20 { i &+= 1 }
        afterChunk = true
        let runStart = i
        while i < n {
          let b = p[i]
          if cls[Int(b)] & SpacyRules.ByteClass.space != 0 {
            i &+= 1
          } else if b >= 0x80, case let l = UnicodeWhitespace.length(p, i, n), l > 0 {
            i &+= l
          } else {
            break
          }
        }
        if i > runStart { pending.append(Token(start: runStart, end: i, isSpace: true)) }
        guard i < n else { break }
        // A non-space chunk.
        let start = i
        var acc: UInt8 = 0
        var accButLast: UInt8 = 0
        var c = cls[Int(p[i])]
        while c & stop == 0 {
          accButLast = acc
          acc |= c
          i &+= 1
          if skipLowercase && i &+ 8 <= n {
            // A run of lowercase letters, eight bytes at a time: they add no bit the chunk's
            // tests read (`lowercaseRunsArePlain`), so only the byte after the run is looked at.
            var k = Self.lowercasePrefix(UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
            if k > 0 {
              accButLast = acc
              i &+= k
              while k == 8 && i &+ 8 <= n {
                k = Self.lowercasePrefix(UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
                i &+= k
              }
            }
          }
          if i == n { break }
          c = cls[Int(p[i])]
        }
        if i < n && c & SpacyRules.ByteClass.high != 0 && UnicodeWhitespace.length(p, i, n) == 0 {
          // A scalar above ASCII inside the chunk: find its end scalar by scalar.
          while i < n {
            let b = p[i]
            if b < 0x80 {
              if cls[Int(b)] & SpacyRules.ByteClass.space != 0 { break }
              i &+= 1
            } else {
              if UnicodeWhitespace.length(p, i, n) > 0 { break }
              i &+= UTF8Bytes.decode(text, at: i).length
            }
          }
          chunk(text, start, i, isSpace: false, true, pending, scanned: true)
        } else if acc & SpacyRules.ByteClass.infix == 0
          && (cls[Int(p[start])] & SpacyRules.ByteClass.prefix == 0 || noPrefix(start, i))
          && (cls[Int(p[i &- 1])] & SpacyRules.ByteClass.suffixEnd == 0 || noSuffix(start, i))
        {
          // One plain ASCII token, unless it is a special case.
          let bytes = UnsafeBufferPointer(start: p + start, count: i &- start)
          if specials.mayContain(first: p[start], last: p[i &- 1], length: i &- start), let pieces = specials.pieces(bytes) {
            Self.appendPieces(pieces, at: start, isSpace: false, pending)
          } else {
            pending.append(Token(start: start, end: i, isSpace: false))
          }
        } else if i &- start == 1 {
          // One byte: one token, whatever the rules (a special case of it can only be itself).
          pending.append(Token(start: start, end: i, isSpace: false))
        } else if cls[Int(p[i &- 1])] & SpacyRules.ByteClass.suffixAlone != 0
          && Self.inSet(p[i &- 2], suffixAloneAfter[Int(p[i &- 1])])
          && accButLast & SpacyRules.ByteClass.infix == 0
          && (cls[Int(p[start])] & SpacyRules.ByteClass.prefix == 0 || noPrefix(start, i))
          && (cls[Int(p[i &- 2])] & SpacyRules.ByteClass.suffixEnd == 0 || noSuffix(start, i &- 1))
        {
          // A plain word and one mark that a suffix rule takes off alone after the word's last
          // byte (`word,` `word)` `word.`): the affix loop strips the mark, then finds nothing
          // more in the word; only special cases (the whole chunk, or the word) change that.
          // No chunk cache.
          let whole = UnsafeBufferPointer(start: p + start, count: i &- start)
          if specials.mayContain(first: p[start], last: p[i &- 1], length: i &- start), let pieces = specials.pieces(whole) {
            Self.appendPieces(pieces, at: start, isSpace: false, pending)
          } else {
            let word = UnsafeBufferPointer(start: p + start, count: i &- 1 &- start)
            if specials.mayContain(first: p[start], last: p[i &- 2], length: i &- 1 &- start), let pieces = specials.pieces(word) {
              Self.appendPieces(pieces, at: start, isSpace: false, pending)
            } else {
              pending.append(Token(start: start, end: i &- 1, isSpace: false))
            }
            pending.append(Token(start: i &- 1, end: i, isSpace: false))
          }
        } else {
          chunk(text, start, i, isSpace: false, true, pending, scanned: true)
        }
        if pending.count >= flushAt { flushAt = emitSettled(text, pending, body) }
      }
    }
  }

  /// How many of the eight bytes of `x` (little-endian, first byte lowest) before the first
  /// one outside `a`…`z` are lowercase letters: 0…8. Each byte is tested within itself
  /// (`0x60 < b < 0x7B`, the "byte between" test, exact per byte since no sum crosses a byte).
  @inline(__always)
  static func lowercasePrefix(_ x: UInt64) -> Int {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let high: UInt64 = 0x8080_8080_8080_8080
    let low7 = x & (ones &* 0x7F)
    let between = ((ones &* (0x7F &+ 0x7B)) &- low7) & ~x & (low7 &+ ones &* (0x7F &- 0x60)) & high
    let outside = ~between & high
    return outside.trailingZeroBitCount >> 3
  }

  // MARK: - Step 1: whitespace

  mutating func tokenizeAffixes(_ text: UnsafeBufferPointer<UInt8>, withSpecialCases: Bool, into out: inout [Token]) {
    let list = TokenList()
    tokenizeAffixes(text, withSpecialCases: withSpecialCases, into: list)
    out.append(contentsOf: list.buffer)
  }

  private mutating func tokenizeAffixes(_ text: UnsafeBufferPointer<UInt8>, withSpecialCases: Bool, into out: TokenList) {
    ownDecodingScratch()
    var chunks = WhitespaceChunks(text)
    while let c = chunks.next() { chunk(text, c.start, c.end, isSpace: c.isSpace, withSpecialCases, out) }
  }

  // MARK: - Step 2: one chunk

  /// `scanned`: the byte scan found the chunk not to be one plain token (it has a scalar above
  /// ASCII, or an affix rule may cut it), so the quick one-token test is not made again.
  private mutating func chunk(
    _ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, isSpace: Bool, _ withSpecialCases: Bool,
    _ out: TokenList, scanned: Bool = false
  ) {
    // No affix rule matches whitespace.
    if isSpace && rules.spaceChunksAreWhole {
      out.append(Token(start: start, end: end, isSpace: true))
      return
    }
    let bytes = UnsafeBufferPointer(rebasing: text[start..<end])
    // Most chunks are plain ASCII words that no rule touches: one token, or a special case.
    if withSpecialCases && !scanned && asciiChunkIsOneToken(bytes) {
      if let pieces = rules.specials.pieces(bytes) {
        Self.appendPieces(pieces, at: start, isSpace: isSpace, out)
      } else {
        out.append(Token(start: start, end: end, isSpace: isSpace))
      }
      return
    }
    // A chunk's tokens depend on its bytes alone, and text repeats its words: remember
    // the pieces of short chunks (spaCy keeps such a cache too).
    guard withSpecialCases, end - start <= ChunkCache.maxKeyLength else {
      splitChunk(text, start, end, isSpace: isSpace, withSpecialCases, out, scanned: scanned)
      return
    }
    let h = ShortBytes.hash(bytes)
    if cache.emit(h, bytes, at: start, isSpace: isSpace, into: out) { return }
    let before = out.count
    splitChunk(text, start, end, isSpace: isSpace, withSpecialCases, out, scanned: scanned)
    cache.insert(h, bytes, tokens: UnsafeBufferPointer(start: out.base + before, count: out.count &- before), chunkStart: start)
  }

  private mutating func splitChunk(
    _ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, isSpace: Bool, _ withSpecialCases: Bool,
    _ out: TokenList, scanned: Bool
  ) {
    let bytes = UnsafeBufferPointer(rebasing: text[start..<end])
    if withSpecialCases, let pieces = rules.specials.pieces(bytes) {
      Self.appendPieces(pieces, at: start, isSpace: isSpace, out)
      return
    }
    if withSpecialCases && !scanned && asciiChunkIsOneToken(bytes) {
      out.append(Token(start: start, end: end, isSpace: isSpace))
      return
    }
    // Decode the chunk once; affix rules work on scalar positions.
    let ascii = decoded.decode(bytes)
    if !ascii && scalarChunkIsOneToken() {
      out.append(Token(start: start, end: end, isSpace: isSpace))
      return
    }
    splitAffixesAndAttach(bytes, base: start, isSpace: isSpace, withSpecialCases, out)
  }

  /// True when `bytes` is ASCII and provably one token: no prefix can start it, no
  /// infix can start inside it, and no suffix can end it (a suffix rule that needs a
  /// certain scalar before it, like a digit before `km`, cannot match when the chunk
  /// has no such scalar). The special-case table was checked already.
  private func asciiChunkIsOneToken(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = bytes.count
    let q = rules.quick
    if q.prefixStart[Int(bytes[0])] != 0 { return false }
    for b in bytes where q.infixStart[Int(b)] != 0 { return false }
    var last = bytes[n - 1]
    if last == 0x0A && n > 1 { last = bytes[n - 2] }
    if last >= 0x80 { return false }
    guard q.suffixEnd[Int(last)] != 0 else { return true }
    guard let gate = q.suffixGate[Int(last)] else { return false }
    return Self.noneInGate(UnsafeBufferPointer(rebasing: bytes.dropLast()), gate)
  }

  /// Whether the ASCII byte b is in the bitmap `set` (bit b of the pair).
  @inline(__always)
  static func inSet(_ b: UInt8, _ set: (UInt64, UInt64)) -> Bool {
    ((b < 64 ? set.0 >> UInt64(b) : set.1 >> UInt64(b &- 64)) & 1) != 0
  }

  /// Whether no byte of `bytes` (ASCII) is in `gate`, a 128-bit set of ASCII bytes.
  @inline(__always)
  static func noneInGate(_ bytes: UnsafeBufferPointer<UInt8>, _ gate: (UInt64, UInt64)) -> Bool {
    for b in bytes where inSet(b, gate) { return false }
    return true
  }

  /// The same test for a decoded chunk with non-ASCII scalars.
  private mutating func scalarChunkIsOneToken() -> Bool {
    let n = scalars.count
    if ruleEdges(scalars[0]) & RuleEdge.prefixStart != 0 { return false }
    for c in scalars where ruleEdges(c) & RuleEdge.infixStart != 0 { return false }
    var last = scalars[n - 1]
    if last == 0x0A && n > 1 { last = scalars[n - 2] }
    guard ruleEdges(last) & RuleEdge.suffixEnd != 0 else { return true }
    let box = suffixGate(last)
    guard let gate = box.gate else { return false }
    for c in scalars.dropLast() where gate.mayContain(c) { return false }
    return true
  }

  /// The union of the lookbehind gates of the suffix rules that may end with `c`, or
  /// nil when one of them has no gate.
  private mutating func suffixGate(_ c: UInt32) -> GateBox {
    if let hit = gateCache[c] { return hit }
    let r = GateBox(rules.suffixGate(forLast: c))
    gateCache[c] = r
    return r
  }

  private static func appendPieces(_ pieces: ArraySlice<Int32>, at start: Int, isSpace: Bool, _ out: TokenList) {
    var s = start
    for len in pieces {
      out.append(Token(start: s, end: s + Int(len), isSpace: isSpace))
      s += Int(len)
    }
  }

  private func slice(_ bytes: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(rebasing: bytes[Int(offsets[lo])..<Int(offsets[hi])])
  }

  private func isSpecial(_ bytes: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, _ on: Bool) -> Bool {
    on && rules.specials.contains(slice(bytes, lo, hi))
  }

  private mutating func splitAffixesAndAttach(
    _ bytes: UnsafeBufferPointer<UInt8>, base: Int, isSpace: Bool, _ specials: Bool, _ out: TokenList
  ) {
    prefixes.removeAll(keepingCapacity: true)
    suffixes.removeAll(keepingCapacity: true)
    var lo = 0
    var hi = scalars.count
    var lastSize = 0
    do {
      let all = scalars
      while hi > lo && hi - lo != lastSize {
        if isSpecial(bytes, lo, hi, specials) { break }
        lastSize = hi - lo
        let preLen = findPrefix(UnsafeBufferPointer(rebasing: all[lo..<hi]))
        if preLen != 0 {
          if lo + preLen < hi && isSpecial(bytes, lo + preLen, hi, specials) {
            prefixes.append(lo..<lo + preLen)
            lo += preLen
            break
          }
        }
        let sufLen = findSuffix(UnsafeBufferPointer(rebasing: all[(lo + preLen)..<hi]))
        if sufLen != 0 {
          if lo < hi - sufLen && isSpecial(bytes, lo, hi - sufLen, specials) {
            suffixes.append(hi - sufLen..<hi)
            hi -= sufLen
            break
          }
        }
        if preLen != 0 && sufLen != 0 && preLen + sufLen <= hi - lo {
          prefixes.append(lo..<lo + preLen)
          suffixes.append(hi - sufLen..<hi)
          lo += preLen
          hi -= sufLen
        } else if preLen != 0 {
          prefixes.append(lo..<lo + preLen)
          lo += preLen
        } else if sufLen != 0 {
          suffixes.append(hi - sufLen..<hi)
          hi -= sufLen
        }
      }
    }
    func token(_ r: Range<Int>) -> Token {
      Token(start: base + Int(offsets[r.lowerBound]), end: base + Int(offsets[r.upperBound]), isSpace: isSpace)
    }
    for r in prefixes { out.append(token(r)) }
    if hi > lo {
      let rest = slice(bytes, lo, hi)
      if specials, let pieces = rules.specials.pieces(rest) {
        Self.appendPieces(pieces, at: base + Int(offsets[lo]), isSpace: isSpace, out)
      } else if urlMatches(lo, hi) {
        out.append(token(lo..<hi))
      } else {
        findInfixes(lo, hi)
        if infixes.isEmpty {
          out.append(token(lo..<hi))
        } else {
          var start = lo
          for m in infixes {
            // spaCy skips an infix at the very start: it stays part of the next piece.
            if m.lowerBound == lo { continue }
            if m.lowerBound != start { out.append(token(start..<m.lowerBound)) }
            if !m.isEmpty { out.append(token(m)) }
            start = m.upperBound
          }
          if start < hi { out.append(token(start..<hi)) }
        }
      }
    }
    for r in suffixes.reversed() { out.append(token(r)) }
  }

  // MARK: - Rule searches (Python `re` semantics)

  private mutating func prefixCandidates(_ c: UInt32) -> [Int32] {
    if c < 128 { return rules.prefixByFirst[Int(c)] }
    if let hit = prefixCache[c] { return hit }
    let r = SpacyRules.indices(rules.prefixes) { $0.mayStart(with: c) }
    prefixCache[c] = r
    return r
  }

  private mutating func suffixCandidates(_ c: UInt32) -> [Int32] {
    if c < 128 { return rules.suffixByLast[Int(c)] }
    if let hit = suffixCache[c] { return hit }
    let r = SpacyRules.indices(rules.suffixes) { $0.mayEnd(with: c) }
    suffixCache[c] = r
    return r
  }

  private mutating func infixCandidates(_ c: UInt32) -> [Int32] {
    if c < 128 { return rules.infixByFirst[Int(c)] }
    if let hit = infixCache[c] { return hit }
    let r = SpacyRules.indices(rules.infixes) { $0.mayStart(with: c) }
    infixCache[c] = r
    return r
  }

  /// `prefix_search(string)`: the first alternative, in order, that matches at the start.
  mutating func findPrefix(_ s: UnsafeBufferPointer<UInt32>) -> Int {
    guard let c = s.first else { return 0 }
    if c < 128 {
      // Candidates and programs from raw tables, without reference counting.
      let r = tables.prefixRules
      guard r.mayStart(c) else { return 0 }
      return r.firstMatch(c, s, at: 0, &matcher) ?? 0
    }
    guard ruleEdges(c) & RuleEdge.prefixStart != 0 else { return 0 }
    for k in prefixCandidates(c) {
      if let e = matcher.match(rules.prefixes[Int(k)], s, at: 0) { return e }
    }
    return 0
  }

  /// `suffix_search(string)`: the leftmost position where some alternative matches to the end.
  mutating func findSuffix(_ s: UnsafeBufferPointer<UInt32>) -> Int {
    let n = s.count
    guard let last = s.last else { return 0 }
    unowned(unsafe) let t = tables
    // A string ending in ASCII (not a newline): candidates and widest match from raw tables.
    if last < 128 && last != 0x0A {
      let c = Int(last)
      let r = t.suffixRules
      let from = Int(r.start[c])
      let to = Int(r.start[c &+ 1])
      guard from < to else { return 0 }
      let widest = t.suffixWidest[c] < 0 ? n : Int(t.suffixWidest[c])
      return suffixSearch(s, UnsafeBufferPointer(start: r.list + from, count: to &- from), widest: widest)
    }
    // `$` also matches before a final newline: then every rule is a candidate.
    let lastKnown = last != 0x0A
    if lastKnown && ruleEdges(last) & RuleEdge.suffixEnd == 0 { return 0 }
    let candidates = lastKnown ? suffixCandidates(last) : rules.suffixes.indices.map(Int32.init)
    if candidates.isEmpty { return 0 }
    var widest = 0
    for k in candidates {
      guard let w = rules.suffixes[Int(k)].maxWidth else {
        widest = n
        break
      }
      widest = max(widest, w)
    }
    return candidates.withUnsafeBufferPointer { suffixSearch(s, $0, widest: widest) }
  }

  /// The leftmost position, among the last `widest`, where one of `candidates` (indices of
  /// suffix alternatives, in order) matches to the end: the length of that suffix, or 0.
  /// Programs are tried unretained (`ScanTables.suffixRules`).
  private mutating func suffixSearch(_ s: UnsafeBufferPointer<UInt32>, _ candidates: UnsafeBufferPointer<Int32>, widest: Int) -> Int {
    let r = tables.suffixRules
    let n = s.count
    for p in max(0, n &- widest)..<n {
      let ch = s[p]
      if ch < 128 {
        guard r.mayStart(ch) else { continue }
      } else {
        guard ruleEdges(ch) & RuleEdge.suffixStart != 0 else { continue }
      }
      for k in candidates {
        let found: Int? = r.programs[Int(k)]._withUnsafeGuaranteedRef { prog in
          if prog.minWidth > n &- p || !prog.mayStart(with: ch) { return nil }
          return matcher.match(prog, s, at: p)
        }
        if let e = found { return e &- p }
      }
    }
    return 0
  }

  /// `infix_finditer(string)`: non-overlapping matches, left to right.
  mutating func findInfixes(_ lo: Int, _ hi: Int) {
    infixes.removeAll(keepingCapacity: true)
    let all = scalars
    let r = tables.infixRules
    do {
      let s = UnsafeBufferPointer(rebasing: all[lo..<hi])
      var p = 0
      let n = s.count
      while p < n {
        let c = s[p]
        var matched = false
        if c < 128 {
          // Candidates and programs from raw tables, without reference counting.
          if r.mayStart(c), let e = r.firstMatch(c, s, at: p, &matcher) {
            infixes.append((lo + p)..<(lo + e))
            p = e > p ? e : p + 1
            matched = true
          }
        } else if ruleEdges(c) & RuleEdge.infixStart != 0 {
          for k in infixCandidates(c) {
            if let e = matcher.match(rules.infixes[Int(k)], s, at: p) {
              infixes.append((lo + p)..<(lo + e))
              p = e > p ? e : p + 1
              matched = true
              break
            }
          }
        }
        if !matched { p += 1 }
      }
    }
  }

  /// Whether `s[lo..<hi]` may match the URL pattern without scheme or user (an IP address or
  /// a host name, then an optional port and path). The host is a run of scalars from
  /// [A-Za-z0-9_.-] and U+00A1 and above (every scalar a label, a top-level domain or an IP
  /// address may hold) that the port or path (`:` `/` `?` `#`, none of them in the run) or the
  /// string's end must follow, so it is the longest such run at the start. It needs a dot;
  /// after its last dot come digits (IP) or a top-level domain of two or more lower-case or
  /// non-ASCII letters. A false here is exact; a true is settled by the pattern.
  static func mayBeHost(_ s: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int) -> Bool {
    var j = lo
    var lastDot = -1
    var onlyDigitsAndDots = true
    while j < hi {
      let c = s[j]
      if c == 0x2E {
        lastDot = j
      } else if c &- 0x30 < 10 {
      } else if c &- 0x61 < 26 || c &- 0x41 < 26 || c == 0x5F || c == 0x2D || c >= 0xA1 {
        onlyDigitsAndDots = false
      } else {
        break
      }
      j &+= 1
    }
    guard j == hi || s[j] == 0x3A || s[j] == 0x2F || s[j] == 0x3F || s[j] == 0x23, lastDot >= lo else { return false }
    if onlyDigitsAndDots { return true }
    guard j &- lastDot > 2 else { return false }
    for k in (lastDot &+ 1)..<j where !(s[k] &- 0x61 < 26 || s[k] >= 0x80) { return false }
    return true
  }

  /// Whether the ASCII string `s[lo..<hi]` matches spaCy 3.8's English URL pattern, worked out
  /// without the pattern; nil when `asciiHostMatch` leaves a part to the pattern (or for a
  /// scalar outside 0x21…0x7E). The scheme group, `[\w\+\-\.]{2,}://`, holds no `:` before
  /// its "://": it is empty, or everything before the first `:` when "://" follows there. The
  /// user group, `\S+(?::\S*)?@`, over a string without whitespace, is empty or any run that
  /// ends at an `@` after its first scalar. So the pattern matches when, after no scheme or
  /// that one, the host part (the pattern without scheme and user) matches what remains, or
  /// what follows one of its `@` past its first scalar.
  static func asciiURLMatch(_ s: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int) -> Bool? {
    for k in lo..<hi where s[k] < 0x21 || s[k] > 0x7E { return nil }
    guard let plain = asciiUserAndHostMatch(s, lo, hi) else { return nil }
    if plain { return true }
    var colon = lo
    while colon < hi && s[colon] != 0x3A { colon += 1 }
    guard colon - lo >= 2, colon + 2 < hi, s[colon + 1] == 0x2F, s[colon + 2] == 0x2F else { return false }
    for k in lo..<colon {
      let c = s[k]
      guard c &- 0x30 < 10 || c &- 0x41 < 26 || c &- 0x61 < 26 || c == 0x5F || c == 0x2B || c == 0x2D || c == 0x2E else {
        return false
      }
    }
    return asciiUserAndHostMatch(s, colon + 3, hi)
  }

  /// `asciiURLMatch` with an empty scheme group: the host part matches `s[lo..<hi]` or what
  /// follows one of its `@` past its first scalar (printable ASCII only).
  static func asciiUserAndHostMatch(_ s: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int) -> Bool? {
    /// The host part from `from`: a host starts with a letter, digit, `_`, `-` or `.` (the
    /// pattern needs a label or an IP address), else it cannot match.
    func hostMatch(_ from: Int) -> Bool? {
      guard from < hi, case let c = s[from], c &- 0x30 < 10 || c &- 0x41 < 26 || c &- 0x61 < 26 || c == 0x5F || c == 0x2D || c == 0x2E
      else { return false }
      return asciiHostMatch(s, from, hi)
    }
    guard let whole = hostMatch(lo) else { return nil }
    if whole { return true }
    var k = lo + 1
    while k < hi {
      if s[k] == 0x40 {
        guard let rest = hostMatch(k + 1) else { return nil }
        if rest { return true }
      }
      k += 1
    }
    return false
  }

  /// Whether the ASCII string `s[lo..<hi]` matches spaCy 3.8's English URL pattern without
  /// scheme and user, worked out without the pattern: nil (the pattern decides) for a string
  /// with a scalar outside 0x21…0x7E, or an IP address's digits and dots.
  ///
  /// For ASCII the pattern's host branch is `(label\.)+tld` then `(:\d{2,5})?([/?#]\S*)?$`:
  /// a label is 1–64 of [A-Za-z0-9_-], not starting or ending with `_` or `-`; the top-level
  /// domain 2–63 of [a-z]. No part of the host holds `:` `/` `?` `#`, and whatever follows
  /// the host starts with one of them, so the host is the longest run of [A-Za-z0-9_.-] at the
  /// start, cut into labels at every dot.
  static func asciiHostMatch(_ s: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int) -> Bool? {
    for k in lo..<hi where s[k] < 0x21 || s[k] > 0x7E { return nil }
    @inline(__always) func alnum(_ c: UInt32) -> Bool { c &- 0x30 < 10 || c &- 0x41 < 26 || c &- 0x61 < 26 }
    var j = lo
    var onlyDigitsAndDots = true
    while j < hi, case let c = s[j], alnum(c) || c == 0x2E || c == 0x5F || c == 0x2D {
      if c != 0x2E && !(c &- 0x30 < 10) { onlyDigitsAndDots = false }
      j &+= 1
    }
    if onlyDigitsAndDots { return nil }
    // What follows the host: an optional port of 2–5 digits, then an optional path.
    var k = j
    if k < hi && s[k] == 0x3A {
      k &+= 1
      let digits = k
      while k < hi && s[k] &- 0x30 < 10 { k &+= 1 }
      guard k &- digits >= 2 && k &- digits <= 5 else { return false }
    }
    guard k == hi || s[k] == 0x2F || s[k] == 0x3F || s[k] == 0x23 else { return false }
    // The host: labels, each ended by a dot, then the top-level domain.
    var segmentStart = lo
    var labels = 0
    for k in lo..<j where s[k] == 0x2E {
      let length = k &- segmentStart
      guard length >= 1 && length <= 64 && alnum(s[segmentStart]) && alnum(s[k &- 1]) else { return false }
      labels &+= 1
      segmentStart = k &+ 1
    }
    let tld = j &- segmentStart
    guard labels >= 1 && tld >= 2 && tld <= 63 else { return false }
    for k in segmentStart..<j where !(s[k] &- 0x61 < 26) { return false }
    return true
  }

  /// `url_match(string)`: the whole string is a URL.
  private mutating func urlMatches(_ lo: Int, _ hi: Int) -> Bool {
    // Both branches of the URL pattern need a dot: in an IP address between digits, in a host
    // name before its top-level domain of two or more characters from a class of lower-case
    // ASCII letters and non-ASCII letters. Without such a dot the pattern cannot match.
    var possible = false
    var k = lo
    while k + 1 < hi {
      if scalars[k] == 0x2E {
        let next = scalars[k + 1]
        let isDigit = { (c: UInt32) in c &- 0x30 < 10 }
        let tldLike = { (c: UInt32) in c &- 0x61 < 26 || c >= 0x80 }
        if (k > lo && isDigit(scalars[k - 1]) && isDigit(next)) || (k + 2 < hi && tldLike(next) && tldLike(scalars[k + 2])) {
          possible = true
          break
        }
      }
      k += 1
    }
    guard possible, var url = rules.url else { return false }
    if let plain = rules.urlWithoutSchemeOrUser {
      var scheme = false
      var user = false
      for k in lo..<hi {
        if scalars[k] == 0x40 {
          user = true
        } else if scalars[k] == 0x3A && k + 2 < hi && scalars[k + 1] == 0x2F && scalars[k + 2] == 0x2F {
          scheme = true
          break
        }
      }
      if scheme || user, rules.urlIsEnglish, let answer = Self.asciiURLMatch(scalars, lo, hi) {
        // A URL with its scheme (`https://…`) or an address (`name@host.org`): settled
        // without the pattern's backtracking over the scheme and user groups.
        return answer
      }
      if !scheme && !user {
        // A printable-ASCII host name is settled directly; other strings that cannot be a host
        // are settled by the pre-test.
        if rules.urlIsEnglish, let answer = Self.asciiHostMatch(scalars, lo, hi) { return answer }
        guard Self.mayBeHost(scalars, lo, hi) else { return false }
        url = plain
      }
    }
    return matcher.match(url, UnsafeBufferPointer(rebasing: scalars[lo..<hi]), at: 0) != nil
  }

  // MARK: - Step 3: special cases cut apart by affix rules

  private mutating func applySpecialCases(_ text: UnsafeBufferPointer<UInt8>, _ tokens: TokenList) {
    guard !tokens.isEmpty, !rules.phrases.isEmpty else { return }
    findSpecialCases(text, tokens.buffer, startingBefore: tokens.count)
    guard !matches.isEmpty else { return }
    if !isKnownUniquelyReferenced(&merged) { merged = TokenList() }
    let result = merged
    mergeSpecialCases(text, tokens.buffer, upTo: tokens.count, into: result)
    tokens.removeAll()
    tokens.append(contentsOf: result.buffer)
    // The scratch is kept for batches, not for a whole long text.
    result.removeAll(shrinkingAbove: 4 * batchSize)
  }

  /// Finds, into `matches`, every phrase match that starts before token `limit` (the tokens
  /// must reach `maxTokens - 1` past it, or to the end of the text).
  private mutating func findSpecialCases(
    _ text: UnsafeBufferPointer<UInt8>, _ tokens: UnsafeBufferPointer<Token>, startingBefore limit: Int
  ) {
    matches.removeAll(keepingCapacity: true)
    let phrases = rules.phrases
    phrases.startPairs.withUnsafeBufferPointer { pairs in
    for i in 0..<limit {
      let t = tokens[i]
      let n = t.end &- t.start
      guard n > 0 else { continue }
      let first = text[t.start]
      // Whether a phrase may start here, by this token's first byte and the next one's: most
      // tokens are passed over with this one lookup (`PhraseTable.startPairs`).
      if i &+ 1 < tokens.count && tokens[i &+ 1].end > tokens[i &+ 1].start {
        let bit = Int(first) << 8 | Int(text[tokens[i &+ 1].start])
        guard (pairs[bit >> 6] >> UInt64(bit & 63)) & 1 != 0 else { continue }
      } else {
        guard phrases.singlesByFirstByte[Int(first)] else { continue }
      }
      let g: Int
      if n == 1 {
        let one = phrases.oneByteGroup[Int(first)]
        guard one >= 0 else { continue }
        g = Int(one)
      } else {
        guard phrases.mayStart(first: first, last: text[t.end - 1], length: n),
          let found = phrases.group(UnsafeBufferPointer(rebasing: text[t.range]))
        else { continue }
        g = found
      }
      if phrases.hasSingles[g] {
        for k in phrases.singles(g) { matches.append((i, i + phrases.phrase(k).count)) }
      }
      guard i + 1 < tokens.count else { continue }
      let next = tokens[i + 1]
      guard next.end > next.start, PhraseTable.holds(phrases.secondFirstBytes[g], text[next.start]),
        let longer = phrases.following(g, UnsafeBufferPointer(rebasing: text[next.range]))
      else { continue }
      for k in longer {
        let phrase = phrases.phrase(k)
        guard i + phrase.count <= tokens.count else { continue }
        var ok = true
        for j in 2..<phrase.count where !phrases.equal(text, tokens[i + j], phrase[j]) {
          ok = false
          break
        }
        if ok { matches.append((i, i + phrase.count)) }
      }
    }
    }
  }

  /// `tokens[0..<end]` with the matches in `matches` (all within it) merged, into `result`
  /// (emptied first): longest first, then leftmost, a span kept when neither end token is
  /// taken, as spaCy filters them. Sorts `matches`; reuses `kept` and `result`'s memory.
  private mutating func mergeSpecialCases(
    _ text: UnsafeBufferPointer<UInt8>, _ tokens: UnsafeBufferPointer<Token>, upTo end: Int, into result: TokenList
  ) {
    result.removeAll()
    // Longest first, then leftmost; a span is kept when neither end token is taken.
    if matches.count > 1 {
      matches.sort { a, b in
        let la = a.end - a.start
        let lb = b.end - b.start
        return la != lb ? la > lb : a.start < b.start
      }
    }
    // The spans seen so far (kept or not) as ranges: a batch has few matches, so a linear
    // test beats a set of token indices.
    kept.removeAll(keepingCapacity: true)
    for (j, m) in matches.enumerated() {
      var taken = false
      for k in 0..<j where (matches[k].start <= m.start && m.start < matches[k].end)
        || (matches[k].start <= m.end - 1 && m.end - 1 < matches[k].end)
      {
        taken = true
        break
      }
      if !taken { kept.append(m) }
    }
    if kept.count > 1 { kept.sort { $0.start < $1.start } }
    result.reserve(end)
    var i = 0
    for m in kept {
      // The tokens before the span as they are, then the span merged.
      result.append(contentsOf: UnsafeBufferPointer(rebasing: tokens[i..<m.start]))
      let from = tokens[m.start].start
      let to = tokens[m.end - 1].end
      if let pieces = rules.specials.pieces(UnsafeBufferPointer(rebasing: text[from..<to])) {
        Self.appendPieces(pieces, at: from, isSpace: tokens[m.start].isSpace, result)
      } else {
        result.append(contentsOf: UnsafeBufferPointer(rebasing: tokens[m.start..<m.end]))
      }
      i = m.end
    }
    result.append(contentsOf: UnsafeBufferPointer(rebasing: tokens[i..<end]))
  }
}

/// Step 1 of the tokenizer as an iterator: the text's chunks between whitespace changes, with
/// the single space between two chunks dropped.
struct WhitespaceChunks {
  let text: UnsafeBufferPointer<UInt8>
  private var inSpace = false
  private var start = 0
  private var i = 0

  init(_ text: UnsafeBufferPointer<UInt8>) {
    self.text = text
    if !text.isEmpty { inSpace = UnicodeWhitespace.contains(UTF8Bytes.decode(text, at: 0).scalar) }
  }

  @inline(__always)
  mutating func next() -> (start: Int, end: Int, isSpace: Bool)? {
    let n = text.count
    guard let p = text.baseAddress else { return nil }
    while i < n {
      let b = p[i]
      let isSpace: Bool
      let len: Int
      if b < 0x80 {
        isSpace = UnicodeWhitespace.isASCIIWhitespace(b)
        len = 1
      } else {
        let (s, l) = UTF8Bytes.decode(text, at: i)
        isSpace = UnicodeWhitespace.contains(s)
        len = l
      }
      if isSpace != inSpace {
        let chunkStart = start
        let chunkIsSpace = inSpace
        start = b == 0x20 ? i + 1 : i
        inSpace.toggle()
        i += len
        if chunkStart < i - len { return (chunkStart, i - len, chunkIsSpace) }
        continue
      }
      i += len
    }
    if start < n {
      let chunkStart = start
      start = n
      return (chunkStart, n, inSpace)
    }
    return nil
  }
}

/// Chunk bytes → the lengths of its tokens, for chunks seen before. Bounded: when full it
/// starts over.
struct ChunkCache {
  static let maxKeyLength = 48
  /// When the entries reach this many, or their bytes this many, the cache starts over. The
  /// bytes stay under 2²⁴ (a slot holds 24 bits of offset). Tests set small limits.
  private let capacity: Int
  private let arenaLimit: Int
  private static let empty = UInt32.max
  /// Per slot: the entry's offset in `arena` (low 24 bits) and the top 8 bits of its hash, or
  /// `empty`. Twice the entries, grown as they come (a small task never touches the megabyte
  /// of a full table). A probe reads one slot, and then the one entry whose bits agree.
  private var slots = [UInt32](repeating: ChunkCache.empty, count: 1 << 12)
  private var entries = 0
  /// The entries, each in one run of bytes, so that a hit reads one or two cache lines: the
  /// 64-bit hash, the key's length, the token count, each token's byte length, the key.
  private var arena: [UInt8] = []

  init(capacity: Int = 1 << 17, bytes: Int = (1 << 24) - 1) {
    self.capacity = max(1, capacity)
    arenaLimit = min(max(bytes, 10 + 255 + Self.maxKeyLength), (1 << 24) - 1)
  }

  @inline(__always)
  private static func tag(_ h: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: h >> 56) << 24 }

  /// Appends the cached tokens of `bytes` (starting at `start` in the text) and returns true,
  /// or returns false when the chunk is not cached.
  func emit(
    _ h: UInt64, _ bytes: UnsafeBufferPointer<UInt8>, at start: Int, isSpace: Bool, into out: TokenList
  ) -> Bool {
    slots.withUnsafeBufferPointer { slots in
      arena.withUnsafeBufferPointer { arena in
        // Nothing cached yet: every slot is empty.
        guard let a = arena.baseAddress else { return false }
        let mask = slots.count &- 1
        let tag = Self.tag(h)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
          let e = slots[i]
          if e == Self.empty { return false }
          if e & 0xFF00_0000 == tag {
            let at = Int(e & 0x00FF_FFFF)
            let n = Int(a[at &+ 9])
            if UInt64(littleEndian: UnsafeRawPointer(a + at).loadUnaligned(as: UInt64.self)) == h && Int(a[at &+ 8]) == bytes.count
              && ShortBytes.equal(a + (at &+ 10 &+ n), bytes.baseAddress!, bytes.count)
            {
              var s = start
              for k in 0..<n {
                let len = Int(a[at &+ 10 &+ k])
                out.append(SpacyTokenizer.Token(start: s, end: s &+ len, isSpace: isSpace))
                s &+= len
              }
              return true
            }
          }
          i = (i &+ 1) & mask
        }
      }
    }
  }

  /// How many entries the cache holds, and whether a lookup of each finds it (for tests: a
  /// lost entry gives no wrong tokens, only a miss).
  func check() -> (entries: Int, allFound: Bool) {
    var at = 0
    var count = 0
    var allFound = true
    let out = TokenList()
    while at < arena.count {
      let h = UInt64(littleEndian: arena.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt64.self) })
      let len = Int(arena[at + 8])
      let n = Int(arena[at + 9])
      let key = Array(arena[(at + 10 + n)..<(at + 10 + n + len)])
      out.removeAll()
      let found = key.withUnsafeBufferPointer { emit(h, $0, at: 0, isSpace: false, into: out) }
      if !found || out.count != n { allFound = false }
      count += 1
      at += 10 + n + len
    }
    return (count, allFound && count == entries)
  }

  /// Places the entry at arena offset `at` (hash h) in the slots.
  private mutating func place(_ h: UInt64, at: Int) {
    let mask = slots.count - 1
    var i = Int(truncatingIfNeeded: h) & mask
    while slots[i] != Self.empty { i = (i + 1) & mask }
    slots[i] = Self.tag(h) | UInt32(at)
  }

  /// Doubles the slots and places the entries again.
  private mutating func growSlots() {
    slots = [UInt32](repeating: Self.empty, count: slots.count * 2)
    var at = 0
    while at < arena.count {
      let h = UInt64(littleEndian: arena.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt64.self) })
      place(h, at: at)
      at += 10 + Int(arena[at + 8]) + Int(arena[at + 9])
    }
  }

  mutating func insert(_ h: UInt64, _ bytes: UnsafeBufferPointer<UInt8>, tokens: UnsafeBufferPointer<SpacyTokenizer.Token>, chunkStart: Int) {
    // Pieces of a chunk are contiguous and within it (at most 48 bytes): lengths fit a byte.
    guard tokens.count < 256, bytes.count <= Self.maxKeyLength else { return }
    let size = 10 + tokens.count + bytes.count
    if entries >= capacity || arena.count + size > arenaLimit {
      for k in slots.indices { slots[k] = Self.empty }
      entries = 0
      arena.removeAll(keepingCapacity: true)
    }
    if (entries + 1) * 2 > slots.count { growSlots() }
    let at = arena.count
    place(h, at: at)
    entries += 1
    withUnsafeBytes(of: h.littleEndian) { arena.append(contentsOf: $0) }
    arena.append(UInt8(bytes.count))
    arena.append(UInt8(tokens.count))
    for t in tokens { arena.append(UInt8(t.end - t.start)) }
    arena.append(contentsOf: bytes)
  }
}

/// The chunk being split, decoded: its scalars and each one's byte offset in the chunk (plus
/// the chunk's end), in memory managed by hand and reused from chunk to chunk. Decoding writes
/// in place: an array's clearing, filling and trimming asked the runtime whether its storage
/// was shared, several calls per chunk.
final class ChunkScalars {
  @exclusivity(unchecked) private var scalarBase: UnsafeMutablePointer<UInt32>
  @exclusivity(unchecked) private var offsetBase: UnsafeMutablePointer<Int32>
  /// Room for this many scalars (and one offset more).
  @exclusivity(unchecked) private var capacity: Int
  @exclusivity(unchecked) private(set) var count = 0

  init(capacity: Int = 64) {
    self.capacity = max(capacity, 1)
    scalarBase = .allocate(capacity: self.capacity)
    offsetBase = .allocate(capacity: self.capacity + 1)
  }

  deinit {
    scalarBase.deallocate()
    offsetBase.deallocate()
  }

  /// The scalars of the last chunk decoded, valid until the next one is.
  var scalars: UnsafeBufferPointer<UInt32> { UnsafeBufferPointer(start: scalarBase, count: count) }
  /// Each scalar's byte offset in the chunk, then the chunk's length.
  var offsets: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: offsetBase, count: count &+ 1) }

  /// Decodes `bytes` (a chunk: its length fits `Int32`, as the tokenizer's offsets do), one
  /// scalar per UTF-8 sequence (`UTF8Bytes.decode`, a replacement for each bad byte). Returns
  /// whether every byte was ASCII.
  func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = bytes.count
    // At most one scalar per byte.
    if n > capacity {
      scalarBase.deallocate()
      offsetBase.deallocate()
      capacity = max(n, capacity &* 2)
      scalarBase = .allocate(capacity: capacity)
      offsetBase = .allocate(capacity: capacity &+ 1)
    }
    var ascii = true
    var k = 0
    var i = 0
    while i < n {
      let b = bytes[i]
      offsetBase[k] = Int32(truncatingIfNeeded: i)
      if b < 0x80 {
        scalarBase[k] = UInt32(b)
        i &+= 1
      } else {
        let (s, l) = UTF8Bytes.decode(bytes, at: i)
        scalarBase[k] = s.value
        i &+= l
        ascii = false
      }
      k &+= 1
    }
    offsetBase[k] = Int32(truncatingIfNeeded: n)
    count = k
    return ascii
  }
}

/// A growable list of tokens in memory managed by hand, for the tokenizer's scan: an append
/// checks for room only (an array's append also asked the runtime whether its storage was
/// shared, a call per token). Tokens are plain values, moved as bytes.
final class TokenList {
  typealias Token = SpacyTokenizer.Token
  @exclusivity(unchecked) private(set) var base: UnsafeMutablePointer<Token>
  @exclusivity(unchecked) private(set) var count = 0
  @exclusivity(unchecked) private(set) var capacity: Int

  init(capacity: Int = 256) {
    self.capacity = max(capacity, 16)
    base = .allocate(capacity: self.capacity)
  }

  deinit { base.deallocate() }

  var isEmpty: Bool { count == 0 }
  /// The tokens, valid until the list next changes.
  var buffer: UnsafeBufferPointer<Token> { UnsafeBufferPointer(start: base, count: count) }

  @inline(__always) subscript(i: Int) -> Token { base[i] }

  @inline(__always) func append(_ t: Token) {
    if count == capacity { reserve(count &+ 1) }
    (base + count).initialize(to: t)
    count &+= 1
  }

  func append(contentsOf tokens: UnsafeBufferPointer<Token>) {
    guard let from = tokens.baseAddress, !tokens.isEmpty else { return }
    reserve(count + tokens.count)
    (base + count).initialize(from: from, count: tokens.count)
    count += tokens.count
  }

  /// Room for `n` tokens in all.
  func reserve(_ n: Int) {
    guard let grown = HandManagedMemory.grown(base, capacity: capacity, keeping: count, toHold: n) else { return }
    (base, capacity) = grown
  }

  func removeAll() { count = 0 }

  /// Empty; the memory is given back when it is more than `limit` tokens' worth (a long
  /// text's tokens are not held after it).
  func removeAll(shrinkingAbove limit: Int) {
    count = 0
    if capacity > max(limit, 16) {
      base.deallocate()
      capacity = max(limit, 16)
      base = .allocate(capacity: capacity)
    }
  }

  /// Drops the first `k` tokens, moving the rest to the front.
  func removeFirst(_ k: Int) {
    precondition(k >= 0 && k <= count)
    guard k > 0 else { return }
    let rest = count - k
    // The two ranges overlap: memmove.
    memmove(base, base + k, rest * MemoryLayout<Token>.stride)
    count = rest
  }
}
