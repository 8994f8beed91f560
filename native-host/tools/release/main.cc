// bellwether-release: make and maintain a TUF repository of static files.
// A thin command line over repository.h; docs/release.md is the guide.
// Exit status: 0 on success, 1 on any failure (message on stderr).
#include <charconv>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repository.h"

namespace {

namespace fs = std::filesystem;
using bellwether::Result;
using bellwether::Status;
namespace release = bellwether::release;
namespace tuf = bellwether::tuf;

constexpr std::string_view kUsage = R"(usage: bellwether-release COMMAND [OPTIONS]

Commands (options may come before or after the command):
  init     --repo DIR --keys DIR [--key-type ed25519|ecdsa-p256|rsa]
           [--threshold ROLE=N]... [--expires ROLE=DAYS]... [--no-consistent-snapshot]
           Generate keys for root, timestamp, snapshot and targets (written 0600
           into KEYS, which must not be inside REPO) and write 1.root.json,
           root.json and version 1 of targets, snapshot and timestamp.
  add      --repo DIR --keys DIR --target-name NAME [--custom JSON] FILE
           Stage FILE as target NAME (e.g. content/pack.json).
  remove   --repo DIR --keys DIR --target-name NAME
           Unstage target NAME.
  publish  --repo DIR --keys DIR [--expires ROLE=DAYS]...
           Sign the staged targets (new version if changed), a new snapshot and
           a new timestamp.
  rotate   --repo DIR --keys DIR --role ROLE
           Replace ROLE's keys; writes root N+1 signed by the old and new root
           keys and re-signs what ROLE signs.
  refresh-timestamp --repo DIR --keys DIR [--expires timestamp=DAYS]
           Re-sign the timestamp with a new version and expiry (for cron).
  verify   --repo DIR [--root FILE]
           Verify the repository as a client would; FILE is the trusted root
           (default: REPO/metadata/1.root.json).

Exit status: 0 on success, 1 on failure.
)";

struct Args {
  std::string command;
  std::optional<fs::path> repo;
  std::optional<fs::path> keys;
  std::optional<std::string> key_type;
  std::map<std::string, int, std::less<>> thresholds;
  std::map<std::string, int, std::less<>> expires;
  bool no_consistent_snapshot = false;
  std::optional<std::string> target_name;
  std::optional<std::string> custom;
  std::optional<std::string> role;
  std::optional<fs::path> root;
  std::vector<std::string> positional;
  bool help = false;
};

Status UsageError(std::string message) {
  return Status::InvalidParams(std::move(message) + " (see --help)");
}

Result<int> ParsePositiveInt(std::string_view text, std::string_view what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1) {
    return UsageError(std::string(what) + " must be a positive integer, got '" + std::string(text) + "'");
  }
  return value;
}

// "ROLE=N" into `out`.
Status ParseRoleValue(std::string_view text, std::string_view option,
                      std::map<std::string, int, std::less<>>& out) {
  std::size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return UsageError(std::string(option) + " expects ROLE=NUMBER, got '" + std::string(text) + "'");
  }
  std::string role(text.substr(0, eq));
  BW_ASSIGN_OR_RETURN(int value, ParsePositiveInt(text.substr(eq + 1), option));
  out[role] = value;
  return Status::Ok();
}

