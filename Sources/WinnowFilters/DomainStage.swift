import Foundation
import WinnowCore

/// `domain`: writes each document's domain — the group a mixture weighs (web, code, papers…) —
/// to a field (`domain` unless `key` says otherwise). The first of these that gives a value wins:
///
/// 1. `rules`, in order, each `MATCH -> DOMAIN`, MATCH one of
///    `host:PATTERN` (the URL's host; a pattern without `*` or `?` also matches its
///    subdomains, so `host:wikipedia.org` takes `en.wikipedia.org`), `path:PATTERN` (the URL's
///    path, from its `/`), `url:PATTERN` (the whole URL), or `FIELD=PATTERN` (a field's value,
///    dotted names for nested fields); patterns are globs (`*` any run, `?` one character);
/// 2. `from_field`: that field's value, through `map` (`VALUE -> DOMAIN` entries) when given;
/// 3. `model`: a fastText classifier's top label (without `__label__`) when its probability is at
///    least `min_probability`;
/// 4. `default`.
///
/// The URL is read from `url_field` (`url`); hosts are compared in lower case.
public final class DomainStage: DocumentStage {
  /// The stage's name, parameters and constructor, for the registry.
  public static let descriptor = StageDescriptor(
    name: "domain",
    summary: "Set each document's domain from URL or field rules, a field, or a fastText classifier",
    role: .transform,
    parameters: [
      ParameterSpec("rules", .scalarList, help: "ordered `MATCH -> DOMAIN` rules; MATCH is host:, path:, url:PATTERN or FIELD=PATTERN (globs)"),
      ParameterSpec("from_field", .string, help: "take the domain from this field's value (after the rules)"),
      ParameterSpec("map", .scalarList, help: "`VALUE -> DOMAIN` entries applied to from_field's value (unmapped values pass as they are)"),
      ParameterSpec("model", .string, file: .reads, help: "fastText classifier whose top label is the domain (after the rules and from_field)"),
      ParameterSpec("min_probability", .double(min: 0, max: 1), default: .double(0), help: "the classifier's label counts only with at least this probability"),
      ParameterSpec("default", .string, default: .string("other"), help: "the domain when nothing else gives one"),
      ParameterSpec("key", .string, default: .string("domain"), help: "the field written"),
      ParameterSpec("url_field", .string, default: .string("url"), help: "the field holding the URL that host:, path: and url: rules read"),
    ],
    make: { (p, _) throws(WinnowError) in try DomainStage(p) })

  enum Match {
    case host(Glob, suffix: [UInt8]?)
    case path(Glob)
    case url(Glob)
    case field(String, Glob)
  }

  struct Rule {
    var match: Match
    var domain: String
  }

  let rules: [Rule]
  let fromField: String?
  let map: [String: String]
  var classifier: FastTextDocumentClassifier?
  let minProbability: Float
  let fallback: String
  let key: String
  let urlField: String
  let needsURL: Bool

  init(_ p: StageParameters) throws(WinnowError) {
    var rules: [Rule] = []
    for (k, text) in (p.list("rules") ?? []).enumerated() {
      rules.append(try Self.parseRule(text, at: k))
    }
    self.rules = rules
    fromField = p.string("from_field")
    var map: [String: String] = [:]
    for (k, entry) in (p.list("map") ?? []).enumerated() {
      let (value, domain) = try Self.split(entry, what: "map entry \(k + 1)")
      guard map.updateValue(domain, forKey: value) == nil else {
        throw .usage("stage 'domain': map entry \(k + 1): '\(value)' is mapped twice")
      }
    }
    if !map.isEmpty && fromField == nil { throw .usage("stage 'domain': map needs from_field (the field whose values it maps)") }
    self.map = map
    if let model = p.string("model") {
      classifier = try FastTextDocumentClassifier(modelPath: model, stage: "domain")
    }
    minProbability = Float(p.double("min_probability")!)
    fallback = p.string("default")!
    key = p.string("key")!
    urlField = p.string("url_field")!
    guard !key.isEmpty, !urlField.isEmpty, !fallback.isEmpty else {
      throw .usage("stage 'domain': key, url_field and default must not be empty")
    }
    if rules.isEmpty && fromField == nil && classifier == nil {
      throw .usage("stage 'domain': give rules, from_field or model (otherwise every document gets the default)")
    }
    needsURL = rules.contains {
      switch $0.match {
      case .host, .path, .url: return true
      case .field: return false
      }
    }
  }

  /// `LEFT -> RIGHT`, split at the last arrow, both sides trimmed and non-empty.
  static func split(_ text: String, what: String) throws(WinnowError) -> (String, String) {
    guard let arrow = text.range(of: "->", options: .backwards) else {
      throw .usage("stage 'domain': \(what) '\(text)' has no '->' (expected `MATCH -> DOMAIN`)")
    }
    let left = text[..<arrow.lowerBound].trimmingCharacters(in: .whitespaces)
    let right = text[arrow.upperBound...].trimmingCharacters(in: .whitespaces)
    guard !left.isEmpty, !right.isEmpty else { throw .usage("stage 'domain': \(what) '\(text)' needs both sides of '->'") }
    return (left, right)
  }

