/// The C++ standard library pieces whose exact behaviour decides a trained model's bytes:
/// libstdc++'s `std::sort` (introsort, not stable: equal elements end up in an order that only
/// this exact algorithm reproduces), and `std::minstd_rand` with the libstdc++ distributions
/// fastText draws from. A trainer that used any other sort or generator would still learn a
/// good model, but not the same file as `fasttext supervised -thread 1`.
enum LibstdcxxSort {
  static let threshold = 16

  /// `std::sort(first, last, less)`.
  static func sort<T>(_ a: UnsafeMutableBufferPointer<T>, by less: (T, T) -> Bool) {
    let n = a.count
    guard n > 1 else { return }
    var lg = 0
    while (n >> (lg + 1)) > 0 { lg += 1 }
    introsortLoop(a, 0, n, 2 * lg, less)
    finalInsertionSort(a, 0, n, less)
  }

  static func introsortLoop<T>(_ a: UnsafeMutableBufferPointer<T>, _ first: Int, _ lastIn: Int, _ depthIn: Int, _ less: (T, T) -> Bool) {
    var last = lastIn
    var depth = depthIn
    while last - first > threshold {
      if depth == 0 {
        makeHeap(a, first, last, less)
        sortHeap(a, first, last, less)
        return
      }
      depth -= 1
      let cut = partitionPivot(a, first, last, less)
      introsortLoop(a, cut, last, depth, less)
      last = cut
    }
  }

  static func partitionPivot<T>(_ a: UnsafeMutableBufferPointer<T>, _ first: Int, _ last: Int, _ less: (T, T) -> Bool) -> Int {
    let mid = first + (last - first) / 2
    moveMedianToFirst(a, first, first + 1, mid, last - 1, less)
    // Unguarded Hoare partition around a[first].
    var lo = first + 1
    var hi = last
    while true {
      while less(a[lo], a[first]) { lo += 1 }
      hi -= 1
      while less(a[first], a[hi]) { hi -= 1 }
      if !(lo < hi) { return lo }
      a.swapAt(lo, hi)
      lo += 1
    }
  }

  static func moveMedianToFirst<T>(_ v: UnsafeMutableBufferPointer<T>, _ result: Int, _ a: Int, _ b: Int, _ c: Int, _ less: (T, T) -> Bool) {
    if less(v[a], v[b]) {
      if less(v[b], v[c]) { v.swapAt(result, b) } else if less(v[a], v[c]) { v.swapAt(result, c) } else { v.swapAt(result, a) }
    } else if less(v[a], v[c]) {
      v.swapAt(result, a)
    } else if less(v[b], v[c]) {
      v.swapAt(result, c)
    } else {
      v.swapAt(result, b)
    }
  }

  static func finalInsertionSort<T>(_ a: UnsafeMutableBufferPointer<T>, _ first: Int, _ last: Int, _ less: (T, T) -> Bool) {
    if last - first > threshold {
      insertionSort(a, first, first + threshold, less)
      for i in (first + threshold)..<last { unguardedLinearInsert(a, i, less) }
    } else {
      insertionSort(a, first, last, less)
    }
  }

  static func insertionSort<T>(_ a: UnsafeMutableBufferPointer<T>, _ first: Int, _ last: Int, _ less: (T, T) -> Bool) {
    guard first != last else { return }
    var i = first + 1
    while i != last {
      if less(a[i], a[first]) {
        let v = a[i]
        var j = i
        while j > first {
          a[j] = a[j - 1]
          j -= 1
        }
        a[first] = v
      } else {
        unguardedLinearInsert(a, i, less)
      }
      i += 1
    }
  }

  static func unguardedLinearInsert<T>(_ a: UnsafeMutableBufferPointer<T>, _ lastIn: Int, _ less: (T, T) -> Bool) {
    let v = a[lastIn]
    var last = lastIn
    var next = last - 1
    while less(v, a[next]) {
      a[last] = a[next]
      last = next
      next -= 1
    }
    a[last] = v
  }

