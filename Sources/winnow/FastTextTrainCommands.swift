import ArgumentParser
import Glibc
import Winnow
import WinnowFastText

/// fastText's single-dash flags (`args.cc Args::parseArgs`): `-name value`, and a few flags
/// with no value. Values are parsed as fastText parses them (`stoi`, `stof`).
struct FastTextFlags {
  var options = FastTextTrainingOptions()
  var output = ""
  var saveOutput = false
  // quantize
  var cutoff = 0
  var dsub: Int32 = 2
  var qnorm = false
  var qout = false
  var retrain = false
  var given: Set<String> = []

  static let booleans: Set<String> = ["-saveOutput", "-qnorm", "-qout", "-retrain"]

  /// Parses `arguments`, starting from the defaults of `command` (`supervised` or `quantize`).
  init(_ arguments: [String], command: String) throws {
    if command == "quantize" {
      // Not `supervised`: the generic defaults apply to retraining.
      options.lr = 0.05
      options.minCount = 5
      options.minn = 3
      options.maxn = 6
      options.loss = .ns
    }
    var i = 0
    while i < arguments.count {
      let name = arguments[i]
      guard name.hasPrefix("-"), name.count > 1 else { throw ValidationError("expected a flag such as -input, got '\(name)'") }
      if Self.booleans.contains(name) {
        switch name {
        case "-saveOutput": saveOutput = true
        case "-qnorm": qnorm = true
        case "-qout": qout = true
        default: retrain = true
        }
        given.insert(name)
        i += 1
        continue
      }
      guard i + 1 < arguments.count else { throw ValidationError("\(name) needs a value") }
      let value = arguments[i + 1]
      func int() throws -> Int32 {
        guard let v = Int32(value) else { throw ValidationError("\(name) needs an integer, got '\(value)'") }
        return v
      }
      func real() throws -> Double {
        // stof: the value is a float, widened to double.
        guard let v = Float(value) else { throw ValidationError("\(name) needs a number, got '\(value)'") }
        return Double(v)
      }
      switch name {
      case "-input": options.input = value
      case "-output": output = value
      case "-lr": options.lr = try real()
      case "-lrUpdateRate": options.lrUpdateRate = try int()
      case "-dim": options.dim = try int()
      case "-ws": options.ws = try int()
      case "-epoch": options.epoch = try int()
      case "-minCount": options.minCount = try int()
      case "-minCountLabel": options.minCountLabel = try int()
      case "-neg": options.neg = try int()
      case "-wordNgrams": options.wordNgrams = try int()
      case "-loss":
        switch value {
        case "hs": options.loss = .hs
        case "ns": options.loss = .ns
        case "softmax": options.loss = .softmax
        case "ova", "one-vs-all": options.loss = .ova
        default: throw ValidationError("-loss must be softmax, hs, ns or ova, got '\(value)'")
        }
      case "-bucket": options.bucket = try int()
      case "-minn": options.minn = try int()
      case "-maxn": options.maxn = try int()
      case "-thread": options.thread = try int()
      case "-t": options.t = try real()
      case "-label": options.label = value
      case "-verbose": options.verbose = try int()
      case "-seed": options.seed = try int()
      case "-cutoff": cutoff = Int(try int())
      case "-dsub": dsub = try int()
      case "-pretrainedVectors", "-autotune-validation", "-autotune-metric", "-autotune-predictions", "-autotune-duration",
        "-autotune-modelsize":
        throw ValidationError("\(name) is not supported by winnow fasttext")
      default: throw ValidationError("unknown argument \(name)")
      }
      given.insert(name)
      i += 2
    }
  }
}

