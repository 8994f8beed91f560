// The client workflow (spec 5.1-5.7) over an in-memory repository, with
// faults injected by the fake fetcher.
#include "update/updater.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "crypto/digest.h"

#include "support/https_server.h"
#include "update/client/test_repository.h"
#include "common/file_util.h"
#include "update/metadata_store.h"

namespace bellwether::update {
namespace {

namespace fs = std::filesystem;
using testing::FakeFetcher;
using testing::kBaseUrl;
using testing::kDay;
using testing::kNow;
using testing::TestRepository;
using Fault = FakeFetcher::Fault;

const std::string kPackPath = "content/pack.json";
const std::string kPack = R"({"schema":1,"packId":"pack","version":1})";

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class UpdaterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = bellwether::testing::TempDir::Create("updater-test");
    ASSERT_TRUE(dir.ok());
    dir_ = std::move(dir).value();
    fs::create_directories(MetadataDir());
    fs::create_directories(TargetDir());
    repo_.AddTarget(kPackPath, kPack);
    repo_.Publish();
    InstallRoot(1);
  }

  fs::path MetadataDir() const { return dir_->path() / "metadata"; }
  fs::path TargetDir() const { return dir_->path() / "targets"; }

  void InstallRoot(std::int64_t version) {
    ASSERT_TRUE(WriteFileAtomically(MetadataDir() / "root.json", repo_.RootBytes(version)).ok());
  }

  UpdaterOptions Options() const {
    UpdaterOptions options;
    options.metadata_base_url = std::string(kBaseUrl) + "metadata/";
    options.target_base_url = std::string(kBaseUrl) + "targets/";
    options.clock = [this] { return now_; };
    return options;
  }

  Status Refresh() {
    MetadataStore store(MetadataDir());
    Updater updater(store, fetcher_, Options());
    return updater.Refresh();
  }

  // Refresh, look up and download kPackPath into TargetDir()/pack.json.
  Status Download() {
    MetadataStore store(MetadataDir());
    Updater updater(store, fetcher_, Options());
    BW_ASSIGN_OR_RETURN(tuf::TargetFile info, updater.GetTargetInfo(kPackPath));
    return updater.DownloadTarget(info, TargetDir() / "pack.json");
  }

  std::string Stored(const std::string& name) const { return ReadAll(MetadataDir() / name); }

  std::unique_ptr<bellwether::testing::TempDir> dir_;
  TestRepository repo_;
  FakeFetcher fetcher_{&repo_.files()};
  std::int64_t now_ = kNow;
};

// A fresh client stores each top-level role byte for byte as served.
TEST_F(UpdaterTest, RefreshPersistsEachRoleByteForByte) {
  ASSERT_TRUE(Refresh().ok());
  EXPECT_EQ(Stored("root.json"), repo_.files().at("metadata/1.root.json"));
  EXPECT_EQ(Stored("timestamp.json"), repo_.files().at("metadata/timestamp.json"));
  EXPECT_EQ(Stored("snapshot.json"), repo_.files().at("metadata/snapshot.json"));
  EXPECT_EQ(Stored("targets.json"), repo_.files().at("metadata/targets.json"));
}

// With consistent snapshots the client asks for N.snapshot.json,
// N.targets.json and the hash-prefixed target (5.5.1, 5.6.1, 5.7.3).
TEST_F(UpdaterTest, UsesConsistentSnapshotNames) {
  ASSERT_TRUE(Download().ok());
  EXPECT_EQ(fetcher_.CountRequests("metadata/2.snapshot.json"), 1);
  EXPECT_EQ(fetcher_.CountRequests("metadata/2.targets.json"), 1);
  EXPECT_EQ(fetcher_.CountRequests("metadata/snapshot.json"), 0);
  const std::string hash = crypto::HexEncode(crypto::Sha256(kPack));
  EXPECT_EQ(fetcher_.CountRequests("targets/content/" + hash + ".pack.json"), 1);
  EXPECT_EQ(ReadAll(TargetDir() / "pack.json"), kPack);
}

