import Glibc
import Synchronization

/// Options of `fasttext supervised`, `skipgram` and `cbow` (`args.cc`), with `supervised`'s
/// defaults (`FastTextArguments` sets the word-vector ones).
public struct FastTextTrainingOptions: Sendable {
  /// What to train: a classifier, or word vectors by skip-gram or continuous bag of words.
  public var model: FastTextModelKind = .supervised
  public var input = ""
  /// An explicit `-lr` is parsed as a float (`stof`); the default is the double 0.1.
  public var lr: Double = 0.1
  public var dim: Int32 = 100
  public var ws: Int32 = 5
  public var epoch: Int32 = 5
  public var minCount: Int32 = 1
  public var minCountLabel: Int32 = 0
  public var neg: Int32 = 5
  public var wordNgrams: Int32 = 1
  public var loss: FastTextLoss = .softmax
  public var bucket: Int32 = 2_000_000
  public var minn: Int32 = 0
  public var maxn: Int32 = 0
  public var thread: Int32 = 12
  public var lrUpdateRate: Int32 = 100
  public var t: Double = 1e-4
  public var label = "__label__"
  public var seed: Int32 = 0
  public var verbose: Int32 = 2
  public init() {}

  /// Options that continue training a model with these stored arguments (quantize's
  /// retraining); the inverse of `storedArgs`.
  init(continuing a: FastTextArgs) {
    dim = a.dim
    ws = a.ws
    epoch = a.epoch
    minCount = a.minCount
    neg = a.neg
    wordNgrams = a.wordNgrams
    loss = FastTextLoss(rawValue: a.loss) ?? .softmax
    bucket = a.bucket
    minn = a.minn
    maxn = a.maxn
    lrUpdateRate = a.lrUpdateRate
    t = a.t
  }

  /// The arguments stored in the model: bucket is 0 when there are neither word n-grams nor
  /// char n-grams, whatever was asked (`Args::parseArgs`).
  var storedArgs: FastTextArgs {
    var a = FastTextArgs()
    a.dim = dim
    a.ws = ws
    a.epoch = epoch
    a.minCount = minCount
    a.neg = neg
    a.wordNgrams = wordNgrams
    a.loss = loss.rawValue
    a.model = model.rawValue
    a.bucket = wordNgrams <= 1 && maxn == 0 ? 0 : bucket
    a.minn = minn
    a.maxn = maxn
    a.lrUpdateRate = lrUpdateRate
    a.t = t
    return a
  }
}

/// Training exactly as `fasttext supervised`, `skipgram` and `cbow` 0.9.2 do it
/// (`FastText::train`): the same dictionary order, the same partial random initialisation, the
/// same schedule, subsampling, window, label and negative draws and float32 updates, so that
/// with one thread the saved `.bin` is the same, byte for byte, as the C++ one. More threads
/// share the weights without locks, as fastText's do.
public enum FastTextTrainer {
  /// What training saw and did, as the C++ CLI reports it (words, labels, tokens, loss).
  public struct Report: Sendable {
    public var words: Int
    public var labels: Int
    public var tokens: Int64
    public var averageLoss: Float
    public var seconds: Double
  }

