import ArgumentParser
import Foundation
import Winnow

/// `winnow jobs FILE`: runs a list of generic jobs (proxy trainings, evaluations, exports) on
/// an executor; a job whose expected output exists is not run again.
struct JobsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "jobs", abstract: "Run a list of jobs (any program) on an executor; resumes by expected outputs.",
    discussion: """
      FILE is JSON Lines, one job per line:
        {"name": "proxy-7", "argv": ["python", "train.py", "--mix", "mix7.json"], "dir": "runs",
         "gpus": 1, "cpus": 4, "mem": "16G", "time": "01:00:00", "env": {"SEED": "7"},
         "expected_output": "proxy-7/result.json", "log": "proxy-7.log"}
      Only name and argv are required; dir defaults to the file's directory, and paths in
      expected_output and log are relative to dir. A job succeeds when it exits 0 and leaves
      its expected output. The local executor runs --workers jobs at once and gives each job its
      own GPUs out of --gpus (CUDA_VISIBLE_DEVICES); slurm submits one sbatch per job with
      --gres=gpu:N.
      """)

  @Argument(help: "The jobs file (JSON Lines).")
  var file: String

  @Option(help: "inline (one after another), local (several at once) or slurm.")
  var executor = "local"

  @Option(help: "local: jobs at once (default: the machine's cores).")
  var workers: Int?

  @Option(help: "local and inline: GPUs the jobs share (default: $WINNOW_GPUS, else 0).")
  var gpus: Int?

  @Option(help: "A failed job is tried again this often.")
  var maxRetries = 0

  @Option(help: "slurm: partition.")
  var partition: String?

  @Option(help: "slurm: account.")
  var account: String?

  func validate() throws {
    if let workers, workers < 1 { throw ValidationError("--workers must be ≥ 1") }
    if let gpus, gpus < 0 { throw ValidationError("--gpus must be ≥ 0") }
    if maxRetries < 0 { throw ValidationError("--max-retries must be ≥ 0") }
  }

  func run() throws {
    do {
      let jobs = try JobSpec.read(jsonLines: file)
      let exec = try jobExecutor(executor, workers: workers, gpus: gpus, partition: partition, account: account, jobName: "winnow")
      let results = try JobRunner.run(jobs, on: exec, maxRetries: maxRetries) { printError($0) }
      var failed = 0
      for r in results {
        switch r.outcome {
        case .alreadyDone: print("job \(r.job.name): already done (\(r.job.expectedOutput ?? ""))")
        case .succeeded: print("job \(r.job.name): done\(r.attempts > 1 ? " after \(r.attempts) attempts" : "")")
        case .failed(let code, let message):
          failed += 1
          print("job \(r.job.name): FAILED (exit \(code)): \(message); log: \(r.job.logPath)")
        }
      }
      if failed > 0 { throw WinnowError.io("\(failed) of \(results.count) job(s) failed") }
    } catch let e as WinnowError {
      throw report(e)
    }
  }
}

/// The executor that runs generic jobs (`winnow jobs`, `winnow mixture run`): inline, local
/// (`workers` at once, `gpus` handed out) or slurm (one job each).
func jobExecutor(
  _ name: String, workers: Int?, gpus: Int?, partition: String?, account: String?, jobName: String
) throws(WinnowError) -> TaskExecutor {
  switch name {
  case "inline": return InlineExecutor()
  case "local":
    return LocalExecutor(
      workers: workers ?? ProcessInfo.processInfo.activeProcessorCount, binary: "", gpus: gpus ?? LocalExecutor.defaultGPUs)
  case "slurm":
    var o = Recipe.Slurm()
    o.partition = partition
    o.account = account
    o.pollSeconds = 0.5
    return SlurmExecutor(options: o, binary: "", jobName: jobName)
  default:
    throw .usage("unknown executor '\(name)'; use one of inline, local, slurm")
  }
}
