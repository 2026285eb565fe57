import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowDedup

/// Intermediate files are read by later passes, maybe on another machine, maybe after someone
/// touched them: every size in them is checked against the file and the record before it is
/// used, and a file that is not the one recorded is an error naming it.
@Suite("hostile and stale intermediate files")
struct HostileRunFileTests {
  func entries(_ n: Int) -> [PhaseEntry] {
    (0..<n).map { PhaseEntry(key: Hash128(low: UInt64($0), high: UInt64($0 * 7)), task: 0, ordinal: UInt64($0)) }
  }

  func readAll(_ path: String) -> WinnowError? {
    winnowError { _ = try SortedRunFile.readAll(path, as: PhaseEntry.self) }
  }

  @Test("a record count that does not fit the file is refused before anything is read")
  func recordCountChecked() throws {
    let dir = try TempDir()
    var e = entries(10)
    let path = dir.path + "/r.run"
    try SortedRunFile.write(&e, to: path)
    var bytes = readBytes(path)
    for count: UInt64 in [11, 9, 1 << 60, UInt64.max, UInt64.max / 32 + 1] {
      withUnsafeBytes(of: count.littleEndian) { for k in 0..<8 { bytes[16 + k] = $0[k] } }
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let error = readAll(path)
      #expect(error?.message.contains(path) == true, "count \(count)")
      #expect(error?.message.contains("truncated or corrupt") == true, "count \(count): \(error?.message ?? "accepted")")
    }
  }

  @Test("every truncation and a sample of byte flips of a run file are errors, never wrong records")
  func truncationsAndFlips() throws {
    let dir = try TempDir()
    var e = entries(20)
    let path = dir.path + "/r.run"
    try SortedRunFile.write(&e, to: path)
    let good = readBytes(path)
    let mutated = dir.path + "/m.run"
    for n in 0..<good.count {
      try Data(good.prefix(n)).write(to: URL(fileURLWithPath: mutated))
      #expect(readAll(mutated) != nil, "a prefix of \(n) bytes was accepted")
    }
    for k in stride(from: 0, to: good.count, by: 7) {
      var b = good
      b[k] ^= 0x10
      try Data(b).write(to: URL(fileURLWithPath: mutated))
      #expect(readAll(mutated) != nil, "a flip at byte \(k) was accepted")
    }
  }

  @Test("a valid run file that is not the recorded one (stale, swapped) is refused")
  func staleFileRefused() throws {
    let dir = try TempDir()
    var a = entries(5)
    var b = entries(6)
    let path = dir.path + "/r.run"
    let recorded = try SortedRunFile.write(&a, to: path)
    #expect(try SortedRunFile.readAll(recorded, as: PhaseEntry.self).count == 5)
    try SortedRunFile.write(&b, to: path)
    let e = winnowError { _ = try SortedRunFile.readAll(recorded, as: PhaseEntry.self) }
    #expect(e?.message.contains("bytes") == true)
    // Same size, other records: only the checksum can tell.
    var c = entries(5).map { PhaseEntry(key: $0.key, task: 1, ordinal: $0.ordinal) }
    try SortedRunFile.write(&c, to: path)
    let swapped = winnowError { _ = try SortedRunFile.readAll(recorded, as: PhaseEntry.self) }
    #expect(swapped?.message.contains("not the one its task wrote") == true)
  }

  @Test("a pass hands out only recorded files: missing, resized and unrecorded files are errors naming them")
  func manifestChecked() throws {
    let dir = try TempDir()
    let root = dir.path + "/phase"
    let map = PhaseTask(pass: 0, task: 0, tasksPerPass: [1, 1, 1], root: root)
    try map.prepareDirectory()
    var e = entries(3)
    try map.write(&e, name: "p0-t00000-b0000-c0000.run")
    try map.write(&e, name: "p0-t00000-b0000-c0001.run")
    let reduce = PhaseTask(pass: 1, task: 0, tasksPerPass: [1, 1, 1], root: root, manifest: [0: map.written.files])
    #expect(try reduce.files(ofPass: 0, suffix: ".run").count == 2)
    // An unrecorded file of the same kind.
    try Data(readBytes(root + "/p0/p0-t00000-b0000-c0000.run")).write(to: URL(fileURLWithPath: root + "/p0/p0-t00000-b0000-c0002.run"))
    let extra = winnowError { _ = try reduce.files(ofPass: 0, suffix: ".run") }
    #expect(extra?.message.contains("c0002.run") == true && extra?.message.contains("no task of pass 0 recorded") == true)
    try FileManager.default.removeItem(atPath: root + "/p0/p0-t00000-b0000-c0002.run")
    // A recorded file gone.
    try FileManager.default.removeItem(atPath: root + "/p0/p0-t00000-b0000-c0001.run")
    let missing = winnowError { _ = try reduce.files(ofPass: 0, suffix: ".run") }
    #expect(missing?.message.contains("c0001.run: missing") == true)
    // A recorded file of another size.
    var more = entries(4)
    try SortedRunFile.write(&more, to: root + "/p0/p0-t00000-b0000-c0001.run")
    let resized = winnowError { _ = try reduce.files(ofPass: 0, suffix: ".run") }
    #expect(resized?.message.contains("bytes") == true)
  }

