#include "vault/key_store.h"

#include <fcntl.h>
#include <libsecret/secret.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/file_util.h"
#include "common/shared_library.h"
#include "common/unique_fd.h"
#include "crypto/random.h"

namespace bellwether::vault {

std::string_view KeySourceName(KeySource source) {
  switch (source) {
    case KeySource::kAuto: return "auto";
    case KeySource::kKeyring: return "keyring";
    case KeySource::kKeyFile: return "keyfile";
  }
  return "auto";
}

Result<KeySource> ParseKeySource(std::string_view name) {
  if (name == "auto") return KeySource::kAuto;
  if (name == "keyring") return KeySource::kKeyring;
  if (name == "keyfile") return KeySource::kKeyFile;
  return Status::InvalidParams("unknown key source '" + std::string(name) + "'");
}

// ---------------------------------------------------------------- key file

namespace {

// "BWMK" + format 1; the key follows. The header lets us refuse a file that
// is something else rather than use 32 arbitrary bytes as a key.
constexpr char kKeyFileMagic[5] = {'B', 'W', 'M', 'K', 1};
constexpr std::size_t kKeyFileBytes = sizeof(kKeyFileMagic) + kMasterKeyBytes;

std::string Errno() { return std::strerror(errno); }

}  // namespace

Result<crypto::SecureBytes> KeyFileKeyStore::Load() {
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound("no master key file at " + path_.string());
    return Status::Locked("cannot open master key file " + path_.string() + ": " + Errno());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Locked("master key file " + path_.string() + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    // Someone loosened the mode; the key may have been read. Refuse rather
    // than pretend it is still private.
    return Status::Locked("master key file " + path_.string() +
                          " is readable by other users (mode must be 0600)");
  }
  crypto::SecureBytes buf(kKeyFileBytes + 1);
  std::size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Locked("cannot read master key file: " + Errno());
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got != kKeyFileBytes || std::memcmp(buf.data(), kKeyFileMagic, sizeof(kKeyFileMagic)) != 0) {
    return Status::Locked("master key file " + path_.string() + " is damaged");
  }
  return crypto::SecureBytes::CopyOf(buf.span().subspan(sizeof(kKeyFileMagic), kMasterKeyBytes));
}

Status KeyFileKeyStore::Store(const crypto::SecureBytes& key) {
  if (key.size() != kMasterKeyBytes) return Status::Internal("master key must be 32 bytes");
  std::string tmp = path_.string() + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return ErrnoStatus("cannot create " + tmp, errno);
  crypto::SecureBytes buf(kKeyFileBytes);
  std::memcpy(buf.data(), kKeyFileMagic, sizeof(kKeyFileMagic));
  std::memcpy(buf.data() + sizeof(kKeyFileMagic), key.data(), key.size());
  std::size_t put = 0;
  while (put < buf.size()) {
    ssize_t n = ::write(fd.get(), buf.data() + put, buf.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;  // Before unlink() can change it.
      ::unlink(tmp.c_str());
      return ErrnoStatus("cannot write master key file", err);
    }
    put += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus("cannot sync master key file", err);
  }
  fd.Close();
  // link() fails if the final name exists: a key is never overwritten.
  int rc = ::link(tmp.c_str(), path_.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (link_errno == EEXIST) return Status::Conflict("a master key file already exists");
    return ErrnoStatus("cannot install master key file", link_errno);
  }
  UniqueFd dir(::open(path_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return Status::Ok();
}

Status KeyFileKeyStore::Erase() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return Status::Storage("cannot remove master key file: " + Errno());
  }
  return Status::Ok();
}

// ----------------------------------------------------------------- keyring

