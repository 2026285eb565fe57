import Glibc

/// Where the documents a pipeline keeps go. The JSONL writer (`DocumentWriter`) is one sink;
/// the stream that reaches a global stage (`OriginStreamSink`) and outputs split by a field
/// (`RoutingSink`) are others, and token files, Megatron indexed datasets or Parquet are sinks
/// of the same shape.
///
/// A sink writes one task's part of an output. What it wrote is listed in `written` (each
/// file's size and checksum) so that the run's records can vouch for it; a format whose parts
/// must become one file or index at the end declares that step as a `SinkMerge`.
public protocol DocumentSink: AnyObject {
  /// Writes a kept document (each copy of it, when a stage asked for several).
  func write(_ doc: Document) throws(WinnowError)
  /// Completes every file (atomically: a file is visible under its name only once whole).
  func finish() throws(WinnowError)
  /// Abandons the output: nothing of it is left under a final name.
  func abort()
  /// Documents written so far (copies counted one by one).
  var documentsWritten: Int { get }
  /// Bytes written so far, before compression.
  var bytesWritten: Int { get }
  /// The output files completed, in order (shown to users, listed in stats).
  var files: [String] { get }
  /// Every regular file completed, with size and checksum.
  var written: [WrittenFile] { get }
}

extension DocumentWriter: DocumentSink {
  public func write(_ doc: Document) throws(WinnowError) { try write(line: doc.serialized) }
}

/// The stream of documents that reaches a global stage in a recipe run: each line is prefixed
/// with the document's origin (the index of its source among `origins`, and its line there),
/// so that a later pass reading the stream knows where every document came from.
public final class OriginStreamSink: DocumentSink {
  let writer: DocumentWriter
  let originIndex: [String: Int]
  var line: [UInt8] = []

  public init(_ writer: DocumentWriter, origins: [String]) {
    self.writer = writer
    originIndex = Dictionary(origins.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
  }

  public func write(_ doc: Document) throws(WinnowError) {
    guard let source = originIndex[doc.sourceName] else {
      throw WinnowError.io("\(doc.sourceName): not among the inputs of this task's stream")
    }
    line.removeAll(keepingCapacity: true)
    DocumentReader.appendStreamOrigin(source: source, line: doc.lineNumber, to: &line)
    line.append(contentsOf: doc.serialized)
    try writer.write(line: line)
  }

  public func finish() throws(WinnowError) { try writer.finish() }
  public func abort() { writer.abort() }
  public var documentsWritten: Int { writer.documentsWritten }
  public var bytesWritten: Int { writer.bytesWritten }
  public var files: [String] { writer.files }
  public var written: [WrittenFile] { writer.written }
}

/// Splits an output by the value of a field: documents whose `field` is `web` go to the sink
/// `make("web")` returns (a recipe's `output.route_by: domain` writes `OUT/domain=web/…`).
/// Values are used as path components only after `routeName` made them safe; a document
/// without the field (or with a value that is not a string, number or boolean) goes to the
/// route named `missingRoute`. At most `maxRoutes` routes: a field with more distinct values
/// (an id, say) is an error, not thousands of directories.
public final class RoutingSink: DocumentSink {
  public let field: String
  public let maxRoutes: Int
  let make: (String) throws(WinnowError) -> DocumentSink
  /// Route name → sink, and the order routes were first seen in.
  var sinks: [String: DocumentSink] = [:]
  var order: [String] = []
  /// Which value first took each route name (two values must not share one).
  var valueOfRoute: [String: String] = [:]

  public static let missingRoute = "_missing"

  public init(field: String, maxRoutes: Int = 1024, make: @escaping (String) throws(WinnowError) -> DocumentSink) {
    self.field = field
    self.maxRoutes = maxRoutes
    self.make = make
  }

