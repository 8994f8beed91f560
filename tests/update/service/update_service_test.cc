// The product's update service end to end: a TUF repository served by nginx
// over HTTPS (test CA), the real libcurl fetcher, content packs installed or
// refused, the lock, the policy and the JSON-RPC methods.
#include "update/update_service.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "crypto/digest.h"
#include "messaging/dispatcher.h"
#include "messaging/frame_reader.h"
#include "messaging/host_session.h"
#include "support/https_server.h"
#include "update/client/test_repository.h"
#include "update/update_methods.h"

namespace bellwether::update {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::kNow;
using testing::TestRepository;

const std::string kTarget = "content/japan-us-trade.json";

std::string Pack(int version, const std::string& pack_id = "japan-us-trade") {
  json pack = {{"schema", 1},
               {"packId", pack_id},
               {"version", version},
               {"published", "2026-11-2" + std::to_string(version % 10) + "T00:00:00Z"},
               {"title", "Japan-US trade"},
               {"changes", {"edition " + std::to_string(version)}},
               {"parts", {{{"id", "in-brief"}, {"title", "In brief"}, {"blocks", json::array()}}}}};
  return pack.dump();
}

struct Notification {
  std::string method;
  json params;
};

class UpdateServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto web = bellwether::testing::TempDir::Create("update-service-web");
    auto data = bellwether::testing::TempDir::Create("update-service-data");
    ASSERT_TRUE(web.ok() && data.ok());
    web_ = std::move(web).value();
    data_ = std::move(data).value();
    repo_.AddTarget(kTarget, Pack(1));
    repo_.Publish();
    WriteRepository();
    bellwether::testing::HttpsServer::Options server_options;
    server_options.root = web_->path();
    auto server = bellwether::testing::HttpsServer::Start(server_options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  void WriteRepository() {
    for (const auto& [path, bytes] : repo_.files()) {
      const fs::path file = web_->path() / path;
      fs::create_directories(file.parent_path());
      std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    }
  }

  UpdateServiceOptions Options() {
    UpdateServiceOptions options;
    options.data_dir = data_->path() / "bellwether";
    options.repository_url = server_->BaseUrl();
    options.ca_bundle = server_->ca_cert_path().string();
    options.initial_root = repo_.RootBytes(1);
    options.clock = [this] { return now_; };
    return options;
  }

  messaging::NotifyFn Recorder() {
    return [this](std::string_view method, json params) {
      std::lock_guard<std::mutex> lock(mutex_);
      notifications_.push_back({std::string(method), std::move(params)});
    };
  }

  std::string ServedTargetPath(const std::string& pack) const {
    return "targets/content/" + crypto::HexEncode(crypto::Sha256(pack)) + ".japan-us-trade.json";
  }

  std::unique_ptr<bellwether::testing::TempDir> web_;
  std::unique_ptr<bellwether::testing::TempDir> data_;
  std::unique_ptr<bellwether::testing::HttpsServer> server_;
  TestRepository repo_;
  std::int64_t now_ = kNow;
  std::mutex mutex_;
  std::vector<Notification> notifications_;
};

// With nothing installed, content.get tells the extension to use its own pack.
TEST_F(UpdateServiceTest, ReportsNoContentBeforeFirstUpdate) {
  UpdateService service(Options());
  auto content = service.ContentJson();
  ASSERT_TRUE(content.ok());
  EXPECT_EQ((*content)["source"], "none");
  EXPECT_TRUE((*content)["pack"].is_null());
  json status = service.StatusJson();
  EXPECT_EQ(status["lastResult"], "never");
  EXPECT_TRUE(status["contentVersion"].is_null());
}

// A signed pack is installed; a newer one replaces it; progress and
// completion are announced.
TEST_F(UpdateServiceTest, InstallsNewerSignedPackFromHttpsRepository) {
  UpdateService service(Options());
  Status s = service.CheckNow(Recorder());
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << server_->ErrorLog();
  auto content = service.ContentJson();
  ASSERT_TRUE(content.ok());
  EXPECT_EQ((*content)["source"], "update");
  EXPECT_EQ((*content)["version"], 1);

  repo_.AddTarget(kTarget, Pack(2));
  repo_.Publish();
  WriteRepository();
  s = service.CheckNow(Recorder());
  ASSERT_TRUE(s.ok()) << s.ToString();
  content = service.ContentJson();
  EXPECT_EQ((*content)["version"], 2);
  json status = service.StatusJson();
  EXPECT_EQ(status["lastResult"], "ok");
  EXPECT_EQ(status["contentVersion"], 2);
  EXPECT_EQ(status["repository"], server_->BaseUrl());

  bool saw_progress = false;
  bool saw_completed_2 = false;
  for (const Notification& n : notifications_) {
    if (n.method == "update.progress") {
      saw_progress = true;
      EXPECT_EQ(n.params["target"], kTarget);
      EXPECT_LE(n.params["bytesDone"].get<std::uint64_t>(), n.params["bytesTotal"].get<std::uint64_t>());
    }
    if (n.method == "update.completed" && n.params["contentVersion"] == 2) saw_completed_2 = true;
  }
  EXPECT_TRUE(saw_progress);
  EXPECT_TRUE(saw_completed_2);
}

// State that grew from one trust anchor (a configured root file) does not
// carry over to another (here the built-in root): the check starts over and
// installs afresh. The same anchor again keeps the state.
TEST_F(UpdateServiceTest, ChangingTheTrustAnchorStartsOver) {
  UpdateServiceOptions configured = Options();
  const fs::path root_file = data_->path() / "demo-root.json";
  std::ofstream(root_file, std::ios::binary) << repo_.RootBytes(1);
  configured.initial_root.clear();
  configured.trusted_root_path = root_file;
  ASSERT_TRUE(UpdateService(configured).CheckNow({}).ok());
  EXPECT_EQ(UpdateService(configured).StatusJson()["lastResult"], "ok");
  ASSERT_TRUE(UpdateService(configured).CheckNow({}).ok());
  EXPECT_EQ(UpdateService(configured).StatusJson()["lastResult"], "up-to-date");  // Kept.
  const fs::path anchor = configured.data_dir / "update-anchor";
  std::ifstream configured_anchor(anchor);
  std::string recorded;
  std::getline(configured_anchor, recorded);
  EXPECT_EQ(recorded, "sha256:" + crypto::HexEncode(crypto::Sha256(repo_.RootBytes(1))));

  UpdateService built_in(Options());
  ASSERT_TRUE(built_in.CheckNow({}).ok());
  EXPECT_EQ(built_in.StatusJson()["lastResult"], "ok");  // Installed again from scratch.
  std::ifstream built_in_anchor(anchor);
  std::getline(built_in_anchor, recorded);
  EXPECT_EQ(recorded, "built-in");
  ASSERT_TRUE(built_in.CheckNow({}).ok());
  EXPECT_EQ(built_in.StatusJson()["lastResult"], "up-to-date");
}

// When the outcome cannot be saved (here the status file's name is taken by
// a directory, which running as root cannot fake with modes), the schedule
// goes on from the outcome in memory: the next check is an interval away,
// not due at every poll.
TEST_F(UpdateServiceTest, ScheduleHoldsWhenTheStatusCannotBeSaved) {
  UpdateServiceOptions options = Options();
  fs::create_directories(options.data_dir / "update-status.json");
  UpdateService service(options);
  ASSERT_TRUE(service.CheckNow({}).ok());
  ASSERT_TRUE(fs::is_directory(options.data_dir / "update-status.json"));  // Still not saved.
  const std::int64_t interval = std::int64_t{kDefaultIntervalHours} * 3600;
  const std::optional<std::int64_t> due = service.SecondsUntilDue();
  ASSERT_TRUE(due.has_value());
  EXPECT_GE(*due, interval);  // The interval plus up to 10% jitter.
  EXPECT_LE(*due, interval + interval / 10);
  EXPECT_EQ(service.StatusJson()["lastResult"], "ok");
  // A service that never saw that outcome falls back to "never checked".
  EXPECT_EQ(UpdateService(options).SecondsUntilDue(), 0);
}

// A second check with nothing new reports "up-to-date" and keeps the pack.
TEST_F(UpdateServiceTest, ReportsUpToDateWhenNothingChanged) {
  UpdateService service(Options());
  ASSERT_TRUE(service.CheckNow({}).ok());
  ASSERT_TRUE(service.CheckNow({}).ok());
  EXPECT_EQ(service.StatusJson()["lastResult"], "up-to-date");
}

// Temporary files a crash left next to the installed pack and the
// downloads are swept by the next check, which holds the update lock.
TEST_F(UpdateServiceTest, CheckSweepsTemporaryFilesACrashLeftInContent) {
  UpdateServiceOptions options = Options();
  UpdateService service(options);
  ASSERT_TRUE(service.CheckNow({}).ok());
  const fs::path stale_current = options.data_dir / "content" / ".current.json.tmp-AbC123";
  const fs::path stale_download = options.data_dir / "content" / "targets" / ".pack.json.tmp-XyZ789";
  std::ofstream(stale_current) << "half a pack";
  std::ofstream(stale_download) << "half a download";
  ASSERT_TRUE(service.CheckNow({}).ok());
  EXPECT_FALSE(fs::exists(stale_current));
  EXPECT_FALSE(fs::exists(stale_download));
  EXPECT_TRUE(fs::exists(options.data_dir / "content" / "current.json"));
}

// A tampered pack on the server is refused; the previous good pack stays
// and the status explains the failure in plain words.
TEST_F(UpdateServiceTest, KeepsPreviousPackWhenNewOneIsTampered) {
  UpdateService service(Options());
  ASSERT_TRUE(service.CheckNow({}).ok());
  const std::string v2 = Pack(2);
  repo_.AddTarget(kTarget, v2);
  repo_.Publish();
  std::string evil = v2;
  evil.replace(evil.find("edition 2"), 9, "edition X");
  repo_.files()[ServedTargetPath(v2)] = evil;
  WriteRepository();

  Status s = service.CheckNow({});
  EXPECT_EQ(s.code(), ErrorCode::kUpdateVerification) << s.ToString();
  EXPECT_EQ((*service.ContentJson())["version"], 1);
  json status = service.StatusJson();
  EXPECT_EQ(status["lastResult"], "failed");
  EXPECT_EQ(status["lastErrorCode"], "update_verification_failed");
  EXPECT_NE(status["lastError"].get<std::string>().find("kept"), std::string::npos);
}

// A correctly signed pack (newer TUF targets version) whose content version
// is below the installed one is refused as a rollback: the installed pack
// stays, and the status names the rollback.
TEST_F(UpdateServiceTest, RefusesSignedPackOlderThanTheInstalledOne) {
  UpdateService service(Options());
  repo_.AddTarget(kTarget, Pack(3));
  repo_.Publish();
  WriteRepository();
  ASSERT_TRUE(service.CheckNow({}).ok());
  ASSERT_EQ((*service.ContentJson())["version"], 3);
  const std::string installed = (*service.ContentJson())["pack"].dump();

  repo_.AddTarget(kTarget, Pack(2));
  repo_.Publish();
  WriteRepository();
  Status s = service.CheckNow({});
  EXPECT_EQ(s.code(), ErrorCode::kUpdateRollback) << s.ToString();
  EXPECT_EQ((*service.ContentJson())["version"], 3);
  EXPECT_EQ((*service.ContentJson())["pack"].dump(), installed);
  json status = service.StatusJson();
  EXPECT_EQ(status["lastResult"], "failed");
  EXPECT_EQ(status["lastErrorCode"], std::string(ErrorCodeName(ErrorCode::kUpdateRollback)));
  EXPECT_EQ(status["contentVersion"], 3);

  // A newer content version installs again.
  repo_.AddTarget(kTarget, Pack(4));
  repo_.Publish();
  WriteRepository();
  ASSERT_TRUE(service.CheckNow({}).ok());
  EXPECT_EQ((*service.ContentJson())["version"], 4);
}

// A correctly signed pack with the wrong shape (another packId) is refused.
TEST_F(UpdateServiceTest, RefusesSignedPackOfAnotherPackId) {
  UpdateService service(Options());
  ASSERT_TRUE(service.CheckNow({}).ok());
  repo_.AddTarget(kTarget, Pack(2, "someone-else"));
  repo_.Publish();
  WriteRepository();
  EXPECT_FALSE(service.CheckNow({}).ok());
  EXPECT_EQ((*service.ContentJson())["version"], 1);
}

// Only one updater at a time: while another process holds the lock, a check
// reports update_in_progress and the status says a check is running.
TEST_F(UpdateServiceTest, ReportsInProgressWhileAnotherProcessHoldsTheLock) {
  UpdateServiceOptions options = Options();
  fs::create_directories(options.data_dir);
  const fs::path lock_path = options.data_dir / "update.lock";
  // A child process holds the lock (flock is per open file, so a second
  // descriptor in this process would do too; a process is the real case).
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = open(lock_path.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) _exit(2);
    (void)!write(ready[1], "x", 1);
    pause();  // Killed by the parent.
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  UpdateService service(options);
  Status s = service.CheckNow({});
  EXPECT_EQ(s.code(), ErrorCode::kUpdateInProgress) << s.ToString();
  EXPECT_EQ(service.StatusJson()["checking"], true);
  kill(child, SIGKILL);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  close(ready[0]);
  close(ready[1]);
  EXPECT_TRUE(service.CheckNow({}).ok());
}

// A check's outcome is written while it still holds the update lock, so
// another process's check cannot start in between and be overwritten by
// it. (The outcome's time is the last thing a check reads from its clock;
// the clock here notes whether the lock was held at each reading.)
TEST_F(UpdateServiceTest, OutcomeIsRecordedUnderTheUpdateLock) {
  UpdateServiceOptions options = Options();
  const fs::path lock_path = options.data_dir / "update.lock";
  std::vector<bool> held_at_reading;
  options.clock = [this, &lock_path, &held_at_reading] {
    const int fd = open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
    bool held = false;
    if (fd >= 0) {
      held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
      close(fd);
    }
    held_at_reading.push_back(held);
    return now_;
  };
  UpdateService service(options);
  ASSERT_TRUE(service.CheckNow({}).ok());
  ASSERT_FALSE(held_at_reading.empty());
  EXPECT_TRUE(held_at_reading.back()) << "a success recorded after the lock was released";
  EXPECT_EQ(service.StatusJson()["lastResult"], "ok");

  // A failure after the lock is taken (a tampered pack) too.
  repo_.AddTarget(kTarget, Pack(2));
  repo_.Publish();
  WriteRepository();
  std::ofstream(web_->path() / ServedTargetPath(Pack(2)), std::ios::binary | std::ios::trunc) << Pack(3);
  held_at_reading.clear();
  EXPECT_FALSE(service.CheckNow({}).ok());
  ASSERT_FALSE(held_at_reading.empty());
  EXPECT_TRUE(held_at_reading.back()) << "a failure recorded after the lock was released";
  EXPECT_EQ(service.StatusJson()["lastResult"], "failed");
  EXPECT_FALSE(service.StatusJson()["checking"].get<bool>()) << "released once recorded";
}

// After a failure the next check comes sooner (backoff) but not at once;
// after success it follows the interval.
TEST_F(UpdateServiceTest, SchedulesBackoffAfterFailureAndIntervalAfterSuccess) {
  UpdateServiceOptions options = Options();
  options.repository_url = "https://127.0.0.1:1/";  // Nothing listens there.
  {
    UpdateService failing(options);
    EXPECT_FALSE(failing.CheckNow({}).ok());
    auto due = failing.SecondsUntilDue();
    ASSERT_TRUE(due.has_value());
    EXPECT_GE(*due, 10 * 60);
    EXPECT_LE(*due, 11 * 60);
  }
  UpdateService service(Options());
  ASSERT_TRUE(service.CheckNow({}).ok());
  auto due = service.SecondsUntilDue();
  ASSERT_TRUE(due.has_value());
  EXPECT_GE(*due, 6 * 3600);
  EXPECT_LE(*due, 6 * 3600 + 3600);
  // A shorter interval applies at once, and time passing counts.
  ASSERT_TRUE(service.SavePolicy({.automatic = true, .interval_hours = 1}).ok());
  due = service.SecondsUntilDue();
  ASSERT_TRUE(due.has_value());
  EXPECT_GE(*due, 3600);
  EXPECT_LE(*due, 3600 + 360);
  now_ += 2 * 3600;
  EXPECT_EQ(service.SecondsUntilDue(), 0);
}

// update.status keeps the time of the last successful check and counts the
// failures since, so the security page can say how old the content may be.
TEST_F(UpdateServiceTest, StatusReportsLastSuccessAndConsecutiveFailures) {
  UpdateServiceOptions good = Options();
  UpdateServiceOptions failing = Options();
  failing.repository_url = "https://127.0.0.1:1/";  // Nothing listens there.
  {
    json status = UpdateService(good).StatusJson();
    EXPECT_TRUE(status["lastSuccess"].is_null());
    EXPECT_EQ(status["consecutiveFailures"], 0);
  }
  ASSERT_TRUE(UpdateService(good).CheckNow({}).ok());
  const json succeeded = UpdateService(good).StatusJson();
  ASSERT_TRUE(succeeded["lastSuccess"].is_string());
  EXPECT_EQ(succeeded["lastSuccess"], succeeded["lastCheck"]);
  EXPECT_EQ(succeeded["consecutiveFailures"], 0);
  for (int i = 1; i <= 2; ++i) {
    now_ += 3600;
    EXPECT_FALSE(UpdateService(failing).CheckNow({}).ok());
    json status = UpdateService(failing).StatusJson();
    EXPECT_EQ(status["lastResult"], "failed");
    EXPECT_NE(status["lastCheck"], succeeded["lastCheck"]);
    EXPECT_EQ(status["lastSuccess"], succeeded["lastSuccess"]);
    EXPECT_EQ(status["consecutiveFailures"], i);
  }
  now_ += 3600;
  ASSERT_TRUE(UpdateService(good).CheckNow({}).ok());
  json status = UpdateService(good).StatusJson();
  EXPECT_EQ(status["consecutiveFailures"], 0);
  EXPECT_EQ(status["lastSuccess"], status["lastCheck"]);
  EXPECT_NE(status["lastSuccess"], succeeded["lastSuccess"]);
  // Stored as unix seconds next to lastCheck.
  std::ifstream in(good.data_dir / "update-status.json");
  json stored = json::parse(in);
  EXPECT_EQ(stored["lastSuccess"], now_);
  EXPECT_EQ(stored["consecutiveFailures"], 0);
}

// The methods over the dispatcher: setPolicy persists and is reflected in
// status; a bad interval is refused; content.get returns the pack.
TEST_F(UpdateServiceTest, MethodsSetPolicyAndServeContent) {
  messaging::Dispatcher dispatcher;
  RegisterUpdateMethods(dispatcher, Options());
  messaging::RequestContext ctx;
  ctx.notify = Recorder();
  auto call = [&](const std::string& method, const json& params) {
    json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
    return json::parse(dispatcher.HandleFrame(request.dump(), ctx));
  };
  json reply = call("update.setPolicy", {{"automatic", false}, {"intervalHours", 12}});
  ASSERT_TRUE(reply.contains("result")) << reply.dump();
  EXPECT_EQ(reply["result"]["automatic"], false);
  EXPECT_EQ(reply["result"]["intervalHours"], 12);
  EXPECT_TRUE(reply["result"]["nextCheck"].is_null());
  std::ifstream policy(Options().data_dir / "update-policy.json");
  EXPECT_EQ(json::parse(policy)["intervalHours"], 12);

  reply = call("update.setPolicy", {{"intervalHours", 0}});
  ASSERT_TRUE(reply.contains("error")) << reply.dump();
  EXPECT_EQ(reply["error"]["code"], static_cast<int>(ErrorCode::kInvalidParams));
  // A misspelt setting is refused, not saved as "nothing to change"; null
  // leaves a setting as it is.
  reply = call("update.setPolicy", {{"automatic", true}, {"intervalhours", 6}});
  EXPECT_EQ(reply["error"]["code"], static_cast<int>(ErrorCode::kInvalidParams)) << reply.dump();
  reply = call("update.setPolicy", {{"automatic", true}, {"intervalHours", nullptr}});
  ASSERT_TRUE(reply.contains("result")) << reply.dump();
  EXPECT_EQ(reply["result"]["automatic"], true);
  EXPECT_EQ(reply["result"]["intervalHours"], 12);

  reply = call("update.check", json::object());
  ASSERT_TRUE(reply.contains("result")) << reply.dump();
  EXPECT_EQ(reply["result"]["lastResult"], "ok");
  EXPECT_EQ(reply["result"]["contentVersion"], 1);

  reply = call("content.get", json::object());
  ASSERT_TRUE(reply.contains("result")) << reply.dump();
  EXPECT_EQ(reply["result"]["source"], "update");
  EXPECT_EQ(reply["result"]["pack"]["packId"], "japan-us-trade");
}

// `update --background` honours "automatic off": no check, no status.
TEST_F(UpdateServiceTest, BackgroundCheckRespectsAutomaticOff) {
  UpdateServiceOptions options = Options();
  {
    UpdateService service(options);
    ASSERT_TRUE(service.SavePolicy({.automatic = false, .interval_hours = 6}).ok());
  }
  Result<bool> checked = RunBackgroundCheck(options);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_FALSE(*checked);  // Said so (the CLI prints it), not "finished".
  EXPECT_FALSE(fs::exists(options.data_dir / "update-status.json"));
  EXPECT_FALSE(fs::exists(options.data_dir / "content" / "current.json"));
}

// `update --background` with automatic on installs the pack.
TEST_F(UpdateServiceTest, BackgroundCheckInstallsPack) {
  UpdateServiceOptions options = Options();
  Result<bool> checked = RunBackgroundCheck(options);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_TRUE(*checked);
  EXPECT_TRUE(fs::exists(options.data_dir / "content" / "current.json"));
}

// The background schedule checks by itself once due, announces the new pack,
// and stops cleanly when the service is destroyed.
TEST_F(UpdateServiceTest, BackgroundThreadChecksWhenDueAndStopsCleanly) {
  UpdateServiceOptions options = Options();
  options.initial_delay = std::chrono::milliseconds(10);
  options.scheduler_poll = std::chrono::milliseconds(50);
  auto completed = [this] {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Notification& n : notifications_) {
      if (n.method == "update.completed") return true;
    }
    return false;
  };
  {
    UpdateService service(options);
    service.StartBackground(Recorder());
    service.StartBackground(Recorder());  // Idempotent: still one thread.
    // Bounded wait (20 s) for the first scheduled check.
    for (int i = 0; i < 400 && !completed(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(completed());
    EXPECT_EQ(service.StatusJson()["lastResult"], "ok");
    auto due = service.SecondsUntilDue();
    ASSERT_TRUE(due.has_value());
    EXPECT_GT(*due, 0);  // Not due again right away.
  }
  std::lock_guard<std::mutex> lock(mutex_);
  int completions = 0;
  for (const Notification& n : notifications_) completions += n.method == "update.completed" ? 1 : 0;
  EXPECT_EQ(completions, 1);
}

// A scratch update.json, defaults naming one repository, and none of the
// environment's overrides.
class UpdateConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = bellwether::testing::TempDir::Create();
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(dir).value();
    file = dir_->path() / "update.json";
    defaults.repository_url = "https://updates.example/";
    unsetenv("BELLWETHER_UPDATE_URL");
    unsetenv("BELLWETHER_UPDATE_CA_BUNDLE");
    unsetenv("BELLWETHER_TRUSTED_ROOT");
  }
  std::unique_ptr<bellwether::testing::TempDir> dir_;
  fs::path file;
  UpdateServiceOptions defaults;
};

