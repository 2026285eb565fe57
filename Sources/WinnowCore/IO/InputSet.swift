import Glibc

/// One input stream: a file, or standard input.
public struct InputFile: Sendable, Hashable {
  public var path: String
  /// For a Parquet file read in parts (a recipe's `row_groups_per_task`): the row groups of
  /// this part. nil: the whole file.
  public var rowGroups: Range<Int>?
  /// For an uncompressed JSON Lines file read in parts (a recipe's `mb_per_task`): the lines of
  /// this part. nil: the whole file.
  public var lines: LinePart?
  public var isStdin: Bool { path == "-" }
  public var displayName: String { isStdin ? "<stdin>" : path }
  /// The name and, for a part, which part: how a run's task lists, status and report name it.
  public var partName: String {
    if let g = rowGroups { return "\(displayName) (row groups \(g.lowerBound)–\(g.upperBound - 1))" }
    if let l = lines { return "\(displayName) (bytes \(l.start)–\(l.end - 1), from line \(l.firstLine))" }
    return displayName
  }

  /// The file at `path` (`-`: standard input), or the given row groups of a Parquet file, or
  /// the given lines of an uncompressed JSON Lines file.
  public init(path: String, rowGroups: Range<Int>? = nil, lines: LinePart? = nil) {
    self.path = path
    self.rowGroups = rowGroups
    self.lines = lines
  }

  public static let stdin = InputFile(path: "-")

  /// Size on disk, when it is a regular file.
  public var size: Int? {
    guard !isStdin else { return nil }
    var st = stat()
    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    return Int(st.st_size)
  }
}

/// Turns what the user named (files, directories, shell globs, `-`) into an ordered list of
/// input files. Directory contents and glob matches are sorted by byte order of the path, so
/// the same inputs always come in the same order.
public enum InputSet {
  /// File names a directory walk picks up.
  public static let documentSuffixes = [
    ".jsonl", ".jsonl.zst", ".jsonl.zstd", ".jsonl.gz", ".json", ".json.zst", ".json.gz", ".ndjson",
    ".ndjson.zst", ".ndjson.gz", ".parquet",
  ]

  public static func expand(_ specs: [String]) throws(WinnowError) -> [InputFile] {
    if specs.isEmpty { return [.stdin] }
    var out: [InputFile] = []
    for spec in specs {
      if spec == "-" {
        out.append(.stdin)
        continue
      }
      if isDirectory(spec) {
        let files = try walk(spec)
        if files.isEmpty {
          throw .usage("\(spec): directory holds no document files (\(documentSuffixes.joined(separator: ", ")))")
        }
        out.append(contentsOf: files.map { InputFile(path: $0) })
        continue
      }
      if spec.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) && !fileExists(spec) {
        let matches = glob(spec)
        if matches.isEmpty { throw .usage("\(spec): no file matches this pattern") }
        for m in matches {
          if isDirectory(m) {
            out.append(contentsOf: try walk(m).map { InputFile(path: $0) })
          } else if isRegularFile(m) {
            out.append(InputFile(path: m))
          } else {
            throw .usage("\(m): not a regular file (a FIFO, socket or device) matched by \(spec); name it on its own to read it")
          }
        }
        continue
      }
      guard fileExists(spec) else { throw .usage("\(spec): no such file or directory") }
      out.append(InputFile(path: spec))
    }
    return out
  }

  static func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
  }

  static func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
  }

  static func isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
  }

  static func glob(_ pattern: String) -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
    var out: [String] = []
    for k in 0..<Int(g.gl_pathc) {
      if let p = g.gl_pathv[k] { out.append(String(cString: p)) }
    }
    return out.sorted(by: byteOrder)
  }

  static func byteOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
  }

  /// Files a directory walk leaves out although their names match: the counts a run writes
  /// beside its shards, so that a run's output directory can be the next run's input.
  public static let reportFiles: Set<String> = ["stats.json"]

  /// The directories among what the user named (directly, or as glob matches): their files
  /// are inputs, so no output may be written inside them.
  public static func directories(named specs: [String]) -> [String] {
    var out: [String] = []
    for spec in specs where spec != "-" {
      if isDirectory(spec) {
        out.append(spec)
      } else if spec.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) && !fileExists(spec) {
        out += glob(spec).filter(isDirectory)
      }
    }
    return out
  }

  /// Whether a directory walk takes a file of this name for documents.
  public static func isDocumentFileName(_ name: String) -> Bool {
    !name.hasPrefix(".") && !reportFiles.contains(name) && documentSuffixes.contains(where: { name.hasSuffix($0) })
  }

  /// The document files directly inside `dir`, sorted. Subdirectories are not entered (a
  /// run directory keeps its rejects and quarantine in subdirectories), and hidden entries
  /// are skipped (they are where writers keep their temporary files). An entry with a document
  /// name that is not a regular file (a FIFO, a socket, a device) is an error: reading a FIFO
  /// nobody writes to would block forever, and skipping it would lose it silently. Name it on
  /// its own to read it.
  static func walk(_ dir: String) throws(WinnowError) -> [String] {
    var out: [String] = []
    for name in listDirectory(dir) where isDocumentFileName(name) {
      let path = dir.hasSuffix("/") ? dir + name : dir + "/" + name
      var st = stat()
      guard stat(path, &st) == 0 else {
        throw .io("\(path): cannot look at it: \(errnoMessage()) (a dangling symlink?)")
      }
      switch st.st_mode & S_IFMT {
      case S_IFREG: out.append(path)
      case S_IFDIR: continue
      default:
        throw .usage(
          "\(path): not a regular file (a FIFO, socket or device) in input directory \(dir); name it on its own to read it, or move it away")
      }
    }
    return out.sorted(by: byteOrder)
  }
}
