import CParquetCodecs
import CZlib
import CZstd

/// Why page bytes could not be decoded (the caller adds file, row group and column).
struct ParquetPageError: Error {
  var message: String
  init(_ message: String) { self.message = message }
}

/// A bounds-checked cursor over the bytes of one page.
struct PageBytes {
  let base: UnsafePointer<UInt8>
  let count: Int
  var offset = 0

  init(_ base: UnsafePointer<UInt8>, count: Int) {
    self.base = base
    self.count = count
  }

  var left: Int { count - offset }

  mutating func byte() throws(ParquetPageError) -> UInt8 {
    guard offset < count else { throw ParquetPageError("the page ends early") }
    defer { offset += 1 }
    return base[offset]
  }

  /// An unsigned LEB128 varint (the encoding Thrift's compact protocol uses too).
  mutating func uleb() throws(ParquetPageError) -> UInt64 {
    var r = ThriftCompactReader(UnsafeBufferPointer(start: base, count: count), offset: offset)
    do throws(ThriftDecodeError) {
      let v = try r.varint()
      offset = r.offset
      return v
    } catch {
      throw ParquetPageError(error.message == "unexpected end of data" ? "the page ends early" : error.message)
    }
  }

  mutating func zigzag() throws(ParquetPageError) -> Int64 {
    let v = try uleb()
    return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
  }

  mutating func uint32LE() throws(ParquetPageError) -> Int {
    guard left >= 4 else { throw ParquetPageError("the page ends inside a 4-byte length") }
    let p = base + offset
    offset += 4
    return Int(UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24)
  }

  /// Takes `n` bytes (checked), returning where they start.
  mutating func take(_ n: Int) throws(ParquetPageError) -> Int {
    guard n >= 0, n <= left else { throw ParquetPageError("a length of \(n) with \(left) bytes left in the page") }
    defer { offset += n }
    return offset
  }
}

/// Parquet's RLE / bit-packing hybrid (levels, dictionary indices, booleans): decodes exactly
/// `count` values of `bitWidth` bits, each checked to be below `limit`.
func decodeHybrid(
  _ bytes: inout PageBytes, bitWidth: Int, count: Int, limit: UInt32, into out: inout [UInt32]
) throws(ParquetPageError) {
  out.removeAll(keepingCapacity: true)
  guard count > 0 else { return }
  guard (0...32).contains(bitWidth) else { throw ParquetPageError("a bit width of \(bitWidth)") }
  out.reserveCapacity(count)
  let valueBytes = (bitWidth + 7) / 8
  let mask: UInt64 = bitWidth == 64 ? ~0 : (1 << UInt64(bitWidth)) - 1
  while out.count < count {
    let header = try bytes.uleb()
    if header & 1 == 0 {
      let run = header >> 1
      guard run > 0 else { throw ParquetPageError("an empty RLE run") }
      var v: UInt32 = 0
      let at = try bytes.take(valueBytes)
      for k in 0..<valueBytes { v |= UInt32(bytes.base[at + k]) << (8 * UInt32(k)) }
      guard v < limit else { throw ParquetPageError("an RLE value \(v) out of range (at most \(limit - 1))") }
      let n = Int(min(run, UInt64(count - out.count)))
      out.append(contentsOf: repeatElement(v, count: n))
    } else {
      let groups = header >> 1
      guard groups > 0, groups <= UInt64(bytes.left) else {
        throw ParquetPageError("a bit-packed run of \(groups) groups with \(bytes.left) bytes left")
      }
      let byteCount = Int(groups) * bitWidth
      // A last run may stop short of its stated groups when the page's values end in it.
      let available = min(byteCount, bytes.left)
      let at = bytes.offset
      bytes.offset += available
      let values = Int(groups) * 8
      let wanted = min(values, count - out.count)
      guard wanted * bitWidth <= available * 8 else { throw ParquetPageError("a bit-packed run ends early") }
      if bitWidth == 0 {
        out.append(contentsOf: repeatElement(0, count: wanted))
        continue
      }
      let p = bytes.base + at
      var bit = 0
      for _ in 0..<wanted {
        let byteIndex = bit >> 3
        var word: UInt64 = 0
        let need = min(8, available - byteIndex)
        for k in 0..<need { word |= UInt64(p[byteIndex + k]) << (8 * UInt64(k)) }
        let v = UInt32((word >> UInt64(bit & 7)) & mask)
        guard v < limit else { throw ParquetPageError("a bit-packed value \(v) out of range (at most \(limit - 1))") }
        out.append(v)
        bit += bitWidth
      }
    }
  }
}

