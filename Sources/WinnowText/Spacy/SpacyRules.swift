/// spaCy's tokenizer rules, compiled once and shared (immutable).
/// `@unchecked`: `phrases`, the one `var`, is only set inside `init`.
final class SpacyRules: @unchecked Sendable {
  let prefixes: [RegexProgram]
  let suffixes: [RegexProgram]
  let infixes: [RegexProgram]
  let url: RegexProgram?
  /// `url` without its optional scheme (`…://`) and user (`…@`) groups, when the pattern
  /// starts with spaCy's: for a string with neither "://" nor "@" those groups can only be
  /// empty, so this matches exactly when `url` does, without `\S+(?::\S*)?@`'s backtracking
  /// over the whole string first.
  let urlWithoutSchemeOrUser: RegexProgram?
  /// Whether the URL pattern is spaCy 3.8's English one, whose plain branch
  /// (`SpacyTokenizer.asciiHostMatch`) an ASCII string can be matched against without the
  /// pattern's engine.
  let urlIsEnglish: Bool
  /// spaCy's URL pattern's opening: anchor, scheme group, user group.
  static let urlSchemeAndUser = #"(?u)^(?:(?:[\w\+\-\.]{2,})://)?(?:\S+(?::\S*)?@)?"#
  /// Quick rejection: scalars that can start a prefix / start or end a suffix / start an infix.
  let prefixStart: ScalarUnion
  let suffixStart: ScalarUnion
  let suffixEnd: ScalarUnion
  let infixStart: ScalarUnion
  /// For each ASCII scalar, the alternatives (indices, in order) that may start / end with it,
  /// so that a chunk does not walk every rule. Other scalars are looked up by `candidates`.
  let prefixByFirst: [[Int32]]
  let suffixByLast: [[Int32]]
  let infixByFirst: [[Int32]]
  let specials: SpecialCaseTable
  /// Byte tables for the one-token test of ASCII chunks.
  struct Quick: Sendable {
    var prefixStart = [UInt8](repeating: 0, count: 256)
    var infixStart = [UInt8](repeating: 0, count: 256)
    var suffixEnd = [UInt8](repeating: 0, count: 256)
    /// For an ASCII last byte: the ASCII bytes a suffix rule ending with it needs before
    /// it (all of its rules have a lookbehind gate), as a bitmap; nil when one has no gate.
    var suffixGate = [(UInt64, UInt64)?](repeating: nil, count: 128)
    /// Per byte, what the fused chunk scan needs in one lookup (`ByteClass` bits).
    var byteClass = [UInt8](repeating: 0, count: 256)
    /// For an ASCII first (last) byte whose prefix (suffix) alternatives are all fixed strings
    /// (`A$`, `US$`; `'s`, `'S`) or, for suffixes, gated by a one-scalar lookbehind: `known` 1,
    /// the strings in `literals[literalStart ..< literalStart + literalCount]`, and the union
    /// of the gates (`gatedGate`, empty when none is gated). A chunk that holds none of those
    /// strings at that end, and no byte of the gate, has no such affix. `known` 0 otherwise.
    var prefixCheck = [AffixCheck](repeating: AffixCheck(), count: 128)
    var suffixCheck = [AffixCheck](repeating: AffixCheck(), count: 128)
    /// For an ASCII last byte c, the ASCII bytes b (a bitmap) such that the suffix search of
    /// any string ending with b c finds c alone: an alternative matches c there whatever comes
    /// before b, and none can match wider (none that may end with c takes b). `.` is a suffix
    /// after a lowercase letter, but not after `.` (`\.\.+`) or one capital (`U.S.`).
    var suffixAloneAfter = [(UInt64, UInt64)](repeating: (0, 0), count: 128)
    /// The fixed strings, UTF-8 (while building), then all in a row: string k is
    /// `literalBytes[literalOffsets[k] ..< literalOffsets[k + 1]]`.
    var literals: [[UInt8]] = []
    var literalBytes: [UInt8] = []
    var literalOffsets: [Int32] = [0]
  }

  struct AffixCheck: Sendable {
    var known: UInt8 = 0
    var literalStart: Int32 = 0
    var literalCount: Int32 = 0
    var gatedGate: (UInt64, UInt64) = (0, 0)
  }

