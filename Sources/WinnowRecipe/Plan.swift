import WinnowCore

/// A recipe turned into work: passes of fused per-document stages, each pass split into tasks
/// over fixed sets of input files. Tasks are decided by the recipe alone — never by the
/// executor or the number of workers — so every executor writes the same shards.
///
/// A recipe is a chain of per-document stages with any number of global stages in it:
/// `S0 G1 S1 G2 … Gk Sk`. Each global stage runs the passes it declares (`GlobalStage`). The
/// document stream reaching a global stage is written once, to the stage's store, by the pass
/// that runs the stages before it (the "stream" of the stage) — and then read by each of the
/// stage's document passes, so that no stage runs twice. Only the stream reaching the first
/// global stage of a recipe that starts with it is not written: it is the inputs themselves.
/// See docs/architecture.md, "Phases" and "Cost model".
public struct Plan {
  /// What the tasks of a pass do (for status and reports).
  public enum PassKind: String, Codable, Sendable {
    /// Read inputs (or a stream), run stages, write documents (the output, or the stream
    /// reaching a global stage).
    case documents
    /// A global stage's document pass that only observes: it writes the stage's files.
    case map
    /// A global stage's middle pass (reduce per bucket, cluster, …): tasks of the stage's own
    /// count that read and write the stage's intermediate files.
    case reduce
    /// A global stage's last pass, followed by the stages after it: drops, annotates or
    /// rewrites what the earlier passes decided, and writes documents.
    case apply
  }

  /// A pass of a global stage: the stage's index in `globals` and the pass's own number.
  public struct StagePass: Sendable, Equatable {
    public var global: Int
    public var pass: Int
  }

  /// Where the documents of a document pass come from.
  public enum Source: Sendable, Equatable {
    /// The recipe's input files.
    case inputs
    /// The stream reaching global stage `global`, written by the tasks of pass `pass`.
    case stream(global: Int, pass: Int)
  }

  /// Where the documents a document pass keeps go.
  public enum Sink: Sendable, Equatable {
    /// The recipe's output.
    case output
    /// The stream reaching global stage `global`.
    case stream(global: Int)
    /// Nowhere: an observing pass only counts them.
    case none
  }

  /// The work of one task of a document pass: read `source`, run the global stage `apply`'s
  /// last pass (if any) and then `stages`, show what is kept to `observe`, write it to `sink`.
  public struct DocumentWork: Sendable {
    public var source: Source
    public var apply: StagePass?
    /// Indices into `Plan.stages`.
    public var stages: Range<Int>
    public var observe: StagePass?
    public var sink: Sink
    /// Whether this pass's counts are the run's: passes that write documents are; observing
    /// passes (which read the same documents again for a global stage) are not.
    public var counted: Bool { sink != .none }
  }

  /// What a pass's tasks do: run documents through stages, or a global stage's middle pass.
  public enum Work: Sendable {
    case documents(DocumentWork)
    case middle(StagePass)
  }

  /// One pass of the plan: its kind and what each of its tasks reads.
  public struct Pass: Sendable {
    public var kind: PassKind
    /// Input file indices of each task, in order (middle tasks: empty).
    public var tasks: [[Int]]
    public var work: Work
  }

  /// A global stage of the recipe and where it stands.
  public struct Global {
    public var name: String
    /// The number of per-document stages before it.
    public var position: Int
    public var stage: GlobalStage
    public var passes: [PhasePass]
  }

  public var recipe: Recipe
  public var inputs: [InputFile]
  public var passes: [Pass]
  /// Built per-document stages in recipe order (global stages are left out).
  public var stages: [NamedStage]
  /// Global stages in recipe order.
  public var globals: [Global]
  /// Identifies what the plan computes: the recipe's meaning (not its executor, worker count or
  /// formatting) and its inputs. A run directory only resumes a plan with the same fingerprint.
  public var fingerprint: String

