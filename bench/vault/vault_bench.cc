// vault_bench: what encryption costs over plaintext SQLite.
//
// Runs, side by side in one process, the sealed vault (vault::Vault) and a
// plaintext floor: the same schema, the same statements per operation
// (BEGIN IMMEDIATE, row lookup, usage and revision bookkeeping, upsert,
// key counter), the same WAL + synchronous=FULL durability, the same JSON
// serialisation and the same list pages, minus AES-GCM, HMAC and the key
// checks (the vault's per-operation wrap-generation read is counted against
// the vault). Prints operations per second and the ratio sealed/plaintext
// time for set, get and list at 1 KiB and 64 KiB values. "set-ctl" is the
// control: the same inserts into two more floors, whose ratio would be 1
// but for what the machine's disk and scheduling do to any two stores in
// one run (on the VM this was measured on, fsync latency drifts for
// minutes at a time); read the set ratio beside it.
//
// The vault remembers name MACs and opened names for the life of a process
// (vault/name_cache.h), so "get" and "list" are what a long-lived host (the
// reader's port) pays. "list-set" is a listing right after this process wrote a record (not timed), when the
// memo in the file is out of date and the vault lists its memo with its own writes over it; "list-other" is
// one right after another process (a second connection) wrote one, when the vault reads the rows its memo's
// log names (or, once that log is long, all rows, and rewrites the memo). The cold rows reopen both stores
// first (untimed), as a new host process would: "1st-call" is the first call after that (a get that finds
// nothing; for the vault, the unlock: the master key read, keys derived and unwrapped), then "get-1st" reads
// every key once and "list-1st" (after another reopen and first call) makes one full listing, with the
// vault's caches empty but for what it loads from its name memo. The process's OpenSSL and SQLite stay loaded
// and warm, so a real cold start costs more than these rows show. "set-listed" writes every record again once
// the namespace has been listed (it has a memo), and "set-shared" does so again after another process has
// written, when the memo keeps a log that each record's first write since the memo enters.
//
// The process runs with the host's heap settings (common/heap.h), as both stores would in the host;
// "--heap glibc" leaves glibc's defaults instead, under which the freed buffers of each 64 KiB write can go
// back to the kernel and be faulted in again on the next.
//
// Usage: vault_bench [--sets N] [--gets N] [--lists N] [--fresh N] [--size 1024|65536] [--dir DIR]
//                    [--heap host|glibc]
// (DIR should be on the disk the vault will live on; fsync dominates sets.)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/heap.h"
#include "common/json_guard.h"
#include "common/log.h"
#include "vault/sqlite_db.h"
#include "vault/vault.h"

