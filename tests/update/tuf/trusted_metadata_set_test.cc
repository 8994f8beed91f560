// The verifier against every attack of the spec's threat model, one
// property per test, all in memory with freshly generated keys.
#include "update/tuf/trusted_metadata_set.h"

#include <gtest/gtest.h>

#include <random>

#include "test_repo.h"

namespace bellwether::tuf {
namespace {

using nlohmann::json;
using testing::InAYear;
using testing::Now;
using testing::SignBytes;
using testing::TestRepo;
using testing::Yesterday;

class TrustedSet : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.AddTarget("targets", "content/a.json", "A");
    repo_.Publish();
    trusted_root_ = repo_.files["root"];
  }

  TrustedMetadataSet Fresh() {
    auto set = TrustedMetadataSet::Create(trusted_root_, Now());
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    return std::move(set).value();
  }

  // A set that already trusts the currently published timestamp/snapshot/
  // targets (as if loaded from the local cache).
  TrustedMetadataSet Loaded() {
    TrustedMetadataSet set = Fresh();
    EXPECT_TRUE(set.LoadCachedTimestamp(repo_.files["timestamp"]).ok());
    EXPECT_TRUE(set.LoadCachedSnapshot(repo_.files["snapshot"]).ok());
    return set;
  }

  std::string Tamper(const std::string& bytes, const std::function<void(json&)>& edit) {
    json j = json::parse(bytes);
    edit(j);
    return j.dump();
  }

  TestRepo repo_;
  std::string trusted_root_;
};

ErrorCode CodeOf(const Status& s) { return s.code(); }
template <typename T>
ErrorCode CodeOf(const Result<T>& r) { return r.status().code(); }

// ------------------------------------------------------------ happy path

TEST_F(TrustedSet, AcceptsAConsistentRepository) {
  // The whole 5.1-5.6 chain succeeds on honest metadata.
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.FinishRootUpdates().ok());
  auto ts = set.UpdateTimestamp(repo_.files["timestamp"]);
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_EQ(*ts, TimestampOutcome::kUpdated);
  ASSERT_TRUE(set.UpdateSnapshot(repo_.files["snapshot"]).ok());
  ASSERT_TRUE(set.UpdateTargets(repo_.files["targets"]).ok());
  ASSERT_NE(set.targets(), nullptr);
  EXPECT_EQ(set.targets()->signed_data.targets.count("content/a.json"), 1u);
  EXPECT_TRUE(set.consistent_snapshot());
}

TEST_F(TrustedSet, MixedKeyTypesAndThresholdsWork) {
  // ed25519 + ecdsa-p256 + rsa-pss keys, threshold 3 for root.
  repo_.AddKey("root", KeyAlgorithm::kEcdsaP256);
  repo_.AddKey("root", KeyAlgorithm::kRsaPss3072);
  repo_.root.roles["root"].threshold = 3;
  repo_.AddKey("timestamp", KeyAlgorithm::kEcdsaP256);
  repo_.root.roles["timestamp"].threshold = 2;
  repo_.Publish();
  auto set = TrustedMetadataSet::Create(repo_.files["root"], Now());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE(set->UpdateTimestamp(repo_.files["timestamp"]).ok());
}

// ------------------------------------------------------------ arbitrary software

TEST_F(TrustedSet, RejectsTrustedRootNotSignedByItself) {
  // 5.2: even the shipped root must carry its own threshold of signatures.
  std::string unsigned_root = SignBytes(repo_.root.ToJson(), {});
  EXPECT_EQ(CodeOf(TrustedMetadataSet::Create(unsigned_root, Now())), ErrorCode::kUpdateVerification);
}

TEST_F(TrustedSet, RejectsTimestampWithBadSignature) {
  // 5.4.2: a flipped signature bit makes the timestamp untrusted.
  std::string bad = Tamper(repo_.files["timestamp"], [](json& j) {
    std::string sig = j["signatures"][0]["sig"];
    sig[0] = sig[0] == '0' ? '1' : '0';
    j["signatures"][0]["sig"] = sig;
  });
  TrustedMetadataSet set = Fresh();
  EXPECT_EQ(CodeOf(set.UpdateTimestamp(bad)), ErrorCode::kUpdateVerification);
  EXPECT_EQ(set.timestamp(), nullptr);
}

