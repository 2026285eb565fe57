import Glibc

/// A stage with the name it is reported under.
public struct NamedStage {
  public var name: String
  public var stage: DocumentStage

  public init(name: String, stage: DocumentStage) {
    self.name = name
    self.stage = stage
  }
}

/// How bad input is handled and where side outputs go.
public struct PipelineOptions {
  public var fields = DocumentFields()
  /// Stop at the first bad line instead of quarantining it.
  public var strict = false
  /// Every dropped document, annotated with `rejected_by` and `reject_reason`.
  public var rejects: OutputSpec?
  /// Every bad input line, with its file, line number and reason.
  public var quarantine: OutputSpec?
  /// Called about twice a second with the progress so far.
  public var progress: ((Progress) -> Void)?
  /// A line longer than this is not read as a document: it is quarantined as
  /// `document_too_large` (streamed, never held whole), so that one enormous record cannot
  /// take the worker's memory.
  public var maxDocumentBytes = PipelineOptions.defaultMaxDocumentBytes
  /// Checksum every input's stored bytes as they are read (`RunStats.inputStamps`).
  public var stampInputs = false
  /// Called with the inputs' stamps once every input is read, before any output is committed:
  /// throwing abandons the outputs (a run uses it to refuse inputs that changed between passes).
  public var verifyInputs: (([FileStamp]) throws(WinnowError) -> Void)?

  /// A global stage's observer in a run (see `GlobalStage`): sees every document the stages
  /// keep, in order, before it is written. It is not one of the stages: it never drops, and
  /// its counts are not the run's.
  public var observer: PhaseDocumentStage?
  /// The inputs are document streams of a run: see `DocumentReader.origins`.
  public var inputOrigins: [String]?
  /// Told to every stage's `start` (and the observer's).
  public var stageContext = StageRunContext()
  /// The top-level columns read from Parquet inputs (nil: every column that can be read).
  public var parquetColumns: [String]?

  public static let defaultMaxDocumentBytes = 64_000_000

  public init() {}
}

/// A snapshot of a running pipeline, for progress displays.
public struct Progress: Sendable {
  public var documents: Int
  public var uncompressedBytes: Int
  /// Bytes read from disk and the total, when all inputs are regular files.
  public var rawBytes: Int
  public var rawTotal: Int?
  public var seconds: Double
}

/// What the stages decided about one document.
public enum PipelineOutcome: Equatable, Sendable {
  /// Kept, to be written `copies` times (1 unless a stage returned `Verdict.copies`).
  case kept(copies: Int)
  /// Dropped by stage `stage` for `reason`.
  case dropped(stage: Int, reason: String)
}

/// Consecutive per-document stages fused into one pass: each document is read once, goes
/// through every stage in order until one drops it, and is written once (or once per copy a
/// stage asked for).
public final class Pipeline {
  public let stages: [NamedStage]
  public private(set) var stats: [StageStats]
  private let clock = MonotonicClock()

  public init(stages: [NamedStage]) {
    self.stages = stages
    stats = stages.map { StageStats(name: $0.name) }
  }

  /// Calls every stage's `start`, in order.
  public func start(_ context: StageRunContext = StageRunContext()) throws(WinnowError) {
    for s in stages {
      do { try s.stage.start(context) } catch { throw Self.named(error, stage: s.name, doing: "start") }
    }
  }

  /// Calls every stage's `finish`, in order.
  public func finish() throws(WinnowError) {
    for s in stages {
      do { try s.stage.finish() } catch { throw Self.named(error, stage: s.name, doing: "finish") }
    }
  }

  static func named(_ error: WinnowError, stage: String, doing what: String, at place: String = "") -> WinnowError {
    WinnowError(error.kind, "stage '\(stage)' failed\(place.isEmpty ? " to \(what)" : " on \(place)"): \(error.message)")
  }

