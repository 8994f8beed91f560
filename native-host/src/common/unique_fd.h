// UniqueFd: a file descriptor closed when it goes out of scope.
#ifndef BELLWETHER_COMMON_UNIQUE_FD_H_
#define BELLWETHER_COMMON_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace bellwether {

class UniqueFd {
 public:
  // Takes ownership of `fd` (a negative value holds nothing, as open()'s
  // failure returns).
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }

  // Closes now. False when close() failed (errno says why): after writing a
  // file, that can be the first report of lost data.
  bool Close() {
    const int fd = std::exchange(fd_, -1);
    return fd < 0 || ::close(fd) == 0;
  }

  // Gives the descriptor up without closing it.
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace bellwether

#endif  // BELLWETHER_COMMON_UNIQUE_FD_H_
