// Atomic file replacement used for trusted metadata, downloads and state.
#include "common/file_util.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/https_server.h"

namespace bellwether {
namespace {

namespace fs = std::filesystem;

int CountEntries(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
  return n;
}

// A write replaces the file and leaves no temporary file behind.
TEST(FileUtil, WriteFileAtomicallyReplacesWithoutLeftovers) {
  auto dir = testing::TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const fs::path file = (*dir)->path() / "root.json";
  ASSERT_TRUE(WriteFileAtomically(file, "one").ok());
  ASSERT_TRUE(WriteFileAtomically(file, "two").ok());
  auto read = ReadFileIfExists(file, 100);
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, "two");
  EXPECT_EQ(CountEntries((*dir)->path()), 1);
}

// An abandoned (uncommitted) download leaves the old file and no temp file.
TEST(FileUtil, UncommittedTempFileLeavesPreviousFile) {
  auto dir = testing::TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const fs::path file = (*dir)->path() / "pack.json";
  ASSERT_TRUE(WriteFileAtomically(file, "good").ok());
  {
    auto temp = TempFile::CreateFor(file);
    ASSERT_TRUE(temp.ok());
    ASSERT_TRUE(temp->Append("partial").ok());
  }
  auto read = ReadFileIfExists(file, 100);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ(**read, "good");
  EXPECT_EQ(CountEntries((*dir)->path()), 1);
}

// Leftovers of a crashed download are recognised and removed; real files stay.
TEST(FileUtil, RemoveStaleTempFilesDeletesOnlyTempFiles) {
  auto dir = testing::TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const fs::path d = (*dir)->path();
  std::ofstream(d / ".root.json.tmp-abc123") << "x";
  std::ofstream(d / "root.json") << "y";
  RemoveStaleTempFiles(d);
  EXPECT_FALSE(fs::exists(d / ".root.json.tmp-abc123"));
  EXPECT_TRUE(fs::exists(d / "root.json"));
}

// A local file above the limit is refused rather than read into memory.
TEST(FileUtil, ReadFileIfExistsEnforcesLimit) {
  auto dir = testing::TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const fs::path file = (*dir)->path() / "big";
  std::ofstream(file) << std::string(1000, 'a');
  auto read = ReadFileIfExists(file, 999);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), ErrorCode::kTooLarge);
  auto missing = ReadFileIfExists((*dir)->path() / "missing", 10);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace bellwether
