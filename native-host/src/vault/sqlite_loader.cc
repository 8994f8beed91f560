#include "vault/sqlite_loader.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace bellwether::vault {
namespace {

// dlsym returns void*; the cast to the typed pointer is the documented
// POSIX way to use it.
template <typename Fn>
bool Resolve(void* library, const char* name, Fn& out) {
  void* symbol = ::dlsym(library, name);
  out = reinterpret_cast<Fn>(symbol);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  return symbol != nullptr;
}

struct Loaded {
  SqliteApi api{};
  Status status;
};

Loaded Load() {
  Loaded loaded;
  void* library = ::dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    loaded.status = Status::Storage(std::string("SQLite is not available (install libsqlite3-0): ") +
                                    (why != nullptr ? why : "?"));
    return loaded;
  }
  SqliteApi& s = loaded.api;
  const bool ok = Resolve(library, "sqlite3_open_v2", s.open_v2) &&
                  Resolve(library, "sqlite3_close_v2", s.close_v2) &&
                  Resolve(library, "sqlite3_extended_result_codes", s.extended_result_codes) &&
                  Resolve(library, "sqlite3_busy_timeout", s.busy_timeout) &&
                  Resolve(library, "sqlite3_exec", s.exec) &&
                  Resolve(library, "sqlite3_free", s.free) &&
                  Resolve(library, "sqlite3_prepare_v3", s.prepare_v3) &&
                  Resolve(library, "sqlite3_step", s.step) &&
                  Resolve(library, "sqlite3_reset", s.reset) &&
                  Resolve(library, "sqlite3_clear_bindings", s.clear_bindings) &&
                  Resolve(library, "sqlite3_finalize", s.finalize) &&
                  Resolve(library, "sqlite3_bind_int64", s.bind_int64) &&
                  Resolve(library, "sqlite3_bind_text64", s.bind_text64) &&
                  Resolve(library, "sqlite3_bind_blob64", s.bind_blob64) &&
                  Resolve(library, "sqlite3_bind_null", s.bind_null) &&
                  Resolve(library, "sqlite3_column_int64", s.column_int64) &&
                  Resolve(library, "sqlite3_column_text", s.column_text) &&
                  Resolve(library, "sqlite3_column_blob", s.column_blob) &&
                  Resolve(library, "sqlite3_column_bytes", s.column_bytes) &&
                  Resolve(library, "sqlite3_column_type", s.column_type) &&
                  Resolve(library, "sqlite3_changes64", s.changes64) &&
                  Resolve(library, "sqlite3_get_autocommit", s.get_autocommit) &&
                  Resolve(library, "sqlite3_file_control", s.file_control) &&
                  Resolve(library, "sqlite3_errmsg", s.errmsg) &&
                  Resolve(library, "sqlite3_errstr", s.errstr) &&
                  Resolve(library, "sqlite3_system_errno", s.system_errno);
  if (!ok) {
    loaded.status = Status::Storage("the installed SQLite is too old (missing functions; 3.37 or later needed)");
  }
  return loaded;
}

}  // namespace

Result<const SqliteApi*> LoadSqlite() {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] { loaded = Load(); });
  if (!loaded.status.ok()) return loaded.status;
  return &loaded.api;
}

}  // namespace bellwether::vault
