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
      try Self.forEachItem(path, field: field) { item in
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

  /// Whether `path` names a JSON Lines file (by its extension, compression extensions aside).
  static func isJSONLines(_ path: String) -> Bool {
    var name = path.lowercased()
    for ext in [".zst", ".zstd", ".gz"] where name.hasSuffix(ext) {
      name.removeLast(ext.count)
      break
    }
    return name.hasSuffix(".jsonl") || name.hasSuffix(".json") || name.hasSuffix(".ndjson")
  }

  /// Calls `body` with the text of every item of the eval set at `path`.
  static func forEachItem(
    _ path: String, field: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void
  ) throws(WinnowError) {
    let prefix = "stage '\(stageName)': eval_sets: "
    if isJSONLines(path) {
      // A file that cannot be opened is a wrong parameter (exit 2); one that opens but cannot
      // be read to its end (truncated compressed data) is an I/O failure (exit 1).
      do { try openByteSource(InputFile(path: path)).close() } catch {
        throw .usage(prefix + "cannot read eval set: \(error.message)")
      }
      let reader = DocumentReader(inputs: [InputFile(path: path)], fields: DocumentFields(text: field))
      defer { reader.close() }
      while true {
        let item: DocumentReader.Item?
        do {
          item = try reader.next()
        } catch {
          // Truncated or corrupt compressed data is an I/O failure (exit 1), as for documents.
          throw .io(prefix + "cannot read eval set: \(error.message)")
        }
        switch item {
        case nil:
          return
        case .document(let doc)?:
          body(doc.text)
        case .tooLarge(let line)?:
          throw .usage(prefix + line.message)
        case .bad(let bad)?:
          let what: String
          switch bad.reason {
          case .missingTextField: what = "no field '\(field)' (eval_field names the field that holds the item)"
          case .textNotAString: what = "field '\(field)' is not a string"
          case .invalidUTF8: what = "not valid UTF-8 (at byte \(bad.offset))"
          default:
            what =
              "malformed JSON (\(bad.reason.rawValue) at byte \(bad.offset); eval sets named .jsonl/.json/.ndjson are JSON Lines, one object per line)"
          }
          throw .usage(prefix + "\(path):\(bad.line): \(what)")
        }
      }
    }
    try forEachLine(ofFile: path, cannotRead: prefix + "cannot read eval set: ") { (line, number) throws(WinnowError) in
      var lo = 0
      var hi = line.count
      while lo < hi, line[lo] == 0x20 || line[lo] == 0x09 || line[lo] == 0x0D { lo += 1 }
      while hi > lo, line[hi - 1] == 0x20 || line[hi - 1] == 0x09 || line[hi - 1] == 0x0D { hi -= 1 }
      if lo == hi { return }
      let item = UnsafeBufferPointer(rebasing: line[lo..<hi])
      guard String(validating: item, as: UTF8.self) != nil else {
        throw .usage(prefix + "\(path):\(number): not valid UTF-8")
      }
      body(item)
    }
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

/// What the n-grams are made of.
enum NGramUnit {
  /// Words: runs of letters, marks and digits; each character of a space-less script alone.
  case word
  /// Letters, marks and digits one by one; everything else left out.
  case char
}

/// Turns text into the hashes of its units, after NFKC_Casefold (ASCII text is only
/// lower-cased: that is its NFKC_Casefold). Buffers are reused from text to text.
final class NGramSplitter {
  let unit: NGramUnit
  private var normalizer = TextNormalizer()
  private var folded: [UInt8] = []
  /// The current word, folded, apostrophes left out.
  private let word = ByteBuffer(capacity: 1 << 12)
  private var ids: UnsafeMutablePointer<UInt64>
  private var capacity: Int
  /// Per ASCII byte: 0 separates words, 1 is an apostrophe (left out), else the byte lower-cased.
  private let ascii: UnsafeMutablePointer<UInt8>
  /// One bit per BMP code point: letter, mark or number (Unicode L*, M*, N*); of a script
  /// written without spaces; left alone by NFKC_Casefold (`isStableSlow`).
  private let letters: UnsafeMutablePointer<UInt64>
  private let spaceless: UnsafeMutablePointer<UInt64>
  private let stable: UnsafeMutablePointer<UInt64>
  /// Recent words of up to 8 bytes (zero-padded into a word: no word holds a zero byte) and
  /// their XXH3 hashes, direct-mapped: common words are hashed once, not at every occurrence.
  private let cachedWords: UnsafeMutablePointer<UInt64>
  private let cachedIDs: UnsafeMutablePointer<UInt64>
  private static let cacheBits = 12

  /// Sends all non-ASCII text through ICU (for tests of the shortcut).
  let alwaysFold: Bool
  /// Bytes per piece of a document (`forEachUnitBatch`); tests make it small or whole.
  var pieceSize = 1 << 16

  init(_ unit: NGramUnit, alwaysFold: Bool = false) {
    self.unit = unit
    self.alwaysFold = alwaysFold
    capacity = 1 << 12
    ids = .allocate(capacity: capacity)
    ascii = .allocate(capacity: 128)
    for b in 0..<128 {
      let c = UInt8(b)
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"): ascii[b] = c
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): ascii[b] = c | 0x20
      case UInt8(ascii: "'"): ascii[b] = 1
      default: ascii[b] = 0
      }
    }
    func copy(_ bits: [UInt64]) -> UnsafeMutablePointer<UInt64> {
      let p = UnsafeMutablePointer<UInt64>.allocate(capacity: 1024)
      bits.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: 1024) }
      return p
    }
    letters = copy(Self.bmpLetters)
    spaceless = copy(Self.bmpSpaceless)
    stable = copy(Self.bmpStable)
    cachedWords = .allocate(capacity: 1 << Self.cacheBits)
    cachedWords.initialize(repeating: 0, count: 1 << Self.cacheBits)
    cachedIDs = .allocate(capacity: 1 << Self.cacheBits)
    cachedIDs.initialize(repeating: 0, count: 1 << Self.cacheBits)
  }

  deinit {
    ids.deallocate()
    ascii.deallocate()
    letters.deallocate()
    spaceless.deallocate()
    stable.deallocate()
    cachedWords.deallocate()
    cachedIDs.deallocate()
  }

  /// XXH3-64 of the `n` bytes at `w` (which has at least 8 readable bytes).
  @inline(__always) private func wordID(_ w: UnsafeMutablePointer<UInt8>, _ n: Int) -> UInt64 {
    guard n <= 8 else { return XXH3.hash64(UnsafeBufferPointer(start: w, count: n)) }
    let packed = UInt64(littleEndian: UnsafeRawPointer(w).loadUnaligned(as: UInt64.self)) & (~0 &>> UInt64(64 - 8 * n))
    let slot = Int(truncatingIfNeeded: (packed &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - Self.cacheBits))
    if cachedWords[slot] == packed { return cachedIDs[slot] }
    let id = XXH3.hash64(UnsafeBufferPointer(start: w, count: n))
    cachedWords[slot] = packed
    cachedIDs[slot] = id
    return id
  }

  static let bmpLetters = bmpBits(isLetterSlow)
  static let bmpSpaceless = bmpBits(SpacelessScripts.contains)
  static let bmpStable = bmpBits(isStableSlow)

  /// One bit per non-ASCII BMP code point.
  static func bmpBits(_ test: (UInt32) -> Bool) -> [UInt64] {
    var bits = [UInt64](repeating: 0, count: 1024)
    for v in 0x80..<0x10000 where test(UInt32(v)) { bits[v >> 6] |= 1 << UInt64(v & 63) }
    return bits
  }

  /// Whether NFKC_Casefold leaves the character alone wherever it stands: it does not change
  /// when NFKC_Casefolded, and nothing before it can combine with it (it is not a combining
  /// mark, nor a Hangul vowel or final consonant jamo — the characters NFC's quick check
  /// answers "maybe" for). Text made of ASCII and such characters folds to its ASCII lower
  /// case, so it needs no trip through ICU.
  static func isStableSlow(_ v: UInt32) -> Bool {
    guard let s = Unicode.Scalar(v), v != 0xFFFD else { return false }
    let p = s.properties
    switch p.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .unassigned, .surrogate, .privateUse: return false
    default: break
    }
    if (0x1100...0x11FF).contains(v) || (0xA960...0xA97F).contains(v) || (0xD7B0...0xD7FF).contains(v) { return false }
    return !p.changesWhenNFKCCaseFolded && p.canonicalCombiningClass == .notReordered
  }

  static func isLetterSlow(_ v: UInt32) -> Bool {
    guard let s = Unicode.Scalar(v) else { return false }
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
      .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber:
      return true
    default:
      return false
    }
  }

  @inline(__always) func isLetter(_ v: UInt32) -> Bool {
    if v < 0x10000 { return (letters[Int(v >> 6)] >> UInt64(v & 63)) & 1 != 0 }
    return Self.isLetterSlow(v)
  }

  @inline(__always) func isSpaceless(_ v: UInt32) -> Bool {
    if v < 0x10000 { return (spaceless[Int(v >> 6)] >> UInt64(v & 63)) & 1 != 0 }
    return SpacelessScripts.contains(v)
  }

  /// A character unit's hash: its code point, mixed.
  @inline(__always) static func charID(_ v: UInt32) -> UInt64 {
    NGramKeys.mix(UInt64(v) &* 0x9E37_79B9_7F4A_7C15 &+ 0x2545_F491_4F6C_DD1D)
  }

  /// Calls `body` with the unit hashes of `text` in order, a piece of the text at a time
  /// (`TextPieces`: pieces that fold as the whole text does and that no word spans), so that a
  /// long text is never folded or split whole. A batch is valid only during the call.
  func forEachUnitBatch(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt64>) -> Void) {
    TextPieces.forEach(text, size: pieceSize) { piece, _ in
      let units = split(piece)
      if !units.isEmpty { body(units) }
    }
    if folded.capacity > 1 << 20 { folded = [] }
    if capacity > 1 << 20 {
      ids.deallocate()
      capacity = 1 << 12
      ids = .allocate(capacity: capacity)
    }
  }

  /// The unit hashes of `text`, valid until the next call.
  func split(_ text: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt64> {
    guard let base = text.baseAddress, text.count > 0 else { return UnsafeBufferPointer(start: ids, count: 0) }
    if UTF8Bytes.isASCII(text) || (!alwaysFold && isStable(text)) { return scan(base, text.count) }
    normalizer.normalize(text, form: .nfkcCasefold, into: &folded)
    return folded.withUnsafeBufferPointer { f in
      guard let p = f.baseAddress, f.count > 0 else { return UnsafeBufferPointer(start: ids, count: 0) }
      return scan(p, f.count)
    }
  }

  /// Whether every non-ASCII character of `text` is one NFKC_Casefold leaves alone.
  private func isStable(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    let p = text.baseAddress!
    let n = text.count
    var i = 0
    while i < n {
      if i &+ 8 <= n, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & ASCIILanes.high == 0 {
        i &+= 8
        continue
      }
      if p[i] < 0x80 {
        i &+= 1
        continue
      }
      let (s, len) = UTF8Bytes.decode(text, at: i)
      let v = s.value
      guard v < 0x10000, (stable[Int(v >> 6)] >> UInt64(v & 63)) & 1 != 0 else { return false }
      i &+= len
    }
    return true
  }

  private func scan(_ p: UnsafePointer<UInt8>, _ n: Int) -> UnsafeBufferPointer<UInt64> {
    // A word takes at least two bytes (itself and what ends it), or three for a character of a
    // space-less script; a character unit at least one.
    let most = unit == .word ? n / 2 + 2 : n + 1
    if most > capacity {
      ids.deallocate()
      capacity = max(most, capacity * 2)
      ids = .allocate(capacity: capacity)
    }
    let out = ids
    var count = 0
    let table = ascii
    let text = UnsafeBufferPointer(start: p, count: n)
    if unit == .char {
      var i = 0
      while i < n {
        let b = p[i]
        if b < 0x80 {
          let c = table[Int(b)]
          if c > 1 {
            out[count] = Self.charID(UInt32(c))
            count &+= 1
          }
          i &+= 1
          continue
        }
        let (s, len) = UTF8Bytes.decode(text, at: i)
        if isLetter(s.value) {
          out[count] = Self.charID(s.value)
          count &+= 1
        }
        i &+= len
      }
      return UnsafeBufferPointer(start: out, count: count)
    }
    word.reserve(n + 16)
    let w = word.base
    var wn = 0
    var i = 0
    while i < n {
      if i &+ 8 <= n {
        // Eight bytes at a time while they continue the word: lower-cased, copied, and the
        // first byte that is not an ASCII letter or digit found.
        let x = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
        let lowered = ASCIILanes.lower(x)
        let stops = (~ASCIILanes.alnum(lowered) | x) & ASCIILanes.high
        UnsafeMutableRawPointer(w + wn).storeBytes(of: lowered.littleEndian, as: UInt64.self)
        if stops == 0 {
          wn &+= 8
          i &+= 8
          continue
        }
        let f = stops.trailingZeroBitCount >> 3
        wn &+= f
        i &+= f
      }
      let b = p[i]
      if b < 0x80 {
        let c = table[Int(b)]
        if c > 1 {
          w[wn] = c
          wn &+= 1
        } else if c == 0 && wn > 0 {
          out[count] = wordID(w, wn)
          count &+= 1
          wn = 0
        }
        i &+= 1
        continue
      }
      let (s, len) = UTF8Bytes.decode(text, at: i)
      let v = s.value
      if v == 0x2019 || v == 0x02BC {
        // ’ and ʼ: apostrophes, left out like '.
      } else if isLetter(v) && !isSpaceless(v) {
        (w + wn).update(from: p + i, count: len)
        wn &+= len
      } else {
        if wn > 0 {
          out[count] = wordID(w, wn)
          count &+= 1
          wn = 0
        }
        if isLetter(v) {
          out[count] = XXH3.hash64(UnsafeBufferPointer(start: p + i, count: len))
          count &+= 1
        }
      }
      i &+= len
    }
    if wn > 0 {
      out[count] = wordID(w, wn)
      count &+= 1
    }
    return UnsafeBufferPointer(start: out, count: count)
  }
}

