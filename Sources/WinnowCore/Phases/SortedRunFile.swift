import CXXHash
import Glibc

/// One entry of a global stage's intermediate data: a 128-bit key and where the document is
/// (task and ordinal of the document within the task's stream). Sorted by key, then task,
/// then ordinal — that is, by key and then input order, so "first occurrence" is the first
/// entry of each key.
public struct PhaseEntry: Comparable, Sendable {
  public var key: Hash128
  public var task: UInt64
  public var ordinal: UInt64

  public init(key: Hash128, task: UInt64, ordinal: UInt64) {
    self.key = key
    self.task = task
    self.ordinal = ordinal
  }

  public static func < (a: PhaseEntry, b: PhaseEntry) -> Bool {
    if a.key.high != b.key.high { return a.key.high < b.key.high }
    if a.key.low != b.key.low { return a.key.low < b.key.low }
    if a.task != b.task { return a.task < b.task }
    return a.ordinal < b.ordinal
  }
}

/// A record of a global stage's intermediate files: fixed size, little-endian, ordered. Each
/// kind has its own tag, written in the file header, so a file of the wrong kind is an error.
public protocol RunRecord: Comparable, Sendable {
  /// Bytes of one stored record (every record of a kind has the same size).
  static var byteSize: Int { get }
  /// Eight ASCII letters naming the kind, e.g. "KEYENTRY".
  static var tag: String { get }
  /// Writes the record's `byteSize` bytes at `p`, little-endian.
  func store(to p: UnsafeMutableRawPointer)
  /// Reads a record from the `byteSize` bytes at `p` (as `store` wrote them).
  init(loadingFrom p: UnsafeRawPointer)
}

/// A run record of two 64-bit words (a key and a value), stored little-endian in 16 bytes and
/// ordered by key, then value: counts by entry, copies by document hash.
public protocol KeyValueRunRecord: RunRecord {
  /// The first word: what the record is about (an entry, a document's hash).
  var key: UInt64 { get }
  /// The second word: what is known about it (a count, packed fields).
  var value: UInt64 { get }
  /// A record of these two words.
  init(key: UInt64, value: UInt64)
}

extension KeyValueRunRecord {
  public static var byteSize: Int { 16 }

  public func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: key.littleEndian, as: UInt64.self)
    p.storeBytes(of: value.littleEndian, toByteOffset: 8, as: UInt64.self)
  }

  public init(loadingFrom p: UnsafeRawPointer) {
    self.init(
      key: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)),
      value: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
  }

  public static func < (a: Self, b: Self) -> Bool { a.key < b.key || (a.key == b.key && a.value < b.value) }
}

extension PhaseEntry: RunRecord {
  public static var byteSize: Int { 32 }
  public static var tag: String { "KEYENTRY" }
  public func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: key.high.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: key.low.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: task.littleEndian, as: UInt64.self)
    (p + 24).storeBytes(of: ordinal.littleEndian, as: UInt64.self)
  }
  public init(loadingFrom p: UnsafeRawPointer) {
    self.init(
      key: Hash128(
        low: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian,
        high: p.loadUnaligned(as: UInt64.self).littleEndian),
      task: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian,
      ordinal: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian)
  }
}

/// A run on disk: a header (magic, record kind, record count), fixed-size little-endian
/// records, and a footer with the XXH3-64 of everything before it. Readers verify the kind,
/// the count and the checksum, so a truncated or corrupt run is an error naming the file,
/// never a silently wrong answer. Files are written under a temporary name and renamed when
/// complete. Most runs are sorted; some phases write records in document order instead.
public enum SortedRunFile {
  static let magic: [UInt8] = Array("WNRUN002".utf8)
  static let headerSize = 24

  /// Sorts `records` (unless `sort` is false) and writes them to `path`; returns what was
  /// written, for the task's record.
  @discardableResult
  public static func write<R: RunRecord>(_ records: inout [R], to path: String, sort: Bool = true) throws(WinnowError)
    -> WrittenFile
  {
    if sort { records.sort() }
    let size = headerSize + records.count * R.byteSize + 8
    var bytes = [UInt8](repeating: 0, count: size)
    bytes.withUnsafeMutableBytes { raw in
      let base = raw.baseAddress!
      base.copyMemory(from: magic, byteCount: 8)
      base.advanced(by: 8).copyMemory(from: Array(R.tag.utf8.prefix(8)), byteCount: min(8, R.tag.utf8.count))
      (base + 16).storeBytes(of: UInt64(records.count).littleEndian, as: UInt64.self)
      var p = base + headerSize
      for r in records {
        r.store(to: p)
        p += R.byteSize
      }
      let sum = XXH3_64bits(base, size - 8)
      (base + size - 8).storeBytes(of: sum.littleEndian, as: UInt64.self)
    }
    return try writeFileAtomically(path, bytes)
  }

  /// Every record of a run, in file order (small runs: mark lists, counts).
  public static func readAll<R: RunRecord>(_ path: String, as: R.Type = R.self) throws(WinnowError) -> [R] {
    try readAll(SortedRunReader<R>(path: path))
  }

