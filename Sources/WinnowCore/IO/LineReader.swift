import Glibc

/// Splits a byte stream into lines, reusing one buffer that grows to fit the longest line.
/// A line is handed out as a pointer into that buffer and stays valid until the next call.
///
/// With `maxLineBytes`, the buffer stops growing there: `nextRecord` reports a longer line as
/// `.oversized`, and `drainOversizedLine` streams its bytes in buffer-sized pieces, so one
/// enormous line (or a file without newlines) cannot take the process's memory.
package final class LineReader {
  let source: ByteSource
  var buffer: UnsafeMutableRawPointer
  var capacity: Int
  var start = 0  // first byte not yet returned
  var filled = 0  // bytes of valid data in the buffer
  var scanned = 0  // bytes from `start` known to hold no newline
  var ended = false
  let maxLineBytes: Int
  /// An oversized line was reported and not drained yet.
  var oversizedPending = false
  /// 1-based number of the line last returned.
  package private(set) var lineNumber = 0
  /// Decompressed bytes handed out so far (lines plus newlines).
  package private(set) var bytesRead = 0

  package enum Record {
    case line(UnsafeBufferPointer<UInt8>)
    /// A line longer than `maxLineBytes`; its bytes come from `drainOversizedLine`.
    case oversized
  }

  /// `firstLine`: the number of the stream's first line (a part of a file starts further on).
  package init(source: ByteSource, initialCapacity: Int = 1 << 22, maxLineBytes: Int = Int.max, firstLine: Int = 1) {
    self.source = source
    lineNumber = firstLine - 1
    self.maxLineBytes = max(1, maxLineBytes)
    capacity = maxLineBytes == Int.max ? initialCapacity : max(1 << 16, min(initialCapacity, maxLineBytes.nextPowerOfTwoClamped))
    buffer = .allocate(byteCount: capacity, alignment: 64)
  }

  deinit { buffer.deallocate() }

  /// The next line without its `\n` (a trailing `\r` is kept: JSON treats it as
  /// whitespace), or nil at the end of the stream. Lines are never cut: use `nextRecord` for
  /// a reader with a line limit.
  package func nextLine() throws(WinnowError) -> UnsafeBufferPointer<UInt8>? {
    while true {
      guard let r = try nextRecord() else { return nil }
      switch r {
      case .line(let line): return line
      case .oversized: try drainOversizedLine { _ in }
      }
    }
  }

  /// The next line, or `.oversized` for a line longer than `maxLineBytes`, or nil at the end.
  package func nextRecord() throws(WinnowError) -> Record? {
    if oversizedPending { try drainOversizedLine { _ in } }
    while true {
      let base = buffer.assumingMemoryBound(to: UInt8.self)
      let from = start + scanned
      if filled > from, let hit = memchr(base + from, 0x0A, filled - from) {
        let nl = UnsafeMutableRawPointer(hit) - buffer
        if nl - start > maxLineBytes { return beginOversized() }
        let line = UnsafeBufferPointer(start: base + start, count: nl - start)
        bytesRead += nl - start + 1
        start = nl + 1
        scanned = 0
        lineNumber += 1
        return .line(line)
      }
      scanned = filled - start
      if scanned > maxLineBytes { return beginOversized() }
      if ended {
        guard filled > start else { return nil }
        let line = UnsafeBufferPointer(start: base + start, count: filled - start)
        bytesRead += filled - start
        start = filled
        scanned = 0
        lineNumber += 1
        return .line(line)
      }
      try refill()
    }
  }

  private func beginOversized() -> Record {
    oversizedPending = true
    lineNumber += 1
    return .oversized
  }

  /// Hands the bytes of the oversized line just reported to `body`, in pieces, up to (not
  /// including) its newline; the reader then stands at the next line.
  package func drainOversizedLine(_ body: (UnsafeBufferPointer<UInt8>) throws(WinnowError) -> Void) throws(WinnowError) {
    guard oversizedPending else { return }
    oversizedPending = false
    let base = buffer.assumingMemoryBound(to: UInt8.self)
    while true {
      if filled > start, let hit = memchr(base + start, 0x0A, filled - start) {
        let nl = UnsafeMutableRawPointer(hit) - buffer
        try body(UnsafeBufferPointer(start: base + start, count: nl - start))
        bytesRead += nl - start + 1
        start = nl + 1
        scanned = 0
        return
      }
      if filled > start { try body(UnsafeBufferPointer(start: base + start, count: filled - start)) }
      bytesRead += filled - start
      start = 0
      filled = 0
      scanned = 0
      if ended { return }
      let n = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: capacity))
      if n == 0 { ended = true }
      filled = n
    }
  }

  private func refill() throws(WinnowError) {
    if start > 0 {
      // Keep the partial line, drop what was handed out.
      let keep = filled - start
      if keep > 0 { memmove(buffer, buffer + start, keep) }
      filled = keep
      start = 0
    }
    if capacity - filled < capacity / 4 {
      // A line longer than the buffer: grow it rather than fail.
      let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 64)
      bigger.copyMemory(from: buffer, byteCount: filled)
      buffer.deallocate()
      buffer = bigger
      capacity *= 2
    }
    let n = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer + filled, count: capacity - filled))
    if n == 0 { ended = true }
    filled += n
  }

  package func close() { source.close() }
}

