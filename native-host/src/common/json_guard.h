// Cheap checks run on untrusted bytes (native-messaging frames, TUF
// metadata) before the recursive JSON parser sees them, and a cheap size
// bound for replies built from them.
#ifndef BELLWETHER_COMMON_JSON_GUARD_H_
#define BELLWETHER_COMMON_JSON_GUARD_H_

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string_view>

namespace bellwether {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequences.
bool IsValidUtf8(std::string_view bytes);

// The deepest nesting of arrays/objects, counting only brackets outside
// strings. Stops counting (returns limit + 1) once `limit` is exceeded, so a
// hostile frame of a million '[' costs one linear scan and no recursion.
int JsonNestingDepth(std::string_view text, int limit);

// Whether `text` nests arrays/objects more than `limit` deep: the check to
// run before parsing untrusted text (copying or printing deeper JSON
// recurses and can overflow the stack).
inline bool JsonTextNestsDeeperThan(std::string_view text, int limit) {
  return JsonNestingDepth(text, limit) > limit;
}

// The same for an already parsed value: whether it nests arrays/objects more
// than `limit` deep (a scalar is 0 deep, [1] one). Iterative, so a value of
// any depth is walked without recursion.
bool JsonValueNestsDeeperThan(const nlohmann::json& value, int limit);

// An upper bound on the bytes `s` takes as a JSON string in a reply (as the
// dispatcher writes it: quotes, two-byte and \u00XX escapes, UTF-8 kept,
// any invalid byte replaced by U+FFFD), without building it.
std::size_t JsonStringSizeBound(std::string_view s);

}  // namespace bellwether

#endif  // BELLWETHER_COMMON_JSON_GUARD_H_
