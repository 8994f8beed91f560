#include "install/host_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/paths.h"

namespace bellwether::install {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxHostConfigBytes = 64 * 1024;

Result<std::vector<std::string>> StringList(const json& value, const std::string& where) {
  if (!value.is_array()) return Status::InvalidParams(where + " must be an array of strings");
  std::vector<std::string> out;
  for (const json& item : value) {
    if (!item.is_string()) return Status::InvalidParams(where + " must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

HostConfig HostConfig::Defaults() {
  HostConfig c;
  c.chromium_extension_ids = {kDefaultChromiumExtensionId};
  c.firefox_addon_ids = {kDefaultFirefoxAddonId};
  return c;
}

std::filesystem::path HostConfigPath() { return paths::ConfigDir() / "host.json"; }

Result<HostConfig> LoadHostConfig(const std::filesystem::path& path) {
  // Only a file that does not exist means "the defaults"; one that exists
  // but cannot be read trusts no one (fail closed).
  BW_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadFileIfExists(path, kMaxHostConfigBytes));
  if (!text) return HostConfig::Defaults();
  json doc = json::parse(*text, nullptr, false);
  const std::string where = path.string();
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidParams(where + " is not a JSON object; fix or delete it");
  }
  // A file that exists lists everything allowed: a browser it leaves out
  // gets no one (fail closed), not the built-in IDs.
  HostConfig config;
  if (auto allowed = doc.find("allowedExtensions"); allowed != doc.end()) {
    if (!allowed->is_object()) return Status::InvalidParams(where + ": allowedExtensions must be an object");
    if (auto c = allowed->find("chromium"); c != allowed->end()) {
      BW_ASSIGN_OR_RETURN(config.chromium_extension_ids, StringList(*c, where + ": allowedExtensions.chromium"));
    }
    if (auto f = allowed->find("firefox"); f != allowed->end()) {
      BW_ASSIGN_OR_RETURN(config.firefox_addon_ids, StringList(*f, where + ": allowedExtensions.firefox"));
    }
  }
  return config;
}

Status SaveHostConfig(const std::filesystem::path& path, const HostConfig& config) {
  json doc = {{"allowedExtensions",
               {{"chromium", config.chromium_extension_ids}, {"firefox", config.firefox_addon_ids}}}};
  BW_RETURN_IF_ERROR(paths::EnsurePrivateDir(path.parent_path()));
  return WriteFileAtomically(path, doc.dump(2) + "\n", 0600);
}

}  // namespace bellwether::install
