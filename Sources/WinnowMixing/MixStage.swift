import Foundation
import WinnowCore
import WinnowTokenizer

/// `mix` in a recipe: `winnow mix` as a global stage, so that it runs through every executor and
/// gives the same mixture for any number of workers. Three passes:
///
/// 1. every task records each document's seeded id hash, domain and units (tokens, words or
///    bytes) in a run file;
/// 2. one task reads them all, plans the budget (`MixturePlan`: weights, epochs, caps,
///    redistribution), lays each domain out as a `DomainStream`, writes every document's copies
///    (by hash and domain) and the manifest;
/// 3. every task writes each document as many times as its copies say (`mix_not_sampled`,
///    `mix_zero_weight` for the rest).
public final class MixStage: GlobalStage, DocumentStage {
  /// The stage's name, parameters and constructors, for the registry.
  public static let descriptor = StageDescriptor(
    name: "mix",
    summary: "Build a mixture to a token budget by domain weights, with whole epochs, a hash-ranked remainder and epoch caps",
    role: .select,
    parameters: [
      ParameterSpec("weights", .string, required: true, file: .reads, help: "target weights: `domain: weight` lines, a RegMix config or JSON (what `winnow mixture optimize` writes)"),
      ParameterSpec("budget", .int(min: 1, max: nil), required: true, help: "tokens (or `unit`) the mixture holds"),
      ParameterSpec("tokenizer", .string, file: .reads, help: "count tokens with this tokenizer.json or tiktoken file (without special tokens)"),
      ParameterSpec("pattern", .string, help: "for a tiktoken tokenizer: gpt2, p50k, cl100k, o200k or a regular expression"),
      ParameterSpec("unit", .choice(["tokens", "words", "bytes"]), help: "what the budget counts (default: tokens with a tokenizer, else words)"),
      ParameterSpec("domain_field", .string, default: .string("domain"), help: "the field holding each document's domain"),
      ParameterSpec("max_epochs", .double(min: 0.000_001, max: nil), default: .double(4), help: "a domain is repeated at most this many epochs"),
      ParameterSpec("seed", .int(min: 0, max: nil), help: "seed of the documents' hash order (default: the run's seed)"),
      ParameterSpec("manifest", .string, file: .writes, help: "write the manifest (JSON: per domain tokens available and written, epochs, effective weights, caps) here"),
    ],
    makeGlobal: { (p, ctx) throws(WinnowError) in try MixStage(p, ctx) },
    make: { (_, _) throws(WinnowError) in
      throw .usage("stage 'mix' counts every domain before it decides about one document: run it in a recipe ('winnow run'), or use 'winnow mix'")
    })

  let names: [String]
  let weights: [Double]
  let weightsPath: String
  let budget: Int
  let tokenizer: Tokenizer?
  let unit: String
  let domainField: String
  let maxEpochs: Double
  let seed: UInt64
  let manifestPath: String?
  let index: [String: Int]

  init(_ p: StageParameters, _ ctx: StageContext) throws(WinnowError) {
    weightsPath = p.string("weights")!
    (names, weights) = try MixturePrior.read(path: weightsPath)
    budget = p.int("budget")!
    if let path = p.string("tokenizer") {
      do {
        tokenizer = try Tokenizer.load(path: path, pattern: p.string("pattern"))
      } catch {
        throw .usage("stage 'mix': \(error.message)")
      }
    } else {
      tokenizer = nil
    }
    unit = p.string("unit") ?? (tokenizer == nil ? "words" : "tokens")
    guard unit != "tokens" || tokenizer != nil else { throw .usage("stage 'mix': unit tokens needs a tokenizer") }
    guard unit == "tokens" || tokenizer == nil else { throw .usage("stage 'mix': a tokenizer counts tokens: leave unit out or set it to tokens") }
    domainField = p.string("domain_field")!
    maxEpochs = p.double("max_epochs")!
    seed = p.int("seed").map(UInt64.init) ?? ctx.seed
    manifestPath = p.string("manifest")
    var index: [String: Int] = [:]
    for (k, n) in names.enumerated() { index[n] = k }
    self.index = index
  }

  public func process(_ doc: Document) -> Verdict { .keep }

