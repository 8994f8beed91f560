#include "update/tuf/metadata.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "crypto/digest.h"
#include "test_repo.h"
#include "update/tuf/canonical_json.h"

namespace bellwether::tuf {
namespace {

using nlohmann::json;
using testing::NewKey;
using testing::TestRepo;

json TimestampJson() {
  return json::parse(R"({"_type":"timestamp","spec_version":"1.0.31","version":3,
    "expires":"2030-01-01T00:00:00Z",
    "meta":{"snapshot.json":{"version":2,"length":10,"hashes":{"sha256":"00"}}}})");
}

// ------------------------------------------------------------ dates

TEST(DateTime, ParsesTheSpecFormatExactly) {
  auto t = ParseDateTime("1985-10-21T01:21:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->time_since_epoch().count(), 498705660);
  EXPECT_EQ(FormatDateTime(*t), "1985-10-21T01:21:00Z");
}

TEST(DateTime, RejectsOtherFormsAndImpossibleDates) {
  // Only "YYYY-MM-DDTHH:MM:SSZ"; no offsets, fractions, or Feb 30.
  for (const char* bad : {"2030-01-01T00:00:00", "2030-01-01T00:00:00+00:00", "2030-01-01T00:00:00.5Z",
                          "2030-1-01T00:00:00Z", "2030-02-30T00:00:00Z", "2030-13-01T00:00:00Z",
                          "2030-01-01T24:00:00Z", "2030-01-01T00:60:00Z", "2030-01-01T00:00:60Z",
                          "2030-01-01 00:00:00Z", "", "２０３０-01-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseDateTime(bad).ok()) << bad;
  }
}

TEST(DateTime, ExpiryIsStrictlyAfterTheReferenceTime) {
  // Metadata that expires exactly at the start time is already expired.
  SignedHeader h{"timestamp", "1.0.0", 1, *ParseDateTime("2030-01-01T00:00:00Z")};
  EXPECT_FALSE(h.IsExpired(*ParseDateTime("2029-12-31T23:59:59Z")));
  EXPECT_TRUE(h.IsExpired(*ParseDateTime("2030-01-01T00:00:00Z")));
}

// ------------------------------------------------------------ strict parsing

TEST(Metadata, ParsesTimestamp) {
  auto ts = TimestampMetadata::FromJson(TimestampJson());
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_EQ(ts->header.version, 3);
  EXPECT_EQ(ts->snapshot_meta.version, 2);
  EXPECT_EQ(*ts->snapshot_meta.length, 10);
}

TEST(Metadata, HostileFieldValuesAreCleanErrors) {
  // Wrong types, negative, zero, float, huge and missing values: each a
  // kUpdateVerification error, never an exception or crash.
  std::vector<std::pair<std::string, json>> cases = {
      {"/version", json("3")},        {"/version", json(0)},
      {"/version", json(-1)},         {"/version", json(3.0)},
      {"/version", json(true)},       {"/version", json::parse("1e30")},
      {"/version", json(9007199254740992LL)},
      {"/_type", json("snapshot")},   {"/_type", json(1)},
      {"/spec_version", json("2.0.0")}, {"/spec_version", json("1")},
      {"/spec_version", json("1.x.0")}, {"/expires", json(0)},
      {"/expires", json("tomorrow")}, {"/meta", json::array()},
      {"/meta/snapshot.json/version", json(-5)},
      {"/meta/snapshot.json/length", json(-1)},
      {"/meta/snapshot.json/length", json(1.5)},
      {"/meta/snapshot.json/hashes", json::object()},
      {"/meta/snapshot.json/hashes", json("00")},
      {"/meta/snapshot.json/hashes/sha256", json(0)},
      {"/meta/other.json", json{{"version", 1}}},
  };
  for (const auto& [pointer, value] : cases) {
    json j = TimestampJson();
    j[json::json_pointer(pointer)] = value;
    auto ts = TimestampMetadata::FromJson(j);
    EXPECT_FALSE(ts.ok()) << pointer << " = " << value.dump();
    if (!ts.ok()) {
      EXPECT_EQ(ts.status().code(), ErrorCode::kUpdateVerification);
    }
  }
  for (const char* field : {"/_type", "/spec_version", "/version", "/expires", "/meta"}) {
    json j = TimestampJson();
    j.erase(std::string(field).substr(1));
    EXPECT_FALSE(TimestampMetadata::FromJson(j).ok()) << "missing " << field;
  }
  EXPECT_FALSE(TimestampMetadata::FromJson(json::array()).ok());
  EXPECT_FALSE(TimestampMetadata::FromJson(json()).ok());
}

TEST(Metadata, EnvelopeRejectsGarbage) {
  // Not JSON, not an object, wrong member types, invalid UTF-8: errors.
  for (std::string bytes : {std::string("{"), std::string("[]"), std::string("null"),
                            std::string(R"({"signed":[],"signatures":[]})"),
                            std::string(R"({"signed":{},"signatures":{}})"),
                            std::string(R"({"signed":{},"signatures":[{"keyid":1,"sig":""}]})"),
                            std::string(R"({"signed":{},"signatures":[{"keyid":"a"}]})"),
                            std::string(R"({"signed":{"a":1.5},"signatures":[]})"),
                            std::string(R"({"signed":{"a":1e400},"signatures":[]})"),
                            std::string("{\"signed\":{\"a\":\"\xff\"},\"signatures\":[]}")}) {
    auto env = SignedEnvelope::Parse(bytes);
    EXPECT_FALSE(env.ok()) << bytes;
  }
}

TEST(Metadata, DeepNestingIsACleanErrorNotAStackOverflow) {
  // A 2 MB snapshot can nest 10^6 levels; copying that recursively would
  // overflow the stack. It is refused before anything recurses.
  std::string deep = "{\"signatures\":[],\"signed\":{\"a\":" + std::string(300000, '[') +
                     std::string(300000, ']') + "}}";
  auto env = SignedEnvelope::Parse(deep);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), ErrorCode::kUpdateVerification);
  // Brackets inside strings do not count.
  std::string brackets_in_string = R"({"signatures":[],"signed":{"a":")" + std::string(1000, '[') + R"("}})";
  EXPECT_TRUE(SignedEnvelope::Parse(brackets_in_string).ok());
  json nested = json::array();
  for (int i = 0; i < 100; ++i) nested = json::array({nested});
  EXPECT_FALSE(SignedEnvelope::FromJson(json{{"signed", {{"a", nested}}}, {"signatures", json::array()}}).ok());
  json ts = TimestampJson();
  ts["x"] = nested;
  EXPECT_FALSE(TimestampMetadata::FromJson(ts).ok());
}

TEST(Metadata, EnvelopeRejectsDuplicateSignatureKeyIds) {
  // Spec 4.2: keyids MUST be unique in "signatures".
  auto env = SignedEnvelope::Parse(
      R"({"signed":{},"signatures":[{"keyid":"a","sig":"00"},{"keyid":"a","sig":"00"}]})");
  EXPECT_FALSE(env.ok());
}

TEST(Metadata, RootNeedsAllTopLevelRolesAndUniqueKeyIds) {
  TestRepo repo;
  json good = repo.root.ToJson();
  ASSERT_TRUE(RootMetadata::FromJson(good).ok());
  json missing = good;
  missing["roles"].erase("snapshot");
  EXPECT_FALSE(RootMetadata::FromJson(missing).ok());
  json dup = good;
  dup["roles"]["root"]["keyids"].push_back(dup["roles"]["root"]["keyids"][0]);
  EXPECT_FALSE(RootMetadata::FromJson(dup).ok());
  json zero = good;
  zero["roles"]["root"]["threshold"] = 0;
  EXPECT_FALSE(RootMetadata::FromJson(zero).ok());
  json cs = good;
  cs["consistent_snapshot"] = "yes";
  EXPECT_FALSE(RootMetadata::FromJson(cs).ok());
  json absent = good;
  absent.erase("consistent_snapshot");
  EXPECT_FALSE(RootMetadata::FromJson(absent)->consistent_snapshot);
}

TEST(Metadata, RoundTripsEveryRoleWithUnknownFields) {
  // typed -> JSON -> typed -> JSON is stable, and unknown fields survive
  // (they are covered by signatures).
  TestRepo repo;
  repo.AddTarget("targets", "content/pack.json", "data");
  repo.targets.targets["content/pack.json"].custom = json{{"version", 7}};
  repo.Delegate("targets", "team", {"team/*"});
  repo.Publish();
  json root = repo.root.ToJson();
  root["x-extra"] = {{"a", 1}};
  auto parsed_root = RootMetadata::FromJson(root);
  ASSERT_TRUE(parsed_root.ok());
  EXPECT_EQ(parsed_root->ToJson(), root);

  json targets = repo.targets.ToJson();
  targets["targets"]["content/pack.json"]["x-note"] = "kept";
  targets["delegations"]["roles"][0]["x-role"] = true;
  auto parsed_targets = TargetsMetadata::FromJson(targets);
  ASSERT_TRUE(parsed_targets.ok()) << parsed_targets.status().ToString();
  EXPECT_EQ(parsed_targets->ToJson(), targets);
  EXPECT_EQ(parsed_targets->targets.at("content/pack.json").custom->at("version"), 7);

  auto snapshot = SnapshotMetadata::FromJson(repo.snapshot.ToJson());
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->ToJson(), repo.snapshot.ToJson());
  auto timestamp = TimestampMetadata::FromJson(repo.timestamp.ToJson());
  ASSERT_TRUE(timestamp.ok());
  EXPECT_EQ(timestamp->ToJson(), repo.timestamp.ToJson());
}

