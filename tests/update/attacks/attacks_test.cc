// The attacks TUF protects against (spec 1.5.2), each played against a real
// client over real HTTPS: a repository made by bellwether_release in a temp
// dir, served by Debian's nginx on 127.0.0.1 with a throwaway CA
// (tests/support/https_server.h), and the bellwether-tuf-client binary as
// the client. The attacker controls the server's files and, where a test
// says so, some online keys (snapshot, timestamp). Every test first lets the
// client reach a good state, then attacks, then checks that the refresh or
// download fails (exit 1) and that what the client trusted before — its
// metadata files and the downloaded target — is still in place.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/digest.h"
#include "repository.h"
#include "support/https_server.h"
#include "update/release/run_process.h"
#include "update/tuf/keys.h"
#include "update/tuf/metadata.h"

namespace bellwether {
namespace {

namespace fs = std::filesystem;
using release::InitOptions;
using release::Repository;
using testing::HttpsServer;
using testing::ProcessResult;
using testing::TempDir;

constexpr char kPack[] = "content/pack.json";
// Where bellwether-tuf-client stores kPack (percent-encoded path).
constexpr char kPackFile[] = "content%2Fpack.json";
const std::string kPackV1 = "{\"title\":\"Japan-US trade analysis\",\"edition\":1}\n";
const std::string kPackV2 = "{\"title\":\"Japan-US trade analysis\",\"edition\":2,\"x\":1}\n";

using testing::ReadFileOrEmpty;

void WriteAll(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Every regular file below `dir`, relative name -> bytes.
std::map<std::string, std::string> Files(const fs::path& dir) {
  std::map<std::string, std::string> files;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[fs::relative(entry.path(), dir).string()] = ReadFileOrEmpty(entry.path());
    }
  }
  return files;
}

std::string Sha256Hex(std::string_view data) {
  return crypto::HexEncode(crypto::Sha256(data));
}

tuf::TimePoint Now() {
  return release::SystemClock()();
}

std::string Expires(std::chrono::days from_now) {
  return tuf::FormatDateTime(Now() + from_now);
}

class AttackTest : public ::testing::Test {
 protected:
  struct ClientState {
    std::map<std::string, std::string> metadata;
    std::map<std::string, std::string> targets;
  };

  void SetUp() override {
    auto dir = TempDir::Create("bw-attack-test");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    temp_ = std::move(dir).value();
    repo_ = temp_->path() / "repo";
    keys_ = temp_->path() / "keys";
    client_metadata_ = temp_->path() / "client" / "metadata";
    client_targets_ = temp_->path() / "client" / "targets";
  }

