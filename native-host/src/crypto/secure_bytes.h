// SecureBytes: an owned, fixed-size buffer for key material.
//
// The bytes live in one heap allocation that never grows (so no stale copy is
// left behind by a reallocation) and are wiped with explicit_bzero when the
// object is destroyed or assigned over. Move-only: copies of keys are made
// explicitly with Clone(), so every copy is visible at the call site.
#ifndef BELLWETHER_CRYPTO_SECURE_BYTES_H_
#define BELLWETHER_CRYPTO_SECURE_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/status.h"

namespace bellwether::crypto {

class SecureBytes {
 public:
  SecureBytes() = default;
  // `size` zero bytes.
  explicit SecureBytes(std::size_t size);
  // Copies `bytes`; the caller remains responsible for wiping its source.
  static SecureBytes CopyOf(std::span<const std::uint8_t> bytes);
  static SecureBytes CopyOf(std::string_view bytes);
  // `size` bytes from OpenSSL's DRBG; fails closed.
  static Result<SecureBytes> Random(std::size_t size);
  // `size` bytes left uninitialised, for a caller that writes every one
  // before reading (a cipher's output); still wiped when released.
  static SecureBytes ForOverwrite(std::size_t size);

  ~SecureBytes();
  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  SecureBytes Clone() const { return CopyOf(span()); }

  std::uint8_t* data() { return data_.get(); }
  const std::uint8_t* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<std::uint8_t> span() { return {data_.get(), size_}; }
  std::span<const std::uint8_t> span() const { return {data_.get(), size_}; }
  std::string_view view() const;

  // Wipes and releases the buffer now (size becomes 0).
  void Wipe();

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0;
};

}  // namespace bellwether::crypto

#endif  // BELLWETHER_CRYPTO_SECURE_BYTES_H_