TEST(Metadata, TargetsNeedLengthAndHashes) {
  json base = json::parse(R"({"_type":"targets","spec_version":"1.0.0","version":1,
      "expires":"2030-01-01T00:00:00Z","targets":{"a":{"length":1,"hashes":{"sha256":"00"}}}})");
  ASSERT_TRUE(TargetsMetadata::FromJson(base).ok());
  for (const char* pointer : {"/targets/a/length", "/targets/a/hashes"}) {
    json j = base;
    j[json::json_pointer(pointer).parent_pointer()].erase(json::json_pointer(pointer).back());
    EXPECT_FALSE(TargetsMetadata::FromJson(j).ok()) << pointer;
  }
  json custom = base;
  custom["targets"]["a"]["custom"] = "string";
  EXPECT_FALSE(TargetsMetadata::FromJson(custom).ok());
}

TEST(Metadata, DelegationsRejectDuplicateAndTopLevelNamesAndBothPathKinds) {
  auto make = [](json roles) {
    json j = json::parse(R"({"_type":"targets","spec_version":"1.0.0","version":1,
        "expires":"2030-01-01T00:00:00Z","targets":{},"delegations":{"keys":{}}})");
    j["delegations"]["roles"] = roles;
    return TargetsMetadata::FromJson(j);
  };
  json role = {{"name", "a"}, {"keyids", json::array()}, {"threshold", 1}, {"terminating", false}, {"paths", {"x/*"}}};
  EXPECT_TRUE(make(json::array({role})).ok());
  EXPECT_FALSE(make(json::array({role, role})).ok());
  json top = role;
  top["name"] = "targets";
  EXPECT_FALSE(make(json::array({top})).ok());
  json both = role;
  both["path_hash_prefixes"] = {"ab"};
  EXPECT_FALSE(make(json::array({both})).ok());
  json no_term = role;
  no_term.erase("terminating");
  EXPECT_FALSE(make(json::array({no_term})).ok());
  json bad_prefix = role;
  bad_prefix.erase("paths");
  bad_prefix["path_hash_prefixes"] = {"xyz"};
  EXPECT_FALSE(make(json::array({bad_prefix})).ok());
}

