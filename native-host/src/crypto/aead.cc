#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>

#include "crypto/openssl_ptr.h"

namespace bellwether::crypto {
namespace {

// Explicitly fetched once: OpenSSL 3 otherwise re-fetches the provider
// implementation on every init, which costs more than sealing a record.
const EVP_CIPHER* CipherForKey(std::size_t key_size) {
  static const EVP_CIPHER* const k128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static const EVP_CIPHER* const k192 = EVP_CIPHER_fetch(nullptr, "AES-192-GCM", nullptr);
  static const EVP_CIPHER* const k256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  switch (key_size) {
    case 16: return k128;
    case 24: return k192;
    case 32: return k256;
    default: return nullptr;
  }
}

// OpenSSL takes int lengths; every buffer here is far smaller, but check.
bool FitsInt(std::size_t n) { return n <= static_cast<std::size_t>(INT_MAX); }

Status CheckKey(std::span<const std::uint8_t> key) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    return Status::InvalidParams("AES-GCM key must be 16, 24 or 32 bytes");
  }
  if (CipherForKey(key.size()) == nullptr) return Status::Internal("AES-GCM unavailable in OpenSSL");
  return Status::Ok();
}

Status CheckNonce(std::span<const std::uint8_t> nonce) {
  if (nonce.size() != kGcmNonceBytes) return Status::InvalidParams("AES-GCM nonce must be 12 bytes");
  return Status::Ok();
}

// `ctx` already holds the key; sets the nonce and seals.
Status SealWith(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> nonce,
                std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad,
                std::vector<std::uint8_t>& out) {
  BW_RETURN_IF_ERROR(CheckNonce(nonce));
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) return Status::TooLarge("AES-GCM input too large");
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1) {
    return Status::Internal("AES-GCM init failed: " + LastOpenSslError());
  }
  int len = 0;
  if (!aad.empty() && EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return Status::Internal("AES-GCM AAD failed: " + LastOpenSslError());
  }
  const std::size_t start = out.size();
  out.resize(start + plaintext.size() + kGcmTagBytes);
  std::uint8_t* dst = out.data() + start;
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx, dst, &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1) {
      out.resize(start);
      return Status::Internal("AES-GCM encrypt failed: " + LastOpenSslError());
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx, dst + written, &len) != 1) {
    out.resize(start);
    return Status::Internal("AES-GCM final failed: " + LastOpenSslError());
  }
  written += len;
  if (static_cast<std::size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes), dst + written) != 1) {
    out.resize(start);
    return Status::Internal("AES-GCM tag failed: " + LastOpenSslError());
  }
  return Status::Ok();
}

// `ctx` already holds the key; sets the nonce, verifies and decrypts into
// `out`, which holds exactly the ciphertext's length. `out` is wiped unless
// the tag verified.
Status OpenWith(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> nonce,
                std::span<const std::uint8_t> sealed, std::span<const std::uint8_t> aad,
                std::span<std::uint8_t> out) {
  BW_RETURN_IF_ERROR(CheckNonce(nonce));
  if (sealed.size() < kGcmTagBytes) return Status::Integrity("sealed data shorter than its tag");
  if (!FitsInt(sealed.size()) || !FitsInt(aad.size())) return Status::TooLarge("AES-GCM input too large");
  const std::size_t ct_size = sealed.size() - kGcmTagBytes;
  if (out.size() != ct_size) return Status::Internal("AES-GCM output buffer has the wrong size");
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1) {
    return Status::Internal("AES-GCM init failed: " + LastOpenSslError());
  }
  int len = 0;
  if (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return Status::Internal("AES-GCM AAD failed: " + LastOpenSslError());
  }
  // From here on `out` may hold unauthenticated plaintext: wiped on failure.
  auto fail = [&out](Status s) {
    OPENSSL_cleanse(out.data(), out.size());
    return s;
  };
  int written = 0;
  if (ct_size > 0) {
    if (EVP_DecryptUpdate(ctx, out.data(), &len, sealed.data(), static_cast<int>(ct_size)) != 1) {
      return fail(Status::Internal("AES-GCM decrypt failed: " + LastOpenSslError()));
    }
    written = len;
  }
  // The tag is set before Final, which is where OpenSSL compares it.
  std::uint8_t tag[kGcmTagBytes];
  for (std::size_t i = 0; i < kGcmTagBytes; ++i) tag[i] = sealed[ct_size + i];
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes), tag) != 1) {
    return fail(Status::Internal("AES-GCM set tag failed: " + LastOpenSslError()));
  }
  std::uint8_t* tail = ct_size > 0 ? out.data() + written : tag;
  if (EVP_DecryptFinal_ex(ctx, tail, &len) != 1) {
    return fail(Status::Integrity("authentication failed (tampered, truncated or moved data)"));
  }
  // GCM is a stream mode: every byte comes out of Update. (The buffer may
  // not have been zeroed, so a short count must not pass.)
  if (static_cast<std::size_t>(written) + static_cast<std::size_t>(len) != ct_size) {
    return fail(Status::Internal("AES-GCM returned a short plaintext"));
  }
  return Status::Ok();
}

