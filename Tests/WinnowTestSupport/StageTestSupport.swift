import Foundation
import Testing

import WinnowCore

// Helpers shared by the stage tests (filters, dedup): temporary directories, JSON line
// builders, a runner that pushes lines through a `Pipeline` with file inputs and outputs, and
// Python as an oracle.

/// A fresh directory under /tmp, removed when the value goes away.
public final class TempDir {
  public let path: String

  public init() throws {
    var template = Array("/tmp/winnow-test-XXXXXX".utf8CString)
    guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw CocoaError(.fileWriteUnknown)
    }
    path = String(cString: p)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// Writes `bytes` to `name` inside the directory and returns the full path.
  @discardableResult
  public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
    let full = path + "/" + name
    let parent = (full as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: full))
    return full
  }

  /// Writes one line per element, each followed by `\n`.
  @discardableResult
  public func writeLines(_ name: String, _ lines: [[UInt8]]) throws -> String {
    var bytes: [UInt8] = []
    for l in lines {
      bytes += l
      bytes.append(0x0A)
    }
    return try write(name, bytes)
  }

  /// Names in the directory (or a subdirectory), sorted.
  public func list(_ sub: String = "") -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: sub.isEmpty ? path : path + "/" + sub)) ?? []).sorted()
  }
}

/// `s` as a JSON string literal. Non-ASCII is written as is, or as `\uXXXX` escapes (with
/// surrogate pairs) when `asciiOnly`, which is what Python's `json.dumps` does by default.
public func jsonQuote(_ s: String, asciiOnly: Bool = false) -> String {
  var out = "\""
  for u in s.unicodeScalars {
    switch u {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\t": out += "\\t"
    case "\r": out += "\\r"
    default:
      if u.value < 0x20 || (asciiOnly && u.value > 0x7E) {
        for unit in String(u).utf16 { out += String(format: "\\u%04x", unit) }
      } else {
        out.unicodeScalars.append(u)
      }
    }
  }
  return out + "\""
}

/// A JSON line `{"id": …, "text": …, extra…}`; `extra` values are raw JSON.
public func docLine(id: String, text: String, asciiOnly: Bool = false, _ extra: [(String, String)] = []) -> [UInt8] {
  var s = "{\"id\":\(jsonQuote(id)),\"text\":\(jsonQuote(text, asciiOnly: asciiOnly))"
  for (k, v) in extra { s += ",\(jsonQuote(k)):\(v)" }
  return Array((s + "}").utf8)
}

/// Unquoted scalar parameter, as YAML `key: value` or `--key value` gives it.
public func v(_ text: String) -> RawParameter { RawParameter(.scalar(text, quoted: false), at: "test:1:1") }
/// Quoted scalar parameter (`key: "value"` in YAML).
public func quoted(_ text: String) -> RawParameter { RawParameter(.scalar(text, quoted: true), at: "test:1:1") }
public func list(_ items: [String]) -> RawParameter { RawParameter(.list(items), at: "test:1:1") }

public func build(_ d: StageDescriptor, _ params: [String: RawParameter], seed: UInt64 = 0) throws -> NamedStage {
  NamedStage(name: d.name, stage: try d.build(params, context: StageContext(seed: seed)))
}

/// The usage error `body` throws, or nil when it throws nothing (or something else).
public func winnowError(_ body: () throws -> Void) -> WinnowError? {
  do {
    try body()
    return nil
  } catch let e as WinnowError {
    return e
  } catch {
    return nil
  }
}

/// Expects a usage error whose message contains every fragment.
public func expectUsageError(
  _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
  guard let e = winnowError(body) else {
    Issue.record("expected a WinnowError containing \(fragments)", sourceLocation: sourceLocation)
    return
  }
  #expect(e.kind == .usage, "\(e.message)", sourceLocation: sourceLocation)
  for f in fragments {
    #expect(e.message.contains(f), "message '\(e.message)' lacks '\(f)'", sourceLocation: sourceLocation)
  }
}

/// What a pipeline run produced.
public struct RunResult {
  public var stats: RunStats
  public var outputLines: [[UInt8]]
  public var rejectLines: [[UInt8]]
  public var quarantineLines: [[UInt8]]

  public var kept: [[String: Any]] { outputLines.map(parseObject) }
  public var rejects: [[String: Any]] { rejectLines.map(parseObject) }
  public var quarantine: [[String: Any]] { quarantineLines.map(parseObject) }
  public var keptIDs: [String] { kept.map { $0["id"] as? String ?? "?" } }
  /// id → reject reason.
  public var reasons: [String: String] {
    var out: [String: String] = [:]
    for r in rejects { out[r["id"] as? String ?? "?"] = r["reject_reason"] as? String ?? "?" }
    return out
  }
}

