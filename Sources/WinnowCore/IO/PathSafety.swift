import Glibc

/// A file or directory's identity on this machine: device and inode. Two paths with the same
/// identity are the same file, whatever symlinks, `..` or hard links lie between them.
package struct FileIdentity: Hashable, Sendable {
  package var device: UInt64
  package var inode: UInt64

  init(_ st: stat) {
    device = UInt64(st.st_dev)
    inode = UInt64(st.st_ino)
  }

  /// The identity of what `path` leads to (symlinks followed), or nil when it does not exist.
  package init?(path: String) {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    self.init(st)
  }

  /// The identity of an open descriptor's file when it is a regular file (a redirected
  /// standard stream), or nil (a terminal, a pipe).
  package init?(regularFileOn fd: Int32) {
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    self.init(st)
  }
}

/// Absolute paths with symlinks resolved, for telling whether one path lies inside another.
package enum CanonicalPath {
  /// `path` made absolute with every symlink in its existing part resolved; the part that does
  /// not exist yet is appended with `.` and `..` applied (it holds no symlinks).
  package static func of(_ path: String) -> String {
    var components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    var base = path.hasPrefix("/") ? "/" : currentDirectory()
    // The longest prefix that exists is resolved by realpath; the rest is applied by hand.
    var missing: [String] = []
    while true {
      let prefix = (path.hasPrefix("/") ? "/" : "") + components.joined(separator: "/")
      if let resolved = realPath(components.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : prefix) {
        base = resolved
        break
      }
      guard let last = components.popLast() else { break }
      missing.insert(last, at: 0)
    }
    var parts = base.split(separator: "/").map(String.init)
    for m in missing {
      if m == "." { continue }
      if m == ".." {
        _ = parts.popLast()
      } else {
        parts.append(m)
      }
    }
    return "/" + parts.joined(separator: "/")
  }

  /// Whether `inner` is `outer` or lies below it (both canonical).
  package static func isWithin(_ inner: String, _ outer: String) -> Bool {
    inner == outer || inner.hasPrefix(outer == "/" ? "/" : outer + "/")
  }

  static func realPath(_ path: String) -> String? {
    guard let r = realpath(path, nil) else { return nil }
    defer { free(r) }
    return String(cString: r)
  }

  static func currentDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { return "/" }
    return String(cString: buffer)
  }
}

