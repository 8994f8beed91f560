// The TUF client workflow (spec section 5) over the pure verifier
// (tuf::TrustedMetadataSet), a Fetcher and a MetadataStore:
//
//   5.1  one fixed start time for every expiry check of the cycle (from the
//        injected clock; by default the C library's time(), so `faketime`
//        works on the command-line client)
//   5.2  trusted root from the store (root.json must be there)
//   5.3  root rotation: N+1.root.json until "not found", at most
//        max_root_rotations; each accepted root persisted; 5.3.11 deletes
//        the persisted timestamp/snapshot after a key rotation
//   5.4  timestamp.json (size-capped), persisted when newer
//   5.5  snapshot: the persisted one if it still matches the timestamp,
//        else N.snapshot.json (consistent snapshots) or snapshot.json
//   5.6  targets and, on demand, delegated roles (pre-order DFS of
//        tuf::FindTarget), each from the store if still current, else
//        downloaded; each persisted after it is accepted
//   5.7  a target downloaded to at most its listed length, its hashes checked
//        while streaming into a temporary file that is renamed into place
//        only after verification
//
// Every failure leaves the store with metadata that is still trusted (a file
// is only written after the verifier accepted it), so the next cycle starts
// from a good state (spec 5, introduction).
//
// One Updater per update cycle (it may download several targets);
// not thread-safe.
#ifndef BELLWETHER_UPDATE_UPDATER_H_
#define BELLWETHER_UPDATE_UPDATER_H_

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "update/fetcher.h"
#include "update/metadata_store.h"
#include "update/tuf/defaults.h"
#include "update/tuf/metadata.h"
#include "update/tuf/target_search.h"
#include "update/tuf/trusted_metadata_set.h"

namespace bellwether::update {

// 5.3.3 Y: how many root versions one cycle may step through. Low enough to
// bound the work an attacker can cause, far above a real rotation history.
inline constexpr int kDefaultMaxRootRotations = 32;
// Size limits per role (5.3.3 W, 5.4.1 X, 5.5.1 Y, 5.6.1 Z), from the
// verifier's defaults so both halves agree.
inline constexpr std::uint64_t kDefaultMaxRootBytes = std::uint64_t{tuf::kDefaultMaxRootBytes};
inline constexpr std::uint64_t kDefaultMaxTimestampBytes = std::uint64_t{tuf::kDefaultMaxTimestampBytes};
inline constexpr std::uint64_t kDefaultMaxSnapshotBytes = std::uint64_t{tuf::kDefaultMaxSnapshotBytes};
inline constexpr std::uint64_t kDefaultMaxTargetsBytes = std::uint64_t{tuf::kDefaultMaxTargetsBytes};

// Unix seconds; the default reads time(nullptr).
using Clock = std::function<std::int64_t()>;
inline std::int64_t SystemClock() { return static_cast<std::int64_t>(std::time(nullptr)); }

struct UpdaterOptions {
  // Where N.root.json, timestamp.json, ... live (with or without a trailing
  // slash).
  std::string metadata_base_url;
  // Where target files live; the target path is appended.
  std::string target_base_url;
  Clock clock = SystemClock;
  int max_root_rotations = kDefaultMaxRootRotations;
  std::uint64_t max_root_bytes = kDefaultMaxRootBytes;
  std::uint64_t max_timestamp_bytes = kDefaultMaxTimestampBytes;
  std::uint64_t max_snapshot_bytes = kDefaultMaxSnapshotBytes;
  std::uint64_t max_targets_bytes = kDefaultMaxTargetsBytes;
  std::size_t max_delegated_roles = tuf::kDefaultMaxRolesVisited;
  tuf::TrustedMetadataSet::Options verification;
};

class Updater {
 public:
  // `store` and `fetcher` must outlive the Updater.
  Updater(MetadataStore& store, Fetcher& fetcher, UpdaterOptions options);

  // 5.1-5.6.6: brings root, timestamp, snapshot and top-level targets up to
  // date. Call once per cycle; later calls return the first result.
  Status Refresh();

  // 5.6.7: the trusted entry for `target_path`, searching delegations
  // (refreshes first if needed). kNotFound when no role lists the target.
  Result<tuf::TargetFile> GetTargetInfo(std::string_view target_path);

  // True when `file` exists and matches `info`'s length and hashes.
  static bool IsCachedTargetValid(const tuf::TargetFile& info, const std::filesystem::path& file);

  // 5.7: downloads the target into `destination` (its directory must
  // exist). At most info.length bytes are accepted; length and hashes are
  // verified before the file is renamed into place; a failure leaves the
  // previous file at `destination` untouched.
  Status DownloadTarget(const tuf::TargetFile& info, const std::filesystem::path& destination,
                        const ProgressFn& progress = {});

  // The verifier, after a successful Refresh(); nullptr before.
  const tuf::TrustedMetadataSet* trusted() const { return set_ ? &*set_ : nullptr; }

 private:
  Status DoRefresh();
  Status UpdateRootChain();
  Status UpdateTimestamp();
  Status UpdateSnapshot();
  // Top-level or delegated targets, from the store if current.
  Status LoadTargets(const std::string& role, const std::string& delegator);
  // The metadata URL of `role`, versioned when consistent snapshots are on.
  std::string MetadataUrl(std::string_view role, std::optional<std::int64_t> version) const;

  MetadataStore& store_;
  Fetcher& fetcher_;
  UpdaterOptions options_;
  std::optional<tuf::TrustedMetadataSet> set_;
  std::optional<Status> refresh_status_;
};

// Percent-encodes each segment of a target path for a URL, keeping '/'.
std::string EncodeUrlPath(std::string_view path);

}  // namespace bellwether::update

#endif  // BELLWETHER_UPDATE_UPDATER_H_