// ------------------------------------------------------------ paths

TEST(PathPattern, StarDoesNotCrossSlash) {
  // Spec 4.5 examples, plus '*' never matching '/'.
  EXPECT_TRUE(MatchPathPattern("targets/*.tgz", "targets/foo.tgz"));
  EXPECT_FALSE(MatchPathPattern("targets/*.tgz", "targets/foo.txt"));
  EXPECT_TRUE(MatchPathPattern("foo-version-?.tgz", "foo-version-2.tgz"));
  EXPECT_FALSE(MatchPathPattern("foo-version-?.tgz", "foo-version-alpha.tgz"));
  EXPECT_TRUE(MatchPathPattern("*.tgz", "foo.tgz"));
  EXPECT_FALSE(MatchPathPattern("*.tgz", "targets/foo.tgz"));
  EXPECT_TRUE(MatchPathPattern("foo.tgz", "foo.tgz"));
  EXPECT_FALSE(MatchPathPattern("foo.tgz", "foo.tgzz"));
  EXPECT_FALSE(MatchPathPattern("content/*", "content/a/b"));
  EXPECT_TRUE(MatchPathPattern("content/*/b", "content/a/b"));
  EXPECT_TRUE(MatchPathPattern("*/*", "a/b"));
  EXPECT_FALSE(MatchPathPattern("a?b", "a/b"));
  EXPECT_TRUE(MatchPathPattern("*", "anything"));
  EXPECT_FALSE(MatchPathPattern("*", "any/thing"));
  EXPECT_TRUE(MatchPathPattern("a*b*c", "axxbyyc"));
  EXPECT_FALSE(MatchPathPattern("a*b*c", "axxbyy/c"));
}