// Configuration: file values override defaults, the environment overrides
// the file, and a malformed field is an error.
TEST_F(UpdateConfig, FileThenEnvironmentOverrideDefaults) {
  defaults.initial_root = "{}";

  auto none = ApplyUpdateConfig(defaults, file);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->repository_url, "https://updates.example/");

  std::ofstream(file) << R"({"repositoryUrl":"https://127.0.0.1:8443/","caBundle":"/tmp/ca.pem","trustedRoot":"/tmp/root.json","proxy":"http://proxy.test:3128"})";
  auto from_file = ApplyUpdateConfig(defaults, file);
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(from_file->repository_url, "https://127.0.0.1:8443/");
  EXPECT_EQ(from_file->ca_bundle, "/tmp/ca.pem");
  EXPECT_EQ(from_file->trusted_root_path, "/tmp/root.json");
  EXPECT_TRUE(from_file->initial_root.empty());
  EXPECT_EQ(from_file->proxy, "http://proxy.test:3128");

  setenv("BELLWETHER_UPDATE_URL", "https://mirror.example/", 1);
  auto from_env = ApplyUpdateConfig(defaults, file);
  unsetenv("BELLWETHER_UPDATE_URL");
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->repository_url, "https://mirror.example/");

  std::ofstream(file, std::ios::trunc) << R"({"repositoryUrl":42})";
  auto bad = ApplyUpdateConfig(defaults, file);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidParams);
}

