#include "vault/vault_methods.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "common/file_util.h"
#include "common/log.h"
#include "common/paths.h"
#include "crypto/base64.h"
#include "vault/backup_files.h"

namespace bellwether::vault {
namespace {

static_assert(kMaxBackupFileBytes == kMaxBackupBytes, "a backup file holds any backup the vault writes");
static_assert(kMaxValueDepth + 2 >= messaging::kMaxJsonDepth,
              "the vault holds any value a request can carry");

using nlohmann::json;
using messaging::RequestContext;

// Owns the lazily opened vault, shared by every handler.
// Opens the vault on first use and, when an idle timeout is set, runs a
// timer that wipes the keys once the port has been quiet that long (the
// vault itself only notices idleness at the next call).
class LazyVault {
 public:
  LazyVault(VaultOptions options, std::function<void()> on_idle_wipe)
      : options_(std::move(options)), on_idle_wipe_(std::move(on_idle_wipe)) {
    if (options_.data_dir.empty()) options_.data_dir = paths::DataDir();
  }
  ~LazyVault() {
    {
      std::lock_guard<std::mutex> lock(timer_mu_);
      stop_ = true;
    }
    timer_wake_.notify_all();
    if (timer_.joinable()) timer_.join();
  }
  LazyVault(const LazyVault&) = delete;
  LazyVault& operator=(const LazyVault&) = delete;

  Result<Vault*> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!vault_) {
      BW_ASSIGN_OR_RETURN(vault_, Vault::Open(options_));
      if (options_.idle_timeout.count() > 0) timer_ = std::thread([this] { IdleTimer(); });
    }
    return vault_.get();
  }

  const std::filesystem::path& data_dir() const { return options_.data_dir; }

 private:
  void IdleTimer() {
    // Checks a few times per timeout, so keys outlive it by at most a quarter.
    const auto period = std::max<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.idle_timeout) / 4,
        std::chrono::milliseconds(100));
    std::unique_lock<std::mutex> lock(timer_mu_);
    while (!timer_wake_.wait_for(lock, period, [this] { return stop_; })) {
      if (!vault_->WipeKeysIfIdle()) continue;
      log::Info("vault: keys wiped from memory after the idle timeout");
      if (on_idle_wipe_) on_idle_wipe_();
    }
  }

  std::mutex mu_;
  VaultOptions options_;
  std::function<void()> on_idle_wipe_;
  std::unique_ptr<Vault> vault_;
  std::mutex timer_mu_;
  std::condition_variable timer_wake_;
  bool stop_ = false;
  std::thread timer_;
};

Result<std::optional<std::string>> OptionalString(const json& params, const char* name) {
  const json* it = messaging::OptionalParam(params, name);
  if (it == nullptr) return std::optional<std::string>();
  if (!it->is_string()) return Status::InvalidParams(std::string("parameter \"") + name + "\" must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<std::int64_t>> OptionalRevision(const json& params) {
  const json* it = messaging::OptionalParam(params, "expectedRevision");
  if (it == nullptr) return std::optional<std::int64_t>();
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0) {
    return Status::InvalidParams("parameter \"expectedRevision\" must be a non-negative integer");
  }
  return std::optional<std::int64_t>(it->get<std::int64_t>());
}

json OptionalTime(const std::optional<std::chrono::system_clock::time_point>& t) {
  return t ? json(FormatIso8601(*t)) : json(nullptr);
}

// A request whose parameters passed their checks: what to run once the
// vault is open. (It may keep views into the request's params, which
// outlive it.)
using Run = std::function<Result<json>(Vault& vault)>;
// Checks a request's parameters, opening nothing, and returns what to run.
using Handler = std::function<Result<Run>(const json& params)>;

}  // namespace

std::vector<std::string> VaultMethodNames() {
  // Derived from the registration itself (which opens nothing), so the two
  // cannot drift apart.
  messaging::Dispatcher scratch;
  RegisterVaultMethods(scratch, VaultMethodOptions{});
  return scratch.Methods();
}

