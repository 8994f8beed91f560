// The vault's notion of time, passed in so tests control idle timeouts and
// timestamps without sleeping.
#ifndef BELLWETHER_VAULT_CLOCK_H_
#define BELLWETHER_VAULT_CLOCK_H_

#include <chrono>
#include <memory>

namespace bellwether::vault {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
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
