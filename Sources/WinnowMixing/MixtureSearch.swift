import WinnowCore

/// Searches a fitted regression for the mixture with the lowest predicted loss.
public enum MixtureSearch {
  /// RegMix's search: `draws` Dirichlet draws with the prior shares as concentrations, and the
  /// mean of the `top` draws the model predicts lowest (averaging keeps the answer away from
  /// one lucky corner of a piecewise-constant model).
  public static func sample(model: MixtureRegression, prior: [Double], draws: Int = 100_000, top: Int = 128,
                            seed: UInt64 = 42) throws(WinnowError) -> [Double]
  {
    guard prior.count == model.domains.count, prior.allSatisfy({ $0 > 0 && $0.isFinite }) else {
      throw .usage("optimize: the prior needs a positive share for each of the model's \(model.domains.count) domains")
    }
    guard draws >= 1, top >= 1, top <= draws else { throw .usage("optimize: need 1 ≤ top (\(top)) ≤ draws (\(draws))") }
    let total = prior.reduce(0, +)
    let alpha = prior.map { $0 / total }
    var random = SeededRandom(seed: seed)
    var scored: [(loss: Double, order: Int, weights: [Double])] = []
    scored.reserveCapacity(draws)
    for k in 0..<draws {
      let w = random.dirichlet(alpha)
      scored.append((model.predict(w), k, w))
    }
    scored.sort { $0.loss < $1.loss || ($0.loss == $1.loss && $0.order < $1.order) }
    var mean = [Double](repeating: 0, count: alpha.count)
    for row in scored[0..<top] { for j in mean.indices { mean[j] += row.weights[j] } }
    return mean.map { $0 / Double(top) }
  }

  /// A direct search over the simplex with per-domain upper bounds: from `start`, move mass
  /// `step` from one domain to another whenever the prediction drops, halving the step when no
  /// move helps, until it is below `minimumStep`. Deterministic; the result keeps every bound.
  public static func descend(model: MixtureRegression, start: [Double], upper: [Double], step: Double = 0.05,
                             minimumStep: Double = 1e-4, maxMoves: Int = 100_000) throws(WinnowError) -> [Double]
  {
    let d = model.domains.count
    guard start.count == d, upper.count == d else { throw .usage("optimize: \(d) domains, \(start.count) starting weights") }
    guard upper.reduce(0, +) >= 1 - 1e-12 else {
      throw .usage("optimize: the domains' bounds sum to \(upper.reduce(0, +)), less than 1: no mixture keeps them")
    }
    var w = clampToSimplex(start, upper: upper)
    var best = model.predict(w)
    var h = step
    var moves = 0
    while h >= minimumStep && moves < maxMoves {
      var improved = false
      for i in 0..<d where w[i] > 0 {
        for j in 0..<d where j != i && w[j] < upper[j] {
          let amount = min(h, w[i], upper[j] - w[j])
          if amount <= 0 { continue }
          w[i] -= amount
          w[j] += amount
          let loss = model.predict(w)
          if loss < best {
            best = loss
            improved = true
            moves += 1
          } else {
            w[i] += amount
            w[j] -= amount
          }
        }
      }
      if !improved { h /= 2 }
    }
    return w
  }

  /// `w` moved onto the simplex inside the bounds: clipped to [0, upper], then the missing (or
  /// surplus) mass spread over the domains with room, in proportion to that room.
  static func clampToSimplex(_ w: [Double], upper: [Double]) -> [Double] {
    var x = zip(w, upper).map { min(max($0, 0), $1) }
    for _ in 0..<64 {
      let gap = 1 - x.reduce(0, +)
      if abs(gap) < 1e-15 { break }
      let room = gap > 0 ? zip(x, upper).map { $1 - $0 } : x
      let total = room.reduce(0, +)
      if total <= 0 { break }
      for k in x.indices { x[k] = min(max(x[k] + gap * room[k] / total, 0), upper[k]) }
    }
    return x
  }
}