// Without consistent snapshots, the plain names are used.
TEST(Updater, UsesPlainNamesWithoutConsistentSnapshots) {
  TestRepository repo(/*consistent_snapshot=*/false);
  repo.AddTarget(kPackPath, kPack);
  repo.Publish();
  FakeFetcher fetcher(&repo.files());
  auto dir = bellwether::testing::TempDir::Create();
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(WriteFileAtomically((*dir)->path() / "root.json", repo.RootBytes(1)).ok());
  MetadataStore store((*dir)->path());
  UpdaterOptions options;
  options.metadata_base_url = std::string(kBaseUrl) + "metadata";
  options.target_base_url = std::string(kBaseUrl) + "targets";
  options.clock = [] { return kNow; };
  Updater updater(store, fetcher, options);
  auto info = updater.GetTargetInfo(kPackPath);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(updater.DownloadTarget(*info, (*dir)->path() / "pack.json").ok());
  EXPECT_EQ(fetcher.CountRequests("metadata/snapshot.json"), 1);
  EXPECT_EQ(fetcher.CountRequests("metadata/targets.json"), 1);
  EXPECT_EQ(fetcher.CountRequests("targets/content/pack.json"), 1);
}

// 5.3: the client walks N+1.root.json until 404 and keeps the newest root.
TEST_F(UpdaterTest, FollowsRootRotationChainUntilNotFound) {
  repo_.RotateKeys("root");
  repo_.RotateKeys("root");
  repo_.Publish();
  ASSERT_TRUE(Refresh().ok());
  EXPECT_EQ(Stored("root.json"), repo_.RootBytes(3));
  EXPECT_EQ(fetcher_.CountRequests("metadata/2.root.json"), 1);
  EXPECT_EQ(fetcher_.CountRequests("metadata/3.root.json"), 1);
  EXPECT_EQ(fetcher_.CountRequests("metadata/4.root.json"), 1);
}

// 5.3.3 Y: rotations per cycle are capped.
TEST_F(UpdaterTest, StopsRootRotationAtTheCap) {
  for (int i = 0; i < 5; ++i) repo_.BumpRoot();
  MetadataStore store(MetadataDir());
  UpdaterOptions options = Options();
  options.max_root_rotations = 2;
  Updater updater(store, fetcher_, options);
  ASSERT_TRUE(updater.Refresh().ok());
  EXPECT_EQ(Stored("root.json"), repo_.RootBytes(3));
  EXPECT_EQ(fetcher_.CountRequests("metadata/4.root.json"), 0);
}

// A network failure while looking for N+1.root.json is not "no newer root".
TEST_F(UpdaterTest, NetworkErrorDuringRootRotationFailsTheCycle) {
  fetcher_.SetFault("metadata/2.root.json", Fault::kNetworkError);
  Status s = Refresh();
  EXPECT_EQ(s.code(), ErrorCode::kUpdateNetwork) << s.ToString();
}

// A missing link in the rotation chain ends rotation at the last good root;
// a later root signed only by keys the client never learned is not reached.
TEST_F(UpdaterTest, MissingRootLinkKeepsOlderTrustedRoot) {
  repo_.RotateKeys("root");
  repo_.RotateKeys("root");
  repo_.Publish();
  fetcher_.SetFault("metadata/2.root.json", Fault::kNotFound);
  (void)Refresh();
  EXPECT_EQ(Stored("root.json"), repo_.RootBytes(1));
  EXPECT_EQ(fetcher_.CountRequests("metadata/3.root.json"), 0);
}

// 5.4.1 X: a timestamp larger than 16 kB is refused while downloading.
TEST_F(UpdaterTest, RefusesOversizedTimestamp) {
  fetcher_.SetFault("metadata/timestamp.json", Fault::kAppendGarbage);
  Status s = Refresh();
  EXPECT_EQ(s.code(), ErrorCode::kUpdateTooLarge) << s.ToString();
  EXPECT_FALSE(fs::exists(MetadataDir() / "timestamp.json"));
}

