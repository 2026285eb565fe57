import Foundation
import WinnowCore

/// What DSIR learns before it weighs a document: the hashed n-gram counts of the raw corpus
/// and of each target, and from them the distributions and `log_diff`, as `data-selection`
/// 1.0.3's `fit_importance_estimator` computes them:
///
/// - p_raw = counts / Σcounts (float64 division, as NumPy's true division of integer arrays);
/// - targets pooled into one distribution, or (`separateTargets`) one per target, each with a
///   share of the sample (the given proportions, or each target's share of all target n-grams);
/// - log_diff = log(p_target + 1e-8) − log(p_raw + 1e-8), one row per target distribution.
///
/// Saved as JSON (integers only, so a saved fit loads to the same bits).
public struct DSIRFit: Sendable, Equatable {
  /// The `format` value of a saved fit.
  public static let format = "winnow-dsir-fit/1"
  /// Unigrams up to `ngrams`-grams.
  public var ngrams: Int
  /// Buckets of the hashed features.
  public var buckets: Int
  /// Counts of the raw corpus per bucket.
  public var rawCounts: [UInt64]
  /// Counts of each target (as listed) per bucket.
  public var targetCounts: [[UInt64]]
  /// Each target as it was named.
  public var targetNames: [String]
  /// One distribution (and one selection) per target, instead of one pooled distribution.
  public var separateTargets: Bool
  /// The given target proportions (nil: by size).
  public var givenProportions: [Double]?

  /// A fit from counts.
  public init(
    ngrams: Int, buckets: Int, rawCounts: [UInt64], targetCounts: [[UInt64]], targetNames: [String],
    separateTargets: Bool, givenProportions: [Double]?
  ) {
    self.ngrams = ngrams
    self.buckets = buckets
    self.rawCounts = rawCounts
    self.targetCounts = targetCounts
    self.targetNames = targetNames
    self.separateTargets = separateTargets
    self.givenProportions = givenProportions
  }

  /// counts / Σcounts (zeros when there are no counts).
  public static func probabilities(_ counts: [UInt64]) -> [Double] {
    let total = counts.reduce(0, &+)
    guard total > 0 else { return [Double](repeating: 0, count: counts.count) }
    let t = Double(total)
    return counts.map { Double($0) / t }
  }

  /// The raw distribution.
  public var rawProbabilities: [Double] { Self.probabilities(rawCounts) }

  /// The target distributions: one pooled row, or one per target.
  public var targetProbabilities: [[Double]] {
    if separateTargets { return targetCounts.map(Self.probabilities) }
    var pooled = [UInt64](repeating: 0, count: buckets)
    for row in targetCounts { for j in 0..<buckets { pooled[j] &+= row[j] } }
    return [Self.probabilities(pooled)]
  }

  /// log(p_target + 1e-8) − log(p_raw + 1e-8), one row per target distribution.
  public var logDiff: [[Double]] {
    let raw = rawProbabilities.map { log($0 + 1e-8) }
    return targetProbabilities.map { row in (0..<buckets).map { log(row[$0] + 1e-8) - raw[$0] } }
  }

  /// Each target distribution's share of the sample (normalised to sum to 1).
  public var proportions: [Double] {
    guard separateTargets else { return [1] }
    if let given = givenProportions {
      let s = given.reduce(0, +)
      return given.map { $0 / s }
    }
    let sizes = targetCounts.map { Double($0.reduce(0, &+)) }
    let s = sizes.reduce(0, +)
    return sizes.map { $0 / s }
  }

  /// How many documents each target distribution selects out of `total`, as the reference
  /// splits it: `int(total · p)` each, the last taking what rounding left.
  public func samplesPerTarget(_ total: Int) -> [Int] {
    var counts = proportions.map { Int((Double(total) * $0).rounded(.towardZero)) }
    counts[counts.count - 1] += total - counts.reduce(0, +)
    return counts
  }

  // MARK: KL reduction

  /// KL(p‖q) = Σ_j p_j·(log(p_j + 1e-8) − log(q_j + 1e-8)), with the smoothing of `logDiff`
  /// (terms with p_j = 0 are 0); summed in bucket order.
  public static func kl(_ p: [Double], _ q: [Double]) -> Double {
    var s = 0.0
    for j in p.indices where p[j] > 0 { s += p[j] * (log(p[j] + 1e-8) - log(q[j] + 1e-8)) }
    return s
  }

