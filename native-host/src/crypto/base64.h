// Standard base64 (RFC 4648, with padding) for binary fields in JSON.
#ifndef BELLWETHER_CRYPTO_BASE64_H_
#define BELLWETHER_CRYPTO_BASE64_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bellwether::crypto {

std::string Base64Encode(std::span<const std::uint8_t> bytes);
// Strict: padding required, no whitespace; kInvalidParams otherwise.
Result<std::vector<std::uint8_t>> Base64Decode(std::string_view text);

}  // namespace bellwether::crypto

#endif  // BELLWETHER_CRYPTO_BASE64_H_
