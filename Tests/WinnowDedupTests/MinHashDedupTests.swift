import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowDedup
import CMinHashKernel

@Suite("minhash_dedup stage")
struct MinHashDedupTests {
  let d = MinHashDedup.descriptor

  func stage(_ params: [String: RawParameter] = [:]) throws -> MinHashDedup {
    let p = try StageParameters.validate(params, against: d.parameters, stage: d.name)
    return try #require(try d.makeGlobal!(p, StageContext()) as? MinHashDedup)
  }

  func signature(_ text: String, _ config: MinHashConfig = MinHashConfig()) -> (Bool, [UInt64], [UInt64], String) {
    var h = MinHasher(config)
    var t = text
    let ok = t.withUTF8 { h.sign($0) }
    return (ok, h.signature, h.shingles, String(decoding: h.simplifiedText, as: UTF8.self))
  }

  // MARK: Signatures

  @Test("hash parameters are NumPy's RandomState(1).randint draws, as datatrove uses them")
  func numpyParameters() {
    // python -c "import numpy as np; g=np.random.RandomState(1); P=(1<<61)-1;
    //   print(g.randint(1,P,dtype=np.uint64,size=3), g.randint(0,P,dtype=np.uint64,size=112)[:3])"
    // draws a from the first call and b from the second (after all 112 a's).
    var rng = NumpyLegacyRandom(seed: 1)
    let a = rng.randint(low: 1, high: (1 << 61) - 1, count: 112)
    let b = rng.randint(low: 0, high: (1 << 61) - 1, count: 112)
    #expect(Array(a.prefix(3)) == [775_169_054_918_279_404, 1_758_426_461_858_698_313, 2_109_959_069_025_162])
    #expect(Array(b.prefix(3)) == [1_062_448_801_025_099_917, 1_324_811_268_927_594_100, 1_217_488_311_597_731_462])
  }

  @Test("text is simplified as datatrove's simplify_text: case, numbers, punctuation, spacing, accents")
  func simplification() {
    #expect(signature("Hello, WORLD!!  3.14 and 2,5 or 1.2.3 --  x\t\ny").3 == "hello world 0 and 0 or 0 0 x y")
    #expect(signature("  Café Ünïcödé — «quoted» naïve ").3 == "cafe unicode quoted naive")
    #expect(signature("٣٤ apples ١٢٫٥ kg ５６").3 == "0 apples 0 kg 0")
    #expect(signature("Привет, Мир! Ёлка").3 == "привет мир елка")
    #expect(signature("中文、测试。句子").3 == "中文 测试 句子")
    #expect(signature("").3 == "")
    #expect(signature("\u{0301} a \u{0301}").3 == "a")
  }

  @Test("documents with fewer words than the shingle size have no signature")
  func tooShort() {
    #expect(signature("one two three four").0 == false)
    #expect(signature("one two three four five").0 == true)
    #expect(signature("one two three four five").2.count == 1)
    // Punctuation is not a word.
    #expect(signature("one, two! three? four... (five)").0 == true)
    #expect(signature("one, two! three? four...").0 == false)
  }

  @Test("equal simplified text gives equal signatures; shingles are a set")
  func signaturesFollowText() {
    let a = signature("The Quick brown fox jumps over the lazy dog. Again!")
    let b = signature("the quick brown fox, jumps over the lazy dog again")
    #expect(a.1 == b.1)
    let rep = signature("a b c d e a b c d e a b c d e")
    #expect(rep.2.count == 5)
    #expect(rep.2 == rep.2.sorted())
  }

