// The vault's record API: round trips, revisions and compare-and-set,
// limits, listing, file modes and what reaches the disk.
#include "vault/vault.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

namespace bellwether::vault {
namespace {

using testing::RawDb;
using testing::ReadFile;
using testing::TempDir;
using testing::OpenVault;
using testing::TestOptions;


// Any JSON value comes back exactly as written.
TEST(Vault, RoundTripsAnyJsonValue) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  const nlohmann::json values[] = {
      nlohmann::json::object({{"note", "tariffs on autos"}, {"tags", {"a", "b"}}}),
      nlohmann::json::array({1, 2.5, nullptr, true}),
      "plain string with ユニコード",
      42,
      nullptr,
      nlohmann::json::object()};
  int i = 0;
  for (const auto& value : values) {
    std::string key = "key-" + std::to_string(i++);
    ASSERT_TRUE(v->Set("notes", key, value).ok());
    auto got = v->Get("notes", key);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->value, value);
  }
}

// Reopening the vault (a new host process) finds the same records.
TEST(Vault, RecordsSurviveReopen) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(v->Set("notes", "section-2", "kept").ok());
  }
  auto v = OpenVault(TestOptions(dir.path()));
  auto got = v->Get("notes", "section-2");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value, "kept");
}

// A missing record has its own error code.
TEST(Vault, MissingRecordIsNotFound) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(v->Get("notes", "nothing").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(v->Delete("notes", "nothing").code(), ErrorCode::kNotFound);
}

// Every write gets a higher revision than any before it.
TEST(Vault, RevisionsIncreaseOnEveryWrite) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto r1 = v->Set("notes", "a", 1);
  auto r2 = v->Set("notes", "b", 1);
  auto r3 = v->Set("notes", "a", 2);
  ASSERT_TRUE(r1.ok() && r2.ok() && r3.ok());
  EXPECT_LT(*r1, *r2);
  EXPECT_LT(*r2, *r3);
  EXPECT_EQ(v->Get("notes", "a")->revision, *r3);
}

// A set carrying a stale revision is refused and changes nothing.
TEST(Vault, StaleExpectedRevisionIsConflict) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto r1 = v->Set("notes", "a", "first");
  ASSERT_TRUE(r1.ok());
  auto r2 = v->Set("notes", "a", "second", *r1);
  ASSERT_TRUE(r2.ok());
  auto stale = v->Set("notes", "a", "lost update", *r1);
  EXPECT_EQ(stale.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(v->Get("notes", "a")->value, "second");
}

// expectedRevision 0 means "must not exist yet".
TEST(Vault, ExpectedRevisionZeroMeansCreateOnly) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", "created", 0).ok());
  EXPECT_EQ(v->Set("notes", "a", "again", 0).status().code(), ErrorCode::kConflict);
  EXPECT_EQ(v->Get("notes", "a")->value, "created");
}

// A revision cannot be reused after delete and re-create (no ABA).
TEST(Vault, RecreatedRecordGetsNewRevision) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto r1 = v->Set("notes", "a", "x");
  ASSERT_TRUE(r1.ok());
  ASSERT_TRUE(v->Delete("notes", "a").ok());
  ASSERT_TRUE(v->Set("notes", "a", "y").ok());
  EXPECT_EQ(v->Set("notes", "a", "z", *r1).status().code(), ErrorCode::kConflict);
}

// Delete honours compare-and-set too.
TEST(Vault, DeleteWithStaleRevisionIsConflict) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto r1 = v->Set("notes", "a", "x");
  ASSERT_TRUE(v->Set("notes", "a", "y").ok());
  EXPECT_EQ(v->Delete("notes", "a", *r1).code(), ErrorCode::kConflict);
  auto current = v->Get("notes", "a");
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(v->Delete("notes", "a", current->revision).ok());
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kNotFound);
}

// Two connections (as two host processes) see each other's writes, and the
// slower one's compare-and-set fails instead of overwriting.
TEST(Vault, SecondConnectionCannotOverwriteSilently) {
  TempDir dir;
  auto a = OpenVault(TestOptions(dir.path()));
  auto b = OpenVault(TestOptions(dir.path()));
  auto r = a->Set("notes", "shared", "from a");
  ASSERT_TRUE(r.ok());
  auto seen = b->Get("notes", "shared");
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(seen->value, "from a");
  ASSERT_TRUE(a->Set("notes", "shared", "a again", seen->revision).ok());
  EXPECT_EQ(b->Set("notes", "shared", "from b", seen->revision).status().code(), ErrorCode::kConflict);
}

