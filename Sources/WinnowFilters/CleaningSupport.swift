import Glibc
import WinnowCore
import WinnowText

// Primitives the cleaning stages (wordlist, url_blocklist, normalize, pii_redact) share: list
// files, an Aho–Corasick automaton over UTF-8 bytes, word-character tables and small UTF-8
// helpers. Everything here works on bytes; nothing allocates per document.

// MARK: - List files

/// Word lists, block lists and the like: one entry per line.
enum ListFile {
  /// The entries of `path`: one per line, trimmed of spaces, tabs and `\r`; blank lines and
  /// lines whose first non-blank character is `#` are skipped; a UTF-8 byte order mark at the
  /// start is dropped. gzip and zstd files are read through (by their magic bytes). Errors name
  /// the stage, the parameter and the file.
  static func read(_ path: String, stage: String, parameter: String) throws(WinnowError) -> [[UInt8]] {
    var entries: [[UInt8]] = []
    try forEachEntry(path, stage: stage, parameter: parameter) { entries.append(Array($0)) }
    return entries
  }

  /// Calls `body` with each entry of `path` (see `read`), without collecting them: block
  /// lists can have millions of lines.
  static func forEachEntry(
    _ path: String, stage: String, parameter: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void
  ) throws(WinnowError) {
    try forEachLine(ofFile: path, cannotRead: "stage '\(stage)': \(parameter): cannot read list file: ") {
      (line, number) throws(WinnowError) in
      var lo = 0
      var hi = line.count
      while lo < hi, isBlank(line[lo]) { lo += 1 }
      while hi > lo, isBlank(line[hi - 1]) { hi -= 1 }
      if lo == hi || line[lo] == UInt8(ascii: "#") { return }
      let entry = UnsafeBufferPointer(rebasing: line[lo..<hi])
      guard UTF8Scan.isValid(entry) else {
        throw .usage("stage '\(stage)': \(parameter): \(path): line \(number) is not valid UTF-8")
      }
      body(entry)
    }
  }

  @inline(__always) static func isBlank(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C
  }
}

// MARK: - Aho–Corasick

/// Aho–Corasick over bytes: every occurrence of every pattern in one pass over the text,
/// whatever the number of patterns. Bytes that occur in no pattern share one class, so the
/// transition table has a column per distinct pattern byte, not 256. Lists too large for a
/// dense table (more than `denseLimit` cells) keep the trie with failure links instead: slower
/// per byte, small in memory.
final class ByteAutomaton {
  /// Distinct patterns, in the order given; a pattern's id is its index.
  let patterns: [[UInt8]]
  private let classOf: UnsafeMutablePointer<UInt8>
  private let classCount: Int
  private let nodeCount: Int
  /// Dense mode: `row + class` → next row offset (node × classCount), bit 31 set when the
  /// node ends a pattern (itself or through a suffix).
  private let dense: UnsafeMutablePointer<UInt32>?
  /// The same table with 16-bit entries (flag in bit 15) when it fits: half the memory, so
  /// that a typical word list's table stays in the L1 cache (each step waits for the last).
  private let dense16: UnsafeMutablePointer<UInt16>?
  /// Sparse mode: the trie's children as sorted (class, node) lists in flat arrays, failure
  /// links, and a dense row for the root.
  private let childStart: [Int32]
  private let childClass: [UInt8]
  private let childNode: [Int32]
  private let fail: [Int32]
  private let rootRow: [Int32]
  /// Per node: the pattern it spells (or -1), the nearest proper suffix node that spells a
  /// pattern (or -1), and whether either exists.
  private let terminal: [Int32]
  private let dictLink: [Int32]
  private let hasOutput: [Bool]

  var isDense: Bool { dense != nil }
  var isDense16: Bool { dense16 != nil }