  public static func train(
    _ o: FastTextTrainingOptions, log: ((String) -> Void)? = nil
  ) throws(FastTextError) -> (FastTextModel, Report) {
    guard o.input != "-" else { throw FastTextError("cannot use stdin for training (give a file with -input)") }
    guard !o.input.isEmpty else { throw FastTextError("no training file (-input)") }
    guard o.dim > 0, o.epoch > 0, o.thread > 0, o.lrUpdateRate > 0 else {
      throw FastTextError("-dim, -epoch, -thread and -lrUpdateRate must be positive")
    }
    guard o.wordNgrams >= 1, o.minn >= 0, o.maxn >= 0, o.bucket >= 0, o.neg >= 0 else {
      throw FastTextError("-wordNgrams must be ≥ 1; -minn, -maxn, -bucket and -neg must not be negative")
    }
    guard !o.label.isEmpty else { throw FastTextError("-label must not be empty") }
    let started = monotonicSeconds()
    let text = try ModelReader(path: o.input).bytes
    let args = o.storedArgs
    var vocabulary = FastTextVocabulary(labelPrefix: Array(o.label.utf8))
    vocabulary.read(text, minCount: Int64(o.minCount), minCountLabel: Int64(o.minCountLabel))
    let dict = vocabulary.dictionary(bucket: args.bucket, minn: args.minn, maxn: args.maxn)
    guard dict.entries.count > 0 else { throw FastTextError("\(o.input): empty vocabulary; try a smaller -minCount") }
    let supervised = o.model == .supervised
    if supervised {
      guard dict.nlabels > 0 else { throw FastTextError("\(o.input): no labels (no token starts with \"\(o.label)\")") }
      if o.loss == .ns && dict.nlabels < 2 { throw FastTextError("\(o.input): -loss ns needs at least two labels") }
    } else {
      // fastText would divide by zero (char n-gram buckets) or draw negatives forever.
      guard o.ws >= 1 else { throw FastTextError("-ws must be at least 1") }
      guard dict.nwords > 0 else { throw FastTextError("\(o.input): no words (every token is a label); try a smaller -minCount") }
      if o.loss == .ns && dict.nwords < 2 { throw FastTextError("\(o.input): -loss ns needs at least two words") }
      if o.maxn > 0 && o.bucket == 0 { throw FastTextError("-bucket 0 leaves no rows for the char n-grams of -maxn \(o.maxn)") }
    }
    log?("Read \(dict.ntokens / 1_000_000)M words\nNumber of words:  \(dict.nwords)\nNumber of labels: \(dict.nlabels)")

    let dim = Int(o.dim)
    let inputRows = dict.nwords + Int(args.bucket)
    // A classifier scores labels; word vectors predict the words around a word.
    let weights = SharedWeights(inputRows: inputRows, outputRows: supervised ? dict.nlabels : dict.nwords, dim: dim)
    weights.initialiseInput(a: Float(1.0 / Double(o.dim)), thread: Int(o.thread), seed: Int(o.seed))
    let losses = try optimise(TrainingSetup(options: o, dictionary: dict, text: text, weights: weights))
    let model = FastTextModel(
      args: args, dictionary: dict, input: .dense(weights.inputMatrix()), output: .dense(weights.outputMatrix()),
      quantizedInput: false, quantizedOutput: false)
    let report = Report(
      words: dict.nwords, labels: dict.nlabels, tokens: dict.ntokens, averageLoss: losses[0],
      seconds: monotonicSeconds() - started)
    return (model, report)
  }

  /// Runs the training threads over `setup` (`FastText::startThreads`); per thread, the
  /// average loss.
  static func optimise(_ shared: TrainingSetup) throws(FastTextError) -> [Float] {
    // Training stops after epoch × ntokens tokens; ntokens may come from a model file.
    guard shared.dictionary.ntokens >= 0,
      !Int64(shared.options.epoch).multipliedReportingOverflow(by: shared.dictionary.ntokens).overflow
    else {
      throw FastTextError(
        "epoch \(shared.options.epoch) × \(shared.dictionary.ntokens) tokens is too many tokens to train on")
    }
    let threads = Int(shared.options.thread)
    if threads == 1 { return [shared.run(thread: 0)] }
    let results = ThreadResults(count: threads)
    var handles: [pthread_t] = []
    for t in 0..<threads {
      let job = ThreadJob(setup: shared, thread: t, results: results)
      var handle = pthread_t()
      let rc = pthread_create(&handle, nil, { raw in
        let job = Unmanaged<ThreadJob>.fromOpaque(raw!).takeRetainedValue()
        job.results.store(job.thread, job.setup.run(thread: job.thread))
        return nil
      }, Unmanaged.passRetained(job).toOpaque())
      guard rc == 0 else {
        for h in handles { pthread_join(h, nil) }
        throw FastTextError("cannot start a training thread (error \(rc))")
      }
      handles.append(handle)
    }
    for h in handles { pthread_join(h, nil) }
    return results.values()
  }

  static func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}

/// The input and output matrices, shared by the training threads (Hogwild: no locks).
final class SharedWeights: @unchecked Sendable {
  let wi: UnsafeMutablePointer<Float>
  let wo: UnsafeMutablePointer<Float>
  let inputRows: Int
  let outputRows: Int
  let dim: Int
  let tokenCount = Atomic<Int64>(0)

