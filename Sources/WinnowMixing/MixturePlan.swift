import WinnowCore

/// How a token budget is split over domains (`winnow mix`): each domain's share of the budget
/// is its weight, taken as whole epochs of the domain plus a deterministic remainder (or a
/// deterministic sample when the share is below one epoch), never more than `maxEpochs` epochs.
/// When a cap binds, the capped domain gets exactly `maxEpochs` epochs and the rest of its share
/// goes to the other domains in proportion to their weights — again and again until no cap
/// binds (Muennighoff et al. 2023: repeated tokens lose value after about four epochs).
public struct MixturePlan: Sendable, Equatable {
  /// One domain's part of the plan.
  public struct Domain: Sendable, Equatable {
    /// The domain's name.
    public var name: String
    /// The weight asked for (normalised over the domains given).
    public var weight: Double
    /// Tokens (or other units) the domain holds.
    public var available: Int
    /// Tokens it should contribute after redistribution (fractional before rounding to documents).
    public var target: Double
    /// Whether `maxEpochs` bound it.
    public var capped: Bool
    /// Whole passes over the domain.
    public var fullEpochs: Int
    /// The tokens to take on top of the whole passes, by sampling documents.
    public var remainder: Double
  }

  /// The domains, in the order given.
  public var domains: [Domain]
  /// The units to write, and the most epochs of any domain.
  public var budget: Int
  /// (See `budget`.)
  public var maxEpochs: Double

  /// Plans `budget` units over domains holding `available` units with weights `weights`
  /// (same order; weights need not sum to 1). A domain with weight 0 gets nothing; one with a
  /// positive weight but nothing available is capped at 0 and its share redistributed.
  /// `capacity` overrides the cap per domain (in units; by default `maxEpochs × available`):
  /// a later phase of a schedule has only what the earlier phases left under the cap.
  public static func make(names: [String], available: [Int], weights: [Double], budget: Int, maxEpochs: Double,
                          capacity: [Double]? = nil) throws(WinnowError) -> MixturePlan
  {
    let k = names.count
    guard k > 0, available.count == k, weights.count == k else { throw .usage("mix: domains, token counts and weights differ in number") }
    guard weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.contains(where: { $0 > 0 }) else {
      throw .usage("mix: weights must be non-negative numbers, at least one positive")
    }
    guard budget > 0 else { throw .usage("mix: the budget must be positive") }
    guard maxEpochs > 0, maxEpochs.isFinite else { throw .usage("mix: max_epochs must be positive") }
    let cap = capacity ?? available.map { maxEpochs * Double($0) }
    guard cap.count == k, cap.allSatisfy({ $0 >= 0 && $0.isFinite }) else { throw .usage("mix: a capacity per domain, not negative") }
    let total = weights.reduce(0, +)
    let w = weights.map { $0 / total }
    var capped = [Bool](repeating: false, count: k)
    var target = [Double](repeating: 0, count: k)
    while true {
      let free = (0..<k).filter { !capped[$0] && w[$0] > 0 }
      let taken = (0..<k).filter { capped[$0] }.reduce(0.0) { $0 + cap[$1] }
      let rest = Double(budget) - taken
      let freeWeight = free.reduce(0.0) { $0 + w[$1] }
      if free.isEmpty || freeWeight <= 0 {
        if rest > 1e-9 * Double(budget) {
          let most = (0..<k).filter { w[$0] > 0 }.reduce(0.0) { $0 + cap[$1] }
          throw .usage("mix: the budget (\(budget)) needs more than max_epochs (\(maxEpochs)) allows: the weighted domains hold at most \(Int(most)) at that many epochs; lower the budget or raise max_epochs")
        }
        break
      }
      var newlyCapped = false
      for d in free {
        target[d] = rest * w[d] / freeWeight
        if target[d] > cap[d] * (1 + 1e-12) {
          capped[d] = true
          newlyCapped = true
        }
      }
      if !newlyCapped { break }
    }
    var domains: [Domain] = []
    for d in 0..<k {
      let t = capped[d] ? cap[d] : (w[d] > 0 ? target[d] : 0)
      let full = available[d] > 0 ? Int((t / Double(available[d])).rounded(.down)) : 0
      let remainder = max(0, t - Double(full) * Double(available[d]))
      domains.append(Domain(name: names[d], weight: w[d], available: available[d], target: t, capped: capped[d],
                            fullEpochs: full, remainder: remainder))
    }
    return MixturePlan(domains: domains, budget: budget, maxEpochs: maxEpochs)
  }

}

