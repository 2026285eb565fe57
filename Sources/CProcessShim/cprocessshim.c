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