// Names up to 512 bytes are fine; one more byte is kTooLarge.
TEST(Vault, RecordNameLimitIs512Bytes) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  EXPECT_TRUE(v->Set("notes", std::string(512, 'n'), 1).ok());
  EXPECT_EQ(v->Set("notes", std::string(513, 'n'), 1).status().code(), ErrorCode::kTooLarge);
  EXPECT_EQ(v->Set("notes", "", 1).status().code(), ErrorCode::kInvalidParams);
}

// Values up to 256 KiB of serialized JSON are fine; one more byte is not.
TEST(Vault, ValueLimitIs256KiBOfJson) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  // A JSON string serializes with two quotes.
  std::string at_limit(kMaxValueBytes - 2, 'v');
  EXPECT_TRUE(v->Set("notes", "big", at_limit).ok());
  EXPECT_EQ(v->Get("notes", "big")->value, at_limit);
  EXPECT_EQ(v->Set("notes", "bigger", at_limit + "v").status().code(), ErrorCode::kTooLarge);
}

// The total quota has its own error; overwriting and deleting free space.
TEST(Vault, QuotaIsEnforcedWithDistinctError) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.quota_bytes = 10 * 1024;
  auto v = OpenVault(options);
  std::string four_k(4000, 'q');
  ASSERT_TRUE(v->Set("notes", "a", four_k).ok());
  ASSERT_TRUE(v->Set("notes", "b", four_k).ok());
  EXPECT_EQ(v->Set("notes", "c", four_k).status().code(), ErrorCode::kQuotaExceeded);
  EXPECT_TRUE(v->Set("notes", "a", four_k + "more").ok());  // Replacing counts the difference.
  ASSERT_TRUE(v->Delete("notes", "b").ok());
  EXPECT_TRUE(v->Set("notes", "c", four_k).ok());
  EXPECT_EQ(v->Get("notes", "c")->value, four_k);
}

// Namespaces are 1..64 of [a-z0-9_-].
TEST(Vault, RejectsMalformedNamespaces) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  for (std::string ns : {std::string(), std::string("Notes"), std::string("a/b"), std::string("a b"),
                         std::string(65, 'a')}) {
    EXPECT_EQ(v->Set(ns, "k", 1).status().code(), ErrorCode::kInvalidParams) << ns;
  }
  EXPECT_TRUE(v->Set(std::string(64, 'a'), "k", 1).ok());
  EXPECT_TRUE(v->Set("reading_state-2", "k", 1).ok());
}

// Paging with a small limit returns every matching key exactly once.
TEST(Vault, ListPagesThroughEveryMatchingKeyOnce) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  std::set<std::string> expected;
  for (int i = 0; i < 120; ++i) {
    std::string key = (i % 3 == 0 ? "part1/" : "part2/") + std::to_string(i);
    ASSERT_TRUE(v->Set("highlights", key, i).ok());
    if (i % 3 == 0) expected.insert(key);
  }
  ASSERT_TRUE(v->Set("other", "part1/x", 0).ok());
  std::set<std::string> seen;
  std::optional<std::string> cursor;
  int pages = 0;
  do {
    std::optional<std::string_view> c;
    if (cursor) c = *cursor;
    auto page = v->List("highlights", "part1/", c, 7);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->items.size(), 7u);
    for (const auto& item : page->items) {
      EXPECT_TRUE(seen.insert(item.key).second) << "duplicate " << item.key;
      EXPECT_GT(item.revision, 0);
    }
    cursor = page->cursor;
    ASSERT_LT(++pages, 100);
  } while (cursor);
  EXPECT_EQ(seen, expected);
}

// Even with 1000 long names that escape to 6 bytes per byte, one page of
// JSON stays far below the 1 MiB message limit.
TEST(Vault, ListPageFitsInOneMessage) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  for (int i = 0; i < 400; ++i) {
    std::string key(500, '\x01');
    key += std::to_string(i);
    ASSERT_TRUE(v->Set("notes", key, 0).ok());
  }
  auto page = v->List("notes", "", std::nullopt, 1000);
  ASSERT_TRUE(page.ok());
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : page->items) items.push_back({{"key", item.key}, {"revision", item.revision}});
  EXPECT_LT(items.dump().size(), kListPageBudgetBytes + 8 * 1024);
  EXPECT_TRUE(page->cursor.has_value());
  EXPECT_LT(page->items.size(), 400u);
}

