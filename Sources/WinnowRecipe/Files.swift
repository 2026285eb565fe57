import Glibc
import WinnowCore

/// The whole of a small text file, or nil when it cannot be read.
func readTextFile(_ path: String) -> String? {
  guard let f = fopen(path, "rb") else { return nil }
  defer { fclose(f) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = fread(&chunk, 1, chunk.count, f)
    if n <= 0 { break }
    bytes.append(contentsOf: chunk[0..<n])
  }
  return String(decoding: bytes, as: UTF8.self)
}

/// Writes a small text file atomically (temporary name, then rename).
public func writeTextFile(_ path: String, _ text: String) throws(WinnowError) {
  let sink = try openByteSink(path: path, compression: .none, level: nil)
  do throws(WinnowError) {
    try sink.write(Array(text.utf8))
    try sink.finish()
  } catch {
    sink.abort()
    throw error
  }
}
