#include "common/status.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace bellwether {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::InvalidParams("odd");
  return n / 2;
}

Result<int> Quarter(int n) {
  BW_ASSIGN_OR_RETURN(int half, Half(n));
  BW_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(Status, DefaultIsOk) {
  // A default Status is success with no message.
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(Status, CarriesCodeNameAndContext) {
  // Errors render as "name: context: message" and keep their code.
  Status s = Status::NotFound("no record").WithContext("vault.get");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.ToString(), "not_found: vault.get: no record");
}

TEST(Status, WireCodesAreStable) {
  // Renumbering a code breaks extensions in the field; these are the documented values.
  EXPECT_EQ(static_cast<int>(ErrorCode::kParseError), -32700);
  EXPECT_EQ(static_cast<int>(ErrorCode::kCallerNotAllowed), -32001);
  EXPECT_EQ(static_cast<int>(ErrorCode::kReplyTooLarge), -32002);
  EXPECT_EQ(static_cast<int>(ErrorCode::kVaultLocked), -32010);
  EXPECT_EQ(static_cast<int>(ErrorCode::kConflict), -32012);
  EXPECT_EQ(static_cast<int>(ErrorCode::kUpdateVerification), -32031);
}

TEST(Status, EveryCodeHasADistinctName) {
  // Names are the stable strings in error.data.name; no two codes share one.
  std::set<std::string_view> names;
  for (int c = -32800; c <= 0; ++c) {
    std::string_view name = ErrorCodeName(static_cast<ErrorCode>(c));
    if (name == "unknown_error") continue;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_GE(names.size(), 20u);
}

// The extension's table of error codes (extension/lib/protocol.js) agrees
// with the host: every code the host can send is there under its name (or
// the alias the extension documents for it), and the table's other entries
// are the extension's own (-32090 and below, never sent by the host).
TEST(Status, ExtensionKnowsEveryCodeByItsName) {
  std::ifstream in(BELLWETHER_SOURCE_DIR "/extension/lib/protocol.js");
  ASSERT_TRUE(in) << "cannot read extension/lib/protocol.js";
  const std::string js((std::istreambuf_iterator<char>(in)), {});
  auto table = [&](const std::string& head) {
    const std::size_t start = js.find(head);
    return start == std::string::npos ? std::string() : js.substr(start, js.find("}", start) - start);
  };
  std::map<std::string, int> codes;
  const std::string code_table = table("export const ErrorCodes");
  const std::regex code_entry(R"(\n\s*([a-z_]+): (-\d+),)");
  for (std::sregex_iterator it(code_table.begin(), code_table.end(), code_entry), end; it != end; ++it) {
    codes[(*it)[1]] = std::stoi((*it)[2]);
  }
  std::map<std::string, std::string> aliases;
  const std::string alias_table = table("const kAliases");
  const std::regex alias_entry(R"(\n\s*([a-z_]+): '([a-z_]+)',)");
  for (std::sregex_iterator it(alias_table.begin(), alias_table.end(), alias_entry), end; it != end; ++it) {
    aliases[(*it)[1]] = (*it)[2];
  }
  ASSERT_GE(codes.size(), 20u);
  std::set<int> host_codes;
  for (int c = -32800; c < 0; ++c) {
    std::string name(ErrorCodeName(static_cast<ErrorCode>(c)));
    if (name == "unknown_error") continue;
    host_codes.insert(c);
    if (aliases.count(name)) name = aliases[name];
    ASSERT_TRUE(codes.count(name)) << name << " (" << c << ") is missing from protocol.js";
    EXPECT_EQ(codes[name], c) << name;
  }
  for (const auto& [name, code] : codes) {
    if (!host_codes.count(code)) {
      EXPECT_LE(code, -32090) << name << " is neither a host code nor the extension's own";
    }
  }
}

TEST(Result, PropagatesErrorsThroughAssignOrReturn) {
  // The first failing step's Status comes out unchanged.
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);  // 6/2 = 3 is odd.
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidParams);
}

}  // namespace
}  // namespace bellwether
