import Foundation
import Testing

@testable import WinnowFastText

@Suite("fastText word vectors: skipgram, cbow and the vector commands")
struct FastTextWordVectorTests {
  func tempFile(_ name: String, _ bytes: [UInt8]) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-ftv-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// Words that occur together (animals, fruit), in English, German and Japanese, a line of
  /// invalid UTF-8, a 3,000-word line and labels in the text.
  func text() -> [UInt8] {
    var lines: [String] = []
    for i in 0..<200 {
      lines.append("cat dog mouse horse cow pig sheep goat \(i % 3) Katze Hund 猫 犬")
      lines.append("apple pear plum cherry grape melon lemon lime \(i % 4) Apfel Birne 林檎 梨")
    }
    var bytes = Array(lines.joined(separator: "\n").utf8) + [0x0A]
    bytes += Array("__label__x caf".utf8) + [0xE9, 0x20, 0x80, 0x0A]
    bytes += Array(String(repeating: "cat dog ", count: 1500).utf8) + [0x0A]
    return bytes
  }

  func train(_ model: FastTextModelKind, _ extra: (inout FastTextTrainingOptions) -> Void = { _ in }) throws -> FastTextModel {
    var o = FastTextTrainingOptions()
    o.model = model
    o.input = try tempFile("text.txt", text())
    o.dim = 12
    o.epoch = 8
    o.thread = 1
    o.minCount = 1
    o.minn = 3
    o.maxn = 5
    o.bucket = 2000
    o.loss = .ns
    o.lr = 0.05
    extra(&o)
    return try FastTextTrainer.train(o).0
  }

  func cosine(_ a: [Float], _ b: [Float]) -> Float {
    var d: Float = 0, na: Float = 0, nb: Float = 0
    for i in a.indices {
      d += a[i] * b[i]
      na += a[i] * a[i]
      nb += b[i] * b[i]
    }
    return d / (na.squareRoot() * nb.squareRoot())
  }

  @Test("skipgram and cbow learn which words go together, deterministically with one thread")
  func learns() throws {
    for kind in [FastTextModelKind.skipgram, .cbow] {
      let model = try train(kind)
      #expect(model.kind == kind)
      #expect(model.output.rows == model.dictionary.nwords)
      var v = FastTextVectors(model)
      let cat = v.wordVector(Array("cat".utf8)), dog = v.wordVector(Array("dog".utf8))
      let apple = v.wordVector(Array("apple".utf8))
      #expect(cosine(cat, dog) > cosine(cat, apple), "\(kind)")
      let nn = v.neighbours(of: Array("pear".utf8), k: 3).map { String(decoding: model.dictionary.entries[$0.word].word, as: UTF8.self) }
      #expect(nn.count == 3 && !nn.contains("pear"))
      // The same flags give the same bytes.
      #expect(try train(kind).serialized() == model.serialized())
      // The file reads back as a word-vector model, and a classifier loader refuses it.
      let path = try tempFile("m.bin", model.serialized())
      #expect(try FastTextModel.load(path: path, allowingUnsupervised: true).kind == kind)
      #expect(throws: FastTextError.self) { try FastTextModel.load(path: path) }
    }
  }

  @Test("sentence vectors: unit-norm word vectors averaged; unknown words and labels add nothing; empty lines give zeros")
  func sentences() throws {
    let model = try train(.skipgram) { $0.maxn = 0; $0.bucket = 0 }
    var v = FastTextVectors(model)
    var out: [UInt8] = []
    v.appendSentenceVectors(lines: Array("cat dog\n\nqqqq __label__x\n猫 犬".utf8), to: &out, flush: { _ in })
    let lines = String(decoding: out, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 5)  // four sentences and the final newline
    let zeros = String(repeating: "0 ", count: 12)
    #expect(lines[1] == zeros[...] && lines[2] == zeros[...])
    #expect(lines[0] != zeros[...] && lines[3] != zeros[...])
    // A label looked up as a word has no vector (fastText asserts there).
    #expect(v.wordVector(Array("__label__x".utf8)).allSatisfy { $0 == 0 })
    // Invalid UTF-8 and a huge word are words like any other.
    _ = v.wordVector([0x80, 0xFF, 0x41])
    _ = v.wordVector([UInt8](repeating: 0x61, count: 1 << 20))
  }

  @Test("bad options are refused with a message, before any work")
  func refusals() throws {
    func message(_ body: () throws -> Void) -> String? {
      do {
        try body()
        return nil
      } catch let e as FastTextError { return e.message } catch { return "\(error)" }
    }
    #expect(message { _ = try train(.skipgram) { $0.ws = 0 } }?.contains("-ws") == true)
    #expect(message { _ = try train(.cbow) { $0.bucket = 0 } }?.contains("-bucket 0") == true)
    var o = FastTextTrainingOptions()
    o.model = .skipgram
    o.input = try tempFile("empty.txt", [])
    #expect(message { _ = try FastTextTrainer.train(o) }?.contains("empty vocabulary") == true)
    o.input = try tempFile("one.txt", Array("word word word word word".utf8))
    o.minCount = 1
    o.loss = .ns
    #expect(message { _ = try FastTextTrainer.train(o) }?.contains("two words") == true)
  }

  @Test("the flags of skipgram and cbow start from fastText's word-vector defaults")
  func defaults() throws {
    let a = try FastTextArguments(["-input", "x", "-output", "y"], command: .skipgram)
    #expect(a.options.model == .skipgram && a.options.lr == 0.05 && a.options.minCount == 5)
    #expect(a.options.minn == 3 && a.options.maxn == 6 && a.options.loss == .ns)
    let c = try FastTextArguments(["-input", "x", "-loss", "hs"], command: .cbow)
    #expect(c.options.model == .cbow && c.options.loss == .hs)
    #expect(c.options.storedArgs.model == 1 && a.options.storedArgs.model == 2)
  }

  @Test("a word-vector model whose output matrix does not have a row per word is refused")
  func hostileOutputRows() throws {
    let model = try train(.cbow) { $0.epoch = 1 }
    var bytes = model.serialized()
    // The output matrix is last: its row count sits 8 + 8 + rows·dim·4 bytes from the end.
    let rowsAt = bytes.count - model.dictionary.nwords * 12 * 4 - 16
    bytes[rowsAt] &+= 1
    do {
      _ = try FastTextModel.load(bytes: bytes, name: "bad.bin", allowingUnsupervised: true)
      Issue.record("a model with a wrong output row count loaded")
    } catch {
      #expect(error.message.contains("bad.bin") && error.message.contains("output matrix"), "\(error.message)")
    }
  }
}
