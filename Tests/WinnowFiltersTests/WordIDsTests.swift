import Testing

@testable import WinnowCore
@testable import WinnowFilters

/// `WordIDs` works out each distinct word's facts (byte hash, code points, whether it holds a
/// space) several bytes at a time; these tests hold them to a byte-by-byte reference for words
/// of every length up to 20 bytes, at every distance from the end of the text (where whole
/// words of memory cannot be read).
@Suite("WordIDs: per-word facts")
struct WordIDsTests {
  /// The byte hash, code points and spaces of `bytes`, one byte at a time.
  static func reference(_ bytes: ArraySlice<UInt8>) -> (hash: UInt64, chars: Int, spaces: Bool) {
    var h: UInt64 = 0
    var chars = 0
    var spaces = false
    for b in bytes {
      h = h &* RollingHash.base &+ UInt64(b) &+ 1
      if b & 0xC0 != 0x80 { chars += 1 }
      if b == 0x20 { spaces = true }
    }
    return (h, chars, spaces)
  }

  @Test("hash, code points and spaces of each distinct word equal the byte-by-byte reference")
  func factsMatchReference() {
    // Letters, two- to four-byte scalars and spaces, in a deterministic mix.
    let pieces: [[UInt8]] = [Array("a".utf8), Array("Z".utf8), Array("é".utf8), Array("ж".utf8), Array("猫".utf8),
      Array("😀".utf8), Array(" ".utf8), Array("-".utf8)]
    var state: UInt64 = 7
    var text: [UInt8] = []
    var words: [Range<Int>] = []
    for length in 1...20 {
      for variant in 0..<6 {
        var word: [UInt8] = []
        while word.count < length {
          state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
          // Every third word without spaces, so that both answers occur for every length.
          var piece = pieces[Int(state >> 33) % pieces.count]
          if variant % 3 == 0 && piece == [0x20] { piece = [0x62] }
          word += piece
        }
        let start = text.count
        text += word
        words.append(start..<text.count)
        // A space after the word: never part of it.
        text.append(0x20)
      }
    }
    // The same words again at the very end of a text, where fewer than eight bytes follow.
    var tail = text
    tail.removeLast()
    for cut in [0, 1, 3, 7] {
      let body = Array(tail.prefix(words.last!.upperBound + min(cut, tail.count - words.last!.upperBound)))
      body.withUnsafeBufferPointer { buf in
        var ids = WordIDs<UInt32>()
        defer { ids.free() }
        let used = words.filter { $0.upperBound <= body.count }
        ids.load(buf.baseAddress!, words: used)
        let view = ids.view
        var seen: [ArraySlice<UInt8>: Int] = [:]
        var anySpaces = false
        for r in used where seen[body[r]] == nil { seen[body[r]] = seen.count }
        #expect(view.distinct == seen.count)
        for (bytes, k) in seen {
          let want = Self.reference(bytes)
          #expect(view.hash[k] == want.hash, "\(Array(bytes))")
          #expect(view.charsOf(id: k) == want.chars, "\(Array(bytes))")
          anySpaces = anySpaces || want.spaces
        }
        #expect(view.wordsHaveSpaces == anySpaces)
      }
    }
    // Words followed by spaces but holding none: no spaces found.
    let plain = Array("ab cd ef gh ij kl mn op qr st uv wx yz".utf8)
    plain.withUnsafeBufferPointer { buf in
      var ids = WordIDs<UInt32>()
      defer { ids.free() }
      ids.load(buf.baseAddress!, words: stride(from: 0, to: plain.count, by: 3).map { $0..<($0 + 2) })
      #expect(!ids.view.wordsHaveSpaces)
      #expect(ids.view.distinct == 13)
    }
  }
}
