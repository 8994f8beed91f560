// bellwether-tuf-client driven as a real process over its real command line,
// against a repository served by nginx over HTTPS (test CA).
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "crypto/digest.h"
#include "support/https_server.h"
#include "update/client/test_repository.h"

namespace bellwether::update {
namespace {

namespace fs = std::filesystem;
using testing::kDay;
using testing::TestRepository;

const std::string kTarget = "content/pack.json";
const std::string kPack = R"({"schema":1,"packId":"pack","version":1})";

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs the client (optionally under faketime); returns its exit status, or
// -1 if it did not exit normally (a crash).
int RunClient(std::vector<std::string> args, const std::string& faketime = "") {
  std::vector<std::string> argv;
  if (!faketime.empty()) {
    argv = {"/usr/bin/faketime", "-f", faketime};
  }
  argv.push_back(BELLWETHER_TUF_CLIENT);
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = fork();
  if (pid == 0) {
    // faketime preloads libfaketime; in ASan builds the runtime must then
    // tolerate not coming first.
    if (!faketime.empty()) setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
    std::vector<char*> raw;
    for (std::string& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    execv(raw[0], raw.data());
    _exit(127);
  }
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

class TufClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto web = bellwether::testing::TempDir::Create("tuf-client-web");
    auto work = bellwether::testing::TempDir::Create("tuf-client-work");
    ASSERT_TRUE(web.ok() && work.ok());
    web_ = std::move(web).value();
    work_ = std::move(work).value();
    // The client reads the real clock; sign relative to it.
    repo_.set_expires(static_cast<std::int64_t>(std::time(nullptr)) + 30 * kDay);
    repo_.BumpRoot();
    repo_.AddTarget(kTarget, kPack);
    repo_.Publish();
    WriteRepository();
    bellwether::testing::HttpsServer::Options options;
    options.root = web_->path();
    options.also_plain_http = true;
    auto server = bellwether::testing::HttpsServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    std::ofstream(RootFile(), std::ios::binary) << repo_.RootBytes(1);
  }

  void WriteRepository() {
    for (const auto& [path, bytes] : repo_.files()) {
      const fs::path file = web_->path() / path;
      fs::create_directories(file.parent_path());
      std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    }
  }

  fs::path MetadataDir() const { return work_->path() / "metadata"; }
  fs::path TargetDir() const { return work_->path() / "targets"; }
  fs::path RootFile() const { return work_->path() / "trusted-root.json"; }
  fs::path DownloadedPack() const { return TargetDir() / "content%2Fpack.json"; }

  std::vector<std::string> Common() const {
    return {"--ca-bundle", server_->ca_cert_path().string(), "--metadata-dir", MetadataDir().string(),
            "--metadata-url", server_->Url("metadata/")};
  }
  std::vector<std::string> DownloadArgs() const {
    // Options deliberately in a different order than the protocol lists them.
    std::vector<std::string> args = {"--target-dir", TargetDir().string(), "--target-name", kTarget,
                                     "--target-base-url", server_->Url("targets/")};
    for (const std::string& a : Common()) args.push_back(a);
    args.push_back("download");
    return args;
  }
  int Init() { return RunClient({"--metadata-dir", MetadataDir().string(), "init", RootFile().string()}); }

  std::set<std::string> MetadataFiles() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(MetadataDir())) names.insert(e.path().filename());
    return names;
  }

  std::unique_ptr<bellwether::testing::TempDir> web_;
  std::unique_ptr<bellwether::testing::TempDir> work_;
  std::unique_ptr<bellwether::testing::HttpsServer> server_;
  TestRepository repo_;
};

// init copies the trusted root into DIR and makes no request.
TEST_F(TufClientTest, InitCopiesTrustedRootOnly) {
  ASSERT_EQ(Init(), 0);
  EXPECT_EQ(ReadAll(MetadataDir() / "root.json"), repo_.RootBytes(1));
  EXPECT_EQ(MetadataFiles(), std::set<std::string>{"root.json"});
}