TEST_F(TrustedSet, RejectsTimestampWithAlteredContent) {
  // 5.4.2: changing signed content invalidates the signature.
  std::string bad = Tamper(repo_.files["timestamp"], [](json& j) { j["signed"]["version"] = 99; });
  EXPECT_EQ(CodeOf(Fresh().UpdateTimestamp(bad)), ErrorCode::kUpdateVerification);
}

TEST_F(TrustedSet, RejectsSnapshotBelowThreshold) {
  // 5.5.3: two of two snapshot keys required, one signs.
  PrivateKey second = repo_.AddKey("snapshot");
  repo_.root.roles["snapshot"].threshold = 2;
  repo_.signers["snapshot"].pop_back();  // Only the first key signs.
  repo_.Publish();
  auto set = TrustedMetadataSet::Create(repo_.files["root"], Now());
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(set->UpdateTimestamp(repo_.files["timestamp"]).ok());
  EXPECT_EQ(CodeOf(set->UpdateSnapshot(repo_.files["snapshot"])), ErrorCode::kUpdateVerification);
}

TEST_F(TrustedSet, RejectsDuplicateSignaturesFromOneKey) {
  // 5.3.4: one key signing twice is not two signatures (and the spec
  // forbids repeated keyids outright).
  repo_.AddKey("snapshot");
  repo_.root.roles["snapshot"].threshold = 2;
  repo_.signers["snapshot"].pop_back();
  repo_.list_meta_hashes = false;  // So the check reached is the signature one.
  repo_.Publish();
  std::string doubled = Tamper(repo_.files["snapshot"], [](json& j) {
    j["signatures"].push_back(j["signatures"][0]);
  });
  auto set = TrustedMetadataSet::Create(repo_.files["root"], Now());
  ASSERT_TRUE(set->UpdateTimestamp(repo_.files["timestamp"]).ok());
  EXPECT_EQ(CodeOf(set->UpdateSnapshot(doubled)), ErrorCode::kUpdateVerification);
  EXPECT_EQ(set->snapshot(), nullptr);
}

TEST_F(TrustedSet, RejectsMetadataSignedByRevokedKey) {
  // Root v2 replaces the timestamp key; a timestamp by the old key fails.
  std::vector<PrivateKey> old_timestamp_keys = repo_.signers["timestamp"];
  repo_.RotateKeys("timestamp");
  repo_.root.header.version = 2;
  repo_.Publish();
  std::string by_revoked = SignBytes(repo_.timestamp.ToJson(), old_timestamp_keys);
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateRoot(repo_.files["root"]).ok());
  EXPECT_EQ(CodeOf(set.UpdateTimestamp(by_revoked)), ErrorCode::kUpdateVerification);
  EXPECT_TRUE(set.UpdateTimestamp(repo_.files["timestamp"]).ok());
}

TEST_F(TrustedSet, UnknownKeyTypesInRootAreTolerated) {
  // An unsupported key in a role loads, never counts, and does not stop
  // the supported key from meeting the threshold.
  repo_.root.keys.emplace("f00d", *PublicKey::FromJson(json{
      {"keytype", "future-pq"}, {"scheme", "future-pq-scheme"}, {"keyval", {{"public", "abc"}}}}));
  repo_.root.roles["timestamp"].keyids.push_back("f00d");
  repo_.Publish();
  std::string with_bogus_sig = Tamper(repo_.files["timestamp"], [](json& j) {
    j["signatures"].push_back({{"keyid", "f00d"}, {"sig", "abcd"}});
  });
  auto set = TrustedMetadataSet::Create(repo_.files["root"], Now());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE(set->UpdateTimestamp(with_bogus_sig).ok());
  // ...but with threshold 2 the unusable key cannot supply the second one.
  repo_.root.roles["timestamp"].threshold = 2;
  repo_.Publish();
  auto strict = TrustedMetadataSet::Create(repo_.files["root"], Now());
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ(CodeOf(strict->UpdateTimestamp(with_bogus_sig)), ErrorCode::kUpdateVerification);
}

