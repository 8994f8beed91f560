#include "update/update_service.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <utility>

#include "common/file_util.h"
#include "common/json_guard.h"
#include "common/log.h"
#include "common/paths.h"
#include "crypto/digest.h"
#include "update/metadata_store.h"
#include "update/tuf/metadata.h"

namespace bellwether::update {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::uint64_t kMaxStateFileBytes = 64 * 1024;
// Deepest nesting of a content pack or state file (the bundled pack nests 11
// levels). Checked before parsing: copying or printing deeper JSON recurses
// and can overflow the stack.
constexpr int kMaxJsonDepth = 64;

bool NestsTooDeeply(std::string_view text) {
  return JsonTextNestsDeeperThan(text, kMaxJsonDepth);
}
// First retry after a failure; doubles per consecutive failure, bounded by
// the policy interval.
constexpr std::int64_t kFirstRetrySeconds = 10 * 60;
// Failures in a row are counted up to this (the backoff reaches the longest
// interval long before).
constexpr std::int64_t kMaxCountedFailures = 30;
// How far ahead of this process's clock a stored last check may be and still
// count as "just now" (processes whose clocks are a moment apart).
constexpr std::int64_t kClockSkewSeconds = 5 * 60;

std::string IsoTime(std::int64_t unix_seconds) {
  return tuf::FormatDateTime(tuf::TimePoint{std::chrono::seconds(unix_seconds)});
}

// An integer field of a state file, which the reader (or a bug) may have
// damaged: anything but an integer counts as absent.
std::optional<std::int64_t> IntField(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

json StringOrNull(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return *it;
}

json IsoOrNull(const json& state, const char* key) {
  std::optional<std::int64_t> value = IntField(state, key);
  // Years 1970..9999 only: a damaged file must not produce nonsense dates.
  if (!value || *value < 0 || *value > 253'402'300'799) return nullptr;
  return IsoTime(*value);
}

Result<json> ReadJsonFile(const fs::path& path) {
  BW_ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadFileIfExists(path, kMaxStateFileBytes));
  if (!bytes) return json(nullptr);
  if (NestsTooDeeply(*bytes)) {
    return Status::Storage(path.string() + " nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  json value = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status::Storage(path.string() + " is not valid JSON");
  return value;
}

std::int64_t RootVersionOf(std::string_view bytes) {
  json value = json::parse(bytes, nullptr, false);
  if (!value.is_object()) return 0;
  auto signed_it = value.find("signed");
  if (signed_it == value.end() || !signed_it->is_object()) return 0;
  auto version = signed_it->find("version");
  if (version == signed_it->end() || !version->is_number_integer()) return 0;
  return version->get<std::int64_t>();
}

// Makes the fetcher used when the embedder supplied none.
FetcherFactory DefaultFetcherFactory(const UpdateServiceOptions& options) {
  CurlFetcherOptions curl;
  curl.ca_bundle = options.ca_bundle;
  curl.allow_insecure_http = options.allow_insecure_http;
  curl.proxy = options.proxy;
  return [curl](const std::atomic<bool>& cancel) -> std::unique_ptr<Fetcher> {
    CurlFetcherOptions with_cancel = curl;
    with_cancel.cancel = &cancel;
    return std::make_unique<CurlFetcher>(with_cancel);
  };
}

// Sends update.progress at most every 1% (and at the end), so a fast
// download does not flood the port.
class ProgressReporter {
 public:
  ProgressReporter(const messaging::NotifyFn& notify, std::string target)
      : notify_(notify), target_(std::move(target)) {}
  void operator()(std::uint64_t done, std::uint64_t total) {
    if (!notify_) return;
    const std::uint64_t step = std::max<std::uint64_t>(total / 100, 16 * 1024);
    if (done != total && done < last_ + step) return;
    last_ = done;
    notify_("update.progress", json{{"target", target_}, {"bytesDone", done}, {"bytesTotal", total}});
  }

 private:
  const messaging::NotifyFn& notify_;
  std::string target_;
  std::uint64_t last_ = 0;
};

}  // namespace

std::string DescribeUpdateError(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return "";
    case ErrorCode::kUpdateNotConfigured:
      return "Automatic updates are not set up on this computer: no update server is configured. "
             "Your current content is kept.";
    case ErrorCode::kUpdateNetwork:
      return "Bellwether could not reach the update server (no connection, or its certificate "
             "was not trusted). It will try again later.";
    case ErrorCode::kUpdateTimeout:
      return "The update server answered too slowly, so the download was stopped. It will try "
             "again later.";
    case ErrorCode::kUpdateNotFound:
      return "The update server does not have the expected update files. It will try again later.";
    case ErrorCode::kUpdateVerification:
      return "An update was refused because it was not correctly signed by the publisher. Your "
             "current content was kept.";
    case ErrorCode::kUpdateExpired:
      return "The update server offered out-of-date update information (the server may be stale "
             "or someone may be holding back updates). Your current content was kept.";
    case ErrorCode::kUpdateRollback:
      return "The update server offered an older version than one already seen, which could be an "
             "attack. Your current content was kept.";
    case ErrorCode::kUpdateTooLarge:
      return "A download was larger than allowed and was stopped. Your current content was kept.";
    case ErrorCode::kUpdateInProgress:
      return "Another Bellwether window or process is already checking for updates.";
    case ErrorCode::kStorage:
    case ErrorCode::kStorageFull:
      return "Bellwether could not save the update on this computer (is the disk full?).";
    default:
      return "The update check failed. Your current content was kept.";
  }
}

Result<json> ValidateContentPack(std::string_view bytes, std::string_view expected_pack_id) {
  auto bad = [](const std::string& why) {
    return Status(ErrorCode::kUpdateVerification, "the content pack is not valid: " + why);
  };
  if (bytes.size() > kMaxContentPackBytes) return bad("it is too large");
  if (NestsTooDeeply(bytes)) return bad("it nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json pack = json::parse(bytes, nullptr, false);
  if (!pack.is_object()) return bad("not a JSON object");
  auto schema = pack.find("schema");
  if (schema == pack.end() || !schema->is_number_integer() || schema->get<std::int64_t>() != 1) {
    return bad("unsupported schema (expected 1)");
  }
  auto pack_id = pack.find("packId");
  if (pack_id == pack.end() || !pack_id->is_string() || pack_id->get<std::string>() != expected_pack_id) {
    return bad("packId is not \"" + std::string(expected_pack_id) + "\"");
  }
  auto version = pack.find("version");
  if (version == pack.end() || !version->is_number_integer() || version->get<std::int64_t>() < 1) {
    return bad("version must be a positive integer");
  }
  auto published = pack.find("published");
  if (published == pack.end() || !published->is_string() ||
      !tuf::ParseDateTime(published->get<std::string>()).ok()) {
    return bad("published must be a date like 2026-01-31T00:00:00Z");
  }
  auto title = pack.find("title");
  if (title == pack.end() || !title->is_string()) return bad("title must be a string");
  auto changes = pack.find("changes");
  if (changes == pack.end() || !changes->is_array()) return bad("changes must be an array");
  auto parts = pack.find("parts");
  if (parts == pack.end() || !parts->is_array() || parts->empty()) return bad("parts must be a non-empty array");
  // content.get sends the pack as this parser writes it back, which can be
  // longer than the file (1e9 is written 1000000000.0): it must still fit in
  // one reply, so the limit applies to that form too.
  if (pack.dump(-1, ' ', false, json::error_handler_t::replace).size() > kMaxContentPackBytes) {
    return bad("it is too large once re-encoded");
  }
  return pack;
}

UpdateService::UpdateService(UpdateServiceOptions options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = SystemClock;
  if (options_.policy_path.empty()) options_.policy_path = options_.data_dir / "update-policy.json";
  if (!options_.fetcher_factory) options_.fetcher_factory = DefaultFetcherFactory(options_);
}

UpdateService::~UpdateService() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void UpdateService::Stop() {
  stop_ = true;
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
  }
  wake_.notify_all();
}

Result<UpdatePolicy> UpdateService::LoadPolicy() const {
  UpdatePolicy policy;
  auto stored = ReadJsonFile(options_.policy_path);
  if (!stored.ok()) {
    // A damaged policy file must not switch updates off: use the defaults.
    log::Warning("update: ignoring policy file: " + stored.status().ToString());
    return policy;
  }
  if (stored->is_object()) {
    if (auto it = stored->find("automatic"); it != stored->end() && it->is_boolean()) {
      policy.automatic = it->get<bool>();
    }
    if (auto it = stored->find("intervalHours"); it != stored->end() && it->is_number_integer()) {
      policy.interval_hours =
          static_cast<int>(std::clamp<std::int64_t>(it->get<std::int64_t>(), kMinIntervalHours, kMaxIntervalHours));
    }
  }
  return policy;
}

Status UpdateService::SavePolicy(const UpdatePolicy& policy) {
  if (policy.interval_hours < kMinIntervalHours || policy.interval_hours > kMaxIntervalHours) {
    return Status::InvalidParams("intervalHours must be between " + std::to_string(kMinIntervalHours) +
                                 " and " + std::to_string(kMaxIntervalHours));
  }
  BW_RETURN_IF_ERROR(paths::EnsurePrivateDir(options_.policy_path.parent_path()));
  json value{{"automatic", policy.automatic}, {"intervalHours", policy.interval_hours}};
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    BW_RETURN_IF_ERROR(WriteFileAtomically(options_.policy_path, value.dump(2) + "\n"));
  }
  wake_.notify_all();  // The schedule may have changed.
  return Status::Ok();
}

json UpdateService::LoadStatusFile() const {
  auto stored = ReadJsonFile(StatusPath());
  json file = stored.ok() && stored->is_object() ? *stored : json::object();
  // Another process may have saved a newer outcome since ours failed to save.
  if (unsaved_status_ &&
      IntField(file, "lastCheck").value_or(-1) < IntField(*unsaved_status_, "lastCheck").value_or(-1)) {
    return *unsaved_status_;
  }
  return file;
}

Status UpdateService::ResetIfAnchorChanged(const std::string& configured_root) {
  // A root file (the one installed with the host, or one named in
  // update.json or the environment) is an anchor by its hash; root bytes
  // compiled in (embedding, tests) are one anchor whatever they are. The
  // repository URL is not part of it: mirrors of one repository share the
  // state and its protection against rollback. A host upgrade that ships a
  // new root file starts over once, from that root.
  const std::string anchor = configured_root.empty()
                                 ? std::string("built-in")
                                 : "sha256:" + crypto::HexEncode(crypto::Sha256(configured_root));
  BW_ASSIGN_OR_RETURN(std::optional<std::string> stored, ReadFileIfExists(AnchorPath(), 1024));
  std::string recorded = stored ? *stored : std::string();
  while (!recorded.empty() && (recorded.back() == '\n' || recorded.back() == ' ')) recorded.pop_back();
  if (stored && recorded != anchor) {
    // Metadata trusted under another root, and content installed from its
    // repository, must not pin or block this one (a demo repository's
    // root or pack version, say). Who can change the configuration can
    // name any root anyway, so starting over gives nothing away.
    log::Info("update: the trust anchor changed; starting over from the configured root");
    std::error_code ec;
    for (const fs::path& dir : {MetadataDir(), ContentDir() / "targets"}) {
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code remove_ec;
        if (it->is_regular_file(remove_ec)) fs::remove(it->path(), remove_ec);
      }
      ec.clear();
    }
    // The schedule too: the first check under the new anchor is due now.
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      unsaved_status_.reset();
    }
    for (const fs::path& file : {CurrentPackPath(), StatusPath()}) {
      fs::remove(file, ec);
      if (ec) return Status::Storage("cannot remove " + file.string() + ": " + ec.message());
    }
  }
  if (!stored || recorded != anchor) {
    BW_RETURN_IF_ERROR(WriteFileAtomically(AnchorPath(), anchor + "\n"));
  }
  return Status::Ok();
}

