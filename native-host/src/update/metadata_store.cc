#include "update/metadata_store.h"

#include <system_error>
#include <utility>
#include <vector>

#include "common/file_util.h"
#include "update/tuf/defaults.h"
#include "update/tuf/metadata.h"

namespace bellwether::update {

MetadataStore::MetadataStore(std::filesystem::path dir) : dir_(std::move(dir)) {
  RemoveStaleTempFiles(dir_);
}

std::string MetadataStore::FileName(std::string_view role) {
  return tuf::MetadataFileName(role, std::nullopt);
}

Result<std::optional<std::string>> MetadataStore::Load(std::string_view role,
                                                       std::uint64_t max_bytes) const {
  return ReadFileIfExists(PathFor(role), max_bytes);
}

Status MetadataStore::Store(std::string_view role, std::string_view bytes) {
  return WriteFileAtomically(PathFor(role), bytes, 0644);
}

Status MetadataStore::Remove(std::string_view role) {
  std::error_code ec;
  std::filesystem::remove(PathFor(role), ec);
  if (ec) return Status::Storage("cannot delete " + PathFor(role).string() + ": " + ec.message());
  return Status::Ok();
}

namespace {

// Whether `path` holds a delegated role's metadata (a signed "targets"
// document), the only kind of file pruning may delete: the directory may be
// one a person named (bellwether-tuf-client --metadata-dir) and hold other
// JSON of theirs.
bool HoldsDelegatedRole(const std::filesystem::path& path) {
  auto bytes = ReadFileIfExists(path, static_cast<std::uint64_t>(tuf::kDefaultMaxTargetsBytes));
  if (!bytes.ok() || !bytes->has_value()) return false;
  auto envelope = tuf::SignedEnvelope::Parse(**bytes);
  if (!envelope.ok()) return false;
  const nlohmann::json& signed_json = envelope->signed_json();
  const auto type = signed_json.find("_type");
  return type != signed_json.end() && *type == tuf::kTargetsRole;
}

}  // namespace

Result<int> MetadataStore::RemoveDelegatedRolesExcept(const std::set<std::string>& keep) {
  std::set<std::string> kept_files;
  for (std::string_view role : {tuf::kRootRole, tuf::kTimestampRole, tuf::kSnapshotRole, tuf::kTargetsRole}) {
    kept_files.insert(FileName(role));
  }
  for (const std::string& role : keep) kept_files.insert(FileName(role));
  std::vector<std::filesystem::path> stale;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(ec) && name.size() > 5 && name.ends_with(".json") &&
        kept_files.count(name) == 0 && HoldsDelegatedRole(entry.path())) {
      stale.push_back(entry.path());
    }
  }
  if (ec) return Status::Storage("cannot list " + dir_.string() + ": " + ec.message());
  for (const auto& path : stale) {
    std::filesystem::remove(path, ec);
    if (ec) return Status::Storage("cannot delete " + path.string() + ": " + ec.message());
  }
  return static_cast<int>(stale.size());
}

}  // namespace bellwether::update
