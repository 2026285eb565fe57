import Glibc
import WinnowText

/// Which JSON fields hold a document's text and id.
public struct DocumentFields: Sendable, Equatable {
  public var text: String
  public var id: String

  public init(text: String = "text", id: String = "id") {
    self.text = text
    self.id = id
  }
}

/// A value added to a document under a new key (or replacing an existing one).
public enum AnnotationValue: Sendable, Equatable {
  case string(String)
  case int(Int)
  case double(Double)
  case bool(Bool)
  /// Already-encoded JSON, written as is.
  case json(String)

  func encode(into out: ByteBuffer) {
    switch self {
    case .string(let s):
      var o = out
      JSONString.appendQuoted(s, to: &o)
    case .int(let v): out.append(String(v))
    case .double(let v): out.append(v.isFinite ? formatJSONNumber(v) : "null")
    case .bool(let v): out.append(v ? "true" : "false")
    case .json(let s): out.append(s)
    }
  }
}

/// Shortest decimal that reads back as the same Double, in JSON syntax.
func formatJSONNumber(_ v: Double) -> String {
  if v == 0 && v.sign == .minus { return "-0.0" }
  if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) + ".0" }
  return "\(v)"
}

/// A field value read from a document.
public enum FieldValue: Sendable, Equatable {
  case string(String)
  case number(Double, raw: String)
  case bool(Bool)
  case null
  /// An object or array, as its raw JSON.
  case composite(String)

  /// The value as text, the way a user would write it on the command line.
  public var textForm: String {
    switch self {
    case .string(let s): return s
    case .number(_, let raw): return raw
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    case .composite(let raw): return raw
    }
  }
}

/// One JSON Lines record: the raw bytes of the line plus lazily extracted views of the text,
/// the id and any other field. Fields nobody touches are written back byte for byte; a
/// rewritten text is re-encoded and spliced in; annotations are appended as new keys.
///
/// A `Document` is reused from line to line by readers: its views are valid while the
/// document is being processed.
public final class Document {
  public let fields: DocumentFields
  private let textKey: [UInt8]
  private let idKey: [UInt8]

  /// The line as read, without its newline.
  public private(set) var line: UnsafeBufferPointer<UInt8> = UnsafeBufferPointer(start: nil, count: 0)
  private var ownedLine: ByteBuffer?
  /// Where the line came from, for ids, errors and quarantine records.
  public private(set) var sourceName = ""
  public private(set) var lineNumber = 0

  private var scanner = JSONScanner()
  private var textMember = 0
  private var textDecoded = false
  private var textRewritten = false
  private let textStorage = ByteBuffer(capacity: 1 << 16)
  private var textView = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
  private var idStorage = ByteBuffer(capacity: 64)
  private var idDecoded = false
  private var replaced: [(member: Int, value: [UInt8])] = []
  private var appended: [(key: String, value: [UInt8])] = []
  private let output = ByteBuffer(capacity: 1 << 16)
  private var nestedMembers: [JSONMember] = []
  /// Counts and other analysis of the current text, computed once and shared by stages.
  let analysis = TextAnalysis()

  public init(fields: DocumentFields = DocumentFields()) {
    self.fields = fields
    textKey = Array(fields.text.utf8)
    idKey = Array(fields.id.utf8)
  }

  /// A document that owns a copy of `json` (for library use and tests).
  public convenience init(json: String, fields: DocumentFields = DocumentFields(), source: String = "<memory>", line: Int = 1)
    throws(JSONScanError)
  {
    self.init(fields: fields)
    let storage = ByteBuffer(capacity: json.utf8.count + 1)
    storage.append(json)
    ownedLine = storage
    try load(line: storage.bytes, source: source, lineNumber: line)
  }

