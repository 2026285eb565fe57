import Foundation
import Testing
import WinnowCore
import WinnowTestSupport

@testable import WinnowFeed

@Suite("Megatron datasets and token files")
struct MegatronDatasetTests {
  func write(_ prefix: String, _ docs: [[UInt32]], dtype: MegatronDType = .uint16) throws -> [WrittenFile] {
    let w = try MegatronDatasetWriter(prefix: prefix, dtype: dtype)
    for d in docs { try w.addDocument(d) }
    return try w.finish()
  }

  @Test("the layout megatron-core writes: header, lengths, byte pointers, document indices")
  func layout() throws {
    let dir = try TempDir()
    _ = try write(dir.path + "/x", [[1, 2, 3], [], [7, 8]])
    let idx = readBytes(dir.path + "/x.idx")
    let bin = readBytes(dir.path + "/x.bin")
    var want: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
    func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { want += $0 } }
    le(UInt64(1)); want.append(8); le(UInt64(2)); le(UInt64(4))
    le(Int32(3)); le(Int32(2)); le(Int64(0)); le(Int64(6))
    for v in [0, 1, 1, 2] as [Int64] { le(v) }
    #expect(idx == want)
    #expect(bin == [1, 0, 2, 0, 3, 0, 7, 0, 8, 0])
    let ds = try MegatronDataset(prefix: dir.path + "/x")
    #expect(ds.documentCount == 3 && ds.sequenceCount == 2)
    #expect((0..<3).map { ds.document($0) } == [[1, 2, 3], [], [7, 8]])
  }

  @Test("merging parts equals writing all documents at once; parts are verified")
  func merge() throws {
    let dir = try TempDir()
    var docs: [[UInt32]] = []
    for k in 0..<30 {
      var d: [UInt32] = []
      if k % 7 != 3 {
        for i in 0..<(k % 11 + 1) { d.append(UInt32(i * 100 + k)) }
      }
      docs.append(d)
    }
    let whole = try write(dir.path + "/whole", docs, dtype: .int32)
    var parts: [WrittenFile] = []
    parts += try write(dir.path + "/p0", Array(docs[0..<10]), dtype: .int32)
    parts += try write(dir.path + "/p1", [], dtype: .int32)
    parts += try write(dir.path + "/p2", Array(docs[10..<30]), dtype: .int32)
    try MegatronMerge(into: dir.path + "/merged").merge(parts)
    #expect(readBytes(dir.path + "/merged.bin") == readBytes(whole[0].path))
    #expect(readBytes(dir.path + "/merged.idx") == readBytes(whole[1].path))
    // A part changed after its task recorded it fails the merge, naming it.
    var bytes = readBytes(parts[4].path)
    bytes[0] ^= 1
    try Data(bytes).write(to: URL(fileURLWithPath: parts[4].path))
    do {
      try MegatronMerge(into: dir.path + "/again").merge(parts)
      Issue.record("a damaged part was merged")
    } catch {
      #expect(error.message.contains("p2.bin"))
    }
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/again.idx"))
  }

  @Test("hostile indexes are errors naming the file, never a crash")
  func hostile() throws {
    let dir = try TempDir()
    _ = try write(dir.path + "/ok", [[1, 2], [3]])
    let good = readBytes(dir.path + "/ok.idx")
    func expectRejected(_ bytes: [UInt8], _ what: String) throws {
      try Data(bytes).write(to: URL(fileURLWithPath: dir.path + "/bad.idx"))
      try Data(readBytes(dir.path + "/ok.bin")).write(to: URL(fileURLWithPath: dir.path + "/bad.bin"))
      do {
        _ = try MegatronDataset(prefix: dir.path + "/bad")
        Issue.record("accepted: \(what)")
      } catch {
        #expect(error.message.contains("bad."), "\(what): \(error.message)")
      }
    }
    try expectRejected([], "empty")
    try expectRejected(Array(good.prefix(40)), "truncated")
    var huge = good
    for k in 18..<26 { huge[k] = 0xFF }
    try expectRejected(huge, "a sequence count that overflows")
    var badDtype = good
    badDtype[17] = 6
    try expectRejected(badDtype, "float dtype")
    var badPointer = good
    badPointer[34 + 8 + 8] = 99
    try expectRejected(badPointer, "inconsistent pointer")
    var badDocs = good
    badDocs[good.count - 8] = 9
    try expectRejected(badDocs, "document index past the sequences")
  }

  @Test("flat token files: ids then the end-of-text id per document, uint16 or uint32, sidecar")
  func flat() throws {
    let dir = try TempDir()
    let w = try FlatTokenWriter(prefix: dir.path + "/t", vocabularySize: 70_000, eotID: 69_999, tokenizer: "tok.json")
    try w.addDocument([1, 2])
    try w.addDocument([])
    try w.addDocument([65_536])
    let files = try w.finish()
    #expect(files.count == 2)
    let bin = readBytes(dir.path + "/t.bin")
    #expect(bin.count == 6 * 4)
    let side = try FlatTokenSidecar.read(dir.path + "/t.json")
    #expect(side.dtype == .uint32 && side.documents == 3 && side.tokens == 6 && side.eotID == 69_999)
    let small = try FlatTokenWriter(prefix: dir.path + "/s", vocabularySize: 100, eotID: 0, tokenizer: "tok.json")
    #expect(throws: WinnowError.self) { try small.addDocument([70_000]) }
    small.abort()
  }
}

@Suite("mixture stream")
struct MixtureStreamTests {
  func dataset(_ dir: TempDir, _ name: String, _ docs: [[UInt32]]) throws -> String {
    let w = try MegatronDatasetWriter(prefix: dir.path + "/" + name, dtype: .uint16)
    for d in docs { try w.addDocument(d) }
    _ = try w.finish()
    return dir.path + "/" + name
  }

