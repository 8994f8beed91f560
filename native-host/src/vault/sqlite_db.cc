#include "vault/sqlite_db.h"

#include <cerrno>
#include <chrono>
#include <thread>

#include "common/log.h"

namespace bellwether::vault {

Statement& Statement::Bind(int index, std::int64_t value) {
  db_->api().bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  db_->api().bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::Bind(int index, std::span<const std::uint8_t> blob) {
  // A zero-length blob must still be a blob, not NULL.
  static const std::uint8_t kEmpty = 0;
  db_->api().bind_blob64(stmt_, index, blob.empty() ? &kEmpty : blob.data(), blob.size(), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int index) {
  db_->api().bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::Step() {
  errno = 0;  // So a failure's errno is this call's (see ErrorFromCode).
  int rc = db_->api().step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->ErrorFromCode(rc, "query failed");
}

Status Statement::Run() {
  for (;;) {
    BW_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

std::int64_t Statement::Int(int column) const {
  return db_->api().column_int64(stmt_, column);
}

std::string_view Statement::Text(int column) const {
  const unsigned char* p = db_->api().column_text(stmt_, column);
  int n = db_->api().column_bytes(stmt_, column);
  if (p == nullptr || n <= 0) return {};
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
}

std::span<const std::uint8_t> Statement::Blob(int column) const {
  const void* p = db_->api().column_blob(stmt_, column);
  int n = db_->api().column_bytes(stmt_, column);
  if (p == nullptr || n <= 0) return {};
  return {static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(n)};
}

bool Statement::IsNull(int column) const {
  return db_->api().column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, bool create,
                                                 int busy_timeout_ms) {
  BW_ASSIGN_OR_RETURN(const SqliteApi* api, LoadSqlite());
  sqlite3* raw = nullptr;
  int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = api->open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Database> db(new Database(api, raw, busy_timeout_ms));
  if (rc != SQLITE_OK) {
    if (raw == nullptr) return Status::Storage("cannot open database (out of memory)");
    return db->ErrorFromCode(rc, "cannot open " + path);
  }
  api->extended_result_codes(raw, 1);
  api->busy_timeout(raw, busy_timeout_ms);
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : cache_) api_->finalize(stmt);
  if (db_ != nullptr) api_->close_v2(db_);
}

Status Database::ErrorFromCode(int rc, std::string_view context) {
  // SQLite does not always record the errno of a failed write (it reports
  // 0 for some paths); the thread's errno still holds it then.
  const int thread_errno = errno;
  const int primary = rc & 0xff;
  last_error_busy_ = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
  std::string message(context);
  message += ": ";
  message += db_ != nullptr ? api_->errmsg(db_) : api_->errstr(rc);
  message += " [sqlite " + std::to_string(rc) + "]";
  int sys_errno = db_ != nullptr ? api_->system_errno(db_) : 0;
  if (sys_errno == 0) sys_errno = thread_errno;
  if (primary == SQLITE_FULL ||
      (primary == SQLITE_IOERR && (sys_errno == ENOSPC || sys_errno == EFBIG || sys_errno == EDQUOT))) {
    return Status(ErrorCode::kStorageFull, "storage is full: " + message);
  }
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    return Status::Integrity("the vault database is damaged: " + message);
  }
  return Status::Storage(message);
}

Status Database::Exec(const char* sql) {
  char* err = nullptr;
  errno = 0;
  int rc = api_->exec(db_, sql, nullptr, nullptr, &err);
  if (err != nullptr) api_->free(err);
  if (rc != SQLITE_OK) return ErrorFromCode(rc, "statement failed");
  return Status::Ok();
}

Result<Statement> Database::Prepare(const char* sql) {
  auto it = cache_.find(std::string_view(sql));
  if (it != cache_.end()) {
    api_->reset(it->second);
    api_->clear_bindings(it->second);
    used_.push_back(it->second);
    return Statement(this, it->second);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = api_->prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    if (stmt != nullptr) api_->finalize(stmt);
    return ErrorFromCode(rc, "cannot prepare statement");
  }
  cache_.emplace(sql, stmt);
  used_.push_back(stmt);
  return Statement(this, stmt);
}

std::int64_t Database::Changes() const {
  return api_->changes64(db_);
}

std::int64_t Database::TotalChanges() const {
  return api_->total_changes64(db_);
}

std::optional<unsigned int> Database::DataVersion() const {
  unsigned int version = 0;
  // A null schema name is "main" without the name look-up (once per read).
  if (api_->file_control(db_, nullptr, SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK) return std::nullopt;
  return version;
}

Status Database::Transaction(bool write, FunctionRef<Status()> body, int max_attempts) {
  if (in_transaction_) return body();  // Nested: part of the outer one.
  Status last;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    if (attempt > 0) {
      // Back off a little so competing processes interleave.
      std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
    }
    last_error_busy_ = false;
    Status s = Exec(write ? "BEGIN IMMEDIATE" : "BEGIN");
    if (!s.ok()) {
      last = s;
      if (last_error_busy_) continue;
      return s;
    }
    in_transaction_ = true;
    s = body();
    // SQLite may have ended the transaction itself (an OR ROLLBACK
    // conflict, a full disk): a body that went on after such an error must
    // not pass for a committed transaction.
    if (s.ok() && api_->get_autocommit(db_)) s = Status::Storage("the transaction was rolled back by SQLite");
    bool busy = !s.ok() && last_error_busy_;
    // No statement may keep its read snapshot past the transaction.
    for (sqlite3_stmt* stmt : used_) api_->reset(stmt);
    used_.clear();
    if (s.ok()) {
      s = Exec("COMMIT");
      busy = !s.ok() && last_error_busy_;
    }
    in_transaction_ = false;
    if (s.ok()) return s;
    // ROLLBACK may fail harmlessly if SQLite already rolled back.
    if (!api_->get_autocommit(db_)) api_->exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    last = s;
    if (!busy) return s;
    log::Debug("vault: database busy, retrying transaction");
  }
  return Status::Storage("the vault database stayed busy: " + last.message());
}

Status Database::TryCacheWrite(FunctionRef<Status()> body) {
  std::int64_t synchronous = 2;  // FULL, if it cannot be read.
  {
    BW_ASSIGN_OR_RETURN(Statement st, Prepare("PRAGMA synchronous"));
    BW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) synchronous = st.Int(0);
  }
  api_->busy_timeout(db_, 0);
  Status s = Exec("PRAGMA synchronous = NORMAL");
  if (s.ok()) s = Transaction(true, body, 1);
  const bool busy = last_error_busy_;
  const std::string restore = "PRAGMA synchronous = " + std::to_string(synchronous);
  Status restored = Exec(restore.c_str());
  api_->busy_timeout(db_, busy_timeout_ms_);
  if (!restored.ok()) return restored;  // Every later write would be less durable: say so.
  last_error_busy_ = busy;
  return s;
}

}  // namespace bellwether::vault