namespace bw = bellwether;
using bw::vault::Database;
using bw::vault::Statement;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const bw::Status& s) {
  std::fprintf(stderr, "vault_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Must(bw::Result<T> r) {
  if (!r.ok()) Die(r.status());
  return std::move(r).value();
}

void Must(const bw::Status& s) {
  if (!s.ok()) Die(s);
}

// The plaintext floor: the vault's schema and statement sequence, with the
// name and the serialized value stored as they are.
class PlainStore {
 public:
  PlainStore(const std::filesystem::path& dir, bool create) {
    db_ = Must(Database::Open((dir / "plain.db").string(), true, 5000));
    Must(db_->Exec("PRAGMA journal_mode = WAL"));
    Must(db_->Exec("PRAGMA synchronous = FULL"));
    if (!create) return;
    Must(
        db_->Exec("CREATE TABLE meta (k TEXT PRIMARY KEY, v BLOB);"
                  "CREATE TABLE keys (key_id INTEGER PRIMARY KEY, state TEXT NOT NULL, wrapped BLOB,"
                  " created INTEGER NOT NULL, encryptions INTEGER NOT NULL DEFAULT 0);"
                  "CREATE TABLE records (id INTEGER PRIMARY KEY, ns TEXT NOT NULL, name_mac BLOB NOT NULL,"
                  " key_id INTEGER NOT NULL, revision INTEGER NOT NULL, size INTEGER NOT NULL,"
                  " name_blob BLOB NOT NULL, value_blob BLOB NOT NULL, UNIQUE (ns, name_mac));"
                  "CREATE INDEX records_by_key ON records (key_id);"
                  "INSERT INTO meta VALUES ('usage_bytes', 0), ('revision_clock', 0), ('wrap_generation', 1);"
                  "INSERT INTO keys VALUES (1, 'active', NULL, 0, 0);"));
  }

  static std::span<const std::uint8_t> Bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
  }

  std::int64_t MetaInt(const char* k) {
    Statement st = Must(db_->Prepare("SELECT v FROM meta WHERE k = ?"));
    st.Bind(1, std::string_view(k));
    return Must(st.Step()) ? st.Int(0) : 0;
  }
  void SetMeta(const char* k, std::int64_t v) {
    Statement st = Must(db_->Prepare("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)"));
    Must(st.Bind(1, std::string_view(k)).Bind(2, v).Run());
  }

  void Set(const std::string& ns, const std::string& key, const nlohmann::json& value) {
    const std::string serialized = value.dump();
    Must(db_->Transaction(true, [&]() -> bw::Status {
      Statement find = Must(db_->Prepare("SELECT id, key_id, revision, size FROM records WHERE ns = ? AND name_mac = ?"));
      find.Bind(1, ns).Bind(2, Bytes(key));
      bool exists = Must(find.Step());
      std::int64_t id = exists ? find.Int(0) : 0, old_size = exists ? find.Int(3) : 0;
      std::int64_t usage = MetaInt("usage_bytes");
      std::int64_t revision = MetaInt("revision_clock") + 1;
      Statement active = Must(db_->Prepare(
          "SELECT key_id, encryptions FROM keys WHERE state = 'active' ORDER BY key_id DESC LIMIT 1"));
      Must(active.Step());
      const std::int64_t size = static_cast<std::int64_t>(key.size() + serialized.size());
      if (exists) {
        Statement up = Must(db_->Prepare(
            "UPDATE records SET key_id = ?, revision = ?, size = ?, name_blob = ?, value_blob = ? WHERE id = ?"));
        Must(up.Bind(1, std::int64_t{1}).Bind(2, revision).Bind(3, size).Bind(4, Bytes(key))
                 .Bind(5, Bytes(serialized)).Bind(6, id).Run());
      } else {
        Statement ins = Must(db_->Prepare(
            "INSERT INTO records (ns, name_mac, key_id, revision, size, name_blob, value_blob) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"));
        Must(ins.Bind(1, ns).Bind(2, Bytes(key)).Bind(3, std::int64_t{1}).Bind(4, revision).Bind(5, size)
                 .Bind(6, Bytes(key)).Bind(7, Bytes(serialized)).Run());
      }
      Statement count = Must(db_->Prepare("UPDATE keys SET encryptions = encryptions + ? WHERE key_id = ?"));
      Must(count.Bind(1, std::int64_t{2}).Bind(2, std::int64_t{1}).Run());
      SetMeta("usage_bytes", usage - old_size + size);
      SetMeta("revision_clock", revision);
      return bw::Status::Ok();
    }));
  }

  // What vault.get returns: the value and its revision.
  bw::vault::Record Get(const std::string& ns, const std::string& key) {
    bw::vault::Record out;
    Must(db_->Transaction(false, [&]() -> bw::Status {
      Statement st = Must(db_->Prepare("SELECT key_id, revision, value_blob FROM records WHERE ns = ? AND name_mac = ?"));
      st.Bind(1, ns).Bind(2, Bytes(key));
      if (!Must(st.Step())) return bw::Status::NotFound("missing");
      out.revision = st.Int(1);
      // Parsed in place, by the call the vault makes on what it opens.
      auto blob = st.Blob(2);
      out.value = nlohmann::json::parse(
          std::string_view(reinterpret_cast<const char*>(blob.data()), blob.size()), nullptr, false);
      if (out.value.is_discarded()) return bw::Status::Integrity("stored value is not JSON");
      return bw::Status::Ok();
    }));
    return out;
  }

  // A get of a key that may be missing (the cold rows' first call).
  bool Find(const std::string& ns, const std::string& key) {
    bool found = false;
    Must(db_->Transaction(false, [&]() -> bw::Status {
      Statement st = Must(db_->Prepare("SELECT key_id, revision, value_blob FROM records WHERE ns = ? AND name_mac = ?"));
      st.Bind(1, ns).Bind(2, Bytes(key));
      found = Must(st.Step());
      return bw::Status::Ok();
    }));
    return found;
  }

  // Pages of 100 built as the vault builds them (items, reply-size budget).
  std::size_t List(const std::string& ns) {
    std::size_t n = 0;
    std::vector<std::uint8_t> position;
    for (;;) {
      bw::vault::ListPage page;
      Must(db_->Transaction(false, [&]() -> bw::Status {
        page = bw::vault::ListPage{};
        std::size_t budget = 0;
        Statement st = Must(db_->Prepare(
            "SELECT name_mac, key_id, revision, name_blob FROM records WHERE ns = ? AND name_mac > ? "
            "ORDER BY name_mac LIMIT 100"));
        st.Bind(1, ns).Bind(2, std::span<const std::uint8_t>(position));
        while (Must(st.Step())) {
          auto mac = st.Blob(0);
          position.assign(mac.begin(), mac.end());
          auto blob = st.Blob(3);
          std::string name(reinterpret_cast<const char*>(blob.data()), blob.size());
          budget += bw::JsonStringSizeBound(name) + 32;
          page.items.push_back(bw::vault::ListItem{std::move(name), st.Int(2)});
        }
        if (budget == 0 && !page.items.empty()) return bw::Status::Internal("no budget");
        return bw::Status::Ok();
      }));
      n += page.items.size();
      if (page.items.size() < 100) return n;
    }
  }

 private:
  std::unique_ptr<Database> db_;
};