  /// The KL reduction of a selection whose hashed n-gram counts are `selected` (paper §4):
  /// the mean over target distributions p̂ of KL(p̂‖q̂) − KL(p̂‖p′), q̂ the raw distribution
  /// and p′ the selection's. Larger is better: the selection is closer to the targets than
  /// the raw pool is.
  public func klReduction(selected: [UInt64]) -> DSIRKLReduction {
    let raw = rawProbabilities
    let chosen = Self.probabilities(selected)
    let names = separateTargets ? targetNames : [targetNames.joined(separator: " + ")]
    let rows = zip(names, targetProbabilities).map { name, p in
      DSIRKLReduction.Target(name: name, klToRaw: Self.kl(p, raw), klToSelected: Self.kl(p, chosen))
    }
    let mean = rows.map { $0.klToRaw - $0.klToSelected }.reduce(0, +) / Double(rows.count)
    return DSIRKLReduction(klReduction: mean, targets: rows, selectedNGrams: selected.reduce(0, &+))
  }

  /// The raw and target probabilities and `log_diff`, as JSON (shortest round-trip decimals).
  public func probabilitiesJSON() -> String {
    func doubles(_ v: [Double]) -> String { "[" + v.map(jsonNumberOrNull).joined(separator: ",") + "]" }
    var s = "{\"ngrams\":\(ngrams),\"num_buckets\":\(buckets),\"separate_targets\":\(separateTargets),"
    s += "\"proportions\":\(doubles(proportions)),\"raw_probs\":\(doubles(rawProbabilities)),"
    s += "\"target_probs\":[" + targetProbabilities.map(doubles).joined(separator: ",") + "],"
    s += "\"log_diff\":[" + logDiff.map(doubles).joined(separator: ",") + "]}\n"
    return s
  }

  /// A readable description: totals, proportions, and the `top` buckets each target
  /// distribution favours most (largest log_diff).
  public func summary(top: Int = 10) -> String {
    var s = "DSIR fit: \(ngrams)-grams hashed into \(buckets) buckets\n"
    s += "raw pool: \(rawCounts.reduce(0, &+)) n-grams, \(rawCounts.filter { $0 > 0 }.count) buckets used\n"
    for (name, row) in zip(targetNames, targetCounts) {
      s += "target \(name): \(row.reduce(0, &+)) n-grams, \(row.filter { $0 > 0 }.count) buckets used\n"
    }
    let names = separateTargets ? targetNames : ["pooled targets"]
    for (k, row) in logDiff.enumerated() {
      s += "\(names[k]) (share of a sample \(formatShare(proportions[k]))): buckets it favours most (bucket: log_diff)\n"
      let order = row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(max(0, top))
      s += "  " + order.map { "\($0): \(formatShare(row[$0]))" }.joined(separator: ", ") + "\n"
    }
    return s
  }

  // MARK: File

  /// The fit as JSON.
  public func json() -> String {
    func ints(_ v: [UInt64]) -> String { "[" + v.map { String($0) }.joined(separator: ",") + "]" }
    var s = "{\"format\":\"\(Self.format)\",\"ngrams\":\(ngrams),\"num_buckets\":\(buckets),"
    s += "\"separate_targets\":\(separateTargets),"
    if let g = givenProportions { s += "\"target_proportions\":[" + g.map { "\($0)" }.joined(separator: ",") + "]," }
    s += "\"raw_counts\":\(ints(rawCounts)),\"targets\":["
    s += zip(targetNames, targetCounts).map { name, counts in
      "{\"name\":" + JSONString.quoted(name) + ",\"counts\":" + ints(counts) + "}"
    }.joined(separator: ",")
    return s + "]}\n"
  }

