import Glibc

/// Whole lines of an uncompressed JSON Lines file, as the planner cut it: the bytes
/// `start..<end` (a line starts at `start`; one ends at `end`, or the file does), the number
/// of the part's first line in the file (for messages and document origins), and the file's
/// size when it was cut. The reader checks all three against the file before it reads: a file
/// changed since is an error, never other lines.
public struct LinePart: Sendable, Hashable {
  /// The part's first byte in the file: 0, or the byte after a line end.
  public var start: Int
  /// The byte after the part's last: just after a line end, or the file's size.
  public var end: Int
  /// The 1-based number of the line that starts at `start`.
  public var firstLine: Int
  /// The file's size when it was cut.
  public var fileBytes: Int

  /// A part as `cut` makes it (or as a plan file records it; see `isWellFormed`).
  public init(start: Int, end: Int, firstLine: Int, fileBytes: Int) {
    self.start = start
    self.end = end
    self.firstLine = firstLine
    self.fileBytes = fileBytes
  }

  /// Whether the numbers can describe a part of a file at all (a damaged plan may hold others).
  public var isWellFormed: Bool {
    start >= 0 && start < end && end <= fileBytes && firstLine >= 1 && firstLine - 1 <= start
  }
}

extension LinePart {
  /// The parts of about `bytesPerPart` bytes each that an uncompressed JSON Lines file at
  /// `path` is cut into, at line ends; one part (the whole file) when it is not larger, or
  /// when no line ends inside it past the first cut. nil when the file is not a regular file,
  /// is empty, or is stored compressed or as Parquet (such a file cannot be entered in the
  /// middle: it stays whole).
  ///
  /// Reads the file once: the line numbers of the parts' first lines are counted on the way.
  /// A part never starts inside a line; a line longer than a part makes its part longer.
  public static func cut(path: String, bytesPerPart: Int) throws(WinnowError) -> [LinePart]? {
    // Looked at before it is opened: opening a FIFO would wait for a writer.
    var st = stat()
    guard stat(path, &st) == 0 else { throw .io("\(path): cannot look at it: \(errnoMessage())") }
    guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    let source = try FileByteSource(path: path)
    defer { source.close() }
    guard let size = source.openedStat?.bytes, size > 0 else { return nil }
    // Compressed or Parquet: stays whole (the magic bytes, as the reader sniffs them).
    let head = try source.peek(4)
    if Compression.sniff(head) != .none || head == Array("PAR1".utf8) { return nil }
    let per = max(1, bytesPerPart)
    let blockSize = 1 << 20
    let block = UnsafeMutablePointer<UInt8>.allocate(capacity: blockSize)
    defer { block.deallocate() }
    var cuts: [(at: Int, line: Int)] = [(0, 1)]
    var newlines = 0  // line ends before `pos`
    var pos = 0
    // The next cut goes after the first line end at or past this byte.
    var target = per - 1
    while pos < size {
      // Up to the size the file had when opened: parts describe that file.
      let got = try source.read(into: UnsafeMutableRawBufferPointer(start: block, count: min(blockSize, size - pos)))
      guard got > 0 else { throw .io("\(path): the file ended before its size (\(size) bytes)") }
      var i = 0  // bytes of the block counted so far
      while target < size, target < pos + got {
        let from = max(target - pos, i)
        guard let hit = memchr(block + from, 0x0A, got - from) else { break }
        let nl = UnsafeMutableRawPointer(hit).assumingMemoryBound(to: UInt8.self) - block
        newlines += Self.countNewlines(block + i, nl - i) + 1
        i = nl + 1
        let at = pos + i
        if at >= size { break }
        cuts.append((at, newlines + 1))
        // Parts are about `per` bytes from where this one starts, however long its lines.
        target = at + per - 1
      }
      newlines += Self.countNewlines(block + i, got - i)
      pos += got
    }
    var parts: [LinePart] = []
    for (k, c) in cuts.enumerated() {
      let end = k + 1 < cuts.count ? cuts[k + 1].at : size
      parts.append(LinePart(start: c.at, end: end, firstLine: c.line, fileBytes: size))
    }
    return parts
  }

  /// How many of the `n` bytes at `p` are line ends: eight bytes at a time, each byte equal to
  /// `\n` flagged exactly (no borrow between bytes) and the flags counted.
  static func countNewlines(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    let raw = UnsafeRawPointer(p)
    let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    var count = 0
    var k = 0
    while k &+ 8 <= n {
      let t = raw.loadUnaligned(fromByteOffset: k, as: UInt64.self) ^ 0x0A0A_0A0A_0A0A_0A0A
      // A byte's top bit ends up set exactly when the byte of t is zero.
      let zero = ~(((t & low7) &+ low7) | t | low7)
      count &+= zero.nonzeroBitCount
      k &+= 8
    }
    while k < n {
      count &+= p[k] == 0x0A ? 1 : 0
      k &+= 1
    }
    return count
  }
}
