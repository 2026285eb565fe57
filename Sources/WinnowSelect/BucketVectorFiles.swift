import WinnowCore

/// A task's vector files, one per bucket (`PTASK-bBBBBB.vec` in the pass directory), for the
/// stages that group documents by cluster in their middle passes (semdedup, diversity_select).
/// Writers open on the first vector of a bucket; `finish` writes every bucket's file, empty
/// ones too, so that the middle tasks can tell a finished task from a missing one. A write
/// error is kept and reported by `finish` (a document stage cannot throw).
final class BucketVectorFiles {
  let phase: PhaseTask
  var writers: [VectorRunWriter?]
  /// The vectors' length: given, or that of the first vector written.
  var dims: Int?
  var failure: WinnowError? = nil

  init(phase: PhaseTask, buckets: Int, dims: Int?) {
    self.phase = phase
    writers = [VectorRunWriter?](repeating: nil, count: buckets)
    self.dims = dims
  }

  /// The name of bucket `b`'s file.
  static func suffix(_ b: Int) -> String { "-b\(pad(b, 5)).vec" }

  /// Appends a vector to bucket `b`'s file.
  func append(bucket b: Int, key: UInt64, tag: UInt64, extra: UInt64 = 0, vector: [Float]) {
    do throws(WinnowError) {
      if dims == nil { dims = vector.count }
      if writers[b] == nil { writers[b] = try VectorRunWriter(path: phase.directory + "/\(phase.name)" + Self.suffix(b), dims: vector.count) }
      try vector.withUnsafeBufferPointer { (p) throws(WinnowError) in try writers[b]!.append(ordinal: key, tag: tag, extra: extra, vector: p) }
    } catch {
      if failure == nil { failure = error }
    }
  }

  /// Writes every bucket's file and records it.
  func finish() throws(WinnowError) {
    if let failure { throw failure }
    for b in writers.indices {
      if writers[b] == nil { writers[b] = try VectorRunWriter(path: phase.directory + "/\(phase.name)" + Self.suffix(b), dims: dims ?? 0) }
      phase.record(try writers[b]!.finish())
    }
  }
}
