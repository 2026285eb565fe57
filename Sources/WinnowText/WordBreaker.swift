import CICUShim

/// One segment found by `WordBreaker`: a half-open UTF-8 byte range of the
/// text, and whether ICU classes it as a word (letters, numbers, kana,
/// ideographs, Thai words) rather than spaces or punctuation.
public struct WordSegment: Sendable, Hashable {
  public var start: Int
  public var end: Int
  public var isWord: Bool

  public init(start: Int, end: Int, isWord: Bool) {
    self.start = start
    self.end = end
    self.isWord = isWord
  }

  public var range: Range<Int> { start..<end }
}

/// ICU word segmentation (UAX #29 plus ICU's dictionaries for Chinese,
/// Japanese, Thai, Lao, Khmer and Burmese), for languages written without
/// spaces. It is slow (~40 MB/s): use it where whitespace splitting is wrong,
/// not as the default tokenizer.
///
/// A value type with copy-on-write: copies share the ICU iterator until one of
/// them is used, then that one opens its own, so a copy never disturbs
/// another. Opening an iterator costs microseconds: keep one per worker.
public struct WordBreaker: Sendable {
  @usableFromInline
  final class Box: @unchecked Sendable {
    // Only reached through `WordBreaker`'s mutating methods after a
    // uniqueness check, so one thread at a time uses the iterator.
    let iterator: OpaquePointer

    init() {
      guard let it = wn_wordbreak_open() else {
        fatalError("ICU word break iterator could not be opened (ICU data missing?)")
      }
      iterator = it
    }

    deinit { wn_wordbreak_close(iterator) }
  }

  var box = Box()

  public init() {}

  /// Calls `body` for every segment of `text`, in order; the segments tile
  /// the text. Offsets are UTF-8 byte offsets into `text`. Texts of 2 GiB or
  /// more are not supported by ICU's int32 offsets and trap.
  public mutating func forEachSegment(
    in text: UnsafeBufferPointer<UInt8>, _ body: (WordSegment) throws -> Void
  ) rethrows {
    if !isKnownUniquelyReferenced(&box) { box = Box() }
    let it = box.iterator
    guard let base = text.baseAddress, text.count > 0 else { return }
    // Not `precondition(call)`: under -Ounchecked (which a program embedding Winnow may
    // build with) precondition arguments are not evaluated at all.
    let rc = wn_wordbreak_set_text(it, base, text.count)
    if rc != 0 { fatalError("ICU word break: set_text failed (\(rc)); text of \(text.count) bytes") }
    // ICU keeps a pointer to the text: detach before returning, also on throw.
    defer { _ = wn_wordbreak_set_text(it, nil, 0) }
    var start: Int64 = 0
    var end: Int64 = 0
    var isWord: Int32 = 0
    while wn_wordbreak_next(it, &start, &end, &isWord) == 1 {
      try body(WordSegment(start: Int(start), end: Int(end), isWord: isWord != 0))
    }
  }

  /// Number of word segments (`isWord`) in `text`.
  public mutating func words(in text: UnsafeBufferPointer<UInt8>) -> Int {
    var count = 0
    forEachSegment(in: text) { if $0.isWord { count += 1 } }
    return count
  }

  /// All segments of `text`, appended to `segments` after clearing it.
  public mutating func segments(in text: UnsafeBufferPointer<UInt8>, into segments: inout [WordSegment]) {
    segments.removeAll(keepingCapacity: true)
    forEachSegment(in: text) { segments.append($0) }
  }
}

/// A Unicode script (ICU `UScriptCode`), e.g. for choosing between whitespace
/// splitting and dictionary word break per run of text.
public struct UnicodeScript: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
  public let rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }

  /// The script of a scalar: `.common` for punctuation, digits and symbols
  /// shared by scripts, `.inherited` for combining marks, `.unknown` for
  /// unassigned code points.
  public init(of scalar: Unicode.Scalar) {
    rawValue = wn_script(scalar.value)
  }

  /// ISO 15924 code ("Latn", "Hani", "Zyyy"), or nil for an invalid value.
  public var shortName: String? {
    guard let p = wn_script_name(rawValue) else { return nil }
    return String(cString: p)
  }

  public var description: String { shortName ?? "UnicodeScript(\(rawValue))" }

  // Values fixed by ICU's UScriptCode enum (stable across ICU versions).
  public static let common = Self(rawValue: 0)
  public static let inherited = Self(rawValue: 1)
  public static let arabic = Self(rawValue: 2)
  public static let cyrillic = Self(rawValue: 8)
  public static let devanagari = Self(rawValue: 10)
  public static let greek = Self(rawValue: 14)
  public static let han = Self(rawValue: 17)
  public static let hangul = Self(rawValue: 18)
  public static let hebrew = Self(rawValue: 19)
  public static let hiragana = Self(rawValue: 20)
  public static let katakana = Self(rawValue: 22)
  public static let latin = Self(rawValue: 25)
  public static let thai = Self(rawValue: 38)
  public static let unknown = Self(rawValue: 103)
}
