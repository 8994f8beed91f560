// A real pipe whose write end the test feeds, for driving FrameReader.
#ifndef BELLWETHER_TESTS_MESSAGING_PIPE_FIXTURE_H_
#define BELLWETHER_TESTS_MESSAGING_PIPE_FIXTURE_H_

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

namespace bellwether::testing {

class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
    read_fd_ = fds[0];
    write_fd_ = fds[1];
  }
  ~Pipe() {
    CloseWrite();
    if (read_fd_ >= 0) ::close(read_fd_);
  }
  int read_fd() const { return read_fd_; }
  int write_fd() const { return write_fd_; }
  void Write(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(write_fd_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }
  void CloseWrite() {
    if (write_fd_ >= 0) ::close(write_fd_);
    write_fd_ = -1;
  }
  // Everything left in the pipe (after the write end is closed).
  std::string ReadAll() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(read_fd_, buf, sizeof(buf))) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

inline std::string Header(std::uint32_t length) {
  std::string h(4, '\0');
  std::memcpy(h.data(), &length, 4);
  return h;
}

inline std::string Frame(const std::string& payload) {
  return Header(static_cast<std::uint32_t>(payload.size())) + payload;
}

}  // namespace bellwether::testing

#endif  // BELLWETHER_TESTS_MESSAGING_PIPE_FIXTURE_H_
