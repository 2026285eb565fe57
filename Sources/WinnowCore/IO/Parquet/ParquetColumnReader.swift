import CZlib
import Glibc

/// An open Parquet file that column readers read pages from with `pread`, checksumming every
/// byte read when asked (what a run records of its inputs).
final class ParquetFileHandle {
  let fd: Int32
  let path: String
  let size: Int
  let modified: Int64
  let hasher: StreamingXXH3?
  private(set) var bytesRead = 0

  init(path: String, stampContent: Bool) throws(WinnowError) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open: \(errnoMessage())") }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
      Glibc.close(fd)
      throw .io("\(path): not a regular file (Parquet is read with random access: name a file, not a pipe)")
    }
    self.fd = fd
    self.path = path
    size = Int(st.st_size)
    modified = FileStamp.nanoseconds(st.st_mtim)
    hasher = stampContent ? StreamingXXH3() : nil
  }

  deinit { Glibc.close(fd) }

  /// Reads exactly `count` bytes at `offset` (checked to lie in the file).
  func read(_ buffer: UnsafeMutablePointer<UInt8>, count: Int, at offset: Int) throws(WinnowError) {
    guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
      throw .io("\(path): a read of \(count) bytes at \(offset) falls outside the file's \(size) bytes (truncated or damaged)")
    }
    var done = 0
    while done < count {
      let r = pread(fd, buffer + done, count - done, off_t(offset + done))
      if r < 0 {
        if errno == EINTR { continue }
        throw .io("\(path): read failed: \(errnoMessage())")
      }
      guard r > 0 else { throw .io("\(path): the file ended early (was it truncated while being read?)") }
      done += r
    }
    bytesRead += count
    hasher?.update(UnsafeRawBufferPointer(start: buffer, count: count))
  }
}

/// A growable byte buffer for pages (reused from page to page).
final class PageBuffer {
  private(set) var base: UnsafeMutablePointer<UInt8>
  private(set) var capacity: Int

  init(capacity: Int = 1 << 16) {
    self.capacity = capacity
    base = .allocate(capacity: capacity)
  }

  deinit { base.deallocate() }

  func reserve(_ n: Int) {
    guard n > capacity else { return }
    base.deallocate()
    capacity = max(n, capacity * 2)
    base = .allocate(capacity: capacity)
  }

  /// Gives memory back after an outsized page.
  func shrink() {
    guard capacity > 1 << 26 else { return }
    base.deallocate()
    capacity = 1 << 16
    base = .allocate(capacity: capacity)
  }
}

/// The values of one page (or of a dictionary), decoded as far as rendering needs.
struct ParquetValues {
  enum Form {
    /// Byte strings at `starts`/`lengths` from `base`.
    case byteArrays
    /// `width` bytes each from `base + fixedStart` (PLAIN numbers, INT96, FIXED_LEN_BYTE_ARRAY).
    case fixed
    /// Integers (booleans, DELTA_BINARY_PACKED).
    case integers
  }

  var form = Form.integers
  var count = 0
  var base: UnsafePointer<UInt8>?
  var starts: [Int] = []
  var lengths: [Int] = []
  var fixedStart = 0
  var width = 0
  var integers: [Int64] = []

  mutating func reset(_ form: Form) {
    self.form = form
    count = 0
    base = nil
    starts.removeAll(keepingCapacity: true)
    lengths.removeAll(keepingCapacity: true)
    integers.removeAll(keepingCapacity: true)
  }
}

/// Reads one column chunk of one row group page by page: one value (or null) per row for a
/// flat column (`appendNext`), or the (repetition, definition, value) triplets of one row for a
/// column inside lists and structs (`readRecord`).
final class ParquetColumnReader {
  let file: ParquetFileHandle
  let leaf: ParquetSchema.Leaf
  let rendering: ParquetSchema.Rendering
  let chunk: ParquetFileMetadata.ColumnChunk
  let rowGroup: Int
  let physical: Int32
  private var cursor: Int
  private let end: Int
  private let stored = PageBuffer()
  private let page = PageBuffer()
  /// The dictionary's decompressed bytes (its values point into them).
  private let dictionaryBytes = PageBuffer(capacity: 16)
  private var dictionary: ParquetValues?
  /// A DELTA_BYTE_ARRAY page's rebuilt values, BYTE_STREAM_SPLIT's regrouped bytes.
  private let scratch = PageBuffer(capacity: 16)
  private var levels: [UInt32] = []
  private var repetitionLevels: [UInt32] = []
  private var levelCount = 0
  private var levelPosition = 0
  private var values = ParquetValues()
  private var indices: [UInt32] = []
  private var usesDictionary = false
  private var valuePosition = 0
  private var deltas: [Int64] = []
  private var deltaLengths: [Int64] = []
  /// Set when a string value handed out was not valid UTF-8 (the row reader clears it per row).
  var invalidUTF8 = false
  /// Values (nulls included) read from the chunk's pages so far.
  private(set) var valuesInPages: Int64 = 0

