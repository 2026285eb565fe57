/// Growth of the buffers managed by hand in hot loops (`ByteBuffer`, the word splitter's
/// `TokenList`, the n-gram counter's lists), written once.
package enum HandManagedMemory {
  /// Storage for at least `n` values, at least twice `capacity` (so that appending one at a
  /// time costs amortized constant time), with the first `used` values of `base` moved into
  /// it and `base` freed; nil when `n` fits in `capacity` already (nothing is done).
  @inlinable
  package static func grown<T>(
    _ base: UnsafeMutablePointer<T>, capacity: Int, keeping used: Int, toHold n: Int
  ) -> (base: UnsafeMutablePointer<T>, capacity: Int)? {
    guard n > capacity else { return nil }
    let c = max(n, capacity * 2)
    let bigger = UnsafeMutablePointer<T>.allocate(capacity: c)
    bigger.moveInitialize(from: base, count: used)
    base.deallocate()
    return (bigger, c)
  }
}
