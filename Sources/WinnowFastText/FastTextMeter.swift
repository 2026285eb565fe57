/// What `fasttext test` and `test-label` count (`main.cc test`, fastText 0.9.2's
/// `Meter(false)`): precision and recall at k over the lines that have a known label and at
/// least one input row. Per-label gold counts are never taken, so per-label recall is
/// undefined and per-label F1 is twice the precision. Reproduced, not fixed, so that
/// `test-label` prints what fastText prints.
public struct FastTextMeter {
  /// Counts for one label (or all): gold occurrences, predictions, and predictions that were gold.
  public struct Counts: Sendable {
    public var gold = 0
    public var predicted = 0
    public var predictedGold = 0
    public var precision: Double { predicted == 0 ? .nan : Double(predictedGold) / Double(predicted) }
    public var recall: Double { gold == 0 ? .nan : Double(predictedGold) / Double(gold) }
    public var f1: Double { predicted + gold == 0 ? .nan : 2 * Double(predictedGold) / Double(predicted + gold) }
  }
  public var total = Counts()
  public var perLabel: [Counts]
  public var examples = 0

  public init(labels: Int) { perLabel = [Counts](repeating: Counts(), count: labels) }

  /// Counts one example: its gold labels and what was predicted for it.
  public mutating func log(gold: [Int32], predictions: [FastTextPredictor.Prediction]) {
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

  /// Counts every line of `bytes` (whole lines) that has a known label and at least one
  /// input row, with the top `k` predictions over `threshold`.
  public mutating func log(lines bytes: [UInt8], _ predictor: inout FastTextPredictor, k: Int, threshold: Float) {
    var reader = FastTextLineReader(bytes)
    var tokens: [(Int, Int)] = []
    while !reader.atEnd {
      reader.nextLine(into: &tokens)
      let (rows, gold) = predictor.rowsAndLabels(bytes: bytes, tokens: tokens)
      guard !gold.isEmpty, !rows.isEmpty else { continue }
      log(gold: gold, predictions: predictor.predict(rows: rows, k: k, threshold: threshold))
    }
  }

  /// What `fasttext test` prints for these counts, or `test-label` with `perLabel` (one line
  /// per label of `dictionary` first, and fixed-point totals).
  public func report(k: Int, perLabel labels: Bool, dictionary: FastTextDictionary) -> String {
    var out = ""
    if labels {
      func metric(_ name: String, _ value: Double) -> String {
        name + " : " + (value.isFinite ? FastTextNumberFormat.string(value, precision: 6, fixed: true) : "--------") + "  "
      }
      for label in 0..<dictionary.nlabels {
        let m = perLabel[label]
        out += metric("F1-Score", m.f1) + metric("Precision", m.precision) + metric("Recall", m.recall)
        out += " " + String(decoding: dictionary.entries[dictionary.nwords + label].word, as: UTF8.self) + "\n"
      }
    }
    out += "N\t\(examples)\n"
    out += "P@\(k)\t\(FastTextNumberFormat.string(total.precision, precision: 3, fixed: labels))\n"
    out += "R@\(k)\t\(FastTextNumberFormat.string(total.recall, precision: 3, fixed: labels))\n"
    return out
  }
}
