// A loaded tokenizer: added tokens split out, normalisation, pre-tokenization, byte-pair
// model, post-processing — the path of `tokenizer(text).input_ids` in Hugging Face
// `tokenizers`, or of `Encoding.encode_ordinary` in `tiktoken`.

import WinnowText
#if canImport(Glibc)
import Glibc
#endif

/// An exact byte-pair tokenizer loaded from a Hugging Face `tokenizer.json` or a tiktoken rank
/// file. Immutable and shareable; each thread encodes with its own `TokenizerSession`.
public final class Tokenizer: Sendable {
  /// Where the tokenizer came from, for messages.
  public let source: String
  /// One more than the largest id it can emit (model and added tokens): the vocabulary size
  /// token files are sized by.
  public let vocabularySize: Int
  /// Every added (and special) token's content and id, in id order.
  public let addedTokens: [(content: String, id: UInt32, special: Bool)]
  /// The end-of-text token the exports append (`<|endoftext|>`, `</s>`, `<|end_of_text|>` …),
  /// when the tokenizer has one of the usual names.
  public let endOfTextID: UInt32?

  let model: BytePairModel
  let pipeline: Pipeline

  /// The steps before and after the model.
  struct Pipeline: Sendable {
    var addedRaw: AddedTokenMatcher?
    var addedNormalized: AddedTokenMatcher?
    var normalizers: [NormalizerStep]
    var preSteps: [PreStep]
    /// Ids around each document's ids when special tokens are added (TemplateProcessing).
    var prefix: [UInt32]
    var suffix: [UInt32]
  }

  enum NormalizerStep: Sendable {
    case form(NormalizationForm)
    case lowercase
    case replaceLiteral([UInt8], with: [UInt8])
    case replacePattern(PretokenizerPattern, with: [UInt8])
    case prepend([UInt8])
    case strip(left: Bool, right: Bool)
  }

  enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
  }

  enum PrependScheme: String, Sendable {
    case always, first, never
  }

  enum PreStep: Sendable {
    case split(PretokenizerPattern, SplitBehavior, invert: Bool)
    /// Metaspace: spaces become `replacement`, which is prepended by the scheme; with `split`
    /// the piece is cut before each replacement (MergedWithNext).
    case metaspace(replacement: [UInt8], scheme: PrependScheme, split: Bool)
    /// ByteLevel's `add_prefix_space`: a piece that does not start with a space gets one.
    case prefixSpace
  }

  init(
    source: String, model: BytePairModel, pipeline: Pipeline, addedTokens: [(content: String, id: UInt32, special: Bool)]
  ) {
    self.source = source
    self.model = model
    self.pipeline = pipeline
    self.addedTokens = addedTokens.sorted { $0.id < $1.id }
    var bound = model.idBound
    bound = max(bound, model.tokens.maxID.map { Int($0) + 1 } ?? 0)
    for t in addedTokens { bound = max(bound, Int(t.id) + 1) }
    vocabularySize = bound
    let eosNames = ["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|eot_id|>", "[SEP]"]
    var eos: UInt32? = nil
    for name in eosNames {
      if let t = addedTokens.first(where: { $0.content == name }) {
        eos = t.id
        break
      }
    }
    endOfTextID = eos
  }

  /// Loads `path`: a `tokenizer.json` (Hugging Face), or a tiktoken rank file (`.tiktoken`, or
  /// any file of `BASE64 RANK` lines) with `pattern` naming its pre-tokenization (`gpt2`/`r50k`,
  /// `p50k`, `cl100k`, `o200k`, or a regular expression). `specialTokens` gives a tiktoken
  /// file's special tokens (content → id).
  public static func load(path: String, pattern: String? = nil, specialTokens: [String: UInt32] = [:]) throws(TokenizerError) -> Tokenizer {
    let bytes = try readFile(path)
    let trimmed = bytes.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF })
    if trimmed.first == UInt8(ascii: "{") {
      if pattern != nil { throw TokenizerError("\(path): --pattern is for tiktoken rank files; a tokenizer.json names its own pre-tokenizer") }
      return try HuggingFaceTokenizerFile.load(bytes, path: path)
    }
    guard let pattern else {
      throw TokenizerError(
        "\(path): a tiktoken rank file needs a pattern (gpt2, r50k, p50k, cl100k, o200k, or a regular expression)")
    }
    return try TiktokenFile.load(bytes, path: path, pattern: pattern, specialTokens: specialTokens)
  }

  /// Loads a tokenizer from the bytes of its file; `name` is used in messages.
  public static func load(bytes: [UInt8], name: String, pattern: String? = nil) throws(TokenizerError) -> Tokenizer {
    let trimmed = bytes.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF })
    if trimmed.first == UInt8(ascii: "{") {
      return try HuggingFaceTokenizerFile.load(bytes, path: name)
    }
    return try TiktokenFile.load(bytes, path: name, pattern: pattern ?? "cl100k", specialTokens: [:])
  }

  static func readFile(_ path: String) throws(TokenizerError) -> [UInt8] {
    guard let f = fopen(path, "rb") else { throw TokenizerError("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = fread(&buf, 1, buf.count, f)
      if n > 0 { out.append(contentsOf: buf[0..<n]) }
      if n < buf.count {
        if ferror(f) != 0 { throw TokenizerError("\(path): read error") }
        break
      }
    }
    return out
  }

  /// Appends the ids of `text` to `ids`. Ill-formed UTF-8 is replaced first, as Python's
  /// `decode("utf-8", "replace")` does. With `addSpecialTokens` the post-processor's tokens
  /// (a BOS, an EOS) are added, as `tokenizer(text).input_ids` does.
  public func encode(
    _ text: UnsafeBufferPointer<UInt8>, addSpecialTokens: Bool = true, into ids: inout [UInt32],
    session: inout TokenizerSession
  ) {
    if let repaired = pythonReplacingInvalidUTF8(text) {
      repaired.withUnsafeBufferPointer { encodeValid($0, addSpecialTokens: addSpecialTokens, into: &ids, session: &session) }
    } else {
      encodeValid(text, addSpecialTokens: addSpecialTokens, into: &ids, session: &session)
    }
  }

  /// The ids of `text` (convenience; allocates).
  public func encode(_ text: String, addSpecialTokens: Bool = true) -> [UInt32] {
    var session = TokenizerSession()
    var ids: [UInt32] = []
    var t = text
    t.withUTF8 { encode($0, addSpecialTokens: addSpecialTokens, into: &ids, session: &session) }
    return ids
  }

  private func encodeValid(
    _ text: UnsafeBufferPointer<UInt8>, addSpecialTokens: Bool, into ids: inout [UInt32], session: inout TokenizerSession
  ) {
    if addSpecialTokens { ids.append(contentsOf: pipeline.prefix) }
    if let raw = pipeline.addedRaw {
      raw.forEachSegment(text) { segment, id in
        if let id {
          ids.append(id)
        } else {
          normalizeAndSplit(segment, atStart: segment.baseAddress == text.baseAddress, into: &ids, session: &session)
        }
      }
    } else {
      normalizeAndSplit(text, atStart: true, into: &ids, session: &session)
    }
    if addSpecialTokens { ids.append(contentsOf: pipeline.suffix) }
  }

  /// `atStart`: the segment begins the original text (Metaspace's `prepend_scheme: first`).
  private func normalizeAndSplit(
    _ segment: UnsafeBufferPointer<UInt8>, atStart: Bool, into ids: inout [UInt32], session: inout TokenizerSession
  ) {
    if segment.isEmpty { return }
    if pipeline.normalizers.isEmpty {
      splitNormalized(segment, atStart: atStart, into: &ids, session: &session)
      return
    }
    var normalized = session.takeNormalizeBuffer()
    defer { session.returnNormalizeBuffer(normalized) }
    normalize(segment, into: &normalized, session: &session)
    normalized.withUnsafeBufferPointer { splitNormalized($0, atStart: atStart, into: &ids, session: &session) }
  }

  private func splitNormalized(
    _ segment: UnsafeBufferPointer<UInt8>, atStart: Bool, into ids: inout [UInt32], session: inout TokenizerSession
  ) {
    if let added = pipeline.addedNormalized {
      added.forEachSegment(segment) { piece, id in
        if let id {
          ids.append(id)
        } else {
          preTokenizeAndEncode(piece, atStart: atStart && piece.baseAddress == segment.baseAddress, into: &ids, session: &session)
        }
      }
    } else {
      preTokenizeAndEncode(segment, atStart: atStart, into: &ids, session: &session)
    }
  }

  private func normalize(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8], session: inout TokenizerSession) {
    var tmp = session.takeNormalizeBuffer()
    defer { session.returnNormalizeBuffer(tmp) }
    Self.runNormalizers(pipeline.normalizers, input, into: &out, tmp: &tmp, matcher: &session.matcher, text: &session.textNormalizer)
  }

  /// Runs normalizer steps on a standalone string (an added token's content).
  static func normalizeStandalone(_ input: [UInt8], _ steps: [NormalizerStep]) -> [UInt8] {
    var out: [UInt8] = []
    var tmp: [UInt8] = []
    var matcher = PatternMatcher()
    var text = TextNormalizer()
    input.withUnsafeBufferPointer { runNormalizers(steps, $0, into: &out, tmp: &tmp, matcher: &matcher, text: &text) }
    return out
  }

  static func runNormalizers(
    _ steps: [NormalizerStep], _ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8], tmp: inout [UInt8],
    matcher: inout PatternMatcher, text: inout TextNormalizer
  ) {
    out.removeAll(keepingCapacity: true)
    out.append(contentsOf: input)
    for step in steps {
      switch step {
      case .form(let form):
        out.withUnsafeBufferPointer { text.normalize($0, form: form, into: &tmp) }
        swap(&out, &tmp)
      case .lowercase:
        out.withUnsafeBufferPointer { text.lowercase($0, into: &tmp) }
        swap(&out, &tmp)
      case .prepend(let p):
        if !out.isEmpty { out.insert(contentsOf: p, at: 0) }
      case .strip(let left, let right):
        out.withUnsafeBufferPointer { b in
          var lo = 0
          var hi = b.count
          matcher.load(b)
          let sc = matcher.scalars
          let bits = matcher.bits
          let offs = matcher.offsets
          var s = 0
          var e = sc.count
          if left { while s < e, bits[s] & ScalarProperties.whiteSpaceBit != 0 { s += 1 } }
          if right { while e > s, bits[e - 1] & ScalarProperties.whiteSpaceBit != 0 { e -= 1 } }
          lo = offs[s]
          hi = offs[e]
          tmp.removeAll(keepingCapacity: true)
          tmp.append(contentsOf: UnsafeBufferPointer(rebasing: b[lo..<hi]))
        }
        swap(&out, &tmp)
      case .replaceLiteral(let pattern, let content):
        guard !pattern.isEmpty else { continue }
        tmp.removeAll(keepingCapacity: true)
        out.withUnsafeBufferPointer { b in
          var i = 0
          let n = b.count
          let m = pattern.count
          while i < n {
            if i + m <= n, b[i] == pattern[0], pattern.withUnsafeBufferPointer({ memcmpBytes(b.baseAddress! + i, $0.baseAddress!, m) }) {
              tmp.append(contentsOf: content)
              i += m
            } else {
              tmp.append(b[i])
              i += 1
            }
          }
        }
        swap(&out, &tmp)
      case .replacePattern(let pattern, let content):
        tmp.removeAll(keepingCapacity: true)
        out.withUnsafeBufferPointer { b in
          var last = 0
          matcher.forEachMatch(of: pattern, in: b) { r in
            tmp.append(contentsOf: UnsafeBufferPointer(rebasing: b[last..<r.lowerBound]))
            tmp.append(contentsOf: content)
            last = r.upperBound
          }
          tmp.append(contentsOf: UnsafeBufferPointer(rebasing: b[last..<b.count]))
        }
        swap(&out, &tmp)
      }
    }
  }

  /// Runs the pre-tokenizer steps over one segment and the model over each piece.
  private func preTokenizeAndEncode(
    _ segment: UnsafeBufferPointer<UInt8>, atStart: Bool, into ids: inout [UInt32], session: inout TokenizerSession
  ) {
    if segment.isEmpty { return }
    let steps = pipeline.preSteps
    if steps.count == 1, case .split(let pattern, .isolated, false) = steps[0] {
      // The common case (GPT-2, cl100k, o200k): every match and every gap is a piece.
      var last = 0
      var m = session.matcher
      session.matcher = PatternMatcher()
      m.forEachMatch(of: pattern, in: segment) { r in
        if r.lowerBound > last { encodePiece(UnsafeBufferPointer(rebasing: segment[last..<r.lowerBound]), &ids, &session) }
        if !r.isEmpty { encodePiece(UnsafeBufferPointer(rebasing: segment[r]), &ids, &session) }
        last = r.upperBound
      }
      if last < segment.count { encodePiece(UnsafeBufferPointer(rebasing: segment[last...]), &ids, &session) }
      session.matcher = m
      return
    }
    // General case: pieces as ranges of an arena, refined step by step.
    var arena = session.takeNormalizeBuffer()
    defer { session.returnNormalizeBuffer(arena) }
    arena.removeAll(keepingCapacity: true)
    arena.append(contentsOf: segment)
    var pieces: [Range<Int>] = [0..<segment.count]
    var next: [Range<Int>] = []
    var matches: [(Range<Int>, Bool)] = []
    // Whether pieces[0] begins the original text (its original offset is 0).
    var firstAtStart = atStart
    for step in steps {
      next.removeAll(keepingCapacity: true)
      let firstStart = pieces.first?.lowerBound
      var copied = false
      switch step {
      case .metaspace(let replacement, let scheme, let split):
        copied = true
        for (k, p) in pieces.enumerated() {
          // Spaces become the replacement; then the scheme's prefix.
          let piece = Array(arena[p])
          var out: [UInt8] = []
          out.reserveCapacity(piece.count + replacement.count)
          for b in piece {
            if b == 0x20 { out += replacement } else { out.append(b) }
          }
          let starts = out.starts(with: replacement)
          let prepend = !starts && (scheme == .always || (scheme == .first && k == 0 && firstAtStart))
          let start = arena.count
          if prepend { arena += replacement }
          arena += out
          let whole = start..<arena.count
          guard split else {
            next.append(whole)
            continue
          }
          matches.removeAll(keepingCapacity: true)
          var prev = whole.lowerBound
          var i = whole.lowerBound
          let m = replacement.count
          while m > 0, i + m <= whole.upperBound {
            if arena[i..<(i + m)].elementsEqual(replacement) {
              if prev != i { matches.append((prev..<i, false)) }
              matches.append((i..<(i + m), true))
              i += m
              prev = i
            } else {
              i += 1
            }
          }
          if prev != whole.upperBound { matches.append((prev..<whole.upperBound, false)) }
          Self.apply(.mergedWithNext, matches, into: &next)
        }
      case .prefixSpace:
        copied = true
        for p in pieces {
          if arena[p.lowerBound] == 0x20 {
            next.append(p)
          } else {
            let start = arena.count
            let piece = Array(arena[p])
            arena.append(0x20)
            arena.append(contentsOf: piece)
            next.append(start..<arena.count)
          }
        }
      case .split(let pattern, let behavior, let invert):
        for p in pieces {
          matches.removeAll(keepingCapacity: true)
          var prev = p.lowerBound
          arena.withUnsafeBufferPointer { a in
            let slice = UnsafeBufferPointer(rebasing: a[p])
            session.matcher.forEachMatch(of: pattern, in: slice) { r in
              let s = p.lowerBound + r.lowerBound
              let e = p.lowerBound + r.upperBound
              if prev != s { matches.append((prev..<s, invert)) }
              matches.append((s..<e, !invert))
              prev = e
            }
          }
          if prev != p.upperBound { matches.append((prev..<p.upperBound, invert)) }
          Self.apply(behavior, matches, into: &next)
        }
      }
      swap(&pieces, &next)
      pieces.removeAll(where: \.isEmpty)
      if !copied, let first = pieces.first, first.lowerBound != firstStart { firstAtStart = false }
    }
    arena.withUnsafeBufferPointer { a in
      for p in pieces { encodePiece(UnsafeBufferPointer(rebasing: a[p]), &ids, &session) }
    }
  }

  /// `tokenizers`' SplitDelimiterBehavior over (range, is a match) pieces.
  static func apply(_ behavior: SplitBehavior, _ matches: [(Range<Int>, Bool)], into out: inout [Range<Int>]) {
    let base = out.count
    switch behavior {
    case .removed:
      for (r, isMatch) in matches where !isMatch { out.append(r) }
    case .isolated:
      for (r, _) in matches { out.append(r) }
    case .mergedWithPrevious:
      var previousMatch = false
      for (r, isMatch) in matches {
        if isMatch && !previousMatch, out.count > base {
          out[out.count - 1] = out[out.count - 1].lowerBound..<r.upperBound
        } else {
          out.append(r)
        }
        previousMatch = isMatch
      }
    case .mergedWithNext:
      var previousMatch = false
      var rev: [Range<Int>] = []
      for (r, isMatch) in matches.reversed() {
        if isMatch && !previousMatch, !rev.isEmpty {
          rev[rev.count - 1] = r.lowerBound..<rev[rev.count - 1].upperBound
        } else {
          rev.append(r)
        }
        previousMatch = isMatch
      }
      out.append(contentsOf: rev.reversed())
    case .contiguous:
      var previousMatch = false
      for (r, isMatch) in matches {
        if isMatch == previousMatch, out.count > base {
          out[out.count - 1] = out[out.count - 1].lowerBound..<r.upperBound
        } else {
          out.append(r)
        }
        previousMatch = isMatch
      }
    }
  }

  @inline(__always)
  private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, _ ids: inout [UInt32], _ session: inout TokenizerSession) {
    if piece.count > TokenizerSession.cacheMaxPiece {
      model.encode(piece, into: &ids, scratch: &session.merge)
      return
    }
    if session.cache.lookup(piece, into: &ids) { return }
    let start = ids.count
    model.encode(piece, into: &ids, scratch: &session.merge)
    ids.withUnsafeBufferPointer { session.cache.insert(piece, UnsafeBufferPointer(rebasing: $0[start...])) }
  }
}