  public var passes: [PhasePass] { [.documents, .middle(.fixed(1)), .documents] }

  /// The domain index of a document: its weighted domain, or `names.count` for any other.
  func domainIndex(_ doc: Document) -> Int {
    index[MixSampleStage.domain(of: doc, field: domainField)] ?? names.count
  }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    return MixCountStage(self, phase: phase)
  }

  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    try phase.prepareDirectory()
    let files = try phase.files(ofPass: 0, suffix: ".units", fromEveryTask: "mix: document units")
    var byDomain = [[(hash: UInt64, units: Int)]](repeating: [], count: names.count + 1)
    for f in files {
      let r = try SortedRunReader<MixRecord>(file: f)
      guard let head = try r.next(), head.key == fingerprint, head.value == UInt64(names.count) else {
        throw .usage("mix: \(f.path) was counted with other weights or settings than \(weightsPath) holds now; run with --fresh")
      }
      while let rec = try r.next() {
        let d = Int(rec.value >> 40)
        guard d <= names.count else { throw .io("\(f.path): domain \(d) out of range; run with --fresh") }
        byDomain[d].append((rec.key, Int(rec.value & ((1 << 40) - 1))))
      }
    }
    let streams = byDomain.map { DomainStream($0) }
    let available = streams.map(\.available)
    let plan = try MixturePlan.make(
      names: names + ["(unweighted)"], available: available, weights: weights + [0], budget: budget, maxEpochs: maxEpochs)
    var records: [MixRecord] = []
    for (d, s) in streams.enumerated() where plan.domains[d].target > 0 {
      for (h, copies) in s.copiesByHash(start: 0, length: plan.domains[d].target) where copies > 0 {
        records.append(MixRecord(key: h, value: UInt64(d) << 32 | UInt64(copies)))
      }
    }
    try phase.write(&records, name: "\(phase.name)-copies.units", sort: true)
    if let manifestPath {
      // The catch-all of unweighted domains is listed only when it held documents (all dropped).
      let rows = MixManifest.rows(plan: plan, streams: streams, starts: [Double](repeating: 0, count: streams.count))
        .filter { ($0["domain"] as? String) != "(unweighted)" || ($0["documents"] as? Int ?? 0) > 0 }
      var summary = MixManifest.summary(plan: plan, rows: rows, unit: unit, seed: seed, domainField: domainField)
      summary["weights_file"] = weightsPath
      try writeTextFile(manifestPath, MixManifest.json(summary))
    }
    var stats = RunStats()
    stats.inputFiles = files.map(\.path)
    return stats
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let files = try phase.files(ofPass: 1, suffix: "-copies.units")
    guard files.count == 1 else { throw .io("mix: the planning task recorded no copies in \(phase.directory(1)); run with --fresh") }
    let r = try SortedRunReader<MixRecord>(file: files[0])
    var keys: [UInt64] = []
    var values: [UInt64] = []
    while let rec = try r.next() {
      keys.append(rec.key)
      values.append(rec.value)
    }
    return MixApplyStage(self, keys: keys, values: values)
  }

  /// What the counts depend on besides the documents: a result counted otherwise is refused.
  var fingerprint: UInt64 {
    var h = XXH3.hash64("\(unit)\u{0}\(domainField)\u{0}\(seed)\u{0}\(tokenizer?.vocabularySize ?? 0)")
    for (n, w) in zip(names, weights) { h = XXH3.hash64(n + "\u{0}" + String(w), seed: h) }
    return h
  }

  func units(_ doc: Document, _ session: inout TokenizerSession, _ ids: inout [UInt32]) -> Int {
    switch unit {
    case "tokens":
      ids.removeAll(keepingCapacity: true)
      tokenizer!.encode(doc.text, addSpecialTokens: false, into: &ids, session: &session)
      return ids.count
    case "bytes": return doc.text.count
    default: return doc.whitespaceWordCount
    }
  }
}

/// A document's hash and its domain and units (pass 1), or its domain and copies (pass 2).
struct MixRecord: KeyValueRunRecord {
  var key: UInt64
  var value: UInt64
  static var tag: String { "MIXUNITS" }
}