// ------------------------------------------------------------ root rotation

TEST_F(TrustedSet, AcceptsRootRotationChainSignedByOldAndNew) {
  // 5.3.4: each new root signed by the old root keys and its own.
  std::vector<PrivateKey> v1_keys = repo_.signers["root"];
  repo_.RotateKeys("root");
  repo_.root.header.version = 2;
  std::vector<PrivateKey> v2_keys = repo_.signers["root"];
  std::vector<PrivateKey> both = v1_keys;
  both.insert(both.end(), v2_keys.begin(), v2_keys.end());
  std::string v2 = repo_.RootBytesSignedBy(both);
  repo_.RotateKeys("root");
  repo_.root.header.version = 3;
  both = v2_keys;
  both.insert(both.end(), repo_.signers["root"].begin(), repo_.signers["root"].end());
  std::string v3 = repo_.RootBytesSignedBy(both);
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateRoot(v2).ok());
  ASSERT_TRUE(set.UpdateRoot(v3).ok());
  EXPECT_EQ(set.root().signed_data.header.version, 3);
  EXPECT_EQ(set.root_updates(), 2);
}

TEST_F(TrustedSet, RejectsRootRotationMissingTheNewKeysThreshold) {
  // 5.3.4 (2): signed only by the old keys, the new root is not trusted.
  std::vector<PrivateKey> v1_keys = repo_.signers["root"];
  repo_.RotateKeys("root");
  repo_.root.header.version = 2;
  TrustedMetadataSet set = Fresh();
  EXPECT_EQ(CodeOf(set.UpdateRoot(repo_.RootBytesSignedBy(v1_keys))), ErrorCode::kUpdateVerification);
  EXPECT_EQ(set.root().signed_data.header.version, 1);
}

TEST_F(TrustedSet, RejectsRootRotationMissingTheOldKeysThreshold) {
  // 5.3.4 (1): signed only by its own new keys, the new root is not trusted.
  repo_.RotateKeys("root");
  repo_.root.header.version = 2;
  TrustedMetadataSet set = Fresh();
  EXPECT_EQ(CodeOf(set.UpdateRoot(repo_.RootBytes())), ErrorCode::kUpdateVerification);
}

TEST_F(TrustedSet, RejectsRootVersionSkip) {
  // 5.3.5: from v1 straight to v3 is refused (a missing link in the chain).
  repo_.root.header.version = 3;
  TrustedMetadataSet set = Fresh();
  EXPECT_EQ(CodeOf(set.UpdateRoot(repo_.RootBytes())), ErrorCode::kUpdateRollback);
}

TEST_F(TrustedSet, RejectsRootReplayOfTheSameVersion) {
  // 5.3.5: version N again is not N+1.
  TrustedMetadataSet set = Fresh();
  EXPECT_EQ(CodeOf(set.UpdateRoot(trusted_root_)), ErrorCode::kUpdateRollback);
}

TEST_F(TrustedSet, IntermediateRootMayBeExpiredButFinalRootMayNot) {
  // 5.3.6 / 5.3.10: expiry only matters for the final root.
  repo_.root.header.version = 2;
  repo_.root.header.expires = Yesterday();
  std::string v2 = repo_.RootBytes();
  repo_.root.header.version = 3;
  repo_.root.header.expires = InAYear();
  std::string v3 = repo_.RootBytes();
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateRoot(v2).ok());
  EXPECT_EQ(CodeOf(set.FinishRootUpdates()), ErrorCode::kUpdateExpired);
  TrustedMetadataSet set2 = Fresh();
  ASSERT_TRUE(set2.UpdateRoot(v2).ok());
  ASSERT_TRUE(set2.UpdateRoot(v3).ok());
  EXPECT_TRUE(set2.FinishRootUpdates().ok());
}

