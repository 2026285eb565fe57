/// A small regular-expression engine for the rule patterns of spaCy's
/// tokenizer, with Python `re` semantics on `str` patterns.
///
/// spaCy's tables are Python regexes. Matching them exactly decides whether
/// Winnow's words equal datatrove's, so the patterns are interpreted rather
/// than approximated. Only the syntax those tables use is supported: literals
/// and escapes (`\uXXXX`, `\UXXXXXXXX`, `\xXX`, `\d \w \s` and negations),
/// classes with ranges, `.`, groups `(?:…)` and capturing groups (treated as
/// non-capturing), `|`, greedy and lazy `* + ? {m,n}`, lookahead and
/// fixed-width lookbehind, `^` and `$`, and the `(?u)` flag. Anything else
/// is rejected when the pattern is parsed, so a table change cannot be
/// silently misread.
///
/// Matching is backtracking in priority order (what Python returns), with a
/// visited set over (instruction, position) so that no input takes more than
/// linear time per instruction.

/// Python's `\d`, `\w`, `\s` for `str` patterns.
enum ScalarClass: Sendable {
  case digit, word, space

  /// The ASCII members, as a 128-bit set (made once per class: rule tables make thousands of
  /// sets, and each class test looks up Unicode properties).
  var asciiBits: (UInt64, UInt64) {
    switch self {
    case .digit: return Self.digitBits
    case .word: return Self.wordBits
    case .space: return Self.spaceBits
    }
  }

  private static let digitBits = ScalarClass.digit.computeASCIIBits()
  private static let wordBits = ScalarClass.word.computeASCIIBits()
  private static let spaceBits = ScalarClass.space.computeASCIIBits()

  private func computeASCIIBits() -> (UInt64, UInt64) {
    var bits: (UInt64, UInt64) = (0, 0)
    for c in UInt32(0)..<128 where contains(c) {
      if c < 64 { bits.0 |= 1 << UInt64(c) } else { bits.1 |= 1 << UInt64(c - 64) }
    }
    return bits
  }

  func contains(_ v: UInt32) -> Bool {
    guard let s = Unicode.Scalar(v) else { return false }
    switch self {
    case .digit:
      return s.properties.generalCategory == .decimalNumber
    case .space:
      return UnicodeWhitespace.contains(s)
    case .word:
      // str.isalnum() or "_": letters, and anything with a numeric value.
      if v == 0x5F { return true }
      switch s.properties.generalCategory {
      case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
      default: return s.properties.numericType != nil
      }
    }
  }
}

/// A set of scalars: a resolved bitmap for ASCII, ranges and classes above it.
struct ScalarSet: Sendable {
  private(set) var ascii: (UInt64, UInt64) = (0, 0)
  private(set) var ranges: [ClosedRange<UInt32>] = []
  private(set) var classes: [(ScalarClass, negated: Bool)] = []
  private(set) var negated = false

  init(ranges: [ClosedRange<UInt32>], classes: [(ScalarClass, negated: Bool)], negated: Bool) {
    self.negated = negated
    self.classes = classes
    // Most sets are one scalar or one range: nothing to sort or merge.
    let sorted = ranges.count <= 1 ? ranges : ranges.sorted { $0.lowerBound < $1.lowerBound }
    var merged: [ClosedRange<UInt32>] = []
    merged.reserveCapacity(sorted.count)
    for r in sorted {
      if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
        merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
      } else {
        merged.append(r)
      }
    }
    self.ranges = merged
    // The ASCII bitmap from the ranges directly, the classes tested only when there are some
    // (rule tables make thousands of sets: a test per ASCII scalar each was a good part of a
    // process's start).
    var lo: UInt64 = 0
    var hi: UInt64 = 0
    for r in merged where r.lowerBound < 128 {
      for c in r.lowerBound...min(r.upperBound, 127) {
        if c < 64 { lo |= 1 << UInt64(c) } else { hi |= 1 << UInt64(c - 64) }
      }
    }
    for (cls, negated) in classes {
      let bits = cls.asciiBits
      lo |= negated ? ~bits.0 : bits.0
      hi |= negated ? ~bits.1 : bits.1
    }
    ascii = negated ? (~lo, ~hi) : (lo, hi)
  }

  /// No classes and no negation: the set is exactly its ranges.
  var isPlain: Bool { !negated && classes.isEmpty }

  static func single(_ v: UInt32) -> ScalarSet { ScalarSet(ranges: [v...v], classes: [], negated: false) }

  @inline(__always)
  func contains(_ v: UInt32) -> Bool {
    if v < 64 { return (ascii.0 >> UInt64(v)) & 1 != 0 }
    if v < 128 { return (ascii.1 >> UInt64(v - 64)) & 1 != 0 }
    return slowContains(v)
  }

  private func slowContains(_ v: UInt32) -> Bool {
    var lo = 0
    var hi = ranges.count
    var hit = false
    while lo < hi {
      let mid = (lo + hi) / 2
      let r = ranges[mid]
      if v < r.lowerBound { hi = mid } else if v > r.upperBound { lo = mid + 1 } else { hit = true; break }
    }
    if !hit {
      for (c, neg) in classes where c.contains(v) != neg {
        hit = true
        break
      }
    }
    return hit != negated
  }
}

