// Megatron-LM indexed datasets (`PREFIX.bin` + `PREFIX.idx`), byte-identical to megatron-core's
// `IndexedDatasetBuilder` (`add_document` + `finalize`, as `tools/preprocess_data.py` calls it
// with one sequence per document):
//
//   .idx  "MMIDIDX\0\0"  u64 version = 1  u8 dtype code  u64 S (sequences)  u64 D (documents + 1)
//         i32 sequence_lengths[S]   i64 sequence_pointers[S] (byte offsets into .bin)
//         i64 document_indices[D]   (0, then the running sequence count after each document)
//   .bin  the tokens, little-endian, in the dtype
//
// An empty document adds no sequence but still an index entry (the previous value repeats).
// Task parts are merged into one dataset by streaming their index arrays in three passes, so
// the merge holds a buffer, not the datasets (Megatron's own merge loads every index).

import Glibc
import WinnowCore

/// The token types Megatron datasets use, by their dtype code.
public enum MegatronDType: UInt8, Sendable {
  /// Megatron's dtype codes (`indexed_dataset.py`'s `DType`).
  case uint8 = 1, int8 = 2, int16 = 3, int32 = 4, int64 = 5, float64 = 6, float32 = 7, uint16 = 8

  /// Bytes per token.
  public var size: Int {
    switch self {
    case .uint8, .int8: return 1
    case .int16, .uint16: return 2
    case .int32, .float32: return 4
    case .int64, .float64: return 8
    }
  }

  /// `DType.optimal_dtype`: uint16 below 65,500 ids, int32 otherwise.
  public static func optimal(vocabularySize: Int) -> MegatronDType { vocabularySize < 65_500 ? .uint16 : .int32 }

  /// Whether token ids are integers this dataset can hold.
  public var isTokenType: Bool { self == .uint16 || self == .int32 || self == .uint8 || self == .int64 }
}

enum MegatronIndex {
  static let magic: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
  static let headerSize = 34

  static func header(dtype: MegatronDType, sequences: Int, documents: Int) -> [UInt8] {
    var h = magic
    appendLE(UInt64(1), &h)
    h.append(dtype.rawValue)
    appendLE(UInt64(sequences), &h)
    appendLE(UInt64(documents), &h)
    return h
  }

  static func appendLE<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
    var x = v.littleEndian
    withUnsafeBytes(of: &x) { out.append(contentsOf: $0) }
  }
}

/// Writes one Megatron dataset, a document at a time: tokens go to `.bin` as they come; the
/// index needs every document's length, kept in memory at 4 bytes per document until `finish`.
public final class MegatronDatasetWriter {
  /// The dataset's prefix.
  public let prefix: String
  /// The token type written.
  public let dtype: MegatronDType
  let bin: FileSink
  /// Tokens of each document (0: empty, no sequence).
  var lengths: [Int32] = []
  private var buffer: [UInt8] = []
  /// Tokens written so far.
  public private(set) var tokens = 0

  /// Writes `prefix.bin` (and `prefix.idx` at `finish`); dtype uint16 or int32.
  public init(prefix: String, dtype: MegatronDType) throws(WinnowError) {
    guard dtype == .uint16 || dtype == .int32 else { throw .usage("Megatron export: token dtype must be uint16 or int32") }
    self.prefix = prefix
    self.dtype = dtype
    bin = try FileSink(path: prefix + ".bin")
  }

  /// Adds a document of `ids` (no sequence when empty, as preprocess_data.py adds it).
  public func addDocument(_ ids: [UInt32]) throws(WinnowError) {
    guard ids.count < Int(Int32.max) else { throw .io("\(prefix).bin: a document of \(ids.count) tokens is longer than Megatron's int32 sequence length") }
    buffer.removeAll(keepingCapacity: true)
    switch dtype {
    case .uint16:
      for id in ids {
        guard id <= 0xFFFF else { throw .io("\(prefix).bin: token id \(id) does not fit uint16; use a tokenizer with fewer than 65,500 ids or int32") }
        buffer.append(UInt8(id & 0xFF))
        buffer.append(UInt8(id >> 8))
      }
    default:
      for id in ids {
        guard id <= UInt32(Int32.max) else { throw .io("\(prefix).bin: token id \(id) does not fit int32") }
        MegatronIndex.appendLE(id, &buffer)
      }
    }
    try bin.write(bytes: buffer)
    lengths.append(Int32(ids.count))
    tokens += ids.count
  }

