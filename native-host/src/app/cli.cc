#include "app/cli.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/host_methods.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/version.h"
#include "install/host_config.h"
#include "install/host_manifest.h"
#include "messaging/caller_check.h"
#include "messaging/host_session.h"
#include "update/update_methods.h"
#include "update/update_service.h"
#include "vault/vault_methods.h"

namespace bellwether::app {
namespace {

constexpr char kUsage[] =
    "Usage:\n"
    "  bellwether-host --version | --help\n"
    "  bellwether-host install [--browser chromium|chrome|firefox] [--user-data-dir DIR]\n"
    "                          [--extension-id ID]... [--host-path PATH]\n"
    "  bellwether-host uninstall [--browser chromium|chrome|firefox] [--user-data-dir DIR]\n"
    "  bellwether-host update --background   one update check (for a systemd timer or cron)\n"
    "\n"
    "Browsers start the host themselves (Chromium passes chrome-extension://ID/,\n"
    "Firefox the manifest path and the add-on ID); it then speaks native-messaging\n"
    "frames on stdin/stdout. Logs go to stderr and to $XDG_STATE_HOME/bellwether/host.log.\n";

// Rotates the log once it passes this size, keeping one old file.
constexpr std::uintmax_t kMaxLogFileBytes = 1024 * 1024;

void OpenHostLog() {
  const std::filesystem::path dir = paths::StateDir();
  if (!paths::EnsurePrivateDir(dir).ok()) return;  // stderr still works.
  const std::filesystem::path file = dir / "host.log";
  std::error_code ec;
  if (std::filesystem::file_size(file, ec) > kMaxLogFileBytes && !ec) {
    std::filesystem::rename(file, dir / "host.log.1", ec);
  }
  log::OpenLogFile(file.string());
}

std::filesystem::path SelfPath() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : self;
}

// The update service's settings: build defaults, then
// $XDG_CONFIG_HOME/bellwether/update.json, then BELLWETHER_UPDATE_* variables.
Result<update::UpdateServiceOptions> UpdateOptions() {
  update::UpdateServiceOptions defaults;
  defaults.data_dir = paths::DataDir();
  defaults.repository_url = kDefaultUpdateRepositoryUrl;
  // The trust anchor installed with the host: <prefix>/share/bellwether/root.json.
  defaults.trusted_root_path = SelfPath().parent_path().parent_path() / "share" / "bellwether" / "root.json";
  return update::ApplyUpdateConfig(std::move(defaults), paths::ConfigDir() / "update.json");
}

// Registers `methods` to answer `reason` (a module whose configuration is
// broken reports it on each of its calls).
void RegisterFailingMethods(messaging::Dispatcher& dispatcher, const std::vector<std::string>& methods,
                            const Status& reason) {
  for (const std::string& method : methods) {
    dispatcher.Register(
        method, [reason](const nlohmann::json&, messaging::RequestContext&) -> Result<nlohmann::json> {
          return reason;
        });
  }
}

// Registers every module's methods. Nothing here opens a database, a
// keyring or a socket: a process spawned for one sendNativeMessage must
// start fast, so each module opens its resources on first use.
void RegisterAllMethods(messaging::Dispatcher& dispatcher) {
  RegisterHostMethods(dispatcher);
  Result<vault::VaultMethodOptions> vault_options =
      vault::ApplyVaultConfig(vault::VaultMethodOptions{}, paths::ConfigDir() / "vault.json");
  if (vault_options.ok()) {
    vault::RegisterVaultMethods(dispatcher, std::move(vault_options).value());
  } else {
    // The reader asked for settings we cannot read: say so on every vault
    // call rather than run with other limits than they chose.
    log::Error("vault disabled: " + vault_options.status().message());
    RegisterFailingMethods(dispatcher, vault::VaultMethodNames(),
                           vault_options.status().WithContext("vault configuration"));
  }
  Result<update::UpdateServiceOptions> update_options = UpdateOptions();
  if (update_options.ok()) {
    update::RegisterUpdateMethods(dispatcher, std::move(update_options).value());
  } else {
    // A broken update.json must not take the vault down with it: the update
    // methods report the configuration error instead.
    log::Error("update service disabled: " + update_options.status().message());
    RegisterFailingMethods(dispatcher, {"update.status", "update.check", "update.setPolicy", "content.get"},
                           update_options.status().WithContext("update configuration"));
  }
}

int RunUpdateCommand(const std::vector<std::string>& args) {
  if (args.size() != 2 || args[1] != "--background") {
    std::cerr << "bellwether-host: usage: bellwether-host update --background\n";
    return 2;
  }
  OpenHostLog();
  Result<update::UpdateServiceOptions> options = UpdateOptions();
  if (!options.ok()) {
    std::cerr << "bellwether-host: " << options.status().message() << "\n";
    return 1;
  }
  Result<bool> checked = update::RunBackgroundCheck(std::move(options).value());
  if (!checked.ok()) {
    const Status& s = checked.status();
    std::cerr << "bellwether-host: update check failed: " << update::DescribeUpdateError(s) << " ("
              << s.ToString() << ")\n";
    return s.code() == ErrorCode::kUpdateInProgress ? 0 : 1;
  }
  std::cout << (*checked ? "Update check finished.\n" : "Automatic updates are off; nothing was checked.\n");
  return 0;
}

int RunHost(const std::vector<std::string>& args) {
  // A browser that goes away closes our stdout; a write must then fail with
  // EPIPE (and end the session cleanly) rather than kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  if (const char* level = std::getenv("BELLWETHER_LOG_LEVEL"); level && std::string(level) == "debug") {
    log::SetMinimumLevel(log::Level::kDebug);
  }
  OpenHostLog();