/// Why a rule pattern could not be used.
struct RuleRegexError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}

/// The parsed form of a pattern.
indirect enum RegexNode {
  case set(ScalarSet)
  case concat([RegexNode])
  case alternation([RegexNode])
  case repetition(RegexNode, min: Int, max: Int?, greedy: Bool)
  case look(RegexNode, behind: Bool, negated: Bool)
  case start, end

  /// Top-level alternatives, in priority order.
  var alternatives: [RegexNode] {
    if case .alternation(let alts) = self { return alts }
    return [self]
  }

  /// Fewest and most scalars a match consumes (nil: unbounded).
  var width: (min: Int, max: Int?) {
    switch self {
    case .set: return (1, 1)
    case .start, .end, .look: return (0, 0)
    case .concat(let parts):
      var lo = 0
      var hi: Int? = 0
      for p in parts {
        let w = p.width
        lo += w.min
        if let h = hi, let m = w.max { hi = h + m } else { hi = nil }
      }
      return (lo, hi)
    case .alternation(let alts):
      var lo = Int.max
      var hi: Int? = 0
      for a in alts {
        let w = a.width
        lo = min(lo, w.min)
        if let h = hi, let m = w.max { hi = max(h, m) } else { hi = nil }
      }
      return (alts.isEmpty ? 0 : lo, hi)
    case .repetition(let body, let min, let max, _):
      let w = body.width
      let hi: Int? = if let max, let m = w.max { max * m } else if w.max == 0 { 0 } else { nil }
      return (min * w.min, hi)
    }
  }

  /// Sets one of which holds the first scalar any match consumes; `nullable`
  /// when a match can consume nothing.
  func firstSets() -> (sets: [ScalarSet], nullable: Bool) { edgeSets(fromEnd: false) }
  func lastSets() -> (sets: [ScalarSet], nullable: Bool) { edgeSets(fromEnd: true) }

  private func edgeSets(fromEnd: Bool) -> (sets: [ScalarSet], nullable: Bool) {
    switch self {
    case .set(let s): return ([s], false)
    case .start, .end, .look: return ([], true)
    case .concat(let parts):
      var sets: [ScalarSet] = []
      for p in (fromEnd ? parts.reversed() : parts) {
        let e = p.edgeSets(fromEnd: fromEnd)
        sets += e.sets
        if !e.nullable { return (sets, false) }
      }
      return (sets, true)
    case .alternation(let alts):
      var sets: [ScalarSet] = []
      var nullable = false
      for a in alts {
        let e = a.edgeSets(fromEnd: fromEnd)
        sets += e.sets
        nullable = nullable || e.nullable
      }
      return (sets, nullable)
    case .repetition(let body, let min, _, _):
      let e = body.edgeSets(fromEnd: fromEnd)
      return (e.sets, e.nullable || min == 0)
    }
  }
}

/// Parses Python `re` syntax (the subset described above).
struct RegexParser {
  private let s: [UInt32]
  private var i = 0
  private let source: String

