#include "update/updater.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>

#include "common/file_util.h"
#include "common/log.h"
#include "crypto/digest.h"

namespace bellwether::update {
namespace {

namespace fs = std::filesystem;

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// The listed length when there is one, but never above the role's cap: a
// holder of the timestamp key alone must not be able to announce a snapshot
// of any size and have the host buffer it.
std::uint64_t LimitFor(const tuf::MetaFile* meta, std::uint64_t cap) {
  if (meta != nullptr && meta->length.has_value() && *meta->length > 0) {
    return std::min(static_cast<std::uint64_t>(*meta->length), cap);
  }
  return cap;
}

// The hash whose hex names the consistent-snapshot copy of a target
// (5.7.3: any listed hash). Only one this client also checks the bytes
// against, sha256 first as every tool writes it, and only lowercase hex: the
// value becomes part of the URL.
std::string HashForTargetName(const tuf::TargetFile& info) {
  for (const char* algorithm : {"sha256", "sha512"}) {
    const auto it = info.hashes.find(algorithm);
    if (it != info.hashes.end() && !it->second.empty() && crypto::IsLowerHex(it->second)) return it->second;
  }
  return std::string();
}

}  // namespace

std::string EncodeUrlPath(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : path) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || c == '/') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

Updater::Updater(MetadataStore& store, Fetcher& fetcher, UpdaterOptions options)
    : store_(store), fetcher_(fetcher), options_(std::move(options)) {
  if (!options_.clock) options_.clock = SystemClock;
}

std::string Updater::MetadataUrl(std::string_view role, std::optional<std::int64_t> version) const {
  return JoinUrl(options_.metadata_base_url, tuf::MetadataFileName(role, version));
}

Status Updater::Refresh() {
  if (!refresh_status_) refresh_status_ = DoRefresh();
  return *refresh_status_;
}

Status Updater::DoRefresh() {
  // 5.1: one reference time for every expiry check of this cycle.
  const tuf::TimePoint start{std::chrono::seconds(options_.clock())};

  // 5.2: the trusted root, as persisted (or installed by `init`).
  BW_ASSIGN_OR_RETURN(std::optional<std::string> root_bytes,
                      store_.Load(tuf::kRootRole, options_.max_root_bytes));
  if (!root_bytes) {
    return Status(ErrorCode::kUpdateVerification,
                  "no trusted root metadata in " + store_.dir().string());
  }
  auto created = tuf::TrustedMetadataSet::Create(*root_bytes, start, options_.verification);
  if (!created.ok()) return created.status().WithContext("the local trusted root is not valid");
  set_.emplace(std::move(created).value());

  BW_RETURN_IF_ERROR(UpdateRootChain());
  BW_RETURN_IF_ERROR(UpdateTimestamp());
  BW_RETURN_IF_ERROR(UpdateSnapshot());
  return LoadTargets(std::string(tuf::kTargetsRole), std::string(tuf::kRootRole));
}

Status Updater::UpdateRootChain() {
  // 5.3.3-5.3.9: step through N+1.root.json until the server has none.
  bool discarded = false;
  for (int i = 0; i < options_.max_root_rotations; ++i) {
    const std::int64_t next = set_->root().signed_data.header.version + 1;
    auto bytes = FetchToString(fetcher_, MetadataUrl(tuf::kRootRole, next), options_.max_root_bytes);
    if (!bytes.ok()) {
      if (IsNotFound(bytes.status())) break;  // Latest root reached.
      return bytes.status();
    }
    BW_RETURN_IF_ERROR(set_->UpdateRoot(*bytes));
    // 5.3.11 before 5.3.8: once a root that rotated the timestamp or
    // snapshot keys is on disk it is where the next run starts, so the
    // cached files it invalidates go first, whether or not this chain of
    // root updates gets to its end. (The final root is the last one seen
    // here, so this also covers what FinishRootUpdates finds.)
    if (!discarded && set_->TimestampOrSnapshotKeysRotated()) {
      log::Info("update: timestamp or snapshot keys rotated; discarding cached timestamp and snapshot");
      BW_RETURN_IF_ERROR(store_.Remove(tuf::kTimestampRole));
      BW_RETURN_IF_ERROR(store_.Remove(tuf::kSnapshotRole));
      discarded = true;
    }
    // 5.3.8: persist each accepted root before looking for the next.
    BW_RETURN_IF_ERROR(store_.Store(tuf::kRootRole, *bytes));
  }
  // 5.3.10 (expiry of the final root); 5.3.11 makes the set refuse the
  // cached timestamp and snapshot, already deleted above.
  return set_->FinishRootUpdates();
}

