/// Counters of one stage.
public struct StageStats: Sendable {
  public var name: String
  public var documentsIn = 0
  public var kept = 0
  public var dropped = 0
  public var droppedByReason: [String: Int] = [:]
  /// Kept documents whose text or fields the stage changed.
  public var modified = 0
  /// UTF-8 bytes of text going in and coming out (dropped documents count as zero out).
  public var textBytesIn = 0
  public var textBytesOut = 0
  public var nanoseconds: UInt64 = 0
  /// A dedup reduce task: how many keys occurred once, twice, … (size as text → clusters).
  public var clusterSizes: [String: Int]?

  public init(name: String) { self.name = name }
}

/// Everything a run counted. Every record read is accounted for:
/// `documentsRead = documentsWritten + dropped (all stages) + quarantined`.
public struct RunStats: Sendable {
  public var inputFiles: [String] = []
  public var documentsRead = 0
  public var documentsWritten = 0
  /// Copies written beyond the first of documents a stage kept more than once
  /// (`Verdict.copies`): `documentsWritten` counts every copy.
  public var copiesAdded = 0
  public var quarantined = 0
  public var quarantinedByReason: [String: Int] = [:]
  /// Empty or whitespace-only lines: skipped, not documents.
  public var blankLines = 0
  public var bytesRead = 0
  public var bytesWritten = 0
  public var outputFiles: [String] = []
  public var stages: [StageStats] = []
  public var seconds = 0.0
  /// Every regular file written (documents, rejects, quarantine, a stage's intermediate files),
  /// with its size and checksum: what a resumed run checks before it trusts a finished task.
  /// Kept in task records, not in `stats.json`.
  public var writtenFiles: [WrittenFile] = []
  /// What was read of each input file (size, modification time, checksum of its bytes when
  /// they were checksummed): a resumed run redoes work whose inputs changed.
  public var inputStamps: [FileStamp] = []
  /// Parquet fields left out of the documents because this reader cannot read them yet
  /// (nested columns), as `FILE: FIELD (why)`: listed so that nothing is dropped unsaid.
  public var skippedColumns: [String] = []

  public init() {}

  public var dropped: Int { stages.reduce(0) { $0 + $1.dropped } }

  /// Whether the counts add up; false means a document went missing.
  /// Every record read is written (once, plus the extra copies a stage asked for), dropped or
  /// quarantined: `read = written − copies added + dropped + quarantined`.
  public var isBalanced: Bool { documentsRead == documentsWritten - copiesAdded + dropped + quarantined }

  /// The balance as an equation with its numbers, for messages: "read 10 ≠ written 7 + dropped
  /// 2 + quarantined 0" (with "− copies added N" when a stage emitted copies).
  public func balanceEquation() -> String {
    let copies = copiesAdded != 0 ? " − copies added \(copiesAdded)" : ""
    return "read \(documentsRead) \(isBalanced ? "=" : "≠") written \(documentsWritten)\(copies) + dropped \(dropped) + quarantined \(quarantined)"
  }

