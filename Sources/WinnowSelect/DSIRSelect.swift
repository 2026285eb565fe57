import WinnowCore

/// `dsir_select`: Data Selection with Importance Resampling (Xie et al. 2023) toward one or
/// more target text sets, as `data-selection` 1.0.3's `HashedNgramDSIR` does it: hashed n-gram
/// features (`HashedNGramFeaturizer`), raw and target distributions (`DSIRFit`), per-document
/// log-importance weights log w(x) = Σ_j c_j(x)·log_diff_j (no length normalisation), and a
/// selection of `num_to_sample` documents — Gumbel-top-k (sampling ∝ w without replacement,
/// NumPy's seeded draw replayed exactly) or plain top-k. Documents shorter than
/// `min_example_length` words are never selected. The output keeps input order.
///
/// Passes (docs/architecture.md, "Phases"):
/// 1. documents: raw n-gram counts per task, and each document's features (its length and
///    sparse bucket counts, varint-coded: `DSIRFeatureFile`), so that no text is featurized
///    twice;
/// 2. middle ×1: the fit (raw counts summed, targets counted once);
/// 3. middle, one task per input task: each document's length and log weight(s), in order,
///    from its features;
/// 4. middle ×1: the selection — the exact global top-k of the (perturbed) weights, found by
///    passes over the weight files that narrow a threshold 16 bits at a time (memory is a
///    histogram, not the corpus); ties at the threshold go to the earlier document;
/// 5. documents (apply): keep the selected, or annotate.
public final class DSIRSelect: GlobalStage, DocumentStage {
  /// The recipe name, parameters and factories.
  public static let descriptor = StageDescriptor(
    name: "dsir_select",
    summary: "Select documents that resemble a target (DSIR importance resampling on hashed n-grams)",
    role: .select,
    parameters: [
      ParameterSpec(
        "targets", .scalarList, required: true, file: .reads,
        help:
          "target text: files or directories; JSON Lines (.jsonl/.json/.ndjson, also .zst/.gz; the text in target_field) or plain text (one item per non-blank line)"
      ),
      ParameterSpec("target_field", .string, default: .string("text"), help: "JSON Lines targets: the field that holds the text"),
      ParameterSpec("num_to_sample", .int(min: 0, max: nil), help: "documents to select (or fraction)"),
      ParameterSpec("fraction", .double(min: 0, max: 1), help: "documents to select, as a fraction of the documents reaching the stage"),
      ParameterSpec(
        "method", .choice(["gumbel", "top_k"]), default: .string("gumbel"),
        help: "gumbel: sample ∝ importance weight without replacement (seeded, NumPy's draw); top_k: the highest weights"),
      ParameterSpec("seed", .int(min: 0, max: Int(UInt32.max)), help: "seed of the Gumbel draw, as np.random.seed (default: the run's seed)"),
      ParameterSpec("ngrams", .int(min: 1, max: 8), default: .int(2), help: "hash unigrams up to n-grams"),
      ParameterSpec("num_buckets", .int(min: 1, max: 1 << 31), default: .int(10_000), help: "hash buckets of the n-gram features"),
      ParameterSpec(
        "min_example_length", .int(min: 0, max: nil), default: .int(100),
        help: "documents with fewer words (wordpunct tokens) are never selected (reason dsir_too_short)"),
      ParameterSpec(
        "separate_targets", .bool, default: .bool(false),
        help: "one distribution and one selection per target (split by target_proportions), instead of one pooled target"),
      ParameterSpec(
        "target_proportions", .scalarList,
        help: "separate_targets: each target's share of the sample (default: by the targets' sizes in n-grams)"),
      ParameterSpec(
        "mode", .choice(["select", "annotate"]), default: .string("select"),
        help: "select: keep the selected documents only; annotate: keep every document and add dsir_log_weight"),
      ParameterSpec("save_fit", .string, file: .writes, help: "save the fit (counts of the raw corpus and the targets) here, for winnow dsir"),
    ],
    makeGlobal: { (p, ctx) throws(WinnowError) in try DSIRSelect(p, ctx) },
    make: { (_, _) throws(WinnowError) in
      throw .usage(
        "stage 'dsir_select' weighs every document against the whole corpus before it selects one: run it in a recipe ('winnow run'), or weigh documents with 'winnow dsir weights'"
      )
    })

