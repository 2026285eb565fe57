import Glibc

/// Splits fastText input into lines of tokens exactly as `Dictionary::readWord` and
/// `getLine` do: bytes separated by space, \n, \r, \t, \v, \f and NUL; a newline is the token
/// `</s>`, which ends a line (a literal `</s>` in the text too); a last line without a newline
/// has no `</s>`.
public struct FastTextLineReader {
  let bytes: [UInt8]
  var pos = 0
  var pendingEOS = false

  public init(_ bytes: [UInt8]) { self.bytes = bytes }

  public var atEnd: Bool { pos >= bytes.count && !pendingEOS }

  /// Back to the start of the text (`Dictionary::reset` after the end of the file).
  mutating func rewind() {
    pos = 0
    pendingEOS = false
  }

  @inline(__always)
  static func isSeparator(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 || b == 0x0B || b == 0x0C || b == 0x00
  }

  /// The next token as a byte range, `eosToken` for `</s>` (a newline), nil at the end.
  mutating func readToken() -> (Int, Int)? {
    if pendingEOS {
      // The newline was "pushed back": it is consumed now, as the end of the line.
      pendingEOS = false
      pos += 1
      return Self.eosToken
    }
    var start = -1
    while pos < bytes.count {
      let c = bytes[pos]
      if Self.isSeparator(c) {
        if start < 0 {
          pos += 1
          if c == 0x0A { return Self.eosToken }
          continue
        }
        if c == 0x0A {
          pendingEOS = true
          return (start, pos)
        }
        pos += 1
        return (start, pos - 1)
      }
      if start < 0 { start = pos }
      pos += 1
    }
    return start >= 0 ? (start, pos) : nil
  }

  /// Stands for a `</s>` made by a newline (a literal `</s>` is a range holding those bytes).
  public static let eosToken = (-1, -1)

  /// The next line's tokens as byte ranges of `bytes` (`eosToken` for a newline's `</s>`),
  /// replacing `out`'s contents; a line ends after its first `</s>`, literal ones included.
  public mutating func nextLine(into out: inout [(Int, Int)]) {
    out.removeAll(keepingCapacity: true)
    while let t = readToken() {
      out.append(t)
      if t == Self.eosToken || (t.1 - t.0 == 4 && bytes[t.0] == 0x3C && bytes[t.0 + 1] == 0x2F && bytes[t.0 + 2] == 0x73 && bytes[t.0 + 3] == 0x3E) {
        break
      }
    }
  }

  /// The tokens of the next line, `</s>` included when it was read.
  public mutating func nextLine() -> [[UInt8]] {
    var ranges: [(Int, Int)] = []
    nextLine(into: &ranges)
    return ranges.map { $0 == Self.eosToken ? FastTextDictionary.eos : Array(bytes[$0.0..<$0.1]) }
  }

  public var buffer: [UInt8] { bytes }
}

/// Predicts labels for lines of text with a model, as fastText 0.9.2's `predict` and
/// `predict-prob` do, down to the float32 rounding, the sigmoid table, the heap's tie order and
/// the printed `p + 1e-5`.
public struct FastTextPredictor {
  public let model: FastTextModel
  var words: [Int32] = []
  var labels: [Int32] = []
  var hashes: [Int32] = []
  var hidden: [Float]
  var scores: [Float]
  static let sigmoidTable: [Float] = (0...512).map { i in
    let x = Float(Float(i * 16) / 512) - 8
    return Float(1.0 / (1.0 + Double(expf(-x))))
  }
  // Huffman tree for hs: children and the number of labels.
  var left: [Int32] = []
  var right: [Int32] = []

  public init(_ model: FastTextModel) {
    self.model = model
    hidden = [Float](repeating: 0, count: Int(model.args.dim))
    scores = [Float](repeating: 0, count: model.dictionary.nlabels)
    if model.loss == .hs { buildTree() }
  }

