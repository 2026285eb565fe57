import Foundation
import Testing

@testable import WinnowFastText

/// Small valid models, as file bytes, that the hostile files are patched from: trained once per
/// test process.
enum HostileFixtures {
  struct Models {
    /// Dense, softmax, word bigrams (bucket 300), dim 16.
    var bigram: [UInt8]
    /// `bigram` quantized: pruned to 280 rows (so with a pruned-bucket map), qnorm.
    var pruned: [UInt8]
    /// Dense, hs, char n-grams of 2 and 3 characters (bucket 200), dim 4.
    var subwords: [UInt8]
    /// 300 words and 256 labels, random weights, quantized without pruning, output too (qout).
    var qout: [UInt8]
  }

  static let models: Result<Models, FastTextError> = Result { () throws(FastTextError) in try makeModels() }

  static func trainingText() -> [UInt8] {
    var lines: [String] = []
    for i in 0..<40 {
      lines.append("__label__pos good fine great nice w\(i % 9) line")
      lines.append("__label__neg bad awful poor grim w\(i % 7) line")
    }
    return Array((lines.joined(separator: "\n") + "\n").utf8)
  }

  static func makeModels() throws(FastTextError) -> Models {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-hostile-\(getpid())")
    let input = dir.appendingPathComponent("train.txt").path
    do {
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      try Data(trainingText()).write(to: URL(fileURLWithPath: input))
    } catch {
      throw FastTextError("cannot write the training text: \(error)")
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    var o = FastTextTrainingOptions()
    o.input = input
    o.dim = 16
    o.thread = 1
    o.lr = 0.5
    o.wordNgrams = 2
    o.bucket = 300
    let (bigram, _) = try FastTextTrainer.train(o)
    var q = FastTextQuantizeOptions()
    q.cutoff = 280
    q.qnorm = true
    let pruned = try bigram.quantized(q)
    o.dim = 4
    o.wordNgrams = 1
    o.minn = 2
    o.maxn = 3
    o.bucket = 200
    o.loss = .hs
    let (subwords, _) = try FastTextTrainer.train(o)
    return Models(
      bigram: bigram.serialized(), pruned: pruned.serialized(), subwords: subwords.serialized(), qout: try qoutModel())
  }

  /// Enough labels for a quantized output matrix (256), with weights from a seeded generator.
  static func qoutModel() throws(FastTextError) -> [UInt8] {
    var entries: [FastTextDictionary.Entry] = []
    for i in 0..<300 { entries.append(.init(word: Array("w\(i)".utf8), count: Int64(400 - i), isLabel: false)) }
    for i in 0..<256 { entries.append(.init(word: Array("__label__l\(i)".utf8), count: Int64(300 - i), isLabel: true)) }
    let dict = FastTextDictionary(
      entries: entries, nwords: 300, nlabels: 256, ntokens: 100_000, pruneIndexSize: -1, pruneIndex: [:], bucket: 0,
      minn: 0, maxn: 0)
    var rng = SplitMix64(seed: 99)
    func matrix(_ rows: Int) -> DenseMatrix {
      DenseMatrix(rows: rows, columns: 4, data: (0..<(rows * 4)).map { _ in Float(rng.unit() - 0.5) })
    }
    var args = FastTextArgs()
    args.dim = 4
    args.bucket = 0
    let model = FastTextModel(
      args: args, dictionary: dict, input: .dense(matrix(300)), output: .dense(matrix(256)), quantizedInput: false,
      quantizedOutput: false)
    var q = FastTextQuantizeOptions()
    q.qnorm = true
    q.qout = true
    return try model.quantized(q).serialized()
  }

  /// A model built field by field, for what training never writes (zero counts, thousands of
  /// labels, long words).
  static func handMade(
    words: [[UInt8]], labelCounts: [Int64], loss: FastTextLoss = .softmax, bucket: Int32 = 0, maxn: Int32 = 0,
    neg: Int32 = 5
  ) -> [UInt8] {
    var entries = words.map { FastTextDictionary.Entry(word: $0, count: 1, isLabel: false) }
    for (i, c) in labelCounts.enumerated() {
      entries.append(.init(word: Array("__label__\(i)".utf8), count: c, isLabel: true))
    }
    // Without char n-grams in memory: only the header's maxn is written, and building a long
    // word's n-grams here is what the loader must refuse to do.
    let dict = FastTextDictionary(
      entries: entries, nwords: words.count, nlabels: labelCounts.count, ntokens: 10, pruneIndexSize: -1,
      pruneIndex: [:],
      bucket: bucket, minn: 0, maxn: 0)
    var args = FastTextArgs()
    args.dim = 1
    args.loss = loss.rawValue
    args.bucket = bucket
    args.minn = maxn > 0 ? 1 : 0
    args.maxn = maxn
    args.neg = neg
    let rows = words.count + Int(bucket)
    let model = FastTextModel(
      args: args, dictionary: dict,
      input: .dense(DenseMatrix(rows: rows, columns: 1, data: [Float](repeating: 0.5, count: rows))),
      output: .dense(
        DenseMatrix(rows: labelCounts.count, columns: 1, data: [Float](repeating: 0.25, count: labelCounts.count))),
      quantizedInput: false, quantizedOutput: false)
    return model.serialized()
  }
}

/// A seeded generator (SplitMix64), so that the random mutations are the same on every run.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
  mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Where the fields of a valid model file are, found by walking it.
struct ModelLayout {
  static let dim = 8, neg = 24, loss = 32, model = 36, bucket = 40, maxn = 48
  static let size = 64, nwords = 68, nlabels = 72, ntokens = 76, pruneSize = 84