/// A thread's working memory for encoding: the matcher, the merge scratch, buffers and a cache
/// of recent pre-tokens' ids (most words repeat).
public struct TokenizerSession {
  var matcher = PatternMatcher()
  var merge = MergeScratch()
  var textNormalizer = TextNormalizer()
  var cache = PieceCache()
  private var buffers: [[UInt8]] = []
  static let cacheMaxPiece = 64

  /// Empty scratch space; it grows on first use.
  public init() {}

  mutating func takeNormalizeBuffer() -> [UInt8] { buffers.popLast() ?? [] }
  mutating func returnNormalizeBuffer(_ b: [UInt8]) { buffers.append(b) }
}

/// Pre-token → ids, for pre-tokens up to 64 bytes; cleared when full.
struct PieceCache {
  private var slots: [Int32]
  private var keys: [UInt64] = []
  private var entries: [(keyStart: Int32, keyLen: Int32, idStart: Int32, idLen: Int32)] = []
  private var keyBytes: [UInt8] = []
  private var idStore: [UInt32] = []
  private let mask: Int
  private static let capacity = 1 << 15

  init() {
    slots = [Int32](repeating: -1, count: Self.capacity * 2)
    mask = Self.capacity * 2 - 1
  }

  mutating func lookup(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [UInt32]) -> Bool {
    let h = ByteStringTable.hash(piece.baseAddress, piece.count)
    var s = Int(truncatingIfNeeded: h) & mask
    while true {
      let e = slots[s]
      if e < 0 { return false }
      if keys[Int(e)] == h {
        let entry = entries[Int(e)]
        if Int(entry.keyLen) == piece.count,
          keyBytes.withUnsafeBufferPointer({ memcmpBytes($0.baseAddress! + Int(entry.keyStart), piece.baseAddress!, piece.count) })
        {
          ids.append(contentsOf: idStore[Int(entry.idStart)..<Int(entry.idStart + entry.idLen)])
          return true
        }
      }
      s = (s + 1) & mask
    }
  }

