// The encrypted vault: the extension's private records, sealed at rest.
//
// Storage is one SQLite database, <data_dir>/vault.db (directory 0700,
// files 0600), in WAL mode with synchronous=FULL. Every value and every
// record name is sealed with AES-256-GCM under a data key, with a fresh
// random 96-bit nonce per write and associated data binding the blob to its
// vault, namespace, record, key id, revision and format version. Names are
// found through HMAC-SHA256 under a derived name key and never stored in
// the clear. The full format, key hierarchy and threat model are in
// docs/security.md ("Vault format"); the constants below are part of that format.
//
// Several host processes may open the same vault at once: every write is a
// BEGIN IMMEDIATE transaction with bounded retries, revisions come from one
// vault-wide counter, and compare-and-set (expected_revision) turns lost
// updates into kConflict.
//
// Thread-safe: every public method takes an internal mutex.
// Failure modes: kVaultLocked (master key unavailable, or passphrase
// needed), kNotFound, kConflict, kTooLarge, kQuotaExceeded, kIntegrity
// (tampered, moved or damaged data; never garbage), kWrongPassphrase,
// kStorageFull, kStorage, kInvalidParams.
#ifndef BELLWETHER_VAULT_VAULT_H_
#define BELLWETHER_VAULT_VAULT_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "crypto/kdf.h"
#include "vault/clock.h"
#include "vault/key_store.h"