Status UpdateService::EnsureTrustedRoot() {
  std::string shipped = options_.initial_root;
  std::string configured;
  if (shipped.empty() && !options_.trusted_root_path.empty()) {
    auto read = ReadFileIfExists(options_.trusted_root_path, kDefaultMaxRootBytes);
    if (!read.ok()) return read.status();
    if (read->has_value()) shipped = configured = **read;
  }
  // Only when the anchor is known: a configured root file that is missing
  // leaves the stored state as it is (and the check fails below without one).
  if (!shipped.empty()) BW_RETURN_IF_ERROR(ResetIfAnchorChanged(configured));
  MetadataStore store(MetadataDir());
  BW_ASSIGN_OR_RETURN(std::optional<std::string> local, store.Load(tuf::kRootRole, kDefaultMaxRootBytes));
  if (shipped.empty()) {
    if (local) return Status::Ok();
    return Status(ErrorCode::kUpdateNotConfigured,
                  "no trusted root is installed (expected " + options_.trusted_root_path.string() + ")");
  }
  // A host upgrade may ship a newer root than the one stored; the stored
  // one wins otherwise (it may have rotated past the shipped one).
  if (!local || RootVersionOf(shipped) > RootVersionOf(*local)) {
    auto check = tuf::TrustedMetadataSet::Create(shipped, tuf::TimePoint{});
    if (!check.ok()) return check.status().WithContext("the shipped trusted root is not valid");
    BW_RETURN_IF_ERROR(store.Store(tuf::kRootRole, shipped));
  }
  return Status::Ok();
}

