// The host's per-user configuration: $XDG_CONFIG_HOME/bellwether/host.json.
//
// Written by `bellwether-host install`: the extension IDs it was installed
// for. (Update settings live beside it in update.json; see docs/updates.md.)
// A missing file means "the defaults this build was made for"; a file that
// exists but cannot be parsed is an error (fail closed: the host refuses to
// guess which extensions to trust).
//
//   {
//     "allowedExtensions": {"chromium": ["obaj..."], "firefox": ["reader@bellwether.io"]}
//   }
#ifndef BELLWETHER_INSTALL_HOST_CONFIG_H_
#define BELLWETHER_INSTALL_HOST_CONFIG_H_

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace bellwether::install {

// The development extension's IDs (fixed by the "key" in extension/manifest.json
// and by browser_specific_settings.gecko.id).
inline constexpr char kDefaultChromiumExtensionId[] = "obajhhhbadjoohblhiihokphelkapblg";
inline constexpr char kDefaultFirefoxAddonId[] = "reader@bellwether.io";

struct HostConfig {
  std::vector<std::string> chromium_extension_ids;
  std::vector<std::string> firefox_addon_ids;

  static HostConfig Defaults();
};

std::filesystem::path HostConfigPath();

Result<HostConfig> LoadHostConfig(const std::filesystem::path& path);
// Written atomically (temp file + rename), mode 0600.
Status SaveHostConfig(const std::filesystem::path& path, const HostConfig& config);

}  // namespace bellwether::install

#endif  // BELLWETHER_INSTALL_HOST_CONFIG_H_
