import Glibc
import Winnow
import WinnowFastText

/// The first byte chooses what the rest is, among the files and fields the embedding and
/// selection stages read: a vector run file (every entry read, the checksum checked at the
/// end), an `.npy` array (parsed whole, and streamed in blocks), an embedding field value (as a
/// string: f32:/f16: base64; as raw JSON: an array), or a fastText model of any kind, which
/// must load or fail with an error and, if it loads, give word and sentence vectors.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVectorFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 1 else { return 0 }
  let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
  let dir = "/tmp/winnow-fuzz-vec-\(getpid())"
  mkdir(dir, 0o755)
  switch data[0] % 5 {
  case 0:
    write(dir + "/v.vec", rest)
    if let r = try? VectorRunReader(path: dir + "/v.vec", dims: nil) {
      while let e = try? r.next() {
        if e == nil { break }
      }
    }
  case 1:
    if let a = try? NumpyArrayFile.parse(rest, name: "fuzz.npy") { _ = a.values.reduce(0, +) }
  case 2:
    write(dir + "/a.npy", rest)
    if let s = try? NumpyVectorSource(path: dir + "/a.npy") {
      _ = try? s.forEachBlock { (_, _) throws(WinnowError) in }
    }
  case 3:
    var v: [Float] = []
    var scratch: [UInt8] = []
    let text = String(decoding: rest, as: UTF8.self)
    _ = EmbeddingField.read(.string(text), dims: nil, into: &v, scratch: &scratch)
    _ = EmbeddingField.read(.composite(text), dims: nil, into: &v, scratch: &scratch)
  default:
    if let model = try? FastTextModel.load(bytes: rest, name: "fuzz.bin", allowingUnsupervised: true) {
      var vectors = FastTextVectors(model)
      _ = vectors.wordVector(Array("word".utf8))
      var out: [UInt8] = []
      vectors.appendSentenceVectors(lines: Array("a b </s> c\nd\n".utf8), to: &out, flush: { _ in })
      _ = vectors.neighbours(of: Array("a".utf8), k: 3)
    }
  }
  return 0
}

private func write(_ path: String, _ bytes: [UInt8]) {
  guard let f = fopen(path, "wb") else { return }
  _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
  fclose(f)
}