  struct Quantizer { var dim, nsubq, dsub, lastdsub: Int }
  struct Matrix {
    var quantized: Bool
    /// Dense: rows and columns are int64s. Quantized: qnorm byte, rows, columns, int32 codesize.
    var qnorm = 0, rows = 0, columns = 0, codesize = 0
    var pq: Quantizer? = nil
    var npq: Quantizer? = nil
  }

  var entryCount: [Int] = []
  var entryType: [Int] = []
  var pruneStart = 0
  var quantInput = 0
  var input = Matrix(quantized: false)
  var qout = 0
  var output = Matrix(quantized: false)
  /// Offsets of every int32 and int64 field, for the random mutations.
  var int32Fields: [Int] = [8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 64, 68, 72]
  var int64Fields: [Int] = [76, 84]

  init(_ b: [UInt8]) {
    func int32(_ o: Int) -> Int {
      Int(b.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: Int32.self)) })
    }
    func int64(_ o: Int) -> Int {
      Int(b.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: Int64.self)) })
    }
    var p = 92
    for _ in 0..<int32(Self.size) {
      while b[p] != 0 { p += 1 }
      p += 1
      entryCount.append(p)
      int64Fields.append(p)
      p += 8
      entryType.append(p)
      p += 1
    }
    pruneStart = p
    let pruned = int64(Self.pruneSize)
    if pruned > 0 {
      for k in 0..<pruned { int32Fields += [p + 8 * k, p + 8 * k + 4] }
      p += 8 * pruned
    }
    func quantizer(_ p: inout Int, _ fields: inout [Int]) -> Quantizer {
      let q = Quantizer(dim: p, nsubq: p + 4, dsub: p + 8, lastdsub: p + 12)
      fields += [p, p + 4, p + 8, p + 12]
      p += 16 + 4 * 256 * int32(q.dim)
      return q
    }
    func matrix(_ quantized: Bool, _ p: inout Int) -> Matrix {
      var m = Matrix(quantized: quantized)
      if !quantized {
        m.rows = p
        m.columns = p + 8
        int64Fields += [p, p + 8]
        p += 16 + 4 * int64(m.rows) * int64(m.columns)
        return m
      }
      m.qnorm = p
      m.rows = p + 1
      m.columns = p + 9
      m.codesize = p + 17
      int64Fields += [m.rows, m.columns]
      int32Fields.append(m.codesize)
      let qnorm = b[p] != 0
      p += 21 + int32(m.codesize)
      m.pq = quantizer(&p, &int32Fields)
      if qnorm {
        p += int64(m.rows)
        m.npq = quantizer(&p, &int32Fields)
      }
      return m
    }
    quantInput = p
    let qi = b[p] != 0
    p += 1
    input = matrix(qi, &p)
    qout = p
    let qo = b[p] != 0
    p += 1
    output = matrix(qi && qo, &p)
    precondition(p == b.count, "layout walked \(p) of \(b.count) bytes")
  }
}

