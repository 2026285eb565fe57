import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowDedup

/// `keep: datatrove`: the document kept is the root of datatrove's union-find, which depends
/// on the order of the unions; Tests/parity/minhash_parity.py compares it with datatrove
/// itself, these tests with a small model of datatrove's stages 2 and 3.
@Suite("minhash_dedup keep: datatrove")
struct MinHashKeepDatatroveTests {
  let d = MinHashDedup.descriptor

  func stage(_ params: [String: RawParameter] = [:]) throws -> MinHashDedup {
    let p = try StageParameters.validate(params, against: d.parameters, stage: d.name)
    return try #require(try d.makeGlobal!(p, StageContext()) as? MinHashDedup)
  }

  func datatrove(_ params: [String: RawParameter] = [:]) throws -> MinHashDedup {
    try stage(params.merging(["keep": v("datatrove")]) { a, _ in a })
  }

  func signature(_ text: String, _ config: MinHashConfig = MinHashConfig()) -> [UInt64]? {
    var h = MinHasher(config)
    var t = text
    return t.withUTF8 { h.sign($0) } ? h.signature : nil
  }

  /// The documents datatrove keeps, by index: stage 2 pairs consecutive documents of each
  /// group of equal bands (bands in order, groups by their values, documents in input
  /// order), stage 3 unions the pairs in that order by size (on a tie the first document's
  /// root stays) and keeps every root and every document without a pair.
  func model(_ texts: [String], _ config: MinHashConfig = MinHashConfig()) -> [Int] {
    let sigs = texts.map { signature($0, config) }
    var pairs: [(Int, Int)] = []
    for band in 0..<config.bands {
      var entries: [([UInt64], Int)] = []
      for (k, s) in sigs.enumerated() {
        if let s { entries.append((Array(s[(band * config.rows)..<((band + 1) * config.rows)]), k)) }
      }
      entries.sort { $0.0 != $1.0 ? $0.0.lexicographicallyPrecedes($1.0) : $0.1 < $1.1 }
      for k in entries.indices.dropFirst() where entries[k].0 == entries[k - 1].0 {
        pairs.append((entries[k - 1].1, entries[k].1))
      }
    }
    var parent = Array(texts.indices)
    var size = Array(repeating: 1, count: texts.count)
    func root(_ x: Int) -> Int { parent[x] == x ? x : root(parent[x]) }
    for (a, b) in pairs {
      var ra = root(a)
      var rb = root(b)
      if ra == rb { continue }
      if size[ra] < size[rb] { swap(&ra, &rb) }
      parent[rb] = ra
      size[ra] += size[rb]
    }
    return texts.indices.filter { root($0) == $0 }
  }