  /// Drop reason: eligible but not drawn.
  public static let notSelected = "dsir_not_selected"
  /// Drop reason: fewer than min_example_length words.
  public static let tooShort = "dsir_too_short"

  /// Target files or directories.
  public let targets: [String]
  /// The field holding a JSON Lines target's text.
  public let targetField: String
  /// How many documents to select.
  public let count: Count
  /// Plain top-k instead of Gumbel-top-k sampling.
  public let topK: Bool
  /// Seed of the Gumbel draws (`np.random.seed`).
  public let seed: UInt32
  /// Hash unigrams up to n-grams.
  public let ngrams: Int
  /// Hash buckets of the features.
  public let buckets: Int
  /// Documents with fewer words are never selected.
  public let minLength: Int
  /// One distribution and one selection per target.
  public let separateTargets: Bool
  /// Each target's share of the sample (nil: by size).
  public let proportions: [Double]?
  /// Annotate every document with its weight instead of selecting.
  public let annotate: Bool
  /// Where to save the fit, if anywhere.
  public let savePath: String?

  /// How many documents to select.
  public enum Count: Sendable, Equatable {
    /// This many documents.
    case documents(Int)
    /// This fraction of the documents reaching the stage (rounded down).
    case fraction(Double)
    /// None: annotate mode.
    case none
  }

  convenience init(_ p: StageParameters, _ ctx: StageContext) throws(WinnowError) {
    let annotate = p.string("mode") == "annotate"
    let count: Count
    switch (p.int("num_to_sample"), p.double("fraction")) {
    case (let n?, nil): count = .documents(n)
    case (nil, let f?): count = .fraction(f)
    case (nil, nil):
      guard annotate else { throw .usage("stage 'dsir_select': give num_to_sample or fraction (or mode: annotate)") }
      count = .none
    default: throw .usage("stage 'dsir_select': give num_to_sample or fraction, not both")
    }
    let targets = p.list("targets") ?? []
    guard !targets.isEmpty else { throw .usage("stage 'dsir_select': targets names no file") }
    var proportions: [Double]?
    if let list = p.list("target_proportions") {
      guard p.bool("separate_targets")! else { throw .usage("stage 'dsir_select': target_proportions needs separate_targets: true") }
      let values = list.compactMap(Double.init)
      guard values.count == list.count, values.allSatisfy({ $0 >= 0 && $0.isFinite }), values.reduce(0, +) > 0 else {
        throw .usage("stage 'dsir_select': target_proportions must be non-negative numbers, not all zero")
      }
      guard values.count == targets.count else {
        throw .usage("stage 'dsir_select': target_proportions has \(values.count) values for \(targets.count) targets")
      }
      proportions = values
    }
    self.init(
      targets: targets, targetField: p.string("target_field")!, count: count, topK: p.string("method") == "top_k",
      seed: UInt32(truncatingIfNeeded: p.int("seed") ?? Int(truncatingIfNeeded: ctx.seed & 0xFFFF_FFFF)),
      ngrams: p.int("ngrams")!, buckets: p.int("num_buckets")!, minLength: p.int("min_example_length")!,
      separateTargets: p.bool("separate_targets")!, proportions: proportions, annotate: annotate, save: p.string("save_fit"))
  }

  /// A stage with these settings (the recipe parameters of the same names).
  public init(
    targets: [String], targetField: String = "text", count: Count, topK: Bool = false, seed: UInt32 = 0, ngrams: Int = 2,
    buckets: Int = 10_000, minLength: Int = 100, separateTargets: Bool = false, proportions: [Double]? = nil,
    annotate: Bool = false, save: String? = nil
  ) {
    self.targets = targets
    self.targetField = targetField
    self.count = count
    self.topK = topK
    self.seed = seed
    self.ngrams = ngrams
    self.buckets = buckets
    self.minLength = minLength
    self.separateTargets = separateTargets
    self.proportions = proportions
    self.annotate = annotate
    self.savePath = save
  }

