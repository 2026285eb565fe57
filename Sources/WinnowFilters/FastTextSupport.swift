import WinnowCore
import WinnowFastText

/// What the fastText stages share: the model, and a document's text as one fastText input
/// line the way the reference pipelines (datatrove, DCLM) do it: newlines replaced by spaces,
/// then the line end the Python binding appends, so the line ends in `</s>`.
struct FastTextDocumentClassifier {
  var predictor: FastTextPredictor

  init(modelPath: String, stage: String) throws(WinnowError) {
    do {
      predictor = FastTextPredictor(try FastTextModel.load(path: modelPath))
    } catch {
      throw .io("stage '\(stage)': \(error.message)")
    }
  }

  init(model: FastTextModel) { predictor = FastTextPredictor(model) }

  /// Predictions for the document's text, read as one fastText line (newlines as spaces, as
  /// datatrove and DCLM do): up to `k` labels (-1: all) at or above `threshold`. The predictor
  /// streams the text, so memory stays near 4 bytes a word whatever the document's size.
  mutating func predict(_ doc: Document, k: Int, threshold: Float) -> [FastTextPredictor.Prediction] {
    predictor.predict(documentText: doc.text, k: k, threshold: threshold)
  }

  /// A label without the `__label__` prefix.
  func name(_ p: FastTextPredictor.Prediction) -> String {
    let w = predictor.label(p)
    let prefix = Array("__label__".utf8)
    return String(decoding: w.starts(with: prefix) ? Array(w[prefix.count...]) : w, as: UTF8.self)
  }
}