TEST(PathPattern, SupportsCharacterClasses) {
  EXPECT_TRUE(MatchPathPattern("file[0-9].txt", "file5.txt"));
  EXPECT_FALSE(MatchPathPattern("file[0-9].txt", "filex.txt"));
  EXPECT_TRUE(MatchPathPattern("file[!0-9].txt", "filex.txt"));
  EXPECT_FALSE(MatchPathPattern("a[/]b", "a/b"));
  EXPECT_TRUE(MatchPathPattern("a[b", "a[b"));  // Unterminated: literal.
}

// '?' and a class stand for one character, not one byte of a multi-byte
// one (python-tuf's fnmatch works on characters): "??" must not cover a
// one-character name written in two bytes.
TEST(PathPattern, MatchesCharactersNotBytes) {
  EXPECT_FALSE(MatchPathPattern("content/??.json", "content/\u00e9.json"));
  EXPECT_TRUE(MatchPathPattern("content/?.json", "content/\u00e9.json"));
  EXPECT_TRUE(MatchPathPattern("content/?.json", "content/\U0001F600.json"));
  EXPECT_FALSE(MatchPathPattern("dir/[!a]?", "dir/\u00e9"));
  EXPECT_TRUE(MatchPathPattern("dir/[!a]", "dir/\u00e9"));
  EXPECT_TRUE(MatchPathPattern("dir/[\u00e0-\u00ff]", "dir/\u00e9"));
  EXPECT_FALSE(MatchPathPattern("dir/[\u00e0-\u00ff]", "dir/e"));
  EXPECT_TRUE(MatchPathPattern("*.json", "\u65e5\u672c.json"));
}

// Only '!' negates a class, as in fnmatch: "[^x]" is the class of '^' and
// 'x', so it does not cover "y". A ']' first in a class is literal.
TEST(PathPattern, CaretIsLiteralInAClass) {
  EXPECT_FALSE(MatchPathPattern("dir/[^x]*", "dir/yes"));
  EXPECT_TRUE(MatchPathPattern("dir/[^x]*", "dir/xyz"));
  EXPECT_TRUE(MatchPathPattern("dir/[^x]*", "dir/^up"));
  EXPECT_TRUE(MatchPathPattern("a[]]b", "a]b"));
  EXPECT_TRUE(MatchPathPattern("a[!]]b", "acb"));
  EXPECT_FALSE(MatchPathPattern("a[!]]b", "a]b"));
}

// A pattern or path that is not UTF-8 matches nothing (fail closed).
TEST(PathPattern, InvalidUtf8MatchesNothing) {
  EXPECT_FALSE(MatchPathPattern("*", "bad\xff"));
  EXPECT_FALSE(MatchPathPattern("bad\xff", "bad\xff"));
  EXPECT_FALSE(MatchPathPattern("?", "\xc3"));  // A lead byte alone.
}

TEST(PathPattern, HostilePatternsStayFast) {
  // Many stars against a long non-matching path: bounded by the segment.
  std::string pattern(200, '*');
  pattern += "b";
  EXPECT_FALSE(MatchPathPattern(pattern, std::string(5000, 'a')));
}