  /// Validates every stage's parameters and builds the stages. Errors name the recipe
  /// location of the offending step. `inputs` fixes the input list (workers take it from the
  /// plan file rather than expanding globs again).
  public static func make(
    _ recipe: Recipe, inputs fixedInputs: [InputFile]? = nil, registry: StageRegistry = StageCatalog.standard
  ) throws(WinnowError) -> Plan {
    let context = StageContext(seed: recipe.seed, fields: recipe.input.fields)
    var stages: [NamedStage] = []
    var globals: [Global] = []
    for step in recipe.stages {
      guard let d = registry.descriptor(named: step.stage) else {
        let hint = closestName(step.stage, among: registry.names).map { " (did you mean '\($0)'?)" } ?? ""
        throw .usage("\(step.location): unknown stage '\(step.stage)'\(hint); 'winnow stages' lists them all")
      }
      do throws(WinnowError) {
        if let g = try d.buildGlobal(step.parameters, context: context) {
          if let problem = g.passesProblem {
            throw WinnowError.usage("global stage '\(d.name)' cannot be planned: it \(problem)")
          }
          globals.append(Global(name: d.name, position: stages.count, stage: g, passes: g.passes))
        } else {
          stages.append(NamedStage(name: d.name, stage: try d.build(step.parameters, context: context)))
        }
      } catch {
        // Parameter errors already carry a location; others get the step's.
        let msg = error.message.hasPrefix(recipe.source) ? error.message : "\(step.location): \(error.message)"
        throw .usage(msg)
      }
    }
    let inputs: [InputFile]
    if let fixedInputs {
      inputs = fixedInputs
    } else {
      inputs = try splitByLines(
        try splitByRowGroups(try InputSet.expand(recipe.input.paths), per: recipe.rowGroupsPerTask), mb: recipe.mbPerTask)
      if let columns = recipe.input.columns { try requireColumns(columns, in: inputs) }
    }
    if inputs.contains(where: \.isStdin) {
      throw .usage("\(recipe.source): a recipe reads files, not standard input ('-'); pipe into 'winnow <stage>' instead")
    }
    // `files_per_task` consecutive files make a task.
    let per = recipe.filesPerTask
    var tasks: [[Int]] = stride(from: 0, to: inputs.count, by: per).map { Array($0..<min($0 + per, inputs.count)) }
    if tasks.isEmpty { tasks = [[]] }
    return Plan(
      recipe: recipe, inputs: inputs, passes: passes(globals: globals, stageCount: stages.count, tasks: tasks),
      stages: stages, globals: globals, fingerprint: fingerprint(recipe, inputs: inputs))
  }

  /// `tasks` (of `pass`) reordered so that those reading the most input bytes come first; ties
  /// and tasks that read no inputs (middle passes) keep plan order. Workers that take the next
  /// task as they free up then end the pass with short tasks rather than waiting on one long
  /// task started last. Only the order of starts changes: each task still writes its own
  /// files, and everything downstream reads them in task order.
  ///
  /// An input's weight is its size on disk, four times that for a compressed file (text
  /// shrinks about that much), shared equally among the parts of a Parquet file read in parts;
  /// a part of a JSON Lines file weighs its bytes.
  /// `weights` caches them across passes (empty: not computed yet).
  static func largestFirst(_ tasks: [TaskRef], of pass: Pass, weights: inout [Int], inputs: [InputFile]) -> [TaskRef] {
    guard tasks.count > 1, tasks.contains(where: { !pass.tasks[$0.task].isEmpty }) else { return tasks }
    if weights.count != inputs.count {
      var parts: [String: Int] = [:]
      for input in inputs where input.rowGroups != nil { parts[input.path, default: 0] += 1 }
      weights = inputs.map { input in
        if let l = input.lines { return l.end - l.start }
        let bytes = input.size ?? 0
        let scaled = Compression.forPath(input.path) == .none ? bytes : bytes.multipliedReportingOverflow(by: 4).partialValue
        return scaled / max(1, parts[input.path] ?? 1)
      }
    }
    let w = weights
    let weight = { (t: TaskRef) -> Int in
      pass.tasks[t.task].reduce(0) { sum, i in i < w.count ? sum.addingReportingOverflow(w[i]).partialValue : sum }
    }
    return tasks.enumerated().map { ($0.element, weight($0.element), $0.offset) }
      .sorted { a, b in a.1 != b.1 ? a.1 > b.1 : a.2 < b.2 }
      .map(\.0)
  }

