/// Word and sentence vectors, nearest neighbours and analogies, computed as the fastText 0.9.2
/// CLI computes them (`FastText::getWordVector`, `getSentenceVector`, `getNN`,
/// `getAnalogies`): the same float32 sums in the same order, so that what `winnow fasttext
/// print-word-vectors`, `print-sentence-vectors`, `nn` and `analogies` print is what `fasttext`
/// prints, and the `embed` stage's vectors are fastText's sentence vectors.
public struct FastTextVectors {
  /// The model whose input rows make the vectors.
  public let model: FastTextModel
  /// The vector length (the model's `dim`).
  public let dimension: Int
  var rows: [Int32] = []
  var scratch: [UInt8] = []
  var wordBuffer: [Float]
  var hashes: [Int32] = []
  var labels: [Int32] = []
  var tokens: [(Int, Int)] = []
  /// Every word's vector divided by its norm, computed on first use (`precomputeWordVectors`).
  var normalizedWords: [Float]? = nil

  /// Vectors of `model` (a classifier or a word-vector model).
  public init(_ model: FastTextModel) {
    self.model = model
    dimension = Int(model.args.dim)
    wordBuffer = [Float](repeating: 0, count: Int(model.args.dim))
  }

  /// Whitespace as `std::istream >> std::string` splits words in the C locale (NUL is not).
  @inline(__always)
  public static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

  /// The input rows of `word` (`Dictionary::getSubwords(const std::string&)`): a known word's
  /// own row and char n-grams, an unknown word's char n-grams (none for `</s>`), none for a
  /// label.
  static func appendRows(
    _ d: FastTextDictionary, of word: UnsafeBufferPointer<UInt8>, to out: inout [Int32], scratch: inout [UInt8]
  ) {
    if let base = word.baseAddress, let id = d.id(word, 0, word.count, hash: FastTextDictionary.hash(base, word.count)) {
      // A label has no vector (fastText 0.9.2 stops on an assertion there).
      if Int(id) < d.nwords { out += d.subwords(Int(id)) }
    } else if !FastTextDictionary.isEOSText(word, 0, word.count) {
      d.appendCharNgramRows(word, scratch: &scratch, into: &out)
    }
  }

  /// `v` ← the vector of `word`: the mean of its input rows, zero when it has none.
  public mutating func wordVector(_ word: UnsafeBufferPointer<UInt8>, into v: UnsafeMutablePointer<Float>) {
    rows.removeAll(keepingCapacity: true)
    Self.appendRows(model.dictionary, of: word, to: &rows, scratch: &scratch)
    meanOfRows(into: v)
  }

  /// `v` ← the mean of the rows in `rows` (`vec.mul(1.0 / n)` after the float32 sum).
  mutating func meanOfRows(into v: UnsafeMutablePointer<Float>) {
    v.update(repeating: 0, count: dimension)
    guard !rows.isEmpty else { return }
    rows.withUnsafeBufferPointer { model.input.addRows($0, to: v) }
    let inv = Float(1.0 / Double(rows.count))
    for j in 0..<dimension { v[j] *= inv }
  }

  /// `Vector::norm`: the square root of a float32 sum of squares.
  @inline(__always)
  static func norm(_ v: UnsafePointer<Float>, _ n: Int) -> Float {
    var sum: Float = 0
    for j in 0..<n { sum += v[j] * v[j] }
    return sum.squareRoot()
  }

  /// The sentence vector of one line of a word-vector model (`getSentenceVector`, cbow and
  /// skipgram): the mean of the line's word vectors, each divided by its norm; words without a
  /// vector (norm 0) are left out. `line` holds no newline; words are split at whitespace.
  public mutating func sentenceVector(words line: UnsafeBufferPointer<UInt8>, into s: UnsafeMutablePointer<Float>) {
    s.update(repeating: 0, count: dimension)
    var count = 0
    var i = 0
    let n = line.count
    var buffer: [Float] = []
    swap(&buffer, &wordBuffer)
    defer { swap(&buffer, &wordBuffer) }
    buffer.withUnsafeMutableBufferPointer { vb in
      let v = vb.baseAddress!
      while i < n {
        while i < n && Self.isSpace(line[i]) { i += 1 }
        guard i < n else { break }
        let start = i
        while i < n && !Self.isSpace(line[i]) { i += 1 }
        wordVector(UnsafeBufferPointer(rebasing: line[start..<i]), into: v)
        let norm = Self.norm(v, dimension)
        if norm > 0 {
          let inv = Float(1.0 / Double(norm))
          for j in 0..<dimension { s[j] += v[j] * inv }
          count += 1
        }
      }
    }
    if count > 0 {
      let inv = Float(1.0 / Double(count))
      for j in 0..<dimension { s[j] *= inv }
    }
  }