public func parseObject(_ line: [UInt8]) -> [String: Any] {
  (try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])) as? [String: Any] ?? [:]
}

public func splitLines(_ data: [UInt8]) -> [[UInt8]] {
  // memchr and buffer copies: a per-byte loop takes many seconds on 30 MB in debug builds.
  data.withUnsafeBufferPointer { buf in
    var out: [[UInt8]] = []
    guard let base = buf.baseAddress else { return out }
    var start = 0
    while start < buf.count {
      guard let hit = memchr(base + start, 0x0A, buf.count - start) else {
        out.append(Array(UnsafeBufferPointer(rebasing: buf[start...])))
        break
      }
      let end = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
      out.append(Array(UnsafeBufferPointer(rebasing: buf[start..<end])))
      start = end + 1
    }
    return out
  }
}

public func readBytes(_ path: String) -> [UInt8] {
  guard let d = FileManager.default.contents(atPath: path) else { return [] }
  return [UInt8](d)
}

/// Writes each group of lines to its own input file, runs `stages` over them with a plain
/// output, rejects and quarantine file, and reads everything back.
public func runPipeline(_ stages: [NamedStage], files: [[[UInt8]]], fields: DocumentFields = DocumentFields()) throws
  -> RunResult
{
  let dir = try TempDir()
  var inputs: [InputFile] = []
  for (k, lines) in files.enumerated() {
    inputs.append(InputFile(path: try dir.writeLines("in-\(k).jsonl", lines)))
  }
  return try runPipeline(stages, inputs: inputs, dir: dir, fields: fields)
}

public func runPipeline(_ stages: [NamedStage], lines: [[UInt8]]) throws -> RunResult {
  try runPipeline(stages, files: [lines])
}

public func runPipeline(_ stages: [NamedStage], inputs: [InputFile], dir: TempDir, fields: DocumentFields = DocumentFields())
  throws -> RunResult
{
  var options = PipelineOptions()
  options.fields = fields
  options.rejects = OutputSpec(path: dir.path + "/rejects.jsonl")
  options.quarantine = OutputSpec(path: dir.path + "/quarantine.jsonl")
  let writer = try DocumentWriter(OutputSpec(path: dir.path + "/out.jsonl"))
  let stats = try Pipeline(stages: stages).run(inputs: inputs, output: writer, options: options)
  return RunResult(
    stats: stats, outputLines: splitLines(readBytes(dir.path + "/out.jsonl")),
    rejectLines: splitLines(readBytes(dir.path + "/rejects.jsonl")),
    quarantineLines: splitLines(readBytes(dir.path + "/quarantine.jsonl")))
}

/// Runs one in-memory document through `stages`; nil when kept, else the drop reason.
public func verdict(_ stages: [NamedStage], _ line: [UInt8]) throws -> String? {
  let doc = try Document(json: String(decoding: line, as: UTF8.self))
  return try Pipeline(stages: stages).process(doc)?.reason
}