  static func parse(_ pattern: String) throws(RuleRegexError) -> RegexNode {
    var p = RegexParser(pattern)
    let node = try p.parseAlternation()
    if p.i != p.s.count { throw p.error("unexpected ')'") }
    return node
  }

  private init(_ pattern: String) {
    source = pattern
    // Decoded from the UTF-8 bytes: a map over `unicodeScalars` was a noticeable part of a
    // process's start (the rule patterns are tens of kilobytes).
    var pattern = pattern
    var scalars: [UInt32] = []
    pattern.withUTF8 { bytes in
      scalars.reserveCapacity(bytes.count)
      UTF8Bytes.forEachScalar(in: bytes) { c, _ in scalars.append(c.value) }
    }
    s = scalars
  }

  private func error(_ what: String) -> RuleRegexError {
    RuleRegexError(message: "tokenizer rule pattern, at scalar \(i): \(what) in \(source.prefix(80))")
  }

  private var peek: UInt32? { i < s.count ? s[i] : nil }
  private func peek(_ k: Int) -> UInt32? { i + k < s.count ? s[i + k] : nil }
  private static func ch(_ c: Unicode.Scalar) -> UInt32 { c.value }

  private mutating func parseAlternation() throws(RuleRegexError) -> RegexNode {
    var alts = [try parseConcat()]
    while peek == Self.ch("|") {
      i += 1
      alts.append(try parseConcat())
    }
    return alts.count == 1 ? alts[0] : .alternation(alts)
  }

  private mutating func parseConcat() throws(RuleRegexError) -> RegexNode {
    var parts: [RegexNode] = []
    while let c = peek, c != Self.ch("|"), c != Self.ch(")") {
      guard let atom = try parseAtom() else { continue }
      parts.append(try parseQuantifier(atom))
    }
    return parts.count == 1 ? parts[0] : .concat(parts)
  }

  private mutating func parseQuantifier(_ atom: RegexNode) throws(RuleRegexError) -> RegexNode {
    var node = atom
    while let c = peek {
      var lo = 0
      var hi: Int? = nil
      if c == Self.ch("*") {
        i += 1
      } else if c == Self.ch("+") {
        lo = 1
        i += 1
      } else if c == Self.ch("?") {
        hi = 1
        i += 1
      } else if c == Self.ch("{"), let (a, b, len) = braceQuantifier() {
        lo = a
        hi = b
        i += len
      } else {
        break
      }
      var greedy = true
      if peek == Self.ch("?") {
        greedy = false
        i += 1
      }
      if case .repetition = node { throw error("multiple repeat") }
      node = .repetition(node, min: lo, max: hi, greedy: greedy)
    }
    return node
  }

  /// `{m}`, `{m,}`, `{,n}`, `{m,n}` at `i`, or nil when the brace is a literal (as in Python).
  private func braceQuantifier() -> (Int, Int?, Int)? {
    var k = i + 1
    func number(_ k: inout Int) -> Int? {
      var v: Int? = nil
      while k < s.count, s[k] >= 0x30, s[k] <= 0x39 {
        v = (v ?? 0) * 10 + Int(s[k] - 0x30)
        k += 1
      }
      return v
    }
    let a = number(&k)
    if k < s.count, s[k] == Self.ch("}") {
      guard let a else { return nil }
      return (a, a, k + 1 - i)
    }
    guard k < s.count, s[k] == Self.ch(",") else { return nil }
    k += 1
    let b = number(&k)
    guard k < s.count, s[k] == Self.ch("}") else { return nil }
    return (a ?? 0, b, k + 1 - i)
  }

