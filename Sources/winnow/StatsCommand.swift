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

  @Flag(help: "Print the summary as JSON.")
  var json = false

  @Flag(help: "Stop with an error at the first bad input line.")
  var strict = false

  @Option(help: "Lines longer than this many bytes are not read as documents: they are counted as quarantined (document_too_large).")
  var maxDocumentBytes: Int = PipelineOptions.defaultMaxDocumentBytes

  func run() throws {
    do throws(WinnowError) {
      guard maxDocumentBytes > 0 else { throw WinnowError.usage("--max-document-bytes must be positive") }
      let summary = try CorpusSummary.compute(
        inputs: try InputSet.expand(inputs), fields: DocumentFields(text: textField), strict: strict,
        maxDocumentBytes: maxDocumentBytes)
      print(json ? summary.json(top: top) : summary.table(top: top))
    } catch {
      throw report(error)
    }
  }
}
