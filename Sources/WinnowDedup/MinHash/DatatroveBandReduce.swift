import WinnowCore

/// Band reduce under `keep: datatrove`: the pairs datatrove's `MinhashDedupBuckets` writes, in
/// its order. Its bucket stage merges one band's signatures sorted by the band's values (then
/// by file and document) and pairs each document with the one before it whenever their values
/// are equal: within a group of equal bands, consecutive documents in input order are paired,
/// and groups come in the order of their values. The map sends whole bands to one reduce task
/// each (`MinHashDedup.datatroveBucket`), in band order, as raw-valued entries
/// (`BandTupleRunFile`) that merge into exactly that order; each pair is numbered within its
/// band so that the clustering can replay the unions in datatrove's order.
struct DatatroveBandReduce {
  let owner: MinHashDedup
  let phase: PhaseTask
  var edges: [OrderedDuplicateEdge] = []
  var chunks = 0
  /// Pairs held before a run is written.
  static let pairsPerRun = 1 << 21

  init(_ owner: MinHashDedup, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
  }

  mutating func run() throws(WinnowError) -> RunStats {
    let runs = try phase.files(
      ofPass: 0, suffix: ".tuples", containing: "-b\(pad(phase.task, 4))-",
      fromEveryTask: "minhash_dedup bucket \(phase.task): band tuple runs")
    try phase.prepareDirectory()
    let width = BandTupleRunFile.width(rows: owner.config.rows)
    let merger = try BandTupleMerger(files: runs, width: width)
    var entries = 0
    var previous = [UInt64](repeating: 0, count: width)
    var current = [UInt64](repeating: 0, count: width)
    var sequence: UInt64 = 0
    while try merger.next(into: &current) {
      // Band and values equal (every word but the last, the node): a pair, numbered within
      // its band.
      if entries > 0 && current[0] != previous[0] { sequence = 0 }
      if entries > 0 && current[0..<(width - 1)] == previous[0..<(width - 1)] {
        try add(
          OrderedDuplicateEdge(band: current[0], sequence: sequence, a: previous[width - 1], b: current[width - 1]))
        sequence += 1
      }
      entries += 1
      swap(&previous, &current)
    }
    try flush()
    return MinHashBandReduce.stats(entries: entries, runs: runs.map(\.path))
  }

  mutating func add(_ e: OrderedDuplicateEdge) throws(WinnowError) {
    edges.append(e)
    if edges.count >= Self.pairsPerRun { try flush() }
  }

  /// Writes the pairs found so far as a run, in the order found (which is their sort order);
  /// repeats stay, as datatrove keeps them (a repeated union changes nothing). Every band
  /// task writes at least one run.
  mutating func flush() throws(WinnowError) {
    guard !edges.isEmpty || chunks == 0 else { return }
    try phase.write(&edges, name: "\(phase.name)-c\(pad(chunks, 4)).oedges", sort: false)
    edges.removeAll(keepingCapacity: true)
    chunks += 1
  }
}
