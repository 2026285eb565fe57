// Quad's cluster bandit through the C ABI (declared in include/winnow_feed.h), for a trainer
// that measures rewards as it trains: choose arms, measure each on its probe documents, report
// the rewards, and draw the next samples from the clusters that won blocks (for example by
// setting a mixture stream's weights to the clusters' won blocks). A handle is one QuadBandit;
// not safe to use from two threads at once.

import WinnowCore

#if canImport(Glibc)
import Glibc
#endif

/// The bandit behind a handle (a class, so that the handle can hold it).
final class BanditBox {
  var bandit: QuadBandit
  init(_ bandit: QuadBandit) { self.bandit = bandit }
}

private func box(_ handle: OpaquePointer) -> BanditBox {
  Unmanaged<BanditBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// A bandit over `count` clusters of `sizes[i]` documents. `distances` is NULL (each cluster
/// its own only neighbour) or a row-major `count × count` matrix of centroid distances.
/// `arms`, `probe_size`, `block_size`, `alpha` and `radius` are Quad's settings. Returns NULL
/// for bad arguments, with a message in the error buffer.
@_cdecl("winnow_bandit_open")
public func winnow_bandit_open(
  _ sizes: UnsafePointer<UInt64>?, _ count: UInt64, _ distances: UnsafePointer<Double>?, _ arms: UInt64, _ probeSize: UInt64,
  _ blockSize: UInt64, _ alpha: Double, _ radius: Double, _ errorBuffer: UnsafeMutablePointer<CChar>?, _ errorCapacity: Int
) -> OpaquePointer? {
  func fail(_ m: String) -> OpaquePointer? {
    if let errorBuffer, errorCapacity > 0 {
      let bytes = Array(m.utf8.prefix(errorCapacity - 1))
      for (k, b) in bytes.enumerated() { errorBuffer[k] = CChar(bitPattern: b) }
      errorBuffer[bytes.count] = 0
    }
    return nil
  }
  guard let sizes, count >= 1, count <= 1 << 24 else { return fail("winnow_bandit_open: between 1 and 2^24 clusters") }
  guard arms >= 1, probeSize >= 1, blockSize >= 1, blockSize <= UInt64(Int.max), alpha.isFinite, alpha >= 0, radius.isFinite, radius >= 0
  else { return fail("winnow_bandit_open: arms, probe_size and block_size must be positive; alpha and radius finite, not negative") }
  let n = Int(count)
  var o = QuadBandit.Options()
  o.arms = Int(min(arms, UInt64(n)))
  o.probeSize = Int(min(probeSize, UInt64(Int.max)))
  o.blockSize = Int(blockSize)
  o.alpha = alpha
  o.radius = radius
  let s = (0..<n).map { Int(min(sizes[$0], UInt64(Int.max))) }
  let distance: ((Int, Int) -> Double)?
  if let distances {
    let copy = Array(UnsafeBufferPointer(start: distances, count: n * n))
    guard copy.allSatisfy({ !$0.isNaN }) else { return fail("winnow_bandit_open: a distance is NaN") }
    distance = { i, j in copy[i * n + j] }
  } else {
    distance = nil
  }
  return OpaquePointer(Unmanaged.passRetained(BanditBox(QuadBandit(sizes: s, distance: distance, options: o))).toOpaque())
}

@_cdecl("winnow_bandit_close")
public func winnow_bandit_close(_ handle: OpaquePointer?) {
  guard let handle else { return }
  Unmanaged<BanditBox>.fromOpaque(UnsafeRawPointer(handle)).release()
}

/// The next round's arms: cluster and times sampled before (its block and probe window), at
/// most `capacity`; returns how many (0 when the clusters ran out).
@_cdecl("winnow_bandit_choose")
public func winnow_bandit_choose(
  _ handle: OpaquePointer?, _ clusters: UnsafeMutablePointer<UInt64>?, _ sampled: UnsafeMutablePointer<UInt64>?, _ capacity: UInt64
) -> Int64 {
  guard let handle, let clusters, let sampled else { return -1 }
  let arms = box(handle).bandit.chooseArms()
  guard UInt64(arms.count) <= capacity else { return -1 }
  for (k, a) in arms.enumerated() {
    clusters[k] = UInt64(a.cluster)
    sampled[k] = UInt64(a.sampled)
  }
  return Int64(arms.count)
}

/// Reports a round's rewards, one per arm as `winnow_bandit_choose` gave them. Returns 0, or -1
/// for arms that are not a round's (a cluster out of range, a wrong sampled count).
@_cdecl("winnow_bandit_update")
public func winnow_bandit_update(
  _ handle: OpaquePointer?, _ clusters: UnsafePointer<UInt64>?, _ sampled: UnsafePointer<UInt64>?, _ rewards: UnsafePointer<Double>?,
  _ count: UInt64
) -> Int32 {
  guard let handle, let clusters, let sampled, let rewards else { return -1 }
  let b = box(handle)
  var arms: [QuadBandit.Arm] = []
  var r: [Double] = []
  for k in 0..<Int(count) {
    let c = clusters[k]
    guard c < UInt64(b.bandit.sizes.count), sampled[k] == UInt64(b.bandit.sampled[Int(c)]), rewards[k].isFinite else { return -1 }
    arms.append(QuadBandit.Arm(cluster: Int(c), sampled: Int(sampled[k])))
    r.append(rewards[k])
  }
  b.bandit.update(arms: arms, rewards: r)
  return 0
}

/// Blocks won by each cluster so far, into `out` (`count` entries); returns the total.
@_cdecl("winnow_bandit_won")
public func winnow_bandit_won(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<UInt64>?, _ count: UInt64) -> Int64 {
  guard let handle else { return -1 }
  let b = box(handle)
  if let out {
    for k in 0..<min(Int(count), b.bandit.won.count) { out[k] = UInt64(b.bandit.won[k]) }
  }
  return Int64(b.bandit.totalWon)
}
