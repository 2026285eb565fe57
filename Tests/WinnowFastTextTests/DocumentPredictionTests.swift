import Foundation
import Testing

@testable import WinnowFastText

/// `predict(documentText:)` streams a document's rows into the hidden vector instead of
/// building the line, its tokens and its rows first. It must give exactly what the line does —
/// the text with newlines as spaces, then a newline — on every kind of model and text.
@Suite("fastText: one document streamed equals its line")
struct DocumentPredictionTests {
  /// The line the stages used to build: newlines as spaces, then one newline.
  func viaLine(_ predictor: inout FastTextPredictor, _ text: [UInt8], k: Int) -> [FastTextPredictor.Prediction] {
    let line = text.map { $0 == 0x0A ? 0x20 : $0 } + [0x0A]
    var reader = FastTextLineReader(line)
    var tokens: [(Int, Int)] = []
    reader.nextLine(into: &tokens)
    return predictor.predict(bytes: line, tokens: tokens, k: k, threshold: 0)
  }

  func texts() -> [[UInt8]] {
    var out: [[UInt8]] = [
      [], Array("   \n\t ".utf8), Array("good fine great".utf8), Array("bad\nawful\n\npoor grim line w3".utf8),
      Array("good </s> bad awful poor".utf8), Array("__label__pos good __label__neg bad unknownword".utf8),
      Array("naïve Grüße 日本語 emoji 😀 w1 w2 w3".utf8), Array("good\u{0}bad\u{B}awful\u{C}fine\rgreat".utf8),
      Array(String(repeating: "x", count: 5000).utf8) + Array(" good".utf8),
    ]
    var rng = SplitMix64(seed: 7)
    let vocabulary = ["good", "fine", "great", "nice", "bad", "awful", "poor", "grim", "line", "w1", "w5", "zzz", "</s>", "\n", "  "]
    for _ in 0..<60 {
      var words: [String] = []
      for _ in 0..<Int(rng.unit() * 40) { words.append(vocabulary[Int(rng.unit() * Double(vocabulary.count)) % vocabulary.count]) }
      out.append(Array(words.joined(separator: " ").utf8))
    }
    return out
  }

  @Test("the same labels and the same float32 scores, on dense, pruned-quantized, subword-hs and qout models")
  func sameAsLine() throws {
    let models = try HostileFixtures.models.get()
    for (name, bytes) in [("bigram", models.bigram), ("pruned", models.pruned), ("subwords", models.subwords), ("qout", models.qout)] {
      let model = try FastTextModel.load(bytes: bytes, name: name)
      var a = FastTextPredictor(model)
      var b = FastTextPredictor(model)
      for (n, text) in texts().enumerated() {
        for k in [1, 3, -1] {
          let want = viaLine(&a, text, k: k)
          let got = text.withUnsafeBufferPointer { b.predict(documentText: $0, k: k, threshold: 0) }
          #expect(got.map(\.label) == want.map(\.label), "\(name) text \(n) k \(k)")
          #expect(got.map(\.score.bitPattern) == want.map(\.score.bitPattern), "\(name) text \(n) k \(k)")
        }
      }
    }
  }
}
