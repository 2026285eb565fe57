import CNumberFormat

/// Numbers as the fastText CLI prints them: C's `%.<precision>g`, what `std::ostream` prints
/// with that precision, or `%.<precision>f` (`std::fixed`).
public enum FastTextNumberFormat {
  /// Appends `value` as `%.<precision>g`, or `%.<precision>f` when `fixed`.
  @inline(__always)
  public static func append(_ value: Double, precision: Int32, fixed: Bool = false, to out: inout [UInt8]) {
    // Room for any double with a precision of up to 80 (%f of 1e308 takes 309 digits).
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 400) { b in
      let len =
        fixed
        ? winnow_format_f(value, precision, b.baseAddress!, b.count) : winnow_format_g(value, precision, b.baseAddress!, b.count)
      UnsafeRawPointer(b.baseAddress!).withMemoryRebound(to: UInt8.self, capacity: len) {
        out.append(contentsOf: UnsafeBufferPointer(start: $0, count: len))
      }
    }
  }

  /// `value` as `%.<precision>g`, or `%.<precision>f` when `fixed`.
  public static func string(_ value: Double, precision: Int32, fixed: Bool = false) -> String {
    var out: [UInt8] = []
    append(value, precision: precision, fixed: fixed, to: &out)
    return String(decoding: out, as: UTF8.self)
  }
}

extension FastTextPredictor {
  /// Appends what `fasttext predict` (or `predict-prob`, with `probabilities`) prints for each
  /// line of `bytes` (whole lines), calling `flush` whenever `out` holds more than 1 MiB.
  public mutating func appendPredictions(
    lines bytes: [UInt8], k: Int, threshold: Float, probabilities: Bool, to out: inout [UInt8],
    flush: (inout [UInt8]) throws -> Void
  ) rethrows {
    var reader = FastTextLineReader(bytes)
    var tokens: [(Int, Int)] = []
    while !reader.atEnd {
      reader.nextLine(into: &tokens)
      let predictions = predict(bytes: bytes, tokens: tokens, k: k, threshold: threshold)
      for (n, p) in predictions.enumerated() {
        if n > 0 { out.append(0x20) }
        out += label(p)
        if probabilities {
          // std::cout << float: %g, six significant digits.
          out.append(0x20)
          FastTextNumberFormat.append(Double(p.probability), precision: 6, to: &out)
        }
      }
      out.append(0x0A)
      if out.count > 1 << 20 { try flush(&out) }
    }
  }
}

extension FastTextModel {
  /// The `.vec` file `fasttext supervised` writes beside the model: each word and the mean of
  /// its input rows, printed with 5 significant digits.
  public func wordVectorsText() -> [UInt8] {
    var out = Array("\(dictionary.nwords) \(args.dim)\n".utf8)
    for id in 0..<dictionary.nwords {
      out += dictionary.entries[id].word
      out.append(0x20)
      for v in wordVector(id) {
        FastTextNumberFormat.append(Double(v), precision: 5, to: &out)
        out.append(0x20)
      }
      out.append(0x0A)
    }
    return out
  }

  /// What `fasttext dump MODEL args` prints.
  public func dumpedArgs() -> [UInt8] {
    let a = args
    let loss = ["", "hs", "ns", "softmax", "one-vs-all"][Int(a.loss)]
    return Array(
      """
      dim \(a.dim)
      ws \(a.ws)
      epoch \(a.epoch)
      minCount \(a.minCount)
      neg \(a.neg)
      wordNgrams \(a.wordNgrams)
      loss \(loss)
      model sup
      bucket \(a.bucket)
      minn \(a.minn)
      maxn \(a.maxn)
      lrUpdateRate \(a.lrUpdateRate)
      t \(FastTextNumberFormat.string(a.t, precision: 6))

      """.utf8)
  }

  /// What `fasttext dump MODEL dict` prints.
  public func dumpedDictionary() -> [UInt8] {
    var out = Array("\(dictionary.entries.count)\n".utf8)
    for e in dictionary.entries {
      out += e.word
      out += Array(" \(e.count) \(e.isLabel ? "label" : "word")\n".utf8)
    }
    return out
  }

  /// Appends what `fasttext dump MODEL input` (or `output`) prints, calling `flush` whenever
  /// `out` holds more than 1 MiB; false, with nothing appended, for a model whose input is
  /// quantized (fastText refuses both matrices of such a model).
  public func appendDumpedMatrix(
    input: Bool, to out: inout [UInt8], flush: (inout [UInt8]) throws -> Void
  ) rethrows -> Bool {
    guard !quantizedInput, case .dense(let m) = input ? self.input : self.output else { return false }
    out += Array("\(m.rows) \(m.columns)\n".utf8)
    for i in 0..<m.rows {
      for j in 0..<m.columns {
        if j > 0 { out.append(0x20) }
        FastTextNumberFormat.append(Double(m.data[i * m.columns + j]), precision: 6, to: &out)
      }
      out.append(0x0A)
      if out.count > 1 << 20 { try flush(&out) }
    }
    return true
  }
}
