#include "common/paths.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

namespace bellwether::paths {
namespace {

namespace fs = std::filesystem;

class PathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bw-paths-XXXXXX";
    root_ = ::mkdtemp(tmpl);
  }
  void TearDown() override {
    ::unsetenv("XDG_DATA_HOME");
    fs::remove_all(root_);
  }
  fs::path root_;
};

TEST_F(PathsTest, FollowsXdgDataHome) {
  // An absolute XDG_DATA_HOME is used as is.
  ::setenv("XDG_DATA_HOME", (root_ / "d").c_str(), 1);
  EXPECT_EQ(DataDir(), root_ / "d" / "bellwether");
}

TEST_F(PathsTest, IgnoresRelativeXdgValues) {
  // The XDG spec says relative paths are invalid; the host falls back to $HOME.
  ::setenv("XDG_DATA_HOME", "relative/dir", 1);
  EXPECT_TRUE(DataDir().is_absolute());
  EXPECT_EQ(DataDir().filename(), "bellwether");
}

TEST_F(PathsTest, CreatesPrivateDirectories) {
  // Every directory created, and the leaf, is mode 0700.
  fs::path leaf = root_ / "a" / "b" / "bellwether";
  ASSERT_TRUE(EnsurePrivateDir(leaf).ok());
  struct stat st {};
  ASSERT_EQ(::stat(leaf.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((root_ / "a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(PathsTest, TightensAnExistingLooseDirectory) {
  // A pre-existing 0755 leaf is narrowed to 0700.
  fs::path leaf = root_ / "loose";
  ::mkdir(leaf.c_str(), 0755);
  ASSERT_TRUE(EnsurePrivateDir(leaf).ok());
  struct stat st {};
  ::stat(leaf.c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(PathsTest, ReportsUncreatableDirectory) {
  // A path under a regular file cannot be created: a storage error, not a crash.
  fs::path file = root_ / "file";
  FILE* f = std::fopen(file.c_str(), "w");
  std::fclose(f);
  Status s = EnsurePrivateDir(file / "sub");
  EXPECT_EQ(s.code(), ErrorCode::kStorage);
}

TEST_F(PathsTest, RefusesAFileWhereTheDirectoryShouldBe) {
  // A regular file holding the leaf's name is refused, not taken for the
  // directory (and left as it was).
  fs::path file = root_ / "backups";
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  ::chmod(file.c_str(), 0644);
  Status s = EnsurePrivateDir(file);
  EXPECT_EQ(s.code(), ErrorCode::kStorage);
  EXPECT_NE(s.message().find("not a directory"), std::string::npos) << s.ToString();
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

}  // namespace
}  // namespace bellwether::paths
