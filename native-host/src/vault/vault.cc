#include "vault/vault.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <utility>

#include "common/file_util.h"
#include "common/json_guard.h"
#include "common/log.h"
#include "common/paths.h"
#include "crypto/aead.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/nonce_source.h"
#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "vault/name_cache.h"
#include "vault/name_memo.h"
#include "vault/sqlite_db.h"

namespace bellwether::vault {
namespace {

using crypto::SecureBytes;
using Bytes = std::vector<std::uint8_t>;
using TimePoint = std::chrono::system_clock::time_point;

constexpr std::size_t kVaultIdBytes = 16;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kBlobHeaderBytes = 1 + 4 + crypto::kGcmNonceBytes;
constexpr std::size_t kMaxPassphraseBytes = 1024;
// Backups nest three levels around a record's value, and their header less.
constexpr int kMaxBackupDepth = kMaxValueDepth + 8;
constexpr std::size_t kListScanBatch = 256;
constexpr std::size_t kListMaxScannedRows = 20000;
// Name memos (vault/name_memo.h): a get or set loads its namespace's memo
// once it has had to MAC this many names in a process (so a one-shot host
// that reads one record never pays for a memo); a listing loads it first
// thing, and one that reaches the end of a namespace of at least
// kMemoMinRows rows without a current memo may write one (see WriteMemo).
constexpr std::uint32_t kMemoLoadAfterMacs = 4;
constexpr std::size_t kMemoMinRows = 16;
// A stale memo is rewritten by a listing that found this many of the rows
// not in the memo this process holds, and at least 1/kMemoRewriteFraction
// of the names that memo holds: each is a name a new process would open
// one by one, and a row this process must look up elsewhere. (A rewrite
// reads and seals every name, so it waits until it saves that much. The
// held memo may be older than a stale one stored since: then it comes
// early.) A missing memo is written by any listing that reaches the end.
constexpr std::size_t kMemoRewriteAfterMisses = 8;
constexpr std::size_t kMemoRewriteFraction = 8;
// The rows a listing must find changed to rewrite a memo of `names` names.
constexpr std::size_t MemoRewriteAfter(std::size_t names) {
  return std::max(kMemoRewriteAfterMisses, names / kMemoRewriteFraction);
}
// Namespaces with memo bookkeeping in one process (forgotten beyond).
constexpr std::size_t kMaxMemoStates = 256;
// A namespace's own writes listed over its memo (MemoState::OwnWrites):
// beyond this many records changed, listings read the rows again.
constexpr std::size_t kMaxOwnWrites = 256;
// A memo log over a memo of `names` names is used by a listing only while
// it holds fewer changes than this (docs/security.md, "Memo logs"); the
// write that makes it this long ends it (Vault::Impl::EndFullMemoLog).
constexpr std::size_t MemoLogCapacity(std::size_t names) {
  return std::min(kMaxOwnWrites, MemoRewriteAfter(names));
}
constexpr char kBackupFormat[] = "bellwether-vault-backup";

// Domain-separation labels (part of the format; see docs/security.md, "Vault format").
constexpr std::string_view kKekInfo = "bellwether.vault.kek.v1";
constexpr std::string_view kKekPassphraseInfo = "bellwether.vault.kek.passphrase.v1";
constexpr std::string_view kNameKeyInfo = "bellwether.vault.name-mac.v1";
constexpr std::string_view kMasterCheckLabel = "bellwether.vault.master-check.v1";
constexpr std::string_view kRootAadLabel = "bellwether.vault.root.v1";
constexpr std::string_view kDataKeyAadLabel = "bellwether.vault.data-key.v1";
constexpr std::string_view kBackupAadLabel = "bellwether.vault.backup.v1\n";

constexpr char kSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  k TEXT PRIMARY KEY,
  v BLOB);
CREATE TABLE IF NOT EXISTS keys (
  key_id INTEGER PRIMARY KEY,
  state TEXT NOT NULL,            -- active | retiring | retired
  wrapped BLOB,                   -- NULL once retired
  created INTEGER NOT NULL,       -- Unix seconds
  encryptions INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS records (
  id INTEGER PRIMARY KEY,
  ns TEXT NOT NULL,
  name_mac BLOB NOT NULL,
  key_id INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  size INTEGER NOT NULL,
  name_blob BLOB NOT NULL,
  value_blob BLOB NOT NULL,
  UNIQUE (ns, name_mac));
CREATE INDEX IF NOT EXISTS records_by_key ON records (key_id);
-- vault.list walks the UNIQUE index in MAC order. Earlier hosts kept a
-- covering index for it (records_list); the name memos made it save little,
-- while every write paid for a second copy of the sealed name (docs/
-- performance.md, "Results (eighth session)").
DROP INDEX IF EXISTS records_list;
-- One sealed name memo per namespace (vault/name_memo.h). Only ever saves
-- work: deleting a row here loses nothing. `current` is 1 while the memo
-- lists the namespace's rows exactly: the triggers in kMemoTriggers see
-- every change to them, made by any version of the host, and a deleted
-- name must not live on in a memo.
CREATE TABLE IF NOT EXISTS name_memos (
  ns TEXT PRIMARY KEY,
  key_id INTEGER NOT NULL,
  current INTEGER NOT NULL,
  memo BLOB NOT NULL);
-- A namespace's memo log (docs/security.md, "Memo logs"): which records
-- changed since its memo was written, so a listing after another
-- process's write reads those rows, not all. name_memo_logs holds where
-- each log starts: the nonce of the memo it follows, and the schema
-- version under which that memo's writer found the triggers in
-- kMemoTriggers. While a namespace has a start, the triggers add to
-- name_memo_changes the id of every record inserted or updated in it;
-- they delete both with the memo.
CREATE TABLE IF NOT EXISTS name_memo_logs (
  ns TEXT PRIMARY KEY,
  memo_nonce BLOB NOT NULL,
  schema_version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS name_memo_changes (
  ns TEXT NOT NULL,
  id INTEGER NOT NULL,
  PRIMARY KEY (ns, id)) WITHOUT ROWID;
)sql";

// The memo triggers (docs/security.md, "Name memos"), exactly as SQLite keeps
// their text in sqlite_master. Open checks that these, and no other
// triggers, are in the file: a trigger changed or added by someone who can
// write it could otherwise keep a stale memo current.
struct TriggerSql {
  std::string_view name, sql;
};
// A change is logged only while the namespace's log has its start, and
// once per record. (Reading the start from the table written to would
// make SQLite copy the SELECT's result aside first: a write would cost
// several microseconds more, as docs/performance.md measures. So would an
// IN list of the old and new namespace.) A row moved to another namespace,
// which no host does, leaves the old one as a deletion does: without its
// memo and log (statements that do nothing unless the namespaces differ).
constexpr TriggerSql kMemoTriggers[] = {
    {"records_insert_memo",
     "CREATE TRIGGER records_insert_memo AFTER INSERT ON records BEGIN "
     "UPDATE name_memos SET current = 0 WHERE ns = NEW.ns AND current != 0; "
     "INSERT INTO name_memo_changes (ns, id) SELECT ns, NEW.id FROM name_memo_logs WHERE ns = NEW.ns "
     "ON CONFLICT DO NOTHING; END"},
    {"records_update_memo",
     "CREATE TRIGGER records_update_memo AFTER UPDATE ON records BEGIN "
     "UPDATE name_memos SET current = 0 WHERE ns = NEW.ns AND current != 0; "
     "DELETE FROM name_memos WHERE OLD.ns IS NOT NEW.ns AND ns = OLD.ns; "
     "DELETE FROM name_memo_logs WHERE OLD.ns IS NOT NEW.ns AND ns = OLD.ns; "
     "DELETE FROM name_memo_changes WHERE OLD.ns IS NOT NEW.ns AND ns = OLD.ns; "
     "INSERT INTO name_memo_changes (ns, id) SELECT ns, NEW.id FROM name_memo_logs WHERE ns = NEW.ns "
     "ON CONFLICT DO NOTHING; END"},
    {"records_delete_memo",
     "CREATE TRIGGER records_delete_memo AFTER DELETE ON records BEGIN "
     "DELETE FROM name_memos WHERE ns = OLD.ns; "
     "DELETE FROM name_memo_logs WHERE ns = OLD.ns; "
     "DELETE FROM name_memo_changes WHERE ns = OLD.ns; END"},
};
// The memo triggers of earlier hosts: replaced without a warning when this
// host opens a vault one of them last opened. First those of the hosts
// before the memo logs.
constexpr TriggerSql kEarlierMemoTriggers[] = {
    {"records_insert_memo",
     "CREATE TRIGGER records_insert_memo AFTER INSERT ON records BEGIN "
     "UPDATE name_memos SET current = 0 WHERE ns = NEW.ns AND current != 0; END"},
    {"records_update_memo",
     "CREATE TRIGGER records_update_memo AFTER UPDATE ON records BEGIN "
     "UPDATE name_memos SET current = 0 WHERE ns IN (OLD.ns, NEW.ns) AND current != 0; END"},
    {"records_delete_memo",
     "CREATE TRIGGER records_delete_memo AFTER DELETE ON records BEGIN "
     "DELETE FROM name_memos WHERE ns = OLD.ns; END"},
    // The first hosts with memo logs (the eleventh session's) marked both
    // namespaces of an update with one IN list, for which SQLite fills a
    // temporary table on every update: about 3% of a 1 KiB overwrite.
    {"records_update_memo",
     "CREATE TRIGGER records_update_memo AFTER UPDATE ON records BEGIN "
     "UPDATE name_memos SET current = 0 WHERE ns IN (OLD.ns, NEW.ns) AND current != 0; "
     "INSERT INTO name_memo_changes (ns, id) SELECT ns, NEW.id FROM name_memo_logs WHERE ns = NEW.ns "
     "ON CONFLICT DO NOTHING; END"},
};

void Append(Bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }
void Append(Bytes& out, std::span<const std::uint8_t> s) { out.insert(out.end(), s.begin(), s.end()); }
void AppendU32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
std::uint32_t ReadU32(std::span<const std::uint8_t> b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}
std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::int64_t ToUnix(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
TimePoint FromUnix(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

Status FileError(std::string_view what, const std::filesystem::path& p) {
  return ErrnoStatus(std::string(what) + " " + p.string(), errno);
}

// Creates the file 0600 if missing and tightens an existing one we own.
Status EnsurePrivateFile(const std::filesystem::path& p, bool create) {
  int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0);
  int fd = ::open(p.c_str(), flags, 0600);
  if (fd < 0) {
    if (!create && errno == ENOENT) return Status::Ok();
    return FileError("cannot open", p);
  }
  struct stat st {};
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = FileError("cannot stat", p);
  } else if (!S_ISREG(st.st_mode)) {
    s = Status::Storage(p.string() + " is not a regular file");
  } else if ((st.st_mode & 0777) != 0600 && ::fchmod(fd, 0600) != 0) {
    s = FileError("cannot set mode 0600 on", p);
  }
  ::close(fd);
  return s;
}

struct RowRef {
  std::int64_t id = 0;
  std::uint32_t key_id = 0;
  std::int64_t revision = 0;
  std::int64_t size = 0;
};

struct PassphraseKdf {
  crypto::ScryptParams params;
  Bytes salt;
};

std::string KdfToJson(const PassphraseKdf& kdf) {
  nlohmann::json j = {{"name", "scrypt"},
                      {"N", kdf.params.n},
                      {"r", kdf.params.r},
                      {"p", kdf.params.p},
                      {"salt", crypto::Base64Encode(kdf.salt)}};
  return j.dump();
}

Result<PassphraseKdf> KdfFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("name") || j["name"] != "scrypt" || !j.contains("N") || !j["N"].is_number_unsigned() ||
      !j.contains("r") || !j["r"].is_number_unsigned() || !j.contains("p") ||
      !j["p"].is_number_unsigned() || !j.contains("salt") || !j["salt"].is_string()) {
    return Status::InvalidParams("malformed scrypt parameters");
  }
  PassphraseKdf kdf;
  kdf.params.n = j["N"].get<std::uint64_t>();
  std::uint64_t r = j["r"].get<std::uint64_t>(), p = j["p"].get<std::uint64_t>();
  if (r > 16 || p > 16) return Status::InvalidParams("scrypt r and p must be within 1..16");
  kdf.params.r = static_cast<std::uint32_t>(r);
  kdf.params.p = static_cast<std::uint32_t>(p);
  BW_RETURN_IF_ERROR(crypto::ValidateScryptParams(kdf.params));
  BW_ASSIGN_OR_RETURN(kdf.salt, crypto::Base64Decode(j["salt"].get<std::string>()));
  if (kdf.salt.size() < 8 || kdf.salt.size() > 64) return Status::InvalidParams("bad scrypt salt length");
  return kdf;
}

// A value as stored. Its nesting is bounded first: printing recurses.
Result<std::string> SerializeValue(const nlohmann::json& value) {
  if (JsonValueNestsDeeperThan(value, kMaxValueDepth)) {
    return Status::InvalidParams("value nests arrays and objects more than " +
                                 std::to_string(kMaxValueDepth) + " levels deep");
  }
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidParams("value is not serializable JSON (invalid UTF-8?)");
  }
}

Status CheckValueSize(std::size_t n) {
  if (n > kMaxValueBytes) {
    return Status::TooLarge("value is " + std::to_string(n) + " bytes of JSON; the limit is " +
                            std::to_string(kMaxValueBytes));
  }
  return Status::Ok();
}

// Orders name MACs (and list cursors) as SQLite orders the name_mac blobs.
struct MacOrder {
  using is_transparent = void;
  bool operator()(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
};

}  // namespace

std::string_view VaultStateName(VaultState state) {
  switch (state) {
    case VaultState::kUninitialized: return "uninitialized";
    case VaultState::kLocked: return "locked";
    case VaultState::kUnlocked: return "unlocked";
  }
  return "locked";
}

std::string FormatIso8601(TimePoint t) {
  std::time_t tt = static_cast<std::time_t>(ToUnix(t));
  std::tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status ValidatePassphrase(std::string_view p) {
  if (p.empty()) return Status::InvalidParams("passphrase must not be empty");
  if (p.size() > kMaxPassphraseBytes) return Status::TooLarge("passphrase longer than 1024 bytes");
  return Status::Ok();
}

Status ValidateNamespace(std::string_view ns) {
  if (ns.empty() || ns.size() > kMaxNamespaceChars) {
    return Status::InvalidParams("namespace must be 1..64 characters");
  }
  for (char c : ns) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return Status::InvalidParams("namespace may contain only a-z, 0-9, '_' and '-'");
  }
  return Status::Ok();
}

