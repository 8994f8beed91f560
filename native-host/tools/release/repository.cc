#include "repository.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "crypto/random.h"
#include "update/tuf/defaults.h"
#include "update/tuf/target_search.h"
#include "update/tuf/trusted_metadata_set.h"

namespace bellwether::release {
namespace {

namespace fs = std::filesystem;

constexpr int kConfigFormat = 1;
constexpr std::int64_t kMaxConfigBytes = 1 << 20;
constexpr std::int64_t kMaxStagedBytes = 64 << 20;
constexpr std::int64_t kMaxKeyFileBytes = 64 << 10;
constexpr unsigned kPublicFileMode = 0644;
constexpr unsigned kPrivateFileMode = 0600;
constexpr unsigned kPublicDirMode = 0755;
constexpr unsigned kPrivateDirMode = 0700;

Status Failure(std::string message) {
  return Status(ErrorCode::kInternal, std::move(message));
}

std::string ErrnoText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Overwrites a string holding secret material before it is freed.
void Wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

std::string_view KeyAlgorithmName(tuf::KeyAlgorithm algorithm) {
  switch (algorithm) {
    case tuf::KeyAlgorithm::kEd25519: return "ed25519";
    case tuf::KeyAlgorithm::kEcdsaP256: return "ecdsa";
    case tuf::KeyAlgorithm::kRsaPss3072: return "rsa";
  }
  return "ed25519";
}

// What a failed init created, so it can be removed and the same command
// simply run again. Watch() records a directory's entries (or that it did
// not exist) and which names init may create in it; Undo (the destructor,
// unless Commit() was called) removes, deepest watch first, the entries
// with such names that appeared since, or the whole directory if init
// created it. Nothing else is ever deleted.
class InitRollback {
 public:
  using MayCreate = std::function<bool(const std::string& name)>;

  Status Watch(const fs::path& dir, MayCreate may_create) {
    Watched w{dir, false, {}, std::move(may_create)};
    std::error_code ec;
    const fs::file_status status = fs::symlink_status(dir, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Failure("cannot inspect " + dir.string() + ": " + ec.message());
    }
    if (status.type() != fs::file_type::not_found) {
      w.existed = true;
      BW_ASSIGN_OR_RETURN(w.before, Entries(dir));
    }
    watched_.push_back(std::move(w));
    return Status::Ok();
  }
  void Commit() { watched_.clear(); }
  ~InitRollback() {
    for (auto it = watched_.rbegin(); it != watched_.rend(); ++it) {
      std::error_code ec;
      if (!it->existed) {
        fs::remove_all(it->dir, ec);
        continue;
      }
      auto now = Entries(it->dir);
      if (!now.ok()) continue;  // Cannot tell what is new: leave it all.
      for (const std::string& name : *now) {
        if (it->before.count(name) == 0 && it->may_create(name)) fs::remove_all(it->dir / name, ec);
      }
    }
  }

 private:
  struct Watched {
    fs::path dir;
    bool existed;
    std::set<std::string> before;
    MayCreate may_create;
  };
  // Names in `dir`, without throwing.
  static Result<std::set<std::string>> Entries(const fs::path& dir) {
    std::set<std::string> names;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec))
      names.insert(it->path().filename().string());
    if (ec) return Failure("cannot list " + dir.string() + ": " + ec.message());
    return names;
  }
  std::vector<Watched> watched_;
};

bool IsTopLevelRole(std::string_view role) {
  return std::find(kTopLevelRoles.begin(), kTopLevelRoles.end(), role) != kTopLevelRoles.end();
}

int DefaultExpiryDays(std::string_view role) {
  if (role == tuf::kRootRole) return kDefaultRootExpiryDays;
  if (role == tuf::kTargetsRole) return kDefaultTargetsExpiryDays;
  if (role == tuf::kSnapshotRole) return kDefaultSnapshotExpiryDays;
  return kDefaultTimestampExpiryDays;
}

