// Wiping buffers that held secrets (a passphrase in a request) before the
// memory is freed or reused. explicit_bzero is never optimised away.
#ifndef BELLWETHER_COMMON_WIPE_H_
#define BELLWETHER_COMMON_WIPE_H_

#include <string.h>

#include <string>

namespace bellwether {

inline void WipeString(std::string& s) {
  if (!s.empty()) explicit_bzero(s.data(), s.size());
}

}  // namespace bellwether

#endif  // BELLWETHER_COMMON_WIPE_H_
