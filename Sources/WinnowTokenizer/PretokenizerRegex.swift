// The regular expressions of pre-tokenizers: GPT-2's, Llama 3's, cl100k's, o200k's and the
// `Split` patterns of other tokenizer.json files, matched as the engines behind the reference
// tokenizers match them — Oniguruma for Hugging Face `tokenizers`, fancy-regex for `tiktoken`.
//
// Both are backtracking engines that return the first match in priority order (leftmost,
// then the first alternative that succeeds), so this one is too. It supports what these
// patterns use and nothing more: literals and escapes, classes with ranges, `\s \S \d \D \w \W`,
// `\p{…}`/`\P{…}` general categories, `.`, groups `(?:…)` (capturing groups match the same
// way), the `i` flag in `(?i:…)`, `|`, greedy, lazy and possessive `? * + {m,n}`, atomic
// groups `(?>…)`, lookahead `(?=…)`/`(?!…)`, and the anchors `^ $ \A \z \Z`. Anything else —
// lookbehind, back-references, script properties, class intersections — is an error when the
// pattern is loaded, naming what is unsupported: a pattern is never approximated.
//
// `\s` is Unicode White_Space in both engines, `\d` is Nd, `\w` is letters, marks, Nd, Nl and
// Pc. `^`/`$` are line anchors in Oniguruma's Ruby syntax and text anchors in fancy-regex.

/// Which reference engine's conventions a pattern follows.
enum RegexDialect: Sendable {
  /// Hugging Face `tokenizers` (Oniguruma, Ruby syntax): `^` and `$` also match at line breaks.
  case oniguruma
  /// `tiktoken` (fancy-regex over Rust's regex): `^` and `$` match only at the text's ends.
  case fancyRegex
}

/// Why a pattern cannot be used.
struct PatternError: Error, CustomStringConvertible, Sendable {
  var message: String
  var description: String { message }
}

/// A set of scalars: a bitmap for ASCII, category masks and ranges above it.
struct ScalarClass: Sendable {
  var ascii0: UInt64 = 0
  var ascii1: UInt64 = 0
  /// Category / White_Space bits any of which puts a scalar in the class.
  var mask: UInt64 = 0
  /// Negated items (`\S`, `\P{L}` inside a class): a scalar is in when it has none of these bits.
  var excluded: [UInt64] = []
  var ranges: [ClosedRange<UInt32>] = []
  var negated = false

  static func single(_ v: UInt32) -> ScalarClass {
    var c = ScalarClass()
    c.ranges = [v...v]
    return c.finished()
  }

  static func category(_ mask: UInt64, negated: Bool) -> ScalarClass {
    var c = ScalarClass()
    if negated { c.excluded = [mask] } else { c.mask = mask }
    return c.finished()
  }

  /// Sorts and merges the ranges and resolves the ASCII bitmap.
  func finished() -> ScalarClass {
    var c = self
    let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
    var merged: [ClosedRange<UInt32>] = []
    for r in sorted {
      if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
        merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
      } else {
        merged.append(r)
      }
    }
    c.ranges = merged
    c.ascii0 = 0
    c.ascii1 = 0
    for v in UInt32(0)..<128 where c.slowContains(v, ScalarProperties.bits(v)) {
      if v < 64 { c.ascii0 |= 1 << UInt64(v) } else { c.ascii1 |= 1 << UInt64(v - 64) }
    }
    return c
  }

  @inline(__always)
  func contains(_ v: UInt32, _ bits: UInt64) -> Bool {
    if v < 64 { return (ascii0 >> UInt64(v)) & 1 != 0 }
    if v < 128 { return (ascii1 >> UInt64(v - 64)) & 1 != 0 }
    return slowContains(v, bits)
  }

  func slowContains(_ v: UInt32, _ bits: UInt64) -> Bool {
    var hit = bits & mask != 0
    if !hit {
      for m in excluded where bits & m == 0 {
        hit = true
        break
      }
    }
    if !hit, !ranges.isEmpty {
      var lo = 0
      var hi = ranges.count
      while lo < hi {
        let mid = (lo + hi) >> 1
        let r = ranges[mid]
        if v < r.lowerBound { hi = mid } else if v > r.upperBound { lo = mid + 1 } else { hit = true; break }
      }
    }
    return hit != negated
  }

  /// The union of two classes (neither negated).
  func union(_ o: ScalarClass) -> ScalarClass {
    var c = self
    c.mask |= o.mask
    c.excluded += o.excluded
    c.ranges += o.ranges
    return c
  }
}

