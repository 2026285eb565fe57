/// A line that could not be read as a document, with where it was and why.
public struct BadLine: Sendable {
  public var file: String
  public var line: Int
  public var reason: BadLineReason
  /// Byte offset of the problem inside the line.
  public var offset: Int
  public var bytes: [UInt8]

  public var message: String { "\(file):\(line): \(reason.rawValue) at byte \(offset)" }
}

/// A line longer than the reader's `maxDocumentBytes`: never parsed or held whole. Its bytes
/// are streamed from `DocumentReader.drainTooLarge` (to the quarantine, or skipped).
public struct TooLargeLine: Sendable {
  public var file: String
  public var line: Int
  public var limit: Int

  public var message: String {
    "\(file):\(line): document_too_large (the line is longer than max_document_bytes, \(limit) bytes)"
  }
}

/// Reads documents from a list of inputs in order, one reused `Document` at a time.
public final class DocumentReader {
  /// What `next` read: a document, or a line that could not be one (quarantined by the caller).
  public enum Item {
    case document(Document)
    case bad(BadLine)
    /// Its bytes must be taken with `drainTooLarge` (or they are skipped by the next call).
    case tooLarge(TooLargeLine)
  }

  public let inputs: [InputFile]
  public let document: Document
  /// Lines longer than this are reported as `.tooLarge` instead of being read whole.
  public let maxDocumentBytes: Int
  /// Checksum each input's stored bytes as they are read (see `stamps`).
  let stampContent: Bool
  var index = -1
  var reader: LineReader?
  /// The current input when it is a Parquet file (then `reader` is nil), and the row it read.
  var parquet: ParquetRowReader?
  let row = ByteBuffer(capacity: 1 << 16)
  /// The top-level Parquet columns to read (nil: every column that can be read).
  public var parquetColumns: [String]?
  /// Parquet fields left out of the documents (nested ones this reader cannot read yet), as
  /// `FILE: FIELD (why)`, for the run's stats.
  public private(set) var skippedParquetFields: [String] = []
  /// Decompressed bytes of the finished files plus the current one.
  var bytesBefore = 0
  var rawBefore = 0
  public private(set) var blankLines = 0
  /// The size, modification time and (with `stampContent`) checksum of every input file read
  /// to its end, in order. Standard input and devices have none.
  public private(set) var stamps: [FileStamp] = []

  /// Set when the inputs are document streams a run wrote between its passes: every line is
  /// `SOURCE<TAB>LINE<TAB>JSON`, SOURCE an index into `origins` (the names of the files the
  /// documents first came from) and LINE the line they had there, so that a document read
  /// back from a stream has the same origin (and the same derived id) as when it was first read.
  let origins: [String]?

  public init(
    inputs: [InputFile], fields: DocumentFields, maxDocumentBytes: Int = Int.max, stampContent: Bool = false,
    origins: [String]? = nil
  ) {
    self.inputs = inputs
    document = Document(fields: fields)
    self.maxDocumentBytes = maxDocumentBytes
    self.stampContent = stampContent
    self.origins = origins
  }

  public var currentFile: String { index >= 0 && index < inputs.count ? inputs[index].displayName : "" }

  /// Uncompressed bytes read so far (for Parquet: the bytes of the rows as JSON).
  public var bytesRead: Int { bytesBefore + (reader?.bytesRead ?? parquet?.bytesProduced ?? 0) }
  /// Bytes read from disk so far (compressed size for compressed files), for progress.
  public var rawBytesRead: Int { rawBefore + (reader?.source.rawBytesRead ?? parquet?.rawBytesRead ?? 0) }