// mkdir -p, giving each directory it creates `mode`; chmod of the last one.
Status MakeDirs(const fs::path& dir, unsigned mode) {
  fs::path current;
  for (const auto& part : dir) {
    current /= part;
    if (current.empty() || current == current.root_path()) continue;
    if (::mkdir(current.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
      return Failure("cannot create directory " + current.string() + ": " + ErrnoText(errno));
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Failure(dir.string() + " is not a directory");
  }
  if (::chmod(dir.c_str(), static_cast<mode_t>(mode)) != 0) {
    return Failure("cannot chmod " + dir.string() + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

// The absolute, symlink-resolved form of `path` (which need not exist).
Result<fs::path> Resolve(const fs::path& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) return Failure("cannot resolve " + path.string() + ": " + ec.message());
  fs::path resolved = fs::weakly_canonical(absolute, ec);
  if (ec) return Failure("cannot resolve " + path.string() + ": " + ec.message());
  return resolved;
}

// Private keys must never be published: KEYS may not be REPO or lie below it.
Status CheckKeysOutsideRepo(const fs::path& repo, const fs::path& keys) {
  BW_ASSIGN_OR_RETURN(fs::path repo_resolved, Resolve(repo));
  BW_ASSIGN_OR_RETURN(fs::path keys_resolved, Resolve(keys));
  auto [repo_it, keys_it] =
      std::mismatch(repo_resolved.begin(), repo_resolved.end(), keys_resolved.begin(), keys_resolved.end());
  // A trailing empty element ("dir/") would otherwise hide the match.
  while (repo_it != repo_resolved.end() && repo_it->empty()) ++repo_it;
  if (repo_it == repo_resolved.end()) {
    return Status::InvalidParams("the keys directory " + keys_resolved.string() +
                                 " is inside the repository directory " + repo_resolved.string() +
                                 "; private keys must never be published: choose a keys "
                                 "directory outside the repository");
  }
  return Status::Ok();
}

Result<nlohmann::json> ParseJsonFile(const fs::path& path, std::int64_t max_bytes) {
  BW_ASSIGN_OR_RETURN(std::string bytes, ReadFileLimited(path, max_bytes));
  nlohmann::json json = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Failure(path.string() + " is not valid JSON");
  return json;
}

struct LoadedEnvelope {
  std::string bytes;
  tuf::SignedEnvelope envelope;
};

Result<LoadedEnvelope> LoadEnvelope(const fs::path& path, std::int64_t max_bytes) {
  BW_ASSIGN_OR_RETURN(std::string bytes, ReadFileLimited(path, max_bytes));
  auto envelope = tuf::SignedEnvelope::Parse(bytes);
  if (!envelope.ok()) return envelope.status().WithContext(path.string());
  return LoadedEnvelope{std::move(bytes), std::move(envelope).value()};
}

tuf::MetaFile MetaFileFor(std::int64_t version, std::string_view bytes) {
  tuf::MetaFile meta;
  meta.version = version;
  meta.length = static_cast<std::int64_t>(bytes.size());
  meta.hashes["sha256"] = crypto::HexEncode(crypto::Sha256(bytes));
  return meta;
}

tuf::SignedHeader Header(std::string_view type, std::int64_t version, tuf::TimePoint expires) {
  tuf::SignedHeader header;
  header.type = std::string(type);
  header.spec_version = std::string(tuf::kSpecVersion);
  header.version = version;
  header.expires = expires;
  return header;
}

bool SameTargets(const std::map<std::string, tuf::TargetFile>& a,
                 const std::map<std::string, tuf::TargetFile>& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    if (ia->first != ib->first || ia->second.ToJson() != ib->second.ToJson()) return false;
  }
  return true;
}

fs::path KeyFile(const fs::path& keys, std::string_view role, std::string_view keyid) {
  return keys / std::string(role) / (std::string(keyid) + ".pem");
}

Result<tuf::PrivateKey> GenerateAndStoreKey(const fs::path& keys, std::string_view role,
                                            tuf::KeyAlgorithm algorithm) {
  BW_ASSIGN_OR_RETURN(tuf::PrivateKey key, tuf::PrivateKey::Generate(algorithm));
  BW_ASSIGN_OR_RETURN(std::string keyid, key.KeyId());
  BW_RETURN_IF_ERROR(MakeDirs(keys / std::string(role), kPrivateDirMode));
  BW_ASSIGN_OR_RETURN(std::string pem, key.ToPem());
  Status written = WriteFileAtomically(KeyFile(keys, role, keyid), pem, kPrivateFileMode);
  Wipe(pem);
  BW_RETURN_IF_ERROR(written);
  return key;
}

// Loads KEYS/<role>/<keyid>.pem; nullopt when absent (an offline key).
Result<std::optional<tuf::PrivateKey>> LoadKeyFile(const fs::path& keys, std::string_view role,
                                                   std::string_view keyid) {
  fs::path path = KeyFile(keys, role, keyid);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<tuf::PrivateKey>();
    return Failure("cannot stat " + path.string() + ": " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) return Failure(path.string() + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    return Failure("private key " + path.string() +
                   " is readable by group or others; run `chmod 600` on it (and check who "
                   "may have copied it)");
  }
  BW_ASSIGN_OR_RETURN(std::string pem, ReadFileLimited(path, kMaxKeyFileBytes));
  auto key = tuf::PrivateKey::FromPem(pem);
  Wipe(pem);
  if (!key.ok()) return key.status().WithContext(path.string());
  BW_ASSIGN_OR_RETURN(std::string actual_keyid, key->KeyId());
  if (actual_keyid != keyid) {
    return Failure(path.string() + " holds key " + actual_keyid + ", not " + std::string(keyid));
  }
  return std::optional<tuf::PrivateKey>(std::move(key).value());
}

// The public keys of `role` whose private keys KEYS still holds although
// the newest root (`current`) no longer lists them: keys a `rotate` replaced
// (KEYS/retired/<role>/) or had not yet moved there when it was
// interrupted (KEYS/<role>/). Unreadable or mismatched key files are
// skipped: they only make fewer keys trusted.
Result<std::map<std::string, tuf::PublicKey>> LoadReplacedKeys(const fs::path& keys, std::string_view role,
                                                               const tuf::RoleKeys& current) {
  constexpr int kMaxKeyFiles = 256;  // Bounds the work on a cluttered KEYS.
  std::map<std::string, tuf::PublicKey> replaced;
  int seen = 0;
  for (const fs::path& base : {keys / "retired", keys}) {
    std::error_code ec;
    fs::directory_iterator it(base / std::string(role), ec);
    for (; !ec && it != fs::directory_iterator() && seen < kMaxKeyFiles; it.increment(ec), ++seen) {
      const fs::path& file = it->path();
      if (file.extension() != ".pem") continue;
      std::string keyid = file.stem().string();
      if (std::find(current.keyids.begin(), current.keyids.end(), keyid) != current.keyids.end()) continue;
      auto key = LoadKeyFile(base, role, keyid);
      if (key.ok() && key->has_value()) replaced.insert_or_assign(keyid, (*key)->public_key());
    }
  }
  return replaced;
}

Status CopyTargetFile(const fs::path& from_data_path, const fs::path& to) {
  BW_ASSIGN_OR_RETURN(std::string data, ReadFileLimited(from_data_path, kMaxTargetBytes));
  BW_RETURN_IF_ERROR(MakeDirs(to.parent_path(), kPublicDirMode));
  return WriteFileAtomically(to, data, kPublicFileMode);
}

}  // namespace

Clock SystemClock() {
  return [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); };
}

Status WriteFileAtomically(const fs::path& path, std::string_view data, unsigned mode) {
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::uint8_t random[8];
  BW_RETURN_IF_ERROR(crypto::RandomBytes(random, sizeof random));
  fs::path temp = dir / ("." + path.filename().string() + ".tmp-" + crypto::HexEncode(random));
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return Failure("cannot create " + temp.string() + ": " + ErrnoText(errno));
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return Failure(what + " " + path.string() + ": " + ErrnoText(err));
  };
  // The umask may have removed bits the caller asked for (0644); set exactly.
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return fail("cannot chmod");
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Failure("cannot close " + path.string() + ": " + ErrnoText(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Failure("cannot rename into " + path.string() + ": " + ErrnoText(err));
  }
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);  // Best effort: the rename is what matters for readers.
    ::close(dir_fd);
  }
  return Status::Ok();
}