  /// Every record of a recorded run file, verified against the record.
  public static func readAll<R: RunRecord>(_ file: WrittenFile, as: R.Type = R.self) throws(WinnowError) -> [R] {
    try readAll(SortedRunReader<R>(file: file))
  }

  static func readAll<R: RunRecord>(_ r: SortedRunReader<R>) throws(WinnowError) -> [R] {
    var out: [R] = []
    out.reserveCapacity(Int(min(r.remaining, 1 << 24)))
    while let e = try r.next() { out.append(e) }
    return out
  }
}

/// Streams the records of one run, verifying its checksum when the end is reached. The
/// header's record count must match the file's size exactly (checked with overflow-checked
/// arithmetic before anything is read), so a damaged count cannot make the reader run past the
/// file or allocate for records that are not there. Opened for a recorded file
/// (`init(file:)`), the whole file's checksum must also equal the one recorded when it was
/// written, which tells a stale or swapped file from the right one.
public final class SortedRunReader<R: RunRecord> {
  public let path: String
  let fd: Int32
  // Read by `next`, which is inlinable so that a merge of a stage's own record type is
  // specialised for it in the stage's module (generic code there costs several times more).
  @usableFromInline var buffer: UnsafeMutableRawBufferPointer
  @usableFromInline var filled = 0
  @usableFromInline var pos = 0
  /// Records not yet handed out.
  public var remaining: UInt64 { left }
  @usableFromInline var left: UInt64
  var hasher: OpaquePointer
  @usableFromInline var footerChecked = false
  /// The checksum of the whole file recorded by its writer, when known.
  let expectedChecksum: UInt64?

  public convenience init(path: String) throws(WinnowError) {
    try self.init(path: path, expected: nil)
  }

  /// A recorded file: its size and whole-file checksum must be what the record says.
  public convenience init(file: WrittenFile) throws(WinnowError) {
    try self.init(path: file.path, expected: file)
  }

  init(path: String, expected: WrittenFile?) throws(WinnowError) {
    self.path = path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open run file: \(String(cString: strerror(errno)))") }
    buffer = .allocate(byteCount: max(1 << 20, R.byteSize * 64), alignment: 16)
    hasher = XXH3_createState()
    XXH3_64bits_reset(hasher)
    left = 0
    expectedChecksum = expected?.checksum
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
      throw .io("\(path): not a regular file")
    }
    let size = Int(st.st_size)
    if let expected, expected.bytes != size {
      throw .io("\(path): run file has \(size) bytes, but \(expected.bytes) were written; run the same command again to redo that pass (or pass --fresh)")
    }
    var header = [UInt8](repeating: 0, count: SortedRunFile.headerSize)
    let got = try typed { try header.withUnsafeMutableBytes { try readFully($0) } }
    guard got == SortedRunFile.headerSize, Array(header[0..<8]) == SortedRunFile.magic else {
      throw .io("\(path): not a Winnow run file or truncated header; delete the run's .winnow directory or pass --fresh")
    }
    guard Array(header[8..<16]) == Array(R.tag.utf8.prefix(8)) else {
      throw .io("\(path): run file holds '\(String(decoding: header[8..<16], as: UTF8.self))' records, expected '\(R.tag)'")
    }
    header.withUnsafeBytes { _ = XXH3_64bits_update(hasher, $0.baseAddress, SortedRunFile.headerSize) }
    left = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian }
    // header + count × record + footer must be the file's size, computed without overflow.
    let (body, overflow) = left.multipliedReportingOverflow(by: UInt64(R.byteSize))
    let expectedSize = overflow ? nil : UInt64(SortedRunFile.headerSize + 8).addingReportingOverflow(body)
    guard let expectedSize, !expectedSize.overflow, expectedSize.partialValue == UInt64(size) else {
      throw .io(
        "\(path): run file is truncated or corrupt (its header counts \(left) records, which does not fit its \(size) bytes); delete the run's .winnow directory or pass --fresh"
      )
    }
  }

  deinit {
    Glibc.close(fd)
    buffer.deallocate()
    XXH3_freeState(hasher)
  }

  func readFully(_ b: UnsafeMutableRawBufferPointer) throws(WinnowError) -> Int {
    try readRunBytes(fd, into: b, path: path)
  }

  /// The next record, or nil after the last one (once the checksum is verified).
  @inlinable
  public func next() throws(WinnowError) -> R? {
    if left == 0 {
      if !footerChecked { try checkFooter() }
      return nil
    }
    let size = R.byteSize
    if filled - pos < size { try refill() }
    let p = buffer.baseAddress! + pos
    let e = R(loadingFrom: UnsafeRawPointer(p))
    pos += size
    left -= 1
    return e
  }

  /// Moves the unread bytes to the front and reads more, only record bytes (never the
  /// footer), adding the new bytes to the running checksum: the records are hashed in file
  /// order, a buffer at a time.
  @usableFromInline
  func refill() throws(WinnowError) {
    let size = R.byteSize
    let keep = filled - pos
    if keep > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + pos, keep) }
    filled = keep
    pos = 0
    let want = min(buffer.count - keep, Int(min(left, UInt64(buffer.count / size))) * size)
    let n = try readFully(UnsafeMutableRawBufferPointer(start: buffer.baseAddress! + keep, count: max(0, want - keep)))
    if n > 0 { _ = XXH3_64bits_update(hasher, buffer.baseAddress! + keep, n) }
    filled += n
    if filled < size {
      throw .io("\(path): run file is truncated (\(left) records missing); delete the run's .winnow directory or pass --fresh")
    }
  }

  @usableFromInline
  func checkFooter() throws(WinnowError) {
    footerChecked = true
    var footer = [UInt8](repeating: 0, count: 8)
    let leftover = filled - pos
    if leftover > 0 {
      let n = min(8, leftover)
      footer.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: buffer.baseAddress! + pos, byteCount: n) }
      if n < 8 {
        let more = try typed { try footer.withUnsafeMutableBytes { try readFully(UnsafeMutableRawBufferPointer(rebasing: $0[n...])) } }
        if n + more < 8 { throw .io("\(path): run file is truncated (no checksum)") }
      }
    } else {
      let n = try typed { try footer.withUnsafeMutableBytes { try readFully($0) } }
      if n < 8 { throw .io("\(path): run file is truncated (no checksum)") }
    }
    let stored = footer.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
    if stored != XXH3_64bits_digest(hasher) {
      throw .io("\(path): run file is corrupt (checksum mismatch); delete the run's .winnow directory or pass --fresh")
    }
    if let expectedChecksum {
      footer.withUnsafeBytes { _ = XXH3_64bits_update(hasher, $0.baseAddress, 8) }
      if XXH3_64bits_digest(hasher) != expectedChecksum {
        throw .io(
          "\(path): run file is not the one its task wrote (a stale or swapped file: its checksum differs from the record); run the same command again to redo that pass (or pass --fresh)"
        )
      }
    }
  }
}

