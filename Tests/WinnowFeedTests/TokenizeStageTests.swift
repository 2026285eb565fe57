import Foundation
import Testing
import WinnowCore
import WinnowTestSupport

@testable import WinnowFeed

/// A byte-level tokenizer.json written by hand: each byte's character at the byte's value as
/// id, a few merges, `<|endoftext|>` as 270.
func sampleTokenizer(_ dir: TempDir) throws -> String {
  var table = [UInt32](repeating: 0, count: 256)
  var n: UInt32 = 0
  for b in 0..<256 {
    let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    table[b] = printable ? UInt32(b) : 256 + { defer { n += 1 }; return n }()
  }
  var vocab: [String] = []
  for b in 0..<256 { vocab.append("\(jsonQuote(String(Unicode.Scalar(table[b])!))):\(b)") }
  let extra = ["he", "ll", "hell", "hello", "Ġw"]
  for (k, t) in extra.enumerated() { vocab.append("\(jsonQuote(t)):\(256 + k)") }
  vocab.append("\"<|endoftext|>\":270")
  let merges = #"[["h","e"],["l","l"],["he","ll"],["hell","o"],["Ġ","w"]]"#
  let json = """
    {"version":"1.0","added_tokens":[{"id":270,"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
     "normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},
     "post_processor":null,"decoder":null,"model":{"type":"BPE","vocab":{\(vocab.joined(separator: ","))},"merges":\(merges)}}
    """
  return try dir.write("tokenizer.json", Array(json.utf8))
}

@Suite("tokenize stage")
struct TokenizeStageTests {
  @Test func jsonIDs() {
    var out: [UInt8] = []
    TokenIDs.appendJSON([0, 7, 4_294_967_295, 120], to: &out)
    #expect(String(decoding: out, as: UTF8.self) == "[0,7,4294967295,120]")
  }

  @Test("writes token_ids and a count, keeps every document, quarantines bad lines")
  func annotates() throws {
    let dir = try TempDir()
    let tok = try sampleTokenizer(dir)
    let stage = try build(TokenizeStage.descriptor, ["tokenizer": quoted(tok), "count_field": quoted("n_tokens")])
    let good = [
      docLine(id: "a", text: "hello world"), docLine(id: "empty", text: ""),
      docLine(id: "greek", text: "γειά σου"), docLine(id: "cjk", text: "日本語のテキスト"),
    ]
    let (lines, bad) = interleaveBad(good)
    let r = try runPipeline([stage], lines: lines)
    expectQuarantined(r, lineNumbers: bad, goodDocuments: good.count)
    #expect(r.keptIDs == ["a", "empty", "greek", "cjk"])
    let objects = r.outputLines.map(parseObject)
    #expect(objects[0]["token_ids"] as? [Int] == [259, 260, 111, 114, 108, 100])
    #expect(objects[0]["n_tokens"] as? Int == 6)
    #expect(objects[1]["token_ids"] as? [Int] == [])
    // Non-ASCII text falls back to its bytes (no merges for them): one id per UTF-8 byte.
    #expect((objects[2]["token_ids"] as? [Int])?.count == "γειά σου".utf8.count)
    #expect((objects[3]["token_ids"] as? [Int])?.count == "日本語のテキスト".utf8.count)
  }

  @Test("a huge document is tokenized whole")
  func huge() throws {
    let dir = try TempDir()
    let stage = try build(TokenizeStage.descriptor, ["tokenizer": quoted(try sampleTokenizer(dir))])
    let text = String(repeating: "hello world ", count: 400_000)
    let r = try runPipeline([stage], lines: [docLine(id: "big", text: text)])
    let ids = parseObject(r.outputLines[0])["token_ids"] as? [Int]
    #expect(ids?.count == 400_000 * 7)
  }

  @Test("a missing or broken tokenizer is an error naming the file")
  func badTokenizer() throws {
    let dir = try TempDir()
    expectUsageError(["nowhere.json"]) {
      _ = try build(TokenizeStage.descriptor, ["tokenizer": quoted(dir.path + "/nowhere.json")])
    }
    let broken = try dir.write("broken.json", Array(#"{"model": {"type": "WordPiece"}}"#.utf8))
    expectUsageError(["WordPiece"]) {
      _ = try build(TokenizeStage.descriptor, ["tokenizer": quoted(broken)])
    }
  }
}
