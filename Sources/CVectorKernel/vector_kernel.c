// The inner loop of k-means, of the cluster stage's assignments and of nearest-centroid lookups:
// every point against every centroid. It is a matrix product (points x centroids) followed by an
// arg-min per point, so it is written as one: tiles of 4 points x 16 centroids held in eight
// 8-lane accumulators, the centroids transposed so that each step loads 16 consecutive floats,
// and the running minimum and second minimum kept per lane, so the arg-min costs a few vector
// operations per tile instead of a scalar pass over every value.

#include "vector_kernel.h"

#include <math.h>

static inline void update2(float v, int32_t c, float *b, int32_t *bi, float *s) {
  if (v < *b) {
    *s = *b;
    *b = v;
    *bi = c;
  } else if (v < *s) {
    *s = v;
  }
}

void wn_nearest_centroids_scalar(const float *x, size_t n, size_t d, const float *ct, const float *c2, size_t kp,
                                 int32_t *best, float *bestValue, float *secondValue) {
  float acc[16];
  for (size_t i = 0; i < n; i++) {
    const float *xi = x + i * d;
    float b = INFINITY, s = INFINITY;
    int32_t bi = 0;
    for (size_t cb = 0; cb < kp; cb += 16) {
      for (int t = 0; t < 16; t++) acc[t] = 0;
      for (size_t j = 0; j < d; j++) {
        const float *row = ct + cb * d + j * 16;
        float xv = xi[j];
        for (int t = 0; t < 16; t++) acc[t] += xv * row[t];
      }
      for (int t = 0; t < 16; t++) update2(c2[cb + t] - 2 * acc[t], (int32_t)(cb + t), &b, &bi, &s);
    }
    best[i] = bi;
    bestValue[i] = b;
    secondValue[i] = s;
  }
}

static void min_squared_scalar(const float *x, size_t n, size_t d, const float *q, float *out) {
  for (size_t i = 0; i < n; i++) {
    const float *xi = x + i * d;
    float acc = 0;
    for (size_t j = 0; j < d; j++) {
      float t = xi[j] - q[j];
      acc += t * t;
    }
    if (acc < out[i]) out[i] = acc;
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

// Lane-wise running (best, index, second) after a new value v with indices idx.
AVX2 static inline void lane_update(__m256 v, __m256i idx, __m256 *b, __m256i *bi, __m256 *s) {
  __m256 lt = _mm256_cmp_ps(v, *b, _CMP_LT_OQ);
  *s = _mm256_min_ps(*s, _mm256_max_ps(*b, v));
  *bi = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(*bi), _mm256_castsi256_ps(idx), lt));
  *b = _mm256_blendv_ps(*b, v, lt);
}

// Folds the 16 lanes of (b0, b1) into one (best, index, second), lowest index on ties.
AVX2 static inline void fold(__m256 b0, __m256i i0, __m256 s0, __m256 b1, __m256i i1, __m256 s1, int32_t *best,
                             float *bestValue, float *secondValue) {
  float bv[16], sv[16];
  int32_t iv[16];
  _mm256_storeu_ps(bv, b0);
  _mm256_storeu_ps(bv + 8, b1);
  _mm256_storeu_ps(sv, s0);
  _mm256_storeu_ps(sv + 8, s1);
  _mm256_storeu_si256((__m256i *)iv, i0);
  _mm256_storeu_si256((__m256i *)(iv + 8), i1);
  float b = INFINITY, s = INFINITY;
  int32_t bi = 0;
  int found = 0;
  for (int t = 0; t < 16; t++) {
    if (!found || bv[t] < b || (bv[t] == b && iv[t] < bi)) {
      if (found) s = fminf(s, b);
      b = bv[t];
      bi = iv[t];
      found = 1;
    } else {
      s = fminf(s, bv[t]);
    }
    s = fminf(s, sv[t]);
  }
  *best = bi;
  *bestValue = b;
  *secondValue = s;
}

