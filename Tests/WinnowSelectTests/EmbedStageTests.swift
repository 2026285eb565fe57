import Foundation
import Testing
import WinnowTestSupport

@testable import WinnowCore
@testable import WinnowSelect

@Suite("embed stage and embedding fields")
struct EmbedStageTests {
  let d = EmbedStage.descriptor

  func vector(_ doc: [String: Any], _ key: String = "embedding") -> [Float]? {
    var v: [Float] = []
    var scratch: [UInt8] = []
    let value: FieldValue
    if let s = doc[key] as? String {
      value = .string(s)
    } else if let a = doc[key] as? [Any] {
      value = .composite(String(decoding: try! JSONSerialization.data(withJSONObject: a), as: UTF8.self))
    } else {
      return nil
    }
    return EmbeddingField.read(value, dims: nil, into: &v, scratch: &scratch) == nil ? v : nil
  }

  @Test("a classifier's vector is the mean of the rows it sums (words and </s>), in every encoding")
  func fastTextClassifier() throws {
    let dir = try TempDir()
    let model = try writeTinyModel(dir)
    for encoding in ["f32", "f16", "json"] {
      let r = try runPipeline(
        [try build(d, ["model": v(model), "encoding": v(encoding)])],
        lines: [docLine(id: "a", text: "good\ngood"), docLine(id: "b", text: "unknown 日本語"), docLine(id: "c", text: "")])
      #expect(r.stats.isBalanced && r.kept.count == 3)
      let vs = r.kept.map { vector($0)! }
      // good, good, </s>: (4 + 4 + 0) / 3; unknown words add no rows (only </s>); empty text: </s>.
      #expect(abs(vs[0][0] - 8.0 / 3.0) < (encoding == "f16" ? 2e-3 : 1e-6) && vs[0][1] == 0, "\(encoding)")
      #expect(vs[1] == [0, 0] && vs[2] == [0, 0])
    }
    let normalized = try runPipeline([try build(d, ["model": v(model), "normalize": v("true")])], lines: [docLine(id: "a", text: "good")])
    #expect(vector(normalized.kept[0]) == [1, 0])
  }