  static func makeHeap<T>(_ a: UnsafeMutableBufferPointer<T>, _ first: Int, _ last: Int, _ less: (T, T) -> Bool) {
    let len = last - first
    guard len >= 2 else { return }
    var parent = (len - 2) / 2
    while true {
      adjustHeap(a, first, parent, len, a[first + parent], less)
      if parent == 0 { return }
      parent -= 1
    }
  }

  /// `std::push_heap`: the element at `last - 1` joins the heap `first..<last - 1`.
  static func pushHeap<T>(_ a: UnsafeMutableBufferPointer<T>, _ first: Int, _ last: Int, _ less: (T, T) -> Bool) {
    guard last - first >= 1 else { return }
    let value = a[last - 1]
    var hole = last - 1 - first
    var parent = (hole - 1) / 2
    while hole > 0 && less(a[first + parent], value) {
      a[first + hole] = a[first + parent]
      hole = parent
      parent = (hole - 1) / 2
    }
    a[first + hole] = value
  }

  /// `std::pop_heap`: the front moves to `last - 1`, the rest stays a heap.
  static func popHeap<T>(_ a: UnsafeMutableBufferPointer<T>, _ first: Int, _ lastIn: Int, _ less: (T, T) -> Bool) {
    guard lastIn - first > 1 else { return }
    let last = lastIn - 1
    let v = a[last]
    a[last] = a[first]
    adjustHeap(a, first, 0, last - first, v, less)
  }

  static func sortHeap<T>(_ a: UnsafeMutableBufferPointer<T>, _ first: Int, _ lastIn: Int, _ less: (T, T) -> Bool) {
    var last = lastIn
    while last - first > 1 {
      last -= 1
      let v = a[last]
      a[last] = a[first]
      adjustHeap(a, first, 0, last - first, v, less)
    }
  }

  static func adjustHeap<T>(_ a: UnsafeMutableBufferPointer<T>, _ first: Int, _ holeIn: Int, _ len: Int, _ value: T, _ less: (T, T) -> Bool) {
    let top = holeIn
    var hole = holeIn
    var second = holeIn
    while second < (len - 1) / 2 {
      second = 2 * (second + 1)
      if less(a[first + second], a[first + second - 1]) { second -= 1 }
      a[first + hole] = a[first + second]
      hole = second
    }
    if len & 1 == 0 && second == (len - 2) / 2 {
      second = 2 * (second + 1)
      a[first + hole] = a[first + second - 1]
      hole = second - 1
    }
    var parent = (hole - 1) / 2
    while hole > top && less(a[first + parent], value) {
      a[first + hole] = a[first + parent]
      hole = parent
      parent = (hole - 1) / 2
    }
    a[first + hole] = value
  }
}

/// `std::minstd_rand` (Park–Miller, multiplier 48271) with the libstdc++ draws fastText uses.
struct MinstdRand {
  static let modulus: UInt64 = 2_147_483_647
  var state: UInt64

  /// A seed that is 0 modulo 2^31 − 1 becomes 1, so seeds 0 and 1 give the same engine.
  init(seed: Int) {
    let s = UInt64(bitPattern: Int64(seed)) % Self.modulus
    state = s == 0 ? 1 : s
  }

  @inline(__always)
  mutating func next() -> UInt64 {
    state = state &* 48_271 % Self.modulus
    return state
  }

  /// `std::uniform_real_distribution<double>(lo, hi)`: `generate_canonical<double, 53>` takes
  /// two engine outputs.
  mutating func uniformReal(_ lo: Double, _ hi: Double) -> Double {
    let r = 2_147_483_646.0
    var sum = Double(next() - 1)
    var tmp = r
    sum += Double(next() - 1) * tmp
    tmp *= r
    var u = sum / tmp
    if u >= 1 { u = Double(1).nextDown }
    return u * (hi - lo) + lo
  }

  /// `std::uniform_int_distribution(0, n - 1)`: rejection with a downscaled range, one draw at
  /// least even when n is 1.
  @inline(__always)
  mutating func uniformInt(_ n: Int) -> Int {
    let range = UInt64(n)
    let scaling = 2_147_483_645 / range
    let past = range * scaling
    var r: UInt64
    repeat { r = next() - 1 } while r >= past
    return Int(r / scaling)
  }
}
