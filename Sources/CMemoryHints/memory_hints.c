// memory_hints.h is header-only; a C target needs one source file.
#include "memory_hints.h"
