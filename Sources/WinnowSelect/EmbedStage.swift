import WinnowCore
import WinnowFastText

/// `embed`: writes each document's vector to a field, for the clustering and selection stages
/// after it and for tools downstream. Vectors come from
///
/// - `method: fasttext`: a fastText model's sentence vector of the document's text read as one
///   line (newlines as spaces), exactly as `fasttext print-sentence-vectors` computes it: for a
///   word-vector model (skipgram, cbow) the mean of the unit-length word vectors, for a
///   classifier the mean of the input rows it sums to predict;
/// - `method: hashed`: no model — TF-IDF-weighted hashed word n-grams projected to `dims`
///   dimensions (`HashedTFIDFProjection`), unit length;
/// - `method: field`: a vector the document already carries (`embedding_field`: a JSON array
///   of numbers, or a field `embed` wrote), checked for its length and finite values.
///
/// A document whose vector cannot be read is dropped with the reason (`embedding_missing`,
/// `embedding_malformed`, `embedding_wrong_length`, `embedding_not_finite`). Vectors are
/// written as base64 float32 (`f32`, exact) or float16 (`f16`), or as a JSON array (`json`):
/// see `EmbeddingField`.
public final class EmbedStage: DocumentStage {
  /// The recipe name, parameters and factories.
  public static let descriptor = StageDescriptor(
    name: "embed",
    summary: "Write each document's vector (fastText sentence vector, or a checked vector field) to a field",
    role: .transform,
    parameters: [
      ParameterSpec("method", .choice(["fasttext", "hashed", "field"]), default: .string("fasttext"), help: "where vectors come from: a fastText model, hashed TF-IDF n-grams, or a field"),
      ParameterSpec("model", .string, file: .reads, help: "fastText model (.bin or .ftz; word vectors or a classifier) for method fasttext"),
      ParameterSpec("embedding_field", .string, help: "for method field: the field holding the vector (JSON array, or f32:/f16: base64)"),
      ParameterSpec("dims", .int(min: 1, max: 1 << 20), help: "method field: the length every vector must have; method hashed: the projection's length (default 256)"),
      ParameterSpec("ngrams", .int(min: 1, max: 5), default: .int(2), help: "method hashed: word n-grams from 1 to this"),
      ParameterSpec("buckets", .int(min: 1, max: 1 << 26), default: .int(1 << 20), help: "method hashed: hash buckets of the n-grams"),
      ParameterSpec("idf_corpus", .scalarList, file: .reads, help: "method hashed: JSON Lines documents (a sample of the corpus) the document frequencies are counted on (default: no IDF weighting)"),
      ParameterSpec("idf_text_field", .string, default: .string("text"), help: "method hashed: the idf_corpus field holding the text"),
      ParameterSpec("seed", .int(min: 0, max: nil), default: .int(0), help: "method hashed: seed of the random projection (the same seed gives comparable vectors)"),
      ParameterSpec("key", .string, default: .string("embedding"), help: "field the vector is written to"),
      ParameterSpec(
        "encoding", .choice(EmbeddingEncoding.allCases.map(\.rawValue)), default: .string("f32"),
        help: "f32: base64 float32 (exact); f16: base64 float16 (half the size); json: array of numbers"),
      ParameterSpec("normalize", .bool, default: .bool(false), help: "divide each vector by its length (zero vectors stay zero)"),
    ],
    make: { (p, _) throws(WinnowError) in try EmbedStage(p) })

  enum Source {
    case fastText(FastTextVectors, FastTextPredictor?)
    case hashed(HashedTFIDFProjection)
    case field(String, dims: Int)
  }

  var source: Source
  let key: String
  let encoding: EmbeddingEncoding
  let normalize: Bool
  var vector: [Float] = []
  var scratch: [UInt8] = []
  var out: [UInt8] = []

  init(_ p: StageParameters) throws(WinnowError) {
    key = p.string("key")!
    encoding = EmbeddingEncoding(rawValue: p.string("encoding")!)!
    normalize = p.bool("normalize")!
    if p.string("method") == "hashed" {
      var projection = HashedTFIDFProjection(
        dims: p.int("dims") ?? 256, ngrams: p.int("ngrams")!, buckets: p.int("buckets")!, seed: UInt64(p.int("seed")!))
      if let corpus = p.list("idf_corpus"), !corpus.isEmpty {
        try projection.countDocumentFrequencies(files: corpus, textField: p.string("idf_text_field")!)
      }
      source = .hashed(projection)
    } else if p.string("method") == "field" {
      guard let field = p.string("embedding_field") else {
        throw .usage("stage 'embed': method field needs embedding_field (the field that holds each document's vector)")
      }
      guard let dims = p.int("dims") else {
        throw .usage("stage 'embed': method field needs dims (the length every vector must have)")
      }
      source = .field(field, dims: dims)
    } else {
      guard let path = p.string("model") else { throw .usage("stage 'embed': method fasttext needs model (a .bin or .ftz file)") }
      let model: FastTextModel
      do { model = try FastTextModel.load(path: path, allowingUnsupervised: true) } catch { throw .io("stage 'embed': \(error.message)") }
      source = .fastText(FastTextVectors(model), model.kind == .supervised ? FastTextPredictor(model) : nil)
    }
  }

  /// The length of the vectors this stage writes.
  public var dimensions: Int {
    switch source {
    case .fastText(let v, _): return v.dimension
    case .hashed(let h): return h.dims
    case .field(_, let dims): return dims
    }
  }

  var isHashed: Bool {
    if case .hashed = source { return true }
    return false
  }

  public func process(_ doc: Document) -> Verdict {
    switch source {
    case .fastText(var vectors, var predictor):
      // The source is taken out while it works, so that its buffers are not copied.
      source = .field("", dims: 0)
      defer { source = .fastText(vectors, predictor) }
      if vector.count != vectors.dimension { vector = [Float](repeating: 0, count: vectors.dimension) }
      vector.withUnsafeMutableBufferPointer { v in
        if predictor != nil {
          predictor!.documentVector(doc.text, into: v.baseAddress!)
        } else {
          vectors.sentenceVector(words: doc.text, into: v.baseAddress!)
        }
      }
    case .hashed(var projection):
      source = .field("", dims: 0)
      defer { source = .hashed(projection) }
      projection.embed(doc.text, into: &vector)
    case .field(let name, let dims):
      if let problem = EmbeddingField.read(doc.field(name), dims: dims, into: &vector, scratch: &scratch) {
        return .drop(problem.rawValue)
      }
    }
    if normalize || isHashed {
      var sum: Double = 0
      for x in vector { sum += Double(x) * Double(x) }
      if sum > 0 {
        let inv = Float(1 / sum.squareRoot())
        for j in vector.indices { vector[j] *= inv }
      }
    }
    out.removeAll(keepingCapacity: true)
    vector.withUnsafeBufferPointer { EmbeddingField.append($0, as: encoding, to: &out) }
    doc.annotate(key, jsonBytes: out)
    return .keep
  }
}
