import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowDedup

@Suite("bloom_dedup stage")
struct BloomDedupTests {
  let d = BloomDedup.descriptor

  func global(_ params: [String: RawParameter] = [:]) throws -> BloomDedup {
    let p = try StageParameters.validate(params, against: d.parameters, stage: d.name)
    return try #require(try d.makeGlobal!(p, StageContext()) as? BloomDedup)
  }

  func texts(_ r: RunResult) -> [String] { r.kept.map { $0["text"] as! String } }

  let lines: [[UInt8]] = [
    docLine(id: "a", text: "Intro one.\n\nShared paragraph here.\nIt has two lines.\n\nOutro a."),
    docLine(id: "b", text: "Intro two, a longer paragraph that is all its own and carries most of the bytes.\n\nShared paragraph here.\nIt has two lines.\n\nOutro b."),
    docLine(id: "c", text: "Shared paragraph here.\nIt has two lines.\n\nIntro one."),
    docLine(id: "d", text: "Fresh text only."),
    docLine(id: "e", text: "Intro two, a longer paragraph that is all its own and carries most of the bytes.\n\n\n  \nOutro b.\n"),
  ]

  @Test("paragraphs: the first occurrence stays, later copies are cut, mostly-copied documents are dropped")
  func paragraphs() throws {
    let r = try runPipeline([try build(d, [:])], lines: lines)
    #expect(r.keptIDs == ["a", "b", "d"])
    #expect(texts(r)[1] == "Intro two, a longer paragraph that is all its own and carries most of the bytes.\n\nOutro b.")
    #expect(r.reasons == ["c": "duplicate_text", "e": "duplicate_text"])
  }

  @Test("max_removed_fraction decides when a document goes")
  func fraction() throws {
    let r = try runPipeline([try build(d, ["max_removed_fraction": v("1")])], lines: lines)
    #expect(r.keptIDs == ["a", "b", "c", "d", "e"])
    #expect(texts(r)[2] == "")
    let zero = try runPipeline([try build(d, ["max_removed_fraction": v("0")])], lines: lines)
    #expect(zero.keptIDs == ["a", "d"])
  }

