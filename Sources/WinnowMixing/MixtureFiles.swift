import WinnowCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reading the mixture tools' small files whole, with POSIX calls: a size limit checked before
/// anything is allocated, and an error naming the file (standard input for `-`).
enum MixtureFiles {
  /// The bytes of `path`, at most `limit` of them.
  static func read(_ path: String, limit: Int = 1 << 30) throws(WinnowError) -> [UInt8] {
    let fd = path == "-" ? dup(0) : open(path, O_RDONLY)
    guard fd >= 0 else { throw .io("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw .io("\(path): cannot read (\(String(cString: strerror(errno))))")
      }
      if n == 0 { break }
      guard out.count + n <= limit else { throw .io("\(path): more than \(limit) bytes, too large for this file") }
      out.append(contentsOf: chunk[0..<n])
    }
    return out
  }

  /// The text of `path`, which must be UTF-8.
  static func text(_ path: String, limit: Int = 1 << 30) throws(WinnowError) -> String {
    let bytes = try read(path, limit: limit)
    guard let s = String(validating: bytes, as: UTF8.self) else { throw .io("\(path): not UTF-8 text") }
    return s
  }
}
