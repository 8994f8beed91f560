// bench_targets_verify: what it costs the client to trust a large targets
// file (thousands of entries), against a floor that only parses the JSON and
// checks one Ed25519 signature.
//
// For each size it builds a repository in memory with the library (ed25519
// keys for every role; each entry carries length, sha256 and sha512, as
// `bellwether-release add` writes them; the snapshot lists the targets
// file's length and sha256, as `bellwether-release publish` does), then
// measures, interleaved in one loop:
//
//   bellwether  TrustedMetadataSet::UpdateTargets(bytes): 5.6.2 length and
//               hash against the snapshot, JSON parse, canonical JSON of
//               "signed", Ed25519 threshold check, typed parse of every
//               entry, version and expiry checks. Root, timestamp and
//               snapshot are loaded untimed before each sample.
//   floor       nlohmann::json::parse(bytes) + one raw Ed25519 verify (OpenSSL
//               EVP_DigestVerify) of the canonical bytes, computed once
//               beforehand: the least any signed-JSON client must do.
//
// and, to explain the ratio, each step alone (parse, canonicalise, sha256,
// verify, typed parse, and a deep copy of the "signed" tree, which the
// envelope keeps next to the typed entries). Prints medians, p90 and the ratio of medians.
//
// Usage: bench_targets_verify [--iterations N] [--entries N[,N...]]
//        (defaults: 20 iterations; 5000,20000 entries)
#include <openssl/evp.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_stats.h"
#include "crypto/digest.h"
#include "crypto/openssl_ptr.h"
#include "update/tuf/canonical_json.h"
#include "update/tuf/keys.h"
#include "update/tuf/metadata.h"
#include "update/tuf/trusted_metadata_set.h"

namespace bw = bellwether;
namespace tuf = bellwether::tuf;
using bw::bench::Median;
using bw::bench::MicrosSince;
using bw::bench::Percentile;
using bw::bench::SteadyClock;

