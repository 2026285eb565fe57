import Foundation
import WinnowCore

/// Token ids of each domain, split into training and held-out parts, as `winnow mixture
/// prepare` writes them for the proxy runs: a directory holding `prepared.json` and one pair of
/// files per domain (`NNNN.train.bin`, `NNNN.valid.bin`: little-endian 32-bit ids, each
/// document followed by the separator id; each with a flat token file's sidecar, so that the
/// mixture stream reads them too). The manifest records each file's token count and
/// XXH3 checksum; a file that is missing, short, changed or holds an id past the vocabulary is
/// an error naming it, never a different loss.
public struct PreparedDomains: Sendable, Codable, Equatable {
  /// One domain's files.
  public struct Domain: Sendable, Codable, Equatable {
    /// The domain's name (the documents' domain field).
    public var name: String
    /// Documents in each part.
    public var trainDocuments: Int
    /// (See `trainDocuments`.)
    public var validDocuments: Int
    /// Files (relative to the directory), their ids and checksums.
    public var trainFile: String
    /// (See `trainFile`.)
    public var validFile: String
    /// Ids in each part.
    public var trainTokens: Int
    /// (See `trainTokens`.)
    public var validTokens: Int
    /// The XXH3 checksum of each part's file, in hex.
    public var trainChecksum: String
    /// (See `trainChecksum`.)
    public var validChecksum: String

    /// A domain's entry (the files already written).
    public init(name: String, trainDocuments: Int, validDocuments: Int, trainFile: String, validFile: String,
                trainTokens: Int, validTokens: Int, trainChecksum: String, validChecksum: String) {
      self.name = name
      self.trainDocuments = trainDocuments
      self.validDocuments = validDocuments
      self.trainFile = trainFile
      self.validFile = validFile
      self.trainTokens = trainTokens
      self.validTokens = validTokens
      self.trainChecksum = trainChecksum
      self.validChecksum = validChecksum
    }
  }

  /// Always `winnow-mixture-prepared`.
  public var format = "winnow-mixture-prepared"
  /// The layout's version (1).
  public var version = 1
  /// Ids are below this (the tokenizer's ids and the separator).
  public var vocabularySize: Int
  /// The id written after every document.
  public var separator: UInt32
  /// The tokenizer file the ids come from (as given).
  public var tokenizer: String
  /// The share of documents held out, and the seed of the split.
  public var validFraction: Double
  /// (See `validFraction`.)
  public var seed: UInt64
  /// The domains, in name order.
  public var domains: [Domain]

  /// The manifest's file name inside the directory.
  public static let manifestName = "prepared.json"

  /// A manifest from its parts (the files already written).
  public init(vocabularySize: Int, separator: UInt32, tokenizer: String, validFraction: Double, seed: UInt64, domains: [Domain]) {
    self.vocabularySize = vocabularySize
    self.separator = separator
    self.tokenizer = tokenizer
    self.validFraction = validFraction
    self.seed = seed
    self.domains = domains
  }

