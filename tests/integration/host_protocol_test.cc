// Drives the real bellwether-host over its real pipes, as a browser does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "host_process.h"

namespace bellwether::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kOrigin[] = "chrome-extension://obajhhhbadjoohblhiihokphelkapblg/";

class HostProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bw-host-test-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    env_ = {{"HOME", (root_ / "home").string()},
            {"XDG_CONFIG_HOME", (root_ / "config").string()},
            {"XDG_DATA_HOME", (root_ / "data").string()},
            {"XDG_STATE_HOME", (root_ / "state").string()},
            {"PATH", "/usr/bin:/bin"}};
  }
  void TearDown() override { fs::remove_all(root_); }

  static std::string Request(int id, const std::string& method, const json& params = json::object()) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump();
  }

  std::unique_ptr<HostProcess> Start(std::vector<std::string> args = {kOrigin}) {
    return std::make_unique<HostProcess>(BELLWETHER_HOST_BIN, args, env_);
  }

  json Roundtrip(HostProcess& host, const std::string& payload) {
    host.SendFrame(payload);
    auto reply = host.ReadFrame();
    EXPECT_TRUE(reply.has_value()) << "no reply to " << payload.substr(0, 80);
    return reply ? json::parse(*reply) : json();
  }

  fs::path root_;
  std::map<std::string, std::string> env_;
};

TEST_F(HostProtocolTest, HelloReportsVersionsAndCapabilities) {
  // host.hello names the product, versions, and the caller it was started for.
  auto host = Start();
  json reply = Roundtrip(*host, Request(1, "host.hello"));
  EXPECT_EQ(reply["id"], 1);
  EXPECT_EQ(reply["result"]["product"], "Bellwether");
  EXPECT_EQ(reply["result"]["protocolVersion"], 1);
  EXPECT_FALSE(reply["result"]["version"].get<std::string>().empty());
  EXPECT_EQ(reply["result"]["caller"]["extensionId"], "obajhhhbadjoohblhiihokphelkapblg");
  EXPECT_EQ(host->Wait(), 0);
}

TEST_F(HostProtocolTest, OneShotMessageThenEofExitsZero) {
  // sendNativeMessage mode: one request, one reply, stdin closed, exit 0, nothing else on stdout.
  auto host = Start();
  json reply = Roundtrip(*host, Request(5, "host.ping"));
  EXPECT_EQ(reply["result"]["pong"], true);
  host->CloseStdin();
  EXPECT_EQ(host->DrainStdout(), "");
  EXPECT_EQ(host->Wait(), 0);
}

TEST_F(HostProtocolTest, ServesManyRequestsOnOneConnection) {
  // connectNative mode: a long-lived port carries a thousand requests in order.
  auto host = Start();
  for (int i = 0; i < 1000; ++i) {
    json reply = Roundtrip(*host, Request(i, "host.ping"));
    ASSERT_EQ(reply["id"], i);
  }
  EXPECT_EQ(host->Wait(), 0);
}

TEST_F(HostProtocolTest, KeepsServingAfterHostileFrames) {
  // Bad UTF-8, bad JSON, deep nesting, wrong types and unknown methods each get
  // an error, and the same process then still answers a ping.
  auto host = Start();
  const std::vector<std::pair<std::string, int>> hostile = {
      {"\xff\xfe\xfd", -32700},
      {"{not json", -32700},
      {std::string(5000, '[') + std::string(5000, ']'), -32700},
      {"[1,2,3]", -32600},
      {R"({"jsonrpc":"2.0","id":1,"method":42})", -32600},
      {R"({"jsonrpc":"2.0","id":1,"method":"host.ping","params":[]})", -32602},
      {R"({"jsonrpc":"2.0","id":1,"method":"host.ping","params":{"echo":7}})", -32602},
      {R"({"jsonrpc":"2.0","id":1,"method":"host.ping","params":{"ecko":"hi"}})", -32602},
      {R"({"jsonrpc":"2.0","id":1,"method":"no.such"})", -32601},
      {std::string("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"host.ping\"\0}", 44), -32700},
  };
  for (const auto& [frame, code] : hostile) {
    json reply = Roundtrip(*host, frame);
    EXPECT_EQ(reply["error"]["code"], code) << frame.substr(0, 60);
  }
  EXPECT_EQ(Roundtrip(*host, Request(99, "host.ping"))["result"]["pong"], true);
  // Optional parameters given as null are absent.
  json nulls = Roundtrip(
      *host, R"({"jsonrpc":"2.0","id":100,"method":"host.ping","params":{"echo":null,"paddingBytes":null}})");
  EXPECT_EQ(nulls["result"], json({{"pong", true}})) << nulls.dump();
  EXPECT_EQ(host->Wait(), 0);
}

