import WinnowCore

/// The stages of this family (selection toward a target, balancing), for the registry.
public enum Select {
  /// The selection stages, for the stage catalog.
  public static let descriptors: [StageDescriptor] = [DSIRSelect.descriptor, Balance.descriptor, ClusterStage.descriptor, SemDedupStage.descriptor, BanditSelectStage.descriptor, DiversitySelectStage.descriptor, JoinStage.descriptor, EmbedStage.descriptor]
}
