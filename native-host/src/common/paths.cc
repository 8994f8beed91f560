#include "common/paths.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/file_util.h"

namespace bellwether::paths {
namespace {

std::filesystem::path XdgDir(const char* var, const char* fallback_under_home) {
  // The XDG spec says relative values are invalid and must be ignored.
  if (const char* v = std::getenv(var); v != nullptr && v[0] == '/') return v;
  return HomeDir() / fallback_under_home;
}

}  // namespace

std::filesystem::path HomeDir() {
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') return h;
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr) return pw->pw_dir;
  return "/";
}

std::filesystem::path XdgConfigHome() {
  return XdgDir("XDG_CONFIG_HOME", ".config");
}

std::filesystem::path DataDir() { return XdgDir("XDG_DATA_HOME", ".local/share") / "bellwether"; }
std::filesystem::path StateDir() { return XdgDir("XDG_STATE_HOME", ".local/state") / "bellwether"; }
std::filesystem::path ConfigDir() { return XdgDir("XDG_CONFIG_HOME", ".config") / "bellwether"; }

Status EnsurePrivateDir(const std::filesystem::path& dir) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus("cannot create " + partial.string(), errno);
    }
  }
  // Whatever already held the name must be a directory of this user's
  // (symbolic links are followed: whoever can plant one can read the data).
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("cannot inspect " + dir.string(), errno);
  if (!S_ISDIR(st.st_mode)) return Status::Storage(dir.string() + " exists and is not a directory");
  if (st.st_uid != ::geteuid()) return Status::Storage(dir.string() + " belongs to another user");
  if (::chmod(dir.c_str(), 0700) != 0) return ErrnoStatus("cannot set mode 0700 on " + dir.string(), errno);
  return Status::Ok();
}

}  // namespace bellwether::paths
