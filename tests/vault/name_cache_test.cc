// The vault's per-process memory of name MACs and opened names
// (vault/name_cache.h): a hit needs every input to match, it stays within
// its bound, and remembering never hides tampering from a later read.
#include "vault/name_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "test_util.h"
#include "vault/vault.h"

namespace bellwether::vault {
namespace {

using testing::OpenVault;
using testing::RawDb;
using testing::TempDir;
using testing::TestOptions;
using testing::B;
using Bytes = std::vector<std::uint8_t>;

NameCache::Mac MacOf(std::uint8_t fill) {
  NameCache::Mac m;
  m.fill(fill);
  return m;
}

TEST(NameCache, RemembersMacsByExactInput) {
  NameCache cache;
  const Bytes a = B("\x05notesa"), b = B("\x05notesb");
  EXPECT_EQ(cache.FindMac(a), nullptr);
  cache.PutMac(a, MacOf(1));
  ASSERT_NE(cache.FindMac(a), nullptr);
  EXPECT_EQ(*cache.FindMac(a), MacOf(1));
  EXPECT_EQ(cache.FindMac(b), nullptr);
}

TEST(NameCache, OpenedNameNeedsEveryInputToMatch) {
  NameCache cache;
  const Bytes mac(32, 7), blob = B("sealed-bytes"), other_mac(32, 8), other_blob = B("sealed-bytez");
  const NameCache::NameRow row{"notes", mac, 3, 100, blob};
  cache.PutName(row, "section-1/note");
  ASSERT_TRUE(cache.FindName(row).has_value());
  EXPECT_EQ(*cache.FindName(row), "section-1/note");

  // Each input of the associated data, the bytes and the row are checked.
  auto changed = row;
  changed.ns = "bookmarks";
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "other namespace";
  changed = row;
  changed.mac = other_mac;
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "other MAC";
  changed = row;
  changed.key_id = 4;
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "other key";
  changed = row;
  changed.revision = 101;
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "other revision";
  changed = row;
  changed.blob = other_blob;
  EXPECT_FALSE(cache.FindName(changed).has_value()) << "other bytes";

  // A row that moved on replaces what the cache held for it.
  auto next = row;
  next.revision = 101;
  next.blob = other_blob;
  cache.PutName(next, "section-1/note");
  EXPECT_FALSE(cache.FindName(row).has_value());
  EXPECT_TRUE(cache.FindName(next).has_value());
}

// A row whose MAC has the wrong length (a damaged row) is never remembered.
TEST(NameCache, ForgetsRowsWithImpossibleMacs) {
  NameCache cache;
  const Bytes short_mac(31, 7), blob = B("sealed-bytes");
  cache.PutName({"notes", short_mac, 1, 1, blob}, "a");
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_FALSE(cache.FindName({"notes", short_mac, 1, 1, blob}).has_value());
}

TEST(NameCache, ClearForgetsEverything) {
  NameCache cache;
  const Bytes input = B("\x05notesa"), mac(32, 1), blob = B("x");
  cache.PutMac(input, MacOf(2));
  cache.PutName({"notes", mac, 1, 1, blob}, "a");
  EXPECT_EQ(cache.entries(), 2u);
  cache.Clear();
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.FindMac(input), nullptr);
  EXPECT_FALSE(cache.FindName({"notes", mac, 1, 1, blob}).has_value());
}

TEST(NameCache, StaysWithinItsBound) {
  // 4 KiB of room: a thousand names never take more than that.
  NameCache cache(4096);
  const Bytes blob(60, 1);
  for (int i = 0; i < 1000; ++i) {
    const std::string name = "section-" + std::to_string(i) + "/note";
    Bytes mac(32, 9);
    mac[0] = static_cast<std::uint8_t>(i);
    mac[1] = static_cast<std::uint8_t>(i >> 8);
    cache.PutName({"notes", mac, 1, i, blob}, name);
    cache.PutMac(B("\x05notes" + name), MacOf(static_cast<std::uint8_t>(i)));
    ASSERT_LE(cache.bytes(), 4096u) << i;
  }
  EXPECT_GT(cache.entries(), 0u);
}

// The bound counts the slot array too: filling a cache of 256 KiB with
// names keeps bytes() (all it holds, table included) within it throughout.
TEST(NameCache, BoundIncludesTheTable) {
  NameCache cache(256 * 1024);
  const Bytes blob(40, 5);
  std::size_t most = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes mac(32, 0);
    for (int b = 0; b < 4; ++b) mac[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(i >> (8 * b));
    cache.PutName({"notes", mac, 1, i, blob}, "section-" + std::to_string(i));
    ASSERT_LE(cache.bytes(), 256u * 1024) << i;
    most = std::max(most, cache.entries());
  }
  EXPECT_GT(most, 500u) << "the cache remembered names at all";
}

// Thousands of names, many sharing the MAC bytes the table hashes on (so
// they collide and probe), are each found under their own MAC and no other,
// through every growth of the table; a replaced row keeps one entry.
TEST(NameCache, FindsEveryNameThroughCollisionsAndGrowth) {
  NameCache cache;
  const Bytes blob(40, 3);
  auto mac_of = [](int i) {
    Bytes mac(32, 0);
    mac[0] = static_cast<std::uint8_t>(i % 4);  // Hash bytes: four values only.
    mac[8] = static_cast<std::uint8_t>(i);
    mac[9] = static_cast<std::uint8_t>(i >> 8);
    return mac;
  };
  const int n = 3000;
  for (int i = 0; i < n; ++i) cache.PutName({"notes", mac_of(i), 1, i, blob}, "name-" + std::to_string(i));
  EXPECT_EQ(cache.entries(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto found = cache.FindName({"notes", mac_of(i), 1, i, blob});
    ASSERT_TRUE(found.has_value()) << i;
    EXPECT_EQ(*found, "name-" + std::to_string(i));
    EXPECT_FALSE(cache.FindName({"notes", mac_of(i), 1, i + 1, blob}).has_value()) << i;
  }
  cache.PutName({"notes", mac_of(5), 2, n + 5, blob}, "renamed");
  EXPECT_EQ(cache.entries(), static_cast<std::size_t>(n));
  EXPECT_FALSE(cache.FindName({"notes", mac_of(5), 1, 5, blob}).has_value());
  EXPECT_EQ(*cache.FindName({"notes", mac_of(5), 2, n + 5, blob}), "renamed");
}

// Names swapped between two rows after both were listed are refused: the
// cache matches a blob to its own row only.
TEST(NameCache, WarmVaultRejectsNamesSwappedBetweenRows) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  ASSERT_TRUE(v->Set("notes", "b", 2).ok());
  ASSERT_EQ(v->List("notes", "", std::nullopt, 10)->items.size(), 2u);  // Warm.
  RawDb raw(dir.path() / "vault.db");
  const auto first = raw.Blob("SELECT name_blob FROM records ORDER BY id LIMIT 1");
  const auto second = raw.Blob("SELECT name_blob FROM records ORDER BY id DESC LIMIT 1");
  raw.SetBlob("UPDATE records SET name_blob = ? WHERE id = (SELECT MIN(id) FROM records)", second);
  raw.SetBlob("UPDATE records SET name_blob = ? WHERE id = (SELECT MAX(id) FROM records)", first);
  EXPECT_EQ(v->List("notes", "", std::nullopt, 10).status().code(), ErrorCode::kIntegrity);
}

// Listing sees renames, deletes and new records at once, warm or not.
TEST(NameCache, WarmListFollowsChanges) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  ASSERT_TRUE(v->Set("notes", "b", 1).ok());
  ASSERT_EQ(v->List("notes", "", std::nullopt, 10)->items.size(), 2u);
  ASSERT_TRUE(v->Delete("notes", "a").ok());
  ASSERT_TRUE(v->Set("notes", "c", 1).ok());
  auto rev_b = v->Set("notes", "b", 2);
  ASSERT_TRUE(rev_b.ok());
  auto page = v->List("notes", "", std::nullopt, 10);
  ASSERT_TRUE(page.ok());
  std::vector<std::string> keys;
  for (const auto& item : page->items) {
    keys.push_back(item.key);
    if (item.key == "b") {
      EXPECT_EQ(item.revision, *rev_b);
    }
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "c"}));
}

