import Foundation
import Testing
import WinnowTestSupport

@testable import WinnowCore
@testable import WinnowSelect

/// dsir_select through its five passes, against an in-memory computation of the same method
/// (fit on everything, weights, NumPy's Gumbel draws over the eligible documents in order, a
/// full sort), across task splits.
@Suite struct DSIRSelectTests {
  static let vocabularies: [[String]] = [
    "kernel module memory buffer thread socket packet driver interrupt scheduler page cache".split(separator: " ").map(String.init),
    "river mountain meadow forest winter garden harbour lantern candle island falcon canyon".split(separator: " ").map(String.init),
    "Straße Größe Übung schön Mädchen Fluß Brücke Wälder Himmel Stadt Wasser Zeitung".split(separator: " ").map(String.init),
    "東京 大阪 京都 データ 選択 言語 モデル 学習 文書 品質 重複 削除".split(separator: " ").map(String.init),
    "Ηλιος ΣΟΦΙΑ ΟΔΟΣ ΛΟΓΟΣ Καλημέρα κόσμε ΘΑΛΑΣΣΑ ΠΟΛΙΣ".split(separator: " ").map(String.init),
  ]

  /// `words` words mixing the vocabularies with weights from `seed`, with punctuation.
  static func text(_ seed: Int, words: Int) -> String {
    var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ 7
    func next() -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(state >> 33)
    }
    let main = seed % vocabularies.count
    var out: [String] = []
    for k in 0..<words {
      let v = next() % 3 == 0 ? vocabularies[next() % vocabularies.count] : vocabularies[main]
      out.append(v[next() % v.count] + (k % 11 == 10 ? "." : k % 7 == 6 ? "," : ""))
    }
    return out.joined(separator: " ")
  }

  static let corpus: [[UInt8]] = (0..<60).map { k in docLine("d\(k)", text(k, words: k % 9 == 4 ? 12 : 40 + (k * 7) % 50)) }

  func target(_ dir: TempDir, _ name: String = "target.txt", seeds: [Int] = [0, 5, 10]) throws -> String {
    try dir.write(name, Array(seeds.map { Self.text($0 + 1000, words: 80) }.joined(separator: "\n").utf8))
  }

  /// The expected kept ids, computed on the whole corpus in memory.
  func expected(_ lines: [[UInt8]], targets: [String], k: Int, topK: Bool, seed: UInt32, minLength: Int, separate: Bool = false)
    throws -> [String]
  {
    let docs = lines.map(parseObject)
    var f = HashedNGramFeaturizer()
    var raw = [UInt64](repeating: 0, count: 10_000)
    for d in docs {
      var bytes = Array((d["text"] as! String).utf8)
      bytes.withUnsafeMutableBufferPointer { f.features(UnsafeBufferPointer($0)) { raw[$0] += 1 } }
    }
    let tc = try DSIRTargets.count(targets, field: "text", ngrams: 2, buckets: 10_000, stage: "t")
    let fit = DSIRFit(
      ngrams: 2, buckets: 10_000, rawCounts: raw, targetCounts: tc, targetNames: targets, separateTargets: separate,
      givenProportions: nil)
    let logDiff = fit.logDiff
    var counts = [Int](repeating: 0, count: 10_000)
    var touched: [Int] = []
    var lengths: [Int] = []
    var weights: [[Double]] = []
    for d in docs {
      var bytes = Array((d["text"] as! String).utf8)
      let (n, w) = bytes.withUnsafeMutableBufferPointer {
        DSIRWeigher.weigh(UnsafeBufferPointer($0), featurizer: &f, logDiff: logDiff, counts: &counts, touched: &touched)
      }
      lengths.append(n)
      weights.append(w)
    }
    var mask = lengths.map { $0 >= minLength }
    var chosen = [Bool](repeating: false, count: docs.count)
    var gen = NumpyLegacyRandom(seed: seed)
    for (row, want) in fit.samplesPerTarget(k).enumerated() where want > 0 {
      var scored: [(Double, Int)] = []
      for i in docs.indices where mask[i] {
        scored.append((weights[i][row] + (topK ? 0 : gen.gumbel()), i))
      }
      scored.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
      for (_, i) in scored.prefix(want) {
        chosen[i] = true
        mask[i] = false
      }
    }
    return docs.indices.filter { chosen[$0] }.map { docs[$0]["id"] as! String }
  }

  @Test(arguments: [(true, 1), (true, 3), (false, 1), (false, 4), (false, 7)])
  func selectionMatchesInMemory(topK: Bool, tasks: Int) throws {
    let dir = try TempDir()
    let t = try target(dir)
    let stage = DSIRSelect(targets: [t], count: .documents(17), topK: topK, seed: 1234, minLength: 20)
    let run = try GlobalRun.run(stage, split(Self.corpus, into: tasks))
    let want = try expected(Self.corpus, targets: [t], k: 17, topK: topK, seed: 1234, minLength: 20)
    #expect(want.count == 17)
    #expect(run.keptIDs == want)
    // Everything else has a reason: too short, or not selected.
    let short = Self.corpus.map(parseObject).filter { ($0["text"] as! String).split(separator: " ").count < 20 }.map { $0["id"] as! String }
    #expect(!short.isEmpty)
    for id in short { #expect(run.reasons[id] == DSIRSelect.tooShort) }
    #expect(run.reasons.count == Self.corpus.count - 17)
    #expect(Set(run.reasons.values) == [DSIRSelect.tooShort, DSIRSelect.notSelected])
  }

  @Test func separateTargetsMatchInMemory() throws {
    let dir = try TempDir()
    let a = try target(dir, "a.txt", seeds: [1, 6])
    let b = try target(dir, "b.txt", seeds: [3, 8, 13])
    for tasks in [1, 5] {
      let stage = DSIRSelect(targets: [a, b], count: .documents(15), seed: 9, minLength: 20, separateTargets: true)
      let run = try GlobalRun.run(stage, split(Self.corpus, into: tasks))
      #expect(run.keptIDs == (try expected(Self.corpus, targets: [a, b], k: 15, topK: false, seed: 9, minLength: 20, separate: true)))
      #expect(run.keptIDs.count == 15)
    }
  }

  @Test func fractionAndMoreThanEligible() throws {
    let dir = try TempDir()
    let t = try target(dir)
    let half = try GlobalRun.run(DSIRSelect(targets: [t], count: .fraction(0.5), seed: 3, minLength: 20), split(Self.corpus, into: 2))
    #expect(half.keptIDs.count == 30)
    // Asking for more than there are eligible documents keeps every eligible document.
    let all = try GlobalRun.run(DSIRSelect(targets: [t], count: .documents(1000), seed: 3, minLength: 20), split(Self.corpus, into: 2))
    #expect(all.keptIDs.count == Self.corpus.count - all.reasons.count)
    #expect(Set(all.reasons.values) == [DSIRSelect.tooShort])
    let none = try GlobalRun.run(DSIRSelect(targets: [t], count: .documents(0), minLength: 20), split(Self.corpus, into: 2))
    #expect(none.keptIDs.isEmpty)
  }

  /// Equal documents have equal weights: top_k keeps the earlier ones, as a stable order does.
  @Test func tiesGoToEarlierDocuments() throws {
    let dir = try TempDir()
    let t = try target(dir)
    let same = Self.text(0, words: 50)
    let lines = (0..<40).map { docLine("s\($0)", same) }
    let run = try GlobalRun.run(DSIRSelect(targets: [t], count: .documents(7), topK: true, minLength: 5), split(lines, into: 3))
    #expect(run.keptIDs == (0..<7).map { "s\($0)" })
  }

  @Test func annotateKeepsEveryDocumentWithItsWeight() throws {
    let dir = try TempDir()
    let t = try target(dir)
    let run = try GlobalRun.run(DSIRSelect(targets: [t], count: .none, minLength: 20, annotate: true), split(Self.corpus, into: 3))
    #expect(run.keptIDs.count == Self.corpus.count)
    let w = run.kept.map { $0["dsir_log_weight"] as? Double }
    #expect(w.allSatisfy { $0 != nil })
    // Documents written in the target's main vocabulary weigh more than the others.
    let byVocabulary = Dictionary(grouping: zip(0..<60, w)) { $0.0 % 5 }.mapValues { $0.map { $0.1! }.reduce(0, +) / Double($0.count) }
    #expect(byVocabulary[0]! > byVocabulary[1]!)
    #expect(byVocabulary[0]! > byVocabulary[3]!)
  }

  @Test func emptyInputAndEmptyTasks() throws {
    let dir = try TempDir()
    let t = try target(dir)
    let run = try GlobalRun.run(DSIRSelect(targets: [t], count: .documents(5)), [[], []])
    #expect(run.keptIDs.isEmpty)
    let some = try GlobalRun.run(
      DSIRSelect(targets: [t], count: .documents(5), topK: true, minLength: 20), [[], Array(Self.corpus.prefix(10)), []])
    #expect(some.keptIDs.count == 5)
  }

  /// Bad lines are quarantined by the reader and never reach the passes; non-English and huge
  /// documents are weighed like any other.
  @Test func badLinesHugeAndNonEnglishDocuments() throws {
    let dir = try TempDir()
    let t = try target(dir)
    var lines = Array(Self.corpus.prefix(20))
    lines.insert(contentsOf: badLines.map(\.bytes), at: 3)
    lines.append(docLine("huge", String(repeating: Self.text(0, words: 1000) + " ", count: 60)))
    lines.append(docLine("greek", String(repeating: "ΣΟΦΙΑ ΟΔΟΣ ΛΟΓΟΣ. ", count: 40)))
    let run = try GlobalRun.run(DSIRSelect(targets: [t], count: .documents(6), topK: true, minLength: 20), [lines])
    #expect(run.applied[0].stats.quarantined == badLines.count)
    #expect(run.keptIDs.count == 6)
    // The huge document dominates the raw counts, so its own n-grams weigh little; it is
    // weighed all the same (annotate mode shows a finite weight).
    let annotated = try GlobalRun.run(DSIRSelect(targets: [t], count: .none, minLength: 20, annotate: true), [lines])
    let huge = annotated.kept.first { $0["id"] as? String == "huge" }
    #expect((huge?["dsir_log_weight"] as? Double)?.isFinite == true)
    #expect(annotated.kept.allSatisfy { ($0["dsir_log_weight"] as? Double)?.isFinite == true })
    let ids = lines.map(parseObject).compactMap { $0["id"] as? String }.filter { $0.hasPrefix("d") || $0 == "huge" || $0 == "greek" }
    #expect(Set(run.keptIDs).isSubset(of: Set(ids)))
  }

  @Test func missingAndDamagedPhaseFilesAreErrors() throws {
    let dir = try TempDir()
    let t = try target(dir)
    let stage = DSIRSelect(targets: [t], count: .documents(5), minLength: 20)
    let tasks = split(Self.corpus, into: 2)
    var run = try GlobalRun()
    run.tasksPerPass = PhaseStore.tasksPerPass(stage.passes, inputTasks: 2)
    try run.run(pass: 0, stage, tasks)
    try run.run(pass: 1, stage, tasks)
    try run.run(pass: 2, stage, tasks)
    // A weights file cut short: the selection names it.
    let weights = run.files(2, ".weights")
    #expect(weights.count == 2)
    let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: weights[1])))
    try Data(bytes.prefix(bytes.count - 12)).write(to: URL(fileURLWithPath: weights[1]))
    #expect { try run.run(pass: 3, stage, tasks) } throws: { "\($0)".contains(weights[1]) }
    // A lost fit file: the weights pass says so.
    try FileManager.default.removeItem(atPath: run.files(1, "-fit")[0])
    #expect { try run.run(pass: 2, stage, tasks) } throws: { "\($0)".contains("fit") }
  }

  @Test func targetsThatCannotBeUsed() throws {
    let dir = try TempDir()
    #expect(throws: WinnowError.self) {
      _ = try DSIRTargets.count([dir.path + "/missing.txt"], field: "text", ngrams: 2, buckets: 100, stage: "dsir_select")
    }
    let blank = try dir.write("blank.txt", Array("\n  \n".utf8))
    #expect { _ = try DSIRTargets.count([blank], field: "text", ngrams: 2, buckets: 100, stage: "dsir_select") } throws: {
      "\($0)".contains("no words")
    }
    let bad = try dir.write("bad.jsonl", Array("{\"text\": \"ok words here\"}\n{not json\n".utf8))
    #expect { _ = try DSIRTargets.count([bad], field: "text", ngrams: 2, buckets: 100, stage: "dsir_select") } throws: {
      "\($0)".contains(bad) && "\($0)".contains("2")
    }
  }

  @Test func fitFileRoundTripsAndRefusesDamage() throws {
    let dir = try TempDir()
    let fit = DSIRFit(
      ngrams: 2, buckets: 4, rawCounts: [1, 2, 3, 0], targetCounts: [[0, 1, 0, 5], [2, 2, 2, 2]], targetNames: ["a", "b\"c"],
      separateTargets: true, givenProportions: [0.25, 0.75])
    let path = try dir.write("fit.json", Array(fit.json().utf8))
    #expect(try DSIRFit.load(path) == fit)
    let text = fit.json()
    for damaged in [String(text.prefix(text.count / 2)), text.replacingOccurrences(of: "[1,2,3,0]", with: "[1,2,3]"), "{}", ""] {
      let p = try dir.write("bad.json", Array(damaged.utf8))
      #expect { _ = try DSIRFit.load(p) } throws: { "\($0)".contains(p) }
    }
  }

  /// The features between passes 1 and 3: written and read back; damaged content (with a
  /// valid checksum) is an error naming the file, never a wrong weight.
  @Test func featureFilesRoundTripAndRefuseDamage() throws {
    let dir = try TempDir()
    let phase = PhaseTask(pass: 0, task: 0, tasksPerPass: [1, 1], root: dir.path + "/phase", manifest: [:])
    try phase.prepareDirectory()
    var writer = DSIRFeatureFile.Writer(phase: phase)
    var counts = [UInt32](repeating: 0, count: 300)
    counts[0] = 1
    counts[7] = 200
    counts[299] = 3
    try writer.add(length: 5, touched: [0, 7, 299], counts: counts)
    try writer.add(length: 0, touched: [], counts: counts)
    try writer.add(length: 1 << 40, touched: [299], counts: counts)
    try writer.finish()
    let files = phase.written.files
    #expect(files.count == 1)
    var seen: [(Int, [Int], [UInt32])] = []
    try DSIRFeatureFile.forEachDocument(files[0], buckets: 300) { (length, f) in seen.append((length, f.map(\.0), f.map(\.1))) }
    #expect(seen.map(\.0) == [5, 0, 1 << 40])
    #expect(seen.map(\.1) == [[0, 7, 299], [], [299]])
    #expect(seen.map(\.2) == [[1, 200, 3], [], [3]])
    // Fewer buckets than the file names: out of range.
    #expect { try DSIRFeatureFile.forEachDocument(files[0], buckets: 200) { _, _ in } } throws: { "\($0)".contains(files[0].path) }
    // Hand-made files with valid checksums and bad contents.
    func file(_ words: [UInt64]) throws -> WrittenFile {
      var records = words.map(DSIRValue.init)
      return try SortedRunFile.write(&records, to: dir.path + "/bad-\(words.count)-\(words.first ?? 0)", sort: false)
    }
    let bad: [[UInt64]] = [
      [],  // no header
      [1, 100, 0],  // more bytes than words
      [2, 2, 0x0000_0000_0000_0005],  // one document (length 5, 0 buckets) where two are announced
      [1, 3, 0x0000_0000_0000_0105],  // ends inside a number (1 bucket announced, no pair)
      [1, 5, 0x0000_0001_0101_0005 | 0xFF << 32],  // a bucket step past the last bucket
      [1, 8, 0xFFFF_FFFF_FFFF_FFFF],  // a number longer than 64 bits
      [1, 4, 0x0000_0000_0001_0101],  // a zero step: buckets not ascending… (count 1, step 1, count 0)
    ]
    for words in bad {
      let f = try file(words)
      #expect { try DSIRFeatureFile.forEachDocument(f, buckets: 300) { _, _ in } } throws: { "\($0)".contains(f.path) }
    }
  }
}