  mutating func buildTree() {
    let counts = (0..<model.dictionary.nlabels).map { model.dictionary.entries[model.dictionary.nwords + $0].count }
    let tree = HuffmanTree(counts: counts)
    left = tree.left
    right = tree.right
  }

  @inline(__always)
  static func sigmoid(_ x: Float) -> Float {
    // `!(x >= -8)` rather than `x < -8`: NaN (a model's NaN weights) must not become an index.
    if !(x >= -8) { return 0 }
    if x > 8 { return 1 }
    let i = Int(Float(Float(Float(x + 8) * 512) / 8) / 2)
    return sigmoidTable[i]
  }

  @inline(__always)
  static func stdLog(_ x: Float) -> Float { Float(log(Double(x) + 1e-5)) }

  /// One prediction: label index and score (log(p + 1e-5)); the printed probability is
  /// `expf(score)`.
  public struct Prediction: Sendable {
    public var label: Int
    public var score: Float
    public var probability: Float { expf(score) }
  }

  /// Predicts the top `k` labels (k = -1: all) at or above `threshold` for one line's tokens.
  /// Empty when the line has no input rows.
  public mutating func predict(tokens: [[UInt8]], k: Int, threshold: Float) -> [Prediction] {
    var bytes: [UInt8] = []
    var ranges: [(Int, Int)] = []
    for t in tokens {
      ranges.append((bytes.count, bytes.count + t.count))
      bytes += t
    }
    return predict(bytes: bytes, tokens: ranges, k: k, threshold: threshold)
  }

  /// Predicts for one line given as byte ranges of `bytes` (`FastTextLineReader.nextLine(into:)`).
  public mutating func predict(bytes: [UInt8], tokens: [(Int, Int)], k: Int, threshold: Float) -> [Prediction] {
    bytes.withUnsafeBufferPointer { b in
      model.dictionary.rows(
        bytes: b, tokens: tokens, wordNgrams: Int(model.args.wordNgrams), labelPrefix: model.labelPrefix, words: &words,
        labels: &labels, hashes: &hashes)
    }
    return predict(rows: words, k: k, threshold: threshold)
  }

  /// One line's input rows and its known labels (label indices), as `getLine` reads them.
  public mutating func rowsAndLabels(bytes: [UInt8], tokens: [(Int, Int)]) -> (rows: [Int32], labels: [Int32]) {
    bytes.withUnsafeBufferPointer { b in
      model.dictionary.rows(
        bytes: b, tokens: tokens, wordNgrams: Int(model.args.wordNgrams), labelPrefix: model.labelPrefix, words: &words,
        labels: &labels, hashes: &hashes)
    }
    return (words, labels)
  }

  public mutating func predict(rows: [Int32], k: Int, threshold: Float) -> [Prediction] {
    guard !rows.isEmpty, model.dictionary.nlabels > 0 else { return [] }
    let dim = hidden.count
    let input = model.input
    hidden.withUnsafeMutableBufferPointer { h in
      for j in 0..<dim { h[j] = 0 }
      rows.withUnsafeBufferPointer { rs in input.addRows(rs, to: h.baseAddress!) }
    }
    return scoreHidden(rowCount: rows.count, k: k, threshold: threshold)
  }

  /// Predicts for one document's text read as one fastText line — newlines as spaces, then
  /// `</s>`, as datatrove and DCLM feed a document — exactly as `predict(bytes:tokens:)` on that
  /// line (the same float32 additions in the same order), without a copy of the text, its token
  /// list or all its rows (several a word with character n-grams): rows are summed into the
  /// hidden vector in batches of about `rowBatch` as the text is read, and only the words'
  /// hashes (4 bytes a word, for the word n-grams) are kept to the end.
  public mutating func predict(documentText text: UnsafeBufferPointer<UInt8>, k: Int, threshold: Float) -> [Prediction] {
    guard model.dictionary.nlabels > 0 else { return [] }
    let count = sumRows(documentText: text)
    guard count > 0 else { return [] }
    return scoreHidden(rowCount: count, k: k, threshold: threshold)
  }