// One full listing of the bench namespace, 100 names a page.
std::size_t ListAll(bw::vault::Vault& vault) {
  std::size_t n = 0;
  std::optional<std::string> cursor;
  do {
    std::optional<std::string_view> c;
    if (cursor) c = *cursor;
    auto page = Must(vault.List("bench", "", c, 100));
    n += page.items.size();
    cursor = page.cursor;
  } while (cursor);
  return n;
}

double Seconds(const std::function<void()>& fn) {
  auto start = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Per-round times of one operation, sealed and plaintext.
struct Timings {
  std::vector<double> sealed, plain;
  // Runs both, sealed first in rounds 0, 3, 4, 7, 8... (ABBA).
  void Round(int round, const std::function<void()>& sealed_fn, const std::function<void()>& plain_fn) {
    if (round % 4 == 0 || round % 4 == 3) {
      sealed.push_back(Seconds(sealed_fn));
      plain.push_back(Seconds(plain_fn));
    } else {
      plain.push_back(Seconds(plain_fn));
      sealed.push_back(Seconds(sealed_fn));
    }
  }
  // Rounds 2k and 2k + 1 ran in opposite orders, so the ratio of a pair,
  // (sealed_a + sealed_b) / (plain_a + plain_b), cancels what running first
  // or second does to a time; a single round's ratio keeps it (a listing
  // right after a write costs either store some 10% more when it runs
  // first, which splits list-other's per-round ratios into two clusters).
  // The pairs' ratios' quantile q (0.5: the median), interpolated. An odd
  // last round is left out.
  double RatioQuantile(double q) const {
    std::vector<double> r;
    for (std::size_t i = 0; i + 1 < sealed.size(); i += 2) {
      r.push_back((sealed[i] + sealed[i + 1]) / (plain[i] + plain[i + 1]));
    }
    std::sort(r.begin(), r.end());
    if (r.empty()) return 0;
    const double pos = q * static_cast<double>(r.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, r.size() - 1);
    return r[lo] + (r[hi] - r[lo]) * (pos - static_cast<double>(lo));
  }
};

double Sum(const std::vector<double>& v) {
  double total = 0;
  for (double x : v) total += x;
  return total;
}

void Report(const char* op, std::size_t value_bytes, int count, const Timings& t,
            const char* first = "sealed", const char* second = "plaintext") {
  if (count <= 0 || t.sealed.size() < 2) {
    std::printf("%-10s %6zu B  not run (raise the count)\n", op, value_bytes);
    return;
  }
  const double sealed = Sum(t.sealed), plain = Sum(t.plain), ratio = t.RatioQuantile(0.5);
  // The interquartile range of the pairs shows how far one run's ratio
  // can be trusted: on this VM it is often wider than a change under test.
  std::printf(
      "%-10s %6zu B  %8d ops  %s %10.1f ops/s  %s %10.1f ops/s  ratio %.3f (%+.1f%%)  IQR "
      "%.3f-%.3f\n",
      op, value_bytes, count, first, count / sealed, second, count / plain, ratio, (ratio - 1) * 100,
      t.RatioQuantile(0.25), t.RatioQuantile(0.75));
}

}  // namespace

