// Loading a Hugging Face `tokenizer.json` with a BPE model. What is supported is listed in
// `docs/tokenizers.md`; every other component is an error naming it.

enum HuggingFaceTokenizerFile {
  /// GPT-2's byte ↔ character table (`bytes_char` in tokenizers, `bytes_to_unicode` in GPT-2):
  /// printable Latin-1 bytes map to themselves, the others to U+0100 onwards in byte order.
  static let byteToChar: [UInt32] = {
    var table = [UInt32](repeating: 0, count: 256)
    var n: UInt32 = 0
    for b in 0..<256 {
      let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
      if printable {
        table[b] = UInt32(b)
      } else {
        table[b] = 256 + n
        n += 1
      }
    }
    return table
  }()

  static let charToByte: [UInt32: UInt8] = {
    var m: [UInt32: UInt8] = [:]
    for (b, c) in byteToChar.enumerated() { m[c] = UInt8(b) }
    return m
  }()

  /// The GPT-2 pattern ByteLevel uses when `use_regex` is on.
  static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

  static func load(_ bytes: [UInt8], path: String) throws(TokenizerError) -> Tokenizer {
    let root = try bytes.withUnsafeBufferPointer { b throws(TokenizerError) in try JSONNodeParser.parse(b, name: path) }
    func fail(_ what: String) -> TokenizerError { TokenizerError("\(path): \(what)") }
    guard case .object = root else { throw fail("not a tokenizer.json (the top level is \(root.kindName))") }
    guard let model = root["model"], case .object = model else { throw fail("no \"model\"") }
    let type = model["type"]?.string ?? "BPE"
    guard type == "BPE" else { throw fail("the model type \"\(type)\" is not supported (BPE only)") }
    if let d = model["dropout"], !d.isNull, (d.double ?? 0) != 0 { throw fail("BPE dropout is not supported (it makes encoding random)") }
    for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
      if let v = model[key], !v.isNull, v.string != "" { throw fail("the BPE option \(key) is not supported") }
    }

    // Pre-tokenizer first: whether it ends in ByteLevel decides the model's units.
    var preSteps: [Tokenizer.PreStep] = []
    var byteLevel = false
    if let pre = root["pre_tokenizer"], !pre.isNull {
      try preTokenizer(pre, steps: &preSteps, byteLevel: &byteLevel, path: path)
    }
    if let n = root["normalizer"], !n.isNull, n["type"]?.string == "ByteLevel" {
      throw fail("the ByteLevel normalizer is not supported")
    }

    // Vocabulary: token text → id; for byte-level models the token's raw bytes too.
    guard let vocabNode = model["vocab"], case .object(let vocabMembers) = vocabNode else { throw fail("model.vocab is not an object") }
    var byText: [[UInt8]: UInt32] = [:]
    byText.reserveCapacity(vocabMembers.count)
    var table = ByteStringTable(capacity: vocabMembers.count)
    for (key, value) in vocabMembers {
      guard let id = value.int, id >= 0, id < Int64(Int32.max) else {
        throw fail("model.vocab: the id of \(quoted(key)) is not a non-negative 32-bit integer")
      }
      byText[key] = UInt32(id)
      if byteLevel {
        if let raw = rawBytes(key) { table.set(raw, UInt32(id)) }
      } else {
        table.set(key, UInt32(id))
      }
    }