  /// A value as a path component: letters, digits, `.`, `_`, `-` kept, anything else `_`, at
  /// most 100 bytes; never empty, and never starting with `.` (no `..`, no hidden directory).
  public static func routeName(_ value: String) -> String {
    var out = ""
    for s in value.unicodeScalars.prefix(100) {
      let ok = (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "." || s == "_" || s == "-"
      out.unicodeScalars.append(ok ? s : "_")
    }
    if out.isEmpty || out.hasPrefix(".") { out = "_" + out.dropFirst() }
    return out
  }

  public func write(_ doc: Document) throws(WinnowError) {
    let value: String?
    switch doc.field(field) {
    case .string(let s)?: value = s
    case .number(_, let raw)?: value = raw
    case .bool(let b)?: value = b ? "true" : "false"
    default: value = nil
    }
    let name = value.map(Self.routeName) ?? Self.missingRoute
    if let sink = sinks[name] {
      if let value, let first = valueOfRoute[name], first != value {
        throw .usage(
          "\(doc.sourceName):\(doc.lineNumber): '\(field)' values '\(first)' and '\(value)' both route to '\(name)'; route by a field whose values are plain names")
      }
      try sink.write(doc)
      return
    }
    guard sinks.count < maxRoutes else {
      throw .usage(
        "\(doc.sourceName):\(doc.lineNumber): routing by '\(field)' would make more than \(maxRoutes) outputs; route by a field with few values (a domain or a language, not an id)")
    }
    let sink = try make(name)
    sinks[name] = sink
    order.append(name)
    if let value { valueOfRoute[name] = value }
    try sink.write(doc)
  }

  /// The routes written, in the order they were first seen.
  public var routes: [String] { order }

  public func finish() throws(WinnowError) {
    for name in order { try sinks[name]!.finish() }
  }

  public func abort() { for name in order { sinks[name]!.abort() } }
  public var documentsWritten: Int { order.reduce(0) { $0 + sinks[$1]!.documentsWritten } }
  public var bytesWritten: Int { order.reduce(0) { $0 + sinks[$1]!.bytesWritten } }
  public var files: [String] { order.flatMap { sinks[$0]!.files } }
  public var written: [WrittenFile] { order.flatMap { sinks[$0]!.written } }
}

/// A step that runs once at the end of a run, after every task: it turns the parts the tasks
/// wrote (`parts`, in task order, as their records list them) into the output's final form —
/// one file, an index over the shards. Each part must be checked against its recorded size
/// and checksum as it is read, so that a lost or damaged part fails the step instead of
/// leaving a shorter output. The join of a run's rejects and quarantine into one file is such
/// a step (`ConcatenateParts`).
public protocol SinkMerge {
  /// What the step makes, for messages and `winnow status`.
  var target: String { get }
  /// Makes the target from every task's part, in task order, verifying each part's size and
  /// checksum as it reads it.
  func merge(_ parts: [WrittenFile]) throws(WinnowError)
}

/// The merge step of a sink whose task parts concatenate into one file: JSONL, and zstd or
/// gzip compressed JSONL (zstd frames and gzip members concatenate). Each part is verified
/// against its recorded size and checksum as it is copied; the file appears under its name
/// only when complete.
public struct ConcatenateParts: SinkMerge {
  public var target: String
  /// Named in messages: "a rejects shard".
  public var partKind: String

  public init(into target: String, partKind: String) {
    self.target = target
    self.partKind = partKind
  }

  public func merge(_ parts: [WrittenFile]) throws(WinnowError) {
    let parent = (target.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
    if !parent.isEmpty { try makeDirectories(parent) }
    let sink = try FileSink(path: target)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    do throws(WinnowError) {
      for f in parts {
        let fd = open(f.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("\(f.path): cannot read a \(partKind) shard to join: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let hasher = StreamingXXH3()
        var total = 0
        while true {
          let n = read(fd, buffer.baseAddress, buffer.count)
          if n < 0 {
            if errno == EINTR { continue }
            throw .io("\(f.path): read failed: \(String(cString: strerror(errno)))")
          }
          if n == 0 { break }
          let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
          hasher.update(piece)
          total += n
          try sink.write(piece)
        }
        guard total == f.bytes, hasher.digest == f.checksum else {
          throw .io("\(f.path): this \(partKind) shard is not the one its task wrote (size or checksum differs); run the same command again to redo that task")
        }
      }
      try sink.finish()
    } catch {
      sink.abort()
      throw error
    }
  }
}
