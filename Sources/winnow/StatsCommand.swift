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

  func run() throws {
    do {
      let summary = try CorpusSummary.compute(
        inputs: try InputSet.expand(inputs), fields: DocumentFields(text: textField), strict: strict)
      print(json ? summary.json(top: top) : summary.table(top: top))
    } catch {
      throw report(error)
    }
  }
}
