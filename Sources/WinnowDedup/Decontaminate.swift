import WinnowCore
import WinnowText

/// `decontaminate`: drops (or annotates) training documents that share n-grams with evaluation
/// sets — by default any run of 13 consecutive words, GPT-3's overlap test (Brown et al. 2020,
/// appendix C), which later reports (Llama, OLMo) vary — and says which sets matched and how
/// many distinct n-grams did.
///
/// Text is compared after normalisation: NFKC_Casefold (full case folding, full-width and
/// ligature forms folded, default-ignorable characters removed; text it would leave alone
/// skips ICU), then split into units. With `unit: word` a unit is a word — a run of letters,
/// combining marks and digits; apostrophes inside a word are left out (`don't` = `dont`), all
/// other punctuation, symbols and whitespace end it; every character of a script written
/// without spaces (Han, kana, Thai, Lao, Khmer, Myanmar) is a word of its own. With
/// `unit: char` a unit is one letter, mark or digit, and spaces and punctuation are left out
/// altogether (for Chinese, Japanese, Thai …).
///
/// Each word is hashed with XXH3-64 (a character unit is its code point, mixed); an n-gram's
/// key is a polynomial of its units' hashes modulo 2⁶⁴ (rolled along the text, so every
/// n-gram costs the same whatever n), finished with a bijective 64-bit mixer. The eval sets'
/// keys live in one open-addressing table, each with the set (or sets) it came from: a 64-bit
/// key and a 32-bit set-group id per slot, at most three quarters of the slots used, and a
/// prefilter of a byte per slot — 17 to 35 bytes per distinct eval n-gram. Documents are only
/// looked up, never stored.
public final class Decontaminate: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "decontaminate",
    summary: "Drop or annotate documents that share n-grams (13 words by default) with evaluation sets",
    parameters: [
      ParameterSpec(
        "eval_sets", .scalarList, required: true, file: .reads,
        help:
          "evaluation sets, each a set named by its file's base name: JSON Lines (.jsonl, .json, .ndjson, also .zst/.gz; the text in eval_field) or text (any other name: one item per non-empty line)"
      ),
      ParameterSpec(
        "eval_field", .string, default: .string("text"), help: "JSON Lines eval sets: the field that holds each item"),
      ParameterSpec(
        "unit", .choice(["word", "char"]), default: .string("word"),
        help:
          "word: n-grams of words of the case-folded text (punctuation dropped; each Han, kana, Thai … character a word); char: n-grams of letters and digits with spaces and punctuation left out, for languages written without spaces"
      ),
      ParameterSpec(
        "ngram", .int(min: 1, max: maxN), help: "n-gram length in units (default 13 for word, 25 for char)"),
      ParameterSpec(
        "min_matches", .int(min: 1, max: nil),
        help: "mode drop: documents with at least this many distinct matching n-grams are contaminated (default 1)"),
      ParameterSpec(
        "short_items", .choice(["skip", "whole"]), default: .string("skip"),
        help:
          "eval items shorter than ngram units: skip them (they would match common phrases), or match their whole unit sequence"
      ),
      ParameterSpec(
        "min_item_length", .int(min: 1, max: nil),
        help: "short_items whole: items shorter than this are still skipped (default 8 words, 13 characters)"),
      ParameterSpec(
        "mode", .choice(["drop", "annotate"]), default: .string("drop"),
        help:
          "drop: drop contaminated documents (reason contaminated; rejects carry the two fields); annotate: keep every document and add the two fields"
      ),
      ParameterSpec(
        "matches_field", .string, default: .string("decontaminate_matches"),
        help: "field for the number of distinct n-grams found in the eval sets"),
      ParameterSpec(
        "sets_field", .string, default: .string("decontaminate_sets"),
        help: "field for the names of the eval sets that matched, as a JSON list in eval_sets order"),
    ],
    make: { (p, _) throws(WinnowError) in try Decontaminate(p) })

  static let maxN = 1000
  static let stageName = "decontaminate"

  /// What an eval set contributed, for messages and tests.
  struct SetSummary: Equatable {
    var name: String
    var path: String
    var items = 0
    /// Items shorter than n units that were left out (all of them with `short_items: skip`).
    var shortSkipped = 0
    /// Items shorter than n units matched whole.
    var shortWhole = 0
    /// n-gram keys added, counting repeats.
    var ngrams = 0
  }

  let n: Int
  let unit: NGramUnit
  let minMatches: Int
  let annotateAll: Bool
  let matchesField: String
  let setsField: String
  let sets: [SetSummary]
  /// Each set's name as a JSON string, for the annotation.
  private let quotedNames: [String]
  let table: NGramTable
  /// Lengths below n of the items matched whole, ascending.
  let shortLengths: [Int]
  let splitter: NGramSplitter
  /// The table slots of the current document's matching n-grams.
  private let matched = SlotSet()
  private var setHit: [Bool]
  /// A document's n-gram keys, reused.
  private var keyBuffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 1 << 12)
  private var keyCapacity = 1 << 12
  /// The units looked up together: the last n - 1 of the previous piece, then a piece's.
  private var window = UnsafeMutablePointer<UInt64>.allocate(capacity: 1 << 12)
  private var windowCapacity = 1 << 12

  /// Gives back buffers grown past what a piece of text needs (a unit count of 1000 is long).
  private func releaseIfOutsized() {
    let large = 1 << 20
    if keyCapacity > large {
      keyBuffer.deallocate()
      keyCapacity = 1 << 12
      keyBuffer = .allocate(capacity: keyCapacity)
    }
    if windowCapacity > large {
      window.deallocate()
      windowCapacity = 1 << 12
      window = .allocate(capacity: windowCapacity)
    }
  }

  init(_ p: StageParameters) throws(WinnowError) {
    let stage = Self.stageName
    let unit: NGramUnit = p.string("unit") == "char" ? .char : .word
    let n = p.int("ngram") ?? (unit == .word ? 13 : 25)
    self.unit = unit
    self.n = n
    annotateAll = p.string("mode") == "annotate"
    if annotateAll && p.has("min_matches") {
      throw .usage("stage '\(stage)': mode annotate never drops; leave out min_matches (or use mode drop)")
    }
    minMatches = p.int("min_matches") ?? 1
    let whole = p.string("short_items") == "whole"
    if !whole && p.has("min_item_length") {
      throw .usage("stage '\(stage)': min_item_length is for short_items whole")
    }
    let minItem = p.int("min_item_length") ?? (unit == .word ? 8 : 13)
    matchesField = p.string("matches_field")!
    setsField = p.string("sets_field")!
    if matchesField.isEmpty || setsField.isEmpty || matchesField == setsField {
      throw .usage("stage '\(stage)': matches_field and sets_field must be two different, non-empty names")
    }
    let field = p.string("eval_field")!
    if field.isEmpty { throw .usage("stage '\(stage)': eval_field must not be empty") }
    let paths = p.list("eval_sets")!
    if paths.isEmpty || paths.contains(where: \.isEmpty) {
      throw .usage("stage '\(stage)': eval_sets needs one or more file paths (an empty path was given)")
    }
    let names = Self.setNames(paths)
    let splitter = NGramSplitter(unit)
    self.splitter = splitter
    let table = NGramTable(setCount: paths.count)
    var summaries: [SetSummary] = []
    var short = Set<Int>()
    for (s, path) in paths.enumerated() {
      var sum = SetSummary(name: names[s], path: path)
      try ReferenceTexts.forEachItem(path, field: field, fieldParameter: "eval_field", what: "stage '\(Self.stageName)': eval_sets: ", noun: "eval set") { item in
        sum.items += 1
        let units = splitter.split(item)
        if units.count >= n {
          NGramKeys.forEach(units, length: n) { table.insert($0, set: s) }
          sum.ngrams += units.count - n + 1
        } else if whole && units.count >= minItem {
          NGramKeys.forEach(units, length: units.count) { table.insert($0, set: s) }
          short.insert(units.count)
          sum.shortWhole += 1
          sum.ngrams += 1
        } else if units.count > 0 {
          sum.shortSkipped += 1
        }
      }
      if sum.ngrams == 0 {
        let what = unit == .word ? "words" : "characters"
        var why = "it has no items"
        if sum.items > 0 {
          why = "none of its \(sum.items) item(s) is \(n) \(what) long"
          why += whole ? " or at least min_item_length (\(minItem))" : " (short_items: whole matches shorter ones)"
        }
        throw .usage("stage '\(stage)': eval set \(path) gives no \(n)-grams: \(why)")
      }
      summaries.append(sum)
    }
    sets = summaries
    self.table = table
    shortLengths = short.sorted()
    quotedNames = names.map { JSONString.quoted($0) }
    setHit = Array(repeating: false, count: paths.count)
  }

  deinit {
    keyBuffer.deallocate()
    window.deallocate()
  }

  /// Each set's name: its file's base name without the compression and format extensions
  /// (`evals/mmlu.jsonl.zst` → `mmlu`); the path as given when two sets would share a name.
  static func setNames(_ paths: [String]) -> [String] {
    let bases = paths.map { path -> String in
      var name = String(path.split(separator: "/", omittingEmptySubsequences: true).last ?? Substring(path))
      for ext in [".zst", ".zstd", ".gz"] where name.hasSuffix(ext) && name.count > ext.count {
        name.removeLast(ext.count)
        break
      }
      if let dot = name.lastIndex(of: "."), dot != name.startIndex { name = String(name[..<dot]) }
      return name
    }
    var seen: [String: Int] = [:]
    for b in bases { seen[b, default: 0] += 1 }
    return bases.indices.map { seen[bases[$0]]! > 1 ? paths[$0] : bases[$0] }
  }

  /// Distinct eval n-grams held.
  public var evalNGramCount: Int { table.count }

  public func process(_ doc: Document) -> Verdict {
    matched.removeAll()
    // Units come a piece of the text at a time; the last n - 1 of a piece are kept in front
    // of the next, so that every n-gram (and every shorter one) is looked up, whatever the
    // text's length, without its units all held. A window looked up twice finds the same slot.
    var carried = 0
    splitter.forEachUnitBatch(doc.text) { batch in
      let total = carried + batch.count
      if total > windowCapacity {
        let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: max(total, 2 * windowCapacity))
        bigger.update(from: window, count: carried)
        window.deallocate()
        window = bigger
        windowCapacity = max(total, 2 * windowCapacity)
      }
      (window + carried).update(from: batch.baseAddress!, count: batch.count)
      let units = UnsafeBufferPointer(start: UnsafePointer(window), count: total)
      lookUp(units, length: n)
      for k in shortLengths where k <= total { lookUp(units, length: k) }
      carried = min(total, n - 1)
      if carried > 0 { window.update(from: window + (total - carried), count: carried) }
    }
    releaseIfOutsized()

    let count = matched.count
    if count == 0 {
      if annotateAll {
        doc.annotate(matchesField, .int(0))
        doc.annotate(setsField, .json("[]"))
      }
      return .keep
    }
    let contaminated = !annotateAll && count >= minMatches
    if annotateAll || contaminated {
      for s in setHit.indices { setHit[s] = false }
      let groups = table.groups
      let single = UInt32(setHit.count)
      var previous = UInt32.max
      for k in 0..<count {
        // Groups below the set count are single sets; most matches of a document share one.
        let g = groups[matched.members[k]]
        if g == previous { continue }
        previous = g
        if g < single {
          setHit[Int(g)] = true
        } else {
          for s in table.sets(ofGroup: g) { setHit[Int(s)] = true }
        }
      }
      var list = "["
      for s in setHit.indices where setHit[s] {
        if list.count > 1 { list += "," }
        list += quotedNames[s]
      }
      doc.annotate(matchesField, .int(count))
      doc.annotate(setsField, .json(list + "]"))
    }
    return contaminated ? .drop("contaminated") : .keep
  }

  /// Adds the slot of every `length`-gram of `units` that an eval set holds to `matched`.
  /// Three passes, so that the memory accesses of one do not wait for the branches of
  /// another: every key; the keys the prefilter lets through (kept branch-free, in place);
  /// those looked up in the table.
  private func lookUp(_ units: UnsafeBufferPointer<UInt64>, length k: Int) {
    let windows = units.count - k + 1
    guard windows > 0 else { return }
    if windows > keyCapacity {
      keyBuffer.deallocate()
      keyCapacity = max(windows, keyCapacity * 2)
      keyBuffer = .allocate(capacity: keyCapacity)
    }
    let keys = keyBuffer
    var j = 0
    NGramKeys.forEach(units, length: k) { key in
      keys[j] = key
      j &+= 1
    }
    let filter = table.prefilter
    let words = table.prefilterWordMask
    var candidates = 0
    for w in 0..<windows {
      let key = keys[w]
      let need = NGramTable.prefilterBits(key)
      let word = filter[NGramTable.prefilterWord(key) & words]
      keys[candidates] = key
      candidates &+= word & need == need ? 1 : 0
    }
    guard candidates > 0 else { return }
    let slots = table.keys
    let mask = table.mask
    for c in 0..<candidates {
      let key = keys[c]
      var slot = Int(truncatingIfNeeded: key) & mask
      while true {
        let found = slots[slot]
        if found == key {
          matched.insert(slot)
          break
        }
        if found == 0 { break }
        slot = (slot &+ 1) & mask
      }
    }
  }
}

