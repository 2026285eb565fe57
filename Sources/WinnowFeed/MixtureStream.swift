// The mixture stream: packed training sequences drawn from several token datasets in given
// proportions, deterministic, resumable at any step without replaying the earlier ones, and
// split across ranks (and data-loader workers) with no overlap and nothing skipped.
//
// Which dataset sample n comes from follows Megatron-LM's `build_blending_indices`: sample i
// of a block goes to the dataset with the largest error w_d·max(i, 1) − count_d (ties to the
// lowest index). The rule is computed once for a block of B samples (B = the phase's length up
// to 2^20), and blocks repeat, so that sample n's dataset and its index inside that dataset are
// table lookups: dataset-sample = block·count_d(B) + count_d(offset). With `total_samples` no
// larger than the block, the order is exactly Megatron's for the same weights.
//
// A schedule changes the weights at fractions of `total_samples` (e.g. the last 20 % with more
// code and math); each phase is blended on its own and every dataset continues where the
// previous phases left it.
//
// Inside a dataset, sample j is tokens [j·L, j·L + L] (L + 1 tokens: inputs and shifted
// targets, consecutive samples sharing one token, as Megatron's GPTDataset) of the dataset's
// token stream: its documents concatenated — in a seeded order that changes every epoch when
// `shuffle` is on — and repeated epoch after epoch. Documents carry the end-of-document token
// the export appended, so a sample that spans two documents has it between them.

import Foundation
import WinnowCore

/// What a mixture stream reads and how.
public struct MixtureConfig: Codable, Sendable, Equatable {
  /// One dataset of the mixture.
  public struct Dataset: Codable, Sendable, Equatable {
    /// A dataset prefix: `PREFIX.bin` with `PREFIX.idx` (Megatron) or `PREFIX.json` (flat tokens).
    public var path: String
    /// The dataset's share (weights are normalised to sum to one).
    public var weight: Double

    /// A dataset prefix and its weight.
    public init(path: String, weight: Double) {
      self.path = path
      self.weight = weight
    }
  }

  /// Weights from a fraction of training on.
  public struct Phase: Codable, Sendable, Equatable {
    /// Where the phase starts, as a fraction of `totalSamples` (0 < start < 1).
    public var start: Double
    /// One weight per dataset.
    public var weights: [Double]

    /// A phase starting at `start` (a fraction of the run) with `weights`.
    public init(start: Double, weights: [Double]) {
      self.start = start
      self.weights = weights
    }
  }

  /// The datasets, in the order their weights and indices refer to.
  public var datasets: [Dataset]
  /// Tokens per training sequence; each sample holds `sequenceLength + 1`.
  public var sequenceLength: Int
  /// Seed of the epoch shuffles.
  public var seed: UInt64 = 0
  /// Samples in the whole training run (all ranks): needed for a schedule, and the blend is
  /// exactly Megatron's when it is at most 2^20.
  public var totalSamples: Int?
  /// Later phases; the datasets' own weights hold before the first.
  public var schedule: [Phase] = []
  /// Weight changes at given global samples, in order, after every schedule phase: the log of
  /// `MixtureStream.update` (online reweighting such as DoReMi's), so that a stream reopened
  /// from this configuration — a resumed run, a data-loading worker — draws the same samples.
  public var updates: [Update] = []

  /// New weights from a global sample on.
  public struct Update: Codable, Sendable, Equatable {
    /// The first global sample drawn with `weights`.
    public var sample: Int
    /// One weight per dataset.
    public var weights: [Double]

    /// An update at `sample`.
    public init(sample: Int, weights: [Double]) {
      self.sample = sample
      self.weights = weights
    }
  }
  /// Documents in a new seeded order every epoch (else in dataset order).
  public var shuffle = true

  enum CodingKeys: String, CodingKey {
    case datasets, seed, schedule, shuffle, updates
    case sequenceLength = "seq_len"
    case totalSamples = "total_samples"
  }

