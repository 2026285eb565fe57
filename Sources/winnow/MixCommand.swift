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
      goes to the others in proportion to their weights. The second pass writes each document \
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
  @Option(help: "Target weights: `domain: weight` lines, a RegMix config, or JSON (what `winnow mixture optimize` writes).") var weights: String
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
      var stageFiles = [OutputGuard.Input(role: "--weights", path: weights, isDirectory: false)]
      if let tokenizer { stageFiles.append(OutputGuard.Input(role: "--tokenizer", path: tokenizer, isDirectory: false)) }
      let outputs = [OutputGuard.Output(role: "--manifest", path: manifest, isDirectory: false)]
      // Checked before the first pass (runPipeline checks again before writing).
      var g = OutputGuard()
      g.addInputs(try InputSet.expand(io.inputs), named: io.inputs, role: "input")
      g.inputs += stageFiles
      g.outputs += outputs
      g.addOutput(io.output, role: "--output", isDirectory: false)
      try g.check()
      guard !io.inputs.isEmpty, !io.inputs.contains("-") else {
        throw .usage("mix reads its inputs twice: name files or directories (standard input cannot be read again)")
      }

      let (names, given) = try MixturePrior.read(path: weights)
      var count: (Document) -> Int = { $0.whitespaceWordCount }
      if unit == .bytes { count = { $0.text.count } }
      if let tokenizer {
        let tok: Tokenizer
        do {
          tok = try Tokenizer.load(path: tokenizer, pattern: pattern)
        } catch {
          throw .usage(error.message)
        }
        var session = TokenizerSession()
        var ids: [UInt32] = []
        count = { doc in
          ids.removeAll(keepingCapacity: true)
          tok.encode(doc.text, addSpecialTokens: false, into: &ids, session: &session)
          return ids.count
        }
      }

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
        printError("winnow mix: warning: no documents of \(missing.joined(separator: ", ")) (weighted in \(weights)); their share goes to the other domains")
      }
      let unweighted = byDomain.keys.filter { !names.contains($0) }.sorted()
      let all = names + unweighted
      let available = all.map { byDomain[$0]?.reduce(0) { $0 + $1.units } ?? 0 }
      let plan = try MixturePlan.make(names: all, available: available, weights: given + unweighted.map { _ in 0 },
                                      budget: budget, maxEpochs: maxEpochs)

      var rules: [String: MixSampleStage.Rule] = [:]
      var report: [[String: Any]] = []
      var total = 0
      var rows: [(Int, [String: Any])] = []
      for d in plan.domains {
        let docs = byDomain[d.name] ?? []
        let (cutoff, extra) = MixturePlan.remainderCutoff(docs, remainder: d.remainder)
        rules[d.name] = MixSampleStage.Rule(fullEpochs: d.fullEpochs, cutoff: cutoff, weighted: d.weight > 0)
        let written = d.weight > 0 ? d.fullEpochs * d.available + extra : 0
        total += written
        let sampled = cutoff.map { c in docs.reduce(0) { $0 + ($1.hash <= c ? 1 : 0) } } ?? 0
        rows.append((written, [
          "domain": d.name, "weight": d.weight, "available": d.available, "documents": docs.count,
          "target": d.target, "capped": d.capped, "full_epochs": d.fullEpochs, "written": written,
          "documents_written": d.weight > 0 ? d.fullEpochs * docs.count + sampled : 0,
          "epochs": d.available > 0 ? Double(written) / Double(d.available) : 0,
        ]))
      }
      for (written, var row) in rows {
        row["effective_weight"] = total > 0 ? Double(written) / Double(total) : 0
        report.append(row)
      }
      let capped = plan.domains.filter(\.capped).map(\.name)
      var notes: [String] = []
      if !capped.isEmpty {
        notes.append("max_epochs (\(maxEpochs)) bound \(capped.joined(separator: ", ")): their shortfall went to the other domains in proportion to their weights")
      }
      if !unweighted.isEmpty { notes.append("no weight for \(unweighted.joined(separator: ", ")): dropped") }
      if !missing.isEmpty { notes.append("no documents of \(missing.joined(separator: ", "))") }

      let stage = MixSampleStage(domainField: domainField, seed: seed, rules: rules)
      try io.runPipeline([NamedStage(name: "mix", stage: stage)], stageFiles: stageFiles, stageOutputs: outputs)
      let summary: [String: Any] = [
        "budget": budget, "unit": unit.rawValue, "max_epochs": maxEpochs, "seed": seed, "domain_field": domainField,
        "weights_file": weights, "written": total, "domains": report, "notes": notes,
        "redistributed": !capped.isEmpty || !missing.isEmpty,
      ]
      guard let data = try? JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) else {
        throw .io("mix: cannot encode the manifest")
      }
      try writeTextFile(manifest, String(decoding: data, as: UTF8.self) + "\n")
      printError("winnow mix: \(total) \(unit.rawValue) written of a budget of \(budget)\(capped.isEmpty ? "" : "; capped: " + capped.joined(separator: ", "))")
    } catch {
      throw report(error)
    }
  }
}
