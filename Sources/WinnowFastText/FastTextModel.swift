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

/// What a model was trained for (header field `model`; the values are fastText's enum values):
/// word vectors by continuous bag of words or skip-gram, or a classifier.
public enum FastTextModelKind: Int32, Sendable {
  /// Word vectors by continuous bag of words (`fasttext cbow`).
  case cbow = 1
  /// Word vectors by skip-gram (`fasttext skipgram`).
  case skipgram = 2
  /// A classifier (`fasttext supervised`).
  case supervised = 3
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

  /// What the model was trained for.
  public var kind: FastTextModelKind { FastTextModelKind(rawValue: args.model) ?? .supervised }

  /// Loads a classifier's model file (a word-vector model is refused with an error that says so).
  public static func load(path: String) throws(FastTextError) -> FastTextModel {
    try load(try ModelReader(path: path))
  }

  /// Loads a model file of any kind: a classifier, or word vectors (`skipgram`, `cbow`) when
  /// `allowingUnsupervised`, for the commands and stages that only read vectors.
  public static func load(path: String, allowingUnsupervised: Bool) throws(FastTextError) -> FastTextModel {
    try load(try ModelReader(path: path), allowingUnsupervised: allowingUnsupervised)
  }

  /// Loads a model from the bytes of a model file; `name` stands for the file in errors.
  public static func load(bytes: [UInt8], name: String, allowingUnsupervised: Bool = false) throws(FastTextError) -> FastTextModel {
    try load(ModelReader(bytes: bytes, path: name), allowingUnsupervised: allowingUnsupervised)
  }

  static func load(_ reader: ModelReader, allowingUnsupervised: Bool = false) throws(FastTextError) -> FastTextModel {
    var r = reader
    guard try r.int32() == magic else { throw r.error("not a fastText model (wrong magic number)") }
    let version = try r.int32()
    guard version <= Self.version else {
      throw r.error("fastText model file format version \(version) is newer than 12")
    }
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
    try a.validate(r)
    let supervised = a.model == FastTextModelKind.supervised.rawValue
    guard supervised || allowingUnsupervised else {
      throw r.error("a word-vector model (header field 'model' is \(a.model)), not a classifier; this command needs a classifier")
    }
    if version == 11 { a.maxn = 0 }
    let stored = try StoredDictionary.read(&r, args: a)
    // Only a classifier's loss is used again (prediction, quantize's retraining).
    if supervised { try stored.validateForLoss(FastTextLoss(rawValue: a.loss)!, r) }
    let quantInput = try r.bool(field: "quant_input")
    if !quantInput && stored.pruneIndexSize >= 0 {
      throw r.error(
        "a pruned dictionary needs a quantized input matrix (dictionary field 'pruneidx_size' is \(stored.pruneIndexSize))"
      )
    }
    let input: FastTextMatrix =
      quantInput
      ? .quantized(try QuantMatrix.load(&r, name: "input matrix"))
      : .dense(try DenseMatrix.load(&r, name: "input matrix"))
    // Every row id the dictionary hands out (words, then hash buckets or the kept ones) must
    // be a row of the input matrix, and every row of it reachable.
    let inputRows = stored.inputRows(bucket: a.bucket)
    let rowsField =
      stored.pruneIndexSize < 0
      ? "nwords \(stored.nwords) + bucket \(a.bucket) need \(inputRows) (header field 'bucket')"
      : "nwords \(stored.nwords) + pruneidx_size \(stored.pruneIndexSize) need \(inputRows) (dictionary field 'pruneidx_size')"
    guard input.rows == inputRows else { throw r.error("input matrix has \(input.rows) rows, but \(rowsField)") }
    // Row ids are Int32s; only a file of more than 8 GiB could hold more rows.
    guard inputRows <= Int(Int32.max) else {
      throw r.error("input matrix has more rows than 2^31 - 1 ids can address: \(rowsField)")
    }
    guard input.columns == Int(a.dim) else {
      throw r.error("input matrix has \(input.columns) columns, but dim is \(a.dim) (header field 'dim')")
    }
    let qout = try r.bool(field: "qout")
    let output: FastTextMatrix =
      quantInput && qout
      ? .quantized(try QuantMatrix.load(&r, name: "output matrix"))
      : .dense(try DenseMatrix.load(&r, name: "output matrix"))
    // A classifier has an output row per label, a word-vector model one per word.
    if supervised {
      guard output.rows == stored.nlabels else {
        throw r.error(
          "output matrix has \(output.rows) rows, but there are \(stored.nlabels) labels (dictionary field 'nlabels')")
      }
    } else {
      guard output.rows == stored.nwords else {
        throw r.error("output matrix has \(output.rows) rows, but there are \(stored.nwords) words (dictionary field 'nwords')")
      }
    }
    guard output.columns == Int(a.dim) else {
      throw r.error("output matrix has \(output.columns) columns, but dim is \(a.dim) (header field 'dim')")
    }
    let dict = stored.dictionary(a)
    return FastTextModel(
      args: a, dictionary: dict, input: input, output: output, quantizedInput: quantInput,
      quantizedOutput: quantInput && qout)
  }
}

