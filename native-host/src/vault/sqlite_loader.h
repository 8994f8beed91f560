// SQLite, loaded on first use rather than linked.
//
// The host is started once per sendNativeMessage, and most of those calls
// never open the vault; linking libsqlite3 would make every one of them pay
// for loading and relocating it (see docs/performance.md, "Host start-up").
// The vault therefore reaches SQLite only through this table, filled by
// dlopen("libsqlite3.so.0") when the first database is opened. The header
// (types, constants) is SQLite's own, so the ABI is the one the code was
// compiled against.
//
// Thread-safe; the library stays loaded for the life of the process.
#ifndef BELLWETHER_VAULT_SQLITE_LOADER_H_
#define BELLWETHER_VAULT_SQLITE_LOADER_H_

#include <sqlite3.h>

#include "common/status.h"

namespace bellwether::vault {

struct SqliteApi {
  int (*open_v2)(const char* filename, sqlite3** db, int flags, const char* vfs);
  int (*close_v2)(sqlite3* db);
  int (*extended_result_codes)(sqlite3* db, int onoff);
  int (*busy_timeout)(sqlite3* db, int ms);
  int (*exec)(sqlite3* db, const char* sql, int (*callback)(void*, int, char**, char**), void* arg,
              char** errmsg);
  void (*free)(void* pointer);
  int (*prepare_v3)(sqlite3* db, const char* sql, int bytes, unsigned int flags, sqlite3_stmt** stmt,
                    const char** tail);
  int (*step)(sqlite3_stmt* stmt);
  int (*reset)(sqlite3_stmt* stmt);
  int (*clear_bindings)(sqlite3_stmt* stmt);
  int (*finalize)(sqlite3_stmt* stmt);
  int (*bind_int64)(sqlite3_stmt* stmt, int index, sqlite3_int64 value);
  int (*bind_text64)(sqlite3_stmt* stmt, int index, const char* text, sqlite3_uint64 bytes,
                     void (*destructor)(void*), unsigned char encoding);
  int (*bind_blob64)(sqlite3_stmt* stmt, int index, const void* blob, sqlite3_uint64 bytes,
                     void (*destructor)(void*));
  int (*bind_null)(sqlite3_stmt* stmt, int index);
  sqlite3_int64 (*column_int64)(sqlite3_stmt* stmt, int column);
  const unsigned char* (*column_text)(sqlite3_stmt* stmt, int column);
  const void* (*column_blob)(sqlite3_stmt* stmt, int column);
  int (*column_bytes)(sqlite3_stmt* stmt, int column);
  int (*column_type)(sqlite3_stmt* stmt, int column);
  sqlite3_int64 (*changes64)(sqlite3* db);
  sqlite3_int64 (*total_changes64)(sqlite3* db);
  int (*get_autocommit)(sqlite3* db);
  int (*file_control)(sqlite3* db, const char* schema, int op, void* arg);
  const char* (*errmsg)(sqlite3* db);
  const char* (*errstr)(int rc);
  int (*system_errno)(sqlite3* db);
};

// The loaded library, or kStorage naming what is missing.
Result<const SqliteApi*> LoadSqlite();

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_SQLITE_LOADER_H_