/// Eight bytes as lanes of a 64-bit word; exact in every lane below the first byte ≥ 0x80
/// (carries only travel towards later bytes).
enum ASCIILanes {
  static let high: UInt64 = 0x8080_8080_8080_8080
  static let ones: UInt64 = 0x0101_0101_0101_0101

  /// Bit 7 of each lane whose byte is at least `lo` (1 ≤ lo ≤ 0x80).
  @inline(__always) static func atLeast(_ x: UInt64, _ lo: UInt64) -> UInt64 { (x &+ (0x80 &- lo) &* ones) & high }

  /// A–Z lower-cased.
  @inline(__always) static func lower(_ x: UInt64) -> UInt64 {
    let upper = atLeast(x, 0x41) & ~atLeast(x, 0x5B)
    return x | (upper >> 2)
  }

  /// Bit 7 of each lane holding 0–9 or a–z.
  @inline(__always) static func alnum(_ x: UInt64) -> UInt64 {
    (atLeast(x, 0x30) & ~atLeast(x, 0x3A)) | (atLeast(x, 0x61) & ~atLeast(x, 0x7B))
  }
}

/// n-gram keys over a sequence of unit hashes.
enum NGramKeys {
  /// The polynomial's base: odd, and ≡ 3 mod 8, so that no power difference Bᵃ − Bᵇ has more
  /// than a few factors of two (which would let reordered n-grams collide more often).
  static let base: UInt64 = 0xD6E8_FEB8_6659_FD93