int main(int argc, char** argv) {
  int sets = 300, gets = 3000, lists = 30, fresh = 10;
  std::size_t only_size = 0;  // 0: both 1 KiB and 64 KiB.
  std::filesystem::path base = std::filesystem::temp_directory_path();
  std::string heap = "host";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--sets") sets = std::atoi(argv[i + 1]);
    else if (flag == "--gets") gets = std::atoi(argv[i + 1]);
    else if (flag == "--lists") lists = std::atoi(argv[i + 1]);
    else if (flag == "--fresh")
      fresh = std::atoi(argv[i + 1]);
    else if (flag == "--dir") base = argv[i + 1];
    else if (flag == "--size") only_size = static_cast<std::size_t>(std::atol(argv[i + 1]));
    else if (flag == "--heap")
      heap = argv[i + 1];
  }
  if (heap != "host" && heap != "glibc") {
    std::fprintf(stderr, "vault_bench: --heap is host or glibc\n");
    return 2;
  }
  if (heap == "host" && !bw::KeepFreedHeapForReuse()) heap = "glibc (the host's settings were refused)";
  bw::log::SetMinimumLevel(bw::log::Level::kWarning);
  if (sets < 1 || gets < 0 || lists < 0 || fresh < 0) {
    std::fprintf(stderr, "vault_bench: --sets must be at least 1; counts cannot be negative\n");
    return 2;
  }
  std::printf("vault_bench: sealed vault vs plaintext SQLite (WAL, synchronous=FULL), dir %s, heap %s\n",
              base.string().c_str(), heap.c_str());
  for (std::size_t value_bytes : {std::size_t{1024}, std::size_t{64 * 1024}}) {
    if (only_size != 0 && value_bytes != only_size) continue;
    std::string tmpl = (base / "bw-vault-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    std::filesystem::path dir = tmpl;
    bw::vault::VaultOptions options;
    options.data_dir = dir / "sealed";
    options.key_source = bw::vault::KeySource::kKeyFile;
    auto vault = Must(bw::vault::Vault::Open(options));
    std::filesystem::create_directories(dir / "plain");
    auto plain_store = std::make_unique<PlainStore>(dir / "plain", true);
    PlainStore& plain = *plain_store;
    // The payload is a JSON string of value_bytes characters.
    const nlohmann::json value = std::string(value_bytes - 2, 'n');
    // Records are written and read in one shuffled order (the same for
    // both stores), as a reader touches sections: not in the order their
    // plaintext names sort, which would favour the floor's index.
    std::vector<int> order(static_cast<std::size_t>(std::max(sets, 1)));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::shuffle(order.begin(), order.end(), std::mt19937(20261128));
    auto key = [&order](int i) {
      return "section-" + std::to_string(order[static_cast<std::size_t>(i) % order.size()]) + "/note";
    };
    // Warm up both (creates keys, pages).
    Must(vault->Set("bench", "warm", 1).status());
    plain.Set("bench", "warm", 1);

    // Sealed and plaintext runs alternate, in ABBA order, so drift and
    // whatever one leaves behind for the other (page cache, journal) fall
    // on both alike; each op reports the median of its pairs of rounds
    // (Timings::RatioQuantile).
    const int rounds = 10;
    // Writes alternate five at a time: each write waits for an fsync,
    // whose latency on this VM comes in bursts lasting a few writes, and
    // with 30 writes a round (ten rounds, until the thirteenth session) a
    // burst decided a whole pair of rounds. Five at a time gives 30 pairs
    // for 300 writes; over ten runs the standard deviation of the control
    // row's ratio fell from 0.056 to 0.005, and of the set ratio from
    // 0.036 to 0.008.
    const int write_rounds = std::max(rounds, sets / 5);
    Timings set_t, get_t, list_t, stale_list_t, other_list_t, first_call_t, first_get_t, first_list_t;
    // Every record written once by `first(i)` and by `second(i)`, in
    // `write_rounds` rounds.
    auto write_rounds_of = [&](Timings& t, const std::function<void(int)>& first,
                               const std::function<void(int)>& second) {
      for (int round = 0; round < write_rounds; ++round) {
        const int lo = sets * round / write_rounds, hi = sets * (round + 1) / write_rounds;
        t.Round(
            round,
            [&] {
              for (int i = lo; i < hi; ++i) first(i);
            },
            [&] {
              for (int i = lo; i < hi; ++i) second(i);
            });
      }
    };
    // Every record set once to `v` in both stores.
    auto set_rounds = [&](Timings& t, const nlohmann::json& v) {
      write_rounds_of(
          t, [&](int i) { Must(vault->Set("bench", key(i), v).status()); },
          [&](int i) { plain_store->Set("bench", key(i), v); });
    };
    set_rounds(set_t, value);
    // The control: the same inserts, at once, into two more floors, new
    // and made in the order the vault and the floor were. Both do the same
    // work, so their ratio is what this machine's disk and scheduling do to
    // any two stores in a run; the set ratio is read beside it.
    Timings control_t;
    {
      std::filesystem::create_directories(dir / "control-first");
      std::filesystem::create_directories(dir / "control-second");
      PlainStore first(dir / "control-first", true);
      first.Set("bench", "warm", 1);
      PlainStore second(dir / "control-second", true);
      second.Set("bench", "warm", 1);
      write_rounds_of(
          control_t, [&](int i) { first.Set("bench", key(i), value); },
          [&](int i) { second.Set("bench", key(i), value); });
    }
    for (int round = 0; round < rounds; ++round) {
      get_t.Round(
          round,
          [&] {
            for (int i = 0; i < gets / rounds; ++i) Must(vault->Get("bench", key(i % sets)).status());
          },
          [&] {
            for (int i = 0; i < gets / rounds; ++i) plain.Get("bench", key(i % sets));
          });
      list_t.Round(
          round,
          [&] {
            for (int i = 0; i < lists / rounds; ++i) ListAll(*vault);
          },
          [&] {
            for (int i = 0; i < lists / rounds; ++i) plain.List("bench");
          });
    }
    // A fresh process each time: both stores reopened (not timed), then
    // every key read once, or one full listing.
    auto reopen = [&] {
      vault.reset();
      plain_store.reset();
      vault = Must(bw::vault::Vault::Open(options));
      plain_store = std::make_unique<PlainStore>(dir / "plain", false);
    };
    auto first_call = [&](int round) {
      first_call_t.Round(
          round, [&] { (void)vault->Get("bench", "no-such-key"); },
          [&] { (void)plain_store->Find("bench", "no-such-key"); });
    };
    // Two first calls per fresh round, rounds 2k and 2k + 1 of theirs (so
    // each pair ran in opposite orders).
    for (int round = 0; round < fresh; ++round) {
      reopen();
      first_call(2 * round);
      first_get_t.Round(
          round,
          [&] {
            for (int i = 0; i < sets; ++i) Must(vault->Get("bench", key(i)).status());
          },
          [&] {
            for (int i = 0; i < sets; ++i) plain_store->Get("bench", key(i));
          });
      reopen();
      first_call(2 * round + 1);
      first_list_t.Round(
          round, [&] { ListAll(*vault); }, [&] { plain_store->List("bench"); });
    }
    // Sets of the records again, in a namespace that has been listed, so
    // that it has a memo: by a host alone ("set-listed"), and once another
    // host has written to the vault ("set-shared"), when the memo keeps a
    // log (docs/security.md, "Memo logs") that each record's first write
    // since the memo enters.
    // (A new value each time, as an edit brings: SQLite skips writing
    // pages whose bytes an update leaves as they were, which would spare
    // the floor's unchanged plaintext and never a fresh seal.)
    auto listed_sets = [&](Timings& t, char fill) {
      ListAll(*vault);
      set_rounds(t, std::string(value_bytes - 2, fill));
    };
    Timings listed_set_t, shared_set_t;
    // Last, as they leave the memo out of date for good: a listing right
    // after a write (not timed) by this process, then by another one.
    const int stale_lists = lists / 4;
    for (int i = 0; i < stale_lists; ++i) {
      Must(vault->Set("bench", key(i), value).status());
      plain_store->Set("bench", key(i), value);
      stale_list_t.Round(
          i, [&] { ListAll(*vault); }, [&] { plain_store->List("bench"); });
    }
    listed_sets(listed_set_t, 'e');
    {
      // Both written through a second connection, which also throws away
      // each listing connection's page cache.
      auto other = Must(bw::vault::Vault::Open(options));
      PlainStore other_plain(dir / "plain", false);
      for (int i = 0; i < stale_lists; ++i) {
        Must(other->Set("bench", key(i), value).status());
        other_plain.Set("bench", key(i), value);
        other_list_t.Round(
            i, [&] { ListAll(*vault); }, [&] { plain_store->List("bench"); });
      }
    }
    listed_sets(shared_set_t, 's');
    const int get_count = gets / rounds * rounds, list_count = lists / rounds * rounds;
    Report("set", value_bytes, sets, set_t);
    Report("set-ctl", value_bytes, sets, control_t, "floor 1", "floor 2");
    Report("get", value_bytes, get_count, get_t);
    Report("1st-call", value_bytes, static_cast<int>(first_call_t.sealed.size()), first_call_t);
    Report("get-1st", value_bytes, sets * static_cast<int>(first_get_t.sealed.size()), first_get_t);
    Report("list", value_bytes, list_count, list_t);
    Report("list-set", value_bytes, static_cast<int>(stale_list_t.sealed.size()), stale_list_t);
    Report("list-other", value_bytes, static_cast<int>(other_list_t.sealed.size()), other_list_t);
    Report("list-1st", value_bytes, static_cast<int>(first_list_t.sealed.size()), first_list_t);
    Report("set-listed", value_bytes, sets, listed_set_t);
    Report("set-shared", value_bytes, sets, shared_set_t);
    vault.reset();
    plain_store.reset();
    std::filesystem::remove_all(dir);
  }
  std::printf("list = one full paged listing (100 per page) of %d records\n", sets + 1);
  return 0;
}
