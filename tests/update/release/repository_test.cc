// The publisher's tool: bellwether_release (library) and bellwether-release
// (CLI). Every repository made here is checked with VerifyRepository, which
// runs the client's verifier (TrustedMetadataSet) over the files.
#include "repository.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>

#include "crypto/digest.h"
#include "support/https_server.h"
#include "update/release/run_process.h"
#include "update/tuf/metadata.h"

namespace bellwether::release {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

using testing::ReadFileOrEmpty;

void WriteAll(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

unsigned ModeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return static_cast<unsigned>(st.st_mode) & 07777;
}

tuf::SignedEnvelope Envelope(const fs::path& path) {
  auto envelope = tuf::SignedEnvelope::Parse(ReadFileOrEmpty(path));
  EXPECT_TRUE(envelope.ok()) << path << ": " << envelope.status().ToString();
  return std::move(envelope).value();
}

std::int64_t VersionOf(const fs::path& path) {
  return Envelope(path).signed_json().at("version").get<std::int64_t>();
}

tuf::TimePoint Now() {
  return SystemClock()();
}

class ReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("bw-release-test");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    temp_ = std::move(dir).value();
    repo_ = temp_->path() / "repo";
    keys_ = temp_->path() / "keys";
  }

  std::unique_ptr<Repository> InitRepo(const InitOptions& options = {}) {
    auto repo = Repository::Init(repo_, keys_, options);
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return repo.ok() ? std::move(repo).value() : nullptr;
  }

  fs::path MakeFile(const std::string& name, std::string_view content) {
    fs::path path = temp_->path() / name;
    WriteAll(path, content);
    return path;
  }

  // A repository without consistent snapshots (clients read the plain
  // names), with a.txt ("A") published; nullptr (and a failure) otherwise.
  std::unique_ptr<Repository> PublishedPlainRepo() {
    InitOptions options;
    options.consistent_snapshot = false;
    auto repo = InitRepo(options);
    if (repo == nullptr) return nullptr;
    EXPECT_TRUE(repo->AddTarget("a.txt", MakeFile("a.txt", "A"), std::nullopt).ok());
    EXPECT_TRUE(repo->Publish().ok());
    return repo;
  }

  void ExpectVerifies(tuf::TimePoint now = Now()) {
    auto report = VerifyRepository(repo_, std::nullopt, now);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
  }

  std::unique_ptr<TempDir> temp_;
  fs::path repo_;
  fs::path keys_;
};

TEST_F(ReleaseTest, InitWritesVersionOneOfEveryRoleThatVerifies) {
  // A fresh repository is complete: a client trusting 1.root.json accepts it.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  for (const char* name :
       {"1.root.json", "root.json", "1.targets.json", "1.snapshot.json", "timestamp.json"}) {
    EXPECT_TRUE(fs::exists(repo_ / "metadata" / name)) << name;
  }
  EXPECT_EQ(ReadFileOrEmpty(repo_ / "metadata" / "1.root.json"), ReadFileOrEmpty(repo_ / "metadata" / "root.json"));
  EXPECT_EQ(VersionOf(repo_ / "metadata" / "timestamp.json"), 1);
  EXPECT_TRUE(repo->root().consistent_snapshot);
  auto report = VerifyRepository(repo_, std::nullopt, Now());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->root_version, 1);
  EXPECT_EQ(report->targets_version, 1);
}

TEST_F(ReleaseTest, PrivateKeysAreOwnerOnlyAndNeverInTheRepository) {
  // Keys are 0600 in 0700 directories; no private key material is published.
  ASSERT_NE(InitRepo(), nullptr);
  EXPECT_EQ(ModeOf(keys_), 0700u);
  int key_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(keys_)) {
    if (entry.is_directory()) {
      EXPECT_EQ(ModeOf(entry.path()), 0700u) << entry.path();
    }
    if (entry.path().extension() == ".pem") {
      ++key_files;
      EXPECT_EQ(ModeOf(entry.path()), 0600u) << entry.path();
      EXPECT_NE(ReadFileOrEmpty(entry.path()).find("PRIVATE KEY"), std::string::npos);
    }
  }
  EXPECT_EQ(key_files, 4);
  for (const auto& entry : fs::recursive_directory_iterator(repo_)) {
    if (entry.is_regular_file()) {
      EXPECT_EQ(ReadFileOrEmpty(entry.path()).find("PRIVATE"), std::string::npos) << entry.path();
    }
  }
}

TEST_F(ReleaseTest, RefusesKeysDirectoryInsideRepository) {
  // Private keys must never be servable: KEYS inside (or equal to) REPO fails.
  EXPECT_FALSE(Repository::Init(repo_, repo_ / "keys", {}).ok());
  EXPECT_FALSE(Repository::Init(repo_, repo_, {}).ok());
  EXPECT_FALSE(Repository::Init(repo_, repo_ / "a" / ".." / "keys", {}).ok());
  EXPECT_FALSE(fs::exists(repo_ / "keys"));
}

TEST_F(ReleaseTest, RefusesKeysDirectoryReachedThroughSymlinkIntoRepository) {
  // A symlink does not smuggle the keys directory into the repository.
  fs::create_directories(repo_ / "private");
  fs::create_directory_symlink(repo_ / "private", temp_->path() / "link");
  EXPECT_FALSE(Repository::Init(repo_, temp_->path() / "link", {}).ok());
}