  /// Weights that continue from these matrices (retraining a pruned model).
  convenience init(input: DenseMatrix, output: DenseMatrix) {
    self.init(inputRows: input.rows, outputRows: output.rows, dim: input.columns)
    input.data.withUnsafeBufferPointer { if let b = $0.baseAddress { wi.update(from: b, count: $0.count) } }
    output.data.withUnsafeBufferPointer { if let b = $0.baseAddress { wo.update(from: b, count: $0.count) } }
  }

  init(inputRows: Int, outputRows: Int, dim: Int) {
    self.inputRows = inputRows
    self.outputRows = outputRows
    self.dim = dim
    wi = .allocate(capacity: max(1, inputRows * dim))
    wi.initialize(repeating: 0, count: max(1, inputRows * dim))
    wo = .allocate(capacity: max(1, outputRows * dim))
    wo.initialize(repeating: 0, count: max(1, outputRows * dim))
  }

  deinit {
    wi.deallocate()
    wo.deallocate()
  }

  /// `DenseMatrix::uniform`: the matrix is cut into 10 blocks and block b (b < thread) is drawn
  /// from `minstd_rand(b + seed)`; with fewer than 10 threads the other blocks stay 0.
  func initialiseInput(a: Float, thread: Int, seed: Int) {
    let total = inputRows * dim
    let block = total / 10
    let lo = -Double(a)
    let hi = Double(a)
    for b in 0..<max(1, thread) {
      var rng = MinstdRand(seed: b + seed)
      var i = block * b
      while i < total && i < block * (b + 1) {
        wi[i] = Float(rng.uniformReal(lo, hi))
        i += 1
      }
    }
  }

  func inputMatrix() -> DenseMatrix {
    DenseMatrix(rows: inputRows, columns: dim, data: Array(UnsafeBufferPointer(start: wi, count: inputRows * dim)))
  }

  func outputMatrix() -> DenseMatrix {
    DenseMatrix(rows: outputRows, columns: dim, data: Array(UnsafeBufferPointer(start: wo, count: outputRows * dim)))
  }
}

final class ThreadResults: @unchecked Sendable {
  let lock = Mutex<[Float]>([])
  init(count: Int) { lock.withLock { $0 = [Float](repeating: 0, count: count) } }
  func store(_ i: Int, _ v: Float) { lock.withLock { $0[i] = v } }
  func values() -> [Float] { lock.withLock { $0 } }
}

final class ThreadJob: @unchecked Sendable {
  let setup: TrainingSetup
  let thread: Int
  let results: ThreadResults
  init(setup: TrainingSetup, thread: Int, results: ThreadResults) {
    self.setup = setup
    self.thread = thread
    self.results = results
  }
}

/// What every training thread reads: options, dictionary, text, loss tables, weights.
final class TrainingSetup: @unchecked Sendable {
  let options: FastTextTrainingOptions
  let dictionary: FastTextDictionary
  let text: [UInt8]
  let weights: SharedWeights
  let labelPrefix: [UInt8]
  /// hs: per label, the internal nodes (as output rows) from the leaf to the root, and codes.
  var paths: [[Int32]] = []
  var codes: [[Bool]] = []
  /// ns: label ids, each repeated in proportion to the square root of its count.
  var negatives: [Int32] = []
  /// Word vectors: the probability of keeping each word (`Dictionary::initTableDiscard`).
  var keepProbability: [Float] = []

  init(options: FastTextTrainingOptions, dictionary: FastTextDictionary, text: [UInt8], weights: SharedWeights) {
    self.options = options
    self.dictionary = dictionary
    self.text = text
    self.weights = weights
    labelPrefix = Array(options.label.utf8)
    // The output rows: labels for a classifier, words for word vectors (`getTargetCounts`).
    let targetCounts =
      options.model == .supervised
      ? (0..<dictionary.nlabels).map { dictionary.entries[dictionary.nwords + $0].count }
      : (0..<dictionary.nwords).map { dictionary.entries[$0].count }
    if options.loss == .hs { buildTree(targetCounts) }
    if options.loss == .ns { buildNegatives(targetCounts) }
    if options.model != .supervised {
      // f and the stored value are float32, t / f a double, as in fastText.
      let ntokens = Float(dictionary.ntokens)
      keepProbability = (0..<dictionary.nwords).map { i in
        let f = Float(dictionary.entries[i].count) / ntokens
        let ratio = options.t / Double(f)
        return Float(ratio.squareRoot() + ratio)
      }
    }
  }