  /// Documents added so far.
  public var documents: Int { lengths.count }

  /// Writes `.idx` and completes both files; returns them as written.
  public func finish() throws(WinnowError) -> [WrittenFile] {
    let idx = try FileSink(path: prefix + ".idx")
    do throws(WinnowError) {
      let sequences = lengths.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
      var out = MegatronIndex.header(dtype: dtype, sequences: sequences, documents: lengths.count + 1)
      func flush(_ force: Bool = false) throws(WinnowError) {
        if out.count >= 1 << 20 || (force && !out.isEmpty) {
          try idx.write(bytes: out)
          out.removeAll(keepingCapacity: true)
        }
      }
      for l in lengths where l > 0 {
        MegatronIndex.appendLE(l, &out)
        try flush()
      }
      var pointer: Int64 = 0
      for l in lengths where l > 0 {
        MegatronIndex.appendLE(pointer, &out)
        pointer += Int64(l) * Int64(dtype.size)
        try flush()
      }
      MegatronIndex.appendLE(Int64(0), &out)
      var running: Int64 = 0
      for l in lengths {
        if l > 0 { running += 1 }
        MegatronIndex.appendLE(running, &out)
        try flush()
      }
      try flush(true)
      try bin.finish()
      try idx.finish()
    } catch {
      idx.abort()
      bin.abort()
      throw error
    }
    return [
      WrittenFile(path: prefix + ".bin", bytes: bin.bytesWritten, checksum: bin.checksum),
      WrittenFile(path: prefix + ".idx", bytes: idx.bytesWritten, checksum: idx.checksum),
    ]
  }

  /// Removes the partial `.bin`; no `.idx` was written.
  public func abort() { bin.abort() }
}

/// A Megatron dataset opened for reading: the index checked against the file sizes (a
/// truncated, hostile or foreign file is an error naming it), both files memory-mapped.
public final class MegatronDataset: @unchecked Sendable {
  /// The dataset's prefix (`prefix.bin`, `prefix.idx`).
  public let prefix: String
  /// The token type of `.bin`.
  public let dtype: MegatronDType
  /// Sequences in the index.
  public let sequenceCount: Int
  /// Documents (the index's document count minus one).
  public let documentCount: Int
  let idx: MappedFile
  let bin: MappedFile

  /// Opens `prefix.idx` and `prefix.bin`, checking the index against both files' sizes.
  public init(prefix: String) throws(WinnowError) {
    self.prefix = prefix
    idx = try MappedFile(path: prefix + ".idx")
    bin = try MappedFile(path: prefix + ".bin")
    let name = prefix + ".idx"
    let b = idx.bytes
    guard b.count >= MegatronIndex.headerSize, Array(b[0..<9]) == MegatronIndex.magic else {
      throw .io("\(name): not a Megatron index (no MMIDIDX header)")
    }
    guard b.loadLE(UInt64.self, at: 9) == 1 else { throw .io("\(name): index version \(b.loadLE(UInt64.self, at: 9)) is not 1") }
    guard let dtype = MegatronDType(rawValue: b[17]), dtype.isTokenType else {
      throw .io("\(name): dtype code \(b[17]) is not a token type")
    }
    self.dtype = dtype
    let s = b.loadLE(UInt64.self, at: 18)
    let d = b.loadLE(UInt64.self, at: 26)
    // 34 + 12·S + 8·D, overflow-checked: the counts come from the file.
    let (s12, o1) = s.multipliedReportingOverflow(by: 12)
    let (d8, o2) = d.multipliedReportingOverflow(by: 8)
    let (sum, o3) = s12.addingReportingOverflow(d8)
    let (total, o4) = sum.addingReportingOverflow(34)
    guard !(o1 || o2 || o3 || o4), d >= 1, total == UInt64(b.count) else {
      throw .io("\(name): the header's counts (\(s) sequences, \(d) document indices) do not match the file's \(b.count) bytes")
    }
    sequenceCount = Int(s)
    documentCount = Int(d) - 1
    // Pointers must follow the lengths exactly and stay inside .bin; document indices must
    // rise from 0 to S.
    var expected: Int64 = 0
    for k in 0..<sequenceCount {
      let len = b.loadLE(Int32.self, at: 34 + 4 * k)
      let ptr = b.loadLE(Int64.self, at: 34 + 4 * sequenceCount + 8 * k)
      guard len >= 0, ptr == expected else { throw .io("\(name): sequence \(k) has a length or pointer inconsistent with the ones before it") }
      expected += Int64(len) * Int64(dtype.size)
    }
    guard expected == Int64(bin.bytes.count) else {
      throw .io("\(prefix).bin: holds \(bin.bytes.count) bytes, the index describes \(expected)")
    }
    var previous: Int64 = 0
    for k in 0...documentCount {
      let v = b.loadLE(Int64.self, at: 34 + 12 * sequenceCount + 8 * k)
      guard (k == 0 ? v == 0 : v >= previous), v <= Int64(sequenceCount) else {
        throw .io("\(name): document index \(k) (\(v)) is out of order")
      }
      previous = v
    }
    guard previous == Int64(sequenceCount) else { throw .io("\(name): the document indices end at \(previous), not at \(sequenceCount) sequences") }
  }

