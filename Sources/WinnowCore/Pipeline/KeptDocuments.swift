/// Pulls kept documents out of a pipeline one at a time — how a trainer consumes Winnow
/// in-process, without writing files. Bad lines are counted (and fatal when `strict`).
///
/// ```swift
/// let kept = pipeline.documents(from: try InputSet.expand(["data/"]))
/// while let doc = try kept.next() { train(on: doc.textString) }
/// ```
public final class KeptDocuments {
  let pipeline: Pipeline
  let reader: DocumentReader
  let strict: Bool
  public private(set) var stats = RunStats()

  init(pipeline: Pipeline, inputs: [InputFile], fields: DocumentFields, strict: Bool) {
    self.pipeline = pipeline
    reader = DocumentReader(inputs: inputs, fields: fields)
    self.strict = strict
    stats.inputFiles = inputs.map(\.displayName)
  }

  /// The next kept document (valid until the next call), or nil at the end.
  public func next() throws(WinnowError) -> Document? {
    while let item = try reader.next() {
      stats.documentsRead += 1
      switch item {
      case .bad(let bad):
        if strict { throw WinnowError(.badInput, bad.message) }
        stats.quarantined += 1
        stats.quarantinedByReason[bad.reason.rawValue, default: 0] += 1
      case .document(let doc):
        if pipeline.process(doc) == nil {
          stats.documentsWritten += 1
          return doc
        }
      }
    }
    stats.bytesRead = reader.bytesRead
    stats.blankLines = reader.blankLines
    stats.stages = pipeline.stats
    reader.close()
    return nil
  }
}

extension Pipeline {
  /// The documents that pass every stage, read lazily from `inputs`.
  public func documents(
    from inputs: [InputFile], fields: DocumentFields = DocumentFields(), strict: Bool = false
  ) -> KeptDocuments {
    KeptDocuments(pipeline: self, inputs: inputs, fields: fields, strict: strict)
  }
}
