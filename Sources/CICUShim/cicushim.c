// See include/cicushim.h for the contract. Only this file sees ICU headers.

#include "cicushim.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#define WN_HIGH_BITS 0x8080808080808080ull

// MARK: - UTF-8 helpers

// Decodes the code point at in[i] (i < len) and sets *adv to its length.
// Ill-formed sequences give -1 and advance by their maximal subpart, which is
// what u_strFromUTF8WithSub replaces with one U+FFFD.
__attribute__((always_inline)) static inline UChar32 decode(const uint8_t *in, size_t len, size_t i,
                                                          size_t *adv) {
  uint8_t b0 = in[i];
  size_t left = len - i;
  // The common well-formed 2- and 3-byte cases inline; ICU's macro does the rest.
  if (b0 >= 0xC2 && b0 < 0xE0 && left >= 2 && (in[i + 1] & 0xC0) == 0x80) {
    *adv = 2;
    return ((UChar32)(b0 & 0x1F) << 6) | (in[i + 1] & 0x3F);
  }
  if (b0 >= 0xE1 && b0 < 0xF0 && b0 != 0xED && left >= 3 && (in[i + 1] & 0xC0) == 0x80 &&
      (in[i + 2] & 0xC0) == 0x80) {
    *adv = 3;
    return ((UChar32)(b0 & 0x0F) << 12) | ((UChar32)(in[i + 1] & 0x3F) << 6) | (in[i + 2] & 0x3F);
  }
  int32_t k = 0;
  int32_t avail = (int32_t)(left < 4 ? left : 4);
  UChar32 c;
  U8_NEXT(in + i, k, avail, c);
  *adv = (size_t)k;
  return c;
}

// Start of the code point that ends right before `i` (i > floor).
static inline size_t prev_start(const uint8_t *in, size_t floor, size_t i) {
  size_t q = i - 1;
  while (q > floor && i - q < 4 && (in[q] & 0xC0) == 0x80) q--;
  size_t adv;
  decode(in, i, q, &adv);
  // Bytes that do not form one sequence ending at i: step back one byte.
  return q + adv == i ? q : i - 1;
}