  /// The bits of `Quick.byteClass`.
  enum ByteClass {
    /// ASCII whitespace (Python's `str.isspace` below 0x80).
    static let space: UInt8 = 1
    /// A byte of a multi-byte UTF-8 sequence: the scalar must be decoded.
    static let high: UInt8 = 2
    /// An infix rule may start with it.
    static let infix: UInt8 = 4
    /// A prefix rule may start with it.
    static let prefix: UInt8 = 8
    /// A suffix rule may end with it.
    static let suffixEnd: UInt8 = 16
    /// At the end of a string it is a suffix alone after some ASCII bytes
    /// (`Quick.suffixAloneAfter`): `,` `)` `;` after any, `.` after a lowercase letter or a
    /// digit. Set only when `.` starts an infix, so that a string without infix bytes cannot
    /// be a URL.
    static let suffixAlone: UInt8 = 32
  }
  let quick: Quick
  /// What the fused chunk scan reads, as raw memory owned here: the scan takes one reference
  /// per text instead of one per table.
  let scan: ScanTables

  final class ScanTables: @unchecked Sendable {
    let byteClass: UnsafeMutablePointer<UInt8>
    let prefixCheck: UnsafeMutablePointer<AffixCheck>
    let suffixCheck: UnsafeMutablePointer<AffixCheck>
    let suffixAloneAfter: UnsafeMutablePointer<(UInt64, UInt64)>
    let literalBytes: UnsafeMutablePointer<UInt8>
    let literalOffsets: UnsafeMutablePointer<Int32>
    /// For the suffix search of a string ending with an ASCII byte c: the widest match any
    /// suffix alternative that may end with c can make (-1: unbounded).
    let suffixWidest: UnsafeMutablePointer<Int32>
    /// Whether the lowercase ASCII letters are plain inside a chunk: none is whitespace, and no
    /// infix rule starts with one. The scan then passes over a run of them eight bytes at a
    /// time (what else a letter's class says matters only at a chunk's edges).
    let lowercaseRunsArePlain: Bool
    /// The prefix alternatives that may start with an ASCII scalar, the infix ones, and the
    /// suffix ones that may end with it, as raw tables: trying them costs no reference
    /// counting (see `RuleCandidates`).
    let prefixRules: RuleCandidates
    let infixRules: RuleCandidates
    let suffixRules: RuleCandidates

    /// For an ASCII scalar c, the alternatives of one rule kind that a string may match there
    /// (prefixes and infixes that may start with c, suffixes that may end with it):
    /// `programs[list[start[c] ..< start[c + 1]]]`, in the rules' order, held unretained (the
    /// rules own them); `startASCII` holds the ASCII scalars some alternative may start with.
    struct RuleCandidates: @unchecked Sendable {
      let start: UnsafeMutablePointer<Int32>
      let list: UnsafeMutablePointer<Int32>
      let programs: UnsafeMutablePointer<Unmanaged<RegexProgram>>
      let startASCII: (UInt64, UInt64)

      init(_ programs: [RegexProgram], byScalar: [[Int32]], starts: ScalarUnion) {
        var offsets: [Int32] = [0]
        var flat: [Int32] = []
        for c in 0..<128 {
          flat += byScalar[c]
          offsets.append(Int32(flat.count))
        }
        start = .allocate(capacity: offsets.count)
        start.initialize(from: offsets, count: offsets.count)
        list = .allocate(capacity: max(flat.count, 1))
        list.initialize(from: flat, count: flat.count)
        self.programs = .allocate(capacity: max(programs.count, 1))
        self.programs.initialize(from: programs.map { Unmanaged.passUnretained($0) }, count: programs.count)
        var bits: (UInt64, UInt64) = (0, 0)
        for c in 0..<128 where starts.mayContain(UInt32(c)) { addASCII(c, to: &bits) }
        startASCII = bits
      }

      /// Whether some alternative may start with the ASCII scalar c.
      @inline(__always)
      func mayStart(_ c: UInt32) -> Bool {
        ((c < 64 ? startASCII.0 >> UInt64(c) : startASCII.1 >> UInt64(c &- 64)) & 1) != 0
      }

      /// The end of the match of the first alternative, in the rules' order, among those for the
      /// ASCII scalar `c` that matches `s` at `p`; nil when none does.
      @inline(__always)
      func firstMatch(_ c: UInt32, _ s: UnsafeBufferPointer<UInt32>, at p: Int, _ matcher: inout RegexMatcher) -> Int? {
        for j in Int(start[Int(c)])..<Int(start[Int(c) &+ 1]) {
          let e: Int? = programs[Int(list[j])]._withUnsafeGuaranteedRef { matcher.match($0, s, at: p) }
          if let e { return e }
        }
        return nil
      }

      func free() {
        start.deallocate()
        list.deallocate()
        programs.deallocate()
      }
    }

