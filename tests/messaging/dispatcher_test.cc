#include "messaging/dispatcher.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "messaging/frame_writer.h"

namespace bellwether::messaging {
namespace {

using nlohmann::json;

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    ctx_.notify = [](std::string_view, json) {};
    dispatcher_.Register("test.echo", [](const json& params, RequestContext&) -> Result<json> {
      return params;
    });
    dispatcher_.Register("test.fail", [](const json&, RequestContext&) -> Result<json> {
      return Status::NotFound("no such record");
    });
    dispatcher_.Register("test.throw", [](const json&, RequestContext&) -> Result<json> {
      throw std::runtime_error("secret internal detail");
    });
    dispatcher_.Register("test.big", [](const json& params, RequestContext&) -> Result<json> {
      return json(std::string(static_cast<std::size_t>(params.at("n").get<int>()), 'x'));
    });
  }

  json Call(std::string_view frame) { return json::parse(dispatcher_.HandleFrame(frame, ctx_)); }

  static int Code(const json& reply) { return reply.at("error").at("code").get<int>(); }

  Dispatcher dispatcher_;
  RequestContext ctx_;
};

TEST_F(DispatcherTest, ReturnsResultWithTheRequestId) {
  // A valid request gets {"jsonrpc":"2.0","id":same,"result":…}.
  json reply = Call(R"({"jsonrpc":"2.0","id":"abc","method":"test.echo","params":{"x":[1,2]}})");
  EXPECT_EQ(reply["jsonrpc"], "2.0");
  EXPECT_EQ(reply["id"], "abc");
  EXPECT_EQ(reply["result"]["x"], json::array({1, 2}));
}

TEST_F(DispatcherTest, MissingParamsBecomeEmptyObject) {
  // Handlers always receive an object.
  json reply = Call(R"({"jsonrpc":"2.0","id":7,"method":"test.echo"})");
  EXPECT_EQ(reply["result"], json::object());
}

TEST_F(DispatcherTest, NotJsonIsParseError) {
  // Garbage, truncated JSON and trailing data all give -32700 with a null id.
  for (const char* bad : {"not json", "{\"jsonrpc\":", "{} {}", "\x01"}) {
    json reply = Call(bad);
    EXPECT_EQ(Code(reply), -32700) << bad;
    EXPECT_TRUE(reply["id"].is_null());
  }
}

TEST_F(DispatcherTest, InvalidUtf8IsParseError) {
  // Bytes that are not UTF-8, even inside a string, are refused.
  json reply = Call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\",\"params\":{\"s\":\"\xC0\xAF\"}}");
  EXPECT_EQ(Code(reply), -32700);
}

TEST_F(DispatcherTest, AbsurdNestingIsParseErrorNotCrash) {
  // 100,000 nested arrays are refused before the recursive parser sees them.
  std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"test.echo","params":{"a":)" +
                     std::string(100000, '[') + std::string(100000, ']') + "}}";
  json reply = Call(deep);
  EXPECT_EQ(Code(reply), -32700);
  EXPECT_NE(reply["error"]["message"].get<std::string>().find("nested"), std::string::npos);
}

TEST_F(DispatcherTest, NonObjectRequestIsInvalidRequest) {
  // Arrays (batches), strings and numbers are not requests.
  for (const char* bad : {"[]", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\"}]", "\"x\"", "3"}) {
    EXPECT_EQ(Code(Call(bad)), -32600) << bad;
  }
}

TEST_F(DispatcherTest, WrongTypesAreInvalidRequest) {
  // Each malformed field gets -32600, echoing the id when it is usable.
  EXPECT_EQ(Code(Call(R"({"jsonrpc":"1.0","id":1,"method":"test.echo"})")), -32600);
  EXPECT_EQ(Code(Call(R"({"id":1,"method":"test.echo"})")), -32600);
  EXPECT_EQ(Code(Call(R"({"jsonrpc":"2.0","id":1,"method":5})")), -32600);
  EXPECT_EQ(Code(Call(R"({"jsonrpc":"2.0","id":{"x":1},"method":"test.echo"})")), -32600);
  json reply = Call(R"({"jsonrpc":"2.0","id":9,"method":["test.echo"]})");
  EXPECT_EQ(reply["id"], 9);
}

