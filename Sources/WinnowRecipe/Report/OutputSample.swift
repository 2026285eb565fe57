import Foundation
import WinnowCore

/// Documents read back from a run's output shards for the report's histograms: text length
/// in characters and words, and every numeric field (top level, and one level down inside
/// objects, as `meta.score`).
///
/// Which documents: the first ones of each shard, with the cap shared out over the shards
/// in order (a shard's quota is what is left of the cap divided by the shards left), so a
/// capped sample still covers every shard and the reading stays bounded however large the
/// run. Deterministic: the same run gives the same sample.
public struct OutputSample: Sendable {
  public struct NumericField: Sendable {
    public var name: String
    public var values: [Double] = []
  }

  public var shards: [String]
  public var limit: Int
  public var documents = 0
  /// Shards read to their end (all of them when the sample is the whole output).
  public var shardsReadToEnd = 0
  /// Lines in the shards that are not documents (there should be none).
  public var badLines = 0
  public var badLineExample: String?
  public var characters: [Double] = []
  public var words: [Double] = []
  /// In the order first seen.
  public var numeric: [NumericField] = []
  /// Numeric fields beyond `maxFields` were not tracked.
  public var fieldsTruncated = false

  public static let defaultLimit = 200_000
  static let maxFields = 48

  /// Every output document was read.
  public var isComplete: Bool { shardsReadToEnd == shards.count }

  public func field(_ name: String) -> NumericField? { numeric.first { $0.name == name } }

  public static func collect(shards: [String], fields: DocumentFields, limit: Int) throws(WinnowError) -> OutputSample {
    var s = OutputSample(shards: shards, limit: limit)
    var index: [String: Int] = [:]
    var scanner = JSONScanner()
    func add(_ name: String, _ v: Double) {
      if let k = index[name] {
        s.numeric[k].values.append(v)
      } else if s.numeric.count < maxFields {
        index[name] = s.numeric.count
        s.numeric.append(NumericField(name: name, values: [v]))
      } else {
        s.fieldsTruncated = true
      }
    }
    for (k, shard) in shards.enumerated() {
      let left = limit - s.documents
      let quota = left <= 0 ? 0 : (left + (shards.count - k) - 1) / (shards.count - k)
      if quota == 0 { break }
      let reader = DocumentReader(inputs: [InputFile(path: shard)], fields: fields)
      defer { reader.close() }
      var taken = 0
      var ended = false
      while true {
        guard let item = try reader.next() else {
          ended = true
          break
        }
        if taken == quota { break }  // one item past the quota: the shard has more
        switch item {
        case .bad(let bad):
          s.badLines += 1
          if s.badLineExample == nil { s.badLineExample = bad.message }
        case .document(let doc):
          taken += 1
          s.characters.append(Double(doc.scalarCount))
          s.words.append(Double(doc.whitespaceWordCount))
          doc.forEachField { name, value in
            if name == fields.text || name == fields.id { return }
            switch value {
            case .number(let v, _) where v.isFinite:
              add(name, v)
            case .composite(let raw) where raw.hasPrefix("{"):
              var bytes = Array(raw.utf8)
              bytes.withUnsafeBufferPointer { buf in
                guard (try? scanner.scanObject(buf)) != nil else { return }
                for m in scanner.members where m.kind == .number {
                  let key = String(decoding: UnsafeBufferPointer(rebasing: buf[m.keyStart..<m.keyEnd]), as: UTF8.self)
                  let text = String(decoding: UnsafeBufferPointer(rebasing: buf[m.valueStart..<m.valueEnd]), as: UTF8.self)
                  if let v = Double(text), v.isFinite { add(name + "." + key, v) }
                }
              }
              bytes.removeAll()
            default:
              break
            }
          }
        }
      }
      s.documents += taken
      if ended { s.shardsReadToEnd += 1 }
    }
    return s
  }
}
