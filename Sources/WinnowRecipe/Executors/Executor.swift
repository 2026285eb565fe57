import WinnowCore

/// One task of a plan.
public struct TaskRef: Hashable, Sendable, Comparable {
  public var pass: Int
  public var task: Int

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

/// Decides where tasks run. Every executor runs `TaskRunner` on the same plan file, so a
/// recipe gives byte-identical output whichever executor and worker count runs it.
public protocol TaskExecutor {
  var name: String { get }
  var workers: Int { get }
  /// Runs `tasks` (all of one pass), reporting through `events`; returns when every task has
  /// finished or failed for good. `tick` is called about twice a second while waiting.
  func execute(
    _ tasks: [TaskRef], in runDir: RunDirectory, maxRetries: Int, events: (TaskEvent) -> Void, tick: () -> Void
  ) throws(WinnowError)
}

/// Runs tasks one after another in the calling process. A failing task does not stop the
/// others: their work is kept for the resume.
public struct InlineExecutor: TaskExecutor {
  /// The stages the tasks are planned with (see `TaskRunner.run`).
  public var registry: StageRegistry
  public init(registry: StageRegistry = StageCatalog.standard) { self.registry = registry }
  public var name: String { "inline" }
  public var workers: Int { 1 }

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