namespace bellwether::vault {

inline constexpr int kFormatVersion = 1;
inline constexpr std::size_t kMaxNameBytes = 512;
inline constexpr std::size_t kMaxValueBytes = 256 * 1024;  // Serialized JSON.
// Arrays and objects nested within a value: at least what a request frame
// can carry (64 levels in all), and bounded so that whatever the vault
// holds can be exported and imported again.
inline constexpr int kMaxValueDepth = 64;
// An export larger than this is refused (VaultOptions::max_backup_bytes),
// and so is an import: the host never writes a backup it cannot read back.
inline constexpr std::uint64_t kMaxBackupBytes = std::uint64_t{256} * 1024 * 1024;
inline constexpr std::uint64_t kDefaultQuotaBytes = 64ull * 1024 * 1024;
// What a process keeps of opened names, MACs and name memos (vault/name_cache.h).
inline constexpr std::size_t kDefaultNameCacheBytes = 4u * 1024 * 1024;
inline constexpr std::size_t kMaxNamespaceChars = 64;
inline constexpr std::size_t kDefaultListLimit = 100;
inline constexpr std::size_t kMaxListLimit = 1000;
// A list page stops once its keys add up to this much JSON, so a reply
// stays far below the 1 MiB native-messaging limit whatever the names.
inline constexpr std::size_t kListPageBudgetBytes = 256 * 1024;
// Random 96-bit nonces are safe for 2^32 encryptions per key (NIST SP
// 800-38D 8.3); rotate at a quarter of that.
inline constexpr std::uint64_t kDefaultRotateAfterEncryptions = 1ull << 30;
// Fail closed: if rotation keeps failing (say, a damaged record it cannot
// re-seal), writes under the old key stop here, at half the safe bound.
inline constexpr std::uint64_t kDefaultMaxEncryptionsPerKey = 1ull << 31;
// OWASP's scrypt recommendation: N=2^17, r=8, p=1 (128 MiB, ~0.3 s).
inline constexpr crypto::ScryptParams kDefaultPassphraseKdf{std::uint64_t{1} << 17, 8, 1};

struct VaultOptions {
  // Holds vault.db and, for the key-file source, vault.key.
  std::filesystem::path data_dir;
  // Which master key store a new vault uses. kAuto picks the keyring when a
  // Secret Service answers, else the key file. An existing vault always
  // uses the source recorded in it (so a missing keyring never silently
  // falls back to a new key file).
  KeySource key_source = KeySource::kAuto;
  // Overrides key_source when set (tests inject stores).
  std::shared_ptr<MasterKeyStore> key_store;
  std::shared_ptr<const Clock> clock;  // Defaults to SystemClock.
  std::uint64_t quota_bytes = kDefaultQuotaBytes;
  // The largest backup Export writes and Import reads.
  std::uint64_t max_backup_bytes = kMaxBackupBytes;
  // Keys are wiped from memory after this long without a call; 0 = never
  // (they then live for the life of the process).
  std::chrono::seconds idle_timeout{0};
  std::uint64_t rotate_after_encryptions = kDefaultRotateAfterEncryptions;
  std::uint64_t max_encryptions_per_key = kDefaultMaxEncryptionsPerKey;
  // Parameters for new passphrases and exports.
  crypto::ScryptParams passphrase_kdf = kDefaultPassphraseKdf;
  std::size_t rotation_batch = 64;
  // Fault injection for tests: stop a rotation after this many batches, as
  // a kill would (0 = never).
  std::size_t rotation_batch_limit_for_testing = 0;
  // Fault injection for tests: every rotation fails before it starts.
  bool fail_rotation_for_testing = false;
  int busy_timeout_ms = 5000;
  // The bound on what the process keeps of opened names, MACs and name
  // memos (cleared whole when full; tests make it small).
  std::size_t name_cache_bytes = kDefaultNameCacheBytes;
};

enum class VaultState { kUninitialized, kLocked, kUnlocked };
std::string_view VaultStateName(VaultState state);

struct VaultStatus {
  VaultState state = VaultState::kUninitialized;
  KeySource key_source = KeySource::kAuto;
  std::string key_location;  // Describe() of the store; never the key.
  bool passphrase_set = false;
  std::uint64_t record_count = 0;
  std::uint64_t used_bytes = 0;
  std::uint64_t quota_bytes = 0;
  std::uint32_t active_key_id = 0;
  std::optional<std::chrono::system_clock::time_point> key_created;
  std::optional<std::chrono::seconds> key_age;  // Now (the vault's clock) minus key_created.
  std::optional<std::chrono::system_clock::time_point> last_rotation;
  bool rotation_pending = false;
  std::filesystem::path path;
  std::string locked_reason;  // Why state is kLocked (for the UI).
};

struct Record {
  nlohmann::json value;
  std::int64_t revision = 0;
};

struct ListItem {
  std::string key;
  std::int64_t revision = 0;
};

struct ListPage {
  std::vector<ListItem> items;
  std::optional<std::string> cursor;  // Absent on the last page.
};

struct RotationResult {
  std::uint32_t key_id = 0;
  std::uint64_t resealed = 0;
};

struct ImportReport {
  std::uint64_t added = 0;
  std::uint64_t updated = 0;
  std::uint64_t unchanged = 0;
};

struct ExportResult {
  std::string backup;  // Self-describing JSON text, sealed (see docs).
  std::uint64_t records = 0;
};

class Vault {
 public:
  // Opens or creates <data_dir>/vault.db. Does not need the master key: a
  // vault whose key is unavailable opens in the locked state.
  static Result<std::unique_ptr<Vault>> Open(VaultOptions options);
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // kNotFound when the record does not exist.
  Result<Record> Get(std::string_view ns, std::string_view key);
  // expected_revision: nullopt = unconditional; 0 = must not exist;
  // n = the record's current revision must be n. Returns the new revision.
  Result<std::int64_t> Set(std::string_view ns, std::string_view key, const nlohmann::json& value,
                           std::optional<std::int64_t> expected_revision = std::nullopt);
  // kNotFound when missing; kConflict on a stale expected revision.
  bellwether::Status Delete(std::string_view ns, std::string_view key,
                std::optional<std::int64_t> expected_revision = std::nullopt);
  // Records of `ns` whose key starts with `prefix`, in a stable order (by
  // the key's MAC), from `cursor` on; at most `limit` items per page.
  Result<ListPage> List(std::string_view ns, std::string_view prefix,
                        std::optional<std::string_view> cursor, std::size_t limit);
  // Deletes every record of `ns`; returns how many.
  Result<std::uint64_t> Clear(std::string_view ns);