Status Updater::UpdateTimestamp() {
  // A persisted timestamp is the baseline for rollback checks (5.4.3). One
  // that no longer verifies (e.g. after a key rotation) is just ignored.
  if (!set_->cached_timestamp_and_snapshot_invalidated()) {
    auto cached = store_.Load(tuf::kTimestampRole, options_.max_timestamp_bytes);
    if (cached.ok() && cached->has_value()) {
      Status s = set_->LoadCachedTimestamp(**cached);
      if (!s.ok()) log::Info("update: ignoring cached timestamp: " + s.ToString());
    }
  }
  // 5.4.1: fixed name, capped size.
  BW_ASSIGN_OR_RETURN(std::string bytes,
                      FetchToString(fetcher_, MetadataUrl(tuf::kTimestampRole, std::nullopt),
                                    options_.max_timestamp_bytes));
  BW_ASSIGN_OR_RETURN(tuf::TimestampOutcome outcome, set_->UpdateTimestamp(bytes));
  if (outcome == tuf::TimestampOutcome::kUnchanged) {
    // 5.4.3.1: same version as trusted: nothing new; keep the persisted file.
    return Status::Ok();
  }
  // 5.4.5.
  return store_.Store(tuf::kTimestampRole, bytes);
}

Status Updater::UpdateSnapshot() {
  const auto* timestamp = set_->timestamp();
  if (timestamp == nullptr) return Status::Internal("no trusted timestamp");
  if (!set_->cached_timestamp_and_snapshot_invalidated()) {
    auto cached = store_.Load(tuf::kSnapshotRole, options_.max_snapshot_bytes);
    if (cached.ok() && cached->has_value()) {
      Status s = set_->LoadCachedSnapshot(**cached);
      // Still the version the timestamp lists: nothing to download.
      if (s.ok()) return Status::Ok();
      log::Debug("update: cached snapshot not current: " + s.ToString());
    }
  }
  // 5.5.1: versioned name with consistent snapshots; at most the length the
  // timestamp lists, else the default cap.
  const tuf::MetaFile& meta = timestamp->signed_data.snapshot_meta;
  std::optional<std::int64_t> version;
  if (set_->consistent_snapshot()) version = meta.version;
  BW_ASSIGN_OR_RETURN(std::string bytes,
                      FetchToString(fetcher_, MetadataUrl(tuf::kSnapshotRole, version),
                                    LimitFor(&meta, options_.max_snapshot_bytes)));
  BW_RETURN_IF_ERROR(set_->UpdateSnapshot(bytes));
  // 5.5.7.
  BW_RETURN_IF_ERROR(store_.Store(tuf::kSnapshotRole, bytes));
  // Delegated roles the new snapshot no longer lists are never read again:
  // delete them, so the directory does not grow with every reorganisation.
  std::set<std::string> listed;
  const auto* trusted = set_->snapshot();
  if (trusted == nullptr) return Status::Internal("no trusted snapshot");
  for (const auto& entry : trusted->signed_data.meta) {
    const std::string& file = entry.first;
    if (file.size() > 5 && file.ends_with(".json")) listed.insert(file.substr(0, file.size() - 5));
  }
  auto pruned = store_.RemoveDelegatedRolesExcept(listed);
  if (!pruned.ok()) log::Warning("update: " + pruned.status().ToString());
  if (pruned.ok() && *pruned > 0)
    log::Info("update: deleted " + std::to_string(*pruned) + " unlisted role file(s)");
  return Status::Ok();
}

