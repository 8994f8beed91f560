#include "update/metadata_store.h"

#include <system_error>
#include <utility>

#include "common/file_util.h"
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

}  // namespace bellwether::update
