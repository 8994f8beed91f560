#include "crypto/aead.h"

#include <openssl/evp.h>

#include <climits>

#include "crypto/openssl_ptr.h"

namespace bellwether::crypto {
namespace {

const EVP_CIPHER* CipherForKey(std::size_t key_size) {
  switch (key_size) {
    case 16: return EVP_aes_128_gcm();
    case 24: return EVP_aes_192_gcm();
    case 32: return EVP_aes_256_gcm();
    default: return nullptr;
  }
}

// OpenSSL takes int lengths; every buffer here is far smaller, but check.
bool FitsInt(std::size_t n) { return n <= static_cast<std::size_t>(INT_MAX); }

Status CheckParams(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce) {
  if (CipherForKey(key.size()) == nullptr) {
    return Status::InvalidParams("AES-GCM key must be 16, 24 or 32 bytes");
  }
  if (nonce.size() != kGcmNonceBytes) {
    return Status::InvalidParams("AES-GCM nonce must be 12 bytes");
  }
  return Status::Ok();
}

}  // namespace

Status AesGcmSealAppend(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                        std::span<const std::uint8_t> plaintext,
                        std::span<const std::uint8_t> aad, std::vector<std::uint8_t>& out) {
  BW_RETURN_IF_ERROR(CheckParams(key, nonce));
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) {
    return Status::TooLarge("AES-GCM input too large");
  }
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Internal("EVP_CIPHER_CTX_new failed");
  if (EVP_EncryptInit_ex(ctx.get(), CipherForKey(key.size()), nullptr, key.data(), nonce.data()) != 1) {
    return Status::Internal("AES-GCM init failed: " + LastOpenSslError());
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return Status::Internal("AES-GCM AAD failed: " + LastOpenSslError());
  }
  const std::size_t start = out.size();
  out.resize(start + plaintext.size() + kGcmTagBytes);
  std::uint8_t* dst = out.data() + start;
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), dst, &len, plaintext.data(),
                          static_cast<int>(plaintext.size())) != 1) {
      out.resize(start);
      return Status::Internal("AES-GCM encrypt failed: " + LastOpenSslError());
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), dst + written, &len) != 1) {
    out.resize(start);
    return Status::Internal("AES-GCM final failed: " + LastOpenSslError());
  }
  written += len;
  if (static_cast<std::size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                          dst + written) != 1) {
    out.resize(start);
    return Status::Internal("AES-GCM tag failed: " + LastOpenSslError());
  }
  return Status::Ok();
}

Result<std::vector<std::uint8_t>> AesGcmSeal(std::span<const std::uint8_t> key,
                                             std::span<const std::uint8_t> nonce,
                                             std::span<const std::uint8_t> plaintext,
                                             std::span<const std::uint8_t> aad) {
  std::vector<std::uint8_t> out;
  out.reserve(plaintext.size() + kGcmTagBytes);
  BW_RETURN_IF_ERROR(AesGcmSealAppend(key, nonce, plaintext, aad, out));
  return out;
}

Result<SecureBytes> AesGcmOpen(std::span<const std::uint8_t> key,
                               std::span<const std::uint8_t> nonce,
                               std::span<const std::uint8_t> sealed,
                               std::span<const std::uint8_t> aad) {
  BW_RETURN_IF_ERROR(CheckParams(key, nonce));
  if (sealed.size() < kGcmTagBytes) return Status::Integrity("sealed data shorter than its tag");
  if (!FitsInt(sealed.size()) || !FitsInt(aad.size())) {
    return Status::TooLarge("AES-GCM input too large");
  }
  const std::size_t ct_size = sealed.size() - kGcmTagBytes;
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Internal("EVP_CIPHER_CTX_new failed");
  if (EVP_DecryptInit_ex(ctx.get(), CipherForKey(key.size()), nullptr, key.data(), nonce.data()) != 1) {
    return Status::Internal("AES-GCM init failed: " + LastOpenSslError());
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return Status::Internal("AES-GCM AAD failed: " + LastOpenSslError());
  }
  SecureBytes plain(ct_size);
  int written = 0;
  if (ct_size > 0) {
    if (EVP_DecryptUpdate(ctx.get(), plain.data(), &len, sealed.data(),
                          static_cast<int>(ct_size)) != 1) {
      return Status::Internal("AES-GCM decrypt failed: " + LastOpenSslError());
    }
    written = len;
  }
  // The tag is set before Final, which is where OpenSSL compares it.
  std::uint8_t tag[kGcmTagBytes];
  for (std::size_t i = 0; i < kGcmTagBytes; ++i) tag[i] = sealed[ct_size + i];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes), tag) != 1) {
    return Status::Internal("AES-GCM set tag failed: " + LastOpenSslError());
  }
  std::uint8_t* tail = ct_size > 0 ? plain.data() + written : tag;
  if (EVP_DecryptFinal_ex(ctx.get(), tail, &len) != 1) {
    plain.Wipe();  // Never hand out unauthenticated plaintext.
    return Status::Integrity("authentication failed (tampered, truncated or moved data)");
  }
  return plain;
}

}  // namespace bellwether::crypto