  /// The manifest's bytes (keys sorted; what `load` reads back).
  public func json() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return Array(try! encoder.encode(self)) + [0x0A]
  }

  /// Reads and checks `directory/prepared.json` (not yet the token files: `tokens` checks each).
  public static func load(directory: String) throws(WinnowError) -> PreparedDomains {
    let path = directory + "/" + manifestName
    let text = try MixturePrior.readText(path: path)
    let p: PreparedDomains
    do {
      p = try Self.decoder.decode(PreparedDomains.self, from: Data(text.utf8))
    } catch {
      throw .io("\(path): not a manifest written by `winnow mixture prepare` (\(MixtureRegression.describe(error)))")
    }
    guard p.format == "winnow-mixture-prepared", p.version == 1 else { throw .io("\(path): format \(p.format) version \(p.version) is not one this winnow reads") }
    guard p.vocabularySize > 0, p.vocabularySize <= NGramProxy.maxVocabulary, Int(p.separator) < p.vocabularySize else {
      throw .io("\(path): vocabulary \(p.vocabularySize) or separator \(p.separator) out of range")
    }
    guard !p.domains.isEmpty, Set(p.domains.map(\.name)).count == p.domains.count else { throw .io("\(path): no domains, or one twice") }
    for d in p.domains {
      for f in [d.trainFile, d.validFile] where f.contains("/") || f.hasPrefix(".") || f.isEmpty {
        throw .io("\(path): domain '\(d.name)': file name '\(f)' must be a plain name inside the directory")
      }
      guard d.trainTokens >= 0, d.validTokens >= 0 else { throw .io("\(path): domain '\(d.name)': negative token counts") }
    }
    return p
  }

  /// One part's ids, checked against the manifest: size, checksum, every id in range.
  public func tokens(of domain: Domain, valid: Bool, directory: String) throws(WinnowError) -> [UInt32] {
    let name = valid ? domain.validFile : domain.trainFile
    let count = valid ? domain.validTokens : domain.trainTokens
    let checksum = valid ? domain.validChecksum : domain.trainChecksum
    let path = directory + "/" + name
    let data: [UInt8]
    do {
      data = try MixtureFiles.read(path, limit: Int.max)
    } catch {
      throw .io("\(error.message) (run `winnow mixture prepare` again)")
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: 4)
    guard !overflow, data.count == bytes else {
      throw .io("\(path): \(data.count) bytes, the manifest says \(count) ids (\(bytes) bytes): the file is damaged or stale")
    }
    let sum = data.withUnsafeBufferPointer { hex64(XXH3.hash64($0)) }
    guard sum == checksum else { throw .io("\(path): checksum \(sum), the manifest says \(checksum): the file changed since it was prepared") }
    var ids = [UInt32](repeating: 0, count: count)
    ids.withUnsafeMutableBytes { out in out.copyBytes(from: data) }
    for k in ids.indices {
      ids[k] = UInt32(littleEndian: ids[k])
      if Int(ids[k]) >= vocabularySize { throw .io("\(path): id \(ids[k]) at position \(k) is past the vocabulary (\(vocabularySize))") }
    }
    return ids
  }

  /// The files' checksums together: what a proxy run's result records, so that a result from
  /// other data is never taken for this data's.
  public var fingerprint: String {
    var h: UInt64 = 0
    for d in domains {
      h = XXH3.hash64(d.name + "\u{0}" + d.trainChecksum + "\u{0}" + d.validChecksum, seed: h)
    }
    return hex64(h)
  }
}

/// One proxy run of the built-in backend: the mixture's training stream — each domain's share
/// of `tokens` taken from its training ids from a seeded offset, wrapping around (epochs) —
/// counted into an `NGramProxy`, then every domain's held-out cross-entropy.
public enum ProxyRun {
  /// Losses by domain name (nats per token); a domain whose held-out part is shorter than three
  /// ids has none.
  public static func losses(prepared: PreparedDomains, directory: String, weights: [String: Double], tokens: Int, seed: UInt64)
    throws(WinnowError) -> [String: Double]
  {
    guard tokens >= 3 else { throw .usage("proxy: --tokens must be at least 3") }
    let unknown = weights.keys.filter { name in !prepared.domains.contains { $0.name == name } }
    guard unknown.isEmpty else {
      throw .usage("proxy: the mixture names domains the prepared data does not hold: \(unknown.sorted().joined(separator: ", "))")
    }
    guard weights.values.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.values.contains(where: { $0 > 0 }) else {
      throw .usage("proxy: the mixture's weights must be non-negative with one positive")
    }
    let total = weights.values.reduce(0, +)
    var sequences: [ArraySlice<UInt32>] = []
    for d in prepared.domains {
      let w = (weights[d.name] ?? 0) / total
      let n = Int((w * Double(tokens)).rounded())
      if n == 0 || d.trainTokens == 0 { continue }
      let ids = try prepared.tokens(of: d, valid: false, directory: directory)
      var start = Int(XXH3.hash64(d.name, seed: seed) % UInt64(ids.count))
      var left = n
      while left > 0 {
        // A wrap starts a new sequence: no n-gram spans the end and the start of the domain.
        let take = min(left, ids.count - start)
        sequences.append(ids[start..<(start + take)])
        left -= take
        start = 0
      }
    }
    let model = try NGramProxy(sequences: sequences, vocabularySize: prepared.vocabularySize)
    var out: [String: Double] = [:]
    for d in prepared.domains {
      let valid = try prepared.tokens(of: d, valid: true, directory: directory)
      if let ce = model.crossEntropy(valid[...]) { out[d.name] = ce }
    }
    return out
  }
}

extension PreparedDomains {
  /// Reads the manifest's snake_case keys.
  static var decoder: JSONDecoder { MixtureRegression.decoder }
}
