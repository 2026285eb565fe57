#ifndef WINNOW_NUMBER_FORMAT_H
#define WINNOW_NUMBER_FORMAT_H
#include <stddef.h>

/// Prints v as C's %.<precision>g (what std::ostream prints with that precision) into out
/// (cap bytes); returns the length written (truncated to cap - 1). Swift reaches printf only through va_list
/// wrappers, which cost more than the formatting when millions of numbers are printed.
size_t winnow_format_g(double v, int precision, char *out, size_t cap);

/// The same with %.<precision>f.
size_t winnow_format_f(double v, int precision, char *out, size_t cap);

#endif