  /// Points the document at a new line. Throws when the line is not a usable document.
  public func load(line: UnsafeBufferPointer<UInt8>, source: String, lineNumber: Int) throws(JSONScanError) {
    self.line = line
    sourceName = source
    self.lineNumber = lineNumber
    textDecoded = false
    textRewritten = false
    idDecoded = false
    if !replaced.isEmpty { replaced.removeAll(keepingCapacity: true) }
    if !appended.isEmpty { appended.removeAll(keepingCapacity: true) }
    analysis.invalidate()
    try scanner.scanObject(line)
    guard let t = memberIndex(textKey) else { throw JSONScanError(.missingTextField, at: 0) }
    guard scanner.members[t].kind == .string else {
      throw JSONScanError(.textNotAString, at: scanner.members[t].valueStart)
    }
    textMember = t
  }

  private func keyMatches(_ m: JSONMember, _ key: [UInt8]) -> Bool {
    let n = m.keyEnd - m.keyStart
    if !m.keyHasEscapes {
      guard n == key.count else { return false }
      return key.withUnsafeBufferPointer { k in memcmp(line.baseAddress! + m.keyStart, k.baseAddress!, n) == 0 }
    }
    var decoded: [UInt8] = []
    JSONString.unescape(UnsafeBufferPointer(rebasing: line[m.keyStart..<m.keyEnd]), into: &decoded)
    return decoded == key
  }

  /// The last member with this key (JSON parsers keep the last duplicate too).
  private func memberIndex(_ key: [UInt8]) -> Int? {
    var found: Int?
    for (k, m) in scanner.members.enumerated() where keyMatches(m, key) { found = k }
    return found
  }

  /// Counts every change (text rewrite or annotation) to this line, so the pipeline can tell
  /// which stage changed a document.
  public private(set) var editCount = 0

  /// Whether the text was rewritten or annotations were added.
  public var isModified: Bool { textRewritten || !replaced.isEmpty || !appended.isEmpty }

  /// The document's text as UTF-8, unescaped. Valid until the text is changed or the next
  /// line is loaded.
  public var text: UnsafeBufferPointer<UInt8> {
    if !textDecoded {
      let m = scanner.members[textMember]
      let inner = UnsafeBufferPointer(rebasing: line[(m.valueStart + 1)..<(m.valueEnd - 1)])
      if m.valueHasEscapes {
        textStorage.removeAll()
        var out = textStorage
        JSONString.unescape(inner, into: &out)
        textView = textStorage.bytes
      } else {
        textView = inner
      }
      textDecoded = true
    }
    return textView
  }

  public var textString: String { String(decoding: text, as: UTF8.self) }

  /// Replaces the text (valid UTF-8). Only the text field is re-encoded on output.
  public func setText(_ newText: UnsafeBufferPointer<UInt8>) {
    let copy = ByteBuffer(capacity: newText.count + 1)
    copy.append(newText)
    textStorage.set(copy.bytes)
    textView = textStorage.bytes
    textDecoded = true
    textRewritten = true
    // An earlier annotate(textKey, …) is superseded: two edits of one member would overlap.
    replaced.removeAll { $0.member == textMember }
    analysis.invalidate()
    editCount &+= 1
  }

  public func setText(_ newText: String) {
    var s = newText
    s.withUTF8 { setText($0) }
  }

  /// The id: the id field (a string, or a number as written), or `<file>#<line>` when the
  /// document has none.
  public var idBytes: UnsafeBufferPointer<UInt8> {
    if !idDecoded {
      idStorage.removeAll()
      if let k = memberIndex(idKey), scanner.members[k].kind != .null {
        let m = scanner.members[k]
        if m.kind == .string {
          var out = idStorage
          JSONString.unescape(UnsafeBufferPointer(rebasing: line[(m.valueStart + 1)..<(m.valueEnd - 1)]), into: &out)
        } else {
          idStorage.append(UnsafeBufferPointer(rebasing: line[m.valueStart..<m.valueEnd]))
        }
      } else {
        idStorage.append(sourceName)
        idStorage.append(UInt8(ascii: "#"))
        idStorage.append(String(lineNumber))
      }
      idDecoded = true
    }
    return idStorage.bytes
  }

