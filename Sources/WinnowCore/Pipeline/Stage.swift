/// What a per-document stage decides. A stage that changes the document (rewrites its text,
/// adds annotations) and keeps it returns `.keep`: the changes travel with the document.
public enum Verdict: Equatable, Sendable {
  case keep
  /// Drop, with a short snake_case reason such as `too_few_words`.
  case drop(String)
  /// Keep, and write the document `n` times in all (n ≥ 1; epochs, upsampling). The later
  /// stages see it once; their copies multiply. Copy 0 is the document as it is; copy k ≥ 1
  /// has `#k` appended to its id (`doc-7#1`; a document without an id gets `FILE#LINE#k`).
  /// A run counts the extra copies (`RunStats.copiesAdded`) and balances as
  /// read = written − copies added + dropped + quarantined.
  case copies(Int)
}

/// What a stage is told when a task (or a command-line run) starts.
public struct StageRunContext: Sendable {
  /// The task of the run's pass (0 outside a recipe run).
  public var task: Int
  /// The pass of the run (0 outside a recipe run).
  public var pass: Int
  /// A directory the stage may use for files of its own during the task, when there is one
  /// (a recipe run's state directory); nil for pipes.
  public var scratchDirectory: String?

  public init(task: Int = 0, pass: Int = 0, scratchDirectory: String? = nil) {
    self.task = task
    self.pass = pass
    self.scratchDirectory = scratchDirectory
  }
}

/// A stage that looks at one document at a time. Consecutive per-document stages are fused
/// into one pass: each document goes through all of them before the next is read.
///
/// The contract: `start` is called once before the first document, `process` once per
/// document that reaches the stage, `finish` once after the last (only when every document
/// went through; a task that fails part-way is abandoned without it, and its outputs are not
/// kept). Any of them may throw: the task fails with the stage's name and the document's file
/// and line in the message, is recorded as failed, and no output of it is kept. `start` and
/// `finish` do nothing by default.
public protocol DocumentStage: AnyObject {
  /// Before the first document: open resources, read what the task's context names.
  func start(_ context: StageRunContext) throws(WinnowError)
  /// Decides about one document (and may rewrite or annotate it): keep, drop with a reason,
  /// quarantine, or keep several copies.
  func process(_ doc: Document) throws(WinnowError) -> Verdict
  /// After the last document, before any output of the task is committed.
  func finish() throws(WinnowError)
}

extension DocumentStage {
  public func start(_ context: StageRunContext) throws(WinnowError) {}
  public func finish() throws(WinnowError) {}
}

/// What every stage may use besides its own parameters.
public struct StageContext: Sendable {
  /// The run's seed; stages with a `seed` parameter fall back to it.
  public var seed: UInt64
  public var fields: DocumentFields

  public init(seed: UInt64 = 0, fields: DocumentFields = DocumentFields()) {
    self.seed = seed
    self.fields = fields
  }
}

/// What a stage does, for tools that describe runs (the report, `winnow stages`): they learn
/// it from here, never from the stage's name.
public enum StageRole: String, Sendable, CaseIterable {
  /// Drops documents by a rule (most stages).
  case filter
  /// Drops documents (or parts of them) that repeat others; its drops are duplicates.
  case deduplicate
  /// Rewrites text or fields and keeps every document.
  case transform
  /// Chooses documents for a target or a mixture (selection, sampling, epochs).
  case select
}

/// How a stage is found by name, documented, configured and built.
public struct StageDescriptor: Sendable {
  /// snake_case name used in recipes (kebab-case on the command line).
  public var name: String
  /// One line for `winnow stages` and `--help`.
  public var summary: String
  public var parameters: [ParameterSpec]
  /// For a stage that must see every document: how a recipe run builds it as map, middle
  /// and apply phases. (`make` still builds the in-process version that pipes use.)
  public var makeGlobal: (@Sendable (StageParameters, StageContext) throws(WinnowError) -> GlobalStage)?
  public var isGlobal: Bool { makeGlobal != nil }
  public var make: @Sendable (StageParameters, StageContext) throws(WinnowError) -> DocumentStage
  public var role: StageRole

  public init(
    name: String, summary: String, role: StageRole = .filter, parameters: [ParameterSpec],
    makeGlobal: (@Sendable (StageParameters, StageContext) throws(WinnowError) -> GlobalStage)? = nil,
    make: @escaping @Sendable (StageParameters, StageContext) throws(WinnowError) -> DocumentStage
  ) {
    self.name = name
    self.summary = summary
    self.role = role
    self.parameters = parameters
    self.makeGlobal = makeGlobal
    self.make = make
  }

  public var cliName: String { name.replacingUnderscores() }

  /// Validates raw values (from a recipe or the command line) and builds the stage.
  public func build(_ raw: [String: RawParameter], context: StageContext) throws(WinnowError) -> DocumentStage {
    try make(try StageParameters.validate(raw, against: parameters, stage: name), context)
  }

  /// Validates raw values and builds the phased version of a global stage.
  public func buildGlobal(_ raw: [String: RawParameter], context: StageContext) throws(WinnowError) -> GlobalStage? {
    guard let makeGlobal else { return nil }
    return try makeGlobal(try StageParameters.validate(raw, against: parameters, stage: name), context)
  }
}

extension String {
  /// snake_case → kebab-case.
  public func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
  /// kebab-case → snake_case.
  public func replacingHyphens() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}

/// A set of stages that can be looked up by name.
public struct StageRegistry: Sendable {
  public private(set) var descriptors: [StageDescriptor]

  public init(_ descriptors: [StageDescriptor]) { self.descriptors = descriptors }

  /// By snake_case or kebab-case name.
  public func descriptor(named name: String) -> StageDescriptor? {
    let key = name.replacingHyphens()
    return descriptors.first { $0.name == key }
  }

  public var names: [String] { descriptors.map(\.name) }

  /// Adds a stage (a program's own, say); one of the same name is replaced, so a program can
  /// also swap a built-in stage for its own version.
  public mutating func register(_ descriptor: StageDescriptor) {
    descriptors.removeAll { $0.name == descriptor.name }
    descriptors.append(descriptor)
  }
}