TEST_F(TrustedSet, ExpiredFinalRootBlocksTimestamp) {
  // 5.3.10 before 5.4: UpdateTimestamp refuses under an expired root.
  repo_.root.header.expires = Yesterday();
  repo_.Publish();
  auto set = TrustedMetadataSet::Create(repo_.files["root"], Now());
  ASSERT_TRUE(set.ok());  // 5.2: the shipped root's expiry does not matter yet.
  EXPECT_EQ(CodeOf(set->UpdateTimestamp(repo_.files["timestamp"])), ErrorCode::kUpdateExpired);
}

TEST_F(TrustedSet, RootCannotChangeAfterTimestamp) {
  // Out-of-order call: roots are settled before timestamp (5.3 before 5.4).
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateTimestamp(repo_.files["timestamp"]).ok());
  repo_.root.header.version = 2;
  EXPECT_EQ(CodeOf(set.UpdateRoot(repo_.RootBytes())), ErrorCode::kInternal);
}

// ------------------------------------------------------------ rollback

TEST_F(TrustedSet, RejectsTimestampRollback) {
  // 5.4.3.1: a lower timestamp version than the trusted one.
  std::string v1 = repo_.files["timestamp"];
  repo_.timestamp.header.version = 2;
  repo_.Publish();
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.LoadCachedTimestamp(repo_.files["timestamp"]).ok());
  EXPECT_EQ(CodeOf(set.UpdateTimestamp(v1)), ErrorCode::kUpdateRollback);
  EXPECT_EQ(set.timestamp()->signed_data.header.version, 2);
}

TEST_F(TrustedSet, EqualTimestampVersionMeansUnchanged) {
  // 5.4.3.1: equal version -> nothing new, not an error.
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.LoadCachedTimestamp(repo_.files["timestamp"]).ok());
  auto again = set.UpdateTimestamp(repo_.files["timestamp"]);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, TimestampOutcome::kUnchanged);
}

TEST_F(TrustedSet, RejectsTimestampListingAnOlderSnapshot) {
  // 5.4.3.2: the snapshot version in a newer timestamp must not decrease.
  repo_.snapshot.header.version = 5;
  repo_.Publish();
  std::string trusted = repo_.files["timestamp"];
  repo_.timestamp.header.version = 2;
  repo_.snapshot.header.version = 4;
  repo_.Publish();
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.LoadCachedTimestamp(trusted).ok());
  EXPECT_EQ(CodeOf(set.UpdateTimestamp(repo_.files["timestamp"])), ErrorCode::kUpdateRollback);
}

TEST_F(TrustedSet, RejectsSnapshotThatLowersATargetsVersion) {
  // 5.5.5: targets.json listed at v2 by the trusted snapshot, v1 by the new.
  repo_.targets.header.version = 2;
  repo_.Publish();
  std::string cached_ts = repo_.files["timestamp"], cached_snap = repo_.files["snapshot"];
  repo_.targets.header.version = 1;
  repo_.snapshot.header.version = 2;
  repo_.timestamp.header.version = 2;
  repo_.Publish();
  TrustedMetadataSet next = Fresh();
  ASSERT_TRUE(next.LoadCachedTimestamp(cached_ts).ok());
  ASSERT_TRUE(next.UpdateTimestamp(repo_.files["timestamp"]).ok());
  ASSERT_EQ(CodeOf(next.LoadCachedSnapshot(cached_snap)), ErrorCode::kUpdateRollback);  // v1 < v2 listed
  EXPECT_EQ(CodeOf(next.UpdateSnapshot(repo_.files["snapshot"])), ErrorCode::kUpdateRollback);
}

TEST_F(TrustedSet, RejectsSnapshotThatDropsATargetsRole) {
  // 5.5.5: a role listed by the trusted snapshot must stay listed.
  repo_.Delegate("targets", "team", {"team/*"});
  repo_.Publish();
  std::string cached_ts = repo_.files["timestamp"], cached_snap = repo_.files["snapshot"];
  repo_.targets.delegations.reset();
  repo_.delegated.clear();
  repo_.snapshot.header.version = 2;
  repo_.timestamp.header.version = 2;
  repo_.Publish();
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.LoadCachedTimestamp(cached_ts).ok());
  ASSERT_TRUE(set.UpdateTimestamp(repo_.files["timestamp"]).ok());
  (void)set.LoadCachedSnapshot(cached_snap);  // Older than listed: kept as baseline.
  EXPECT_EQ(CodeOf(set.UpdateSnapshot(repo_.files["snapshot"])), ErrorCode::kUpdateRollback);
}

