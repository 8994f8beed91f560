// Typed TUF metadata (spec section 4): the envelope {"signed","signatures"},
// the four top-level roles and delegations, parsed strictly and serialised
// back, plus threshold signature verification.
//
// Parsing never throws and never crashes on hostile input: wrong JSON types,
// missing fields, negative or huge numbers, floats, bad dates and duplicate
// role names all come back as a Status with code kUpdateVerification (a
// malformed file is as untrustworthy as a badly signed one). Fields this
// model does not know are kept in `unrecognized_fields` and written back by
// ToJson, because they are covered by the signatures (spec 4: "must preserve
// the data when re-serializing").
//
// Everything here is a value type without I/O; thread-compatible.
#ifndef BELLWETHER_UPDATE_TUF_METADATA_H_
#define BELLWETHER_UPDATE_TUF_METADATA_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "update/tuf/keys.h"

namespace bellwether::tuf {

// Role names of the top-level roles, also their metadata file stems.
inline constexpr std::string_view kRootRole = "root";
inline constexpr std::string_view kTimestampRole = "timestamp";
inline constexpr std::string_view kSnapshotRole = "snapshot";
inline constexpr std::string_view kTargetsRole = "targets";

// The spec version this library writes; it reads any "1.x.y" (major match,
// spec 4.3 SPEC_VERSION: adopters decide what matches).
inline constexpr std::string_view kSpecVersion = "1.0.34";

// Versions are integers in [1, kMaxMetadataVersion]; the cap keeps N+1 and
// comparisons free of overflow.
inline constexpr std::int64_t kMaxMetadataVersion = (std::int64_t{1} << 53) - 1;

using TimePoint = std::chrono::sys_seconds;

// "YYYY-MM-DDTHH:MM:SSZ" exactly (spec 4.2 date-time); rejects anything else,
// including out-of-range fields (month 13, Feb 30, hour 24).
Result<TimePoint> ParseDateTime(std::string_view text);
std::string FormatDateTime(TimePoint time);

// hash algorithm name ("sha256", "sha512") -> lowercase hex digest.
using Hashes = std::map<std::string, std::string>;

// Verifies `data` against `hashes` (and `length` when given). Every listed
// algorithm this library knows (sha256, sha512) must match; unknown ones are
// ignored, but at least one known algorithm must be listed when `hashes` is
// non-empty. Mismatch -> kUpdateVerification.
Status VerifyLengthAndHashes(std::string_view data, std::optional<std::int64_t> length,
                             const Hashes& hashes);

// Streaming form of VerifyLengthAndHashes, for downloads written to a file:
// feed every chunk to Update, then Finish. Update fails as soon as more bytes
// than `length` arrive (so the caller can stop an endless-data attack).
class LengthAndHashVerifier {
 public:
  LengthAndHashVerifier(std::optional<std::int64_t> length, const Hashes& hashes);
  ~LengthAndHashVerifier();
  LengthAndHashVerifier(const LengthAndHashVerifier&) = delete;
  LengthAndHashVerifier& operator=(const LengthAndHashVerifier&) = delete;

  Status Update(std::span<const std::uint8_t> chunk);
  Status Update(std::string_view chunk);
  // Checks the total length and every known hash; call once.
  Status Finish();
  std::int64_t bytes_seen() const { return bytes_seen_; }

 private:
  struct Impl;
  std::optional<std::int64_t> length_;
  std::int64_t bytes_seen_ = 0;
  Impl* impl_;
};

// METAFILES entry (spec 4.4): version, optional length and hashes.
struct MetaFile {
  std::int64_t version = 1;
  std::optional<std::int64_t> length;
  Hashes hashes;  // Empty when absent.
  nlohmann::json unrecognized_fields = nlohmann::json::object();

  static Result<MetaFile> FromJson(const nlohmann::json& json);
  nlohmann::json ToJson() const;
  // VerifyLengthAndHashes against this entry.
  Status VerifyData(std::string_view data) const;
};

// TARGETS entry (spec 4.5): length, hashes (at least one), optional custom.
struct TargetFile {
  std::string path;  // The TARGETPATH key.
  std::int64_t length = 0;
  Hashes hashes;
  std::optional<nlohmann::json> custom;  // An object when present.
  nlohmann::json unrecognized_fields = nlohmann::json::object();