  @Test("lines and whole documents; documents by a field")
  func otherUnits() throws {
    let r = try runPipeline([try build(d, ["unit": v("line")])], lines: lines)
    // Blank lines are never duplicates: they stay.
    #expect(texts(r)[1] == "Intro two, a longer paragraph that is all its own and carries most of the bytes.\n\n\nOutro b.")
    let docs = [
      docLine(id: "x", text: "same", [("url", #""u1""#)]), docLine(id: "y", text: "same", [("url", #""u2""#)]),
      docLine(id: "z", text: "other", [("url", #""u1""#)]), docLine(id: "w", text: "none"),
    ]
    #expect(try runPipeline([try build(d, ["unit": v("document")])], lines: docs).keptIDs == ["x", "z", "w"])
    #expect(try runPipeline([try build(d, ["unit": v("document"), "field": v("url")])], lines: docs).keptIDs == ["x", "y", "w"])
    expectUsageError(["unit: document"]) { _ = try build(d, ["field": v("url")]) }
  }

  @Test("normalize: case and spacing do not hide a copy")
  func normalize() throws {
    let docs = [docLine(id: "x", text: "Hello   World"), docLine(id: "y", text: "hello world")]
    #expect(try runPipeline([try build(d, [:])], lines: docs).keptIDs == ["x", "y"])
    #expect(try runPipeline([try build(d, ["normalize": v("true")])], lines: docs).keptIDs == ["x"])
  }

  @Test("annotate keeps the text and reports the duplicate fraction")
  func annotate() throws {
    let r = try runPipeline([try build(d, ["mode": v("annotate")])], lines: lines)
    #expect(r.keptIDs.count == 5)
    #expect(r.kept[0]["bloom_duplicate_fraction"] as? Double == 0)
    #expect((r.kept[2]["bloom_duplicate_fraction"] as! Double) > 0.6)
    #expect(texts(r)[2] == "Shared paragraph here.\nIt has two lines.\n\nIntro one.")
  }

  @Test("recipe phases give the pipe's answer for any number of tasks")
  func phasesMatchPipe() throws {
    var all = lines
    for k in 0..<40 { all.append(docLine(id: "g\(k)", text: "Para \(k % 7).\n\nOnly \(k).\n\nShared paragraph here.\nIt has two lines.")) }
    let pipe = try runPipeline([try build(d, [:])], lines: all)
    for n in [1, 3, 8] {
      let r = try PhaseRun.run(try global(), split(all, into: n))
      #expect(r.outputLines == pipe.outputLines, "tasks: \(n)")
      #expect(r.reasons == pipe.reasons)
    }
  }

  @Test("save, load, read_only: a second corpus is deduplicated against the first")
  func saveAndLoad() throws {
    let dir = try TempDir()
    let saved = dir.path + "/filter.bloom"
    _ = try PhaseRun.run(try global(["save": quoted(saved)]), [Array(lines.prefix(2))])
    let second = [docLine(id: "n1", text: "Intro one.\n\nBrand new paragraph."), docLine(id: "n2", text: "Brand new paragraph.\n\nx")]
    let ro = try PhaseRun.run(try global(["load": quoted(saved), "read_only": v("true")]), [second])
    #expect(ro.keptIDs == ["n1", "n2"])
    #expect(ro.outputs[0]["text"] as? String == "Brand new paragraph.")
    let rw = try PhaseRun.run(try global(["load": quoted(saved)]), [second])
    #expect(rw.keptIDs == ["n1"])
    // The filter file is checked.
    var bytes = readBytes(saved)
    bytes[100] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: saved))
    let err = winnowError { _ = try PhaseRun.run(try global(["load": quoted(saved)]), [second]) }
    #expect(err?.message.contains("corrupt") == true)
    #expect(err?.message.contains(saved) == true)
    expectUsageError(["read_only needs load"]) { _ = try build(d, ["read_only": v("true")]) }
    expectUsageError(["save works in recipe runs"]) { _ = try build(d, ["save": quoted(saved)]) }
  }

  @Test("a corrupt unit run is an error naming the file")
  func corruptRun() throws {
    let g = try global()
    var r = try PhaseRun()
    try r.map(g, split(lines, into: 2))
    let runs = r.files(0, ".units")
    var bytes = readBytes(runs[1])
    bytes[30] ^= 0x01
    try Data(bytes).write(to: URL(fileURLWithPath: runs[1]))
    let err = winnowError { try r.middle(g) }
    #expect(err?.message.contains(runs[1]) == true)
  }

  @Test("false-positive rate on a million distinct paragraphs is within 2x of the configured rate")
  func falsePositiveRate() {
    for rate in [0.01, 0.001] {
      var f = BloomFilter(expectedItems: 1_000_000, falsePositiveRate: rate)
      var hasher = UnitHasher()
      var flaggedWhileFilling = 0
      for k in 0..<1_000_000 {
        var s = "paragraph number \(k) of the corpus"
        if s.withUTF8({ f.insert(hasher.hash($0, false)) }) { flaggedWhileFilling += 1 }
      }
      var falsePositives = 0
      for k in 0..<1_000_000 {
        var s = "a different paragraph \(k)"
        if s.withUTF8({ f.contains(hasher.hash($0, false)) }) { falsePositives += 1 }
      }
      let measured = Double(falsePositives) / 1_000_000
      #expect(measured <= 2 * rate && measured >= rate / 2, "rate \(rate): measured \(measured)")
      // While filling, the rate is lower: the filter is emptier.
      #expect(Double(flaggedWhileFilling) / 1_000_000 <= measured)
    }
  }

  @Test("empty input, bad lines, invalid UTF-8, a huge document, non-English text")
  func edgeCases() throws {
    #expect(try runPipeline([try build(d, [:])], lines: []).keptIDs == [])
    let (mixed, bad) = interleaveBad(lines)
    let r = try runPipeline([try build(d, [:])], lines: mixed)
    expectQuarantined(r, lineNumbers: bad, goodDocuments: lines.count)
    #expect(r.keptIDs == ["a", "b", "d"])
    let para = String(repeating: "Ein großer Absatz über Größe. ", count: 2000)
    let huge = (0..<60).map { "\(para)\($0)" }.joined(separator: "\n\n")  // ~3.6 MB
    let docs = [
      docLine(id: "h1", text: huge), docLine(id: "h2", text: huge + "\n\nneu"),
      docLine(id: "zh", text: "中文段落。\n\n第二段。"), docLine(id: "zh2", text: "第三段。\n\n第二段。\n\n第四段。"),
      docLine(id: "ru", text: "Привет мир.\n\nВторой абзац."), docLine(id: "ru2", text: "Второй абзац.\n\nПривет мир."),
    ]
    let out = try runPipeline([try build(d, [:])], lines: docs)
    #expect(out.keptIDs == ["h1", "zh", "zh2", "ru"])
    #expect(texts(out)[2] == "第三段。\n\n第四段。")
  }
}
