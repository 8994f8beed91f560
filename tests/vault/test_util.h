// Helpers shared by the vault tests: temporary directories, raw SQLite
// access for tampering, and running vault_stress_tool as a real process.
#ifndef BELLWETHER_TESTS_VAULT_TEST_UTIL_H_
#define BELLWETHER_TESTS_VAULT_TEST_UTIL_H_

#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vault/vault.h"

namespace bellwether::vault::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Options for a test vault: key file source, fast scrypt.
VaultOptions TestOptions(const std::filesystem::path& dir);

// Opens a vault, recording a test failure (and returning null) if it fails.
std::unique_ptr<Vault> OpenVault(const VaultOptions& options);

// Direct SQL on a vault database (bypassing the vault), for tampering.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& db_path);
  ~RawDb();
  void Exec(const std::string& sql);
  std::vector<std::uint8_t> Blob(const std::string& sql);  // First column of first row.
  std::int64_t Int(const std::string& sql);
  void SetBlob(const std::string& sql, const std::vector<std::uint8_t>& blob);  // sql has one '?'.
  std::string IntegrityCheck();
  // Gives the row of `table` matching `where_a` the rowid of the one
  // matching `where_b`, and that one its rowid: the same rows, moved.
  void SwapRowids(const std::string& table, const std::string& where_a, const std::string& where_b);
  // Column `column` of every row, joined with newlines (e.g. a query plan).
  std::string Text(const std::string& sql, int column);

 private:
  sqlite3* db_ = nullptr;
};

// Bytes of a file (empty when missing).
std::string ReadFile(const std::filesystem::path& p);

// The bytes of a string, as the vault's byte APIs take them.
inline std::vector<std::uint8_t> B(std::string_view s) { return {s.begin(), s.end()}; }

struct ToolRun {
  int exit_code = -1;       // -1 when killed by a signal.
  int signal = 0;
  std::vector<std::string> lines;
};

// Runs vault_stress_tool with `args`. If kill_after_ms >= 0, SIGKILLs it
// after that long (it may have finished earlier). extra_env is added as
// NAME=value entries.
ToolRun RunTool(const std::vector<std::string>& args, int kill_after_ms = -1,
                const std::vector<std::string>& extra_env = {});

// Starts several tool processes at once and waits for all.
std::vector<ToolRun> RunToolsConcurrently(const std::vector<std::vector<std::string>>& arg_lists);

}  // namespace bellwether::vault::testing

#endif  // BELLWETHER_TESTS_VAULT_TEST_UTIL_H_