  // A repository with kPack v1 published, served over HTTPS, and a client
  // that downloaded kPack: the "previous good state" of every test.
  void Prepare(const InitOptions& options = {}) {
    auto repo = Repository::Init(repo_, keys_, options);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repository_ = std::move(repo).value();
    ASSERT_NO_FATAL_FAILURE(AddPack(kPackV1));
    ASSERT_TRUE(repository_->Publish().ok());

    HttpsServer::Options server_options;
    server_options.root = repo_;
    // The same files, throttled to 2 kB/s, for the slow-server test.
    server_options.locations.push_back({"/slow/", "alias " + repo_.string() + "/;\n      limit_rate 2048;"});
    auto server = HttpsServer::Start(server_options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();

    fs::create_directories(client_metadata_);
    ProcessResult init = RunClient(
        {"--metadata-dir", client_metadata_.string(), "init", (repo_ / "metadata" / "1.root.json").string()});
    ASSERT_EQ(init.exit_code, 0) << init.stderr_text;
    ProcessResult first = Download();
    ASSERT_EQ(first.exit_code, 0) << first.stderr_text;
    ASSERT_EQ(ReadFileOrEmpty(client_targets_ / kPackFile), kPackV1);
  }

  void AddPack(const std::string& content) {
    fs::path file = temp_->path() / "pack.json";
    WriteAll(file, content);
    Status added = repository_->AddTarget(kPack, file, std::nullopt);
    ASSERT_TRUE(added.ok()) << added.ToString();
  }

  void PublishPack(const std::string& content) {
    ASSERT_NO_FATAL_FAILURE(AddPack(content));
    auto published = repository_->Publish();
    ASSERT_TRUE(published.ok()) << published.status().ToString();
  }

  ProcessResult RunClient(std::vector<std::string> args, const std::string& faketime = "") {
    std::vector<std::string> argv;
    if (!faketime.empty()) {
      EXPECT_TRUE(fs::exists(BELLWETHER_FAKETIME_BINARY)) << "faketime is required (Debian package faketime)";
      argv = {BELLWETHER_FAKETIME_BINARY, "-m", "-f", faketime};
    }
    argv.push_back(BELLWETHER_TUF_CLIENT_BINARY);
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunProcess(argv, (temp_->path() / "client-output").string(), std::chrono::seconds(60));
  }

  std::vector<std::string> CommonArgs(const std::string& ca_bundle) {
    return {"--metadata-dir", client_metadata_.string(),
            "--metadata-url", server_->Url("metadata/"),
            "--ca-bundle",    ca_bundle.empty() ? server_->ca_cert_path().string() : ca_bundle};
  }

  ProcessResult Refresh(const std::string& faketime = "", const std::string& ca_bundle = "") {
    std::vector<std::string> args = CommonArgs(ca_bundle);
    args.push_back("refresh");
    return RunClient(args, faketime);
  }

  ProcessResult Download(const std::string& target_base_path = "targets/",
                         std::vector<std::string> extra = {}) {
    std::vector<std::string> args = CommonArgs("");
    args.insert(args.end(), extra.begin(), extra.end());
    for (const std::string& a :
         {std::string("--target-name"), std::string(kPack), std::string("--target-base-url"),
          server_->Url(target_base_path), std::string("--target-dir"), client_targets_.string(),
          std::string("download")}) {
      args.push_back(a);
    }
    return RunClient(args);
  }

  ClientState State() { return {Files(client_metadata_), Files(client_targets_)}; }

  static void ExpectFailedWith(const ProcessResult& result, std::string_view reason) {
    EXPECT_EQ(result.exit_code, 1) << "the client accepted the attack:\n" << result.stderr_text;
    EXPECT_NE(result.stderr_text.find(reason), std::string::npos)
        << "expected " << reason << ", got: " << result.stderr_text;
  }

  // The refresh/download failed for the expected reason (the stable error
  // code name the client prints, e.g. "update_rollback"), and nothing the
  // client trusted changed.
  void ExpectRefusedAndKept(const ProcessResult& result, const ClientState& before, std::string_view reason) {
    EXPECT_EQ(result.exit_code, 1) << "the client accepted the attack:\n" << result.stderr_text;
    EXPECT_NE(result.stderr_text.find(reason), std::string::npos)
        << "expected " << reason << ", got: " << result.stderr_text;
    ClientState after = State();
    EXPECT_EQ(after.metadata, before.metadata) << "trusted metadata changed";
    EXPECT_EQ(after.targets, before.targets) << "downloaded targets changed";
  }

  // Failed; the named metadata files and every target are unchanged (the
  // attack sits below them: metadata above it was valid and may be newer).
  void ExpectRefusedAndKept(const ProcessResult& result, ClientState before,
                            const std::vector<std::string>& metadata_files, std::string_view reason) {
    EXPECT_EQ(result.exit_code, 1) << "the client accepted the attack:\n" << result.stderr_text;
    EXPECT_NE(result.stderr_text.find(reason), std::string::npos)
        << "expected " << reason << ", got: " << result.stderr_text;
    ClientState after = State();
    for (const std::string& name : metadata_files) {
      EXPECT_EQ(after.metadata[name], before.metadata[name]) << name << " changed";
    }
    EXPECT_EQ(after.targets, before.targets) << "downloaded targets changed";
  }

  // --- Forging metadata, as an attacker with some keys would ---

  fs::path Metadata(const std::string& name) const { return repo_ / "metadata" / name; }
  std::string Get(const std::string& name) const { return ReadFileOrEmpty(Metadata(name)); }
  void Put(const std::string& name, std::string_view bytes) const { WriteAll(Metadata(name), bytes); }

  nlohmann::json SignedPart(const std::string& name) const {
    auto envelope = tuf::SignedEnvelope::Parse(Get(name));
    EXPECT_TRUE(envelope.ok()) << name;
    return envelope.ok() ? envelope->signed_json() : nlohmann::json();
  }

  static std::string Sign(const nlohmann::json& signed_json, const std::vector<tuf::PrivateKey>& keys) {
    auto envelope = tuf::SignedEnvelope::Create(signed_json);
    EXPECT_TRUE(envelope.ok());
    for (const auto& key : keys) EXPECT_TRUE(envelope->AddSignature(key).ok());
    return envelope->Serialize();
  }

  std::vector<tuf::PrivateKey> Keys(std::string_view role) const { return repository_->SigningKeys(role); }

  static tuf::PrivateKey AttackerKey() {
    auto key = tuf::PrivateKey::Generate(tuf::KeyAlgorithm::kEd25519);
    EXPECT_TRUE(key.ok());
    return std::move(key).value();
  }

  // The retired (revoked) private key of `role`, from KEYS/retired/.
  tuf::PrivateKey RetiredKey(const std::string& role) const {
    fs::path file = fs::directory_iterator(keys_ / "retired" / role)->path();
    auto key = tuf::PrivateKey::FromPem(ReadFileOrEmpty(file));
    EXPECT_TRUE(key.ok());
    return std::move(key).value();
  }

  static nlohmann::json MetaFor(std::int64_t version, std::string_view bytes) {
    return {{"version", version}, {"length", bytes.size()}, {"hashes", {{"sha256", Sha256Hex(bytes)}}}};
  }

  std::int64_t CurrentSnapshotVersion() const {
    return SignedPart("timestamp.json")["meta"]["snapshot.json"]["version"].get<std::int64_t>();
  }

  std::string CurrentSnapshotName() const {
    return std::to_string(CurrentSnapshotVersion()) + ".snapshot.json";
  }

  // With the online snapshot and timestamp keys: a new snapshot listing
  // `targets_bytes` as targets version `targets_version`, and a new
  // timestamp listing that snapshot.
  void ChainSnapshotAndTimestamp(std::string_view targets_bytes, std::int64_t targets_version) {
    nlohmann::json snapshot = SignedPart(CurrentSnapshotName());
    const std::int64_t snapshot_version = snapshot["version"].get<std::int64_t>() + 1;
    snapshot["version"] = snapshot_version;
    snapshot["meta"]["targets.json"] = MetaFor(targets_version, targets_bytes);
    std::string snapshot_bytes = Sign(snapshot, Keys("snapshot"));
    Put(std::to_string(snapshot_version) + ".snapshot.json", snapshot_bytes);
    nlohmann::json timestamp = SignedPart("timestamp.json");
    timestamp["version"] = timestamp["version"].get<std::int64_t>() + 1;
    timestamp["meta"]["snapshot.json"] = MetaFor(snapshot_version, snapshot_bytes);
    Put("timestamp.json", Sign(timestamp, Keys("timestamp")));
  }

  // A new targets version listing `content` as kPack, signed by `keys`, its
  // bytes served under the consistent names; returns the metadata bytes.
  std::string ForgeTargets(const std::string& content, const std::vector<tuf::PrivateKey>& keys) {
    const std::string current =
        std::to_string(
            SignedPart(CurrentSnapshotName())["meta"]["targets.json"]["version"].get<std::int64_t>()) +
        ".targets.json";
    nlohmann::json targets = SignedPart(current);
    const std::int64_t version = targets["version"].get<std::int64_t>() + 1;
    targets["version"] = version;
    tuf::TargetFile entry = tuf::TargetFile::FromData(kPack, content);
    targets["targets"][kPack] = entry.ToJson();
    for (const auto& [algorithm, hash] : entry.hashes) {
      WriteAll(repo_ / "targets" / tuf::ConsistentTargetPath(kPack, hash), content);
    }
    std::string bytes = Sign(targets, keys);
    Put(std::to_string(version) + ".targets.json", bytes);
    return bytes;
  }

  std::int64_t TargetsVersionOf(std::string_view bytes) const {
    auto envelope = tuf::SignedEnvelope::Parse(bytes);
    EXPECT_TRUE(envelope.ok());
    return envelope->signed_json()["version"].get<std::int64_t>();
  }

  // The served copies of kPack's current entry (one per hash).
  std::vector<fs::path> ServedPackCopies() const {
    nlohmann::json targets = SignedPart("targets.json");
    std::vector<fs::path> copies;
    for (const auto& [algorithm, hash] : targets["targets"][kPack]["hashes"].items()) {
      copies.push_back(repo_ / "targets" / tuf::ConsistentTargetPath(kPack, hash.get<std::string>()));
    }
    return copies;
  }

  std::unique_ptr<TempDir> temp_;
  fs::path repo_;
  fs::path keys_;
  fs::path client_metadata_;
  fs::path client_targets_;
  std::unique_ptr<Repository> repository_;
  std::unique_ptr<HttpsServer> server_;
};

// --- Arbitrary software / metadata -----------------------------------------

TEST_F(AttackTest, RejectsTimestampWithBadSignature) {
  // Arbitrary content: metadata changed after signing is refused.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  nlohmann::json timestamp = nlohmann::json::parse(Get("timestamp.json"));
  std::string sig = timestamp["signatures"][0]["sig"];
  sig[0] = sig[0] == '0' ? '1' : '0';
  timestamp["signatures"][0]["sig"] = sig;
  Put("timestamp.json", timestamp.dump());
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, "update_verification");
}

TEST_F(AttackTest, RejectsTargetsSignedByUntrustedKey) {
  // Arbitrary software: an attacker holding the online snapshot and
  // timestamp keys, but not the targets key, cannot list a new pack.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  std::string evil = ForgeTargets("{\"evil\":true}", {AttackerKey()});
  ChainSnapshotAndTimestamp(evil, TargetsVersionOf(evil));
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "targets.json"}, "update_verification");
}

