#ifndef WINNOW_SHA256_H
#define WINNOW_SHA256_H
#include <stddef.h>
#include <stdint.h>

/// SHA-256 of `len` bytes at `data` into `digest` (32 bytes, the standard big-endian digest).
/// Uses the x86 SHA extensions when the CPU has them (checked once), else portable C.
void winnow_sha256(const uint8_t *data, size_t len, uint8_t digest[32]);

/// The same with the portable code only (for tests that compare the two paths).
void winnow_sha256_portable(const uint8_t *data, size_t len, uint8_t digest[32]);

/// 1 when winnow_sha256 uses the SHA extensions on this CPU.
int winnow_sha256_accelerated(void);

#endif