// 5.5.2: a snapshot that does not match the timestamp's length/hash is
// refused, and the previously trusted snapshot stays on disk.
TEST_F(UpdaterTest, RefusesMismatchedSnapshotAndKeepsPreviousOne) {
  ASSERT_TRUE(Refresh().ok());
  const std::string trusted = Stored("snapshot.json");
  repo_.Publish();
  fetcher_.SetFault("metadata/3.snapshot.json", Fault::kTruncate);
  Status s = Refresh();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Stored("snapshot.json"), trusted);
}

// 5.4.3.1: same timestamp version -> nothing new is downloaded.
TEST_F(UpdaterTest, UpToDateCheckDownloadsOnlyTimestamp) {
  ASSERT_TRUE(Refresh().ok());
  fetcher_.ClearRequests();
  ASSERT_TRUE(Refresh().ok());
  std::vector<std::string> expected = {"metadata/2.root.json", "metadata/timestamp.json"};
  EXPECT_EQ(fetcher_.requests(), expected);
}

// 5.1: expiry is judged against the injected clock (freeze attack).
TEST_F(UpdaterTest, RefusesExpiredMetadataByInjectedClock) {
  now_ = kNow + 31 * kDay;
  Status s = Refresh();
  EXPECT_EQ(s.code(), ErrorCode::kUpdateExpired) << s.ToString();
}

// 5.3.11: after the timestamp key rotates, the cached timestamp and
// snapshot are dropped and the client recovers.
TEST_F(UpdaterTest, RecoversAfterTimestampKeyRotation) {
  ASSERT_TRUE(Refresh().ok());
  repo_.RotateKeys("timestamp");
  repo_.Publish();
  Status s = Refresh();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Stored("timestamp.json"), repo_.files().at("metadata/timestamp.json"));
}

// 5.3.11 for the snapshot role as well.
TEST_F(UpdaterTest, RecoversAfterSnapshotKeyRotation) {
  ASSERT_TRUE(Refresh().ok());
  repo_.RotateKeys("snapshot");
  repo_.Publish();
  Status s = Refresh();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Stored("snapshot.json"), repo_.files().at("metadata/snapshot.json"));
}

// 5.3.11 when the chain of root updates is cut short: root 2 rotates the
// timestamp key and root 3 cannot be fetched. Root 2 is persisted (5.3.8),
// so it is where the next run starts; the cached timestamp and snapshot it
// invalidates must already be gone, or that run would never see the
// rotation. The run after the fault recovers.
TEST_F(UpdaterTest, InterruptedRootChainStillDiscardsRotatedCache) {
  ASSERT_TRUE(Refresh().ok());
  ASSERT_TRUE(fs::exists(MetadataDir() / "timestamp.json"));
  repo_.RotateKeys("timestamp");  // Root 2.
  repo_.BumpRoot();               // Root 3.
  repo_.Publish();
  fetcher_.SetFault("metadata/3.root.json", Fault::kNetworkError);
  Status s = Refresh();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Stored("root.json"), repo_.RootBytes(2));
  EXPECT_FALSE(fs::exists(MetadataDir() / "timestamp.json"));
  EXPECT_FALSE(fs::exists(MetadataDir() / "snapshot.json"));
  fetcher_.ClearFaults();
  s = Refresh();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Stored("root.json"), repo_.RootBytes(3));
  EXPECT_EQ(Stored("timestamp.json"), repo_.files().at("metadata/timestamp.json"));
}

// A root chain that rotates nothing leaves the cached timestamp alone even
// when it is cut short.
TEST_F(UpdaterTest, InterruptedRootChainWithoutRotationKeepsCache) {
  ASSERT_TRUE(Refresh().ok());
  const std::string cached = Stored("timestamp.json");
  repo_.BumpRoot();  // Root 2.
  repo_.BumpRoot();  // Root 3.
  repo_.Publish();
  fetcher_.SetFault("metadata/3.root.json", Fault::kNetworkError);
  EXPECT_FALSE(Refresh().ok());
  EXPECT_EQ(Stored("root.json"), repo_.RootBytes(2));
  EXPECT_EQ(Stored("timestamp.json"), cached);
}

