import CTempFileCleanup
import Glibc

/// What an output path leads to, decided before anything is opened.
public enum OutputTarget: Equatable, Sendable {
  /// An open descriptor: `-`, `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`.
  /// Written directly and never closed: renaming a file over `/dev/stdout` would replace the
  /// system's link, and reopening it would lose the shell's append mode or offset.
  case descriptor(Int32)
  /// A character device, FIFO or socket (`/dev/null`, a named pipe): opened and written directly.
  case device(String)
  /// A regular file, existing or not, at this path — symlinks followed, so writing replaces the
  /// file a link points to and keeps the link. `existingMode` is the mode of the file it
  /// replaces.
  case file(String, existingMode: mode_t?)

  /// The descriptor a standard-stream name stands for.
  static func streamAlias(_ path: String) -> Int32? {
    switch path {
    case "-", "/dev/stdout": return 1
    case "/dev/stderr": return 2
    case "/dev/stdin": return 0
    default: break
    }
    for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
      if let n = Int32(path.dropFirst(prefix.count)), n >= 0 { return n }
    }
    return nil
  }

  /// Follows `path` (through at most 40 symlinks) to what writing it would touch.
  public static func resolve(_ path: String) throws(WinnowError) -> OutputTarget {
    var p = path
    for _ in 0..<40 {
      if let fd = streamAlias(p) {
        guard fd != 0 else { throw .usage("\(path): standard input is not an output") }
        guard fcntl(fd, F_GETFD) != -1 else { throw .usage("\(path): descriptor \(fd) is not open") }
        return .descriptor(fd)
      }
      var st = stat()
      if lstat(p, &st) != 0 {
        if errno == ENOENT { return .file(p, existingMode: nil) }
        throw .io("\(path): cannot look at \(p): \(errnoMessage())")
      }
      switch st.st_mode & S_IFMT {
      case S_IFLNK:
        guard let target = readSymlink(p) else { throw .io("\(path): cannot read the link \(p): \(errnoMessage())") }
        p = target.hasPrefix("/") ? target : parentDirectory(p) + "/" + target
      case S_IFREG: return .file(p, existingMode: st.st_mode & 0o7777)
      case S_IFDIR: throw .usage("\(path): is a directory, not a file")
      case S_IFBLK: throw .usage("\(path): is a block device; Winnow does not write to disks directly")
      default: return .device(p)
      }
    }
    throw .io("\(path): too many levels of symbolic links")
  }
}

/// The target of a symbolic link, or nil.
func readSymlink(_ path: String) -> String? {
  var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
  let n = readlink(path, &buffer, buffer.count - 1)
  guard n > 0 else { return nil }
  return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The directory part of a path (`.` for a bare name, `/` for a name in the root).
func parentDirectory(_ path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return "." }
  return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// The last component of `path` (everything after the last `/`).
public func fileName(of path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return path }
  return String(path[path.index(after: slash)...])
}

/// Hidden temporary files that outputs are written to before being renamed into place.
package enum TemporaryFiles {
  /// Creates a temporary file beside `target`, named `.<name>.tmp-<random>`, exclusively
  /// (`O_EXCL`: never an existing file; `O_NOFOLLOW`: never through a planted link), mode 0644.
  /// `display` names the output in errors.
  static func create(beside target: String, for display: String) throws(WinnowError) -> (Int32, String) {
    let dir = parentDirectory(target)
    var base = fileName(of: target)
    // Leave room for the prefix and suffix within the 255-byte limit of a name.
    if base.utf8.count > 200 { base = String(decoding: Array(base.utf8.prefix(200)), as: UTF8.self) }
    for _ in 0..<64 {
      let tag = hex64(UInt64.random(in: 0...UInt64.max))
      let temp = "\(dir)/.\(base).tmp-\(tag)"
      let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
      if fd >= 0 { return (fd, temp) }
      if errno != EEXIST { throw .io("\(display): cannot create \(temp): \(errnoMessage())") }
    }
    throw .io("\(display): cannot create a temporary file in \(dir)")
  }

  /// Marks `path` for removal if the process is interrupted; returns the slot to release.
  static func register(_ path: String) -> Int32 { Int32(wn_temp_register(path)) }

  static func unregister(_ slot: Int32) { wn_temp_unregister(slot) }

  /// Installs handlers that remove every temporary file still being written when the process
  /// gets SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXCPU or SIGXFSZ, then end it as the signal would. The command-line tool
  /// calls this at start; a program embedding Winnow decides for itself.
  package static func removeOnInterrupt() { wn_temp_install_handlers() }

  /// Temporary files currently being written (for tests).
  package static var inFlight: Int { Int(wn_temp_registered_count()) }

  /// Whether `name` is one of these temporary files (of an output named `output`, if given).
  package static func isTemporary(_ name: String, of output: String? = nil) -> Bool {
    guard name.hasPrefix("."), name.contains(".tmp-") else { return false }
    guard let output else { return true }
    return name.hasPrefix("." + output)
  }
}