TEST_F(HostProtocolTest, OversizedReplyIsReplacedByAnError) {
  // A reply that would exceed 1 MiB yields reply_too_large, and the port survives.
  auto host = Start();
  json fits = Roundtrip(*host, Request(0, "host.ping", {{"echo", std::string(1048000, 'x')}}));
  EXPECT_EQ(fits["result"]["echo"].get<std::string>().size(), 1048000u);
  json reply = Roundtrip(*host, Request(1, "host.ping", {{"paddingBytes", 1048576}}));
  EXPECT_EQ(reply["error"]["code"], -32002);
  EXPECT_EQ(reply["id"], 1);
  EXPECT_EQ(Roundtrip(*host, Request(2, "host.ping"))["result"]["pong"], true);
  EXPECT_EQ(host->Wait(), 0);
}

TEST_F(HostProtocolTest, HugeIdStillGetsADeliverableError) {
  // An error reply that would exceed 1 MiB by quoting a huge id is shortened, and the port survives.
  auto host = Start();
  std::string frame = R"({"jsonrpc":"2.0","method":"host.ping","params":{"paddingBytes":1048576},"id":")" +
                      std::string(1024 * 1024 - 120, 'i') + "\"}";
  json reply = Roundtrip(*host, frame);
  EXPECT_EQ(reply["error"]["code"], -32002);
  EXPECT_TRUE(reply["id"].is_null());
  EXPECT_EQ(Roundtrip(*host, Request(2, "host.ping"))["result"]["pong"], true);
  EXPECT_EQ(host->Wait(), 0);
}

TEST_F(HostProtocolTest, UntrustworthyLengthsEndTheProcessWithAReason) {
  // Zero length, over-limit length and a truncated body end the host (exit 1) with a logged reason.
  struct Case {
    std::string bytes;
    std::string reason;
  };
  auto header = [](std::uint32_t n) {
    std::string h(4, '\0');
    std::memcpy(h.data(), &n, 4);
    return h;
  };
  const std::vector<Case> cases = {
      {header(0), "zero"},
      {header(1024 * 1024 + 1), "exceeds the limit"},
      {header(100) + "{\"jsonrpc\"", "frame body"},
      {std::string("\x01\x00", 2), "frame header"},
  };
  for (const auto& c : cases) {
    auto host = Start();
    host->Send(c.bytes);
    host->CloseStdin();
    EXPECT_EQ(host->DrainStdout(), "") << c.reason;
    EXPECT_EQ(host->Wait(), 1) << c.reason;
    EXPECT_NE(host->Stderr().find(c.reason), std::string::npos) << c.reason;
  }
}

TEST_F(HostProtocolTest, AcceptsAFrameOfExactlyTheIncomingLimit) {
  // A 1 MiB request (padded with spaces) is read and answered.
  auto host = Start();
  std::string frame = Request(3, "host.ping");
  frame.append(1024 * 1024 - frame.size(), ' ');
  json reply = Roundtrip(*host, frame);
  EXPECT_EQ(reply["result"]["pong"], true);
  EXPECT_EQ(host->Wait(), 0);
}

TEST_F(HostProtocolTest, RefusesExtensionsItWasNotInstalledFor) {
  // A well-formed but foreign extension ID gets caller_not_allowed for every request.
  auto host = Start({"chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"});
  json reply = Roundtrip(*host, Request(1, "host.hello"));
  EXPECT_EQ(reply["error"]["code"], -32001);
  EXPECT_EQ(reply["id"], 1);
  EXPECT_EQ(host->Wait(), 0);
}