/// A class's ASCII bitmap and category masks as plain values: loading it costs no reference
/// counting, and it answers every scalar unless the class has ranges above ASCII or more than
/// one negated item (`slow`).
struct FastClass: Sendable {
  var ascii0: UInt64
  var ascii1: UInt64
  var mask: UInt64
  /// A negated item's bits (`\S`, `\P{L}`), or 0.
  var excluded: UInt64
  var negated: Bool
  var slow: Bool

  init(_ c: ScalarClass) {
    ascii0 = c.ascii0
    ascii1 = c.ascii1
    mask = c.mask
    excluded = c.excluded.first ?? 0
    negated = c.negated
    slow = c.excluded.count > 1 || c.ranges.contains { $0.upperBound >= 128 }
  }
}

/// The parsed form of a pattern.
indirect enum PatternNode {
  enum Repeat { case greedy, lazy, possessive }
  enum Anchor { case lineStart, lineEnd, textStart, textEnd, textEndBeforeNewline }
  case set(ScalarClass)
  case concat([PatternNode])
  case alternation([PatternNode])
  case repetition(PatternNode, min: Int, max: Int?, Repeat)
  case atomic(PatternNode)
  case lookahead(PatternNode, negated: Bool)
  case anchor(Anchor)

  /// Whether the node can match without consuming a scalar.
  var nullable: Bool {
    switch self {
    case .set: return false
    case .concat(let ps): return ps.allSatisfy(\.nullable)
    case .alternation(let alts): return alts.contains(where: \.nullable)
    case .repetition(let body, let min, _, _): return min == 0 || body.nullable
    case .atomic(let body): return body.nullable
    case .lookahead, .anchor: return true
    }
  }
}

/// Parses the pattern syntax the pre-tokenizers use (see the file comment).
struct PatternParser {
  private let s: [UInt32]
  private var i = 0
  private let source: String
  private let dialect: RegexDialect
  private var caseInsensitive = false

  static func parse(_ pattern: String, dialect: RegexDialect) throws(PatternError) -> PatternNode {
    var p = PatternParser(pattern, dialect)
    let node = try p.parseAlternation()
    if p.i != p.s.count { throw p.error("unbalanced ')'") }
    return node
  }

  private init(_ pattern: String, _ dialect: RegexDialect) {
    source = pattern
    s = pattern.unicodeScalars.map(\.value)
    self.dialect = dialect
  }

  private func error(_ what: String) -> PatternError {
    PatternError(message: "pattern \(Self.quote(source)): \(what) (at character \(i))")
  }

  static func quote(_ s: String) -> String {
    s.count > 120 ? "\"\(s.prefix(117))…\"" : "\"\(s)\""
  }

  private var peek: UInt32? { i < s.count ? s[i] : nil }
  private func peek(_ k: Int) -> UInt32? { i + k < s.count ? s[i + k] : nil }
  private static func ch(_ c: Unicode.Scalar) -> UInt32 { c.value }

  private mutating func parseAlternation() throws(PatternError) -> PatternNode {
    var alts = [try parseConcat()]
    while peek == Self.ch("|") {
      i += 1
      alts.append(try parseConcat())
    }
    return alts.count == 1 ? alts[0] : .alternation(alts)
  }

  private mutating func parseConcat() throws(PatternError) -> PatternNode {
    var parts: [PatternNode] = []
    while let c = peek, c != Self.ch("|"), c != Self.ch(")") {
      guard let atom = try parseAtom() else { continue }
      parts.append(try parseQuantifier(atom))
    }
    return parts.count == 1 ? parts[0] : .concat(parts)
  }