  /// The counts as pretty-printed JSON (stable key order), for `stats.json`.
  public func json(extra: [(String, String)] = []) -> String {
    var w = JSONTextWriter()
    w.open("{")
    for (k, v) in extra { w.key(k); w.raw(v) }
    w.key("documents_read"); w.raw(String(documentsRead))
    w.key("documents_written"); w.raw(String(documentsWritten))
    w.key("documents_dropped"); w.raw(String(dropped))
    w.key("documents_quarantined"); w.raw(String(quarantined))
    // Only when a stage emitted copies, so that other runs' stats keep their shape.
    if copiesAdded != 0 { w.key("copies_added"); w.raw(String(copiesAdded)) }
    w.key("quarantined_by_reason"); w.counts(quarantinedByReason)
    w.key("blank_lines_skipped"); w.raw(String(blankLines))
    w.key("balanced"); w.raw(isBalanced ? "true" : "false")
    w.key("bytes_read"); w.raw(String(bytesRead))
    w.key("bytes_written"); w.raw(String(bytesWritten))
    w.key("seconds"); w.raw(String(format3(seconds)))
    w.key("input_files"); w.strings(inputFiles)
    // Only when there are some, so that other runs' stats keep their shape.
    if !skippedColumns.isEmpty { w.key("parquet_columns_skipped"); w.strings(skippedColumns) }
    w.key("output_files"); w.strings(outputFiles)
    w.key("stages")
    w.open("[")
    for s in stages {
      w.element()
      w.open("{")
      w.key("stage"); w.raw(JSONString.quoted(s.name))
      w.key("documents_in"); w.raw(String(s.documentsIn))
      w.key("kept"); w.raw(String(s.kept))
      w.key("dropped"); w.raw(String(s.dropped))
      w.key("dropped_by_reason"); w.counts(s.droppedByReason)
      w.key("modified"); w.raw(String(s.modified))
      w.key("text_bytes_in"); w.raw(String(s.textBytesIn))
      w.key("text_bytes_out"); w.raw(String(s.textBytesOut))
      w.key("seconds"); w.raw(format3(Double(s.nanoseconds) / 1e9))
      w.close("}")
    }
    w.close("]")
    w.close("}")
    return w.text + "\n"
  }
}

func format3(_ v: Double) -> String {
  let ms = Int((v * 1000).rounded())
  let frac = String(ms % 1000)
  return "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
}

/// A minimal pretty printer for the few JSON reports Winnow writes.
struct JSONTextWriter {
  var text = ""
  var depth = 0
  var first = [true]

  mutating func newline() { text += "\n" + String(repeating: "  ", count: depth) }

  mutating func open(_ bracket: String) {
    text += bracket
    depth += 1
    first.append(true)
  }

  mutating func close(_ bracket: String) {
    depth -= 1
    let wasEmpty = first.removeLast()
    if !wasEmpty { newline() }
    text += bracket
  }

  mutating func element() {
    if !first[first.count - 1] { text += "," }
    first[first.count - 1] = false
    newline()
  }

  mutating func key(_ k: String) {
    element()
    text += JSONString.quoted(k) + ": "
  }

  mutating func raw(_ v: String) { text += v }

  mutating func strings(_ items: [String]) {
    open("[")
    for s in items {
      element()
      text += JSONString.quoted(s)
    }
    close("]")
  }

  mutating func counts(_ c: [String: Int]) {
    open("{")
    for k in c.keys.sorted() {
      key(k)
      text += String(c[k]!)
    }
    close("}")
  }
}

extension StageStats: Codable {
  enum CodingKeys: String, CodingKey {
    case name = "stage", documentsIn = "documents_in", kept, dropped, droppedByReason = "dropped_by_reason"
    case modified, textBytesIn = "text_bytes_in", textBytesOut = "text_bytes_out", nanoseconds
    case clusterSizes = "cluster_sizes"
  }
}

extension RunStats: Codable {
  enum CodingKeys: String, CodingKey {
    case inputFiles = "input_files", documentsRead = "documents_read", documentsWritten = "documents_written"
    case quarantined = "documents_quarantined", quarantinedByReason = "quarantined_by_reason"
    case blankLines = "blank_lines_skipped", bytesRead = "bytes_read", bytesWritten = "bytes_written"
    case outputFiles = "output_files", stages, seconds
    case writtenFiles = "written_files", inputStamps = "input_stamps", copiesAdded = "copies_added"
    case skippedColumns = "parquet_columns_skipped"
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    inputFiles = try c.decode([String].self, forKey: .inputFiles)
    documentsRead = try c.decode(Int.self, forKey: .documentsRead)
    documentsWritten = try c.decode(Int.self, forKey: .documentsWritten)
    quarantined = try c.decode(Int.self, forKey: .quarantined)
    quarantinedByReason = try c.decode([String: Int].self, forKey: .quarantinedByReason)
    blankLines = try c.decode(Int.self, forKey: .blankLines)
    bytesRead = try c.decode(Int.self, forKey: .bytesRead)
    bytesWritten = try c.decode(Int.self, forKey: .bytesWritten)
    outputFiles = try c.decode([String].self, forKey: .outputFiles)
    stages = try c.decode([StageStats].self, forKey: .stages)
    seconds = try c.decode(Double.self, forKey: .seconds)
    writtenFiles = try c.decodeIfPresent([WrittenFile].self, forKey: .writtenFiles) ?? []
    inputStamps = try c.decodeIfPresent([FileStamp].self, forKey: .inputStamps) ?? []
    copiesAdded = try c.decodeIfPresent(Int.self, forKey: .copiesAdded) ?? 0
    skippedColumns = try c.decodeIfPresent([String].self, forKey: .skippedColumns) ?? []
  }