Status ValidateRecordKey(std::string_view key) {
  if (key.empty()) return Status::InvalidParams("record key must not be empty");
  if (key.size() > kMaxNameBytes) {
    return Status::TooLarge("record key is " + std::to_string(key.size()) + " bytes; the limit is " +
                            std::to_string(kMaxNameBytes));
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ Impl

struct Vault::Impl {
  VaultOptions options;
  std::filesystem::path db_path;
  std::unique_ptr<Database> db;
  std::shared_ptr<MasterKeyStore> store;
  std::mutex mu;
  Bytes vault_id;

  // Key material: empty/absent while locked; wiped by WipeKeys().
  SecureBytes root;
  std::optional<crypto::HmacSha256Key> name_key;
  // Name MACs and opened names already computed under these keys.
  NameCache names;
  // Per namespace: has this process looked for its name memo (and which
  // one it loaded, by nonce), how many of its names it had to MAC before,
  // and whether its memo would be too large to write.
  struct MemoState {
    bool loaded = false;
    // Where the memo's row was found last (IntByKey).
    std::optional<std::int64_t> rowid;
    std::uint32_t macs = 0;
    std::optional<std::array<std::uint8_t, crypto::kGcmNonceBytes>> nonce;
    // A stored memo that failed to open (not tried again while stored).
    std::optional<std::array<std::uint8_t, crypto::kGcmNonceBytes>> failed_nonce;
    bool stored = false;        // A memo row was there at the last look.
    // Rows of the listing under way (from its first page) that the memo
    // this process holds did not list as they are.
    std::size_t missed = 0;
    bool too_large = false;     // Not written or loaded in this process again.
    // A listing found no log it could use while other processes write to
    // the vault: the next listing that reaches the end rewrites the memo,
    // starting a log. Once per namespace until a log is used again, so a
    // log that cannot start (other triggers) costs one rewrite, not one
    // per listing.
    bool log_wanted = false;
    bool log_rewrite_done = false;
    bool write_failed = false;  // Not written in this process again.
    // The stored memo's nonce as CurrentMemo last read it, and SQLite's
    // data version then: while it holds, the memo is still that one.
    std::optional<unsigned int> nonce_version;
    std::array<std::uint8_t, crypto::kGcmNonceBytes> stored_nonce{};
    // This process's own writes to the namespace since a listing last
    // found its memo (`memo`, by nonce) current, while nothing else has
    // committed to the file since: SQLite's data version, which moves with
    // every commit by any connection, is still `version`, the one after the
    // last of them. The memo with these changes over it then lists exactly
    // the namespace's rows, so a listing right after this process's own
    // write need not read them. Anything else (another connection's
    // commit, a clear, a rotation, a failed write) moves the version or
    // drops this, and listings read the rows again.
    struct OwnWrite {
      SecureBytes name;  // Empty for a deleted record.
      std::int64_t revision = 0;
      bool deleted = false;
    };
    struct OwnWrites {
      std::array<std::uint8_t, crypto::kGcmNonceBytes> memo{};
      unsigned int version = 0;
      std::map<NameCache::Mac, OwnWrite, MacOrder> changes;
    };
    std::optional<OwnWrites> own_writes;
    // SQLite's data version when a listing last found the memo unusable
    // (stale, missing or not this process's): while the file has not
    // changed since, it still is.
    std::optional<unsigned int> unusable_at;
  };
  std::map<std::string, MemoState, std::less<>> memos;
  KeyedWork keyed_work;        // For tests: what the caches saved.
  crypto::NonceSource nonces;  // Record nonces, drawn from the DRBG in batches.
  // NameMac's buffer: len(ns) || ns || name, at most this long (validated).
  std::array<std::uint8_t, 1 + kMaxNamespaceChars + kMaxNameBytes> mac_input{};
  // Data keys with their AES key schedules, by key id.
  std::map<std::uint32_t, crypto::AesGcmKey> data_keys;
  // Get opens values into this one buffer (grown to the largest value read,
  // at most kMaxValueBytes) rather than a new allocation per read; the
  // bytes a read used are wiped when it is done (ValueBuffer).
  SecureBytes value_scratch;
  std::int64_t wrap_generation = 0;
  std::optional<std::int64_t> wrap_generation_rowid;  // IntByKey.
  // SQLite data version at which wrap_generation was last confirmed.
  std::optional<unsigned int> verified_data_version;
  // Whether another connection has committed to the file since this
  // process first looked (PRAGMA data_version, which only other
  // connections' commits move): then another host shares the vault, and
  // memos written from then on start logs (docs/security.md, "Memo logs").
  // A host alone keeps none: its own writes are listed over its memo
  // anyway, and a log would cost each first write of a record a page.
  std::optional<std::int64_t> others_version;
  bool others_write = false;
  TimePoint last_used;

  TimePoint Now() const { return options.clock->Now(); }

  // The names remembered under the current keys, and the memo bookkeeping
  // that refers to them, go together.
  void ForgetNames() {
    names.Clear();
    memos.clear();
  }

  void WipeKeys() {
    root.Wipe();
    name_key.reset();
    ForgetNames();
    OPENSSL_cleanse(mac_input.data(), mac_input.size());  // The last name MACed.
    data_keys.clear();  // OpenSSL cleanses the key schedules.
    value_scratch.Wipe();
    wrap_generation = 0;
    verified_data_version.reset();
  }

  // ---- meta helpers (call inside a transaction)
  Result<std::optional<std::int64_t>> MetaInt(const char* k) {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("SELECT v FROM meta WHERE k = ?"));
    st.Bind(1, std::string_view(k));
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.IsNull(0)) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(st.Int(0));
  }
  Result<std::optional<Bytes>> MetaBlob(const char* k) {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("SELECT v FROM meta WHERE k = ?"));
    st.Bind(1, std::string_view(k));
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.IsNull(0)) return std::optional<Bytes>();
    auto b = st.Blob(0);
    return std::optional<Bytes>(Bytes(b.begin(), b.end()));
  }
  Result<std::optional<std::string>> MetaText(const char* k) {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("SELECT v FROM meta WHERE k = ?"));
    st.Bind(1, std::string_view(k));
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.IsNull(0)) return std::optional<std::string>();
    return std::optional<std::string>(std::string(st.Text(0)));
  }
  // An integer column of the row whose unique text key is `key`, read
  // first at the rowid that row had last time (`rowid`): one page, where
  // the key's index costs two (the index, then the table). After another
  // process's commit SQLite has dropped every cached page, so each page is
  // a read from the file. The row there counts only if it still holds
  // `key`; otherwise the index is searched and `rowid` updated. nullopt
  // for no such row (or NULL). `found_at_rowid` counts the first case.
  struct ByKeySql {
    const char* at_rowid;  // SELECT key, value ... WHERE rowid = ?
    const char* by_key;    // SELECT rowid, value ... WHERE key = ?
  };
  static constexpr ByKeySql kWrapGenerationSql{"SELECT k, v FROM meta WHERE rowid = ?",
                                               "SELECT rowid, v FROM meta WHERE k = ?"};
  // (A NULL flag, which only an edited file holds, reads as stale.)
  static constexpr ByKeySql kMemoCurrentSql{"SELECT ns, IFNULL(current, 0) FROM name_memos WHERE rowid = ?",
                                            "SELECT rowid, IFNULL(current, 0) FROM name_memos WHERE ns = ?"};
  Result<std::optional<std::int64_t>> IntByKey(const ByKeySql& sql, std::string_view key,
                                               std::optional<std::int64_t>& rowid,
                                               std::uint64_t& found_at_rowid) {
    auto value = [](const Statement& st) {
      return st.IsNull(1) ? std::optional<std::int64_t>() : std::optional<std::int64_t>(st.Int(1));
    };
    if (rowid) {
      BW_ASSIGN_OR_RETURN(Statement st, db->Prepare(sql.at_rowid));
      st.Bind(1, *rowid);
      BW_ASSIGN_OR_RETURN(bool row, st.Step());
      // As bytes: Text() would copy the value to end it with a NUL.
      if (row && std::ranges::equal(st.Blob(0), AsBytes(key))) {
        ++found_at_rowid;
        return value(st);
      }
    }
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare(sql.by_key));
    st.Bind(1, key);
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      rowid.reset();
      return std::optional<std::int64_t>();
    }
    rowid = st.Int(0);
    return value(st);
  }

  Status SetMetaInt(const char* k, std::int64_t v) {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)"));
    return st.Bind(1, std::string_view(k)).Bind(2, v).Run();
  }
  Status SetMetaBlob(const char* k, std::span<const std::uint8_t> v) {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)"));
    return st.Bind(1, std::string_view(k)).Bind(2, v).Run();
  }
  Status SetMetaText(const char* k, std::string_view v) {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)"));
    return st.Bind(1, std::string_view(k)).Bind(2, v).Run();
  }
  Status DeleteMeta(const char* k) {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("DELETE FROM meta WHERE k = ?"));
    return st.Bind(1, std::string_view(k)).Run();
  }

  // ---- key hierarchy

  // The master key store for this vault. `recorded` is meta.key_source when
  // the vault has one: it always wins, so a process that chose a store
  // before the vault existed (for a status, say) follows the store another
  // process then created the vault with. Without a record the first choice
  // is kept for the life of the process.
  std::shared_ptr<MasterKeyStore> ResolveStore(std::optional<std::string> recorded) {
    if (options.key_store) return options.key_store;
    std::optional<KeySource> wanted;
    if (recorded) {
      auto parsed = ParseKeySource(*recorded);
      if (parsed.ok() && *parsed != KeySource::kAuto) wanted = *parsed;
    }
    if (!wanted && store) return store;
    if (!wanted) {
      wanted = options.key_source;
      if (*wanted == KeySource::kAuto) {
        wanted = KeyringKeyStore::IsAvailable() ? KeySource::kKeyring : KeySource::kKeyFile;
      }
    }
    if (store && store->source() == *wanted) return store;
    if (*wanted == KeySource::kKeyring) {
      store = std::make_shared<KeyringKeyStore>(db_path.string());
    } else {
      store = std::make_shared<KeyFileKeyStore>(options.data_dir / "vault.key");
    }
    return store;
  }

  Bytes MasterCheckInput() const {
    // Sized up front (GCC 12 misreads an insert into a fresh vector here).
    Bytes in(kMasterCheckLabel.size() + vault_id.size());
    std::copy(kMasterCheckLabel.begin(), kMasterCheckLabel.end(), in.begin());
    std::copy(vault_id.begin(), vault_id.end(), in.begin() + static_cast<std::ptrdiff_t>(kMasterCheckLabel.size()));
    return in;
  }

  Bytes RootAad(bool passphrase) const {
    Bytes aad(kRootAadLabel.begin(), kRootAadLabel.end());
    aad.push_back(static_cast<std::uint8_t>(kFormatVersion));
    Append(aad, vault_id);
    aad.push_back(passphrase ? 1 : 0);
    return aad;
  }

  Bytes DataKeyAad(std::uint32_t key_id) const {
    Bytes aad(kDataKeyAadLabel.begin(), kDataKeyAadLabel.end());
    aad.push_back(static_cast<std::uint8_t>(kFormatVersion));
    Append(aad, vault_id);
    AppendU32(aad, key_id);
    return aad;
  }

  // KEK = HKDF(master [|| scrypt(passphrase)], salt = vault id).
  Result<SecureBytes> DeriveKek(const SecureBytes& master, const std::optional<PassphraseKdf>& kdf,
                                std::optional<std::string_view> passphrase) const {
    if (!kdf) return crypto::HkdfSha256(master.span(), vault_id, AsBytes(kKekInfo), 32);
    if (!passphrase) return Status::Locked("the vault is locked with a passphrase");
    BW_ASSIGN_OR_RETURN(SecureBytes p, crypto::Scrypt(*passphrase, kdf->salt, kdf->params, 32));
    SecureBytes ikm(master.size() + p.size());
    std::memcpy(ikm.data(), master.data(), master.size());
    std::memcpy(ikm.data() + master.size(), p.data(), p.size());
    return crypto::HkdfSha256(ikm.span(), vault_id, AsBytes(kKekPassphraseInfo), 32);
  }

  // nonce || ciphertext || tag.
  static Result<Bytes> Wrap(const SecureBytes& kek, std::span<const std::uint8_t> secret,
                            std::span<const std::uint8_t> aad) {
    Bytes out(crypto::kGcmNonceBytes);
    BW_RETURN_IF_ERROR(crypto::RandomBytes(out.data(), out.size()));
    Bytes nonce = out;
    BW_RETURN_IF_ERROR(crypto::AesGcmSealAppend(kek.span(), nonce, secret, aad, out));
    return out;
  }

  static Result<SecureBytes> Unwrap(const SecureBytes& kek, std::span<const std::uint8_t> wrapped,
                                    std::span<const std::uint8_t> aad) {
    if (wrapped.size() < crypto::kGcmNonceBytes + crypto::kGcmTagBytes) {
      return Status::Integrity("wrapped key is truncated");
    }
    return crypto::AesGcmOpen(kek.span(), wrapped.first(crypto::kGcmNonceBytes),
                              wrapped.subspan(crypto::kGcmNonceBytes), aad);
  }

  Result<std::optional<PassphraseKdf>> ReadPassphraseKdf() {
    BW_ASSIGN_OR_RETURN(std::optional<std::string> text, MetaText("passphrase_kdf"));
    if (!text) return std::optional<PassphraseKdf>();
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    auto kdf = KdfFromJson(j);
    if (!kdf.ok()) return Status::Integrity("stored passphrase parameters are damaged");
    return std::optional<PassphraseKdf>(std::move(kdf).value());
  }

  // Creates the key hierarchy for a new vault (no-op if another process
  // already did). Never runs when a wrapped root key exists.
  Status Initialize() {
    return db->Transaction(true, [&]() -> Status {
      BW_ASSIGN_OR_RETURN(std::optional<Bytes> existing, MetaBlob("root_wrap"));
      if (existing) return Status::Ok();
      BW_ASSIGN_OR_RETURN(Statement count, db->Prepare(
          "SELECT (SELECT COUNT(*) FROM records) + (SELECT COUNT(*) FROM keys)"));
      BW_ASSIGN_OR_RETURN(bool row, count.Step());
      if (row && count.Int(0) > 0) {
        return Status::Integrity("the vault holds data but no wrapped root key");
      }
      auto key_store = ResolveStore(std::nullopt);
      auto master = key_store->Load();
      if (!master.ok() && master.status().code() == ErrorCode::kNotFound) {
        // Reached only while holding the database write lock, for a vault
        // with no wrapped key: a new master key cannot hide existing data.
        BW_ASSIGN_OR_RETURN(SecureBytes fresh, SecureBytes::Random(kMasterKeyBytes));
        Status stored = key_store->Store(fresh);
        if (stored.code() == ErrorCode::kConflict) {
          master = key_store->Load();  // Someone stored one first: use it.
        } else if (!stored.ok()) {
          return stored;
        } else {
          master = std::move(fresh);
        }
      }
      if (!master.ok()) return master.status();
      BW_ASSIGN_OR_RETURN(Bytes check, crypto::HmacSha256(master->span(), MasterCheckInput()));
      BW_ASSIGN_OR_RETURN(SecureBytes kek, DeriveKek(*master, std::nullopt, std::nullopt));
      BW_ASSIGN_OR_RETURN(SecureBytes new_root, SecureBytes::Random(32));
      BW_ASSIGN_OR_RETURN(Bytes root_wrap, Wrap(kek, new_root.span(), RootAad(false)));
      BW_ASSIGN_OR_RETURN(SecureBytes data_key, SecureBytes::Random(crypto::kAes256KeyBytes));
      BW_ASSIGN_OR_RETURN(Bytes wrapped, Wrap(new_root, data_key.span(), DataKeyAad(1)));
      BW_RETURN_IF_ERROR(SetMetaText("key_source", KeySourceName(key_store->source())));
      BW_RETURN_IF_ERROR(SetMetaBlob("master_check", check));
      BW_RETURN_IF_ERROR(SetMetaBlob("root_wrap", root_wrap));
      BW_RETURN_IF_ERROR(SetMetaInt("wrap_generation", 1));
      BW_ASSIGN_OR_RETURN(Statement ins, db->Prepare(
          "INSERT INTO keys (key_id, state, wrapped, created, encryptions) VALUES (1, 'active', ?, ?, 0)"));
      BW_RETURN_IF_ERROR(ins.Bind(1, std::span<const std::uint8_t>(wrapped)).Bind(2, ToUnix(Now())).Run());
      log::Info("vault: created a new key hierarchy (" + key_store->Describe() + ")");
      return Status::Ok();
    });
  }

  // Reads the master key and unwraps the root key.
  Status UnlockWith(std::optional<std::string_view> passphrase) {
    std::optional<Bytes> root_wrap, check;
    std::optional<PassphraseKdf> kdf;
    std::optional<std::string> source;
    std::int64_t generation = 0;
    if (bellwether::Status txn_status = db->Transaction(false, [&]() -> Status {
      BW_ASSIGN_OR_RETURN(root_wrap, MetaBlob("root_wrap"));
      BW_ASSIGN_OR_RETURN(check, MetaBlob("master_check"));
      BW_ASSIGN_OR_RETURN(kdf, ReadPassphraseKdf());
      BW_ASSIGN_OR_RETURN(source, MetaText("key_source"));
      BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> gen, MetaInt("wrap_generation"));
      generation = gen.value_or(0);
      return Status::Ok();
    }); !txn_status.ok()) {
      return txn_status;
    }
    if (!root_wrap || !check) return Status::Integrity("the vault's wrapped root key is missing");
    if (kdf && !passphrase) return Status::Locked("the vault is locked with a passphrase");
    auto key_store = ResolveStore(source);
    auto master = key_store->Load();
    if (!master.ok()) {
      if (master.status().code() == ErrorCode::kNotFound) {
        return Status::Locked("the master key is missing from the " + key_store->Describe() +
                              "; the vault's data is kept and opens again when the key is back");
      }
      if (master.status().code() == ErrorCode::kVaultLocked) return master.status();
      return Status::Locked(master.status().message());
    }
    BW_ASSIGN_OR_RETURN(Bytes expected, crypto::HmacSha256(master->span(), MasterCheckInput()));
    if (!crypto::ConstantTimeEquals(expected, *check)) {
      return Status::Locked("the master key in the " + key_store->Describe() +
                            " does not belong to this vault");
    }
    BW_ASSIGN_OR_RETURN(SecureBytes kek, DeriveKek(*master, kdf, passphrase));
    auto unwrapped = Unwrap(kek, *root_wrap, RootAad(kdf.has_value()));
    if (!unwrapped.ok()) {
      if (kdf) return Status(ErrorCode::kWrongPassphrase, "wrong passphrase");
      return Status::Integrity("the vault's root key failed to authenticate");
    }
    BW_ASSIGN_OR_RETURN(SecureBytes name_seed,
                        crypto::HkdfSha256(unwrapped->span(), vault_id, AsBytes(kNameKeyInfo), 32));
    BW_ASSIGN_OR_RETURN(crypto::HmacSha256Key nk, crypto::HmacSha256Key::Create(name_seed.span()));
    root = std::move(unwrapped).value();
    name_key = std::move(nk);
    ForgetNames();
    data_keys.clear();
    wrap_generation = generation;
    return Status::Ok();
  }

  // Every data operation starts here. Fails with kVaultLocked when the key
  // is not available; never creates keys over an existing vault.
  Status EnsureUnlocked() {
    TimePoint now = Now();
    if (!root.empty() && options.idle_timeout.count() > 0 && now - last_used > options.idle_timeout) {
      WipeKeys();
    }
    std::optional<Bytes> root_wrap;
    std::int64_t generation = 0;
    if (bellwether::Status txn_status = db->Transaction(false, [&]() -> Status {
      BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> gen, MetaInt("wrap_generation"));
      generation = gen.value_or(0);
      if (!root.empty() && generation == wrap_generation) return Status::Ok();
      BW_ASSIGN_OR_RETURN(root_wrap, MetaBlob("root_wrap"));
      return Status::Ok();
    }); !txn_status.ok()) {
      return txn_status;
    }
    if (!root.empty() && generation == wrap_generation) {
      last_used = now;
      return Status::Ok();
    }
    // The wrapping changed in another process (passphrase set, changed or
    // removed): forget what we hold and unlock afresh.
    WipeKeys();
    if (!root_wrap) BW_RETURN_IF_ERROR(Initialize());
    BW_RETURN_IF_ERROR(UnlockWith(std::nullopt));
    last_used = now;
    ResumeRotationQuietly();
    return Status::Ok();
  }

  // The hot path: with keys in memory (and not idle-expired) no extra
  // database round trip; the operation's own transaction re-checks the wrap
  // generation instead (RunUnlocked).
  Status EnsureUnlockedFast() {
    TimePoint now = Now();
    if (!root.empty() && options.idle_timeout.count() > 0 && now - last_used > options.idle_timeout) {
      WipeKeys();
    }
    if (root.empty()) return EnsureUnlocked();
    last_used = now;
    return Status::Ok();
  }

  // Inside a transaction: has another process re-wrapped the root key since
  // we unlocked? SQLite's data version (which changes with any commit to
  // the file) spares the meta read while nothing at all has changed.
  Result<bool> KeysStale() {
    const std::optional<unsigned int> version = db->DataVersion();
    if (version && verified_data_version && *verified_data_version == *version) return false;
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> gen,
                        IntByKey(kWrapGenerationSql, "wrap_generation", wrap_generation_rowid,
                                 keyed_work.wrap_generations_at_known_rowid));
    if (gen.value_or(0) != wrap_generation) return true;
    if (version) verified_data_version = version;
    return false;
  }

  // Runs `body` in a transaction with the keys available. If another
  // process re-wrapped the root key (passphrase set, changed or removed)
  // since we unlocked, the transaction is rolled back, the keys forgotten
  // and the vault unlocked afresh once. The check runs after `body` in the
  // same transaction (one snapshot), so its order does not matter.
  Status RunUnlocked(bool write, FunctionRef<Status()> body) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      BW_RETURN_IF_ERROR(attempt == 0 ? EnsureUnlockedFast() : EnsureUnlocked());
      bool stale = false;
      Status s = db->Transaction(write, [&]() -> Status {
        stale = false;
        Status result = body();
        if (!result.ok() && db->last_error_busy()) return result;  // Retried whole.
        BW_ASSIGN_OR_RETURN(stale, KeysStale());
        if (stale) return Status::Locked("the vault's keys were changed by another process");
        return result;
      });
      if (!stale) return s;
      WipeKeys();
    }
    return Status::Locked("the vault's keys keep changing; try again");
  }

  void ResumeRotationQuietly() {
    auto pending = RotationPending();
    if (!pending.ok() || !*pending) return;
    log::Info("vault: resuming an interrupted key rotation");
    auto r = ResumeRotation();
    if (!r.ok()) log::Warning("vault: key rotation did not finish: " + r.status().ToString());
  }

  Result<bool> RotationPending() {
    bool pending = false;
    if (bellwether::Status txn_status = db->Transaction(false, [&]() -> Status {
      BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("SELECT COUNT(*) FROM keys WHERE state = 'retiring'"));
      BW_ASSIGN_OR_RETURN(bool row, st.Step());
      pending = row && st.Int(0) > 0;
      return Status::Ok();
    }); !txn_status.ok()) {
      return txn_status;
    }
    return pending;
  }

  Result<const crypto::AesGcmKey*> DataKey(std::uint32_t key_id) {
    auto it = data_keys.find(key_id);
    if (it != data_keys.end()) return &it->second;
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("SELECT wrapped FROM keys WHERE key_id = ?"));
    st.Bind(1, static_cast<std::int64_t>(key_id));
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.IsNull(0)) {
      return Status::Integrity("data sealed under unknown or retired key " + std::to_string(key_id));
    }
    auto wrapped = st.Blob(0);
    auto key = Unwrap(root, wrapped, DataKeyAad(key_id));
    if (!key.ok() || key->size() != crypto::kAes256KeyBytes) {
      return Status::Integrity("data key " + std::to_string(key_id) + " failed to authenticate");
    }
    BW_ASSIGN_OR_RETURN(crypto::AesGcmKey cipher, crypto::AesGcmKey::Create(key->span()));
    auto [pos, inserted] = data_keys.emplace(key_id, std::move(cipher));
    return &pos->second;
  }

  struct ActiveKey {
    std::uint32_t id = 0;
    std::int64_t encryptions = 0;
  };

  Result<ActiveKey> Active() {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare(
        "SELECT key_id, encryptions FROM keys WHERE state = 'active' ORDER BY key_id DESC LIMIT 1"));
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::Integrity("the vault has no active data key");
    return ActiveKey{static_cast<std::uint32_t>(st.Int(0)), st.Int(1)};
  }

  // HMAC(name key, len(ns) || ns || key), remembered for the process.
  Result<NameCache::Mac> NameMac(std::string_view ns, std::string_view key) {
    if (ns.size() > kMaxNamespaceChars || key.size() > kMaxNameBytes) {
      return Status::InvalidParams("namespace or record key too long");
    }
    mac_input[0] = static_cast<std::uint8_t>(ns.size());
    std::copy(ns.begin(), ns.end(), mac_input.begin() + 1);
    std::copy(key.begin(), key.end(), mac_input.begin() + 1 + static_cast<std::ptrdiff_t>(ns.size()));
    const std::span<const std::uint8_t> input(mac_input.data(), 1 + ns.size() + key.size());
    if (const NameCache::Mac* known = names.FindMac(input)) return *known;
    if (MemoState& memo = Memo(ns); !memo.loaded && ++memo.macs >= kMemoLoadAfterMacs) {
      LoadMemo(ns, memo);
      if (const NameCache::Mac* known = names.FindMac(input)) return *known;
    }
    BW_ASSIGN_OR_RETURN(Bytes computed, name_key->Mac(input));
    ++keyed_work.macs_computed;
    if (computed.size() != crypto::kSha256Bytes) return Status::Internal("HMAC-SHA256 returned a short tag");
    NameCache::Mac mac;
    std::copy(computed.begin(), computed.end(), mac.begin());
    OPENSSL_cleanse(computed.data(), computed.size());
    names.PutMac(input, mac);
    return mac;
  }

  // A field's associated data, built on the stack (it is made for every
  // record read and written). Inputs read from a damaged row can be too
  // long for it: ok() is then false and the field is refused.
  class FieldAad {
   public:
    FieldAad(const Bytes& vault_id, char kind, std::uint32_t key_id, std::int64_t revision,
             std::string_view ns, std::span<const std::uint8_t> mac) {
      Put(std::string_view("BWV"));
      Put(static_cast<std::uint8_t>(kFormatVersion));
      Put(vault_id);
      Put(static_cast<std::uint8_t>(kind));
      for (int shift = 24; shift >= 0; shift -= 8) Put(static_cast<std::uint8_t>(key_id >> shift));
      for (int shift = 56; shift >= 0; shift -= 8) {
        Put(static_cast<std::uint8_t>(static_cast<std::uint64_t>(revision) >> shift));
      }
      Put(static_cast<std::uint8_t>(ns.size()));
      Put(ns);
      Put(mac);
    }
    bool ok() const { return !overflow_; }
    std::span<const std::uint8_t> span() const { return {bytes_.data(), size_}; }

   private:
    void Put(std::uint8_t b) { Put(std::span<const std::uint8_t>(&b, 1)); }
    void Put(std::string_view s) { Put(AsBytes(s)); }
    void Put(std::span<const std::uint8_t> s) {
      if (overflow_ || s.size() > bytes_.size() - size_) {
        overflow_ = true;
        return;
      }
      std::copy(s.begin(), s.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(size_));
      size_ += s.size();
    }
    // Validated inputs: namespace <= kMaxNamespaceChars, MAC 32 bytes.
    std::array<std::uint8_t,
               3 + 1 + kVaultIdBytes + 1 + 4 + 8 + 1 + kMaxNamespaceChars + crypto::kSha256Bytes>
        bytes_{};
    std::size_t size_ = 0;
    bool overflow_ = false;
  };

  using Nonce = std::array<std::uint8_t, crypto::kGcmNonceBytes>;

  // Blob: version (1) || key id (4, BE) || nonce (12) || ciphertext || tag.
  Result<Bytes> SealField(char kind, std::uint32_t key_id, const crypto::AesGcmKey& key,
                          std::int64_t revision, std::string_view ns, std::span<const std::uint8_t> mac,
                          std::span<const std::uint8_t> plaintext, const Nonce& nonce) const {
    Bytes blob;
    blob.reserve(kBlobHeaderBytes + plaintext.size() + crypto::kGcmTagBytes);
    blob.push_back(static_cast<std::uint8_t>(kFormatVersion));
    AppendU32(blob, key_id);
    blob.insert(blob.end(), nonce.begin(), nonce.end());
    const FieldAad aad(vault_id, kind, key_id, revision, ns, mac);
    if (!aad.ok()) return Status::Integrity("record namespace or name MAC has an impossible length");
    BW_RETURN_IF_ERROR(key.SealAppend(nonce, plaintext, aad.span(), blob));
    return blob;
  }

  struct SealedRecord {
    Bytes name_blob, value_blob;
  };

  // Seals a record's name and value, each under its own fresh random nonce
  // (see crypto::NonceSource).
  Result<SealedRecord> SealRecord(std::uint32_t key_id, const crypto::AesGcmKey& key, std::int64_t revision,
                                  std::string_view ns, std::span<const std::uint8_t> mac,
                                  std::span<const std::uint8_t> name, std::span<const std::uint8_t> value) {
    std::array<std::uint8_t, 2 * crypto::kGcmNonceBytes> random{};
    BW_RETURN_IF_ERROR(nonces.Fill(random));
    Nonce name_nonce{}, value_nonce{};
    std::copy_n(random.begin(), name_nonce.size(), name_nonce.begin());
    std::copy_n(random.begin() + static_cast<std::ptrdiff_t>(name_nonce.size()), value_nonce.size(),
                value_nonce.begin());
    SealedRecord out;
    BW_ASSIGN_OR_RETURN(out.name_blob, SealField('n', key_id, key, revision, ns, mac, name, name_nonce));
    BW_ASSIGN_OR_RETURN(out.value_blob, SealField('v', key_id, key, revision, ns, mac, value, value_nonce));
    return out;
  }

  // A sealed field (version || key id || nonce || ciphertext || tag) whose
  // header matched its row, with the key to open it.
  struct SealedField {
    std::uint32_t key_id;
    const crypto::AesGcmKey* key;
    std::span<const std::uint8_t> nonce;
    std::span<const std::uint8_t> sealed;  // ciphertext || tag
    std::size_t plain_size() const { return sealed.size() - crypto::kGcmTagBytes; }
  };
  static std::string FieldName(char kind) {
    return kind == 'n' ? "record name" : kind == 'm' ? "name memo" : "record value";
  }
  Result<SealedField> CheckField(char kind, std::uint32_t column_key_id, std::string_view ns,
                                 std::span<const std::uint8_t> blob) {
    if (blob.size() < kBlobHeaderBytes + crypto::kGcmTagBytes) {
      return Status::Integrity(FieldName(kind) + " in namespace '" + std::string(ns) + "' is truncated");
    }
    if (blob[0] != kFormatVersion) {
      return Status::Integrity(FieldName(kind) + " has unknown format version " + std::to_string(blob[0]));
    }
    std::uint32_t key_id = ReadU32(blob.subspan(1, 4));
    if (key_id != column_key_id) {
      return Status::Integrity(FieldName(kind) + " names a different key than its row");
    }
    BW_ASSIGN_OR_RETURN(const crypto::AesGcmKey* key, DataKey(key_id));
    return SealedField{key_id, key, blob.subspan(5, crypto::kGcmNonceBytes), blob.subspan(kBlobHeaderBytes)};
  }
  // Verifies and decrypts a checked field of this row into `out` (exactly
  // its plain_size()); `out` is wiped if it fails.
  Status OpenFieldInto(const SealedField& field, char kind, std::int64_t revision, std::string_view ns,
                       std::span<const std::uint8_t> mac, std::span<std::uint8_t> out) {
    const FieldAad aad(vault_id, kind, field.key_id, revision, ns, mac);
    if (!aad.ok() || !field.key->OpenInto(field.nonce, field.sealed, aad.span(), out).ok()) {
      return Status::Integrity(FieldName(kind) + " in namespace '" + std::string(ns) +
                               "' failed to authenticate (tampered, truncated or moved)");
    }
    return Status::Ok();
  }

  // Opens a sealed field of this row (kind: 'n' name, 'v' value, 'm' memo).
  Result<SecureBytes> OpenField(char kind, std::uint32_t column_key_id, std::int64_t revision,
                                std::string_view ns, std::span<const std::uint8_t> mac,
                                std::span<const std::uint8_t> blob) {
    BW_ASSIGN_OR_RETURN(const SealedField field, CheckField(kind, column_key_id, ns, blob));
    SecureBytes plain = SecureBytes::ForOverwrite(field.plain_size());
    BW_RETURN_IF_ERROR(OpenFieldInto(field, kind, revision, ns, mac, plain.span()));
    return plain;
  }

  // Where one get opens its value: value_scratch (grown if need be), or a
  // buffer of its own for a value over the limit (a damaged or foreign
  // row). The bytes are wiped when the get is done.
  class ValueBuffer {
   public:
    ValueBuffer(SecureBytes& scratch, std::size_t size) : size_(size) {
      if (size > kMaxValueBytes) {
        own_ = SecureBytes::ForOverwrite(size);
        data_ = own_.data();
        return;
      }
      if (scratch.size() < size) scratch = SecureBytes::ForOverwrite(size);
      data_ = scratch.data();
    }
    ~ValueBuffer() {
      // As SecureBytes::Wipe: never optimised away, and much faster than
      // OPENSSL_cleanse's byte loop on every get.
      if (size_ > 0) explicit_bzero(data_, size_);
    }
    ValueBuffer(const ValueBuffer&) = delete;
    ValueBuffer& operator=(const ValueBuffer&) = delete;
    std::span<std::uint8_t> span() { return {data_, size_}; }
    std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

   private:
    SecureBytes own_;
    std::uint8_t* data_ = nullptr;
    std::size_t size_;
  };

  // OpenField for a record name, through the cache of names this process
  // has opened (see NameCache: a hit needs these exact bytes in this row).
  Result<std::string> OpenName(const NameCache::NameRow& row) {
    if (const auto known = names.FindName(row)) return std::string(*known);
    return OpenNameUncached(row);
  }
  Result<std::string> OpenNameUncached(const NameCache::NameRow& row) {
    BW_ASSIGN_OR_RETURN(SecureBytes name,
                        OpenField('n', row.key_id, row.revision, row.ns, row.mac, row.blob));
    ++keyed_work.names_opened;
    names.PutName(row, name.view());
    return std::string(name.view());
  }

  // ---- name memos (vault/name_memo.h)

  // The file's triggers: which memo triggers are there to the letter, and
  // the names of all others.
  struct TriggerCensus {
    std::vector<std::string_view> ours;  // Names from kMemoTriggers.
    std::vector<std::string> foreign;
    std::size_t earlier = 0;  // Of `foreign`: an earlier host's memo triggers.
    bool exact() const { return foreign.empty() && ours.size() == std::size(kMemoTriggers); }
  };
  Result<TriggerCensus> CountTriggers() {
    TriggerCensus census;
    BW_ASSIGN_OR_RETURN(Statement st,
                        db->Prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"));
    for (;;) {
      BW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      // The trigger of `set` with this very name and text, or nullptr.
      auto in = [&](std::span<const TriggerSql> set) -> const TriggerSql* {
        const auto it = std::ranges::find_if(
            set, [&](const TriggerSql& t) { return t.name == st.Text(0) && t.sql == st.Text(1); });
        return it != set.end() ? &*it : nullptr;
      };
      if (const TriggerSql* ours = in(kMemoTriggers)) {
        census.ours.push_back(ours->name);
      } else {
        census.foreign.emplace_back(st.Text(0));
        if (in(kEarlierMemoTriggers) != nullptr) ++census.earlier;
      }
    }
    return census;
  }

  // Inside the schema's write transaction: drops every trigger that is not
  // a memo trigger to the letter, creates the memo triggers missing, and if
  // anything changed forgets every memo (a missing or altered trigger may
  // have let one fall out of date).
  Status RestoreMemoTriggers() {
    BW_ASSIGN_OR_RETURN(TriggerCensus census, CountTriggers());
    if (census.exact()) return Status::Ok();
    for (const std::string& name : census.foreign) {
      std::string drop = "DROP TRIGGER \"";
      for (char c : name) drop += c == '"' ? std::string("\"\"") : std::string(1, c);
      drop += "\"";
      BW_RETURN_IF_ERROR(db->Exec(drop.c_str()));
    }
    for (const TriggerSql& t : kMemoTriggers) {
      if (std::find(census.ours.begin(), census.ours.end(), t.name) != census.ours.end()) continue;
      BW_RETURN_IF_ERROR(db->Exec(std::string(t.sql).c_str()));
    }
    if (census.foreign.size() > census.earlier) {
      log::Warning("vault: replaced triggers that were not the vault's own");
    } else if (census.earlier > 0) {
      log::Info("vault: replaced an earlier host's name memo triggers");
    }
    return ForgetEveryMemo();
  }

  // Inside a write transaction: every memo and memo log deleted.
  Status ForgetEveryMemo() {
    BW_RETURN_IF_ERROR(db->Exec("DELETE FROM name_memo_logs"));
    BW_RETURN_IF_ERROR(db->Exec("DELETE FROM name_memo_changes"));
    return db->Exec("DELETE FROM name_memos");
  }

  MemoState& Memo(std::string_view ns) {
    auto it = memos.find(ns);
    if (it != memos.end()) return it->second;
    // Bookkeeping only: forgetting it costs a memo load at most.
    if (memos.size() >= kMaxMemoStates) memos.clear();
    return memos.emplace(std::string(ns), MemoState{}).first->second;
  }

  using MemoNonce = std::array<std::uint8_t, crypto::kGcmNonceBytes>;
  static constexpr char kStoredMemoSql[] =
      "SELECT current, key_id, length(memo), substr(memo, 6, 12) FROM name_memos WHERE ns = ?";
  // The nonce of a stored memo, from substr(memo, 6, 12) (zeros if the
  // stored blob is too short to have one).
  static MemoNonce NonceOf(std::span<const std::uint8_t> stored) {
    MemoNonce nonce{};
    if (stored.size() == nonce.size()) std::copy(stored.begin(), stored.end(), nonce.begin());
    return nonce;
  }
  static bool SameNonce(const std::optional<MemoNonce>& a, std::span<const std::uint8_t> b) {
    return a && std::equal(a->begin(), a->end(), b.begin(), b.end());
  }

  // Loads the namespace's memo into the NameCache, inside the caller's
  // transaction. A memo that is missing, under a key this vault no longer
  // holds, damaged or moved is skipped with a warning (once: the same
  // stored memo is not tried again), since it only ever saves work.
  void LoadMemo(std::string_view ns, MemoState& state) {
    state.loaded = true;
    state.nonce.reset();
    // The length first: a hostile file could hold a blob of any size, and
    // reading it would load it whole. (CurrentMemo's statement: one prepare.)
    auto st = db->Prepare(kStoredMemoSql);
    if (!st.ok()) return;
    st->Bind(1, ns);
    auto row = st->Step();
    if (!row.ok() || !*row) return;
    const auto key_id = static_cast<std::uint32_t>(st->Int(1));
    const std::int64_t length = st->Int(2);
    const MemoNonce nonce = NonceOf(st->Blob(3));
    if (SameNonce(state.failed_nonce, nonce)) return;
    Status s = Status::Ok();
    if (length < 0 ||
        static_cast<std::uint64_t>(length) > kBlobHeaderBytes + kMaxNameMemoBytes + crypto::kGcmTagBytes) {
      s = Status::Integrity("name memo is larger than a memo can be");
    } else {
      auto blob_st = db->Prepare("SELECT memo FROM name_memos WHERE ns = ?");
      if (!blob_st.ok()) return;
      blob_st->Bind(1, ns);
      auto blob_row = blob_st->Step();
      if (!blob_row.ok() || !*blob_row) return;
      auto plain = OpenField('m', key_id, 0, ns, {}, blob_st->Blob(0));
      s = plain.ok() ? names.AddMemo(ns, std::move(plain).value()) : plain.status();
    }
    if (!s.ok()) {
      if (s.code() == ErrorCode::kTooLarge) state.too_large = true;
      state.failed_nonce = nonce;
      log::Warning("vault: skipping a name memo: " + s.message());
      return;
    }
    state.nonce = nonce;
  }

  // Inside a transaction: the memo of `ns` if it lists exactly the
  // namespace's rows (the triggers clear `current` on any change), loading
  // it if this process holds another or none; else nullptr. Best effort:
  // trouble with the memo table itself is logged and the caller reads the
  // rows instead (a busy database is still reported, for the retry).
  //
  // `current` is read every time. The memo's nonce (which tells whether it
  // is the memo this process holds) costs SQLite the whole memo blob, so it
  // is read again only when the file has changed since: SQLite's data
  // version moves with every commit, this connection's or another's, and
  // it is taken after the first read, so it is this transaction's
  // snapshot's.
  Result<const NameCache::Memo*> CurrentMemo(std::string_view ns, MemoState& state) {
    ++keyed_work.memo_looks;
    state.stored = false;
    auto flag = IntByKey(kMemoCurrentSql, ns, state.rowid, keyed_work.memo_states_at_known_rowid);
    if (!flag.ok()) return SkipMemo(state, flag.status());
    if (!*flag) return nullptr;
    state.stored = true;
    const bool current = **flag != 0;
    // A stale memo only lends names to rows holding its exact bytes, which
    // the memo this process already holds does as well as a newer one.
    if (!current && names.MemoOf(ns) != nullptr) return nullptr;
    const std::optional<unsigned int> version = db->DataVersion();
    if (!version || state.nonce_version != version) {
      state.nonce_version.reset();
      ++keyed_work.memo_nonces_read;
      auto nonce_st = db->Prepare(kStoredMemoSql);
      if (!nonce_st.ok()) return SkipMemo(state, nonce_st.status());
      nonce_st->Bind(1, ns);
      auto nonce_row = nonce_st->Step();
      if (!nonce_row.ok()) return SkipMemo(state, nonce_row.status());
      if (!*nonce_row) return Status::Internal("the memo row vanished inside a transaction");
      // Copied: LoadMemo runs this statement again.
      state.stored_nonce = NonceOf(nonce_st->Blob(3));
      state.nonce_version = version;
    }
    const MemoNonce nonce = state.stored_nonce;
    // First look, another process wrote a newer one, or the cache dropped
    // it for room; not a memo that failed to open before.
    if ((!SameNonce(state.nonce, nonce) || names.MemoOf(ns) == nullptr) &&
        !SameNonce(state.failed_nonce, nonce)) {
      LoadMemo(ns, state);
    }
    return current && SameNonce(state.nonce, nonce) ? names.MemoOf(ns) : nullptr;
  }
  // The memo table failed: the rows are read instead. Own writes kept over
  // the memo are dropped too, as this transaction may not have read
  // anything yet, so SQLite's data version cannot vouch for them.
  Result<const NameCache::Memo*> SkipMemo(MemoState& state, const Status& s) {
    state.own_writes.reset();
    if (db->last_error_busy()) return s;
    log::Warning("vault: listing without the name memo table: " + s.message());
    return nullptr;
  }

  // Inside a listing's transaction, after CurrentMemo found the memo of
  // `ns` current: from here on, this process's own writes are kept over it.
  void StartOwnWrites(MemoState& state) {
    const std::optional<unsigned int> version = db->DataVersion();
    if (!version || !state.nonce) {
      state.own_writes.reset();
      return;
    }
    if (state.own_writes && state.own_writes->version == *version && state.own_writes->memo == *state.nonce &&
        state.own_writes->changes.empty()) {
      return;
    }
    state.own_writes.emplace();
    state.own_writes->memo = *state.nonce;
    state.own_writes->version = *version;
  }

  // Inside a listing's transaction, when the memo of `ns` is not current:
  // the memo this process holds, if it and the own writes kept over it
  // still list the namespace exactly (nothing else committed since);
  // otherwise nullptr, and they are dropped.
  const NameCache::Memo* MemoWithOwnWrites(std::string_view ns, MemoState& state) {
    if (!state.own_writes) return nullptr;
    const NameCache::Memo* memo = names.MemoOf(ns);
    const std::optional<unsigned int> version = db->DataVersion();
    if (memo == nullptr || !state.nonce || *state.nonce != state.own_writes->memo || !version ||
        *version != state.own_writes->version) {
      state.own_writes.reset();
      return nullptr;
    }
    return memo;
  }

  // Inside a transaction: notes whether another connection committed
  // since the last look (others_write stays set for the process).
  void LookForOtherWriters() {
    auto st = db->Prepare("PRAGMA data_version");
    if (!st.ok()) return;
    auto row = st->Step();
    if (!row.ok() || !*row) return;
    const std::int64_t version = st->Int(0);
    if (others_version && *others_version != version) others_write = true;
    others_version = version;
  }

  // SQLite's schema version: it moves with every change to the schema,
  // the triggers' included, by any connection.
  Result<std::int64_t> SchemaVersion() {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("PRAGMA schema_version"));
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::Storage("cannot read the schema version");
    return st.Int(0);
  }

  // Inside the write transaction of the memo of `ns` sealed under `nonce`:
  // the namespace's log starts afresh from it, if the file's triggers are
  // exactly kMemoTriggers now (which keep the log); otherwise it has none,
  // and a listing after another process's change reads the rows.
  Status StartMemoLog(std::string_view ns, const MemoNonce& nonce) {
    BW_RETURN_IF_ERROR(EndMemoLog(ns));
    if (!others_write) return Status::Ok();
    BW_ASSIGN_OR_RETURN(TriggerCensus census, CountTriggers());
    if (!census.exact()) return Status::Ok();
    BW_ASSIGN_OR_RETURN(std::int64_t schema, SchemaVersion());
    BW_ASSIGN_OR_RETURN(Statement start,
                        db->Prepare("INSERT INTO name_memo_logs (ns, memo_nonce, schema_version) "
                                    "VALUES (?, ?, ?)"));
    return start.Bind(1, ns).Bind(2, std::span<const std::uint8_t>(nonce)).Bind(3, schema).Run();
  }

  // Inside a write transaction: the memo log of `ns`, if any, deleted.
  Status EndMemoLog(std::string_view ns) {
    for (const char* sql :
         {"DELETE FROM name_memo_logs WHERE ns = ?", "DELETE FROM name_memo_changes WHERE ns = ?"}) {
      BW_ASSIGN_OR_RETURN(Statement gone, db->Prepare(sql));
      BW_RETURN_IF_ERROR(gone.Bind(1, ns).Run());
    }
    return Status::Ok();
  }

  // Inside the write transaction of a record of `ns` whose triggers changed
  // more than the record: the namespace's memo log is ended once it holds
  // as many changes as a listing takes from it (MemoLogCapacity). A longer
  // log is never used, and each first write of a record would go on paying
  // a page for its entry. Only a log started from the memo this process
  // holds, whose size sets the bound. Ending a log only costs work: the
  // next listing after another process's write reads the rows, as it would
  // for the full log, and rewrites the memo (starting a new log) once it
  // finds enough rows changed or wants a log (MemoState::log_wanted).
  Status EndFullMemoLog(std::string_view ns) {
    const NameCache::Memo* memo = names.MemoOf(ns);
    auto state = memos.find(ns);
    if (memo == nullptr || state == memos.end() || !state->second.nonce) return Status::Ok();
    {
      BW_ASSIGN_OR_RETURN(Statement start, db->Prepare("SELECT memo_nonce FROM name_memo_logs WHERE ns = ?"));
      start.Bind(1, ns);
      BW_ASSIGN_OR_RETURN(bool started, start.Step());
      if (!started || !SameNonce(state->second.nonce, start.Blob(0))) return Status::Ok();
    }
    const std::size_t most = MemoLogCapacity(memo->by_mac.size());
    BW_ASSIGN_OR_RETURN(Statement count,
                        db->Prepare("SELECT count(*) FROM "
                                    "(SELECT 1 FROM name_memo_changes WHERE ns = ? LIMIT ?)"));
    count.Bind(1, ns).Bind(2, static_cast<std::int64_t>(most));
    BW_ASSIGN_OR_RETURN(bool row, count.Step());
    if (!row || count.Int(0) < static_cast<std::int64_t>(most)) return Status::Ok();
    BW_RETURN_IF_ERROR(EndMemoLog(ns));
    ++keyed_work.memo_logs_ended;
    return Status::Ok();
  }

  // Inside a listing's transaction, when the memo of `ns` is stale and no
  // own writes vouch for the memo this process holds: that memo with every
  // row changed since it was written over it, read from the namespace's
  // memo log (docs/security.md, "Memo logs"). Only if the log covers every
  // change since: it starts at this very memo (by nonce), and the schema
  // has not changed since its writer found the triggers that keep the log,
  // so no other triggers ran in between (an earlier host replaces them
  // when it opens the vault). The changes become the namespace's own
  // writes (MemoWithOwnWrites), so the next page and this process's next
  // writes go on from them. nullptr, and the rows are read, if the log
  // does not cover them, or holds so many rows that a listing of the rows
  // should rewrite the memo. A logged row whose sealed name fails to open
  // fails the listing, as it would from the rows.
  Result<const NameCache::Memo*> MemoFromLog(std::string_view ns, MemoState& state) {
    const NameCache::Memo* memo = names.MemoOf(ns);
    const std::optional<unsigned int> version = db->DataVersion();
    if (memo == nullptr || !state.nonce || !state.stored || !version) return nullptr;
    // Trouble with the log table: the rows are read instead.
    auto skip = [&](const Status& s) -> Result<const NameCache::Memo*> {
      if (db->last_error_busy()) return s;
      log::Warning("vault: listing without the name memo log: " + s.message());
      return nullptr;
    };
    // No log to use: with other writers about, the listing rewrites the
    // memo to start one (once, until a log is used).
    auto no_log = [&]() -> Result<const NameCache::Memo*> {
      if (others_write && !state.log_rewrite_done) state.log_wanted = true;
      return nullptr;
    };
    {
      auto start = db->Prepare("SELECT memo_nonce, schema_version FROM name_memo_logs WHERE ns = ?");
      if (!start.ok()) return skip(start.status());
      start->Bind(1, ns);
      auto row = start->Step();
      if (!row.ok()) return skip(row.status());
      if (!*row) return no_log();
      const MemoNonce started_from = NonceOf(start->Blob(0));
      const std::int64_t started_at = start->Int(1);
      if (!SameNonce(state.nonce, started_from)) {
        // Another process wrote a memo since the one held here, and
        // started this log from it: load that one. (Its nonce costs the
        // whole blob, so it is read only now.)
        LoadMemo(ns, state);
        memo = names.MemoOf(ns);
        if (memo == nullptr || !SameNonce(state.nonce, started_from)) return no_log();
      }
      auto schema = SchemaVersion();
      if (!schema.ok()) return skip(schema.status());
      if (*schema != started_at) return no_log();
    }
    const std::size_t most = MemoLogCapacity(memo->by_mac.size());
    std::vector<std::int64_t> ids;
    {
      auto changes = db->Prepare("SELECT id FROM name_memo_changes WHERE ns = ? LIMIT ?");
      if (!changes.ok()) return skip(changes.status());
      changes->Bind(1, ns).Bind(2, static_cast<std::int64_t>(most));
      for (;;) {
        auto row = changes->Step();
        if (!row.ok()) return skip(row.status());
        if (!*row) break;
        ids.push_back(changes->Int(0));
      }
    }
    if (ids.size() >= most) return nullptr;
    MemoState::OwnWrites changes;
    changes.memo = *state.nonce;
    changes.version = *version;
    for (const std::int64_t id : ids) {
      BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("SELECT name_mac, key_id, revision, name_blob "
                                                    "FROM records WHERE id = ? AND ns = ?"));
      st.Bind(1, id).Bind(2, ns);
      BW_ASSIGN_OR_RETURN(bool row, st.Step());
      // A logged row gone or moved: only an edited file holds one.
      if (!row || st.Blob(0).size() != crypto::kSha256Bytes) return nullptr;
      const NameCache::NameRow at{ns, st.Blob(0), static_cast<std::uint32_t>(st.Int(1)), st.Int(2),
                                  st.Blob(3)};
      BW_ASSIGN_OR_RETURN(std::string name, OpenName(at));
      NameCache::Mac mac{};
      std::copy(at.mac.begin(), at.mac.end(), mac.begin());
      changes.changes[mac] = MemoState::OwnWrite{SecureBytes::CopyOf(name), at.revision, false};
      explicit_bzero(name.data(), name.size());
    }
    // Opening a name may have filled the cache, which then let go of
    // everything, this memo too: only a memo still held is listed from.
    memo = names.MemoOf(ns);
    if (memo == nullptr) return nullptr;
    state.own_writes = std::move(changes);
    state.log_wanted = state.log_rewrite_done = false;
    ++keyed_work.memos_over_logs;
    return memo;
  }

  // After this process committed one write of a record (`name` empty: a
  // deletion) in `ns`: the data version was `before` inside the write's
  // transaction and is `after` now. Namespaces whose own writes were up to
  // date at `before` stay so (the write touched no other namespace); the
  // written one gains the change. A version that did not move, or a
  // namespace that was not up to date, drops them: the next listing reads
  // the rows.
  void NoteOwnWrite(std::string_view ns, const NameCache::Mac& mac, std::optional<std::string_view> name,
                    std::int64_t revision, std::optional<unsigned int> before) {
    const std::optional<unsigned int> after = db->DataVersion();
    for (auto& [memo_ns, state] : memos) {
      if (!state.own_writes) continue;
      MemoState::OwnWrites& own = *state.own_writes;
      if (!before || !after || *after == *before || own.version != *before) {
        state.own_writes.reset();
        continue;
      }
      own.version = *after;
      if (memo_ns != ns) continue;
      auto it = own.changes.find(mac);
      if (it == own.changes.end()) {
        if (own.changes.size() >= kMaxOwnWrites) {
          state.own_writes.reset();
          continue;
        }
        it = own.changes.emplace(mac, MemoState::OwnWrite{}).first;
      }
      it->second.name = name ? SecureBytes::CopyOf(*name) : SecureBytes();
      it->second.revision = revision;
      it->second.deleted = !name;
    }
  }

  // After a write that failed: whether it reached the file is not known.
  void DropOwnWrites() {
    for (auto& entry : memos) entry.second.own_writes.reset();
  }

  // Seals the namespace's names (every row, as of this transaction) into
  // its memo and keeps it as this process's memo. Best effort and cheap to
  // skip: a write transaction of its own that gives up at once if another
  // process is writing, committed without waiting for the disk (a memo
  // lost in a crash costs a slower listing), and never for a namespace too
  // small to need one.
  void WriteMemo(std::string_view ns) {
    if (!EnsureUnlockedFast().ok()) return;
    bool written = false;
    Status s = db->TryCacheWrite([&]() -> Status {
      MemoState& state = Memo(ns);
      {
        // Another process may have written a good one since this listing
        // read.
        BW_ASSIGN_OR_RETURN(Statement st,
                            db->Prepare("SELECT current, substr(memo, 6, 12) FROM name_memos WHERE ns = ?"));
        st.Bind(1, ns);
        BW_ASSIGN_OR_RETURN(bool row, st.Step());
        if (row && st.Int(0) != 0 && !SameNonce(state.failed_nonce, st.Blob(1))) return Status::Ok();
        BW_ASSIGN_OR_RETURN(Statement count, db->Prepare("SELECT COUNT(*) FROM records WHERE ns = ?"));
        count.Bind(1, ns);
        BW_ASSIGN_OR_RETURN(bool counted, count.Step());
        if (!counted || count.Int(0) < static_cast<std::int64_t>(kMemoMinRows)) return Status::Ok();
      }
      BW_ASSIGN_OR_RETURN(ActiveKey active, Active());
      if (static_cast<std::uint64_t>(active.encryptions) + 1 > options.max_encryptions_per_key) {
        state.write_failed = true;  // Until a rotation; not worth a warning.
        return Status::Ok();
      }
      NameMemoWriter writer;
      BW_ASSIGN_OR_RETURN(Statement st, db->Prepare("SELECT name_mac, key_id, revision, name_blob FROM records "
                                                    "WHERE ns = ? ORDER BY name_mac"));
      st.Bind(1, ns);
      for (;;) {
        BW_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        const NameCache::NameRow at{ns, st.Blob(0), static_cast<std::uint32_t>(st.Int(1)), st.Int(2), st.Blob(3)};
        if (at.mac.size() != crypto::kSha256Bytes)
          return Status::Integrity("a record's name MAC has the wrong length");
        BW_ASSIGN_OR_RETURN(std::string name, OpenName(at));
        NameMemoEntry entry{{}, at.key_id, at.revision, at.blob, name};
        std::copy(at.mac.begin(), at.mac.end(), entry.mac.begin());
        const bool added = writer.Add(entry);
        explicit_bzero(name.data(), name.size());
        if (!added) {
          state.too_large = true;
          return Status::Ok();
        }
      }
      BW_ASSIGN_OR_RETURN(const crypto::AesGcmKey* key, DataKey(active.id));
      MemoNonce nonce{};
      BW_RETURN_IF_ERROR(nonces.Fill(nonce));
      const std::span<const std::uint8_t> plain = writer.Finish();
      BW_ASSIGN_OR_RETURN(Bytes blob, SealField('m', active.id, *key, 0, ns, {}, plain, nonce));
      // An upsert, not INSERT OR REPLACE: the row keeps its rowid, where
      // listings look for it first (IntByKey).
      BW_ASSIGN_OR_RETURN(
          Statement put,
          db->Prepare(
              "INSERT INTO name_memos (ns, key_id, current, memo) VALUES (?, ?, 1, ?) ON CONFLICT (ns) DO "
              "UPDATE SET key_id = excluded.key_id, current = 1, memo = excluded.memo"));
      BW_RETURN_IF_ERROR(put.Bind(1, ns).Bind(2, static_cast<std::int64_t>(active.id))
                             .Bind(3, std::span<const std::uint8_t>(blob)).Run());
      BW_RETURN_IF_ERROR(StartMemoLog(ns, nonce));
      BW_RETURN_IF_ERROR(CountEncryptions(active.id, 1));
      state.loaded = true;
      state.missed = 0;
      if (state.log_wanted) state.log_rewrite_done = true;
      state.log_wanted = false;
      if (names.AddMemo(ns, SecureBytes::CopyOf(plain)).ok()) {
        state.nonce = nonce;
        written = true;  // And held here.
      }
      return Status::Ok();
    });
    if (s.ok()) {
      // The memo lists the rows exactly as of its commit: from here on this
      // process's own writes are kept over it, as after a listing that
      // found it current (else a write before every listing would send
      // each to the rows until one found it so).
      if (written) StartOwnWrites(Memo(ns));
      return;
    }
    if (db->last_error_busy()) {
      log::Debug("vault: another process is writing; name memo not saved this time");
      return;
    }
    Memo(ns).write_failed = true;
    log::Warning("vault: could not save a name memo: " + s.ToString());
  }

  Result<std::optional<RowRef>> FindRow(std::string_view ns, std::span<const std::uint8_t> mac) {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare(
        "SELECT id, key_id, revision, size FROM records WHERE ns = ? AND name_mac = ?"));
    st.Bind(1, ns).Bind(2, mac);
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<RowRef>();
    return std::optional<RowRef>(RowRef{st.Int(0), static_cast<std::uint32_t>(st.Int(1)), st.Int(2), st.Int(3)});
  }

  // Writes one record inside the caller's write transaction: seals name and
  // value under the active key with the next vault-wide revision, keeps the
  // usage total and the key's encryption counter. Returns the revision.
  Result<std::int64_t> PutInTransaction(std::string_view ns, std::string_view key,
                                        std::span<const std::uint8_t> mac, std::string_view serialized,
                                        const std::optional<RowRef>& existing, bool* rotate_due) {
    const std::int64_t new_size = static_cast<std::int64_t>(key.size() + serialized.size());
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> usage, MetaInt("usage_bytes"));
    std::int64_t new_usage = usage.value_or(0) - (existing ? existing->size : 0) + new_size;
    if (new_usage > static_cast<std::int64_t>(options.quota_bytes)) {
      return Status(ErrorCode::kQuotaExceeded,
                    "the vault quota of " + std::to_string(options.quota_bytes) + " bytes would be exceeded");
    }
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> clock, MetaInt("revision_clock"));
    const std::int64_t revision = clock.value_or(0) + 1;
    BW_ASSIGN_OR_RETURN(ActiveKey active, Active());
    if (static_cast<std::uint64_t>(active.encryptions) + 2 > options.max_encryptions_per_key) {
      // Rotation should have replaced this key long ago (rotate_after_
      // encryptions) and has kept failing: no more nonces under this key.
      // The caller tries one rotation and the write again.
      if (rotate_due != nullptr) *rotate_due = true;
      return Status(ErrorCode::kKeyExhausted,
                    "the data key has reached its encryption limit and could not be replaced; writes are "
                    "refused until a key rotation succeeds (vault.rotateKey says why it fails)");
    }
    BW_ASSIGN_OR_RETURN(const crypto::AesGcmKey* data_key, DataKey(active.id));
    BW_ASSIGN_OR_RETURN(SealedRecord sealed, SealRecord(active.id, *data_key, revision, ns, mac, AsBytes(key),
                                                        AsBytes(serialized)));
    const Bytes& name_blob = sealed.name_blob;
    const Bytes& value_blob = sealed.value_blob;
    // OR ROLLBACK: a failure ends the transaction anyway, and it spares
    // SQLite the statement journal it would keep for the memo triggers.
    const std::int64_t changes_before = db->TotalChanges();
    if (existing) {
      BW_ASSIGN_OR_RETURN(Statement up,
                          db->Prepare("UPDATE OR ROLLBACK records SET key_id = ?, revision = ?, size = ?, "
                                      "name_blob = ?, value_blob = ? WHERE id = ?"));
      BW_RETURN_IF_ERROR(up.Bind(1, static_cast<std::int64_t>(active.id)).Bind(2, revision).Bind(3, new_size)
                             .Bind(4, std::span<const std::uint8_t>(name_blob))
                             .Bind(5, std::span<const std::uint8_t>(value_blob)).Bind(6, existing->id).Run());
    } else {
      BW_ASSIGN_OR_RETURN(
          Statement ins,
          db->Prepare(
              "INSERT OR ROLLBACK INTO records (ns, name_mac, key_id, revision, size, name_blob, value_blob) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)"));
      BW_RETURN_IF_ERROR(ins.Bind(1, ns).Bind(2, mac).Bind(3, static_cast<std::int64_t>(active.id))
                             .Bind(4, revision).Bind(5, new_size)
                             .Bind(6, std::span<const std::uint8_t>(name_blob))
                             .Bind(7, std::span<const std::uint8_t>(value_blob)).Run());
    }
    // More than the record changed: the triggers marked the memo stale or
    // logged the write.
    if (db->TotalChanges() - changes_before > 1) BW_RETURN_IF_ERROR(EndFullMemoLog(ns));
    BW_RETURN_IF_ERROR(CountEncryptions(active.id, 2));
    // This process sealed the name: no need to open it again to list it.
    names.PutName(NameCache::NameRow{ns, mac, active.id, revision, name_blob}, key);
    BW_RETURN_IF_ERROR(SetMetaInt("usage_bytes", new_usage));
    BW_RETURN_IF_ERROR(SetMetaInt("revision_clock", revision));
    if (rotate_due != nullptr && static_cast<std::uint64_t>(active.encryptions + 2) >= options.rotate_after_encryptions) {
      *rotate_due = true;
    }
    return revision;
  }

  Status CountEncryptions(std::uint32_t key_id, std::int64_t n) {
    BW_ASSIGN_OR_RETURN(Statement st, db->Prepare(
        "UPDATE keys SET encryptions = encryptions + ? WHERE key_id = ?"));
    return st.Bind(1, n).Bind(2, static_cast<std::int64_t>(key_id)).Run();
  }

  void RotateIfDue(bool due) {
    if (!due) return;
    log::Info("vault: data key reached its encryption budget; rotating");
    auto r = Rotate();
    if (!r.ok()) log::Warning("vault: automatic key rotation failed: " + r.status().ToString());
  }

  // ---- rotation

  Result<std::uint32_t> StartRotation() {
    std::uint32_t new_id = 0;
    if (bellwether::Status txn_status = db->Transaction(true, [&]() -> Status {
      BW_ASSIGN_OR_RETURN(Statement max, db->Prepare("SELECT COALESCE(MAX(key_id), 0) FROM keys"));
      BW_ASSIGN_OR_RETURN(bool row, max.Step());
      if (!row) return Status::Storage("cannot read key table");
      new_id = static_cast<std::uint32_t>(max.Int(0) + 1);
      BW_ASSIGN_OR_RETURN(SecureBytes data_key, SecureBytes::Random(crypto::kAes256KeyBytes));
      BW_ASSIGN_OR_RETURN(Bytes wrapped, Wrap(root, data_key.span(), DataKeyAad(new_id)));
      BW_ASSIGN_OR_RETURN(Statement retire, db->Prepare(
          "UPDATE keys SET state = 'retiring' WHERE state = 'active'"));
      BW_RETURN_IF_ERROR(retire.Run());
      // Re-sealing changes every sealed name, so no memo entry would match
      // again, and none may keep a retiring key in use.
      BW_RETURN_IF_ERROR(ForgetEveryMemo());
      BW_ASSIGN_OR_RETURN(Statement ins, db->Prepare(
          "INSERT INTO keys (key_id, state, wrapped, created, encryptions) VALUES (?, 'active', ?, ?, 0)"));
      return ins.Bind(1, static_cast<std::int64_t>(new_id)).Bind(2, std::span<const std::uint8_t>(wrapped))
          .Bind(3, ToUnix(Now())).Run();
    }); !txn_status.ok()) {
      return txn_status;
    }
    return new_id;
  }

  // Re-seals every record not under the active key, one batch per
  // transaction, then retires keys nothing refers to. Safe to interrupt at
  // any point and to run in several processes at once.
  // Records that failed to authenticate are left under their old key and
  // counted in `*failed` (when given; otherwise they are an integrity error).
  Result<std::uint64_t> ResumeRotation(std::uint64_t* failed_out = nullptr) {
    std::uint64_t resealed = 0, failed = 0;
    std::int64_t after_id = 0;
    for (std::size_t batches = 0;; ++batches) {
      if (options.rotation_batch_limit_for_testing != 0 && batches >= options.rotation_batch_limit_for_testing) {
        return Status::Storage("rotation stopped by the test limit");
      }
      std::size_t rows_seen = 0;
      // Set inside the transaction, applied only once it committed (a busy
      // COMMIT re-runs the body, which must not count the batch twice).
      std::uint64_t batch_done = 0, batch_bad = 0;
      std::int64_t batch_last = after_id;
      if (bellwether::Status txn_status = db->Transaction(true, [&]() -> Status {
        rows_seen = 0;
        BW_ASSIGN_OR_RETURN(ActiveKey active, Active());
        BW_ASSIGN_OR_RETURN(const crypto::AesGcmKey* new_key, DataKey(active.id));
        struct Row {
          std::int64_t id, revision;
          std::uint32_t key_id;
          std::string ns;
          Bytes mac, name_blob, value_blob;
        };
        std::vector<Row> rows;
        {
          BW_ASSIGN_OR_RETURN(Statement st, db->Prepare(
              "SELECT id, ns, name_mac, key_id, revision, name_blob, value_blob FROM records "
              "WHERE key_id != ? AND id > ? ORDER BY id LIMIT ?"));
          st.Bind(1, static_cast<std::int64_t>(active.id)).Bind(2, after_id)
              .Bind(3, static_cast<std::int64_t>(options.rotation_batch));
          for (;;) {
            BW_ASSIGN_OR_RETURN(bool row, st.Step());
            if (!row) break;
            auto mac = st.Blob(2), nb = st.Blob(5), vb = st.Blob(6);
            rows.push_back(Row{st.Int(0), st.Int(4), static_cast<std::uint32_t>(st.Int(3)),
                               std::string(st.Text(1)), Bytes(mac.begin(), mac.end()),
                               Bytes(nb.begin(), nb.end()), Bytes(vb.begin(), vb.end())});
          }
        }
        rows_seen = rows.size();
        std::uint64_t done = 0, bad = 0;
        std::int64_t last = after_id;
        for (const Row& r : rows) {
          last = r.id;
          auto name = OpenField('n', r.key_id, r.revision, r.ns, r.mac, r.name_blob);
          auto value = OpenField('v', r.key_id, r.revision, r.ns, r.mac, r.value_blob);
          if (!name.ok() || !value.ok()) {
            ++bad;  // Left under its old key; reported below.
            continue;
          }
          BW_ASSIGN_OR_RETURN(SealedRecord sealed, SealRecord(active.id, *new_key, r.revision, r.ns, r.mac,
                                                              name->span(), value->span()));
          const Bytes& nb = sealed.name_blob;
          const Bytes& vb = sealed.value_blob;
          BW_ASSIGN_OR_RETURN(Statement up, db->Prepare(
              "UPDATE records SET key_id = ?, name_blob = ?, value_blob = ? WHERE id = ?"));
          BW_RETURN_IF_ERROR(up.Bind(1, static_cast<std::int64_t>(active.id))
                                 .Bind(2, std::span<const std::uint8_t>(nb))
                                 .Bind(3, std::span<const std::uint8_t>(vb)).Bind(4, r.id).Run());
          ++done;
        }
        if (done > 0) BW_RETURN_IF_ERROR(CountEncryptions(active.id, static_cast<std::int64_t>(2 * done)));
        batch_done = done;
        batch_bad = bad;
        batch_last = last;
        return Status::Ok();
      }); !txn_status.ok()) {
        return txn_status;
      }
      // Only advance past this batch once it is committed.
      resealed += batch_done;
      failed += batch_bad;
      after_id = batch_last;
      if (rows_seen == 0) break;
    }
    std::vector<std::uint32_t> retired;
    if (bellwether::Status txn_status = db->Transaction(true, [&]() -> Status {
      retired.clear();
      BW_ASSIGN_OR_RETURN(Statement sel, db->Prepare(
          "SELECT key_id FROM keys WHERE state = 'retiring' "
          "AND NOT EXISTS (SELECT 1 FROM records WHERE records.key_id = keys.key_id)"));
      for (;;) {
        BW_ASSIGN_OR_RETURN(bool row, sel.Step());
        if (!row) break;
        retired.push_back(static_cast<std::uint32_t>(sel.Int(0)));
      }
      if (retired.empty()) return Status::Ok();
      BW_ASSIGN_OR_RETURN(Statement up, db->Prepare(
          "UPDATE keys SET state = 'retired', wrapped = NULL WHERE state = 'retiring' "
          "AND NOT EXISTS (SELECT 1 FROM records WHERE records.key_id = keys.key_id)"));
      BW_RETURN_IF_ERROR(up.Run());
      return SetMetaInt("last_rotation", ToUnix(Now()));
    }); !txn_status.ok()) {
      return txn_status;
    }
    for (std::uint32_t id : retired) data_keys.erase(id);
    // A name remembered under a retired key must not outlive it: without the
    // key, those bytes no longer open.
    if (!retired.empty()) ForgetNames();
    if (failed_out != nullptr) {
      *failed_out = failed;
    } else if (failed > 0) {
      return DamagedRecords(failed);
    }
    return resealed;
  }

  static Status DamagedRecords(std::uint64_t failed) {
    return Status::Integrity(std::to_string(failed) +
                             " records failed to authenticate and were left under their old key");
  }

  Result<RotationResult> Rotate() {
    RotationResult result;
    // The new key first: whatever happens next, nothing more is sealed
    // under the old one. Then every record not under it (including those
    // of an earlier rotation cut short) is re-sealed. Records that fail to
    // authenticate (damaged or tampered) stay under their old key, which
    // stays "retiring", and are reported; any other failure stops here and
    // is resumed later.
    if (options.fail_rotation_for_testing) return Status::Storage("rotation refused by the test option");
    BW_ASSIGN_OR_RETURN(result.key_id, StartRotation());
    std::uint64_t damaged = 0;
    BW_ASSIGN_OR_RETURN(result.resealed, ResumeRotation(&damaged));
    if (damaged > 0) return DamagedRecords(damaged);
    return result;
  }
};

