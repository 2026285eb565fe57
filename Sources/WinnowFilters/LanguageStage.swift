import CWinnowLanguageModel
import WinnowCore
import WinnowFastText

/// `language`: language identification with a fastText model, as datatrove's
/// `LanguageFilter` and FineWeb do it. Every document gets `language` (the most likely label,
/// without `__label__`) and `language_score` (its probability, at most 1); with `languages`,
/// a document is kept when one of them scores above `threshold`, without, when its best
/// language does. The default model is Winnow's own, built into the binary
/// (`scripts/build-lid-model.sh`); `model:` takes any fastText LID model, such as lid.176.
public final class LanguageStage: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "language",
    summary: "Identify each document's language with a fastText model; keep listed languages above a threshold",
    parameters: [
      ParameterSpec(
        "model", .string, file: .reads,
        help: "fastText language-ID model (.bin or .ftz, e.g. lid.176.bin); default: Winnow's built-in model"),
      ParameterSpec("languages", .scalarList, help: "languages to keep (labels without __label__, e.g. [en, de]); default: any"),
      ParameterSpec(
        "threshold", .double(min: 0, max: 1), default: .double(0.65),
        help: "a kept document's language must score above this"),
      ParameterSpec(
        "mode", .choice(["filter", "annotate"]), default: .string("filter"),
        help: "filter: drop documents that fail; annotate: only write the fields"),
      ParameterSpec("language_field", .string, default: .string("language"), help: "field for the language"),
      ParameterSpec("score_field", .string, default: .string("language_score"), help: "field for its probability"),
    ],
    make: { (p, _) throws(WinnowError) in try LanguageStage(p) })

  var classifier: FastTextDocumentClassifier
  /// Label indices of the listed languages; nil: any language.
  let wanted: [Int]?
  let threshold: Float
  let filter: Bool
  let languageField: String
  let scoreField: String
  let names: [String]

  /// Winnow's built-in model, read once per process.
  static let builtIn: Result<FastTextModel, FastTextError> = {
    let bytes = Array(UnsafeBufferPointer(start: winnow_language_model_bytes(), count: winnow_language_model_size()))
    return Result { () throws(FastTextError) in try FastTextModel.load(bytes: bytes, name: "built-in language model") }
  }()

  init(_ p: StageParameters) throws(WinnowError) {
    if let path = p.string("model") {
      classifier = try FastTextDocumentClassifier(modelPath: path, stage: "language")
    } else {
      switch Self.builtIn {
      case .success(let m): classifier = FastTextDocumentClassifier(model: m)
      case .failure(let e): throw .io("stage 'language': \(e.message)")
      }
    }
    let d = classifier.predictor.model.dictionary
    let prefix = Array("__label__".utf8)
    names = (0..<d.nlabels).map { i in
      let w = d.entries[d.nwords + i].word
      return String(decoding: w.starts(with: prefix) ? Array(w[prefix.count...]) : w, as: UTF8.self)
    }
    if let list = p.list("languages") {
      var ids: [Int] = []
      var unknown: [String] = []
      for l in list {
        let name = l.hasPrefix("__label__") ? String(l.dropFirst(9)) : l
        if let i = names.firstIndex(of: name) { ids.append(i) } else { unknown.append(l) }
      }
      guard unknown.isEmpty else {
        throw .usage(
          "stage 'language': the model does not know \(unknown.joined(separator: ", ")) (it has \(names.sorted().joined(separator: ", ")))")
      }
      wanted = ids
    } else {
      wanted = nil
    }
    threshold = Float(p.double("threshold")!)
    filter = p.string("mode") == "filter"
    languageField = p.string("language_field")!
    scoreField = p.string("score_field")!
  }

  public func process(_ doc: Document) -> Verdict {
    let predictions = classifier.predict(doc, k: -1, threshold: 0)
    // fastText's probabilities are p + 1e-5; datatrove caps them at 1.
    func score(_ label: Int) -> Float { min(predictions.first { $0.label == label }?.probability ?? 0, 1) }
    guard let best = predictions.first else {
      // No input rows at all (an empty text): no language.
      doc.annotate(languageField, .json("null"))
      doc.annotate(scoreField, .double(0))
      return filter ? .drop("language_unknown") : .keep
    }
    let bestScore = min(best.probability, 1)
    doc.annotate(languageField, .string(names[best.label]))
    doc.annotate(scoreField, .double(Double(bestScore)))
    guard filter else { return .keep }
    if let wanted {
      return wanted.contains { score($0) > threshold } ? .keep : .drop("language_not_listed")
    }
    return bestScore > threshold ? .keep : .drop("language_below_threshold")
  }
}