  messaging::Dispatcher dispatcher;
  RegisterAllMethods(dispatcher);

  Result<messaging::CallerInfo> caller = messaging::ParseCallerArguments(args);
  messaging::CallerInfo who = caller.ok() ? *caller : messaging::CallerInfo{};
  messaging::HostSession session(STDIN_FILENO, STDOUT_FILENO, dispatcher, who);

  Status allowed = caller.status();
  if (allowed.ok()) {
    Result<install::HostConfig> config = install::LoadHostConfig(install::HostConfigPath());
    if (!config.ok()) {
      allowed = Status(ErrorCode::kCallerNotAllowed, "host configuration unreadable: " + config.status().message());
    } else {
      const auto& ids = who.browser == messaging::BrowserFamily::kFirefox ? config->firefox_addon_ids
                                                                          : config->chromium_extension_ids;
      allowed = messaging::CheckCallerAllowed(who, ids);
    }
  }
  if (!allowed.ok()) {
    log::Warning("refusing caller: " + allowed.message());
    session.RefuseAllRequests(allowed);
  } else {
    log::Debug("serving extension " + who.extension_id);
  }
  return session.Run();
}

struct InstallArgs {
  install::ManifestOptions manifest;
};

Result<InstallArgs> ParseInstallArgs(const std::vector<std::string>& args, bool installing) {
  InstallArgs out;
  std::optional<std::string> browser;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size()) return Status::InvalidParams(a + " needs a value");
      return args[++i];
    };
    if (a == "--browser") {
      BW_ASSIGN_OR_RETURN(browser, value());
    } else if (a == "--user-data-dir") {
      BW_ASSIGN_OR_RETURN(std::string dir, value());
      out.manifest.user_data_dir = std::filesystem::absolute(dir);
    } else if (a == "--extension-id" && installing) {
      BW_ASSIGN_OR_RETURN(std::string id, value());
      out.manifest.extension_ids.push_back(id);
    } else if (a == "--host-path" && installing) {
      BW_ASSIGN_OR_RETURN(std::string p, value());
      out.manifest.host_path = std::filesystem::absolute(p);
    } else {
      return Status::InvalidParams("unknown option " + a);
    }
  }
  BW_ASSIGN_OR_RETURN(out.manifest.browser, install::ParseBrowser(browser.value_or("chromium")));
  if (out.manifest.user_data_dir && out.manifest.browser == install::Browser::kFirefox) {
    return Status::InvalidParams("--user-data-dir applies to Chromium-family browsers only");
  }
  if (out.manifest.host_path.empty()) out.manifest.host_path = SelfPath();
  if (out.manifest.extension_ids.empty()) {
    out.manifest.extension_ids = {out.manifest.browser == install::Browser::kFirefox
                                      ? install::kDefaultFirefoxAddonId
                                      : install::kDefaultChromiumExtensionId};
  }
  return out;
}

int RunInstall(const std::vector<std::string>& args, bool installing) {
  Result<InstallArgs> parsed = ParseInstallArgs(args, installing);
  if (!parsed.ok()) {
    std::cerr << "bellwether-host: " << parsed.status().message() << "\n\n" << kUsage;
    return 2;
  }
  if (installing) {
    Result<std::filesystem::path> path = install::InstallHostManifest(parsed->manifest);
    if (!path.ok()) {
      std::cerr << "bellwether-host: install failed: " << path.status().message() << "\n";
      return 1;
    }
    std::cout << "Installed the " << kNativeHostName << " manifest for "
              << install::BrowserName(parsed->manifest.browser) << ":\n  " << path->string()
              << "\nhost: " << parsed->manifest.host_path.string() << "\n";
    return 0;
  }
  Result<bool> removed = install::UninstallHostManifest(parsed->manifest);
  if (!removed.ok()) {
    std::cerr << "bellwether-host: uninstall failed: " << removed.status().message() << "\n";
    return 1;
  }
  std::cout << (*removed ? "Removed " : "Nothing to remove at ")
            << install::ManifestPath(parsed->manifest).string() << "\n";
  return 0;
}

}  // namespace

int RunMain(const std::vector<std::string>& args) {
  if (messaging::LooksLikeBrowserLaunch(args)) return RunHost(args);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    // With no arguments at all a person ran us by hand: explain, exit non-zero.
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "-V") {
    std::cout << "bellwether-host " << kProductVersion << " (protocol " << kProtocolVersion << ")\n";
    return 0;
  }
  if (args[0] == "install") return RunInstall(args, true);
  if (args[0] == "uninstall") return RunInstall(args, false);
  if (args[0] == "update") return RunUpdateCommand(args);
  std::cerr << "bellwether-host: unknown command \"" << args[0] << "\"\n\n" << kUsage;
  return 2;
}

}  // namespace bellwether::app