  /// A configuration with the defaults: seed 0, no schedule, shuffled epochs.
  public init(datasets: [Dataset], sequenceLength: Int) {
    self.datasets = datasets
    self.sequenceLength = sequenceLength
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    datasets = try c.decode([Dataset].self, forKey: .datasets)
    sequenceLength = try c.decode(Int.self, forKey: .sequenceLength)
    seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
    totalSamples = try c.decodeIfPresent(Int.self, forKey: .totalSamples)
    schedule = try c.decodeIfPresent([Phase].self, forKey: .schedule) ?? []
    shuffle = try c.decodeIfPresent(Bool.self, forKey: .shuffle) ?? true
    updates = try c.decodeIfPresent([Update].self, forKey: .updates) ?? []
  }

  /// The configuration as JSON (what `fromJSON` reads; the update log included).
  public func json() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Array(try! encoder.encode(self))
  }

  /// Reads a configuration from JSON (what the C ABI and the Python package pass).
  public static func fromJSON(_ bytes: [UInt8]) throws(WinnowError) -> MixtureConfig {
    do {
      return try JSONDecoder().decode(MixtureConfig.self, from: Data(bytes))
    } catch {
      throw .usage("mixture configuration: \(error)")
    }
  }
}

/// A token dataset as the stream reads it: documents of tokens.
protocol TokenDocuments: AnyObject {
  var path: String { get }
  var documentCount: Int { get }
  /// First token and token count of document k.
  func document(_ k: Int) -> (start: Int, count: Int)
  var tokenCount: Int { get }
  /// Copies tokens [start, start + count) of the file into `out`.
  func copy(_ start: Int, _ count: Int, into out: UnsafeMutablePointer<UInt32>)
}

extension MegatronDataset: TokenDocuments {
  var path: String { prefix }
  func document(_ k: Int) -> (start: Int, count: Int) {
    let a = documentStart(k)
    let b = documentStart(k + 1)
    guard b > a else { return (0, 0) }
    var n = 0
    for s in a..<b { n += sequenceLength(s) }
    return (sequenceOffset(a), n)
  }

  func copy(_ start: Int, _ count: Int, into out: UnsafeMutablePointer<UInt32>) {
    let raw = binBytes
    switch dtype {
    case .uint16:
      let p = raw.baseAddress!.advanced(by: 2 * start)
      for i in 0..<count { out[i] = UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
    case .int32:
      let p = raw.baseAddress!.advanced(by: 4 * start)
      for i in 0..<count { out[i] = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
    default:
      for i in 0..<count { out[i] = token(start + i) }
    }
  }
}

/// A flat token file read as one document.
final class FlatTokenDocuments: TokenDocuments {
  let path: String
  let file: MappedFile
  let dtype: FlatTokenDType

  init(prefix: String) throws(WinnowError) {
    path = prefix
    let side = try FlatTokenSidecar.read(prefix + ".json")
    dtype = side.dtype
    file = try MappedFile(path: prefix + ".bin")
    guard file.bytes.count % dtype.size == 0, file.bytes.count / dtype.size == side.tokens else {
      throw .io("\(prefix).bin: holds \(file.bytes.count) bytes, the sidecar says \(side.tokens) \(dtype.rawValue) tokens")
    }
  }

  var documentCount: Int { 1 }
  var tokenCount: Int { file.bytes.count / dtype.size }
  func document(_ k: Int) -> (start: Int, count: Int) { (0, tokenCount) }

  func copy(_ start: Int, _ count: Int, into out: UnsafeMutablePointer<UInt32>) {
    let raw = UnsafeRawPointer(file.bytes.baseAddress!)
    if dtype == .uint16 {
      for i in 0..<count { out[i] = UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * (start + i), as: UInt16.self))) }
    } else {
      for i in 0..<count { out[i] = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * (start + i), as: UInt32.self)) }
    }
  }
}

