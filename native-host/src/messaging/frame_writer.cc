#include "messaging/frame_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace bellwether::messaging {

Status FrameWriter::Write(std::string_view payload) {
  if (payload.size() > kMaxOutgoingFrameBytes) {
    return Status(ErrorCode::kReplyTooLarge,
                  "reply of " + std::to_string(payload.size()) +
                      " bytes exceeds the browser's 1 MiB limit");
  }
  auto length = static_cast<std::uint32_t>(payload.size());
  // Header and body go out in one buffer so a concurrent writer can never
  // interleave, and a short write is resumed rather than corrupting the stream.
  std::string frame(sizeof(length) + payload.size(), '\0');
  std::memcpy(frame.data(), &length, sizeof(length));
  std::memcpy(frame.data() + sizeof(length), payload.data(), payload.size());

  std::lock_guard lock(mu_);
  std::size_t done = 0;
  while (done < frame.size()) {
    ssize_t n = ::write(fd_, frame.data() + done, frame.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Storage(std::string("write to browser failed: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

}  // namespace bellwether::messaging