  /// The paths of `HierarchicalSoftmaxLoss::buildTree`'s tree.
  func buildTree(_ counts: [Int64]) {
    let tree = HuffmanTree(counts: counts)
    for i in 0..<counts.count {
      let (rows, code) = tree.path(i)
      paths.append(rows)
      codes.append(code)
    }
  }

  /// `NegativeSamplingLoss::NegativeSamplingLoss`, in float32 as fastText computes it.
  func buildNegatives(_ counts: [Int64]) {
    var z: Float = 0
    for c in counts { z = Float(Double(z) + Double(c).squareRoot()) }
    for (i, count) in counts.enumerated() {
      let c = Float(Double(count).squareRoot())
      let limit = c * 10_000_000 / z
      var j = 0
      while Float(j) < limit {
        negatives.append(Int32(i))
        j += 1
      }
    }
  }

  /// One thread's training loop (`FastText::trainThread`); returns its average loss.
  func run(thread: Int) -> Float {
    var worker = TrainingWorker(setup: self, thread: thread)
    return worker.run()
  }
}

/// One thread's state (`Model::State`) and loop.
struct TrainingWorker {
  let setup: TrainingSetup
  let thread: Int
  var rng: MinstdRand
  let dim: Int
  let hidden: UnsafeMutablePointer<Float>
  let grad: UnsafeMutablePointer<Float>
  let output: UnsafeMutablePointer<Float>
  var lossSum: Float = 0
  var examples: Int64 = 0
  static let logTable: [Float] = (0..<512).map { Float(Glibc.log((Double($0) + 1e-5) / 512)) }

  init(setup: TrainingSetup, thread: Int) {
    self.setup = setup
    self.thread = thread
    rng = MinstdRand(seed: thread + Int(setup.options.seed))
    dim = setup.weights.dim
    hidden = .allocate(capacity: dim)
    grad = .allocate(capacity: dim)
    output = .allocate(capacity: max(1, setup.weights.outputRows))
  }

  mutating func run() -> Float {
    defer {
      hidden.deallocate()
      grad.deallocate()
      output.deallocate()
    }
    let o = setup.options
    let d = setup.dictionary
    let total = Int64(o.epoch) * d.ntokens
    let threads = Int(o.thread)
    var reader = FastTextLineReader(setup.text)
    reader.pos = thread * setup.text.count / threads
    var eof = false
    var tokens: [(Int, Int)] = []
    var line: [Int32] = []
    var labels: [Int32] = []
    var hashes: [Int32] = []
    var local: Int64 = 0
    let counter = setup.weights
    if o.model != .supervised {
      runUnsupervised(reader: &reader, total: total)
      return examples > 0 ? lossSum / Float(examples) : 0
    }
    setup.text.withUnsafeBufferPointer { p in
      while counter.tokenCount.load(ordering: .relaxed) < total {
        let lr = learningRate(total: total)
        // `Dictionary::getLine`: after the end of the file, start again from its beginning.
        if eof {
          reader.rewind()
          eof = false
        }
        tokens.removeAll(keepingCapacity: true)
        while true {
          guard let t = reader.readToken() else {
            eof = true
            break
          }
          tokens.append(t)
          if t == FastTextLineReader.eosToken
            || (t.1 - t.0 == 4 && p[t.0] == 0x3C && p[t.0 + 1] == 0x2F && p[t.0 + 2] == 0x73 && p[t.0 + 3] == 0x3E)
          {
            break
          }
        }
        d.rows(
          bytes: p, tokens: tokens, wordNgrams: Int(o.wordNgrams), labelPrefix: setup.labelPrefix, words: &line, labels: &labels,
          hashes: &hashes)
        local += Int64(tokens.count)
        supervised(lr: lr, line: line, labels: labels)
        shareProgress(&local)
      }
    }
    return examples > 0 ? lossSum / Float(examples) : 0
  }

  /// `FastText::trainThread`'s rate: lr · (1 − progress), progress a float32 share of the
  /// tokens to train on.
  @inline(__always)
  func learningRate(total: Int64) -> Float {
    let progress = Float(setup.weights.tokenCount.load(ordering: .relaxed)) / Float(total)
    return Float(setup.options.lr * (1.0 - Double(progress)))
  }

  /// Adds this thread's tokens to the shared count once more than lrUpdateRate have gathered.
  @inline(__always)
  func shareProgress(_ local: inout Int64) {
    if local > Int64(setup.options.lrUpdateRate) {
      setup.weights.tokenCount.add(local, ordering: .relaxed)
      local = 0
    }
  }

