import Glibc

/// Where documents are written and how.
public struct OutputSpec: Sendable, Equatable {
  /// `-` for standard output, a file name, or a directory of shards.
  public var path: String
  /// nil: from the file extension (files) or zstd (directories).
  public var compression: Compression?
  /// nil: zstd 3, gzip 6.
  public var compressionLevel: Int?
  /// Directory output: start a new shard once this many uncompressed bytes are written.
  public var maxShardBytes: Int?
  /// Directory output: start a new shard after this many documents.
  public var maxShardDocs: Int?
  /// Replace shards that a previous run left in the directory.
  public var overwrite: Bool
  /// Directory output: shard names are this prefix plus a five-digit counter. A task of a
  /// multi-task run writes `part-00003-00000.jsonl.zst`, … (prefix `part-00003-`).
  public var shardPrefix = "part-"

  public init(
    path: String, compression: Compression? = nil, compressionLevel: Int? = nil, maxShardBytes: Int? = nil,
    maxShardDocs: Int? = nil, overwrite: Bool = false
  ) {
    self.path = path
    self.compression = compression
    self.compressionLevel = compressionLevel
    self.maxShardBytes = maxShardBytes
    self.maxShardDocs = maxShardDocs
    self.overwrite = overwrite
  }

  /// A path is a directory of shards when it exists as a directory, ends in `/`, or does not
  /// exist and has no document file extension. An existing file (or `/dev/null`) is a file.
  public var isDirectory: Bool {
    if path == "-" { return false }
    if path.hasSuffix("/") || InputSet.isDirectory(path) { return true }
    if InputSet.fileExists(path) { return false }
    let leaf = path.split(separator: "/").last.map(String.init) ?? path
    return !InputSet.documentSuffixes.contains(where: { leaf.hasSuffix($0) })
      && !leaf.hasSuffix(".zst") && !leaf.hasSuffix(".gz") && !leaf.hasSuffix(".txt")
  }
}

/// Writes JSON lines, staged in a large buffer so that the compressor sees big blocks.
public final class LineWriter {
  let sink: ByteSink
  var staged: [UInt8] = []
  let flushAt = 1 << 20
  public private(set) var bytesWritten = 0
  public private(set) var linesWritten = 0

  public init(sink: ByteSink) {
    self.sink = sink
    staged.reserveCapacity(flushAt + 4096)
  }

  public func write(line: UnsafeBufferPointer<UInt8>) throws(WinnowError) {
    if staged.count + line.count + 1 > flushAt {
      try flush()
      if line.count >= flushAt {
        // A huge document goes straight through rather than doubling memory.
        try sink.write(UnsafeRawBufferPointer(line))
        try typed { try withUnsafeBytes(of: UInt8(0x0A)) { try sink.write($0) } }
        bytesWritten += line.count + 1
        linesWritten += 1
        return
      }
    }
    staged.append(contentsOf: line)
    staged.append(0x0A)
    bytesWritten += line.count + 1
    linesWritten += 1
  }

  public func write(line: [UInt8]) throws(WinnowError) {
    try typed { try line.withUnsafeBufferPointer { try write(line: $0) } }
  }

  func flush() throws(WinnowError) {
    guard !staged.isEmpty else { return }
    try typed { try staged.withUnsafeBytes { try sink.write($0) } }
    staged.removeAll(keepingCapacity: true)
  }

  public func finish() throws(WinnowError) {
    try flush()
    try sink.finish()
  }

  public func abort() { sink.abort() }
}

/// Writes documents to standard output, one file, or a directory of rotating shards
/// `part-00000.jsonl.zst`, `part-00001.jsonl.zst`, …
public final class DocumentWriter {
  public let spec: OutputSpec
  let compression: Compression
  /// Decided once: `OutputSpec.isDirectory` looks at the file system.
  let isDirectory: Bool
  var current: LineWriter?
  var shardIndex = 0
  /// Files completed so far (empty for standard output).
  public private(set) var files: [String] = []
  public private(set) var documentsWritten = 0
  public private(set) var bytesWritten = 0

  public init(_ spec: OutputSpec) throws(WinnowError) {
    self.spec = spec
    isDirectory = spec.isDirectory
    if isDirectory {
      compression = spec.compression ?? .zstd
      try Self.prepareDirectory(spec.path, prefix: spec.shardPrefix, overwrite: spec.overwrite)
    } else {
      compression = spec.compression ?? Compression.forPath(spec.path)
      if spec.path != "-" {
        let parent = spec.path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !parent.isEmpty { try makeDirectories(parent) }
      }
      current = LineWriter(sink: try openByteSink(path: spec.path, compression: compression, level: spec.compressionLevel))
    }
  }

  static func prepareDirectory(_ path: String, prefix: String, overwrite: Bool) throws(WinnowError) {
    try makeDirectories(path)
    let old = listDirectory(path).filter { $0.hasPrefix(prefix) }
    if old.isEmpty { return }
    guard overwrite else {
      throw .usage("\(path): already holds output shards (\(old[0]) …); remove them or pass --force")
    }
    for name in old { unlink("\(path)/\(name)") }
  }

  var shardPath: String {
    let dir = spec.path.hasSuffix("/") ? String(spec.path.dropLast()) : spec.path
    let n = String(shardIndex)
    return "\(dir)/\(spec.shardPrefix)\(String(repeating: "0", count: max(0, 5 - n.count)))\(n).jsonl\(compression.fileExtension)"
  }

  public func write(line: UnsafeBufferPointer<UInt8>) throws(WinnowError) {
    if current == nil {
      current = LineWriter(sink: try openByteSink(path: shardPath, compression: compression, level: spec.compressionLevel))
    }
    let w = current!
    try w.write(line: line)
    documentsWritten += 1
    bytesWritten += line.count + 1
    if isDirectory {
      let full =
        (spec.maxShardDocs.map { w.linesWritten >= $0 } ?? false)
        || (spec.maxShardBytes.map { w.bytesWritten >= $0 } ?? false)
      if full { try rotate() }
    }
  }

  public func write(line: [UInt8]) throws(WinnowError) {
    try typed { try line.withUnsafeBufferPointer { try write(line: $0) } }
  }

  private func rotate() throws(WinnowError) {
    guard let w = current else { return }
    try w.finish()
    files.append(isDirectory ? shardPath : spec.path)
    current = nil
    shardIndex += 1
  }

  /// Finishes the last file. A directory that received no document still gets one empty
  /// shard, so that downstream steps find the output they expect.
  public func finish() throws(WinnowError) {
    if isDirectory && current == nil && shardIndex == 0 {
      current = LineWriter(sink: try openByteSink(path: shardPath, compression: compression, level: spec.compressionLevel))
    }
    try rotate()
  }

  public func abort() {
    current?.abort()
    current = nil
  }
}

public func makeDirectories(_ path: String) throws(WinnowError) {
  var prefix = path.hasPrefix("/") ? "/" : ""
  for part in path.split(separator: "/") {
    prefix += part
    if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
      throw .io("\(prefix): cannot create directory: \(errnoMessage())")
    }
    prefix += "/"
  }
  guard InputSet.isDirectory(path) else { throw .io("\(path): exists and is not a directory") }
}

/// The names in a directory, sorted (none when it cannot be read).
public func listDirectory(_ path: String) -> [String] {
  guard let d = opendir(path) else { return [] }
  defer { closedir(d) }
  var names: [String] = []
  while let e = readdir(d) {
    let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
      String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
    }
    if name != "." && name != ".." { names.append(name) }
  }
  return names.sorted()
}
