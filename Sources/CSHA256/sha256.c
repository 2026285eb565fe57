// SHA-256 (FIPS 180-4). DSIR hashes every word and word pair of a corpus into buckets by
// SHA-256, so this is on the hot path: the x86 SHA extensions (SHA-NI, most x86 CPUs since
// 2017) compress a block several times faster than portable code. The accelerated function
// is compiled for those instructions with a target attribute (no build flags), and chosen at
// run time only when the CPU reports them.
#include "sha256.h"
#include <string.h>

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress_portable(uint32_t s[8], const uint8_t *block) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) {
    w[i] = ((uint32_t)block[4 * i] << 24) | ((uint32_t)block[4 * i + 1] << 16) |
           ((uint32_t)block[4 * i + 2] << 8) | (uint32_t)block[4 * i + 3];
  }
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  for (int i = 0; i < 64; i++) {
    uint32_t S1 = ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = h + S1 + ch + K[i] + w[i];
    uint32_t S0 = ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22);
    uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = S0 + maj;
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SHANI __attribute__((target("sha,sse4.1,ssse3")))

// The SHA extensions keep the state as two vectors, ABEF and CDGH; the message schedule is
// four words per vector, extended with sha256msg1/msg2 (W[t] = σ1(W[t-2]) + W[t-7] +
// σ0(W[t-15]) + W[t-16]); each sha256rnds2 does two rounds.
SHANI static void compress_shani(uint32_t s[8], const uint8_t *data, size_t blocks) {
  const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i dcba = _mm_loadu_si128((const __m128i *)&s[0]);
  __m128i hgfe = _mm_loadu_si128((const __m128i *)&s[4]);
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
  for (size_t b = 0; b < blocks; b++, data += 64) {
    __m128i abefSaved = abef, cdghSaved = cdgh;
    __m128i w[4];
    for (int g = 0; g < 16; g++) {
      __m128i m;
      if (g < 4) {
        m = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * g)), byteswap);
      } else {
        __m128i w4 = w[g & 3], w3 = w[(g + 1) & 3], w2 = w[(g + 2) & 3], w1 = w[(g + 3) & 3];
        m = _mm_sha256msg1_epu32(w4, w3);
        m = _mm_add_epi32(m, _mm_alignr_epi8(w1, w2, 4));
        m = _mm_sha256msg2_epu32(m, w1);
      }
      w[g & 3] = m;
      __m128i k = _mm_loadu_si128((const __m128i *)&K[4 * g]);
      __m128i msg = _mm_add_epi32(m, k);
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
      msg = _mm_shuffle_epi32(msg, 0x0E);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, msg);
    }
    abef = _mm_add_epi32(abef, abefSaved);
    cdgh = _mm_add_epi32(cdgh, cdghSaved);
  }
  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  dcba = _mm_blend_epi16(feba, dchg, 0xF0);
  hgfe = _mm_alignr_epi8(dchg, feba, 8);
  _mm_storeu_si128((__m128i *)&s[0], dcba);
  _mm_storeu_si128((__m128i *)&s[4], hgfe);
}

static int shani_state = -1;

int winnow_sha256_accelerated(void) {
  if (shani_state < 0) {
    __builtin_cpu_init();
    shani_state = (__builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3")) ? 1 : 0;
  }
  return shani_state;
}
#else
int winnow_sha256_accelerated(void) { return 0; }
#endif

static void sha256(const uint8_t *data, size_t len, uint8_t digest[32], int accelerated) {
  uint32_t s[8];
  memcpy(s, H0, sizeof s);
  size_t full = len / 64;
#if defined(__x86_64__) || defined(__i386__)
  if (accelerated) {
    if (full) compress_shani(s, data, full);
  } else
#endif
  {
    for (size_t i = 0; i < full; i++) compress_portable(s, data + 64 * i);
  }
  // The tail, the 0x80 marker and the bit length, in one or two blocks.
  uint8_t tail[128];
  size_t rest = len - 64 * full;
  memset(tail, 0, sizeof tail);
  memcpy(tail, data + 64 * full, rest);
  tail[rest] = 0x80;
  size_t tailBlocks = rest + 9 <= 64 ? 1 : 2;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) tail[64 * tailBlocks - 1 - i] = (uint8_t)(bits >> (8 * i));
#if defined(__x86_64__) || defined(__i386__)
  if (accelerated) {
    compress_shani(s, tail, tailBlocks);
  } else
#endif
  {
    for (size_t i = 0; i < tailBlocks; i++) compress_portable(s, tail + 64 * i);
  }
  for (int i = 0; i < 8; i++) {
    digest[4 * i] = (uint8_t)(s[i] >> 24);
    digest[4 * i + 1] = (uint8_t)(s[i] >> 16);
    digest[4 * i + 2] = (uint8_t)(s[i] >> 8);
    digest[4 * i + 3] = (uint8_t)s[i];
  }
}

void winnow_sha256(const uint8_t *data, size_t len, uint8_t digest[32]) {
  sha256(data, len, digest, winnow_sha256_accelerated());
}

void winnow_sha256_portable(const uint8_t *data, size_t len, uint8_t digest[32]) {
  sha256(data, len, digest, 0);
}
