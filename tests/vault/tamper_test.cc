// Tampering with what is on disk is detected with a clear error: never
// garbage, never a crash.
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>

#include "test_util.h"
#include "vault/vault.h"

namespace bellwether::vault {
namespace {

using testing::RawDb;
using testing::TempDir;
using testing::OpenVault;
using testing::TestOptions;


constexpr char kRowA[] = "SELECT value_blob FROM records WHERE revision = (SELECT MIN(revision) FROM records)";

// Flipping any single byte of a sealed value (header, nonce, ciphertext or
// tag) makes the read fail with kIntegrity.
TEST(VaultTamper, EveryByteFlipOfValueIsDetected) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", "a private note of some length").ok());
  RawDb raw(dir.path() / "vault.db");
  const auto original = raw.Blob("SELECT value_blob FROM records");
  ASSERT_GT(original.size(), 40u);
  for (std::size_t i = 0; i < original.size(); ++i) {
    auto bad = original;
    bad[i] ^= 0x5a;
    raw.SetBlob("UPDATE records SET value_blob = ?", bad);
    auto got = v->Get("notes", "a");
    ASSERT_FALSE(got.ok()) << "byte " << i << " flipped and still opened";
    EXPECT_EQ(got.status().code(), ErrorCode::kIntegrity) << i << " " << got.status().ToString();
    // Nothing unauthenticated is left where the value was opened.
    EXPECT_TRUE(v->ValueBufferForTesting().all_zero) << i;
  }
  raw.SetBlob("UPDATE records SET value_blob = ?", original);
  EXPECT_EQ(v->Get("notes", "a")->value, "a private note of some length");
}

// A read opens its value into a buffer the vault keeps (sized to the
// largest value read); between reads it holds zeros, whether the read
// succeeded or not, and a stored blob over the value limit (damage, or a
// foreign row) is opened elsewhere rather than growing it.
TEST(VaultTamper, ValueBufferHoldsNoPlaintextBetweenReads) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  const std::string note(3000, 'q');
  ASSERT_TRUE(v->Set("notes", "long", note).ok());
  ASSERT_TRUE(v->Set("notes", "short", "brief").ok());
  EXPECT_EQ(v->Get("notes", "long")->value, note);
  const auto after_long = v->ValueBufferForTesting();
  EXPECT_GE(after_long.size, note.size() + 2);  // The JSON string's quotes.
  EXPECT_TRUE(after_long.all_zero);
  EXPECT_EQ(v->Get("notes", "short")->value, "brief");
  EXPECT_EQ(v->ValueBufferForTesting().size, after_long.size);  // Kept, not reallocated.
  EXPECT_TRUE(v->ValueBufferForTesting().all_zero);

  RawDb raw(dir.path() / "vault.db");
  const auto original = raw.Blob("SELECT value_blob FROM records WHERE length(value_blob) < 100");
  auto oversized = original;
  oversized.resize(kMaxValueBytes + 4096, 0x33);  // Header and nonce intact, then junk.
  raw.SetBlob("UPDATE records SET value_blob = ? WHERE length(value_blob) < 100", oversized);
  EXPECT_EQ(v->Get("notes", "short").status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(v->ValueBufferForTesting().size, after_long.size);
  EXPECT_TRUE(v->ValueBufferForTesting().all_zero);
  raw.SetBlob("UPDATE records SET value_blob = ? WHERE length(value_blob) > 100000", original);
  EXPECT_EQ(v->Get("notes", "short")->value, "brief");
  EXPECT_EQ(v->Get("notes", "long")->value, note);

  // Locking releases it along with the keys.
  v->Lock();
  EXPECT_EQ(v->ValueBufferForTesting().size, 0u);
}

// Flips each byte of the only record's sealed name in turn: every list
// must fail with kIntegrity; then the original lists again.
void ExpectEveryNameByteFlipDetected(Vault& v, RawDb& raw, const std::string& name) {
  const auto original = raw.Blob("SELECT name_blob FROM records");
  for (std::size_t i = 0; i < original.size(); ++i) {
    auto bad = original;
    bad[i] ^= 0x01;
    raw.SetBlob("UPDATE records SET name_blob = ?", bad);
    auto page = v.List("notes", "", std::nullopt, 10);
    ASSERT_FALSE(page.ok()) << "byte " << i << " flipped and the name still came back";
    EXPECT_EQ(page.status().code(), ErrorCode::kIntegrity) << i;
  }
  raw.SetBlob("UPDATE records SET name_blob = ?", original);
  auto page = v.List("notes", "", std::nullopt, 10);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].key, name);
}

// Flipping any byte of a sealed record name is detected when listing.
TEST(VaultTamper, EveryByteFlipOfNameIsDetected) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "section-4/para-2", 1).ok());
  RawDb raw(dir.path() / "vault.db");
  ExpectEveryNameByteFlipDetected(*v, raw, "section-4/para-2");
}