// An exclusive, non-blocking flock held for the object's life.
class UpdateService::FileLock {
 public:
  static Result<std::unique_ptr<FileLock>> TryAcquire(const fs::path& path) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::Storage("cannot open " + path.string() + ": " + strerror(errno));
    // HeldElsewhere() takes the lock shared for an instant; a few short
    // retries keep such a probe from passing for a check in progress.
    int locked = -1;
    for (int attempt = 0; attempt < 5; ++attempt) {
      locked = flock(fd, LOCK_EX | LOCK_NB);
      if (locked == 0 || errno != EWOULDBLOCK) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (locked != 0) {
      int err = errno;
      close(fd);
      if (err == EWOULDBLOCK) {
        return Status(ErrorCode::kUpdateInProgress,
                      "another Bellwether process is checking for updates right now");
      }
      return Status::Storage("cannot lock " + path.string() + ": " + strerror(err));
    }
    return std::unique_ptr<FileLock>(new FileLock(fd));
  }
  // True when another process holds the lock (probe without keeping it).
  static bool HeldElsewhere(const fs::path& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    if (fd_ >= 0) close(fd_);  // Closing releases the flock.
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

Status UpdateService::RunCheckLocked(const messaging::NotifyFn& notify, bool* installed,
                                     std::unique_ptr<FileLock>* lock) {
  *installed = false;
  if (options_.data_dir.empty()) return Status::Internal("the update service has no data directory");
  // First, so even "not configured" is recorded and shown to the reader.
  BW_RETURN_IF_ERROR(paths::EnsurePrivateDir(options_.data_dir));
  if (options_.repository_url.empty()) {
    return Status(ErrorCode::kUpdateNotConfigured, "no update repository is configured");
  }
  BW_RETURN_IF_ERROR(paths::EnsurePrivateDir(MetadataDir()));
  BW_RETURN_IF_ERROR(paths::EnsurePrivateDir(ContentDir() / "targets"));
  BW_ASSIGN_OR_RETURN(*lock, FileLock::TryAcquire(LockPath()));
  BW_RETURN_IF_ERROR(EnsureTrustedRoot());

  MetadataStore store(MetadataDir());
  std::unique_ptr<Fetcher> fetcher = options_.fetcher_factory(stop_);
  if (!fetcher) return Status::Internal("no fetcher");
  UpdaterOptions updater_options;
  updater_options.metadata_base_url = JoinUrl(options_.repository_url, "metadata/");
  updater_options.target_base_url = JoinUrl(options_.repository_url, "targets/");
  updater_options.clock = options_.clock;
  Updater updater(store, *fetcher, updater_options);
  BW_RETURN_IF_ERROR(updater.Refresh());

  const std::string target = TargetName();
  BW_ASSIGN_OR_RETURN(tuf::TargetFile info, updater.GetTargetInfo(target));
  if (info.length < 0 || static_cast<std::uint64_t>(info.length) > kMaxContentPackBytes) {
    return Status(ErrorCode::kUpdateTooLarge, target + " is larger than a content pack may be");
  }
  const fs::path local = ContentDir() / "targets" / tuf::EncodeRoleName(target);
  // Left by a crash: downloads, and copies of current.json (written only
  // under this lock, so none is in progress).
  RemoveStaleTempFiles(local.parent_path());
  RemoveStaleTempFiles(ContentDir());
  if (!Updater::IsCachedTargetValid(info, local)) {
    ProgressReporter progress(notify, target);
    BW_RETURN_IF_ERROR(updater.DownloadTarget(info, local, std::ref(progress)));
  }
  // The bytes are what the publisher signed; the shape check guards the
  // reader against a signed-but-broken pack.
  BW_ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadFileIfExists(local, kMaxContentPackBytes));
  if (!bytes) return Status::Storage("the verified download disappeared");
  // Verify the very bytes that get installed (not only the file as it was
  // when checked).
  BW_RETURN_IF_ERROR(info.VerifyData(*bytes));
  BW_ASSIGN_OR_RETURN(json pack, ValidateContentPack(*bytes, options_.pack_id));

  std::optional<std::string> current;
  {
    auto read = ReadFileIfExists(CurrentPackPath(), kMaxContentPackBytes);
    if (read.ok()) current = std::move(read).value();
  }
  if (current && *current == *bytes) return Status::Ok();  // Up to date.
  if (current) {
    // A damaged (too deep) installed pack has no version to protect.
    json installed_pack = NestsTooDeeply(*current) ? json() : json::parse(*current, nullptr, false);
    if (IntField(installed_pack, "version").value_or(0) > pack["version"].get<std::int64_t>()) {
      return Status(ErrorCode::kUpdateRollback,
                    "the repository offers content version " + pack["version"].dump() +
                        ", older than the installed one");
    }
  }
  BW_RETURN_IF_ERROR(WriteFileAtomically(CurrentPackPath(), *bytes, 0600));
  *installed = true;
  log::Info("update: installed content version " + pack["version"].dump());
  if (notify) notify("update.completed", json{{"contentVersion", pack["version"]}});
  return Status::Ok();
}

void UpdateService::RecordOutcome(const Status& status, bool installed) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  json state = LoadStatusFile();
  const std::int64_t now = options_.clock();
  state["lastCheck"] = now;
  std::int64_t failures =
      std::clamp<std::int64_t>(IntField(state, "consecutiveFailures").value_or(0), 0, kMaxCountedFailures);
  if (status.ok()) {
    state["lastSuccess"] = now;
    state["lastResult"] = installed ? "ok" : "up-to-date";
    state["lastError"] = nullptr;
    state["lastErrorCode"] = nullptr;
    state["lastErrorDetail"] = nullptr;
    failures = 0;
  } else {
    state["lastResult"] = "failed";
    state["lastError"] = DescribeUpdateError(status);
    state["lastErrorCode"] = std::string(ErrorCodeName(status.code()));
    state["lastErrorDetail"] = status.message();
    failures = std::min<std::int64_t>(failures + 1, kMaxCountedFailures);
  }
  state["consecutiveFailures"] = failures;
  // Jitter (a fraction of the delay, drawn once per check) so that many
  // readers do not hit the server in the same second.
  std::random_device random;
  std::uniform_int_distribution<int> permille(0, 100);
  state["jitterPermille"] = permille(random);
  UpdatePolicy policy;
  if (auto loaded = LoadPolicy(); loaded.ok()) policy = *loaded;
  state["nextCheck"] = now + DelayAfterCheck(state, policy);
  Status written = WriteFileAtomically(StatusPath(), state.dump(2) + "\n");
  if (written.ok()) {
    unsaved_status_.reset();
  } else {
    log::Warning("update: cannot save status: " + written.ToString());
    unsaved_status_ = state;
  }
}

