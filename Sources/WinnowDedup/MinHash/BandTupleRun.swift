import Glibc
import WinnowCore

/// Map → band reduce under `keep: datatrove`: runs of band entries that carry the band's raw
/// values, so that they sort in datatrove's order. An entry is `width` 64-bit words: the band
/// number, the band's `rows` minimum hashes, the document's node. Entries sort by all words
/// in turn: by band, then by the band's values as a tuple (datatrove's `HashSig` order), then
/// by node, which is input order. `BandEntry`'s 128-bit key cannot do this: equal keys tell
/// equal bands, but the order of the keys is not the order of the values.
///
/// `width` depends on `rows`, so this is not a `RunRecord` (whose size is fixed per kind): the
/// file says its width and readers check it. Layout, little-endian: the magic `WNWIDE01`, the
/// tag `MHTUPLE1`, the width (u64) and the entry count (u64); the entries; the XXH3-64 of every
/// byte before it. A reader checks the magic, the tag and the width, that the file's size is
/// exactly header + count × width × 8 + footer (with overflow-checked arithmetic, before
/// anything is read), the checksum once the last entry is read and, for a recorded file, its
/// size and whole-file checksum: a damaged, truncated or stale file is an error naming it.
package enum BandTupleRunFile {
  static let magic = Array("WNWIDE01".utf8)
  package static let tag = "MHTUPLE1"
  static let headerSize = 32

  /// Words per entry for bands of `rows` values.
  package static func width(rows: Int) -> Int { rows + 2 }

  /// Sorts the entries in `words` (`width` words each, one after the other) and writes them
  /// to `path`; returns what was written, for the task's record.
  package static func write(_ words: [UInt64], width: Int, to path: String) throws(WinnowError) -> WrittenFile {
    precondition(width >= 2 && words.count % width == 0)
    let count = words.count / width
    // Sorted through a permutation: moving entries of runtime width would copy them for
    // every swap.
    var order = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
      for k in 0..<count { buffer[k] = Int32(k) }
      initialized = count
    }
    if count > 1 {
      words.withUnsafeBufferPointer { w in
        let base = w.baseAddress!
        order.sort { x, y in precedes(base + Int(x) * width, base + Int(y) * width, width) }
      }
    }
    let sink = try FileSink(path: path)
    do throws(WinnowError) {
      let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1 << 20, width * 8), alignment: 8)
      defer { chunk.deallocate() }
      var used = 0
      func put(_ v: UInt64) {
        chunk.storeBytes(of: v.littleEndian, toByteOffset: used, as: UInt64.self)
        used += 8
      }
      magic.withUnsafeBytes { chunk.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 8) }
      Array(tag.utf8).withUnsafeBytes { (chunk.baseAddress! + 8).copyMemory(from: $0.baseAddress!, byteCount: 8) }
      used = 16
      put(UInt64(width))
      put(UInt64(count))
      try words.withUnsafeBufferPointer { (w) throws(WinnowError) in
        for k in order {
          if used + width * 8 > chunk.count {
            try sink.write(UnsafeRawBufferPointer(rebasing: chunk[0..<used]))
            used = 0
          }
          let entry = w.baseAddress! + Int(k) * width
          for j in 0..<width { put(entry[j]) }
        }
      }
      try sink.write(UnsafeRawBufferPointer(rebasing: chunk[0..<used]))
      used = 0
      put(sink.checksum)
      try sink.write(UnsafeRawBufferPointer(rebasing: chunk[0..<used]))
      try sink.finish()
    } catch {
      sink.abort()
      throw error
    }
    return WrittenFile(path: path, bytes: sink.bytesWritten, checksum: sink.checksum)
  }

  /// Whether entry `x` sorts before entry `y` (all `width` words, in turn).
  @inline(__always)
  static func precedes(_ x: UnsafePointer<UInt64>, _ y: UnsafePointer<UInt64>, _ width: Int) -> Bool {
    for k in 0..<width where x[k] != y[k] { return x[k] < y[k] }
    return false
  }
}

