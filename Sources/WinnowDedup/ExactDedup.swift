import CXXHash
import WinnowCore
import WinnowText

/// `exact_dedup` (in-process): drops documents whose key was seen before; the first
/// occurrence in input order wins. The key is the XXH3-128 hash of the text — optionally
/// normalised (NFKC, lower-cased, whitespace collapsed) — or of another field such as `url`.
/// Memory: one 16-byte hash per distinct document.
public final class ExactDedup: DocumentStage, KeyedGlobalStage {
  public static let descriptor = StageDescriptor(
    name: "exact_dedup",
    summary: "Drop documents whose text (or another field) was seen before; first occurrence wins",
    role: .deduplicate,
    parameters: [
      ParameterSpec("field", .string, help: "hash this field instead of the text (e.g. url)"),
      ParameterSpec(
        "normalize", .bool, default: .bool(false),
        help: "hash NFKC-normalised, lower-cased text with whitespace runs collapsed"),
      ParameterSpec(
        "missing", .choice(["keep", "drop"]), default: .string("keep"),
        help: "what to do with documents that lack the field"),
      ParameterSpec(
        "buckets", .int(min: 1, max: 65_536), default: .int(16),
        help: "recipe runs: reduce tasks the keys are spread over (the result does not depend on it)"),
    ],
    makeGlobal: { (p, _) throws(WinnowError) in KeyedPhases(ExactDedup(p), name: "exact_dedup", buckets: p.int("buckets")!) },
    make: { (p, _) throws(WinnowError) in ExactDedup(p) })

  let field: String?
  let normalize: Bool
  let dropMissing: Bool
  var seen = Set<Hash128>()
  let fieldBuffer = ByteBuffer()
  var normalizer = DedupKeyNormalizer()
  /// XXH3-128 over a key given in pieces (the same hash as over the whole key).
  let keyHashState: OpaquePointer = XXH3_createState()

  convenience init(_ p: StageParameters) {
    self.init(field: p.string("field"), normalize: p.bool("normalize")!, dropMissing: p.string("missing") == "drop")
  }

  public init(field: String?, normalize: Bool, dropMissing: Bool) {
    self.field = field
    self.normalize = normalize
    self.dropMissing = dropMissing
  }

  deinit { XXH3_freeState(keyHashState) }

  public var duplicateReason: String { "duplicate" }

  /// XXH3-128 of the text (or field), normalised when asked; nil when the field is missing.
  public func key(_ doc: Document) -> Hash128? {
    var bytes = doc.text
    if let field {
      // A null value is a missing value (as in `field` and for ids), not a key that every
      // document with a null field would share.
      guard doc.fieldBytes(field, into: fieldBuffer), !(fieldBuffer.count == 4 && doc.field(field) == .null) else {
        return nil
      }
      bytes = fieldBuffer.bytes
    }
    if normalize {
      // Hashed as it is made, a piece at a time: a long text's key is never held whole.
      let state = keyHashState
      XXH3_128bits_reset(state)
      normalizer.forEachKeyPiece(bytes) { piece in _ = XXH3_128bits_update(state, piece.baseAddress, piece.count) }
      let h = XXH3_128bits_digest(state)
      return Hash128(low: h.low64, high: h.high64)
    }
    return XXH3.hash128(bytes)
  }

  /// Only a keyed field can be missing; the text is always there.
  public var mayLackKey: Bool { field != nil }

  public func verdictWithoutKey(_ doc: Document) -> Verdict { dropMissing ? .drop("field_missing") : .keep }

  public func process(_ doc: Document) -> Verdict {
    guard let h = key(doc) else { return verdictWithoutKey(doc) }
    return seen.insert(h).inserted ? .keep : .drop(duplicateReason)
  }
}