  public var id: String { String(decoding: idBytes, as: UTF8.self) }

  /// A field by name; a dotted path (`meta.lang`) looks inside nested objects when no
  /// top-level key has the whole name.
  public func field(_ path: String) -> FieldValue? {
    // Values annotated by an earlier stage are visible to later ones (a scorer annotates, a
    // filter decides).
    if let v = appended.first(where: { $0.key == path })?.value ?? editedValue(path) {
      return v.withUnsafeBufferPointer { decodeValue($0) }
    }
    if path == fields.text && textRewritten { return .string(textString) }
    guard let range = fieldRange(path) else { return nil }
    return decodeValue(UnsafeBufferPointer(rebasing: line[range]))
  }

  private func editedValue(_ key: String) -> [UInt8]? {
    guard !replaced.isEmpty, let k = memberIndex(Array(key.utf8)) else { return nil }
    return replaced.last(where: { $0.member == k })?.value
  }

  /// The raw bytes of a field's value (for hashing a field such as `url`).
  public func fieldBytes(_ path: String, into out: ByteBuffer) -> Bool {
    guard let range = fieldRange(path) else { return false }
    out.removeAll()
    let raw = UnsafeBufferPointer(rebasing: line[range])
    if raw.first == UInt8(ascii: "\"") {
      var o = out
      JSONString.unescape(UnsafeBufferPointer(rebasing: raw[1..<(raw.count - 1)]), into: &o)
    } else {
      out.append(raw)
    }
    return true
  }

  /// Calls `body` with every top-level field's name and value, in document order.
  public func forEachField(_ body: (String, FieldValue) -> Void) {
    for m in scanner.members {
      var key: [UInt8] = []
      JSONString.unescape(UnsafeBufferPointer(rebasing: line[m.keyStart..<m.keyEnd]), into: &key)
      let value: FieldValue
      if m.kind == .string && m.valueEnd - m.valueStart > 1024 {
        // Long strings (the text) are summarised by length, not decoded.
        value = .string("")
      } else {
        value = decodeValue(UnsafeBufferPointer(rebasing: line[m.valueStart..<m.valueEnd]))
      }
      body(String(decoding: key, as: UTF8.self), value)
    }
  }

  private func fieldRange(_ path: String) -> Range<Int>? {
    if let k = memberIndex(Array(path.utf8)) {
      let m = scanner.members[k]
      return m.valueStart..<m.valueEnd
    }
    let parts = path.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count > 1, let first = memberIndex(Array(parts[0].utf8)) else { return nil }
    var m = scanner.members[first]
    for part in parts.dropFirst() {
      guard m.kind == .object else { return nil }
      JSONScanner.members(ofObject: line, range: m.valueStart..<m.valueEnd, into: &nestedMembers)
      let key = Array(part.utf8)
      guard let next = nestedMembers.last(where: { keyMatches($0, key) }) else { return nil }
      m = next
    }
    return m.valueStart..<m.valueEnd
  }

  private func decodeValue(_ raw: UnsafeBufferPointer<UInt8>) -> FieldValue {
    switch raw.first {
    case UInt8(ascii: "\""): return .string(JSONString.decode(quoted: raw))
    case UInt8(ascii: "t"): return .bool(true)
    case UInt8(ascii: "f"): return .bool(false)
    case UInt8(ascii: "n"): return .null
    case UInt8(ascii: "{"), UInt8(ascii: "["): return .composite(String(decoding: raw, as: UTF8.self))
    default:
      let s = String(decoding: raw, as: UTF8.self)
      return .number(Double(s) ?? .nan, raw: s)
    }
  }

