import WinnowCore

/// A list of metadata entries (MetaCLIP's "metadata": WordNet synsets, Wikipedia titles and
/// frequent n-grams) read from a text file, one entry per line. Blank lines are skipped; a
/// line is otherwise taken exactly as written (a trailing CR of CRLF files aside), because
/// matching is exact and case-sensitive. An entry's id is its position among the entries.
public struct MetadataEntries: Sendable {
  /// The entries, in file order (UTF-8).
  public let entries: [[UInt8]]
  /// A hash of the whole list, in order: a run's counts are only valid for the list they
  /// were counted with.
  public let fingerprint: UInt64

  /// The entries of `path` (compressed files are read through). Errors name the file and
  /// line: not UTF-8, an entry repeated (it would be counted and drawn twice), no entry.
  public init(path: String, what prefix: String = "") throws(WinnowError) {
    var entries: [[UInt8]] = []
    var firstLine: [[UInt8]: Int] = [:]
    try forEachLine(ofFile: path, cannotRead: prefix + "cannot read the entries: ") { (line, number) throws(WinnowError) in
      var bytes = line
      if bytes.last == 0x0D { bytes = UnsafeBufferPointer(rebasing: bytes[..<(bytes.count - 1)]) }
      if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
      guard String(validating: bytes, as: UTF8.self) != nil else {
        throw .usage(prefix + "\(path):\(number): not valid UTF-8")
      }
      let entry = Array(bytes)
      if let first = firstLine[entry] {
        throw .usage(prefix + "\(path):\(number): the entry '\(String(decoding: entry, as: UTF8.self))' repeats line \(first)")
      }
      firstLine[entry] = number
      entries.append(entry)
    }
    guard !entries.isEmpty else { throw .usage(prefix + "\(path): no entries (one per line)") }
    self.init(entries: entries)
  }

  /// A list of these entries (UTF-8, distinct).
  public init(entries: [[UInt8]]) {
    self.entries = entries
    let h = StreamingXXH3()
    for e in entries {
      var n = UInt64(e.count).littleEndian
      withUnsafeBytes(of: &n) { h.update($0) }
      e.withUnsafeBytes { h.update($0) }
    }
    fingerprint = h.digest
  }

  /// The number of entries.
  public var count: Int { entries.count }
}

/// MetaCLIP's substring matching (`metaclip/metaclip1/substr_matching.py`), on UTF-8 bytes:
/// the text is padded with a space on each side, each of `, . ; : ? ! `` is wrapped in spaces
/// and each tab, LF and CR becomes a space; entry e matches when `" e "` occurs in that text.
/// Matching is case-sensitive; an entry holding one of those characters can never match (as
/// in the reference). All are ASCII, so the byte-level rewrite equals Python's `str.replace`
/// on code points, and since every pattern starts and ends with a space a byte-level match
/// is a match of whole characters.
///
/// All entries are searched at once with an Aho–Corasick automaton: the trie of the padded
/// entries in breadth-first order (a node's children are consecutive nodes, sorted by byte),
/// failure links, and links to the nearest entry that ends at a suffix. Memory is about 20
/// bytes per trie node; the search is linear in the text.
public final class MetadataMatcher: Sendable {
  /// The number of entries.
  public let entryCount: Int
  let label: [UInt8]
  let firstChild: [Int32]
  let childCount: [UInt16]
  let fail: [Int32]
  /// The entry ending at a node, or −1.
  let terminal: [Int32]
  /// The nearest node on the failure chain (excluding the node) where an entry ends, or −1.
  let outputLink: [Int32]
  /// The root's child per byte (0: none; the root is node 0).
  let rootNext: [Int32]

