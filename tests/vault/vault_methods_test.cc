// The vault.* methods over the real JSON-RPC dispatcher.
#include "vault/vault_methods.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>

#include "crypto/base64.h"
#include "test_util.h"
#include "vault/backup_files.h"

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

// The compare-and-set methods refuse parameters they do not know: a
// misspelt "expectedRevision" must not turn into an unconditional write.
TEST_F(VaultMethodsTest, CompareAndSetMethodsRefuseUnknownParams) {
  auto set = Call("vault.set", {{"namespace", "notes"}, {"key", "s1"}, {"value", 1}});
  ASSERT_TRUE(set.contains("result")) << set.dump();
  const auto rev = set["result"]["revision"].get<std::int64_t>();
  auto misspelt =
      Call("vault.set", {{"namespace", "notes"}, {"key", "s1"}, {"value", 2}, {"expectedRevison", rev + 7}});
  EXPECT_EQ(ErrorCodeOf(misspelt), static_cast<int>(ErrorCode::kInvalidParams));
  EXPECT_NE(misspelt["error"]["message"].get<std::string>().find("expectedRevison"), std::string::npos);
  auto removal = Call("vault.delete", {{"namespace", "notes"}, {"key", "s1"}, {"revision", rev}});
  EXPECT_EQ(ErrorCodeOf(removal), static_cast<int>(ErrorCode::kInvalidParams));
  // Nothing was written or deleted.
  auto get = Call("vault.get", {{"namespace", "notes"}, {"key", "s1"}});
  EXPECT_EQ(get["result"]["value"], 1);
  EXPECT_EQ(get["result"]["revision"], rev);
}

// Every method that takes parameters refuses ones it does not know, so a
// misspelt one cannot change what a call does (vault.clear with a "prefix"
// does not clear the whole namespace). Methods that take none ignore them.
TEST_F(VaultMethodsTest, EveryMethodRefusesUnknownParams) {
  const int kInvalid = static_cast<int>(ErrorCode::kInvalidParams);
  ASSERT_TRUE(
      Call("vault.set", {{"namespace", "notes"}, {"key", "part-1/a"}, {"value", 1}}).contains("result"));
  EXPECT_EQ(ErrorCodeOf(Call("vault.clear", {{"namespace", "notes"}, {"prefix", "part-2/"}})), kInvalid);
  EXPECT_EQ(Call("vault.get", {{"namespace", "notes"}, {"key", "part-1/a"}})["result"]["value"], 1)
      << "nothing was cleared";
  const std::vector<std::pair<std::string, json>> misspelt = {
      {"vault.get", {{"namespace", "notes"}, {"key", "part-1/a"}, {"keys", "b"}}},
      {"vault.list", {{"namespace", "notes"}, {"Limit", 5}}},
      {"vault.unlock", {{"passphrase", "x"}, {"remember", true}}},
      {"vault.setPassphrase", {{"passphrase", "x"}, {"oldPassphrase", "y"}}},
      {"vault.export", {{"passphrase", "x"}, {"tofile", true}}},
      {"vault.import", {{"passphrase", "x"}, {"backup", "{}"}, {"merge", true}}},
      {"vault.downloadBackup", {{"file", "x.json"}, {"offset", 0}, {"length", 5}}},
      {"vault.uploadBackup", {{"offset", 0}, {"data", "YWJj"}, {"final", true}}},
  };
  for (const auto& [method, params] : misspelt) {
    auto reply = Call(method, params);
    EXPECT_EQ(ErrorCodeOf(reply), kInvalid) << method << ": " << reply.dump();
  }
  EXPECT_FALSE(std::filesystem::exists(BackupDir(data_))) << "no upload was started";
  EXPECT_TRUE(Call("vault.status", {{"verbose", true}}).contains("result"));
  EXPECT_TRUE(Call("vault.lock", {{"now", true}}).contains("result"));
}