TEST_F(DispatcherTest, NullIdIsInvalidRequestAndNothingRuns) {
  // A reply to id null could not be told from the answer to an unreadable
  // request, so such a request is refused rather than run.
  int runs = 0;
  dispatcher_.Register("test.count", [&runs](const json&, RequestContext&) -> Result<json> {
    ++runs;
    return json(runs);
  });
  json reply = Call(R"({"jsonrpc":"2.0","id":null,"method":"test.count"})");
  EXPECT_EQ(Code(reply), -32600);
  EXPECT_TRUE(reply["id"].is_null());
  EXPECT_NE(reply["error"]["message"].get<std::string>().find("string or number"), std::string::npos);
  EXPECT_EQ(runs, 0);
}

TEST_F(DispatcherTest, BrowserNotificationsAreRefused) {
  // Requests without an id are reserved for host-to-extension events.
  json reply = Call(R"({"jsonrpc":"2.0","method":"test.echo"})");
  EXPECT_EQ(Code(reply), -32600);
}

TEST_F(DispatcherTest, PositionalParamsAreInvalidParams) {
  // Bellwether methods take named parameters only.
  EXPECT_EQ(Code(Call(R"({"jsonrpc":"2.0","id":1,"method":"test.echo","params":[1]})")), -32602);
  EXPECT_EQ(Code(Call(R"({"jsonrpc":"2.0","id":1,"method":"test.echo","params":"x"})")), -32602);
}

TEST_F(DispatcherTest, UnknownMethodIsMethodNotFound) {
  // The name is quoted back so the caller sees the typo.
  json reply = Call(R"({"jsonrpc":"2.0","id":1,"method":"vault.gett"})");
  EXPECT_EQ(Code(reply), -32601);
  EXPECT_NE(reply["error"]["message"].get<std::string>().find("vault.gett"), std::string::npos);
}

TEST_F(DispatcherTest, HandlerErrorCarriesStableCodeAndName) {
  // A Status from a handler maps to its documented code and name.
  json reply = Call(R"({"jsonrpc":"2.0","id":1,"method":"test.fail"})");
  EXPECT_EQ(Code(reply), static_cast<int>(ErrorCode::kNotFound));
  EXPECT_EQ(reply["error"]["data"]["name"], "not_found");
}

TEST_F(DispatcherTest, HandlerExceptionsNeverLeakInternals) {
  // An exception becomes -32603 without its text reaching the extension.
  json reply = Call(R"({"jsonrpc":"2.0","id":1,"method":"test.throw"})");
  EXPECT_EQ(Code(reply), -32603);
  EXPECT_EQ(reply.dump().find("secret internal detail"), std::string::npos);
}

TEST_F(DispatcherTest, OversizedReplyBecomesReplyTooLarge) {
  // A result that would not fit in 1 MiB is replaced by an actionable error.
  json reply = Call(R"({"jsonrpc":"2.0","id":1,"method":"test.big","params":{"n":1048576}})");
  EXPECT_EQ(Code(reply), static_cast<int>(ErrorCode::kReplyTooLarge));
  EXPECT_EQ(reply["id"], 1);
}

TEST_F(DispatcherTest, ReplyJustUnderTheLimitIsDelivered) {
  // The envelope is counted: the largest result that fits still succeeds.
  const int envelope = static_cast<int>(std::string(R"({"id":1,"jsonrpc":"2.0","result":""})").size());
  const int n = static_cast<int>(kMaxOutgoingFrameBytes) - envelope;
  std::string frame = R"({"jsonrpc":"2.0","id":1,"method":"test.big","params":{"n":)" + std::to_string(n) + "}}";
  std::string reply = dispatcher_.HandleFrame(frame, ctx_);
  EXPECT_EQ(reply.size(), kMaxOutgoingFrameBytes);
  EXPECT_TRUE(json::parse(reply).contains("result"));
  std::string over = R"({"jsonrpc":"2.0","id":1,"method":"test.big","params":{"n":)" + std::to_string(n + 1) + "}}";
  EXPECT_EQ(Code(json::parse(dispatcher_.HandleFrame(over, ctx_))), static_cast<int>(ErrorCode::kReplyTooLarge));
}