Status UpdateService::CheckNow(const messaging::NotifyFn& notify) {
  std::unique_lock<std::mutex> guard(check_mutex_, std::try_to_lock);
  if (!guard.owns_lock()) {
    return Status(ErrorCode::kUpdateInProgress, "an update check is already running");
  }
  checking_ = true;
  bool installed = false;
  Status status;
  std::unique_ptr<FileLock> lock;  // Held until the outcome is recorded.
  try {
    status = RunCheckLocked(notify, &installed, &lock);
  } catch (const std::exception& e) {
    // Nothing below should throw; if it does, the background thread must
    // not take the host down with it.
    status = Status::Internal(std::string("unexpected error: ") + e.what());
  }
  checking_ = false;
  if (status.code() == ErrorCode::kUpdateInProgress) return status;  // Not our check.
  if (stop_ && (status.code() == ErrorCode::kUpdateNetwork || status.code() == ErrorCode::kUpdateTimeout)) {
    // A transfer cut short by Stop() says nothing about the repository, so
    // neither the status file nor the retry backoff changes. (Any other
    // outcome, a verification failure above all, is recorded as usual.)
    log::Info("update: check cancelled: the host is shutting down");
    return status;
  }
  if (!status.ok()) log::Warning("update: check failed: " + status.ToString());
  RecordOutcome(status, installed);
  return status;
}

