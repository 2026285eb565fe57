import Glibc
import WinnowCore

/// `join`: copies fields of a JSON Lines side file (influence scores from a MATES- or
/// Quad-style scorer, labels, metadata) onto the documents whose id matches, as a hash join
/// spread over buckets, so that memory holds one bucket of the side file at a time, never the
/// whole of it or of the corpus.
///
/// A side record matches a document when its `key` field (a string, or a number as written)
/// equals the document's `on` field (its id by default), compared by their 128-bit XXH3. The
/// first record of an id wins; later records of the same id are counted and left out. The
/// fields copied are `fields` (default: every field but the key), under the same names (or with
/// `prefix`), written as they appear in the side file; a document field of the same name is
/// replaced. Documents without a match are kept unchanged (`missing: keep`) or dropped
/// (`join_no_match`).
///
/// Passes (docs/architecture.md, "Phases"):
/// 1. documents: each task's (id hash, ordinal) entries, per bucket, sorted;
/// 2. middle × buckets: the side file is read, its records of the bucket kept; the entries of
///    every task are merged with them; the matches are written per input task;
/// 3. documents (apply): each document gets its match's fields.
public final class JoinStage: GlobalStage, DocumentStage {
  /// The recipe name, parameters and factories.
  public static let descriptor = StageDescriptor(
    name: "join",
    summary: "Copy fields of a JSON Lines side file (scores by id) onto the documents with the same id",
    role: .transform,
    parameters: [
      ParameterSpec("file", .scalarList, required: true, file: .reads, help: "the side file(s): JSON Lines (compressed or not), one record per id"),
      ParameterSpec("key", .string, default: .string("id"), help: "the side records' id field"),
      ParameterSpec("on", .string, help: "the documents' field to match (default: the id field)"),
      ParameterSpec("fields", .scalarList, help: "side fields to copy (default: all but the key)"),
      ParameterSpec("prefix", .string, default: .string(""), help: "put before each copied field's name"),
      ParameterSpec("missing", .choice(["keep", "drop"]), default: .string("keep"), help: "documents without a match: keep unchanged, or drop (join_no_match)"),
      ParameterSpec("buckets", .int(min: 1, max: 4096), default: .int(16), help: "middle tasks; each holds 1/buckets of the side file"),
    ],
    makeGlobal: { (p, _) throws(WinnowError) in try JoinStage(p) },
    make: { (_, _) throws(WinnowError) in
      throw .usage("stage 'join' matches every document against the side file: run it in a recipe ('winnow run')")
    })

  /// Drop reason of a document without a match (`missing: drop`).
  public static let noMatch = "join_no_match"

  /// The side files (JSON Lines).
  public let files: [String]
  /// The side records' id field.
  public let key: String
  /// The documents' field to match (nil: the id field).
  public let on: String?
  /// Side fields to copy (nil: all but the key).
  public let fields: [String]?
  /// Put before each copied field's name.
  public let prefix: String
  /// Drop documents without a match (else keep them unchanged).
  public let dropMissing: Bool
  /// Middle tasks, each holding 1/buckets of the side file.
  public let buckets: Int

  /// A stage with these settings (the recipe parameters of the same names).
  public init(
    files: [String], key: String = "id", on: String? = nil, fields: [String]? = nil, prefix: String = "", dropMissing: Bool = false,
    buckets: Int = 16
  ) {
    precondition(buckets >= 1)
    self.files = files
    self.key = key
    self.on = on
    self.fields = fields
    self.prefix = prefix
    self.dropMissing = dropMissing
    self.buckets = buckets
  }

  convenience init(_ p: StageParameters) throws(WinnowError) {
    let files = p.list("file") ?? []
    guard !files.isEmpty else { throw .usage("stage 'join': file names no side file") }
    self.init(
      files: files, key: p.string("key")!, on: p.string("on"), fields: p.list("fields"), prefix: p.string("prefix")!,
      dropMissing: p.string("missing") == "drop", buckets: p.int("buckets")!)
  }

  public func process(_ doc: Document) -> Verdict { .keep }

