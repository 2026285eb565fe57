import Foundation
import Testing
import WinnowCore
@_exported import WinnowTestSupport

@testable import WinnowRecipe

/// `source:line:column` of the first occurrence of `token` on the first line that contains
/// `lineFragment` (1-based, as editors count), found by searching the YAML text itself.
func position(in yaml: String, source: String, line lineFragment: String, token: String? = nil) -> String {
  let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
  guard let n = lines.firstIndex(where: { $0.contains(lineFragment) }) else { return "?(no line \(lineFragment))" }
  let line = String(lines[n])
  let t = token ?? lineFragment
  guard let r = line.range(of: t) else { return "?(no token \(t))" }
  return "\(source):\(n + 1):\(line.distance(from: line.startIndex, to: r.lowerBound) + 1)"
}

func jsonLines(_ path: String) -> [[String: Any]] { splitLines(readBytes(path)).map(parseObject) }

/// Lines of a possibly compressed file, decoded with Winnow's own reader.
func decodedLines(_ path: String) throws -> [[UInt8]] {
  let reader = LineReader(source: try openByteSource(InputFile(path: path)))
  defer { reader.close() }
  var out: [[UInt8]] = []
  while let line = try reader.nextLine() { out.append(Array(line)) }
  return out
}

func docLine(_ fields: [(String, String)]) -> [UInt8] {
  Array(("{" + fields.map { "\(jsonQuote($0.0)):\($0.1)" }.joined(separator: ",") + "}").utf8)
}

/// The `winnow` binary local-executor tests start as workers: `$WINNOW_BIN`, else the one built
/// next to this test bundle (same build directory, so the same sources), else
/// `<package root>/.build/debug/winnow`. Tests that need it are skipped, with this message,
/// when it is missing.
enum WinnowBinary {
  static let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

  static let candidates: [String] = {
    if let env = ProcessInfo.processInfo.environment["WINNOW_BIN"], !env.isEmpty {
      return [env.hasPrefix("/") ? env : packageRoot + "/" + env]
    }
    let exe = LocalExecutor.currentExecutable()
    var dir = (exe as NSString).deletingLastPathComponent
    // Inside a bundle (…/debug/WinnowPackageTests.xctest/…) the binary is beside the bundle.
    while dir.count > 1, dir.contains(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
    return [dir + "/winnow", packageRoot + "/.build/debug/winnow"]
  }()

  static let path: String = candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
  static let available = FileManager.default.isExecutableFile(atPath: path)
  static let missingMessage: Comment =
    "winnow binary not found (looked at \(candidates.joined(separator: ", "))): build it first (`swift build`) or set WINNOW_BIN"
}

/// Every file under `dir` with its bytes, by relative path: the outputs a run leaves. The run
/// state (`.winnow`) is left out except, when `records` is set, the task records; `stats.json`
/// is left out (it holds timings) and compared with `comparableStats`.
func snapshot(_ dir: TempDir, records: Bool = true, under sub: String = "") -> [String: [UInt8]] {
  let fm = FileManager.default
  let root = sub.isEmpty ? dir.path : dir.path + "/" + sub
  var out: [String: [UInt8]] = [:]
  guard let walker = fm.enumerator(atPath: root) else { return out }
  while let rel = walker.nextObject() as? String {
    let full = root + "/" + rel
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
    let name = (rel as NSString).lastPathComponent
    if name == "stats.json" { continue }
    if rel.contains(".winnow/") && !(records && rel.contains(".winnow/tasks/")) { continue }
    out[rel] = readBytes(full)
  }
  return out
}

func statsObject(_ path: String) throws -> [String: Any] {
  let data = try #require(FileManager.default.contents(atPath: path), "no \(path)")
  return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(path) is not an object")
}

/// stats.json without what may differ between two runs of the same plan: timings, which
/// executor ran it with how many workers, and how many tasks were skipped as already done.
func comparableStats(_ stats: [String: Any], dropping extra: Set<String> = []) -> NSDictionary {
  var s = stats
  for k in ["seconds", "tasks_skipped_as_done", "executor", "workers"] + extra { s[k] = nil }
  if let stages = s["stages"] as? [[String: Any]] {
    s["stages"] = stages.map { st -> [String: Any] in
      var st = st
      st["seconds"] = nil
      return st
    }
  }
  return s as NSDictionary
}
