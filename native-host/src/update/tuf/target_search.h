// Target lookup through delegations: the pre-order depth-first search of
// spec 5.6.7, as a pure algorithm over a TrustedMetadataSet. The I/O layer
// supplies a loader that fetches one delegated role's metadata and admits
// it with TrustedMetadataSet::UpdateDelegatedTargets; the search calls it
// only for roles that are not trusted yet.
#ifndef BELLWETHER_UPDATE_TUF_TARGET_SEARCH_H_
#define BELLWETHER_UPDATE_TUF_TARGET_SEARCH_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "update/tuf/metadata.h"
#include "update/tuf/trusted_metadata_set.h"

namespace bellwether::tuf {

// Application-specific maximum number of roles visited (5.6.7.1), as in
// python-tuf's max_delegations.
inline constexpr std::size_t kDefaultMaxRolesVisited = 32;

// Fetches and verifies `role` (delegated by `delegator`) into the set,
// typically: bytes = fetch(...); return set.UpdateDelegatedTargets(bytes,
// role, delegator). Any error ends the search (5.6.7 note).
using DelegatedRoleLoader =
    std::function<Status(const std::string& role, const std::string& delegator)>;

struct TargetMatch {
  std::string role;  // The role whose metadata lists the target.
  TargetFile file;
};

// Searches `target_path`, starting at the trusted top-level targets (which
// must be loaded). Order: a role's own targets first, then its delegations
// whose paths/path_hash_prefixes match, in listed order, depth first; a
// matching terminating delegation ends the search after its subtree; a role
// already visited is skipped (cycles); after `max_roles` roles the search
// stops. Returns nullopt when no role lists the target, or the loader's
// error.
Result<std::optional<TargetMatch>> FindTarget(TrustedMetadataSet& set,
                                              std::string_view target_path,
                                              const DelegatedRoleLoader& load,
                                              std::size_t max_roles = kDefaultMaxRolesVisited);

// Same search, but only over roles already in the set (a role not loaded
// is an error: kNotFound naming it). For tests and offline use.
Result<std::optional<TargetMatch>> FindTargetInTrustedSet(
    TrustedMetadataSet& set, std::string_view target_path,
    std::size_t max_roles = kDefaultMaxRolesVisited);

}  // namespace bellwether::tuf

#endif  // BELLWETHER_UPDATE_TUF_TARGET_SEARCH_H_
