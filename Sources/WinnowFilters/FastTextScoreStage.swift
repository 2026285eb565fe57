import WinnowCore
import WinnowFastText

/// `fasttext_score`: annotates each document with the top-k labels of a fastText model and
/// their probabilities, as one JSON object under `key` (`{"hq": 0.93, "lq": 0.07}`; labels
/// without the `__label__` prefix; probabilities as fastText prints them, p + 1e-5).
public final class FastTextScoreStage: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "fasttext_score",
    summary: "Annotate documents with a fastText classifier's top labels and probabilities",
    role: .transform,
    parameters: [
      ParameterSpec("model", .string, file: .reads, help: "fastText model file (.bin or .ftz)"),
      ParameterSpec("k", .int(min: -1, max: 100_000), default: .int(1), help: "labels to keep (-1: all)"),
      ParameterSpec("threshold", .double(min: 0, max: 1), default: .double(0), help: "leave out labels below this probability"),
      ParameterSpec("key", .string, default: .string("fasttext"), help: "field the label → probability object is written to"),
    ],
    make: { (p, _) throws(WinnowError) in try FastTextScoreStage(p) })

  var classifier: FastTextDocumentClassifier
  let k: Int
  let threshold: Float
  let key: String

  init(_ p: StageParameters) throws(WinnowError) {
    guard let model = p.string("model") else { throw .usage("stage 'fasttext_score': model is required (a .bin or .ftz file)") }
    let k = p.int("k")!
    guard k == -1 || k > 0 else { throw .usage("stage 'fasttext_score': k must be positive or -1 (all labels)") }
    classifier = try FastTextDocumentClassifier(modelPath: model, stage: "fasttext_score")
    self.k = k
    threshold = Float(p.double("threshold")!)
    key = p.string("key")!
  }

  public func process(_ doc: Document) -> Verdict {
    let predictions = classifier.predict(doc, k: k, threshold: threshold)
    var json: [UInt8] = [UInt8(ascii: "{")]
    for (n, pr) in predictions.enumerated() {
      if n > 0 { json.append(UInt8(ascii: ",")) }
      JSONString.appendQuoted(classifier.name(pr), to: &json)
      json.append(UInt8(ascii: ":"))
      json += Array(String(Double(pr.probability)).utf8)
    }
    json.append(UInt8(ascii: "}"))
    doc.annotate(key, .json(String(decoding: json, as: UTF8.self)))
    return .keep
  }
}