namespace {

const SecretSchema* MasterKeySchema() {
  static const SecretSchema schema = {
      "io.bellwether.host.MasterKey",
      SECRET_SCHEMA_NONE,
      {{"app", SECRET_SCHEMA_ATTRIBUTE_STRING},
       {"vault", SECRET_SCHEMA_ATTRIBUTE_STRING},
       {nullptr, SECRET_SCHEMA_ATTRIBUTE_STRING}},
      0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  return &schema;
}

constexpr char kAppAttribute[] = "io.bellwether.host";

// libsecret (and with it GLib, GObject and GIO) is loaded on first use, not
// linked: linking it adds ~1.5 ms to every host start, and a host spawned
// for one sendNativeMessage usually never touches the keyring. The
// prototypes come from the headers, so every call stays type-checked.
struct LibSecret {
  decltype(&g_error_free) error_free = nullptr;
  decltype(&g_free) free = nullptr;
  decltype(&g_object_unref) object_unref = nullptr;
  decltype(&g_dbus_proxy_get_name_owner) proxy_get_name_owner = nullptr;
  decltype(&secret_service_get_sync) service_get_sync = nullptr;
  decltype(&secret_service_ensure_session_sync) service_ensure_session_sync = nullptr;
  decltype(&secret_collection_for_alias_sync) collection_for_alias_sync = nullptr;
  decltype(&secret_collection_get_locked) collection_get_locked = nullptr;
  decltype(&secret_password_lookup_binary_sync) password_lookup_binary_sync = nullptr;
  decltype(&secret_password_store_binary_sync) password_store_binary_sync = nullptr;
  decltype(&secret_password_clear_sync) password_clear_sync = nullptr;
  decltype(&secret_value_new) value_new = nullptr;
  decltype(&secret_value_get) value_get = nullptr;
  decltype(&secret_value_unref) value_unref = nullptr;
};

// nullptr when libsecret is not installed (then there is no keyring).
const LibSecret* Secret() {
  static const LibSecret* const lib = []() -> const LibSecret* {
    const SharedLibrary library("libsecret-1.so.0");
    if (!library.loaded()) return nullptr;
    auto* l = new LibSecret;  // Lives for the process, like the library.
    bool ok = library.Resolve("g_error_free", l->error_free) && library.Resolve("g_free", l->free) &&
              library.Resolve("g_object_unref", l->object_unref) &&
              library.Resolve("g_dbus_proxy_get_name_owner", l->proxy_get_name_owner) &&
              library.Resolve("secret_service_get_sync", l->service_get_sync) &&
              library.Resolve("secret_service_ensure_session_sync", l->service_ensure_session_sync) &&
              library.Resolve("secret_collection_for_alias_sync", l->collection_for_alias_sync) &&
              library.Resolve("secret_collection_get_locked", l->collection_get_locked) &&
              library.Resolve("secret_password_lookup_binary_sync", l->password_lookup_binary_sync) &&
              library.Resolve("secret_password_store_binary_sync", l->password_store_binary_sync) &&
              library.Resolve("secret_password_clear_sync", l->password_clear_sync) &&
              library.Resolve("secret_value_new", l->value_new) &&
              library.Resolve("secret_value_get", l->value_get) &&
              library.Resolve("secret_value_unref", l->value_unref);
    if (!ok) {
      delete l;
      return nullptr;
    }
    return l;
  }();
  return lib;
}

constexpr char kNoLibSecret[] = "libsecret is not installed: the keyring is not available";

struct GErrorOwner {
  GError* error = nullptr;
  ~GErrorOwner() {
    if (error != nullptr) Secret()->error_free(error);  // Only set after Secret() loaded.
  }
  std::string Message() const { return error != nullptr ? error->message : "unknown error"; }
};

bool HaveSessionBus() {
  const char* addr = std::getenv("DBUS_SESSION_BUS_ADDRESS");
  if (addr != nullptr && *addr != '\0') return true;
  // systemd user sessions put the bus at $XDG_RUNTIME_DIR/bus.
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime == nullptr || *runtime == '\0') return false;
  std::string path = std::string(runtime) + "/bus";
  return ::access(path.c_str(), F_OK) == 0;
}

// libsecret hides the items of a locked collection: a lookup then finds
// nothing. Tell "locked" apart from "empty" so the caller reports the
// right reason (either way the vault refuses to create a key over data).
bool DefaultCollectionLocked() {
  const LibSecret* lib = Secret();
  if (lib == nullptr) return false;
  GErrorOwner err;
  SecretService* service = lib->service_get_sync(SECRET_SERVICE_NONE, nullptr, &err.error);
  if (service == nullptr) return false;
  GErrorOwner lookup;
  SecretCollection* collection = lib->collection_for_alias_sync(
      service, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE, nullptr, &lookup.error);
  bool locked = collection != nullptr && lib->collection_get_locked(collection);
  if (collection != nullptr) lib->object_unref(collection);
  lib->object_unref(service);
  return locked;
}

}  // namespace