// ------------------------------------------------------------------ Vault

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Vault::~Vault() {
  if (impl_) impl_->WipeKeys();
}

const std::filesystem::path& Vault::path() const { return impl_->db_path; }

Vault::ValueBufferState Vault::ValueBufferForTesting() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const auto bytes = std::as_const(impl_->value_scratch).span();
  return {bytes.size(), std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; })};
}

std::size_t Vault::NameCacheEntriesForTesting() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->names.entries();
}

std::size_t Vault::NameCacheBytesForTesting() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->names.bytes();
}

Vault::KeyedWork Vault::KeyedWorkForTesting() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->keyed_work;
}

Result<std::int64_t> Vault::PragmaForTesting(std::string_view pragma) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (char c : pragma) {
    if (!(c >= 'a' && c <= 'z') && c != '_') return Status::InvalidParams("not a pragma name");
  }
  const std::string sql = "PRAGMA " + std::string(pragma);
  BW_ASSIGN_OR_RETURN(Statement st, impl_->db->Prepare(sql.c_str()));
  BW_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no value for PRAGMA " + std::string(pragma));
  return st.Int(0);
}

Result<std::unique_ptr<Vault>> Vault::Open(VaultOptions options) {
  if (options.data_dir.empty()) return Status::InvalidParams("vault data directory not set");
  if (!options.clock) options.clock = std::make_shared<SystemClock>();
  if (options.rotation_batch == 0) options.rotation_batch = 1;
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->names.set_max_bytes(impl->options.name_cache_bytes);
  const auto& dir = impl->options.data_dir;
  BW_RETURN_IF_ERROR(paths::EnsurePrivateDir(dir));
  impl->db_path = dir / "vault.db";
  // Create the database 0600 ourselves: SQLite gives -wal and -shm the
  // main file's mode. Tighten leftovers from any older, looser run.
  BW_RETURN_IF_ERROR(EnsurePrivateFile(impl->db_path, true));
  BW_RETURN_IF_ERROR(EnsurePrivateFile(dir / "vault.db-wal", false));
  BW_RETURN_IF_ERROR(EnsurePrivateFile(dir / "vault.db-shm", false));
  BW_ASSIGN_OR_RETURN(impl->db, Database::Open(impl->db_path.string(), true, impl->options.busy_timeout_ms));
  Database& db = *impl->db;
  // Switching to WAL needs a brief exclusive lock; another process may hold
  // one, so retry (bounded) beyond the busy timeout.
  Status wal;
  for (int attempt = 0; attempt < 20; ++attempt) {
    wal = db.Exec("PRAGMA journal_mode = WAL");
    if (wal.ok() || !db.last_error_busy()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  BW_RETURN_IF_ERROR(wal);
  BW_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = FULL"));
  BW_RETURN_IF_ERROR(db.Exec("PRAGMA trusted_schema = OFF"));
  Impl* raw = impl.get();
  // An existing vault opens with a read transaction only, so host processes
  // starting together do not queue for the write lock.
  bool ready = false, old_list_index = false;
  if (bellwether::Status read_status = db.Transaction(false, [&]() -> Status {
    ready = false;
    BW_ASSIGN_OR_RETURN(Statement st, db.Prepare(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'keys', 'records')"));
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.Int(0) != 3) return Status::Ok();
    // A vault from before the name memos takes the write path below, which
    // puts that right; so does one whose triggers are not exactly the memo
    // triggers. (The old list index is dropped after opening, when that is
    // free: it only costs writes time, so it never holds up or fails an
    // open.)
    BW_ASSIGN_OR_RETURN(
        Statement current,
        db.Prepare(
            "SELECT (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('name_memos', "
            "'name_memo_logs', 'name_memo_changes')), "
            "(SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'records_list')"));
    BW_ASSIGN_OR_RETURN(bool has_row, current.Step());
    if (!has_row || current.Int(0) != 3) return Status::Ok();
    old_list_index = current.Int(1) != 0;
    BW_ASSIGN_OR_RETURN(auto triggers, raw->CountTriggers());
    if (!triggers.exact()) return Status::Ok();
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> version, raw->MetaInt("format_version"));
    if (!version) return Status::Ok();
    if (*version != kFormatVersion) {
      return Status::Storage("the vault has format version " + std::to_string(*version) +
                             "; this host reads version " + std::to_string(kFormatVersion));
    }
    BW_ASSIGN_OR_RETURN(std::optional<Bytes> id, raw->MetaBlob("vault_id"));
    if (!id || id->size() != kVaultIdBytes) return Status::Integrity("the vault id is missing or damaged");
    raw->vault_id = *id;
    raw->LookForOtherWriters();  // From here on, another connection's commit is seen.
    ready = true;
    return Status::Ok();
  }); !read_status.ok()) {
    return read_status;
  }
  if (ready) {
    if (old_list_index) {
      // Best effort: one attempt that gives way to any writer (an older
      // host that still wants the index may open the vault in between and
      // build it again; the next open drops it again).
      if (Status dropped = db.TryCacheWrite([&] { return db.Exec("DROP INDEX IF EXISTS records_list"); });
          !dropped.ok()) {
        log::Info("vault: the old list index stays for now: " + dropped.message());
      }
    }
    return std::unique_ptr<Vault>(new Vault(std::move(impl)));
  }
  if (bellwether::Status txn_status = db.Transaction(true, [&]() -> Status {
    BW_RETURN_IF_ERROR(db.Exec(kSchemaSql));
    BW_RETURN_IF_ERROR(raw->RestoreMemoTriggers());
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> version, raw->MetaInt("format_version"));
    if (version && *version != kFormatVersion) {
      return Status::Storage("the vault has format version " + std::to_string(*version) +
                             "; this host reads version " + std::to_string(kFormatVersion));
    }
    if (!version) {
      BW_ASSIGN_OR_RETURN(Bytes id, crypto::RandomVector(kVaultIdBytes));
      BW_RETURN_IF_ERROR(raw->SetMetaInt("format_version", kFormatVersion));
      BW_RETURN_IF_ERROR(raw->SetMetaBlob("vault_id", id));
      BW_RETURN_IF_ERROR(raw->SetMetaInt("created", ToUnix(raw->Now())));
      BW_RETURN_IF_ERROR(raw->SetMetaInt("usage_bytes", 0));
      BW_RETURN_IF_ERROR(raw->SetMetaInt("revision_clock", 0));
    }
    BW_ASSIGN_OR_RETURN(std::optional<Bytes> id, raw->MetaBlob("vault_id"));
    if (!id || id->size() != kVaultIdBytes) return Status::Integrity("the vault id is missing or damaged");
    raw->vault_id = *id;
    raw->LookForOtherWriters();
    return Status::Ok();
  }); !txn_status.ok()) {
    return txn_status;
  }
  return std::unique_ptr<Vault>(new Vault(std::move(impl)));
}

