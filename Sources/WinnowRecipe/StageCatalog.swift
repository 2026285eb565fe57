import WinnowCore
import WinnowDedup
import WinnowFilters

/// Every stage Winnow knows, by name. Stage families register here and nowhere else.
public enum StageCatalog {
  public static let standard = StageRegistry(Filters.descriptors + Dedup.descriptors)
}
