import WinnowCore
import WinnowText

/// `exact_dedup` (in-process): drops documents whose key was seen before; the first
/// occurrence in input order wins. The key is the XXH3-128 hash of the text — optionally
/// normalised (NFKC, lower-cased, whitespace collapsed) — or of another field such as `url`.
/// Memory: one 16-byte hash per distinct document.
public final class ExactDedup: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "exact_dedup",
    summary: "Drop documents whose text (or another field) was seen before; first occurrence wins",
    parameters: [
      ParameterSpec("field", .string, help: "hash this field instead of the text (e.g. url)"),
      ParameterSpec(
        "normalize", .bool, default: .bool(false),
        help: "hash NFKC-normalised, lower-cased text with whitespace runs collapsed"),
      ParameterSpec(
        "missing", .choice(["keep", "drop"]), default: .string("keep"),
        help: "what to do with documents that lack the field"),
    ],
    seesAllDocuments: true,
    make: { (p, _) throws(WinnowError) in
      ExactDedup(field: p.string("field"), normalize: p.bool("normalize")!, dropMissing: p.string("missing") == "drop")
    })

  let field: String?
  let normalize: Bool
  let dropMissing: Bool
  var seen = Set<Hash128>()
  let fieldBuffer = ByteBuffer()
  var normalizer = DedupKeyNormalizer()
  var normalized: [UInt8] = []

  public init(field: String?, normalize: Bool, dropMissing: Bool) {
    self.field = field
    self.normalize = normalize
    self.dropMissing = dropMissing
  }

  public func process(_ doc: Document) -> Verdict {
    var bytes = doc.text
    if let field {
      // A null value is a missing value (as in `field` and for ids), not a key that every
      // document with a null field would share.
      guard doc.fieldBytes(field, into: fieldBuffer), !(fieldBuffer.count == 4 && doc.field(field) == .null) else {
        return dropMissing ? .drop("field_missing") : .keep
      }
      bytes = fieldBuffer.bytes
    }
    let h: Hash128
    if normalize {
      normalized.removeAll(keepingCapacity: true)
      normalizer.normalize(bytes, into: &normalized)
      h = normalized.withUnsafeBufferPointer { XXH3.hash128($0) }
    } else {
      h = XXH3.hash128(bytes)
    }
    return seen.insert(h).inserted ? .keep : .drop("duplicate")
  }
}

/// The stages of this family, for the registry.
public enum Dedup {
  public static let descriptors: [StageDescriptor] = [ExactDedup.descriptor]
}