  /// The word-vector loop (`FastText::trainThread` with `cbow` or `skipgram`): lines as
  /// `Dictionary::getLine` reads them for word vectors, then the model's windows.
  mutating func runUnsupervised(reader: inout FastTextLineReader, total: Int64) {
    let o = setup.options
    let d = setup.dictionary
    let counter = setup.weights
    var eof = false
    var line: [Int32] = []
    var bow: [Int32] = []
    var local: Int64 = 0
    let keep = setup.keepProbability
    let subwordRows = d.subwordRows
    let subwordStart = d.subwordStart
    setup.text.withUnsafeBufferPointer { p in
      while counter.tokenCount.load(ordering: .relaxed) < total {
        let lr = learningRate(total: total)
        if eof {
          reader.rewind()
          eof = false
        }
        // Unknown tokens are skipped without being counted; a word is kept with its
        // probability (one uniform draw per word, none per label); a line ends at `</s>` or
        // after 1,024 counted tokens (MAX_LINE_SIZE), the rest read as the next line.
        line.removeAll(keepingCapacity: true)
        var ntokens: Int64 = 0
        while true {
          guard let t = reader.readToken() else {
            eof = true
            break
          }
          let isNewline = t == FastTextLineReader.eosToken
          let wid: Int32?
          if isNewline {
            wid = d.eosID
          } else {
            wid = d.id(p, t.0, t.1, hash: FastTextDictionary.hash(p.baseAddress! + t.0, t.1 - t.0))
          }
          guard let wid else { continue }
          ntokens += 1
          if !d.isLabelID[Int(wid)] {
            let draw = Float(rng.uniformReal(0, 1))
            if !(draw > keep[Int(wid)]) { line.append(wid) }
          }
          if ntokens > 1024 || isNewline || FastTextDictionary.isEOSText(p, t.0, t.1) { break }
        }
        local += ntokens
        subwordRows.withUnsafeBufferPointer { rows in
          line.withUnsafeBufferPointer { targets in
            if o.model == .cbow {
              cbow(lr: lr, line: targets, rows: rows, starts: subwordStart, bow: &bow)
            } else {
              skipgram(lr: lr, line: targets, rows: rows, starts: subwordStart)
            }
          }
        }
        shareProgress(&local)
      }
    }
  }

  /// `FastText::cbow`: each word is predicted from the mean of the rows of the words in a
  /// window of 1…ws words on each side (drawn per word).
  mutating func cbow(
    lr: Float, line: UnsafeBufferPointer<Int32>, rows: UnsafeBufferPointer<Int32>, starts: [Int32], bow: inout [Int32]
  ) {
    let ws = Int(setup.options.ws)
    for w in 0..<line.count {
      let boundary = rng.uniformInt(ws) + 1
      bow.removeAll(keepingCapacity: true)
      for c in -boundary...boundary where c != 0 && w + c >= 0 && w + c < line.count {
        let id = Int(line[w + c])
        bow.append(contentsOf: UnsafeBufferPointer(rebasing: rows[Int(starts[id])..<Int(starts[id + 1])]))
      }
      bow.withUnsafeBufferPointer { update(input: $0, targets: line, targetIndex: w, lr: lr, normalize: false) }
    }
  }

  /// `FastText::skipgram`: each word's rows predict, one at a time, the words in a window of
  /// 1…ws words on each side (drawn per word).
  mutating func skipgram(lr: Float, line: UnsafeBufferPointer<Int32>, rows: UnsafeBufferPointer<Int32>, starts: [Int32]) {
    let ws = Int(setup.options.ws)
    for w in 0..<line.count {
      let boundary = rng.uniformInt(ws) + 1
      let id = Int(line[w])
      let ngrams = UnsafeBufferPointer(rebasing: rows[Int(starts[id])..<Int(starts[id + 1])])
      for c in -boundary...boundary where c != 0 && w + c >= 0 && w + c < line.count {
        update(input: ngrams, targets: line, targetIndex: w + c, lr: lr, normalize: false)
      }
    }
  }