  /// The sentence vector of a classifier's line, given as tokens of `bytes`
  /// (`getSentenceVector`, supervised): the mean of the rows `predict` would sum (words,
  /// subwords, word n-grams).
  public mutating func sentenceVector(
    classifierLine bytes: UnsafeBufferPointer<UInt8>, tokens: [(Int, Int)], into s: UnsafeMutablePointer<Float>
  ) {
    model.dictionary.rows(
      bytes: bytes, tokens: tokens, wordNgrams: Int(model.args.wordNgrams), labelPrefix: model.labelPrefix, words: &rows,
      labels: &labels, hashes: &hashes)
    meanOfRows(into: s)
  }

  /// Appends what `fasttext print-sentence-vectors` prints for `bytes` (whole lines): one
  /// line of numbers per input line (per `</s>`-ended line for a classifier, as fastText reads
  /// them), calling `flush` when `out` holds more than 1 MiB.
  public mutating func appendSentenceVectors(
    lines bytes: [UInt8], to out: inout [UInt8], flush: (inout [UInt8]) throws -> Void
  ) rethrows {
    var vector = [Float](repeating: 0, count: dimension)
    if model.kind == .supervised {
      var reader = FastTextLineReader(bytes)
      while !reader.atEnd {
        reader.nextLine(into: &tokens)
        let t = tokens
        bytes.withUnsafeBufferPointer { p in
          vector.withUnsafeMutableBufferPointer { sentenceVector(classifierLine: p, tokens: t, into: $0.baseAddress!) }
        }
        Self.appendVector(vector, to: &out)
        out.append(0x0A)
        if out.count > 1 << 20 { try flush(&out) }
      }
      return
    }
    var start = 0
    while start < bytes.count {
      let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
      bytes.withUnsafeBufferPointer { p in
        vector.withUnsafeMutableBufferPointer {
          sentenceVector(words: UnsafeBufferPointer(rebasing: p[start..<end]), into: $0.baseAddress!)
        }
      }
      Self.appendVector(vector, to: &out)
      out.append(0x0A)
      if out.count > 1 << 20 { try flush(&out) }
      start = end + 1
    }
  }

  /// A vector as fastText prints one: each value as `%g` with 5 significant digits, then a
  /// space.
  public static func appendVector<C: Collection>(_ v: C, to out: inout [UInt8]) where C.Element == Float {
    for x in v {
      FastTextNumberFormat.append(Double(x), precision: 5, to: &out)
      out.append(0x20)
    }
  }

  /// Appends what `fasttext print-word-vectors` prints for the words of `bytes`: each word, a
  /// space and its vector.
  public mutating func appendWordVectors(text bytes: [UInt8], to out: inout [UInt8], flush: (inout [UInt8]) throws -> Void) rethrows {
    var vector = [Float](repeating: 0, count: dimension)
    var i = 0
    while i < bytes.count {
      while i < bytes.count && Self.isSpace(bytes[i]) { i += 1 }
      guard i < bytes.count else { break }
      let start = i
      while i < bytes.count && !Self.isSpace(bytes[i]) { i += 1 }
      let end = i
      bytes.withUnsafeBufferPointer { p in
        vector.withUnsafeMutableBufferPointer { wordVector(UnsafeBufferPointer(rebasing: p[start..<end]), into: $0.baseAddress!) }
      }
      out += bytes[start..<end]
      out.append(0x20)
      Self.appendVector(vector, to: &out)
      out.append(0x0A)
      if out.count > 1 << 20 { try flush(&out) }
    }
  }

  /// Every word's vector divided by its norm (rows of zeros for words without one).
  mutating func wordMatrix() -> [Float] {
    if let m = normalizedWords { return m }
    let nwords = model.dictionary.nwords
    var m = [Float](repeating: 0, count: nwords * dimension)
    var v = [Float](repeating: 0, count: dimension)
    for i in 0..<nwords {
      rows.removeAll(keepingCapacity: true)
      rows += model.dictionary.subwords(i)
      v.withUnsafeMutableBufferPointer { vb in
        meanOfRows(into: vb.baseAddress!)
        let norm = Self.norm(vb.baseAddress!, dimension)
        guard norm > 0 else { return }
        let a = Float(1.0 / Double(norm))
        m.withUnsafeMutableBufferPointer { mb in
          for j in 0..<dimension { mb[i * dimension + j] += a * vb[j] }
        }
      }
    }
    normalizedWords = m
    return m
  }