bool KeyringKeyStore::IsAvailable() {
  if (!HaveSessionBus()) return false;
  const LibSecret* lib = Secret();
  if (lib == nullptr) return false;
  GErrorOwner err;
  SecretService* service = lib->service_get_sync(SECRET_SERVICE_NONE, nullptr, &err.error);
  if (service == nullptr) return false;
  // The proxy exists even without an owner of the name; ask for one.
  // A SecretService is a GDBusProxy (G_DBUS_PROXY() would need GIO linked).
  gchar* owner = lib->proxy_get_name_owner(reinterpret_cast<GDBusProxy*>(service));
  bool available = owner != nullptr;
  lib->free(owner);
  if (!available) {
    // A bus-activatable service has no owner until first use: probe it.
    GErrorOwner probe;
    lib->service_ensure_session_sync(service, nullptr, &probe.error);
    available = probe.error == nullptr;
  }
  lib->object_unref(service);
  return available;
}

Result<crypto::SecureBytes> KeyringKeyStore::Load() {
  if (!HaveSessionBus()) return Status::Locked("no D-Bus session bus: the keyring is not available");
  const LibSecret* lib = Secret();
  if (lib == nullptr) return Status::Locked(kNoLibSecret);
  GErrorOwner err;
  SecretValue* value = lib->password_lookup_binary_sync(
      MasterKeySchema(), nullptr, &err.error, "app", kAppAttribute, "vault", vault_path_.c_str(), nullptr);
  if (err.error != nullptr) {
    return Status::Locked("the keyring is not available: " + err.Message());
  }
  if (value == nullptr) {
    if (DefaultCollectionLocked()) return Status::Locked("the keyring is locked; unlock it and try again");
    return Status::NotFound("no master key in the keyring");
  }
  gsize length = 0;
  const gchar* bytes = lib->value_get(value, &length);
  if (length != kMasterKeyBytes) {
    lib->value_unref(value);
    return Status::Locked("the keyring item for the vault does not hold a 32-byte key");
  }
  auto key = crypto::SecureBytes::CopyOf(std::string_view(bytes, length));
  lib->value_unref(value);  // libsecret wipes its copy on release.
  return key;
}

Status KeyringKeyStore::Store(const crypto::SecureBytes& key) {
  if (key.size() != kMasterKeyBytes) return Status::Internal("master key must be 32 bytes");
  if (!HaveSessionBus()) return Status::Locked("no D-Bus session bus: the keyring is not available");
  // Never overwrite: a second writer would replace the key of live data.
  auto existing = Load();
  if (existing.ok()) return Status::Conflict("a master key is already in the keyring");
  if (existing.status().code() != ErrorCode::kNotFound) return existing.status();
  const LibSecret* lib = Secret();  // Non-null: Load() succeeded in reaching it.
  SecretValue* value = lib->value_new(reinterpret_cast<const gchar*>(key.data()),
                                        static_cast<gssize>(key.size()), "application/octet-stream");
  GErrorOwner err;
  gboolean ok = lib->password_store_binary_sync(
      MasterKeySchema(), SECRET_COLLECTION_DEFAULT, "Bellwether vault master key", value, nullptr,
      &err.error, "app", kAppAttribute, "vault", vault_path_.c_str(), nullptr);
  lib->value_unref(value);
  if (!ok || err.error != nullptr) {
    return Status::Locked("cannot store the master key in the keyring: " + err.Message());
  }
  return Status::Ok();
}

Status KeyringKeyStore::Erase() {
  if (!HaveSessionBus()) return Status::Locked("no D-Bus session bus: the keyring is not available");
  const LibSecret* lib = Secret();
  if (lib == nullptr) return Status::Locked(kNoLibSecret);
  GErrorOwner err;
  lib->password_clear_sync(MasterKeySchema(), nullptr, &err.error, "app", kAppAttribute, "vault",
                             vault_path_.c_str(), nullptr);
  if (err.error != nullptr) return Status::Locked("cannot erase keyring item: " + err.Message());
  return Status::Ok();
}

}  // namespace bellwether::vault
