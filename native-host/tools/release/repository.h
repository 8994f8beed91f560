// The publisher's side of TUF: make and maintain a repository of static
// files that any web server or CDN can serve (spec section 6, "Repository
// operations"), for the `bellwether-release` tool.
//
// On disk (docs/release.md has the full guide):
//
//   REPO/metadata/1.root.json ... N.root.json   every root ever published (6.1)
//   REPO/metadata/root.json                     the newest root
//   REPO/metadata/N.targets.json, targets.json  (consistent + plain names)
//   REPO/metadata/N.snapshot.json, snapshot.json
//   REPO/metadata/timestamp.json                 always unversioned (6.2.1)
//   REPO/targets/<dir>/<hash>.<name>             one copy per listed hash
//   REPO/targets/<dir>/<name>                    plain copy of the latest
//
//   KEYS/config.json                      key algorithm, expiry policy
//   KEYS/<role>/<keyid>.pem               private keys, 0600, dir 0700
//   KEYS/retired/<role>/<keyid>.pem       keys replaced by `rotate`
//   KEYS/staged-targets.json              targets added but not published
//
// Private keys never go below REPO: Init and Open refuse a KEYS directory
// that is (or resolves to) REPO or a directory inside it, and refuse key
// files readable by group or others.
//
// Every file is written atomically (temporary file, fsync, rename), and a
// publish signs everything first, then writes in dependency order (target
// copies including the plain names, N.targets.json and targets.json,
// N.snapshot.json and snapshot.json, then timestamp.json last), so a client
// with consistent snapshots that reads the repository while a publish runs
// sees either the old or the new snapshot, never a mix. (Without consistent
// snapshots the plain names are replaced in place, so a client in the middle
// of an update can see a mix and fail that one check; see docs/updates.md.)
//
// Failure modes: every operation returns a Status whose message says what
// went wrong and which file was involved; a failed operation may leave new
// content-addressed target copies or unreferenced versioned metadata behind
// (harmless: nothing points at them) but never a half-written file and never
// a timestamp.json that points at missing metadata.
//
// Not thread-safe. One process at a time: a Repository holds an exclusive
// lock on KEYS/lock (flock) from Init/Open until it is destroyed, so a cron
// `refresh-timestamp` cannot interleave with a manual `publish` (another
// process waits up to `lock_wait`, then fails).
#ifndef BELLWETHER_TOOLS_RELEASE_REPOSITORY_H_
#define BELLWETHER_TOOLS_RELEASE_REPOSITORY_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "update/tuf/keys.h"
#include "update/tuf/metadata.h"

