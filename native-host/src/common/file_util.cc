#include "common/file_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace bellwether {
namespace {

namespace fs = std::filesystem;

Status IoError(std::string_view what, const fs::path& path, int err) {
  return ErrnoStatus(std::string(what) + " " + path.string(), err);
}

constexpr std::string_view kTempMarker = ".tmp-";

}  // namespace

Status ErrnoStatus(std::string_view what, int err) {
  const ErrorCode code =
      (err == ENOSPC || err == EDQUOT || err == EFBIG) ? ErrorCode::kStorageFull : ErrorCode::kStorage;
  return Status(code, std::string(what) + ": " + strerror(err));
}

Status SyncDirectory(const fs::path& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open directory", dir, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0 && err != EINVAL) return IoError("cannot sync directory", dir, err);
  return Status::Ok();
}

Result<TempFile> TempFile::CreateFor(const fs::path& final_path, mode_t mode) {
  fs::path dir = final_path.parent_path();
  if (dir.empty()) dir = ".";
  std::string pattern = (dir / ("." + final_path.filename().string() + std::string(kTempMarker) + "XXXXXX")).string();
  int fd = mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0) return IoError("cannot create a temporary file in", dir, errno);
  if (fchmod(fd, mode) != 0) {
    int err = errno;
    close(fd);
    unlink(pattern.c_str());
    return IoError("cannot chmod", pattern, err);
  }
  return TempFile(fd, fs::path(pattern), final_path);
}

TempFile::TempFile(TempFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      temp_path_(std::move(other.temp_path_)),
      final_path_(std::move(other.final_path_)) {}

TempFile& TempFile::operator=(TempFile&& other) noexcept {
  if (this != &other) {
    Discard();
    fd_ = std::exchange(other.fd_, -1);
    temp_path_ = std::move(other.temp_path_);
    final_path_ = std::move(other.final_path_);
  }
  return *this;
}

TempFile::~TempFile() { Discard(); }

void TempFile::Discard() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
    unlink(temp_path_.c_str());
  }
}

Status TempFile::Append(std::string_view bytes) {
  if (fd_ < 0) return Status::Internal("TempFile used after Commit");
  while (!bytes.empty()) {
    ssize_t n = write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write", temp_path_, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status TempFile::Commit() {
  if (fd_ < 0) return Status::Internal("TempFile committed twice");
  if (fsync(fd_) != 0) {
    Status s = IoError("cannot sync", temp_path_, errno);
    Discard();
    return s;
  }
  close(fd_);
  fd_ = -1;
  if (rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    Status s = IoError("cannot move a download into place at", final_path_, errno);
    unlink(temp_path_.c_str());
    return s;
  }
  fs::path dir = final_path_.parent_path();
  return SyncDirectory(dir.empty() ? fs::path(".") : dir);
}

Status WriteFileAtomically(const fs::path& path, std::string_view bytes, mode_t mode) {
  BW_ASSIGN_OR_RETURN(TempFile file, TempFile::CreateFor(path, mode));
  BW_RETURN_IF_ERROR(file.Append(bytes));
  return file.Commit();
}

Result<std::optional<std::string>> ReadFileIfExists(const fs::path& path, std::uint64_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return IoError("cannot open", path, errno);
  }
  std::string out;
  char buffer[16384];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return IoError("cannot read", path, err);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      close(fd);
      return Status::TooLarge(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return std::optional<std::string>(std::move(out));
}

void RemoveStaleTempFiles(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name.front() == '.' && name.find(kTempMarker) != std::string::npos) {
      std::error_code remove_ec;
      fs::remove(it->path(), remove_ec);
    }
  }
}

}  // namespace bellwether
