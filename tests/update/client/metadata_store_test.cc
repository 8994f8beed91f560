// Trusted metadata on disk: unversioned names, encoded role names, atomic.
#include "update/metadata_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/https_server.h"

namespace bellwether::update {
namespace {

namespace fs = std::filesystem;

// Files are named after the role, without version (spec 5.3.8, 5.4.5 ...).
TEST(MetadataStore, UsesUnversionedFileNames) {
  EXPECT_EQ(MetadataStore::FileName("root"), "root.json");
  EXPECT_EQ(MetadataStore::FileName("timestamp"), "timestamp.json");
}

// A delegated role name cannot escape the directory.
TEST(MetadataStore, EncodesRoleNamesThatLookLikePaths) {
  EXPECT_EQ(MetadataStore::FileName("a/b"), "a%2Fb.json");
  EXPECT_EQ(MetadataStore::FileName("../../etc/passwd").find('/'), std::string::npos);
}

// Bytes come back exactly as stored; Remove is idempotent.
TEST(MetadataStore, StoresBytesExactlyAndRemoves) {
  auto dir = testing::TempDir::Create();
  ASSERT_TRUE(dir.ok());
  MetadataStore store((*dir)->path());
  const std::string bytes = "{\"signed\": {},\n \"signatures\": []}\r\n\x01";
  ASSERT_TRUE(store.Store("snapshot", bytes).ok());
  auto loaded = store.Load("snapshot", 1000);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ(**loaded, bytes);
  ASSERT_TRUE(store.Remove("snapshot").ok());
  ASSERT_TRUE(store.Remove("snapshot").ok());
  loaded = store.Load("snapshot", 1000);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

// Opening a store deletes temporary files an interrupted write left behind.
TEST(MetadataStore, CleansTemporaryLeftoversOnOpen) {
  auto dir = testing::TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const fs::path leftover = (*dir)->path() / ".timestamp.json.tmp-Ab12Cd";
  { std::ofstream(leftover) << "partial"; }
  MetadataStore store((*dir)->path());
  EXPECT_FALSE(fs::exists(leftover));
}

// Pruning deletes only delegated roles outside the kept set: never a
// top-level role, never a file that is not a role's (the directory may be
// one a person chose, with JSON of their own in it).
TEST(MetadataStore, RemovesOnlyDelegatedRolesNotKept) {
  auto dir = testing::TempDir::Create();
  ASSERT_TRUE(dir.ok());
  MetadataStore store((*dir)->path());
  const std::string targets_metadata = R"({"signed":{"_type":"targets","spec_version":"1.0.34","version":1,)"
                                       R"("expires":"2030-01-01T00:00:00Z","targets":{}},"signatures":[]})";
  for (const char* role : {"root", "timestamp", "snapshot", "targets", "a/b", "kept", "gone"}) {
    ASSERT_TRUE(store.Store(role, targets_metadata).ok()) << role;
  }
  { std::ofstream((*dir)->path() / "notes.txt") << "not metadata"; }
  { std::ofstream((*dir)->path() / "settings.json") << R"({"theme":"dark"})"; }
  { std::ofstream((*dir)->path() / "other.json") << R"({"signed":{"_type":"snapshot"},"signatures":[]})"; }
  auto removed = store.RemoveDelegatedRolesExcept({"kept"});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 2);
  for (const char* role : {"root", "timestamp", "snapshot", "targets", "kept"}) {
    EXPECT_TRUE(fs::exists(store.PathFor(role))) << role;
  }
  EXPECT_FALSE(fs::exists(store.PathFor("a/b")));
  EXPECT_FALSE(fs::exists(store.PathFor("gone")));
  EXPECT_TRUE(fs::exists((*dir)->path() / "notes.txt"));
  EXPECT_TRUE(fs::exists((*dir)->path() / "settings.json"));
  EXPECT_TRUE(fs::exists((*dir)->path() / "other.json"));
}

}  // namespace
}  // namespace bellwether::update