namespace bellwether::release {

// The four top-level roles, in the order the tool creates them.
inline constexpr std::array<std::string_view, 4> kTopLevelRoles = {tuf::kRootRole, tuf::kTimestampRole,
                                                                   tuf::kSnapshotRole, tuf::kTargetsRole};

// Default lifetimes. The timestamp is short so a frozen mirror is noticed
// within a day; `refresh-timestamp` from cron keeps it alive. The snapshot
// outlives a week of quiet so a missed `publish` is not an outage.
inline constexpr int kDefaultRootExpiryDays = 365;
inline constexpr int kDefaultTargetsExpiryDays = 90;
inline constexpr int kDefaultSnapshotExpiryDays = 30;
inline constexpr int kDefaultTimestampExpiryDays = 1;

// Upper bounds of the command line (sanity, not security).
inline constexpr int kMaxThreshold = 16;
inline constexpr int kMaxExpiryDays = 10 * 366;
// Largest target file `add` accepts (it is hashed in memory).
inline constexpr std::int64_t kMaxTargetBytes = std::int64_t{1} << 30;

// How long Init/Open wait for another process's lock on KEYS.
inline constexpr std::chrono::milliseconds kDefaultLockWait{15000};

// The time source; tests inject a fixed or shifted clock.
using Clock = std::function<tuf::TimePoint()>;
// The system clock, truncated to whole seconds.
Clock SystemClock();

struct InitOptions {
  tuf::KeyAlgorithm key_algorithm = tuf::KeyAlgorithm::kEd25519;
  // role -> threshold; that many keys are generated. Missing roles get 1.
  std::map<std::string, int, std::less<>> thresholds;
  // role -> lifetime in days. Missing roles get the defaults above.
  std::map<std::string, int, std::less<>> expires_days;
  bool consistent_snapshot = true;
};

struct PublishOptions {
  // Lifetimes for this publish only (role -> days), overriding config.json.
  std::map<std::string, int, std::less<>> expires_days;
  // Re-sign targets (a new version) even if no target changed, e.g. after
  // its key was rotated.
  bool force_targets = false;
};

struct PublishResult {
  bool targets_changed = false;
  std::int64_t targets_version = 0;
  std::int64_t snapshot_version = 0;
  std::int64_t timestamp_version = 0;
};

struct RotateResult {
  std::int64_t root_version = 0;        // The new root's version.
  std::vector<std::string> new_keyids;  // The role's new keys.
  std::vector<std::string> retired_keyids;
  // Set when the rotation re-signed dependent metadata (non-root roles).
  std::optional<PublishResult> published;
};

// A repository opened with its keys. Obtain with Init or Open.
class Repository {
 public:
  // Creates REPO and KEYS (KEYS 0700), generates keys for the four roles
  // (threshold-many each), and writes 1.root.json, root.json and version 1
  // of targets (empty), snapshot and timestamp. Refuses when either
  // directory already holds a repository or keys, or when KEYS is inside
  // REPO.
  static Result<std::unique_ptr<Repository>> Init(const std::filesystem::path& repo,
                                                  const std::filesystem::path& keys,
                                                  const InitOptions& options, Clock clock = SystemClock(),
                                                  std::chrono::milliseconds lock_wait = kDefaultLockWait);
  // Opens an existing repository: reads config.json, the newest root (which
  // must verify with its own keys) and the current timestamp/snapshot/
  // targets, and the private keys the root lists. A timestamp, snapshot or
  // targets file the root's keys do not verify is refused, unless the keys
  // a `rotate` replaced (still in KEYS, retired or not yet moved) verify it
  // (an interrupted rotate): then Open works and Publish or
  // RefreshTimestamp re-signs it. Nothing unverified is ever re-signed.
  static Result<std::unique_ptr<Repository>> Open(const std::filesystem::path& repo,
                                                  const std::filesystem::path& keys,
                                                  Clock clock = SystemClock(),
                                                  std::chrono::milliseconds lock_wait = kDefaultLockWait);

  Repository(const Repository&) = delete;
  Repository& operator=(const Repository&) = delete;
  ~Repository();

  // Stages `file` as target `target_name` (a relative path such as
  // "content/pack.json": no empty, "." or ".." segments, no backslash, no
  // leading '/'): copies it to every consistent-snapshot name
  // targets/<dir>/<hash>.<name> and records it in staged-targets.json.
  // `custom`, when set, must be a JSON object and becomes the entry's
  // "custom" field. Nothing is signed until Publish.
  Status AddTarget(std::string_view target_name, const std::filesystem::path& file,
                   const std::optional<nlohmann::json>& custom);
  // Unstages a target (published again without it on the next Publish).
  Status RemoveTarget(std::string_view target_name);

  // Signs the staged targets as a new targets version when they differ from
  // the published ones (or when forced), then always a new snapshot and a
  // new timestamp (spec 6.4). Writes plain-name copies of every target.
  Result<PublishResult> Publish(const PublishOptions& options = {});

  // Replaces every key of `role` by freshly generated ones (same count) and
  // publishes root N+1, signed by a threshold of the old root keys and of
  // the new root keys (spec 5.3.4, 6.1). For timestamp, snapshot or targets
  // it then re-signs that role and everything that depends on it, so the
  // repository stays verifiable. Replaced private keys move to
  // KEYS/retired/<role>/.
  Result<RotateResult> Rotate(std::string_view role);

  // Re-signs the current timestamp with version+1 and a fresh expiry,
  // pointing at the same snapshot (for a cron job).
  Result<std::int64_t> RefreshTimestamp(std::optional<int> expires_days = std::nullopt);