/// The deprecated BIT_PACKED level encoding: values packed from the most significant bit.
func decodeBitPackedLevels(
  _ bytes: inout PageBytes, bitWidth: Int, count: Int, limit: UInt32, into out: inout [UInt32]
) throws(ParquetPageError) {
  out.removeAll(keepingCapacity: true)
  let (bits, o) = count.multipliedReportingOverflow(by: bitWidth)
  guard !o else { throw ParquetPageError("too many levels") }
  let at = try bytes.take((bits + 7) / 8)
  var bit = 0
  for _ in 0..<count {
    var v: UInt32 = 0
    for _ in 0..<bitWidth {
      let b = bytes.base[at + bit >> 3] >> (7 - UInt8(bit & 7)) & 1
      v = v << 1 | UInt32(b)
      bit += 1
    }
    guard v < limit else { throw ParquetPageError("a level \(v) out of range") }
    out.append(v)
  }
}

/// DELTA_BINARY_PACKED: decodes its values (all of them: the header says how many, at most
/// `maxCount`, the values the page's levels leave room for) into `out`, wrapping like the
/// writers' arithmetic. `width` 32 or 64.
func decodeDeltaBinaryPacked(
  _ bytes: inout PageBytes, width: Int, maxCount: Int, into out: inout [Int64]
) throws(ParquetPageError) {
  out.removeAll(keepingCapacity: true)
  let blockSize = try bytes.uleb()
  let miniblocks = try bytes.uleb()
  let total = try bytes.uleb()
  var value = try bytes.zigzag()
  guard blockSize > 0, blockSize % 128 == 0, blockSize <= 1 << 20, miniblocks > 0, blockSize % miniblocks == 0,
    (blockSize / miniblocks) % 32 == 0
  else { throw ParquetPageError("a DELTA_BINARY_PACKED header with block size \(blockSize) and \(miniblocks) miniblocks") }
  guard total <= UInt64(maxCount) else {
    throw ParquetPageError("a DELTA_BINARY_PACKED count of \(total) where the page has room for \(maxCount) values")
  }
  let count = Int(total)
  guard count > 0 else { return }
  out.reserveCapacity(count)
  out.append(value)
  let perMiniblock = Int(blockSize / miniblocks)
  while out.count < count {
    let minDelta = try bytes.zigzag()
    let widthsAt = try bytes.take(Int(miniblocks))
    for m in 0..<Int(miniblocks) where out.count < count {
      let bw = Int(bytes.base[widthsAt + m])
      guard bw <= 64 else { throw ParquetPageError("a miniblock bit width of \(bw)") }
      let n = min(perMiniblock, count - out.count)
      // A miniblock is stored whole (perMiniblock values), except that the last one of the
      // page may be cut short where the values end.
      let full = perMiniblock * bw / 8
      let stored = min(full, bytes.left)
      guard (n * bw + 7) / 8 <= stored else { throw ParquetPageError("a miniblock ends early") }
      let p = bytes.base + bytes.offset
      bytes.offset += stored
      var bit = 0
      for _ in 0..<n {
        var packed: UInt64 = 0
        if bw > 0 {
          let byteIndex = bit >> 3
          let shift = UInt64(bit & 7)
          var word: UInt64 = 0
          let need = min(8, stored - byteIndex)
          for k in 0..<need { word |= UInt64(p[byteIndex + k]) << (8 * UInt64(k)) }
          packed = word >> shift
          let got = 64 - Int(shift)
          if got < bw, byteIndex + 8 < stored { packed |= UInt64(p[byteIndex + 8]) << UInt64(got) }
          if bw < 64 { packed &= (1 << UInt64(bw)) - 1 }
        }
        let delta = minDelta &+ Int64(bitPattern: packed)
        value = value &+ delta
        if width == 32 { value = Int64(Int32(truncatingIfNeeded: value)) }
        out.append(value)
        bit += bw
      }
    }
  }
}

