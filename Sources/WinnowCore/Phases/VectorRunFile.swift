import CXXHash
import Glibc

/// A global stage's file of document vectors: for each document, its ordinal in the task's
/// stream (or a key made of task and ordinal), two 64-bit words for the stage (a cluster, a
/// score's bits) and its vector of `dims` float32 values.
///
/// Layout, little-endian: the magic `WNVECRUN`, the format version (u32, 1) and `dims` (u32);
/// then the entries (u64 ordinal, u64 tag, u64 extra, dims × f32); then a footer of the entry count (u64)
/// and the XXH3-64 of every byte before the footer. A reader checks the magic, the version,
/// that the file's size is exactly header + count × entry + footer (computed with
/// overflow-checked arithmetic before anything is allocated), the dims it expects, and the
/// checksum once the last entry is read, so that a truncated, corrupt or stale file is an error
/// naming it, never a different answer.
public enum VectorRunFile {
  static let magic = Array("WNVECRUN".utf8)
  static let headerSize = 16
  static let footerSize = 16
  /// The longest vector a file may declare (2^24 values, 64 MB): a header that claims more is
  /// damaged, whatever its count says.
  public static let maxDims = 1 << 24
  /// Bytes of one entry with `dims` values.
  public static func entrySize(dims: Int) -> Int { 24 + 4 * dims }
}

/// Writes a vector run file entry by entry (under a temporary name, renamed when finished).
public final class VectorRunWriter {
  let sink: FileSink
  /// Values per vector.
  public let dims: Int
  /// Entries written so far.
  public private(set) var count: UInt64 = 0
  var buffer: [UInt8] = []
  /// Where the finished file goes.
  public let path: String

  /// A writer of vectors of `dims` values (0 only for a file that stays empty: a task that saw
  /// no vector and does not know their length).
  public init(path: String, dims: Int) throws(WinnowError) {
    precondition(dims >= 0 && dims <= Int(UInt32.max))
    self.path = path
    self.dims = dims
    sink = try FileSink(path: path)
    buffer.reserveCapacity(1 << 20)
    buffer += VectorRunFile.magic
    appendLE(UInt32(1))
    appendLE(UInt32(dims))
  }

  func appendLE(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { buffer += $0 } }
  func appendLE(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { buffer += $0 } }

  /// Appends one entry; `vector` holds `dims` values.
  public func append(ordinal: UInt64, tag: UInt64, extra: UInt64 = 0, vector: UnsafeBufferPointer<Float>) throws(WinnowError) {
    precondition(vector.count == dims && dims > 0)
    appendLE(ordinal)
    appendLE(tag)
    appendLE(extra)
    for x in vector { appendLE(x.bitPattern) }
    count += 1
    if buffer.count >= 1 << 20 { try flush() }
  }

  func flush() throws(WinnowError) {
    let b = buffer
    try sink.write(b)
    buffer.removeAll(keepingCapacity: true)
  }

  /// Writes the footer and puts the file in place; returns what was written.
  public func finish() throws(WinnowError) -> WrittenFile {
    try flush()
    let sum = sink.checksum
    appendLE(count)
    appendLE(sum)
    try flush()
    try sink.finish()
    return WrittenFile(path: path, bytes: sink.bytesWritten, checksum: sink.checksum)
  }
}

/// Streams the entries of a vector run file, verifying it (see `VectorRunFile`).
public final class VectorRunReader {
  /// The file read.
  public let path: String
  /// Values per vector.
  public let dims: Int
  /// Entries in the file.
  public let count: UInt64
  /// Entries not yet read.
  public private(set) var remaining: UInt64
  let fd: Int32
  let hasher = StreamingXXH3()
  let storedChecksum: UInt64
  let expected: WrittenFile?
  var buffer: [UInt8]
  var pos = 0
  var filled = 0
  let entrySize: Int
  /// The current entry's vector (valid until the next call to `next`).
  public private(set) var vector: [Float]
  /// The current entry's extra word.
  public private(set) var extra: UInt64 = 0

  /// Opens a recorded file (its size and checksum must be the recorded ones) whose vectors must
  /// have `dims` values (any, when nil).
  public convenience init(file: WrittenFile, dims: Int?) throws(WinnowError) {
    try self.init(path: file.path, dims: dims, expected: file)
  }

