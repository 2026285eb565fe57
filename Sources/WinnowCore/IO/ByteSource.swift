import Glibc
import CZstd
import CZlib

/// A stream of bytes: a file, standard input, or a decompressor over one of those.
public protocol ByteSource: AnyObject {
  /// Fills up to `buffer.count` bytes; returns 0 only at the end of the stream.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws(WinnowError) -> Int
  /// Bytes consumed from the underlying file so far (compressed bytes for compressed input).
  var rawBytesRead: Int { get }
  /// The file underneath (the source itself when uncompressed).
  var raw: FileByteSource { get }
  /// Closes the file; reading after it is an error.
  func close()
}

func errnoMessage() -> String { String(cString: strerror(errno)) }

/// Reads a file descriptor, with a small look-ahead so the format can be sniffed.
public final class FileByteSource: ByteSource {
  let fd: Int32
  let ownsFD: Bool
  public let name: String
  public private(set) var rawBytesRead = 0
  private var pushback: [UInt8] = []
  /// Size and modification time when opened (regular files only).
  let openedStat: (bytes: Int, modified: Int64)?
  /// Checksums every byte read, when asked to (`stampContent`).
  private let hasher: StreamingXXH3?
  private var reachedEnd = false
  /// Bytes left to read of a part of the file (`limit(to:)`); nil: to the end.
  private var remaining: Int?

  /// `stampContent`: checksum the bytes as they are read, for `stamp` (what a run records of
  /// each input, to notice an input that changes between passes).
  public init(path: String, stampContent: Bool = false) throws(WinnowError) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open: \(errnoMessage())") }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      let why = errnoMessage()
      Glibc.close(fd)
      throw .io("\(path): cannot look at it: \(why)")
    }
    if (st.st_mode & S_IFMT) == S_IFDIR {
      Glibc.close(fd)
      throw .io("\(path): is a directory")
    }
    self.fd = fd
    self.ownsFD = true
    self.name = path
    openedStat = (st.st_mode & S_IFMT) == S_IFREG ? (Int(st.st_size), FileStamp.nanoseconds(st.st_mtim)) : nil
    hasher = stampContent ? StreamingXXH3() : nil
  }

  public init(fd: Int32, name: String) {
    self.fd = fd
    self.ownsFD = false
    self.name = name
    openedStat = nil
    hasher = nil
  }

  public var raw: FileByteSource { self }

  /// What was read: the file's size and modification time when it was opened, and the checksum
  /// of its bytes (of a part's bytes, for a part) once the end was reached with `stampContent`.
  /// nil for streams and devices.
  public var stamp: FileStamp? {
    guard let openedStat else { return nil }
    return FileStamp(
      path: name, bytes: openedStat.bytes, modified: openedStat.modified, checksum: reachedEnd ? hasher?.digest : nil)
  }

  /// The first bytes of the stream, left in place for the next `read`.
  func peek(_ n: Int) throws(WinnowError) -> [UInt8] {
    var got = pushback
    while got.count < n {
      var chunk = [UInt8](repeating: 0, count: n - got.count)
      let r = try typed { try chunk.withUnsafeMutableBytes { try rawRead($0) } }
      if r == 0 { break }
      got.append(contentsOf: chunk[0..<r])
    }
    pushback = got
    return got
  }

  /// Reads only `part` of the file, from its first byte. Checks first that the file has the
  /// size it had when the part was cut, and that a line ends just before the part and at its
  /// end: a file changed since is an error naming it, never other lines read. Called before
  /// anything is read.
  func limit(to part: LinePart) throws(WinnowError) {
    let changed = "it changed since the run was planned (run again with --fresh to plan it anew)"
    guard let size = openedStat?.bytes else { throw .io("\(name): only a regular file can be read in parts") }
    guard part.isWellFormed, size == part.fileBytes else {
      throw .io("\(name): the run's plan reads bytes \(part.start)..<\(part.end) of \(part.fileBytes), and the file has \(size): \(changed)")
    }
    for (at, what) in [(part.start - 1, "before"), (part.end - 1, "at the end of")] where at >= 0 && at < size - 1 {
      var b: UInt8 = 0
      let r = pread(fd, &b, 1, off_t(at))
      guard r == 1 else { throw .io("\(name): read failed: \(r < 0 ? errnoMessage() : "the file ended early")") }
      guard b == 0x0A else {
        throw .io("\(name): no line ends \(what) the part at bytes \(part.start)..<\(part.end) that the run's plan reads: \(changed)")
      }
    }
    guard lseek(fd, off_t(part.start), SEEK_SET) == off_t(part.start) else {
      throw .io("\(name): cannot seek to byte \(part.start): \(errnoMessage())")
    }
    pushback = []
    remaining = part.end - part.start
  }

  private func rawRead(_ buffer: UnsafeMutableRawBufferPointer) throws(WinnowError) -> Int {
    let want = remaining.map { min($0, buffer.count) } ?? buffer.count
    if want == 0 {
      reachedEnd = true
      return 0
    }
    while true {
      let r = Glibc.read(fd, buffer.baseAddress, want)
      if r >= 0 {
        if r == 0, let left = remaining, left > 0 {
          throw .io("\(name): the file ended \(left) bytes before the part the run's plan reads; it changed since the run was planned (run again with --fresh to plan it anew)")
        }
        remaining = remaining.map { $0 - r }
        rawBytesRead += r
        if r == 0 { reachedEnd = true }
        hasher?.update(UnsafeRawBufferPointer(start: buffer.baseAddress, count: r))
        return r
      }
      if errno == EINTR { continue }
      throw .io("\(name): read failed: \(errnoMessage())")
    }
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(WinnowError) -> Int {
    if !pushback.isEmpty {
      let n = min(buffer.count, pushback.count)
      pushback.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
      pushback.removeFirst(n)
      return n
    }
    return try rawRead(buffer)
  }

  public func close() {
    if ownsFD { Glibc.close(fd) }
  }
}