/// Refuses, before anything is opened, outputs that would destroy or be mixed into what a run
/// reads, and outputs that would collide with each other:
///
/// - an output (documents, rejects, quarantine, stats, a run directory, a saved filter) that
///   is an input file, lies inside an input directory, or is a directory holding an input;
/// - standard output redirected into an input file (`winnow cat in.jsonl >> in.jsonl`);
/// - two outputs on the same file or directory, or the same stream;
/// - a side file written directly inside a directory of shards, where the next run reading the
///   directory would take it for a shard.
///
/// Paths are compared by device and inode and by their canonical form (symlinks and `..`
/// resolved), so no spelling of a path gets around the check.
package struct OutputGuard {
  package struct Input {
    /// How the user named it, for messages: `input`, `input.paths`, `--words-file` …
    package var role: String
    package var path: String
    package var isDirectory: Bool

    package init(role: String, path: String, isDirectory: Bool) {
      self.role = role
      self.path = path
      self.isDirectory = isDirectory
    }
  }

  package struct Output {
    /// How the user named it, for messages: `--output`, `output.rejects` …
    package var role: String
    package var path: String
    /// A directory of shards (or a run directory), rather than one file.
    package var isDirectory: Bool

    package init(role: String, path: String, isDirectory: Bool) {
      self.role = role
      self.path = path
      self.isDirectory = isDirectory
    }
  }

  package var inputs: [Input] = []
  package var outputs: [Output] = []

  package init() {}

  /// Inputs as a command expanded them: the files, the directories named, and standard input.
  package mutating func addInputs(_ files: [InputFile], named specs: [String], role: String) {
    for f in files where !f.isStdin { inputs.append(Input(role: role, path: f.path, isDirectory: false)) }
    for d in InputSet.directories(named: specs) { inputs.append(Input(role: role, path: d, isDirectory: true)) }
    if files.contains(where: \.isStdin) { inputs.append(Input(role: "standard input", path: "-", isDirectory: false)) }
  }

  package mutating func addOutput(_ path: String, role: String, isDirectory: Bool) {
    outputs.append(Output(role: role, path: path, isDirectory: isDirectory))
  }

  /// Where an input or output leads: its identity if it exists, and its canonical path.
  struct Place {
    var identity: FileIdentity?
    var canonical: String?
    var isDirectory: Bool
    var describe: String
  }

  func place(of input: Input) -> Place {
    if input.path == "-" {
      return Place(identity: FileIdentity(regularFileOn: 0), canonical: nil, isDirectory: false, describe: "standard input")
    }
    return Place(
      identity: FileIdentity(path: input.path), canonical: CanonicalPath.of(input.path), isDirectory: input.isDirectory,
      describe: "\(input.role) \(input.path)")
  }

  func place(of output: Output) throws(WinnowError) -> Place {
    let describe = output.path == "-" ? "standard output" : "\(output.role) \(output.path)"
    if output.isDirectory {
      return Place(
        identity: FileIdentity(path: output.path), canonical: CanonicalPath.of(output.path), isDirectory: true,
        describe: describe)
    }
    switch try OutputTarget.resolve(output.path) {
    case .descriptor(let fd):
      // A redirected stream is compared by the file it writes to; a terminal or pipe by itself.
      if let id = FileIdentity(regularFileOn: fd) {
        return Place(identity: id, canonical: nil, isDirectory: false, describe: describe)
      }
      return Place(identity: nil, canonical: "/dev/fd/\(fd)", isDirectory: false, describe: describe)
    case .device(let path):
      // A device or pipe cannot be an input file; writing /dev/null twice is harmless.
      return Place(identity: nil, canonical: path == "/dev/null" ? nil : CanonicalPath.of(path), isDirectory: false, describe: describe)
    case .file(let target, _):
      return Place(identity: FileIdentity(path: target), canonical: CanonicalPath.of(target), isDirectory: false, describe: describe)
    }
  }

  /// Throws a usage error naming both paths at the first conflict.
  package func check() throws(WinnowError) {
    let ins = inputs.map(place(of:))
    var outs: [Place] = []
    for o in outputs { outs.append(try place(of: o)) }
    for o in outs {
      for i in ins {
        if let a = o.identity, let b = i.identity, a == b {
          throw .usage("\(o.describe) is \(i.describe): writing it would destroy the input; choose another output")
        }
        guard let oc = o.canonical, let ic = i.canonical else { continue }
        if i.isDirectory && CanonicalPath.isWithin(oc, ic) {
          throw .usage(
            "\(o.describe) lies inside \(i.describe): the output would be mixed into the input; choose an output outside it")
        }
        if o.isDirectory && CanonicalPath.isWithin(ic, oc) {
          throw .usage("\(o.describe) contains \(i.describe): writing it could destroy the input; choose another output directory")
        }
      }
    }
    for a in outs.indices {
      for b in outs.indices where b > a {
        let (x, y) = (outs[a], outs[b])
        let sameFile = x.identity != nil && x.identity == y.identity
        let samePath = x.canonical != nil && x.canonical == y.canonical
        if sameFile || samePath {
          throw .usage("\(x.describe) and \(y.describe) are the same path: their contents would be mixed; give each its own")
        }
        for (dir, file) in [(x, y), (y, x)] where dir.isDirectory && !file.isDirectory {
          guard let dc = dir.canonical, let fc = file.canonical else { continue }
          let name = fileName(of: fc)
          if parentDirectory(fc) == dc && InputSet.isDocumentFileName(name) {
            throw .usage(
              "\(file.describe) lies in the shard directory of \(dir.describe): whoever reads that directory would take it for a shard; put it in a subdirectory or elsewhere"
            )
          }
        }
      }
    }
  }
}

extension OutputGuard {
  /// The files a stage's parameters name (`ParameterSpec.file`): those it reads join the
  /// inputs, those it writes the outputs. Parameters that do not validate are left to the
  /// stage's own build, which reports them.
  package mutating func addStageFiles(_ d: StageDescriptor, _ raw: [String: RawParameter], flagStyle: Bool = false) {
    guard let p = try? StageParameters.validate(raw, against: d.parameters, stage: d.name) else { return }
    for spec in d.parameters {
      guard let role = spec.file else { continue }
      let paths = p.string(spec.name).map { [$0] } ?? p.list(spec.name) ?? []
      let name = flagStyle ? spec.flag : "\(d.name).\(spec.name)"
      for path in paths {
        switch role {
        case .reads: inputs.append(Input(role: name, path: path, isDirectory: false))
        case .readsDirectory: inputs.append(Input(role: name, path: path, isDirectory: true))
        case .writes: outputs.append(Output(role: name, path: path, isDirectory: false))
        }
      }
    }
  }
}