  /// The document's vector as `print-sentence-vectors` computes it for a classifier and the
  /// text on one line: the mean of the rows `predict(documentText:)` sums (zeros when there
  /// are none). `v` holds `dim` floats.
  public mutating func documentVector(_ text: UnsafeBufferPointer<UInt8>, into v: UnsafeMutablePointer<Float>) {
    let count = sumRows(documentText: text)
    let inv = Float(1.0 / Double(max(count, 1)))
    hidden.withUnsafeBufferPointer { h in
      for j in 0..<h.count { v[j] = count > 0 ? h[j] * inv : 0 }
    }
  }

  /// Sums the rows of the document's text, read as one line, into `hidden`; returns how many.
  mutating func sumRows(documentText text: UnsafeBufferPointer<UInt8>) -> Int {
    let dictionary = model.dictionary
    let labelPrefix = model.labelPrefix
    let wordNgrams = Int(model.args.wordNgrams)
    hashes.removeAll(keepingCapacity: true)
    labels.removeAll(keepingCapacity: true)
    words.removeAll(keepingCapacity: true)
    var scratch: [UInt8] = []
    var count = 0
    hidden.withUnsafeMutableBufferPointer { h in for j in 0..<h.count { h[j] = 0 } }
    var pos = 0
    var endedByLiteralEOS = false
    while pos < text.count {
      // Tokens as FastTextLineReader cuts them, a newline being one more separator.
      while pos < text.count && FastTextLineReader.isSeparator(text[pos]) { pos += 1 }
      guard pos < text.count else { break }
      let start = pos
      while pos < text.count && !FastTextLineReader.isSeparator(text[pos]) { pos += 1 }
      if let hash = dictionary.appendTokenRows(
        text, start, pos, labelPrefix: labelPrefix, rows: &words, labels: &labels, scratch: &scratch)
      {
        hashes.append(hash)
      }
      if words.count >= Self.rowBatch { count += addRows() }
      // A literal `</s>` ends the line, as it does for getLine.
      if FastTextDictionary.isEOSText(text, start, pos) {
        endedByLiteralEOS = true
        break
      }
    }
    if !endedByLiteralEOS,
      let hash = dictionary.appendTokenRows(text, -1, -1, labelPrefix: labelPrefix, rows: &words, labels: &labels, scratch: &scratch)
    {
      hashes.append(hash)
    }
    if wordNgrams > 1 && dictionary.bucket > 0 {
      var local = hashes
      local.withUnsafeBufferPointer { hs in
        for i in 0..<hs.count {
          dictionary.appendWordNgramRows(hs, startingAt: i, wordNgrams: wordNgrams, into: &words)
          if words.count >= Self.rowBatch { count += addRows() }
        }
      }
      local = []
    }
    count += addRows()
    // An outsized document's hashes are given back rather than kept for the next one.
    if hashes.capacity > 1 << 22 { hashes = [] }
    return count
  }

  /// Rows summed into the hidden vector at a time by `predict(documentText:)`.
  static let rowBatch = 1 << 14

  /// Adds the rows listed in `words` to the hidden vector, in order, and empties the list;
  /// returns how many there were.
  mutating func addRows() -> Int {
    let n = words.count
    guard n > 0 else { return 0 }
    let input = model.input
    hidden.withUnsafeMutableBufferPointer { h in
      words.withUnsafeBufferPointer { rs in input.addRows(rs, to: h.baseAddress!) }
    }
    words.removeAll(keepingCapacity: true)
    return n
  }