Result<Record> Vault::Get(std::string_view ns, std::string_view key) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BW_RETURN_IF_ERROR(ValidateNamespace(ns));
  BW_RETURN_IF_ERROR(ValidateRecordKey(key));
  Record out;
  if (bellwether::Status op_status = impl_->RunUnlocked(
          false,
          [&]() -> bellwether::Status {
            BW_ASSIGN_OR_RETURN(const NameCache::Mac mac, impl_->NameMac(ns, key));
            BW_ASSIGN_OR_RETURN(
                Statement st,
                impl_->db->Prepare(
                    "SELECT key_id, revision, value_blob FROM records WHERE ns = ? AND name_mac = ?"));
            st.Bind(1, ns).Bind(2, std::span<const std::uint8_t>(mac));
            BW_ASSIGN_OR_RETURN(bool row, st.Step());
            if (!row) return Status::NotFound("no record with that key in namespace '" + std::string(ns) + "'");
            const auto key_id = static_cast<std::uint32_t>(st.Int(0));
            const std::int64_t revision = st.Int(1);
            // The blob stays valid: DataKey() uses another statement, not this one.
            auto blob = st.Blob(2);
            BW_ASSIGN_OR_RETURN(const Impl::SealedField field, impl_->CheckField('v', key_id, ns, blob));
            Impl::ValueBuffer plain(impl_->value_scratch, field.plain_size());
            BW_RETURN_IF_ERROR(impl_->OpenFieldInto(field, 'v', revision, ns, mac, plain.span()));
            nlohmann::json value = nlohmann::json::parse(plain.view(), nullptr, false);
            if (value.is_discarded()) return Status::Integrity("record value is not valid JSON");
            out.value = std::move(value);
            out.revision = revision;
            return Status::Ok();
          });
      !op_status.ok()) {
    return op_status;
  }
  return out;
}

