// Delegation resolution (spec 5.6.7): pre-order DFS, path patterns, hash
// prefixes, terminating roles, priority, cycles and the visit cap.
#include "update/tuf/target_search.h"

#include <gtest/gtest.h>

#include "test_repo.h"

namespace bellwether::tuf {
namespace {

using testing::Now;
using testing::TestRepo;

class TargetSearch : public ::testing::Test {
 protected:
  // Loads root/timestamp/snapshot/targets of the published repo and returns
  // the set; the loader below admits delegated roles from repo_.files.
  TrustedMetadataSet Load() {
    repo_.Publish();
    auto set = TrustedMetadataSet::Create(repo_.files["root"], Now());
    EXPECT_TRUE(set.ok());
    EXPECT_TRUE(set->UpdateTimestamp(repo_.files["timestamp"]).ok());
    EXPECT_TRUE(set->UpdateSnapshot(repo_.files["snapshot"]).ok());
    EXPECT_TRUE(set->UpdateTargets(repo_.files["targets"]).ok());
    return std::move(set).value();
  }

  // Runs the search, recording the order in which roles were fetched.
  Result<std::optional<TargetMatch>> Find(TrustedMetadataSet& set, std::string_view path,
                                          std::size_t max_roles = kDefaultMaxRolesVisited) {
    fetched_.clear();
    return FindTarget(
        set, path,
        [&](const std::string& role, const std::string& delegator) {
          fetched_.push_back(role);
          auto it = repo_.files.find(role);
          if (it == repo_.files.end()) return Status::NotFound("no " + role);
          return set.UpdateDelegatedTargets(it->second, role, delegator);
        },
        max_roles);
  }

  std::string FoundIn(TrustedMetadataSet& set, std::string_view path) {
    auto r = Find(set, path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || !r->has_value()) return "";
    return (*r)->role;
  }