  /// The rows of weights per document: one per target distribution.
  var rows: Int { separateTargets ? targets.count : 1 }

  public func process(_ doc: Document) -> Verdict { .keep }

  // MARK: Phases

  public var passes: [PhasePass] { [.documents, .middle(.fixed(1)), .middle(.perInputTask), .middle(.fixed(1)), .documents] }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    return DSIRCountStage(self, phase: phase)
  }

  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    try phase.prepareDirectory()
    switch phase.pass {
    case 1: return try fit(phase)
    case 2: return try weigh(phase)
    default: return try select(phase)
    }
  }

  /// Pass 3: one input task's documents' lengths and log weights, from their features.
  func weigh(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    let logDiff = try loadFit(phase).logDiff
    let source = PhaseTask.name(pass: 0, task: phase.task)
    let files = try phase.files(ofPass: 0, prefix: source + "-", suffix: "", containing: DSIRFeatureFile.marker)
    guard !files.isEmpty else {
      throw .io("dsir_select: no features file of \(source) in \(phase.directory(0)); run the same command again")
    }
    var records: [DSIRValue] = []
    var weights = [Double](repeating: 0, count: logDiff.count)
    for f in files {
      try DSIRFeatureFile.forEachDocument(f, buckets: buckets) { (length, features) throws(WinnowError) in
        // Σ_j c_j·log_diff_j, summed in bucket order as the reference's dot product is.
        for r in logDiff.indices {
          var sum = 0.0
          logDiff[r].withUnsafeBufferPointer { row in
            for (b, c) in features { sum += Double(c) * row[b] }
          }
          weights[r] = sum
        }
        records.append(DSIRValue(UInt64(length)))
        for w in weights { records.append(DSIRValue(w.bitPattern)) }
      }
    }
    try phase.write(&records, name: "\(phase.name)-doc.weights", sort: false)
    var stats = RunStats()
    stats.inputFiles = files.map(\.path)
    return stats
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let task = PhaseTask.name(pass: 2, task: phase.task)
    let weights = try phase.files(ofPass: 2, prefix: task + "-", suffix: ".weights")
    guard weights.count == 1 else { throw .io("dsir_select: no weights file of \(task) in \(phase.directory(2))") }
    let selected = try phase.files(ofPass: 3, suffix: "-sel-\(pad(phase.task, 5))")
    guard selected.count == 1 else {
      throw .io("dsir_select: the selection task recorded no selection for task \(phase.task) in \(phase.directory(3))")
    }
    return DSIRApplyStage(
      self, weights: try SortedRunReader<DSIRValue>(file: weights[0]),
      selected: try SortedRunFile.readAll(selected[0], as: DSIRValue.self).map(\.value))
  }

  // MARK: Fit

  /// Sums the raw counts of every task, counts the targets, writes the fit.
  func fit(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    let files = try phase.files(ofPass: 0, suffix: ".counts", fromEveryTask: "dsir_select: raw n-gram counts")
    var raw = [UInt64](repeating: 0, count: buckets)
    for f in files {
      let r = try SortedRunReader<DSIRValue>(file: f)
      var j = 0
      while let v = try r.next() {
        guard j < buckets else { throw .io("\(f.path): more than \(buckets) counts") }
        raw[j] &+= v.value
        j += 1
      }
      guard j == buckets else { throw .io("\(f.path): \(j) counts, not \(buckets)") }
    }
    let targetCounts = try DSIRTargets.count(targets, field: targetField, ngrams: ngrams, buckets: buckets, stage: "dsir_select")
    let fit = DSIRFit(
      ngrams: ngrams, buckets: buckets, rawCounts: raw, targetCounts: targetCounts, targetNames: targets,
      separateTargets: separateTargets, givenProportions: proportions)
    var records = raw.map(DSIRValue.init)
    for row in targetCounts { records += row.map(DSIRValue.init) }
    try phase.write(&records, name: "\(phase.name)-fit", sort: false)
    if let savePath { try writeTextFile(savePath, fit.json()) }
    var stats = RunStats()
    stats.inputFiles = files.map(\.path)
    return stats
  }

  func loadFit(_ phase: PhaseTask) throws(WinnowError) -> DSIRFit {
    let files = try phase.files(ofPass: 1, suffix: "-fit")
    guard files.count == 1 else { throw .io("dsir_select: the fit task recorded no fit in \(phase.directory(1))") }
    let values = try SortedRunFile.readAll(files[0], as: DSIRValue.self).map(\.value)
    guard values.count == buckets * (1 + targets.count) else {
      throw .io("\(files[0].path): \(values.count) counts, not \(buckets * (1 + targets.count)); run with --fresh")
    }
    return DSIRFit(
      ngrams: ngrams, buckets: buckets, rawCounts: Array(values[0..<buckets]),
      targetCounts: (0..<targets.count).map { Array(values[(1 + $0) * buckets..<(2 + $0) * buckets]) },
      targetNames: targets, separateTargets: separateTargets, givenProportions: proportions)
  }

  // MARK: Selection

  /// One document's entry in the weight files, handed to a scan.
  struct Entry {
    var task: Int
    var ordinal: Int
    var length: Int
    var weights: [Double]
  }

  /// Calls `body` with every document's length and weights, in input order.
  func forEachEntry(_ phase: PhaseTask, _ body: (Entry) throws(WinnowError) -> Void) throws(WinnowError) {
    var entry = Entry(task: 0, ordinal: 0, length: 0, weights: [Double](repeating: 0, count: rows))
    for t in 0..<phase.inputTasks {
      let name = PhaseTask.name(pass: 2, task: t)
      let files = try phase.files(ofPass: 2, prefix: name + "-", suffix: ".weights")
      guard files.count == 1 else { throw .io("dsir_select: no weights file of \(name) in \(phase.directory(2)); run the same command again") }
      let r = try SortedRunReader<DSIRValue>(file: files[0])
      entry.task = t
      entry.ordinal = 0
      while let length = try r.next() {
        entry.length = Int(truncatingIfNeeded: length.value)
        for k in 0..<rows {
          guard let w = try r.next() else { throw .io("\(files[0].path): ends inside a document's weights") }
          entry.weights[k] = Double(bitPattern: w.value)
        }
        try body(entry)
        entry.ordinal += 1
      }
    }
  }

  /// Which documents a row of the selection takes: those whose key's top `bits` bits are
  /// above `prefix`, and of those equal to it all (tieLimit nil) or the first `tieLimit`.
  struct Rule {
    var bits = 0
    var prefix: UInt64 = 0
    var tieLimit: Int?
    var ties = 0

    mutating func accepts(_ u: UInt64) -> Bool {
      let top = bits == 0 ? 0 : u >> UInt64(64 - bits)
      if top > prefix { return true }
      guard top == prefix else { return false }
      guard let limit = tieLimit else { return true }
      guard ties < limit else { return false }
      ties += 1
      return true
    }
  }

  /// A double's order as an unsigned integer (larger double, larger integer).
  static func orderKey(_ d: Double) -> UInt64 {
    let b = d.bitPattern
    return b >> 63 == 1 ? ~b : b | (1 << 63)
  }

  /// Replays rows 0 … `upTo` of the selection over every document in order: rows before
  /// `upTo` decide with their rules (a document chosen by one is not a candidate of later
  /// rows), and `visit` sees the key of every candidate of row `upTo` (all rows decide when
  /// `upTo` is nil, and `decided` sees each document's outcome). Returns the generators after.
  func replay(
    _ phase: PhaseTask, upTo: Int?, rules: [Rule], generators: [NumpyLegacyRandom], samples: [Int],
    visit: (UInt64) -> Void, decided: (Entry, Bool) throws(WinnowError) -> Void
  ) throws(WinnowError) -> [NumpyLegacyRandom] {
    var rules = rules
    var gens = generators
    let last = upTo ?? (rows - 1)
    try forEachEntry(phase) { (e) throws(WinnowError) in
      var chosen = false
      if e.length >= minLength {
        for j in 0...last where samples[j] > 0 && !chosen {
          let key = Self.orderKey(topK ? e.weights[j] : e.weights[j] + gens[j].gumbel())
          if j == upTo {
            visit(key)
          } else {
            chosen = rules[j].accepts(key)
          }
        }
      }
      if upTo == nil { try decided(e, chosen) }
    }
    return gens
  }

  /// Finds every row's rule, then writes each input task's selected ordinals.
  func select(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    var total = 0
    var eligible = 0
    try forEachEntry(phase) { e in
      total += 1
      if e.length >= minLength { eligible += 1 }
    }
    let wanted: Int
    switch count {
    case .documents(let n): wanted = n
    case .fraction(let f): wanted = Int((f * Double(total)).rounded(.down))
    case .none: wanted = 0
    }
    let fit = try loadFit(phase)
    let samples = annotate ? [Int](repeating: 0, count: rows) : fit.samplesPerTarget(wanted)
    var rules = [Rule](repeating: Rule(), count: rows)
    // Row j's draws start where row j−1's ended (NumPy draws one array per target, in order).
    var starts = [NumpyLegacyRandom(seed: seed)]
    for j in 0..<rows {
      if samples[j] == 0 {
        starts.append(starts[j])
        continue
      }
      var need = samples[j]
      var rule = Rule()
      var histogram = [Int](repeating: 0, count: 1 << 16)
      var end = starts[j]
      while true {
        for i in histogram.indices { histogram[i] = 0 }
        let bits = rule.bits
        let prefix = rule.prefix
        let shift = UInt64(48 - bits)
        let gens = try replay(
          phase, upTo: j, rules: rules, generators: starts,
          samples: samples,
          visit: { u in
            if bits == 0 || u >> UInt64(64 - bits) == prefix { histogram[Int((u >> shift) & 0xFFFF)] += 1 }
          }, decided: { (_, _) throws(WinnowError) in })
        end = gens[j]
        let candidates = histogram.reduce(0, +)
        if bits == 0 && need >= candidates {
          rule = Rule(bits: 0, prefix: 0, tieLimit: nil)  // every candidate
          break
        }
        var above = 0
        var bin = 0xFFFF
        while above + histogram[bin] < need {
          above += histogram[bin]
          bin -= 1
        }
        need -= above
        rule.prefix = rule.prefix << 16 | UInt64(bin)
        rule.bits += 16
        if histogram[bin] == need { break }
        if rule.bits == 64 {
          rule.tieLimit = need
          break
        }
      }
      rules[j] = rule
      starts.append(end)
    }
    // The decision per document, written per input task.
    var selected: [DSIRValue] = []
    var currentTask = 0
    var chosenCount = 0
    func flush(_ t: Int) throws(WinnowError) {
      try phase.write(&selected, name: "\(phase.name)-sel-\(pad(t, 5))", sort: false)
      selected.removeAll(keepingCapacity: true)
    }
    _ = try replay(
      phase, upTo: nil, rules: rules, generators: Array(starts.prefix(rows)), samples: samples, visit: { _ in },
      decided: { (e, chosen) throws(WinnowError) in
        while currentTask < e.task {
          try flush(currentTask)
          currentTask += 1
        }
        if chosen {
          selected.append(DSIRValue(UInt64(e.ordinal)))
          chosenCount += 1
        }
      })
    while currentTask < phase.inputTasks {
      try flush(currentTask)
      currentTask += 1
    }
    var stats = RunStats()
    stats.documentsRead = total
    var st = StageStats(name: Self.descriptor.name)
    st.documentsIn = total
    st.kept = annotate ? total : chosenCount
    stats.stages = [st]
    _ = eligible
    return stats
  }
}