  public var passes: [PhasePass] { [.documents, .middle(.fixed(buckets)), .documents] }

  /// The text of a document's join field (a string, or a number as written), hashed.
  func documentKey(_ doc: Document) -> Hash128? {
    let value = doc.field(on ?? doc.fields.id)
    switch value {
    case .string(let s)?:
      var s = s
      return s.withUTF8 { XXH3.hash128($0) }
    case .number(_, let raw)?:
      var r = raw
      return r.withUTF8 { XXH3.hash128($0) }
    default: return nil
    }
  }

  static func bucket(_ h: Hash128, _ buckets: Int) -> Int { Int(h.high % UInt64(buckets)) }

  public func observer(_ phase: PhaseTask) throws(WinnowError) -> PhaseDocumentStage {
    try phase.prepareDirectory()
    return JoinEntryStage(self, phase: phase)
  }

  /// Every record of the side files whose key falls in `bucket`: key hash → the fields to copy
  /// as a JSON object (first record of an id wins). Also how many later duplicates were seen.
  func sideRecords(bucket: Int) throws(WinnowError) -> ([Hash128: [UInt8]], Int) {
    var out: [Hash128: [UInt8]] = [:]
    var duplicates = 0
    var scanner = JSONScanner()
    let keyBytes = Array(key.utf8)
    let wanted = fields.map { Set($0) }
    for path in files {
      try forEachLine(ofFile: path, cannotRead: "stage 'join': cannot read the side file: ") { (line, number) throws(WinnowError) in
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        do throws(JSONScanError) { try scanner.scanObject(line) } catch {
          throw .io("\(path):\(number): \(error.reason.rawValue) at byte \(error.offset) (stage 'join' side file)")
        }
        var idHash: Hash128? = nil
        var object: [UInt8] = [UInt8(ascii: "{")]
        for m in scanner.members {
          let rawKey = UnsafeBufferPointer(rebasing: line[m.keyStart..<m.keyEnd])
          let name = m.keyHasEscapes ? Array(JSONString.decode(quoted: UnsafeBufferPointer(rebasing: line[(m.keyStart - 1)..<(m.keyEnd + 1)])).utf8) : Array(rawKey)
          let value = UnsafeBufferPointer(rebasing: line[m.valueStart..<m.valueEnd])
          if name == keyBytes {
            switch m.kind {
            case .string:
              var s = JSONString.decode(quoted: value)
              idHash = s.withUTF8 { XXH3.hash128($0) }
            case .number: idHash = XXH3.hash128(value)
            default: break
            }
            continue
          }
          if let wanted, !wanted.contains(String(decoding: name, as: UTF8.self)) { continue }
          if object.count > 1 { object.append(UInt8(ascii: ",")) }
          JSONString.appendQuoted(prefix + String(decoding: name, as: UTF8.self), to: &object)
          object.append(UInt8(ascii: ":"))
          object += value
        }
        object.append(UInt8(ascii: "}"))
        guard let idHash else {
          throw .io("\(path):\(number): no string or number field '\(key)' (stage 'join' side file)")
        }
        guard Self.bucket(idHash, buckets) == bucket else { return }
        if out[idHash] != nil {
          duplicates += 1
        } else {
          out[idHash] = object
        }
      }
    }
    return (out, duplicates)
  }

  public func runMiddle(_ phase: PhaseTask) throws(WinnowError) -> RunStats {
    try phase.prepareDirectory()
    let bucket = phase.task
    let entryFiles = try phase.files(ofPass: 0, suffix: "-b\(pad(bucket, 5)).keys", fromEveryTask: "join: document keys of bucket \(bucket)")
    let (side, _) = try sideRecords(bucket: bucket)
    // Per input task, the matches as lines "ordinal<TAB>{fields}", in ordinal order.
    var perTask: [Int: [(UInt64, [UInt8])]] = [:]
    for f in entryFiles {
      let r = try SortedRunReader<PhaseEntry>(file: f)
      while let e = try r.next() {
        if let object = side[e.key] { perTask[Int(e.task), default: []].append((e.ordinal, object)) }
      }
    }
    for (task, matches) in perTask.sorted(by: { $0.key < $1.key }) {
      var text: [UInt8] = []
      for (ordinal, object) in matches.sorted(by: { $0.0 < $1.0 }) {
        text += Array(String(ordinal).utf8)
        text.append(0x09)
        text += object
        text.append(0x0A)
      }
      phase.record(try writeFileAtomically(phase.directory + "/\(phase.name)-matches-\(pad(task, 5)).tsv", text))
    }
    var stats = RunStats()
    stats.inputFiles = entryFiles.map(\.path) + files
    return stats
  }

