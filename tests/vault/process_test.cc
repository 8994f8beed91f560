// Real processes against one vault: concurrent hosts, SIGKILL at random
// points, and a file-size limit (full disk).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <sstream>

#include "test_util.h"
#include "vault/vault.h"

namespace bellwether::vault {
namespace {

using testing::RawDb;
using testing::RunTool;
using testing::RunToolsConcurrently;
using testing::TempDir;
using testing::TestOptions;
using testing::ToolRun;

std::string Joined(const ToolRun& run) {
  std::string out;
  for (const auto& l : run.lines) out += l + "\n";
  return out;
}

// Four host processes increment one counter with compare-and-set while
// writing and reading their own records: no update is lost, every refusal
// is a conflict, and no busy error reaches a caller.
// One line the stress tool printed: "ack <key> [<seq>]", "rotated", "done"
// or "error ...".
struct WriterLine {
  std::string kind, key;
  long long seq = 0;
};

WriterLine ParseWriterLine(const std::string& line) {
  WriterLine out;
  std::istringstream in(line);
  in >> out.kind;
  if (out.kind == "ack") in >> out.key >> out.seq;
  return out;
}

TEST(VaultProcesses, ConcurrentHostsLoseNoUpdate) {
  TempDir dir;
  const int kWorkers = 4, kIncrements = 40;
  std::vector<std::vector<std::string>> args;
  for (int w = 0; w < kWorkers; ++w) {
    args.push_back({dir.path().string(), "keyfile", "counter", std::to_string(w), std::to_string(kIncrements)});
  }
  auto runs = RunToolsConcurrently(args);
  int conflicts = 0;
  for (const auto& run : runs) {
    EXPECT_EQ(run.exit_code, 0) << Joined(run);
    ASSERT_FALSE(run.lines.empty());
    EXPECT_EQ(run.lines.back().rfind("done ", 0), 0u) << Joined(run);
    for (const auto& line : run.lines) {
      EXPECT_EQ(line.find("error"), std::string::npos) << line;
      if (line == "conflict") ++conflicts;
    }
  }
  auto v = Vault::Open(TestOptions(dir.path()));
  ASSERT_TRUE(v.ok());
  auto counter = (*v)->Get("counters", "shared");
  ASSERT_TRUE(counter.ok()) << counter.status().ToString();
  EXPECT_EQ(counter->value, kWorkers * kIncrements);
  EXPECT_EQ((*v)->GetStatus()->record_count, static_cast<std::uint64_t>(1 + kWorkers * kIncrements));
  // Conflicts are expected with four racing writers but not guaranteed on a
  // quiet machine; log how many were reported (and resolved) as such.
  RecordProperty("conflicts", conflicts);
}

// Three hosts write and rotate keys at the same time (so rotations
// overlap): every write lands, every key but the newest is retired, and
// the database is sound.
TEST(VaultProcesses, ConcurrentRotationsLoseNothing) {
  TempDir dir;
  std::vector<std::vector<std::string>> args;
  for (int w = 0; w < 3; ++w) {
    // Disjoint key spaces: k<seq % 1000> with seq starting at w * 100.
    args.push_back({dir.path().string(), "keyfile", "crash", std::to_string(w * 100), "1000", "40"});
  }
  auto runs = RunToolsConcurrently(args);
  std::map<std::string, long long> written;
  int rotations = 0;
  for (const auto& run : runs) {
    EXPECT_EQ(run.exit_code, 0) << Joined(run);
    for (const auto& line : run.lines) {
      const WriterLine w = ParseWriterLine(line);
      if (w.kind == "ack") {
        written[w.key] = w.seq;
      } else if (w.kind == "rotated") {
        ++rotations;
      } else {
        EXPECT_EQ(w.kind, "done") << line;
      }
    }
  }
  EXPECT_EQ(written.size(), 120u);
  EXPECT_EQ(rotations, 15);
  auto v = Vault::Open(TestOptions(dir.path()));
  ASSERT_TRUE(v.ok());
  for (const auto& [key, seq] : written) {
    auto got = (*v)->Get("crash", key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    EXPECT_EQ(got->value["seq"], seq);
  }
  EXPECT_FALSE((*v)->GetStatus()->rotation_pending);
  RawDb raw(dir.path() / "vault.db");
  EXPECT_EQ(raw.IntegrityCheck(), "ok");
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM keys WHERE state = 'active'"), 1);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM records WHERE key_id != (SELECT key_id FROM keys WHERE state = 'active')"), 0);
}

// A writer that also rotates keys is SIGKILLed at random points, hundreds
// of times, some of them in the middle of a rotation. Every acknowledged
// write is still there (or superseded by a later one), the database passes
// integrity_check, and the vault opens with any rotation finished.
TEST(VaultProcesses, AcknowledgedWritesSurviveSigkill) {
  TempDir dir;
  const int kIterations = 300;
  const long long kKeys = 40;
  const auto budget = std::chrono::seconds(90);
  const auto started = std::chrono::steady_clock::now();
  std::mt19937 rng(20261128);
  std::uniform_int_distribution<int> delay(0, 100);
  std::map<std::string, long long> acked;  // key -> highest acknowledged seq
  long long next_seq = 0;
  int iterations = 0, killed = 0, rotations = 0, mid_rotation = 0;
  for (; iterations < kIterations && std::chrono::steady_clock::now() - started < budget; ++iterations) {
    auto run = RunTool({dir.path().string(), "keyfile", "crash", std::to_string(next_seq), std::to_string(kKeys)},
                       delay(rng));
    if (run.signal != 0) ++killed;
    for (const auto& line : run.lines) {
      const WriterLine w = ParseWriterLine(line);
      if (w.kind == "ack") {
        acked[w.key] = std::max(acked[w.key], w.seq);
        next_seq = std::max(next_seq, w.seq + 1);
      } else if (w.kind == "rotated") {
        ++rotations;
      } else {
        ADD_FAILURE() << "writer reported: " << line;
      }
    }
    // Sequence numbers only ever grow, so an unacknowledged write that did
    // commit can only have raised a key's seq, never lowered it.
    next_seq += 1000;
    if (run.signal != 0 && std::filesystem::exists(dir.path() / "vault.db")) {
      RawDb raw(dir.path() / "vault.db");
      // A writer killed before its first schema transaction committed
      // leaves a file with no tables yet: nothing to count there.
      if (raw.Int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'keys'") > 0 &&
          raw.Int("SELECT COUNT(*) FROM keys WHERE state = 'retiring'") > 0) {
        ++mid_rotation;
      }
    }
  }
  EXPECT_GE(iterations, 200) << "too few iterations within the time budget";
  EXPECT_GT(mid_rotation, 0) << "no kill landed in the middle of a key rotation";
  EXPECT_GT(killed, iterations / 2);
  EXPECT_FALSE(acked.empty());
  EXPECT_GT(rotations, 0) << "no rotation completed: kills never landed after one";
  {
    RawDb raw(dir.path() / "vault.db");
    EXPECT_EQ(raw.IntegrityCheck(), "ok");
  }
  auto v = Vault::Open(TestOptions(dir.path()));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  for (const auto& [key, seq] : acked) {
    auto got = (*v)->Get("crash", key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    EXPECT_GE(got->value["seq"].get<long long>(), seq) << key;
  }
  // Any rotation cut short has been resumed by now.
  auto st = (*v)->GetStatus();
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->rotation_pending);
  RecordProperty("iterations", iterations);
  RecordProperty("rotations", rotations);
  RecordProperty("killed_mid_rotation", mid_rotation);
}

// With the file size capped (as on a full disk) a write fails with
// kStorageFull, and everything written before is intact afterwards.
TEST(VaultProcesses, FullDiskGivesStorageFullAndKeepsData) {
  TempDir dir;
  // Create the vault first so the limit binds record writes only.
  {
    auto v = Vault::Open(TestOptions(dir.path()));
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE((*v)->Set("fill", "seed", "x").ok());
  }
  auto run = RunTool({dir.path().string(), "keyfile", "fill", std::to_string(2 * 1024 * 1024)});
  ASSERT_FALSE(run.lines.empty());
  EXPECT_EQ(run.lines.back().rfind("error storage_full", 0), 0u) << Joined(run);
  std::vector<std::string> acked;
  for (const auto& line : run.lines) {
    const WriterLine w = ParseWriterLine(line);
    if (w.kind == "ack") acked.push_back(w.key);
  }
  EXPECT_GT(acked.size(), 5u);
  {
    RawDb raw(dir.path() / "vault.db");
    EXPECT_EQ(raw.IntegrityCheck(), "ok");
  }
  auto v = Vault::Open(TestOptions(dir.path()));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  for (const auto& key : acked) {
    auto got = (*v)->Get("fill", key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    if (key != "first") {
      EXPECT_EQ(got->value.get<std::string>().size(), 64u * 1024);
    }
  }
  // And the vault accepts writes again once space is back.
  EXPECT_TRUE((*v)->Set("fill", "after", "space is back").ok());
}

}  // namespace
}  // namespace bellwether::vault
