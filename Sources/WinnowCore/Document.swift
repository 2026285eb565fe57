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

  func encode(into out: inout [UInt8]) {
    switch self {
    case .string(let s):
      var s = s
      s.withUTF8 { b in
        out.reserveCapacity(b.count + 2)
        JSONString.appendQuoted(b, to: &out)
      }
    case .int(let v): out.append(contentsOf: String(v).utf8)
    case .double(let v): out.append(contentsOf: jsonNumberOrNull(v).utf8)
    case .bool(let v): out.append(contentsOf: (v ? "true" : "false").utf8)
    case .json(let s):
      var s = s
      s.withUTF8 { out.append(contentsOf: $0) }
    }
  }
}

/// `formatJSONNumber`, or `null` for an infinity or NaN (JSON has neither).
package func jsonNumberOrNull(_ v: Double) -> String { v.isFinite ? formatJSONNumber(v) : "null" }

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
// The state a document's accessors touch for every document is not checked for exclusive
// access at run time (`@exclusivity(unchecked)`): a Document belongs to one pipeline, and the
// runtime's check would cost a few per cent of a simple run.
public final class Document {
  public let fields: DocumentFields
  private let textKey: [UInt8]
  private let idKey: [UInt8]

  /// The line as read, without its newline.
  @exclusivity(unchecked)
  public private(set) var line: UnsafeBufferPointer<UInt8> = UnsafeBufferPointer(start: nil, count: 0)
  private var ownedLine: ByteBuffer?
  /// Where the line came from, for ids, errors and quarantine records.
  public private(set) var sourceName = ""
  public private(set) var lineNumber = 0

