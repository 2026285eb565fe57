import ArgumentParser
import CNumberFormat
import Glibc
import Winnow
import WinnowFastText

/// `winnow fasttext …`: the fastText CLI's verbs with its arguments and output formats, so
/// scripts work with `winnow ` in front of `fasttext`.
struct FastTextCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fasttext",
    abstract: "fastText classifiers: the fastText CLI's verbs, same arguments, same output, same model files.",
    discussion: """
      Put `winnow ` in front of a fastText command line:
        winnow fasttext supervised -input train.txt -output model -wordNgrams 2 -thread 1
        winnow fasttext predict-prob model.bin test.txt 3
        winnow fasttext test model.bin test.txt
        winnow fasttext quantize -output model -input train.txt -retrain -qnorm -cutoff 100000
        winnow fasttext dump model.bin args
      Models are fastText 0.9.2 files (.bin, .ftz): the C++ fastText reads Winnow's and Winnow reads fastText's.
      Only supervised (classifier) models are supported.
      """,
    subcommands: [
      FastTextSupervised.self, FastTextPredict.self, FastTextPredictProb.self, FastTextTest.self, FastTextTestLabel.self,
      FastTextQuantize.self, FastTextDump.self,
    ])
}

/// MODEL FILE [k] [th], as fastText's CLI takes them (positionally, so that `-1` is a value).
struct FastTextPredictOptions: ParsableArguments {
  @Argument(
    parsing: .captureForPassthrough,
    help: "MODEL (.bin or .ftz), FILE (one example per line; '-' for standard input), k (labels per line, -1: all; default 1), th (probability threshold; default 0.0).")
  var arguments: [String] = []

  func validate() throws {
    guard (2...4).contains(arguments.count) else { throw ValidationError("usage: MODEL FILE [k] [th]") }
  }

  var model: String { arguments[0] }
  var input: String { arguments[1] }
  var k: String { arguments.count > 2 ? arguments[2] : "1" }
  var threshold: String { arguments.count > 3 ? arguments[3] : "0.0" }
}

/// Fails the command with `winnow: error: …` on standard error and exit status 1.
func fastTextFailure(_ message: String) -> ExitCode {
  FileHandleOut.error("winnow: error: \(message)\n")
  return ExitCode(1)
}

func loadFastTextModel(_ path: String) throws -> FastTextModel {
  do { return try FastTextModel.load(path: path) } catch { throw fastTextFailure(error.message) }
}

/// Reads an input file (or standard input for `-`) in pieces of whole lines, so that a large
/// file is never held in memory at once. Cutting after a newline changes nothing: fastText's
/// lines end there anyway.
func forEachFastTextChunk(_ path: String, _ body: ([UInt8]) throws -> Void) throws {
  let fd: Int32
  if path == "-" {
    fd = 0
  } else {
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw fastTextFailure("\(path): cannot open: \(String(cString: strerror(errno)))") }
  }
  defer { if fd != 0 { close(fd) } }
  let blockSize = 4 << 20
  var pending: [UInt8] = []
  var block = [UInt8](repeating: 0, count: blockSize)
  while true {
    let n = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, blockSize) }
    if n < 0 && errno == EINTR { continue }
    if n < 0 { throw fastTextFailure("\(path): read failed: \(String(cString: strerror(errno)))") }
    if n == 0 { break }
    let got = block[0..<n]
    guard let lastNewline = got.lastIndex(of: 0x0A) else {
      pending += got
      continue
    }
    pending += got[...lastNewline]
    try body(pending)
    pending.removeAll(keepingCapacity: true)
    pending += got[(lastNewline + 1)...]
  }
  if !pending.isEmpty { try body(pending) }
}

func parseK(_ s: String) throws -> Int {
  guard let k = Int(s), k == -1 || k > 0 else { throw ValidationError("k must be a positive integer or -1") }
  return k
}

func parseThreshold(_ s: String) throws -> Float {
  guard let th = Float(s) else { throw ValidationError("threshold must be a number") }
  return th
}

func runFastTextPredict(_ o: FastTextPredictOptions, probabilities: Bool) throws {
  let k = try parseK(o.k)
  let th = try parseThreshold(o.threshold)
  // Standard output appended to the file being read would be read again, without end.
  do throws(WinnowError) {
    try guardStandardOutput(against: [o.model, o.input].filter { $0 != "-" }.map { InputFile(path: $0) }, named: [])
  } catch { throw report(error) }
  let model = try loadFastTextModel(o.model)
  var predictor = FastTextPredictor(model)
  var out: [UInt8] = []
  var buf = [CChar](repeating: 0, count: 64)
  var tokens: [(Int, Int)] = []
  try forEachFastTextChunk(o.input) { bytes in
    var reader = FastTextLineReader(bytes)
    while !reader.atEnd {
      reader.nextLine(into: &tokens)
      let predictions = predictor.predict(bytes: bytes, tokens: tokens, k: k, threshold: th)
      for (n, p) in predictions.enumerated() {
        if n > 0 { out.append(0x20) }
        out += predictor.label(p)
        if probabilities {
          // std::cout << float: %g, six significant digits.
          out.append(0x20)
          appendFormatted(&out, &buf, precision: 6, Double(p.probability))
        }
      }
      out.append(0x0A)
      if out.count > 1 << 20 { try writeStandardOutput(&out) }
    }
  }
  try writeStandardOutput(&out)
}

/// Appends `value` printed as C's `%.<precision>g` (`std::ostream` with that precision), or
/// `%.<precision>f` when `fixed`.
@inline(__always)
func appendFormatted(_ out: inout [UInt8], _ buf: inout [CChar], precision: Int32, fixed: Bool = false, _ value: Double) {
  buf.withUnsafeMutableBufferPointer { b in
    let len =
      fixed
      ? winnow_format_f(value, precision, b.baseAddress!, b.count) : winnow_format_g(value, precision, b.baseAddress!, b.count)
    b.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: len) { out.append(contentsOf: UnsafeBufferPointer(start: $0, count: len)) }
  }
}

func formatted(precision: Int32, fixed: Bool = false, _ value: Double) -> String {
  var out: [UInt8] = []
  var buf = [CChar](repeating: 0, count: 400)
  appendFormatted(&out, &buf, precision: precision, fixed: fixed, value)
  return String(decoding: out, as: UTF8.self)
}

enum FileHandleOut {
  static func error(_ s: String) {
    var b = Array(s.utf8)
    _ = b.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
  }
}

struct FastTextPredict: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "predict", abstract: "Print the k most likely labels of each line (fasttext predict MODEL FILE [k] [th]).")
  @OptionGroup var options: FastTextPredictOptions
  func run() throws { try runFastTextPredict(options, probabilities: false) }
}

struct FastTextPredictProb: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "predict-prob",
    abstract: "Print the k most likely labels of each line with their probabilities (fasttext predict-prob MODEL FILE [k] [th]).")
  @OptionGroup var options: FastTextPredictOptions
  func run() throws { try runFastTextPredict(options, probabilities: true) }
}