extension Int {
  /// The smallest power of two at least this large (saturating at 2^62).
  var nextPowerOfTwoClamped: Int {
    var p = 1
    while p < self && p < 1 << 62 { p <<= 1 }
    return p
  }
}

/// The longest line a side file (word list, eval set) may have.
package let maxSideFileLineBytes = PipelineOptions.defaultMaxDocumentBytes

/// Calls `body` with every line of a small side file (a word list, an eval set; compressed
/// files are read through) and its 1-based number, a UTF-8 byte order mark dropped from the
/// first line. A file that cannot be opened is a usage error (a wrong parameter); one that
/// cannot be read to its end (truncated or corrupt compressed data) an I/O error. Both say
/// `cannotRead` followed by the reason.
package func forEachLine(
  ofFile path: String, cannotRead: String, _ body: (UnsafeBufferPointer<UInt8>, Int) throws(WinnowError) -> Void
) throws(WinnowError) {
  // A device would never end (`/dev/zero`); a FIFO is a stream someone chose to give.
  var st = stat()
  if stat(path, &st) == 0 {
    switch st.st_mode & S_IFMT {
    case S_IFDIR: throw .usage(cannotRead + "\(path): is a directory")
    case S_IFCHR, S_IFBLK, S_IFSOCK: throw .usage(cannotRead + "\(path): not a regular file (a device or socket)")
    default: break
    }
  }
  let source: ByteSource
  do {
    source = try openByteSource(InputFile(path: path))
  } catch {
    throw .usage(cannotRead + error.message)
  }
  let reader = LineReader(source: source, initialCapacity: 1 << 16, maxLineBytes: maxSideFileLineBytes)
  defer { reader.close() }
  while true {
    let record: LineReader.Record?
    do {
      record = try reader.nextRecord()
    } catch {
      // A file that opened but cannot be read to its end (truncated or corrupt compressed
      // data, a read error) is an I/O failure, as for documents: exit 1, not a usage error.
      throw .io(cannotRead + error.message)
    }
    let next: UnsafeBufferPointer<UInt8>?
    switch record {
    case .line(let l)?: next = l
    case .oversized?:
      throw .usage(cannotRead + "\(path):\(reader.lineNumber): a line longer than \(maxSideFileLineBytes) bytes; this is not a list or an eval set")
    case nil: next = nil
    }
    guard var line = next else { return }
    if reader.lineNumber == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
      line = UnsafeBufferPointer(rebasing: line[3...])
    }
    try body(line, reader.lineNumber)
  }
}
