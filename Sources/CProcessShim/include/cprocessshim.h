// Process control that Swift cannot call directly (prctl is variadic in C).
#ifndef WINNOW_CPROCESSSHIM_H
#define WINNOW_CPROCESSSHIM_H

/// Asks the kernel to send `sig` to this process when its parent dies (Linux); returns 0 on
/// success, -1 where unsupported.
int wn_set_parent_death_signal(int sig);

#include <spawn.h>

/// posix_spawn_file_actions_addchdir_np (glibc 2.29+), which Swift does not see without
/// _GNU_SOURCE: the child changes to `path` before it runs. Returns 0 or an errno value.
int wn_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// A file descriptor that turns readable when child process `pid` exits (Linux's
/// pidfd_open, kernel 5.3+), close-on-exec; -1 with errno set where unsupported.
int wn_pidfd_open(int pid);

#endif
