import Glibc
import Winnow

/// The first byte chooses what the rest is: a tokenizer.json or a tiktoken rank file (which
/// must load or fail with an error, and if it loads, encode a short text), or a Megatron
/// `.idx` (with a `.bin` of the length the next two bytes give), which must open or fail with
/// an error, and if it opens, read every document.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 1 else { return 0 }
  let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
  switch data[0] % 3 {
  case 0, 1:
    guard let t = try? Tokenizer.load(bytes: rest, name: "fuzz", pattern: data[0] % 3 == 0 ? nil : "o200k") else { return 0 }
    _ = t.encode("Hello, world! It's 2024 — naïve Grüße 日本語 <|endoftext|>\r\n  \u{A0}x")
  default:
    guard rest.count >= 2 else { return 0 }
    let binLength = Int(rest[0]) | Int(rest[1]) << 8
    let dir = "/tmp/winnow-fuzz-\(getpid())"
    mkdir(dir, 0o755)
    let idx = Array(rest[2...])
    write(dir + "/x.idx", idx)
    write(dir + "/x.bin", [UInt8](repeating: 7, count: binLength))
    if let ds = try? MegatronDataset(prefix: dir + "/x") {
      for k in 0..<min(ds.documentCount, 10_000) { _ = ds.document(k) }
    }
  }
  return 0
}

private func write(_ path: String, _ bytes: [UInt8]) {
  guard let f = fopen(path, "wb") else { return }
  _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
  fclose(f)
}