// A repository URL with credentials (which would be copied into every
// error, the log and the status reply) and relative file names (which
// depend on where the host was started) are configuration errors.
TEST_F(UpdateConfig, RefusesCredentialsInTheUrlAndRelativePaths) {
  for (const char* config : {R"({"repositoryUrl":"https://reader:s3cret@updates.example/"})",
                             R"({"repositoryUrl":"https://token@updates.example:8443/x"})",
                             R"({"caBundle":"ca.pem"})", R"({"trustedRoot":"./root.json"})"}) {
    std::ofstream(file, std::ios::trunc) << config;
    auto applied = ApplyUpdateConfig(defaults, file);
    ASSERT_FALSE(applied.ok()) << config;
    EXPECT_EQ(applied.status().code(), ErrorCode::kInvalidParams) << config;
    EXPECT_EQ(applied.status().message().find("s3cret"), std::string::npos);
  }
  setenv("BELLWETHER_UPDATE_URL", "https://user:pw@mirror.example/", 1);
  std::ofstream(file, std::ios::trunc) << "{}";
  EXPECT_FALSE(ApplyUpdateConfig(defaults, file).ok());
  unsetenv("BELLWETHER_UPDATE_URL");
  // An @ after the host (in the path or query) is not a credential.
  std::ofstream(file, std::ios::trunc) << R"({"repositoryUrl":"https://updates.example/a@b/?x=@"})";
  EXPECT_TRUE(ApplyUpdateConfig(defaults, file).ok());
}