TEST_F(TrustedSet, RejectsSnapshotVersionOtherThanTimestampLists) {
  // 5.5.4: timestamp says snapshot v2 but a v1 with matching hash arrives
  // (the timestamp was made to list its hash): mismatch.
  repo_.Publish();
  std::string snap_v1 = repo_.files["snapshot"];
  repo_.timestamp.snapshot_meta.version = 2;
  std::string ts = SignBytes(repo_.timestamp.ToJson(), repo_.signers["timestamp"]);
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateTimestamp(ts).ok());
  EXPECT_EQ(CodeOf(set.UpdateSnapshot(snap_v1)), ErrorCode::kUpdateRollback);
  EXPECT_EQ(CodeOf(set.UpdateTargets(repo_.files["targets"])), ErrorCode::kUpdateRollback);
}

TEST_F(TrustedSet, RejectsTargetsVersionOtherThanSnapshotLists) {
  // 5.6.4: snapshot lists targets v2 (hash-free entry), v1 arrives.
  std::string targets_v1 = repo_.files["targets"];
  repo_.snapshot.meta["targets.json"] = MetaFile{};
  repo_.snapshot.meta["targets.json"].version = 2;
  std::string snap = SignBytes(repo_.snapshot.ToJson(), repo_.signers["snapshot"]);
  repo_.timestamp.snapshot_meta.length = static_cast<std::int64_t>(snap.size());
  repo_.timestamp.snapshot_meta.hashes["sha256"] = TargetFile::FromData("s", snap).hashes["sha256"];
  std::string ts = SignBytes(repo_.timestamp.ToJson(), repo_.signers["timestamp"]);
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateTimestamp(ts).ok());
  ASSERT_TRUE(set.UpdateSnapshot(snap).ok());
  EXPECT_EQ(CodeOf(set.UpdateTargets(targets_v1)), ErrorCode::kUpdateRollback);
  EXPECT_EQ(set.targets(), nullptr);
}

// ------------------------------------------------------------ mix-and-match

TEST_F(TrustedSet, RejectsSnapshotWithWrongHash) {
  // 5.5.2: the timestamp pins the snapshot's sha256.
  repo_.timestamp.snapshot_meta.hashes["sha256"] = std::string(64, '0');
  std::string ts = SignBytes(repo_.timestamp.ToJson(), repo_.signers["timestamp"]);
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateTimestamp(ts).ok());
  EXPECT_EQ(CodeOf(set.UpdateSnapshot(repo_.files["snapshot"])), ErrorCode::kUpdateVerification);
  EXPECT_EQ(set.snapshot(), nullptr);
}

TEST_F(TrustedSet, RejectsSnapshotWithWrongLength) {
  // 5.5.2: and its length.
  *repo_.timestamp.snapshot_meta.length += 1;
  std::string ts = SignBytes(repo_.timestamp.ToJson(), repo_.signers["timestamp"]);
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateTimestamp(ts).ok());
  EXPECT_EQ(CodeOf(set.UpdateSnapshot(repo_.files["snapshot"])), ErrorCode::kUpdateVerification);
}

TEST_F(TrustedSet, RejectsTargetsWithWrongHash) {
  // 5.6.2: the snapshot pins targets.json's hash: an older, validly signed
  // targets.json of the same version is refused.
  std::string other_targets = [&] {
    TargetsMetadata copy = repo_.targets;
    copy.targets.clear();
    return SignBytes(copy.ToJson(), repo_.signers["targets"]);
  }();
  TrustedMetadataSet set = Loaded();
  EXPECT_EQ(CodeOf(set.UpdateTargets(other_targets)), ErrorCode::kUpdateVerification);
}

