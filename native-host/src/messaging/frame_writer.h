// Writes native-messaging frames. Thread-safe: the request loop and a
// background task (update progress notifications) may write concurrently;
// each frame goes out whole.
#ifndef BELLWETHER_MESSAGING_FRAME_WRITER_H_
#define BELLWETHER_MESSAGING_FRAME_WRITER_H_

#include <cstddef>
#include <mutex>
#include <string_view>

#include "common/status.h"

namespace bellwether::messaging {

// Chrome and Firefox refuse host-to-browser messages above 1 MiB.
inline constexpr std::size_t kMaxOutgoingFrameBytes = 1024 * 1024;

class FrameWriter {
 public:
  // Does not own `fd`.
  explicit FrameWriter(int fd) : fd_(fd) {}
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  // Refuses (kReplyTooLarge) a payload above kMaxOutgoingFrameBytes without
  // writing anything; the caller substitutes an error reply.
  Status Write(std::string_view payload);

 private:
  int fd_;
  std::mutex mu_;
};

}  // namespace bellwether::messaging

#endif  // BELLWETHER_MESSAGING_FRAME_WRITER_H_