namespace {

using bellwether::bench::Check;
using bellwether::bench::Die;
using bellwether::bench::Must;

tuf::SignedHeader Header(std::string_view type, tuf::TimePoint expires) {
  tuf::SignedHeader header;
  header.type = std::string(type);
  header.spec_version = std::string(tuf::kSpecVersion);
  header.version = 1;
  header.expires = expires;
  return header;
}

std::string Sign(const nlohmann::json& signed_json, const tuf::PrivateKey& key) {
  auto envelope = Must(tuf::SignedEnvelope::Create(signed_json), "envelope");
  Check(envelope.AddSignature(key), "sign");
  return envelope.Serialize();
}

tuf::MetaFile MetaFor(std::string_view bytes) {
  tuf::MetaFile meta;
  meta.version = 1;
  meta.length = static_cast<std::int64_t>(bytes.size());
  meta.hashes["sha256"] = bw::crypto::HexEncode(bw::crypto::Sha256(bytes));
  return meta;
}

// One signed repository (all version 1) whose targets file lists `entries`.
struct Repository {
  std::string root;
  std::string timestamp;
  std::string snapshot;
  std::string targets;
  tuf::PrivateKey targets_key;
};

Repository MakeRepository(int entries, tuf::TimePoint now) {
  std::map<std::string, tuf::PrivateKey> keys;
  for (std::string_view role : {tuf::kRootRole, tuf::kTimestampRole, tuf::kSnapshotRole, tuf::kTargetsRole}) {
    keys.emplace(role, Must(tuf::PrivateKey::Generate(tuf::KeyAlgorithm::kEd25519), "keygen"));
  }
  const tuf::TimePoint expires = now + std::chrono::days(365);

  tuf::RootMetadata root;
  root.header = Header(tuf::kRootRole, expires);
  root.consistent_snapshot = true;
  for (const auto& [role, key] : keys) {
    const std::string keyid = Must(key.KeyId(), "keyid");
    root.keys.emplace(keyid, key.public_key());
    root.roles[role] = tuf::RoleKeys{{keyid}, 1};
  }

  tuf::TargetsMetadata targets;
  targets.header = Header(tuf::kTargetsRole, expires);
  for (int i = 0; i < entries; ++i) {
    char path[64];
    std::snprintf(path, sizeof path, "content/packs/pack-%06d.json", i);
    // Distinct contents so every hash differs, as in a real repository.
    const std::string data = std::string(path) + std::string(static_cast<std::size_t>(i % 97), 'x');
    targets.targets.emplace(path, tuf::TargetFile::FromData(path, data));
  }

  Repository repo{.root = {}, .timestamp = {}, .snapshot = {}, .targets = {},
                  .targets_key = keys.at(std::string(tuf::kTargetsRole))};
  repo.root = Sign(root.ToJson(), keys.at(std::string(tuf::kRootRole)));
  repo.targets = Sign(targets.ToJson(), repo.targets_key);

  tuf::SnapshotMetadata snapshot;
  snapshot.header = Header(tuf::kSnapshotRole, expires);
  snapshot.meta["targets.json"] = MetaFor(repo.targets);
  repo.snapshot = Sign(snapshot.ToJson(), keys.at(std::string(tuf::kSnapshotRole)));

  tuf::TimestampMetadata timestamp;
  timestamp.header = Header(tuf::kTimestampRole, expires);
  timestamp.snapshot_meta = MetaFor(repo.snapshot);
  repo.timestamp = Sign(timestamp.ToJson(), keys.at(std::string(tuf::kTimestampRole)));
  return repo;
}

// The verifier with root, timestamp and snapshot trusted: the state just
// before 5.6.
tuf::TrustedMetadataSet ReadyForTargets(const Repository& repo, tuf::TimePoint now) {
  auto set = Must(tuf::TrustedMetadataSet::Create(repo.root, now), "root");
  Check(set.FinishRootUpdates(), "finish root");
  Must(set.UpdateTimestamp(repo.timestamp), "timestamp");
  Check(set.UpdateSnapshot(repo.snapshot), "snapshot");
  return set;
}

struct Series {
  const char* name;
  std::vector<double> us;
};

void PrintSeries(const Series& s) {
  std::printf("  %-38s median %10.0f us   p90 %10.0f us\n", s.name, Median(s.us), Percentile(s.us, 0.9));
}

void RunSize(int entries, int iterations) {
  const tuf::TimePoint now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const Repository repo = MakeRepository(entries, now);

  // The floor's inputs, prepared once: the raw public key, the signature
  // and the canonical bytes it covers.
  const nlohmann::json parsed_once = nlohmann::json::parse(repo.targets);
  const std::string canonical = Must(tuf::CanonicalJson(parsed_once.at("signed")), "canonical");
  const auto raw_public = Must(bw::crypto::HexDecode(repo.targets_key.public_key().public_value()), "key hex");
  const auto signature =
      Must(bw::crypto::HexDecode(parsed_once.at("signatures").at(0).at("sig").get<std::string>()), "sig hex");
  bw::crypto::EvpPkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_public.data(), raw_public.size()));
  if (!pkey) Die("EVP_PKEY_new_raw_public_key");
  auto raw_verify = [&]() {
    bw::crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
      Die("EVP_DigestVerifyInit");
    }
    const int ok = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                    reinterpret_cast<const unsigned char*>(canonical.data()),
                                    canonical.size());
    if (ok != 1) Die("floor: signature does not verify");
  };

  Series bellwether{"bellwether UpdateTargets", {}};
  Series floor{"floor: json::parse + 1 Ed25519", {}};
  Series parse{"  step: json::parse", {}};
  Series canon{"  step: canonical JSON of signed", {}};
  Series sha{"  step: sha256 of the file", {}};
  Series verify{"  step: Ed25519 verify", {}};
  Series typed{"  step: typed parse (FromJson)", {}};
  Series copy{"  step: deep copy of the signed tree", {}};
  std::size_t sink = 0;  // Keeps the optimiser from dropping the steps.

  for (int i = -2; i < iterations; ++i) {  // Two warm-up rounds, discarded.
    const bool keep = i >= 0;
    tuf::TrustedMetadataSet set = ReadyForTargets(repo, now);
    auto start = SteadyClock::now();
    Check(set.UpdateTargets(repo.targets), "UpdateTargets");
    const double bellwether_us = MicrosSince(start);
    if (set.targets() == nullptr || set.targets()->signed_data.targets.size() != static_cast<std::size_t>(entries)) {
      Die("UpdateTargets accepted the wrong number of entries");
    }

    start = SteadyClock::now();
    nlohmann::json doc = nlohmann::json::parse(repo.targets);
    raw_verify();
    const double floor_us = MicrosSince(start);
    sink += doc.size();

    start = SteadyClock::now();
    nlohmann::json step_doc = nlohmann::json::parse(repo.targets);
    const double parse_us = MicrosSince(start);
    start = SteadyClock::now();
    const std::string step_canonical = Must(tuf::CanonicalJson(step_doc.at("signed")), "canonical");
    const double canon_us = MicrosSince(start);
    sink += step_canonical.size();
    start = SteadyClock::now();
    sink += bw::crypto::Sha256(repo.targets).size();
    const double sha_us = MicrosSince(start);
    start = SteadyClock::now();
    raw_verify();
    const double verify_us = MicrosSince(start);
    start = SteadyClock::now();
    auto typed_targets = Must(tuf::TargetsMetadata::FromJson(step_doc.at("signed")), "typed");
    const double typed_us = MicrosSince(start);
    sink += typed_targets.targets.size();
    start = SteadyClock::now();
    nlohmann::json signed_copy = step_doc.at("signed");
    const double copy_us = MicrosSince(start);
    sink += signed_copy.size();

    if (keep) {
      bellwether.us.push_back(bellwether_us);
      floor.us.push_back(floor_us);
      parse.us.push_back(parse_us);
      canon.us.push_back(canon_us);
      sha.us.push_back(sha_us);
      verify.us.push_back(verify_us);
      typed.us.push_back(typed_us);
      copy.us.push_back(copy_us);
    }
  }

  std::printf("targets.json with %d entries: %zu bytes (canonical signed part %zu bytes), %d interleaved runs\n",
              entries, repo.targets.size(), canonical.size(), iterations);
  PrintSeries(bellwether);
  PrintSeries(floor);
  for (const Series* s : {&parse, &canon, &sha, &verify, &typed, &copy}) PrintSeries(*s);
  std::printf("  ratio bellwether/floor (medians): %.2f   [checksum %zu]\n\n",
              Median(bellwether.us) / Median(floor.us), sink);
}

std::vector<int> ParseSizes(const char* text) {
  std::vector<int> sizes;
  const char* p = text;
  while (*p != '\0') {
    char* end = nullptr;
    const long n = std::strtol(p, &end, 10);
    if (end == p || n < 1 || n > 1'000'000) Die(std::string("bad --entries: ") + text);
    sizes.push_back(static_cast<int>(n));
    p = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != '\0') Die(std::string("bad --entries: ") + text);
  }
  return sizes;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 20;
  std::vector<int> sizes = {5000, 20000};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--iterations" && i + 1 < argc) {
      iterations = std::atoi(argv[++i]);
    } else if (arg == "--entries" && i + 1 < argc) {
      sizes = ParseSizes(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_targets_verify [--iterations N] [--entries N[,N...]]\n");
      return 2;
    }
  }
  if (iterations < 1) Die("--iterations must be at least 1");
  for (int entries : sizes) RunSize(entries, iterations);
  return 0;
}
