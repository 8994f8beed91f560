// NonceSource: fresh random AES-GCM nonces at a fraction of a DRBG call each.
//
// Every call into OpenSSL's DRBG has a fixed cost (locking, a CTR-DRBG
// generate and update) far above the 12 bytes a nonce needs; the vault seals
// two fields per write. NonceSource draws a batch from the DRBG and hands it
// out in order, so each nonce is still uniformly random and independent of
// every other; the batch is only buffered, never stretched or derived.
//
// Nonces are public (they are stored next to the ciphertext), so holding
// future ones in memory reveals nothing. What must never happen is handing
// the same bytes out twice, and fork() is the one way that could: parent and
// child would share the buffer. A fork is detected (pthread_atfork) and the
// child's buffer thrown away unused. Bytes handed out are wiped from the
// buffer at once.
//
// Not thread-safe: the owner serialises calls (the vault holds its mutex).
#ifndef BELLWETHER_CRYPTO_NONCE_SOURCE_H_
#define BELLWETHER_CRYPTO_NONCE_SOURCE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/status.h"

namespace bellwether::crypto {

class NonceSource {
 public:
  // Bytes drawn from the DRBG per refill: 42 two-nonce writes.
  static constexpr std::size_t kBatchBytes = 1008;

  NonceSource();
  ~NonceSource();
  NonceSource(const NonceSource&) = delete;
  NonceSource& operator=(const NonceSource&) = delete;

  // Fills `out` (at most kBatchBytes) with random bytes no other call of any
  // NonceSource in this process or a forked one has returned. Fails closed
  // when the DRBG does.
  Status Fill(std::span<std::uint8_t> out);

  // Unused bytes held now (for tests).
  std::size_t buffered_for_testing() const { return buffer_.size() - used_; }

 private:
  std::array<std::uint8_t, kBatchBytes> buffer_{};
  std::size_t used_ = kBatchBytes;  // Starts empty.
  std::uint64_t fork_generation_ = 0;
};

}  // namespace bellwether::crypto

#endif  // BELLWETHER_CRYPTO_NONCE_SOURCE_H_
