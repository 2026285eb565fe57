import WinnowCore

/// A document's position in a run as one 64-bit key: its input task in the high 24 bits and its
/// ordinal among the documents reaching the stage in that task in the low 40, so that sorting
/// keys sorts by input order. The middle passes of semdedup, diversity_select and bandit_select
/// key their records so; the apply pass of task t keeps the keys of t.
enum TaskOrdinalKey {
  static let ordinalBits: UInt64 = 40

  static func make(task: Int, ordinal: UInt64) -> UInt64 { UInt64(task) << ordinalBits | ordinal }
  static func task(of key: UInt64) -> UInt64 { key >> ordinalBits }
  static func ordinal(of key: UInt64) -> UInt64 { key & ((1 << ordinalBits) - 1) }

  /// Refuses a task number the key cannot hold (more than 2^24 input tasks).
  static func check(_ phase: PhaseTask, stage: String) throws(WinnowError) {
    guard phase.task < 1 << 24 else { throw .usage("stage '\(stage)': more than 2^24 input tasks") }
  }
}
