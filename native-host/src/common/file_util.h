// Crash-safe file writes (vault keys, host config, updater state): a file is either the old bytes or
// the new bytes, never a torn mix, because the new bytes go to a temporary
// file in the same directory that is fsync'ed and then renamed over the old
// one (and the directory fsync'ed).
//
// Temporary files are named ".<final name>.tmp-XXXXXX", so a crash leaves
// something RemoveStaleTempFiles() recognises and deletes on the next start;
// the unique suffix means a leftover never blocks the next download.
#ifndef BELLWETHER_COMMON_FILE_UTIL_H_
#define BELLWETHER_COMMON_FILE_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bellwether {

// Replaces `path` with `bytes` atomically (mode applies to a new file).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view bytes,
                           mode_t mode = 0600);

// The file's bytes; nullopt when it does not exist; kTooLarge above
// `max_bytes`; kStorage on other I/O errors.
Result<std::optional<std::string>> ReadFileIfExists(const std::filesystem::path& path,
                                                    std::uint64_t max_bytes);

// Deletes "*.tmp-*" files whose name starts with '.' directly in `dir`.
void RemoveStaleTempFiles(const std::filesystem::path& dir);

// The Status for a failed system call: kStorageFull for a full disk, quota
// or file-size limit (ENOSPC, EDQUOT, EFBIG), else kStorage; the message is
// "`what`: strerror(err)".
Status ErrnoStatus(std::string_view what, int err);

// fsync of a directory, so a rename in it survives a crash.
Status SyncDirectory(const std::filesystem::path& dir);

// A temporary file next to its final destination, filled by Append() and
// moved into place by Commit(). Destroying an uncommitted TempFile deletes
// it. Move-only.
class TempFile {
 public:
  static Result<TempFile> CreateFor(const std::filesystem::path& final_path, mode_t mode = 0600);
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&& other) noexcept;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();

  Status Append(std::string_view bytes);
  // fsync, rename onto the final path, fsync the directory.
  Status Commit();
  const std::filesystem::path& path() const { return temp_path_; }

 private:
  TempFile(int fd, std::filesystem::path temp_path, std::filesystem::path final_path)
      : fd_(fd), temp_path_(std::move(temp_path)), final_path_(std::move(final_path)) {}
  void Discard();

  int fd_ = -1;
  std::filesystem::path temp_path_;
  std::filesystem::path final_path_;
};

}  // namespace bellwether

#endif  // BELLWETHER_COMMON_FILE_UTIL_H_
