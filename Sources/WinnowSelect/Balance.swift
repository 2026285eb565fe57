import WinnowCore

/// `balance`: MetaCLIP's balancing (Xu et al. 2023, "Demystifying CLIP Data";
/// `metaclip/metaclip1/balancing.py`). Each document's text (or a field) is matched against a
/// list of metadata entries as MetaCLIP's substring matching does (`MetadataMatcher`); every
/// entry's count is the number of documents of the whole stream that match it; a document is
/// kept when any of its matched entries e passes an independent draw with probability
/// p_e = t / max(count_e, t) — so P(keep) = 1 − Π(1 − p_e) — which caps how many documents
/// any one entry brings in at about t and keeps the long tail whole. Documents that match no
/// entry are dropped (or kept: `unmatched: keep`).
///
/// The draw of entry e for a document is the uniform u = ⌊splitmix64(h + (e+1)·φ) / 2^11⌋ / 2^53,
/// where h = XXH3-64(document id, seed), φ = 0x9E3779B97F4A7C15 and splitmix64 is Steele et
/// al.'s finaliser; a document without an id field is keyed by its text. So the result depends
/// on neither the order of the documents nor the number of workers.
///
/// Passes (docs/architecture.md, "Phases"):
/// 1. documents: each task's entry counts (and its number of documents);
/// 2. middle ×1: the counts summed over the tasks (and `save_counts` written);
/// 3. documents (apply): match again, draw, keep or drop (or annotate).
public final class Balance: GlobalStage, DocumentStage {
  /// The recipe name, parameters and factories.
  public static let descriptor = StageDescriptor(
    name: "balance",
    summary: "Balance the documents over metadata entries (MetaCLIP): cap each entry's share at about t documents",
    role: .select,
    parameters: [
      ParameterSpec(
        "entries", .string, required: true, file: .reads,
        help: "metadata entries, one per line (blank lines skipped; matched case-sensitively as ' entry ')"),
      ParameterSpec("field", .string, help: "match this field instead of the text (a document without it matches nothing)"),
      ParameterSpec(
        "t", .int(min: 1, max: nil), default: .int(20_000),
        help: "MetaCLIP's t: an entry matched by count > t documents keeps each with probability t/count"),
      ParameterSpec(
        "unmatched", .choice(["drop", "keep"]), default: .string("drop"),
        help: "documents that match no entry: drop (reason balance_unmatched, as MetaCLIP) or keep"),
      ParameterSpec("seed", .int(min: 0, max: nil), help: "seed of the draws (default: the run's seed)"),
      ParameterSpec(
        "mode", .choice(["select", "annotate"]), default: .string("select"),
        help:
          "select: keep the documents drawn; annotate: keep every document and add balance_entries, balance_keep_probability and balance_keep"
      ),
      ParameterSpec(
        "save_counts", .string, file: .writes,
        help: "write each entry's count and probability here (tab-separated: entry, count, p)"),
    ],
    makeGlobal: { (p, ctx) throws(WinnowError) in try Balance(p, ctx) },
    make: { (_, _) throws(WinnowError) in
      throw .usage(
        "stage 'balance' counts every entry over the whole corpus before it decides about one document: run it in a recipe ('winnow run')"
      )
    })

  /// Drop reason: matched entries, but none passed its draw.
  public static let notSampled = "balance_not_sampled"
  /// Drop reason: no entry matched (`unmatched: drop`).
  public static let unmatchedReason = "balance_unmatched"

  /// The metadata entries.
  public let entries: MetadataEntries
  /// Where the entries were read from (for messages).
  public let entriesPath: String
  /// The field to match, or nil for the text.
  public let field: String?
  /// MetaCLIP's t.
  public let t: Int
  /// Keep documents that match no entry.
  public let keepUnmatched: Bool
  /// Seed of the draws.
  public let seed: UInt64
  /// Annotate every document instead of selecting.
  public let annotate: Bool
  /// Where to write the counts, if anywhere.
  public let countsPath: String?

  convenience init(_ p: StageParameters, _ ctx: StageContext) throws(WinnowError) {
    let path = p.string("entries")!
    self.init(
      entries: try MetadataEntries(path: path, what: "stage 'balance': "), entriesPath: path, field: p.string("field"),
      t: p.int("t")!, keepUnmatched: p.string("unmatched") == "keep", seed: p.int("seed").map(UInt64.init) ?? ctx.seed,
      annotate: p.string("mode") == "annotate", saveCounts: p.string("save_counts"))
  }

