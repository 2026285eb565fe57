import CProcessShim
import Glibc

/// Sleeping until one of this process's own workers exits, without reaping anyone else's
/// children (a library must not) and without a polling delay: one process descriptor per child
/// (`pidfd_open`, Linux 5.3+), slept on in `poll`, so an exit is seen as it happens. Waking on a
/// timer saw the end of a task of tens of milliseconds up to a nap late, which the many short
/// tasks of a reduce or apply pass paid each time. Where the kernel has no process descriptors,
/// the wait is that timer: 1 ms after a change, doubling up to 20 ms while nothing happens.
/// The caller reaps with `waitpid(pid, …, WNOHANG)` as before; this only decides how long to
/// sleep in between.
struct ChildExitWaiter {
  private var descriptors: [pid_t: Int32] = [:]
  private var pollable = true
  private var nap: UInt32 = 1000

  /// Starts watching a child just started.
  mutating func watch(_ pid: pid_t) {
    nap = 1000
    guard pollable else { return }
    // Close-on-exec: workers started later do not inherit it.
    let fd = wn_pidfd_open(pid)
    if fd >= 0 { descriptors[pid] = fd } else { pollable = false }
  }

  /// Stops watching a child once it is reaped.
  mutating func forget(_ pid: pid_t) {
    nap = 1000
    if let fd = descriptors.removeValue(forKey: pid) { Glibc.close(fd) }
  }

  /// Sleeps until one of `running` exits, a signal arrives, or `timeoutMilliseconds` pass
  /// (the timer's nap instead where some child has no descriptor).
  mutating func wait(for running: some Collection<pid_t>, timeoutMilliseconds: Int32) {
    if pollable && !running.isEmpty, case let fds = running.compactMap({ descriptors[$0] }), fds.count == running.count {
      var watched = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      _ = poll(&watched, nfds_t(watched.count), timeoutMilliseconds)
    } else {
      usleep(nap)
      nap = min(nap * 2, 20_000)
    }
  }

  /// Closes every descriptor (the caller is done, or gives up on its children).
  mutating func closeAll() {
    for fd in descriptors.values { Glibc.close(fd) }
    descriptors = [:]
  }
}