Result<Args> ParseArgs(int argc, char** argv) {
  Args args;
  std::vector<std::string_view> in(argv + 1, argv + argc);
  for (std::size_t i = 0; i < in.size(); ++i) {
    std::string_view arg = in[i];
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      if (std::size_t eq = arg.find('='); eq != std::string_view::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    auto value = [&]() -> Result<std::string> {
      if (inline_value) return std::string(*inline_value);
      if (i + 1 >= in.size()) return UsageError(std::string(arg) + " needs a value");
      return std::string(in[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      args.help = true;
    } else if (arg == "--repo") {
      BW_ASSIGN_OR_RETURN(std::string v, value());
      args.repo = v;
    } else if (arg == "--keys") {
      BW_ASSIGN_OR_RETURN(std::string v, value());
      args.keys = v;
    } else if (arg == "--key-type") {
      BW_ASSIGN_OR_RETURN(args.key_type, value());
    } else if (arg == "--threshold") {
      BW_ASSIGN_OR_RETURN(std::string v, value());
      BW_RETURN_IF_ERROR(ParseRoleValue(v, "--threshold", args.thresholds));
    } else if (arg == "--expires") {
      BW_ASSIGN_OR_RETURN(std::string v, value());
      BW_RETURN_IF_ERROR(ParseRoleValue(v, "--expires", args.expires));
    } else if (arg == "--no-consistent-snapshot") {
      args.no_consistent_snapshot = true;
    } else if (arg == "--target-name") {
      BW_ASSIGN_OR_RETURN(args.target_name, value());
    } else if (arg == "--custom") {
      BW_ASSIGN_OR_RETURN(args.custom, value());
    } else if (arg == "--role") {
      BW_ASSIGN_OR_RETURN(args.role, value());
    } else if (arg == "--root") {
      BW_ASSIGN_OR_RETURN(std::string v, value());
      args.root = v;
    } else if (arg.starts_with("-") && arg != "-") {
      return UsageError("unknown option " + std::string(arg));
    } else if (args.command.empty()) {
      args.command = std::string(arg);
    } else {
      args.positional.emplace_back(arg);
    }
  }
  return args;
}

Status Require(const Args& args, bool repo, bool keys) {
  if (repo && !args.repo) return UsageError(args.command + " needs --repo DIR");
  if (keys && !args.keys) return UsageError(args.command + " needs --keys DIR");
  return Status::Ok();
}

// Options that make no sense for a command are an error, not silently ignored.
Status RejectExtras(const Args& args, bool allow_positional) {
  if (!allow_positional && !args.positional.empty()) {
    return UsageError("unexpected argument '" + args.positional.front() + "'");
  }
  return Status::Ok();
}

Status RunInit(const Args& args) {
  BW_RETURN_IF_ERROR(Require(args, true, true));
  BW_RETURN_IF_ERROR(RejectExtras(args, false));
  release::InitOptions options;
  if (args.key_type) {
    BW_ASSIGN_OR_RETURN(options.key_algorithm, tuf::ParseKeyAlgorithm(*args.key_type));
  }
  options.thresholds = args.thresholds;
  options.expires_days = args.expires;
  options.consistent_snapshot = !args.no_consistent_snapshot;
  BW_ASSIGN_OR_RETURN(auto repo, release::Repository::Init(*args.repo, *args.keys, options));
  std::cout << "initialised " << args.repo->string() << " (root v" << repo->root().header.version
            << ", keys in " << args.keys->string() << ")\n";
  for (std::string_view role : release::kTopLevelRoles) {
    const tuf::RoleKeys* keys = repo->root().FindRole(role);
    std::cout << "  " << role << ": threshold " << keys->threshold << ", keys";
    for (const auto& keyid : keys->keyids) std::cout << ' ' << keyid.substr(0, 16);
    std::cout << '\n';
  }
  return Status::Ok();
}

Status RunAdd(const Args& args) {
  BW_RETURN_IF_ERROR(Require(args, true, true));
  if (!args.target_name) return UsageError("add needs --target-name NAME");
  if (args.positional.size() != 1) return UsageError("add needs exactly one FILE");
  std::optional<nlohmann::json> custom;
  if (args.custom) {
    nlohmann::json parsed = nlohmann::json::parse(*args.custom, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return UsageError("--custom must be a JSON object");
    }
    custom = std::move(parsed);
  }
  BW_ASSIGN_OR_RETURN(auto repo, release::Repository::Open(*args.repo, *args.keys));
  BW_RETURN_IF_ERROR(repo->AddTarget(*args.target_name, args.positional.front(), custom));
  std::cout << "staged " << *args.target_name << "; run `publish` to sign it\n";
  return Status::Ok();
}

Status RunRemove(const Args& args) {
  BW_RETURN_IF_ERROR(Require(args, true, true));
  BW_RETURN_IF_ERROR(RejectExtras(args, false));
  if (!args.target_name) return UsageError("remove needs --target-name NAME");
  BW_ASSIGN_OR_RETURN(auto repo, release::Repository::Open(*args.repo, *args.keys));
  BW_RETURN_IF_ERROR(repo->RemoveTarget(*args.target_name));
  std::cout << "unstaged " << *args.target_name << "; run `publish` to sign the change\n";
  return Status::Ok();
}

void PrintPublish(const release::PublishResult& r) {
  std::cout << "published targets v" << r.targets_version << (r.targets_changed ? " (new)" : " (unchanged)")
            << ", snapshot v" << r.snapshot_version << ", timestamp v" << r.timestamp_version << '\n';
}

Status RunPublish(const Args& args) {
  BW_RETURN_IF_ERROR(Require(args, true, true));
  BW_RETURN_IF_ERROR(RejectExtras(args, false));
  BW_ASSIGN_OR_RETURN(auto repo, release::Repository::Open(*args.repo, *args.keys));
  release::PublishOptions options;
  options.expires_days = args.expires;
  BW_ASSIGN_OR_RETURN(release::PublishResult result, repo->Publish(options));
  PrintPublish(result);
  return Status::Ok();
}

Status RunRotate(const Args& args) {
  BW_RETURN_IF_ERROR(Require(args, true, true));
  BW_RETURN_IF_ERROR(RejectExtras(args, false));
  if (!args.role) return UsageError("rotate needs --role ROLE");
  BW_ASSIGN_OR_RETURN(auto repo, release::Repository::Open(*args.repo, *args.keys));
  BW_ASSIGN_OR_RETURN(release::RotateResult result, repo->Rotate(*args.role));
  std::cout << "rotated " << *args.role << " keys: root v" << result.root_version << '\n';
  for (const auto& keyid : result.retired_keyids) {
    std::cout << "  retired " << keyid.substr(0, 16) << " (moved to "
              << (*args.keys / "retired" / *args.role).string() << "; destroy it)\n";
  }
  for (const auto& keyid : result.new_keyids) std::cout << "  new     " << keyid.substr(0, 16) << '\n';
  if (result.published) PrintPublish(*result.published);
  return Status::Ok();
}

Status RunRefreshTimestamp(const Args& args) {
  BW_RETURN_IF_ERROR(Require(args, true, true));
  BW_RETURN_IF_ERROR(RejectExtras(args, false));
  std::optional<int> days;
  for (const auto& [role, value] : args.expires) {
    if (role != tuf::kTimestampRole) {
      return UsageError("refresh-timestamp only takes --expires timestamp=DAYS");
    }
    days = value;
  }
  BW_ASSIGN_OR_RETURN(auto repo, release::Repository::Open(*args.repo, *args.keys));
  BW_ASSIGN_OR_RETURN(std::int64_t version, repo->RefreshTimestamp(days));
  std::cout << "refreshed timestamp v" << version << '\n';
  return Status::Ok();
}

Status RunVerify(const Args& args) {
  BW_RETURN_IF_ERROR(Require(args, true, false));
  BW_RETURN_IF_ERROR(RejectExtras(args, false));
  BW_ASSIGN_OR_RETURN(release::VerifyReport report,
                      release::VerifyRepository(*args.repo, args.root, release::SystemClock()()));
  std::cout << "ok: root v" << report.root_version << ", timestamp v" << report.timestamp_version
            << ", snapshot v" << report.snapshot_version << ", targets v" << report.targets_version << ", "
            << report.roles_verified << " targets role(s), " << report.target_files_checked
            << " target file(s) verified\n";
  return Status::Ok();
}

Status Run(const Args& args) {
  if (args.command == "init") return RunInit(args);
  if (args.command == "add") return RunAdd(args);
  if (args.command == "remove") return RunRemove(args);
  if (args.command == "publish") return RunPublish(args);
  if (args.command == "rotate") return RunRotate(args);
  if (args.command == "refresh-timestamp") return RunRefreshTimestamp(args);
  if (args.command == "verify") return RunVerify(args);
  if (args.command.empty()) return UsageError("no command given");
  return UsageError("unknown command '" + args.command + "'");
}

}  // namespace

int main(int argc, char** argv) {
  // Library code reports errors as values; this catch only turns an
  // unexpected exception (e.g. std::bad_alloc) into the documented exit 1.
  try {
    auto args = ParseArgs(argc, argv);
    if (args.ok() && args->help) {
      std::cout << kUsage;
      return 0;
    }
    Status status = args.ok() ? Run(*args) : args.status();
    if (!status.ok()) {
      std::cerr << "bellwether-release: error: " << status.message() << '\n';
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bellwether-release: error: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "bellwether-release: error: unexpected failure\n";
  }
  return 1;
}
