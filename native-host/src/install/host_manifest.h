// Native-messaging host manifests: where each browser looks for them, and
// writing/removing them from the templates in packaging/manifests/ (compiled
// in, so an installed binary needs no data files).
#ifndef BELLWETHER_INSTALL_HOST_MANIFEST_H_
#define BELLWETHER_INSTALL_HOST_MANIFEST_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bellwether::install {

enum class Browser { kChromium, kChrome, kFirefox };

Result<Browser> ParseBrowser(std::string_view name);
std::string_view BrowserName(Browser browser);

struct ManifestOptions {
  Browser browser = Browser::kChromium;
  // Chromium-family only: a dedicated profile's --user-data-dir. The browser
  // then reads <dir>/NativeMessagingHosts/ instead of the per-user folder.
  std::optional<std::filesystem::path> user_data_dir;
  std::filesystem::path host_path;          // Absolute path of bellwether-host.
  std::vector<std::string> extension_ids;   // Chromium IDs or Firefox add-on IDs.
};

// The file the browser reads, e.g. ~/.config/chromium/NativeMessagingHosts/io.bellwether.host.json.
std::filesystem::path ManifestPath(const ManifestOptions& options);

// The manifest text; fails on a relative host path, an empty ID list, or an
// ID of the wrong shape (a typo here otherwise only shows as "host not found").
Result<std::string> RenderManifest(const ManifestOptions& options);

// Writes the manifest (0644, atomically) and records the IDs in the host
// config so the host's own caller check accepts them. Returns the path.
Result<std::filesystem::path> InstallHostManifest(const ManifestOptions& options);

// Removes the manifest; OK if it was not there. Returns whether one was removed.
Result<bool> UninstallHostManifest(const ManifestOptions& options);

}  // namespace bellwether::install

#endif  // BELLWETHER_INSTALL_HOST_MANIFEST_H_
