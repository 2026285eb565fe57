/// An argument the fastText CLI refuses; the message says which and why.
public struct FastTextArgumentError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// fastText's single-dash flags (`args.cc Args::parseArgs`): `-name value`, and a few flags
/// with no value. Values are parsed as fastText parses them (`stoi`, `stof`).
public struct FastTextArguments {
  /// The verb whose defaults the flags start from.
  public enum Command: Sendable {
    case supervised
    case quantize
    /// Word vectors by skip-gram (`fasttext skipgram`).
    case skipgram
    /// Word vectors by continuous bag of words (`fasttext cbow`).
    case cbow
  }

  public var options = FastTextTrainingOptions()
  public var output = ""
  public var saveOutput = false
  // quantize
  public var cutoff = 0
  public var dsub: Int32 = 2
  public var qnorm = false
  public var qout = false
  public var retrain = false

  static let booleans: Set<String> = ["-saveOutput", "-qnorm", "-qout", "-retrain"]

  /// Parses `arguments`, starting from the defaults of `command`.
  public init(_ arguments: [String], command: Command) throws(FastTextArgumentError) {
    if command != .supervised {
      // Not `supervised`: the generic defaults apply to word vectors and to retraining.
      options.lr = 0.05
      options.minCount = 5
      options.minn = 3
      options.maxn = 6
      options.loss = .ns
    }
    if command == .skipgram { options.model = .skipgram }
    if command == .cbow { options.model = .cbow }
    var i = 0
    while i < arguments.count {
      let name = arguments[i]
      guard name.hasPrefix("-"), name.count > 1 else {
        throw FastTextArgumentError("expected a flag such as -input, got '\(name)'")
      }
      if Self.booleans.contains(name) {
        switch name {
        case "-saveOutput": saveOutput = true
        case "-qnorm": qnorm = true
        case "-qout": qout = true
        default: retrain = true
        }
        i += 1
        continue
      }
      guard i + 1 < arguments.count else { throw FastTextArgumentError("\(name) needs a value") }
      let value = arguments[i + 1]
      func int() throws(FastTextArgumentError) -> Int32 {
        guard let v = Int32(value) else { throw FastTextArgumentError("\(name) needs an integer, got '\(value)'") }
        return v
      }
      func real() throws(FastTextArgumentError) -> Double {
        // stof: the value is a float, widened to double.
        guard let v = Float(value) else { throw FastTextArgumentError("\(name) needs a number, got '\(value)'") }
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
        default: throw FastTextArgumentError("-loss must be softmax, hs, ns or ova, got '\(value)'")
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
        throw FastTextArgumentError("\(name) is not supported by winnow fasttext")
      default: throw FastTextArgumentError("unknown argument \(name)")
      }
      i += 2
    }
  }

  /// What `quantize` does with these flags: `-input`, `-epoch`, `-lr` and `-thread` apply
  /// to retraining.
  public var quantizeOptions: FastTextQuantizeOptions {
    var q = FastTextQuantizeOptions()
    q.input = options.input
    q.cutoff = cutoff
    q.retrain = retrain
    q.qnorm = qnorm
    q.qout = qout
    q.dsub = Int(dsub)
    q.epoch = options.epoch
    q.lr = options.lr
    q.thread = options.thread
    return q
  }

  /// The `k` of `predict` and `test` (labels per line): a positive integer, or -1 for all.
  public static func k(_ s: String) throws(FastTextArgumentError) -> Int {
    guard let k = Int(s), k == -1 || k > 0 else { throw FastTextArgumentError("k must be a positive integer or -1") }
    return k
  }

  /// The `th` of `predict` and `test` (probability threshold).
  public static func threshold(_ s: String) throws(FastTextArgumentError) -> Float {
    guard let th = Float(s) else { throw FastTextArgumentError("threshold must be a number") }
    return th
  }
}