// Damaged state files (wrong types, absurd numbers) neither crash the
// service nor postpone the next check beyond one interval.
TEST_F(UpdateServiceTest, SurvivesDamagedStateFiles) {
  UpdateServiceOptions options = Options();
  fs::create_directories(options.data_dir / "content");
  std::ofstream(options.data_dir / "update-status.json")
      << R"({"lastCheck":9223372036854775807,"nextCheck":9223372036854775807,"consecutiveFailures":"many","lastResult":7})";
  std::ofstream(options.data_dir / "update-policy.json") << R"({"automatic":"yes","intervalHours":1e9})";
  std::ofstream(options.data_dir / "content" / "current.json") << R"({"version":"two"})";
  UpdateService service(options);
  json status = service.StatusJson();
  EXPECT_EQ(status["lastResult"], "never");
  EXPECT_TRUE(status["lastCheck"].is_null());
  EXPECT_EQ(status["automatic"], true);
  EXPECT_EQ((*service.ContentJson())["source"], "none");
  auto due = service.SecondsUntilDue();
  ASSERT_TRUE(due.has_value());
  EXPECT_LE(*due, 6 * 3600 + 3600);
  Status s = service.CheckNow({});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ((*service.ContentJson())["version"], 1);
}

// A hostile lastCheck (the extremes of int64, a far-future or negative
// time) neither overflows the schedule arithmetic nor postpones the next
// check: a negative one or one well in the future counts as never, one a
// moment ahead as now.
TEST_F(UpdateServiceTest, HostileLastCheckNeverPostponesTheSchedule) {
  UpdateServiceOptions options = Options();
  fs::create_directories(options.data_dir);
  UpdateService service(options);
  const std::int64_t interval = std::int64_t{kDefaultIntervalHours} * 3600;
  auto due_with_last_check = [&](std::int64_t last_check) {
    std::ofstream(options.data_dir / "update-status.json", std::ios::trunc)
        << json{{"lastCheck", last_check}, {"consecutiveFailures", 0}, {"jitterPermille", 0}}.dump();
    return service.SecondsUntilDue();
  };
  for (std::int64_t never : {std::numeric_limits<std::int64_t>::min(), std::int64_t{-1},
                             std::numeric_limits<std::int64_t>::min() + 1}) {
    EXPECT_EQ(due_with_last_check(never), 0) << never;
  }
  // A last check in the future (a clock once set ahead, or a damaged file)
  // would otherwise move ahead of the real clock on every poll and never
  // come due: it counts as never, so the next check runs and rewrites it.
  for (std::int64_t future : {std::numeric_limits<std::int64_t>::max(), now_ + 10 * 365 * 86400,
                              std::numeric_limits<std::int64_t>::max() - 1, now_ + 3600}) {
    EXPECT_EQ(due_with_last_check(future), 0) << future;
  }
  // A moment ahead (another process's clock) counts as now.
  EXPECT_EQ(due_with_last_check(now_ + 60), interval);
  EXPECT_EQ(due_with_last_check(now_ - 3600), interval - 3600);
  json status = service.StatusJson();
  EXPECT_TRUE(status["nextCheck"].is_string());
}

