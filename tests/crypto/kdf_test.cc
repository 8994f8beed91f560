#include "crypto/kdf.h"

#include <gtest/gtest.h>

#include "crypto/digest.h"

namespace bellwether::crypto {
namespace {

std::vector<std::uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// RFC 7914 section 12, second vector (N=1024, r=8, p=16).
TEST(Scrypt, MatchesRfc7914Vector) {
  auto out = Scrypt("password", Bytes("NaCl"), ScryptParams{1024, 8, 16}, 64);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(HexEncode(out->span()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

// Hostile parameters (from an untrusted backup) are refused before any work.
TEST(Scrypt, RefusesParametersThatWouldExhaustTheHost) {
  // A hostile backup's N=2^20, r=16, p=16 (2 GiB, minutes of CPU) is refused before any work.
  EXPECT_EQ(Scrypt("pw", Bytes("salt"), ScryptParams{std::uint64_t{1} << 20, 16, 16}, 32).status().code(),
            ErrorCode::kInvalidParams);
  EXPECT_FALSE(Scrypt("pw", Bytes("salt"), ScryptParams{std::uint64_t{1} << 20, 8, 1}, 32).ok());  // 1 GiB.
  EXPECT_FALSE(Scrypt("pw", Bytes("salt"), ScryptParams{std::uint64_t{1} << 17, 8, 8}, 32).ok());  // Work 2^23.
}

TEST(Scrypt, RefusesOutOfRangeParameters) {
  EXPECT_FALSE(Scrypt("pw", Bytes("salt"), ScryptParams{1000, 8, 1}, 32).ok());
  EXPECT_FALSE(Scrypt("pw", Bytes("salt"), ScryptParams{std::uint64_t{1} << 30, 8, 1}, 32).ok());
  EXPECT_FALSE(Scrypt("pw", Bytes("salt"), ScryptParams{1024, 64, 1}, 32).ok());
  EXPECT_FALSE(Scrypt("pw", Bytes("salt"), ScryptParams{1024, 8, 0}, 32).ok());
}

// Different passphrases or salts derive different keys.
TEST(Scrypt, DependsOnPassphraseAndSalt) {
  ScryptParams p{1024, 8, 1};
  auto a = Scrypt("one", Bytes("salt"), p, 32);
  auto b = Scrypt("two", Bytes("salt"), p, 32);
  auto c = Scrypt("one", Bytes("pepper"), p, 32);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_NE(HexEncode(a->span()), HexEncode(b->span()));
  EXPECT_NE(HexEncode(a->span()), HexEncode(c->span()));
}

// The reusable HMAC key gives the same tags as the one-shot function.
TEST(HmacSha256Key, MatchesOneShot) {
  auto key = HmacSha256Key::Create(Bytes("key"));
  ASSERT_TRUE(key.ok());
  for (std::string_view m : {"", "a", "namespace/record"}) {
    auto a = key->Mac(Bytes(m));
    auto b = HmacSha256(Bytes("key"), Bytes(m));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b);
  }
}

// HKDF refuses zero-length output.
TEST(Hkdf, RefusesEmptyOutput) {
  EXPECT_EQ(HkdfSha256(Bytes("ikm"), {}, {}, 0).status().code(), ErrorCode::kInvalidParams);
}

}  // namespace
}  // namespace bellwether::crypto