  /// The automaton of `entries`.
  public init(_ entries: MetadataEntries) {
    entryCount = entries.count
    // Patterns " e ", sorted; a node is a range of sorted patterns sharing its prefix.
    let patterns: [[UInt8]] = entries.entries.map { [0x20] + $0 + [0x20] }
    let order = patterns.indices.sorted { patterns[$0].lexicographicallyPrecedes(patterns[$1]) }
    var label: [UInt8] = [0]
    var firstChild: [Int32] = [0]
    var childCount: [UInt16] = [0]
    var terminal: [Int32] = [-1]
    // Breadth-first: each queued node with its pattern range and depth.
    var queue: [(node: Int, lo: Int, hi: Int)] = [(0, 0, order.count)]
    var depth: [Int] = [0]
    var head = 0
    while head < queue.count {
      let (node, lo0, hi) = queue[head]
      head += 1
      let d = depth[node]
      var lo = lo0
      // The pattern that ends here sorts first in its range.
      if lo < hi && patterns[order[lo]].count == d {
        terminal[node] = Int32(order[lo])
        lo += 1
      }
      firstChild[node] = Int32(label.count)
      var k = lo
      var children = 0
      while k < hi {
        let b = patterns[order[k]][d]
        var end = k + 1
        while end < hi && patterns[order[end]][d] == b { end += 1 }
        let child = label.count
        label.append(b)
        firstChild.append(0)
        childCount.append(0)
        terminal.append(-1)
        depth.append(d + 1)
        queue.append((child, k, end))
        children += 1
        k = end
      }
      childCount[node] = UInt16(children)
    }
    // Failure and output links, in breadth-first order (a node's failure target is shallower).
    let n = label.count
    var fail = [Int32](repeating: 0, count: n)
    var outputLink = [Int32](repeating: -1, count: n)
    var rootNext = [Int32](repeating: 0, count: 256)
    for c in 0..<Int(childCount[0]) {
      let child = Int(firstChild[0]) + c
      rootNext[Int(label[child])] = Int32(child)
    }
    func child(_ node: Int, _ b: UInt8) -> Int? {
      if node == 0 {
        let c = Int(rootNext[Int(b)])
        return c == 0 ? nil : c
      }
      var lo = Int(firstChild[node])
      var hi = lo + Int(childCount[node])
      while lo < hi {
        let mid = (lo + hi) / 2
        if label[mid] < b { lo = mid + 1 } else { hi = mid }
      }
      return lo < Int(firstChild[node]) + Int(childCount[node]) && label[lo] == b ? lo : nil
    }
    for node in 0..<n {
      for c in 0..<Int(childCount[node]) {
        let x = Int(firstChild[node]) + c
        let b = label[x]
        var f: Int? = nil
        if node != 0 {
          var s = Int(fail[node])
          while true {
            if let t = child(s, b) {
              f = t
              break
            }
            if s == 0 { break }
            s = Int(fail[s])
          }
        }
        let target = f ?? 0
        fail[x] = Int32(target)
        outputLink[x] = terminal[target] >= 0 ? Int32(target) : outputLink[target]
      }
    }
    self.label = label
    self.firstChild = firstChild
    self.childCount = childCount
    self.fail = fail
    self.terminal = terminal
    self.outputLink = outputLink
    self.rootNext = rootNext
  }

  /// The number of trie nodes.
  public var nodeCount: Int { label.count }

  /// MetaCLIP's spacing of `text` into `out` (replacing its contents).
  public static func space(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    out.removeAll(keepingCapacity: true)
    out.reserveCapacity(text.count + text.count / 4 + 2)
    out.append(0x20)
    for b in text {
      switch b {
      // , . ; : ? ! `
      case 0x2C, 0x2E, 0x3B, 0x3A, 0x3F, 0x21, 0x60:
        out.append(0x20)
        out.append(b)
        out.append(0x20)
      case 0x09, 0x0A, 0x0D: out.append(0x20)
      default: out.append(b)
      }
    }
    out.append(0x20)
  }

  /// Calls `found` with the id of every entry that occurs in the spaced text, once per
  /// occurrence, in the order their matches end.
  public func search(spaced text: UnsafeBufferPointer<UInt8>, _ found: (Int) -> Void) {
    label.withUnsafeBufferPointer { label in
      firstChild.withUnsafeBufferPointer { firstChild in
        childCount.withUnsafeBufferPointer { childCount in
          fail.withUnsafeBufferPointer { fail in
            terminal.withUnsafeBufferPointer { terminal in
              outputLink.withUnsafeBufferPointer { outputLink in
                rootNext.withUnsafeBufferPointer { rootNext in
                  var state = 0
                  for b in text {
                    while true {
                      if state == 0 {
                        state = Int(rootNext[Int(b)])
                        break
                      }
                      let lo0 = Int(firstChild[state])
                      let end = lo0 + Int(childCount[state])
                      var lo = lo0
                      var hi = end
                      while lo < hi {
                        let mid = (lo + hi) &>> 1
                        if label[mid] < b { lo = mid + 1 } else { hi = mid }
                      }
                      if lo < end && label[lo] == b {
                        state = lo
                        break
                      }
                      state = Int(fail[state])
                    }
                    var o = terminal[state] >= 0 ? state : Int(outputLink[state])
                    while o >= 0 {
                      found(Int(terminal[o]))
                      o = Int(outputLink[o])
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

/// The matched entries of one text at a time, as MetaCLIP lists them: each entry once, in
/// entry order. Holds the buffers one matcher's user reuses.
public struct MetadataMatchScratch {
  var spaced: [UInt8] = []
  var stamp: [UInt32]
  var generation: UInt32 = 0
  /// The ids of the entries matched by the last text, ascending.
  public private(set) var matched: [Int] = []

  /// Buffers for `matcher`.
  public init(_ matcher: MetadataMatcher) {
    stamp = [UInt32](repeating: 0, count: matcher.entryCount)
  }

  /// Matches `text` (UTF-8) and leaves the matched ids in `matched`.
  public mutating func match(_ text: UnsafeBufferPointer<UInt8>, with matcher: MetadataMatcher) {
    MetadataMatcher.space(text, into: &spaced)
    generation &+= 1
    if generation == 0 {
      for i in stamp.indices { stamp[i] = 0 }
      generation = 1
    }
    matched.removeAll(keepingCapacity: true)
    let g = generation
    spaced.withUnsafeBufferPointer { s in
      stamp.withUnsafeMutableBufferPointer { st in
        matcher.search(spaced: s) { e in
          if st[e] != g {
            st[e] = g
            matched.append(e)
          }
        }
      }
    }
    matched.sort()
  }
}