// A pack whose blocks nest `depth` arrays deep (the pack itself adds 4
// levels: object, parts, part, blocks).
std::string PackNestedTo(int depth) {
  json pack = json::parse(Pack(3));
  std::string nested =
      std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']');
  std::string text = pack.dump();
  const std::string blocks = "\"blocks\":[]";
  std::size_t at = text.find(blocks);
  EXPECT_NE(at, std::string::npos);
  return text.replace(at, blocks.size(), "\"blocks\":[" + nested + "]");
}

// A content pack nesting deeper than 64 levels is refused before it is
// parsed (copying it would recurse); a reasonably nested one is fine.
TEST(ContentPack, RefusesTooDeeplyNestedPack) {
  EXPECT_TRUE(ValidateContentPack(PackNestedTo(60), "japan-us-trade").ok());
  for (int depth : {61, 1000, 200000}) {
    auto pack = ValidateContentPack(PackNestedTo(depth), "japan-us-trade");
    ASSERT_FALSE(pack.ok()) << depth;
    EXPECT_EQ(pack.status().code(), ErrorCode::kUpdateVerification);
    EXPECT_NE(pack.status().message().find("nests deeper than 64"), std::string::npos)
        << pack.status().message();
  }
}

// A pack within the size limit whose re-encoding (what content.get sends)
// would not be is refused: 1e9 is written back as 1000000000.0.
TEST(ContentPack, RefusesPackThatGrowsPastTheLimitWhenReencoded) {
  std::string text = json::parse(Pack(3)).dump();
  const std::string blocks = "\"blocks\":[]";
  const std::size_t at = text.find(blocks);
  ASSERT_NE(at, std::string::npos);
  std::string numbers;
  for (int i = 0; i < 150000; ++i) numbers += i == 0 ? "1e9" : ",1e9";
  text.replace(at, blocks.size(), "\"blocks\":[" + numbers + "]");
  ASSERT_LT(text.size(), kMaxContentPackBytes);
  auto pack = ValidateContentPack(text, "japan-us-trade");
  ASSERT_FALSE(pack.ok());
  EXPECT_EQ(pack.status().code(), ErrorCode::kUpdateVerification);
  EXPECT_NE(pack.status().message().find("re-encoded"), std::string::npos) << pack.status().message();
}