  /// Averages the summed rows in `hidden` and scores the labels.
  mutating func scoreHidden(rowCount: Int, k kIn: Int, threshold: Float) -> [Prediction] {
    let k = kIn == -1 ? model.dictionary.nlabels : kIn
    let dim = hidden.count
    let output = model.output
    hidden.withUnsafeMutableBufferPointer { h in
      let inv = Float(1.0 / Double(rowCount))
      for j in 0..<dim { h[j] *= inv }
    }
    var heap: [(Float, Int)] = []
    // k comes from the caller and may be far above the number of labels.
    heap.reserveCapacity(min(k, model.dictionary.nlabels) + 1)
    switch model.loss {
    case .softmax, .ova, .ns:
      let n = model.dictionary.nlabels
      hidden.withUnsafeBufferPointer { h in
        scores.withUnsafeMutableBufferPointer { s in
          for i in 0..<n { s[i] = output.dotRow(i, h.baseAddress!) }
          if model.loss == .softmax {
            var mx = s[0]
            for i in 1..<n where s[i] > mx { mx = s[i] }
            var z: Float = 0
            for i in 0..<n {
              s[i] = Float(exp(Double(s[i] - mx)))
              z += s[i]
            }
            for i in 0..<n { s[i] /= z }
          } else {
            for i in 0..<n { s[i] = Self.sigmoid(s[i]) }
          }
        }
      }
      for i in 0..<n {
        let p = scores[i]
        if p < threshold { continue }
        let lp = Self.stdLog(p)
        if heap.count == k && lp < heap[0].0 { continue }
        heap.append((lp, i))
        Heap.push(&heap)
        if heap.count > k {
          Heap.pop(&heap, heap.count)
          heap.removeLast()
        }
      }
    case .hs:
      let osz = model.dictionary.nlabels
      if osz == 1 {
        heap.append((0, 0))
      } else {
        hidden.withUnsafeBufferPointer { h in
          dfs(k: k, threshold: threshold, node: 2 * osz - 2, score: 0, heap: &heap, hidden: h.baseAddress!)
        }
      }
    }
    Heap.sort(&heap)
    return heap.map { Prediction(label: $0.1, score: $0.0) }
  }

  func dfs(k: Int, threshold: Float, node: Int, score: Float, heap: inout [(Float, Int)], hidden: UnsafePointer<Float>) {
    if score < Self.stdLog(threshold) { return }
    if heap.count == k && score < heap[0].0 { return }
    let osz = model.dictionary.nlabels
    if left[node] == -1 && right[node] == -1 {
      heap.append((score, node))
      Heap.push(&heap)
      if heap.count > k {
        Heap.pop(&heap, heap.count)
        heap.removeLast()
      }
      return
    }
    var f = model.output.dotRow(node - osz, hidden)
    f = Float(1.0 / Double(1 + expf(-f)))
    dfs(k: k, threshold: threshold, node: Int(left[node]), score: score + Self.stdLog(1 - f), heap: &heap, hidden: hidden)
    dfs(k: k, threshold: threshold, node: Int(right[node]), score: score + Self.stdLog(f), heap: &heap, hidden: hidden)
  }

  /// The label text of a prediction.
  public func label(_ p: Prediction) -> [UInt8] { model.dictionary.entries[model.dictionary.nwords + p.label].word }
}

/// hs's tree over the labels (`HierarchicalSoftmaxLoss::buildTree`): leaves 0..<n are the
/// labels (by id, so by descending count), internal nodes n..<2n-1 each join the two lightest
/// nodes, and on a tie an internal node is taken before a leaf. Internal node i uses output
/// row i - n; the right child has code 1.
struct HuffmanTree {
  var left: [Int32]
  var right: [Int32]
  var parent: [Int32]
  var binary: [Bool]

  /// The weight of a node not built yet: a leaf is taken before it only when lighter, so
  /// every label count must be below it (`StoredDictionary.validateForLoss`).
  static let unbuiltCount: Int64 = 1_000_000_000_000_000
  /// Prediction walks the tree recursively, so its depth is bounded. Trained counts are at
  /// least 1, and a node's weight then grows at least like the Fibonacci numbers with its
  /// height: counts below 10^15 give about 120 levels at most. Zero counts can chain every
  /// label; a tree deeper than this comes from a damaged file.
  static let maximumDepth = 1024