    init(
      _ q: Quick, suffixes: [RegexProgram], suffixByLast: [[Int32]], suffixStart: ScalarUnion,
      prefixRules: RuleCandidates, infixRules: RuleCandidates
    ) {
      self.prefixRules = prefixRules
      self.infixRules = infixRules
      suffixRules = RuleCandidates(suffixes, byScalar: suffixByLast, starts: suffixStart)
      func copy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
        p.initialize(from: a, count: a.count)
        return p
      }
      byteClass = copy(q.byteClass)
      prefixCheck = copy(q.prefixCheck)
      suffixCheck = copy(q.suffixCheck)
      suffixAloneAfter = copy(q.suffixAloneAfter)
      literalBytes = copy(q.literalBytes)
      literalOffsets = copy(q.literalOffsets)
      var widest: [Int32] = []
      for c in 0..<128 {
        var w: Int32 = 0
        for k in suffixByLast[c] {
          guard let m = suffixes[Int(k)].maxWidth else {
            w = -1
            break
          }
          w = max(w, Int32(m))
        }
        widest.append(w)
      }
      suffixWidest = copy(widest)
      let notPlain = ByteClass.space | ByteClass.high | ByteClass.infix
      lowercaseRunsArePlain = (UInt8(ascii: "a")...UInt8(ascii: "z")).allSatisfy { q.byteClass[Int($0)] & notPlain == 0 }
    }

