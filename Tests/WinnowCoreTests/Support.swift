import Foundation
import Testing

@testable import WinnowCore

// Shared helpers for the WinnowCore tests: reference implementations (Python, CLIs), temporary
// directories, a seeded generator and byte/string conversions.

/// Deterministic generator (SplitMix64), so generated cases are the same on every run and a
/// failure can be reproduced.
struct SeededGenerator: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

func utf8String(_ bytes: some Sequence<UInt8>) -> String { String(decoding: Array(bytes), as: UTF8.self) }

func hexString(_ bytes: some Sequence<UInt8>) -> String {
  bytes.map { String(format: "%02x", $0) }.joined()
}

func bytesFromHex(_ hex: String) -> [UInt8] {
  var out: [UInt8] = []
  var it = hex.utf8.makeIterator()
  while let a = it.next(), let b = it.next() {
    out.append(UInt8(String(decoding: [a, b], as: UTF8.self), radix: 16)!)
  }
  return out
}

/// Scans `bytes` as one JSON Lines record; nil when it is accepted.
func scanFailure(_ bytes: [UInt8]) -> JSONScanError? {
  var scanner = JSONScanner()
  do {
    try bytes.withUnsafeBufferPointer { (p) throws(JSONScanError) in try scanner.scanObject(p) }
    return nil
  } catch {
    return error
  }
}

/// Validates any JSON value; nil when it is accepted.
func valueFailure(_ bytes: [UInt8]) -> JSONScanError? {
  do {
    try bytes.withUnsafeBufferPointer { (p) throws(JSONScanError) in try JSONScanner.validateValue(p) }
    return nil
  } catch {
    return error
  }
}

/// `JSONString.unescape` of the contents of a quoted string literal (quotes included in `quoted`).
/// The contents of a quoted JSON string, decoded by both unescapes (appending, and in place);
/// when they disagree, the result has a byte no UTF-8 text holds, so that the test fails.
func unescapeQuoted(_ quoted: [UInt8]) -> [UInt8] {
  var out: [UInt8] = []
  let inPlace: [UInt8] = quoted.withUnsafeBufferPointer { p in
    let inner = UnsafeBufferPointer(rebasing: p[1..<(p.count - 1)])
    JSONString.unescape(inner, into: &out)
    // Exactly as much room as the escaped bytes: the in-place unescape must not need more.
    let room = UnsafeMutablePointer<UInt8>.allocate(capacity: max(inner.count, 1))
    defer { room.deallocate() }
    let n = JSONString.unescape(inner, to: room)
    return Array(UnsafeBufferPointer(start: room, count: n))
  }
  return inPlace == out ? out : out + [0xFF]
}

func quotedBytes(_ s: String) -> [UInt8] {
  var out: [UInt8] = []
  JSONString.appendQuoted(s, to: &out)
  return out
}

/// Python 3, used as an independent reference for JSON. Each test batches all its cases into
/// one subprocess so the suite stays fast.
enum Python {
  static let executable: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
      let candidate = "\(dir)/python3"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }()

  static var available: Bool { executable != nil }

  /// Runs `script` with `sys.argv[1]` naming a file that holds `input` as JSON, and decodes the
  /// JSON the script prints. The input goes through a file rather than a pipe so that a large
  /// output cannot deadlock against an unread input.
  static func run(_ script: String, input: Any) throws -> Any {
    let dir = try TempDir()
    let inputURL = dir.url.appendingPathComponent("input.json")
    try JSONSerialization.data(withJSONObject: input).write(to: inputURL)
    let result = try Shell.run(executable!, ["-c", script, inputURL.path])
    guard result.status == 0 else {
      throw ShellError(message: "python3 failed: \(utf8String(result.stderr))")
    }
    return try JSONSerialization.jsonObject(with: Data(result.stdout))
  }
}

struct ShellError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}

