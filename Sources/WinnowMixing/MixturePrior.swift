import Foundation
import WinnowCore

/// Named per-domain numbers a user writes by hand or a tool leaves behind: a prior (token
/// shares), starting weights, a mixture. Read from:
///
/// - JSON: `{"domains": [...], "weights": [...]}` or `{"domain": share, …}`;
/// - lines `domain: share` (comments after `#`); when the text has a `train:` block (a RegMix
///   config) or a `weights:` block (what `optimize` writes), that block's entries are the ones read;
/// - a directory from `winnow mixture prepare`: its domains' training tokens.
public enum MixturePrior {
  /// A JSON number as `JSONSerialization` gives it, or nil for anything else — booleans
  /// included, which it also gives as `NSNumber` (and which `is Bool` cannot tell from 0 and 1).
  public static func number(_ value: Any?) -> Double? {
    guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
    return n.doubleValue
  }

  /// A small UTF-8 text file (or standard input for `-`), whole.
  public static func readText(path: String) throws(WinnowError) -> String {
    try MixtureFiles.text(path)
  }

  /// The names and values in `path`, in file order. A directory from `winnow mixture
  /// prepare` gives its domains' training tokens (the token prior).
  public static func read(path: String) throws(WinnowError) -> (names: [String], values: [Double]) {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      let p = try PreparedDomains.load(directory: path)
      return (p.domains.map(\.name), p.domains.map { Double($0.trainTokens) })
    }
    return try parse(readText(path: path), source: path)
  }

  /// The names and values in `text` (either spelling); `source` names it in errors.
  public static func parse(_ text: String, source: String) throws(WinnowError) -> (names: [String], values: [Double]) {
    let trimmed = text.drop(while: { $0.isWhitespace })
    var names: [String] = []
    var values: [Double] = []
    if trimmed.first == "{" {
      guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw .io("\(source): not a JSON object")
      }
      if let domains = object["domains"] as? [String], let weights = object["weights"] as? [Any] {
        guard domains.count == weights.count else { throw .io("\(source): \(domains.count) domains, \(weights.count) weights") }
        names = domains
        for w in weights {
          guard let v = number(w) else { throw .io("\(source): 'weights' must hold numbers") }
          values.append(v)
        }
      } else {
        // Key order is lost in a JSON object: domains are taken in name order.
        for key in object.keys.sorted() {
          guard let v = number(object[key]) else {
            throw .io("\(source): '\(key)' is not a number (expected {\"domains\": [...], \"weights\": [...]} or {name: number})")
          }
          names.append(key)
          values.append(v)
        }
      }
    } else {
      let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
        let noComment = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return noComment.hasSuffix("\r") ? noComment.dropLast() : noComment
      }
      let blocks = ["train:", "weights:"]
      let hasBlock = lines.contains { blocks.contains($0.trimmingCharacters(in: .whitespaces)) && !($0.first?.isWhitespace ?? true) }
      var inBlock = !hasBlock
      for (k, line) in lines.enumerated() {
        if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
        let indented = line.first?.isWhitespace ?? false
        if hasBlock && !indented {
          inBlock = blocks.contains(line.trimmingCharacters(in: .whitespaces))
          continue
        }
        if !inBlock { continue }
        let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts[0].trimmingCharacters(in: .whitespaces)
        guard parts.count == 2, !name.isEmpty, let v = Double(parts[1].trimmingCharacters(in: .whitespaces)) else {
          throw .io("\(source):\(k + 1): expected `domain: number`")
        }
        names.append(name)
        values.append(v)
      }
    }
    guard !names.isEmpty else { throw .io("\(source): no domains") }
    var seen = Set<String>()
    for (name, v) in zip(names, values) {
      guard seen.insert(name).inserted else { throw .io("\(source): domain '\(name)' appears twice") }
      guard v.isFinite, v >= 0 else { throw .io("\(source): domain '\(name)': \(v) is not a non-negative number") }
    }
    return (names, values)
  }

  /// `shares` reordered to `domains`; every domain must be there, and nothing else.
  public static func align(names: [String], shares: [Double], to domains: [String], source: String) throws(WinnowError)
    -> [Double]
  {
    var byName: [String: Double] = [:]
    for (n, v) in zip(names, shares) { byName[n] = v }
    let missing = domains.filter { byName[$0] == nil }
    let extra = names.filter { !domains.contains($0) }
    guard missing.isEmpty, extra.isEmpty else {
      throw .usage("\(source): its domains differ from the model's (missing: \(missing.joined(separator: ", ")); not in the model: \(extra.joined(separator: ", ")))")
    }
    return domains.map { byName[$0]! }
  }
}