AVX2 static void nearest_avx2(const float *x, size_t n, size_t d, const float *ct, const float *c2, size_t kp,
                              int32_t *best, float *bestValue, float *secondValue) {
  const __m256 two = _mm256_set1_ps(2.0f);
  const __m256i step = _mm256_set1_epi32(16);
  size_t i = 0;
  // Six points at a time: twelve accumulators, two centroid loads and one broadcast at a time
  // (15 of the 16 vector registers), the FMA units kept busy.
  for (; i + 6 <= n; i += 6) {
    const float *xs[6];
    for (int r = 0; r < 6; r++) xs[r] = x + (i + r) * d;
    __m256 b[12], s[12];
    __m256i bi[12];
    for (int r = 0; r < 12; r++) {
      b[r] = _mm256_set1_ps(INFINITY);
      s[r] = _mm256_set1_ps(INFINITY);
      bi[r] = _mm256_setzero_si256();
    }
    __m256i idx0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i idx1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    for (size_t cb = 0; cb < kp; cb += 16) {
      __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a10 = _mm256_setzero_ps(),
             a11 = _mm256_setzero_ps(), a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps(),
             a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps(), a40 = _mm256_setzero_ps(),
             a41 = _mm256_setzero_ps(), a50 = _mm256_setzero_ps(), a51 = _mm256_setzero_ps();
      const float *col = ct + cb * d;
      const float *x0 = xs[0], *x1 = xs[1], *x2 = xs[2], *x3 = xs[3], *x4 = xs[4], *x5 = xs[5];
      for (size_t j = 0; j < d; j++) {
        __m256 c0 = _mm256_loadu_ps(col + j * 16);
        __m256 c1 = _mm256_loadu_ps(col + j * 16 + 8);
        __m256 v;
        v = _mm256_broadcast_ss(x0 + j);
        a00 = _mm256_fmadd_ps(v, c0, a00);
        a01 = _mm256_fmadd_ps(v, c1, a01);
        v = _mm256_broadcast_ss(x1 + j);
        a10 = _mm256_fmadd_ps(v, c0, a10);
        a11 = _mm256_fmadd_ps(v, c1, a11);
        v = _mm256_broadcast_ss(x2 + j);
        a20 = _mm256_fmadd_ps(v, c0, a20);
        a21 = _mm256_fmadd_ps(v, c1, a21);
        v = _mm256_broadcast_ss(x3 + j);
        a30 = _mm256_fmadd_ps(v, c0, a30);
        a31 = _mm256_fmadd_ps(v, c1, a31);
        v = _mm256_broadcast_ss(x4 + j);
        a40 = _mm256_fmadd_ps(v, c0, a40);
        a41 = _mm256_fmadd_ps(v, c1, a41);
        v = _mm256_broadcast_ss(x5 + j);
        a50 = _mm256_fmadd_ps(v, c0, a50);
        a51 = _mm256_fmadd_ps(v, c1, a51);
      }
      __m256 n0 = _mm256_loadu_ps(c2 + cb), n1 = _mm256_loadu_ps(c2 + cb + 8);
      lane_update(_mm256_fnmadd_ps(two, a00, n0), idx0, &b[0], &bi[0], &s[0]);
      lane_update(_mm256_fnmadd_ps(two, a01, n1), idx1, &b[1], &bi[1], &s[1]);
      lane_update(_mm256_fnmadd_ps(two, a10, n0), idx0, &b[2], &bi[2], &s[2]);
      lane_update(_mm256_fnmadd_ps(two, a11, n1), idx1, &b[3], &bi[3], &s[3]);
      lane_update(_mm256_fnmadd_ps(two, a20, n0), idx0, &b[4], &bi[4], &s[4]);
      lane_update(_mm256_fnmadd_ps(two, a21, n1), idx1, &b[5], &bi[5], &s[5]);
      lane_update(_mm256_fnmadd_ps(two, a30, n0), idx0, &b[6], &bi[6], &s[6]);
      lane_update(_mm256_fnmadd_ps(two, a31, n1), idx1, &b[7], &bi[7], &s[7]);
      lane_update(_mm256_fnmadd_ps(two, a40, n0), idx0, &b[8], &bi[8], &s[8]);
      lane_update(_mm256_fnmadd_ps(two, a41, n1), idx1, &b[9], &bi[9], &s[9]);
      lane_update(_mm256_fnmadd_ps(two, a50, n0), idx0, &b[10], &bi[10], &s[10]);
      lane_update(_mm256_fnmadd_ps(two, a51, n1), idx1, &b[11], &bi[11], &s[11]);
      idx0 = _mm256_add_epi32(idx0, step);
      idx1 = _mm256_add_epi32(idx1, step);
    }
    for (int r = 0; r < 6; r++)
      fold(b[2 * r], bi[2 * r], s[2 * r], b[2 * r + 1], bi[2 * r + 1], s[2 * r + 1], best + i + r, bestValue + i + r,
           secondValue + i + r);
  }
  for (; i < n; i++) {
    const float *x0 = x + i * d;
    __m256 b0 = _mm256_set1_ps(INFINITY), b1 = b0, s0 = b0, s1 = b0;
    __m256i bi0 = _mm256_setzero_si256(), bi1 = bi0;
    __m256i idx0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i idx1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    for (size_t cb = 0; cb < kp; cb += 16) {
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      for (size_t j = 0; j < d; j++) {
        __m256 v = _mm256_broadcast_ss(x0 + j);
        a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct + cb * d + j * 16), a0);
        a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(ct + cb * d + j * 16 + 8), a1);
      }
      lane_update(_mm256_fnmadd_ps(two, a0, _mm256_loadu_ps(c2 + cb)), idx0, &b0, &bi0, &s0);
      lane_update(_mm256_fnmadd_ps(two, a1, _mm256_loadu_ps(c2 + cb + 8)), idx1, &b1, &bi1, &s1);
      idx0 = _mm256_add_epi32(idx0, step);
      idx1 = _mm256_add_epi32(idx1, step);
    }
    fold(b0, bi0, s0, b1, bi1, s1, best + i, bestValue + i, secondValue + i);
  }
}

