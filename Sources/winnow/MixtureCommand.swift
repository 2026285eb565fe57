import ArgumentParser
import Foundation
import Winnow

/// `winnow mixture`: choosing domain weights from proxy runs — RegMix's proposals, regression
/// and search; DoReMi's weight update; QQT's repeated-data utility.
struct MixtureCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mixture",
    abstract: "Propose mixtures, fit proxy losses, find the best mixture (RegMix, DoReMi, QQT).",
    discussion: """
      The RegMix loop: `propose` writes mixtures to try; each is trained as a small proxy run \
      whose validation losses go into a table; `fit` learns the target loss from the weights; \
      `optimize` searches the fitted model and writes the weights. Tables are CSV as RegMix \
      keeps them: `index,<domain>,…` (weights) and `index,<loss column>,…` (losses), joined on \
      index. A prior is the domains' token shares: JSON {"domains": [...], "weights": [...]} or \
      `domain: share` lines (a RegMix config's `train:` block is read as such).
      """,
    subcommands: [Propose.self, Prepare.self, Proxy.self, Run.self, Fit.self, Optimize.self, DoReMi.self, QQT.self])

  /// Checks that none of `outputs` is one of `inputs` before anything is written.
  static func guardOutputs(_ outputs: [(path: String, role: String)], inputs: [(path: String, role: String)])
    throws(WinnowError)
  {
    var g = OutputGuard()
    for input in inputs where input.path != "-" {
      g.addInputs([InputFile(path: input.path)], named: [input.path], role: input.role)
    }
    for output in outputs { g.addOutput(output.path, role: output.role, isDirectory: false) }
    try g.check()
  }

  struct Propose: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "propose",
      abstract: "Propose mixtures to try (RegMix's synthesize_mixture procedure).",
      discussion: """
        Draws Dirichlet mixtures around the prior (raised to --temperature) at --strengths \
        strengths from --min-strength to --max-strength, --multiplier draws per mixture wanted; \
        rejects a draw when a domain's weight passes --max-usage times its prior share (it would \
        repeat that domain's tokens more often in the full run); zeroes weights below --minimum and \
        rounds to multiples of it; removes near-duplicates; samples --count of what is left. \
        Deterministic for a seed (the draws are Winnow's own, not numpy's).

        \(exitCodeHelp)
        """)

    @Option(help: "The domains' token shares (JSON or `domain: share` lines).") var prior: String
    @Option(name: [.customShort("n"), .customLong("count")], help: "Mixtures to propose.") var count = 512
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "The prior is raised to this power before drawing (below 1 flattens it).") var temperature = 0.5
    @Option(help: "Smallest Dirichlet strength.") var minStrength = 0.1
    @Option(help: "Largest Dirichlet strength.") var maxStrength = 5.0
    @Option(help: "Strengths, evenly spaced in log scale.") var strengths = 15
    @Option(help: "Draws made per mixture wanted.") var multiplier = 100
    @Option(help: "A domain's weight may be at most this many times its prior share.") var maxUsage = 15.0
    @Option(help: "Weights below this are zeroed; weights are rounded to multiples of it.") var minimum = 2e-4
    @Option(name: [.short, .customLong("output")], help: "The mixtures as CSV ('-': standard output).") var output = "-"

    func run() throws {
      do throws(WinnowError) {
        try MixtureCommand.guardOutputs([(output, "--output")], inputs: [(prior, "--prior")])
        let (domains, shares) = try MixturePrior.read(path: prior)
        var s = MixtureProposal.Settings()
        s.temperature = temperature
        s.minStrength = minStrength
        s.maxStrength = maxStrength
        s.strengths = strengths
        s.multiplier = multiplier
        s.maxUsage = maxUsage
        s.minimum = minimum
        s.seed = seed
        let proposal = try MixtureProposal.propose(prior: shares, count: count, settings: s)
        let table = MixtureTable(columns: domains, index: Array(1...count), rows: proposal.rows)
        try writeTextFile(output, table.csv())
        FileHandle.standardError.write(
          Data("propose: \(proposal.accepted) draws within the usage bound, \(proposal.distinct) distinct, \(count) written\n".utf8))
      } catch {
        throw report(error)
      }
    }
  }

  struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "fit",
      abstract: "Fit a proxy loss on mixture weights (boosted trees or linear).",
      discussion: """
        --model gbdt (the default) grows gradient-boosted regression trees as LightGBM's gbdt does \
        (histogram bins, leaf-wise growth to --leaves, squared loss, learning rate --learning-rate, \
        --iterations rounds) with early stopping on the held-out mixtures (--held-out-mixtures and \
        --held-out-losses; without them every 8th training row is held out); --model linear is \
        ordinary least squares. Each --evaluate MIXTURES.csv:LOSSES.csv pair is scored by Spearman's \
        rank correlation of predicted and true target loss. Prints a JSON summary; --output writes \
        the model for `optimize`.

        \(exitCodeHelp)
        """)

    @Option(help: "Mixtures of the proxy runs (CSV).") var mixtures: String
    @Option(help: "Their validation losses (CSV).") var losses: String
    @Option(help: "The loss column to fit, or `mean` for the mean of every loss column.") var target: String
    @Option(help: "Held-out mixtures (early stopping).") var heldOutMixtures: String?
    @Option(help: "Their losses.") var heldOutLosses: String?
    @Option(help: "MIXTURES.csv:LOSSES.csv to score (repeatable).") var evaluate: [String] = []
    @Option(help: "gbdt or linear.") var model: MixtureRegression.Kind = .gbdt
    @Option(help: "Boosting rounds at most.") var iterations = 1000
    @Option(help: "Boosting learning rate.") var learningRate = 0.01
    @Option(help: "Leaves per tree at most.") var leaves = 31
    @Option(help: "Rows per leaf at least.") var minRowsInLeaf = 20
    @Option(help: "Stop after this many rounds without a better held-out error (0: never).") var earlyStopping = 3
    @Option(name: [.short, .customLong("output")], help: "Write the model here (JSON).") var output: String?

    func run() throws {
      do throws(WinnowError) {
        var inputs = [(mixtures, "--mixtures"), (losses, "--losses")]
        if let heldOutMixtures { inputs.append((heldOutMixtures, "--held-out-mixtures")) }
        if let heldOutLosses { inputs.append((heldOutLosses, "--held-out-losses")) }
        let pairs = try evaluate.map { spec throws(WinnowError) -> (String, String) in
          let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
          guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .usage("--evaluate '\(spec)': expected MIXTURES.csv:LOSSES.csv")
          }
          inputs.append((parts[0], "--evaluate"))
          inputs.append((parts[1], "--evaluate"))
          return (parts[0], parts[1])
        }
        if let output { try MixtureCommand.guardOutputs([(output, "--output")], inputs: inputs) }
        guard (heldOutMixtures == nil) == (heldOutLosses == nil) else {
          throw .usage("--held-out-mixtures and --held-out-losses go together")
        }
        func observations(_ m: String, _ l: String) throws(WinnowError) -> MixtureObservations {
          try MixtureObservations.join(
            mixtures: MixtureTable.read(path: m), mixtureSource: m, losses: MixtureTable.read(path: l), lossSource: l,
            target: target)
        }
        var training = try observations(mixtures, losses)
        var heldOut: MixtureObservations?
        if let heldOutMixtures, let heldOutLosses {
          heldOut = try observations(heldOutMixtures, heldOutLosses)
        } else if model == .gbdt {
          // Every 8th row (in file order) decides early stopping.
          var keep = MixtureObservations(domains: training.domains, weights: [], loss: [])
          var held = keep
          for (k, w) in training.weights.enumerated() {
            if k % 8 == 7 {
              held.weights.append(w)
              held.loss.append(training.loss[k])
            } else {
              keep.weights.append(w)
              keep.loss.append(training.loss[k])
            }
          }
          if held.weights.isEmpty || keep.weights.isEmpty {
            throw .usage("fit: \(training.weights.count) mixtures are too few to hold some out; give --held-out-mixtures")
          }
          training = keep
          heldOut = held
        }
        var p = BoostingParameters()
        p.iterations = iterations
        p.learningRate = learningRate
        p.numLeaves = leaves
        p.minDataInLeaf = minRowsInLeaf
        p.earlyStoppingRounds = earlyStopping
        let fitted = try MixtureRegression.fit(kind: model, training: training, heldOut: heldOut, target: target, parameters: p)
        var summary: [String: Any] = [
          "model": model.rawValue, "target": target, "training_rows": fitted.fit.trainingRows,
          "held_out_rows": fitted.fit.heldOutRows,
        ]
        if let b = fitted.fit.bestIteration { summary["best_iteration"] = b }
        if let s = fitted.fit.heldOutSpearman { summary["held_out_spearman"] = s }
        var scored: [[String: Any]] = []
        for (m, l) in pairs {
          let o = try observations(m, l)
          guard o.domains == fitted.domains else {
            throw .usage("\(m): its domains differ from the training mixtures'")
          }
          scored.append([
            "mixtures": m, "losses": l, "rows": o.weights.count,
            "spearman": RankCorrelation.spearman(o.weights.map(fitted.predict), o.loss),
          ])
        }
        summary["evaluate"] = scored
        if let output { try writeTextFile(output, String(decoding: fitted.json(), as: UTF8.self) + "\n") }
        print(jsonLine(summary))
      } catch {
        throw report(error)
      }
    }
  }

  struct Optimize: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "optimize",
      abstract: "Find the mixture a fitted model predicts best; write it as weights.",
      discussion: """
        --method sample is RegMix's search: --draws Dirichlet draws with the prior shares as \
        concentrations, and the mean of the --top draws with the lowest predicted loss. --method \
        descend then moves weight between domains while the prediction drops, keeping each \
        domain at most --max-usage times its prior share. The weights are written as a recipe \
        fragment (`weights:` then `  domain: weight` lines); a JSON summary goes to standard output.

        \(exitCodeHelp)
        """)

    enum Method: String, ExpressibleByArgument, CaseIterable {
      case sample, descend
    }

    @Option(help: "A model from `winnow mixture fit --output`.") var model: String
    @Option(help: "The domains' token shares (JSON or `domain: share` lines).") var prior: String
    @Option(help: "sample (RegMix) or descend (sample, then a bounded local search).") var method: Method = .sample
    @Option(help: "Dirichlet draws.") var draws = 100_000
    @Option(help: "Draws averaged.") var top = 128
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "For descend: a domain's weight at most this many times its prior share.") var maxUsage = 15.0
    @Option(name: [.short, .customLong("output")], help: "The weights ('-': standard output).") var output: String?

    func run() throws {
      do throws(WinnowError) {
        if let output {
          try MixtureCommand.guardOutputs([(output, "--output")], inputs: [(model, "--model"), (prior, "--prior")])
        }
        let fitted = try MixtureRegression.load(path: model)
        let (names, shares) = try MixturePrior.read(path: prior)
        let aligned = try MixturePrior.align(names: names, shares: shares, to: fitted.domains, source: prior)
        var weights = try MixtureSearch.sample(model: fitted, prior: aligned, draws: draws, top: top, seed: seed)
        if method == .descend {
          let total = aligned.reduce(0, +)
          let upper = aligned.map { min($0 / total * maxUsage, 1) }
          weights = try MixtureSearch.descend(model: fitted, start: weights, upper: upper)
        }
        if let output {
          try writeTextFile(output, weightsFragment(
            "winnow mixture optimize --method \(method.rawValue): predicted \(fitted.target) \(fitted.predict(weights))",
            names: fitted.domains, weights: weights))
        }
        var byDomain: [String: Any] = [:]
        for (name, w) in zip(fitted.domains, weights) { byDomain[name] = w }
        print(jsonLine(["method": method.rawValue, "predicted": fitted.predict(weights), "weights": byDomain]))
      } catch {
        throw report(error)
      }
    }
  }

  struct DoReMi: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "doremi",
      abstract: "DoReMi's domain-weight updates from logged proxy and reference losses.",
      discussion: """
        --log holds one JSON object per optimizer step, in one of three forms: \
        {"domain_ids": [...], "proxy_losses": [...], "reference_losses": [...]} (per token), \
        {"domain_ids": [...], "excess_losses": [...]} (per token, proxy minus reference), or \
        {"excess_sum": [...], "tokens": [...]} (per domain: the sum of max(proxy − reference, 0) \
        over the step's tokens, and their count). Prints one JSON line per step with the \
        excess losses used (lambdas), the new weights and their running average (avg_weights, \
        DoReMi's result); --output writes the final average as a recipe fragment.

        \(exitCodeHelp)
        """)

    @Option(help: "The starting weights (JSON or `domain: weight` lines).") var initialWeights: String
    @Option(help: "One JSON object per step (see above).") var log: String
    @Option(help: "The step size η.") var eta = 1.0
    @Option(help: "The smoothing c toward uniform weights.") var smoothing = 1e-3
    @Option(help: "λ before a domain's first step is ln(vocabulary size).") var vocabSize = 50277
    @Option(help: "λ before a domain's first step (instead of ln --vocab-size).") var initialLambda: Double?
    @Option(name: [.short, .customLong("output")], help: "The average weights as a recipe fragment.") var output: String?

    func run() throws {
      do throws(WinnowError) {
        if let output {
          try MixtureCommand.guardOutputs([(output, "--output")], inputs: [(initialWeights, "--initial-weights"), (log, "--log")])
        }
        guard vocabSize >= 1 else { throw .usage("--vocab-size must be at least 1") }
        let (names, weights) = try MixturePrior.read(path: initialWeights)
        var state = try DomainWeightUpdate(
          initialWeights: weights, eta: eta, smoothing: smoothing, initialLambda: initialLambda ?? Foundation.log(Double(vocabSize)))
        let text = try MixturePrior.readText(path: log)
        var out = ""
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
          lineNumber += 1
          if line.allSatisfy({ $0 == " " || $0 == "\r" || $0 == "\t" }) { continue }
          let at = "\(log):\(lineNumber)"
          guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw .io("\(at): not a JSON object")
          }
          do throws(WinnowError) {
            if let sums = object["excess_sum"] {
              try state.update(clippedExcessSum: numbers(sums, "excess_sum"), tokens: integers(object["tokens"], "tokens"))
            } else if let excess = object["excess_losses"] {
              try state.update(domains: integers(object["domain_ids"], "domain_ids"), excessLoss: numbers(excess, "excess_losses"))
            } else {
              try state.update(
                domains: integers(object["domain_ids"], "domain_ids"), proxyLoss: numbers(object["proxy_losses"], "proxy_losses"),
                referenceLoss: numbers(object["reference_losses"], "reference_losses"))
            }
          } catch {
            throw WinnowError(error.kind == .usage ? .io : error.kind, "\(at): \(error.message)")
          }
          out += jsonLine(["step": state.counter - 1, "lambdas": state.lambdas, "weights": state.weights, "avg_weights": state.average]) + "\n"
        }
        var bytes = Array(out.utf8)
        try writeStandardOutput(&bytes)
        if let output {
          try writeTextFile(output, weightsFragment(
            "winnow mixture doremi: the average weights after \(state.counter - 1) steps", names: names, weights: state.average))
        }
      } catch {
        throw report(error)
      }
    }

    func numbers(_ value: Any?, _ key: String) throws(WinnowError) -> [Double] {
      guard let array = value as? [Any] else { throw .usage("'\(key)' must be an array of numbers") }
      var out: [Double] = []
      for v in array {
        guard let n = MixturePrior.number(v) else { throw .usage("'\(key)' must be an array of numbers") }
        out.append(n)
      }
      return out
    }

    func integers(_ value: Any?, _ key: String) throws(WinnowError) -> [Int] {
      let values = try numbers(value, key)
      return try values.map { v throws(WinnowError) -> Int in
        guard v == v.rounded(), abs(v) < 9e15 else { throw .usage("'\(key)' must hold integers") }
        return Int(v)
      }
    }
  }

  struct QQT: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "qqt",
      abstract: "QQT's utility of repeated data: error curves and the best number of pools per budget.",
      discussion: """
        Reads a JSON request: {"curves": [{"a", "b", "tau", "d", "pool_size", "samples": [...], \
        "objective": "effective_utility" | "effective_data"}], "pools": {"params": [{"a", "b", \
        "tau"}, ...], "pool_size", "budgets": [...], "aggregation": "effective_utility" | \
        "effective_data", "d"}} (either key may be left out; "pools" may be a list). Answers \
        {"curves": [{"errors": [...]}], "pools": {"aggregation", "order", "errors": [per m, per \
        budget], "best_m": [per budget]}}: the error after n samples of one pool, and for the union \
        of the m best pools (ranked by b) the error at each budget and the best m.

        \(exitCodeHelp)
        """)

    @Argument(help: "The request (JSON; '-' for standard input).") var request: String = "-"

    func run() throws {
      do throws(WinnowError) {
        let text = try MixturePrior.readText(path: request)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
          throw .usage("\(request): not a JSON object")
        }
        var answer: [String: Any] = [:]
        if let curves = object["curves"] {
          guard let list = curves as? [[String: Any]] else { throw .usage("\(request): 'curves' must be a list of objects") }
          answer["curves"] = try list.enumerated().map { k, c throws(WinnowError) -> [String: Any] in
            let at = "\(request): curves[\(k)]"
            let pool = try RepeatedDataUtility.Pool(
              a: number(c["a"], at, "a"), b: number(c["b"], at, "b"), tau: number(c["tau"], at, "tau"), d: number(c["d"], at, "d"))
            let size = try count(c["pool_size"], at, "pool_size")
            guard size > 0, pool.tau > 0 else { throw .usage("\(at): pool_size and tau must be positive") }
            guard let samples = c["samples"] as? [Any] else { throw .usage("\(at): 'samples' must be a list") }
            let objective = (c["objective"] as? String) ?? "effective_utility"
            guard objective == "effective_utility" || objective == "effective_data" else {
              throw .usage("\(at): objective '\(objective)' is not effective_utility or effective_data")
            }
            let errors = try samples.map { n throws(WinnowError) -> Double in
              let n = try count(n, at, "samples")
              return objective == "effective_data"
                ? RepeatedDataUtility.effectiveDataError(pool: pool, poolSize: size, samples: n)
                : RepeatedDataUtility.error(pool: pool, poolSize: size, samples: n)
            }
            return ["errors": errors]
          }
        }
        if let pools = object["pools"] {
          if let list = pools as? [[String: Any]] {
            answer["pools"] = try list.enumerated().map { k, p throws(WinnowError) in try rank(p, "\(request): pools[\(k)]") }
          } else if let one = pools as? [String: Any] {
            answer["pools"] = try rank(one, "\(request): pools")
          } else {
            throw .usage("\(request): 'pools' must be an object or a list of objects")
          }
        }
        print(jsonLine(answer))
      } catch {
        throw report(error)
      }
    }

    func rank(_ p: [String: Any], _ at: String) throws(WinnowError) -> [String: Any] {
      guard let params = p["params"] as? [[String: Any]], !params.isEmpty else { throw .usage("\(at): 'params' must be a non-empty list") }
      let pools = try params.enumerated().map { k, q throws(WinnowError) in
        try RepeatedDataUtility.Pool(a: number(q["a"], "\(at).params[\(k)]", "a"), b: number(q["b"], "\(at).params[\(k)]", "b"),
                                     tau: number(q["tau"], "\(at).params[\(k)]", "tau"))
      }
      let name = (p["aggregation"] as? String) ?? "effective_utility"
      guard let aggregation = RepeatedDataUtility.Aggregation(rawValue: name) else {
        throw .usage("\(at): aggregation '\(name)' is not effective_utility or effective_data")
      }
      guard let budgets = p["budgets"] as? [Any] else { throw .usage("\(at): 'budgets' must be a list") }
      let n = try budgets.map { b throws(WinnowError) in try count(b, at, "budgets") }
      let d = try p["d"] == nil ? 0.1 : number(p["d"], at, "d")
      let (best, errors) = try RepeatedDataUtility.bestPoolCount(
        pools: pools, poolSize: count(p["pool_size"], at, "pool_size"), budgets: n, d: d, aggregation: aggregation)
      return ["aggregation": name, "order": RepeatedDataUtility.order(pools), "errors": errors, "best_m": best]
    }

    func number(_ v: Any?, _ at: String, _ key: String) throws(WinnowError) -> Double {
      guard let n = MixturePrior.number(v), n.isFinite else { throw .usage("\(at): '\(key)' must be a finite number") }
      return n
    }

    func count(_ v: Any?, _ at: String, _ key: String) throws(WinnowError) -> Int {
      let x = try number(v, at, key)
      guard x >= 0, x == x.rounded(), x < 1e15 else { throw .usage("\(at): '\(key)' must be a non-negative integer below 10^15") }
      return Int(x)
    }
  }
}

/// Weights as a recipe fragment (`weights:` then `  domain: weight` lines), after a comment
/// saying where they come from: what `winnow mix --weights` and the `mix` stage read.
func weightsFragment(_ comment: String, names: [String], weights: [Double]) -> String {
  var out = "# \(comment)\nweights:\n"
  for (name, w) in zip(names, weights) { out += "  \(name): \(w)\n" }
  return out
}

/// One JSON object on one line, keys sorted (the summaries the mixture commands print).
func jsonLine(_ object: [String: Any]) -> String {
  guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
    return "{}"
  }
  return String(decoding: data, as: UTF8.self)
}

extension MixtureRegression.Kind: ExpressibleByArgument {}
