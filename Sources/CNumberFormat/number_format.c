#include "number_format.h"
#include <stdio.h>

static size_t clamp(int n, size_t cap) {
  if (n < 0 || cap == 0) return 0;
  return (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t winnow_format_g(double v, int precision, char *out, size_t cap) {
  return clamp(snprintf(out, cap, "%.*g", precision, v), cap);
}

size_t winnow_format_f(double v, int precision, char *out, size_t cap) {
  return clamp(snprintf(out, cap, "%.*f", precision, v), cap);
}