TEST(PathHashPrefix, MatchesSha256HexPrefix) {
  // sha256("content/pack.json") decides the bin.
  std::string digest = TargetFile::FromData("x", "content/pack.json").hashes["sha256"];
  std::vector<std::string> yes = {digest.substr(0, 2)};
  std::vector<std::string> no = {digest[0] == '0' ? "1" : "0"};
  EXPECT_TRUE(MatchPathHashPrefix(yes, "content/pack.json"));
  EXPECT_FALSE(MatchPathHashPrefix(no, "content/pack.json"));
  std::vector<std::string> upper = {std::string(1, static_cast<char>(std::toupper(digest[0])))};
  EXPECT_TRUE(MatchPathHashPrefix(upper, "content/pack.json"));
}

// ------------------------------------------------------------ hashes

TEST(LengthAndHashes, DetectMismatchAndEndlessData) {
  TargetFile file = TargetFile::FromData("a", "hello");
  EXPECT_TRUE(file.VerifyData("hello").ok());
  EXPECT_EQ(file.VerifyData("hellO").code(), ErrorCode::kUpdateVerification);
  EXPECT_FALSE(file.VerifyData("hell").ok());
  LengthAndHashVerifier streaming(file.length, file.hashes);
  EXPECT_TRUE(streaming.Update("hel").ok());
  EXPECT_TRUE(streaming.Update("lo").ok());
  EXPECT_FALSE(streaming.Update("!").ok());  // Stops as soon as it exceeds.
}

TEST(LengthAndHashes, EveryKnownHashMustMatchAndOneMustBeKnown) {
  TargetFile file = TargetFile::FromData("a", "hello");
  file.hashes["sha512"] = std::string(128, '0');
  EXPECT_FALSE(file.VerifyData("hello").ok());
  Hashes unknown_only = {{"md5", "5d41402abc4b2a76b9719d911017c592"}};
  EXPECT_FALSE(VerifyLengthAndHashes("hello", std::nullopt, unknown_only).ok());
  Hashes with_unknown = TargetFile::FromData("a", "hello").hashes;
  with_unknown["blake3"] = "ff";
  EXPECT_TRUE(VerifyLengthAndHashes("hello", 5, with_unknown).ok());
}

// ------------------------------------------------------------ thresholds

TEST(Threshold, CountsDistinctValidSignersInTheRole) {
  auto a = NewKey(), b = NewKey(), outsider = NewKey();
  auto env = SignedEnvelope::Create(json{{"x", 1}});
  ASSERT_TRUE(env.ok());
  ASSERT_TRUE(env->AddSignature(a).ok());
  ASSERT_TRUE(env->AddSignature(outsider).ok());
  std::map<std::string, PublicKey> keys = {{*a.KeyId(), a.public_key()},
                                           {*b.KeyId(), b.public_key()},
                                           {*outsider.KeyId(), outsider.public_key()}};
  RoleKeys role{{*a.KeyId(), *b.KeyId()}, 2};
  // The outsider's valid signature does not count toward the role.
  EXPECT_EQ(CountValidSignatures(*env, keys, role), 1);
  EXPECT_EQ(VerifyThreshold(*env, "snapshot", keys, role).code(), ErrorCode::kUpdateVerification);
  ASSERT_TRUE(env->AddSignature(b).ok());
  EXPECT_TRUE(VerifyThreshold(*env, "snapshot", keys, role).ok());
}

TEST(Threshold, OneKeyUnderTwoKeyIdsCountsOnce) {
  // Listing the same public key under a second keyid cannot fake a
  // threshold of two (the attack of tuf-conformance test_duplicate_keys).
  auto a = NewKey();
  auto sig = a.Sign(*CanonicalJson(json{{"x", 1}}));
  ASSERT_TRUE(sig.ok());
  std::string hex = crypto::HexEncode(*sig);
  auto env = SignedEnvelope::FromJson(json{{"signed", {{"x", 1}}},
      {"signatures", {{{"keyid", "id1"}, {"sig", hex}}, {{"keyid", "id2"}, {"sig", hex}}}}});
  ASSERT_TRUE(env.ok());
  std::map<std::string, PublicKey> keys = {{"id1", a.public_key()}, {"id2", a.public_key()}};
  RoleKeys role{{"id1", "id2"}, 2};
  EXPECT_EQ(CountValidSignatures(*env, keys, role), 1);
  EXPECT_FALSE(VerifyThreshold(*env, "root", keys, role).ok());
}

