// Message digests (SHA-256, SHA-512) and hex encoding.
#ifndef BELLWETHER_CRYPTO_DIGEST_H_
#define BELLWETHER_CRYPTO_DIGEST_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bellwether::crypto {

enum class DigestAlgorithm { kSha256, kSha512 };

// Incremental hashing, for streaming a download through it.
class Digest {
 public:
  explicit Digest(DigestAlgorithm algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void Update(std::span<const std::uint8_t> data);
  void Update(std::string_view data);
  std::vector<std::uint8_t> Finish();

 private:
  struct Impl;
  Impl* impl_;
};

std::vector<std::uint8_t> Sha256(std::string_view data);
std::vector<std::uint8_t> Sha512(std::string_view data);

std::string HexEncode(std::span<const std::uint8_t> bytes);
// Lower or upper case accepted; fails on odd length or a non-hex character.
Result<std::vector<std::uint8_t>> HexDecode(std::string_view hex);
// Every character is one of 0-9a-f, HexEncode's alphabet (true for "").
bool IsLowerHex(std::string_view text);

// Constant-time comparison (for MACs and hashes).
bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

}  // namespace bellwether::crypto

#endif  // BELLWETHER_CRYPTO_DIGEST_H_