  /// Runs one document through the stages: kept (how many copies), or dropped by which stage
  /// and why. A stage that throws fails the whole run with its name and the document's place.
  public func decide(_ doc: Document) throws(WinnowError) -> PipelineOutcome {
    // Without stages (`winnow cat`) there is nothing to count, so the text is not decoded.
    if stages.isEmpty { return .kept(copies: 1) }
    var textBytes = doc.text.count
    var copies = 1
    for k in stages.indices {
      let edits = doc.editCount
      let t0 = clock.nanoseconds()
      let verdict: Verdict
      do {
        verdict = try stages[k].stage.process(doc)
      } catch {
        throw Self.named(error, stage: stages[k].name, doing: "process", at: "\(doc.sourceName):\(doc.lineNumber)")
      }
      let t1 = clock.nanoseconds()
      stats[k].nanoseconds &+= t1 &- t0
      stats[k].documentsIn += 1
      stats[k].textBytesIn += textBytes
      switch verdict {
      case .keep, .copies:
        if case .copies(let n) = verdict {
          guard n >= 1 else {
            throw WinnowError.usage(
              "stage '\(stages[k].name)' asked for \(n) copies of \(doc.sourceName):\(doc.lineNumber); a stage keeps one or more copies, or drops")
          }
          let (product, overflow) = copies.multipliedReportingOverflow(by: n)
          guard !overflow, product <= Self.maxCopies else {
            throw WinnowError.usage(
              "\(doc.sourceName):\(doc.lineNumber): the stages ask for more than \(Self.maxCopies) copies of one document")
          }
          copies = product
        }
        stats[k].kept += 1
        if doc.editCount != edits {
          stats[k].modified += 1
          textBytes = doc.text.count
        }
        stats[k].textBytesOut += textBytes
      case .drop(let reason):
        stats[k].dropped += 1
        stats[k].droppedByReason[reason, default: 0] += 1
        return .dropped(stage: k, reason: reason)
      }
    }
    return .kept(copies: copies)
  }

  /// The most copies of one document the stages together may ask for.
  public static let maxCopies = 1 << 20

  /// Runs one document through the stages. Returns nil when it is kept, or the index of the
  /// stage that dropped it and the reason (see `decide` for the number of copies).
  public func process(_ doc: Document) throws(WinnowError) -> (stage: Int, reason: String)? {
    if case .dropped(let k, let reason) = try decide(doc) { return (k, reason) }
    return nil
  }

  /// Gives copy `k` ≥ 1 of a document its id: the first copy's id with `#k` appended.
  static func markCopy(_ doc: Document, _ k: Int, baseID: String) {
    doc.setID("\(baseID)#\(k)")
  }

  /// The id copies are named after: the document's id (`FILE#LINE` when it has none).
  static func copyBaseID(_ doc: Document) -> String { doc.id }

