import Glibc

/// Splits a byte stream into lines, reusing one buffer that grows to fit the longest line.
/// A line is handed out as a pointer into that buffer and stays valid until the next call.
public final class LineReader {
  let source: ByteSource
  var buffer: UnsafeMutableRawPointer
  var capacity: Int
  var start = 0  // first byte not yet returned
  var filled = 0  // bytes of valid data in the buffer
  var scanned = 0  // bytes from `start` known to hold no newline
  var ended = false
  /// 1-based number of the line last returned.
  public private(set) var lineNumber = 0
  /// Decompressed bytes handed out so far (lines plus newlines).
  public private(set) var bytesRead = 0

  public init(source: ByteSource, initialCapacity: Int = 1 << 22) {
    self.source = source
    capacity = initialCapacity
    buffer = .allocate(byteCount: capacity, alignment: 64)
  }

  deinit { buffer.deallocate() }

  /// The next line without its `\n` (a trailing `\r` is kept: JSON treats it as
  /// whitespace), or nil at the end of the stream.
  public func nextLine() throws(WinnowError) -> UnsafeBufferPointer<UInt8>? {
    while true {
      let base = buffer.assumingMemoryBound(to: UInt8.self)
      let from = start + scanned
      if filled > from, let hit = memchr(base + from, 0x0A, filled - from) {
        let nl = UnsafeMutableRawPointer(hit) - buffer
        let line = UnsafeBufferPointer(start: base + start, count: nl - start)
        bytesRead += nl - start + 1
        start = nl + 1
        scanned = 0
        lineNumber += 1
        return line
      }
      scanned = filled - start
      if ended {
        guard filled > start else { return nil }
        let line = UnsafeBufferPointer(start: base + start, count: filled - start)
        bytesRead += filled - start
        start = filled
        scanned = 0
        lineNumber += 1
        return line
      }
      try refill()
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

  public func close() { source.close() }
}

/// Calls `body` with every line of a small side file (a word list, an eval set; compressed
/// files are read through) and its 1-based number, a UTF-8 byte order mark dropped from the
/// first line. A file that cannot be opened or read is a usage error: `cannotRead` followed by
/// the reason.
public func forEachLine(
  ofFile path: String, cannotRead: String, _ body: (UnsafeBufferPointer<UInt8>, Int) throws(WinnowError) -> Void
) throws(WinnowError) {
  let source: ByteSource
  do {
    source = try openByteSource(InputFile(path: path))
  } catch {
    throw .usage(cannotRead + error.message)
  }
  let reader = LineReader(source: source, initialCapacity: 1 << 16)
  defer { reader.close() }
  while true {
    let next: UnsafeBufferPointer<UInt8>?
    do {
      next = try reader.nextLine()
    } catch {
      throw .usage(cannotRead + error.message)
    }
    guard var line = next else { return }
    if reader.lineNumber == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
      line = UnsafeBufferPointer(rebasing: line[3...])
    }
    try body(line, reader.lineNumber)
  }
}
