import WinnowCore

/// A document's place in the run: its map task in the high 24 bits, its position among the
/// documents reaching the stage in that task in the low 40. Tasks take consecutive input
/// files, so the order of nodes is the input order.
public enum DocumentNode {
  public static func make(task: Int, ordinal: UInt64) -> UInt64 { UInt64(task) << 40 | ordinal }
  public static func task(_ node: UInt64) -> Int { Int(node >> 40) }
  public static func ordinal(_ node: UInt64) -> UInt64 { node & ((1 << 40) - 1) }
}

/// Map → band reduce: one band of one document's signature. Documents with equal keys agree
/// on every row of that band. `priority` decides which document of a cluster is kept.
public struct BandEntry: RunRecord {
  public var key: Hash128
  public var node: UInt64
  public var priority: UInt64

  public static var byteSize: Int { 32 }
  public static var tag: String { "MHBAND01" }

  public init(key: Hash128, node: UInt64, priority: UInt64) {
    self.key = key
    self.node = node
    self.priority = priority
  }

  public func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: key.high.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: key.low.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: node.littleEndian, as: UInt64.self)
    (p + 24).storeBytes(of: priority.littleEndian, as: UInt64.self)
  }

  public init(loadingFrom p: UnsafeRawPointer) {
    key = Hash128(
      low: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian,
      high: p.loadUnaligned(as: UInt64.self).littleEndian)
    node = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
    priority = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
  }

  public static func < (x: BandEntry, y: BandEntry) -> Bool {
    if x.key.high != y.key.high { return x.key.high < y.key.high }
    if x.key.low != y.key.low { return x.key.low < y.key.low }
    if x.node != y.node { return x.node < y.node }
    return x.priority < y.priority
  }
}

/// Band reduce → cluster: two documents found to be near-duplicates, with their priorities.
public struct DuplicateEdge: RunRecord {
  public var a: UInt64
  public var aPriority: UInt64
  public var b: UInt64
  public var bPriority: UInt64

  public static var byteSize: Int { 32 }
  public static var tag: String { "MHEDGE01" }

  public init(a: UInt64, aPriority: UInt64, b: UInt64, bPriority: UInt64) {
    self.a = a
    self.aPriority = aPriority
    self.b = b
    self.bPriority = bPriority
  }

  public func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: a.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: aPriority.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: b.littleEndian, as: UInt64.self)
    (p + 24).storeBytes(of: bPriority.littleEndian, as: UInt64.self)
  }

  public init(loadingFrom p: UnsafeRawPointer) {
    a = p.loadUnaligned(as: UInt64.self).littleEndian
    aPriority = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
    b = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
    bPriority = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
  }

  public static func < (x: DuplicateEdge, y: DuplicateEdge) -> Bool { (x.a, x.b) < (y.a, y.b) }
  public static func == (x: DuplicateEdge, y: DuplicateEdge) -> Bool { x.a == y.a && x.b == y.b }
}

/// Cluster → apply: a document of a cluster, by its position in its task. `cluster` is the
/// input position of the cluster's first document (the same for any number of tasks).
public struct ClusterMark: RunRecord {
  public var ordinal: UInt64
  public var cluster: UInt64
  public var size: UInt64
  /// 1 when the document is to be dropped (every member but the one kept).
  public var duplicate: UInt64

  public static var byteSize: Int { 32 }
  public static var tag: String { "MHMARK01" }

  public init(ordinal: UInt64, cluster: UInt64, size: UInt64, duplicate: Bool) {
    self.ordinal = ordinal
    self.cluster = cluster
    self.size = size
    self.duplicate = duplicate ? 1 : 0
  }

  public func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: ordinal.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: cluster.littleEndian, as: UInt64.self)
    (p + 16).storeBytes(of: size.littleEndian, as: UInt64.self)
    (p + 24).storeBytes(of: duplicate.littleEndian, as: UInt64.self)
  }

  public init(loadingFrom p: UnsafeRawPointer) {
    ordinal = p.loadUnaligned(as: UInt64.self).littleEndian
    cluster = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
    size = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
    duplicate = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
  }

  public static func < (x: ClusterMark, y: ClusterMark) -> Bool { x.ordinal < y.ordinal }
}

/// Map → later passes: how many documents reached the stage in a map task (to turn positions
/// within tasks into input positions), and how many had a signature.
public struct TaskCount: RunRecord {
  public var documents: UInt64
  public var signed: UInt64

  public static var byteSize: Int { 16 }
  public static var tag: String { "TASKCNT1" }

  public init(documents: UInt64, signed: UInt64) {
    self.documents = documents
    self.signed = signed
  }

  public func store(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: documents.littleEndian, as: UInt64.self)
    (p + 8).storeBytes(of: signed.littleEndian, as: UInt64.self)
  }

  public init(loadingFrom p: UnsafeRawPointer) {
    documents = p.loadUnaligned(as: UInt64.self).littleEndian
    signed = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
  }

  public static func < (x: TaskCount, y: TaskCount) -> Bool { x.documents < y.documents }
}
