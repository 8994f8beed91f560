#include "common/json_guard.h"

#include <gtest/gtest.h>

namespace bellwether {
namespace {

TEST(Utf8, AcceptsAsciiAndMultibyte) {
  // Japanese text, curly quotes and an emoji are valid UTF-8.
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("日本 “quote” \xF0\x9F\x98\x80"));
  EXPECT_TRUE(IsValidUtf8(""));
}

TEST(Utf8, RejectsMalformedSequences) {
  // Each classic malformation is refused.
  EXPECT_FALSE(IsValidUtf8("\xff"));                   // Invalid lead byte.
  EXPECT_FALSE(IsValidUtf8("\x80"));                   // Lone continuation.
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));               // Overlong '/'.
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));           // Overlong, 3 bytes.
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));           // UTF-16 surrogate.
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));       // Above U+10FFFF.
  EXPECT_FALSE(IsValidUtf8("abc\xE6\x97"));            // Truncated at end.
  EXPECT_FALSE(IsValidUtf8("\xE6\x97" "a"));           // Bad continuation.
}

TEST(JsonDepth, CountsOnlyBracketsOutsideStrings) {
  // Brackets in strings, including after escaped quotes, do not count.
  EXPECT_EQ(JsonNestingDepth("{\"a\":[1,{\"b\":2}]}", 64), 3);
  EXPECT_EQ(JsonNestingDepth("{\"a\":\"[[[[\\\"[[[\"}", 64), 1);
  EXPECT_EQ(JsonNestingDepth("42", 64), 0);
}

TEST(JsonDepth, StopsAtTheLimit) {
  // A million open brackets report limit + 1 without recursing.
  std::string hostile(1'000'000, '[');
  EXPECT_EQ(JsonNestingDepth(hostile, 64), 65);
  std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(JsonNestingDepth(ok, 64), 64);
}

}  // namespace
}  // namespace bellwether
