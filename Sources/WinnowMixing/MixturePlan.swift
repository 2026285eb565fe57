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
  public static func make(names: [String], available: [Int], weights: [Double], budget: Int, maxEpochs: Double)
    throws(WinnowError) -> MixturePlan
  {
    let k = names.count
    guard k > 0, available.count == k, weights.count == k else { throw .usage("mix: domains, token counts and weights differ in number") }
    guard weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.contains(where: { $0 > 0 }) else {
      throw .usage("mix: weights must be non-negative numbers, at least one positive")
    }
    guard budget > 0 else { throw .usage("mix: the budget must be positive") }
    guard maxEpochs > 0, maxEpochs.isFinite else { throw .usage("mix: max_epochs must be positive") }
    let total = weights.reduce(0, +)
    let w = weights.map { $0 / total }
    var capped = [Bool](repeating: false, count: k)
    var target = [Double](repeating: 0, count: k)
    while true {
      let free = (0..<k).filter { !capped[$0] && w[$0] > 0 }
      let taken = (0..<k).filter { capped[$0] }.reduce(0.0) { $0 + maxEpochs * Double(available[$1]) }
      let rest = Double(budget) - taken
      let freeWeight = free.reduce(0.0) { $0 + w[$1] }
      if free.isEmpty || freeWeight <= 0 {
        if rest > 1e-9 * Double(budget) {
          let most = (0..<k).filter { w[$0] > 0 }.reduce(0.0) { $0 + maxEpochs * Double(available[$1]) }
          throw .usage("mix: the budget (\(budget)) needs more than max_epochs (\(maxEpochs)) allows: the weighted domains hold at most \(Int(most)) at that many epochs; lower the budget or raise max_epochs")
        }
        break
      }
      var newlyCapped = false
      for d in free {
        target[d] = rest * w[d] / freeWeight
        if target[d] > maxEpochs * Double(available[d]) * (1 + 1e-12) {
          capped[d] = true
          newlyCapped = true
        }
      }
      if !newlyCapped { break }
    }
    var domains: [Domain] = []
    for d in 0..<k {
      let t = capped[d] ? maxEpochs * Double(available[d]) : (w[d] > 0 ? target[d] : 0)
      let full = available[d] > 0 ? Int((t / Double(available[d])).rounded(.down)) : 0
      let remainder = max(0, t - Double(full) * Double(available[d]))
      domains.append(Domain(name: names[d], weight: w[d], available: available[d], target: t, capped: capped[d],
                            fullEpochs: full, remainder: remainder))
    }
    return MixturePlan(domains: domains, budget: budget, maxEpochs: maxEpochs)
  }

  /// The sampling threshold for the remainder of one domain: documents are ranked by their
  /// seeded hash, and taken in that order while at least half of the next document still fits
  /// in `remainder`. Returns the largest hash taken (nil: none) and the units taken. `documents`
  /// pairs each document's hash with its units, in any order.
  public static func remainderCutoff(_ documents: [(hash: UInt64, units: Int)], remainder: Double) -> (cutoff: UInt64?, units: Int) {
    if remainder <= 0 || documents.isEmpty { return (nil, 0) }
    let sorted = documents.sorted { $0.hash < $1.hash }
    var taken = 0
    var cutoff: UInt64?
    var i = 0
    while i < sorted.count {
      // Documents with the same hash (the same id) go in or out together.
      var j = i
      var units = 0
      while j < sorted.count && sorted[j].hash == sorted[i].hash {
        units += sorted[j].units
        j += 1
      }
      if Double(taken) + Double(units) / 2 > remainder { break }
      taken += units
      cutoff = sorted[i].hash
      i = j
    }
    return (cutoff, taken)
  }
}

/// The second pass of `winnow mix`: each document written as many times as its domain's whole
/// epochs, plus once more when its seeded hash is at or below the domain's remainder cutoff;
/// a document its domain takes nothing of is dropped (`mix_not_sampled`, or `mix_zero_weight`).
public final class MixSampleStage: DocumentStage {
  /// Per domain: whole epochs and the remainder's cutoff hash.
  public struct Rule: Sendable {
    /// Copies of every document of the domain.
    public var fullEpochs: Int
    /// Documents whose hash is at most this get one copy more (nil: none).
    public var cutoff: UInt64?
    /// False for a domain without weight: its documents are dropped.
    public var weighted: Bool

    /// A domain's rule.
    public init(fullEpochs: Int, cutoff: UInt64?, weighted: Bool) {
      self.fullEpochs = fullEpochs
      self.cutoff = cutoff
      self.weighted = weighted
    }
  }

  let field: String
  let seed: UInt64
  let rules: [String: Rule]

  /// `rules` by domain name; documents whose domain is not there are dropped (`mix_zero_weight`).
  public init(domainField: String, seed: UInt64, rules: [String: Rule]) {
    field = domainField
    self.seed = seed
    self.rules = rules
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

  public func process(_ doc: Document) -> Verdict {
    guard let rule = rules[Self.domain(of: doc, field: field)], rule.weighted else { return .drop("mix_zero_weight") }
    var n = rule.fullEpochs
    if let cutoff = rule.cutoff, Self.hash(of: doc, seed: seed) <= cutoff { n += 1 }
    if n == 0 { return .drop("mix_not_sampled") }
    return n == 1 ? .keep : .copies(n)
  }
}
