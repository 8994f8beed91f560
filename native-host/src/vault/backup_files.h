// Backup files in <data dir>/backups/, and moving them across the 1 MiB
// native-messaging frame limit in pieces.
//
// vault.export {"toFile": true} writes a backup here; vault.downloadBackup
// reads one back in chunks (so the extension can offer it as a download
// whatever its size). vault.uploadBackup does the reverse for a file the
// reader picked, which vault.import {"file"} then restores. Every name is
// chosen by the host or checked to be a bare name; files are 0600 and
// created with O_EXCL; an upload is a ".part" file until its last chunk,
// then renamed (atomically, synced) to "upload-<id>.json".
#ifndef BELLWETHER_VAULT_BACKUP_FILES_H_
#define BELLWETHER_VAULT_BACKUP_FILES_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bellwether::vault {

// Raw bytes per chunk: as base64 in a JSON reply or request, well under
// the 1 MiB frame limit.
inline constexpr std::size_t kBackupChunkBytes = 512 * 1024;
// The largest backup the host reads or accepts (the vault's own cap).
inline constexpr std::uint64_t kMaxBackupFileBytes = std::uint64_t{256} * 1024 * 1024;
// Unfinished or unimported uploads older than this are deleted when the
// next upload starts.
inline constexpr std::chrono::hours kStaleUploadAge{24};

std::filesystem::path BackupDir(const std::filesystem::path& data_dir);

// A bare file name inside the backups directory: no path tricks.
Status ValidateBackupName(std::string_view name);

// Writes `text` to a new file "bellwether-vault-<time>.json" (never over an
// existing one) and returns its path.
Result<std::filesystem::path> WriteBackupFile(const std::filesystem::path& data_dir, const std::string& text,
                                              std::chrono::system_clock::time_point now);

struct BackupChunk {
  std::string data;        // Raw bytes from `offset`.
  std::uint64_t size = 0;  // The whole file's size.
  bool done = false;       // This chunk ends the file.
};
// Up to kBackupChunkBytes of backups/<name> from `offset`.
Result<BackupChunk> ReadBackupChunk(const std::filesystem::path& data_dir, std::string_view name,
                                    std::uint64_t offset);

// The whole of backups/<name> (a regular file; no link is followed).
Result<std::string> ReadBackupFile(const std::filesystem::path& data_dir, std::string_view name);

// Uploads kept at once (each at most kMaxBackupFileBytes); past this, a new
// one is refused with kBusy until one is imported or expires.
inline constexpr std::size_t kMaxOpenUploads = 4;

// Starts an upload: a new empty part file; returns its id (32 hex digits).
Result<std::string> StartUpload(const std::filesystem::path& data_dir);
// Appends `bytes` at `offset`, which must be the bytes received so far (a
// repeated or skipped chunk is refused). Returns the new size. Past
// kMaxBackupFileBytes the upload is deleted and kTooLarge returned.
Result<std::uint64_t> AppendUpload(const std::filesystem::path& data_dir, std::string_view id,
                                   std::uint64_t offset, std::string_view bytes);
// Makes a finished upload importable; returns its file name.
Result<std::string> FinishUpload(const std::filesystem::path& data_dir, std::string_view id);
// True for the names FinishUpload gives (vault.import deletes those once
// they are imported).
bool IsUploadName(std::string_view name);

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_BACKUP_FILES_H_