  /// A stage with these settings (the recipe parameters of the same names).
  public init(
    entries: MetadataEntries, entriesPath: String = "<entries>", field: String? = nil, t: Int = 20_000,
    keepUnmatched: Bool = false, seed: UInt64 = 0, annotate: Bool = false, saveCounts: String? = nil
  ) {
    precondition(t >= 1)
    self.entries = entries
    self.entriesPath = entriesPath
    self.field = field
    self.t = t
    self.keepUnmatched = keepUnmatched
    self.seed = seed
    self.annotate = annotate
    self.countsPath = saveCounts
  }

  public func process(_ doc: Document) -> Verdict { .keep }

  /// p_e = t / max(count_e, t), as MetaCLIP computes it in float64.
  public static func probability(count: UInt64, t: Int) -> Double {
    Double(t) / Double(max(count, UInt64(t)))
  }

  /// The uniform draw in [0, 1) of entry `entry` for a document keyed `h` (see the type's
  /// documentation).
  public static func uniform(key h: UInt64, entry: Int) -> Double {
    var z = h &+ UInt64(entry + 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return Double(z >> 11) * 0x1p-53
  }

  // MARK: Phases

  public var passes: [PhasePass] { [.documents, .middle(.fixed(1)), .documents] }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    return BalanceCountStage(self, phase: phase)
  }

  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    try phase.prepareDirectory()
    let files = try phase.files(ofPass: 0, suffix: ".counts", fromEveryTask: "balance: entry counts")
    var counts = [UInt64](repeating: 0, count: entries.count)
    var documents: UInt64 = 0
    var matched: UInt64 = 0
    for f in files {
      let r = try SortedRunReader<BalanceCount>(file: f)
      let (docs, withMatch) = try readHeader(r, path: f.path)
      documents &+= docs
      matched &+= withMatch
      var last = -1
      while let c = try r.next() {
        guard c.key < UInt64(entries.count), Int(c.key) > last else {
          throw .io("\(f.path): entry \(c.key) out of order or out of range (\(entries.count) entries)")
        }
        last = Int(c.key)
        counts[last] &+= c.value
      }
    }
    var records = header(documents: documents, matched: matched)
    records += counts.enumerated().map { BalanceCount(key: UInt64($0.offset), value: $0.element) }
    try phase.write(&records, name: "\(phase.name)-entry.counts", sort: false)
    if let countsPath {
      var out = "entry\tcount\tp\n"
      for (e, c) in counts.enumerated() {
        out += String(decoding: entries.entries[e], as: UTF8.self) + "\t\(c)\t"
        out += jsonNumberOrNull(Self.probability(count: c, t: t)) + "\n"
      }
      try writeTextFile(countsPath, out)
    }
    var stats = RunStats()
    stats.inputFiles = files.map(\.path)
    return stats
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let files = try phase.files(ofPass: 1, suffix: "-entry.counts")
    guard files.count == 1 else { throw .io("balance: the counting task recorded no counts in \(phase.directory(1))") }
    let r = try SortedRunReader<BalanceCount>(file: files[0])
    _ = try readHeader(r, path: files[0].path)
    var probabilities: [Double] = []
    probabilities.reserveCapacity(entries.count)
    while let c = try r.next() {
      guard c.key == UInt64(probabilities.count), probabilities.count < entries.count else {
        throw .io("\(files[0].path): entry \(c.key) where entry \(probabilities.count) belongs; run with --fresh")
      }
      probabilities.append(Self.probability(count: c.value, t: t))
    }
    guard probabilities.count == entries.count else {
      throw .io("\(files[0].path): \(probabilities.count) counts for \(entries.count) entries; run with --fresh")
    }
    return BalanceApplyStage(self, probabilities: probabilities)
  }

  /// The first two records of every counts file: the entries' fingerprint and count, then the
  /// documents seen and how many of them matched an entry.
  func header(documents: UInt64, matched: UInt64) -> [BalanceCount] {
    [BalanceCount(key: entries.fingerprint, value: UInt64(entries.count)), BalanceCount(key: documents, value: matched)]
  }

  /// Checks the header of a counts file against this stage's entries; returns (documents, matched).
  func readHeader(_ r: SortedRunReader<BalanceCount>, path: String) throws(WinnowError) -> (UInt64, UInt64) {
    guard let id = try r.next(), let docs = try r.next() else { throw .io("\(path): no header; run with --fresh") }
    guard id.key == entries.fingerprint, id.value == UInt64(entries.count) else {
      throw .usage(
        "balance: \(path) was counted with another list of entries than \(entriesPath) holds now (changed since the run began); run with --fresh"
      )
    }
    return (docs.key, docs.value)
  }

  /// The bytes a document is matched on: its text, or the field (nil when absent).
  func matchText(_ doc: Document, _ buffer: ByteBuffer) -> UnsafeBufferPointer<UInt8>? {
    guard let field else { return doc.text }
    guard doc.fieldBytes(field, into: buffer) else { return nil }
    return buffer.bytes
  }
}