    deinit {
      byteClass.deallocate()
      prefixCheck.deallocate()
      suffixCheck.deallocate()
      suffixAloneAfter.deallocate()
      literalBytes.deallocate()
      literalOffsets.deallocate()
      suffixWidest.deallocate()
      prefixRules.free()
      infixRules.free()
      suffixRules.free()
    }
  }
  /// Special cases that the affix rules split, as token sequences to find again.
  /// Set once, at the end of `init` (building it needs a tokenizer over these rules).
  private(set) var phrases: PhraseTable
  let sentencePunctuation: Set<UInt32>
  /// Whether a chunk of whitespace is always one token (no special case splits whitespace).
  let spaceChunksAreWhole: Bool

  static let english: SpacyRules = {
    do {
      return try SpacyRules(
        prefix: SpacyEnglishTables.prefixRegex, suffix: SpacyEnglishTables.suffixRegex,
        infix: SpacyEnglishTables.infixRegex, url: SpacyEnglishTables.urlMatch,
        // Split as contiguous bytes: splitting a String by Character walks grapheme clusters,
        // and a split of its UTF-8 view steps through string indices, both a noticeable part
        // of every process start.
        specialCases: utf8Fields(SpacyEnglishTables.specialCases, records: 0x1E, fields: 0x1F),
        sentencePunctuation: utf8Fields(SpacyEnglishTables.sentencePunctuation, records: 0x0A, fields: nil).map { $0[0] })
    } catch {
      fatalError("spaCy English tables do not compile: \(error)")
    }
  }()

  /// The records of `text` (separated by the byte `records`, empty ones dropped), each cut into
  /// its fields at the byte `fields` (empty fields kept), or one field per record when nil.
  static func utf8Fields(_ text: String, records: UInt8, fields: UInt8?) -> [[String]] {
    var text = text
    return text.withUTF8 { bytes in
      bytes.split(separator: records).map { record in
        guard let fields else { return [String(decoding: record, as: UTF8.self)] }
        return record.split(separator: fields, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
      }
    }
  }

  init(
    prefix: String, suffix: String, infix: String, url urlPattern: String, specialCases: [[String]], sentencePunctuation: [String]
  ) throws(RuleRegexError) {
    prefixes = try RegexParser.parse(prefix).alternatives.map(RegexProgram.init)
    suffixes = try RegexParser.parse(suffix).alternatives.map(RegexProgram.init)
    infixes = try RegexParser.parse(infix).alternatives.map(RegexProgram.init)
    url = urlPattern.isEmpty ? nil : RegexProgram(try RegexParser.parse(urlPattern))
    urlIsEnglish = urlPattern == SpacyEnglishTables.urlMatch
    urlWithoutSchemeOrUser =
      urlPattern.hasPrefix(Self.urlSchemeAndUser)
      ? RegexProgram(try RegexParser.parse("(?u)^" + urlPattern.dropFirst(Self.urlSchemeAndUser.count))) : nil
    prefixStart = ScalarUnion(prefixes.map { ($0.firstSets, $0.firstNullable) })
    suffixStart = ScalarUnion(suffixes.map { ($0.firstSets, $0.firstNullable) })
    suffixEnd = ScalarUnion(suffixes.map { ($0.lastSets, $0.lastNullable) })
    infixStart = ScalarUnion(infixes.map { ($0.firstSets, $0.firstNullable) })
    specials = SpecialCaseTable(specialCases)
    let (pre, suf, inf) = (prefixes, suffixes, infixes)
    prefixByFirst = (0..<128).map { c in Self.indices(pre) { $0.mayStart(with: UInt32(c)) } }
    suffixByLast = (0..<128).map { c in Self.indices(suf) { $0.mayEnd(with: UInt32(c)) } }
    infixByFirst = (0..<128).map { c in Self.indices(inf) { $0.mayStart(with: UInt32(c)) } }
    var q = Quick()
    for c in 0..<128 {
      q.prefixStart[c] = prefixStart.mayContain(UInt32(c)) ? 1 : 0
      q.infixStart[c] = infixStart.mayContain(UInt32(c)) ? 1 : 0
      q.suffixEnd[c] = suffixEnd.mayContain(UInt32(c)) ? 1 : 0
      if let g = Self.gate(suf, forLast: UInt32(c)) {
        var bits: (UInt64, UInt64) = (0, 0)
        for b in 0..<128 where g.mayContain(UInt32(b)) { addASCII(b, to: &bits) }
        q.suffixGate[c] = bits
      }
    }
    for c in 0..<128 {
      q.prefixCheck[c] = Self.affixCheck(prefixByFirst[c].map { pre[Int($0)] }, prefix: true, &q.literals)
      q.suffixCheck[c] = Self.affixCheck(suffixByLast[c].map { suf[Int($0)] }, prefix: false, &q.literals)
    }
    // An alternative that can match nothing would make any string's suffix search find an
    // empty match: then no byte is known to be a suffix alone.
    if suf.allSatisfy({ $0.minWidth > 0 }) {
      for c in 0..<128 {
        let ends = suffixByLast[c].map { suf[Int($0)] }
        let wide = ends.filter { ($0.maxWidth ?? Int.max) > 1 }
        for b in 0..<128 {
          let v = UInt32(c)
          let before = UInt32(b)
          guard ends.contains(where: { $0.matchesAloneAtEnd(v, after: before) }),
            !wide.contains(where: { $0.mayConsume(before) })
          else { continue }
          addASCII(b, to: &q.suffixAloneAfter[c])
        }
      }
    }
    for l in q.literals {
      q.literalBytes += l
      q.literalOffsets.append(Int32(q.literalBytes.count))
    }
    // Bytes above ASCII: never "plain ASCII".
    for c in 128..<256 {
      q.prefixStart[c] = 1
      q.infixStart[c] = 1
      q.suffixEnd[c] = 1
    }
    for c in 0..<256 {
      var k: UInt8 = c >= 0x80 ? ByteClass.high : 0
      if c < 0x80 && UnicodeWhitespace.isASCIIWhitespace(UInt8(c)) { k |= ByteClass.space }
      if q.infixStart[c] != 0 { k |= ByteClass.infix }
      if q.prefixStart[c] != 0 { k |= ByteClass.prefix }
      if q.suffixEnd[c] != 0 { k |= ByteClass.suffixEnd }
      if c < 0x80 && q.infixStart[0x2E] != 0 && q.suffixAloneAfter[c] != (0, 0) {
        k |= ByteClass.suffixAlone
      }
      q.byteClass[c] = k
    }
    quick = q
    scan = ScanTables(
      q, suffixes: suf, suffixByLast: suffixByLast, suffixStart: suffixStart,
      prefixRules: .init(pre, byScalar: prefixByFirst, starts: prefixStart),
      infixRules: .init(inf, byScalar: infixByFirst, starts: infixStart))
    var punct = Set<UInt32>()
    for p in sentencePunctuation {
      let s = Array(p.unicodeScalars)
      if s.count == 1 { punct.insert(s[0].value) }
    }
    self.sentencePunctuation = punct
    // Whitespace chunks are their own single token when every all-whitespace special case
    // maps to itself (true for English: " ", "\t", "\n").
    spaceChunksAreWhole = specialCases.allSatisfy { entry in
      let isSpace = entry[0].unicodeScalars.allSatisfy { UnicodeWhitespace.contains($0) }
      return !isSpace || (entry.count == 2 && entry[1] == entry[0])
    }
    phrases = PhraseTable(patterns: [])
    var patterns: [[[UInt8]]] = []
    // Which special cases spaCy also hands to its phrase matcher: those that an
    // affix rule would cut, or that hold a space (`faster_heuristics`).
    var tokenizer = SpacyTokenizer(rules: self)
    var tokens: [SpacyTokenizer.Token] = []
    for entry in specialCases {
      let key = entry[0]
      var bytes = Array(key.utf8)
      let cut = bytes.withUnsafeMutableBufferPointer { b in
        tokenizer.wouldCut(UnsafeBufferPointer(b))
      }
      guard cut || key.utf8.contains(0x20) else { continue }
      bytes.withUnsafeBufferPointer { b in
        tokens.removeAll()
        tokenizer.tokenizeAffixes(b, withSpecialCases: false, into: &tokens)
        patterns.append(tokens.map { Array(b[$0.range]) })
      }
    }
    phrases = PhraseTable(patterns: patterns)
  }

  func suffixGate(forLast c: UInt32) -> ScalarUnion? { Self.gate(suffixes, forLast: c) }

  /// The `AffixCheck` of the alternatives that may start (end) a string with one ASCII
  /// byte, their fixed strings appended to `literals`.
  static func affixCheck(_ programs: [RegexProgram], prefix: Bool, _ literals: inout [[UInt8]]) -> AffixCheck {
    var check = AffixCheck()
    check.literalStart = Int32(literals.count)
    var found: [[UInt8]] = []
    var gate: (UInt64, UInt64) = (0, 0)
    for p in programs {
      if let lit = p.literal(anchoredStart: prefix, anchoredEnd: !prefix) {
        found.append(Array(String(String.UnicodeScalarView(lit.compactMap(Unicode.Scalar.init))).utf8))
      } else if !prefix, let g = p.gate {
        for b in 0..<128 where g.contains(UInt32(b)) { addASCII(b, to: &gate) }
      } else {
        return AffixCheck()
      }
    }
    literals += found
    check.known = 1
    check.literalCount = Int32(found.count)
    check.gatedGate = gate
    return check
  }

  static func gate(_ programs: [RegexProgram], forLast c: UInt32) -> ScalarUnion? {
    var gates: [ScalarSet] = []
    for p in programs where p.mayEnd(with: c) {
      guard let g = p.gate else { return nil }
      gates.append(g)
    }
    return ScalarUnion([(gates, false)])
  }

  static func indices(_ programs: [RegexProgram], where ok: (RegexProgram) -> Bool) -> [Int32] {
    programs.indices.filter { ok(programs[$0]) }.map(Int32.init)
  }

  /// spaCy's sentencizer over a token sequence: a sentence ends after a token that is a
  /// sentence-final mark, at the next token that is not punctuation.
  func sentenceCount(_ text: UnsafeBufferPointer<UInt8>, _ tokens: [SpacyTokenizer.Token]) -> Int {
    var counter = SentenceCounter()
    for t in tokens { counter.add(text, t, self) }
    return counter.sentences
  }

  func isSentenceFinal(_ text: UnsafeBufferPointer<UInt8>, _ t: SpacyTokenizer.Token) -> Bool {
    let n = t.end - t.start
    guard n > 0, n <= 4 else { return false }
    let (s, len) = UTF8Bytes.decode(text, at: t.start)
    return len == n && sentencePunctuation.contains(s.value)
  }

  /// spaCy's `is_punct`: every character is in a Unicode punctuation category (P*).
  static func isPunctuation(_ text: UnsafeBufferPointer<UInt8>, _ t: SpacyTokenizer.Token) -> Bool {
    var all = true
    UTF8Bytes.forEachScalar(in: UnsafeBufferPointer(rebasing: text[t.range])) { s, _ in
      switch s.properties.generalCategory {
      case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
        .initialPunctuation, .finalPunctuation, .otherPunctuation:
        break
      default: all = false
      }
    }
    return all
  }
}