  /// Tokens of sequence `k`.
  public func sequenceLength(_ k: Int) -> Int { Int(idx.bytes.loadLE(Int32.self, at: 34 + 4 * k)) }
  /// Index of the first token of sequence `k` in `.bin`.
  public func sequenceOffset(_ k: Int) -> Int { Int(idx.bytes.loadLE(Int64.self, at: 34 + 4 * sequenceCount + 8 * k)) / dtype.size }
  /// The sequences of document `k`: `documentStart(k)..<documentStart(k+1)`.
  public func documentStart(_ k: Int) -> Int { Int(idx.bytes.loadLE(Int64.self, at: 34 + 12 * sequenceCount + 8 * k)) }

  /// Total tokens in `.bin`.
  public var tokenCount: Int { bin.bytes.count / dtype.size }

  /// Token `i` of `.bin`.
  @inline(__always)
  public func token(_ i: Int) -> UInt32 {
    switch dtype {
    case .uint16: return UInt32(bin.bytes.loadLE(UInt16.self, at: 2 * i))
    case .int32: return UInt32(bitPattern: bin.bytes.loadLE(Int32.self, at: 4 * i))
    case .uint8: return UInt32(bin.bytes[i])
    default: return UInt32(truncatingIfNeeded: bin.bytes.loadLE(Int64.self, at: 8 * i))
    }
  }

  /// The tokens of document `k` (all its sequences).
  public func document(_ k: Int) -> [UInt32] {
    var out: [UInt32] = []
    for s in documentStart(k)..<documentStart(k + 1) {
      let o = sequenceOffset(s)
      for i in o..<(o + sequenceLength(s)) { out.append(token(i)) }
    }
    return out
  }

  /// The raw `.bin` bytes.
  public var binBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(bin.bytes) }
}

/// Merges Megatron datasets (task parts, in order) into one, byte-identical to building it in
/// one go (and to Megatron's `add_index` + `finalize`). Every part is verified against its
/// recorded size and checksum before its index is used and as its tokens are copied.
public struct MegatronMerge: SinkMerge {
  public var target: String
  /// Joins parts into `target.bin` and `target.idx` (`target` is the dataset's prefix).
  public init(into target: String) { self.target = target }

