import Winnow
import WinnowFastText

/// One input is a whole model file. Loading must end in a model or an error naming the
/// problem; a model that loads must predict (within bounds) on a short text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFastText(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let model = try? FastTextModel.load(bytes: bytes, name: "fuzz.bin") else { return 0 }
  var predictor = FastTextPredictor(model)
  let text = Array("the quick brown fox jumps over the lazy dog . naïve Grüße 日本語".utf8)
  var tokens: [(Int, Int)] = []
  var start = 0
  for (k, b) in text.enumerated() where b == 0x20 {
    if k > start { tokens.append((start, k)) }
    start = k + 1
  }
  tokens.append((start, text.count))
  tokens.append((-1, -1))
  for p in predictor.predict(bytes: text, tokens: tokens, k: 3, threshold: 0) { _ = predictor.label(p) }
  return 0
}
