import CXXHash
import Glibc
import WinnowCore

/// The shingle sets of one map task's documents, for the exact Jaccard check: the sorted
/// shingle hashes of each document one after the other, then an index (position, offset,
/// count, XXH3 of the hashes per document), the index's length and the XXH3 of the index.
/// Readers verify the index when they open the file and each document's hashes when they read
/// them, so a damaged file is an error naming it.
///
/// Size: 8 bytes per distinct shingle (about one per word) plus 32 per document.
package final class ShingleStoreWriter {
  static let magic = Array("WNSHING1".utf8)
  let sink: FileSink
  var offset: UInt64 = 8
  var index: [UInt64] = []

  package init(path: String) throws(WinnowError) {
    sink = try FileSink(path: path)
    try sink.write(Self.magic)
  }

  package func add(ordinal: UInt64, shingles: [UInt64]) throws(WinnowError) {
    let sum = shingles.withUnsafeBytes { XXH3_64bits($0.baseAddress, $0.count) }
    index += [ordinal, offset, UInt64(shingles.count), sum]
    try typedWrite(shingles)
    offset += UInt64(shingles.count * 8)
  }

  func typedWrite(_ values: [UInt64]) throws(WinnowError) {
    let bytes = values.map(\.littleEndian).withUnsafeBytes { [UInt8]($0) }
    try sink.write(bytes)
  }

  /// Writes the index and renames the file into place; returns what was written.
  package func finish() throws(WinnowError) -> WrittenFile {
    let sum = index.map(\.littleEndian).withUnsafeBytes { XXH3_64bits($0.baseAddress, $0.count) }
    try typedWrite(index + [UInt64(index.count / 4), sum])
    try sink.finish()
    return WrittenFile(path: sink.name, bytes: sink.bytesWritten, checksum: sink.checksum)
  }

  package func abort() { sink.abort() }
}

/// Reads the shingle sets a `ShingleStoreWriter` wrote.
public final class ShingleStoreReader {
  public let path: String
  let fd: Int32
  /// Position → (offset, count, checksum).
  var entries: [UInt64: (UInt64, Int, UInt64)] = [:]

  /// A recorded shingle file: before anything else, the whole file must be the one its map
  /// task recorded (size and checksum), which tells a stale or swapped file from the right one.
  public convenience init(file: WrittenFile) throws(WinnowError) {
    if let why = file.mismatch() {
      throw .io("\(file.path): shingle file \(why); run the same command again to redo the map pass (or pass --fresh)")
    }
    try self.init(path: file.path)
  }

  public init(path: String) throws(WinnowError) {
    self.path = path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open shingle file: \(String(cString: strerror(errno)))") }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
      close(fd)
      throw .io("\(path): not a regular file")
    }
    let size = Int(st.st_size)
    var tail = [UInt64](repeating: 0, count: 2)
    guard size >= 24, try Self.read(fd, into: &tail, at: size - 16) else {
      throw .io("\(path): shingle file is truncated; delete the run's .winnow directory or pass --fresh")
    }
    // Compared as unsigned before any conversion or multiplication: a huge count cannot wrap.
    let count = UInt64(littleEndian: tail[0])
    guard count <= UInt64((size - 24) / 32) else { throw .io("\(path): shingle file is corrupt (bad index length)") }
    let n = Int(count)
    var index = [UInt64](repeating: 0, count: n * 4)
    guard try Self.read(fd, into: &index, at: size - 16 - n * 32),
      index.withUnsafeBytes({ XXH3_64bits($0.baseAddress, $0.count) }) == UInt64(littleEndian: tail[1])
    else {
      throw .io("\(path): shingle file is corrupt (index checksum mismatch); delete the run's .winnow directory or pass --fresh")
    }
    entries.reserveCapacity(n)
    // Every document's hashes must lie inside the data region (after the magic, before the
    // index), checked without overflow, so a crafted index cannot send a read elsewhere or
    // ask for an allocation the file cannot back.
    let dataEnd = UInt64(size - 16 - n * 32)
    for k in 0..<n {
      let e = index[(4 * k)..<(4 * k + 4)].map { UInt64(littleEndian: $0) }
      let (bytes, o1) = e[2].multipliedReportingOverflow(by: 8)
      let (end, o2) = e[1].addingReportingOverflow(bytes)
      guard !o1, !o2, e[1] >= 8, end <= dataEnd else {
        throw .io("\(path): shingle file is corrupt (document \(e[0]) points outside the file)")
      }
      entries[e[0]] = (e[1], Int(e[2]), e[3])
    }
  }

  deinit { close(fd) }

  static func read(_ fd: Int32, into values: inout [UInt64], at offset: Int) throws(WinnowError) -> Bool {
    let want = values.count * 8
    let got = values.withUnsafeMutableBytes { raw -> Int in
      var done = 0
      while done < want {
        let r = pread(fd, raw.baseAddress! + done, want - done, off_t(offset + done))
        if r < 0 && errno == EINTR { continue }
        if r <= 0 { break }
        done += r
      }
      return done
    }
    return got == want
  }

  /// The shingle set of the document at `ordinal`, into `out`.
  public func shingles(_ ordinal: UInt64, into out: inout [UInt64]) throws(WinnowError) {
    guard let (offset, count, sum) = entries[ordinal] else {
      throw .io("\(path): no shingles for document \(ordinal) of the task")
    }
    out = [UInt64](repeating: 0, count: count)
    guard try Self.read(fd, into: &out, at: Int(offset)),
      out.withUnsafeBytes({ XXH3_64bits($0.baseAddress, $0.count) }) == sum
    else {
      throw .io("\(path): shingle file is corrupt (document \(ordinal)); delete the run's .winnow directory or pass --fresh")
    }
    for k in out.indices { out[k] = UInt64(littleEndian: out[k]) }
  }
}
