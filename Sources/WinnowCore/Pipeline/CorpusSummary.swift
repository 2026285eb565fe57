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

  /// Counts of the documents that share a value of the grouping field (`--by`).
  public struct GroupCounts: Sendable, Equatable {
    /// Documents, bytes of their text and whitespace-separated words in the group.
    public var documents = 0
    /// (See `documents`.)
    public var textBytes = 0
    /// (See `documents`.)
    public var words = 0
    /// Tokens, when a token counter was given.
    public var tokens = 0
  }

  /// The field documents are grouped by, if any; a document without it is in group `(none)`.
  public var groupField: String?
  /// The groups, by the field's value (its text form).
  public var groups: [String: GroupCounts] = [:]
  /// Whether `GroupCounts.tokens` were counted.
  public var countsTokens = false

  /// Reads `inputs` once. With `groupBy`, documents are also counted per value of that field,
  /// and `countTokens` (a tokenizer, say) gives each document's tokens for those counts.
  public static func compute(
    inputs: [InputFile], fields: DocumentFields, strict: Bool,
    maxDocumentBytes: Int = PipelineOptions.defaultMaxDocumentBytes,
    groupBy: String? = nil, countTokens: ((Document) -> Int)? = nil
  ) throws(WinnowError) -> CorpusSummary {
    var s = CorpusSummary()
    s.groupField = groupBy
    s.countsTokens = countTokens != nil
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
        if let groupBy {
          let value = doc.field(groupBy)
          let name = value == nil || value == FieldValue.null ? "(none)" : value!.textForm
          var g = s.groups[name, default: GroupCounts()]
          g.documents += 1
          g.textBytes += doc.text.count
          g.words += doc.whitespaceWordCount
          if let countTokens { g.tokens += countTokens(doc) }
          s.groups[name] = g
        }
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


      """
    out += groupTable() + "fields:\n"
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

  /// `x` in [0, 1] with four decimals.
  static func fixed4(_ x: Double) -> String {
    let n = Int((x * 10_000).rounded())
    let frac = String(n % 10_000)
    return "\(n / 10_000)." + String(repeating: "0", count: 4 - frac.count) + frac
  }

  /// The groups in name order.
  var sortedGroups: [(String, GroupCounts)] { groups.keys.sorted().map { ($0, groups[$0]!) } }

  /// The `--by` section of the table (empty without grouping): one row per group, with its
  /// share of the documents' tokens (or of the text bytes without a token counter).
  func groupTable() -> String {
    guard let groupField else { return "" }
    let total = Double(max(1, sortedGroups.reduce(0) { $0 + (countsTokens ? $1.1.tokens : $1.1.textBytes) }))
    var rows = [["by " + groupField, "documents", "text bytes", "words"] + (countsTokens ? ["tokens"] : []) + ["share"]]
    for (name, g) in sortedGroups {
      let share = Double(countsTokens ? g.tokens : g.textBytes) / total
      rows.append([name, String(g.documents), String(g.textBytes), String(g.words)] + (countsTokens ? [String(g.tokens)] : [])
        + [Self.fixed4(share)])
    }
    let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
    var out = ""
    for row in rows {
      out += "  " + row.enumerated().map { c, cell in
        c == 0 ? cell + String(repeating: " ", count: widths[c] - cell.count)
          : String(repeating: " ", count: widths[c] - cell.count) + cell
      }.joined(separator: "  ") + "\n"
    }
    return out + "\n"
  }

  public func json(top: Int) -> String {
    var w = JSONTextWriter()
    w.open("{")
    if let groupField {
      w.key("by")
      w.open("{")
      w.key("field"); w.raw(JSONString.quoted(groupField))
      w.key("groups")
      w.open("{")
      for (name, g) in sortedGroups {
        w.key(name)
        w.open("{")
        w.key("documents"); w.raw(String(g.documents))
        w.key("text_bytes"); w.raw(String(g.textBytes))
        w.key("words"); w.raw(String(g.words))
        if countsTokens { w.key("tokens"); w.raw(String(g.tokens)) }
        w.close("}")
      }
      w.close("}")
      w.close("}")
    }
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
