#include "vault/sqlite_loader.h"

#include <string>

#include "common/shared_library.h"

namespace bellwether::vault {
namespace {

Result<SqliteApi> Load() {
  const SharedLibrary library("libsqlite3.so.0");
  if (!library.loaded()) {
    return Status::Storage("SQLite is not available (install libsqlite3-0): " + library.error());
  }
  SqliteApi s{};
  const bool ok =
      library.Resolve("sqlite3_open_v2", s.open_v2) && library.Resolve("sqlite3_close_v2", s.close_v2) &&
      library.Resolve("sqlite3_extended_result_codes", s.extended_result_codes) &&
      library.Resolve("sqlite3_busy_timeout", s.busy_timeout) && library.Resolve("sqlite3_exec", s.exec) &&
      library.Resolve("sqlite3_free", s.free) && library.Resolve("sqlite3_prepare_v3", s.prepare_v3) &&
      library.Resolve("sqlite3_step", s.step) && library.Resolve("sqlite3_reset", s.reset) &&
      library.Resolve("sqlite3_clear_bindings", s.clear_bindings) &&
      library.Resolve("sqlite3_finalize", s.finalize) &&
      library.Resolve("sqlite3_bind_int64", s.bind_int64) &&
      library.Resolve("sqlite3_bind_text64", s.bind_text64) &&
      library.Resolve("sqlite3_bind_blob64", s.bind_blob64) &&
      library.Resolve("sqlite3_bind_null", s.bind_null) &&
      library.Resolve("sqlite3_column_int64", s.column_int64) &&
      library.Resolve("sqlite3_column_text", s.column_text) &&
      library.Resolve("sqlite3_column_blob", s.column_blob) &&
      library.Resolve("sqlite3_column_bytes", s.column_bytes) &&
      library.Resolve("sqlite3_column_type", s.column_type) &&
      library.Resolve("sqlite3_changes64", s.changes64) &&
      library.Resolve("sqlite3_total_changes64", s.total_changes64) &&
      library.Resolve("sqlite3_get_autocommit", s.get_autocommit) &&
      library.Resolve("sqlite3_file_control", s.file_control) &&
      library.Resolve("sqlite3_errmsg", s.errmsg) && library.Resolve("sqlite3_errstr", s.errstr) &&
      library.Resolve("sqlite3_system_errno", s.system_errno);
  if (!ok)
    return Status::Storage("the installed SQLite is too old (missing functions; 3.37 or later needed)");
  return s;
}

}  // namespace

Result<const SqliteApi*> LoadSqlite() {
  static const Result<SqliteApi> loaded = Load();  // Once, thread-safe.
  if (!loaded.ok()) return loaded.status();
  return &loaded.value();
}

}  // namespace bellwether::vault