// The vault does remember (a list fills the cache, a second list adds
// nothing), and forgets everything when it locks or retires a key.
TEST(NameCache, VaultRemembersUntilLockOrRotation) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  ASSERT_TRUE(v->Set("notes", "b", 2).ok());
  // Two MACs, and the two names this process sealed.
  EXPECT_EQ(v->NameCacheEntriesForTesting(), 4u);
  ASSERT_EQ(v->List("notes", "", std::nullopt, 10)->items.size(), 2u);
  EXPECT_EQ(v->NameCacheEntriesForTesting(), 4u);  // Hits: nothing new.
  ASSERT_EQ(v->List("notes", "", std::nullopt, 10)->items.size(), 2u);
  EXPECT_EQ(v->NameCacheEntriesForTesting(), 4u);  // Hits: nothing new.

  v->Lock();
  EXPECT_EQ(v->NameCacheEntriesForTesting(), 0u);
  ASSERT_EQ(v->List("notes", "", std::nullopt, 10)->items.size(), 2u);
  EXPECT_EQ(v->NameCacheEntriesForTesting(), 2u);
  ASSERT_TRUE(v->RotateKey().ok());
  EXPECT_EQ(v->NameCacheEntriesForTesting(), 0u);
}

// A row written back with its columns from before a rotation (old key id,
// old sealed name) does not list from memory: its key is retired, so the
// bytes no longer open, remembered or not.
TEST(NameCache, RowRolledBackAcrossRotationIsRefusedWarm) {
  TempDir dir;
  auto v = OpenVault(TestOptions(dir.path()));
  ASSERT_TRUE(v->Set("notes", "a", 1).ok());
  ASSERT_TRUE(v->List("notes", "", std::nullopt, 10).ok());  // Remembered.
  RawDb raw(dir.path() / "vault.db");
  const auto old_name = raw.Blob("SELECT name_blob FROM records");
  const std::int64_t old_key = raw.Int("SELECT key_id FROM records");
  ASSERT_TRUE(v->RotateKey().ok());
  ASSERT_NE(raw.Int("SELECT key_id FROM records"), old_key);
  raw.SetBlob("UPDATE records SET name_blob = ?, key_id = " + std::to_string(old_key), old_name);
  EXPECT_EQ(v->List("notes", "", std::nullopt, 10).status().code(), ErrorCode::kIntegrity);
}

}  // namespace
}  // namespace bellwether::vault
