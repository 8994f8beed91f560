// The network side of the update client, behind an interface so tests can
// serve a repository from memory and inject faults (404s, truncation,
// endless data) without a server.
//
// Error contract (every implementation must keep it, the updater relies on
// it):
//   kUpdateNotFound  the server answered 403 or 404. Root rotation (spec
//                    5.3.3) ends when N+1.root.json is "not found".
//   kUpdateTooLarge  the body would exceed max_bytes. Detected WHILE
//                    downloading: the transfer is aborted as soon as one byte
//                    too many arrives (endless-data attack), or before the
//                    body when the server announces a larger Content-Length.
//   kUpdateTimeout   connect timeout, low-speed limit or overall deadline.
//   kUpdateNetwork   anything else: DNS, TLS (including an untrusted
//                    certificate), refused scheme, other HTTP status.
//   any other code   returned by the sink, passed through unchanged.
#ifndef BELLWETHER_UPDATE_FETCHER_H_
#define BELLWETHER_UPDATE_FETCHER_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bellwether::update {

// Receives the body in order, chunk by chunk. A non-OK status aborts the
// transfer and becomes Fetch()'s result.
using ChunkSink = std::function<Status(std::string_view chunk)>;

// Called as bytes arrive; `bytes_total` is 0 while unknown.
using ProgressFn = std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total)>;

class Fetcher {
 public:
  virtual ~Fetcher() = default;

  // Downloads `url` (absolute) into `sink`, at most `max_bytes` of body.
  // `progress` may be empty. Thread-compatible: one call at a time per
  // object.
  virtual Status Fetch(std::string_view url, std::uint64_t max_bytes, const ChunkSink& sink,
                       const ProgressFn& progress) = 0;
};

// Convenience: the whole body in memory (metadata files).
Result<std::string> FetchToString(Fetcher& fetcher, std::string_view url, std::uint64_t max_bytes,
                                  const ProgressFn& progress = {});

// True for the fetcher's "the file does not exist" answer (HTTP 403/404).
inline bool IsNotFound(const Status& status) {
  return status.code() == ErrorCode::kUpdateNotFound;
}

// Joins a base URL and a relative path ("https://h/repo" + "1.root.json").
std::string JoinUrl(std::string_view base, std::string_view path);

}  // namespace bellwether::update

#endif  // BELLWETHER_UPDATE_FETCHER_H_