  mutating func insert(_ piece: UnsafeBufferPointer<UInt8>, _ ids: UnsafeBufferPointer<UInt32>) {
    if entries.count >= Self.capacity {
      for k in 0..<slots.count { slots[k] = -1 }
      keys.removeAll(keepingCapacity: true)
      entries.removeAll(keepingCapacity: true)
      keyBytes.removeAll(keepingCapacity: true)
      idStore.removeAll(keepingCapacity: true)
    }
    let h = ByteStringTable.hash(piece.baseAddress, piece.count)
    var s = Int(truncatingIfNeeded: h) & mask
    while slots[s] >= 0 { s = (s + 1) & mask }
    slots[s] = Int32(entries.count)
    keys.append(h)
    entries.append((Int32(keyBytes.count), Int32(piece.count), Int32(idStore.count), Int32(ids.count)))
    keyBytes.append(contentsOf: piece)
    idStore.append(contentsOf: ids)
  }
}

/// Added tokens split out of text before the model: leftmost-longest matching with the
/// `single_word`, `lstrip` and `rstrip` rules of `tokenizers`' AddedVocabulary.
struct AddedTokenMatcher: Sendable {
  struct Entry: Sendable {
    var content: [UInt8]
    var id: UInt32
    var singleWord: Bool
    var lstrip: Bool
    var rstrip: Bool
  }

