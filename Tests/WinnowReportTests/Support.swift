import Foundation
import Testing
import WinnowCore

@testable import WinnowRecipe
@testable import WinnowReport

/// A fresh directory under /tmp, removed when the value goes away.
final class TempDir {
  let path: String

  init() throws {
    var template = Array("/tmp/winnow-report-XXXXXX".utf8CString)
    guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw CocoaError(.fileWriteUnknown)
    }
    path = String(cString: p)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  @discardableResult
  func write(_ name: String, _ text: String) throws -> String {
    let full = path + "/" + name
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    return full
  }
}

/// A small deterministic generator (64-bit LCG), so inputs are the same on every run.
struct LCG {
  var state: UInt64

  mutating func next() -> UInt64 {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return state >> 11
  }

  mutating func unit() -> Double { Double(next() % 1_000_000) / 1_000_000 }

  mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

enum Fixture {
  static let words = [
    "the", "river", "bank", "model", "data", "token", "filter", "quality", "score", "winnow", "grain", "chaff",
    "corpus", "line", "shard", "stream", "Haus", "und", "der", "lumière",
  ]

  /// Input files of documents with `id`, `text`, `lang`, a numeric `score` and a nested
  /// numeric `meta.quality`; some are too short, some in a language the recipe drops, and
  /// each file has one line that is not JSON. Returns the number of lines written.
  @discardableResult
  static func writeInputs(_ dir: TempDir, files: Int = 3, perFile: Int = 80) throws -> Int {
    var rng = LCG(state: 42)
    var lines = 0
    for f in 0..<files {
      var out = ""
      for d in 0..<perFile {
        let n = rng.int(0...9) == 0 ? rng.int(1...3) : rng.int(6...400)
        let text = (0..<n).map { _ in words[rng.int(0...(words.count - 1))] }.joined(separator: " ")
        let lang = ["en", "en", "en", "de", "de", "fr"][rng.int(0...5)]
        let score = (rng.unit() * rng.unit() * 1000).rounded() / 1000
        out +=
          #"{"id":"f\#(f)-\#(d)","text":"\#(text)","lang":"\#(lang)","score":\#(score),"meta":{"quality":\#(rng.int(0...20)),"src":"gen"}}"#
          + "\n"
        lines += 1
        if d == perFile / 2 {
          out += #"{"id":"broken-\#(f)","text":"unterminated"# + "\n"
          lines += 1
        }
      }
      try dir.write("in/part-\(f).jsonl", out)
    }
    return lines
  }

  static func recipe(_ dir: TempDir, stages: String) -> String {
    """
    name: report-test
    seed: 7
    input:
      paths: ["\(dir.path)/in"]
    output:
      path: \(dir.path)/out
      quarantine: \(dir.path)/quarantine
    stages:
    \(stages)
    """
  }

  static let filterStages = """
      - length: {min_words: 5}
      - field: {key: lang, in: [en, de]}
      - sample: {rate: 0.8}
    """

  /// Runs the recipe with the inline executor and returns the run's result.
  static func run(_ dir: TempDir, stages: String = filterStages) throws -> RecipeRunner.Result {
    let recipe = try RecipeParser.parse(recipe(dir, stages: stages), source: "report-test.yaml")
    var options = RecipeRunner.Options()
    options.executor = "inline"
    return try RecipeRunner.run(recipe, options: options)
  }
}

/// The text between `<section id="ID">` and its `</section>`.
func section(_ html: String, _ id: String) -> String? {
  guard let start = html.range(of: "<section id=\"\(id)\">") else { return nil }
  guard let end = html.range(of: "</section>", range: start.upperBound..<html.endIndex) else { return nil }
  return String(html[start.lowerBound..<end.upperBound])
}

func count(_ needle: String, in haystack: String) -> Int {
  haystack.components(separatedBy: needle).count - 1
}

/// The `<svg …>…</svg>` elements of a page, in order.
func svgElements(_ html: String) -> [String] {
  var out: [String] = []
  var rest = html[...]
  while let s = rest.range(of: "<svg"), let e = rest.range(of: "</svg>", range: s.upperBound..<rest.endIndex) {
    out.append(String(rest[s.lowerBound..<e.upperBound]))
    rest = rest[e.upperBound...]
  }
  return out
}

func readJSON(_ path: String) throws -> [String: Any] {
  let data = try #require(FileManager.default.contents(atPath: path))
  return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}
