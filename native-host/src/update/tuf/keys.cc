#include "update/tuf/keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <climits>
#include <cstring>

#include "crypto/digest.h"
#include "crypto/openssl_ptr.h"
#include "update/tuf/canonical_json.h"

namespace bellwether::tuf {
namespace {

using crypto::BioPtr;
using crypto::EvpMdCtxPtr;
using crypto::EvpPkeyCtxPtr;

// Length of an Ed25519 public key and of a SHA-256 digest (the PSS salt).
constexpr std::size_t kEd25519PublicKeyBytes = 32;
constexpr int kPssSaltBytes = 32;
constexpr int kMinRsaBits = 2048;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

Status KeyError(std::string message) {
  ERR_clear_error();
  return {ErrorCode::kUpdateVerification, std::move(message)};
}

bool IsP256(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1) return false;
  std::string_view group(name, len);
  return group == "prime256v1" || group == "P-256" || group == "secp256r1";
}

bool IsRsaAtLeast2048(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "RSA") == 1 && EVP_PKEY_get_bits(key) >= kMinRsaBits;
}

// Checks that `key` is of the type `scheme` needs.
bool KeyFitsScheme(KeyScheme scheme, EVP_PKEY* key) {
  switch (scheme) {
    case KeyScheme::kEd25519: return EVP_PKEY_is_a(key, "ED25519") == 1;
    case KeyScheme::kEcdsaP256Sha256: return IsP256(key);
    case KeyScheme::kRsaPssSha256: return IsRsaAtLeast2048(key);
    case KeyScheme::kUnsupported: return false;
  }
  return false;
}

KeyScheme SchemeOf(std::string_view keytype, std::string_view scheme) {
  if (keytype == "ed25519" && scheme == kSchemeEd25519) return KeyScheme::kEd25519;
  if ((keytype == "ecdsa" || keytype == "ecdsa-sha2-nistp256") && scheme == kSchemeEcdsaP256) {
    return KeyScheme::kEcdsaP256Sha256;
  }
  if (keytype == "rsa" && scheme == kSchemeRsaPssSha256) return KeyScheme::kRsaPssSha256;
  return KeyScheme::kUnsupported;
}

bool LooksLikePem(std::string_view text) {
  return text.find("-----BEGIN") != std::string_view::npos;
}

Result<std::string> PublicPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return Status::Internal("cannot write public key PEM: " + crypto::LastOpenSslError());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int): OpenSSL API.
  if (len <= 0 || data == nullptr) return Status::Internal("empty public key PEM");
  return std::string(data, static_cast<std::size_t>(len));
}

// Sets RSA-PSS/SHA-256/MGF1-SHA-256 parameters on a sign or verify context.
bool SetPssParams(EVP_PKEY_CTX* pctx, int salt_length) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_length) == 1;
}

}  // namespace

Result<std::shared_ptr<EVP_PKEY>> LoadPublicKeyPem(std::string_view pem) {
  if (pem.size() > INT_MAX) return KeyError("public key PEM too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return KeyError("public key is not a PEM SubjectPublicKeyInfo");
  return Share(key);
}

Result<std::shared_ptr<EVP_PKEY>> LoadPublicKeyDer(std::span<const std::uint8_t> der) {
  if (der.size() > LONG_MAX) return KeyError("public key DER too large");
  const unsigned char* p = der.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));  // NOLINT(google-runtime-int)
  if (key == nullptr) return KeyError("public key is not a DER SubjectPublicKeyInfo");
  if (p != der.data() + der.size()) {
    EVP_PKEY_free(key);
    return KeyError("trailing bytes after public key DER");
  }
  return Share(key);
}

Result<std::shared_ptr<EVP_PKEY>> LoadEd25519RawPublicKey(std::span<const std::uint8_t> raw) {
  if (raw.size() != kEd25519PublicKeyBytes) return KeyError("ed25519 public key must be 32 bytes");
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  if (key == nullptr) return KeyError("invalid ed25519 public key");
  return Share(key);
}

bool VerifySignature(KeyScheme scheme, EVP_PKEY* key, std::string_view message,
                     std::span<const std::uint8_t> signature, int rsa_pss_salt_length) {
  if (key == nullptr || scheme == KeyScheme::kUnsupported || signature.empty()) return false;
  if (!KeyFitsScheme(scheme, key)) return false;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  const EVP_MD* md = scheme == KeyScheme::kEd25519 ? nullptr : EVP_sha256();
  bool ok = EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) == 1;
  if (ok && scheme == KeyScheme::kRsaPssSha256) {
    ok = SetPssParams(pctx, rsa_pss_salt_length < 0 ? RSA_PSS_SALTLEN_AUTO : rsa_pss_salt_length);
  }
  // EVP_DigestVerify: 1 valid, 0 invalid, negative on malformed input.
  ok = ok && EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                              reinterpret_cast<const unsigned char*>(message.data()),
                              message.size()) == 1;
  ERR_clear_error();  // A bad signature leaves errors queued; do not leak them.
  return ok;
}