std::int64_t UpdateService::DelayAfterCheck(const json& state, const UpdatePolicy& policy) {
  // The interval, or after failures an exponential backoff bounded by it.
  const std::int64_t interval = std::int64_t{policy.interval_hours} * 3600;
  const std::int64_t failures =
      std::clamp<std::int64_t>(IntField(state, "consecutiveFailures").value_or(0), 0, kMaxCountedFailures);
  std::int64_t delay = interval;
  if (failures > 0) delay = std::min<std::int64_t>(interval, kFirstRetrySeconds << (failures - 1));
  const std::int64_t jitter = std::clamp<std::int64_t>(IntField(state, "jitterPermille").value_or(0), 0, 100);
  return delay + delay * jitter / 1000;
}

std::optional<std::int64_t> UpdateService::SecondsUntilDue() {
  UpdatePolicy policy;
  if (auto loaded = LoadPolicy(); loaded.ok()) policy = *loaded;
  if (!policy.automatic) return std::nullopt;
  json state;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    state = LoadStatusFile();
  }
  std::optional<std::int64_t> last = IntField(state, "lastCheck");
  if (!last) return 0;  // Never checked (or a damaged file): due now.
  const std::int64_t now = std::max<std::int64_t>(0, options_.clock());
  // Computed from the current policy, so a new interval applies at once. A
  // clock that went backwards (or a damaged file) must not postpone updates
  // for years: a last check well in the future (a clock that was set ahead
  // when it ran, or a damaged file) counts as never, so the check runs now
  // and stores the real time; one a little ahead (another process's clock
  // a moment apart) counts as now. A negative one (INT64_MIN in a damaged
  // file) counts as never, and the clamp keeps the arithmetic below far
  // from overflow.
  if (*last > now + kClockSkewSeconds) return 0;
  const std::int64_t last_check = std::clamp<std::int64_t>(*last, 0, now);
  const std::int64_t due = last_check + DelayAfterCheck(state, policy);
  return std::max<std::int64_t>(0, due - now);
}