static inline size_t encode(UChar32 c, uint8_t *p) {
  if (c < 0x80) { p[0] = (uint8_t)c; return 1; }
  if (c < 0x800) { p[0] = (uint8_t)(0xC0 | (c >> 6)); p[1] = (uint8_t)(0x80 | (c & 0x3F)); return 2; }
  if (c < 0x10000) {
    p[0] = (uint8_t)(0xE0 | (c >> 12));
    p[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    p[2] = (uint8_t)(0x80 | (c & 0x3F));
    return 3;
  }
  p[0] = (uint8_t)(0xF0 | (c >> 18));
  p[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
  p[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
  p[3] = (uint8_t)(0x80 | (c & 0x3F));
  return 4;
}

// Lanes holding 'A'..'Z' get bit 7 set; all lanes must be ASCII.
static inline uint64_t ascii_upper_lanes(uint64_t w) {
  return (w + 0x3F3F3F3F3F3F3F3Full) & ~(w + 0x2525252525252525ull) & WN_HIGH_BITS;
}

// MARK: - Output accumulation

// Writes while there is room, then only counts: the caller learns the full
// length in one pass and retries once with a big enough buffer. Once a piece
// did not fit, `len > cap` and nothing more is written, so there are no holes.
typedef struct {
  uint8_t *out;
  size_t cap;
  size_t len;
} wn_sink;

static inline void sink_bytes(wn_sink *s, const uint8_t *p, size_t n) {
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
  if (s->len + (size_t)need > s->cap) s->cap = s->len;
  s->len += (size_t)need;
  return 0;
}

// MARK: - Per-code-point tables

// One bit per code point of planes 0 and 1 (BMP plus emoji, historic
// scripts): "this character is left alone". Looking a bit up on UTF-8 is far
// cheaper than converting text to UTF-16 for ICU just to learn that nothing
// changes, which is the common case. Built once per process from ICU's own
// properties, lazily, so a run that never lowercases never pays: measured
// ~1.5 ms (lowercase), ~5 ms (NFC, NFKC), ~16 ms (NFKC_Casefold, whose
// Changes_When_NFKC_Casefolded lookups are slow).
// Planes 2+ (rare CJK extensions) always take the ICU path.
#define WN_TABLE_LIMIT 0x20000

typedef struct {
  uint8_t bits[WN_TABLE_LIMIT / 8];
} wn_table;

static inline int table_has(const wn_table *t, UChar32 c) {
  return c >= 0 && c < WN_TABLE_LIMIT && ((t->bits[c >> 3] >> (c & 7)) & 1);
}

static inline void table_set(wn_table *t, UChar32 c) { t->bits[c >> 3] |= (uint8_t)(1u << (c & 7)); }

// The UAX #15 quick check on UTF-8: text is already normalised when every
// character has quick-check value YES and the nonzero combining classes never
// decrease. `starters` holds the YES characters of class 0 (nearly all text),
// `marks` the YES characters of nonzero class (Thai tone marks, Indic signs),
// whose class is then looked up to check the order.
typedef struct {
  wn_table starters, marks;
} wn_quick_check;

static void quick_check_init(wn_quick_check *t, UProperty qc, int fold) {
  for (UChar32 c = 0; c < WN_TABLE_LIMIT; c++) {
    if (U_IS_SURROGATE(c) || u_getIntPropertyValue(c, qc) != UNORM_YES) continue;
    // NFKC_Casefold has no quick-check property of its own. A character it
    // maps to itself (not Changes_When_NFKC_Casefolded) that passes the NFKC
    // quick check passes the NFKC_Casefold one.
    if (fold && u_hasBinaryProperty(c, UCHAR_CHANGES_WHEN_NFKC_CASEFOLDED)) continue;
    table_set(u_getCombiningClass(c) == 0 ? &t->starters : &t->marks, c);
  }
}

static wn_quick_check g_nfc, g_nfkc, g_nfkc_cf, g_nfd;
static wn_table g_lower_same;
static pthread_once_t g_nfc_once = PTHREAD_ONCE_INIT, g_nfkc_once = PTHREAD_ONCE_INIT,
                      g_nfkc_cf_once = PTHREAD_ONCE_INIT, g_lower_once = PTHREAD_ONCE_INIT,
                      g_nfd_once = PTHREAD_ONCE_INIT;

static void init_nfc(void) { quick_check_init(&g_nfc, UCHAR_NFC_QUICK_CHECK, 0); }
static void init_nfkc(void) { quick_check_init(&g_nfkc, UCHAR_NFKC_QUICK_CHECK, 0); }
static void init_nfkc_cf(void) { quick_check_init(&g_nfkc_cf, UCHAR_NFKC_QUICK_CHECK, 1); }
static void init_nfd(void) { quick_check_init(&g_nfd, UCHAR_NFD_QUICK_CHECK, 0); }

// Full lowercase in the root locale equals u_tolower except for U+0130 and
// U+03A3 (see below), which are therefore never "left alone".
static void init_lower(void) {
  for (UChar32 c = 0; c < WN_TABLE_LIMIT; c++)
    if (!U_IS_SURROGATE(c) && c != 0x130 && c != 0x3A3 && u_tolower(c) == c) table_set(&g_lower_same, c);
}

// MARK: - Normalisation

// At least this many input bytes go to ICU's normaliser per call: a call per
// stray character would dominate text dense in characters that change
// (full-width Latin), and normalising a few unchanged neighbours is cheap.
#define WN_NORM_SEGMENT 64
// UTF-16 scratch on the stack for segments up to this many bytes of UTF-8.
#define WN_NORM_STACK 1024

// Normalises in[0..<len], a piece that starts and ends at normalisation
// boundaries, through UTF-16 into the sink.
static int64_t norm_segment(const UNormalizer2 *n, const uint8_t *in, size_t len, wn_sink *sink) {
  if (len > INT32_MAX / 4) return WN_ERR_ARGUMENT;
  UChar src_stack[WN_NORM_STACK], dst_stack[2 * WN_NORM_STACK];
  UChar *src = src_stack, *dst = dst_stack, *src_heap = NULL, *dst_heap = NULL;
  // UTF-16 never has more units than the UTF-8 it came from has bytes.
  int32_t dst_cap = 2 * WN_NORM_STACK;
  int64_t rc = 0;
  if (len > WN_NORM_STACK) {
    // Only a long combining sequence or a run of changing characters without
    // any boundary gets here.
    src = src_heap = malloc(len * sizeof(UChar));
    dst = dst_heap = malloc(2 * len * sizeof(UChar));
    dst_cap = (int32_t)(2 * len);
    if (!src || !dst) { rc = WN_ERR_MEMORY; goto done; }
  }
  UErrorCode err = U_ZERO_ERROR;
  int32_t n16 = 0;
  u_strFromUTF8WithSub(src, (int32_t)len, &n16, (const char *)in, (int32_t)len, 0xFFFD, NULL, &err);
  if (err == U_STRING_NOT_TERMINATED_WARNING) err = U_ZERO_ERROR;
  if (U_FAILURE(err)) { rc = WN_ERR_ICU; goto done; }
  for (int attempt = 0; attempt < 2; attempt++) {
    err = U_ZERO_ERROR;
    int32_t m = unorm2_normalize(n, src, n16, dst, dst_cap, &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) {
      // Heavy expansion (U+FDFA is 18 characters in NFKC): size exactly.
      free(dst_heap);
      dst = dst_heap = malloc((size_t)m * sizeof(UChar));
      dst_cap = m;
      if (!dst) { rc = WN_ERR_MEMORY; goto done; }
      continue;
    }
    if (err == U_STRING_NOT_TERMINATED_WARNING) err = U_ZERO_ERROR;
    rc = U_FAILURE(err) ? WN_ERR_ICU : sink_utf16(sink, dst, m);
    goto done;
  }
  rc = WN_ERR_ICU;
done:
  free(src_heap);
  free(dst_heap);
  return rc;
}

// Code point at i for boundary tests; ill-formed bytes stand for U+FFFD,
// which has boundaries on both sides.
static inline UChar32 cp_at(const uint8_t *in, size_t len, size_t i) {
  size_t adv;
  UChar32 c = decode(in, len, i, &adv);
  return c < 0 ? 0xFFFD : c;
}

int64_t wn_normalize(int32_t form, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2 *n;
  const wn_quick_check *yes;
  switch (form) {
  case WN_NFC:
    n = unorm2_getNFCInstance(&err);
    pthread_once(&g_nfc_once, init_nfc);
    yes = &g_nfc;
    break;
  case WN_NFKC:
    n = unorm2_getNFKCInstance(&err);
    pthread_once(&g_nfkc_once, init_nfkc);
    yes = &g_nfkc;
    break;
  case WN_NFKC_CASEFOLD:
    n = unorm2_getNFKCCasefoldInstance(&err);
    pthread_once(&g_nfkc_cf_once, init_nfkc_cf);
    yes = &g_nfkc_cf;
    break;
  case WN_NFD:
    n = unorm2_getNFDInstance(&err);
    pthread_once(&g_nfd_once, init_nfd);
    yes = &g_nfd;
    break;
  default:
    return WN_ERR_ARGUMENT;
  }
  if (U_FAILURE(err) || !n) return WN_ERR_ICU;
  if ((in_len && !in) || (out_cap && !out)) return WN_ERR_ARGUMENT;
  // ASCII is NFC and NFKC; under case folding only A-Z change.
  int fold = form == WN_NFKC_CASEFOLD;

  wn_sink sink = {out, out_cap, 0};
  size_t pos = 0;       // everything before pos is in the sink; pos is a boundary
  size_t i = 0;         // scan position: [pos, i) is known to be normal
  uint8_t last_cc = 0;  // combining class of the character before i
  while (i < in_len) {
    uint8_t b = in[i];
    if (b < 0x80 && in_len - i >= 8) {
      uint64_t w;
      memcpy(&w, in + i, 8);
      if (!(w & WN_HIGH_BITS)) {
        uint64_t upper = fold ? ascii_upper_lanes(w) : 0;
        last_cc = 0;
        if (!upper) {
          i += 8;
          continue;
        }
        // Case folding ASCII needs no ICU when the next character cannot
        // combine with it (ASCII has a boundary on its left).
        if (in_len - i == 8 || in[i + 8] < 0x80) {
          sink_bytes(&sink, in + pos, i - pos);
          w |= upper >> 2;
          sink_bytes(&sink, (const uint8_t *)&w, 8);
          pos = i = i + 8;
          continue;
        }
      }
    }
    size_t adv = 1;
    UChar32 c = b < 0x80 ? b : decode(in, in_len, i, &adv);
    if (table_has(&yes->starters, c)) {
      last_cc = 0;
      i += adv;
      continue;
    }
    if (table_has(&yes->marks, c)) {
      uint8_t cc = u_getCombiningClass(c);
      if (cc >= last_cc) {
        last_cc = cc;
        i += adv;
        continue;
      }
    }
    if (fold && c >= 'A' && c <= 'Z' &&
        (i + 1 == in_len || in[i + 1] < 0x80 || unorm2_hasBoundaryBefore(n, cp_at(in, in_len, i + 1)))) {
      sink_bytes(&sink, in + pos, i - pos);
      uint8_t l = (uint8_t)c | 0x20;
      sink_bytes(&sink, &l, 1);
      pos = i = i + 1;
      last_cc = 0;
      continue;
    }

    // c may change or combine with its neighbours. Back up to a character
    // with a boundary before it, normalise from there up to the first
    // boundary at least WN_NORM_SEGMENT bytes on, and resume scanning.
    size_t q = i;
    while (q > pos && !unorm2_hasBoundaryBefore(n, cp_at(in, in_len, q))) q = prev_start(in, pos, q);
    sink_bytes(&sink, in + pos, q - pos);
    size_t e = i + adv;
    while (e < in_len) {
      size_t a;
      UChar32 d = decode(in, in_len, e, &a);
      if (e - q >= WN_NORM_SEGMENT && (d < 0 || unorm2_hasBoundaryBefore(n, d))) break;
      e += a;
    }
    int64_t rc = norm_segment(n, in + q, e - q, &sink);
    if (rc < 0) return rc;
    // The character at e has a boundary before it, so class 0.
    pos = i = e;
    last_cc = 0;
  }
  sink_bytes(&sink, in + pos, in_len - pos);
  return (int64_t)sink.len;
}

// MARK: - Lowercase

// In the root locale, full lowercase (u_strToLower / ucasemap with "") equals
// the simple mapping u_tolower except for two characters (SpecialCasing.txt):
// U+0130 maps to "i" + U+0307 unconditionally, and U+03A3 maps to U+03C2 in
// Final_Sigma context. Working on UTF-8 with a "left alone" table copies
// unchanged runs in bulk; that is several times faster than ucasemap, which
// pays a virtual ByteSink call per character. A test harness compared this
// with ucasemap_utf8ToLower on every code point and on random sigma contexts.

// ICU's isFollowedByCasedLetter: skip case-ignorable characters (checked
// first: a few characters are both), then the next one decides. Ill-formed
// bytes end the scan, as in ICU.
static int cased_letter_after(const uint8_t *in, size_t len, size_t i) {
  while (i < len) {
    size_t adv;
    UChar32 c = decode(in, len, i, &adv);
    if (c < 0) return 0;
    if (!u_hasBinaryProperty(c, UCHAR_CASE_IGNORABLE)) return u_hasBinaryProperty(c, UCHAR_CASED);
    i += adv;
  }
  return 0;
}

static int cased_letter_before(const uint8_t *in, size_t i) {
  while (i > 0) {
    size_t q = prev_start(in, 0, i);
    size_t adv;
    UChar32 c = decode(in, i, q, &adv);
    if (c < 0 || q + adv != i) return 0;
    if (!u_hasBinaryProperty(c, UCHAR_CASE_IGNORABLE)) return u_hasBinaryProperty(c, UCHAR_CASED);
    i = q;
  }
  return 0;
}

// Whitespace as Python's str.split() sees it (WinnowText.UnicodeWhitespace):
// White_Space plus U+001C..U+001F.
static inline int is_ascii_space(uint8_t b) { return (uint8_t)(b - 0x09) < 5 || (uint8_t)(b - 0x1C) < 5; }

static inline int is_unicode_space(UChar32 c) {
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Bit 7 in the lanes of an all-ASCII word that hold whitespace: each
// constant lane is >= 0x88, so no lane borrows from its neighbour.
static inline uint64_t ascii_space_lanes(uint64_t w) {
  uint64_t le08 = (0x8888888888888888ull - w) & WN_HIGH_BITS;
  uint64_t le0d = (0x8D8D8D8D8D8D8D8Dull - w) & WN_HIGH_BITS;
  uint64_t le1b = (0x9B9B9B9B9B9B9B9Bull - w) & WN_HIGH_BITS;
  uint64_t le20 = (0xA0A0A0A0A0A0A0A0ull - w) & WN_HIGH_BITS;
  return (le0d & ~le08) | (le20 & ~le1b);
}

// Bit 7 in the lanes equal to zero (exact, no carries between lanes).
static inline uint64_t zero_lanes(uint64_t y) {
  const uint64_t m = 0x7F7F7F7F7F7F7F7Full;
  return ~(((y & m) + m) | y) & WN_HIGH_BITS;
}

// Lowercase, and with `collapse` also replace every whitespace run by one
// U+0020 and drop leading and trailing whitespace, in the same pass. Both
// uses inline this with a constant flag, so plain lowercasing pays nothing.
// Unchanged input is not copied byte by byte: [run, i) accumulates and is
// flushed in one memcpy when something has to be written differently.
__attribute__((always_inline)) static inline int64_t lower_impl(const uint8_t *in, size_t in_len,
                                                              uint8_t *out, size_t out_cap,
                                                              const int collapse) {
  if ((in_len && !in) || (out_cap && !out)) return WN_ERR_ARGUMENT;
  pthread_once(&g_lower_once, init_lower);
  wn_sink sink = {out, out_cap, 0};
  size_t run = 0;      // [run, i) is unchanged input not yet copied
  int last_space = 1;  // collapse: the output ends in a space (or is empty)
  size_t i = 0;
  while (i < in_len) {
    if (in_len - i >= 8) {
      uint64_t w;
      memcpy(&w, in + i, 8);
      int take = !(w & WN_HIGH_BITS);
      uint64_t sp = 0;
      if (take && collapse) {
        // Eight ASCII bytes go as a whole only if every whitespace among
        // them is a single 0x20 after a non-space (ordinary prose).
        sp = ascii_space_lanes(w);
        uint64_t is20 = zero_lanes(w ^ 0x2020202020202020ull);
        take = sp == is20 && !(sp & ((sp << 8) | (last_space ? 0x80 : 0)));
      }
      if (take) {
        uint64_t upper = ascii_upper_lanes(w);
        if (upper) {
          sink_bytes(&sink, in + run, i - run);
          w |= upper >> 2;
          sink_bytes(&sink, (const uint8_t *)&w, 8);
          run = i + 8;
        }
        if (collapse) last_space = (sp >> 63) != 0;
        i += 8;
        continue;
      }
    }
    uint8_t b = in[i];
    if (b < 0x80) {
      if (collapse && is_ascii_space(b)) {
        if (b == ' ' && !last_space) {
          i++;  // kept as it is: part of the unchanged run
        } else {
          sink_bytes(&sink, in + run, i - run);
          if (!last_space) sink_bytes(&sink, (const uint8_t *)" ", 1);
          run = ++i;
        }
        last_space = 1;
        continue;
      }
      if ((uint8_t)(b - 'A') < 26) {
        sink_bytes(&sink, in + run, i - run);
        uint8_t l = b | 0x20;
        sink_bytes(&sink, &l, 1);
        run = i + 1;
      }
      last_space = 0;
      i++;
      continue;
    }
    size_t adv;
    UChar32 c = decode(in, in_len, i, &adv);
    if (collapse && c >= 0x85 && c <= 0x3000 && is_unicode_space(c)) {
      sink_bytes(&sink, in + run, i - run);
      if (!last_space) sink_bytes(&sink, (const uint8_t *)" ", 1);
      last_space = 1;
      i += adv;
      run = i;
      continue;
    }
    last_space = 0;
    if (table_has(&g_lower_same, c)) {
      i += adv;
      continue;
    }
    uint8_t buf[8];
    size_t m;
    if (c < 0) {
      m = encode(0xFFFD, buf);
    } else if (c == 0x130) {
      buf[0] = 'i';
      m = 1 + encode(0x307, buf + 1);
    } else if (c == 0x3A3) {
      int final = cased_letter_before(in, i) && !cased_letter_after(in, in_len, i + adv);
      m = encode(final ? 0x3C2 : 0x3C3, buf);
    } else {
      UChar32 l = u_tolower(c);
      if (l == c) {  // beyond the table (planes 2+) and unchanged
        i += adv;
        continue;
      }
      m = encode(l, buf);
    }
    sink_bytes(&sink, in + run, i - run);
    sink_bytes(&sink, buf, m);
    i += adv;
    run = i;
  }
  sink_bytes(&sink, in + run, in_len - run);
  // A trailing space is the last output byte, written or only counted.
  if (collapse && last_space && sink.len > 0) sink.len--;
  return (int64_t)sink.len;
}

int64_t wn_to_lower(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
  return lower_impl(in, in_len, out, out_cap, 0);
}

int64_t wn_to_lower_collapse(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
  return lower_impl(in, in_len, out, out_cap, 1);
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

int wn_nfd_is_inert(int32_t c) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2 *n = unorm2_getNFDInstance(&err);
  if (U_FAILURE(err) || !n) return 0;
  return unorm2_isInert(n, c) ? 1 : 0;
}