Result<VaultMethodOptions> ApplyVaultConfig(VaultMethodOptions defaults,
                                            const std::filesystem::path& config_file) {
  VaultMethodOptions options = std::move(defaults);
  Result<std::optional<std::string>> read = ReadFileIfExists(config_file, 64 * 1024);
  if (!read.ok())
    return Status::InvalidParams("cannot read " + config_file.string() + ": " + read.status().message());
  const std::optional<std::string>& bytes = *read;
  if (!bytes) return options;
  const json config = json::parse(*bytes, nullptr, false);
  if (!config.is_object()) return Status::InvalidParams(config_file.string() + " is not a JSON object");
  for (const auto& [name, value] : config.items()) {
    if (name != "quotaBytes" && name != "idleTimeoutMinutes") {
      // A misspelt setting must not quietly leave the default in force.
      return Status::InvalidParams(config_file.string() + ": unknown setting \"" + name +
                                   "\" (known: quotaBytes, idleTimeoutMinutes)");
    }
  }
  auto integer = [&](const char* name, std::int64_t min,
                     std::int64_t max) -> Result<std::optional<std::int64_t>> {
    auto it = config.find(name);
    if (it == config.end()) return std::optional<std::int64_t>();
    if (!it->is_number_integer() || it->get<std::int64_t>() < min || it->get<std::int64_t>() > max) {
      return Status::InvalidParams(config_file.string() + ": \"" + name + "\" must be an integer from " +
                                   std::to_string(min) + " to " + std::to_string(max));
    }
    return std::optional<std::int64_t>(it->get<std::int64_t>());
  };
  BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> quota,
                      integer("quotaBytes", std::int64_t{1} << 20, std::int64_t{16} << 30));
  if (quota) options.vault.quota_bytes = static_cast<std::uint64_t>(*quota);
  BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> idle, integer("idleTimeoutMinutes", 0, 24 * 60));
  if (idle) options.vault.idle_timeout = std::chrono::minutes(*idle);
  return options;
}

