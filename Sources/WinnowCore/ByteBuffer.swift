/// A growable byte buffer whose storage address is stable between mutations, so a view of it
/// can be handed to stages without copying. Reused across documents.
public final class ByteBuffer {
  public private(set) var base: UnsafeMutablePointer<UInt8>
  public private(set) var count = 0
  public private(set) var capacity: Int

  public init(capacity: Int = 4096) {
    self.capacity = max(capacity, 16)
    base = .allocate(capacity: self.capacity)
  }

  deinit { base.deallocate() }

  public var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

  public func removeAll() { count = 0 }

  public func reserve(_ n: Int) {
    guard n > capacity else { return }
    var c = capacity
    while c < n { c *= 2 }
    let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
    bigger.update(from: base, count: count)
    base.deallocate()
    base = bigger
    capacity = c
  }

  @inline(__always) public func append(_ byte: UInt8) {
    if count == capacity { reserve(count + 1) }
    base[count] = byte
    count += 1
  }

  public func append(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard let p = bytes.baseAddress, bytes.count > 0 else { return }
    reserve(count + bytes.count)
    (base + count).update(from: p, count: bytes.count)
    count += bytes.count
  }

  public func append(_ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { append($0) }
  }

  public func append(_ string: String) {
    var s = string
    s.withUTF8 { append($0) }
  }

  public func set(_ bytes: UnsafeBufferPointer<UInt8>) {
    count = 0
    append(bytes)
  }
}
