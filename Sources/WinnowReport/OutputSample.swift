import Foundation
import WinnowCore
import WinnowRecipe

/// Documents read back from a run's output shards for the report's histograms: text length
/// in characters and words, and every numeric field (top level, and one level down inside
/// objects, as `meta.score`).
///
/// Which documents: the first ones of each shard, with the cap shared out evenly over the
/// shards (a shard with fewer documents than its share leaves the rest to the others), so a
/// capped sample covers every shard and the reading stays bounded however large the run.
/// Deterministic: the same run gives the same sample.
public struct OutputSample: Sendable {
  /// The sampled values of one numeric field (for its histogram).
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
    // Rounds: each shard still open gets an even share of what is left of the cap; a shard that
    // ends early leaves its share to the others in the next round, which starts each shard
    // again where the last one stopped. A round either fills the cap or ends a shard.
    var consumed = [Int](repeating: 0, count: shards.count)
    var open = Array(shards.indices)
    var rounds = 0
    while !open.isEmpty && s.documents < limit && rounds < 16 {
      rounds += 1
      var stillOpen: [Int] = []
      for (j, k) in open.enumerated() {
        let left = limit - s.documents
        let quota = left <= 0 ? 0 : (left + (open.count - j) - 1) / (open.count - j)
        if quota == 0 {
          stillOpen.append(k)
          continue
        }
        let reader = DocumentReader(inputs: [InputFile(path: shards[k])], fields: fields)
        defer { reader.close() }
        var skip = consumed[k]
        var taken = 0
        var ended = false
        while true {
          guard let item = try reader.next() else {
            ended = true
            break
          }
          if skip > 0 {
            skip -= 1
            continue
          }
          if taken == quota { break }  // one item past the quota: the shard has more
          consumed[k] += 1
          switch item {
          case .bad(let bad):
            s.badLines += 1
            if s.badLineExample == nil { s.badLineExample = bad.message }
          case .tooLarge(let line):
            s.badLines += 1
            if s.badLineExample == nil { s.badLineExample = line.message }
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
                let bytes = Array(raw.utf8)
                bytes.withUnsafeBufferPointer { buf in
                  guard (try? scanner.scanObject(buf)) != nil else { return }
                  for m in scanner.members where m.kind == .number {
                    let key = String(decoding: UnsafeBufferPointer(rebasing: buf[m.keyStart..<m.keyEnd]), as: UTF8.self)
                    let text = String(
                      decoding: UnsafeBufferPointer(rebasing: buf[m.valueStart..<m.valueEnd]), as: UTF8.self)
                    if let v = Double(text), v.isFinite { add(name + "." + key, v) }
                  }
                }
              default:
                break
              }
            }
          }
        }
        s.documents += taken
        if ended { s.shardsReadToEnd += 1 } else { stillOpen.append(k) }
      }
      open = stillOpen
    }
    return s
  }
}
