// See include/cicushim.h for the contract. Only this file sees ICU headers.

#include "cicushim.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/ucasemap.h>
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
// Case mapping goes UTF-8 to UTF-8 without scratch; chunks only exist to stay
// within int32 lengths. 1 MiB makes the chunk seams testable with normal input.
#define WN_LOWER_CHUNK (1u << 20)
// How far back to look for a seam before giving up and looking forward.
#define WN_LOWER_SEAM_WINDOW (64u * 1024u)

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

// Normalises one chunk that is not plain ASCII into the sink.
static int64_t norm_chunk(const UNormalizer2 *n, const uint8_t *chunk, size_t len, wn_sink *sink,
                          UChar *src_stack, UChar *dst_stack) {
  UErrorCode err = U_ZERO_ERROR;
  UChar *src = src_stack, *dst = dst_stack, *src_heap = NULL, *dst_heap = NULL;
  int32_t dst_cap = WN_NORM_OUT16;
  int64_t rc = 0;
  if (len > WN_NORM_CHUNK) {
    // Only an oversized chunk (one endless combining sequence) gets here.
    // UTF-16 never has more units than the UTF-8 it came from has bytes.
    size_t want = len > INT32_MAX / 2 ? INT32_MAX : 2 * len;
    src = src_heap = malloc(len * sizeof(UChar));
    dst = dst_heap = malloc(want * sizeof(UChar));
    dst_cap = (int32_t)want;
    if (!src || !dst) { rc = WN_ERR_MEMORY; goto done; }
  }

  int32_t n16 = 0, subs = 0;
  u_strFromUTF8WithSub(src, (int32_t)len, &n16, (const char *)chunk, (int32_t)len, 0xFFFD, &subs, &err);
  if (err == U_STRING_NOT_TERMINATED_WARNING) err = U_ZERO_ERROR;
  if (U_FAILURE(err)) { rc = WN_ERR_ICU; goto done; }

  int32_t span = unorm2_spanQuickCheckYes(n, src, n16, &err);
  if (U_FAILURE(err)) { rc = WN_ERR_ICU; goto done; }
  if (span == n16 && subs == 0) {
    // Already normal: the input bytes are the output bytes.
    sink_bytes(sink, chunk, len);
    goto done;
  }

  // The quick-check span ends at a boundary and is normal as it stands; only
  // the rest needs the (slower) full normalisation. span <= n16 <= dst_cap.
  for (int attempt = 0; attempt < 2; attempt++) {
    memcpy(dst, src, (size_t)span * sizeof(UChar));
    int32_t m = unorm2_normalizeSecondAndAppend(n, dst, span, dst_cap, src + span, n16 - span, &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) {
      // Heavy expansion (U+FDFA is 18 characters in NFKC): size exactly.
      err = U_ZERO_ERROR;
      free(dst_heap);
      dst = dst_heap = malloc((size_t)m * sizeof(UChar));
      dst_cap = m;
      if (!dst) { rc = WN_ERR_MEMORY; goto done; }
      continue;
    }
    if (err == U_STRING_NOT_TERMINATED_WARNING) err = U_ZERO_ERROR;
    if (U_FAILURE(err)) { rc = WN_ERR_ICU; goto done; }
    rc = sink_utf16(sink, dst, m);
    goto done;
  }
  rc = WN_ERR_ICU;

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

  // ASCII is NFC and NFKC (no ASCII character composes with a preceding one),
  // but casefolding changes A-Z.
  int ascii_is_normal = form != WN_NFKC_CASEFOLD;
  wn_sink sink = {out, out_cap, 0};
  UChar src_stack[WN_NORM_CHUNK];
  UChar dst_stack[WN_NORM_OUT16];

  for (size_t pos = 0; pos < in_len;) {
    size_t end = norm_chunk_end(n, in, in_len, pos);
    size_t len = end - pos;
    const uint8_t *chunk = in + pos;
    pos = end;
    if (ascii_is_normal && is_ascii(chunk, len)) {
      sink_bytes(&sink, chunk, len);
      continue;
    }
    if (len > INT32_MAX) return WN_ERR_ARGUMENT;
    int64_t rc = norm_chunk(n, chunk, len, &sink, src_stack, dst_stack);
    if (rc < 0) return rc;
  }
  return (int64_t)sink.len;
}