// The same after a list has filled the vault's memory of opened names
// (vault/name_cache.h): what it remembers never hides a changed byte.
TEST(VaultTamper, EveryByteFlipOfARememberedNameIsDetected) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "section-4/para-2", 1).ok());
  ASSERT_TRUE(v->List("notes", "", std::nullopt, 10).ok());  // Remembered.
  RawDb raw(dir.path() / "vault.db");
  ExpectEveryNameByteFlipDetected(*v, raw, "section-4/para-2");
}

// Every truncation of a sealed value is detected.
TEST(VaultTamper, TruncatedBlobsAreDetected) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", "truncate me").ok());
  RawDb raw(dir.path() / "vault.db");
  const auto original = raw.Blob("SELECT value_blob FROM records");
  for (std::size_t len = 0; len < original.size(); ++len) {
    std::vector<std::uint8_t> cut(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(len));
    raw.SetBlob("UPDATE records SET value_blob = ?", cut);
    EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kIntegrity) << len;
  }
  raw.SetBlob("UPDATE records SET value_blob = ?", original);
  // The same for the sealed name, which only a listing opens.
  const auto name = raw.Blob("SELECT name_blob FROM records");
  for (std::size_t len = 0; len < name.size(); ++len) {
    std::vector<std::uint8_t> cut(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(len));
    raw.SetBlob("UPDATE records SET name_blob = ?", cut);
    EXPECT_EQ(v->List("notes", "", std::nullopt, 10).status().code(), ErrorCode::kIntegrity) << len;
  }
  raw.SetBlob("UPDATE records SET name_blob = ?", name);
  EXPECT_EQ(v->List("notes", "", std::nullopt, 10)->items.at(0).key, "a");
}

// A value moved to another record's row does not open there.
TEST(VaultTamper, RejectsBlobSwappedBetweenRows) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", "value of a").ok());
  ASSERT_TRUE(v->Set("notes", "b", "value of b").ok());
  RawDb raw(dir.path() / "vault.db");
  auto a = raw.Blob(kRowA);
  // Move a's value (and its revision, so only the place differs) onto b.
  std::int64_t rev_a = raw.Int("SELECT MIN(revision) FROM records");
  raw.SetBlob("UPDATE records SET value_blob = ?, revision = " + std::to_string(rev_a) +
                  " WHERE revision = (SELECT MAX(revision) FROM records)",
              a);
  EXPECT_EQ(v->Get("notes", "b").status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(v->Get("notes", "a")->value, "value of a");
}

// The same record name in another namespace is another place.
TEST(VaultTamper, RejectsRowMovedToAnotherNamespace) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", "in notes").ok());
  RawDb raw(dir.path() / "vault.db");
  raw.Exec("UPDATE records SET ns = 'bookmarks'");
  // The MAC differs per namespace, so the lookup misses (the row is simply
  // not there under that name); a listing, which reads the moved row, fails
  // its AAD check. Either way no value comes back.
  EXPECT_EQ(v->Get("bookmarks", "a").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(v->List("bookmarks", "", std::nullopt, 10).status().code(), ErrorCode::kIntegrity);
}

// A value from another vault does not open here, even under the same name.
TEST(VaultTamper, RejectsBlobSwappedBetweenVaults) {
  TempDir one, two;
  auto v1 = OpenVault(TestOptions(one.path()));
  auto v2 = OpenVault(TestOptions(two.path()));
  ASSERT_TRUE(v1->Set("notes", "a", "vault one").ok());
  ASSERT_TRUE(v2->Set("notes", "a", "vault two").ok());
  RawDb r1(one.path() / "vault.db"), r2(two.path() / "vault.db");
  r1.SetBlob("UPDATE records SET value_blob = ?", r2.Blob("SELECT value_blob FROM records"));
  EXPECT_EQ(v1->Get("notes", "a").status().code(), ErrorCode::kIntegrity);
}

// Replaying an older sealed value under the current revision is detected
// (the revision is bound into the associated data).
TEST(VaultTamper, RejectsOlderBlobReplayedAtNewRevision) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", "old").ok());
  RawDb raw(dir.path() / "vault.db");
  auto old_blob = raw.Blob("SELECT value_blob FROM records");
  ASSERT_TRUE(v->Set("notes", "a", "new").ok());
  raw.SetBlob("UPDATE records SET value_blob = ?", old_blob);
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kIntegrity);
}

// Editing the revision or key-id columns is detected.
TEST(VaultTamper, RejectsEditedRevisionOrKeyId) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", "x").ok());
  RawDb raw(dir.path() / "vault.db");
  raw.Exec("UPDATE records SET revision = revision + 100");
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kIntegrity);
  raw.Exec("UPDATE records SET revision = revision - 100, key_id = 7");
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kIntegrity);
  raw.Exec("UPDATE records SET key_id = 1");
  EXPECT_EQ(v->Get("notes", "a")->value, "x");
}

