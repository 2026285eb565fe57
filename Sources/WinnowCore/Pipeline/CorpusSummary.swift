/// What `winnow stats` reports: totals over all documents and a summary of each field.
public struct CorpusSummary {
  /// One field over all documents: how often it is present, its JSON kinds and its most
  /// frequent values.
  public struct FieldSummary {
    public var present = 0
    public var kinds: [String: Int] = [:]
    public var values: [String: Int] = [:]
    /// More distinct values than are tracked were seen.
    public var valuesTruncated = false
    public var numericMin = Double.infinity
    public var numericMax = -Double.infinity
    public var numericSum = 0.0
    public var numericCount = 0
  }

  static let maxTrackedValues = 10_000

  public var documents = 0
  public var bytes = 0
  public var textBytes = 0
  public var characters = 0
  public var words = 0
  public var lines = 0
  public var quarantined = 0
  public var quarantinedByReason: [String: Int] = [:]
  public var fieldOrder: [String] = []
  public var fields: [String: FieldSummary] = [:]

  public static func compute(
    inputs: [InputFile], fields: DocumentFields, strict: Bool,
    maxDocumentBytes: Int = PipelineOptions.defaultMaxDocumentBytes
  ) throws(WinnowError) -> CorpusSummary {
    var s = CorpusSummary()
    let reader = DocumentReader(inputs: inputs, fields: fields, maxDocumentBytes: maxDocumentBytes)
    defer { reader.close() }
    while let item = try reader.next() {
      switch item {
      case .bad(let bad):
        if strict { throw WinnowError(.badInput, bad.message) }
        s.quarantined += 1
        s.quarantinedByReason[bad.reason.rawValue, default: 0] += 1
      case .tooLarge(let line):
        if strict { throw WinnowError(.badInput, line.message) }
        s.quarantined += 1
        s.quarantinedByReason[BadLineReason.documentTooLarge.rawValue, default: 0] += 1
      case .document(let doc):
        s.add(doc)
      }
    }
    s.bytes = reader.bytesRead
    return s
  }

  mutating func add(_ doc: Document) {
    documents += 1
    textBytes += doc.text.count
    characters += doc.scalarCount
    words += doc.whitespaceWordCount
    lines += doc.lineCount
    let textField = doc.fields.text
    doc.forEachField { name, value in
      if fields[name] == nil {
        fieldOrder.append(name)
        fields[name] = FieldSummary()
      }
      var f = fields[name]!
      fields[name] = nil  // keep the dictionary's copy unique while it is edited
      f.present += 1
      let kind: String
      switch value {
      case .string(let v):
        kind = "string"
        if name != textField { track(&f, v) }
      case .number(let v, _):
        kind = "number"
        if v.isFinite {
          f.numericMin = min(f.numericMin, v)
          f.numericMax = max(f.numericMax, v)
          f.numericSum += v
          f.numericCount += 1
        }
      case .bool(let v):
        kind = "bool"
        track(&f, v ? "true" : "false")
      case .null: kind = "null"
      case .composite(let raw): kind = raw.hasPrefix("{") ? "object" : "array"
      }
      f.kinds[kind, default: 0] += 1
      fields[name] = f
    }
  }

  private func track(_ f: inout FieldSummary, _ v: String) {
    if f.values[v] != nil || f.values.count < Self.maxTrackedValues {
      f.values[v, default: 0] += 1
    } else {
      f.valuesTruncated = true
    }
  }

  static func topValues(_ f: FieldSummary, _ n: Int) -> [(String, Int)] {
    f.values.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(n).map { ($0.key, $0.value) }
  }

  public func table(top: Int) -> String {
    var out = """
      documents     \(documents)
      bytes         \(bytes)
      text bytes    \(textBytes)
      characters    \(characters)
      words         \(words)
      lines         \(lines)
      quarantined   \(quarantined)\(quarantinedByReason.isEmpty ? "" : "  (" + quarantinedByReason.keys.sorted().map { "\($0) \(quarantinedByReason[$0]!)" }.joined(separator: ", ") + ")")

      fields:

      """
    for name in fieldOrder {
      let f = fields[name]!
      let kinds = f.kinds.keys.sorted().map { "\($0) \(f.kinds[$0]!)" }.joined(separator: ", ")
      out += "  \(name): present in \(f.present) (\(kinds))\n"
      if f.numericCount > 0 {
        out += "      min \(f.numericMin), max \(f.numericMax), mean \(f.numericSum / Double(f.numericCount))\n"
      }
      if !f.values.isEmpty {
        let distinct = "\(f.values.count)\(f.valuesTruncated ? "+" : "") distinct"
        let tops = Self.topValues(f, top).map { "\(JSONString.quoted($0.0)) \($0.1)" }.joined(separator: ", ")
        out += "      \(distinct); top: \(tops)\n"
      }
    }
    return String(out.dropLast())
  }

  public func json(top: Int) -> String {
    var w = JSONTextWriter()
    w.open("{")
    for (k, v) in [("documents", documents), ("bytes", bytes), ("text_bytes", textBytes), ("characters", characters), ("words", words), ("lines", lines), ("quarantined", quarantined)] {
      w.key(k)
      w.raw(String(v))
    }
    w.key("quarantined_by_reason")
    w.counts(quarantinedByReason)
    w.key("fields")
    w.open("{")
    for name in fieldOrder {
      let f = fields[name]!
      w.key(name)
      w.open("{")
      w.key("present"); w.raw(String(f.present))
      w.key("kinds"); w.counts(f.kinds)
      if f.numericCount > 0 {
        w.key("min"); w.raw("\(f.numericMin)")
        w.key("max"); w.raw("\(f.numericMax)")
        w.key("mean"); w.raw("\(f.numericSum / Double(f.numericCount))")
      }
      if !f.values.isEmpty {
        w.key("distinct"); w.raw(String(f.values.count))
        w.key("distinct_truncated"); w.raw(f.valuesTruncated ? "true" : "false")
        w.key("top")
        w.open("[")
        for (v, c) in Self.topValues(f, top) {
          w.element()
          w.raw("[\(JSONString.quoted(v)), \(c)]")
        }
        w.close("]")
      }
      w.close("}")
    }
    w.close("}")
    w.close("}")
    return w.text
  }
}
