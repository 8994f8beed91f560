// Logging for the host. Never writes to stdout: stdout carries only
// native-messaging frames, and one stray byte breaks the browser's channel.
//
// Lines go to stderr (Chromium forwards it to its own log) and, once
// OpenLogFile() succeeded, to a file the user can find (see paths.h).
// Thread-safe. Callers must never pass secrets (keys, passphrases, record
// values) to these functions.
#ifndef BELLWETHER_COMMON_LOG_H_
#define BELLWETHER_COMMON_LOG_H_

#include <string>
#include <string_view>

namespace bellwether::log {

enum class Level { kDebug, kInfo, kWarning, kError };

// Appends to `path` (created 0600). Failure is not fatal: stderr remains.
bool OpenLogFile(const std::string& path);
void SetMinimumLevel(Level level);
// Silences stderr (used by tools whose stderr is their user interface).
void SetStderrEnabled(bool enabled);

void Write(Level level, std::string_view message);
inline void Debug(std::string_view m) { Write(Level::kDebug, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, m); }
inline void Warning(std::string_view m) { Write(Level::kWarning, m); }
inline void Error(std::string_view m) { Write(Level::kError, m); }

}  // namespace bellwether::log

#endif  // BELLWETHER_COMMON_LOG_H_