/// Pass 1: each document's hash, domain and units (value: domain << 40 | units).
final class MixCountStage: PhaseDocumentStage {
  let owner: MixStage
  let phase: PhaseTask
  var records: [MixRecord] = []
  var session = TokenizerSession()
  var ids: [UInt32] = []

  init(_ owner: MixStage, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
  }

  func process(_ doc: Document) -> Verdict {
    let units = min(owner.units(doc, &session, &ids), (1 << 40) - 1)
    records.append(MixRecord(key: MixSampleStage.hash(of: doc, seed: owner.seed), value: UInt64(owner.domainIndex(doc)) << 40 | UInt64(units)))
    return .keep
  }

  func finish() throws(WinnowError) {
    var out = [MixRecord(key: owner.fingerprint, value: UInt64(owner.names.count))] + records
    try phase.write(&out, name: "\(phase.name)-task.units", sort: false)
  }
}

/// Pass 3: each document's copies, looked up by hash and domain.
final class MixApplyStage: DocumentStage {
  let owner: MixStage
  let keys: [UInt64]
  let values: [UInt64]

  init(_ owner: MixStage, keys: [UInt64], values: [UInt64]) {
    self.owner = owner
    self.keys = keys
    self.values = values
  }

  func process(_ doc: Document) -> Verdict {
    let d = owner.domainIndex(doc)
    if d == owner.names.count || owner.weights[d] == 0 { return .drop("mix_zero_weight") }
    let h = MixSampleStage.hash(of: doc, seed: owner.seed)
    var lo = 0
    var hi = keys.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if keys[mid] < h { lo = mid + 1 } else { hi = mid }
    }
    var copies = 0
    while lo < keys.count && keys[lo] == h {
      if Int(values[lo] >> 32) == d { copies = Int(values[lo] & 0xFFFF_FFFF) }
      lo += 1
    }
    if copies == 0 { return .drop("mix_not_sampled") }
    return copies == 1 ? .keep : .copies(copies)
  }
}

/// The manifest `winnow mix` and the `mix` stage write.
public enum MixManifest {
  /// One row per domain: weight asked for, units available and written, documents, epochs,
  /// whether the cap bound, and the effective weight.
  public static func rows(plan: MixturePlan, streams: [DomainStream], starts: [Double]) -> [[String: Any]] {
    var rows: [[String: Any]] = []
    var total = 0
    var written: [Int] = []
    for (j, d) in plan.domains.enumerated() {
      let (units, documents) = streams[j].taken(start: starts[j], length: d.target)
      written.append(units)
      total += units
      rows.append([
        "domain": d.name, "weight": d.weight, "available": d.available, "documents": streams[j].documentCount,
        "target": d.target, "capped": d.capped, "written": units, "documents_written": documents,
        "epochs": d.available > 0 ? Double(units) / Double(d.available) : 0,
        "epochs_so_far": d.available > 0 ? (starts[j] + d.target) / Double(d.available) : 0,
      ])
    }
    for j in rows.indices { rows[j]["effective_weight"] = total > 0 ? Double(written[j]) / Double(total) : 0 }
    return rows
  }

  /// The manifest's top level for one mixture.
  public static func summary(plan: MixturePlan, rows: [[String: Any]], unit: String, seed: UInt64, domainField: String) -> [String: Any] {
    let capped = plan.domains.filter(\.capped).map(\.name)
    var notes: [String] = []
    if !capped.isEmpty {
      notes.append("max_epochs (\(plan.maxEpochs)) bound \(capped.joined(separator: ", ")): their shortfall went to the other domains in proportion to their weights")
    }
    return [
      "budget": plan.budget, "unit": unit, "max_epochs": plan.maxEpochs, "seed": seed, "domain_field": domainField,
      "written": rows.reduce(0) { $0 + ($1["written"] as? Int ?? 0) }, "domains": rows, "notes": notes,
      "redistributed": !capped.isEmpty,
    ]
  }

  /// Pretty, sorted JSON with a final newline.
  public static func json(_ object: [String: Any]) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) else {
      return "{}\n"
    }
    return String(decoding: data, as: UTF8.self) + "\n"
  }
}

/// The mixing stages, for the registry.
public enum Mixing {
  /// The mixing stages, for the stage catalog.
  public static let descriptors: [StageDescriptor] = [MixStage.descriptor]
}
