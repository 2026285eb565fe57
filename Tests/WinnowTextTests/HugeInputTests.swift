import Foundation
import Testing
import WinnowText

/// ~50 MB documents: the 8-byte lanes, the normaliser's segments and the
/// lowercase runs meet the text at every possible offset.
@Suite struct HugeInputTests {
  static let size = 50 << 20

  // memcpy/memcmp: generic element loops over 50 MB take minutes in debug.
  static func repeated(_ piece: String, toBytes size: Int) -> (bytes: [UInt8], reps: Int) {
    let p = Array(piece.utf8)
    let reps = size / p.count
    return (tiled(p, reps), reps)
  }

  static func tiled(_ p: [UInt8], _ reps: Int, separator: UInt8? = nil) -> [UInt8] {
    let stride = p.count + (separator == nil ? 0 : 1)
    let total = reps == 0 ? 0 : stride * reps - (separator == nil ? 0 : 1)
    return [UInt8](unsafeUninitializedCapacity: total) { buf, count in
      p.withUnsafeBufferPointer { src in
        for r in 0..<reps {
          let dst = buf.baseAddress! + r * stride
          memcpy(dst, src.baseAddress!, p.count)
          if let separator, r < reps - 1 { dst[p.count] = separator }
        }
      }
      count = total
    }
  }

  static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.count == b.count
      && a.withUnsafeBytes { x in
        b.withUnsafeBytes { y in
          a.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0
        }
      }
  }

  @Test func asciiCountsAndKey() {
    let piece = "The Quick  brown fox\tjumps over the lazy dog.\nLine two ends here \n"
    let (bytes, reps) = Self.repeated(piece, toBytes: Self.size)
    let one = counts(piece)
    bytes.withUnsafeBufferPointer { buf in
      #expect(TextCounts.scalars(buf) == one.scalars * reps)
      #expect(TextCounts.whitespaceWords(buf) == one.words * reps)
      #expect(TextCounts.lines(buf) == one.lines * reps)
      var key: [UInt8] = []
      var n = DedupKeyNormalizer()
      n.normalize(buf, into: &key)
      let pieceKey = dedupKey(piece)
      #expect(Self.same(key, Self.tiled(Array(pieceKey.utf8), reps, separator: 0x20)))
    }
  }

  @Test func multilingualCountsNormalizeAndKey() {
    // Odd length so that 8-byte lanes land everywhere relative to the piece;
    // decomposed accents and jamo make NFC/NFKC segments do real work.
    let piece = "Ecole\u{301} ÉCOLE ﬁne ＦＵＬＬ 日本語のテキスト ΟΔΟΣ\u{3000}한국어 \u{1100}\u{1161} 👍🏽 ภาษาไทย\n"
    let (bytes, reps) = Self.repeated(piece, toBytes: Self.size)
    let one = counts(piece)
    bytes.withUnsafeBufferPointer { buf in
      #expect(TextCounts.scalars(buf) == one.scalars * reps)
      #expect(TextCounts.whitespaceWords(buf) == one.words * reps)
      #expect(TextCounts.lines(buf) == one.lines * reps)

      var n = TextNormalizer()
      var out: [UInt8] = []
      for form in NormalizationForm.allCases {
        n.normalize(buf, form: form, into: &out)
        let expected = Array(nfc(piece, form).utf8)
        #expect(out.count == expected.count * reps, "\(form)")
        #expect(Self.same(out, Self.tiled(expected, reps)), "\(form)")
      }
      n.lowercase(buf, into: &out)
      let lowered = Array(lower(piece).utf8)
      #expect(Self.same(out, Self.tiled(lowered, reps)))

      var d = DedupKeyNormalizer()
      d.normalize(buf, into: &out)
      let key = Array(dedupKey(piece).utf8)
      #expect(Self.same(out, Self.tiled(key, reps, separator: 0x20)))
    }
  }

  @Test func finalSigmaInLongTexts() {
    // 3 MB of Greek letters without a space: every Σ here is medial.
    let (bytes, reps) = Self.repeated("ΑΒΣΓ", toBytes: 3 << 20)
    var n = TextNormalizer()
    var out: [UInt8] = []
    bytes.withUnsafeBufferPointer { n.lowercase($0, into: &out) }
    #expect(Self.same(out, Self.tiled(Array("αβσγ".utf8), reps)))
    // Final sigmas at every word end across 50 MB.
    let (words, wreps) = Self.repeated("ΟΔΟΣ ΣΟΦΟΣ, ", toBytes: Self.size)
    words.withUnsafeBufferPointer { n.lowercase($0, into: &out) }
    #expect(Self.same(out, Self.tiled(Array("οδος σοφος, ".utf8), wreps)))
  }

  @Test(.enabled(if: Python.available, "python3 not found"))
  func endlessCombiningSequencesMatchPython() throws {
    // A single combining sequence of thousands of marks is one segment (and
    // leaves the stack buffers); mixed combining classes must be reordered
    // across the whole run.
    let samples = [
      "a" + String(repeating: "\u{301}", count: 3000) + "b",
      "x" + String(repeating: "\u{323}\u{301}", count: 2500) + " tail",
      String(repeating: "e\u{301}\u{1100}\u{1161}\u{11A8}", count: 3000),
      String(repeating: "\u{FF21}\u{FDFA}", count: 2000),
    ]
    let script = """
      import json, sys, unicodedata
      json.dump([[unicodedata.normalize(f, s) for f in ("NFC", "NFKC")] for s in json.load(sys.stdin)], sys.stdout)
      """
    let python = try #require(Python.run(script, input: samples) as? [[String]])
    for (s, py) in zip(samples, python) {
      #expect(Array(nfc(s, .nfc).utf8) == Array(py[0].utf8))
      #expect(Array(nfc(s, .nfkc).utf8) == Array(py[1].utf8))
    }
  }
}