    // Merges, in either format; the rank is the position in the list.
    var pairs = PairTable(capacity: 1024)
    if let mergesNode = model["merges"], !mergesNode.isNull {
      guard let merges = mergesNode.array else { throw fail("model.merges is not an array") }
      pairs = PairTable(capacity: merges.count)
      var rank: UInt32 = 0
      for m in merges {
        var a: [UInt8]
        var b: [UInt8]
        switch m {
        case .string(let line):
          if line.starts(with: Array("#version".utf8)) { continue }
          let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
          guard parts.count == 2 else { throw fail("model.merges: merge \(rank + 1) (\(quoted(line))) is not two tokens separated by one space") }
          a = Array(parts[0])
          b = Array(parts[1])
        case .array(let two):
          guard two.count == 2, let x = two[0].bytes, let y = two[1].bytes else {
            throw fail("model.merges: merge \(rank + 1) is not a pair of strings")
          }
          a = x
          b = y
        default:
          throw fail("model.merges: merge \(rank + 1) is \(m.kindName)")
        }
        guard let ia = byText[a] else { throw fail("model.merges: merge \(rank + 1) uses \(quoted(a)), which is not in the vocabulary") }
        guard let ib = byText[b] else { throw fail("model.merges: merge \(rank + 1) uses \(quoted(b)), which is not in the vocabulary") }
        guard let merged = byText[a + b] else {
          throw fail("model.merges: merge \(rank + 1) makes \(quoted(a + b)), which is not in the vocabulary")
        }
        pairs.set(ia, ib, rank: rank, merged: merged)
        rank += 1
      }
    }

    var unknownID: UInt32? = nil
    if let unk = model["unk_token"], !unk.isNull {
      guard let u = unk.bytes else { throw fail("model.unk_token is not a string") }
      guard let id = byText[u] else { throw fail("model.unk_token \(quoted(u)) is not in the vocabulary") }
      unknownID = id
    }
    let bpe = BytePairModel(
      units: byteLevel ? .bytes : .characters, tokens: table, pairs: pairs,
      byteFallback: model["byte_fallback"]?.bool ?? false, unknownID: unknownID,
      fuseUnknown: model["fuse_unk"]?.bool ?? false, wholeTokenFirst: model["ignore_merges"]?.bool ?? false)

    // Normalizer.
    var normalizers: [Tokenizer.NormalizerStep] = []
    if let n = root["normalizer"], !n.isNull { try normalizer(n, steps: &normalizers, path: path) }

    // Added tokens.
    var added: [(content: String, id: UInt32, special: Bool)] = []
    var raw: [AddedTokenMatcher.Entry] = []
    var normalized: [AddedTokenMatcher.Entry] = []
    if let list = root["added_tokens"], !list.isNull {
      guard let items = list.array else { throw fail("added_tokens is not an array") }
      for (k, t) in items.enumerated() {
        guard let id = t["id"]?.int, id >= 0, id < Int64(Int32.max), let content = t["content"]?.bytes else {
          throw fail("added_tokens[\(k)] needs an id and a content")
        }
        let special = t["special"]?.bool ?? false
        let entry = AddedTokenMatcher.Entry(
          content: content, id: UInt32(id), singleWord: t["single_word"]?.bool ?? false,
          lstrip: t["lstrip"]?.bool ?? false, rstrip: t["rstrip"]?.bool ?? false)
        added.append((String(decoding: content, as: UTF8.self), UInt32(id), special))
        if t["normalized"]?.bool ?? !special {
          var e = entry
          e.content = normalizeContent(content, normalizers)
          normalized.append(e)
        } else {
          raw.append(entry)
        }
      }
    }

    // Post-processor.
    var prefix: [UInt32] = []
    var suffix: [UInt32] = []
    if let p = root["post_processor"], !p.isNull { try postProcessor(p, prefix: &prefix, suffix: &suffix, path: path) }