TEST_F(ReleaseTest, OpenRefusesKeysDirectoryInsideRepository) {
  // Every command re-checks the layout, not only init.
  ASSERT_NE(InitRepo(), nullptr);
  fs::rename(keys_, repo_ / "keys");
  EXPECT_FALSE(Repository::Open(repo_, repo_ / "keys").ok());
}

TEST_F(ReleaseTest, RefusesToInitTwice) {
  // An existing repository or key set is never overwritten.
  ASSERT_NE(InitRepo(), nullptr);
  std::string root = ReadFileOrEmpty(repo_ / "metadata" / "root.json");
  EXPECT_FALSE(Repository::Init(repo_, temp_->path() / "other-keys", {}).ok());
  EXPECT_FALSE(Repository::Init(temp_->path() / "other-repo", keys_, {}).ok());
  EXPECT_EQ(ReadFileOrEmpty(repo_ / "metadata" / "root.json"), root);
}

TEST_F(ReleaseTest, FailedInitLeavesNothingBehindAndCanBeRunAgain) {
  // An init that fails half-way (here: the first root cannot be written,
  // after keys were generated) removes what it created, keeps what was
  // there, and the same command then succeeds.
  fs::create_directories(repo_ / "metadata" / "1.root.json");  // In the way.
  fs::create_directories(repo_ / "unrelated");
  auto failed = Repository::Init(repo_, keys_, {});
  ASSERT_FALSE(failed.ok());
  EXPECT_FALSE(fs::exists(keys_ / "config.json"));
  for (const char* role : {"root", "targets", "snapshot", "timestamp"}) {
    EXPECT_FALSE(fs::exists(keys_ / role)) << role;
  }
  EXPECT_FALSE(fs::exists(repo_ / "targets"));
  EXPECT_TRUE(fs::is_directory(repo_ / "metadata" / "1.root.json"));  // Was there before.
  EXPECT_TRUE(fs::is_directory(repo_ / "unrelated"));
  int left_in_metadata = 0;
  for (const auto& entry : fs::directory_iterator(repo_ / "metadata")) {
    EXPECT_EQ(entry.path().filename(), "1.root.json") << entry.path();
    ++left_in_metadata;
  }
  EXPECT_EQ(left_in_metadata, 1);

  fs::remove(repo_ / "metadata" / "1.root.json");
  ASSERT_NE(InitRepo(), nullptr);
  ExpectVerifies();
}

TEST_F(ReleaseTest, RefusesRepositoryPathThatIsAFileAndLeavesItAlone) {
  // REPO (or its metadata directory) being a file is refused before
  // anything is created, and the file is not touched.
  fs::create_directories(repo_.parent_path());
  WriteAll(repo_, "the user's own file");
  EXPECT_FALSE(Repository::Init(repo_, keys_, {}).ok());
  EXPECT_EQ(ReadFileOrEmpty(repo_), "the user's own file");
  EXPECT_FALSE(fs::exists(keys_ / "config.json"));
  fs::remove(repo_);
  fs::create_directories(repo_);
  WriteAll(repo_ / "metadata", "also a file");
  EXPECT_FALSE(Repository::Init(repo_, keys_, {}).ok());
  EXPECT_EQ(ReadFileOrEmpty(repo_ / "metadata"), "also a file");
}

TEST_F(ReleaseTest, RefusesGroupReadablePrivateKey) {
  // A key file others can read is treated as compromised-by-configuration.
  ASSERT_NE(InitRepo(), nullptr);
  fs::path key = fs::directory_iterator(keys_ / "targets")->path();
  fs::permissions(key, fs::perms::group_read, fs::perm_options::add);
  auto opened = Repository::Open(repo_, keys_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("chmod 600"), std::string::npos);
}

TEST_F(ReleaseTest, AddedTargetIsPublishedOnlyByPublish) {
  // `add` stages; the signed targets change only when `publish` runs.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  ASSERT_TRUE(repo->AddTarget("content/pack.json", MakeFile("pack.json", "{\"a\":1}"), std::nullopt).ok());
  EXPECT_FALSE(Envelope(repo_ / "metadata" / "targets.json")
                   .signed_json()
                   .at("targets")
                   .contains("content/pack.json"));
  EXPECT_FALSE(fs::exists(repo_ / "targets" / "content" / "pack.json"));
  auto published = repo->Publish();
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  EXPECT_TRUE(published->targets_changed);
  EXPECT_EQ(published->targets_version, 2);
  EXPECT_TRUE(Envelope(repo_ / "metadata" / "2.targets.json")
                  .signed_json()
                  .at("targets")
                  .contains("content/pack.json"));
  ExpectVerifies();
}