/// A domain's documents laid end to end in the order of their seeded hashes, repeating
/// forever: a document of `u` units starting at `p` sits at `p + u/2 + k·A` in epoch k (A the
/// domain's units). A stretch `[start, start + length)` of that line is what a mixture (or one
/// phase of a schedule) takes from the domain: each document as often as its midpoints fall
/// inside — whole epochs, then the documents first in hash order. Phases take consecutive
/// stretches, so a later phase starts where the earlier stopped instead of repeating it.
/// Documents with the same hash (the same id) count as one.
public struct DomainStream: Sendable {
  /// The distinct hashes in order, their midpoints and units.
  let hashes: [UInt64]
  let midpoints: [Double]
  let units: [Int]
  let documents: [Int]
  /// The domain's units in one epoch.
  public let available: Int
  /// The domain's documents.
  public var documentCount: Int { documents.reduce(0, +) }

  /// The stream of documents given as (hash, units) pairs, in any order.
  public init(_ docs: [(hash: UInt64, units: Int)]) {
    let sorted = docs.sorted { $0.hash < $1.hash }
    var hashes: [UInt64] = []
    var units: [Int] = []
    var documents: [Int] = []
    for d in sorted {
      if hashes.last == d.hash {
        units[units.count - 1] += d.units
        documents[documents.count - 1] += 1
      } else {
        hashes.append(d.hash)
        units.append(d.units)
        documents.append(1)
      }
    }
    var position = 0
    var midpoints: [Double] = []
    for u in units {
      midpoints.append(Double(position) + Double(u) / 2)
      position += u
    }
    self.hashes = hashes
    self.midpoints = midpoints
    self.units = units
    self.documents = documents
    available = position
  }

  /// How many of a midpoint's repetitions `m + k·A` (k ≥ 0) fall in `[start, start + length)`.
  func copies(midpoint m: Double, start: Double, length: Double) -> Int {
    guard available > 0, length > 0 else { return 0 }
    let a = Double(available)
    let first = max(0, ((start - m) / a).rounded(.up))
    let end = ((start + length - m) / a).rounded(.up)
    return max(0, Int(end - first))
  }

  /// The copies of the document with this hash, or nil when the domain does not hold it.
  public func copies(hash: UInt64, start: Double, length: Double) -> Int? {
    var lo = 0
    var hi = hashes.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if hashes[mid] < hash { lo = mid + 1 } else { hi = mid }
    }
    guard lo < hashes.count, hashes[lo] == hash else { return nil }
    return copies(midpoint: midpoints[lo], start: start, length: length)
  }

  /// Every distinct hash with its copies in the stretch.
  public func copiesByHash(start: Double, length: Double) -> [(hash: UInt64, copies: Int)] {
    hashes.indices.map { (hashes[$0], copies(midpoint: midpoints[$0], start: start, length: length)) }
  }

  /// What a stretch takes: units and documents written (copies counted).
  public func taken(start: Double, length: Double) -> (units: Int, documents: Int) {
    var u = 0
    var n = 0
    for i in hashes.indices {
      let c = copies(midpoint: midpoints[i], start: start, length: length)
      u += c * units[i]
      n += c * documents[i]
    }
    return (u, n)
  }
}

/// The writing pass of `winnow mix`: each document as many times as its domain's stretch
/// covers it (see `DomainStream`); a document its domain takes nothing of is dropped
/// (`mix_not_sampled`; a domain without weight: `mix_zero_weight`).
public final class MixSampleStage: DocumentStage {
  /// What the phase takes from one domain.
  public struct Take: Sendable {
    /// The domain's documents in hash order.
    public var stream: DomainStream
    /// The stretch of the repeating stream taken.
    public var start: Double
    /// (See `start`.)
    public var length: Double

    /// A domain's take.
    public init(stream: DomainStream, start: Double, length: Double) {
      self.stream = stream
      self.start = start
      self.length = length
    }
  }

  let field: String
  let seed: UInt64
  let takes: [String: Take]

  /// `takes` by domain name; documents whose domain is not there are dropped (`mix_zero_weight`).
  public init(domainField: String, seed: UInt64, takes: [String: Take]) {
    field = domainField
    self.seed = seed
    self.takes = takes
  }

  /// The domain of a document as both passes read it (`(none)` without the field).
  public static func domain(of doc: Document, field: String) -> String {
    guard let value = doc.field(field), value != .null else { return "(none)" }
    return value.textForm
  }

  /// The seeded hash both passes rank a document by (its id's XXH3).
  public static func hash(of doc: Document, seed: UInt64) -> UInt64 {
    XXH3.hash64(doc.idBytes, seed: seed)
  }

  public func process(_ doc: Document) throws(WinnowError) -> Verdict {
    guard let take = takes[Self.domain(of: doc, field: field)], take.length > 0 else { return .drop("mix_zero_weight") }
    guard let n = take.stream.copies(hash: Self.hash(of: doc, seed: seed), start: take.start, length: take.length) else {
      throw .io("mix: document \(String(decoding: doc.idBytes, as: UTF8.self)) was not there when the inputs were counted (did they change between the passes?)")
    }
    if n == 0 { return .drop("mix_not_sampled") }
    return n == 1 ? .keep : .copies(n)
  }
}
