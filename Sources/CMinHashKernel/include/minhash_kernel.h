#ifndef WINNOW_MINHASH_KERNEL_H
#define WINNOW_MINHASH_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MinHash signature: out[i] = min over j of ((shingles[j] * a[i] + b[i]) mod 2^64) mod (2^61 - 1),
// for i < count; UINT64_MAX when n is 0. Uses AVX2 when the CPU has it (checked once).
void wn_minhash_signature(const uint64_t *shingles, size_t n, const uint64_t *a, const uint64_t *b, size_t count,
                          uint64_t *out);

// The portable loop alone (for tests comparing the two).
void wn_minhash_signature_scalar(const uint64_t *shingles, size_t n, const uint64_t *a, const uint64_t *b,
                                 size_t count, uint64_t *out);

// 1 when wn_minhash_signature uses AVX2 on this CPU.
int wn_minhash_uses_avx2(void);

#ifdef __cplusplus
}
#endif

#endif