TEST_F(AttackTest, RejectsTargetsBelowSignatureThreshold) {
  // Threshold: with targets threshold 2, one valid signature is not enough.
  InitOptions options;
  options.thresholds["targets"] = 2;
  ASSERT_NO_FATAL_FAILURE(Prepare(options));
  ASSERT_EQ(Keys("targets").size(), 2u);
  std::string evil = ForgeTargets("{\"evil\":true}", {Keys("targets")[0]});
  ChainSnapshotAndTimestamp(evil, TargetsVersionOf(evil));
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "targets.json"}, "update_verification");
}

TEST_F(AttackTest, RejectsOneKeySigningTwiceTowardThreshold) {
  // Threshold: the same key signing twice does not make two signatures
  // (5.6.3; this client even refuses the duplicate keyid outright, 4.2).
  InitOptions options;
  options.thresholds["targets"] = 2;
  ASSERT_NO_FATAL_FAILURE(Prepare(options));
  std::string evil = ForgeTargets("{\"evil\":true}", {Keys("targets")[0]});
  nlohmann::json doubled = nlohmann::json::parse(evil);
  doubled["signatures"].push_back(doubled["signatures"][0]);
  const std::int64_t version = doubled["signed"]["version"].get<std::int64_t>();
  evil = doubled.dump();
  Put(std::to_string(version) + ".targets.json", evil);
  ChainSnapshotAndTimestamp(evil, version);
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "targets.json"}, "update_verification");
}

