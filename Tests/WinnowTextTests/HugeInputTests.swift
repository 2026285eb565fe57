import Foundation
import Testing
import WinnowText

/// ~50 MB documents: the SWAR loops, the 4 KiB normalisation chunks and the
/// 1 MiB lowercase chunks all hit seams at many different offsets.
@Suite struct HugeInputTests {
  static let size = 50 << 20

  static func repeated(_ piece: String, toBytes size: Int) -> (bytes: [UInt8], reps: Int) {
    let p = Array(piece.utf8)
    let reps = size / p.count
    var out: [UInt8] = []
    out.reserveCapacity(reps * p.count)
    for _ in 0..<reps { out.append(contentsOf: p) }
    return (out, reps)
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
      #expect(key.count == pieceKey.utf8.count * reps + (reps - 1))
      #expect(string(Array(key.prefix(2 * pieceKey.utf8.count + 1))) == pieceKey + " " + pieceKey)
      #expect(!key.contains(0x0A) && !key.contains(0x09) && key.first != 0x20 && key.last != 0x20)
    }
  }

  @Test func multilingualCountsNormalizeAndKey() {
    // Odd length so that chunk seams land everywhere relative to the piece;
    // decomposed accents and jamo make the NFC/NFKC chunks do real work.
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
        #expect(out.elementsEqual(repeatElement(expected, count: reps).joined()), "\(form)")
      }
      n.lowercase(buf, into: &out)
      let lowered = Array(lower(piece).utf8)
      #expect(out.elementsEqual(repeatElement(lowered, count: reps).joined()))

      var d = DedupKeyNormalizer()
      d.normalize(buf, into: &out)
      let key = Array(dedupKey(piece).utf8)
      let expectedKey = Array(repeatElement(key, count: reps).joined(separator: [0x20]))
      #expect(out == expectedKey)
    }
  }

  @Test func lowercaseSeamsInTextWithoutSpaces() {
    // 3 MB of Greek letters without a space: the 1 MiB lowercase chunks must
    // cut where no sigma's context crosses the cut (every Σ here is medial).
    let (bytes, reps) = Self.repeated("ΑΒΣΓ", toBytes: 3 << 20)
    var n = TextNormalizer()
    var out: [UInt8] = []
    bytes.withUnsafeBufferPointer { n.lowercase($0, into: &out) }
    #expect(out.elementsEqual(repeatElement(Array("αβσγ".utf8), count: reps).joined()))
    // Final sigmas at every word end across 50 MB.
    let (words, wreps) = Self.repeated("ΟΔΟΣ ΣΟΦΟΣ, ", toBytes: Self.size)
    words.withUnsafeBufferPointer { n.lowercase($0, into: &out) }
    #expect(out.elementsEqual(repeatElement(Array("οδος σοφος, ".utf8), count: wreps).joined()))
  }

  @Test(.enabled(if: Python.available, "python3 not found"))
  func endlessCombiningSequencesMatchPython() throws {
    // A single combining sequence longer than a 4 KiB chunk cannot be split;
    // mixed combining classes must be reordered across the whole run.
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