TEST_F(ReleaseTest, PublishedTargetHasConsistentAndPlainCopiesAndCustomData) {
  // Consistent snapshots: one hash-prefixed copy per listed hash, plus the
  // plain name; "custom" is carried into the targets entry.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  const std::string content = "{\"title\":\"analysis\"}\n";
  ASSERT_TRUE(
      repo->AddTarget("content/pack.json", MakeFile("pack.json", content), nlohmann::json{{"edition", 3}})
          .ok());
  ASSERT_TRUE(repo->Publish().ok());
  auto entry =
      Envelope(repo_ / "metadata" / "targets.json").signed_json().at("targets").at("content/pack.json");
  EXPECT_EQ(entry.at("custom"), (nlohmann::json{{"edition", 3}}));
  EXPECT_EQ(entry.at("length").get<std::size_t>(), content.size());
  ASSERT_FALSE(entry.at("hashes").empty());
  for (const auto& [algorithm, hash] : entry.at("hashes").items()) {
    EXPECT_EQ(ReadFileOrEmpty(repo_ / "targets" / "content" / (hash.get<std::string>() + ".pack.json")), content)
        << algorithm;
  }
  EXPECT_EQ(ReadFileOrEmpty(repo_ / "targets" / "content" / "pack.json"), content);
}

TEST_F(ReleaseTest, PublishWithoutChangesKeepsTargetsVersion) {
  // Nothing staged: targets keeps its version; snapshot and timestamp move on.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  auto published = repo->Publish();
  ASSERT_TRUE(published.ok());
  EXPECT_FALSE(published->targets_changed);
  EXPECT_EQ(published->targets_version, 1);
  EXPECT_EQ(published->snapshot_version, 2);
  EXPECT_EQ(published->timestamp_version, 2);
  ExpectVerifies();
}

