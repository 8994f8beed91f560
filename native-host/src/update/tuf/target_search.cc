#include "update/tuf/target_search.h"

#include <set>
#include <utility>
#include <vector>

namespace bellwether::tuf {

Result<std::optional<TargetMatch>> FindTarget(TrustedMetadataSet& set,
                                              std::string_view target_path,
                                              const DelegatedRoleLoader& load,
                                              std::size_t max_roles) {
  if (set.targets() == nullptr) {
    return Status::Internal("target search needs the top-level targets loaded");
  }
  // 5.6.7: pre-order depth-first search from the top-level targets role.
  // The stack holds (role, delegator); children are pushed in reverse so the
  // first listed delegation (highest priority) is visited first.
  std::vector<std::pair<std::string, std::string>> to_visit = {
      {std::string(kTargetsRole), std::string(kRootRole)}};
  std::set<std::string> visited;
  while (!to_visit.empty()) {
    // 5.6.7.1: stop after an application-specific number of roles.
    if (visited.size() >= max_roles) break;
    auto [role, delegator] = std::move(to_visit.back());
    to_visit.pop_back();
    // 5.6.7.1: a role visited before is skipped (cycles in the graph).
    if (visited.count(role) != 0) continue;

    const Verified<TargetsMetadata>* metadata = set.targets(role);
    if (metadata == nullptr) {
      // The note of 5.6.7: metadata that cannot be fetched or verified ends
      // the search with that error.
      BW_RETURN_IF_ERROR(load(role, delegator));
      metadata = set.targets(role);
      if (metadata == nullptr) {
        return Status::Internal("loader returned OK but did not load \"" + role + "\"");
      }
    }
    visited.insert(role);

    // 5.6.7.1: this role has metadata about the target.
    auto found = metadata->signed_data.targets.find(std::string(target_path));
    if (found != metadata->signed_data.targets.end()) {
      return std::optional<TargetMatch>(TargetMatch{role, found->second});
    }

    // 5.6.7.2: its delegations in order of appearance; only roles trusted
    // for this path qualify, so every role on the chain covers the path.
    if (!metadata->signed_data.delegations) continue;
    std::vector<std::pair<std::string, std::string>> children;
    for (const DelegatedRole& child : metadata->signed_data.delegations->roles) {
      if (!child.IsDelegatedPath(target_path)) continue;
      children.emplace_back(child.name, role);
      // 5.6.7.2.1: a matching terminating delegation is the last word: no
      // other pending delegation is considered after its subtree.
      if (child.terminating) {
        to_visit.clear();
        break;
      }
    }
    to_visit.insert(to_visit.end(), children.rbegin(), children.rend());
  }
  return std::optional<TargetMatch>();
}

Result<std::optional<TargetMatch>> FindTargetInTrustedSet(TrustedMetadataSet& set,
                                                          std::string_view target_path,
                                                          std::size_t max_roles) {
  return FindTarget(
      set, target_path,
      [](const std::string& role, const std::string&) {
        return Status::NotFound("delegated role \"" + role + "\" is not loaded");
      },
      max_roles);
}

}  // namespace bellwether::tuf
