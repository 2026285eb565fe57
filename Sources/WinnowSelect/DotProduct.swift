/// The dot product of two double vectors of `n` values, four lanes by four at a time (the
/// pairwise similarities of semdedup and diversity_select: their inner loop). The order of the
/// additions differs from a plain loop's only in the last bits.
@inline(__always)
func dotProduct(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) -> Double {
  var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), s2 = SIMD4<Double>(), s3 = SIMD4<Double>()
  var j = 0
  while j + 16 <= n {
    let ra = UnsafeRawPointer(a + j), rb = UnsafeRawPointer(b + j)
    s0 += ra.loadUnaligned(as: SIMD4<Double>.self) * rb.loadUnaligned(as: SIMD4<Double>.self)
    s1 += ra.loadUnaligned(fromByteOffset: 32, as: SIMD4<Double>.self) * rb.loadUnaligned(fromByteOffset: 32, as: SIMD4<Double>.self)
    s2 += ra.loadUnaligned(fromByteOffset: 64, as: SIMD4<Double>.self) * rb.loadUnaligned(fromByteOffset: 64, as: SIMD4<Double>.self)
    s3 += ra.loadUnaligned(fromByteOffset: 96, as: SIMD4<Double>.self) * rb.loadUnaligned(fromByteOffset: 96, as: SIMD4<Double>.self)
    j += 16
  }
  var s = ((s0 + s1) + (s2 + s3)).sum()
  while j < n {
    s += a[j] * b[j]
    j += 1
  }
  return s
}
