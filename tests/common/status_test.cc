#include "common/status.h"

#include <gtest/gtest.h>

#include <set>

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

TEST(Result, PropagatesErrorsThroughAssignOrReturn) {
  // The first failing step's Status comes out unchanged.
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);  // 6/2 = 3 is odd.
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidParams);
}

}  // namespace
}  // namespace bellwether
