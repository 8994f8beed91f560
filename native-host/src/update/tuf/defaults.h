// Default limits of the client (the spec leaves W, X, Y, Z of section 5 to
// the application; these follow python-tuf's ngclient defaults).
#ifndef BELLWETHER_UPDATE_TUF_DEFAULTS_H_
#define BELLWETHER_UPDATE_TUF_DEFAULTS_H_

#include <cstddef>
#include <cstdint>

namespace bellwether::tuf {

// 5.3.3 W: bytes of one N.root.json.
inline constexpr std::int64_t kDefaultMaxRootBytes = 512'000;
// 5.3.3 Y: root versions fetched in one cycle.
inline constexpr int kDefaultMaxRootRotations = 256;
// 5.4.1 X.
inline constexpr std::int64_t kDefaultMaxTimestampBytes = 16'384;
// 5.5.1 Y: when timestamp does not list the snapshot's length.
inline constexpr std::int64_t kDefaultMaxSnapshotBytes = 2'000'000;
// 5.6.1 Z: when snapshot does not list a targets file's length.
inline constexpr std::int64_t kDefaultMaxTargetsBytes = 5'000'000;

}  // namespace bellwether::tuf

#endif  // BELLWETHER_UPDATE_TUF_DEFAULTS_H_
