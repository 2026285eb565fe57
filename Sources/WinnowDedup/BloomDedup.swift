import WinnowCore
import WinnowText

/// `bloom_dedup`: Dolma-style exact dedup of paragraphs, lines or whole documents with a Bloom
/// filter — memory fixed by `expected_items` and `false_positive_rate`, not by the corpus.
/// The first occurrence (in input order) of a unit is kept; later copies are removed from
/// their documents, and a document is dropped when more than `max_removed_fraction` of its
/// text went. With `load`/`save` the filter outlives the run: a later run can load it and,
/// with `read_only`, remove what earlier corpora already had without adding to it.
///
/// The filter is one sequence of decisions, so a recipe runs it as: map (per input task: the
/// hashes of every unit, in document order), filter (one task: the units in input order
/// through the filter; the duplicates are marked per task) and apply (per input task: the
/// marked units are removed). The answer is the same for any number of tasks and workers, and
/// the same as the in-process stage that pipes use.
public final class BloomDedup: GlobalStage, DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "bloom_dedup",
    summary: "Remove repeated paragraphs, lines or documents with a Bloom filter (first seen wins; fixed memory)",
    role: .deduplicate,
    parameters: [
      ParameterSpec("unit", .choice(["paragraph", "line", "document"]), default: .string("paragraph"), help: "what is deduplicated: blank-line separated paragraphs, lines, or whole documents"),
      ParameterSpec("field", .string, help: "unit: document — hash this field instead of the text (e.g. url)"),
      ParameterSpec("normalize", .bool, default: .bool(false), help: "hash NFKC-normalised, lower-cased units with whitespace runs collapsed"),
      ParameterSpec("expected_items", .int(min: 1, max: 1 << 40), default: .int(10_000_000), help: "distinct units the filter is sized for"),
      ParameterSpec("false_positive_rate", .double(min: 1e-12, max: 0.5), default: .double(0.001), help: "false-positive rate at expected_items"),
      ParameterSpec("max_removed_fraction", .double(min: 0, max: 1), default: .double(0.5), help: "drop the document when more than this fraction of its text bytes was removed"),
      ParameterSpec("mode", .choice(["drop", "annotate"]), default: .string("drop"), help: "remove duplicates, or keep the text and add bloom_duplicate_fraction"),
      ParameterSpec("load", .string, file: .reads, help: "start from this saved filter (its size wins over expected_items)"),
      ParameterSpec("save", .string, file: .writes, help: "save the filter here when the run is done"),
      ParameterSpec("read_only", .bool, default: .bool(false), help: "only look units up; add nothing (with load: dedup against an earlier run)"),
    ],
    makeGlobal: { (p, _) throws(WinnowError) in try BloomDedup(p) },
    make: { (p, _) throws(WinnowError) in
      guard p.string("save") == nil else {
        throw .usage("stage 'bloom_dedup': save works in recipe runs ('winnow run'), where the run has an end to save at")
      }
      let stage = try BloomDedup(p)
      // Made now, so that a bad `load` file fails before the first document is read.
      stage.filter = try stage.makeFilter()
      return stage
    })

  /// What is looked up in the filter: each paragraph, each line, or the whole document.
  public enum Unit: String, Sendable { case paragraph, line, document }
  public let unit: Unit
  let field: String?
  let normalize: Bool
  let expectedItems: Int
  let rate: Double
  let maxRemoved: Double
  let annotate: Bool
  let loadPath: String?
  let savePath: String?
  let readOnly: Bool
  public static let reason = "duplicate_text"

  // In-process state (pipes, and the filter pass).
  var filter: BloomFilter?
  var hasher = UnitHasher()
  var units: [UnitSpan] = []
  var text: [UInt8] = []

  convenience init(_ p: StageParameters) throws(WinnowError) {
    let unit = Unit(rawValue: p.string("unit")!)!
    if p.string("field") != nil && unit != .document {
      throw .usage("stage 'bloom_dedup': field only applies with unit: document")
    }
    if p.bool("read_only")! && p.string("load") == nil {
      throw .usage("stage 'bloom_dedup': read_only needs load (a filter saved by an earlier run)")
    }
    if let load = p.string("load"), let save = p.string("save"),
      load == save || (FileIdentity(path: load) != nil && FileIdentity(path: load) == FileIdentity(path: save))
    {
      throw .usage(
        "stage 'bloom_dedup': save names the filter given as load (\(save)); save to a new path: the loaded filter must stay as it was, so that running the recipe again gives the same answer")
    }
    if p.string("load") == nil {
      let bytes = BloomFilter.bytesNeeded(expectedItems: p.int("expected_items")!, falsePositiveRate: p.double("false_positive_rate")!)
      let physical = physicalMemoryBytes()
      if bytes > physical {
        throw .usage(
          "stage 'bloom_dedup': expected_items \(p.int("expected_items")!) at false_positive_rate \(p.double("false_positive_rate")!) needs a filter of \(bytes) bytes, more than this machine's \(physical) bytes of memory; expect fewer items or allow a higher rate")
      }
    }
    self.init(
      unit: unit, field: p.string("field"), normalize: p.bool("normalize")!, expectedItems: p.int("expected_items")!,
      falsePositiveRate: p.double("false_positive_rate")!, maxRemovedFraction: p.double("max_removed_fraction")!,
      annotate: p.string("mode") == "annotate", load: p.string("load"), save: p.string("save"), readOnly: p.bool("read_only")!)
  }

  public init(
    unit: Unit = .paragraph, field: String? = nil, normalize: Bool = false, expectedItems: Int = 10_000_000,
    falsePositiveRate: Double = 0.001, maxRemovedFraction: Double = 0.5, annotate: Bool = false, load: String? = nil,
    save: String? = nil, readOnly: Bool = false
  ) {
    self.unit = unit
    self.field = field
    self.normalize = normalize
    self.expectedItems = expectedItems
    self.rate = falsePositiveRate
    self.maxRemoved = maxRemovedFraction
    self.annotate = annotate
    self.loadPath = load
    self.savePath = save
    self.readOnly = readOnly
  }

  func makeFilter() throws(WinnowError) -> BloomFilter {
    if let loadPath { return try BloomFilter.load(from: loadPath) }
    return BloomFilter(expectedItems: expectedItems, falsePositiveRate: rate)
  }

  // MARK: In-process

  /// The filter pipes use; the descriptor's `make` builds it with the stage.
  public func process(_ doc: Document) -> Verdict {
    if filter == nil {
      // Built without the descriptor (a library user's `BloomDedup(…)`): a new empty filter,
      // which cannot fail (no file to load; its size was checked when the stage was made).
      filter = loadPath == nil ? BloomFilter(expectedItems: expectedItems, falsePositiveRate: rate) : nil
      precondition(filter != nil, "bloom_dedup: a stage with load must be made by its descriptor or have its filter set")
    }
    hasher.units(of: doc, unit: unit, field: field, normalize: normalize, into: &units)
    var duplicates: [Int] = []
    for (k, u) in units.enumerated() where u.hash != nil {
      let seen = readOnly ? filter!.contains(u.hash!) : filter!.insert(u.hash!)
      if seen { duplicates.append(k) }
    }
    return verdict(doc, duplicates: duplicates)
  }

  /// Removes the duplicate units (indices into `units`) from the document, or drops it.
  func verdict(_ doc: Document, duplicates: [Int]) -> Verdict {
    guard !duplicates.isEmpty else {
      if annotate { doc.annotate("bloom_duplicate_fraction", .double(0)) }
      return .keep
    }
    let total = doc.text.count
    let removed = duplicates.reduce(0) { $0 + units[$1].range.count }
    let fraction = total == 0 ? 1 : Double(removed) / Double(total)
    if annotate {
      doc.annotate("bloom_duplicate_fraction", .double(fraction))
      return .keep
    }
    if unit == .document || fraction > maxRemoved { return .drop(Self.reason) }
    text.removeAll(keepingCapacity: true)
    var d = 0
    let source = doc.text
    for (k, u) in units.enumerated() {
      if d < duplicates.count && duplicates[d] == k {
        d += 1
        continue
      }
      text.append(contentsOf: UnsafeBufferPointer(rebasing: source[u.range]))
    }
    // A document whose last unit went keeps no dangling separator.
    while let last = text.last, last == 0x0A { text.removeLast() }
    text.withUnsafeBufferPointer { doc.setText($0) }
    return .keep
  }

  // MARK: Phases

  /// Map (unit hashes), filter (one task, in input order), apply.
  public var passes: [PhasePass] { [.documents, .middle(.fixed(1)), .documents] }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    return BloomHashStage(self, phase: phase)
  }

  /// The filter pass: every map task's unit hashes in input order through one filter.
  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    try phase.prepareDirectory()
    var filter = try makeFilter()
    var units = 0
    var duplicates = 0
    var inputs: [String] = []
    // Every map task writes a `.done` file last: one missing means that task did not finish.
    _ = try phase.files(ofPass: 0, suffix: "-units.done", fromEveryTask: "bloom_dedup: finished map tasks")
    for t in 0..<phase.inputTasks {
      let name = PhaseTask.name(pass: 0, task: t)
      let chunks = try phase.files(ofPass: 0, prefix: name + "-", suffix: ".units")
      inputs += chunks.map(\.path)
      var marks: [UnitHashRecord] = []
      for c in chunks {
        let r = try SortedRunReader<UnitHashRecord>(file: c)
        while let u = try r.next() {
          units += 1
          let seen = readOnly ? filter.contains(u.hash) : filter.insert(u.hash)
          if seen {
            duplicates += 1
            marks.append(UnitHashRecord(ordinal: u.ordinal, unit: u.unit, hash: Hash128(low: 0, high: 0)))
          }
        }
      }
      try phase.write(&marks, name: "\(phase.name)-\(PhaseTask.name(pass: phase.applyPass, task: t)).marks", sort: false)
    }
    if let savePath { try filter.save(to: savePath) }
    var stats = RunStats()
    stats.documentsRead = units
    stats.inputFiles = inputs
    var st = StageStats(name: Self.descriptor.name)
    st.documentsIn = units
    st.kept = units - duplicates
    stats.stages = [st]
    return stats
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let name = "\(PhaseTask.name(pass: 1, task: 0))-\(phase.name).marks"
    guard let file = try phase.files(ofPass: 1, prefix: name, suffix: name).first else {
      throw .io("bloom_dedup: the filter task recorded no \(name) in \(phase.directory(1))")
    }
    return BloomApplyStage(self, marks: try SortedRunFile.readAll(file, as: UnitHashRecord.self))
  }
}

