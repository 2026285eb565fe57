import WinnowCore

/// DoReMi's online domain-weight update (Xie et al. 2023; `update_domain_weights` in its
/// trainer): after each optimizer step, each domain's excess loss — the proxy model's per-token
/// loss above the reference model's, clipped at zero per token, averaged over the domain's
/// tokens — pushes that domain's weight up by an exponentiated-gradient step:
///
///     λ_i   = mean over domain i's tokens of max(ℓ_proxy − ℓ_ref, 0)   (kept from the last step
///             when domain i had no tokens; ln |V| before the first)
///     α_i  ← (1 − c)·softmax(ln α + η·λ)_i + c/k
///     ᾱ    ← (ᾱ·(t − 1) + α)/t, t = 2, 3, …  (the initial weights count as the first sample)
///
/// The final mixture DoReMi recommends is the running average ᾱ.
public struct DomainWeightUpdate: Sendable, Codable, Equatable {
  /// The step size η.
  public var eta: Double
  /// The smoothing c towards uniform weights.
  public var smoothing: Double
  /// The current weights α.
  public var weights: [Double]
  /// The running average ᾱ.
  public var average: [Double]
  /// Each domain's last excess loss λ.
  public var lambdas: [Double]
  /// Updates so far, plus one (DoReMi's `update_counter`).
  public var counter: Int

  /// Starts from `initialWeights` (normalised), with λ = `initialLambda` (DoReMi: ln of the
  /// vocabulary size) for every domain.
  public init(initialWeights: [Double], eta: Double = 1, smoothing: Double = 1e-3, initialLambda: Double)
    throws(WinnowError)
  {
    guard !initialWeights.isEmpty, initialWeights.allSatisfy({ $0 > 0 && $0.isFinite }) else {
      throw .usage("doremi: the initial weights must be positive numbers")
    }
    guard eta > 0, eta.isFinite, smoothing >= 0, smoothing <= 1, initialLambda.isFinite else {
      throw .usage("doremi: need η > 0, 0 ≤ c ≤ 1 and a finite initial λ")
    }
    let total = initialWeights.reduce(0, +)
    weights = initialWeights.map { $0 / total }
    average = weights
    lambdas = [Double](repeating: initialLambda, count: initialWeights.count)
    self.eta = eta
    self.smoothing = smoothing
    counter = 1
  }

  /// One update from a step's per-domain sums of clipped excess loss and token counts.
  public mutating func update(clippedExcessSum: [Double], tokens: [Int]) throws(WinnowError) {
    let k = weights.count
    guard clippedExcessSum.count == k, tokens.count == k else {
      throw .usage("doremi: a step needs \(k) excess sums and \(k) token counts")
    }
    for i in 0..<k {
      guard tokens[i] >= 0, clippedExcessSum[i] >= 0, clippedExcessSum[i].isFinite else {
        throw .usage("doremi: domain \(i): a token count below 0, or an excess sum that is negative or not finite")
      }
      guard tokens[i] > 0 || clippedExcessSum[i] == 0 else {
        throw .usage("doremi: domain \(i) has no tokens but an excess sum of \(clippedExcessSum[i])")
      }
      if tokens[i] > 0 { lambdas[i] = clippedExcessSum[i] / Double(tokens[i]) }
    }
    var v = (0..<k).map { log(weights[$0]) + eta * lambdas[$0] }
    let top = v.max()!
    var sum = 0.0
    for x in v { sum += exp(x - top) }
    let lse = top + log(sum)
    for i in 0..<k { v[i] = (1 - smoothing) * exp(v[i] - lse) + smoothing / Double(k) }
    weights = v
    counter += 1
    let t = Double(counter)
    for i in 0..<k { average[i] = (average[i] * (t - 1) + weights[i]) / t }
  }

  /// One update from per-token losses: `domains[j]` is token j's domain.
  public mutating func update(domains: [Int], proxyLoss: [Double], referenceLoss: [Double]) throws(WinnowError) {
    guard domains.count == proxyLoss.count, domains.count == referenceLoss.count else {
      throw .usage("doremi: domain ids, proxy losses and reference losses differ in length")
    }
    try update(domains: domains, excessLoss: zip(proxyLoss, referenceLoss).map { $0 - $1 })
  }

  /// One update from per-token excess losses (proxy minus reference).
  public mutating func update(domains: [Int], excessLoss: [Double]) throws(WinnowError) {
    let k = weights.count
    guard domains.count == excessLoss.count else { throw .usage("doremi: domain ids and excess losses differ in length") }
    var sum = [Double](repeating: 0, count: k)
    var count = [Int](repeating: 0, count: k)
    for (d, e) in zip(domains, excessLoss) {
      guard d >= 0 && d < k else { throw .usage("doremi: domain id \(d) is outside 0..<\(k)") }
      guard e.isFinite else { throw .usage("doremi: a loss that is not a finite number") }
      sum[d] += max(e, 0)  // clipped per token, before the mean
      count[d] += 1
    }
    try update(clippedExcessSum: sum, tokens: count)
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