  /// A bijective 64-bit finaliser (MurmurHash3's fmix64).
  @inline(__always) static func mix(_ x: UInt64) -> UInt64 {
    var x = x
    x ^= x >> 33
    x &*= 0xFF51_AFD7_ED55_8CCD
    x ^= x >> 33
    x &*= 0xC4CE_B9FE_1A85_EC53
    x ^= x >> 33
    return x
  }

  /// The key of an n-gram of `length` units whose polynomial is `h`; never 0 (0 marks an
  /// empty table slot).
  @inline(__always) static func finish(_ h: UInt64, length: Int) -> UInt64 {
    let k = mix(h &+ UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15)
    return k == 0 ? 1 : k
  }

  /// Calls `body` with the key of every run of `length` consecutive units, in order.
  @inline(__always)
  static func forEach(_ units: UnsafeBufferPointer<UInt64>, length k: Int, _ body: (UInt64) -> Void) {
    let m = units.count
    guard k > 0, m >= k, let u = units.baseAddress else { return }
    var top: UInt64 = 1  // base^(k-1)
    for _ in 1..<max(k, 1) { top &*= base }
    var h: UInt64 = 0
    for i in 0..<k { h = h &* base &+ u[i] }
    body(finish(h, length: k))
    var i = k
    while i < m {
      h = (h &- u[i - k] &* top) &* base &+ u[i]
      body(finish(h, length: k))
      i += 1
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
