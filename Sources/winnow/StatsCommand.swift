import ArgumentParser
import Winnow

/// `winnow stats`: counts documents, bytes, characters, words and lines, and summarises the
/// values of every top-level field.
struct StatsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats", abstract: "Count documents, bytes, characters, words and summarise field values.",
    discussion: exitCodeHelp)

  @Argument(help: "Input files, directories or globs; '-' or nothing for standard input.")
  var inputs: [String] = []

  @Option(help: "JSON field holding the text.")
  var textField: String = "text"

  @Option(help: "How many most frequent values to show per field.")
  var top: Int = 5

  @Option(help: "Also count documents, text bytes, words (and tokens, with --tokenizer) per value of this field, e.g. domain.")
  var by: String?

  @Option(help: "With --by: count tokens with this tokenizer.json or tiktoken file (ids as `tokenize` gives them, without special tokens).")
  var tokenizer: String?

  @Option(help: "For a tiktoken --tokenizer: gpt2, p50k, cl100k, o200k or a regular expression.")
  var pattern: String?

  @Flag(help: "Print the summary as JSON.")
  var json = false

  @Flag(help: "Stop with an error at the first bad input line.")
  var strict = false

  @Option(help: "Lines longer than this many bytes are not read as documents: they are counted as quarantined (document_too_large).")
  var maxDocumentBytes: Int = PipelineOptions.defaultMaxDocumentBytes

  func run() throws {
    do throws(WinnowError) {
      guard maxDocumentBytes > 0 else { throw WinnowError.usage("--max-document-bytes must be positive") }
      guard tokenizer == nil || by != nil else { throw WinnowError.usage("--tokenizer counts tokens per group: give --by FIELD too") }
      let counter = try tokenizer.map { path throws(WinnowError) in try tokenCounter(path, pattern: pattern) }
      let summary = try CorpusSummary.compute(
        inputs: try InputSet.expand(inputs), fields: DocumentFields(text: textField), strict: strict,
        maxDocumentBytes: maxDocumentBytes, groupBy: by, countTokens: counter)
      print(json ? summary.json(top: top) : summary.table(top: top))
    } catch {
      throw report(error)
    }
  }
}