// 5.4.3.1: a timestamp older than the trusted one is refused, and the
// trusted one stays on disk.
TEST_F(UpdaterTest, RefusesTimestampRollbackAndKeepsTrustedOne) {
  const std::string old_timestamp = repo_.files().at("metadata/timestamp.json");
  repo_.Publish();
  ASSERT_TRUE(Refresh().ok());
  const std::string trusted = Stored("timestamp.json");
  repo_.files()["metadata/timestamp.json"] = old_timestamp;
  Status s = Refresh();
  EXPECT_EQ(s.code(), ErrorCode::kUpdateRollback) << s.ToString();
  EXPECT_EQ(Stored("timestamp.json"), trusted);
}

// 5.7.3: a target whose bytes do not match the signed hash is refused and
// the file already at the destination is left untouched.
TEST_F(UpdaterTest, RefusesTargetWithWrongHashAndKeepsPreviousFile) {
  ASSERT_TRUE(WriteFileAtomically(TargetDir() / "pack.json", "previous good pack").ok());
  const std::string hash = crypto::HexEncode(crypto::Sha256(kPack));
  const std::string served = "targets/content/" + hash + ".pack.json";
  repo_.files()[served] = std::string(kPack.size(), 'X');  // Same length, other bytes.
  Status s = Download();
  EXPECT_EQ(s.code(), ErrorCode::kUpdateVerification) << s.ToString();
  EXPECT_EQ(ReadAll(TargetDir() / "pack.json"), "previous good pack");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(TargetDir())) ++entries;
  EXPECT_EQ(entries, 1) << "no temporary file may be left behind";
}

// 5.7.3 with consistent snapshots: the copy is named by a hash the client
// checks (sha512 when there is no sha256), never by an algorithm it ignores,
// and a hash value that is not lowercase hex is never put in a URL.
TEST_F(UpdaterTest, NamesConsistentTargetByACheckedHexHash) {
  MetadataStore store(MetadataDir());
  Updater updater(store, fetcher_, Options());
  auto info = updater.GetTargetInfo(kPackPath);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  const std::string sha512 = crypto::HexEncode(crypto::Sha512(kPack));
  repo_.files()["targets/content/" + sha512 + ".pack.json"] = kPack;
  tuf::TargetFile by_sha512 = *info;
  by_sha512.hashes = {{"blake9", "0123"}, {"sha512", sha512}};
  fetcher_.ClearRequests();
  Status s = updater.DownloadTarget(by_sha512, TargetDir() / "pack.json");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(fetcher_.requests(), std::vector<std::string>{"targets/content/" + sha512 + ".pack.json"});

  tuf::TargetFile hostile = *info;
  hostile.hashes = {{"sha256", "../../../elsewhere"}};
  fetcher_.ClearRequests();
  s = updater.DownloadTarget(hostile, TargetDir() / "other.json");
  EXPECT_EQ(s.code(), ErrorCode::kUpdateVerification) << s.ToString();
  EXPECT_TRUE(fetcher_.requests().empty());
  EXPECT_FALSE(fs::exists(TargetDir() / "other.json"));
}

// A target is downloaded to at most its signed length (endless data).
TEST_F(UpdaterTest, RefusesTargetLongerThanSignedLength) {
  const std::string hash = crypto::HexEncode(crypto::Sha256(kPack));
  fetcher_.SetFault("targets/content/" + hash + ".pack.json", Fault::kAppendGarbage);
  Status s = Download();
  EXPECT_EQ(s.code(), ErrorCode::kUpdateTooLarge) << s.ToString();
  EXPECT_FALSE(fs::exists(TargetDir() / "pack.json"));
}

// A truncated target fails verification.
TEST_F(UpdaterTest, RefusesTruncatedTarget) {
  const std::string hash = crypto::HexEncode(crypto::Sha256(kPack));
  fetcher_.SetFault("targets/content/" + hash + ".pack.json", Fault::kTruncate);
  Status s = Download();
  EXPECT_EQ(s.code(), ErrorCode::kUpdateVerification) << s.ToString();
}

// 5.7.2: an unknown target is "not found", not a crash or a download.
TEST_F(UpdaterTest, ReportsUnknownTarget) {
  MetadataStore store(MetadataDir());
  Updater updater(store, fetcher_, Options());
  auto info = updater.GetTargetInfo("content/missing.json");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), ErrorCode::kNotFound);
}