AVX2 static void min_squared_avx2(const float *x, size_t n, size_t d, const float *q, float *out) {
  for (size_t i = 0; i < n; i++) {
    const float *xi = x + i * d;
    __m256 a = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 8 <= d; j += 8) {
      __m256 t = _mm256_sub_ps(_mm256_loadu_ps(xi + j), _mm256_loadu_ps(q + j));
      a = _mm256_fmadd_ps(t, t, a);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, a);
    float acc = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; j < d; j++) {
      float t = xi[j] - q[j];
      acc += t * t;
    }
    if (acc < out[i]) out[i] = acc;
  }
}

static int avx2_state = -1;

int wn_vector_kernel_uses_avx2(void) {
  if (avx2_state < 0) {
    __builtin_cpu_init();
    avx2_state = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
  }
  return avx2_state;
}

void wn_nearest_centroids(const float *x, size_t n, size_t d, const float *ct, const float *c2, size_t kp, int32_t *best,
                          float *bestValue, float *secondValue) {
  if (wn_vector_kernel_uses_avx2())
    nearest_avx2(x, n, d, ct, c2, kp, best, bestValue, secondValue);
  else
    wn_nearest_centroids_scalar(x, n, d, ct, c2, kp, best, bestValue, secondValue);
}

void wn_min_squared_distances(const float *x, size_t n, size_t d, const float *q, float *out) {
  if (wn_vector_kernel_uses_avx2())
    min_squared_avx2(x, n, d, q, out);
  else
    min_squared_scalar(x, n, d, q, out);
}

#else

int wn_vector_kernel_uses_avx2(void) { return 0; }

void wn_min_squared_distances(const float *x, size_t n, size_t d, const float *q, float *out) {
  min_squared_scalar(x, n, d, q, out);
}

void wn_nearest_centroids(const float *x, size_t n, size_t d, const float *ct, const float *c2, size_t kp, int32_t *best,
                          float *bestValue, float *secondValue) {
  wn_nearest_centroids_scalar(x, n, d, ct, c2, kp, best, bestValue, secondValue);
}

#endif