  /// Whether `input` is a whole file over `bytes` that `mb_per_task` may cut: neither named as
  /// compressed nor as Parquet (`LinePart.cut` also sniffs its first bytes).
  static func mayBeCut(_ input: InputFile, over bytes: Int) -> Bool {
    !input.isStdin && input.rowGroups == nil && input.lines == nil && (input.size ?? 0) > bytes
      && Compression.forPath(input.path) == .none && !input.path.lowercased().hasSuffix(".parquet")
  }

  /// Uncompressed JSON Lines files larger than `mb` MiB, as parts of about that size cut at
  /// line ends (`LinePart.cut`: reads each such file once); other inputs as they are.
  static func splitByLines(_ inputs: [InputFile], mb: Int?) throws(WinnowError) -> [InputFile] {
    guard let mb else { return inputs }
    let per = mb << 20
    var out: [InputFile] = []
    for input in inputs {
      guard mayBeCut(input, over: per), let parts = try LinePart.cut(path: input.path, bytesPerPart: per), parts.count > 1
      else {
        out.append(input)
        continue
      }
      out += parts.map { InputFile(path: input.path, lines: $0) }
    }
    return out
  }

  /// Parquet files with more than `per` row groups, as parts of `per` row groups each (other
  /// inputs as they are). Reads each Parquet file's footer.
  static func splitByRowGroups(_ inputs: [InputFile], per: Int?) throws(WinnowError) -> [InputFile] {
    guard let per else { return inputs }
    var out: [InputFile] = []
    for input in inputs {
      guard !input.isStdin, ParquetFileMetadata.isParquet(path: input.path) else {
        out.append(input)
        continue
      }
      let groups = try ParquetFileMetadata.read(path: input.path).rowGroups.count
      guard groups > per else {
        out.append(input)
        continue
      }
      for start in stride(from: 0, to: groups, by: per) {
        out.append(InputFile(path: input.path, rowGroups: start..<min(start + per, groups)))
      }
    }
    return out
  }

  /// Refuses, before any task runs, a Parquet input that lacks a column of `input.columns`.
  static func requireColumns(_ columns: [String], in inputs: [InputFile]) throws(WinnowError) {
    var seen = Set<String>()
    for input in inputs where !input.isStdin && seen.insert(input.path).inserted && ParquetFileMetadata.isParquet(path: input.path) {
      let m = try ParquetFileMetadata.read(path: input.path)
      let schema = try ParquetSchema(m.schema, name: input.path)
      let names = schema.fields.map(\.name)
      for c in columns where !names.contains(c) {
        throw .usage("input.columns: \(input.path) has no column '\(c)' (it has: \(names.joined(separator: ", ")))")
      }
    }
  }

  /// The passes of a chain of `stageCount` per-document stages with `globals` among them.
  static func passes(globals: [Global], stageCount: Int, tasks: [[Int]]) -> [Pass] {
    var passes: [Pass] = []
    // What the next document-writing pass starts from.
    var source = Source.inputs
    var apply: StagePass?
    var start = 0
    func documents(_ w: DocumentWork) -> Pass {
      let kind: PassKind = w.apply != nil ? .apply : (w.sink == .none ? .map : .documents)
      return Pass(kind: kind, tasks: tasks, work: .documents(w))
    }
    for (g, global) in globals.enumerated() {
      let last = global.passes.count - 1
      let observesFirst = global.passes[0] == .documents
      let reaching: Source
      if source == .inputs && apply == nil && start == global.position {
        // Nothing runs before this stage: the stream reaching it is the inputs themselves.
        reaching = .inputs
        if observesFirst {
          passes.append(
            documents(DocumentWork(source: .inputs, apply: nil, stages: start..<start, observe: StagePass(global: g, pass: 0), sink: .none)))
        }
      } else {
        passes.append(
          documents(
            DocumentWork(
              source: source, apply: apply, stages: start..<global.position,
              observe: observesFirst ? StagePass(global: g, pass: 0) : nil, sink: .stream(global: g))))
        reaching = .stream(global: g, pass: passes.count - 1)
      }
      for (j, kind) in global.passes.enumerated() where j < last && !(j == 0 && observesFirst) {
        switch kind {
        case .documents:
          passes.append(
            documents(
              DocumentWork(source: reaching, apply: nil, stages: global.position..<global.position, observe: StagePass(global: g, pass: j), sink: .none)))
        case .middle(let count):
          let n = PhaseStore.tasksPerPass([.middle(count)], inputTasks: tasks.count)[0]
          passes.append(Pass(kind: .reduce, tasks: Array(repeating: [], count: n), work: .middle(StagePass(global: g, pass: j))))
        }
      }
      source = reaching
      apply = StagePass(global: g, pass: last)
      start = global.position
    }
    passes.append(documents(DocumentWork(source: source, apply: apply, stages: start..<stageCount, observe: nil, sink: .output)))
    return passes
  }