  init(
    file: ParquetFileHandle, leaf: ParquetSchema.Leaf, rendering: ParquetSchema.Rendering,
    chunk: ParquetFileMetadata.ColumnChunk, rowGroup: Int
  ) throws(WinnowError) {
    self.file = file
    self.leaf = leaf
    self.rendering = rendering
    self.chunk = chunk
    self.rowGroup = rowGroup
    physical = leaf.element.type ?? -1
    let context = "row group \(rowGroup), column \(leaf.path.joined(separator: "."))"
    guard chunk.filePath == nil else {
      throw .io("\(file.path): \(context): its pages are in another file (\(chunk.filePath!)), which is not supported")
    }
    guard chunk.type == physical else {
      throw .io("\(file.path): \(context): the chunk's type \(chunk.type) differs from the schema's \(physical)")
    }
    // A chunk of no values (a row group of no rows) has no pages to read; writers put any
    // offsets there.
    if chunk.numValues == 0 {
      cursor = 0
      end = 0
      return
    }
    // Some writers store 0 for "no dictionary page"; a dictionary comes before the data.
    var start = Int(chunk.dataPageOffset)
    if let d = chunk.dictionaryPageOffset, d > 0, d < chunk.dataPageOffset { start = Int(d) }
    let (e, o) = start.addingReportingOverflow(Int(chunk.totalCompressedSize))
    guard !o, start >= 4, e <= file.size - 8 else {
      throw .io("\(file.path): \(context): its pages (\(chunk.totalCompressedSize) bytes at \(start)) lie outside the file")
    }
    cursor = start
    end = e
  }

  var context: String { "row group \(rowGroup), column \(leaf.path.joined(separator: "."))" }

  func fail(_ message: String) -> WinnowError { .io("\(file.path): \(context): \(message)") }

  /// Whether every page of the chunk has been read and every value handed out.
  var isExhausted: Bool { levelPosition == levelCount && cursor == end }

  /// Reads the next page header at `cursor`; returns it with its length.
  private func readHeader() throws(WinnowError) -> ([Int16: ThriftValue], Int) {
    var window = min(4096, end - cursor)
    while true {
      stored.reserve(window)
      try file.read(stored.base, count: window, at: cursor)
      var reader = ThriftCompactReader(UnsafeBufferPointer(start: stored.base, count: window))
      do throws(ThriftDecodeError) {
        let v = try reader.readStruct()
        guard let m = v.members else { throw ThriftDecodeError(offset: 0, message: "not a struct") }
        return (m, reader.offset)
      } catch {
        // A header longer than the window (large statistics): read more, up to the chunk's end.
        if window < end - cursor {
          window = min(window * 4, end - cursor)
          continue
        }
        throw fail("damaged page header at byte \(cursor): \(error.message)")
      }
    }
  }

