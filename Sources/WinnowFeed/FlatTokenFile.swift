// Flat token files, as nanoGPT's `prepare.py` writes them: every document's ids followed by
// the end-of-text id, concatenated into one little-endian uint16 (vocabularies up to 65,536
// ids) or uint32 array in `PREFIX.bin`, with a JSON sidecar `PREFIX.json` saying how to read
// it: {"format": "winnow-tokens", "version": 1, "dtype": "uint16", "vocabulary_size": …,
// "eot_id": …, "documents": …, "tokens": …, "tokenizer": …}. numpy reads it with
// `np.memmap("PREFIX.bin", dtype=np.uint16)`.

import Foundation
import WinnowCore

/// uint16 or uint32, chosen from the vocabulary size.
public enum FlatTokenDType: String, Sendable, Codable {
  /// The two element types: 2 or 4 bytes per id.
  case uint16, uint32

  /// uint16 for vocabularies up to 65,536 ids, uint32 above.
  public static func forVocabulary(_ size: Int) -> FlatTokenDType { size <= 65_536 ? .uint16 : .uint32 }
  /// Bytes per token.
  public var size: Int { self == .uint16 ? 2 : 4 }
}

/// The sidecar of a flat token file.
public struct FlatTokenSidecar: Codable, Sendable, Equatable {
  /// Always `winnow-tokens`.
  public var format = "winnow-tokens"
  /// The sidecar's format version (1).
  public var version = 1
  /// The element type of `.bin`.
  public var dtype: FlatTokenDType
  /// The tokenizer's vocabulary size (largest id + 1).
  public var vocabularySize: Int
  /// The id that follows each document, if any.
  public var eotID: UInt32?
  /// Documents written.
  public var documents: Int
  /// Tokens in `.bin`, end-of-text ids included.
  public var tokens: Int
  /// The tokenizer file the ids come from.
  public var tokenizer: String

  enum CodingKeys: String, CodingKey {
    case format, version, dtype, documents, tokens, tokenizer
    case vocabularySize = "vocabulary_size"
    case eotID = "eot_id"
  }

  /// A sidecar with these fields (format and version are fixed).
  public init(dtype: FlatTokenDType, vocabularySize: Int, eotID: UInt32?, documents: Int, tokens: Int, tokenizer: String) {
    self.dtype = dtype
    self.vocabularySize = vocabularySize
    self.eotID = eotID
    self.documents = documents
    self.tokens = tokens
    self.tokenizer = tokenizer
  }

  func encoded() -> [UInt8] {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return Array((try? e.encode(self)) ?? Data()) + [0x0A]
  }

  static func read(_ path: String) throws(WinnowError) -> FlatTokenSidecar {
    guard let data = FileManager.default.contents(atPath: path) else { throw .io("\(path): cannot read the token file's sidecar") }
    do {
      let s = try JSONDecoder().decode(FlatTokenSidecar.self, from: data)
      guard s.format == "winnow-tokens", s.version == 1, s.documents >= 0, s.tokens >= 0 else {
        throw WinnowError.io("\(path): not a version 1 winnow-tokens sidecar")
      }
      return s
    } catch let e as WinnowError {
      throw e
    } catch {
      throw .io("\(path): not a winnow-tokens sidecar (\(error.localizedDescription))")
    }
  }
}

/// Writes one flat token file and its sidecar.
public final class FlatTokenWriter {
  /// The file prefix (`prefix.bin`, `prefix.json`).
  public let prefix: String
  let dtype: FlatTokenDType
  let bin: FileSink
  var sidecar: FlatTokenSidecar
  private var buffer: [UInt8] = []

  /// Writes `prefix.bin` and, at `finish`, `prefix.json`; the dtype follows the vocabulary size.
  public init(prefix: String, vocabularySize: Int, eotID: UInt32?, tokenizer: String) throws(WinnowError) {
    self.prefix = prefix
    dtype = .forVocabulary(vocabularySize)
    sidecar = FlatTokenSidecar(dtype: dtype, vocabularySize: vocabularySize, eotID: eotID, documents: 0, tokens: 0, tokenizer: tokenizer)
    bin = try FileSink(path: prefix + ".bin")
  }