/// A unit of a document: its bytes (with its trailing separator) and its hash, nil for a unit
/// that is only whitespace (never a duplicate).
struct UnitSpan {
  var range: Range<Int>
  var hash: Hash128?
}

/// Splits documents into units and hashes them.
struct UnitHasher {
  var normalizer = DedupKeyNormalizer()
  var normalized: [UInt8] = []
  let fieldBuffer = ByteBuffer()

  mutating func units(of doc: Document, unit: BloomDedup.Unit, field: String?, normalize: Bool, into out: inout [UnitSpan]) {
    out.removeAll(keepingCapacity: true)
    let text = doc.text
    switch unit {
    case .document:
      var bytes = text
      if let field {
        guard doc.fieldBytes(field, into: fieldBuffer) else {
          out.append(UnitSpan(range: 0..<text.count, hash: nil))
          return
        }
        bytes = fieldBuffer.bytes
      }
      out.append(UnitSpan(range: 0..<text.count, hash: hash(bytes, normalize)))
    case .line, .paragraph:
      let n = text.count
      var start = 0
      while start < n {
        var end = start
        while end < n && text[end] != 0x0A { end += 1 }
        var next = end
        if unit == .line {
          if next < n { next += 1 }
        } else {
          // A paragraph ends at a blank line: it continues while the next line has text.
          while next < n {
            var lineEnd = next + 1
            while lineEnd < n && text[lineEnd] != 0x0A { lineEnd += 1 }
            let line = UnsafeBufferPointer(rebasing: text[(next + 1)..<lineEnd])
            if next + 1 >= n || line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
              break
            }
            end = lineEnd
            next = lineEnd
          }
          while next < n && (text[next] == 0x0A || text[next] == 0x20 || text[next] == 0x09 || text[next] == 0x0D) { next += 1 }
        }
        let content = UnsafeBufferPointer(rebasing: text[start..<end])
        let blank = content.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        out.append(UnitSpan(range: start..<next, hash: blank ? nil : hash(content, normalize)))
        start = next
      }
    }
  }

  mutating func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ normalize: Bool) -> Hash128 {
    guard normalize else { return XXH3.hash128(bytes) }
    normalized.removeAll(keepingCapacity: true)
    normalizer.normalize(bytes, into: &normalized)
    return normalized.withUnsafeBufferPointer { XXH3.hash128($0) }
  }
}

