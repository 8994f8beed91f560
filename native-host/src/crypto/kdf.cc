#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstring>
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

// RFC 2104 over two pre-keyed SHA-256 states: the key's inner and outer
// pads are hashed once at Create(), and each message only copies those
// states. (EVP_MAC_CTX_dup does the same work with several allocations
// and provider round trips more; the vault MACs a name on every call.)
struct HmacSha256Key::Impl {
  EvpMdCtxPtr inner{EVP_MD_CTX_new()};    // SHA-256 after absorbing key ^ ipad.
  EvpMdCtxPtr outer{EVP_MD_CTX_new()};    // SHA-256 after absorbing key ^ opad.
  EvpMdCtxPtr scratch{EVP_MD_CTX_new()};  // Per-message working copy.
};

namespace {

constexpr std::size_t kSha256BlockBytes = 64;

const EVP_MD* FetchedSha256() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

Result<HmacSha256Key> HmacSha256Key::Create(std::span<const std::uint8_t> key) {
  const EVP_MD* md = FetchedSha256();
  if (md == nullptr) return Status::Internal("SHA-256 unavailable: " + LastOpenSslError());
  HmacSha256Key out;
  out.impl_ = new Impl;
  Impl& impl = *out.impl_;
  if (!impl.inner || !impl.outer || !impl.scratch) return Status::Internal("EVP_MD_CTX_new failed");
  // Keys longer than a block are hashed first (RFC 2104 section 2).
  SecureBytes block(kSha256BlockBytes);
  if (key.size() > kSha256BlockBytes) {
    unsigned int len = 0;
    if (EVP_DigestInit_ex(impl.scratch.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(impl.scratch.get(), key.data(), key.size()) != 1 ||
        EVP_DigestFinal_ex(impl.scratch.get(), block.data(), &len) != 1) {
      return Status::Internal("HMAC key hash failed: " + LastOpenSslError());
    }
  } else if (!key.empty()) {
    std::memcpy(block.data(), key.data(), key.size());
  }
  SecureBytes pad(kSha256BlockBytes);
  for (std::size_t i = 0; i < kSha256BlockBytes; ++i) pad.data()[i] = static_cast<std::uint8_t>(block.data()[i] ^ 0x36);
  if (EVP_DigestInit_ex(impl.inner.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(impl.inner.get(), pad.data(), pad.size()) != 1) {
    return Status::Internal("HMAC init failed: " + LastOpenSslError());
  }
  for (std::size_t i = 0; i < kSha256BlockBytes; ++i) pad.data()[i] = static_cast<std::uint8_t>(block.data()[i] ^ 0x5c);
  if (EVP_DigestInit_ex(impl.outer.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(impl.outer.get(), pad.data(), pad.size()) != 1) {
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
  EVP_MD_CTX* ctx = impl_->scratch.get();
  std::uint8_t inner_hash[kSha256Bytes];
  unsigned int len = 0;
  if (EVP_MD_CTX_copy_ex(ctx, impl_->inner.get()) != 1 ||
      (!data.empty() && EVP_DigestUpdate(ctx, data.data(), data.size()) != 1) ||
      EVP_DigestFinal_ex(ctx, inner_hash, &len) != 1 || len != kSha256Bytes) {
    return Status::Internal("HMAC inner hash failed: " + LastOpenSslError());
  }
  std::vector<std::uint8_t> out(kSha256Bytes);
  if (EVP_MD_CTX_copy_ex(ctx, impl_->outer.get()) != 1 || EVP_DigestUpdate(ctx, inner_hash, sizeof(inner_hash)) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != kSha256Bytes) {
    return Status::Internal("HMAC outer hash failed: " + LastOpenSslError());
  }
  OPENSSL_cleanse(inner_hash, sizeof(inner_hash));
  return out;
}

Result<std::vector<std::uint8_t>> HmacSha256(std::span<const std::uint8_t> key,
                                             std::span<const std::uint8_t> data) {
  BW_ASSIGN_OR_RETURN(HmacSha256Key k, HmacSha256Key::Create(key));
  return k.Mac(data);
}

namespace {
constexpr std::uint64_t kMaxScryptMemoryBytes = std::uint64_t{256} * 1024 * 1024;
constexpr std::uint64_t kMaxScryptWork = std::uint64_t{1} << 22;
}  // namespace

Status ValidateScryptParams(const ScryptParams& params) {
  const bool power_of_two = params.n > 1 && (params.n & (params.n - 1)) == 0;
  if (!power_of_two) return Status::InvalidParams("scrypt N must be a power of two");
  if (params.n < (std::uint64_t{1} << 10) || params.n > (std::uint64_t{1} << 20)) {
    return Status::InvalidParams("scrypt N must be within 2^10..2^20");
  }
  if (params.r < 1 || params.r > 16 || params.p < 1 || params.p > 16) {
    return Status::InvalidParams("scrypt r and p must be within 1..16");
  }
  // Parameters come from stored metadata and imported backups, which an
  // attacker may have written: bound memory (128*N*r bytes) and total work
  // (N*r*p) so a hostile file cannot exhaust the host. The defaults use
  // 128 MiB and 2^20.
  if (128 * params.n * params.r > kMaxScryptMemoryBytes) {
    return Status::InvalidParams("scrypt parameters need more than 256 MiB of memory");
  }
  if (params.n * params.r * params.p > kMaxScryptWork) {
    return Status::InvalidParams("scrypt parameters ask for too much work (N*r*p above 2^22)");
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