// OpenWith into a new buffer of the plaintext's size.
Result<SecureBytes> OpenWith(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> nonce,
                             std::span<const std::uint8_t> sealed, std::span<const std::uint8_t> aad) {
  if (sealed.size() < kGcmTagBytes) return Status::Integrity("sealed data shorter than its tag");
  SecureBytes plain = SecureBytes::ForOverwrite(sealed.size() - kGcmTagBytes);
  BW_RETURN_IF_ERROR(OpenWith(ctx, nonce, sealed, aad, plain.span()));
  return plain;
}

Result<EvpCipherCtxPtr> KeyedContext(std::span<const std::uint8_t> key, bool encrypt) {
  BW_RETURN_IF_ERROR(CheckKey(key));
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Internal("EVP_CIPHER_CTX_new failed");
  int ok = encrypt ? EVP_EncryptInit_ex(ctx.get(), CipherForKey(key.size()), nullptr, key.data(), nullptr)
                   : EVP_DecryptInit_ex(ctx.get(), CipherForKey(key.size()), nullptr, key.data(), nullptr);
  if (ok != 1) return Status::Internal("AES-GCM key setup failed: " + LastOpenSslError());
  return ctx;
}

}  // namespace

Status AesGcmSealAppend(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                        std::span<const std::uint8_t> plaintext,
                        std::span<const std::uint8_t> aad, std::vector<std::uint8_t>& out) {
  BW_RETURN_IF_ERROR(CheckNonce(nonce));
  BW_ASSIGN_OR_RETURN(EvpCipherCtxPtr ctx, KeyedContext(key, true));
  return SealWith(ctx.get(), nonce, plaintext, aad, out);
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
  BW_RETURN_IF_ERROR(CheckNonce(nonce));
  BW_ASSIGN_OR_RETURN(EvpCipherCtxPtr ctx, KeyedContext(key, false));
  return OpenWith(ctx.get(), nonce, sealed, aad);
}

Result<AesGcmKey> AesGcmKey::Create(std::span<const std::uint8_t> key) {
  AesGcmKey out;
  BW_ASSIGN_OR_RETURN(out.encrypt_, KeyedContext(key, true));
  BW_ASSIGN_OR_RETURN(out.decrypt_, KeyedContext(key, false));
  return out;
}

Status AesGcmKey::SealAppend(std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> plaintext,
                             std::span<const std::uint8_t> aad, std::vector<std::uint8_t>& out) const {
  return SealWith(encrypt_.get(), nonce, plaintext, aad, out);
}

Result<SecureBytes> AesGcmKey::Open(std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> sealed,
                                    std::span<const std::uint8_t> aad) const {
  return OpenWith(decrypt_.get(), nonce, sealed, aad);
}

Status AesGcmKey::OpenInto(std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> sealed,
                           std::span<const std::uint8_t> aad, std::span<std::uint8_t> out) const {
  return OpenWith(decrypt_.get(), nonce, sealed, aad, out);
}

}  // namespace bellwether::crypto