  /// Opens `path` (checked against `expected` when given), whose vectors must have `dims` values (any, when nil).
  public init(path: String, dims expectedDims: Int?, expected: WrittenFile? = nil) throws(WinnowError) {
    self.path = path
    self.expected = expected
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    self.fd = fd
    guard fd >= 0 else { throw .io("\(path): cannot open vector file: \(String(cString: strerror(errno)))") }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
      Glibc.close(fd)
      throw .io("\(path): not a regular file")
    }
    let size = Int(st.st_size)
    if let expected, expected.bytes != size {
      Glibc.close(fd)
      throw .io("\(path): vector file has \(size) bytes, but \(expected.bytes) were written; run the same command again to redo that pass (or pass --fresh)")
    }
    var header = [UInt8](repeating: 0, count: VectorRunFile.headerSize)
    var footer = [UInt8](repeating: 0, count: VectorRunFile.footerSize)
    let gotHeader = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, VectorRunFile.headerSize, 0) }
    let gotFooter =
      size >= VectorRunFile.headerSize + VectorRunFile.footerSize
      ? footer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, VectorRunFile.footerSize, off_t(size - VectorRunFile.footerSize)) } : 0
    guard gotHeader == VectorRunFile.headerSize, gotFooter == VectorRunFile.footerSize, Array(header[0..<8]) == VectorRunFile.magic else {
      Glibc.close(fd)
      throw .io("\(path): not a Winnow vector file, or truncated; delete the run's .winnow directory or pass --fresh")
    }
    let version = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian }
    let dims = Int(header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian })
    count = footer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian }
    storedChecksum = footer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian }
    guard version == 1 else {
      Glibc.close(fd)
      throw .io("\(path): vector file format version \(version), expected 1")
    }
    guard dims <= VectorRunFile.maxDims else {
      Glibc.close(fd)
      throw .io("\(path): vector file declares vectors of \(dims) values (more than \(VectorRunFile.maxDims)); delete the run's .winnow directory or pass --fresh")
    }
    // An empty file may have been written before the length was known (dims 0).
    let emptyUnknown = dims == 0 && count == 0
    guard emptyUnknown || (dims >= 1 && (expectedDims == nil || dims == expectedDims!)) else {
      Glibc.close(fd)
      throw .io("\(path): vectors of \(dims) values, expected \(expectedDims.map(String.init) ?? "at least 1")")
    }
    entrySize = VectorRunFile.entrySize(dims: dims)
    let (body, o1) = count.multipliedReportingOverflow(by: UInt64(entrySize))
    let (total, o2) = body.addingReportingOverflow(UInt64(VectorRunFile.headerSize + VectorRunFile.footerSize))
    guard !o1, !o2, total == UInt64(size) else {
      Glibc.close(fd)
      throw .io("\(path): vector file is truncated or corrupt (its footer counts \(count) entries, which does not fit its \(size) bytes); delete the run's .winnow directory or pass --fresh")
    }
    self.dims = dims
    remaining = count
    // Sized by what the file holds (its size was checked above), never by the header alone.
    buffer = count == 0 ? [] : [UInt8](repeating: 0, count: max(1 << 20, entrySize * 2))
    vector = count == 0 ? [] : [Float](repeating: 0, count: dims)
    header.withUnsafeBytes { hasher.update($0) }
    guard lseek(fd, off_t(VectorRunFile.headerSize), SEEK_SET) >= 0 else {
      Glibc.close(fd)
      throw .io("\(path): cannot seek: \(String(cString: strerror(errno)))")
    }
  }

  deinit { Glibc.close(fd) }

  /// The next entry's ordinal and tag (its vector in `vector`), or nil after the last one, once
  /// the checksum is verified.
  public func next() throws(WinnowError) -> (ordinal: UInt64, tag: UInt64)? {
    if remaining == 0 {
      guard hasher.digest == storedChecksum else {
        throw .io("\(path): vector file is corrupt (checksum mismatch); delete the run's .winnow directory or pass --fresh")
      }
      return nil
    }
    if filled - pos < entrySize {
      let keep = filled - pos
      buffer.withUnsafeMutableBytes { b in
        if keep > 0 { memmove(b.baseAddress!, b.baseAddress! + pos, keep) }
      }
      filled = keep
      pos = 0
      let want = min(buffer.count - keep, Int(min(remaining, UInt64(buffer.count / entrySize))) * entrySize - keep)
      var got = 0
      var failure: Int32 = 0
      buffer.withUnsafeMutableBytes { b in
        while got < want {
          let r = read(fd, b.baseAddress! + keep + got, want - got)
          if r < 0 {
            if errno == EINTR { continue }
            failure = errno
            break
          }
          if r == 0 { break }
          got += r
        }
        hasher.update(UnsafeRawBufferPointer(rebasing: b[keep..<(keep + got)]))
      }
      if failure != 0 { throw .io("\(path): read failed: \(String(cString: strerror(failure)))") }
      filled += got
      guard filled >= entrySize else {
        throw .io("\(path): vector file is truncated (\(remaining) entries missing); delete the run's .winnow directory or pass --fresh")
      }
    }
    let p = pos
    let (ordinal, tag, extra) = buffer.withUnsafeBytes { b in
      (
        b.loadUnaligned(fromByteOffset: p, as: UInt64.self).littleEndian, b.loadUnaligned(fromByteOffset: p + 8, as: UInt64.self).littleEndian,
        b.loadUnaligned(fromByteOffset: p + 16, as: UInt64.self).littleEndian
      )
    }
    self.extra = extra
    let d = dims
    buffer.withUnsafeBytes { b in
      vector.withUnsafeMutableBufferPointer { v in
        for j in 0..<d { v[j] = Float(bitPattern: b.loadUnaligned(fromByteOffset: p + 24 + 4 * j, as: UInt32.self).littleEndian) }
      }
    }
    pos += entrySize
    remaining -= 1
    return (ordinal, tag)
  }
}
