#include "install/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace bellwether::install {
namespace {

Status Errno(const std::string& what) {
  ErrorCode code = (errno == ENOSPC || errno == EFBIG || errno == EDQUOT) ? ErrorCode::kStorageFull
                                                                          : ErrorCode::kStorage;
  return Status(code, what + ": " + std::strerror(errno));
}

}  // namespace

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents, mode_t mode) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "." + string.
  std::string name = path.filename().string();
  name.insert(0, 1, '.');
  name.append(".XXXXXX");
  std::string tmpl = (path.parent_path() / name).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return Errno("cannot create a temporary file next to " + path.string());
  auto fail = [&](const std::string& what) {
    Status s = Errno(what);
    ::close(fd);
    ::unlink(tmpl.c_str());
    return s;
  };
  if (::fchmod(fd, mode) != 0) return fail("cannot set the mode of " + tmpl);
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write " + tmpl);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync " + tmpl);
  if (::close(fd) != 0) {
    Status s = Errno("cannot close " + tmpl);
    ::unlink(tmpl.c_str());
    return s;
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot move " + tmpl + " into place");
    ::unlink(tmpl.c_str());
    return s;
  }
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // Best effort: the rename is durable on most file systems anyway.
    ::close(dir);
  }
  return Status::Ok();
}

}  // namespace bellwether::install