extension Array where Element == UInt8 {
  func with(int32 v: Int32, at o: Int) -> [UInt8] {
    var b = self
    Swift.withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[o + i] = x } }
    return b
  }
  func with(int64 v: Int64, at o: Int) -> [UInt8] {
    var b = self
    Swift.withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[o + i] = x } }
    return b
  }
  func with(byte v: UInt8, at o: Int) -> [UInt8] {
    var b = self
    b[o] = v
    return b
  }
  func int32(at o: Int) -> Int32 {
    withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: Int32.self)) }
  }
  func int64(at o: Int) -> Int64 {
    withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: Int64.self)) }
  }
}

@Suite("fastText: malformed model files are errors, never crashes")
struct HostileModelTests {
  static let name = "hostile.bin"

  func models() throws -> HostileFixtures.Models { try HostileFixtures.models.get() }

  /// Uses a model the loader accepted the way Winnow does: predictions for known and unknown
  /// words, labels, k of all and of far more than the labels, the test path's rows and labels,
  /// and every word's vector. A model accepted wrongly crashes here.
  func exercise(_ model: FastTextModel) {
    var predictor = FastTextPredictor(model)
    let d = model.dictionary
    var tokens: [[UInt8]] = (0..<min(d.entries.count, 40)).map { d.entries[$0].word }
    tokens += [Array("unknown".utf8), Array("goodness".utf8), Array("__label__nope".utf8), Array("日本語".utf8), []]
    for k in [1, 3, -1, 1 << 40] {
      let predictions = predictor.predict(tokens: tokens, k: k, threshold: 0)
      for p in predictions { _ = predictor.label(p) }
    }
    var line = Array("good bad w3 line __label__pos nice\n".utf8)
    for t in tokens.prefix(10) { line += t + [0x20] }
    var reader = FastTextLineReader(line)
    var ranges: [(Int, Int)] = []
    reader.nextLine(into: &ranges)
    let (rows, labels) = predictor.rowsAndLabels(bytes: line, tokens: ranges)
    _ = predictor.predict(rows: rows, k: 2, threshold: 0.1)
    for label in labels { #expect(label >= 0 && Int(label) < d.nlabels) }
    for id in 0..<min(d.nwords, 1000) { _ = model.wordVector(id) }
  }

  /// The error for `bytes`, or nil when they load (then the model is exercised).
  func rejection(_ bytes: [UInt8]) -> String? {
    do {
      let model = try FastTextModel.load(bytes: bytes, name: Self.name)
      exercise(model)
      return nil
    } catch {
      return error.message
    }
  }

  /// `bytes` must be refused with a message naming the file and `field`.
  func expectRejected(
    _ bytes: [UInt8], field: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    guard let message = rejection(bytes) else {
      Issue.record("loaded: \(what)", sourceLocation: sourceLocation)
      return
    }
    #expect(message.hasPrefix(Self.name + ": "), "\(what): \(message)", sourceLocation: sourceLocation)
    if !field.isEmpty { #expect(message.contains(field), "\(what): \(message)", sourceLocation: sourceLocation) }
  }

  @Test("the valid models load, predict and serialize back to the same bytes")
  func validModels() throws {
    let m = try models()
    for (what, bytes) in [("bigram", m.bigram), ("pruned", m.pruned), ("subwords", m.subwords), ("qout", m.qout)] {
      let model = try FastTextModel.load(bytes: bytes, name: what)
      exercise(model)
      #expect(model.serialized() == bytes, "\(what)")
      _ = ModelLayout(bytes)
    }
    let pruned = try FastTextModel.load(bytes: m.pruned, name: "pruned")
    #expect(pruned.quantizedInput && pruned.dictionary.pruneIndexSize > 0)
    let qout = try FastTextModel.load(bytes: m.qout, name: "qout")
    #expect(qout.quantizedOutput && qout.dictionary.pruneIndexSize == -1)
  }

  @Test("bucket, rows and dictionary sizes that do not match the file are errors naming the field")
  func sizes() throws {
    let m = try models()
    let bigram = m.bigram
    let layout = ModelLayout(bigram)
    let nwords = bigram.int32(at: ModelLayout.nwords)
    let nlabels = bigram.int32(at: ModelLayout.nlabels)
    // The bucket of a dense bigram model: its n-gram rows would lie far outside the matrix.
    expectRejected(bigram.with(int32: Int32.max, at: ModelLayout.bucket), field: "'bucket'", "bucket 2^31 - 1")
    expectRejected(bigram.with(int32: 299, at: ModelLayout.bucket), field: "'bucket'", "bucket one short")
    expectRejected(bigram.with(int32: -1, at: ModelLayout.bucket), field: "'bucket'", "bucket -1")
    // Input rows 2^60 with dim 16: m · n = 2^64 wraps to 0 unless the product is checked.
    expectRejected(bigram.with(int64: 1 << 60, at: layout.input.rows), field: "'rows'", "input rows 2^60")
    expectRejected(
      bigram.with(int64: 1 << 62, at: layout.input.rows).with(int64: 1 << 62, at: layout.input.columns),
      field: "'rows'", "rows × columns overflow")
    expectRejected(bigram.with(int64: -1, at: layout.input.rows), field: "'rows'", "input rows -1")
    expectRejected(bigram.with(int64: -16, at: layout.input.columns), field: "'columns'", "input columns -16")
    expectRejected(
      bigram.with(int64: Int64(nlabels) - 1, at: layout.output.rows), field: "'nlabels'", "output rows ≠ nlabels")
    expectRejected(bigram.with(int64: 8, at: layout.output.columns), field: "'dim'", "output columns 8")
    expectRejected(
      bigram.with(int64: 32, at: layout.output.columns), field: "'rows'", "output columns 32 (the floats run out)")
    // Dictionary size 2^31 - 1, adding up: 2^31 - 1 entries cannot fit in the file.
    expectRejected(
      bigram.with(int32: Int32.max, at: ModelLayout.size).with(int32: Int32.max - nlabels, at: ModelLayout.nwords),
      field: "'size'",
      "dictionary size 2^31 - 1")
    expectRejected(bigram.with(int32: Int32.max, at: ModelLayout.size), field: "'size'", "size ≠ nwords + nlabels")
    expectRejected(bigram.with(int32: -1, at: ModelLayout.size), field: "'size'", "size -1")
    expectRejected(bigram.with(int32: -1, at: ModelLayout.nwords), field: "'nwords'", "nwords -1")
    expectRejected(bigram.with(int32: -2, at: ModelLayout.nlabels), field: "'nlabels'", "nlabels -2")
    expectRejected(bigram.with(int64: -5, at: ModelLayout.ntokens), field: "'ntokens'", "ntokens -5")
    expectRejected(bigram.with(int64: -2, at: ModelLayout.pruneSize), field: "'pruneidx_size'", "pruneidx_size -2")
    expectRejected(
      bigram.with(int64: 0, at: ModelLayout.pruneSize), field: "'pruneidx_size'", "pruned dictionary, dense input")
    expectRejected(bigram.with(int64: -3, at: layout.entryCount[0]), field: "'count'", "a negative count")
    // No labels: a classifier with nothing to predict.
    expectRejected(
      bigram.with(int32: 0, at: ModelLayout.nlabels).with(int32: nwords + nlabels, at: ModelLayout.nwords),
      field: "'nlabels'", "nlabels 0")
    // Header: dim, loss, model.
    expectRejected(bigram.with(int32: 8, at: ModelLayout.dim), field: "'dim'", "dim ≠ columns")
    expectRejected(bigram.with(int32: 0, at: ModelLayout.dim), field: "'dim'", "dim 0")
    expectRejected(bigram.with(int32: -16, at: ModelLayout.dim), field: "'dim'", "dim -16")
    expectRejected(bigram.with(int32: 7, at: ModelLayout.loss), field: "'loss'", "loss 7")
    expectRejected(bigram.with(int32: 1, at: ModelLayout.model), field: "'model'", "a cbow model")
    expectRejected(bigram.with(byte: 2, at: layout.quantInput), field: "'quant_input'", "a boolean of 2")
  }

  @Test("words first, then labels, each type 0 or 1")
  func entryTypes() throws {
    let bigram = try models().bigram
    let layout = ModelLayout(bigram)
    // A label among the words would get the negative label index id - nwords.
    expectRejected(bigram.with(byte: 1, at: layout.entryType[0]), field: "'type'", "a label among the words")
    // A word among the labels would index the subword table past its end.
    expectRejected(bigram.with(byte: 0, at: layout.entryType.last!), field: "'type'", "a word among the labels")
    expectRejected(bigram.with(byte: 2, at: layout.entryType[1]), field: "'type'", "type 2")
    // Moving the boundary so that nwords counts a label.
    let nwords = bigram.int32(at: ModelLayout.nwords)
    let nlabels = bigram.int32(at: ModelLayout.nlabels)
    expectRejected(
      bigram.with(int32: nwords + 1, at: ModelLayout.nwords).with(int32: nlabels - 1, at: ModelLayout.nlabels),
      field: "'type'",
      "nwords one too many")
  }

  @Test("pruned bucket maps: sizes, keys in 0..<bucket, rows in 0..<pruneidx_size, no key twice")
  func pruneIndex() throws {
    let pruned = try models().pruned
    let layout = ModelLayout(pruned)
    let size = pruned.int64(at: ModelLayout.pruneSize)
    #expect(size > 1)
    let key = layout.pruneStart
    let row = layout.pruneStart + 4
    expectRejected(pruned.with(int32: Int32(size), at: row), field: "'pruneidx'", "row = pruneidx_size")
    expectRejected(pruned.with(int32: -1, at: row), field: "'pruneidx'", "row -1")
    expectRejected(pruned.with(int32: 300, at: key), field: "'pruneidx'", "bucket = bucket")
    expectRejected(pruned.with(int32: -7, at: key), field: "'pruneidx'", "bucket -7")
    expectRejected(pruned.with(int32: pruned.int32(at: key + 8), at: key), field: "'pruneidx'", "a bucket listed twice")
    expectRejected(
      pruned.with(int64: 1 << 62, at: ModelLayout.pruneSize), field: "'pruneidx_size'", "pruneidx_size 2^62")
    expectRejected(
      pruned.with(int64: Int64(Int32.max), at: ModelLayout.pruneSize), field: "'pruneidx_size'",
      "pruneidx_size 2^31 - 1")
    // One pair fewer than the file holds: the map ends early and its rows no longer match.
    expectRejected(pruned.with(int64: size - 1, at: ModelLayout.pruneSize), field: "", "pruneidx_size one short")
    // Zero kept buckets: then the input matrix has exactly nwords rows.
    expectRejected(pruned.with(int64: 0, at: ModelLayout.pruneSize), field: "", "pruneidx_size 0")
  }

  @Test("product quantizers: sub-quantizers add up to dim, centroids present, codes = rows × nsubq, norms of dim 1")
  func quantizers() throws {
    let m = try models()
    for (what, bytes) in [("pruned", m.pruned), ("qout", m.qout)] {
      let layout = ModelLayout(bytes)
      for matrix in [layout.input, layout.output] where matrix.quantized {
        let pq = matrix.pq!
        let nsubq = bytes.int32(at: pq.nsubq)
        expectRejected(bytes.with(int32: nsubq + 1, at: pq.nsubq), field: "'nsubq'", "\(what): nsubq + 1")
        expectRejected(bytes.with(int32: 0, at: pq.nsubq), field: "'nsubq'", "\(what): nsubq 0")
        expectRejected(bytes.with(int32: 3, at: pq.dsub), field: "'dsub'", "\(what): dsub 3")
        expectRejected(bytes.with(int32: -2, at: pq.dsub), field: "'dsub'", "\(what): dsub -2")
        expectRejected(bytes.with(int32: 5, at: pq.lastdsub), field: "'lastdsub'", "\(what): lastdsub 5")
        expectRejected(bytes.with(int32: Int32.max, at: pq.dim), field: "", "\(what): pq dim 2^31 - 1")
        // Consistent sub-quantizers of 2^21 columns each: the centroids would take gigabytes.
        let wide = bytes.with(int32: nsubq << 21, at: pq.dim).with(int32: 1 << 21, at: pq.dsub).with(
          int32: 1 << 21, at: pq.lastdsub)
        expectRejected(wide, field: "'dim'", "\(what): centroids beyond the file")
        expectRejected(
          bytes.with(int32: bytes.int32(at: matrix.codesize) - 1, at: matrix.codesize), field: "",
          "\(what): codesize - 1")
        expectRejected(bytes.with(int32: -1, at: matrix.codesize), field: "'codesize'", "\(what): codesize -1")
        expectRejected(
          bytes.with(int32: Int32.max, at: matrix.codesize), field: "'codesize'", "\(what): codesize 2^31 - 1")
        expectRejected(bytes.with(int64: 1 << 61, at: matrix.rows), field: "'codesize'", "\(what): rows 2^61")
        expectRejected(bytes.with(int64: 0, at: matrix.columns), field: "'columns'", "\(what): columns 0")
        expectRejected(bytes.with(byte: 7, at: matrix.qnorm), field: "'qnorm'", "\(what): qnorm 7")
        if let npq = matrix.npq {
          expectRejected(
            bytes.with(int32: 2, at: npq.dim).with(int32: 2, at: npq.lastdsub), field: "norm quantizer",
            "\(what): norms of dim 2")
          expectRejected(bytes.with(int32: 2, at: npq.nsubq), field: "'nsubq'", "\(what): norms in two sub-quantizers")
        }
      }
      expectRejected(bytes.with(byte: 3, at: layout.qout), field: "'qout'", "\(what): qout 3")
    }
  }

  @Test("hs and ns: label counts the tree and the negative table can use; maxn against long words")
  func lossesAndSubwords() throws {
    let subwords = try models().subwords
    let layout = ModelLayout(subwords)
    // hs: a count at the tree's 10^15 makes the builder pick nodes not built yet.
    expectRejected(
      subwords.with(int64: 1_000_000_000_000_000, at: layout.entryCount.last!), field: "'count'", "hs count 10^15")
    expectRejected(subwords.with(int64: Int64.max, at: layout.entryCount.last!), field: "'count'", "hs count Int64.max")
    // hs with all counts 0: a chain as deep as there are labels, too deep to walk recursively.
    let deep = HostileFixtures.handMade(
      words: [Array("a".utf8)], labelCounts: [Int64](repeating: 0, count: 1100), loss: .hs)
    expectRejected(deep, field: "'count'", "an hs tree 1099 levels deep")
    let shallow = HostileFixtures.handMade(
      words: [Array("a".utf8)], labelCounts: [Int64](repeating: 0, count: 100), loss: .hs)
    #expect(rejection(shallow) == nil, "an hs tree 99 levels deep is fine")
    // ns: the negative table holds the labels with positive counts; with one, drawing a
    // negative other than the target never ends.
    expectRejected(
      HostileFixtures.handMade(words: [Array("a".utf8)], labelCounts: [3, 0], loss: .ns), field: "'count'",
      "ns, one counted label")
    expectRejected(
      HostileFixtures.handMade(words: [Array("a".utf8)], labelCounts: [3, 2], loss: .ns, neg: -1), field: "'neg'",
      "ns, neg -1")
    #expect(rejection(HostileFixtures.handMade(words: [Array("a".utf8)], labelCounts: [3, 2], loss: .ns)) == nil)
    // A 20,000-byte word with an unbounded maxn: 200 million char n-grams for one word.
    let long = [UInt8](repeating: UInt8(ascii: "x"), count: 20_000)
    expectRejected(
      HostileFixtures.handMade(words: [long], labelCounts: [1], bucket: 10, maxn: Int32.max), field: "'maxn'",
      "maxn 2^31 - 1")
    #expect(
      rejection(HostileFixtures.handMade(words: [long], labelCounts: [1], bucket: 10, maxn: 6)) == nil,
      "maxn 6 with a long word is fine")
  }

  @Test("every truncation of a .bin and a .ftz is an error")
  func truncations() throws {
    let m = try models()
    for (what, bytes) in [("bigram", m.bigram), ("pruned", m.pruned), ("subwords", m.subwords), ("qout", m.qout)] {
      // Every prefix of the header and dictionary; a stride through the matrices' floats.
      let dictionaryEnd = ModelLayout(bytes).quantInput + 64
      var lengths = Array(0..<min(dictionaryEnd, bytes.count))
      lengths += stride(from: dictionaryEnd, to: bytes.count, by: 7)
      lengths += [bytes.count - 4, bytes.count - 1]
      var loaded: [Int] = []
      for n in lengths where rejection(Array(bytes[0..<n])) == nil { loaded.append(n) }
      #expect(loaded.isEmpty, "\(what): prefixes that loaded: \(loaded.prefix(10))")
    }
  }

  @Test("random byte and field mutations load and predict, or are errors")
  func mutations() throws {
    let m = try models()
    var rng = SplitMix64(seed: 20_240_601)
    let interesting32: [Int32] = [0, 1, -1, 2, 3, 16, 255, 256, 1 << 16, Int32.max, Int32.min, Int32.max - 1]
    let interesting64: [Int64] = [0, 1, -1, 2, 255, 1 << 31, 1 << 32, 1 << 60, Int64.max, Int64.min, Int64(Int32.max)]
    var loaded = 0
    var rejected = 0
    for (what, bytes) in [("bigram", m.bigram), ("pruned", m.pruned), ("subwords", m.subwords), ("qout", m.qout)] {
      let layout = ModelLayout(bytes)
      for round in 0..<800 {
        var b = bytes
        for _ in 0..<(1 + rng.below(3)) {
          switch rng.below(4) {
          case 0:
            let o = layout.int32Fields[rng.below(layout.int32Fields.count)]
            let v =
              rng.below(3) == 0
              ? b.int32(at: o) &+ Int32(rng.below(5)) &- 2 : interesting32[rng.below(interesting32.count)]
            b = b.with(int32: v, at: o)
          case 1:
            let o = layout.int64Fields[rng.below(layout.int64Fields.count)]
            let v =
              rng.below(3) == 0
              ? b.int64(at: o) &+ Int64(rng.below(5)) &- 2 : interesting64[rng.below(interesting64.count)]
            b = b.with(int64: v, at: o)
          case 2:
            // Somewhere in the header, dictionary and flags.
            b[rng.below(min(b.count, layout.quantInput + 40))] = UInt8(truncatingIfNeeded: rng.next())
          default:
            b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next())
          }
        }
        if let message = rejection(b) {
          rejected += 1
          #expect(message.hasPrefix(Self.name + ": "), "\(what) round \(round): \(message)")
        } else {
          loaded += 1
        }
      }
    }
    // Both outcomes occur: the mutations reach the checks and also leave loadable models.
    #expect(loaded > 100 && rejected > 100, "loaded \(loaded), rejected \(rejected)")
  }