TEST_F(ReleaseTest, StateSurvivesReopening) {
  // A staged target is remembered across processes (kept with the keys).
  {
    auto repo = InitRepo();
    ASSERT_NE(repo, nullptr);
    ASSERT_TRUE(repo->AddTarget("a.txt", MakeFile("a.txt", "A"), std::nullopt).ok());
  }
  auto reopened = Repository::Open(repo_, keys_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto published = (*reopened)->Publish();
  ASSERT_TRUE(published.ok());
  EXPECT_TRUE(published->targets_changed);
  EXPECT_EQ(ReadFileOrEmpty(repo_ / "targets" / "a.txt"), "A");
  ExpectVerifies();
}

TEST_F(ReleaseTest, RemovedTargetDisappearsFromNextTargets) {
  // `remove` unstages; the next publish lists the target no more.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  ASSERT_TRUE(repo->AddTarget("a.txt", MakeFile("a.txt", "A"), std::nullopt).ok());
  ASSERT_TRUE(repo->Publish().ok());
  ASSERT_TRUE(repo->RemoveTarget("a.txt").ok());
  ASSERT_TRUE(repo->Publish().ok());
  EXPECT_TRUE(Envelope(repo_ / "metadata" / "targets.json").signed_json().at("targets").empty());
  EXPECT_FALSE(repo->RemoveTarget("a.txt").ok());
  ExpectVerifies();
}

TEST_F(ReleaseTest, RejectsUnsafeTargetNames) {
  // Names that could escape targets/ or confuse a client are refused.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  fs::path file = MakeFile("x", "x");
  for (const char* name : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a/", "a\nb"}) {
    EXPECT_FALSE(repo->AddTarget(name, file, std::nullopt).ok()) << name;
  }
  EXPECT_FALSE(repo->AddTarget("ok.json", file, nlohmann::json::array()).ok());
  EXPECT_TRUE(ValidateTargetName("content/2026/pack.json").ok());
}

TEST_F(ReleaseTest, RotateRootSignsNextRootWithOldAndNewKeys) {
  // 5.3.4: root N+1 carries a threshold of the old and of the new root keys;
  // the old key is revoked (absent from N+1) and retired on disk.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  auto old_root = tuf::RootMetadata::FromJson(Envelope(repo_ / "metadata" / "1.root.json").signed_json());
  ASSERT_TRUE(old_root.ok());
  auto rotated = repo->Rotate("root");
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(rotated->root_version, 2);
  tuf::SignedEnvelope next = Envelope(repo_ / "metadata" / "2.root.json");
  auto new_root = tuf::RootMetadata::FromJson(next.signed_json());
  ASSERT_TRUE(new_root.ok());
  EXPECT_TRUE(tuf::VerifyThreshold(next, "root", old_root->keys, *old_root->FindRole("root")).ok());
  EXPECT_TRUE(tuf::VerifyThreshold(next, "root", new_root->keys, *new_root->FindRole("root")).ok());
  ASSERT_EQ(rotated->retired_keyids.size(), 1u);
  EXPECT_EQ(new_root->keys.count(rotated->retired_keyids[0]), 0u);
  EXPECT_TRUE(fs::exists(keys_ / "retired" / "root" / (rotated->retired_keyids[0] + ".pem")));
  EXPECT_FALSE(fs::exists(keys_ / "root" / (rotated->retired_keyids[0] + ".pem")));
  EXPECT_EQ(ReadFileOrEmpty(repo_ / "metadata" / "2.root.json"), ReadFileOrEmpty(repo_ / "metadata" / "root.json"));
  ExpectVerifies();
}

TEST_F(ReleaseTest, RotateEveryRoleKeepsRepositoryVerifiable) {
  // After rotating each role the repository still verifies from 1.root.json,
  // and the role's metadata is signed by the new key only.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  ASSERT_TRUE(repo->AddTarget("a.txt", MakeFile("a.txt", "A"), std::nullopt).ok());
  ASSERT_TRUE(repo->Publish().ok());
  std::int64_t expected_root = 1;
  for (const char* role : {"timestamp", "snapshot", "targets", "root"}) {
    auto rotated = repo->Rotate(role);
    ASSERT_TRUE(rotated.ok()) << role << ": " << rotated.status().ToString();
    EXPECT_EQ(rotated->root_version, ++expected_root);
    ExpectVerifies();
  }
  tuf::SignedEnvelope timestamp = Envelope(repo_ / "metadata" / "timestamp.json");
  ASSERT_EQ(timestamp.signatures().size(), 1u);
  EXPECT_EQ(timestamp.signatures()[0].keyid, repo->root().FindRole("timestamp")->keyids[0]);
  EXPECT_FALSE(repo->Rotate("mirrors").ok());
}

TEST_F(ReleaseTest, RotateLeavesStagedTargetsStaged) {
  // Rotating the targets key re-signs what was published, not what is staged.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  ASSERT_TRUE(repo->AddTarget("a.txt", MakeFile("a.txt", "A"), std::nullopt).ok());
  ASSERT_TRUE(repo->Rotate("targets").ok());
  EXPECT_TRUE(Envelope(repo_ / "metadata" / "targets.json").signed_json().at("targets").empty());
  auto published = repo->Publish();
  ASSERT_TRUE(published.ok());
  EXPECT_TRUE(published->targets_changed);
  ExpectVerifies();
}

TEST_F(ReleaseTest, InterruptedTimestampRotationIsRepairedByRefresh) {
  // A rotate that wrote the new root but not the new timestamp does not
  // lock the publisher out: Open works and refresh-timestamp repairs it.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  std::string old_timestamp = ReadFileOrEmpty(repo_ / "metadata" / "timestamp.json");
  ASSERT_TRUE(repo->Rotate("timestamp").ok());
  repo.reset();
  WriteAll(repo_ / "metadata" / "timestamp.json", old_timestamp);  // Signed by the retired key.
  EXPECT_FALSE(VerifyRepository(repo_, std::nullopt, Now()).ok());
  auto reopened = Repository::Open(repo_, keys_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ASSERT_TRUE((*reopened)->RefreshTimestamp().ok());
  ExpectVerifies();
}

TEST_F(ReleaseTest, InterruptedSnapshotRotationIsRepairedByPublish) {
  // A snapshot signed by a rotated-out key is never re-used by
  // refresh-timestamp (which would vouch for it); publish re-signs it.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  std::string old_timestamp = ReadFileOrEmpty(repo_ / "metadata" / "timestamp.json");
  ASSERT_TRUE(repo->Rotate("snapshot").ok());
  repo.reset();
  WriteAll(repo_ / "metadata" / "timestamp.json", old_timestamp);  // Points at the old snapshot.
  auto reopened = Repository::Open(repo_, keys_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto refreshed = (*reopened)->RefreshTimestamp();
  ASSERT_FALSE(refreshed.ok());
  EXPECT_NE(refreshed.status().message().find("run `publish`"), std::string::npos);
  ASSERT_TRUE((*reopened)->Publish().ok());
  ExpectVerifies();
}

// Rewrites the "signed" part of a metadata file in place, keeping its
// (now invalid) signatures: what someone who can write REPO but not KEYS
// can do.
void EditSigned(const fs::path& path, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json file = nlohmann::json::parse(ReadFileOrEmpty(path));
  edit(file["signed"]);
  WriteAll(path, file.dump());
}

nlohmann::json ForeignDelegation() {
  return {{"keys", nlohmann::json::object()},
          {"roles",
           {{{"name", "evil"},
             {"keyids", {std::string(64, 'a')}},
             {"threshold", 1},
             {"paths", {"*"}},
             {"terminating", true}}}}};
}

TEST_F(ReleaseTest, RefusesToResignTamperedTimestamp) {
  // A timestamp.json whose version was raised without our keys is never the
  // basis of a signed timestamp (fail closed: Open refuses, nothing signed).
  ASSERT_NE(InitRepo(), nullptr);
  const fs::path timestamp = repo_ / "metadata" / "timestamp.json";
  EditSigned(timestamp, [](nlohmann::json& signed_json) { signed_json["version"] = 9007199254740991; });
  const std::string tampered = ReadFileOrEmpty(timestamp);
  auto reopened = Repository::Open(repo_, keys_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_NE(reopened.status().message().find("timestamp.json is not signed"), std::string::npos)
      << reopened.status().message();
  EXPECT_EQ(ReadFileOrEmpty(timestamp), tampered);
  // The command line refuses the same way.
  auto cli = testing::RunProcess(
      {BELLWETHER_RELEASE_BINARY, "refresh-timestamp", "--repo", repo_.string(), "--keys", keys_.string()},
      (temp_->path() / "out").string());
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_EQ(ReadFileOrEmpty(timestamp), tampered);
}

TEST_F(ReleaseTest, RefusesToResignTimestampSignedByForeignKey) {
  // A validly signed timestamp is still refused when the signing key is not
  // one of ours (the root's, or one a rotate replaced).
  ASSERT_NE(InitRepo(), nullptr);
  const fs::path timestamp = repo_ / "metadata" / "timestamp.json";
  nlohmann::json file = nlohmann::json::parse(ReadFileOrEmpty(timestamp));
  file["signed"]["version"] = 9007199254740991;
  auto foreign = tuf::PrivateKey::Generate(tuf::KeyAlgorithm::kEd25519);
  ASSERT_TRUE(foreign.ok());
  auto envelope = tuf::SignedEnvelope::Create(file["signed"]);
  ASSERT_TRUE(envelope.ok());
  ASSERT_TRUE(envelope->AddSignature(*foreign).ok());
  WriteAll(timestamp, envelope->Serialize());
  EXPECT_FALSE(Repository::Open(repo_, keys_).ok());
  EXPECT_EQ(VersionOf(timestamp), 9007199254740991);  // Untouched, not re-signed.
}

TEST_F(ReleaseTest, RefusesToResignTamperedTargetsOrSnapshot) {
  // Delegations added to targets, or entries added to the snapshot, without
  // our keys are never copied into newly signed metadata.
  ASSERT_NE(InitRepo(), nullptr);
  const fs::path metadata = repo_ / "metadata";
  for (const char* name : {"1.targets.json", "1.snapshot.json"}) {
    const std::string original = ReadFileOrEmpty(metadata / name);
    EditSigned(metadata / name, [&](nlohmann::json& signed_json) {
      if (std::string(name) == "1.targets.json") {
        signed_json["delegations"] = ForeignDelegation();
      } else {
        signed_json["meta"]["evil.json"] = {{"version", 1}};
      }
    });
    auto reopened = Repository::Open(repo_, keys_);
    ASSERT_FALSE(reopened.ok()) << name;
    EXPECT_NE(reopened.status().message().find(std::string(name) + " is not signed"), std::string::npos)
        << reopened.status().message();
    EXPECT_FALSE(fs::exists(metadata / "2.targets.json")) << name;
    EXPECT_FALSE(fs::exists(metadata / "2.snapshot.json")) << name;
    WriteAll(metadata / name, original);
  }
  ExpectVerifies();
}

TEST_F(ReleaseTest, PublishSignsOnlyWhatOpenVerified) {
  // Metadata replaced after Open is not re-read: the next snapshot lists
  // only what the verified snapshot listed.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  EditSigned(repo_ / "metadata" / "1.snapshot.json", [](nlohmann::json& signed_json) {
    signed_json["meta"]["evil.json"] = {{"version", 1}};
  });
  const std::string verified_targets = ReadFileOrEmpty(repo_ / "metadata" / "1.targets.json");
  EditSigned(repo_ / "metadata" / "1.targets.json",
             [](nlohmann::json& signed_json) { signed_json["delegations"] = ForeignDelegation(); });
  auto published = repo->Publish();
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  EXPECT_FALSE(published->targets_changed);
  nlohmann::json snapshot = Envelope(repo_ / "metadata" / "2.snapshot.json").signed_json();
  EXPECT_FALSE(snapshot["meta"].contains("evil.json"));
  // The snapshot vouches for the targets bytes that were verified, so the
  // tampered 1.targets.json fails verification instead of being vouched for.
  EXPECT_EQ(snapshot["meta"]["targets.json"]["hashes"]["sha256"],
            crypto::HexEncode(crypto::Sha256(verified_targets)));
  EXPECT_FALSE(VerifyRepository(repo_, std::nullopt, Now()).ok());
}

TEST_F(ReleaseTest, RefreshTimestampBumpsVersionAndExpiry) {
  // The cron job's command: new version, later expiry, same snapshot.
  auto start = Now();
  {
    auto repo = Repository::Init(repo_, keys_, {}, [start] { return start; });
    ASSERT_TRUE(repo.ok());
  }
  tuf::SignedEnvelope before = Envelope(repo_ / "metadata" / "timestamp.json");
  auto later = start + std::chrono::hours(20);
  auto repo = Repository::Open(repo_, keys_, [later] { return later; });
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  auto version = (*repo)->RefreshTimestamp();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 2);
  tuf::SignedEnvelope after = Envelope(repo_ / "metadata" / "timestamp.json");
  auto before_meta = tuf::TimestampMetadata::FromJson(before.signed_json());
  auto after_meta = tuf::TimestampMetadata::FromJson(after.signed_json());
  ASSERT_TRUE(before_meta.ok() && after_meta.ok());
  EXPECT_EQ(after_meta->header.expires - before_meta->header.expires, std::chrono::hours(20));
  EXPECT_EQ(after_meta->snapshot_meta.ToJson(), before_meta->snapshot_meta.ToJson());
  // Past the first timestamp's expiry, only the refreshed one verifies.
  ExpectVerifies(start + std::chrono::hours(30));
}

TEST_F(ReleaseTest, RefreshTimestampRevivesExpiredRepository) {
  // A repository whose timestamp expired is valid again after a refresh.
  auto start = Now() - std::chrono::days(5);
  ASSERT_TRUE(Repository::Init(repo_, keys_, {}, [start] { return start; }).ok());
  EXPECT_FALSE(VerifyRepository(repo_, std::nullopt, Now()).ok());
  auto repo = Repository::Open(repo_, keys_);
  ASSERT_TRUE(repo.ok());
  ASSERT_TRUE((*repo)->RefreshTimestamp().ok());
  ExpectVerifies();
}

TEST_F(ReleaseTest, ThresholdGeneratesThatManyKeysAndSignsWithAll) {
  // --threshold targets=2: two targets keys, both sign targets.json.
  InitOptions options;
  options.thresholds["targets"] = 2;
  auto repo = InitRepo(options);
  ASSERT_NE(repo, nullptr);
  const tuf::RoleKeys* targets = repo->root().FindRole("targets");
  EXPECT_EQ(targets->threshold, 2);
  EXPECT_EQ(targets->keyids.size(), 2u);
  EXPECT_EQ(Envelope(repo_ / "metadata" / "targets.json").signatures().size(), 2u);
  ASSERT_TRUE(repo->Rotate("targets").ok());
  EXPECT_EQ(repo->root().FindRole("targets")->keyids.size(), 2u);
  ExpectVerifies();
}

TEST_F(ReleaseTest, PublishFailsWithoutEnoughKeys) {
  // A missing (offline) key below the threshold is an error, not a weak file.
  InitOptions options;
  options.thresholds["targets"] = 2;
  ASSERT_NE(InitRepo(options), nullptr);
  fs::remove(fs::directory_iterator(keys_ / "targets")->path());
  auto repo = Repository::Open(repo_, keys_);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  ASSERT_TRUE((*repo)->AddTarget("a.txt", MakeFile("a.txt", "A"), std::nullopt).ok());
  std::string before = ReadFileOrEmpty(repo_ / "metadata" / "timestamp.json");
  auto published = (*repo)->Publish();
  ASSERT_FALSE(published.ok());
  EXPECT_NE(published.status().message().find("1 of the 2"), std::string::npos)
      << published.status().message();
  EXPECT_EQ(ReadFileOrEmpty(repo_ / "metadata" / "timestamp.json"), before);
}

TEST_F(ReleaseTest, EcdsaRepositoryVerifies) {
  // --key-type ecdsa-p256 produces ecdsa-sha2-nistp256 keys that verify.
  InitOptions options;
  options.key_algorithm = tuf::KeyAlgorithm::kEcdsaP256;
  auto repo = InitRepo(options);
  ASSERT_NE(repo, nullptr);
  EXPECT_EQ(repo->root().keys.begin()->second.scheme(), "ecdsa-sha2-nistp256");
  ASSERT_TRUE(repo->AddTarget("a.txt", MakeFile("a.txt", "A"), std::nullopt).ok());
  ASSERT_TRUE(repo->Publish().ok());
  ASSERT_TRUE(repo->Rotate("root").ok());
  ExpectVerifies();
}

TEST_F(ReleaseTest, NonConsistentRepositoryVerifies) {
  // Without consistent snapshots the plain names are what clients read.
  auto repo = PublishedPlainRepo();
  ASSERT_NE(repo, nullptr);
  ExpectVerifies();
  WriteAll(repo_ / "targets" / "a.txt", "B");
  EXPECT_FALSE(VerifyRepository(repo_, std::nullopt, Now()).ok());
}

TEST_F(ReleaseTest, PublishWritesTargetCopiesBeforeMetadataAndTimestampLast) {
  // Without consistent snapshots the plain names are replaced in place: a
  // publish that cannot write a plain target copy leaves targets.json,
  // snapshot.json and timestamp.json as they were (the repository stays
  // valid), and a publish that cannot sign writes no target copy.
  InitOptions options;
  options.consistent_snapshot = false;
  auto repo = InitRepo(options);
  ASSERT_NE(repo, nullptr);
  const fs::path metadata = repo_ / "metadata";
  ASSERT_TRUE(repo->AddTarget("a.txt", MakeFile("a.txt", "A"), std::nullopt).ok());
  ASSERT_TRUE(repo->AddTarget("b/c.txt", MakeFile("c.txt", "C"), std::nullopt).ok());
  fs::create_directories(repo_ / "targets" / "b" / "c.txt");  // The plain copy cannot be written.
  std::map<std::string, std::string> before;
  for (const char* name : {"targets.json", "snapshot.json", "timestamp.json"}) {
    before[name] = ReadFileOrEmpty(metadata / name);
  }
  EXPECT_FALSE(repo->Publish().ok());
  for (const auto& [name, bytes] : before) EXPECT_EQ(ReadFileOrEmpty(metadata / name), bytes) << name;
  EXPECT_FALSE(fs::exists(metadata / "2.targets.json"));
  ExpectVerifies();

  repo.reset();  // Releases the lock on KEYS.
  fs::remove(repo_ / "targets" / "b" / "c.txt");
  fs::remove(fs::directory_iterator(keys_ / "snapshot")->path());  // Signing will fail.
  fs::remove(repo_ / "targets" / "a.txt");
  auto reopened = Repository::Open(repo_, keys_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_FALSE((*reopened)->Publish().ok());
  EXPECT_FALSE(fs::exists(repo_ / "targets" / "a.txt"));
  for (const auto& [name, bytes] : before) EXPECT_EQ(ReadFileOrEmpty(metadata / name), bytes) << name;
}

TEST_F(ReleaseTest, VerifyFailsOnTamperedTarget) {
  // A target file that differs from its entry (same length) is caught.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  ASSERT_TRUE(repo->AddTarget("a.txt", MakeFile("a.txt", "AAAA"), std::nullopt).ok());
  ASSERT_TRUE(repo->Publish().ok());
  ExpectVerifies();
  for (const auto& entry : fs::directory_iterator(repo_ / "targets")) {
    if (entry.path().filename().string().ends_with(".a.txt")) WriteAll(entry.path(), "AAAB");
  }
  EXPECT_FALSE(VerifyRepository(repo_, std::nullopt, Now()).ok());
}

TEST_F(ReleaseTest, VerifyFailsOnTamperedMetadata) {
  // Editing signed content (here: the expiry) breaks the signature.
  ASSERT_NE(InitRepo(), nullptr);
  fs::path path = repo_ / "metadata" / "timestamp.json";
  nlohmann::json json = nlohmann::json::parse(ReadFileOrEmpty(path));
  json["signed"]["expires"] = "2099-01-01T00:00:00Z";
  WriteAll(path, json.dump());
  auto report = VerifyRepository(repo_, std::nullopt, Now());
  EXPECT_FALSE(report.ok());
}

// Re-signs targets.json of a repository without consistent snapshots after
// `edit`, with the repository's real keys, and the snapshot and timestamp
// over it: metadata a compromised targets key could publish.
void ForgeTargets(const Repository& repo, const fs::path& metadata,
                  const std::function<void(nlohmann::json&)>& edit) {
  auto sign = [&](const std::string& role, const nlohmann::json& signed_json) {
    auto envelope = tuf::SignedEnvelope::Create(signed_json);
    EXPECT_TRUE(envelope.ok());
    for (const auto& key : repo.SigningKeys(role)) EXPECT_TRUE(envelope->AddSignature(key).ok());
    return envelope->Serialize();
  };
  auto meta_for = [](const nlohmann::json& signed_json, const std::string& bytes) {
    return nlohmann::json{{"version", signed_json["version"]},
                          {"length", bytes.size()},
                          {"hashes", {{"sha256", crypto::HexEncode(crypto::Sha256(bytes))}}}};
  };
  nlohmann::json targets = Envelope(metadata / "targets.json").signed_json();
  edit(targets);
  const std::string targets_bytes = sign("targets", targets);
  WriteAll(metadata / "targets.json", targets_bytes);
  nlohmann::json snapshot = Envelope(metadata / "snapshot.json").signed_json();
  snapshot["meta"]["targets.json"] = meta_for(targets, targets_bytes);
  const std::string snapshot_bytes = sign("snapshot", snapshot);
  WriteAll(metadata / "snapshot.json", snapshot_bytes);
  nlohmann::json timestamp = Envelope(metadata / "timestamp.json").signed_json();
  timestamp["meta"]["snapshot.json"] = meta_for(snapshot, snapshot_bytes);
  WriteAll(metadata / "timestamp.json", sign("timestamp", timestamp));
}

TEST_F(ReleaseTest, VerifyRefusesTargetPathsOutsideTheRepository) {
  // A listed target "/abs/path" or "../x" would make `verify` read a file
  // outside REPO/targets; it is refused like `add` refuses it.
  InitOptions options;
  options.consistent_snapshot = false;
  auto repo = InitRepo(options);
  ASSERT_NE(repo, nullptr);
  const fs::path outside = MakeFile("outside.txt", "secret");
  ExpectVerifies();
  for (const std::string& path :
       {outside.string(), std::string("../outside.txt"), std::string("a/../../b")}) {
    ForgeTargets(*repo, repo_ / "metadata", [&](nlohmann::json& targets) {
      targets["targets"] = {{path, tuf::TargetFile::FromData(path, "secret").ToJson()}};
    });
    auto report = VerifyRepository(repo_, std::nullopt, Now());
    ASSERT_FALSE(report.ok()) << path;
    EXPECT_NE(report.status().message().find("not a safe relative path"), std::string::npos)
        << report.status().message();
  }
}

TEST_F(ReleaseTest, VerifyHandlesHugeListedLength) {
  // A listed length of INT64_MAX neither overflows the read limit nor reads
  // more than `add` would accept: the file is simply the wrong length.
  auto repo = PublishedPlainRepo();
  ASSERT_NE(repo, nullptr);
  ExpectVerifies();
  ForgeTargets(*repo, repo_ / "metadata", [](nlohmann::json& targets) {
    targets["targets"]["a.txt"]["length"] = std::numeric_limits<std::int64_t>::max();
  });
  auto report = VerifyRepository(repo_, std::nullopt, Now());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("target file"), std::string::npos) << report.status().message();
  EXPECT_EQ(report.status().message().find("larger than -"), std::string::npos) << report.status().message();
}

TEST_F(ReleaseTest, VerifyFailsWhenRootJsonIsNotTheNewestRoot) {
  // root.json must be the end of the chain a client walks.
  auto repo = InitRepo();
  ASSERT_NE(repo, nullptr);
  ASSERT_TRUE(repo->Rotate("root").ok());
  fs::copy_file(repo_ / "metadata" / "1.root.json", repo_ / "metadata" / "root.json",
                fs::copy_options::overwrite_existing);
  EXPECT_FALSE(VerifyRepository(repo_, std::nullopt, Now()).ok());
}

TEST_F(ReleaseTest, VerifyWithForeignTrustedRootFails) {
  // verify --root: a root from another repository does not vouch for this one.
  ASSERT_NE(InitRepo(), nullptr);
  auto other = Repository::Init(temp_->path() / "other", temp_->path() / "other-keys", {});
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(VerifyRepository(repo_, temp_->path() / "other" / "metadata" / "1.root.json", Now()).ok());
  EXPECT_TRUE(VerifyRepository(repo_, repo_ / "metadata" / "1.root.json", Now()).ok());
}

TEST_F(ReleaseTest, VerifyFailsWhenExpired) {
  // verify applies the clock: past the timestamp's expiry it fails.
  ASSERT_NE(InitRepo(), nullptr);
  EXPECT_FALSE(VerifyRepository(repo_, std::nullopt, Now() + std::chrono::days(2)).ok());
}

TEST_F(ReleaseTest, OneRepositoryObjectAtATimePerKeysDirectory) {
  // A cron refresh-timestamp cannot interleave with a publish: the second
  // opener waits for the lock, then fails; it succeeds once the first is done.
  auto first = InitRepo();
  ASSERT_NE(first, nullptr);
  auto second = Repository::Open(repo_, keys_, SystemClock(), std::chrono::milliseconds(100));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kUpdateInProgress);
  first.reset();
  EXPECT_TRUE(Repository::Open(repo_, keys_, SystemClock(), std::chrono::milliseconds(100)).ok());
}

