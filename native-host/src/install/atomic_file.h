// Writes a whole file atomically: a unique temp file in the same directory,
// fsync, rename over the target, fsync the directory. A crash leaves either
// the old file or the new one, never a mix.
#ifndef BELLWETHER_INSTALL_ATOMIC_FILE_H_
#define BELLWETHER_INSTALL_ATOMIC_FILE_H_

#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "common/status.h"

namespace bellwether::install {

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents, mode_t mode);

}  // namespace bellwether::install

#endif  // BELLWETHER_INSTALL_ATOMIC_FILE_H_
