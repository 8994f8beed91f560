// Cheap checks run on untrusted bytes (native-messaging frames, TUF
// metadata) before the recursive JSON parser sees them.
#ifndef BELLWETHER_COMMON_JSON_GUARD_H_
#define BELLWETHER_COMMON_JSON_GUARD_H_

#include <string_view>

namespace bellwether {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequences.
bool IsValidUtf8(std::string_view bytes);

// The deepest nesting of arrays/objects, counting only brackets outside
// strings. Stops counting (returns limit + 1) once `limit` is exceeded, so a
// hostile frame of a million '[' costs one linear scan and no recursion.
int JsonNestingDepth(std::string_view text, int limit);

}  // namespace bellwether

#endif  // BELLWETHER_COMMON_JSON_GUARD_H_
