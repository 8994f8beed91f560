#include "update/tuf/metadata.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "common/json_guard.h"
#include "crypto/digest.h"
#include "update/tuf/canonical_json.h"

namespace bellwether::tuf {
namespace {

using nlohmann::json;

Status Malformed(std::string message) {
  return {ErrorCode::kUpdateVerification, "malformed metadata: " + std::move(message)};
}

// The members of `object` whose names are not in `known`, for round trips.
json Unrecognized(const json& object, std::initializer_list<std::string_view> known) {
  json out = json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) out[it.key()] = it.value();
  }
  return out;
}

void MergeUnrecognized(const json& extra, json& out) {
  if (!extra.is_object()) return;
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    if (!out.contains(it.key())) out[it.key()] = it.value();
  }
}

const json* Find(const json& object, std::string_view field) {
  auto it = object.find(field);
  return it == object.end() ? nullptr : &*it;
}

// An integer in [min, max]. Floats (even 1.0), booleans and strings are not
// integers; numbers beyond 64 bits arrive from the parser as floats.
Result<std::int64_t> ToInt(const json& value, std::string_view what, std::int64_t min,
                           std::int64_t max) {
  std::int64_t v = 0;
  if (value.is_number_unsigned()) {
    std::uint64_t u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Malformed(std::string(what) + " out of range");
    }
    v = static_cast<std::int64_t>(u);
  } else if (value.is_number_integer()) {
    v = value.get<std::int64_t>();
  } else {
    return Malformed(std::string(what) + " must be an integer");
  }
  if (v < min || v > max) return Malformed(std::string(what) + " out of range");
  return v;
}

Result<std::int64_t> GetInt(const json& object, std::string_view field, std::int64_t min,
                            std::int64_t max) {
  const json* value = Find(object, field);
  if (value == nullptr) return Malformed("missing \"" + std::string(field) + "\"");
  return ToInt(*value, field, min, max);
}

Result<std::string> GetString(const json& object, std::string_view field) {
  const json* value = Find(object, field);
  if (value == nullptr) return Malformed("missing \"" + std::string(field) + "\"");
  if (!value->is_string()) return Malformed("\"" + std::string(field) + "\" must be a string");
  return value->get<std::string>();
}

Result<const json*> GetObject(const json& object, std::string_view field) {
  const json* value = Find(object, field);
  if (value == nullptr) return Malformed("missing \"" + std::string(field) + "\"");
  if (!value->is_object()) return Malformed("\"" + std::string(field) + "\" must be an object");
  return value;
}

Result<std::vector<std::string>> ToStringList(const json& value, std::string_view what,
                                              bool unique) {
  if (!value.is_array()) return Malformed(std::string(what) + " must be an array");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const json& element : value) {
    if (!element.is_string()) return Malformed(std::string(what) + " must hold strings");
    std::string s = element.get<std::string>();
    if (unique && !seen.insert(s).second) {
      return Malformed(std::string(what) + " lists \"" + s + "\" twice");
    }
    out.push_back(std::move(s));
  }
  return out;
}

constexpr std::int64_t kMaxLength = std::numeric_limits<std::int64_t>::max();

Result<Hashes> ParseHashes(const json& value) {
  if (!value.is_object()) return Malformed("\"hashes\" must be an object");
  if (value.empty()) return Malformed("\"hashes\" must not be empty");
  Hashes out;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_string()) return Malformed("hash values must be strings");
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

json HashesToJson(const Hashes& hashes) {
  json out = json::object();
  for (const auto& [algorithm, hex] : hashes) out[algorithm] = hex;
  return out;
}

// Spec 4.3 SPEC_VERSION: "major.minor[.patch]", digits only; major must be 1.
Status CheckSpecVersion(const std::string& version) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = version.find('.', start);
    parts.push_back(version.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) return Malformed("bad spec_version \"" + version + "\"");
  for (const std::string& part : parts) {
    if (part.empty() || part.size() > 9 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Malformed("bad spec_version \"" + version + "\"");
    }
  }
  if (parts[0] != "1") return Malformed("unsupported spec_version \"" + version + "\" (need 1.x)");
  return Status::Ok();
}

