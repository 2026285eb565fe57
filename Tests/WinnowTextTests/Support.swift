import Foundation
import WinnowText

/// Runs `body` over the UTF-8 bytes of `s`.
func withUTF8<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
  let bytes = Array(s.utf8)
  return try bytes.withUnsafeBufferPointer(body)
}

func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

func nfc(_ s: String, _ form: NormalizationForm = .nfc) -> String {
  var n = TextNormalizer()
  var out: [UInt8] = []
  withUTF8(s) { n.normalize($0, form: form, into: &out) }
  return string(out)
}

func lower(_ s: String) -> String {
  var n = TextNormalizer()
  var out: [UInt8] = []
  withUTF8(s) { n.lowercase($0, into: &out) }
  return string(out)
}

func dedupKey(_ s: String) -> String {
  var n = DedupKeyNormalizer()
  var out: [UInt8] = []
  withUTF8(s) { n.normalize($0, into: &out) }
  return string(out)
}

enum Python {
  static let executable: String? = {
    for path in ["/usr/bin/python3", "/usr/local/bin/python3"]
    where FileManager.default.isExecutableFile(atPath: path) {
      return path
    }
    return nil
  }()

  static var available: Bool { executable != nil }

  /// Runs `script` with a JSON document on stdin and decodes its JSON stdout.
  static func run(_ script: String, input: Any) throws -> Any {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable!)
    process.arguments = ["-c", script]
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    let data = try JSONSerialization.data(withJSONObject: input)
    stdin.fileHandleForWriting.write(data)
    try stdin.fileHandleForWriting.close()
    let result = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw CocoaError(.executableLoad)
    }
    return try JSONSerialization.jsonObject(with: result)
  }
}