  /// Entries by first byte, longest first.
  let byFirstByte: [[Entry]]

  init?(_ entries: [Entry]) {
    let usable = entries.filter { !$0.content.isEmpty }
    if usable.isEmpty { return nil }
    var table = [[Entry]](repeating: [], count: 256)
    for e in usable { table[Int(e.content[0])].append(e) }
    for k in 0..<256 { table[k].sort { $0.content.count > $1.content.count } }
    byFirstByte = table
  }

  /// Calls `body` with each segment of `text`: an added token's span and id, or text between.
  func forEachSegment(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, UInt32?) -> Void) {
    let n = text.count
    var startOffset = 0
    var i = 0
    while i < n {
      let candidates = byFirstByte[Int(text[i])]
      var found: Entry? = nil
      for e in candidates where e.content.count <= n - i {
        if e.content.withUnsafeBufferPointer({ memcmpBytes(text.baseAddress! + i, $0.baseAddress!, e.content.count) }) {
          found = e
          break
        }
      }
      guard let e = found else {
        i += 1
        continue
      }
      var start = i
      var stop = i + e.content.count
      // The search resumes after the match itself, whatever is stripped around it.
      i = stop
      if e.singleWord {
        let startSpace = start == 0 || !Self.endsWithWord(text, start)
        let stopSpace = stop == n || !Self.startsWithWord(text, stop)
        if !startSpace || !stopSpace { continue }
      }
      if e.lstrip {
        start = max(Self.leftmostSpaceAtEnd(text, start), startOffset)
      }
      if e.rstrip {
        stop = Self.rightmostSpaceAtStart(text, stop)
      }
      if startOffset < start { body(UnsafeBufferPointer(rebasing: text[startOffset..<start]), nil) }
      body(UnsafeBufferPointer(rebasing: text[start..<stop]), e.id)
      startOffset = stop
    }
    if startOffset < n { body(UnsafeBufferPointer(rebasing: text[startOffset..<n]), nil) }
  }

  private static func scalarBefore(_ t: UnsafeBufferPointer<UInt8>, _ end: Int) -> (UInt32, Int) {
    var s = end - 1
    while s > 0, t[s] & 0xC0 == 0x80 { s -= 1 }
    return (PythonText.decodeScalar(t, at: s).0, s)
  }

  private static let wordMask = ScalarProperties.mask(named: "L")! | ScalarProperties.mask(named: "M")!
    | ScalarProperties.mask(named: "Nd")! | ScalarProperties.mask(named: "Pc")!

  /// Rust regex's `\w`: Alphabetic, marks, Nd, Pc and join controls.
  private static func isWord(_ v: UInt32) -> Bool {
    if v == 0x200C || v == 0x200D { return true }
    if ScalarProperties.bits(v) & wordMask != 0 { return true }
    guard let s = Unicode.Scalar(v) else { return false }
    return s.properties.isAlphabetic
  }

  private static func endsWithWord(_ t: UnsafeBufferPointer<UInt8>, _ end: Int) -> Bool {
    end > 0 && isWord(scalarBefore(t, end).0)
  }

  private static func startsWithWord(_ t: UnsafeBufferPointer<UInt8>, _ start: Int) -> Bool {
    start < t.count && isWord(PythonText.decodeScalar(t, at: start).0)
  }

  private static func isSpace(_ v: UInt32) -> Bool { ScalarProperties.bits(v) & ScalarProperties.whiteSpaceBit != 0 }

  /// Start of the whitespace run that ends at `end`.
  private static func leftmostSpaceAtEnd(_ t: UnsafeBufferPointer<UInt8>, _ end: Int) -> Int {
    var e = end
    while e > 0 {
      let (v, s) = scalarBefore(t, e)
      guard isSpace(v) else { break }
      e = s
    }
    return e
  }

  /// End of the whitespace run that starts at `start`.
  private static func rightmostSpaceAtStart(_ t: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
    var s = start
    while s < t.count {
      let (v, len) = PythonText.decodeScalar(t, at: s)
      guard isSpace(v) else { break }
      s += len
    }
    return s
  }
}
