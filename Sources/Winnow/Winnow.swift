// The library a trainer depends on: one import for documents, stages, pipelines and recipes.
@_exported import WinnowCore
@_exported import WinnowDedup
@_exported import WinnowFilters
@_exported import WinnowRecipe
@_exported import WinnowText