void RegisterVaultMethods(messaging::Dispatcher& dispatcher, VaultMethodOptions options) {
  auto lazy = std::make_shared<LazyVault>(std::move(options.vault), std::move(options.on_idle_wipe));
  // Parameters are checked before the vault is opened: a malformed request
  // gets invalid_params whatever state the vault is in, and creates no file.
  // `known`: the method's parameters (any other is refused, so a misspelt
  // one cannot widen a write); empty for a method that takes none (its
  // params are ignored).
  auto add = [&dispatcher, lazy](std::string method, std::initializer_list<std::string_view> known,
                                 Handler handler) {
    dispatcher.Register(std::move(method),
                        [lazy, known = std::vector<std::string_view>(known), handler = std::move(handler)](
                            const json& params, RequestContext&) -> Result<json> {
                          if (!known.empty()) BW_RETURN_IF_ERROR(messaging::OnlyParams(params, known));
                          BW_ASSIGN_OR_RETURN(Run run, handler(params));
                          BW_ASSIGN_OR_RETURN(Vault * vault, lazy->Get());
                          return run(*vault);
                        });
  };

  add("vault.status", {}, [](const json&) -> Result<Run> {
    return Run([](Vault& v) -> Result<json> {
      BW_ASSIGN_OR_RETURN(VaultStatus st, v.GetStatus());
      json out = {{"state", VaultStateName(st.state)},
                  {"keySource", KeySourceName(st.key_source)},
                  {"passphraseSet", st.passphrase_set},
                  {"algorithm", "AES-256-GCM"},
                  {"recordCount", st.record_count},
                  {"usedBytes", st.used_bytes},
                  {"quotaBytes", st.quota_bytes},
                  {"keyId", st.active_key_id},
                  {"keyCreated", OptionalTime(st.key_created)},
                  {"keyAgeSeconds", st.key_age ? json(st.key_age->count()) : json(nullptr)},
                  {"lastRotation", OptionalTime(st.last_rotation)},
                  {"rotationPending", st.rotation_pending},
                  {"formatVersion", kFormatVersion},
                  {"path", st.path.string()}};
      if (!st.locked_reason.empty()) out["lockedReason"] = st.locked_reason;
      return out;
    });
  });

  add("vault.get", {"namespace", "key"}, [](const json& p) -> Result<Run> {
    BW_ASSIGN_OR_RETURN(std::string ns, messaging::RequireString(p, "namespace"));
    BW_ASSIGN_OR_RETURN(std::string key, messaging::RequireString(p, "key"));
    return Run([ns = std::move(ns), key = std::move(key)](Vault& v) -> Result<json> {
      BW_ASSIGN_OR_RETURN(Record r, v.Get(ns, key));
      return json{{"value", std::move(r.value)}, {"revision", r.revision}};
    });
  });

  add("vault.set", {"namespace", "key", "value", "expectedRevision"}, [](const json& p) -> Result<Run> {
    BW_ASSIGN_OR_RETURN(std::string ns, messaging::RequireString(p, "namespace"));
    BW_ASSIGN_OR_RETURN(std::string key, messaging::RequireString(p, "key"));
    if (!p.contains("value")) return Status::InvalidParams("missing parameter \"value\"");
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> expected, OptionalRevision(p));
    const json* value = &p["value"];
    return Run([ns = std::move(ns), key = std::move(key), value, expected](Vault& v) -> Result<json> {
      BW_ASSIGN_OR_RETURN(std::int64_t revision, v.Set(ns, key, *value, expected));
      return json{{"revision", revision}};
    });
  });

  add("vault.delete", {"namespace", "key", "expectedRevision"}, [](const json& p) -> Result<Run> {
    BW_ASSIGN_OR_RETURN(std::string ns, messaging::RequireString(p, "namespace"));
    BW_ASSIGN_OR_RETURN(std::string key, messaging::RequireString(p, "key"));
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> expected, OptionalRevision(p));
    return Run([ns = std::move(ns), key = std::move(key), expected](Vault& v) -> Result<json> {
      BW_RETURN_IF_ERROR(v.Delete(ns, key, expected));
      return json{{"deleted", true}};
    });
  });

  add("vault.list", {"namespace", "prefix", "cursor", "limit"}, [](const json& p) -> Result<Run> {
    BW_ASSIGN_OR_RETURN(std::string ns, messaging::RequireString(p, "namespace"));
    BW_ASSIGN_OR_RETURN(std::optional<std::string> prefix, OptionalString(p, "prefix"));
    BW_ASSIGN_OR_RETURN(std::optional<std::string> cursor, OptionalString(p, "cursor"));
    std::size_t limit = kDefaultListLimit;
    if (const json* it = messaging::OptionalParam(p, "limit")) {
      if (!it->is_number_integer() || it->get<std::int64_t>() < 1 ||
          it->get<std::int64_t>() > static_cast<std::int64_t>(kMaxListLimit)) {
        return Status::InvalidParams("parameter \"limit\" must be an integer 1..1000");
      }
      limit = it->get<std::size_t>();
    }
    return Run([ns = std::move(ns), prefix = std::move(prefix), cursor = std::move(cursor),
                limit](Vault& v) -> Result<json> {
      std::optional<std::string_view> cursor_view;
      if (cursor) cursor_view = *cursor;
      BW_ASSIGN_OR_RETURN(ListPage page, v.List(ns, prefix.value_or(""), cursor_view, limit));
      json items = json::array();
      for (auto& item : page.items)
        items.push_back({{"key", std::move(item.key)}, {"revision", item.revision}});
      return json{{"items", std::move(items)}, {"cursor", page.cursor ? json(*page.cursor) : json(nullptr)}};
    });
  });

  add("vault.clear", {"namespace"}, [](const json& p) -> Result<Run> {
    BW_ASSIGN_OR_RETURN(std::string ns, messaging::RequireString(p, "namespace"));
    return Run([ns = std::move(ns)](Vault& v) -> Result<json> {
      BW_ASSIGN_OR_RETURN(std::uint64_t n, v.Clear(ns));
      return json{{"deleted", n}};
    });
  });

  add("vault.lock", {}, [](const json&) -> Result<Run> {
    return Run([](Vault& v) -> Result<json> { return json{{"locked", v.Lock()}}; });
  });

  add("vault.unlock", {"passphrase"}, [](const json& p) -> Result<Run> {
    BW_ASSIGN_OR_RETURN(std::string_view passphrase, messaging::RequireStringView(p, "passphrase"));
    return Run([passphrase](Vault& v) -> Result<json> {
      BW_RETURN_IF_ERROR(v.Unlock(passphrase));
      return json{{"unlocked", true}};
    });
  });

  add("vault.setPassphrase", {"passphrase", "currentPassphrase"}, [](const json& p) -> Result<Run> {
    if (!p.contains("passphrase"))
      return Status::InvalidParams("missing parameter \"passphrase\" (string or null)");
    std::optional<std::string_view> next, current;
    if (!p["passphrase"].is_null()) {
      BW_ASSIGN_OR_RETURN(next, messaging::RequireStringView(p, "passphrase"));
    }
    if (messaging::OptionalParam(p, "currentPassphrase") != nullptr) {
      BW_ASSIGN_OR_RETURN(current, messaging::RequireStringView(p, "currentPassphrase"));
    }
    return Run([next, current](Vault& v) -> Result<json> {
      BW_RETURN_IF_ERROR(v.SetPassphrase(next, current));
      return json{{"passphraseSet", next.has_value()}};
    });
  });

  add("vault.rotateKey", {}, [](const json&) -> Result<Run> {
    return Run([](Vault& v) -> Result<json> {
      BW_ASSIGN_OR_RETURN(RotationResult r, v.RotateKey());
      return json{{"keyId", r.key_id}, {"resealed", r.resealed}};
    });
  });

  add("vault.export", {"passphrase", "toFile"}, [lazy](const json& p) -> Result<Run> {
    BW_ASSIGN_OR_RETURN(std::string_view passphrase, messaging::RequireStringView(p, "passphrase"));
    bool to_file = false;
    if (const json* it = messaging::OptionalParam(p, "toFile")) {
      if (!it->is_boolean()) return Status::InvalidParams("parameter \"toFile\" must be a boolean");
      to_file = it->get<bool>();
    }
    return Run([lazy, passphrase, to_file](Vault& v) -> Result<json> {
      BW_ASSIGN_OR_RETURN(ExportResult r, v.Export(passphrase));
      if (to_file) {
        BW_ASSIGN_OR_RETURN(std::filesystem::path path,
                            WriteBackupFile(lazy->data_dir(), r.backup, std::chrono::system_clock::now()));
        return json{{"file", path.filename().string()}, {"path", path.string()}, {"records", r.records}};
      }
      if (r.backup.size() > kMaxInlineBackupBytes) {
        return Status::TooLarge("the backup is " + std::to_string(r.backup.size()) +
                                " bytes, too large for one reply; call vault.export with {\"toFile\": true}");
      }
      return json{{"backup", std::move(r.backup)}, {"records", r.records}};
    });
  });

  add("vault.import", {"passphrase", "backup", "file"}, [lazy](const json& p) -> Result<Run> {
    BW_ASSIGN_OR_RETURN(std::string_view passphrase, messaging::RequireStringView(p, "passphrase"));
    // Before an upload is used up (below): a request that cannot succeed
    // leaves it for the corrected one.
    BW_RETURN_IF_ERROR(ValidatePassphrase(passphrase));
    BW_ASSIGN_OR_RETURN(std::optional<std::string> backup, OptionalString(p, "backup"));
    BW_ASSIGN_OR_RETURN(std::optional<std::string> file, OptionalString(p, "file"));
    if (backup.has_value() == file.has_value()) {
      return Status::InvalidParams("give exactly one of \"backup\" (the text) or \"file\" (a name in backups/)");
    }
    return Run(
        [lazy, passphrase, backup = std::move(backup), file = std::move(file)](Vault& v) -> Result<json> {
          std::string text;
          if (file) {
            BW_ASSIGN_OR_RETURN(text, ReadBackupFile(lazy->data_dir(), *file));
            if (IsUploadName(*file)) {
              // An upload exists for one import, whatever its outcome (a wrong
              // passphrase included: the reader keeps the original and sends
              // it again), so failed attempts never pile up against
              // kMaxOpenUploads.
              std::error_code ec;
              std::filesystem::remove(BackupDir(lazy->data_dir()) / *file, ec);
            }
          }
          BW_ASSIGN_OR_RETURN(ImportReport r, v.Import(file ? text : *backup, passphrase));
          return json{{"added", r.added}, {"updated", r.updated}, {"unchanged", r.unchanged}};
        });
  });

  // Moving backups in pieces needs no keys: the vault is not opened.
  dispatcher.Register("vault.downloadBackup", [lazy](const json& p, RequestContext&) -> Result<json> {
    BW_RETURN_IF_ERROR(messaging::OnlyParams(p, {"file", "offset"}));
    BW_ASSIGN_OR_RETURN(std::string file, messaging::RequireString(p, "file"));
    BW_ASSIGN_OR_RETURN(std::int64_t offset, messaging::RequireInt(p, "offset"));
    if (offset < 0) return Status::InvalidParams("parameter \"offset\" must be >= 0");
    BW_ASSIGN_OR_RETURN(BackupChunk chunk,
                        ReadBackupChunk(lazy->data_dir(), file, static_cast<std::uint64_t>(offset)));
    const std::uint64_t next = static_cast<std::uint64_t>(offset) + chunk.data.size();
    const std::span<const std::uint8_t> raw(reinterpret_cast<const std::uint8_t*>(chunk.data.data()),
                                            chunk.data.size());
    return json{
        {"data", crypto::Base64Encode(raw)}, {"offset", next}, {"size", chunk.size}, {"done", chunk.done}};
  });

  dispatcher.Register("vault.uploadBackup", [lazy](const json& p, RequestContext&) -> Result<json> {
    BW_RETURN_IF_ERROR(messaging::OnlyParams(p, {"upload", "offset", "data", "done"}));
    BW_ASSIGN_OR_RETURN(std::optional<std::string> upload, OptionalString(p, "upload"));
    BW_ASSIGN_OR_RETURN(std::int64_t offset, messaging::RequireInt(p, "offset"));
    if (offset < 0) return Status::InvalidParams("parameter \"offset\" must be >= 0");
    BW_ASSIGN_OR_RETURN(std::string data, messaging::RequireString(p, "data"));
    bool done = false;
    if (messaging::OptionalParam(p, "done") != nullptr) {
      BW_ASSIGN_OR_RETURN(done, messaging::RequireBool(p, "done"));
    }
    BW_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, crypto::Base64Decode(data));
    if (bytes.size() > kBackupChunkBytes) {
      return Status::TooLarge("a chunk may hold at most " + std::to_string(kBackupChunkBytes) + " bytes");
    }
    if (!upload) {
      if (offset != 0) return Status::InvalidParams("a new upload starts at offset 0");
      BW_ASSIGN_OR_RETURN(std::string id, StartUpload(lazy->data_dir()));
      upload = std::move(id);
    }
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    BW_ASSIGN_OR_RETURN(std::uint64_t received,
                        AppendUpload(lazy->data_dir(), *upload, static_cast<std::uint64_t>(offset), text));
    json out = {{"upload", *upload}, {"offset", received}};
    if (done) {
      BW_ASSIGN_OR_RETURN(std::string name, FinishUpload(lazy->data_dir(), *upload));
      out["file"] = name;
    }
    return out;
  });
}

}  // namespace bellwether::vault
