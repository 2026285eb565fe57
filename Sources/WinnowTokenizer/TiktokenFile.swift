// tiktoken rank files: one `BASE64(token bytes) RANK` per line; the rank is the token's id
// and its merge priority. The pre-tokenization pattern is not in the file: it is named
// (the patterns of tiktoken's own encodings) or given as a regular expression.

enum TiktokenFile {
  /// The patterns of tiktoken's encodings (`tiktoken_ext/openai_public.py`).
  static let namedPatterns: [String: String] = [
    "gpt2": r50k,
    "r50k": r50k,
    "r50k_base": r50k,
    "p50k": r50k,
    "p50k_base": r50k,
    "cl100k": cl100k,
    "cl100k_base": cl100k,
    "o200k": o200k,
    "o200k_base": o200k,
  ]

  static let r50k = #"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"#
  static let cl100k =
    #"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"#
  static let o200k = [
    #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
    #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
    #"\p{N}{1,3}"#,
    #" ?[^\s\p{L}\p{N}]+[\r\n/]*"#,
    #"\s*[\r\n]+"#,
    #"\s+(?!\S)"#,
    #"\s+"#,
  ].joined(separator: "|")

  static func load(_ bytes: [UInt8], path: String, pattern: String, specialTokens: [String: UInt32]) throws(TokenizerError) -> Tokenizer {
    let regex = namedPatterns[pattern.lowercased()] ?? pattern
    let compiled: PretokenizerPattern
    do {
      compiled = try PretokenizerPattern(regex, dialect: .fancyRegex)
    } catch {
      throw TokenizerError("\(path): \(error.message)")
    }
    var entries: [([UInt8], UInt32)] = []
    var lineNumber = 0
    var start = 0
    let n = bytes.count
    while start < n {
      var end = start
      while end < n, bytes[end] != 0x0A { end += 1 }
      lineNumber += 1
      var line = bytes[start..<end]
      start = end + 1
      if line.last == 0x0D { line = line.dropLast() }
      if line.isEmpty { continue }
      guard let space = line.firstIndex(of: 0x20), line[(space + 1)...].firstIndex(of: 0x20) == nil else {
        throw TokenizerError("\(path):\(lineNumber): expected 'BASE64 RANK'")
      }
      guard let token = base64Decode(line[line.startIndex..<space]) else {
        throw TokenizerError("\(path):\(lineNumber): the token is not valid base64")
      }
      let rankText = String(decoding: line[(space + 1)...], as: UTF8.self)
      guard let rank = UInt32(rankText), rank < UInt32(Int32.max) else {
        throw TokenizerError("\(path):\(lineNumber): the rank \"\(rankText)\" is not a non-negative integer")
      }
      guard !token.isEmpty else { throw TokenizerError("\(path):\(lineNumber): an empty token") }
      entries.append((token, rank))
    }
    guard !entries.isEmpty else { throw TokenizerError("\(path): no tokens") }
    var table = ByteStringTable(capacity: entries.count)
    for (token, rank) in entries { table.set(token, rank) }
    guard table.count == entries.count else { throw TokenizerError("\(path): a token appears twice") }
    for b in 0..<256 where [UInt8(b)].withUnsafeBufferPointer({ table.find($0) }) == nil {
      throw TokenizerError("\(path): the single byte 0x\(String(b, radix: 16)) has no rank (every byte must be a token)")
    }
    // Pairs: every split of every token into two tokens merges at the token's rank.
    var pairs = PairTable(capacity: entries.count * 2)
    for (token, rank) in entries where token.count >= 2 {
      token.withUnsafeBufferPointer { t in
        for k in 1..<t.count {
          guard let a = table.find(UnsafeBufferPointer(rebasing: t[0..<k])),
            let b = table.find(UnsafeBufferPointer(rebasing: t[k...]))
          else { continue }
          pairs.set(a, b, rank: rank, merged: rank, keepFirst: true)
        }
      }
    }
    let model = BytePairModel(
      units: .bytes, tokens: table, pairs: pairs, byteFallback: false, unknownID: nil, fuseUnknown: false,
      wholeTokenFirst: true)
    let specials = specialTokens.map { AddedTokenMatcher.Entry(content: Array($0.key.utf8), id: $0.value, singleWord: false, lstrip: false, rstrip: false) }
    let pipeline = Tokenizer.Pipeline(
      addedRaw: AddedTokenMatcher(specials), addedNormalized: nil, normalizers: [],
      preSteps: [.split(compiled, .isolated, invert: false)], prefix: [], suffix: [])
    return Tokenizer(
      source: path, model: model, pipeline: pipeline,
      addedTokens: specialTokens.map { (content: $0.key, id: $0.value, special: true) })
  }

  static func base64Decode(_ s: ArraySlice<UInt8>) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(s.count * 3 / 4)
    var acc: UInt32 = 0
    var bits = 0
    var padding = 0
    for c in s {
      let v: UInt32
      switch c {
      case 0x41...0x5A: v = UInt32(c - 0x41)
      case 0x61...0x7A: v = UInt32(c - 0x61 + 26)
      case 0x30...0x39: v = UInt32(c - 0x30 + 52)
      case UInt8(ascii: "+"): v = 62
      case UInt8(ascii: "/"): v = 63
      case UInt8(ascii: "="):
        padding += 1
        continue
      default: return nil
      }
      if padding > 0 { return nil }
      acc = acc << 6 | v
      bits += 6
      if bits >= 8 {
        bits -= 8
        out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
      }
    }
    guard s.count % 4 == 0 || padding == 0 else { return nil }
    return out
  }
}