/// Lines that the reader must quarantine, with the reason each should get.
public let badLines: [(bytes: [UInt8], reason: String)] = [
  (Array(#"{"id":"t1","text":"truncated"#.utf8), "invalid_json"),
  (Array("this is not json".utf8), "invalid_json"),
  (Array("[1, 2, 3]".utf8), "not_an_object"),
  (Array(#"{"id":"u1","text":"bad "#.utf8) + [0xFF, 0xFE] + Array(#" bytes"}"#.utf8), "invalid_utf8"),
  (Array(#"{"id":"u2","text":"overlong "#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8), "invalid_utf8"),
  (Array(#"{"id":"m1","title":"no text field"}"#.utf8), "missing_text_field"),
  (Array(#"{"id":"n1","text":42}"#.utf8), "text_not_a_string"),
]

/// Checks that a run quarantined exactly `badLines` (placed at `lineNumbers` of in-0.jsonl),
/// that no bad line reached a stage and that the counts balance.
public func expectQuarantined(
  _ r: RunResult, lineNumbers: [Int], goodDocuments: Int, sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(r.stats.quarantined == badLines.count, sourceLocation: sourceLocation)
  #expect(r.stats.documentsRead == goodDocuments + badLines.count, sourceLocation: sourceLocation)
  #expect(r.stats.isBalanced, sourceLocation: sourceLocation)
  #expect(
    r.stats.documentsWritten + r.stats.dropped + r.stats.quarantined == r.stats.documentsRead,
    sourceLocation: sourceLocation)
  for s in r.stats.stages.prefix(1) {
    #expect(s.documentsIn == goodDocuments, sourceLocation: sourceLocation)
  }
  var expectedByReason: [String: Int] = [:]
  for b in badLines { expectedByReason[b.reason, default: 0] += 1 }
  #expect(r.stats.quarantinedByReason == expectedByReason, sourceLocation: sourceLocation)
  let q = r.quarantine
  #expect(q.count == badLines.count, sourceLocation: sourceLocation)
  #expect(q.compactMap { $0["line"] as? Int } == lineNumbers, sourceLocation: sourceLocation)
  #expect(q.compactMap { $0["reason"] as? String } == badLines.map(\.reason), sourceLocation: sourceLocation)
  #expect(q.allSatisfy { ($0["file"] as? String)?.hasSuffix("in-0.jsonl") == true }, sourceLocation: sourceLocation)
}

/// Interleaves `good` and `badLines`: bad, good, bad, good, … Returns the lines and the
/// 1-based line numbers of the bad ones.
public func interleaveBad(_ good: [[UInt8]]) -> (lines: [[UInt8]], badLineNumbers: [Int]) {
  var lines: [[UInt8]] = []
  var numbers: [Int] = []
  var g = good.makeIterator()
  for b in badLines {
    lines.append(b.bytes)
    numbers.append(lines.count)
    if let next = g.next() { lines.append(next) }
  }
  while let next = g.next() { lines.append(next) }
  return (lines, numbers)
}

/// A ~30 MB text built from a repeated unit, with its counts known from the construction:
/// each unit "ab 日本 語\n" is 8 code points (a, b, space, 日, 本, space, 語, newline),
/// 3 words, 1 line and 14 UTF-8 bytes.
public enum HugeText {
  public static let unit = "ab 日本 語\n"
  public static let repeats = 2_200_000
  public static let chars = 8 * repeats
  public static let words = 3 * repeats
  public static let lines = repeats
  public static let utf8Count = 14 * repeats

  /// `{"id":"<id>","text":"<huge>"<extra>}`, built without a per-character loop.
  public static func jsonLine(id: String, extra: String = "") -> [UInt8] {
    Array(("{\"id\":\"\(id)\",\"text\":\"" + String(repeating: "ab 日本 語\\n", count: repeats) + "\"\(extra)}").utf8)
  }
}

/// Python 3 as an oracle; each test target adds its own scripts.
public enum Python {
  public static let executable: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  public static var available: Bool { executable != nil }

  /// Runs `script` with `input` as JSON on stdin and decodes its JSON stdout.
  public static func run(_ script: String, input: Any) throws -> Any {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable!)
    process.arguments = ["-c", script]
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    stdin.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: input))
    try stdin.fileHandleForWriting.close()
    let result = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
    return try JSONSerialization.jsonObject(with: result)
  }
}

/// A two-word, two-label softmax model written byte by byte in fastText's format: "good" pulls
/// towards __label__hq, anything else (only `</s>` then) is even.
public func writeTinyModel(_ dir: TempDir) throws -> String {
  var b: [UInt8] = []
  func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
  func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
  func f32(_ v: Float) { withUnsafeBytes(of: v.bitPattern.littleEndian) { b += $0 } }
  i32(793_712_314)
  i32(12)
  for v: Int32 in [2, 5, 5, 1, 5, 1, 3, 3, 0, 0, 0, 100] { i32(v) }  // dim 2, softmax, sup, no buckets
  withUnsafeBytes(of: (1e-4 as Double).bitPattern.littleEndian) { b += $0 }
  i32(4)
  i32(2)
  i32(2)
  i64(10)
  i64(-1)
  for (w, c, t) in [("</s>", 5, 0), ("good", 3, 0), ("__label__hq", 3, 1), ("__label__lq", 2, 1)] as [(String, Int64, UInt8)] {
    b += Array(w.utf8) + [0]
    i64(c)
    b.append(t)
  }
  b.append(0)  // dense input
  i64(2)
  i64(2)
  for v: Float in [0, 0, 4, 0] { f32(v) }
  b.append(0)  // dense output
  i64(2)
  i64(2)
  for v: Float in [1, 0, 0, 0] { f32(v) }
  return try dir.write("tiny.bin", b)
}
