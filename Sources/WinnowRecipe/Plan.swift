import WinnowCore

/// A recipe turned into work: passes of fused per-document stages, each pass split into tasks
/// over fixed sets of input files. Tasks are decided by the recipe alone — never by the
/// executor or the number of workers — so every executor writes the same shards.
public struct Plan {
  /// What the tasks of a pass do.
  public enum PassKind: String, Codable, Sendable {
    /// Read inputs, run the stages, write documents.
    case documents
    /// Global stage, map phase: run the stages before it, write sorted key runs per bucket.
    case map
    /// Global stage, a middle phase (reduce per bucket, cluster, …): tasks of the stage's own
    /// count that read and write the stage's intermediate files.
    case reduce
    /// Global stage, apply phase: read inputs again, drop what was marked, run the rest, write.
    case apply
  }

  public struct Pass: Sendable {
    public var kind: PassKind
    /// Input file indices of each task, in order (reduce tasks: empty, one per bucket).
    public var tasks: [[Int]]
  }

  /// The global stage of the recipe, if it has one, and where it stands.
  public struct Global {
    public var name: String
    public var position: Int
    public var stage: GlobalStage
  }

  public var recipe: Recipe
  public var inputs: [InputFile]
  public var passes: [Pass]
  /// Built per-document stages in recipe order (the global stage, if any, is left out).
  public var stages: [NamedStage]
  public var global: Global?
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
    var global: Global?
    for step in recipe.stages {
      guard let d = registry.descriptor(named: step.stage) else {
        let hint = closestName(step.stage, among: registry.names).map { " (did you mean '\($0)'?)" } ?? ""
        throw .usage("\(step.location): unknown stage '\(step.stage)'\(hint); 'winnow stages' lists them all")
      }
      do throws(WinnowError) {
        if let g = try d.buildGlobal(step.parameters, context: context) {
          if let first = global {
            throw WinnowError.usage(
              "only one global stage per recipe in this version ('\(first.name)' comes first); run a second recipe on this one's output")
          }
          global = Global(name: d.name, position: stages.count, stage: g)
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
    if let fixedInputs { inputs = fixedInputs } else { inputs = try InputSet.expand(recipe.input.paths) }
    if inputs.contains(where: \.isStdin) {
      throw .usage("\(recipe.source): a recipe reads files, not standard input ('-'); pipe into 'winnow <stage>' instead")
    }
    // `files_per_task` consecutive files make a task.
    let per = recipe.filesPerTask
    var tasks: [[Int]] = stride(from: 0, to: inputs.count, by: per).map { Array($0..<min($0 + per, inputs.count)) }
    if tasks.isEmpty { tasks = [[]] }
    let passes: [Pass]
    if let global {
      passes =
        [Pass(kind: .map, tasks: tasks)]
        + global.stage.middlePasses.map { Pass(kind: .reduce, tasks: Array(repeating: [], count: $0)) }
        + [Pass(kind: .apply, tasks: tasks)]
    } else {
      passes = [Pass(kind: .documents, tasks: tasks)]
    }
    return Plan(
      recipe: recipe, inputs: inputs, passes: passes, stages: stages, global: global,
      fingerprint: fingerprint(recipe, inputs: inputs))
  }

  static func fingerprint(_ r: Recipe, inputs: [InputFile]) -> String {
    var parts: [String] = [
      // Not the name, executor, workers, retries or strictness: they change how a run goes,
      // not what it writes. (A bucket count is kept: map runs of different counts do not mix.)
      "v2", String(r.seed), r.input.fields.text, r.input.fields.id, String(r.input.maxDocumentBytes),
      r.output.path, r.output.compression.rawValue, String(r.output.compressionLevel ?? -99),
      String(r.output.maxShardBytes ?? -1), String(r.output.maxShardDocs ?? -1), r.output.rejects ?? "-",
      r.output.quarantine ?? "-", String(r.filesPerTask),
    ]
    parts += inputs.map(\.path)
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