  /// `FastText::supervised`: one label drawn as the target (all of them for ova).
  @inline(__always)
  mutating func supervised(lr: Float, line: [Int32], labels: [Int32]) {
    if labels.isEmpty || line.isEmpty { return }
    let targetIndex = setup.options.loss == .ova ? -1 : rng.uniformInt(labels.count)
    line.withUnsafeBufferPointer { input in
      labels.withUnsafeBufferPointer { targets in
        update(input: input, targets: targets, targetIndex: targetIndex, lr: lr, normalize: true)
      }
    }
  }

  /// `Model::update`: the hidden vector is the mean of the input rows; the loss updates the
  /// output rows and accumulates the gradient, which is added to every input row (divided by
  /// their number for a classifier only). `targetIndex` is -1 for ova (every target).
  @inline(__always)
  mutating func update(
    input: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>, targetIndex: Int, lr: Float, normalize: Bool
  ) {
    if input.isEmpty { return }
    let target = targetIndex < 0 ? -1 : Int(targets[targetIndex])
    let wi = setup.weights.wi
    let dim = self.dim
    for j in 0..<dim { hidden[j] = 0 }
    for r in input {
      let row = wi + Int(r) * dim
      for j in 0..<dim { hidden[j] += row[j] }
    }
    let inv = Float(1.0 / Double(input.count))
    for j in 0..<dim { hidden[j] *= inv }
    for j in 0..<dim { grad[j] = 0 }
    var loss: Float
    switch setup.options.loss {
    case .softmax: loss = softmax(target: target, lr: lr)
    case .ova:
      loss = 0
      for i in 0..<setup.weights.outputRows { loss += binaryLogistic(row: i, positive: targets.contains(Int32(i)), lr: lr) }
    case .hs:
      loss = 0
      let path = setup.paths[target]
      let code = setup.codes[target]
      for i in 0..<path.count { loss += binaryLogistic(row: Int(path[i]), positive: code[i], lr: lr) }
    case .ns:
      loss = binaryLogistic(row: target, positive: true, lr: lr)
      let negatives = setup.negatives
      for _ in 0..<Int(setup.options.neg) {
        var negative: Int32
        repeat { negative = negatives[rng.uniformInt(negatives.count)] } while Int(negative) == target
        loss += binaryLogistic(row: Int(negative), positive: false, lr: lr)
      }
    }
    lossSum += loss
    examples += 1
    if normalize { for j in 0..<dim { grad[j] *= inv } }
    for r in input {
      let row = wi + Int(r) * dim
      for j in 0..<dim { row[j] += grad[j] }
    }
  }

  @inline(__always)
  func dot(_ row: UnsafeMutablePointer<Float>) -> Float {
    var acc: Float = 0
    for j in 0..<dim { acc += row[j] * hidden[j] }
    return acc
  }

  /// grad += alpha · row, then row += alpha · hidden (the gradient sees the row before its update).
  @inline(__always)
  func backward(_ row: UnsafeMutablePointer<Float>, alpha: Float) {
    for j in 0..<dim { grad[j] += alpha * row[j] }
    for j in 0..<dim { row[j] += alpha * hidden[j] }
  }

  @inline(__always)
  static func log(_ x: Float) -> Float {
    if x > 1 { return 0 }
    // Probabilities are never negative, but NaN ones (from NaN weights) must not become an index.
    guard x >= 0 else { return logTable[0] }
    return logTable[min(511, Int(x * 512))]
  }

  @inline(__always)
  func binaryLogistic(row i: Int, positive: Bool, lr: Float) -> Float {
    let row = setup.weights.wo + i * dim
    let score = FastTextPredictor.sigmoid(dot(row))
    let alpha = lr * ((positive ? 1 : 0) - score)
    backward(row, alpha: alpha)
    return positive ? -Self.log(score) : -Self.log(Float(1.0 - Double(score)))
  }

  @inline(__always)
  func softmax(target: Int, lr: Float) -> Float {
    let wo = setup.weights.wo
    let n = setup.weights.outputRows
    for i in 0..<n { output[i] = dot(wo + i * dim) }
    var mx = output[0]
    for i in 0..<n { mx = max(output[i], mx) }
    var z: Float = 0
    for i in 0..<n {
      output[i] = Float(exp(Double(output[i] - mx)))
      z += output[i]
    }
    for i in 0..<n { output[i] /= z }
    for i in 0..<n {
      let alpha = lr * ((i == target ? 1 : 0) - output[i])
      backward(wo + i * dim, alpha: alpha)
    }
    return -Self.log(output[target])
  }
}