/// Decompresses a page with the column chunk's codec into `out` (exactly `size` bytes).
func decompressPage(
  codec: Int32, _ src: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutablePointer<UInt8>, size: Int
) throws(ParquetPageError) {
  switch codec {
  case 0:
    guard count == size else { throw ParquetPageError("an uncompressed page of \(count) bytes says it has \(size)") }
    out.update(from: src, count: count)
  case 1:
    var length = 0
    guard snappy_uncompressed_length(src, count, &length) == SNAPPY_OK, length == size else {
      throw ParquetPageError("a snappy page that does not decompress to its stated \(size) bytes")
    }
    var n = size
    guard snappy_uncompress(src, count, out, &n) == SNAPPY_OK, n == size else {
      throw ParquetPageError("a damaged snappy page")
    }
  case 2:
    var stream = z_stream()
    // 15 + 32: a gzip or zlib header, detected.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw ParquetPageError("cannot start zlib")
    }
    defer { inflateEnd(&stream) }
    stream.next_in = UnsafeMutablePointer(mutating: src)
    stream.avail_in = UInt32(count)
    stream.next_out = out
    stream.avail_out = UInt32(size)
    var produced = 0
    while true {
      let r = inflate(&stream, Z_NO_FLUSH)
      produced = size - Int(stream.avail_out)
      if r == Z_STREAM_END {
        // Concatenated gzip members: go on while input is left.
        if stream.avail_in > 0 && produced < size {
          guard inflateReset(&stream) == Z_OK else { throw ParquetPageError("a damaged gzip page") }
          continue
        }
        break
      }
      guard r == Z_OK, stream.avail_out > 0 || stream.avail_in > 0 else {
        throw ParquetPageError("a damaged gzip page (zlib \(r))")
      }
      if stream.avail_in == 0 { throw ParquetPageError("a gzip page that ends early") }
    }
    guard produced == size else { throw ParquetPageError("a gzip page of \(produced) bytes that says it has \(size)") }
  case 4:
    var n = size
    guard BrotliDecoderDecompress(count, src, &n, out) == BROTLI_DECODER_RESULT_SUCCESS, n == size else {
      throw ParquetPageError("a damaged brotli page")
    }
  case 5:
    // Hadoop's framing (big-endian sizes before each block) as older writers used it, else raw.
    if !decompressHadoopLZ4(src, count: count, into: out, size: size) {
      guard count <= Int(Int32.max), size <= Int(Int32.max),
        LZ4_decompress_safe(src, out, Int32(count), Int32(size)) == Int32(size)
      else { throw ParquetPageError("a damaged LZ4 page") }
    }
  case 6:
    let r = ZSTD_decompress(out, size, src, count)
    guard ZSTD_isError(r) == 0 else {
      throw ParquetPageError("a damaged zstd page (\(String(cString: ZSTD_getErrorName(r))))")
    }
    guard r == size else { throw ParquetPageError("a zstd page of \(r) bytes that says it has \(size)") }
  case 7:
    guard count <= Int(Int32.max), size <= Int(Int32.max),
      LZ4_decompress_safe(src, out, Int32(count), Int32(size)) == Int32(size)
    else { throw ParquetPageError("a damaged LZ4 page") }
  case 3: throw ParquetPageError("an LZO page (LZO is not supported; rewrite the file with zstd or snappy)")
  default: throw ParquetPageError("a page with unknown codec \(codec)")
  }
}

private func decompressHadoopLZ4(
  _ src: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutablePointer<UInt8>, size: Int
) -> Bool {
  func be32(_ p: UnsafePointer<UInt8>) -> Int { Int(p[0]) << 24 | Int(p[1]) << 16 | Int(p[2]) << 8 | Int(p[3]) }
  var i = 0
  var o = 0
  while i < count {
    guard count - i >= 8 else { return false }
    let expected = be32(src + i)
    let compressed = be32(src + i + 4)
    i += 8
    guard compressed <= count - i, expected <= size - o else { return false }
    let r = LZ4_decompress_safe(src + i, out + o, Int32(compressed), Int32(expected))
    guard r == Int32(expected) else { return false }
    i += compressed
    o += expected
  }
  return o == size
}