Result<std::int64_t> Vault::Set(std::string_view ns, std::string_view key, const nlohmann::json& value,
                                std::optional<std::int64_t> expected_revision) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BW_RETURN_IF_ERROR(ValidateNamespace(ns));
  BW_RETURN_IF_ERROR(ValidateRecordKey(key));
  if (expected_revision && *expected_revision < 0) return Status::InvalidParams("expectedRevision must be >= 0");
  BW_ASSIGN_OR_RETURN(std::string serialized, SerializeValue(value));
  BW_RETURN_IF_ERROR(CheckValueSize(serialized.size()));
  std::int64_t revision = 0;
  bool rotate_due = false;
  NameCache::Mac written{};
  std::optional<unsigned int> version_before;
  auto put = [&]() {
    return impl_->RunUnlocked(true, [&]() -> bellwether::Status {
      rotate_due = false;
      BW_ASSIGN_OR_RETURN(const NameCache::Mac mac, impl_->NameMac(ns, key));
      BW_ASSIGN_OR_RETURN(std::optional<RowRef> existing, impl_->FindRow(ns, mac));
      written = mac;
      version_before = impl_->db->DataVersion();
      if (expected_revision) {
        if (*expected_revision == 0 && existing) {
          return Status::Conflict("record already exists (revision " + std::to_string(existing->revision) +
                                  ")");
        }
        if (*expected_revision != 0 && (!existing || existing->revision != *expected_revision)) {
          return Status::Conflict(existing ? "record is at revision " + std::to_string(existing->revision) +
                                                 ", not " + std::to_string(*expected_revision)
                                           : std::string("record no longer exists"));
        }
      }
      BW_ASSIGN_OR_RETURN(revision, impl_->PutInTransaction(ns, key, mac, serialized, existing, &rotate_due));
      return Status::Ok();
    });
  };
  bellwether::Status op_status = put();
  if (op_status.code() == ErrorCode::kKeyExhausted) {
    // The key's budget is spent: one rotation, then the write once more
    // (still refused if the rotation fails).
    impl_->RotateIfDue(true);
    op_status = put();
  }
  if (!op_status.ok()) {
    impl_->DropOwnWrites();
    return op_status;
  }
  impl_->NoteOwnWrite(ns, written, key, revision, version_before);
  impl_->RotateIfDue(rotate_due);
  return revision;
}

