#include "vault/backup_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/file_util.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/unique_fd.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "vault/vault.h"

namespace bellwether::vault {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUploadPrefix = "upload-";
constexpr std::size_t kUploadIdChars = 32;

Status WriteAll(int fd, std::string_view bytes) {
  std::size_t put = 0;
  while (put < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + put, bytes.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot write backup", errno);
    put += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status ValidateUploadId(std::string_view id) {
  return id.size() == kUploadIdChars && crypto::IsLowerHex(id) ? Status::Ok()
                                                               : Status::InvalidParams("invalid upload id");
}

fs::path PartPath(const fs::path& data_dir, std::string_view id) {
  return BackupDir(data_dir) / (std::string(kUploadPrefix) + std::string(id) + ".part");
}

// Uploads nobody finished or imported within kStaleUploadAge.
void RemoveStaleUploads(const fs::path& dir) {
  std::error_code ec;
  const auto cutoff = fs::file_time_type::clock::now() - kStaleUploadAge;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kUploadPrefix, 0) != 0) continue;
    std::error_code time_ec;
    const auto mtime = fs::last_write_time(it->path(), time_ec);
    if (time_ec || mtime > cutoff) continue;
    std::error_code rm_ec;
    fs::remove(it->path(), rm_ec);
    if (!rm_ec) log::Info("vault: removed an abandoned backup upload");
  }
}

}  // namespace

fs::path BackupDir(const fs::path& data_dir) {
  return data_dir / "backups";
}

Status ValidateBackupName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.')
    return Status::InvalidParams("invalid backup file name");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    if (!ok) return Status::InvalidParams("invalid backup file name");
  }
  return Status::Ok();
}

Result<fs::path> WriteBackupFile(const fs::path& data_dir, const std::string& text,
                                 std::chrono::system_clock::time_point now) {
  const fs::path dir = BackupDir(data_dir);
  BW_RETURN_IF_ERROR(paths::EnsurePrivateDir(dir));
  std::string stamp = FormatIso8601(now);
  for (char& c : stamp) {
    if (c == ':') c = '-';
  }
  // O_EXCL: an export never replaces an earlier backup (two in the same
  // second get "-2", "-3", ... suffixes).
  fs::path path;
  int raw = -1;
  for (int attempt = 1; attempt <= 100 && raw < 0; ++attempt) {
    std::string name = "bellwether-vault-" + stamp;
    if (attempt > 1) name += "-" + std::to_string(attempt);
    path = dir / (name + ".json");
    raw = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (raw < 0 && errno != EEXIST) break;
  }
  if (raw < 0) return ErrnoStatus("cannot create " + path.string(), errno);
  UniqueFd fd(raw);
  Status written = WriteAll(fd.get(), text);
  if (written.ok() && ::fsync(fd.get()) != 0) written = ErrnoStatus("cannot sync backup file", errno);
  if (written.ok() && !fd.Close()) written = ErrnoStatus("cannot close backup file", errno);
  if (written.ok()) written = SyncDirectory(dir);
  if (!written.ok()) {
    // No half-written backup is left looking like a good one.
    fd.Close();
    ::unlink(path.c_str());
    return written;
  }
  return path;
}

namespace {

// backups/<name>, opened for reading only if it is a regular file there
// (no link followed, no FIFO waited on); `size` is set from it.
Result<int> OpenBackup(const fs::path& data_dir, std::string_view name, std::uint64_t& size) {
  BW_RETURN_IF_ERROR(ValidateBackupName(name));
  const fs::path path = BackupDir(data_dir) / std::string(name);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound("no backup file named " + std::string(name));
    if (errno == ELOOP) return Status::InvalidParams("not a backup file: " + std::string(name));
    return ErrnoStatus("cannot open backup", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot read backup", errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidParams("not a backup file: " + std::string(name));
  size = static_cast<std::uint64_t>(st.st_size);
  if (size > kMaxBackupFileBytes) return Status::TooLarge("the backup file is larger than any backup can be");
  const int raw = fd.Release();
  return raw;
}

Status ReadAt(int fd, std::string& out, std::uint64_t offset) {
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot read backup", errno);
    if (n == 0) return Status::Storage("the backup file shrank while it was read");
    got += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

// Uploads present (finished or not).
std::size_t CountUploads(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind(kUploadPrefix, 0) == 0) ++n;
  }
  return n;
}

}  // namespace

