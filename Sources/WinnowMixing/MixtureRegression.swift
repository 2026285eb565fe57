import Foundation
import WinnowCore

/// A fitted regression of a proxy run's target loss on its mixture weights, as `winnow mixture
/// fit` writes it and `optimize` reads it back. The file is JSON:
///
///     {"format": "winnow-mixture-model", "version": 1, "kind": "gbdt" | "linear",
///      "domains": [...], "target": "...", "gbdt": {...} | "linear": {...}, "fit": {...}}
///
/// A file read back is checked before use (its trees' links in range and pointing forward, so
/// that a damaged file is an error naming it, never a crash or an endless walk).
public struct MixtureRegression: Sendable, Codable, Equatable {
  /// The regression a file holds.
  public enum Kind: String, Sendable, Codable, CaseIterable {
    /// Gradient-boosted regression trees (RegMix's LightGBM regression).
    case gbdt
    /// Ordinary least squares.
    case linear
  }

  /// What the fit saw, for the record.
  public struct FitSummary: Sendable, Codable, Equatable {
    /// Rows fitted.
    public var trainingRows: Int
    /// Rows that decided early stopping (boosting) or were scored.
    public var heldOutRows: Int
    /// Boosting: the rounds kept.
    public var bestIteration: Int?
    /// Spearman's ρ of predicted and true loss on the held-out rows.
    public var heldOutSpearman: Double?
  }

  /// Always `winnow-mixture-model`.
  public var format = "winnow-mixture-model"
  /// The file layout's version (1).
  public var version = 1
  /// Which model the file holds.
  public var kind: Kind
  /// The domains, in the order of a weight vector.
  public var domains: [String]
  /// The loss column fitted.
  public var target: String
  /// The trees, for kind `gbdt`.
  public var gbdt: GradientBoostedTrees?
  /// The coefficients, for kind `linear`.
  public var linear: LinearMixtureModel?
  /// What the fit saw.
  public var fit: FitSummary

  /// The predicted target loss of a mixture (weights in `domains` order).
  public func predict(_ weights: [Double]) -> Double {
    switch kind {
    case .gbdt: return gbdt!.predict(weights)
    case .linear: return linear!.predict(weights)
    }
  }

  /// Fits `kind` to `training`; for boosting, `heldOut` decides early stopping (RegMix stops on
  /// its held-out mixtures), for the linear model it is only scored.
  public static func fit(kind: Kind, training: MixtureObservations, heldOut: MixtureObservations?, target: String,
                         parameters: BoostingParameters = BoostingParameters()) throws(WinnowError) -> MixtureRegression
  {
    if let heldOut, heldOut.domains != training.domains {
      throw .usage("fit: the held-out mixtures' domains (\(heldOut.domains.joined(separator: ","))) differ from the training mixtures' (\(training.domains.joined(separator: ",")))")
    }
    var model = MixtureRegression(
      kind: kind, domains: training.domains, target: target, gbdt: nil, linear: nil,
      fit: FitSummary(trainingRows: training.weights.count, heldOutRows: heldOut?.weights.count ?? 0))
    switch kind {
    case .gbdt:
      let valid = heldOut.map { (x: $0.weights, y: $0.loss) }
      let trees = try GradientBoostedTrees.fit(x: training.weights, y: training.loss, valid: valid, parameters: parameters)
      model.gbdt = trees
      model.fit.bestIteration = trees.bestIteration > 0 ? trees.bestIteration : trees.trees.count
    case .linear:
      model.linear = try LinearMixtureModel.fit(x: training.weights, y: training.loss)
    }
    if let heldOut {
      model.fit.heldOutSpearman = RankCorrelation.spearman(heldOut.weights.map(model.predict), heldOut.loss)
    }
    return model
  }

  /// The model file's bytes (keys sorted).
  public func json() -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    // Encoding plain structs of numbers and strings cannot fail.
    return try! encoder.encode(self)
  }

  /// Reads and checks a model file; a damaged one is an error naming it.
  public static func load(path: String) throws(WinnowError) -> MixtureRegression {
    let data = Data(try MixtureFiles.read(path))
    let model: MixtureRegression
    do {
      model = try Self.decoder.decode(MixtureRegression.self, from: data)
    } catch {
      throw .io("\(path): not a mixture model written by `winnow mixture fit` (\(Self.describe(error)))")
    }
    try model.validate(source: path)
    return model
  }

  static func describe(_ error: Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, _): return "no '\(key.stringValue)'"
    case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
      return "bad value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
    case DecodingError.dataCorrupted(let c):
      return c.codingPath.isEmpty ? "not JSON" : "bad value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
    default: return "\(error)"
    }
  }

  /// Checks everything `predict` relies on.
  public func validate(source: String) throws(WinnowError) {
    guard format == "winnow-mixture-model", version == 1 else {
      throw .io("\(source): format '\(format)' version \(version) is not a mixture model this winnow reads")
    }
    guard !domains.isEmpty, Set(domains).count == domains.count else {
      throw .io("\(source): the domains must be distinct and at least one")
    }
    let d = domains.count
    switch kind {
    case .linear:
      guard let linear, linear.coefficients.count == d, linear.intercept.isFinite,
        linear.coefficients.allSatisfy(\.isFinite)
      else { throw .io("\(source): the linear model needs \(d) finite coefficients and an intercept") }
    case .gbdt:
      guard let gbdt, gbdt.initialValue.isFinite else { throw .io("\(source): no boosted trees") }
      for (t, tree) in gbdt.trees.enumerated() {
        let nodes = tree.feature.count
        guard tree.threshold.count == nodes, tree.left.count == nodes, tree.right.count == nodes,
          tree.leafValue.count == nodes + 1, tree.leafValue.allSatisfy(\.isFinite)
        else { throw .io("\(source): tree \(t): \(nodes) nodes need \(nodes) thresholds and links and \(nodes + 1) finite leaf values") }
        for k in 0..<nodes {
          guard tree.feature[k] >= 0, tree.feature[k] < d, !tree.threshold[k].isNaN else {
            throw .io("\(source): tree \(t) node \(k): feature \(tree.feature[k]) of \(d), or a threshold that is not a number")
          }
          for child in [tree.left[k], tree.right[k]] {
            // Internal children point forward (so a walk ends); leaves index the leaf values.
            let ok = child < 0 ? ~child < tree.leafValue.count : (child > k && child < nodes)
            guard ok else { throw .io("\(source): tree \(t) node \(k): link \(child) is out of range") }
          }
        }
      }
    }
  }
}

extension MixtureRegression {
  /// Reads the files' snake_case keys.
  static var decoder: JSONDecoder {
    let d = JSONDecoder()
    d.keyDecodingStrategy = .convertFromSnakeCase
    return d
  }
}
