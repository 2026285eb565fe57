import WinnowCore

/// The built-in proxy model of `winnow mixture proxy`: an interpolated Kneser–Ney trigram
/// language model over token ids, trained on a mixture's token stream and scored by its
/// cross-entropy on each domain's held-out tokens. It stands in for RegMix's tiny transformer
/// where no GPU is at hand: cheap, deterministic, and — what the regression needs — its losses
/// move with the mixture the way a real model's do (more of a domain, lower loss on it).
///
/// Orders (Chen and Goodman's interpolated Kneser–Ney, one discount per order
/// `D = n₁ / (n₁ + 2 n₂)` from the counts of counts):
///
///     P₃(w | u v) = max(c(uvw) − D₃, 0) / c(uv•) + D₃ N₁₊(uv•) / c(uv•) · P₂(w | v)
///     P₂(w | v)   = max(N₁₊(•vw) − D₂, 0) / N₁₊(•v•) + D₂ N₁₊(v•) / N₁₊(•v•) · P₁(w)
///     P₁(w)       = max(N₁₊(•w) − D₁, 0) / N₁₊(••) + D₁ |{w}| / N₁₊(••) · 1/V
///
/// (an unseen context falls through to the next order). Counts are exact: ids up to 2²¹ are
/// packed into one 64-bit key per n-gram.
public struct NGramProxy: Sendable {
  /// The largest id plus one.
  public let vocabularySize: Int
  var trigram: [UInt64: UInt32] = [:]
  var context2: [UInt64: (count: UInt32, types: UInt32)] = [:]
  var continuation2: [UInt64: UInt32] = [:]
  var context1: [UInt32: (sum: UInt32, types: UInt32)] = [:]
  var continuation1: [UInt32: UInt32] = [:]
  var bigramTypes = 0
  var discount = (d1: 0.75, d2: 0.75, d3: 0.75)

  /// The largest vocabulary the packed keys hold.
  public static let maxVocabulary = 1 << 21

  /// Counts the trigrams of each sequence (n-grams never cross from one sequence to the next).
  public init(sequences: [ArraySlice<UInt32>], vocabularySize: Int) throws(WinnowError) {
    guard vocabularySize > 0, vocabularySize <= Self.maxVocabulary else {
      throw .usage("proxy: a vocabulary of \(vocabularySize) ids is outside 1...\(Self.maxVocabulary)")
    }
    self.vocabularySize = vocabularySize
    for s in sequences where s.count >= 3 {
      var i = s.startIndex + 2
      while i < s.endIndex {
        let key = Self.key(s[i - 2], s[i - 1], s[i])
        trigram[key, default: 0] += 1
        i += 1
      }
    }
    for (key, c) in trigram {
      let uv = key >> 21
      let vw = key & ((1 << 42) - 1)
      let entry = context2[uv] ?? (0, 0)
      context2[uv] = (entry.count + c, entry.types + 1)
      continuation2[vw, default: 0] += 1
    }
    for (vw, n) in continuation2 {
      let v = UInt32(vw >> 21)
      let w = UInt32(vw & ((1 << 21) - 1))
      let entry = context1[v] ?? (0, 0)
      context1[v] = (entry.sum + n, entry.types + 1)
      continuation1[w, default: 0] += 1
    }
    bigramTypes = continuation2.count
    discount = (Self.discount(continuation1.values), Self.discount(continuation2.values), Self.discount(trigram.values))
  }

  static func key(_ u: UInt32, _ v: UInt32, _ w: UInt32) -> UInt64 {
    UInt64(u) << 42 | UInt64(v) << 21 | UInt64(w)
  }

  /// Ney's estimate n₁ / (n₁ + 2 n₂), kept inside (0, 1).
  static func discount<C: Collection>(_ counts: C) -> Double where C.Element == UInt32 {
    var n1 = 0.0
    var n2 = 0.0
    for c in counts {
      if c == 1 { n1 += 1 } else if c == 2 { n2 += 1 }
    }
    guard n1 > 0 else { return 0.5 }
    return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)
  }

  func unigram(_ w: UInt32) -> Double {
    let uniform = 1 / Double(vocabularySize)
    guard bigramTypes > 0 else { return uniform }
    let total = Double(bigramTypes)
    let c = Double(continuation1[w] ?? 0)
    return max(c - discount.d1, 0) / total + discount.d1 * Double(continuation1.count) / total * uniform
  }

  func bigram(_ v: UInt32, _ w: UInt32) -> Double {
    let lower = unigram(w)
    guard let ctx = context1[v] else { return lower }
    let s = Double(ctx.sum)
    let c = Double(continuation2[UInt64(v) << 21 | UInt64(w)] ?? 0)
    return max(c - discount.d2, 0) / s + discount.d2 * Double(ctx.types) / s * lower
  }

  /// P(w | u v).
  public func probability(_ u: UInt32, _ v: UInt32, _ w: UInt32) -> Double {
    let lower = bigram(v, w)
    guard let ctx = context2[UInt64(u) << 21 | UInt64(v)] else { return lower }
    let s = Double(ctx.count)
    let c = Double(trigram[Self.key(u, v, w)] ?? 0)
    return max(c - discount.d3, 0) / s + discount.d3 * Double(ctx.types) / s * lower
  }

  /// The mean negative log-likelihood (nats per token) of every token of `tokens` after its
  /// first two; nil when there are fewer than three.
  public func crossEntropy(_ tokens: ArraySlice<UInt32>) -> Double? {
    guard tokens.count >= 3 else { return nil }
    var sum = 0.0
    var i = tokens.startIndex + 2
    while i < tokens.endIndex {
      sum -= log(probability(tokens[i - 2], tokens[i - 1], tokens[i]))
      i += 1
    }
    return sum / Double(tokens.count - 2)
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
