import WinnowCore

/// A document's place in the run: its map task in the high 24 bits, its position among the
/// documents reaching the stage in that task in the low 40. Tasks take consecutive input
/// files, so the order of nodes is the input order.
package enum DocumentNode {
  package static func make(task: Int, ordinal: UInt64) -> UInt64 { UInt64(task) << 40 | ordinal }
  package static func task(_ node: UInt64) -> Int { Int(node >> 40) }
  package static func ordinal(_ node: UInt64) -> UInt64 { node & ((1 << 40) - 1) }
}

/// Map → band reduce: one band of one document's signature. Documents with equal keys agree
/// on every row of that band. `priority` decides which document of a cluster is kept.
package struct BandEntry: RunRecord {
  package var key: Hash128
  package var node: UInt64
  package var priority: UInt64

  package static var byteSize: Int { 32 }
  package static var tag: String { "MHBAND01" }

  package init(key: Hash128, node: UInt64, priority: UInt64) {
    self.key = key
    self.node = node
    self.priority = priority
  }

  package func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: key.high.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: key.low.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: node.littleEndian, as: UInt64.self)
    (p + 24).storeBytes(of: priority.littleEndian, as: UInt64.self)
  }

  package init(loadingFrom p: UnsafeRawPointer) {
    key = Hash128(
      low: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian,
      high: p.loadUnaligned(as: UInt64.self).littleEndian)
    node = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
    priority = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
  }

  package static func < (x: BandEntry, y: BandEntry) -> Bool {
    if x.key.high != y.key.high { return x.key.high < y.key.high }
    if x.key.low != y.key.low { return x.key.low < y.key.low }
    if x.node != y.node { return x.node < y.node }
    return x.priority < y.priority
  }
}

/// Band reduce → cluster: two documents found to be near-duplicates, with their priorities.
package struct DuplicateEdge: RunRecord {
  package var a: UInt64
  package var aPriority: UInt64
  package var b: UInt64
  package var bPriority: UInt64

  package static var byteSize: Int { 32 }
  package static var tag: String { "MHEDGE01" }

  package init(a: UInt64, aPriority: UInt64, b: UInt64, bPriority: UInt64) {
    self.a = a
    self.aPriority = aPriority
    self.b = b
    self.bPriority = bPriority
  }

  package func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: a.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: aPriority.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: b.littleEndian, as: UInt64.self)
    (p + 24).storeBytes(of: bPriority.littleEndian, as: UInt64.self)
  }

  package init(loadingFrom p: UnsafeRawPointer) {
    a = p.loadUnaligned(as: UInt64.self).littleEndian
    aPriority = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
    b = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
    bPriority = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
  }

  package static func < (x: DuplicateEdge, y: DuplicateEdge) -> Bool { (x.a, x.b) < (y.a, y.b) }
  package static func == (x: DuplicateEdge, y: DuplicateEdge) -> Bool { x.a == y.a && x.b == y.b }
}

/// Band reduce → cluster under `keep: datatrove`: two consecutive documents of a group of
/// equal bands, as datatrove's `MinhashDedupBuckets` writes them, with their place in its
/// order: the band, then `sequence`, which counts the band's pairs in the order of its groups'
/// values (a band is never split over reduce tasks). The clustering replays the unions in
/// that order, because datatrove's union by size makes the root, the document it keeps,
/// depend on it. `a` comes before `b` in input order.
package struct OrderedDuplicateEdge: RunRecord {
  package var band: UInt64
  package var sequence: UInt64
  package var a: UInt64
  package var b: UInt64

  package static var byteSize: Int { 32 }
  package static var tag: String { "MHOEDGE1" }

  package init(band: UInt64, sequence: UInt64, a: UInt64, b: UInt64) {
    self.band = band
    self.sequence = sequence
    self.a = a
    self.b = b
  }

  package func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: band.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: sequence.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: a.littleEndian, as: UInt64.self)
    (p + 24).storeBytes(of: b.littleEndian, as: UInt64.self)
  }

  package init(loadingFrom p: UnsafeRawPointer) {
    band = p.loadUnaligned(as: UInt64.self).littleEndian
    sequence = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
    a = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
    b = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
  }

  package static func < (x: OrderedDuplicateEdge, y: OrderedDuplicateEdge) -> Bool {
    (x.band, x.sequence) < (y.band, y.sequence)
  }
}

/// Cluster → apply: a document of a cluster, by its position in its task. `cluster` is the
/// input position of the cluster's first document (the same for any number of tasks).
package struct ClusterMark: RunRecord {
  package var ordinal: UInt64
  package var cluster: UInt64
  package var size: UInt64
  /// 1 when the document is to be dropped (every member but the one kept).
  package var duplicate: UInt64

  package static var byteSize: Int { 32 }
  package static var tag: String { "MHMARK01" }

  package init(ordinal: UInt64, cluster: UInt64, size: UInt64, duplicate: Bool) {
    self.ordinal = ordinal
    self.cluster = cluster
    self.size = size
    self.duplicate = duplicate ? 1 : 0
  }

  package func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: ordinal.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: cluster.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: size.littleEndian, as: UInt64.self)
    (p + 24).storeBytes(of: duplicate.littleEndian, as: UInt64.self)
  }

  package init(loadingFrom p: UnsafeRawPointer) {
    ordinal = p.loadUnaligned(as: UInt64.self).littleEndian
    cluster = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
    size = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
    duplicate = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
  }

  package static func < (x: ClusterMark, y: ClusterMark) -> Bool { x.ordinal < y.ordinal }
}

/// Map → later passes: how many documents reached the stage in a map task (to turn positions
/// within tasks into input positions), and how many had a signature.
package struct TaskCount: RunRecord {
  package var documents: UInt64
  package var signed: UInt64

  package static var byteSize: Int { 16 }
  package static var tag: String { "TASKCNT1" }

  package init(documents: UInt64, signed: UInt64) {
    self.documents = documents
    self.signed = signed
  }

  package func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: documents.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: signed.littleEndian, as: UInt64.self)
  }

  package init(loadingFrom p: UnsafeRawPointer) {
    documents = p.loadUnaligned(as: UInt64.self).littleEndian
    signed = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
  }

  package static func < (x: TaskCount, y: TaskCount) -> Bool { x.documents < y.documents }
}