/// Streaming zstd decompression. Concatenated frames are read one after another; input that
/// ends inside a frame is reported as truncated.
public final class ZstdSource: ByteSource {
  let inner: FileByteSource
  let dctx: OpaquePointer
  var input: UnsafeMutableRawBufferPointer
  var zin = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
  var inputEnded = false
  var frameOpen = false
  var consumedBeforeBuffer = 0

  public init(_ inner: FileByteSource) {
    self.inner = inner
    dctx = ZSTD_createDCtx()
    input = .allocate(byteCount: ZSTD_DStreamInSize(), alignment: 16)
  }

  deinit {
    ZSTD_freeDCtx(dctx)
    input.deallocate()
  }

  public var rawBytesRead: Int { inner.rawBytesRead }
  public var raw: FileByteSource { inner }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(WinnowError) -> Int {
    var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
    while out.pos == 0 {
      if zin.pos == zin.size {
        if inputEnded { break }
        consumedBeforeBuffer += zin.size
        let n = try inner.read(into: input)
        if n == 0 {
          inputEnded = true
          if frameOpen {
            throw .io(
              "\(inner.name): truncated zstd stream: input ends inside a frame at compressed offset \(consumedBeforeBuffer)"
            )
          }
          break
        }
        zin = ZSTD_inBuffer(src: UnsafeRawPointer(input.baseAddress), size: n, pos: 0)
      }
      let r = ZSTD_decompressStream(dctx, &out, &zin)
      if ZSTD_isError(r) != 0 {
        let why = String(cString: ZSTD_getErrorName(r))
        throw .io("\(inner.name): corrupt zstd data at compressed offset \(consumedBeforeBuffer + zin.pos): \(why)")
      }
      frameOpen = r != 0
    }
    return out.pos
  }

  public func close() { inner.close() }
}

/// Streaming gzip (and zlib) decompression, including multi-member files.
public final class GzipSource: ByteSource {
  let inner: FileByteSource
  var stream = z_stream()
  var input: UnsafeMutableRawBufferPointer
  var inputEnded = false
  var memberOpen = false

