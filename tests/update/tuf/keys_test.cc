#include "update/tuf/keys.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "crypto/digest.h"
#include "update/tuf/canonical_json.h"

namespace bellwether::tuf {
namespace {

using nlohmann::json;

std::vector<std::uint8_t> Hex(const std::string& hex) {
  auto r = crypto::HexDecode(hex);
  EXPECT_TRUE(r.ok()) << hex;
  return r.ok() ? *r : std::vector<std::uint8_t>();
}

std::string Str(const std::vector<std::uint8_t>& v) { return std::string(v.begin(), v.end()); }

json LoadVectors(const std::string& name) {
  std::ifstream in(std::string(BELLWETHER_TESTDATA_DIR) + "/wycheproof/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

struct VectorCounts {
  int valid = 0;
  int invalid = 0;
};

// Runs every vector of a Wycheproof verify file through `verify`; valid ones
// must verify and invalid ones must not ("acceptable" ones are counted as
// invalid only if `acceptable_is_invalid`; these files have none).
template <typename KeyLoader, typename Verifier>
VectorCounts RunVectors(const json& file, KeyLoader load_key, Verifier verify) {
  VectorCounts counts;
  for (const json& group : file.at("testGroups")) {
    std::shared_ptr<EVP_PKEY> key = load_key(group);
    EXPECT_NE(key, nullptr);
    if (!key) continue;
    for (const json& test : group.at("tests")) {
      std::string msg = Str(Hex(test.at("msg").get<std::string>()));
      std::vector<std::uint8_t> sig = Hex(test.at("sig").get<std::string>());
      std::string result = test.at("result").get<std::string>();
      bool ok = verify(key.get(), msg, sig, test);
      if (result == "valid") {
        EXPECT_TRUE(ok) << "tcId " << test.at("tcId") << " " << test.at("comment");
        ++counts.valid;
      } else if (result == "invalid") {
        EXPECT_FALSE(ok) << "tcId " << test.at("tcId") << " " << test.at("comment");
        ++counts.invalid;
      }
    }
  }
  return counts;
}

TEST(Wycheproof, Ed25519VerifiesExactlyTheValidVectors) {
  // Every Ed25519 vector: valid ones verify, invalid ones (malleable S,
  // wrong lengths, modified bits) do not.
  json file = LoadVectors("ed25519_test.json");
  VectorCounts counts = RunVectors(
      file,
      [](const json& group) {
        auto key = LoadEd25519RawPublicKey(Hex(group.at("publicKey").at("pk").get<std::string>()));
        return key.ok() ? *key : nullptr;
      },
      [](EVP_PKEY* key, const std::string& msg, const std::vector<std::uint8_t>& sig, const json&) {
        return VerifySignature(KeyScheme::kEd25519, key, msg, sig);
      });
  EXPECT_GT(counts.valid, 0);
  EXPECT_GT(counts.invalid, 0);
}

TEST(Wycheproof, EcdsaP256Sha256DerVerifiesExactlyTheValidVectors) {
  // Every ECDSA P-256/SHA-256 DER vector: BER encodings, out-of-range r/s,
  // wrong curve points all fail.
  json file = LoadVectors("ecdsa_secp256r1_sha256_test.json");
  VectorCounts counts = RunVectors(
      file,
      [](const json& group) {
        auto key = LoadPublicKeyPem(group.at("publicKeyPem").get<std::string>());
        return key.ok() ? *key : nullptr;
      },
      [](EVP_PKEY* key, const std::string& msg, const std::vector<std::uint8_t>& sig, const json&) {
        return VerifySignature(KeyScheme::kEcdsaP256Sha256, key, msg, sig);
      });
  EXPECT_GT(counts.valid, 0);
  EXPECT_GT(counts.invalid, 0);
}

void RunRsaPss(const std::string& name) {
  json file = LoadVectors(name);
  ASSERT_EQ(file.at("testGroups").at(0).at("sLen").get<int>(), 32);
  auto load = [](const json& group) {
    auto key = LoadPublicKeyPem(group.at("publicKeyPem").get<std::string>());
    return key.ok() ? *key : nullptr;
  };
  // With the exact salt length the file is written for, every verdict holds.
  VectorCounts exact = RunVectors(file, load,
      [](EVP_PKEY* key, const std::string& msg, const std::vector<std::uint8_t>& sig, const json&) {
        return VerifySignature(KeyScheme::kRsaPssSha256, key, msg, sig, 32);
      });
  EXPECT_GT(exact.valid, 0);
  EXPECT_GT(exact.invalid, 0);
  // TUF verification accepts any salt length (as securesystemslib does), so
  // there the only invalid vectors that may pass are "s_len changed" ones:
  // genuine signatures with another salt length.
  int auto_rejected = 0;
  for (const json& group : file.at("testGroups")) {
    auto key = load(group);
    ASSERT_NE(key, nullptr);
    for (const json& test : group.at("tests")) {
      bool ok = VerifySignature(KeyScheme::kRsaPssSha256, key.get(),
                                Str(Hex(test.at("msg").get<std::string>())),
                                Hex(test.at("sig").get<std::string>()));
      std::string comment = test.at("comment").get<std::string>();
      if (test.at("result") == "valid") {
        EXPECT_TRUE(ok) << test.at("tcId");
      } else if (comment.find("s_len changed") == std::string::npos) {
        EXPECT_FALSE(ok) << test.at("tcId") << " " << comment;
        ++auto_rejected;
      }
    }
  }
  EXPECT_GT(auto_rejected, 0);
}

TEST(Wycheproof, RsaPss2048Sha256Mgf1Salt32VerifiesExactlyTheValidVectors) {
  // RSASSA-PSS 2048/SHA-256/MGF1-SHA-256, salt 32: every vector.
  RunRsaPss("rsa_pss_2048_sha256_mgf1_32_test.json");
}

TEST(Wycheproof, RsaPss3072Sha256Mgf1Salt32VerifiesExactlyTheValidVectors) {
  // Same for 3072-bit keys (the size bellwether-release generates).
  RunRsaPss("rsa_pss_3072_sha256_mgf1_32_test.json");
}

class KeyRoundTrip : public ::testing::TestWithParam<KeyAlgorithm> {};

TEST_P(KeyRoundTrip, SignsAndVerifiesInTufForm) {
  // A generated key signs; its TUF public key object verifies that
  // signature and rejects a signature over other bytes.
  auto key = PrivateKey::Generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto sig = key->Sign("message");
  ASSERT_TRUE(sig.ok());
  auto pub = PublicKey::FromJson(key->public_key().ToJson());
  ASSERT_TRUE(pub.ok());
  ASSERT_TRUE(pub->usable()) << pub->unusable_reason();
  EXPECT_TRUE(pub->Verify("message", *sig));
  EXPECT_FALSE(pub->Verify("messagE", *sig));
}

TEST_P(KeyRoundTrip, PemRoundTripKeepsTheKeyId) {
  // A private key saved as PKCS#8 PEM loads back as the same key.
  auto key = PrivateKey::Generate(GetParam());
  ASSERT_TRUE(key.ok());
  auto pem = key->ToPem();
  ASSERT_TRUE(pem.ok());
  EXPECT_NE(pem->find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  auto loaded = PrivateKey::FromPem(*pem);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->algorithm(), GetParam());
  EXPECT_EQ(*loaded->KeyId(), *key->KeyId());
  auto sig = loaded->Sign("x");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(key->public_key().Verify("x", *sig));
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, KeyRoundTrip,
                         ::testing::Values(KeyAlgorithm::kEd25519, KeyAlgorithm::kEcdsaP256,
                                           KeyAlgorithm::kRsaPss3072),
                         [](const ::testing::TestParamInfo<KeyAlgorithm>& param_info) {
                           switch (param_info.param) {
                             case KeyAlgorithm::kEd25519: return std::string("Ed25519");
                             case KeyAlgorithm::kEcdsaP256: return std::string("EcdsaP256");
                             case KeyAlgorithm::kRsaPss3072: return std::string("RsaPss3072");
                           }
                           return std::string("Unknown");
                         });

TEST(PublicKey, PublicFormsFollowTheSpec) {
  // ed25519: 64 hex digits; ecdsa and rsa: PEM; schemes as in spec 4.2.
  auto ed = PrivateKey::Generate(KeyAlgorithm::kEd25519);
  auto ec = PrivateKey::Generate(KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(ed.ok() && ec.ok());
  EXPECT_EQ(ed->public_key().keytype(), "ed25519");
  EXPECT_EQ(ed->public_key().scheme(), "ed25519");
  EXPECT_EQ(ed->public_key().public_value().size(), 64u);
  EXPECT_EQ(ec->public_key().keytype(), "ecdsa");
  EXPECT_EQ(ec->public_key().scheme(), "ecdsa-sha2-nistp256");
  EXPECT_EQ(ec->public_key().public_value().rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
}

TEST(PublicKey, KeyIdIsSha256OfCanonicalJson) {
  // KEYID = hex sha256 of the canonical key object (spec 4.2).
  json key_json = {{"keytype", "ed25519"},
                   {"scheme", "ed25519"},
                   {"keyval", {{"public", std::string(64, 'a')}}}};
  auto key = PublicKey::FromJson(key_json);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key->KeyId(), crypto::HexEncode(crypto::Sha256(*CanonicalJson(key_json))));
}

TEST(PublicKey, ExtraFieldsArePartOfTheKeyId) {
  // Unknown fields (e.g. keyid_hash_algorithms) are kept and hashed.
  json base = {{"keytype", "ed25519"}, {"scheme", "ed25519"}, {"keyval", {{"public", std::string(64, 'b')}}}};
  json extended = base;
  extended["keyid_hash_algorithms"] = {"sha256", "sha512"};
  EXPECT_NE(*PublicKey::FromJson(base)->KeyId(), *PublicKey::FromJson(extended)->KeyId());
  EXPECT_EQ(PublicKey::FromJson(extended)->ToJson(), extended);
}

TEST(PublicKey, AcceptsLegacyEcdsaKeytype) {
  // Older tools wrote keytype "ecdsa-sha2-nistp256"; it is the same key.
  auto ec = PrivateKey::Generate(KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(ec.ok());
  json j = ec->public_key().ToJson();
  j["keytype"] = "ecdsa-sha2-nistp256";
  auto key = PublicKey::FromJson(j);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->usable());
  EXPECT_TRUE(key->Verify("m", *ec->Sign("m")));
}

TEST(PublicKey, UnknownTypesAndSchemesAreUnusableNotErrors) {
  // Spec 4.2 lets adopters define other key types: parse, never verify.
  for (json j : {json{{"keytype", "sphincs"}, {"scheme", "sphincs-shake"}, {"keyval", {{"public", "00"}}}},
                 json{{"keytype", "ed25519"}, {"scheme", "ed448"}, {"keyval", {{"public", std::string(64, 'c')}}}},
                 json{{"keytype", "rsa"}, {"scheme", "rsa-pkcs1v15-sha256"}, {"keyval", {{"public", "x"}}}}}) {
    auto key = PublicKey::FromJson(j);
    ASSERT_TRUE(key.ok()) << j.dump();
    EXPECT_FALSE(key->usable());
    EXPECT_FALSE(key->unusable_reason().empty());
    EXPECT_FALSE(key->Verify("m", std::vector<std::uint8_t>(64, 1)));
  }
}

TEST(PublicKey, UndecodablePublicValuesAreUnusable) {
  // Bad hex, bad PEM, or a key of the wrong type for the scheme never verifies.
  auto ed = PrivateKey::Generate(KeyAlgorithm::kEd25519);
  auto ec = PrivateKey::Generate(KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(ed.ok() && ec.ok());
  json ec_pem_as_rsa = ec->public_key().ToJson();
  ec_pem_as_rsa["keytype"] = "rsa";
  ec_pem_as_rsa["scheme"] = "rsassa-pss-sha256";
  for (json j : {json{{"keytype", "ed25519"}, {"scheme", "ed25519"}, {"keyval", {{"public", "zz"}}}},
                 json{{"keytype", "ed25519"}, {"scheme", "ed25519"}, {"keyval", {{"public", std::string(62, 'a')}}}},
                 json{{"keytype", "ecdsa"}, {"scheme", "ecdsa-sha2-nistp256"}, {"keyval", {{"public", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}}}},
                 ec_pem_as_rsa}) {
    auto key = PublicKey::FromJson(j);
    ASSERT_TRUE(key.ok()) << j.dump();
    EXPECT_FALSE(key->usable()) << j.dump();
  }
}

TEST(PublicKey, MalformedKeyObjectsAreErrors) {
  // Structure is not optional: missing or mistyped fields fail cleanly.
  for (const char* text : {R"([])", R"({"scheme":"ed25519","keyval":{"public":"00"}})",
                           R"({"keytype":1,"scheme":"ed25519","keyval":{"public":"00"}})",
                           R"({"keytype":"ed25519","scheme":"ed25519","keyval":"00"})",
                           R"({"keytype":"ed25519","scheme":"ed25519","keyval":{}})",
                           R"({"keytype":"ed25519","scheme":"ed25519","keyval":{"public":7}})"}) {
    auto key = PublicKey::FromJson(json::parse(text));
    EXPECT_FALSE(key.ok()) << text;
    if (!key.ok()) {
      EXPECT_EQ(key.status().code(), ErrorCode::kUpdateVerification);
    }
  }
}

TEST(PublicKey, MalformedSignaturesAreJustInvalid) {
  // Empty, truncated or garbage signatures verify false, never crash.
  for (KeyAlgorithm algorithm : {KeyAlgorithm::kEd25519, KeyAlgorithm::kEcdsaP256}) {
    auto key = PrivateKey::Generate(algorithm);
    ASSERT_TRUE(key.ok());
    auto sig = key->Sign("m");
    ASSERT_TRUE(sig.ok());
    std::vector<std::uint8_t> truncated(sig->begin(), sig->end() - 1);
    EXPECT_FALSE(key->public_key().Verify("m", {}));
    EXPECT_FALSE(key->public_key().Verify("m", truncated));
    EXPECT_FALSE(key->public_key().Verify("m", std::vector<std::uint8_t>(1000, 0x30)));
  }
}

TEST(PrivateKey, RejectsGarbageAndEncryptedPem) {
  // Only unencrypted PKCS#8 of a supported type loads; nothing prompts.
  EXPECT_FALSE(PrivateKey::FromPem("not a key").ok());
  EXPECT_FALSE(PrivateKey::FromPem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n").ok());
}

TEST(PrivateKey, ParsesAlgorithmNames) {
  EXPECT_EQ(*ParseKeyAlgorithm("ed25519"), KeyAlgorithm::kEd25519);
  EXPECT_EQ(*ParseKeyAlgorithm("ecdsa-p256"), KeyAlgorithm::kEcdsaP256);
  EXPECT_EQ(*ParseKeyAlgorithm("rsa-pss"), KeyAlgorithm::kRsaPss3072);
  EXPECT_FALSE(ParseKeyAlgorithm("dsa").ok());
}

}  // namespace
}  // namespace bellwether::tuf
