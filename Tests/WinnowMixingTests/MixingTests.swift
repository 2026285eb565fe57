import Foundation
import Testing
import WinnowCore

@testable import WinnowMixing

private func mixingError(_ body: () throws -> Void) -> WinnowError? {
  do {
    try body()
    return nil
  } catch {
    return error as? WinnowError
  }
}

private func temporaryFile(_ name: String, _ text: String) throws -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-mixing-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  let path = dir.appendingPathComponent(name).path
  try text.write(toFile: path, atomically: true, encoding: .utf8)
  return path
}

@Suite("mixture tools: random draws, proposals, tables")
struct MixtureProposalTests {
  @Test("the seeded stream repeats for a seed, and Dirichlet draws sum to 1 with the right means")
  func dirichletMoments() {
    var a = SeededRandom(seed: 7)
    var b = SeededRandom(seed: 7)
    #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
    var c = SeededRandom(seed: 8)
    var d = SeededRandom(seed: 7)
    #expect(d.uniform() != c.uniform())
    let alpha = [0.5, 1.5, 3.0, 0.02]
    var r = SeededRandom(seed: 1)
    var mean = [Double](repeating: 0, count: 4)
    let n = 40_000
    for _ in 0..<n {
      let w = r.dirichlet(alpha)
      #expect(abs(w.reduce(0, +) - 1) < 1e-12)
      for k in 0..<4 { mean[k] += w[k] / Double(n) }
    }
    let total = alpha.reduce(0, +)
    for k in 0..<4 { #expect(abs(mean[k] - alpha[k] / total) < 0.01, "domain \(k): \(mean[k])") }
    // Concentrations far below 1 (RegMix's 0.1 × a tiny share) never give NaN or all zeros.
    for _ in 0..<1000 {
      let w = r.dirichlet([1e-5, 2e-5, 1e-4])
      #expect(w.allSatisfy { $0.isFinite && $0 >= 0 } && abs(w.reduce(0, +) - 1) < 1e-12)
    }
  }

  @Test("proposals keep the usage bound, the grid and distinctness; a seed repeats them")
  func proposalInvariants() throws {
    let prior = [0.4, 0.25, 0.2, 0.1, 0.04, 0.01]
    var s = MixtureProposal.Settings()
    s.multiplier = 20
    let p = try MixtureProposal.propose(prior: prior, count: 64, settings: s)
    #expect(p.rows.count == 64)
    #expect(p.bound == prior.map { min($0 * 15, 1) })
    for row in p.rows {
      for (w, bound) in zip(row, p.bound) {
        #expect(w <= bound + s.minimum)  // rounding to the grid may pass the bound by half a step
        let steps = w / s.minimum
        #expect(abs(steps - steps.rounded()) < 1e-6)
        #expect(w == 0 || w >= s.minimum)
      }
      #expect(abs(row.reduce(0, +) - 1) < Double(row.count) * s.minimum)
    }
    for i in 0..<p.rows.count {
      for j in (i + 1)..<p.rows.count {
        #expect(zip(p.rows[i], p.rows[j]).map { abs($0 - $1) }.reduce(0, +) > 1e-5)
      }
    }
    #expect(try MixtureProposal.propose(prior: prior, count: 64, settings: s).rows == p.rows)
    s.seed = 43
    #expect(try MixtureProposal.propose(prior: prior, count: 64, settings: s).rows != p.rows)
  }

  @Test("proposals: a bound that no draw keeps, or bad settings, are errors")
  func proposalErrors() {
    var s = MixtureProposal.Settings()
    s.multiplier = 1
    s.maxUsage = 1.0001  // barely above the prior: almost every draw is rejected
    let e = mixingError { _ = try MixtureProposal.propose(prior: [0.5, 0.5], count: 50, settings: s) }
    #expect(e?.message.contains("distinct mixtures passed the usage bound") == true)
    #expect(mixingError { _ = try MixtureProposal.propose(prior: [0.5, -1], count: 5) } != nil)
    #expect(mixingError { _ = try MixtureProposal.propose(prior: [], count: 5) } != nil)
    #expect(mixingError { _ = try MixtureProposal.propose(prior: [1, 2], count: 0) } != nil)
  }

  @Test("tables: bad lines are errors naming file and line; joins must match row for row")
  func tables() throws {
    let t = try MixtureTable.parse("index,a,b\n1,0.5,0.5\n2,1,0\n", source: "m.csv")
    #expect(t.columns == ["a", "b"] && t.index == [1, 2] && t.rows == [[0.5, 0.5], [1, 0]])
    #expect(try MixtureTable.parse(t.csv(), source: "again") == t)
    let cases: [(String, String)] = [
      ("", "empty file"), ("index,a\n", "no rows"), ("index,a\n1,0.5,3\n", "m.csv:2: 3 fields"),
      ("index,a\n1,x\n", "m.csv:2: column 'a'"), ("index,a\n1,nan\n", "not a finite number"),
      ("index,a\n1,1\n1,2\n", "index 1 appears twice"), ("index,a,a\n1,1,2\n", "appears twice"),
      ("index,a\nq,1\n", "not an integer"),
    ]
    for (text, expected) in cases {
      let e = mixingError { _ = try MixtureTable.parse(text, source: "m.csv") }
      #expect(e?.message.contains(expected) == true, "\(text.debugDescription): \(e?.message ?? "no error")")
    }
    let losses = try MixtureTable.parse("index,loss/x,loss/y\n2,3.5,1\n1,4.5,2\n", source: "l.csv")
    let joined = try MixtureObservations.join(mixtures: t, mixtureSource: "m.csv", losses: losses, lossSource: "l.csv", target: "loss/x")
    #expect(joined.loss == [4.5, 3.5] && joined.weights == t.rows)
    let short = try MixtureTable.parse("index,loss/x\n1,4\n", source: "l.csv")
    let e = mixingError { _ = try MixtureObservations.join(mixtures: t, mixtureSource: "m.csv", losses: short, lossSource: "l.csv", target: "loss/x") }
    #expect(e?.message == "l.csv: no row for mixture 2 of m.csv")
    let col = mixingError { _ = try MixtureObservations.join(mixtures: t, mixtureSource: "m.csv", losses: losses, lossSource: "l.csv", target: "x") }
    #expect(col?.message.contains("did you mean 'loss/x'") == true)
  }

  @Test("priors: JSON in both shapes, `name: share` lines, a RegMix config's train block; errors name the file")
  func priors() throws {
    let a = try MixturePrior.parse(#"{"domains": ["web", "code"], "weights": [3, 1]}"#, source: "p")
    #expect(a.names == ["web", "code"] && a.values == [3, 1])
    let b = try MixturePrior.parse(#"{"web": 3, "code": 1}"#, source: "p")
    #expect(b.names == ["code", "web"] && b.values == [1, 3])
    let c = try MixturePrior.parse("web: 0.75  # most\ncode: 0.25\n", source: "p")
    #expect(c.names == ["web", "code"] && c.values == [0.75, 0.25])
    let d = try MixturePrior.parse("train:\n  web: 0.7\n  code: 0.3\nvalid:\n  web: 1.0\nmodel_name: x\n", source: "p")
    #expect(d.names == ["web", "code"] && d.values == [0.7, 0.3])
    for (text, expected) in [("web: x\n", "p:1: expected"), ("web: 1\nweb: 2\n", "appears twice"), ("", "no domains"),
                             ("web: -1\n", "not a non-negative"), ("{\"web\": \"a\"}", "is not a number"),
                             ("{\"web\": true}", "is not a number")] {
      let e = mixingError { _ = try MixturePrior.parse(text, source: "p") }
      #expect(e?.message.contains(expected) == true, "\(text.debugDescription): \(e?.message ?? "no error")")
    }
    #expect(try MixturePrior.align(names: ["b", "a"], shares: [2, 1], to: ["a", "b"], source: "p") == [1, 2])
    #expect(mixingError { _ = try MixturePrior.align(names: ["b"], shares: [2], to: ["a", "b"], source: "p") } != nil)
  }
}

@Suite("mixture tools: regression and search")
struct MixtureRegressionTests {
  /// Rows of a 4-domain simplex and a loss with steps and a slope, plus noise-free targets.
  func data(_ n: Int, seed: UInt64) -> (x: [[Double]], y: [Double]) {
    var r = SeededRandom(seed: seed)
    var x: [[Double]] = []
    var y: [Double] = []
    for _ in 0..<n {
      let w = r.dirichlet([1, 1, 1, 1])
      x.append(w)
      y.append(3 - 2 * w[0] + (w[1] > 0.3 ? 0.5 : 0) + w[2] * w[2])
    }
    return (x, y)
  }

  @Test("boosted trees learn a stepped function and rank held-out rows; early stopping keeps the best round")
  func boosting() throws {
    let train = data(600, seed: 1)
    let valid = data(200, seed: 2)
    var p = BoostingParameters()
    p.learningRate = 0.05
    let model = try GradientBoostedTrees.fit(x: train.x, y: train.y, valid: (valid.x, valid.y), parameters: p)
    #expect(model.bestIteration >= 50 && model.trees.count == model.bestIteration)
    let errors = model.validationError
    #expect(errors[model.bestIteration - 1] == errors.min())
    if model.bestIteration < p.iterations { #expect(errors.count == model.bestIteration + p.earlyStoppingRounds) }
    let rho = RankCorrelation.spearman(valid.x.map(model.predict), valid.y)
    #expect(rho > 0.95, "\(rho)")
    // Deterministic, and every tree respects the leaf limits.
    #expect(try GradientBoostedTrees.fit(x: train.x, y: train.y, valid: (valid.x, valid.y), parameters: p) == model)
    #expect(model.trees.allSatisfy { $0.leafValue.count <= p.numLeaves })
    // A constant target gives no split at all: the model is its mean.
    let flat = try GradientBoostedTrees.fit(x: train.x, y: [Double](repeating: 2, count: 600))
    #expect(flat.trees.isEmpty && flat.predict([0.1, 0.2, 0.3, 0.4]) == 2)
  }

  @Test("the linear model recovers exact coefficients, and predicts exactly with weights that sum to 1")
  func linear() throws {
    var r = SeededRandom(seed: 3)
    var x: [[Double]] = []
    var y: [Double] = []
    for _ in 0..<50 {
      let row = (0..<3).map { _ in r.uniform() }
      x.append(row)
      y.append(1.5 + 2 * row[0] - 3 * row[1] + 0.25 * row[2])
    }
    let m = try LinearMixtureModel.fit(x: x, y: y)
    #expect(abs(m.intercept - 1.5) < 1e-9 && zip(m.coefficients, [2, -3, 0.25]).allSatisfy { abs($0 - $1) < 1e-9 })
    let simplex = data(100, seed: 4)
    let target = simplex.x.map { 4 + $0[0] - 2 * $0[3] }
    let s = try LinearMixtureModel.fit(x: simplex.x, y: target)
    for (row, t) in zip(simplex.x, target) { #expect(abs(s.predict(row) - t) < 1e-9) }
  }

  @Test("Spearman: ties share their mean rank; reversed order is -1")
  func spearman() {
    #expect(RankCorrelation.ranks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1])
    #expect(abs(RankCorrelation.spearman([1, 2, 3, 4], [10, 20, 30, 45]) - 1) < 1e-15)
    #expect(abs(RankCorrelation.spearman([1, 2, 3, 4], [4, 3, 2, 1]) + 1) < 1e-15)
    #expect(abs(RankCorrelation.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) - 0.8) < 1e-12)
  }

  @Test("a model file round-trips; a damaged one is an error naming it")
  func modelFile() throws {
    let train = data(300, seed: 5)
    let obs = MixtureObservations(domains: ["a", "b", "c", "d"], weights: train.x, loss: train.y)
    let model = try MixtureRegression.fit(kind: .gbdt, training: obs, heldOut: obs, target: "loss")
    let path = try temporaryFile("model.json", String(decoding: model.json(), as: UTF8.self))
    #expect(try MixtureRegression.load(path: path) == model)
    var text = String(decoding: model.json(), as: UTF8.self)
    // Point a tree's first link back at its own node: a walk would never end.
    if let range = text.range(of: #""left":["#) {
      let after = text[range.upperBound...]
      let end = after.firstIndex(where: { $0 == "," || $0 == "]" })!
      text.replaceSubrange(range.upperBound..<end, with: "0")
    }
    let bad = try temporaryFile("bad.json", text)
    let e = mixingError { _ = try MixtureRegression.load(path: bad) }
    #expect(e?.message.hasPrefix(bad + ": tree 0 node 0: link 0 is out of range") == true, "\(e?.message ?? "")")
    for junk in ["", "{", "[1,2]", #"{"format":"winnow-mixture-model"}"#] {
      let p = try temporaryFile("junk.json", junk)
      let e = mixingError { _ = try MixtureRegression.load(path: p) }
      #expect(e?.message.hasPrefix(p + ": ") == true && e?.kind == .io)
    }
  }

  @Test("search: the sampled optimum leans to the best domain; descent keeps bounds and the simplex")
  func search() throws {
    let obs = MixtureObservations(domains: ["a", "b", "c"], weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]], loss: [1, 2, 3, 1.5])
    let model = try MixtureRegression.fit(kind: .linear, training: obs, heldOut: nil, target: "loss")
    let w = try MixtureSearch.sample(model: model, prior: [1, 1, 1], draws: 5000, top: 50, seed: 1)
    #expect(abs(w.reduce(0, +) - 1) < 1e-12 && w[0] > w[1] && w[1] > w[2])
    let d = try MixtureSearch.descend(model: model, start: w, upper: [0.6, 1, 1])
    #expect(abs(d.reduce(0, +) - 1) < 1e-9 && d[0] <= 0.6 + 1e-12)
    #expect(abs(d[0] - 0.6) < 1e-3 && abs(d[1] - 0.4) < 1e-3)
    #expect(mixingError { _ = try MixtureSearch.descend(model: model, start: w, upper: [0.2, 0.2, 0.2]) } != nil)
  }
}

@Suite("mixture tools: DoReMi and QQT")
struct DoReMiQQTTests {
  @Test("DoReMi: per-token clipping, an absent domain keeps its λ, the average counts the start")
  func doremi() throws {
    var u = try DomainWeightUpdate(initialWeights: [1, 3], eta: 1, smoothing: 1e-3, initialLambda: log(50277))
    try u.update(domains: [0, 0, 0], excessLoss: [0.2, -0.1, 0.5])
    #expect(abs(u.lambdas[0] - 0.7 / 3) < 1e-15 && u.lambdas[1] == log(50277))
    #expect(abs(u.weights[0] - 0.00050836385742355) < 1e-15 && abs(u.weights[1] - 0.99949163614257) < 1e-14)
    #expect(abs(u.average[0] - 0.12525418192871177) < 1e-15 && abs(u.average[1] - 0.8747458180712884) < 1e-15)
    var v = try DomainWeightUpdate(initialWeights: [1, 3], initialLambda: log(50277))
    try v.update(clippedExcessSum: [0.7, 0], tokens: [3, 0])
    #expect(v == u)
    #expect(mixingError { try v.update(clippedExcessSum: [0.7, 1], tokens: [3, 0]) } != nil)
    #expect(mixingError { try v.update(domains: [2], excessLoss: [1]) } != nil)
    #expect(mixingError { _ = try DomainWeightUpdate(initialWeights: [1, 0], initialLambda: 1) } != nil)
  }

  @Test("QQT: one pool's curve, the union of the best pools, the best count per budget")
  func qqt() throws {
    let first = RepeatedDataUtility.Pool(a: 0.022, b: -0.13106060606060607, tau: 3, d: 0.1)
    // The reference's values (numpy's vectorised pow may differ from libm's in the last bit).
    #expect(abs(RepeatedDataUtility.error(pool: first, poolSize: 12_800_000, samples: 32_000_000) - 0.8888909044788237) < 1e-15)
    #expect(abs(RepeatedDataUtility.effectiveDataError(pool: first, poolSize: 12_800_000, samples: 32_000_000) - 0.891782347506243) < 1e-15)
    #expect(RepeatedDataUtility.error(pool: first, poolSize: 12_800_000, samples: 0) == 0.1)
    let pools = [RepeatedDataUtility.Pool(a: 0.022, b: -0.11, tau: 4), first,
                 RepeatedDataUtility.Pool(a: 0.022, b: -0.075, tau: 6.5), RepeatedDataUtility.Pool(a: 0.022, b: -0.093, tau: 5)]
    #expect(RepeatedDataUtility.order(pools) == [1, 0, 3, 2])
    let u = RepeatedDataUtility.unionError(pools: pools, m: 2, poolSize: 12_800_000, samples: 64_000_000, d: 0.1, aggregation: .effectiveUtility)
    #expect(abs(u - 0.8273429010564867) < 1e-15)
    let e = RepeatedDataUtility.unionError(pools: pools, m: 2, poolSize: 12_800_000, samples: 64_000_000, d: 0.1, aggregation: .effectiveData)
    #expect(abs(e - 0.83401585509785) < 1e-15)
    let (best, _) = try RepeatedDataUtility.bestPoolCount(
      pools: pools, poolSize: 12_800_000, budgets: [32_000_000, 64_000_000, 128_000_000, 640_000_000], d: 0.1, aggregation: .effectiveUtility)
    #expect(best == [1, 2, 2, 3])
    #expect(mixingError { _ = try RepeatedDataUtility.bestPoolCount(pools: [first, RepeatedDataUtility.Pool(a: 1, b: -0.1, tau: 1)], poolSize: 10, budgets: [5], d: 0, aggregation: .effectiveData) } != nil)
  }
}

@Suite("mix: the plan of a token budget")
struct MixturePlanTests {
  @Test("shares follow the weights; whole epochs plus a remainder; nothing past max_epochs")
  func plan() throws {
    let p = try MixturePlan.make(names: ["web", "code", "math"], available: [1000, 200, 50], weights: [0.5, 0.3, 0.2],
                                 budget: 1000, maxEpochs: 4)
    // math would need 200 = 4 epochs exactly: not capped past it.
    #expect(p.domains.map(\.target) == [500, 300, 200])
    #expect(p.domains.map(\.fullEpochs) == [0, 1, 4])
    #expect(p.domains.map(\.remainder) == [500, 100, 0])
    #expect(p.domains.allSatisfy { !$0.capped })
  }

  @Test("a binding cap gives exactly max_epochs, and the rest goes to the others by weight, until no cap binds")
  func caps() throws {
    let p = try MixturePlan.make(names: ["web", "code", "math"], available: [10_000, 100, 250], weights: [0.6, 0.2, 0.2],
                                 budget: 5000, maxEpochs: 4)
    #expect(p.domains[1].capped && p.domains[1].target == 400)
    // math fits at first (1,000 = its cap), but its share of what code leaves (1,150) does not.
    #expect(p.domains[2].capped && p.domains[2].target == 1000)
    #expect(abs(p.domains[0].target - 3600) < 1e-9 && !p.domains[0].capped)
    #expect(abs(p.domains.map(\.target).reduce(0, +) - 5000) < 1e-9)
  }

  @Test("zero weights get nothing; an empty weighted domain is capped at 0; an unreachable budget is an error")
  func edges() throws {
    let p = try MixturePlan.make(names: ["a", "b", "c"], available: [100, 100, 0], weights: [1, 0, 1], budget: 150, maxEpochs: 4)
    #expect(p.domains.map(\.target) == [150, 0, 0] && p.domains[2].capped)
    let e = mixingError { _ = try MixturePlan.make(names: ["a", "b"], available: [10, 10], weights: [1, 1], budget: 100, maxEpochs: 4) }
    #expect(e?.message.contains("needs more than max_epochs") == true)
    #expect(mixingError { _ = try MixturePlan.make(names: ["a"], available: [10], weights: [0], budget: 5, maxEpochs: 4) } != nil)
    #expect(mixingError { _ = try MixturePlan.make(names: ["a"], available: [10], weights: [1], budget: 0, maxEpochs: 4) } != nil)
  }

  @Test("a domain's stream: documents in hash order, whole epochs, then those whose midpoint fits; equal hashes go together")
  func stream() {
    let s = DomainStream([(5, 10), (1, 10), (3, 10), (3, 4), (9, 100)])
    #expect(s.available == 134 && s.documentCount == 5)
    // Midpoints: hash 1 at 5, hash 3 (14 units, two documents) at 17, hash 5 at 29, hash 9 at 84.
    #expect(s.taken(start: 0, length: 0) == (0, 0))
    #expect(s.taken(start: 0, length: 5) == (0, 0))
    #expect(s.taken(start: 0, length: 5.5) == (10, 1))
    #expect(s.taken(start: 0, length: 20) == (24, 3))
    #expect(s.taken(start: 0, length: 134) == (134, 5))
    #expect(s.taken(start: 0, length: 134 * 2 + 20) == (134 * 2 + 24, 13))
    // A later stretch continues where the first stopped.
    #expect(s.taken(start: 20, length: 20) == (10, 1))
    #expect(s.copies(hash: 5, start: 20, length: 20) == 1 && s.copies(hash: 1, start: 20, length: 20) == 0)
    #expect(s.copies(hash: 3, start: 0, length: 300) == 3)
    #expect(s.copies(hash: 4, start: 0, length: 300) == nil)
    // Consecutive stretches add up to one long one.
    for cut in [0.0, 7, 50, 133, 200] {
      let a = s.taken(start: 0, length: cut)
      let b = s.taken(start: cut, length: 400 - cut)
      #expect(a.units + b.units == s.taken(start: 0, length: 400).units)
    }
  }

  @Test("a later phase has only what the earlier left under the cap")
  func capacity() throws {
    let p = try MixturePlan.make(names: ["a", "b"], available: [100, 100], weights: [0.9, 0.1], budget: 300, maxEpochs: 4,
                                 capacity: [50, 400])
    #expect(p.domains[0].capped && p.domains[0].target == 50 && p.domains[1].target == 250)
  }
}

@Suite("mixture tools: the built-in proxy")
struct ProxyTests {
  @Test("Kneser–Ney: every context's distribution sums to 1 over the vocabulary; training data is likelier")
  func normalised() throws {
    var r = SeededRandom(seed: 9)
    let train: [UInt32] = (0..<3000).map { _ in UInt32(r.below(6)) * UInt32(r.below(3)) }
    let model = try NGramProxy(sequences: [train[...], [1, 2, 3, 4][...]], vocabularySize: 20)
    for (u, v) in [(UInt32(0), UInt32(0)), (1, 2), (5, 10), (19, 19), (3, 7)] {
      let total = (0..<20).reduce(0.0) { $0 + model.probability(u, v, UInt32($1)) }
      #expect(abs(total - 1) < 1e-9, "context (\(u), \(v)): \(total)")
    }
    let seen = model.crossEntropy(train[0..<500])!
    let other: [UInt32] = (0..<500).map { _ in UInt32(10 + r.below(10)) }
    #expect(seen < model.crossEntropy(other[...])!)
    #expect(model.crossEntropy([1, 2][...]) == nil)
    #expect(mixingError { _ = try NGramProxy(sequences: [], vocabularySize: 1 << 22) } != nil)
  }

  @Test("prepared data: a missing, damaged or hostile manifest is an error naming it")
  func preparedFiles() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-prep-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    #expect(mixingError { _ = try PreparedDomains.load(directory: dir) }?.message.contains("prepared.json") == true)
    let ids: [UInt32] = [1, 2, 3, 9]
    let bytes = ids.withUnsafeBytes { Array($0) }
    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/0000.train.bin"))
    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/0000.valid.bin"))
    let sum = bytes.withUnsafeBufferPointer { hex64(XXH3.hash64($0)) }
    func manifest(_ domain: PreparedDomains.Domain, vocabulary: Int = 10) throws {
      let p = PreparedDomains(vocabularySize: vocabulary, separator: 9, tokenizer: "t", validFraction: 0.1, seed: 0, domains: [domain])
      try Data(p.json()).write(to: URL(fileURLWithPath: dir + "/prepared.json"))
    }
    let good = PreparedDomains.Domain(name: "a", trainDocuments: 1, validDocuments: 1, trainFile: "0000.train.bin",
                                      validFile: "0000.valid.bin", trainTokens: 4, validTokens: 4, trainChecksum: sum, validChecksum: sum)
    try manifest(good)
    let p = try PreparedDomains.load(directory: dir)
    #expect(try p.tokens(of: p.domains[0], valid: false, directory: dir) == ids)
    var wrong = good
    wrong.trainTokens = 5
    try manifest(wrong)
    #expect(mixingError { _ = try PreparedDomains.load(directory: dir).tokens(of: wrong, valid: false, directory: dir) }?.message.contains("damaged or stale") == true)
    wrong = good
    wrong.trainFile = "../escape"
    try manifest(wrong)
    #expect(mixingError { _ = try PreparedDomains.load(directory: dir) }?.message.contains("plain name") == true)
    try manifest(good, vocabulary: 5)
    #expect(mixingError { _ = try PreparedDomains.load(directory: dir) } != nil)  // the separator 9 is past 5
    try Data("{".utf8).write(to: URL(fileURLWithPath: dir + "/prepared.json"))
    #expect(mixingError { _ = try PreparedDomains.load(directory: dir) }?.message.hasPrefix(dir + "/prepared.json: ") == true)
  }
}