// ------------------------------------------------------------ freeze

TEST_F(TrustedSet, RejectsExpiredTimestamp) {
  // 5.4.4, with the fixed clock.
  repo_.timestamp.header.expires = Yesterday();
  repo_.Publish();
  TrustedMetadataSet set = Fresh();
  EXPECT_EQ(CodeOf(set.UpdateTimestamp(repo_.files["timestamp"])), ErrorCode::kUpdateExpired);
  EXPECT_EQ(CodeOf(set.UpdateSnapshot(repo_.files["snapshot"])), ErrorCode::kUpdateExpired);
}

TEST_F(TrustedSet, RejectsExpiredSnapshot) {
  // 5.5.6.
  repo_.snapshot.header.expires = Yesterday();
  repo_.Publish();
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateTimestamp(repo_.files["timestamp"]).ok());
  EXPECT_EQ(CodeOf(set.UpdateSnapshot(repo_.files["snapshot"])), ErrorCode::kUpdateExpired);
  EXPECT_EQ(CodeOf(set.UpdateTargets(repo_.files["targets"])), ErrorCode::kUpdateExpired);
}

TEST_F(TrustedSet, RejectsExpiredTargets) {
  // 5.6.5.
  repo_.targets.header.expires = Yesterday();
  repo_.Publish();
  TrustedMetadataSet set = Loaded();
  EXPECT_EQ(CodeOf(set.UpdateTargets(repo_.files["targets"])), ErrorCode::kUpdateExpired);
  EXPECT_EQ(set.targets(), nullptr);
}

TEST_F(TrustedSet, ExpiryUsesTheFixedStartTime) {
  // 5.1: metadata valid at the start stays valid for the whole cycle; the
  // same metadata is expired for a cycle starting after its expiry.
  repo_.timestamp.header.expires = *ParseDateTime("2026-06-01T00:00:01Z");
  repo_.Publish();
  EXPECT_TRUE(Fresh().UpdateTimestamp(repo_.files["timestamp"]).ok());
  auto later = TrustedMetadataSet::Create(trusted_root_, *ParseDateTime("2026-06-01T00:00:01Z"));
  EXPECT_EQ(CodeOf(later->UpdateTimestamp(repo_.files["timestamp"])), ErrorCode::kUpdateExpired);
}

TEST_F(TrustedSet, ExpiredCachedTimestampStillGuardsAgainstRollback) {
  // An expired cached timestamp v5 still rejects a fresh-looking v4.
  repo_.timestamp.header.version = 5;
  repo_.timestamp.header.expires = Yesterday();
  repo_.Publish();
  std::string cached = repo_.files["timestamp"];
  repo_.timestamp.header.version = 4;
  repo_.timestamp.header.expires = InAYear();
  repo_.Publish();
  TrustedMetadataSet set = Fresh();
  EXPECT_EQ(CodeOf(set.LoadCachedTimestamp(cached)), ErrorCode::kUpdateExpired);
  EXPECT_EQ(CodeOf(set.UpdateTimestamp(repo_.files["timestamp"])), ErrorCode::kUpdateRollback);
}

// ------------------------------------------------------------ fast-forward

TEST_F(TrustedSet, TimestampKeyRotationInvalidatesCachedTimestampAndSnapshot) {
  // 5.3.11: after a fast-forward attack (timestamp v1000 signed by a
  // compromised key), rotating the timestamp key lets clients recover.
  repo_.timestamp.header.version = 1000;
  repo_.Publish();
  std::string fast_forwarded = repo_.files["timestamp"];
  std::string cached_snapshot = repo_.files["snapshot"];
  repo_.RotateKeys("timestamp");
  repo_.root.header.version = 2;
  repo_.timestamp.header.version = 1;
  repo_.Publish();
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateRoot(repo_.files["root"]).ok());
  ASSERT_TRUE(set.FinishRootUpdates().ok());
  EXPECT_TRUE(set.cached_timestamp_and_snapshot_invalidated());
  EXPECT_FALSE(set.LoadCachedTimestamp(fast_forwarded).ok());
  EXPECT_FALSE(set.LoadCachedSnapshot(cached_snapshot).ok());
  EXPECT_TRUE(set.UpdateTimestamp(repo_.files["timestamp"]).ok());
}

