#include "crypto/digest.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

#include "crypto/openssl_ptr.h"
#include "crypto/random.h"

namespace bellwether::crypto {

std::string LastOpenSslError() {
  unsigned long err = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL API.
  ERR_clear_error();
  if (err == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  return buf;
}

Status RandomBytes(std::uint8_t* out, std::size_t n) {
  if (n == 0) return Status::Ok();
  if (n > static_cast<std::size_t>(INT32_MAX) || RAND_bytes(out, static_cast<int>(n)) != 1) {
    return Status::Internal("random generator failed: " + LastOpenSslError());
  }
  return Status::Ok();
}

Result<std::vector<std::uint8_t>> RandomVector(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  BW_RETURN_IF_ERROR(RandomBytes(v.data(), n));
  return v;
}

struct Digest::Impl {
  EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
};

Digest::Digest(DigestAlgorithm algorithm) : impl_(new Impl) {
  const EVP_MD* md = algorithm == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512();
  // Only allocation failure can make these fail; treat it like bad_alloc.
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx.get(), md, nullptr) != 1) {
    delete impl_;
    throw std::bad_alloc();
  }
}

Digest::~Digest() { delete impl_; }

void Digest::Update(std::span<const std::uint8_t> data) {
  EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size());
}

void Digest::Update(std::string_view data) {
  EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size());
}

std::vector<std::uint8_t> Digest::Finish() {
  std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &len);
  out.resize(len);
  return out;
}

std::vector<std::uint8_t> Sha256(std::string_view data) {
  Digest d(DigestAlgorithm::kSha256);
  d.Update(data);
  return d.Finish();
}

std::vector<std::uint8_t> Sha512(std::string_view data) {
  Digest d(DigestAlgorithm::kSha512);
  d.Update(data);
  return d.Finish();
}

std::string HexEncode(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<std::vector<std::uint8_t>> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::InvalidParams("hex string has odd length");
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidParams("not a hex string");
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace bellwether::crypto
