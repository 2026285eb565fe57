// The MinHash inner loop: bands x rows hash functions over every shingle of a document. It is
// most of minhash_dedup's time, so it gets a vector version: AVX2 has no 64-bit multiply, but
// three 32x32->64 multiplies make the low 64 bits of one, four lanes at a time.

#include "minhash_kernel.h"

#define P ((uint64_t)0x1FFFFFFFFFFFFFFFull)  // 2^61 - 1

// x mod (2^61 - 1): 2^61 = 1 (mod p), so x = (x >> 61) + (x & p) (mod p), and that sum is
// below 2p.
static inline uint64_t reduce(uint64_t x) {
  uint64_t v = (x & P) + (x >> 61);
  return v >= P ? v - P : v;
}

void wn_minhash_signature_scalar(const uint64_t *shingles, size_t n, const uint64_t *a, const uint64_t *b,
                                 size_t count, uint64_t *out) {
  for (size_t i = 0; i < count; i++) {
    uint64_t ai = a[i], bi = b[i], m = UINT64_MAX;
    for (size_t j = 0; j < n; j++) {
      uint64_t v = reduce(shingles[j] * ai + bi);
      m = v < m ? v : m;
    }
    out[i] = m;
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

// Low 64 bits of x * y per lane, given y's high halves in yh (x's in xh).
AVX2 static inline __m256i mul_lo64(__m256i x, __m256i xh, __m256i y, __m256i yh) {
  __m256i lo = _mm256_mul_epu32(x, y);
  __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(xh, y), _mm256_mul_epu32(x, yh));
  return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

// One lane group: the reduced value, corrected into [0, p). Values stay below 2^62, so the
// signed 64-bit compares of AVX2 order them correctly.
AVX2 static inline __m256i reduce4(__m256i x, __m256i p, __m256i pm1) {
  __m256i v = _mm256_add_epi64(_mm256_and_si256(x, p), _mm256_srli_epi64(x, 61));
  __m256i over = _mm256_cmpgt_epi64(v, pm1);
  return _mm256_sub_epi64(v, _mm256_and_si256(over, p));
}

AVX2 static void signature_avx2(const uint64_t *shingles, size_t n, const uint64_t *a, const uint64_t *b, size_t count,
                                uint64_t *out) {
  const __m256i p = _mm256_set1_epi64x((long long)P);
  const __m256i pm1 = _mm256_set1_epi64x((long long)(P - 1));
  size_t i = 0;
  // Eight hash functions per pass over the shingles.
  for (; i + 8 <= count; i += 8) {
    __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + i));
    __m256i a1 = _mm256_loadu_si256((const __m256i *)(a + i + 4));
    __m256i a0h = _mm256_srli_epi64(a0, 32), a1h = _mm256_srli_epi64(a1, 32);
    __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + i));
    __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + i + 4));
    __m256i m0 = _mm256_set1_epi64x((long long)P), m1 = m0;
    for (size_t j = 0; j < n; j++) {
      __m256i h = _mm256_set1_epi64x((long long)shingles[j]);
      __m256i hh = _mm256_srli_epi64(h, 32);
      __m256i v0 = reduce4(_mm256_add_epi64(mul_lo64(h, hh, a0, a0h), b0), p, pm1);
      __m256i v1 = reduce4(_mm256_add_epi64(mul_lo64(h, hh, a1, a1h), b1), p, pm1);
      m0 = _mm256_blendv_epi8(m0, v0, _mm256_cmpgt_epi64(m0, v0));
      m1 = _mm256_blendv_epi8(m1, v1, _mm256_cmpgt_epi64(m1, v1));
    }
    _mm256_storeu_si256((__m256i *)(out + i), m0);
    _mm256_storeu_si256((__m256i *)(out + i + 4), m1);
    // The lanes start at p, above every reduced value; with no shingle the minimum is "none".
    if (n == 0)
      for (size_t k = i; k < i + 8; k++) out[k] = UINT64_MAX;
  }
  if (i < count) wn_minhash_signature_scalar(shingles, n, a + i, b + i, count - i, out + i);
}

static int avx2_state = -1;

int wn_minhash_uses_avx2(void) {
  if (avx2_state < 0) {
    __builtin_cpu_init();
    avx2_state = __builtin_cpu_supports("avx2") ? 1 : 0;
  }
  return avx2_state;
}

void wn_minhash_signature(const uint64_t *shingles, size_t n, const uint64_t *a, const uint64_t *b, size_t count,
                          uint64_t *out) {
  if (wn_minhash_uses_avx2())
    signature_avx2(shingles, n, a, b, count, out);
  else
    wn_minhash_signature_scalar(shingles, n, a, b, count, out);
}

#else

int wn_minhash_uses_avx2(void) { return 0; }

void wn_minhash_signature(const uint64_t *shingles, size_t n, const uint64_t *a, const uint64_t *b, size_t count,
                          uint64_t *out) {
  wn_minhash_signature_scalar(shingles, n, a, b, count, out);
}

#endif