  /// The next document or bad line; nil when every input is done.
  public func next() throws(WinnowError) -> Item? {
    while true {
      if let p = parquet {
        guard try p.nextRow(into: row) else {
          bytesBefore += p.bytesProduced
          rawBefore += p.rawBytesRead
          stamps.append(p.stamp)
          parquet = nil
          continue
        }
        if row.count > maxDocumentBytes {
          return .tooLarge(TooLargeLine(file: p.path, line: p.rowNumber, limit: maxDocumentBytes))
        }
        do {
          if p.rowIsValidUTF8 {
            // The row reader built the line and indexed its members: no need to scan it again.
            try document.load(
              builtLine: row.bytes, members: p.members, closingBrace: p.closingBrace, source: p.path, lineNumber: p.rowNumber)
          } else {
            try document.load(line: row.bytes, source: p.path, lineNumber: p.rowNumber)
          }
          return .document(document)
        } catch {
          return .bad(BadLine(file: p.path, line: p.rowNumber, reason: error.reason, offset: error.offset, bytes: Array(row.bytes)))
        }
      }
      if reader == nil {
        index += 1
        guard index < inputs.count else { return nil }
        // A file that starts with Parquet's magic, or is named *.parquet (a damaged one is then
        // an error, not thousands of bad lines).
        if origins == nil, !inputs[index].isStdin,
          ParquetFileMetadata.isParquet(path: inputs[index].path) || inputs[index].path.lowercased().hasSuffix(".parquet")
        {
          let p = try ParquetRowReader(
            path: inputs[index].path, columns: parquetColumns, rowGroups: inputs[index].rowGroups, stampContent: stampContent)
          for f in p.skippedFields { skippedParquetFields.append("\(p.path): \(f.name) (\(f.reason))") }
          parquet = p
          continue
        }
        // A buffer of 256 KiB, grown for longer lines: the bytes read are parsed while they are
        // still in the processor's cache, and fewer pages are touched than with 4 MiB.
        reader = LineReader(
          source: try openByteSource(inputs[index], stampContent: stampContent), initialCapacity: 1 << 18,
          maxLineBytes: maxDocumentBytes, firstLine: inputs[index].lines?.firstLine ?? 1)
      }
      let r = reader!
      guard let record = try r.nextRecord() else {
        bytesBefore += r.bytesRead
        rawBefore += r.source.rawBytesRead
        if let stamp = r.source.raw.stamp { stamps.append(stamp) }
        r.close()
        reader = nil
        continue
      }
      guard case .line(var line) = record else {
        return .tooLarge(TooLargeLine(file: inputs[index].displayName, line: r.lineNumber, limit: maxDocumentBytes))
      }
      // A byte order mark at the start of a file is not part of the first document (Python's
      // utf-8-sig drops it the same way).
      if r.lineNumber == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
        line = UnsafeBufferPointer(rebasing: line[3...])
      }
      if let origins {
        let (source, number, rest) = try Self.streamOrigin(line, origins: origins, file: inputs[index].displayName, line: r.lineNumber)
        do {
          try document.load(line: rest, source: source, lineNumber: number)
        } catch {
          throw .io("\(inputs[index].displayName):\(r.lineNumber): not a document this run wrote (\(error.reason.rawValue)); run the same command again to redo the pass that wrote it")
        }
        return .document(document)
      }
      if isBlank(line) {
        blankLines += 1
        continue
      }
      do {
        try document.load(line: line, source: inputs[index].displayName, lineNumber: r.lineNumber)
        return .document(document)
      } catch {
        return .bad(
          BadLine(
            file: inputs[index].displayName, line: r.lineNumber, reason: error.reason, offset: error.offset,
            bytes: Array(line)))
      }
    }
  }

  /// Hands the bytes of the `.tooLarge` line just returned to `body`, in pieces.
  public func drainTooLarge(_ body: (UnsafeBufferPointer<UInt8>) throws(WinnowError) -> Void) throws(WinnowError) {
    if parquet != nil {
      try body(row.bytes)
      return
    }
    try reader?.drainOversizedLine(body)
  }

  /// Splits a stream line into its origin and its JSON (see `origins`).
  static func streamOrigin(_ line: UnsafeBufferPointer<UInt8>, origins: [String], file: String, line lineNumber: Int)
    throws(WinnowError) -> (String, Int, UnsafeBufferPointer<UInt8>)
  {
    var i = 0
    func number() -> Int? {
      var v = 0
      let start = i
      while i < line.count, line[i] >= 0x30, line[i] <= 0x39 {
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int(line[i] - 0x30))
        if o1 || o2 { return nil }
        v = a
        i += 1
      }
      guard i > start, i < line.count, line[i] == 0x09 else { return nil }
      i += 1
      return v
    }
    guard let source = number(), source < origins.count, let n = number() else {
      throw .io("\(file):\(lineNumber): not a line of a document stream this run wrote; run the same command again to redo the pass that wrote it")
    }
    return (origins[source], n, UnsafeBufferPointer(rebasing: line[i...]))
  }

  /// Appends the stream prefix of `doc` (see `origins`) to `out`.
  public static func appendStreamOrigin(source: Int, line: Int, to out: inout [UInt8]) {
    out.append(contentsOf: String(source).utf8)
    out.append(0x09)
    out.append(contentsOf: String(line).utf8)
    out.append(0x09)
  }

  private func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
    for c in line where !(c == 0x20 || c == 0x09 || c == 0x0D) { return false }
    return true
  }

  public func close() {
    reader?.close()
    reader = nil
    parquet = nil
  }
}