  /// A neighbour: a word id and its cosine similarity to the query.
  public struct Neighbour: Sendable {
    /// Cosine similarity to the query.
    public var similarity: Float
    /// The word's id in the dictionary.
    public var word: Int
  }

  /// The k words most similar to `query` by cosine (`FastText::getNN`), most similar first,
  /// leaving out the words in `banned`; ties fall as fastText's heap leaves them.
  public mutating func nearest(to query: [Float], k: Int, banned: [[UInt8]]) -> [Neighbour] {
    let m = wordMatrix()
    var queryNorm = query.withUnsafeBufferPointer { Self.norm($0.baseAddress!, dimension) }
    if abs(queryNorm) < 1e-8 { queryNorm = 1 }
    var heap: [Neighbour] = []
    heap.reserveCapacity(k + 1)
    let d = model.dictionary
    // comparePairs: l.first > r.first, so the heap's front is the least similar kept so far.
    let less: (Neighbour, Neighbour) -> Bool = { $0.similarity > $1.similarity }
    m.withUnsafeBufferPointer { mb in
      query.withUnsafeBufferPointer { q in
        for i in 0..<d.nwords {
          if banned.contains(where: { $0 == d.entries[i].word }) { continue }
          var dp: Float = 0
          let row = mb.baseAddress! + i * dimension
          for j in 0..<dimension { dp += row[j] * q[j] }
          let similarity = dp / queryNorm
          if heap.count == k && similarity < heap[0].similarity { continue }
          heap.append(Neighbour(similarity: similarity, word: i))
          heap.withUnsafeMutableBufferPointer { LibstdcxxSort.pushHeap($0, 0, $0.count, less) }
          if heap.count > k {
            heap.withUnsafeMutableBufferPointer { LibstdcxxSort.popHeap($0, 0, $0.count, less) }
            heap.removeLast()
          }
        }
      }
    }
    heap.withUnsafeMutableBufferPointer { LibstdcxxSort.sortHeap($0, 0, $0.count, less) }
    return heap
  }

  /// The vector of `word` as an array.
  public mutating func wordVector(_ word: [UInt8]) -> [Float] {
    var v = [Float](repeating: 0, count: dimension)
    word.withUnsafeBufferPointer { w in v.withUnsafeMutableBufferPointer { wordVector(w, into: $0.baseAddress!) } }
    return v
  }

  /// `fasttext nn`: the k nearest words of `word`, the word itself left out.
  public mutating func neighbours(of word: [UInt8], k: Int) -> [Neighbour] {
    nearest(to: wordVector(word), k: k, banned: [word])
  }

  /// `fasttext analogies`: the k words nearest to A − B + C (each unit length, up to 1e-8),
  /// the three words left out.
  public mutating func analogies(_ a: [UInt8], _ b: [UInt8], _ c: [UInt8], k: Int) -> [Neighbour] {
    var query = [Float](repeating: 0, count: dimension)
    for (word, sign) in [(a, 1.0), (b, -1.0), (c, 1.0)] {
      let v = wordVector(word)
      let norm = v.withUnsafeBufferPointer { Self.norm($0.baseAddress!, dimension) }
      let s = Float(sign / (Double(norm) + 1e-8))
      for j in 0..<dimension { query[j] += s * v[j] }
    }
    return nearest(to: query, k: k, banned: [a, b, c])
  }

  /// Appends neighbours as `nn` and `analogies` print them: a line per word, the word, a
  /// space and its similarity with six significant digits.
  public func appendNeighbours(_ list: [Neighbour], to out: inout [UInt8]) {
    for n in list {
      out += model.dictionary.entries[n.word].word
      out.append(0x20)
      FastTextNumberFormat.append(Double(n.similarity), precision: 6, to: &out)
      out.append(0x0A)
    }
  }
}

extension FastTextModel {
  /// The `.output` file of `-saveOutput`: the output matrix's rows, each under its label (a
  /// classifier) or word (word vectors), printed as the `.vec` file is.
  public func outputVectorsText() throws(FastTextError) -> [UInt8] {
    guard case .dense(let m) = output else { throw FastTextError("-saveOutput is not supported for quantized models") }
    let supervised = kind == .supervised
    let n = supervised ? dictionary.nlabels : dictionary.nwords
    var out = Array("\(n) \(args.dim)\n".utf8)
    m.data.withUnsafeBufferPointer { d in
      for i in 0..<n {
        out += dictionary.entries[supervised ? dictionary.nwords + i : i].word
        out.append(0x20)
        FastTextVectors.appendVector(UnsafeBufferPointer(rebasing: d[i * m.columns..<(i + 1) * m.columns]), to: &out)
        out.append(0x0A)
      }
    }
    return out
  }
}