Result<SignedHeader> ParseHeader(const json& signed_json, std::string_view expected_type) {
  if (!signed_json.is_object()) return Malformed("\"signed\" must be an object");
  if (JsonValueNestsDeeperThan(signed_json, kMaxCanonicalJsonDepth)) return Malformed("JSON nested too deep");
  SignedHeader header;
  BW_ASSIGN_OR_RETURN(header.type, GetString(signed_json, "_type"));
  if (header.type != expected_type) {
    return Malformed("_type is \"" + header.type + "\", expected \"" + std::string(expected_type) + "\"");
  }
  BW_ASSIGN_OR_RETURN(header.spec_version, GetString(signed_json, "spec_version"));
  BW_RETURN_IF_ERROR(CheckSpecVersion(header.spec_version));
  BW_ASSIGN_OR_RETURN(header.version, GetInt(signed_json, "version", 1, kMaxMetadataVersion));
  BW_ASSIGN_OR_RETURN(std::string expires, GetString(signed_json, "expires"));
  BW_ASSIGN_OR_RETURN(header.expires, ParseDateTime(expires));
  return header;
}

json HeaderToJson(const SignedHeader& header) {
  return json{{"_type", header.type},
              {"spec_version", header.spec_version},
              {"version", header.version},
              {"expires", FormatDateTime(header.expires)}};
}

Result<std::map<std::string, PublicKey>> ParseKeys(const json& value) {
  if (!value.is_object()) return Malformed("\"keys\" must be an object");
  std::map<std::string, PublicKey> out;
  for (auto it = value.begin(); it != value.end(); ++it) {
    auto key = PublicKey::FromJson(it.value());
    if (!key.ok()) return key.status().WithContext("key " + it.key());
    out.emplace(it.key(), std::move(key).value());
  }
  return out;
}

json KeysToJson(const std::map<std::string, PublicKey>& keys) {
  json out = json::object();
  for (const auto& [keyid, key] : keys) out[keyid] = key.ToJson();
  return out;
}

Result<RoleKeys> ParseRoleKeys(const json& object) {
  RoleKeys role;
  const json* keyids = Find(object, "keyids");
  if (keyids == nullptr) return Malformed("missing \"keyids\"");
  // python-tuf and the spec's "each KEY MUST only contribute one SIGNATURE"
  // both point the same way: a keyid listed twice is refused outright.
  BW_ASSIGN_OR_RETURN(role.keyids, ToStringList(*keyids, "keyids", /*unique=*/true));
  BW_ASSIGN_OR_RETURN(role.threshold, GetInt(object, "threshold", 1, kMaxLength));
  return role;
}

void RoleKeysToJson(const RoleKeys& role, json& out) {
  out["keyids"] = role.keyids;
  out["threshold"] = role.threshold;
}

bool IsTopLevelRole(std::string_view name) {
  return name == kRootRole || name == kTimestampRole || name == kSnapshotRole ||
         name == kTargetsRole;
}

// Envelope {signed: ...} adds one level to what canonical JSON allows.
constexpr int kMaxEnvelopeDepth = kMaxCanonicalJsonDepth + 1;

}  // namespace

// ---------------------------------------------------------------- dates

Result<TimePoint> ParseDateTime(std::string_view text) {
  // "YYYY-MM-DDTHH:MM:SSZ": 20 characters, digits at fixed places.
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != kShape.size()) return Malformed("expires must be YYYY-MM-DDTHH:MM:SSZ");
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) {
      return Malformed("expires must be YYYY-MM-DDTHH:MM:SSZ");
    }
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  int hour = num(11, 2), minute = num(14, 2), second = num(17, 2);
  std::chrono::year_month_day ymd{std::chrono::year{year},
                                  std::chrono::month{static_cast<unsigned>(month)},
                                  std::chrono::day{static_cast<unsigned>(day)}};
  // No leap seconds: python's strptime and tuf-js reject ":60" too.
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) {
    return Malformed("expires is not a valid date-time");
  }
  return TimePoint{std::chrono::sys_days{ymd}.time_since_epoch() + std::chrono::hours{hour} +
                   std::chrono::minutes{minute} + std::chrono::seconds{second}};
}