/// One 64-bit value of DSIR's phase files (counts, lengths, weights as bit patterns, ordinals),
/// in the order written.
struct DSIRValue: RunRecord {
  var value: UInt64
  init(_ value: UInt64) { self.value = value }
  static var byteSize: Int { 8 }
  static var tag: String { "DSIRVAL1" }
  func store(to p: UnsafeMutableRawPointer) { p.storeBytes(of: value.littleEndian, as: UInt64.self) }
  init(loadingFrom p: UnsafeRawPointer) { value = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) }
  static func < (a: DSIRValue, b: DSIRValue) -> Bool { a.value < b.value }
}

/// Pass 1: the raw corpus's n-gram counts of one task, and each document's features.
final class DSIRCountStage: PhaseDocumentStage {
  let owner: DSIRSelect
  let phase: PhaseTask
  var featurizer: HashedNGramFeaturizer
  var counts: [UInt64]
  var perDocument: [UInt32]
  var touched: [Int] = []
  /// One bit per bucket, to list a document's buckets in order.
  var bits: [UInt64]
  var features: DSIRFeatureFile.Writer

  init(_ owner: DSIRSelect, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
    featurizer = FeaturizerPool.take(ngrams: owner.ngrams, buckets: owner.buckets)
    counts = [UInt64](repeating: 0, count: owner.buckets)
    perDocument = [UInt32](repeating: 0, count: owner.buckets)
    bits = [UInt64](repeating: 0, count: (owner.buckets + 63) / 64)
    features = DSIRFeatureFile.Writer(phase: phase)
  }