TEST_F(HostProtocolTest, AcceptsFirefoxCallerAfterFirefoxInstall) {
  // Firefox passes the manifest path and add-on ID; the default add-on ID is allowed.
  auto host = Start({"/home/u/.mozilla/native-messaging-hosts/io.bellwether.host.json", "reader@bellwether.io"});
  json reply = Roundtrip(*host, Request(1, "host.hello"));
  EXPECT_EQ(reply["result"]["caller"]["browser"], "firefox");
  auto other = Start({"/x/io.bellwether.host.json", "evil@example.com"});
  EXPECT_EQ(Roundtrip(*other, Request(1, "host.hello"))["error"]["code"], -32001);
}

TEST_F(HostProtocolTest, InstallWritesManifestAndTrustsTheGivenId) {
  // install --user-data-dir writes the manifest there with an absolute path and the origin,
  // and the host then serves that extension; uninstall removes it.
  const std::string profile = (root_ / "profile").string();
  const std::string other_id(32, 'b');
  auto [code, out] = RunCommand(BELLWETHER_HOST_BIN,
                                {"install", "--browser", "chromium", "--user-data-dir", profile,
                                 "--extension-id", other_id},
                                env_);
  ASSERT_EQ(code, 0) << out;
  fs::path manifest_path = fs::path(profile) / "NativeMessagingHosts" / "io.bellwether.host.json";
  std::ifstream in(manifest_path);
  ASSERT_TRUE(in.good());
  json manifest = json::parse(in);
  EXPECT_EQ(manifest["name"], "io.bellwether.host");
  EXPECT_EQ(manifest["type"], "stdio");
  EXPECT_TRUE(fs::path(manifest["path"].get<std::string>()).is_absolute());
  EXPECT_EQ(manifest["allowed_origins"], json::array({"chrome-extension://" + other_id + "/"}));

  auto host = Start({"chrome-extension://" + other_id + "/"});
  EXPECT_TRUE(Roundtrip(*host, Request(1, "host.ping"))["result"]["pong"]);

  auto [ucode, uout] = RunCommand(BELLWETHER_HOST_BIN, {"uninstall", "--user-data-dir", profile}, env_);
  EXPECT_EQ(ucode, 0);
  EXPECT_FALSE(fs::exists(manifest_path));
}

TEST_F(HostProtocolTest, InstallRejectsMalformedExtensionId) {
  // A typo in the ID fails loudly instead of producing a manifest the browser ignores.
  auto [code, out] = RunCommand(BELLWETHER_HOST_BIN,
                                {"install", "--user-data-dir", (root_ / "p").string(), "--extension-id", "XYZ"},
                                env_);
  EXPECT_EQ(code, 1);
  EXPECT_FALSE(fs::exists(root_ / "p" / "NativeMessagingHosts" / "io.bellwether.host.json"));
}

TEST_F(HostProtocolTest, CorruptConfigFailsClosed) {
  // An unreadable host config means no extension is trusted, not all of them.
  fs::create_directories(root_ / "config" / "bellwether");
  std::ofstream(root_ / "config" / "bellwether" / "host.json") << "{broken";
  auto host = Start();
  EXPECT_EQ(Roundtrip(*host, Request(1, "host.ping"))["error"]["code"], -32001);
}

