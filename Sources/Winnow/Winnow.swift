// The library a trainer depends on: one import for documents, stages, pipelines and recipes.
@_exported import WinnowCore
@_exported import WinnowDedup
@_exported import WinnowFeed
@_exported import WinnowFilters
@_exported import WinnowMixing
@_exported import WinnowRecipe
@_exported import WinnowSelect
@_exported import WinnowReport
@_exported import WinnowText
@_exported import WinnowTokenizer

/// Call first thing in `main` of a program that embeds Winnow and runs recipes with the local or
/// Slurm executor: when this process was started as one of the run's workers, it runs its task
/// with the stages of `registry` and exits; otherwise it returns, and the run's workers will be
/// this same program — so that stages the program registered exist in its workers too.
///
///     var registry = StageCatalog.standard
///     registry.register(MyStage.descriptor)
///     Winnow.runWorkerIfRequested(registry: registry)
///     … RecipeRunner.run(recipe, options: options with .registry = registry) …
public func runWorkerIfRequested(registry: StageRegistry = StageCatalog.standard) {
  Worker.runIfRequested(registry: registry)
}
