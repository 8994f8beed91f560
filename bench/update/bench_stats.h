// Small helpers shared by the update benchmarks: timing and order
// statistics over interleaved samples. Header-only; not a library.
#ifndef BELLWETHER_BENCH_UPDATE_BENCH_STATS_H_
#define BELLWETHER_BENCH_UPDATE_BENCH_STATS_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace bellwether::bench {

using SteadyClock = std::chrono::steady_clock;

inline double MicrosSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::micro>(SteadyClock::now() - start).count();
}

// Nearest-rank percentile (p in [0, 1]) of a non-empty sample.
inline double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto last = static_cast<double>(values.size() - 1);
  return values[static_cast<std::size_t>(p * last + 0.5)];
}

inline double Median(const std::vector<double>& values) { return Percentile(values, 0.5); }

}  // namespace bellwether::bench

#endif  // BELLWETHER_BENCH_UPDATE_BENCH_STATS_H_
