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
  /// Replace the shards an earlier Winnow command wrote in the directory (it lists them in the
  /// directory's `.winnow-shards`); shards it did not write are never removed.
  public var overwrite: Bool
  /// Every file with `shardPrefix` in the directory belongs to this writer: a task of a run
  /// whose directory the coordinator owns, replacing what an earlier attempt left. Such a
  /// writer keeps no `.winnow-shards` list (the run's task records are its list).
  public var ownsPrefix = false
  /// Directory output: shard names are this prefix plus a five-digit counter. A task of a
  /// multi-task run writes `part-00003-00000.jsonl.zst`, … (prefix `part-00003-`).
  public var shardPrefix = "part-"
  /// Write Parquet (a file, or `*.parquet` shards) instead of JSON lines.
  public var parquet: ParquetWriteOptions?

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

/// One output file being written: JSON lines (`LineWriter`) or Parquet (`ParquetFileWriter`).
protocol DocumentFileWriter: AnyObject {
  func write(line: UnsafeBufferPointer<UInt8>) throws(WinnowError)
  func writeStreamed(
    _ body: ((UnsafeBufferPointer<UInt8>) throws(WinnowError) -> Void) throws(WinnowError) -> Void
  ) throws(WinnowError)
  func finish() throws(WinnowError)
  func abort()
  var linesWritten: Int { get }
  var bytesWritten: Int { get }
  var sink: ByteSink { get }
}

extension LineWriter: DocumentFileWriter {}