  public func merge(_ parts: [WrittenFile]) throws(WinnowError) {
    // Parts come as .bin/.idx pairs, in task order.
    var prefixes: [(bin: WrittenFile, idx: WrittenFile)] = []
    var pendingBin: WrittenFile? = nil
    for f in parts {
      if f.path.hasSuffix(".bin") {
        pendingBin = f
      } else if f.path.hasSuffix(".idx"), let b = pendingBin, b.path.dropLast(4) == f.path.dropLast(4) {
        prefixes.append((b, f))
        pendingBin = nil
      } else {
        throw .io("\(f.path): not part of a Megatron .bin/.idx pair in the merge list")
      }
    }
    for p in prefixes { try verify(p.idx) }
    var parts: [MegatronDataset] = []
    for p in prefixes { parts.append(try MegatronDataset(prefix: String(p.idx.path.dropLast(4)))) }
    let dtype = parts.first?.dtype ?? .uint16
    if let bad = parts.first(where: { $0.dtype != dtype }) {
      throw .io("\(bad.prefix).idx: dtype \(bad.dtype) differs from \(dtype) in the other parts")
    }
    let sequences = parts.reduce(0) { $0 + $1.sequenceCount }
    let documents = parts.reduce(0) { $0 + $1.documentCount }
    let parent = target.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    if !parent.isEmpty { try makeDirectories(parent) }
    let bin = try FileSink(path: target + ".bin")
    let idx = try FileSink(path: target + ".idx")
    do throws(WinnowError) {
      for (k, p) in parts.enumerated() {
        let hasher = StreamingXXH3()
        let bytes = p.binBytes
        var o = 0
        while o < bytes.count {
          let n = min(1 << 22, bytes.count - o)
          let chunk = UnsafeRawBufferPointer(rebasing: bytes[o..<(o + n)])
          hasher.update(chunk)
          try bin.write(chunk)
          o += n
        }
        guard bytes.count == prefixes[k].bin.bytes, hasher.digest == prefixes[k].bin.checksum else {
          throw .io("\(prefixes[k].bin.path): this part is not the one its task wrote (size or checksum differs); run the same command again to redo that task")
        }
      }
      var out = MegatronIndex.header(dtype: dtype, sequences: sequences, documents: documents + 1)
      func flush(_ force: Bool = false) throws(WinnowError) {
        if out.count >= 1 << 20 || (force && !out.isEmpty) {
          try idx.write(bytes: out)
          out.removeAll(keepingCapacity: true)
        }
      }
      for p in parts {
        for s in 0..<p.sequenceCount {
          MegatronIndex.appendLE(Int32(p.sequenceLength(s)), &out)
          try flush()
        }
      }
      var pointer: Int64 = 0
      for p in parts {
        for s in 0..<p.sequenceCount {
          MegatronIndex.appendLE(pointer, &out)
          pointer += Int64(p.sequenceLength(s)) * Int64(dtype.size)
          try flush()
        }
      }
      MegatronIndex.appendLE(Int64(0), &out)
      var offset = 0
      for p in parts {
        if p.documentCount > 0 {
          for d in 1...p.documentCount {
            MegatronIndex.appendLE(Int64(offset + p.documentStart(d)), &out)
            try flush()
          }
        }
        offset += p.sequenceCount
      }
      try flush(true)
      try bin.finish()
      try idx.finish()
    } catch {
      bin.abort()
      idx.abort()
      throw error
    }
  }

  private func verify(_ f: WrittenFile) throws(WinnowError) {
    let m = try MappedFile(path: f.path)
    let h = XXH3.hash64(m.bytes)
    guard m.bytes.count == f.bytes, h == f.checksum else {
      throw .io("\(f.path): this part is not the one its task wrote (size or checksum differs); run the same command again to redo that task")
    }
  }
}

/// A read-only memory map of a whole file (empty files map to an empty buffer).
final class MappedFile: @unchecked Sendable {
  let bytes: UnsafeBufferPointer<UInt8>
  private let base: UnsafeMutableRawPointer?
  private let length: Int

  init(path: String) throws(WinnowError) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(path): cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .io("\(path): cannot stat: \(String(cString: strerror(errno)))") }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw .io("\(path): not a regular file") }
    length = Int(st.st_size)
    if length == 0 {
      base = nil
      bytes = UnsafeBufferPointer(start: nil, count: 0)
      return
    }
    guard let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
      throw .io("\(path): cannot map: \(String(cString: strerror(errno)))")
    }
    base = p
    bytes = UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: length)
  }

  deinit { if let base { munmap(base, length) } }
}

extension UnsafeBufferPointer where Element == UInt8 {
  /// A little-endian integer at byte `offset` (unaligned; the caller checked the bounds).
  @inline(__always)
  func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
    T(littleEndian: UnsafeRawPointer(baseAddress! + offset).loadUnaligned(as: T.self))
  }
}
