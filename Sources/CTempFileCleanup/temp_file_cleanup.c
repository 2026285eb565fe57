#include "temp_file_cleanup.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

enum { SLOTS = 512, PATH_BYTES = 4096 };
enum { FREE = 0, FILLING = 1, ACTIVE = 2 };

// Pages of this table are touched only when used: 2 MB of address space, a few KB in practice.
static char paths[SLOTS][PATH_BYTES];
static _Atomic int states[SLOTS];
static atomic_flag installed = ATOMIC_FLAG_INIT;

int wn_temp_register(const char *path) {
  size_t n = strlen(path);
  if (n >= PATH_BYTES) return -1;
  for (int k = 0; k < SLOTS; k++) {
    int expected = FREE;
    if (atomic_compare_exchange_strong(&states[k], &expected, FILLING)) {
      memcpy(paths[k], path, n + 1);
      atomic_store(&states[k], ACTIVE);
      return k;
    }
  }
  return -1;
}

void wn_temp_unregister(int slot) {
  if (slot < 0 || slot >= SLOTS) return;
  atomic_store(&states[slot], FREE);
}

int wn_temp_registered_count(void) {
  int n = 0;
  for (int k = 0; k < SLOTS; k++) n += atomic_load(&states[k]) == ACTIVE;
  return n;
}

static void remove_and_reraise(int sig) {
  for (int k = 0; k < SLOTS; k++) {
    if (atomic_load(&states[k]) == ACTIVE) unlink(paths[k]);
  }
  // The default action (terminate) with the same signal, so the parent sees how it ended.
  signal(sig, SIG_DFL);
  raise(sig);
}

void wn_temp_install_handlers(void) {
  if (atomic_flag_test_and_set(&installed)) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = remove_and_reraise;
  sigemptyset(&sa.sa_mask);
  // Every signal whose default action ends the process and that can be caught: interrupts,
  // a closed pipe downstream (`winnow … | head`), Slurm's time and file size limits.
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXCPU, SIGXFSZ};
  for (int k = 0; k < 6; k++) {
    struct sigaction old;
    // A signal the process was started with ignored (nohup, a shell's background job) stays ignored.
    if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sigs[k], &sa, NULL);
  }
}