  // Never creates keys; reports kUninitialized for a vault without any.
  Result<VaultStatus> GetStatus();

  // Wipes every key from memory. With a passphrase set, the vault then
  // stays locked until Unlock(); without one, the next call re-reads the
  // master key. Returns whether the vault is now locked.
  bool Lock();
  // Wipes the keys if no call used them for options.idle_timeout (a timer
  // calls this, so keys leave memory on a quiet port too, not only at the
  // next request). Returns whether it wiped anything.
  bool WipeKeysIfIdle();
  // kWrongPassphrase on a bad passphrase; OK (no-op) when none is set.
  bellwether::Status Unlock(std::string_view passphrase);
  // Sets, changes (`current` required when one is set) or removes
  // (new_passphrase = nullopt) the passphrase. Re-wraps the root key only.
  bellwether::Status SetPassphrase(std::optional<std::string_view> new_passphrase,
                                   std::optional<std::string_view> current);
  // Finishes any interrupted rotation, promotes a new data key, re-seals
  // every record in batches and retires the old key.
  Result<RotationResult> RotateKey();

  Result<ExportResult> Export(std::string_view passphrase);
  // Merges a backup (atomically: all or nothing). Records present with the
  // same value are unchanged; different values are updated (new revision).
  Result<ImportReport> Import(std::string_view backup, std::string_view passphrase);

  const std::filesystem::path& path() const;

  // How many name MACs and opened names the process remembers
  // (vault/name_cache.h); for tests that check what is kept and wiped.
  std::size_t NameCacheEntriesForTesting();
  std::size_t NameCacheBytesForTesting();  // What they count against name_cache_bytes.
  // How many record names and name MACs this process has computed with a
  // key (AES-GCM opens of sealed names, HMACs): what the caches and name
  // memos save.
  struct KeyedWork {
    std::uint64_t names_opened = 0;
    std::uint64_t macs_computed = 0;
    std::uint64_t memo_nonces_read = 0;  // Reads of a stored memo's nonce.
    std::uint64_t list_rows_read = 0;    // Rows read by listings (not served from a memo).
    std::uint64_t memo_looks = 0;        // List pages that read the stored memo's state.
    // List pages served from a memo with this process's own writes over it.
    std::uint64_t pages_over_own_writes = 0;
    // Memos brought up to date from their logs (another process's writes).
    std::uint64_t memos_over_logs = 0;
    // Memo logs this process ended for holding as many changes as a
    // listing takes from one.
    std::uint64_t memo_logs_ended = 0;
    // The wrap generation and memo states found where their rows were
    // last time, without their key's index.
    std::uint64_t wrap_generations_at_known_rowid = 0;
    std::uint64_t memo_states_at_known_rowid = 0;
  };
  KeyedWork KeyedWorkForTesting();
  // The buffer Get opens values into, kept between calls: its size, and
  // whether it is all zeros (it must be whenever no call is running).
  struct ValueBufferState {
    std::size_t size = 0;
    bool all_zero = true;
  };
  ValueBufferState ValueBufferForTesting();
  // The value of an integer PRAGMA on the vault's own connection (e.g.
  // "synchronous", "busy_timeout"), which another connection cannot see.
  Result<std::int64_t> PragmaForTesting(std::string_view pragma);

 private:
  struct Impl;
  explicit Vault(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "2026-11-28T05:18:29Z".
std::string FormatIso8601(std::chrono::system_clock::time_point t);

// Shared validation (the wire layer reports the same errors).
bellwether::Status ValidateNamespace(std::string_view ns);
bellwether::Status ValidateRecordKey(std::string_view key);
// Non-empty and at most 1024 bytes (kInvalidParams, kTooLarge).
bellwether::Status ValidatePassphrase(std::string_view passphrase);

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_VAULT_H_