std::string FormatDateTime(TimePoint time) {
  auto days = std::chrono::floor<std::chrono::days>(time);
  std::chrono::year_month_day ymd{days};
  std::chrono::hh_mm_ss hms{time - days};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

// ---------------------------------------------------------------- hashes

struct LengthAndHashVerifier::Impl {
  std::vector<std::pair<std::string, std::unique_ptr<crypto::Digest>>> digests;
  Hashes expected;
  bool no_known_algorithm = false;
};

LengthAndHashVerifier::LengthAndHashVerifier(std::optional<std::int64_t> length,
                                             const Hashes& hashes)
    : length_(length), impl_(new Impl) {
  impl_->expected = hashes;
  for (const auto& [algorithm, hex] : hashes) {
    if (algorithm == "sha256") {
      impl_->digests.emplace_back(algorithm,
                                  std::make_unique<crypto::Digest>(crypto::DigestAlgorithm::kSha256));
    } else if (algorithm == "sha512") {
      impl_->digests.emplace_back(algorithm,
                                  std::make_unique<crypto::Digest>(crypto::DigestAlgorithm::kSha512));
    }
  }
  impl_->no_known_algorithm = !hashes.empty() && impl_->digests.empty();
}

LengthAndHashVerifier::~LengthAndHashVerifier() { delete impl_; }

Status LengthAndHashVerifier::Update(std::span<const std::uint8_t> chunk) {
  return Update(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()));
}

Status LengthAndHashVerifier::Update(std::string_view chunk) {
  if (chunk.size() > static_cast<std::size_t>(kMaxLength - bytes_seen_)) {
    return {ErrorCode::kUpdateVerification, "length overflow"};
  }
  bytes_seen_ += static_cast<std::int64_t>(chunk.size());
  if (length_ && bytes_seen_ > *length_) {
    return {ErrorCode::kUpdateVerification,
            "more data than the listed length " + std::to_string(*length_)};
  }
  for (auto& [algorithm, digest] : impl_->digests) digest->Update(chunk);
  return Status::Ok();
}

Status LengthAndHashVerifier::Finish() {
  if (length_ && bytes_seen_ != *length_) {
    return {ErrorCode::kUpdateVerification, "length " + std::to_string(bytes_seen_) +
                                                 " does not match the listed " +
                                                 std::to_string(*length_)};
  }
  if (impl_->no_known_algorithm) {
    return {ErrorCode::kUpdateVerification, "no supported hash algorithm listed (sha256, sha512)"};
  }
  for (auto& [algorithm, digest] : impl_->digests) {
    std::vector<std::uint8_t> actual = digest->Finish();
    auto expected = crypto::HexDecode(impl_->expected.at(algorithm));
    if (!expected.ok() || !crypto::ConstantTimeEquals(actual, *expected)) {
      return {ErrorCode::kUpdateVerification, algorithm + " hash mismatch"};
    }
  }
  return Status::Ok();
}

Status VerifyLengthAndHashes(std::string_view data, std::optional<std::int64_t> length,
                             const Hashes& hashes) {
  LengthAndHashVerifier verifier(length, hashes);
  BW_RETURN_IF_ERROR(verifier.Update(data));
  return verifier.Finish();
}

// ---------------------------------------------------------------- MetaFile

Result<MetaFile> MetaFile::FromJson(const json& value) {
  if (!value.is_object()) return Malformed("meta entry must be an object");
  MetaFile out;
  BW_ASSIGN_OR_RETURN(out.version, GetInt(value, "version", 1, kMaxMetadataVersion));
  if (const json* length = Find(value, "length")) {
    BW_ASSIGN_OR_RETURN(out.length, ToInt(*length, "length", 0, kMaxLength));
  }
  if (const json* hashes = Find(value, "hashes")) {
    BW_ASSIGN_OR_RETURN(out.hashes, ParseHashes(*hashes));
  }
  out.unrecognized_fields = Unrecognized(value, {"version", "length", "hashes"});
  return out;
}

json MetaFile::ToJson() const {
  json out = {{"version", version}};
  if (length) out["length"] = *length;
  if (!hashes.empty()) out["hashes"] = HashesToJson(hashes);
  MergeUnrecognized(unrecognized_fields, out);
  return out;
}

Status MetaFile::VerifyData(std::string_view data) const {
  return VerifyLengthAndHashes(data, length, hashes);
}

// ---------------------------------------------------------------- TargetFile

Result<TargetFile> TargetFile::FromJson(std::string path, const json& value) {
  if (!value.is_object()) return Malformed("target \"" + path + "\" must be an object");
  TargetFile out;
  out.path = std::move(path);
  BW_ASSIGN_OR_RETURN(out.length, GetInt(value, "length", 0, kMaxLength));
  const json* hashes = Find(value, "hashes");
  if (hashes == nullptr) return Malformed("target \"" + out.path + "\" has no hashes");
  BW_ASSIGN_OR_RETURN(out.hashes, ParseHashes(*hashes));
  if (const json* custom = Find(value, "custom")) {
    if (!custom->is_object()) return Malformed("target \"custom\" must be an object");
    out.custom = *custom;
  }
  out.unrecognized_fields = Unrecognized(value, {"length", "hashes", "custom"});
  return out;
}