Result<std::string> ReadFileLimited(const fs::path& path, std::int64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path.string());
  std::string data;
  char buffer[65536];
  while (in) {
    in.read(buffer, sizeof buffer);
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    if (static_cast<std::int64_t>(data.size()) + n > max_bytes) {
      return Status(ErrorCode::kUpdateTooLarge,
                    path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    data.append(buffer, static_cast<std::size_t>(n));
  }
  if (in.bad()) return Failure("error reading " + path.string());
  return data;
}

Status ValidateTargetName(std::string_view name) {
  if (name.empty()) return Status::InvalidParams("target name is empty");
  if (name.size() > 1024) return Status::InvalidParams("target name is longer than 1024 bytes");
  if (name.front() == '/') {
    return Status::InvalidParams("target name must be relative: " + std::string(name));
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') {
      return Status::InvalidParams("target name has a control character or backslash");
    }
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view segment = name.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return Status::InvalidParams("target name has an empty, '.' or '..' segment: " + std::string(name));
    }
    start = end + 1;
  }
  return Status::Ok();
}

Repository::~Repository() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // Releases the flock.
}

Status Repository::Lock(std::chrono::milliseconds wait) {
  fs::path path = keys_ / "lock";
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kPrivateFileMode);
  if (lock_fd_ < 0) return Failure("cannot open " + path.string() + ": " + ErrnoText(errno));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return Failure("cannot lock " + path.string() + ": " + ErrnoText(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(ErrorCode::kUpdateInProgress, "another bellwether-release is working with " +
                                                      keys_.string() + " (lock " + path.string() +
                                                      "); try again when it has finished");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

tuf::TimePoint Repository::ExpiryFor(std::string_view role,
                                     const std::map<std::string, int, std::less<>>& overrides) const {
  int days = DefaultExpiryDays(role);
  if (auto it = config_.expires_days.find(role); it != config_.expires_days.end()) days = it->second;
  if (auto it = overrides.find(role); it != overrides.end()) days = it->second;
  return clock_() + std::chrono::days(days);
}

Status Repository::SaveConfig() const {
  nlohmann::json expires = nlohmann::json::object();
  for (const auto& [role, days] : config_.expires_days) expires[role] = days;
  nlohmann::json config = {
      {"format", kConfigFormat},
      {"key_algorithm", KeyAlgorithmName(config_.key_algorithm)},
      {"expires_days", expires},
  };
  return WriteFileAtomically(keys_ / "config.json", config.dump(2) + "\n", kPrivateFileMode);
}

Status Repository::SaveStaged() const {
  nlohmann::json targets = nlohmann::json::object();
  for (const auto& [path, file] : staged_) targets[path] = file.ToJson();
  nlohmann::json staged = {{"format", kConfigFormat}, {"targets", targets}};
  return WriteFileAtomically(keys_ / "staged-targets.json", staged.dump(2) + "\n", kPrivateFileMode);
}

Result<std::string> Repository::SignRole(const nlohmann::json& signed_json, std::string_view role,
                                         const std::vector<tuf::PrivateKey>& extra) const {
  BW_ASSIGN_OR_RETURN(tuf::SignedEnvelope envelope, tuf::SignedEnvelope::Create(signed_json));
  std::set<std::string> signed_by;
  auto sign = [&](const tuf::PrivateKey& key) -> Status {
    BW_ASSIGN_OR_RETURN(std::string keyid, key.KeyId());
    if (!signed_by.insert(keyid).second) return Status::Ok();
    return envelope.AddSignature(key);
  };
  if (auto it = keys_by_role_.find(role); it != keys_by_role_.end()) {
    for (const auto& key : it->second) BW_RETURN_IF_ERROR(sign(key));
  }
  for (const auto& key : extra) BW_RETURN_IF_ERROR(sign(key));
  // Self-check: what we publish must pass the client's threshold rule.
  const tuf::RoleKeys* role_keys = root_.FindRole(role);
  if (role_keys == nullptr) return Failure("root lists no role " + std::string(role));
  Status verified = tuf::VerifyThreshold(envelope, role, root_.keys, *role_keys);
  if (!verified.ok()) {
    return Failure("cannot sign " + std::string(role) + ": only " +
                   std::to_string(tuf::CountValidSignatures(envelope, root_.keys, *role_keys)) + " of the " +
                   std::to_string(role_keys->threshold) + " keys it needs are in " +
                   (keys_ / std::string(role)).string());
  }
  return envelope.Serialize();
}

Result<std::unique_ptr<Repository>> Repository::Init(const fs::path& repo, const fs::path& keys,
                                                     const InitOptions& options, Clock clock,
                                                     std::chrono::milliseconds lock_wait) {
  BW_RETURN_IF_ERROR(CheckKeysOutsideRepo(repo, keys));
  for (const auto& [role, threshold] : options.thresholds) {
    if (!IsTopLevelRole(role)) return Status::InvalidParams("unknown role " + role);
    if (threshold < 1 || threshold > kMaxThreshold) {
      return Status::InvalidParams("threshold of " + role + " must be 1.." + std::to_string(kMaxThreshold));
    }
  }
  for (const auto& [role, days] : options.expires_days) {
    if (!IsTopLevelRole(role)) return Status::InvalidParams("unknown role " + role);
    if (days < 1 || days > kMaxExpiryDays) {
      return Status::InvalidParams("expiry of " + role + " must be 1.." + std::to_string(kMaxExpiryDays) +
                                   " days");
    }
  }
  std::error_code ec;
  for (const fs::path& dir : {keys, repo, repo / "metadata", repo / "targets"}) {
    const fs::file_status status = fs::status(dir, ec);  // Follows symlinks, as MakeDirs does.
    if (fs::exists(status) && !fs::is_directory(status)) {
      return Status::InvalidParams(dir.string() + " exists and is not a directory");
    }
  }
  if (fs::exists(repo / "metadata" / "root.json", ec)) {
    return Status::InvalidParams(repo.string() + " already holds a repository");
  }
  if (fs::exists(keys / "config.json", ec)) {
    return Status::InvalidParams(keys.string() + " already holds repository keys");
  }
  for (std::string_view role : kTopLevelRoles) {
    if (fs::exists(keys / std::string(role), ec)) {
      return Status::InvalidParams(keys.string() + " already holds " + std::string(role) +
                                   " keys; use an empty directory");
    }
  }

  std::unique_ptr<Repository> r(new Repository());
  r->repo_ = repo;
  r->keys_ = keys;
  r->clock_ = std::move(clock);
  r->config_.key_algorithm = options.key_algorithm;
  r->config_.expires_days = options.expires_days;
  BW_RETURN_IF_ERROR(MakeDirs(keys, kPrivateDirMode));
  BW_RETURN_IF_ERROR(r->Lock(lock_wait));
  if (fs::exists(keys / "config.json", ec)) {  // Lost a race with another init.
    return Status::InvalidParams(keys.string() + " already holds repository keys");
  }
  // From here on, a failure leaves things as they were (but for the lock).
  InitRollback rollback;
  auto is_temp = [](const std::string& name) { return name.find(".tmp-") != std::string::npos; };
  BW_RETURN_IF_ERROR(rollback.Watch(keys, [&](const std::string& name) {
    return name == "config.json" || name == "staged-targets.json" || IsTopLevelRole(name) || is_temp(name);
  }));
  BW_RETURN_IF_ERROR(
      rollback.Watch(repo, [](const std::string& name) { return name == "metadata" || name == "targets"; }));
  BW_RETURN_IF_ERROR(rollback.Watch(
      repo / "metadata", [&](const std::string& name) { return name.ends_with(".json") || is_temp(name); }));
  BW_RETURN_IF_ERROR(rollback.Watch(repo / "targets", [](const std::string&) { return false; }));
  BW_RETURN_IF_ERROR(MakeDirs(repo / "metadata", kPublicDirMode));
  BW_RETURN_IF_ERROR(MakeDirs(repo / "targets", kPublicDirMode));
  BW_RETURN_IF_ERROR(r->SaveConfig());

  tuf::RootMetadata root;
  root.header = Header(tuf::kRootRole, 1, r->ExpiryFor(tuf::kRootRole, {}));
  root.consistent_snapshot = options.consistent_snapshot;
  for (std::string_view role : kTopLevelRoles) {
    int threshold = 1;
    if (auto it = options.thresholds.find(role); it != options.thresholds.end()) {
      threshold = it->second;
    }
    tuf::RoleKeys role_keys;
    role_keys.threshold = threshold;
    for (int i = 0; i < threshold; ++i) {
      BW_ASSIGN_OR_RETURN(tuf::PrivateKey key, GenerateAndStoreKey(keys, role, options.key_algorithm));
      BW_ASSIGN_OR_RETURN(std::string keyid, key.KeyId());
      root.keys.emplace(keyid, key.public_key());
      role_keys.keyids.push_back(keyid);
      r->keys_by_role_[std::string(role)].push_back(std::move(key));
    }
    root.roles.emplace(std::string(role), std::move(role_keys));
  }
  r->root_ = root;
  BW_ASSIGN_OR_RETURN(std::string root_bytes, r->SignRole(root.ToJson(), tuf::kRootRole));
  BW_RETURN_IF_ERROR(WriteFileAtomically(r->MetadataDir() / "1.root.json", root_bytes, kPublicFileMode));
  BW_RETURN_IF_ERROR(WriteFileAtomically(r->MetadataDir() / "root.json", root_bytes, kPublicFileMode));
  r->root_bytes_ = std::move(root_bytes);

  // Version 0 means "nothing published yet": the first publish writes 1.
  r->targets_.header = Header(tuf::kTargetsRole, 0, r->clock_());
  BW_RETURN_IF_ERROR(r->SaveStaged());
  PublishOptions first;
  first.force_targets = true;
  BW_ASSIGN_OR_RETURN(PublishResult published, r->Publish(first));
  (void)published;
  rollback.Commit();
  return r;
}

Result<std::unique_ptr<Repository>> Repository::Open(const fs::path& repo, const fs::path& keys, Clock clock,
                                                     std::chrono::milliseconds lock_wait) {
  BW_RETURN_IF_ERROR(CheckKeysOutsideRepo(repo, keys));
  std::unique_ptr<Repository> r(new Repository());
  r->repo_ = repo;
  r->keys_ = keys;
  r->clock_ = std::move(clock);
  std::error_code ec;
  if (!fs::exists(keys / "config.json", ec)) {
    return Status::NotFound("no repository keys in " + keys.string() +
                            " (config.json missing); run `bellwether-release init`");
  }
  // State is read under the lock, so two processes never sign from the
  // same versions.
  BW_RETURN_IF_ERROR(r->Lock(lock_wait));

  auto config = ParseJsonFile(keys / "config.json", kMaxConfigBytes);
  if (!config.ok()) {
    return Status::NotFound("no repository keys in " + keys.string() +
                            " (config.json missing or unreadable); run `bellwether-release init`");
  }
  if (!config->is_object() || config->value("format", 0) != kConfigFormat) {
    return Failure((keys / "config.json").string() + " has an unknown format");
  }
  auto algorithm_name = config->value("key_algorithm", std::string("ed25519"));
  BW_ASSIGN_OR_RETURN(r->config_.key_algorithm, tuf::ParseKeyAlgorithm(algorithm_name));
  if (auto it = config->find("expires_days"); it != config->end() && it->is_object()) {
    for (const auto& [role, days] : it->items()) {
      if (!IsTopLevelRole(role) || !days.is_number_integer()) {
        return Failure((keys / "config.json").string() + ": bad expires_days entry " + role);
      }
      r->config_.expires_days[role] = days.get<int>();
    }
  }
  BW_RETURN_IF_ERROR(r->LoadState());
  BW_RETURN_IF_ERROR(r->LoadKeys());
  return r;
}

Status Repository::LoadState() {
  // The newest root, which must be self-consistent (signed by its own keys).
  BW_ASSIGN_OR_RETURN(LoadedEnvelope root,
                      LoadEnvelope(MetadataDir() / "root.json", tuf::kDefaultMaxRootBytes));
  auto root_meta = tuf::RootMetadata::FromJson(root.envelope.signed_json());
  if (!root_meta.ok()) return root_meta.status().WithContext("metadata/root.json");
  root_ = std::move(root_meta).value();
  root_bytes_ = std::move(root.bytes);
  const tuf::RoleKeys* root_role = root_.FindRole(tuf::kRootRole);
  if (root_role == nullptr) return Failure("metadata/root.json has no root role");
  BW_RETURN_IF_ERROR(tuf::VerifyThreshold(root.envelope, tuf::kRootRole, root_.keys, *root_role)
                         .WithContext("metadata/root.json"));

  // Timestamp, snapshot and targets must be signed under the newest root.
  // Their versions, snapshot entries and delegations become the basis of
  // the next signed metadata, so a file that is not signed by us is refused:
  // someone who can write REPO but not KEYS must not get a huge version or a
  // delegation to their key signed with our keys. The one legitimate
  // exception is an interrupted `rotate`: the newest root lists the role's
  // new keys, but its metadata is still signed by the replaced ones, whose
  // private keys are in KEYS (retired, or not yet moved). Such a file is
  // trusted and the role marked stale, so the next operation re-signs it:
  // Publish re-signs stale targets, RefreshTimestamp refuses a stale
  // snapshot.
  auto check = [&](const tuf::SignedEnvelope& envelope, std::string_view role,
                   const std::string& name) -> Status {
    const tuf::RoleKeys* keys = root_.FindRole(role);
    if (keys == nullptr) return Failure("root lists no role " + std::string(role));
    if (tuf::VerifyThreshold(envelope, role, root_.keys, *keys).ok()) return Status::Ok();
    // Rotate keeps the threshold, so the replaced keys had the same one.
    BW_ASSIGN_OR_RETURN(auto replaced, LoadReplacedKeys(keys_, role, *keys));
    tuf::RoleKeys replaced_role;
    replaced_role.threshold = keys->threshold;
    for (const auto& [keyid, key] : replaced) replaced_role.keyids.push_back(keyid);
    if (!replaced.empty() && tuf::VerifyThreshold(envelope, role, replaced, replaced_role).ok()) {
      stale_roles_.insert(std::string(role));
      return Status::Ok();
    }
    return Status(ErrorCode::kUpdateVerification,
                  "metadata/" + name + " is not signed by the " + std::string(role) +
                      " keys of the newest root, nor by replaced " + std::string(role) + " keys kept in " +
                      keys_.string() +
                      "; refusing to re-sign anything based on it (was the repository modified? "
                      "restore the metadata directory from your last published copy)");
  };

  BW_ASSIGN_OR_RETURN(LoadedEnvelope timestamp,
                      LoadEnvelope(MetadataDir() / "timestamp.json", tuf::kDefaultMaxTimestampBytes));
  BW_RETURN_IF_ERROR(check(timestamp.envelope, tuf::kTimestampRole, "timestamp.json"));
  auto timestamp_meta = tuf::TimestampMetadata::FromJson(timestamp.envelope.signed_json());
  if (!timestamp_meta.ok()) return timestamp_meta.status().WithContext("metadata/timestamp.json");
  timestamp_version_ = timestamp_meta->header.version;
  snapshot_meta_ = timestamp_meta->snapshot_meta;

  std::string snapshot_name = tuf::MetadataFileName(
      tuf::kSnapshotRole, root_.consistent_snapshot ? std::optional(snapshot_meta_.version) : std::nullopt);
  BW_ASSIGN_OR_RETURN(LoadedEnvelope snapshot,
                      LoadEnvelope(MetadataDir() / snapshot_name, tuf::kDefaultMaxSnapshotBytes));
  BW_RETURN_IF_ERROR(check(snapshot.envelope, tuf::kSnapshotRole, snapshot_name));
  auto snapshot_meta = tuf::SnapshotMetadata::FromJson(snapshot.envelope.signed_json());
  if (!snapshot_meta.ok()) return snapshot_meta.status().WithContext(snapshot_name);
  snapshot_version_ = snapshot_meta->header.version;
  const tuf::MetaFile* targets_meta = snapshot_meta->FindRoleMeta(tuf::kTargetsRole);
  if (targets_meta == nullptr) return Failure(snapshot_name + " lists no targets.json");
  const std::int64_t listed_targets_version = targets_meta->version;
  snapshot_ = std::move(snapshot_meta).value();

  std::string targets_name = tuf::MetadataFileName(
      tuf::kTargetsRole, root_.consistent_snapshot ? std::optional(listed_targets_version) : std::nullopt);
  BW_ASSIGN_OR_RETURN(LoadedEnvelope targets,
                      LoadEnvelope(MetadataDir() / targets_name, tuf::kDefaultMaxTargetsBytes));
  BW_RETURN_IF_ERROR(check(targets.envelope, tuf::kTargetsRole, targets_name));
  auto targets_meta_parsed = tuf::TargetsMetadata::FromJson(targets.envelope.signed_json());
  if (!targets_meta_parsed.ok()) return targets_meta_parsed.status().WithContext(targets_name);
  targets_ = std::move(targets_meta_parsed).value();
  targets_bytes_ = std::move(targets.bytes);

  // Staged targets: the publisher's working copy, kept with the keys.
  fs::path staged_path = keys_ / "staged-targets.json";
  std::error_code ec;
  if (!fs::exists(staged_path, ec)) {
    staged_ = targets_.targets;
    return Status::Ok();
  }
  BW_ASSIGN_OR_RETURN(nlohmann::json staged, ParseJsonFile(staged_path, kMaxStagedBytes));
  if (!staged.is_object() || !staged.contains("targets") || !staged["targets"].is_object()) {
    return Failure(staged_path.string() + " is malformed");
  }
  for (const auto& [path, entry] : staged["targets"].items()) {
    auto file = tuf::TargetFile::FromJson(path, entry);
    if (!file.ok()) return file.status().WithContext(staged_path.string());
    staged_.emplace(path, std::move(file).value());
  }
  return Status::Ok();
}

Status Repository::LoadKeys() {
  for (std::string_view role : kTopLevelRoles) {
    const tuf::RoleKeys* role_keys = root_.FindRole(role);
    if (role_keys == nullptr) continue;
    auto& loaded = keys_by_role_[std::string(role)];
    for (const std::string& keyid : role_keys->keyids) {
      BW_ASSIGN_OR_RETURN(std::optional<tuf::PrivateKey> key, LoadKeyFile(keys_, role, keyid));
      if (key) loaded.push_back(std::move(*key));
    }
  }
  return Status::Ok();
}

std::vector<tuf::PrivateKey> Repository::SigningKeys(std::string_view role) const {
  auto it = keys_by_role_.find(role);
  return it == keys_by_role_.end() ? std::vector<tuf::PrivateKey>() : it->second;
}

Status Repository::AddTarget(std::string_view target_name, const fs::path& file,
                             const std::optional<nlohmann::json>& custom) {
  BW_RETURN_IF_ERROR(ValidateTargetName(target_name));
  if (custom && !custom->is_object()) {
    return Status::InvalidParams("custom data must be a JSON object");
  }
  BW_ASSIGN_OR_RETURN(std::string data, ReadFileLimited(file, kMaxTargetBytes));
  tuf::TargetFile entry = tuf::TargetFile::FromData(std::string(target_name), data);
  if (custom) entry.custom = *custom;
  // Consistent-snapshot copies are content-addressed, so writing them before
  // the publish is safe: no published metadata names them yet.
  for (const auto& [algorithm, hash] : entry.hashes) {
    fs::path to = TargetsDir() / tuf::ConsistentTargetPath(target_name, hash);
    BW_RETURN_IF_ERROR(MakeDirs(to.parent_path(), kPublicDirMode));
    BW_RETURN_IF_ERROR(WriteFileAtomically(to, data, kPublicFileMode));
  }
  staged_.insert_or_assign(std::string(target_name), std::move(entry));
  return SaveStaged();
}

Status Repository::RemoveTarget(std::string_view target_name) {
  auto it = staged_.find(std::string(target_name));
  if (it == staged_.end()) {
    return Status::NotFound("no staged target " + std::string(target_name));
  }
  staged_.erase(it);
  return SaveStaged();
}

Result<std::string> Repository::SignTimestamp(const tuf::MetaFile& snapshot_meta, std::int64_t version,
                                              tuf::TimePoint expires) const {
  tuf::TimestampMetadata timestamp;
  timestamp.header = Header(tuf::kTimestampRole, version, expires);
  timestamp.snapshot_meta = snapshot_meta;
  return SignRole(timestamp.ToJson(), tuf::kTimestampRole);
}

Result<std::string> Repository::WriteTimestamp(const tuf::MetaFile& snapshot_meta, std::int64_t version,
                                               tuf::TimePoint expires) {
  BW_ASSIGN_OR_RETURN(std::string bytes, SignTimestamp(snapshot_meta, version, expires));
  // Unversioned, always (spec 6.2.1), and written last by every caller.
  BW_RETURN_IF_ERROR(WriteFileAtomically(MetadataDir() / "timestamp.json", bytes, kPublicFileMode));
  timestamp_version_ = version;
  snapshot_meta_ = snapshot_meta;
  return bytes;
}

Result<PublishResult> Repository::Publish(const PublishOptions& options) {
  for (const auto& [role, days] : options.expires_days) {
    if (!IsTopLevelRole(role) || days < 1 || days > kMaxExpiryDays) {
      return Status::InvalidParams("bad expiry override for " + role);
    }
  }
  PublishResult result;
  const bool changed = options.force_targets || targets_.header.version == 0 ||
                       stale_roles_.contains(std::string(tuf::kTargetsRole)) ||
                       !SameTargets(staged_, targets_.targets);

  // Everything is signed in memory first, so a missing key or a bad target
  // copy fails before any file changes. Then the files are written bottom
  // up: plain-name target copies, targets, snapshot, and timestamp last. A
  // client that reads the new timestamp finds everything it points at, and
  // a publish that fails half way never leaves a timestamp pointing at
  // files that were not written. (Clients without consistent snapshots that
  // are in the middle of an update while the plain names are replaced can
  // still see a mix and fail that one check; docs/updates.md.)

  // 6.4.1: targets metadata.
  std::string targets_bytes;
  tuf::TargetsMetadata targets = targets_;
  if (changed) {
    targets.header = Header(tuf::kTargetsRole, targets_.header.version + 1,
                            ExpiryFor(tuf::kTargetsRole, options.expires_days));
    targets.targets = staged_;
    // Every listed copy must exist before any metadata names it.
    for (const auto& [path, entry] : targets.targets) {
      for (const auto& [algorithm, hash] : entry.hashes) {
        fs::path copy = TargetsDir() / tuf::ConsistentTargetPath(path, hash);
        BW_ASSIGN_OR_RETURN(std::string data, ReadFileLimited(copy, kMaxTargetBytes));
        Status ok = entry.VerifyData(data);
        if (!ok.ok()) {
          return Failure("target copy " + copy.string() +
                         " does not match its staged entry; run `add` again: " + ok.message());
        }
      }
    }
    BW_ASSIGN_OR_RETURN(targets_bytes, SignRole(targets.ToJson(), tuf::kTargetsRole));
  } else {
    // The bytes Open verified, not a re-read of a file anyone may have
    // replaced since.
    targets_bytes = targets_bytes_;
  }

  // 6.4.2: snapshot, keeping entries of delegated roles the verified
  // previous snapshot lists.
  tuf::SnapshotMetadata snapshot = snapshot_;
  snapshot.header =
      Header(tuf::kSnapshotRole, snapshot_version_ + 1, ExpiryFor(tuf::kSnapshotRole, options.expires_days));
  snapshot.meta.insert_or_assign("targets.json", MetaFileFor(targets.header.version, targets_bytes));
  BW_ASSIGN_OR_RETURN(std::string snapshot_bytes, SignRole(snapshot.ToJson(), tuf::kSnapshotRole));

  // 6.4.3: timestamp.
  const tuf::MetaFile snapshot_meta = MetaFileFor(snapshot.header.version, snapshot_bytes);
  const std::int64_t timestamp_version = timestamp_version_ + 1;
  BW_ASSIGN_OR_RETURN(
      std::string timestamp_bytes,
      SignTimestamp(snapshot_meta, timestamp_version, ExpiryFor(tuf::kTimestampRole, options.expires_days)));

  // Plain-name copies for clients without consistent snapshots, before any
  // metadata that lists them.
  if (changed) {
    for (const auto& [path, entry] : targets.targets) {
      const std::string& hash = entry.hashes.begin()->second;
      BW_RETURN_IF_ERROR(
          CopyTargetFile(TargetsDir() / tuf::ConsistentTargetPath(path, hash), TargetsDir() / path));
    }
    BW_RETURN_IF_ERROR(
        WriteFileAtomically(MetadataDir() / tuf::MetadataFileName(tuf::kTargetsRole, targets.header.version),
                            targets_bytes, kPublicFileMode));
    BW_RETURN_IF_ERROR(WriteFileAtomically(MetadataDir() / "targets.json", targets_bytes, kPublicFileMode));
  }
  BW_RETURN_IF_ERROR(
      WriteFileAtomically(MetadataDir() / tuf::MetadataFileName(tuf::kSnapshotRole, snapshot.header.version),
                          snapshot_bytes, kPublicFileMode));
  BW_RETURN_IF_ERROR(WriteFileAtomically(MetadataDir() / "snapshot.json", snapshot_bytes, kPublicFileMode));
  // Unversioned, always (spec 6.2.1), and last.
  BW_RETURN_IF_ERROR(WriteFileAtomically(MetadataDir() / "timestamp.json", timestamp_bytes, kPublicFileMode));
  timestamp_version_ = timestamp_version;
  snapshot_meta_ = snapshot_meta;
  snapshot_version_ = snapshot.header.version;
  snapshot_ = std::move(snapshot);
  targets_ = std::move(targets);
  targets_bytes_ = std::move(targets_bytes);

  stale_roles_.clear();  // Targets (if stale, `changed`), snapshot, timestamp re-signed.
  result.targets_changed = changed;
  result.targets_version = targets_.header.version;
  result.snapshot_version = snapshot_version_;
  result.timestamp_version = timestamp_version_;
  return result;
}

Result<std::int64_t> Repository::RefreshTimestamp(std::optional<int> expires_days) {
  std::map<std::string, int, std::less<>> overrides;
  if (expires_days) {
    if (*expires_days < 1 || *expires_days > kMaxExpiryDays) {
      return Status::InvalidParams("bad timestamp expiry");
    }
    overrides[std::string(tuf::kTimestampRole)] = *expires_days;
  }
  if (stale_roles_.contains(std::string(tuf::kSnapshotRole)) ||
      stale_roles_.contains(std::string(tuf::kTargetsRole))) {
    return Failure(
        "the snapshot or targets metadata is not signed by the keys the newest root lists "
        "(an interrupted rotate?); run `publish` to re-sign them");
  }
  BW_ASSIGN_OR_RETURN(std::string bytes, WriteTimestamp(snapshot_meta_, timestamp_version_ + 1,
                                                        ExpiryFor(tuf::kTimestampRole, overrides)));
  (void)bytes;
  stale_roles_.erase(std::string(tuf::kTimestampRole));
  return timestamp_version_;
}

Result<RotateResult> Repository::Rotate(std::string_view role) {
  if (!IsTopLevelRole(role)) {
    return Status::InvalidParams("unknown role " + std::string(role) +
                                 " (root, timestamp, snapshot or targets)");
  }
  const tuf::RoleKeys* current = root_.FindRole(role);
  if (current == nullptr) return Failure("root lists no role " + std::string(role));
  RotateResult result;
  result.retired_keyids = current->keyids;
  const std::size_t count = std::max(current->keyids.size(), static_cast<std::size_t>(current->threshold));

  std::vector<tuf::PrivateKey> new_keys;
  for (std::size_t i = 0; i < count; ++i) {
    BW_ASSIGN_OR_RETURN(tuf::PrivateKey key, GenerateAndStoreKey(keys_, role, config_.key_algorithm));
    BW_ASSIGN_OR_RETURN(std::string keyid, key.KeyId());
    result.new_keyids.push_back(keyid);
    new_keys.push_back(std::move(key));
  }

  tuf::RootMetadata next = root_;
  next.header = Header(tuf::kRootRole, root_.header.version + 1, ExpiryFor(tuf::kRootRole, {}));
  tuf::RoleKeys& next_role = next.roles.at(std::string(role));
  next_role.keyids = result.new_keyids;
  for (const auto& key : new_keys) {
    BW_ASSIGN_OR_RETURN(std::string keyid, key.KeyId());
    next.keys.insert_or_assign(keyid, key.public_key());
  }
  // Drop public keys no role uses any more (revocation, spec 6.1).
  for (const std::string& old : result.retired_keyids) {
    bool used = false;
    for (const auto& [name, keys] : next.roles) {
      used = used || std::find(keys.keyids.begin(), keys.keyids.end(), old) != keys.keyids.end();
    }
    if (!used) next.keys.erase(old);
  }

  // 5.3.4: signed by a threshold of the old root keys (SignRole checks that
  // against root_) and of the new ones (checked below against `next`).
  std::vector<tuf::PrivateKey> extra;
  if (role == tuf::kRootRole) extra = new_keys;
  BW_ASSIGN_OR_RETURN(std::string bytes, SignRole(next.ToJson(), tuf::kRootRole, extra));
  {
    BW_ASSIGN_OR_RETURN(tuf::SignedEnvelope envelope, tuf::SignedEnvelope::Parse(bytes));
    BW_RETURN_IF_ERROR(
        tuf::VerifyThreshold(envelope, tuf::kRootRole, next.keys, *next.FindRole(tuf::kRootRole))
            .WithContext("new root"));
  }
  BW_RETURN_IF_ERROR(WriteFileAtomically(
      MetadataDir() / tuf::MetadataFileName(tuf::kRootRole, next.header.version), bytes, kPublicFileMode));
  BW_RETURN_IF_ERROR(WriteFileAtomically(MetadataDir() / "root.json", bytes, kPublicFileMode));
  root_ = std::move(next);
  root_bytes_ = std::move(bytes);
  result.root_version = root_.header.version;

  // Retire the replaced private keys (kept, not deleted: the publisher
  // decides; docs/release.md says to destroy them).
  fs::path retired_dir = keys_ / "retired" / std::string(role);
  BW_RETURN_IF_ERROR(MakeDirs(retired_dir, kPrivateDirMode));
  for (const std::string& old : result.retired_keyids) {
    fs::path from = KeyFile(keys_, role, old);
    std::error_code ec;
    if (fs::exists(from, ec)) {
      fs::rename(from, retired_dir / from.filename(), ec);
      if (ec) return Failure("cannot retire " + from.string() + ": " + ec.message());
    }
  }
  keys_by_role_[std::string(role)] = std::move(new_keys);

  // Keep the repository verifiable: re-sign what the rotated role signs.
  if (role == tuf::kTimestampRole) {
    BW_ASSIGN_OR_RETURN(std::int64_t version, RefreshTimestamp());
    PublishResult published;
    published.targets_version = targets_.header.version;
    published.snapshot_version = snapshot_version_;
    published.timestamp_version = version;
    result.published = published;
  } else if (role == tuf::kSnapshotRole || role == tuf::kTargetsRole) {
    // Re-sign the *published* targets; staged changes wait for `publish`.
    std::map<std::string, tuf::TargetFile> staged = std::move(staged_);
    staged_ = targets_.targets;
    PublishOptions options;
    options.force_targets = role == tuf::kTargetsRole;
    auto published = Publish(options);
    staged_ = std::move(staged);
    if (!published.ok()) return published.status();
    result.published = *published;
  }
  return result;
}

Result<VerifyReport> VerifyRepository(const fs::path& repo, const std::optional<fs::path>& trusted_root,
                                      tuf::TimePoint now) {
  const fs::path metadata = repo / "metadata";
  VerifyReport report;
  fs::path root_path = trusted_root ? *trusted_root : metadata / "1.root.json";
  BW_ASSIGN_OR_RETURN(std::string root_bytes, ReadFileLimited(root_path, tuf::kDefaultMaxRootBytes));
  auto set_or = tuf::TrustedMetadataSet::Create(root_bytes, now);
  if (!set_or.ok()) return set_or.status().WithContext(root_path.string());
  tuf::TrustedMetadataSet set = std::move(set_or).value();

  // 5.3: the root chain, as far as it goes.
  std::string newest_root = root_bytes;
  for (int i = 0; i < tuf::kDefaultMaxRootRotations; ++i) {
    std::int64_t next = set.root().signed_data.header.version + 1;
    fs::path path = metadata / tuf::MetadataFileName(tuf::kRootRole, next);
    std::error_code ec;
    if (!fs::exists(path, ec)) break;
    BW_ASSIGN_OR_RETURN(std::string bytes, ReadFileLimited(path, tuf::kDefaultMaxRootBytes));
    BW_RETURN_IF_ERROR(set.UpdateRoot(bytes).WithContext(path.filename().string()));
    newest_root = std::move(bytes);
  }
  BW_RETURN_IF_ERROR(set.FinishRootUpdates().WithContext("root"));
  report.root_version = set.root().signed_data.header.version;
  {
    BW_ASSIGN_OR_RETURN(std::string published_root,
                        ReadFileLimited(metadata / "root.json", tuf::kDefaultMaxRootBytes));
    if (published_root != newest_root) {
      return Status(ErrorCode::kUpdateVerification, "metadata/root.json is not the newest root (" +
                                                        std::to_string(report.root_version) + ".root.json)");
    }
  }

  // 5.4.
  BW_ASSIGN_OR_RETURN(std::string timestamp_bytes,
                      ReadFileLimited(metadata / "timestamp.json", tuf::kDefaultMaxTimestampBytes));
  auto outcome = set.UpdateTimestamp(timestamp_bytes);
  if (!outcome.ok()) return outcome.status().WithContext("timestamp.json");
  const auto* timestamp = set.timestamp();
  if (timestamp == nullptr) return Status::Internal("timestamp accepted but not held");
  report.timestamp_version = timestamp->signed_data.header.version;

  // 5.5.
  const bool consistent = set.consistent_snapshot();
  const std::int64_t snapshot_version = timestamp->signed_data.snapshot_meta.version;
  std::string snapshot_name =
      tuf::MetadataFileName(tuf::kSnapshotRole, consistent ? std::optional(snapshot_version) : std::nullopt);
  BW_ASSIGN_OR_RETURN(std::string snapshot_bytes,
                      ReadFileLimited(metadata / snapshot_name, tuf::kDefaultMaxSnapshotBytes));
  BW_RETURN_IF_ERROR(set.UpdateSnapshot(snapshot_bytes).WithContext(snapshot_name));
  report.snapshot_version = set.snapshot()->signed_data.header.version;

  // 5.6, then every delegated role reachable from targets (pre-order).
  auto load_role = [&](const std::string& role, const std::string& delegator) -> Status {
    const tuf::MetaFile* meta = set.snapshot()->signed_data.FindRoleMeta(role);
    if (meta == nullptr) {
      return Status(ErrorCode::kUpdateVerification, "snapshot does not list " + role);
    }
    std::string name = tuf::MetadataFileName(role, consistent ? std::optional(meta->version) : std::nullopt);
    BW_ASSIGN_OR_RETURN(std::string bytes, ReadFileLimited(metadata / name, tuf::kDefaultMaxTargetsBytes));
    Status loaded = role == tuf::kTargetsRole ? set.UpdateTargets(bytes)
                                              : set.UpdateDelegatedTargets(bytes, role, delegator);
    return loaded.WithContext(name);
  };
  BW_RETURN_IF_ERROR(load_role(std::string(tuf::kTargetsRole), std::string(tuf::kRootRole)));
  report.targets_version = set.targets()->signed_data.header.version;
  std::vector<std::string> order = {std::string(tuf::kTargetsRole)};
  std::set<std::string> visited = {std::string(tuf::kTargetsRole)};
  for (std::size_t i = 0; i < order.size() && i < tuf::kDefaultMaxRolesVisited; ++i) {
    const auto* role = set.targets(order[i]);
    if (role == nullptr || !role->signed_data.delegations) continue;
    for (const auto& delegated : role->signed_data.delegations->roles) {
      if (!visited.insert(delegated.name).second) continue;
      BW_RETURN_IF_ERROR(load_role(delegated.name, order[i]));
      order.push_back(delegated.name);
    }
  }
  report.roles_verified = order.size();

  // 5.7: every target file copy a client could fetch.
  // Listed paths and hashes become file names below REPO/targets: an
  // absolute path or a ".." segment (or a hash that is not hex) would make
  // `verify` read files outside the repository, so they are refused as the
  // tool's `add` refuses them.
  auto is_hex = [](const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
  };
  for (const std::string& role_name : order) {
    for (const auto& [path, entry] : set.targets(role_name)->signed_data.targets) {
      if (Status valid = ValidateTargetName(path); !valid.ok()) {
        return Status(
            ErrorCode::kUpdateVerification,
            role_name + " lists a target path that is not a safe relative path: " + valid.message());
      }
      std::vector<fs::path> copies;
      if (consistent) {
        for (const auto& [algorithm, hash] : entry.hashes) {
          if (algorithm == "sha256" || algorithm == "sha512") {
            if (!is_hex(hash)) {
              return Status(ErrorCode::kUpdateVerification,
                            role_name + " lists a " + algorithm + " hash of " + path + " that is not hex");
            }
            copies.push_back(repo / "targets" / tuf::ConsistentTargetPath(path, hash));
          }
        }
      }
      std::error_code ec;
      fs::path plain = repo / "targets" / path;
      if (!consistent || fs::exists(plain, ec)) copies.push_back(plain);
      for (const fs::path& copy : copies) {
        // One byte past the signed length shows a longer file; never more
        // than `add` accepts (and no overflow for a length near INT64_MAX).
        auto data = ReadFileLimited(copy, std::min(entry.length, kMaxTargetBytes) + 1);
        if (!data.ok()) return data.status().WithContext("target " + path);
        Status ok = entry.VerifyData(*data);
        if (!ok.ok()) return ok.WithContext("target file " + copy.string());
        ++report.target_files_checked;
      }
    }
  }
  return report;
}

}  // namespace bellwether::release
