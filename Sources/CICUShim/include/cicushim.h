// Thin C wrapper over the system ICU (72) for WinnowText.
//
// Why this exists: Foundation on Linux ships its own ICU (module
// `_FoundationICU`), and a Swift module that can see both Foundation and the
// system <unicode/*.h> headers fails to compile. This header therefore exposes
// only stdint/stddef types and an opaque struct; the ICU headers are included
// by cicushim.c alone. It also hides ICU's versioned symbol names (`..._72`).
//
// Conventions:
// - Text is UTF-8 in, UTF-8 out. Output goes to a caller-provided buffer.
// - Functions producing text return the full output length in bytes. When that
//   is larger than `out_cap`, the output is truncated (contents unspecified)
//   and the caller grows its buffer to the returned length and calls again.
// - A negative return value is an error (`WN_ERR_*`).
// - Ill-formed UTF-8 in the input becomes U+FFFD in the output.
// - Every function is thread-safe; a word-break iterator must only be used by
//   one thread at a time.

#ifndef WINNOW_CICUSHIM_H
#define WINNOW_CICUSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  WN_NFC = 0,
  WN_NFKC = 1,
  WN_NFKC_CASEFOLD = 2,
  WN_NFD = 3,
};

enum {
  WN_ERR_ARGUMENT = -1,  // bad form, NULL pointer with non-zero length, ...
  WN_ERR_ICU = -2,       // ICU reported an error (data missing, ...)
  WN_ERR_MEMORY = -3,    // out of memory for a rare oversized scratch buffer
};

/// Normalises UTF-8 text to `form` (WN_NFC, WN_NFKC or WN_NFKC_CASEFOLD).
/// Returns the output length, or a negative WN_ERR_* value.
/// Text that passes the UAX #15 quick check (every code point quick-check YES,
/// nonzero combining classes in order; looked up on the UTF-8 bytes) is
/// copied; only short
/// segments around other characters go through ICU's normaliser. The first
/// call per form builds 32 KiB of lookup tables (~5 ms; NFKC_Casefold ~16 ms).
int64_t wn_normalize(int32_t form, const uint8_t *in, size_t in_len,
                     uint8_t *out, size_t out_cap);

/// Full, locale-independent (root locale) Unicode lowercase mapping, the same
/// as u_strToLower(..., "") (SpecialCasing included: U+0130 -> "i" + U+0307,
/// U+03A3 -> U+03C2 in Final_Sigma context; no Turkish/Lithuanian rules).
/// Returns the output length, or a negative WN_ERR_* value. Unchanged runs
/// are copied; the first call builds a 16 KiB lookup table (~1.5 ms).
// 1 when the code point is its own canonical decomposition and never reorders or combines
// (ICU's unorm2_isInert for NFD): NFD leaves it, and the text around it, alone. 0 otherwise.
int wn_nfd_is_inert(int32_t c);

int64_t wn_to_lower(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

/// wn_to_lower, and in the same pass every run of whitespace (Python's
/// str.split() set: White_Space plus U+001C..U+001F) becomes one U+0020 and
/// leading/trailing whitespace is dropped: what WinnowText's
/// DedupKeyNormalizer does after NFKC.
int64_t wn_to_lower_collapse(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

/// ICU word-break iterator (UBRK_WORD, root locale) over UTF-8 text.
typedef struct wn_wordbreak wn_wordbreak;

/// Returns NULL on failure.
wn_wordbreak *wn_wordbreak_open(void);

/// Points the iterator at `utf8[0..<len]`, which must stay alive and unchanged
/// until the next set_text or close. `len == 0` (any pointer) detaches it.
/// Returns 0, or a negative WN_ERR_* value.
int32_t wn_wordbreak_set_text(wn_wordbreak *it, const uint8_t *utf8, size_t len);

/// Advances to the next segment. Returns 1 and fills the UTF-8 byte offsets
/// `[*start, *end)` and `*is_word` (1 when ICU's rule status is not
/// UBRK_WORD_NONE, i.e. letters, numbers, kana or ideographs; 0 for spaces and
/// punctuation), or returns 0 at the end of the text.
int32_t wn_wordbreak_next(wn_wordbreak *it, int64_t *start, int64_t *end, int32_t *is_word);

void wn_wordbreak_close(wn_wordbreak *it);

/// ICU UScriptCode of a code point (USCRIPT_COMMON = 0, USCRIPT_INHERITED = 1,
/// USCRIPT_LATIN = 25, USCRIPT_HAN = 17, ...); -1 on error.
int32_t wn_script(uint32_t codepoint);

/// ISO 15924 short name of a script code ("Latn", "Hani", ...), or NULL for an
/// unknown code. The string is static.
const char *wn_script_name(int32_t code);

#ifdef __cplusplus
}
#endif

#endif