// refresh updates the root through the chain and stores the top-level roles.
TEST_F(TufClientTest, RefreshStoresOnlyTrustedMetadata) {
  ASSERT_EQ(Init(), 0);
  std::vector<std::string> args = Common();
  args.push_back("refresh");
  ASSERT_EQ(RunClient(args), 0) << server_->ErrorLog();
  EXPECT_EQ(ReadAll(MetadataDir() / "root.json"), repo_.RootBytes(2));
  std::set<std::string> expected = {"root.json", "timestamp.json", "snapshot.json", "targets.json"};
  EXPECT_EQ(MetadataFiles(), expected);
}

// download stores the target under its percent-encoded path; a second run
// keeps the verified file instead of downloading it again.
TEST_F(TufClientTest, DownloadStoresTargetAndReusesValidCopy) {
  ASSERT_EQ(Init(), 0);
  ASSERT_EQ(RunClient(DownloadArgs()), 0);
  EXPECT_EQ(ReadAll(DownloadedPack()), kPack);
  struct stat before{};
  ASSERT_EQ(stat(DownloadedPack().c_str(), &before), 0);
  // Remove the served copies: a re-download would now fail.
  const std::string hash = crypto::HexEncode(crypto::Sha256(kPack));
  fs::remove(web_->path() / "targets" / "content" / (hash + ".pack.json"));
  ASSERT_EQ(RunClient(DownloadArgs()), 0);
  struct stat after{};
  ASSERT_EQ(stat(DownloadedPack().c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
}

// A tampered target makes the client exit 1, leaving no file behind.
TEST_F(TufClientTest, TamperedTargetExitsOne) {
  ASSERT_EQ(Init(), 0);
  const std::string hash = crypto::HexEncode(crypto::Sha256(kPack));
  std::string evil = kPack;
  evil[2] = 'S';
  std::ofstream(web_->path() / "targets" / "content" / (hash + ".pack.json"), std::ios::trunc) << evil;
  EXPECT_EQ(RunClient(DownloadArgs()), 1);
  EXPECT_FALSE(fs::exists(DownloadedPack()));
}

// Plain http on 127.0.0.1 is accepted by the conformance client.
TEST_F(TufClientTest, AcceptsLoopbackHttp) {
  ASSERT_EQ(Init(), 0);
  EXPECT_EQ(RunClient({"--metadata-dir", MetadataDir().string(), "--metadata-url",
                       server_->PlainBaseUrl() + "metadata/", "refresh"}),
            0);
}

// The client takes time from the C library: under faketime a day ahead the
// metadata is still valid, a year ahead it has expired (exit status 1).
TEST_F(TufClientTest, ExpiryFollowsFakedClock) {
  if (access("/usr/bin/faketime", X_OK) != 0) GTEST_SKIP() << "faketime is not installed";
  ASSERT_EQ(Init(), 0);
  std::vector<std::string> args = Common();
  args.push_back("refresh");
  EXPECT_EQ(RunClient(args, "+365d"), 1);
  EXPECT_EQ(RunClient(args, "+1d"), 0);
}

// Usage errors exit exactly 1 (never 2, never a crash).
TEST_F(TufClientTest, UsageErrorsExitOne) {
  EXPECT_EQ(RunClient({}), 1);
  EXPECT_EQ(RunClient({"refresh"}), 1);
  EXPECT_EQ(RunClient({"--metadata-dir"}), 1);
  EXPECT_EQ(RunClient({"--metadata-dir", MetadataDir().string(), "frobnicate"}), 1);
  EXPECT_EQ(RunClient({"--metadata-dir", MetadataDir().string(), "init", "/nonexistent/root.json"}), 1);
  EXPECT_EQ(RunClient({"--metadata-dir", MetadataDir().string(), "init", BELLWETHER_TUF_CLIENT}), 1);
  // download without targets.
  ASSERT_EQ(Init(), 0);
  std::vector<std::string> args = Common();
  args.push_back("download");
  EXPECT_EQ(RunClient(args), 1);
}

}  // namespace
}  // namespace bellwether::update
