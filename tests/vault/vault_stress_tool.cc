// vault_stress_tool: a small separate process that drives a real vault, so
// the tests can run several hosts at once, SIGKILL one mid-write, or cap its
// file size. Prints one line per event on stdout (flushed at once):
//   ack <key> <seq> <revision>     a write the vault acknowledged
//   conflict                        a compare-and-set was refused
//   error <code_name> <message>     any other failure
//   state <state>                   from `status`
//
// Usage: vault_stress_tool <data_dir> <keyfile|keyring> <command> [args]
//   counter <worker> <increments>  CAS-increment counters/shared; also
//                                  writes w<worker>-<i> and reads them back
//   crash <start_seq> <keys> [n]   writes k<seq % keys> = {"seq": seq}
//                                  forever (or n times), rotating keys
//                                  every 8 writes
//   fill <limit_bytes>             RLIMIT_FSIZE = limit, then 64 KiB writes
//                                  until the vault refuses one
//   status                         prints state
//   get <ns> <key>                 prints the value or the error
//   damage-latest <ns>             flips the last byte (the tag) of the
//                                  sealed value most recently written in
//                                  <ns>, straight in the file (no key
//                                  needed): damage on disk for the browser
//                                  tests; prints "damaged <revision>"
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "vault/sqlite_db.h"
#include "vault/vault.h"

using bellwether::ErrorCode;
using bellwether::ErrorCodeName;
using bellwether::Status;
using bellwether::vault::Vault;

namespace {

void Line(const std::string& s) {
  std::fputs((s + "\n").c_str(), stdout);
  std::fflush(stdout);
}

int Fail(const Status& s) {
  Line("error " + std::string(ErrorCodeName(s.code())) + " " + s.message());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: vault_stress_tool <data_dir> <keyfile|keyring> <command> [args]\n");
    return 2;
  }
  std::string command = argv[3];
  if (command == "damage-latest" && argc >= 5) {
    using bellwether::vault::Database;
    auto db = Database::Open(std::string(argv[1]) + "/vault.db", false, 5000);
    if (!db.ok()) return Fail(db.status());
    std::int64_t revision = 0;
    Status s = (*db)->Transaction(true, [&]() -> Status {
      BW_ASSIGN_OR_RETURN(auto st, (*db)->Prepare("SELECT id, revision, value_blob FROM records WHERE ns = ? "
                                                  "ORDER BY revision DESC LIMIT 1"));
      st.Bind(1, std::string_view(argv[4]));
      BW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return Status::NotFound("no record in that namespace");
      const std::int64_t id = st.Int(0);
      revision = st.Int(1);
      std::vector<std::uint8_t> blob(st.Blob(2).begin(), st.Blob(2).end());
      if (blob.empty()) return Status::Integrity("empty value");
      blob.back() ^= 0x01;
      BW_ASSIGN_OR_RETURN(auto update, (*db)->Prepare("UPDATE records SET value_blob = ? WHERE id = ?"));
      update.Bind(1, std::span<const std::uint8_t>(blob)).Bind(2, id);
      return update.Run();
    });
    if (!s.ok()) return Fail(s);
    Line("damaged " + std::to_string(revision));
    return 0;
  }
  bellwether::vault::VaultOptions options;
  options.data_dir = argv[1];
  options.key_source = std::string(argv[2]) == "keyring" ? bellwether::vault::KeySource::kKeyring
                                                         : bellwether::vault::KeySource::kKeyFile;
  options.passphrase_kdf = {1024, 8, 1};
  options.rotation_batch = 16;
  if (command == "fill") {
    // The limit must bind the vault's own writes only, after opening; but
    // set it before opening so a first write of the WAL is also covered.
    signal(SIGXFSZ, SIG_IGN);  // Get EFBIG instead of being killed.
  }
  auto opened = Vault::Open(options);
  if (!opened.ok()) return Fail(opened.status());
  Vault& vault = **opened;

  if (command == "status") {
    auto st = vault.GetStatus();
    if (!st.ok()) return Fail(st.status());
    Line("state " + std::string(bellwether::vault::VaultStateName(st->state)));
    return 0;
  }
  if (command == "get" && argc >= 6) {
    auto r = vault.Get(argv[4], argv[5]);
    if (!r.ok()) return Fail(r.status());
    Line("value " + r->value.dump());
    return 0;
  }
  if (command == "counter" && argc >= 6) {
    const std::string worker = argv[4];
    const int increments = std::atoi(argv[5]);
    int conflicts = 0;
    for (int i = 0; i < increments; ++i) {
      for (int attempt = 0;; ++attempt) {
        if (attempt > 10000) return Fail(Status::Internal("livelock"));
        auto current = vault.Get("counters", "shared");
        std::int64_t value = 0, expected = 0;
        if (current.ok()) {
          value = current->value.get<std::int64_t>();
          expected = current->revision;
        } else if (current.status().code() != ErrorCode::kNotFound) {
          return Fail(current.status());
        }
        auto set = vault.Set("counters", "shared", value + 1, expected);
        if (set.ok()) break;
        if (set.status().code() != ErrorCode::kConflict) return Fail(set.status());
        ++conflicts;
        Line("conflict");
      }
      std::string key = "w" + worker + "-" + std::to_string(i);
      auto own = vault.Set("workers", key, nlohmann::json{{"worker", worker}, {"i", i}});
      if (!own.ok()) return Fail(own.status());
      auto back = vault.Get("workers", key);
      if (!back.ok()) return Fail(back.status());
      if (back->value["i"] != i) return Fail(Status::Internal("read back a different value"));
    }
    Line("done " + std::to_string(conflicts));
    return 0;
  }
  if (command == "crash" && argc >= 6) {
    long long seq = std::atoll(argv[4]);
    const long long keys = std::atoll(argv[5]);
    const long long max_writes = argc >= 7 ? std::atoll(argv[6]) : -1;
    for (long long n = 0;; ++n, ++seq) {
      if (max_writes >= 0 && n >= max_writes) {
        Line("done");
        return 0;
      }
      std::string key = "k" + std::to_string(seq % keys);
      auto rev = vault.Set("crash", key, nlohmann::json{{"seq", seq}});
      if (!rev.ok()) return Fail(rev.status());
      Line("ack " + key + " " + std::to_string(seq) + " " + std::to_string(*rev));
      if (n % 8 == 3) {
        auto r = vault.RotateKey();
        if (!r.ok()) return Fail(r.status());
        Line("rotated " + std::to_string(r->key_id));
      }
    }
  }
  if (command == "fill" && argc >= 5) {
    // Open (and create keys) first, then cap the file size just above what
    // exists, so only record writes can hit the limit.
    auto st = vault.GetStatus();
    if (!st.ok()) return Fail(st.status());
    if (auto first = vault.Set("fill", "first", "before the limit"); !first.ok()) return Fail(first.status());
    Line("ack first 0 0");
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(std::atoll(argv[4]));
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return Fail(Status::Internal("setrlimit failed"));
    std::string big(64 * 1024, 'x');
    for (int i = 0; i < 100000; ++i) {
      std::string key = "r" + std::to_string(i);
      auto rev = vault.Set("fill", key, big);
      if (!rev.ok()) return Fail(rev.status());
      Line("ack " + key + " " + std::to_string(i) + " " + std::to_string(*rev));
    }
    Line("never full");
    return 0;
  }
  std::fprintf(stderr, "unknown command %s\n", command.c_str());
  return 2;
}