  @Test("the vector signature loop gives the portable loop's numbers")
  func kernelsAgree() {
    var state: UInt64 = 12345
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state ^ (state >> 29)
    }
    for (n, count) in [(0, 112), (1, 112), (7, 13), (300, 112), (1000, 9), (64, 3)] {
      // Extremes too: hashes near 2^64, parameters near 2^61.
      let shingles = (0..<n).map { k in k % 10 == 0 ? UInt64.max &- UInt64(k) : next() }
      let a = (0..<count).map { _ in next() % ((1 << 61) - 2) + 1 }
      let b = (0..<count).map { _ in next() % ((1 << 61) - 1) }
      var fast = [UInt64](repeating: 0, count: count)
      var slow = [UInt64](repeating: 1, count: count)
      wn_minhash_signature(shingles, n, a, b, count, &fast)
      wn_minhash_signature_scalar(shingles, n, a, b, count, &slow)
      #expect(fast == slow, "n \(n), count \(count), avx2 \(wn_minhash_uses_avx2())")
      if n == 0 { #expect(fast.allSatisfy { $0 == UInt64.max }) }
    }
  }

  @Test("Jaccard of shingle sets")
  func jaccard() {
    let x: [UInt64] = [1, 2, 3, 4]
    let y: [UInt64] = [3, 4, 5, 6]
    #expect(x.withUnsafeBufferPointer { x in y.withUnsafeBufferPointer { MinHasher.jaccard(x, $0) } } == 2.0 / 6.0)
    #expect(x.withUnsafeBufferPointer { MinHasher.jaccard($0, $0) } == 1)
  }

  @Test("character shingles for text without spaces")
  func characterShingles() {
    var c = MinHashConfig()
    c.unit = .char
    let s = signature("今天天气很好我们去公园散步吧", c)
    #expect(s.0)
    #expect(s.2.count == 14 - 4)
    #expect(signature("今天天气", c).0 == false)
  }

  @Test("a huge document is signed")
  func hugeDocument() {
    let text = String(repeating: prose(7, words: 2000) + "\n", count: 300)  // ~4 MB
    let s = signature(text)
    #expect(s.0)
    #expect(s.2.count > 1900)
  }

  // MARK: Phases

  func corpus() -> [[UInt8]] {
    let base = (0..<12).map { prose($0) }
    var lines: [[UInt8]] = []
    for (k, t) in base.enumerated() { lines.append(docLine(id: "b\(k)", text: t)) }
    lines.append(docLine(id: "b3-copy", text: base[3].uppercased()))
    lines.append(docLine(id: "b5-near", text: edited(base[5], every: 100)))  // Jaccard about 0.9
    lines.append(docLine(id: "b5-near2", text: edited(base[5], every: 100, offset: 50)))
    lines.append(docLine(id: "b7-far", text: edited(base[7], every: 8)))  // shares little
    lines.append(docLine(id: "short1", text: "only four words here"))
    lines.append(docLine(id: "short2", text: "only four words here"))
    lines.append(docLine(id: "b9-copy", text: base[9] + "!"))
    return lines
  }

  @Test("exact and near copies are dropped, the first of each cluster stays, others are untouched")
  func dropsNearDuplicates() throws {
    let r = try PhaseRun.run(try stage(), [corpus()])
    #expect(Set(r.reasons.keys) == ["b3-copy", "b5-near", "b5-near2", "b9-copy"])
    #expect(r.reasons.values.allSatisfy { $0 == "near_duplicate" })
    #expect(r.keptIDs.contains("b7-far"))
    #expect(r.keptIDs.contains("short1") && r.keptIDs.contains("short2"))
    // Cluster sizes from the clustering pass: three pairs and one triple.
    let st = try #require(r.middleStats.last?.first?.stages.first)
    #expect(st.clusterSizes?["2"] == 2)
    #expect(st.clusterSizes?["3"] == 1)
    #expect(st.dropped == 4)
  }

  @Test("the output is the same for any number of tasks, empty tasks included")
  func sameForAnyTaskCount() throws {
    let lines = corpus()
    let one = try PhaseRun.run(try stage(), [lines])
    for n in [2, 4, 7, 30] {
      let many = try PhaseRun.run(try stage(), split(lines, into: n))
      #expect(many.outputLines == one.outputLines, "tasks: \(n)")
    }
    let buckets = try PhaseRun.run(try stage(["buckets": v("3"), "spill_entries": v("1024")]), split(lines, into: 3))
    #expect(buckets.outputLines == one.outputLines)
  }