bellwether::Status Vault::Delete(std::string_view ns, std::string_view key,
                                 std::optional<std::int64_t> expected_revision) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BW_RETURN_IF_ERROR(ValidateNamespace(ns));
  BW_RETURN_IF_ERROR(ValidateRecordKey(key));
  NameCache::Mac deleted{};
  std::optional<unsigned int> version_before;
  bellwether::Status op_status = impl_->RunUnlocked(true, [&]() -> bellwether::Status {
    BW_ASSIGN_OR_RETURN(const NameCache::Mac mac, impl_->NameMac(ns, key));
    BW_ASSIGN_OR_RETURN(std::optional<RowRef> existing, impl_->FindRow(ns, mac));
    deleted = mac;
    version_before = impl_->db->DataVersion();
    if (!existing) return Status::NotFound("no record with that key in namespace '" + std::string(ns) + "'");
    if (expected_revision && *expected_revision != existing->revision) {
      return Status::Conflict("record is at revision " + std::to_string(existing->revision) + ", not " +
                              std::to_string(*expected_revision));
    }
    BW_ASSIGN_OR_RETURN(Statement del, impl_->db->Prepare("DELETE FROM records WHERE id = ?"));
    BW_RETURN_IF_ERROR(del.Bind(1, existing->id).Run());
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> usage, impl_->MetaInt("usage_bytes"));
    return impl_->SetMetaInt("usage_bytes", std::max<std::int64_t>(0, usage.value_or(0) - existing->size));
  });
  if (!op_status.ok()) {
    impl_->DropOwnWrites();
    return op_status;
  }
  impl_->NoteOwnWrite(ns, deleted, std::nullopt, 0, version_before);
  return op_status;
}