    let pipeline = Tokenizer.Pipeline(
      addedRaw: AddedTokenMatcher(raw), addedNormalized: AddedTokenMatcher(normalized), normalizers: normalizers,
      preSteps: preSteps, prefix: prefix, suffix: suffix)
    return Tokenizer(source: path, model: bpe, pipeline: pipeline, addedTokens: added)
  }

  static func quoted(_ b: [UInt8]) -> String {
    let s = String(decoding: b, as: UTF8.self)
    return "\"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
  }

  /// A byte-level token's raw bytes, or nil when it holds a character outside the byte table.
  static func rawBytes(_ token: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(token.count)
    for s in String(decoding: token, as: UTF8.self).unicodeScalars {
      guard let b = charToByte[s.value] else { return nil }
      out.append(b)
    }
    return out
  }

  static func normalizeContent(_ content: [UInt8], _ steps: [Tokenizer.NormalizerStep]) -> [UInt8] {
    if steps.isEmpty { return content }
    // The same steps the text goes through, on the token's own content.
    let dummy = Tokenizer.normalizeStandalone(content, steps)
    return dummy
  }

  private static func preTokenizer(
    _ node: JSONNode, steps: inout [Tokenizer.PreStep], byteLevel: inout Bool, path: String
  ) throws(TokenizerError) {
    func fail(_ what: String) -> TokenizerError { TokenizerError("\(path): pre_tokenizer: \(what)") }
    guard let type = node["type"]?.string else { throw fail("a component without a type") }
    if byteLevel { throw fail("a \(type) after ByteLevel is not supported (ByteLevel must come last)") }
    switch type {
    case "Sequence":
      guard let items = node["pretokenizers"]?.array else { throw fail("Sequence without pretokenizers") }
      for item in items { try preTokenizer(item, steps: &steps, byteLevel: &byteLevel, path: path) }
    case "ByteLevel":
      if node["add_prefix_space"]?.bool ?? true { steps.append(.prefixSpace) }
      if node["use_regex"]?.bool ?? true {
        steps.append(.split(try compile(gpt2Pattern, path), .isolated, invert: false))
      }
      byteLevel = true
    case "Split":
      guard let pattern = node["pattern"] else { throw fail("Split without a pattern") }
      var compiled: PretokenizerPattern
      if let r = pattern["Regex"]?.string {
        compiled = try compile(r, path)
      } else if let s = pattern["String"]?.string {
        compiled = try compile(literalPattern(s), path)
      } else {
        throw fail("Split's pattern is neither {\"Regex\": …} nor {\"String\": …}")
      }
      let name = node["behavior"]?.string ?? "Isolated"
      guard let behavior = Tokenizer.SplitBehavior(rawValue: name) else { throw fail("the Split behavior \"\(name)\" is unknown") }
      steps.append(.split(compiled, behavior, invert: node["invert"]?.bool ?? false))
    case "Metaspace":
      let replacement = node["replacement"]?.bytes ?? Array("\u{2581}".utf8)
      guard String(decoding: replacement, as: UTF8.self).unicodeScalars.count == 1 else {
        throw fail("Metaspace's replacement must be one character")
      }
      var scheme = Tokenizer.PrependScheme.always
      if let name = node["prepend_scheme"]?.string {
        guard let s = Tokenizer.PrependScheme(rawValue: name) else { throw fail("the Metaspace prepend_scheme \"\(name)\" is unknown") }
        scheme = s
      } else if let add = node["add_prefix_space"]?.bool {
        scheme = add ? .always : .never
      }
      steps.append(.metaspace(replacement: replacement, scheme: scheme, split: node["split"]?.bool ?? true))
    case "Digits":
      let individual = node["individual_digits"]?.bool ?? false
      steps.append(.split(try compile(individual ? #"\p{N}"# : #"\p{N}+"#, path), .isolated, invert: false))
    default:
      throw fail("the pre-tokenizer \(type) is not supported (supported: ByteLevel, Split, Metaspace, Digits, Sequence)")
    }
  }

  /// A pattern matching `s` literally.
  static func literalPattern(_ s: String) -> String {
    var out = ""
    for u in s.unicodeScalars {
      let v = u.value
      let alnum = (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v)
      out += alnum ? String(u) : "\\x{\(String(v, radix: 16))}"
    }
    return out
  }

  private static func compile(_ pattern: String, _ path: String) throws(TokenizerError) -> PretokenizerPattern {
    do {
      return try PretokenizerPattern(pattern, dialect: .oniguruma)
    } catch {
      throw TokenizerError("\(path): \(error.message)")
    }
  }

  private static func normalizer(_ node: JSONNode, steps: inout [Tokenizer.NormalizerStep], path: String) throws(TokenizerError) {
    func fail(_ what: String) -> TokenizerError { TokenizerError("\(path): normalizer: \(what)") }
    guard let type = node["type"]?.string else { throw fail("a component without a type") }
    switch type {
    case "Sequence":
      guard let items = node["normalizers"]?.array else { throw fail("Sequence without normalizers") }
      for item in items { try normalizer(item, steps: &steps, path: path) }
    case "NFC": steps.append(.form(.nfc))
    case "NFKC": steps.append(.form(.nfkc))
    case "NFD": steps.append(.form(.nfd))
    case "Lowercase": steps.append(.lowercase)
    case "Prepend":
      guard let p = node["prepend"]?.bytes else { throw fail("Prepend without a string") }
      steps.append(.prepend(p))
    case "Strip":
      steps.append(.strip(left: node["strip_left"]?.bool ?? true, right: node["strip_right"]?.bool ?? true))
    case "Replace":
      guard let content = node["content"]?.bytes, let pattern = node["pattern"] else { throw fail("Replace needs a pattern and a content") }
      if let s = pattern["String"]?.bytes {
        steps.append(.replaceLiteral(s, with: content))
      } else if let r = pattern["Regex"]?.string {
        steps.append(.replacePattern(try compile(r, path), with: content))
      } else {
        throw fail("Replace's pattern is neither {\"String\": …} nor {\"Regex\": …}")
      }
    default:
      throw fail("the normalizer \(type) is not supported (supported: NFC, NFKC, NFD, Lowercase, Replace, Prepend, Strip, Sequence)")
    }
  }

  private static func postProcessor(_ node: JSONNode, prefix: inout [UInt32], suffix: inout [UInt32], path: String) throws(TokenizerError) {
    func fail(_ what: String) -> TokenizerError { TokenizerError("\(path): post_processor: \(what)") }
    guard let type = node["type"]?.string else { throw fail("a component without a type") }
    switch type {
    case "Sequence":
      guard let items = node["processors"]?.array else { throw fail("Sequence without processors") }
      for item in items { try postProcessor(item, prefix: &prefix, suffix: &suffix, path: path) }
    case "ByteLevel":
      break  // offsets only
    case "TemplateProcessing":
      guard let single = node["single"]?.array else { throw fail("TemplateProcessing without a single template") }
      var before: [UInt32] = []
      var after: [UInt32] = []
      var seenSequence = false
      for item in single {
        if let seq = item["Sequence"] {
          guard seq["id"]?.string == "A" else { throw fail("the single template uses sequence \(seq["id"]?.string ?? "?")") }
          guard !seenSequence else { throw fail("the single template uses $A twice") }
          seenSequence = true
        } else if let sp = item["SpecialToken"] {
          guard let name = sp["id"]?.bytes else { throw fail("a SpecialToken without an id") }
          guard let def = node["special_tokens"]?[String(decoding: name, as: UTF8.self)], let ids = def["ids"]?.array else {
            throw fail("the special token \(quoted(name)) is not in special_tokens")
          }
          var list: [UInt32] = []
          for v in ids {
            guard let id = v.int, id >= 0, id < Int64(Int32.max) else { throw fail("a bad id for \(quoted(name))") }
            list.append(UInt32(id))
          }
          if seenSequence { after += list } else { before += list }
        } else {
          throw fail("an item of the single template is neither Sequence nor SpecialToken")
        }
      }
      guard seenSequence else { throw fail("the single template has no $A") }
      prefix = before + prefix
      suffix += after
    case "RobertaProcessing", "BertProcessing":
      guard let cls = node["cls"]?.array, cls.count == 2, let clsID = cls[1].int,
        let sep = node["sep"]?.array, sep.count == 2, let sepID = sep[1].int, clsID >= 0, sepID >= 0
      else { throw fail("\(type) needs cls and sep as [token, id]") }
      prefix = [UInt32(clsID)] + prefix
      suffix += [UInt32(sepID)]
    default:
      throw fail("the post-processor \(type) is not supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence)")
    }
  }
}