  static Result<TargetFile> FromJson(std::string path, const nlohmann::json& json);
  nlohmann::json ToJson() const;
  Status VerifyData(std::string_view data) const;
  // Builds an entry for `data` with sha256 and sha512 (for the release tool).
  static TargetFile FromData(std::string path, std::string_view data);
};

// Keys and threshold of one role (root "roles" entry, or the common part of
// a delegated role).
struct RoleKeys {
  std::vector<std::string> keyids;  // Unique (duplicates rejected at parse).
  std::int64_t threshold = 1;       // >= 1.
};

// Common "signed" header of every role.
struct SignedHeader {
  std::string type;          // "_type"
  std::string spec_version;  // Major version 1.
  std::int64_t version = 1;
  TimePoint expires{};

  bool IsExpired(TimePoint reference_time) const { return reference_time >= expires; }
};

struct RootMetadata {
  SignedHeader header;
  bool consistent_snapshot = true;  // Absent in old metadata means false.
  std::map<std::string, PublicKey> keys;  // keyid -> key.
  std::map<std::string, RoleKeys> roles;  // Must have root/timestamp/snapshot/targets.
  nlohmann::json unrecognized_fields = nlohmann::json::object();

  static Result<RootMetadata> FromJson(const nlohmann::json& signed_json);
  nlohmann::json ToJson() const;
  // The role entry, or nullptr.
  const RoleKeys* FindRole(std::string_view role) const;
};

struct TimestampMetadata {
  SignedHeader header;
  MetaFile snapshot_meta;  // meta["snapshot.json"], the only entry allowed.
  nlohmann::json unrecognized_fields = nlohmann::json::object();

  static Result<TimestampMetadata> FromJson(const nlohmann::json& signed_json);
  nlohmann::json ToJson() const;
};

struct SnapshotMetadata {
  SignedHeader header;
  std::map<std::string, MetaFile> meta;  // "targets.json", "<role>.json".
  nlohmann::json unrecognized_fields = nlohmann::json::object();

  static Result<SnapshotMetadata> FromJson(const nlohmann::json& signed_json);
  nlohmann::json ToJson() const;
  // meta["<role>.json"], or nullptr.
  const MetaFile* FindRoleMeta(std::string_view role) const;
};

// One entry of delegations.roles (spec 4.5). Exactly one of paths /
// path_hash_prefixes may be set; with neither, the role matches nothing.
struct DelegatedRole {
  std::string name;
  RoleKeys role_keys;
  bool terminating = false;
  std::optional<std::vector<std::string>> paths;
  std::optional<std::vector<std::string>> path_hash_prefixes;  // Lowercase hex.
  nlohmann::json unrecognized_fields = nlohmann::json::object();

  static Result<DelegatedRole> FromJson(const nlohmann::json& json);
  nlohmann::json ToJson() const;
  // Whether this role is trusted for `target_path` (spec 4.5 "paths": glob
  // where `*` and `?` never match '/', "[...]" classes; or a sha256 hex
  // prefix of the path).
  bool IsDelegatedPath(std::string_view target_path) const;
};

struct Delegations {
  std::map<std::string, PublicKey> keys;
  std::vector<DelegatedRole> roles;  // Priority order (spec 4.5).
  nlohmann::json unrecognized_fields = nlohmann::json::object();

  static Result<Delegations> FromJson(const nlohmann::json& json);
  nlohmann::json ToJson() const;
  const DelegatedRole* FindRole(std::string_view name) const;
};

struct TargetsMetadata {
  SignedHeader header;
  std::map<std::string, TargetFile> targets;  // path -> entry.
  std::optional<Delegations> delegations;
  nlohmann::json unrecognized_fields = nlohmann::json::object();