  /// Loads pages until one with values (a data page) is ready; false at the chunk's end.
  private func nextDataPage() throws(WinnowError) -> Bool {
    while cursor < end {
      let (header, headerLength) = try readHeader()
      guard let type = header[1]?.int, let usize = header[2]?.int, let csize = header[3]?.int,
        let uncompressed = Int(exactly: usize), let compressed = Int(exactly: csize), uncompressed >= 0, compressed >= 0
      else { throw fail("a page header at byte \(cursor) without its type and sizes") }
      let bodyAt = cursor + headerLength
      guard compressed <= end - bodyAt else {
        throw fail("a page at byte \(cursor) of \(compressed) bytes runs past its column chunk")
      }
      // A page never decompresses to more than the chunk says all its pages hold.
      guard uncompressed <= max(Int(chunk.totalUncompressedSize), compressed) else {
        throw fail("a page at byte \(cursor) says it holds \(uncompressed) bytes, more than its whole column chunk")
      }
      stored.reserve(compressed)
      try file.read(stored.base, count: compressed, at: bodyAt)
      if let crc = header[4]?.int {
        let got = crc32(0, stored.base, UInt32(compressed))
        guard UInt32(truncatingIfNeeded: got) == UInt32(truncatingIfNeeded: crc) else {
          throw fail("the page at byte \(cursor) fails its CRC check (corrupt page)")
        }
      }
      let pageAt = cursor
      cursor = bodyAt + compressed
      do throws(ParquetPageError) {
        switch type {
        case 2:
          guard let d = header[7]?.members, let n = d[1]?.int, n >= 0, n <= Int64(Int32.max) else {
            throw ParquetPageError("a dictionary page without its header")
          }
          let encoding = d[2]?.int ?? 0
          guard encoding == 0 || encoding == 2 else { throw ParquetPageError("a dictionary page with encoding \(encoding)") }
          dictionaryBytes.reserve(uncompressed)
          try decompressPage(codec: chunk.codec, stored.base, count: compressed, into: dictionaryBytes.base, size: uncompressed)
          var bytes = PageBytes(dictionaryBytes.base, count: uncompressed)
          var dict = ParquetValues()
          try decodePlain(&bytes, count: Int(n), into: &dict)
          dictionary = dict
        case 0:
          guard let d = header[5]?.members, let n = d[1]?.int, n >= 0, n <= Int64(Int32.max), let encoding = d[2]?.int else {
            throw ParquetPageError("a data page without its header")
          }
          page.shrink()
          page.reserve(uncompressed)
          try decompressPage(codec: chunk.codec, stored.base, count: compressed, into: page.base, size: uncompressed)
          var bytes = PageBytes(page.base, count: uncompressed)
          try readRepetitionLevels(&bytes, count: Int(n), lengthPrefixed: true)
          try readLevels(&bytes, count: Int(n), encoding: d[3]?.int ?? 3, lengthPrefixed: true)
          try decodeValues(&bytes, encoding: encoding)
        case 3:
          guard let d = header[8]?.members, let n = d[1]?.int, n >= 0, n <= Int64(Int32.max), let encoding = d[4]?.int,
            let defLength = d[5]?.int, let repLength = d[6]?.int, defLength >= 0, repLength >= 0,
            defLength <= Int64(compressed), repLength <= Int64(compressed) - defLength
          else { throw ParquetPageError("a data page (v2) without its header") }
          guard leaf.maxRepetition > 0 || repLength == 0 else { throw ParquetPageError("repetition levels in a flat column") }
          var isCompressed = true
          if case .bool(let b)? = d[7] { isCompressed = b }
          let repBytes = Int(repLength)
          let levelBytes = Int(defLength) + repBytes
          guard levelBytes <= uncompressed else { throw ParquetPageError("levels longer than the page") }
          let valueSize = uncompressed - levelBytes
          page.shrink()
          page.reserve(uncompressed)
          page.base.update(from: stored.base, count: levelBytes)
          if isCompressed && chunk.codec != 0 {
            try decompressPage(
              codec: chunk.codec, stored.base + levelBytes, count: compressed - levelBytes, into: page.base + levelBytes,
              size: valueSize)
          } else {
            guard compressed == uncompressed else { throw ParquetPageError("an uncompressed page whose sizes differ") }
            (page.base + levelBytes).update(from: stored.base + levelBytes, count: valueSize)
          }
          var repOnly = PageBytes(page.base, count: repBytes)
          try readRepetitionLevels(&repOnly, count: Int(n), lengthPrefixed: false)
          var levelsOnly = PageBytes(page.base + repBytes, count: levelBytes - repBytes)
          try readLevels(&levelsOnly, count: Int(n), encoding: 3, lengthPrefixed: false)
          var bytes = PageBytes(page.base, count: uncompressed)
          bytes.offset = levelBytes
          try decodeValues(&bytes, encoding: encoding)
        default:
          // Index pages and pages of kinds added later carry no values: skip them.
          continue
        }
      } catch {
        throw fail("corrupt page at byte \(pageAt): \(error.message)")
      }
      if type == 0 || type == 3 {
        valuesInPages += Int64(levelCount)
        if levelCount > 0 { return true }
      }
    }
    return false
  }