// Too deeply nested status and policy files count as damaged: defaults are
// used, a check is due, and the next check rewrites the status file.
TEST_F(UpdateServiceTest, TooDeeplyNestedStateFilesCountAsDamaged) {
  UpdateServiceOptions options = Options();
  fs::create_directories(options.data_dir);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::ofstream(options.data_dir / "update-status.json")
      << R"({"lastCheck":)" << now_ << R"(,"lastResult":"ok","x":)" << deep << "}";
  std::ofstream(options.data_dir / "update-policy.json") << R"({"automatic":false,"x":)" << deep << "}";
  UpdateService service(options);
  json status = service.StatusJson();
  EXPECT_EQ(status["lastResult"], "never");
  EXPECT_TRUE(status["lastCheck"].is_null());
  EXPECT_EQ(status["automatic"], true);
  EXPECT_EQ(service.SecondsUntilDue(), 0);
  Status s = service.CheckNow({});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(service.StatusJson()["lastResult"], "ok");
}

// The content pack shape check.
TEST(ContentPack, ValidatesShape) {
  EXPECT_TRUE(ValidateContentPack(Pack(3), "japan-us-trade").ok());
  EXPECT_FALSE(ValidateContentPack("not json", "japan-us-trade").ok());
  EXPECT_FALSE(ValidateContentPack(Pack(3), "other").ok());
  json pack = json::parse(Pack(3));
  pack["schema"] = 2;
  EXPECT_FALSE(ValidateContentPack(pack.dump(), "japan-us-trade").ok());
  pack = json::parse(Pack(3));
  pack["published"] = "yesterday";
  EXPECT_FALSE(ValidateContentPack(pack.dump(), "japan-us-trade").ok());
}

}  // namespace
}  // namespace bellwether::update