/// spaCy's sentencizer fed one token at a time, so that the tokens need not be held.
struct SentenceCounter {
  private var tokens = 0
  private var count = 1
  private var seenPeriod = false

  @inline(__always)
  mutating func add(_ text: UnsafeBufferPointer<UInt8>, _ t: SpacyTokenizer.Token, _ rules: SpacyRules) {
    tokens &+= 1
    let isFinal = rules.isSentenceFinal(text, t)
    if seenPeriod && !isFinal && !SpacyRules.isPunctuation(text, t) {
      count += 1
      seenPeriod = false
    } else if isFinal {
      seenPeriod = true
    }
  }

  /// Sentences so far (none without tokens).
  var sentences: Int { tokens == 0 ? 0 : count }
}

extension SpacyTokenizer {
  /// Whether a prefix, suffix or infix rule matches `text` (spaCy's test for
  /// handing a special case to its phrase matcher).
  mutating func wouldCut(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    // The texts are the rules' own special cases, valid UTF-8.
    ownDecodingScratch()
    _ = decoded.decode(text)
    let s = scalars
    let n = s.count
    if findPrefix(s) != 0 || findSuffix(s) != 0 { return true }
    findInfixes(0, n)
    return !infixes.isEmpty
  }
}

/// A union of scalar sets for quick rejection: plain sets merged into one
/// range list, ASCII resolved to a bitmap.
final class ScalarUnion: Sendable {
  private let ascii: (UInt64, UInt64)
  private let merged: ScalarSet
  private let complex: [ScalarSet]
  private let everything: Bool