/// Map → filter pass: the hash of one unit of one document, in document order.
struct UnitHashRecord: RunRecord {
  var ordinal: UInt64
  var unit: UInt64
  var hash: Hash128

  static var byteSize: Int { 32 }
  static var tag: String { "BLUNIT01" }

  init(ordinal: UInt64, unit: UInt64, hash: Hash128) {
    self.ordinal = ordinal
    self.unit = unit
    self.hash = hash
  }

  func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: ordinal.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: unit.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: hash.low.littleEndian, as: UInt64.self)
    (p + 24).storeBytes(of: hash.high.littleEndian, as: UInt64.self)
  }

  init(loadingFrom p: UnsafeRawPointer) {
    ordinal = p.loadUnaligned(as: UInt64.self).littleEndian
    unit = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
    hash = Hash128(
      low: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian,
      high: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian)
  }

  static func < (x: UnitHashRecord, y: UnitHashRecord) -> Bool { (x.ordinal, x.unit) < (y.ordinal, y.unit) }
}

/// Map: unit hashes of every document, in order, in chunks.
final class BloomHashStage: PhaseDocumentStage {
  let owner: BloomDedup
  let phase: PhaseTask
  var hasher = UnitHasher()
  var units: [UnitSpan] = []
  var buffer: [UnitHashRecord] = []
  var chunks = 0
  var ordinal: UInt64 = 0
  var failure: WinnowError?