  /// Band tuple entries of width 4 (bands of two values), unsorted.
  func tuples(_ n: Int) -> [UInt64] {
    var words: [UInt64] = []
    for k in 0..<n {
      let band = UInt64(k % 3)
      let first = UInt64((k * 7919) % 13)
      words += [band, first, UInt64(k % 5), UInt64(k)]
    }
    return words
  }

  func readTuples(_ path: String, width: Int = 4) -> WinnowError? {
    winnowError {
      let r = try BandTupleRunReader(path: path, width: width)
      while try r.next() {}
    }
  }

  @Test("band tuple runs: sorted by every word in turn, and read back as written")
  func bandTuplesRoundTrip() throws {
    let dir = try TempDir()
    let path = dir.path + "/t.tuples"
    let recorded = try BandTupleRunFile.write(tuples(50), width: 4, to: path)
    let r = try BandTupleRunReader(file: recorded, width: 4)
    var got: [[UInt64]] = []
    while try r.next() { got.append(r.entry) }
    let want = stride(from: 0, to: 200, by: 4).map { Array(tuples(50)[$0..<($0 + 4)]) }.sorted { $0.lexicographicallyPrecedes($1) }
    #expect(got == want)
    // Two runs merge into one sorted stream.
    let second = try BandTupleRunFile.write(tuples(7).map { $0 + 1 }, width: 4, to: dir.path + "/u.tuples")
    let merger = try BandTupleMerger(files: [recorded, second], width: 4)
    var merged: [[UInt64]] = []
    var e: [UInt64] = []
    while try merger.next(into: &e) { merged.append(e) }
    #expect(merged.count == 57)
    #expect(zip(merged, merged.dropFirst()).allSatisfy { !$1.lexicographicallyPrecedes($0) })
    // An empty run.
    let empty = try BandTupleRunFile.write([], width: 4, to: dir.path + "/e.tuples")
    #expect(try BandTupleRunReader(file: empty, width: 4).next() == false)
  }

  @Test("band tuple runs: a count or width that does not fit the file, and another kind, are refused")
  func bandTupleHeaderChecked() throws {
    let dir = try TempDir()
    let path = dir.path + "/t.tuples"
    _ = try BandTupleRunFile.write(tuples(10), width: 4, to: path)
    let good = readBytes(path)
    for count: UInt64 in [11, 9, 1 << 60, UInt64.max, UInt64.max / 32 + 1] {
      var bytes = good
      withUnsafeBytes(of: count.littleEndian) { for k in 0..<8 { bytes[24 + k] = $0[k] } }
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let error = readTuples(path)
      #expect(error?.message.contains(path) == true, "count \(count)")
      #expect(error?.message.contains("truncated or corrupt") == true, "count \(count): \(error?.message ?? "accepted")")
    }
    try Data(good).write(to: URL(fileURLWithPath: path))
    #expect(readTuples(path) == nil)
    #expect(readTuples(path, width: 5)?.message.contains("entries of 4 words, expected 5") == true)
    var other = good
    other[8] = UInt8(ascii: "X")
    try Data(other).write(to: URL(fileURLWithPath: path))
    #expect(readTuples(path)?.message.contains("expected 'MHTUPLE1'") == true)
    var e = entries(3)
    try SortedRunFile.write(&e, to: path)
    #expect(readTuples(path)?.message.contains("not a Winnow band tuple run") == true)
  }

  @Test("band tuple runs: every truncation and a sample of byte flips are errors, a stale file too")
  func bandTupleDamage() throws {
    let dir = try TempDir()
    let path = dir.path + "/t.tuples"
    let recorded = try BandTupleRunFile.write(tuples(20), width: 4, to: path)
    let good = readBytes(path)
    let mutated = dir.path + "/m.tuples"
    for n in 0..<good.count {
      try Data(good.prefix(n)).write(to: URL(fileURLWithPath: mutated))
      #expect(readTuples(mutated) != nil, "a prefix of \(n) bytes was accepted")
    }
    for k in stride(from: 0, to: good.count, by: 5) {
      var b = good
      b[k] ^= 0x10
      try Data(b).write(to: URL(fileURLWithPath: mutated))
      #expect(readTuples(mutated) != nil, "a flip at byte \(k) was accepted")
    }
    // A valid run of the same size that is not the recorded one.
    _ = try BandTupleRunFile.write(tuples(20).map { $0 ^ 1 }, width: 4, to: path)
    let stale = winnowError {
      let r = try BandTupleRunReader(file: recorded, width: 4)
      while try r.next() {}
    }
    #expect(stale?.message.contains("not the one its task wrote") == true)
  }