  /// A class: copying a union out of a rule or a cache is one reference, not one per array.
  init(_ parts: [([ScalarSet], Bool)]) {
    var ranges: [ClosedRange<UInt32>] = []
    var all: [ScalarSet] = []
    var complex: [ScalarSet] = []
    var everything = false
    for (sets, nullable) in parts {
      if nullable { everything = true }
      for s in sets {
        all.append(s)
        if s.isPlain { ranges += s.ranges } else { complex.append(s) }
      }
    }
    merged = ScalarSet(ranges: ranges, classes: [], negated: false)
    self.complex = complex
    self.everything = everything
    var bits: (UInt64, UInt64) = (0, 0)
    for c in 0..<128 where all.contains(where: { $0.contains(UInt32(c)) }) { addASCII(c, to: &bits) }
    ascii = bits
  }

  @inline(__always)
  func mayContain(_ v: UInt32) -> Bool {
    if everything { return true }
    if v < 64 { return (ascii.0 >> UInt64(v)) & 1 != 0 }
    if v < 128 { return (ascii.1 >> UInt64(v - 64)) & 1 != 0 }
    if merged.contains(v) { return true }
    for s in complex where s.contains(v) { return true }
    return false
  }
}

/// Adds the ASCII scalar c (0…127) to a 128-bit set: bit c of the pair, low word first
/// (`SpacyTokenizer.inSet` reads it).
func addASCII(_ c: Int, to set: inout (UInt64, UInt64)) {
  if c < 64 { set.0 |= 1 << UInt64(c) } else { set.1 |= 1 << UInt64(c - 64) }
}

/// Hashing and comparing short byte strings (chunks, special-case keys), eight bytes at a time.
enum ShortBytes {
  @inline(__always)
  static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
    let n = b.count
    guard let base = b.baseAddress else { return 0 }
    let p = UnsafeRawPointer(base)
    var h = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
    var i = 0
    while i &+ 8 <= n {
      h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
      h ^= h >> 29
      i &+= 8
    }
    var tail: UInt64 = 0
    while i < n {
      tail = tail << 8 | UInt64(base[i])
      i &+= 1
    }
    h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
    return h ^ (h >> 32)
  }

  /// Whether the `n` bytes at `a` and at `b` are equal.
  @inline(__always)
  static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    let x = UnsafeRawPointer(a)
    let y = UnsafeRawPointer(b)
    var k = 0
    while k &+ 8 <= n {
      if x.loadUnaligned(fromByteOffset: k, as: UInt64.self) != y.loadUnaligned(fromByteOffset: k, as: UInt64.self) {
        return false
      }
      k &+= 8
    }
    while k < n {
      if a[k] != b[k] { return false }
      k &+= 1
    }
    return true
  }
}

/// The special-case table: chunk text → the lengths (bytes) of its pieces.
final class SpecialCaseTable: Sendable {
  private let keys: [UInt8]
  private let slots: [Int32]
  private let entries: [(keyStart: Int32, keyLength: Int32, piecesStart: Int32, pieceCount: Int32)]
  private let pieceLengths: [Int32]
  private let mask: Int
  let maxKeyLength: Int
  /// (first byte, last byte, length) of the keys, as bits: most words are rejected without
  /// hashing. Lengths above 15 share one value.
  /// Empty for small tables, which a probe answers as fast.
  private let edges: [UInt64]

  /// A class, so that the tokenizer holds it by one reference instead of copying its arrays'
  /// references for every text.
  init(_ cases: [[String]], edges withEdges: Bool = true) {
    var size = 16
    while size < cases.count * 3 { size <<= 1 }
    var slots = [Int32](repeating: -1, count: size)
    let mask = size - 1
    var edges: [UInt64] = withEdges && cases.count > 16 ? [UInt64](repeating: 0, count: 1 << 14) : []
    var keys: [UInt8] = []
    var entries: [(keyStart: Int32, keyLength: Int32, piecesStart: Int32, pieceCount: Int32)] = []
    var pieceLengths: [Int32] = []
    var maxKeyLength = 0
    for entry in cases {
      let key = Array(entry[0].utf8)
      maxKeyLength = max(maxKeyLength, key.count)
      if !edges.isEmpty, let f = key.first, let l = key.last {
        let bit = Self.edgeBit(f, l, key.count)
        edges[bit >> 6] |= 1 << UInt64(bit & 63)
      }
      let e = (Int32(keys.count), Int32(key.count), Int32(pieceLengths.count), Int32(entry.count - 1))
      keys += key
      for piece in entry.dropFirst() { pieceLengths.append(Int32(piece.utf8.count)) }
      let h = key.withUnsafeBufferPointer { ShortBytes.hash($0) }
      var i = Int(truncatingIfNeeded: h) & mask
      while slots[i] >= 0 { i = (i + 1) & mask }
      slots[i] = Int32(entries.count)
      entries.append(e)
    }
    self.keys = keys
    self.slots = slots
    self.entries = entries
    self.pieceLengths = pieceLengths
    self.mask = mask
    self.maxKeyLength = maxKeyLength
    self.edges = edges
  }