/// The `.vec` file `fasttext supervised` writes beside the model: each word and the mean of
/// its input rows, printed with 5 significant digits.
func wordVectors(_ model: FastTextModel) -> [UInt8] {
  var out = Array("\(model.dictionary.nwords) \(model.args.dim)\n".utf8)
  var buf = [CChar](repeating: 0, count: 64)
  for id in 0..<model.dictionary.nwords {
    out += model.dictionary.entries[id].word
    out.append(0x20)
    for v in model.wordVector(id) {
      appendFormatted(&out, &buf, precision: 5, Double(v))
      out.append(0x20)
    }
    out.append(0x0A)
  }
  return out
}

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

  func run() throws {
    let flags = try FastTextFlags(arguments, command: "supervised")
    guard !flags.options.input.isEmpty, !flags.output.isEmpty else {
      throw ValidationError("-input and -output are required (winnow fasttext supervised -input FILE -output PREFIX)")
    }
    if flags.saveOutput { throw ValidationError("-saveOutput is not supported for supervised models") }
    try guardFastTextOutputs([flags.output + ".bin", flags.output + ".vec"], reading: [flags.options.input])
    let verbose = flags.options.verbose
    let (model, report): (FastTextModel, FastTextTrainer.Report)
    do {
      (model, report) = try FastTextTrainer.train(flags.options, log: verbose > 0 ? { FileHandleOut.error($0 + "\n") } : nil)
    } catch { throw fastTextFailure(error.message) }
    do { try writeFileAtomically(flags.output + ".bin", model.serialized()) } catch { throw fastTextFailure(error.message) }
    do { try writeFileAtomically(flags.output + ".vec", wordVectors(model)) } catch { throw fastTextFailure(error.message) }
    if verbose > 1 {
      let perThread = Double(report.tokens) * Double(flags.options.epoch) / max(report.seconds, 1e-9) / Double(flags.options.thread)
      FileHandleOut.error(
        "Progress: 100.0% words/sec/thread: \(Int(perThread)) lr: 0.000000 avg.loss: \(formatted(precision: 6, fixed: true, Double(report.averageLoss))) "
          + "time: \(formatted(precision: 2, fixed: true, report.seconds))s\n")
    }
  }
}

/// `test` and `test-label` (`main.cc test`, `Meter`): precision and recall at k over the lines
/// that have a known label and at least one input row.
func runFastTextTest(_ arguments: [String], perLabel: Bool) throws {
  guard (2...4).contains(arguments.count) else { throw ValidationError("usage: MODEL FILE [k] [th]") }
  let k = try parseK(arguments.count > 2 ? arguments[2] : "1")
  let th = try parseThreshold(arguments.count > 3 ? arguments[3] : "0.0")
  let model = try loadFastTextModel(arguments[0])
  var predictor = FastTextPredictor(model)
  var meter = FastTextMeter(labels: model.dictionary.nlabels)
  var tokens: [(Int, Int)] = []
  try forEachFastTextChunk(arguments[1]) { bytes in
    var reader = FastTextLineReader(bytes)
    while !reader.atEnd {
      reader.nextLine(into: &tokens)
      let (rows, gold) = predictor.rowsAndLabels(bytes: bytes, tokens: tokens)
      guard !gold.isEmpty, !rows.isEmpty else { continue }
      meter.log(gold: gold, predictions: predictor.predict(rows: rows, k: k, threshold: th))
    }
  }
  var out = ""
  if perLabel {
    func metric(_ name: String, _ value: Double) -> String {
      name + " : " + (value.isFinite ? formatted(precision: 6, fixed: true, value) : "--------") + "  "
    }
    for label in 0..<model.dictionary.nlabels {
      let m = meter.perLabel[label]
      out += metric("F1-Score", m.f1) + metric("Precision", m.precision) + metric("Recall", m.recall)
      out += " " + String(decoding: model.dictionary.entries[model.dictionary.nwords + label].word, as: UTF8.self) + "\n"
    }
  }
  out += "N\t\(meter.examples)\n"
  out += "P@\(k)\t\(formatted(precision: 3, fixed: perLabel, meter.total.precision))\n"
  out += "R@\(k)\t\(formatted(precision: 3, fixed: perLabel, meter.total.recall))\n"
  var b = Array(out.utf8)
  try writeStandardOutput(&b)
}

