import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters


@Suite("fasttext_score and fasttext_filter stages")
struct FastTextStageTests {
  @Test("scores: softmax of the mean of the rows, p + 1e-5, labels without the prefix")
  func score() throws {
    let dir = try TempDir()
    let model = try writeTinyModel(dir)
    let r = try runPipeline(
      [try build(FastTextScoreStage.descriptor, ["model": quoted(model), "k": v("-1")])],
      lines: [docLine(id: "a", text: "good"), docLine(id: "b", text: "bad\nline"), docLine(id: "c", text: "")])
    let scores = r.kept.map { $0["fasttext"] as! [String: Double] }
    // "good </s>": hidden (2, 0); e^2 / (e^2 + 1) = 0.880797.
    #expect(abs(scores[0]["hq"]! - (0.880797 + 1e-5)) < 1e-5)
    #expect(abs(scores[0]["lq"]! - (0.119203 + 1e-5)) < 1e-5)
    #expect(abs(scores[1]["hq"]! - 0.50001) < 1e-6)
    #expect(abs(scores[2]["lq"]! - 0.50001) < 1e-6)
  }

  @Test("filter: keep or drop by one label's probability; unknown labels and missing models are errors")
  func filter() throws {
    let dir = try TempDir()
    let model = try writeTinyModel(dir)
    let lines = [docLine(id: "a", text: "good good"), docLine(id: "b", text: "Größe 中文 bad")]
    let keep = try runPipeline(
      [try build(FastTextFilterStage.descriptor, ["model": quoted(model), "label": v("hq"), "threshold": v("0.6"), "score_field": v("hq")])],
      lines: lines)
    #expect(keep.keptIDs == ["a"])
    #expect(keep.reasons == ["b": "fasttext_below_threshold"])
    let drop = try runPipeline(
      [try build(FastTextFilterStage.descriptor, ["model": quoted(model), "label": v("__label__hq"), "threshold": v("0.6"), "mode": v("drop")])],
      lines: lines)
    #expect(drop.keptIDs == ["b"])
    expectUsageError(["no label"]) { _ = try build(FastTextFilterStage.descriptor, ["model": quoted(model), "label": v("zz")]) }
    let missing = winnowError { _ = try build(FastTextScoreStage.descriptor, ["model": quoted(dir.path + "/none.bin")]) }
    #expect(missing?.message.contains("none.bin") == true)
  }
}