  public func applyStage(_ phase: PhaseTask) throws(WinnowError) -> DocumentStage {
    let matchFiles = try phase.files(ofPass: 1, suffix: "-matches-\(pad(phase.task, 5)).tsv")
    var matches: [UInt64: [UInt8]] = [:]
    for f in matchFiles {
      let bytes = try Self.readVerified(f)
      var start = 0
      while start < bytes.count {
        guard let tab = bytes[start...].firstIndex(of: 0x09), let end = bytes[tab...].firstIndex(of: 0x0A),
          let ordinal = UInt64(String(decoding: bytes[start..<tab], as: UTF8.self))
        else { throw .io("\(f.path): malformed match line; run with --fresh") }
        matches[ordinal] = Array(bytes[(tab + 1)..<end])
        start = end + 1
      }
    }
    return JoinApplyStage(self, matches: matches)
  }

  /// A recorded file's bytes, checked against its recorded size and checksum.
  static func readVerified(_ f: WrittenFile) throws(WinnowError) -> [UInt8] {
    let fd = open(f.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("\(f.path): cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: f.bytes)
    var done = 0
    while done < f.bytes {
      let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, f.bytes - done) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw .io("\(f.path): shorter than the \(f.bytes) bytes written; run the same command again (or pass --fresh)") }
      done += n
    }
    let sum = bytes.withUnsafeBufferPointer { XXH3.hash64($0) }
    guard sum == f.checksum else { throw .io("\(f.path): corrupt (checksum mismatch); run the same command again (or pass --fresh)") }
    return bytes
  }
}

/// Pass 1: each document's key hash and ordinal, to its bucket's run.
final class JoinEntryStage: PhaseDocumentStage {
  let owner: JoinStage
  let phase: PhaseTask
  var entries: [[PhaseEntry]]
  var ordinal: UInt64 = 0

  init(_ owner: JoinStage, phase: PhaseTask) {
    self.owner = owner
    self.phase = phase
    entries = [[PhaseEntry]](repeating: [], count: owner.buckets)
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    guard let h = owner.documentKey(doc) else { return .keep }
    entries[JoinStage.bucket(h, owner.buckets)].append(PhaseEntry(key: h, task: UInt64(phase.task), ordinal: ordinal))
    return .keep
  }

  func finish() throws(WinnowError) {
    for b in 0..<owner.buckets { try phase.write(&entries[b], name: "\(phase.name)-b\(pad(b, 5)).keys") }
  }
}

/// Pass 3: each matched document gets the side record's fields.
final class JoinApplyStage: DocumentStage {
  let owner: JoinStage
  let matches: [UInt64: [UInt8]]
  var ordinal: UInt64 = 0
  var scanner = JSONScanner()

  init(_ owner: JoinStage, matches: [UInt64: [UInt8]]) {
    self.owner = owner
    self.matches = matches
  }

  func process(_ doc: Document) -> Verdict {
    defer { ordinal += 1 }
    guard let object = matches[ordinal] else { return owner.dropMissing ? .drop(JoinStage.noMatch) : .keep }
    object.withUnsafeBufferPointer { o in
      // Written by the middle pass from scanned JSON: it scans again without error.
      guard (try? scanner.scanObject(o)) != nil else { return }
      for m in scanner.members {
        let name = JSONString.decode(quoted: UnsafeBufferPointer(rebasing: o[(m.keyStart - 1)..<(m.keyEnd + 1)]))
        doc.annotate(name, jsonBytes: Array(o[m.valueStart..<m.valueEnd]))
      }
    }
    return .keep
  }
}