  @Test("method field: vectors are checked; bad ones are dropped with a reason; any encoding reads back")
  func fieldMethod() throws {
    let lines = [
      docLine(id: "ok", text: "x", [("e", "[1, -2.5, 3e-2]")]),
      docLine(id: "short", text: "x", [("e", "[1, 2]")]),
      docLine(id: "nan", text: "x", [("e", "[1, null, 3]")]),
      docLine(id: "huge", text: "x", [("e", "[1, 1e300, 3]")]),
      docLine(id: "text", text: "x", [("e", #""not a vector""#)]),
      docLine(id: "obj", text: "x", [("e", #"{"a":1}"#)]),
      docLine(id: "none", text: "x"),
      docLine(id: "b64", text: "x", [("e", #""f32:AACAPwAAIMCPwvU8""#)]),
      docLine(id: "badb64", text: "x", [("e", #""f32:AAC*PwAA""#)]),
    ]
    let r = try runPipeline([try build(d, ["method": v("field"), "embedding_field": v("e"), "dims": v("3"), "encoding": v("json")])], lines: lines)
    #expect(r.stats.isBalanced)
    #expect(r.keptIDs == ["ok", "b64"])
    #expect(vector(r.kept[0]) == [1, -2.5, 0.03] && vector(r.kept[1]) == [1, -2.5, 0.03])
    let reasons = r.reasons
    #expect(reasons == [
      "short": "embedding_wrong_length", "nan": "embedding_not_finite", "huge": "embedding_not_finite",
      "text": "embedding_malformed", "obj": "embedding_malformed", "none": "embedding_missing", "badb64": "embedding_malformed",
    ])
  }

  @Test("f32 and f16 round trips; base64 of every length; malformed base64 is refused")
  func codec() {
    for n in 0..<9 {
      let x = (0..<n).map { Float($0) * 0.37 - 1 }
      for enc in EmbeddingEncoding.allCases {
        var out: [UInt8] = []
        x.withUnsafeBufferPointer { EmbeddingField.append($0, as: enc, to: &out) }
        let text = String(decoding: out, as: UTF8.self)
        let value: FieldValue = enc == .json ? .composite(text) : .string(String(text.dropFirst().dropLast()))
        var got: [Float] = []
        var scratch: [UInt8] = []
        let problem = EmbeddingField.read(value, dims: nil, into: &got, scratch: &scratch)
        if n == 0 {
          #expect(problem == .wrongLength)
          continue
        }
        #expect(problem == nil)
        if enc == .f16 {
          #expect(zip(got, x).allSatisfy { abs($0 - $1) < 1e-3 })
        } else {
          #expect(got == x, "\(enc) \(n)")
        }
      }
    }
    var v: [Float] = []
    var s: [UInt8] = []
    for bad in ["f32:AAA", "f32:A===", "f64:AAAAAA==", "f32:AAAA", "f16:AA=A", "f32"] {
      #expect(EmbeddingField.read(.string(bad), dims: nil, into: &v, scratch: &s) != nil, "\(bad)")
    }
    for bad in ["[1,]", "[1 2]", "[", "[1]x", "[\"1\"]", "[1,2", "[-]", "[1e999]"] {
      #expect(EmbeddingField.read(.composite(bad), dims: nil, into: &v, scratch: &s) != nil, "\(bad)")
    }
  }

  @Test("method hashed: unit vectors, deterministic; similar texts are closer; IDF from a sample; non-English and empty texts")
  func hashed() throws {
    let dir = try TempDir()
    let texts = [
      "the kernel schedules processes on every cpu", "the kernel schedules threads on every cpu core",
      "bake the bread for forty minutes", "日本語の文章を書きます", "",
    ]
    let lines = texts.enumerated().map { docLine(id: "t\($0.offset)", text: $0.element) }
    let idf = try dir.writeLines("idf.jsonl", lines)
    func run(_ extra: [String: RawParameter]) throws -> [[Float]] {
      var p: [String: RawParameter] = ["method": v("hashed"), "dims": v("48")]
      p.merge(extra) { _, b in b }
      let r = try runPipeline([try build(d, p)], lines: lines)
      #expect(r.stats.isBalanced && r.kept.count == texts.count)
      return r.kept.map { vector($0)! }
    }
    func cos(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    for extra in [[:], ["idf_corpus": list([idf])]] as [[String: RawParameter]] {
      let vs = try run(extra)
      for k in 0..<4 { #expect(abs(cos(vs[k], vs[k]) - 1) < 1e-5) }
      #expect(vs[4].allSatisfy { $0 == 0 })  // no words: a zero vector
      #expect(cos(vs[0], vs[1]) > cos(vs[0], vs[2]) + 0.2)
      #expect(try run(extra) == vs)
    }
    // Another seed gives another projection; IDF changes the weights.
    #expect(try run(["seed": v("9")]) != (try run([:])))
    #expect(try run(["idf_corpus": list([idf])]) != (try run([:])))
    let missing = winnowError { _ = try build(d, ["method": v("hashed"), "idf_corpus": list(["/nonexistent/idf.jsonl"])]) }
    #expect(missing?.message.contains("/nonexistent/idf.jsonl") == true)
  }

  @Test("empty input, malformed JSON and invalid UTF-8 (quarantined), a huge document, bad parameters")
  func edgeCases() throws {
    let dir = try TempDir()
    let model = try writeTinyModel(dir)
    let stage = try build(d, ["model": v(model)])
    let empty = try runPipeline([stage], files: [[]])
    #expect(empty.stats.documentsRead == 0 && empty.outputLines.isEmpty)
    let (lines, numbers) = interleaveBad([docLine(id: "g", text: "good"), docLine(id: "ja", text: "良い 日本語")])
    let r = try runPipeline([try build(d, ["model": v(model)])], lines: lines)
    expectQuarantined(r, lineNumbers: numbers, goodDocuments: 2)
    #expect(r.kept.allSatisfy { vector($0)?.count == 2 })
    let huge = try runPipeline([try build(d, ["model": v(model)])], lines: [HugeText.jsonLine(id: "big")])
    #expect(huge.kept.count == 1 && vector(huge.kept[0]) == [0, 0])
    expectUsageError(["embedding_field"]) { _ = try build(d, ["method": v("field")]) }
    expectUsageError(["dims"]) { _ = try build(d, ["method": v("field"), "embedding_field": v("e")]) }
    expectUsageError(["model"]) { _ = try build(d, [:]) }
    let missing = winnowError { _ = try build(d, ["model": v("/nonexistent/m.bin")]) }
    #expect(missing?.message.contains("/nonexistent/m.bin") == true)
  }
}
