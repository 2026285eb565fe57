import Glibc

/// A fastText error: a file that is not a model, a truncated one, a bad argument.
public struct FastTextError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The loss a supervised model was trained with (the values are fastText's enum values).
public enum FastTextLoss: Int32, Sendable {
  case hs = 1, ns = 2, softmax = 3, ova = 4
}

/// The 13 stored training arguments of a model (`args.cc Args::save`).
public struct FastTextArgs: Sendable, Equatable {
  public var dim: Int32 = 100
  public var ws: Int32 = 5
  public var epoch: Int32 = 5
  public var minCount: Int32 = 1
  public var neg: Int32 = 5
  public var wordNgrams: Int32 = 1
  public var loss: Int32 = FastTextLoss.softmax.rawValue
  public var model: Int32 = 3
  public var bucket: Int32 = 2_000_000
  public var minn: Int32 = 0
  public var maxn: Int32 = 0
  public var lrUpdateRate: Int32 = 100
  public var t: Double = 1e-4
  public init() {}
}

/// A fastText model (`.bin` or quantized `.ftz`, format versions 11 and 12): arguments,
/// dictionary, input and output matrices. Read as fastText 0.9.2 reads it
/// (`FastText::loadModel`).
public final class FastTextModel: @unchecked Sendable {
  public static let magic: Int32 = 793_712_314
  public static let version: Int32 = 12

  public var args: FastTextArgs
  public var dictionary: FastTextDictionary
  public var input: FastTextMatrix
  public var output: FastTextMatrix
  public var quantizedInput: Bool
  public var quantizedOutput: Bool
  public let labelPrefix = Array("__label__".utf8)

  init(args: FastTextArgs, dictionary: FastTextDictionary, input: FastTextMatrix, output: FastTextMatrix, quantizedInput: Bool, quantizedOutput: Bool) {
    self.args = args
    self.dictionary = dictionary
    self.input = input
    self.output = output
    self.quantizedInput = quantizedInput
    self.quantizedOutput = quantizedOutput
  }

  public var loss: FastTextLoss { FastTextLoss(rawValue: args.loss) ?? .softmax }

  /// Loads a model file.
  public static func load(path: String) throws(FastTextError) -> FastTextModel {
    try load(try ModelReader(path: path))
  }

  /// Loads a model from the bytes of a model file; `name` stands for the file in errors.
  public static func load(bytes: [UInt8], name: String) throws(FastTextError) -> FastTextModel {
    try load(ModelReader(bytes: bytes, path: name))
  }

  static func load(_ reader: ModelReader) throws(FastTextError) -> FastTextModel {
    var r = reader
    let path = r.path
    guard try r.int32() == magic else { throw FastTextError("\(path): not a fastText model (wrong magic number)") }
    let version = try r.int32()
    guard version <= Self.version else { throw FastTextError("\(path): fastText model file format version \(version) is newer than 12") }
    var a = FastTextArgs()
    a.dim = try r.int32()
    a.ws = try r.int32()
    a.epoch = try r.int32()
    a.minCount = try r.int32()
    a.neg = try r.int32()
    a.wordNgrams = try r.int32()
    a.loss = try r.int32()
    a.model = try r.int32()
    a.bucket = try r.int32()
    a.minn = try r.int32()
    a.maxn = try r.int32()
    a.lrUpdateRate = try r.int32()
    a.t = try r.double()
    guard a.model == 3 else { throw FastTextError("\(path): not a supervised model (model \(a.model)); only classifiers are supported") }
    guard FastTextLoss(rawValue: a.loss) != nil else { throw FastTextError("\(path): unknown loss \(a.loss)") }
    if version == 11 { a.maxn = 0 }
    let dict = try FastTextDictionary.load(&r, args: a)
    let quantInput = try r.bool()
    if !quantInput && dict.pruneIndexSize >= 0 { throw FastTextError("\(path): invalid model file (pruned dictionary, dense input)") }
    let input: FastTextMatrix = quantInput ? .quantized(try QuantMatrix.load(&r)) : .dense(try DenseMatrix.load(&r))
    let qout = try r.bool()
    let output: FastTextMatrix = quantInput && qout ? .quantized(try QuantMatrix.load(&r)) : .dense(try DenseMatrix.load(&r))
    guard input.columns == Int(a.dim), output.columns == Int(a.dim) else {
      throw FastTextError("\(path): matrix width does not match dim \(a.dim)")
    }
    guard output.rows == dict.nlabels else { throw FastTextError("\(path): output rows \(output.rows) ≠ labels \(dict.nlabels)") }
    return FastTextModel(args: a, dictionary: dict, input: input, output: output, quantizedInput: quantInput, quantizedOutput: quantInput && qout)
  }
}

/// Reads little-endian values from a whole model file held in memory.
struct ModelReader {
  let path: String
  let bytes: [UInt8]
  var pos = 0

  init(bytes: [UInt8], path: String) {
    self.bytes = bytes
    self.path = path
  }

  init(path: String) throws(FastTextError) {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FastTextError("\(path): cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    fstat(fd, &st)
    let size = Int(st.st_size)
    var b = [UInt8](repeating: 0, count: size)
    let got = b.withUnsafeMutableBytes { raw -> Int in
      var done = 0
      while done < size {
        let n = read(fd, raw.baseAddress! + done, size - done)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        done += n
      }
      return done
    }
    guard got == size else { throw FastTextError("\(path): read failed") }
    bytes = b
  }

  mutating func take(_ n: Int) throws(FastTextError) -> Int {
    guard n >= 0, pos + n <= bytes.count else { throw FastTextError("\(path): model file is truncated (at byte \(pos))") }
    defer { pos += n }
    return pos
  }

  mutating func int32() throws(FastTextError) -> Int32 {
    let at = try take(4)
    return bytes.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: Int32.self)) }
  }

  mutating func int64() throws(FastTextError) -> Int64 {
    let at = try take(8)
    return bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: Int64.self)) }
  }

  mutating func double() throws(FastTextError) -> Double {
    let at = try take(8)
    return bytes.withUnsafeBytes { Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self))) }
  }

  mutating func bool() throws(FastTextError) -> Bool { bytes[try take(1)] != 0 }
  mutating func uint8() throws(FastTextError) -> UInt8 { bytes[try take(1)] }

  mutating func floats(_ n: Int) throws(FastTextError) -> [Float] {
    let at = try take(n * 4)
    // The file is little-endian, as this machine is.
    return [Float](unsafeUninitializedCapacity: n) { out, count in
      bytes.withUnsafeBytes { raw in
        if n > 0 { memcpy(out.baseAddress!, raw.baseAddress! + at, 4 * n) }
      }
      count = n
    }
  }

  mutating func raw(_ n: Int) throws(FastTextError) -> ArraySlice<UInt8> {
    let at = try take(n)
    return bytes[at..<(at + n)]
  }

  /// A NUL-terminated byte string.
  mutating func cString() throws(FastTextError) -> [UInt8] {
    var end = pos
    while end < bytes.count && bytes[end] != 0 { end += 1 }
    guard end < bytes.count else { throw FastTextError("\(path): model file is truncated (in a word)") }
    defer { pos = end + 1 }
    return Array(bytes[pos..<end])
  }
}

extension FastTextModel {
  /// Word `id`'s vector: the mean of its input rows, the word's and its char n-grams'
  /// (`FastText::getWordVector`).
  public func wordVector(_ id: Int) -> [Float] {
    var v = [Float](repeating: 0, count: Int(args.dim))
    let rows = dictionary.subwords(id)
    v.withUnsafeMutableBufferPointer { p in
      for r in rows { input.addRow(Int(r), to: p.baseAddress!) }
      let inv = Float(1.0 / Double(rows.count))
      for j in 0..<p.count { p[j] *= inv }
    }
    return v
  }
}
