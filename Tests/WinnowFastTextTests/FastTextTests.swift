import Foundation
import Testing

@testable import WinnowFastText

@Suite("fastText reading and tokens")
struct FastTextTests {
  func lines(_ bytes: [UInt8]) -> [[String]] {
    var r = FastTextLineReader(bytes)
    var out: [[String]] = []
    while !r.atEnd { out.append(r.nextLine().map { String(decoding: $0, as: UTF8.self) }) }
    return out
  }

  @Test("lines end in </s>; the last line without a newline does not; separators are seven bytes")
  func lineReader() {
    #expect(lines(Array("a b\nc\td\r\n".utf8)) == [["a", "b", "</s>"], ["c", "d", "</s>"]])
    #expect(lines(Array("a b".utf8)) == [["a", "b"]])
    #expect(lines(Array("\n\n".utf8)) == [["</s>"], ["</s>"]])
    #expect(lines([0x61, 0x00, 0x62, 0x0B, 0x63, 0x0C, 0x0A]) == [["a", "b", "c", "</s>"]])
    #expect(lines(Array("x </s> y\n".utf8)) == [["x", "</s>"], ["y", "</s>"]])
    #expect(lines([]) == [])
    // Bytes, not characters: invalid UTF-8 stays as it is.
    var r = FastTextLineReader([0x63, 0xE9, 0x20, 0x80])
    #expect(r.nextLine() == [[0x63, 0xE9], [0x80]])
  }

  @Test("the hash is FNV-1a with sign-extended bytes")
  func hash() {
    // ASCII: standard FNV-1a ("a" = 0xE40C292C).
    #expect(FastTextDictionary.hash(Array("a".utf8)) == 0xE40C_292C)
    // A byte >= 0x80 is xor-ed as 0xFFFFFFxx.
    let byte: UInt8 = 0xE9
    let expected = (2_166_136_261 ^ (0xFFFF_FF00 | UInt32(byte))) &* 16_777_619
    #expect(FastTextDictionary.hash([byte]) == expected)
  }

  @Test("the heap keeps libstdc++'s order of ties")
  func heapOrder() {
    // push then sort_heap with the comparator a.score > b.score, as fastText does.
    var h: [(Float, Int)] = []
    for (k, s) in [Float(0.5), 0.5, 0.25, 0.5, 0.75, 0.25].enumerated() {
      h.append((s, k))
      Heap.push(&h)
    }
    Heap.sort(&h)
    #expect(h.map(\.0) == [0.75, 0.5, 0.5, 0.5, 0.25, 0.25])
    // Ties come out in heap order, not by index: the exact order is libstdc++'s.
    #expect(Set(h[1...3].map(\.1)) == [0, 1, 3])
  }

  @Test("a file that is not a model, or is cut short, is an error naming it")
  func badFiles() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-ft-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let junk = dir.appendingPathComponent("junk.bin").path
    try Data("not a model at all".utf8).write(to: URL(fileURLWithPath: junk))
    #expect(throws: FastTextError.self) { try FastTextModel.load(path: junk) }
    do {
      _ = try FastTextModel.load(path: junk)
    } catch {
      #expect(error.message.contains(junk))
      #expect(error.message.contains("magic"))
    }
    // Magic and version, then nothing.
    let cut = dir.appendingPathComponent("cut.bin").path
    try Data([0xBA, 0x16, 0x4F, 0x2F, 12, 0, 0, 0, 16, 0]).write(to: URL(fileURLWithPath: cut))
    do {
      _ = try FastTextModel.load(path: cut)
      Issue.record("a truncated model loaded")
    } catch {
      #expect(error.message.contains("truncated"))
    }
    #expect(throws: FastTextError.self) { try FastTextModel.load(path: dir.appendingPathComponent("missing.bin").path) }
  }

  @Test("a pruned model's flat table of kept buckets answers as the dictionary it is built from")
  func prunedRows() {
    var rng = SystemRandomNumberGenerator()
    for size in [0, 1, 7, 16, 1000] {
      var index: [Int32: Int32] = [:]
      while index.count < size { index[Int32.random(in: 0..<2_000_000, using: &rng)] = Int32(index.count) }
      let table = PrunedRows(index)
      for (k, v) in index { #expect(table[k] == v) }
      for _ in 0..<1000 {
        let k = Int32.random(in: 0..<2_000_000, using: &rng)
        #expect(table[k] == index[k])
      }
    }
  }

  @Test("the char n-gram bucket by multiplication is x % d for every 32-bit x and d")
  func bucketModulus() {
    var rng = SystemRandomNumberGenerator()
    var divisors: [UInt32] = [1, 2, 3, 7, 10, 1 << 16, 200_000, 2_000_000, 10_000_000, UInt32(Int32.max), 1 << 31, UInt32.max - 1, UInt32.max]
    for _ in 0..<200 { divisors.append(UInt32.random(in: 1...UInt32.max, using: &rng)) }
    for d in divisors {
      let m = BucketModulus(d)
      var xs: [UInt32] = [0, 1, d - 1, d, d &+ 1, d &* 2, UInt32.max, UInt32.max - 1, UInt32(Int32.max)]
      for _ in 0..<2000 { xs.append(UInt32.random(in: 0...UInt32.max, using: &rng)) }
      var wrong = 0
      for x in xs where m.remainder(x) != x % d { wrong += 1 }
      #expect(wrong == 0, "\(wrong) wrong remainders for divisor \(d)")
    }
  }
}
