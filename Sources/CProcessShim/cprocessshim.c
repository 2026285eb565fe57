#include "cprocessshim.h"

#ifdef __linux__
#include <sys/prctl.h>
int wn_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }
#else
int wn_set_parent_death_signal(int sig) { (void)sig; return -1; }
#endif
