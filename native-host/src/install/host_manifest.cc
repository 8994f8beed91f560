#include "install/host_manifest.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/paths.h"
#include "common/version.h"
#include "common/file_util.h"
#include "install/host_config.h"
#include "install/manifest_templates.h"

namespace bellwether::install {
namespace {

using nlohmann::json;

// The same home and config home as the host's own files (common/paths.h).
std::filesystem::path Home() {
  return paths::HomeDir();
}
std::filesystem::path ConfigHome() {
  return paths::XdgConfigHome();
}

bool IsChromiumId(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) { return c >= 'a' && c <= 'p'; });
}

bool IsFirefoxId(const std::string& id) {
  // An email-like "name@domain" or a "{GUID}".
  if (id.size() < 3 || id.size() > 255) return false;
  bool braces = id.front() == '{' && id.back() == '}';
  return braces || id.find('@') != std::string::npos;
}

void ReplaceAll(std::string& text, std::string_view from, const std::string& to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

}  // namespace

Result<Browser> ParseBrowser(std::string_view name) {
  if (name == "chromium") return Browser::kChromium;
  if (name == "chrome" || name == "google-chrome") return Browser::kChrome;
  if (name == "firefox") return Browser::kFirefox;
  return Status::InvalidParams("unknown browser \"" + std::string(name) +
                               "\" (expected chromium, chrome or firefox)");
}

std::string_view BrowserName(Browser browser) {
  switch (browser) {
    case Browser::kChromium: return "chromium";
    case Browser::kChrome: return "chrome";
    case Browser::kFirefox: return "firefox";
  }
  return "unknown";
}

std::filesystem::path ManifestPath(const ManifestOptions& options) {
  const std::string file = std::string(kNativeHostName) + ".json";
  if (options.browser == Browser::kFirefox) {
    return Home() / ".mozilla" / "native-messaging-hosts" / file;
  }
  if (options.user_data_dir) return *options.user_data_dir / "NativeMessagingHosts" / file;
  const char* profile = options.browser == Browser::kChrome ? "google-chrome" : "chromium";
  return ConfigHome() / profile / "NativeMessagingHosts" / file;
}

Result<std::string> RenderManifest(const ManifestOptions& options) {
  if (!options.host_path.is_absolute()) {
    return Status::InvalidParams("the host path must be absolute: " + options.host_path.string());
  }
  if (options.extension_ids.empty()) return Status::InvalidParams("no extension ID to allow");
  const bool firefox = options.browser == Browser::kFirefox;
  json allowed = json::array();
  for (const std::string& id : options.extension_ids) {
    if (firefox ? !IsFirefoxId(id) : !IsChromiumId(id)) {
      return Status::InvalidParams("\"" + id + "\" is not a valid " +
                                   std::string(BrowserName(options.browser)) + " extension ID");
    }
    allowed.push_back(firefox ? id : "chrome-extension://" + id + "/");
  }
  std::string text = firefox ? kFirefoxManifestTemplate : kChromiumManifestTemplate;
  ReplaceAll(text, "\"{{HOST_NAME}}\"", json(kNativeHostName).dump());
  ReplaceAll(text, "\"{{HOST_PATH}}\"", json(options.host_path.string()).dump());
  ReplaceAll(text, firefox ? "{{ALLOWED_EXTENSIONS}}" : "{{ALLOWED_ORIGINS}}", allowed.dump());
  // The template must have produced valid JSON; refuse to write anything else.
  if (json::parse(text, nullptr, false).is_discarded()) {
    return Status::Internal("manifest template produced invalid JSON");
  }
  return text;
}

Result<std::filesystem::path> InstallHostManifest(const ManifestOptions& options) {
  BW_ASSIGN_OR_RETURN(std::string text, RenderManifest(options));
  // The IDs for the host's own caller check (defence in depth), read first:
  // a host.json that cannot be read stops the install before a manifest
  // lets the browser start a host that would refuse every caller. Without
  // one, the host serves exactly the IDs installed from now on, not the
  // built-in ones as well.
  HostConfig config;
  std::error_code exists_ec;
  if (std::filesystem::exists(HostConfigPath(), exists_ec) || exists_ec) {
    BW_ASSIGN_OR_RETURN(config, LoadHostConfig(HostConfigPath()));
  }
  auto& ids = options.browser == Browser::kFirefox ? config.firefox_addon_ids : config.chromium_extension_ids;
  for (const std::string& id : options.extension_ids) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }

  const std::filesystem::path path = ManifestPath(options);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Status::Storage("cannot create " + path.parent_path().string() + ": " + ec.message());
  // Browsers only need to read it; nothing in it is secret.
  BW_RETURN_IF_ERROR(WriteFileAtomically(path, text, 0644));
  BW_RETURN_IF_ERROR(SaveHostConfig(HostConfigPath(), config));
  return path;
}

Result<bool> UninstallHostManifest(const ManifestOptions& options) {
  const std::filesystem::path path = ManifestPath(options);
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  return Status::Storage("cannot remove " + path.string() + ": " + std::strerror(errno));
}

}  // namespace bellwether::install
