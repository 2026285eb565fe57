import WinnowCore

/// Word lists, URL block lists, normalisation and PII redaction, for the registry.
public enum CleaningFilters {
  public static let descriptors: [StageDescriptor] = [
    WordlistFilter.descriptor, UrlBlocklistFilter.descriptor, NormalizeStage.descriptor, PiiRedactStage.descriptor,
  ]
}
