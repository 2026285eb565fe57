import Winnow

/// One input is one JSON Lines record. A record the scanner accepts must behave: every field
/// readable, and after an edit of the text and an added field, the serialised line must itself
/// be a valid record with the new text and every field that was there.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let line = UnsafeBufferPointer(start: data, count: size)
  let doc = Document()
  do {
    try doc.load(line: line, source: "fuzz", lineNumber: 1)
  } catch {
    return 0
  }
  var names: [String] = []
  doc.forEachField { name, _ in names.append(name) }
  for name in names { _ = doc.field(name) }
  _ = doc.id
  _ = doc.scalarCount
  _ = doc.lineCount
  let newText = Array(doc.textString.reversed().prefix(64)).map(String.init).joined() + "\u{2028}\"\\"
  doc.setText(newText)
  doc.annotate("fuzz_added", .string("x\u{0}y"))
  let out = Array(doc.serialized)
  let again = Document()
  do {
    try out.withUnsafeBufferPointer { (p) throws(JSONScanError) in try again.load(line: p, source: "fuzz-again", lineNumber: 1) }
  } catch {
    fatalError("a serialised document does not read back: \(error) in \(String(decoding: out, as: UTF8.self))")
  }
  precondition(again.textString == newText, "the edited text did not survive serialisation")
  var namesAgain: [String] = []
  again.forEachField { name, _ in namesAgain.append(name) }
  for name in names where !namesAgain.contains(name) { fatalError("field \(name) lost in serialisation") }
  return 0
}