TEST_F(AttackTest, RejectsTargetsSignedByRevokedKey) {
  // Revocation: after the targets key is rotated, the old key signs nothing.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_TRUE(repository_->Rotate("targets").ok());
  ProcessResult rotated = Download();
  ASSERT_EQ(rotated.exit_code, 0) << rotated.stderr_text;
  std::string evil = ForgeTargets("{\"evil\":true}", {RetiredKey("targets")});
  ChainSnapshotAndTimestamp(evil, TargetsVersionOf(evil));
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "targets.json"}, "update_verification");
}

TEST_F(AttackTest, RejectsRootSignedOnlyByRevokedRootKey) {
  // Revocation: a root signed by a rotated-out root key is not a new root.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_TRUE(repository_->Rotate("root").ok());
  ASSERT_EQ(Refresh().exit_code, 0);
  nlohmann::json root = SignedPart("2.root.json");
  root["version"] = 3;
  tuf::PrivateKey old_root = RetiredKey("root");
  root["keys"][*old_root.KeyId()] = old_root.public_key().ToJson();
  root["roles"]["root"]["keyids"] = nlohmann::json::array({*old_root.KeyId()});
  Put("3.root.json", Sign(root, {old_root}));
  ClientState before = State();
  ExpectRefusedAndKept(Refresh(), before, "update_verification");
}

// --- Rollback ----------------------------------------------------------------