TEST_F(ReleaseTest, WritesAtomicallyWithRequestedMode) {
  // No temporary files are left behind, and the mode is exact despite umask.
  fs::path file = temp_->path() / "f.json";
  ASSERT_TRUE(WriteFileAtomically(file, "one", 0644).ok());
  ASSERT_TRUE(WriteFileAtomically(file, "two", 0600).ok());
  EXPECT_EQ(ReadFileOrEmpty(file), "two");
  EXPECT_EQ(ModeOf(file), 0600u);
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(temp_->path())) ++entries;
  EXPECT_EQ(entries, 1);
}

// --- The command line ---------------------------------------------------

class ReleaseCliTest : public ReleaseTest {
 protected:
  testing::ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), BELLWETHER_RELEASE_BINARY);
    return testing::RunProcess(args, (temp_->path() / "out").string());
  }
};

TEST_F(ReleaseCliTest, FullRoundTripExitsZero) {
  // init, add, publish, rotate, refresh-timestamp, verify all succeed.
  const std::string repo = repo_.string();
  const std::string keys = keys_.string();
  fs::path pack = MakeFile("pack.json", "{\"edition\":1}");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"init", "--repo", repo, "--keys", keys, "--threshold", "root=2", "--expires", "timestamp=2"},
           {"add", "--repo", repo, "--keys", keys, "--target-name", "content/pack.json", "--custom",
            "{\"edition\":1}", pack.string()},
           {"publish", "--repo", repo, "--keys", keys},
           {"rotate", "--repo", repo, "--keys", keys, "--role", "root"},
           {"rotate", "--role", "snapshot", "--repo", repo, "--keys", keys},
           {"refresh-timestamp", "--repo", repo, "--keys", keys},
           {"verify", "--repo", repo},
           {"verify", "--repo", repo, "--root", repo + "/metadata/1.root.json"}}) {
    auto result = Run(args);
    EXPECT_EQ(result.exit_code, 0) << args[0] << ": " << result.stderr_text;
  }
  EXPECT_EQ(VersionOf(repo_ / "metadata" / "root.json"), 3);
  // Root v2 (root rotation) carries 2 old + 2 new signatures; v3 (snapshot
  // rotation) the 2 current root keys.
  EXPECT_EQ(Envelope(repo_ / "metadata" / "2.root.json").signatures().size(), 4u);
  EXPECT_EQ(Envelope(repo_ / "metadata" / "3.root.json").signatures().size(), 2u);
}