  static Result<TargetsMetadata> FromJson(const nlohmann::json& signed_json);
  nlohmann::json ToJson() const;
};

// Glob match of spec 4.5 PATHPATTERN: '*' matches any run of characters
// except '/', '?' any one character except '/', "[abc]"/"[a-z]"/"[!x]" a
// class (never '/'); everything else literally. Characters are Unicode code
// points and only '!' negates, as in fnmatch; input that is not UTF-8
// matches nothing. Exposed for tests.
bool MatchPathPattern(std::string_view pattern, std::string_view path);

// "sha256 hex of the path starts with one of the prefixes".
bool MatchPathHashPrefix(std::span<const std::string> prefixes, std::string_view path);

struct Signature {
  std::string keyid;
  std::string sig;  // Hex, as in the file (may be empty or malformed).
};

// The envelope of a metadata file. Keeps the parsed "signed" JSON and its
// canonical bytes (what signatures cover).
class SignedEnvelope {
 public:
  // Parses metadata file bytes: JSON object with exactly the members
  // "signed" (object) and "signatures" (array of {"keyid","sig"} strings).
  // Two signatures with the same keyid are rejected (spec 4.2: "The keyid
  // MUST be unique in the signatures array"); VerifyThreshold would count
  // such a keyid once anyway (5.3.4).
  static Result<SignedEnvelope> Parse(std::string_view bytes);
  static Result<SignedEnvelope> FromJson(const nlohmann::json& json);
  // An unsigned envelope around `signed_json` (for the release tool).
  static Result<SignedEnvelope> Create(nlohmann::json signed_json);

  const nlohmann::json& signed_json() const { return signed_json_; }
  const std::string& canonical_signed() const { return canonical_signed_; }
  const std::vector<Signature>& signatures() const { return signatures_; }
  // The "_type" of signed (empty when missing or not a string).
  std::string type() const;

  // Signs canonical_signed() with `key`; replaces an earlier signature by
  // the same keyid.
  Status AddSignature(const PrivateKey& key);
  void ClearSignatures() { signatures_.clear(); }

  nlohmann::json ToJson() const;
  // File bytes: 2-space indented JSON (any form is fine for TUF: signatures
  // cover the canonical form of "signed"; hashes cover these exact bytes).
  std::string Serialize() const;

 private:
  nlohmann::json signed_json_;
  std::string canonical_signed_;
  std::vector<Signature> signatures_;
};

// How signature threshold checks treat keys.
struct VerificationOptions {
  // Spec 4.3 KEYID says clients MUST check that each keyid is
  // sha256(canonical(key)). When true, a key listed under any other id never
  // counts. Off by default, as in python-tuf, go-tuf and tuf-js: real
  // repositories (and the TUF conformance suite's keyid_hash_algorithms
  // case) carry keys whose ids were computed over a different form of the
  // object. The property the check exists for -- one key can never count
  // twice -- is enforced regardless: thresholds count distinct public key
  // material, not distinct ids.
  bool require_keyid_match = false;
};

// Verifies that `envelope` carries valid signatures from at least
// `role_keys.threshold` distinct keys among `role_keys.keyids` (looked up in
// `keys`). Each keyid counts once however often it signs (5.3.4); two keyids
// whose keys have the same public key material count once; signatures by
// keyids outside the role, unknown keys, unusable keys, empty or malformed
// signatures are ignored. Below threshold -> kUpdateVerification naming
// `role_name` and the count.
Status VerifyThreshold(const SignedEnvelope& envelope, std::string_view role_name,
                       const std::map<std::string, PublicKey>& keys, const RoleKeys& role_keys,
                       const VerificationOptions& options = {});

// Number of distinct valid signers counted as above (for diagnostics/tests).
std::int64_t CountValidSignatures(const SignedEnvelope& envelope,
                                  const std::map<std::string, PublicKey>& keys,
                                  const RoleKeys& role_keys,
                                  const VerificationOptions& options = {});

// Metadata file naming (spec 5.3.3, 5.5.1, 5.6.1, 5.8.3). Role names are
// percent-encoded (everything but [A-Za-z0-9._~-]) so a delegated role name
// like "../x" or "a/b" cannot escape a directory or URL path segment.
std::string EncodeRoleName(std::string_view role);
// "root.json", or "7.root.json" when `version` is set.
std::string MetadataFileName(std::string_view role, std::optional<std::int64_t> version);
// Consistent-snapshot target path: "dir/<hash>.name" for "dir/name".
std::string ConsistentTargetPath(std::string_view target_path, std::string_view hash_hex);

}  // namespace bellwether::tuf

#endif  // BELLWETHER_UPDATE_TUF_METADATA_H_
