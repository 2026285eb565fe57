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

/// A sorted run on disk: a header (magic, version, entry count), fixed-size little-endian
/// entries, and a footer with the XXH3-64 of everything before it. Readers verify the count
/// and the checksum, so a truncated or corrupt run is an error naming the file, never a
/// silently wrong answer. Files are written under a temporary name and renamed when complete.
public enum SortedRunFile {
  static let magic: [UInt8] = Array("WNRUN001".utf8)
  static let entrySize = 32

  /// Sorts `entries` and writes them to `path`.
  public static func write(_ entries: inout [PhaseEntry], to path: String) throws(WinnowError) {
    entries.sort()
    var bytes: [UInt8] = []
    bytes.reserveCapacity(16 + entries.count * entrySize + 8)
    bytes += magic
    appendLE(UInt64(entries.count), to: &bytes)
    for e in entries {
      appendLE(e.key.high, to: &bytes)
      appendLE(e.key.low, to: &bytes)
      appendLE(e.task, to: &bytes)
      appendLE(e.ordinal, to: &bytes)
    }
    let sum = bytes.withUnsafeBufferPointer { XXH3.hash64($0) }
    appendLE(sum, to: &bytes)
    let sink = try FileSink(path: path)
    do throws(WinnowError) {
      try sink.write(bytes)
      try sink.finish()
    } catch {
      sink.abort()
      throw error
    }
  }

  static func appendLE(_ v: UInt64, to out: inout [UInt8]) {
    var x = v.littleEndian
    withUnsafeBytes(of: &x) { out.append(contentsOf: $0) }
  }
}

/// Streams the entries of one sorted run, verifying its checksum when the end is reached.
public final class SortedRunReader {
  public let path: String
  let fd: Int32
  var buffer: UnsafeMutableRawBufferPointer
  var filled = 0
  var pos = 0
  var remaining: UInt64
  var hasher: OpaquePointer
  var footerChecked = false

  public init(path: String) throws(WinnowError) {
    self.path = path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open run file: \(String(cString: strerror(errno)))") }
    buffer = .allocate(byteCount: 1 << 20, alignment: 16)
    hasher = XXH3_createState()
    XXH3_64bits_reset(hasher)
    remaining = 0
    var header = [UInt8](repeating: 0, count: 16)
    let got = try typed { try header.withUnsafeMutableBytes { try readFully($0) } }
    guard got == 16, Array(header[0..<8]) == SortedRunFile.magic else {
      throw .io("\(path): not a Winnow run file or truncated header; delete the run's .winnow directory or pass --fresh")
    }
    header.withUnsafeBytes { _ = XXH3_64bits_update(hasher, $0.baseAddress, 16) }
    remaining = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian }
  }

  deinit {
    Glibc.close(fd)
    buffer.deallocate()
    XXH3_freeState(hasher)
  }

  func readFully(_ b: UnsafeMutableRawBufferPointer) throws(WinnowError) -> Int {
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

  /// The next entry, or nil after the last one (once the checksum is verified).
  public func next() throws(WinnowError) -> PhaseEntry? {
    if remaining == 0 {
      if !footerChecked { try checkFooter() }
      return nil
    }
    if filled - pos < SortedRunFile.entrySize {
      let keep = filled - pos
      if keep > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + pos, keep) }
      filled = keep
      pos = 0
      let want = min(buffer.count - keep, Int(min(remaining, UInt64(buffer.count / SortedRunFile.entrySize))) * SortedRunFile.entrySize)
      let n = try readFully(UnsafeMutableRawBufferPointer(start: buffer.baseAddress! + keep, count: max(0, want - keep)))
      filled += n
      if filled < SortedRunFile.entrySize {
        throw .io("\(path): run file is truncated (\(remaining) entries missing); delete the run's .winnow directory or pass --fresh")
      }
    }
    let p = buffer.baseAddress! + pos
    _ = XXH3_64bits_update(hasher, p, SortedRunFile.entrySize)
    let e = PhaseEntry(
      key: Hash128(
        low: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian,
        high: p.loadUnaligned(as: UInt64.self).littleEndian),
      task: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian,
      ordinal: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian)
    pos += SortedRunFile.entrySize
    remaining -= 1
    return e
  }

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
  }
}

/// Merges sorted runs into one sorted stream (a binary heap over the runs' heads): memory
/// grows with the number of runs, not with their size.
public final class SortedRunMerger {
  var readers: [SortedRunReader]
  var heap: [(PhaseEntry, Int)] = []

  public init(paths: [String]) throws(WinnowError) {
    readers = []
    for p in paths { readers.append(try SortedRunReader(path: p)) }
    for (k, r) in readers.enumerated() {
      if let e = try r.next() { push((e, k)) }
    }
  }

  public func next() throws(WinnowError) -> PhaseEntry? {
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

  private func push(_ x: (PhaseEntry, Int)) {
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

  private func siftDown(_ start: Int) {
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