  @exclusivity(unchecked) private var scanner = JSONScanner()
  @exclusivity(unchecked) private var textMember = 0
  /// Earlier members with the text key (the reader, like JSON parsers, uses the last one).
  private var shadowedTextMembers: [Int] = []
  /// Whether the output leaves the shadowed copies out (see `removeShadowedTextFields`).
  @exclusivity(unchecked) private var shadowedTextRemoved = false
  @exclusivity(unchecked) private var textDecoded = false
  @exclusivity(unchecked) private var textRewritten = false
  /// Text rewrites since the text was last as read (`restoreTextAsRead` takes them back).
  @exclusivity(unchecked) private var textEditsSinceRead = 0
  /// One decoded escape (`isTextAsRead`).
  private var escapeScratch: [UInt8] = []
  /// The decoded or rewritten text, and a second buffer that a rewrite is written into before
  /// the two swap (a new text may be built from the current one).
  @exclusivity(unchecked) private var textStorage = ByteBuffer(capacity: 1 << 16)
  @exclusivity(unchecked) private var spareTextStorage: ByteBuffer?
  @exclusivity(unchecked) private var textView = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
  private var idStorage = ByteBuffer(capacity: 64)
  @exclusivity(unchecked) private var idDecoded = false
  private var replaced: [(member: Int, value: [UInt8])] = []
  private var appended: [(key: String, value: [UInt8])] = []
  private var output = ByteBuffer(capacity: 1 << 16)
  private var nestedMembers: [JSONMember] = []
  /// Counts and other analysis of the current text, computed once and shared by stages.
  let analysis = TextAnalysis()
  /// The most word tokens kept with a text (16 MiB of ranges): a longer text's words would
  /// take several times the text's own memory, so it is split again when a stage asks.
  var maxKeptWords = Document.defaultMaxKeptWords
  static let defaultMaxKeptWords = 1 << 20

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
    reset(line: line, source: source, lineNumber: lineNumber)
    try scanner.scanObject(line)
    try findText()
  }

  /// Points the document at a line its reader built as valid JSON (valid UTF-8 included) and
  /// indexed as it built it: a Parquet row. Only the text field is checked.
  package func load(
    builtLine line: UnsafeBufferPointer<UInt8>, members: [JSONMember], closingBrace: Int, source: String, lineNumber: Int
  ) throws(JSONScanError) {
    reset(line: line, source: source, lineNumber: lineNumber)
    scanner.adopt(members: members, closingBrace: closingBrace)
    try findText()
  }

  private func reset(line: UnsafeBufferPointer<UInt8>, source: String, lineNumber: Int) {
    self.line = line
    sourceName = source
    self.lineNumber = lineNumber
    textDecoded = false
    textRewritten = false
    textEditsSinceRead = 0
    shadowedTextRemoved = false
    idDecoded = false
    if !replaced.isEmpty { replaced.removeAll(keepingCapacity: true) }
    if !appended.isEmpty { appended.removeAll(keepingCapacity: true) }
    if !shadowedTextMembers.isEmpty { shadowedTextMembers.removeAll(keepingCapacity: true) }
    analysis.invalidate()
    if !cacheEntries.isEmpty { cacheEntries.removeAll(keepingCapacity: true) }
    // Buffers grown for an outsized document are given back once documents are small again.
    if textStorage.capacity > max(1 << 24, 4 * line.count) { textStorage = ByteBuffer(capacity: 1 << 16) }
    if output.capacity > max(1 << 24, 4 * line.count) { output = ByteBuffer(capacity: 1 << 16) }
  }

  private func findText() throws(JSONScanError) {
    var found: Int?
    for (k, m) in scanner.members.enumerated() where keyMatches(m, textKey) {
      if let earlier = found { shadowedTextMembers.append(earlier) }
      found = k
    }
    guard let t = found else { throw JSONScanError(.missingTextField, at: 0) }
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

  /// Values stages derived from this document (see `DocumentCacheKey`), each with the
  /// `editCount` it was computed at.
  private var cacheEntries: [ObjectIdentifier: (edits: Int, value: Any)] = [:]

  /// The value cached under `key` for this document, or nil when there is none or the
  /// document changed (its text or any field) since it was cached.
  public func cached<Value>(_ key: DocumentCacheKey<Value>) -> Value? {
    guard let e = cacheEntries[ObjectIdentifier(key)], e.edits == editCount else { return nil }
    return e.value as? Value
  }

  /// Caches `value` under `key` until the document changes or the next document is read.
  public func setCached<Value>(_ value: Value, for key: DocumentCacheKey<Value>) {
    cacheEntries[ObjectIdentifier(key)] = (editCount, value)
  }

  /// The cached value under `key`, computed by `compute` (and cached) when there is none.
  public func cached<Value, E: Error>(_ key: DocumentCacheKey<Value>, orCompute compute: () throws(E) -> Value) throws(E) -> Value {
    if let v = cached(key) { return v }
    let v = try compute()
    setCached(v, for: key)
    return v
  }

  /// Whether the text was rewritten or annotations were added.
  public var isModified: Bool { textRewritten || !replaced.isEmpty || !appended.isEmpty || shadowedTextRemoved }

  /// Whether the line holds the text key more than once. The document's text is the last
  /// copy (as JSON parsers read it); the earlier ones are never looked at by a stage, but are
  /// written back with the line unless removed.
  public var hasShadowedTextFields: Bool { !shadowedTextMembers.isEmpty }

  /// Leaves the earlier copies of the text key out of the output line, so that the only text
  /// written is the one the stages saw. A rewritten text always does so; stages that vouch for
  /// all the text they pass on (redaction, normalisation) call it for unchanged texts too.
  public func removeShadowedTextFields() {
    guard !shadowedTextMembers.isEmpty, !shadowedTextRemoved else { return }
    shadowedTextRemoved = true
    editCount &+= 1
  }

  /// The document's text as UTF-8, unescaped. Valid until the text is changed or the next
  /// line is loaded.
  public var text: UnsafeBufferPointer<UInt8> {
    if !textDecoded {
      let m = scanner.members[textMember]
      let inner = UnsafeBufferPointer(rebasing: line[(m.valueStart + 1)..<(m.valueEnd - 1)])
      if m.valueHasEscapes {
        textStorage.removeAll()
        // Unescaping never lengthens: one allocation, written in place.
        textStorage.reserve(inner.count)
        textStorage.count = JSONString.unescape(inner, to: textStorage.base)
        textView = textStorage.bytes
      } else {
        textView = inner
      }
      textDecoded = true
    }
    return textView
  }

  public var textString: String { String(decoding: text, as: UTF8.self) }

  /// Replaces the text (valid UTF-8; it may point into the current text). Only the text field
  /// is re-encoded on output; earlier copies of the text key are left out of it.
  public func setText(_ newText: UnsafeBufferPointer<UInt8>) {
    let target = takeSpareTextStorage()
    target.reserve(newText.count)
    target.append(bytes: newText)
    adoptText(target)
  }

  /// Makes the first `buffer.count` bytes of `buffer` (valid UTF-8) the text, taking the
  /// buffer rather than copying it; `buffer` gets an empty one in exchange (the previous
  /// text's, unless that was large). For stages that build a new text from the old one: the
  /// text is never held three times.
  public func setText(taking buffer: inout ByteBuffer) {
    let target = buffer
    buffer = takeSpareTextStorage()
    adoptText(target)
  }

  /// An empty buffer for a new text: the spare, or a new one.
  private func takeSpareTextStorage() -> ByteBuffer {
    let spare = spareTextStorage ?? ByteBuffer(capacity: 1 << 16)
    spareTextStorage = nil
    spare.removeAll()
    return spare
  }

  /// Keeps `buffer` as the spare unless it is large: an outsized text is not held twice.
  private func releaseSpareIfLarge(_ buffer: ByteBuffer) {
    spareTextStorage = buffer.capacity > 1 << 24 ? nil : buffer
  }

  /// Makes `storage` the text; the old text's buffer becomes the spare.
  private func adoptText(_ storage: ByteBuffer) {
    let old = textStorage
    textStorage = storage
    releaseSpareIfLarge(old)
    textView = textStorage.bytes
    textDecoded = true
    textRewritten = true
    if !shadowedTextMembers.isEmpty { shadowedTextRemoved = true }
    // An earlier annotate(textKey, …) is superseded: two edits of one member would overlap.
    replaced.removeAll { $0.member == textMember }
    analysis.invalidate()
    editCount &+= 1
    textEditsSinceRead &+= 1
  }

  /// Whether `bytes` are the text as read from the line, compared with the line's string as
  /// it stands: runs without escapes directly, each escape decoded on its own (the text is
  /// never decoded whole for this).
  public func isTextAsRead(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    let m = scanner.members[textMember]
    let raw = UnsafeBufferPointer(rebasing: line[(m.valueStart + 1)..<(m.valueEnd - 1)])
    // Unescaping never lengthens.
    guard bytes.count <= raw.count else { return false }
    guard let r = raw.baseAddress, let b = bytes.baseAddress else { return raw.count == bytes.count }
    var i = 0
    var j = 0
    while i < raw.count {
      let end = memchr(r + i, 0x5C, raw.count - i).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - r } ?? raw.count
      let run = end - i
      guard j + run <= bytes.count, memcmp(r + i, b + j, run) == 0 else { return false }
      i = end
      j += run
      guard i < raw.count else { break }
      // One escape, a surrogate pair being one (the scanner checked that pairs are whole).
      var length = 2
      if raw[i + 1] == UInt8(ascii: "u") {
        let d = raw[i + 2] | 0x20
        let e = raw[i + 3] | 0x20
        length = d == UInt8(ascii: "d") && e >= UInt8(ascii: "8") && e <= UInt8(ascii: "b") ? 12 : 6
      }
      escapeScratch.removeAll(keepingCapacity: true)
      JSONString.unescape(UnsafeBufferPointer(rebasing: raw[i..<(i + length)]), into: &escapeScratch)
      let n = escapeScratch.count
      guard j + n <= bytes.count, escapeScratch.withUnsafeBufferPointer({ memcmp($0.baseAddress!, b + j, n) == 0 })
      else { return false }
      i += length
      j += n
    }
    return j == bytes.count
  }

  /// Takes back the text rewrites since the text was as read (for a stage that rewrote in
  /// steps and ended where it began, `isTextAsRead`): the line's text is written as it was,
  /// and the rewrites are not counted as edits. Earlier copies of the text key are kept
  /// again unless `removeShadowedTextFields` is called.
  public func restoreTextAsRead() {
    guard textRewritten else { return }
    textRewritten = false
    textDecoded = false
    shadowedTextRemoved = false
    analysis.invalidate()
    editCount &-= textEditsSinceRead
    textEditsSinceRead = 0
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

  /// Sets the id field to the string `newID` (annotated like any field) and `id` with it.
  public func setID(_ newID: String) {
    annotate(fields.id, .string(newID))
    idStorage.removeAll()
    idStorage.append(newID)
    idDecoded = true
  }

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
    var bytes: [UInt8] = []
    value.encode(into: &bytes)
    annotate(key, encoded: bytes)
  }

  /// Adds `key` with a string value given as UTF-8 bytes (no `String` made of a long value).
  public func annotate(_ key: String, string value: UnsafeBufferPointer<UInt8>) {
    if key == fields.text {
      setText(value)
      return
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(value.count + 2)
    JSONString.appendQuoted(value, to: &bytes)
    annotate(key, encoded: bytes)
  }

  /// Adds `key` with a value given as already-encoded JSON bytes (an array of numbers, an
  /// object), written as is: the caller vouches that they are one valid JSON value.
  public func annotate(_ key: String, jsonBytes bytes: [UInt8]) {
    precondition(key != fields.text, "the text field is rewritten with setText, not with JSON")
    annotate(key, encoded: bytes)
  }

  private func annotate(_ key: String, encoded bytes: [UInt8]) {
    editCount &+= 1
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
    // Sized once: growing a buffer for a long text would copy it and hold it twice.
    var size = line.count + 2
    if textRewritten { size += Self.quotedLength(textStorage.bytes) }
    for r in replaced { size += r.value.count }
    for a in appended { size += a.key.utf8.count * 6 + a.value.count + 4 }
    output.reserve(size)
    enum Edit {
      case value([UInt8])
      case text
      /// The member, its key included, up to the next member's key.
      case remove
    }
    var edits: [(member: Int, edit: Edit)] = replaced.map { ($0.member, .value($0.value)) }
    if textRewritten { edits.append((textMember, .text)) }
    if shadowedTextRemoved { for k in shadowedTextMembers { edits.append((k, .remove)) } }
    edits.sort { $0.member < $1.member }
    var pos = 0
    for e in edits {
      let m = scanner.members[e.member]
      switch e.edit {
      case .value(let v):
        output.append(UnsafeBufferPointer(rebasing: line[pos..<m.valueStart]))
        output.append(v)
        pos = m.valueEnd
      case .text:
        output.append(UnsafeBufferPointer(rebasing: line[pos..<m.valueStart]))
        var o = output
        JSONString.appendQuoted(textStorage.bytes, to: &o)
        pos = m.valueEnd
      case .remove:
        // A shadowed copy always has a later member (the text itself): cut from its key's
        // opening quote to the next key's, the comma between them included.
        let next = scanner.members[e.member + 1]
        output.append(UnsafeBufferPointer(rebasing: line[pos..<(m.keyStart - 1)]))
        pos = next.keyStart - 1
      }
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

  /// The length of `text` as a quoted JSON string (`JSONString.appendQuoted`).
  private static func quotedLength(_ text: UnsafeBufferPointer<UInt8>) -> Int {
    var n = text.count + 2
    for c in text where c < 0x20 || c == 0x22 || c == 0x5C {
      switch c {
      case 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x22, 0x5C: n += 1
      default: n += 5
      }
    }
    return n
  }
}

/// Facts about the current text that several stages need, computed at most once per version
/// of the text and shared by every stage that asks.
final class TextAnalysis {
  var scalars: Int?
  var words: Int?
  var lines: Int?
  /// Word tokens of the text (`WordTokenizer`), for the language in `tokenLanguage` (nil when
  /// they are not kept), and how many there are, for the language in `wordCountLanguage`.
  var tokens: [Range<Int>] = []
  var tokenLanguage: String?
  var wordCount = 0
  var wordCountLanguage: String?

  func invalidate() {
    scalars = nil
    words = nil
    lines = nil
    tokenLanguage = nil
    wordCountLanguage = nil
    // The words of an outsized text are not kept (see `Document.maxKeptWords`); a long list
    // left from a text of moderate size is given back.
    if tokens.capacity > Document.defaultMaxKeptWords / 4 { tokens = [] }
  }
}

extension Document {
  /// Calls `body` with the word tokens of the text as `tokenizer` splits it (datatrove's
  /// `split_into_words`), in order, as byte ranges of `text`, a batch at a time (never an empty
  /// one). Splitting is the costly part of the quality filters, so the words of a text of
  /// moderate size are kept until the text changes: consecutive stages that need the words of
  /// the same text (gopher_repetition, then gopher_quality) split it once.
  public func forEachWordBatch(_ tokenizer: inout WordTokenizer, _ body: (UnsafeBufferPointer<Range<Int>>) -> Void) {
    let a = analysis
    if a.tokenLanguage == tokenizer.language {
      a.tokens.withUnsafeBufferPointer { all in
        var i = 0
        while i < all.count {
          let j = min(all.count, i + WordTokenizer.batchSize)
          body(UnsafeBufferPointer(rebasing: all[i..<j]))
          i = j
        }
      }
      return
    }
    a.tokens.removeAll(keepingCapacity: true)
    let maxKept = maxKeptWords
    // Room for the words up front (a word and its separator take about four bytes or more):
    // a list grown batch by batch was copied at each doubling, into memory touched afresh.
    a.tokens.reserveCapacity(min(maxKept, text.count / 4 &+ 16))
    var keep = true
    var count = 0
    tokenizer.forEachWordBatch(text) { batch in
      count += batch.count
      if keep {
        if a.tokens.count + batch.count <= maxKept {
          a.tokens.append(contentsOf: batch)
        } else {
          keep = false
          a.tokens = []
        }
      }
      body(batch)
    }
    a.tokenLanguage = keep ? tokenizer.language : nil
    a.wordCount = count
    a.wordCountLanguage = tokenizer.language
  }

  /// How many word tokens the text has as `tokenizer` splits it.
  public func wordCount(_ tokenizer: inout WordTokenizer) -> Int {
    if analysis.wordCountLanguage == tokenizer.language { return analysis.wordCount }
    forEachWordBatch(&tokenizer) { _ in }
    return analysis.wordCount
  }

  /// All word tokens of the text as `tokenizer` splits it, as byte ranges of `text`. For a
  /// long text prefer `forEachWordBatch`, which does not hold them all.
  public func words(_ tokenizer: inout WordTokenizer) -> [Range<Int>] {
    if analysis.tokenLanguage == tokenizer.language { return analysis.tokens }
    var all: [Range<Int>] = []
    forEachWordBatch(&tokenizer) { all.append(contentsOf: $0) }
    return all
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

/// Names a value derived from a document that several stages share — its words, token ids,
/// features, an embedding — so that the first stage that needs it computes it and the others
/// read it (`Document.cached(_:orCompute:)`). Core knows nothing of the values: a module
/// declares its keys as constants,
///
///     public let tokenIDs = DocumentCacheKey<[UInt32]>("token_ids")
///
/// and a key is the same key wherever that constant is used (keys compare by identity, not by
/// name). A cached value lasts until the document changes or the next document is read.
public final class DocumentCacheKey<Value>: Sendable {
  /// For messages and debugging.
  public let name: String
  public init(_ name: String) { self.name = name }
}