  @Test("the root of datatrove's union by size stays, not the first document")
  func keepsTheRoot() throws {
    // B and its copy C agree on every band; A, before them, is an edit of B that agrees with
    // B on some band but not on band 0. Band 0 unions B and C first, so B roots a set of two;
    // A joins it later as a set of one, and B stays the root: datatrove keeps B, not A.
    let b = prose(21)
    let bands = try #require(signature(b))
    let rows = MinHashConfig().rows
    func agrees(_ s: [UInt64], _ band: Int) -> Bool {
      s[(band * rows)..<((band + 1) * rows)] == bands[(band * rows)..<((band + 1) * rows)]
    }
    var a: String?
    search: for every in [40, 30, 25, 20] {
      for offset in 0..<every {
        let t = edited(b, every: every, offset: offset)
        if let s = signature(t), !agrees(s, 0), (1..<14).contains(where: { agrees(s, $0) }) {
          a = t
          break search
        }
      }
    }
    let lines = [
      docLine(id: "A", text: try #require(a)), docLine(id: "B", text: b), docLine(id: "C", text: b.uppercased()),
      docLine(id: "other", text: prose(22)),
    ]
    #expect(try PhaseRun.run(try stage(), [lines]).keptIDs == ["A", "other"])
    for tasks in [1, 2, 4] {
      let r = try PhaseRun.run(try datatrove(), split(lines, into: tasks))
      #expect(r.keptIDs == ["B", "other"], "tasks: \(tasks)")
      #expect(r.reasons == ["A": "near_duplicate", "C": "near_duplicate"])
    }
  }

  /// Runs the passes after map on a map output written by hand: `bands[d][b]` is document d's
  /// band b (two rows), the documents split over map tasks as `split` does.
  func runOnBands(_ bands: [[[UInt64]]], tasks: Int, buckets: Int) throws -> [String] {
    let global = try datatrove(["bands": v("2"), "rows": v("2"), "buckets": v(String(buckets))])
    let lines = bands.indices.map { docLine(id: "n\($0)", text: "text \($0)") }
    // The documents of each task, as `split` cuts the lines.
    let per = (bands.count + tasks - 1) / tasks
    let parts = (0..<tasks).map { k in Array(min(bands.count, k * per)..<min(bands.count, (k + 1) * per)) }
    var r = try PhaseRun()
    r.tasksPerPass = PhaseStore.tasksPerPass(global.passes, inputTasks: tasks)
    for (t, docs) in parts.enumerated() {
      let phase = r.task(0, t)
      try phase.prepareDirectory()
      var perBucket = Array(repeating: [UInt64](), count: buckets)
      for (ordinal, d) in docs.enumerated() {
        for (band, values) in bands[d].enumerated() {
          let node = DocumentNode.make(task: t, ordinal: UInt64(ordinal))
          perBucket[global.datatroveBucket(band)] += [UInt64(band)] + values + [node]
        }
      }
      for (b, words) in perBucket.enumerated() {
        let name = "\(phase.name)-b\(pad(b, 4))-c0000.tuples"
        phase.record(try BandTupleRunFile.write(words, width: 4, to: phase.directory + "/" + name))
      }
      var count = [TaskCount(documents: UInt64(docs.count), signed: UInt64(docs.count))]
      try phase.write(&count, name: phase.name + "-count.run")
      r.recorded(phase)
    }
    try r.middle(global)
    try r.apply(global, split(lines, into: tasks))
    return r.keptIDs
  }

  @Test("groups of one band are unioned in the order of their values, word by word")
  func groupOrderWithinABand() throws {
    // n2 and n3 are a pair in band 0, n1 and n4 another: two sets of two. In band 1, n3 and
    // n4 share the values u, n0 and n1 the values w. u before w: the two sets tie, the first
    // document's root (n2) stays, then n0 joins: n2 is kept. w before u: n0 joins n1's set
    // first, which then outweighs n2's: n1 is kept. datatrove 0.10.1 keeps n2 and n1 (its
    // MinhashDedupBuckets and MinhashDedupCluster on these bands). The values differ in their
    // second word only, which a hash of the band would not order.
    func bands(u: [UInt64], w: [UInt64]) -> [[[UInt64]]] {
      [[[100, 1], w], [[7, 7], w], [[5, 5], [200, 1]], [[5, 5], u], [[7, 7], u]]
    }
    for tasks in [1, 2, 5] {
      for buckets in [1, 2, 3] {
        let setting = "\(tasks) tasks, \(buckets) buckets"
        #expect(try runOnBands(bands(u: [9, 3], w: [9, 8]), tasks: tasks, buckets: buckets) == ["n2"], "\(setting)")
        #expect(try runOnBands(bands(u: [9, 8], w: [9, 3]), tasks: tasks, buckets: buckets) == ["n1"], "\(setting)")
      }
    }
  }

  /// Families of near-duplicates: edits of a few texts at several strengths, interleaved, so
  /// that clusters are chains and stars whose unions come in many orders.
  func families() -> [String] {
    var texts: [String] = []
    for base in 0..<10 {
      let t = prose(100 + base, words: 200)
      texts.append(t)
      for (k, every) in [30, 24, 18, 15, 40, 12].enumerated() {
        texts.append(edited(t, every: every, offset: k * 3 + base))
      }
      texts.append(t + " the end")
    }
    // A fixed shuffle (a stride coprime with the count) so that no family starts with its base.
    return (0..<texts.count).map { texts[($0 * 17 + 5) % texts.count] }
  }

  @Test("the documents kept are the model's for any number of tasks, buckets and runs, byte for byte")
  func matchesTheModel() throws {
    let texts = families()
    #expect(texts.count == 80)
    let lines = texts.enumerated().map { docLine(id: "d\($0.offset)", text: $0.element) }
    let expected = model(texts).map { "d\($0)" }
    let one = try PhaseRun.run(try datatrove(), [lines])
    #expect(one.keptIDs == expected)
    // The case is one where the policies differ.
    #expect(try PhaseRun.run(try stage(), [lines]).keptIDs != expected)
    for tasks in [2, 7] {
      let many = try PhaseRun.run(try datatrove(), split(lines, into: tasks))
      #expect(many.outputLines == one.outputLines, "tasks: \(tasks)")
    }
    // One task of 80 × 14 band entries: two runs per bucket.
    for buckets in ["1", "20"] {
      let global = try datatrove(["buckets": v(buckets), "spill_entries": v("1024")])
      let r = try PhaseRun.run(global, [lines])
      #expect(r.outputLines == one.outputLines, "buckets: \(buckets)")
    }
  }

  @Test("other band settings follow the model too")
  func otherBands() throws {
    let texts = families()
    let lines = texts.enumerated().map { docLine(id: "d\($0.offset)", text: $0.element) }
    var config = MinHashConfig()
    config.bands = 9
    config.rows = 13
    let global = try datatrove(["bands": v("9"), "rows": v("13"), "buckets": v("4")])
    let r = try PhaseRun.run(global, split(lines, into: 3))
    #expect(r.keptIDs == model(texts, config).map { "d\($0)" })
  }

  @Test("mode annotate gives the clusters of keep: first (the same components)")
  func annotate() throws {
    let lines = families().enumerated().map { docLine(id: "d\($0.offset)", text: $0.element) }
    let first = try PhaseRun.run(try stage(["mode": v("annotate")]), split(lines, into: 3))
    let dt = try PhaseRun.run(try datatrove(["mode": v("annotate")]), split(lines, into: 3))
    #expect(dt.outputLines == first.outputLines)
    #expect(dt.outputs.contains { ($0["minhash_cluster_size"] as? Int ?? 0) > 2 })
  }

  @Test("keep: datatrove with the exact check is a usage error")
  func noExactCheck() {
    expectUsageError(["keep: datatrove", "exact check"]) { _ = try datatrove(["exact_check": v("true")]) }
  }

  @Test("a corrupt, truncated or missing band tuple run is an error naming the file")
  func damagedTupleRuns() throws {
    let global = try datatrove()
    let tasks = split(families().enumerated().map { docLine(id: "d\($0.offset)", text: $0.element) }, into: 2)
    var r = try PhaseRun()
    try r.map(global, tasks)
    let runs = r.files(0, ".tuples")
    #expect(runs.count == 2 * 14)
    #expect(r.files(0, ".bands").isEmpty)
    var bytes = readBytes(runs[3])
    bytes[40] ^= 0x55
    try Data(bytes).write(to: URL(fileURLWithPath: runs[3]))
    let corrupt = winnowError { try r.middle(global) }
    #expect(corrupt?.message.contains(runs[3]) == true)
    #expect(corrupt?.message.contains("corrupt") == true)
    try Data(bytes.prefix(bytes.count - 20)).write(to: URL(fileURLWithPath: runs[3]))
    let truncated = winnowError { try r.middle(global) }
    #expect(truncated?.message.contains(runs[3]) == true)
    try FileManager.default.removeItem(atPath: runs[3])
    let missing = winnowError { try r.middle(global) }
    #expect(missing?.message.contains(runs[3]) == true)
    #expect(missing?.message.contains("missing") == true)
  }

  @Test("a damaged ordered pair run is an error naming the file")
  func damagedPairRuns() throws {
    let global = try datatrove()
    let tasks = split(families().enumerated().map { docLine(id: "d\($0.offset)", text: $0.element) }, into: 2)
    var r = try PhaseRun()
    try r.map(global, tasks)
    for t in 0..<14 {
      let band = r.task(1, t)
      _ = try global.runMiddle(band)
      r.recorded(band)
    }
    #expect(r.files(1, ".edges").isEmpty)
    let pairs = r.files(1, ".oedges").filter { readBytes($0).count > 32 }
    let victim = try #require(pairs.first)
    var e = readBytes(victim)
    e[e.count - 9] ^= 0x80
    try Data(e).write(to: URL(fileURLWithPath: victim))
    let err = winnowError { _ = try global.runMiddle(r.task(2, 0)) }
    #expect(err?.message.contains(victim) == true)
    // A run of the other policies' kind under this name is refused by its tag.
    var edges = [DuplicateEdge(a: 1, aPriority: 0, b: 2, bPriority: 0)]
    let swapped = try SortedRunFile.write(&edges, to: victim)
    let kind = winnowError { _ = try SortedRunFile.readAll(swapped, as: OrderedDuplicateEdge.self) }
    #expect(kind?.message.contains("MHOEDGE1") == true)
  }
}
