#include "common/heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace bellwether {

bool KeepFreedHeapForReuse() {
#if defined(__GLIBC__)
  // Setting either threshold also ends glibc's own adjustment of the mmap
  // threshold, which would otherwise move with every large free.
  const bool trim = mallopt(M_TRIM_THRESHOLD, static_cast<int>(kHeapTrimThresholdBytes)) == 1;
  const bool mmap = mallopt(M_MMAP_THRESHOLD, static_cast<int>(kHeapMmapThresholdBytes)) == 1;
  return trim && mmap;
#else
  return false;
#endif
}

}  // namespace bellwether
