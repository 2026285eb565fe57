import Glibc
import Winnow

/// The first byte chooses what the rest is, among the files the mixture tools read: a mixture
/// or loss table (CSV), a prior or weights file (JSON or `domain: share` lines), a fitted model
/// (JSON, which must load or fail with an error, and if it loads, predict), or a prepared-data
/// manifest (with a token file whose length the next two bytes give), which must load or fail,
/// and if it loads, read its first domain's tokens or fail with an error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMixtureFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 1 else { return 0 }
  let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
  let text = String(decoding: rest, as: UTF8.self)
  let dir = "/tmp/winnow-fuzz-mix-\(getpid())"
  mkdir(dir, 0o755)
  switch data[0] % 4 {
  case 0:
    if let t = try? MixtureTable.parse(text, source: "fuzz"), let c = t.columns.first {
      _ = try? MixtureObservations.join(mixtures: t, mixtureSource: "a", losses: t, lossSource: "b", target: c)
    }
  case 1:
    _ = try? MixturePrior.parse(text, source: "fuzz")
  case 2:
    write(dir + "/model.json", rest)
    if let m = try? MixtureRegression.load(path: dir + "/model.json") {
      _ = m.predict([Double](repeating: 1 / Double(m.domains.count), count: m.domains.count))
    }
  default:
    guard rest.count >= 2 else { return 0 }
    let length = Int(rest[0]) | Int(rest[1]) << 8
    write(dir + "/prepared.json", Array(rest[2...]))
    write(dir + "/0000.train.bin", [UInt8](repeating: 1, count: length))
    write(dir + "/0000.valid.bin", [UInt8](repeating: 0, count: length))
    if let p = try? PreparedDomains.load(directory: dir), let d = p.domains.first {
      _ = try? p.tokens(of: d, valid: false, directory: dir)
      _ = try? p.tokens(of: d, valid: true, directory: dir)
    }
  }
  return 0
}

private func write(_ path: String, _ bytes: [UInt8]) {
  guard let f = fopen(path, "wb") else { return }
  _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
  fclose(f)
}
