import Testing
import WinnowText

@Suite struct UTF8BytesTests {
  func scalars(_ bytes: [UInt8]) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    bytes.withUnsafeBufferPointer { buf in UTF8Bytes.forEachScalar(in: buf) { s, _ in out.append(s) } }
    return out
  }

  @Test func decodesLikeTheStandardLibrary() {
    // Well-formed text of every length class, and ill-formed sequences whose
    // U+FFFD substitution must follow the maximal-subpart rule as Swift does.
    let cases: [[UInt8]] = [
      Array("plain ascii, then é, 日本, 😀 and 𝄞".utf8),
      [0x80], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
      [0xE2, 0x82], [0xE2, 0x82, 0x41], [0xF0, 0x9F, 0x98], [0xF0, 0x9F, 0x98, 0x41], [0xFF, 0xFE],
      [0x61, 0xF5, 0x62], [0xC2], [0xC2, 0xC2, 0xA0], Array("abcdefgh".utf8) + [0xE9] + Array("ijklmnop".utf8),
    ]
    for bytes in cases {
      let expected = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
      #expect(scalars(bytes) == expected, "\(bytes)")
    }
  }

  @Test func randomBytesDecodeLikeTheStandardLibrary() {
    var rng = SplitMix(seed: 3)
    let alphabet: [UInt8] = [
      0x41, 0x20, 0x80, 0x9F, 0xA0, 0xBF, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5,
    ]
    for _ in 0..<20_000 {
      let bytes = (0..<Int(rng.next() % 20)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
      #expect(scalars(bytes) == Array(String(decoding: bytes, as: UTF8.self).unicodeScalars), "\(bytes)")
    }
  }

  @Test func offsetsAndLengths() {
    let bytes = Array("aé日😀".utf8)
    var offsets: [Int] = []
    bytes.withUnsafeBufferPointer { buf in
      UTF8Bytes.forEachScalar(in: buf) { _, i in offsets.append(i) }
      #expect(UTF8Bytes.decode(buf, at: 1).length == 2)
      #expect(UTF8Bytes.decode(buf, at: 3).length == 3)
      #expect(UTF8Bytes.decode(buf, at: 6) == ("😀", 4))
    }
    #expect(offsets == [0, 1, 3, 6])
  }

  @Test func asciiPrefix() {
    for n in 0..<40 {
      for k in 0...n {
        var bytes = [UInt8](repeating: 0x61, count: n)
        if k < n { bytes[k] = 0xC3 }
        bytes.withUnsafeBufferPointer { buf in
          #expect(UTF8Bytes.asciiPrefixLength(buf) == k)
          #expect(UTF8Bytes.isASCII(buf) == (k == n))
        }
      }
    }
  }

  @Test func concurrentUseFromManyTasks() async {
    // The shim builds its lookup tables on first use; several threads may
    // race into that. Every task must see complete tables.
    let text = "Größe ＦＵＬＬ ΟΔΟΣ İ e\u{301} 日本語\u{3000}text "
    let expected = dedupKey(text)
    await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<8 {
        group.addTask {
          var d = DedupKeyNormalizer()
          var out: [UInt8] = []
          var ok = true
          for _ in 0..<200 {
            withUTF8(text) { d.normalize($0, into: &out) }
            ok = ok && string(out) == expected
          }
          return ok
        }
      }
      for await ok in group { #expect(ok) }
    }
  }
}