  private mutating func parseAtom() throws(RuleRegexError) -> RegexNode? {
    let c = s[i]
    switch c {
    case Self.ch("("):
      i += 1
      if peek == Self.ch("?") {
        i += 1
        guard let k = peek else { throw error("unterminated group") }
        if k == Self.ch(":") {
          i += 1
          return try group()
        } else if k == Self.ch("=") || k == Self.ch("!") {
          i += 1
          return .look(try group(), behind: false, negated: k == Self.ch("!"))
        } else if k == Self.ch("<"), let k2 = peek(1), k2 == Self.ch("=") || k2 == Self.ch("!") {
          i += 2
          let body = try group()
          let w = body.width
          guard w.max == w.min else { throw error("look-behind requires fixed-width pattern") }
          return .look(body, behind: true, negated: k2 == Self.ch("!"))
        } else {
          // Inline flags: only `u` (the default for str patterns) is accepted.
          while let f = peek, f != Self.ch(")") {
            guard f == Self.ch("u") else { throw error("unsupported flag") }
            i += 1
          }
          guard peek == Self.ch(")") else { throw error("unterminated flags") }
          i += 1
          return nil
        }
      }
      return try group()
    case Self.ch("["):
      i += 1
      return .set(try parseClass())
    case Self.ch("."):
      i += 1
      return .set(ScalarSet(ranges: [0x0A...0x0A], classes: [], negated: true))
    case Self.ch("^"):
      i += 1
      return .start
    case Self.ch("$"):
      i += 1
      return .end
    case Self.ch("\\"):
      i += 1
      return .set(try parseEscape(inClass: false))
    case Self.ch("*"), Self.ch("+"), Self.ch("?"):
      throw error("nothing to repeat")
    default:
      i += 1
      return .set(.single(c))
    }
  }

  private mutating func group() throws(RuleRegexError) -> RegexNode {
    let body = try parseAlternation()
    guard peek == Self.ch(")") else { throw error("missing ')'") }
    i += 1
    return body
  }

  private mutating func parseClass() throws(RuleRegexError) -> ScalarSet {
    var negated = false
    if peek == Self.ch("^") {
      negated = true
      i += 1
    }
    var ranges: [ClosedRange<UInt32>] = []
    var classes: [(ScalarClass, negated: Bool)] = []
    var first = true
    while true {
      guard let c = peek else { throw error("unterminated character set") }
      if c == Self.ch("]") && !first {
        i += 1
        break
      }
      first = false
      var lo: UInt32
      if c == Self.ch("\\") {
        i += 1
        if let single = try parseEscapedScalar() {
          lo = single
        } else {
          // A class escape such as \w inside a set.
          let e = try parseEscape(inClass: true)
          ranges += e.ranges
          classes += e.classes
          continue
        }
      } else {
        lo = c
        i += 1
      }
      if peek == Self.ch("-"), let next = peek(1), next != Self.ch("]") {
        i += 1
        var hi: UInt32
        if next == Self.ch("\\") {
          i += 1
          guard let single = try parseEscapedScalar() else { throw error("bad range") }
          hi = single
        } else {
          hi = next
          i += 1
        }
        guard lo <= hi else { throw error("bad character range") }
        ranges.append(lo...hi)
      } else {
        ranges.append(lo...lo)
      }
    }
    return ScalarSet(ranges: ranges, classes: classes, negated: negated)
  }

  private mutating func hex(_ digits: Int) throws(RuleRegexError) -> UInt32 {
    var v: UInt32 = 0
    for _ in 0..<digits {
      guard let c = peek, let d = Self.hexValue(c) else { throw error("bad hex escape") }
      v = v * 16 + d
      i += 1
    }
    return v
  }