  func process(_ doc: Document) throws(WinnowError) -> Verdict {
    // Locals in the loop: a class's properties would be checked for exclusive access at
    // every feature.
    var touched = self.touched
    self.touched = []
    touched.removeAll(keepingCapacity: true)
    var total = 0
    var bits = self.bits
    self.bits = []
    counts.withUnsafeMutableBufferPointer { c in
      perDocument.withUnsafeMutableBufferPointer { d in
        featurizer.features(doc.text) { b in
          if d[b] == 0 { touched.append(b) }
          d[b] &+= 1
          c[b] &+= 1
          total += 1
        }
      }
    }
    // Bucket order: a sort of the touched buckets when they are few, else a bitmap of them
    // read in order.
    if touched.count < 32 {
      touched.sort()
    } else {
      bits.withUnsafeMutableBufferPointer { w in
        for b in touched { w[b >> 6] |= 1 << UInt64(b & 63) }
        touched.removeAll(keepingCapacity: true)
        for i in w.indices where w[i] != 0 {
          var word = w[i]
          while word != 0 {
            touched.append(i << 6 | word.trailingZeroBitCount)
            word &= word &- 1
          }
          w[i] = 0
        }
      }
    }
    let n = owner.ngrams
    try features.add(length: (total + n * (n - 1) / 2) / n, touched: touched, counts: perDocument)
    perDocument.withUnsafeMutableBufferPointer { d in
      for b in touched { d[b] = 0 }
    }
    self.touched = touched
    self.bits = bits
    return .keep
  }