json UpdateService::StatusJson() {
  UpdatePolicy policy;
  if (auto loaded = LoadPolicy(); loaded.ok()) policy = *loaded;
  json state;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    state = LoadStatusFile();
  }
  json reply;
  reply["automatic"] = policy.automatic;
  reply["intervalHours"] = policy.interval_hours;
  reply["lastCheck"] = IsoOrNull(state, "lastCheck");
  reply["lastResult"] = StringOrNull(state, "lastResult");
  if (reply["lastResult"].is_null()) reply["lastResult"] = "never";
  reply["lastError"] = StringOrNull(state, "lastError");
  reply["lastErrorCode"] = StringOrNull(state, "lastErrorCode");
  // The last check that ended well, so a reader sees how old their content
  // may be while checks fail. A status file from before lastSuccess was
  // kept: a successful last check is the last success.
  reply["lastSuccess"] = IsoOrNull(state, "lastSuccess");
  if (reply["lastSuccess"].is_null() &&
      (reply["lastResult"] == "ok" || reply["lastResult"] == "up-to-date")) {
    reply["lastSuccess"] = reply["lastCheck"];
  }
  reply["consecutiveFailures"] =
      std::clamp<std::int64_t>(IntField(state, "consecutiveFailures").value_or(0), 0, kMaxCountedFailures);
  reply["contentVersion"] = nullptr;
  reply["contentPublished"] = nullptr;
  if (auto content = ContentJson(); content.ok() && (*content)["pack"].is_object()) {
    reply["contentVersion"] = (*content)["pack"]["version"];
    reply["contentPublished"] = (*content)["pack"]["published"];
  }
  if (policy.automatic) {
    auto seconds = SecondsUntilDue();
    reply["nextCheck"] = IsoTime(options_.clock() + seconds.value_or(0));
  } else {
    reply["nextCheck"] = nullptr;
  }
  reply["repository"] = options_.repository_url;
  reply["checking"] = checking_.load() || FileLock::HeldElsewhere(LockPath());
  return reply;
}

