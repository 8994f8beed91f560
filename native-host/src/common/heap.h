// The host's heap settings. A vault write of a large value allocates and
// frees several buffers of about its size (the JSON text, the sealed blob,
// SQLite's copy and record). With glibc's defaults the freed top of the heap
// goes back to the kernel after each write once it passes 128 KiB, and the
// next write faults the same pages in again, zeroed: for 64 KiB values that
// cost a vault overwrite about 15% (docs/performance.md, "Results (twelfth
// session)").
#ifndef BELLWETHER_COMMON_HEAP_H_
#define BELLWETHER_COMMON_HEAP_H_

#include <cstddef>

namespace bellwether {

// Free heap kept for reuse before glibc trims it, and the size from which an
// allocation gets pages of its own (mmap) instead: above every value (256
// KiB) and every reply frame (1 MiB), so neither is mapped anew each time.
inline constexpr std::size_t kHeapTrimThresholdBytes = std::size_t{8} << 20;
inline constexpr std::size_t kHeapMmapThresholdBytes = std::size_t{4} << 20;

// Applies the settings above to this process's allocator: once, at the start
// of main, before any threads. Returns false where the allocator is not
// glibc's or refuses either setting (under AddressSanitizer, for one).
bool KeepFreedHeapForReuse();

}  // namespace bellwether

#endif  // BELLWETHER_COMMON_HEAP_H_
