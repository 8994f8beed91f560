#include "crypto/digest.h"

#include <gtest/gtest.h>

namespace bellwether::crypto {
namespace {

// IsLowerHex accepts exactly HexEncode's alphabet: what HexEncode writes
// passes, and upper case, other letters and path characters do not.
TEST(Hex, IsLowerHexAcceptsExactlyHexEncodeOutput) {
  const std::vector<std::uint8_t> bytes = {0x00, 0x9f, 0xa0, 0xff};
  EXPECT_EQ(HexEncode(bytes), "009fa0ff");
  EXPECT_TRUE(IsLowerHex(HexEncode(bytes)));
  EXPECT_TRUE(IsLowerHex(""));
  EXPECT_FALSE(IsLowerHex("009FA0FF"));  // HexDecode takes it; IsLowerHex does not.
  EXPECT_TRUE(HexDecode("009FA0FF").ok());
  EXPECT_FALSE(IsLowerHex("00g0"));
  EXPECT_FALSE(IsLowerHex("../ab"));
  EXPECT_FALSE(IsLowerHex(std::string("ab\0cd", 5)));
}

}  // namespace
}  // namespace bellwether::crypto