  private static func hexValue(_ c: UInt32) -> UInt32? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
  }

  private mutating func parseEscape(inClass: Bool) throws(RuleRegexError) -> ScalarSet {
    if let v = try parseEscapedScalar() { return .single(v) }
    let c = s[i]
    i += 1
    switch c {
    case Self.ch("d"): return ScalarSet(ranges: [], classes: [(.digit, false)], negated: false)
    case Self.ch("D"): return ScalarSet(ranges: [], classes: [(.digit, true)], negated: false)
    case Self.ch("w"): return ScalarSet(ranges: [], classes: [(.word, false)], negated: false)
    case Self.ch("W"): return ScalarSet(ranges: [], classes: [(.word, true)], negated: false)
    case Self.ch("s"): return ScalarSet(ranges: [], classes: [(.space, false)], negated: false)
    default: return ScalarSet(ranges: [], classes: [(.space, true)], negated: false)
    }
  }

  /// The scalar of a one-scalar escape after its backslash (`\-`, `\n`, `\u00e9`), read; nil
  /// for a class escape (`\d`, `\w`, `\s` and their negations), left unread. Inside a set,
  /// escaped punctuation is common, and building a set for each was a noticeable part of a
  /// process's start.
  private mutating func parseEscapedScalar() throws(RuleRegexError) -> UInt32? {
    guard let c = peek else { throw error("bad escape (end of pattern)") }
    switch c {
    case Self.ch("d"), Self.ch("D"), Self.ch("w"), Self.ch("W"), Self.ch("s"), Self.ch("S"): return nil
    default: break
    }
    i += 1
    switch c {
    case Self.ch("u"): return try hex(4)
    case Self.ch("U"): return try hex(8)
    case Self.ch("x"): return try hex(2)
    case Self.ch("n"): return 0x0A
    case Self.ch("t"): return 0x09
    case Self.ch("r"): return 0x0D
    case Self.ch("f"): return 0x0C
    case Self.ch("v"): return 0x0B
    case Self.ch("a"): return 0x07
    default:
      // Python rejects unknown ASCII-letter escapes; digits would be back-references.
      let isAlnum = (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
      if isAlnum { throw error("unsupported escape \\\(Character(Unicode.Scalar(c)!))") }
      return c
    }
  }
}

extension ScalarSet {
  /// The one scalar of a single-scalar set, as an escape inside a class needs.
  fileprivate var singleScalar: UInt32? {
    if negated || !classes.isEmpty || ranges.count != 1 { return nil }
    return ranges[0].lowerBound == ranges[0].upperBound ? ranges[0].lowerBound : nil
  }
}

/// A compiled alternative: instructions for the backtracking matcher.
final class RegexProgram: Sendable {
  enum Op: Sendable {
    case set(Int)
    /// Try the first target, then the second.
    case split(Int, Int)
    case jump(Int)
    case start, end
    case look(Int)
    case match
  }

  struct Look: Sendable {
    var program: RegexProgram
    var behind: Bool
    var negated: Bool
    var width: Int
  }

  let ops: [Op]
  let sets: [ScalarSet]
  let looks: [Look]
  /// Sets one of which holds the first (last) scalar of any match, unless the
  /// pattern can match nothing; and their union for quick tests.
  let firstSets: [ScalarSet]
  let firstNullable: Bool
  let lastSets: [ScalarSet]
  let lastNullable: Bool
  let first: ScalarUnion
  let last: ScalarUnion
  let minWidth: Int
  let maxWidth: Int?
  /// When the pattern opens with a one-scalar lookbehind `(?<=[…])`: the set the
  /// scalar before a match must be in (checked before running the program).
  let gate: ScalarSet?
  /// Whether backtracking could revisit states often enough to need the visited set.
  let needsVisitedSet: Bool

  init(_ node: RegexNode) {
    var b = Builder()
    b.emit(node)
    b.ops.append(.match)
    ops = b.ops
    sets = b.sets
    looks = b.looks
    (firstSets, firstNullable) = node.firstSets()
    (lastSets, lastNullable) = node.lastSets()
    first = ScalarUnion([(firstSets, firstNullable)])
    last = ScalarUnion([(lastSets, lastNullable)])
    (minWidth, maxWidth) = node.width
    var gate: ScalarSet? = nil
    if case .look(let k) = ops[0], looks[k].behind, !looks[k].negated, looks[k].width == 1,
      looks[k].program.ops.count == 2, case .set(let si) = looks[k].program.ops[0]
    {
      gate = looks[k].program.sets[si]
    }
    self.gate = gate
    needsVisitedSet = ops.count > 64 || maxWidth == nil
  }

  /// Whether this alternative, searched as a suffix, matches `v` alone wherever `v` ends the
  /// string: one scalar set holding `v`, `$` after it or not, no lookaround.
  func matchesAloneAtEnd(_ v: UInt32) -> Bool {
    guard ops.count >= 2, case .set(let si) = ops[0], sets[si].contains(v) else { return false }
    var k = 1
    if case .end = ops[k] { k += 1 }
    guard k == ops.count - 1, case .match = ops[k] else { return false }
    return true
  }