  /// Repetition levels of a page (none for a column outside lists); the first level of a page
  /// of a v2 file and of every row is 0.
  private func readRepetitionLevels(_ bytes: inout PageBytes, count: Int, lengthPrefixed: Bool) throws(ParquetPageError) {
    try readHybridLevels(&bytes, count: count, maxLevel: leaf.maxRepetition, lengthPrefixed: lengthPrefixed, into: &repetitionLevels)
  }

  /// Definition levels of a page (none when the column is required: every value is there).
  private func readLevels(
    _ bytes: inout PageBytes, count: Int, encoding: Int64, lengthPrefixed: Bool
  ) throws(ParquetPageError) {
    levelCount = count
    levelPosition = 0
    let maxDef = leaf.maxDefinition
    if encoding == 4 && maxDef > 0 {
      let width = Int.bitWidth - UInt(maxDef).leadingZeroBitCount
      try decodeBitPackedLevels(&bytes, bitWidth: width, count: count, limit: UInt32(maxDef + 1), into: &levels)
      return
    }
    guard encoding == 3 || maxDef == 0 else { throw ParquetPageError("definition levels in encoding \(encoding)") }
    try readHybridLevels(&bytes, count: count, maxLevel: maxDef, lengthPrefixed: lengthPrefixed, into: &levels)
  }

  /// Levels up to `maxLevel` in the RLE / bit-packed hybrid, after their 4-byte length in a v1
  /// page; none when `maxLevel` is 0 (every level is 0).
  private func readHybridLevels(
    _ bytes: inout PageBytes, count: Int, maxLevel: Int, lengthPrefixed: Bool, into out: inout [UInt32]
  ) throws(ParquetPageError) {
    guard maxLevel > 0 else {
      out.removeAll(keepingCapacity: true)
      return
    }
    let width = Int.bitWidth - UInt(maxLevel).leadingZeroBitCount
    var levelBytes = bytes
    if lengthPrefixed {
      let n = try bytes.uint32LE()
      let at = try bytes.take(n)
      levelBytes = PageBytes(bytes.base + at, count: n)
    }
    try decodeHybrid(&levelBytes, bitWidth: width, count: count, limit: UInt32(maxLevel + 1), into: &out)
  }

  /// How many of the page's values are present (not null).
  private var presentCount: Int {
    let maxDef = UInt32(leaf.maxDefinition)
    guard maxDef > 0 else { return levelCount }
    var n = 0
    for l in levels where l == maxDef { n += 1 }
    return n
  }

  private func decodeValues(_ bytes: inout PageBytes, encoding: Int64) throws(ParquetPageError) {
    let n = presentCount
    valuePosition = 0
    usesDictionary = false
    switch encoding {
    case 0:
      try decodePlain(&bytes, count: n, into: &values)
    case 2, 8:
      guard let dictionary else { throw ParquetPageError("a dictionary-encoded page without a dictionary page") }
      usesDictionary = true
      let width = n > 0 ? Int(try bytes.byte()) : 0
      try decodeHybrid(&bytes, bitWidth: width, count: n, limit: UInt32(clamping: dictionary.count), into: &indices)
    case 3:
      guard physical == 0 else { throw ParquetPageError("RLE values in a non-boolean column") }
      let length = try bytes.uint32LE()
      let at = try bytes.take(length)
      var runs = PageBytes(bytes.base + at, count: length)
      try decodeHybrid(&runs, bitWidth: 1, count: n, limit: 2, into: &indices)
      values.reset(.integers)
      for v in indices { values.integers.append(Int64(v)) }
      values.count = n
    case 5:
      guard physical == 1 || physical == 2 else { throw ParquetPageError("DELTA_BINARY_PACKED values in a non-integer column") }
      values.reset(.integers)
      try decodeDeltaBinaryPacked(&bytes, width: physical == 1 ? 32 : 64, maxCount: n, into: &values.integers)
      guard values.integers.count == n else { throw ParquetPageError("\(values.integers.count) values for \(n) present") }
      values.count = n
    case 6:
      guard physical == 6 else { throw ParquetPageError("DELTA_LENGTH_BYTE_ARRAY values in a non-binary column") }
      try decodeDeltaLength(&bytes, count: n, into: &values)
    case 7:
      guard physical == 6 || physical == 7 else { throw ParquetPageError("DELTA_BYTE_ARRAY values in a non-binary column") }
      try decodeDeltaByteArray(&bytes, count: n)
    case 9:
      try decodeByteStreamSplit(&bytes, count: n)
    default:
      throw ParquetPageError("values in encoding \(encoding), which this reader does not know")
    }
  }

