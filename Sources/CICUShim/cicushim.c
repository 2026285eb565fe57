// See include/cicushim.h for the contract. Only this file sees ICU headers.

#include "cicushim.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

// Normalisation works on UTF-16 (ICU's C API has no UTF-8 normaliser), so the
// input is processed in chunks of about this many UTF-8 bytes. Chunking keeps
// the UTF-16 scratch on the stack (no allocation per call, bounded memory for
// a 50 MB document) and keeps ICU's int32 lengths far away.
#define WN_NORM_CHUNK 4096
// NFKC rarely grows text; twice the input in UTF-16 units covers nearly all
// real chunks, and the rare overflow falls back to the heap.
#define WN_NORM_OUT16 (2 * WN_NORM_CHUNK)
// Minimum UTF-16 length handed to the full normaliser at once: one ICU call
// per stray character would dominate text dense in characters that change
// (full-width Latin); normalising a few unchanged ones with them is cheap.
#define WN_NORM_SEGMENT 32

// MARK: - Output accumulation

// Writes while there is room, then only counts: the caller learns the full
// length in one pass and retries once with a big enough buffer.
typedef struct {
  uint8_t *out;
  size_t cap;
  size_t len;
} wn_sink;

static void sink_bytes(wn_sink *s, const uint8_t *p, size_t n) {
  if (s->len + n <= s->cap) memcpy(s->out + s->len, p, n);
  s->len += n;
}

static int sink_utf16(wn_sink *s, const UChar *p, int32_t n) {
  UErrorCode err = U_ZERO_ERROR;
  int32_t need = 0;
  size_t room = s->len < s->cap ? s->cap - s->len : 0;
  if (room > INT32_MAX) room = INT32_MAX;
  u_strToUTF8(room ? (char *)s->out + s->len : NULL, (int32_t)room, &need, p, n, &err);
  if (err == U_BUFFER_OVERFLOW_ERROR || err == U_STRING_NOT_TERMINATED_WARNING) err = U_ZERO_ERROR;
  if (U_FAILURE(err)) return WN_ERR_ICU;
  // Once anything overflowed, later bytes must not land after a hole.
  if (s->len + (size_t)need > s->cap) s->cap = s->len;
  s->len += (size_t)need;
  return 0;
}

static int is_ascii(const uint8_t *p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) return 0;
  }
  for (; i < n; i++)
    if (p[i] & 0x80) return 0;
  return 1;
}

// UTF-8 length of well-formed UTF-16 (a surrogate pair is 2 + 2 bytes).
static size_t utf8_length_of_utf16(const UChar *s, int32_t n) {
  size_t len = 0;
  for (int32_t i = 0; i < n; i++) {
    UChar u = s[i];
    len += u < 0x80 ? 1 : u < 0x800 ? 2 : U16_IS_SURROGATE(u) ? 2 : 3;
  }
  return len;
}

static inline uint8_t ascii_lower(uint8_t b) { return (uint8_t)(b - 'A') < 26 ? b | 0x20 : b; }

// Decodes the code point starting at p (a non-continuation byte); ill-formed
// sequences yield a negative value, as ICU's U8_NEXT does.
static UChar32 decode_at(const uint8_t *in, size_t len, size_t p) {
  int32_t i = 0;
  int32_t avail = (int32_t)((len - p) < 4 ? (len - p) : 4);
  UChar32 c;
  U8_NEXT(in + p, i, avail, c);
  return c;
}

// MARK: - Normalisation

static const UNormalizer2 *normalizer(int32_t form, UErrorCode *err) {
  switch (form) {
  case WN_NFC: return unorm2_getNFCInstance(err);
  case WN_NFKC: return unorm2_getNFKCInstance(err);
  case WN_NFKC_CASEFOLD: return unorm2_getNFKCCasefoldInstance(err);
  default: return NULL;
  }
}

// End of the chunk starting at `pos`: a code point with a normalisation
// boundary before it, so the two sides normalise independently (ICU's
// hasBoundaryBefore contract). Ill-formed bytes become U+FFFD, itself a
// boundary.
static size_t norm_chunk_end(const UNormalizer2 *n, const uint8_t *in, size_t len, size_t pos) {
  if (len - pos <= WN_NORM_CHUNK) return len;
  size_t e = pos + WN_NORM_CHUNK;
  for (size_t p = e; p > pos; p--) {
    if ((in[p] & 0xC0) == 0x80) continue;
    UChar32 c = decode_at(in, len, p);
    if (c < 0 || unorm2_hasBoundaryBefore(n, c)) return p;
  }
  // A whole chunk without a boundary (thousands of combining marks): grow the
  // chunk rather than split a combining sequence.
  for (size_t p = e + 1; p < len; p++) {
    if ((in[p] & 0xC0) == 0x80) continue;
    UChar32 c = decode_at(in, len, p);
    if (c < 0 || unorm2_hasBoundaryBefore(n, c)) return p;
  }
  return len;
}