// Parameters are checked before the vault is opened: a malformed request
// gets invalid_params and leaves no vault file behind.
TEST_F(VaultMethodsTest, BadParamsOpenNothing) {
  const int kInvalid = static_cast<int>(ErrorCode::kInvalidParams);
  const std::vector<std::pair<std::string, json>> bad = {
      {"vault.get", json::object()},
      {"vault.set", {{"namespace", "notes"}, {"key", "a"}}},
      {"vault.delete", {{"namespace", "notes"}, {"key", "a"}, {"expectedRevision", -1}}},
      {"vault.list", {{"namespace", "notes"}, {"limit", 0}}},
      {"vault.clear", {{"namespace", nullptr}}},
      {"vault.unlock", json::object()},
      {"vault.setPassphrase", json::object()},
      {"vault.export", {{"passphrase", "x"}, {"toFile", "yes"}}},
      {"vault.import", {{"passphrase", "x"}}},
      {"vault.import", {{"passphrase", ""}, {"backup", "{}"}}},
  };
  for (const auto& [method, params] : bad) {
    auto reply = Call(method, params);
    EXPECT_EQ(ErrorCodeOf(reply), kInvalid) << method << ": " << reply.dump();
  }
  EXPECT_FALSE(std::filesystem::exists(data_ / "vault.db"));
}

// An import that cannot succeed for its passphrase alone leaves the upload
// it names for the corrected request, which then uses it up.
TEST_F(VaultMethodsTest, ImportRefusedForItsPassphraseKeepsTheUpload) {
  auto exported = Call("vault.export", {{"passphrase", "backup passphrase"}});
  ASSERT_TRUE(exported.contains("result")) << exported.dump();
  const std::string backup = exported["result"]["backup"];
  const std::span<const std::uint8_t> raw(reinterpret_cast<const std::uint8_t*>(backup.data()),
                                          backup.size());
  auto upload =
      Call("vault.uploadBackup", {{"offset", 0}, {"data", crypto::Base64Encode(raw)}, {"done", true}});
  ASSERT_TRUE(upload.contains("result")) << upload.dump();
  const std::string file = upload["result"]["file"];
  auto refused = Call("vault.import", {{"passphrase", ""}, {"file", file}});
  EXPECT_EQ(ErrorCodeOf(refused), static_cast<int>(ErrorCode::kInvalidParams));
  EXPECT_TRUE(std::filesystem::exists(BackupDir(data_) / file));
  auto imported = Call("vault.import", {{"passphrase", "backup passphrase"}, {"file", file}});
  ASSERT_TRUE(imported.contains("result")) << imported.dump();
  EXPECT_FALSE(std::filesystem::exists(BackupDir(data_) / file));
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
  ASSERT_TRUE(st["keyAgeSeconds"].is_number_integer());
  EXPECT_GE(st["keyAgeSeconds"].get<std::int64_t>(), 0);
  EXPECT_LT(st["keyAgeSeconds"].get<std::int64_t>(), 3600);  // Created by this test.
  EXPECT_GT(st["usedBytes"].get<std::int64_t>(), 0);
  EXPECT_EQ(st["quotaBytes"], TestOptions(data_).quota_bytes);
  EXPECT_EQ(st["keyId"], 1);
  EXPECT_EQ(st["rotationPending"], false);
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

// VaultMethodNames() is exactly what RegisterVaultMethods() registers (the
// host answers each of them with the configuration error when vault.json is
// broken).
TEST_F(VaultMethodsTest, MethodNamesListEveryRegisteredMethod) {
  auto names = VaultMethodNames();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(dispatcher_.Methods(), names);
}

// vault.json sets the quota and the idle timeout; bad values are errors
// naming the field; no file means the defaults.
TEST(VaultConfig, FileSetsQuotaAndIdleTimeout) {
  TempDir dir;
  const auto file = dir.path() / "vault.json";
  auto defaults = ApplyVaultConfig(VaultMethodOptions{}, file);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->vault.quota_bytes, kDefaultQuotaBytes);
  EXPECT_EQ(defaults->vault.idle_timeout, kDefaultHostIdleTimeout);
  auto write = [&](const std::string& text) { std::ofstream(file, std::ios::trunc) << text; };
  write(R"({"quotaBytes": 268435456, "idleTimeoutMinutes": 0})");
  auto set = ApplyVaultConfig(VaultMethodOptions{}, file);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->vault.quota_bytes, 268435456u);
  EXPECT_EQ(set->vault.idle_timeout, std::chrono::seconds(0));
  for (const std::string bad :
       {R"({"quotaBytes": 1000})", R"({"quotaBytes": "big"})", R"({"quotabytes": 268435456})",
        R"({"idleTimeoutMinutes": -1})", R"([1, 2])", "not json"}) {
    write(bad);
    auto r = ApplyVaultConfig(VaultMethodOptions{}, file);
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidParams) << bad;
  }
  write(R"({"quotaBytes": 1000})");
  EXPECT_NE(ApplyVaultConfig(VaultMethodOptions{}, file).status().message().find("quotaBytes"),
            std::string::npos);
}