  /// The plan pass that runs pass `p` of a global stage (its last pass: the pass that applies it).
  public func passIndex(of p: StagePass) -> Int? {
    passes.firstIndex { pass in
      switch pass.work {
      case .middle(let m): return m == p
      case .documents(let w): return w.observe == p || w.apply == p
      }
    }
  }

  /// The first pass that reads the inputs: the one later input-reading passes must agree with.
  public var firstInputPass: Int? {
    passes.firstIndex { if case .documents(let w) = $0.work { return w.source == .inputs } else { return false } }
  }

  static func fingerprint(_ r: Recipe, inputs: [InputFile]) -> String {
    var parts: [String] = [
      // Not the name, executor, workers, retries or strictness: they change how a run goes,
      // not what it writes. (A bucket count is kept: map runs of different counts do not mix.)
      "v3", String(r.seed), r.input.fields.text, r.input.fields.id, String(r.input.maxDocumentBytes),
      r.output.path, r.output.compression.rawValue, String(r.output.compressionLevel ?? -99),
      String(r.output.maxShardBytes ?? -1), String(r.output.maxShardDocs ?? -1), r.output.rejects ?? "-",
      r.output.quarantine ?? "-", String(r.filesPerTask),
    ]
    // Where and how documents are written changes what a resumed run may trust: a run routed
    // by a field is not the same run unrouted. (Added only when set, so that fingerprints of
    // runs without them stay as they were.)
    if r.output.format != "jsonl" { parts.append("format=" + r.output.format) }
    if let field = r.output.routeBy { parts.append("route_by=" + field) }
    if let columns = r.input.columns { parts.append("columns=" + columns.joined(separator: "\u{1}")) }
    if let n = r.rowGroupsPerTask { parts.append("row_groups_per_task=\(n)") }
    if let n = r.mbPerTask { parts.append("mb_per_task=\(n)") }
    if let q = r.output.parquet {
      parts.append("parquet=\(q.codec.rawValue),\(q.level ?? -99),\(q.rowGroupBytes)")
      if let schema = q.schema { parts.append("parquet_schema=" + schema.map { "\($0.name):\($0.type.rawValue)" }.joined(separator: ",")) }
    }
    parts += inputs.map { input in
      if let l = input.lines { return "\(input.path)\u{1}bytes \(l.start)..<\(l.end) of \(l.fileBytes), line \(l.firstLine)" }
      return input.rowGroups.map { g in "\(input.path)\u{1}\(g.lowerBound)..<\(g.upperBound)" } ?? input.path
    }
    for step in r.stages {
      parts.append("stage:" + step.stage)
      for k in step.parameters.keys.sorted() {
        switch step.parameters[k]!.value {
        case .scalar(let v, let q): parts.append("\(k)=\(q ? "'" : "")\(v)")
        case .list(let items): parts.append("\(k)=[\(items.joined(separator: "\u{1}"))]")
        case .unsupported(let what): parts.append("\(k)?\(what)")
        }
      }
    }
    let hash = Array(parts.joined(separator: "\u{0}").utf8).withUnsafeBufferPointer { XXH3.hash128($0) }
    return hex(hash.high) + hex(hash.low)
  }

  static func hex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
  }
}
