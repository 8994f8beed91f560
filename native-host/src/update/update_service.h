// The product's update service: keeps the analysis content (a "content
// pack", docs/content-pack.md) up to date from a TUF repository, by itself.
//
// Files under UpdateServiceOptions::data_dir (all written atomically):
//   tuf-metadata/            trusted TUF metadata (MetadataStore)
//   content/targets/<name>   the last verified download of each target
//   content/current.json     the pack the reader shows (verified, installed)
//   update-policy.json       {"automatic":bool,"intervalHours":n}
//   update-status.json       last check, last success, result, error,
//                            failures in a row, next check
//   update.lock              flock: one updater at a time across processes
//
// A check: take the lock (non-blocking; busy -> kUpdateInProgress), run the
// TUF workflow (Updater), fetch content/<packId>.json (skipped when the
// verified local copy still matches), validate the pack's shape, and only
// then replace current.json. Any failure keeps the previous good pack.
//
// Scheduling: StartBackground() runs one thread that checks when due:
// every intervalHours after the last check (plus up to 10% jitter), sooner
// after a failure with exponential backoff (10 min, 20 min, ... bounded by
// the interval). The thread stops, cancelling any transfer, when the service
// is destroyed.
//
// Thread-safe.
#ifndef BELLWETHER_UPDATE_UPDATE_SERVICE_H_
#define BELLWETHER_UPDATE_UPDATE_SERVICE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "messaging/dispatcher.h"
#include "update/curl_fetcher.h"
#include "update/fetcher.h"
#include "update/updater.h"