json TargetFile::ToJson() const {
  json out = {{"length", length}, {"hashes", HashesToJson(hashes)}};
  if (custom) out["custom"] = *custom;
  MergeUnrecognized(unrecognized_fields, out);
  return out;
}

Status TargetFile::VerifyData(std::string_view data) const {
  return VerifyLengthAndHashes(data, length, hashes);
}

TargetFile TargetFile::FromData(std::string path, std::string_view data) {
  TargetFile out;
  out.path = std::move(path);
  out.length = static_cast<std::int64_t>(data.size());
  out.hashes["sha256"] = crypto::HexEncode(crypto::Sha256(data));
  out.hashes["sha512"] = crypto::HexEncode(crypto::Sha512(data));
  return out;
}

// ---------------------------------------------------------------- root

Result<RootMetadata> RootMetadata::FromJson(const json& signed_json) {
  RootMetadata out;
  BW_ASSIGN_OR_RETURN(out.header, ParseHeader(signed_json, kRootRole));
  out.consistent_snapshot = false;  // Spec 4.3: absent in old metadata.
  if (const json* cs = Find(signed_json, "consistent_snapshot")) {
    if (!cs->is_boolean()) return Malformed("consistent_snapshot must be a boolean");
    out.consistent_snapshot = cs->get<bool>();
  }
  BW_ASSIGN_OR_RETURN(const json* keys, GetObject(signed_json, "keys"));
  BW_ASSIGN_OR_RETURN(out.keys, ParseKeys(*keys));
  BW_ASSIGN_OR_RETURN(const json* roles, GetObject(signed_json, "roles"));
  for (auto it = roles->begin(); it != roles->end(); ++it) {
    if (!it.value().is_object()) return Malformed("role \"" + it.key() + "\" must be an object");
    auto role = ParseRoleKeys(it.value());
    if (!role.ok()) return role.status().WithContext("role " + it.key());
    out.roles.emplace(it.key(), std::move(role).value());
  }
  for (std::string_view required : {kRootRole, kTimestampRole, kSnapshotRole, kTargetsRole}) {
    if (out.roles.find(std::string(required)) == out.roles.end()) {
      return Malformed("root lacks the \"" + std::string(required) + "\" role");
    }
  }
  out.unrecognized_fields = Unrecognized(
      signed_json, {"_type", "spec_version", "version", "expires", "consistent_snapshot", "keys", "roles"});
  return out;
}

json RootMetadata::ToJson() const {
  json out = HeaderToJson(header);
  out["consistent_snapshot"] = consistent_snapshot;
  out["keys"] = KeysToJson(keys);
  json roles_json = json::object();
  for (const auto& [name, role] : roles) {
    json r = json::object();
    RoleKeysToJson(role, r);
    roles_json[name] = r;
  }
  out["roles"] = roles_json;
  MergeUnrecognized(unrecognized_fields, out);
  return out;
}