  /// Adds a document's ids, then the end-of-text id when there is one.
  public func addDocument(_ ids: [UInt32]) throws(WinnowError) {
    buffer.removeAll(keepingCapacity: true)
    func put(_ id: UInt32) throws(WinnowError) {
      if dtype == .uint16 {
        guard id <= 0xFFFF else { throw .io("\(prefix).bin: token id \(id) does not fit uint16") }
        buffer.append(UInt8(id & 0xFF))
        buffer.append(UInt8(id >> 8))
      } else {
        MegatronIndex.appendLE(id, &buffer)
      }
    }
    for id in ids { try put(id) }
    if let eot = sidecar.eotID { try put(eot) }
    try bin.write(bytes: buffer)
    sidecar.documents += 1
    sidecar.tokens += ids.count + (sidecar.eotID == nil ? 0 : 1)
  }

  /// Documents written so far.
  public var documents: Int { sidecar.documents }

  /// Completes `.bin` and writes the sidecar; returns both files as written.
  public func finish() throws(WinnowError) -> [WrittenFile] {
    let side = try FileSink(path: prefix + ".json")
    do throws(WinnowError) {
      try bin.finish()
      try side.write(bytes: sidecar.encoded())
      try side.finish()
    } catch {
      side.abort()
      bin.abort()
      throw error
    }
    return [
      WrittenFile(path: prefix + ".bin", bytes: bin.bytesWritten, checksum: bin.checksum),
      WrittenFile(path: prefix + ".json", bytes: side.bytesWritten, checksum: side.checksum),
    ]
  }

  /// Removes the partial `.bin`.
  public func abort() { bin.abort() }
}

/// Joins flat token files (task parts, in order): the tokens concatenated, the sidecars added
/// up. Each part is verified against its recorded size and checksum.
public struct FlatTokenMerge: SinkMerge {
  public var target: String
  /// Joins parts into `target.bin` and `target.json`.
  public init(into target: String) { self.target = target }

  public func merge(_ parts: [WrittenFile]) throws(WinnowError) {
    var pairs: [(bin: WrittenFile, json: WrittenFile)] = []
    var pendingBin: WrittenFile? = nil
    for f in parts {
      if f.path.hasSuffix(".bin") {
        pendingBin = f
      } else if f.path.hasSuffix(".json"), let b = pendingBin, b.path.dropLast(4) == f.path.dropLast(5) {
        pairs.append((b, f))
        pendingBin = nil
      } else {
        throw .io("\(f.path): not part of a token .bin/.json pair in the merge list")
      }
    }
    var total: FlatTokenSidecar? = nil
    for p in pairs {
      let m = try MappedFile(path: p.json.path)
      guard m.bytes.count == p.json.bytes, XXH3.hash64(m.bytes) == p.json.checksum else {
        throw .io("\(p.json.path): this part is not the one its task wrote (size or checksum differs); run the same command again to redo that task")
      }
      let s = try FlatTokenSidecar.read(p.json.path)
      if var t = total {
        guard t.dtype == s.dtype, t.vocabularySize == s.vocabularySize, t.eotID == s.eotID else {
          throw .io("\(p.json.path): dtype, vocabulary or end-of-text id differs from the other parts")
        }
        t.documents += s.documents
        t.tokens += s.tokens
        total = t
      } else {
        total = s
      }
    }
    let parent = target.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    if !parent.isEmpty { try makeDirectories(parent) }
    try ConcatenateParts(into: target + ".bin", partKind: "token file").merge(pairs.map(\.bin))
    let side = try FileSink(path: target + ".json")
    do throws(WinnowError) {
      let s = total ?? FlatTokenSidecar(dtype: .uint16, vocabularySize: 0, eotID: nil, documents: 0, tokens: 0, tokenizer: "")
      try side.write(bytes: s.encoded())
      try side.finish()
    } catch {
      side.abort()
      throw error
    }
  }
}

extension FileSink {
  /// Writes an array's bytes (typed throws through `withUnsafeBytes`).
  func write(bytes: [UInt8]) throws(WinnowError) {
    var failure: WinnowError? = nil
    bytes.withUnsafeBytes { b in
      do throws(WinnowError) { try self.write(b) } catch { failure = error }
    }
    if let failure { throw failure }
  }
}
