import CZlib
import CZstd
import Glibc

/// Where bytes go: a file, standard output, or a compressor in front of one of those.
public protocol ByteSink: AnyObject {
  /// Writes `bytes` (compressing them first, for a compressor).
  func write(_ bytes: UnsafeRawBufferPointer) throws(WinnowError)
  /// Flushes everything; for files, moves the finished file to its final name.
  func finish() throws(WinnowError)
  /// Gives up: removes a file that was not finished.
  func abort()
  /// The file at the end of the chain (compressors forward their inner sink's).
  var file: FileSink? { get }
}

/// Writes to a file descriptor. A named regular file is written under a hidden temporary
/// name in its directory and renamed when finished, so readers never see a partial file:
///
/// - the temporary name is random and created with `O_CREAT|O_EXCL|O_NOFOLLOW` (mode 0644), so
///   a file or symlink planted beside the output is never written through;
/// - it is registered for removal if the process is interrupted (`TemporaryFiles`), and removed
///   by `abort` or when the sink is dropped unfinished;
/// - a symlink is written through: the file it points to is replaced, the link stays;
/// - standard streams (`-`, `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`), character devices,
///   FIFOs and sockets are written directly — renaming over them would replace them.
///
/// The sink counts and checksums (XXH3-64) the bytes it writes, so that a run can record what
/// a finished file must hold.
public final class FileSink: ByteSink {
  let fd: Int32
  let finalPath: String?
  let tempPath: String?
  let cleanupSlot: Int32
  /// The mode of the file being replaced, given to the new one.
  let replacedMode: mode_t?
  public let name: String
  let closeOnFinish: Bool
  var done = false
  public private(set) var bytesWritten = 0
  private let hasher = StreamingXXH3()

  public init(path: String) throws(WinnowError) {
    name = path
    switch try OutputTarget.resolve(path) {
    case .descriptor(let fd):
      self.fd = fd
      finalPath = nil
      tempPath = nil
      cleanupSlot = -1
      replacedMode = nil
      closeOnFinish = false
    case .device(let device):
      let fd = open(device, O_WRONLY | O_CLOEXEC)
      guard fd >= 0 else { throw .io("\(path): cannot open for writing: \(errnoMessage())") }
      self.fd = fd
      finalPath = nil
      tempPath = nil
      cleanupSlot = -1
      replacedMode = nil
      closeOnFinish = true
    case .file(let target, let existingMode):
      let (fd, temp) = try TemporaryFiles.create(beside: target, for: path)
      self.fd = fd
      finalPath = target
      tempPath = temp
      cleanupSlot = TemporaryFiles.register(temp)
      replacedMode = existingMode
      closeOnFinish = true
    }
  }

  /// An open descriptor such as standard output (never renamed or closed).
  public init(fd: Int32, name: String) {
    self.fd = fd
    finalPath = nil
    tempPath = nil
    cleanupSlot = -1
    replacedMode = nil
    self.name = name
    closeOnFinish = false
  }

  deinit {
    // Dropped without finish or abort (an error unwound past it): the file is incomplete.
    abort()
  }

  /// XXH3-64 of every byte written so far.
  public var checksum: UInt64 { hasher.digest }

  /// Where the finished file lies (nil for a stream or device).
  public var path: String? { finalPath }

  public func write(_ bytes: UnsafeRawBufferPointer) throws(WinnowError) {
    hasher.update(bytes)
    bytesWritten += bytes.count
    var p = bytes.baseAddress
    var left = bytes.count
    while left > 0 {
      let r = Glibc.write(fd, p, left)
      if r < 0 {
        if errno == EINTR { continue }
        throw .io("\(name): write failed: \(errnoMessage())")
      }
      p = p! + r
      left -= r
    }
  }

  public func finish() throws(WinnowError) {
    guard !done else { return }
    done = true
    guard let tempPath, let finalPath else {
      if closeOnFinish { Glibc.close(fd) }
      return
    }
    if let replacedMode { fchmod(fd, replacedMode) }
    if Glibc.close(fd) != 0 {
      let why = errnoMessage()
      unlink(tempPath)
      TemporaryFiles.unregister(cleanupSlot)
      throw .io("\(name): close failed: \(why)")
    }
    if rename(tempPath, finalPath) != 0 {
      let why = errnoMessage()
      unlink(tempPath)
      TemporaryFiles.unregister(cleanupSlot)
      throw .io("\(name): cannot rename into place: \(why)")
    }
    TemporaryFiles.unregister(cleanupSlot)
  }

  public func abort() {
    guard !done else { return }
    done = true
    if let tempPath {
      Glibc.close(fd)
      unlink(tempPath)
      TemporaryFiles.unregister(cleanupSlot)
    } else if closeOnFinish {
      Glibc.close(fd)
    }
  }

  public var file: FileSink? { self }
}

