// A small owned wrapper over the SQLite C API for the vault.
//
// SQLite itself is loaded on the first Open (vault/sqlite_loader.h).
// Handles live in unique_ptrs; every failure becomes a Status with a vault
// error code: disk full (SQLITE_FULL, or an I/O error whose errno is
// ENOSPC/EFBIG/EDQUOT) -> kStorageFull; a damaged file (SQLITE_CORRUPT,
// SQLITE_NOTADB) -> kIntegrity; anything else -> kStorage. Busy and locked
// results are flagged so the caller's transaction loop can retry them;
// they never reach the wire.
//
// Not thread-safe: one Database per Vault, used under the Vault's mutex. So
// the connection is opened without SQLite's own per-call mutex
// (SQLITE_OPEN_NOMUTEX).
#ifndef BELLWETHER_VAULT_SQLITE_DB_H_
#define BELLWETHER_VAULT_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/function_ref.h"
#include "common/status.h"
#include "vault/sqlite_loader.h"

namespace bellwether::vault {

class Database;

class Statement {
 public:
  Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  Statement& Bind(int index, std::int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, std::span<const std::uint8_t> blob);
  Statement& BindNull(int index);

  // true: a row is available; false: done. Errors become Status.
  Result<bool> Step();
  // Runs to completion, expecting no rows.
  Status Run();

  std::int64_t Int(int column) const;
  std::string_view Text(int column) const;
  std::span<const std::uint8_t> Blob(int column) const;
  bool IsNull(int column) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  // Opens (creating if asked) the file at `path`; sets the busy timeout.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, bool create,
                                                int busy_timeout_ms);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status Exec(const char* sql);
  // A cached prepared statement, reset with bindings cleared. Valid until
  // the next Prepare() of the same SQL text.
  Result<Statement> Prepare(const char* sql);

  // Runs `body` between BEGIN IMMEDIATE (write) or BEGIN (read) and COMMIT,
  // rolling back on any error. Busy/locked results retry the whole
  // transaction up to `max_attempts` times (each attempt also waits up to
  // the busy timeout inside SQLite), so no busy error escapes normally.
  Status Transaction(bool write, FunctionRef<Status()> body, int max_attempts = 8);

  // A write transaction for work that only saves time later (a cache kept
  // in the file): one attempt that gives up at once if another connection
  // holds the write lock (an error with last_error_busy()), committed
  // without waiting for the disk (synchronous=NORMAL: a crash may undo it,
  // never corrupt it). The connection's own settings are restored after.
  Status TryCacheWrite(FunctionRef<Status()> body);

  std::int64_t Changes() const;
  // Rows changed by this connection since it opened, by every statement and
  // the triggers they ran (sqlite3_total_changes64).
  std::int64_t TotalChanges() const;
  // SQLite's data version of the main database: it changes whenever any
  // connection, this one included, commits to the file (in a transaction,
  // as of its snapshot once it has read). nullopt if SQLite cannot say.
  std::optional<unsigned int> DataVersion() const;
  const SqliteApi& api() const { return *api_; }

  // Maps the connection's current error (rc) to a Status. Records whether
  // it was a busy/locked condition for the retry loop.
  Status ErrorFromCode(int rc, std::string_view context);
  bool last_error_busy() const { return last_error_busy_; }

 private:
  Database(const SqliteApi* api, sqlite3* db, int busy_timeout_ms)
      : api_(api), db_(db), busy_timeout_ms_(busy_timeout_ms) {}
  const SqliteApi* api_;
  sqlite3* db_;
  int busy_timeout_ms_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
  std::vector<sqlite3_stmt*> used_;  // Handed out since the last reset.
  bool last_error_busy_ = false;
  bool in_transaction_ = false;
};

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_SQLITE_DB_H_