Result<BackupChunk> ReadBackupChunk(const fs::path& data_dir, std::string_view name, std::uint64_t offset) {
  BackupChunk chunk;
  BW_ASSIGN_OR_RETURN(int raw, OpenBackup(data_dir, name, chunk.size));
  UniqueFd fd(raw);
  if (offset > chunk.size) return Status::InvalidParams("offset is past the end of the backup");
  chunk.data.resize(
      static_cast<std::size_t>(std::min<std::uint64_t>(kBackupChunkBytes, chunk.size - offset)));
  BW_RETURN_IF_ERROR(ReadAt(fd.get(), chunk.data, offset));
  chunk.done = offset + chunk.data.size() == chunk.size;
  return chunk;
}

Result<std::string> ReadBackupFile(const fs::path& data_dir, std::string_view name) {
  std::uint64_t size = 0;
  BW_ASSIGN_OR_RETURN(int raw, OpenBackup(data_dir, name, size));
  UniqueFd fd(raw);
  std::string text(static_cast<std::size_t>(size), '\0');
  BW_RETURN_IF_ERROR(ReadAt(fd.get(), text, 0));
  return text;
}

Result<std::string> StartUpload(const fs::path& data_dir) {
  const fs::path dir = BackupDir(data_dir);
  BW_RETURN_IF_ERROR(paths::EnsurePrivateDir(dir));
  RemoveStaleUploads(dir);
  if (CountUploads(dir) >= kMaxOpenUploads) {
    return Status(ErrorCode::kBusy,
                  "too many backup uploads are waiting; import them or wait for them to expire");
  }
  std::uint8_t random[kUploadIdChars / 2];
  BW_RETURN_IF_ERROR(crypto::RandomBytes(random, sizeof(random)));
  std::string id = crypto::HexEncode(random);
  const fs::path part = PartPath(data_dir, id);
  UniqueFd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return ErrnoStatus("cannot start the upload", errno);
  return id;
}

Result<std::uint64_t> AppendUpload(const fs::path& data_dir, std::string_view id, std::uint64_t offset,
                                   std::string_view bytes) {
  BW_RETURN_IF_ERROR(ValidateUploadId(id));
  const fs::path part = PartPath(data_dir, id);
  UniqueFd fd(::open(part.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT)
      return Status::NotFound("no upload with that id (finished, or abandoned and removed)");
    return ErrnoStatus("cannot continue the upload", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot continue the upload", errno);
  const auto received = static_cast<std::uint64_t>(st.st_size);
  if (offset != received) {
    return Status::InvalidParams("chunk offset " + std::to_string(offset) + " does not follow the " +
                                 std::to_string(received) + " bytes received");
  }
  if (received + bytes.size() > kMaxBackupFileBytes) {
    fd.Close();
    ::unlink(part.c_str());
    return Status::TooLarge("the file is larger than any backup can be; upload cancelled");
  }
  Status written = WriteAll(fd.get(), bytes);
  if (!written.ok()) {
    // A short write leaves the part file at an unknown length: start over.
    fd.Close();
    ::unlink(part.c_str());
    return written;
  }
  return received + bytes.size();
}

Result<std::string> FinishUpload(const fs::path& data_dir, std::string_view id) {
  BW_RETURN_IF_ERROR(ValidateUploadId(id));
  const fs::path part = PartPath(data_dir, id);
  UniqueFd fd(::open(part.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT)
      return Status::NotFound("no upload with that id (finished, or abandoned and removed)");
    return ErrnoStatus("cannot finish the upload", errno);
  }
  if (::fsync(fd.get()) != 0) return ErrnoStatus("cannot sync the upload", errno);
  fd.Close();
  const std::string name = std::string(kUploadPrefix) + std::string(id) + ".json";
  const fs::path dir = BackupDir(data_dir);
  if (::rename(part.c_str(), (dir / name).c_str()) != 0)
    return ErrnoStatus("cannot finish the upload", errno);
  BW_RETURN_IF_ERROR(SyncDirectory(dir));
  return name;
}

bool IsUploadName(std::string_view name) {
  return name.size() == kUploadPrefix.size() + kUploadIdChars + 5 && name.rfind(kUploadPrefix, 0) == 0 &&
         name.substr(name.size() - 5) == ".json" &&
         ValidateUploadId(name.substr(kUploadPrefix.size(), kUploadIdChars)).ok();
}

}  // namespace bellwether::vault
