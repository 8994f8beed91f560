// An in-memory TUF repository signed with the core's API (bellwether_tuf),
// and a Fetcher fake that serves it with injectable faults. Used by the
// updater and update-service tests; no network, no files.
#ifndef BELLWETHER_TESTS_UPDATE_CLIENT_TEST_REPOSITORY_H_
#define BELLWETHER_TESTS_UPDATE_CLIENT_TEST_REPOSITORY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "update/fetcher.h"
#include "update/tuf/keys.h"
#include "update/tuf/metadata.h"

namespace bellwether::update::testing {

inline constexpr std::string_view kBaseUrl = "https://repo.test/";
// Metadata expires this long after kNow unless a test says otherwise.
inline constexpr std::int64_t kNow = 1'800'000'000;  // 2027-01-15
inline constexpr std::int64_t kDay = 86'400;

// Files are keyed by their path under kBaseUrl, e.g. "metadata/1.root.json",
// "targets/content/<sha256>.pack.json".
class TestRepository {
 public:
  explicit TestRepository(bool consistent_snapshot = true);

  // Stages a target (published by the next Publish()).
  void AddTarget(const std::string& path, const std::string& data, const std::string& role = "targets");
  // Delegates `paths` from top-level targets to a new role `name` with its
  // own key (published by the next Publish()).
  void AddDelegation(const std::string& name, std::vector<std::string> paths, bool terminating = false);
  // Drops a delegation and its role (the next Publish no longer lists it).
  void RemoveDelegation(const std::string& name);
  // Signs new versions of every targets role, snapshot and timestamp.
  void Publish();
  // New keys for `role`; a new root signed by the old and the new root keys.
  void RotateKeys(const std::string& role);
  // Re-signs the current root as the next version without key changes.
  void BumpRoot();

  std::string RootBytes(std::int64_t version) const { return files_.at("metadata/" + std::to_string(version) + ".root.json"); }
  std::int64_t root_version() const { return root_.header.version; }
  std::map<std::string, std::string>& files() { return files_; }
  // Expiry used for metadata signed from now on.
  void set_expires(std::int64_t unix_seconds) { expires_ = unix_seconds; }

 private:
  std::string Sign(const nlohmann::json& signed_json, const std::vector<const tuf::PrivateKey*>& keys) const;
  tuf::SignedHeader Header(const char* type, std::int64_t version) const;
  void WriteRoot(const std::vector<const tuf::PrivateKey*>& extra_signers);

  bool consistent_;
  std::int64_t expires_ = kNow + 30 * kDay;
  std::map<std::string, tuf::PrivateKey> keys_;  // role -> key (one per role)
  tuf::RootMetadata root_;
  std::map<std::string, tuf::TargetsMetadata> targets_;  // role -> metadata (staged)
  std::vector<std::string> delegation_order_;
  std::int64_t snapshot_version_ = 0;
  std::int64_t timestamp_version_ = 0;
  std::map<std::string, std::string> files_;
};

// Serves `files` for URLs under kBaseUrl. Faults per path override the file.
class FakeFetcher : public Fetcher {
 public:
  enum class Fault { kNone, kNotFound, kNetworkError, kTruncate, kAppendGarbage };

  explicit FakeFetcher(std::map<std::string, std::string>* files) : files_(files) {}

  Status Fetch(std::string_view url, std::uint64_t max_bytes, const ChunkSink& sink,
               const ProgressFn& progress) override;

  void SetFault(const std::string& path, Fault fault) { faults_[path] = fault; }
  void ClearFaults() { faults_.clear(); }
  // Every path requested, in order.
  const std::vector<std::string>& requests() const { return requests_; }
  void ClearRequests() { requests_.clear(); }
  int CountRequests(const std::string& path) const;

 private:
  std::map<std::string, std::string>* files_;
  std::map<std::string, Fault> faults_;
  std::vector<std::string> requests_;
};

}  // namespace bellwether::update::testing

#endif  // BELLWETHER_TESTS_UPDATE_CLIENT_TEST_REPOSITORY_H_