  /// Whether this alternative, searched as a suffix, matches `v` alone wherever `v` ends the
  /// string and `b` comes before it, whatever comes before `b`: `matchesAloneAtEnd`, or one
  /// scalar set holding `v` behind a one-scalar lookbehind (`gate`) that holds `b`.
  func matchesAloneAtEnd(_ v: UInt32, after b: UInt32) -> Bool {
    if matchesAloneAtEnd(v) { return true }
    guard let gate, gate.contains(b), ops.count >= 3, case .set(let si) = ops[1], sets[si].contains(v) else { return false }
    var k = 2
    if case .end = ops[k] { k += 1 }
    return k == ops.count - 1 && { if case .match = ops[k] { return true } else { return false } }()
  }

  /// Whether a match of this alternative may take the scalar `v` (lookaround aside): a match
  /// two or more scalars wide ending at a string's end takes the scalar before the last.
  func mayConsume(_ v: UInt32) -> Bool { sets.contains { $0.contains(v) } }

  /// The scalars of this alternative when it is a plain literal (a fixed string, with `^` in
  /// front when `anchoredStart`, `$` after when `anchoredEnd`, no lookaround): it matches a
  /// string exactly where that string holds those scalars. nil for any other pattern.
  func literal(anchoredStart: Bool, anchoredEnd: Bool) -> [UInt32]? {
    var k = 0
    if anchoredStart, case .start = ops[k] { k += 1 }
    var out: [UInt32] = []
    while k < ops.count, case .set(let si) = ops[k] {
      guard let v = sets[si].singleScalar else { return nil }
      out.append(v)
      k += 1
    }
    if anchoredEnd, k < ops.count, case .end = ops[k] { k += 1 }
    guard !out.isEmpty, k == ops.count - 1, case .match = ops[k] else { return nil }
    return out
  }

  /// Whether a match may start at `p` of `text`, judged by the gate alone.
  @inline(__always)
  func gateAllows(_ text: UnsafeBufferPointer<UInt32>, _ p: Int) -> Bool {
    guard let gate else { return true }
    return p > 0 && gate.contains(text[p - 1])
  }

  /// Whether a match could begin with `v` (always true when the program can match nothing).
  @inline(__always)
  func mayStart(with v: UInt32) -> Bool { first.mayContain(v) }

  @inline(__always)
  func mayEnd(with v: UInt32) -> Bool { last.mayContain(v) }

  private struct Builder {
    var ops: [Op] = []
    var sets: [ScalarSet] = []
    var looks: [Look] = []

    mutating func emit(_ node: RegexNode) {
      switch node {
      case .set(let s):
        sets.append(s)
        ops.append(.set(sets.count - 1))
      case .start: ops.append(.start)
      case .end: ops.append(.end)
      case .look(let body, let behind, let negated):
        looks.append(Look(program: RegexProgram(body), behind: behind, negated: negated, width: body.width.min))
        ops.append(.look(looks.count - 1))
      case .concat(let parts):
        for p in parts { emit(p) }
      case .alternation(let alts):
        // split L1, next; L1: alt0; jump end; next: split L2, next2; ...
        var jumps: [Int] = []
        for (k, a) in alts.enumerated() {
          if k < alts.count - 1 {
            let split = ops.count
            ops.append(.split(split + 1, -1))
            emit(a)
            jumps.append(ops.count)
            ops.append(.jump(-1))
            ops[split] = .split(split + 1, ops.count)
          } else {
            emit(a)
          }
        }
        for j in jumps { ops[j] = .jump(ops.count) }
      case .repetition(let body, let min, let max, let greedy):
        for _ in 0..<min { emit(body) }
        if let max {
          // Each optional copy: split body, out; all outs patched to the end.
          var outs: [Int] = []
          for _ in min..<max {
            outs.append(ops.count)
            ops.append(.split(-1, -1))
            emit(body)
          }
          for o in outs { ops[o] = greedy ? .split(o + 1, ops.count) : .split(ops.count, o + 1) }
        } else {
          let loop = ops.count
          ops.append(.split(-1, -1))
          emit(body)
          ops.append(.jump(loop))
          ops[loop] = greedy ? .split(loop + 1, ops.count) : .split(ops.count, loop + 1)
        }
      }
    }
  }
}

