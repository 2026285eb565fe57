import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters

// Helpers for the cleaning stages' tests (wordlist, url_blocklist, normalize, pii_redact).

/// Runs `stage` over documents `(id, text)` (plus raw JSON extras) and returns the result.
func runTexts(_ stage: NamedStage, _ docs: [(String, String)], extra: [String: [(String, String)]] = [:]) throws
  -> RunResult
{
  try runPipeline([stage], lines: docs.map { docLine(id: $0.0, text: $0.1, extra[$0.0] ?? []) })
}

extension RunResult {
  /// id → text of the kept documents.
  var keptTexts: [String: String] {
    var out: [String: String] = [:]
    for d in kept { out[d["id"] as? String ?? "?"] = d["text"] as? String ?? "?" }
    return out
  }

  /// id → the whole kept document.
  var keptByID: [String: [String: Any]] {
    var out: [String: [String: Any]] = [:]
    for d in kept { out[d["id"] as? String ?? "?"] = d }
    return out
  }
}

/// The stage's result for one in-memory document: the verdict and the document afterwards.
func processOne(_ stage: NamedStage, _ text: String, _ extra: [(String, String)] = []) throws -> (Verdict, Document) {
  let doc = try Document(json: String(decoding: docLine(id: "x", text: text, extra), as: UTF8.self))
  return (try stage.stage.process(doc), doc)
}

/// Writes `text` to a file in `dir` and returns its path.
func writeList(_ dir: TempDir, _ name: String, _ text: String) throws -> String {
  try dir.write(name, Array(text.utf8))
}
