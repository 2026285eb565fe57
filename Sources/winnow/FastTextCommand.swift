import ArgumentParser
import Glibc
import Winnow
import WinnowFastText

/// `winnow fasttext …`: the fastText CLI's verbs with its arguments and output formats, so
/// scripts work with `winnow ` in front of `fasttext`.
struct FastTextCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fasttext",
    abstract: "fastText classifiers and word vectors: the fastText CLI's verbs, same arguments, same output, same model files.",
    discussion: """
      Put `winnow ` in front of a fastText command line:
        winnow fasttext supervised -input train.txt -output model -wordNgrams 2 -thread 1
        winnow fasttext predict-prob model.bin test.txt 3
        winnow fasttext test model.bin test.txt
        winnow fasttext quantize -output model -input train.txt -retrain -qnorm -cutoff 100000
        winnow fasttext dump model.bin args
        winnow fasttext skipgram -input text.txt -output vectors -dim 100 -bucket 200000 -thread 1
        winnow fasttext print-sentence-vectors vectors.bin < text.txt
        echo linux | winnow fasttext nn vectors.bin 5
      Models are fastText 0.9.2 files (.bin, .ftz): the C++ fastText reads Winnow's and Winnow reads fastText's.
      predict, test and quantize need a classifier; the vector commands take any model.
      """,
    subcommands: [
      FastTextSupervised.self, FastTextSkipgram.self, FastTextCbow.self, FastTextPredict.self, FastTextPredictProb.self,
      FastTextTest.self, FastTextTestLabel.self, FastTextQuantize.self, FastTextDump.self, FastTextPrintWordVectors.self,
      FastTextPrintSentenceVectors.self, FastTextNearestNeighbours.self, FastTextAnalogies.self,
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

/// Runs a fastText argument parser, failing the command the way ArgumentParser fails it.
func fastTextArguments<T>(_ parse: () throws -> T) throws -> T {
  do { return try parse() } catch let error as FastTextArgumentError { throw ValidationError(error.message) }
}

func runFastTextPredict(_ o: FastTextPredictOptions, probabilities: Bool) throws {
  let k = try fastTextArguments { try FastTextArguments.k(o.k) }
  let th = try fastTextArguments { try FastTextArguments.threshold(o.threshold) }
  // Standard output appended to the file being read would be read again, without end.
  do throws(WinnowError) {
    try guardStandardOutput(against: [o.model, o.input].filter { $0 != "-" }.map { InputFile(path: $0) }, named: [])
  } catch { throw report(error) }
  let model = try loadFastTextModel(o.model)
  var predictor = FastTextPredictor(model)
  var out: [UInt8] = []
  try forEachFastTextChunk(o.input) { bytes in
    try predictor.appendPredictions(
      lines: bytes, k: k, threshold: th, probabilities: probabilities, to: &out, flush: writeStandardOutput)
  }
  try writeStandardOutput(&out)
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
