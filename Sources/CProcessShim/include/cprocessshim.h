// Process control that Swift cannot call directly (prctl is variadic in C).
#ifndef WINNOW_CPROCESSSHIM_H
#define WINNOW_CPROCESSSHIM_H

/// Asks the kernel to send `sig` to this process when its parent dies (Linux); returns 0 on
/// success, -1 where unsupported.
int wn_set_parent_death_signal(int sig);

#endif