TEST_F(AttackTest, RejectsRollbackOfTimestamp) {
  // Rollback: an older (validly signed) timestamp is refused (5.4.3.1).
  ASSERT_NO_FATAL_FAILURE(Prepare());
  std::string old_timestamp = Get("timestamp.json");
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  ASSERT_EQ(Download().exit_code, 0);
  Put("timestamp.json", old_timestamp);
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, "update_rollback");
}

TEST_F(AttackTest, RejectsRollbackOfSnapshot) {
  // Rollback: even the timestamp key cannot point back to an older
  // snapshot (5.4.3.2).
  ASSERT_NO_FATAL_FAILURE(Prepare());
  const std::string old_snapshot_name = CurrentSnapshotName();
  const std::int64_t old_snapshot_version = CurrentSnapshotVersion();
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  ASSERT_EQ(Download().exit_code, 0);
  nlohmann::json timestamp = SignedPart("timestamp.json");
  timestamp["version"] = timestamp["version"].get<std::int64_t>() + 1;
  timestamp["meta"]["snapshot.json"] = MetaFor(old_snapshot_version, Get(old_snapshot_name));
  Put("timestamp.json", Sign(timestamp, Keys("timestamp")));
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, "update_rollback");
}

TEST_F(AttackTest, RejectsRollbackOfTargets) {
  // Rollback: snapshot and timestamp keys cannot bring back older targets
  // (5.5.5): the old pack stays unlisted.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  const std::int64_t old_version = repository_->targets_version();
  const std::string old_targets = Get(std::to_string(old_version) + ".targets.json");
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  ASSERT_EQ(Download().exit_code, 0);
  ASSERT_EQ(ReadFileOrEmpty(client_targets_ / kPackFile), kPackV2);
  ChainSnapshotAndTimestamp(old_targets, old_version);
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "snapshot.json", "targets.json"}, "update_rollback");
}

TEST_F(AttackTest, RejectsRollbackOfRoot) {
  // Rollback: N+1.root.json must carry version N+1, even when validly signed
  // (5.3.5): here root v1's bytes served as 3.root.json.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_TRUE(repository_->Rotate("timestamp").ok());  // Root v2, same root key.
  ASSERT_EQ(Refresh().exit_code, 0);
  Put("3.root.json", Get("1.root.json"));
  ClientState before = State();
  ExpectRefusedAndKept(Refresh(), before, "update_rollback");
}

// --- Fast-forward and recovery ---------------------------------------------------

TEST_F(AttackTest, RecoversFromTimestampFastForwardAfterKeyRotation) {
  // Fast-forward: a stolen timestamp key pushes the version to 1000; the
  // client then refuses honest timestamps until the timestamp key is
  // rotated, after which it deletes the poisoned timestamp (5.3.11).
  ASSERT_NO_FATAL_FAILURE(Prepare());
  nlohmann::json timestamp = SignedPart("timestamp.json");
  timestamp["version"] = 1000;
  Put("timestamp.json", Sign(timestamp, Keys("timestamp")));
  ASSERT_EQ(Refresh().exit_code, 0);  // Validly signed: the client must accept it.

  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));  // Honest timestamp v3.
  ClientState stuck = State();
  ExpectRefusedAndKept(Download(), stuck, "update_rollback");

  auto rotated = repository_->Rotate("timestamp");
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  ProcessResult recovered = Download();
  EXPECT_EQ(recovered.exit_code, 0) << recovered.stderr_text;
  EXPECT_EQ(ReadFileOrEmpty(client_metadata_ / "timestamp.json"), Get("timestamp.json"));
  EXPECT_EQ(ReadFileOrEmpty(client_targets_ / kPackFile), kPackV2);
}