  /// Adds `key` with `value`, or replaces the value when the document already has `key`.
  public func annotate(_ key: String, _ value: AnnotationValue) {
    if key == fields.text, case .string(let s) = value {
      // Annotating the text field is rewriting the text: keep `text` in step with it.
      setText(s)
      return
    }
    editCount &+= 1
    let encoded = ByteBuffer(capacity: 32)
    value.encode(into: encoded)
    let bytes = Array(encoded.bytes)
    if let k = memberIndex(Array(key.utf8)) {
      if k == textMember { textRewritten = false }
      replaced.removeAll { $0.member == k }
      replaced.append((k, bytes))
    } else {
      // A key annotated again keeps its place, like an existing key that is replaced.
      if let j = appended.firstIndex(where: { $0.key == key }) {
        appended[j].value = bytes
      } else {
        appended.append((key, bytes))
      }
    }
  }

  /// The line to write: the original bytes when nothing changed, otherwise the original with
  /// changed values spliced in and annotations appended before the closing brace.
  public var serialized: UnsafeBufferPointer<UInt8> {
    guard isModified else { return line }
    output.removeAll()
    var edits: [(member: Int, value: [UInt8]?)] = replaced.map { ($0.member, $0.value) }
    if textRewritten { edits.append((textMember, nil)) }
    edits.sort { $0.member < $1.member }
    var pos = 0
    for e in edits {
      let m = scanner.members[e.member]
      output.append(UnsafeBufferPointer(rebasing: line[pos..<m.valueStart]))
      if let v = e.value {
        output.append(v)
      } else {
        var o = output
        JSONString.appendQuoted(textStorage.bytes, to: &o)
      }
      pos = m.valueEnd
    }
    let close = scanner.closingBrace
    output.append(UnsafeBufferPointer(rebasing: line[pos..<close]))
    var hasMembers = !scanner.members.isEmpty
    for a in appended {
      if hasMembers { output.append(UInt8(ascii: ",")) }
      var o = output
      JSONString.appendQuoted(a.key, to: &o)
      output.append(UInt8(ascii: ":"))
      output.append(a.value)
      hasMembers = true
    }
    output.append(UnsafeBufferPointer(rebasing: line[close..<line.count]))
    return output.bytes
  }
}

/// Facts about the current text that several stages need, computed at most once per version
/// of the text and shared by every stage that asks.
final class TextAnalysis {
  var scalars: Int?
  var words: Int?
  var lines: Int?
  /// Word tokens of the text (`WordTokenizer`), for the language in `tokenLanguage`.
  var tokens: [Range<Int>] = []
  var tokenLanguage: String?

  func invalidate() {
    scalars = nil
    words = nil
    lines = nil
    tokenLanguage = nil
  }
}

extension Document {
  /// The word tokens of the text as `tokenizer` splits it (datatrove's `split_into_words`),
  /// as byte ranges of `text`. Splitting is the costly part of the quality filters, so the
  /// result is kept until the text changes: consecutive stages that need the words of the
  /// same text (gopher_repetition, then gopher_quality) split it once.
  public func words(_ tokenizer: inout WordTokenizer) -> [Range<Int>] {
    if analysis.tokenLanguage != tokenizer.language {
      tokenizer.words(text, into: &analysis.tokens)
      analysis.tokenLanguage = tokenizer.language
    }
    return analysis.tokens
  }
}

extension Document {
  /// Unicode code points of the text (what Python's `len(text)` counts).
  public var scalarCount: Int {
    if let n = analysis.scalars { return n }
    let n = TextCounts.scalars(text)
    analysis.scalars = n
    return n
  }

  /// Whitespace-separated words of the text (Python's `str.split()`).
  public var whitespaceWordCount: Int {
    if let n = analysis.words { return n }
    let n = TextCounts.whitespaceWords(text)
    analysis.words = n
    return n
  }

  /// Lines of the text, split on `\n` (a final newline does not start another line).
  public var lineCount: Int {
    if let n = analysis.lines { return n }
    let n = TextCounts.lines(text)
    analysis.lines = n
    return n
  }
}
