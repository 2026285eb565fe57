import Glibc
import WinnowCore

/// Two-dimensional float arrays in NumPy's `.npy` format (version 1 or 2, little-endian
/// float32 or float64, C order): the centroids `cluster` writes and the initial centroids it
/// reads, so that Python reads and writes them with `numpy.save` / `numpy.load`. The header is
/// parsed as data: every size is checked, with overflow-checked arithmetic, against the file's
/// length before anything is allocated.
public enum NumpyArrayFile {
  static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

  /// Reads a `rows × columns` array as doubles.
  public static func read(_ path: String, limit: Int = 1 << 34) throws(WinnowError) -> (rows: Int, columns: Int, values: [Double]) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw .io("\(path): not a regular file") }
    let size = Int(st.st_size)
    guard size <= limit else { throw .io("\(path): \(size) bytes, too large") }
    var bytes = [UInt8](repeating: 0, count: size)
    var done = 0
    while done < size {
      let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, size - done) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw .io("\(path): cannot read (\(n < 0 ? String(cString: strerror(errno)) : "file shrank"))") }
      done += n
    }
    return try parse(bytes, name: path)
  }

  /// The layout an `.npy` header declares: where the data starts, its shape and the width of
  /// a value (4 or 8 bytes). `b` holds at least the header; `fileSize` is the whole file's.
  public static func header(_ b: [UInt8], fileSize: Int, name: String) throws(WinnowError) -> (dataStart: Int, rows: Int, columns: Int, width: Int) {
    func bad(_ why: String) -> WinnowError { .io("\(name): not a 2-D float .npy array: \(why)") }
    guard b.count >= 10, Array(b[0..<6]) == magic else { throw bad("no NumPy magic") }
    let major = b[6]
    let headerLength: Int
    let start: Int
    if major == 1 {
      headerLength = Int(b[8]) | Int(b[9]) << 8
      start = 10
    } else if major == 2 || major == 3 {
      guard b.count >= 12 else { throw bad("truncated header") }
      headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
      start = 12
    } else {
      throw bad("format version \(major)")
    }
    guard headerLength <= b.count - start else { throw bad("header longer than the file") }
    let header = String(decoding: b[start..<(start + headerLength)], as: UTF8.self)
    let width: Int
    if header.contains("'descr': '<f4'") {
      width = 4
    } else if header.contains("'descr': '<f8'") {
      width = 8
    } else {
      throw bad("descr must be '<f4' or '<f8' (little-endian float32 or float64)")
    }
    guard header.contains("'fortran_order': False") else { throw bad("fortran_order must be False (C order)") }
    guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
      throw bad("no shape")
    }
    let dims = header[open.upperBound..<close].split(separator: ",").map { $0.filter { $0 != " " } }.filter { !$0.isEmpty }
    guard dims.count == 2, let rows = Int(dims[0]), let columns = Int(dims[1]), rows >= 1, columns >= 1 else {
      throw bad("shape must be (rows, columns), both positive")
    }
    let dataStart = start + headerLength
    let (cells, o1) = rows.multipliedReportingOverflow(by: columns)
    let (bytes, o2) = cells.multipliedReportingOverflow(by: width)
    guard !o1, !o2, bytes == fileSize - dataStart else {
      throw bad("shape (\(rows), \(columns)) needs \(o1 || o2 ? "too many" : String(bytes)) bytes of data, the file has \(fileSize - dataStart)")
    }
    return (dataStart, rows, columns, width)
  }

  /// Parses the bytes of an `.npy` file; `name` stands for it in errors.
  public static func parse(_ b: [UInt8], name: String) throws(WinnowError) -> (rows: Int, columns: Int, values: [Double]) {
    let (dataStart, rows, columns, width) = try header(b, fileSize: b.count, name: name)
    let cells = rows * columns
    var values = [Double](repeating: 0, count: cells)
    b.withUnsafeBytes { raw in
      for i in 0..<cells {
        if width == 4 {
          values[i] = Double(Float(bitPattern: raw.loadUnaligned(fromByteOffset: dataStart + 4 * i, as: UInt32.self).littleEndian))
        } else {
          values[i] = Double(bitPattern: raw.loadUnaligned(fromByteOffset: dataStart + 8 * i, as: UInt64.self).littleEndian)
        }
      }
    }
    return (rows, columns, values)
  }

  /// The bytes of a `rows × columns` float32 `.npy` file (version 1, header padded to 64 bytes).
  public static func float32(rows: Int, columns: Int, values: [Double]) -> [UInt8] {
    precondition(values.count == rows * columns)
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
    let total = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
    var out = magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)] + Array(header.utf8)
    out.reserveCapacity(out.count + 4 * values.count)
    for v in values { withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { out += $0 } }
    return out
  }
}

/// The rows of a 2-D float `.npy` file, streamed in blocks (bounded memory whatever its size).
public struct NumpyVectorSource: VectorSource {
  /// The `.npy` file.
  public let path: String
  /// Number of rows (vectors).
  public let rows: Int
  public let dims: Int
  let dataStart: Int
  let width: Int
  /// Scale each row to unit length (spherical k-means).
  public var normalize = false

  /// The rows of the `.npy` file at `path` (its header checked against its size).
  public init(path: String) throws(WinnowError) {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw .io("\(path): not a regular file") }
    var head = [UInt8](repeating: 0, count: min(Int(st.st_size), 1 << 16))
    let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard n == head.count else { throw .io("\(path): cannot read the header") }
    (dataStart, rows, dims, width) = try NumpyArrayFile.header(head, fileSize: Int(st.st_size), name: path)
  }

  public func forEachBlock(_ body: (UnsafeBufferPointer<Float>, Int) throws(WinnowError) -> Void) throws(WinnowError) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { close(fd) }
    // Blocks of up to 4,096 rows and about 64 MB, whatever the row length.
    let block = max(1, min(4096, rows, (64 << 20) / (dims * width)))
    var raw = [UInt8](repeating: 0, count: block * dims * width)
    var values = [Float](repeating: 0, count: block * dims)
    var row = 0
    while row < rows {
      let n = min(block, rows - row)
      let want = n * dims * width
      var got = 0
      while got < want {
        let r = raw.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, want - got, off_t(dataStart + row * dims * width + got)) }
        if r < 0 && errno == EINTR { continue }
        guard r > 0 else { throw .io("\(path): cannot read rows \(row)…\(row + n) (\(r < 0 ? String(cString: strerror(errno)) : "file shrank"))") }
        got += r
      }
      raw.withUnsafeBytes { b in
        values.withUnsafeMutableBufferPointer { v in
          if width == 4 && UInt32(1).littleEndian == 1 {
            // Little-endian float32 on a little-endian machine: the bytes are the values.
            UnsafeMutableRawPointer(v.baseAddress!).copyMemory(from: b.baseAddress!, byteCount: n * dims * 4)
          } else {
            for i in 0..<(n * dims) {
              v[i] =
                width == 4
                ? Float(bitPattern: b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                : Float(Double(bitPattern: b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
            }
          }
          if normalize {
            for r in 0..<n { KMeans.normalize(UnsafeMutableBufferPointer(rebasing: v[(r * dims)..<((r + 1) * dims)])) }
          }
        }
      }
      try values.withUnsafeBufferPointer { (v) throws(WinnowError) in try body(UnsafeBufferPointer(rebasing: v[0..<(n * dims)]), n) }
      row += n
    }
  }
}
