import Synchronization
import WinnowCore
import WinnowTokenizer

/// The token ids of a document's text, shared by `tokenize` and the token exports.
public let documentTokenIDs = DocumentCacheKey<TokenizedDocument>("token_ids")

/// `tokenize`: a document's text as token ids, exactly as Hugging Face `tokenizers`
/// (`tokenizer(text).input_ids`) or `tiktoken` (`encode_ordinary`) would give them. The ids
/// are written as a JSON array field (`token_ids`) and kept with the document for the token
/// exports after it.
public final class TokenizeStage: DocumentStage {
  /// The stage's name, parameters and constructor.
  public static let descriptor = StageDescriptor(
    name: "tokenize",
    summary: "Token ids of each document with a byte-pair tokenizer (tokenizer.json or tiktoken file)",
    role: .transform,
    parameters: [
      ParameterSpec(
        "tokenizer", .string, required: true, file: .reads,
        help: "a Hugging Face tokenizer.json (BPE) or a tiktoken rank file"),
      ParameterSpec(
        "pattern", .string,
        help: "for a tiktoken file: gpt2 (r50k), p50k, cl100k, o200k, or a regular expression"),
      ParameterSpec(
        "add_special_tokens", .bool, default: .bool(true),
        help: "add the post-processor's tokens (a BOS, an EOS), as tokenizer(text) does"),
      ParameterSpec(
        "field", .string, default: .string("token_ids"),
        help: "field the ids are written to as a JSON array (empty: keep them for an export only)"),
      ParameterSpec("count_field", .string, help: "field the number of tokens is written to"),
    ],
    make: { (p, _) throws(WinnowError) in try TokenizeStage(p) })

  /// The loaded tokenizer.
  public let tokenizer: Tokenizer
  let addSpecialTokens: Bool
  let field: String?
  let countField: String?
  let key: String
  private var session = TokenizerSession()
  private var ids: [UInt32] = []
  private var json: [UInt8] = []

  init(_ p: StageParameters) throws(WinnowError) {
    tokenizer = try TokenizerCache.load(path: p.string("tokenizer")!, pattern: p.string("pattern"), stage: "tokenize")
    addSpecialTokens = p.bool("add_special_tokens") ?? true
    let f = p.string("field") ?? "token_ids"
    field = f.isEmpty ? nil : f
    countField = p.string("count_field")
    key = Self.tokenizerKey(p.string("tokenizer")!, p.string("pattern"), addSpecialTokens)
  }

  /// Names a tokenizer and its settings, so that an export reuses only ids made its own way.
  static func tokenizerKey(_ path: String, _ pattern: String?, _ addSpecialTokens: Bool) -> String {
    "\(path)\u{0}\(pattern ?? "")\u{0}\(addSpecialTokens)"
  }

  public func process(_ doc: Document) -> Verdict {
    ids.removeAll(keepingCapacity: true)
    tokenizer.encode(doc.text, addSpecialTokens: addSpecialTokens, into: &ids, session: &session)
    if let field {
      json.removeAll(keepingCapacity: true)
      TokenIDs.appendJSON(ids, to: &json)
      doc.annotate(field, jsonBytes: json)
    }
    if let countField { doc.annotate(countField, .int(ids.count)) }
    doc.setCached(TokenizedDocument(ids: ids, tokenizerKey: key), for: documentTokenIDs)
    return .keep
  }
}

/// Loaded tokenizers by file and pattern: a process that runs many tasks loads each once.
public enum TokenizerCache {
  private static let loaded = Mutex<[String: Tokenizer]>([:])

  /// The tokenizer of `path` (and `pattern`), loaded once per process; errors name `stage`.
  public static func load(path: String, pattern: String?, stage: String) throws(WinnowError) -> Tokenizer {
    let key = path + "\u{0}" + (pattern ?? "")
    if let t = loaded.withLock({ $0[key] }) { return t }
    let t: Tokenizer
    do {
      t = try Tokenizer.load(path: path, pattern: pattern)
    } catch {
      throw .usage("stage '\(stage)': \(error.message)")
    }
    loaded.withLock { $0[key] = t }
    return t
  }
}

/// Token ids as text.
public enum TokenIDs {
  /// Appends `[1,2,3]` (no spaces).
  public static func appendJSON(_ ids: [UInt32], to out: inout [UInt8]) {
    out.append(UInt8(ascii: "["))
    var digits = [UInt8](repeating: 0, count: 10)
    for (k, id) in ids.enumerated() {
      if k > 0 { out.append(UInt8(ascii: ",")) }
      var v = id
      var n = 0
      repeat {
        digits[n] = UInt8(ascii: "0") + UInt8(v % 10)
        v /= 10
        n += 1
      } while v > 0
      while n > 0 {
        n -= 1
        out.append(digits[n])
      }
    }
    out.append(UInt8(ascii: "]"))
  }
}
