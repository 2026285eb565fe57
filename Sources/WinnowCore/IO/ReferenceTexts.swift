/// Texts a stage reads besides its documents — eval sets to decontaminate against, targets to
/// select toward — from JSON Lines or plain-text files, with errors that name the file and line.
public enum ReferenceTexts {
  /// Whether `path` names a JSON Lines file (by its extension, compression extensions aside).
  public static func isJSONLines(_ path: String) -> Bool {
    var name = path.lowercased()
    for ext in [".zst", ".zstd", ".gz"] where name.hasSuffix(ext) {
      name.removeLast(ext.count)
      break
    }
    return name.hasSuffix(".jsonl") || name.hasSuffix(".json") || name.hasSuffix(".ndjson")
  }

  /// Calls `body` with the text of every item of the file at `path`: the `field` of each line
  /// of a JSON Lines file (.jsonl/.json/.ndjson, optionally .zst/.gz), else each non-blank line
  /// (trimmed). Errors start with `what` (the stage and parameter), call the file a `noun`, and
  /// name `fieldParameter` as the parameter that picks the field.
  public static func forEachItem(
    _ path: String, field: String, fieldParameter: String, what prefix: String, noun: String,
    _ body: (UnsafeBufferPointer<UInt8>) -> Void
  ) throws(WinnowError) {
    if isJSONLines(path) {
      // A file that cannot be opened is a wrong parameter (exit 2); one that opens but cannot
      // be read to its end (truncated compressed data) is an I/O failure (exit 1).
      do { try openByteSource(InputFile(path: path)).close() } catch {
        throw .usage(prefix + "cannot read \(noun): \(error.message)")
      }
      let reader = DocumentReader(inputs: [InputFile(path: path)], fields: DocumentFields(text: field))
      defer { reader.close() }
      while true {
        let item: DocumentReader.Item?
        do {
          item = try reader.next()
        } catch {
          // Truncated or corrupt compressed data is an I/O failure (exit 1), as for documents.
          throw .io(prefix + "cannot read \(noun): \(error.message)")
        }
        switch item {
        case nil:
          return
        case .document(let doc)?:
          body(doc.text)
        case .tooLarge(let line)?:
          throw .usage(prefix + line.message)
        case .bad(let bad)?:
          let what: String
          switch bad.reason {
          case .missingTextField: what = "no field '\(field)' (\(fieldParameter) names the field that holds the item)"
          case .textNotAString: what = "field '\(field)' is not a string"
          case .invalidUTF8: what = "not valid UTF-8 (at byte \(bad.offset))"
          default:
            what =
              "malformed JSON (\(bad.reason.rawValue) at byte \(bad.offset); \(noun)s named .jsonl/.json/.ndjson are JSON Lines, one object per line)"
          }
          throw .usage(prefix + "\(path):\(bad.line): \(what)")
        }
      }
    }
    try forEachLine(ofFile: path, cannotRead: prefix + "cannot read \(noun): ") { (line, number) throws(WinnowError) in
      var lo = 0
      var hi = line.count
      while lo < hi, line[lo] == 0x20 || line[lo] == 0x09 || line[lo] == 0x0D { lo += 1 }
      while hi > lo, line[hi - 1] == 0x20 || line[hi - 1] == 0x09 || line[hi - 1] == 0x0D { hi -= 1 }
      if lo == hi { return }
      let item = UnsafeBufferPointer(rebasing: line[lo..<hi])
      guard String(validating: item, as: UTF8.self) != nil else {
        throw .usage(prefix + "\(path):\(number): not valid UTF-8")
      }
      body(item)
    }
  }

}
