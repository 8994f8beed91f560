// bellwether-tuf-client: the common TUF client test protocol over the
// Bellwether update library.
//
//   bellwether-tuf-client --metadata-dir DIR init TRUSTED_ROOT
//   bellwether-tuf-client --metadata-dir DIR --metadata-url URL refresh
//   bellwether-tuf-client --metadata-dir DIR --metadata-url URL
//       --target-name PATH [--target-name PATH ...] --target-base-url URL
//       --target-dir DIR download
//
// Options come in any order before the command. Exit status is exactly 0 on
// success and 1 on any failure. DIR holds only trusted metadata files.
// Targets are stored in --target-dir under their percent-encoded path (as
// python-tuf's ngclient does), so a re-download keeps the same name.
//
// Extra options (not part of the protocol, for tests over HTTPS):
//   --ca-bundle FILE         trust this PEM CA bundle (or $BELLWETHER_CA_BUNDLE)
//   --low-speed-time SECS    abort a transfer slower than --low-speed-limit
//   --low-speed-limit BYTES  bytes per second (default 512)
//   --timeout SECS           overall deadline per transfer
//   --max-root-rotations N
//   --verbose                diagnostics on stderr
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"
#include "update/curl_fetcher.h"
#include "common/file_util.h"
#include "update/metadata_store.h"
#include "update/tuf/metadata.h"
#include "update/tuf/trusted_metadata_set.h"
#include "update/updater.h"

namespace bellwether::update {
namespace {

namespace fs = std::filesystem;

struct Arguments {
  std::string metadata_dir;
  std::string metadata_url;
  std::vector<std::string> target_names;
  std::string target_base_url;
  std::string target_dir;
  std::string ca_bundle;
  std::int64_t low_speed_time = -1;
  std::int64_t low_speed_limit = -1;
  std::int64_t timeout = -1;
  std::int64_t max_root_rotations = -1;
  bool verbose = false;
  std::string command;
  std::vector<std::string> operands;
};

Result<std::int64_t> ParseNumber(const std::string& text, const std::string& option) {
  try {
    size_t used = 0;
    long long value = std::stoll(text, &used, 10);
    if (used != text.size() || value < 0) throw std::invalid_argument(text);
    return static_cast<std::int64_t>(value);
  } catch (const std::exception&) {
    return Status::InvalidParams(option + " needs a non-negative number");
  }
}

Result<Arguments> ParseArguments(int argc, char** argv) {
  Arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!args.command.empty()) {
      args.operands.push_back(arg);
      continue;
    }
    if (arg == "--verbose") {
      args.verbose = true;
      continue;
    }
    if (arg.rfind("--", 0) == 0) {
      if (i + 1 >= argc) return Status::InvalidParams(arg + " needs a value");
      const std::string value = argv[++i];
      if (arg == "--metadata-dir") {
        args.metadata_dir = value;
      } else if (arg == "--metadata-url") {
        args.metadata_url = value;
      } else if (arg == "--target-name") {
        args.target_names.push_back(value);
      } else if (arg == "--target-base-url") {
        args.target_base_url = value;
      } else if (arg == "--target-dir") {
        args.target_dir = value;
      } else if (arg == "--ca-bundle") {
        args.ca_bundle = value;
      } else if (arg == "--low-speed-time") {
        BW_ASSIGN_OR_RETURN(args.low_speed_time, ParseNumber(value, arg));
      } else if (arg == "--low-speed-limit") {
        BW_ASSIGN_OR_RETURN(args.low_speed_limit, ParseNumber(value, arg));
      } else if (arg == "--timeout") {
        BW_ASSIGN_OR_RETURN(args.timeout, ParseNumber(value, arg));
      } else if (arg == "--max-root-rotations") {
        BW_ASSIGN_OR_RETURN(args.max_root_rotations, ParseNumber(value, arg));
      } else {
        return Status::InvalidParams("unknown option " + arg);
      }
      continue;
    }
    args.command = arg;
  }
  if (args.command.empty()) return Status::InvalidParams("no command (init, refresh or download)");
  if (args.metadata_dir.empty()) return Status::InvalidParams("--metadata-dir is required");
  return args;
}

