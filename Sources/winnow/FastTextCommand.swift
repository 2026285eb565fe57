import ArgumentParser
import Glibc
import WinnowFastText

/// `winnow fasttext …`: the fastText CLI's verbs with its arguments and output formats, so
/// scripts work with `winnow ` in front of `fasttext`. This version has `predict` and
/// `predict-prob`.
struct FastTextCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fasttext",
    abstract: "fastText models: the fastText CLI's verbs (predict, predict-prob), same arguments, same output.",
    subcommands: [FastTextPredict.self, FastTextPredictProb.self])
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

func runFastTextPredict(_ o: FastTextPredictOptions, probabilities: Bool) throws {
  guard let k = Int(o.k), k == -1 || k > 0 else { throw ValidationError("k must be a positive integer or -1") }
  guard let th = Float(o.threshold) else { throw ValidationError("threshold must be a number") }
  let model: FastTextModel
  do { model = try FastTextModel.load(path: o.model) } catch {
    FileHandleOut.error("winnow: error: \(error.message)\n")
    throw ExitCode(1)
  }
  let bytes: [UInt8]
  if o.input == "-" {
    bytes = readAll(fd: 0)
  } else {
    let fd = open(o.input, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      FileHandleOut.error("winnow: error: \(o.input): cannot open: \(String(cString: strerror(errno)))\n")
      throw ExitCode(1)
    }
    defer { close(fd) }
    bytes = readAll(fd: fd)
  }
  var reader = FastTextLineReader(bytes)
  var predictor = FastTextPredictor(model)
  var out: [UInt8] = []
  var buf = [CChar](repeating: 0, count: 64)
  var tokens: [(Int, Int)] = []
  while !reader.atEnd {
    reader.nextLine(into: &tokens)
    let predictions = predictor.predict(bytes: bytes, tokens: tokens, k: k, threshold: th)
    for (n, p) in predictions.enumerated() {
      if n > 0 { out.append(0x20) }
      out += predictor.label(p)
      if probabilities {
        // std::cout << float: %g, six significant digits.
        let len = Int(withVaList([Double(p.probability)]) { vsnprintf(&buf, 64, "%g", $0) })
        out.append(0x20)
        buf.withUnsafeBufferPointer { b in b.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: len) { out.append(contentsOf: UnsafeBufferPointer(start: $0, count: len)) } }
      }
    }
    out.append(0x0A)
    if out.count > 1 << 20 { try writeStandardOutput(&out) }
  }
  try writeStandardOutput(&out)
}

func readAll(fd: Int32) -> [UInt8] {
  var out: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 1 << 20)
  while true {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    out += chunk[0..<n]
  }
  return out
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
