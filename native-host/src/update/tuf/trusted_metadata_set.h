// The verifier: a state machine that holds the trusted metadata of one
// update cycle and admits new metadata only if it passes every check of the
// client workflow (spec section 5). Modelled on python-tuf's
// TrustedMetadataSet. It does no I/O: the caller fetches bytes, hands them
// in, and persists them (byte for byte, under unversioned names) only after
// the matching Update* call returned OK.
//
// Order of use for one update cycle:
//   auto set = TrustedMetadataSet::Create(local_root_bytes, start_time);   // 5.1, 5.2
//   loop: set.UpdateRoot(bytes of N+1.root.json) until not found / cap     // 5.3
//   set.FinishRootUpdates()  (5.3.10 expiry, 5.3.11 fast-forward recovery;
//                             UpdateTimestamp calls it if the caller did not)
//   if (!set.cached_timestamp_and_snapshot_invalidated())
//     set.LoadCachedTimestamp(local timestamp.json)  -- error: just ignore it
//   set.UpdateTimestamp(remote timestamp.json)                             // 5.4
//     kUnchanged: same version as cached; keep the cached one
//   set.LoadCachedSnapshot(local snapshot.json)  -- error: ignore, download
//   set.UpdateSnapshot(remote snapshot.json)                               // 5.5
//   set.UpdateTargets(local or remote targets.json)                        // 5.6
//   FindTarget(set, path, loader)  (target_search.h)                       // 5.6.7
//
// Failure of any Update* leaves the set exactly as it was, except where a
// comment says otherwise (an expired timestamp/snapshot stays loaded so it
// still protects against rollback, as in python-tuf), so a cycle can always
// be retried. Error codes: signature/threshold/hash/length/format problems
// -> kUpdateVerification; a version lower than the trusted one, or lower
// than the delegating role lists -> kUpdateRollback (a version *higher* than
// listed is a mix-and-match -> kUpdateVerification); root version not N+1
// -> kUpdateRollback; expired -> kUpdateExpired. Calls out of order ->
// kInternal.
//
// Not thread-safe; one per update cycle.
#ifndef BELLWETHER_UPDATE_TUF_TRUSTED_METADATA_SET_H_
#define BELLWETHER_UPDATE_TUF_TRUSTED_METADATA_SET_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "update/tuf/metadata.h"

namespace bellwether::tuf {

// A role's verified metadata together with its envelope (signatures).
template <typename T>
struct Verified {
  T signed_data;  // Typed "signed" part.
  SignedEnvelope envelope;
};

enum class TimestampOutcome {
  kUpdated,    // New timestamp is now trusted.
  kUnchanged,  // Same version as the trusted one: nothing new (5.4.3.1).
};

class TrustedMetadataSet {
 public:
  struct Options {
    VerificationOptions verification;
  };

  // 5.2: loads the trusted root. It must be well formed and signed by a
  // threshold of its own root keys; its expiry does not matter yet (5.2).
  // `reference_time` is the fixed update start time (5.1) used by every
  // expiry check of this cycle.
  static Result<TrustedMetadataSet> Create(std::string_view root_bytes, TimePoint reference_time,
                                           Options options);
  static Result<TrustedMetadataSet> Create(std::string_view root_bytes, TimePoint reference_time) {
    return Create(root_bytes, reference_time, Options{});
  }

  // 5.3.4-5.3.7: admits root version N+1, signed by a threshold of the
  // trusted root's root keys and of its own. Allowed only before any
  // timestamp is loaded. Expiry is not checked here (5.3.6).
  Status UpdateRoot(std::string_view bytes);

  // 5.3.10 (final root not expired) and 5.3.11 (timestamp/snapshot keys
  // rotated since the root this set was created with -> cached timestamp and
  // snapshot must be deleted; see cached_timestamp_and_snapshot_invalidated).
  // Idempotent; UpdateRoot is refused afterwards.
  Status FinishRootUpdates();

  // True once FinishRootUpdates found that the timestamp or snapshot role's
  // set of keyids differs from the initial root's (a key rotation, 5.3.11;
  // a threshold change alone is not one, and a cached file that no longer
  // meets a raised threshold fails its signature check anyway): the caller MUST
  // delete its persisted timestamp.json and snapshot.json (5.3.11), and the
  // LoadCached* calls refuse them.
  bool cached_timestamp_and_snapshot_invalidated() const { return invalidate_cached_; }

  // The same comparison for the root trusted now, before the root updates
  // are finished: lets the caller delete the cached timestamp and snapshot
  // before it persists a root that rotated their keys, so a chain of root
  // updates cut short (a later root fails to download or verify) cannot
  // leave that root on disk beside them (it would be the next run's
  // initial root, and the rotation would go unseen).
  bool TimestampOrSnapshotKeysRotated() const;

