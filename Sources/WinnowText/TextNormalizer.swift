import CICUShim

/// Unicode normalisation forms offered by `TextNormalizer`.
public enum NormalizationForm: Sendable, Hashable, CaseIterable {
  /// Canonical composition: same text, canonical byte form.
  case nfc
  /// Compatibility composition: also folds presentation variants
  /// (full-width Latin → ASCII, ligature "ﬁ" → "fi", "²" → "2", NBSP → space).
  case nfkc
  /// ICU's NFKC_Casefold (Unicode NFKC_CF): NFKC plus full case folding
  /// ("ß" → "ss") and removal of default-ignorable code points.
  case nfkcCasefold
  /// Canonical decomposition: "é" → "e" + U+0301 (for stripping diacritics).
  case nfd

  @usableFromInline var icuForm: Int32 {
    switch self {
    case .nfc: Int32(WN_NFC)
    case .nfkc: Int32(WN_NFKC)
    case .nfkcCasefold: Int32(WN_NFKC_CASEFOLD)
    case .nfd: Int32(WN_NFD)
    }
  }
}

/// Errors the ICU shim can report. They mean a broken installation (ICU data
/// missing) or memory exhaustion, not bad input (ill-formed UTF-8 becomes
/// U+FFFD), so they stop the process instead of being thrown at every caller.
struct TextError: CustomStringConvertible {
  let code: Int
  var description: String {
    switch code {
    case Int(WN_ERR_ARGUMENT): "ICU shim: invalid argument"
    case Int(WN_ERR_ICU): "ICU shim: ICU reported an error"
    case Int(WN_ERR_MEMORY): "ICU shim: out of memory"
    default: "ICU shim: error \(code)"
    }
  }
}

/// Normalisation and lowercasing of UTF-8 bytes, with ICU 72 underneath.
///
/// ASCII input never reaches ICU: it is already NFC/NFKC, and its lowercase
/// and case fold are A-Z → a-z. Most web text is ASCII, so this is the common
/// path. Output goes into a caller-owned array that is reused across calls.
public struct TextNormalizer: Sendable {
  public init() {}

  /// Writes `input` in normalisation form `form` into `out` (replacing its
  /// contents). Ill-formed UTF-8 becomes U+FFFD.
  public mutating func normalize(
    _ input: UnsafeBufferPointer<UInt8>, form: NormalizationForm, into out: inout [UInt8]
  ) {
    if UTF8Bytes.isASCII(input) {
      if form == .nfkcCasefold {
        ASCIICase.lowercase(input, into: &out)
      } else {
        copy(input, into: &out)
      }
      return
    }
    let form = form.icuForm
    callICU(input, into: &out) { wn_normalize(form, $0, $1, $2, $3) }
  }

  /// Full Unicode lowercase (root locale, so no Turkish dotless-i tailoring):
  /// "ÉCOLE" → "école", "İ" → "i̇" (i + U+0307), "ΟΔΟΣ" → "οδος" (final sigma
  /// by context), "ß" stays "ß". Same mapping as Python's `str.lower()`
  /// (modulo Unicode version differences).
  public mutating func lowercase(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    if UTF8Bytes.isASCII(input) {
      ASCIICase.lowercase(input, into: &out)
      return
    }
    callICU(input, into: &out) { wn_to_lower($0, $1, $2, $3) }
  }

  /// Whether NFD leaves `s`, and the text around it, unchanged: it has no canonical
  /// decomposition and combining class 0 (ICU's `unorm2_isInert` for NFD).
  public static func isNFDInert(_ s: Unicode.Scalar) -> Bool { wn_nfd_is_inert(Int32(bitPattern: s.value)) != 0 }

  func copy(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    writeOutput(&out, capacity: input.count) { dst in
      if let src = input.baseAddress { dst.update(from: src, count: input.count) }
      return input.count
    }
  }

  /// Runs a shim function that returns the needed length, growing `out` and
  /// retrying once when the first guess was too small.
  func callICU(
    _ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8],
    _ f: (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UInt8>?, Int) -> Int64
  ) {
    // Expansion is rare and small in real text (NFKC "½" → "1⁄2", lowercase
    // "Ⱥ" → "ⱥ" gain bytes), so a quarter of headroom makes the retry rare
    // and a retry redoes the work only once.
    var capacity = input.count + input.count / 4 + 16
    for _ in 0..<2 {
      var needed: Int64 = 0
      writeOutput(&out, capacity: capacity) { dst in
        needed = f(input.baseAddress, input.count, dst, capacity)
        return needed >= 0 && Int(needed) <= capacity ? Int(needed) : 0
      }
      if needed < 0 { fatalError("\(TextError(code: Int(needed)))") }
      if Int(needed) <= capacity { return }
      capacity = Int(needed)
    }
    fatalError("ICU shim: output length changed between two identical calls")
  }
}

/// ASCII-only case mapping, 8 bytes at a time.
enum ASCIICase {
  /// Sets bit 5 (0x20) in every lane holding 'A'…'Z'. Lanes must be ASCII.
  @inline(__always)
  static func lower8(_ x: UInt64) -> UInt64 {
    // x + 0x3F reaches bit 7 from 'A' (0x41) up; x + 0x25 from '[' (0x5B) up.
    // ASCII lanes stay below 0x100, so nothing carries between lanes.
    let upper = (x &+ 0x3F3F_3F3F_3F3F_3F3F) & ~(x &+ 0x2525_2525_2525_2525) & UTF8Bytes.highBits
    return x | (upper >> 2)
  }

  @inline(__always)
  static func lower(_ b: UInt8) -> UInt8 {
    b &- 0x41 < 26 ? b | 0x20 : b
  }

  /// Input must be ASCII.
  static func lowercase(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    let n = input.count
    writeOutput(&out, capacity: n) { dst in
      guard let src = input.baseAddress else { return 0 }
      var i = 0
      while i + 8 <= n {
        UTF8Bytes.store8(lower8(UTF8Bytes.load8(src + i)), dst + i)
        i += 8
      }
      while i < n {
        dst[i] = lower(src[i])
        i += 1
      }
      return n
    }
  }
}
