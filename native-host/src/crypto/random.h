// Cryptographically secure random bytes from OpenSSL's DRBG.
#ifndef BELLWETHER_CRYPTO_RANDOM_H_
#define BELLWETHER_CRYPTO_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace bellwether::crypto {

// Fills `out` with `n` random bytes. Fails closed (never returns weak bytes).
Status RandomBytes(std::uint8_t* out, std::size_t n);
Result<std::vector<std::uint8_t>> RandomVector(std::size_t n);

}  // namespace bellwether::crypto

#endif  // BELLWETHER_CRYPTO_RANDOM_H_