  /// Reads a fit saved by `json()` (a stage's `save_fit`, `winnow dsir fit`).
  public static func load(_ path: String) throws(WinnowError) -> DSIRFit {
    guard let data = FileManager.default.contents(atPath: path) else { throw .usage("\(path): cannot read the DSIR fit") }
    func bad(_ why: String) -> WinnowError { .usage("\(path): not a DSIR fit (\(why))") }
    guard let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw bad("not a JSON object") }
    guard top["format"] as? String == format else { throw bad("format is not \(format)") }
    func counts(_ any: Any?, _ what: String) throws(WinnowError) -> [UInt64] {
      guard let list = any as? [NSNumber] else { throw bad("\(what) is not a list of counts") }
      var out: [UInt64] = []
      out.reserveCapacity(list.count)
      for n in list {
        guard let v = UInt64(exactly: n.doubleValue), n.doubleValue >= 0 else { throw bad("\(what) holds \(n), not a count") }
        out.append(n.uint64Value == v ? n.uint64Value : v)
      }
      return out
    }
    guard let n = top["ngrams"] as? Int, (1...16).contains(n) else { throw bad("ngrams") }
    guard let b = top["num_buckets"] as? Int, b >= 1, b <= 1 << 31 else { throw bad("num_buckets") }
    let raw = try counts(top["raw_counts"], "raw_counts")
    guard raw.count == b else { throw bad("raw_counts has \(raw.count) entries, not num_buckets = \(b)") }
    guard let targets = top["targets"] as? [[String: Any]], !targets.isEmpty else { throw bad("no targets") }
    var names: [String] = []
    var rows: [[UInt64]] = []
    for (k, t) in targets.enumerated() {
      let row = try counts(t["counts"], "targets[\(k)].counts")
      guard row.count == b else { throw bad("targets[\(k)].counts has \(row.count) entries, not \(b)") }
      names.append(t["name"] as? String ?? "target \(k)")
      rows.append(row)
    }
    let separate = top["separate_targets"] as? Bool ?? false
    let given = (top["target_proportions"] as? [NSNumber])?.map(\.doubleValue)
    if let given, given.count != rows.count || given.contains(where: { !($0 >= 0) }) || given.reduce(0, +) <= 0 {
      throw bad("target_proportions")
    }
    return DSIRFit(
      ngrams: n, buckets: b, rawCounts: raw, targetCounts: rows, targetNames: names, separateTargets: separate,
      givenProportions: given)
  }
}

func formatShare(_ v: Double) -> String {
  let r = (v * 10_000).rounded() / 10_000
  return "\(r)"
}

/// The KL reduction of a selection (`DSIRFit.klReduction`).
public struct DSIRKLReduction: Sendable {
  /// One target distribution's divergences.
  public struct Target: Sendable {
    /// The target (or the joined names of pooled targets).
    public var name: String
    /// KL(p̂‖q̂): target against the raw pool.
    public var klToRaw: Double
    /// KL(p̂‖p′): target against the selection.
    public var klToSelected: Double
  }

  /// Mean over targets of klToRaw − klToSelected.
  public var klReduction: Double
  /// Each target distribution's divergences.
  public var targets: [Target]
  /// Hashed n-grams counted in the selection.
  public var selectedNGrams: UInt64

  /// As one JSON object.
  public func json() -> String {
    let rows = targets.map {
      "{\"name\":\(JSONString.quoted($0.name)),\"kl_target_raw\":\(jsonNumberOrNull($0.klToRaw)),\"kl_target_selected\":\(jsonNumberOrNull($0.klToSelected))}"
    }
    return "{\"kl_reduction\":\(jsonNumberOrNull(klReduction)),\"selected_ngrams\":\(selectedNGrams),\"targets\":[\(rows.joined(separator: ","))]}\n"
  }
}


/// Counts the hashed n-grams of target texts: each target a file or a directory of document
/// files, JSON Lines (the text in `field`) or plain text (one item per non-blank line).
public enum DSIRTargets {
  /// The counts of each target in `specs`.
  public static func count(
    _ specs: [String], field: String, ngrams: Int, buckets: Int, stage: String
  ) throws(WinnowError) -> [[UInt64]] {
    var featurizer = HashedNGramFeaturizer(ngrams: ngrams, buckets: buckets)
    var rows: [[UInt64]] = []
    for spec in specs {
      var counts = [UInt64](repeating: 0, count: buckets)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: spec, isDirectory: &isDirectory) else {
        throw .usage("stage '\(stage)': target \(spec): no such file or directory")
      }
      let files = isDirectory.boolValue ? try InputSet.expand([spec]).map(\.path) : [spec]
      guard !files.isEmpty else { throw .usage("stage '\(stage)': target \(spec): a directory with no document files") }
      for f in files {
        try ReferenceTexts.forEachItem(
          f, field: field, fieldParameter: "target_field", what: "stage '\(stage)': target: ", noun: "target file"
        ) { item in
          featurizer.count(item, into: &counts)
        }
      }
      guard counts.contains(where: { $0 > 0 }) else {
        throw .usage("stage '\(stage)': target \(spec) has no words, so it has no n-gram distribution to select toward")
      }
      rows.append(counts)
    }
    return rows
  }
}