  @inline(__always)
  static func edgeBit(_ first: UInt8, _ last: UInt8, _ length: Int) -> Int {
    Int(first) << 12 | Int(last) << 4 | min(length, 15)
  }

  /// False when no key has this first byte, last byte and length (then `find` is not needed).
  @inline(__always)
  func mayContain(first: UInt8, last: UInt8, length: Int) -> Bool {
    if length > maxKeyLength { return false }
    if edges.isEmpty { return true }
    let bit = Self.edgeBit(first, last, length)
    return edges[bit >> 6] & (1 << UInt64(bit & 63)) != 0
  }

  func pieces(_ b: UnsafeBufferPointer<UInt8>) -> ArraySlice<Int32>? {
    guard let e = find(b) else { return nil }
    let s = Int(entries[e].piecesStart)
    return pieceLengths[s..<(s + Int(entries[e].pieceCount))]
  }

  func contains(_ b: UnsafeBufferPointer<UInt8>) -> Bool { find(b) != nil }

  /// The position of `b` among the cases the table was built from.
  func entryIndex(_ b: UnsafeBufferPointer<UInt8>) -> Int? { find(b) }

  private func find(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
    if b.count > maxKeyLength || b.isEmpty { return nil }
    if !edges.isEmpty {
      let bit = Self.edgeBit(b[0], b[b.count - 1], b.count)
      if edges[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return nil }
    }
    var i = Int(truncatingIfNeeded: ShortBytes.hash(b)) & mask
    return keys.withUnsafeBufferPointer { keys in
      while true {
        let e = Int(slots[i])
        if e < 0 { return nil }
        let en = entries[e]
        if Int(en.keyLength) == b.count && ShortBytes.equal(keys.baseAddress! + Int(en.keyStart), b.baseAddress!, b.count) {
          return e
        }
        i = (i + 1) & mask
      }
    }
  }
}

/// Token sequences to find in a tokenized text, indexed by their first token. Immutable.
final class PhraseTable: Sendable {
  private let phrases: [[[UInt8]]]
  private let groups: [[Int]]
  private let firstBytes: [Bool]
  private let maxFirstLength: Int
  private let index: SpecialCaseTable
  private let singles: [[Int]]
  private let nextIndex: [SpecialCaseTable]
  private let nextGroups: [[[Int]]]
  /// The group of a one-byte first token ("a", "(", ":"), by byte, -1 for none: the commonest
  /// tokens that may start a phrase are found without hashing.
  let oneByteGroup: [Int32]
  /// Per group: whether it has one-token phrases, and the first bytes of its phrases' second
  /// tokens as a 256-bit set (most tokens after "a" or "(" start none of them).
  let hasSingles: [Bool]
  let secondFirstBytes: [(UInt64, UInt64, UInt64, UInt64)]
  /// By first byte f of a token: whether a group of phrases whose first token starts with f
  /// has one-token phrases; and by first bytes f of a token and g of the next, as the bit
  /// f·256 + g of `startPairs`, whether a phrase may start there (some group of f has a second
  /// token starting with g, or has one-token phrases). Most tokens (words followed by words,
  /// even those that start like "this" or "a") are passed over with one lookup, without
  /// finding their group.
  let singlesByFirstByte: [Bool]
  let startPairs: [UInt64]