/// Streaming zstd compression into another sink.
public final class ZstdSink: ByteSink {
  let inner: ByteSink
  let cctx: OpaquePointer
  var out: UnsafeMutableRawBufferPointer

  public init(_ inner: ByteSink, level: Int) {
    self.inner = inner
    cctx = ZSTD_createCCtx()
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, Int32(level))
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
    out = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)
  }

  deinit {
    ZSTD_freeCCtx(cctx)
    out.deallocate()
  }

  private func drive(_ bytes: UnsafeRawBufferPointer, _ mode: ZSTD_EndDirective) throws(WinnowError) {
    var zin = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
    while true {
      var zout = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
      let r = ZSTD_compressStream2(cctx, &zout, &zin, mode)
      if ZSTD_isError(r) != 0 {
        throw .io("zstd compression failed: \(String(cString: ZSTD_getErrorName(r)))")
      }
      if zout.pos > 0 { try inner.write(UnsafeRawBufferPointer(start: out.baseAddress, count: zout.pos)) }
      let finished = mode == ZSTD_e_continue ? zin.pos == zin.size : r == 0
      if finished { return }
    }
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws(WinnowError) {
    try drive(bytes, ZSTD_e_continue)
  }

  public func finish() throws(WinnowError) {
    try drive(UnsafeRawBufferPointer(start: nil, count: 0), ZSTD_e_end)
    try inner.finish()
  }

  public func abort() { inner.abort() }
  public var file: FileSink? { inner.file }
}

/// Streaming gzip compression into another sink.
public final class GzipSink: ByteSink {
  let inner: ByteSink
  var stream = z_stream()
  var out: UnsafeMutableRawBufferPointer

  public init(_ inner: ByteSink, level: Int) throws(WinnowError) {
    self.inner = inner
    out = .allocate(byteCount: 1 << 17, alignment: 16)
    // 15 + 16: a gzip header rather than a zlib one.
    let r = deflateInit2_(
      &stream, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
      Int32(MemoryLayout<z_stream>.size))
    if r != Z_OK { throw .io("cannot initialise gzip compression (level \(level))") }
  }

  deinit {
    deflateEnd(&stream)
    out.deallocate()
  }

  private func drive(_ bytes: UnsafeRawBufferPointer, flush: Int32) throws(WinnowError) {
    stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
    stream.avail_in = UInt32(bytes.count)
    while true {
      stream.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
      stream.avail_out = UInt32(out.count)
      let r = deflate(&stream, flush)
      if r == Z_STREAM_ERROR { throw .io("gzip compression failed") }
      let produced = out.count - Int(stream.avail_out)
      if produced > 0 { try inner.write(UnsafeRawBufferPointer(start: out.baseAddress, count: produced)) }
      if flush == Z_FINISH {
        if r == Z_STREAM_END { return }
      } else if stream.avail_in == 0 && stream.avail_out != 0 {
        return
      }
    }
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws(WinnowError) {
    try drive(bytes, flush: Z_NO_FLUSH)
  }

  public func finish() throws(WinnowError) {
    try drive(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH)
    try inner.finish()
  }

  public func abort() { inner.abort() }
  public var file: FileSink? { inner.file }
}

/// Opens a file (or standard output for `-`) with the given compression.
public func openByteSink(path: String, compression: Compression, level: Int?) throws(WinnowError) -> ByteSink {
  let file = path == "-" ? FileSink(fd: 1, name: "<stdout>") : try FileSink(path: path)
  switch compression {
  case .none: return file
  case .zstd: return ZstdSink(file, level: level ?? 3)
  case .gzip: return try GzipSink(file, level: level ?? 6)
  }
}

extension ByteSink {
  public func write(_ bytes: [UInt8]) throws(WinnowError) {
    try typed { try bytes.withUnsafeBytes { try write($0) } }
  }
}

/// Writes a whole file atomically: under a temporary name, renamed when complete, removed if
/// writing fails. Returns what was written (size and checksum) for the run's records.
@discardableResult
public func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws(WinnowError) -> WrittenFile {
  let sink = try FileSink(path: path)
  try writeWhole(sink, bytes)
  return WrittenFile(path: path, bytes: sink.bytesWritten, checksum: sink.checksum)
}

/// Writes a small text file (a report, stats, a list) atomically as `writeFileAtomically`
/// does, or to standard output for `-`.
public func writeTextFile(_ path: String, _ text: String) throws(WinnowError) {
  try writeWhole(openByteSink(path: path, compression: .none, level: nil), Array(text.utf8))
}

/// Writes `bytes` and finishes `sink`, or aborts it (its temporary file removed) on failure.
private func writeWhole(_ sink: ByteSink, _ bytes: [UInt8]) throws(WinnowError) {
  do throws(WinnowError) {
    try sink.write(bytes)
    try sink.finish()
  } catch {
    sink.abort()
    throw error
  }
}
