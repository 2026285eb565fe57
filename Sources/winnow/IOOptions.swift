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

  @Option(help: "Output compression: zstd, gzip or none (default: from the file extension; zstd for directories).")
  var compression: String?

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

  func outputSpec() throws(WinnowError) -> OutputSpec {
    var spec = OutputSpec(path: output, compressionLevel: compressionLevel, overwrite: force)
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

  func pipelineOptions() -> PipelineOptions {
    var o = PipelineOptions()
    o.fields = DocumentFields(text: textField, id: idField)
    o.strict = strict
    o.rejects = rejects.map { OutputSpec(path: $0, compressionLevel: compressionLevel, overwrite: force) }
    o.quarantine = quarantine.map { OutputSpec(path: $0, compressionLevel: compressionLevel, overwrite: force) }
    if progress ?? ProgressLine.stderrIsTerminal { o.progress = { ProgressLine.shared.update($0) } }
    return o
  }

  /// Reads the inputs, runs `stages` and writes the result, the way every filter command does.
  func runPipeline(_ stages: [NamedStage]) throws(WinnowError) {
    let inputs = try InputSet.expand(self.inputs)
    let writer = try DocumentWriter(try outputSpec())
    let options = pipelineOptions()
    let result = try Pipeline(stages: stages).run(inputs: inputs, output: writer, options: options)
    ProgressLine.shared.finish()
    if let stats { try writeTextFile(stats, result.json()) }
    if result.quarantined > 0 {
      let where_ = quarantine.map { "written to \($0)" } ?? "skipped; --quarantine PATH keeps them"
      printError("winnow: \(result.quarantined) bad input line(s) \(where_)")
    }
  }
}
