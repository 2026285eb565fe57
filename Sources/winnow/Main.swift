import ArgumentParser
import CProcessShim
import Foundation
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
    // An interrupted command removes the outputs it was still writing (they only ever exist
    // under hidden temporary names until complete).
    TemporaryFiles.removeOnInterrupt()
    let args = Array(CommandLine.arguments.dropFirst())
    // Executors start one `winnow worker` process per task, marked WINNOW_WORKER=1: it runs
    // its task here, its fixed arguments read by the worker's own parser, without building
    // ArgumentParser's command tree. Typed by hand, `winnow worker` goes through ArgumentParser
    // as before (help, usage messages).
    Worker.runIfStarted(registry: StageCatalog.standard)
    // `winnow <stage> …`: stage commands are generated from the registry, so every stage is
    // a command without a line of CLI code of its own.
    // A global stage with a command of its own (`mix`: the recipe stage, and `winnow mix`, which
    // reads its inputs twice itself) is that command on the command line.
    if let first = args.first, !first.hasPrefix("-"), let d = StageCatalog.standard.descriptor(named: first),
      !(d.isGlobal && WinnowCommand.configuration.subcommands.contains { $0.configuration.commandName == first })
    {
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
    subcommands: [RunCommand.self, CatCommand.self, StatsCommand.self, StagesCommand.self, WordsCommand.self, MinHashCommand.self, DSIRCommand.self, TokenizerCommand.self, MixCommand.self, MixtureCommand.self, KMeansCommand.self, FastTextCommand.self, StatusCommand.self, ReportCommand.self, JobsCommand.self, WorkerCommand.self])
}

let winnowVersion = "0.1.0"

struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Run a recipe (YAML): inputs, stages, outputs; resumes an interrupted run.",
    discussion: """
      Writes the output shards (part-TTTTT-NNNNN.jsonl.zst, named after the task that wrote them), the \
      rejects and quarantine where the recipe says, and stats.json beside the shards. The run's state \
      (plan, task records, logs, run database) lives in OUTPUT/.winnow.

      Running the same command again resumes: finished tasks are skipped. A different recipe in the same \
      output directory is refused unless --fresh.

      \(exitCodeHelp)
      """)

  @Argument(help: "The recipe file.")
  var recipe: String

  @Option(help: "Executor (overrides the recipe's): inline (one process) or local (worker processes).")
  var executor: String?

  @Option(help: "Worker processes for the local executor (default: the recipe's 'workers', else the number of cores).")
  var workers: Int?

  @Flag(help: "Discard what an earlier run left in the output directory and start over.")
  var fresh = false

  @Flag(help: "Slurm: submit the jobs and return; run the same command again later to wait for them and finish.")
  var detach = false

  @Flag(help: "Stop at the first bad input line (overrides the recipe's input.strict).")
  var strict = false

  @Flag(inversion: .prefixedNo, help: "Show live progress on standard error (default: when it is a terminal; otherwise a log line every few seconds).")
  var progress: Bool?

  func run() throws {
    if let w = workers, w < 1 { throw report(.usage("--workers must be at least 1")) }
    do {
      let r = try RecipeParser.parse(file: recipe)
      var options = RecipeRunner.Options()
      options.executor = executor
      options.workers = workers
      options.fresh = fresh
      options.detach = detach
      options.strict = strict ? true : nil
      let display = RunProgressDisplay(live: progress ?? ProgressLine.stderrIsTerminal, quiet: progress == false)
      options.progress = { display.update($0) }
      options.log = { display.log($0) }
      let result = try RecipeRunner.run(r, options: options)
      display.finish()
      if let jobs = result.submittedJobs {
        print("submitted Slurm job(s) \(jobs.joined(separator: ", ")) for \(r.name); 'winnow status \(r.output.path)' shows progress, and the same 'winnow run' command again waits for them and writes stats.json")
        return
      }
      let s = result.stats
      print("recipe \(r.name): read \(s.documentsRead), kept \(s.documentsWritten), dropped \(s.dropped), quarantined \(s.quarantined) in \(fixed(s.seconds, 2)) s")
      print("tasks: \(result.tasksRun) run, \(result.tasksSkipped) already done (executor \(result.executor))")
      for st in s.stages {
        let reasons = st.droppedByReason.keys.sorted().map { "\($0) \(st.droppedByReason[$0]!)" }.joined(separator: ", ")
        print("  \(st.name): in \(st.documentsIn), kept \(st.kept), dropped \(st.dropped)\(reasons.isEmpty ? "" : " (\(reasons))")")
      }
      if let export = r.output.export {
        let files = export.files(prefix: export.name).joined(separator: " + ")
        let where_ = export.mergeTasks ? (r.output.routeBy.map { " in each \($0)=VALUE/" } ?? "") : " per task (part-TTTTT-…)"
        print("output: \(result.outputDirectory)/ \(export.format.rawValue) dataset \(files)\(where_)")
      } else {
        print("output: \(result.outputDirectory)/ (\(s.outputFiles.count) shard(s))")
      }
      if let rej = r.output.rejects { print("rejects: \(rej)") }
      if let q = r.output.quarantine { print("quarantine: \(q)") }
      print("stats: \(result.statsPath)")
    } catch {
      throw report(error)
    }
  }
}

/// `winnow worker`: runs one task of a run directory's plan. Started by the local and Slurm
/// executors; not meant to be typed by hand.
struct WorkerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "worker", abstract: "Run one task of a planned run (started by executors).", shouldDisplay: false)

  @Argument(help: "The run's output directory.")
  var runDirectory: String

  @Option(help: "Pass number.")
  var pass: Int = 0

  @Option(help: "Task number (default: $SLURM_ARRAY_TASK_ID plus --task-offset).")
  var task: Int?

  @Option(help: "Added to $SLURM_ARRAY_TASK_ID (arrays are split past MaxArraySize).")
  var taskOffset: Int = 0

  @Flag(help: "Append standard output and error to the task's log in the run directory.")
  var logToTaskLog = false

  @Option(help: "Run the run's merge step of this side output (rejects, quarantine) instead of a task.")
  var merge: String?

  func run() throws {
    var args = [runDirectory, "--pass", String(pass), "--task-offset", String(taskOffset)]
    if let task { args += ["--task", String(task)] }
    if logToTaskLog { args.append("--log-to-task-log") }
    if let merge { args += ["--merge", merge] }
    let parsed: Worker.Arguments
    do {
      parsed = try Worker.parse(args, environment: ProcessInfo.processInfo.environment)
    } catch {
      throw report(error)
    }
    let code = Worker.run(parsed, registry: StageCatalog.standard)
    if code != 0 { throw ExitCode(code) }
  }
}

/// `winnow status DIR`: progress of a run per pass, from its run database.
struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the progress of a run, per pass.")

  @Argument(help: "The run's output directory.")
  var runDirectory: String

  func run() throws {
    do {
      let text = try RunStatus.describe(RunDirectory(runDirectory))
      print(text)
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
