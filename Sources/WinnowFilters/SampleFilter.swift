import WinnowCore

/// `sample`: keeps each document with probability `rate`, decided by a hash of its id and the
/// seed, so the same documents are kept on every run, in any order and on any worker.
public final class SampleFilter: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "sample",
    summary: "Keep a deterministic random fraction of documents (by hash of id and seed)",
    role: .select,
    parameters: [
      ParameterSpec("rate", .double(min: 0, max: 1), required: true, help: "probability of keeping a document"),
      ParameterSpec("seed", .int(min: 0, max: nil), help: "hash seed; defaults to the recipe's seed (0 on the command line)"),
    ],
    make: { (p, ctx) throws(WinnowError) in SampleFilter(rate: p.double("rate")!, seed: p.int("seed").map(UInt64.init) ?? ctx.seed) })

  let threshold: UInt64
  let keepAll: Bool
  let seed: UInt64

  public init(rate: Double, seed: UInt64) {
    keepAll = rate >= 1
    // Keep when hash < rate·2^64; computed in Double, then clamped.
    threshold = rate <= 0 ? 0 : UInt64(min(rate * 18_446_744_073_709_551_616.0, 18_446_744_073_709_549_568.0))
    self.seed = seed
  }

  public func process(_ doc: Document) -> Verdict {
    if keepAll { return .keep }
    return XXH3.hash64(doc.idBytes, seed: seed) < threshold ? .keep : .drop("not_sampled")
  }
}