namespace {

// Builds one vault.list page from rows in MAC order, wherever they come
// from: the name filter, the item limit, the reply-size budget and the cap
// on rows scanned per call.
class PageBuilder {
 public:
  PageBuilder(std::string_view prefix, std::size_t limit) : prefix_(prefix), limit_(limit) {}

  // True when the page is full: the cursor then points after `mac`.
  bool Add(std::span<const std::uint8_t> mac, std::string_view name, std::int64_t revision) {
    ++scanned_;
    if (name.substr(0, prefix_.size()) == prefix_) {
      budget_ += JsonStringSizeBound(name) + 32;
      page_.items.push_back(ListItem{std::string(name), revision});
    }
    if (page_.items.size() >= limit_ || budget_ >= kListPageBudgetBytes || scanned_ >= kListMaxScannedRows) {
      page_.cursor = crypto::HexEncode(mac);
      return true;
    }
    return false;
  }
  ListPage Take() { return std::move(page_); }
  std::size_t scanned() const { return scanned_; }

 private:
  std::string_view prefix_;
  std::size_t limit_;
  ListPage page_;
  std::size_t scanned_ = 0, budget_ = 0;
};

}  // namespace

Result<ListPage> Vault::List(std::string_view ns, std::string_view prefix, std::optional<std::string_view> cursor,
                             std::size_t limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BW_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (prefix.size() > kMaxNameBytes) return Status::TooLarge("prefix longer than a record key can be");
  if (limit == 0) limit = kDefaultListLimit;
  if (limit > kMaxListLimit) return Status::InvalidParams("limit must be 1..1000");
  Bytes after;
  if (cursor) {
    auto decoded = crypto::HexDecode(*cursor);
    if (!decoded.ok() || decoded->size() != crypto::kSha256Bytes) {
      return Status::InvalidParams("invalid list cursor");
    }
    after = std::move(decoded).value();
  }
  std::size_t page_misses = 0;  // Rows read that the memo did not answer.
  ListPage page;
  bool from_memo = false;
  std::size_t scanned = 0;
  if (bellwether::Status op_status = impl_->RunUnlocked(false, [&]() -> bellwether::Status {
    PageBuilder builder(prefix, limit);
    Impl::MemoState& memo_state = impl_->Memo(ns);
    from_memo = false;
    page_misses = 0;  // (The body may run again.)
    // The memo, with this process's own writes since over it, when it lists
    // exactly these rows (nullptr otherwise). An unusable one stays so
    // until something commits: noted with SQLite's data version.
    auto usable_memo = [&]() -> Result<const NameCache::Memo*> {
      BW_ASSIGN_OR_RETURN(const NameCache::Memo* memo, impl_->CurrentMemo(ns, memo_state));
      if (memo != nullptr) {
        impl_->StartOwnWrites(memo_state);
      } else {
        memo = impl_->MemoWithOwnWrites(ns, memo_state);
        if (memo == nullptr) {
          impl_->LookForOtherWriters();
          BW_ASSIGN_OR_RETURN(memo, impl_->MemoFromLog(ns, memo_state));
        }
      }
      memo_state.unusable_at.reset();
      if (memo == nullptr) memo_state.unusable_at = impl_->db->DataVersion();
      return memo;
    };
    // The page from the memo and the own writes alone.
    auto memo_page = [&](const NameCache::Memo* memo) {
      from_memo = true;
      const MacOrder less;
      auto it = std::upper_bound(
          memo->by_mac.begin(), memo->by_mac.end(), after,
          [&less](const Bytes& a, const NameCache::Memo::Entry& e) { return less(a, e.mac); });
      static const decltype(Impl::MemoState::OwnWrites::changes) kNone;
      const auto& own = memo_state.own_writes ? memo_state.own_writes->changes : kNone;
      if (!own.empty()) ++impl_->keyed_work.pages_over_own_writes;
      auto own_it = own.upper_bound(after);
      while (it != memo->by_mac.end() || own_it != own.end()) {
        const bool from_own =
            own_it != own.end() && (it == memo->by_mac.end() || !less(it->mac, own_it->first));
        if (!from_own) {
          if (builder.Add(it->mac, it->name, it->revision)) break;
          ++it;
          continue;
        }
        // The own write replaces the memo's entry for its record, if any.
        if (it != memo->by_mac.end() && !less(own_it->first, it->mac)) ++it;
        const Impl::MemoState::OwnWrite& change = own_it->second;
        const std::span<const std::uint8_t> mac = own_it->first;
        ++own_it;
        if (!change.deleted && builder.Add(mac, change.name.view(), change.revision)) break;
      }
      page = builder.Take();
    };
    // A memo found unusable before, while this process holds one to lend
    // names, is looked at again only if the file changed since: known after
    // the transaction's first read, the rows' own.
    bool looked = memo_state.too_large;
    if (!looked && !(memo_state.unusable_at && impl_->names.MemoOf(ns) != nullptr)) {
      looked = true;
      BW_ASSIGN_OR_RETURN(const NameCache::Memo* memo, usable_memo());
      if (memo != nullptr) {
        memo_page(memo);
        return Status::Ok();
      }
    }
    Bytes position = after;
    NameCache::MemoWalk walk(impl_->names, ns);
    for (;;) {
      BW_ASSIGN_OR_RETURN(Statement st,
                          impl_->db->Prepare("SELECT name_mac, key_id, revision, name_blob FROM records "
                                             "WHERE ns = ? AND name_mac > ? ORDER BY name_mac LIMIT ?"));
      st.Bind(1, ns)
          .Bind(2, std::span<const std::uint8_t>(position))
          .Bind(3, static_cast<std::int64_t>(kListScanBatch));
      std::size_t rows = 0;
      for (;; ++rows) {
        BW_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!looked) {
          looked = true;
          const std::optional<unsigned int> version = impl_->db->DataVersion();
          if (!version || version != memo_state.unusable_at) {
            // Something committed: the memo may be usable now. (Its
            // statements leave this one's row as it is.)
            BW_ASSIGN_OR_RETURN(const NameCache::Memo* memo, usable_memo());
            if (memo != nullptr) {
              memo_page(memo);
              return Status::Ok();
            }
          }
        }
        if (!row) break;
        // Blobs stay valid until the next Step (opening a name uses other
        // statements).
        const NameCache::NameRow at{ns, st.Blob(0), static_cast<std::uint32_t>(st.Int(1)), st.Int(2),
                                    st.Blob(3)};
        // The next batch starts after the last row of this one.
        if (rows + 1 == kListScanBatch) position.assign(at.mac.begin(), at.mac.end());
        ++impl_->keyed_work.list_rows_read;
        bool full = false;
        if (const auto known = walk.FindName(at)) {
          full = builder.Add(at.mac, *known, at.revision);
        } else {
          BW_ASSIGN_OR_RETURN(std::string name, impl_->OpenNameUncached(at));
          full = builder.Add(at.mac, name, at.revision);
        }
        if (full) {
          page = builder.Take();
          page_misses = walk.misses();
          return Status::Ok();
        }
      }
      if (rows < kListScanBatch) break;  // End of namespace.
    }
    scanned = builder.scanned();
    page = builder.Take();
    page_misses = walk.misses();
    return Status::Ok();
  }); !op_status.ok()) {
    return op_status;
  }
  // A listing that reached the end without a current memo leaves one for
  // the next listing (and the next process).
  // (A whole namespace too small for a memo is not tried.)
  const bool small = !cursor && scanned < kMemoMinRows;
  Impl::MemoState& memo_state = impl_->Memo(ns);
  if (!cursor) memo_state.missed = 0;
  memo_state.missed += page_misses;
  const NameCache::Memo* held = impl_->names.MemoOf(ns);
  const std::size_t rewrite_after = MemoRewriteAfter(held != nullptr ? held->by_mac.size() : 0);
  const bool worth_it = !memo_state.stored || memo_state.missed >= rewrite_after || memo_state.log_wanted;
  if (!page.cursor && !from_memo && !small && worth_it && !memo_state.too_large && !memo_state.write_failed) {
    impl_->WriteMemo(ns);
  }
  return page;
}

Result<std::uint64_t> Vault::Clear(std::string_view ns) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BW_RETURN_IF_ERROR(ValidateNamespace(ns));
  std::uint64_t deleted = 0;
  if (bellwether::Status txn_status = impl_->RunUnlocked(
          true,
          [&]() -> bellwether::Status {
            BW_ASSIGN_OR_RETURN(
                Statement sum,
                impl_->db->Prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM records WHERE ns = ?"));
            sum.Bind(1, ns);
            BW_ASSIGN_OR_RETURN(bool row, sum.Step());
            if (!row) return Status::Storage("cannot count records");
            deleted = static_cast<std::uint64_t>(sum.Int(0));
            const std::int64_t bytes = sum.Int(1);
            BW_ASSIGN_OR_RETURN(Statement del, impl_->db->Prepare("DELETE FROM records WHERE ns = ?"));
            BW_RETURN_IF_ERROR(del.Bind(1, ns).Run());
            BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> usage, impl_->MetaInt("usage_bytes"));
            return impl_->SetMetaInt("usage_bytes", std::max<std::int64_t>(0, usage.value_or(0) - bytes));
          });
      !txn_status.ok()) {
    return txn_status;
  }
  return deleted;
}

Result<VaultStatus> Vault::GetStatus() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  VaultStatus st;
  st.path = impl_->db_path;
  st.quota_bytes = impl_->options.quota_bytes;
  bool initialized = false;
  std::optional<std::string> source;
  if (bellwether::Status txn_status = impl_->db->Transaction(false, [&]() -> bellwether::Status {
    BW_ASSIGN_OR_RETURN(std::optional<Bytes> root_wrap, impl_->MetaBlob("root_wrap"));
    initialized = root_wrap.has_value();
    BW_ASSIGN_OR_RETURN(source, impl_->MetaText("key_source"));
    BW_ASSIGN_OR_RETURN(std::optional<PassphraseKdf> kdf, impl_->ReadPassphraseKdf());
    st.passphrase_set = kdf.has_value();
    BW_ASSIGN_OR_RETURN(Statement count, impl_->db->Prepare("SELECT COUNT(*) FROM records"));
    BW_ASSIGN_OR_RETURN(bool row, count.Step());
    st.record_count = row ? static_cast<std::uint64_t>(count.Int(0)) : 0;
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> usage, impl_->MetaInt("usage_bytes"));
    st.used_bytes = static_cast<std::uint64_t>(usage.value_or(0));
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> rotated, impl_->MetaInt("last_rotation"));
    if (rotated) st.last_rotation = FromUnix(*rotated);
    BW_ASSIGN_OR_RETURN(Statement key, impl_->db->Prepare(
        "SELECT key_id, created FROM keys WHERE state = 'active' ORDER BY key_id DESC LIMIT 1"));
    BW_ASSIGN_OR_RETURN(bool has_key, key.Step());
    if (has_key) {
      st.active_key_id = static_cast<std::uint32_t>(key.Int(0));
      st.key_created = FromUnix(key.Int(1));
      st.key_age = std::max(std::chrono::seconds(0),
                            std::chrono::duration_cast<std::chrono::seconds>(impl_->Now() - *st.key_created));
    }
    BW_ASSIGN_OR_RETURN(Statement pending, impl_->db->Prepare(
        "SELECT COUNT(*) FROM keys WHERE state = 'retiring'"));
    BW_ASSIGN_OR_RETURN(bool prow, pending.Step());
    st.rotation_pending = prow && pending.Int(0) > 0;
    return Status::Ok();
  }); !txn_status.ok()) {
    return txn_status;
  }
  auto key_store = impl_->ResolveStore(source);
  st.key_source = key_store->source();
  st.key_location = key_store->Describe();
  if (!initialized) {
    st.state = VaultState::kUninitialized;
    return st;
  }
  // Looking is not using: a status call does not postpone the idle timeout.
  const bool had_keys = !impl_->root.empty();
  const TimePoint last_used = impl_->last_used;
  bellwether::Status unlocked = impl_->EnsureUnlocked();
  if (unlocked.ok() && had_keys && !impl_->root.empty()) impl_->last_used = last_used;
  if (unlocked.ok()) {
    st.state = VaultState::kUnlocked;
  } else if (unlocked.code() == ErrorCode::kVaultLocked) {
    st.state = VaultState::kLocked;
    st.locked_reason = unlocked.message();
  } else {
    return unlocked;
  }
  return st;
}

