#include "test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace bellwether::vault::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bw-vault-test-XXXXXX").string();
  char* made = ::mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<Vault> OpenVault(const VaultOptions& options) {
  auto v = Vault::Open(options);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : nullptr;
}

VaultOptions TestOptions(const std::filesystem::path& dir) {
  VaultOptions o;
  o.data_dir = dir;
  o.key_source = KeySource::kKeyFile;
  o.passphrase_kdf = {1024, 8, 1};
  return o;
}

RawDb::RawDb(const std::filesystem::path& db_path) {
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << db_path;
  }
  sqlite3_busy_timeout(db_, 5000);
}

RawDb::~RawDb() { sqlite3_close_v2(db_); }

void RawDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << (err ? err : "");
  }
  sqlite3_free(err);
}

void RawDb::SwapRowids(const std::string& table, const std::string& where_a, const std::string& where_b) {
  const std::string a = std::to_string(Int("SELECT rowid FROM " + table + " WHERE " + where_a));
  const std::string b = std::to_string(Int("SELECT rowid FROM " + table + " WHERE " + where_b));
  Exec("BEGIN; UPDATE " + table + " SET rowid = -1 WHERE rowid = " + a + "; UPDATE " + table +
       " SET rowid = " + a + " WHERE rowid = " + b + "; UPDATE " + table + " SET rowid = " + b +
       " WHERE rowid = -1; COMMIT");
}

std::vector<std::uint8_t> RawDb::Blob(const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  std::vector<std::uint8_t> out;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 0));
    out.assign(p, p + sqlite3_column_bytes(st, 0));
  } else {
    ADD_FAILURE() << "no row for " << sql;
  }
  sqlite3_finalize(st);
  return out;
}

std::int64_t RawDb::Int(const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  std::int64_t v = -1;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int64(st, 0);
  } else {
    ADD_FAILURE() << "no row for " << sql;
  }
  sqlite3_finalize(st);
  return v;
}

void RawDb::SetBlob(const std::string& sql, const std::vector<std::uint8_t>& blob) {
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
  if (blob.empty()) {
    sqlite3_bind_zeroblob(st, 1, 0);  // A NULL pointer would bind SQL NULL.
  } else {
    sqlite3_bind_blob(st, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  }
  EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
}

std::string RawDb::IntegrityCheck() {
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db_, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
  }
  sqlite3_finalize(st);
  return out;
}

std::string RawDb::Text(const std::string& sql, int column) {
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(st, column);
      if (!out.empty()) out += "\n";
      if (text != nullptr) out += reinterpret_cast<const char*>(text);
    }
  } else {
    ADD_FAILURE() << "cannot prepare: " << sql << ": " << sqlite3_errmsg(db_);
  }
  sqlite3_finalize(st);
  return out;
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;
  std::string buffer;
};

Child Spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    bool overridden = false;
    for (const auto& extra : extra_env) {
      if (entry.substr(0, entry.find('=') + 1) == extra.substr(0, extra.find('=') + 1)) overridden = true;
    }
    if (!overridden) env_strings.push_back(entry);
  }
  for (const auto& extra : extra_env) env_strings.push_back(extra);
  std::vector<char*> argv, envp;
  std::string tool = VAULT_STRESS_TOOL_PATH;
  argv.push_back(tool.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return Child{pid, fds[0], {}};
}

// Reads what is available; returns false at EOF.
bool Drain(Child& c) {
  char buf[4096];
  ssize_t n = ::read(c.out, buf, sizeof(buf));
  if (n > 0) {
    c.buffer.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  return n < 0 && errno == EINTR;
}

ToolRun Finish(Child& c) {
  while (Drain(c)) {
  }
  ::close(c.out);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  ToolRun run;
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  std::istringstream in(c.buffer);
  // A line cut by a kill has no newline: it was never fully acknowledged.
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;
    run.lines.push_back(line);
  }
  return run;
}

}  // namespace

ToolRun RunTool(const std::vector<std::string>& args, int kill_after_ms, const std::vector<std::string>& extra_env) {
  Child c = Spawn(args, extra_env);
  if (kill_after_ms >= 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kill_after_ms);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{c.out, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r > 0 && !Drain(c)) break;  // EOF: the child finished by itself.
    }
    ::kill(c.pid, SIGKILL);
  }
  return Finish(c);
}

std::vector<ToolRun> RunToolsConcurrently(const std::vector<std::vector<std::string>>& arg_lists) {
  std::vector<Child> children;
  for (const auto& args : arg_lists) children.push_back(Spawn(args, {}));
  // Drain all pipes round-robin so no child blocks on a full pipe.
  std::vector<bool> open(children.size(), true);
  for (std::size_t remaining = children.size(); remaining > 0;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (open[i]) {
        fds.push_back(pollfd{children[i].out, POLLIN, 0});
        index.push_back(i);
      }
    }
    if (::poll(fds.data(), fds.size(), 60000) <= 0) break;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents != 0 && !Drain(children[index[k]])) {
        open[index[k]] = false;
        --remaining;
      }
    }
  }
  std::vector<ToolRun> runs;
  for (auto& c : children) runs.push_back(Finish(c));
  return runs;
}

}  // namespace bellwether::vault::testing