  TestRepo repo_;
  std::vector<std::string> fetched_;
};

TEST_F(TargetSearch, FindsTopLevelTargetWithoutFetching) {
  // A target in targets.json needs no delegated metadata.
  repo_.AddTarget("targets", "content/a.json", "A");
  repo_.Delegate("targets", "team", {"*"});
  TrustedMetadataSet set = Load();
  EXPECT_EQ(FoundIn(set, "content/a.json"), "targets");
  EXPECT_TRUE(fetched_.empty());
}

TEST_F(TargetSearch, FollowsMatchingPathPatternOnly) {
  // Only delegations whose paths match the target are fetched.
  repo_.Delegate("targets", "docs", {"docs/*"});
  repo_.Delegate("targets", "content", {"content/*.json"});
  repo_.AddTarget("content", "content/a.json", "A");
  TrustedMetadataSet set = Load();
  EXPECT_EQ(FoundIn(set, "content/a.json"), "content");
  EXPECT_EQ(fetched_, std::vector<std::string>{"content"});
}

TEST_F(TargetSearch, StarDoesNotCrossDirectories) {
  // "content/*" does not cover content/sub/a.json: not found, not fetched.
  repo_.Delegate("targets", "content", {"content/*"});
  repo_.AddTarget("content", "content/sub/a.json", "A");
  TrustedMetadataSet set = Load();
  auto r = Find(set, "content/sub/a.json");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(fetched_.empty());
}

TEST_F(TargetSearch, TargetOutsideTheDelegatedPathsIsIgnored) {
  // A delegated role listing a target outside its paths is not trusted for
  // it: the search never asks that role about that path.
  repo_.Delegate("targets", "docs", {"docs/*"});
  repo_.AddTarget("docs", "content/evil.json", "X");
  TrustedMetadataSet set = Load();
  auto r = Find(set, "content/evil.json");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST_F(TargetSearch, PathHashPrefixesSelectTheBin) {
  // path_hash_prefixes: the bin whose prefix matches sha256(path) is used.
  std::string digest = TargetFile::FromData("", "content/a.json").hashes["sha256"];
  std::string other = digest[0] == '0' ? "1" : "0";
  DelegatedRole& wrong = repo_.Delegate("targets", "bin-wrong", {});
  wrong.paths.reset();
  wrong.path_hash_prefixes = std::vector<std::string>{other};
  DelegatedRole& right = repo_.Delegate("targets", "bin-right", {});
  right.paths.reset();
  right.path_hash_prefixes = std::vector<std::string>{digest.substr(0, 1)};
  repo_.AddTarget("bin-right", "content/a.json", "A");
  TrustedMetadataSet set = Load();
  EXPECT_EQ(FoundIn(set, "content/a.json"), "bin-right");
  EXPECT_EQ(fetched_, std::vector<std::string>{"bin-right"});
}

TEST_F(TargetSearch, FirstListedDelegationWins) {
  // Priority order: both roles list the target, the first one answers.
  repo_.Delegate("targets", "first", {"content/*"});
  repo_.Delegate("targets", "second", {"content/*"});
  repo_.AddTarget("first", "content/a.json", "from first");
  repo_.AddTarget("second", "content/a.json", "from second");
  TrustedMetadataSet set = Load();
  auto r = Find(set, "content/a.json");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->role, "first");
  EXPECT_TRUE((*r)->file.VerifyData("from first").ok());
}

TEST_F(TargetSearch, SearchIsDepthFirstPreOrder) {
  // a's child a1 is searched before a's sibling b.
  repo_.Delegate("targets", "a", {"content/*"});
  repo_.Delegate("targets", "b", {"content/*"});
  repo_.Delegate("a", "a1", {"content/*"});
  repo_.AddTarget("a1", "content/x", "a1");
  repo_.AddTarget("b", "content/x", "b");
  TrustedMetadataSet set = Load();
  EXPECT_EQ(FoundIn(set, "content/x"), "a1");
  EXPECT_EQ(fetched_, (std::vector<std::string>{"a", "a1"}));
}

TEST_F(TargetSearch, TerminatingDelegationStopsTheSearch) {
  // 5.6.7.2.1: after a matching terminating role's subtree, no other
  // delegation is consulted even if it lists the target.
  repo_.Delegate("targets", "locked", {"content/*"}, /*terminating=*/true);
  repo_.Delegate("targets", "fallback", {"content/*"});
  repo_.AddTarget("fallback", "content/a.json", "A");
  TrustedMetadataSet set = Load();
  auto r = Find(set, "content/a.json");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(fetched_, std::vector<std::string>{"locked"});
}

TEST_F(TargetSearch, NonMatchingTerminatingDelegationDoesNotStop) {
  // A terminating role only ends the search for paths it covers.
  repo_.Delegate("targets", "locked", {"docs/*"}, /*terminating=*/true);
  repo_.Delegate("targets", "content", {"content/*"});
  repo_.AddTarget("content", "content/a.json", "A");
  TrustedMetadataSet set = Load();
  EXPECT_EQ(FoundIn(set, "content/a.json"), "content");
}

TEST_F(TargetSearch, CyclesAreVisitedOnce) {
  // a -> b -> a: each role is loaded once and the search ends.
  repo_.Delegate("targets", "a", {"*"});
  repo_.Delegate("a", "b", {"*"});
  // b delegates back to a with a's key.
  DelegatedRole back = repo_.delegated["a"].delegations->roles[0];
  back.name = "a";
  repo_.delegated["b"].delegations = Delegations{};
  repo_.delegated["b"].delegations->keys = repo_.targets.delegations->keys;
  back.role_keys = repo_.targets.delegations->roles[0].role_keys;
  repo_.delegated["b"].delegations->roles.push_back(back);
  TrustedMetadataSet set = Load();
  auto r = Find(set, "missing");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(fetched_, (std::vector<std::string>{"a", "b"}));
}

TEST_F(TargetSearch, StopsAfterTheVisitCap) {
  // A chain of 10 delegations with a cap of 4 roles: the target at the end
  // is never reached and only 3 delegated roles are fetched.
  std::string parent = "targets";
  for (int i = 0; i < 10; ++i) {
    std::string name = "r" + std::to_string(i);
    repo_.Delegate(parent, name, {"*"});
    parent = name;
  }
  repo_.AddTarget(parent, "deep", "D");
  TrustedMetadataSet set = Load();
  auto capped = Find(set, "deep", 4);
  ASSERT_TRUE(capped.ok());
  EXPECT_FALSE(capped->has_value());
  EXPECT_EQ(fetched_.size(), 3u);
  auto uncapped = Find(set, "deep", 32);
  ASSERT_TRUE(uncapped.ok());
  ASSERT_TRUE(uncapped->has_value());
  EXPECT_EQ((*uncapped)->role, "r9");
}

TEST_F(TargetSearch, LoaderFailureEndsTheSearchWithItsError) {
  // 5.6.7 note: metadata that cannot be fetched or verified ends the search.
  repo_.Delegate("targets", "a", {"*"});
  repo_.Delegate("targets", "b", {"*"});
  repo_.AddTarget("b", "x", "X");
  TrustedMetadataSet set = Load();
  repo_.files["a"] = "garbage";
  auto r = Find(set, "x");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUpdateVerification);
}

TEST_F(TargetSearch, InTrustedSetOnlyReportsUnloadedRoles) {
  repo_.Delegate("targets", "a", {"*"});
  TrustedMetadataSet set = Load();
  auto r = FindTargetInTrustedSet(set, "x");
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace bellwether::tuf
