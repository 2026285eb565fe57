import WinnowCore
import WinnowTokenizer

/// Where a run's kept documents go as token ids instead of JSON lines: Megatron indexed
/// datasets (`output.format: megatron`) or flat token files (`output.format: tokens`). Each task
/// writes its own part; a merge step at the end of the run joins the parts, in task order, into
/// one dataset (or one per `route_by` value), so the result does not depend on the number of
/// workers.
public struct TokenExportOptions: Sendable, Equatable {
  /// The token formats `output.format` may name.
  public enum Format: String, Sendable, CaseIterable {
    /// Megatron-LM `.bin` + `.idx`.
    case megatron
    /// nanoGPT-style flat uint16/uint32 `.bin` with a `.json` sidecar.
    case tokens
  }

  /// Megatron or flat token files.
  public var format: Format
  /// The tokenizer file (`tokenizer.json` or tiktoken ranks).
  public var tokenizer: String
  /// For a tiktoken file: its pattern's name or a regular expression.
  public var pattern: String?
  /// Add the post-processor's tokens (BOS/EOS), as `tokenizer(text)` does.
  public var addSpecialTokens = true
  /// Megatron: append the end-of-document id to every non-empty document (preprocess_data.py's
  /// `--append-eod`). Token files: end every document with it (nanoGPT's way).
  public var appendEOD = true
  /// The end-of-document id; by default the tokenizer's end-of-text token.
  public var eodID: UInt32?
  /// The dataset's file name, before `.bin`.
  public var name = "data"
  /// Join the task parts into one dataset at the end (else each task's part is an output).
  public var mergeTasks = true

  /// An export in `format` with `tokenizer` and the defaults for everything else.
  public init(format: Format, tokenizer: String) {
    self.format = format
    self.tokenizer = tokenizer
  }

  /// The files a dataset with this prefix consists of.
  public func files(prefix: String) -> [String] {
    format == .megatron ? [prefix + ".bin", prefix + ".idx"] : [prefix + ".bin", prefix + ".json"]
  }
}

/// The token ids of a document as a particular tokenizer gave them (what `tokenize` caches).
public struct TokenizedDocument: Sendable {
  /// The token ids.
  public var ids: [UInt32]
  /// Which tokenizer and settings: the export reuses the ids only when they are its own.
  public var tokenizerKey: String
}

/// One task's part of a token export.
public final class TokenExportSink: DocumentSink {
  let options: TokenExportOptions
  let tokenizer: Tokenizer
  let key: String
  let eod: UInt32?
  let megatron: MegatronDatasetWriter?
  let flat: FlatTokenWriter?
  private var session = TokenizerSession()
  private var ids: [UInt32] = []
  private var finished: [WrittenFile] = []
  public private(set) var documentsWritten = 0
  public private(set) var bytesWritten = 0

  /// Writes `prefix.bin` and `prefix.idx` (or `.json`).
  public init(_ options: TokenExportOptions, prefix: String) throws(WinnowError) {
    self.options = options
    tokenizer = try TokenizerCache.load(path: options.tokenizer, pattern: options.pattern, stage: "output.format: \(options.format.rawValue)")
    key = TokenizeStage.tokenizerKey(options.tokenizer, options.pattern, options.addSpecialTokens)
    if options.appendEOD {
      guard let e = options.eodID ?? tokenizer.endOfTextID else {
        throw .usage(
          "output.format: \(options.format.rawValue): \(options.tokenizer) has no end-of-text token Winnow knows by name; give output.eod_id, or set output.append_eod: false")
      }
      eod = e
    } else {
      eod = nil
    }
    switch options.format {
    case .megatron:
      megatron = try MegatronDatasetWriter(prefix: prefix, dtype: .optimal(vocabularySize: tokenizer.vocabularySize))
      flat = nil
    case .tokens:
      flat = try FlatTokenWriter(prefix: prefix, vocabularySize: tokenizer.vocabularySize, eotID: eod, tokenizer: options.tokenizer)
      megatron = nil
    }
  }

  public func write(_ doc: Document) throws(WinnowError) {
    if let cached = doc.cached(documentTokenIDs), cached.tokenizerKey == key {
      ids = cached.ids
    } else {
      ids.removeAll(keepingCapacity: true)
      tokenizer.encode(doc.text, addSpecialTokens: options.addSpecialTokens, into: &ids, session: &session)
    }
    do throws(WinnowError) {
      if let megatron {
        if let eod, !ids.isEmpty { ids.append(eod) }
        try megatron.addDocument(ids)
        bytesWritten += ids.count * megatron.dtype.size
      } else if let flat {
        try flat.addDocument(ids)
        bytesWritten += (ids.count + (eod == nil ? 0 : 1)) * flat.dtype.size
      }
    } catch {
      throw .io("\(doc.sourceName):\(doc.lineNumber): \(error.message)")
    }
    documentsWritten += 1
  }

  public func finish() throws(WinnowError) {
    if let megatron { finished = try megatron.finish() }
    if let flat { finished = try flat.finish() }
  }

  public func abort() {
    megatron?.abort()
    flat?.abort()
  }

  public var files: [String] { finished.map(\.path) }
  public var written: [WrittenFile] { finished }
}
