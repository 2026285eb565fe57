import ArgumentParser
import Glibc
import Winnow

/// `winnow dsir …`: DSIR's fit, per-document weights and the KL reduction of a selection,
/// outside a recipe — to inspect what `dsir_select` will do, or to judge what it did.
struct DSIRCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dsir",
    abstract: "DSIR importance resampling: fit, per-document weights, KL reduction of a selection.",
    discussion: """
      Features are dsir_select's: lower-cased text split into words (\\w+|[^\\w\\s]+, Python's Unicode \
      rules), unigrams and bigrams hashed into 10,000 buckets by SHA-256, as data-selection 1.0.3's \
      HashedNgramDSIR. A fit is a JSON file of n-gram counts (the raw pool and each target); \
      dsir_select's save_fit writes one too.

        winnow dsir fit --targets docs.jsonl raw/ --save fit.json
        winnow dsir fit --load fit.json --probabilities > probs.json
        winnow dsir weights --fit fit.json raw/ > weights.jsonl
        winnow dsir kl-reduction --fit fit.json out/select-dsir/

      \(exitCodeHelp)
      """,
    subcommands: [DSIRFitCommand.self, DSIRWeightsCommand.self, DSIRKLCommand.self, DSIRFeaturesCommand.self])
}

/// Options every `winnow dsir` verb that reads documents shares.
struct DSIRDocumentOptions: ParsableArguments {
  @Argument(help: "Input documents: files, directories or globs; '-' or nothing for standard input.")
  var inputs: [String] = []

  @Option(help: "JSON field holding the text.")
  var textField: String = "text"

  @Flag(help: "Stop with an error at the first bad input line.")
  var strict = false

  @Option(help: "Lines longer than this many bytes are not read as documents (counted as quarantined).")
  var maxDocumentBytes: Int = PipelineOptions.defaultMaxDocumentBytes

  /// Calls `body` with the text of every document of the inputs, and its id.
  func forEachDocument(_ body: (Document) throws(WinnowError) -> Void) throws(WinnowError) -> [InputFile] {
    guard maxDocumentBytes > 0 else { throw WinnowError.usage("--max-document-bytes must be positive") }
    let files = try InputSet.expand(inputs)
    let docs = Pipeline(stages: []).documents(
      from: files, fields: DocumentFields(text: textField), strict: strict, maxDocumentBytes: maxDocumentBytes)
    while let doc = try docs.next() { try body(doc) }
    return files
  }
}

struct DSIRFitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fit",
    abstract: "Fit DSIR on documents and targets (or load a saved fit) and describe it.",
    discussion: """
      Prints a summary: n-grams counted in the raw pool and in each target, each target's share \
      of a sample, and the buckets whose n-grams the target favours most. --probabilities prints \
      raw_probs, target_probs and log_diff as JSON instead (the reference's arrays).
      """)

  @OptionGroup var documents: DSIRDocumentOptions

  @Option(help: "A target file or directory, once per target (JSON Lines: the text in --target-field; or plain text, one item per line).")
  var targets: [String] = []
  @Option(help: "JSON Lines targets: the field that holds the text.") var targetField = "text"
  @Option(help: "Hash unigrams up to n-grams.") var ngrams = 2
  @Option(help: "Hash buckets.") var numBuckets = 10_000
  @Flag(help: "One distribution per target instead of one pooled target.") var separateTargets = false
  @Option(help: "--separate-targets: a target's share, once per target in the same order (default: by size).")
  var targetProportions: [Double] = []
  @Option(help: "Write the fit here (JSON), for 'winnow dsir weights' and 'kl-reduction'.") var save: String?
  @Option(help: "Describe a saved fit instead of fitting.") var load: String?
  @Flag(help: "Print raw_probs, target_probs and log_diff as JSON.") var probabilities = false
  @Option(help: "Buckets to list in the summary.") var top = 10

  func run() throws {
    do throws(WinnowError) {
      let fit: DSIRFit
      if let load {
        guard targets.isEmpty, documents.inputs.isEmpty, save == nil else {
          throw WinnowError.usage("--load describes a saved fit: give no inputs, --targets or --save with it")
        }
        fit = try DSIRFit.load(load)
      } else {
        guard !targets.isEmpty else { throw WinnowError.usage("give --targets (or --load a saved fit)") }
        guard (1...8).contains(ngrams), (1...(1 << 31)).contains(numBuckets) else {
          throw WinnowError.usage("--ngrams must be 1…8 and --num-buckets 1…2147483648")
        }
        if !targetProportions.isEmpty {
          guard separateTargets else { throw WinnowError.usage("--target-proportions needs --separate-targets") }
          guard targetProportions.count == targets.count, targetProportions.allSatisfy({ $0 >= 0 && $0.isFinite }),
            targetProportions.reduce(0, +) > 0
          else { throw WinnowError.usage("--target-proportions: one non-negative number per target, not all zero") }
        }
        if let save {
          var g = OutputGuard()
          g.addInputs(try InputSet.expand(documents.inputs), named: documents.inputs, role: "input")
          g.addInputs(targets.map { InputFile(path: $0) }, named: targets, role: "target")
          g.addOutput(save, role: "--save", isDirectory: false)
          try g.check()
        }
        var featurizer = HashedNGramFeaturizer(ngrams: ngrams, buckets: numBuckets)
        var raw = [UInt64](repeating: 0, count: numBuckets)
        _ = try documents.forEachDocument { doc in
          featurizer.count(doc.text, into: &raw)
        }
        let rows = try DSIRTargets.count(targets, field: targetField, ngrams: ngrams, buckets: numBuckets, stage: "dsir fit")
        fit = DSIRFit(
          ngrams: ngrams, buckets: numBuckets, rawCounts: raw, targetCounts: rows, targetNames: targets,
          separateTargets: separateTargets, givenProportions: targetProportions.isEmpty ? nil : targetProportions)
        if let save { try writeTextFile(save, fit.json()) }
      }
      var out = Array((probabilities ? fit.probabilitiesJSON() : fit.summary(top: top)).utf8)
      try writeStandardOutput(&out)
    } catch {
      throw report(error)
    }
  }
}

