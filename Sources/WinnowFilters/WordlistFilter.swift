import Glibc
import WinnowCore
import WinnowText

/// `wordlist`: drops (or annotates) documents by how much of a word list they contain — bad
/// words, toxicity terms, anything given as a list of words and phrases.
///
/// Text and list entries are both case-folded with NFKC_Casefold (so `FUCK`, `Ｆｕｃｋ` and
/// `f\u{AD}uck` all fold to `fuck`) and their whitespace runs collapsed to one space, so a
/// phrase matches across line breaks and repeated spaces. All entries are found in one pass
/// with an Aho–Corasick automaton over the UTF-8 bytes. In `word` mode a match counts only
/// at word boundaries (letters, marks, numbers and `_` make words); in `substring` mode, the
/// default for languages written without spaces, anywhere. Overlapping matches are resolved
/// leftmost-longest, so "son of a bitch" counts once, not also as "bitch".
public final class WordlistFilter: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "wordlist",
    summary: "Drop or annotate documents by how many listed words or phrases (bad words, toxicity terms) they contain",
    parameters: [
      ParameterSpec(
        "language", .string, default: .string("en"),
        help:
          "language of the documents and of words_file; chooses the default match mode and, for en, the built-in list"),
      ParameterSpec(
        "words_file", .scalarList, file: .reads,
        help: "list files for language: one word or phrase per line, # starts a comment line; gzip/zstd read through"),
      ParameterSpec("words", .scalarList, help: "words or phrases given inline, added to words_file's"),
      ParameterSpec(
        "words_dir", .string, file: .readsDirectory,
        help:
          "a directory of lists named by language code (en, de.txt, zh, …): language's list, or every list with language_field"
      ),
      ParameterSpec(
        "language_field", .string,
        help:
          "field with each document's language code (e.g. from a language-id stage): each document is checked with its language's list; documents without the field or in a language without a list are kept unchecked"
      ),
      ParameterSpec(
        "default_list", .bool,
        help:
          "use the built-in English list (a small project-written list, not a curated one) for en; default: true when no English list is given"
      ),
      ParameterSpec(
        "match", .choice(["word", "substring"]),
        help:
          "word: whole words and phrases at word boundaries; substring: anywhere (default: substring for zh, ja, th, lo, km, my, word otherwise)"
      ),
      ParameterSpec(
        "max_count", .int(min: 0, max: nil),
        help:
          "drop when there are more matches than this; default 0 (any match drops, C4's rule) unless max_ratio is given"
      ),
      ParameterSpec(
        "max_ratio", .double(min: 0, max: 1),
        help:
          "drop when listed words are more than this fraction of all words (substring mode: matched characters of all non-space characters)"
      ),
      ParameterSpec(
        "mode", .choice(["drop", "annotate"]), default: .string("drop"),
        help: "drop: drop by max_count / max_ratio; annotate: keep every document and add the count and ratio"),
      ParameterSpec(
        "count_field", .string, help: "annotate mode: field for the number of matches (default wordlist_count)"),
      ParameterSpec("ratio_field", .string, help: "annotate mode: field for the ratio (default wordlist_ratio)"),
    ],
    make: { (p, _) throws(WinnowError) in try WordlistFilter(p) })

  /// Languages written without spaces between words: substring matching by default.
  static let spacelessLanguages: Set<String> = ["zh", "ja", "th", "lo", "km", "my"]

  let maxCount: Int?
  let maxRatio: Double?
  let annotate: Bool
  let countField: String
  let ratioField: String
  /// With `language_field`: every language with a list; otherwise only `language`.
  let matchers: [(code: [UInt8], matcher: WordlistMatcher)]
  let languageField: String?
  private let languageBytes = ByteBuffer(capacity: 32)
  var scratch = WordlistScratch()

  init(_ p: StageParameters) throws(WinnowError) {
    let stage = "wordlist"
    let language = p.string("language")!.lowercased()
    guard Self.isLanguageCode(language) else {
      throw .usage("stage '\(stage)': language '\(language)' is not a language code (like en, de, zh, pt-br)")
    }
    annotate = p.string("mode") == "annotate"
    maxCount = p.int("max_count")
    maxRatio = p.double("max_ratio")
    if annotate {
      if maxCount != nil || maxRatio != nil {
        throw .usage(
          "stage '\(stage)': mode annotate never drops; leave out max_count and max_ratio (or use mode drop)")
      }
    } else if p.has("count_field") || p.has("ratio_field") {
      throw .usage("stage '\(stage)': count_field and ratio_field are for mode annotate")
    }
    countField = p.string("count_field") ?? "wordlist_count"
    ratioField = p.string("ratio_field") ?? "wordlist_ratio"
    if countField.isEmpty || ratioField.isEmpty || countField == ratioField {
      throw .usage("stage '\(stage)': count_field and ratio_field must be two different, non-empty names")
    }
    languageField = p.string("language_field")
    if let f = languageField, f.isEmpty { throw .usage("stage '\(stage)': language_field must not be empty") }

    // Entries per language code.
    var lists: [String: [[UInt8]]] = [:]
    var order: [String] = []
    func add(_ code: String, _ entries: [[UInt8]]) {
      if lists[code] == nil { order.append(code) }
      lists[code, default: []] += entries
    }
    if let dir = p.string("words_dir") {
      let files = try Self.listDirectory(dir, stage: stage)
      for (code, path) in files where languageField != nil || code == language {
        add(code, try ListFile.read(path, stage: stage, parameter: "words_dir"))
      }
    }
    for path in p.list("words_file") ?? [] {
      guard !path.isEmpty else { throw .usage("stage '\(stage)': words_file has an empty path") }
      add(language, try ListFile.read(path, stage: stage, parameter: "words_file"))
    }
    if let inline = p.list("words") {
      let entries = inline.map { Array($0.utf8) }.filter { e in e.contains { !ListFile.isBlank($0) } }
      if entries.isEmpty { throw .usage("stage '\(stage)': words is empty") }
      add(language, entries)
    }
    let userGaveEnglish = lists["en"] != nil
    let useDefault = p.bool("default_list") ?? !userGaveEnglish
    if useDefault && (language == "en" || languageField != nil) {
      add("en", DefaultWordlist.english)
    }
    if lists[language] == nil && languageField == nil {
      throw .usage(
        "stage '\(stage)': no word list for language '\(language)': give words_file, words or words_dir (the built-in list is English only)"
      )
    }
    if lists.isEmpty {
      throw .usage("stage '\(stage)': no word list: give words_file, words or words_dir")
    }
    let explicitMatch = p.string("match")
    var built: [(code: [UInt8], matcher: WordlistMatcher)] = []
    for code in order {
      let primary = String(code.prefix { $0 != "-" && $0 != "_" })
      let whole = explicitMatch.map { $0 == "word" } ?? !Self.spacelessLanguages.contains(primary)
      let m = WordlistMatcher(entries: lists[code]!, wholeWords: whole)
      if m.automaton.patterns.isEmpty {
        throw .usage("stage '\(stage)': the word list for '\(code)' has no entries (only blank or comment lines)")
      }
      built.append((Array(code.utf8), m))
    }
    if languageField == nil { built = built.filter { $0.code.elementsEqual(language.utf8) } }
    matchers = built
  }

  static func isLanguageCode(_ s: String) -> Bool {
    let parts = s.split(separator: "-", omittingEmptySubsequences: false).flatMap {
      $0.split(separator: "_", omittingEmptySubsequences: false)
    }
    guard let first = parts.first, (2...3).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter })
    else { return false }
    return parts.dropFirst().allSatisfy {
      !$0.isEmpty && $0.count <= 8 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }
  }

  /// `(code, path)` for each list in `dir`: files named `<code>` or `<code>.txt` (any
  /// compression), sorted by code.
  static func listDirectory(_ dir: String, stage: String) throws(WinnowError) -> [(String, String)] {
    guard let d = opendir(dir) else {
      throw .usage("stage '\(stage)': words_dir: cannot read directory \(dir): \(String(cString: strerror(errno)))")
    }
    defer { closedir(d) }
    var found: [(String, String)] = []
    while let e = readdir(d) {
      let name = withUnsafePointer(to: e.pointee.d_name) {
        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if name.hasPrefix(".") { continue }
      let code = (name.hasSuffix(".txt") ? String(name.dropLast(4)) : name).lowercased()
      guard isLanguageCode(code) else { continue }
      let path = dir.hasSuffix("/") ? dir + name : dir + "/" + name
      var st = stat()
      guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
      found.append((code, path))
    }
    found.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
    if found.isEmpty {
      throw .usage("stage '\(stage)': words_dir: \(dir) holds no list files named by language code (en, de.txt, …)")
    }
    return found
  }

  /// The matcher for the document's language, or nil when it has none.
  private func matcher(for doc: Document) -> WordlistMatcher? {
    guard let field = languageField else { return matchers.first?.matcher }
    guard doc.fieldBytes(field, into: languageBytes) else { return nil }
    let code = languageBytes.bytes
    // Exact code first (case-insensitive), then its primary subtag (`pt-BR` → `pt`).
    if let m = find(code) { return m }
    if let cut = code.firstIndex(where: { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) {
      return find(UnsafeBufferPointer(rebasing: code[..<cut]))
    }
    return nil
  }

  private func find(_ code: UnsafeBufferPointer<UInt8>) -> WordlistMatcher? {
    for (c, m) in matchers where c.count == code.count {
      var same = true
      for k in 0..<c.count where c[k] != (code[k] &- 0x41 < 26 ? code[k] | 0x20 : code[k]) {
        same = false
        break
      }
      if same { return m }
    }
    return nil
  }

  public func process(_ doc: Document) -> Verdict {
    guard let m = matcher(for: doc) else { return .keep }
    // Without a ratio to compute, C4's rule (any match drops) can stop at the first match.
    let firstOnly = !annotate && maxRatio == nil && (maxCount ?? 0) == 0
    let r = m.measure(doc.text, scratch: &scratch, stopAtFirst: firstOnly)
    if annotate {
      doc.annotate(countField, .int(r.count))
      doc.annotate(ratioField, .double(r.ratio))
      return .keep
    }
    if r.count > (maxCount ?? (maxRatio == nil ? 0 : Int.max)) { return .drop("wordlist_count") }
    if let maxRatio, r.ratio > maxRatio { return .drop("wordlist_ratio") }
    return .keep
  }
}

/// Buffers a word list stage reuses from document to document.
struct WordlistScratch {
  var normalizer = TextNormalizer()
  var folded: [UInt8] = []
  var collapsed = ByteBuffer(capacity: 1 << 16)
  var matches: [WordlistMatcher.Match] = []
  /// Bytes per piece folded at a time (`TextPieces`); tests make it small or whole.
  var pieceSize = 1 << 16
}

/// One language's list, compiled: an automaton over the folded entries, and per entry its
/// length, its weight (words, or characters in substring mode) and whether its first and last
/// characters are word characters (then the match must not continue a word on that side).
final class WordlistMatcher {
  struct Match {
    var start: Int
    var end: Int
    var pattern: Int
  }

  let automaton: ByteAutomaton
  let wholeWords: Bool
  private let lengths: [Int]
  private let weights: [Int]
  private let checkStart: [Bool]
  private let checkEnd: [Bool]
  private let words = WordCharTable()

  init(entries: [[UInt8]], wholeWords: Bool) {
    self.wholeWords = wholeWords
    var normalizer = TextNormalizer()
    var folded: [UInt8] = []
    let out = ByteBuffer(capacity: 256)
    var patterns: [[UInt8]] = []
    for e in entries {
      e.withUnsafeBufferPointer { normalizer.normalize($0, form: .nfkcCasefold, into: &folded) }
      let n = folded.withUnsafeBufferPointer {
        Self.collapse($0, into: out, countWords: false, table: WordCharTable()).length
      }
      if n > 0 { patterns.append(Array(UnsafeBufferPointer(start: out.base, count: n))) }
    }
    automaton = ByteAutomaton(patterns: patterns)
    let table = WordCharTable()
    var lengths: [Int] = []
    var weights: [Int] = []
    var checkStart: [Bool] = []
    var checkEnd: [Bool] = []
    for p in automaton.patterns {
      p.withUnsafeBufferPointer { b in
        let n = b.count
        let base = b.baseAddress!
        lengths.append(n)
        checkStart.append(Self.joinsWords(UTF8Scan.scalar(at: 0, in: base, count: n), table))
        checkEnd.append(Self.joinsWords(UTF8Scan.scalar(before: n, in: base), table))
        let c = Self.collapse(b, into: out, countWords: wholeWords, table: table)
        weights.append(max(1, wholeWords ? c.words : c.chars))
      }
    }
    self.lengths = lengths
    self.weights = weights
    self.checkStart = checkStart
    self.checkEnd = checkEnd
  }

  /// Whether a match that ends (or starts) with this character and touches another such
  /// character would be part of a longer word: both must be word characters of a script
  /// written with spaces.
  @inline(__always) static func joinsWords(_ v: UInt32, _ table: WordCharTable) -> Bool {
    table.contains(v) && !SpacelessScripts.contains(v)
  }

  /// Copies `text` into `out` with leading and trailing whitespace removed and every other
  /// whitespace run made one space; counts the words (runs of word characters; with
  /// `countWords`) and the non-space characters on the way. With `lowercaseASCII` (for ASCII
  /// text, whose NFKC_Casefold is its lower case) A-Z are lower-cased as they are copied.
  @inline(__always)
  static func collapse(
    _ text: UnsafeBufferPointer<UInt8>, into out: ByteBuffer, countWords: Bool, table: WordCharTable,
    lowercaseASCII: Bool = false
  ) -> (length: Int, words: Int, chars: Int) {
    var state = CollapseState()
    collapse(text, into: out, &state, countWords: countWords, table: table, lowercaseASCII: lowercaseASCII)
    return (state.length, state.words, state.chars)
  }

  /// Where `collapse` stands after a piece of a text: the output so far, a pending space,
  /// and the counts.
  struct CollapseState {
    var length = 0
    var space = false
    var inWord = false
    var words = 0
    var chars = 0
  }

  /// `collapse` for one piece of a text, appended after what `state` says is written.
  @inline(__always)
  static func collapse(
    _ text: UnsafeBufferPointer<UInt8>, into out: ByteBuffer, _ state: inout CollapseState, countWords: Bool,
    table: WordCharTable, lowercaseASCII: Bool = false
  ) {
    let n = text.count
    out.reserve(state.length + n + 1, keeping: state.length)
    guard let p = text.baseAddress, n > 0 else { return }
    let o = out.base
    var k = state.length
    var space = state.space
    var inWord = state.inWord
    var words = state.words
    var chars = state.chars
    defer { state = CollapseState(length: k, space: space, inWord: inWord, words: words, chars: chars) }
    var i = 0
    while i < n {
      let b = p[i]
      let wl = UnicodeWhitespace.length(p, i, n)
      if wl > 0 {
        space = true
        inWord = false
        i += wl
        continue
      }
      if space {
        if k > 0 {
          o[k] = 0x20
          k += 1
        }
        space = false
      }
      if !countWords {
        // Copied in one go: eight bytes at a time while they are printable ASCII with single
        // spaces between words (a block neither starts nor ends with a space, so no run of
        // two is split between blocks), then byte by byte up to the next whitespace.
        var j = i
        let high: UInt64 = 0x8080_8080_8080_8080
        while j &+ 8 <= n {
          let w = UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self)
          if w & high != 0 { break }
          let atMost20 = (0xA0A0_A0A0_A0A0_A0A0 &- w) & high
          let y = w ^ 0x2020_2020_2020_2020
          let spaces = ~(((y & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | y) & high
          if atMost20 != spaces || spaces & 0x8000_0000_0000_0080 != 0 || spaces & (spaces >> 8) != 0 { break }
          var x = w
          if lowercaseASCII {
            let upper = (w &+ 0x3F3F_3F3F_3F3F_3F3F) & ~(w &+ 0x2525_2525_2525_2525) & high
            x = w | (upper >> 2)
          }
          UnsafeMutableRawPointer(o + k).storeBytes(of: x, as: UInt64.self)
          k &+= 8
          j &+= 8
          chars &+= 8 &- spaces.nonzeroBitCount
        }
        while j < n {
          let c = p[j]
          if c < 0x80 {
            if UnicodeWhitespace.isASCIIWhitespace(c) { break }
            o[k] = lowercaseASCII && c &- 0x41 < 26 ? c | 0x20 : c
            chars &+= 1
          } else {
            if (c == 0xC2 || c == 0xE1 || c == 0xE2 || c == 0xE3) && UnicodeWhitespace.length(p, j, n) > 0 { break }
            o[k] = c
            if c & 0xC0 != 0x80 { chars &+= 1 }
          }
          k &+= 1
          j &+= 1
        }
        i = j
        continue
      }
      let len = min(UTF8Scan.length(lead: b), n - i)
      if b < 0x80 {
        let w = WordChars.isASCIIWord(b)
        if w && !inWord { words += 1 }
        inWord = w
        o[k] = lowercaseASCII && b &- 0x41 < 26 ? b | 0x20 : b
      } else {
        let v = UTF8Scan.scalar(at: i, in: p, count: n)
        if SpacelessScripts.contains(v) {
          // Scripts without spaces: every character is a word of its own.
          words += 1
          inWord = false
        } else {
          let w = table.contains(v)
          if w && !inWord { words += 1 }
          inWord = w
        }
        for j in 0..<len { o[k + j] = p[i + j] }
      }
      chars += 1
      k += len
      i += len
    }
  }

  /// Matches in `text` (leftmost-longest, not overlapping) and the ratio: matched words over
  /// all words (word mode) or matched characters over all non-space characters (substring
  /// mode). With `stopAtFirst`, stops at the first match (count 1, ratio not computed).
  func measure(_ text: UnsafeBufferPointer<UInt8>, scratch s: inout WordlistScratch, stopAtFirst: Bool)
    -> (count: Int, ratio: Double)
  {
    if text.isEmpty { return (0, 0) }
    let countWords = wholeWords && !stopAtFirst
    // Folded and collapsed a piece at a time (`TextPieces`: pieces that fold as the whole text
    // does and that no word spans), so that only the collapsed text is held whole.
    var state = CollapseState()
    let table = words
    if s.collapsed.capacity > max(1 << 24, 4 * text.count) { s.collapsed = ByteBuffer(capacity: 1 << 16) }
    s.collapsed.reserve(text.count + text.count / 8 + 64, keeping: 0)
    TextPieces.forEach(text, size: s.pieceSize) { piece, _ in
      if UTF8Bytes.isASCII(piece) {
        // ASCII: NFKC_Casefold is lower-casing, done while collapsing.
        Self.collapse(piece, into: s.collapsed, &state, countWords: countWords, table: table, lowercaseASCII: true)
      } else {
        s.normalizer.normalize(piece, form: .nfkcCasefold, into: &s.folded)
        s.folded.withUnsafeBufferPointer {
          Self.collapse($0, into: s.collapsed, &state, countWords: countWords, table: table)
        }
      }
    }
    if s.folded.capacity > 1 << 20 { s.folded = [] }
    let (n, totalWords, totalChars) = (state.length, state.words, state.chars)
    let p = UnsafePointer(s.collapsed.base)
    s.matches.removeAll(keepingCapacity: true)
    let whole = wholeWords
    automaton.scan(UnsafeBufferPointer(start: p, count: n)) { end, node in
      automaton.forEachPattern(endingAt: node) { pid in
        let start = end - lengths[pid]
        if whole {
          if checkStart[pid], start > 0, Self.joinsWords(UTF8Scan.scalar(before: start, in: p), words) { return }
          if checkEnd[pid], end < n, Self.joinsWords(UTF8Scan.scalar(at: end, in: p, count: n), words) { return }
        }
        s.matches.append(Match(start: start, end: end, pattern: pid))
      }
      return !(stopAtFirst && !s.matches.isEmpty)
    }
    if s.matches.isEmpty { return (0, 0) }
    if stopAtFirst { return (1, 0) }
    if s.matches.count > 1 {
      s.matches.sort { $0.start < $1.start || ($0.start == $1.start && $0.end > $1.end) }
    }
    var count = 0
    var weight = 0
    var lastEnd = 0
    for m in s.matches where m.start >= lastEnd {
      count += 1
      weight += weights[m.pattern]
      lastEnd = m.end
    }
    let total = whole ? totalWords : totalChars
    return (count, total > 0 ? min(1, Double(weight) / Double(total)) : 0)
  }
}

/// Winnow's built-in English list: a short list of common profanity and generic obscenity,
/// written for this project (no slurs). It is a small default, not a curated or complete list;
/// give `words_file` for real work.
enum DefaultWordlist {
  static let text = """
    anal sex
    arse
    arsehole
    arseholes
    asshole
    assholes
    bastard
    bastards
    bitch
    bitches
    bitching
    blow job
    blowjob
    blowjobs
    bollocks
    bukkake
    bullshit
    buttfuck
    butthole
    clusterfuck
    cocksucker
    cocksuckers
    crap
    crappy
    cumshot
    cumshots
    cunt
    cunts
    damn
    dammit
    dickhead
    dickheads
    dildo
    dildos
    dumbass
    fuck
    fucked
    fucker
    fuckers
    fuckface
    fuckhead
    fuckin
    fucking
    fucks
    fuckwit
    gang bang
    gangbang
    goddamn
    goddammit
    hand job
    handjob
    horseshit
    jackass
    jerk off
    jizz
    milf
    motherfucker
    motherfuckers
    motherfucking
    piss
    pissed
    pissing
    porn
    porno
    rimjob
    shit
    shite
    shithead
    shits
    shitting
    shitty
    son of a bitch
    tits
    titties
    twat
    twats
    wank
    wanker
    wankers
    wanking
    """

  static let english: [[UInt8]] = text.split(separator: "\n").map { Array($0.utf8) }
}
