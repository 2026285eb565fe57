// Removal of half-written temporary files when the process is interrupted.
//
// Winnow writes every output under a hidden temporary name and renames it when complete. A
// run stopped by a signal (SIGINT, SIGTERM, SIGHUP, a closed pipe …) would leave those files
// behind, hundreds of MB each; the handler installed here unlinks every temporary file still
// registered, then lets the signal take its default course. Registration and the handler are
// async-signal-safe: fixed slots, atomic states, no allocation.
#ifndef WINNOW_TEMP_FILE_CLEANUP_H
#define WINNOW_TEMP_FILE_CLEANUP_H

/// Registers `path` (copied) for removal on interruption. Returns a slot number for
/// `wn_temp_unregister`, or -1 when the path is too long or every slot is taken (the file is
/// then simply not removed on interruption).
int wn_temp_register(const char *path);

/// Forgets slot `slot` (the file was renamed into place or removed). -1 is ignored.
void wn_temp_unregister(int slot);

/// Installs the handler for SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXCPU and SIGXFSZ, except where
/// the process was started with the signal ignored (once; later calls do nothing).
void wn_temp_install_handlers(void);

/// Paths currently registered, for tests.
int wn_temp_registered_count(void);

#endif
