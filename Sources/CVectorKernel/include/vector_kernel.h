#ifndef WINNOW_VECTOR_KERNEL_H
#define WINNOW_VECTOR_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Nearest centroids by squared Euclidean distance, up to the points' own norms: for each of the
// n points (rows of d floats in x), the value v(c) = c2[c] - 2 x.c over the kp centroids given
// in panels of 16 (centroid c's value j at ct[(c / 16) * 16 * d + j * 16 + c % 16], each panel
// contiguous; kp a multiple of 16; padding centroids have c2 = +infinity),
// the index of the smallest (the lowest index among equal values) in best, that value in
// bestValue and the second smallest value in secondValue. Float32 arithmetic: callers that need
// exact answers recompute close calls (secondValue near bestValue) in double. Uses AVX2 and
// FMA when the CPU has them (checked once).
void wn_nearest_centroids(const float *x, size_t n, size_t d, const float *ct, const float *c2, size_t kp, int32_t *best,
                          float *bestValue, float *secondValue);

// The portable version alone (for tests comparing the two).
void wn_nearest_centroids_scalar(const float *x, size_t n, size_t d, const float *ct, const float *c2, size_t kp,
                                 int32_t *best, float *bestValue, float *secondValue);

// out[i] = min(out[i], ||x_i - q||^2) for the n points (rows of d floats in x), in float32; the
// k-means++ distances to the nearest chosen centre.
void wn_min_squared_distances(const float *x, size_t n, size_t d, const float *q, float *out);

// 1 when wn_nearest_centroids uses AVX2 and FMA on this CPU.
int wn_vector_kernel_uses_avx2(void);

#ifdef __cplusplus
}
#endif

#endif
