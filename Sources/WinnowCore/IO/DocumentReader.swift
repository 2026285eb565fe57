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

/// Reads documents from a list of inputs in order, one reused `Document` at a time.
public final class DocumentReader {
  public enum Item {
    case document(Document)
    case bad(BadLine)
  }

  public let inputs: [InputFile]
  public let document: Document
  var index = -1
  var reader: LineReader?
  /// Decompressed bytes of the finished files plus the current one.
  var bytesBefore = 0
  var rawBefore = 0
  public private(set) var blankLines = 0

  public init(inputs: [InputFile], fields: DocumentFields) {
    self.inputs = inputs
    document = Document(fields: fields)
  }

  public var currentFile: String { index >= 0 && index < inputs.count ? inputs[index].displayName : "" }

  /// Uncompressed bytes read so far.
  public var bytesRead: Int { bytesBefore + (reader?.bytesRead ?? 0) }
  /// Bytes read from disk so far (compressed size for compressed files), for progress.
  public var rawBytesRead: Int { rawBefore + (reader?.source.rawBytesRead ?? 0) }

  /// The next document or bad line; nil when every input is done.
  public func next() throws(WinnowError) -> Item? {
    while true {
      if reader == nil {
        index += 1
        guard index < inputs.count else { return nil }
        reader = LineReader(source: try openByteSource(inputs[index]))
      }
      let r = reader!
      guard let line = try r.nextLine() else {
        bytesBefore += r.bytesRead
        rawBefore += r.source.rawBytesRead
        r.close()
        reader = nil
        continue
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

  private func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
    for c in line where !(c == 0x20 || c == 0x09 || c == 0x0D) { return false }
    return true
  }

  public func close() {
    reader?.close()
    reader = nil
  }
}
