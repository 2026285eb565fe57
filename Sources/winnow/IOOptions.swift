import ArgumentParser
import Winnow

/// Options shared by every command that reads and writes documents.
struct IOOptions: ParsableArguments {
  @Argument(help: "Input files, directories or globs; '-' or nothing for standard input. Compressed input (zstd, gzip) is recognised by its content.")
  var inputs: [String] = []

  @Option(name: [.short, .long], help: "Output: '-' for standard output, a file (compression from its extension: .zst, .gz), or a directory of shards.")
  var output: String = "-"

  @Option(help: "JSON field holding the text.")
  var textField: String = "text"

  @Option(help: "JSON field holding the id (documents without one get <file>#<line>).")
  var idField: String = "id"

  @Option(help: "Write every dropped document here, annotated with rejected_by and reject_reason.")
  var rejects: String?

  @Option(help: "Write every bad input line here, with file, line and reason.")
  var quarantine: String?

  @Flag(help: "Stop with an error (exit 3) at the first bad input line instead of quarantining it.")
  var strict = false

  @Option(help: "Output compression: zstd, gzip or none (default: from the file extension; zstd for directories). Parquet output: zstd (default), snappy, gzip or none, applied to its pages.")
  var compression: String?

  @Option(help: "Output format: jsonl or parquet (default: parquet for a file named *.parquet, else jsonl). Rejects and quarantine are always JSON lines.")
  var format: String?

  @Option(help: "Parquet output: write a row group once this many bytes of documents are buffered (default 64M).")
  var rowGroupBytes: Int?

  @Option(help: "Parquet output: the columns and their types as NAME:TYPE,… (TYPE: string, int64, double, bool, json); default: inferred from the first row group.")
  var parquetSchema: String?

  @Option(help: "Compression level (zstd: 1-22, default 3; gzip: 1-9, default 6).")
  var compressionLevel: Int?

  @Option(help: "Directory output: start a new shard after this many uncompressed bytes.")
  var maxShardBytes: Int?

  @Option(help: "Directory output: start a new shard after this many documents.")
  var maxShardDocs: Int?

  @Flag(help: "Replace shards already in the output directory.")
  var force = false

  @Option(help: "Write the run's counts as JSON to this file.")
  var stats: String?

  @Flag(inversion: .prefixedNo, help: "Show a progress line on standard error (default: when it is a terminal).")
  var progress: Bool?

  @Option(help: "Lines longer than this many bytes are not read as documents: they are quarantined as document_too_large (default 64M).")
  var maxDocumentBytes: Int = PipelineOptions.defaultMaxDocumentBytes

  @Option(help: "Parquet input: read only these top-level columns (comma-separated; default: every column). Each row becomes a JSON object of the columns read.")
  var columns: String?

  func outputSpec() throws(WinnowError) -> OutputSpec {
    var spec = OutputSpec(path: output, compressionLevel: compressionLevel, overwrite: force)
    if let format, format != "jsonl" && format != "parquet" {
      throw .usage("--format must be jsonl or parquet, got '\(format)'")
    }
    for (flag, path) in [("--rejects", rejects), ("--quarantine", quarantine)] where path?.hasSuffix(".parquet") == true {
      throw .usage("\(flag) \(path!): rejects and quarantine are written as JSON lines; name the file .jsonl (or .jsonl.zst)")
    }
    let isParquet = format == "parquet" || (format == nil && output.hasSuffix(".parquet"))
    if isParquet {
      var p = ParquetWriteOptions()
      if let compression {
        guard let c = ParquetWriteOptions.Codec(rawValue: compression) else {
          throw .usage("--compression for Parquet output must be one of zstd|snappy|gzip|none, got '\(compression)'")
        }
        p.codec = c
      }
      p.level = compressionLevel
      if let n = rowGroupBytes {
        guard n > 0 else { throw .usage("--row-group-bytes must be positive") }
        p.rowGroupBytes = n
      }
      if let parquetSchema { p.schema = try ParquetWriteOptions.parseSchema(parquetSchema) }
      spec.parquet = p
      if let n = maxShardBytes, n <= 0 { throw .usage("--max-shard-bytes must be positive") }
      if let n = maxShardDocs, n <= 0 { throw .usage("--max-shard-docs must be positive") }
      spec.maxShardBytes = maxShardBytes
      spec.maxShardDocs = maxShardDocs
      return spec
    }
    if rowGroupBytes != nil || parquetSchema != nil {
      throw .usage("--row-group-bytes and --parquet-schema are for Parquet output (-o FILE.parquet, or --format parquet)")
    }
    if let compression {
      guard let c = Compression(rawValue: compression) else {
        throw .usage("--compression must be one of zstd|gzip|none, got '\(compression)'")
      }
      spec.compression = c
    }
    spec.maxShardBytes = maxShardBytes
    spec.maxShardDocs = maxShardDocs
    if let n = maxShardBytes, n <= 0 { throw .usage("--max-shard-bytes must be positive") }
    if let n = maxShardDocs, n <= 0 { throw .usage("--max-shard-docs must be positive") }
    return spec
  }