/// A set of table slots (non-negative integers) that is emptied for every document: open
/// addressing over slot + 1 (0 = empty), with the members also kept in insertion order, so
/// that emptying it touches only what was inserted.
final class SlotSet {
  private var cells: UnsafeMutablePointer<Int>
  private var mask: Int
  private(set) var members: UnsafeMutablePointer<Int>
  private(set) var count = 0

  init(capacity: Int = 64) {
    cells = .allocate(capacity: capacity)
    cells.initialize(repeating: 0, count: capacity)
    members = .allocate(capacity: capacity / 2)
    mask = capacity - 1
  }

  deinit {
    cells.deallocate()
    members.deallocate()
  }

  @inline(__always) private func home(_ v: Int) -> Int {
    Int(truncatingIfNeeded: (UInt64(truncatingIfNeeded: v) &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
  }

  func insert(_ slot: Int) {
    let v = slot &+ 1
    var i = home(v)
    while true {
      let c = cells[i]
      if c == v { return }
      if c == 0 { break }
      i = (i &+ 1) & mask
    }
    cells[i] = v
    members[count] = slot
    count &+= 1
    if count * 2 > mask { grow() }
  }

  func removeAll() {
    guard count > 0 else { return }
    if count * 8 < mask {
      for k in 0..<count {
        var i = home(members[k] &+ 1)
        while cells[i] != members[k] &+ 1 { i = (i &+ 1) & mask }
        cells[i] = 0
      }
    } else {
      cells.update(repeating: 0, count: mask + 1)
    }
    count = 0
  }

  private func grow() {
    let capacity = (mask + 1) * 2
    cells.deallocate()
    cells = .allocate(capacity: capacity)
    cells.initialize(repeating: 0, count: capacity)
    mask = capacity - 1
    let bigger = UnsafeMutablePointer<Int>.allocate(capacity: capacity / 2)
    bigger.update(from: members, count: count)
    members.deallocate()
    members = bigger
    for k in 0..<count {
      let v = members[k] &+ 1
      var i = home(v)
      while cells[i] != 0 { i = (i &+ 1) & mask }
      cells[i] = v
    }
  }
}

/// The eval sets' n-gram keys: open addressing with linear probing, a 64-bit key (0 = empty)
/// and a 32-bit set-group id per slot, grown to keep at most three quarters of the slots used.
/// A group is a set of eval sets: group `s` < setCount is set `s` alone; groups for keys found
/// in several sets are made as needed.
///
/// In front of it, a blocked Bloom filter — a byte per slot (10.7 to 21 bits per key), two bits
/// per key in one 64-bit word, 1 to 4 % false positives — answers most lookups of absent keys
/// from a twelfth of the table's memory, so that the table is probed, and the probe sequences
/// of a well-filled table are walked, almost only for keys it holds.
final class NGramTable {
  private(set) var keys: UnsafeMutablePointer<UInt64>
  private(set) var groups: UnsafeMutablePointer<UInt32>
  private(set) var mask: Int
  private(set) var count = 0
  private(set) var prefilter: UnsafeMutablePointer<UInt64>
  /// Word index mask of the prefilter (its size in words minus one).
  private(set) var prefilterWordMask: Int
  private var groupSets: [[UInt32]]
  private var groupIDs: [[UInt32]: UInt32] = [:]

  init(setCount: Int, capacity: Int = 1 << 10) {
    mask = capacity - 1
    keys = .allocate(capacity: capacity)
    keys.initialize(repeating: 0, count: capacity)
    groups = .allocate(capacity: capacity)
    groups.initialize(repeating: 0, count: capacity)
    groupSets = (0..<setCount).map { [UInt32($0)] }
    (prefilter, prefilterWordMask) = Self.makePrefilter(slots: capacity)
  }

  deinit {
    keys.deallocate()
    groups.deallocate()
    prefilter.deallocate()
  }

  private static func makePrefilter(slots: Int) -> (UnsafeMutablePointer<UInt64>, Int) {
    let words = max(slots / 8, 1)
    let p = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
    p.initialize(repeating: 0, count: words)
    return (p, words - 1)
  }

  /// The prefilter word of a key (before masking): bits the table's slot index does not use
  /// for tables under 2⁴⁰ slots.
  @inline(__always) static func prefilterWord(_ key: UInt64) -> Int { Int(truncatingIfNeeded: key >> 24) }

  /// The two bits a key sets in its prefilter word.
  @inline(__always) static func prefilterBits(_ key: UInt64) -> UInt64 {
    (1 &<< (key & 63)) | (1 &<< ((key >> 6) & 63))
  }

  /// Bytes held by the table and its prefilter.
  var memoryBytes: Int { (mask + 1) * 12 + (prefilterWordMask + 1) * 8 }

  /// The eval sets of a group, ascending.
  func sets(ofGroup g: UInt32) -> [UInt32] { groupSets[Int(g)] }

  /// The slot holding `key`, or -1.
  func find(_ key: UInt64) -> Int {
    var slot = Int(truncatingIfNeeded: key) & mask
    while true {
      let k = keys[slot]
      if k == key { return slot }
      if k == 0 { return -1 }
      slot = (slot &+ 1) & mask
    }
  }

  /// Adds `key` as found in eval set `set`. Sets must be added in ascending order.
  func insert(_ key: UInt64, set: Int) {
    if (count + 1) * 4 > (mask + 1) * 3 { grow() }
    var slot = Int(truncatingIfNeeded: key) & mask
    while true {
      let k = keys[slot]
      if k == 0 {
        keys[slot] = key
        groups[slot] = UInt32(set)
        count += 1
        prefilter[Self.prefilterWord(key) & prefilterWordMask] |= Self.prefilterBits(key)
        return
      }
      if k == key {
        let g = groups[slot]
        let members = groupSets[Int(g)]
        if members.last! == UInt32(set) { return }
        let joined = members + [UInt32(set)]
        if let id = groupIDs[joined] {
          groups[slot] = id
        } else {
          let id = UInt32(groupSets.count)
          groupSets.append(joined)
          groupIDs[joined] = id
          groups[slot] = id
        }
        return
      }
      slot = (slot &+ 1) & mask
    }
  }

  private func grow() {
    let oldKeys = keys
    let oldGroups = groups
    let oldCapacity = mask + 1
    let capacity = oldCapacity * 2
    keys = .allocate(capacity: capacity)
    keys.initialize(repeating: 0, count: capacity)
    groups = .allocate(capacity: capacity)
    groups.initialize(repeating: 0, count: capacity)
    mask = capacity - 1
    prefilter.deallocate()
    (prefilter, prefilterWordMask) = Self.makePrefilter(slots: capacity)
    for j in 0..<oldCapacity where oldKeys[j] != 0 {
      let key = oldKeys[j]
      var slot = Int(truncatingIfNeeded: key) & mask
      while keys[slot] != 0 { slot = (slot &+ 1) & mask }
      keys[slot] = key
      groups[slot] = oldGroups[j]
      prefilter[Self.prefilterWord(key) & prefilterWordMask] |= Self.prefilterBits(key)
    }
    oldKeys.deallocate()
    oldGroups.deallocate()
  }
}
