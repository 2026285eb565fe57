import Glibc
import Winnow

/// The first byte chooses: even, the rest is a Parquet file, read row by row with every column
/// (footer, schema, page headers, codecs, encodings, nested record assembly) — it must give
/// rows or an error, never crash; odd, the rest is JSON lines, whose valid objects are written
/// as Parquet (schema inferred from them) and read back: every row written must come back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParquet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 1 else { return 0 }
  let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
  let dir = "/tmp/winnow-fuzz-parquet-\(getpid())"
  mkdir(dir, 0o755)
  let path = dir + "/f.parquet"
  let row = ByteBuffer()
  if data[0] % 2 == 0 {
    write(path, rest)
    if let r = try? ParquetRowReader(path: path) {
      while (try? r.nextRow(into: row)) == true {}
    }
    return 0
  }
  var options = ParquetWriteOptions()
  options.rowGroupBytes = 256
  options.pageBytes = 64
  guard let sink = try? FileSink(path: path), let writer = try? ParquetFileWriter(sink: sink, options: options) else { return 0 }
  var written = 0
  let doc = Document()
  for line in rest.split(separator: 0x0A) {
    let bytes = Array(line)
    var failed = false
    let ok = bytes.withUnsafeBufferPointer { b -> Bool in
      guard (try? doc.load(line: b, source: "fuzz", lineNumber: 1)) != nil else { return false }
      if (try? writer.write(line: b)) == nil { failed = true }
      return !failed
    }
    // A document that does not fit the inferred schema is an error, and ends the file.
    if failed {
      writer.abort()
      return 0
    }
    if ok { written += 1 }
  }
  guard (try? writer.finish()) != nil else { return 0 }
  guard let r = try? ParquetRowReader(path: path) else { fatalError("cannot read back what was written") }
  var n = 0
  while true {
    guard let more = try? r.nextRow(into: row) else { fatalError("a row written cannot be read back") }
    if !more { break }
    n += 1
  }
  if n != written { fatalError("wrote \(written) rows, read \(n)") }
  return 0
}

private func write(_ path: String, _ bytes: [UInt8]) {
  guard let f = fopen(path, "wb") else { return }
  _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
  fclose(f)
}
