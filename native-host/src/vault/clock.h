// The vault's notion of time, passed in so tests control idle timeouts and
// timestamps without sleeping.
#ifndef BELLWETHER_VAULT_CLOCK_H_
#define BELLWETHER_VAULT_CLOCK_H_

#include <time.h>

#include <chrono>
#include <memory>

namespace bellwether::vault {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

// Wall-clock time to the kernel's tick (a few milliseconds): the vault reads
// it on every call for the idle timeout, and stores it in whole seconds, so
// the coarse clock (a third of the precise one's cost) loses nothing.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
#ifdef CLOCK_REALTIME_COARSE
    timespec ts{};
    if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0) {
      return std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
    }
#endif
    return std::chrono::system_clock::now();
  }
};

// A clock that only moves when told to (tests).
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)))
      : now_(start) {}
  std::chrono::system_clock::time_point Now() const override { return now_; }
  void Advance(std::chrono::seconds d) { now_ += d; }

 private:
  std::chrono::system_clock::time_point now_;
};

}  // namespace bellwether::vault

#endif  // BELLWETHER_VAULT_CLOCK_H_