  @Test("a model with NaN weights predicts and quantizes without reading out of bounds")
  func nanWeights() throws {
    let bigram = try models().bigram
    let layout = ModelLayout(bigram)
    var b = bigram
    let nan = Float.nan.bitPattern.littleEndian
    // The first rows of the input matrix and every output row.
    for o in stride(from: layout.input.rows + 16, to: layout.input.rows + 16 + 4 * 16 * 40, by: 4) {
      withUnsafeBytes(of: nan) { for (i, x) in $0.enumerated() { b[o + i] = x } }
    }
    for o in stride(from: layout.output.rows + 16, to: b.count, by: 4) {
      withUnsafeBytes(of: nan) { for (i, x) in $0.enumerated() { b[o + i] = x } }
    }
    for loss in [FastTextLoss.softmax, .ova, .ns, .hs] {
      let model = try FastTextModel.load(bytes: b.with(int32: loss.rawValue, at: ModelLayout.loss), name: "nan.bin")
      exercise(model)
    }
    // A NaN score is no table index: the sigmoid of NaN is 0, as below -8.
    #expect(FastTextPredictor.sigmoid(.nan) == 0)
    #expect(TrainingWorker.log(.nan) == TrainingWorker.log(0))
    // Pruning sorts rows by norm: NaN norms must keep the comparison consistent, so they
    // sort as the smallest (after every other row; `</s>` stays first).
    let model = try FastTextModel.load(bytes: b, name: "nan.bin")
    guard case .dense(let input) = model.input else { throw FastTextError("not dense") }
    let order = FastTextModel.selectEmbeddings(input, dictionary: model.dictionary, cutoff: input.rows)
    #expect(order.sorted() == Array(0..<Int32(input.rows)))
    let eos = model.dictionary.id(FastTextDictionary.eos)
    #expect(order.first == eos)
    let nanRows = Set((0..<Int32(40)).filter { $0 != eos })
    #expect(Set(order.suffix(nanRows.count)) == nanRows)
    var q = FastTextQuantizeOptions()
    q.cutoff = 280
    let small = try model.quantized(q)
    #expect(small.input.rows == 280)
  }