TEST_F(AttackTest, RecoversFromSnapshotFastForwardAfterKeyRotation) {
  // Fast-forward: stolen snapshot and timestamp keys push the snapshot
  // version to 1000; honest snapshots are refused until the snapshot key is
  // rotated (5.3.11 deletes the trusted timestamp and snapshot).
  ASSERT_NO_FATAL_FAILURE(Prepare());
  nlohmann::json snapshot = SignedPart(CurrentSnapshotName());
  snapshot["version"] = 1000;
  std::string snapshot_bytes = Sign(snapshot, Keys("snapshot"));
  Put("1000.snapshot.json", snapshot_bytes);
  nlohmann::json timestamp = SignedPart("timestamp.json");
  timestamp["version"] = timestamp["version"].get<std::int64_t>() + 1;
  timestamp["meta"]["snapshot.json"] = MetaFor(1000, snapshot_bytes);
  Put("timestamp.json", Sign(timestamp, Keys("timestamp")));
  ASSERT_EQ(Refresh().exit_code, 0);

  // The publisher's next timestamps list snapshot versions far below 1000.
  ASSERT_TRUE(repository_->Publish().ok());
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  ClientState stuck = State();
  ExpectRefusedAndKept(Download(), stuck, "update_rollback");

  ASSERT_TRUE(repository_->Rotate("snapshot").ok());
  ProcessResult recovered = Download();
  EXPECT_EQ(recovered.exit_code, 0) << recovered.stderr_text;
  EXPECT_EQ(ReadFileOrEmpty(client_metadata_ / "snapshot.json"), Get(CurrentSnapshotName()));
  EXPECT_EQ(ReadFileOrEmpty(client_targets_ / kPackFile), kPackV2);
}

// --- Freeze (expired metadata, with the client's clock faked forward) ---------------

// The parameter is the role whose metadata expires.
class FreezeAttackTest : public AttackTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(FreezeAttackTest, RejectsExpiredMetadataOfRole) {
  // Freeze: a server that keeps serving metadata past its expiry is refused
  // once the client's clock (faketime +3 days) passes it (5.3.10, 5.4.4,
  // 5.5.6, 5.6.5); the same repository is fine at the real time.
  InitOptions options;
  for (std::string_view role : release::kTopLevelRoles) options.expires_days[std::string(role)] = 10;
  options.expires_days[GetParam()] = 2;
  ASSERT_NO_FATAL_FAILURE(Prepare(options));
  ClientState before = State();
  ExpectRefusedAndKept(Refresh("+3d"), before, "update_metadata_expired");
  EXPECT_EQ(Refresh().exit_code, 0) << "control: the repository is valid now";
  EXPECT_EQ(Refresh("+1d").exit_code, 0) << "control: and still before expiry";
}

INSTANTIATE_TEST_SUITE_P(EveryRole, FreezeAttackTest,
                         ::testing::Values("root", "timestamp", "snapshot", "targets"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

TEST_F(AttackTest, RejectsNewTimestampThatIsAlreadyExpired) {
  // Freeze: a replayed timestamp that was signed long ago (newer version than
  // the client has, but expired) is refused (5.4.4).
  ASSERT_NO_FATAL_FAILURE(Prepare());
  nlohmann::json timestamp = SignedPart("timestamp.json");
  timestamp["version"] = timestamp["version"].get<std::int64_t>() + 1;
  timestamp["expires"] = Expires(std::chrono::days(-1));
  Put("timestamp.json", Sign(timestamp, Keys("timestamp")));
  ClientState before = State();
  ExpectRefusedAndKept(Refresh(), before, "update_metadata_expired");
}

// --- Mix-and-match ----------------------------------------------------------

TEST_F(AttackTest, RejectsSnapshotNotMatchingTimestampHash) {
  // Mix-and-match: a validly signed snapshot that is not the one the
  // timestamp lists (hash mismatch, 5.5.2) is refused.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  const std::int64_t old_targets_version = repository_->targets_version();
  const std::string old_targets = Get(std::to_string(old_targets_version) + ".targets.json");
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  nlohmann::json snapshot = SignedPart(CurrentSnapshotName());
  snapshot["meta"]["targets.json"] = MetaFor(old_targets_version, old_targets);
  Put(CurrentSnapshotName(), Sign(snapshot, Keys("snapshot")));
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "snapshot.json", "targets.json"},
                       "update_verification");
}

TEST_F(AttackTest, RejectsSnapshotNotMatchingTimestampVersion) {
  // Mix-and-match: the timestamp lists snapshot v3 (no hashes); the server
  // returns the signed v2 under that name (5.5.4).
  ASSERT_NO_FATAL_FAILURE(Prepare());
  const std::string old_snapshot = Get(CurrentSnapshotName());
  const std::int64_t next = CurrentSnapshotVersion() + 1;
  nlohmann::json timestamp = SignedPart("timestamp.json");
  timestamp["version"] = timestamp["version"].get<std::int64_t>() + 1;
  timestamp["meta"]["snapshot.json"] = {{"version", next}};
  Put("timestamp.json", Sign(timestamp, Keys("timestamp")));
  Put(std::to_string(next) + ".snapshot.json", old_snapshot);
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "snapshot.json", "targets.json"}, "update_rollback");
}

