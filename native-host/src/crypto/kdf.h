// Key derivation and MACs: HKDF-SHA256, HMAC-SHA256, scrypt (OpenSSL 3).
#ifndef BELLWETHER_CRYPTO_KDF_H_
#define BELLWETHER_CRYPTO_KDF_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace bellwether::crypto {

inline constexpr std::size_t kSha256Bytes = 32;
// RFC 5869: at most 255 blocks of output.
inline constexpr std::size_t kMaxHkdfSha256Output = 255 * kSha256Bytes;

// RFC 5869 extract-then-expand. kInvalidParams when `size` is 0 or above
// kMaxHkdfSha256Output.
Result<SecureBytes> HkdfSha256(std::span<const std::uint8_t> ikm,
                               std::span<const std::uint8_t> salt,
                               std::span<const std::uint8_t> info, std::size_t size);

// RFC 2104 HMAC-SHA256, 32-byte tag.
Result<std::vector<std::uint8_t>> HmacSha256(std::span<const std::uint8_t> key,
                                             std::span<const std::uint8_t> data);

// Reusable keyed HMAC-SHA256 (the vault MACs every record name with one key).
// Not thread-safe (Mac() reuses a working context).
class HmacSha256Key {
 public:
  static Result<HmacSha256Key> Create(std::span<const std::uint8_t> key);
  ~HmacSha256Key();
  HmacSha256Key(HmacSha256Key&& other) noexcept;
  HmacSha256Key& operator=(HmacSha256Key&& other) noexcept;
  HmacSha256Key(const HmacSha256Key&) = delete;
  HmacSha256Key& operator=(const HmacSha256Key&) = delete;

  Result<std::vector<std::uint8_t>> Mac(std::span<const std::uint8_t> data) const;

 private:
  HmacSha256Key() = default;
  struct Impl;
  Impl* impl_ = nullptr;
};

// scrypt (RFC 7914). N must be a power of two > 1.
struct ScryptParams {
  std::uint64_t n = std::uint64_t{1} << 17;
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};

// Refuses parameters that would let a hostile backup file exhaust memory or
// time (N above 2^20, r or p above 16) or that are too weak (N below 2^10).
Status ValidateScryptParams(const ScryptParams& params);

Result<SecureBytes> Scrypt(std::string_view passphrase, std::span<const std::uint8_t> salt,
                           const ScryptParams& params, std::size_t size);

}  // namespace bellwether::crypto

#endif  // BELLWETHER_CRYPTO_KDF_H_
