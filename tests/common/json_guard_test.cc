#include "common/json_guard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

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

TEST(JsonDepth, ParsedValuesCountLikeTheirText) {
  // A parsed value is as deep as its text; strings and scalars add nothing.
  const std::string text = "{\"a\":[1,{\"b\":\"[[[\"}]}";
  const nlohmann::json value = nlohmann::json::parse(text);
  EXPECT_FALSE(JsonValueNestsDeeperThan(value, JsonNestingDepth(text, 64)));
  EXPECT_TRUE(JsonValueNestsDeeperThan(value, JsonNestingDepth(text, 64) - 1));
  EXPECT_FALSE(JsonValueNestsDeeperThan(nlohmann::json(42), 0));
  EXPECT_TRUE(JsonValueNestsDeeperThan(nlohmann::json::array(), 0));
}

// What the dispatcher writes for a string (see messaging/dispatcher.cc).
std::size_t DumpedSize(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
}

TEST(JsonStringSize, ExactForPlainAsciiAndTwoByteEscapes) {
  // ASCII needs no escapes: quotes plus the bytes.
  EXPECT_EQ(JsonStringSizeBound("section-3/note"), DumpedSize("section-3/note"));
  EXPECT_EQ(JsonStringSizeBound(""), 2u);
  // Quote and backslash take two bytes each, as the real dump does.
  EXPECT_EQ(JsonStringSizeBound("a\"b\\c"), DumpedSize("a\"b\\c"));
}

TEST(JsonStringSize, NeverBelowTheRealDumpForAnyBytes) {
  // Random bytes (control characters, invalid UTF-8, multibyte text): the
  // bound is never smaller than what the dispatcher would write.
  std::mt19937 rng(20261128);
  std::uniform_int_distribution<int> byte(0, 255), len(0, 64);
  for (int i = 0; i < 2000; ++i) {
    std::string s(static_cast<std::size_t>(len(rng)), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    ASSERT_GE(JsonStringSizeBound(s), DumpedSize(s)) << "case " << i;
  }
  EXPECT_GE(JsonStringSizeBound("\x01\n\xff"), DumpedSize("\x01\n\xff"));
  EXPECT_GE(JsonStringSizeBound("日本"), DumpedSize("日本"));
}

}  // namespace
}  // namespace bellwether
