// Known-answer tests: every applicable Project Wycheproof vector for the
// primitives the vault is built on. Each vector's "result" is checked both
// ways: valid vectors must reproduce, invalid ones must be refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/digest.h"
#include "crypto/kdf.h"

namespace bellwether::crypto {
namespace {

nlohmann::json LoadVectors(const std::string& name) {
  std::ifstream in(std::string(BELLWETHER_TESTDATA_DIR) + "/wycheproof/" + name);
  EXPECT_TRUE(in.good()) << "missing test vectors " << name;
  return nlohmann::json::parse(in);
}

std::vector<std::uint8_t> Hex(const nlohmann::json& field) {
  auto r = HexDecode(field.get<std::string>());
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<std::uint8_t>{};
}

std::vector<std::uint8_t> Concat(std::vector<std::uint8_t> a, const std::vector<std::uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// AES-GCM with 96-bit nonces: valid vectors seal and open to the expected
// bytes; every invalid vector fails to open with kIntegrity.
TEST(Wycheproof, AesGcm96BitNonceVectors) {
  nlohmann::json doc = LoadVectors("aes_gcm_test.json");
  int valid = 0, invalid = 0;
  for (const auto& group : doc["testGroups"]) {
    if (group["ivSize"] != 96 || group["tagSize"] != 128) continue;
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      auto key = Hex(t["key"]), iv = Hex(t["iv"]), aad = Hex(t["aad"]);
      auto msg = Hex(t["msg"]), ct = Hex(t["ct"]), tag = Hex(t["tag"]);
      auto sealed = Concat(ct, tag);
      auto opened = AesGcmOpen(key, iv, sealed, aad);
      // The reusable key's OpenInto (the vault's read path) agrees.
      auto keyed = AesGcmKey::Create(key);
      ASSERT_TRUE(keyed.ok()) << keyed.status().ToString();
      std::vector<std::uint8_t> into(ct.size(), 0xAA);
      const Status into_status = keyed->OpenInto(iv, sealed, aad, into);
      if (t["result"] == "valid") {
        ASSERT_TRUE(into_status.ok()) << into_status.ToString();
        EXPECT_EQ(HexEncode(into), HexEncode(msg));
      } else {
        EXPECT_EQ(into_status.code(), ErrorCode::kIntegrity);
        EXPECT_TRUE(std::all_of(into.begin(), into.end(), [](std::uint8_t b) { return b == 0; }));
      }
      if (t["result"] == "valid") {
        ++valid;
        auto s = AesGcmSeal(key, iv, msg, aad);
        ASSERT_TRUE(s.ok()) << s.status().ToString();
        EXPECT_EQ(HexEncode(*s), HexEncode(sealed));
        ASSERT_TRUE(opened.ok()) << opened.status().ToString();
        EXPECT_EQ(HexEncode(opened->span()), HexEncode(msg));
      } else {
        ++invalid;
        ASSERT_FALSE(opened.ok());
        EXPECT_EQ(opened.status().code(), ErrorCode::kIntegrity);
      }
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

// AES-GCM refuses every nonce length other than 96 bits outright.
TEST(Wycheproof, AesGcmOtherNonceLengthsRefused) {
  nlohmann::json doc = LoadVectors("aes_gcm_test.json");
  int count = 0;
  for (const auto& group : doc["testGroups"]) {
    if (group["ivSize"] == 96) continue;
    for (const auto& t : group["tests"]) {
      auto key = Hex(t["key"]), iv = Hex(t["iv"]), aad = Hex(t["aad"]), msg = Hex(t["msg"]);
      ++count;
      auto s = AesGcmSeal(key, iv, msg, aad);
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.status().code(), ErrorCode::kInvalidParams);
    }
  }
  EXPECT_GT(count, 0);
}

// HKDF-SHA256: valid vectors give the expected OKM; invalid ones (output
// longer than 255 blocks) are refused.
TEST(Wycheproof, HkdfSha256Vectors) {
  nlohmann::json doc = LoadVectors("hkdf_sha256_test.json");
  int valid = 0, invalid = 0;
  for (const auto& group : doc["testGroups"]) {
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      auto okm = HkdfSha256(Hex(t["ikm"]), Hex(t["salt"]), Hex(t["info"]), t["size"].get<std::size_t>());
      if (t["result"] == "valid") {
        ++valid;
        ASSERT_TRUE(okm.ok()) << okm.status().ToString();
        EXPECT_EQ(HexEncode(okm->span()), t["okm"].get<std::string>());
      } else {
        ++invalid;
        EXPECT_FALSE(okm.ok());
      }
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

// HMAC-SHA256 (full and truncated tags): valid vectors match, invalid
// (modified) tags do not.
TEST(Wycheproof, HmacSha256Vectors) {
  nlohmann::json doc = LoadVectors("hmac_sha256_test.json");
  int valid = 0, invalid = 0;
  for (const auto& group : doc["testGroups"]) {
    const std::size_t tag_bytes = group["tagSize"].get<std::size_t>() / 8;
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      auto mac = HmacSha256(Hex(t["key"]), Hex(t["msg"]));
      ASSERT_TRUE(mac.ok()) << mac.status().ToString();
      std::vector<std::uint8_t> truncated(mac->begin(), mac->begin() + static_cast<std::ptrdiff_t>(tag_bytes));
      bool equal = ConstantTimeEquals(truncated, Hex(t["tag"]));
      if (t["result"] == "valid") {
        ++valid;
        EXPECT_TRUE(equal);
      } else {
        ++invalid;
        EXPECT_FALSE(equal);
      }
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

}  // namespace
}  // namespace bellwether::crypto