Status Init(const Arguments& args) {
  if (args.operands.size() != 1) return Status::InvalidParams("init takes one TRUSTED_ROOT file");
  BW_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                      ReadFileIfExists(args.operands[0], kDefaultMaxRootBytes));
  if (!bytes) return Status::InvalidParams("cannot read " + args.operands[0]);
  // Refuse a file that is not even root metadata signed by its own keys, so
  // a typo does not leave an unusable DIR behind. Time does not matter (5.2).
  auto set = tuf::TrustedMetadataSet::Create(*bytes, tuf::TimePoint{});
  if (!set.ok()) return set.status().WithContext("not a valid trusted root");
  std::error_code ec;
  fs::create_directories(args.metadata_dir, ec);
  if (ec) return Status::Storage("cannot create " + args.metadata_dir + ": " + ec.message());
  MetadataStore store(args.metadata_dir);
  return store.Store(tuf::kRootRole, *bytes);
}

CurlFetcherOptions FetcherOptionsFor(const Arguments& args) {
  CurlFetcherOptions options;
  // The conformance protocol serves repositories on loopback over http.
  options.allow_insecure_http = true;
  options.ca_bundle = args.ca_bundle;
  if (options.ca_bundle.empty()) {
    if (const char* env = std::getenv("BELLWETHER_CA_BUNDLE"); env != nullptr) options.ca_bundle = env;
  }
  if (args.low_speed_time >= 0) options.low_speed_time = std::chrono::seconds(args.low_speed_time);
  if (args.low_speed_limit >= 0) options.low_speed_bytes_per_second = args.low_speed_limit;
  if (args.timeout > 0) options.overall_timeout = std::chrono::seconds(args.timeout);
  options.user_agent = "bellwether-tuf-client";
  return options;
}

Status RefreshOrDownload(const Arguments& args, bool download) {
  if (args.metadata_url.empty()) return Status::InvalidParams("--metadata-url is required");
  if (!args.operands.empty()) return Status::InvalidParams("unexpected argument " + args.operands[0]);
  if (download) {
    if (args.target_names.empty()) return Status::InvalidParams("--target-name is required");
    if (args.target_base_url.empty()) return Status::InvalidParams("--target-base-url is required");
    if (args.target_dir.empty()) return Status::InvalidParams("--target-dir is required");
  }
  std::error_code ec;
  if (!fs::is_directory(args.metadata_dir, ec)) {
    return Status::InvalidParams(args.metadata_dir + " is not a directory (run init first)");
  }
  MetadataStore store(args.metadata_dir);
  CurlFetcher fetcher(FetcherOptionsFor(args));
  UpdaterOptions options;
  options.metadata_base_url = args.metadata_url;
  options.target_base_url = args.target_base_url;
  if (args.max_root_rotations >= 0) options.max_root_rotations = static_cast<int>(args.max_root_rotations);
  Updater updater(store, fetcher, options);
  BW_RETURN_IF_ERROR(updater.Refresh());
  if (!download) return Status::Ok();

  fs::create_directories(args.target_dir, ec);
  if (ec) return Status::Storage("cannot create " + args.target_dir + ": " + ec.message());
  RemoveStaleTempFiles(args.target_dir);
  for (const std::string& name : args.target_names) {
    BW_ASSIGN_OR_RETURN(tuf::TargetFile info, updater.GetTargetInfo(name));
    const std::string file_name = tuf::EncodeRoleName(name);
    if (file_name.empty() || file_name == "." || file_name == "..") {
      return Status::InvalidParams("target name \"" + name + "\" cannot be a file name");
    }
    const fs::path local = fs::path(args.target_dir) / file_name;
    if (Updater::IsCachedTargetValid(info, local)) continue;
    BW_RETURN_IF_ERROR(updater.DownloadTarget(info, local));
  }
  return Status::Ok();
}

int Run(int argc, char** argv) {
  auto args = ParseArguments(argc, argv);
  if (!args.ok()) {
    std::cerr << "bellwether-tuf-client: " << args.status().message() << "\n";
    return 1;
  }
  log::SetMinimumLevel(args->verbose ? log::Level::kDebug : log::Level::kWarning);
  Status status;
  if (args->command == "init") {
    status = Init(*args);
  } else if (args->command == "refresh") {
    status = RefreshOrDownload(*args, false);
  } else if (args->command == "download") {
    status = RefreshOrDownload(*args, true);
  } else {
    status = Status::InvalidParams("unknown command " + args->command);
  }
  if (!status.ok()) {
    std::cerr << "bellwether-tuf-client: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace bellwether::update

int main(int argc, char** argv) {
  try {
    return bellwether::update::Run(argc, argv);
  } catch (...) {
    // Exit status is part of the protocol: never anything but 0 or 1.
    std::cerr << "bellwether-tuf-client: unexpected internal error\n";
    return 1;
  }
}
