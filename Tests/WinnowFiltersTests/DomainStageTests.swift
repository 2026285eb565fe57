import Foundation
import Testing
import WinnowTestSupport

@testable import WinnowCore
@testable import WinnowFilters

@Suite("domain stage")
struct DomainStageTests {
  let d = DomainStage.descriptor

  let docs: [[UInt8]] = [
    docLine(id: "wiki", text: "a", [("url", #""https://EN.Wikipedia.org./wiki/X""#)]),
    docLine(id: "bare-wiki", text: "b", [("url", #""wikipedia.org""#)]),
    docLine(id: "notwiki", text: "c", [("url", #""https://notwikipedia.org/""#)]),
    docLine(id: "gh", text: "d", [("url", #""http://user@github.com:8080/a/b?x=1#f""#), ("source", #""gh""#)]),
    docLine(id: "docs", text: "e", [("url", #""example.com/docs/intro""#)]),
    docLine(id: "man", text: "f", [("source", #""man""#)]),
    docLine(id: "ja", text: "g", [("url", #""https://例え.jp/パス""#), ("source", #""日本""#)]),
    docLine(id: "none", text: "h"),
    docLine(id: "num", text: "i", [("source", "7"), ("meta", #"{"kind":"paper"}"#)]),
  ]

  func domains(_ params: [String: RawParameter], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
    let r = try runPipeline([try build(d, params)], lines: docs)
    #expect(r.stats.isBalanced && r.keptIDs.count == docs.count, sourceLocation: sourceLocation)
    var out: [String: String] = [:]
    for doc in r.kept { out[doc["id"] as! String] = doc[(params["key"].map { _ in "group" }) ?? "domain"] as? String }
    return out
  }

  @Test("rules in order: hosts with their subdomains, paths, URLs and fields as globs; then from_field, map, default")
  func rules() throws {
    let got = try domains([
      "rules": list([
        "host:wikipedia.org -> wiki", "path:/docs/* -> docs", "url:*?x=1* -> query", "source=g? -> code",
        "meta.kind=pap* -> papers", "host:*.jp -> japan",
      ]),
      "from_field": v("source"), "map": list(["man -> manual"]),
    ])
    #expect(got == [
      "wiki": "wiki", "bare-wiki": "wiki", "notwiki": "other", "gh": "query", "docs": "docs", "man": "manual",
      "ja": "japan", "none": "other", "num": "papers",
    ])
  }

  @Test("from_field alone passes values through (numbers as written); key and default are honoured")
  func fromField() throws {
    let got = try domains(["from_field": v("source"), "key": v("group"), "default": v("web")])
    #expect(got == [
      "wiki": "web", "bare-wiki": "web", "notwiki": "web", "gh": "gh", "docs": "web", "man": "man", "ja": "日本",
      "none": "web", "num": "7",
    ])
  }

  @Test("a fastText classifier's top label, after rules and fields, at or above min_probability")
  func classifier() throws {
    let dir = try TempDir()
    let model = try writeTinyModel(dir)
    let lines = [
      docLine(id: "good", text: "good good good"), docLine(id: "other", text: "plain"),
      docLine(id: "ruled", text: "good", [("source", #""man""#)]),
    ]
    let r = try runPipeline([try build(d, ["rules": list(["source=man -> manual"]), "model": v(model)])], lines: lines)
    let got = Dictionary(uniqueKeysWithValues: r.kept.map { ($0["id"] as! String, $0["domain"] as! String) })
    #expect(got["good"] == "hq" && got["ruled"] == "manual" && got["other"] != nil)
    let strict = try runPipeline([try build(d, ["model": v(model), "min_probability": v("0.99"), "default": v("unsure")])], lines: lines)
    #expect(strict.kept.first { $0["id"] as? String == "other" }?["domain"] as? String == "unsure")
  }

  @Test("bad parameters are usage errors that say what is wrong")
  func badParameters() throws {
    expectUsageError(["give rules, from_field or model"]) { _ = try build(d, [:]) }
    expectUsageError(["rule 1", "no '->'"]) { _ = try build(d, ["rules": list(["host:x.org"])]) }
    expectUsageError(["rule 2", "not host:, path:, url:PATTERN or FIELD=PATTERN"]) {
      _ = try build(d, ["rules": list(["host:a.org -> a", "wiki -> b"])])
    }
    expectUsageError(["map needs from_field"]) { _ = try build(d, ["rules": list(["host:a -> a"]), "map": list(["x -> y"])]) }
    expectUsageError(["mapped twice"]) { _ = try build(d, ["from_field": v("s"), "map": list(["x -> y", "x -> z"])]) }
    let missing = winnowError { _ = try build(d, ["model": v("/nonexistent/model.bin")]) }
    #expect(missing?.message.contains("/nonexistent/model.bin") == true)
  }

  @Test("empty input, malformed JSON and invalid UTF-8 (quarantined), a huge document")
  func edgeCases() throws {
    let stage = try build(d, ["from_field": v("source")])
    let empty = try runPipeline([stage], files: [[]])
    #expect(empty.stats.documentsRead == 0 && empty.outputLines.isEmpty)
    let (lines, numbers) = interleaveBad([docs[3], docs[5]])
    let r = try runPipeline([try build(d, ["from_field": v("source")])], lines: lines)
    expectQuarantined(r, lineNumbers: numbers, goodDocuments: 2)
    #expect(r.kept.map { $0["domain"] as? String } == ["gh", "man"])
    let huge = try runPipeline([try build(d, ["rules": list(["source=big -> big"])])], lines: [HugeText.jsonLine(id: "big", extra: #","source":"big""#)])
    #expect(huge.kept.count == 1 && huge.kept[0]["domain"] as? String == "big")
  }

  @Test("globs: * spans anything, ? one byte; no exponential backtracking")
  func globs() {
    #expect(Glob("*.org").matches(Array("a.b.org".utf8)))
    #expect(!Glob("*.org").matches(Array("org".utf8)))
    #expect(Glob("a?c").matches(Array("abc".utf8)) && !Glob("a?c").matches(Array("ac".utf8)))
    #expect(Glob("*").matches([]) && !Glob("?").matches([]))
    let long = [UInt8](repeating: UInt8(ascii: "a"), count: 5000)
    #expect(!Glob(String(repeating: "*a", count: 40) + "b").matches(long))
  }
}
