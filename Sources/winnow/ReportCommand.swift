import ArgumentParser
import Winnow

/// `winnow report DIR`: an HTML report of a run (finished or not), and a fresh stats.json.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report", abstract: "Write an HTML report of a run directory and refresh its stats.json.",
    discussion: """
      Reads the run's plan, task records and run database (OUTPUT/.winnow) and reads back the output \
      shards, and writes one self-contained HTML file (inline SVG charts, no scripts, no network): the \
      per-stage funnel with its balance check (read = written + dropped + quarantined), drop and \
      quarantine reasons, histograms of document length and of every numeric field of the output, \
      deduplication counts, and per-task times and attempts. A run that is not finished is reported \
      as far as its finished tasks go.

      stats.json is rewritten from the task records, in the form 'winnow run' writes it.

      \(exitCodeHelp)
      """)

  @Argument(help: "The run's output directory (the recipe's output.path).")
  var runDirectory: String

  @Option(name: .shortAndLong, help: "Where to write the report (default: RUN_DIRECTORY/report.html).")
  var output: String?

  @Option(help: "Read back at most this many output documents for the histograms (the first of each shard).")
  var sampleLimit: Int = OutputSample.defaultLimit

  @Flag(help: "Do not rewrite stats.json.")
  var noStats = false

  func run() throws {
    do {
      let written = try RunReport.write(
        RunDirectory(runDirectory), to: output, sampleLimit: sampleLimit, refreshStats: !noStats)
      print("report: \(written.htmlPath)")
      if let stats = written.statsPath { print("stats: \(stats)") }
    } catch {
      throw report(error)
    }
  }
}