const RoleKeys* RootMetadata::FindRole(std::string_view role) const {
  auto it = roles.find(std::string(role));
  return it == roles.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------- timestamp

Result<TimestampMetadata> TimestampMetadata::FromJson(const json& signed_json) {
  TimestampMetadata out;
  BW_ASSIGN_OR_RETURN(out.header, ParseHeader(signed_json, kTimestampRole));
  BW_ASSIGN_OR_RETURN(const json* meta, GetObject(signed_json, "meta"));
  // Spec 4.6: "this MUST only include a description of the snapshot.json".
  if (meta->size() != 1 || !meta->contains("snapshot.json")) {
    return Malformed("timestamp meta must list exactly snapshot.json");
  }
  auto snapshot_meta = MetaFile::FromJson(meta->at("snapshot.json"));
  if (!snapshot_meta.ok()) return snapshot_meta.status().WithContext("snapshot.json");
  out.snapshot_meta = std::move(snapshot_meta).value();
  out.unrecognized_fields =
      Unrecognized(signed_json, {"_type", "spec_version", "version", "expires", "meta"});
  return out;
}

json TimestampMetadata::ToJson() const {
  json out = HeaderToJson(header);
  out["meta"] = json{{"snapshot.json", snapshot_meta.ToJson()}};
  MergeUnrecognized(unrecognized_fields, out);
  return out;
}

// ---------------------------------------------------------------- snapshot

Result<SnapshotMetadata> SnapshotMetadata::FromJson(const json& signed_json) {
  SnapshotMetadata out;
  BW_ASSIGN_OR_RETURN(out.header, ParseHeader(signed_json, kSnapshotRole));
  BW_ASSIGN_OR_RETURN(const json* meta, GetObject(signed_json, "meta"));
  for (auto it = meta->begin(); it != meta->end(); ++it) {
    auto entry = MetaFile::FromJson(it.value());
    if (!entry.ok()) return entry.status().WithContext(it.key());
    out.meta.emplace(it.key(), std::move(entry).value());
  }
  out.unrecognized_fields =
      Unrecognized(signed_json, {"_type", "spec_version", "version", "expires", "meta"});
  return out;
}

json SnapshotMetadata::ToJson() const {
  json out = HeaderToJson(header);
  json meta_json = json::object();
  for (const auto& [name, entry] : meta) meta_json[name] = entry.ToJson();
  out["meta"] = meta_json;
  MergeUnrecognized(unrecognized_fields, out);
  return out;
}

const MetaFile* SnapshotMetadata::FindRoleMeta(std::string_view role) const {
  auto it = meta.find(std::string(role) + ".json");
  return it == meta.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------- delegations

Result<DelegatedRole> DelegatedRole::FromJson(const json& value) {
  if (!value.is_object()) return Malformed("delegated role must be an object");
  DelegatedRole out;
  BW_ASSIGN_OR_RETURN(out.name, GetString(value, "name"));
  if (out.name.empty()) return Malformed("delegated role name is empty");
  auto keys = ParseRoleKeys(value);
  if (!keys.ok()) return keys.status().WithContext("delegated role " + out.name);
  out.role_keys = std::move(keys).value();
  const json* terminating = Find(value, "terminating");
  if (terminating == nullptr || !terminating->is_boolean()) {
    return Malformed("delegated role \"" + out.name + "\": terminating must be a boolean");
  }
  out.terminating = terminating->get<bool>();
  const json* paths = Find(value, "paths");
  const json* prefixes = Find(value, "path_hash_prefixes");
  if (paths != nullptr && prefixes != nullptr) {
    return Malformed("delegated role \"" + out.name + "\" sets both paths and path_hash_prefixes");
  }
  if (paths != nullptr) {
    BW_ASSIGN_OR_RETURN(out.paths, ToStringList(*paths, "paths", /*unique=*/false));
  }
  if (prefixes != nullptr) {
    BW_ASSIGN_OR_RETURN(std::vector<std::string> list,
                        ToStringList(*prefixes, "path_hash_prefixes", /*unique=*/false));
    for (std::string& prefix : list) {
      for (char& c : prefix) {
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return Malformed("path_hash_prefixes must be hex");
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    }
    out.path_hash_prefixes = std::move(list);
  }
  out.unrecognized_fields = Unrecognized(
      value, {"name", "keyids", "threshold", "terminating", "paths", "path_hash_prefixes"});
  return out;
}

json DelegatedRole::ToJson() const {
  json out = {{"name", name}, {"terminating", terminating}};
  RoleKeysToJson(role_keys, out);
  if (paths) out["paths"] = *paths;
  if (path_hash_prefixes) out["path_hash_prefixes"] = *path_hash_prefixes;
  MergeUnrecognized(unrecognized_fields, out);
  return out;
}

bool DelegatedRole::IsDelegatedPath(std::string_view target_path) const {
  if (paths) {
    return std::any_of(paths->begin(), paths->end(), [&](const std::string& pattern) {
      return MatchPathPattern(pattern, target_path);
    });
  }
  if (path_hash_prefixes) return MatchPathHashPrefix(*path_hash_prefixes, target_path);
  return false;
}

Result<Delegations> Delegations::FromJson(const json& value) {
  if (!value.is_object()) return Malformed("delegations must be an object");
  Delegations out;
  BW_ASSIGN_OR_RETURN(const json* keys, GetObject(value, "keys"));
  BW_ASSIGN_OR_RETURN(out.keys, ParseKeys(*keys));
  const json* roles = Find(value, "roles");
  // TAP 15 "succinct_roles" is not supported: without "roles" we refuse the
  // file rather than silently trusting nothing the publisher meant.
  if (roles == nullptr || !roles->is_array()) return Malformed("delegations.roles must be an array");
  std::set<std::string> names;
  for (const json& role_json : *roles) {
    BW_ASSIGN_OR_RETURN(DelegatedRole role, DelegatedRole::FromJson(role_json));
    // Spec 4.5: ROLENAME MUST be unique. A top-level name would alias the
    // trusted top-level roles (python-tuf refuses it the same way).
    if (!names.insert(role.name).second) return Malformed("delegated role \"" + role.name + "\" listed twice");
    if (IsTopLevelRole(role.name)) return Malformed("delegated role uses top-level name \"" + role.name + "\"");
    out.roles.push_back(std::move(role));
  }
  out.unrecognized_fields = Unrecognized(value, {"keys", "roles"});
  return out;
}

json Delegations::ToJson() const {
  json roles_json = json::array();
  for (const DelegatedRole& role : roles) roles_json.push_back(role.ToJson());
  json out = {{"keys", KeysToJson(keys)}, {"roles", roles_json}};
  MergeUnrecognized(unrecognized_fields, out);
  return out;
}

const DelegatedRole* Delegations::FindRole(std::string_view name) const {
  for (const DelegatedRole& role : roles) {
    if (role.name == name) return &role;
  }
  return nullptr;
}

// ---------------------------------------------------------------- targets

Result<TargetsMetadata> TargetsMetadata::FromJson(const json& signed_json) {
  TargetsMetadata out;
  BW_ASSIGN_OR_RETURN(out.header, ParseHeader(signed_json, kTargetsRole));
  BW_ASSIGN_OR_RETURN(const json* targets, GetObject(signed_json, "targets"));
  for (auto it = targets->begin(); it != targets->end(); ++it) {
    BW_ASSIGN_OR_RETURN(TargetFile file, TargetFile::FromJson(it.key(), it.value()));
    out.targets.emplace(it.key(), std::move(file));
  }
  if (const json* delegations = Find(signed_json, "delegations")) {
    BW_ASSIGN_OR_RETURN(out.delegations, Delegations::FromJson(*delegations));
  }
  out.unrecognized_fields = Unrecognized(
      signed_json, {"_type", "spec_version", "version", "expires", "targets", "delegations"});
  return out;
}

json TargetsMetadata::ToJson() const {
  json out = HeaderToJson(header);
  json targets_json = json::object();
  for (const auto& [path, file] : targets) targets_json[path] = file.ToJson();
  out["targets"] = targets_json;
  if (delegations) out["delegations"] = delegations->ToJson();
  MergeUnrecognized(unrecognized_fields, out);
  return out;
}

// ---------------------------------------------------------------- matching

namespace {

// Patterns and paths are matched by Unicode code point, as python-tuf's
// fnmatch does (a '?' or a class is one character, not one byte of a
// multi-byte one). Both are UTF-8 from parsed JSON; anything that does not
// decode matches nothing.
std::optional<std::u32string> DecodeUtf8(std::string_view s) {
  if (!IsValidUtf8(s)) return std::nullopt;
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1Fu) : n == 3 ? (b & 0x0Fu) : (b & 0x07u);
    for (std::size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    out.push_back(c);
    i += n;
  }
  return out;
}

// Matches a "[...]" class at pattern[i] (i points at '['). Returns the index
// after the class, or npos if the class is unterminated (then '[' is
// literal). Only '!' negates: as in fnmatch, "[^x]" is the class of '^' and
// 'x', and a ']' first in the class is literal.
std::size_t MatchClass(std::u32string_view pattern, std::size_t i, char32_t c, bool& matched) {
  std::size_t j = i + 1;
  bool negate = false;
  if (j < pattern.size() && pattern[j] == U'!') {
    negate = true;
    ++j;
  }
  bool found = false;
  bool first = true;
  while (j < pattern.size() && (first || pattern[j] != U']')) {
    first = false;
    const char32_t lo = pattern[j];
    char32_t hi = lo;
    if (j + 2 < pattern.size() && pattern[j + 1] == U'-' && pattern[j + 2] != U']') {
      hi = pattern[j + 2];
      j += 3;
    } else {
      ++j;
    }
    if (lo <= c && c <= hi) found = true;
  }
  if (j >= pattern.size()) return std::u32string_view::npos;
  matched = (found != negate) && c != U'/';
  return j + 1;
}

bool MatchFrom(std::u32string_view pattern, std::u32string_view path) {
  // Iterative glob with single-star backtracking; '*' never crosses '/', so
  // backtracking is bounded by the current path segment.
  constexpr std::size_t kNone = std::u32string_view::npos;
  std::size_t pi = 0, si = 0;
  std::size_t star_p = kNone;
  std::size_t star_s = 0;
  while (si < path.size()) {
    if (pi < pattern.size()) {
      const char32_t p = pattern[pi];
      if (p == U'*') {
        star_p = pi++;
        star_s = si;
        continue;
      }
      if (p == U'?' && path[si] != U'/') {
        ++pi;
        ++si;
        continue;
      }
      if (p == U'[') {
        bool matched = false;
        const std::size_t next = MatchClass(pattern, pi, path[si], matched);
        if (next != kNone) {
          if (matched) {
            pi = next;
            ++si;
            continue;
          }
        } else if (path[si] == U'[') {  // Unterminated class: literal '['.
          ++pi;
          ++si;
          continue;
        }
      } else if (p != U'?' && p == path[si]) {
        ++pi;
        ++si;
        continue;
      }
    }
    // Mismatch: let the last '*' absorb one more character, unless that
    // character is '/' (a star stays within one path segment).
    if (star_p != kNone && path[star_s] != U'/') {
      pi = star_p + 1;
      si = ++star_s;
      continue;
    }
    return false;
  }
  while (pi < pattern.size() && pattern[pi] == U'*') ++pi;
  return pi == pattern.size();
}

}  // namespace

bool MatchPathPattern(std::string_view pattern, std::string_view path) {
  const std::optional<std::u32string> p = DecodeUtf8(pattern), t = DecodeUtf8(path);
  return p && t && MatchFrom(*p, *t);
}

bool MatchPathHashPrefix(std::span<const std::string> prefixes, std::string_view path) {
  std::string digest = crypto::HexEncode(crypto::Sha256(path));
  for (const std::string& prefix : prefixes) {
    if (prefix.size() > digest.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(prefix[i])) != digest[i]) {
        match = false;
        break;
      }
    }
    if (match) return true;
  }
  return false;
}