namespace bellwether::update {
namespace {

// A TCP port on loopback that accepts connections into its backlog and
// never answers: a stalled mirror (a TLS handshake there waits until the
// fetcher's own timeouts, 15 s for the connection).
class StalledServer {
 public:
  StalledServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~StalledServer() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// On the reader's port, update.check against a stalled mirror runs in the
// background: the request sent after it is answered at once. Closing the
// port cancels the transfer (Run() returns long before the fetcher's 15 s
// timeouts), the check still gets its reply, and the cancelled check is not
// recorded as a failure.
TEST_F(UpdateServiceTest, StalledCheckDoesNotHoldUpThePortAndClosingCancelsIt) {
  StalledServer stalled;
  ASSERT_NE(stalled.port(), 0);
  UpdateServiceOptions options = Options();
  options.repository_url = "https://127.0.0.1:" + std::to_string(stalled.port()) + "/";
  options.initial_delay = std::chrono::hours(1);  // No scheduled check.
  messaging::Dispatcher dispatcher;
  RegisterUpdateMethods(dispatcher, options);
  dispatcher.Register("test.echo",
                      [](const json& params, messaging::RequestContext&) -> Result<json> { return params; });
  int in[2], out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  auto session = std::make_unique<messaging::HostSession>(in[0], out[1], dispatcher, messaging::CallerInfo{});
  std::future<int> done = std::async(std::launch::async, [&] { return session->Run(); });
  // Whatever fails below, the session's input is closed so Run() (and the
  // future's destructor) can end.
  struct CloseOnExit {
    int& fd;
    ~CloseOnExit() {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  } close_input{in[1]};
  auto send = [&](const json& request) {
    const std::string payload = request.dump();
    const auto length = static_cast<std::uint32_t>(payload.size());
    std::string frame(reinterpret_cast<const char*>(&length), 4);
    frame += payload;
    ASSERT_EQ(::write(in[1], frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  };
  messaging::FrameReader replies(out[0]);
  auto next = [&]() -> json {
    auto frame = replies.Next();
    return frame.ok() && frame->has_value() ? json::parse(**frame) : json();
  };

  send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "update.check"}});
  send({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "test.echo"}, {"params", {{"vault", "still answers"}}}});
  json first = next();
  EXPECT_EQ(first["id"], 2);
  EXPECT_EQ(first["result"]["vault"], "still answers");
  // The check is under way (its thread may take a moment to start).
  bool checking = false;
  for (int id = 3; id < 103 && !checking; ++id) {
    send({{"jsonrpc", "2.0"}, {"id", id}, {"method", "update.status"}});
    json status = next();
    ASSERT_EQ(status["id"], id) << status.dump();
    checking = status["result"]["checking"] == true;
    if (!checking) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(checking);

  ::close(in[1]);  // The browser closes the port.
  in[1] = -1;
  // Well inside the fetcher's 15 s connect timeout.
  const bool ended = done.wait_for(std::chrono::seconds(8)) == std::future_status::ready;
  EXPECT_TRUE(ended) << "closing the port did not cancel the stalled check";
  if (!ended) {
    done.wait();  // The fetcher's own timeouts end it eventually.
  }
  EXPECT_EQ(done.get(), 0);
  json check = next();
  EXPECT_EQ(check["id"], 1);
  EXPECT_TRUE(check.contains("result")) << check.dump();
  EXPECT_FALSE(fs::exists(options.data_dir / "update-status.json")) << "a cancelled check was recorded";
  ::close(in[0]);
  ::close(out[0]);
  ::close(out[1]);
}

// A fresh installation without a repository says so in words, and records it.
TEST(UpdateNotConfigured, CheckReportsMissingRepositoryInWords) {
  auto dir = bellwether::testing::TempDir::Create();
  ASSERT_TRUE(dir.ok());
  UpdateServiceOptions options;
  options.data_dir = (*dir)->path() / "not-yet-created";
  UpdateService service(options);
  Status s = service.CheckNow({});
  EXPECT_EQ(s.code(), ErrorCode::kUpdateNotConfigured);
  nlohmann::json status = service.StatusJson();
  EXPECT_EQ(status["lastResult"], "failed");
  EXPECT_EQ(status["lastErrorCode"], "update_not_configured");
  EXPECT_NE(status["lastError"].get<std::string>().find("not set up"), std::string::npos);
}

}  // namespace
}  // namespace bellwether::update