struct DSIRWeightsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weights",
    abstract: "Print each document's DSIR length and log importance weight (one JSON line per document).",
    discussion: """
      Lines are {"id": …, "length": WORDS, "log_weight": W} (a list of weights, one per target, \
      for a fit with separate targets): the values dsir_select ranks documents by, and writes as \
      dsir_log_weight in annotate mode. Documents under min_example_length words are never selected.
      """)

  @OptionGroup var documents: DSIRDocumentOptions
  @Option(help: "The fit (dsir_select's save_fit, or 'winnow dsir fit --save').") var fit: String

  func run() throws {
    do throws(WinnowError) {
      var weigher = DSIRWeigher(fit: try DSIRFit.load(fit))
      var out: [UInt8] = []
      let files = try InputSet.expand(documents.inputs)
      try guardStandardOutput(against: files, named: documents.inputs)
      _ = try documents.forEachDocument { doc throws(WinnowError) in
        let (length, weights) = weigher.weigh(doc.text)
        out.append(contentsOf: Array(#"{"id":"#.utf8))
        JSONString.appendQuoted(doc.idBytes, to: &out)
        let w = weights.count == 1 ? jsonNumberOrNull(weights[0]) : "[" + weights.map(jsonNumberOrNull).joined(separator: ",") + "]"
        out.append(contentsOf: Array(",\"length\":\(length),\"log_weight\":\(w)}\n".utf8))
        if out.count > 1 << 20 { try writeStandardOutput(&out) }
      }
      try writeStandardOutput(&out)
    } catch {
      throw report(error)
    }
  }
}

struct DSIRKLCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kl-reduction",
    abstract: "The KL reduction of a selection toward the fit's targets (DSIR paper, §4).",
    discussion: """
      KL reduction = mean over target distributions p̂ of KL(p̂‖q̂) − KL(p̂‖p′): q̂ is the fit's raw \
      distribution, p′ the hashed n-gram distribution of the selected documents (the inputs), \
      KL(p‖q) = Σ_j p_j·(log(p_j + 1e-8) − log(q_j + 1e-8)). Positive: the selection is closer to \
      the targets than the pool was; the paper finds it tracks downstream accuracy. Prints one JSON object.
      """)

  @OptionGroup var documents: DSIRDocumentOptions
  @Option(help: "The fit (dsir_select's save_fit, or 'winnow dsir fit --save').") var fit: String

  func run() throws {
    do throws(WinnowError) {
      let fit = try DSIRFit.load(fit)
      var featurizer = HashedNGramFeaturizer(ngrams: fit.ngrams, buckets: fit.buckets)
      var counts = [UInt64](repeating: 0, count: fit.buckets)
      var selected = 0
      _ = try documents.forEachDocument { doc in
        featurizer.count(doc.text, into: &counts)
        selected += 1
      }
      guard selected > 0 else { throw WinnowError.usage("kl-reduction: the inputs hold no document") }
      var out = Array(fit.klReduction(selected: counts).json().utf8)
      try writeStandardOutput(&out)
    } catch {
      throw report(error)
    }
  }
}

struct DSIRFeaturesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "features",
    abstract: "Print each document's words and hashed n-gram counts (one JSON line per document).",
    discussion: """
      Lines are {"id": …, "words": ["…", …], "buckets": [[BUCKET, COUNT], …]}: the lower-cased \
      wordpunct tokens and the non-zero buckets of their unigrams up to --ngrams-grams, in bucket \
      order — what dsir_select and data-selection's get_ngram_counts see of the text.
      """)

  @OptionGroup var documents: DSIRDocumentOptions
  @Option(help: "Hash unigrams up to n-grams.") var ngrams = 2
  @Option(help: "Hash buckets.") var numBuckets = 10_000
  @Flag(help: "Leave out the words.") var noWords = false

  func run() throws {
    do throws(WinnowError) {
      guard (1...8).contains(ngrams), (1...(1 << 31)).contains(numBuckets) else {
        throw WinnowError.usage("--ngrams must be 1…8 and --num-buckets 1…2147483648")
      }
      var featurizer = HashedNGramFeaturizer(ngrams: ngrams, buckets: numBuckets)
      var out: [UInt8] = []
      let files = try InputSet.expand(documents.inputs)
      try guardStandardOutput(against: files, named: documents.inputs)
      var counts: [Int: Int] = [:]
      _ = try documents.forEachDocument { doc throws(WinnowError) in
        counts.removeAll(keepingCapacity: true)
        featurizer.features(doc.text) { counts[$0, default: 0] += 1 }
        out.append(contentsOf: Array(#"{"id":"#.utf8))
        JSONString.appendQuoted(doc.idBytes, to: &out)
        if !noWords {
          out.append(contentsOf: Array(#","words":["#.utf8))
          for (k, w) in featurizer.words.enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            w.withUnsafeBufferPointer { JSONString.appendQuoted($0, to: &out) }
          }
          out.append(UInt8(ascii: "]"))
        }
        let pairs = counts.sorted { $0.key < $1.key }.map { "[\($0.key),\($0.value)]" }.joined(separator: ",")
        out.append(contentsOf: Array(",\"buckets\":[\(pairs)]}\n".utf8))
        if out.count > 1 << 20 { try writeStandardOutput(&out) }
      }
      try writeStandardOutput(&out)
    } catch {
      throw report(error)
    }
  }
}
