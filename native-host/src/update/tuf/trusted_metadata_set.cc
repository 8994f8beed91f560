#include "update/tuf/trusted_metadata_set.h"

#include <set>
#include <utility>

namespace bellwether::tuf {
namespace {

Status Verification(std::string message) {
  return {ErrorCode::kUpdateVerification, std::move(message)};
}
Status Rollback(std::string message) { return {ErrorCode::kUpdateRollback, std::move(message)}; }
Status Expired(std::string role, TimePoint expires) {
  return {ErrorCode::kUpdateExpired,
          role + " metadata expired at " + FormatDateTime(expires) + " (possible freeze attack)"};
}
Status OutOfOrder(std::string message) { return Status::Internal(std::move(message)); }

// Parses `bytes` into an envelope and typed role `T`.
template <typename T>
Result<Verified<T>> ParseRole(std::string_view bytes, std::string_view role) {
  auto envelope = SignedEnvelope::Parse(bytes);
  if (!envelope.ok()) return envelope.status().WithContext(role);
  auto parsed = T::FromJson(envelope->signed_json());
  if (!parsed.ok()) return parsed.status().WithContext(role);
  return Verified<T>{std::move(parsed).value(), std::move(envelope).value()};
}

// A version compared with the one the delegating role lists: lower is a
// rollback, higher a mix-and-match.
Status CheckListedVersion(std::string_view role, std::int64_t actual, std::int64_t listed) {
  if (actual < listed) {
    return Rollback(std::string(role) + " version " + std::to_string(actual) +
                    " is older than the listed " + std::to_string(listed));
  }
  if (actual > listed) {
    return Verification(std::string(role) + " version " + std::to_string(actual) +
                        " does not match the listed " + std::to_string(listed));
  }
  return Status::Ok();
}

std::set<std::string> KeyIdSet(const RoleKeys& role) {
  return {role.keyids.begin(), role.keyids.end()};
}

}  // namespace

Result<TrustedMetadataSet> TrustedMetadataSet::Create(std::string_view root_bytes,
                                                      TimePoint reference_time, Options options) {
  TrustedMetadataSet set;
  set.options_ = options;
  set.reference_time_ = reference_time;  // 5.1: fixed update start time.
  // 5.2: load the trusted root. It is trusted because it shipped out of
  // band, but it must still be consistent: signed by its own root keys.
  BW_ASSIGN_OR_RETURN(set.root_, ParseRole<RootMetadata>(root_bytes, kRootRole));
  const RootMetadata& root = set.root_.signed_data;
  BW_RETURN_IF_ERROR(VerifyThreshold(set.root_.envelope, kRootRole, root.keys,
                                     *root.FindRole(kRootRole), options.verification));
  set.initial_root_version_ = root.header.version;
  set.initial_timestamp_keys_ = *root.FindRole(kTimestampRole);
  set.initial_snapshot_keys_ = *root.FindRole(kSnapshotRole);
  return set;
}

Status TrustedMetadataSet::UpdateRoot(std::string_view bytes) {
  if (root_finished_ || timestamp_) {
    return OutOfOrder("root cannot be updated after timestamp processing started");
  }
  BW_ASSIGN_OR_RETURN(Verified<RootMetadata> next, ParseRole<RootMetadata>(bytes, kRootRole));
  const RootMetadata& trusted = root_.signed_data;
  // 5.3.4 (1): signed by a threshold of the trusted root's root keys.
  BW_RETURN_IF_ERROR(VerifyThreshold(next.envelope, "new root (by trusted root keys)",
                                     trusted.keys, *trusted.FindRole(kRootRole),
                                     options_.verification));
  // 5.3.5: version exactly N+1 (no skipping, no replay).
  if (next.signed_data.header.version != trusted.header.version + 1) {
    return Rollback("root version " + std::to_string(next.signed_data.header.version) +
                    " is not the expected " + std::to_string(trusted.header.version + 1));
  }
  // 5.3.4 (2): signed by a threshold of its own root keys.
  BW_RETURN_IF_ERROR(VerifyThreshold(next.envelope, "new root (by its own keys)",
                                     next.signed_data.keys, *next.signed_data.FindRole(kRootRole),
                                     options_.verification));
  // 5.3.6: expiry of intermediate roots does not matter; checked in 5.3.10.
  // 5.3.7: set the trusted root (the caller persists it, 5.3.8).
  root_ = std::move(next);
  ++root_updates_;
  return Status::Ok();
}

bool TrustedMetadataSet::TimestampOrSnapshotKeysRotated() const {
  // Either role rotating invalidates both: the timestamp pins the snapshot
  // version.
  const RootMetadata& root = root_.signed_data;
  return KeyIdSet(*root.FindRole(kTimestampRole)) != KeyIdSet(initial_timestamp_keys_) ||
         KeyIdSet(*root.FindRole(kSnapshotRole)) != KeyIdSet(initial_snapshot_keys_);
}

Status TrustedMetadataSet::FinishRootUpdates() {
  const RootMetadata& root = root_.signed_data;
  if (!root_finished_) {
    root_finished_ = true;
    // 5.3.11: timestamp/snapshot keys rotated -> the cached timestamp and
    // snapshot must go (recovery from a fast-forward attack).
    invalidate_cached_ = TimestampOrSnapshotKeysRotated();
  }
  // 5.3.10: the final root must not be expired at the fixed start time.
  if (root.header.IsExpired(reference_time_)) return Expired("root", root.header.expires);
  return Status::Ok();
}

Result<TimestampOutcome> TrustedMetadataSet::UpdateTimestamp(std::string_view bytes) {
  return LoadTimestamp(bytes);
}

Status TrustedMetadataSet::LoadCachedTimestamp(std::string_view bytes) {
  BW_RETURN_IF_ERROR(FinishRootUpdates());
  if (invalidate_cached_) {
    return Verification("cached timestamp discarded: timestamp/snapshot keys rotated (5.3.11)");
  }
  return LoadTimestamp(bytes).status();
}

Result<TimestampOutcome> TrustedMetadataSet::LoadTimestamp(std::string_view bytes) {
  if (snapshot_) return OutOfOrder("timestamp cannot be updated after snapshot");
  // 5.3.10 (and 5.3.11) before anything is verified with the final root.
  BW_RETURN_IF_ERROR(FinishRootUpdates());
  BW_ASSIGN_OR_RETURN(Verified<TimestampMetadata> next,
                      ParseRole<TimestampMetadata>(bytes, kTimestampRole));
  const RootMetadata& root = root_.signed_data;
  // 5.4.2: signed by a threshold of the timestamp keys in the trusted root.
  BW_RETURN_IF_ERROR(VerifyThreshold(next.envelope, kTimestampRole, root.keys,
                                     *root.FindRole(kTimestampRole), options_.verification));
  if (timestamp_) {
    const TimestampMetadata& trusted = timestamp_->signed_data;
    std::int64_t old_version = trusted.header.version;
    std::int64_t new_version = next.signed_data.header.version;
    // 5.4.3.1: the timestamp version must not go backwards...
    if (new_version < old_version) {
      return Rollback("timestamp version " + std::to_string(new_version) +
                      " is older than the trusted " + std::to_string(old_version));
    }
    // ... and an equal version means nothing changed: keep the trusted one.
    if (new_version == old_version) return TimestampOutcome::kUnchanged;
    // 5.4.3.2: the snapshot version it lists must not go backwards.
    if (next.signed_data.snapshot_meta.version < trusted.snapshot_meta.version) {
      return Rollback("timestamp lists snapshot version " +
                      std::to_string(next.signed_data.snapshot_meta.version) +
                      ", older than the trusted " + std::to_string(trusted.snapshot_meta.version));
    }
  }
  // Trusted now even if expired: an expired timestamp still protects the
  // next attempt against rollback (python-tuf does the same). 5.4.4 below
  // makes this call fail, and UpdateSnapshot re-checks it.
  timestamp_ = std::move(next);
  BW_RETURN_IF_ERROR(CheckFinalTimestamp());
  return TimestampOutcome::kUpdated;
}

Status TrustedMetadataSet::CheckFinalTimestamp() const {
  // 5.4.4: freeze attack.
  const SignedHeader& header = timestamp_->signed_data.header;
  if (header.IsExpired(reference_time_)) return Expired("timestamp", header.expires);
  return Status::Ok();
}

Status TrustedMetadataSet::UpdateSnapshot(std::string_view bytes) {
  return LoadSnapshot(bytes, /*cached=*/false);
}

Status TrustedMetadataSet::LoadCachedSnapshot(std::string_view bytes) {
  if (invalidate_cached_) {
    return Verification("cached snapshot discarded: timestamp/snapshot keys rotated (5.3.11)");
  }
  return LoadSnapshot(bytes, /*cached=*/true);
}

Status TrustedMetadataSet::LoadSnapshot(std::string_view bytes, bool cached) {
  if (!timestamp_) return OutOfOrder("snapshot cannot be loaded before timestamp");
  if (!targets_.empty()) return OutOfOrder("snapshot cannot be updated after targets");
  BW_RETURN_IF_ERROR(CheckFinalTimestamp());
  const MetaFile& snapshot_meta = timestamp_->signed_data.snapshot_meta;
  // 5.5.2: length and hashes listed by the trusted timestamp (mix-and-match).
  // A cached snapshot was checked when it was downloaded and may legitimately
  // be older than what the timestamp now lists, so it skips this.
  if (!cached) {
    Status s = snapshot_meta.VerifyData(bytes);
    if (!s.ok()) return s.WithContext("snapshot does not match timestamp");
  }
  BW_ASSIGN_OR_RETURN(Verified<SnapshotMetadata> next,
                      ParseRole<SnapshotMetadata>(bytes, kSnapshotRole));
  const RootMetadata& root = root_.signed_data;
  // 5.5.3: signed by a threshold of the snapshot keys in the trusted root.
  BW_RETURN_IF_ERROR(VerifyThreshold(next.envelope, kSnapshotRole, root.keys,
                                     *root.FindRole(kSnapshotRole), options_.verification));
  // 5.5.5: against the trusted snapshot, no targets metadata may disappear
  // or go back in version.
  if (snapshot_) {
    for (const auto& [name, old_meta] : snapshot_->signed_data.meta) {
      auto it = next.signed_data.meta.find(name);
      if (it == next.signed_data.meta.end()) {
        return Rollback("new snapshot no longer lists " + name);
      }
      if (it->second.version < old_meta.version) {
        return Rollback("new snapshot lists " + name + " version " +
                        std::to_string(it->second.version) + ", older than the trusted " +
                        std::to_string(old_meta.version));
      }
    }
  }
  // Trusted now even if it fails 5.5.4/5.5.6 below, so that it still guards
  // the next snapshot under 5.5.5 (python-tuf does the same); targets
  // updates re-check it and refuse.
  snapshot_ = std::move(next);
  return CheckFinalSnapshot();
}

Status TrustedMetadataSet::CheckFinalSnapshot() const {
  const SignedHeader& header = snapshot_->signed_data.header;
  // 5.5.6: freeze attack.
  if (header.IsExpired(reference_time_)) return Expired("snapshot", header.expires);
  // 5.5.4: the version the trusted timestamp lists.
  return CheckListedVersion(kSnapshotRole, header.version,
                            timestamp_->signed_data.snapshot_meta.version);
}

Status TrustedMetadataSet::UpdateTargets(std::string_view bytes) {
  return UpdateDelegatedTargets(bytes, kTargetsRole, kRootRole);
}

Status TrustedMetadataSet::UpdateDelegatedTargets(std::string_view bytes,
                                                  std::string_view role_name,
                                                  std::string_view delegator_name) {
  if (!snapshot_) return OutOfOrder("targets cannot be loaded before snapshot");
  BW_RETURN_IF_ERROR(CheckFinalSnapshot());

  // Who may sign this role: the root for "targets", else the delegator's
  // delegations entry (the delegator must itself be trusted already).
  const std::map<std::string, PublicKey>* keys = nullptr;
  const RoleKeys* role_keys = nullptr;
  if (delegator_name == kRootRole) {
    if (role_name != kTargetsRole) {
      return Verification("root delegates only \"targets\", not \"" + std::string(role_name) + "\"");
    }
    keys = &root_.signed_data.keys;
    role_keys = root_.signed_data.FindRole(kTargetsRole);
  } else {
    const Verified<TargetsMetadata>* delegator = targets(delegator_name);
    if (delegator == nullptr) {
      return OutOfOrder("delegator \"" + std::string(delegator_name) + "\" is not trusted yet");
    }
    const auto& delegations = delegator->signed_data.delegations;
    const DelegatedRole* role = delegations ? delegations->FindRole(role_name) : nullptr;
    if (role == nullptr) {
      return Verification("\"" + std::string(delegator_name) + "\" does not delegate to \"" +
                          std::string(role_name) + "\"");
    }
    keys = &delegations->keys;
    role_keys = &role->role_keys;
  }

  const MetaFile* meta = snapshot_->signed_data.FindRoleMeta(role_name);
  if (meta == nullptr) {
    return Verification("snapshot does not list " + std::string(role_name) + ".json");
  }
  // 5.6.2: length and hashes listed by the trusted snapshot (mix-and-match).
  Status s = meta->VerifyData(bytes);
  if (!s.ok()) return s.WithContext(std::string(role_name) + " does not match snapshot");

  BW_ASSIGN_OR_RETURN(Verified<TargetsMetadata> next,
                      ParseRole<TargetsMetadata>(bytes, role_name));
  // 5.6.3: signed by a threshold of the delegating role's keys for it.
  BW_RETURN_IF_ERROR(VerifyThreshold(next.envelope, role_name, *keys, *role_keys,
                                     options_.verification));
  // 5.6.4: the version the trusted snapshot lists.
  BW_RETURN_IF_ERROR(CheckListedVersion(role_name, next.signed_data.header.version, meta->version));
  // 5.6.5: freeze attack.
  if (next.signed_data.header.IsExpired(reference_time_)) {
    return Expired(std::string(role_name), next.signed_data.header.expires);
  }
  targets_.insert_or_assign(std::string(role_name), std::move(next));
  return Status::Ok();
}

const Verified<TargetsMetadata>* TrustedMetadataSet::targets(std::string_view role) const {
  auto it = targets_.find(role);
  return it == targets_.end() ? nullptr : &it->second;
}

}  // namespace bellwether::tuf