Result<PublicKey> PublicKey::FromJson(const nlohmann::json& key) {
  if (!key.is_object()) return KeyError("key is not an object");
  auto keytype = key.find("keytype");
  auto scheme = key.find("scheme");
  auto keyval = key.find("keyval");
  if (keytype == key.end() || !keytype->is_string()) return KeyError("key: keytype missing or not a string");
  if (scheme == key.end() || !scheme->is_string()) return KeyError("key: scheme missing or not a string");
  if (keyval == key.end() || !keyval->is_object()) return KeyError("key: keyval missing or not an object");
  auto pub = keyval->find("public");
  if (pub == keyval->end() || !pub->is_string()) return KeyError("key: keyval.public missing or not a string");

  PublicKey out;
  out.json_ = key;
  out.keytype_ = keytype->get<std::string>();
  out.scheme_ = scheme->get<std::string>();
  out.public_value_ = pub->get<std::string>();
  out.kind_ = SchemeOf(out.keytype_, out.scheme_);
  if (out.kind_ == KeyScheme::kUnsupported) {
    out.unusable_reason_ = "unsupported keytype/scheme " + out.keytype_ + "/" + out.scheme_;
    return out;
  }

  Result<std::shared_ptr<EVP_PKEY>> loaded = Status::Internal("unset");
  if (out.kind_ == KeyScheme::kEd25519 && !LooksLikePem(out.public_value_)) {
    auto raw = crypto::HexDecode(out.public_value_);
    loaded = raw.ok() ? LoadEd25519RawPublicKey(*raw)
                      : Result<std::shared_ptr<EVP_PKEY>>(KeyError("ed25519 public key is not hex"));
  } else {
    loaded = LoadPublicKeyPem(out.public_value_);
  }
  if (!loaded.ok()) {
    out.unusable_reason_ = loaded.status().message();
    out.kind_ = KeyScheme::kUnsupported;
    return out;
  }
  if (!KeyFitsScheme(out.kind_, loaded->get())) {
    out.unusable_reason_ = "public key does not fit scheme " + out.scheme_ +
                           " (wrong type, curve, or RSA below 2048 bits)";
    out.kind_ = KeyScheme::kUnsupported;
    return out;
  }
  out.pkey_ = std::move(loaded).value();
  // OpenSSL keeps an EC point in the form it was read (compressed or not)
  // and encodes it that way; the same P-256 key listed in both forms must
  // give the same key material, or it would count twice toward a threshold.
  // The key is not shared yet, so setting its output form is safe.
  if (out.kind_ == KeyScheme::kEcdsaP256Sha256 &&
      EVP_PKEY_set_utf8_string_param(out.pkey_.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                     OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 1) {
    return Status::Internal("cannot encode public key: " + crypto::LastOpenSslError());
  }
  unsigned char* der = nullptr;
  int der_len = i2d_PUBKEY(out.pkey_.get(), &der);
  if (der_len <= 0 || der == nullptr) {
    return Status::Internal("cannot encode public key: " + crypto::LastOpenSslError());
  }
  out.key_material_.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(der_len));
  OPENSSL_free(der);
  return out;
}

Result<std::string> PublicKey::KeyId() const {
  BW_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(json_));
  return crypto::HexEncode(crypto::Sha256(canonical));
}

bool PublicKey::Verify(std::string_view message, std::span<const std::uint8_t> signature) const {
  if (!pkey_) return false;
  return VerifySignature(kind_, pkey_.get(), message, signature, -1);
}

Result<KeyAlgorithm> ParseKeyAlgorithm(std::string_view name) {
  if (name == "ed25519") return KeyAlgorithm::kEd25519;
  if (name == "ecdsa" || name == "ecdsa-p256" || name == "ecdsa-sha2-nistp256") {
    return KeyAlgorithm::kEcdsaP256;
  }
  if (name == "rsa" || name == "rsa-pss" || name == "rsassa-pss-sha256") return KeyAlgorithm::kRsaPss3072;
  return Status::InvalidParams("unknown key algorithm '" + std::string(name) +
                               "' (use ed25519, ecdsa-p256 or rsa-pss)");
}

