import WinnowCore
import WinnowText

/// `normalize`: rewrites the text into a canonical form — Unicode NFC or NFKC, line breaks as
/// `\n`, Unicode spaces as ASCII spaces, no control characters, runs of spaces collapsed,
/// no trailing spaces, at most so many blank lines in a row, no whitespace around the
/// text — and can write a lower-cased copy into another field. Each cleanup is a boolean; the
/// text is rewritten only when something changed. Never drops a document.
public final class NormalizeStage: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "normalize",
    summary:
      "Normalise Unicode (NFC/NFKC), line breaks, spaces, blank lines and control characters; optionally add a lower-cased copy",
    role: .transform,
    parameters: [
      ParameterSpec(
        "form", .choice(["nfc", "nfkc", "none"]), default: .string("nfc"),
        help:
          "Unicode normalisation: nfc (canonical composition), nfkc (also folds compatibility variants: full-width letters, ligatures, superscripts), none"
      ),
      ParameterSpec(
        "newlines", .bool, default: .bool(true),
        help:
          "make every line break \\n: \\r\\n, \\r, and the other breaks Python's str.splitlines() knows (\\v, \\f, \\x1c-\\x1e, U+0085, U+2028, U+2029)"
      ),
      ParameterSpec(
        "remove_controls", .bool, default: .bool(true),
        help: "remove control characters (U+0000-U+001F but \\t and line breaks, U+007F, U+0080-U+009F)"),
      ParameterSpec(
        "unicode_spaces", .bool, default: .bool(true),
        help: "make Unicode space characters (U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F, U+3000) ASCII spaces"),
      ParameterSpec(
        "collapse_spaces", .bool, default: .bool(true),
        help: "make every run of two or more spaces and tabs one space (a single tab stays)"),
      ParameterSpec("trim_lines", .bool, default: .bool(true), help: "remove spaces and tabs at the end of each line"),
      ParameterSpec(
        "max_blank_lines", .int(min: -1, max: nil), default: .int(2),
        help: "keep at most this many consecutive blank (empty or whitespace-only) lines; -1: no limit"),
      ParameterSpec(
        "strip", .bool, default: .bool(true), help: "remove whitespace and blank lines at the start and end of the text"
      ),
      ParameterSpec(
        "lowercase_field", .string,
        help: "also write a lower-cased copy of the normalised text into this field (the text itself keeps its case)"),
    ],
    make: { (p, c) throws(WinnowError) in try NormalizeStage(p, context: c) })

  struct Options {
    var newlines: Bool
    var removeControls: Bool
    var unicodeSpaces: Bool
    var collapseSpaces: Bool
    var trimLines: Bool
    var maxBlankLines: Int
    var strip: Bool
  }

  let form: NormalizationForm?
  let options: Options
  let lowercaseField: String?
  private var normalizer = TextNormalizer()
  /// One piece of the text, normalised (see `TextPieces`).
  private var normalized: [UInt8] = []
  private var lowered: [UInt8] = []
  /// The new text, handed to the document when it differs; and the lower-cased copy.
  private var out = ByteBuffer(capacity: 1 << 16)
  private var second = ByteBuffer(capacity: 1 << 16)
  private var lowerBuffer = ByteBuffer(capacity: 1 << 16)
  /// Bytes per piece (`TextPieces`); tests make it small or whole.
  var pieceSize = 1 << 16

  init(_ p: StageParameters, context: StageContext) throws(WinnowError) {
    switch p.string("form") {
    case "nfkc": form = .nfkc
    case "none": form = nil
    default: form = .nfc
    }
    options = Options(
      newlines: p.bool("newlines")!, removeControls: p.bool("remove_controls")!,
      unicodeSpaces: p.bool("unicode_spaces")!,
      collapseSpaces: p.bool("collapse_spaces")!, trimLines: p.bool("trim_lines")!,
      maxBlankLines: p.int("max_blank_lines")!,
      strip: p.bool("strip")!)
    lowercaseField = p.string("lowercase_field")
    if let f = lowercaseField {
      if f.isEmpty { throw .usage("stage 'normalize': lowercase_field must not be empty") }
      if f == context.fields.text {
        throw .usage(
          "stage 'normalize': lowercase_field '\(f)' is the text field; the lower-cased copy goes into a separate field"
        )
      }
    }
  }

  public func process(_ doc: Document) -> Verdict {
    let text = doc.text
    // The text goes through ICU and the cleanup a piece at a time (`TextPieces`: pieces that
    // normalise as the whole text does), straight into the buffer that becomes the new text:
    // no whole-text copies but the result.
    let n = text.count
    Self.shrink(&out, for: n)
    out.removeAll()
    var state = CleanState()
    if let form, !UTF8Bytes.isASCII(text) {
      // ASCII is already NFC and NFKC: only other text goes through ICU. Room for some growth
      // (NFKC can lengthen), reserved but not touched.
      out.reserve(n + n / 4 + 64)
      TextPieces.forEach(text, size: pieceSize) { piece, _ in
        normalizer.normalize(piece, form: form, into: &normalized)
        normalized.withUnsafeBufferPointer { Self.clean($0, into: out, &state, options) }
      }
      Self.finish(&state, into: out, options)
      if state.removed {
        // A removed control may have stood between a letter and its combining mark: compose
        // again, so that normalising twice changes nothing more. In place while each piece's
        // result fits where the piece was (composing shortens); else into a second buffer.
        let text = out.bytes
        var written = 0
        var inPlace = true
        TextPieces.forEach(text, size: pieceSize) { piece, _ in
          normalizer.normalize(piece, form: form, into: &normalized)
          let pieceEnd = piece.count == 0 ? written : piece.baseAddress! - text.baseAddress! + piece.count
          if inPlace {
            if written + normalized.count <= pieceEnd {
              normalized.withUnsafeBufferPointer { if $0.count > 0 { (out.base + written).update(from: $0.baseAddress!, count: $0.count) } }
              written += normalized.count
              return
            }
            Self.shrink(&second, for: text.count)
            second.removeAll()
            second.reserve(text.count + text.count / 4 + 64)
            second.append(out.base, count: written)
            inPlace = false
          }
          normalized.withUnsafeBufferPointer { second.append(bytes: $0) }
        }
        if inPlace {
          out.count = written
        } else {
          swap(&out, &second)
          Self.shrink(&second, for: 0)
        }
      }
    } else {
      out.reserve(n + 1)
      Self.clean(text, into: out, &state, options)
      Self.finish(&state, into: out, options)
    }
    if !out.bytes.sameBytes(text) { doc.setText(taking: &out) }
    Self.shrink(&out, for: 0)
    // The output holds only the text normalised here.
    doc.removeShadowedTextFields()
    if let lowercaseField {
      let current = doc.text
      Self.shrink(&lowerBuffer, for: current.count)
      lowerBuffer.removeAll()
      lowerBuffer.reserve(current.count + 16)
      TextPieces.forEach(current, size: pieceSize) { piece, _ in
        normalizer.lowercase(piece, into: &lowered)
        lowered.withUnsafeBufferPointer { lowerBuffer.append(bytes: $0) }
      }
      doc.annotate(lowercaseField, string: lowerBuffer.bytes)
      Self.shrink(&lowerBuffer, for: 0)
    }
    if normalized.capacity > 1 << 20 { normalized = [] }
    if lowered.capacity > 1 << 20 { lowered = [] }
    return .keep
  }

  /// Replaces `buffer` with a small one when it is far larger than `need` calls for.
  private static func shrink(_ buffer: inout ByteBuffer, for need: Int) {
    if buffer.capacity > max(1 << 24, 4 * need) { buffer = ByteBuffer(capacity: 1 << 16) }
  }

  /// Whether the byte at `i` is part of an ordinary character that no cleanup touches: printable
  /// ASCII other than the space, or any byte of a multi-byte character other than the C1
  /// controls, NEL, NBSP, the Unicode spaces and the line and paragraph separators (only lead
  /// bytes C2, E1, E2 and E3 can start those; continuation bytes are never leads).
  @inline(__always)
  static func isPlain(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Bool {
    let b = p[i]
    if b < 0x80 { return b &- 0x21 < 0x5E }
    switch b {
    case 0xC2:
      return i + 1 < n && p[i + 1] > 0xA0
    case 0xE1, 0xE2, 0xE3:
      return UnicodeWhitespace.length(p, i, n) == 0
    default:
      return true
    }
  }

  /// Where the cleanup stands between pieces of a text.
  struct CleanState {
    /// Bytes written.
    var k = 0
    /// The current run of spaces and tabs in the output: where it starts and how long it is.
    var runStart = -1
    var runLength = 0
    var lineStart = 0
    var lineHasContent = false
    var blankLines = 0
    var seenContent = false
    var lastContentEnd = 0
    /// Whether a control character was removed.
    var removed = false
  }

  /// One pass over a piece of the text (`TextPieces`: never cut inside a character or a
  /// `\r\n`) doing every whitespace and control cleanup, appending to `buffer` (the output
  /// never outgrows the input); `finish` ends the text.
  static func clean(_ text: UnsafeBufferPointer<UInt8>, into buffer: ByteBuffer, _ st: inout CleanState, _ opt: Options) {
    let n = text.count
    buffer.count = st.k
    buffer.reserve(st.k + n + 1)
    guard let p = text.baseAddress, n > 0 else { return }
    let o = buffer.base
    var k = st.k
    var runStart = st.runStart
    var runLength = st.runLength
    var lineStart = st.lineStart
    var lineHasContent = st.lineHasContent
    var blankLines = st.blankLines
    var seenContent = st.seenContent
    var lastContentEnd = st.lastContentEnd
    let limitBlank = opt.maxBlankLines >= 0
    var removed = st.removed
    defer {
      st = CleanState(
        k: k, runStart: runStart, runLength: runLength, lineStart: lineStart, lineHasContent: lineHasContent,
        blankLines: blankLines, seenContent: seenContent, lastContentEnd: lastContentEnd, removed: removed)
      buffer.count = k
    }

    @inline(__always) func endRun(atLineEnd: Bool) {
      guard runStart >= 0 else { return }
      if atLineEnd && opt.trimLines {
        k = runStart
      } else if opt.collapseSpaces && runLength >= 2 {
        k = runStart
        o[k] = 0x20
        k += 1
      }
      runStart = -1
    }
    @inline(__always) func space(_ b: UInt8) {
      if opt.strip && !seenContent { return }
      if runStart < 0 {
        runStart = k
        runLength = 0
      }
      o[k] = b
      k += 1
      runLength += 1
    }
    /// A line break, written as `terminator` (1 or 2 bytes at `p + i`) or as `\n`.
    @inline(__always) func lineBreak(_ i: Int, _ length: Int) {
      endRun(atLineEnd: true)
      if opt.strip && !seenContent { return }
      if !lineHasContent {
        blankLines += 1
        if limitBlank && blankLines > opt.maxBlankLines {
          k = lineStart
          return
        }
      }
      if opt.newlines {
        o[k] = 0x0A
        k += 1
      } else {
        for j in 0..<length { o[k + j] = p[i + j] }
        k += length
      }
      lineHasContent = false
      lineStart = k
    }
    @inline(__always) func content(_ i: Int, _ length: Int) {
      endRun(atLineEnd: false)
      if length == 1 {
        o[k] = p[i]
      } else {
        for j in 0..<length { o[k + j] = p[i + j] }
      }
      k += length
      lineHasContent = true
      seenContent = true
      blankLines = 0
      lastContentEnd = k
    }

    var i = 0
    while i < n {
      let b = p[i]
      if isPlain(p, i, n) {
        // Fast path: a stretch of ordinary characters, single spaces between them included,
        // is copied as it is.
        endRun(atLineEnd: false)
        var j = i &+ 1
        while j < n {
          if isPlain(p, j, n) {
            j &+= 1
          } else if p[j] == 0x20 && j &+ 1 < n && isPlain(p, j &+ 1, n) {
            j &+= 2
          } else {
            break
          }
        }
        (o + k).update(from: p + i, count: j - i)
        k += j - i
        lineHasContent = true
        seenContent = true
        blankLines = 0
        lastContentEnd = k
        i = j
        continue
      }
      if b < 0x80 {
        switch b {
        case 0x20, 0x09:
          space(b)
        case 0x0A:
          lineBreak(i, 1)
        case 0x0D:
          let crlf = i + 1 < n && p[i + 1] == 0x0A
          lineBreak(i, crlf ? 2 : 1)
          if crlf { i += 1 }
        case 0x0B, 0x0C, 0x1C, 0x1D, 0x1E:
          if opt.newlines {
            lineBreak(i, 1)
          } else if !opt.removeControls {
            content(i, 1)
          } else {
            removed = true
          }
        default:  // other C0 controls and DEL
          if opt.removeControls { removed = true } else { content(i, 1) }
        }
        i += 1
        continue
      }
      // Non-ASCII: C1 controls and NEL (C2 80-9F), NBSP (C2 A0), U+1680 (E1 9A 80),
      // U+2000-200A, U+2028/2029, U+202F (E2 80 ..), U+205F (E2 81 9F), U+3000 (E3 80 80).
      let length = min(UTF8Scan.length(lead: b), n - i)
      switch b {
      case 0xC2 where length == 2:
        let b1 = p[i + 1]
        if b1 == 0x85 && opt.newlines {
          lineBreak(i, 2)
        } else if b1 >= 0x80 && b1 <= 0x9F {
          if opt.removeControls { removed = true } else { content(i, 2) }
        } else if b1 == 0xA0 && opt.unicodeSpaces {
          space(0x20)
        } else {
          content(i, 2)
        }
      case 0xE1 where length == 3 && opt.unicodeSpaces && p[i + 1] == 0x9A && p[i + 2] == 0x80:
        space(0x20)
      case 0xE2 where length == 3 && p[i + 1] == 0x80:
        let b2 = p[i + 2]
        if (b2 == 0xA8 || b2 == 0xA9) && opt.newlines {
          lineBreak(i, 3)
        } else if ((b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xAF) && opt.unicodeSpaces {
          space(0x20)
        } else {
          content(i, 3)
        }
      case 0xE2 where length == 3 && opt.unicodeSpaces && p[i + 1] == 0x81 && p[i + 2] == 0x9F:
        space(0x20)
      case 0xE3 where length == 3 && opt.unicodeSpaces && p[i + 1] == 0x80 && p[i + 2] == 0x80:
        space(0x20)
      default:
        content(i, length)
      }
      i += length
    }
  }

  /// Ends the text cleaned piece by piece into `buffer`.
  static func finish(_ st: inout CleanState, into buffer: ByteBuffer, _ opt: Options) {
    if st.runStart >= 0 {
      // A run of spaces at the end of the text is at the end of its line.
      if opt.trimLines {
        st.k = st.runStart
      } else if opt.collapseSpaces && st.runLength >= 2 {
        st.k = st.runStart
        buffer.base[st.k] = 0x20
        st.k += 1
      }
      st.runStart = -1
    }
    if opt.strip { st.k = st.lastContentEnd }
    buffer.count = st.k
  }
}
