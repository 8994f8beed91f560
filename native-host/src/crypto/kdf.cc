#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <utility>

#include "crypto/openssl_ptr.h"

namespace bellwether::crypto {
namespace {

// OSSL_PARAM takes non-const pointers even for inputs it only reads.
void* Mutable(const void* p) { return const_cast<void*>(p); }

}  // namespace

Result<SecureBytes> HkdfSha256(std::span<const std::uint8_t> ikm,
                               std::span<const std::uint8_t> salt,
                               std::span<const std::uint8_t> info, std::size_t size) {
  if (size == 0 || size > kMaxHkdfSha256Output) {
    return Status::InvalidParams("HKDF-SHA256 output size must be 1.." +
                                 std::to_string(kMaxHkdfSha256Output));
  }
  EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return Status::Internal("HKDF unavailable: " + LastOpenSslError());
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return Status::Internal("EVP_KDF_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  std::size_t i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, Mutable(ikm.data()), ikm.size());
  if (!salt.empty()) {
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Mutable(salt.data()), salt.size());
  }
  // An empty info is valid; OpenSSL accepts a zero-length octet string.
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, Mutable(info.data()), info.size());
  params[i++] = OSSL_PARAM_construct_end();
  SecureBytes out(size);
  if (EVP_KDF_derive(ctx.get(), out.data(), size, params) != 1) {
    return Status::Internal("HKDF failed: " + LastOpenSslError());
  }
  return out;
}

struct HmacSha256Key::Impl {
  EvpMacPtr mac;
  EvpMacCtxPtr ctx;  // Initialised with the key; duplicated per message.
};

Result<HmacSha256Key> HmacSha256Key::Create(std::span<const std::uint8_t> key) {
  HmacSha256Key out;
  out.impl_ = new Impl;
  out.impl_->mac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!out.impl_->mac) return Status::Internal("HMAC unavailable: " + LastOpenSslError());
  out.impl_->ctx.reset(EVP_MAC_CTX_new(out.impl_->mac.get()));
  if (!out.impl_->ctx) return Status::Internal("EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // HMAC permits an empty key; OpenSSL wants a non-null pointer for it.
  static const std::uint8_t kEmpty = 0;
  const std::uint8_t* key_data = key.empty() ? &kEmpty : key.data();
  if (EVP_MAC_init(out.impl_->ctx.get(), key_data, key.size(), params) != 1) {
    return Status::Internal("HMAC init failed: " + LastOpenSslError());
  }
  return out;
}

HmacSha256Key::~HmacSha256Key() { delete impl_; }

HmacSha256Key::HmacSha256Key(HmacSha256Key&& other) noexcept
    : impl_(std::exchange(other.impl_, nullptr)) {}

HmacSha256Key& HmacSha256Key::operator=(HmacSha256Key&& other) noexcept {
  if (this != &other) {
    delete impl_;
    impl_ = std::exchange(other.impl_, nullptr);
  }
  return *this;
}

Result<std::vector<std::uint8_t>> HmacSha256Key::Mac(std::span<const std::uint8_t> data) const {
  if (impl_ == nullptr) return Status::Internal("HMAC key moved from");
  EvpMacCtxPtr ctx(EVP_MAC_CTX_dup(impl_->ctx.get()));
  if (!ctx) return Status::Internal("EVP_MAC_CTX_dup failed");
  if (EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) {
    return Status::Internal("HMAC update failed: " + LastOpenSslError());
  }
  std::vector<std::uint8_t> out(kSha256Bytes);
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != kSha256Bytes) {
    return Status::Internal("HMAC final failed: " + LastOpenSslError());
  }
  return out;
}

Result<std::vector<std::uint8_t>> HmacSha256(std::span<const std::uint8_t> key,
                                             std::span<const std::uint8_t> data) {
  BW_ASSIGN_OR_RETURN(HmacSha256Key k, HmacSha256Key::Create(key));
  return k.Mac(data);
}

Status ValidateScryptParams(const ScryptParams& params) {
  const bool power_of_two = params.n > 1 && (params.n & (params.n - 1)) == 0;
  if (!power_of_two) return Status::InvalidParams("scrypt N must be a power of two");
  if (params.n < (std::uint64_t{1} << 10) || params.n > (std::uint64_t{1} << 20)) {
    return Status::InvalidParams("scrypt N must be within 2^10..2^20");
  }
  if (params.r < 1 || params.r > 16 || params.p < 1 || params.p > 16) {
    return Status::InvalidParams("scrypt r and p must be within 1..16");
  }
  return Status::Ok();
}

Result<SecureBytes> Scrypt(std::string_view passphrase, std::span<const std::uint8_t> salt,
                           const ScryptParams& params, std::size_t size) {
  BW_RETURN_IF_ERROR(ValidateScryptParams(params));
  if (size == 0) return Status::InvalidParams("scrypt output size must be positive");
  EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  if (!kdf) return Status::Internal("scrypt unavailable: " + LastOpenSslError());
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return Status::Internal("EVP_KDF_CTX_new failed");
  std::uint64_t n = params.n;
  std::uint32_t r = params.r;
  std::uint32_t p = params.p;
  // scrypt needs 128*N*r bytes; allow that plus slack and no more.
  std::uint64_t maxmem = 128 * n * r * 2 + (std::uint64_t{1} << 20);
  static const char kEmpty = 0;
  OSSL_PARAM ossl[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                        Mutable(passphrase.empty() ? &kEmpty : passphrase.data()),
                                        passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Mutable(salt.data()), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  SecureBytes out(size);
  if (EVP_KDF_derive(ctx.get(), out.data(), size, ossl) != 1) {
    return Status::Internal("scrypt failed: " + LastOpenSslError());
  }
  return out;
}

}  // namespace bellwether::crypto