TEST_F(AttackTest, RejectsTargetsNotMatchingSnapshot) {
  // Mix-and-match: a validly signed targets file that is not the one the
  // snapshot lists (5.6.2) is refused, and the old pack stays.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  const std::string name = std::to_string(repository_->targets_version()) + ".targets.json";
  nlohmann::json targets = SignedPart(name);
  tuf::TargetFile entry = tuf::TargetFile::FromData(kPack, "{\"evil\":true}");
  targets["targets"][kPack] = entry.ToJson();
  Put(name, Sign(targets, Keys("targets")));
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "targets.json"}, "update_verification");
}

// --- Endless data ------------------------------------------------------------

TEST_F(AttackTest, RejectsOversizedTimestamp) {
  // Endless data: timestamp.json beyond the client's cap (16 kB) is cut off.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  Put("timestamp.json", Get("timestamp.json") + std::string(4 << 20, ' '));
  ClientState before = State();
  ExpectRefusedAndKept(Refresh(), before, "update_too_large");
}

TEST_F(AttackTest, RejectsOversizedRoot) {
  // Endless data: N+1.root.json beyond the root cap (512 kB) is cut off.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  Put("2.root.json", "{\"signed\":\"" + std::string(4 << 20, 'A') + "\"}");
  ClientState before = State();
  ExpectRefusedAndKept(Refresh(), before, "update_too_large");
}

TEST_F(AttackTest, RejectsSnapshotLongerThanListed) {
  // Endless data: the snapshot may not exceed the length the timestamp lists
  // (the padding keeps it valid JSON with a valid signature).
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  Put(CurrentSnapshotName(), Get(CurrentSnapshotName()) + std::string(1 << 20, ' '));
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "snapshot.json", "targets.json"},
                       "update_too_large");
}

TEST_F(AttackTest, RejectsTargetsMetadataLongerThanListed) {
  // Endless data: targets metadata may not exceed the snapshot's length.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  const std::string name = std::to_string(repository_->targets_version()) + ".targets.json";
  Put(name, Get(name) + std::string(1 << 20, ' '));
  ClientState before = State();
  ExpectRefusedAndKept(Download(), before, {"root.json", "targets.json"}, "update_too_large");
}

TEST_F(AttackTest, RejectsTargetLongerThanListed) {
  // Endless data: a target is read to at most its listed length.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  for (const fs::path& copy : ServedPackCopies()) WriteAll(copy, kPackV2 + std::string(8 << 20, 'x'));
  ClientState before = State();
  ProcessResult result = Download();
  ExpectFailedWith(result, "update_too_large");
  EXPECT_EQ(State().targets, before.targets);
  EXPECT_EQ(ReadFileOrEmpty(client_targets_ / kPackFile), kPackV1);
}

// --- Slow retrieval ----------------------------------------------------------

TEST_F(AttackTest, AbortsSlowServerThroughLowSpeedLimit) {
  // Slow retrieval: a server trickling at 2 kB/s is abandoned by the
  // low-speed limit (here 8 kB/s over 2 s) instead of hanging the client.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  std::string big(512 << 10, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_NO_FATAL_FAILURE(PublishPack(big));
  ClientState before = State();
  ProcessResult result = Download("slow/targets/", {"--low-speed-time", "2", "--low-speed-limit", "8192"});
  EXPECT_FALSE(result.timed_out);
  ExpectFailedWith(result, "update_timeout");
  EXPECT_EQ(ReadFileOrEmpty(client_targets_ / kPackFile), kPackV1);
  EXPECT_EQ(State().targets, before.targets);
  // Control: the same download at full speed succeeds.
  ProcessResult fast = Download();
  EXPECT_EQ(fast.exit_code, 0) << fast.stderr_text;
  EXPECT_EQ(ReadFileOrEmpty(client_targets_ / kPackFile), big);
}

// --- Wrong target hash or length --------------------------------------------