/// The blend of one phase: Megatron's rule over a block, repeated.
struct BlendBlock: Sendable {
  let block: Int
  /// Dataset of each offset in the block, and its index among that dataset's samples in the block.
  let dataset: [UInt16]
  let inBlock: [UInt32]
  /// Samples of each dataset per whole block.
  let perBlock: [Int]

  init(weights: [Double], block: Int) {
    self.block = block
    let k = weights.count
    var counts = [Int](repeating: 0, count: k)
    var dataset = [UInt16](repeating: 0, count: block)
    var inBlock = [UInt32](repeating: 0, count: block)
    for i in 0..<block {
      let x = Double(max(i, 1))
      var best = 0
      var bestError = weights[0] * x - Double(counts[0])
      for d in 1..<k {
        let e = weights[d] * x - Double(counts[d])
        if e > bestError {
          bestError = e
          best = d
        }
      }
      dataset[i] = UInt16(best)
      inBlock[i] = UInt32(counts[best])
      counts[best] += 1
    }
    self.dataset = dataset
    self.inBlock = inBlock
    perBlock = counts
  }

  /// Dataset of the phase's sample r and its index among that dataset's samples in the phase.
  @inline(__always)
  func locate(_ r: Int) -> (dataset: Int, index: Int) {
    let b = r / block
    let o = r - b * block
    let d = Int(dataset[o])
    return (d, b * perBlock[d] + Int(inBlock[o]))
  }

  /// Samples of dataset d among the phase's first n.
  func count(_ d: Int, in n: Int) -> Int {
    let b = n / block
    var c = b * perBlock[d]
    for o in 0..<(n - b * block) where Int(dataset[o]) == d { c += 1 }
    return c
  }
}

/// Packed training sequences from a mixture of token datasets (see the file comment). Not for
/// sharing between threads: each data-loading thread or process opens its own.
public final class MixtureStream {
  /// The configuration the stream was opened with.
  public private(set) var config: MixtureConfig
  let sources: [TokenDocuments]
  /// Phases: first sample, blend, and the samples each dataset gave in earlier phases.
  private(set) var phases: [(start: Int, blend: BlendBlock, before: [Int])]
  /// The largest blend block: 2^20 samples.
  public static let maxBlock = 1 << 20
  private var epochCache: [Int: (epoch: Int, order: [Int32], ends: [Int64])] = [:]