// A local copy is reused only while it matches the signed length and hashes.
TEST_F(UpdaterTest, CachedTargetIsValidOnlyWhileHashesMatch) {
  ASSERT_TRUE(Download().ok());
  MetadataStore store(MetadataDir());
  Updater updater(store, fetcher_, Options());
  auto info = updater.GetTargetInfo(kPackPath);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(Updater::IsCachedTargetValid(*info, TargetDir() / "pack.json"));
  std::string tampered = kPack;
  tampered[0] = '[';
  ASSERT_TRUE(WriteFileAtomically(TargetDir() / "pack.json", tampered).ok());
  EXPECT_FALSE(Updater::IsCachedTargetValid(*info, TargetDir() / "pack.json"));
}

// 5.6.7: a target listed by a delegated role is found through the
// delegation, and the role's metadata is persisted under <role>.json with
// the name percent-encoded.
TEST_F(UpdaterTest, FindsTargetThroughDelegationAndPersistsRole) {
  repo_.AddDelegation("team/content", {"extra/*"});
  repo_.Publish();
  repo_.AddTarget("extra/notes.json", "{}", "team/content");
  repo_.Publish();
  MetadataStore store(MetadataDir());
  Updater updater(store, fetcher_, Options());
  auto info = updater.GetTargetInfo("extra/notes.json");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->length, 2);
  EXPECT_TRUE(fs::exists(MetadataDir() / "team%2Fcontent.json"));
  EXPECT_EQ(fetcher_.CountRequests("metadata/2.team%2Fcontent.json"), 1);
}

// A snapshot may not stop listing a role the trusted one lists (5.5.5):
// that is refused as a rollback and the stored role stays. Once the
// snapshot keys rotate (the cached snapshot is discarded, 5.3.11), a new
// snapshot without the role is accepted, and the role's file is deleted;
// the roles it still lists, and the top-level ones, stay.
TEST_F(UpdaterTest, DeletesRolesTheSnapshotNoLongerLists) {
  repo_.AddDelegation("team/content", {"extra/*"});
  repo_.AddDelegation("kept", {"kept/*"});
  repo_.Publish();
  repo_.AddTarget("extra/notes.json", "{}", "team/content");
  repo_.AddTarget("kept/a.json", "[]", "kept");
  repo_.Publish();
  MetadataStore store(MetadataDir());
  {
    Updater updater(store, fetcher_, Options());
    ASSERT_TRUE(updater.GetTargetInfo("extra/notes.json").ok());
    ASSERT_TRUE(updater.GetTargetInfo("kept/a.json").ok());
  }
  ASSERT_TRUE(fs::exists(MetadataDir() / "team%2Fcontent.json"));
  ASSERT_TRUE(fs::exists(MetadataDir() / "kept.json"));

  repo_.RemoveDelegation("team/content");
  repo_.Publish();
  {
    Updater updater(store, fetcher_, Options());
    auto refused = updater.GetTargetInfo("kept/a.json");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kUpdateRollback) << refused.status().ToString();
    EXPECT_TRUE(fs::exists(MetadataDir() / "team%2Fcontent.json"));
  }

  repo_.RotateKeys("snapshot");
  repo_.Publish();
  Updater updater(store, fetcher_, Options());
  auto kept = updater.GetTargetInfo("kept/a.json");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_FALSE(fs::exists(MetadataDir() / "team%2Fcontent.json"));
  EXPECT_TRUE(fs::exists(MetadataDir() / "kept.json"));
  for (const char* name : {"root.json", "timestamp.json", "snapshot.json", "targets.json"}) {
    EXPECT_TRUE(fs::exists(MetadataDir() / name)) << name;
  }
}

// The metadata directory holds only trusted metadata files.
TEST_F(UpdaterTest, MetadataDirectoryHoldsOnlyMetadataFiles) {
  ASSERT_TRUE(Download().ok());
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(MetadataDir())) names.insert(entry.path().filename());
  std::set<std::string> expected = {"root.json", "timestamp.json", "snapshot.json", "targets.json"};
  EXPECT_EQ(names, expected);
}

}  // namespace
}  // namespace bellwether::update
