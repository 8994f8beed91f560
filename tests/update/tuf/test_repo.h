// An in-memory TUF repository for the bellwether_tuf tests: freshly
// generated keys, typed metadata that tests mutate, and Publish() to turn it
// into signed file bytes (snapshot/timestamp meta filled in consistently).
// No I/O.
#ifndef BELLWETHER_TESTS_UPDATE_TUF_TEST_REPO_H_
#define BELLWETHER_TESTS_UPDATE_TUF_TEST_REPO_H_

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "update/tuf/keys.h"
#include "update/tuf/metadata.h"

namespace bellwether::tuf::testing {

// The fixed "update start time" of every test, and a comfortable expiry.
inline TimePoint Now() { return *ParseDateTime("2026-06-01T00:00:00Z"); }
inline TimePoint InAYear() { return *ParseDateTime("2027-06-01T00:00:00Z"); }
inline TimePoint Yesterday() { return *ParseDateTime("2026-05-31T00:00:00Z"); }

inline PrivateKey NewKey(KeyAlgorithm algorithm = KeyAlgorithm::kEd25519) {
  auto key = PrivateKey::Generate(algorithm);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(key).value();
}

inline std::string KeyIdOf(const PrivateKey& key) { return *key.KeyId(); }

// Signs `signed_json` with each of `keys`; returns file bytes.
inline std::string SignBytes(const nlohmann::json& signed_json, const std::vector<PrivateKey>& keys) {
  auto envelope = SignedEnvelope::Create(signed_json);
  EXPECT_TRUE(envelope.ok()) << envelope.status().ToString();
  for (const PrivateKey& key : keys) {
    Status s = envelope->AddSignature(key);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return envelope->Serialize();
}

inline SignedHeader Header(std::string_view type, std::int64_t version = 1) {
  return SignedHeader{std::string(type), "1.0.34", version, InAYear()};
}

class TestRepo {
 public:
  TestRepo() {
    root.header = Header(kRootRole);
    root.consistent_snapshot = true;
    for (std::string_view role : {kRootRole, kTimestampRole, kSnapshotRole, kTargetsRole}) {
      root.roles[std::string(role)] = RoleKeys{};
      root.roles[std::string(role)].threshold = 1;
      AddKey(role);
    }
    timestamp.header = Header(kTimestampRole);
    snapshot.header = Header(kSnapshotRole);
    targets.header = Header(kTargetsRole);
  }

  // Adds a new key to a top-level role (in root) and to its signers.
  PrivateKey AddKey(std::string_view role, KeyAlgorithm algorithm = KeyAlgorithm::kEd25519) {
    PrivateKey key = NewKey(algorithm);
    std::string keyid = KeyIdOf(key);
    root.keys.insert_or_assign(keyid, key.public_key());
    root.roles[std::string(role)].keyids.push_back(keyid);
    signers[std::string(role)].push_back(key);
    return key;
  }

  // Replaces all keys of a top-level role with one fresh key.
  PrivateKey RotateKeys(std::string_view role) {
    for (const std::string& keyid : root.roles[std::string(role)].keyids) root.keys.erase(keyid);
    root.roles[std::string(role)].keyids.clear();
    signers[std::string(role)].clear();
    return AddKey(role);
  }

  // Adds a delegation from `delegator` ("targets" or a delegated role) to a
  // new role `name` with one fresh key; returns the role entry to adjust.
  DelegatedRole& Delegate(const std::string& delegator, const std::string& name,
                          std::vector<std::string> paths, bool terminating = false) {
    TargetsMetadata& parent = TargetsOf(delegator);
    if (!parent.delegations) parent.delegations = Delegations{};
    PrivateKey key = NewKey();
    std::string keyid = KeyIdOf(key);
    parent.delegations->keys.insert_or_assign(keyid, key.public_key());
    DelegatedRole role;
    role.name = name;
    role.role_keys.keyids = {keyid};
    role.role_keys.threshold = 1;
    role.terminating = terminating;
    role.paths = std::move(paths);
    parent.delegations->roles.push_back(role);
    signers[name] = {key};
    if (delegated.find(name) == delegated.end()) {
      delegated[name].header = Header(kTargetsRole);
    }
    return parent.delegations->roles.back();
  }

  TargetsMetadata& TargetsOf(const std::string& role) {
    return role == kTargetsRole ? targets : delegated.at(role);
  }

  void AddTarget(const std::string& role, const std::string& path, std::string_view data) {
    TargetsOf(role).targets[path] = TargetFile::FromData(path, data);
  }

  std::string RootBytes() const { return SignBytes(root.ToJson(), signers.at(std::string(kRootRole))); }
  // Root signed by the given keys only.
  std::string RootBytesSignedBy(const std::vector<PrivateKey>& keys) const {
    return SignBytes(root.ToJson(), keys);
  }

  // Signs targets and delegated roles, lists them in snapshot (version,
  // length, sha256), signs snapshot, lists it in timestamp, signs that.
  void Publish() {
    files.clear();
    files["targets"] = SignBytes(targets.ToJson(), signers.at("targets"));
    for (const auto& [name, md] : delegated) files[name] = SignBytes(md.ToJson(), signers.at(name));
    snapshot.meta.clear();
    for (const auto& [name, bytes] : files) {
      std::int64_t version = name == "targets" ? targets.header.version : delegated.at(name).header.version;
      snapshot.meta[name + ".json"] = Describe(bytes, version);
    }
    files["snapshot"] = SignBytes(snapshot.ToJson(), signers.at("snapshot"));
    timestamp.snapshot_meta = Describe(files["snapshot"], snapshot.header.version);
    files["timestamp"] = SignBytes(timestamp.ToJson(), signers.at("timestamp"));
    files["root"] = RootBytes();
  }

  // A METAFILES entry for `bytes`; version only unless list_meta_hashes.
  MetaFile Describe(const std::string& bytes, std::int64_t version) const {
    MetaFile meta;
    meta.version = version;
    if (list_meta_hashes) {
      meta.length = static_cast<std::int64_t>(bytes.size());
      meta.hashes["sha256"] = TargetFile::FromData("", bytes).hashes["sha256"];
    }
    return meta;
  }

  // Whether snapshot/timestamp meta entries carry length and hashes (they
  // are optional, spec 4.4); off lets tests reach the checks behind them.
  bool list_meta_hashes = true;
  RootMetadata root;
  TimestampMetadata timestamp;
  SnapshotMetadata snapshot;
  TargetsMetadata targets;
  std::map<std::string, TargetsMetadata> delegated;
  std::map<std::string, std::vector<PrivateKey>> signers;  // role -> keys that sign it.
  std::map<std::string, std::string> files;                // role -> signed bytes (Publish).
};

}  // namespace bellwether::tuf::testing

#endif  // BELLWETHER_TESTS_UPDATE_TUF_TEST_REPO_H_