/// Runs command-line tools (zstd, gzip, python3).
enum Shell {
  struct Result {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]
  }

  static func which(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") + ["/usr/bin", "/bin"] {
      let candidate = "\(dir)/\(tool)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  /// Runs `tool` with `arguments`; standard input is empty. Output is collected through files
  /// so that neither stream can fill up and block the child.
  static func run(_ tool: String, _ arguments: [String]) throws -> Result {
    let dir = try TempDir()
    let outURL = dir.url.appendingPathComponent("stdout")
    let errURL = dir.url.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool.hasPrefix("/") ? tool : (which(tool) ?? tool))
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return Result(
      status: process.terminationStatus, stdout: Array(try Data(contentsOf: outURL)),
      stderr: Array(try Data(contentsOf: errURL)))
  }

  /// Runs a tool that must succeed and returns its standard output.
  @discardableResult
  static func check(_ tool: String, _ arguments: [String]) throws -> [UInt8] {
    let r = try run(tool, arguments)
    guard r.status == 0 else {
      throw ShellError(message: "\(tool) \(arguments.joined(separator: " ")) failed: \(utf8String(r.stderr))")
    }
    return r.stdout
  }
}

/// A fresh directory under the system temporary directory, removed when the value goes away.
final class TempDir {
  let url: URL
  var path: String { url.path }

  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("winnow-core-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  func file(_ name: String) -> String { url.appendingPathComponent(name).path }

  @discardableResult
  func write(_ name: String, _ bytes: [UInt8]) throws -> String {
    let p = file(name)
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    return p
  }

  @discardableResult
  func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

  /// Every entry, hidden ones included, sorted.
  func entries(_ sub: String = "") throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: sub.isEmpty ? path : file(sub)).sorted()
  }
}

func readBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

func fileExists(atPath path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

/// Every line of `path` as read by `openByteSource` + `LineReader`, copied out.
func readAllLines(_ path: String, initialCapacity: Int = 1 << 22) throws(WinnowError) -> [[UInt8]] {
  let reader = LineReader(source: try openByteSource(InputFile(path: path)), initialCapacity: initialCapacity)
  defer { reader.close() }
  var lines: [[UInt8]] = []
  while let line = try reader.nextLine() { lines.append(Array(line)) }
  return lines
}

/// Decompresses any of our output formats with the reference CLI tools.
func decompressWithCLI(_ path: String) throws -> [UInt8] {
  if path.hasSuffix(".zst") { return try Shell.check("zstd", ["-dc", "-q", path]) }
  if path.hasSuffix(".gz") { return try Shell.check("gzip", ["-dc", path]) }
  return try readBytes(path)
}

/// Sample JSON lines with a text that varies in length and content.
func sampleLines(_ n: Int, seed: UInt64 = 1) -> [String] {
  var rng = SeededGenerator(seed: seed)
  let words = ["alpha", "beta", "gamma", "δέλτα", "эпсилон", "ζ", "日本", "😀", "quote\"d", "back\\slash", "tab\t"]
  return (0..<n).map { i in
    let count = Int.random(in: 1...30, using: &rng)
    let text = (0..<count).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
    return "{\"id\":\"doc-\(i)\",\"text\":\(JSONString.quoted(text)),\"n\":\(i)}"
  }
}

extension WinnowError {
  var isUsage: Bool { if case .usage = kind { return true } else { return false } }
  var isIO: Bool { if case .io = kind { return true } else { return false } }
  var isBadInput: Bool { if case .badInput = kind { return true } else { return false } }
}

/// Runs `body` and returns the `WinnowError` it throws, or nil when it does not throw. Any
/// other error is recorded as a test failure.
func winnowError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> WinnowError? {
  do {
    try body()
    return nil
  } catch let e as WinnowError {
    return e
  } catch {
    Issue.record("expected a WinnowError, got \(error)", sourceLocation: sourceLocation)
    return nil
  }
}

let toolsAvailable = Shell.which("zstd") != nil && Shell.which("gzip") != nil