// A tampered wrapped data key or wrapped root key is detected.
TEST(VaultTamper, RejectsTamperedWrappedKeys) {
  TempDir dir;
  {
    auto v = OpenVault(TestOptions(dir.path()));
    ASSERT_TRUE(v->Set("notes", "a", "x").ok());
  }
  {
    RawDb raw(dir.path() / "vault.db");
    auto wrapped = raw.Blob("SELECT wrapped FROM keys WHERE key_id = 1");
    wrapped[20] ^= 1;
    raw.SetBlob("UPDATE keys SET wrapped = ? WHERE key_id = 1", wrapped);
  }
  {
    auto v = OpenVault(TestOptions(dir.path()));
    EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kIntegrity);
  }
  {
    RawDb raw(dir.path() / "vault.db");
    auto root = raw.Blob("SELECT v FROM meta WHERE k = 'root_wrap'");
    root[root.size() - 1] ^= 1;
    raw.SetBlob("UPDATE meta SET v = ? WHERE k = 'root_wrap'", root);
  }
  auto v = OpenVault(TestOptions(dir.path()));
  EXPECT_EQ(v->Get("notes", "a").status().code(), ErrorCode::kIntegrity);
}

// Fills a vault, closes it, and returns the values written.
std::map<std::string, std::string> FillAndClose(const std::filesystem::path& dir) {
  std::map<std::string, std::string> values;
  auto v = OpenVault(TestOptions(dir));
  for (int i = 0; i < 200; ++i) {
    std::string key = "k" + std::to_string(i);
    values[key] = std::string(static_cast<std::size_t>(100 + i * 10), static_cast<char>('a' + i % 26));
    EXPECT_TRUE(v->Set("notes", key, values[key]).ok());
  }
  return values;
}

// Opening and reading a damaged file: each read is the right value or a
// storage/integrity error. Returns how many reads failed.
int ReadAllExpectingNoGarbage(const std::filesystem::path& dir, const std::map<std::string, std::string>& values) {
  auto opened = Vault::Open(TestOptions(dir));
  if (!opened.ok()) {
    EXPECT_TRUE(opened.status().code() == ErrorCode::kIntegrity || opened.status().code() == ErrorCode::kStorage)
        << opened.status().ToString();
    return static_cast<int>(values.size());
  }
  int failures = 0;
  for (const auto& [key, value] : values) {
    auto got = (*opened)->Get("notes", key);
    if (got.ok()) {
      EXPECT_EQ(got->value, value) << "garbage returned for " << key;
    } else {
      ++failures;
      EXPECT_TRUE(got.status().code() == ErrorCode::kIntegrity || got.status().code() == ErrorCode::kStorage ||
                  got.status().code() == ErrorCode::kNotFound || got.status().code() == ErrorCode::kVaultLocked)
          << got.status().ToString();
    }
  }
  return failures;
}

// A truncated database file gives clear errors at every size we try.
TEST(VaultTamper, TruncatedDatabaseFileGivesClearErrors) {
  TempDir dir;
  auto values = FillAndClose(dir.path());
  const auto db = dir.path() / "vault.db";
  ASSERT_FALSE(std::filesystem::exists(dir.path() / "vault.db-wal") &&
               std::filesystem::file_size(dir.path() / "vault.db-wal") > 0)
      << "expected a checkpointed database after close";
  const auto full = std::filesystem::file_size(db);
  const std::string pristine = testing::ReadFile(db);
  for (std::uintmax_t size : {full / 2, full / 4, std::uintmax_t{4096 + 100}, std::uintmax_t{100}}) {
    SCOPED_TRACE("truncated to " + std::to_string(size));
    {
      std::ofstream out(db, std::ios::binary | std::ios::trunc);
      out.write(pristine.data(), static_cast<std::streamsize>(pristine.size()));
    }
    std::filesystem::remove(dir.path() / "vault.db-wal");
    std::filesystem::remove(dir.path() / "vault.db-shm");
    ASSERT_EQ(::truncate(db.c_str(), static_cast<off_t>(size)), 0);
    EXPECT_GT(ReadAllExpectingNoGarbage(dir.path(), values), 0);
  }
}

// Random garbage written over pages of the file gives clear errors or the
// right values, never wrong ones.
TEST(VaultTamper, CorruptedDatabasePagesGiveClearErrors) {
  TempDir dir;
  auto values = FillAndClose(dir.path());
  const auto db = dir.path() / "vault.db";
  const std::string pristine = testing::ReadFile(db);
  std::mt19937 rng(1234);
  int total_failures = 0;
  for (int round = 0; round < 12; ++round) {
    std::string damaged = pristine;
    std::uniform_int_distribution<std::size_t> pos(0, damaged.size() - 64);
    std::size_t at = round == 0 ? 0 : pos(rng);  // Round 0 hits the header.
    for (std::size_t i = 0; i < 64; ++i) damaged[at + i] = static_cast<char>(rng());
    {
      std::ofstream out(db, std::ios::binary | std::ios::trunc);
      out.write(damaged.data(), static_cast<std::streamsize>(damaged.size()));
    }
    std::filesystem::remove(dir.path() / "vault.db-wal");
    std::filesystem::remove(dir.path() / "vault.db-shm");
    total_failures += ReadAllExpectingNoGarbage(dir.path(), values);
  }
  EXPECT_GT(total_failures, 0);
}

}  // namespace
}  // namespace bellwether::vault