/// Merges sorted runs into one sorted stream (a binary heap over the runs' heads): memory
/// grows with the number of runs, not with their size.
public final class SortedRunMerger<R: RunRecord> {
  // One merge, one caller: no run-time exclusivity check on every sift of the heap.
  // Inlinable methods below: a merge is specialised for its record type where it is used.
  @exclusivity(unchecked) @usableFromInline var readers: [SortedRunReader<R>]
  @exclusivity(unchecked) @usableFromInline var heap: [(R, Int)] = []

  public convenience init(paths: [String]) throws(WinnowError) {
    var readers: [SortedRunReader<R>] = []
    for p in paths { readers.append(try SortedRunReader<R>(path: p)) }
    try self.init(readers: readers)
  }

  /// Recorded run files, each verified against its record.
  public convenience init(files: [WrittenFile]) throws(WinnowError) {
    var readers: [SortedRunReader<R>] = []
    for f in files { readers.append(try SortedRunReader<R>(file: f)) }
    try self.init(readers: readers)
  }

  init(readers: [SortedRunReader<R>]) throws(WinnowError) {
    self.readers = readers
    for (k, r) in readers.enumerated() {
      if let e = try r.next() { push((e, k)) }
    }
  }

  @inlinable
  public func next() throws(WinnowError) -> R? {
    guard let (top, k) = heap.first else { return nil }
    if let e = try readers[k].next() {
      heap[0] = (e, k)
      siftDown(0)
    } else {
      let last = heap.removeLast()
      if !heap.isEmpty {
        heap[0] = last
        siftDown(0)
      }
    }
    return top
  }

  @usableFromInline
  func push(_ x: (R, Int)) {
    heap.append(x)
    var i = heap.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      if heap[i].0 < heap[parent].0 {
        heap.swapAt(i, parent)
        i = parent
      } else {
        break
      }
    }
  }

  @inlinable
  func siftDown(_ start: Int) {
    var i = start
    while true {
      let l = 2 * i + 1
      let r = l + 1
      var m = i
      if l < heap.count && heap[l].0 < heap[m].0 { m = l }
      if r < heap.count && heap[r].0 < heap[m].0 { m = r }
      if m == i { return }
      heap.swapAt(i, m)
      i = m
    }
  }
}

/// Reads from `fd` until `b` is full or the file ends (retrying reads interrupted by a
/// signal); returns how many bytes were read. A read error names `path`. For the readers of
/// intermediate run files, here and in the stage modules.
public func readRunBytes(_ fd: Int32, into b: UnsafeMutableRawBufferPointer, path: String) throws(WinnowError) -> Int {
  var n = 0
  while n < b.count {
    let r = read(fd, b.baseAddress! + n, b.count - n)
    if r < 0 {
      if errno == EINTR { continue }
      throw .io("\(path): read failed: \(String(cString: strerror(errno)))")
    }
    if r == 0 { break }
    n += r
  }
  return n
}
