// The vault.* methods over the real JSON-RPC dispatcher.
#include "vault/vault_methods.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace bellwether::vault {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::TestOptions;

class VaultMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    VaultMethodOptions options;
    options.vault = TestOptions(data_);
    RegisterVaultMethods(dispatcher_, options);
    ctx_.notify = [](std::string_view, json) {};
  }

  json Call(const std::string& method, json params) {
    json request = {{"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", std::move(params)}};
    std::string reply = dispatcher_.HandleFrame(request.dump(), ctx_);
    EXPECT_LT(reply.size(), 1024u * 1024);
    return json::parse(reply);
  }

  static int ErrorCodeOf(const json& reply) {
    return reply.contains("error") ? reply["error"]["code"].get<int>() : 0;
  }

  TempDir dir_;
  std::filesystem::path data_;
  messaging::Dispatcher dispatcher_;
  messaging::RequestContext ctx_;
  int id_ = 0;
};

// Registering the methods touches neither the disk nor the keyring: the
// data directory does not even exist until the first vault call.
TEST_F(VaultMethodsTest, RegistrationOpensNothing) {
  EXPECT_FALSE(std::filesystem::exists(data_));
  auto methods = dispatcher_.Methods();
  for (const char* m : {"vault.status", "vault.get", "vault.set", "vault.delete", "vault.list", "vault.clear",
                        "vault.lock", "vault.unlock", "vault.setPassphrase", "vault.rotateKey", "vault.export",
                        "vault.import"}) {
    EXPECT_NE(std::find(methods.begin(), methods.end(), m), methods.end()) << m;
  }
  Call("vault.status", json::object());
  EXPECT_TRUE(std::filesystem::exists(data_ / "vault.db"));
}

// set / get / list / delete with the documented shapes and error codes.
TEST_F(VaultMethodsTest, RecordMethodsFollowTheProtocol) {
  auto set = Call("vault.set", {{"namespace", "notes"}, {"key", "s1"}, {"value", {{"text", "hi"}}}});
  ASSERT_TRUE(set.contains("result")) << set.dump();
  const auto rev = set["result"]["revision"].get<std::int64_t>();
  auto get = Call("vault.get", {{"namespace", "notes"}, {"key", "s1"}});
  EXPECT_EQ(get["result"]["value"]["text"], "hi");
  EXPECT_EQ(get["result"]["revision"], rev);
  auto stale = Call("vault.set", {{"namespace", "notes"}, {"key", "s1"}, {"value", 2}, {"expectedRevision", rev + 5}});
  EXPECT_EQ(ErrorCodeOf(stale), static_cast<int>(ErrorCode::kConflict));
  EXPECT_EQ(stale["error"]["data"]["name"], "conflict");
  auto list = Call("vault.list", {{"namespace", "notes"}, {"limit", 10}});
  ASSERT_EQ(list["result"]["items"].size(), 1u);
  EXPECT_EQ(list["result"]["items"][0]["key"], "s1");
  EXPECT_TRUE(list["result"]["cursor"].is_null());
  auto del = Call("vault.delete", {{"namespace", "notes"}, {"key", "s1"}, {"expectedRevision", rev}});
  EXPECT_EQ(del["result"]["deleted"], true);
  auto missing = Call("vault.get", {{"namespace", "notes"}, {"key", "s1"}});
  EXPECT_EQ(ErrorCodeOf(missing), static_cast<int>(ErrorCode::kNotFound));
}

// Wrong parameter types are invalid_params, never a crash.
TEST_F(VaultMethodsTest, BadParamsAreInvalidParams) {
  const int kInvalid = static_cast<int>(ErrorCode::kInvalidParams);
  EXPECT_EQ(ErrorCodeOf(Call("vault.get", {{"namespace", 1}, {"key", "a"}})), kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.set", {{"namespace", "notes"}, {"key", "a"}})), kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.set", {{"namespace", "notes"}, {"key", "a"}, {"value", 1},
                                           {"expectedRevision", "3"}})),
            kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.list", {{"namespace", "notes"}, {"limit", 0}})), kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.list", {{"namespace", "notes"}, {"cursor", "not hex"}})), kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.setPassphrase", json::object())), kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.import", {{"passphrase", "x"}})), kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.import", {{"passphrase", "x"}, {"file", "../etc/passwd"}})), kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.set", {{"namespace", "notes"}, {"key", std::string(513, 'k')}, {"value", 1}})),
            static_cast<int>(ErrorCode::kTooLarge));
}