  /// Opens and checks every dataset (memory-mapped) and tabulates each phase's blend.
  public init(_ config: MixtureConfig) throws(WinnowError) {
    self.config = config
    guard !config.datasets.isEmpty else { throw .usage("mixture: no datasets") }
    guard config.datasets.count <= Int(UInt16.max) else { throw .usage("mixture: more than 65,535 datasets") }
    guard config.sequenceLength >= 1, config.sequenceLength <= 1 << 24 else { throw .usage("mixture: seq_len must be between 1 and 2^24") }
    var sources: [TokenDocuments] = []
    for d in config.datasets {
      let fm = FileManager.default
      let s: TokenDocuments
      if fm.fileExists(atPath: d.path + ".idx") {
        s = try MegatronDataset(prefix: d.path)
      } else if fm.fileExists(atPath: d.path + ".json") {
        s = try FlatTokenDocuments(prefix: d.path)
      } else {
        throw .io("\(d.path): neither \(d.path).idx (Megatron) nor \(d.path).json (token file) exists")
      }
      guard s.tokenCount > 0 else { throw .io("\(d.path): the dataset holds no tokens") }
      sources.append(s)
    }
    self.sources = sources
    func normalized(_ w: [Double], _ what: String) throws(WinnowError) -> [Double] {
      guard w.count == config.datasets.count else { throw .usage("mixture: \(what) has \(w.count) weights for \(config.datasets.count) datasets") }
      guard w.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw .usage("mixture: \(what) has a negative or non-finite weight") }
      let sum = w.reduce(0, +)
      guard sum > 0 else { throw .usage("mixture: \(what) has no positive weight") }
      return w.map { $0 / sum }
    }
    var starts = [0]
    var weights = [try normalized(config.datasets.map(\.weight), "the datasets' weights")]
    if !config.schedule.isEmpty {
      guard let total = config.totalSamples, total > 0 else { throw .usage("mixture: a schedule needs total_samples") }
      var last = 0.0
      for (k, p) in config.schedule.enumerated() {
        guard p.start > last, p.start < 1 else { throw .usage("mixture: schedule phase \(k + 1) must start after the previous one and before 1") }
        last = p.start
        starts.append(Int((p.start * Double(total)).rounded(.down)))
        weights.append(try normalized(p.weights, "schedule phase \(k + 1)"))
      }
    }
    for (k, u) in config.updates.enumerated() {
      guard u.sample > starts.last!, u.sample <= 1 << 56 else {
        throw .usage("mixture: update \(k + 1) at sample \(u.sample) must come after the previous phase's start (\(starts.last!))")
      }
      starts.append(u.sample)
      weights.append(try normalized(u.weights, "update \(k + 1)"))
    }
    if let t = config.totalSamples { guard t > 0 else { throw .usage("mixture: total_samples must be positive") } }
    var phases: [(start: Int, blend: BlendBlock, before: [Int])] = []
    var before = [Int](repeating: 0, count: sources.count)
    for p in 0..<starts.count {
      let end = p + 1 < starts.count ? starts[p + 1] : config.totalSamples
      let length = end.map { $0 - starts[p] }
      let block = max(1, min(Self.maxBlock, length ?? Self.maxBlock))
      let blend = BlendBlock(weights: weights[p], block: block)
      phases.append((starts[p], blend, before))
      if let length {
        for d in 0..<sources.count { before[d] += blend.count(d, in: length) }
      }
    }
    self.phases = phases
  }

  /// Changes the weights from global sample `sample` on (a step boundary: the first sample of
  /// the next batch), for online reweighting such as DoReMi's. Samples before it are unchanged;
  /// every dataset continues where it was. The update joins `config.updates`, so a stream
  /// opened from `config` draws exactly what this one draws. `sample` must be past the start
  /// of the latest phase (updates come in training order).
  public func update(sample: Int, weights: [Double]) throws(WinnowError) {
    let last = phases[phases.count - 1]
    guard sample > last.start, sample <= 1 << 56 else {
      throw .usage("mixture: an update at sample \(sample) must come after the latest phase's start (\(last.start))")
    }
    guard weights.count == sources.count, weights.allSatisfy({ $0.isFinite && $0 >= 0 }), weights.contains(where: { $0 > 0 }) else {
      throw .usage("mixture: an update needs \(sources.count) non-negative weights, one positive")
    }
    if let total = config.totalSamples, sample >= total {
      throw .usage("mixture: an update at sample \(sample) is past total_samples (\(total))")
    }
    let sum = weights.reduce(0, +)
    let length = config.totalSamples.map { $0 - sample }
    let block = max(1, min(Self.maxBlock, length ?? Self.maxBlock))
    var before = last.before
    for d in 0..<sources.count { before[d] += last.blend.count(d, in: sample - last.start) }
    phases.append((sample, BlendBlock(weights: weights.map { $0 / sum }, block: block), before))
    config.updates.append(MixtureConfig.Update(sample: sample, weights: weights))
  }

  /// Tokens per sample: sequence length + 1.
  public var sampleLength: Int { config.sequenceLength + 1 }

  /// Which dataset global sample `n` comes from, and which of that dataset's samples it is.
  public func locate(_ n: Int) -> (dataset: Int, index: Int) {
    var p = phases.count - 1
    while p > 0 && phases[p].start > n { p -= 1 }
    let ph = phases[p]
    let (d, i) = ph.blend.locate(n - ph.start)
    return (d, ph.before[d] + i)
  }

  /// Writes global sample `n` (`sampleLength` tokens) to `out`; returns its dataset.
  @discardableResult
  public func sample(_ n: Int, into out: UnsafeMutableBufferPointer<UInt32>) -> Int {
    precondition(n >= 0 && out.count >= sampleLength)
    let (d, j) = locate(n)
    read(dataset: d, from: j * config.sequenceLength, count: sampleLength, into: out.baseAddress!)
    return d
  }

  /// Global sample `n` as an array.
  public func sample(_ n: Int) -> [UInt32] {
    var out = [UInt32](repeating: 0, count: sampleLength)
    out.withUnsafeMutableBufferPointer { _ = sample(n, into: $0) }
    return out
  }

  /// Copies `count` tokens of dataset d's endless stream from position `position`.
  private func read(dataset d: Int, from position: Int, count: Int, into out: UnsafeMutablePointer<UInt32>) {
    let src = sources[d]
    let total = src.tokenCount
    var pos = position
    var written = 0
    while written < count {
      let epoch = pos / total
      let offset = pos - epoch * total
      let e = epochOrder(d, epoch)
      // The document holding `offset`: the first whose end is past it.
      var lo = 0
      var hi = e.ends.count
      while lo < hi {
        let mid = (lo + hi) >> 1
        if e.ends[mid] <= Int64(offset) { lo = mid + 1 } else { hi = mid }
      }
      let docStart = lo == 0 ? 0 : Int(e.ends[lo - 1])
      let doc = src.document(e.order.isEmpty ? lo : Int(e.order[lo]))
      let within = offset - docStart
      let n = min(count - written, doc.count - within)
      src.copy(doc.start + within, n, into: out + written)
      written += n
      pos += n
    }
  }

  /// The document order of an epoch and the running token counts in that order.
  private func epochOrder(_ d: Int, _ epoch: Int) -> (order: [Int32], ends: [Int64]) {
    if let c = epochCache[d], c.epoch == epoch { return (c.order, c.ends) }
    let src = sources[d]
    let n = src.documentCount
    var order: [Int32] = []
    if config.shuffle && n > 1 {
      order = (0..<Int32(n)).map { $0 }
      var rng = SplitMix64(seed: config.seed ^ (UInt64(d) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(epoch) &* 0xD1B5_4A32_D192_ED03))
      var i = n - 1
      while i > 0 {
        let j = Int(rng.next() % UInt64(i + 1))
        order.swapAt(i, j)
        i -= 1
      }
    }
    var ends = [Int64](repeating: 0, count: n)
    var running: Int64 = 0
    for k in 0..<n {
      running += Int64(src.document(order.isEmpty ? k : Int(order[k])).count)
      ends[k] = running
    }
    epochCache[d] = (epoch, order, ends)
    return (order, ends)
  }
}