  init(counts: [Int64]) {
    let osz = counts.count
    let nodes = max(0, 2 * osz - 1)
    var count = [Int64](repeating: Self.unbuiltCount, count: nodes)
    left = [Int32](repeating: -1, count: nodes)
    right = [Int32](repeating: -1, count: nodes)
    parent = [Int32](repeating: -1, count: nodes)
    binary = [Bool](repeating: false, count: nodes)
    for i in 0..<osz { count[i] = counts[i] }
    var leaf = osz - 1
    var node = osz
    for i in osz..<max(osz, nodes) {
      var pick = [0, 0]
      for j in 0..<2 {
        if leaf >= 0 && count[leaf] < count[node] {
          pick[j] = leaf
          leaf -= 1
        } else {
          pick[j] = node
          node += 1
        }
      }
      left[i] = Int32(pick[0])
      right[i] = Int32(pick[1])
      // Wrapping: counts from a file may add up past Int64.max; only the order of the
      // picks depends on them, and each pick is a node already built.
      count[i] = count[pick[0]] &+ count[pick[1]]
      parent[pick[0]] = Int32(i)
      parent[pick[1]] = Int32(i)
      binary[pick[1]] = true
    }
  }

  /// The number of edges on the longest path from the root to a leaf. A parent is built
  /// after its children, so it has the higher index.
  var depth: Int {
    var level = [Int](repeating: 0, count: parent.count)
    var deepest = 0
    for i in stride(from: parent.count - 1, through: 0, by: -1) where parent[i] >= 0 {
      level[i] = level[Int(parent[i])] + 1
      deepest = max(deepest, level[i])
    }
    return deepest
  }

  /// Label `i`'s path to the root: the internal nodes as output rows, and the codes.
  func path(_ i: Int) -> (rows: [Int32], codes: [Bool]) {
    let osz = (left.count + 1) / 2
    var rows: [Int32] = []
    var codes: [Bool] = []
    var j = i
    while parent[j] != -1 {
      rows.append(parent[j] - Int32(osz))
      codes.append(binary[j])
      j = Int(parent[j])
    }
    return (rows, codes)
  }
}

/// libstdc++'s binary heap (`std::push_heap`, `pop_heap`, `sort_heap`) with fastText's
/// comparator `a.score > b.score`: the same operations give the same order of ties.
enum Heap {
  @inline(__always)
  static func comp(_ a: (Float, Int), _ b: (Float, Int)) -> Bool { a.0 > b.0 }

  static func pushHole(_ h: inout [(Float, Int)], _ holeIn: Int, _ top: Int, _ value: (Float, Int)) {
    var hole = holeIn
    var parent = (hole - 1) / 2
    while hole > top && comp(h[parent], value) {
      h[hole] = h[parent]
      hole = parent
      parent = (hole - 1) / 2
    }
    h[hole] = value
  }

  /// push_heap over the whole array (the new value is last).
  static func push(_ h: inout [(Float, Int)]) {
    let v = h[h.count - 1]
    pushHole(&h, h.count - 1, 0, v)
  }

  static func adjust(_ h: inout [(Float, Int)], _ holeIn: Int, _ len: Int, _ value: (Float, Int)) {
    let top = holeIn
    var hole = holeIn
    var second = holeIn
    while second < (len - 1) / 2 {
      second = 2 * (second + 1)
      if comp(h[second], h[second - 1]) { second -= 1 }
      h[hole] = h[second]
      hole = second
    }
    if len & 1 == 0 && second == (len - 2) / 2 {
      second = 2 * (second + 1)
      h[hole] = h[second - 1]
      hole = second - 1
    }
    pushHole(&h, hole, top, value)
  }

  /// pop_heap over the first `len` elements: the top goes to position len - 1.
  static func pop(_ h: inout [(Float, Int)], _ len: Int) {
    guard len > 1 else { return }
    let last = len - 1
    let v = h[last]
    h[last] = h[0]
    adjust(&h, 0, last, v)
  }

  static func sort(_ h: inout [(Float, Int)]) {
    var len = h.count
    while len > 1 {
      pop(&h, len)
      len -= 1
    }
  }
}