extension ParquetFileWriter: DocumentFileWriter {
  /// A document given in pieces is put together first: a row is written whole.
  func writeStreamed(
    _ body: ((UnsafeBufferPointer<UInt8>) throws(WinnowError) -> Void) throws(WinnowError) -> Void
  ) throws(WinnowError) {
    var line: [UInt8] = []
    try body { (piece: UnsafeBufferPointer<UInt8>) throws(WinnowError) in line.append(contentsOf: piece) }
    try typed { try line.withUnsafeBufferPointer { try write(line: $0) } }
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

  /// Writes a line given in pieces (`body` calls `piece` any number of times), without
  /// holding it whole: for records too large to build in memory.
  public func writeStreamed(
    _ body: ((UnsafeBufferPointer<UInt8>) throws(WinnowError) -> Void) throws(WinnowError) -> Void
  ) throws(WinnowError) {
    try flush()
    var n = 0
    try body { (piece: UnsafeBufferPointer<UInt8>) throws(WinnowError) in
      if staged.count + piece.count > flushAt { try flush() }
      if piece.count >= flushAt {
        try sink.write(UnsafeRawBufferPointer(piece))
      } else {
        staged.append(contentsOf: piece)
      }
      n += piece.count
    }
    staged.append(0x0A)
    bytesWritten += n + 1
    linesWritten += 1
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
  var current: DocumentFileWriter?
  /// Parquet output's options (nil: JSON lines).
  let parquet: ParquetWriteOptions?
  var shardIndex = 0
  /// Files completed so far (empty for standard output).
  public private(set) var files: [String] = []
  /// Regular files completed so far, with their sizes and checksums (for the run's records).
  public private(set) var written: [WrittenFile] = []
  public private(set) var documentsWritten = 0
  public private(set) var bytesWritten = 0

  public init(_ spec: OutputSpec) throws(WinnowError) {
    self.spec = spec
    isDirectory = spec.isDirectory
    parquet = spec.parquet
    if isDirectory {
      compression = spec.compression ?? .zstd
      try Self.prepareDirectory(spec)
    } else {
      compression = spec.compression ?? Compression.forPath(spec.path)
      if spec.path != "-" {
        let parent = spec.path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !parent.isEmpty { try makeDirectories(parent) }
      }
      current = try open(spec.path)
    }
  }

  /// Opens one output file (standard output for `-`).
  func open(_ path: String) throws(WinnowError) -> DocumentFileWriter {
    if let parquet {
      let file = path == "-" ? FileSink(fd: 1, name: "<stdout>") : try FileSink(path: path)
      return try ParquetFileWriter(sink: file, options: parquet)
    }
    return LineWriter(sink: try openByteSink(path: path, compression: compression, level: spec.compressionLevel))
  }

  /// The list of shards a directory writer leaves beside them: `name<TAB>bytes<TAB>xxh3`.
  public static let shardListName = ".winnow-shards"

  static func prepareDirectory(_ spec: OutputSpec) throws(WinnowError) {
    let path = spec.path
    try makeDirectories(path)
    let old = listDirectory(path).filter { $0.hasPrefix(spec.shardPrefix) }
    if old.isEmpty { return }
    if spec.ownsPrefix {
      for name in old { unlink("\(path)/\(name)") }
      return
    }
    guard spec.overwrite else {
      throw .usage("\(path): already holds output shards (\(old[0]) …); remove them or pass --force")
    }
    // Only what an earlier Winnow command wrote here, as its list says, may go.
    let listed = readShardList(path)
    let foreign = old.filter { name in
      guard let bytes = listed[name], let now = FileStamp.current("\(path)/\(name)") else { return true }
      return now.bytes != bytes
    }
    if let first = foreign.first {
      throw .usage(
        "\(path): holds \(first)\(foreign.count > 1 ? " and \(foreign.count - 1) more" : "") that no earlier winnow command wrote there (not in its \(shardListName), or changed since); --force only replaces Winnow's own shards: move them away or choose another directory"
      )
    }
    for name in old { unlink("\(path)/\(name)") }
    unlink("\(path)/\(shardListName)")
  }

  /// Shard names and sizes from a directory's `.winnow-shards` (empty when there is none).
  static func readShardList(_ dir: String) -> [String: Int] {
    var out: [String: Int] = [:]
    try? forEachLine(ofFile: "\(dir)/\(shardListName)", cannotRead: "") { (line, _) throws(WinnowError) in
      let fields = String(decoding: line, as: UTF8.self).split(separator: "\t")
      if fields.count == 3, let bytes = Int(fields[1]) { out[String(fields[0])] = bytes }
    }
    return out
  }

  func writeShardList() throws(WinnowError) {
    var text = ""
    for f in written { text += "\(fileName(of: f.path))\t\(f.bytes)\t\(hex64(f.checksum))\n" }
    let dir = spec.path.hasSuffix("/") ? String(spec.path.dropLast()) : spec.path
    try writeTextFile("\(dir)/\(Self.shardListName)", text)
  }

  var shardPath: String {
    let dir = spec.path.hasSuffix("/") ? String(spec.path.dropLast()) : spec.path
    let n = String(shardIndex)
    let suffix = parquet != nil ? ".parquet" : ".jsonl\(compression.fileExtension)"
    return "\(dir)/\(spec.shardPrefix)\(String(repeating: "0", count: max(0, 5 - n.count)))\(n)\(suffix)"
  }

  public func write(line: UnsafeBufferPointer<UInt8>) throws(WinnowError) {
    if current == nil {
      current = try open(shardPath)
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

  /// Writes a line given in pieces (see `LineWriter.writeStreamed`).
  public func writeStreamed(
    _ body: ((UnsafeBufferPointer<UInt8>) throws(WinnowError) -> Void) throws(WinnowError) -> Void
  ) throws(WinnowError) {
    if current == nil {
      current = try open(shardPath)
    }
    let w = current!
    let before = w.bytesWritten
    try w.writeStreamed(body)
    documentsWritten += 1
    bytesWritten += w.bytesWritten - before
    if isDirectory {
      let full =
        (spec.maxShardDocs.map { w.linesWritten >= $0 } ?? false)
        || (spec.maxShardBytes.map { w.bytesWritten >= $0 } ?? false)
      if full { try rotate() }
    }
  }

  private func rotate() throws(WinnowError) {
    guard let w = current else { return }
    try w.finish()
    let path = isDirectory ? shardPath : spec.path
    files.append(path)
    // A device or stream (/dev/null, /dev/stdout) leaves nothing on disk to check later.
    if let file = w.sink.file, file.path != nil {
      written.append(WrittenFile(path: path, bytes: file.bytesWritten, checksum: file.checksum))
    }
    current = nil
    shardIndex += 1
  }

  /// Finishes the last file. A directory that received no document still gets one empty
  /// shard, so that downstream steps find the output they expect.
  public func finish() throws(WinnowError) {
    if isDirectory && current == nil && shardIndex == 0 {
      current = try open(shardPath)
    }
    try rotate()
    if isDirectory && !spec.ownsPrefix { try writeShardList() }
  }

  public func abort() {
    current?.abort()
    current = nil
  }
}

/// Creates `path` and every missing directory above it (as `mkdir -p`), naming the one that
/// cannot be created.
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
