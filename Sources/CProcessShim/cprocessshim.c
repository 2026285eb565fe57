#define _GNU_SOURCE
#include "cprocessshim.h"

#ifdef __linux__
#include <sys/prctl.h>
int wn_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }
#else
int wn_set_parent_death_signal(int sig) { (void)sig; return -1; }
#endif

int wn_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
  return posix_spawn_file_actions_addchdir_np(actions, path);
}

#ifdef __linux__
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
int wn_pidfd_open(int pid) {
#ifdef SYS_pidfd_open
  return (int)syscall(SYS_pidfd_open, pid, 0);
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}
#else
#include <errno.h>
int wn_pidfd_open(int pid) {
  (void)pid;
  errno = ENOSYS;
  return -1;
}
#endif
