import WinnowCore

/// A recipe turned into work: passes of fused per-document stages. In this version every
/// stage is per-document, so a plan is one pass over all inputs; global stages (phases with
/// barriers between them) will split a plan into several passes.
public struct Plan {
  public struct Pass {
    /// Built stages, in recipe order, fused into one pass.
    public var stages: [NamedStage]
  }

  public var recipe: Recipe
  public var inputs: [InputFile]
  public var passes: [Pass]

  /// Validates every stage's parameters and builds the stages. Errors name the recipe
  /// location of the offending step.
  public static func make(_ recipe: Recipe, registry: StageRegistry = StageCatalog.standard) throws(WinnowError) -> Plan {
    let context = StageContext(seed: recipe.seed, fields: recipe.input.fields)
    var stages: [NamedStage] = []
    for step in recipe.stages {
      guard let d = registry.descriptor(named: step.stage) else {
        let hint = closestName(step.stage, among: registry.names).map { " (did you mean '\($0)'?)" } ?? ""
        throw .usage("\(step.location): unknown stage '\(step.stage)'\(hint); 'winnow stages' lists them all")
      }
      do {
        stages.append(NamedStage(name: d.name, stage: try d.build(step.parameters, context: context)))
      } catch {
        // Parameter errors already carry a location; others get the step's.
        let msg = error.message.hasPrefix(recipe.source) ? error.message : "\(step.location): \(error.message)"
        throw .usage(msg)
      }
    }
    let inputs = try InputSet.expand(recipe.input.paths)
    return Plan(recipe: recipe, inputs: inputs, passes: [Pass(stages: stages)])
  }
}

/// Decides where the tasks of a plan run. Every executor runs the same stage code, so a
/// recipe gives the same output whichever runs it.
public protocol Executor {
  func execute(_ plan: Plan, options: PipelineOptions, output: OutputSpec) throws(WinnowError) -> RunStats
}

/// Runs the whole plan in the calling process.
public struct InlineExecutor: Executor {
  public init() {}

  public func execute(_ plan: Plan, options: PipelineOptions, output: OutputSpec) throws(WinnowError) -> RunStats {
    let writer = try DocumentWriter(output)
    let pipeline = Pipeline(stages: plan.passes.flatMap(\.stages))
    return try pipeline.run(inputs: plan.inputs, output: writer, options: options)
  }
}

/// `winnow run`: plans a recipe, runs it with its executor and writes `stats.json` beside
/// the output shards.
public enum RecipeRunner {
  public struct Result {
    public var stats: RunStats
    public var outputDirectory: String
    public var statsPath: String
  }

  public static func run(
    _ recipe: Recipe, executor override: String? = nil, strict: Bool? = nil, progress: ((Progress) -> Void)? = nil
  ) throws(WinnowError) -> Result {
    let executorName = override ?? recipe.executor
    guard executorName == "inline" else {
      throw .usage(
        "executor '\(executorName)' is not available in this version of winnow; use 'inline' (the default)")
    }
    let plan = try Plan.make(recipe)
    let out = recipe.output
    var options = PipelineOptions()
    options.fields = recipe.input.fields
    options.strict = strict ?? recipe.input.strict
    options.progress = progress
    // A re-run replaces what the previous run of the recipe wrote.
    // Side outputs follow the main output's compression when they are directories, and
    // their own extension when they are files. A re-run replaces what the last run wrote.
    func sideOutput(_ path: String) -> OutputSpec {
      OutputSpec(
        path: path, compression: OutputSpec(path: path).isDirectory ? out.compression : nil,
        compressionLevel: out.compressionLevel, overwrite: true)
    }
    options.rejects = out.rejects.map(sideOutput)
    options.quarantine = out.quarantine.map(sideOutput)
    let spec = OutputSpec(
      path: out.path, compression: out.compression, compressionLevel: out.compressionLevel,
      maxShardBytes: out.maxShardBytes, maxShardDocs: out.maxShardDocs, overwrite: true)
    guard spec.isDirectory else {
      throw .usage("\(recipe.source): 'output.path' must be a directory for the shards, got '\(out.path)'")
    }
    let stats = try InlineExecutor().execute(plan, options: options, output: spec)
    let dir = out.path.hasSuffix("/") ? String(out.path.dropLast()) : out.path
    let statsPath = dir + "/stats.json"
    try writeTextFile(
      statsPath,
      stats.json(extra: [
        ("recipe", JSONString.quoted(recipe.name)), ("executor", JSONString.quoted(executorName)),
        ("seed", String(recipe.seed)),
      ]))
    return Result(stats: stats, outputDirectory: dir, statsPath: statsPath)
  }
}
