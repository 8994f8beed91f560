#include "crypto/base64.h"

#include <gtest/gtest.h>

namespace bellwether::crypto {
namespace {

std::vector<std::uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// RFC 4648 section 10 test vectors, both directions.
TEST(Base64, MatchesRfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(Bytes(plain)), encoded);
    auto d = Base64Decode(encoded);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, Bytes(plain));
  }
}

// Malformed input is an error, not garbage.
TEST(Base64, RejectsMalformedInput) {
  for (std::string_view bad : {"Zg=", "Z===", "Zm9v!A==", "Zg==Zg==", "Zm 9"}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace bellwether::crypto