// The PEM of `pem`'s EC public key with its point in compressed form.
std::string CompressedEcPem(const std::string& pem) {
  auto pkey = LoadPublicKeyPem(pem);
  EXPECT_TRUE(pkey.ok());
  if (!pkey.ok()) return "";
  EXPECT_EQ(EVP_PKEY_set_utf8_string_param(pkey->get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
            1);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), pkey->get()), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

TEST(Threshold, OneEcdsaKeyInCompressedAndUncompressedFormCountsOnce) {
  // The same P-256 key listed once as an uncompressed and once as a
  // compressed point (two PEMs, two keyids) is still one key: its two
  // signatures do not meet a threshold of two.
  auto ec = PrivateKey::Generate(KeyAlgorithm::kEcdsaP256);
  ASSERT_TRUE(ec.ok());
  json uncompressed = ec->public_key().ToJson();
  json compressed = uncompressed;
  compressed["keyval"]["public"] = CompressedEcPem(uncompressed["keyval"]["public"].get<std::string>());
  ASSERT_NE(compressed, uncompressed);
  auto key1 = PublicKey::FromJson(uncompressed);
  auto key2 = PublicKey::FromJson(compressed);
  ASSERT_TRUE(key1.ok() && key2.ok());
  ASSERT_TRUE(key2->usable()) << key2->unusable_reason();
  const std::string id1 = *key1->KeyId(), id2 = *key2->KeyId();
  ASSERT_NE(id1, id2);
  auto sig = ec->Sign(*CanonicalJson(json{{"x", 1}}));
  ASSERT_TRUE(sig.ok());
  // Each listing alone verifies the signature.
  ASSERT_TRUE(key1->Verify(*CanonicalJson(json{{"x", 1}}), *sig));
  ASSERT_TRUE(key2->Verify(*CanonicalJson(json{{"x", 1}}), *sig));
  std::string hex = crypto::HexEncode(*sig);
  auto env = SignedEnvelope::FromJson(
      json{{"signed", {{"x", 1}}},
           {"signatures", {{{"keyid", id1}, {"sig", hex}}, {{"keyid", id2}, {"sig", hex}}}}});
  ASSERT_TRUE(env.ok());
  std::map<std::string, PublicKey> keys = {{id1, *key1}, {id2, *key2}};
  RoleKeys role{{id1, id2}, 2};
  EXPECT_EQ(CountValidSignatures(*env, keys, role), 1);
  EXPECT_FALSE(VerifyThreshold(*env, "root", keys, role).ok());
}

TEST(Threshold, SigningTwiceWithOneKeyLeavesOneSignature) {
  // Envelopes never hold two signatures with one keyid (Parse refuses them,
  // AddSignature replaces), so one key signing twice still counts once.
  auto a = NewKey(), b = NewKey();
  auto env = SignedEnvelope::Create(json{{"x", 1}});
  ASSERT_TRUE(env.ok());
  ASSERT_TRUE(env->AddSignature(a).ok());
  ASSERT_TRUE(env->AddSignature(a).ok());
  EXPECT_EQ(env->signatures().size(), 1u);
  std::map<std::string, PublicKey> keys = {{*a.KeyId(), a.public_key()}, {*b.KeyId(), b.public_key()}};
  RoleKeys role{{*a.KeyId(), *b.KeyId()}, 2};
  EXPECT_EQ(CountValidSignatures(*env, keys, role), 1);
  EXPECT_FALSE(VerifyThreshold(*env, "root", keys, role).ok());
}

