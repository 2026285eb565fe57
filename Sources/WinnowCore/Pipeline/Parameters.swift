/// The type of a stage parameter, with the range or values it accepts.
public enum ParameterType: Sendable, Equatable {
  case int(min: Int?, max: Int?)
  case double(min: Double?, max: Double?)
  case bool
  case string
  case choice([String])
  /// A string, number or boolean, compared as text.
  case scalar
  /// A list of scalars; on the command line, comma-separated.
  case scalarList

  public var displayName: String {
    switch self {
    case .int(let lo, let hi): return "integer" + rangeText(lo, hi)
    case .double(let lo, let hi): return "number" + rangeText(lo, hi)
    case .bool: return "boolean"
    case .string: return "string"
    case .choice(let values): return "one of " + values.joined(separator: "|")
    case .scalar: return "value"
    case .scalarList: return "list of values"
    }
  }

  private func rangeText<T: Comparable & CustomStringConvertible>(_ lo: T?, _ hi: T?) -> String {
    switch (lo, hi) {
    case (nil, nil): return ""
    case (let lo?, nil): return " ≥ \(lo)"
    case (nil, let hi?): return " ≤ \(hi)"
    case (let lo?, let hi?): return " in [\(lo), \(hi)]"
    }
  }
}

/// A validated parameter value.
public enum ParameterValue: Sendable, Equatable, CustomStringConvertible {
  case int(Int)
  case double(Double)
  case bool(Bool)
  case string(String)
  case list([String])

  public var description: String {
    switch self {
    case .int(let v): return String(v)
    case .double(let v): return String(v)
    case .bool(let v): return v ? "true" : "false"
    case .string(let v): return v
    case .list(let v): return "[" + v.joined(separator: ", ") + "]"
    }
  }
}

/// One parameter of a stage: its name, type, default and help text.
public struct ParameterSpec: Sendable {
  /// snake_case, as in recipes; `--kebab-case` on the command line.
  public var name: String
  public var type: ParameterType
  /// nil when the parameter has no default (it is then optional unless `required`).
  public var defaultValue: ParameterValue?
  public var required: Bool
  public var help: String
  /// The parameter names files the stage reads or writes: outputs of a run may not touch the
  /// files it reads, and what a stage writes may not touch any input (`OutputGuard`).
  public var file: FileRole?

  /// What a file-naming parameter does with its files.
  public enum FileRole: Sendable {
    /// Reads the named files (a model, a word list, an eval set).
    case reads
    /// Reads every file in the named directories.
    case readsDirectory
    /// Writes the named file (a saved filter).
    case writes
  }

  public init(
    _ name: String, _ type: ParameterType, default defaultValue: ParameterValue? = nil, required: Bool = false,
    file: FileRole? = nil, help: String
  ) {
    self.name = name
    self.type = type
    self.defaultValue = defaultValue
    self.required = required
    self.file = file
    self.help = help
  }

  public var flag: String { "--" + name.replacingUnderscores() }
}

/// A parameter value as the user wrote it, before validation, and where it was written
/// (`recipe.yaml:12:7`, or `--min-words` on the command line).
public struct RawParameter: Sendable {
  /// The value as written: a scalar, a list of scalars, or a mapping.
  public enum Value: Sendable {
    /// A scalar; `quoted` is true when YAML quoted it (then it is a string, never a number).
    case scalar(String, quoted: Bool)
    case list([String])
    /// Anything else (a mapping, a nested list), described for the error message.
    case unsupported(String)
  }

  public var value: Value
  public var location: String
  /// Where the key was written, when that differs from the value (recipes).
  public var keyLocation: String?

  public init(_ value: Value, at location: String, keyAt keyLocation: String? = nil) {
    self.value = value
    self.location = location
    self.keyLocation = keyLocation
  }

  public static func scalar(_ text: String, at location: String) -> RawParameter {
    RawParameter(.scalar(text, quoted: false), at: location)
  }
}

/// Validated parameters of one stage, defaults filled in.
public struct StageParameters: Sendable {
  public private(set) var values: [String: ParameterValue]

  public init(_ values: [String: ParameterValue]) { self.values = values }

  public func int(_ name: String) -> Int? {
    if case .int(let v)? = values[name] { return v }
    return nil
  }

  public func double(_ name: String) -> Double? {
    switch values[name] {
    case .double(let v)?: return v
    case .int(let v)?: return Double(v)
    default: return nil
    }
  }

  public func bool(_ name: String) -> Bool? {
    if case .bool(let v)? = values[name] { return v }
    return nil
  }

