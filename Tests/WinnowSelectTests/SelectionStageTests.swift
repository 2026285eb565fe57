import Foundation
import Testing
import WinnowTestSupport

@testable import WinnowCore
@testable import WinnowSelect

/// semdedup, diversity_select and bandit_select through their passes: empty input, bad lines
/// (quarantined before the stage), a huge document, texts in several scripts, documents without
/// the fields the stage needs, and any number of tasks.
@Suite("semdedup, diversity_select and bandit_select stages")
struct SelectionStageTests {
  /// 60 documents in 3 clusters; in each cluster 10 pairs of copies (documents i and i + 30
  /// have the same vector; different pairs have cosine 0.1), a score and an influence value;
  /// texts in English, Japanese and Russian.
  static let corpus: [[UInt8]] = {
    var lines: [[UInt8]] = []
    for i in 0..<60 {
      let cluster = i % 3
      var v = [Double](repeating: 0, count: 13)
      v[cluster] = 1
      v[3 + (i / 3) % 10] = 3
      let text = ["plain English text", "日本語のテキスト", "текст на русском"][i % 3]
      let score = Double((i * 37) % 60) / 60 + 0.01
      let influence = cluster == 1 ? 0.02 : -0.01
      lines.append(
        Array(
          "{\"id\":\"d\(i)\",\"text\":\"\(text)\",\"embedding\":\(v),\"cluster\":\(cluster),\"cluster_distance\":\(Double(i % 7) / 10),\"score\":\(score),\"influence\":\(influence)}"
            .utf8))
    }
    return lines
  }()

  @Test("semdedup: one of each pair of copies is dropped, the same for any task count; edge cases")
  func semdedup() throws {
    var results: [Set<String>] = []
    for tasks in [1, 2, 4] {
      let run = try GlobalRun.run(SemDedupStage(epsilon: 0.01, buckets: 2), split(Self.corpus, into: tasks))
      #expect(run.reasons.values.allSatisfy { $0 == SemDedupStage.duplicateReason })
      results.append(Set(run.keptIDs))
    }
    #expect(results.allSatisfy { $0 == results[0] })
    #expect(results[0].count == 30)
    // Bad lines are quarantined before the stage; documents without a cluster or vector are dropped with the reason.
    var lines = Self.corpus
    lines += [
      Array(#"{"id":"nocluster","text":"x","embedding":[1,0,0,0,0,0,0,0,0,0,0,0,0],"cluster_distance":0.1}"#.utf8),
      Array(#"{"id":"novec","text":"x","cluster":1,"cluster_distance":0.1}"#.utf8),
      HugeText.jsonLine(id: "huge", extra: #","embedding":[0,0,1,0,0,0,0,0,0,0,0,0,9],"cluster":2,"cluster_distance":0.5"#),
    ]
    let (mixed, _) = interleaveBad(lines)
    let run = try GlobalRun.run(SemDedupStage(epsilon: 0.01), split(mixed, into: 3))
    #expect(run.reasons["nocluster"] == SemDedupStage.noClusterReason && run.reasons["novec"] == "embedding_missing")
    #expect(run.keptIDs.contains("huge"))
    #expect(run.applied.reduce(0) { $0 + $1.stats.quarantined } == badLines.count)
    let empty = try GlobalRun.run(SemDedupStage(), [[]])
    #expect(empty.keptIDs.isEmpty)
  }

  @Test("diversity_select: Deita's threshold skips copies; balanced caps clusters; edge cases")
  func diversity() throws {
    // Whole set: copies (similarity 1) are never both taken.
    let deita = try DiversitySelectStage(scoreFields: ["score"], tau: 0.01, budget: 100)
    var results: [Set<String>] = []
    for tasks in [1, 3] {
      let run = try GlobalRun.run(deita, split(Self.corpus, into: tasks))
      results.append(Set(run.keptIDs))
    }
    #expect(results[0] == results[1])
    for i in 0..<30 { #expect(!(results[0].contains("d\(i)") && results[0].contains("d\(i + 30)"))) }
    #expect(results[0].count == 30)
    // Balanced: at most 4 per cluster, the best-scored.
    let balanced = try DiversitySelectStage(balanced: true, scoreFields: ["score"], clusterField: "cluster", perCluster: 4)
    let run = try GlobalRun.run(balanced, split(Self.corpus, into: 2))
    #expect(run.keptIDs.count == 12)
    // Edge cases: bad lines quarantined, a document without a score dropped with the reason, a huge document.
    var lines = Self.corpus
    lines += [
      Array(#"{"id":"noscore","text":"x","embedding":[1,0,0,0,0,0,0,0,0,0,0,0,0],"cluster":0}"#.utf8),
      HugeText.jsonLine(id: "huge", extra: #","embedding":[0,0,1,0,0,0,0,0,0,0,0,0,9],"cluster":2,"score":5"#),
    ]
    let (mixed, _) = interleaveBad(lines)
    let edge = try GlobalRun.run(try DiversitySelectStage(scoreFields: ["score"], tau: 0.01), split(mixed, into: 3))
    #expect(edge.reasons["noscore"] == DiversitySelectStage.noScore)
    #expect(edge.keptIDs.contains("huge"))
    #expect(edge.applied.reduce(0) { $0 + $1.stats.quarantined } == badLines.count)
    #expect(try GlobalRun.run(deita, [[]]).keptIDs.isEmpty)
    // Settings that cannot work are refused.
    #expect(winnowError { _ = try DiversitySelectStage(scoreFields: []) }?.message.contains("score_fields") == true)
    #expect(winnowError { _ = try DiversitySelectStage(balanced: true, scoreFields: ["s"]) }?.message.contains("per_cluster") == true)
  }

  @Test("bandit_select: the rewarded cluster wins its blocks; any task count; edge cases")
  func bandit() throws {
    var o = QuadBandit.Options()
    o.arms = 2
    o.probeSize = 2
    o.blockSize = 5
    let stage = BanditSelectStage(scoreField: "influence", options: o, rewardOffset: 0, maxRounds: 10, budget: 1000)
    var results: [Set<String>] = []
    for tasks in [1, 2, 5] {
      let run = try GlobalRun.run(stage, split(Self.corpus, into: tasks))
      results.append(Set(run.keptIDs))
      #expect(run.reasons.values.allSatisfy { $0 == BanditSelectStage.notSelected })
    }
    #expect(results.allSatisfy { $0 == results[0] })
    // Only cluster 1 has a positive reward: all of its 20 documents (4 blocks), nothing else.
    #expect(results[0] == Set((0..<60).filter { $0 % 3 == 1 }.map { "d\($0)" }))
    var lines = Self.corpus
    lines += [Array(#"{"id":"nocluster","text":"x","influence":1}"#.utf8), HugeText.jsonLine(id: "huge", extra: #","cluster":1,"influence":0.5"#)]
    let (mixed, _) = interleaveBad(lines)
    let edge = try GlobalRun.run(stage, split(mixed, into: 3))
    #expect(edge.reasons["nocluster"] == BanditSelectStage.noCluster)
    #expect(edge.applied.reduce(0) { $0 + $1.stats.quarantined } == badLines.count)
    #expect(winnowError { _ = try GlobalRun.run(stage, [[]]) }?.message.contains("no document has a cluster") == true)
  }
}
