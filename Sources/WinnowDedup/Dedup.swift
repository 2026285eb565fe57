import WinnowCore

/// The stages of this family, for the registry.
public enum Dedup {
  public static let descriptors: [StageDescriptor] = [ExactDedup.descriptor, Decontaminate.descriptor]
}