  /// Empty patterns are ignored; duplicates are merged (the first id is kept). `compact:
  /// false` keeps the 32-bit table even when the 16-bit one would do (for tests).
  init(patterns input: [[UInt8]], denseLimit: Int = 1 << 24, compact: Bool = true) {
    var seen: [[UInt8]: Int] = [:]
    var pats: [[UInt8]] = []
    for p in input where !p.isEmpty && seen[p] == nil {
      seen[p] = pats.count
      pats.append(p)
    }
    patterns = pats

    var used = [Bool](repeating: false, count: 256)
    for p in pats { for b in p { used[Int(b)] = true } }
    classOf = .allocate(capacity: 256)
    var k = 0
    for b in 0..<256 {
      if used[b] {
        k += 1
        classOf[b] = UInt8(k)
      } else {
        classOf[b] = 0
      }
    }
    let classes = k + 1
    classCount = classes

    // The trie, children as unsorted lists while building.
    var children: [[(UInt8, Int32)]] = [[]]
    var term: [Int32] = [-1]
    for (id, p) in pats.enumerated() {
      var s = 0
      for b in p {
        let c = classOf[Int(b)]
        if let next = children[s].first(where: { $0.0 == c }) {
          s = Int(next.1)
        } else {
          children.append([])
          term.append(-1)
          let n = Int32(children.count - 1)
          children[s].append((c, n))
          s = Int(n)
        }
      }
      if term[s] < 0 { term[s] = Int32(id) }
    }
    let nodes = children.count
    nodeCount = nodes
    func child(_ s: Int, _ c: UInt8) -> Int32? { children[s].first(where: { $0.0 == c })?.1 }

    // Failure and dictionary links, breadth first.
    var failLinks = [Int32](repeating: 0, count: nodes)
    var dict = [Int32](repeating: -1, count: nodes)
    var order: [Int32] = [0]
    order.reserveCapacity(nodes)
    var head = 0
    while head < order.count {
      let u = Int(order[head])
      head += 1
      for (c, v) in children[u] {
        var f: Int32 = 0
        if u != 0 {
          var g = Int(failLinks[u])
          while true {
            if let w = child(g, c) {
              f = w
              break
            }
            if g == 0 { break }
            g = Int(failLinks[g])
          }
        }
        failLinks[Int(v)] = f
        dict[Int(v)] = term[Int(f)] >= 0 ? f : dict[Int(f)]
        order.append(v)
      }
    }
    terminal = term
    dictLink = dict
    let hasOut = (0..<nodes).map { term[$0] >= 0 || dict[$0] >= 0 }
    hasOutput = hasOut

    if nodes * classes <= denseLimit && nodes * classes < Int(Int32.max) {
      let table = UnsafeMutablePointer<UInt32>.allocate(capacity: nodes * classes)
      func entry(_ node: Int) -> UInt32 { UInt32(node * classes) | (hasOut[node] ? 0x8000_0000 : 0) }
      for u32 in order {
        let u = Int(u32)
        let row = table + u * classes
        if u == 0 {
          for c in 0..<classes { row[c] = entry(0) }
        } else {
          row.update(from: table + Int(failLinks[u]) * classes, count: classes)
        }
        for (c, v) in children[u] { row[Int(c)] = entry(Int(v)) }
      }
      dense = table
      if compact && nodes * classes <= 0x8000 {
        let small = UnsafeMutablePointer<UInt16>.allocate(capacity: nodes * classes)
        for k in 0..<(nodes * classes) {
          let e = table[k]
          small[k] = UInt16(e & 0x7FFF_FFFF) | (e & 0x8000_0000 != 0 ? 0x8000 : 0)
        }
        dense16 = small
      } else {
        dense16 = nil
      }
      childStart = []
      childClass = []
      childNode = []
      fail = []
      rootRow = []
    } else {
      dense = nil
      dense16 = nil
      var starts: [Int32] = []
      var cls: [UInt8] = []
      var next: [Int32] = []
      starts.reserveCapacity(nodes + 1)
      for u in 0..<nodes {
        starts.append(Int32(cls.count))
        for (c, v) in children[u].sorted(by: { $0.0 < $1.0 }) {
          cls.append(c)
          next.append(v)
        }
      }
      starts.append(Int32(cls.count))
      childStart = starts
      childClass = cls
      childNode = next
      fail = failLinks
      var root = [Int32](repeating: 0, count: classes)
      for (c, v) in children[0] { root[Int(c)] = v }
      rootRow = root
    }
  }

  deinit {
    classOf.deallocate()
    dense?.deallocate()
    dense16?.deallocate()
  }

  /// Calls `body(end, node)` at every position where at least one pattern ends (`end` is
  /// the byte offset just past it); `forEachPattern(endingAt:)` lists them. `body` returns
  /// false to stop the scan.
  @inline(__always)
  func scan(_ text: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Bool) {
    guard let p = text.baseAddress else { return }
    let n = text.count
    if let table = dense16 {
      let classes = UInt16(classCount)
      let cls = classOf
      var s: UInt16 = 0
      var i = 0
      while i < n {
        s = table[Int((s & 0x7FFF) &+ UInt16(cls[Int(p[i])]))]
        i &+= 1
        if s & 0x8000 != 0 {
          if !body(i, Int((s & 0x7FFF) / classes)) { return }
        }
      }
      return
    }
    if let table = dense {
      let classes = UInt32(classCount)
      let cls = classOf
      var s: UInt32 = 0
      var i = 0
      while i < n {
        s = table[Int((s & 0x7FFF_FFFF) &+ UInt32(cls[Int(p[i])]))]
        i &+= 1
        if s & 0x8000_0000 != 0 {
          if !body(i, Int((s & 0x7FFF_FFFF) / classes)) { return }
        }
      }
      return
    }
    var s = 0
    for i in 0..<n {
      s = step(s, classOf[Int(p[i])])
      if hasOutput[s] {
        if !body(i + 1, s) { return }
      }
    }
  }

  private func step(_ from: Int, _ c: UInt8) -> Int {
    var s = from
    while true {
      if s == 0 { return Int(rootRow[Int(c)]) }
      var lo = Int(childStart[s])
      var hi = Int(childStart[s + 1])
      while lo < hi {
        let mid = (lo + hi) >> 1
        let m = childClass[mid]
        if m == c { return Int(childNode[mid]) }
        if m < c { lo = mid + 1 } else { hi = mid }
      }
      s = Int(fail[s])
    }
  }

