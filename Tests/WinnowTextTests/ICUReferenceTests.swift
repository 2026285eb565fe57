import Foundation
import Testing
import WinnowText

/// ICU's own UTF-16 entry points (`unorm2_normalize`, `u_strToLower` with the
/// root locale), looked up at run time with dlsym so that no ICU header meets
/// Foundation here. The shim works on UTF-8 with its own fast paths; these
/// tests hold it to exactly what ICU computes.
enum ICUReference {
  typealias GetInstance = @convention(c) (UnsafeMutablePointer<Int32>) -> OpaquePointer?
  typealias Normalize =
    @convention(c) (
      OpaquePointer?, UnsafePointer<UInt16>?, Int32, UnsafeMutablePointer<UInt16>?, Int32,
      UnsafeMutablePointer<Int32>
    ) -> Int32
  typealias ToLower =
    @convention(c) (
      UnsafeMutablePointer<UInt16>?, Int32, UnsafePointer<UInt16>?, Int32, UnsafePointer<CChar>,
      UnsafeMutablePointer<Int32>
    ) -> Int32

  struct Functions: @unchecked Sendable {
    let instances: [OpaquePointer?]  // NFC, NFKC, NFKC_Casefold
    let normalize: Normalize
    let toLower: ToLower
  }

  static let functions: Functions? = {
    #if os(Linux)
      guard let lib = dlopen("libicuuc.so.72", RTLD_NOW) else { return nil }
      func sym<T>(_ name: String, _: T.Type) -> T? {
        dlsym(lib, name + "_72").map { unsafeBitCast($0, to: T.self) }
      }
      guard let nfc = sym("unorm2_getNFCInstance", GetInstance.self),
        let nfkc = sym("unorm2_getNFKCInstance", GetInstance.self),
        let cf = sym("unorm2_getNFKCCasefoldInstance", GetInstance.self),
        let normalize = sym("unorm2_normalize", Normalize.self),
        let toLower = sym("u_strToLower", ToLower.self)
      else { return nil }
      var err: Int32 = 0
      return Functions(instances: [nfc(&err), nfkc(&err), cf(&err)], normalize: normalize, toLower: toLower)
    #else
      return nil
    #endif
  }()

  static var available: Bool { functions != nil }

  /// Runs an ICU UTF-16 function with a buffer that is grown once if needed.
  static func call(
    _ s: String, _ f: (UnsafePointer<UInt16>?, Int32, UnsafeMutablePointer<UInt16>?, Int32, inout Int32) -> Int32
  ) -> String {
    let src = Array(s.utf16)
    var cap = src.count * 4 + 16
    while true {
      var dst = [UInt16](repeating: 0, count: cap)
      var err: Int32 = 0
      let n = src.withUnsafeBufferPointer { s in
        dst.withUnsafeMutableBufferPointer { d in f(s.baseAddress, Int32(s.count), d.baseAddress, Int32(cap), &err) }
      }
      if err == 15 {  // U_BUFFER_OVERFLOW_ERROR
        cap = Int(n)
        continue
      }
      precondition(err <= 0, "ICU error \(err)")
      return String(decoding: dst[0..<Int(n)], as: UTF16.self)
    }
  }

  static func normalize(_ s: String, _ form: Int) -> String {
    let fns = functions!
    return call(s) { fns.normalize(fns.instances[form], $0, $1, $2, $3, &$4) }
  }

  static func lower(_ s: String) -> String {
    let fns = functions!
    return call(s) { fns.toLower($2, $3, $0, $1, "", &$4) }
  }
}

@Suite(.enabled(if: ICUReference.available, "libicuuc.so.72 not loadable"))
struct ICUReferenceTests {
  static let forms: [NormalizationForm] = [.nfc, .nfkc, .nfkcCasefold]

  /// Every code point, alone and between neighbours that combine or case
  /// (this checks the shim's per-code-point "left alone" tables).
  @Test(arguments: [0..<0x30000, 0x30000..<0x110000] as [Range<UInt32>])
  func everyCodePoint(_ range: Range<UInt32>) {
    var n = TextNormalizer()
    var out: [UInt8] = []
    var mismatches: [String] = []
    for v in range {
      guard let c = Unicode.Scalar(v) else { continue }
      // Outside planes 0-1 the shim goes straight to ICU; sample it.
      if v >= 0x20000 && v % 61 != 0 { continue }
      for s in ["\(c)", "A\(c)\u{301}", "Σ\(c)"] {
        let bytes = Array(s.utf8)
        bytes.withUnsafeBufferPointer { buf in
          n.lowercase(buf, into: &out)
          if String(decoding: out, as: UTF8.self).utf8.elementsEqual(ICUReference.lower(s).utf8) == false {
            mismatches.append("lower U+\(String(v, radix: 16)) in \(s.debugDescription)")
          }
          for (k, form) in Self.forms.enumerated() {
            n.normalize(buf, form: form, into: &out)
            if !String(decoding: out, as: UTF8.self).utf8.elementsEqual(ICUReference.normalize(s, k).utf8) {
              mismatches.append("\(form) U+\(String(v, radix: 16)) in \(s.debugDescription)")
            }
          }
        }
      }
      if mismatches.count > 20 { break }
    }
    #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
  }

  @Test func randomStrings() {
    let pool: [String] = [
      "Σ", "Σ", "A", "a", "É", "'", ".", "\u{301}", "\u{AD}", "\u{2B0}", "\u{345}", " ", "1", "中", "İ",
      "\u{1F88}", "\u{10400}", "’", "ß", "e", "\u{323}", "\u{1100}", "\u{1161}", "\u{11A8}", "가", "Ａ", "ﬁ",
      "\u{FDFA}", "\u{212B}", "，", "\u{3000}", "😀", "\u{BC6}", "\u{BBE}", "\u{3099}", "か", "ｶ", "ﾞ", "XYZ",
      "Hello World ", "\u{2F800}", "\u{1D15E}", "\u{F73}", "\u{200B}", "\u{FEFF}",
    ]
    var rng = SplitMix(seed: 11)
    var n = TextNormalizer()
    var out: [UInt8] = []
    var failures: [String] = []
    for _ in 0..<4000 {
      var s = ""
      for _ in 0..<Int(rng.next() % 80) { s += pool[Int(rng.next() % UInt64(pool.count))] }
      let bytes = Array(s.utf8)
      bytes.withUnsafeBufferPointer { buf in
        n.lowercase(buf, into: &out)
        if !out.elementsEqual(ICUReference.lower(s).utf8) { failures.append("lower \(s.debugDescription)") }
        for (k, form) in Self.forms.enumerated() {
          n.normalize(buf, form: form, into: &out)
          if !out.elementsEqual(ICUReference.normalize(s, k).utf8) { failures.append("\(form) \(s.debugDescription)") }
        }
      }
    }
    #expect(failures.isEmpty, "\(failures.count): \(failures.prefix(5))")
  }
}