// A backup larger than any one message goes out in chunks (download),
// comes back in chunks into another vault (upload), imports from the
// uploaded file with a full report, and the uploaded copy is then removed.
TEST_F(VaultMethodsTest, LargeBackupCrossesTheFrameLimitInChunks) {
  const std::string big(250 * 1024, 'v');
  const int records = 6;
  for (int i = 0; i < records; ++i) {
    auto set =
        Call("vault.set", {{"namespace", "notes"}, {"key", "big" + std::to_string(i)}, {"value", big}});
    ASSERT_TRUE(set.contains("result")) << set.dump().substr(0, 200);
  }
  auto exported = Call("vault.export", {{"passphrase", "backup pw"}, {"toFile", true}});
  ASSERT_TRUE(exported.contains("result")) << exported.dump();
  const std::string file = exported["result"]["file"];
  std::string downloaded;
  int chunks = 0;
  for (bool done = false; !done && chunks < 100; ++chunks) {
    auto part = Call("vault.downloadBackup", {{"file", file}, {"offset", downloaded.size()}});
    ASSERT_TRUE(part.contains("result")) << part.dump().substr(0, 300);
    auto bytes = crypto::Base64Decode(part["result"]["data"].get<std::string>());
    ASSERT_TRUE(bytes.ok());
    downloaded.append(bytes->begin(), bytes->end());
    EXPECT_EQ(part["result"]["offset"], downloaded.size());
    done = part["result"]["done"];
  }
  EXPECT_GE(chunks, 3);
  std::ifstream in(exported["result"]["path"].get<std::string>(), std::ios::binary);
  EXPECT_EQ(downloaded, std::string(std::istreambuf_iterator<char>(in), {}));

  // Another reader's vault takes it back.
  TempDir other_dir;
  messaging::Dispatcher other;
  VaultMethodOptions options;
  options.vault = TestOptions(other_dir.path());
  RegisterVaultMethods(other, options);
  auto call = [&](const std::string& method, json params) {
    json request = {{"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", std::move(params)}};
    return json::parse(other.HandleFrame(request.dump(), ctx_));
  };
  json upload = nullptr;
  std::string name;
  for (std::size_t offset = 0; offset < downloaded.size();) {
    const std::size_t n = std::min<std::size_t>(kBackupChunkBytes, downloaded.size() - offset);
    const std::string piece = downloaded.substr(offset, n);
    json params = {{"offset", offset},
                   {"data", crypto::Base64Encode({reinterpret_cast<const std::uint8_t*>(piece.data()), n})},
                   {"done", offset + n == downloaded.size()}};
    if (!upload.is_null()) params["upload"] = upload;
    auto reply = call("vault.uploadBackup", params);
    ASSERT_TRUE(reply.contains("result")) << reply.dump();
    upload = reply["result"]["upload"];
    offset += n;
    EXPECT_EQ(reply["result"]["offset"], offset);
    if (reply["result"].contains("file")) name = reply["result"]["file"];
  }
  ASSERT_FALSE(name.empty());
  auto imported = call("vault.import", {{"passphrase", "backup pw"}, {"file", name}});
  ASSERT_TRUE(imported.contains("result")) << imported.dump();
  EXPECT_EQ(imported["result"]["added"], records);
  EXPECT_EQ(call("vault.get", {{"namespace", "notes"}, {"key", "big3"}})["result"]["value"], big);
  EXPECT_FALSE(std::filesystem::exists(BackupDir(other_dir.path()) / name)) << "the uploaded copy is removed";
}