bool Vault::WipeKeysIfIdle() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->root.empty() || impl_->options.idle_timeout.count() <= 0) return false;
  if (impl_->Now() - impl_->last_used <= impl_->options.idle_timeout) return false;
  impl_->WipeKeys();
  return true;
}

bool Vault::Lock() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->WipeKeys();
  bool passphrase = false;
  auto s = impl_->db->Transaction(false, [&]() -> bellwether::Status {
    BW_ASSIGN_OR_RETURN(std::optional<std::string> kdf, impl_->MetaText("passphrase_kdf"));
    passphrase = kdf.has_value();
    return Status::Ok();
  });
  // If the database cannot be read the keys are still gone: report locked.
  return passphrase || !s.ok();
}

bellwether::Status Vault::Unlock(std::string_view passphrase) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BW_RETURN_IF_ERROR(ValidatePassphrase(passphrase));
  std::optional<Bytes> root_wrap;
  bool has_passphrase = false;
  if (bellwether::Status txn_status = impl_->db->Transaction(false, [&]() -> bellwether::Status {
    BW_ASSIGN_OR_RETURN(root_wrap, impl_->MetaBlob("root_wrap"));
    BW_ASSIGN_OR_RETURN(std::optional<std::string> kdf, impl_->MetaText("passphrase_kdf"));
    has_passphrase = kdf.has_value();
    return Status::Ok();
  }); !txn_status.ok()) {
    return txn_status;
  }
  if (!root_wrap || !has_passphrase) return impl_->EnsureUnlocked();
  // UnlockWith replaces the keys only on success: a mistyped passphrase in a
  // session that is already unlocked leaves it as it was.
  BW_RETURN_IF_ERROR(impl_->UnlockWith(passphrase));
  impl_->last_used = impl_->Now();
  impl_->ResumeRotationQuietly();
  return Status::Ok();
}

bellwether::Status Vault::SetPassphrase(std::optional<std::string_view> new_passphrase,
                                        std::optional<std::string_view> current) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (new_passphrase) BW_RETURN_IF_ERROR(ValidatePassphrase(*new_passphrase));
  Impl& v = *impl_;
  std::optional<PassphraseKdf> kdf;
  std::optional<Bytes> root_wrap;
  if (bellwether::Status txn_status = v.db->Transaction(false, [&]() -> bellwether::Status {
    BW_ASSIGN_OR_RETURN(root_wrap, v.MetaBlob("root_wrap"));
    BW_ASSIGN_OR_RETURN(kdf, v.ReadPassphraseKdf());
    return Status::Ok();
  }); !txn_status.ok()) {
    return txn_status;
  }
  if (!root_wrap) BW_RETURN_IF_ERROR(v.EnsureUnlocked());  // Creates the keys.
  if (kdf) {
    // Changing or removing a passphrase always proves the current one, even
    // in an unlocked session.
    if (!current) return Status(ErrorCode::kWrongPassphrase, "the current passphrase is required");
    // UnlockWith changes nothing on failure: a wrong guess leaves this
    // session as it was.
    BW_RETURN_IF_ERROR(v.UnlockWith(*current));
  } else {
    BW_RETURN_IF_ERROR(v.EnsureUnlocked());
  }
  auto master_key = v.ResolveStore(std::nullopt)->Load();
  if (!master_key.ok()) return Status::Locked("the master key is not available: " + master_key.status().message());
  SecureBytes master = std::move(master_key).value();
  std::optional<PassphraseKdf> new_kdf;
  if (new_passphrase) {
    PassphraseKdf k;
    k.params = v.options.passphrase_kdf;
    BW_ASSIGN_OR_RETURN(k.salt, crypto::RandomVector(kSaltBytes));
    new_kdf = std::move(k);
  }
  BW_ASSIGN_OR_RETURN(SecureBytes kek, v.DeriveKek(master, new_kdf, new_passphrase));
  BW_ASSIGN_OR_RETURN(Bytes wrapped, Impl::Wrap(kek, v.root.span(), v.RootAad(new_kdf.has_value())));
  std::int64_t generation = 0;
  if (bellwether::Status txn_status = v.db->Transaction(true, [&]() -> bellwether::Status {
    BW_ASSIGN_OR_RETURN(std::optional<std::int64_t> gen, v.MetaInt("wrap_generation"));
    if (gen.value_or(0) != v.wrap_generation) {
      return Status::Conflict("the passphrase was changed by another process; try again");
    }
    generation = gen.value_or(0) + 1;
    BW_RETURN_IF_ERROR(v.SetMetaBlob("root_wrap", wrapped));
    if (new_kdf) {
      BW_RETURN_IF_ERROR(v.SetMetaText("passphrase_kdf", KdfToJson(*new_kdf)));
    } else {
      BW_RETURN_IF_ERROR(v.DeleteMeta("passphrase_kdf"));
    }
    return v.SetMetaInt("wrap_generation", generation);
  }); !txn_status.ok()) {
    return txn_status;
  }
  v.wrap_generation = generation;
  v.last_used = v.Now();
  return Status::Ok();
}

Result<RotationResult> Vault::RotateKey() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BW_RETURN_IF_ERROR(impl_->EnsureUnlocked());
  return impl_->Rotate();
}

Result<ExportResult> Vault::Export(std::string_view passphrase) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BW_RETURN_IF_ERROR(ValidatePassphrase(passphrase));
  Impl& v = *impl_;
  nlohmann::json records = nlohmann::json::array();
  if (bellwether::Status txn_status = v.RunUnlocked(
          false,
          [&]() -> bellwether::Status {
            records = nlohmann::json::array();
            struct Row {
              std::string ns;
              Bytes mac;
              std::uint32_t key_id;
              std::int64_t revision;
              Bytes name_blob, value_blob;
            };
            std::vector<Row> rows;
            {
              BW_ASSIGN_OR_RETURN(Statement st,
                                  v.db->Prepare("SELECT ns, name_mac, key_id, revision, name_blob, "
                                                "value_blob FROM records ORDER BY ns, id"));
              for (;;) {
                BW_ASSIGN_OR_RETURN(bool row, st.Step());
                if (!row) break;
                auto mac = st.Blob(1), nb = st.Blob(4), vb = st.Blob(5);
                rows.push_back(Row{std::string(st.Text(0)), Bytes(mac.begin(), mac.end()),
                                   static_cast<std::uint32_t>(st.Int(2)), st.Int(3),
                                   Bytes(nb.begin(), nb.end()), Bytes(vb.begin(), vb.end())});
              }
            }
            for (const Row& r : rows) {
              BW_ASSIGN_OR_RETURN(SecureBytes name,
                                  v.OpenField('n', r.key_id, r.revision, r.ns, r.mac, r.name_blob));
              BW_ASSIGN_OR_RETURN(SecureBytes value,
                                  v.OpenField('v', r.key_id, r.revision, r.ns, r.mac, r.value_blob));
              nlohmann::json parsed = nlohmann::json::parse(value.view(), nullptr, false);
              if (parsed.is_discarded()) return Status::Integrity("record value is not valid JSON");
              records.push_back(
                  {{"namespace", r.ns}, {"key", std::string(name.view())}, {"value", std::move(parsed)}});
            }
            return Status::Ok();
          });
      !txn_status.ok()) {
    return txn_status;
  }
  const std::uint64_t count = records.size();
  nlohmann::json payload = {{"records", std::move(records)}};
  SecureBytes plain = SecureBytes::CopyOf(std::string_view(payload.dump()));
  payload = nullptr;
  const auto too_large = [&v](std::uint64_t bytes) {
    return Status::TooLarge("the backup would take at least " + std::to_string(bytes) +
                            " bytes, more than the " + std::to_string(v.options.max_backup_bytes) +
                            " a backup may hold; clear some namespaces and export again");
  };
  if (plain.size() > v.options.max_backup_bytes) return too_large(plain.size());
  PassphraseKdf kdf;
  kdf.params = v.options.passphrase_kdf;
  BW_ASSIGN_OR_RETURN(kdf.salt, crypto::RandomVector(kSaltBytes));
  BW_ASSIGN_OR_RETURN(SecureBytes key, crypto::Scrypt(passphrase, kdf.salt, kdf.params, 32));
  nlohmann::json header = {{"format", kBackupFormat},
                           {"version", kFormatVersion},
                           {"cipher", "AES-256-GCM"},
                           {"kdf", nlohmann::json::parse(KdfToJson(kdf))},
                           {"created", FormatIso8601(v.Now())},
                           {"records", count}};
  Bytes aad(kBackupAadLabel.begin(), kBackupAadLabel.end());
  Append(aad, header.dump());
  BW_ASSIGN_OR_RETURN(Bytes nonce, crypto::RandomVector(crypto::kGcmNonceBytes));
  BW_ASSIGN_OR_RETURN(Bytes sealed, crypto::AesGcmSeal(key.span(), nonce, plain.span(), aad));
  header["nonce"] = crypto::Base64Encode(nonce);
  header["ciphertext"] = crypto::Base64Encode(sealed);
  std::string text = header.dump();
  if (text.size() > v.options.max_backup_bytes) return too_large(text.size());
  return ExportResult{std::move(text), count};
}

Result<ImportReport> Vault::Import(std::string_view backup, std::string_view passphrase) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BW_RETURN_IF_ERROR(ValidatePassphrase(passphrase));
  if (backup.size() > impl_->options.max_backup_bytes) {
    return Status::TooLarge("the backup is larger than the " +
                            std::to_string(impl_->options.max_backup_bytes) + " bytes a backup may be");
  }
  // Copying or printing a parsed document recurses once per level: the
  // nesting is bounded before the parser sees the text.
  if (JsonTextNestsDeeperThan(backup, kMaxBackupDepth)) {
    return Status::InvalidParams("not a Bellwether vault backup (nested too deeply)");
  }
  nlohmann::json doc = nlohmann::json::parse(backup, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("format") || doc["format"] != kBackupFormat) {
    return Status::InvalidParams("not a Bellwether vault backup");
  }
  if (!doc.contains("version") || doc["version"] != kFormatVersion) {
    return Status::InvalidParams("unsupported backup version");
  }
  for (const char* field : {"cipher", "created", "nonce", "ciphertext"}) {
    if (!doc.contains(field) || !doc[field].is_string()) {
      return Status::InvalidParams(std::string("backup field '") + field + "' is missing");
    }
  }
  if (doc["cipher"] != "AES-256-GCM" || !doc.contains("kdf") || !doc.contains("records")) {
    return Status::InvalidParams("unsupported backup cipher or missing fields");
  }
  BW_ASSIGN_OR_RETURN(PassphraseKdf kdf, KdfFromJson(doc["kdf"]));
  BW_ASSIGN_OR_RETURN(Bytes nonce, crypto::Base64Decode(doc["nonce"].get<std::string>()));
  BW_ASSIGN_OR_RETURN(Bytes sealed, crypto::Base64Decode(doc["ciphertext"].get<std::string>()));
  if (nonce.size() != crypto::kGcmNonceBytes) return Status::InvalidParams("bad backup nonce");
  nlohmann::json header = {{"format", doc["format"]},   {"version", doc["version"]}, {"cipher", doc["cipher"]},
                           {"kdf", doc["kdf"]},         {"created", doc["created"]}, {"records", doc["records"]}};
  Bytes aad(kBackupAadLabel.begin(), kBackupAadLabel.end());
  Append(aad, header.dump());
  BW_ASSIGN_OR_RETURN(SecureBytes key, crypto::Scrypt(passphrase, kdf.salt, kdf.params, 32));
  auto plain = crypto::AesGcmOpen(key.span(), nonce, sealed, aad);
  if (!plain.ok()) return Status(ErrorCode::kWrongPassphrase, "wrong passphrase or damaged backup");
  if (JsonTextNestsDeeperThan(plain->view(), kMaxBackupDepth)) {
    return Status::InvalidParams("backup content nests too deeply");
  }
  nlohmann::json payload = nlohmann::json::parse(plain->view(), nullptr, false);
  if (payload.is_discarded() || !payload.is_object() || !payload.contains("records") ||
      !payload["records"].is_array()) {
    return Status::InvalidParams("backup content is malformed");
  }
  struct Item {
    std::string ns, key, serialized;
  };
  std::vector<Item> items;
  for (const auto& r : payload["records"]) {
    if (!r.is_object() || !r.contains("namespace") || !r["namespace"].is_string() || !r.contains("key") ||
        !r["key"].is_string() || !r.contains("value")) {
      return Status::InvalidParams("backup holds a malformed record");
    }
    Item item{r["namespace"].get<std::string>(), r["key"].get<std::string>(), {}};
    BW_RETURN_IF_ERROR(ValidateNamespace(item.ns));
    BW_RETURN_IF_ERROR(ValidateRecordKey(item.key));
    BW_ASSIGN_OR_RETURN(item.serialized, SerializeValue(r["value"]));
    BW_RETURN_IF_ERROR(CheckValueSize(item.serialized.size()));
    items.push_back(std::move(item));
  }
  Impl& v = *impl_;
  ImportReport report;
  bool rotate_due = false;
  // One transaction: an import is merged entirely or not at all.
  if (bellwether::Status txn_status = v.RunUnlocked(
          true,
          [&]() -> bellwether::Status {
            report = ImportReport{};
            for (const Item& item : items) {
              BW_ASSIGN_OR_RETURN(const NameCache::Mac mac, v.NameMac(item.ns, item.key));
              BW_ASSIGN_OR_RETURN(std::optional<RowRef> existing, v.FindRow(item.ns, mac));
              if (existing) {
                BW_ASSIGN_OR_RETURN(Statement st,
                                    v.db->Prepare("SELECT value_blob FROM records WHERE id = ?"));
                st.Bind(1, existing->id);
                BW_ASSIGN_OR_RETURN(bool row, st.Step());
                if (!row) return Status::Storage("record vanished during import");
                auto blob = st.Blob(0);
                Bytes copy(blob.begin(), blob.end());
                BW_ASSIGN_OR_RETURN(SecureBytes current, v.OpenField('v', existing->key_id,
                                                                     existing->revision, item.ns, mac, copy));
                if (current.view() == item.serialized) {
                  ++report.unchanged;
                  continue;
                }
              }
              BW_RETURN_IF_ERROR(
                  v.PutInTransaction(item.ns, item.key, mac, item.serialized, existing, &rotate_due)
                      .status());
              if (existing) {
                ++report.updated;
              } else {
                ++report.added;
              }
            }
            return Status::Ok();
          });
      !txn_status.ok()) {
    return txn_status;
  }
  v.RotateIfDue(rotate_due);
  return report;
}

}  // namespace bellwether::vault
