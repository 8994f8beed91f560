// AES-GCM authenticated encryption with associated data (OpenSSL EVP).
//
// The vault uses AES-256-GCM with 96-bit nonces and 128-bit tags. Keys of
// 16 and 24 bytes are accepted too so the known-answer tests can run every
// Wycheproof vector; callers that need AES-256 pass a 32-byte key and check
// it. Nonces must be 12 bytes: GCM's other nonce lengths go through GHASH
// and are a known source of misuse, so they are refused.
//
// Seal output is `ciphertext || tag`. Open verifies the tag before returning
// any plaintext: on any mismatch it returns kIntegrity and no bytes.
#ifndef BELLWETHER_CRYPTO_AEAD_H_
#define BELLWETHER_CRYPTO_AEAD_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"
#include "crypto/openssl_ptr.h"
#include "crypto/secure_bytes.h"

namespace bellwether::crypto {

inline constexpr std::size_t kAes256KeyBytes = 32;
inline constexpr std::size_t kGcmNonceBytes = 12;
inline constexpr std::size_t kGcmTagBytes = 16;

// Encrypts `plaintext`; returns ciphertext || 16-byte tag.
Result<std::vector<std::uint8_t>> AesGcmSeal(std::span<const std::uint8_t> key,
                                             std::span<const std::uint8_t> nonce,
                                             std::span<const std::uint8_t> plaintext,
                                             std::span<const std::uint8_t> aad);

// Same, appending to `out` (saves a copy for callers building a blob).
Status AesGcmSealAppend(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                        std::span<const std::uint8_t> plaintext,
                        std::span<const std::uint8_t> aad, std::vector<std::uint8_t>& out);

// Verifies and decrypts `sealed` (ciphertext || tag). kIntegrity when the
// tag does not verify or `sealed` is shorter than a tag; kInvalidParams for
// a bad key or nonce length.
Result<SecureBytes> AesGcmOpen(std::span<const std::uint8_t> key,
                               std::span<const std::uint8_t> nonce,
                               std::span<const std::uint8_t> sealed,
                               std::span<const std::uint8_t> aad);

// A key set up once for many messages: the AES key schedule and GHASH
// tables are computed at Create() and only the nonce changes per message,
// which is what makes per-record sealing cheap. The expanded key lives in
// OpenSSL's context and is cleansed when the object is destroyed.
// Not thread-safe (each call reuses the contexts).
class AesGcmKey {
 public:
  static Result<AesGcmKey> Create(std::span<const std::uint8_t> key);

  Status SealAppend(std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> plaintext,
                    std::span<const std::uint8_t> aad, std::vector<std::uint8_t>& out) const;
  Result<SecureBytes> Open(std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> sealed,
                           std::span<const std::uint8_t> aad) const;
  // Open into the caller's `out`, which must be exactly `sealed.size() -
  // kGcmTagBytes` bytes: for a caller that reuses one buffer for many
  // records. `out` is wiped whenever this fails.
  Status OpenInto(std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> sealed,
                  std::span<const std::uint8_t> aad, std::span<std::uint8_t> out) const;

 private:
  AesGcmKey() = default;
  EvpCipherCtxPtr encrypt_;
  EvpCipherCtxPtr decrypt_;
};

}  // namespace bellwether::crypto

#endif  // BELLWETHER_CRYPTO_AEAD_H_