// vault.status carries every documented field.
TEST_F(VaultMethodsTest, StatusHasDocumentedFields) {
  Call("vault.set", {{"namespace", "notes"}, {"key", "a"}, {"value", 1}});
  auto st = Call("vault.status", json::object())["result"];
  EXPECT_EQ(st["state"], "unlocked");
  EXPECT_EQ(st["keySource"], "keyfile");
  EXPECT_EQ(st["passphraseSet"], false);
  EXPECT_EQ(st["algorithm"], "AES-256-GCM");
  EXPECT_EQ(st["recordCount"], 1);
  EXPECT_TRUE(st["keyCreated"].is_string());
  EXPECT_TRUE(st["lastRotation"].is_null());
  EXPECT_EQ(st["formatVersion"], 1);
  EXPECT_TRUE(st["path"].is_string());
}

// Passphrase, lock, unlock, rotate, export and import over the wire.
TEST_F(VaultMethodsTest, KeyManagementMethods) {
  Call("vault.set", {{"namespace", "notes"}, {"key", "a"}, {"value", "x"}});
  EXPECT_EQ(Call("vault.setPassphrase", {{"passphrase", "pw"}})["result"]["passphraseSet"], true);
  EXPECT_EQ(Call("vault.lock", json::object())["result"]["locked"], true);
  EXPECT_EQ(ErrorCodeOf(Call("vault.get", {{"namespace", "notes"}, {"key", "a"}})),
            static_cast<int>(ErrorCode::kVaultLocked));
  EXPECT_EQ(Call("vault.status", json::object())["result"]["state"], "locked");
  EXPECT_EQ(ErrorCodeOf(Call("vault.unlock", {{"passphrase", "nope"}})),
            static_cast<int>(ErrorCode::kWrongPassphrase));
  EXPECT_EQ(Call("vault.unlock", {{"passphrase", "pw"}})["result"]["unlocked"], true);
  auto rotated = Call("vault.rotateKey", json::object());
  EXPECT_EQ(rotated["result"]["keyId"], 2);
  EXPECT_EQ(rotated["result"]["resealed"], 1);
  auto exported = Call("vault.export", {{"passphrase", "backup"}});
  ASSERT_TRUE(exported["result"]["backup"].is_string()) << exported.dump();
  EXPECT_EQ(exported["result"]["records"], 1);
  EXPECT_EQ(Call("vault.clear", {{"namespace", "notes"}})["result"]["deleted"], 1);
  auto imported = Call("vault.import", {{"backup", exported["result"]["backup"]}, {"passphrase", "backup"}});
  EXPECT_EQ(imported["result"]["added"], 1) << imported.dump();
  EXPECT_EQ(Call("vault.get", {{"namespace", "notes"}, {"key", "a"}})["result"]["value"], "x");
  auto to_file = Call("vault.export", {{"passphrase", "backup"}, {"toFile", true}});
  ASSERT_TRUE(to_file["result"]["file"].is_string()) << to_file.dump();
  auto from_file = Call("vault.import", {{"file", to_file["result"]["file"]}, {"passphrase", "backup"}});
  EXPECT_EQ(from_file["result"]["unchanged"], 1) << from_file.dump();
  EXPECT_EQ(Call("vault.setPassphrase", {{"passphrase", nullptr}, {"currentPassphrase", "pw"}})["result"]["passphraseSet"],
            false);
}

// A backup too large for one reply is refused inline with a hint, and
// written to a file instead.
TEST_F(VaultMethodsTest, LargeBackupGoesToAFile) {
  const std::string big(250 * 1024, 'b');
  for (int i = 0; i < 4; ++i) {
    auto set = Call("vault.set", {{"namespace", "notes"}, {"key", "big" + std::to_string(i)}, {"value", big}});
    ASSERT_TRUE(set.contains("result")) << set.dump().substr(0, 200);
  }
  auto inline_export = Call("vault.export", {{"passphrase", "pw"}});
  EXPECT_EQ(ErrorCodeOf(inline_export), static_cast<int>(ErrorCode::kTooLarge));
  EXPECT_NE(inline_export["error"]["message"].get<std::string>().find("toFile"), std::string::npos);
  auto to_file = Call("vault.export", {{"passphrase", "pw"}, {"toFile", true}});
  ASSERT_TRUE(to_file.contains("result")) << to_file.dump();
  EXPECT_EQ(to_file["result"]["records"], 4);
  EXPECT_TRUE(std::filesystem::exists(to_file["result"]["path"].get<std::string>()));
}

}  // namespace
}  // namespace bellwether::vault