// ---------------------------------------------------------------- envelope

Result<SignedEnvelope> SignedEnvelope::Parse(std::string_view bytes) {
  // Refused before nlohmann::json builds (and would recursively copy) it:
  // copying a 300 000-deep array overflows the stack, and a 2 MB snapshot
  // can be that deep.
  if (JsonTextNestsDeeperThan(bytes, kMaxEnvelopeDepth)) return Malformed("JSON nested too deep");
  // allow_exceptions=false: malformed JSON (or invalid UTF-8) comes back as
  // a "discarded" value instead of a throw.
  json parsed = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Malformed("not valid JSON");
  return FromJson(parsed);
}

Result<SignedEnvelope> SignedEnvelope::FromJson(const json& value) {
  if (!value.is_object()) return Malformed("metadata must be a JSON object");
  // Before anything copies (recursively) the value.
  if (JsonValueNestsDeeperThan(value, kMaxEnvelopeDepth)) return Malformed("JSON nested too deep");
  const json* signed_json = Find(value, "signed");
  const json* signatures = Find(value, "signatures");
  if (signed_json == nullptr || !signed_json->is_object()) return Malformed("\"signed\" must be an object");
  if (signatures == nullptr || !signatures->is_array()) return Malformed("\"signatures\" must be an array");
  SignedEnvelope out;
  out.signed_json_ = *signed_json;
  BW_ASSIGN_OR_RETURN(out.canonical_signed_, CanonicalJson(out.signed_json_));
  std::set<std::string> keyids;
  for (const json& sig : *signatures) {
    if (!sig.is_object()) return Malformed("signature must be an object");
    Signature s;
    BW_ASSIGN_OR_RETURN(s.keyid, GetString(sig, "keyid"));
    BW_ASSIGN_OR_RETURN(s.sig, GetString(sig, "sig"));
    // Spec 4.2: "The keyid MUST be unique in the signatures array".
    if (!keyids.insert(s.keyid).second) return Malformed("two signatures with keyid " + s.keyid);
    out.signatures_.push_back(std::move(s));
  }
  return out;
}

