#include "common/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace bellwether::log {
namespace {

struct LogState {
  std::mutex mu;
  int file_fd = -1;
  Level minimum = Level::kInfo;
  bool to_stderr = true;
};

LogState& State() {
  static LogState state;
  return state;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarning: return "WARN";
    case Level::kError: return "ERROR";
  }
  return "?";
}

void WriteAll(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;  // Logging must never take the host down.
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

bool OpenLogFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  LogState& st = State();
  std::lock_guard lock(st.mu);
  if (st.file_fd >= 0) ::close(st.file_fd);
  st.file_fd = fd;
  return true;
}

void SetMinimumLevel(Level level) {
  LogState& st = State();
  std::lock_guard lock(st.mu);
  st.minimum = level;
}

void SetStderrEnabled(bool enabled) {
  LogState& st = State();
  std::lock_guard lock(st.mu);
  st.to_stderr = enabled;
}

void Write(Level level, std::string_view message) {
  LogState& st = State();
  std::lock_guard lock(st.mu);
  if (level < st.minimum) return;
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line = std::string(stamp) + " bellwether-host[" + std::to_string(::getpid()) +
                     "] " + LevelName(level) + " ";
  line.append(message);
  line.push_back('\n');
  if (st.to_stderr) WriteAll(STDERR_FILENO, line);
  if (st.file_fd >= 0) WriteAll(st.file_fd, line);
}

}  // namespace bellwether::log
