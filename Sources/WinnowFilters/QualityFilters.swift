import WinnowCore

/// The paper-standard quality heuristics (Gopher, C4, FineWeb), for the registry.
public enum QualityFilters {
  public static let descriptors: [StageDescriptor] = []
}