// Normalises src[0..<n16] (arbitrary text) into the sink via `dst`, which has
// room for `*dst_cap` units and is replaced by a heap buffer when too small.
static int64_t norm_utf16(const UNormalizer2 *n, const UChar *src, int32_t n16, wn_sink *sink,
                          UChar **dst, int32_t *dst_cap, UChar **dst_heap) {
  for (int attempt = 0; attempt < 2; attempt++) {
    UErrorCode err = U_ZERO_ERROR;
    int32_t m = unorm2_normalize(n, src, n16, *dst, *dst_cap, &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) {
      // Heavy expansion (U+FDFA is 18 characters in NFKC): size exactly.
      free(*dst_heap);
      *dst = *dst_heap = malloc((size_t)m * sizeof(UChar));
      *dst_cap = m;
      if (!*dst) return WN_ERR_MEMORY;
      continue;
    }
    if (err == U_STRING_NOT_TERMINATED_WARNING) err = U_ZERO_ERROR;
    if (U_FAILURE(err)) return WN_ERR_ICU;
    return sink_utf16(sink, *dst, m);
  }
  return WN_ERR_ICU;
}

// Normalises one chunk that is not plain ASCII into the sink. Runs that pass
// ICU's quick check are copied from the UTF-8 input as they are; only the
// segments around characters that may change go through the normaliser and
// back to UTF-8. Quick-check spans end at a normalisation boundary and
// segments end before a character with a boundary before it, so the pieces
// normalise independently.
static int64_t norm_chunk(const UNormalizer2 *n, const uint8_t *chunk, size_t len, wn_sink *sink,
                          UChar *src_stack, UChar *dst_stack) {
  UErrorCode err = U_ZERO_ERROR;
  UChar *src = src_stack, *dst = dst_stack, *src_heap = NULL, *dst_heap = NULL;
  int32_t dst_cap = WN_NORM_OUT16;
  int64_t rc = 0;
  if (len > WN_NORM_CHUNK) {
    // Only an oversized chunk (one endless combining sequence) gets here.
    // UTF-16 never has more units than the UTF-8 it came from has bytes.
    src = src_heap = malloc(len * sizeof(UChar));
    if (!src) return WN_ERR_MEMORY;
  }

  int32_t n16 = 0, subs = 0;
  u_strFromUTF8WithSub(src, (int32_t)len, &n16, (const char *)chunk, (int32_t)len, 0xFFFD, &subs, &err);
  if (err == U_STRING_NOT_TERMINATED_WARNING) err = U_ZERO_ERROR;
  if (U_FAILURE(err)) { rc = WN_ERR_ICU; goto done; }
  if (subs > 0) {
    // Ill-formed input: UTF-16 offsets no longer map back onto the input
    // bytes, so emit everything from the normaliser.
    rc = norm_utf16(n, src, n16, sink, &dst, &dst_cap, &dst_heap);
    goto done;
  }

  size_t p8 = 0;
  for (int32_t p16 = 0;;) {
    int32_t span = unorm2_spanQuickCheckYes(n, src + p16, n16 - p16, &err);
    if (U_FAILURE(err)) { rc = WN_ERR_ICU; goto done; }
    if (span > 0) {
      size_t l8 = utf8_length_of_utf16(src + p16, span);
      sink_bytes(sink, chunk + p8, l8);
      p8 += l8;
      p16 += span;
    }
    if (p16 >= n16) break;
    int32_t e16 = p16;
    U16_FWD_1(src, e16, n16);
    while (e16 < n16) {
      int32_t next = e16;
      UChar32 c;
      U16_NEXT(src, next, n16, c);
      if (e16 - p16 >= WN_NORM_SEGMENT && unorm2_hasBoundaryBefore(n, c)) break;
      e16 = next;
    }
    rc = norm_utf16(n, src + p16, e16 - p16, sink, &dst, &dst_cap, &dst_heap);
    if (rc < 0) goto done;
    p8 += utf8_length_of_utf16(src + p16, e16 - p16);
    p16 = e16;
  }

done:
  free(src_heap);
  free(dst_heap);
  return rc;
}