  @Test("the blend is Megatron's rule and samples pack seq_len + 1 tokens of the dataset's stream")
  func blendAndPacking() throws {
    let dir = try TempDir()
    let a = try dataset(dir, "a", [[1, 2, 3, 4, 5], [6, 7], [8, 9, 10]])
    let b = try dataset(dir, "b", [[100, 101, 102, 103]])
    var config = MixtureConfig(datasets: [.init(path: a, weight: 3), .init(path: b, weight: 1)], sequenceLength: 4)
    config.shuffle = false
    config.totalSamples = 400
    let s = try MixtureStream(config)
    // Megatron's rule by hand.
    var counts = [0, 0]
    let w = [0.75, 0.25]
    for n in 0..<400 {
      let x = Double(max(n, 1))
      let d = w[1] * x - Double(counts[1]) > w[0] * x - Double(counts[0]) ? 1 : 0
      let (got, j) = s.locate(n)
      #expect(got == d && j == counts[d])
      counts[d] += 1
    }
    let streamA: [UInt32] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    // The first sample after 0 that comes from a: Megatron's rule gives sample 1 to b.
    let n1 = (1..<400).first { s.locate($0).dataset == 0 }!
    #expect(s.locate(1).dataset == 1 && n1 == 2)
    let j1 = s.locate(n1).index
    let sample = s.sample(n1)
    #expect(sample == (0..<5).map { streamA[(j1 * 4 + $0) % streamA.count] })
  }

  @Test("any step can be asked for directly; ranks partition the stream")
  func resumeAndRanks() throws {
    let dir = try TempDir()
    var docsA: [[UInt32]] = []
    for k in 0..<50 { docsA.append((0..<(k % 9 + 1)).map { UInt32(k * 10 + $0) }) }
    let a = try dataset(dir, "a", docsA)
    let b = try dataset(dir, "b", (0..<20).map { [UInt32(5000 + $0)] })
    let config = MixtureConfig(datasets: [.init(path: a, weight: 0.6), .init(path: b, weight: 0.4)], sequenceLength: 7)
    let straight = try MixtureStream(config)
    let all = (0..<300).map { straight.sample($0) }
    let other = try MixtureStream(config)
    #expect([250, 3, 117].map { other.sample($0) } == [all[250], all[3], all[117]])
    var merged: [[UInt32]] = Array(repeating: [], count: 300)
    for rank in 0..<3 {
      var shard = try MixtureShard(try MixtureStream(config), shard: rank, shards: 3)
      var buf = [UInt32](repeating: 0, count: 8)
      for _ in 0..<100 {
        let n = shard.globalIndex(shard.step)
        _ = buf.withUnsafeMutableBufferPointer { shard.next(into: $0) }
        merged[n] = buf
      }
    }
    #expect(merged == all)
  }

  @Test("weight updates at step boundaries: earlier samples stay, the log replays, datasets continue")
  func weightUpdates() throws {
    let dir = try TempDir()
    let a = try dataset(dir, "a", (0..<30).map { k in (0..<(k % 5 + 1)).map { UInt32(k * 10 + $0) } })
    let b = try dataset(dir, "b", (0..<20).map { [UInt32(5000 + $0), UInt32(6000 + $0)] })
    let config = MixtureConfig(datasets: [.init(path: a, weight: 0.5), .init(path: b, weight: 0.5)], sequenceLength: 5)
    let live = try MixtureStream(config)
    let head = (0..<100).map { live.sample($0) }
    let bBefore = (0..<100).filter { live.locate($0).dataset == 1 }.count
    try live.update(sample: 100, weights: [0, 1])
    #expect((0..<100).map { live.sample($0) } == head)
    #expect(live.locate(100) == (1, bBefore))
    #expect((102..<200).allSatisfy { live.locate($0).dataset == 1 })
    #expect(live.config.updates == [MixtureConfig.Update(sample: 100, weights: [0, 1])])
    let replay = try MixtureStream(try MixtureConfig.fromJSON(live.config.json()))
    #expect((0..<200).map { replay.sample($0) } == (0..<200).map { live.sample($0) })
    #expect(throws: WinnowError.self) { try live.update(sample: 50, weights: [1, 1]) }
    #expect(throws: WinnowError.self) { try live.update(sample: 300, weights: [1]) }
    #expect(throws: WinnowError.self) { try live.update(sample: 300, weights: [0, 0]) }
  }

  @Test("bad configurations are refused with a reason")
  func errors() throws {
    let dir = try TempDir()
    let a = try dataset(dir, "a", [[1, 2]])
    #expect(throws: WinnowError.self) { try MixtureStream(MixtureConfig(datasets: [], sequenceLength: 4)) }
    #expect(throws: WinnowError.self) { try MixtureStream(MixtureConfig(datasets: [.init(path: a, weight: -1)], sequenceLength: 4)) }
    #expect(throws: WinnowError.self) { try MixtureStream(MixtureConfig(datasets: [.init(path: a, weight: 1)], sequenceLength: 0)) }
    #expect(throws: WinnowError.self) { try MixtureStream(MixtureConfig(datasets: [.init(path: dir.path + "/none", weight: 1)], sequenceLength: 4)) }
    var sched = MixtureConfig(datasets: [.init(path: a, weight: 1)], sequenceLength: 4)
    sched.schedule = [.init(start: 0.5, weights: [1])]
    #expect(throws: WinnowError.self) { try MixtureStream(sched) }
  }
}