namespace {

// The TUF public key object for a private key of `algorithm`.
Result<PublicKey> MakePublicKey(KeyAlgorithm algorithm, EVP_PKEY* key) {
  nlohmann::json json;
  switch (algorithm) {
    case KeyAlgorithm::kEd25519: {
      unsigned char raw[kEd25519PublicKeyBytes];
      std::size_t len = sizeof(raw);
      if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof(raw)) {
        return Status::Internal("cannot read ed25519 public key: " + crypto::LastOpenSslError());
      }
      json = {{"keytype", "ed25519"},
              {"scheme", kSchemeEd25519},
              {"keyval", {{"public", crypto::HexEncode(std::span<const std::uint8_t>(raw, len))}}}};
      break;
    }
    case KeyAlgorithm::kEcdsaP256: {
      BW_ASSIGN_OR_RETURN(std::string pem, PublicPem(key));
      json = {{"keytype", "ecdsa"}, {"scheme", kSchemeEcdsaP256}, {"keyval", {{"public", pem}}}};
      break;
    }
    case KeyAlgorithm::kRsaPss3072: {
      BW_ASSIGN_OR_RETURN(std::string pem, PublicPem(key));
      json = {{"keytype", "rsa"}, {"scheme", kSchemeRsaPssSha256}, {"keyval", {{"public", pem}}}};
      break;
    }
  }
  BW_ASSIGN_OR_RETURN(PublicKey pub, PublicKey::FromJson(json));
  if (!pub.usable()) return Status::Internal("generated key unusable: " + pub.unusable_reason());
  return pub;
}

}  // namespace

Result<PrivateKey> PrivateKey::Generate(KeyAlgorithm algorithm) {
  EVP_PKEY* raw = nullptr;
  switch (algorithm) {
    case KeyAlgorithm::kEd25519:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyAlgorithm::kEcdsaP256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyAlgorithm::kRsaPss3072:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(3072));
      break;
  }
  if (raw == nullptr) return Status::Internal("key generation failed: " + crypto::LastOpenSslError());
  PrivateKey out;
  out.algorithm_ = algorithm;
  out.pkey_ = Share(raw);
  BW_ASSIGN_OR_RETURN(out.public_key_, MakePublicKey(algorithm, raw));
  return out;
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  if (pem.size() > INT_MAX) return Status::InvalidParams("private key PEM too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  // No password callback: an encrypted key fails instead of prompting.
  static char empty_password[] = "";
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, empty_password);
  if (raw == nullptr) {
    ERR_clear_error();
    return Status::InvalidParams("not an unencrypted PKCS#8 PEM private key");
  }
  PrivateKey out;
  out.pkey_ = Share(raw);
  if (EVP_PKEY_is_a(raw, "ED25519") == 1) {
    out.algorithm_ = KeyAlgorithm::kEd25519;
  } else if (IsP256(raw)) {
    out.algorithm_ = KeyAlgorithm::kEcdsaP256;
  } else if (IsRsaAtLeast2048(raw)) {
    out.algorithm_ = KeyAlgorithm::kRsaPss3072;
  } else {
    return Status::InvalidParams("private key type not supported (ed25519, P-256, RSA >= 2048)");
  }
  BW_ASSIGN_OR_RETURN(out.public_key_, MakePublicKey(out.algorithm_, raw));
  return out;
}

Result<std::string> PrivateKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) bio.reset(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return Status::Internal("cannot write private key PEM: " + crypto::LastOpenSslError());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int): OpenSSL API.
  if (len <= 0 || data == nullptr) return Status::Internal("empty private key PEM");
  std::string pem(data, static_cast<std::size_t>(len));
  OPENSSL_cleanse(data, static_cast<std::size_t>(len));
  return pem;
}

Result<std::vector<std::uint8_t>> PrivateKey::Sign(std::string_view message) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return Status::Internal("EVP_MD_CTX_new failed");
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  const EVP_MD* md = algorithm_ == KeyAlgorithm::kEd25519 ? nullptr : EVP_sha256();
  if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, pkey_.get()) != 1 ||
      (algorithm_ == KeyAlgorithm::kRsaPss3072 && !SetPssParams(pctx, kPssSaltBytes))) {
    return Status::Internal("sign init failed: " + crypto::LastOpenSslError());
  }
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, msg, message.size()) != 1) {
    return Status::Internal("sign failed: " + crypto::LastOpenSslError());
  }
  std::vector<std::uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, msg, message.size()) != 1) {
    return Status::Internal("sign failed: " + crypto::LastOpenSslError());
  }
  sig.resize(len);  // ECDSA DER signatures vary in length.
  return sig;
}

}  // namespace bellwether::tuf
