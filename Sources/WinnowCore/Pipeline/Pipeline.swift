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

/// Consecutive per-document stages fused into one pass: each document is read once, goes
/// through every stage in order until one drops it, and is written once.
public final class Pipeline {
  public let stages: [NamedStage]
  public private(set) var stats: [StageStats]
  private let clock = MonotonicClock()

  public init(stages: [NamedStage]) {
    self.stages = stages
    stats = stages.map { StageStats(name: $0.name) }
  }

  /// Runs one document through the stages. Returns nil when it is kept, or the index of the
  /// stage that dropped it and the reason.
  public func process(_ doc: Document) -> (stage: Int, reason: String)? {
    // Without stages (`winnow cat`) there is nothing to count, so the text is not decoded.
    if stages.isEmpty { return nil }
    var textBytes = doc.text.count
    for k in stages.indices {
      let edits = doc.editCount
      let t0 = clock.nanoseconds()
      let verdict = stages[k].stage.process(doc)
      let t1 = clock.nanoseconds()
      stats[k].nanoseconds &+= t1 &- t0
      stats[k].documentsIn += 1
      stats[k].textBytesIn += textBytes
      switch verdict {
      case .keep:
        stats[k].kept += 1
        if doc.editCount != edits {
          stats[k].modified += 1
          textBytes = doc.text.count
        }
        stats[k].textBytesOut += textBytes
      case .drop(let reason):
        stats[k].dropped += 1
        stats[k].droppedByReason[reason, default: 0] += 1
        return (k, reason)
      }
    }
    return nil
  }

  /// Reads `inputs`, runs every document through the stages and writes the kept ones (or,
  /// without an output, only counts them: the map phase of a global stage).
  public func run(inputs: [InputFile], output: DocumentWriter?, options: PipelineOptions) throws(WinnowError) -> RunStats {
    let start = clock.nanoseconds()
    var run = RunStats()
    run.inputFiles = inputs.map(\.displayName)
    let reader = DocumentReader(inputs: inputs, fields: options.fields)
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
        case .document(let doc):
          if let (k, reason) = process(doc) {
            if let rejects {
              doc.annotate("rejected_by", .string(stages[k].name))
              doc.annotate("reject_reason", .string(reason))
              try rejects.write(line: doc.serialized)
            }
          } else if let output {
            try output.write(line: doc.serialized)
          } else {
            run.documentsWritten += 1
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
    run.bytesRead = reader.bytesRead
    run.blankLines = reader.blankLines
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
}

func base64(_ bytes: [UInt8]) -> String {
  let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  var out: [UInt8] = []
  out.reserveCapacity((bytes.count + 2) / 3 * 4)
  var i = 0
  while i + 3 <= bytes.count {
    let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
    for s in [18, 12, 6, 0] { out.append(table[Int((v >> UInt32(s)) & 63)]) }
    i += 3
  }
  let rest = bytes.count - i
  if rest > 0 {
    let v = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
    out.append(table[Int((v >> 18) & 63)])
    out.append(table[Int((v >> 12) & 63)])
    out.append(rest == 2 ? table[Int((v >> 6) & 63)] : UInt8(ascii: "="))
    out.append(UInt8(ascii: "="))
  }
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
