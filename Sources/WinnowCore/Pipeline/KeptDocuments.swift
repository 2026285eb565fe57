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

  init(pipeline: Pipeline, inputs: [InputFile], fields: DocumentFields, strict: Bool, maxDocumentBytes: Int) {
    self.pipeline = pipeline
    reader = DocumentReader(inputs: inputs, fields: fields, maxDocumentBytes: maxDocumentBytes)
    self.strict = strict
    stats.inputFiles = inputs.map(\.displayName)
  }

  /// The document of the last call, while copies of it remain to be handed out.
  var pending: (doc: Document, next: Int, copies: Int, baseID: String)?
  var started = false
  var ended = false

  /// The next kept document (valid until the next call), or nil at the end. A document a stage
  /// asked to keep several times comes that many times, copy k ≥ 1 with `#k` after its id.
  /// The stages' `start` runs before the first document is read, their `finish` after the last.
  public func next() throws(WinnowError) -> Document? {
    if ended { return nil }
    if !started {
      started = true
      try pipeline.start()
    }
    if let p = pending {
      Pipeline.markCopy(p.doc, p.next, baseID: p.baseID)
      pending = p.next + 1 < p.copies ? (p.doc, p.next + 1, p.copies, p.baseID) : nil
      stats.documentsWritten += 1
      return p.doc
    }
    while let item = try reader.next() {
      stats.documentsRead += 1
      switch item {
      case .bad(let bad):
        if strict { throw WinnowError(.badInput, bad.message) }
        stats.quarantined += 1
        stats.quarantinedByReason[bad.reason.rawValue, default: 0] += 1
      case .tooLarge(let line):
        if strict { throw WinnowError(.badInput, line.message) }
        stats.quarantined += 1
        stats.quarantinedByReason[BadLineReason.documentTooLarge.rawValue, default: 0] += 1
      case .document(let doc):
        if case .kept(let copies) = try pipeline.decide(doc) {
          stats.documentsWritten += 1
          if copies > 1 {
            stats.copiesAdded += copies - 1
            pending = (doc, 1, copies, Pipeline.copyBaseID(doc))
          }
          return doc
        }
      }
    }
    ended = true
    stats.bytesRead = reader.bytesRead
    stats.blankLines = reader.blankLines
    stats.stages = pipeline.stats
    reader.close()
    try pipeline.finish()
    return nil
  }
}

extension Pipeline {
  /// The documents that pass every stage, read lazily from `inputs`. Lines longer than
  /// `maxDocumentBytes` are counted as quarantined (`document_too_large`), never held whole.
  public func documents(
    from inputs: [InputFile], fields: DocumentFields = DocumentFields(), strict: Bool = false,
    maxDocumentBytes: Int = PipelineOptions.defaultMaxDocumentBytes
  ) -> KeptDocuments {
    KeptDocuments(pipeline: self, inputs: inputs, fields: fields, strict: strict, maxDocumentBytes: maxDocumentBytes)
  }
}