TEST_F(DispatcherTest, RequireHelpersCheckTypes) {
  // Params helpers report missing and mistyped fields as invalid_params.
  json params = {{"s", "x"}, {"i", 3}, {"b", true}, {"f", 1.5}};
  EXPECT_EQ(*RequireString(params, "s"), "x");
  EXPECT_EQ(*RequireInt(params, "i"), 3);
  EXPECT_TRUE(*RequireBool(params, "b"));
  EXPECT_EQ(RequireString(params, "i").status().code(), ErrorCode::kInvalidParams);
  EXPECT_EQ(RequireInt(params, "f").status().code(), ErrorCode::kInvalidParams);
  EXPECT_EQ(RequireInt(params, "missing").status().code(), ErrorCode::kInvalidParams);
  EXPECT_EQ(RequireBool(params, "s").status().code(), ErrorCode::kInvalidParams);
}

// OnlyParams names the first parameter it does not know, and the known ones.
TEST(OnlyParams, RefusesAnyParameterNotListed) {
  EXPECT_TRUE(OnlyParams(json::object(), {"a", "b"}).ok());
  EXPECT_TRUE(OnlyParams(json{{"a", 1}, {"b", nullptr}}, {"a", "b"}).ok());
  Status s = OnlyParams(json{{"a", 1}, {"B", 2}}, {"a", "b"});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidParams);
  EXPECT_NE(s.message().find("\"B\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("known: a, b"), std::string::npos) << s.message();
  EXPECT_EQ(OnlyParams(json{{"x", 1}}, {}).code(), ErrorCode::kInvalidParams);
}

// OptionalParam: an absent parameter and a null one are the same.
TEST(OptionalParam, AbsentAndNullAreTheSame) {
  const json params = {{"given", 0}, {"null", nullptr}, {"empty", ""}};
  ASSERT_NE(OptionalParam(params, "given"), nullptr);
  EXPECT_EQ(*OptionalParam(params, "given"), 0);
  ASSERT_NE(OptionalParam(params, "empty"), nullptr);
  EXPECT_EQ(OptionalParam(params, "null"), nullptr);
  EXPECT_EQ(OptionalParam(params, "absent"), nullptr);
}

// Secret parameters are overwritten in place once used; others are kept.
TEST(WipeSecretParams, OverwritesPassphrasesOnly) {
  nlohmann::json params = {
      {"passphrase", "correct horse"}, {"currentPassphrase", "old horse"}, {"namespace", "notes"}};
  const std::string* secret = &params["passphrase"].get_ref<const std::string&>();
  WipeSecretParams(params);
  EXPECT_EQ(secret, &params["passphrase"].get_ref<const std::string&>());  // Same buffer, not a replacement.
  EXPECT_EQ(params["passphrase"].get<std::string>(), std::string(13, '\0'));
  EXPECT_EQ(params["currentPassphrase"].get<std::string>(), std::string(9, '\0'));
  EXPECT_EQ(params["namespace"], "notes");
}

// A handler sees the passphrase through RequireStringView without a copy.
TEST(RequireStringView, ViewsTheParamsOwnBytes) {
  nlohmann::json params = {{"passphrase", "correct horse"}};
  auto view = RequireStringView(params, "passphrase");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->data(), params["passphrase"].get_ref<const std::string&>().data());
  EXPECT_EQ(RequireStringView(params, "missing").status().code(), ErrorCode::kInvalidParams);
  EXPECT_EQ(RequireStringView({{"passphrase", 5}}, "passphrase").status().code(), ErrorCode::kInvalidParams);
}

}  // namespace
}  // namespace bellwether::messaging