TEST_F(AttackTest, RejectsTargetWithWrongHash) {
  // A target of the right length but other bytes fails the hash check.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  std::string evil = kPackV2;
  evil[5] ^= 0x01;
  for (const fs::path& copy : ServedPackCopies()) WriteAll(copy, evil);
  ClientState before = State();
  ProcessResult result = Download();
  ExpectFailedWith(result, "update_verification");
  EXPECT_EQ(State().targets, before.targets);
  EXPECT_EQ(ReadFileOrEmpty(client_targets_ / kPackFile), kPackV1);
}

TEST_F(AttackTest, RejectsTruncatedTarget) {
  // A target shorter than its listed length fails the length check.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  for (const fs::path& copy : ServedPackCopies()) WriteAll(copy, kPackV2.substr(0, 10));
  ClientState before = State();
  ProcessResult result = Download();
  ExpectFailedWith(result, "update_verification");
  EXPECT_EQ(State().targets, before.targets);
}

// --- Root rotation chain ----------------------------------------------------

TEST_F(AttackTest, DoesNotSkipMissingLinkInRootChain) {
  // Root chain: with 2.root.json withheld, 3.root.json is never trusted; the
  // client stays on root v1 (still valid, so the refresh itself succeeds).
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_TRUE(repository_->Rotate("root").ok());
  ASSERT_TRUE(repository_->Rotate("root").ok());
  fs::remove(Metadata("2.root.json"));
  const std::string trusted_root = ReadFileOrEmpty(client_metadata_ / "root.json");
  ProcessResult result = Refresh();
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_EQ(ReadFileOrEmpty(client_metadata_ / "root.json"), trusted_root);
  EXPECT_EQ(nlohmann::json::parse(ReadFileOrEmpty(client_metadata_ / "root.json"))["signed"]["version"], 1);
}

TEST_F(AttackTest, RejectsRootServedUnderTheWrongVersion) {
  // Root chain: root v3 offered as 2.root.json (skipping v2) is refused,
  // though validly signed (the root key stays, timestamp keys rotate).
  ASSERT_NO_FATAL_FAILURE(Prepare());
  ASSERT_TRUE(repository_->Rotate("timestamp").ok());
  ASSERT_TRUE(repository_->Rotate("timestamp").ok());
  Put("2.root.json", Get("3.root.json"));
  ClientState before = State();
  ExpectRefusedAndKept(Refresh(), before, "update_rollback");
}

TEST_F(AttackTest, MissingRootLinkWithExpiredTrustedRootFails) {
  // Root chain: stuck on an expired root because v2 is withheld, the client
  // fails (5.3.10) rather than trusting v3 — which it accepts once v2 is back.
  InitOptions options;
  for (std::string_view role : release::kTopLevelRoles) options.expires_days[std::string(role)] = 10;
  options.expires_days["root"] = 2;
  ASSERT_NO_FATAL_FAILURE(Prepare(options));
  // Rotations signed "five days later", so roots v2 and v3 expire later.
  repository_.reset();
  const auto later = Now() + std::chrono::days(5);
  auto reopened = Repository::Open(repo_, keys_, [later] { return later; });
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ASSERT_TRUE((*reopened)->Rotate("root").ok());
  ASSERT_TRUE((*reopened)->Rotate("root").ok());
  const std::string withheld = Get("2.root.json");
  fs::remove(Metadata("2.root.json"));
  ClientState before = State();
  ExpectRefusedAndKept(Refresh("+3d"), before, "update_metadata_expired");
  Put("2.root.json", withheld);
  ProcessResult result = Refresh("+3d");
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_EQ(nlohmann::json::parse(ReadFileOrEmpty(client_metadata_ / "root.json"))["signed"]["version"], 3);
}

// --- Transport ----------------------------------------------------------------

TEST_F(AttackTest, RejectsServerCertificateFromAnotherCa) {
  // TLS: a server whose certificate the configured CA did not sign is
  // refused before any metadata is read.
  ASSERT_NO_FATAL_FAILURE(Prepare());
  auto other = testing::CreateTestCa(temp_->path(), "other-ca");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_NO_FATAL_FAILURE(PublishPack(kPackV2));
  ClientState before = State();
  ExpectRefusedAndKept(Refresh("", other->cert.string()), before, "update_network");
  EXPECT_EQ(Refresh().exit_code, 0) << "control: the right CA works";
}

}  // namespace
}  // namespace bellwether