  @Test("what is not a regular file is refused by name; a missing file too")
  func notRegularFiles() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-hostile-files-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    func message(_ path: String) -> String? {
      do {
        _ = try FastTextModel.load(path: path)
        return nil
      } catch {
        return error.message
      }
    }
    let directory = message(dir.path)
    #expect(
      directory?.hasPrefix(dir.path + ": ") == true && directory?.contains("directory") == true,
      "\(directory ?? "loaded")")
    let fifo = dir.appendingPathComponent("model.fifo").path
    #expect(mkfifo(fifo, 0o600) == 0)
    // Opening a FIFO must not wait for a writer.
    let pipe = message(fifo)
    #expect(pipe?.hasPrefix(fifo + ": ") == true && pipe?.contains("not a regular file") == true, "\(pipe ?? "loaded")")
    let missing = dir.appendingPathComponent("missing.bin").path
    #expect(message(missing)?.hasPrefix(missing + ": cannot open") == true)
    #expect(message("/dev/null")?.contains("not a regular file") == true)
    // A hostile file on disk names its path.
    let bad = dir.appendingPathComponent("bad.bin").path
    try Data(try models().bigram.with(int32: Int32.max, at: ModelLayout.bucket)).write(to: URL(fileURLWithPath: bad))
    let badMessage = message(bad)
    #expect(
      badMessage?.hasPrefix(bad + ": input matrix has ") == true && badMessage?.contains("'bucket'") == true,
      "\(badMessage ?? "loaded")")
  }
}