  func finish() throws(WinnowError) {
    FeaturizerPool.give(&featurizer)
    try features.finish()
    var records = counts.map(DSIRValue.init)
    try phase.write(&records, name: "\(phase.name)-raw.counts", sort: false)
  }
}

/// Each document's features between the counting and the weighting passes: its length (in
/// words) and its distinct buckets with their counts, ascending, as LEB128 varints — the
/// length, the number of buckets, then (bucket − previous bucket, count) pairs (the first
/// bucket as bucket + 1). The bytes are packed into 8-byte run records (so the run file's
/// checksum guards them) in chunk files of at most about 32 MB, each starting with its
/// document and byte counts: a task's memory stays bounded however large its input.
enum DSIRFeatureFile {
  /// What every features file's name contains.
  static let marker = "-doc.features."
  static let chunkBytes = 32 << 20

  struct Writer {
    let phase: PhaseTask
    var bytes: [UInt8] = []
    var documents = 0
    var chunk = 0

    init(phase: PhaseTask) { self.phase = phase }

    mutating func varint(_ v: UInt64) {
      var v = v
      while v >= 0x80 {
        bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
        v >>= 7
      }
      bytes.append(UInt8(v))
    }

    mutating func add(length: Int, touched: [Int], counts: [UInt32]) throws(WinnowError) {
      varint(UInt64(length))
      varint(UInt64(touched.count))
      var previous = -1
      for b in touched {
        varint(UInt64(b - previous))
        varint(UInt64(counts[b]))
        previous = b
      }
      documents += 1
      if bytes.count >= DSIRFeatureFile.chunkBytes { try flush() }
    }

