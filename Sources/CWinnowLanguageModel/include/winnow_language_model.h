#ifndef WINNOW_LANGUAGE_MODEL_H
#define WINNOW_LANGUAGE_MODEL_H
#include <stddef.h>

/// The bytes of Winnow's built-in language-identification model (a fastText .ftz file,
/// model/winnow-lid.ftz), linked into the binary so the `language` stage needs no file.
const unsigned char *winnow_language_model_bytes(void);
size_t winnow_language_model_size(void);

#endif
