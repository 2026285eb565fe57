import WinnowText

/// A growable byte buffer whose storage address is stable between mutations, so a view of it
/// can be handed to stages without copying. Reused across documents. A stage that rewrites a
/// text builds it in one and hands it to the document whole (`Document.setText(taking:)`), so a
/// long text is not copied once more.
public final class ByteBuffer {
  // Not checked for exclusive access at run time: a buffer belongs to one reader or writer,
  // and the runtime's check would cost more than the byte appends it guards.
  @exclusivity(unchecked) public private(set) var base: UnsafeMutablePointer<UInt8>
  /// Bytes in use. A writer that fills `base` directly sets it (at most `capacity`).
  @exclusivity(unchecked) public var count = 0
  @exclusivity(unchecked) public private(set) var capacity: Int

  public init(capacity: Int = 4096) {
    self.capacity = max(capacity, 16)
    base = .allocate(capacity: self.capacity)
  }

  deinit { base.deallocate() }

  public var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

  public func removeAll() { count = 0 }

  /// Makes room for at least `n` bytes, keeping the first `count`. Memory that is reserved but
  /// not written is not resident, so reserving generously up front costs nothing and saves the
  /// copies of growing.
  public func reserve(_ n: Int) { reserve(n, keeping: count) }

  /// Makes room for at least `n` bytes, keeping the first `used` (for a writer that fills
  /// `base` directly and keeps its own length; 0 when the contents may go).
  public func reserve(_ n: Int, keeping used: Int) {
    guard let grown = HandManagedMemory.grown(base, capacity: capacity, keeping: used, toHold: n) else { return }
    (base, capacity) = grown
  }

  @inline(__always) public func append(_ byte: UInt8) {
    if count == capacity { reserve(count + 1) }
    base[count] = byte
    count += 1
  }

  @inline(__always) public func append(_ p: UnsafePointer<UInt8>, count n: Int) {
    guard n > 0 else { return }
    if count + n > capacity { reserve(count + n) }
    (base + count).update(from: p, count: n)
    count += n
  }

  public func append(_ bytes: UnsafeBufferPointer<UInt8>) {
    if let p = bytes.baseAddress { append(p, count: bytes.count) }
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
