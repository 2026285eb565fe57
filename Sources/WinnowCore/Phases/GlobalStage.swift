/// A stage that must see every document of a run before it can decide about one (keyed and
/// near-duplicate removal, importance resampling, clustering). A recipe run plans it as the
/// passes it declares (docs/architecture.md, "Phases"):
///
/// - document passes read the stream of documents as it reaches the stage, in order, one task
///   per input task. Every document pass but the last only observes: its
///   `PhaseDocumentStage` keeps every document and writes what the stage needs into the
///   pass's files. The last pass is the one that passes documents on: its `applyStage` drops,
///   annotates or rewrites them (by position, from what the earlier passes decided), and the
///   stages after it run in the same task;
/// - middle passes read the files of earlier passes only, with a task count that is fixed
///   (one, or one per bucket) or one per input task.
///
/// A recipe may hold any number of global stages. The stream reaching one is written once, by
/// the task that runs the stages before it (or is the inputs themselves when nothing comes
/// before it), so the stages before a global stage never run twice.
///
/// Every task's result depends only on the input order, never on the number of tasks or
/// workers, so every executor and worker count writes the same bytes.
public protocol GlobalStage: AnyObject {
  /// The passes, in order. The last must be `.documents`; at least one pass comes before it.
  var passes: [PhasePass] { get }
  /// The observer of document pass `phase.pass` (any document pass but the last).
  func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage
  /// Runs one task of middle pass `phase.pass`.
  func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats
  /// The per-document stage that takes the global stage's place in its last pass.
  func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage
}

/// One pass of a global stage.
public enum PhasePass: Sendable, Equatable {
  /// Reads the documents reaching the stage, one task per input task.
  case documents
  /// Reads the files of earlier passes only.
  case middle(PhaseTaskCount)
}

/// How many tasks a middle pass has.
public enum PhaseTaskCount: Sendable, Equatable {
  /// A fixed number: one, or one per bucket of a key space.
  case fixed(Int)
  /// As many as the document passes (one per input task).
  case perInputTask
}

extension GlobalStage {
  /// Why `passes` cannot be planned, or nil when it can.
  public var passesProblem: String? {
    guard passes.count >= 2 else { return "declares \(passes.count) pass(es); a global stage needs at least two" }
    guard passes.last == .documents else { return "its last pass must be a document pass (the one that passes documents on)" }
    for p in passes {
      if case .middle(.fixed(let n)) = p, n < 1 { return "a middle pass with \(n) tasks" }
    }
    return nil
  }
}

/// The per-document stage of a document pass that only observes: it keeps every document
/// (its verdict is ignored) and writes the pass's files; `finish` writes what is left once the
/// stream ends.
public protocol PhaseDocumentStage: DocumentStage {
  /// Writes the pass's files for what is left once the stream ends (every task writes its
  /// files, empty ones too).
  func finish() throws(WinnowError)
}

package func pad(_ v: Int, _ width: Int) -> String {
  let s = String(v)
  return String(repeating: "0", count: max(0, width - s.count)) + s
}
