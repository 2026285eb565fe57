import WinnowCore

/// The stages of this family, for the registry.
public enum Dedup {
  public static let descriptors: [StageDescriptor] = [ExactDedup.descriptor, MinHashDedup.descriptor, BloomDedup.descriptor, Decontaminate.descriptor]
}