  /// Adds another part's counts (a task of the same plan: same stages in the same order).
  public mutating func merge(_ other: RunStats) {
    inputFiles += other.inputFiles
    documentsRead += other.documentsRead
    documentsWritten += other.documentsWritten
    copiesAdded += other.copiesAdded
    quarantined += other.quarantined
    for (k, v) in other.quarantinedByReason { quarantinedByReason[k, default: 0] += v }
    blankLines += other.blankLines
    bytesRead += other.bytesRead
    bytesWritten += other.bytesWritten
    outputFiles += other.outputFiles
    writtenFiles += other.writtenFiles
    inputStamps += other.inputStamps
    skippedColumns += other.skippedColumns
    seconds += other.seconds
    if stages.isEmpty { stages = other.stages.map { StageStats(name: $0.name) } }
    for (k, s) in other.stages.enumerated() where k < stages.count {
      stages[k].documentsIn += s.documentsIn
      stages[k].kept += s.kept
      stages[k].dropped += s.dropped
      for (r, n) in s.droppedByReason { stages[k].droppedByReason[r, default: 0] += n }
      stages[k].modified += s.modified
      stages[k].textBytesIn += s.textBytesIn
      stages[k].textBytesOut += s.textBytesOut
      stages[k].nanoseconds += s.nanoseconds
    }
  }
}

extension RunStats {
  /// The counts of a run whose document-writing passes form a chain: the first reads the
  /// inputs, each later one reads what the one before it wrote (the stream reaching a global
  /// stage), the last writes the output. `passes` holds each pass's merged counts, in order.
  /// Reads and input facts come from the first pass, writes and output files from the last;
  /// drops and quarantines add up; the stages are the passes' stages in order. The result
  /// balances only when every pass balances and each pass read what the one before wrote.
  public static func chain(_ passes: [RunStats]) -> RunStats {
    guard let first = passes.first, let last = passes.last else { return RunStats() }
    var total = RunStats()
    total.inputFiles = first.inputFiles
    total.documentsRead = first.documentsRead
    total.blankLines = first.blankLines
    total.bytesRead = first.bytesRead
    total.inputStamps = first.inputStamps
    total.documentsWritten = last.documentsWritten
    total.bytesWritten = last.bytesWritten
    total.outputFiles = last.outputFiles
    for p in passes {
      total.copiesAdded += p.copiesAdded
      total.quarantined += p.quarantined
      for (k, v) in p.quarantinedByReason { total.quarantinedByReason[k, default: 0] += v }
      total.writtenFiles += p.writtenFiles
      total.seconds += p.seconds
      total.stages += p.stages
    }
    return total
  }

  /// The first place where a chain of passes (see `chain`) loses documents between two
  /// passes, or nil.
  public static func chainBreak(_ passes: [RunStats]) -> String? {
    for k in passes.indices.dropFirst() where passes[k].documentsRead != passes[k - 1].documentsWritten {
      return "a pass wrote \(passes[k - 1].documentsWritten) documents for the next, which read \(passes[k].documentsRead)"
    }
    return nil
  }
}
