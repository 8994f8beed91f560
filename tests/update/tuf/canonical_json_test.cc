#include "update/tuf/canonical_json.h"

#include <gtest/gtest.h>

namespace bellwether::tuf {
namespace {

using nlohmann::json;

std::string Canon(const json& j) {
  auto r = CanonicalJson(j);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
  // Keys in byte order at every level, no spaces or newlines.
  json j = json::parse(R"({ "b": 1, "a": { "z": [1, 2, 3], "y": "x" }, "A": null })");
  EXPECT_EQ(Canon(j), R"({"A":null,"a":{"y":"x","z":[1,2,3]},"b":1})");
}

TEST(CanonicalJson, SortsKeysByUtf8BytesNotCodePointsOrLocale) {
  // "\u00e9" (0xC3 0xA9) sorts after "z" (0x7A) and "Z" before "a".
  json j = {{"\u00e9", 1}, {"z", 2}, {"Z", 3}, {"a", 4}};
  EXPECT_EQ(Canon(j), "{\"Z\":3,\"a\":4,\"z\":2,\"\u00e9\":1}");
}

TEST(CanonicalJson, EscapesOnlyQuoteAndBackslash) {
  // OLPC: '"' and '\' are escaped; newline, tab, DEL and '/' are literal.
  json j = std::string("a\"b\\c\nd\te/f\x7f");
  EXPECT_EQ(Canon(j), std::string("\"a\\\"b\\\\c\nd\te/f\x7f\""));
}

TEST(CanonicalJson, WritesControlCharactersRaw) {
  // A generic dump would write \u0001; canonical JSON writes the byte.
  json j = std::string("x\x01y\x1fz", 5);
  EXPECT_EQ(Canon(j), std::string("\"x\x01y\x1fz\"", 7));
}

TEST(CanonicalJson, WritesUnicodeAsUtf8Bytes) {
  // Non-ASCII stays UTF-8, never \uXXXX.
  json j = json::parse(R"({"k":"\u65e5\u672c \ud83d\ude00"})");
  EXPECT_EQ(Canon(j), "{\"k\":\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"}");
}

TEST(CanonicalJson, WritesIntegersBooleansAndNull) {
  json j = json::array({0, -1, 9007199254740993LL, true, false, nullptr, 18446744073709551615ULL});
  EXPECT_EQ(Canon(j), "[0,-1,9007199254740993,true,false,null,18446744073709551615]");
}

TEST(CanonicalJson, RejectsFloatsAnywhere) {
  // Canonical JSON has no floats: a float in signed data is an error.
  EXPECT_FALSE(CanonicalJson(json(1.5)).ok());
  EXPECT_FALSE(CanonicalJson(json::parse(R"({"a":[{"b":1.0}]})")).ok());
  EXPECT_EQ(CanonicalJson(json(-0.0)).status().code(), ErrorCode::kUpdateVerification);
}

TEST(CanonicalJson, RejectsHugeIntegersThatParseAsFloats) {
  // Beyond 64 bits the parser makes a float; it must not be signed over.
  EXPECT_FALSE(CanonicalJson(json::parse("[123456789012345678901234567890]")).ok());
}

TEST(CanonicalJson, HandlesEmptyContainersAndNesting) {
  EXPECT_EQ(Canon(json::parse(R"({"a":{},"b":[],"c":[[],[{}]]})")), R"({"a":{},"b":[],"c":[[],[{}]]})");
}

TEST(CanonicalJson, RejectsNestingBeyondTheLimit) {
  // Deep nesting is refused instead of exhausting the stack.
  json j = json::array();
  for (int i = 0; i < kMaxCanonicalJsonDepth + 5; ++i) j = json::array({j});
  EXPECT_FALSE(CanonicalJson(j).ok());
}

TEST(CanonicalJson, WritesAKeyObjectInTheFormKeyIdsAreComputedOver) {
  // Key ids are sha256 over exactly this form (spec 4.2 KEYID).
  json key = {{"keytype", "ed25519"},
              {"scheme", "ed25519"},
              {"keyval", {{"public", "72378e5bc588793e58f81c8533da64a2e8f1565c1fcc7f253496394ffc52542c"}}}};
  EXPECT_EQ(Canon(key),
            R"({"keytype":"ed25519","keyval":{"public":"72378e5bc588793e58f81c8533da64a2e8f1565c1fcc7f253496394ffc52542c"},"scheme":"ed25519"})");
}

}  // namespace
}  // namespace bellwether::tuf
