// The vault.* JSON-RPC methods (documented with examples in docs/protocol.md,
// section "Vault").
//
// RegisterVaultMethods() only records handlers: it opens neither SQLite nor
// the keyring, so a host process spawned for one sendNativeMessage starts
// fast. The vault is opened on the first vault.* call and kept for the life
// of the process (keys expire after options.vault.idle_timeout); an open
// that fails is retried on the next call.
#ifndef BELLWETHER_VAULT_VAULT_METHODS_H_
#define BELLWETHER_VAULT_VAULT_METHODS_H_

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "messaging/dispatcher.h"
#include "vault/vault.h"

namespace bellwether::vault {

// Backups above this size are not returned inline (the reply would come
// too close to the 1 MiB frame limit); use {"toFile": true} instead.
inline constexpr std::size_t kMaxInlineBackupBytes = 768 * 1024;

// Keys leave the memory of a long-lived host (a connectNative port) after
// this much inactivity; a passphrase-protected vault then needs unlocking.
inline constexpr std::chrono::seconds kDefaultHostIdleTimeout{15 * 60};

struct VaultMethodOptions {
  VaultMethodOptions() { vault.idle_timeout = kDefaultHostIdleTimeout; }
  // data_dir empty means paths::DataDir() ($XDG_DATA_HOME/bellwether).
  VaultOptions vault;
  // Called on the idle timer's thread each time it has wiped the keys (the
  // host logs it; tests watch the timer through it). May be empty.
  std::function<void()> on_idle_wipe;
};

// The names RegisterVaultMethods() registers.
std::vector<std::string> VaultMethodNames();

// The reader's settings for the vault, applied on top of `defaults`: the
// JSON file `config_file` ($XDG_CONFIG_HOME/bellwether/vault.json) when it
// exists,
//   {"quotaBytes": 268435456, "idleTimeoutMinutes": 30}
// quotaBytes from 1 MiB to 16 GiB (default 64 MiB); idleTimeoutMinutes from
// 0 (keys stay for the life of the host process) to 1440 (default 15). A
// malformed file is an error naming the field, never silently ignored.
Result<VaultMethodOptions> ApplyVaultConfig(VaultMethodOptions defaults,
                                            const std::filesystem::path& config_file);

// Registers vault.status, vault.get, vault.set, vault.delete, vault.list,
// vault.clear, vault.lock, vault.unlock, vault.setPassphrase,
// vault.rotateKey, vault.export, vault.import, vault.downloadBackup and
// vault.uploadBackup.
void RegisterVaultMethods(messaging::Dispatcher& dispatcher, VaultMethodOptions options);

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_VAULT_METHODS_H_