/// One record of balance's count files: an entry and its count (headers aside).
struct BalanceCount: KeyValueRunRecord {
  var key: UInt64
  var value: UInt64
  static var tag: String { "BALCNT01" }
}

final class BalanceCountStage: PhaseDocumentStage {
  let owner: Balance
  let phase: PhaseTask
  let matcher: MetadataMatcher
  var scratch: MetadataMatchScratch
  var counts: [UInt64]
  let buffer = ByteBuffer()
  var documents: UInt64 = 0
  var matched: UInt64 = 0

  init(_ owner: Balance, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
    matcher = MetadataMatcher(owner.entries)
    scratch = MetadataMatchScratch(matcher)
    counts = [UInt64](repeating: 0, count: owner.entries.count)
  }

  func process(_ doc: Document) -> Verdict {
    documents += 1
    guard let text = owner.matchText(doc, buffer) else { return .keep }
    scratch.match(text, with: matcher)
    if !scratch.matched.isEmpty { matched += 1 }
    for e in scratch.matched { counts[e] &+= 1 }
    return .keep
  }

  func finish() throws(WinnowError) {
    var records = owner.header(documents: documents, matched: matched)
    for (e, c) in counts.enumerated() where c > 0 { records.append(BalanceCount(key: UInt64(e), value: c)) }
    try phase.write(&records, name: "\(phase.name)-task.counts", sort: false)
  }
}

/// Pass 3: the draws; keeps, drops or annotates.
final class BalanceApplyStage: DocumentStage {
  let owner: Balance
  let probabilities: [Double]
  let matcher: MetadataMatcher
  var scratch: MetadataMatchScratch
  let buffer = ByteBuffer()

  init(_ owner: Balance, probabilities: [Double]) {
    self.owner = owner
    self.probabilities = probabilities
    matcher = MetadataMatcher(owner.entries)
    scratch = MetadataMatchScratch(matcher)
  }

  func process(_ doc: Document) -> Verdict {
    if let text = owner.matchText(doc, buffer) {
      scratch.match(text, with: matcher)
    } else {
      scratch.match(UnsafeBufferPointer(start: nil, count: 0), with: matcher)
    }
    let matched = scratch.matched
    var keep = false
    var miss = 1.0
    if !matched.isEmpty {
      // Keyed by the id field, or by the text when the document has none (or a null one):
      // never by the file and line, which depend on how the stream reached the stage.
      let id = doc.field(doc.fields.id)
      let key =
        id != nil && id != .null
        ? XXH3.hash64(doc.idBytes, seed: owner.seed) : XXH3.hash64(doc.text, seed: owner.seed)
      for e in matched {
        let p = probabilities[e]
        miss *= 1 - p
        if !keep && Balance.uniform(key: key, entry: e) < p { keep = true }
      }
    } else {
      keep = owner.keepUnmatched
    }
    if owner.annotate {
      var list = "["
      for (k, e) in matched.enumerated() {
        if k > 0 { list += "," }
        list += JSONString.quoted(String(decoding: owner.entries.entries[e], as: UTF8.self))
      }
      doc.annotate("balance_entries", .json(list + "]"))
      doc.annotate("balance_keep_probability", .double(matched.isEmpty ? (owner.keepUnmatched ? 1 : 0) : 1 - miss))
      doc.annotate("balance_keep", .bool(keep))
      return .keep
    }
    if keep { return .keep }
    return .drop(matched.isEmpty ? Balance.unmatchedReason : Balance.notSampled)
  }
}