Result<SignedEnvelope> SignedEnvelope::Create(json signed_json) {
  if (!signed_json.is_object()) return Malformed("\"signed\" must be an object");
  if (JsonValueNestsDeeperThan(signed_json, kMaxCanonicalJsonDepth)) return Malformed("JSON nested too deep");
  SignedEnvelope out;
  out.signed_json_ = std::move(signed_json);
  BW_ASSIGN_OR_RETURN(out.canonical_signed_, CanonicalJson(out.signed_json_));
  return out;
}

std::string SignedEnvelope::type() const {
  const json* type = Find(signed_json_, "_type");
  return type != nullptr && type->is_string() ? type->get<std::string>() : std::string();
}

Status SignedEnvelope::AddSignature(const PrivateKey& key) {
  BW_ASSIGN_OR_RETURN(std::string keyid, key.KeyId());
  BW_ASSIGN_OR_RETURN(std::vector<std::uint8_t> sig, key.Sign(canonical_signed_));
  Signature s{keyid, crypto::HexEncode(sig)};
  for (Signature& existing : signatures_) {
    if (existing.keyid == keyid) {
      existing = std::move(s);
      return Status::Ok();
    }
  }
  signatures_.push_back(std::move(s));
  return Status::Ok();
}

json SignedEnvelope::ToJson() const {
  json sigs = json::array();
  for (const Signature& s : signatures_) sigs.push_back({{"keyid", s.keyid}, {"sig", s.sig}});
  return json{{"signatures", sigs}, {"signed", signed_json_}};
}

