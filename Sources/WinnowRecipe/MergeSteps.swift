import Foundation
import WinnowCore
import WinnowFeed

/// The steps that run once at the end of a run, after every pass: today the join of a side
/// output given as a file (`output.rejects: rejects.jsonl.zst`) from the shards each task wrote.
///
/// A step runs as a job through the run's executor (`PROGRAM worker RUN_DIR --merge KEY`), on a
/// worker like any task, so that on Slurm the coordinator's node does not copy the data; the
/// inline executor runs it in its own process. Each step is resumable on its own:
///
/// - The coordinator writes the step's inputs — the target and the parts, in task order, with
///   the size and checksum their task records give — to `.winnow/merge/KEY.parts.json`, and
///   removes `KEY.done`.
/// - The step verifies each part as it copies it (`ConcatenateParts`), puts the target in place
///   atomically, then writes `KEY.done`: the XXH3 of the parts file it merged.
/// - A later run of the same command skips the step only when `KEY.done` names exactly the
///   parts list it would write now and the target exists. A task redone since (a changed
///   input), a lost target or a damaged stamp: the step runs again. Never a stale join.
package enum MergeSteps {
  /// What one step merges: written by the coordinator, read by the step.
  package struct Inputs: Codable, Equatable, Sendable {
    package var key: String
    package var target: String
    package var parts: [WrittenFile]
    /// What the parts are: nil for files that concatenate (rejects, quarantine), `megatron` or
    /// `tokens` for a token export (the target is then the dataset's prefix).
    package var kind: String?

    package init(key: String, target: String, parts: [WrittenFile], kind: String? = nil) {
      self.key = key
      self.target = target
      self.parts = parts
      self.kind = kind
    }

    /// The files the step makes.
    var targetFiles: [String] {
      switch kind {
      case "megatron": return [target + ".bin", target + ".idx"]
      case "tokens": return [target + ".bin", target + ".json"]
      default: return [target]
      }
    }

    /// The step itself.
    func merge() throws(WinnowError) {
      switch kind {
      case nil: try ConcatenateParts(into: target, partKind: key).merge(parts)
      case "megatron": try MegatronMerge(into: target).merge(parts)
      case "tokens": try FlatTokenMerge(into: target).merge(parts)
      case let other?: throw .io("merge step \(key): unknown kind '\(other)'")
      }
    }
  }

  package static func directory(_ runDir: RunDirectory) -> String { runDir.stateDirectory + "/merge" }
  package static func partsPath(_ runDir: RunDirectory, key: String) -> String { directory(runDir) + "/\(key).parts.json" }
  package static func donePath(_ runDir: RunDirectory, key: String) -> String { directory(runDir) + "/\(key).done" }
  package static func logPath(_ runDir: RunDirectory, key: String) -> String { directory(runDir) + "/\(key).log" }

  /// Keys are names of side outputs: letters only, so a key is always a safe file name.
  static func checkKey(_ key: String) throws(WinnowError) {
    guard !key.isEmpty, key.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }) else {
      throw .usage("worker: --merge needs a side output's name (rejects, quarantine), got '\(key)'")
    }
  }

  /// The parts file's bytes: stable for the same inputs, so that its digest says whether a
  /// finished step merged exactly these parts.
  static func encode(_ inputs: Inputs) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Encoding plain strings and integers cannot fail.
    return Array((try? encoder.encode(inputs)) ?? Data()) + [0x0A]
  }

  static func digest(_ bytes: [UInt8]) -> String {
    let h = bytes.withUnsafeBufferPointer { XXH3.hash64($0) }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }

  /// The coordinator's side, before the step: whether it already ran on exactly these inputs
  /// (then nothing is done), else the step's parts file written afresh and its stamp removed.
  package static func prepare(_ inputs: Inputs, in runDir: RunDirectory) throws(WinnowError) -> Bool {
    try checkKey(inputs.key)
    let bytes = encode(inputs)
    let done = donePath(runDir, key: inputs.key)
    if let stamp = try? String(contentsOfFile: done, encoding: .utf8),
      stamp.trimmingCharacters(in: .whitespacesAndNewlines) == digest(bytes),
      inputs.targetFiles.allSatisfy({ FileManager.default.fileExists(atPath: $0) })
    {
      return true
    }
    unlink(done)
    try makeDirectories(directory(runDir))
    try writeTextFile(partsPath(runDir, key: inputs.key), String(decoding: bytes, as: UTF8.self))
    return false
  }

  /// The step itself (a worker's `--merge KEY`, or the inline executor's process): reads the
  /// parts file the coordinator wrote, joins the parts into the target, verifying each, and
  /// stamps the step done.
  package static func run(_ runDir: RunDirectory, key: String) throws(WinnowError) {
    try checkKey(key)
    let path = partsPath(runDir, key: key)
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .io("\(path): the merge step's list of parts is missing; run the same command again to write it")
    }
    let bytes = [UInt8](data)
    let inputs: Inputs
    do {
      inputs = try JSONDecoder().decode(Inputs.self, from: data)
    } catch {
      throw .io("\(path): the merge step's list of parts cannot be read (\(error.localizedDescription)); run the same command again to write it")
    }
    guard inputs.key == key else { throw .io("\(path): lists the parts of '\(inputs.key)', not of '\(key)'") }
    try inputs.merge()
    try writeTextFile(donePath(runDir, key: key), digest(bytes) + "\n")
  }

  /// Whether the step on `inputs` finished: its stamp names these inputs and the target exists.
  package static func isDone(_ inputs: Inputs, in runDir: RunDirectory) -> Bool {
    guard let stamp = try? String(contentsOfFile: donePath(runDir, key: inputs.key), encoding: .utf8) else { return false }
    return stamp.trimmingCharacters(in: .whitespacesAndNewlines) == digest(encode(inputs))
      && inputs.targetFiles.allSatisfy({ FileManager.default.fileExists(atPath: $0) })
  }
}
