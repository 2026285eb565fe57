import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters

@Suite("sample stage")
struct SampleFilterTests {
  let d = SampleFilter.descriptor

  static let ids = (0..<20_000).map { "doc-\($0)" }
  /// Short documents whose text is unrelated to the id.
  static let lines = ids.enumerated().map { docLine(id: $0.element, text: "text \($0.offset % 7)") }

  func sample(_ params: [String: RawParameter], seed: UInt64 = 0) throws -> NamedStage {
    try build(d, params, seed: seed)
  }

  /// The ids a stage keeps, deciding each document in memory in the given order (one
  /// reused `Document`, as the reader does).
  func keptIDs(_ stage: NamedStage, _ lines: [[UInt8]], source: String = "<memory>") throws -> Set<String> {
    let pipeline = Pipeline(stages: [stage])
    let doc = Document()
    var kept = Set<String>()
    for (k, line) in lines.enumerated() {
      let isKept = try line.withUnsafeBufferPointer { bytes in
        try doc.load(line: bytes, source: source, lineNumber: k + 1)
        return try pipeline.process(doc) == nil
      }
      if isKept { kept.insert(doc.id) }
    }
    return kept
  }

  @Test("rate 0.3 keeps a fraction of 20,000 documents within 5 standard deviations of 0.3")
  func rateWithinBound() throws {
    // Each document is kept independently with p = 0.3, so the count is Binomial(n, p):
    // mean n·p = 6000, sigma = sqrt(n·p·(1-p)) ≈ 64.8. A fair hash leaves the 5-sigma band
    // (±324) with probability < 6e-7.
    let n = Double(Self.ids.count)
    let p = 0.3
    let sigma = (n * p * (1 - p)).squareRoot()
    for seed in ["0", "1", "12345"] {
      let r = try runPipeline([try sample(["rate": v("0.3"), "seed": v(seed)])], lines: Self.lines)
      let kept = Double(r.stats.documentsWritten)
      #expect(abs(kept - n * p) <= 5 * sigma, "seed \(seed): kept \(kept) of \(n)")
      #expect(r.stats.stages[0].droppedByReason == ["not_sampled": Self.ids.count - r.stats.documentsWritten])
      #expect(r.stats.isBalanced)
      #expect(r.outputLines.count == r.stats.documentsWritten)
    }
  }

  @Test("different seeds choose different, independent subsets")
  func seedsDiffer() throws {
    let a = try keptIDs(try sample(["rate": v("0.3"), "seed": v("1")]), Self.lines)
    let b = try keptIDs(try sample(["rate": v("0.3"), "seed": v("2")]), Self.lines)
    #expect(a != b)
    // Independent selections overlap in about n·p² = 1800 documents,
    // sigma = sqrt(n·p²·(1-p²)) ≈ 40.5; allow 5 sigma.
    let n = Double(Self.ids.count)
    let q = 0.3 * 0.3
    let overlap = Double(a.intersection(b).count)
    #expect(abs(overlap - n * q) <= 5 * (n * q * (1 - q)).squareRoot(), "overlap \(overlap)")
  }

  @Test("the same seed keeps the same documents on every run and in any input order")
  func deterministic() throws {
    let stage = { try self.sample(["rate": v("0.3"), "seed": v("42")]) }
    let first = try runPipeline([try stage()], lines: Self.lines)
    let second = try runPipeline([try stage()], lines: Self.lines)
    #expect(first.outputLines == second.outputLines)
    let reversed = try runPipeline([try stage()], lines: Self.lines.reversed())
    #expect(Set(reversed.keptIDs) == Set(first.keptIDs))
    #expect(reversed.keptIDs == first.keptIDs.reversed())
    // Split over two files, in shuffled order: still the same set.
    var rng = SplitMix(seed: 7)
    let shuffled = Self.lines.shuffled(using: &rng)
    let split = try runPipeline(
      [try stage()], files: [Array(shuffled[..<7_000]), Array(shuffled[7_000...])])
    #expect(Set(split.keptIDs) == Set(first.keptIDs))
  }

