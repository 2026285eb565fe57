import WinnowCore
import WinnowFastText

/// `fasttext_filter`: keeps documents whose probability of a label reaches a threshold (a
/// quality classifier's "hq" at 0.5, say), or, with `mode: drop`, drops them.
public final class FastTextFilterStage: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "fasttext_filter",
    summary: "Keep (or drop) documents by a fastText classifier's probability for one label",
    parameters: [
      ParameterSpec("model", .string, file: .reads, help: "fastText model file (.bin or .ftz)"),
      ParameterSpec("label", .string, help: "the label, with or without the __label__ prefix"),
      ParameterSpec("threshold", .double(min: 0, max: 1), default: .double(0.5), help: "probability the label must reach"),
      ParameterSpec(
        "mode", .choice(["keep", "drop"]), default: .string("keep"),
        help: "keep: keep documents at or above the threshold; drop: drop them"),
      ParameterSpec("score_field", .string, help: "also write the label's probability to this field"),
    ],
    make: { (p, _) throws(WinnowError) in try FastTextFilterStage(p) })

  var classifier: FastTextDocumentClassifier
  let label: String
  let threshold: Float
  let keepAbove: Bool
  let scoreField: String?

  init(_ p: StageParameters) throws(WinnowError) {
    guard let model = p.string("model") else { throw .usage("stage 'fasttext_filter': model is required (a .bin or .ftz file)") }
    guard let label = p.string("label") else { throw .usage("stage 'fasttext_filter': label is required") }
    let c = try FastTextDocumentClassifier(modelPath: model, stage: "fasttext_filter")
    let name = label.hasPrefix("__label__") ? String(label.dropFirst(9)) : label
    let d = c.predictor.model.dictionary
    let known = (0..<d.nlabels).contains { String(decoding: d.entries[d.nwords + $0].word, as: UTF8.self) == "__label__" + name }
    classifier = c
    self.label = name
    guard known else { throw .usage("stage 'fasttext_filter': the model has no label '\(label)'") }
    threshold = Float(p.double("threshold")!)
    keepAbove = p.string("mode") == "keep"
    scoreField = p.string("score_field")
  }

  public func process(_ doc: Document) -> Verdict {
    let predictions = classifier.predict(doc, k: -1, threshold: 0)
    // Labels hs prunes away (below log 1e-5) count as probability 0.
    let p = predictions.first { classifier.name($0) == label }?.probability ?? 0
    if let scoreField { doc.annotate(scoreField, .double(Double(p))) }
    let reaches = p >= threshold
    if keepAbove { return reaches ? .keep : .drop("fasttext_below_threshold") }
    return reaches ? .drop("fasttext_above_threshold") : .keep
  }
}