// A garbage cursor is a parameter error, not a crash or a full scan.
TEST(Vault, RejectsMalformedCursor) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(v->List("notes", "", std::string_view("zz"), 10).status().code(), ErrorCode::kInvalidParams);
}

// Clear removes one namespace and reports how many records went.
TEST(Vault, ClearDeletesOnlyItsNamespace) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(v->Set("bookmarks", "b" + std::to_string(i), i).ok());
  ASSERT_TRUE(v->Set("notes", "keep", 1).ok());
  auto n = v->Clear("bookmarks");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(v->Get("bookmarks", "b1").status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(v->Get("notes", "keep").ok());
  EXPECT_EQ(v->GetStatus()->record_count, 1u);
}

// The directory is 0700 and every file the vault writes is 0600.
TEST(Vault, FilesArePrivate) {
  TempDir dir;
  auto data = dir.path() / "bellwether";
  auto v = OpenVault(TestOptions(data));
  ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  auto mode = [](const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode(data), 0700u);
  EXPECT_EQ(mode(data / "vault.db"), 0600u);
  EXPECT_EQ(mode(data / "vault.db-wal"), 0600u);
  EXPECT_EQ(mode(data / "vault.db-shm"), 0600u);
  EXPECT_EQ(mode(data / "vault.key"), 0600u);
}

// Neither record names nor values reach the disk in the clear.
TEST(Vault, DiskHoldsNoPlaintext) {
  TempDir dir;
  const std::string secret_name = "NAME-7f3a-tariff-memo";
  const std::string secret_value = "VALUE-91cc-private-note-about-rice";
  {
    auto v = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(v->Set("notes", secret_name, secret_value).ok());
    // Check the WAL while it still holds the write.
    std::string wal = ReadFile(dir.path() / "vault.db-wal");
    EXPECT_GT(wal.size(), 0u);
    EXPECT_EQ(wal.find(secret_value), std::string::npos);
    EXPECT_EQ(wal.find(secret_name), std::string::npos);
  }
  std::string db = ReadFile(dir.path() / "vault.db");
  EXPECT_GT(db.size(), 0u);
  EXPECT_EQ(db.find(secret_value), std::string::npos);
  EXPECT_EQ(db.find(secret_name), std::string::npos);
}

// Status reports the real state: uninitialized, then unlocked with counts.
TEST(Vault, StatusReportsStateAndCounts) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  auto before = v->GetStatus();
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->state, VaultState::kUninitialized);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "vault.key"));  // Status creates no key.
  ASSERT_TRUE(v->Set("notes", "a", "x").ok());
  auto after = v->GetStatus();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, VaultState::kUnlocked);
  EXPECT_EQ(after->key_source, KeySource::kKeyFile);
  EXPECT_EQ(after->record_count, 1u);
  EXPECT_TRUE(after->key_created.has_value());
  EXPECT_FALSE(after->last_rotation.has_value());
  EXPECT_FALSE(after->passphrase_set);
  EXPECT_EQ(after->path, dir.path() / "vault.db");
}

// Settings are WAL with synchronous=FULL (durability is part of the spec).
TEST(Vault, UsesWriteAheadLog) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  RawDb raw(dir.path() / "vault.db");
  EXPECT_EQ(raw.IntegrityCheck(), "ok");
  EXPECT_EQ(raw.Text("PRAGMA journal_mode", 0), "wal");  // Stored in the file.
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "vault.db-wal"));
  // Per connection, so asked of the vault's own: fsync at every commit, and
  // a busy timeout so concurrent hosts wait instead of failing.
  auto synchronous = v->PragmaForTesting("synchronous");
  auto busy_timeout = v->PragmaForTesting("busy_timeout");
  ASSERT_TRUE(synchronous.ok() && busy_timeout.ok());
  EXPECT_EQ(*synchronous, 2) << "synchronous=FULL";
  EXPECT_GE(*busy_timeout, 1000);
  EXPECT_EQ(v->PragmaForTesting("x; DROP TABLE records").status().code(), ErrorCode::kInvalidParams);
}