  /// Refuses, before anything is opened, an output that is or would be written into an input
  /// (including the files a stage reads), and two outputs on the same path.
  func guardPaths(
    _ inputs: [InputFile], stageFiles: [OutputGuard.Input], stageOutputs: [OutputGuard.Output], spec: OutputSpec
  ) throws(WinnowError) {
    var g = OutputGuard()
    g.addInputs(inputs, named: self.inputs, role: "input")
    g.inputs += stageFiles
    g.outputs += stageOutputs
    g.addOutput(output, role: "--output", isDirectory: spec.isDirectory)
    if let rejects { g.addOutput(rejects, role: "--rejects", isDirectory: OutputSpec(path: rejects).isDirectory) }
    if let quarantine { g.addOutput(quarantine, role: "--quarantine", isDirectory: OutputSpec(path: quarantine).isDirectory) }
    if let stats { g.addOutput(stats, role: "--stats", isDirectory: false) }
    try g.check()
  }

  func pipelineOptions() -> PipelineOptions {
    var o = PipelineOptions()
    o.fields = DocumentFields(text: textField, id: idField)
    o.strict = strict
    o.rejects = rejects.map { OutputSpec(path: $0, compressionLevel: compressionLevel, overwrite: force) }
    o.quarantine = quarantine.map { OutputSpec(path: $0, compressionLevel: compressionLevel, overwrite: force) }
    if progress ?? ProgressLine.stderrIsTerminal { o.progress = { ProgressLine.shared.update($0) } }
    o.maxDocumentBytes = maxDocumentBytes
    o.parquetColumns = columns.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    return o
  }

  /// Reads the inputs, runs `stages` and writes the result, the way every filter command does.
  /// `stageFiles`: the files the stages read (word lists, models …), which no output may touch.
  func runPipeline(
    _ stages: [NamedStage], stageFiles: [OutputGuard.Input] = [], stageOutputs: [OutputGuard.Output] = []
  ) throws(WinnowError) {
    guard maxDocumentBytes > 0 else { throw .usage("--max-document-bytes must be positive") }
    if let c = columns, c.split(separator: ",").allSatisfy({ $0.allSatisfy(\.isWhitespace) }) {
      throw .usage("--columns names no column (leave it out to read every column)")
    }
    let inputs = try InputSet.expand(self.inputs)
    let spec = try outputSpec()
    try guardPaths(inputs, stageFiles: stageFiles, stageOutputs: stageOutputs, spec: spec)
    let writer = try DocumentWriter(spec)
    let options = pipelineOptions()
    let result = try Pipeline(stages: stages).run(inputs: inputs, output: writer, options: options)
    ProgressLine.shared.finish()
    if let stats { try writeFileAtomically(stats, Array(result.json().utf8)) }
    for skipped in result.skippedColumns {
      printError("winnow: note: Parquet column left out of the documents: \(skipped)")
    }
    if result.quarantined > 0 {
      let where_ = quarantine.map { "written to \($0)" } ?? "skipped; --quarantine PATH keeps them"
      printError("winnow: \(result.quarantined) bad input line(s) \(where_)")
    }
  }
}

/// Refuses to write to standard output when it is redirected into one of the inputs
/// (`winnow words in.jsonl >> in.jsonl` would read what it writes, forever).
func guardStandardOutput(against inputs: [InputFile], named specs: [String]) throws(WinnowError) {
  var g = OutputGuard()
  g.addInputs(inputs, named: specs, role: "input")
  g.addOutput("-", role: "standard output", isDirectory: false)
  try g.check()
}