  private var plainWidth: Int {
    switch physical {
    case 1, 4: return 4
    case 2, 5: return 8
    case 3: return 12
    case 7: return Int(leaf.element.typeLength ?? 0)
    default: return 0
    }
  }

  private func decodePlain(_ bytes: inout PageBytes, count n: Int, into out: inout ParquetValues) throws(ParquetPageError) {
    switch physical {
    case 0:
      out.reset(.integers)
      let at = try bytes.take((n + 7) / 8)
      out.integers.reserveCapacity(n)
      for i in 0..<n { out.integers.append(Int64(bytes.base[at + i >> 3] >> UInt8(i & 7) & 1)) }
    case 6:
      out.reset(.byteArrays)
      out.base = bytes.base
      out.starts.reserveCapacity(n)
      out.lengths.reserveCapacity(n)
      for _ in 0..<n {
        let length = try bytes.uint32LE()
        out.starts.append(try bytes.take(length))
        out.lengths.append(length)
      }
    default:
      out.reset(.fixed)
      let w = plainWidth
      let (total, o) = n.multipliedReportingOverflow(by: w)
      guard !o else { throw ParquetPageError("too many values") }
      out.base = bytes.base
      out.fixedStart = try bytes.take(total)
      out.width = w
    }
    out.count = n
  }

  private func decodeDeltaLength(_ bytes: inout PageBytes, count n: Int, into out: inout ParquetValues) throws(ParquetPageError) {
    try decodeDeltaBinaryPacked(&bytes, width: 32, maxCount: n, into: &deltaLengths)
    guard deltaLengths.count == n else { throw ParquetPageError("\(deltaLengths.count) lengths for \(n) values") }
    out.reset(.byteArrays)
    out.base = bytes.base
    for length in deltaLengths {
      guard length >= 0 else { throw ParquetPageError("a negative length") }
      out.starts.append(try bytes.take(Int(length)))
      out.lengths.append(Int(length))
    }
    out.count = n
  }

  /// DELTA_BYTE_ARRAY: each value is a prefix of the one before plus its own suffix; the values
  /// are rebuilt into `scratch`.
  private func decodeDeltaByteArray(_ bytes: inout PageBytes, count n: Int) throws(ParquetPageError) {
    try decodeDeltaBinaryPacked(&bytes, width: 32, maxCount: n, into: &deltas)
    guard deltas.count == n else { throw ParquetPageError("\(deltas.count) prefix lengths for \(n) values") }
    var suffixes = ParquetValues()
    try decodeDeltaLength(&bytes, count: n, into: &suffixes)
    var total = 0
    var previous = 0
    for i in 0..<n {
      let prefix = Int(deltas[i])
      guard prefix >= 0, prefix <= previous else { throw ParquetPageError("a prefix longer than the value before it") }
      let (t, o) = total.addingReportingOverflow(prefix + suffixes.lengths[i])
      guard !o, t <= Int(Int32.max) * 4 else { throw ParquetPageError("values too long") }
      total = t
      previous = prefix + suffixes.lengths[i]
    }
    scratch.reserve(max(total, 1))
    values.reset(.byteArrays)
    values.base = UnsafePointer(scratch.base)
    var at = 0
    var previousStart = 0
    for i in 0..<n {
      let prefix = Int(deltas[i])
      (scratch.base + at).update(from: scratch.base + previousStart, count: prefix)
      (scratch.base + at + prefix).update(from: bytes.base + suffixes.starts[i], count: suffixes.lengths[i])
      values.starts.append(at)
      values.lengths.append(prefix + suffixes.lengths[i])
      previousStart = at
      at += prefix + suffixes.lengths[i]
    }
    values.count = n
    if physical == 7 {
      for l in values.lengths where l != plainWidth { throw ParquetPageError("a fixed-length value of \(l) bytes") }
    }
  }