Result<json> UpdateService::ContentJson() {
  auto read = ReadFileIfExists(CurrentPackPath(), kMaxContentPackBytes);
  if (!read.ok()) return read.status();
  if (read->has_value()) {
    // current.json was validated before it was installed; re-validate so a
    // damaged file falls back to the bundled pack instead of breaking the
    // reader.
    auto pack = ValidateContentPack(**read, options_.pack_id);
    if (pack.ok()) {
      return json{{"source", "update"}, {"version", (*pack)["version"]}, {"pack", *pack}};
    }
    log::Warning("update: installed content pack unusable: " + pack.status().ToString());
  }
  return json{{"source", "none"}, {"version", nullptr}, {"pack", nullptr}};
}

void UpdateService::StartBackground(messaging::NotifyFn notify) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this, notify = std::move(notify)] { BackgroundLoop(notify); });
}

void UpdateService::BackgroundLoop(messaging::NotifyFn notify) {
  auto sleep_for = [this](std::chrono::milliseconds duration) {
    std::unique_lock<std::mutex> lock(wake_mutex_);
    wake_.wait_for(lock, duration, [this] { return stop_.load(); });
  };
  sleep_for(options_.initial_delay);
  while (!stop_) {
    std::optional<std::int64_t> due = SecondsUntilDue();
    if (due && *due == 0) {
      CheckNow(notify);
      // Never two checks back to back, even if the status could not be
      // saved or someone else holds the lock.
      sleep_for(options_.scheduler_poll);
      continue;
    }
    std::chrono::milliseconds wait = options_.scheduler_poll;
    if (due) {
      // Bounded before the multiplication: the wait never exceeds the poll.
      const std::int64_t poll_seconds = options_.scheduler_poll.count() / 1000 + 1;
      wait = std::min(wait, std::chrono::milliseconds(std::min(*due, poll_seconds) * 1000));
    }
    sleep_for(wait);
  }
}