  public init(_ inner: FileByteSource) throws(WinnowError) {
    self.inner = inner
    input = .allocate(byteCount: 1 << 17, alignment: 16)
    // 15 + 32: detect gzip or zlib headers automatically.
    if inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) != Z_OK {
      throw .io("\(inner.name): cannot initialise gzip decoder")
    }
  }

  deinit {
    inflateEnd(&stream)
    input.deallocate()
  }

  public var rawBytesRead: Int { inner.rawBytesRead }
  public var raw: FileByteSource { inner }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(WinnowError) -> Int {
    stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
    stream.avail_out = UInt32(min(buffer.count, Int(UInt32.max)))
    let want = stream.avail_out
    while stream.avail_out == want {
      if stream.avail_in == 0 {
        if inputEnded { break }
        let n = try inner.read(into: input)
        if n == 0 {
          inputEnded = true
          if memberOpen {
            throw .io("\(inner.name): truncated gzip stream at compressed offset \(inner.rawBytesRead)")
          }
          break
        }
        stream.next_in = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.avail_in = UInt32(n)
      }
      memberOpen = true
      let r = inflate(&stream, Z_NO_FLUSH)
      if r == Z_STREAM_END {
        memberOpen = false
        inflateReset(&stream)
      } else if r != Z_OK && r != Z_BUF_ERROR {
        let why = stream.msg.map { String(cString: $0) } ?? "error \(r)"
        throw .io("\(inner.name): corrupt gzip data near compressed offset \(inner.rawBytesRead - Int(stream.avail_in)): \(why)")
      }
    }
    return Int(want - stream.avail_out)
  }

  public func close() { inner.close() }
}

/// How a file's bytes are compressed: recognised by magic bytes when read, chosen by name or
/// option when written.
public enum Compression: String, Sendable, CaseIterable {
  case none, zstd, gzip

  /// Recognises compressed data by its magic bytes, whatever the file is called.
  static func sniff(_ head: [UInt8]) -> Compression {
    if head.count >= 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD {
      return .zstd
    }
    // zstd skippable frames (0x184D2A5?) precede real frames in some writers.
    if head.count >= 4 && head[0] & 0xF0 == 0x50 && head[1] == 0x2A && head[2] == 0x4D && head[3] == 0x18 {
      return .zstd
    }
    if head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B { return .gzip }
    return .none
  }

  /// The compression a file name asks for when writing.
  public static func forPath(_ path: String) -> Compression {
    if path.hasSuffix(".zst") || path.hasSuffix(".zstd") { return .zstd }
    if path.hasSuffix(".gz") { return .gzip }
    return .none
  }

  public var fileExtension: String {
    switch self {
    case .none: return ""
    case .zstd: return ".zst"
    case .gzip: return ".gz"
    }
  }
}

/// Opens `file` (or standard input) and wraps it in the decompressor its magic bytes call for.
/// `stampContent`: checksum the stored bytes as they are read (see `FileByteSource.stamp`).
public func openByteSource(_ input: InputFile, stampContent: Bool = false) throws(WinnowError) -> ByteSource {
  let raw: FileByteSource =
    input.isStdin
    ? FileByteSource(fd: 0, name: input.displayName) : try FileByteSource(path: input.path, stampContent: stampContent)
  if let part = input.lines {
    // The planner cuts only files it found uncompressed: the part's bytes are lines as stored.
    do throws(WinnowError) { try raw.limit(to: part) } catch {
      raw.close()
      throw error
    }
    return raw
  }
  let head = try raw.peek(4)
  if head == Array("PAR1".utf8) {
    raw.close()
    throw input.isStdin || !InputSet.isRegularFile(input.path)
      ? .usage("\(input.displayName): Parquet data from a pipe cannot be read (Parquet needs random access to its footer); write it to a file and name the file")
      : .usage("\(input.displayName): is a Parquet file, and this reads JSON lines here; convert it with 'winnow cat \(input.displayName) -o FILE.jsonl'")
  }
  switch Compression.sniff(head) {
  case .zstd: return ZstdSource(raw)
  case .gzip: return try GzipSource(raw)
  case .none: return raw
  }
}