TEST_F(HostProtocolTest, VaultConfigSetsTheQuotaAndABrokenOneIsReported) {
  // vault.json's quota is the one vault.status reports and writes are held to;
  // a malformed vault.json makes every vault call say so, and other methods work.
  fs::create_directories(root_ / "config" / "bellwether");
  std::ofstream(root_ / "config" / "bellwether" / "vault.json") << R"({"quotaBytes": 2097152})";
  {
    auto host = Start();
    json status = Roundtrip(*host, Request(1, "vault.status"));
    EXPECT_EQ(status["result"]["quotaBytes"], 2097152) << status.dump();
    json big = Roundtrip(
        *host, Request(2, "vault.set",
                       {{"namespace", "notes"}, {"key", "a"}, {"value", std::string(200 * 1024, 'q')}}));
    EXPECT_TRUE(big.contains("result")) << big.dump().substr(0, 200);
    for (int i = 0; i < 12 && !big.contains("error"); ++i) {
      big = Roundtrip(*host, Request(3 + i, "vault.set",
                                     {{"namespace", "notes"},
                                      {"key", "k" + std::to_string(i)},
                                      {"value", std::string(200 * 1024, 'q')}}));
    }
    EXPECT_EQ(big["error"]["data"]["name"], "quota_exceeded") << "2 MiB quota not enforced";
    host->CloseStdin();
    EXPECT_EQ(host->Wait(), 0);
  }
  std::ofstream(root_ / "config" / "bellwether" / "vault.json", std::ios::trunc)
      << R"({"quotaBytes": "lots"})";
  auto host = Start();
  json refused = Roundtrip(*host, Request(1, "vault.get", {{"namespace", "notes"}, {"key", "a"}}));
  EXPECT_EQ(refused["error"]["code"], -32602) << refused.dump();
  EXPECT_NE(refused["error"]["message"].get<std::string>().find("quotaBytes"), std::string::npos);
  EXPECT_EQ(Roundtrip(*host, Request(2, "host.ping"))["result"]["pong"], true);
}

#if BELLWETHER_GLIBC_HEAP
TEST_F(HostProtocolTest, WritesOfLargeValuesReuseTheHeap) {
  // The host keeps its freed heap (common/heap.h): once a namespace of 64
  // KiB values has been listed, writing them again faults in about two
  // pages a write. With glibc's defaults each write gave back its buffers
  // and faulted in some 50 pages (2042 in these 40 writes).
  auto host = Start();
  auto write = [&](int id, int record) {
    json reply =
        Roundtrip(*host, Request(id, "vault.set",
                                 {{"namespace", "notes"},
                                  {"key", "section-" + std::to_string(record)},
                                  {"value", std::string(64 * 1024, static_cast<char>('a' + id % 26))}}));
    ASSERT_TRUE(reply.contains("result")) << reply.dump().substr(0, 200);
  };
  constexpr int kRecords = 20;
  for (int i = 0; i < kRecords; ++i) write(i, i);
  json listed = Roundtrip(*host, Request(900, "vault.list", {{"namespace", "notes"}}));
  ASSERT_EQ(listed["result"]["items"].size(), static_cast<std::size_t>(kRecords))
      << listed.dump().substr(0, 200);
  const long before = host->MinorFaults();
  ASSERT_GE(before, 0);
  for (int i = 0; i < 2 * kRecords; ++i) write(kRecords + i, i % kRecords);
  const long faults = host->MinorFaults() - before;
  EXPECT_LT(faults, 2 * kRecords * 4) << faults << " page faults in " << 2 * kRecords << " writes";
  host->CloseStdin();
  EXPECT_EQ(host->Wait(), 0);
}
#endif

TEST_F(HostProtocolTest, VersionAndHelp) {
  // --version prints product and protocol versions; an unknown command exits 2.
  auto [code, out] = RunCommand(BELLWETHER_HOST_BIN, {"--version"}, env_);
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("bellwether-host "), std::string::npos);
  EXPECT_NE(out.find("protocol 1"), std::string::npos);
  EXPECT_EQ(RunCommand(BELLWETHER_HOST_BIN, {"frobnicate"}, env_).first, 2);
  auto [hcode, hout] = RunCommand(BELLWETHER_HOST_BIN, {"--help"}, env_);
  EXPECT_EQ(hcode, 0);
  EXPECT_NE(hout.find("install"), std::string::npos);
}

TEST_F(HostProtocolTest, LogsToAPrivateFileNotStdout) {
  // The host's log lands in $XDG_STATE_HOME/bellwether/host.log (0600), never on stdout.
  auto host = Start({"chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"});
  Roundtrip(*host, Request(1, "host.ping"));
  host->Wait();
  fs::path log = root_ / "state" / "bellwether" / "host.log";
  ASSERT_TRUE(fs::exists(log));
  EXPECT_EQ(fs::status(log).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("refusing caller"), std::string::npos);
}

}  // namespace
}  // namespace bellwether::testing