Result<UpdateServiceOptions> ApplyUpdateConfig(UpdateServiceOptions defaults,
                                               const fs::path& config_file) {
  UpdateServiceOptions options = std::move(defaults);
  BW_ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadFileIfExists(config_file, kMaxStateFileBytes));
  if (bytes) {
    json config = NestsTooDeeply(*bytes) ? json() : json::parse(*bytes, nullptr, false);
    if (!config.is_object()) return Status::InvalidParams(config_file.string() + " is not a JSON object");
    auto string_field = [&](const char* name, auto apply) -> Status {
      auto it = config.find(name);
      if (it == config.end()) return Status::Ok();
      if (!it->is_string() || it->template get<std::string>().empty()) {
        return Status::InvalidParams(config_file.string() + ": \"" + name + "\" must be a non-empty string");
      }
      apply(it->template get<std::string>());
      return Status::Ok();
    };
    BW_RETURN_IF_ERROR(string_field("repositoryUrl", [&](std::string v) { options.repository_url = std::move(v); }));
    BW_RETURN_IF_ERROR(string_field("proxy", [&](std::string v) { options.proxy = std::move(v); }));
    BW_RETURN_IF_ERROR(string_field("caBundle", [&](std::string v) { options.ca_bundle = std::move(v); }));
    BW_RETURN_IF_ERROR(string_field("trustedRoot", [&](std::string v) {
      options.trusted_root_path = v;
      options.initial_root.clear();
    }));
    if (auto it = config.find("allowLoopbackHttp"); it != config.end()) {
      if (!it->is_boolean()) {
        return Status::InvalidParams(config_file.string() + ": \"allowLoopbackHttp\" must be true or false");
      }
      options.allow_insecure_http = it->get<bool>();
    }
  }
  if (const char* url = std::getenv("BELLWETHER_UPDATE_URL"); url != nullptr && *url != '\0') {
    options.repository_url = url;
  }
  if (const char* ca = std::getenv("BELLWETHER_UPDATE_CA_BUNDLE"); ca != nullptr && *ca != '\0') {
    options.ca_bundle = ca;
  }
  if (const char* root = std::getenv("BELLWETHER_TRUSTED_ROOT"); root != nullptr && *root != '\0') {
    options.trusted_root_path = root;
    options.initial_root.clear();
  }
  // Files are named from the root: a relative name would resolve against
  // whatever directory a browser or a timer started the host in.
  const std::pair<const char*, fs::path> files[] = {{"caBundle", fs::path(options.ca_bundle)},
                                                    {"trustedRoot", options.trusted_root_path}};
  for (const auto& [name, path] : files) {
    if (!path.empty() && !path.is_absolute()) {
      return Status::InvalidParams(std::string(name) + " must be an absolute path, not " + path.string());
    }
  }
  // Credentials in the URL would be written into every error message, the
  // status file, the log and the extension's status reply.
  if (const std::string& url = options.repository_url; !url.empty()) {
    const std::size_t scheme = url.find("://");
    const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
    const std::size_t end = url.find_first_of("/?#", start);
    if (url.substr(start, end == std::string::npos ? std::string::npos : end - start).find('@') !=
        std::string::npos) {
      return Status::InvalidParams("repositoryUrl must not contain a user name or password");
    }
  }
  return options;
}

Result<bool> RunBackgroundCheck(UpdateServiceOptions options) {
  UpdateService service(std::move(options));
  BW_ASSIGN_OR_RETURN(UpdatePolicy policy, service.LoadPolicy());
  if (!policy.automatic) {
    // The reader turned automatic updates off; a timer must respect that.
    log::Info("update: automatic updates are off; not checking");
    return false;
  }
  BW_RETURN_IF_ERROR(service.CheckNow({}));
  return true;
}

}  // namespace bellwether::update