std::string SignedEnvelope::Serialize() const {
  // ensure_ascii keeps the file 7-bit clean; "replace" instead of a throw
  // for invalid UTF-8 that a caller may have put into a string (parsed input
  // is always valid UTF-8).
  return ToJson().dump(2, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace) + "\n";
}

// ---------------------------------------------------------------- threshold

std::int64_t CountValidSignatures(const SignedEnvelope& envelope,
                                  const std::map<std::string, PublicKey>& keys,
                                  const RoleKeys& role_keys, const VerificationOptions& options) {
  std::set<std::string> counted_keyids;
  std::set<std::string> counted_material;
  std::int64_t count = 0;
  for (const Signature& signature : envelope.signatures()) {
    // Signatures by keys outside the role are ignored, not an error.
    if (std::find(role_keys.keyids.begin(), role_keys.keyids.end(), signature.keyid) ==
        role_keys.keyids.end()) {
      continue;
    }
    // 5.3.4: each KEYID contributes at most one signature.
    if (counted_keyids.count(signature.keyid) != 0) continue;
    auto key = keys.find(signature.keyid);
    if (key == keys.end() || !key->second.usable()) continue;
    if (options.require_keyid_match) {
      auto computed = key->second.KeyId();
      if (!computed.ok() || *computed != signature.keyid) continue;
    }
    // One key listed under two keyids still counts once.
    if (counted_material.count(key->second.key_material()) != 0) continue;
    auto sig_bytes = crypto::HexDecode(signature.sig);
    if (!sig_bytes.ok() || sig_bytes->empty()) continue;
    if (!key->second.Verify(envelope.canonical_signed(), *sig_bytes)) continue;
    counted_keyids.insert(signature.keyid);
    counted_material.insert(key->second.key_material());
    ++count;
  }
  return count;
}

Status VerifyThreshold(const SignedEnvelope& envelope, std::string_view role_name,
                       const std::map<std::string, PublicKey>& keys, const RoleKeys& role_keys,
                       const VerificationOptions& options) {
  std::int64_t count = CountValidSignatures(envelope, keys, role_keys, options);
  if (count < role_keys.threshold) {
    return {ErrorCode::kUpdateVerification,
            std::string(role_name) + " is signed by " + std::to_string(count) + " of the " +
                std::to_string(role_keys.threshold) + " keys it needs"};
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- names

std::string EncodeRoleName(std::string_view role) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : role) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '.' || c == '_' || c == '~' || c == '-') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  // Dots stay (as python-tuf's quote() keeps them): the caller always
  // appends ".json", so even ".." becomes the harmless "...json".
  return out;
}

std::string MetadataFileName(std::string_view role, std::optional<std::int64_t> version) {
  std::string name = EncodeRoleName(role) + ".json";
  if (version) return std::to_string(*version) + "." + name;
  return name;
}

std::string ConsistentTargetPath(std::string_view target_path, std::string_view hash_hex) {
  std::size_t slash = target_path.rfind('/');
  if (slash == std::string_view::npos) return std::string(hash_hex) + "." + std::string(target_path);
  return std::string(target_path.substr(0, slash + 1)) + std::string(hash_hex) + "." +
         std::string(target_path.substr(slash + 1));
}

}  // namespace bellwether::tuf
