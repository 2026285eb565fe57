import Glibc
import WinnowCore

/// Why a small text file could not be read.
struct ReadFailure: Error, CustomStringConvertible {
  var description: String
}

/// The whole of a small text file (a recipe), refusing what is not a regular file — a
/// directory, a device such as `/dev/zero` — and anything over `limit` bytes.
func readSmallTextFile(_ path: String, limit: Int) -> Result<String, ReadFailure> {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return .failure(ReadFailure(description: String(cString: strerror(errno)))) }
  defer { close(fd) }
  var st = stat()
  guard fstat(fd, &st) == 0 else { return .failure(ReadFailure(description: String(cString: strerror(errno)))) }
  switch st.st_mode & S_IFMT {
  case S_IFREG: break
  case S_IFDIR: return .failure(ReadFailure(description: "it is a directory, not a file"))
  case S_IFIFO: break  // a pipe (`<(…)`): read it, within the limit
  default: return .failure(ReadFailure(description: "it is not a regular file"))
  }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = read(fd, &chunk, chunk.count)
    if n < 0 {
      if errno == EINTR { continue }
      return .failure(ReadFailure(description: String(cString: strerror(errno))))
    }
    if n == 0 { break }
    bytes.append(contentsOf: chunk[0..<n])
    if bytes.count > limit { return .failure(ReadFailure(description: "it is larger than \(limit) bytes; a recipe is a small YAML file")) }
  }
  guard let text = String(validating: bytes, as: UTF8.self) else {
    return .failure(ReadFailure(description: "it is not UTF-8 text"))
  }
  return .success(text)
}