  static func parseRule(_ text: String, at k: Int) throws(WinnowError) -> Rule {
    let (match, domain) = try split(text, what: "rule \(k + 1)")
    func rest(_ prefix: String) -> String { String(match.dropFirst(prefix.count)) }
    let parsed: Match
    if match.hasPrefix("host:") {
      let pattern = rest("host:").lowercased()
      guard !pattern.isEmpty else { throw .usage("stage 'domain': rule \(k + 1): host: needs a pattern") }
      let plain = !pattern.contains("*") && !pattern.contains("?")
      parsed = .host(Glob(pattern), suffix: plain ? Array(("." + pattern).utf8) : nil)
    } else if match.hasPrefix("path:") {
      parsed = .path(Glob(rest("path:")))
    } else if match.hasPrefix("url:") {
      parsed = .url(Glob(rest("url:")))
    } else if let eq = match.firstIndex(of: "=") {
      let field = String(match[..<eq]).trimmingCharacters(in: .whitespaces)
      guard !field.isEmpty else { throw .usage("stage 'domain': rule \(k + 1): '\(match)' names no field before '='") }
      parsed = .field(field, Glob(String(match[match.index(after: eq)...]).trimmingCharacters(in: .whitespaces)))
    } else {
      throw .usage("stage 'domain': rule \(k + 1): '\(match)' is not host:, path:, url:PATTERN or FIELD=PATTERN")
    }
    return Rule(match: parsed, domain: domain)
  }

  public func process(_ doc: Document) -> Verdict {
    doc.annotate(key, .string(domain(of: doc)))
    return .keep
  }

  func domain(of doc: Document) -> String {
    if !rules.isEmpty {
      var parts: DomainURL?
      if needsURL, case .string(let url)? = doc.field(urlField) { parts = DomainURL(url) }
      for rule in rules {
        switch rule.match {
        case .host(let glob, let suffix):
          guard let host = parts?.host else { continue }
          if glob.matches(host) { return rule.domain }
          if let suffix, host.count > suffix.count, host.suffix(suffix.count).elementsEqual(suffix) { return rule.domain }
        case .path(let glob):
          if let path = parts?.path, glob.matches(path) { return rule.domain }
        case .url(let glob):
          if let url = parts?.whole, glob.matches(url) { return rule.domain }
        case .field(let name, let glob):
          if let value = doc.field(name), value != .null, glob.matches(Array(value.textForm.utf8)) { return rule.domain }
        }
      }
    }
    if let fromField, let value = doc.field(fromField), value != .null {
      let text = value.textForm
      return map[text] ?? text
    }
    if classifier != nil {
      if let top = classifier!.predict(doc, k: 1, threshold: minProbability).first {
        return classifier!.name(top)
      }
    }
    return fallback
  }
}

/// A glob over bytes: `*` matches any run (also empty), `?` one byte, anything else itself.
struct Glob {
  let pattern: [UInt8]

  init(_ text: String) { pattern = Array(text.utf8) }

  func matches(_ s: [UInt8]) -> Bool {
    // Iterative matching with one backtrack point (the last `*`): linear in practice, never
    // exponential.
    var p = 0
    var i = 0
    var star = -1
    var mark = 0
    while i < s.count {
      if p < pattern.count && (pattern[p] == UInt8(ascii: "?") || pattern[p] == s[i]) && pattern[p] != UInt8(ascii: "*") {
        p += 1
        i += 1
      } else if p < pattern.count && pattern[p] == UInt8(ascii: "*") {
        star = p
        mark = i
        p += 1
      } else if star >= 0 {
        p = star + 1
        mark += 1
        i = mark
      } else {
        return false
      }
    }
    while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
    return p == pattern.count
  }
}

/// The host (lower case, without user, port or a trailing dot) and path of a URL, as bytes.
/// A string without `scheme://` is read as `host/path`.
struct DomainURL {
  var whole: [UInt8]
  var host: [UInt8]
  var path: [UInt8]

  init(_ url: String) {
    whole = Array(url.utf8)
    var rest = whole[...]
    if let colon = rest.firstIndex(of: UInt8(ascii: ":")),
      rest[colon...].starts(with: Array("://".utf8)),
      rest[..<colon].allSatisfy({ ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || ($0 >= 0x30 && $0 <= 0x39) })
    {
      rest = rest[(colon + 3)...]
    }
    let end = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? rest.endIndex
    var authority = rest[..<end]
    if let at = authority.lastIndex(of: UInt8(ascii: "@")) { authority = authority[(at + 1)...] }
    if authority.first == UInt8(ascii: "[") {  // an IPv6 literal keeps its colons
      if let close = authority.firstIndex(of: UInt8(ascii: "]")) { authority = authority[...close] }
    } else if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
      authority = authority[..<colon]
    }
    if authority.last == UInt8(ascii: ".") { authority = authority.dropLast() }
    host = authority.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    let tail = rest[end...]
    let pathEnd = tail.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? tail.endIndex
    path = tail.first == UInt8(ascii: "/") ? Array(tail[..<pathEnd]) : Array("/".utf8)
  }
}
