import Glibc
import Winnow

/// One input is the bytes of an intermediate file. Written to a temporary file, it is read as
/// each kind a later pass reads — a run of key entries (whole and through a merger), a shingle
/// store, a saved Bloom filter — which must end in records or an error naming the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRunFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let path = "/tmp/winnow-fuzz-run-\(getpid())"
  let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  guard fd >= 0 else { return 0 }
  var done = 0
  while done < size {
    let n = write(fd, data + done, size - done)
    if n <= 0 { break }
    done += n
  }
  close(fd)
  defer { unlink(path) }
  if let reader = try? SortedRunReader<PhaseEntry>(path: path) {
    var n = 0
    while let _ = try? reader.next() {
      n += 1
      if n > 1 << 20 { break }
    }
  }
  _ = try? SortedRunFile.readAll(path, as: PhaseEntry.self)
  if let merger = try? SortedRunMerger<PhaseEntry>(paths: [path, path]) {
    while (try? merger.next()) != nil {}
  }
  if let store = try? ShingleStoreReader(path: path) {
    var out: [UInt64] = []
    for ordinal in 0..<UInt64(4) { try? store.shingles(ordinal, into: &out) }
  }
  if let filter = try? BloomFilter.load(from: path) {
    _ = filter.contains(Hash128(low: 1, high: 2))
  }
  return 0
}