  @Test("the decision depends on the id only, not on the text or other fields")
  func dependsOnIDOnly() throws {
    let stage = try sample(["rate": v("0.5"), "seed": v("3")])
    let ids = (0..<200).map { "id-\($0)" }
    let plain = try keptIDs(stage, ids.map { docLine(id: $0, text: "one") })
    let other = try keptIDs(
      stage, ids.map { docLine(id: $0, text: "a completely different text", [("url", #""http://x""#)]) })
    #expect(plain == other)
    #expect(!plain.isEmpty && plain.count < ids.count)
  }

  @Test("escaped and unescaped non-English ids are the same id")
  func nonEnglishIDs() throws {
    let ids = ["日本語-1", "中文\u{3000}2", "مرحبا-3", "привет-4", "नमस्ते-5", "😀-6", "a\u{A0}b-7"]
    var keptSome = false
    var droppedSome = false
    for seed in 0..<64 {
      let stage = try sample(["rate": v("0.5"), "seed": v(String(seed))])
      for id in ids {
        let raw = Array("{\"id\":\(jsonQuote(id)),\"text\":\"x\"}".utf8)
        let escaped = Array("{\"id\":\(jsonQuote(id, asciiOnly: true)),\"text\":\"x\"}".utf8)
        let a = try verdict([stage], raw)
        let b = try verdict([stage], escaped)
        #expect(a == b, "\(id) seed \(seed)")
        if a == nil { keptSome = true } else { droppedSome = true }
      }
    }
    #expect(keptSome && droppedSome)
  }

  @Test("rate 0 keeps none and rate 1 keeps all")
  func extremes() throws {
    let none = try runPipeline([try sample(["rate": v("0")])], lines: Self.lines)
    #expect(none.stats.documentsWritten == 0 && none.outputLines.isEmpty)
    #expect(none.stats.stages[0].droppedByReason == ["not_sampled": Self.ids.count])
    #expect(none.rejects.first?["reject_reason"] as? String == "not_sampled")
    #expect(none.rejects.first?["rejected_by"] as? String == "sample")
    let all = try runPipeline([try sample(["rate": v("1"), "seed": v("9")])], lines: Self.lines)
    #expect(all.stats.documentsWritten == Self.ids.count)
    #expect(all.outputLines == Self.lines)
    // Also for the decimal spelling and tiny/huge rates.
    #expect(try keptIDs(try sample(["rate": v("1.0")]), Self.lines).count == Self.ids.count)
    #expect(try keptIDs(try sample(["rate": v("0.0")]), Self.lines).isEmpty)
  }

  @Test("without a seed parameter the run's (recipe's) seed is used; an explicit seed overrides it")
  func contextSeed() throws {
    let fromContext = try keptIDs(try sample(["rate": v("0.3")], seed: 7), Self.lines)
    let explicit = try keptIDs(try sample(["rate": v("0.3"), "seed": v("7")], seed: 0), Self.lines)
    let overrides = try keptIDs(try sample(["rate": v("0.3"), "seed": v("7")], seed: 99), Self.lines)
    let otherContext = try keptIDs(try sample(["rate": v("0.3")], seed: 8), Self.lines)
    #expect(fromContext == explicit)
    #expect(overrides == explicit)
    #expect(otherContext != fromContext)
  }

  @Test("documents without an id are sampled by file and line, deterministically")
  func missingIDs() throws {
    let lines = [[UInt8]](repeating: Array("{\"text\":\"same text\"}".utf8), count: 400)
    let stage = { try self.sample(["rate": v("0.5"), "seed": v("5")]) }
    // The id is then `<file>#<line>`: reading the same file by the same name twice gives
    // the same decisions.
    let dir = try TempDir()
    let input = InputFile(path: try dir.writeLines("in-0.jsonl", lines))
    let a = try runPipeline([try stage()], inputs: [input], dir: dir)
    let b = try runPipeline([try stage()], inputs: [input], dir: dir)
    #expect(a.stats.documentsWritten == b.stats.documentsWritten)
    // Line by line, in memory under the same name: the same lines, as many as the file run kept.
    let first = try keptIDs(try stage(), lines, source: input.path)
    #expect(first == (try keptIDs(try stage(), lines, source: input.path)))
    #expect(first.count == a.stats.documentsWritten)
    #expect(first.allSatisfy { $0.hasPrefix(input.path + "#") })
    // Identical texts, yet some are kept and some dropped: the key is not the text.
    #expect(a.stats.documentsWritten > 0 && a.stats.documentsWritten < 400)
    // A null id is treated as absent: it is sampled like a document without an id (the
    // chance that 32 seeds agree by accident is 2^-32).
    for seed in 0..<32 {
      let s = try sample(["rate": v("0.5"), "seed": v(String(seed))])
      let nullID = try verdict([s], Array(#"{"id":null,"text":"same text"}"#.utf8))
      let noID = try verdict([s], Array(#"{"text":"same text"}"#.utf8))
      #expect(nullID == noID, "seed \(seed)")
    }
  }

  @Test("empty input: no documents, balanced")
  func emptyInput() throws {
    let r = try runPipeline([try sample(["rate": v("0.5")])], files: [[]])
    #expect(r.stats.documentsRead == 0 && r.outputLines.isEmpty && r.stats.isBalanced)
    #expect(r.stats.stages[0].documentsIn == 0)
  }

  @Test("malformed JSON and invalid UTF-8 are quarantined and never reach the stage")
  func badLinesQuarantined() throws {
    let good = Array(Self.lines.prefix(5))
    let (lines, numbers) = interleaveBad(good)
    let r = try runPipeline([try sample(["rate": v("1")])], lines: lines)
    expectQuarantined(r, lineNumbers: numbers, goodDocuments: 5)
    #expect(r.outputLines == good)
    let r0 = try runPipeline([try sample(["rate": v("0")])], lines: lines)
    expectQuarantined(r0, lineNumbers: numbers, goodDocuments: 5)
    #expect(r0.stats.dropped == 5 && r0.outputLines.isEmpty)
  }

  @Test("a 30 MB document is sampled by its id like any other and kept byte for byte")
  func hugeDocument() throws {
    // The decision depends on the id only, so tiny documents tell which ids rate 0.5 keeps.
    let stage = try sample(["rate": v("0.5"), "seed": v("11")])
    let candidates = (0..<64).map { "big-\($0)" }
    let keptID = try #require(try candidates.first { try verdict([stage], docLine(id: $0, text: "x")) == nil })
    let droppedID = try #require(try candidates.first { try verdict([stage], docLine(id: $0, text: "x")) != nil })
    let big = HugeText.jsonLine(id: keptID)
    let r = try runPipeline([stage], lines: [docLine(id: droppedID, text: "tiny"), big])
    #expect(r.outputLines == [big])
    #expect(r.stats.stages[0].droppedByReason == ["not_sampled": 1])
    #expect(r.stats.isBalanced)
  }

  @Test("parameter validation")
  func validation() throws {
    expectUsageError(["stage 'sample' needs parameter 'rate'", "number in [0.0, 1.0]"]) { _ = try build(d, [:]) }
    expectUsageError(["'rate'", "in [0.0, 1.0]", "1.5"]) { _ = try build(d, ["rate": v("1.5")]) }
    expectUsageError(["'rate'", "-0.1"]) { _ = try build(d, ["rate": v("-0.1")]) }
    expectUsageError(["'rate'", "'half'"]) { _ = try build(d, ["rate": v("half")]) }
    expectUsageError(["'rate'", "'nan'"]) { _ = try build(d, ["rate": v("nan")]) }
    expectUsageError(["'rate'", "'0.5'"]) { _ = try build(d, ["rate": quoted("0.5")]) }
    expectUsageError(["'seed'", "integer ≥ 0", "-1"]) { _ = try build(d, ["rate": v("0.5"), "seed": v("-1")]) }
    expectUsageError(["'seed'", "'1.5'"]) { _ = try build(d, ["rate": v("0.5"), "seed": v("1.5")]) }
    expectUsageError(["'seed'", "'99999999999999999999'"]) {
      _ = try build(d, ["rate": v("0.5"), "seed": v("99999999999999999999")])
    }
    expectUsageError(["no parameter 'rat'", "did you mean 'rate'"]) { _ = try build(d, ["rat": v("0.5")]) }
    expectUsageError(["no parameter 'sed'", "did you mean 'seed'"]) {
      _ = try build(d, ["rate": v("0.5"), "sed": v("1")])
    }
  }
}

/// A small seeded generator for reproducible shuffles (SplitMix64).
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
