// Where the host keeps its files, following the XDG base directory spec.
//
//   data:  $XDG_DATA_HOME/bellwether   (default ~/.local/share/bellwether)
//          vault.db, content packs, trusted TUF metadata
//   state: $XDG_STATE_HOME/bellwether  (default ~/.local/state/bellwether)
//          host.log
//   config:$XDG_CONFIG_HOME/bellwether (default ~/.config/bellwether)
//          host.json written by `bellwether-host install`
//
// Every directory is created 0700; the host never loosens existing modes.
#ifndef BELLWETHER_COMMON_PATHS_H_
#define BELLWETHER_COMMON_PATHS_H_

#include <filesystem>

#include "common/status.h"

namespace bellwether::paths {

// $HOME when set and not empty, else the user's entry in the password
// database (so every file the host writes agrees on one home).
std::filesystem::path HomeDir();
// $XDG_CONFIG_HOME when absolute, else ~/.config (browsers' config too).
std::filesystem::path XdgConfigHome();

std::filesystem::path DataDir();
std::filesystem::path StateDir();
std::filesystem::path ConfigDir();

// mkdir -p with mode 0700 for every directory it creates, and a final
// chmod 0700 of `dir` itself.
Status EnsurePrivateDir(const std::filesystem::path& dir);

}  // namespace bellwether::paths

#endif  // BELLWETHER_COMMON_PATHS_H_