    mutating func flush() throws(WinnowError) {
      var records = [DSIRValue(UInt64(documents)), DSIRValue(UInt64(bytes.count))]
      records.reserveCapacity(2 + (bytes.count + 7) / 8)
      var k = 0
      while k < bytes.count {
        var word: UInt64 = 0
        for j in 0..<min(8, bytes.count - k) { word |= UInt64(bytes[k + j]) << UInt64(8 * j) }
        records.append(DSIRValue(word))
        k += 8
      }
      try phase.write(&records, name: "\(phase.name)\(DSIRFeatureFile.marker)\(pad(chunk, 5))", sort: false)
      chunk += 1
      bytes.removeAll(keepingCapacity: true)
      documents = 0
    }

    /// Writes the last chunk (a task with no documents writes an empty one).
    mutating func finish() throws(WinnowError) {
      if documents > 0 || chunk == 0 { try flush() }
    }
  }

  /// Calls `body` with every document's length and (bucket, count) features of a recorded
  /// features file, in order. Every size is checked: a damaged file is an error naming it.
  static func forEachDocument(
    _ file: WrittenFile, buckets: Int, _ body: (Int, [(Int, UInt32)]) throws(WinnowError) -> Void
  ) throws(WinnowError) {
    let words = try SortedRunFile.readAll(file, as: DSIRValue.self)
    func bad(_ why: String) -> WinnowError { .io("\(file.path): \(why); run with --fresh") }
    guard words.count >= 2 else { throw bad("no header") }
    let documents = words[0].value
    let byteCount = words[1].value
    let payload = UInt64(words.count - 2) * 8
    guard byteCount <= payload, byteCount + 8 > payload else { throw bad("\(byteCount) bytes in \(words.count - 2) words") }
    let n = Int(byteCount)
    var at = 0
    func byte(_ k: Int) -> UInt8 { UInt8(truncatingIfNeeded: words[2 + k / 8].value >> UInt64(8 * (k % 8))) }
    func varint() throws(WinnowError) -> UInt64 {
      var v: UInt64 = 0
      var shift: UInt64 = 0
      while true {
        guard at < n else { throw bad("ends inside a number") }
        let b = byte(at)
        at += 1
        guard shift < 63 || (shift == 63 && b <= 1) else { throw bad("a number too large") }
        v |= UInt64(b & 0x7F) << shift
        if b & 0x80 == 0 { return v }
        shift += 7
      }
    }
    var features: [(Int, UInt32)] = []
    var seen: UInt64 = 0
    while at < n {
      let length = try varint()
      let count = try varint()
      guard length <= UInt64(Int.max), count <= UInt64(buckets) else { throw bad("a document with \(count) buckets of \(buckets)") }
      features.removeAll(keepingCapacity: true)
      var bucket = -1
      for _ in 0..<Int(count) {
        let delta = try varint()
        let c = try varint()
        // Ascending buckets: every step at least one, none past the last bucket.
        guard delta >= 1, delta <= UInt64(buckets - 1 - bucket), c >= 1, c <= UInt64(UInt32.max) else {
          throw bad("a bucket or a count out of range")
        }
        bucket += Int(delta)
        features.append((bucket, UInt32(c)))
      }
      try body(Int(length), features)
      seen += 1
    }
    guard seen == documents else { throw bad("\(seen) documents, not \(documents)") }
  }
}

