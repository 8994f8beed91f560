// Native-messaging framing: a 32-bit length in native byte order, then that
// many bytes of UTF-8 JSON (Chrome and Firefox use the same format).
//
// FrameReader reads one frame at a time from a file descriptor, handling short
// reads. A clean end of stream *between* frames is not an error (the browser
// closed the port). A length the reader cannot trust (zero, above the limit,
// or a body cut short by EOF) is fatal: the stream cannot be resynchronised,
// so the caller logs the reason and exits.
#ifndef BELLWETHER_MESSAGING_FRAME_READER_H_
#define BELLWETHER_MESSAGING_FRAME_READER_H_

#include <cstddef>
#include <optional>
#include <string>

#include "common/status.h"

namespace bellwether::messaging {

// Default cap on a browser-to-host frame; configurable per reader.
inline constexpr std::size_t kDefaultMaxIncomingFrameBytes = 1024 * 1024;

class FrameReader {
 public:
  // Does not own `fd`.
  FrameReader(int fd, std::size_t max_frame_bytes = kDefaultMaxIncomingFrameBytes);
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // A frame's payload; std::nullopt on clean EOF between frames; an error
  // Status (kInvalidRequest) when the stream is unusable.
  Result<std::optional<std::string>> Next();

 private:
  // Reads exactly n bytes; returns the count read before EOF (< n on EOF).
  Result<std::size_t> ReadFully(char* out, std::size_t n);

  int fd_;
  std::size_t max_frame_bytes_;
};

}  // namespace bellwether::messaging

#endif  // BELLWETHER_MESSAGING_FRAME_READER_H_
