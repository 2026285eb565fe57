import ArgumentParser
import Glibc
import Winnow
import WinnowFastText

struct FastTextSupervised: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "supervised",
    abstract: "Train a classifier (fasttext supervised -input FILE -output PREFIX [flags]); writes PREFIX.bin and PREFIX.vec.",
    discussion: """
      Flags (fastText's names and defaults): -input -output -lr 0.1 -lrUpdateRate 100 -dim 100 -ws 5 -epoch 5
      -minCount 1 -minCountLabel 0 -neg 5 -wordNgrams 1 -loss softmax|hs|ns|ova -bucket 2000000 -minn 0 -maxn 0
      -thread 12 -t 0.0001 -label __label__ -verbose 2 -seed 0 -saveOutput.
      With -thread 1 the model is the same, byte for byte, as the one fastText 0.9.2 writes with the same
      flags. With more threads the threads update the weights without locks, as fastText's do, so runs differ.
      """)

  @Argument(parsing: .captureForPassthrough, help: "fastText flags, e.g. -input train.txt -output model -epoch 25 -wordNgrams 2.")
  var arguments: [String] = []

  func run() throws { try runFastTextTraining(arguments, command: .supervised) }
}

/// The flags `supervised`, `skipgram` and `cbow` share.
let fastTextTrainingFlagsHelp = """
  Flags (fastText's names): -input -output -lr -lrUpdateRate 100 -dim 100 -ws 5 -epoch 5 -minCount -minCountLabel 0
  -neg 5 -wordNgrams 1 -loss softmax|hs|ns|ova -bucket 2000000 -minn -maxn -thread 12 -t 0.0001 -label __label__
  -verbose 2 -seed 0 -saveOutput (also writes PREFIX.output, the output matrix as text).
  """

struct FastTextSkipgram: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "skipgram",
    abstract: "Train word vectors with skip-gram (fasttext skipgram -input FILE -output PREFIX [flags]); writes PREFIX.bin and PREFIX.vec.",
    discussion: fastTextTrainingFlagsHelp + """
      Defaults for word vectors: -lr 0.05 -minCount 5 -minn 3 -maxn 6 -loss ns (and -bucket 2000000: a
      100-dimensional model then holds 2,000,000 n-gram rows, 800 MB; give -bucket to shrink it).
      With -thread 1 the model is the same, byte for byte, as the one fastText 0.9.2 writes with the same flags.
      """)
  @Argument(parsing: .captureForPassthrough, help: "fastText flags, e.g. -input text.txt -output vectors -dim 100 -epoch 5.")
  var arguments: [String] = []
  func run() throws { try runFastTextTraining(arguments, command: .skipgram) }
}

struct FastTextCbow: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cbow",
    abstract: "Train word vectors with continuous bag of words (fasttext cbow -input FILE -output PREFIX [flags]); writes PREFIX.bin and PREFIX.vec.",
    discussion: fastTextTrainingFlagsHelp + """
      Defaults for word vectors: -lr 0.05 -minCount 5 -minn 3 -maxn 6 -loss ns.
      With -thread 1 the model is the same, byte for byte, as the one fastText 0.9.2 writes with the same flags.
      """)
  @Argument(parsing: .captureForPassthrough, help: "fastText flags, e.g. -input text.txt -output vectors -dim 100 -epoch 5.")
  var arguments: [String] = []
  func run() throws { try runFastTextTraining(arguments, command: .cbow) }
}

/// `supervised`, `skipgram`, `cbow`: trains, then writes PREFIX.bin, PREFIX.vec and, with
/// -saveOutput, PREFIX.output, each atomically.
func runFastTextTraining(_ arguments: [String], command: FastTextArguments.Command) throws {
  let flags = try fastTextArguments { try FastTextArguments(arguments, command: command) }
  guard !flags.options.input.isEmpty, !flags.output.isEmpty else {
    throw ValidationError("-input and -output are required (winnow fasttext \(flags.options.model) -input FILE -output PREFIX)")
  }
  var outputs = [flags.output + ".bin", flags.output + ".vec"]
  if flags.saveOutput { outputs.append(flags.output + ".output") }
  try guardFastTextOutputs(outputs, reading: [flags.options.input])
  let verbose = flags.options.verbose
  let (model, report): (FastTextModel, FastTextTrainer.Report)
  do {
    (model, report) = try FastTextTrainer.train(flags.options, log: verbose > 0 ? { FileHandleOut.error($0 + "\n") } : nil)
  } catch { throw fastTextFailure(error.message) }
  do {
    try writeFileAtomically(flags.output + ".bin", model.serialized())
    try writeFileAtomically(flags.output + ".vec", model.wordVectorsText())
    if flags.saveOutput { try writeFileAtomically(flags.output + ".output", try model.outputVectorsText()) }
  } catch { throw fastTextFailure("\(error)") }
  if verbose > 1 {
    let perThread = Double(report.tokens) * Double(flags.options.epoch) / max(report.seconds, 1e-9) / Double(flags.options.thread)
    FileHandleOut.error(
      "Progress: 100.0% words/sec/thread: \(Int(perThread)) lr: 0.000000 avg.loss: \(FastTextNumberFormat.string(Double(report.averageLoss), precision: 6, fixed: true)) "
        + "time: \(FastTextNumberFormat.string(report.seconds, precision: 2, fixed: true))s\n")
  }
}