  /// Reads `inputs`, runs every document through the stages and writes the kept ones (or,
  /// without an output, only counts them: the map phase of a global stage).
  public func run(inputs: [InputFile], output: DocumentSink?, options: PipelineOptions) throws(WinnowError) -> RunStats {
    let start = clock.nanoseconds()
    var run = RunStats()
    run.inputFiles = inputs.map(\.displayName)
    let reader = DocumentReader(
      inputs: inputs, fields: options.fields, maxDocumentBytes: options.maxDocumentBytes, stampContent: options.stampInputs,
      origins: options.inputOrigins)
    reader.parquetColumns = options.parquetColumns
    defer { reader.close() }
    let rejects = try options.rejects.map { (spec) throws(WinnowError) in try DocumentWriter(spec) }
    let quarantine: DocumentWriter?
    do throws(WinnowError) {
      quarantine = try options.quarantine.map { (spec) throws(WinnowError) in try DocumentWriter(spec) }
    } catch {
      rejects?.abort()
      output?.abort()
      throw error
    }
    let rawTotal: Int? = inputs.reduce(Optional(0)) { acc, f in acc.flatMap { a in f.size.map { a + $0 } } }
    var lastProgress = start
    do throws(WinnowError) {
      try self.start(options.stageContext)
      try options.observer?.start(options.stageContext)
      while let item = try reader.next() {
        run.documentsRead += 1
        switch item {
        case .bad(let bad):
          if options.strict {
            throw WinnowError(.badInput, "\(bad.message) (run without --strict to quarantine bad lines and go on)")
          }
          run.quarantined += 1
          run.quarantinedByReason[bad.reason.rawValue, default: 0] += 1
          try quarantine?.write(line: QuarantineRecord.encode(bad))
        case .tooLarge(let line):
          if options.strict {
            throw WinnowError(.badInput, "\(line.message) (run without --strict to quarantine it and go on)")
          }
          run.quarantined += 1
          run.quarantinedByReason[BadLineReason.documentTooLarge.rawValue, default: 0] += 1
          if let quarantine {
            try QuarantineRecord.writeTooLarge(line, from: reader, to: quarantine)
          } else {
            try reader.drainTooLarge { _ in }
          }
        case .document(let doc):
          switch try decide(doc) {
          case .dropped(let k, let reason):
            if let rejects {
              doc.annotate("rejected_by", .string(stages[k].name))
              doc.annotate("reject_reason", .string(reason))
              try rejects.write(line: doc.serialized)
            }
          case .kept(let copies):
            let baseID = copies > 1 ? Self.copyBaseID(doc) : ""
            for c in 0..<copies {
              if c > 0 { Self.markCopy(doc, c, baseID: baseID) }
              if let observer = options.observer { _ = try observer.process(doc) }
              if let output {
                try output.write(doc)
              } else {
                run.documentsWritten += 1
              }
            }
            run.copiesAdded += copies - 1
          }
        }
        if let report = options.progress, run.documentsRead & 1023 == 0 {
          let now = clock.nanoseconds()
          if now - lastProgress > 500_000_000 {
            lastProgress = now
            report(
              Progress(
                documents: run.documentsRead, uncompressedBytes: reader.bytesRead, rawBytes: reader.rawBytesRead,
                rawTotal: rawTotal, seconds: Double(now - start) / 1e9))
          }
        }
      }
      try options.verifyInputs?(reader.stamps)
      // A stage's or the observer's last words may still fail the task: before any output
      // is committed.
      try finish()
      try options.observer?.finish()
      try output?.finish()
      try rejects?.finish()
      try quarantine?.finish()
    } catch {
      output?.abort()
      rejects?.abort()
      quarantine?.abort()
      throw error
    }
    if let output {
      run.documentsWritten = output.documentsWritten
      run.bytesWritten = output.bytesWritten
      run.outputFiles = output.files
    }
    run.writtenFiles = (output?.written ?? []) + (rejects?.written ?? []) + (quarantine?.written ?? [])
    run.inputStamps = reader.stamps
    run.bytesRead = reader.bytesRead
    run.blankLines = reader.blankLines
    run.skippedColumns = reader.skippedParquetFields
    run.stages = stats
    run.seconds = Double(clock.nanoseconds() - start) / 1e9
    return run
  }
}

/// Quarantine records: one JSON object per bad line, so the file can be inspected and fixed
/// with the same tools as documents. `raw` is the line with invalid UTF-8 replaced by U+FFFD;
/// `raw_base64` keeps the exact bytes when they were not valid UTF-8.
public enum QuarantineRecord {
  public static func encode(_ bad: BadLine) -> [UInt8] {
    var out: [UInt8] = []
    out.append(contentsOf: "{\"file\":".utf8)
    JSONString.appendQuoted(bad.file, to: &out)
    out.append(contentsOf: ",\"line\":\(bad.line),\"reason\":\"\(bad.reason.rawValue)\",\"offset\":\(bad.offset),\"raw\":".utf8)
    JSONString.appendQuoted(String(decoding: bad.bytes, as: UTF8.self), to: &out)
    if String(validating: bad.bytes, as: UTF8.self) == nil {
      out.append(contentsOf: ",\"raw_base64\":\"".utf8)
      out.append(contentsOf: base64(bad.bytes).utf8)
      out.append(UInt8(ascii: "\""))
    }
    out.append(UInt8(ascii: "}"))
    return out
  }

