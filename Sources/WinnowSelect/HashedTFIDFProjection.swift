import Glibc
import WinnowCore

/// Document vectors without a model: the document's word n-grams (1…`ngrams`, DSIR's
/// `wordpunct` tokens lower-cased, hashed to `buckets` buckets by SHA-256 as
/// `HashedNGramFeaturizer` does), each weighted by sublinear TF-IDF
/// w = (1 + ln tf) · idf, idf = ln((1 + N) / (1 + df)) + 1 (scikit-learn's smooth IDF; 1 when
/// no document frequencies were counted), and projected to `dims` dimensions by a seeded
/// sparse random projection (Achlioptas 2003): column f of the projection is drawn from
/// splitmix64 started at `seed` ⊕ f·0x9E3779B97F4A7C15, one byte u per dimension: +√3 when
/// u < 43, −√3 when u < 86, else 0 (about one entry in three non-zero). The same text, seed and
/// settings give the same vector on every machine; the `embed` stage then scales it to unit
/// length, so cosine similarity approximates that of the TF-IDF vectors.
public struct HashedTFIDFProjection: Sendable {
  /// Values per vector.
  public let dims: Int
  /// Word n-grams from 1 to this.
  public let ngrams: Int
  /// Hash buckets of the n-grams.
  public let buckets: Int
  /// Seed of the random projection.
  public let seed: UInt64
  /// Per bucket, its IDF (empty: every IDF is 1).
  public private(set) var idf: [Float] = []
  /// Documents the document frequencies were counted on.
  public private(set) var idfDocuments = 0
  var featurizer: HashedNGramFeaturizer
  var features: [Int] = []

  /// A projection to `dims` values of n-grams 1…`ngrams` in `buckets` buckets, seeded by `seed` (IDF 1 until `countDocumentFrequencies`).
  public init(dims: Int, ngrams: Int = 2, buckets: Int = 1 << 20, seed: UInt64 = 0) {
    precondition(dims >= 1 && ngrams >= 1 && buckets >= 1)
    self.dims = dims
    self.ngrams = ngrams
    self.buckets = buckets
    self.seed = seed
    featurizer = HashedNGramFeaturizer(ngrams: ngrams, buckets: buckets)
  }

  /// Counts, for every bucket, the documents of `files` (JSON Lines; `textField` holds the
  /// text) it occurs in, and sets the IDFs from them.
  public mutating func countDocumentFrequencies(files: [String], textField: String) throws(WinnowError) {
    var df = [UInt32](repeating: 0, count: buckets)
    var documents = 0
    let doc = Document(fields: DocumentFields(text: textField))
    var seen: [Int] = []
    for path in files {
      try forEachLine(ofFile: path, cannotRead: "stage 'embed': cannot read the idf corpus: ") { (line, number) throws(WinnowError) in
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        do throws(JSONScanError) { try doc.load(line: line, source: path, lineNumber: number) } catch {
          throw .io("\(path):\(number): \(error.reason.rawValue) at byte \(error.offset) (stage 'embed' idf corpus)")
        }
        seen.removeAll(keepingCapacity: true)
        featurizer.features(doc.text) { seen.append($0) }
        seen.sort()
        var last = -1
        for f in seen where f != last {
          df[f] &+= 1
          last = f
        }
        documents += 1
      }
    }
    idfDocuments = documents
    let n = Double(documents)
    idf = df.map { Float(Glibc.log((1 + n) / (1 + Double($0))) + 1) }
  }

  /// The document's vector (not yet unit length) into `v` (resized to `dims`).
  public mutating func embed(_ text: UnsafeBufferPointer<UInt8>, into v: inout [Float]) {
    if v.count != dims { v = [Float](repeating: 0, count: dims) }
    var acc = [Double](repeating: 0, count: dims)
    features.removeAll(keepingCapacity: true)
    featurizer.features(text) { features.append($0) }
    features.sort()
    let root3 = Double(3).squareRoot()
    var i = 0
    while i < features.count {
      let f = features[i]
      var tf = 0
      while i < features.count && features[i] == f {
        tf += 1
        i += 1
      }
      let w = (1 + Glibc.log(Double(tf))) * (idf.isEmpty ? 1 : Double(idf[f]))
      var state = seed ^ (UInt64(f) &* 0x9E37_79B9_7F4A_7C15)
      var j = 0
      while j < dims {
        var z = KMeans.splitmix(state)
        state = state &+ 0x9E37_79B9_7F4A_7C15
        for _ in 0..<8 where j < dims {
          let u = z & 0xFF
          if u < 43 { acc[j] += w * root3 } else if u < 86 { acc[j] -= w * root3 }
          z >>= 8
          j += 1
        }
      }
    }
    for j in 0..<dims { v[j] = Float(acc[j]) }
  }
}