  private mutating func parseQuantifier(_ atom: PatternNode) throws(PatternError) -> PatternNode {
    var node = atom
    var quantified = false
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
      if quantified { throw error("a quantifier directly after another") }
      quantified = true
      var kind = PatternNode.Repeat.greedy
      if peek == Self.ch("?") {
        kind = .lazy
        i += 1
      } else if peek == Self.ch("+") {
        kind = .possessive
        i += 1
      }
      if let hi, hi < lo { throw error("a repetition {\(lo),\(hi)} whose maximum is below its minimum") }
      if case .anchor = node { throw error("a quantifier on an anchor") }
      if case .lookahead = node { throw error("a quantifier on a lookahead") }
      if hi == nil, node.nullable { throw error("an unbounded repetition of something that can match nothing") }
      node = .repetition(node, min: lo, max: hi, kind)
    }
    return node
  }

  /// `{m}`, `{m,}`, `{m,n}` (and `{,n}`) at `i`, or nil when the brace is a literal.
  private func braceQuantifier() -> (Int, Int?, Int)? {
    var k = i + 1
    func number(_ k: inout Int) -> Int? {
      var v: Int? = nil
      while k < s.count, s[k] >= 0x30, s[k] <= 0x39 {
        v = (v ?? 0) &* 10 &+ Int(s[k] - 0x30)
        if v! > 100_000 { return nil }
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
    if a == nil && b == nil { return nil }
    return (a ?? 0, b, k + 1 - i)
  }

  private mutating func parseAtom() throws(PatternError) -> PatternNode? {
    let c = s[i]
    switch c {
    case Self.ch("("):
      i += 1
      guard peek == Self.ch("?") else { return try group() }
      i += 1
      guard let k = peek else { throw error("an unterminated group") }
      switch k {
      case Self.ch(":"):
        i += 1
        return try group()
      case Self.ch("="), Self.ch("!"):
        i += 1
        return .lookahead(try group(), negated: k == Self.ch("!"))
      case Self.ch(">"):
        i += 1
        return .atomic(try group())
      case Self.ch("<"):
        throw error("lookbehind and named groups are not supported")
      default:
        // Flags: `(?i:…)` scoped, or `(?i)` to the end of the enclosing group.
        var on = true
        var insensitive = caseInsensitive
        while let f = peek, f != Self.ch(")"), f != Self.ch(":") {
          if f == Self.ch("-") {
            on = false
          } else if f == Self.ch("i") {
            insensitive = on
          } else {
            throw error("the flag '\(Character(Unicode.Scalar(f) ?? "?"))' is not supported")
          }
          i += 1
        }
        guard let end = peek else { throw error("unterminated flags") }
        i += 1
        if end == Self.ch(")") {
          caseInsensitive = insensitive
          return nil
        }
        let saved = caseInsensitive
        caseInsensitive = insensitive
        defer { caseInsensitive = saved }
        return try group()
      }
    case Self.ch("["):
      i += 1
      return .set(try parseClass().finished())
    case Self.ch("."):
      i += 1
      var dot = ScalarClass.single(0x0A)
      dot.negated = true
      return .set(dot.finished())
    case Self.ch("^"):
      i += 1
      return .anchor(dialect == .oniguruma ? .lineStart : .textStart)
    case Self.ch("$"):
      i += 1
      return .anchor(dialect == .oniguruma ? .lineEnd : .textEnd)
    case Self.ch("\\"):
      i += 1
      if let a = peek {
        if a == Self.ch("A") { i += 1; return .anchor(.textStart) }
        if a == Self.ch("z") { i += 1; return .anchor(.textEnd) }
        if a == Self.ch("Z") { i += 1; return .anchor(.textEndBeforeNewline) }
        if a == Self.ch("b") || a == Self.ch("B") || a == Self.ch("G") || (a >= 0x31 && a <= 0x39) || a == Self.ch("k") {
          throw error("the escape \\\(Character(Unicode.Scalar(a)!)) is not supported")
        }
      }
      return .set(try literalClass(try parseEscape()))
    case Self.ch("*"), Self.ch("+"), Self.ch("?"):
      throw error("nothing to repeat")
    case Self.ch(")"):
      throw error("unbalanced ')'")
    default:
      i += 1
      return .set(literal(c))
    }
  }

  private mutating func group() throws(PatternError) -> PatternNode {
    let saved = caseInsensitive
    let body = try parseAlternation()
    caseInsensitive = saved
    guard peek == Self.ch(")") else { throw error("a missing ')'") }
    i += 1
    return body
  }

  /// A literal scalar, with its case variants under the `i` flag.
  private func literal(_ v: UInt32) -> ScalarClass {
    guard caseInsensitive else { return .single(v) }
    var c = ScalarClass()
    c.ranges = CaseFolding.variants(of: v).map { $0...$0 }
    return c.finished()
  }

  private func literalClass(_ e: Escape) throws(PatternError) -> ScalarClass {
    switch e {
    case .scalar(let v): return literal(v)
    case .set(let c): return c
    }
  }

  enum Escape {
    case scalar(UInt32)
    case set(ScalarClass)
  }

  private mutating func parseClass() throws(PatternError) -> ScalarClass {
    var negated = false
    if peek == Self.ch("^") {
      negated = true
      i += 1
    }
    var c = ScalarClass()
    var first = true
    while true {
      guard let x = peek else { throw error("an unterminated character class") }
      if x == Self.ch("]") && !first {
        i += 1
        break
      }
      first = false
      if x == Self.ch("[") {
        // A nested class is a union member (Oniguruma: `[^(\\s|[.,!?])]`); a negated one would
        // need set difference, which the class representation does not have.
        i += 1
        if peek == Self.ch("^") { throw error("a negated class nested in a class is not supported") }
        let inner = try parseClass()
        c = c.union(inner)
        continue
      }
      if x == Self.ch("&"), peek(1) == Self.ch("&") { throw error("class intersections (&&) are not supported") }
      var lo: UInt32
      if x == Self.ch("\\") {
        i += 1
        switch try parseEscape() {
        case .scalar(let v): lo = v
        case .set(let e):
          c = c.union(e)
          continue
        }
      } else {
        lo = x
        i += 1
      }
      if peek == Self.ch("-"), let next = peek(1), next != Self.ch("]") {
        i += 1
        var hi: UInt32
        if next == Self.ch("\\") {
          i += 1
          guard case .scalar(let v) = try parseEscape() else { throw error("a class escape as a range bound") }
          hi = v
        } else {
          hi = next
          i += 1
        }
        guard lo <= hi else { throw error("a character range out of order") }
        c.ranges.append(lo...hi)
        if caseInsensitive, hi - lo < 512 {
          for v in lo...hi { c.ranges += CaseFolding.variants(of: v).map { $0...$0 } }
        }
      } else {
        c.ranges += caseInsensitive ? CaseFolding.variants(of: lo).map { $0...$0 } : [lo...lo]
      }
    }
    c.negated = negated
    return c
  }

  private mutating func hex(_ digits: Int) throws(PatternError) -> UInt32 {
    var v: UInt32 = 0
    for _ in 0..<digits {
      guard let c = peek, let d = Self.hexValue(c) else { throw error("a bad hex escape") }
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

  private mutating func parseEscape() throws(PatternError) -> Escape {
    guard let c = peek else { throw error("a '\\' at the end") }
    i += 1
    let word = ScalarProperties.mask(named: "L")! | ScalarProperties.mask(named: "M")!
      | ScalarProperties.mask(named: "Nd")! | ScalarProperties.mask(named: "Nl")! | ScalarProperties.mask(named: "Pc")!
    switch c {
    case Self.ch("s"): return .set(.category(ScalarProperties.whiteSpaceBit, negated: false))
    case Self.ch("S"): return .set(.category(ScalarProperties.whiteSpaceBit, negated: true))
    case Self.ch("d"): return .set(.category(ScalarProperties.mask(named: "Nd")!, negated: false))
    case Self.ch("D"): return .set(.category(ScalarProperties.mask(named: "Nd")!, negated: true))
    case Self.ch("w"): return .set(.category(word, negated: false))
    case Self.ch("W"): return .set(.category(word, negated: true))
    case Self.ch("p"), Self.ch("P"):
      var negated = c == Self.ch("P")
      var name = ""
      if peek == Self.ch("{") {
        i += 1
        if peek == Self.ch("^") {
          negated.toggle()
          i += 1
        }
        while let x = peek, x != Self.ch("}") {
          name.unicodeScalars.append(Unicode.Scalar(x)!)
          i += 1
        }
        guard peek == Self.ch("}") else { throw error("an unterminated \\p{…}") }
        i += 1
      } else if let x = peek {
        name.unicodeScalars.append(Unicode.Scalar(x)!)
        i += 1
      }
      guard let mask = ScalarProperties.mask(named: name) else {
        throw error("the property \\p{\(name)} is not supported (general categories only)")
      }
      return .set(.category(mask, negated: negated))
    case Self.ch("x"):
      if peek == Self.ch("{") {
        i += 1
        var v: UInt32 = 0
        var n = 0
        while let x = peek, let d = Self.hexValue(x) {
          v = v &* 16 &+ d
          n += 1
          i += 1
        }
        guard n > 0, n <= 6, peek == Self.ch("}"), v <= 0x10FFFF else { throw error("a bad \\x{…} escape") }
        i += 1
        return .scalar(v)
      }
      return .scalar(try hex(2))
    case Self.ch("u"): return .scalar(try hex(4))
    case Self.ch("n"): return .scalar(0x0A)
    case Self.ch("t"): return .scalar(0x09)
    case Self.ch("r"): return .scalar(0x0D)
    case Self.ch("f"): return .scalar(0x0C)
    case Self.ch("v"): return .scalar(0x0B)
    case Self.ch("a"): return .scalar(0x07)
    case Self.ch("e"): return .scalar(0x1B)
    case Self.ch("0"): return .scalar(0)
    default:
      let isAlnum = (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
      if isAlnum { throw error("the escape \\\(Character(Unicode.Scalar(c)!)) is not supported") }
      return .scalar(c)
    }
  }
}

/// Case variants for the `i` flag: the scalars with the same simple case folding.
enum CaseFolding {
  /// Folds that are not a simple upper/lower pair of the scalar itself.
  private static let extra: [UInt32: [UInt32]] = [
    0x73: [0x17F], 0x53: [0x17F], 0x17F: [0x73, 0x53],  // s S ſ
    0x6B: [0x212A], 0x4B: [0x212A], 0x212A: [0x6B, 0x4B],  // k K K(Kelvin)
    0xE5: [0x212B], 0xC5: [0x212B], 0x212B: [0xE5, 0xC5],  // å Å Å(Angstrom)
  ]

  static func variants(of v: UInt32) -> [UInt32] {
    var out: [UInt32] = [v]
    guard let s = Unicode.Scalar(v) else { return out }
    for m in [s.properties.lowercaseMapping, s.properties.uppercaseMapping, s.properties.titlecaseMapping] {
      let u = m.unicodeScalars
      if u.count == 1, let x = u.first?.value, !out.contains(x) { out.append(x) }
    }
    for x in extra[v] ?? [] where !out.contains(x) { out.append(x) }
    return out
  }
}

/// A compiled pattern: instruction lists for the backtracking matcher (program 0 is the
/// pattern, the others are atomic groups and lookaheads inside it).
final class PretokenizerPattern: Sendable {
  enum Op: Sendable {
    /// One scalar in class k.
    case set(Int32)
    /// A greedy or possessive run of class k, min...max scalars (max < 0: unbounded).
    case run(Int32, min: Int32, max: Int32, possessive: Bool)
    /// Try the first target, then the second.
    case split(Int32, Int32)
    case jump(Int32)
    /// The first match of program k from here, with no way back into it.
    case atomic(Int32)
    case look(Int32, negated: Bool)
    case anchor(PatternNode.Anchor)
    case match
  }

  let programs: [[Op]]
  let classes: [ScalarClass]
  /// What decides most lookups without touching a class's arrays (see `FastClass`).
  let fast: [FastClass]
  /// The pattern as written, for messages.
  let source: String

  /// Compiles `pattern`; an unsupported construct is an error naming it.
  init(_ pattern: String, dialect: RegexDialect) throws(PatternError) {
    let node = try PatternParser.parse(pattern, dialect: dialect)
    var b = Builder()
    _ = b.program(node)
    programs = b.programs
    classes = b.classes
    fast = b.classes.map(FastClass.init)
    source = pattern
  }

  private struct Builder {
    var programs: [[Op]] = []
    var classes: [ScalarClass] = []

    mutating func program(_ node: PatternNode) -> Int32 {
      let k = programs.count
      programs.append([])
      var ops: [Op] = []
      emit(node, into: &ops)
      ops.append(.match)
      programs[k] = ops
      return Int32(k)
    }

    mutating func classIndex(_ c: ScalarClass) -> Int32 {
      classes.append(c)
      return Int32(classes.count - 1)
    }

    mutating func emit(_ node: PatternNode, into ops: inout [Op]) {
      switch node {
      case .set(let c):
        ops.append(.set(classIndex(c)))
      case .anchor(let a):
        ops.append(.anchor(a))
      case .lookahead(let body, let negated):
        ops.append(.look(program(body), negated: negated))
      case .atomic(let body):
        ops.append(.atomic(program(body)))
      case .concat(let parts):
        for p in parts { emit(p, into: &ops) }
      case .alternation(let alts):
        var jumps: [Int] = []
        for (k, a) in alts.enumerated() {
          if k < alts.count - 1 {
            let split = ops.count
            ops.append(.split(0, 0))
            emit(a, into: &ops)
            jumps.append(ops.count)
            ops.append(.jump(0))
            ops[split] = .split(Int32(split + 1), Int32(ops.count))
          } else {
            emit(a, into: &ops)
          }
        }
        for j in jumps { ops[j] = .jump(Int32(ops.count)) }
      case .repetition(let body, let min, let max, let kind):
        if case .set(let c) = body, kind != .lazy {
          ops.append(.run(classIndex(c), min: Int32(min), max: Int32(max ?? -1), possessive: kind == .possessive))
          return
        }
        if kind == .possessive {
          ops.append(.atomic(program(.repetition(body, min: min, max: max, .greedy))))
          return
        }
        let greedy = kind == .greedy
        for _ in 0..<min { emit(body, into: &ops) }
        if let max {
          var outs: [Int] = []
          for _ in min..<max {
            outs.append(ops.count)
            ops.append(.split(0, 0))
            emit(body, into: &ops)
          }
          let end = Int32(ops.count)
          for o in outs { ops[o] = greedy ? .split(Int32(o + 1), end) : .split(end, Int32(o + 1)) }
        } else {
          let loop = ops.count
          ops.append(.split(0, 0))
          emit(body, into: &ops)
          ops.append(.jump(Int32(loop)))
          let end = Int32(ops.count)
          ops[loop] = greedy ? .split(Int32(loop + 1), end) : .split(end, Int32(loop + 1))
        }
      }
    }
  }
}

/// Scratch space for matching: the segment's scalars and their property bits, and the
/// backtracking stack. One per thread.
struct PatternMatcher {
  var scalars: [UInt32] = []
  var bits: [UInt64] = []
  /// Byte offset of each scalar in the segment, and the segment's length at the end.
  var offsets: [Int] = []
  private var stack: [(pc: Int32, sp: Int32, lo: Int32)] = []

  init() {}

  /// Loads a segment of valid UTF-8.
  mutating func load(_ text: UnsafeBufferPointer<UInt8>) {
    scalars.removeAll(keepingCapacity: true)
    bits.removeAll(keepingCapacity: true)
    offsets.removeAll(keepingCapacity: true)
    var i = 0
    let n = text.count
    while i < n {
      let b0 = text[i]
      var v: UInt32
      var len: Int
      if b0 < 0x80 {
        v = UInt32(b0)
        len = 1
      } else if b0 < 0xE0 {
        v = UInt32(b0 & 0x1F) << 6 | UInt32(text[i + 1] & 0x3F)
        len = 2
      } else if b0 < 0xF0 {
        v = UInt32(b0 & 0x0F) << 12 | UInt32(text[i + 1] & 0x3F) << 6 | UInt32(text[i + 2] & 0x3F)
        len = 3
      } else {
        v = UInt32(b0 & 0x07) << 18 | UInt32(text[i + 1] & 0x3F) << 12 | UInt32(text[i + 2] & 0x3F) << 6
          | UInt32(text[i + 3] & 0x3F)
        len = 4
      }
      scalars.append(v)
      bits.append(v < 128 ? Self.asciiBits[Int(v)] : ScalarProperties.bits(v))
      offsets.append(i)
      i += len
    }
    offsets.append(n)
  }

  private static let asciiBits: [UInt64] = (0..<128).map { ScalarProperties.bits(UInt32($0)) }

  /// Calls `body` with the byte range of every match of `pattern` in `text` (valid UTF-8), left
  /// to right, as the engines' `find_iter` yields them.
  mutating func forEachMatch(
    of pattern: PretokenizerPattern, in text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void
  ) {
    load(text)
    let n = scalars.count
    let offsets = self.offsets
    // The buffers are fixed for the whole segment: take them once, not per position.
    pattern.programs[0].withUnsafeBufferPointer { ops in
      pattern.fast.withUnsafeBufferPointer { fast in
        let scalars = self.scalars
        let bits = self.bits
        scalars.withUnsafeBufferPointer { sc in
          bits.withUnsafeBufferPointer { bt in
            var p = 0
            while p < n {
              let base = stack.count
              let e = run(pattern, ops, fast, sc, bt, n, p, base)
              stack.removeSubrange(base...)
              if let e {
                if e > p {
                  body(offsets[p]..<offsets[e])
                  p = e
                  continue
                }
                // An empty match: the engines step past it.
                body(offsets[p]..<offsets[p])
              }
              p += 1
            }
          }
        }
      }
    }
  }

  /// The end of the first match of `program` starting at scalar `start`, or nil.
  mutating func match(_ pattern: PretokenizerPattern, program: Int, at start: Int) -> Int? {
    let base = stack.count
    defer { stack.removeSubrange(base...) }
    let n = scalars.count
    // Plain pointers for the loop: no reference counting or uniqueness checks per step.
    return pattern.programs[program].withUnsafeBufferPointer { ops -> Int? in
      pattern.fast.withUnsafeBufferPointer { fast -> Int? in
        scalars.withUnsafeBufferPointer { scalars -> Int? in
          bits.withUnsafeBufferPointer { bits -> Int? in
            run(pattern, ops, fast, scalars, bits, n, start, base)
          }
        }
      }
    }
  }

  private mutating func run(
    _ pattern: PretokenizerPattern, _ ops: UnsafeBufferPointer<PretokenizerPattern.Op>,
    _ fast: UnsafeBufferPointer<FastClass>, _ scalars: UnsafeBufferPointer<UInt32>,
    _ bits: UnsafeBufferPointer<UInt64>, _ n: Int, _ start: Int, _ base: Int
  ) -> Int? {
    @inline(__always) func inClass(_ k: Int32, _ i: Int) -> Bool {
      let f = fast[Int(k)]
      let v = scalars[i]
      if v < 64 { return (f.ascii0 >> UInt64(v)) & 1 != 0 }
      if v < 128 { return (f.ascii1 >> UInt64(v - 64)) & 1 != 0 }
      if f.slow { return pattern.classes[Int(k)].slowContains(v, bits[i]) }
      let b = bits[i]
      let hit = b & f.mask != 0 || (f.excluded != 0 && b & f.excluded == 0)
      return hit != f.negated
    }
    var pc = 0
    var sp = start
    while true {
      var ok = true
      switch ops[pc] {
      case .set(let k):
        if sp < n, inClass(k, sp) {
          sp += 1
          pc += 1
        } else {
          ok = false
        }
      case .run(let k, let lo, let hi, let possessive):
        var e = sp
        let limit = hi < 0 ? n : min(n, sp + Int(hi))
        while e < limit, inClass(k, e) { e += 1 }
        if e - sp < Int(lo) {
          ok = false
        } else {
          if !possessive, e - 1 >= sp + Int(lo) {
            stack.append((Int32(pc + 1), Int32(e - 1), Int32(sp + Int(lo))))
          }
          sp = e
          pc += 1
        }
      case .split(let a, let b):
        stack.append((b, Int32(sp), -1))
        pc = Int(a)
      case .jump(let a):
        pc = Int(a)
      case .atomic(let k):
        if let e = match(pattern, program: Int(k), at: sp) {
          sp = e
          pc += 1
        } else {
          ok = false
        }
      case .look(let k, let negated):
        let found = match(pattern, program: Int(k), at: sp) != nil
        if found != negated { pc += 1 } else { ok = false }
      case .anchor(let a):
        switch a {
        case .textStart: ok = sp == 0
        case .textEnd: ok = sp == n
        case .textEndBeforeNewline: ok = sp == n || (sp == n - 1 && scalars[sp] == 0x0A)
        case .lineStart: ok = sp == 0 || scalars[sp - 1] == 0x0A
        case .lineEnd: ok = sp == n || scalars[sp] == 0x0A
        }
        if ok { pc += 1 }
      case .match:
        return sp
      }
      if ok { continue }
      // Backtrack.
      guard stack.count > base else { return nil }
      let top = stack.removeLast()
      pc = Int(top.pc)
      sp = Int(top.sp)
      if top.lo >= 0, top.sp > top.lo {
        stack.append((top.pc, top.sp - 1, top.lo))
      }
    }
  }
}
