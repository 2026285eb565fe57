import ArgumentParser
import Foundation
import Winnow

/// `winnow mix`: a mixture to a token budget from documents that carry their domain.
struct MixCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mix",
    abstract: "Build a mixture to a token budget from per-domain documents and weights, with epoch caps.",
    discussion: """
      Reads the inputs twice. The first pass counts each domain's tokens (--tokenizer; or \
      words or text bytes with --unit) by the documents' --domain-field (set it with the \
      `domain` stage). The plan gives each domain weight × budget tokens: whole epochs of the \
      domain plus a remainder of documents chosen by a seeded hash of their ids (a sample when \
      the share is under one epoch), at most --max-epochs epochs; a capped domain's shortfall \
      goes to the others in proportion to their weights. With --phase, each phase of the \
      schedule takes its fraction of the budget by its own weights, continuing each domain \
      where the previous phase stopped (the cap counts all phases). The next pass writes each document \
      as many times as the plan says (copies after the first get #k ids) and drops the rest \
      (mix_not_sampled; documents of domains without weight: mix_zero_weight). The manifest \
      (JSON) states per domain the tokens available and written, epochs, effective weights and \
      whether a cap bound.

      \(exitCodeHelp)
      """)

  enum Unit: String, ExpressibleByArgument, CaseIterable {
    case tokens, words, bytes
  }

  @OptionGroup var io: IOOptions
  @Option(help: "Target weights: `domain: weight` lines, a RegMix config, or JSON (what `winnow mixture optimize` writes).") var weights: String?
  @Option(help: "FRACTION:WEIGHTS, repeatable: a schedule, each phase that fraction of the budget with its own weights, written to OUT/phase-K/ (fractions sum to 1; e.g. 0.8:base.yaml 0.2:anneal.yaml).") var phase: [String] = []
  @Option(help: "Tokens (or --unit) the mixture should hold.") var budget: Int
  @Option(help: "The field holding each document's domain.") var domainField = "domain"
  @Option(help: "A domain may be repeated at most this many epochs.") var maxEpochs = 4.0
  @Option(help: "Seed of the documents' sampling hash.") var seed: UInt64 = 0
  @Option(help: "Count tokens with this tokenizer.json or tiktoken file (without special tokens).") var tokenizer: String?
  @Option(help: "For a tiktoken --tokenizer: gpt2, p50k, cl100k, o200k or a regular expression.") var pattern: String?
  @Option(help: "What the budget counts: tokens (needs --tokenizer), words or bytes (of text).") var unit: Unit?
  @Option(help: "Write the manifest (JSON) here.") var manifest: String

  func run() throws {
    do throws(WinnowError) {
      let unit = self.unit ?? (tokenizer == nil ? .words : .tokens)
      guard unit != .tokens || tokenizer != nil else { throw .usage("--unit tokens needs --tokenizer") }
      guard unit == .tokens || tokenizer == nil else { throw .usage("--tokenizer counts tokens: leave --unit out or set it to tokens") }
      var stageFiles = ([weights].compactMap { $0 } + phase.compactMap { $0.split(separator: ":", maxSplits: 1).last.map(String.init) })
        .map { OutputGuard.Input(role: "--weights", path: $0, isDirectory: false) }
      if let tokenizer { stageFiles.append(OutputGuard.Input(role: "--tokenizer", path: tokenizer, isDirectory: false)) }
      let outputs = [OutputGuard.Output(role: "--manifest", path: manifest, isDirectory: false)]
      // Checked before the first pass (runPipeline checks again before writing).
      var g = OutputGuard()
      g.addInputs(try InputSet.expand(io.inputs), named: io.inputs, role: "input")
      g.inputs += stageFiles
      g.outputs += outputs
      g.addOutput(io.output, role: "--output", isDirectory: phase.count > 1)
      try g.check()
      guard !io.inputs.isEmpty, !io.inputs.contains("-") else {
        throw .usage("mix reads its inputs twice: name files or directories (standard input cannot be read again)")
      }

      struct Phase {
        var fraction: Double
        var file: String
        var names: [String]
        var weights: [Double]
      }
      var phases: [Phase] = []
      if let weights {
        guard phase.isEmpty else { throw .usage("give --weights or --phase, not both") }
        let (n, w) = try MixturePrior.read(path: weights)
        phases = [Phase(fraction: 1, file: weights, names: n, weights: w)]
      } else {
        guard !phase.isEmpty else { throw .usage("give --weights (one mixture) or --phase FRACTION:WEIGHTS (a schedule)") }
        for spec in phase {
          guard let colon = spec.firstIndex(of: ":"), let f = Double(spec[..<colon]), f > 0, f <= 1 else {
            throw .usage("--phase '\(spec)': expected FRACTION:WEIGHTS with 0 < FRACTION ≤ 1")
          }
          let file = String(spec[spec.index(after: colon)...])
          let (n, w) = try MixturePrior.read(path: file)
          phases.append(Phase(fraction: f, file: file, names: n, weights: w))
        }
        let sum = phases.reduce(0) { $0 + $1.fraction }
        guard abs(sum - 1) < 1e-9 else { throw .usage("the --phase fractions sum to \(sum), not 1") }
      }
      var names: [String] = []
      var given: [Double] = []
      for ph in phases {
        for (n, w) in zip(ph.names, ph.weights) {
          if let i = names.firstIndex(of: n) { given[i] = max(given[i], w) } else {
            names.append(n)
            given.append(w)
          }
        }
      }
      var count: (Document) -> Int = { $0.whitespaceWordCount }
      if unit == .bytes { count = { $0.text.count } }
      if let tokenizer { count = try tokenCounter(tokenizer, pattern: pattern) }

      // Pass 1: every document's domain, units and hash.
      var byDomain: [String: [(hash: UInt64, units: Int)]] = [:]
      let reader = DocumentReader(
        inputs: try InputSet.expand(io.inputs), fields: DocumentFields(text: io.textField, id: io.idField),
        maxDocumentBytes: io.maxDocumentBytes)
      defer { reader.close() }
      while let item = try reader.next() {
        switch item {
        case .bad(let bad):
          if io.strict { throw WinnowError(.badInput, bad.message) }
        case .tooLarge(let line):
          if io.strict { throw WinnowError(.badInput, line.message) }
        case .document(let doc):
          let domain = MixSampleStage.domain(of: doc, field: domainField)
          byDomain[domain, default: []].append((MixSampleStage.hash(of: doc, seed: seed), count(doc)))
        }
      }
      let missing = names.enumerated().filter { given[$0.offset] > 0 && byDomain[$0.element] == nil }.map(\.element)
      if !missing.isEmpty {
        printError("winnow mix: warning: no documents of \(missing.joined(separator: ", ")) (weighted); their share goes to the other domains")
      }
      let unweighted = byDomain.keys.filter { !names.contains($0) }.sorted()
      let all = names + unweighted
      let available = all.map { byDomain[$0]?.reduce(0) { $0 + $1.units } ?? 0 }

      var takes: [String: MixSampleStage.Take] = [:]
      var streams: [String: DomainStream] = [:]
      for (name, docs) in byDomain { streams[name] = DomainStream(docs) }
      var used = [Double](repeating: 0, count: all.count)
      var phaseReports: [[String: Any]] = []
      var total = 0
      var capped: [String] = []
      for (k, ph) in phases.enumerated() {
        let phaseBudget = phases.count == 1 ? budget : Int((Double(budget) * ph.fraction).rounded())
        let aligned = all.map { name in ph.names.firstIndex(of: name).map { ph.weights[$0] } ?? 0 }
        let capacity = all.indices.map { max(0, maxEpochs * Double(available[$0]) - used[$0]) }
        let plan = try MixturePlan.make(names: all, available: available, weights: aligned, budget: phaseBudget,
                                        maxEpochs: maxEpochs, capacity: capacity)
        let ordered = all.map { streams[$0] ?? DomainStream([]) }
        let report = MixManifest.rows(plan: plan, streams: ordered, starts: used)
        let phaseTotal = report.reduce(0) { $0 + ($1["written"] as? Int ?? 0) }
        for (j, d) in plan.domains.enumerated() {
          takes[d.name] = MixSampleStage.Take(stream: ordered[j], start: used[j], length: d.target)
          used[j] += d.target
          if d.capped && !capped.contains(d.name) { capped.append(d.name) }
        }
        total += phaseTotal
        let stage = MixSampleStage(domainField: domainField, seed: seed, takes: takes)
        var phaseIO = io
        if phases.count > 1 { phaseIO.output = io.output + "/phase-\(k + 1)" }
        try phaseIO.runPipeline([NamedStage(name: "mix", stage: stage)], stageFiles: stageFiles, stageOutputs: outputs)
        phaseReports.append([
          "phase": k + 1, "fraction": ph.fraction, "weights_file": ph.file, "budget": phaseBudget, "written": phaseTotal,
          "output": phaseIO.output, "domains": report,
        ])
      }
      var notes: [String] = []
      if !capped.isEmpty {
        notes.append("max_epochs (\(maxEpochs)) bound \(capped.joined(separator: ", ")): their shortfall went to the other domains in proportion to their weights")
      }
      if !unweighted.isEmpty { notes.append("no weight for \(unweighted.joined(separator: ", ")): dropped") }
      if !missing.isEmpty { notes.append("no documents of \(missing.joined(separator: ", "))") }
      var summary: [String: Any] = [
        "budget": budget, "unit": unit.rawValue, "max_epochs": maxEpochs, "seed": seed, "domain_field": domainField,
        "written": total, "notes": notes, "redistributed": !capped.isEmpty || !missing.isEmpty,
      ]
      if phases.count == 1 {
        summary["weights_file"] = phases[0].file
        summary["domains"] = phaseReports[0]["domains"]
      } else {
        summary["phases"] = phaseReports
      }
      try writeTextFile(manifest, MixManifest.json(summary))
      printError("winnow mix: \(total) \(unit.rawValue) written of a budget of \(budget)\(capped.isEmpty ? "" : "; capped: " + capped.joined(separator: ", "))")
    } catch {
      throw report(error)
    }
  }
}