  const std::filesystem::path& repo_dir() const { return repo_; }
  const std::filesystem::path& keys_dir() const { return keys_; }
  const tuf::RootMetadata& root() const { return root_; }
  std::int64_t timestamp_version() const { return timestamp_version_; }
  std::int64_t snapshot_version() const { return snapshot_version_; }
  std::int64_t targets_version() const { return targets_.header.version; }
  // The private keys this repository holds for `role` (only those the
  // current root lists). For tests that forge metadata with real keys.
  std::vector<tuf::PrivateKey> SigningKeys(std::string_view role) const;

 private:
  Repository() = default;
  struct Config {
    tuf::KeyAlgorithm key_algorithm = tuf::KeyAlgorithm::kEd25519;
    std::map<std::string, int, std::less<>> expires_days;
  };

  std::filesystem::path MetadataDir() const { return repo_ / "metadata"; }
  std::filesystem::path TargetsDir() const { return repo_ / "targets"; }
  tuf::TimePoint ExpiryFor(std::string_view role,
                           const std::map<std::string, int, std::less<>>& overrides) const;
  Status Lock(std::chrono::milliseconds wait);
  Status LoadState();
  Status LoadKeys();
  Status SaveConfig() const;
  Status SaveStaged() const;
  // Signs `signed_json` with the keys of `role` (all of them; at least the
  // threshold must be present) plus `extra` keys; returns the file bytes.
  Result<std::string> SignRole(const nlohmann::json& signed_json, std::string_view role,
                               const std::vector<tuf::PrivateKey>& extra = {}) const;
  Result<std::string> SignTimestamp(const tuf::MetaFile& snapshot_meta, std::int64_t version,
                                    tuf::TimePoint expires) const;
  // Signs and writes timestamp.json; on success the new current timestamp.
  Result<std::string> WriteTimestamp(const tuf::MetaFile& snapshot_meta, std::int64_t version,
                                     tuf::TimePoint expires);

  std::filesystem::path repo_;
  std::filesystem::path keys_;
  int lock_fd_ = -1;  // flock'ed KEYS/lock; closed by the destructor.
  Clock clock_;
  Config config_;
  tuf::RootMetadata root_;
  std::string root_bytes_;
  // Published and verified by Open (or signed by this object): the basis of
  // the next versions, never re-read from REPO.
  tuf::TargetsMetadata targets_;
  std::string targets_bytes_;
  tuf::SnapshotMetadata snapshot_;
  std::map<std::string, tuf::TargetFile> staged_;
  std::int64_t snapshot_version_ = 0;
  std::int64_t timestamp_version_ = 0;
  tuf::MetaFile snapshot_meta_;  // What the current timestamp lists.
  std::map<std::string, std::vector<tuf::PrivateKey>, std::less<>> keys_by_role_;
  // Roles whose current metadata the newest root's keys do not verify.
  std::set<std::string> stale_roles_;
};

struct VerifyReport {
  std::int64_t root_version = 0;
  std::int64_t timestamp_version = 0;
  std::int64_t snapshot_version = 0;
  std::int64_t targets_version = 0;
  std::size_t roles_verified = 0;        // targets + delegated roles.
  std::size_t target_files_checked = 0;  // Every file copy checked.
};

// Verifies a repository directory as a client would (spec section 5 over
// the local files, with the library's TrustedMetadataSet): the root chain
// from `trusted_root` (default REPO/metadata/1.root.json, i.e. trust on
// first use) up to the newest N.root.json, which must equal root.json;
// timestamp, snapshot and targets (and any delegated roles) under the names
// a client would fetch; then every target file copy (consistent names, and
// the plain name when present) against its length and hashes. `now` is the
// fixed update start time for the expiry checks.
Result<VerifyReport> VerifyRepository(const std::filesystem::path& repo,
                                      const std::optional<std::filesystem::path>& trusted_root,
                                      tuf::TimePoint now);

// Validates a target name as AddTarget does (exposed for the CLI and tests).
Status ValidateTargetName(std::string_view target_name);

// Writes `data` to `path` atomically with permission `mode` (temporary file
// in the same directory, fsync, rename, fsync of the directory).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view data, unsigned mode);

// Reads a whole file, failing above `max_bytes`.
Result<std::string> ReadFileLimited(const std::filesystem::path& path, std::int64_t max_bytes);

}  // namespace bellwether::release

#endif  // BELLWETHER_TOOLS_RELEASE_REPOSITORY_H_
