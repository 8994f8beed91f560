// OLPC canonical JSON, the form TUF signs and hashes key objects in.
//
// Rules (http://wiki.laptop.org/go/Canonical_JSON, as python-securesystemslib
// and tuf-js implement them): object keys sorted by their UTF-8 bytes, no
// insignificant whitespace, strings escape only `"` and `\` (every other byte,
// including control characters and non-ASCII UTF-8, is written as is),
// integers only (a float anywhere is an error), true/false/null as literals.
// A generic JSON dump escapes control characters and non-ASCII differently,
// so signatures made over it would not verify elsewhere.
#ifndef BELLWETHER_UPDATE_TUF_CANONICAL_JSON_H_
#define BELLWETHER_UPDATE_TUF_CANONICAL_JSON_H_

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace bellwether::tuf {

// The canonical bytes of `value`. Fails (kUpdateVerification) on a
// floating-point number anywhere in the tree, or on nesting deeper than
// kMaxCanonicalJsonDepth; never throws.
Result<std::string> CanonicalJson(const nlohmann::json& value);

// Nesting limit for CanonicalJson (metadata is at most ~6 levels deep; the
// limit only stops a stack overflow on hostile input).
inline constexpr int kMaxCanonicalJsonDepth = 64;

}  // namespace bellwether::tuf

#endif  // BELLWETHER_UPDATE_TUF_CANONICAL_JSON_H_