  @Test("keep: longest and keep: highest choose the document that stays")
  func keepPolicies() throws {
    let t = prose(42)
    let lines = [
      docLine(id: "a", text: t, [("score", "0.2")]),
      docLine(id: "b", text: t + " and a tail", [("score", "0.9")]),
      docLine(id: "c", text: t + "!", [("score", "0.5")]),
      docLine(id: "d", text: t, [("score", "\"n/a\"")]),
    ]
    #expect(try PhaseRun.run(try stage(), split(lines, into: 2)).keptIDs == ["a"])
    #expect(try PhaseRun.run(try stage(["keep": v("longest")]), split(lines, into: 2)).keptIDs == ["b"])
    #expect(
      try PhaseRun.run(try stage(["keep": v("highest"), "keep_field": v("score")]), split(lines, into: 2)).keptIDs == ["b"])
    expectUsageError(["keep_field"]) { _ = try stage(["keep": v("highest")]) }
  }

  @Test("mode annotate keeps everything and writes cluster id and size")
  func annotate() throws {
    let lines = corpus()
    let r = try PhaseRun.run(try stage(["mode": v("annotate")]), split(lines, into: 3))
    #expect(r.keptIDs.count == lines.count)
    let byID = Dictionary(uniqueKeysWithValues: r.outputs.map { ($0["id"] as! String, $0) })
    #expect(byID["b3"]?["minhash_cluster_id"] as? Int == 3)
    #expect(byID["b3-copy"]?["minhash_cluster_id"] as? Int == 3)
    #expect(byID["b3-copy"]?["minhash_cluster_size"] as? Int == 2)
    #expect(byID["b5-near2"]?["minhash_cluster_size"] as? Int == 3)
    #expect(byID["b0"]?["minhash_cluster_size"] as? Int == 1)
    #expect(byID["b0"]?["minhash_cluster_id"] as? Int == 0)
    #expect(byID["short2"]?["minhash_cluster_id"] as? Int == 17)
  }

  @Test("the exact check rejects candidate pairs below the threshold")
  func exactCheck() throws {
    // One row per band: documents meet when any single minimum agrees, which happens for
    // pairs far below 0.8 Jaccard.
    let base = prose(3)
    let lines = [docLine(id: "x", text: base), docLine(id: "y", text: edited(base, every: 9))]
    let loose: [String: RawParameter] = ["bands": v("40"), "rows": v("1")]
    #expect(try PhaseRun.run(try stage(loose), [lines]).keptIDs == ["x"])
    var checked = loose
    checked["exact_check"] = v("true")
    #expect(try PhaseRun.run(try stage(checked), [lines]).keptIDs == ["x", "y"])
    checked["threshold"] = v("0.1")
    #expect(try PhaseRun.run(try stage(checked), [lines]).keptIDs == ["x"])
  }

  @Test("non-English text: words (Cyrillic, German) and characters (Chinese)")
  func nonEnglish() throws {
    let ru = (0..<60).map { "слово\($0 % 13)то\($0 % 7)" }.joined(separator: " ")
    let de = (0..<60).map { "Größe\($0 % 11)über\($0 % 5)" }.joined(separator: " ")
    let zh = String(repeating: "我们今天去公园散步然后回家吃饭", count: 3) + "天气很好"
    let lines = [
      docLine(id: "ru", text: ru), docLine(id: "de", text: de), docLine(id: "zh", text: zh),
      docLine(id: "ru2", text: ru.uppercased()), docLine(id: "de2", text: de.lowercased()), docLine(id: "zh2", text: zh + "。"),
    ]
    let words = try PhaseRun.run(try stage(), split(lines, into: 2))
    // Chinese without spaces is one "word" to spaCy's English rules: no 5-gram, never a
    // duplicate by words — what unit: char is for.
    #expect(Set(words.reasons.keys) == ["ru2", "de2"])
    let chars = try PhaseRun.run(try stage(["unit": v("char"), "ngram": v("3"), "exact_check": v("true")]), [lines])
    #expect(Set(chars.reasons.keys) == ["ru2", "de2", "zh2"])
  }

  @Test("empty input and an input with only short documents")
  func emptyInput() throws {
    let r = try PhaseRun.run(try stage(), [[], []])
    #expect(r.keptIDs.isEmpty)
    let short = try PhaseRun.run(try stage(), [[docLine(id: "s", text: "hi"), docLine(id: "t", text: "hi")]])
    #expect(short.keptIDs == ["s", "t"])
  }

  @Test("bad lines are quarantined by the reader; positions still line up in apply")
  func badLinesAndInvalidUTF8() throws {
    let t = prose(11)
    let lines: [[UInt8]] = [
      docLine(id: "a", text: t), Array(#"{"id":"broken","text":"#.utf8),
      Array(#"{"id":"u","text":"bad "#.utf8) + [0xFF] + Array(#""}"#.utf8),
      docLine(id: "b", text: prose(12)), docLine(id: "a2", text: t), docLine(id: "c", text: "emoji 🙂 " + prose(13)),
    ]
    let r = try PhaseRun.run(try stage(), [lines])
    #expect(r.keptIDs == ["a", "b", "c"])
    #expect(r.reasons == ["a2": "near_duplicate"])
    #expect(r.applied[0].stats.quarantined == 2)
  }

  @Test("a corrupt or truncated band run is an error naming the file")
  func corruptRuns() throws {
    let global = try stage()
    let tasks = split(corpus(), into: 2)
    var r = try PhaseRun()
    try r.map(global, tasks)
    let runs = r.files(0, ".bands")
    #expect(runs.count == 2 * 14)
    var bytes = readBytes(runs[3])
    bytes[40] ^= 0x55
    try Data(bytes).write(to: URL(fileURLWithPath: runs[3]))
    let err = winnowError { try r.middle(global) }
    #expect(err?.message.contains(runs[3]) == true)
    #expect(err?.message.contains("corrupt") == true)
    // Truncated.
    try Data(bytes.prefix(bytes.count - 20)).write(to: URL(fileURLWithPath: runs[3]))
    let err2 = winnowError { try r.middle(global) }
    #expect(err2?.message.contains(runs[3]) == true)
    // Missing: a run the map task recorded is gone.
    try FileManager.default.removeItem(atPath: runs[3])
    let err3 = winnowError { try r.middle(global) }
    #expect(err3?.message.contains(runs[3]) == true)
    #expect(err3?.message.contains("missing") == true)
  }

  @Test("corrupt shingle files and pair runs are errors too")
  func corruptLaterFiles() throws {
    let global = try stage(["exact_check": v("true")])
    let tasks = split(corpus(), into: 2)
    var r = try PhaseRun()
    try r.map(global, tasks)
    let shingles = r.files(0, "-shingles.bin")
    #expect(shingles.count == 2)
    var bytes = readBytes(shingles[0])
    bytes[9] ^= 0x01
    try Data(bytes).write(to: URL(fileURLWithPath: shingles[0]))
    let err = winnowError { try r.middle(global) }
    #expect(err?.message.contains(shingles[0]) == true)
    // Pair runs: map again cleanly, then damage a pair run before clustering.
    var clean = try PhaseRun()
    try clean.map(global, tasks)
    for t in 0..<14 {
      let band = clean.task(1, t)
      _ = try global.runMiddle(band)
      clean.recorded(band)
    }
    let edges = clean.files(1, ".edges").filter { readBytes($0).count > 32 }
    let victim = try #require(edges.first)
    var e = readBytes(victim)
    e[e.count - 9] ^= 0x80
    try Data(e).write(to: URL(fileURLWithPath: victim))
    let err2 = winnowError { _ = try global.runMiddle(clean.task(2, 0)) }
    #expect(err2?.message.contains(victim) == true)
  }

  @Test("in pipes the stage explains that it needs a recipe run")
  func notInPipes() {
    expectUsageError(["winnow run"]) { _ = try build(d, [:]) }
  }
}
