#include "winnow_language_model.h"

// The model file is found through the target's header search path (model/). The build does
// not track it: after scripts/build-lid-model.sh replaces it, touch this file.
__asm__(".section .rodata\n"
        ".balign 16\n"
        "winnow_language_model_start:\n"
        ".incbin \"winnow-lid.ftz\"\n"
        "winnow_language_model_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const unsigned char winnow_language_model_start[] __asm__("winnow_language_model_start");
extern const unsigned char winnow_language_model_end[] __asm__("winnow_language_model_end");

const unsigned char *winnow_language_model_bytes(void) { return winnow_language_model_start; }
size_t winnow_language_model_size(void) { return (size_t)(winnow_language_model_end - winnow_language_model_start); }