extension FastTextArgs {
  /// The header fields later code depends on. ws, epoch, minCount, wordNgrams, minn,
  /// lrUpdateRate and t take any value: supervised prediction ignores ws, minCount and t, every
  /// value of wordNgrams and minn is a valid (if useless) choice, quantize's retraining brings
  /// its own epoch, and any lrUpdateRate only changes how often progress is shared. maxn is
  /// checked with the words it applies to (`StoredDictionary.read`).
  func validate(_ r: ModelReader) throws(FastTextError) {
    guard FastTextModelKind(rawValue: model) != nil else {
      throw r.error("unknown model kind \(model) (header field 'model'; 1 cbow, 2 skipgram, 3 supervised)")
    }
    guard FastTextLoss(rawValue: loss) != nil else { throw r.error("unknown loss \(loss) (header field 'loss')") }
    guard dim >= 1 else { throw r.error("dim \(dim) is not positive (header field 'dim')") }
    guard bucket >= 0 else { throw r.error("bucket \(bucket) is negative (header field 'bucket')") }
    if loss == FastTextLoss.ns.rawValue && neg < 0 {
      throw r.error("loss ns with a negative number of negatives \(neg) (header field 'neg')")
    }
  }
}

/// Reads little-endian values from a whole model file held in memory. Every read is checked
/// against the bytes left, without overflow, so that the counts a file declares can be
/// compared with its length before anything is allocated for them.
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
    // Non-blocking, so that opening a FIFO returns at once and is refused below instead of
    // waiting for a writer; it changes nothing for a regular file.
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw FastTextError("\(path): cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw FastTextError("\(path): cannot stat: \(String(cString: strerror(errno)))") }
    // The file is read whole, at the size fstat gives: only a regular file has one.
    guard st.st_mode & S_IFMT == S_IFREG else {
      let what = st.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file"
      throw FastTextError("\(path): \(what)")
    }
    let size = Int(st.st_size)
    var b = [UInt8](repeating: 0, count: size)
    var readErrno: Int32 = 0
    let got = b.withUnsafeMutableBytes { raw -> Int in
      var done = 0
      while done < size {
        let n = read(fd, raw.baseAddress! + done, size - done)
        if n < 0 {
          if errno == EINTR { continue }
          readErrno = errno
          break
        }
        if n == 0 { break }
        done += n
      }
      return done
    }
    guard readErrno == 0 else { throw FastTextError("\(path): read failed: \(String(cString: strerror(readErrno)))") }
    guard got == size else {
      throw FastTextError("\(path): read failed: the file shrank while being read (\(got) of \(size) bytes)")
    }
    bytes = b
  }

  /// Bytes not yet read.
  var remaining: Int { bytes.count - pos }

  /// An error about this file.
  func error(_ message: String) -> FastTextError { FastTextError("\(path): \(message)") }

  mutating func take(_ n: Int) throws(FastTextError) -> Int {
    // `n <= remaining`, not `pos + n <= count`: a huge n must not wrap around.
    guard n >= 0, n <= remaining else { throw error("model file is truncated (at byte \(pos))") }
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
    return bytes.withUnsafeBytes {
      Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
    }
  }

  /// A C++ `bool`: fastText writes 0 or 1, and any other byte is a damaged file.
  mutating func bool(field: String) throws(FastTextError) -> Bool {
    let at = try take(1)
    guard bytes[at] <= 1 else { throw error("byte \(bytes[at]) at \(at) is not a boolean (field '\(field)')") }
    return bytes[at] == 1
  }

  mutating func uint8() throws(FastTextError) -> UInt8 { bytes[try take(1)] }

  mutating func floats(_ n: Int) throws(FastTextError) -> [Float] {
    guard n >= 0, n <= remaining / 4 else { throw error("model file is truncated (at byte \(pos))") }
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
    guard end < bytes.count else { throw error("model file is truncated (in a word)") }
    defer { pos = end + 1 }
    return Array(bytes[pos..<end])
  }
}

/// `a * b`, or nil when it overflows.
@inline(__always)
func checkedProduct(_ a: Int, _ b: Int) -> Int? {
  let (p, overflow) = a.multipliedReportingOverflow(by: b)
  return overflow ? nil : p
}

/// `a + b`, or nil when it overflows.
@inline(__always)
func checkedSum(_ a: Int, _ b: Int) -> Int? {
  let (s, overflow) = a.addingReportingOverflow(b)
  return overflow ? nil : s
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