// A vault from before the name memos existed gets them on open (a dropped
// memo trigger too) and loses the covering list index earlier hosts made,
// keeps its records, and lists in MAC order from the UNIQUE index without a
// sort (SQLite's plan names it).
TEST(Vault, OlderVaultGainsMemosAndDropsTheOldListIndexOnOpen) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(v->Set("notes", "a", 1).ok());
    ASSERT_TRUE(v->Set("notes", "b", 2).ok());
  }
  const std::string memos =
      "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('name_memos', 'records_insert_memo', "
      "'records_update_memo', 'records_delete_memo')";
  const std::string list_index = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'records_list'";
  {
    RawDb raw(dir.path() / "vault.db");
    EXPECT_EQ(raw.Int(list_index), 0) << "a new vault has no covering list index";
    raw.Exec("CREATE INDEX records_list ON records (ns, name_mac, key_id, revision, name_blob)");
    raw.Exec("DROP TABLE name_memos");
    raw.Exec("DROP TRIGGER records_insert_memo");
    raw.Exec("DROP TRIGGER records_update_memo");
    raw.Exec("DROP TRIGGER records_delete_memo");
    EXPECT_EQ(raw.Int(memos), 0);
  }
  auto v = OpenVault(TestOptions(dir.path()));
  auto page = v->List("notes", "", std::nullopt, 10);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->items.size(), 2u);
  RawDb raw(dir.path() / "vault.db");
  EXPECT_EQ(raw.Int(memos), 4);
  EXPECT_EQ(raw.Int(list_index), 0);
  {
    RawDb again(dir.path() / "vault.db");
    again.Exec("DROP TRIGGER records_update_memo");
  }
  EXPECT_TRUE(OpenVault(TestOptions(dir.path()))->Set("notes", "c", 3).ok());
  EXPECT_EQ(raw.Int(memos), 4) << "a dropped trigger comes back";
  {
    RawDb again(dir.path() / "vault.db");
    again.Exec("CREATE INDEX records_list ON records (ns, name_mac, key_id, revision, name_blob)");
  }
  EXPECT_TRUE(OpenVault(TestOptions(dir.path()))->Get("notes", "c").ok());
  EXPECT_EQ(raw.Int(list_index), 0) << "the old index is dropped whenever it is found";
  EXPECT_EQ(raw.IntegrityCheck(), "ok");
  const std::string plan = raw.Text(
      "EXPLAIN QUERY PLAN SELECT name_mac, key_id, revision, name_blob FROM records "
      "WHERE ns = 'notes' AND name_mac > x'' ORDER BY name_mac LIMIT 256",
      3);
  EXPECT_NE(plan.find("USING INDEX sqlite_autoindex_records_1"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << "no sort: " << plan;
}

// A vault that needs nothing put right opens without writing, so it opens
// and reads while another connection holds the write lock; one that still
// carries the old list index too (the index is dropped later, by an open
// that finds the file free).
TEST(Vault, CurrentVaultOpensAndReadsWhileAnotherConnectionWrites) {
  TempDir dir;
  auto options = TestOptions(dir.path());
  options.busy_timeout_ms = 200;
  ASSERT_TRUE(OpenVault(options)->Set("notes", "a", 1).ok());
  const std::string list_index = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'records_list'";
  for (bool old_index : {false, true}) {
    RawDb writer(dir.path() / "vault.db");
    if (old_index)
      writer.Exec("CREATE INDEX records_list ON records (ns, name_mac, key_id, revision, name_blob)");
    writer.Exec("BEGIN IMMEDIATE");
    auto v = Vault::Open(options);
    ASSERT_TRUE(v.ok()) << (old_index ? "old index: " : "") << v.status().ToString();
    auto got = (*v)->Get("notes", "a");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->value, 1);
    EXPECT_EQ(writer.Int(list_index), old_index ? 1 : 0);
    writer.Exec("COMMIT");
  }
  ASSERT_TRUE(Vault::Open(options).ok());
  EXPECT_EQ(RawDb(dir.path() / "vault.db").Int(list_index), 0) << "dropped once the file was free";
}

}  // namespace
}  // namespace bellwether::vault

namespace bellwether::vault {
namespace {

// A vault written by a newer format is refused with a clear error, not
// misread.
TEST(Vault, RefusesNewerFormatVersion) {
  testing::TempDir dir;
  {
    auto v = Vault::Open(testing::TestOptions(dir.path()));
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE((*v)->Set("notes", "a", 1).ok());
  }
  {
    testing::RawDb raw(dir.path() / "vault.db");
    raw.Exec("UPDATE meta SET v = 2 WHERE k = 'format_version'");
  }
  auto v = Vault::Open(testing::TestOptions(dir.path()));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kStorage);
  EXPECT_NE(v.status().message().find("format version 2"), std::string::npos);
}

}  // namespace
}  // namespace bellwether::vault
