// The host's heap settings (common/heap.h), checked by the page faults they
// save: each case runs in a child process, so the test process's own heap
// is left as it was.
#include "common/heap.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace bellwether {
namespace {

constexpr int kRounds = 200;
constexpr std::size_t kValueBytes = 64 * 1024;

void* volatile g_sink = nullptr;

// What one write of a 64 KiB value allocates: the JSON text, the sealed
// blob, SQLite's copy of it and the record it builds, each touched, then
// freed in the reverse order.
void OneLargeWrite() {
  void* buffers[4];
  for (std::size_t i = 0; i < 4; ++i) {
    buffers[i] = std::malloc(kValueBytes + 64 * i);
    std::memset(buffers[i], static_cast<int>(i + 1), kValueBytes);
    g_sink = buffers[i];
  }
  for (int i = 3; i >= 0; --i) std::free(buffers[i]);
}

long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Minor page faults of kRounds large writes after a first one, in a child
// that applied the host's settings first, or else glibc's documented
// defaults (128 KiB each, set explicitly, so that neither the environment's
// GLIBC_TUNABLES nor a threshold the test process moved decides). -1 if the
// child failed.
long FaultsOfLargeWrites(bool keep) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (keep ? !KeepFreedHeapForReuse()
             : mallopt(M_TRIM_THRESHOLD, 128 * 1024) != 1 || mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1) {
      _exit(2);
    }
    OneLargeWrite();
    const long before = MinorFaults();
    for (int i = 0; i < kRounds; ++i) OneLargeWrite();
    const long faults = MinorFaults() - before;
    const bool written = write(fds[1], &faults, sizeof faults) == static_cast<ssize_t>(sizeof faults);
    _exit(written ? 0 : 3);
  }
  close(fds[1]);
  long faults = -1;
  if (pid < 0 || read(fds[0], &faults, sizeof faults) != static_cast<ssize_t>(sizeof faults)) faults = -1;
  close(fds[0]);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? faults : -1;
}

TEST(Heap, LargeWritesReuseTheHeapInsteadOfFaultingItInAgain) {
  // With glibc's defaults the freed buffers go back to the kernel and each
  // write faults in 16 fresh pages or more; with the host's settings,
  // (almost) none: the pages stay the process's.
  const long by_default = FaultsOfLargeWrites(false);
  const long kept = FaultsOfLargeWrites(true);
  ASSERT_GE(by_default, 0) << "glibc refused its own defaults, or the child failed";
  ASSERT_GE(kept, 0) << "the settings were refused, or the child failed";
  EXPECT_GE(by_default, kRounds * 16L) << "glibc's defaults no longer trim: this test shows nothing";
  EXPECT_LT(kept, kRounds / 4L);
}

}  // namespace
}  // namespace bellwether