Status Updater::LoadTargets(const std::string& role, const std::string& delegator) {
  if (set_->targets(role) != nullptr) return Status::Ok();
  const auto* snapshot = set_->snapshot();
  if (snapshot == nullptr) return Status::Internal("no trusted snapshot");
  const tuf::MetaFile* meta = snapshot->signed_data.FindRoleMeta(role);
  const std::uint64_t limit = LimitFor(meta, options_.max_targets_bytes);

  auto admit = [&](std::string_view bytes) {
    return role == tuf::kTargetsRole ? set_->UpdateTargets(bytes)
                                     : set_->UpdateDelegatedTargets(bytes, role, delegator);
  };
  auto cached = store_.Load(role, limit);
  if (cached.ok() && cached->has_value()) {
    // The verifier refuses it unless it is exactly the version snapshot
    // lists, with matching hashes: then nothing needs downloading.
    if (admit(**cached).ok()) return Status::Ok();
  }
  if (meta == nullptr) {
    return Status(ErrorCode::kUpdateVerification,
                  "the trusted snapshot does not list the role \"" + role + "\"");
  }
  // 5.6.1.
  std::optional<std::int64_t> version;
  if (set_->consistent_snapshot()) version = meta->version;
  BW_ASSIGN_OR_RETURN(std::string bytes, FetchToString(fetcher_, MetadataUrl(role, version), limit));
  BW_RETURN_IF_ERROR(admit(bytes));
  // 5.6.6.
  return store_.Store(role, bytes);
}

Result<tuf::TargetFile> Updater::GetTargetInfo(std::string_view target_path) {
  BW_RETURN_IF_ERROR(Refresh());
  auto loader = [this](const std::string& role, const std::string& delegator) {
    return LoadTargets(role, delegator);
  };
  BW_ASSIGN_OR_RETURN(std::optional<tuf::TargetMatch> match,
                      tuf::FindTarget(*set_, target_path, loader, options_.max_delegated_roles));
  // 5.7.2.
  if (!match) {
    return Status::NotFound("the repository has no target \"" + std::string(target_path) + "\"");
  }
  return std::move(match->file);
}

bool Updater::IsCachedTargetValid(const tuf::TargetFile& info, const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return false;
  const auto size = fs::file_size(file, ec);
  if (ec || size != static_cast<std::uintmax_t>(info.length)) return false;
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  tuf::LengthAndHashVerifier verifier(info.length, info.hashes);
  char buffer[65536];
  bool ok = true;
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    if (!verifier.Update(std::string_view(buffer, static_cast<size_t>(n))).ok()) {
      ok = false;
      break;
    }
  }
  close(fd);
  return ok && verifier.Finish().ok();
}

Status Updater::DownloadTarget(const tuf::TargetFile& info, const fs::path& destination,
                               const ProgressFn& progress) {
  if (!set_) return Status::Internal("DownloadTarget before Refresh");
  // 5.7.3: the hash-prefixed name with consistent snapshots.
  std::string remote_path = info.path;
  if (set_->consistent_snapshot()) {
    const std::string hash = HashForTargetName(info);
    if (hash.empty()) {
      return Status(ErrorCode::kUpdateVerification,
                    "target " + info.path + " lists no sha256 or sha512 hash in hex");
    }
    remote_path = tuf::ConsistentTargetPath(info.path, hash);
  }
  const std::string url = JoinUrl(options_.target_base_url, EncodeUrlPath(remote_path));

  BW_ASSIGN_OR_RETURN(TempFile file, TempFile::CreateFor(destination, 0644));
  tuf::LengthAndHashVerifier verifier(info.length, info.hashes);
  // At most the listed length (endless data): the verifier fails on the
  // first byte too many, and the fetcher is told the same limit.
  Status fetched = fetcher_.Fetch(
      url, static_cast<std::uint64_t>(info.length),
      [&](std::string_view chunk) {
        BW_RETURN_IF_ERROR(verifier.Update(chunk));
        return file.Append(chunk);
      },
      [&](std::uint64_t done, std::uint64_t total) {
        if (progress) progress(done, total != 0 ? total : static_cast<std::uint64_t>(info.length));
      });
  if (fetched.code() == ErrorCode::kUpdateTooLarge) {
    return Status(ErrorCode::kUpdateTooLarge,
                  "target " + info.path + " is longer than its signed length of " +
                      std::to_string(info.length) + " bytes");
  }
  BW_RETURN_IF_ERROR(fetched);
  Status verified = verifier.Finish();
  if (!verified.ok()) return verified.WithContext("target " + info.path);
  return file.Commit();
}

}  // namespace bellwether::update
