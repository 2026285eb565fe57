extension Array where Element: Equatable {
  /// Keeps the first of each run of equal neighbours, in place: after a sort, each value once.
  /// Works through the buffer (iterating the array while writing it would copy it).
  @inlinable
  public mutating func removeAdjacentDuplicates() {
    let kept = withUnsafeMutableBufferPointer { v -> Int in
      var w = 0
      for i in 0..<v.count where w == 0 || v[w &- 1] != v[i] {
        v[w] = v[i]
        w &+= 1
      }
      return w
    }
    removeLast(count - kept)
  }
}