/// Reusable scratch space for running programs. One per tokenizer.
struct RegexMatcher {
  private var visited: [UInt64] = []
  private var touched: [Int32] = []
  private var stack: [(Int32, Int32)] = []
  /// Above this many (instruction, position) states the visited set is not
  /// kept (plain backtracking, as Python does).
  private static let visitedLimit = 1 << 22

  init() {}

  /// End of the first match (in Python's priority order) of `program` that
  /// starts at `start` in `text`; with `end` given, only a match ending there counts.
  mutating func match(_ program: RegexProgram, _ text: UnsafeBufferPointer<UInt32>, at start: Int, end: Int? = nil) -> Int? {
    guard program.gateAllows(text, start) else { return nil }
    if !program.needsVisitedSet { return Self.simpleMatch(program, 0, text, start, mustEnd: end) }
    let n = text.count
    let states = program.ops.count * (n + 1)
    let memo = states <= Self.visitedLimit
    if memo {
      // Only the words set by the previous run are cleared: most runs touch few states.
      let words = (states + 63) >> 6
      if visited.count < words { visited = [UInt64](repeating: 0, count: max(words, visited.count * 2)) }
      for k in touched { visited[Int(k)] = 0 }
      touched.removeAll(keepingCapacity: true)
    }
    stack.removeAll(keepingCapacity: true)
    stack.append((0, Int32(start)))
    let ops = program.ops
    while let (pc0, sp0) = stack.popLast() {
      var pc = Int(pc0)
      var sp = Int(sp0)
      while true {
        if memo {
          let bit = pc * (n + 1) + sp
          let w = visited[bit >> 6]
          let m = UInt64(1) << UInt64(bit & 63)
          if w & m != 0 { break }
          if w == 0 { touched.append(Int32(bit >> 6)) }
          visited[bit >> 6] = w | m
        }
        switch ops[pc] {
        case .set(let k):
          guard sp < n, program.sets[k].contains(text[sp]) else { break }
          pc += 1
          sp += 1
          continue
        case .split(let a, let b):
          stack.append((Int32(b), Int32(sp)))
          pc = a
          continue
        case .jump(let a):
          pc = a
          continue
        case .start:
          guard sp == 0 else { break }
          pc += 1
          continue
        case .end:
          guard sp == n || (sp == n - 1 && text[sp] == 0x0A) else { break }
          pc += 1
          continue
        case .look(let k):
          guard Self.look(program.looks[k], text, sp) else { break }
          pc += 1
          continue
        case .match:
          if let end, sp != end { break }
          return sp
        }
        break
      }
    }
    return nil
  }

  private static func look(_ l: RegexProgram.Look, _ text: UnsafeBufferPointer<UInt32>, _ sp: Int) -> Bool {
    let found: Bool
    if l.behind {
      let from = sp - l.width
      found = from >= 0 && simpleMatch(l.program, 0, text, from, mustEnd: sp) != nil
    } else {
      found = simpleMatch(l.program, 0, text, sp, mustEnd: nil) != nil
    }
    return found != l.negated
  }

  /// Recursive backtracking without a visited set, for the small bounded
  /// programs inside lookarounds.
  private static func simpleMatch(_ p: RegexProgram, _ pc0: Int, _ text: UnsafeBufferPointer<UInt32>, _ sp0: Int, mustEnd: Int?) -> Int? {
    var pc = pc0
    var sp = sp0
    let n = text.count
    while true {
      switch p.ops[pc] {
      case .set(let k):
        guard sp < n, p.sets[k].contains(text[sp]) else { return nil }
        pc += 1
        sp += 1
      case .split(let a, let b):
        if let r = simpleMatch(p, a, text, sp, mustEnd: mustEnd) { return r }
        pc = b
      case .jump(let a):
        pc = a
      case .start:
        guard sp == 0 else { return nil }
        pc += 1
      case .end:
        guard sp == n || (sp == n - 1 && text[sp] == 0x0A) else { return nil }
        pc += 1
      case .look(let k):
        guard look(p.looks[k], text, sp) else { return nil }
        pc += 1
      case .match:
        if let mustEnd, sp != mustEnd { return nil }
        return sp
      }
    }
  }
}
