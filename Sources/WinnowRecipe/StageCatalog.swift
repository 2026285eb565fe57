import WinnowCore
import WinnowDedup
import WinnowFeed
import WinnowFilters
import WinnowMixing
import WinnowSelect

/// Every stage Winnow knows, by name. Stage families register here and nowhere else.
public enum StageCatalog {
  public static let standard = StageRegistry(Filters.descriptors + Dedup.descriptors + Select.descriptors + Feed.descriptors + Mixing.descriptors)
}

/// A parameter value written in Swift code: `["min_words": 50, "normalize": true]`.
public protocol StageParameterValue: Sendable {
  /// The value as a recipe would write it, validated like one.
  var rawParameter: RawParameter.Value { get }
}

extension Int: StageParameterValue {
  public var rawParameter: RawParameter.Value { .scalar(String(self), quoted: false) }
}
extension Double: StageParameterValue {
  public var rawParameter: RawParameter.Value { .scalar(String(self), quoted: false) }
}
extension Bool: StageParameterValue {
  public var rawParameter: RawParameter.Value { .scalar(self ? "true" : "false", quoted: false) }
}
extension String: StageParameterValue {
  public var rawParameter: RawParameter.Value { .scalar(self, quoted: true) }
}
extension Array: StageParameterValue where Element == String {
  public var rawParameter: RawParameter.Value { .list(self) }
}

extension StageRegistry {
  /// Builds a stage by name from Swift values, with the same validation as recipes:
  /// `try StageCatalog.standard.stage("length", ["min_words": 50])`.
  public func stage(
    _ name: String, _ parameters: [String: any StageParameterValue] = [:], context: StageContext = StageContext()
  ) throws(WinnowError) -> NamedStage {
    guard let d = descriptor(named: name) else {
      let hint = closestName(name, among: names).map { " (did you mean '\($0)'?)" } ?? ""
      throw .usage("unknown stage '\(name)'\(hint)")
    }
    var raw: [String: RawParameter] = [:]
    for (k, v) in parameters { raw[k] = RawParameter(v.rawParameter, at: "\(name).\(k)") }
    return NamedStage(name: d.name, stage: try d.build(raw, context: context))
  }
}