  /// The record of a line over `max_document_bytes`, streamed from the reader: `raw_base64`
  /// holds its exact bytes (it is never held whole, so it cannot first be checked for valid
  /// UTF-8), `bytes` its length.
  static func writeTooLarge(_ line: TooLargeLine, from reader: DocumentReader, to writer: DocumentWriter) throws(WinnowError) {
    try writer.writeStreamed { (piece: (UnsafeBufferPointer<UInt8>) throws(WinnowError) -> Void) throws(WinnowError) in
      var head: [UInt8] = []
      head.append(contentsOf: "{\"file\":".utf8)
      JSONString.appendQuoted(line.file, to: &head)
      head.append(
        contentsOf: ",\"line\":\(line.line),\"reason\":\"\(BadLineReason.documentTooLarge.rawValue)\",\"offset\":\(line.limit),\"raw_base64\":\"".utf8)
      try head.withUnsafeBufferPointer { (p) throws(WinnowError) in try piece(p) }
      var encoder = Base64Stream()
      var total = 0
      var encoded: [UInt8] = []
      try reader.drainTooLarge { (bytes) throws(WinnowError) in
        total += bytes.count
        encoded.removeAll(keepingCapacity: true)
        encoder.encode(bytes, into: &encoded)
        try encoded.withUnsafeBufferPointer { (p) throws(WinnowError) in try piece(p) }
      }
      encoded.removeAll(keepingCapacity: true)
      encoder.finish(into: &encoded)
      encoded.append(contentsOf: "\",\"bytes\":\(total)}".utf8)
      try encoded.withUnsafeBufferPointer { (p) throws(WinnowError) in try piece(p) }
    }
  }
}

/// Base64 (standard alphabet, padded) over bytes that arrive in pieces.
struct Base64Stream {
  static let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  var carry: [UInt8] = []

  mutating func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    var i = 0
    while carry.count > 0 && carry.count < 3 && i < bytes.count {
      carry.append(bytes[i])
      i += 1
    }
    if carry.count == 3 {
      group(carry[0], carry[1], carry[2], into: &out)
      carry.removeAll()
    }
    out.reserveCapacity(out.count + (bytes.count - i) / 3 * 4 + 4)
    while i + 3 <= bytes.count {
      group(bytes[i], bytes[i + 1], bytes[i + 2], into: &out)
      i += 3
    }
    while i < bytes.count {
      carry.append(bytes[i])
      i += 1
    }
  }

  mutating func finish(into out: inout [UInt8]) {
    guard !carry.isEmpty else { return }
    let t = Self.table
    let v = UInt32(carry[0]) << 16 | (carry.count == 2 ? UInt32(carry[1]) << 8 : 0)
    out.append(t[Int((v >> 18) & 63)])
    out.append(t[Int((v >> 12) & 63)])
    out.append(carry.count == 2 ? t[Int((v >> 6) & 63)] : UInt8(ascii: "="))
    out.append(UInt8(ascii: "="))
    carry.removeAll()
  }

  @inline(__always)
  func group(_ a: UInt8, _ b: UInt8, _ c: UInt8, into out: inout [UInt8]) {
    let v = UInt32(a) << 16 | UInt32(b) << 8 | UInt32(c)
    let t = Self.table
    out.append(t[Int(v >> 18)])
    out.append(t[Int((v >> 12) & 63)])
    out.append(t[Int((v >> 6) & 63)])
    out.append(t[Int(v & 63)])
  }
}

func base64(_ bytes: [UInt8]) -> String {
  var stream = Base64Stream()
  var out: [UInt8] = []
  bytes.withUnsafeBufferPointer { stream.encode($0, into: &out) }
  stream.finish(into: &out)
  return String(decoding: out, as: UTF8.self)
}

/// Monotonic nanoseconds, cheap enough to call around every stage.
struct MonotonicClock {
  func nanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
  }
}
