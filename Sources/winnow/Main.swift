import ArgumentParser
import Glibc
import Winnow

let exitCodeHelp = """
  Exit codes:
    0  success (bad input lines, if any, were quarantined or skipped)
    1  input or output failure: unreadable file, corrupt or truncated compressed data, disk full
    2  usage error: unknown option, stage or recipe key, bad parameter value
    3  bad input line with --strict (the message names file and line)
  """

@main
struct WinnowMain {
  static func main() {
    let args = Array(CommandLine.arguments.dropFirst())
    // `winnow <stage> …`: stage commands are generated from the registry, so every stage is
    // a command without a line of CLI code of its own.
    if let first = args.first, !first.hasPrefix("-"), let d = StageCatalog.standard.descriptor(named: first) {
      exit(StageCommand.run(d, arguments: Array(args.dropFirst())))
    }
    // ArgumentParser exits 64 on usage errors; Winnow promises 2 for every usage error.
    do {
      var command = try WinnowCommand.parseAsRoot()
      try command.run()
    } catch {
      if WinnowCommand.exitCode(for: error) == .validationFailure {
        printError(WinnowCommand.fullMessage(for: error))
        exit(2)
      }
      WinnowCommand.exit(withError: error)
    }
  }
}

/// Turns a Winnow error into its message and exit code.
func report(_ error: WinnowError) -> ExitCode {
  ProgressLine.shared.finish()
  printError("winnow: error: \(error.message)")
  return ExitCode(error.exitCode)
}

struct WinnowCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "winnow",
    abstract: "Curate training data for language models: stream JSON Lines through filters and dedup.",
    discussion: """
      Every stage is also a command that reads documents and writes the kept ones:
        winnow <stage> [--parameter value]… [INPUT…] [-o OUTPUT]
      Stages: \(StageCatalog.standard.descriptors.map(\.cliName).joined(separator: ", ")).
      'winnow stages' lists their parameters; 'winnow <stage> --help' explains one.

      Example:
        zstdcat Samples/web/*.jsonl.zst | winnow length --min-words 50 | winnow exact-dedup > out.jsonl

      \(exitCodeHelp)
      """,
    version: winnowVersion,
    subcommands: [RunCommand.self, CatCommand.self, StatsCommand.self, StagesCommand.self])
}

let winnowVersion = "0.1.0"

struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Run a recipe (YAML): inputs, stages, outputs.",
    discussion: "Writes the output shards, rejects and quarantine where the recipe says, and stats.json beside the shards. Re-running replaces the previous output.\n\n" + exitCodeHelp)

  @Argument(help: "The recipe file.")
  var recipe: String

  @Option(help: "Executor (overrides the recipe's): inline.")
  var executor: String?

  @Flag(help: "Stop at the first bad input line (overrides the recipe's input.strict).")
  var strict = false

  @Flag(inversion: .prefixedNo, help: "Show a progress line on standard error (default: when it is a terminal).")
  var progress: Bool?

  func run() throws {
    do {
      let r = try RecipeParser.parse(file: recipe)
      let show = progress ?? ProgressLine.stderrIsTerminal
      let onProgress: ((Progress) -> Void)? = show ? { ProgressLine.shared.update($0) } : nil
      let result = try RecipeRunner.run(r, executor: executor, strict: strict ? true : nil, progress: onProgress)
      ProgressLine.shared.finish()
      let s = result.stats
      print("recipe \(r.name): read \(s.documentsRead), kept \(s.documentsWritten), dropped \(s.dropped), quarantined \(s.quarantined) in \(fixed(s.seconds, 2)) s")
      for st in s.stages {
        let reasons = st.droppedByReason.keys.sorted().map { "\($0) \(st.droppedByReason[$0]!)" }.joined(separator: ", ")
        print("  \(st.name): in \(st.documentsIn), kept \(st.kept), dropped \(st.dropped)\(reasons.isEmpty ? "" : " (\(reasons))")")
      }
      print("output: \(result.outputDirectory)/ (\(s.outputFiles.count) shard(s))")
      if let rej = r.output.rejects { print("rejects: \(rej)") }
      if let q = r.output.quarantine { print("quarantine: \(q)") }
      print("stats: \(result.statsPath)")
    } catch {
      throw report(error)
    }
  }
}

struct CatCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cat", abstract: "Read, validate, re-shard or recompress documents.",
    discussion: "Every valid document is written unchanged, byte for byte. Bad lines are quarantined (--quarantine) or fatal (--strict).\n\n" + exitCodeHelp)

  @OptionGroup var io: IOOptions

  func run() throws {
    do { try io.runPipeline([]) } catch { throw report(error) }
  }
}

struct StagesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stages", abstract: "List every stage with its parameters, types, defaults and a description.")

  @Argument(help: "Only these stages.")
  var names: [String] = []

  func run() throws {
    var ds = StageCatalog.standard.descriptors
    if !names.isEmpty {
      ds = []
      for n in names {
        guard let d = StageCatalog.standard.descriptor(named: n) else {
          throw report(.usage("unknown stage '\(n)'; known: \(StageCatalog.standard.names.joined(separator: ", "))"))
        }
        ds.append(d)
      }
    }
    for (k, d) in ds.enumerated() {
      if k > 0 { print("") }
      print(StageCommand.describe(d))
    }
  }
}