  @Test("a shingle store whose index points outside the file is refused")
  func shingleIndexChecked() throws {
    let dir = try TempDir()
    let path = dir.path + "/s.bin"
    let w = try ShingleStoreWriter(path: path)
    try w.add(ordinal: 0, shingles: [1, 2, 3])
    try w.add(ordinal: 1, shingles: [4, 5])
    let recorded = try w.finish()
    var out: [UInt64] = []
    let r = try ShingleStoreReader(file: recorded)
    try r.shingles(1, into: &out)
    #expect(out == [4, 5])
    // Rewrite entry 1's count to 2^61 and fix the index checksum, as a crafted file would.
    var bytes = readBytes(path)
    let n = 2
    let indexStart = bytes.count - 16 - n * 32
    let countOffset = indexStart + 32 + 16
    withUnsafeBytes(of: (UInt64(1) << 61).littleEndian) { for k in 0..<8 { bytes[countOffset + k] = $0[k] } }
    let sum = bytes[indexStart..<(indexStart + n * 32)].withUnsafeBytes { XXH3.hash64(UnsafeBufferPointer(start: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: $0.count)) }
    withUnsafeBytes(of: sum.littleEndian) { for k in 0..<8 { bytes[bytes.count - 8 + k] = $0[k] } }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let e = winnowError { _ = try ShingleStoreReader(path: path) }
    #expect(e?.message.contains("outside the file") == true, "\(e?.message ?? "accepted")")
    // And through its record, the changed file is not the one written.
    let stale = winnowError { _ = try ShingleStoreReader(file: recorded) }
    #expect(stale?.message.contains(path) == true)
  }

  @Test("a saved Bloom filter with impossible header fields is refused, naming the field")
  func bloomHeaderChecked() throws {
    let dir = try TempDir()
    let path = dir.path + "/f.bloom"
    var f = BloomFilter(expectedItems: 100, falsePositiveRate: 0.01)
    f.insert(Hash128(low: 1, high: 2))
    try f.save(to: path)
    #expect(try BloomFilter.load(from: path).contains(Hash128(low: 1, high: 2)))
    let good = readBytes(path)
    func withField(_ offset: Int, _ value: UInt64) throws -> WinnowError? {
      var b = good
      withUnsafeBytes(of: value.littleEndian) { for k in 0..<8 { b[offset + k] = $0[k] } }
      let sum = b.withUnsafeBufferPointer { XXH3.hash64(UnsafeBufferPointer(rebasing: $0[0..<(b.count - 8)])) }
      withUnsafeBytes(of: sum.littleEndian) { for k in 0..<8 { b[b.count - 8 + k] = $0[k] } }
      try Data(b).write(to: URL(fileURLWithPath: path))
      return winnowError { _ = try BloomFilter.load(from: path) }
    }
    // words: wrapped multiplications must not line up with the file size.
    for words: UInt64 in [0, 1 << 61, (1 << 61) + 1, UInt64.max] {
      #expect(try withField(8, words)?.message.contains("words") == true, "words \(words)")
    }
    for probes: UInt64 in [0, 65, UInt64.max] {
      #expect(try withField(16, probes)?.message.contains("probes") == true, "probes \(probes)")
    }
    #expect(try withField(32, Double.nan.bitPattern)?.message.contains("false_positive_rate") == true)
  }

  @Test("a filter too large for this machine is a usage error, not an abort")
  func bloomTooLarge() {
    let d = BloomDedup.descriptor
    let e = winnowError {
      _ = try build(d, ["expected_items": v("1000000000000"), "false_positive_rate": v("1e-12")])
    }
    #expect(e?.kind == .usage)
    #expect(e?.message.contains("needs a filter of") == true)
    #expect(BloomFilter.bytesNeeded(expectedItems: 1_000_000, falsePositiveRate: 0.001) == BloomFilter(expectedItems: 1_000_000, falsePositiveRate: 0.001).bits.count * 8)
  }

  @Test("in pipes a bad filter file fails when the stage is built, not at the first document")
  func bloomLoadAtBuild() throws {
    let dir = try TempDir()
    let bad = try dir.write("bad.bloom", Array("not a filter".utf8))
    let e = winnowError { _ = try build(BloomDedup.descriptor, ["load": v(bad)]) }
    #expect(e?.message.contains(bad) == true)
    // In a recipe, save naming the loaded filter is refused: running it again would start from
    // another filter and give another answer.
    let d = BloomDedup.descriptor
    let p = try StageParameters.validate(["load": v(bad), "save": v(bad)], against: d.parameters, stage: d.name)
    let same = winnowError { _ = try d.makeGlobal!(p, StageContext()) }
    #expect(same?.message.contains("save names the filter given as load") == true)
  }
}
