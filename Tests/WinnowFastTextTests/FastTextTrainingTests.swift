import Foundation
import Testing

@testable import WinnowFastText

@Suite("fastText training and quantization")
struct FastTextTrainingTests {
  func tempFile(_ name: String, _ bytes: [UInt8]) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-ft-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  func error(_ body: () throws -> Void) -> String? {
    do {
      try body()
      return nil
    } catch let e as FastTextError {
      return e.message
    } catch {
      return "unexpected \(error)"
    }
  }

  /// Two labels told apart by their words, in English, German and Japanese, with a line of
  /// invalid UTF-8 and one very long line.
  func trainingText() -> [UInt8] {
    var lines: [String] = []
    for i in 0..<60 {
      lines.append("__label__pos good fine great schön 良い line \(i % 7)")
      lines.append("__label__neg bad awful poor schlecht 悪い line \(i % 5)")
    }
    var bytes = Array(lines.joined(separator: "\n").utf8) + [0x0A]
    bytes += Array("__label__neg caf".utf8) + [0xE9, 0x20, 0x80, 0x0A]
    bytes += Array(("__label__pos " + String(repeating: "good ", count: 20_000)).utf8) + [0x0A]
    return bytes
  }

  @Test("std::minstd_rand and libstdc++'s distributions draw what C++ draws")
  func random() {
    // The C++ standard fixes the 10000th output of a default-seeded minstd_rand.
    var g = MinstdRand(seed: 1)
    for _ in 1..<10_000 { _ = g.next() }
    #expect(g.next() == 399_268_537)
    // Seeds 0 and 1 are the same engine; seeds wrap modulo 2^31 - 1.
    var a = MinstdRand(seed: 0)
    var b = MinstdRand(seed: 1)
    #expect(a.next() == b.next())
    #expect(MinstdRand(seed: 2_147_483_648).state == 1)
    // uniform_int: one draw even for a single value, always in range.
    var c = MinstdRand(seed: 5)
    let before = c.state
    #expect(c.uniformInt(1) == 0 && c.state != before)
    for n in [2, 3, 7, 1000] { #expect((0..<n).contains(c.uniformInt(n))) }
    let u = c.uniformReal(-0.5, 0.5)
    #expect(u >= -0.5 && u < 0.5)
  }

  @Test("libstdc++'s introsort sorts (and, being unstable, is the only way to fastText's order of equals)")
  func sort() {
    var g = MinstdRand(seed: 9)
    for n in [0, 1, 2, 15, 16, 17, 100, 5000] {
      var values = (0..<n).map { _ in Int(g.uniformInt(50)) }
      values.withUnsafeMutableBufferPointer { LibstdcxxSort.sort($0, by: <) }
      #expect(values == values.sorted(), "n = \(n)")
    }
    // Equal keys: the order is the algorithm's, not the input's (a stable sort would keep 0…).
    var pairs = (0..<40).map { (key: $0 % 2, id: $0) }
    pairs.withUnsafeMutableBufferPointer { LibstdcxxSort.sort($0) { $0.key < $1.key } }
    #expect(pairs.map(\.key) == [Int](repeating: 0, count: 20) + [Int](repeating: 1, count: 20))
    #expect(pairs.filter { $0.key == 0 }.map(\.id) != Array(stride(from: 0, to: 40, by: 2)))
    var perm = [Int32](0..<100)
    var rng = MinstdRand(seed: 1234)
    perm.withUnsafeMutableBufferPointer { LibstdcxxShuffle.shuffle($0, &rng) }
    #expect(perm.sorted() == [Int32](0..<100) && perm != [Int32](0..<100))
  }

  @Test("a trained model predicts its labels, saves, loads back byte for byte, and is deterministic with one thread")
  func train() throws {
    let input = try tempFile("train.txt", trainingText())
    for loss in [FastTextLoss.softmax, .hs, .ova, .ns] {
      var o = FastTextTrainingOptions()
      o.input = input
      o.dim = 8
      o.epoch = 5
      o.lr = 0.5
      o.thread = 1
      o.loss = loss
      o.minn = 2
      o.maxn = 3
      o.bucket = 1000
      o.wordNgrams = 2
      let (model, report) = try FastTextTrainer.train(o)
      #expect(report.labels == 2 && model.dictionary.nlabels == 2)
      var p = FastTextPredictor(model)
      let pos = p.predict(tokens: [Array("good".utf8), Array("great".utf8)], k: 1, threshold: 0)
      let neg = p.predict(tokens: [Array("schlecht".utf8), Array("悪い".utf8)], k: 1, threshold: 0)
      #expect(String(decoding: p.label(pos[0]), as: UTF8.self) == "__label__pos", "\(loss)")
      #expect(String(decoding: p.label(neg[0]), as: UTF8.self) == "__label__neg", "\(loss)")
      let bytes = model.serialized()
      let again = try FastTextModel.load(bytes: bytes, name: "round trip")
      #expect(again.serialized() == bytes)
      let (twin, _) = try FastTextTrainer.train(o)
      #expect(twin.serialized() == bytes, "\(loss): one thread is deterministic")
    }
    // Two threads share the weights without locks: still a working model.
    var o = FastTextTrainingOptions()
    o.input = input
    o.dim = 8
    o.thread = 2
    o.lr = 0.5
    let (model, _) = try FastTextTrainer.train(o)
    #expect(model.dictionary.nlabels == 2)
  }

  @Test("bucket is 0 without n-grams; minCount drops words, minCountLabel labels; another label prefix")
  func dictionary() throws {
    let input = try tempFile("train.txt", Array("lang=a x x y\nlang=b x z\nlang=a x\n".utf8))
    var o = FastTextTrainingOptions()
    o.input = input
    o.dim = 4
    o.thread = 1
    o.label = "lang="
    o.minCount = 2
    let (m, _) = try FastTextTrainer.train(o)
    #expect(m.args.bucket == 0)
    // Words by count: </s> and x (3 and 4 times; y and z once, dropped); labels a (2), b (1).
    #expect(m.dictionary.entries.map { String(decoding: $0.word, as: UTF8.self) } == ["x", "</s>", "lang=a", "lang=b"])
    #expect(m.dictionary.ntokens == 12)
    o.minCountLabel = 2
    let (m2, _) = try FastTextTrainer.train(o)
    #expect(m2.dictionary.nlabels == 1)
  }

  @Test("bad training input is an error naming the problem")
  func badInput() throws {
    var o = FastTextTrainingOptions()
    o.thread = 1
    o.input = "/nonexistent/train.txt"
    #expect(error { _ = try FastTextTrainer.train(o) }?.contains("/nonexistent/train.txt") == true)
    o.input = try tempFile("empty.txt", [])
    #expect(error { _ = try FastTextTrainer.train(o) }?.contains("empty vocabulary") == true)
    o.input = try tempFile("nolabels.txt", Array("just words\nno labels\n".utf8))
    #expect(error { _ = try FastTextTrainer.train(o) }?.contains("no labels") == true)
    o.input = try tempFile("one.txt", Array("__label__a x\n".utf8))
    o.loss = .ns
    #expect(error { _ = try FastTextTrainer.train(o) }?.contains("two labels") == true)
    o.input = "-"
    #expect(error { _ = try FastTextTrainer.train(o) }?.contains("stdin") == true)
  }

  @Test("quantize: pruned rows, product-quantized, predictions kept; too few rows is an error")
  func quantize() throws {
    let input = try tempFile("train.txt", trainingText())
    var o = FastTextTrainingOptions()
    o.input = input
    o.dim = 8
    o.thread = 1
    o.lr = 0.5
    o.minn = 1
    o.maxn = 3
    o.bucket = 2000
    let (model, _) = try FastTextTrainer.train(o)
    var q = FastTextQuantizeOptions()
    q.cutoff = 600
    q.qnorm = true
    q.retrain = true
    q.input = input
    q.thread = 1
    let small = try model.quantized(q)
    #expect(small.quantizedInput && small.input.rows == 600)
    #expect(small.dictionary.pruneIndexSize > 0)
    let back = try FastTextModel.load(bytes: small.serialized(), name: "ftz")
    var p = FastTextPredictor(back)
    let pos = p.predict(tokens: [Array("good".utf8), Array("fine".utf8)], k: 1, threshold: 0)
    #expect(String(decoding: p.label(pos[0]), as: UTF8.self) == "__label__pos")
    q.cutoff = 100
    #expect(error { _ = try model.quantized(q) }?.contains("too small") == true)
    #expect(error { _ = try small.quantized(FastTextQuantizeOptions()) }?.contains("already quantized") == true)
  }
}
