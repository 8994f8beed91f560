// Where the vault's master key lives.
//
// The master key is 32 random bytes that wrap (through a KEK, see
// docs/security.md, "Vault format") everything else. It is kept outside the database:
// in the OS keyring when there is one (Secret Service via libsecret on
// Linux; Keychain and DPAPI would be further implementations of this
// interface), otherwise in a key file (mode 0600) in the data directory.
//
// Contract for every store:
//   Load()  -> the key; kNotFound when the store is reachable and holds no
//              key; kVaultLocked when the store cannot be reached, is locked
//              or is unreadable. Callers must never treat kVaultLocked as
//              "no key" (that would create a new key over existing data).
//   Store() -> saves a key only when none is stored (never overwrites).
//              The key file does so atomically (link() fails on an existing
//              name); the keyring checks first and libsecret replaces an item
//              with the same attributes, so callers must hold the vault's
//              write lock across Load() and Store(), as Vault::Initialize
//              does (BEGIN IMMEDIATE), for no other host to store between.
//   Erase() -> removes the key (used by tests and uninstall).
// Implementations are not required to be thread-safe; Vault serialises.
#ifndef BELLWETHER_VAULT_KEY_STORE_H_
#define BELLWETHER_VAULT_KEY_STORE_H_

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace bellwether::vault {

inline constexpr std::size_t kMasterKeyBytes = 32;

enum class KeySource { kAuto, kKeyring, kKeyFile };

// "keyring" / "keyfile" / "auto" (wire and meta-table spelling).
std::string_view KeySourceName(KeySource source);
Result<KeySource> ParseKeySource(std::string_view name);

class MasterKeyStore {
 public:
  virtual ~MasterKeyStore() = default;
  virtual KeySource source() const = 0;
  // Human-readable location for status and errors (never the key).
  virtual std::string Describe() const = 0;
  virtual Result<crypto::SecureBytes> Load() = 0;
  virtual Status Store(const crypto::SecureBytes& key) = 0;
  virtual Status Erase() = 0;
};

// A 0600 file holding a magic header and the key. Created with O_EXCL and
// linked into place, so two processes can never write different keys.
class KeyFileKeyStore final : public MasterKeyStore {
 public:
  explicit KeyFileKeyStore(std::filesystem::path path) : path_(std::move(path)) {}
  KeySource source() const override { return KeySource::kKeyFile; }
  std::string Describe() const override { return "key file " + path_.string(); }
  Result<crypto::SecureBytes> Load() override;
  Status Store(const crypto::SecureBytes& key) override;
  Status Erase() override;

 private:
  std::filesystem::path path_;
};

// Secret Service (gnome-keyring, KWallet, KeePassXC...) through libsecret.
// The item is found by the attributes {app: "io.bellwether.host",
// vault: <absolute database path>} in the default collection.
class KeyringKeyStore final : public MasterKeyStore {
 public:
  explicit KeyringKeyStore(std::string vault_path) : vault_path_(std::move(vault_path)) {}
  KeySource source() const override { return KeySource::kKeyring; }
  std::string Describe() const override { return "Secret Service keyring"; }
  Result<crypto::SecureBytes> Load() override;
  Status Store(const crypto::SecureBytes& key) override;
  Status Erase() override;

  // True when a Secret Service answers on the session bus. Cheap when
  // there is no session bus at all (no D-Bus round trip then).
  static bool IsAvailable();

 private:
  std::string vault_path_;
};

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_KEY_STORE_H_