namespace bellwether::update {

inline constexpr int kDefaultIntervalHours = 6;
inline constexpr int kMinIntervalHours = 1;
inline constexpr int kMaxIntervalHours = 24 * 7;
// The content pack the host keeps current (target "content/<id>.json").
inline constexpr std::string_view kDefaultPackId = "japan-us-trade";
// A content pack larger than this is refused (it must fit in one reply).
inline constexpr std::uint64_t kMaxContentPackBytes = 768 * 1024;

// Makes the fetcher for one check. `cancel` becomes true when the service
// shuts down; a fetcher should abort its transfer then.
using FetcherFactory = std::function<std::unique_ptr<Fetcher>(const std::atomic<bool>& cancel)>;

struct UpdateServiceOptions {
  // Where the service keeps its files (see the file comment). Required.
  std::filesystem::path data_dir;
  // Repository base URL: metadata under <url>/metadata/, targets under
  // <url>/targets/ (the layout bellwether-release writes). Required.
  std::string repository_url;
  // PEM CA bundle for the repository's TLS; empty = the system store.
  std::string ca_bundle;
  // Explicit proxy ("http://proxy:3128"); empty = libcurl's environment
  // variables (https_proxy, no_proxy).
  std::string proxy;
  // The root.json shipped with the host (trust anchor, spec 5.2). Used when
  // the data dir has no trusted root yet, or holds an older version.
  std::filesystem::path trusted_root_path;
  // Alternative to trusted_root_path: the root's bytes (tests, embedding).
  std::string initial_root;
  // Default <data_dir>/update-policy.json.
  std::filesystem::path policy_path;
  std::string pack_id = std::string(kDefaultPackId);
  // Unix seconds; default time(nullptr).
  Clock clock = SystemClock;
  // Default: a CurlFetcher with ca_bundle (and loopback http only when
  // allow_insecure_http, for tests and the README's demo).
  FetcherFactory fetcher_factory;
  bool allow_insecure_http = false;
  // Background thread: first check this long after start when one is due,
  // then re-evaluates the schedule at least every `scheduler_poll`.
  std::chrono::milliseconds initial_delay{10'000};
  std::chrono::milliseconds scheduler_poll{60'000};
};

struct UpdatePolicy {
  bool automatic = true;
  int interval_hours = kDefaultIntervalHours;
};

class UpdateService {
 public:
  explicit UpdateService(UpdateServiceOptions options);
  ~UpdateService();  // Stops the background thread (cancels a transfer).
  UpdateService(const UpdateService&) = delete;
  UpdateService& operator=(const UpdateService&) = delete;

  // Runs one check now. `notify` (may be empty) receives update.progress and
  // update.completed. Returns the check's outcome; kUpdateInProgress when
  // another thread or process is checking.
  Status CheckNow(const messaging::NotifyFn& notify);

  // The update.status reply (see docs/updates.md).
  nlohmann::json StatusJson();
  // The content.get reply.
  Result<nlohmann::json> ContentJson();

  Result<UpdatePolicy> LoadPolicy() const;
  Status SavePolicy(const UpdatePolicy& policy);

  // Starts the scheduler thread once (later calls do nothing).
  void StartBackground(messaging::NotifyFn notify);
  // Stops for good: the scheduler ends and a running check's transfer is
  // cancelled (the check then returns an error and is not recorded as a
  // failure). The destructor does this too; the host calls it when the
  // browser closes the port, before it waits for an update.check.
  void Stop();

  // Seconds until the next scheduled check given the persisted state (0 if
  // due); nullopt when automatic updates are off. Exposed for tests.
  std::optional<std::int64_t> SecondsUntilDue();

 private:
  class FileLock;
  // The check itself. `lock` receives the update lock once it is taken: the
  // caller records the outcome before letting it go, so no other process's
  // check can start in between and have its outcome overwritten.
  Status RunCheckLocked(const messaging::NotifyFn& notify, bool* installed, std::unique_ptr<FileLock>* lock);
  Status EnsureTrustedRoot();
  // Starts over (trusted metadata, downloads and installed pack deleted)
  // when the configured trust anchor is not the one the stored state grew
  // from; see docs/updates.md, "Changing the trust anchor".
  Status ResetIfAnchorChanged(const std::string& configured_root);
  void RecordOutcome(const Status& status, bool installed);
  nlohmann::json LoadStatusFile() const;
  // Seconds from the last check to the next one, for the persisted state.
  static std::int64_t DelayAfterCheck(const nlohmann::json& state, const UpdatePolicy& policy);
  void BackgroundLoop(messaging::NotifyFn notify);

  std::filesystem::path MetadataDir() const { return options_.data_dir / "tuf-metadata"; }
  std::filesystem::path ContentDir() const { return options_.data_dir / "content"; }
  std::filesystem::path CurrentPackPath() const { return ContentDir() / "current.json"; }
  std::filesystem::path StatusPath() const { return options_.data_dir / "update-status.json"; }
  std::filesystem::path LockPath() const { return options_.data_dir / "update.lock"; }
  std::filesystem::path AnchorPath() const { return options_.data_dir / "update-anchor"; }
  std::string TargetName() const { return "content/" + options_.pack_id + ".json"; }

  UpdateServiceOptions options_;
  std::mutex check_mutex_;      // Held for the whole of one check.
  std::atomic<bool> checking_{false};
  std::mutex state_mutex_;      // Guards the files below and the thread.
  // The last outcome when it could not be saved (a full disk, a read-only
  // data directory): the schedule, and its backoff, go on from it rather
  // than from an older or missing file. Guarded by state_mutex_.
  std::optional<nlohmann::json> unsaved_status_;
  std::atomic<bool> stop_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

// Applies the reader's configuration on top of `defaults` (the values the
// host was built with): first the JSON file `config_file` if it exists,
//   {"repositoryUrl": "https://...", "caBundle": "/path/ca.pem",
//    "trustedRoot": "/path/root.json", "proxy": "http://proxy:3128",
//    "allowLoopbackHttp": false}
// then the environment variables BELLWETHER_UPDATE_URL,
// BELLWETHER_UPDATE_CA_BUNDLE and BELLWETHER_TRUSTED_ROOT. A malformed file
// is an error (kInvalidParams naming the field), never silently ignored.
Result<UpdateServiceOptions> ApplyUpdateConfig(UpdateServiceOptions defaults,
                                               const std::filesystem::path& config_file);

// One check for `bellwether-host update --background` (systemd timer, cron):
// no browser, no notifications. Honours the lock and the policy: false when
// automatic updates are off and nothing was checked, else the outcome.
Result<bool> RunBackgroundCheck(UpdateServiceOptions options);

// Words a reader understands for a failed check (status.lastError).
std::string DescribeUpdateError(const Status& status);

// Checks the content-pack shape (schema 1, packId, version, published,
// title, changes, parts). Returns the parsed pack.
Result<nlohmann::json> ValidateContentPack(std::string_view bytes, std::string_view expected_pack_id);

}  // namespace bellwether::update

#endif  // BELLWETHER_UPDATE_UPDATE_SERVICE_H_
