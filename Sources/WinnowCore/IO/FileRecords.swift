import Glibc

/// A file a run wrote: where, how many bytes, and the XXH3-64 of those bytes. Task records
/// list every file a task wrote, so that a later pass or a resumed run can tell a missing,
/// truncated, replaced or stale file from the one that was written.
public struct WrittenFile: Sendable, Equatable, Codable {
  public var path: String
  public var bytes: Int
  public var checksum: UInt64

  public init(path: String, bytes: Int, checksum: UInt64) {
    self.path = path
    self.bytes = bytes
    self.checksum = checksum
  }

  enum CodingKeys: String, CodingKey { case path, bytes, checksum = "xxh3" }

  // The checksum is written as hex: JSON numbers above 2^53 lose digits in many readers.
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    path = try c.decode(String.self, forKey: .path)
    bytes = try c.decode(Int.self, forKey: .bytes)
    let text = try c.decode(String.self, forKey: .checksum)
    guard let v = UInt64(text, radix: 16) else {
      throw DecodingError.dataCorruptedError(forKey: .checksum, in: c, debugDescription: "not a hex checksum: \(text)")
    }
    checksum = v
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(path, forKey: .path)
    try c.encode(bytes, forKey: .bytes)
    try c.encode(hex64(checksum), forKey: .checksum)
  }

  /// Why the file on disk is not this one, or nil when its size and checksum match. Reads the
  /// whole file.
  public func mismatch() -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return errno == ENOENT ? "is missing" : "cannot be read (\(errnoMessage()))" }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return "cannot be read (\(errnoMessage()))" }
    guard (st.st_mode & S_IFMT) == S_IFREG else { return "is not a regular file" }
    guard Int(st.st_size) == bytes else { return "has \(st.st_size) bytes, \(bytes) were written" }
    let hasher = StreamingXXH3()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let n = read(fd, buffer.baseAddress, buffer.count)
      if n < 0 {
        if errno == EINTR { continue }
        return "cannot be read (\(errnoMessage()))"
      }
      if n == 0 { break }
      hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
    return hasher.digest == checksum ? nil : "does not hold the bytes that were written (checksum differs)"
  }
}

/// What a run knew of an input file when it read it: size and modification time when it was
/// opened, and the XXH3-64 of its bytes as stored (compressed bytes for compressed files).
public struct FileStamp: Sendable, Equatable, Codable {
  public var path: String
  public var bytes: Int
  /// Modification time, nanoseconds since the epoch.
  public var modified: Int64
  /// nil when the file was not read to its end.
  public var checksum: UInt64?

  public init(path: String, bytes: Int, modified: Int64, checksum: UInt64?) {
    self.path = path
    self.bytes = bytes
    self.modified = modified
    self.checksum = checksum
  }

  /// The size and modification time `path` has now (no checksum), or nil when it cannot be
  /// looked at.
  public static func current(_ path: String) -> FileStamp? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return FileStamp(path: path, bytes: Int(st.st_size), modified: Self.nanoseconds(st.st_mtim), checksum: nil)
  }

  static func nanoseconds(_ t: timespec) -> Int64 { Int64(t.tv_sec) &* 1_000_000_000 &+ Int64(t.tv_nsec) }

  /// How `now` differs from this stamp in size or modification time, or nil when it does not.
  public func change(to now: FileStamp?) -> String? {
    guard let now else { return "is gone" }
    if now.bytes != bytes { return "changed size (\(bytes) → \(now.bytes) bytes)" }
    if now.modified != modified { return "was modified (its modification time changed)" }
    return nil
  }

  enum CodingKeys: String, CodingKey { case path, bytes, modified = "mtime_ns", checksum = "xxh3" }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    path = try c.decode(String.self, forKey: .path)
    bytes = try c.decode(Int.self, forKey: .bytes)
    modified = try c.decode(Int64.self, forKey: .modified)
    if let text = try c.decodeIfPresent(String.self, forKey: .checksum) {
      guard let v = UInt64(text, radix: 16) else {
        throw DecodingError.dataCorruptedError(forKey: .checksum, in: c, debugDescription: "not a hex checksum: \(text)")
      }
      checksum = v
    } else {
      checksum = nil
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(path, forKey: .path)
    try c.encode(bytes, forKey: .bytes)
    try c.encode(modified, forKey: .modified)
    try c.encodeIfPresent(checksum.map(hex64), forKey: .checksum)
  }
}

/// This machine's physical memory in bytes (for refusing sizes no allocation could meet).
public func physicalMemoryBytes() -> Int {
  let pages = sysconf(Int32(_SC_PHYS_PAGES))
  let size = sysconf(Int32(_SC_PAGESIZE))
  guard pages > 0, size > 0 else { return Int.max }
  return pages.multipliedReportingOverflow(by: size).overflow ? Int.max : pages * size
}
