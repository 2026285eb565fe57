#ifndef WINNOW_MEMORY_HINTS_H
#define WINNOW_MEMORY_HINTS_H

/// Asks the CPU to start loading the cache line at p for reading (no effect on results, and
/// safe on any address: a prefetch never faults). Swift has no prefetch of its own; summing
/// rows picked at random from a large matrix waits on memory, not on arithmetic.
static inline void winnow_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
