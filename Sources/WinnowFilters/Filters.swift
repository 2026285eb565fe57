import WinnowCore

/// The per-document filter stages of this family, for the registry.
public enum Filters {
  public static let descriptors: [StageDescriptor] =
    [LengthFilter.descriptor, FieldFilter.descriptor, SampleFilter.descriptor]
    + QualityFilters.descriptors + CleaningFilters.descriptors
    + [FastTextScoreStage.descriptor, FastTextFilterStage.descriptor, LanguageStage.descriptor, DomainStage.descriptor]
}
