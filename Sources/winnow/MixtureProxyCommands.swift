import ArgumentParser
import Foundation
import Winnow

extension MixtureCommand {
  /// `winnow mixture prepare`: the per-domain token files the proxy runs read.
  struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "prepare",
      abstract: "Tokenize documents by domain into training and held-out token files for proxy runs.",
      discussion: """
        Each document goes to its domain (--domain-field, as the `domain` stage sets it) and, by \
        a seeded hash of its id, to the held-out part (--valid-fraction) or the training part. \
        The output directory holds prepared.json (domains, token counts, checksums) and two \
        flat token files per domain (NNNN.train.bin, NNNN.valid.bin: 32-bit ids, each document \
        followed by a separator id, the vocabulary size; with winnow-tokens sidecars, so the \
        mixture stream reads them). The directory must be new or empty.

        \(exitCodeHelp)
        """)

    @Argument(help: "Input files or directories (JSON Lines).") var inputs: [String]
    @Option(help: "A tokenizer.json or tiktoken file.") var tokenizer: String
    @Option(help: "For a tiktoken --tokenizer: gpt2, p50k, cl100k, o200k or a regular expression.") var pattern: String?
    @Option(help: "The field holding each document's domain.") var domainField = "domain"
    @Option(help: "JSON field holding the text.") var textField = "text"
    @Option(help: "JSON field holding the id.") var idField = "id"
    @Option(help: "Share of each domain's documents held out for the losses.") var validFraction = 0.1
    @Option(help: "Seed of the split.") var seed: UInt64 = 0
    @Option(name: [.short, .customLong("output")], help: "The directory to write (new or empty).") var output: String

    func run() throws {
      do throws(WinnowError) {
        guard validFraction > 0, validFraction < 1 else { throw .usage("--valid-fraction must be between 0 and 1") }
        guard !inputs.isEmpty, !inputs.contains("-") else { throw .usage("name input files or directories") }
        let files = try InputSet.expand(inputs)
        var g = OutputGuard()
        g.addInputs(files, named: inputs, role: "input")
        g.inputs.append(OutputGuard.Input(role: "--tokenizer", path: tokenizer, isDirectory: false))
        g.addOutput(output, role: "--output", isDirectory: true)
        try g.check()
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: output), !entries.isEmpty {
          throw .usage("--output \(output) is not empty: choose a new directory (prepared data is never written over)")
        }
        do {
          try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
          throw .io("\(output): cannot create: \(error.localizedDescription)")
        }
        let tok = try loadTokenizer(tokenizer, pattern: pattern)
        let separator = UInt32(tok.vocabularySize)
        var session = TokenizerSession()
        var ids: [UInt32] = []
        var parts: [String: (train: [UInt32], valid: [UInt32], trainDocs: Int, validDocs: Int)] = [:]
        let threshold = UInt64(validFraction * 1_000_000)
        let reader = DocumentReader(inputs: files, fields: DocumentFields(text: textField, id: idField))
        defer { reader.close() }
        while let item = try reader.next() {
          guard case .document(let doc) = item else { continue }
          let domain = MixSampleStage.domain(of: doc, field: domainField)
          ids.removeAll(keepingCapacity: true)
          tok.encode(doc.text, addSpecialTokens: false, into: &ids, session: &session)
          ids.append(separator)
          var p = parts[domain] ?? ([], [], 0, 0)
          if MixSampleStage.hash(of: doc, seed: seed) % 1_000_000 < threshold {
            p.valid += ids
            p.validDocs += 1
          } else {
            p.train += ids
            p.trainDocs += 1
          }
          parts[domain] = p
        }
        guard !parts.isEmpty else { throw .usage("no documents in \(inputs.joined(separator: " "))") }
        var domains: [PreparedDomains.Domain] = []
        for (k, name) in parts.keys.sorted().enumerated() {
          let p = parts[name]!
          // Each part is also a flat token file (uint32 ids + a winnow-tokens sidecar), so the
          // mixture stream — and a PyTorch proxy through the Python package — reads it as is.
          func write(_ ids: [UInt32], _ file: String, documents: Int) throws(WinnowError) -> String {
            let bytes = ids.withUnsafeBufferPointer { b in Array(UnsafeRawBufferPointer(b)) }
            try writeFileAtomically(output + "/" + file, bytes)
            let sidecar = FlatTokenSidecar(dtype: .uint32, vocabularySize: Int(separator) + 1, eotID: separator,
                                           documents: documents, tokens: ids.count, tokenizer: tokenizer)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let json = try? encoder.encode(sidecar) else { throw .io("\(file): cannot encode its sidecar") }
            try writeFileAtomically(output + "/" + String(file.dropLast(4)) + ".json", Array(json) + [0x0A])
            return bytes.withUnsafeBufferPointer { hex64(XXH3.hash64($0)) }
          }
          let train = String(format: "%04d.train.bin", k)
          let valid = String(format: "%04d.valid.bin", k)
          domains.append(PreparedDomains.Domain(
            name: name, trainDocuments: p.trainDocs, validDocuments: p.validDocs, trainFile: train, validFile: valid,
            trainTokens: p.train.count, validTokens: p.valid.count, trainChecksum: try write(p.train, train, documents: p.trainDocs),
            validChecksum: try write(p.valid, valid, documents: p.validDocs)))
        }
        let prepared = PreparedDomains(
          vocabularySize: Int(separator) + 1, separator: separator, tokenizer: tokenizer, validFraction: validFraction,
          seed: seed, domains: domains)
        try writeFileAtomically(output + "/" + PreparedDomains.manifestName, prepared.json())
        for d in domains {
          print("\(d.name): \(d.trainTokens) training tokens (\(d.trainDocuments) documents), \(d.validTokens) held out (\(d.validDocuments))")
        }
      } catch {
        throw report(error)
      }
    }
  }

  /// `winnow mixture proxy`: one proxy run of the built-in backend.
  struct Proxy: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "proxy",
      abstract: "One built-in proxy run: a Kneser–Ney trigram model trained on a mixture, its held-out losses.",
      discussion: """
        Trains an interpolated Kneser–Ney trigram model over token ids on --tokens tokens drawn \
        from the prepared domains by the mixture's weights (each domain's share from a seeded \
        offset, wrapping around) and writes each domain's held-out cross-entropy (nats per \
        token) as JSON: {"losses": {domain: loss}, "mixture": {...}, "tokens", "seed", \
        "prepared": fingerprint}. What `winnow mixture run` starts for each mixture.

        \(exitCodeHelp)
        """)

    @Option(help: "A directory from `winnow mixture prepare`.") var prepared: String
    @Option(help: "The mixture's weights (`domain: weight` lines or JSON).") var mixture: String
    @Option(help: "Training tokens.") var tokens = 1_000_000
    @Option(help: "Seed of the domains' offsets.") var seed: UInt64 = 0
    @Option(name: [.short, .customLong("output")], help: "The losses (JSON).") var output: String

    func run() throws {
      do throws(WinnowError) {
        try MixtureCommand.guardOutputs([(output, "--output")], inputs: [(mixture, "--mixture"), (prepared + "/" + PreparedDomains.manifestName, "--prepared")])
        let p = try PreparedDomains.load(directory: prepared)
        let (names, values) = try MixturePrior.read(path: mixture)
        var weights: [String: Double] = [:]
        for (n, v) in zip(names, values) { weights[n] = v }
        let losses = try ProxyRun.losses(prepared: p, directory: prepared, weights: weights, tokens: tokens, seed: seed)
        let result: [String: Any] = ["losses": losses, "mixture": weights, "tokens": tokens, "seed": seed, "prepared": p.fingerprint]
        try writeTextFile(output, jsonLine(result) + "\n")
      } catch {
        throw report(error)
      }
    }
  }

  /// `winnow mixture run`: one proxy run per proposed mixture, through an executor.
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "run",
      abstract: "Run one proxy training per mixture (built-in or your own command) and collect the losses.",
      discussion: """
        For each row of --mixtures (a CSV from `propose`), writes RUNS/run-NNNN/mixture.json and \
        runs a job that must leave RUNS/run-NNNN/losses.json: by default the built-in proxy \
        (`winnow mixture proxy` on --prepared), or --command, a program and its arguments as a \
        JSON array (never a shell string) in which {mixture}, {out}, {seed}, {index}, {tokens} \
        and {prepared} are replaced; its losses.json must hold {"losses": {domain: loss}}. Jobs \
        run on --executor (local: --workers at once; slurm: one job each, with --gpus per job), \
        and a run whose losses exist for the same mixture, data and settings is not run again; \
        a stale one (the mixture or data changed) is removed and run again. Writes \
        RUNS/mixtures.csv and RUNS/losses.csv (columns valid/<domain>) for `fit`.

        \(exitCodeHelp)
        """)

    @Option(help: "Proposed mixtures (CSV, as `propose` writes).") var mixtures: String
    @Option(help: "Prepared domains (`winnow mixture prepare`).") var prepared: String
    @Option(help: "Your proxy trainer as a JSON array of arguments (default: the built-in proxy).") var command: String?
    @Option(help: "Training tokens per run.") var tokens = 1_000_000
    @Option(help: "Seed given to every run.") var seed: UInt64 = 0
    @Option(help: "inline, local or slurm.") var executor = "local"
    @Option(help: "local: runs at once (default: the machine's cores).") var workers: Int?
    @Option(help: "GPUs each run needs (--command trainers; slurm requests them, local hands them out).") var gpusPerRun = 0
    @Option(help: "local: GPUs the runs share (default: $WINNOW_GPUS, else 0).") var gpus: Int?
    @Option(help: "slurm: partition.") var partition: String?
    @Option(help: "slurm: account.") var account: String?
    @Option(name: [.short, .customLong("output")], help: "The runs directory.") var output: String

    func run() throws {
      do throws(WinnowError) {
        let table = try MixtureTable.read(path: mixtures)
        let p = try PreparedDomains.load(directory: prepared)
        let known = Set(p.domains.map(\.name))
        let unknown = table.columns.filter { !known.contains($0) }
        guard unknown.isEmpty else {
          throw .usage("\(mixtures): domains \(unknown.joined(separator: ", ")) are not in \(prepared) (it holds \(p.domains.map(\.name).joined(separator: ", ")))")
        }
        var template: [String]?
        if let command {
          guard let data = command.data(using: .utf8), let array = try? JSONSerialization.jsonObject(with: data) as? [String], !array.isEmpty else {
            throw .usage("--command must be a JSON array of strings, e.g. [\"python3\", \"train.py\", \"--mixture\", \"{mixture}\", \"--out\", \"{out}\"]")
          }
          template = array
        }
        let runs = URL(fileURLWithPath: output).standardizedFileURL.path
        do {
          try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        } catch {
          throw .io("\(runs): cannot create: \(error.localizedDescription)")
        }
        let preparedPath = URL(fileURLWithPath: prepared).standardizedFileURL.path
        let binary = LocalExecutor.currentExecutable()
        var jobs: [JobSpec] = []
        for (r, id) in table.index.enumerated() {
          let name = String(format: "run-%04d", id)
          let dir = runs + "/" + name
          try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
          var weights: [String: Double] = [:]
          for (c, domain) in table.columns.enumerated() { weights[domain] = table.rows[r][c] }
          let mixtureFile = dir + "/mixture.json"
          let outFile = dir + "/losses.json"
          let argv: [String]
          if let template {
            argv = template.map {
              $0.replacingOccurrences(of: "{mixture}", with: mixtureFile).replacingOccurrences(of: "{out}", with: outFile)
                .replacingOccurrences(of: "{seed}", with: String(seed)).replacingOccurrences(of: "{index}", with: String(id))
                .replacingOccurrences(of: "{tokens}", with: String(tokens)).replacingOccurrences(of: "{prepared}", with: preparedPath)
            }
          } else {
            argv = [binary, "mixture", "proxy", "--prepared", preparedPath, "--mixture", mixtureFile, "--tokens", String(tokens),
                    "--seed", String(seed), "-o", outFile]
          }
          // What the run's result depends on: when it changes, an old result is stale.
          let stamp = jsonLine(["mixture": weights, "argv": argv, "prepared": p.fingerprint])
          let stampFile = dir + "/inputs.json"
          let old = try? String(contentsOfFile: stampFile, encoding: .utf8)
          if old != stamp + "\n" {
            if FileManager.default.fileExists(atPath: outFile) {
              printError("winnow mixture run: \(name): its mixture, data or command changed; running it again")
              try? FileManager.default.removeItem(atPath: outFile)
            }
            try writeTextFile(mixtureFile, jsonLine(["domains": table.columns, "weights": table.rows[r]]) + "\n")
            try writeTextFile(stampFile, stamp + "\n")
          }
          jobs.append(JobSpec(name: name, argv: argv, workingDirectory: dir, gpus: gpusPerRun, expectedOutput: "losses.json", log: "run.log"))
        }
        let exec = try jobExecutor(executor, workers: workers, gpus: gpus, partition: partition, account: account, jobName: "winnow-proxy")
        let results = try JobRunner.run(jobs, on: exec) { printError($0) }
        let failed = results.filter { if case .failed = $0.outcome { return true } else { return false } }
        if !failed.isEmpty {
          throw .io("\(failed.count) of \(results.count) proxy run(s) failed, e.g. \(failed[0].job.name): see \(failed[0].job.logPath); run the same command again to resume")
        }
        // Collect: every run's losses, checked against its data.
        var lossRows: [[Double]] = []
        var columns: [String] = []
        for id in table.index {
          let file = runs + String(format: "/run-%04d/losses.json", id)
          let text = try MixturePrior.readText(path: file)
          guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let losses = object["losses"] as? [String: Any]
          else { throw .io("\(file): not a JSON object with \"losses\": {domain: loss}") }
          if template == nil, object["prepared"] as? String != p.fingerprint {
            throw .io("\(file): computed from other prepared data than \(prepared); remove it and run again")
          }
          if columns.isEmpty { columns = losses.keys.sorted() }
          var row: [Double] = []
          for c in columns {
            guard let v = MixturePrior.number(losses[c]), v.isFinite else { throw .io("\(file): no finite loss for '\(c)'") }
            row.append(v)
          }
          guard losses.count == columns.count else { throw .io("\(file): its domains differ from the other runs'") }
          lossRows.append(row)
        }
        try writeTextFile(runs + "/mixtures.csv", table.csv())
        try writeTextFile(runs + "/losses.csv", MixtureTable(columns: columns.map { "valid/" + $0 }, index: table.index, rows: lossRows).csv())
        let done = results.filter { $0.outcome == .alreadyDone }.count
        print("\(results.count) proxy runs (\(done) already done); losses in \(runs)/losses.csv, mixtures in \(runs)/mixtures.csv")
      } catch {
        throw report(error)
      }
    }
  }
}