TEST_F(TrustedSet, SnapshotKeyRotationInvalidatesCachedTimestampAndSnapshot) {
  // 5.3.11: the snapshot version pinned in the cached timestamp goes too.
  repo_.snapshot.header.version = 1000;
  repo_.Publish();
  std::string cached_ts = repo_.files["timestamp"];
  repo_.RotateKeys("snapshot");
  repo_.root.header.version = 2;
  repo_.snapshot.header.version = 1;
  repo_.timestamp.header.version = 2;
  repo_.Publish();
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateRoot(repo_.files["root"]).ok());
  EXPECT_FALSE(set.LoadCachedTimestamp(cached_ts).ok());
  EXPECT_TRUE(set.cached_timestamp_and_snapshot_invalidated());
  ASSERT_TRUE(set.UpdateTimestamp(repo_.files["timestamp"]).ok());
  EXPECT_TRUE(set.UpdateSnapshot(repo_.files["snapshot"]).ok());
}

TEST_F(TrustedSet, WithoutKeyRotationAFastForwardedTimestampStaysInForce) {
  // Without 5.3.11 the cached v1000 keeps rejecting v1: rollback.
  repo_.timestamp.header.version = 1000;
  repo_.Publish();
  std::string fast_forwarded = repo_.files["timestamp"];
  repo_.timestamp.header.version = 1;
  repo_.root.header.version = 2;  // A root update that rotates nothing.
  repo_.Publish();
  TrustedMetadataSet set = Fresh();
  ASSERT_TRUE(set.UpdateRoot(repo_.files["root"]).ok());
  ASSERT_TRUE(set.LoadCachedTimestamp(fast_forwarded).ok());
  EXPECT_FALSE(set.cached_timestamp_and_snapshot_invalidated());
  EXPECT_EQ(CodeOf(set.UpdateTimestamp(repo_.files["timestamp"])), ErrorCode::kUpdateRollback);
}

// ------------------------------------------------------------ ordering, hygiene

TEST_F(TrustedSet, OutOfOrderCallsAreRefused) {
  TrustedMetadataSet set = Fresh();
  EXPECT_EQ(CodeOf(set.UpdateSnapshot(repo_.files["snapshot"])), ErrorCode::kInternal);
  EXPECT_EQ(CodeOf(set.UpdateTargets(repo_.files["targets"])), ErrorCode::kInternal);
}

TEST_F(TrustedSet, WrongRoleTypeIsRefused) {
  // A validly signed snapshot offered as timestamp fails on _type.
  EXPECT_EQ(CodeOf(Fresh().UpdateTimestamp(repo_.files["snapshot"])), ErrorCode::kUpdateVerification);
}

TEST_F(TrustedSet, GarbageIsACleanError) {
  // Hostile bytes at every step: errors, no crash, state unchanged.
  TrustedMetadataSet set = Fresh();
  for (std::string bytes : {std::string(), std::string("\0\0", 2), std::string("{\"signed\":"),
                            std::string(100000, '['), std::string("{\"signed\":{},\"signatures\":[]}")}) {
    EXPECT_FALSE(set.UpdateRoot(bytes).ok());
  }
  EXPECT_EQ(set.root().signed_data.header.version, 1);
  ASSERT_TRUE(set.UpdateTimestamp(repo_.files["timestamp"]).ok());
  EXPECT_FALSE(set.UpdateSnapshot(std::string(100000, '{')).ok());
}