TEST(Threshold, EmptyAndGarbageSignaturesAreIgnoredNotFatal) {
  // A bad second signature does not spoil a threshold met by the first
  // (tuf-conformance test_invalid_sig_in_valid_metadata).
  auto a = NewKey(), b = NewKey();
  auto env = SignedEnvelope::Create(json{{"x", 1}});
  ASSERT_TRUE(env->AddSignature(a).ok());
  json j = env->ToJson();
  j["signatures"].push_back({{"keyid", *b.KeyId()}, {"sig", ""}});
  auto with_empty = SignedEnvelope::FromJson(j);
  ASSERT_TRUE(with_empty.ok());
  std::map<std::string, PublicKey> keys = {{*a.KeyId(), a.public_key()}, {*b.KeyId(), b.public_key()}};
  EXPECT_TRUE(VerifyThreshold(*with_empty, "timestamp", keys, RoleKeys{{*a.KeyId(), *b.KeyId()}, 1}).ok());
  j["signatures"][1]["sig"] = "zz-not-hex";
  EXPECT_TRUE(VerifyThreshold(*SignedEnvelope::FromJson(j), "timestamp", keys,
                              RoleKeys{{*a.KeyId(), *b.KeyId()}, 1}).ok());
}

TEST(Threshold, UnusableKeysNeverCount) {
  // A key of an unknown type in the role never satisfies the threshold.
  auto env = SignedEnvelope::Create(json{{"x", 1}});
  json j = env->ToJson();
  j["signatures"].push_back({{"keyid", "weird"}, {"sig", "00ff"}});
  auto parsed = SignedEnvelope::FromJson(j);
  auto weird = PublicKey::FromJson(json{{"keytype", "x"}, {"scheme", "y"}, {"keyval", {{"public", "z"}}}});
  std::map<std::string, PublicKey> keys = {{"weird", *weird}};
  EXPECT_EQ(CountValidSignatures(*parsed, keys, RoleKeys{{"weird"}, 1}), 0);
}

TEST(Threshold, KeyIdMismatchCountsOnlyWhenAllowed) {
  // With require_keyid_match, a key listed under a wrong id never counts.
  auto a = NewKey();
  auto env = SignedEnvelope::Create(json{{"x", 1}});
  auto sig = a.Sign(env->canonical_signed());
  json j = env->ToJson();
  j["signatures"].push_back({{"keyid", "not-the-real-id"}, {"sig", crypto::HexEncode(*sig)}});
  auto parsed = SignedEnvelope::FromJson(j);
  std::map<std::string, PublicKey> keys = {{"not-the-real-id", a.public_key()}};
  RoleKeys role{{"not-the-real-id"}, 1};
  EXPECT_TRUE(VerifyThreshold(*parsed, "root", keys, role).ok());
  EXPECT_FALSE(VerifyThreshold(*parsed, "root", keys, role, VerificationOptions{true}).ok());
}

TEST(Threshold, SignatureCoversCanonicalFormNotFileBytes) {
  // Re-indenting a file keeps its signatures valid; changing a value does not.
  TestRepo repo;
  std::string bytes = repo.RootBytes();
  auto env = SignedEnvelope::Parse(json::parse(bytes).dump());
  ASSERT_TRUE(env.ok());
  EXPECT_TRUE(VerifyThreshold(*env, "root", repo.root.keys, *repo.root.FindRole("root")).ok());
  json tampered = json::parse(bytes);
  tampered["signed"]["version"] = 2;
  EXPECT_FALSE(VerifyThreshold(*SignedEnvelope::FromJson(tampered), "root", repo.root.keys,
                               *repo.root.FindRole("root")).ok());
}

// ------------------------------------------------------------ names

TEST(FileNames, EncodeRoleNamesAndVersions) {
  EXPECT_EQ(MetadataFileName("root", 7), "7.root.json");
  EXPECT_EQ(MetadataFileName("timestamp", std::nullopt), "timestamp.json");
  EXPECT_EQ(MetadataFileName("a/b", std::nullopt), "a%2Fb.json");
  EXPECT_EQ(EncodeRoleName("../x y"), "..%2Fx%20y");
  EXPECT_EQ(ConsistentTargetPath("content/pack.json", "abc"), "content/abc.pack.json");
  EXPECT_EQ(ConsistentTargetPath("pack.json", "abc"), "abc.pack.json");
}

}  // namespace
}  // namespace bellwether::tuf