// Chunks must follow each other: a repeated or skipped offset, an unknown
// upload, a bad name or an offset past the end are refused with clear
// errors, and the upload in progress is left as it was.
TEST_F(VaultMethodsTest, BackupTransfersRefuseBadChunks) {
  const int kInvalid = static_cast<int>(ErrorCode::kInvalidParams);
  auto first = Call("vault.uploadBackup", {{"offset", 0}, {"data", "YWJj"}});  // "abc"
  ASSERT_TRUE(first.contains("result")) << first.dump();
  const std::string id = first["result"]["upload"];
  EXPECT_EQ(first["result"]["offset"], 3);
  EXPECT_EQ(ErrorCodeOf(Call("vault.uploadBackup", {{"upload", id}, {"offset", 0}, {"data", "YWJj"}})),
            kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.uploadBackup", {{"upload", id}, {"offset", 9}, {"data", "YWJj"}})),
            kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.uploadBackup", {{"upload", id}, {"offset", 3}, {"data", "not base64!"}})),
            kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.uploadBackup",
                             {{"upload", std::string(32, 'f')}, {"offset", 3}, {"data", "YQ=="}})),
            static_cast<int>(ErrorCode::kNotFound));
  EXPECT_EQ(ErrorCodeOf(Call("vault.uploadBackup", {{"upload", "../../x"}, {"offset", 3}, {"data", "YQ=="}})),
            kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.uploadBackup", {{"offset", 5}, {"data", "YQ=="}})), kInvalid);
  auto last = Call("vault.uploadBackup", {{"upload", id}, {"offset", 3}, {"data", "ZGVm"}, {"done", true}});
  ASSERT_TRUE(last.contains("result")) << last.dump();
  const std::string file = last["result"]["file"];
  auto whole = Call("vault.downloadBackup", {{"file", file}, {"offset", 0}});
  EXPECT_EQ(whole["result"]["data"], "YWJjZGVm");  // "abcdef": the refused chunks left no trace.
  EXPECT_EQ(whole["result"]["done"], true);
  EXPECT_EQ(ErrorCodeOf(Call("vault.downloadBackup", {{"file", file}, {"offset", 7}})), kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.downloadBackup", {{"file", "../vault.db"}, {"offset", 0}})), kInvalid);
  EXPECT_EQ(ErrorCodeOf(Call("vault.downloadBackup", {{"file", "missing.json"}, {"offset", 0}})),
            static_cast<int>(ErrorCode::kNotFound));
  // Not a backup, and not an import: garbage is refused by the vault.
  EXPECT_NE(ErrorCodeOf(Call("vault.import", {{"passphrase", "pw"}, {"file", file}})), 0);
}

// Only regular files in backups/ are read: a link (to a file the host may
// read) and a FIFO (which would block the request loop) are refused at once,
// for download and for import alike.
TEST_F(VaultMethodsTest, BackupReadsRefuseLinksAndFifos) {
  const auto dir = BackupDir(data_);
  std::filesystem::create_directories(dir);
  std::ofstream(dir_.path() / "secret.txt") << "not for the extension";
  std::filesystem::create_symlink(dir_.path() / "secret.txt", dir / "link.json");
  ASSERT_EQ(::mkfifo((dir / "pipe.json").c_str(), 0600), 0);
  const int kInvalid = static_cast<int>(ErrorCode::kInvalidParams);
  for (const char* name : {"link.json", "pipe.json"}) {
    EXPECT_EQ(ErrorCodeOf(Call("vault.downloadBackup", {{"file", name}, {"offset", 0}})), kInvalid) << name;
    EXPECT_EQ(ErrorCodeOf(Call("vault.import", {{"passphrase", "pw"}, {"file", name}})), kInvalid) << name;
  }
}

// At most four uploads wait at once; a fifth is refused as busy.
TEST_F(VaultMethodsTest, WaitingUploadsAreBounded) {
  for (std::size_t i = 0; i < kMaxOpenUploads; ++i) {
    ASSERT_TRUE(Call("vault.uploadBackup", {{"offset", 0}, {"data", "YQ=="}}).contains("result")) << i;
  }
  EXPECT_EQ(ErrorCodeOf(Call("vault.uploadBackup", {{"offset", 0}, {"data", "YQ=="}})),
            static_cast<int>(ErrorCode::kBusy));
}

// An upload serves one import, whatever its outcome: failed attempts (a
// mistyped passphrase, again and again) never leave uploads behind to block
// the next one.
TEST_F(VaultMethodsTest, FailedImportsLeaveNoUploadsBehind) {
  ASSERT_TRUE(
      Call("vault.set", {{"namespace", "notes"}, {"key", "a"}, {"value", "kept"}}).contains("result"));
  auto exported = Call("vault.export", {{"passphrase", "right"}});
  ASSERT_TRUE(exported.contains("result")) << exported.dump();
  const std::string text = exported["result"]["backup"];
  const std::string data =
      crypto::Base64Encode({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  for (std::size_t i = 0; i < kMaxOpenUploads + 2; ++i) {
    auto uploaded = Call("vault.uploadBackup", {{"offset", 0}, {"data", data}, {"done", true}});
    ASSERT_TRUE(uploaded.contains("result")) << i << " " << uploaded.dump();
    const std::string file = uploaded["result"]["file"];
    EXPECT_EQ(ErrorCodeOf(Call("vault.import", {{"passphrase", "wrong"}, {"file", file}})),
              static_cast<int>(ErrorCode::kWrongPassphrase));
    EXPECT_FALSE(std::filesystem::exists(BackupDir(data_) / file)) << i;
  }
  auto uploaded = Call("vault.uploadBackup", {{"offset", 0}, {"data", data}, {"done", true}});
  ASSERT_TRUE(uploaded.contains("result")) << uploaded.dump();
  auto imported = Call("vault.import", {{"passphrase", "right"}, {"file", uploaded["result"]["file"]}});
  ASSERT_TRUE(imported.contains("result")) << imported.dump();
  EXPECT_EQ(imported["result"]["unchanged"], 1);
}

// The idle timer itself wipes the keys of a quiet port: no request is
// needed for a passphrase-protected vault to lock again.
TEST(VaultIdleTimer, WipesTheKeysOfAQuietPort) {
  TempDir dir;
  std::mutex mu;
  std::condition_variable woke;
  int wipes = 0;
  // Declared after what the timer touches, so the timer stops first.
  messaging::Dispatcher dispatcher;
  VaultMethodOptions options;
  options.vault = TestOptions(dir.path() / "data");
  options.vault.idle_timeout = std::chrono::seconds(1);
  options.on_idle_wipe = [&] {
    std::lock_guard<std::mutex> lock(mu);
    ++wipes;
    woke.notify_all();
  };
  RegisterVaultMethods(dispatcher, options);
  messaging::RequestContext ctx;
  ctx.notify = [](std::string_view, json) {};
  int id = 0;
  auto call = [&](const std::string& method, json params) {
    json request = {{"jsonrpc", "2.0"}, {"id", ++id}, {"method", method}, {"params", std::move(params)}};
    return json::parse(dispatcher.HandleFrame(request.dump(), ctx));
  };
  ASSERT_TRUE(call("vault.set", {{"namespace", "notes"}, {"key", "a"}, {"value", "x"}}).contains("result"));
  ASSERT_EQ(call("vault.setPassphrase", {{"passphrase", "pw"}})["result"]["passphraseSet"], true);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(woke.wait_for(lock, std::chrono::seconds(30), [&] { return wipes > 0; }))
        << "the idle timer never wiped the keys";
  }
  EXPECT_EQ(call("vault.status", json::object())["result"]["state"], "locked");
  auto get = call("vault.get", {{"namespace", "notes"}, {"key", "a"}});
  EXPECT_EQ(get["error"]["code"], static_cast<int>(ErrorCode::kVaultLocked)) << get.dump();
  ASSERT_EQ(call("vault.unlock", {{"passphrase", "pw"}})["result"]["unlocked"], true);
  EXPECT_EQ(call("vault.get", {{"namespace", "notes"}, {"key", "a"}})["result"]["value"], "x");
}

// An upload abandoned a day ago is removed when the next one starts.
TEST_F(VaultMethodsTest, AbandonedUploadsAreRemoved) {
  auto first = Call("vault.uploadBackup", {{"offset", 0}, {"data", "YQ=="}});
  ASSERT_TRUE(first.contains("result"));
  const auto part = BackupDir(data_) / ("upload-" + first["result"]["upload"].get<std::string>() + ".part");
  ASSERT_TRUE(std::filesystem::exists(part));
  std::filesystem::last_write_time(part,
                                   std::filesystem::file_time_type::clock::now() - std::chrono::hours(25));
  ASSERT_TRUE(Call("vault.uploadBackup", {{"offset", 0}, {"data", "YQ=="}}).contains("result"));
  EXPECT_FALSE(std::filesystem::exists(part));
}

}  // namespace
}  // namespace bellwether::vault
