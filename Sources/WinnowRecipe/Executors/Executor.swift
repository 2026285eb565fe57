import WinnowCore

/// One task of a plan.
public struct TaskRef: Hashable, Sendable, Comparable {
  public var pass: Int
  public var task: Int

  public init(pass: Int, task: Int) {
    self.pass = pass
    self.task = task
  }

  public static func < (a: TaskRef, b: TaskRef) -> Bool { (a.pass, a.task) < (b.pass, b.task) }
  public var name: String { RunDirectory.taskName(pass: pass, task: task) }
}

/// What an executor tells the coordinator as tasks run.
public enum TaskEvent {
  case started(TaskRef, attempt: Int, log: String)
  case finished(TaskRef, attempt: Int, TaskRecord)
  /// An attempt failed; `final` when no retry follows.
  case failed(TaskRef, attempt: Int, exitCode: Int, message: String, final: Bool)
}

/// What the coordinator tells an executor before the first pass of a run.
public struct ExecutorSession {
  /// Submit the tasks and return without waiting (`winnow run --detach`; see `canDetach`).
  public var detach: Bool
  /// Batch jobs an earlier coordinator of this run directory submitted, `(job, pass, task
  /// offset)`: ones still queued or running are watched instead of submitted again.
  public var earlierJobs: [(job: String, pass: Int, offset: Int)]
  /// To be called with every batch job submitted, its pass and task offset (the run database
  /// keeps them, for `winnow status` and the next coordinator).
  public var onSubmit: (String, Int, Int) -> Void

  public init(
    detach: Bool = false, earlierJobs: [(job: String, pass: Int, offset: Int)] = [],
    onSubmit: @escaping (String, Int, Int) -> Void = { _, _, _ in }
  ) {
    self.detach = detach
    self.earlierJobs = earlierJobs
    self.onSubmit = onSubmit
  }
}

/// Decides where tasks run. Every executor runs `TaskRunner` on the same plan file, so a
/// recipe gives byte-identical output whichever executor and worker count runs it. What is
/// particular to a batch system (submitting and returning, adopting an earlier coordinator's
/// jobs, chaining passes by dependencies) stays behind `begin`/`passSubmitted`: the runner
/// never asks which executor it has.
public protocol TaskExecutor {
  /// The executor's name as recipes and `--executor` write it.
  var name: String { get }
  /// How many tasks may run at once.
  var workers: Int { get }
  /// Whether tasks can be submitted and left to run after the coordinator returns.
  var canDetach: Bool { get }
  /// Whether the coordinator hands a pass's tasks over largest first (see
  /// `Plan.largestFirst`): an executor that starts tasks as workers free up ends a pass
  /// sooner when the long ones do not come last. A batch system's job arrays want them in
  /// plan order.
  var runsLargestFirst: Bool { get }
  /// Called once, before the first pass.
  mutating func begin(_ session: ExecutorSession)
  /// Detached runs: the jobs that one pass submitted, which the next pass's jobs wait for.
  mutating func passSubmitted(_ jobs: [String])
  /// Runs `tasks` (all of one pass), reporting through `events`; returns when every task has
  /// finished or failed for good. `tick` is called about twice a second while waiting.
  func execute(
    _ tasks: [TaskRef], in runDir: RunDirectory, maxRetries: Int, events: (TaskEvent) -> Void, tick: () -> Void
  ) throws(WinnowError)
  /// Runs generic jobs (see `JobRunner`), reporting each attempt's end to `events`, which
  /// answers whether the job is settled (else it is started again); returns when all are.
  func runJobs(_ jobs: [JobSpec], maxRetries: Int, events: (JobEvent) -> Bool) throws(WinnowError)
}

extension TaskExecutor {
  public var canDetach: Bool { false }
  public var runsLargestFirst: Bool { false }
  public mutating func begin(_ session: ExecutorSession) {}
  public mutating func passSubmitted(_ jobs: [String]) {}
}

/// Runs tasks one after another in the calling process. A failing task does not stop the
/// others: their work is kept for the resume.
public struct InlineExecutor: TaskExecutor {
  /// The stages the tasks are planned with (see `TaskRunner.run`).
  public var registry: StageRegistry
  public init(registry: StageRegistry = StageCatalog.standard) { self.registry = registry }
  public var name: String { "inline" }
  public var workers: Int { 1 }

  /// Jobs run one after another, as child processes (a job is a program, not a task), with
  /// the GPUs of `WINNOW_GPUS` (a count; default 0).
  public func runJobs(_ jobs: [JobSpec], maxRetries: Int, events: (JobEvent) -> Bool) throws(WinnowError) {
    try JobProcess.runLocally(jobs, slots: 1, gpus: LocalExecutor.defaultGPUs, events: events)
  }

  public func execute(
    _ tasks: [TaskRef], in runDir: RunDirectory, maxRetries: Int, events: (TaskEvent) -> Void, tick: () -> Void
  ) throws(WinnowError) {
    for t in tasks {
      events(.started(t, attempt: 1, log: ""))
      do {
        let record = try TaskRunner.run(runDir, pass: t.pass, task: t.task, registry: registry)
        events(.finished(t, attempt: 1, record))
      } catch {
        // Usage errors are the same on every attempt; so are bad lines under --strict.
        events(.failed(t, attempt: 1, exitCode: Int(error.exitCode), message: error.message, final: true))
      }
      tick()
    }
  }
}
