import WinnowCore

/// `field`: keeps documents by the value of a JSON field — equal to a value, in a set, within
/// a numeric range, or merely present. Conditions given together must all hold. A dotted
/// name (`meta.lang`) looks inside nested objects.
public final class FieldFilter: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "field",
    summary: "Keep documents where a JSON field equals a value, is in a set, lies in a range or exists",
    parameters: [
      ParameterSpec("key", .string, required: true, help: "field name; dotted for nested fields (meta.lang)"),
      ParameterSpec("equals", .scalar, help: "keep when the field equals this value"),
      ParameterSpec("not_equals", .scalar, help: "keep when the field is missing or differs from this value"),
      ParameterSpec("in", .scalarList, help: "keep when the field is one of these values (comma-separated on the command line)"),
      ParameterSpec("not_in", .scalarList, help: "keep when the field is missing or none of these values"),
      ParameterSpec("min", .double(min: nil, max: nil), help: "keep when the field is a number ≥ this"),
      ParameterSpec("max", .double(min: nil, max: nil), help: "keep when the field is a number ≤ this"),
      ParameterSpec("exists", .bool, help: "true: keep when present (and not null); false: keep when absent or null"),
    ],
    make: { (p, _) throws(WinnowError) in try FieldFilter(p) })

  let key: String
  let equals: String?
  let notEquals: String?
  let oneOf: [String]?
  let noneOf: [String]?
  let min: Double?
  let max: Double?
  let exists: Bool?

  init(_ p: StageParameters) throws(WinnowError) {
    key = p.string("key")!
    guard !key.isEmpty else { throw .usage("stage 'field': key must not be empty") }
    equals = p.string("equals")
    notEquals = p.string("not_equals")
    oneOf = p.list("in")
    noneOf = p.list("not_in")
    min = p.double("min")
    max = p.double("max")
    exists = p.bool("exists")
    if equals == nil && notEquals == nil && oneOf == nil && noneOf == nil && min == nil && max == nil && exists == nil {
      throw .usage("stage 'field': give at least one condition: equals, not_equals, in, not_in, min, max or exists")
    }
    if let min, let max, min > max { throw .usage("stage 'field': min (\(min)) is greater than max (\(max))") }
  }

  /// Compares as the user wrote it: strings byte for byte (no Unicode equivalence: `é` and
  /// `e` + U+0301 differ, as they do for exact dedup), numbers numerically when the wanted
  /// value is a JSON number too (so `5` equals `5.0`, but `0x10` is only text), booleans and
  /// null by their literal.
  static func matches(_ value: FieldValue, _ wanted: String) -> Bool {
    if case .number(let v, _) = value, isJSONNumber(wanted), let w = Double(wanted) { return v == w }
    return value.textForm.utf8.elementsEqual(wanted.utf8)
  }

  static func isJSONNumber(_ s: String) -> Bool {
    guard let first = s.utf8.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) else { return false }
    return Array(s.utf8).withUnsafeBufferPointer { b in (try? JSONScanner.validateValue(b)) != nil }
  }

  public func process(_ doc: Document) -> Verdict {
    let value = doc.field(key)
    let present = value != nil && value != .null
    if let exists {
      if exists && !present { return .drop("field_missing") }
      if !exists && present { return .drop("field_present") }
    }
    if equals != nil || oneOf != nil || min != nil || max != nil {
      guard let value, present else { return .drop("field_missing") }
      if let equals, !Self.matches(value, equals) { return .drop("not_equal") }
      if let oneOf, !oneOf.contains(where: { Self.matches(value, $0) }) { return .drop("not_in_set") }
      if min != nil || max != nil {
        guard case .number(let v, _) = value, !v.isNaN else { return .drop("not_a_number") }
        if let min, v < min { return .drop("below_min") }
        if let max, v > max { return .drop("above_max") }
      }
    }
    if let value, present {
      if let notEquals, Self.matches(value, notEquals) { return .drop("equal") }
      if let noneOf, noneOf.contains(where: { Self.matches(value, $0) }) { return .drop("in_set") }
    }
    return .keep
  }
}
