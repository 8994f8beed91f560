#include "update/client/test_repository.h"

#include <stdexcept>

#include "crypto/digest.h"

namespace bellwether::update::testing {
namespace {

template <typename T>
T Check(Result<T> result) {
  if (!result.ok()) throw std::runtime_error(result.status().ToString());
  return std::move(result).value();
}

void Check(const Status& status) {
  if (!status.ok()) throw std::runtime_error(status.ToString());
}

tuf::PrivateKey NewKey() { return Check(tuf::PrivateKey::Generate(tuf::KeyAlgorithm::kEd25519)); }

std::string Sha256Hex(const std::string& data) { return crypto::HexEncode(crypto::Sha256(data)); }

tuf::MetaFile MetaFor(std::int64_t version, const std::string& bytes) {
  tuf::MetaFile meta;
  meta.version = version;
  meta.length = static_cast<std::int64_t>(bytes.size());
  meta.hashes["sha256"] = Sha256Hex(bytes);
  return meta;
}

}  // namespace

TestRepository::TestRepository(bool consistent_snapshot) : consistent_(consistent_snapshot) {
  root_.header = Header("root", 1);
  root_.consistent_snapshot = consistent_;
  for (const char* role : {"root", "timestamp", "snapshot", "targets"}) {
    keys_.emplace(role, NewKey());
    const std::string id = Check(keys_.at(role).KeyId());
    root_.keys.emplace(id, keys_.at(role).public_key());
    root_.roles[role] = tuf::RoleKeys{{id}, 1};
  }
  WriteRoot({});
  targets_["targets"].header = Header("targets", 0);
  Publish();
}

tuf::SignedHeader TestRepository::Header(const char* type, std::int64_t version) const {
  tuf::SignedHeader header;
  header.type = type;
  header.spec_version = std::string(tuf::kSpecVersion);
  header.version = version;
  header.expires = tuf::TimePoint{std::chrono::seconds(expires_)};
  return header;
}

std::string TestRepository::Sign(const nlohmann::json& signed_json,
                                 const std::vector<const tuf::PrivateKey*>& keys) const {
  tuf::SignedEnvelope envelope = Check(tuf::SignedEnvelope::Create(signed_json));
  for (const tuf::PrivateKey* key : keys) Check(envelope.AddSignature(*key));
  return envelope.Serialize();
}

void TestRepository::WriteRoot(const std::vector<const tuf::PrivateKey*>& extra_signers) {
  std::vector<const tuf::PrivateKey*> signers = extra_signers;
  signers.push_back(&keys_.at("root"));
  const std::string bytes = Sign(root_.ToJson(), signers);
  files_["metadata/" + std::to_string(root_.header.version) + ".root.json"] = bytes;
  files_["metadata/root.json"] = bytes;
}

void TestRepository::AddTarget(const std::string& path, const std::string& data, const std::string& role) {
  tuf::TargetFile file = tuf::TargetFile::FromData(path, data);
  targets_.at(role).targets[path] = file;
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  files_["targets/" + path] = data;
  for (const auto& [algorithm, hex] : file.hashes) files_["targets/" + dir + hex + "." + name] = data;
}

void TestRepository::AddDelegation(const std::string& name, std::vector<std::string> paths, bool terminating) {
  keys_.emplace("delegated:" + name, NewKey());
  const tuf::PrivateKey& key = keys_.at("delegated:" + name);
  const std::string id = Check(key.KeyId());
  tuf::TargetsMetadata& top = targets_.at("targets");
  if (!top.delegations) top.delegations.emplace();
  top.delegations->keys.emplace(id, key.public_key());
  tuf::DelegatedRole role;
  role.name = name;
  role.role_keys = tuf::RoleKeys{{id}, 1};
  role.terminating = terminating;
  role.paths = std::move(paths);
  top.delegations->roles.push_back(role);
  targets_[name].header = Header("targets", 0);
  delegation_order_.push_back(name);
}

void TestRepository::RemoveDelegation(const std::string& name) {
  tuf::TargetsMetadata& top = targets_.at("targets");
  if (!top.delegations) return;
  auto& roles = top.delegations->roles;
  roles.erase(
      std::remove_if(roles.begin(), roles.end(), [&](const tuf::DelegatedRole& r) { return r.name == name; }),
      roles.end());
  top.delegations->keys.erase(Check(keys_.at("delegated:" + name).KeyId()));
  targets_.erase(name);
  keys_.erase("delegated:" + name);
  delegation_order_.erase(std::remove(delegation_order_.begin(), delegation_order_.end(), name),
                          delegation_order_.end());
}

void TestRepository::Publish() {
  tuf::SnapshotMetadata snapshot;
  snapshot.header = Header("snapshot", ++snapshot_version_);
  for (auto& [role, metadata] : targets_) {
    const std::int64_t version = metadata.header.version + 1;
    metadata.header = Header("targets", version);
    const tuf::PrivateKey& key = role == "targets" ? keys_.at("targets") : keys_.at("delegated:" + role);
    const std::string bytes = Sign(metadata.ToJson(), {&key});
    files_["metadata/" + tuf::MetadataFileName(role, version)] = bytes;
    files_["metadata/" + tuf::MetadataFileName(role, std::nullopt)] = bytes;
    snapshot.meta[role + ".json"] = MetaFor(version, bytes);
  }
  const std::string snapshot_bytes = Sign(snapshot.ToJson(), {&keys_.at("snapshot")});
  files_["metadata/" + std::to_string(snapshot_version_) + ".snapshot.json"] = snapshot_bytes;
  files_["metadata/snapshot.json"] = snapshot_bytes;

  tuf::TimestampMetadata timestamp;
  timestamp.header = Header("timestamp", ++timestamp_version_);
  timestamp.snapshot_meta = MetaFor(snapshot_version_, snapshot_bytes);
  files_["metadata/timestamp.json"] = Sign(timestamp.ToJson(), {&keys_.at("timestamp")});
}

void TestRepository::RotateKeys(const std::string& role) {
  const tuf::PrivateKey old_root = keys_.at("root");
  const std::string old_id = Check(keys_.at(role).KeyId());
  keys_.erase(role);
  keys_.emplace(role, NewKey());
  const std::string id = Check(keys_.at(role).KeyId());
  root_.keys.erase(old_id);
  root_.keys.emplace(id, keys_.at(role).public_key());
  root_.roles[role] = tuf::RoleKeys{{id}, 1};
  root_.header = Header("root", root_.header.version + 1);
  // 5.3.4: signed by a threshold of the old root keys and of the new ones.
  if (role == "root") {
    WriteRoot({&old_root});
  } else {
    WriteRoot({});
  }
}

void TestRepository::BumpRoot() {
  root_.header = Header("root", root_.header.version + 1);
  WriteRoot({});
}

Status FakeFetcher::Fetch(std::string_view url, std::uint64_t max_bytes, const ChunkSink& sink,
                          const ProgressFn& progress) {
  if (url.substr(0, kBaseUrl.size()) != kBaseUrl) {
    return Status(ErrorCode::kUpdateNetwork, "fake fetcher: unknown host in " + std::string(url));
  }
  const std::string path(url.substr(kBaseUrl.size()));
  requests_.push_back(path);
  Fault fault = Fault::kNone;
  if (auto it = faults_.find(path); it != faults_.end()) fault = it->second;
  if (fault == Fault::kNetworkError) return Status(ErrorCode::kUpdateNetwork, "fake: connection reset");
  auto file = files_->find(path);
  if (fault == Fault::kNotFound || file == files_->end()) {
    return Status(ErrorCode::kUpdateNotFound, "fake: 404 " + path);
  }
  std::string body = file->second;
  if (fault == Fault::kTruncate) body.resize(body.size() / 2);
  if (fault == Fault::kAppendGarbage) body += std::string(100'000, ' ');
  // Like CurlFetcher: deliver at most max_bytes, then fail.
  const bool too_large = body.size() > max_bytes;
  if (too_large) body.resize(max_bytes);
  std::uint64_t done = 0;
  for (std::size_t offset = 0; offset < body.size(); offset += 4096) {
    std::string_view chunk = std::string_view(body).substr(offset, 4096);
    BW_RETURN_IF_ERROR(sink(chunk));
    done += chunk.size();
    if (progress) progress(done, file->second.size());
  }
  if (too_large) return Status(ErrorCode::kUpdateTooLarge, "fake: " + path + " above " + std::to_string(max_bytes));
  return Status::Ok();
}

int FakeFetcher::CountRequests(const std::string& path) const {
  int n = 0;
  for (const std::string& request : requests_) n += request == path ? 1 : 0;
  return n;
}

}  // namespace bellwether::update::testing