/// fastText 0.9.2's `Meter(false)`: per-label gold counts are never taken, so per-label recall
/// is undefined and per-label F1 is twice the precision. Reproduced, not fixed, so that
/// `test-label` prints what fastText prints.
struct FastTextMeter {
  struct Counts {
    var gold = 0
    var predicted = 0
    var predictedGold = 0
    var precision: Double { predicted == 0 ? .nan : Double(predictedGold) / Double(predicted) }
    var recall: Double { gold == 0 ? .nan : Double(predictedGold) / Double(gold) }
    var f1: Double { predicted + gold == 0 ? .nan : 2 * Double(predictedGold) / Double(predicted + gold) }
  }
  var total = Counts()
  var perLabel: [Counts]
  var examples = 0

  init(labels: Int) { perLabel = [Counts](repeating: Counts(), count: labels) }

  mutating func log(gold: [Int32], predictions: [FastTextPredictor.Prediction]) {
    examples += 1
    total.gold += gold.count
    total.predicted += predictions.count
    for p in predictions {
      perLabel[p.label].predicted += 1
      if gold.contains(Int32(p.label)) {
        perLabel[p.label].predictedGold += 1
        total.predictedGold += 1
      }
    }
  }
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
    let model = try loadFastTextModel(arguments[0])
    var out: [UInt8] = []
    switch arguments[1] {
    case "args":
      let a = model.args
      let loss = ["", "hs", "ns", "softmax", "one-vs-all"][Int(a.loss)]
      out = Array(
        """
        dim \(a.dim)
        ws \(a.ws)
        epoch \(a.epoch)
        minCount \(a.minCount)
        neg \(a.neg)
        wordNgrams \(a.wordNgrams)
        loss \(loss)
        model sup
        bucket \(a.bucket)
        minn \(a.minn)
        maxn \(a.maxn)
        lrUpdateRate \(a.lrUpdateRate)
        t \(formatted(precision: 6, a.t))

        """.utf8)
    case "dict":
      out = Array("\(model.dictionary.entries.count)\n".utf8)
      for e in model.dictionary.entries {
        out += e.word
        out += Array(" \(e.count) \(e.isLabel ? "label" : "word")\n".utf8)
      }
    default:
      // fastText refuses both matrices of a model whose input is quantized.
      let matrix = arguments[1] == "input" ? model.input : model.output
      guard !model.quantizedInput, case .dense(let m) = matrix else {
        FileHandleOut.error("Not supported for quantized models.\n")
        return
      }
      out = Array("\(m.rows) \(m.columns)\n".utf8)
      var buf = [CChar](repeating: 0, count: 64)
      for i in 0..<m.rows {
        for j in 0..<m.columns {
          if j > 0 { out.append(0x20) }
          appendFormatted(&out, &buf, precision: 6, Double(m.data[i * m.columns + j]))
        }
        out.append(0x0A)
        if out.count > 1 << 20 { try writeStandardOutput(&out) }
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
    let flags = try FastTextFlags(arguments, command: "quantize")
    guard !flags.output.isEmpty else { throw ValidationError("-output is required (winnow fasttext quantize -output PREFIX)") }
    try guardFastTextOutputs([flags.output + ".ftz"], reading: [flags.output + ".bin", flags.options.input])
    let model = try loadFastTextModel(flags.output + ".bin")
    var q = FastTextQuantizeOptions()
    q.input = flags.options.input
    q.cutoff = flags.cutoff
    q.retrain = flags.retrain
    q.qnorm = flags.qnorm
    q.qout = flags.qout
    q.dsub = Int(flags.dsub)
    q.epoch = flags.options.epoch
    q.lr = flags.options.lr
    q.thread = flags.options.thread
    let quantized: FastTextModel
    do { quantized = try model.quantized(q) } catch { throw fastTextFailure(error.message) }
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
