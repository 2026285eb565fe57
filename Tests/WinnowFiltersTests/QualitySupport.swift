import Testing

@testable import WinnowCore
@testable import WinnowFilters

// Helpers for the quality-filter tests (gopher_quality, gopher_repetition, c4_quality,
// c4_paragraph, fineweb_quality).
//
// Expected decisions were computed once with datatrove 0.10.1 (spaCy 3.8 tokenizer) and are
// written into the tests with the arithmetic behind them. Examples use plain words separated by
// spaces and sentence punctuation, where every word tokenizer agrees on the split.

/// A stage built from `key: value` parameters written as on the command line; list values are
/// given as arrays.
func quality(_ d: StageDescriptor, _ params: [String: any Sendable] = [:]) throws -> NamedStage {
  var raw: [String: RawParameter] = [:]
  for (k, value) in params {
    switch value {
    case let items as [String]: raw[k] = list(items)
    default: raw[k] = v("\(value)")
    }
  }
  return try build(d, raw)
}

/// What one stage does to one document: nil when kept, else the drop reason, and the text
/// afterwards (rewritten or not) and whether the stage rewrote it.
struct Outcome {
  var reason: String?
  var text: String
  var rewritten: Bool
}

func outcome(_ stage: NamedStage, _ text: String) throws -> Outcome {
  let doc = try Document(json: String(decoding: docLine(id: "t", text: text), as: UTF8.self))
  let verdict = try stage.stage.process(doc)
  let reason: String?
  switch verdict {
  case .keep, .copies: reason = nil
  case .drop(let r): reason = r
  }
  return Outcome(reason: reason, text: doc.textString, rewritten: doc.editCount > 0)
}

/// The drop reason (nil when kept) of one text.
func reason(_ stage: NamedStage, _ text: String) throws -> String? {
  try outcome(stage, text).reason
}

/// `count` copies of `s` joined by `separator`.
func repeated(_ s: String, _ count: Int, separator: String = " ") -> String {
  Array(repeating: s, count: count).joined(separator: separator)
}

/// A JSON line holding one huge single-line text, built without per-character work.
func hugeSingleLine(id: String, unit: String, count: Int, suffix: String = "") -> (line: [UInt8], text: String) {
  let text = String(repeating: unit, count: count) + suffix
  return (docLine(id: id, text: text), text)
}
