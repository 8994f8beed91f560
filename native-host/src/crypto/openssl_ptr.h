// unique_ptr aliases that own OpenSSL handles, so no code path leaks one.
#ifndef BELLWETHER_CRYPTO_OPENSSL_PTR_H_
#define BELLWETHER_CRYPTO_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <string>

namespace bellwether::crypto {

template <auto Fn>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const { Fn(p); }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<EVP_CIPHER_CTX_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, OpenSslDeleter<EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, OpenSslDeleter<EVP_MAC_CTX_free>>;
using EvpKdfPtr = std::unique_ptr<EVP_KDF, OpenSslDeleter<EVP_KDF_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OpenSslDeleter<EVP_KDF_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;

// The newest error on OpenSSL's thread-local queue as text (queue cleared).
std::string LastOpenSslError();

}  // namespace bellwether::crypto

#endif  // BELLWETHER_CRYPTO_OPENSSL_PTR_H_