  /// The patterns that end at a node `scan` reported, longest first.
  @inline(__always)
  func forEachPattern(endingAt node: Int, _ body: (Int) -> Void) {
    var s = terminal[node] >= 0 ? node : Int(dictLink[node])
    while s >= 0 {
      body(Int(terminal[s]))
      s = Int(dictLink[s])
    }
  }
}

// MARK: - Word characters

/// What the word list's whole-word matching treats as part of a word: letters, combining
/// marks, numbers and connector punctuation (`_`) — Unicode general categories L*, M*, Nd,
/// Nl, No and Pc. (Marks count so that a decomposed accent does not end a word.) Everything
/// else — spaces, punctuation, symbols — separates words.
enum WordChars {
  /// One bit per Basic Multilingual Plane code point, built once from the Unicode tables of
  /// the Swift standard library.
  static let bmp: [UInt64] = {
    var bits = [UInt64](repeating: 0, count: 0x10000 / 64)
    for v in 0..<0x10000 where isWordSlow(UInt32(v)) { bits[v >> 6] |= 1 << UInt64(v & 63) }
    return bits
  }()

  static func isWordSlow(_ v: UInt32) -> Bool {
    guard let s = Unicode.Scalar(v) else { return false }
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
      .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber,
      .connectorPunctuation:
      return true
    default:
      return false
    }
  }

  @inline(__always) static func isASCIIWord(_ b: UInt8) -> Bool {
    (b &- 0x30) < 10 || ((b | 0x20) &- 0x61) < 26 || b == 0x5F
  }
}

/// A reference to `WordChars.bmp` that a stage keeps, so the hot loop does not go through the
/// lazy global each time.
struct WordCharTable {
  let bits: [UInt64] = WordChars.bmp

  @inline(__always) func contains(_ v: UInt32) -> Bool {
    if v < 0x80 { return WordChars.isASCIIWord(UInt8(v)) }
    if v < 0x10000 { return bits.withUnsafeBufferPointer { ($0[Int(v >> 6)] >> UInt64(v & 63)) & 1 != 0 } }
    return WordChars.isWordSlow(v)
  }
}

extension PythonWordTable {
  /// Whether Python's `re` matches `\w` at this code point (str pattern, no ASCII flag).
  static func contains(_ v: UInt32) -> Bool {
    if v < 0x80 { return WordChars.isASCIIWord(UInt8(v)) }
    return ranges.withUnsafeBufferPointer { r in
      // Binary search for the last range whose start is ≤ v.
      var lo = 0
      var hi = r.count / 2
      while lo < hi {
        let mid = (lo + hi) >> 1
        if r[2 * mid] <= v { lo = mid + 1 } else { hi = mid }
      }
      return lo > 0 && v <= r[2 * (lo - 1) + 1]
    }
  }
}

// MARK: - UTF-8

enum UTF8Scan {
  /// The scalar that ends just before byte offset `i` (`i > 0`), decoded backwards.
  @inline(__always)
  static func scalar(before i: Int, in p: UnsafePointer<UInt8>) -> UInt32 {
    let b = p[i - 1]
    if b < 0x80 { return UInt32(b) }
    var j = i - 1
    var k = 0
    while k < 3, j > 0, p[j] & 0xC0 == 0x80 {
      j -= 1
      k += 1
    }
    return scalar(at: j, in: p, count: i)
  }

  /// The scalar starting at byte offset `i` (`i < n`); text is valid UTF-8.
  @inline(__always)
  static func scalar(at i: Int, in p: UnsafePointer<UInt8>, count n: Int) -> UInt32 {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return b0 }
    if b0 < 0xE0, i + 1 < n { return (b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F) }
    if b0 < 0xF0, i + 2 < n {
      return (b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
    }
    if i + 3 < n {
      return (b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6
        | UInt32(p[i + 3] & 0x3F)
    }
    return 0xFFFD
  }

  /// Whether `bytes` are well-formed UTF-8 (list entries; not a hot path).
  static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    while i < bytes.count {
      if bytes[i] < 0x80 {
        i += 1
        continue
      }
      let (s, len) = UTF8Bytes.decode(bytes, at: i)
      if s == "\u{FFFD}" && !(len == 3 && bytes[i] == 0xEF && bytes[i + 1] == 0xBF && bytes[i + 2] == 0xBD) {
        return false
      }
      i += len
    }
    return true
  }

  /// Byte length of a UTF-8 sequence from its lead byte.
  @inline(__always) static func length(lead b: UInt8) -> Int {
    b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
  }
}

extension UnsafeBufferPointer where Element == UInt8 {
  /// Byte-wise equality with `other`.
  func sameBytes(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
    guard count == other.count else { return false }
    if count == 0 { return true }
    return memcmp(baseAddress!, other.baseAddress!, count) == 0
  }
}
