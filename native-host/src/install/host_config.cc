#include "install/host_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/paths.h"
#include "install/atomic_file.h"

namespace bellwether::install {
namespace {

using nlohmann::json;

Result<std::vector<std::string>> StringList(const json& value, const std::string& where) {
  if (!value.is_array()) return Status::InvalidParams(where + " must be an array of strings");
  std::vector<std::string> out;
  for (const json& item : value) {
    if (!item.is_string()) return Status::InvalidParams(where + " must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::string> OptionalString(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return std::string();
  if (!it->is_string()) return Status::InvalidParams(where + "." + key + " must be a string");
  return it->get<std::string>();
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
  std::ifstream in(path, std::ios::binary);
  if (!in) return HostConfig::Defaults();
  std::stringstream buffer;
  buffer << in.rdbuf();
  json doc = json::parse(buffer.str(), nullptr, false);
  const std::string where = path.string();
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidParams(where + " is not a JSON object; fix or delete it");
  }
  HostConfig config = HostConfig::Defaults();
  if (auto allowed = doc.find("allowedExtensions"); allowed != doc.end()) {
    if (!allowed->is_object()) return Status::InvalidParams(where + ": allowedExtensions must be an object");
    if (auto c = allowed->find("chromium"); c != allowed->end()) {
      BW_ASSIGN_OR_RETURN(config.chromium_extension_ids, StringList(*c, where + ": allowedExtensions.chromium"));
    }
    if (auto f = allowed->find("firefox"); f != allowed->end()) {
      BW_ASSIGN_OR_RETURN(config.firefox_addon_ids, StringList(*f, where + ": allowedExtensions.firefox"));
    }
  }
  if (auto update = doc.find("update"); update != doc.end()) {
    if (!update->is_object()) return Status::InvalidParams(where + ": update must be an object");
    const std::string u = where + ": update";
    BW_ASSIGN_OR_RETURN(config.update.repository, OptionalString(*update, "repository", u));
    BW_ASSIGN_OR_RETURN(config.update.ca_bundle, OptionalString(*update, "caBundle", u));
    BW_ASSIGN_OR_RETURN(config.update.trusted_root, OptionalString(*update, "trustedRoot", u));
    if (auto insecure = update->find("allowInsecureHttp"); insecure != update->end()) {
      if (!insecure->is_boolean()) return Status::InvalidParams(u + ".allowInsecureHttp must be a boolean");
      config.update.allow_insecure_http = insecure->get<bool>();
    }
  }
  return config;
}

Status SaveHostConfig(const std::filesystem::path& path, const HostConfig& config) {
  json update = json::object();
  if (!config.update.repository.empty()) update["repository"] = config.update.repository;
  if (!config.update.ca_bundle.empty()) update["caBundle"] = config.update.ca_bundle;
  if (!config.update.trusted_root.empty()) update["trustedRoot"] = config.update.trusted_root;
  if (config.update.allow_insecure_http) update["allowInsecureHttp"] = true;
  json doc = {{"allowedExtensions",
               {{"chromium", config.chromium_extension_ids}, {"firefox", config.firefox_addon_ids}}}};
  if (!update.empty()) doc["update"] = update;
  BW_RETURN_IF_ERROR(paths::EnsurePrivateDir(path.parent_path()));
  return WriteFileAtomically(path, doc.dump(2) + "\n", 0600);
}

}  // namespace bellwether::install
