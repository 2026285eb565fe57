// The mixture stream's C ABI (declared in include/winnow_feed.h): what the Python package calls
// through ctypes, and what any other trainer can call from C. A handle is one MixtureStream;
// it is not safe to use one handle from two threads at once (open one per thread or process).

import WinnowCore
import WinnowFeed

#if canImport(Glibc)
import Glibc
#endif

/// Writes `message` (truncated, NUL-terminated) into the caller's buffer.
private func setError(_ message: String, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) {
  guard let buffer, capacity > 0 else { return }
  let bytes = Array(message.utf8.prefix(capacity - 1))
  for (k, b) in bytes.enumerated() { buffer[k] = CChar(bitPattern: b) }
  buffer[bytes.count] = 0
}

@_cdecl("winnow_mixture_open")
public func winnow_mixture_open(
  _ config: UnsafePointer<CChar>?, _ errorBuffer: UnsafeMutablePointer<CChar>?, _ errorCapacity: Int
) -> OpaquePointer? {
  guard let config else {
    setError("winnow_mixture_open: no configuration", errorBuffer, errorCapacity)
    return nil
  }
  let json = Array(UnsafeBufferPointer(start: UnsafeRawPointer(config).assumingMemoryBound(to: UInt8.self), count: strlen(config)))
  do throws(WinnowError) {
    let stream = try MixtureStream(try MixtureConfig.fromJSON(json))
    return OpaquePointer(Unmanaged.passRetained(stream).toOpaque())
  } catch {
    setError(error.message, errorBuffer, errorCapacity)
    return nil
  }
}

@_cdecl("winnow_mixture_close")
public func winnow_mixture_close(_ handle: OpaquePointer?) {
  guard let handle else { return }
  Unmanaged<MixtureStream>.fromOpaque(UnsafeRawPointer(handle)).release()
}

private func stream(_ handle: OpaquePointer) -> MixtureStream {
  Unmanaged<MixtureStream>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

@_cdecl("winnow_mixture_sample_length")
public func winnow_mixture_sample_length(_ handle: OpaquePointer?) -> UInt64 {
  guard let handle else { return 0 }
  return UInt64(stream(handle).sampleLength)
}

@_cdecl("winnow_mixture_dataset_count")
public func winnow_mixture_dataset_count(_ handle: OpaquePointer?) -> UInt64 {
  guard let handle else { return 0 }
  return UInt64(stream(handle).config.datasets.count)
}

@_cdecl("winnow_mixture_locate")
public func winnow_mixture_locate(_ handle: OpaquePointer?, _ n: UInt64, _ indexInDataset: UnsafeMutablePointer<UInt64>?) -> Int64 {
  guard let handle, n <= UInt64(Int.max / 2) else { return -1 }
  let (d, j) = stream(handle).locate(Int(n))
  indexInDataset?.pointee = UInt64(j)
  return Int64(d)
}

/// Fills `out` with global samples `first + k·stride` for k < `count` (`count · sample_length`
/// tokens), and `datasets` (when not NULL) with each sample's dataset. Returns 0, or -1 for bad
/// arguments.
@_cdecl("winnow_mixture_batch")
public func winnow_mixture_batch(
  _ handle: OpaquePointer?, _ first: UInt64, _ stride: UInt64, _ count: UInt64,
  _ out: UnsafeMutablePointer<UInt32>?, _ datasets: UnsafeMutablePointer<Int32>?
) -> Int32 {
  guard let handle, let out, stride >= 1, count <= 1 << 32, first <= 1 << 56, stride <= 1 << 32 else { return -1 }
  // The last index must stay far from overflow.
  let (span, o1) = (count > 0 ? count - 1 : 0).multipliedReportingOverflow(by: stride)
  let (last, o2) = first.addingReportingOverflow(span)
  guard !o1, !o2, last <= 1 << 60 else { return -1 }
  let s = stream(handle)
  let length = s.sampleLength
  for k in 0..<Int(count) {
    let n = Int(first) + k * Int(stride)
    let d = s.sample(n, into: UnsafeMutableBufferPointer(start: out + k * length, count: length))
    datasets?[k] = Int32(d)
  }
  return 0
}

/// Changes the weights from global sample `sample` on (see MixtureStream.update): `weights`
/// holds one weight per dataset. Returns 0, or -1 with a message in the error buffer.
@_cdecl("winnow_mixture_update")
public func winnow_mixture_update(
  _ handle: OpaquePointer?, _ sample: UInt64, _ weights: UnsafePointer<Double>?, _ count: UInt64,
  _ errorBuffer: UnsafeMutablePointer<CChar>?, _ errorCapacity: Int
) -> Int32 {
  guard let handle, let weights, count <= 1 << 16, sample <= 1 << 56 else {
    setError("winnow_mixture_update: bad arguments", errorBuffer, errorCapacity)
    return -1
  }
  do throws(WinnowError) {
    try stream(handle).update(sample: Int(sample), weights: Array(UnsafeBufferPointer(start: weights, count: Int(count))))
    return 0
  } catch {
    setError(error.message, errorBuffer, errorCapacity)
    return -1
  }
}

/// Writes the stream's configuration (with its update log) as NUL-terminated JSON into
/// `buffer`; returns the bytes it needs (without the NUL): call again with a larger buffer
/// when that is not less than `capacity`.
@_cdecl("winnow_mixture_config")
public func winnow_mixture_config(_ handle: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int64 {
  guard let handle else { return -1 }
  let json = stream(handle).config.json()
  if let buffer, capacity > json.count {
    for (k, b) in json.enumerated() { buffer[k] = CChar(bitPattern: b) }
    buffer[json.count] = 0
  }
  return Int64(json.count)
}

@_cdecl("winnow_feed_version")
public func winnow_feed_version() -> UnsafePointer<CChar> {
  // A string literal's storage lives as long as the library: "1", the ABI's version.
  let version: StaticString = "1"
  return UnsafeRawPointer(version.utf8Start).assumingMemoryBound(to: CChar.self)
}