  init(_ owner: BloomDedup, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
  }

  func process(_ doc: Document) -> Verdict {
    hasher.units(of: doc, unit: owner.unit, field: owner.field, normalize: owner.normalize, into: &units)
    for (k, u) in units.enumerated() {
      if let h = u.hash { buffer.append(UnitHashRecord(ordinal: ordinal, unit: UInt64(k), hash: h)) }
    }
    ordinal += 1
    if buffer.count >= 1 << 20 { flush() }
    return .keep
  }

  func flush() {
    guard failure == nil else { return }
    do {
      try phase.write(&buffer, name: "\(phase.name)-c\(pad(chunks, 6)).units", sort: false)
    } catch {
      failure = error
    }
    buffer.removeAll(keepingCapacity: true)
    chunks += 1
  }

  func finish() throws(WinnowError) {
    if !buffer.isEmpty || chunks == 0 { flush() }
    if let failure { throw failure }
    var none: [UnitHashRecord] = []
    try phase.write(&none, name: "\(phase.name)-units.done")
  }
}

/// Apply: removes the units the filter pass marked.
final class BloomApplyStage: DocumentStage {
  /// Splits documents into units and decides, with its own buffers.
  let owner: BloomDedup
  let marks: [UnitHashRecord]
  var next = 0
  var ordinal: UInt64 = 0

  init(_ owner: BloomDedup, marks: [UnitHashRecord]) {
    self.owner = owner
    self.marks = marks
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    var duplicates: [Int] = []
    while next < marks.count && marks[next].ordinal < ordinal { next += 1 }
    while next < marks.count && marks[next].ordinal == ordinal {
      duplicates.append(Int(marks[next].unit))
      next += 1
    }
    if duplicates.isEmpty {
      if owner.annotate { doc.annotate("bloom_duplicate_fraction", .double(0)) }
      return .keep
    }
    owner.hasher.units(of: doc, unit: owner.unit, field: owner.field, normalize: owner.normalize, into: &owner.units)
    return owner.verdict(doc, duplicates: duplicates)
  }
}