TEST_F(ReleaseCliTest, FailuresExitOneWithMessage) {
  // Usage errors and refused operations exit 1 and explain on stderr.
  const std::string repo = repo_.string();
  auto inside = Run({"init", "--repo", repo, "--keys", repo + "/keys"});
  EXPECT_EQ(inside.exit_code, 1);
  EXPECT_NE(inside.stderr_text.find("inside the repository"), std::string::npos);
  EXPECT_EQ(Run({"frobnicate"}).exit_code, 1);
  EXPECT_EQ(Run({}).exit_code, 1);
  EXPECT_EQ(Run({"init", "--repo", repo}).exit_code, 1);
  EXPECT_EQ(Run({"init", "--repo", repo, "--keys", keys_.string(), "--threshold", "root=0"}).exit_code, 1);
  EXPECT_EQ(Run({"init", "--repo", repo, "--keys", keys_.string(), "--key-type", "dsa"}).exit_code, 1);
  EXPECT_EQ(Run({"verify", "--repo", repo}).exit_code, 1);  // Nothing there yet.
  EXPECT_EQ(Run({"--help"}).exit_code, 0);
}

TEST_F(ReleaseCliTest, VerifyExitsOneOnTamperedRepository) {
  // `verify` is usable as a gate before upload.
  const std::string repo = repo_.string();
  ASSERT_EQ(Run({"init", "--repo", repo, "--keys", keys_.string()}).exit_code, 0);
  ASSERT_EQ(Run({"verify", "--repo", repo}).exit_code, 0);
  fs::path targets = repo_ / "metadata" / "1.targets.json";
  std::string bytes = ReadFileOrEmpty(targets);
  WriteAll(targets, bytes + " ");
  auto result = Run({"verify", "--repo", repo});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_FALSE(result.stderr_text.empty());
}

}  // namespace
}  // namespace bellwether::release