TEST_F(TrustedSet, RandomMutationsAreNeverAcceptedAsDifferentContent) {
  // 2000 seeded byte flips, truncations and insertions of a valid
  // timestamp: no crash, and whatever is accepted has the same "signed"
  // content (only whitespace or hex case of a signature may differ).
  const std::string original = repo_.files["timestamp"];
  const json original_signed = json::parse(original)["signed"];
  std::mt19937 rng(20260601);
  int accepted = 0;
  TrustedMetadataSet set = Fresh();
  for (int i = 0; i < 2000; ++i) {
    std::string mutated = original;
    std::size_t pos = rng() % mutated.size();
    switch (rng() % 3) {
      case 0: mutated[pos] = static_cast<char>(rng() % 256); break;
      case 1: mutated.resize(pos); break;
      default: mutated.insert(pos, 1, static_cast<char>(rng() % 256)); break;
    }
    if (set.UpdateTimestamp(mutated).ok()) {
      ++accepted;
      EXPECT_EQ(json::parse(mutated)["signed"], original_signed) << mutated;
      set = Fresh();  // Start from an empty timestamp again.
    }
  }
  // Some mutations only touch whitespace; most must be refused.
  EXPECT_LT(accepted, 1000);
}

// ------------------------------------------------------------ delegated roles

TEST_F(TrustedSet, DelegatedRoleMustBeSignedByTheDelegatedKeys) {
  // 5.6.3 for a delegation: the delegator's keys for that role, not others.
  repo_.Delegate("targets", "team", {"team/*"});
  repo_.AddTarget("team", "team/x", "X");
  repo_.list_meta_hashes = false;  // So the check reached is the signature one.
  repo_.Publish();
  std::string forged = SignBytes(repo_.delegated["team"].ToJson(), repo_.signers["targets"]);
  TrustedMetadataSet set = Loaded();
  ASSERT_TRUE(set.UpdateTargets(repo_.files["targets"]).ok());
  EXPECT_EQ(CodeOf(set.UpdateDelegatedTargets(forged, "team", "targets")), ErrorCode::kUpdateVerification);
  EXPECT_TRUE(set.UpdateDelegatedTargets(repo_.files["team"], "team", "targets").ok());
}

TEST_F(TrustedSet, RejectsDelegatedRoleRollback) {
  // 5.6.4 for a delegated role: snapshot lists team v2, a signed v1 arrives.
  repo_.Delegate("targets", "team", {"team/*"});
  repo_.list_meta_hashes = false;
  repo_.Publish();
  std::string team_v1 = repo_.files["team"];
  repo_.delegated["team"].header.version = 2;
  repo_.snapshot.header.version = 2;
  repo_.Publish();
  TrustedMetadataSet set = Loaded();
  ASSERT_TRUE(set.UpdateTargets(repo_.files["targets"]).ok());
  EXPECT_EQ(CodeOf(set.UpdateDelegatedTargets(team_v1, "team", "targets")), ErrorCode::kUpdateRollback);
  EXPECT_TRUE(set.UpdateDelegatedTargets(repo_.files["team"], "team", "targets").ok());
}

TEST_F(TrustedSet, RejectsExpiredDelegatedRole) {
  // 5.6.5 for a delegated role.
  repo_.Delegate("targets", "team", {"team/*"});
  repo_.delegated["team"].header.expires = Yesterday();
  repo_.Publish();
  TrustedMetadataSet set = Loaded();
  ASSERT_TRUE(set.UpdateTargets(repo_.files["targets"]).ok());
  EXPECT_EQ(CodeOf(set.UpdateDelegatedTargets(repo_.files["team"], "team", "targets")),
            ErrorCode::kUpdateExpired);
  EXPECT_EQ(set.targets("team"), nullptr);
}

TEST_F(TrustedSet, DelegatedRoleNeedsADelegation) {
  // A role the delegator does not delegate cannot be loaded through it.
  repo_.Delegate("targets", "team", {"team/*"});
  repo_.Publish();
  TrustedMetadataSet set = Loaded();
  ASSERT_TRUE(set.UpdateTargets(repo_.files["targets"]).ok());
  EXPECT_EQ(CodeOf(set.UpdateDelegatedTargets(repo_.files["team"], "other", "targets")),
            ErrorCode::kUpdateVerification);
  EXPECT_EQ(CodeOf(set.UpdateDelegatedTargets(repo_.files["team"], "team", "nobody")),
            ErrorCode::kInternal);
}

}  // namespace
}  // namespace bellwether::tuf