  init(patterns: [[[UInt8]]]) {
    var phrases: [[[UInt8]]] = []
    var groups: [[Int]] = []
    var firstTokens: [[UInt8]] = []
    var groupOf: [[UInt8]: Int] = [:]
    var firstBytes = [Bool](repeating: false, count: 256)
    var maxFirstLength = 0
    for tokens in patterns {
      guard let first = tokens.first, !first.isEmpty else { continue }
      phrases.append(tokens)
      if let g = groupOf[first] {
        groups[g].append(phrases.count - 1)
      } else {
        groupOf[first] = firstTokens.count
        firstTokens.append(first)
        groups.append([phrases.count - 1])
      }
      firstBytes[Int(first[0])] = true
      maxFirstLength = max(maxFirstLength, first.count)
    }
    self.phrases = phrases
    maxTokens = phrases.map(\.count).max() ?? 0
    self.groups = groups
    self.firstBytes = firstBytes
    self.maxFirstLength = maxFirstLength
    index = SpecialCaseTable(firstTokens.map { [String(decoding: $0, as: UTF8.self)] })
    // Within a group, phrases are found by their second token: some first tokens (":") start
    // dozens of phrases (emoticons), and such tokens are common in technical text.
    var singles: [[Int]] = []
    var nextIndex: [SpecialCaseTable] = []
    var nextGroups: [[[Int]]] = []
    for g in groups {
      var one: [Int] = []
      var seconds: [[UInt8]] = []
      var secondAt: [[UInt8]: Int] = [:]
      var lists: [[Int]] = []
      for k in g {
        let p = phrases[k]
        if p.count == 1 {
          one.append(k)
        } else if let at = secondAt[p[1]] {
          lists[at].append(k)
        } else {
          secondAt[p[1]] = seconds.count
          seconds.append(p[1])
          lists.append([k])
        }
      }
      singles.append(one)
      // Consulted only after a first token matched: no edge bitmap (128 KiB each, written at
      // every process start).
      nextIndex.append(SpecialCaseTable(seconds.map { [String(decoding: $0, as: UTF8.self)] }, edges: false))
      nextGroups.append(lists)
    }
    self.singles = singles
    self.nextIndex = nextIndex
    self.nextGroups = nextGroups
    var oneByte = [Int32](repeating: -1, count: 256)
    for (g, t) in firstTokens.enumerated() where t.count == 1 { oneByte[Int(t[0])] = Int32(g) }
    oneByteGroup = oneByte
    hasSingles = singles.map { !$0.isEmpty }
    secondFirstBytes = groups.map { g in
      var set: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
      for k in g where phrases[k].count > 1 {
        guard let b = phrases[k][1].first else { return (~0, ~0, ~0, ~0) }
        Self.insert(b, into: &set)
      }
      return set
    }
    var singlesByFirst = [Bool](repeating: false, count: 256)
    var pairs = [UInt64](repeating: 0, count: 256 * 256 / 64)
    for (g, t) in firstTokens.enumerated() {
      let f = Int(t[0])
      if hasSingles[g] { singlesByFirst[f] = true }
      for next in 0..<256 where hasSingles[g] || Self.holds(secondFirstBytes[g], UInt8(next)) {
        let bit = f << 8 | next
        pairs[bit >> 6] |= 1 << UInt64(bit & 63)
      }
    }
    singlesByFirstByte = singlesByFirst
    startPairs = pairs
  }

  /// Adds `b` to a 256-bit set.
  static func insert(_ b: UInt8, into set: inout (UInt64, UInt64, UInt64, UInt64)) {
    let bit = UInt64(1) << UInt64(b & 63)
    switch b >> 6 {
    case 0: set.0 |= bit
    case 1: set.1 |= bit
    case 2: set.2 |= bit
    default: set.3 |= bit
    }
  }

  /// Whether `b` is in a 256-bit set.
  @inline(__always)
  static func holds(_ set: (UInt64, UInt64, UInt64, UInt64), _ b: UInt8) -> Bool {
    let word = b < 128 ? (b < 64 ? set.0 : set.1) : (b < 192 ? set.2 : set.3)
    return (word >> UInt64(b & 63)) & 1 != 0
  }

  var isEmpty: Bool { phrases.isEmpty }

  /// The most tokens a phrase has: how far a match can reach from its first token.
  let maxTokens: Int

  @inline(__always)
  func mayStart(first: UInt8, last: UInt8, length: Int) -> Bool {
    firstBytes[Int(first)] && length <= maxFirstLength && index.mayContain(first: first, last: last, length: length)
  }

  /// The group of phrases whose first token is `token`.
  func group(_ token: UnsafeBufferPointer<UInt8>) -> Int? { index.entryIndex(token) }

  /// The one-token phrases of a group.
  func singles(_ g: Int) -> [Int] { singles[g] }

  /// The longer phrases of a group whose second token is `next`.
  func following(_ g: Int, _ next: UnsafeBufferPointer<UInt8>) -> [Int]? {
    guard let e = nextIndex[g].entryIndex(next) else { return nil }
    return nextGroups[g][e]
  }

  func phrase(_ k: Int) -> [[UInt8]] { phrases[k] }

  func equal(_ text: UnsafeBufferPointer<UInt8>, _ t: SpacyTokenizer.Token, _ want: [UInt8]) -> Bool {
    guard t.end - t.start == want.count else { return false }
    for k in 0..<want.count where text[t.start + k] != want[k] { return false }
    return true
  }
}