/// One document's length and log importance weights under a fit (`winnow dsir weights`, and
/// a library's way to score text the way `dsir_select` does).
public struct DSIRWeigher {
  var featurizer: HashedNGramFeaturizer
  let logDiff: [[Double]]
  var counts: [Int]
  var touched: [Int] = []

  /// A weigher with the fit's log_diff rows.
  public init(fit: DSIRFit) {
    featurizer = HashedNGramFeaturizer(ngrams: fit.ngrams, buckets: fit.buckets)
    logDiff = fit.logDiff
    counts = [Int](repeating: 0, count: fit.buckets)
  }

  /// The text's length in words (wordpunct tokens) and its log weight per target distribution.
  public mutating func weigh(_ text: UnsafeBufferPointer<UInt8>) -> (length: Int, logWeights: [Double]) {
    Self.weigh(text, featurizer: &featurizer, logDiff: logDiff, counts: &counts, touched: &touched)
  }

  /// The reference's length, `(Σfeatures + n(n−1)/2) // n` (the word count), and
  /// Σ_j c_j·log_diff_j per row, summed in bucket order as the reference's dot product is.
  static func weigh(
    _ text: UnsafeBufferPointer<UInt8>, featurizer: inout HashedNGramFeaturizer, logDiff: [[Double]],
    counts: inout [Int], touched: inout [Int]
  ) -> (Int, [Double]) {
    touched.removeAll(keepingCapacity: true)
    var total = 0
    counts.withUnsafeMutableBufferPointer { c in
      featurizer.features(text) { b in
        if c[b] == 0 { touched.append(b) }
        c[b] &+= 1
        total += 1
      }
    }
    // Bucket order, as the reference's dot product sums: a sort of the touched buckets when
    // they are few, else a scan of the counts (cheaper than sorting most of them).
    if touched.count * 16 < counts.count {
      touched.sort()
    } else {
      touched.removeAll(keepingCapacity: true)
      for (b, c) in counts.enumerated() where c != 0 { touched.append(b) }
    }
    var weights = [Double](repeating: 0, count: logDiff.count)
    for (r, row) in logDiff.enumerated() {
      var s = 0.0
      for b in touched { s += Double(counts[b]) * row[b] }
      weights[r] = s
    }
    for b in touched { counts[b] = 0 }
    let n = featurizer.ngrams
    return ((total + n * (n - 1) / 2) / n, weights)
  }
}

/// Pass 5: keeps the selected documents (or annotates every document with its weight).
final class DSIRApplyStage: DocumentStage {
  let owner: DSIRSelect
  let weights: SortedRunReader<DSIRValue>
  let selected: [UInt64]
  var next = 0
  var ordinal: UInt64 = 0

  init(_ owner: DSIRSelect, weights: SortedRunReader<DSIRValue>, selected: [UInt64]) {
    self.owner = owner
    self.weights = weights
    self.selected = selected
  }

  func process(_ doc: Document) throws(WinnowError) -> Verdict {
    defer { ordinal += 1 }
    guard let length = try weights.next() else {
      throw .io("dsir_select: \(weights.path) ends before document \(ordinal) of this task; run with --fresh")
    }
    var values: [Double] = []
    for _ in 0..<owner.rows {
      guard let w = try weights.next() else { throw .io("dsir_select: \(weights.path) ends inside a document's weights") }
      values.append(Double(bitPattern: w.value))
    }
    while next < selected.count && selected[next] < ordinal { next += 1 }
    let chosen = next < selected.count && selected[next] == ordinal
    if owner.annotate {
      if values.count == 1 {
        doc.annotate("dsir_log_weight", .double(values[0]))
      } else {
        doc.annotate("dsir_log_weight", .json("[" + values.map(jsonNumberOrNull).joined(separator: ",") + "]"))
      }
      return .keep
    }
    if chosen { return .keep }
    return .drop(Int(length.value) < owner.minLength ? DSIRSelect.tooShort : DSIRSelect.notSelected)
  }
}