  public func string(_ name: String) -> String? {
    if case .string(let v)? = values[name] { return v }
    return nil
  }

  public func list(_ name: String) -> [String]? {
    if case .list(let v)? = values[name] { return v }
    return nil
  }

  public func has(_ name: String) -> Bool { values[name] != nil }

  /// Checks every raw value against the specs and fills in defaults. Errors name the stage,
  /// the parameter, where it was written and what is allowed.
  public static func validate(_ raw: [String: RawParameter], against specs: [ParameterSpec], stage: String)
    throws(WinnowError) -> StageParameters
  {
    var out: [String: ParameterValue] = [:]
    for key in raw.keys.sorted() {
      let r = raw[key]!
      guard let spec = specs.first(where: { $0.name == key }) else {
        let allowed = specs.map(\.name).joined(separator: ", ")
        let suggestion = closestName(key, among: specs.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
        throw .usage(
          "\(r.keyLocation ?? r.location): stage '\(stage)' has no parameter '\(key)'\(suggestion); allowed: \(allowed.isEmpty ? "none" : allowed)"
        )
      }
      out[key] = try coerce(r, spec: spec, stage: stage)
    }
    for spec in specs where out[spec.name] == nil {
      if let d = spec.defaultValue {
        out[spec.name] = d
      } else if spec.required {
        throw .usage("stage '\(stage)' needs parameter '\(spec.name)' (\(spec.type.displayName)): \(spec.help)")
      }
    }
    return StageParameters(out)
  }

  static func coerce(_ r: RawParameter, spec: ParameterSpec, stage: String) throws(WinnowError) -> ParameterValue {
    func bad(_ got: String) -> WinnowError {
      .usage("\(r.location): parameter '\(spec.name)' of stage '\(stage)' must be \(spec.type.displayName), got \(got)")
    }
    switch r.value {
    case .unsupported(let what):
      throw bad(what)
    case .list(let items):
      guard spec.type == .scalarList else { throw bad("a list") }
      return .list(items)
    case .scalar(let text, let quoted):
      switch spec.type {
      case .int(let lo, let hi):
        guard !quoted, let v = parseInt(text) else { throw bad("'\(text)'") }
        if let lo, v < lo { throw bad("\(v)") }
        if let hi, v > hi { throw bad("\(v)") }
        return .int(v)
      case .double(let lo, let hi):
        guard !quoted, let v = Double(text), v.isFinite else { throw bad("'\(text)'") }
        if let lo, v < lo { throw bad("\(text)") }
        if let hi, v > hi { throw bad("\(text)") }
        return .double(v)
      case .bool:
        switch text.lowercased() {
        case "true", "yes", "on", "1": return .bool(true)
        case "false", "no", "off", "0": return .bool(false)
        default: throw bad("'\(text)'")
        }
      case .string, .scalar:
        return .string(text)
      case .choice(let values):
        guard values.contains(text) else { throw bad("'\(text)'") }
        return .string(text)
      case .scalarList:
        // On the command line (and unquoted in a recipe) a list is written comma-separated; a
        // quoted recipe value is one item, commas and all.
        if quoted { return .list([text]) }
        return .list(text.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
      }
    }
  }

  /// Integers with optional `_` separators and k/M/G suffixes (1k = 1000), as users write
  /// sizes on the command line.
  public static func parseInt(_ text: String) -> Int? {
    var t = text.replacingOccurrencesOfUnderscore()
    var scale = 1
    if let last = t.last, let s = ["k": 1_000, "K": 1_000, "M": 1_000_000, "G": 1_000_000_000][last] {
      scale = s
      t.removeLast()
    }
    guard let v = Int(t) else { return nil }
    let (r, overflow) = v.multipliedReportingOverflow(by: scale)
    return overflow ? nil : r
  }
}

extension String {
  fileprivate func replacingOccurrencesOfUnderscore() -> String { String(filter { $0 != "_" }) }
}

/// The allowed name nearest to a misspelt one (edit distance ≤ 3), for "did you mean".
public func closestName(_ name: String, among names: [String]) -> String? {
  func distance(_ a: [Character], _ b: [Character]) -> Int {
    var prev = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
      var cur = [i] + Array(repeating: 0, count: b.count)
      for j in 1...max(b.count, 1) where !b.isEmpty {
        cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      prev = cur
    }
    return a.isEmpty ? b.count : prev[b.count]
  }
  let a = Array(name)
  let best = names.map { ($0, distance(a, Array($0))) }.min { $0.1 < $1.1 }
  guard let best, best.1 <= 3, best.1 < name.count else { return nil }
  return best.0
}