  // 5.4: a new timestamp. Signature (5.4.2), rollback against a trusted
  // timestamp (5.4.3.1: lower -> kUpdateRollback; equal -> kUnchanged and
  // the new one is discarded; 5.4.3.2: snapshot version in it must not
  // decrease), expiry (5.4.4). An expired timestamp is still kept as trusted
  // (for rollback protection of the next attempt) but the call fails with
  // kUpdateExpired and snapshot updates are refused.
  Result<TimestampOutcome> UpdateTimestamp(std::string_view bytes);
  // The persisted timestamp.json: same checks as UpdateTimestamp.
  // Refused (kUpdateVerification) after a 5.3.11 invalidation.
  Status LoadCachedTimestamp(std::string_view bytes);

  // 5.5: a new snapshot. Length/hashes vs the trusted timestamp's snapshot
  // meta (5.5.2), signature (5.5.3), version equals timestamp's (5.5.4;
  // lower -> kUpdateRollback, higher -> kUpdateVerification), no targets/delegated role version decrease or removal
  // vs the trusted snapshot (5.5.5, -> kUpdateRollback), expiry (5.5.6). Like
  // the timestamp, a snapshot that fails only 5.5.4 or 5.5.6 stays loaded
  // for 5.5.5 of the next one, but targets updates are refused.
  Status UpdateSnapshot(std::string_view bytes);
  // The persisted snapshot.json: like UpdateSnapshot but without the hash
  // and length check (it was verified when first downloaded and may be
  // older than the timestamp now lists, in which case this returns
  // kUpdateRollback — the caller then downloads the new one, which is
  // checked against this one for 5.5.5). Refused after 5.3.11 invalidation.
  Status LoadCachedSnapshot(std::string_view bytes);

  // 5.6: top-level targets (same as UpdateDelegatedTargets(bytes, "targets",
  // "root")). Works for the persisted targets.json too: if it is not the
  // version snapshot lists, it is refused and the caller downloads.
  Status UpdateTargets(std::string_view bytes);

  // 5.6 for a delegated role: `delegator_name` must already be trusted and
  // delegate `role_name`; length/hashes vs snapshot meta (5.6.2), signature
  // by a threshold of the delegator's delegation keys (5.6.3), version equals
  // snapshot's (5.6.4; lower -> kUpdateRollback, higher ->
  // kUpdateVerification), expiry (5.6.5).
  Status UpdateDelegatedTargets(std::string_view bytes, std::string_view role_name,
                                std::string_view delegator_name);

  // Trusted metadata; nullptr when not loaded. Pointers stay valid until the
  // same role is replaced.
  const Verified<RootMetadata>& root() const { return root_; }
  const Verified<TimestampMetadata>* timestamp() const { return timestamp_ ? &*timestamp_ : nullptr; }
  const Verified<SnapshotMetadata>* snapshot() const { return snapshot_ ? &*snapshot_ : nullptr; }
  // "targets" or a delegated role name.
  const Verified<TargetsMetadata>* targets(std::string_view role = kTargetsRole) const;

  // The root as of Create (before any UpdateRoot), for 5.3.11.
  std::int64_t initial_root_version() const { return initial_root_version_; }
  TimePoint reference_time() const { return reference_time_; }
  // 5.3.12.
  bool consistent_snapshot() const { return root_.signed_data.consistent_snapshot; }
  // Number of UpdateRoot calls that succeeded this cycle.
  int root_updates() const { return root_updates_; }

 private:
  TrustedMetadataSet() = default;
  Status CheckFinalTimestamp() const;
  Status CheckFinalSnapshot() const;
  Result<TimestampOutcome> LoadTimestamp(std::string_view bytes);
  Status LoadSnapshot(std::string_view bytes, bool cached);

  Options options_;
  TimePoint reference_time_{};
  Verified<RootMetadata> root_;
  std::int64_t initial_root_version_ = 0;
  RoleKeys initial_timestamp_keys_;
  RoleKeys initial_snapshot_keys_;
  bool root_finished_ = false;
  bool invalidate_cached_ = false;
  int root_updates_ = 0;
  std::optional<Verified<TimestampMetadata>> timestamp_;
  std::optional<Verified<SnapshotMetadata>> snapshot_;
  std::map<std::string, Verified<TargetsMetadata>, std::less<>> targets_;
};

}  // namespace bellwether::tuf

#endif  // BELLWETHER_UPDATE_TUF_TRUSTED_METADATA_SET_H_