/// `test` and `test-label`: `FastTextMeter` over the file, its report on standard output.
func runFastTextTest(_ arguments: [String], perLabel: Bool) throws {
  guard (2...4).contains(arguments.count) else { throw ValidationError("usage: MODEL FILE [k] [th]") }
  let k = try fastTextArguments {
    try FastTextArguments.k(arguments.count > 2 ? arguments[2] : "1")
  }
  let th = try fastTextArguments {
    try FastTextArguments.threshold(arguments.count > 3 ? arguments[3] : "0.0")
  }
  let model = try loadFastTextModel(arguments[0])
  var predictor = FastTextPredictor(model)
  var meter = FastTextMeter(labels: model.dictionary.nlabels)
  try forEachFastTextChunk(arguments[1]) { bytes in meter.log(lines: bytes, &predictor, k: k, threshold: th) }
  var b = Array(meter.report(k: k, perLabel: perLabel, dictionary: model.dictionary).utf8)
  try writeStandardOutput(&b)
}

struct FastTextTest: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "test", abstract: "Precision and recall at k on a labelled file (fasttext test MODEL FILE [k] [th]).")
  @Argument(parsing: .captureForPassthrough, help: "MODEL FILE [k] [th]")
  var arguments: [String] = []
  func run() throws { try runFastTextTest(arguments, perLabel: false) }
}

struct FastTextTestLabel: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "test-label",
    abstract: "Per-label metrics then precision and recall at k (fasttext test-label MODEL FILE [k] [th]).",
    discussion: "Prints what fastText 0.9.2 prints, including its per-label recall (always '--------') and F1 (2 × precision).")
  @Argument(parsing: .captureForPassthrough, help: "MODEL FILE [k] [th]")
  var arguments: [String] = []
  func run() throws { try runFastTextTest(arguments, perLabel: true) }
}

struct FastTextDump: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dump", abstract: "Print a model's args, dict, input or output matrix (fasttext dump MODEL args|dict|input|output).")
  @Argument(parsing: .captureForPassthrough, help: "MODEL args|dict|input|output")
  var arguments: [String] = []

  func run() throws {
    guard arguments.count == 2, ["args", "dict", "input", "output"].contains(arguments[1]) else {
      throw ValidationError("usage: winnow fasttext dump MODEL args|dict|input|output")
    }
    let model = try loadFastTextVectorModel(arguments[0])
    var out: [UInt8] = []
    switch arguments[1] {
    case "args": out = model.dumpedArgs()
    case "dict": out = model.dumpedDictionary()
    default:
      guard try model.appendDumpedMatrix(input: arguments[1] == "input", to: &out, flush: writeStandardOutput) else {
        FileHandleOut.error("Not supported for quantized models.\n")
        return
      }
    }
    try writeStandardOutput(&out)
  }
}

struct FastTextQuantize: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "quantize",
    abstract: "Compress PREFIX.bin into PREFIX.ftz (fasttext quantize -output PREFIX [-input FILE] [flags]).",
    discussion: """
      Flags: -output PREFIX (reads PREFIX.bin, writes PREFIX.ftz), -cutoff N (keep the N input rows of largest
      norm), -retrain (then retrain them on -input, with -epoch 5 -lr 0.05 -thread 12 unless given), -qnorm
      (quantize row norms separately), -qout (quantize the output matrix too; needs 256 labels), -dsub 2.
      With -thread 1 the .ftz equals fastText's except for the order in which the kept n-gram buckets are
      listed; predictions are identical.
      """)

  @Argument(parsing: .captureForPassthrough, help: "fastText flags, e.g. -output model -input train.txt -cutoff 100000 -retrain -qnorm.")
  var arguments: [String] = []

  func run() throws {
    let flags = try fastTextArguments { try FastTextArguments(arguments, command: .quantize) }
    guard !flags.output.isEmpty else { throw ValidationError("-output is required (winnow fasttext quantize -output PREFIX)") }
    try guardFastTextOutputs([flags.output + ".ftz"], reading: [flags.output + ".bin", flags.options.input])
    let model = try loadFastTextModel(flags.output + ".bin")
    let quantized: FastTextModel
    do { quantized = try model.quantized(flags.quantizeOptions) } catch { throw fastTextFailure(error.message) }
    do { try writeFileAtomically(flags.output + ".ftz", quantized.serialized()) } catch { throw fastTextFailure(error.message) }
  }
}

/// Refuses, before any work, fastText outputs that would replace a file the command reads
/// (`-input model.bin -output model`), exit 2.
func guardFastTextOutputs(_ outputs: [String], reading inputs: [String]) throws {
  var g = OutputGuard()
  for i in inputs where !i.isEmpty && i != "-" { g.inputs.append(OutputGuard.Input(role: "input", path: i, isDirectory: false)) }
  for o in outputs { g.addOutput(o, role: "output", isDirectory: false) }
  do throws(WinnowError) { try g.check() } catch { throw report(error) }
}