  /// BYTE_STREAM_SPLIT: byte k of every value in stream k; regrouped into `scratch`.
  private func decodeByteStreamSplit(_ bytes: inout PageBytes, count n: Int) throws(ParquetPageError) {
    let w = plainWidth
    guard w > 0 else { throw ParquetPageError("BYTE_STREAM_SPLIT values in a column without fixed width") }
    let (total, o) = n.multipliedReportingOverflow(by: w)
    guard !o else { throw ParquetPageError("too many values") }
    let at = try bytes.take(total)
    scratch.reserve(max(total, 1))
    for k in 0..<w {
      for i in 0..<n { scratch.base[i * w + k] = bytes.base[at + k * n + i] }
    }
    values.reset(.fixed)
    values.base = UnsafePointer(scratch.base)
    values.fixedStart = 0
    values.width = w
    values.count = n
  }

  /// Appends the next row's value (or `null`) as JSON.
  func appendNext(to out: ByteBuffer) throws(WinnowError) {
    if levelPosition == levelCount {
      guard try nextDataPage() else { throw fail("has fewer values than its row group has rows") }
    }
    let present = leaf.maxDefinition == 0 || levels[levelPosition] == UInt32(leaf.maxDefinition)
    levelPosition += 1
    guard present else {
      out.append(ParquetRendering.null)
      return
    }
    try appendNextValue(to: out)
  }

  /// Renders the page's next present value (from the dictionary or the page) into `out`.
  private func appendNextValue(to out: ByteBuffer) throws(WinnowError) {
    let i = valuePosition
    valuePosition += 1
    let valid: Bool
    if usesDictionary {
      guard i < indices.count else { throw fail("a page with fewer values than its levels say") }
      valid = try ParquetRendering.append(dictionary!, Int(indices[i]), physical: physical, rendering, to: out)
    } else {
      guard i < values.count else { throw fail("a page with fewer values than its levels say") }
      valid = try ParquetRendering.append(values, i, physical: physical, rendering, to: out)
    }
    if !valid { invalidUTF8 = true }
  }

  /// One triplet of `readRecord`: levels, and where the value's JSON lies in the scratch
  /// buffer (present only when `definition` is the column's maximum).
  struct Triplet {
    var repetition: UInt32
    var definition: UInt32
    var start: Int
    var end: Int
  }

  /// Reads the triplets of the next row (every level up to the next repetition level 0),
  /// rendering present values as JSON into `scratch`.
  func readRecord(into triplets: inout [Triplet], scratch: ByteBuffer) throws(WinnowError) {
    triplets.removeAll(keepingCapacity: true)
    let maxDef = UInt32(leaf.maxDefinition)
    while true {
      if levelPosition == levelCount {
        guard try nextDataPage() else {
          if triplets.isEmpty { throw fail("has fewer rows than its row group") }
          return
        }
      }
      let r = leaf.maxRepetition > 0 ? repetitionLevels[levelPosition] : 0
      if r == 0 && !triplets.isEmpty { return }
      guard r == 0 || !triplets.isEmpty else { throw fail("a row that does not start at repetition level 0") }
      let d = leaf.maxDefinition > 0 ? levels[levelPosition] : 0
      levelPosition += 1
      let start = scratch.count
      if d == maxDef { try appendNextValue(to: scratch) }
      triplets.append(Triplet(repetition: r, definition: d, start: start, end: scratch.count))
    }
  }

  /// After the row group's last row: checks that no values are left over.
  func finish() throws(WinnowError) {
    if levelPosition == levelCount, cursor < end {
      // Pages without values (or index pages) may follow; a page with values may not.
      if try nextDataPage() { throw fail("has more values than its row group has rows") }
    }
    guard levelPosition == levelCount else { throw fail("has more values than its row group has rows") }
    guard valuesInPages == chunk.numValues else {
      throw fail("its pages hold \(valuesInPages) values, the footer says \(chunk.numValues)")
    }
  }
}
