// Where the client keeps its trusted metadata: one directory holding exactly
// the files the spec names (5.3.8, 5.4.5, 5.5.7, 5.6.6) under unversioned
// names: root.json, timestamp.json, snapshot.json, targets.json and
// <role>.json for delegated roles (role names percent-encoded, so "a/b" or
// "../x" stay inside the directory).
//
// Files are stored byte for byte as received (hashes in snapshot/timestamp
// cover those exact bytes), each replaced atomically (file_util.h). Only
// metadata that the TrustedMetadataSet accepted is ever stored here.
//
// Thread-compatible; cross-process exclusion is the caller's (the update
// service holds a file lock).
#ifndef BELLWETHER_UPDATE_METADATA_STORE_H_
#define BELLWETHER_UPDATE_METADATA_STORE_H_

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bellwether::update {

class MetadataStore {
 public:
  // `dir` must exist. Deletes temporary files a crash left behind.
  explicit MetadataStore(std::filesystem::path dir);

  // The stored bytes of `role`, nullopt if none. Files above `max_bytes`
  // are refused (kTooLarge): a local file is not trusted to be small either.
  Result<std::optional<std::string>> Load(std::string_view role, std::uint64_t max_bytes) const;
  Status Store(std::string_view role, std::string_view bytes);
  // No error when the file does not exist.
  Status Remove(std::string_view role);
  // Deletes the stored delegated roles that are not in `keep` (role names),
  // e.g. roles a new snapshot no longer lists. The top-level roles' files
  // are never touched, nor any file that is not a signed "targets"
  // document. Returns how many files it deleted.
  Result<int> RemoveDelegatedRolesExcept(const std::set<std::string>& keep);

  // "root.json", "a%2Fb.json".
  static std::string FileName(std::string_view role);
  std::filesystem::path PathFor(std::string_view role) const { return dir_ / FileName(role); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace bellwether::update

#endif  // BELLWETHER_UPDATE_METADATA_STORE_H_