/// Streams the entries of one band tuple run, verifying it (see `BandTupleRunFile`).
package final class BandTupleRunReader {
  package let path: String
  /// Words per entry.
  package let width: Int
  /// Entries not yet read.
  package private(set) var remaining: UInt64 = 0
  /// The entry the last successful `next` read.
  package private(set) var entry: [UInt64]
  let fd: Int32
  let buffer: UnsafeMutableRawBufferPointer
  var filled = 0
  var pos = 0
  let hasher = StreamingXXH3()
  var footerChecked = false
  /// The whole file's checksum recorded by its writer, when known.
  let expectedChecksum: UInt64?

  /// A recorded run: its size and whole-file checksum must be the recorded ones.
  package convenience init(file: WrittenFile, width: Int) throws(WinnowError) {
    try self.init(path: file.path, width: width, expected: file)
  }

  package init(path: String, width: Int, expected: WrittenFile? = nil) throws(WinnowError) {
    precondition(width >= 2)
    self.path = path
    self.width = width
    entry = [UInt64](repeating: 0, count: width)
    expectedChecksum = expected?.checksum
    buffer = .allocate(byteCount: max(1 << 20, width * 8 * 64), alignment: 8)
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open run file: \(String(cString: strerror(errno)))") }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw .io("\(path): not a regular file") }
    let size = Int(st.st_size)
    if let expected, expected.bytes != size {
      throw .io("\(path): run file has \(size) bytes, but \(expected.bytes) were written; run the same command again to redo that pass (or pass --fresh)")
    }
    // The header is read into the (empty) read buffer.
    let got = try readFully(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<BandTupleRunFile.headerSize]))
    let header = [UInt8](UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
    guard got == BandTupleRunFile.headerSize, Array(header[0..<8]) == BandTupleRunFile.magic else {
      throw .io("\(path): not a Winnow band tuple run or truncated header; delete the run's .winnow directory or pass --fresh")
    }
    guard Array(header[8..<16]) == Array(BandTupleRunFile.tag.utf8) else {
      throw .io("\(path): run file holds '\(String(decoding: header[8..<16], as: UTF8.self))' records, expected '\(BandTupleRunFile.tag)'")
    }
    let (declaredWidth, count) = header.withUnsafeBytes {
      ($0.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian,
       $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian)
    }
    guard declaredWidth == UInt64(width) else {
      throw .io(
        "\(path): run file holds entries of \(declaredWidth) words, expected \(width) (written with other rows, or corrupt); delete the run's .winnow directory or pass --fresh"
      )
    }
    header.withUnsafeBytes { hasher.update($0) }
    // header + count × entry + footer must be the file's size, computed without overflow.
    let (body, o1) = count.multipliedReportingOverflow(by: UInt64(width * 8))
    let (total, o2) = body.addingReportingOverflow(UInt64(BandTupleRunFile.headerSize + 8))
    guard !o1, !o2, total == UInt64(size) else {
      throw .io(
        "\(path): run file is truncated or corrupt (its header counts \(count) entries, which does not fit its \(size) bytes); delete the run's .winnow directory or pass --fresh"
      )
    }
    remaining = count
  }

  deinit {
    if fd >= 0 { Glibc.close(fd) }
    buffer.deallocate()
  }

  func readFully(_ b: UnsafeMutableRawBufferPointer) throws(WinnowError) -> Int {
    try readRunBytes(fd, into: b, path: path)
  }

  /// Reads the next entry into `entry`; false after the last one (once the checksum is
  /// verified).
  package func next() throws(WinnowError) -> Bool {
    if remaining == 0 {
      if !footerChecked { try checkFooter() }
      return false
    }
    let size = width * 8
    if filled - pos < size {
      let keep = filled - pos
      if keep > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + pos, keep) }
      filled = keep
      pos = 0
      let whole = Int(min(remaining, UInt64(buffer.count / size))) * size
      let n = try readFully(
        UnsafeMutableRawBufferPointer(start: buffer.baseAddress! + keep, count: max(0, whole - keep)))
      filled += n
      if filled < size {
        throw .io("\(path): run file is truncated (\(remaining) entries missing); delete the run's .winnow directory or pass --fresh")
      }
    }
    let p = UnsafeRawPointer(buffer.baseAddress! + pos)
    hasher.update(UnsafeRawBufferPointer(start: p, count: size))
    entry.withUnsafeMutableBufferPointer { e in
      for k in 0..<width { e[k] = p.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self).littleEndian }
    }
    pos += size
    remaining -= 1
    return true
  }

  func checkFooter() throws(WinnowError) {
    footerChecked = true
    // The footer goes to the front of the read buffer (every entry has been read).
    let leftover = min(8, filled - pos)
    if leftover > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + pos, leftover) }
    let more = try readFully(UnsafeMutableRawBufferPointer(rebasing: buffer[leftover..<8]))
    guard leftover + more == 8 else { throw .io("\(path): run file is truncated (no checksum)") }
    let footer = UnsafeRawBufferPointer(rebasing: buffer[0..<8])
    let stored = footer.loadUnaligned(as: UInt64.self).littleEndian
    guard stored == hasher.digest else {
      throw .io("\(path): run file is corrupt (checksum mismatch); delete the run's .winnow directory or pass --fresh")
    }
    if let expectedChecksum {
      hasher.update(footer)
      guard hasher.digest == expectedChecksum else {
        throw .io(
          "\(path): run file is not the one its task wrote (a stale or swapped file: its checksum differs from the record); run the same command again to redo that pass (or pass --fresh)"
        )
      }
    }
  }
}

/// Merges sorted band tuple runs into one sorted stream (a binary heap over the runs' current
/// entries): memory grows with the number of runs, not with their size.
package final class BandTupleMerger {
  let readers: [BandTupleRunReader]
  /// Indices of the readers that have an entry, as a heap by that entry.
  var heap: [Int] = []
  let width: Int

  /// Recorded runs, each verified against its record.
  package init(files: [WrittenFile], width: Int) throws(WinnowError) {
    var readers: [BandTupleRunReader] = []
    for f in files { readers.append(try BandTupleRunReader(file: f, width: width)) }
    self.readers = readers
    self.width = width
    for (k, r) in readers.enumerated() {
      if try r.next() { push(k) }
    }
  }

  /// Copies the next entry in order into `out` (`width` words); false after the last one.
  package func next(into out: inout [UInt64]) throws(WinnowError) -> Bool {
    guard let top = heap.first else { return false }
    let r = readers[top]
    out = r.entry
    if try r.next() {
      siftDown(0)
    } else {
      let last = heap.removeLast()
      if !heap.isEmpty {
        heap[0] = last
        siftDown(0)
      }
    }
    return true
  }

  func less(_ i: Int, _ j: Int) -> Bool {
    readers[heap[i]].entry.withUnsafeBufferPointer { x in
      readers[heap[j]].entry.withUnsafeBufferPointer { y in
        BandTupleRunFile.precedes(x.baseAddress!, y.baseAddress!, width)
      }
    }
  }

  func push(_ k: Int) {
    heap.append(k)
    var i = heap.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard less(i, parent) else { break }
      heap.swapAt(i, parent)
      i = parent
    }
  }

  func siftDown(_ start: Int) {
    var i = start
    while true {
      let l = 2 * i + 1
      let r = l + 1
      var m = i
      if l < heap.count && less(l, m) { m = l }
      if r < heap.count && less(r, m) { m = r }
      if m == i { return }
      heap.swapAt(i, m)
      i = m
    }
  }
}
