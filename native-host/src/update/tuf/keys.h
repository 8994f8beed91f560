// TUF key objects: parsing, key ids, signature verification, and (for the
// publisher's tool) key generation, PEM storage and signing.
//
// Supported (keytype / scheme, format of keyval.public, signature bytes):
//   ed25519 / ed25519                  64 hex digits (or a PEM SPKI)   64 raw bytes
//   ecdsa / ecdsa-sha2-nistp256        PEM SPKI, curve P-256           DER ECDSA-Sig-Value
//     (keytype "ecdsa-sha2-nistp256" accepted too, as older tools wrote it)
//   rsa / rsassa-pss-sha256            PEM SPKI, >= 2048 bits          RSASSA-PSS, SHA-256,
//                                                                      MGF1-SHA-256; any salt
//                                                                      length on verify
//                                                                      (RSA_PSS_SALTLEN_AUTO,
//                                                                      as securesystemslib),
//                                                                      32 bytes on sign.
// Any other keytype/scheme pair, or a supported pair whose public value does
// not decode, parses into an *unusable* key: the metadata stays loadable
// (spec 4.2: adopters may define other key types) but the key never verifies
// a signature and so never counts toward a threshold.
//
// PublicKey and PrivateKey are cheap to copy (the OpenSSL key is shared and
// immutable) and safe to use from several threads at once.
#ifndef BELLWETHER_UPDATE_TUF_KEYS_H_
#define BELLWETHER_UPDATE_TUF_KEYS_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT: OpenSSL's forward declaration.

namespace bellwether::tuf {

enum class KeyScheme {
  kUnsupported,     // Parsed but unusable: never verifies anything.
  kEd25519,         // "ed25519"
  kEcdsaP256Sha256, // "ecdsa-sha2-nistp256"
  kRsaPssSha256,    // "rsassa-pss-sha256"
};

// The scheme strings as they appear in metadata.
inline constexpr std::string_view kSchemeEd25519 = "ed25519";
inline constexpr std::string_view kSchemeEcdsaP256 = "ecdsa-sha2-nistp256";
inline constexpr std::string_view kSchemeRsaPssSha256 = "rsassa-pss-sha256";

// A public key in TUF form ({"keytype","scheme","keyval":{"public"}} plus any
// extra fields, which are kept: they are part of the key id and of the
// signed bytes).
class PublicKey {
 public:
  // Parses a key object. Fails (kUpdateVerification) only when the object is
  // malformed: not an object, or keytype/scheme/keyval missing or not of the
  // right JSON type, or keyval.public missing / not a string. An unknown
  // type or scheme, or an undecodable public value, gives an unusable key.
  static Result<PublicKey> FromJson(const nlohmann::json& key);

  // The key object exactly as parsed (or built), for serialisation.
  const nlohmann::json& ToJson() const { return json_; }

  // sha256 hex of the canonical JSON of the key object (spec 4.2 KEYID).
  Result<std::string> KeyId() const;

  const std::string& keytype() const { return keytype_; }
  const std::string& scheme() const { return scheme_; }
  const std::string& public_value() const { return public_value_; }
  KeyScheme kind() const { return kind_; }
  // False for unknown type/scheme or an undecodable public value.
  bool usable() const { return pkey_ != nullptr; }
  // Why the key is unusable (empty when usable), for diagnostics.
  const std::string& unusable_reason() const { return unusable_reason_; }
  // DER SubjectPublicKeyInfo of the key, EC points always uncompressed
  // (empty when unusable): identifies the key material whatever keyid, PEM
  // formatting or point form it is listed under.
  const std::string& key_material() const { return key_material_; }

  // True iff `signature` is a valid signature of `message` under this key.
  // Never true for an unusable key. Malformed signatures are just false.
  bool Verify(std::string_view message, std::span<const std::uint8_t> signature) const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) { return a.json_ == b.json_; }

 private:
  friend class PrivateKey;
  nlohmann::json json_;
  std::string keytype_;
  std::string scheme_;
  std::string public_value_;
  KeyScheme kind_ = KeyScheme::kUnsupported;
  std::string unusable_reason_;
  std::string key_material_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

// Lower-level verification, for the Wycheproof tests and other callers that
// hold a raw OpenSSL key. `rsa_pss_salt_length` < 0 means "auto" (any salt
// length, as TUF verification uses); otherwise exactly that many bytes.
bool VerifySignature(KeyScheme scheme, EVP_PKEY* key, std::string_view message,
                     std::span<const std::uint8_t> signature, int rsa_pss_salt_length = -1);

// Loads a public key from PEM (SubjectPublicKeyInfo) or DER; for tests.
Result<std::shared_ptr<EVP_PKEY>> LoadPublicKeyPem(std::string_view pem);
Result<std::shared_ptr<EVP_PKEY>> LoadPublicKeyDer(std::span<const std::uint8_t> der);
// Ed25519 public key from its 32 raw bytes.
Result<std::shared_ptr<EVP_PKEY>> LoadEd25519RawPublicKey(std::span<const std::uint8_t> raw);

enum class KeyAlgorithm {
  kEd25519,    // Default for every role.
  kEcdsaP256,
  kRsaPss3072,
};

// "ed25519", "ecdsa" / "ecdsa-p256", "rsa" / "rsa-pss" (case-sensitive).
Result<KeyAlgorithm> ParseKeyAlgorithm(std::string_view name);

// A private signing key. Only the publisher's tool and tests create these;
// the client never holds one.
class PrivateKey {
 public:
  static Result<PrivateKey> Generate(KeyAlgorithm algorithm);
  // Unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), as ToPem writes.
  // The key type decides the algorithm; RSA keys below 2048 bits, EC keys on
  // other curves and any other type are rejected.
  static Result<PrivateKey> FromPem(std::string_view pem);

  // Unencrypted PKCS#8 PEM. The caller writes it with mode 0600, never into
  // the repository directory, and should wipe the string when done
  // (OPENSSL_cleanse) — it is the secret.
  Result<std::string> ToPem() const;

  KeyAlgorithm algorithm() const { return algorithm_; }
  // The public half in TUF form (ed25519: hex; ecdsa/rsa: PEM SPKI).
  const PublicKey& public_key() const { return public_key_; }
  // Shortcut for public_key().KeyId().
  Result<std::string> KeyId() const { return public_key_.KeyId(); }

  // Signature bytes over `message` in the key's TUF scheme.
  Result<std::vector<std::uint8_t>> Sign(std::string_view message) const;

 private:
  KeyAlgorithm algorithm_ = KeyAlgorithm::kEd25519;
  std::shared_ptr<EVP_PKEY> pkey_;
  PublicKey public_key_;
};

}  // namespace bellwether::tuf

#endif  // BELLWETHER_UPDATE_TUF_KEYS_H_
