#include "messaging/frame_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace bellwether::messaging {

FrameReader::FrameReader(int fd, std::size_t max_frame_bytes)
    : fd_(fd), max_frame_bytes_(max_frame_bytes) {}

Result<std::size_t> FrameReader::ReadFully(char* out, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t got = ::read(fd_, out + done, n - done);
    if (got == 0) break;  // EOF.
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status::InvalidRequest(std::string("read from browser failed: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(got);
  }
  return done;
}

Result<std::optional<std::string>> FrameReader::Next() {
  std::uint32_t length = 0;
  char header[sizeof(length)];
  BW_ASSIGN_OR_RETURN(std::size_t header_bytes, ReadFully(header, sizeof(header)));
  if (header_bytes == 0) return std::optional<std::string>();  // Clean EOF between frames.
  if (header_bytes < sizeof(header)) {
    return Status::InvalidRequest("stream ended inside a frame header (" +
                                  std::to_string(header_bytes) + " of 4 bytes)");
  }
  std::memcpy(&length, header, sizeof(length));  // Native byte order, per the protocol.
  if (length == 0) return Status::InvalidRequest("frame length is zero");
  if (length > max_frame_bytes_) {
    return Status::InvalidRequest("frame length " + std::to_string(length) +
                                  " exceeds the limit of " + std::to_string(max_frame_bytes_) +
                                  " bytes");
  }
  std::string payload(length, '\0');
  BW_ASSIGN_OR_RETURN(std::size_t body_bytes, ReadFully(payload.data(), length));
  if (body_bytes < length) {
    return Status::InvalidRequest("stream ended inside a frame body (" + std::to_string(body_bytes) +
                                  " of " + std::to_string(length) + " bytes)");
  }
  return std::optional<std::string>(std::move(payload));
}

}  // namespace bellwether::messaging