/// A rank's share of the stream: its local step s is global sample s · shards + shard (shard =
/// rank, shards = world size), so the ranks partition the samples, and a rank resumes at any
/// local step by setting `step`.
public struct MixtureShard {
  /// The stream the samples come from.
  public let stream: MixtureStream
  /// This rank.
  public let shard: Int
  /// The world size.
  public let shards: Int
  /// The next local step.
  public var step: Int

  /// Rank `shard` of `shards`, starting at local step `step`.
  public init(_ stream: MixtureStream, shard: Int = 0, shards: Int = 1, step: Int = 0) throws(WinnowError) {
    guard shards >= 1, shard >= 0, shard < shards else { throw .usage("mixture: shard \(shard) of \(shards) is out of range") }
    guard step >= 0 else { throw .usage("mixture: the step must not be negative") }
    self.stream = stream
    self.shard = shard
    self.shards = shards
    self.step = step
  }

  /// The global sample index of local step `s`.
  public func globalIndex(_ s: Int) -> Int { s * shards + shard }

  /// Writes the next sample to `out` and advances.
  public mutating func next(into out: UnsafeMutableBufferPointer<UInt32>) -> Int {
    let d = stream.sample(globalIndex(step), into: out)
    step += 1
    return d
  }
}

/// A small seeded generator (splitmix64) for the epoch orders.
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
}