// MARK: - Lowercase

static UCaseMap *g_root_casemap;
static pthread_once_t g_root_casemap_once = PTHREAD_ONCE_INIT;

static void root_casemap_init(void) {
  UErrorCode err = U_ZERO_ERROR;
  // "" is the root locale: no Turkish/Lithuanian tailoring whatever the
  // process locale says, so results do not depend on the machine.
  UCaseMap *m = ucasemap_open("", 0, &err);
  g_root_casemap = U_SUCCESS(err) ? m : NULL;
}

// Neither case-ignorable nor U+03A3 (capital sigma).
static int stops_sigma_context(UChar32 c) {
  return c >= 0 && c != 0x03A3 && !u_hasBinaryProperty(c, UCHAR_CASE_IGNORABLE);
}

// The only context-sensitive lowercase rule in the root locale is Final_Sigma:
// a capital sigma's mapping depends on the nearest characters before and after
// it that are not case-ignorable. Cutting between two characters that both
// stop that scan and are not sigmas themselves keeps every sigma's context
// inside its own chunk, so the chunks lowercase independently.
static size_t lower_chunk_end(const uint8_t *in, size_t len, size_t pos) {
  if (len - pos <= WN_LOWER_CHUNK) return len;
  size_t e = pos + WN_LOWER_CHUNK;
  size_t stop = e - pos > WN_LOWER_SEAM_WINDOW ? e - WN_LOWER_SEAM_WINDOW : pos;
  for (size_t q = e; q > stop; q--) {
    if ((in[q] & 0xC0) == 0x80) continue;
    // q starts the character after the cut; find the one before it.
    size_t r = q - 1;
    while (r > pos && q - r < 4 && (in[r] & 0xC0) == 0x80) r--;
    if (stops_sigma_context(decode_at(in, len, q)) && stops_sigma_context(decode_at(in, len, r)))
      return q;
  }
  // No seam in the window (64 KiB of combining marks or sigmas): cut at a code
  // point start; only a sigma next to this cut could come out differently.
  while (e < len && (in[e] & 0xC0) == 0x80) e++;
  return e;
}

int64_t wn_to_lower(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
  pthread_once(&g_root_casemap_once, root_casemap_init);
  if (!g_root_casemap) return WN_ERR_ICU;
  if ((in_len && !in) || (out_cap && !out)) return WN_ERR_ARGUMENT;

  wn_sink sink = {out, out_cap, 0};
  for (size_t pos = 0; pos < in_len;) {
    size_t end = lower_chunk_end(in, in_len, pos);
    size_t len = end - pos;
    if (len > INT32_MAX) return WN_ERR_ARGUMENT;
    UErrorCode err = U_ZERO_ERROR;
    size_t room = sink.len < sink.cap ? sink.cap - sink.len : 0;
    if (room > INT32_MAX) room = INT32_MAX;
    int32_t m = ucasemap_utf8ToLower(g_root_casemap, room ? (char *)sink.out + sink.len : NULL,
                                     (int32_t)room, (const char *)in + pos, (int32_t)len, &err);
    if (err == U_BUFFER_OVERFLOW_ERROR || err == U_STRING_NOT_TERMINATED_WARNING) err = U_ZERO_ERROR;
    if (U_FAILURE(err)) return WN_ERR_ICU;
    if (sink.len + (size_t)m > sink.cap) sink.cap = sink.len;
    sink.len += (size_t)m;
    pos = end;
  }
  return (int64_t)sink.len;
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