int64_t wn_normalize(int32_t form, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2 *n = normalizer(form, &err);
  if (U_FAILURE(err)) return WN_ERR_ICU;
  if (!n || (in_len && !in) || (out_cap && !out)) return WN_ERR_ARGUMENT;
  if (in_len > (size_t)INT64_MAX) return WN_ERR_ARGUMENT;

  wn_sink sink = {out, out_cap, 0};
  UChar src_stack[WN_NORM_CHUNK];
  UChar dst_stack[WN_NORM_OUT16];

  for (size_t pos = 0; pos < in_len;) {
    size_t end = norm_chunk_end(n, in, in_len, pos);
    size_t len = end - pos;
    const uint8_t *chunk = in + pos;
    pos = end;
    if (is_ascii(chunk, len)) {
      // ASCII is NFC and NFKC (no ASCII character composes with a preceding
      // one); its NFKC_Casefold is its lowercase.
      if (form != WN_NFKC_CASEFOLD) {
        sink_bytes(&sink, chunk, len);
      } else if (sink.len + len <= sink.cap) {
        for (size_t i = 0; i < len; i++) sink.out[sink.len + i] = ascii_lower(chunk[i]);
        sink.len += len;
      } else {
        sink.len += len;
      }
      continue;
    }
    if (len > INT32_MAX) return WN_ERR_ARGUMENT;
    int64_t rc = norm_chunk(n, chunk, len, &sink, src_stack, dst_stack);
    if (rc < 0) return rc;
  }
  return (int64_t)sink.len;
}

// MARK: - Lowercase

// In the root locale, full lowercase (u_strToLower / ucasemap with "") equals
// the simple mapping u_tolower except for two characters (SpecialCasing.txt):
// U+0130 maps to "i" + U+0307 unconditionally, and U+03A3 maps to U+03C2 in
// Final_Sigma context. Doing the rest per code point here, with ASCII 8 bytes
// at a time, is 1.3-2x faster than ucasemap_utf8ToLower, which goes through a
// virtual ByteSink call per character, and needs no int32 length limits.
// Tests compare every code point and random sigma contexts with ICU.

