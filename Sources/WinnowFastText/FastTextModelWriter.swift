import Glibc

/// Writes little-endian values the way fastText's `saveModel` lays them out.
struct ModelWriter {
  var bytes: [UInt8] = []

  mutating func int32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  mutating func int64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  mutating func double(_ v: Double) { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
  mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
  mutating func uint8(_ v: UInt8) { bytes.append(v) }
  mutating func floats(_ v: [Float]) {
    bytes.reserveCapacity(bytes.count + 4 * v.count)
    for f in v { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes += $0 } }
  }
}

extension FastTextModel {
  /// The model in fastText's file format (`FastText::saveModel`): what `fasttext` and
  /// `FastTextModel.load` read back.
  public func serialized() -> [UInt8] {
    var w = ModelWriter()
    w.int32(Self.magic)
    w.int32(Self.version)
    let a = args
    for v in [a.dim, a.ws, a.epoch, a.minCount, a.neg, a.wordNgrams, a.loss, a.model, a.bucket, a.minn, a.maxn, a.lrUpdateRate] {
      w.int32(v)
    }
    w.double(a.t)
    let d = dictionary
    w.int32(Int32(d.entries.count))
    w.int32(Int32(d.nwords))
    w.int32(Int32(d.nlabels))
    w.int64(d.ntokens)
    w.int64(d.pruneIndexSize)
    for e in d.entries {
      w.bytes += e.word
      w.uint8(0)
      w.int64(e.count)
      w.uint8(e.isLabel ? 1 : 0)
    }
    if d.pruneIndexSize > 0 {
      for (from, to) in d.pruneIndex.sorted(by: { $0.key < $1.key }) {
        w.int32(from)
        w.int32(to)
      }
    }
    w.bool(quantizedInput)
    input.write(&w)
    w.bool(quantizedOutput)
    output.write(&w)
    return w.bytes
  }
}

extension FastTextMatrix {
  func write(_ w: inout ModelWriter) {
    switch self {
    case .dense(let m):
      w.int64(Int64(m.rows))
      w.int64(Int64(m.columns))
      w.floats(m.data)
    case .quantized(let m): m.write(&w)
    }
  }
}

extension ProductQuantizer {
  func write(_ w: inout ModelWriter) {
    w.int32(Int32(dim))
    w.int32(Int32(nsubq))
    w.int32(Int32(dsub))
    w.int32(Int32(lastdsub))
    w.floats(centroids)
  }
}

extension QuantMatrix {
  func write(_ w: inout ModelWriter) {
    w.bool(qnorm)
    w.int64(Int64(rows))
    w.int64(Int64(columns))
    w.int32(Int32(codes.count))
    w.bytes += codes
    pq.write(&w)
    if qnorm, let npq {
      w.bytes += normCodes
      npq.write(&w)
    }
  }
}
