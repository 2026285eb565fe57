import WinnowCore

/// The training-feed stages (tokenization and token exports), for the registry.
public enum Feed {
  /// The feed stages, for the stage catalog.
  public static let descriptors: [StageDescriptor] = [TokenizeStage.descriptor]
}