static int64_t wn_utf8_encode(UChar32 c, uint8_t *p) {
  if (c < 0x80) { p[0] = (uint8_t)c; return 1; }
  if (c < 0x800) { p[0] = (uint8_t)(0xC0 | (c >> 6)); p[1] = (uint8_t)(0x80 | (c & 0x3F)); return 2; }
  if (c < 0x10000) {
    p[0] = (uint8_t)(0xE0 | (c >> 12)); p[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    p[2] = (uint8_t)(0x80 | (c & 0x3F));
    return 3;
  }
  p[0] = (uint8_t)(0xF0 | (c >> 18)); p[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
  p[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F)); p[3] = (uint8_t)(0x80 | (c & 0x3F));
  return 4;
}

// Decodes at `i`; ill-formed sequences give U+FFFD and advance by the
// maximal subpart, as u_strFromUTF8WithSub does.
static UChar32 next_cp(const uint8_t *in, size_t len, size_t i, size_t *adv) {
  int32_t k = 0;
  int32_t avail = (int32_t)((len - i) < 4 ? (len - i) : 4);
  UChar32 c;
  U8_NEXT(in + i, k, avail, c);
  *adv = (size_t)k;
  return c < 0 ? 0xFFFD : c;
}

// Code point ending just before `i` (i > 0), and where it starts.
static UChar32 prev_cp(const uint8_t *in, size_t i, size_t *start) {
  size_t q = i - 1;
  while (q > 0 && i - q < 4 && (in[q] & 0xC0) == 0x80) q--;
  size_t adv;
  UChar32 c = next_cp(in, i, q, &adv);
  if (q + adv != i) {  // the bytes before i are not one well-formed sequence
    *start = i - 1;
    return 0xFFFD;
  }
  *start = q;
  return c;
}

// ICU's isFollowedByCasedLetter: skip case-ignorable characters (checked
// first: a few characters are both), then the next one decides.
static int cased_letter_after(const uint8_t *in, size_t len, size_t i) {
  while (i < len) {
    size_t adv;
    UChar32 c = next_cp(in, len, i, &adv);
    if (!u_hasBinaryProperty(c, UCHAR_CASE_IGNORABLE)) return u_hasBinaryProperty(c, UCHAR_CASED);
    i += adv;
  }
  return 0;
}

static int cased_letter_before(const uint8_t *in, size_t i) {
  while (i > 0) {
    UChar32 c = prev_cp(in, i, &i);
    if (!u_hasBinaryProperty(c, UCHAR_CASE_IGNORABLE)) return u_hasBinaryProperty(c, UCHAR_CASED);
  }
  return 0;
}

int64_t wn_to_lower(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
  if ((in_len && !in) || (out_cap && !out)) return WN_ERR_ARGUMENT;
  size_t o = 0;  // output length so far; bytes are only written while they fit
  size_t i = 0;
  while (i < in_len) {
    if (in_len - i >= 8 && o + 8 <= out_cap) {
      uint64_t w;
      memcpy(&w, in + i, 8);
      if (!(w & 0x8080808080808080ull)) {
        // Eight ASCII bytes: set 0x20 in the lanes holding 'A'..'Z'.
        uint64_t upper = (w + 0x3F3F3F3F3F3F3F3Full) & ~(w + 0x2525252525252525ull) &
                         0x8080808080808080ull;
        w |= upper >> 2;
        memcpy(out + o, &w, 8);
        i += 8;
        o += 8;
        continue;
      }
    }
    uint8_t b = in[i];
    if (b < 0x80) {
      if (o < out_cap) out[o] = ascii_lower(b);
      o++;
      i++;
      continue;
    }
    size_t adv;
    UChar32 c = next_cp(in, in_len, i, &adv);
    uint8_t buf[8];
    int64_t n;
    if (c == 0x130) {
      buf[0] = 'i';
      n = 1 + wn_utf8_encode(0x307, buf + 1);
    } else if (c == 0x3A3) {
      UChar32 l = cased_letter_before(in, i) && !cased_letter_after(in, in_len, i + adv) ? 0x3C2 : 0x3C3;
      n = wn_utf8_encode(l, buf);
    } else {
      UChar32 l = u_tolower(c);
      if (l == c && adv == (size_t)U8_LENGTH(c) && c != 0xFFFD) {
        // Unchanged (all of CJK, most non-cased text): copy the input bytes.
        if (o + adv <= out_cap) memcpy(out + o, in + i, adv);
        o += adv;
        i += adv;
        continue;
      }
      n = wn_utf8_encode(l, buf);
    }
    if (o + (size_t)n <= out_cap) memcpy(out + o, buf, (size_t)n);
    o += (size_t)n;
    i += adv;
  }
  return (int64_t)o;
}

// MARK: - Word break

struct wn_wordbreak {
  UBreakIterator *bi;
  UText *ut;
  int32_t prev;
};

static const char wn_empty[1] = {0};

wn_wordbreak *wn_wordbreak_open(void) {
  wn_wordbreak *it = calloc(1, sizeof *it);
  if (!it) return NULL;
  UErrorCode err = U_ZERO_ERROR;
  it->ut = utext_openUTF8(NULL, wn_empty, 0, &err);
  it->bi = ubrk_open(UBRK_WORD, "", NULL, 0, &err);
  if (U_SUCCESS(err)) ubrk_setUText(it->bi, it->ut, &err);
  if (U_FAILURE(err)) {
    wn_wordbreak_close(it);
    return NULL;
  }
  return it;
}

int32_t wn_wordbreak_set_text(wn_wordbreak *it, const uint8_t *utf8, size_t len) {
  if (!it || (len && !utf8)) return WN_ERR_ARGUMENT;
  // Break positions are int32 in ICU's C API.
  if (len > INT32_MAX) return WN_ERR_ARGUMENT;
  UErrorCode err = U_ZERO_ERROR;
  // A UTF-8 UText's native indexes are byte offsets, so the iterator reports
  // UTF-8 offsets directly and nothing is converted to UTF-16 up front.
  it->ut = utext_openUTF8(it->ut, len ? (const char *)utf8 : wn_empty, (int64_t)len, &err);
  if (U_SUCCESS(err)) ubrk_setUText(it->bi, it->ut, &err);
  if (U_FAILURE(err)) return WN_ERR_ICU;
  it->prev = ubrk_first(it->bi);
  return 0;
}

int32_t wn_wordbreak_next(wn_wordbreak *it, int64_t *start, int64_t *end, int32_t *is_word) {
  if (!it) return 0;
  int32_t e = ubrk_next(it->bi);
  if (e == UBRK_DONE) return 0;
  // Statuses below UBRK_WORD_NONE_LIMIT are "none" (spaces, punctuation).
  int32_t status = ubrk_getRuleStatus(it->bi);
  if (start) *start = it->prev;
  if (end) *end = e;
  if (is_word) *is_word = status >= UBRK_WORD_NONE_LIMIT;
  it->prev = e;
  return 1;
}

void wn_wordbreak_close(wn_wordbreak *it) {
  if (!it) return;
  if (it->bi) ubrk_close(it->bi);
  if (it->ut) utext_close(it->ut);
  free(it);
}

// MARK: - Scripts

int32_t wn_script(uint32_t codepoint) {
  if (codepoint > 0x10FFFF) return USCRIPT_INVALID_CODE;
  UErrorCode err = U_ZERO_ERROR;
  UScriptCode s = uscript_getScript((UChar32)codepoint, &err);
  return U_SUCCESS(err) ? (int32_t)s : USCRIPT_INVALID_CODE;
}

const char *wn_script_name(int32_t code) {
  if (code < 0 || code >= u_getIntPropertyMaxValue(UCHAR_SCRIPT) + 1) return NULL;
  return uscript_getShortName((UScriptCode)code);
}
